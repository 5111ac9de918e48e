"""The appendix every report ends with: the model in half a page, every parameter in
force with its unit, basis and source, the provenance of the results, the calibration in
use (and its fit, given a calibration folder) and the limitations."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sim.figures.labels import param_label
from sim.figures.recipes import draws_sentence
from sim.report.blocks import Numbers, read_csv
from sim.report.document import Block, Lang, Paragraph, Section, Table
from sim.report.parameters import key_pattern, parameter_info
from sim.report.texts import number, percent, t

#: Whole numbers below this are shown with all their digits (amounts in EUR), larger ones
#: and fractions with six significant digits.
LARGEST_EXACT = 1e15


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values of a config dict by dotted key; lists of named blocks by their name
    (``funding.programmes[bund_2023].amount_eur``)."""
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, x in enumerate(d):
            out.update(_flatten(x, f"{prefix}[{x.get('name', i)}]"))
    else:
        out[prefix] = d
    return out


def _value_text(v: Any, lang: Lang) -> str:
    """A config value as shown (numbers with up to six significant digits)."""
    if isinstance(v, bool) or v is None:
        return t("none", lang) if v is None else t("yes" if v else "no", lang)
    if isinstance(v, int | float):
        s = (f"{int(v):,}" if float(v).is_integer() and abs(v) < LARGEST_EXACT
             else f"{v:,.6g}")
        return s.replace(",", "\0").replace(".", ",").replace("\0", ".") if lang == "de" else s
    if isinstance(v, list):
        return ", ".join(_value_text(x, lang) for x in v) or "[]"
    return str(v)


def _calibrated_keys(man: dict[str, Any]) -> tuple[set[str], str]:
    draws = man.get("calibrated_draws") or {}
    post = draws.get("posterior") if isinstance(draws, dict) else None
    if isinstance(post, dict) and draws.get("mode") in ("posterior", "point"):
        return set(post.get("keys") or ()), str(draws["mode"])
    return set(), "none"


def parameter_rows(config: dict[str, Any], calibrated: set[str], mode: str,
                   lang: Lang) -> tuple[list[list[str]], list[str], list[str], int]:
    """Rows (key, value, unit, basis, calibrated, source) of every leaf of ``config`` (names
    of programmes left out: they are in the keys), the documented keys whose basis is an
    assumption, the undocumented keys, and the number of documented keys."""
    rows, assumed, undocumented, documented = [], [], [], 0
    cal_word = t("calibrated_point" if mode == "point" else "calibrated_posterior", lang)
    for key, value in _flatten(config).items():
        if key.endswith(".name") and "[" in key:
            continue
        info = parameter_info(key)
        if info is None:
            undocumented.append(key)
        else:
            documented += 1
            if info.basis == "A" and key not in calibrated:
                assumed.append(key_pattern(key))
        basis = t(f"basis_{info.basis}", lang) if info and info.basis else t("none", lang)
        rows.append([key, _value_text(value, lang), info.unit if info else "", basis,
                     cal_word if key in calibrated else t("no", lang),
                     info.source.replace("`", "") if info else ""])
    return rows, list(dict.fromkeys(assumed)), undocumented, documented


def provenance_table(nb: Numbers, man: dict[str, Any], lang: Lang,
                      config_hash: str) -> Table:
    pv = man.get("package_versions") or {}
    machine = man.get("machine") or {}
    seeds = man.get("seeds") or {}
    draws = (man.get("calibrated_draws") or {}).get("description", "") \
        if isinstance(man.get("calibrated_draws"), dict) else ""
    rows = [("prov_command", man.get("command", "")),
            ("prov_created", man.get("created_utc", "")),
            ("prov_seed", man.get("seed", (seeds.get("root") if isinstance(seeds, dict)
                                           else ""))),
            ("prov_replications", man.get("replications", "")),
            ("prov_seeds", seeds.get("scheme", "") if isinstance(seeds, dict) else ""),
            ("prov_config_hash", config_hash),
            ("prov_git", man.get("git_commit") or ""),
            ("prov_code", man.get("code_version", "")),
            ("prov_draws", draws),
            ("prov_packages", ", ".join(f"{k} {v}" for k, v in pv.items())),
            ("prov_machine", ", ".join(f"{k} {v}" for k, v in machine.items()))]
    return nb.table(t("prov_caption", lang), ["", ""],
                    [[t(k, lang), str(v) if v not in (None, "") else t("none", lang)]
                     for k, v in rows], [False, False], widths=(1, 4))


