"""Calibration of uncertain parameters against the official OZG counts 2020-2022: ABC-SMC
(pyabc, :mod:`sim.calibration.abc`), the posterior summary, the posterior predictive and
the quality checks. This module neither reads Hydra objects nor writes files.

Method
------
1. **Prior**: independent uniform priors over ``k`` parameters (dotted config keys).
2. **Measurement model** (the targets table, :func:`~sim.calibration.targets.make_targets`):
   observed share ``o_j`` of target ``j`` = model share + normal error ``sigma_j``; a target
   reported as "more than ``o_j``" is a lower bound (``Phi((x_j - o_j) / sigma_j)``). What is
   observed and its error come in as that table, so the measurement model can grow without
   touching the method.
3. **ABC-SMC** (:func:`~sim.calibration.abc.run_abc`): generations of ``population_size``
   particles, each *one* simulation up to the last fitted month (the stochastic simulator
   is the likelihood: no replications per point), accepted by pyabc's stochastic acceptor
   with the measurement model as its kernel, at a temperature falling from generation to
   generation; at temperature 1 the particles are an exact posterior sample (Wilkinson
   2013), at ``T > 1`` the exact posterior under errors ``sqrt(T) sigma``.
4. **Point estimate**: the weighted posterior median of each parameter, so it lies inside
   its own 5-95 % interval by construction; rounded to 4 significant digits.
5. **Posterior predictive**: ``predictive_draws`` parameter draws from the posterior (a
   seeded weighted resample), each simulated once over the base config's full horizon: the
   fit table (every target with its predictive 90 % band and z-score), the projection bands
   and, for a backtest (``until``), the forecasts of the later counts.

Everything is a function of the spec and its seed: pyabc's proposals run with seeds by
(generation, proposal) (:class:`~sim.calibration.abc.SeededSampler`), so the number of
workers, local or on a Dask cluster, does not change a single particle.

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
import json
import logging
import time
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pyabc.weighted_statistics import effective_sample_size, weighted_quantile

from sim import bands
from sim.calendar import month_end_dates, month_index, month_label
from sim.calibration.abc import (
    ObservationKernel,
    PhaseProgress,
    one_blas_thread,
    run_abc,
    uniform_prior,
)
from sim.calibration.emulation import VALIDATION_LEVEL, EmulationRun, history_match
from sim.calibration.emulation import predictive_coverage as emulator_coverage
from sim.calibration.patterns import acceptance_table, pattern_table
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
from sim.keys import get_path, set_path, to_dict
from sim.model import simulate
from sim.params import Config, WorldParams
from sim.pool import process_pool
from sim.world import World, build_world

log = logging.getLogger("ozg-sim")
#: Quality thresholds of the issue: accepted particles, or else effective sample size.
MIN_PARTICLES, MIN_ESS = 1000, 200
#: A marginal is "piled against a bound" when more than this share of its mass lies in
#: the outer :data:`EDGE` of the prior range at that bound (a flat posterior has ``EDGE``).
PILED_MASS, EDGE = 0.10, 0.05
#: Stream of the posterior predictive draws (after the proposals' generations).
_PREDICTIVE_STREAM = 7919
#: Stream of the replications of the history-matching simulations.
_DESIGN_STREAM = 8131
#: The emulator must hold at least this share of the real posterior predictive simulations
#: of the fitted targets inside its 90 % band (a well-calibrated emulator holds 90 %).
MIN_EMULATOR_COVERAGE = 0.80


# --------------------------------------------------------------------------- simulation


_WORLDS: dict[str, World] = {}


def _world(params: WorldParams) -> World:
    """The world of ``params``, built once per process (forked workers inherit it)."""
    key = json.dumps(to_dict(params), sort_keys=True)
    if key not in _WORLDS:
        _WORLDS[key] = build_world(params)
    return _WORLDS[key]


def _remember_world(world: World, params: WorldParams) -> None:
    _WORLDS[json.dumps(to_dict(params), sort_keys=True)] = world


class Simulator:
    """pyabc's model: parameters -> the targets' observables of one simulation.

    The replication (its random streams) is drawn from numpy's global generator, which the
    sampler seeds per proposal. Pickles without the world (each process builds or inherits
    its own), so that it travels cheaply to workers.
    """

    def __init__(self, world: World, base: Config, keys: list[str], series: list[str],
                 targets: pd.DataFrame, end: str) -> None:
        _remember_world(world, base.world)
        self.world_params, self.base, self.keys, self.series = base.world, base, keys, series
        self.s_idx = np.array([series.index(s) for s in targets["series"]], dtype=np.int64)
        self.m_idx = targets["month"].to_numpy(dtype=np.int64)
        self.names = stat_names(len(targets))
        self.end = end

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        cfg = config_at(self.base, self.keys, [float(pars[k]) for k in self.keys], self.end)
        world = _world(self.world_params)
        # the global generator, seeded per proposal by the sampler (pyabc draws from it)
        replication = int(np.random.randint(0, 2 ** 31 - 1))  # noqa: NPY002
        shares = series_shares(world, simulate(world, cfg, replication), self.series,
                               cfg.observation)
        x = shares[self.s_idx, self.m_idx]
        return {n: float(v) for n, v in zip(self.names, x, strict=True)}


def _simulate_targets(world_params: WorldParams, cfg: Config, replication: int,
                      series: list[str], s_idx: np.ndarray, m_idx: np.ndarray) -> np.ndarray:
    """The targets' observables of one simulation (one row of a history-matching wave)."""
    return _simulate_series(world_params, cfg, replication, series)[s_idx, m_idx]


