"""The Dask engine on a real cluster: a scheduler and two workers started with Dask's own
command line as separate processes on 127.0.0.1 (or the cluster ``.ci/run`` started, named
by ``$OZG_SIM_DASK_ADDRESS``). A run, a sweep through ``ozg-sim-experiment`` and a
calibration give exactly the tables of the local engine; a worker killed mid-sweep
(SIGKILL) costs nothing but time; the run cache resumes across engines; bad settings give
one line.
"""

from __future__ import annotations

import filecmp
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from sim import engines
from sim.calibration import calibrate
from sim.calibration.spec import CalibrationSpec
from sim.cli import experiment as experiment_cli
from sim.config import load_config
from sim.engines import DaskEngine, LocalEngine, open_engine
from sim.errors import ConfigError
from sim.executor import ExecutorParams
from sim.outputs import read_folder
from sim.ranges import ParameterRange
from sim.runner import run_replications
from sim.sweep import assemble, make_sweep, run_sweep
from sim.world import build_world

distributed = pytest.importorskip("distributed")

#: The ``dask`` command of this environment.
DASK = str(Path(sys.executable).parent / "dask")
#: Seconds to wait for a scheduler's file or its workers.
START_TIMEOUT_S = 60.0
TOY = ["world=toy", "end=2022-12"]


@dataclass
class CliCluster:
    """A scheduler and workers started with ``dask scheduler`` / ``dask worker``."""

    scheduler_file: Path
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def workers(self) -> list[subprocess.Popen[bytes]]:
        return self.processes[1:]

    def stop(self) -> None:
        for p in reversed(self.processes):
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:  # a worker still looking for its scheduler
                p.kill()
                p.wait()


