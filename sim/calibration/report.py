"""The texts a calibration leaves: ``report.md`` (what was fitted, how, how well),
``calibrated.yaml`` (the point estimate as a Hydra ``# @package _global_`` file naming the
posterior sample beside it) and the posterior sample (:func:`posterior_sample`).

The report is assembled from one function per section, in the order a reader needs them:
the quality checks, the calibrated values, the method, the measurement model, the fit, the
backtest (with ``until``), the figures and the files. Parameter names come from the one
label table of the figures (:func:`sim.figures.labels.param_label`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.abc import TEMPERATURE_DECAY
from sim.calibration.backtest import FORECASTERS
from sim.calibration.method import EDGE, MIN_ESS, MIN_PARTICLES, PILED_MASS, CalibrationResult
from sim.calibration.spec import base_overrides, calibrated_overrides
from sim.calibration.targets import SHARE_METRICS
from sim.config import to_yaml
from sim.figures.labels import param_label
from sim.posterior import PosteriorSample

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


def posterior_file_name(name: str) -> str:
    """The file of a calibration's posterior sample in ``conf/calibrated/``."""
    return f"{name}_posterior.csv"


def posterior_sample(result: CalibrationResult) -> PosteriorSample:
    """The weighted posterior sample of a calibration (its last ABC-SMC generation)."""
    p = result.particles
    return PosteriorSample(result.spec.name, result.spec.keys,
                           p[result.spec.keys].to_numpy(dtype=float),
                           p["weight"].to_numpy(dtype=float))


def calibrated_yaml(result: CalibrationResult, header: dict[str, str]) -> str:
    """``calibrated.yaml``: a ``# @package _global_`` Hydra file of the calibrated keys at the
    point estimate and ``posterior:`` naming the sample replications draw from (the package
    line first: Hydra reads it only at the top), headed by provenance."""
    body = to_yaml({**calibrated_overrides(result.calibrated, result.spec.keys),
                    "posterior": posterior_file_name(result.spec.name)})
    lines = ["# @package _global_"]
    lines += [f"# {k}: {v}" for k, v in header.items()]
    lines += ["# Runs draw each replication's calibrated keys from the posterior sample named",
              "# below (calibrated_draws=posterior, the default); calibrated_draws=point keeps",
              "# the point estimates (weighted posterior medians) set here."]
    return "\n".join(lines) + "\n" + body


def _header(result: CalibrationResult, meta: dict[str, Any]) -> list[str]:
    """Title and the line that says where the report came from."""
    spec, s = result.spec, meta["world"]
    kind = f" (backtest: fitted up to {spec.until})" if spec.until else ""
    return [
        f"# Calibration `{spec.name}`{kind}", "",
        f"Created {meta['created_utc']} by `{meta['command']}` in {meta['wall_s']:.0f} s on "
        f"{meta['workers']} worker(s); seed {spec.seed}; code version {meta['code_version']}"
        f" (git {meta['git_commit']}). World `{result.base.world.name}`: {s['states']} "
        f"Länder, {s['services']} services ({s['services_federal']} federal), "
        f"{s['admins']} municipal administrations. Base config: `conf/config.yaml` with "
        f"`{' '.join(base_overrides(spec)) or '(no overrides)'}`.", "",
    ]


