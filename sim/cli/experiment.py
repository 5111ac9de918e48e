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
    RESUME_NOTE,
    CommandLine,
    Option,
    Progress,
    fail,
    fail_io,
    interrupted,
    log,
    log_figure,
    parse_int,
    setup_logging,
)
from sim.cli.sensitivity import run_sensitivity
from sim.config import GROUPS, check_overrides, check_repeats
from sim.discovery import check_questions, parse_questions
from sim.engines import open_engine
from sim.errors import ConfigError, DataError
from sim.exports import write_folder_exports
from sim.figures.recipes import draw_experiment_figures
from sim.figures.tables import MIN_REPLICATIONS_PER_CHART
from sim.io import OutputError, check_writable, staged_folder, timestamp
from sim.keys import to_dict
from sim.metrics import summarise_kpis
from sim.outputs import read_folder
from sim.pool import WorkerLostError, default_workers
from sim.posterior import draws_record
from sim.provenance import config_hash, stamp
from sim.sensitivity.quantities import kpi_names
from sim.sensitivity.spec import OPTION_KEYS as SENSITIVITY_OPTIONS  # its options
from sim.store import PointStore
from sim.sweep import (
    Sweep,
    execute_run,
    expand_design,
    experiment_names,
    load_spec,
    make_sweep,
    run_sweep,
    small_tables,
)

TOOL = "ozg-sim-experiment"
OPTION_KEYS = ("replications", "seed", "workers", "lang", "out", "cache")
#: Most values of a design factor that a conflict message lists one by one.
MAX_LISTED_LEVELS = 8
COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} NAME [key=value ...] [--dry-run] [--no-cache]",
    "Run a named experiment (a sweep of design points x replications) end to end: tables, "
    "summary, figures under out=.",
    positional=("NAME", "conf/experiment/NAME.yaml (" + ", ".join(experiment_names())
                + ") or the path of a spec file"),
    options={
        "replications": Option("N", "replications per design point, >= 2 (default: the "
                                    "spec's)"),
        "seed": Option("N", "root seed (default: the spec's)"),
        "workers": Option("N", "worker processes (default: all cores; results do not "
                               "depend on it)"),
        "lang": Option("en|de", "language of the figures (default: en)"),
        "out": Option("DIR", "root of the output folders (default: outputs/experiments)"),
        "cache": Option("DIR", "run cache (default: $OZG_SIM_CACHE or the user cache "
                               "folder; see ozg-sim-cache)"),
        **{k: Option("VALUE", "sensitivity experiments only (see README, Sensitivity)")
           for k in SENSITIVITY_OPTIONS}},
    flags={"--dry-run": "count the runs and the cached ones, estimate the time from a "
                        "pilot of 2 runs; write no output folder",
           "--no-cache": "run without the run cache (nothing is resumed or kept)"},
    overrides="any other key=value is a config override for every design point "
              "(world=toy); one that a design factor sets is refused",
    notes=("an interrupted experiment (Ctrl-C) resumes from the run cache when started "
           "again.",), pool=True)


def parse_args(argv: list[str]) -> tuple[str, dict[str, str], list[str], set[str]]:
    """Split the command line into name, options, config overrides and flags."""
    cmd = COMMAND_LINE.parse(argv)
    if not cmd.positionals:
        raise ConfigError("experiment name missing: allowed " + ", ".join(experiment_names()))
    if len(cmd.positionals) > 1:
        raise ConfigError(f"{cmd.positionals[1]!r} is not an override: allowed key=value")
    name, opts, overrides, flags = cmd.positionals[0], cmd.options, cmd.overrides, cmd.flags
    check_repeats(overrides)  # what the user typed; it may still override the spec's base
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
    check_overrides(overrides)  # an unknown key is named as such before any conflict
    check_conflicts(spec["name"], expand_design(dict(spec["design"]), seed), overrides)
    questions = parse_questions(spec["discovery"]) if "discovery" in spec else None
    base = [*map(str, spec.get("base") or []), *overrides]
    sweep = make_sweep(spec["name"], dict(spec["design"]), base, reps, seed)
    if questions is not None:  # scenario discovery's questions, before any run
        cfgs = {c.funding.name: c for c in sweep.configs}.values()  # programmes name KPIs
        check_questions(questions, spec["design"],
                        list(dict.fromkeys(k for c in cfgs for k in kpi_names(c))),
                        sweep.configs[0].end)
    return spec, sweep


def _levels(values: list[Any]) -> str:
    """The values a design gives a factor, for a message: listed, or their range."""
    distinct = list(dict.fromkeys(values))
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in distinct)
    if numbers and len(distinct) > MAX_LISTED_LEVELS:
        return f"to {len(distinct)} values from {min(distinct):.3g} to {max(distinct):.3g}"
    return "to " + ", ".join(str(v) for v in distinct)


