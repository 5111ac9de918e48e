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

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim import stats
from sim.calendar import month_index, month_label
from sim.errors import ConfigError, DataError
from sim.exports import sidecar_header
from sim.figures.labels import (
    LANGS,
    label_column,
    label_metric,
    label_value,
    param_label,
    target_label,
)
from sim.figures.recipes import FACTORS, REFERENCE_DEFAULT, draws_sentence
from sim.figures.save import figure_stem
from sim.outputs import read_folder, read_manifest
from sim.report.document import Block, Figure, Lang, Paragraph, Report, Section, Table
from sim.report.parameters import key_pattern, parameter_info
from sim.report.texts import interval, month_text, number, percent, reached_text, t

#: The three kinds of folder a report is made of.
KINDS = ("run", "experiment", "calibration")
#: Tables every calibration folder holds (sim/cli/calibrate.py writes them).
CALIBRATION_FILES = ("parameters.csv", "fit_table.csv", "patterns.csv", "quality.csv")
#: Months of the key-findings table unless ``dates=`` says otherwise: the OZG deadline and
#: four years on (the map months of every run); the last simulated month is added.
DEFAULT_DATES = ("2022-12", "2026-12")
#: Outcomes an experiment's key findings compare (the two its difference charts show).
FINDING_VALUES = ("population_coverage", "nationwide_share")
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
#: Whole numbers below this are shown with all their digits (amounts in EUR), larger ones
#: and fractions with six significant digits.
LARGEST_EXACT = 1e15
#: Order of an experiment's figures in the report (by file-name prefix), then the rest.
FIGURE_ORDER = ("fan_", "difference_", "small_multiples_", "map_", "time_to_target",
                "timeline", "cost_coverage", "robustness", "regret")
#: Caption key of a figure, by file-name prefix.
FIGURE_CAPTIONS = {"fan_": "cap_fan", "difference_": "cap_difference",
                   "small_multiples_available_share": "cap_small_multiples_available",
                   "small_multiples_": "cap_small_multiples", "map_": "cap_map",
                   "time_to_target": "cap_time_to_target", "cost_coverage": "cap_cost_coverage",
                   "timeline": "cap_timeline", "regret": "cap_regret",
                   "coverage": "cap_coverage", "fit": "cap_fit", "residuals": "cap_residuals",
                   "posterior": "cap_posterior", "backtest": "cap_backtest",
                   # issue 14 §2 (H2): the sensitivity of decisions
                   "contrast_morris_": "cap_contrast_morris",
                   "contrast_sobol_": "cap_contrast_sobol",
                   "contrast_evolution_": "cap_contrast_evolution"}
#: Order of a run's figures in the report (by file-name prefix).
RUN_FIGURE_ORDER = ("coverage", "timeline", "small_multiples_population_coverage",
                    "small_multiples_available_share", "map_land", "map_kreis")
#: The sidecar header key (``# caption: ...``) of a figure's own caption, used when present.
CAPTION_KEY = "caption"
#: Columns of the experiment tables the report reads besides the declared ones.
SUMMARY_COLUMNS = ("kpi", "median", "n_replications", "n_reached")
KPI_COLUMNS = ("kpi", "unit", "median", "q05", "q95", "n_replications", "n_reached")


# ------------------------------------------------------------------------------ reading


def _read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """A saved CSV (its leading ``# key: value`` lines skipped; a ``#`` inside a field, as
    in a source "Monitor #6", is kept), with ``columns``; a one-line DataError if not."""
    if not path.is_file():
        raise DataError(f"{path}: missing")
    try:
        df = pd.read_csv(path, skiprows=_comment_lines(path))
    except Exception as exc:  # pandas raises ParserError, UnicodeDecodeError, ... for bad bytes
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(f"{path}: not a readable CSV file ({first})") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{path}: column(s) {missing} missing: needs {list(columns)}")
    return df


