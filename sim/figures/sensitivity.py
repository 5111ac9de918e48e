"""Charts of the sensitivity screening, drawn from its tables only (``morris.csv`` and
``sobol.csv`` of an ``ozg-sim-experiment sensitivity`` folder; columns in
:data:`sim.outputs.SENSITIVITY_TABLES`).

- :func:`morris_figure`: one panel per output of a group, each parameter a dot at its
  ``mu_star`` and ``sigma`` (both over the output's largest ``mu_star``), the screening
  threshold dashed; the parameters that pass it on some output are numbered, with a key.
- :func:`sobol_figure`: one panel per output of a group, horizontal bars of ``ST`` and
  ``S1`` with their intervals for each surviving parameter, sorted by the parameter's
  largest ``ST`` in the group, with the ``ST`` threshold dashed.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import Bbox

from sim.figures.axes import panel_letter
from sim.figures.charts import new_figure
from sim.figures.labels import (
    METRIC_LABELS,
    SERIES_OUTPUT_LABELS,
    Lang,
    check_lang,
    decimals_for,
    format_month,
    format_number,
    format_percent,
    number_formatter,
    param_label,
    text,
)
from sim.figures.style import GREY, OKABE_ITO, SMALL_PT, WIDTH_FULL, styled
from sim.outputs import output_parts

#: Panels per row.
MAX_COLUMNS = 4
#: Words of a decision's column (a ``contrast:`` output) in a panel title, where panels are
#: narrow (beside the parameter names, three across): German without a word longer than a
#: panel.
PANEL_WORDS: dict[str, tuple[str, str]] = {
    "population_coverage": ("Population coverage", "Abdeckung der Bevölkerung"),
    "nationwide_share": ("Services nationwide", "Leistungen flächendeckend"),
}
#: Colours: parameters over the threshold and the bars of the indices.
ACCENT = OKABE_ITO["blue"]
THRESHOLD_COLOR = OKABE_ITO["red"]


def output_label(output: str, lang: Lang = "en") -> str:
    """Readable name of an analysed output: ``observable:reported_in_land:TH@2022-07`` ->
    ``Fully available in TH, Jul 2022``."""
    check_lang(lang)
    try:
        kind, name, month = output_parts(output)
    except ValueError:
        return output
    i = 0 if lang == "en" else 1
    if kind == "observable":
        series, _, geo = name.partition(":")
        words = SERIES_OUTPUT_LABELS.get(series, (series, series))[i].format(geo=geo)
    elif kind == "contrast":  # the decision is in the chart's title; the panel says what
        column = name.rpartition(":")[2]
        words = (PANEL_WORDS[column][i] if column in PANEL_WORDS
                 else METRIC_LABELS[column][i] if column in METRIC_LABELS else column)
    else:
        words = METRIC_LABELS[name][i] if name in METRIC_LABELS else name
    return f"{words}, {format_month(f'{month}-01', lang, short=True)}" if month else words


def output_group_label(group: str, lang: Lang = "en") -> str:
    """``calibration:historical`` -> ``calibration targets (historical)``."""
    kind, _, spec = group.partition(":")
    if kind == "calibration":
        return text("group_calibration", lang, spec=spec)
    key = {"key_figures": "group_key_figures", "observables": "group_observables"}.get(group)
    return text(key, lang) if key else group


def group_slug(group: str) -> str:
    """File-name form of a group: ``calibration:historical`` -> ``calibration_historical``."""
    return "".join(c if c.isalnum() else "_" for c in group)


def _grid(n: int, columns: int | None = None) -> tuple[int, int]:
    ncol = min(columns or MAX_COLUMNS, max(1, n))
    return math.ceil(n / ncol), ncol


def _with(note: str, extra: str) -> str:
    """``note`` and, if any, ``extra`` after it."""
    return f"{note} {extra}" if extra else note


def _share(x: float, lang: Lang) -> str:
    return format_percent(x, lang)


#: Characters per line of a panel title (four panels across a page; the Sobol panels are
#: narrower, beside the parameter names).
TITLE_WIDTH = 20
SOBOL_TITLE_WIDTH = 19
#: Height (inches) of one parameter's bars in the Sobol chart: room for its 8 pt label.
SOBOL_ROW_IN = 0.2


#: Characters per line of a numbered key entry under the Morris panels (two columns of
#: 8 pt text across the page); longer names continue on an indented line.
KEY_CHARS = 50
#: Height (inches) of a one-line key entry with the space between entries, of each further
#: line of a wrapped entry, and of the key's title and margins.
KEY_LINE_IN, KEY_WRAP_IN, KEY_HEAD_IN = 0.175, 0.14, 0.32


def _fitting_columns(outputs: Sequence[str], lang: Lang, width: int,
                     columns: int | None = None) -> tuple[int, int]:
    """Panels per row (at most ``columns`` or :data:`MAX_COLUMNS`) such that the longest
    unbreakable part of every panel title (a German compound) fits its panel, and the
    characters per title line at that many panels (``width`` at four)."""
    ncol = min(columns or MAX_COLUMNS, max(1, len(outputs)))
    glued = f"{panel_letter(0)}\u00a0\u00a0"
    longest = max((len(w) for o in outputs
                   for w in (glued + output_label(o, lang)).split(" ")), default=0)
    while ncol > 1 and longest > width * MAX_COLUMNS // ncol:
        ncol -= 1
    return ncol, max(width, width * MAX_COLUMNS // max(ncol, MAX_COLUMNS // 2))


def _key_entries(keys: Sequence[str]) -> tuple[list[str], float]:
    """Key entries wrapped to :data:`KEY_CHARS` (continuation lines indented) and the
    height (inches) of the taller of the legend's two columns (it fills the first column
    first)."""
    wrapped = ["\n".join(textwrap.wrap(k, KEY_CHARS, subsequent_indent="      ",
                                       break_long_words=False)) for k in keys]
    half = math.ceil(len(wrapped) / 2)
    heights = [KEY_LINE_IN + KEY_WRAP_IN * w.count("\n") for w in wrapped]
    return wrapped, max(sum(heights[:half]), sum(heights[half:]), 0.0)


def _panel_title(i: int, output: str, lang: Lang, width: int = TITLE_WIDTH) -> str:
    """``a  Online somewhere, Sep 2020`` in lines of about ``width`` characters, never
    breaking a word (German compounds stay whole)."""
    glued = f"{panel_letter(i)}\u00a0\u00a0"  # the letter never stands on a line alone
    return "\n".join(textwrap.wrap(glued + output_label(output, lang), width,
                                   break_long_words=False, break_on_hyphens=False))


def _split(outer: SubFigure, panels_h: float, foot_h: float) -> tuple[SubFigure, SubFigure]:
    """The panels and, below them, a strip for the legend (so the shared axis label and
    the legend never overlap)."""
    parts = np.ravel(np.asarray(outer.subfigures(2, 1, height_ratios=[panels_h, foot_h]),
                                dtype=object))
    return parts[0], parts[1]


#: Range of the index axis: at least [-0.05, 1], widened for intervals up to these limits
#: (an interval beyond them is cut at the frame).
INDEX_LIMITS = (-0.3, 1.3)


def _index_range(data: pd.DataFrame) -> tuple[float, float]:
    if not len(data):
        return -0.05, 1.05
    hi = np.nanmax((data["ST"] + data["ST_conf"]).to_numpy(dtype=float), initial=1.0)
    lo = np.nanmin((data["S1"] - data["S1_conf"]).to_numpy(dtype=float), initial=-0.05)
    return max(INDEX_LIMITS[0], lo - 0.02), min(INDEX_LIMITS[1], max(1.0, hi) + 0.05)


# --------------------------------------------------------------------------------------
# Morris
# --------------------------------------------------------------------------------------

def morris_numbers(morris: pd.DataFrame, threshold: float) -> dict[str, int]:
    """Parameter -> number (1, 2, ...) for those whose ``mu_star_normalised`` reaches
    ``threshold`` on some output, by their largest ``mu_star_normalised`` (descending)."""
    best = morris.groupby("parameter", sort=False)["mu_star_normalised"].max().fillna(0.0)
    keep = best[best >= threshold].sort_values(ascending=False, kind="stable")
    return {p: i + 1 for i, p in enumerate(keep.index)}


def _overlaps(box: Bbox, others: Sequence[Bbox]) -> float:
    """Total area of ``box`` overlapping ``others`` (pixels²)."""
    area = 0.0
    for o in others:
        w = min(box.x1, o.x1) - max(box.x0, o.x0)
        h = min(box.y1, o.y1) - max(box.y0, o.y0)
        if w > 0 and h > 0:
            area += w * h
    return area


def place_numbers(ax: Axes, xs: np.ndarray, ys: np.ndarray, labels: Sequence[str],
                  fontsize: float = SMALL_PT) -> None:
    """Write each label next to its point where it overlaps no other label or marker
    (the layout must be final: call after ``fig.canvas.draw()``); a label pushed away
    from its point gets a thin leader line. Labels stay out of the layout."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    px = fig.dpi / 72.0
    pts = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
    r = 3.2 * px
    taken = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in pts]
    frame = ax.get_window_extent(renderer)
    steps = [(5, 1), (5, -9), (-5, 1), (-5, -9), (5, 8), (-5, 8), (5, -16), (-5, -16),
             (12, 12), (-12, 12), (12, -20), (-12, -20), (20, 0), (-20, 0), (0, 18),
             (0, -24), (26, 14), (-26, 14), (26, -22), (-26, -22)]
    order = np.argsort(-pts[:, 0] - pts[:, 1] * 1e-3) if len(pts) else np.zeros(0, int)
    for i in map(int, order):
        probe = ax.text(0, 0, labels[i], fontsize=fontsize)
        bb = probe.get_window_extent(renderer)
        probe.remove()
        w, h = bb.width, bb.height
        best, best_cost = None, math.inf
        for dx, dy in steps:
            x0 = pts[i, 0] + dx * px - (w if dx < 0 else 0)
            y0 = pts[i, 1] + dy * px
            box = Bbox.from_extents(x0, y0, x0 + w, y0 + h)
            outside = max(0.0, frame.x0 - box.x0) + max(0.0, box.x1 - frame.x1) + max(
                0.0, frame.y0 - box.y0) + max(0.0, box.y1 - frame.y1)
            cost = _overlaps(box, taken) + 1e3 * outside
            if cost < best_cost:
                best, best_cost = (dx, dy, box), cost
            if cost == 0:
                break
        assert best is not None
        dx, dy, box = best
        taken.append(box)
        far = abs(dx) > 6 or dy > 9 or dy < -10
        ha = "right" if dx < 0 else "left"
        ann = ax.annotate(labels[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points",
                          fontsize=fontsize, ha=ha, va="bottom", color="0.1",
                          arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5",
                                      "shrinkA": 0, "shrinkB": 2.5} if far else None)
        ann.set_in_layout(False)


