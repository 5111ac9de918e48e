"""Global sensitivity analysis with SALib: the problem from uncertain ranges, the Morris
screening, the screening rule, and the Sobol analysis of the survivors.

Everything SALib can do is done by SALib (``SALib.sample.morris`` and
``SALib.analyze.morris``; ``SALib.sample.sobol``, Saltelli's scheme on a scrambled Sobol'
sequence, and ``SALib.analyze.sobol``); this module only wires them to the package's one
form of uncertain ranges (:mod:`sim.ranges`) and turns their results into tidy tables
(declared in :data:`sim.outputs.SENSITIVITY_TABLES`). It neither reads Hydra objects nor
writes files: the model is reached only through the ``evaluate`` callable that
:func:`screening` is given (:class:`sim.sensitivity.evaluate.SweepEvaluator` for the model,
a test function in the tests).

Method
------
1. **Morris** (Morris 1991; Campolongo et al. 2007): ``r`` trajectories on a grid of
   ``levels`` levels in the unit cube of the ranges, optionally the ``r`` most spread of a
   pool of candidates (Ruano et al. 2012). Each trajectory moves one parameter at a time by
   ``levels / (2 (levels - 1))`` of its range; the elementary effects are output changes
   per whole range, so ``mu_star`` (mean absolute effect) is in the output's unit and
   comparable across parameters.
2. **Screening rule**: a parameter survives if its ``mu_star`` is at least ``threshold``
   (default 0.2) of the largest ``mu_star`` of any parameter on at least one output
   (``mu_star_normalised``), or if it is listed in ``always``. Why 0.2: where effects add
   up, a parameter's share of the variance grows with the square of its effect, so one
   with ``q`` times the largest ``mu_star`` has an ``ST`` of about ``q^2`` times the largest
   ``ST`` (at most 1); below ``q = sqrt(0.05) = 0.22`` it cannot reach ``ST = 0.05``. The
   threshold keeps a margin below that for the error of ``mu_star`` and for interactions
   (``sigma``).
3. **Sobol** (Saltelli et al. 2010) on the survivors only (the others stay at their base
   values): ``N (k + 2)`` points (no second-order indices), first-order ``S1`` and
   total-order ``ST`` indices with bootstrap 95 % intervals. A parameter with
   ``ST >= st_threshold`` (default 0.05) on an output is *influential*: it must be
   calibrated or sourced.

Integer parameters are rounded where they are set (:func:`sim.params.set_path`); the Morris
grid of an integer parameter must fall on integers (checked by
:func:`morris_levels_are_integers`), so the design is exactly what was run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sim.ranges import ParameterRange

#: Default screening threshold: share of the largest ``mu_star`` on an output (a margin
#: below sqrt(ST_THRESHOLD) = 0.22; see the module docstring).
SCREENING_THRESHOLD = 0.2
#: Default total-order threshold above which a parameter must be calibrated or sourced.
ST_THRESHOLD = 0.05
#: Confidence level of every interval, and bootstrap resamples behind it.
CONF_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000


# --------------------------------------------------------------------------- the problem


@dataclass
class Problem:
    """Uncertain parameters: dotted keys, their ranges, and which take integer values.

    Attributes
    ----------
    ranges : list of ParameterRange
    integer : list of bool
        Parameters whose config value is an integer (rounded where set).
    """

    ranges: list[ParameterRange]
    integer: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.integer:
            self.integer = [False] * len(self.ranges)
        if len(self.integer) != len(self.ranges):
            raise ValueError(f"integer(={self.integer!r}) must have one flag per range")

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.ranges]

    @property
    def k(self) -> int:
        return len(self.ranges)

    def salib(self) -> dict[str, object]:
        """The problem definition SALib takes (``num_vars``, ``names``, ``bounds``)."""
        return {"num_vars": self.k, "names": self.keys,
                "bounds": [[p.low, p.high] for p in self.ranges]}

    def subset(self, keys: Sequence[str]) -> Problem:
        """The problem of some of its parameters, in this problem's order."""
        idx = [i for i, k in enumerate(self.keys) if k in set(keys)]
        return Problem([self.ranges[i] for i in idx], [self.integer[i] for i in idx])

    def points(self, X: np.ndarray) -> list[dict[str, float | int]]:
        """Rows of a design as ``{key: value}`` (integer parameters rounded)."""
        out = []
        for row in np.asarray(X, dtype=float):
            out.append({p.key: (round(float(v)) if is_int else float(v))
                        for p, is_int, v in zip(self.ranges, self.integer, row, strict=True)})
        return out


