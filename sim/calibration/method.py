"""Calibration of uncertain parameters against the official OZG counts 2020-2022.

A simulation-based fit over replications (Wood 2010, synthetic likelihood), with no hand
tuning: the command ``ozg-sim-calibrate`` (:mod:`sim.cli.calibrate`) reads a spec, calls
:func:`calibrate` and writes the report. This module neither reads Hydra objects nor
writes files.

Method
------
1. **Prior**: a uniform box over ``k`` parameters, given as dotted config keys with bounds.
2. **Design**: rounds of a seeded Latin hypercube of ``n`` points; each point runs ``R``
   replications with common random numbers (replications ``0 .. R-1`` of the base seed,
   as in every sweep), simulated only up to the last target month. Round 1 covers the
   prior box; each later round a box around the posterior so far (adaptive multiple
   importance sampling, Cornuet et al. 2012; the rounds form a deterministic mixture, so
   the first keeps the whole prior covered). One round is a plain Latin hypercube.
3. **Synthetic likelihood**: per point, mean ``m_j`` and variance ``s_j^2`` over the
   replications of each observable ``j`` (a share at a target month); a target observed as
   ``o_j`` with measurement error ``sigma_j`` contributes
   ``-0.5 (m_j - o_j)^2 / v_j - 0.5 log(2 pi v_j)`` with
   ``v_j = sigma_j^2 + s_j^2 (1 + 1/R)``: the real rollout is *one* realisation of the
   process (hence the full single-run variance ``s_j^2``, not ``s_j^2 / R``), plus the
   Monte-Carlo error of ``m_j`` (``s_j^2 / R``). Targets reported as "more than ``o``"
   enter as lower bounds, ``log Phi((m_j - o_j) / sqrt(v_j))``. Targets are treated as
   independent (a diagonal covariance: a full one needs far more replications than
   targets). Importance weights ``exp(loglik) / mixture density`` over the design points
   (uniform prior) give a weighted median and 5 %/95 % quantiles per parameter and the
   effective sample size ``1 / sum w^2``.
4. **Point estimate**: Nelder-Mead (``scipy.optimize.minimize``, bounded, in the unit
   cube of the prior box) from the best design point on the same common-random-number
   objective, so the estimate is a deterministic function of the seed. It is rounded to
   4 significant digits.
5. **Projection**: the calibrated configuration over the base config's full horizon with
   more replications: monthly median and 5-95 % band of every observable series.

Every simulation is deterministic given (configuration, replication), and results are
collected in task order, so nothing depends on the number of worker processes.

Observables (``series``), on a share scale so that the model's smaller catalogue (557
services, 125 federal, at full scale) compares with the official one (575, 115 federal):

- ``online_anywhere``: services online somewhere (:attr:`Coverage.t_anywhere`), all
  services; observed count / 575.
- ``federal_online``: federal (Typ 1) services online; observed count / 115.
- ``nationwide_reported``: the dashboard's nationwide count, services in the official
  count of every Land (:meth:`Coverage.t_reported`: listed federal services online,
  non-federal services fully available); observed count / 575.
- ``nationwide_nonfederal``: the Normenkontrollrat's count, non-federal services fully
  available in every Land; observed count / (575 - 115).
- ``reported_in_land:XX``: the dashboard's count for Land ``XX``; observed count / 575.
- ``online_in_land:XX``: services online somewhere in Land ``XX``
  (:attr:`Coverage.t_any_state`), all services; observed count / 575.

The model share is the model count over the model's own services of the same scope.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import norm

from sim import bands
from sim.calendar import month_end_dates, month_label
from sim.calibration.spec import (
    CalibrationSpec,
    check_parameters,
    config_at,
    round_significant,
)
from sim.calibration.targets import (
    KIND_SCOPE,
    _land_name,
    historical_targets,
    series_label,
    series_of,
    series_shares,
)
from sim.errors import ConfigError
from sim.keys import get_path
from sim.model import simulate
from sim.params import Config
from sim.ranges import latin_hypercube_unit
from sim.runner import process_pool
from sim.world import World

log = logging.getLogger("ozg-sim")
#: ``progress(phase, done, total)``: called after each simulated replication of a phase.
PhaseProgress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- likelihood


def synthetic_loglik(sims: np.ndarray, observed: np.ndarray, sigma: np.ndarray,
                     lower: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian synthetic log-likelihood of the targets (Wood 2010), diagonal covariance.

    Parameters
    ----------
    sims : ndarray (R, J)
        Observables of ``R`` replications at one parameter point.
    observed, sigma : ndarray (J,)
        Observed shares and their measurement error (share scale).
    lower : ndarray of bool (J,)
        Targets that are lower bounds ("more than ...").

    Returns
    -------
    loglik : float
    mean, var : ndarray (J,)
        Mean and variance (ddof 1) over replications.
    z : ndarray (J,)
        Standardised residual ``(observed - mean) / sqrt(v)``; for a lower bound 0 when the
        model is above it.
    """
    R = sims.shape[0]
    mean = sims.mean(axis=0)
    var = sims.var(axis=0, ddof=1) if R > 1 else np.zeros(sims.shape[1])
    v = sigma ** 2 + var * (1.0 + 1.0 / R)
    sd = np.sqrt(v)
    d = (mean - observed) / sd
    terms = np.where(lower, norm.logcdf(d), -0.5 * d ** 2 - 0.5 * np.log(2 * np.pi * v))
    z = np.where(lower, np.maximum(-d, 0.0), -d)
    return float(terms.sum()), mean, var, z


