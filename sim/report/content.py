"""Build the :class:`~sim.report.document.Report` of a saved folder, from its tables only.

Three kinds of folder are known (:func:`folder_kind`):

- a **run** (``ozg-sim``): ``manifest.json`` with the resolved config, ``national.parquet``,
  ``kpis.csv`` and the chart ``coverage.png``;
- an **experiment** (``ozg-sim-experiment``): its manifest with the design and reference,
  ``national.parquet``, ``summary.csv`` and ``figures/``;
- a **calibration** (``ozg-sim-calibrate``, or a copy such as
  ``experiments/calibration_historical/``): ``parameters.csv``, ``fit_table.csv``,
  ``patterns.csv``, ``quality.csv`` and the figures, with or without its manifest.

Nothing is simulated again. The paired differences of an experiment come from
:func:`sim.stats.paired_difference` on the saved ``national`` table, the function (and
table) its ``paired_differences.csv`` and difference charts come from, so the report and
the experiment's tables agree; times to 50/90 % are the medians of ``summary.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim import stats
from sim.calendar import month_index, month_label
from sim.errors import ConfigError, DataError
from sim.figures.labels import (
    label_column,
    label_metric,
    label_value,
    param_label,
    target_label,
)
from sim.figures.recipes import FACTORS, REFERENCE_DEFAULT, draws_sentence
from sim.outputs import read_folder, read_manifest
from sim.report.analysis import analysis_blocks, sensitivity_report
from sim.report.appendix import appendix, calibration_summary, parameter_rows
from sim.report.blocks import (
    FINDING_VALUES,
    Numbers,
    caption,
    language_pngs,
    raw_manifest,
    read_csv,
    sidecar_value,
    today,
    words,
)
from sim.report.document import Lang, Paragraph, Report, Section
from sim.report.texts import interval, month_text, number, percent, reached_text, t

#: The kinds of folder a report is made of.
KINDS = ("run", "experiment", "sensitivity", "calibration")
#: Tables every calibration folder holds (sim/cli/calibrate.py writes them).
CALIBRATION_FILES = ("parameters.csv", "fit_table.csv", "patterns.csv", "quality.csv")
#: Months of the key-findings table unless ``dates=`` says otherwise: the OZG deadline and
#: four years on (the map months of every run); the last simulated month is added.
DEFAULT_DATES = ("2022-12", "2026-12")
#: Targets of the times to a share (the experiment's ``months_to_*`` KPIs).
TARGETS_PCT = (50, 90)
#: A run's headline figures (``kpis.csv``), in the order a reader asks for them.
RUN_HEADLINE = ("nationwide_reported_2022_12", "online_anywhere_2022_12", "nationwide_2022_12",
                "population_coverage_2022_12", "nationwide_share_2022_12",
                "months_to_50pct_population_coverage",
                "months_to_90pct_population_coverage", "months_to_50pct_nationwide_share",
                "months_to_90pct_nationwide_share", "spent_eur_programmes",
                "spent_eur_running_costs")
#: EUR figures are shown in millions (the charts' unit).
EUR_PER_MILLION = 1e6
#: Order of an experiment's figures in the report (by file-name prefix), then the rest.
FIGURE_ORDER = ("waterfall", "fan_", "difference_", "small_multiples_", "map_",
                "time_to_target", "timeline", "cost_coverage", "robustness", "regret",
                "discovery_")
#: Order of a run's figures in the report (by file-name prefix).
RUN_FIGURE_ORDER = ("coverage", "timeline", "small_multiples_population_coverage",
                    "small_multiples_available_share", "map_land", "map_kreis")
#: Parameters of a Latin hypercube the design sentence names; more are counted (their keys
#: and ranges are in the manifest's design).
LHS_KEYS_NAMED = 10
#: Config hashes of design points the provenance table lists; more (a hypercube of
#: hundreds of points) are referred to ``points.parquet``, which holds every one.
HASHES_LISTED = 24
#: Columns of the experiment tables the report reads besides the declared ones.
SUMMARY_COLUMNS = ("kpi", "median", "n_replications", "n_reached")
KPI_COLUMNS = ("kpi", "unit", "median", "q05", "q95", "n_replications", "n_reached")


# ------------------------------------------------------------------------------ reading


def folder_kind(folder: Path) -> str:
    """``run``, ``experiment``, ``sensitivity`` or ``calibration``; a one-line DataError for
    anything else."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder: a run, experiment or calibration folder "
                        "is needed")
    raw = raw_manifest(folder)
    has_cal = all((folder / f).is_file() for f in CALIBRATION_FILES)
    if (raw is not None and raw.get("tool") == "ozg-sim-calibrate") or (raw is None and has_cal):
        missing = [f for f in CALIBRATION_FILES if not (folder / f).is_file()]
        if missing:
            raise DataError(f"{folder}: a calibration folder without {missing[0]}")
        return "calibration"
    if raw is None:
        raise DataError(f"{folder} is not a run, experiment or calibration folder: "
                        "manifest.json is missing")
    man = read_manifest(folder)
    if "sensitivity" in man:
        return "sensitivity"
    return "run" if man["tool"] == "ozg-sim" else "experiment"