def morris_levels_are_integers(p: ParameterRange, levels: int) -> bool:
    """Whether every level of the Morris grid of ``p`` is an integer (needed for an integer
    parameter, so that a trajectory's steps are the ones run)."""
    grid = np.linspace(p.low, p.high, levels)
    return bool(np.allclose(grid, np.round(grid), rtol=0, atol=1e-9))


class Evaluation(NamedTuple):
    """Outputs of a design: ``mean`` (points, outputs) over the replications, their
    variance ``var`` across replications (None with one replication) and ``replications``."""

    mean: np.ndarray
    var: np.ndarray | None = None
    replications: int = 1


#: ``evaluate(stage, problem, X)``: the outputs of the design ``X`` of ``problem``; stage
#: is ``"morris"`` or ``"sobol"``.
Evaluate = Callable[[str, Problem, np.ndarray], Evaluation]


# --------------------------------------------------------------------------- Morris


def morris_design(problem: Problem, trajectories: int, levels: int = 4, seed: int = 1,
                  pool: int | None = None) -> np.ndarray:
    """Morris design (``(k + 1) * trajectories`` rows): ``trajectories`` random
    trajectories, or the most spread of ``pool`` candidates (``SALib.sample.morris``)."""
    if pool is not None and pool > trajectories:
        return morris_sample.sample(problem.salib(), pool, num_levels=levels,
                                    optimal_trajectories=trajectories,
                                    local_optimization=True, seed=seed)
    return morris_sample.sample(problem.salib(), trajectories, num_levels=levels, seed=seed)


def morris_analysis(problem: Problem, X: np.ndarray, Y: np.ndarray, outputs: Sequence[str],
                    levels: int = 4, seed: int = 1) -> pd.DataFrame:
    """Morris indices per parameter and output (``SALib.analyze.morris``).

    ``Y`` is (points, outputs). Columns: ``parameter``, ``output``, ``mu_star``,
    ``mu_star_conf``, ``sigma``, ``mu``, ``mu_star_normalised`` (over the largest
    ``mu_star`` on the output; 0 if no parameter has an effect). An output with a
    non-finite value anywhere gets empty indices.
    """
    Y = np.asarray(Y, dtype=float).reshape(len(X), len(outputs))
    parts = []
    for j, out in enumerate(outputs):
        y = Y[:, j]
        if np.all(np.isfinite(y)):
            si = morris_analyze.analyze(problem.salib(), np.asarray(X, dtype=float), y,
                                        num_resamples=BOOTSTRAP_RESAMPLES,
                                        conf_level=CONF_LEVEL, num_levels=levels, seed=seed)
            cols = {c: np.asarray(si[c], dtype=float)
                    for c in ("mu_star", "mu_star_conf", "sigma", "mu")}
        else:
            cols = {c: np.full(problem.k, np.nan)
                    for c in ("mu_star", "mu_star_conf", "sigma", "mu")}
        top = np.nanmax(cols["mu_star"]) if np.any(np.isfinite(cols["mu_star"])) else np.nan
        norm = (cols["mu_star"] / top if np.isfinite(top) and top > 0
                else np.where(np.isfinite(cols["mu_star"]), 0.0, np.nan))
        parts.append(pd.DataFrame({"parameter": problem.keys, "output": out, **cols,
                                   "mu_star_normalised": norm}))
    return pd.concat(parts, ignore_index=True)