def design_replication(seed: int, wave: int, run: int) -> int:
    """Replication number of run ``run`` of history-matching wave ``wave``."""
    state = np.random.SeedSequence((int(seed), _DESIGN_STREAM, int(wave), int(run)))
    return int(state.generate_state(1)[0] >> 1)


def _simulate_series(world_params: WorldParams, cfg: Config, replication: int,
                     series: list[str]) -> np.ndarray:
    world = _world(world_params)
    return series_shares(world, simulate(world, cfg, replication), series,
                         cfg.observation)


def stat_names(n: int) -> list[str]:
    """Summary-statistic names of ``n`` targets (sorted like the targets)."""
    return [f"target_{i:03d}" for i in range(n)]


# --------------------------------------------------------------------------- result


@dataclass
class CalibrationResult:
    """Everything the report needs.

    Attributes
    ----------
    spec : CalibrationSpec
    targets : DataFrame
        :func:`make_targets`, with ``role`` (``fit``, or ``holdout`` after ``until``).
    particles : DataFrame
        The posterior sample: one row per particle of the last generation, one column per
        parameter (as proposed; an integer parameter rounds when set) and ``weight``.
    generations : DataFrame
        Per ABC-SMC generation: ``t``, ``temperature``, ``accepted``, ``simulations``,
        ``acceptance_rate``, ``ess``.
    parameters : DataFrame
        ``key``, ``low``, ``high``, ``estimate`` (weighted median, rounded), ``q05``,
        ``q95``, ``mean``, ``sd``, ``mass_low``, ``mass_high`` (posterior mass in the outer
        5 % of the prior range), ``physical_low``, ``physical_high`` (the bound is a limit of
        the parameter itself, e.g. a probability of 1).
    estimate : dict
        Calibrated value per key as the configuration resolves it.
    fit : DataFrame
        Every target with the posterior predictive: ``model_mean``, ``model_median``,
        ``model_q05``, ``model_q95`` (the model's share across draws), ``model_sd``,
        ``sigma_effective`` (``sigma * sqrt(T)``), ``predictive_q05``, ``predictive_q95``
        (an observation: model plus measurement error), ``z`` (observed - mean over the
        predictive sd; 0 for a lower bound the model clears), ``in_band``,
        ``model_median_catalogue``.
    predictive : DataFrame
        ``draw``, ``particle``, then the observable of every target (``target_NNN``) per
        predictive draw: the backtest's forecasts.
    projection : DataFrame
        ``series``, ``label``, ``scope``, ``geo``, ``geo_name``, ``month``, ``date``,
        ``n_replications`` (predictive draws), ``mean``, ``median``, ``q05``, ``q95``.
    quality : DataFrame
        ``check``, ``subject``, ``value``, ``threshold``, ``passed``, ``note``.
    patterns : DataFrame
        The pattern-oriented checks of the posterior predictive
        (:func:`sim.calibration.patterns.pattern_table`).
    acceptance : DataFrame
        The acceptance targets on the fitted targets
        (:func:`sim.calibration.patterns.acceptance_table`).
    temperature, ess : float
        Of the last generation (temperature 1: exact inference).
    base, calibrated : Config
        The base configuration, and it at the estimate over the full horizon.
    fit_end : str
        Last fitted month (the ABC simulations end there).
    timings : dict
        Wall seconds per phase.
    n_runs : dict
        Simulations per phase (``abc``: proposals of the ABC-SMC, simulations or emulator
        evaluations; ``design``: the history-matching simulations; ``predictive``).
    waves, validation, design : DataFrame or None
        ``emulator`` method: :class:`~sim.calibration.emulation.EmulationRun`'s tables.
    emulator_check : DataFrame or None
        ``emulator`` method: per fitted target, ``coverage90``, the share of the real
        posterior predictive simulations inside the emulator's 90 % band.
    """

    spec: CalibrationSpec
    targets: pd.DataFrame
    particles: pd.DataFrame
    generations: pd.DataFrame
    parameters: pd.DataFrame
    estimate: dict[str, float]
    fit: pd.DataFrame
    predictive: pd.DataFrame
    projection: pd.DataFrame
    quality: pd.DataFrame
    patterns: pd.DataFrame
    acceptance: pd.DataFrame
    temperature: float
    ess: float
    base: Config
    calibrated: Config
    fit_end: str
    timings: dict[str, float]
    n_runs: dict[str, int]
    series: list[str] = field(default_factory=list)
    waves: pd.DataFrame | None = None
    validation: pd.DataFrame | None = None
    design: pd.DataFrame | None = None
    emulator_check: pd.DataFrame | None = None

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def passed(self) -> bool:
        """Whether every quality check passed."""
        return bool(self.quality["passed"].all())