# ------------------------------------------------------------------------------ building


def _month_of(ym: str, key: str, months: pd.Series) -> int:
    """The month index of ``YYYY-MM``, which must be a month of the saved table."""
    m = month_index(ym, key)
    if m not in set(months.astype(int)):
        raise ConfigError(f"{key}={ym!r} is not allowed: a month from "
                          f"{month_label(int(months.min()))} to "
                          f"{month_label(int(months.max()))}")
    return m


def _dates(dates: Sequence[str] | None, national: pd.DataFrame) -> list[int]:
    """Months of the key findings: ``dates`` or the defaults within the horizon, and the
    last month."""
    months = national["month"]
    if dates:
        return sorted({_month_of(d, "dates", months) for d in dates})
    last = int(months.max())
    chosen = {month_index(d) for d in DEFAULT_DATES if month_index(d) <= last}
    return sorted(chosen | {last})


def _fmt_kpi(kpi: str, row: pd.Series, col: str, lang: Lang) -> str:
    """A KPI statistic as shown: per cent, a month, EUR million or a count."""
    x = float(row[col])
    if kpi.startswith("months_to_"):
        if col == "median":
            return reached_text(x, int(row["n_reached"]), int(row["n_replications"]), lang)
        return month_text(x) if math.isfinite(x) else t("not_reached", lang)
    if not math.isfinite(x):
        return "–"
    unit = str(row.get("unit", ""))
    if unit == "share":
        return percent(x, lang)
    if unit.startswith("EUR"):
        return number(x / EUR_PER_MILLION, lang, 1)
    return number(x, lang, 1 if x != round(x) else 0)


def _kpi_label(kpi: str, lang: Lang) -> str:
    if kpi.startswith("months_to_"):
        return target_label(kpi, lang)
    label = label_metric(kpi, lang)
    return t(f"kpi_{kpi}", lang) if label.startswith(kpi) else label


# ------------------------------------------------------------------------------ appendix


# ------------------------------------------------------------------------------ kinds