def screen(morris: pd.DataFrame, keys: Sequence[str], threshold: float = SCREENING_THRESHOLD,
           always: Sequence[str] = (), outputs: Sequence[str] | None = None,
           most: int | None = None) -> list[str]:
    """The parameters (in the order of ``keys``) whose ``mu_star_normalised`` is at least
    ``threshold`` on some output (of ``outputs`` if given), and those in ``always``; with
    ``most``, of those passing the threshold only the ``most`` with the largest
    ``mu_star_normalised`` (a budget: Sobol costs ``N (s + 2)`` points), besides
    ``always``."""
    rows = morris if outputs is None else morris[morris["output"].isin(list(outputs))]
    best = rows.groupby("parameter", sort=False)["mu_star_normalised"].max().fillna(0.0)
    passing = best[best >= threshold].sort_values(ascending=False, kind="stable")
    if most is not None:
        passing = passing.iloc[:most]
    keep = set(passing.index) | set(always)
    return [k for k in keys if k in keep]


# --------------------------------------------------------------------------- Sobol


def sobol_design(problem: Problem, n: int, seed: int = 1) -> np.ndarray:
    """Saltelli's design of ``n (k + 2)`` rows on a scrambled Sobol' sequence
    (``SALib.sample.sobol``, no second-order indices); ``n`` a power of 2."""
    return sobol_sample.sample(problem.salib(), n, calc_second_order=False, seed=seed)


def sobol_analysis(problem: Problem, ev: Evaluation, outputs: Sequence[str], seed: int = 1,
                   st_threshold: float = ST_THRESHOLD) -> pd.DataFrame:
    """Sobol indices per parameter and output (``SALib.analyze.sobol``).

    Columns: ``parameter``, ``output``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf``,
    ``influential`` (``ST >= st_threshold``), ``noise_share`` (mean variance of a point
    mean, ``var / replications``, over the variance of the point means; NaN with one
    replication). An output that is constant or has a non-finite value gets empty indices.
    """
    Y = np.asarray(ev.mean, dtype=float)
    names = ("S1", "S1_conf", "ST", "ST_conf")
    parts = []
    for j, out in enumerate(outputs):
        y = Y[:, j]
        total = float(np.var(y)) if np.all(np.isfinite(y)) else np.nan
        if np.isfinite(total) and total > 0:
            with warnings.catch_warnings():  # tiny negative variances of the estimators
                warnings.simplefilter("ignore", RuntimeWarning)
                # a constant block of the design (a decision that no point changes in one
                # half of Saltelli's matrices, e.g. before a lever acts) gives NaN indices,
                # which the tables and charts show as empty; SALib's warning adds nothing
                warnings.filterwarnings("ignore", message="Constant values encountered")
                si = sobol_analyze.analyze(problem.salib(), y, calc_second_order=False,
                                           num_resamples=BOOTSTRAP_RESAMPLES,
                                           conf_level=CONF_LEVEL, seed=seed)
            cols = {c: np.asarray(si[c], dtype=float) for c in names}
        else:
            cols = {c: np.full(problem.k, np.nan) for c in names}
        noise = (float(np.mean(ev.var[:, j]) / ev.replications / total)
                 if ev.var is not None and ev.replications > 1 and np.isfinite(total)
                 and total > 0 else np.nan)
        parts.append(pd.DataFrame({"parameter": problem.keys, "output": out, **cols,
                                   "influential": np.nan_to_num(cols["ST"]) >= st_threshold,
                                   "noise_share": noise}))
    if not parts:
        return pd.DataFrame(columns=["parameter", "output", *names, "influential",
                                     "noise_share"])
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- both stages