def _quality_section(result: CalibrationResult) -> list[str]:
    """The checks of the posterior, pass or fail."""
    q = result.quality.copy()
    q["result"] = np.where(q["passed"], "pass", "**FAIL**")
    q["subject"] = [f"`{s}`" if "." in str(s) else s for s in q["subject"]]
    verdict = ("All checks pass." if result.passed else
               "**Not every check passes**: read the intervals and the fit with the failures "
               "below in mind.")
    return [
        "## Quality checks", "",
        _md_table(q[["check", "subject", "value", "threshold", "result", "note"]]), "",
        f"{verdict} Particles: the last generation's accepted particles (one "
        + ("emulator evaluation" if result.method == "emulator" else "simulation")
        + " each) and their effective sample size (pyabc's `effective_sample_size`, "
        f"(Σw)²/Σw²); the issue asks for ≥ {MIN_PARTICLES} particles or ESS ≥ {MIN_ESS}. "
        "Exact: the stochastic acceptor samples the posterior under the measurement model "
        "at temperature 1; at T > 1 the posterior under measurement errors × √T. A marginal "
        f"is piled against a bound when more than {100 * PILED_MASS:.0f} % of its mass lies "
        f"within {100 * EDGE:.0f} % of the prior range from it (a flat posterior has "
        f"{100 * EDGE:.0f} %); a physical bound (one step beyond it the parameter is "
        "invalid, e.g. a probability of 1) may hold mass.", "",
    ]


def _values_section(result: CalibrationResult) -> list[str]:
    """The calibrated values and their posterior."""
    spec = result.spec
    p = result.parameters.copy()
    p.insert(0, "parameter", [f"`{k}`" for k in p["key"]])
    p.insert(1, "meaning", [param_label(k, sentence=True) for k in p["key"]])
    p = p[["parameter", "meaning", "estimate", "q05", "q95", "mean", "sd", "low", "high"]]
    p = p.rename(columns={"estimate": "estimate (median)", "q05": "5 %", "q95": "95 %",
                          "low": "prior low", "high": "prior high"})
    return [
        "## Calibrated values", "",
        _md_table(p, {"estimate (median)": ".4g", "5 %": ".4g", "95 %": ".4g",
                      "mean": ".4g", "sd": ".3g", "prior low": "g", "prior high": "g"}), "",
        "The estimate is the weighted posterior median of each parameter (rounded to 4 "
        "significant digits), so it lies inside its own 5–95 % interval; the medians "
        "together are a point of the parameter space, not necessarily its most likely one. "
        f"`calibrated.yaml` sets them; `{TOOL} {spec.name} apply=true` writes it to "
        f"`conf/calibrated/{spec.name}.yaml` and the posterior sample (`posterior.csv`) to "
        f"`conf/calibrated/{posterior_file_name(spec.name)}`. Runs and experiments draw "
        "each replication's calibrated parameters from that sample (`calibrated_draws="
        "posterior`, the default; the same draw for every strategy of an experiment), or "
        "keep the estimate (`calibrated_draws=point`).", "",
    ]


def _method_section(result: CalibrationResult) -> list[str]:
    """The method with this spec's numbers."""
    if result.method == "emulator":
        return _emulator_method_section(result)
    spec, g = result.spec, result.generations
    sched = ", ".join(f"{t:.3g}" for t in g["temperature"])
    rates = ", ".join(f"{100 * r:.0f} %" for r in g["acceptance_rate"])
    return [
        "## Method", "",
        f"1. **Prior**: independent uniform priors over the {len(spec.parameters)} "
        "parameters' ranges above.",
        "2. **ABC-SMC** with pyabc (Klinger et al. 2018; Schälte et al. 2022): generations of "
        f"{spec.population_size} accepted particles (the first {spec.calibration_particles} "
        "prior simulations set the first temperature), each particle *one* simulation up to "
        f"{result.fit_end}, the last fitted month (the stochastic simulator is the "
        "likelihood; no replications per point). Proposals: pyabc's multivariate normal "
        "kernel around the last generation. Acceptance: pyabc's `StochasticAcceptor` with "
        "the measurement model below as its kernel (`ObservationKernel`: normal errors with "
        "the targets' variances, a normal CDF for the lower bound), accepting with "
        "probability (p(observed | simulated) / c)^(1/T), c the largest density found, with "
        "rejection-control importance weights. At T = 1 this is exact inference under the "
        "measurement model (Wilkinson 2013); each generation's T is the lowest whose "
        f"expected acceptance rate is {100 * spec.target_acceptance_rate:.0f} % and at most "
        f"a factor {TEMPERATURE_DECAY:g} below the last.",
        f"3. **Budget**: at most {spec.max_generations} generations; no generation starts "
        f"after {spec.max_simulations} simulations; T = 1 ends the run. This run: "
        f"{len(g)} generations, temperatures {sched}; acceptance rates {rates}; "
        f"{result.n_runs['abc']} simulations in {result.timings['abc_s']:.0f} s.",
        "4. **Determinism**: proposal i of generation t runs with numpy's global generator "
        f"(which pyabc draws from) seeded by SeedSequence(({spec.seed}, t + 2, i)), and a "
        "generation keeps the proposals up to its last acceptance in the order of i: the "
        "same spec and seed give the same particles on any number of workers, local or on "
        "a Dask cluster.",
        "5. **Point estimate**: the weighted posterior median per parameter.",
        f"6. **Posterior predictive**: {spec.predictive_draws} parameter draws from the "
        "posterior (seeded, with probability the weights), each simulated once to "
        f"{result.calibrated.end}: the fit table, the projection band and the forecasts of "
        "a backtest.", "",
    ]


