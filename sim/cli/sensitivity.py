"""``ozg-sim-experiment sensitivity``: the global sensitivity screening end to end.

    ozg-sim-experiment sensitivity [replications=R] [trajectories=r] [sobol_n=N]
        [outputs=a,b] [levels=4] [pool=P] [threshold=0.1] [st_threshold=0.05]
        [max_survivors=S] [seed=S] [workers=W] [lang=de] [out=DIR] [cache=DIR]
        [key=value ...] [--dry-run] [--no-cache]
    ozg-sim-experiment decisions [contrasts=strategy=efv-efa,...] [months=2026-12,...]
        [columns=population_coverage] [yearly=false] [...the options above]

An experiment file with a ``sensitivity:`` block (:mod:`sim.sensitivity.spec`) is run by
this module instead of as a sweep: the Morris design over every range, the screening,
the Sobol design over the survivors, each design point run for ``replications``
replications through the sweep machinery (:mod:`sim.sensitivity.evaluate`). Outputs go to
``<out>/<name>/<timestamp>/`` and appear only when complete: ``morris.csv``,
``sobol.csv``, ``evaluations.parquet``, ``points.parquet``, ``runs.parquet``,
``manifest.json``, ``figures/``. With ``contrasts:`` (decisions,
:mod:`sim.sensitivity.contrasts`) every point runs at each lever level the contrasts need,
and ``contrast_signs.csv`` says where a decision's sign flips over a parameter's range.
The output and cache folders are checked before the
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
from sim.engines import open_engine
from sim.figures.recipes import draw_experiment_figures
from sim.io import check_writable, staged_folder, timestamp
from sim.keys import to_dict
from sim.outputs import SENSITIVITY_TABLES
from sim.pool import default_workers
from sim.provenance import config_hash, stamp
from sim.sensitivity import (
    Quantity,
    ScreeningResult,
    SensitivitySpec,
    SweepEvaluator,
    contrasts,
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
#: The figure recipes of a sensitivity folder with level outputs (:mod:`sim.figures.recipes`)
FIGURES = ["morris", "sobol"]
#: ... and those of its decisions (contrasts); the evolution needs the yearly outputs.
CONTRAST_FIGURES = ["contrast_morris", "contrast_sobol"]
EVOLUTION_FIGURE = "contrast_evolution"
#: The tables written as CSV (``<name>.csv``); ``contrast_signs`` only with contrasts.
CSV_TABLES = ("morris", "sobol", "contrast_signs")


def _tables(result: ScreeningResult, quantities: list[Quantity]) -> dict[str, pd.DataFrame]:
    """``morris``, ``sobol`` and (with contrasts) ``contrast_signs`` with their ``group``
    column, in declared column order."""
    group = {q.output: q.group for q in quantities}
    declared = {t.name: t for t in SENSITIVITY_TABLES}
    out = {}
    for name in ("morris", "sobol"):
        df = getattr(result, name)
        df = df.assign(group=df["output"].map(group))
        out[name] = df[list(declared[name].names)]
    decisions = [(q.output, q.group) for q in quantities if q.contrast is not None]
    if decisions:
        stages: list[contrasts.Stage] = [
            (stage, result.problems[stage].keys, result.designs[stage],
             result.evaluations[stage].mean, [q.output for q in quantities])
            for stage in ("sobol", "morris") if stage in result.designs]
        problem = result.problems["morris"]
        out["contrast_signs"] = contrasts.sign_table(
            decisions, problem.keys, [(p.low, p.high) for p in problem.ranges], stages,
            declared["contrast_signs"].names)
    return out


def figure_list(quantities: list[Quantity], yearly: bool) -> list[str]:
    """The recipes of a folder: the level charts if there are level outputs, the decision
    charts if there are contrasts (their evolution over the years if ``yearly``)."""
    levels = any(q.contrast is None for q in quantities)
    decisions = any(q.contrast is not None for q in quantities)
    return [*(FIGURES if levels else []),
            *(CONTRAST_FIGURES + ([EVOLUTION_FIGURE] if yearly else []) if decisions else [])]


def dry_run(spec: SensitivitySpec, k: int, reps: int, base: list[str], seed: int,
            workers: int, cache_dir: Path | None, variants: list[str] | None = None) -> str:
    """Runs of both stages (Sobol for a few survivor counts, or the most that may
    survive) and an estimated time from a one-run pilot; each design point is run at
    every one of ``variants`` (the lever levels of the contrasts)."""
    v = len(variants or ["base"])
    morris = runs_needed(k, spec.settings, reps)[0] * v
    cfg = load_config([*base, f"seed={seed}", f"replications={reps}"])
    key = f"{config_hash(cfg)}-0"
    rec = execute_run(0, 0, cfg, key, None)
    per_run = rec.wall_s
    at = f" x {v} variants" if v > 1 else ""
    lines = [f"sensitivity: {k} parameters; Morris {spec.settings.trajectories} trajectories "
             f"x {k + 1} points{at} x {reps} replications = {morris} runs "
             f"(~{per_run * morris / workers / 60:.1f} min on {workers} worker(s) at "
             f"{per_run:.2f} s a run)"]
    if v > 1:
        lines.insert(0, f"decisions: {len(spec.contrasts)} contrasts; every design point "
                        f"runs at {v} variants: " + ", ".join(variants or []))
    counts = {min(k, c) for c in (5, 10, 15, 20)}
    most = spec.settings.max_survivors
    if most is not None:
        counts = {min(k, most + len(spec.settings.always))}
    for s in sorted(counts):
        sob = runs_needed(k, spec.settings, reps, s)[1] * v
        lines.append(f"  then Sobol N={spec.settings.sobol_n} over {s} survivors"
                     f"{' (at most)' if most is not None else ''}: {sob} runs "
                     f"(~{per_run * sob / workers / 60:.1f} min)")
    if most is not None:
        total = morris + sob
        lines.append(f"  in all at most {total} runs, ~{per_run * total:.0f} CPU-s "
                     f"(~{per_run * total / workers / 60:.1f} min on {workers} worker(s)) "
                     "before the figures")
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
    world = world_for(cfg)
    quantities = resolve(sens.all_outputs(cfg.end), cfg, world)
    screen_on = [q.output for q in resolve(sens.screened_outputs(), cfg, world)]
    base_levels = {f: str(getattr(cfg, f).name) for f in contrasts.CONTRAST_FACTORS}
    workers = int(opts.get("workers", 0)) or default_workers()
    cache_dir = None if "--no-cache" in flags else open_cache(opts.get("cache"))
    if cache_dir is not None:  # a dry run's pilot run writes to the cache too
        check_writable(cache_dir, "cache")
    ev = SweepEvaluator(base, quantities, reps, seed, workers, cache_dir, None,
                        spec["name"], base_levels)
    if "--dry-run" in flags:
        print(dry_run(sens, problem.k, reps, base, seed, workers, cache_dir,
                      ev.variant_labels))
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

    ev.progress = progress
    if len(ev.variants) > 1:
        log.info("%d contrasts: every design point runs at %d variants (%s)",
                 len(sens.contrasts), len(ev.variants), ", ".join(ev.variant_labels))
    t0 = time.perf_counter()
    try:
        with open_engine(cfg.executor, workers) as ev.engine:
            workers = ev.engine.workers
            result = screening(problem, [q.output for q in quantities], ev, sens.settings,
                               screen_on)
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
        for name, df in tables.items():
            df.to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")
        parquet = {"evaluations": evaluations_table(ev),
                   "points": points_table(ev, result.problems, result.designs), "runs": runs}
        for name, df in parquet.items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
        rows = {**{f"{n}.csv": len(df) for n, df in tables.items()},
                **{f"{n}.parquet": len(df) for n, df in parquet.items()}}
        failures = runs[runs["status"] != "ok"]
        manifest = {
            **stamp(TOOL), "experiment": spec["name"],
            "title": spec.get("title", spec["name"]), "title_de": spec.get("title_de"),
            "description": spec.get("description", ""), "base": base,
            "figure_list": figure_list(quantities, sens.yearly), "design": None,
            "replications": reps, "seed": seed,
            "sensitivity": {
                "outputs": sens.outputs,
                "analysed": [{"output": q.output, "group": q.group} for q in quantities],
                "ranges": {p.key: [p.low, p.high] for p in problem.ranges},
                "integer": [p.key for p, i in zip(problem.ranges, problem.integer,
                                                  strict=True) if i],
                **to_dict(sens.settings),
                "screened_on": screen_on,
                "contrasts": [{"factor": c.factor, "a": c.a, "b": c.b, "label": c.label}
                              for c in sens.contrasts],
                "columns": sens.columns, "months": sens.months, "yearly": sens.yearly,
                "variants": ev.variant_labels,
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


__all__ = ["CONTRAST_FIGURES", "CSV_TABLES", "DEFAULT_REPLICATIONS", "EVOLUTION_FIGURE",
           "FIGURES", "dry_run", "figure_list", "run_sensitivity"]