@dataclass
class Settings:
    """How the screening is done (the experiment's ``sensitivity:`` block).

    Attributes
    ----------
    trajectories : int
        Morris trajectories ``r``; the Morris design has ``(k + 1) r`` points.
    levels : int
        Levels of the Morris grid (even).
    pool : int or None
        Candidate trajectories of which the ``trajectories`` most spread are taken (None,
        or not more than ``trajectories``: plain random trajectories).
    threshold : float
        Screening threshold on ``mu_star_normalised``.
    always : list of str
        Parameters that go on to the Sobol analysis whatever their Morris indices.
    sobol_n : int
        Base sample ``N`` of the Sobol design (a power of 2); ``N (s + 2)`` points for
        ``s`` survivors.
    st_threshold : float
        ``ST`` from which a parameter is influential on an output.
    seed : int
        Seeds both designs and the bootstrap intervals.
    max_survivors : int or None
        At most this many parameters pass the screening (those with the largest
        ``mu_star_normalised``), besides ``always``; None: no limit.
    """

    trajectories: int = 10
    levels: int = 4
    pool: int | None = None
    threshold: float = SCREENING_THRESHOLD
    always: list[str] = field(default_factory=list)
    sobol_n: int = 64
    st_threshold: float = ST_THRESHOLD
    seed: int = 1
    max_survivors: int | None = None


@dataclass
class ScreeningResult:
    """Both stages: designs, outputs and tables.

    Attributes
    ----------
    morris, sobol : DataFrame
        The tidy tables (``sobol`` empty if nothing survived).
    survivors : list of str
    designs : dict of str to ndarray
        ``morris`` and ``sobol`` designs (unrounded, in the order of their problems).
    evaluations : dict of str to Evaluation
    problems : dict of str to Problem
        The problem of each stage (``sobol``: the survivors).
    """

    morris: pd.DataFrame
    sobol: pd.DataFrame
    survivors: list[str]
    designs: dict[str, np.ndarray]
    evaluations: dict[str, Evaluation]
    problems: dict[str, Problem]


def screening(problem: Problem, outputs: Sequence[str], evaluate: Evaluate,
              settings: Settings, screen_on: Sequence[str] | None = None) -> ScreeningResult:
    """Morris over every parameter of ``problem``, the screening rule (on the outputs
    ``screen_on``, default all), then Sobol on the survivors; ``evaluate`` computes the
    outputs of each design."""
    outputs = list(outputs)
    X_m = morris_design(problem, settings.trajectories, settings.levels, settings.seed,
                        settings.pool)
    ev_m = evaluate("morris", problem, X_m)
    morris = morris_analysis(problem, X_m, ev_m.mean, outputs, settings.levels, settings.seed)
    survivors = screen(morris, problem.keys, settings.threshold, settings.always, screen_on,
                       settings.max_survivors)
    morris["survived"] = morris["parameter"].isin(survivors)
    designs, evaluations = {"morris": X_m}, {"morris": ev_m}
    problems = {"morris": problem}
    sobol = sobol_analysis(Problem([]), Evaluation(np.zeros((0, len(outputs)))), [])
    if survivors:
        sub = problem.subset(survivors)
        X_s = sobol_design(sub, settings.sobol_n, settings.seed)
        ev_s = evaluate("sobol", sub, X_s)
        sobol = sobol_analysis(sub, ev_s, outputs, settings.seed, settings.st_threshold)
        designs["sobol"], evaluations["sobol"], problems["sobol"] = X_s, ev_s, sub
    return ScreeningResult(morris, sobol, survivors, designs, evaluations, problems)


def runs_needed(k: int, settings: Settings, replications: int,
                survivors: int | None = None) -> tuple[int, int]:
    """Simulation runs of the Morris stage over ``k`` parameters and of the Sobol stage
    over ``survivors`` (default: all ``k``)."""
    s = k if survivors is None else survivors
    return ((k + 1) * settings.trajectories * replications,
            settings.sobol_n * (s + 2) * replications if s else 0)


__all__ = ["BOOTSTRAP_RESAMPLES", "CONF_LEVEL", "SCREENING_THRESHOLD", "ST_THRESHOLD",
           "Evaluate", "Evaluation", "Problem", "ScreeningResult", "Settings",
           "morris_analysis", "morris_design", "morris_levels_are_integers", "runs_needed",
           "screen", "screening", "sobol_analysis", "sobol_design"]
