"""Faults from outside: a run killed with SIGKILL, a worker process killed mid-sweep.

- The workers of a killed run die with it (no orphans re-parented to init).
- An ``ozg-sim-experiment`` sweep killed early, in the middle and late resumes from its run
  cache to output tables equal to those of an uninterrupted sweep.
- A worker killed mid-sweep (or mid-replications) while it computes costs only its
  unfinished runs: the pool is restarted and the results equal an uninterrupted run; a task
  that kills its worker every time ends in one clear error after a bounded number of
  restarts.

Slow (about a minute): real subprocesses, signals and process pools.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest

from sim import runner as runner_module
from sim.outputs import read_folder
from sim.pool import MAX_POOL_RESTARTS, WorkerLostError, pool_starmap
from sim.runner import run_replications
from sim.sweep import (
    RunRecord,
    assemble,
    execute_run,
    expand_design,
    load_spec,
    make_sweep,
    run_sweep,
)
from sim.world import World

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork are POSIX"),
]

#: Seconds a worker may outlive its killed parent: the parent watch polls every second
#: (sim.pool.PARENT_POLL_S); on Linux the kernel kills it at once.
ORPHAN_GRACE_S = 5.0
#: Upper bound on waiting for a subprocess to reach a state (imports, worlds, runs): far
#: above the seconds it takes, so only a hang trips it.
STARTUP_TIMEOUT_S = 120.0
POLL_S = 0.05

#: A small sweep: the staffing grid (2 strategies x 5 x 5 staff factors) on the toy world.
EXPERIMENT = "staffing_sweep"
REPLICATIONS = 2
SEED = 3
OVERRIDES = ["world=toy"]
#: Where the sweep is killed, as shares of its runs in the cache: early, middle, late.
KILL_AT = (0.1, 0.5, 0.9)
#: Columns of the ``runs`` table that depend on how a run was obtained, not on its result.
VOLATILE = ["wall_s", "cached"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env["PYTHONHASHSEED"] = "0"
    return env


def _wait_for(cond: Callable[[], bool], what: str, proc: subprocess.Popen[bytes] | None = None,
              stderr: Path | None = None, timeout: float = STARTUP_TIMEOUT_S) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            tail = stderr.read_text()[-2000:] if stderr is not None else ""
            pytest.fail(f"the command ended (exit {proc.returncode}) before {what}:\n{tail}")
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Processes still running (a zombie has exited; only nobody has reaped it yet)."""
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _workers(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_and_check_no_orphans(proc: subprocess.Popen[bytes],
                               workers: list[psutil.Process]) -> None:
    """SIGKILL ``proc`` (no cleanup runs) and assert that none of its ``workers`` (and no
    child it has now) outlives it by more than the grace."""
    workers = list({p.pid: p for p in [*workers, *_workers(proc.pid)]}.values())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + ORPHAN_GRACE_S
    while _alive(workers) and time.monotonic() < end:
        time.sleep(POLL_S)
    left = _alive(workers)
    for p in left:  # do not leave them to the next test
        p.kill()
    assert not left, f"{len(left)} worker(s) outlived the killed parent by {ORPHAN_GRACE_S} s"


# --------------------------------------------------------------------------- no orphans


def test_workers_of_a_killed_run_die_with_it(tmp_path) -> None:
    # Many replications, so the pool is busy when the parent is killed.
    cmd = [sys.executable, "-m", "sim", *OVERRIDES, "replications=400", "workers=2",
           f"hydra.run.dir={tmp_path / 'run'}"]
    with open(tmp_path / "stderr", "wb") as err:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err,
                                env=_env())
        try:
            _wait_for(lambda: len(_workers(proc.pid)) >= 2, "the workers start", proc,
                      tmp_path / "stderr")
            _kill_and_check_no_orphans(proc, _workers(proc.pid))
        finally:
            if proc.poll() is None:
                proc.kill()


# --------------------------------------------------------------------------- kill and resume


def _n_runs() -> int:
    spec = load_spec(EXPERIMENT)
    return len(expand_design(dict(spec["design"]), SEED)) * REPLICATIONS


def _cache_entries(cache: Path) -> int:
    """Complete entries in the run cache (a temporary folder being written is not one).
    ``os.walk`` skips what vanishes while it looks (temporary folders renamed into place)."""
    return sum(1 for folder, _dirs, files in os.walk(cache)
               if "record.json" in files and ".tmp" not in os.path.basename(folder))


def _reference_tables(tmp_path: Path) -> dict[str, pd.DataFrame]:
    """The sweep's tables uninterrupted, in this process, through a Parquet round trip."""
    spec = load_spec(EXPERIMENT)
    sweep = make_sweep(spec["name"], dict(spec["design"]),
                       [*map(str, spec.get("base") or []), *OVERRIDES], REPLICATIONS, SEED)
    tables = assemble(sweep, run_sweep(sweep, workers=1, cache_dir=None))
    out = {}
    for name, df in tables.items():
        df.to_parquet(tmp_path / f"ref-{name}.parquet", index=False)
        out[name] = pd.read_parquet(tmp_path / f"ref-{name}.parquet")
    return out


