"""Axes-level charts and the axis helpers that every chart shares.

Axes-level functions (:func:`fan`, :func:`difference_band`, :func:`coverage_map`,
:func:`heatmap`, :func:`time_to_target_bars`, :func:`cost_vs_coverage`) take an ``Axes``,
draw into it and return it; :func:`small_multiples` takes a ``Figure`` (it needs 16). Given
a tidy table, each computes what it draws with :mod:`sim.figures.tables`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, MultipleLocator
from matplotlib.transforms import ScaledTranslation

from sim.calendar import ORIGIN_YEAR, OZG_DEADLINE_DATE, OZG_DEADLINE_TIME, month_end_date
from sim.figures import geo
from sim.figures.labels import (
    COVERAGE_AT_DEADLINE,
    UNITS,
    Lang,
    check_lang,
    format_month,
    format_number,
    format_percent,
    group_label,
    label_column,
    label_metric,
    label_value,
    metric_unit,
    number_formatter,
    percent_formatter,
    text,
    wrap,
)
from sim.figures.style import (
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    SMALL_PT,
    group_styles,
    groups_of,
    ordered_levels,
    select_group,
)
from sim.figures.tables import (
    as_list,
    cost_coverage_table,
    fan_table,
    require,
    state_table,
    with_date,
)

# --------------------------------------------------------------------------------------
# Axes helpers
# --------------------------------------------------------------------------------------

def date_axis(ax: Axes, dates: object, step: int = 2) -> None:
    """Year ticks (every ``step`` years, minor ticks every year) over the range of dates.

    Fixed tick positions: much faster than a YearLocator on many panels.
    """
    d = pd.to_datetime(pd.Series(np.ravel(np.asarray(dates))))
    y0, y1 = int(d.min().year), int(d.max().year) + 1
    years = list(range(y0, y1 + 1))
    ax.xaxis.set_major_locator(FixedLocator(
        [float(mdates.date2num(pd.Timestamp(y, 1, 1))) for y in years[::step]]))
    ax.xaxis.set_minor_locator(FixedLocator(
        [float(mdates.date2num(pd.Timestamp(y, 1, 1))) for y in years]))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(axis="y", color="0.9", lw=0.6)


def share_axis(ax: Axes, lang: Lang, label: str | None) -> None:
    ax.set_ylim(0, 1.02)  # a little headroom, so lines at 100 % are not cut in half
    ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.yaxis.set_major_formatter(percent_formatter(lang, 0))
    if label is not None:
        ax.set_ylabel(label)


def deadline_line(ax: Axes, x: object = OZG_DEADLINE_DATE, lw: float = 0.8) -> None:
    ax.axvline(x, color="0.35", lw=lw, ls=":", zorder=1.5)  # type: ignore[arg-type]


def deadline_handle(lang: Lang) -> Line2D:
    return Line2D([], [], color="0.35", lw=0.8, ls=":", label=text("deadline", lang))


def value_axis(ax: Axes, value: str, lang: Lang) -> None:
    if metric_unit(value) == "share":
        share_axis(ax, lang, label_metric(value, lang))
    else:
        ax.yaxis.set_major_formatter(number_formatter(lang))
        ax.set_ylabel(label_metric(value, lang))
        ax.set_ylim(bottom=0)


def use_short(by: Sequence[str]) -> bool:
    """Short level labels when groups combine several columns."""
    return len(by) > 1


#: Legend labels longer than this many characters wrap onto further lines.
LEGEND_WIDTH = 44


def group_handles(by: Sequence[str], keys: Sequence[tuple], lang: Lang,
                  marker: bool = True, line: bool = True) -> list[Line2D]:
    styles = group_styles(by, keys)
    return [Line2D([], [], color=styles[k]["color"],
                   linestyle=styles[k]["linestyle"] if line else "none",
                   marker=styles[k]["marker"] if marker else None, ms=4.5, lw=1.5,
                   mfc="white" if line else styles[k]["color"],
                   label=wrap(group_label(by, k, lang, use_short(by)), LEGEND_WIDTH))
            for k in keys]


def band_handles(lang: Lang) -> list[Patch]:
    return [Patch(facecolor="0.55", alpha=0.45, lw=0, label=text("inner", lang)),
            Patch(facecolor="0.55", alpha=0.18, lw=0, label=text("outer", lang))]


def panel_letter(i: int) -> str:
    """Letter of the ``i``-th panel: a, b, c, ..."""
    return chr(ord("a") + i)


# --------------------------------------------------------------------------------------
# Axes-level charts
# --------------------------------------------------------------------------------------

def draw_fan(ax: Axes, table: pd.DataFrame, by: list[str], value: str, lang: Lang,
             deadline: bool = True, legend: bool = True, year_step: int = 2) -> Axes:
    keys = groups_of(table, by)
    styles = group_styles(by, keys)
    for i, key in enumerate(keys):
        sub = select_group(table, by, key).sort_values("date")
        st = styles[key]
        ax.fill_between(sub["date"], sub["q05"], sub["q95"], color=st["color"], alpha=0.10,
                        lw=0)
        ax.fill_between(sub["date"], sub["q25"], sub["q75"], color=st["color"], alpha=0.25,
                        lw=0)
        ax.plot(sub["date"], sub["median"], color=st["color"], ls=st["linestyle"],
                marker=st["marker"], ms=4, mfc="white", mew=1.1, lw=1.5,
                markevery=((3 * i) % 12 + 6, 12), label=group_label(by, key, lang, use_short(by)))
    value_axis(ax, value, lang)
    date_axis(ax, table["date"], year_step)
    if deadline:
        deadline_line(ax)
    if legend:
        ax.legend(handles=[*group_handles(by, keys, lang), *band_handles(lang),
                           *([deadline_handle(lang)] if deadline else [])],
                  loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=SMALL_PT)
    return ax


def fan(ax: Axes, national: pd.DataFrame, by: str | Sequence[str] = "strategy",
        value: str = "population_coverage", lang: Lang = "en", deadline: bool = True,
        legend: bool = True) -> Axes:
    """Fan chart: per group the median over replications and its central 50 % and 90 %
    bands over time.

    Parameters
    ----------
    national
        Tidy national table: one row per design point, replication and month.
    by
        Design column(s) whose levels get one fan each. Other design columns must not vary
        within a group (filter first), else ``ValueError``.
    value
        Column drawn; shares (0-1) are shown in per cent.
    deadline
        Dotted line at the OZG deadline (31 Dec 2022).
    """
    check_lang(lang)
    by_cols = as_list(by)
    return draw_fan(ax, fan_table(national, by_cols, value), by_cols, value, lang,
                    deadline, legend)


def diff_unit(value: str) -> tuple[str, float]:
    kind = metric_unit(value)
    return ("pp", 100.0) if kind == "share" else (kind, 1.0)


def difference_band(ax: Axes, diff_df: pd.DataFrame, label: str | None = None,
                    lang: Lang = "en", value: str = "population_coverage",
                    color: str = OKABE_ITO["black"], ci_level: float = 0.95,
                    legend: bool = True, year_step: int = 2) -> Axes:
    """Mean paired difference over time with its confidence band and a zero line.

    Parameters
    ----------
    diff_df
        Columns ``date`` (or ``month``), ``mean_diff``, ``lo``, ``hi`` (e.g. from
        ``sim.stats``); a difference of shares is shown in percentage points.
    label
        Legend label of the line (e.g. ``"EfV − EfA"``).
    ci_level
        Confidence level of ``lo``/``hi`` (for the legend only).
    """
    check_lang(lang)
    df = with_date(diff_df)
    require(df, ["date", "mean_diff", "lo", "hi"], "diff_df")
    df = df.sort_values("date")
    unit, scale = diff_unit(value)
    ax.axhline(0, color="0.2", lw=0.8, zorder=1)
    ax.fill_between(df["date"], df["lo"], df["hi"], color=color, alpha=0.22, lw=0,
                    label=text("ci", lang, ci=format_percent(ci_level, lang)))
    ax.plot(df["date"], df["mean_diff"], color=color, lw=1.6,
            label=label or text("mean_diff", lang))
    ax.yaxis.set_major_formatter(number_formatter(lang, scale, sign=True))
    metric = label_metric(value, lang, unit=False)
    ylabel = text("diff_of", lang, metric=metric if lang == "de" else metric.lower())
    ax.set_ylabel(wrap(f"{ylabel} ({UNITS[unit][lang]})" if unit in UNITS else ylabel, 30))
    date_axis(ax, df["date"], year_step)
    deadline_line(ax)
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=[*handles, deadline_handle(lang)], loc="best", fontsize=SMALL_PT)
    return ax


def small_multiples(fig: Figure | SubFigure, by_state: pd.DataFrame,
                    by: str | Sequence[str] = "strategy", value: str = "available_share",
                    lang: Lang = "en", table: pd.DataFrame | None = None) -> np.ndarray:
    """Grid of up to 4 × 4 panels, one per simulated Land (official key order; a reduced
    world gets panels only for its Länder, never empty ones), shared axes; per group the
    median over replications and a light central 90 % band.

    Returns the array of Axes (this chart needs a whole figure or subfigure).
    ``table`` may pass a precomputed :func:`state_table`.
    """
    check_lang(lang)
    by_cols = as_list(by)
    t = state_table(by_state, by_cols, value) if table is None else table
    keys = groups_of(t, by_cols)
    styles = group_styles(by_cols, keys)
    names = geo.region_names("land")
    states = [k for k in geo.region_keys("land") if k in set(t["state"])]
    nrow, ncol = small_multiples_grid(len(states))
    axes = fig.subplots(nrow, ncol, sharex=True, sharey=True, squeeze=False)
    for ax in axes.flat[len(states):]:
        ax.set_visible(False)
    share = metric_unit(value) == "share"
    for ax, state in zip(axes.flat, states, strict=False):
        st_rows = t[t["state"] == state]
        for i, key in enumerate(keys):
            sub = select_group(st_rows, by_cols, key).sort_values("date")
            s = styles[key]
            ax.fill_between(sub["date"], sub["q05"], sub["q95"], color=s["color"],
                            alpha=0.12, lw=0)
            ax.plot(sub["date"], sub["median"], color=s["color"], ls=s["linestyle"],
                    marker=s["marker"], ms=2.6, mfc="white", mew=0.8, lw=1.1,
                    markevery=((5 * i) % 24 + 6, 24))
        ax.set_title(panel_name(names[state]), fontsize=SMALL_PT, pad=2)
        deadline_line(ax, lw=0.6)
        date_axis(ax, t["date"], 4)
        ax.tick_params(labelsize=SMALL_PT, length=2.5)
        ax.tick_params(which="minor", length=1.5)
        if share:
            share_axis(ax, lang, None)
            ax.yaxis.set_major_locator(FixedLocator([0, 0.5, 1.0]))
            ax.yaxis.set_minor_locator(FixedLocator([0.25, 0.75]))
            ax.grid(axis="y", which="minor", color="0.94", lw=0.5)
        else:
            ax.yaxis.set_major_formatter(number_formatter(lang))
    fig.supylabel(label_metric(value, lang), fontsize=8)
    return axes


#: Longest Land name a small-multiples panel title shows on one line: a quarter of the full
#: text width at 8 pt holds about 20 characters ("Mecklenburg-Vorpommern" ran into its
#: neighbour's title).
PANEL_NAME_CHARS = 20


def panel_name(name: str) -> str:
    """A Land name as a panel title: broken after its hyphen if it is too long for one line."""
    if len(name) <= PANEL_NAME_CHARS or "-" not in name:
        return name
    head, _, tail = name.partition("-")
    return f"{head}-\n{tail}"


#: Panels per row of the per-Land small multiples (16 Länder in a 4 × 4 grid).
SMALL_MULTIPLES_COLUMNS = 4


def small_multiples_grid(n_states: int) -> tuple[int, int]:
    """Rows and columns of the small multiples of ``n_states`` Länder."""
    ncol = max(1, min(SMALL_MULTIPLES_COLUMNS, n_states))
    return math.ceil(n_states / ncol), ncol


def coverage_map(ax: Axes, values_by_region: Mapping[str, float] | pd.Series,
                 level: geo.RegionLevel = "land", lang: Lang = "en", vmin: float = 0.0,
                 vmax: float = 1.0, cmap: str = SEQUENTIAL_CMAP) -> Axes:
    """Choropleth of a share (0-1) per Land or Kreis on a fixed colour scale.

    Regions without a value are grey; Kreis maps get the Land borders on top. Add the scale
    with :func:`map_colorbar`.
    """
    check_lang(lang)
    values = {str(k): float(v) for k, v in dict(values_by_region).items()}
    geo.draw_regions(ax, values, level=level, cmap=cmap, norm=mcolors.Normalize(vmin, vmax),
                     linewidth=0.4 if level == "land" else 0.1,
                     edgecolor="white" if level == "land" else "0.96")
    return ax


def map_colorbar(fig: Figure | SubFigure, axes: Axes | Sequence[Axes] | np.ndarray,
                 lang: Lang = "en", label: str | None = None, vmin: float = 0.0,
                 vmax: float = 1.0, cmap: str = SEQUENTIAL_CMAP, unit: str = "share",
                 orientation: Literal["vertical", "horizontal"] = "vertical") -> Colorbar:
    """Colour bar for :func:`coverage_map` / :func:`heatmap` panels.

    ``unit``: ``"share"`` (ticks in per cent), ``"months"`` (month index, ticks at the
    start of each year, labelled with the year) or anything else (plain numbers).
    """
    sm = ScalarMappable(norm=mcolors.Normalize(vmin, vmax), cmap=cmap)
    ax_list = list(np.ravel(np.asarray(axes, dtype=object)))
    cb = fig.colorbar(sm, ax=ax_list, orientation=orientation, shrink=0.7, aspect=25,
                      pad=0.02)
    axis = cb.ax.yaxis if orientation == "vertical" else cb.ax.xaxis
    if unit == "share":
        axis.set_major_formatter(percent_formatter(lang, 0))
    elif unit == "months":
        step = 12 if vmax - vmin <= 8 * 12 else 24
        axis.set_major_locator(MultipleLocator(step))
        axis.set_major_formatter(FuncFormatter(lambda v, _p: str(ORIGIN_YEAR + round(v) // 12)))
    else:
        axis.set_major_formatter(number_formatter(lang))
    cb.outline.set_visible(False)  # type: ignore[operator]
    cb.ax.tick_params(labelsize=SMALL_PT)
    if label:
        cb.set_label(label, fontsize=8)
    return cb


CellFormat = (Literal["percent", "number", "number1", "month"]
              | Callable[[float, Lang], str])


def _cell_text(v: float, fmt: CellFormat, lang: Lang) -> str:
    if callable(fmt):
        return fmt(v, lang)
    if not np.isfinite(v):
        return "–"
    if fmt == "percent":
        return format_percent(v, lang)
    if fmt == "number1":
        return format_number(v, lang, 1)
    if fmt == "month":
        return format_month(month_end_date(v), lang, short=True).replace(" ", "\n")
    return format_number(v, lang, 0)


def text_color(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever contrasts more with the background (WCAG luminance)."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "black" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "white"


def heatmap(ax: Axes, df: pd.DataFrame, x: str, y: str, value: str = "median",
            fmt: CellFormat = "percent", lang: Lang = "en", cmap: str = SEQUENTIAL_CMAP,
            vmin: float | None = None, vmax: float | None = None,
            missing_text: str | None = None) -> Axes:
    """Annotated heatmap of one value per (``x``, ``y``) cell.

    Parameters
    ----------
    df
        One row per cell (e.g. :func:`heatmap_table`); NaN cells are light grey and
        hatched, annotated with ``missing_text`` (default: an en dash).
    fmt
        Cell text: ``"percent"`` (shares), ``"number"``, ``"number1"``, ``"month"`` (month
        index since January 2018, shown as month and year) or ``(value, lang) -> str``.
    cmap, vmin, vmax
        Colour map (perceptually uniform by default) and its range (default: the data).
    """
    check_lang(lang)
    require(df, [x, y, value], "heatmap data")
    if df.duplicated([x, y]).any():
        raise ValueError(f"heatmap data has several rows per cell ({x}, {y}): summarise "
                         "first (heatmap_table)")
    xs, ys = ordered_levels(x, df[x].tolist()), ordered_levels(y, df[y].tolist())
    grid = (df.pivot(index=y, columns=x, values=value).reindex(index=ys, columns=xs)
            .to_numpy(dtype=float))
    finite = grid[np.isfinite(grid)]
    lo = vmin if vmin is not None else (float(finite.min()) if len(finite) else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if len(finite) else 1.0)
    norm = mcolors.Normalize(lo, hi if hi > lo else lo + 1)
    colormap = matplotlib.colormaps[cmap].with_extremes(bad="0.93")
    ax.imshow(np.ma.masked_invalid(grid), cmap=colormap, norm=norm, aspect="auto",
              origin="lower", interpolation="nearest")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            color = text_color(colormap(norm(v)))
            s = _cell_text(v, fmt, lang)
        else:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="////",
                                   edgecolor="0.75", lw=0))
            color, s = "0.15", missing_text or "–"
        ax.text(j, i, s, ha="center", va="center", fontsize=SMALL_PT, color=color,
                linespacing=1.1)
    ax.set_xticks(range(len(xs)), [label_value(x, v, lang, short=True) for v in xs])
    ax.set_yticks(range(len(ys)), [label_value(y, v, lang, short=True) for v in ys])
    ax.set_xlabel(label_column(x, lang))
    ax.set_ylabel(label_column(y, lang))
    if not all(isinstance(v, (int, float, np.number)) for v in ys):
        ax.invert_yaxis()  # categories read top-down; numeric levels grow upwards
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _month_axis(ax: Axes, horizon: float) -> None:
    """x axis in month indices (0 = January 2018), ticks at the start of years."""
    ax.set_xlim(0, horizon)
    step = 24 if horizon > 96 else 12
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_minor_locator(MultipleLocator(12))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: str(ORIGIN_YEAR + round(v) // 12)))
    ax.grid(axis="x", which="both", color="0.92", lw=0.6)


def default_horizon(table: pd.DataFrame) -> int:
    finite = table[["median", "lo", "hi"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    top = float(finite.max()) if len(finite) else 60.0
    return 12 * math.ceil((top + 6) / 12)


#: A bar shorter than this share of the horizon gets its month beside it, not inside.
BAR_LABEL_MIN_SHARE = 0.16


def time_to_target_bars(ax: Axes, kpis_summary: pd.DataFrame, lang: Lang = "en", *,
                        by: str | Sequence[str] = "strategy",
                        horizon_months: float | None = None, title: str | None = None,
                        xlabel: bool = True) -> Axes:
    """Horizontal bars: median month in which a target was first reached, whiskers for the
    interval across replications.

    Parameters
    ----------
    kpis_summary
        :func:`summarise_kpi` output: ``*by, n_replications, n_reached, median, lo, hi``
        in months since January 2018 (NaN = not reached).
    horizon_months
        Number of simulated months (the x range); default: the largest finite value,
        rounded up to whole years.

    A median that was not reached is drawn as an empty hatched bar across the horizon
    with the words "median not reached by <month>" (never as zero); an upper bound not
    reached ends in an arrow at the edge. Groups in which some replications never reached
    the target say how many did.
    """
    check_lang(lang)
    by_cols = as_list(by)
    require(kpis_summary, [*by_cols, "n_replications", "n_reached", "median", "lo", "hi"],
            "kpis_summary")
    keys = groups_of(kpis_summary, by_cols)
    styles = group_styles(by_cols, keys)
    horizon = float(horizon_months if horizon_months is not None
                    else default_horizon(kpis_summary))
    end = format_month(month_end_date(horizon - 1), lang, short=True)
    for i, key in enumerate(keys):
        row = select_group(kpis_summary, by_cols, key).iloc[0]
        color = styles[key]["color"]
        med, lo, hi = float(row["median"]), float(row["lo"]), float(row["hi"])
        n, k = int(row["n_replications"]), int(row["n_reached"])
        reached = text("reached_in", lang, k=k, n=n) if k < n else ""
        if np.isfinite(med):
            ax.barh(i, med, height=0.62, color=color, alpha=0.9, lw=0, zorder=2)
            hi_draw = hi if np.isfinite(hi) else horizon
            lo_draw = lo if np.isfinite(lo) else med
            ax.errorbar(med, i, xerr=[[med - lo_draw], [hi_draw - med]], fmt="none",
                        ecolor="0.1", elinewidth=0.9, capsize=2.5, zorder=3)
            if not np.isfinite(hi):
                ax.plot([horizon], [i], marker=">", color="0.1", ms=4, clip_on=False,
                        zorder=3)
            month = format_month(month_end_date(med), lang, short=True)
            if min(med, lo_draw) >= BAR_LABEL_MIN_SHARE * horizon:  # inside the bar
                ax.text(min(med, lo_draw) / 2, i, month, ha="center", va="center",
                        fontsize=SMALL_PT, zorder=4, color=text_color(mcolors.to_rgba(color)))
            else:  # a short bar: after its upper whisker
                ax.text(hi_draw + horizon * 0.015, i, month, ha="left", va="center",
                        fontsize=SMALL_PT, zorder=4, color="0.1")
            if reached:  # below the upper whisker, right of the bar if there is room
                late = med > 0.55 * horizon
                ax.text(horizon * 0.99 if late else med + horizon * 0.015, i + 0.07, reached,
                        ha="right" if late else "left", va="top", fontsize=SMALL_PT, color="0.2",
                        style="italic", zorder=4,
                        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none",
                              "pad": 0.5} if late else None)
        else:
            ax.barh(i, horizon, height=0.62, color="none", edgecolor=color, hatch="////",
                    lw=0.8, zorder=2)
            label = text("not_reached", lang, end=end) + (f"\n({reached})" if reached else "")
            ax.text(horizon * 0.02, i, label, ha="left", va="center", fontsize=SMALL_PT,
                    color="0.1", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.2})
    ax.set_yticks(range(len(keys)),
                  [wrap(group_label(by_cols, k, lang, use_short(by_cols)), 28) for k in keys])
    ax.set_ylim(len(keys) - 0.5, -0.5)
    _month_axis(ax, horizon)
    if xlabel:
        ax.set_xlabel(text("month_reached", lang))
    if horizon > OZG_DEADLINE_TIME:
        deadline_line(ax, OZG_DEADLINE_TIME, lw=1.0)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    if title:
        ax.set_title(title)
    return ax


#: Horizontal offset (points) between the markers of neighbouring groups in point-and-
#: whisker charts (under half a marker: markers at the same medians stay visible).
DODGE_PT = 3.0
POINTS_PER_INCH = 72.0


#: Two markers closer than this share of the plotted range (in x and in y) coincide and
#: are dodged apart; others stay exactly at their medians.
COINCIDE_SHARE = 0.015


def _dodge_coinciding(points: Mapping[Any, tuple[float, float]],
                      table: pd.DataFrame) -> dict[Any, float]:
    """Sideways offset (points) of each marker: 0 unless it coincides with others (within
    :data:`COINCIDE_SHARE` of the whiskers' range in both directions); a cluster of ``n``
    coinciding markers is spread by :data:`DODGE_PT` around its centre."""
    span_x = float(np.ptp(table[["x_lo", "x_hi"]].to_numpy(dtype=float))) or 1.0
    span_y = float(np.ptp(table[["y_lo", "y_hi"]].to_numpy(dtype=float))) or 1.0
    clusters: list[list[Any]] = []
    for key, (x, y) in points.items():
        for cluster in clusters:
            x0, y0 = points[cluster[0]]
            if abs(x - x0) <= COINCIDE_SHARE * span_x and abs(y - y0) <= COINCIDE_SHARE * span_y:
                cluster.append(key)
                break
        else:
            clusters.append([key])
    return {key: (i - (len(c) - 1) / 2) * DODGE_PT for c in clusters for i, key in enumerate(c)}


def cost_vs_coverage(ax: Axes, kpis: pd.DataFrame, lang: Lang = "en", *,
                     by: str | Sequence[str] = "strategy", x: str = "spent_eur_programmes",
                     y: str = COVERAGE_AT_DEADLINE,
                     table: pd.DataFrame | None = None, legend: bool = True) -> Axes:
    """Cost against coverage: per group the median with 5-95 % whiskers in both directions,
    markers at the same medians dodged sideways by :data:`DODGE_PT` (:func:`_dodge_coinciding`).

    ``kpis`` holds one row per design point and replication; money is in EUR (shown in
    € million), coverage a share (shown in per cent). ``table`` may pass a precomputed
    :func:`cost_coverage_table`.
    """
    check_lang(lang)
    by_cols = as_list(by)
    t = cost_coverage_table(kpis, by_cols, x, y) if table is None else table
    keys = groups_of(t, by_cols)
    styles = group_styles(by_cols, keys)
    hollow = _hollow(by_cols, keys)
    rows = {key: select_group(t, by_cols, key).iloc[0] for key in keys}
    shifts = _dodge_coinciding({k: (float(r["x_median"]), float(r["y_median"]))
                                for k, r in rows.items()}, t)
    for key in keys:
        r = rows[key]
        st = styles[key]
        # Markers at (nearly) the same medians (e.g. no money spent) are dodged sideways so
        # none hides another; the offset is in points, the data stay where they are.
        shift = shifts[key]
        ax.errorbar(r["x_median"], r["y_median"],
                    transform=ax.transData + ScaledTranslation(
                        shift / POINTS_PER_INCH, 0, ax.figure.dpi_scale_trans),
                    xerr=[[r["x_median"] - r["x_lo"]], [r["x_hi"] - r["x_median"]]],
                    yerr=[[r["y_median"] - r["y_lo"]], [r["y_hi"] - r["y_median"]]],
                    fmt=st["marker"], color=st["color"],
                    mfc="white" if hollow else st["color"],
                    mec=st["color"] if hollow else "white",
                    ms=7, mew=1.4 if hollow else 0.8, elinewidth=1.0, capsize=2.5,
                    alpha=0.95,
                    label=group_label(by_cols, key, lang, use_short(by_cols)))
    # The shifted transform keeps autoscaling from seeing the data: give it the whiskers.
    corners = t[["x_lo", "y_lo", "x_hi", "y_hi"]].to_numpy(dtype=float)
    ax.update_datalim(np.vstack([corners[:, :2], corners[:, 2:]]))
    ax.autoscale_view()
    for axis, col in ((ax.xaxis, x), (ax.yaxis, y)):
        kind = metric_unit(col)
        axis.set_major_formatter(percent_formatter(lang) if kind == "share" else
                                 number_formatter(lang, 1e-6 if kind == "eur" else 1.0))
        axis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(label_metric(x, lang))
    ax.set_ylabel(label_metric(y, lang))
    ax.grid(color="0.92", lw=0.6)
    ax.margins(x=0.08, y=0.08)
    if legend:
        handles, labels = legend_entries(by_cols, keys, lang)
        bold_headers(ax.legend(handles, labels, loc="best", fontsize=SMALL_PT), labels, by_cols,
                     lang)
    return ax


def _hollow(by: Sequence[str], keys: Sequence[tuple]) -> bool:
    """Open markers when many groups of one column may sit on top of each other."""
    return len(by) == 1 and len(keys) > 4


def legend_entries(by: Sequence[str], keys: Sequence[tuple], lang: Lang
                   ) -> tuple[list[Any], list[str]]:
    """Marker legend: one entry per group, or for two columns a colour block (first
    column) and a marker block (second column), each under its column name."""
    if len(by) != 2:
        group = group_handles(by, keys, lang, line=False)
        if _hollow(by, keys):
            for h in group:
                h.set_markerfacecolor("white")
                h.set_markeredgewidth(1.2)
        return list(group), [str(h.get_label()) for h in group]
    styles = group_styles(by, keys)
    blank = Line2D([], [], ls="none")
    handles: list[Any] = [blank]
    labels = [label_column(by[0], lang)]
    for v in ordered_levels(by[0], [k[0] for k in keys]):
        k = next(k for k in keys if k[0] == v)
        handles.append(Patch(facecolor=styles[k]["color"], lw=0))
        labels.append(label_value(by[0], v, lang, short=True))
    handles.append(blank)
    labels.append(label_column(by[1], lang))
    for v in ordered_levels(by[1], [k[1] for k in keys]):
        k = next(k for k in keys if k[1] == v)
        handles.append(Line2D([], [], ls="none", marker=styles[k]["marker"], color="0.35",
                              ms=6))
        labels.append(label_value(by[1], v, lang, short=True))
    return handles, labels


def bold_headers(leg: Legend, labels: list[str], by: Sequence[str], lang: Lang) -> None:
    headers = {label_column(c, lang) for c in by} if len(by) == 2 else set()
    for t, lab in zip(leg.get_texts(), labels, strict=True):
        if lab in headers:
            t.set_fontweight("bold")


#: Vertical room of one lane of a timeline taken by its series (the rest separates lanes).
TIMELINE_LANE_FILL = 0.7


def timeline_lanes(ax: Axes, table: pd.DataFrame, series: Sequence[tuple[str, str,
                                                                         dict[str, Any]]],
                   lane_labels: Mapping[str, str], horizon: float) -> Axes:
    """Swim lanes: one row per lane (in ``lane_labels`` order), in it one marker per series
    at the median month and a thin line over the 5-95 % band across replications.

    Parameters
    ----------
    table
        Rows of :func:`~sim.figures.tables.timeline_table` (or its experiment variant)
        for this panel: ``lane, series, median, q05, q95`` in months since 2018-01.
    series
        ``(key, label, style)`` per series, top to bottom within a lane; ``style`` holds
        ``color`` and ``marker``.
    horizon
        Simulated months (the x range). A median not reached is left out (the note says
        so); an upper bound not reached ends in an arrow at the edge.
    """
    lanes = list(lane_labels)
    n = len(series)
    offsets = (np.linspace(-TIMELINE_LANE_FILL / 2, TIMELINE_LANE_FILL / 2, n) if n > 1
               else np.zeros(1))
    for i, lane in enumerate(lanes):
        if i % 2:
            ax.axhspan(i - 0.5, i + 0.5, color="0.96", lw=0, zorder=0)
        for (key, _label, st), dy in zip(series, offsets, strict=True):
            rows = table[(table["lane"] == lane) & (table["series"] == key)]
            if rows.empty:
                continue
            med, lo, hi = (float(rows.iloc[0][c]) for c in ("median", "q05", "q95"))
            if not np.isfinite(med):
                continue
            y = i + dy
            ax.hlines(y, lo if np.isfinite(lo) else med, hi if np.isfinite(hi) else horizon,
                      color=st["color"], lw=1.0, zorder=2)
            if not np.isfinite(hi):
                ax.plot([horizon], [y], marker=">", color=st["color"], ms=3.5, clip_on=False,
                        zorder=3)
            ax.plot([med], [y], ls="none", marker=st["marker"], color=st["color"], ms=4.2,
                    mec="white", mew=0.5, zorder=4)
    ax.set_yticks(range(len(lanes)), [lane_labels[k] for k in lanes])
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    _month_axis(ax, horizon)
    ax.grid(axis="y", visible=False)
    if horizon > OZG_DEADLINE_TIME:
        deadline_line(ax, OZG_DEADLINE_TIME, lw=1.0)
    ax.tick_params(axis="y", length=0)
    return ax


def timeline_handles(series: Sequence[tuple[str, str, dict[str, Any]]]) -> list[Line2D]:
    """Legend entries of :func:`timeline_lanes`: marker and band line per series."""
    return [Line2D([], [], color=st["color"], marker=st["marker"], lw=1.0, ms=4.2,
                   label=label) for _key, label, st in series]


__all__ = ["LEGEND_WIDTH", "CellFormat", "band_handles", "bold_headers", "cost_vs_coverage",
           "coverage_map", "date_axis", "deadline_handle", "deadline_line", "default_horizon",
           "diff_unit", "difference_band", "draw_fan", "fan", "group_handles", "heatmap",
           "legend_entries", "map_colorbar", "panel_letter", "share_axis", "small_multiples",
           "text_color", "time_to_target_bars", "timeline_handles", "timeline_lanes", "use_short",
           "value_axis"]