# --------------------------------------------------------------------------- summaries


def posterior_summary(particles: pd.DataFrame, spec: CalibrationSpec, base: Config
                      ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per parameter: the estimate (weighted median, rounded and resolved by the config),
    the weighted 5-95 % interval, mean, sd, the mass at each prior bound and whether that
    bound is physical; and the estimate as ``{key: value}``."""
    w = particles["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    medians = [float(weighted_quantile(particles[k].to_numpy(dtype=float), w, alpha=0.5))
               for k in spec.keys]
    est_cfg = config_at(base, spec.keys, [round_significant(m) for m in medians])
    estimate = {k: get_path(est_cfg, k) for k in spec.keys}
    rows = []
    for p in spec.parameters:
        v = particles[p.key].to_numpy(dtype=float)
        q05, q95 = (float(weighted_quantile(v, w, alpha=a)) for a in (0.05, 0.95))
        mean = float(np.sum(w * v))
        span = p.high - p.low
        rows.append({"key": p.key, "low": p.low, "high": p.high,
                     "estimate": float(estimate[p.key]), "q05": q05, "q95": q95,
                     "mean": mean, "sd": float(np.sqrt(np.sum(w * (v - mean) ** 2))),
                     "mass_low": float(w[v <= p.low + EDGE * span].sum()),
                     "mass_high": float(w[v >= p.high - EDGE * span].sum()),
                     "physical_low": _is_physical(base, p.key, p.low, -span),
                     "physical_high": _is_physical(base, p.key, p.high, span)})
    return pd.DataFrame(rows), estimate


def _is_physical(base: Config, key: str, bound: float, span: float) -> bool:
    """Whether a prior bound is a limit of the parameter itself: one step beyond it the
    configuration is invalid (a probability above 1, a share of 0)."""
    cfg = copy.deepcopy(base)
    try:
        set_path(cfg, key, bound + 1e-6 * span)
        cfg.validate()
    except ConfigError:
        return True
    return False


def quality_checks(result_parameters: pd.DataFrame, generations: pd.DataFrame,
                   emulator_check: pd.DataFrame | None = None) -> pd.DataFrame:
    """The checks the posterior must pass (rows ``check, subject, value, threshold,
    passed, note``): enough particles or effective sample size, exact inference
    (temperature 1), every estimate inside its 90 % interval, no marginal piled against a
    prior bound that is not physical; with an emulator, that it holds the real posterior
    predictive simulations in its 90 % band."""
    last = generations.iloc[-1]
    n, ess, temp = int(last["accepted"]), float(last["ess"]), float(last["temperature"])
    rows = [
        {"check": "particles", "subject": "posterior sample",
         "value": f"{n} accepted, ESS {ess:.0f}",
         "threshold": f">= {MIN_PARTICLES} accepted or ESS >= {MIN_ESS}",
         "passed": n >= MIN_PARTICLES or ess >= MIN_ESS, "note": ""},
        {"check": "exact", "subject": "final temperature", "value": f"{temp:.3g}",
         "threshold": "1 (exact under the measurement model)", "passed": temp <= 1.0 + 1e-9,
         "note": "" if temp <= 1.0 + 1e-9 else
         f"posterior under measurement errors x {np.sqrt(temp):.2f} (sqrt T); a larger "
         "budget (max_simulations, max_generations) lowers T"}]
    if emulator_check is not None and len(emulator_check):
        cov = float(emulator_check["coverage90"].mean())
        worst = emulator_check.loc[emulator_check["coverage90"].idxmin()]
        rows.append({
            "check": "emulator", "subject": "real posterior predictive simulations",
            "value": f"{100 * cov:.0f} % inside the emulator's 90 % band (lowest "
                     f"{100 * worst['coverage90']:.0f} %, {worst['target']})",
            "threshold": f">= {100 * MIN_EMULATOR_COVERAGE:.0f} %",
            "passed": cov >= MIN_EMULATOR_COVERAGE,
            "note": "exact means exact under the emulated likelihood"})
    for _, p in result_parameters.iterrows():
        inside = p["q05"] - 1e-12 <= p["estimate"] <= p["q95"] + 1e-12
        rows.append({"check": "estimate in 90 % interval", "subject": p["key"],
                     "value": f"{p['estimate']:.4g} in [{p['q05']:.4g}, {p['q95']:.4g}]",
                     "threshold": "inside", "passed": bool(inside), "note": ""})
        for side in ("low", "high"):
            mass = float(p[f"mass_{side}"])
            piled = mass > PILED_MASS
            physical = bool(p[f"physical_{side}"])
            rows.append({
                "check": f"not piled at {side} bound", "subject": p["key"],
                "value": f"{100 * mass:.0f} % of the mass within {100 * EDGE:.0f} % of "
                         f"{p[side]:g}",
                "threshold": f"<= {100 * PILED_MASS:.0f} % unless the bound is physical",
                "passed": (not piled) or physical,
                "note": ("physical bound" if piled and physical else
                         "the data ask for values beyond the prior, or the model lacks a "
                         "mechanism" if piled else "")})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- predictive


def predictive_indices(weights: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` particle indices drawn with probability ``weights`` (seeded, with replacement)."""
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), _PREDICTIVE_STREAM)))
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def fit_table(targets: pd.DataFrame, at: np.ndarray, temperature: float, seed: int
              ) -> pd.DataFrame:
    """Targets with the posterior predictive ``at`` (draws x targets): the model's band,
    the band of an observation (model plus measurement error ``sigma sqrt(T)``, by 200 noise
    draws per model draw, seeded) and the z-score."""
    fit = targets.copy().reset_index(drop=True)
    sig_eff = fit["sigma"].to_numpy(dtype=float) * np.sqrt(temperature)
    obs = fit["observed"].to_numpy(dtype=float)
    lower = (fit["bound"] == "lower").to_numpy()
    mean, var = at.mean(axis=0), at.var(axis=0, ddof=1) if len(at) > 1 else 0 * at[0]
    fit["model_mean"] = mean
    fit["model_median"] = bands.median(at.T)
    fit["model_q05"], fit["model_q95"] = bands.quantiles(at.T, (0.05, 0.95))
    fit["model_sd"] = np.sqrt(var)
    fit["sigma_effective"] = sig_eff
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), _PREDICTIVE_STREAM, 1)))
    noisy = at[:, None, :] + rng.standard_normal((len(at), 200, at.shape[1])) * sig_eff
    noisy = np.clip(noisy.reshape(-1, at.shape[1]), 0.0, 1.0)  # an observed share is a share
    fit["predictive_q05"], fit["predictive_q95"] = np.quantile(noisy, [0.05, 0.95], axis=0)
    d = (mean - obs) / np.sqrt(var + sig_eff ** 2)
    fit["z"] = np.where(lower, np.maximum(-d, 0.0), -d)
    fit["in_band"] = np.where(lower, fit["predictive_q95"] >= obs,
                              (fit["predictive_q05"] <= obs) & (obs <= fit["predictive_q95"]))
    fit["model_median_catalogue"] = fit["model_median"] * fit["catalogue_denominator"]
    return fit


