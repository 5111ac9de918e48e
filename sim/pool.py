"""The local process pool: the one way the package starts worker processes (the local
engine of :mod:`sim.engines`, the calibration's pool in :mod:`sim.calibration.method`).

Its workers die with the process that started them (:func:`_die_with_parent`), so a killed
run leaves no orphans. :func:`pool_starmap` runs tasks in such a pool and replaces a pool
whose worker was killed (the OOM killer, an operator), resubmitting only the unfinished
tasks.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger("ozg-sim")

R = TypeVar("R")

#: Seconds between a worker's checks that the process which started it is alive. Where the
#: kernel kills a worker with its parent (Linux, ``PR_SET_PDEATHSIG``) this is only the
#: fallback; elsewhere a worker outlives a killed parent by at most this long. One second
#: costs nothing (a sleeping thread) and is well inside the "a few seconds" an operator waits.
PARENT_POLL_S = 1.0
#: ``prctl`` option that asks the Linux kernel for a signal when the parent dies
#: (``<linux/prctl.h>``).
_PR_SET_PDEATHSIG = 1
#: Exit status of a worker that ends because its parent is gone (nobody reads it; it only
#: must not be 0, which would look like a clean shutdown in a process listing's history).
_ORPHAN_EXIT = 1
#: How many times :func:`pool_starmap` replaces a pool whose worker died before giving up. A
#: worker killed once (the OOM killer on a busy machine, an operator) is bad luck and the
#: pool is restarted; one killed again and again points at a task that kills its worker
#: (e.g. runs out of memory), which restarts would repeat forever.
MAX_POOL_RESTARTS = 3
#: Tasks :func:`pool_starmap` keeps submitted per worker: enough that no worker waits for the
#: next task, few enough that results of a long sweep do not pile up in memory.
TASKS_PER_WORKER = 4


class WorkerLostError(RuntimeError):
    """A worker process of the pool died more often than :data:`MAX_POOL_RESTARTS` allows;
    the message says how often and how many tasks were left unfinished."""


def process_pool(workers: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, forked where the platform can (workers inherit the
    parent's memory, e.g. worlds built once before the pool starts), else spawned;
    ``initializer(*initargs)`` sets up each worker.

    Every worker dies with this process, however it ends (even by SIGKILL, which runs no
    cleanup): see :func:`_die_with_parent`. Without this, workers of a killed run block
    on their task queue forever, re-parented to init, each holding a copy of the world.
    """
    ctx = mp.get_context("fork" if can_fork() else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                               initializer=_init_pool_worker,
                               initargs=(os.getpid(), initializer, initargs))


def spawned_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (fresh interpreters, nothing inherited: safe
    to start from a process with threads running, such as a web server), each dying with
    this process however it ends (:func:`_init_spawned_worker`). The what-if workbench's."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_init_spawned_worker, initargs=(os.getpid(),))


