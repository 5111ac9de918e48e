"""Sweeps: a design (grid, Latin hypercube, explicit list) × replications, run in a local
process pool with a run cache, so an interrupted sweep resumes and nothing is computed twice.

A *point* is a set of overrides: config-group choices (``strategy=efv``) and dotted
parameter keys (``staffing.dev_fte_factor=1.5``). Each (point, replication) is one *run*;
its cache key hashes the resolved configuration of that replication (with the calibrated
parameters it draws from the posterior, :func:`sim.runner.replication_config`), the
replication and the code version (the package sources and data), so a re-run skips what is
already complete (:mod:`sim.cache`: entries verified before use, written atomically; a
failed write only warns). Runs of different strategies with the same replication number share
random numbers and calibrated draws. A run's record keeps the tables of
:data:`sim.outputs.RECORD_TABLES`: those written to the experiment folder and the
``observables`` of the official record (read by :mod:`sim.sensitivity`).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import re
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import cache as run_cache
from sim.bounds import check_cost
from sim.cache import run_key
from sim.config import CONF_DIR, GROUPS, load_config, load_posterior, read_yaml
from sim.engines import Engine, LocalEngine
from sim.errors import ConfigError
from sim.keys import get_path, set_path, to_dict
from sim.metrics import running_costs_by_year, services_table
from sim.milestones import milestone_times
from sim.outputs import RUN_TABLES, SWEEP_TABLES
from sim.params import Config
from sim.posterior import PosteriorSample
from sim.provenance import config_hash
from sim.ranges import (
    ParameterRange,
    check_ranges,
    latin_hypercube,
    parse_ranges,
    ranges_mapping,
)
from sim.runner import replication_config, run_replication
from sim.world import World, build_world

log = logging.getLogger("ozg-sim")


# --------------------------------------------------------------------------- experiment files

#: Experiment files: each is a sweep design with its figures, ``conf/experiment/NAME.yaml``.
EXPERIMENT_DIR = CONF_DIR / "experiment"
#: Keys an experiment file may have.
SPEC_KEYS = {"name", "title", "title_de", "description", "replications", "seed", "base",
             "design", "figures", "reference", "sensitivity",
             "discovery"}  # scenario discovery's questions (sim.discovery)


#: What an experiment's ``name:`` may be: it names the output folder ``<out>/<name>/``, so a
#: plain name (no path separators, no ``..``, not hidden), at most 64 characters.
EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Suffixes of an experiment file given by its path.
SPEC_SUFFIXES = (".yaml", ".yml")
#: Types of the optional keys of an experiment file (checked on load, so that a malformed
#: file stops with one line before any run).
SPEC_TYPES: dict[str, tuple[type, ...]] = {
    "title": (str,), "title_de": (str, type(None)), "description": (str,),
    "replications": (int,), "seed": (int,), "base": (list, type(None)), "design": (dict,),
    "figures": (list, type(None)), "reference": (dict, type(None)), "sensitivity": (dict,),
    "discovery": (list,)}


def experiment_names() -> list[str]:
    """Names of the experiments in ``conf/experiment/`` (only those that are plain names)."""
    return sorted(p.stem for p in EXPERIMENT_DIR.glob("*.yaml")
                  if EXPERIMENT_NAME.fullmatch(p.stem))


def spec_path(name: str) -> Path:
    """The file of experiment ``name``: ``conf/experiment/NAME.yaml`` for a plain name, else
    a path to a spec file (``./my.yaml``, ``/abs/x.yaml``: it must end in ``.yaml`` or
    ``.yml`` and exist).

    Raises
    ------
    ConfigError
        If ``name`` is neither.
    """
    if EXPERIMENT_NAME.fullmatch(name):
        path = EXPERIMENT_DIR / f"{name}.yaml"
        if path.is_file():
            return path
    elif name.endswith(SPEC_SUFFIXES):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"experiment file {name!r} is not allowed: it does not exist")
        return path
    raise ConfigError(f"experiment={name!r} is not allowed: one of "
                      + ", ".join(experiment_names())
                      + ", or the path of a spec file ending in .yaml")


def _check_spec_types(path: Path, spec: dict[str, Any]) -> None:
    where = path.name if path.parent == EXPERIMENT_DIR else str(path)
    name = spec.get("name")
    if not isinstance(name, str) or not EXPERIMENT_NAME.fullmatch(name):
        raise ConfigError(f"{where}: name={name!r} is not allowed: a plain name of letters, "
                          "digits, '_' and '-' (it names the output folder)")
    for key, types in SPEC_TYPES.items():
        if key in spec and (not isinstance(spec[key], types) or isinstance(spec[key], bool)):
            allowed = " or ".join("null" if t is type(None) else
                                  {dict: "a mapping", list: "a list", str: "a string",
                                   int: "an integer"}[t] for t in types)
            raise ConfigError(f"{where}: {key}={spec[key]!r} is not allowed: {allowed}")
    if spec.get("replications", 1) < 1:
        raise ConfigError(f"{where}: replications={spec['replications']!r} is not allowed: "
                          "an integer >= 1")
    if spec.get("seed", 0) < 0:
        raise ConfigError(f"{where}: seed={spec['seed']!r} is not allowed: an integer >= 0")
    for key in ("base", "figures"):
        bad = next((x for x in spec.get(key) or [] if not isinstance(x, str)), None)
        if bad is not None:
            raise ConfigError(f"{where}: {key} holds {bad!r}: a list of strings is needed")
    design = spec.get("design") or {}
    for key in ("grid", "lhs", "cross"):
        if key in design and not isinstance(design[key], dict):
            raise ConfigError(f"{where}: design.{key}={design[key]!r} is not allowed: a "
                              "mapping")
    points = design.get("points")
    if points is not None and not (isinstance(points, list)
                                   and all(isinstance(p, dict) for p in points)):
        raise ConfigError(f"{where}: design.points={points!r} is not allowed: a list of "
                          "mappings")


def load_spec(name: str) -> dict[str, Any]:
    """The experiment file (a name of ``conf/experiment/`` or a path, :func:`spec_path`) as
    a plain dict, checked: keys, their types, and a ``name:`` that is a plain name, so the
    output always lands in ``<out>/<name>/``.

    Raises
    ------
    ConfigError
        One line naming the file and the key.
    """
    path = spec_path(name)
    where = path.name if path.parent == EXPERIMENT_DIR else str(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: is not a mapping of experiment keys")
    spec = {str(k): v for k, v in raw.items()}
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ConfigError(f"{where}: key {sorted(unknown)[0]!r} is not allowed: keys are "
                          + ", ".join(sorted(SPEC_KEYS)))
    # A sensitivity experiment (sim.sensitivity) builds its designs from its ``sensitivity``
    # block; every other experiment is a sweep over its ``design``.
    for k in ("name", "sensitivity" if "sensitivity" in spec else "design"):
        if k not in spec:
            raise ConfigError(f"{where}: key {k!r} is missing")
    if "sensitivity" in spec and "design" in spec:
        raise ConfigError(f"{where}: key 'design' is not allowed beside 'sensitivity' "
                          "(its designs are Morris' and Sobol's)")
    _check_spec_types(path, spec)
    return spec


# --------------------------------------------------------------------------- designs


def grid(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """All combinations of the axes' values (in axis order, last axis fastest)."""
    keys = list(axes)
    for k in keys:
        if not isinstance(axes[k], (list, tuple)) or len(axes[k]) == 0:
            raise ConfigError(f"design.grid.{k}={axes[k]!r} is not allowed: a non-empty list")
    return [dict(zip(keys, vals, strict=True))
            for vals in itertools.product(*(axes[k] for k in keys))]


