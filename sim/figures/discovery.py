"""Charts of scenario discovery (:mod:`sim.discovery`): PRIM's peeling trajectory per
question with the chosen box marked (:func:`trajectory_figure`), the chosen boxes as limits
within the explored ranges (:func:`boxes_figure`) and the extra-trees feature scores of
every uncertain input per question (:func:`scores_figure`). Each takes the tables of the
analysis (their columns: :data:`sim.discovery.BOX_COLUMNS`, ...) and the question titles,
and returns the figure and the plotted data (its sidecar)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.figures.axes import text_color
from sim.figures.charts import new_figure
from sim.figures.formats import format_number, format_percent, number_formatter
from sim.figures.labels import Lang, check_lang, param_label, wrap
from sim.figures.style import (
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    SMALL_PT,
    WIDTH_FULL,
    styled,
)

#: Fixed phrases of the discovery charts (this room's own; the others are in
#: :data:`sim.figures.labels.TEXT`).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title_trajectory": "Scenario discovery: PRIM's peeling trajectories",
        "title_boxes": "Scenario discovery: when each question holds",
        "title_scores": "Scenario discovery: which uncertain inputs tell it",
        "coverage": "Coverage (%)", "density": "Density (%)",
        "res_dim": "restricted inputs: {k}", "chosen": "chosen box",
        "all_runs": "share of all runs",
        "never": "Holds in none of the {n} runs: nothing to discover.",
        "always": "Holds in all {n} runs: nothing to discover.",
        "no_box": ("No box: no restriction of the uncertain inputs concentrates the runs "
                   "where it holds (it holds in {base} of {n} runs)."),
        "box_stats": "coverage {cov}, density {dens} (all runs: {base}), {n} runs in the box",
        "explored": "share of the explored range",
        "explored_range": "explored {lo} – {hi}",
        "qp": "p {p}", "oob": "out-of-bag accuracy {acc} (larger class {base})",
        "scores_top": ("Shown: the {shown} inputs of {k} with the highest mean score; every "
                       "input's score is in the sidecar."),
        "note_trajectory": (
            "Each point is a box on PRIM's peeling trajectory over the uncertain inputs: "
            "coverage is the share of the runs where the question holds that lie in the box, "
            "density the share of the runs in the box where it holds; colour: number of "
            "restricted inputs. Ring: the box reported (highest density with coverage of at "
            "least {min_cov}; fewer restrictions among densities within {tol} points; "
            "restrictions with a quasi-p value above {qp} dropped). Dashed: share of all "
            "runs. One run per scenario and replication ({r} replications)."),
        "note_boxes": (
            "Bars: the reported box's range of each restricted uncertain input (dark) within "
            "the range explored (light), the limits that restrict in the input's unit, the "
            "range explored under its name; p: quasi-p value of the "
            "restriction (one-sided binomial test of its density gain; lower / upper limit "
            "where both restrict; a restriction is kept if one is at most 0.05). One run per "
            "scenario and replication ({r} replications)."),
        "note_scores": (
            "Extra-trees feature scores ({trees} trees, seeded): each uncertain input's share "
            "of what tells the runs where the question holds from those where it does not; "
            "rank in brackets. The out-of-bag accuracy under a question says how well the "
            "inputs tell it together; no better than the larger class's share (always "
            "guessing it): they do not tell it."),
    },
    "de": {
        "title_trajectory": "Szenarioentdeckung: PRIMs Schälpfade",
        "title_boxes": "Szenarioentdeckung: wann jede Frage zutrifft",
        "title_scores": "Szenarioentdeckung: welche unsicheren Größen es verraten",
        "coverage": "Abdeckung (%)", "density": "Dichte (%)",
        "res_dim": "eingeschränkte Größen: {k}", "chosen": "gewählte Box",
        "all_runs": "Anteil aller Läufe",
        "never": "Trifft in keinem der {n} Läufe zu: nichts zu entdecken.",
        "always": "Trifft in allen {n} Läufen zu: nichts zu entdecken.",
        "no_box": ("Keine Box: keine Einschränkung der unsicheren Größen bündelt die Läufe, "
                   "in denen sie zutrifft (sie trifft in {base} von {n} Läufen zu)."),
        "box_stats": ("Abdeckung {cov}, Dichte {dens} (alle Läufe: {base}), {n} Läufe in "
                      "der Box"),
        "explored": "Anteil am untersuchten Bereich",
        "explored_range": "untersucht {lo} – {hi}",
        "qp": "p {p}", "oob": "Out-of-Bag-Treffsicherheit {acc} (größere Klasse {base})",
        "scores_top": ("Gezeigt: die {shown} von {k} Größen mit dem höchsten mittleren Wert; "
                       "die Werte aller Größen stehen in der Begleitdatei."),
        "note_trajectory": (
            "Jeder Punkt ist eine Box auf PRIMs Schälpfad über die unsicheren Größen: "
            "Abdeckung ist der Anteil der Läufe, in denen die Frage zutrifft, die in der Box "
            "liegen, Dichte der Anteil der Läufe in der Box, in denen sie zutrifft; Farbe: "
            "Zahl der eingeschränkten Größen. Ring: die berichtete Box (höchste Dichte bei "
            "einer Abdeckung von mindestens {min_cov}; bei Dichten innerhalb von {tol} "
            "Punkten die mit weniger Einschränkungen; Einschränkungen mit einem "
            "Quasi-p-Wert über {qp} entfernt). Gestrichelt: Anteil aller Läufe. Ein Lauf je "
            "Szenario und Replikation ({r} Replikationen)."),
        "note_boxes": (
            "Balken: der Bereich jeder eingeschränkten unsicheren Größe in der berichteten "
            "Box (dunkel) im untersuchten Bereich (hell), die einschränkenden Grenzen in der "
            "Einheit der Größe, der untersuchte Bereich unter ihrem Namen; "
            "p: Quasi-p-Wert der Einschränkung (einseitiger Binomialtest ihres "
            "Dichtegewinns; untere / obere Grenze, wo beide einschränken; eine "
            "Einschränkung bleibt, wenn einer höchstens 0,05 ist). Ein Lauf je Szenario und "
            "Replikation ({r} Replikationen)."),
        "note_scores": (
            "Extra-Trees-Merkmalswerte ({trees} Bäume, fester Startwert): der Anteil jeder "
            "unsicheren Größe daran, die Läufe, in denen die Frage zutrifft, von den übrigen "
            "zu unterscheiden; Rang in Klammern. Die Out-of-Bag-Treffsicherheit unter einer "
            "Frage sagt, wie gut alle Größen zusammen sie vorhersagen; nicht besser als der "
            "Anteil der größeren Klasse (sie immer zu raten): sie sagen es nicht voraus."),
    },
}
#: Characters on one line of a question's title above a trajectory panel (a third of the
#: width, bold), under a column of the scores table and of an input's name.
TITLE_CHARS, COLUMN_CHARS, PARAM_CHARS = 26, 22, 30
#: Characters on one line of a question's heading and of its box's statistics in the boxes
#: chart (the width of its bars, right of the inputs' names).
HEADING_CHARS, STATS_CHARS = 50, 70
#: Height (inches) of one row of the scores table and of the boxes chart (an input's name
#: and its explored range), of one line of a heading (9 pt and spacing), and of a panel's
#: ticks or message.
ROW_IN, BOX_ROW_IN, LINE_IN, AXIS_IN = 0.24, 0.4, 0.18, 0.4
#: Trajectory panels per row (three questions side by side at full width).
TRAJECTORY_PANELS_PER_ROW = 3
#: Colours of the bars of the boxes chart: the explored range and the box.
EXPLORED_COLOR, BOX_COLOR = "0.88", OKABE_ITO["blue"]
#: Inputs the scores chart shows (the highest mean scores): a readable page; the sidecar
#: holds every input's score.
SCORES_SHOWN = 15
#: A quasi-p value shown as ``< 0.001`` below this.
QP_FLOOR = 0.001


def text(key: str, lang: Lang, **fields: object) -> str:
    """A fixed phrase of the discovery charts in ``lang``."""
    check_lang(lang)
    return TEXT[lang][key].format(**fields)


def _questions(boxes: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(boxes["question"].astype(str)))


def _status(boxes: pd.DataFrame, q: str) -> pd.Series:
    return boxes[boxes["question"].astype(str) == q].iloc[0]


def _message(row: pd.Series, lang: Lang) -> str:
    """What a panel without a box says instead."""
    n = int(row["n_cases"])
    if row["status"] in ("never", "always"):
        return text(str(row["status"]), lang, n=n)
    return text("no_box", lang, n=n, base=format_percent(float(row["base_rate"]), lang))


def _empty_panel(ax: Axes, message: str, width: int = TITLE_CHARS) -> None:
    ax.text(0.5, 0.5, wrap(message, width), ha="center", va="center",
            fontsize=SMALL_PT, transform=ax.transAxes, color="0.3")
    ax.set_axis_off()


def trajectory_figure(trajectories: pd.DataFrame, boxes: pd.DataFrame,
                      titles: Mapping[str, str], lang: Lang, title: str,
                      settings: Mapping[str, float], n_replications: int | None = None,
                      ) -> tuple[Figure, pd.DataFrame]:
    """PRIM's peeling trajectory of each question (a panel each): density against coverage
    of every box, coloured by the number of restricted inputs, the reported box ringed and
    the share of all runs dashed. A question without trajectory says why.

    ``settings``: ``min_coverage``, ``density_tolerance``, ``max_quasi_p`` (for the note).
    Plotted data: ``trajectories``.
    """
    check_lang(lang)
    questions = _questions(boxes)
    per_row = min(TRAJECTORY_PANELS_PER_ROW, len(questions))
    rows = -(-len(questions) // per_row)
    kmax = int(trajectories["res_dim"].max()) if len(trajectories) else 0
    cmap = matplotlib.colormaps[SEQUENTIAL_CMAP]
    norm = mcolors.Normalize(0, max(kmax, 1))
    note = text("note_trajectory", lang,
                min_cov=format_percent(settings["min_coverage"], lang),
                tol=format_number(100 * settings["density_tolerance"], lang),
                qp=format_number(settings["max_quasi_p"], lang, 2),
                r=n_replications or "")
    with styled():
        fig, body = new_figure(WIDTH_FULL, 2.5 * rows + 0.5, note, title)
        axes = np.ravel(body.subplots(rows, per_row, squeeze=False))
        for ax, q in zip(axes, questions, strict=False):
            ax.set_title(wrap(titles.get(q, q), TITLE_CHARS), loc="left")
            row = _status(boxes, q)
            t = trajectories[trajectories["question"].astype(str) == q]
            if t.empty:
                _empty_panel(ax, _message(row, lang))
                continue
            ax.axhline(100 * float(row["base_rate"]), color="0.5", lw=0.8, ls="--")
            ax.scatter(100 * t["coverage"], 100 * t["density"], c=t["res_dim"], cmap=cmap,
                       norm=norm, s=14, zorder=3, edgecolors="none")
            chosen = t[t["chosen"].astype(bool)]
            ax.scatter(100 * chosen["coverage"], 100 * chosen["density"], s=70,
                       facecolors="none", edgecolors="black", linewidths=1.2, zorder=4,
                       clip_on=False)  # a ring at density 100 % stays whole
            ax.set_xlim(-3, 103)
            ax.set_ylim(-3, 103)
            ax.set_xlabel(text("coverage", lang))
            ax.set_ylabel(text("density", lang))
            ax.xaxis.set_major_formatter(number_formatter(lang))
            ax.yaxis.set_major_formatter(number_formatter(lang))
        for ax in axes[len(questions):]:
            ax.set_axis_off()
        handles = [Line2D([], [], ls="none", marker="o", ms=5, color=cmap(norm(k)),
                          label=text("res_dim", lang, k=k) if k == 0 else str(k))
                   for k in range(kmax + 1)]
        handles += [Line2D([], [], ls="none", marker="o", ms=8, markerfacecolor="none",
                           color="black", label=text("chosen", lang)),
                    Line2D([], [], color="0.5", lw=0.8, ls="--",
                           label=text("all_runs", lang))]
        body.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                    frameon=False, fontsize=SMALL_PT, handletextpad=0.3, columnspacing=0.9)
    return fig, trajectories


def _qp_text(lo: float, hi: float, lang: Lang) -> str:
    """The quasi-p value of each restricted side, lower limit first (``p 0.021 / 0.138``
    when both limits restrict)."""
    def one(p: float) -> str:
        return ("< " + format_number(QP_FLOOR, lang, 3)) if p < QP_FLOOR else format_number(
            p, lang, 3)

    sides = [one(float(p)) for p in (lo, hi) if np.isfinite(p)]
    return text("qp", lang, p=" / ".join(sides)) if sides else ""


def _limit(v: float, lo: float, hi: float, lang: Lang) -> str:
    """A box limit with as many decimals as the explored range needs (3 significant)."""
    span = abs(hi - lo) or abs(v) or 1.0
    decimals = int(max(0, 2 - np.floor(np.log10(span))))
    return format_number(v, lang, decimals)


def boxes_figure(boxes: pd.DataFrame, titles: Mapping[str, str], lang: Lang, title: str,
                 n_replications: int | None = None) -> tuple[Figure, pd.DataFrame]:
    """The reported box of each question (a panel each, stacked): per restricted uncertain
    input a bar over its limits, drawn within its explored range (scaled to 0-1), with the
    limits in the input's unit and the quasi-p value; above it coverage, density and the
    share of all runs. A question without a box says why.

    Plotted data: ``boxes``.
    """
    check_lang(lang)
    questions = _questions(boxes)
    heights = []
    for q in questions:  # heading lines, the statistics' line, the rows (or a message)
        first = _status(boxes, q)
        lines = wrap(titles.get(q, q), HEADING_CHARS).count("\n") + 1
        rows = int((boxes["question"].astype(str) == q).sum()) if first["status"] == "box" else 0
        heights.append(LINE_IN * (lines + (rows > 0)) + BOX_ROW_IN * rows + AXIS_IN)
    note = text("note_boxes", lang, r=n_replications or "")
    with styled():
        fig, body = new_figure(WIDTH_FULL, sum(heights) + LINE_IN, note, title)
        axes = np.ravel(body.subplots(len(questions), 1, squeeze=False,
                                      height_ratios=heights))
        for ax, q in zip(axes, questions, strict=True):
            rows = boxes[boxes["question"].astype(str) == q]
            first = rows.iloc[0]
            head = wrap(titles.get(q, q), HEADING_CHARS)
            if first["status"] != "box":
                ax.set_title(head, loc="left")
                _empty_panel(ax, _message(first, lang), STATS_CHARS)
                continue
            stats = text("box_stats", lang, cov=format_percent(float(first["coverage"]), lang),
                         dens=format_percent(float(first["density"]), lang),
                         base=format_percent(float(first["base_rate"]), lang),
                         n=int(first["n_in_box"]))
            # the question in bold, its box's statistics in a plain line between it and the bars
            ax.set_title(head, loc="left", pad=2.2 * SMALL_PT)
            ax.annotate(wrap(stats, STATS_CHARS), (0.0, 1.0), xycoords="axes fraction",
                        xytext=(0, 3), textcoords="offset points", va="bottom",
                        fontsize=SMALL_PT)
            ys = np.arange(len(rows))[::-1]
            for y, (_, r) in zip(ys, rows.iterrows(), strict=True):
                lo, hi = float(r["explored_low"]), float(r["explored_high"])
                span = (hi - lo) or 1.0
                a, b = (float(r["lower"]) - lo) / span, (float(r["upper"]) - lo) / span
                ax.barh(y, 1.0, left=0.0, height=0.6, color=EXPLORED_COLOR)
                ax.barh(y, b - a, left=a, height=0.6, color=BOX_COLOR)
                # the limits that restrict (an open side is the explored bound, in the label)
                if not np.isclose(a, 0.0):
                    ax.text(a, y, _limit(float(r["lower"]), lo, hi, lang) + " ", ha="right",
                            va="center", fontsize=SMALL_PT)
                if not np.isclose(b, 1.0):
                    ax.text(b, y, " " + _limit(float(r["upper"]), lo, hi, lang), ha="left",
                            va="center", fontsize=SMALL_PT)
                ax.text(1.02, y, _qp_text(float(r["qp_lower"]), float(r["qp_upper"]), lang),
                        ha="left", va="center", fontsize=SMALL_PT, color="0.3")
            ax.set_yticks(ys, [wrap(param_label(str(r["parameter"]), lang, sentence=True),
                                    PARAM_CHARS) + "\n" + text(
                "explored_range", lang,
                lo=_limit(float(r["explored_low"]), r["explored_low"], r["explored_high"], lang),
                hi=_limit(float(r["explored_high"]), r["explored_low"], r["explored_high"],
                          lang)) for _, r in rows.iterrows()])
            ax.set_xlim(-0.22, 1.22)
            ax.set_ylim(-0.6, len(rows) - 0.4)
            ax.set_xticks([0, 0.5, 1.0])
            ax.xaxis.set_major_formatter(number_formatter(lang))
            ax.tick_params(axis="y", length=0)
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
        axes[-1].set_xlabel(text("explored", lang))
    return fig, boxes


def scores_figure(scores: pd.DataFrame, boxes: pd.DataFrame, titles: Mapping[str, str],
                  parameters: Sequence[str], lang: Lang, title: str,
                  n_trees: int) -> tuple[Figure, pd.DataFrame]:
    """The feature scores as a table chart: a row per uncertain input (``parameters``,
    ranked by its mean score over the questions; the :data:`SCORES_SHOWN` highest), a
    column per question, each cell its score (shaded) and rank; under each question the
    classifier's out-of-bag accuracy, or why it has no scores.

    Plotted data: ``scores``.
    """
    check_lang(lang)
    questions = _questions(boxes)
    grid = (scores.pivot(index="parameter", columns="question", values="score")
            .reindex(index=list(parameters), columns=questions))
    ranks = (scores.pivot(index="parameter", columns="question", values="rank")
             .reindex(index=list(parameters), columns=questions))
    order = grid.mean(axis=1).fillna(-1.0).sort_values(ascending=False, kind="stable").index
    note = text("note_scores", lang, trees=n_trees)
    if len(order) > SCORES_SHOWN:
        note += " " + text("scores_top", lang, shown=SCORES_SHOWN, k=len(order))
        order = order[:SCORES_SHOWN]
    grid, ranks = grid.loc[order], ranks.loc[order]
    values = grid.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    norm = mcolors.Normalize(0.0, float(finite.max()) if len(finite) else 1.0)
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="0.95")
    with styled():
        head = max(wrap(titles.get(q, q), COLUMN_CHARS).count("\n") + 1 for q in questions)
        fig, body = new_figure(WIDTH_FULL, ROW_IN * len(order) + LINE_IN * head + 2 * AXIS_IN,
                               note, title)
        ax = body.subplots()
        ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto",
                  interpolation="nearest")
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{format_number(v, lang, 2)} ({int(ranks.iat[i, j])})",
                        ha="center", va="center", fontsize=SMALL_PT,
                        color=text_color(cmap(norm(v))))
        foot = []
        for q in questions:
            sub = scores[scores["question"].astype(str) == q]
            if len(sub):
                rate = float(sub["base_rate"].iloc[0])
                foot.append(text("oob", lang,
                                 acc=format_percent(float(sub["oob_accuracy"].iloc[0]), lang),
                                 base=format_percent(max(rate, 1 - rate), lang)))
            else:
                foot.append(_message(_status(boxes, q), lang))
        ax.set_xticks(range(len(questions)),
                      [wrap(titles.get(q, q), COLUMN_CHARS) for q in questions])
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(order)), [wrap(param_label(str(p), lang, sentence=True),
                                               2 * PARAM_CHARS) for p in order])
        for j, s in enumerate(foot):
            ax.annotate(wrap(s, COLUMN_CHARS), (j, 0.0), xycoords=("data", "axes fraction"),
                        xytext=(0, -4), textcoords="offset points", ha="center", va="top",
                        fontsize=SMALL_PT, color="0.3", annotation_clip=False)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return fig, scores


__all__ = ["TEXT", "boxes_figure", "scores_figure", "text", "trajectory_figure"]