def projection_table(proj: np.ndarray, series: list[str], world: World) -> pd.DataFrame:
    """Monthly median and 5-95 % band of every series across predictive draws."""
    P, _, H = proj.shape
    dates = month_end_dates(H)
    parts = []
    for i, sid in enumerate(series):
        x = proj[:, i, :].T  # (H, P): draws last
        kind = sid.split(":")[0]
        scope = KIND_SCOPE[kind]
        geo = sid.partition(":")[2]
        q05, q95 = bands.quantiles(x, (0.05, 0.95))
        parts.append(pd.DataFrame({
            "series": sid, "label": series_label(sid, world), "scope": scope, "geo": geo,
            "geo_name": _land_name(geo, world) if geo else "",
            "month": np.arange(H), "date": dates, "n_replications": P,
            "mean": x.mean(axis=1), "median": bands.median(x), "q05": q05, "q95": q95}))
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- calibration


def split_targets(targets: pd.DataFrame, until: str | None) -> pd.DataFrame:
    """``targets`` with ``role``: ``fit`` up to ``until`` (all if ``None``), else
    ``holdout``; a ConfigError if nothing is left to fit."""
    out = targets.reset_index(drop=True).copy()
    cut = month_index(until, "until") if until else int(out["month"].max())
    out["role"] = np.where(out["month"] <= cut, "fit", "holdout")
    if not (out["role"] == "fit").any():
        raise ConfigError(f"until={until!r} is not allowed: no target on or before it "
                          f"(the first is {month_label(int(out['month'].min()))})")
    return out


