"""The report's sections on the analyses of issue 14, from saved tables only:

- a **sensitivity** folder (``ozg-sim-experiment sensitivity``, and any experiment with a
  ``sensitivity:`` block) gets a report of its own (:func:`sensitivity_report`): the design
  of the Morris screening and the Sobol analysis, the influential parameters with their
  total-order indices and intervals, the figures, the ranges and the provenance;
- an **experiment** folder gets, besides its paired differences, one table per analysis its
  figure recipes saved (:func:`analysis_blocks`): the regret ranking of an exploration.

Which table an analysis has is declared once, in :data:`ANALYSIS_TABLES` (the file stem of
the saved table in ``figures/`` and the function that turns it into report blocks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.calendar import month_label
from sim.errors import DataError
from sim.figures.decisions import decision_label, parse_contrast
from sim.figures.exploration import TIED_NAMED
from sim.figures.labels import label_value, param_label
from sim.figures.sensitivity import output_label
from sim.report.appendix import appendix
from sim.report.blocks import Numbers, caption, language_pngs, read_csv, today, words
from sim.report.document import Block, Lang, Paragraph, Report, Section
from sim.report.texts import interval, month_text, number, percent, pp, t

#: Order of a sensitivity folder's figures (by file-name prefix).
SENSITIVITY_FIGURE_ORDER = ("contrast_evolution_", "contrast_sobol_", "contrast_morris_",
                            "morris_", "sobol_")
#: Columns a sensitivity folder's tables must have for the report.
MORRIS_COLUMNS = ("parameter", "output", "mu_star", "mu_star_normalised", "survived")
SOBOL_COLUMNS = ("parameter", "output", "S1", "S1_conf", "ST", "ST_conf", "influential")
#: Parameters listed in the key findings of a sensitivity report when nothing was analysed
#: with Sobol (the largest Morris effects): enough to name the drivers, short enough to read.
TOP_MORRIS = 10
#: Decimals of a sensitivity index (two: the bootstrap intervals are wider than 0.01).
INDEX_DECIMALS = 2
#: Decimals of a regret in months.
MONTH_DECIMALS = 1


def _output_words(output: str, lang: Lang) -> str:
    """An analysed output in words: a decision with its contrast (``EfV − EfA: Population
    coverage, Dec 2026``), a level by :func:`sim.figures.sensitivity.output_label`."""
    return (decision_label(output, lang) if parse_contrast(output) is not None
            else output_label(output, lang))


def _index(x: float, lang: Lang) -> str:
    return number(x, lang, INDEX_DECIMALS) if math.isfinite(x) else "–"


def _index_interval(x: float, conf: float, lang: Lang) -> str:
    """``0.42 [0.30; 0.54]``: an index and its bootstrap 95 % interval."""
    if not math.isfinite(x):
        return "–"
    if not math.isfinite(conf):
        return _index(x, lang)
    return f"{_index(x, lang)} [{_index(x - conf, lang)}; {_index(x + conf, lang)}]"


# ------------------------------------------------------------------------------ sensitivity


def sensitivity_findings(folder: Path, man: dict[str, Any], lang: Lang,
                         nb: Numbers) -> list[Block]:
    """The influential parameters of a sensitivity folder: for each parameter with a
    total-order index at or above the threshold on some output, on how many outputs, its
    largest ``ST`` with its interval, ``S1`` there and the output; ranked by that ``ST``.
    Without a Sobol stage, the largest Morris effects."""
    sens = man.get("sensitivity") or {}
    threshold = float(sens.get("st_threshold", math.nan))
    morris = read_csv(folder / "morris.csv", MORRIS_COLUMNS)
    n_out = morris["output"].nunique()
    k = morris["parameter"].nunique()
    survivors = list(sens.get("survivors") or [])
    blocks: list[Block] = [Paragraph(t("sens_screening", lang, s=len(survivors), k=k,
                                       outputs=n_out))]
    sobol_path = folder / "sobol.csv"
    sobol = read_csv(sobol_path, SOBOL_COLUMNS) if sobol_path.is_file() else pd.DataFrame()
    if len(sobol):
        rows = []
        infl = sobol[sobol["influential"].astype(str).str.lower() == "true"]
        for par, sub in infl.groupby("parameter", sort=False):
            top = sub.loc[sub["ST"].astype(float).idxmax()]
            rows.append((float(top["ST"]), [
                param_label(str(par), lang, sentence=True),
                f"{len(sub)} / {sobol['output'].nunique()}",
                _index_interval(float(top["ST"]), float(top["ST_conf"]), lang),
                _index_interval(float(top["S1"]), float(top["S1_conf"]), lang),
                _output_words(str(top["output"]), lang)]))
        rows.sort(key=lambda r: -r[0])
        if rows:
            blocks.append(nb.table(
                t("sens_influential_caption", lang, threshold=_index(threshold, lang),
                  n=man.get("replications")),
                [t("col_parameter", lang), t("col_outputs", lang), t("col_st_max", lang),
                 t("col_s1", lang), t("col_output", lang)],
                [r for _, r in rows], [False, True, True, True, False],
                t("sens_influential_note", lang), widths=(3.2, 1.1, 1.9, 1.9, 3.2)))
        else:
            blocks.append(Paragraph(t("sens_none_influential", lang,
                                      threshold=_index(threshold, lang))))
    else:
        best = (morris.assign(m=morris["mu_star_normalised"].astype(float))
                .sort_values("m", ascending=False).drop_duplicates("parameter")
                .head(TOP_MORRIS))
        blocks.append(nb.table(
            t("sens_morris_caption", lang, top=len(best)),
            [t("col_parameter", lang), t("col_mu_norm", lang), t("col_output", lang)],
            [[param_label(str(r["parameter"]), lang, sentence=True), _index(r["m"], lang),
              _output_words(str(r["output"]), lang)] for _, r in best.iterrows()],
            [False, True, False], widths=(3.5, 1.5, 3.5)))
    return blocks


#: Columns of a decisions folder's sign table (``contrast_signs.csv``) the report reads.
SIGN_COLUMNS = ("parameter", "output", "stage", "positive_share", "sign_flips")


def decision_blocks(folder: Path, man: dict[str, Any], lang: Lang,
                    nb: Numbers) -> list[Block]:
    """A decisions folder's conclusions: per decision at the analysed months, the share of
    explored scenarios in which the compared level is ahead, the influential parameters and
    those over whose range the decision's sign flips (``contrast_signs.csv``)."""
    path = folder / "contrast_signs.csv"
    if not path.is_file():
        return []
    signs = read_csv(path, SIGN_COLUMNS)
    sens = man.get("sensitivity") or {}
    months = [str(m) for m in sens.get("months") or []]
    sobol_path = folder / "sobol.csv"
    sobol = read_csv(sobol_path, SOBOL_COLUMNS) if sobol_path.is_file() else pd.DataFrame(
        columns=list(SOBOL_COLUMNS))
    rows = []
    for out, sub in signs.groupby("output", sort=False):
        parsed = parse_contrast(str(out))
        if parsed is None or (months and parsed[2] not in months):
            continue
        stage = "sobol" if (sub["stage"] == "sobol").any() else str(sub["stage"].iloc[0])
        share = float(sub.loc[sub["stage"] == stage, "positive_share"].iloc[0])
        infl = sobol[(sobol["output"] == out)
                     & (sobol["influential"].astype(str).str.lower() == "true")]
        infl = infl.sort_values("ST", ascending=False)
        flips = sub[sub["sign_flips"].astype(str).str.lower() == "true"]
        rows.append([decision_label(str(out), lang), percent(share, lang),
                     ", ".join(param_label(str(p), lang, short=True)
                               for p in infl["parameter"]) or t("none", lang),
                     ", ".join(param_label(str(p), lang, short=True)
                               for p in flips["parameter"]) or t("none", lang)])
    if not rows:
        return []
    return [nb.table(t("dec_caption", lang, st=_index(float(sens.get("st_threshold",
                                                                      math.nan)), lang)),
                     [t("col_decision", lang), t("col_ahead", lang),
                      t("col_influential", lang), t("col_flips", lang)],
                     rows, [False, True, False, False], t("dec_note", lang),
                     widths=(3.2, 1.1, 3.0, 2.6))]


