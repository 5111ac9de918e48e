"""``ozg-sim-experiment``: run a named experiment (a sweep) end to end.

    ozg-sim-experiment NAME [key=value ...] [--dry-run] [--no-cache]

``NAME`` is a file ``conf/experiment/NAME.yaml`` (its first line is this command) or the
path of a spec file (``./my.yaml``, ``/abs/x.yaml``); either way the spec's ``name:`` is a
plain name and the outputs land under ``out=``. Options
given as ``key=value``: ``replications``, ``seed``, ``workers``, ``lang`` (``en``/``de``),
``out`` (root folder, default ``outputs/experiments``), ``cache`` (run cache folder,
default ``$OZG_SIM_CACHE`` or the user cache folder, :mod:`sim.cache`; ``ozg-sim-cache``
shows and prunes it); a sensitivity experiment also ``trajectories``, ``sobol_n``,
``outputs``, ``levels``, ``pool``, ``threshold``, ``st_threshold``
(:mod:`sim.cli.sensitivity`); every other ``key=value`` is a config override applied to
all points (e.g. ``world=toy``). Outputs go to ``<out>/<NAME>/<timestamp>/`` and appear only when
complete: ``manifest.json``, one tidy Parquet table per kind for all runs, ``summary.csv``,
``figures/``. A sweep needs at least two replications (its figures and tables show
intervals across them); fewer are refused before any run.

Before any run, the output and cache folders are checked (not a file, writable); a bad
option, file or folder prints one line and exits with code 2, a failed write while writing
(full disk, read-only) one line naming the path and exit code 3; either way nothing is left
half-written.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from sim.cache import is_cached
from sim.cli.cache import log_cache, open_cache
from sim.cli.common import (
    EXIT_WORKERS_LOST,
    Progress,
    collect_options,
    fail,
    fail_io,
    log,
    parse_int,
    setup_logging,
)
from sim.cli.sensitivity import run_sensitivity
from sim.config import check_repeats
from sim.errors import ConfigError, DataError
from sim.exports import write_folder_exports
from sim.figures.recipes import draw_experiment_figures
from sim.figures.tables import MIN_REPLICATIONS_PER_CHART
from sim.io import OutputError, check_writable, staged_folder, timestamp
from sim.keys import to_dict
from sim.metrics import summarise_kpis
from sim.posterior import draws_record
from sim.provenance import config_hash, stamp
from sim.runner import WorkerLostError, default_workers
from sim.sensitivity.spec import OPTION_KEYS as SENSITIVITY_OPTIONS  # its options
from sim.sweep import (
    Sweep,
    assemble,
    execute_run,
    experiment_names,
    load_spec,
    make_sweep,
    run_sweep,
)

TOOL = "ozg-sim-experiment"
OPTION_KEYS = ("replications", "seed", "workers", "lang", "out", "cache")


def parse_args(argv: list[str]) -> tuple[str, dict[str, str], list[str], set[str]]:
    """Split the command line into name, options, config overrides and flags."""
    flags = {a for a in argv if a.startswith("--")}
    rest = [a for a in argv if not a.startswith("--")]
    bad = flags - {"--dry-run", "--no-cache"}
    if bad:
        raise ConfigError(f"{sorted(bad)[0]} is not allowed: flags are --dry-run, --no-cache")
    if not rest or "=" in rest[0]:
        raise ConfigError("experiment name missing: allowed " + ", ".join(experiment_names()))
    name, pairs, overrides = rest[0], [], []
    for a in rest[1:]:
        key, sep, value = a.partition("=")
        if not sep:
            raise ConfigError(f"{a!r} is not an override: allowed key=value")
        if key in OPTION_KEYS or key in SENSITIVITY_OPTIONS:
            pairs.append((key, value))
        else:
            overrides.append(a)
    opts = collect_options(pairs)
    check_repeats(overrides)  # what the user typed; it may still override the spec's base
    if opts.get("lang", "en") not in ("en", "de"):
        raise ConfigError(f"lang={opts['lang']!r} is not allowed: one of en, de")
    for k in ("replications", "seed", "workers"):
        if k in opts:
            parse_int(k, opts[k], 0 if k == "seed" else 1)
    for k in ("out", "cache"):
        if k in opts and not opts[k]:
            raise ConfigError(f"{k}= is not allowed empty: a folder")
    return name, opts, overrides, flags


def build(name: str, opts: dict[str, str], overrides: list[str]) -> tuple[dict[str, Any], Sweep]:
    spec = load_spec(name)
    reps = int(opts.get("replications", spec.get("replications", 10)))
    if reps < MIN_REPLICATIONS_PER_CHART:
        raise ConfigError(f"replications={reps} is not allowed for the sweep {spec['name']}: "
                          f"at least {MIN_REPLICATIONS_PER_CHART}, because its figures and "
                          "tables show medians, bands and intervals across replications "
                          "(one run has none); for a single run use ozg-sim replications=1")
    seed = int(opts.get("seed", spec.get("seed", 1)))
    base = [*map(str, spec.get("base") or []), *overrides]
    return spec, make_sweep(spec["name"], dict(spec["design"]), base, reps, seed)


def dry_run(sweep: Sweep, workers: int, cache_dir: Path | None, pilot_runs: int = 2) -> str:
    """Number of runs, how many are cached, and an estimated time from a short pilot."""
    runs = list(sweep.runs())
    todo = [x for x in runs if not is_cached(cache_dir, x[3])]
    cached = len(runs) - len(todo)
    walls = [execute_run(p, r, c, k, cache_dir).wall_s for p, r, c, k in todo[:pilot_runs]]
    per_run = sum(walls) / len(walls) if walls else 0.0
    left = max(0, len(todo) - len(walls))
    est = per_run * left / max(1, workers)
    return (f"{sweep.name}: {len(sweep.points)} points x {sweep.replications} replications "
            f"= {sweep.n_runs} runs; {cached} cached; pilot {len(walls)} run(s) at "
            f"{per_run:.2f} s each; estimated {est:.0f} s on {workers} worker(s)")


def write_outputs(folder: Path, spec: dict[str, Any], sweep: Sweep,
                  tables: dict[str, pd.DataFrame], wall_s: float, workers: int,
                  lang: str) -> list[str]:
    """Tables, summary, manifest and figures into ``folder`` (a staging folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
        rows[f"{name}.parquet"] = len(df)
    summary = summarise_points(tables)
    summary.to_csv(folder / "summary.csv", index=False, float_format="%.6g")
    runs = tables["runs"]
    failures = runs[runs["status"] != "ok"]
    manifest = {
        **stamp(TOOL), "experiment": spec["name"],
        "title": spec.get("title", spec["name"]), "title_de": spec.get("title_de"),
        "description": spec.get("description", ""),
        "design": spec["design"], "base": spec.get("base") or [],
        "figure_list": list(spec.get("figures") or ["fan"]),
        "reference": spec.get("reference"),
        "replications": sweep.replications,
        "seed": sweep.configs[0].seed if sweep.configs else None,
        "points": [{"point": i, "overrides": p, "config_hash": config_hash(c)}
                   for i, (p, c) in enumerate(zip(sweep.points, sweep.configs, strict=True))],
        "config_of_first_point": to_dict(sweep.configs[0]) if sweep.configs else None,
        "calibrated_draws": draws_record(sweep.configs[0].calibrated_draws,
                                         sweep.configs[0].posterior) if sweep.configs else None,
        "timings": {"wall_s": round(wall_s, 3), "workers": workers,
                    "runs": len(runs), "cached": int(runs["cached"].sum()),
                    "run_wall_s_total": round(float(runs["wall_s"].sum()), 3)},
        "failures": failures[["point", "replication", "error"]].to_dict("records"),
        "rows": rows, "lang": lang,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return [*draw_experiment_figures(folder, lang),
            *write_folder_exports(folder, manifest, tables)]


def summarise_points(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """KPI summary (mean, median, 5-95 %) per design point, with its design columns."""
    design = tables["points"].drop(columns="config_hash")
    kp = tables["kpis"].drop(columns=[c for c in design.columns if c != "point"])
    parts = [summarise_kpis(grp.drop(columns="point")).assign(point=point)
             for point, grp in kp.groupby("point", sort=True)]
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return design.merge(out, on="point")


def run_experiment(argv: list[str]) -> Path | None:
    """Parse, run and write an experiment; returns the output folder (None for dry runs)."""
    name, opts, overrides, flags = parse_args(argv)
    spec = load_spec(name)
    given = sorted(k for k in opts if k in SENSITIVITY_OPTIONS)
    if "sensitivity" in spec:
        return run_sensitivity(spec, opts, overrides, flags)
    if given:
        raise ConfigError(f"{given[0]}= is not allowed: an option of sensitivity "
                          f"experiments only (options are {', '.join(OPTION_KEYS)})")
    cache_dir = None if "--no-cache" in flags else open_cache(opts.get("cache"))
    if cache_dir is not None:  # a dry run's pilot runs write to the cache too
        check_writable(cache_dir, "cache")
    out_root = Path(opts.get("out", "outputs/experiments")) / spec["name"]
    if "--dry-run" not in flags:
        check_writable(out_root, "out")
    spec, sweep = build(name, opts, overrides)
    workers = int(opts.get("workers", 0)) or default_workers()
    if "--dry-run" in flags:
        print(dry_run(sweep, workers, cache_dir))
        return None
    lang = opts.get("lang", "en")
    log.info("%s: %d points x %d replications = %d runs on %d worker(s)", spec["name"],
             len(sweep.points), sweep.replications, sweep.n_runs, workers)
    log_cache(cache_dir)
    t0 = time.perf_counter()
    cached = sum(is_cached(cache_dir, key) for *_rest, key in sweep.runs())
    progress = Progress(sweep.n_runs, unit="run", desc="runs", initial=cached, every=0.1)
    try:
        records = run_sweep(sweep, workers, cache_dir, progress)
    finally:
        progress.close()
    tables = assemble(sweep, records)
    wall = time.perf_counter() - t0
    with staged_folder(out_root, timestamp()) as stage:
        write_outputs(stage.path, spec, sweep, tables, wall, workers, lang)
    final = stage.final
    runs = tables["runs"]
    failed = runs[runs["status"] != "ok"]
    log.info("done in %.1f s: %d runs (%d from the cache), %d failed", wall, len(runs),
             int(runs["cached"].sum()), len(failed))
    for _, f in failed.iterrows():
        log.warning("failed: point %d replication %d: %s", f["point"], f["replication"],
                    f["error"])
    print(f"outputs: {final}")
    print(f"figures: {final / 'figures'}")
    return final


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    try:
        run_experiment(list(sys.argv[1:] if argv is None else argv))
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    except WorkerLostError as exc:
        fail(TOOL, exc, EXIT_WORKERS_LOST)


if __name__ == "__main__":
    main()