def _executor(stack: ExitStack, world: World, params: WorldParams, workers: int,
              executor: Executor | None) -> Executor | None:
    if executor is not None or workers <= 1:
        return executor
    _remember_world(world, params)  # forked workers inherit it
    return stack.enter_context(process_pool(workers))


def calibrate(base: Config, world: World, spec: CalibrationSpec,
              targets: pd.DataFrame | None = None, workers: int = 1,
              progress: PhaseProgress | None = None, db: str = "sqlite://",
              executor: Executor | None = None) -> CalibrationResult:
    """Calibrate ``spec.parameters`` of ``base`` against ``targets`` (default: the
    historical counts) by ABC-SMC; see the module docstring.

    ``base`` is used with ``seed = spec.seed``. Results do not depend on ``workers`` or on
    ``executor`` (e.g. ``distributed.Client(...).get_executor()``; it then runs every
    simulation, and ``workers`` is the number of its workers). ``db`` is pyabc's database
    (``sqlite:///path``; in memory by default). ``progress(phase, done, total)`` is called
    as particles and predictive draws come in. Raises :class:`ConfigError` for a bad spec
    before anything is simulated.
    """
    check_parameters(spec, base)
    base = copy.deepcopy(base)
    base.seed = spec.seed
    base.validate()
    if targets is None:
        targets = historical_targets(spec, world)
    targets = split_targets(targets, spec.until)
    fit_t = targets[targets["role"] == "fit"].reset_index(drop=True)
    last = int(targets["month"].max())
    if last >= base.horizon_months:
        raise ConfigError(f"end={base.end!r} is not allowed: not before the last target "
                          f"month {month_label(last)}")
    fit_end = month_label(int(fit_t["month"].max()))
    series = series_of(targets, world)
    timings: dict[str, float] = {}
    keys = spec.keys

    with ExitStack() as stack:
        stack.enter_context(one_blas_thread())  # the same bits on any machine
        ex = _executor(stack, world, base.world, workers, executor)
        # the particles need only the fitted series (the projection reads them all)
        fitted = [s for s in series if s in set(fit_t["series"])]
        model = Simulator(world, base, keys, fitted, fit_t, fit_end)
        observed, sigma = fit_t["observed"].to_numpy(), fit_t["sigma"].to_numpy()
        lower = (fit_t["bound"] == "lower").to_numpy()
        emu: EmulationRun | None = None
        if spec.method == "emulator":
            emu = _history_match(model, spec, ex, workers, observed, sigma, lower,
                                 progress, db)
            abc = emu.abc
            timings.update(emu.timings)
            timings["design_s"] = float(emu.waves["seconds"].sum())
        else:
            kernel = ObservationKernel(model.names, observed, sigma, lower)
            log.info("ABC-SMC: %d parameters, %d targets up to %s; %d particles per "
                     "generation, at most %d generations and about %d simulations",
                     len(keys), len(fit_t), fit_end, spec.population_size,
                     spec.max_generations, spec.max_simulations)
            abc = run_abc(model, uniform_prior(keys, spec.low, spec.high), kernel, spec,
                          ex, workers, db, progress)
        timings["abc_s"] = abc.wall_s
        log.info("ABC-SMC done in %.0f s: %d generations, temperature %.3g, ESS %.0f",
                 abc.wall_s, len(abc.generations), abc.temperature, abc.ess)

        parameters, estimate = posterior_summary(abc.particles, spec, base)
        # posterior predictive over the full horizon
        t0 = time.perf_counter()
        P = spec.predictive_draws
        idx = predictive_indices(abc.particles["weight"].to_numpy(), P, spec.seed)
        cfgs = [config_at(base, keys, abc.particles.loc[int(i), keys].to_numpy(dtype=float))
                for i in idx]
        args = [(base.world, c, j, series) for j, c in enumerate(cfgs)]
        log.info("posterior predictive: %d draws up to %s", P, base.end)
        runs = (map(_simulate_series, *zip(*args, strict=True)) if ex is None
                else ex.map(_simulate_series, *zip(*args, strict=True)))
        sims = []
        for s in runs:
            sims.append(s)
            if progress:
                progress("posterior predictive", len(sims), P)
        proj = np.stack(sims)
        timings["predictive_s"] = time.perf_counter() - t0

    s_idx = np.array([series.index(s) for s in targets["series"]], dtype=np.int64)
    at = proj[:, s_idx, targets["month"].to_numpy(dtype=np.int64)]  # (P, J)
    fit = fit_table(targets, at, abc.temperature, spec.seed)
    fit_rows = fit[fit["role"] == "fit"].reset_index(drop=True)
    predictive = pd.concat([pd.DataFrame({"draw": np.arange(P), "particle": idx}),
                            pd.DataFrame(at, columns=stat_names(len(targets)))], axis=1)
    calibrated = config_at(base, keys, [float(estimate[k]) for k in keys])
    check = None
    if emu is not None:  # the emulator against real simulations at the posterior
        theta = abc.particles.loc[idx, keys].to_numpy(dtype=float)
        fit_cols = np.flatnonzero((targets["role"] == "fit").to_numpy())
        with one_blas_thread():
            cover = emulator_coverage(emu.emulator, theta, at[:, fit_cols])
        check = pd.DataFrame({"target": model.names, "date": fit_t["date"],
                              "geo": fit_t["geo"], "metric": fit_t["metric"],
                              "coverage90": cover})
    return CalibrationResult(
        spec=spec, targets=targets, particles=abc.particles, generations=abc.generations,
        parameters=parameters, estimate=estimate, fit=fit, predictive=predictive,
        projection=projection_table(proj, series, world),
        quality=quality_checks(parameters, abc.generations, check),
        patterns=pattern_table(proj, series), acceptance=acceptance_table(fit_rows),
        temperature=abc.temperature,
        ess=abc.ess, base=base, calibrated=calibrated, fit_end=fit_end, timings=timings,
        n_runs={"abc": abc.simulations, "design": emu.simulations if emu else 0,
                "predictive": P}, series=series,
        waves=emu.waves if emu else None, validation=emu.validation if emu else None,
        design=emu.design if emu else None, emulator_check=check)


