"""The two engines that run replications: a local process pool and a Dask distributed
cluster, behind one interface (:class:`Engine`), chosen by the ``executor`` config group
(:class:`sim.executor.ExecutorParams`) and opened with :func:`open_engine`.

Every task is a seeded replication (or a batch of them), a function of its arguments, and
its result does not depend on where it runs; callers order what comes back by design point
and replication, so a sweep's tables are the same bytes on either engine and with any
number of workers.

What the tasks share (the worlds, every design point's config) goes to the workers once:
a forked local pool inherits it, a Dask cluster gets it scattered to every worker
(``Client.scatter(broadcast=True)``); a task carries only its indices. On Dask, tasks
are batches of runs sized so that each holds about :data:`TASK_TARGET_S` of estimated work
(the scheduler's few milliseconds per task are then well under 20 ms per run) and at most
:data:`TASKS_PER_WORKER` of them per worker are in flight, so results never pile up on the
cluster. A worker that dies (killed, out of memory) costs only its unfinished tasks: the
local engine restarts its pool (:func:`sim.pool.pool_starmap`), Dask reschedules them on
the other workers; a task whose workers die :data:`MAX_TASK_FAILURES` times ends the
command with :class:`sim.pool.WorkerLostError`.

Dask is an optional dependency (``pip install -e '.[dask]'``); asking for ``executor=dask``
without it gives one line saying how to install it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol, TypeVar

from sim.errors import ConfigError
from sim.executor import ExecutorParams
from sim.pool import WorkerLostError, default_workers, pool_starmap
from sim.provenance import code_version

try:  # optional: pip install -e '.[dask]'
    import dask
    import distributed
    from distributed import Client, LocalCluster, WorkerPlugin, as_completed
    from distributed.scheduler import KilledWorker
except ImportError:  # pragma: no cover - exercised by monkeypatching DASK_IMPORT_ERROR
    distributed = None  # type: ignore[assignment]
    WorkerPlugin = object  # type: ignore[assignment,misc]
    KilledWorker = WorkerLostError  # type: ignore[assignment,misc]

#: What a command catches when a task lost its workers too often: the local pool's
#: :class:`sim.pool.WorkerLostError` (sweeps and runs raise it for Dask too) and Dask's own
#: ``KilledWorker`` (out of pyabc's executor in a calibration).
WORKER_LOST = (WorkerLostError, KilledWorker)

log = logging.getLogger("ozg-sim")

R = TypeVar("R")

#: Estimated seconds of work a Dask task should carry: Dask's own cost is a few ms per
#: task (scheduling, moving the result), so a batch of this much work keeps it well under
#: the 20 ms per run the issue allows, while a full-Germany run (~0.5 s) is a task alone.
TASK_TARGET_S = 0.5
#: Batches per worker in flight on a Dask cluster: enough that no worker waits for the next
#: task, few enough that finished results do not pile up on the cluster or here.
TASKS_PER_WORKER = 4
#: Times a Dask task may lose its worker before the command gives up (Dask's
#: ``distributed.scheduler.allowed-failures``; its default).
MAX_TASK_FAILURES = 3
#: glibc's ``mallopt`` parameters (``<malloc.h>``) and the values a worker sets: arrays up
#: to 32 MiB come from the heap, which is trimmed only above 128 MiB free. Dask's nanny
#: starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's mmap
#: threshold at 128 KiB: every NumPy array above it is then mapped and unmapped again, and a
#: full-Germany replication took 10-15 % longer on a worker than in the local pool
#: (BENCHMARKS.md, 5 Dec 2026). 32 MiB is glibc's own dynamic ceiling on 64-bit systems.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
WORKER_TRIM_THRESHOLD = 128 * 1024 * 1024
WORKER_MMAP_THRESHOLD = 32 * 1024 * 1024
#: What the one-line error says when Dask is missing.
INSTALL_HINT = "pip install -e '.[dask]' (or pip install 'ozg-sim[dask]')"


def dask_available() -> bool:
    """Whether Dask distributed can be imported here."""
    return distributed is not None


class Engine(Protocol):
    """Runs tasks and hands back their results as they finish."""

    #: ``local`` or ``dask``.
    name: str
    #: Tasks it runs at once (processes of the pool; threads of the cluster's workers).
    workers: int

    def map_unordered(self, fn: Callable[..., R], items: Sequence[tuple[Any, ...]],
                      shared: Any = None, cost_s: float | None = None
                      ) -> Iterator[tuple[int, R]]:
        """``(i, fn(shared, *items[i]))`` for every item, in the order they finish.
        ``shared`` goes to each worker once; ``cost_s`` is the estimated seconds of one item
        (sizes Dask's batches, never a result)."""
        ...

    def describe(self) -> str:
        """One phrase for the log: where the tasks run."""
        ...


# --------------------------------------------------------------------------- local

_SHARED: Any = None


def _set_shared(shared: Any) -> None:
    global _SHARED
    _SHARED = shared


def _call_shared(fn: Callable[..., R], *item: Any) -> R:
    return fn(_SHARED, *item)


class LocalEngine:
    """A process pool on this machine (:func:`sim.pool.pool_starmap`), or this process
    alone for one worker."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or default_workers())

    def map_unordered(self, fn: Callable[..., R], items: Sequence[tuple[Any, ...]],
                      shared: Any = None, cost_s: float | None = None
                      ) -> Iterator[tuple[int, R]]:
        workers = min(self.workers, len(items))
        if workers <= 1:
            for i, item in enumerate(items):
                yield i, fn(shared, *item)
            return
        yield from pool_starmap(_call_shared, [(fn, *item) for item in items], workers,
                                _set_shared, (shared,))

    def describe(self) -> str:
        return f"{self.workers} local worker process(es)"


# --------------------------------------------------------------------------- dask


def _run_batch(fn: Callable[..., R], shared: Any,
               batch: list[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, R]]:
    """A Dask task: the items of one batch, one after the other, on a worker."""
    return [(i, fn(shared, *item)) for i, item in batch]


def _worker_code_version() -> str:
    return code_version()


def tune_malloc() -> bool:
    """Give this process glibc's large-array allocation back (see :data:`M_MMAP_THRESHOLD`);
    whether it could (not on other C libraries)."""
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_TRIM_THRESHOLD, WORKER_TRIM_THRESHOLD)
                    and libc.mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD))
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False


class MallocPlugin(WorkerPlugin):  # type: ignore[misc]
    """Runs :func:`tune_malloc` on every worker of the cluster, those that join later (a
    restarted worker) included."""

    name = "ozg-sim-malloc"

    def setup(self, worker: Any) -> None:
        tune_malloc()


class DaskEngine:
    """A Dask distributed client, to a running cluster or to a ``LocalCluster`` it starts.

    Parameters
    ----------
    client : distributed.Client
    params : ExecutorParams
    """

    name = "dask"

    def __init__(self, client: Any, params: ExecutorParams) -> None:
        self.client, self.params = client, params
        self.workers = max(1, sum(client.nthreads().values()))

    def runs_per_task(self, n_items: int, cost_s: float | None) -> int:
        """Items per task: ``executor.runs_per_task`` if set, else enough for
        :data:`TASK_TARGET_S` of work but no fewer than :data:`TASKS_PER_WORKER` tasks per
        worker."""
        if self.params.runs_per_task is not None:
            return int(self.params.runs_per_task)
        by_cost = math.ceil(TASK_TARGET_S / cost_s) if cost_s and cost_s > 0 else 1
        balance = math.ceil(n_items / (self.workers * TASKS_PER_WORKER))
        return max(1, min(by_cost, balance))

    def map_unordered(self, fn: Callable[..., R], items: Sequence[tuple[Any, ...]],
                      shared: Any = None, cost_s: float | None = None
                      ) -> Iterator[tuple[int, R]]:
        if not items:
            return
        size = self.runs_per_task(len(items), cost_s)
        batches = iter([[(i, items[i]) for i in range(a, min(a + size, len(items)))]
                        for a in range(0, len(items), size)])
        # a list of one: Dask would scatter a tuple or dict element by element
        shared_f = self.client.scatter([shared], broadcast=True, hash=False)[0]
        pending = as_completed()

        def submit(n: int) -> None:
            for batch in [b for _k, b in zip(range(n), batches, strict=False)]:
                pending.add(self.client.submit(_run_batch, fn, shared_f, batch, pure=False))

        submit(self.workers * TASKS_PER_WORKER)
        try:
            for fut in pending:
                try:
                    results = fut.result()
                except KilledWorker as exc:
                    raise WorkerLostError(
                        f"a task lost its Dask worker {MAX_TASK_FAILURES} times (Dask's "
                        f"allowed-failures); the sweep stops ({exc})") from exc
                fut.release()
                yield from results
                submit(1)
        finally:
            for fut in list(pending.futures):
                fut.cancel()
            shared_f.release()

    def describe(self) -> str:
        where = self.params.cluster or "a local Dask cluster"
        return f"{self.workers} Dask worker thread(s) of {where}"


def _check_workers(client: Any, timeout_s: float, where: str) -> None:
    """At least one worker, every one on this machine's version of the code."""
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (TimeoutError, OSError) as exc:
        raise ConfigError(f"executor: the Dask cluster at {where} has no worker after "
                          f"{timeout_s:g} s; start some with: dask worker {where} "
                          "--nthreads 1") from exc
    mine = code_version()
    versions = client.run(_worker_code_version)
    other = {w: v for w, v in versions.items() if v != mine}
    if other:
        worker, version = sorted(other.items())[0]
        raise ConfigError(f"executor: Dask worker {worker} runs ozg-sim code {version}, this "
                          f"machine {mine}: install the same version of ozg-sim on every "
                          "worker (results would differ)")


def _connect(params: ExecutorParams, workers: int | None, stack: ExitStack) -> Any:
    """A client of the cluster ``params`` names, or of a new ``LocalCluster``."""
    timeout = f"{params.connect_timeout_s:g}s"
    if params.cluster is None:
        n = max(1, workers or default_workers())
        dashboard = ":0" if importlib.util.find_spec("bokeh") is not None else None
        cluster = stack.enter_context(LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=dashboard,
            silence_logs=logging.ERROR))
        return stack.enter_context(Client(cluster, timeout=timeout))
    key, value = (("executor.address", params.address) if params.address else
                  ("executor.scheduler_file", params.scheduler_file))
    try:
        if params.address:
            client = Client(params.address, timeout=timeout)
        else:
            client = Client(scheduler_file=params.scheduler_file, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ConfigError(f"{key}={value!r} is not allowed: no Dask scheduler answers there "
                          f"within {params.connect_timeout_s:g} s ({first})") from exc
    return stack.enter_context(client)


@contextmanager
def open_engine(params: ExecutorParams, workers: int | None = None) -> Iterator[Engine]:
    """The engine ``params`` asks for, open for the ``with`` block and shut down after it
    (a ``LocalCluster`` it started is closed; an existing cluster is left running).

    ``workers`` is the local pool's size, or the ``LocalCluster``'s worker processes
    (default: all cores); an existing cluster has the workers it has.

    Raises
    ------
    ConfigError
        Dask asked for but not installed, no scheduler at the address, no worker, or a
        worker with other code (one line each).
    """
    if params.name == "local":
        yield LocalEngine(workers)
        return
    if not dask_available():
        raise ConfigError(f"executor=dask is not allowed: Dask distributed is not installed; "
                          f"{INSTALL_HINT}")
    with ExitStack() as stack, dask.config.set(
            {"distributed.scheduler.allowed-failures": MAX_TASK_FAILURES}):
        client = _connect(params, workers, stack)
        _check_workers(client, params.connect_timeout_s, params.cluster or "a LocalCluster")
        client.register_plugin(MallocPlugin())
        engine = DaskEngine(client, params)
        log.info("running on %s", engine.describe())
        link = client.dashboard_link if client.scheduler_info().get("services", {}).get(
            "dashboard") else None
        if link:
            log.info("Dask dashboard: %s", link)
        yield engine


__all__ = [
    "MAX_TASK_FAILURES",
    "TASKS_PER_WORKER",
    "TASK_TARGET_S",
    "DaskEngine",
    "Engine",
    "LocalEngine",
    "dask_available",
    "open_engine",
]
