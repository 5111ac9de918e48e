"""Publication figures of experiments: many replications per design point, never one run.

Every figure is drawn from the tidy tables that the sweep runner saves (``national``,
``by_state``, ``by_kreis``, ``by_size_class``, ``kpis``, ``running_costs``) or from
summaries computed from them (:mod:`sim.figures.tables`), so it can be redrawn without
rerunning the model. Figure builders (``*_figure``) return ``(fig, plotted_data)``: the
figure and a tidy DataFrame holding exactly the numbers drawn, which
:func:`sim.figures.save.save_figure` writes beside it. Most of them lay out panels of the
axes-level charts of :mod:`sim.figures.axes`; the per-Land differences
(:func:`state_difference_figure`), running costs by payer (:func:`running_costs_figure`),
municipal size classes (:func:`size_class_figure`) and the robustness across a Latin
hypercube (:func:`robustness_figure`) exist as figure builders only.

Each figure has a footer saying how to read it (:func:`new_figure`). Shares (0-1) stay
shares in the data and the sidecars; axes show them in per cent. ``lang="de"`` gives German
labels, decimal commas and German month names.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from sim.figures import geo
from sim.figures.axes import (
    LEGEND_WIDTH,
    CellFormat,
    band_handles,
    bold_headers,
    cost_vs_coverage,
    coverage_map,
    deadline_handle,
    default_horizon,
    diff_unit,
    difference_band,
    draw_fan,
    group_handles,
    heatmap,
    legend_entries,
    map_colorbar,
    panel_letter,
    share_axis,
    small_multiples,
    small_multiples_grid,
    text_color,
    time_to_target_bars,
    use_short,
)
from sim.figures.labels import (
    COVERAGE_AT_DEADLINE,
    MINUS,
    SIZE_CLASSES,
    UNITS,
    Lang,
    check_lang,
    comparison_label,
    comparison_parts,
    format_month,
    format_number,
    format_percent,
    group_label,
    label_column,
    label_metric,
    label_value,
    metric_unit,
    n_text,
    number_formatter,
    pct_range,
    target_label,
    text,
    wrap,
)
from sim.figures.levels import PAYER_PARTIES
from sim.figures.style import (
    DIVERGING_CMAP,
    LEVEL_STYLES,
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    SMALL_PT,
    WIDTH_FULL,
    group_styles,
    groups_of,
    ordered_levels,
    palette_color,
    select_group,
    styled,
)
from sim.figures.tables import (
    as_list,
    cost_coverage_table,
    fan_table,
    heatmap_table,
    map_table,
    require,
    running_costs_table,
    size_class_table,
    state_difference_table,
    state_table,
    summarise_kpi,
    with_date,
)

# --------------------------------------------------------------------------------------
# Figures: (fig, plotted_data)
# --------------------------------------------------------------------------------------

#: A sentence every figure drawn in its context ends its note with (:func:`caption_tail`).
_CAPTION_TAIL: ContextVar[str] = ContextVar("caption_tail", default="")


@contextmanager
def caption_tail(sentence: str) -> Iterator[None]:
    """Context in which every figure's note ends with ``sentence`` (e.g. what the bands of
    an experiment carry: how its calibrated parameters were drawn)."""
    token = _CAPTION_TAIL.set(sentence)
    try:
        yield
    finally:
        _CAPTION_TAIL.reset(token)


def with_tail(note: str) -> str:
    """``note`` and the sentence of the current :func:`caption_tail`, if any."""
    tail = _CAPTION_TAIL.get()
    return f"{note} {tail}" if tail and note else (tail or note)


#: Characters of a note in :data:`SMALL_PT` per inch of figure width (notes wrap at it).
NOTE_CHARS_PER_INCH = 16
#: Characters of a 10 pt bold title per inch of figure width (titles wrap at it).
TITLE_CHARS_PER_INCH = 11


def new_figure(width: float, height: float, note: str, title: str | None = None
               ) -> tuple[Figure, SubFigure]:
    """Figure of ``width`` inches with a body of ``height`` inches and a footer holding
    the ``note`` (how to read the chart; with the :func:`caption_tail` in force). Returns
    the figure and the body to draw in.

    The note has its own subfigure, so figure legends below the axes never overlap it.
    """
    note = with_tail(note)
    lines = textwrap.wrap(note, max(40, int(width * NOTE_CHARS_PER_INCH)))
    foot_h = 0.14 * len(lines) + 0.08
    fig = plt.figure(figsize=(width, height + foot_h), layout="constrained")
    parts = np.ravel(np.asarray(fig.subfigures(2, 1, height_ratios=[height, foot_h]),
                                dtype=object))
    body, foot = parts[0], parts[1]
    foot.text(0.01, 0.5, "\n".join(lines), ha="left", va="center", fontsize=SMALL_PT,
              color="0.3", linespacing=1.25)
    if title:
        fig.suptitle(wrap(title, int(width * TITLE_CHARS_PER_INCH)), x=0.01, ha="left",
                     fontsize=10, fontweight="bold")
    return fig, body


def fan_figure(national: pd.DataFrame, by: str | Sequence[str] = "strategy",
               value: str = "population_coverage", lang: Lang = "en",
               title: str | None = None, facet: str | None = None
               ) -> tuple[Figure, pd.DataFrame]:
    """Fan chart of ``value`` per group; with ``facet`` one panel per level of that column
    (e.g. ``facet="funding"``), sharing the y axis.

    Plotted data: :func:`fan_table` (with the facet column first).
    """
    check_lang(lang)
    by_cols = as_list(by)
    table = fan_table(national, [*([facet] if facet else []), *by_cols], value)
    facets = groups_of(table, [facet]) if facet else [()]
    keys = groups_of(table, by_cols)
    note = text("note_fan", lang, n=n_text(table["n_replications"]))
    with styled():
        # Legend below in two columns: beyond four lines per column it takes more height.
        lines = sum(str(h.get_label()).count("\n") + 1
                    for h in group_handles(by_cols, keys, lang)) + 3
        extra = 0.16 * max(0, math.ceil(lines / 2) - 4)
        fig, body = new_figure(WIDTH_FULL if len(facets) > 1 else 6.0, 3.9 + extra, note,
                               title)
        axes = body.subplots(1, len(facets), sharey=True, squeeze=False)[0]
        for i, (ax, fk) in enumerate(zip(axes, facets, strict=True)):
            sub = select_group(table, [facet], fk) if facet else table
            draw_fan(ax, sub, by_cols, value, lang, legend=False,
                     year_step=2 if len(facets) < 3 else 4)
            if facet:  # short level words, wrapped to the panel's width
                ax.set_title(wrap(f"{panel_letter(i)}  "
                                  f"{label_value(facet, fk[0], lang, short=True)}",
                                  max(20, int(PANEL_TITLE_CHARS / len(facets)))))
            if i:
                ax.set_ylabel("")
        body.legend(handles=[*group_handles(by_cols, keys, lang), *band_handles(lang),
                             deadline_handle(lang)],
                    loc="outside lower center", ncol=2 if len(keys) > 2 else 3,
                    fontsize=SMALL_PT)
    return fig, table


#: Characters of a bold panel title across a full-width figure (divided among its panels).
PANEL_TITLE_CHARS = 84
#: Narrowest difference figure (inches): its legend's three entries need this much (one
#: panel alone was 3.2 inches and cut the legend off at both sides).
DIFF_MIN_WIDTH = 5.0
#: At most this many panels side by side; more comparisons wrap into further rows.
MAX_PANELS_PER_ROW = 4


def difference_figure(diffs: pd.DataFrame | Mapping[str, pd.DataFrame], lang: Lang = "en",
                      title: str | None = None, value: str = "population_coverage",
                      ci_level: float = 0.95, n_replications: int | None = None,
                      factor: str = "strategy") -> tuple[Figure, pd.DataFrame]:
    """Paired differences over time, one panel per comparison, shared y axis.

    ``diffs``: one frame with ``date``/``month``, ``mean_diff``, ``lo``, ``hi`` and an
    optional ``comparison`` column (e.g. ``"efv - efa"``), or a mapping comparison ->
    frame. Level keys of ``factor`` in comparison names become short labels and the line
    takes the colour of the first level. Up to :data:`MAX_PANELS_PER_ROW` panels stand in
    one row; more wrap into further rows.

    Plotted data: ``comparison, date, mean_diff, lo, hi``.
    """
    check_lang(lang)
    if isinstance(diffs, Mapping):
        data = pd.concat([with_date(d).assign(comparison=c) for c, d in diffs.items()],
                         ignore_index=True)
    else:
        data = with_date(diffs)
        if "comparison" not in data.columns:
            data = data.assign(comparison="")
    require(data, ["comparison", "date", "mean_diff", "lo", "hi"], "diffs")
    if data.duplicated(["comparison", "date"]).any():
        other = [c for c in data.columns
                 if c in ("strategy", "funding", "operation", "point") or "." in c]
        raise ValueError("diffs has several rows per comparison and date (one per "
                         f"{other or 'design point'}?): filter to one series per comparison")
    data = data[["comparison", "date", "mean_diff", "lo", "hi"]].reset_index(drop=True)
    comparisons = list(pd.unique(data["comparison"]))
    n_panels = len(comparisons)
    ncol = min(n_panels, MAX_PANELS_PER_ROW)
    nrow = math.ceil(n_panels / ncol)
    n = "?" if n_replications is None else str(n_replications)
    note = text("note_diff", lang, n=n, ci=format_percent(ci_level, lang))
    styles = LEVEL_STYLES.get(factor, {})
    # Long level labels: each panel names its level only, the y label the reference.
    parts_of = {comp: comparison_parts(str(comp)) for comp in comparisons}
    refs = {p[1] for p in parts_of.values() if p}
    compact = (len(refs) != 1 or all(len(comparison_label(str(comp), lang, factor)) <= 24
                                     for comp in comparisons))
    body_h = 3.0 if nrow == 1 else 2.55 * nrow
    with styled():
        fig, body = new_figure(min(WIDTH_FULL, max(2.4 * ncol + 0.8, DIFF_MIN_WIDTH)), body_h,
                               note, title)
        grid = body.subplots(nrow, ncol, sharey=True, sharex=nrow > 1, squeeze=False)
        axes = grid.ravel()
        for i, (ax, comp) in enumerate(zip(axes, comparisons, strict=False)):
            parts = comparison_parts(str(comp))
            color = (styles[parts[0]]["color"]
                     if parts and parts[0] in styles else OKABE_ITO["black"])
            difference_band(ax, data[data["comparison"] == comp], None, lang, value,
                            color=color, legend=False, ci_level=ci_level,
                            year_step=2 if ncol < 3 else 4)
            if comp and compact:
                ax.set_title(f"{panel_letter(i)}  {comparison_label(str(comp), lang, factor)}")
            elif comp:
                parts = parts_of[comp]
                level = parts[0] if parts else str(comp)
                ax.set_title(wrap(f"{panel_letter(i)}  "
                                  f"{label_value(factor, level, lang, short=True)}", 24),
                             fontsize=8)
            if i % ncol:
                ax.set_ylabel("")
            if nrow > 1:  # years under the lowest panel of each column only
                ax.tick_params(axis="x", labelbottom=i + ncol >= n_panels)
        for ax in axes[n_panels:]:
            ax.set_visible(False)
        if nrow > 1 or not compact:  # one y label for all panels
            for ax in axes:
                ax.set_ylabel("")
            metric = label_metric(value, lang, unit=False)
            metric = metric if lang == "de" else metric.lower()
            unit, _ = diff_unit(value)
            if compact:
                ylabel = text("diff_of", lang, metric=metric)
                ylabel = f"{ylabel} ({UNITS[unit][lang]})" if unit in UNITS else ylabel
            else:
                ref = label_value(factor, next(iter(refs)), lang, short=True)
                ylabel = text("diff_to_unit", lang, ref=ref, metric=metric,
                              unit=UNITS.get(unit, {}).get(lang, ""))
            body.supylabel(wrap(ylabel, int(body_h * 12)), fontsize=8.5)
        handles = [Line2D([], [], color="0.25", lw=1.6, label=text("mean_diff", lang)),
                   Patch(facecolor="0.25", alpha=0.22, lw=0,
                         label=text("ci", lang, ci=format_percent(ci_level, lang))),
                   deadline_handle(lang)]
        body.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=SMALL_PT)
    return fig, data


#: Height (inches) of one row of Land panels.
SMALL_MULTIPLES_ROW_IN = 1.4


def small_multiples_figure(by_state: pd.DataFrame, by: str | Sequence[str] = "strategy",
                           value: str = "available_share", lang: Lang = "en",
                           title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """One panel per Land (4 × 4), one line per group. Plotted data: :func:`state_table`."""
    by_cols = as_list(by)
    table = state_table(by_state, by_cols, value)
    keys = groups_of(table, by_cols)
    note = text("note_small", lang, n=n_text(table["n_replications"]))
    nrow, _ = small_multiples_grid(table["state"].nunique())
    with styled():
        fig, body = new_figure(WIDTH_FULL, SMALL_MULTIPLES_ROW_IN * nrow + 1.0, note, title)
        small_multiples(body, by_state, by_cols, value, lang, table=table)
        body.legend(handles=group_handles(by_cols, keys, lang), loc="outside lower center",
                    ncol=min(len(keys), 4), fontsize=SMALL_PT)
    return fig, table


def map_figure(regions: pd.DataFrame, level: geo.RegionLevel = "land",
               by: str | Sequence[str] = "strategy", value: str = "population_coverage",
               dates: Sequence[object] | None = None, lang: Lang = "en",
               title: str | None = None, vmin: float = 0.0, vmax: float = 1.0
               ) -> tuple[Figure, pd.DataFrame]:
    """Maps of the median share per Land or Kreis: one row per date, one column per group
    (a single group: the dates side by side), one shared colour scale.

    ``regions`` is ``by_state`` (``level="land"``) or ``by_kreis`` (``level="kreis"``);
    ``dates`` picks the map dates by month (default: Dec 2022 and the last date, or all
    dates if there are at most two). Plotted data: :func:`map_table`.
    """
    check_lang(lang)
    by_cols = as_list(by)
    table = map_table(regions, level, by_cols, value, dates)
    keys = groups_of(table, by_cols)
    map_dates = sorted(pd.to_datetime(table["date"].unique()))
    # One group (a run): the map months side by side, each titled by its month.
    across = len(keys) == 1 and len(map_dates) > 1
    nrow, ncol = (1, len(map_dates)) if across else (len(map_dates), len(keys))
    all_regions = set(geo.region_keys(level))
    missing = any(set(select_group(table[pd.to_datetime(table["date"]) == d], by_cols, k)
                      ["region"]) != all_regions for d in map_dates for k in keys)
    note = (text("note_map", lang, n=n_text(table["n_replications"]))
            + (text("note_kreis", lang) if level == "kreis" else "")
            + (text("note_missing", lang) if missing else ""))
    width = min(WIDTH_FULL, 1.75 * ncol + 1.1)
    panel_w = (width - 1.1) / ncol
    with styled():
        fig, body = new_figure(width, panel_w * 1.36 * nrow + 0.4, note, title)
        axes = body.subplots(nrow, ncol, squeeze=False)
        for r, d in enumerate(map_dates):
            for c, key in enumerate(keys):
                ax = axes[0, r] if across else axes[r, c]
                sub = select_group(table[pd.to_datetime(table["date"]) == d], by_cols, key)
                coverage_map(ax, dict(zip(sub["region"], sub["median"], strict=True)), level,
                             lang, vmin, vmax)
                if across:
                    ax.set_title(format_month(d, lang), fontsize=8, loc="center")
                    continue
                if r == 0:
                    ax.set_title(wrap(group_label(by_cols, key, lang, use_short(by_cols)), 22),
                                 fontsize=SMALL_PT, loc="center")
                if c == 0:
                    ax.text(-0.04, 0.5, format_month(d, lang), transform=ax.transAxes,
                            rotation=90, ha="right", va="center", fontsize=8,
                            fontweight="bold")
        map_colorbar(body, axes, lang, label_metric(value, lang), vmin, vmax)
    return fig, table


def heatmap_figure(df: pd.DataFrame, x: str, y: str, value: str, facet: str | None = None,
                   fmt: CellFormat | None = None, lang: Lang = "en", title: str | None = None,
                   vmin: float | None = None, vmax: float | None = None
                   ) -> tuple[Figure, pd.DataFrame]:
    """Annotated heatmaps of the median of ``value`` over replications per (x, y) cell; with
    ``facet`` one panel per level (e.g. strategy) on one shared colour scale.

    ``months_to_*`` KPIs are shown as the month in which the target was reached (earlier
    = brighter); a cell whose median was not reached is hatched and says so.
    Plotted data: :func:`heatmap_table`.
    """
    check_lang(lang)
    table = heatmap_table(df, x, y, value, facet)
    months = value.startswith("months_to_")
    kind = "months" if months else metric_unit(value)
    if fmt is None:
        fmt = "percent" if kind == "share" else "month" if months else "number"
    facets = groups_of(table, [facet]) if facet else [()]
    finite = table["median"].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    lo = vmin if vmin is not None else (float(finite.min()) if len(finite) else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if len(finite) else 1.0)
    nx, ny = table[x].nunique(), table[y].nunique()
    panel_w = min(3.2, (WIDTH_FULL - 0.9) / len(facets))
    cmap = SEQUENTIAL_CMAP + "_r" if months else SEQUENTIAL_CMAP
    n = table["n_replications"].dropna()
    note = text("note_heat", lang, n=n_text(n)) if len(n) else ""
    if months and not table["median"].notna().all():
        note += text("note_hatched", lang)
    with styled():
        fig, body = new_figure(panel_w * len(facets) + 0.9,
                               max(2.2, panel_w * 0.8 * ny / max(nx, 1) + 0.9), note, title)
        axes = body.subplots(1, len(facets), squeeze=False, sharey=True)[0]
        for i, (ax, fk) in enumerate(zip(axes, facets, strict=True)):
            sub = select_group(table, [facet], fk) if facet else table
            heatmap(ax, sub, x, y, "median", fmt, lang, cmap, lo, hi,
                    missing_text=text("not_reached_cell", lang) if months else None)
            if facet:  # short level words, wrapped to the panel's width
                ax.set_title(wrap(f"{panel_letter(i)}  "
                                  f"{label_value(facet, fk[0], lang, short=True)}",
                                  max(20, int(PANEL_TITLE_CHARS / len(facets)))))
            if i:
                ax.set_ylabel("")
        label = (text("month_reached_of", lang, target=target_label(value, lang))
                 if months else label_metric(value, lang))
        map_colorbar(body, axes, lang, wrap(label, 36), lo, hi, cmap, kind)
    return fig, table


def time_to_target_figure(kpis: pd.DataFrame, by: str | Sequence[str] = "strategy",
                          targets: Sequence[str] = ("months_to_50pct_population_coverage",
                                                    "months_to_90pct_population_coverage"),
                          lang: Lang = "en", title: str | None = None,
                          horizon_months: float | None = None
                          ) -> tuple[Figure, pd.DataFrame]:
    """Time to each target: one panel per KPI, shared groups and time axis.

    Plotted data: :func:`summarise_kpi` of each target, stacked (column ``kpi``).
    """
    check_lang(lang)
    by_cols = as_list(by)
    table = pd.concat([summarise_kpi(kpis, by_cols, k) for k in targets], ignore_index=True)
    horizon = horizon_months if horizon_months is not None else default_horizon(table)
    groups = groups_of(table, by_cols)
    n_groups = len(groups)
    # Rows grow with labels of more than two lines (as time_to_target_bars wraps them).
    lines = max((wrap(group_label(by_cols, k, lang, use_short(by_cols)), 28).count("\n") + 1
                 for k in groups), default=1)
    row_h = 0.42 + 0.11 * max(0, lines - 2)
    lo, hi = pct_range(lang)
    note = text("note_ttt", lang, n=n_text(table["n_replications"]), lo=lo, hi=hi)
    with styled():
        fig, body = new_figure(WIDTH_FULL, row_h * n_groups + 0.9, note, title)
        axes = body.subplots(1, len(targets), sharey=True, sharex=True, squeeze=False)[0]
        for i, (ax, k) in enumerate(zip(axes, targets, strict=True)):
            time_to_target_bars(ax, table[table["kpi"] == k], lang, by=by_cols,
                                horizon_months=horizon,
                                title=f"{panel_letter(i)}  {target_label(k, lang)}",
                                xlabel=False)
            if i:
                ax.tick_params(axis="y", labelleft=False)
        body.supxlabel(text("month_reached", lang), fontsize=8)
    return fig, table


def cost_coverage_figure(kpis: pd.DataFrame, by: str | Sequence[str] = "strategy",
                         x: str = "spent_eur_programmes",
                         y: str = COVERAGE_AT_DEADLINE, lang: Lang = "en",
                         title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """Cost against coverage per group. Plotted data: :func:`cost_coverage_table`."""
    check_lang(lang)
    by_cols = as_list(by)
    table = cost_coverage_table(kpis, by_cols, x, y)
    keys = groups_of(table, by_cols)
    lo, hi = pct_range(lang)
    note = text("note_cost", lang, n=n_text(table["n_replications"]), lo=lo, hi=hi)
    with styled():
        fig, body = new_figure(5.8, 3.6, note, title)
        ax = body.subplots()
        cost_vs_coverage(ax, kpis, lang, by=by_cols, x=x, y=y, table=table, legend=False)
        handles, labels = legend_entries(by_cols, keys, lang)
        leg = body.legend(handles, labels, loc="outside right center", fontsize=SMALL_PT)
        bold_headers(leg, labels, by_cols, lang)
    return fig, table


# --------------------------------------------------------------------------------------
# Land differences, running costs, municipal size classes
# --------------------------------------------------------------------------------------

def _pp_cell(v: float, lang: Lang) -> str:
    """Percentage points with one decimal; small non-zero values with two (``+0.03``), the
    smallest as ``+<0.01``, so no non-zero difference reads as ``0.0``."""
    if v == 0 or abs(v) >= 0.05:
        return format_number(v, lang, 1, sign=True)
    if abs(v) >= 0.005:
        return format_number(v, lang, 2, sign=True)
    return ("+" if v > 0 else MINUS) + "<" + format_number(0.01, lang, 2)


def _level_ticks(factor: str, levels: Sequence[Any], lang: Lang, width: int) -> list[str]:
    return [wrap(label_value(factor, v, lang, short=True), width) for v in levels]


def state_difference_figure(by_state: pd.DataFrame, factor: str, reference: object,
                            value: str = "population_coverage",
                            dates: Sequence[object] | None = None, lang: Lang = "en",
                            title: str | None = None, ci_level: float = 0.95
                            ) -> tuple[Figure, pd.DataFrame]:
    """Per Land (rows, official key order) and level of ``factor`` (columns, reference
    left out): the mean paired difference of ``value`` to ``reference``, one panel per
    date, on one diverging colour scale centred at 0; cells annotated in percentage points,
    bold where the confidence interval excludes 0.

    Plotted data: :func:`state_difference_table` (``state, state_name, <factor>, date,
    n_pairs, mean_diff, lo, hi``).
    """
    check_lang(lang)
    full = state_difference_table(by_state, factor, reference, value, dates, ci_level)
    table = full[["state", "state_name", factor, "date", "n_pairs", "mean_diff", "lo",
                  "hi"]].reset_index(drop=True)
    if table.empty:
        raise ValueError(f"state_difference_figure: {factor!r} has no level besides "
                         f"{reference!r}")
    levels = [v for v in ordered_levels(factor, table[factor].tolist())]
    states = geo.region_keys("land")
    names = geo.region_names("land")
    map_dates = sorted(pd.to_datetime(table["date"].unique()))
    scale = 100.0
    biggest = float(np.nanmax(np.abs(table["mean_diff"].to_numpy(dtype=float)))) * scale
    lim = max(0.5, biggest)
    norm = mcolors.Normalize(-lim, lim)  # symmetric: white at 0
    cmap = matplotlib.colormaps[DIVERGING_CMAP].with_extremes(bad="0.93")
    ref_label = label_value(factor, reference, lang, short=True)
    note = text("note_state_diff", lang, ref=ref_label, n=n_text(table["n_pairs"]),
                ci=format_percent(ci_level, lang))
    n_lv = len(levels)
    cell_w = min(0.62, (WIDTH_FULL - 2.2) / (len(map_dates) * n_lv))
    width = min(WIDTH_FULL, cell_w * n_lv * len(map_dates) + 2.3)
    # Column labels: horizontal if each fits its column in lines of whole words (6.5 pt:
    # about 20 characters per inch), else upright in at most two lines.
    fits = int(cell_w * 19)
    rotate = any(len(w) > fits for v in levels
                 for w in label_value(factor, v, lang, short=True).split())
    label_width = 24 if rotate else fits
    with styled():
        fig, body = new_figure(width, 16 * 0.19 + 1.5, note, title)
        axes = body.subplots(1, len(map_dates), sharey=True, squeeze=False)[0]
        for i, (ax, d) in enumerate(zip(axes, map_dates, strict=True)):
            sub = table[pd.to_datetime(table["date"]) == d]
            grid = (sub.pivot(index="state", columns=factor, values="mean_diff")
                    .reindex(index=states, columns=levels).to_numpy(dtype=float) * scale)
            lo = (sub.pivot(index="state", columns=factor, values="lo")
                  .reindex(index=states, columns=levels).to_numpy(dtype=float))
            hi = (sub.pivot(index="state", columns=factor, values="hi")
                  .reindex(index=states, columns=levels).to_numpy(dtype=float))
            ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto",
                      interpolation="nearest")
            for (r, c), v in np.ndenumerate(grid):
                if not np.isfinite(v):
                    continue
                sure = bool(lo[r, c] > 0 or hi[r, c] < 0)
                ax.text(c, r, _pp_cell(v, lang), ha="center",
                        va="center", fontsize=SMALL_PT, fontweight="bold" if sure else "normal",
                        color=text_color(cmap(norm(v))))
            ax.set_xticks(range(n_lv), _level_ticks(factor, levels, lang, label_width),
                          fontsize=SMALL_PT, rotation=90 if rotate else 0,
                          linespacing=1.0 if rotate else 1.1)
            ax.xaxis.tick_top()
            ax.set_yticks(range(len(states)), [names[s] for s in states], fontsize=SMALL_PT)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_xticks(np.arange(n_lv + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(len(states) + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="white", lw=0.8)
            ax.tick_params(which="minor", length=0)
            ax.set_xlabel(f"{panel_letter(i)}  {format_month(d, lang)}", fontsize=9,
                          fontweight="bold", loc="left")
        metric = label_metric(value, lang, unit=False)
        cb = map_colorbar(body, axes, lang, wrap(text("diff_to", lang, ref=ref_label,
                                                      metric=metric if lang == "de"
                                                      else metric.lower()), 34),
                          -lim, lim, DIVERGING_CMAP, unit="pp")
        cb.ax.yaxis.set_major_formatter(number_formatter(lang, sign=True))
    return fig, table


def running_costs_figure(costs: pd.DataFrame, factor: str, years: tuple[int, int] = (2023, 2030),
                         runs: pd.DataFrame | None = None, lang: Lang = "en",
                         title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """a: running costs over ``years`` per level of ``factor``, stacked by payer (median of
    each payer's sum) with the median total and its 5-95 % range; b: the yearly total per
    level over time (median line and band). Without yearly data only panel a, over the
    whole horizon. Plotted data: :func:`running_costs_table`.
    """
    check_lang(lang)
    table = running_costs_table(costs, factor, years, runs)
    tot = table[table["panel"] == "total"]
    yearly = table[table["panel"] == "year"]
    levels = ordered_levels(factor, tot[factor].tolist())
    keys = [(v,) for v in levels]
    styles = group_styles([factor], keys)
    lo, hi = pct_range(lang)
    y0, y1 = years
    with_year = len(yearly) > 0
    n = n_text(tot["n_replications"])
    note = (text("note_costs", lang, n=n, y0=y0, y1=y1, lo=lo, hi=hi) if with_year
            else text("note_costs_kpi", lang, n=n, lo=lo, hi=hi))
    mio = 1e-6
    with styled():
        fig, body = new_figure(WIDTH_FULL, max(3.0, 0.34 * len(levels) + 1.6), note, title)
        if with_year:
            ax, ax2 = body.subplots(1, 2, width_ratios=[1.15, 1])
        else:
            ax, ax2 = body.subplots(), None
        for i, lv in enumerate(levels):
            left = 0.0
            for payer, party in PAYER_PARTIES.items():
                row = tot[(tot[factor] == lv) & (tot["payer"] == payer)]
                v = float(row["median"].iloc[0]) * mio if len(row) else 0.0
                ax.barh(i, v, left=left, height=0.62, color=palette_color(party.color),
                        hatch=party.hatch, edgecolor="white", lw=0.4, zorder=2,
                        label=(party.de if lang == "de" else party.en) if i == 0 else None)
                left += v
            t = tot[(tot[factor] == lv) & (tot["payer"] == "total")].iloc[0]
            med, q05, q95 = (float(t[c]) * mio for c in ("median", "q05", "q95"))
            ax.errorbar(med, i, xerr=[[med - q05], [q95 - med]], fmt="o", color="black",
                        ms=3.5, mfc="white", mew=0.9, elinewidth=0.9, capsize=2.5, zorder=3)
        ax.set_yticks(range(len(levels)), _level_ticks(factor, levels, lang, 26), fontsize=SMALL_PT)
        ax.set_ylim(len(levels) - 0.5, -0.5)
        ax.xaxis.set_major_formatter(number_formatter(lang))
        ax.set_xlabel(text("costs_total", lang, y0=y0, y1=y1) if with_year
                      else text("costs_total_all", lang))
        ax.grid(axis="x", color="0.92", lw=0.6)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_title(f"{panel_letter(0)}  {text('costs_sum', lang, y0=y0, y1=y1)}"
                     if with_year else text("payer", lang))
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], ls="none", marker="o", color="black", mfc="white",
                              ms=3.5))
        labels.append(text("total_range", lang, lo=lo, hi=hi))
        if ax2 is not None:
            for lv in levels:
                st = styles[(lv,)]
                sub = yearly[yearly[factor] == lv].sort_values("year")
                ax2.fill_between(sub["year"], sub["q05"] * mio, sub["q95"] * mio,
                                 color=st["color"], alpha=0.12, lw=0)
                ax2.plot(sub["year"], sub["median"] * mio, color=st["color"],
                         ls=st["linestyle"], marker=st["marker"], ms=3.5, mfc="white",
                         mew=0.9, lw=1.4,
                         label=label_value(factor, lv, lang, short=True))
            ax2.axvline(y0 - 0.5, color="0.35", lw=0.8, ls=":", zorder=1.5)
            ax2.yaxis.set_major_formatter(number_formatter(lang))
            ax2.xaxis.set_major_locator(MultipleLocator(2))
            ax2.xaxis.set_minor_locator(MultipleLocator(1))
            ax2.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: str(round(v))))
            ax2.set_ylim(bottom=0)
            ax2.set_ylabel(text("costs_year", lang))
            ax2.grid(axis="y", color="0.92", lw=0.6)
            ax2.set_title(f"{panel_letter(1)}  {text('costs_per_year', lang)}")
            h2, l2 = ax2.get_legend_handles_labels()
            h2.append(Line2D([], [], color="0.35", lw=0.8, ls=":"))
            l2.append(text("phases_start", lang))
            leg = ax2.legend(h2, l2, loc="lower right", fontsize=SMALL_PT, handlelength=2.6,
                             title=label_column(factor, lang), title_fontsize=SMALL_PT,
                             alignment="left")
            leg.get_title().set_fontweight("bold")
        body.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=SMALL_PT)
    return fig, table


def _marker_size(marker: str, size: float) -> float:
    """Stars look smaller than other markers of the same size."""
    return size * 1.4 if marker == "*" else size


def size_class_figure(by_size: pd.DataFrame, by: str | Sequence[str] = "strategy",
                      value: str = "onboarded_share", dates: Sequence[object] | None = None,
                      lang: Lang = "en", title: str | None = None
                      ) -> tuple[Figure, pd.DataFrame]:
    """Dot plot of ``value`` per municipal size class (x), one dot with 5-95 % whiskers per
    group side by side, one panel per date (rows). Plotted data: :func:`size_class_table`.
    """
    check_lang(lang)
    by_cols = as_list(by)
    table = size_class_table(by_size, by_cols, value, dates)
    keys = groups_of(table, by_cols)
    styles = group_styles(by_cols, keys)
    classes = [c for c in SIZE_CLASSES if c in set(table["size_class"])]
    map_dates = sorted(pd.to_datetime(table["date"].unique()))
    lo, hi = pct_range(lang)
    note = text("note_size", lang, n=n_text(table["n_replications"]), lo=lo, hi=hi)
    step = min(0.8 / max(len(keys), 1), 0.2)
    offsets = (np.arange(len(keys)) - (len(keys) - 1) / 2) * step
    with styled():
        fig, body = new_figure(WIDTH_FULL, 2.3 * len(map_dates) + 0.4, note, title)
        axes = body.subplots(len(map_dates), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
        for i, (ax, d) in enumerate(zip(axes, map_dates, strict=True)):
            sub = table[pd.to_datetime(table["date"]) == d]
            for k, off in zip(keys, offsets, strict=True):
                st = styles[k]
                g = select_group(sub, by_cols, k).set_index("size_class").reindex(classes)
                x = np.arange(len(classes)) + off
                ax.plot(x, g["median"], color=st["color"], ls=st["linestyle"], lw=0.7,
                        alpha=0.6, zorder=2)
                ax.errorbar(x, g["median"], yerr=[g["median"] - g["q05"],
                                                  g["q95"] - g["median"]],
                            fmt=st["marker"], color=st["color"], mfc=st["color"], mec="white",
                            mew=0.5, ms=_marker_size(st["marker"], 4.5), elinewidth=0.8,
                            capsize=0, zorder=3)
            share_axis(ax, lang, None)
            ax.set_xlim(-0.55, len(classes) - 0.45)
            ax.set_xticks(range(len(classes)),
                          [SIZE_CLASSES[c][1 if lang == "de" else 0] for c in classes])
            for j in range(1, len(classes)):
                ax.axvline(j - 0.5, color="0.9", lw=0.6, zorder=0)
            ax.set_title(f"{panel_letter(i)}  {format_month(d, lang)}")
        axes[-1].set_xlabel(text("size_axis", lang))
        body.supylabel(label_metric(value, lang), fontsize=9)
        handles = [Line2D([], [], color=styles[k]["color"], ls=styles[k]["linestyle"],
                          lw=0.9, marker=styles[k]["marker"],
                          ms=_marker_size(styles[k]["marker"], 5), mfc=styles[k]["color"],
                          mec="white", mew=0.5,
                          label=wrap(group_label(by_cols, k, lang, use_short(by_cols)),
                                     LEGEND_WIDTH))
                   for k in keys]
        body.legend(handles=handles, loc="outside lower center",
                    ncol=min(len(keys), 2 if len(keys) > 4 else 4), fontsize=SMALL_PT,
                    handlelength=3)
    return fig, table


__all__ = ["MAX_PANELS_PER_ROW", "caption_tail", "cost_coverage_figure", "difference_figure",
           "fan_figure",
           "heatmap_figure", "map_figure", "new_figure",
           "running_costs_figure", "size_class_figure", "small_multiples_figure",
           "state_difference_figure", "time_to_target_figure"]