def test_a_sweep_killed_early_middle_and_late_resumes_to_the_same_tables(tmp_path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    cmd = [sys.executable, "-m", "sim.cli.experiment", EXPERIMENT, *OVERRIDES,
           f"replications={REPLICATIONS}", f"seed={SEED}", "workers=2", f"cache={cache}",
           f"out={out}"]
    n_runs = _n_runs()
    for k, share in enumerate(KILL_AT):
        log = tmp_path / f"stderr-{k}"
        with open(log, "wb") as err:
            proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err,
                                    env=_env())
            try:
                # The pool's workers, caught while they run (the pool ends with the runs,
                # before the figures, and a late kill may come after that).
                _wait_for(lambda p=proc: len(_workers(p.pid)) >= 2, "the workers", proc, log)
                workers = _workers(proc.pid)
                _wait_for(lambda s=share: _cache_entries(cache) >= s * n_runs,
                          f"{share:.0%} of the runs in the cache", proc, log)
                _kill_and_check_no_orphans(proc, workers)
            finally:
                if proc.poll() is None:
                    proc.kill()
    done_before = _cache_entries(cache)
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=_env(),
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    folders = [p for p in (out / EXPERIMENT).iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1, "a killed sweep left an output folder"
    _man, tables = read_folder(folders[0])  # files and datasets (sim/store.py)
    got = {name: tables[name] for name in tables}
    ref = _reference_tables(tmp_path)
    assert sorted(got) == sorted(ref)
    for name in ref:
        a, b = got[name], ref[name]
        if name == "runs":
            assert int(a["cached"].sum()) >= done_before, "the resumed sweep recomputed runs"
            a, b = a.drop(columns=VOLATILE), b.drop(columns=VOLATILE)
        pd.testing.assert_frame_equal(a, b, obj=name)


# --------------------------------------------------------------------------- killed worker


#: The task whose worker is killed, once, in the killed-worker tests: (point, replication)
#: of a sweep, or a replication. Set before the pool forks, so its workers inherit it.
_DOOMED: dict[str, Any] = {}


def _die_once_in_a_worker(task: Any) -> None:
    """SIGKILL this worker if it runs the doomed task for the first time. The worker dies
    while it computes, as under the out-of-memory killer. (A worker killed while it sends
    its result through the pool's pipe can hang CPython's ProcessPoolExecutor itself: the
    manager thread waits for the rest of the message; that case is not tested.)"""
    if (os.getpid() != _DOOMED["parent"] and task == _DOOMED["task"]
            and not _DOOMED["marker"].exists()):
        _DOOMED["marker"].touch()
        os.kill(os.getpid(), signal.SIGKILL)


def _doom(task: Any, marker: Path) -> None:
    _DOOMED.update(parent=os.getpid(), task=task, marker=marker)


def _execute_or_die(point: int, replication: int, cfg: Any, key: str,
                    cache_dir: Path | None) -> RunRecord:
    _die_once_in_a_worker((point, replication))
    return execute_run(point, replication, cfg, key, cache_dir)


def test_a_killed_worker_costs_only_its_runs(tmp_path, caplog) -> None:
    sweep = make_sweep("killed_worker", {"grid": {"strategy": ["efa", "efv"]}}, OVERRIDES,
                       replications=6, seed=SEED)
    ref = run_sweep(sweep, workers=1)
    _doom((1, 2), tmp_path / "killed")
    with caplog.at_level("WARNING", logger="ozg-sim"):
        got = run_sweep(sweep, workers=2, cache_dir=tmp_path / "cache",
                        runner=_execute_or_die)
    assert (tmp_path / "killed").exists(), "no worker was killed"
    assert "restarting the pool" in caplog.text
    assert [(r.point, r.replication, r.status) for r in got] == \
        [(r.point, r.replication, "ok") for r in ref]
    for a, b in zip(got, ref, strict=True):
        pd.testing.assert_series_equal(pd.Series(a.kpis), pd.Series(b.kpis))
        for name in b.tables:
            pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_a_killed_worker_of_replications_is_replaced(toy_world: World, config, tmp_path,
                                                      monkeypatch) -> None:
    cfg = config("world=toy", replications=8)
    ref = run_replications(toy_world, cfg, workers=1)
    run_one = runner_module.run_replication

    def run_or_die(world: World, cfg: Any, replication: int, *args: Any) -> Any:
        _die_once_in_a_worker(replication)
        return run_one(world, cfg, replication, *args)

    _doom(5, tmp_path / "killed")
    monkeypatch.setattr(runner_module, "run_replication", run_or_die)  # forked workers see it
    got = run_replications(toy_world, cfg, workers=2)
    assert (tmp_path / "killed").exists(), "no worker was killed"
    for name, df in ref.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], df, obj=name)
    pd.testing.assert_frame_equal(got.kpis, ref.kpis)


def _kill_own_worker(i: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return i


def test_a_task_that_always_kills_its_worker_ends_in_one_error() -> None:
    with pytest.raises(WorkerLostError, match=r"died 2 times \(allowed: 1 restarts"):
        list(pool_starmap(_kill_own_worker, [(i,) for i in range(4)], 2, max_restarts=1))
    assert MAX_POOL_RESTARTS >= 1