def _run(folder: Path, lang: Lang, calibration: Path | None,
         figures: Path | None = None) -> Report:
    man, tables = read_folder(folder, ("national",))
    cfg = man["config"]
    nat = tables["national"]
    kpis = read_csv(folder / "kpis.csv", KPI_COLUMNS).set_index("kpi", drop=False)
    n = int(man["replications"])
    names = {k: cfg[k]["name"] for k in ("strategy", "funding", "staffing", "world")}
    operation = (cfg.get("operation") or {}).get("name", "")
    world = man.get("world") or {}
    end = month_label(int(nat["month"].max()))
    nb = Numbers()
    strategy = label_value("strategy", names["strategy"], lang)
    funding = label_value("funding", names["funding"], lang)
    intro = Section(t("sec_question", lang), [
        Paragraph(t("run_question", lang, strategy=strategy, funding=funding,
                    staffing=names["staffing"], operation=operation)),
        Paragraph(t("run_design", lang, n=n, seed=man["seed"], end=end, world=names["world"],
                    states=world.get("states", "?"), services=world.get("services", "?"),
                    admins=world.get("admins", "?")))])
    rows = []
    for kpi in RUN_HEADLINE:
        if kpi not in kpis.index:
            continue
        r = kpis.loc[kpi]
        rng = f"{_fmt_kpi(kpi, r, 'q05', lang)} – {_fmt_kpi(kpi, r, 'q95', lang)}"
        rows.append([_kpi_label(kpi, lang), _fmt_kpi(kpi, r, "median", lang), rng,
                     t("reached_of", lang, k=int(r["n_reached"]), n=int(r["n_replications"]))])
    findings = Section(t("sec_findings", lang), [nb.table(
        t("run_kpi_caption", lang, n=n),
        [t("col_figure", lang), t("col_median", lang), t("col_range", lang),
         t("col_reached", lang)], rows, [False, True, True, True],
        t("run_kpi_note", lang, end=end), widths=(4, 1.4, 2.2, 1.2))])
    figs = Section(t("sec_figures", lang), [])
    for png in language_pngs(figures or folder, lang, RUN_FIGURE_ORDER):
        figs.blocks.append(nb.figure(png, caption(png, lang, draws_sentence(man, lang), n=n)))
    config_hash = sidecar_value(folder / "coverage.csv", "config_hash")
    title = t("run_title", lang, strategy=strategy, funding=funding)
    sub = t("run_subtitle", lang, world=names["world"], n=n, seed=man["seed"])
    sections = [intro, findings, figs, *appendix(man, cfg, lang, nb, config_hash,
                                                  calibration=calibration)]
    return Report(lang, title, sub, today(man), "run", sections, words(lang))


def experiment_differences(national: pd.DataFrame, factor: str, reference: Any,
                           value: str, months: Sequence[int]) -> pd.DataFrame:
    """Paired differences of every level of ``factor`` to ``reference`` at ``months``
    (:func:`sim.stats.paired_difference`, as the experiment's ``paired_differences.csv``),
    with a ``level`` column."""
    levels = [x for x in pd.unique(national[factor]) if x != reference]
    parts = [stats.paired_difference(national, factor=factor, a=lev, b=reference, value=value)
             .assign(level=lev) for lev in levels]
    if not parts:
        return pd.DataFrame(columns=["level", "month", "mean_diff", "lo", "hi"])
    d = pd.concat(parts, ignore_index=True)
    return d[d["month"].isin(list(months))]


def design_sentence(design: Any, lang: Lang) -> str:
    """The design in words: each grid or crossed axis with its levels, a Latin hypercube's
    size and parameters, the number of listed points."""
    if not isinstance(design, dict):
        return t("none", lang)
    parts = []
    for part in ("grid", "cross"):
        for k, v in (design.get(part) or {}).items():
            parts.append(f"{label_column(k, lang)} ∈ {{"
                         + ", ".join(label_value(k, x, lang, short=True) for x in v) + "}")
    lhs = design.get("lhs")
    if isinstance(lhs, dict):
        keys = list(lhs.get("ranges") or [])
        if len(keys) <= LHS_KEYS_NAMED:
            parts.insert(0, t("design_lhs", lang, n=lhs.get("n"), k=len(keys),
                              keys=", ".join(param_label(str(k), lang) for k in keys)))
        else:  # every declared uncertainty: named in the manifest, not in a sentence
            parts.insert(0, t("design_lhs_many", lang, n=lhs.get("n"), k=len(keys)))
    if design.get("points"):
        parts.append(t("design_points", lang, n=len(design["points"])))
    return "; ".join(parts) or t("none", lang)