def _comment_lines(path: Path) -> int:
    """Number of leading ``#`` lines (a sidecar's provenance header)."""
    n = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                break
            n += 1
    return n


def _raw_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest as JSON, unchecked (None if there is none); DataError if unreadable."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(man, dict):
        raise DataError(f"{path}: not a JSON object but {type(man).__name__}")
    return man


def folder_kind(folder: Path) -> str:
    """``run``, ``experiment`` or ``calibration``; a one-line DataError for anything else."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder: a run, experiment or calibration folder "
                        "is needed")
    raw = _raw_manifest(folder)
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
        raise DataError(f"{folder}: a sensitivity experiment has no replication tables to "
                        "report: allowed a run, experiment or calibration folder")
    return "run" if man["tool"] == "ozg-sim" else "experiment"


# ------------------------------------------------------------------------------ building


class _Numbers:
    """Counters of tables and figures, so every format numbers them the same."""

    def __init__(self) -> None:
        self.tables = 0
        self.figures = 0

    def table(self, caption: str, header: Sequence[str], rows: Sequence[Sequence[str]],
              numeric: Sequence[bool], note: str = "",
              widths: Sequence[float] = ()) -> Table:
        self.tables += 1
        return Table(self.tables, caption, tuple(header), tuple(tuple(r) for r in rows),
                     tuple(numeric), note, tuple(widths))

    def figure(self, path: Path, caption: str) -> Figure:
        self.figures += 1
        try:
            png = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror})") from exc
        return Figure(self.figures, caption, png, path.name)


def _words(lang: Lang) -> dict[str, str]:
    return {k: t(k, lang) for k in ("figure", "table", "appendix")}


def _sidecar_caption(png: Path) -> str | None:
    """A figure's own caption from its sidecar CSV (a ``# caption:`` line), if it has one."""
    csv = png.with_suffix(".csv")
    return sidecar_header(csv).get(CAPTION_KEY) if csv.is_file() else None


def _caption(png: Path, lang: Lang, tail: str, **fields: Any) -> str:
    """Caption of a saved chart: its sidecar's own, else the report's text for its kind,
    with the sentence on the calibrated draws (what the bands contain)."""
    own = _sidecar_caption(png)
    if own is None:
        stem = png.stem
        key = next((v for k, v in FIGURE_CAPTIONS.items() if stem.startswith(k)), None)
        metric = next((v for v in FINDING_VALUES if v in stem), "population_coverage")
        fields = {"metric": label_metric(metric, lang, unit=False), **fields}
        own = (t(key, lang, **fields) if key else
               t("cap_other", lang, name=stem.replace("_", " "), n=fields.get("n", "")))
    return f"{own} {tail}".strip()


def language_pngs(folder: Path, lang: Lang, order: Sequence[str],
                  strict: bool = False) -> list[Path]:
    """The charts (PNG) of ``folder`` drawn in ``lang`` (German ones end in ``_de``: see
    :func:`sim.figures.save.figure_stem`), in the order of the file-name prefixes
    ``order``, then the rest. If none is in ``lang``, those of the other language as saved
    (``figures=saved``), or ``[]`` if ``strict``."""
    def drawn_in(lg: Lang) -> list[Path]:
        suffix = figure_stem("", lg)
        return [p for p in folder.glob("*.png")
                if (p.stem.endswith(suffix) if suffix else not _has_language_suffix(p.stem))]

    pngs = drawn_in(lang)
    if not pngs and not strict:
        pngs = [p for lg in LANGS if lg != lang for p in drawn_in(lg)]  # type: ignore[arg-type]
    return sorted(pngs, key=lambda p: (
        next((i for i, pre in enumerate(order) if p.stem.startswith(pre)), len(order)),
        p.stem))


def _has_language_suffix(stem: str) -> bool:
    return any(stem.endswith(figure_stem("", lg)) for lg in LANGS if figure_stem("", lg))


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


