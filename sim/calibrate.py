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
- ``nationwide_nonfederal``: non-federal services fully available in every Land;
  observed count / (575 - 115). The dashboard's "flächendeckend" count cannot contain the
  federal Typ-1 services: the Bund had 85 of them online in June 2021, but only 16
  services were nationwide in September 2021.
- ``full_in_land:XX``: non-federal services fully available in Land ``XX``; observed count
  / (575 - 115).

"Fully available in a Land" is read through the measurement parameter
``observation.full_population_share`` (:meth:`Coverage.t_full_at`): a municipally executed
service counts once the administrations that connected it hold that share of the Land's
population (1 = every administration, :attr:`Coverage.t_full`). What the dashboard counted
as "flächendeckend" is not documented, so the historical spec estimates it with the rest.
- ``online_in_land:XX``: services online somewhere in Land ``XX``
  (:attr:`Coverage.t_any_state`), all services; observed count / 575.

The model share is the model count over the model's own services of the same scope.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import norm

from sim import data_io
from sim.calendar import month_end_dates, month_index, month_label
from sim.errors import ConfigError
from sim.metrics import Coverage
from sim.model import RunResult, simulate
from sim.params import Config, get_path, parse_number, set_path, to_dict
from sim.ranges import ParameterRange, check_ranges, latin_hypercube_unit, parse_ranges
from sim.runner import process_pool
from sim.world import FEDERAL, World

log = logging.getLogger("ozg-sim")

HISTORY_FILE = "ozg_history_2018_2022.csv"
#: Official metric -> (model series kind, scope of its denominator).
METRICS: dict[str, tuple[str, str]] = {
    "ozg_leistungen_online_min1": ("online_anywhere", "all"),
    "ozg_leistungen_online_min1_share": ("online_anywhere", "all"),
    "bund_leistungen_online": ("federal_online", "federal"),
    "ozg_leistungen_flaechendeckend": ("nationwide_nonfederal", "nonfederal"),
    "ozg_leistungen_flaechendeckend_in_land": ("full_in_land", "nonfederal"),
    "ozg_leistungen_online_min1_in_land": ("online_in_land", "all"),
}
#: Metrics whose value is already a share of the catalogue (the others are counts).
SHARE_METRICS = frozenset({"ozg_leistungen_online_min1_share"})
#: Series kinds: national ones first, then per-Land ones (``kind:XX``).
NATIONAL_KINDS = ("online_anywhere", "federal_online", "nationwide_nonfederal")
LAND_KINDS = ("full_in_land", "online_in_land")
SERIES_LABELS = {
    "online_anywhere": "Services online somewhere",
    "federal_online": "Federal (Typ 1) services online",
    "nationwide_nonfederal": "Non-federal services online nationwide",
    "full_in_land": "Non-federal services fully available in {land}",
    "online_in_land": "Services online somewhere in {land}",
}
SCOPE_LABELS = {"all": "all services", "federal": "federal services",
                "nonfederal": "non-federal services"}
#: Significant digits of the calibrated values (in calibrated.yaml and the projection).
SIGNIFICANT_DIGITS = 4
SPEC_INTS = ("design_points", "design_rounds", "replications", "refine_evaluations",
             "projection_replications", "seed", "catalogue_services",
             "catalogue_federal_services")
SPEC_FLOATS = ("sigma_relative", "sigma_absolute")
#: Smallest allowed value of each integer spec key.
SPEC_MIN = {"design_points": 2, "design_rounds": 1, "replications": 2,
            "refine_evaluations": 0, "projection_replications": 2, "seed": 0,
            "catalogue_services": 1, "catalogue_federal_services": 0}
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


# --------------------------------------------------------------------------- spec


