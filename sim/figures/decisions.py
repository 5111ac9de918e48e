"""Charts of the sensitivity of decisions (``ozg-sim-experiment decisions``), drawn from the
folder's tables only (``sobol.csv``, ``morris.csv``, ``contrast_signs.csv``; columns in
:data:`sim.outputs.SENSITIVITY_TABLES`).

A decision is a contrast ``FACTOR=B-A`` (level ``b`` of a lever minus its reference level
``a``, paired on common random numbers); its outputs are named
``contrast:FACTOR=B-A:national:COLUMN@YYYY-MM`` (:data:`sim.outputs.OUTPUT_KINDS`).

- :func:`contrast_label`: ``strategy=efv-efa`` -> ``EfV − EfA``;
- :func:`flip_sentence`: the decisions whose sign flips over a parameter's range, for a
  chart's note;
- :func:`evolution_figure`: one panel per contrast, the total-order index ST of each
  parameter over the years (line, bootstrap interval as a band) and its first-order index
  S1 (dashed).

The charts of the indices at the chosen months are :func:`sim.figures.sensitivity.
sobol_figure` and :func:`~sim.figures.sensitivity.morris_figure` on one contrast's rows.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.figures.axes import panel_letter
from sim.figures.charts import new_figure
from sim.figures.labels import (
    METRIC_LABELS,
    Lang,
    check_lang,
    format_month,
    label_value,
    number_formatter,
    param_label,
)
from sim.figures.sensitivity import INDEX_LIMITS
from sim.figures.style import OKABE_ITO, SMALL_PT, WIDTH_FULL, styled
from sim.outputs import CONTRAST_GROUP, contrast_parts, output_parts

#: Words of lever levels in a contrast where the short level label says too much or too
#: little (the funding rules by how they allocate: the issue's "Königstein − project by
#: project").
LEVEL_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "funding": {"koenigstein": ("Königsteiner Schlüssel", "Königsteiner Schlüssel"),
                "konjunkturpaket": ("project by project", "projektweise")},
}
#: Minus sign of a contrast's label (typographic, not a hyphen).
MINUS = "\u2212"
#: Panels per row of the evolution chart.
EVOLUTION_COLUMNS = 3
#: Colours of the parameters' lines (Okabe-Ito, without yellow: too light for lines).
LINE_COLORS = [OKABE_ITO[k] for k in ("blue", "orange", "green", "red", "purple", "sky",
                                      "black")]
#: Opacity of an interval band.
BAND_ALPHA = 0.15
#: Characters per line of a panel title (three panels across the page).
TITLE_WIDTH = 30

#: The phrases of these charts (the shared ones are in :mod:`sim.figures.labels`).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title_contrast_morris": "Morris screening of a decision: {contrast}",
        "title_contrast_sobol": "Sobol indices of a decision: {contrast}",
        "title_contrast_evolution": "Sobol indices of the decisions over time: {metric}",
        "decision_note": ("Output: the paired difference {contrast} (level minus reference, "
                          "common random numbers: replication r of both levels has the "
                          "same random streams and calibrated draws)."),
        "note_evolution": ("Lines: total-order index ST of each parameter of the Sobol "
                           "analysis at the end of each year, band: its bootstrap 95% "
                           "interval; dashed: first-order index S1. Output: the paired "
                           "difference of each decision (level minus reference, common "
                           "random numbers), each of the {points} Sobol points the mean "
                           "over R = {n} replications. Early years without a difference "
                           "have no indices."),
        "flips": "The sign flips over a parameter's range for: {items}.",
        "no_flips": "No sign flips over a parameter's range (contrast_signs.csv).",
        "evolution_x": "end of year",
        "evolution_y": "Sobol index",
        "legend_st": "ST (band: 95% interval)",
        "legend_s1": "S1",
        "no_indices": "no indices:\nno difference\nor nothing survived",
    },
    "de": {
        "title_contrast_morris": "Morris-Screening einer Entscheidung: {contrast}",
        "title_contrast_sobol": "Sobol-Indizes einer Entscheidung: {contrast}",
        "title_contrast_evolution": "Sobol-Indizes der Entscheidungen im Zeitverlauf: "
                                    "{metric}",
        "decision_note": ("Ausgabe: die gepaarte Differenz {contrast} (Stufe minus Referenz, "
                          "gemeinsame Zufallszahlen: Replikation r beider Stufen hat "
                          "dieselben Zufallsströme und kalibrierten Ziehungen)."),
        "note_evolution": ("Linien: Totalindex ST jedes Parameters der Sobol-Analyse am "
                           "Ende jedes Jahres, Band: sein Bootstrap-95-%-Intervall; "
                           "gestrichelt: Haupteffekt S1. Ausgabe: die gepaarte Differenz "
                           "jeder Entscheidung (Stufe minus Referenz, gemeinsame "
                           "Zufallszahlen), jeder der {points} Sobol-Punkte der Mittelwert "
                           "aus R = {n} Replikationen. Frühe Jahre ohne Differenz haben "
                           "keine Indizes."),
        "flips": "Das Vorzeichen wechselt über den Bereich eines Parameters bei: {items}.",
        "no_flips": ("Kein Vorzeichenwechsel über den Bereich eines Parameters "
                     "(contrast_signs.csv)."),
        "evolution_x": "Jahresende",
        "evolution_y": "Sobol-Index",
        "legend_st": "ST (Band: 95-%-Intervall)",
        "legend_s1": "S1",
        "no_indices": "keine Indizes:\nkein Unterschied\noder nichts überstand",
    },
}


def text(key: str, lang: Lang = "en", **fields: object) -> str:
    """A phrase of these charts in ``lang`` with ``{fields}`` filled in."""
    check_lang(lang)
    return TEXT[lang][key].format(**fields)


def parse_contrast(output: str) -> tuple[str, str, str, str] | None:
    """``contrast:strategy=efv-efa:national:population_coverage@2026-12`` ->
    ``("strategy=efv-efa", "population_coverage", "2026-12", "strategy")``; None for
    another kind of output."""
    try:
        kind, name, month = output_parts(output)
        if kind != "contrast":
            return None
        factor, b, a, column = contrast_parts(name)
    except ValueError:
        return None
    return f"{factor}={b}-{a}", column, month, factor


def contrast_label(label: str, lang: Lang = "en") -> str:
    """``strategy=efv-efa`` -> ``EfV − EfA``; ``funding=koenigstein-konjunkturpaket`` ->
    ``Königsteiner Schlüssel − project by project``."""
    check_lang(lang)
    factor, _, levels = label.removeprefix(CONTRAST_GROUP).partition("=")
    b, _, a = levels.partition("-")
    i = 0 if lang == "en" else 1

    def words(level: str) -> str:
        own = LEVEL_WORDS.get(factor, {}).get(level)
        return own[i] if own else label_value(factor, level, lang, short=True)

    return f"{words(b)} {MINUS} {words(a)}"


def decision_label(output: str, lang: Lang = "en", with_contrast: bool = True) -> str:
    """``contrast:strategy=efv-efa:national:population_coverage@2026-12`` -> ``EfV − EfA:
    Population coverage, Dec 2026`` (without the contrast's name if ``with_contrast`` is
    false); another output as it is."""
    parsed = parse_contrast(output)
    if parsed is None:
        return output
    label, column, month, _ = parsed
    metric = METRIC_LABELS.get(column, (column, column))[0 if lang == "en" else 1]
    what = f"{metric}, {format_month(f'{month}-01', lang, short=True)}"
    return f"{contrast_label(label, lang)}: {what}" if with_contrast else what


def flip_sentence(signs: pd.DataFrame, lang: Lang = "en",
                  items: Mapping[str, str] | None = None, with_contrast: bool = True) -> str:
    """The rows of ``contrast_signs`` whose sign flips, as one sentence: ``The sign flips
    over a parameter's range for: EfV − EfA, Population coverage, Dec 2026 (EfA decision
    delay); ...`` (or that none does); without the contrast's name if ``with_contrast`` is
    false (a chart of one contrast)."""
    flips = signs[signs["sign_flips"].astype(bool)] if len(signs) else signs
    if not len(flips):
        return text("no_flips", lang)
    parts = []
    for out, rows in flips.groupby("output", sort=False):
        what = decision_label(str(out), lang, with_contrast)
        params = ", ".join(param_label(p, lang, sentence=True, short=True, items=items)
                           for p in rows["parameter"])
        parts.append(f"{what} ({params})")
    return text("flips", lang, items="; ".join(parts))


def evolution_data(sobol: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows of ``sobol`` of the contrasts' outputs of ``column`` at the end of a year
    (December), with ``contrast`` (label), ``year`` and ``month`` columns, sorted."""
    parsed = sobol["output"].map(parse_contrast)
    keep = parsed.map(lambda p: p is not None and p[1] == column and p[2].endswith("-12"))
    d = sobol[keep.astype(bool)].copy()
    d["contrast"] = [p[0] for p in parsed[keep.astype(bool)]]
    d["month"] = [p[2] for p in parsed[keep.astype(bool)]]
    d["year"] = d["month"].str[:4].astype(int)
    return d.sort_values(["contrast", "parameter", "year"], kind="stable")