def ranges_table(man: dict[str, Any], lang: Lang, nb: Numbers) -> Block:
    """Every parameter the design varied and its range."""
    sens = man.get("sensitivity") or {}
    ranges = sens.get("ranges") or {}
    integer = set(sens.get("integer") or [])
    rows = [[param_label(str(k), lang, sentence=True), str(k),
             f"{number(float(lo), lang, 0 if k in integer else 2)} – "
             f"{number(float(hi), lang, 0 if k in integer else 2)}"]
            for k, (lo, hi) in ranges.items()]
    return nb.table(t("sens_ranges_caption", lang, k=len(rows)),
                    [t("col_parameter", lang), t("col_key", lang), t("col_range_param", lang)],
                    rows, [False, False, True], widths=(3.5, 3.5, 1.6))


def sensitivity_report(folder: Path, man: dict[str, Any], lang: Lang,
                       figures: Path | None = None) -> Report:
    """The report of a sensitivity folder (its manifest ``man``; charts in ``figures``,
    default ``folder/figures``)."""
    nb = Numbers()
    sens = man.get("sensitivity") or {}
    points = sens.get("points") or {}
    title = (man.get("title_de") if lang == "de" else None) or man.get("title") \
        or man.get("experiment", folder.name)
    description = str(man.get("description") or "").strip() if lang == "en" else ""
    k = len(sens.get("ranges") or {})
    reps = man.get("replications")
    intro = Section(t("sec_question", lang), [
        Paragraph(description) if description else Paragraph(t("sens_question", lang)),
        Paragraph(t("sens_design", lang, k=k, r=sens.get("trajectories"),
                    morris=points.get("morris", 0), n=reps, s=len(sens.get("survivors") or []),
                    sobol_n=sens.get("sobol_n"), sobol=points.get("sobol", 0),
                    threshold=_index(float(sens.get("threshold", math.nan)), lang),
                    st=_index(float(sens.get("st_threshold", math.nan)), lang)))])
    findings = Section(t("sec_findings", lang), [*decision_blocks(folder, man, lang, nb),
                                                 *sensitivity_findings(folder, man, lang, nb)])
    figs = Section(t("sec_figures", lang))
    for png in language_pngs(figures or folder / "figures", lang, SENSITIVITY_FIGURE_ORDER):
        figs.blocks.append(nb.figure(png, caption(png, lang, "", n=reps)))
    ranges = ranges_table(man, lang, nb)  # numbered before the appendix's tables it precedes
    methods = appendix(man, man.get("config_of_first_point"), lang, nb,
                       str(man.get("config_hash_base") or ""), t("sens_params_which", lang))
    methods[0].blocks.insert(1, ranges)
    sub = t("sens_subtitle", lang, name=man.get("experiment", folder.name), k=k, n=reps,
            seed=man.get("seed"))
    return Report(lang, str(title), sub, today(man), "sensitivity",
                  [intro, findings, figs, *methods], words(lang))