def posterior_weights(loglik: np.ndarray, density: np.ndarray | None = None) -> np.ndarray:
    """Normalised importance weights ``exp(loglik) / density`` of the design points under
    a uniform prior (``density``: of the points' proposal; ``None`` = uniform)."""
    ll = np.asarray(loglik, dtype=float)
    if density is not None:
        ll = ll - np.log(np.asarray(density, dtype=float))
    w = np.exp(ll - ll.max())
    return w / w.sum()


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``1 / sum w^2`` of normalised weights."""
    return float(1.0 / np.sum(np.asarray(weights) ** 2))


def weighted_quantile(values: np.ndarray, weights: np.ndarray,
                      qs: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample: the weighted CDF through the mid-points of each
    point's weight, linearly interpolated (for equal weights the Hazen quantile)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order] / w.sum()
    cdf = np.cumsum(w) - 0.5 * w
    return np.interp(np.asarray(qs, dtype=float), cdf, v)


# --------------------------------------------------------------------------- simulation


_WORKER: dict[str, Any] = {}


def _init_worker(world: World, series: list[str]) -> None:
    _WORKER["world"], _WORKER["series"] = world, series


def _simulate_task(task: tuple[Config, int]) -> np.ndarray:
    cfg, replication = task
    world = _WORKER["world"]
    return series_shares(world, simulate(world, cfg, replication), _WORKER["series"],
                         cfg.observation)


class Evaluator:
    """Runs (config, replication) tasks in a process pool (or in process for one worker)
    and returns each task's series shares in task order."""

    def __init__(self, world: World, series: list[str], workers: int = 1) -> None:
        self.world, self.series, self.workers = world, list(series), max(1, int(workers))
        self.pool: ProcessPoolExecutor | None = None
        self.n_runs = 0

    def __enter__(self) -> Evaluator:
        if self.workers > 1:
            self.pool = process_pool(self.workers, _init_worker, (self.world, self.series))
        else:
            _init_worker(self.world, self.series)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def run(self, tasks: list[tuple[Config, int]], what: str = "",
            progress: PhaseProgress | None = None) -> list[np.ndarray]:
        """Series shares of every (config, replication) task, in task order;
        ``progress(what, done, total)`` after each task."""
        self.n_runs += len(tasks)
        if self.pool is None:
            _init_worker(self.world, self.series)
            results: Iterable[np.ndarray] = map(_simulate_task, tasks)
        else:
            chunk = max(1, len(tasks) // (self.workers * 8))
            results = self.pool.map(_simulate_task, tasks, chunksize=chunk)
        out: list[np.ndarray] = []
        for res in results:
            out.append(res)
            if progress is not None:
                progress(what, len(out), len(tasks))
        return out


# --------------------------------------------------------------------------- calibration


@dataclass
class CalibrationResult:
    """Everything the report needs.

    Attributes
    ----------
    spec : CalibrationSpec
    targets : DataFrame
        :func:`make_targets`.
    design : DataFrame
        ``point``, one column per parameter (the value set in the config), ``log_likelihood``,
        ``weight`` (posterior weight), and ``mean__<target>`` per target.
    refine : DataFrame
        Nelder-Mead evaluations: ``evaluation``, parameters, ``log_likelihood``.
    parameters : DataFrame
        ``key``, ``low``, ``high``, ``estimate``, ``posterior_median``, ``q05``, ``q95``.
    estimate : dict
        Calibrated value per key (rounded to 4 significant digits).
    fit : DataFrame
        Targets with the model at the estimate (projection replications): ``model_mean``,
        ``model_median``, ``model_q05``, ``model_q95``, ``model_sd``,
        ``model_median_catalogue`` (the median share times the catalogue services of the
        scope),
        ``z`` (standardised residual, observed - model).
    projection : DataFrame
        ``series``, ``label``, ``scope``, ``geo`` (Land code or empty), ``geo_name``,
        ``month``, ``date``, ``n_replications``,
        ``mean``, ``median``, ``q05``, ``q95`` (shares).
    ess : float
        Effective sample size of the posterior weights.
    loglik_estimate : float
        Log-likelihood at the estimate (calibration replications).
    base : Config
        The base configuration (parameters at their defaults).
    calibrated : Config
        ``base`` with the estimate, over the full horizon.
    fit_end : str
        Last target month (the design and refinement runs end there).
    timings : dict
        Wall seconds per phase.
    n_runs : dict
        Simulated replications per phase.
    """

    spec: CalibrationSpec
    targets: pd.DataFrame
    design: pd.DataFrame
    refine: pd.DataFrame
    parameters: pd.DataFrame
    estimate: dict[str, float]
    fit: pd.DataFrame
    projection: pd.DataFrame
    ess: float
    loglik_estimate: float
    base: Config
    calibrated: Config
    fit_end: str
    timings: dict[str, float]
    n_runs: dict[str, int]
    series: list[str] = field(default_factory=list)


def mixture_density(unit: np.ndarray, boxes: Sequence[tuple[np.ndarray, np.ndarray]]
                    ) -> np.ndarray:
    """Density (in the unit cube of the prior box) of the deterministic mixture of the
    design rounds, each a uniform box with an equal number of points."""
    dens = np.zeros(len(unit))
    for b_lo, b_hi in boxes:
        vol = float(np.prod(b_hi - b_lo))
        inside = np.all((unit >= b_lo - 1e-12) & (unit <= b_hi + 1e-12), axis=1)
        dens += inside / vol
    return dens / len(boxes)


def next_box(unit: np.ndarray, weights: np.ndarray, box: tuple[np.ndarray, np.ndarray],
             n: int) -> tuple[np.ndarray, np.ndarray]:
    """The box of the next design round: per parameter the weighted 1-99 % range of the
    points so far, widened on each side by half the typical spacing of the last round's
    points (``width / n^(1/k)``: one Latin-hypercube cell around a lone best point) and
    cut to the prior box. A box that is too tight costs efficiency, not correctness: the
    first round keeps the whole prior in the mixture, and the next box is drawn from all
    points so far."""
    k = unit.shape[1]
    pad = 0.5 * (box[1] - box[0]) / n ** (1.0 / k)
    q = np.array([weighted_quantile(unit[:, j], weights, (0.01, 0.99)) for j in range(k)])
    return np.maximum(0.0, q[:, 0] - pad), np.minimum(1.0, q[:, 1] + pad)


def _target_index(targets: pd.DataFrame, series: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([series.index(s) for s in targets["series"]], dtype=np.int64),
            targets["month"].to_numpy(dtype=np.int64))


class Objective:
    """The synthetic log-likelihood of the targets at a parameter point, on common random
    numbers (replications ``0 .. R-1`` of the base seed), simulated up to ``fit_end``.

    Points are given as parameter values (``__call__``) or as points of the unit cube of the
    prior box (:meth:`values_of`). Each configuration is simulated once: evaluations are
    remembered by the values the configuration resolves to (an integer parameter rounds) and
    traced in order (:attr:`trace`, the refinement table).
    """

    def __init__(self, ev: Evaluator, base: Config, spec: CalibrationSpec,
                 targets: pd.DataFrame, series: list[str], fit_end: str) -> None:
        self.ev, self.base, self.fit_end = ev, base, fit_end
        self.keys, self.lo, self.hi, self.R = spec.keys, spec.low, spec.high, spec.replications
        self.s_idx, self.m_idx = _target_index(targets, series)
        self.obs = targets["observed"].to_numpy(dtype=float)
        self.sig = targets["sigma"].to_numpy(dtype=float)
        self.lower = (targets["bound"] == "lower").to_numpy()
        self.memo: dict[tuple[float, ...], float] = {}
        self.trace: list[dict[str, Any]] = []

    def observe(self, arrs: list[np.ndarray]) -> np.ndarray:
        """(R, J): the observables at the targets' series and months, per replication."""
        return np.stack([a[self.s_idx, self.m_idx] for a in arrs])

    def loglik(self, arrs: list[np.ndarray]) -> tuple[float, np.ndarray]:
        """Log-likelihood and mean observables of the replications of one point."""
        ll, mean, _var, _z = synthetic_loglik(self.observe(arrs), self.obs, self.sig,
                                              self.lower)
        return ll, mean

    def config(self, values: Sequence[float] | np.ndarray) -> Config:
        return config_at(self.base, self.keys, values, self.fit_end)

    def values_of(self, u: np.ndarray) -> np.ndarray:
        """Parameter values of a point of the unit cube of the prior box (clipped to it)."""
        return self.lo + np.clip(u, 0.0, 1.0) * (self.hi - self.lo)

    def __call__(self, values: np.ndarray) -> float:
        cfg = self.config(values)
        resolved = tuple(float(get_path(cfg, key)) for key in self.keys)
        if resolved not in self.memo:
            arrs = self.ev.run([(cfg, r) for r in range(self.R)])
            self.memo[resolved] = self.loglik(arrs)[0]
            self.trace.append({"evaluation": len(self.trace),
                               **dict(zip(self.keys, resolved, strict=True)),
                               "log_likelihood": self.memo[resolved]})
        return self.memo[resolved]


@dataclass
class Design:
    """The design rounds: points in the unit cube of the prior box, their proposal boxes
    and posterior weights, and the design table of :class:`CalibrationResult`."""

    table: pd.DataFrame
    unit: np.ndarray
    boxes: list[tuple[np.ndarray, np.ndarray]]
    weights: np.ndarray


def _design_rounds(obj: Objective, spec: CalibrationSpec, targets: pd.DataFrame,
                   progress: PhaseProgress | None) -> Design:
    """Steps 2-3: Latin-hypercube rounds (the first over the prior box, each later one
    over a box around the posterior so far) and their synthetic likelihood."""
    k, R, n = len(obj.keys), obj.R, spec.design_points
    units: list[np.ndarray] = []  # sampled points in the unit cube of the prior box
    boxes: list[tuple[np.ndarray, np.ndarray]] = []
    rows: list[dict[str, Any]] = []
    means: list[np.ndarray] = []
    w = np.zeros(0)
    for rnd in range(spec.design_rounds):
        if rnd == 0:
            box = (np.zeros(k), np.ones(k))
        else:
            box = next_box(np.array(units), w, boxes[-1], n)
        boxes.append(box)
        u_r = box[0] + latin_hypercube_unit(n, k, spec.seed, rnd) * (box[1] - box[0])
        cfgs = [obj.config(obj.lo + u * (obj.hi - obj.lo)) for u in u_r]
        log.info("design round %d/%d: %d points x %d replications up to %s", rnd + 1,
                 spec.design_rounds, n, R, obj.fit_end)
        sims = obj.ev.run([(c, r) for c in cfgs for r in range(R)],
                          f"design round {rnd + 1}", progress)
        for i, c in enumerate(cfgs):
            ll, mean = obj.loglik(sims[i * R:(i + 1) * R])
            rows.append({"point": len(rows), "round": rnd + 1,
                         **{key: get_path(c, key) for key in obj.keys}, "log_likelihood": ll})
            means.append(mean)
        units += list(u_r)
        density = mixture_density(np.array(units), boxes)
        w = posterior_weights(np.array([r["log_likelihood"] for r in rows]), density)
        log.info("design round %d: effective sample size %.1f of %d", rnd + 1,
                 effective_sample_size(w), len(rows))
    unit = np.array(units)
    design = pd.DataFrame(rows)
    design["proposal_density"] = mixture_density(unit, boxes)
    design["weight"] = w
    design = pd.concat([design, pd.DataFrame(
        np.array(means), columns=[f"mean__{t}" for t in targets["target"]])], axis=1)
    return Design(design, unit, boxes, w)


def _refine(obj: Objective, design: Design, spec: CalibrationSpec
            ) -> tuple[dict[str, Any], float]:
    """Step 4: Nelder-Mead from the best design point in the unit cube of the prior box;
    returns the estimate (rounded to :data:`SIGNIFICANT_DIGITS`, as the configuration
    resolves it) and its log-likelihood."""
    keys, k = obj.keys, len(obj.keys)
    table = design.table
    best = int(np.argmax(table["log_likelihood"].to_numpy()))
    u0 = design.unit[best]
    obj.memo[tuple(float(table.loc[best, key]) for key in keys)] = float(
        table.loc[best, "log_likelihood"])
    if spec.refine_evaluations > 0:
        # initial simplex: a quarter of the last design box along each axis
        last = design.boxes[-1]
        step = np.maximum(0.25 * (last[1] - last[0]), 0.01)
        simplex = [u0] + [u0 + np.eye(k)[j] * (step[j] if u0[j] + step[j] <= 1
                                               else -step[j]) for j in range(k)]
        minimize(lambda u: -obj(obj.values_of(u)), u0, method="Nelder-Mead",
                 bounds=[(0.0, 1.0)] * k,
                 options={"maxfev": spec.refine_evaluations,
                          "initial_simplex": np.array(simplex),
                          "xatol": 1e-3, "fatol": 1e-3})
    # The best point evaluated (scipy may drop its last, better vertex when maxfev
    # interrupts an expansion); ties keep the first, so the choice is deterministic.
    best_key = max(obj.memo, key=lambda key: obj.memo[key])
    raw = np.array(best_key)
    # the estimate, rounded; its config values are what calibrated.yaml sets
    rounded = [round_significant(float(v)) for v in raw]
    est_cfg = obj.config(rounded)
    estimate = {key: get_path(est_cfg, key) for key in keys}
    ll_est = obj(np.array([float(estimate[key]) for key in keys]))  # rounded
    log.info("refinement: %d evaluations; log-likelihood %.2f (best design point %.2f)",
             len(obj.trace), ll_est, table.loc[best, "log_likelihood"])
    return estimate, ll_est


def calibrate(base: Config, world: World, spec: CalibrationSpec,
              targets: pd.DataFrame | None = None, workers: int = 1,
              progress: PhaseProgress | None = None) -> CalibrationResult:
    """Calibrate ``spec.parameters`` of ``base`` against ``targets`` (default: the
    historical counts) by synthetic likelihood; see the module docstring.

    ``base`` is used with ``seed = spec.seed``. Results do not depend on ``workers``.
    ``progress(phase, done, total)`` is called after each simulated replication.
    Raises :class:`ConfigError` for a bad spec before anything is simulated.
    """
    check_parameters(spec, base)
    base = copy.deepcopy(base)
    base.seed = spec.seed
    base.validate()
    if targets is None:
        targets = historical_targets(spec, world)
    targets = targets.reset_index(drop=True)
    last = int(targets["month"].max())
    if last >= base.horizon_months:
        raise ConfigError(f"end={base.end!r} is not allowed: not before the last target "
                          f"month {month_label(last)}")
    fit_end = month_label(last)
    series = series_of(targets, world)
    keys, R = spec.keys, spec.replications
    timings: dict[str, float] = {}
    n_runs: dict[str, int] = {}

    with Evaluator(world, series, workers) as ev:
        obj = Objective(ev, base, spec, targets, series, fit_end)
        t0 = time.perf_counter()
        design = _design_rounds(obj, spec, targets, progress)
        ess = effective_sample_size(design.weights)
        timings["design_s"] = time.perf_counter() - t0
        n_runs["design"] = len(design.table) * R
        log.info("design done in %.0f s; effective sample size %.1f", timings["design_s"], ess)

        t0 = time.perf_counter()
        estimate, ll_est = _refine(obj, design, spec)
        refine = pd.DataFrame(obj.trace, columns=["evaluation", *keys, "log_likelihood"])
        timings["refine_s"] = time.perf_counter() - t0
        n_runs["refine"] = len(obj.trace) * R

        # 5: projection over the full horizon
        t0 = time.perf_counter()
        calibrated = config_at(base, keys, [float(estimate[key]) for key in keys])
        P = spec.projection_replications
        log.info("projection: %d replications up to %s", P, calibrated.end)
        proj = np.stack(ev.run([(calibrated, r) for r in range(P)], "projection", progress))
        timings["projection_s"] = time.perf_counter() - t0
        n_runs["projection"] = P

    values = design.table[keys].to_numpy(dtype=float)
    par_rows = []
    for j, p in enumerate(spec.parameters):
        q05, q50, q95 = weighted_quantile(values[:, j], design.weights, (0.05, 0.5, 0.95))
        par_rows.append({"key": p.key, "low": p.low, "high": p.high,
                         "estimate": float(estimate[p.key]), "posterior_median": q50,
                         "q05": q05, "q95": q95})
    parameters = pd.DataFrame(par_rows)
    fit = _fit_table(targets, proj, obj)
    projection = _projection_table(proj, series, world)
    return CalibrationResult(spec, targets, design.table, refine, parameters, estimate, fit,
                             projection, ess, ll_est, base, calibrated, fit_end, timings,
                             n_runs, series)


def _fit_table(targets: pd.DataFrame, proj: np.ndarray, obj: Objective) -> pd.DataFrame:
    at = proj[:, obj.s_idx, obj.m_idx]  # (P, J)
    _ll, mean, var, z = synthetic_loglik(at, obj.obs, obj.sig, obj.lower)
    fit = targets.copy()
    fit["model_mean"] = mean
    fit["model_median"] = bands.median(at.T)
    fit["model_q05"], fit["model_q95"] = bands.quantiles(at.T, (0.05, 0.95))
    fit["model_sd"] = np.sqrt(var)
    fit["model_median_catalogue"] = fit["model_median"] * fit["catalogue_denominator"]
    fit["z"] = z
    return fit


def _projection_table(proj: np.ndarray, series: list[str], world: World) -> pd.DataFrame:
    P, _, H = proj.shape
    dates = month_end_dates(H)
    parts = []
    for i, sid in enumerate(series):
        x = proj[:, i, :].T  # (H, P): replications last
        kind = sid.split(":")[0]
        scope = KIND_SCOPE[kind]
        geo = sid.partition(":")[2]
        q05, q95 = bands.quantiles(x, (0.05, 0.95))
        parts.append(pd.DataFrame({
            "series": sid, "label": series_label(sid, world), "scope": scope, "geo": geo,
            "geo_name": _land_name(geo, world) if geo else "",
            "month": np.arange(H), "date": dates, "n_replications": P,
            "mean": x.mean(axis=1), "median": bands.median(x),
            "q05": q05, "q95": q95}))
    return pd.concat(parts, ignore_index=True)


def at_prior_bounds(parameters: pd.DataFrame, tol: float = 0.02) -> list[tuple[str, str]]:
    """Parameters whose estimate or weighted 5-95 % interval lies within ``tol`` of the
    prior range at a bound: (key, ``low``/``high``). The data ask for values beyond the
    prior, or the model lacks a mechanism the targets need."""
    out = []
    for _, p in parameters.iterrows():
        span = p["high"] - p["low"]
        if min(p["estimate"], p["q95"]) <= p["low"] + tol * span:
            out.append((str(p["key"]), "low"))
        elif max(p["estimate"], p["q05"]) >= p["high"] - tol * span:
            out.append((str(p["key"]), "high"))
    return out


def summary_lines(result: CalibrationResult) -> list[str]:
    """One line per calibrated parameter: estimate and posterior interval."""
    lines = []
    for _, p in result.parameters.iterrows():
        lines.append(f"{p['key']} = {p['estimate']:.6g}  (posterior median "
                     f"{p['posterior_median']:.4g}, 5-95 % {p['q05']:.4g} .. {p['q95']:.4g}; "
                     f"prior {p['low']:g} .. {p['high']:g})")
    return lines


