"""Benchmark suite: speed, scaling, parallel throughput and the naive reference.

    python experiments/benchmark.py                  # everything (~6 min on 2 cores)
    python experiments/benchmark.py --skip-naive     # without the naive reference (~2 min)
    python experiments/benchmark.py --only overhead  # one part (repeatable), see below

Parts (each prints its figures and the ratio to its target, see BENCHMARKS.md):

- ``single``: one full-Germany replication of the default scenario on one core: wall time
  (median of ``--replications``; simulation alone and with its tables), SimPy events and
  events/s, peak resident memory of a fresh process.
- ``scaling``: wall time per replication over worlds with 1/4, 1/2, 1 and 2 x the
  municipal administrations and 1/2, 1 and 2 x the service catalogue (sub-sampled, or
  duplicated to enlarge), and the fitted exponent of time against size (log-log slope).
- ``sweep``: sweep throughput (runs/s, full Germany, run cache off) on 1 and 2 workers and
  the parallel efficiency.
- ``overhead``: orchestration overhead per run of the sweep runner on a trivial world.
- ``naive``: the naive reference (``experiments/naive_reference.py``: one SimPy process per
  (administration, service) and (Land, service) pair) on the same full-Germany world, and
  the speed-up of the fast model.
- ``profile``: the top hot spots of one replication (cProfile, own time).
- ``distributed``: a full-Germany sweep (``--distributed-runs``, default 1,000 runs, each
  point's tables streamed to disk) on the local pool of 2 workers and on a loopback Dask
  cluster of 2 single-threaded workers started with ``dask scheduler`` / ``dask worker`` as
  separate processes: throughput of each and the cluster's share of the pool's; then the
  peak resident memory of the process that runs a 10,000-run toy experiment
  (``--memory-runs``) end to end with ``ozg-sim-experiment`` (runs, Parquet datasets,
  summary, its fan chart), measured in a fresh process. Not in the default set (~15 min);
  ``--only distributed``.
- ``app``: the what-if workbench (``ozg-sim-app``) on 2 worker processes, as a browser
  tab drives it (a :class:`sim.app.ui.Session`, no browser): the start (workers, world,
  the calibrated baseline of full Germany with 10 replications), then for each of several
  new scenarios (one lever each, 10 replications, nothing cached) the seconds until the
  key figures and the overview chart are shown (the answer) and until every view is drawn,
  and the same scenario again from the cache. Not in the default set (~1 min; needs
  ``pip install -e '.[app]'``); ``--only app``.

Overrides of the default scenario are passed as ``key=value`` (Hydra syntax), e.g.
``python experiments/benchmark.py --only single strategy=einzel funding=koenigstein``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim import whatif
from sim.config import load_config
from sim.metrics import tables_for_replication
from sim.model import simulate
from sim.params import Config
from sim.workbench import Workbench
from sim.world import World, build_world

try:  # the workbench's extra: pip install -e '.[app]'
    from sim.app.ui import Session
except ImportError:
    Session = None  # type: ignore[assignment,misc]

HERE = Path(__file__).resolve().parent
PARTS = ("single", "scaling", "sweep", "overhead", "naive", "profile", "distributed", "app")
#: Parts a plain ``python experiments/benchmark.py`` leaves out (they take long, or need
#: the workbench's extra).
OPT_IN = ("distributed", "app")

# Targets of the speed requirement (BENCHMARKS.md).
TARGET_S_PER_REP = 1.0
TARGET_PEAK_MB = 500.0
TARGET_SPEEDUP = 100.0
TARGET_EXPONENT = 1.1
TARGET_EFFICIENCY = 0.85
TARGET_DASK_SHARE = 0.85      # a loopback Dask cluster's throughput / the local pool's
TARGET_PARENT_MB = 1024.0     # peak RSS of the parent of a 10,000-run toy sweep
TARGET_OVERHEAD_MS = 20.0
TARGET_APP_S = 5.0            # the workbench's answer to a new full-Germany scenario

ADMIN_FACTORS = (0.25, 0.5, 1.0, 2.0)
SERVICE_FACTORS = (0.5, 1.0, 2.0)


def peak_rss_mb() -> float:
    """Peak resident set size of this process (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def pin_one_core() -> bool:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return True
    except (AttributeError, OSError):
        return False


def unpin() -> None:
    try:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    except (AttributeError, OSError):
        pass


def ratio(value: float, target: float, higher_is_better: bool = False) -> str:
    r = value / target
    ok = r >= 1.0 if higher_is_better else r <= 1.0
    return f"ratio {r:.2f} ({'met' if ok else 'MISSED'})"


# --------------------------------------------------------------------------- worlds


def scaled_world(world: World, admins: float = 1.0, services: float = 1.0) -> World:
    """The world with ``admins`` x its municipal administrations and ``services`` x its
    catalogue: factors below 1 keep every k-th entity (per Land, resp. in catalogue order),
    factors above 1 duplicate every entity (copies get new keys). The Länder, their staff
    and money stay as they are.
    """
    a = world.admins
    if admins < 1.0:
        step = round(1.0 / admins)
        a = a[a.groupby("state").cumcount().to_numpy() % step == 0]
    elif admins > 1.0:
        copies = [a] + [a.assign(admin_key=a["admin_key"].astype(str) + f"~{i}")
                        for i in range(1, round(admins))]
        a = pd.concat(copies).sort_values("state", kind="stable")
    s = world.services
    if services < 1.0:
        s = s.iloc[::round(1.0 / services)]
    elif services > 1.0:
        s = pd.concat([s] + [s.assign(ozg_id=s["ozg_id"].astype(str) + f"~{i}")
                             for i in range(1, round(services))])
    return World(name=f"{world.name}x{admins:g}a{services:g}s", states=world.states,
                 topics=world.topics, services=s.reset_index(drop=True),
                 admins=a.reset_index(drop=True))


def time_replications(world: World, cfg: Config, reps: int, tables: bool = False,
                      first: int = 0) -> tuple[list[float], list[float], list[int]]:
    """Wall times of ``reps`` replications (simulation, simulation + tables) and events."""
    sim_s, full_s, events = [], [], []
    for rep in range(first, first + reps):
        t0 = time.perf_counter()
        r = simulate(world, cfg, rep)
        t1 = time.perf_counter()
        if tables:
            tables_for_replication(world, r, cfg.map_months, cfg.observation)
        t2 = time.perf_counter()
        sim_s.append(t1 - t0)
        full_s.append(t2 - t0)
        events.append(r.n_simpy_events)
    return sim_s, full_s, events


def fitted_exponent(factors: list[float], seconds: list[float]) -> float:
    """Slope of log(time) against log(size) (least squares)."""
    return float(np.polyfit(np.log(factors), np.log(seconds), 1)[0])


# --------------------------------------------------------------------------- parts


def part_single(world: World, cfg: Config, reps: int, results: dict) -> None:
    """Median wall time of one replication on one core, events and peak memory."""
    simulate(world, cfg, 10_000)  # warm-up (imports, caches)
    sim_s, full_s, events = time_replications(world, cfg, reps, tables=True)
    med_sim, med_full = statistics.median(sim_s), statistics.median(full_s)
    med_ev = statistics.median(events)
    peak = peak_rss_mb()
    results["single"] = {"simulation_s": med_sim, "with_tables_s": med_full,
                         "min_s": min(sim_s), "max_s": max(sim_s), "events": med_ev,
                         "events_per_s": med_ev / med_sim, "peak_rss_mb": peak}
    print(f"\n[single] one full-Germany replication on one core (median of {reps}):")
    print(f"  simulation            {med_sim:6.3f} s  (min {min(sim_s):.3f}, max {max(sim_s):.3f})"
          f"  target <= {TARGET_S_PER_REP:.1f} s -> {ratio(med_sim, TARGET_S_PER_REP)}")
    print(f"  simulation + tables   {med_full:6.3f} s")
    print(f"  SimPy events          {med_ev:,.0f}  ({med_ev / med_sim:,.0f} events/s)")
    print(f"  peak memory (RSS)     {peak:6.0f} MB  target <= {TARGET_PEAK_MB:.0f} MB "
          f"-> {ratio(peak, TARGET_PEAK_MB)}")


def part_scaling(world: World, cfg: Config, reps: int, results: dict) -> None:
    """Time per replication against the number of administrations and of services."""
    print(f"\n[scaling] one core, best of {reps} replications per world (simulation alone; the "
          "minimum, as the machine's speed varies):")
    out = {}
    for axis, factors in (("admins", ADMIN_FACTORS), ("services", SERVICE_FACTORS)):
        secs = []
        for f in factors:
            w = scaled_world(world, **{axis: f})
            simulate(w, cfg, 10_000)
            sim_s, _full, events = time_replications(w, cfg, reps)
            secs.append(min(sim_s))
            print(f"  {axis:8s} x{f:<4g} ({w.n_admins:5d} admins, {w.n_services:4d} services): "
                  f"{secs[-1]:6.3f} s, {statistics.median(events):8,.0f} events")
        k = fitted_exponent(list(factors), secs)
        out[axis] = {"factors": list(factors), "seconds": secs, "exponent": k}
        print(f"  -> fitted exponent over {axis}: {k:.2f}  target <= {TARGET_EXPONENT} "
              f"-> {ratio(k, TARGET_EXPONENT)}")
    results["scaling"] = out


def part_sweep(overrides: list[str], results: dict, points: int = 4, reps: int = 6) -> None:
    """Sweep throughput on full Germany at 1 and 2 workers (no run cache)."""
    from sim.sweep import assemble, make_sweep, run_sweep

    design = {"grid": {"staffing.dev_fte_factor": [1.0 + 0.05 * i for i in range(points)]}}
    unpin()
    walls = {}
    for workers in (1, 2):
        sw = make_sweep("throughput", design, overrides, reps, 1)
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            recs = run_sweep(sw, workers=workers, cache_dir=Path(cache), progress=False)
            assemble(sw, recs)
            walls[workers] = time.perf_counter() - t0
    n = points * reps
    tp1, tp2 = n / walls[1], n / walls[2]
    eff = tp2 / (2 * tp1)
    results["sweep"] = {"runs": n, "wall_1": walls[1], "wall_2": walls[2],
                        "runs_per_s_1": tp1, "runs_per_s_2": tp2, "efficiency": eff}
    print(f"\n[sweep] {n} full-Germany runs (tables, KPIs, assembly; no cache):")
    print(f"  1 worker   {walls[1]:6.2f} s  {tp1:5.2f} runs/s")
    print(f"  2 workers  {walls[2]:6.2f} s  {tp2:5.2f} runs/s")
    print(f"  parallel efficiency at 2 workers {eff:.0%}  target >= {TARGET_EFFICIENCY:.0%} "
          f"-> {ratio(eff, TARGET_EFFICIENCY, higher_is_better=True)}")


def part_overhead(results: dict, n_points: int = 50, replications: int = 4) -> None:
    """Orchestration overhead of the sweep runner on a trivial world (toy, one year).

    overhead per run = (wall x workers - sum of the runs' own wall times) / runs: the time
    spent on expanding the design, configs, the process pool, transfers and assembly.
    """
    from sim.sweep import assemble, make_sweep, run_sweep

    unpin()
    design = {"grid": {"staffing.dev_fte_factor": [1 + i / 100 for i in range(n_points)]}}
    print("\n[overhead] sweep runner on trivial runs (toy world, one year):")
    out = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        sw = make_sweep("overhead", design, ["world=toy", "end=2019-01"], replications, 1)
        with tempfile.TemporaryDirectory() as cache:
            recs = run_sweep(sw, workers=workers, cache_dir=Path(cache), progress=False)
            assemble(sw, recs)
        wall = time.perf_counter() - t0
        own = sum(r.wall_s for r in recs)
        n = len(recs)
        ms = (wall * workers - own) / n * 1000
        out[workers] = ms
        print(f"  {workers} worker(s): {n} runs, wall {wall:.2f} s, runs' own time {own:.2f} s "
              f"-> {ms:.1f} ms per run  target <= {TARGET_OVERHEAD_MS:.0f} ms "
              f"-> {ratio(ms, TARGET_OVERHEAD_MS)}")
    results["overhead_ms"] = out


def part_naive(overrides: list[str], reps: int, results: dict, gc_on: bool = False) -> None:
    """The naive reference on the same world, in a fresh process (for its peak memory).

    The reference pauses Python's garbage collector during a run (its default; a third of
    the time with it on); ``gc_on`` runs it with the collector on, as plain SimPy code runs.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--naive-child",
           "--naive-replications", str(reps), *overrides]
    if gc_on:
        cmd.append("--naive-gc-on")
    print(f"\n[naive] naive reference, full Germany, {reps} replication(s), one core, garbage "
          f"collector {'on' if gc_on else 'paused'} (1-3 minutes per replication) ...",
          flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    results["naive"] = child
    print(f"  naive         {child['seconds']:8.1f} s per replication, "
          f"{child['events']:,.0f} events ({child['events'] / child['seconds']:,.0f} events/s), "
          f"{child['processes']:,} processes, peak {child['peak_rss_mb']:.0f} MB")
    single = results.get("single", {})
    if single:
        fast, best = single["simulation_s"], single["min_s"]
        speedup = child["seconds"] / fast
        results["speedup"] = speedup
        print(f"  fast model    {fast:8.3f} s (median; best {best:.3f} s) -> speed-up "
              f"{speedup:,.0f} x (against the best {child['seconds'] / best:,.0f} x)  target >= "
              f"{TARGET_SPEEDUP:.0f} x -> {ratio(speedup, TARGET_SPEEDUP, higher_is_better=True)}")


def naive_child(overrides: list[str], reps: int, gc_on: bool) -> None:
    sys.path.insert(0, str(HERE))
    from naive_reference import NaiveSimulation

    pin_one_core()
    cfg = load_config(overrides)
    world = build_world(cfg.world)
    secs, events = [], []
    for rep in range(reps):
        t0 = time.perf_counter()
        r = NaiveSimulation(world, cfg, rep, pause_gc=not gc_on).run()
        secs.append(time.perf_counter() - t0)
        events.append(r.n_simpy_events)
    Sm = len(world.municipal_services)
    print(json.dumps({"seconds": statistics.median(secs), "events": statistics.median(events),
                      "processes": Sm * world.n_admins + world.n_services * world.n_states,
                      "peak_rss_mb": peak_rss_mb()}))


def part_profile(world: World, cfg: Config, results: dict, top: int = 12) -> None:
    """Own time of the hottest functions in one replication (cProfile)."""
    simulate(world, cfg, 10_000)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    simulate(world, cfg, 0)
    prof.disable()
    total = time.perf_counter() - t0
    st = pstats.Stats(prof)
    rows = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    print(f"\n[profile] one replication under cProfile ({total:.2f} s with profiling), "
          "own time:")
    out = []
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in rows:
        where = f"{Path(file).name}:{line}({fn})" if line else fn
        out.append({"function": where, "calls": nc, "own_s": tt, "share": tt / total})
        print(f"  {tt / total:5.1%}  {tt:6.3f} s own  {ct:6.3f} s cum  {nc:8,d} calls  {where}")
    results["profile"] = out


# --------------------------------------------------------------------------- main


def _loopback_cluster(folder: Path, n_workers: int = 2) -> tuple[str, list]:
    """``dask scheduler`` and ``n_workers`` ``dask worker --nthreads 1`` processes on
    127.0.0.1; their address and processes."""
    dask = str(Path(sys.executable).parent / "dask")
    sf = folder / "scheduler.json"
    log = open(folder / "cluster.log", "ab")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sf)],
                              stdout=log, stderr=log)]
    while not (sf.is_file() and sf.stat().st_size):
        time.sleep(0.1)
    time.sleep(0.2)
    address = json.loads(sf.read_text())["address"]
    procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                "--host", "127.0.0.1", "--memory-limit", "0"],
                               stdout=log, stderr=log) for _ in range(n_workers)]
    return address, procs


def part_distributed(overrides: list[str], results: dict, runs: int = 1000,
                     memory_runs: int = 10_000) -> None:
    """Local pool against a loopback Dask cluster, and the parent's memory of a large sweep."""
    from sim.engines import open_engine
    from sim.executor import ExecutorParams
    from sim.store import PointStore
    from sim.sweep import make_sweep, run_sweep, small_tables

    unpin()
    if runs <= 0:  # the memory measurement alone
        mem = parent_memory_of_toy_sweep(memory_runs)
        _print_memory(mem)
        results["distributed"] = {"memory": mem}
        return
    reps = 10
    points = max(1, runs // reps)
    design = {"grid": {"staffing.dev_fte_factor": [0.8 + 0.4 * i / max(1, points - 1)
                                                   for i in range(points)]}}
    sw = make_sweep("distributed", design, overrides, reps, 1)
    walls, overhead_ms = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        address, procs = _loopback_cluster(Path(tmp))
        try:
            for engine_name, params in (("local", ExecutorParams()),
                                        ("dask", ExecutorParams(name="dask", address=address))):
                out = Path(tmp) / engine_name
                with open_engine(params, 2) as engine:
                    t0 = time.perf_counter()
                    store = PointStore(out, sw)
                    recs = run_sweep(sw, engine=engine, on_point=store.add)
                    store.close()
                    small_tables(sw, store.design, recs)
                    walls[engine_name] = time.perf_counter() - t0
                # what each run costs beyond its own computation: scheduling, moving
                # tables, writing them (as in the overhead part)
                own = sum(r.wall_s for r in recs)
                overhead_ms[engine_name] = (walls[engine_name] * 2 - own) / len(recs) * 1000
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    n = points * reps
    tp = {k: n / v for k, v in walls.items()}
    share = tp["dask"] / tp["local"]
    print(f"\n[distributed] {n} full-Germany runs ({points} points x {reps} replications; "
          "tables streamed to Parquet; no cache):")
    print(f"  local pool, 2 workers              {walls['local']:7.1f} s  "
          f"{tp['local']:5.2f} runs/s")
    print(f"  loopback Dask cluster, 2 workers   {walls['dask']:7.1f} s  "
          f"{tp['dask']:5.2f} runs/s")
    print(f"  overhead per run beyond its own time: local {overhead_ms['local']:.0f} ms, "
          f"Dask {overhead_ms['dask']:.0f} ms (2 workers)")
    print(f"  Dask / local throughput {share:.0%}  target >= {TARGET_DASK_SHARE:.0%} "
          f"-> {ratio(share, TARGET_DASK_SHARE, higher_is_better=True)}")
    if memory_runs <= 0:
        results["distributed"] = {"runs": n, "wall_local": walls["local"],
                                  "wall_dask": walls["dask"], "dask_share": share,
                                  "overhead_ms": overhead_ms}
        return
    mem = parent_memory_of_toy_sweep(memory_runs)
    _print_memory(mem)
    results["distributed"] = {"runs": n, "wall_local": walls["local"],
                              "wall_dask": walls["dask"], "runs_per_s_local": tp["local"],
                              "runs_per_s_dask": tp["dask"], "dask_share": share,
                              "overhead_ms": overhead_ms,
                              "memory": mem}


def _print_memory(mem: dict) -> None:
    print(f"  parent of a {mem['runs']:,}-run toy experiment (ozg-sim-experiment, 2 workers): "
          f"peak RSS {mem['peak_mb']:.0f} MB in {mem['wall_s']:.0f} s  target <= "
          f"{TARGET_PARENT_MB:.0f} MB -> {ratio(mem['peak_mb'], TARGET_PARENT_MB)}", flush=True)


MEMORY_CHILD = """
import resource, sys, time
from sim.cli.experiment import run_experiment
t0 = time.perf_counter()
folder = run_experiment(sys.argv[1:])
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - t0)
"""


def parent_memory_of_toy_sweep(runs: int) -> dict:
    """Peak RSS of a fresh process running a ``runs``-run toy experiment end to end."""
    reps = 2
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "memory.yaml"
        spec.write_text(json.dumps({  # an exploration: hypercube x strategy, robustness
            "name": "memory", "title": "Parent memory of a large sweep", "replications": reps,
            "seed": 1, "base": ["world=toy"], "figures": ["robustness"],
            "reference": {"factor": "strategy", "level": "efa"},
            "design": {"lhs": {"n": runs // reps // 2,
                               "ranges": ["sharing.efa.propensity",
                                          "development.effort_person_days"]},
                       "cross": {"strategy": ["efa", "efv"]}}}))
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(spec), f"out={tmp}",
                              "workers=2", "--no-cache"], capture_output=True, text=True,
                             check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the memory child failed: {out.stderr[-2000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("PEAK_KB"))
    _tag, kb, wall = line.split()
    return {"runs": runs, "peak_mb": int(kb) / 1024, "wall_s": float(wall)}


#: The scenarios the ``app`` part times: one lever each, as a workshop would change it.
APP_LEVERS: tuple[dict[str, object], ...] = (
    {"strategy": "efv"}, {"funding": "koenigstein"}, {"operation": "land_for_municipalities"},
    {"staffing.dev_fte_factor": 1.5}, {"state_programmes": []},
    {"sharing.efa.propensity": 0.95})


#: Seconds between setting the levers and pressing "Run" in the ``app`` part's first
#: round (the workbench composes the configuration meanwhile); the second round presses
#: at once.
APP_THINK_S = 1.0


def part_app(results: dict) -> None:
    """The workbench's answer times (module docstring)."""
    if Session is None:
        print("\n[app] skipped: the workbench needs Panel (pip install -e '.[app]')")
        return
    unpin()
    print("\n[app] what-if workbench, full Germany, 10 replications, 2 worker processes")
    t0 = time.perf_counter()
    bench = Workbench(2)
    bench.warm(whatif.base_config().world)
    for seed in (1, 2):
        bench.run(whatif.scenario_config(whatif.Scenario(seed=seed)))
        if seed == 1:
            start = time.perf_counter() - t0
    print(f"  start (workers, world, calibrated baseline): {start:.1f} s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed, think in ((1, APP_THINK_S), (2, 0.0)):
            print(f"  Run pressed {think:g} s after the change (seed {seed}):")
            for levers in APP_LEVERS:
                s = Session(bench, Path(tmp))
                s.w_seed.value = seed
                for key, value in levers.items():
                    if key in s.w_fix:
                        s.w_fix[key].value = True
                    s.w[key].value = value
                time.sleep(think)
                asyncio.run(s.run())
                first = dict(s.timing)
                asyncio.run(s.run())
                rows.append({"levers": levers, "seed": seed, "think_s": think,
                             "answer_s": first["answer"], "all_views_s": first["all"],
                             "cached_s": s.timing["all"]})
                label = whatif.command_line(s.scenario()).removeprefix("ozg-sim ")
                print(f"    {label:<70} answer {first['answer']:.2f} s, all views "
                      f"{first['all']:.2f} s, again (cached) {s.timing['all']:.2f} s")
    bench.close()
    for think in (APP_THINK_S, 0.0):
        sub = [r for r in rows if r["think_s"] == think]
        worst = max(r["answer_s"] for r in sub)
        middle = statistics.median(r["answer_s"] for r in sub)
        views = [r["all_views_s"] for r in sub]
        print(f"  pressed after {think:g} s: slowest answer {worst:.2f} s "
              f"({ratio(worst, TARGET_APP_S)}), median {middle:.2f} s; all views median "
              f"{statistics.median(views):.2f} s, slowest {max(views):.2f} s")
    results["app"] = {"start_s": start, "scenarios": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", help="config overrides (key=value)")
    ap.add_argument("--replications", type=int, default=7,
                    help="replications per timing (median reported)")
    ap.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    ap.add_argument("--skip-naive", action="store_true", help="skip the naive reference")
    ap.add_argument("--naive-replications", type=int, default=1)
    ap.add_argument("--naive-gc-on", action="store_true",
                    help="run the naive reference with the garbage collector on")
    ap.add_argument("--naive-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--distributed-runs", type=int, default=1000,
                    help="full-Germany runs of the distributed part (default 1000)")
    ap.add_argument("--memory-runs", type=int, default=10_000,
                    help="toy runs of the distributed part's memory measurement")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.naive_child:
        naive_child(args.overrides, args.naive_replications, args.naive_gc_on)
        return
    parts = args.only or [p for p in PARTS if not (p == "naive" and args.skip_naive)
                          and p not in OPT_IN]
    if "naive" in parts and "single" not in parts:
        parts.insert(0, "single")  # the speed-up needs the fast model's time

    pinned = pin_one_core()
    cfg = load_config(args.overrides)
    t0 = time.perf_counter()
    world = build_world(cfg.world)
    t_world = time.perf_counter() - t0
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"{os.cpu_count()} cpus, python {platform.python_version()}, "
          f"numpy {np.__version__}, simpy {__import__('simpy').__version__}; "
          f"timings pinned to one core: {pinned}")
    print(f"world: {world.summary()}; loading {t_world:.2f} s")
    print(f"config: {' '.join(args.overrides) or 'the default (historical) scenario'}, "
          f"{cfg.horizon_months} months")

    results: dict = {}
    t_all = time.perf_counter()
    for part in PARTS:
        if part not in parts:
            continue
        pin_one_core()
        if part == "single":
            part_single(world, cfg, args.replications, results)
        elif part == "scaling":
            part_scaling(world, cfg, max(3, args.replications // 2), results)
        elif part == "sweep":
            part_sweep(args.overrides, results)
        elif part == "overhead":
            part_overhead(results)
        elif part == "naive":
            part_naive(args.overrides, args.naive_replications, results, args.naive_gc_on)
        elif part == "profile":
            part_profile(world, cfg, results)
        elif part == "distributed":
            part_distributed(args.overrides, results, args.distributed_runs,
                             args.memory_runs)
        elif part == "app":
            part_app(results)
    print(f"\nbenchmark done in {time.perf_counter() - t_all:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
