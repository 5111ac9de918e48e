"""The rollout timeline: swim lanes per topic field and per Land with the month by which
half of a lane's services reached each milestone (built, published, reused, connected) in a
run (:func:`timeline_figure`, from ``events.parquet`` through
:func:`sim.figures.tables.timeline_table`), and per topic field and level of an experiment
(:func:`topic_timeline_figure`, from ``by_topic``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim.figures import geo
from sim.figures.axes import (
    LEGEND_WIDTH,
    default_horizon,
    timeline_handles,
    timeline_lanes,
    use_short,
)
from sim.figures.charts import new_figure
from sim.figures.labels import (
    Lang,
    check_lang,
    group_label,
    n_text,
    pct_range,
    text,
    wrap,
)
from sim.figures.style import (
    OKABE_ITO,
    SMALL_PT,
    WIDTH_FULL,
    group_styles,
    groups_of,
    styled,
)
from sim.figures.tables import (
    TIMELINE_COLUMNS,
    TOPIC_COVERAGE_MILESTONES,
    as_list,
    require,
    topic_timeline_table,
)

#: Colour and marker of each milestone of a run's timeline (Okabe-Ito; markers differ too,
#: so the chart reads in black and white).
TIMELINE_STYLES: dict[str, dict[str, Any]] = {
    "built": {"color": OKABE_ITO["blue"], "marker": "o"},
    "published": {"color": OKABE_ITO["orange"], "marker": "s"},
    "reused": {"color": OKABE_ITO["green"], "marker": "^"},
    "connected": {"color": OKABE_ITO["purple"], "marker": "D"},
    "connected_first": {"color": OKABE_ITO["purple"], "marker": "D"},
    "connected_all": {"color": OKABE_ITO["red"], "marker": "v"},
}
#: Height (inches) of one lane of a timeline per series drawn in it, and at least.
TIMELINE_LANE_IN_PER_SERIES, TIMELINE_LANE_MIN_IN = 0.075, 0.2
#: Characters of a lane label (topic field, Land) on one line.
TIMELINE_LABEL_CHARS = 24


def _lane_height(n_series: int) -> float:
    return max(TIMELINE_LANE_MIN_IN, TIMELINE_LANE_IN_PER_SERIES * n_series)


def timeline_figure(table: pd.DataFrame, lang: Lang = "en", title: str | None = None,
                    horizon_months: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """The rollout timeline of a run: panel a one lane per topic field (built, published,
    reused, connected), panel b one lane per Land (first and all municipalities connected),
    each the median month by which half of the lane's services got there, with the 5-95 %
    band across replications (:func:`sim.figures.axes.timeline_lanes`).

    Plotted data: ``table``, :func:`sim.figures.tables.timeline_table` of the run.
    """
    check_lang(lang)
    require(table, TIMELINE_COLUMNS, "timeline")
    horizon = float(horizon_months if horizon_months is not None else default_horizon(
        table.rename(columns={"q05": "lo", "q95": "hi"})))
    names = geo.region_names("land")
    panels = []
    for panel, words in (("topic", "tl_panel_topic"), ("state", "tl_panel_state")):
        sub = table[table["panel"] == panel]
        if sub.empty:
            continue
        keys = list(dict.fromkeys(sub["series"]))
        series = [(k, text(f"tl_{k}", lang), TIMELINE_STYLES[k]) for k in keys]
        lanes = {k: wrap(names.get(k, k) if panel == "state" else k, TIMELINE_LABEL_CHARS)
                 for k in dict.fromkeys(sub["lane"])}
        panels.append((sub, text(words, lang), series, lanes))
    lo, hi = pct_range(lang)
    note = text("note_timeline", lang, n=n_text(table["n_replications"]), lo=lo, hi=hi)
    heights = [len(p[3]) * _lane_height(len(p[2])) + 0.55 for p in panels]
    with styled():
        fig, body = new_figure(WIDTH_FULL, sum(heights) + 0.3, note, title)
        axes = body.subplots(len(panels), 1, squeeze=False,
                             gridspec_kw={"height_ratios": heights})[:, 0]
        for ax, (sub, words, series, lanes) in zip(axes, panels, strict=True):
            timeline_lanes(ax, sub, series, lanes, horizon)
            ax.set_title(words)
            ax.legend(handles=timeline_handles(series), loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=SMALL_PT)
        axes[-1].set_xlabel(text("month_of_step", lang))
    return fig, table


def topic_timeline_figure(by_topic: pd.DataFrame, by: str | Sequence[str] = "strategy",
                          lang: Lang = "en", title: str | None = None
                          ) -> tuple[Figure, pd.DataFrame]:
    """The timeline of an experiment per topic field: panel a the month by whose end half
    of a topic field's services were online somewhere, panel b nationwide; in each lane one
    marker per group (median across replications) and a line over the 5-95 % band.

    Plotted data: :func:`sim.figures.tables.topic_timeline_table`.
    """
    check_lang(lang)
    by_cols = as_list(by)
    table = topic_timeline_table(by_topic, by_cols)
    horizon = float(by_topic["month"].max() + 1)
    keys = groups_of(table, by_cols)
    styles = group_styles(by_cols, keys)
    series = [("|".join(map(str, k)),
               wrap(group_label(by_cols, k, lang, use_short(by_cols)), LEGEND_WIDTH),
               styles[k]) for k in keys]
    lanes = {k: wrap(k, TIMELINE_LABEL_CHARS) for k in dict.fromkeys(table["lane"])}
    lo, hi = pct_range(lang)
    note = text("note_timeline_experiment", lang, n=n_text(table["n_replications"]),
                lo=lo, hi=hi)
    height = len(lanes) * _lane_height(len(series)) + 0.55
    with styled():
        fig, body = new_figure(WIDTH_FULL, height + 0.6, note, title)
        axes = body.subplots(1, 2, sharey=True, squeeze=False)[0]
        for i, (ax, panel) in enumerate(zip(axes, TOPIC_COVERAGE_MILESTONES, strict=True)):
            timeline_lanes(ax, table[table["panel"] == panel], series, lanes, horizon)
            ax.set_title(text(f"tl_{panel}", lang))
            ax.set_xlabel(text("month_of_step", lang))
            if i:
                ax.tick_params(axis="y", labelleft=False)
        body.legend(handles=timeline_handles(series), loc="outside lower center",
                    ncol=min(len(series), 4), fontsize=SMALL_PT, frameon=False)
    return fig, table


__all__ = ["TIMELINE_STYLES", "timeline_figure", "topic_timeline_figure"]