def _history_match(model: Simulator, spec: CalibrationSpec, ex: Executor | None, workers: int,
                   observed: np.ndarray, sigma: np.ndarray, lower: np.ndarray,
                   progress: PhaseProgress | None, db: str) -> EmulationRun:
    """History matching with emulators (:func:`~sim.calibration.emulation.history_match`),
    its simulations (each seeded by (seed, wave, run)) and the proposals of its ABC-SMC run
    by ``ex`` with ``workers`` workers (or here)."""
    s_idx, m_idx = model.s_idx, model.m_idx

    def run_batch(theta: np.ndarray, wave: int) -> np.ndarray:
        args = [(model.world_params, config_at(model.base, model.keys, row, model.end),
                 design_replication(spec.seed, wave, i), model.series, s_idx, m_idx)
                for i, row in enumerate(theta)]
        cols = list(zip(*args, strict=True))
        runs = map(_simulate_targets, *cols) if ex is None else ex.map(_simulate_targets, *cols)
        out = []
        for y in runs:
            out.append(y)
            if progress:
                progress(f"wave {wave}", len(out), len(args))
        return np.asarray(out, dtype=float)

    log.info("history matching: %d parameters, %d targets; %d waves of %d simulations, "
             "then ABC-SMC on the emulator (%d particles)", len(spec.keys), len(observed),
             spec.waves, spec.design_runs, spec.population_size)
    return history_match(run_batch, spec, observed, sigma, lower, model.names, progress, db,
                         ex, workers)