# ------------------------------------------------------------------------------ experiments


def _setting(row: pd.Series, levers: Sequence[str], lang: Lang) -> str:
    return ", ".join(label_value(c, row[c], lang, short=True) for c in levers)


def _best(sub: pd.DataFrame, rank: str, levers: Sequence[str], lang: Lang) -> str:
    """The settings ranked first by ``rank``, by name, or counted when many tie (as the
    regret chart's note, :data:`sim.figures.exploration.TIED_NAMED`)."""
    top = sub[sub[rank] == sub[rank].min()]
    if len(top) > TIED_NAMED:
        return t("regret_tied", lang, k=len(top), n=len(sub))
    return " / ".join(_setting(r, levers, lang) for _, r in top.iterrows())


def _censoring(sub: pd.DataFrame, lang: Lang) -> str:
    """The sentence on runs that never reach the target (they count at the month after the
    horizon, so their regret is a lower bound)."""
    at = float(sub["censored_at"].iloc[0]) if "censored_at" in sub else math.nan
    if not math.isfinite(at):
        return ""
    return t("regret_censored", lang, end=month_label(int(at) - 1))


def _regret_blocks(path: Path, man: dict[str, Any], lang: Lang, nb: Numbers) -> list[Block]:
    """The regret ranking of an exploration (the ``regret`` recipe's table): per outcome, the
    lever settings ranked by maximum regret, and which is robust and which best on the
    median."""
    df = read_csv(path, ("outcome", "better", "regret_median", "regret_max", "outcome_median"))
    fixed = {"outcome", "better", "n_scenarios", "n_censored_scenarios", "outcome_median",
             "outcome_q10", "outcome_q90", "regret_median", "regret_q90", "regret_max",
             "rank_max_regret", "rank_median_regret", "censored_at"}
    levers = [c for c in df.columns if c not in fixed]
    blocks: list[Block] = []
    for _outcome, sub in df.groupby("outcome", sort=False):
        months = str(sub["better"].iloc[0]) == "lower"
        tail = "outcome_q90" if months else "outcome_q10"

        def value(x: float, months: bool = months) -> str:
            return month_text(x) if months else percent(x, lang)

        def regret(x: float, months: bool = months) -> str:
            return number(x, lang, MONTH_DECIMALS) if months else pp(x, lang, sign=False)

        rows = [[_setting(r, levers, lang), value(float(r["outcome_median"])),
                 value(float(r[tail])), regret(float(r["regret_median"])),
                 regret(float(r["regret_q90"])), regret(float(r["regret_max"])),
                 str(int(r["rank_max_regret"])), str(int(r["rank_median_regret"]))]
                for _, r in sub.iterrows()]
        robust, best = (_best(sub, col, levers, lang)
                        for col in ("rank_max_regret", "rank_median_regret"))
        key = "regret_months" if months else "regret_coverage"
        blocks.append(nb.table(
            t(f"{key}_caption", lang, n=int(sub["n_scenarios"].max())),
            [t("col_setting", lang), t("col_median", lang),
             t("col_tail_late" if months else "col_tail_low", lang),
             t("col_regret_median", lang), t("col_regret_q90", lang),
             t("col_regret_max", lang), t("col_rank_max", lang), t("col_rank_median", lang)],
            rows, [False, *[True] * 7],
            t("regret_note", lang, robust=robust, best=best,
              unit=t("unit_months" if months else "unit_pp", lang),
              end=_censoring(sub, lang) if months else ""),
            widths=(2.6, 1.2, 1.2, 1.1, 1.1, 1.1, 0.9, 0.9)))
    return blocks


