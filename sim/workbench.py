"""The engine behind the what-if workbench (``ozg-sim-app``): a pool of worker processes
that lives as long as the app, the replications it has run kept in memory, and figures
drawn in the same workers.

- **Same numbers as ``ozg-sim``.** A replication is :func:`sim.runner.run_replication` of
  the scenario's configuration (:func:`sim.whatif.scenario_config`), assembled by
  :func:`sim.runner.collect` as ``ozg-sim`` assembles it; only the tables the workbench
  shows are kept (:data:`APP_TABLES`).
- **Cache per configuration.** Finished replications are kept per (configuration hash,
  replication), at most :data:`CACHE_REPLICATIONS` of them, least recently used first out:
  the baseline is computed once for every tab, going from 10 to 20 replications runs only
  the 10 new ones, and going back to a scenario shown before is immediate.
- **One run per request, shared.** Two tabs asking for the same replication at once wait
  for the same task (:meth:`Workbench.run` is thread-safe).
- **Never blocking the app.** Workers are spawned processes (not forked from the app's
  threads); each builds a world once and keeps it, and dies with the app however the app
  ends (:func:`sim.pool.spawned_pool`). The app
  calls :meth:`Workbench.run` from a thread of its own and polls a :class:`RunProgress`.
- **Figures in the workers.** Matplotlib is not thread-safe and a 16-Land figure takes a
  second to draw, so figures are drawn in the pool, several at once
  (:meth:`Workbench.draw`).

A worker that dies (killed, out of memory) breaks the pool: the run ends with
:class:`sim.pool.WorkerLostError` and the next run starts a new pool.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.pyplot as plt

from sim.params import Config, WorldParams
from sim.pool import WorkerLostError, default_workers, spawned_pool
from sim.provenance import config_hash
from sim.runner import ReplicationOutput, Results, collect, run_replication
from sim.world import World, build_world

log = logging.getLogger("ozg-sim")

#: Tables of a replication the workbench computes (the others, e.g. the event log, are not
#: made): coverage over time nationally and per Land, and the spending the key figures and
#: exports read.
APP_TABLES = ("national", "by_state", "spending")
#: Replications kept in memory: about 0.2 MB each at full scale (the three tables), so
#: about 0.3 GB at most; 120 full-Germany scenarios of 10 replications.
CACHE_REPLICATIONS = 1200
#: Seconds between two looks at the progress of a run (the app's poll interval).
POLL_S = 0.1

_WORLDS: dict[str, World] = {}


def _world(params: WorldParams) -> World:
    """The world of ``params``, built once per worker process."""
    key = repr(params)
    if key not in _WORLDS:
        _WORLDS[key] = build_world(params)
    return _WORLDS[key]


def _warm(params: WorldParams, pause_s: float) -> int:
    """Build the world in this worker (and hold it a moment, so each worker gets one)."""
    _world(params)
    time.sleep(pause_s)
    return len(_WORLDS)


def _run_task(cfg: Config, replication: int) -> ReplicationOutput:
    """One replication, as ``ozg-sim`` runs it, with only :data:`APP_TABLES` made."""
    return run_replication(_world(cfg.world), cfg, replication, names=APP_TABLES)


def _draw_task(draw: Callable[..., tuple[Any, Any]], args: tuple[Any, ...],
               width_px: float) -> bytes:
    """PNG bytes of the figure ``draw(*args)`` returns (its first value), ``width_px``
    pixels wide (so that it is shown sharp at that width)."""
    matplotlib.use("agg")
    fig, _data = draw(*args)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=width_px / fig.get_figwidth())
    plt.close(fig)
    return buffer.getvalue()


@dataclass
class RunProgress:
    """What a run has done so far, read by the app while the run goes on (its fields are
    written by one thread and read by another; each is one assignment)."""

    total: int = 0
    done: int = 0
    cached: int = 0
    phase: str = "waiting"


class Workbench:
    """Runs scenarios and draws figures on a pool of ``workers`` processes (all cores if
    ``None``); thread-safe."""

    def __init__(self, workers: int | None = None,
                 cache_replications: int = CACHE_REPLICATIONS) -> None:
        self.workers = workers or default_workers()
        self.cache_replications = cache_replications
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int], ReplicationOutput] = OrderedDict()
        self._running: dict[tuple[str, int], Future[ReplicationOutput]] = {}
        self._pool: ProcessPoolExecutor | None = None

    # ------------------------------------------------------------------ pool

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = spawned_pool(self.workers)
            return self._pool

    def _broken(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._running.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def warm(self, world: WorldParams) -> None:
        """Start the workers and build ``world`` in each (blocks until done)."""
        pool = self._executor()
        for f in [pool.submit(_warm, world, 0.2) for _ in range(self.workers)]:
            f.result()

    def close(self) -> None:
        """Stop the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ runs

    def _remember(self, key: tuple[str, int], fut: Future[ReplicationOutput]) -> None:
        with self._lock:
            if self._running.get(key) is fut:
                del self._running[key]
            if fut.cancelled() or fut.exception() is not None:
                return
            self._cache[key] = fut.result()
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_replications:
                self._cache.popitem(last=False)

    def run(self, cfg: Config, progress: RunProgress | None = None) -> Results:
        """The results of ``cfg`` (its :data:`APP_TABLES`, key figures per replication and
        across them), from the cache where it has them; blocks, so call it from a thread.

        Raises
        ------
        WorkerLostError
            If a worker process died (the next run starts a new pool).
        """
        progress = progress or RunProgress()
        h = config_hash(cfg)
        n = cfg.replications
        progress.total, progress.phase = n, "running"
        outs: list[ReplicationOutput] = []
        waiting: list[Future[ReplicationOutput]] = []
        pool = self._executor()
        with self._lock:
            for r in range(n):
                key = (h, r)
                if key in self._cache:
                    self._cache.move_to_end(key)
                    outs.append(self._cache[key])
                    continue
                fut = self._running.get(key)
                if fut is None:
                    try:
                        fut = pool.submit(_run_task, cfg, r)
                    except BrokenProcessPool:
                        fut = None
                    if fut is None:
                        break
                    self._running[key] = fut
                    fut.add_done_callback(lambda f, k=key: self._remember(k, f))
                waiting.append(fut)
        if len(outs) + len(waiting) < n:
            self._broken()
            raise WorkerLostError("a worker process of the workbench died; run again")
        progress.cached = progress.done = len(outs)
        try:
            for fut in as_completed(waiting):
                outs.append(fut.result())
                progress.done += 1
        except BrokenProcessPool as exc:
            self._broken()
            raise WorkerLostError("a worker process of the workbench died (killed or out "
                                  "of memory); run again") from exc
        progress.phase = "done"
        return collect(outs, APP_TABLES)

    # ------------------------------------------------------------------ figures

    def map(self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``[fn(*args) for args in calls]``, computed in the workers at once (``fn`` a
        module-level function); blocks."""
        pool = self._executor()
        try:
            return [f.result() for f in [pool.submit(fn, *args) for args in calls]]
        except BrokenProcessPool as exc:
            self._broken()
            raise WorkerLostError("a worker process of the workbench died; run again") from exc

    def draw(self, jobs: Sequence[tuple[str, Callable[..., tuple[Any, Any]], tuple[Any, ...],
                                       float]]) -> Iterator[tuple[str, bytes]]:
        """``(name, PNG bytes)`` of each job ``(name, draw, args, width_px)`` as it is
        drawn, in the workers (``draw(*args)`` returns a figure and its data, as the figure
        functions of :mod:`sim.figures.charts` do; it must be a module-level function; the
        PNG is ``width_px`` wide). The jobs are submitted at once, in their order, before
        this returns."""
        pool = self._executor()
        try:
            futures = {pool.submit(_draw_task, fn, args, px): name
                       for name, fn, args, px in jobs}
        except BrokenProcessPool as exc:
            self._broken()
            raise WorkerLostError("a worker process of the workbench died; run again") from exc
        return self._drawn(futures)

    def _drawn(self, futures: dict[Future[bytes], str]) -> Iterator[tuple[str, bytes]]:
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BrokenProcessPool as exc:
            self._broken()
            raise WorkerLostError("a worker process of the workbench died while drawing; "
                                  "run again") from exc