def _provenance_table(nb: _Numbers, man: dict[str, Any], lang: Lang,
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


def _calibration_summary(folder: Path, lang: Lang, nb: _Numbers) -> list[Block]:
    """The parameters, fit and misfits of a calibration folder."""
    params = _read_csv(folder / "parameters.csv", ("key", "low", "high", "estimate", "q05",
                                                   "q95"))
    fit = _read_csv(folder / "fit_table.csv", ("target", "date", "series", "geo", "observed",
                                               "model_median", "predictive_q05",
                                               "predictive_q95", "in_band"))
    patterns = _read_csv(folder / "patterns.csv", ("label", "median", "requirement", "met"))
    quality = _read_csv(folder / "quality.csv", ("check", "subject", "passed"))

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
             t("yes" if _truthy(r.in_band) else "no", lang)] for r in fit.itertuples()]
    blocks.append(nb.table(
        t("cal_fit_caption", lang),
        [t("col_target", lang), t("col_date", lang), t("col_observed", lang),
         t("col_predicted", lang), t("col_band", lang), t("col_in_band", lang)],
        frow, [False, False, True, True, True, False], widths=(3, 1.2, 1, 1, 1.6, 0.8)))
    missed = [t("cal_target_missed", lang, target=f"{r.series} ({r.geo})", date=r.date)
              for r in fit.itertuples() if not _truthy(r.in_band)]
    missed += [t("cal_pattern_missed", lang, label=r.label, median=number(float(r.median),
                                                                          lang, 2),
                 req=r.requirement) for r in patterns.itertuples() if not _truthy(r.met)]
    acc = folder / "acceptance.csv"
    if acc.is_file():
        a = _read_csv(acc, ())
        if {"met", "target"} <= set(a.columns):
            value = "value" if "value" in a.columns else "target"
            missed += [t("cal_acceptance_missed", lang, target=r["target"], value=r[value])
                       for _, r in a.iterrows() if not _truthy(r["met"])]
    blocks.append(Paragraph(t("cal_misfits", lang, items="; ".join(missed)) if missed
                            else t("cal_no_misfits", lang)))
    failed = quality[~quality["passed"].map(_truthy)]
    blocks.append(Paragraph(t("cal_quality", lang, passed=len(quality) - len(failed),
                              total=len(quality),
                              failed="" if failed.empty else ": " + "; ".join(
                                  f"{r.check} ({r.subject})" for r in failed.itertuples()))))
    return blocks


def _truthy(x: Any) -> bool:
    return str(x).strip().lower() in ("true", "1", "yes")