def morris_figure(morris: pd.DataFrame, threshold: float, lang: Lang = "en",
                  title: str | None = None, note_fields: Mapping[str, object] | None = None,
                  items: Mapping[str, str] | None = None,
                  extra_note: str = "", columns: int | None = None,
                  ) -> tuple[Figure, pd.DataFrame]:
    """μ*-σ panels of the outputs of one group (in table order).

    ``morris``: rows of :data:`sim.outputs.SENSITIVITY_TABLES` ``morris`` of one group;
    ``note_fields``: ``k`` (parameters), ``r`` (trajectories), ``n`` (replications);
    ``items``: names of list elements for :func:`param_label`; ``extra_note``: a sentence
    after the note (what a decision's output is); ``columns``: panels per row (default
    :data:`MAX_COLUMNS`). Plotted data: the rows with ``x`` and ``y`` (the axes' values)
    and the parameter's ``number`` (0: not numbered).
    """
    check_lang(lang)
    outputs = list(dict.fromkeys(morris["output"]))
    numbers = morris_numbers(morris, threshold)
    top = morris.groupby("output")["mu_star"].transform("max")
    data = morris.assign(
        x=morris["mu_star_normalised"],
        y=np.where(top > 0, morris["sigma"] / top.where(top > 0, 1.0), 0.0),
        number=morris["parameter"].map(numbers).fillna(0).astype(int))
    ncol, title_width = _fitting_columns(outputs, lang, TITLE_WIDTH, columns)
    nrow, ncol = _grid(len(outputs), ncol)
    fields = {"k": morris["parameter"].nunique(), "r": "?", "n": "?", **(note_fields or {}),
              "thr": _share(threshold, lang)}
    keys, keys_h = _key_entries([f"{n}   {param_label(p, lang, sentence=True, items=items)}"
                                 for p, n in numbers.items()])
    key_h = KEY_HEAD_IN + keys_h if numbers else 0.05
    panels_h = 2.0 * nrow + 0.35
    with styled():
        fig, outer = new_figure(WIDTH_FULL, panels_h + key_h,
                                _with(text("note_morris", lang, **fields), extra_note), title)
        body, foot = _split(outer, panels_h, key_h)
        axes = np.atleast_1d(body.subplots(nrow, ncol, squeeze=False)).ravel()
        ymax = max(1.0, float(np.nanmax(data["y"])) if len(data) else 1.0) * 1.08
        for i, out in enumerate(outputs):
            ax = axes[i]
            d = data[data["output"] == out]
            over = d["x"] >= threshold
            ax.scatter(d.loc[~over, "x"], d.loc[~over, "y"], s=8, color=GREY, alpha=0.6,
                       lw=0, zorder=2)
            ax.scatter(d.loc[over, "x"], d.loc[over, "y"], s=13, color=ACCENT, lw=0, zorder=3)
            ax.axvline(threshold, ls="--", lw=0.7, color=THRESHOLD_COLOR, zorder=1)
            ax.plot([0, ymax], [0, ymax], ls=":", lw=0.7, color="0.55", zorder=1)
            ax.set_xlim(-0.04, 1.1)
            ax.set_ylim(-0.04 * ymax, ymax)
            ax.set_title(_panel_title(i, out, lang, title_width), fontsize=SMALL_PT)
            ax.xaxis.set_major_formatter(number_formatter(lang))
            ax.yaxis.set_major_formatter(number_formatter(lang))
            ax.tick_params(labelsize=SMALL_PT)
            if i % ncol:
                ax.tick_params(axis="y", labelleft=False)
            if i < len(outputs) - ncol:
                ax.tick_params(axis="x", labelbottom=False)
        for ax in axes[len(outputs):]:
            ax.set_visible(False)
        for ax in axes[:len(outputs)]:
            ax.sharey(axes[0])
        body.supxlabel(text("morris_x", lang), fontsize=8)
        body.supylabel(text("morris_y", lang), fontsize=8)
        handles = [Line2D([], [], ls="none") for _ in numbers]
        if keys:
            foot.legend(handles, keys, loc="upper center", ncol=2, fontsize=SMALL_PT,
                        handlelength=0, handletextpad=0, columnspacing=2.5,
                        title=text("morris_key", lang, thr=fields["thr"]),
                        title_fontsize=SMALL_PT, alignment="left", frameon=False,
                        borderaxespad=0.2)
        fig.canvas.draw()  # final layout, so the numbers can be placed without overlaps
        for i, out in enumerate(outputs):
            d = data[(data["output"] == out) & (data["x"] >= threshold) & (data["number"] > 0)]
            place_numbers(axes[i], d["x"].to_numpy(), d["y"].to_numpy(),
                          [str(n) for n in d["number"]])
    return fig, data


