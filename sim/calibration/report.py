"""The texts a calibration leaves: ``report.md`` (what was fitted, how, how well) and
``calibrated.yaml`` (the calibrated values as a Hydra ``# @package _global_`` file).

The report is assembled from one function per section, in the order a reader needs them:
the calibrated values, the method, the measurement model, the fit, the figures and the
files. Parameter names come from the one label table of the figures
(:func:`sim.figures.labels.param_label`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.calibration.method import CalibrationResult, at_prior_bounds
from sim.calibration.spec import base_overrides, calibrated_overrides
from sim.calibration.targets import SHARE_METRICS
from sim.config import to_yaml
from sim.figures.labels import param_label

#: The command that writes these texts (named in the report).
TOOL = "ozg-sim-calibrate"


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


def _header(result: CalibrationResult, meta: dict[str, Any]) -> list[str]:
    """Title and the line that says where the report came from."""
    spec, s = result.spec, meta["world"]
    return [
        f"# Calibration `{spec.name}`", "",
        f"Created {meta['created_utc']} by `{meta['command']}` in {meta['wall_s']:.0f} s on "
        f"{meta['workers']} worker(s); seed {spec.seed}; code version {meta['code_version']}"
        f" (git {meta['git_commit']}). World `{result.base.world.name}`: {s['states']} "
        f"Länder, {s['services']} services ({s['services_federal']} federal), "
        f"{s['admins']} municipal administrations. Base config: `conf/config.yaml` with "
        f"`{' '.join(base_overrides(spec)) or '(no overrides)'}`.", "",
    ]


def _values_section(result: CalibrationResult) -> list[str]:
    """The calibrated values, their posterior and diagnostics."""
    spec = result.spec
    p = result.parameters.copy()
    p.insert(0, "parameter", [f"`{k}`" for k in p["key"]])
    p.insert(1, "meaning", [param_label(k, sentence=True) for k in p["key"]])
    p = p.drop(columns="key").rename(columns={"posterior_median": "posterior median",
                                              "q05": "5 %", "q95": "95 %",
                                              "low": "prior low", "high": "prior high"})
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
    return [
        "## Calibrated values", "",
        _md_table(p, {"estimate": ".4g", "posterior median": ".4g", "5 %": ".4g",
                      "95 %": ".4g", "prior low": "g", "prior high": "g"}), "",
        f"Effective sample size of the posterior weights: {result.ess:.1f} of {n_design} "
        f"design points.{ess_note} Log-likelihood at the estimate {result.loglik_estimate:.2f}"
        f" (best design point {ll_best:.2f}).{bound_note}", "",
        "`calibrated.yaml` sets these values (a Hydra `# @package _global_` file); "
        f"`{TOOL} {spec.name} apply=true` writes it to `conf/calibrated/{spec.name}.yaml`.", "",
    ]


def _method_section(result: CalibrationResult) -> list[str]:
    """The method with this spec's numbers."""
    spec = result.spec
    return [
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
    ]


def _measurement_section(result: CalibrationResult, meta: dict[str, Any]) -> list[str]:
    """How model and record are compared."""
    spec, s = result.spec, meta["world"]
    return [
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
        "- *nationwide* (`ozg_leistungen_flaechendeckend`) as the dashboard counts it "
        f"(observed / {spec.catalogue_services}): services in the official count of every "
        "Land, so never above any Land's count; from the Normenkontrollrat (source kind "
        f"`nkr`) non-federal services only (observed / "
        f"{spec.catalogue_services - spec.catalogue_federal_services}): 16 services were "
        "nationwide in its count of September 2021 while 85 federal services were online;",
        "- *flächendeckend in a Land* (`ozg_leistungen_flaechendeckend_in_land`, the "
        "dashboard's count, all services): the federal services the dashboard lists "
        "(`observation.federal_listed_share` of them) once online, a state-executed "
        "service when the Land has it, a municipally executed one once the administrations "
        "that connected it hold `observation.full_population_share` of the Land's "
        "population (1 = every administration, the dashboard's documented rule);",
        "- *online somewhere in a Land* (`ozg_leistungen_online_min1_in_land`): all services.",
        "",
        "A date `YYYY-MM` is the state at the end of that month; `YYYY-MM-DD` the end of the "
        "nearest month (2020-10-01 → end of September 2020, 2022-12-31 → end of December "
        "2022). A state at month m counts events with t < m + 1 (as `sim.metrics`). "
        "Observation error σ = relative × observed share + absolute, by the kind of source ("
        + "; ".join(f"{k}: {r:g}, {a:g}" for k, (r, a) in spec.observation_error.items())
        + "). Metrics read as lower bounds: "
        + (", ".join(f"`{m}`" for m in spec.lower_bound_metrics) or "none")
        + ". Targets in Länder outside the world are dropped.", "",
    ]


def _fit_section(result: CalibrationResult) -> list[str]:
    """The fit table and the targets missed."""
    spec, fit = result.spec, result.fit
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
    return [
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
    ]


def _figures_section(result: CalibrationResult) -> list[str]:
    """The figures and what they show."""
    return [
        "## Figures", "",
        "![fit](figures/fit.png)", "",
        "*Fit*: per observable, the calibrated model's median and 5–95 % band with the "
        "observed shares; the dashed line ends the calibration period.", "",
        "![residuals](figures/residuals.png)", "",
        "![posterior](figures/posterior.png)", "",
    ]


def _files_section(result: CalibrationResult) -> list[str]:
    """Runs simulated and the files of the folder."""
    return [
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
        "data).", "",
    ]


def report_markdown(result: CalibrationResult, meta: dict[str, Any]) -> str:
    """``report.md``: method, measurement model, tables, diagnostics and figures."""
    return "\n".join([*_header(result, meta), *_values_section(result),
                      *_method_section(result), *_measurement_section(result, meta),
                      *_fit_section(result), *_figures_section(result),
                      *_files_section(result)])