def summary_lines(result: CalibrationResult) -> list[str]:
    """One line per calibrated parameter (estimate and 90 % interval), then the checks."""
    lines = []
    for _, p in result.parameters.iterrows():
        lines.append(f"{p['key']} = {p['estimate']:.6g}  (posterior median; 5-95 % "
                     f"{p['q05']:.4g} .. {p['q95']:.4g}; prior {p['low']:g} .. {p['high']:g})")
    g = result.generations.iloc[-1]
    what = ("emulator evaluations" if result.method == "emulator" else "simulations")
    if result.method == "emulator":
        lines.append(f"history matching: {result.n_runs['design']} simulations in "
                     f"{len(result.waves) if result.waves is not None else 0} waves")
    lines.append(f"ABC-SMC: {len(result.generations)} generations, {int(g['accepted'])} "
                 f"particles, ESS {result.ess:.0f}, final temperature {result.temperature:.3g}"
                 f", {result.n_runs['abc']} {what}")
    failed = result.quality[~result.quality["passed"]]
    lines.append("quality checks: all passed" if failed.empty else
                 "quality checks failed: " + "; ".join(
                     f"{r['check']} ({r['subject']}: {r['value']})" for _, r in failed.iterrows()))
    return lines


__all__ = ["EDGE", "MIN_EMULATOR_COVERAGE", "MIN_ESS", "MIN_PARTICLES", "PILED_MASS",
           "VALIDATION_LEVEL", "CalibrationResult", "Simulator", "calibrate",
           "design_replication", "effective_sample_size", "fit_table", "posterior_summary",
           "predictive_indices", "projection_table", "quality_checks", "split_targets",
           "stat_names", "summary_lines"]
