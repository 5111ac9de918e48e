"""Run replications, in a local process pool, and collect their tables.

Each replication is independent and seeded by (seed, replication, stream), so results are
identical whatever the number of workers; tables are concatenated in replication order.
With ``calibrated_draws=posterior`` each replication first takes its calibrated parameters
from the posterior sample (:func:`replication_config`, a function of seed and replication).
:func:`process_pool` is the one way the package starts worker processes (replications here,
sweeps in :mod:`sim.sweep`, calibration in :mod:`sim.calibration.method`).
"""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.keys import set_path
from sim.metrics import kpis_for_replication, summarise_kpis, tables_for_replication
from sim.model import simulate
from sim.outputs import TABLES
from sim.params import Config
from sim.posterior import PosteriorSample
from sim.world import World

_WORLD: World | None = None
_CFG: Config | None = None


@dataclass
class ReplicationOutput:
    """Tables and key figures of one replication."""

    replication: int
    tables: dict[str, pd.DataFrame]
    kpis: dict[str, float]
    wall_s: float
    n_simpy_events: int


@dataclass
class Results:
    """All replications of one configuration.

    Attributes
    ----------
    tables : dict of DataFrame
        ``national``, ``by_state``, ``by_topic``, ``by_size_class``, ``events``, ``spending``;
        each with a ``replication`` column.
    kpis : DataFrame
        Key figures per replication.
    kpi_summary : DataFrame
        Key figures across replications (mean, median, 5-95 % range).
    wall_s : list of float
        Wall time of each replication (simulation + tables), in replication order.
    """

    tables: dict[str, pd.DataFrame]
    kpis: pd.DataFrame
    kpi_summary: pd.DataFrame
    wall_s: list[float] = field(default_factory=list)
    n_simpy_events: list[int] = field(default_factory=list)


def replication_config(cfg: Config, replication: int) -> Config:
    """The configuration replication ``replication`` runs: with ``calibrated_draws`` =
    ``posterior`` and a posterior sample, a copy with the keys of the particle drawn for
    (seed, replication) and no sample left (so its hash names the drawn values); else
    ``cfg`` itself."""
    if cfg.calibrated_draws != "posterior" or not isinstance(cfg.posterior, PosteriorSample):
        return cfg
    out = copy.deepcopy(dataclasses.replace(cfg, posterior=None))
    for key, value in cfg.posterior.draw(cfg.seed, replication).items():
        set_path(out, key, value)
    return out.validate()


def run_replication(world: World, cfg: Config, replication: int,
                    observables: bool = False) -> ReplicationOutput:
    """Simulate one replication (at its drawn calibrated parameters, :func:`replication_config`)
    and turn it into tables (with ``observables``: also the ``observables`` table a sweep's
    run record keeps)."""
    t0 = time.perf_counter()
    cfg = replication_config(cfg, replication)
    r = simulate(world, cfg, replication)
    tables = tables_for_replication(world, r, cfg.map_months, cfg.observation, observables)
    kpis = kpis_for_replication(tables["national"], tables["spending"], r.budgets,
                                r.commitments)
    return ReplicationOutput(replication, tables, kpis, time.perf_counter() - t0,
                             r.n_simpy_events)


def process_pool(workers: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, forked where the platform can (workers inherit the
    parent's memory, e.g. worlds built once before the pool starts), else spawned;
    ``initializer(*initargs)`` sets up each worker."""
    ctx = mp.get_context("fork" if can_fork() else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer,
                               initargs=initargs)


def can_fork() -> bool:
    """Whether worker processes are forked (and so inherit the parent's objects)."""
    return "fork" in mp.get_all_start_methods()


def _init_worker(world: World, cfg: Config) -> None:
    global _WORLD, _CFG
    _WORLD, _CFG = world, cfg


def _run_in_worker(replication: int) -> ReplicationOutput:
    assert _WORLD is not None and _CFG is not None
    return run_replication(_WORLD, _CFG, replication)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def run_replications(world: World, cfg: Config, workers: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> Results:
    """Run ``cfg.replications`` replications on ``workers`` processes (default: all cores).

    ``progress(done, total)`` is called after each finished replication.
    """
    n = cfg.replications
    workers = min(workers or cfg.workers or default_workers(), n)
    outs: list[ReplicationOutput] = []
    if workers <= 1:
        for i in range(n):
            outs.append(run_replication(world, cfg, i))
            if progress:
                progress(len(outs), n)
    else:
        with process_pool(workers, _init_worker, (world, cfg)) as pool:
            for out in pool.map(_run_in_worker, range(n)):
                outs.append(out)
                if progress:
                    progress(len(outs), n)
    outs.sort(key=lambda o: o.replication)
    tables = {name: pd.concat([o.tables[name] for o in outs], ignore_index=True)
              for name in TABLES}
    kpis = pd.DataFrame([{"replication": o.replication, **o.kpis} for o in outs])
    return Results(tables=tables, kpis=kpis, kpi_summary=summarise_kpis(kpis),
                   wall_s=[o.wall_s for o in outs],
                   n_simpy_events=[o.n_simpy_events for o in outs])
