"""How charts look: the palette, colour maps, sizes, rcParams, the style and display order of
the levels of design columns.

Styles: each level of ``strategy``, ``funding`` and ``operation`` keeps the colour, line
style and marker of its entry in :data:`sim.figures.levels.LEVELS` in every chart; levels
appear in the order of that table (an experiment's figures use the order of its design,
:func:`level_order`). Other columns get a cycle of Okabe-Ito colours, line styles and
markers. Differences use a diverging map centred at 0; maps and heatmaps a perceptually
uniform sequential one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from sim.figures.levels import LEVEL_ORDERS, LEVELS, Level

#: The Okabe-Ito palette (colour-blind safe).
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "red": "#D55E00",
             "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
#: A neutral grey beside the eight Okabe-Ito colours (for "no programme").
GREY = "#7f7f7f"
#: Colour names of the level tables (:mod:`sim.figures.levels`).
PALETTE: dict[str, str] = {**OKABE_ITO, "grey": GREY}

#: Perceptually uniform, colour-blind safe sequential colour map (maps, heatmaps).
SEQUENTIAL_CMAP = "viridis"
#: Diverging, colour-blind safe colour map centred at 0 (differences).
DIVERGING_CMAP = "RdBu"
#: Resolution of the PNG files (journals ask for at least 300 dpi for line art).
PNG_DPI = 300
#: Figure widths (inches): one journal column and the full page width (17.8 cm, a little
#: more than the text width of an A4 page, so a figure placed there shrinks slightly).
WIDTH_SINGLE, WIDTH_FULL = 3.5, 7.0
#: Text width of an A4 page (cm; 21 cm less 2.5 cm margins) at which a figure may be placed.
A4_TEXT_WIDTH_CM = 16.0
#: Smallest font size (pt) a printed figure may show (journals ask for 6-8 pt; we take 7).
MIN_PRINTED_PT = 7.0
CM_PER_INCH = 2.54
#: Smallest font size of the charts (notes, ticks of small panels, cell labels): at
#: :data:`WIDTH_FULL` scaled to :data:`A4_TEXT_WIDTH_CM` it prints at 7.2 pt.
SMALL_PT = 8.0


def printed_pt(fontsize: float, width_in: float) -> float:
    """Size (pt) at which text of ``fontsize`` prints when its figure of ``width_in`` inches
    is scaled to the A4 text width (:data:`A4_TEXT_WIDTH_CM`)."""
    return fontsize * A4_TEXT_WIDTH_CM / (width_in * CM_PER_INCH)
#: Central intervals across replications: inner (dark) and outer (light) band.
INNER_BAND, OUTER_BAND = (0.25, 0.75), (0.05, 0.95)


def palette_color(name: str) -> str:
    """The colour of a palette name (``"blue"`` -> ``"#0072B2"``)."""
    return PALETTE[name]


def base_style() -> dict[str, Any]:
    """rcParams of the run chart, and the base of :func:`chart_style`."""
    return {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
            "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
            "savefig.dpi": 200, "font.family": "DejaVu Sans",
            # SVG text stays text (editable, searchable), not glyph outlines.
            "svg.fonttype": "none"}


def chart_style() -> dict[str, Any]:
    """rcParams of every chart: :func:`base_style`, fonts embedded as TrueType,
    reproducible SVG ids."""
    return {**base_style(), "pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "ozg-sim",
            "axes.titlesize": 9, "axes.titleweight": "bold", "axes.titlelocation": "left",
            "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.frameon": False,
            "axes.axisbelow": True}


def styled() -> AbstractContextManager[None]:
    """Context in which figures take :func:`chart_style`."""
    return matplotlib.rc_context(chart_style())  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Styles and order of levels
# --------------------------------------------------------------------------------------

def _level_style(level: Level) -> dict[str, Any]:
    return {"color": palette_color(level.color), "linestyle": level.linestyle,
            "marker": level.marker}


#: Factor -> level -> ``{"color", "linestyle", "marker"}`` (from the level table).
LEVEL_STYLES: dict[str, dict[str, dict[str, Any]]] = {
    factor: {key: _level_style(lv) for key, lv in table.items()}
    for factor, table in LEVELS.items()}
STRATEGY_STYLES = LEVEL_STYLES["strategy"]
FUNDING_STYLES = LEVEL_STYLES["funding"]
OPERATION_STYLES = LEVEL_STYLES["operation"]

_ORDER_OVERRIDES: dict[str, tuple[Any, ...]] = {}
_CYCLE_COLORS = [OKABE_ITO[k] for k in ("blue", "orange", "green", "purple", "sky", "red",
                                        "black", "yellow")]
_CYCLE_LS = ["-", "--", "-.", ":"]
_CYCLE_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


@contextmanager
def level_order(orders: Mapping[str, Sequence[Any]]) -> Iterator[None]:
    """Within the block, levels of the given columns appear in the given order (e.g. an
    experiment's design order) instead of :data:`~sim.figures.levels.FUNDING_ORDER` etc.;
    levels not listed follow in their usual order."""
    saved = dict(_ORDER_OVERRIDES)
    _ORDER_OVERRIDES.update({c: tuple(v) for c, v in orders.items()})
    try:
        yield
    finally:
        _ORDER_OVERRIDES.clear()
        _ORDER_OVERRIDES.update(saved)


def ordered_levels(column: str, values: Sequence[Any]) -> list[Any]:
    """The distinct ``values`` of ``column`` in display order: the order set by
    :func:`level_order`, then the table's, then sorted."""
    uniq = list(pd.unique(pd.Series(list(values))))
    known = LEVEL_ORDERS.get(column, ())
    order = (*_ORDER_OVERRIDES.get(column, ()), *known)
    if order:
        rank: dict[Any, int] = {}
        for i, v in enumerate(order):
            rank.setdefault(v, i)
        return sorted(uniq, key=lambda v: (rank.get(v, len(order)), str(v)))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def groups_of(df: pd.DataFrame, by: Sequence[str]) -> list[tuple]:
    """Distinct combinations of the columns ``by`` in display order (known orders first)."""
    if not by:
        return [()]
    present = {tuple(r) for r in df[list(by)].drop_duplicates().itertuples(index=False)}
    levels = [ordered_levels(c, df[c].tolist()) for c in by]
    rank = [{v: i for i, v in enumerate(lv)} for lv in levels]
    return sorted(present, key=lambda k: tuple(r[v] for r, v in zip(rank, k, strict=True)))


def select_group(df: pd.DataFrame, by: Sequence[str], key: tuple) -> pd.DataFrame:
    """The rows of ``df`` whose columns ``by`` equal ``key``."""
    mask = np.ones(len(df), dtype=bool)
    for c, v in zip(by, key, strict=True):
        mask &= (df[c] == v).to_numpy()
    return df[mask]


def group_styles(by: Sequence[str], keys: Sequence[tuple]) -> dict[tuple, dict[str, Any]]:
    """Colour, line style and marker per group.

    One column: its fixed style (strategy, funding, operation) or a cycle of Okabe-Ito
    colours, line styles and markers. Two or more columns: colour from the first, line style
    and marker from the second, so ``by=["strategy", "funding"]`` keeps the strategy colours.
    """
    out: dict[tuple, dict[str, Any]] = {}
    levels = [ordered_levels(c, [k[i] for k in keys]) for i, c in enumerate(by)]

    def style(col_i: int, value: Any) -> dict[str, Any]:
        known = LEVEL_STYLES.get(by[col_i], {})
        if isinstance(value, str) and value in known:
            return dict(known[value])
        i = levels[col_i].index(value)
        return {"color": _CYCLE_COLORS[i % len(_CYCLE_COLORS)],
                "linestyle": _CYCLE_LS[i % len(_CYCLE_LS)],
                "marker": _CYCLE_MARKERS[i % len(_CYCLE_MARKERS)]}

    for k in keys:
        if not by:
            out[k] = {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o"}
            continue
        st = style(0, k[0])
        if len(by) > 1:
            second = style(1, k[1])
            i = levels[1].index(k[1])
            st["linestyle"] = _CYCLE_LS[i % len(_CYCLE_LS)]
            st["marker"] = second["marker"] if by[1] in LEVEL_STYLES else _CYCLE_MARKERS[
                i % len(_CYCLE_MARKERS)]
        out[k] = st
    return out


__all__ = [
    "A4_TEXT_WIDTH_CM",
    "CM_PER_INCH",
    "DIVERGING_CMAP",
    "FUNDING_STYLES",
    "GREY",
    "INNER_BAND",
    "LEVEL_STYLES",
    "MIN_PRINTED_PT",
    "OKABE_ITO",
    "OPERATION_STYLES",
    "OUTER_BAND",
    "PALETTE",
    "PNG_DPI",
    "SEQUENTIAL_CMAP",
    "SMALL_PT",
    "STRATEGY_STYLES",
    "WIDTH_FULL",
    "WIDTH_SINGLE",
    "base_style",
    "chart_style",
    "group_styles",
    "groups_of",
    "level_order",
    "ordered_levels",
    "palette_color",
    "printed_pt",
    "select_group",
    "styled",
]