def _init_spawned_worker(parent_pid: int) -> None:
    """Initializer of a :func:`spawned_pool` worker: Ctrl-C is the parent's, and a daemon
    thread ends the worker within :data:`PARENT_POLL_S` of the parent's end. Not the
    kernel's ``PR_SET_PDEATHSIG`` of :func:`_die_with_parent`: a spawned pool starts its
    workers on demand from whichever thread submits, and the kernel would end a worker
    with the *thread* that started it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent_pid:
        os._exit(_ORPHAN_EXIT)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="ozg-sim-watch-parent",
                     daemon=True).start()


def _init_pool_worker(parent_pid: int, initializer: Callable[..., None] | None,
                      initargs: tuple[Any, ...]) -> None:
    """Initializer of every pool worker: tie its life to the parent's, then run the
    caller's own initializer. Ctrl-C is the parent's to handle (it ends the workers,
    :func:`_map_once`): a worker that took it too would print a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def _die_with_parent(parent_pid: int) -> None:
    """End this worker when process ``parent_pid`` ends, as loky's and Dask's workers do.

    On Linux the kernel sends SIGKILL at once (``prctl(PR_SET_PDEATHSIG)``). Everywhere a
    daemon thread checks every :data:`PARENT_POLL_S` seconds that the parent is still this
    process's parent and ends the worker with ``os._exit`` (no cleanup that could block on
    the dead parent's queues) when it is not. A parent that died before this ran is caught
    by the first check, here. Linux counts the *thread* that started a worker as its parent:
    a forked pool starts its workers at the first ``submit``, so that must come from a
    thread that lives as long as the pool (every caller in the package submits from the
    thread that made the pool).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass  # the watching thread still ends the worker
    if os.getppid() != parent_pid:
        os._exit(_ORPHAN_EXIT)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="ozg-sim-watch-parent",
                     daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent_pid:  # re-parented: the parent is gone
            os._exit(_ORPHAN_EXIT)


def pool_starmap(fn: Callable[..., R], items: Sequence[tuple[Any, ...]], workers: int,
                 initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = (),
                 max_restarts: int = MAX_POOL_RESTARTS) -> Iterator[tuple[int, R]]:
    """``(i, fn(*items[i]))`` for every tuple of arguments, in the order they finish, on a
    :func:`process_pool` of ``workers`` (``fn`` and the arguments must pickle).

    At most :data:`TASKS_PER_WORKER` tasks per worker are submitted at a time. If a worker
    dies (the pool is then broken and every task in flight lost), the results already
    finished are kept, a new pool is started and only the unfinished items are submitted
    again, at most ``max_restarts`` times; then :class:`WorkerLostError`. Results do not
    depend on restarts as long as ``fn`` is a function of its arguments (every task here is
    one seeded replication). An exception raised by ``fn`` itself propagates.

    Not covered: a worker killed in the instant it sends a result larger than a pipe's
    atomic write (4 KiB; a run's tables are larger) leaves half a message in the pipe, and
    CPython's executor (3.11) then waits for the rest instead of reporting a broken pool.
    A worker killed while it computes (where the out-of-memory killer strikes) is covered.
    """
    left = dict(enumerate(items))
    restarts = 0
    while left:
        try:
            yield from _map_once(fn, left, workers, initializer, initargs)
        except BrokenProcessPool as exc:
            restarts += 1
            if restarts > max_restarts:
                raise WorkerLostError(
                    f"a worker process died {restarts} times (allowed: {max_restarts} "
                    f"restarts of the pool); {len(left)} of {len(items)} tasks unfinished "
                    f"({exc})") from exc
            log.warning("a worker process died; restarting the pool (%d of %d) for the %d "
                        "unfinished of %d tasks", restarts, max_restarts, len(left),
                        len(items))


def _map_once(fn: Callable[..., R], left: dict[int, tuple[Any, ...]], workers: int,
              initializer: Callable[..., None] | None,
              initargs: tuple[Any, ...]) -> Iterator[tuple[int, R]]:
    """One pool's share of :func:`pool_starmap`: runs the items of ``left`` and deletes each
    from it as its result is yielded; raises ``BrokenProcessPool`` (after yielding every
    result that finished) if a worker dies."""
    pool = process_pool(workers, initializer, initargs)
    interrupted = False
    try:
        todo = iter(list(left.items()))
        pending: dict[Future[R], int] = {}

        def submit(n: int) -> None:
            for i, item in itertools.islice(todo, n):
                pending[pool.submit(fn, *item)] = i

        submit(workers * TASKS_PER_WORKER)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken: BrokenProcessPool | None = None
            for fut in sorted(done, key=pending.__getitem__):
                i = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool as exc:
                    broken = exc
                    continue
                del left[i]
                yield i, result
            if broken is not None:
                raise broken
            submit(len(done))
    except KeyboardInterrupt:
        # Ctrl-C: end the tasks in flight instead of waiting for them (no public API for
        # this), and do not join the pool's threads: one may wait forever for the rest of a
        # result its killed worker was sending (see pool_starmap). The command ends the
        # process (sim.cli.common.interrupted).
        interrupted = True
        for proc in list((pool._processes or {}).values()):
            proc.terminate()
        raise
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)


def can_fork() -> bool:
    """Whether worker processes are forked (and so inherit the parent's objects)."""
    return "fork" in mp.get_all_start_methods()


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
