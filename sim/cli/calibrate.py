"""``ozg-sim-calibrate``: calibrate uncertain parameters against the official counts.

    ozg-sim-calibrate [NAME=historical] [key=value ...] [workers=N] [out=DIR] [apply=true]

``NAME`` is a spec ``conf/calibration/NAME.yaml`` (its first line is this command). A
``key=value`` whose key is a spec key (``design_points``, ``design_rounds``, ``replications``,
``refine_evaluations``, ``projection_replications``, ``seed``, ``catalogue_services``,
``catalogue_federal_services``; the observation errors per source kind are set in the file)
overrides the spec; one whose key is an ozg-sim config key or group (``world=toy``,
``funding=none``, ``staffing.bund_fte=200``) is added to the spec's ``overrides``.
``workers`` (default: all cores; results do not depend on it), ``out`` (default
``outputs/calibration``), ``apply=true`` (also write ``conf/calibrated/NAME.yaml``).

Writes ``<out>/<timestamp>_<NAME>/`` only when complete: ``targets.csv``, ``design.csv``,
``refine.csv``, ``parameters.csv``, ``fit_table.csv``, ``projection.parquet``,
``calibrated.yaml``, ``report.md``, ``manifest.json`` and ``figures/`` (``fit``,
``residuals``, ``posterior``: PNG, SVG, PDF and sidecar CSV). A bad spec or option prints
one line naming key and allowed values, exits with code 2 and writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from sim.calibration.method import CalibrationResult, calibrate, summary_lines
from sim.calibration.report import TOOL, calibrated_yaml, report_markdown
from sim.calibration.spec import (
    SPEC_INTS,
    base_overrides,
    calibrated_overrides,
    check_parameters,
    load_spec,
    spec_names,
)
from sim.cli.common import Progress, fail, log, setup_logging, split_cli_args
from sim.config import CONF_DIR, GROUPS, load_config
from sim.errors import ConfigError, DataError
from sim.figures.calibration import draw_calibration_figures
from sim.io import staged_folder, timestamp
from sim.keys import to_dict
from sim.params import Config
from sim.provenance import code_version, config_hash, stamp
from sim.runner import default_workers
from sim.world import build_world

CALIBRATED_DIR = CONF_DIR / "calibrated"
OPTION_KEYS = ("workers", "out", "apply")
SPEC_OPTION_KEYS = SPEC_INTS
DEFAULT_NAME = "historical"


class _PhaseProgress:
    """One progress display per phase of the calibration (design rounds, projection)."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar: Progress | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.bar = phase, Progress(total, unit="run", desc=phase, every=0.1)
        assert self.bar is not None
        self.bar(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def parse_args(argv: list[str]) -> tuple[str, dict[str, str], dict[str, str], list[str]]:
    """Name, spec options, command options (workers, out, apply) and config overrides."""
    config_roots = set(Config.__dataclass_fields__) | set(GROUPS) | {"hydra"}
    rest, overrides = [], []
    for a in argv:
        key = a.partition("=")[0]
        root = key.lstrip("+~").split(".")[0]
        if "=" in a and key not in SPEC_OPTION_KEYS and key not in OPTION_KEYS \
                and root in config_roots:
            overrides.append(a)
        else:
            rest.append(a)
    names, opts = split_cli_args(rest, (*SPEC_OPTION_KEYS, *OPTION_KEYS))
    if len(names) > 1:
        raise ConfigError(f"{names[1]!r} is not allowed: one spec name, then key=value "
                          f"options (usage: {TOOL} [NAME] [key=value ...])")
    name = names[0] if names else DEFAULT_NAME
    if name not in spec_names():
        raise ConfigError(f"calibration={name!r} is not allowed: one of "
                          + ", ".join(spec_names()))
    if "workers" in opts and not (opts["workers"].isdigit() and int(opts["workers"]) >= 1):
        raise ConfigError(f"workers={opts['workers']!r} is not allowed: an integer >= 1")
    if opts.get("apply", "false").lower() not in ("true", "false"):
        raise ConfigError(f"apply={opts['apply']!r} is not allowed: one of true, false")
    spec_opts = {k: v for k, v in opts.items() if k in SPEC_OPTION_KEYS}
    cmd_opts = {k: v for k, v in opts.items() if k in OPTION_KEYS}
    return name, spec_opts, cmd_opts, overrides


def write_outputs(folder: Path, result: CalibrationResult, meta: dict[str, Any],
                  yaml_text: str) -> dict[str, int]:
    """Tables, calibrated.yaml, figures, report and manifest into ``folder`` (staging)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for name, df in (("targets.csv", result.targets), ("design.csv", result.design),
                     ("refine.csv", result.refine), ("parameters.csv", result.parameters),
                     ("fit_table.csv", result.fit)):
        df.to_csv(folder / name, index=False, float_format="%.8g", date_format="%Y-%m-%d")
        rows[name] = len(df)
    result.projection.to_parquet(folder / "projection.parquet", index=False)
    rows["projection.parquet"] = len(result.projection)
    (folder / "calibrated.yaml").write_text(yaml_text, encoding="utf-8")
    provenance = {"tool": TOOL, "calibration": result.spec.name,
                  "command": meta["command"], "seed": result.spec.seed,
                  "config_hash_calibrated": config_hash(result.calibrated),
                  "code_version": meta["code_version"], "git_commit": meta["git_commit"]}
    meta["figures"] = draw_calibration_figures(
        folder, provenance, result.fit_end, result.ess,
        (result.spec.catalogue_services, result.spec.catalogue_federal_services))
    (folder / "report.md").write_text(report_markdown(result, meta), encoding="utf-8")
    manifest = {
        "tool": TOOL, "calibration": result.spec.name, **meta,
        "spec": result.spec.as_dict(),
        "base_overrides": base_overrides(result.spec),
        "estimate": result.estimate,
        "calibrated_overrides": calibrated_overrides(result.calibrated, result.spec.keys),
        "effective_sample_size": result.ess,
        "log_likelihood_estimate": result.loglik_estimate,
        "fit_end": result.fit_end,
        "seeds": {"root": result.spec.seed, "lhs": result.spec.seed,
                  "design_replications": list(range(result.spec.replications)),
                  "projection_replications": list(range(result.spec.projection_replications)),
                  "scheme": "SeedSequence((seed, replication, stream_id)); see sim/rng.py"},
        "base_config": to_dict(result.base),
        "calibrated_config": to_dict(result.calibrated),
        "config_hash_calibrated": config_hash(result.calibrated),
        "timings": {**{k: round(v, 3) for k, v in result.timings.items()},
                    "wall_s": round(meta["wall_s"], 3), "workers": meta["workers"]},
        "n_runs": result.n_runs,
        "rows": rows,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str),
                                          encoding="utf-8")
    return rows


def run_calibration(argv: list[str]) -> Path:
    """Parse, calibrate and write; returns the output folder."""
    name, spec_opts, opts, overrides = parse_args(argv)
    spec = load_spec(name, spec_opts, overrides)
    base = load_config(base_overrides(spec))
    check_parameters(spec, base)
    world = build_world(base.world)
    workers = int(opts.get("workers", 0)) or default_workers()
    apply = opts.get("apply", "false").lower() == "true"
    out_root = Path(opts.get("out", "outputs/calibration"))
    command = " ".join([TOOL, *argv])
    log.info("%s: %d parameters, %d design points x %d replications, up to %d refinement "
             "evaluations, %d projection replications on %d worker(s)", name,
             len(spec.parameters), spec.design_points, spec.replications,
             spec.refine_evaluations, spec.projection_replications, workers)
    t0 = time.perf_counter()
    progress = _PhaseProgress()
    try:
        result = calibrate(base, world, spec, workers=workers, progress=progress)
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    st = stamp(TOOL, command)
    created = str(st["created_utc"])
    commit = st["git_commit"] or "unknown"
    header = {"command": command, "date": created, "seed": str(spec.seed),
              "code_version": f"{code_version()} (git {commit})",
              "spec": f"conf/calibration/{name}.yaml",
              "report": "",
              "fitted": "to the official OZG counts 2020-2022 (sim/data/"
                        "ozg_history_2018_2022.csv) by synthetic likelihood"}
    meta = {**st, "git_commit": commit, "wall_s": wall, "workers": workers,
            "world": world.summary(), "applied_to": None}
    if apply:
        meta["applied_to"] = (CALIBRATED_DIR / f"{name}.yaml").as_posix()
    with staged_folder(out_root, f"{timestamp()}_{name}") as stage:
        final = stage.final
        header["report"] = (final / "report.md").as_posix()
        write_outputs(stage.path, result, meta, calibrated_yaml(result, header))
    yaml_text = calibrated_yaml(result, header)
    if apply:
        CALIBRATED_DIR.mkdir(parents=True, exist_ok=True)
        target = CALIBRATED_DIR / f"{name}.yaml"
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(yaml_text, encoding="utf-8")
        os.replace(tmp, target)
        print(f"applied: {target}")
    log.info("done in %.0f s", wall)
    print(f"outputs: {final}")
    print("calibrated values:")
    for line in summary_lines(result):
        print(f"  {line}")
    return final


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return
    try:
        run_calibration(args)
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)


__all__ = ["calibrated_yaml", "load_spec", "main", "parse_args",
           "report_markdown", "run_calibration", "spec_names"]

if __name__ == "__main__":
    main()