# --------------------------------------------------------------------------------------
# Sobol
# --------------------------------------------------------------------------------------

def sobol_order(sobol: pd.DataFrame) -> list[str]:
    """Parameters by their largest ``ST`` over the outputs (descending; empty ones last)."""
    best = sobol.groupby("parameter", sort=False)["ST"].max()
    return list(best.sort_values(ascending=False, kind="stable", na_position="last").index)


def sobol_figure(sobol: pd.DataFrame, st_threshold: float, lang: Lang = "en",
                 title: str | None = None, note_fields: Mapping[str, object] | None = None,
                 items: Mapping[str, str] | None = None,
                 extra_note: str = "", columns: int | None = None,
                 ) -> tuple[Figure, pd.DataFrame]:
    """ST and S1 bars with intervals, one panel per output of one group (table order).

    ``sobol``: rows of :data:`sim.outputs.SENSITIVITY_TABLES` ``sobol`` of one group;
    ``note_fields``: ``n_base`` (N), ``points``, ``n`` (replications); ``extra_note``: a
    sentence after the note (a decision's output, its sign flips); ``columns``: panels per
    row (default :data:`MAX_COLUMNS`). Plotted data: the rows with the parameter's ``row``
    (0 = top).
    """
    check_lang(lang)
    outputs = list(dict.fromkeys(sobol["output"]))
    order = sobol_order(sobol)
    row = {p: i for i, p in enumerate(order)}
    data = sobol.assign(row=sobol["parameter"].map(row))
    ncol, title_width = _fitting_columns(outputs, lang, SOBOL_TITLE_WIDTH, columns)
    nrow, ncol = _grid(len(outputs), ncol)
    fields = {"n_base": "?", "points": "?", "n": "?", **(note_fields or {}),
              "st": format_number(st_threshold, lang, decimals_for(np.array([st_threshold])))}
    row_h = SOBOL_ROW_IN * len(order) + 0.8  # parameters' rows and a panel title
    xmin, xmax = _index_range(data)
    y = np.arange(len(order))
    labels = [param_label(p, lang, sentence=True, short=True, items=items) for p in order]
    panels_h = row_h * nrow + 0.3
    with styled():
        fig, outer = new_figure(WIDTH_FULL, panels_h + 0.3,
                                _with(text("note_sobol", lang, **fields), extra_note), title)
        body, foot = _split(outer, panels_h, 0.3)
        axes = np.atleast_1d(body.subplots(nrow, ncol, squeeze=False, sharex=True,
                                           sharey=True)).ravel()
        err = {"elinewidth": 0.6, "capsize": 1.5, "capthick": 0.6}
        for i, out in enumerate(outputs):
            ax = axes[i]
            d = data[data["output"] == out].set_index("parameter").reindex(order)
            ax.barh(y, d["ST"], height=0.75, color=ACCENT, alpha=0.3, lw=0,
                    xerr=d["ST_conf"], error_kw={**err, "ecolor": "0.45"})
            ax.barh(y, d["S1"], height=0.36, color=ACCENT, lw=0,
                    xerr=d["S1_conf"], error_kw={**err, "ecolor": "0.1"})
            ax.axvline(st_threshold, ls="--", lw=0.8, color=THRESHOLD_COLOR, zorder=3)
            noise = d["noise_share"].dropna()
            if len(noise) and np.isfinite(noise.iloc[0]):
                ax.axvline(float(noise.iloc[0]), ls=":", lw=0.8, color="0.4", zorder=3)
            ax.axvline(0, lw=0.6, color="0.3")
            ax.set_title(_panel_title(i, out, lang, title_width), fontsize=SMALL_PT)
            ax.tick_params(labelsize=SMALL_PT)
            ax.xaxis.set_major_formatter(number_formatter(lang))
            ax.grid(axis="x", lw=0.3, color="0.88")
        for ax in axes[len(outputs):]:
            ax.set_visible(False)
        axes[0].set_yticks(y, labels)
        axes[0].set_ylim(len(order) - 0.5, -0.5)
        axes[0].set_xlim(xmin, xmax)
        for i in range(len(outputs)):
            axes[i].tick_params(axis="y", labelleft=i % ncol == 0)
            axes[i].tick_params(axis="x", labelbottom=i >= len(outputs) - ncol)
        body.supxlabel(text("sobol_x", lang), fontsize=8)
        handles = [Patch(color=ACCENT, alpha=0.3, lw=0), Patch(color=ACCENT, lw=0),
                   Line2D([], [], ls="--", lw=0.8, color=THRESHOLD_COLOR)]
        foot.legend(handles, [text("legend_st", lang), text("legend_s1", lang),
                              f"ST = {fields['st']}"],
                    loc="center", ncol=3, fontsize=SMALL_PT, frameon=False)
    return fig, data


__all__ = ["INDEX_LIMITS", "MAX_COLUMNS", "PANEL_WORDS", "group_slug", "morris_figure",
           "morris_numbers", "output_group_label", "output_label", "place_numbers", "sobol_figure",
           "sobol_order"]