def cross(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every point of ``a`` combined with every point of ``b``."""
    return [{**x, **y} for x in a for y in b] if a and b else (a or b)


#: Keys of a design's ``lhs``: its size, the uncertainties it explores (declared keys,
#: :func:`sim.ranges.parse_ranges`) and the calibration whose posterior sample gives the
#: keys it holds (whole particles, :func:`sim.ranges.latin_hypercube`).
LHS_KEYS = ("n", "ranges", "posterior")


def _lhs(design: dict[str, Any]) -> tuple[int, list[ParameterRange], PosteriorSample | None]:
    """Size, ranges and posterior sample of a design's ``lhs``, checked."""
    spec = dict(design["lhs"])
    unknown = sorted(set(map(str, spec)) - set(LHS_KEYS))
    if unknown:
        raise ConfigError(f"design.lhs.{unknown[0]} is not allowed: keys are "
                          + ", ".join(LHS_KEYS))
    n = spec.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"design.lhs.n={n!r} is not allowed: an integer >= 1")
    ranges = parse_ranges(spec.get("ranges"), "design.lhs.ranges")
    name = spec.get("posterior")
    if name is None:
        return n, ranges, None
    if not isinstance(name, str) or not EXPERIMENT_NAME.fullmatch(name):
        raise ConfigError(f"design.lhs.posterior={name!r} is not allowed: the name of a "
                          "calibration with conf/calibrated/NAME_posterior.csv (historical)")
    try:
        return n, ranges, load_posterior(f"{name}_posterior.csv")
    except ConfigError as exc:
        raise ConfigError(f"design.lhs.posterior={name!r} is not allowed: "
                          f"{str(exc).split(': ', 1)[-1]}") from None