def start_cluster(folder: Path, n_workers: int = 2) -> CliCluster:
    """A scheduler on 127.0.0.1 (a free port) and ``n_workers`` single-threaded workers
    without a nanny (a killed worker stays dead), each its own process."""
    sf = folder / "scheduler.json"
    log = open(folder / "cluster.log", "ab")  # lives as long as the cluster
    quiet = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    sched = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                              "--no-dashboard", "--scheduler-file", str(sf)],
                             stdout=log, stderr=log, env=quiet)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (sf.is_file() and sf.stat().st_size):
        if time.monotonic() > deadline or sched.poll() is not None:
            sched.kill()
            pytest.fail(f"dask scheduler did not start: {(folder / 'cluster.log').read_text()}")
        time.sleep(0.1)
    time.sleep(0.2)  # the file is written whole before it is read
    address = json.loads(sf.read_text())["address"]
    cluster = CliCluster(sf, address, [sched])
    for _ in range(n_workers):
        cluster.processes.append(subprocess.Popen(
            [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1", "--memory-limit", "0"], stdout=log, stderr=log,
            env=quiet))
    with distributed.Client(address, timeout="30s") as client:
        client.wait_for_workers(n_workers, timeout=START_TIMEOUT_S)
    return cluster


@pytest.fixture(scope="module")
def cluster_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The cluster of ``.ci/run`` ($OZG_SIM_DASK_ADDRESS), or one started for this module."""
    given = os.environ.get("OZG_SIM_DASK_ADDRESS")
    if given:
        yield given
        return
    cluster = start_cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield cluster.address
    finally:
        cluster.stop()


def _dask(address: str, **kw: object) -> ExecutorParams:
    return ExecutorParams(name="dask", address=address, **kw)  # type: ignore[arg-type]


def _sweep():
    design = {"grid": {"strategy": ["efa", "efv"],
                       "staffing.dev_fte_factor": [0.8, 1.0, 1.3]}}
    return make_sweep("dist", design, TOY, replications=3, seed=5)


# --------------------------------------------------------------------------- identical


def test_a_run_gives_the_same_tables_on_the_cluster(cluster_address: str) -> None:
    cfg = load_config([*TOY, "replications=5"])
    world = build_world(cfg.world)
    local = run_replications(world, cfg, workers=2)
    with open_engine(_dask(cluster_address)) as engine:
        assert isinstance(engine, DaskEngine) and engine.workers >= 2
        dask = run_replications(world, cfg, engine=engine)
    for name, df in local.tables.items():
        pd.testing.assert_frame_equal(df, dask.tables[name], obj=name)
    pd.testing.assert_frame_equal(local.kpis, dask.kpis)


def test_ozg_sim_on_the_cluster_writes_the_same_bytes(cluster_address: str,
                                                      tmp_path: Path) -> None:
    base = [sys.executable, "-m", "sim", *TOY, "replications=3", "map_months=[2021-12]"]
    for name, extra in (("local", ["workers=2"]),
                        ("dask", ["executor=dask", f"executor.address={cluster_address}"])):
        res = subprocess.run([*base, *extra, f"hydra.run.dir={tmp_path / name}"],
                             capture_output=True, text=True, timeout=300, check=False)
        assert res.returncode == 0, res.stderr[-2000:]
    assert "Dask worker thread(s) of " + cluster_address in (
        tmp_path / "dask" / "ozg-sim.log").read_text()
    tables = sorted(p.name for p in (tmp_path / "local").glob("*.parquet"))
    assert "national.parquet" in tables
    for name in tables:
        assert filecmp.cmp(tmp_path / "local" / name, tmp_path / "dask" / name,
                           shallow=False), name


def test_an_experiment_writes_the_same_bytes_on_either_engine(cluster_address: str,
                                                              tmp_path: Path) -> None:
    spec = tmp_path / "dist.yaml"  # 6 points x 2 replications, one figure: seconds, not minutes
    spec.write_text(json.dumps({
        "name": "dist", "title": "Both engines", "replications": 2, "seed": 3,
        "base": TOY, "figures": ["fan"],
        "design": {"grid": {"strategy": ["efa", "efv", "einzel"],
                            "funding": ["none", "konjunkturpaket"]}}}))
    args = [str(spec), "--no-cache"]
    local = experiment_cli.run_experiment([*args, "workers=2", f"out={tmp_path / 'l'}"])
    dask = experiment_cli.run_experiment([*args, "executor=dask",
                                          f"executor.address={cluster_address}",
                                          f"out={tmp_path / 'd'}"])
    assert local is not None and dask is not None
    _man, lt = read_folder(local)
    man, dt = read_folder(dask)
    assert man["timings"]["engine"] == "dask"
    assert sorted(lt) == sorted(dt)
    for name in lt:
        a, b = lt[name], dt[name]
        if name == "runs":  # wall times differ, nothing else
            a, b = a.drop(columns="wall_s"), b.drop(columns="wall_s")
        pd.testing.assert_frame_equal(a, b, obj=name)
    files = sorted(local.glob("*/point-*.parquet"))
    assert len(files) >= 6 * 5  # every dataset file, byte for byte
    for path in files:
        assert filecmp.cmp(path, dask / path.relative_to(local), shallow=False), path
    assert filecmp.cmp(local / "summary.csv", dask / "summary.csv", shallow=False)


def test_a_calibration_gives_the_same_particles_on_the_cluster(cluster_address: str) -> None:
    base = load_config(["world=toy"])
    world = build_world(base.world)
    spec = CalibrationSpec(
        parameters=[ParameterRange("development.effort_person_days", 400, 2000),
                    ParameterRange("sharing.efa.decision_months", 1, 18)],
        population_size=10, calibration_particles=8, max_generations=2,
        max_simulations=60, predictive_draws=3)
    local = calibrate(base, world, spec, workers=1)
    with open_engine(_dask(cluster_address)) as engine:
        assert isinstance(engine, DaskEngine)
        dask = calibrate(base, world, spec, workers=engine.workers,
                         executor=engine.client.get_executor())
    for name in ("particles", "generations", "fit", "predictive"):
        pd.testing.assert_frame_equal(getattr(local, name), getattr(dask, name), obj=name)


# --------------------------------------------------------------------------- faults


@pytest.mark.slow  # starts a cluster of its own, ~10 s
def test_a_worker_killed_mid_sweep_costs_only_time(tmp_path: Path) -> None:
    sweep = _sweep()
    reference = assemble(sweep, run_sweep(sweep, workers=1))
    cluster = start_cluster(tmp_path, n_workers=2)
    victim = cluster.workers[0]
    killed_at: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if not killed_at and done >= total // 4:
            os.kill(victim.pid, signal.SIGKILL)
            killed_at.append(done)

    try:
        # one run per task: the victim surely holds unfinished tasks when it dies
        with open_engine(_dask(cluster.address, runs_per_task=1)) as engine:
            records = run_sweep(sweep, engine=engine, progress=kill_one)
    finally:
        cluster.stop()
    assert killed_at and victim.wait(timeout=10) == -signal.SIGKILL
    assert all(r.status == "ok" for r in records) and len(records) == sweep.n_runs
    got = assemble(sweep, records)
    for name, df in reference.items():
        if name != "runs":
            pd.testing.assert_frame_equal(df, got[name], obj=name)


def test_the_run_cache_resumes_across_engines(cluster_address: str, tmp_path: Path) -> None:
    sweep = _sweep()
    half = make_sweep("dist", {"grid": {"strategy": ["efa"],
                                        "staffing.dev_fte_factor": [0.8, 1.0, 1.3]}},
                      TOY, replications=3, seed=5)
    cache = tmp_path / "cache"
    run_sweep(half, workers=2, cache_dir=cache)  # half the runs, on the local pool
    with open_engine(_dask(cluster_address)) as engine:
        resumed = run_sweep(sweep, engine=engine, cache_dir=cache)
    assert sum(r.cached for r in resumed) == half.n_runs
    again = run_sweep(sweep, workers=1, cache_dir=cache)  # the rest was cached by the parent
    assert all(r.cached for r in again)
    a, b = assemble(sweep, resumed), assemble(sweep, again)
    for name in ("national", "by_state", "kpis"):
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


# --------------------------------------------------------------------------- settings


def test_tasks_are_batches_sized_by_the_estimated_run_time() -> None:
    engine = DaskEngine.__new__(DaskEngine)
    engine.workers, engine.params = 2, ExecutorParams(name="dask")
    assert engine.runs_per_task(1000, 0.5) == 1       # a full-Germany run is a task alone
    assert engine.runs_per_task(1000, 0.05) == 10     # toy runs: 0.5 s of work per task
    assert engine.runs_per_task(16, 0.05) == 2        # but every worker gets several tasks
    engine.params = ExecutorParams(name="dask", runs_per_task=7)
    assert engine.runs_per_task(1000, 0.05) == 7


@pytest.mark.parametrize(("overrides", "message"), [
    (["executor.address=tcp://127.0.0.1:8786"],
     "executor.address='tcp://127.0.0.1:8786' is not allowed: null with executor=local"),
    (["executor=dask", "executor.address=127.0.0.1:8786"],
     "executor.address='127.0.0.1:8786' is not allowed: a Dask scheduler address"),
    (["executor=dask", "executor.runs_per_task=0"],
     "executor.runs_per_task=0 is not allowed: an integer in [1, 10000]"),
    (["executor=dask", "executor.address=tcp://h:1", "executor.scheduler_file=/s.json"],
     "executor.scheduler_file='/s.json' is not allowed: null when executor.address is set"),
])
def test_bad_executor_settings_are_refused_in_one_line(overrides: list[str],
                                                       message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(["world=toy", *overrides])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_no_scheduler_at_the_address_is_one_line() -> None:
    params = _dask("tcp://127.0.0.1:9", connect_timeout_s=2.0)
    with pytest.raises(ConfigError) as err, open_engine(params):
        pass
    assert str(err.value).startswith("executor.address='tcp://127.0.0.1:9' is not allowed: "
                                     "no Dask scheduler answers there within 2 s")


def test_dask_not_installed_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(engines, "distributed", None)
    with pytest.raises(ConfigError, match=r"executor=dask is not allowed: Dask distributed "
                                          r"is not installed; pip install -e '\.\[dask\]'"):
        with open_engine(ExecutorParams(name="dask")):
            pass
    with pytest.raises(SystemExit) as code:
        experiment_cli.main(["efa_vs_efv", *TOY, "executor=dask", f"out={tmp_path}",
                             "--no-cache"])
    assert code.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e '.[dask]'" in err[0]
    assert not any(tmp_path.rglob("manifest.json"))  # nothing half-written


def test_a_worker_on_other_code_is_refused(cluster_address: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "code_version", lambda: "0" * 16)
    with pytest.raises(ConfigError, match=r"runs ozg-sim code .* this machine 0000"):
        with open_engine(_dask(cluster_address)):
            pass


def test_the_local_engine_is_the_default() -> None:
    cfg = load_config(TOY)
    assert cfg.executor.name == "local"
    with open_engine(cfg.executor, 3) as engine:
        assert isinstance(engine, LocalEngine) and engine.workers == 3
