"""Benchmark: one full-Germany replication on one core, and a default run on all cores.

    python experiments/benchmark.py [--replications 5] [--strategy efa] [--funding historical]

Prints wall time per replication (simulation alone and with its tables), SimPy events and
events/s, peak resident memory, and the ratio to the targets. Results: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time

from sim.config import load_config
from sim.metrics import tables_for_replication
from sim.model import simulate
from sim.runner import run_replications
from sim.world import build_world

TARGET_S_PER_REP = 3.0
TARGET_PEAK_MB = 1024.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--strategy", default="efa")
    ap.add_argument("--funding", default="historical")
    ap.add_argument("--skip-pool", action="store_true", help="skip the multi-core run")
    ap.add_argument("--sweep-overhead", action="store_true",
                    help="only measure the sweep runner's orchestration overhead per run")
    args = ap.parse_args()
    if args.sweep_overhead:
        sweep_overhead()
        return
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
        pinned = True
    except (AttributeError, OSError):
        pinned = False

    cfg = load_config([f"strategy={args.strategy}", f"funding={args.funding}",
                       f"replications={args.replications}"])
    t0 = time.perf_counter()
    world = build_world(cfg.world)
    t_world = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}; pinned to one core: {pinned}")
    print(f"world: {world.summary()}; loading {t_world:.2f} s")
    print(f"config: strategy={args.strategy} funding={args.funding}, "
          f"{cfg.horizon_months} months")

    sim_s, full_s, events = [], [], []
    simulate(world, cfg, 10_000)  # warm-up (imports, caches)
    for rep in range(args.replications):
        t0 = time.perf_counter()
        r = simulate(world, cfg, rep)
        t1 = time.perf_counter()
        tables_for_replication(world, r)
        t2 = time.perf_counter()
        sim_s.append(t1 - t0)
        full_s.append(t2 - t0)
        events.append(r.n_simpy_events)
    med_sim, med_full = statistics.median(sim_s), statistics.median(full_s)
    med_ev = statistics.median(events)
    peak = peak_rss_mb()
    print("\none core, one replication (median of "
          f"{args.replications}):")
    print(f"  simulation            {med_sim:6.3f} s  (min {min(sim_s):.3f}, max {max(sim_s):.3f})")
    print(f"  simulation + tables   {med_full:6.3f} s  target <= {TARGET_S_PER_REP:.1f} s "
          f"-> ratio {med_full / TARGET_S_PER_REP:.2f}")
    print(f"  SimPy events          {med_ev:,.0f}  ({med_ev / med_sim:,.0f} events/s)")
    print(f"  peak memory (RSS)     {peak:6.0f} MB  target <= {TARGET_PEAK_MB:.0f} MB "
          f"-> ratio {peak / TARGET_PEAK_MB:.2f}")

    if not args.skip_pool:
        try:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        except (AttributeError, OSError):
            pass
        n = 10
        cfg.replications = n
        t0 = time.perf_counter()
        run_replications(world, cfg, workers=None)
        wall = time.perf_counter() - t0
        print(f"\ndefault run ({n} replications, all cores, tables included): {wall:.2f} s "
              f"({wall / n:.2f} s per replication)")


def sweep_overhead(n_points: int = 50, replications: int = 4) -> None:
    """Orchestration overhead of the sweep runner on a trivial world (toy, one year).

    overhead per run = (wall x workers - sum of the runs' own wall times) / runs: the time
    spent on expanding the design, configs, the process pool, transfers and assembly.
    """
    import tempfile
    from pathlib import Path

    from sim.sweep import assemble, make_sweep, run_sweep

    design = {"grid": {"staffing.dev_fte_factor": [1 + i / 100 for i in range(n_points)]}}
    for workers in (1, 2):
        t0 = time.perf_counter()
        sw = make_sweep("overhead", design, ["world=toy", "end=2019-01"], replications, 1)
        with tempfile.TemporaryDirectory() as cache:
            recs = run_sweep(sw, workers=workers, cache_dir=Path(cache), progress=False)
            assemble(sw, recs)
        wall = time.perf_counter() - t0
        own = sum(r.wall_s for r in recs)
        n = len(recs)
        print(f"sweep of {n} trivial runs on {workers} worker(s): wall {wall:.2f} s, "
              f"runs' own time {own:.2f} s -> orchestration overhead "
              f"{(wall * workers - own) / n * 1000:.1f} ms per run (target <= 20 ms)")


if __name__ == "__main__":
    main()