@dataclass
class CalibrationSpec:
    """What to calibrate and how (``conf/calibration/<name>.yaml``).

    Attributes
    ----------
    name : str
        Spec name (file stem).
    overrides : list of str
        Hydra overrides of the base ozg-sim config (e.g. ``funding=konjunkturpaket``).
    parameters : list of ParameterRange
        Parameters and their prior bounds.
    design_points : int
        Latin-hypercube points per design round (>= 2).
    design_rounds : int
        Round 1 samples the prior box; each later round a box around the posterior so far
        (adaptive multiple importance sampling); 1 = a single Latin hypercube.
    replications : int
        Replications per design point and per refinement evaluation (>= 2: a variance).
    refine_evaluations : int
        Maximum objective evaluations of the Nelder-Mead refinement (0: best design point).
    projection_replications : int
        Replications of the calibrated configuration over the full horizon.
    sigma_relative, sigma_absolute : float
        Observation error of a target with observed share ``o``:
        ``sigma = sigma_relative * o + sigma_absolute`` (share scale). The counts come
        from press reports and dashboards with differing definitions.
    seed : int
        Root seed of the replications and of the Latin hypercube.
    catalogue_services, catalogue_federal_services : int
        Size of the official catalogue the counts refer to (575 OZG services, 115 of them
        federal Typ 1): denominators of the observed shares.
    lower_bound_metrics : list of str
        Metrics whose value is a lower bound ("more than half"), not a point value.
    """

    name: str = "historical"
    overrides: list[str] = field(default_factory=list)
    parameters: list[ParameterRange] = field(default_factory=list)
    design_points: int = 64
    design_rounds: int = 3
    replications: int = 4
    refine_evaluations: int = 40
    projection_replications: int = 20
    sigma_relative: float = 0.10
    sigma_absolute: float = 0.01
    seed: int = 1
    catalogue_services: int = 575
    catalogue_federal_services: int = 115
    lower_bound_metrics: list[str] = field(
        default_factory=lambda: ["ozg_leistungen_online_min1_share"])

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    @property
    def low(self) -> np.ndarray:
        return np.array([p.low for p in self.parameters], dtype=float)

    @property
    def high(self) -> np.ndarray:
        return np.array([p.high for p in self.parameters], dtype=float)

    def as_dict(self) -> dict[str, Any]:
        return to_dict(self)


SPEC_KEYS = tuple(f.name for f in fields(CalibrationSpec))


def spec_from_dict(raw: Mapping[str, Any], name: str = "historical") -> CalibrationSpec:
    """A :class:`CalibrationSpec` from a plain mapping (YAML or command line), checked for
    unknown keys, types and ranges (not yet against a config: :func:`check_parameters`)."""
    unknown = sorted(set(map(str, raw)) - set(SPEC_KEYS) - {"name"})
    if unknown:
        raise ConfigError(f"{unknown[0]} is not allowed: spec keys are "
                          + ", ".join(k for k in SPEC_KEYS if k != "name"))
    spec = CalibrationSpec(name=str(raw.get("name", name)))
    for k in SPEC_INTS:
        if k in raw:
            setattr(spec, k, int(parse_number(k, raw[k], SPEC_MIN[k], integer=True)))
    for k in SPEC_FLOATS:
        if k in raw:
            setattr(spec, k, parse_number(k, raw[k], 0.0, lo_open=k == "sigma_absolute"))
    if spec.catalogue_federal_services >= spec.catalogue_services:
        raise ConfigError(f"catalogue_federal_services={spec.catalogue_federal_services!r} is "
                          f"not allowed: fewer than catalogue_services="
                          f"{spec.catalogue_services}")
    ovr = raw.get("overrides") or []
    if not isinstance(ovr, (list, tuple)) or not all(isinstance(o, str) for o in ovr):
        raise ConfigError(f"overrides={ovr!r} is not allowed: a list of key=value strings")
    spec.overrides = list(ovr)
    lbm = raw.get("lower_bound_metrics", spec.lower_bound_metrics) or []
    if not isinstance(lbm, (list, tuple)) or not all(m in METRICS for m in lbm):
        raise ConfigError(f"lower_bound_metrics={lbm!r} is not allowed: a list of "
                          + ", ".join(METRICS))
    spec.lower_bound_metrics = list(lbm)
    spec.parameters = parse_ranges(raw.get("parameters"), "parameters")
    return spec


def check_parameters(spec: CalibrationSpec, base: Config) -> None:
    """Every parameter key is a numeric parameter of ``base`` and both prior bounds give a
    valid configuration; else :class:`ConfigError` naming key and allowed values."""
    check_ranges(spec.parameters, base, "parameters")


def config_at(base: Config, keys: Sequence[str], values: Sequence[float] | np.ndarray,
              end: str | None = None) -> Config:
    """A validated copy of ``base`` with the parameters set (and ``end`` if given)."""
    cfg = copy.deepcopy(base)
    for k, v in zip(keys, values, strict=True):
        set_path(cfg, k, float(v))
    if end is not None:
        cfg.end = end
    return cfg.validate()


