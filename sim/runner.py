"""Run replications, on an engine (:mod:`sim.engines`: a local process pool or a Dask
cluster), and collect their tables.

Each replication is independent and seeded by (seed, replication, stream), so results are
identical whatever the engine and the number of workers; tables are concatenated in
replication order. With ``calibrated_draws=posterior`` each replication first takes its
calibrated parameters from the posterior sample (:func:`replication_config`, a function of
seed and replication).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sim.engines import Engine, LocalEngine
from sim.keys import set_path
from sim.metrics import kpis_for_replication, summarise_kpis, tables_for_replication
from sim.model import simulate
from sim.outputs import TABLES
from sim.params import Config
from sim.posterior import PosteriorSample
from sim.world import World


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
                    observables: bool = False,
                    names: Sequence[str] | None = None) -> ReplicationOutput:
    """Simulate one replication (at its drawn calibrated parameters, :func:`replication_config`)
    and turn it into tables (with ``observables``: also the ``observables`` table a sweep's
    run record keeps; with ``names``: only those tables, which must include ``national``
    and ``spending``, the key figures' sources)."""
    t0 = time.perf_counter()
    cfg = replication_config(cfg, replication)
    r = simulate(world, cfg, replication)
    tables = tables_for_replication(world, r, cfg.map_months, cfg.observation, observables,
                                    names)
    kpis = kpis_for_replication(tables["national"], tables["spending"], r.budgets,
                                r.commitments)
    return ReplicationOutput(replication, tables, kpis, time.perf_counter() - t0,
                             r.n_simpy_events)


def _replication_task(shared: tuple[World, Config], replication: int) -> ReplicationOutput:
    """One replication on a worker; the world and config come once per worker."""
    world, cfg = shared
    return run_replication(world, cfg, replication)


def run_replications(world: World, cfg: Config, workers: int | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     engine: Engine | None = None) -> Results:
    """Run ``cfg.replications`` replications on ``engine`` (default: a local pool of
    ``workers`` processes, all cores if ``None``); the results depend on neither.

    ``progress(done, total)`` is called after each finished replication.
    """
    n = cfg.replications
    engine = engine or LocalEngine(workers or cfg.workers)
    outs: list[ReplicationOutput] = []
    for _i, out in engine.map_unordered(_replication_task, [(i,) for i in range(n)],
                                        (world, cfg), cfg.estimated_cost_s() / n):
        outs.append(out)
        if progress:
            progress(len(outs), n)
    return collect(outs)


def collect(outs: list[ReplicationOutput], names: tuple[str, ...] = TABLES) -> Results:
    """The :class:`Results` of replications (in any order): the tables ``names``
    concatenated in replication order, the key figures per replication and across them."""
    outs = sorted(outs, key=lambda o: o.replication)
    tables = {name: pd.concat([o.tables[name] for o in outs], ignore_index=True)
              for name in names}
    kpis = pd.DataFrame([{"replication": o.replication, **o.kpis} for o in outs])
    return Results(tables=tables, kpis=kpis, kpi_summary=summarise_kpis(kpis),
                   wall_s=[o.wall_s for o in outs],
                   n_simpy_events=[o.n_simpy_events for o in outs])