def _appendix(man: dict[str, Any], config: dict[str, Any] | None, lang: Lang, nb: _Numbers,
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
    methods.blocks.append(_provenance_table(nb, man, lang, config_hash))
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
            cal_blocks += _calibration_summary(calibration, lang, nb)
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


# ------------------------------------------------------------------------------ kinds


def _today(man: dict[str, Any] | None) -> str:
    """The date of the report: when its folder was made (so the same folder gives the same
    report), else today."""
    created = (man or {}).get("created_utc")
    if isinstance(created, str) and len(created) >= 10:
        return created[:10]
    return datetime.now(UTC).date().isoformat()


def _run(folder: Path, lang: Lang, calibration: Path | None,
         figures: Path | None = None) -> Report:
    man, tables = read_folder(folder, ("national",))
    cfg = man["config"]
    nat = tables["national"]
    kpis = _read_csv(folder / "kpis.csv", KPI_COLUMNS).set_index("kpi", drop=False)
    n = int(man["replications"])
    names = {k: cfg[k]["name"] for k in ("strategy", "funding", "staffing", "world")}
    operation = (cfg.get("operation") or {}).get("name", "")
    world = man.get("world") or {}
    end = month_label(int(nat["month"].max()))
    nb = _Numbers()
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
        figs.blocks.append(nb.figure(png, _caption(png, lang, draws_sentence(man, lang), n=n)))
    config_hash = _sidecar_value(folder / "coverage.csv", "config_hash")
    title = t("run_title", lang, strategy=strategy, funding=funding)
    sub = t("run_subtitle", lang, world=names["world"], n=n, seed=man["seed"])
    sections = [intro, findings, figs, *_appendix(man, cfg, lang, nb, config_hash,
                                                  calibration=calibration)]
    return Report(lang, title, sub, _today(man), "run", sections, _words(lang))


def _sidecar_value(path: Path, key: str) -> str:
    """A ``# key: value`` provenance line of a sidecar CSV (empty if absent)."""
    return sidecar_header(path).get(key, "") if path.is_file() else ""


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


def _experiment(folder: Path, lang: Lang, dates: Sequence[str] | None,
                calibration: Path | None, figures: Path | None) -> Report:
    man, tables = read_folder(folder, ("national",))
    nat = tables["national"]
    summary = _read_csv(folder / "summary.csv", SUMMARY_COLUMNS)
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
    nb = _Numbers()
    title = (man.get("title_de") if lang == "de" else None) or man.get("title") \
        or man["experiment"]
    design = man.get("design") or {}
    grid = design.get("grid") if isinstance(design, dict) else None
    design_text = ("; ".join(f"{label_column(k, lang)} ∈ {{"
                             + ", ".join(label_value(k, x, lang, short=True) for x in v) + "}"
                             for k, v in grid.items()) if isinstance(grid, dict)
                   else json.dumps(design, ensure_ascii=False))
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
    figs = Section(t("sec_figures", lang))
    tail = draws_sentence(man, lang)
    for png in language_pngs(figures or folder / "figures", lang, FIGURE_ORDER):
        figs.blocks.append(nb.figure(png, _caption(
            png, lang, tail, n=n, factor=label_column(factor, lang),
            reference=label_value(factor, reference, lang))))
    points = tables.get("points")
    hashes = ";".join(points["config_hash"].astype(str)) if points is not None else ";".join(
        str(p.get("config_hash", "")) for p in man.get("points") or [] if isinstance(p, dict))
    varies = design_text
    sub = t("exp_subtitle", lang, name=man["experiment"], points=len(man.get("points") or []),
            n=n, seed=man.get("seed"))
    sections = [intro, findings, figs,
                *_appendix(man, man.get("config_of_first_point"), lang, nb, hashes,
                           t("params_first_point", lang, varies=varies), calibration)]
    return Report(lang, str(title), sub, _today(man), "experiment", sections, _words(lang))


def _calibration(folder: Path, lang: Lang) -> Report:
    man = _raw_manifest(folder) or {}
    params = _read_csv(folder / "parameters.csv", ("key",))
    fit = _read_csv(folder / "fit_table.csv", ("target",))
    nb = _Numbers()
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
    findings = Section(t("sec_findings", lang), _calibration_summary(folder, lang, nb))
    figs = Section(t("sec_figures", lang))
    for stem in ("fit", "residuals", "posterior", "backtest"):
        for base in (folder / "figures", folder):
            png = base / f"{stem}.png"
            if png.is_file():
                figs.blocks.append(nb.figure(png, _caption(png, lang, "")))
                break
    config = man.get("calibrated_config") if isinstance(man.get("calibrated_config"),
                                                        dict) else None
    cal_man = dict(man)
    if config is not None:
        cal_man["calibrated_draws"] = {"mode": "point", "posterior": {
            "keys": list(params["key"])}}
    sections = [intro, findings, figs,
                *_appendix(cal_man, config, lang, nb, str(man.get("config_hash_calibrated")
                                                          or ""))]
    return Report(lang, t("cal_title", lang, name=name), t("cal_subtitle", lang, method=method),
                  _today(man), "calibration", sections, _words(lang))


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
    return _calibration(folder, lang)


__all__ = ["CALIBRATION_FILES", "DEFAULT_DATES", "FINDING_VALUES", "KINDS", "TARGETS_PCT",
           "build_report", "experiment_differences", "folder_kind", "parameter_rows"]
