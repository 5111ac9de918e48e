"""Waterfall chart of the ``mechanisms`` experiment: what each mechanism contributes.

Each design point switches one mechanism off (``mechanisms.switched_off``, MODEL.md 7.11)
on common random numbers, so the change it makes is a paired difference
(:func:`sim.stats.paired_difference`, replication by replication). Per outcome and month
(:data:`WATERFALL_MONTHS`; outcomes :data:`WATERFALL_OUTCOMES`: population coverage and the
gap between services online somewhere and nationwide) the chart starts at the value with
every mechanism on, steps through the change of switching each mechanism off (largest
first, with its 95 % interval), then, if every mechanism was also switched off together,
the interactions (what all of them off changes beyond the sum of the single changes, paired
the same way), and ends at the value with every mechanism off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim import stats
from sim.calendar import month_index
from sim.figures.charts import new_figure
from sim.figures.formats import format_month, format_number
from sim.figures.labels import Lang, check_lang, label_value, wrap
from sim.figures.style import GREY, OKABE_ITO, SMALL_PT, WIDTH_FULL, styled

#: Months of the chart: the OZG deadline and four years after it (the month the ``regret``
#: recipe ranks), both inside the default horizon.
WATERFALL_MONTHS = ("2022-12", "2026-12")
#: The gap between services online somewhere and services nationwide (shares of the
#: catalogue), a column the recipe adds to ``national``.
GAP = "gap_online_nationwide"
#: Outcomes of the chart, one row of panels each.
WATERFALL_OUTCOMES = ("population_coverage", GAP)
#: Row kinds of :func:`waterfall_table`.
KIND_ON, KIND_EFFECT, KIND_INTERACTIONS, KIND_OFF = "all_on", "effect", "interactions", "all_off"
#: Level name of the interactions row (not a design point).
INTERACTIONS = "interactions"
#: Colours of a change that raises the outcome, one that lowers it, and of the interactions
#: (Okabe-Ito blue and vermillion, colour-blind safe; the interactions grey and hatched).
UP_COLOR, DOWN_COLOR, INTERACTIONS_COLOR = OKABE_ITO["blue"], OKABE_ITO["red"], GREY
#: Height (inches) of one row of a panel, and of a panel's frame (title, axis label).
ROW_IN, PANEL_FRAME_IN = 0.22, 0.9
#: Characters per line of a wrapped row label (the left column of each panel) and of a
#: panel title (half the width of the figure).
LABEL_CHARS, TITLE_CHARS = 36, 28

#: The words of the chart (English, German).
WORDS: dict[str, tuple[str, str]] = {
    "population_coverage": ("Population coverage (%)", "Bevölkerungsabdeckung (%)"),
    GAP: ("Online somewhere − nationwide (% of services)",
          "Irgendwo online − flächendeckend (% der Leistungen)"),
    "title_population_coverage": ("Population coverage, {month}",
                                  "Bevölkerungsabdeckung, {month}"),
    f"title_{GAP}": ("Gap online somewhere − nationwide, {month}",
                     "Lücke irgendwo online − flächendeckend, {month}"),
    KIND_ON: ("every mechanism on", "alle Mechanismen an"),
    KIND_OFF: ("every mechanism off", "alle Mechanismen aus"),
    INTERACTIONS: ("interactions", "Wechselwirkungen"),
    "up": ("switched off: higher", "abgeschaltet: höher"),
    "down": ("switched off: lower", "abgeschaltet: niedriger"),
    "note": ("Each bar: the mean change (percentage points) when one mechanism is switched "
             "off, paired on common random numbers over {n} replications, from the value "
             "with every mechanism on (top, ◆) towards every mechanism off (bottom), largest "
             "change first; whiskers: its 95 % interval.{interactions}",
             "Jeder Balken: die mittlere Änderung (Prozentpunkte), wenn ein Mechanismus "
             "abgeschaltet wird, gepaart über {n} Replikationen mit gemeinsamen Zufallszahlen, "
             "vom Wert mit allen Mechanismen (oben, ◆) zum Wert ohne alle (unten), die größte "
             "Änderung zuerst; Antennen: ihr 95-%-Intervall.{interactions}"),
    "note_interactions": (" Interactions: what switching all off together changes beyond the "
                          "sum of the single changes.",
                          " Wechselwirkungen: was das gemeinsame Abschalten über die Summe der "
                          "einzelnen Änderungen hinaus ändert."),
}


def _word(key: str, lang: Lang, **fields: object) -> str:
    return WORDS[key][0 if lang == "en" else 1].format(**fields)


def waterfall_table(national: pd.DataFrame, factor: str, reference: object,
                    all_level: object | None = None,
                    months: Sequence[str] = WATERFALL_MONTHS) -> pd.DataFrame:
    """The numbers of the waterfall chart, per outcome and month.

    Parameters
    ----------
    national : DataFrame
        An experiment's ``national`` table (``replication``, ``month``, ``factor``,
        ``population_coverage``, ``online_anywhere_share``, ``nationwide_share``).
    factor, reference : str, object
        The design column naming the mechanism switched off, and its level with every
        mechanism on.
    all_level : object, optional
        The level with every mechanism off (adds the interactions and the all-off rows).
    months : sequence of str
        Months (``YYYY-MM``); those after the horizon are left out.

    Returns
    -------
    DataFrame
        One row per outcome, month and ``level`` (``kind``: ``all_on``, ``effect`` (one per
        mechanism, by decreasing size of the change), ``interactions``, ``all_off``), with
        ``change`` (mean paired change of switching off, a share), ``lo``, ``hi`` (its 95 %
        interval), ``start`` and ``end`` (the bar on the running total), ``n_pairs``.

    Raises
    ------
    ValueError
        If no month is within the horizon, or a run has no partner with every mechanism on
        (:func:`sim.stats.paired_difference`).
    """
    nat = national.assign(**{GAP: national["online_anywhere_share"]
                             - national["nationwide_share"]})
    last = int(nat["month"].max())
    inside = [m for m in months if month_index(m) <= last]
    if not inside:
        raise ValueError(f"months {list(months)} are all after the horizon's last month")
    levels = [v for v in pd.unique(nat[factor]) if v not in (reference, all_level)]
    rows: list[dict[str, object]] = []
    for outcome in WATERFALL_OUTCOMES:
        subs = {m: nat.loc[nat["month"] == month_index(m), [factor, "replication", outcome]]
                for m in inside}
        effects = {m: {lev: _paired(sub, factor, lev, reference, outcome) for lev in levels}
                   for m, sub in subs.items()}
        # One order per outcome (its months share the rows): the largest change first.
        order = sorted(levels, key=lambda lev: -max(abs(effects[m][lev]["change"])
                                                    for m in inside))
        for m, sub in subs.items():
            rows += _panel_rows(sub, factor, reference, all_level,
                                [(lev, effects[m][lev]) for lev in order], outcome, m)
    return pd.DataFrame(rows)


def _paired(sub: pd.DataFrame, factor: str, a: object, b: object,
            outcome: str) -> dict[str, float]:
    d = stats.paired_difference(sub, factor, a, b, outcome, keys=["replication"]).iloc[0]
    return {"change": float(d["mean_diff"]), "lo": float(d["lo"]), "hi": float(d["hi"]),
            "n_pairs": int(d["n_pairs"])}


def _panel_rows(sub: pd.DataFrame, factor: str, reference: object, all_level: object | None,
                effects: list[tuple[object, dict[str, float]]], outcome: str,
                month: str) -> list[dict[str, object]]:
    on = sub[sub[factor] == reference]
    head = {"outcome": outcome, "month": month}
    total = float(on[outcome].mean())
    rows: list[dict[str, object]] = [{**head, "kind": KIND_ON, "level": reference,
                                      "change": np.nan, "lo": np.nan, "hi": np.nan,
                                      "start": total, "end": total, "n_pairs": len(on)}]
    for lev, eff in effects:
        rows.append({**head, "kind": KIND_EFFECT, "level": lev, **eff, "start": total,
                     "end": total + eff["change"]})
        total += eff["change"]
    if all_level is None or not (sub[factor] == all_level).any():
        return rows
    # Per replication: all off - sum of the single changes, paired with all on.
    wide = sub.pivot(index="replication", columns=factor, values=outcome)
    rest = wide[all_level] - sum((wide[lev] - wide[reference] for lev, _e in effects),
                                 start=pd.Series(0.0, index=wide.index))
    both = pd.concat([on, pd.DataFrame({factor: INTERACTIONS, "replication": rest.index,
                                        outcome: rest.to_numpy()})], ignore_index=True)
    eff = _paired(both, factor, INTERACTIONS, reference, outcome)
    rows.append({**head, "kind": KIND_INTERACTIONS, "level": INTERACTIONS, **eff,
                 "start": total, "end": total + eff["change"]})
    off = float(wide[all_level].mean())
    rows.append({**head, "kind": KIND_OFF, "level": all_level, "change": np.nan, "lo": np.nan,
                 "hi": np.nan, "start": off, "end": off, "n_pairs": int(wide[all_level].count())})
    return rows


def _row_label(row: pd.Series, factor: str, lang: Lang) -> str:
    if row["kind"] in (KIND_ON, KIND_OFF):
        return _word(str(row["kind"]), lang)
    if row["kind"] == KIND_INTERACTIONS:
        return _word(INTERACTIONS, lang)
    return label_value(factor, row["level"], lang, short=True)


def waterfall_figure(table: pd.DataFrame, factor: str, lang: Lang = "en",
                     title: str | None = None, n_replications: int | None = None,
                     ) -> tuple[Figure, pd.DataFrame]:
    """Waterfall panels of :func:`waterfall_table`: a row of panels per outcome, a column
    per month. Shares are drawn in per cent, changes in percentage points. Plotted data:
    ``table``."""
    check_lang(lang)
    outcomes = list(dict.fromkeys(table["outcome"]))
    months = list(dict.fromkeys(table["month"]))
    n_rows = int(table.groupby(["outcome", "month"]).size().max())
    interactions = bool((table["kind"] == KIND_INTERACTIONS).any())
    n = n_replications or int(table["n_pairs"].max())
    note = _word("note", lang, n=n, interactions=_word("note_interactions", lang)
                 if interactions else "")
    with styled():
        fig, body = new_figure(WIDTH_FULL, len(outcomes) * (PANEL_FRAME_IN + ROW_IN * n_rows),
                               note, title)
        axes = body.subplots(len(outcomes), len(months), squeeze=False)
        for i, outcome in enumerate(outcomes):
            for j, month in enumerate(months):
                sub = table[(table["outcome"] == outcome) & (table["month"] == month)]
                _panel(axes[i][j], sub.reset_index(drop=True), factor, lang, labels=j == 0)
                axes[i][j].set_title(wrap(_word(f"title_{outcome}", lang, month=format_month(
                    pd.Timestamp(month), lang, short=True)), TITLE_CHARS),
                    fontsize=SMALL_PT + 1, loc="left")
                axes[i][j].set_xlabel(wrap(_word(outcome, lang), 40), fontsize=SMALL_PT)
        handles = [Patch(facecolor=UP_COLOR, label=_word("up", lang)),
                   Patch(facecolor=DOWN_COLOR, label=_word("down", lang))]
        if interactions:
            handles.append(Patch(facecolor="white", edgecolor=INTERACTIONS_COLOR, hatch="////",
                                 label=_word(INTERACTIONS, lang)))
        body.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                    frameon=False, fontsize=SMALL_PT)
    return fig, table


def _panel(ax: Axes, sub: pd.DataFrame, factor: str, lang: Lang, labels: bool) -> None:
    """One waterfall: rows top to bottom, x in per cent; ``labels``: name the rows (the
    first column; the other months of an outcome have the same rows)."""
    ys = np.arange(len(sub), 0, -1, dtype=float)
    pct = 100.0
    ends: list[float] = []
    for y, (_, row) in zip(ys, sub.iterrows(), strict=True):
        start, end = float(row["start"]) * pct, float(row["end"]) * pct
        ends += [start, end]
        if row["kind"] in (KIND_ON, KIND_OFF):
            ax.plot(start, y, marker="D", ls="none", color="black", ms=5)
            ax.annotate(format_number(start, lang, 1), (start, y), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=SMALL_PT)
            continue
        change = float(row["change"]) * pct
        inter = row["kind"] == KIND_INTERACTIONS
        color = INTERACTIONS_COLOR if inter else (UP_COLOR if change >= 0 else DOWN_COLOR)
        ax.barh(y, end - start, left=start, height=0.6, color="white" if inter else color,
                edgecolor=color, hatch="////" if inter else None, lw=0.8)
        lo, hi = start + float(row["lo"]) * pct, start + float(row["hi"]) * pct
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [y, y], color="0.2", lw=0.9)
            ends += [lo, hi]
        ax.annotate(format_number(change, lang, 1, sign=True), (max(end, start, hi), y),
                    xytext=(4, 0), textcoords="offset points", va="center",
                    fontsize=SMALL_PT, color="0.2")
        if y < len(sub):  # the connector from the previous row's end
            ax.plot([start, start], [y, y + 1], color="0.5", lw=0.6, ls=":")
    ax.set_yticks(ys, [wrap(_row_label(r, factor, lang), LABEL_CHARS) if labels else ""
                       for _, r in sub.iterrows()], fontsize=SMALL_PT)
    ax.tick_params(axis="x", labelsize=SMALL_PT)
    finite = [e for e in ends if np.isfinite(e)]
    lo_x, hi_x = min(finite), max(finite)
    span = (hi_x - lo_x) or 1.0
    ax.set_xlim(lo_x - 0.08 * span, hi_x + 0.3 * span)  # room for the labels on the right
    ax.set_ylim(0.4, len(sub) + 0.6)


__all__ = ["GAP", "WATERFALL_MONTHS", "WATERFALL_OUTCOMES", "waterfall_figure",
           "waterfall_table"]
