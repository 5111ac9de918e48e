"""``ozg-sim-calibrate``: calibrate uncertain parameters against the official counts.

    ozg-sim-calibrate [NAME=historical] [key=value ...] [workers=N] [out=DIR] [apply=true]

``NAME`` is a spec ``conf/calibration/NAME.yaml`` (its first line is this command). A
``key=value`` whose key is a spec key (``design_points``, ``design_rounds``, ``replications``,
``refine_evaluations``, ``projection_replications``, ``sigma_relative``,
``sigma_absolute``, ``seed``, ``catalogue_services``, ``catalogue_federal_services``)
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
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.calibrate import (
    SHARE_METRICS,
    SPEC_FLOATS,
    SPEC_INTS,
    CalibrationResult,
    CalibrationSpec,
    at_prior_bounds,
    calibrate,
    calibrated_overrides,
    check_parameters,
    spec_from_dict,
    summary_lines,
)
from sim.cli.common import fail, log, setup_logging, split_cli_args
from sim.config import CONF_DIR, GROUPS, load_config, read_yaml, to_yaml
from sim.errors import ConfigError, DataError
from sim.figures.calibration import draw_calibration_figures
from sim.figures.labels import param_label
from sim.io import staged_folder, timestamp
from sim.params import Config, to_dict
from sim.provenance import code_version, config_hash, git_commit, package_versions
from sim.runner import default_workers
from sim.world import build_world

CALIBRATION_DIR = CONF_DIR / "calibration"
CALIBRATED_DIR = CONF_DIR / "calibrated"
OPTION_KEYS = ("workers", "out", "apply")
SPEC_OPTION_KEYS = (*SPEC_INTS, *SPEC_FLOATS)
DEFAULT_NAME = "historical"
TOOL = "ozg-sim-calibrate"


def spec_names() -> list[str]:
    return sorted(p.stem for p in CALIBRATION_DIR.glob("*.yaml"))


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


def load_spec(name: str, spec_opts: dict[str, str], overrides: list[str]) -> CalibrationSpec:
    """The spec file with the command-line options and overrides applied, checked."""
    path = CALIBRATION_DIR / f"{name}.yaml"
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: is not a mapping of spec keys")
    spec = spec_from_dict({**{str(k): v for k, v in raw.items()}, **spec_opts}, name)
    spec.name = name
    spec.overrides = [*spec.overrides, *overrides]
    return spec


def base_overrides(spec: CalibrationSpec) -> list[str]:
    """Overrides of the base config: the spec's, starting from the documented defaults
    (``calibrated=none``) unless they choose a ``calibrated`` option themselves, so that a
    calibration never starts from an earlier one."""
    chosen = any(o.lstrip("+~").partition("=")[0] == "calibrated" for o in spec.overrides)
    pin = ["calibrated=none"] if "calibrated" in GROUPS and not chosen else []
    return [*pin, *spec.overrides]


# --------------------------------------------------------------------------- outputs


def _fmt(x: Any, digits: int = 4) -> str:
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _md_table(df: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    formats = formats or {}
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    lines = [head, sep]
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            cells.append(format(v, formats[c]) if c in formats and isinstance(v, float)
                         else _fmt(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibrated_yaml(result: CalibrationResult, header: dict[str, str]) -> str:
    """``calibrated.yaml``: a ``# @package _global_`` Hydra file of the calibrated keys
    (the package line first: Hydra reads it only at the top), headed by provenance."""
    body = to_yaml(calibrated_overrides(result.calibrated, result.spec.keys))
    lines = ["# @package _global_"]
    lines += [f"# {k}: {v}" for k, v in header.items()]
    return "\n".join(lines) + "\n" + body


def report_markdown(result: CalibrationResult, meta: dict[str, Any]) -> str:
    """``report.md``: method, measurement model, tables, diagnostics and figures."""
    spec = result.spec
    p = result.parameters.copy()
    p.insert(0, "parameter", [f"`{k}`" for k in p["key"]])
    p.insert(1, "meaning", [param_label(k, sentence=True) for k in p["key"]])
    p = p.drop(columns="key").rename(columns={"posterior_median": "posterior median",
                                              "q05": "5 %", "q95": "95 %",
                                              "low": "prior low", "high": "prior high"})
    fit = result.fit
    ft = pd.DataFrame({
        "date": fit["date"], "geo": fit["geo"], "metric": fit["metric"],
        "observed": [(f"more than {v:g}" if b == "lower" else f"{v:g}")
                     + (" of the catalogue" if m in SHARE_METRICS else "")
                     for v, b, m in zip(fit["observed_value"], fit["bound"], fit["metric"],
                                        strict=True)],
        "observed share": fit["observed"].map(lambda v: f"{100 * v:.1f} %"),
        "σ": fit["sigma"].map(lambda v: f"{100 * v:.1f} pp"),
        "model median (5–95 %)": [f"{100 * m:.1f} % ({100 * a:.1f}–{100 * b:.1f})"
                                  for m, a, b in zip(fit["model_median"], fit["model_q05"],
                                                     fit["model_q95"], strict=True)],
        "model in catalogue units": fit["model_median_catalogue"].map(lambda v: f"{v:.0f}"),
        "z": fit["z"].map(lambda v: f"{v:+.2f}")})
    off = fit[fit["z"].abs() > 2]
    misfit = [f"- {r['date']} {r['geo']} `{r['metric']}`: observed {r['observed_value']:g} "
              f"({100 * r['observed']:.1f} %), model {100 * r['model_median']:.1f} % "
              f"(z = {r['z']:+.2f}: the model is {'below' if r['z'] > 0 else 'above'} the "
              "observed value)" for _, r in off.iterrows()]
    n_design = len(result.design)
    ess_note = ("" if result.ess >= 10 else
                f" **The posterior summary rests on few design points (ESS {result.ess:.1f} "
                f"of {n_design}):** the 5–95 % intervals are coarse; more `design_points` or "
                "a wider observation error give a smoother posterior.")
    ll_best = float(result.design["log_likelihood"].max())
    bounds = at_prior_bounds(result.parameters)
    bound_note = "".join(
        f" **`{key}` sits at the {side} bound of its prior:** the targets ask for values "
        "beyond the prior range (widen it if such values are plausible), or the model lacks "
        "a mechanism the targets need; see the misfits below." for key, side in bounds)
    s = meta["world"]
    lines = [
        f"# Calibration `{spec.name}`", "",
        f"Created {meta['created_utc']} by `{meta['command']}` in {meta['wall_s']:.0f} s on "
        f"{meta['workers']} worker(s); seed {spec.seed}; code version {meta['code_version']}"
        f" (git {meta['git_commit']}). World `{result.base.world.name}`: {s['states']} "
        f"Länder, {s['services']} services ({s['services_federal']} federal), "
        f"{s['admins']} municipal administrations. Base config: `conf/config.yaml` with "
        f"`{' '.join(base_overrides(spec)) or '(no overrides)'}`.", "",
        "## Calibrated values", "",
        _md_table(p, {"estimate": ".4g", "posterior median": ".4g", "5 %": ".4g",
                      "95 %": ".4g", "prior low": "g", "prior high": "g"}), "",
        f"Effective sample size of the posterior weights: {result.ess:.1f} of {n_design} "
        f"design points.{ess_note} Log-likelihood at the estimate {result.loglik_estimate:.2f}"
        f" (best design point {ll_best:.2f}).{bound_note}", "",
        "`calibrated.yaml` sets these values (a Hydra `# @package _global_` file); "
        f"`{TOOL} {spec.name} apply=true` writes it to `conf/calibrated/{spec.name}.yaml`.", "",
        "## Method", "",
        f"1. **Prior**: uniform over the box of the {len(spec.parameters)} parameters above.",
        f"2. **Design**: {spec.design_rounds} round(s) of a Latin hypercube (scipy.stats.qmc, "
        f"seed {spec.seed}) of {spec.design_points} points each; each point runs "
        f"{spec.replications} replications with common random numbers (replications "
        f"0..{spec.replications - 1} of seed {spec.seed}), simulated up to {result.fit_end}, "
        "the last target month. Round 1 covers the prior box; each later round a box around "
        "the posterior so far (per parameter the weighted 1–99 % range, widened on each side "
        "by half the typical point spacing of the previous round): adaptive multiple "
        "importance "
        "sampling (Cornuet et al. 2012) with the rounds as a deterministic mixture, so "
        "every point is weighted by likelihood / mixture density and the first round keeps "
        "the whole prior covered.",
        "3. **Synthetic likelihood** (Wood 2010): per point the mean m and variance s² over "
        "replications of each observable; a target o with measurement error σ contributes "
        "−½ (m − o)² / v − ½ log(2π v), v = σ² + s² (1 + 1/R). The real rollout is one "
        "realisation of the process, so the full single-run variance s² enters (not s²/R), "
        "plus the Monte-Carlo error s²/R of m. Lower bounds (\"more than\") contribute "
        "log Φ((m − o)/√v). Targets are independent (diagonal covariance; a full one needs "
        "many more replications than targets). Importance weights exp(log-likelihood) / "
        "mixture density over the design points (uniform prior) give the weighted median and "
        "5 %/95 % quantiles and the effective sample size 1/Σw².",
        f"4. **Estimate**: Nelder-Mead (bounded, in the unit cube of the prior, at most "
        f"{spec.refine_evaluations} evaluations) from the best design point on the same "
        "common-random-number objective; the best point evaluated, rounded to 4 significant "
        "digits. Deterministic for a given seed and independent of the number of workers.",
        f"5. **Projection**: the calibrated configuration over the full horizon (to "
        f"{result.calibrated.end}) with {spec.projection_replications} replications; "
        "monthly median and 5–95 % band of each observable (`projection.parquet`). The fit "
        "table and the figures use these replications.", "",
        "## Measurement model", "",
        f"Counts refer to the official catalogue of {spec.catalogue_services} OZG services "
        f"({spec.catalogue_federal_services} federal Typ 1); the model's catalogue is "
        f"smaller ({s['services']} services, {s['services_federal']} federal, in this "
        "world). Model and observation are compared as shares of services of the same scope:",
        "",
        f"- *online somewhere* (`ozg_leistungen_online_min1`, `..._share`): all services "
        f"(observed / {spec.catalogue_services}; model: services with a go-live anywhere / "
        "all model services);",
        f"- *federal online* (`bund_leistungen_online`): federal services (observed / "
        f"{spec.catalogue_federal_services}; model: federal services online / model federal "
        "services);",
        f"- *nationwide* (`ozg_leistungen_flaechendeckend`): non-federal services only "
        f"(observed / {spec.catalogue_services - spec.catalogue_federal_services}; model: "
        "non-federal services fully available in every Land / model non-federal services). "
        "Rationale: the Bund had 85 Typ-1 services online in June "
        "2021 while only 16 services were \"flächendeckend\" in September 2021, so the "
        "nationwide series cannot contain the federal Typ-1 services, which the dashboard "
        "reports separately;",
        "- *fully available in a Land* (`ozg_leistungen_flaechendeckend_in_land`): "
        "non-federal services, as the nationwide count. A state-executed service is fully "
        "available when the Land has it; a municipally executed one once the "
        "administrations that connected it hold `observation.full_population_share` of the "
        "Land's population (1 = every administration; what the dashboard counted is not "
        "documented, so it can be calibrated);",
        "- *online somewhere in a Land* (`ozg_leistungen_online_min1_in_land`): all services.",
        "",
        "A date `YYYY-MM` is the state at the end of that month; `YYYY-MM-DD` the end of the "
        "nearest month (2020-10-01 → end of September 2020, 2022-12-31 → end of December "
        "2022). A state at month m counts events with t < m + 1 (as `sim.metrics`). "
        f"Observation error σ = {spec.sigma_relative:g} × observed share + "
        f"{spec.sigma_absolute:g}: the counts come from press reports and dashboards with "
        "differing definitions. Metrics read as lower bounds: "
        + (", ".join(f"`{m}`" for m in spec.lower_bound_metrics) or "none")
        + ". Targets in Länder outside the world are dropped.", "",
        "## Fit at the calibrated values", "",
        _md_table(ft), "",
        "z = (observed − model mean) / √(σ² + model variance × (1 + 1/P)), P = "
        f"{spec.projection_replications} projection replications; a lower bound has z = 0 "
        "when the model is above it. *Model in catalogue units*: the median share times the "
        f"catalogue services of the scope ({spec.catalogue_services}, "
        f"{spec.catalogue_federal_services} or "
        f"{spec.catalogue_services - spec.catalogue_federal_services}).", "",
        "Targets the calibrated model misses by more than two standard deviations:", "",
        *(misfit or ["- none"]), "",
        "## Figures", "",
        "![fit](figures/fit.png)", "",
        "*Fit*: per observable, the calibrated model's median and 5–95 % band with the "
        "observed shares; the dashed line ends the calibration period.", "",
        "![residuals](figures/residuals.png)", "",
        "![posterior](figures/posterior.png)", "",
        "## Runs and files", "",
        f"Replications simulated: design {result.n_runs['design']}, refinement "
        f"{result.n_runs['refine']}, projection {result.n_runs['projection']}. Wall time: "
        + ", ".join(f"{k.removesuffix('_s')} {v:.0f} s" for k, v in result.timings.items())
        + ".", "",
        "`targets.csv` (observed, share scale, σ), `design.csv` (parameter values, "
        "log-likelihood, weight and model mean per target of every design point), "
        "`refine.csv` (Nelder-Mead evaluations), `parameters.csv`, `fit_table.csv`, "
        "`projection.parquet`, `calibrated.yaml`, `manifest.json` (spec, base config, "
        "seeds, versions, timings), `figures/` (PNG, SVG, PDF; sidecar CSV of the plotted "
        "data).", ""]
    return "\n".join(lines)


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
    result = calibrate(base, world, spec, workers=workers, progress=True)
    wall = time.perf_counter() - t0
    created = datetime.now(UTC).isoformat(timespec="seconds")
    commit = git_commit() or "unknown"
    header = {"command": command, "date": created, "seed": str(spec.seed),
              "code_version": f"{code_version()} (git {commit})",
              "spec": f"conf/calibration/{name}.yaml",
              "report": "",
              "fitted": "to the official OZG counts 2020-2022 (sim/data/"
                        "ozg_history_2018_2022.csv) by synthetic likelihood"}
    meta = {"created_utc": created, "command": command, "wall_s": wall, "workers": workers,
            "code_version": code_version(), "git_commit": commit,
            "package_versions": package_versions(),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
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