#: Columns of the tables of the ``discovery`` and ``waterfall`` recipes the report reads.
BOX_COLUMNS = ("question", "status", "n_cases", "n_holds", "coverage", "density",
               "parameter", "lower", "upper", "explored_low", "explored_high", "qp_lower",
               "qp_upper")
SCORE_COLUMNS = ("question", "parameter", "score", "rank", "oob_accuracy")
WATERFALL_COLUMNS = ("outcome", "month", "kind", "level", "change", "lo", "hi", "start",
                     "end", "n_pairs")
#: Inputs named per question beside its box: the highest feature scores.
TOP_SCORES = 3
#: The mechanisms factor (experiment ``mechanisms``) whose levels name the waterfall's rows.
MECHANISMS_FACTOR = "mechanisms.switched_off"


def _limit(x: float, lang: Lang) -> str:
    """A box limit in the input's unit, with as many digits as its size needs."""
    return number(x, lang, 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2)


def _discovery_blocks(path: Path, man: dict[str, Any], lang: Lang,
                      nb: Numbers) -> list[Block]:
    """Scenario discovery: per question how often it holds, the PRIM box (each restricted
    input's limits within the explored range, its quasi-p value; coverage and density) and
    the inputs with the highest feature scores."""
    boxes = read_csv(path, BOX_COLUMNS)
    scores_path = path.with_name("discovery_scores.csv")
    scores = (read_csv(scores_path, SCORE_COLUMNS) if scores_path.is_file()
              else pd.DataFrame(columns=list(SCORE_COLUMNS)))
    titles = {str(q.get("name")): str((q.get("title_de") if lang == "de" else None)
                                      or q.get("title") or q.get("name"))
              for q in man.get("discovery") or [] if isinstance(q, dict)}
    rows = []
    for name, sub in boxes.groupby("question", sort=False):
        first = sub.iloc[0]
        holds = t("disc_holds", lang, k=int(first["n_holds"]), n=int(first["n_cases"]))
        status = str(first["status"])
        if status == "box":
            limits = []
            for _, r in sub.iterrows():
                qp = min(float(r["qp_lower"]) if pd.notna(r["qp_lower"]) else math.inf,
                         float(r["qp_upper"]) if pd.notna(r["qp_upper"]) else math.inf)
                limits.append(t("disc_limit", lang,
                                name=param_label(str(r["parameter"]), lang, short=True),
                                lo=_limit(float(r["lower"]), lang),
                                hi=_limit(float(r["upper"]), lang),
                                elo=_limit(float(r["explored_low"]), lang),
                                ehi=_limit(float(r["explored_high"]), lang),
                                qp=number(qp, lang, 3) if math.isfinite(qp) else "–"))
            box = "; ".join(limits)
            cov, dens = percent(float(first["coverage"]), lang), percent(
                float(first["density"]), lang)
        else:
            box, cov, dens = t(f"disc_{status}", lang), "–", "–"
        top = scores[scores["question"] == name].sort_values("rank").head(TOP_SCORES)
        rows.append([titles.get(str(name), str(name)), holds, box, cov, dens,
                     ", ".join(param_label(str(p), lang, short=True) for p in top["parameter"])
                     or t("none", lang)])
    return [nb.table(t("disc_caption", lang, n=man.get("replications")),
                     [t("col_question", lang), t("col_holds", lang), t("col_box", lang),
                      t("col_coverage", lang), t("col_density", lang),
                      t("col_top_inputs", lang)],
                     rows, [False, True, False, True, True, False], t("disc_note", lang),
                     widths=(2.2, 0.8, 2.8, 1.35, 1.15, 1.9))]