def _emulator_method_section(result: CalibrationResult) -> list[str]:
    """The method of ``method=emulator`` with this run's numbers."""
    spec, g, w = result.spec, result.generations, result.waves
    assert w is not None and result.validation is not None
    sched = ", ".join(f"{t:.3g}" for t in g["temperature"])
    waves = pd.DataFrame({
        "wave": w["wave"], "simulations": w["runs"],
        "drawn from": ["prior box (Latin hypercube)" if i == 0 else
                       f"NROY of waves 0–{i - 1}: {100 * f:.2g} % of the box"
                       for i, f in zip(w["wave"], w["nroy_share"], strict=True)],
        "emulator trained on": w["training_runs"],
        "last emulator's 90 % band holds": [
            "—" if np.isnan(c) else f"{100 * c:.0f} % (median over targets)"
            for c in w["validation_coverage"]],
        "seconds": w["seconds"].round(0)})
    check = result.emulator_check
    cover = ("" if check is None else
             f" At the posterior, the last emulator's 90 % band holds "
             f"{100 * check['coverage90'].mean():.0f} % of the real posterior predictive "
             f"simulations of the fitted targets (lowest {100 * check['coverage90'].min():.0f}"
             " %; `emulator_check.csv`).")
    return [
        "## Method", "",
        f"1. **Prior**: independent uniform priors over the {len(spec.parameters)} "
        "parameters' ranges above.",
        f"2. **History matching** (Craig et al. 1997; Vernon et al. 2010; Andrianakis et al. "
        f"2015) in {len(w)} waves of simulations, each *one* replication up to "
        f"{result.fit_end}: wave 0 a Latin hypercube over the prior box, every later wave "
        "drawn uniformly from the parameters the earlier waves did not rule out (NROY: "
        f"every target within {spec.implausibility_cutoff:g} sds of its observation, the sd "
        "of the difference combining the measurement error, the simulation noise and the "
        "emulator's uncertainty).",
        "3. **Emulators**: per target and wave a Gaussian process (scikit-learn; C × "
        "Matérn 5/2 with one length scale per parameter + white noise for one "
        f"simulation's noise), hyperparameters fitted on at most {spec.hyper_runs} runs, "
        f"conditioned on at most {spec.training_runs} runs inside the current NROY region. "
        "Each emulator is validated on the next wave's runs before that wave trains the "
        "next one:", "",
        _md_table(waves), "",
        "4. **Posterior**: ABC-SMC with pyabc (Klinger et al. 2018) on the last emulator: "
        f"generations of {spec.population_size} particles, pyabc's `StochasticAcceptor` "
        "with the kernel p(observed | θ) = Π N(o_j; m_j(θ), σ_j² + s_j(θ)²) (m, s the "
        "emulated mean and sd of one simulation; a normal CDF for the lower bound) and "
        "density 0 outside the NROY region of the earlier waves. This is the likelihood "
        "ABC-SMC on the simulator targets (the measurement model convolved with one "
        "simulation's noise), evaluated in milliseconds instead of half a CPU-second. "
        f"This run: {len(g)} generations, temperatures {sched}; "
        f"{result.n_runs['abc']} emulator evaluations in {result.timings['abc_s']:.0f} s; "
        "T = 1 is exact inference under the emulated likelihood." + cover,
        f"5. **Determinism**: the design from SeedSequence(({spec.seed}, 8101)), the "
        f"candidates of wave w from ({spec.seed}, 8111, w), the replication of run i of "
        f"wave w from ({spec.seed}, 8131, w, i), the emulators fitted in this process, and "
        "the ABC-SMC proposals seeded per (generation, proposal): the same spec and seed "
        "give the same posterior on any number of workers, local or on a Dask cluster.",
        "6. **Point estimate**: the weighted posterior median per parameter.",
        f"7. **Posterior predictive**: {spec.predictive_draws} parameter draws from the "
        "posterior (seeded, with probability the weights), each simulated once (the real "
        f"model) to {result.calibrated.end}: the fit table, the projection band, the "
        "patterns and the forecasts of a backtest.", "",
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
    """Every target with its posterior predictive band and z-score, and the misses."""
    spec, fit = result.spec, result.fit
    ft = pd.DataFrame({
        "date": fit["date"], "geo": fit["geo"], "metric": fit["metric"],
        "role": fit["role"],
        "observed": [(f"more than {v:g}" if b == "lower" else f"{v:g}")
                     + (" of the catalogue" if m in SHARE_METRICS else "")
                     for v, b, m in zip(fit["observed_value"], fit["bound"], fit["metric"],
                                        strict=True)],
        "observed share": fit["observed"].map(lambda v: f"{100 * v:.1f} %"),
        "σ (× √T)": [f"{100 * a:.1f} ({100 * b:.1f}) pp"
                     for a, b in zip(fit["sigma"], fit["sigma_effective"], strict=True)],
        "model median (5–95 %)": [f"{100 * m:.1f} % ({100 * a:.1f}–{100 * b:.1f})"
                                  for m, a, b in zip(fit["model_median"], fit["model_q05"],
                                                     fit["model_q95"], strict=True)],
        "predictive 90 % band": [f"{100 * a:.1f}–{100 * b:.1f} %" for a, b in
                                 zip(fit["predictive_q05"], fit["predictive_q95"],
                                     strict=True)],
        "in band": np.where(fit["in_band"], "yes", "**no**"),
        "model in catalogue units": fit["model_median_catalogue"].map(lambda v: f"{v:.0f}"),
        "z": fit["z"].map(lambda v: f"{v:+.2f}")})
    off = fit[fit["z"].abs() > 2]
    misfit = [f"- {r['date']} {r['geo']} `{r['metric']}`: observed {r['observed_value']:g} "
              f"({100 * r['observed']:.1f} %), model {100 * r['model_median']:.1f} % "
              f"(z = {r['z']:+.2f}: the model is {'below' if r['z'] > 0 else 'above'} the "
              "observed value)" for _, r in off.iterrows()]
    n_in = int(fit["in_band"].sum())
    return [
        "## Fit: every target against the posterior predictive", "",
        _md_table(ft), "",
        f"{n_in} of {len(fit)} observations lie in their predictive 90 % band. Model "
        f"median and 5–95 %: the simulated share across {spec.predictive_draws} posterior "
        "predictive draws; predictive 90 % band: of an observation, model plus measurement "
        "error σ √T (T the final temperature); z = (observed − predictive mean) / predictive "
        "sd (a lower bound has z = 0 when the model is above it). *Model in catalogue "
        "units*: the median share times the catalogue services of the scope "
        f"({spec.catalogue_services}, {spec.catalogue_federal_services} or "
        f"{spec.catalogue_services - spec.catalogue_federal_services}).", "",
        "Targets the model misses by more than two predictive standard deviations:", "",
        *(misfit or ["- none"]), "",
        *_patterns(result),
    ]


def _patterns(result: CalibrationResult) -> list[str]:
    """The pattern-oriented checks and the acceptance targets (sim.calibration.patterns)."""
    pat, acc = result.patterns, result.acceptance
    lines = ["## Patterns and acceptance targets", "",
             "Patterns of the record that the fit does not target directly "
             "(`patterns.csv`; per posterior predictive draw, MODEL.md 8):", ""]
    if len(pat):
        lines += [_md_table(pd.DataFrame({
            "pattern": pat["label"], "record": pat["record"].map(lambda v: f"{v:.2f}"),
            "model median (5–95 %)": [f"{m:.2f} ({a:.2f}–{b:.2f})" for m, a, b in
                                      zip(pat["median"], pat["q05"], pat["q95"],
                                          strict=True)],
            "requirement": pat["requirement"],
            "met": np.where(pat["met"], "yes", "**no**"), "source": pat["source"]})), ""]
    else:
        lines += ["- none in this world's series", ""]
    lines += ["Acceptance targets on the fitted targets (`acceptance.csv`; relative error "
              "of the predictive median):", ""]
    lines += [_md_table(pd.DataFrame({
        "target": acc["target"],
        "value": [f"{v:.0%}" if "within" in t else f"{v:+.0%}"
                  for t, v in zip(acc["target"], acc["value"], strict=True)],
        "requirement": acc["requirement"],
        "met": np.where(acc["met"], "yes", "**no**")})), ""]
    return lines


def _backtest_section(result: CalibrationResult, meta: dict[str, Any]) -> list[str]:
    """Held-out counts: the model against naive forecasters."""
    if not result.spec.until:
        return []
    bt, vd = meta["backtest"], meta["verdict"]
    tab = pd.DataFrame({
        "date": bt["date"], "series": bt["series"],
        "observed": bt["observed"].map(lambda v: f"{100 * v:.1f}"),
        "model (90 % band)": [f"{100 * m:.1f} ({100 * a:.1f}–{100 * b:.1f})" for m, a, b in
                              zip(bt["model_median"], bt["predictive_q05"],
                                  bt["predictive_q95"], strict=True)],
        "model error": bt["model_error"].map(lambda v: f"{100 * v:+.1f}"),
        "in band": np.where(bt["in_band"], "yes", "**no**"),
        **{f"{n.replace('_', ' ')} error": bt[f"{n}_error"].map(
            lambda v: "—" if pd.isna(v) else f"{100 * v:+.1f}") for n in FORECASTERS}})
    vt = pd.DataFrame({
        "forecaster": vd["forecaster"].str.replace("_", " "), "points": vd["points"],
        "model MAE (pp)": vd["model_mae"].map(lambda v: "—" if pd.isna(v) else f"{100 * v:.1f}"),
        "forecaster MAE (pp)": vd["forecaster_mae"].map(
            lambda v: "—" if pd.isna(v) else f"{100 * v:.1f}"),
        "model closer on": vd["model_closer"],
        "model beats it": vd["model_beats"].map(
            lambda v: "—" if v is None or pd.isna(v) else ("yes" if v else "**no**"))})
    beaten = [str(r["forecaster"]).replace("_", " ") for _, r in vd.iterrows()
              if r["model_beats"] is not None and not bool(r["model_beats"])]
    n_in = int(bt["in_band"].sum())
    fitted = int((vd["points"] > 0).sum())
    if beaten:
        verdict = ("**The model does not beat every naive forecaster**: "
                   + ", ".join(beaten) + " forecasts the held-out counts with a smaller mean "
                   "absolute error.")
    elif fitted == 0:
        verdict = ("**No naive forecaster could be fitted**: none of the held-out series has "
                   f"a count on or before {result.spec.until}, so this backtest compares the "
                   "model with the record only, not with naive forecasters (a later `until` "
                   "gives them points).")
    elif fitted < len(vd):
        verdict = (f"The model beats the {fitted} naive forecaster(s) that could be fitted "
                   "(smaller mean absolute error on the counts they forecast); the others "
                   "had no earlier point of any held-out series.")
    else:
        verdict = ("The model beats every naive forecaster on the held-out counts (smaller "
                   "mean absolute error).")
    return [
        f"## Backtest: fitted up to {result.spec.until}, forecast to 2022-12", "",
        f"The calibration saw only the counts up to {result.spec.until}; every later count "
        "(point values) is a forecast. Errors in percentage points of the scope's catalogue "
        "(forecast − observed). Naive forecasters are fitted on the same earlier points of "
        "the same series: a straight line, a logistic curve (scipy `curve_fit`, ceiling 100 "
        "%), persistence (the last value); a series with one earlier point is anchored at 0 "
        "in April 2018 (the catalogue), one with none gets no naive forecast (—).", "",
        _md_table(tab), "",
        f"{n_in} of {len(bt)} held-out counts lie in the model's predictive 90 % band.", "",
        _md_table(vt), "",
        verdict, "",
    ]


def _figures_section(result: CalibrationResult) -> list[str]:
    """The figures and what they show."""
    out = [
        "## Figures", "",
        "![fit](figures/fit.png)", "",
        "*Fit*: per observable, the posterior predictive median and 5–95 % band with the "
        "observed shares; the dashed line ends the fitted period.", "",
        "![residuals](figures/residuals.png)", "",
        "![posterior](figures/posterior.png)", "",
        "*Posterior*: the marginal of every parameter (weighted histogram of the last "
        "generation) against its uniform prior, with the estimate and the 90 % interval.", "",
    ]
    if result.spec.until:
        out += ["![backtest](figures/backtest.png)", ""]
    return out


def _files_section(result: CalibrationResult) -> list[str]:
    """Runs simulated and the files of the folder."""
    return [
        "## Runs and files", "",
        (f"Simulations: history matching {result.n_runs['design']}, posterior predictive "
         f"{result.n_runs['predictive']}; emulator evaluations of the ABC-SMC "
         f"{result.n_runs['abc']}. Wall time: " if result.method == "emulator" else
         f"Simulations: ABC-SMC {result.n_runs['abc']}, posterior predictive "
         f"{result.n_runs['predictive']}. Wall time: ")
        + ", ".join(f"{k.removesuffix('_s')} {v:.0f} s" for k, v in result.timings.items())
        + ".", "",
        "`targets.csv` (observed, share scale, σ, role fit/holdout), `particles.csv` and "
        "`posterior.csv` (the posterior sample with weights; the second in the format runs "
        "read, `sim/posterior.py`), `generations.csv` (temperature, acceptance rate, ESS per "
        "generation), `parameters.csv`, `quality.csv`, `fit_table.csv`, "
        "`predictive.parquet` (the observables of every predictive draw at every target), "
        "`projection.parquet`, `abc.db` (pyabc's database: every generation; "
        "`pyabc.History('sqlite:///abc.db')`), `calibrated.yaml`, `manifest.json` (spec, "
        "base config, seeds, versions, timings), `figures/` (PNG, SVG, PDF; sidecar CSV of "
        "the plotted data)"
        + (", `waves.csv`, `emulator_validation.csv` (per wave and target: the last "
           "emulator's 90 % band coverage and R² on the new runs), `emulator_check.csv` "
           "(the same on the real posterior predictive simulations), `design.parquet` "
           "(every history-matching simulation: wave, parameters, observables)"
           if result.method == "emulator" else "")
        + (", `backtest.csv`, `backtest_verdict.csv`." if result.spec.until else "."), "",
    ]


def report_markdown(result: CalibrationResult, meta: dict[str, Any]) -> str:
    """``report.md``: checks, values, method, measurement model, fit, backtest, figures."""
    return "\n".join([*_header(result, meta), *_quality_section(result),
                      *_values_section(result), *_method_section(result),
                      *_measurement_section(result, meta), *_fit_section(result),
                      *_backtest_section(result, meta), *_figures_section(result),
                      *_files_section(result)])