def evolution_figure(sobol: pd.DataFrame, column: str, lang: Lang = "en",
                     title: str | None = None,
                     note_fields: Mapping[str, object] | None = None,
                     items: Mapping[str, str] | None = None,
                     contrasts: Sequence[str] | None = None,
                     extra_note: str = "") -> tuple[Figure, pd.DataFrame]:
    """ST (line and band) and S1 (dashed) of each parameter over the years, one panel per
    contrast (in the order of ``contrasts``, default the table's).

    ``sobol``: rows of :data:`sim.outputs.SENSITIVITY_TABLES` ``sobol``; ``column``: the
    column of ``national`` of the outputs shown; ``note_fields``: ``points``, ``n``.
    Plotted data: the rows shown, with ``contrast``, ``year`` and ``month``.
    """
    check_lang(lang)
    data = evolution_data(sobol, column)
    order = list(contrasts or dict.fromkeys(data["contrast"]))
    params = list(dict.fromkeys(data["parameter"]))
    color = {p: LINE_COLORS[i % len(LINE_COLORS)] for i, p in enumerate(params)}
    ncol = min(EVOLUTION_COLUMNS, max(1, len(order)))
    nrow = max(1, math.ceil(len(order) / ncol))
    fields = {"points": "?", "n": "?", **(note_fields or {})}
    note = " ".join(x for x in (text("note_evolution", lang, **fields), extra_note) if x)
    # estimates of a small design stray outside [0, 1]: shown up to INDEX_LIMITS
    hi = np.nanmax((data["ST"] + data["ST_conf"]).to_numpy(float), initial=1.0)
    lo = np.nanmin(np.concatenate([(data["ST"] - data["ST_conf"]).to_numpy(float),
                                   data["S1"].to_numpy(float)]), initial=0.0)
    ylim = (max(INDEX_LIMITS[0], lo) - 0.05, min(INDEX_LIMITS[1], hi) + 0.05)
    key_h = 0.3 + 0.16 * math.ceil((len(params) + 2) / 2)
    panels_h = 1.9 * nrow + 0.3
    with styled():
        fig, body = new_figure(WIDTH_FULL, panels_h + key_h, note, title)
        parts = np.ravel(np.asarray(body.subfigures(2, 1, height_ratios=[panels_h, key_h]),
                                    dtype=object))
        top, foot = parts[0], parts[1]
        axes = np.atleast_1d(top.subplots(nrow, ncol, squeeze=False, sharex=True,
                                          sharey=True)).ravel()
        for i, label in enumerate(order):
            ax = axes[i]
            d = data[data["contrast"] == label]
            for p in params:
                r = d[d["parameter"] == p]
                if not len(r):
                    continue
                x = r["year"].to_numpy()
                st, conf = r["ST"].to_numpy(float), r["ST_conf"].to_numpy(float)
                ax.fill_between(x, st - conf, st + conf, color=color[p], alpha=BAND_ALPHA,
                                lw=0)
                ax.plot(x, st, color=color[p], lw=1.1, marker="o", ms=2)
                ax.plot(x, r["S1"].to_numpy(float), color=color[p], lw=0.8, ls="--")
            title_i = f"{panel_letter(i)}\u00a0\u00a0{contrast_label(label, lang)}"
            ax.set_title("\n".join(textwrap.wrap(title_i, TITLE_WIDTH,
                                                 break_long_words=False)),
                         fontsize=SMALL_PT, loc="left")
            if not d["ST"].notna().any():
                ax.text(0.5, 0.5, text("no_indices", lang), transform=ax.transAxes,
                        ha="center", va="center", fontsize=SMALL_PT, color="0.4")
            ax.set_ylim(*ylim)
            ax.yaxis.set_major_formatter(number_formatter(lang))
            ax.tick_params(labelsize=SMALL_PT)
            ax.grid(axis="y", lw=0.3, color="0.88")
        for ax in axes[len(order):]:
            ax.set_visible(False)
        for i in range(len(order)):  # the lowest panel of each column shows the years
            axes[i].tick_params(axis="x", labelbottom=i + ncol >= len(order))
        years = sorted(set(data["year"]))
        if years:
            step = max(1, math.ceil(len(years) / 5))
            axes[0].set_xticks(years[::step], [str(y) for y in years[::step]])
        top.supxlabel(text("evolution_x", lang), fontsize=SMALL_PT)
        top.supylabel(text("evolution_y", lang), fontsize=SMALL_PT)
        handles: list[Line2D | Patch] = [
            Line2D([], [], color=color[p], lw=1.1) for p in params]
        labels = [param_label(p, lang, sentence=True, short=True, items=items)
                  for p in params]
        handles += [Line2D([], [], color="0.3", lw=1.1, marker="o", ms=2),
                    Line2D([], [], color="0.3", lw=0.8, ls="--")]
        labels += [text("legend_st", lang), text("legend_s1", lang)]
        foot.legend(handles, labels, loc="upper center", ncol=2, fontsize=SMALL_PT,
                    frameon=False)
    return fig, data


__all__ = [
    "LEVEL_WORDS",
    "contrast_label",
    "decision_label",
    "evolution_data",
    "evolution_figure",
    "flip_sentence",
    "parse_contrast",
    "text",
]