def _experiment(folder: Path, lang: Lang, dates: Sequence[str] | None,
                calibration: Path | None, figures: Path | None) -> Report:
    man, tables = read_folder(folder, ("national",))
    nat = tables["national"]
    summary = read_csv(folder / "summary.csv", SUMMARY_COLUMNS)
    ref = dict(man.get("reference") or REFERENCE_DEFAULT)
    factor = str(ref.get("factor") or REFERENCE_DEFAULT["factor"])
    if factor not in nat.columns:
        raise DataError(f"{folder / 'national.parquet'}: the reference factor {factor!r} is "
                        "not a column")
    levels = list(pd.unique(nat[factor]))
    reference = ref.get("level") if ref.get("level") in levels else levels[0]
    facet = next((c for c in FACTORS if c != factor and c in nat.columns
                  and nat[c].nunique() > 1), None)
    months = _dates(dates, nat)
    n = int(man["replications"])
    end = month_label(int(nat["month"].max()))
    nb = Numbers()
    title = (man.get("title_de") if lang == "de" else None) or man.get("title") \
        or man["experiment"]
    design_text = design_sentence(man.get("design"), lang)
    description = str(man.get("description") or "").strip() if lang == "en" else ""
    intro = Section(t("sec_question", lang), [
        Paragraph(t("exp_design", lang, description=description,
                    design=design_text, factor=label_column(factor, lang),
                    reference=label_value(factor, reference, lang)).strip())])
    findings = Section(t("sec_findings", lang))
    for value in FINDING_VALUES:
        if value not in nat.columns:
            continue
        diffs = experiment_differences(nat, factor, reference, value, months)
        header = ([label_column(facet, lang)] if facet else []) + [label_column(factor, lang)]
        header += [t("col_diff_at", lang, date=month_label(m)) for m in months]
        header += [t("col_time_to", lang, pct=f"{p} %" if lang == "de" else f"{p}%")
                   for p in TARGETS_PCT]
        rows = []
        facet_levels = list(pd.unique(nat[facet])) if facet else [None]
        for fl in facet_levels:
            for lev in [reference, *[x for x in levels if x != reference]]:
                row = ([label_value(facet, fl, lang, short=True)] if facet else [])
                row.append(label_value(factor, lev, lang, short=True))
                for m in months:
                    if lev == reference:
                        row.append(t("reference", lang))
                        continue
                    sel = (diffs["level"] == lev) & (diffs["month"] == m)
                    if facet:
                        sel &= diffs[facet] == fl
                    d = diffs[sel]
                    row.append(interval(float(d["mean_diff"].iloc[0]), float(d["lo"].iloc[0]),
                                        float(d["hi"].iloc[0]), lang) if len(d) else "–")
                for p in TARGETS_PCT:
                    s = summary[(summary["kpi"] == f"months_to_{p}pct_{value}")
                                & (summary[factor] == lev)]
                    if facet:
                        s = s[s[facet] == fl]
                    row.append(reached_text(float(s["median"].iloc[0]),
                                            int(s["n_reached"].iloc[0]),
                                            int(s["n_replications"].iloc[0]), lang)
                               if len(s) else "–")
                rows.append(row)
        k = len(header)
        lead = 2 if facet else 1
        numeric = [False] * lead + [True] * (k - lead)
        widths = [2.0] * lead + [1.8] * len(months) + [1.2] * len(TARGETS_PCT)
        findings.blocks.append(nb.table(
            t("exp_findings_caption", lang, metric=label_metric(value, lang, unit=False),
              factor=label_column(factor, lang), reference=label_value(factor, reference, lang),
              n=n, pct=" / ".join(f"{p} %" if lang == "de" else f"{p}%" for p in TARGETS_PCT)),
            header, rows, numeric, t("exp_findings_note", lang, end=end), widths))
    findings.blocks += analysis_blocks(folder / "figures", man, lang, nb)
    figs = Section(t("sec_figures", lang))
    tail = draws_sentence(man, lang)
    for png in language_pngs(figures or folder / "figures", lang, FIGURE_ORDER):
        figs.blocks.append(nb.figure(png, caption(
            png, lang, tail, n=n, factor=label_column(factor, lang),
            reference=label_value(factor, reference, lang))))
    points = tables.get("points")
    hash_list = (list(points["config_hash"].astype(str)) if points is not None else
                 [str(p.get("config_hash", "")) for p in man.get("points") or []
                  if isinstance(p, dict)])
    hashes = (";".join(hash_list) if len(hash_list) <= HASHES_LISTED
              else t("prov_hashes_many", lang, n=len(hash_list)))
    varies = design_text
    sub = t("exp_subtitle", lang, name=man["experiment"], points=len(man.get("points") or []),
            n=n, seed=man.get("seed"))
    sections = [intro, findings, figs,
                *appendix(man, man.get("config_of_first_point"), lang, nb, hashes,
                           t("params_first_point", lang, varies=varies), calibration)]
    return Report(lang, str(title), sub, today(man), "experiment", sections, words(lang))