def resolve_design(design: dict[str, Any]) -> dict[str, Any]:
    """The design as its folder's manifest records it: ``lhs.ranges`` as the mapping
    ``{key: [low, high]}`` of every key the hypercube sets (keys drawn from the posterior
    with their declared range), ``lhs.posterior`` kept (:func:`sim.scenario.design_roles`
    reads the roles from it)."""
    out = copy.deepcopy(dict(design))
    if "lhs" in out:
        _n, ranges, _sample = _lhs(out)
        out["lhs"] = {**dict(out["lhs"]), "ranges": ranges_mapping(ranges)}
    return out


def expand_design(design: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """Points of a design spec: ``grid`` (axes), ``lhs`` (n, ranges, posterior),
    ``points`` (explicit list), ``cross`` (a grid crossed with the rest)."""
    allowed = {"grid", "lhs", "points", "cross"}
    unknown = set(design) - allowed
    if unknown:
        raise ConfigError(f"design.{sorted(unknown)[0]} is not allowed: design keys are "
                          + ", ".join(sorted(allowed)))
    pts: list[dict[str, Any]] = []
    if "grid" in design:
        pts = cross(pts, grid(dict(design["grid"])))
    if "lhs" in design:
        n, ranges, sample = _lhs(design)
        pts = cross(pts, latin_hypercube(ranges, n, seed, sample))
    if "points" in design:
        pts = cross(pts, [dict(p) for p in design["points"]])
    if "cross" in design:
        pts = cross(pts, grid(dict(design["cross"])))
    return pts or [{}]


# --------------------------------------------------------------------------- configs


class ConfigFactory:
    """Configs of design points: Hydra composes each group combination once; the other keys
    are set on a copy (microseconds instead of ~0.1 s per composition)."""

    def __init__(self, base: list[str]) -> None:
        self.base = list(base)
        self._composed: dict[tuple[str, ...], Config] = {}
        # the marginal posterior of each group combination and set of keys a point sets
        self._marginals: dict[tuple[tuple[str, ...], frozenset[str]],
                              PosteriorSample | None] = {}

    def make(self, point: dict[str, Any]) -> Config:
        group_ovr = tuple(f"{k}={v}" for k, v in point.items() if k in GROUPS)
        if group_ovr not in self._composed:
            self._composed[group_ovr] = load_config([*self.base, *group_ovr])
        base = self._composed[group_ovr]
        # the posterior sample is read-only, so points share it (and its marginals): a
        # copy each would hold 0.13 MB per point (0.65 GB in a design of 5,000 points)
        cfg = copy.deepcopy(base, {id(base.posterior): base.posterior})
        for k, v in point.items():
            if k not in GROUPS:
                set_path(cfg, k, v)
        if isinstance(cfg.posterior, PosteriorSample):  # a key the point sets is not drawn
            keys = frozenset(k for k in point if k not in GROUPS)
            if (group_ovr, keys) not in self._marginals:
                self._marginals[(group_ovr, keys)] = cfg.posterior.without(keys)
            cfg.posterior = self._marginals[(group_ovr, keys)]
        return cfg.validate()


# --------------------------------------------------------------------------- runs


@dataclass
class RunRecord:
    """Outcome of one (point, replication)."""

    point: int
    replication: int
    key: str
    status: str  # ok | failed
    wall_s: float
    cached: bool
    error: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    kpis: dict[str, float] = field(default_factory=dict)


_WORLDS: dict[str, World] = {}


def _world_key(cfg: Config) -> str:
    return json.dumps(to_dict(cfg.world), sort_keys=True)


def world_for(cfg: Config) -> World:
    """The world of ``cfg``, built once per process (and sent to workers with a sweep's
    payload, :class:`SweepPayload`)."""
    key = _world_key(cfg)
    if key not in _WORLDS:
        _WORLDS[key] = build_world(cfg.world)
    return _WORLDS[key]


def run_milestones(world: World, tables: dict[str, pd.DataFrame],
                   replication: int) -> pd.DataFrame:
    """The rollout timeline of one run (:func:`sim.milestones.milestone_times`) with a lane
    for every topic field and every Land of its world, from its events."""
    return milestone_times(tables["events"], services_table(world), [replication],
                           states=list(world.states["state"]))


def execute_run(point: int, replication: int, cfg: Config, key: str,
                cache_dir: Path | None) -> RunRecord:
    """Run one replication of one point; never raises (a failure is recorded)."""
    t0 = time.perf_counter()
    try:
        out = run_replication(world_for(cfg), cfg, replication, observables=True)
        rec = RunRecord(point, replication, key, "ok", time.perf_counter() - t0, False,
                        tables={**{k: out.tables[k] for k in RUN_TABLES},
                                "running_costs": running_costs_by_year(out.tables["spending"]),
                                "milestones": run_milestones(world_for(cfg), out.tables,
                                                             replication),
                                "observables": out.tables["observables"]},
                        kpis=out.kpis)
    except Exception as exc:  # a failing run must not stop the sweep
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return RunRecord(point, replication, key, "failed", time.perf_counter() - t0, False,
                         error=tb)
    if cache_dir is not None:  # a failed write warns; the result goes on in memory
        run_cache.write(cache_dir, key, rec.tables, rec.kpis, rec.wall_s)
    return rec


def _cached_record(cache_dir: Path, point: int, replication: int,
                   key: str) -> RunRecord | None:
    """The verified cached record of a run, or ``None`` (absent or bad: run it again)."""
    entry = run_cache.read(cache_dir, key)
    if entry is None:
        return None
    return RunRecord(point, replication, key, "ok", entry.wall_s, True, tables=entry.tables,
                     kpis=entry.kpis)


@dataclass
class Sweep:
    """A design expanded into runs.

    Attributes
    ----------
    name : str
    points : list of dict
        Overrides of each design point (index = point id).
    configs : list of Config
    replications : int
    design : dict
        The design as the manifest records it (:func:`resolve_design`).
    """

    name: str
    points: list[dict[str, Any]]
    configs: list[Config]
    replications: int
    design: dict[str, Any] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replications

    def runs(self) -> Iterator[tuple[int, int, Config, str]]:
        for p, cfg in enumerate(self.configs):
            for r in range(self.replications):
                yield p, r, cfg, run_key(replication_config(cfg, r), r)

    def design_columns(self) -> list[str]:
        """Strategy and funding always, then every key a point sets, in first-seen order."""
        cols: list[str] = ["strategy", "funding"]
        for pt in self.points:
            cols += [k for k in pt if k not in cols]
        return cols


def make_sweep(name: str, design: dict[str, Any], base: list[str], replications: int,
               seed: int) -> Sweep:
    """Expand a design into points and their validated configs."""
    points = expand_design(design, seed)
    factory = ConfigFactory([*base, f"seed={seed}", f"replications={replications}"])
    if "lhs" in design:  # every range a numeric parameter, both bounds valid
        check_ranges(parse_ranges(dict(design["lhs"]).get("ranges"), "design.lhs.ranges"),
                     factory.make({}), "design.lhs.ranges")
    configs = [factory.make(p) for p in points]
    if configs:  # the whole design within the budget (each run alone is checked by validate)
        check_cost(sum(c.estimated_cost_s() for c in configs), configs[0].max_cost_s,
                   f"sweep {name}", f"{len(configs)} points x {replications} replications")
    return Sweep(name, points, configs, replications, resolve_design(design))


#: ``on_point(point, records)``: called once per design point, with its runs in replication
#: order (tables included), as soon as all of them are in; points come in any order.
PointSink = Callable[[int, list[RunRecord]], None]


@dataclass
class SweepPayload:
    """What every task of a sweep shares, sent to each worker once
    (:meth:`sim.engines.Engine.map_unordered`): every point's config, the worlds they run
    in, the function that runs one (point, replication) and the run cache the workers write
    (``None`` where the parent writes it)."""

    configs: list[Config]
    worlds: dict[str, World]
    runner: Callable[..., RunRecord]
    cache_dir: Path | None


def sweep_task(payload: SweepPayload, point: int, replication: int, key: str) -> RunRecord:
    """One run of a sweep, on a worker: the world comes with the payload (a worker never
    builds one), the config by its point's index."""
    _WORLDS.update(payload.worlds)
    return payload.runner(point, replication, payload.configs[point], key, payload.cache_dir)


def run_sweep(sweep: Sweep, workers: int | None = None, cache_dir: Path | None = None,
              progress: Callable[[int, int], None] | None = None,
              runner: Callable[..., RunRecord] = execute_run, engine: Engine | None = None,
              on_point: PointSink | None = None) -> list[RunRecord]:
    """Run every (point, replication) not yet in the cache; its records in (point, rep)
    order.

    The runs go to ``engine`` (default: a local pool of ``workers`` processes); the results
    do not depend on either. With ``on_point`` each point's runs are handed over as soon as
    they are all in (cached runs are read only then) and the returned records keep no tables,
    so memory does not grow with the number of runs; without it every record keeps its
    tables. ``progress(done, total)`` is called after each run computed here (``done``
    counts the cached runs too). The run cache is written by the workers of a local pool and
    by this process for a Dask cluster (whose workers may not see this machine's files).
    """
    if cache_dir is not None:
        try:
            run_cache.load_secret()
        except run_cache.CacheKeyError as exc:  # a sweep without cache beats no sweep
            log.warning("run cache not used: %s", exc)
            cache_dir = None
    plan = list(sweep.runs())
    cached = {(p, r): key for p, r, _cfg, key in plan if run_cache.is_cached(cache_dir, key)}
    todo = [(p, r, key) for p, r, _cfg, key in plan if (p, r) not in cached]
    if cache_dir is not None:  # a partial entry (no record) is discarded, with a warning
        for _p, _r, key in todo:
            run_cache.read(cache_dir, key)
    if cached:
        log.info("%d of %d runs found in the cache", len(cached), sweep.n_runs)
    left = {p: 0 for p in range(len(sweep.points))}
    for p, _r, _key in todo:
        left[p] += 1
    buffers: dict[int, list[RunRecord]] = {}
    records: list[RunRecord] = []
    done = len(cached)

    def finish(point: int) -> None:
        recs = buffers.pop(point, [])
        for r in range(sweep.replications):
            if (point, r) in cached:
                recs.append(_cached_or_run(sweep, point, r, cached[(point, r)], cache_dir,
                                           runner))
        recs.sort(key=lambda x: x.replication)
        if on_point is not None:
            on_point(point, recs)
            for rec in recs:
                rec.tables = {}
        records.extend(recs)

    for point in [p for p, n in left.items() if n == 0]:  # every run cached: at once
        finish(point)
    engine = engine or LocalEngine(workers)
    writes_cache = cache_dir is not None and engine.name != "local"
    worlds = {_world_key(sweep.configs[p]): world_for(sweep.configs[p])
              for p in dict.fromkeys(p for p, _r, _k in todo)}
    payload = SweepPayload(sweep.configs, worlds, runner,
                           None if writes_cache else cache_dir)
    cost = sweep.configs[0].estimated_cost_s() / sweep.replications if sweep.configs else None
    # A worker killed mid-sweep (OOM killer, operator) costs only its unfinished runs: the
    # local pool is restarted and Dask reschedules them (sim.engines), so the results equal
    # those of an uninterrupted sweep.
    for _i, rec in engine.map_unordered(sweep_task, todo, payload, cost):
        if writes_cache and rec.status == "ok":
            assert cache_dir is not None
            run_cache.write(cache_dir, rec.key, rec.tables, rec.kpis, rec.wall_s)
        buffers.setdefault(rec.point, []).append(rec)
        left[rec.point] -= 1
        done += 1
        if progress:
            progress(done, sweep.n_runs)
        if left[rec.point] == 0:
            finish(rec.point)
    records.sort(key=lambda x: (x.point, x.replication))
    return records


def _cached_or_run(sweep: Sweep, point: int, replication: int, key: str,
                   cache_dir: Path | None, runner: Callable[..., RunRecord]) -> RunRecord:
    """The cached record of a run, verified; a damaged or vanished entry is run again here."""
    assert cache_dir is not None
    hit = _cached_record(cache_dir, point, replication, key)
    if hit is not None:
        return hit
    log.warning("run cache entry of point %d replication %d unusable; running it again",
                point, replication)
    return runner(point, replication, sweep.configs[point], key, cache_dir)


def design_frame(sweep: Sweep) -> pd.DataFrame:
    """One row per design point: ``point`` and the design columns
    (:meth:`Sweep.design_columns`), group choices by option name, parameters resolved."""
    cols = sweep.design_columns()
    design = pd.DataFrame([{"point": i, **{c: pt.get(c) for c in cols}}
                           for i, pt in enumerate(sweep.points)])
    for c in cols:
        design[c] = _design_column(sweep, c, design[c])
    return design


def point_tables(design: pd.DataFrame, records: list[RunRecord]) -> dict[str, pd.DataFrame]:
    """The rows of :data:`sim.outputs.SWEEP_TABLES` that the successful runs among
    ``records`` give (of one point, or of all in (point, replication) order), each with
    ``point`` and the design columns in front (``design``: :func:`design_frame`)."""
    cols = [c for c in design.columns if c != "point"]
    ok = [r for r in records if r.status == "ok"]
    out: dict[str, pd.DataFrame] = {}
    for name in SWEEP_TABLES:
        parts = [r.tables[name] for r in ok]
        if parts:
            df = pd.concat(parts, ignore_index=True)
            df["point"] = np.repeat([r.point for r in ok], [len(p) for p in parts])
        else:
            df = pd.DataFrame({"point": []})
        out[name] = design.merge(df, on="point", how="right")[
            ["point", *cols, *[c for c in df.columns if c != "point"]]]
    return out


def small_tables(sweep: Sweep, design: pd.DataFrame,
                 records: list[RunRecord]) -> dict[str, pd.DataFrame]:
    """``kpis`` (one row per successful run), ``runs`` (status, error, wall time, cache
    key of every run) and ``points`` (the design with each point's config hash)."""
    ok = [r for r in records if r.status == "ok"]
    kp = pd.DataFrame([{"point": r.point, "replication": r.replication, **r.kpis} for r in ok])
    return {
        "kpis": design.merge(kp, on="point", how="right") if len(kp) else kp,
        "runs": pd.DataFrame([{"point": r.point, "replication": r.replication,
                               "status": r.status, "error": r.error,
                               "wall_s": r.wall_s, "cached": r.cached, "key": r.key}
                              for r in records]),
        "points": design.assign(config_hash=[config_hash(c) for c in sweep.configs])}


def assemble(sweep: Sweep, records: Iterable[RunRecord]) -> dict[str, pd.DataFrame]:
    """Every table of a sweep in memory (records with their tables, :func:`run_sweep`
    without ``on_point``): one tidy table per kind for all runs with the design columns
    (:func:`point_tables`), plus :func:`small_tables`. An experiment streams the large
    ones to disk instead (:class:`sim.store.PointStore`)."""
    records = list(records)
    design = design_frame(sweep)
    return {**point_tables(design, records), **small_tables(sweep, design, records)}


def _design_column(sweep: Sweep, col: str, values: pd.Series) -> pd.Series:
    """Group choices keep their option names; for a parameter key the resolved value."""
    if col in GROUPS:
        return pd.Series([getattr(c, col).name for c in sweep.configs], index=values.index)
    return pd.Series([get_path(cfg, col) for cfg in sweep.configs], index=values.index)