def _waterfall_blocks(path: Path, man: dict[str, Any], lang: Lang,
                      nb: Numbers) -> list[Block]:
    """What each mechanism contributes: per outcome and month the value with every
    mechanism on, each mechanism's paired change when switched off (95 % interval), the
    interactions and the value with every mechanism off, in percentage points."""
    wf = read_csv(path, WATERFALL_COLUMNS)
    cols = list(dict.fromkeys(zip(wf["outcome"], wf["month"].astype(str), strict=True)))
    order = list(dict.fromkeys(wf.loc[wf["outcome"] == cols[0][0], "level"].astype(str)))
    rows = []
    for level in order:
        kind = str(wf.loc[wf["level"].astype(str) == level, "kind"].iloc[0])
        label = (t("interactions", lang) if kind == "interactions"
                 else label_value(MECHANISMS_FACTOR, level, lang, short=True))
        row = [label]
        for outcome, month in cols:
            hit = wf[(wf["outcome"] == outcome) & (wf["month"].astype(str) == month)
                     & (wf["level"].astype(str) == level)]
            if not len(hit):
                row.append("–")
                continue
            r = hit.iloc[0]
            if kind in ("all_on", "all_off"):
                row.append(percent(float(r["end"]), lang))
            elif pd.notna(r["lo"]):
                row.append(interval(float(r["change"]), float(r["lo"]), float(r["hi"]),
                                    lang))
            else:
                row.append(pp(float(r["change"]), lang))
        rows.append(row)
    header = [t("col_mechanism", lang)] + [
        t("col_outcome_at", lang, outcome=t(f"wf_{o}", lang), date=m) for o, m in cols]
    return [nb.table(t("wf_caption", lang, n=int(wf["n_pairs"].max())), header, rows,
                     [False, *[True] * len(cols)], t("wf_note", lang),
                     widths=(2.6, *[1.7] * len(cols)))]


#: The saved tables of an experiment's analyses (file stem in ``figures/``) and how the
#: report shows them, in the order they appear under the key findings.
ANALYSIS_TABLES: dict[str, Callable[[Path, dict[str, Any], Lang, Numbers], list[Block]]] = {
    "waterfall": _waterfall_blocks,
    "regret": _regret_blocks,
    "discovery_boxes": _discovery_blocks,
}


def analysis_blocks(figures: Path, man: dict[str, Any], lang: Lang, nb: Numbers) -> list[Block]:
    """Report blocks of every analysis table the experiment's figures folder holds (the
    English file: its numbers are the same in both languages)."""
    blocks: list[Block] = []
    for stem, make in ANALYSIS_TABLES.items():
        path = figures / f"{stem}.csv"
        if path.is_file():
            try:
                blocks += make(path, man, lang, nb)
            except (KeyError, ValueError) as exc:
                raise DataError(f"{path}: not the table of the {stem} analysis ({exc})") \
                    from exc
    return blocks


__all__ = ["ANALYSIS_TABLES", "SENSITIVITY_FIGURE_ORDER", "analysis_blocks", "decision_blocks",
           "ranges_table",
           "sensitivity_findings", "sensitivity_report"]
