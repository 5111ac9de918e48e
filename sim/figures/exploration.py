"""Charts of an exploration (a Latin hypercube of uncertainties crossed with levers):
robustness of each strategy's advantage, paired within every setting of the other levers,
and the regret of every lever setting (minimax vs. the median)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim.calendar import month_end_date
from sim.figures.charts import (
    NOTE_CHARS_PER_INCH,
    TITLE_CHARS_PER_INCH,
    new_figure,
    with_tail,
)
from sim.figures.labels import (
    Lang,
    check_lang,
    format_month,
    group_label,
    label_value,
    metric_unit,
    number_formatter,
    param_label,
    target_label,
    text,
    wrap,
    wrap_unit,
)
from sim.figures.style import SMALL_PT, WIDTH_FULL, group_styles, groups_of, styled

# --------------------------------------------------------------------------------------
# Robustness across a Latin hypercube
# --------------------------------------------------------------------------------------

#: Parameter panels per row of the robustness figure (at full page width).
ROBUSTNESS_COLUMNS = 3
#: Most parameter panels the robustness figure shows: those whose values go most with a
#: difference (largest absolute Spearman correlation); 9 fill three rows at full width.
ROBUSTNESS_PANELS = 9
#: Most x ticks of a parameter panel (a third of the page wide: long numbers such as fees).
PANEL_TICKS = 3
#: Markers of the levels of the other levers (funding) in the parameter panels.
FACET_MARKERS = ("o", "^", "s", "D", "v", "P")


def strongest_parameters(long: pd.DataFrame, params: Sequence[str], factor: str,
                         facets: Sequence[str] = (), k: int = ROBUSTNESS_PANELS) -> list[str]:
    """The ``k`` parameters whose values go most with ``mean_diff`` (largest absolute
    Spearman rank correlation within any setting of ``factor`` and ``facets``), strongest
    first; a parameter that does not vary ranks last."""
    score = dict.fromkeys(params, 0.0)
    for _key, sub in long.groupby([*facets, factor], sort=False):
        for p in params:
            if sub[p].nunique() > 1 and sub["mean_diff"].nunique() > 1:
                rho = sub[p].corr(sub["mean_diff"], method="spearman")
                score[p] = max(score[p], abs(float(rho)) if np.isfinite(rho) else 0.0)
    return sorted(params, key=lambda p: -score[p])[:k]


def robustness_figure(long: pd.DataFrame, params: list[str], factor: str, ref: str,
                      lang: Lang, title: str, facets: Sequence[str] = (),
                      n_params: int | None = None) -> tuple[Figure, pd.DataFrame]:
    """Left: distribution of each strategy's mean difference to the reference across the
    hypercube points, one panel per setting of the other levers ``facets`` (funding);
    right: the difference against each of the uncertain ``params`` (colour: level of
    ``factor``, marker: setting of ``facets``).

    ``long``: one row per hypercube point, setting of ``facets`` and level of ``factor``
    with the uncertain parameters and ``mean_diff`` (the mean over replications of the
    difference to ``ref`` paired on the point, the setting and the replication).
    ``n_params``: how many parameters the hypercube explored, if more than ``params``
    are shown (the note says so). Plotted data: ``long``.
    """
    facets = list(facets)
    levels = list(dict.fromkeys(long[factor]))
    styles = group_styles([factor], [(lv,) for lv in levels])
    settings = groups_of(long, facets) if facets else [()]
    marker = {s: FACET_MARKERS[i % len(FACET_MARKERS)] for i, s in enumerate(settings)}
    n_p = len(params)
    ncol = min(ROBUSTNESS_COLUMNS, n_p)
    nrow = int(np.ceil(n_p / ncol))
    ref_label = label_value(factor, ref, lang, short=True)
    with styled():
        fig = plt.figure(figsize=(WIDTH_FULL, 2.6 + 1.7 * max(nrow, len(settings))),
                         layout="constrained")
        sub_l, sub_r = fig.subfigures(1, 2, width_ratios=[1, 1.9])  # type: ignore[misc]
        left = np.atleast_1d(sub_l.subplots(len(settings), 1, sharex=True)).ravel()
        positions = list(range(len(levels), 0, -1))  # first level on top, as in the legends
        for ax, setting in zip(left, settings, strict=True):
            sel = long
            for col, val in zip(facets, setting, strict=True):
                sel = sel[sel[col] == val]
            data = [sel.loc[sel[factor] == lv, "mean_diff"].to_numpy() * 100 for lv in levels]
            bp = ax.boxplot(data, positions=positions, orientation="horizontal",
                            patch_artist=True, widths=0.6,
                            medianprops={"color": "black", "lw": 1.5},
                            flierprops={"marker": ".", "ms": 3})
            for patch, lv in zip(bp["boxes"], levels, strict=True):
                st = styles[(lv,)]
                patch.set_facecolor(st.get("color", "0.5"))
                patch.set_alpha(0.35)
                patch.set_edgecolor(st.get("color", "0.2"))
            ax.set_yticks(positions,
                          [wrap(label_value(factor, lv, lang, short=True), 12) for lv in levels])
            ax.axvline(0, color="0.3", lw=0.8)
            ax.xaxis.set_major_formatter(number_formatter(lang))
            if facets:
                ax.set_title(wrap(group_label(facets, setting, lang, short=True), 22),
                             fontsize=SMALL_PT + 1)
        left[-1].set_xlabel(wrap(text("robust_diff_deadline", lang, ref=ref_label), 30))
        axes = np.atleast_1d(sub_r.subplots(nrow, ncol, sharey=True)).ravel()
        for i, p in enumerate(params):
            a = axes[i]
            for setting in settings:
                sel = long
                for col, val in zip(facets, setting, strict=True):
                    sel = sel[sel[col] == val]
                for lv in levels:
                    st = styles[(lv,)]
                    d = sel[sel[factor] == lv]
                    a.plot(d[p], d["mean_diff"] * 100, ls="none", marker=marker[setting],
                           ms=3.5, color=st.get("color", "0.3"), alpha=0.8,
                           mfc=st.get("color", "0.3") if setting == settings[0] else "none")
            a.axhline(0, color="0.3", lw=0.6)
            a.set_xlabel(wrap_unit(param_label(p, lang, short=True), 20), fontsize=SMALL_PT)
            a.xaxis.set_major_locator(MaxNLocator(PANEL_TICKS))
            a.xaxis.set_major_formatter(number_formatter(lang))
            a.yaxis.set_major_formatter(number_formatter(lang))
        for a in axes[n_p:]:
            a.set_visible(False)
        sub_r.supylabel(text("robust_diff", lang, ref=ref_label), fontsize=9)
        # colour: the level of the factor; marker (filled: the first setting): the setting
        handles = [Line2D([], [], ls="none", marker="o", ms=4,
                          color=styles[(lv,)].get("color", "0.3"),
                          label=label_value(factor, lv, lang, short=True)) for lv in levels]
        if facets:
            handles += [Line2D([], [], ls="none", marker=marker[st], ms=4, color="0.3",
                               mfc="0.3" if st == settings[0] else "none",
                               label=wrap(group_label(facets, st, lang, short=True), 30))
                        for st in settings]
        sub_r.legend(handles=handles, loc="outside lower center",
                     ncol=2 if facets else len(levels), frameon=False, fontsize=SMALL_PT)
        note = text("note_robust", lang, ref=ref_label)
        if n_params and n_params > n_p:
            note += " " + text("note_robust_strongest", lang, k=n_p, n=n_params)
        fig.supxlabel(textwrap.fill(with_tail(note), int(WIDTH_FULL * NOTE_CHARS_PER_INCH)),
                      x=0.01, ha="left", fontsize=SMALL_PT, color="0.3")
        fig.suptitle(wrap(title, int(WIDTH_FULL * TITLE_CHARS_PER_INCH)), x=0.01, ha="left",
                     fontweight="bold")
    return fig, long


#: Marker of each regret statistic in :func:`regret_figure` (open: median, bar: 90th
#: percentile, filled: maximum, the ranking statistic).
REGRET_MARKERS = {"regret_median": ("o", "none"), "regret_q90": ("|", None),
                  "regret_max": ("D", None)}
#: Share of the largest regret left free on either side of a regret panel's x axis.
REGRET_X_MARGIN = 0.05


def regret_figure(table: pd.DataFrame, levers: Sequence[str], lang: Lang, title: str,
                  coverage_month: str, n_replications: int | None = None,
                  ) -> tuple[Figure, pd.DataFrame]:
    """Dot chart of the regret of each lever setting across scenarios, one panel per outcome
    (coverage at ``coverage_month``, months to a target): per setting its median, 90th
    percentile and maximum regret, rows ranked by maximum regret (minimax, best on top) with
    the rank by median regret to the right.

    ``table``: :func:`sim.stats.regret_table` per outcome, with ``outcome`` and ``better``
    columns and ``censored_at`` (the month a run that never reached the target counts at).
    Shares are drawn in percentage points. The note says which setting is robust and which
    best on the median (:func:`choice_sentence`). Plotted data: ``table``.
    """
    check_lang(lang)
    levers = list(levers)
    # several levers make long row names: the panels go one above the other
    stacked = len(levers) > 1
    outcomes = list(dict.fromkeys(table["outcome"]))
    keys = groups_of(table, levers)
    styles = group_styles(levers, keys)
    months = table[table["better"] == "lower"]
    censored = int(months["n_censored_scenarios"].sum())
    end = months["censored_at"].dropna()
    note = text("note_regret", lang, n=int(table["n_scenarios"].max()),
                r=n_replications if n_replications else "")
    if censored and len(end):
        note += " " + text("note_regret_censored", lang, k=censored,
                           end=format_month(month_end_date(float(end.iloc[0])), lang,
                                            short=True))
    with styled():
        note += " " + " ".join(choice_sentence(table, outcome, levers, lang)
                               for outcome in outcomes)
        rows, cols = (len(outcomes), 1) if stacked else (1, len(outcomes))
        fig, body = new_figure(WIDTH_FULL, (1.2 + 0.32 * len(keys)) * rows, note, title)
        axes = body.subplots(rows, cols, squeeze=False).ravel()
        for ax, outcome in zip(axes, outcomes, strict=True):
            sub = table[table["outcome"] == outcome]
            scale = 100.0 if metric_unit(outcome) == "share" else 1.0
            ys = np.arange(len(sub), 0, -1)
            for y, (_, row) in zip(ys, sub.iterrows(), strict=True):
                st = styles[tuple(row[c] for c in levers)]
                color = st.get("color", "0.3")
                ax.plot([row["regret_median"] * scale, row["regret_max"] * scale], [y, y],
                        color=color, lw=1.2, alpha=0.6)
                for col, (marker, face) in REGRET_MARKERS.items():
                    ax.plot(row[col] * scale, y, ls="none", marker=marker, ms=5,
                            color=color, markerfacecolor=face or color, mew=1.2)
                ax.annotate(str(int(row["rank_median_regret"])), (1.0, y),
                            xycoords=("axes fraction", "data"), xytext=(6, 0),
                            textcoords="offset points", va="center", fontsize=SMALL_PT)
            ax.annotate(text("regret_rank_median", lang), (1.0, 1.0),
                        xycoords="axes fraction", xytext=(6, 2), textcoords="offset points",
                        ha="right", va="bottom", fontsize=SMALL_PT, color="0.3")
            ax.set_yticks(ys, [f"{int(r)}. " + group_label(levers, tuple(k), lang, short=True)
                               for r, k in zip(sub["rank_max_regret"],
                                               sub[levers].itertuples(index=False),
                                               strict=True)])
            ax.set_ylim(0.4, len(sub) + 0.6)
            # a little room left of 0, so a zero regret's marker is not cut in half
            top = float(sub["regret_max"].max() * scale) or 1.0
            ax.set_xlim(-REGRET_X_MARGIN * top, (1 + REGRET_X_MARGIN) * top)
            ax.xaxis.set_major_formatter(number_formatter(lang))
            key = "regret_coverage" if scale != 1.0 else "regret_months"
            ax.set_xlabel(wrap_unit(text(key, lang, month=format_month(
                pd.Timestamp(coverage_month), lang, short=True),
                target=target_label(outcome, lang)), 40 if stacked else 36))
        handles = [Line2D([], [], ls="none", marker=m, color="0.3",
                          markerfacecolor=f or "0.3", label=text(col, lang))
                   for col, (m, f) in REGRET_MARKERS.items()]
        body.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                    frameon=False, fontsize=SMALL_PT)
    return fig, table




#: Settings tied for best that a sentence names one by one; more are counted ("6 of 8
#: settings tie"), as when most runs do not reach a target within the horizon.
TIED_NAMED = 3


def choice_sentence(table: pd.DataFrame, outcome: str, levers: Sequence[str],
                    lang: Lang) -> str:
    """Which lever setting is robust (minimax regret) and which is best on the median for
    ``outcome`` of a :func:`sim.stats.regret_table`; one sentence if they are the same."""
    sub = table[table["outcome"] == outcome]
    levers = list(levers)

    def best(rank_col: str) -> pd.DataFrame:
        return sub[sub[rank_col] == sub[rank_col].min()]

    def names(rank_col: str) -> str:
        return " / ".join(group_label(levers, tuple(k), lang, short=True)
                          for k in best(rank_col)[levers].itertuples(index=False))

    what = (text("regret_outcome_coverage", lang) if metric_unit(outcome) == "share"
            else text("regret_outcome_months", lang))
    k_robust, k_median = len(best("rank_max_regret")), len(best("rank_median_regret"))
    if max(k_robust, k_median) > TIED_NAMED:  # e.g. a target most runs do not reach
        return text("regret_choice_tied", lang, what=what, k_robust=k_robust,
                    k_median=k_median, n=len(sub))
    robust, median = names("rank_max_regret"), names("rank_median_regret")
    if robust == median:
        return text("regret_choice_same", lang, what=what, robust=robust)
    return text("regret_choice", lang, what=what, robust=robust, median=median)


__all__ = ["FACET_MARKERS", "REGRET_MARKERS", "ROBUSTNESS_COLUMNS", "ROBUSTNESS_PANELS",
           "choice_sentence", "regret_figure", "robustness_figure", "strongest_parameters"]