def calibration_summary(folder: Path, lang: Lang, nb: Numbers) -> list[Block]:
    """The parameters, fit and misfits of a calibration folder."""
    params = read_csv(folder / "parameters.csv", ("key", "low", "high", "estimate", "q05",
                                                   "q95"))
    fit = read_csv(folder / "fit_table.csv", ("target", "date", "series", "geo", "observed",
                                               "model_median", "predictive_q05",
                                               "predictive_q95", "in_band"))
    patterns = read_csv(folder / "patterns.csv", ("label", "median", "requirement", "met"))
    quality = read_csv(folder / "quality.csv", ("check", "subject", "passed"))

    def g(x: float) -> str:
        return number(x, lang, 0 if abs(x) >= 100 else 2 if abs(x) >= 1 else 3)

    prow = [[param_label(str(r.key), lang, sentence=True), f"{g(r.low)} – {g(r.high)}",
             g(r.estimate), f"{g(r.q05)} – {g(r.q95)}"] for r in params.itertuples()]
    blocks: list[Block] = [nb.table(
        t("cal_params_caption", lang),
        [t("col_parameter", lang), t("col_prior", lang), t("col_estimate", lang),
         t("col_interval", lang)], prow, [False, True, True, True], widths=(4, 1.5, 1, 1.5))]
    frow = [[f"{r.series} ({r.geo})", str(r.date), percent(float(r.observed), lang),
             percent(float(r.model_median), lang),
             f"{percent(float(r.predictive_q05), lang)} – "
             f"{percent(float(r.predictive_q95), lang)}",
             t("yes" if truthy(r.in_band) else "no", lang)] for r in fit.itertuples()]
    blocks.append(nb.table(
        t("cal_fit_caption", lang),
        [t("col_target", lang), t("col_date", lang), t("col_observed", lang),
         t("col_predicted", lang), t("col_band", lang), t("col_in_band", lang)],
        frow, [False, False, True, True, True, False], widths=(3, 1.2, 1, 1, 1.6, 0.8)))
    missed = [t("cal_target_missed", lang, target=f"{r.series} ({r.geo})", date=r.date)
              for r in fit.itertuples() if not truthy(r.in_band)]
    missed += [t("cal_pattern_missed", lang, label=r.label, median=number(float(r.median),
                                                                          lang, 2),
                 req=r.requirement) for r in patterns.itertuples() if not truthy(r.met)]
    acc = folder / "acceptance.csv"
    if acc.is_file():
        a = read_csv(acc, ())
        if {"met", "target"} <= set(a.columns):
            value = "value" if "value" in a.columns else "target"
            missed += [t("cal_acceptance_missed", lang, target=r["target"], value=r[value])
                       for _, r in a.iterrows() if not truthy(r["met"])]
    blocks.append(Paragraph(t("cal_misfits", lang, items="; ".join(missed)) if missed
                            else t("cal_no_misfits", lang)))
    failed = quality[~quality["passed"].map(truthy)]
    blocks.append(Paragraph(t("cal_quality", lang, passed=len(quality) - len(failed),
                              total=len(quality),
                              failed="" if failed.empty else ": " + "; ".join(
                                  f"{r.check} ({r.subject})" for r in failed.itertuples()))))
    return blocks


def truthy(x: Any) -> bool:
    return str(x).strip().lower() in ("true", "1", "yes")


def appendix(man: dict[str, Any], config: dict[str, Any] | None, lang: Lang, nb: Numbers,
              config_hash: str, which: str = "",
              calibration: Path | None = None) -> list[Section]:
    """Methods (model, parameters, reproducibility, calibration) and limitations."""
    methods = Section(t("sec_methods", lang), [Paragraph(t("model_summary", lang))],
                      appendix=True)
    assumed: list[str] = []
    undocumented: list[str] = []
    documented = 0
    if config is not None:
        cal_keys, mode = _calibrated_keys(man)
        rows, assumed, undocumented, documented = parameter_rows(config, cal_keys, mode, lang)
        methods.blocks.append(Paragraph(t("sec_parameters", lang) + "."))
        methods.blocks.append(nb.table(
            t("params_caption", lang, which=which),
            [t("col_key", lang), t("col_value", lang), t("col_unit", lang),
             t("col_basis", lang), t("col_calibrated", lang), t("col_source", lang)],
            rows, [False, True, False, False, False, False],
            widths=(3.6, 1.4, 1.2, 1.3, 1.3, 4.2)))
    methods.blocks.append(Paragraph(t("sec_provenance", lang) + "."))
    methods.blocks.append(provenance_table(nb, man, lang, config_hash))
    cal_blocks: list[Block] = []
    draws = man.get("calibrated_draws")
    if isinstance(draws, dict) and isinstance(draws.get("posterior"), dict):
        post = draws["posterior"]
        cal_blocks.append(Paragraph(t("cal_in_use", lang, name=post.get("name"),
                                      particles=post.get("particles"),
                                      ess=number(float(post.get("effective_sample_size")
                                                       or math.nan), lang, 1),
                                      mode=draws_sentence(man, lang))))
    elif man.get("tool") != "ozg-sim-calibrate":
        cal_blocks.append(Paragraph(t("cal_none", lang)))
    if man.get("tool") != "ozg-sim-calibrate":
        if calibration is not None:
            cal_blocks.append(Paragraph(t("cal_from_folder", lang, folder=calibration)))
            cal_blocks += calibration_summary(calibration, lang, nb)
        elif cal_blocks and draws and isinstance(draws, dict) and draws.get("posterior"):
            cal_blocks.append(Paragraph(t("cal_give_folder", lang)))
    sections = [methods]
    if cal_blocks:
        sections.append(Section(t("sec_calibration", lang), cal_blocks, appendix=True))
    lim: list[Block] = [Paragraph(t("limitations", lang))]
    if documented:
        lim.append(Paragraph(t("assumed", lang, k=len(assumed), n=documented,
                               keys=", ".join(assumed))))
    if undocumented:
        lim.append(Paragraph(t("undocumented", lang, keys=", ".join(undocumented))))
    lim.append(Paragraph(t("bands_note", lang)))
    sections.append(Section(t("sec_limitations", lang), lim, appendix=True))
    return sections


__all__ = ["LARGEST_EXACT", "appendix", "calibration_summary", "parameter_rows",
           "provenance_table", "truthy"]