def _calibration(folder: Path, lang: Lang) -> Report:
    man = raw_manifest(folder) or {}
    params = read_csv(folder / "parameters.csv", ("key",))
    fit = read_csv(folder / "fit_table.csv", ("target",))
    nb = Numbers()
    method = str(man.get("method") or ("emulator" if (folder / "waves.csv").is_file()
                                       else "abc"))
    name = str(man.get("calibration") or folder.name)
    ess = man.get("effective_sample_size")
    intro = Section(t("sec_question", lang), [
        Paragraph(t("cal_question", lang)),
        Paragraph(t("cal_design", lang, k=len(params), targets=len(fit),
                    method_words=t(f"method_{method}" if method in ("emulator", "abc")
                                   else "method_abc", lang),
                    ess=number(float(ess), lang, 1) if isinstance(ess, int | float)
                    else t("none", lang)))])
    findings = Section(t("sec_findings", lang), calibration_summary(folder, lang, nb))
    figs = Section(t("sec_figures", lang))
    for stem in ("fit", "residuals", "posterior", "backtest"):
        for base in (folder / "figures", folder):
            png = base / f"{stem}.png"
            if png.is_file():
                figs.blocks.append(nb.figure(png, caption(png, lang, "")))
                break
    config = man.get("calibrated_config") if isinstance(man.get("calibrated_config"),
                                                        dict) else None
    cal_man = dict(man)
    if config is not None:
        cal_man["calibrated_draws"] = {"mode": "point", "posterior": {
            "keys": list(params["key"])}}
    sections = [intro, findings, figs,
                *appendix(cal_man, config, lang, nb, str(man.get("config_hash_calibrated")
                                                          or ""))]
    return Report(lang, t("cal_title", lang, name=name), t("cal_subtitle", lang, method=method),
                  today(man), "calibration", sections, words(lang))


def build_report(folder: str | Path, lang: Lang = "en", dates: Sequence[str] | None = None,
                 calibration: str | Path | None = None,
                 figures: str | Path | None = None) -> Report:
    """The report of a saved run, experiment or calibration folder.

    Parameters
    ----------
    folder : path
        The folder (:func:`folder_kind`).
    lang : {"en", "de"}
        Language of texts and number formats.
    dates : sequence of ``YYYY-MM``, optional
        Months of an experiment's key findings (default :data:`DEFAULT_DATES` and the last
        month); each must be a month of the saved tables.
    calibration : path, optional
        A calibration folder whose fit summary and misfits go into the methods appendix of
        a run or experiment report.
    figures : path, optional
        Where the charts are (default ``folder/figures`` of an experiment, ``folder`` of a
        run): e.g. the same charts redrawn in ``lang`` from the saved tables
        (:func:`sim.figures.recipes.draw_experiment_figures`,
        :func:`sim.cli.figures.redraw_run`). Only the charts drawn in ``lang`` are shown.

    Raises
    ------
    DataError
        The folder is none of the three kinds, or a file of it is damaged (one line).
    ConfigError
        A date outside the saved months.
    """
    folder = Path(folder)
    kind = folder_kind(folder)
    cal = None
    if calibration is not None:
        cal = Path(calibration)
        if folder_kind(cal) != "calibration":
            raise ConfigError(f"calibration={str(cal)!r} is not allowed: a calibration folder "
                              f"(with {', '.join(CALIBRATION_FILES)})")
    if kind == "run":
        if dates:
            raise ConfigError("dates= is not allowed for a run folder: only for an "
                              "experiment folder")
        return _run(folder, lang, cal, None if figures is None else Path(figures))
    if kind == "experiment":
        return _experiment(folder, lang, dates, cal, None if figures is None else Path(figures))
    if kind == "sensitivity":
        if dates:
            raise ConfigError("dates= is not allowed for a sensitivity folder: only for an "
                              "experiment folder")
        return sensitivity_report(folder, read_manifest(folder), lang,
                                  None if figures is None else Path(figures))
    return _calibration(folder, lang)


__all__ = ["CALIBRATION_FILES", "DEFAULT_DATES", "FINDING_VALUES", "KINDS", "TARGETS_PCT",
           "build_report", "experiment_differences", "folder_kind", "parameter_rows"]