def round_significant(x: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``x`` rounded to ``digits`` significant digits (``812.2637`` -> ``812.3``)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(round(x, digits - 1 - math.floor(math.log10(abs(x)))))


def calibrated_overrides(cfg: Config, keys: Sequence[str]) -> dict[str, Any]:
    """Nested mapping of the calibrated keys for a ``# @package _global_`` Hydra file.

    A key inside a list (``funding.programmes.0.agreement_months``) gives the whole list
    as it is in ``cfg``, since Hydra replaces lists instead of merging them.
    """
    out: dict[str, Any] = {}
    for key in keys:
        parts = key.split(".")
        cut = next((i for i, p in enumerate(parts) if p.isdigit()), len(parts))
        path = parts[:cut] if cut < len(parts) else parts
        value = to_dict(get_path(cfg, ".".join(path)))
        node = out
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = value
    return out


# --------------------------------------------------------------------------- targets


def target_month(date: str) -> int:
    """Month index a reported figure refers to: ``YYYY-MM`` is the end of that month; a
    day ``YYYY-MM-DD`` the nearest month end (``2020-10-01`` -> end of September 2020,
    ``2022-12-31`` -> end of December 2022)."""
    m = _DAY.match(date.strip())
    if m is None:
        return month_index(date.strip(), "date")
    ym = f"{m.group(1)}-{m.group(2)}"
    idx = month_index(ym, "date")
    days = pd.Timestamp(f"{ym}-01").days_in_month
    return idx if int(m.group(3)) > days / 2 else idx - 1


def read_history() -> pd.DataFrame:
    """The observed figures with their dates as written (``YYYY-MM`` or ``YYYY-MM-DD``)."""
    return data_io._read(data_io.DATA_DIR, HISTORY_FILE,
                         {"date": "str", "geo": "str", "metric": "str", "value": "float",
                          "definition_or_note": "str", "source": "str"})


def make_targets(rows: pd.DataFrame, spec: CalibrationSpec, world: World) -> pd.DataFrame:
    """Targets on the share scale from rows ``date, geo, metric, value`` (and optionally
    ``source``): only metrics of :data:`METRICS`, Länder in ``world`` and scopes the
    world has services of.

    Columns: ``target``, ``date`` (as reported), ``month``, ``month_end``, ``geo``,
    ``metric``, ``series``, ``scope``, ``observed_value`` (as reported),
    ``observed_denominator`` (catalogue services of the scope; 1 for shares),
    ``catalogue_denominator`` (catalogue services of the scope), ``observed`` (share),
    ``sigma``, ``bound`` (``point`` or ``lower``), ``source``.
    """
    codes = list(world.states["state"])
    n_fed = int((world.services["executor"].to_numpy() == FEDERAL).sum())
    model_n = {"all": world.n_services, "federal": n_fed, "nonfederal": world.n_services - n_fed}
    cat = {"all": spec.catalogue_services, "federal": spec.catalogue_federal_services,
           "nonfederal": spec.catalogue_services - spec.catalogue_federal_services}
    out = []
    for _, row in rows.iterrows():
        metric = str(row["metric"])
        if metric not in METRICS:
            continue
        kind, scope = METRICS[metric]
        geo = str(row["geo"])
        if kind in LAND_KINDS:
            if geo not in codes:
                continue
            series = f"{kind}:{geo}"
        else:
            if geo != "DE":
                continue
            series = kind
        if model_n[scope] == 0:
            continue
        value = float(row["value"])
        denom = 1 if metric in SHARE_METRICS else cat[scope]
        observed = value / denom
        month = target_month(str(row["date"]))
        out.append({"date": str(row["date"]), "month": month,
                    "month_end": month_end_dates(month + 1)[-1], "geo": geo,
                    "metric": metric, "series": series, "scope": scope,
                    "observed_value": value, "observed_denominator": denom,
                    "catalogue_denominator": cat[scope], "observed": observed,
                    "sigma": spec.sigma_relative * observed + spec.sigma_absolute,
                    "bound": "lower" if metric in spec.lower_bound_metrics else "point",
                    "source": str(row.get("source", ""))})
    df = pd.DataFrame(out)
    if df.empty:
        raise ConfigError("no calibration target is in this world: targets are national "
                          "counts and Länder " + ", ".join(sorted(
                              set(rows["geo"]) - {"DE"})))
    df = df.sort_values(["month", "series"], kind="stable").reset_index(drop=True)
    df.insert(0, "target", np.arange(len(df)))
    return df


def historical_targets(spec: CalibrationSpec, world: World) -> pd.DataFrame:
    """Targets from ``sim/data/ozg_history_2018_2022.csv`` (see :func:`make_targets`)."""
    return make_targets(read_history(), spec, world)


def series_of(targets: pd.DataFrame, world: World) -> list[str]:
    """Observable series: the three national ones, then the per-Land series with targets
    (in the order of the Länder in the world)."""
    codes = list(world.states["state"])
    n_fed = int((world.services["executor"].to_numpy() == FEDERAL).sum())
    national = [k for k in NATIONAL_KINDS if not (k == "federal_online" and n_fed == 0)]
    land = sorted({s for s in targets["series"] if ":" in s},
                  key=lambda s: (LAND_KINDS.index(s.split(":")[0]), codes.index(s.split(":")[1])))
    return national + land


def _land_name(code: str, world: World | None) -> str:
    if world is not None and "name" in world.states.columns:
        st = world.states.set_index("state")
        if code in st.index:
            return str(st.loc[code, "name"])
    return code


def series_label(series: str, world: World | None = None) -> str:
    """Readable name of a series (Land names from the world if given)."""
    kind, _, geo = series.partition(":")
    return SERIES_LABELS[kind].format(land=_land_name(geo, world) if geo else "")


def series_shares(world: World, r: RunResult, series: Sequence[str],
                  full_population_share: float = 1.0) -> np.ndarray:
    """(len(series), H): share of services of each series' scope at the end of each month
    (a state at month ``m`` counts every time ``t < m + 1``, as :mod:`sim.metrics`).

    ``full_population_share``: the measurement model of "fully available in a Land"
    (:class:`sim.params.ObservationParams`; 1 = every administration connected).
    """
    c = Coverage(world, r)
    full = c.t_full_at(full_population_share)
    fed = c.executor == FEDERAL
    codes = list(world.states["state"])
    H = r.horizon_months
    edges = np.arange(1, H + 1, dtype=float)
    out = np.zeros((len(series), H))
    for i, sid in enumerate(series):
        kind, _, geo = sid.partition(":")
        if kind == "online_anywhere":
            t = c.t_anywhere
        elif kind == "federal_online":
            t = c.t_anywhere[fed]
        elif kind == "nationwide_nonfederal":
            t = full[~fed].max(axis=1) if full.shape[1] else np.full(int((~fed).sum()), np.inf)
        elif kind == "full_in_land":
            t = full[~fed, codes.index(geo)]
        elif kind == "online_in_land":
            t = c.t_any_state[:, codes.index(geo)]
        else:
            raise ValueError(f"series(={sid!r}) is not known")
        if len(t):
            out[i] = np.searchsorted(np.sort(t), edges, side="left") / len(t)
    return out


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
                         cfg.observation.full_population_share)


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
            progress: bool = False) -> list[np.ndarray]:
        self.n_runs += len(tasks)
        if self.pool is None:
            _init_worker(self.world, self.series)
            results: Iterable[np.ndarray] = map(_simulate_task, tasks)
        else:
            chunk = max(1, len(tasks) // (self.workers * 8))
            results = self.pool.map(_simulate_task, tasks, chunksize=chunk)
        out: list[np.ndarray] = []
        t0, next_log = time.perf_counter(), 0.1
        for res in results:
            out.append(res)
            if progress and len(out) / len(tasks) >= next_log:
                el = time.perf_counter() - t0
                log.info("%s: run %d/%d, %.0f s elapsed, ETA %.0f s", what, len(out),
                         len(tasks), el, el / len(out) * (len(tasks) - len(out)))
                next_log = len(out) / len(tasks) + 0.1
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


def calibrate(base: Config, world: World, spec: CalibrationSpec,
              targets: pd.DataFrame | None = None, workers: int = 1,
              progress: bool = False) -> CalibrationResult:
    """Calibrate ``spec.parameters`` of ``base`` against ``targets`` (default: the
    historical counts) by synthetic likelihood; see the module docstring.

    ``base`` is used with ``seed = spec.seed``. Results do not depend on ``workers``.
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
    s_idx, m_idx = _target_index(targets, series)
    obs = targets["observed"].to_numpy(dtype=float)
    sig = targets["sigma"].to_numpy(dtype=float)
    lower = (targets["bound"] == "lower").to_numpy()
    keys, lo, hi = spec.keys, spec.low, spec.high
    k, R = len(keys), spec.replications
    timings: dict[str, float] = {}
    n_runs: dict[str, int] = {}

    def observe(arrs: list[np.ndarray]) -> np.ndarray:
        return np.stack([a[s_idx, m_idx] for a in arrs])  # (R, J)

    with Evaluator(world, series, workers) as ev:
        # 1-3: design rounds and synthetic likelihood
        t0 = time.perf_counter()
        units: list[np.ndarray] = []  # sampled points in the unit cube of the prior box
        boxes: list[tuple[np.ndarray, np.ndarray]] = []
        rows: list[dict[str, Any]] = []
        means: list[np.ndarray] = []
        n = spec.design_points
        w = np.zeros(0)
        for rnd in range(spec.design_rounds):
            if rnd == 0:
                box = (np.zeros(k), np.ones(k))
            else:
                box = next_box(np.array(units), w, boxes[-1], n)
            boxes.append(box)
            u_r = box[0] + latin_hypercube_unit(n, k, spec.seed, rnd) * (box[1] - box[0])
            cfgs = [config_at(base, keys, lo + u * (hi - lo), fit_end) for u in u_r]
            log.info("design round %d/%d: %d points x %d replications up to %s", rnd + 1,
                     spec.design_rounds, n, R, fit_end)
            sims = ev.run([(c, r) for c in cfgs for r in range(R)],
                          f"design round {rnd + 1}", progress)
            for i, c in enumerate(cfgs):
                ll, mean, _var, _z = synthetic_loglik(observe(sims[i * R:(i + 1) * R]), obs,
                                                      sig, lower)
                rows.append({"point": len(rows), "round": rnd + 1,
                             **{key: get_path(c, key) for key in keys}, "log_likelihood": ll})
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
        ess = effective_sample_size(w)
        timings["design_s"] = time.perf_counter() - t0
        n_runs["design"] = len(design) * R
        log.info("design done in %.0f s; effective sample size %.1f", timings["design_s"], ess)

        # 4: Nelder-Mead refinement from the best design point (unit cube of the prior)
        t0 = time.perf_counter()
        memo: dict[tuple[float, ...], float] = {}
        trace: list[dict[str, Any]] = []

        def values_of(u: np.ndarray) -> np.ndarray:
            return lo + np.clip(u, 0.0, 1.0) * (hi - lo)

        def loglik_at(values: np.ndarray) -> float:
            cfg = config_at(base, keys, values, fit_end)
            resolved = tuple(float(get_path(cfg, key)) for key in keys)
            if resolved not in memo:
                arrs = ev.run([(cfg, r) for r in range(R)])
                memo[resolved] = synthetic_loglik(observe(arrs), obs, sig, lower)[0]
                trace.append({"evaluation": len(trace), **dict(zip(keys, resolved,
                                                                    strict=True)),
                              "log_likelihood": memo[resolved]})
            return memo[resolved]

        best = int(np.argmax(design["log_likelihood"].to_numpy()))
        u0 = unit[best]
        memo[tuple(float(design.loc[best, key]) for key in keys)] = float(
            design.loc[best, "log_likelihood"])
        if spec.refine_evaluations > 0:
            # initial simplex: a quarter of the last design box along each axis
            step = np.maximum(0.25 * (boxes[-1][1] - boxes[-1][0]), 0.01)
            simplex = [u0] + [u0 + np.eye(k)[j] * (step[j] if u0[j] + step[j] <= 1
                                                   else -step[j]) for j in range(k)]
            minimize(lambda u: -loglik_at(values_of(u)), u0, method="Nelder-Mead",
                     bounds=[(0.0, 1.0)] * k,
                     options={"maxfev": spec.refine_evaluations,
                              "initial_simplex": np.array(simplex),
                              "xatol": 1e-3, "fatol": 1e-3})
        # The best point evaluated (scipy may drop its last, better vertex when maxfev
        # interrupts an expansion); ties keep the first, so the choice is deterministic.
        best_key = max(memo, key=lambda key: memo[key])
        raw = np.array(best_key)
        # the estimate, rounded; its config values are what calibrated.yaml sets
        rounded = [round_significant(float(v)) for v in raw]
        est_cfg = config_at(base, keys, rounded, fit_end)
        estimate = {key: get_path(est_cfg, key) for key in keys}
        ll_est = loglik_at(np.array([float(estimate[key]) for key in keys]))  # rounded
        refine = pd.DataFrame(trace, columns=["evaluation", *keys, "log_likelihood"])
        timings["refine_s"] = time.perf_counter() - t0
        n_runs["refine"] = len(trace) * R
        log.info("refinement: %d evaluations in %.0f s; log-likelihood %.2f (best design "
                 "point %.2f)", len(trace), timings["refine_s"], ll_est,
                 design.loc[best, "log_likelihood"])

        # 5: projection over the full horizon
        t0 = time.perf_counter()
        calibrated = config_at(base, keys, [float(estimate[key]) for key in keys])
        P = spec.projection_replications
        log.info("projection: %d replications up to %s", P, calibrated.end)
        proj = np.stack(ev.run([(calibrated, r) for r in range(P)], "projection", progress))
        timings["projection_s"] = time.perf_counter() - t0
        n_runs["projection"] = P

    values = design[keys].to_numpy(dtype=float)
    par_rows = []
    for j, p in enumerate(spec.parameters):
        q05, q50, q95 = weighted_quantile(values[:, j], w, (0.05, 0.5, 0.95))
        par_rows.append({"key": p.key, "low": p.low, "high": p.high,
                         "estimate": float(estimate[p.key]), "posterior_median": q50,
                         "q05": q05, "q95": q95})
    parameters = pd.DataFrame(par_rows)
    fit = _fit_table(targets, proj, s_idx, m_idx, obs, sig, lower)
    projection = _projection_table(proj, series, world)
    return CalibrationResult(spec, targets, design, refine, parameters, estimate, fit,
                             projection, ess, ll_est, base, calibrated, fit_end, timings,
                             n_runs, series)


def _fit_table(targets: pd.DataFrame, proj: np.ndarray, s_idx: np.ndarray, m_idx: np.ndarray,
               obs: np.ndarray, sig: np.ndarray, lower: np.ndarray) -> pd.DataFrame:
    at = proj[:, s_idx, m_idx]  # (P, J)
    _ll, mean, var, z = synthetic_loglik(at, obs, sig, lower)
    fit = targets.copy()
    fit["model_mean"] = mean
    fit["model_median"] = np.median(at, axis=0)
    fit["model_q05"] = np.quantile(at, 0.05, axis=0)
    fit["model_q95"] = np.quantile(at, 0.95, axis=0)
    fit["model_sd"] = np.sqrt(var)
    fit["model_median_catalogue"] = fit["model_median"] * fit["catalogue_denominator"]
    fit["z"] = z
    return fit


def _projection_table(proj: np.ndarray, series: list[str], world: World) -> pd.DataFrame:
    P, _, H = proj.shape
    dates = month_end_dates(H)
    parts = []
    for i, sid in enumerate(series):
        x = proj[:, i, :]
        kind = sid.split(":")[0]
        scope = {"online_anywhere": "all", "online_in_land": "all",
                 "federal_online": "federal"}.get(kind, "nonfederal")
        geo = sid.partition(":")[2]
        parts.append(pd.DataFrame({
            "series": sid, "label": series_label(sid, world), "scope": scope, "geo": geo,
            "geo_name": _land_name(geo, world) if geo else "",
            "month": np.arange(H), "date": dates, "n_replications": P,
            "mean": x.mean(axis=0), "median": np.median(x, axis=0),
            "q05": np.quantile(x, 0.05, axis=0), "q95": np.quantile(x, 0.95, axis=0)}))
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


__all__ = [
    "METRICS",
    "CalibrationResult",
    "CalibrationSpec",
    "Evaluator",
    "ParameterRange",
    "at_prior_bounds",
    "calibrate",
    "calibrated_overrides",
    "check_parameters",
    "config_at",
    "effective_sample_size",
    "historical_targets",
    "make_targets",
    "posterior_weights",
    "read_history",
    "round_significant",
    "series_label",
    "series_of",
    "series_shares",
    "spec_from_dict",
    "summary_lines",
    "synthetic_loglik",
    "target_month",
    "weighted_quantile",
]
