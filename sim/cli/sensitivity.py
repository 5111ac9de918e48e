"""``ozg-sim-experiment sensitivity``: the global sensitivity screening end to end.

    ozg-sim-experiment sensitivity [replications=R] [trajectories=r] [sobol_n=N]
        [outputs=a,b] [levels=4] [pool=P] [threshold=0.1] [st_threshold=0.05]
        [seed=S] [workers=W] [lang=de] [out=DIR] [cache=DIR] [key=value ...]
        [--dry-run] [--no-cache]

An experiment file with a ``sensitivity:`` block (:mod:`sim.sensitivity.spec`) is run by
this module instead of as a sweep: the Morris design over every range, the screening,
the Sobol design over the survivors, each design point run for ``replications``
replications through the sweep machinery (:mod:`sim.sensitivity.evaluate`). Outputs go to
``<out>/<name>/<timestamp>/`` and appear only when complete: ``morris.csv``,
``sobol.csv``, ``evaluations.parquet``, ``points.parquet``, ``runs.parquet``,
``manifest.json``, ``figures/``. The output and cache folders are checked before the
first run (:func:`sim.io.check_writable`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from sim.cache import is_cached
from sim.cli.cache import log_cache, open_cache
from sim.cli.common import Progress, log, log_figure
from sim.config import load_config
from sim.figures.recipes import draw_experiment_figures
from sim.io import check_writable, staged_folder, timestamp
from sim.keys import to_dict
from sim.outputs import SENSITIVITY_TABLES
from sim.provenance import config_hash, stamp
from sim.runner import default_workers
from sim.sensitivity import (
    Quantity,
    ScreeningResult,
    SensitivitySpec,
    SweepEvaluator,
    evaluations_table,
    points_table,
    problem_of,
    resolve,
    runs_needed,
    runs_table,
    screening,
    spec_from_dict,
)
from sim.sensitivity.spec import OPTION_KEYS
from sim.sweep import Sweep, execute_run, world_for

TOOL = "ozg-sim-experiment"
#: Replications per design point when the experiment file names none.
DEFAULT_REPLICATIONS = 2
#: The figure recipes of every sensitivity folder (:mod:`sim.figures.recipes`).
FIGURES = ["morris", "sobol"]


def _tables(result: ScreeningResult, quantities: list[Quantity]) -> dict[str, pd.DataFrame]:
    """``morris`` and ``sobol`` with their ``group`` column, in declared column order."""
    group = {q.output: q.group for q in quantities}
    out = {}
    for t in SENSITIVITY_TABLES:
        if t.name in ("morris", "sobol"):
            df = getattr(result, t.name)
            df = df.assign(group=df["output"].map(group))
            out[t.name] = df[list(t.names)]
    return out


def dry_run(spec: SensitivitySpec, k: int, reps: int, base: list[str], seed: int,
            workers: int, cache_dir: Path | None) -> str:
    """Runs of both stages (Sobol for a few survivor counts) and an estimated time from a
    one-run pilot."""
    morris, _ = runs_needed(k, spec.settings, reps)
    cfg = load_config([*base, f"seed={seed}", f"replications={reps}"])
    key = f"{config_hash(cfg)}-0"
    rec = execute_run(0, 0, cfg, key, None)
    per_run = rec.wall_s
    lines = [f"sensitivity: {k} parameters; Morris {spec.settings.trajectories} trajectories "
             f"x {k + 1} points x {reps} replications = {morris} runs "
             f"(~{per_run * morris / workers / 60:.1f} min on {workers} worker(s) at "
             f"{per_run:.2f} s a run)"]
    for s in sorted({min(k, v) for v in (5, 10, 15, 20)}):
        sob = runs_needed(k, spec.settings, reps, s)[1]
        lines.append(f"  then Sobol N={spec.settings.sobol_n} over {s} survivors: {sob} runs "
                     f"(~{per_run * sob / workers / 60:.1f} min)")
    if cache_dir is not None:
        lines.append(f"  cached runs are reused from {cache_dir}")
    return "\n".join(lines)


def run_sensitivity(spec: dict[str, Any], opts: dict[str, str], overrides: list[str],
                    flags: set[str]) -> Path | None:
    """Check, run and write a sensitivity experiment; returns its folder (None for a dry
    run). Every check runs before the first simulation, so bad input writes nothing."""
    reps = int(opts.get("replications", spec.get("replications", DEFAULT_REPLICATIONS)))
    seed = int(opts.get("seed", spec.get("seed", 1)))
    base = [*map(str, spec.get("base") or []), *overrides]
    sens = spec_from_dict(spec["sensitivity"],
                          {k: v for k, v in opts.items() if k in OPTION_KEYS}, seed)
    cfg = load_config([*base, f"seed={seed}", f"replications={reps}"])
    problem = problem_of(sens, cfg)
    quantities = resolve(sens.outputs, cfg, world_for(cfg))
    workers = int(opts.get("workers", 0)) or default_workers()
    cache_dir = None if "--no-cache" in flags else open_cache(opts.get("cache"))
    if cache_dir is not None:  # a dry run's pilot run writes to the cache too
        check_writable(cache_dir, "cache")
    if "--dry-run" in flags:
        print(dry_run(sens, problem.k, reps, base, seed, workers, cache_dir))
        return None
    lang = opts.get("lang", "en")
    out_root = check_writable(Path(opts.get("out", "outputs/experiments")) / spec["name"],
                              "out")
    log.info("%s: %d parameters, %d outputs, %d replications per point, %d worker(s)",
             spec["name"], problem.k, len(quantities), reps, workers)
    log_cache(cache_dir)
    bars: list[Progress] = []

    def progress(stage: str, sweep: Sweep) -> Progress:
        cached = sum(is_cached(cache_dir, key) for *_r, key in sweep.runs())
        log.info("%s: %d points x %d replications = %d runs (%d cached)", stage,
                 len(sweep.points), reps, sweep.n_runs, cached)
        bars.append(Progress(sweep.n_runs, unit="run", desc=f"{stage} runs",
                             initial=cached, every=0.1))
        return bars[-1]

    ev = SweepEvaluator(base, quantities, reps, seed, workers, cache_dir, progress,
                        spec["name"])
    t0 = time.perf_counter()
    try:
        result = screening(problem, [q.output for q in quantities], ev, sens.settings)
    finally:
        for bar in bars:
            bar.close()
    wall = time.perf_counter() - t0
    log.info("screening: %d of %d parameters survive Morris: %s", len(result.survivors),
             problem.k, ", ".join(result.survivors) or "none")
    tables = _tables(result, quantities)
    runs = runs_table(ev)
    with staged_folder(out_root, timestamp()) as stage:
        folder = stage.path
        for name in ("morris", "sobol"):
            tables[name].to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")
        parquet = {"evaluations": evaluations_table(ev),
                   "points": points_table(ev, result.problems, result.designs), "runs": runs}
        for name, df in parquet.items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
        rows = {**{f"{n}.csv": len(tables[n]) for n in ("morris", "sobol")},
                **{f"{n}.parquet": len(df) for n, df in parquet.items()}}
        failures = runs[runs["status"] != "ok"]
        manifest = {
            **stamp(TOOL), "experiment": spec["name"],
            "title": spec.get("title", spec["name"]), "title_de": spec.get("title_de"),
            "description": spec.get("description", ""), "base": base,
            "figure_list": FIGURES, "design": None,
            "replications": reps, "seed": seed,
            "sensitivity": {
                "outputs": sens.outputs,
                "analysed": [{"output": q.output, "group": q.group} for q in quantities],
                "ranges": {p.key: [p.low, p.high] for p in problem.ranges},
                "integer": [p.key for p, i in zip(problem.ranges, problem.integer,
                                                  strict=True) if i],
                **to_dict(sens.settings),
                "survivors": result.survivors,
                "points": {s: len(x) for s, x in result.designs.items()}},
            "config_of_first_point": to_dict(cfg), "config_hash_base": config_hash(cfg),
            "timings": {"wall_s": round(wall, 3), "workers": workers, "runs": len(runs),
                        "cached": int(runs["cached"].sum()),
                        "run_wall_s_total": round(float(runs["wall_s"].sum()), 3),
                        "by_stage": {s: {"runs": int((runs["stage"] == s).sum()),
                                         "cached": int(runs.loc[runs["stage"] == s,
                                                                "cached"].sum())}
                                     for s in result.designs}},
            "failures": failures[["stage", "point", "replication", "error"]].to_dict(
                "records"),
            "rows": rows, "lang": lang,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        draw_experiment_figures(folder, lang, progress=log_figure)
    final = stage.final
    log.info("done in %.1f s: %d runs (%d from the cache), %d failed", wall, len(runs),
             int(runs["cached"].sum()), len(failures))
    for _, f in failures.iterrows():
        log.warning("failed: %s point %d replication %d: %s", f["stage"], f["point"],
                    f["replication"], f["error"])
    print(f"outputs: {final}")
    print(f"figures: {final / 'figures'}")
    return final


__all__ = ["DEFAULT_REPLICATIONS", "FIGURES", "dry_run", "run_sensitivity"]