def check_conflicts(name: str, points: list[dict[str, Any]], overrides: list[str]) -> None:
    """Refuse a config override that a design factor sets at every point (it would be
    silently replaced): the same key, or a key inside a config group the design picks
    (``funding.programmes...`` when the design sets ``funding``).

    Raises
    ------
    ConfigError
        Naming the override, the experiment and the values its design gives the key.
    """
    factors: dict[str, list[Any]] = {}
    for point in points:
        for key, value in point.items():
            factors.setdefault(key, []).append(value)
    for text in overrides:
        key = text.partition("=")[0].lstrip("+~")
        hit = key if key in factors else key.split(".")[0]
        if hit in factors and (hit == key or hit in GROUPS):
            raise ConfigError(f"{text} conflicts with the design of {name}, which sets {hit} "
                              f"{_levels(factors[hit])}; drop it or edit the spec (base:)")


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
                  small: dict[str, pd.DataFrame], datasets: dict[str, int], wall_s: float,
                  engine: str, workers: int, lang: str) -> list[str]:
    """The small tables (``kpis``, ``runs``, ``points``), summary, manifest and figures
    into ``folder`` (a staging folder), where the sweep's :class:`sim.store.PointStore`
    has written the datasets of the large tables (``datasets``: their rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {f"{name}/": n for name, n in datasets.items()}
    for name, df in small.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
        rows[f"{name}.parquet"] = len(df)
    summary = summarise_points(small)
    summary.to_csv(folder / "summary.csv", index=False, float_format="%.6g")
    runs = small["runs"]
    failures = runs[runs["status"] != "ok"]
    manifest = {
        **stamp(TOOL), "experiment": spec["name"],
        "title": spec.get("title", spec["name"]), "title_de": spec.get("title_de"),
        "description": spec.get("description", ""),
        "design": sweep.design, "base": spec.get("base") or [],
        "figure_list": list(spec.get("figures") or ["fan"]),
        "reference": spec.get("reference"),
        "discovery": spec.get("discovery"),
        "replications": sweep.replications,
        "seed": sweep.configs[0].seed if sweep.configs else None,
        "points": [{"point": i, "overrides": p, "config_hash": config_hash(c)}
                   for i, (p, c) in enumerate(zip(sweep.points, sweep.configs, strict=True))],
        "config_of_first_point": to_dict(sweep.configs[0]) if sweep.configs else None,
        "calibrated_draws": draws_record(sweep.configs[0].calibrated_draws,
                                         sweep.configs[0].posterior) if sweep.configs else None,
        "timings": {"wall_s": round(wall_s, 3), "engine": engine, "workers": workers,
                    "runs": len(runs), "cached": int(runs["cached"].sum()),
                    "run_wall_s_total": round(float(runs["wall_s"].sum()), 3)},
        "failures": failures[["point", "replication", "error"]].to_dict("records"),
        "rows": rows, "lang": lang,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    # the exports read only the tables of the coverage GeoJSON (the figures open the folder
    # themselves), each when it is needed
    _man, tables = read_folder(folder, ("by_kreis", "by_state", "points"))
    return [*draw_experiment_figures(folder, lang, progress=log_figure),
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
    log_cache(cache_dir)
    t0 = time.perf_counter()
    cached = sum(is_cached(cache_dir, key) for *_rest, key in sweep.runs())
    with staged_folder(out_root, timestamp()) as stage, \
            open_engine(sweep.configs[0].executor, workers) as engine:
        log.info("%s: %d points x %d replications = %d runs on %s", spec["name"],
                 len(sweep.points), sweep.replications, sweep.n_runs, engine.describe())
        store = PointStore(stage.path, sweep)  # each point's tables on disk as it completes
        progress = Progress(sweep.n_runs, unit="run", desc="runs", initial=cached, every=0.1)
        try:
            records = run_sweep(sweep, workers, cache_dir, progress, engine=engine,
                                on_point=store.add)
        finally:
            progress.close()
        datasets = store.close()
        small = small_tables(sweep, store.design, records)
        wall = time.perf_counter() - t0
        write_outputs(stage.path, spec, sweep, small, datasets, wall, engine.name,
                      engine.workers, lang)
    final = stage.final
    runs = small["runs"]
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
    except KeyboardInterrupt:
        interrupted(TOOL, RESUME_NOTE)
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    except WorkerLostError as exc:
        fail(TOOL, exc, EXIT_WORKERS_LOST)


if __name__ == "__main__":
    main()
