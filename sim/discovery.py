"""Scenario discovery: under which uncertain conditions a question about the outcome of an
exploration holds ("When does EfA lose to EfV?"), found by PRIM over the explored scenarios,
and how much each uncertain input tells whether it holds (extra-trees feature scores).

An experiment declares its questions in a ``discovery:`` block (a list), each with

- ``name`` (a plain name), ``title`` and ``title_de`` (the question in words);
- ``outcome``: a key figure ``kpi:NAME`` or a value of the ``national`` table at a month
  ``national:COLUMN@YYYY-MM`` (the forms of :data:`sim.outputs.OUTPUT_KINDS`);
- ``contrast`` (optional): ``{lever: L, a: A, b: B}``, the outcome of level B minus that of
  level A of lever L, paired on the scenario (the hypercube point) and the replication, so
  on common random numbers;
- ``where``: the level of every other lever the design varies (PRIM's inputs are the
  uncertainties; a lever setting is a choice, not a condition to discover);
- ``condition``: ``> x``, ``>= x``, ``< x``, ``<= x``, each optionally after ``abs``
  (``abs > 0.02``: by more than 2 points either way; shares are fractions), or ``missing``
  (a key figure that is not there: for ``months_to_*``, the target not reached within the
  horizon). A month-valued key figure that was not reached counts, in a comparison or a
  contrast, as reached the month after the horizon (a bound, as in the regret table).

One case per (scenario, replication): a replication has its own random numbers (and, where
the design draws them, its own calibrated parameters), so a box's *density* is the share of
the runs in it where the question holds, chance included; *coverage* the share of all runs
where it holds that the box holds; *mass* the share of all runs in it.

PRIM is EMA Workbench's (:mod:`ema_workbench.analysis.prim`, BSD-3); its peeling
trajectory is kept whole and a box chosen from it by a written rule
(:func:`choose_box`), then restrictions that are not significant are dropped
(:data:`MAX_QUASI_P`). The feature scores are EMA Workbench's extra-trees scores
(scikit-learn's ``ExtraTreesClassifier``, seeded). Neither is imported before an analysis
runs (:func:`_ema`): the import takes seconds, warns about an optional package and is not
needed by anything else. Nothing here reads Hydra objects or writes files.
"""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from sim.calendar import month_index, month_label
from sim.errors import ConfigError
from sim.outputs import TABLE_BY_NAME, output_parts
from sim.scenario import design_roles

#: Keys of one question of a ``discovery:`` block (``title_de``, ``contrast`` and ``where``
#: may be left out).
QUESTION_KEYS = ("name", "title", "title_de", "outcome", "contrast", "where", "condition")
#: Keys of a question's ``contrast``.
CONTRAST_KEYS = ("lever", "a", "b")
#: Kinds of outcome a question may ask about (of :data:`sim.outputs.OUTPUT_KINDS`).
OUTCOME_KINDS = ("kpi", "national")
#: Value columns of ``national`` a question may ask about.
NATIONAL_COLUMNS = tuple(c.name for c in TABLE_BY_NAME["national"].values)
#: Prefix of the month-valued key figures (``months_to_90pct_population_coverage``: NaN if
#: the target is not reached within the horizon; :data:`sim.metrics.MONTH_KPI_PREFIX`).
MONTH_KPI_PREFIX = "months_to_"
#: A question's name: it names rows of the tables and may name files.
QUESTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: The condition ``missing``, and the comparisons (``abs >= 0.02``).
MISSING = "missing"
_COMPARISON = re.compile(r"\s*(abs\s+)?(>=|<=|>|<)\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*")
_OPERATORS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}

#: The box chosen on PRIM's peeling trajectory explains at least this share of the cases
#: where the question holds (coverage): a box that misses most of them does not say *when*
#: the question holds (Bryant and Lempert 2010 read boxes of about this coverage and more).
MIN_COVERAGE = 0.5
#: Densities within this many points of the best one count as equal (a few runs of a
#: hundred): among them the box with the fewest restricted inputs, then the highest
#: coverage, is chosen, since a simpler box is easier to act on.
DENSITY_TOLERANCE = 0.02
#: A restriction of the chosen box whose quasi-p value (one-sided binomial test of the
#: density gain it brings, Bryant and Lempert 2010) exceeds this is dropped, largest first:
#: it may be chance.
MAX_QUASI_P = 0.05
#: PRIM's share of the remaining runs peeled off per step, and the smallest box (share of
#: all runs) it may peel to: EMA Workbench's defaults, those of Friedman and Fisher (1999).
PEEL_ALPHA, MASS_MIN = 0.05, 0.05
#: PRIM's ``threshold`` in its binary mode is both what marks a case of interest
#: (``y >= threshold``: any value in (0, 1] marks exactly the cases where the question holds)
#: and the density its final box must reach to be returned instead of an empty "dump" box.
#: The box is chosen here from the whole trajectory (:func:`choose_box`), so PRIM must
#: return it whatever its density: the threshold is the smallest positive value.
PRIM_THRESHOLD = float(np.finfo(float).tiny)
#: Trees of the extra-trees feature scoring: EMA Workbench's documented default (250);
#: more change the scores by less than their printed precision on a few hundred cases.
N_TREES = 250

#: Status of a question's analysis: a box found; PRIM found no restriction that
#: concentrates the cases; the question held in no run / in every run (nothing to discover).
STATUSES = ("box", "no_box", "never", "always")

#: Columns of the tables of :func:`analyse` (the sidecars of the ``discovery`` figures).
BOX_COLUMNS = ("question", "status", "n_cases", "n_holds", "base_rate", "coverage",
               "density", "mass", "n_in_box", "res_dim", "parameter", "lower", "upper",
               "explored_low", "explored_high", "qp_lower", "qp_upper")
TRAJECTORY_COLUMNS = ("question", "id", "coverage", "density", "mass", "n", "k", "res_dim",
                      "chosen")
SCORE_COLUMNS = ("question", "parameter", "score", "rank", "oob_accuracy", "n_cases",
                 "base_rate")


@dataclass(frozen=True)
class Contrast:
    """Outcome of level ``b`` minus that of level ``a`` of ``lever``."""

    lever: str
    a: str
    b: str


@dataclass(frozen=True)
class Question:
    """One question of a ``discovery:`` block (see the module docstring).

    Attributes
    ----------
    outcome : str
        ``kpi:NAME`` or ``national:COLUMN@YYYY-MM``.
    kind, column, month : str
        Its parts (``month`` is ``""`` for a key figure).
    op : str
        ``>``, ``>=``, ``<``, ``<=`` or ``missing``.
    threshold : float
        In the outcome's unit (shares as fractions); NaN for ``missing``.
    absolute : bool
        The comparison is of the absolute value.
    """

    name: str
    title: str
    title_de: str
    outcome: str
    kind: str
    column: str
    month: str
    condition: str
    op: str
    threshold: float
    absolute: bool
    contrast: Contrast | None = None
    where: dict[str, str] = field(default_factory=dict)

    @property
    def months_valued(self) -> bool:
        return self.kind == "kpi" and self.column.startswith(MONTH_KPI_PREFIX)

    def holds(self, value: np.ndarray) -> np.ndarray:
        """Whether the condition holds for each outcome value."""
        value = np.asarray(value, dtype=float)
        if self.op == MISSING:
            return np.isnan(value)
        return np.asarray(_OPERATORS[self.op](np.abs(value) if self.absolute else value,
                                              self.threshold))


# --------------------------------------------------------------------------- the questions


def _text(where: str, raw: Mapping[str, Any], key: str, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}={value!r} is not allowed: a non-empty string")
    return value


def _parse_condition(where: str, text: object) -> tuple[str, float, bool]:
    if text == MISSING:
        return MISSING, float("nan"), False
    match = _COMPARISON.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"{where}.condition={text!r} is not allowed: '> x', '>= x', '< x', "
                          "'<= x' (each optionally after 'abs', e.g. 'abs > 0.02') or "
                          "'missing'")
    return match.group(2), float(match.group(3)), bool(match.group(1))


def _is_level(value: object) -> bool:
    """A lever level: an option name or a number (compared as text with the design's)."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _parse_one(i: int, raw: object) -> Question:
    where = f"discovery[{i}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}={raw!r} is not allowed: a mapping with keys "
                          + ", ".join(QUESTION_KEYS))
    unknown = sorted(str(k) for k in raw if k not in QUESTION_KEYS)
    if unknown:
        raise ConfigError(f"{where}: key {unknown[0]!r} is not allowed: keys are "
                          + ", ".join(QUESTION_KEYS))
    name = raw.get("name")
    if not isinstance(name, str) or not QUESTION_NAME.fullmatch(name):
        raise ConfigError(f"{where}.name={name!r} is not allowed: a lower-case name of "
                          "letters, digits and '_' (at most 40 characters)")
    where = f"discovery.{name}"
    title = _text(where, raw, "title")
    title_de = _text(where, raw, "title_de", required=False) or title
    outcome = raw.get("outcome")
    try:
        kind, column, month = output_parts(str(outcome))
    except ValueError as exc:
        kind, column, month = "", "", str(exc)
    if kind not in OUTCOME_KINDS or outcome is None:
        raise ConfigError(f"{where}.outcome={outcome!r} is not allowed: kpi:NAME or "
                          "national:COLUMN@YYYY-MM")
    if kind == "national":
        if column not in NATIONAL_COLUMNS:
            raise ConfigError(f"{where}.outcome={outcome!r} is not allowed: national: one of "
                              + ", ".join(NATIONAL_COLUMNS))
        month_index(month, f"{where}.outcome")
    op, threshold, absolute = _parse_condition(where, raw.get("condition"))
    contrast = None
    if raw.get("contrast") is not None:
        c = raw["contrast"]
        if not isinstance(c, Mapping) or set(c) != set(CONTRAST_KEYS) or not isinstance(
                c["lever"], str) or not all(_is_level(c[k]) for k in ("a", "b")):
            raise ConfigError(f"{where}.contrast={c!r} is not allowed: a mapping "
                              "{lever: NAME, a: LEVEL, b: LEVEL} (b minus a)")
        if str(c["a"]) == str(c["b"]):
            raise ConfigError(f"{where}.contrast: a={c['a']!r} is not allowed: a level other "
                              "than b")
        contrast = Contrast(c["lever"], str(c["a"]), str(c["b"]))
    if op == MISSING and (contrast is not None or kind != "kpi"):
        raise ConfigError(f"{where}.condition='missing' is not allowed here: only for a "
                          "kpi: outcome without a contrast (a key figure not reached)")
    held = raw.get("where") or {}
    if not isinstance(held, Mapping) or not all(_is_level(v) for v in held.values()):
        raise ConfigError(f"{where}.where={held!r} is not allowed: a mapping lever: level")
    return Question(name, title, title_de, str(outcome), kind, column, month,
                    str(raw.get("condition")), op, threshold, absolute, contrast,
                    {str(k): str(v) for k, v in held.items()})


def parse_questions(raw: object) -> list[Question]:
    """The questions of a ``discovery:`` block, checked in form (keys, names, outcome,
    contrast, condition); :func:`check_questions` checks them against a design.

    Raises
    ------
    ConfigError
        One line naming the question and key and what is allowed.
    """
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"discovery={raw!r} is not allowed: a non-empty list of questions "
                          "(keys " + ", ".join(QUESTION_KEYS) + ")")
    questions = [_parse_one(i, q) for i, q in enumerate(raw)]
    seen: set[str] = set()
    for q in questions:
        if q.name in seen:
            raise ConfigError(f"discovery: name {q.name!r} is not allowed twice")
        seen.add(q.name)
    return questions


def lever_levels(design: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Each lever of a design (:func:`sim.scenario.design_roles`) and its levels, as
    strings in design order."""
    design = design or {}
    levers, _ = design_roles(design)
    out: dict[str, list[str]] = {lever: [] for lever in levers}
    for part in ("grid", "cross"):
        axes = design.get(part)
        if isinstance(axes, Mapping):
            for lever, values in axes.items():
                for v in values if isinstance(values, list) else [values]:
                    if str(v) not in out[str(lever)]:
                        out[str(lever)].append(str(v))
    return out


def check_questions(questions: Sequence[Question], design: Mapping[str, Any] | None,
                    kpi_names: Sequence[str], end: str) -> None:
    """Check questions against an experiment: its design has uncertainties (``lhs``) and
    levers, the contrast and ``where:`` name levers and levels of the design, ``where:``
    holds every lever that varies except the contrast's, the key figure exists
    (``kpi_names``) and the month lies within the horizon (``end``, ``YYYY-MM``).

    Raises
    ------
    ConfigError
        One line naming the question, the key and what is allowed.
    """
    design = design or {}
    if not isinstance(design.get("lhs"), Mapping):
        raise ConfigError("discovery needs a design with lhs (the uncertainties, PRIM's "
                          "inputs), as experiment exploration has")
    levels = lever_levels(design)
    last = month_index(end, "end")
    for q in questions:
        where = f"discovery.{q.name}"
        if q.kind == "kpi" and q.column not in kpi_names:
            raise ConfigError(f"{where}.outcome={q.outcome!r} is not allowed: kpi: one of "
                              + ", ".join(kpi_names))
        if q.kind == "national" and month_index(q.month) > last:
            raise ConfigError(f"{where}.outcome={q.outcome!r} is not allowed: its month lies "
                              f"after end={end}")
        used = {}
        if q.contrast is not None:
            c = q.contrast
            if c.lever not in levels:
                raise ConfigError(f"{where}.contrast.lever={c.lever!r} is not allowed: a "
                                  "lever of the design: " + (", ".join(levels) or "none"))
            for side in (c.a, c.b):
                if side not in levels[c.lever]:
                    raise ConfigError(f"{where}.contrast: {c.lever}={side!r} is not allowed: "
                                      "one of " + ", ".join(levels[c.lever]))
            used[c.lever] = c.a
        for lever, level in q.where.items():
            if lever not in levels or lever in used:
                allowed = [k for k in levels if k not in used]
                raise ConfigError(f"{where}.where.{lever} is not allowed: a lever of the "
                                  "design other than the contrast's: "
                                  + (", ".join(allowed) or "none"))
            if level not in levels[lever]:
                raise ConfigError(f"{where}.where.{lever}={level!r} is not allowed: one of "
                                  + ", ".join(levels[lever]))
        for lever, values in levels.items():
            if len(values) > 1 and lever not in used and lever not in q.where:
                raise ConfigError(f"{where}.where must hold {lever} (the design varies it): "
                                  "one of " + ", ".join(values))


# --------------------------------------------------------------------------- the cases


def question_cases(q: Question, kpis: pd.DataFrame, national: pd.DataFrame | None,
                   uncertainties: Sequence[str], censor_month: float) -> pd.DataFrame:
    """One row per (scenario, replication): the uncertain inputs, ``replication``, the
    outcome ``value`` (the contrast's difference, if any) and whether the question
    ``holds``.

    ``kpis``: the experiment's ``kpis`` table (design columns, one row per run);
    ``national``: its ``national`` table (for a ``national:`` outcome); ``censor_month``:
    the value of a month-valued key figure that was not reached (the horizon's last month
    + 1). Runs without a partner (a failed run) are left out.
    """
    unc = list(uncertainties)
    missing = [k for k in [*unc, *q.where, *([q.contrast.lever] if q.contrast else [])]
               if k not in kpis.columns]
    if missing:
        raise ConfigError(f"discovery.{q.name}: column {missing[0]!r} is not in the kpis "
                          "table: the folder is not an exploration of this design")
    runs = kpis
    for lever, level in q.where.items():
        runs = runs[runs[lever].astype(str) == level]
    if q.kind == "kpi":
        if q.column not in runs.columns:
            raise ConfigError(f"discovery.{q.name}.outcome={q.outcome!r}: not a key figure of "
                              "this folder")
        runs = runs.assign(value=runs[q.column].astype(float))
    else:
        if national is None:
            raise ConfigError(f"discovery.{q.name}: the national table is missing")
        m = month_index(q.month)
        at = national.loc[national["month"] == m, ["point", "replication", q.column]]
        if at.empty:
            last = month_label(int(national["month"].max()))
            raise ConfigError(f"discovery.{q.name}.outcome={q.outcome!r}: the folder has no "
                              f"month {q.month} (it ends {last})")
        runs = runs.merge(at.rename(columns={q.column: "value"}), on=["point", "replication"],
                          how="left", validate="one_to_one")
    if q.months_valued and q.op != MISSING:
        runs = runs.assign(value=runs["value"].fillna(censor_month))
    keys = [*unc, "replication"]
    if q.contrast is not None:
        c = q.contrast
        lev = runs[c.lever].astype(str)
        a = runs.loc[lev == c.a, [*keys, "value"]]
        b = runs.loc[lev == c.b, [*keys, "value"]]
        pair = a.merge(b, on=keys, suffixes=("_a", "_b"), how="inner", validate="one_to_one")
        cases = pair[keys].assign(value=pair["value_b"] - pair["value_a"])
    else:
        cases = runs[[*keys, "value"]]
        if q.op != MISSING:
            cases = cases[cases["value"].notna()]
    cases = cases.astype({k: float for k in unc}).reset_index(drop=True)
    return cases.assign(holds=q.holds(cases["value"].to_numpy()))


# --------------------------------------------------------------------------- the analysis


def _ema(module: str) -> ModuleType:
    """An EMA Workbench analysis module, imported on first use (its package warns that the
    optional ``ipyparallel`` is missing: not needed here), its log kept to warnings.

    Imported here, not at the top, because importing it takes ~1.7 s (seaborn, its
    workbench framework) that every command drawing figures would pay otherwise; only the
    ``discovery`` recipe needs it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = importlib.import_module(f"ema_workbench.analysis.{module}")
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return mod


def choose_box(trajectory: pd.DataFrame) -> int:
    """The row of PRIM's peeling trajectory (``coverage``, ``density``, ``res_dim``) to
    report: the highest density among boxes with coverage of at least
    :data:`MIN_COVERAGE`; densities within :data:`DENSITY_TOLERANCE` of it count as equal,
    and among those the fewest restricted inputs win, then the highest coverage, then the
    earliest box."""
    t = trajectory.reset_index(drop=True)
    ok = t[t["coverage"] >= MIN_COVERAGE - 1e-12]  # never empty: the first box covers all
    best = ok[ok["density"] >= ok["density"].max() - DENSITY_TOLERANCE]
    order = best.assign(_cov=-best["coverage"], _i=best.index).sort_values(
        ["res_dim", "_cov", "_i"])
    return int(order.index[0])


def _restricted(box: Any, i: int) -> list[str]:
    lims, init = box.box_lims[i], box.box_lims[0]
    return [str(k) for k in lims.columns if not np.allclose(lims[k].to_numpy(dtype=float),
                                                           init[k].to_numpy(dtype=float))]


def _qp(box: Any, i: int, name: str) -> tuple[float, float]:
    lo, hi = (box.qp[i].get(name) or [-1.0, -1.0])[:2]
    return (float(lo) if lo >= 0 else np.nan, float(hi) if hi >= 0 else np.nan)


def _significant_box(box: Any, i: int) -> int:
    """Drop the restriction with the largest quasi-p value above :data:`MAX_QUASI_P` from
    box ``i`` (PRIM adds the result to its trajectory), until every one is significant;
    the final box's row."""
    while True:
        worst = max(((np.nanmin(_qp(box, i, k)), k) for k in _restricted(box, i)),
                    default=(0.0, ""))
        if not worst[0] > MAX_QUASI_P:
            return i
        box.drop_restriction(worst[1], i=i)
        i = len(box.peeling_trajectory) - 1


def _first_significant(box: Any) -> int | None:
    """The densest box of the trajectory (coverage at least :data:`MIN_COVERAGE`, ordered
    as :func:`choose_box` orders them) whose every restriction is significant (quasi-p at
    most :data:`MAX_QUASI_P`), or None. A dense box of many small restrictions can have
    none significant on its own, so dropping them one by one (:func:`_significant_box`)
    ends with no box although a box of fewer restrictions earlier on the trajectory holds."""
    t = box.peeling_trajectory.reset_index(drop=True)
    ok = t[t["coverage"] >= MIN_COVERAGE - 1e-12]
    order = ok.assign(_d=-(ok["density"] / DENSITY_TOLERANCE).round(), _c=-ok["coverage"],
                      _i=ok.index).sort_values(["_d", "res_dim", "_c", "_i"])
    for i in order.index:
        restricted = _restricted(box, int(i))
        if restricted and all(not np.nanmin(_qp(box, int(i), k)) > MAX_QUASI_P
                              for k in restricted):
            return int(i)
    return None


def prim_box(x: pd.DataFrame, holds: np.ndarray) -> tuple[pd.DataFrame, int, Any]:
    """PRIM on inputs ``x`` and the cases where the question ``holds``: the peeling
    trajectory (with restrictions dropped by :func:`_significant_box` appended), the row of
    the chosen box and the EMA ``PrimBox``."""
    prim = _ema("prim")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecations inside EMA Workbench
        p = prim.Prim(x.reset_index(drop=True), np.asarray(holds, dtype=int),
                      threshold=PRIM_THRESHOLD, peel_alpha=PEEL_ALPHA, paste_alpha=PEEL_ALPHA,
                      mass_min=MASS_MIN)
        box = p.find_box()
        i = _first_significant(box)
        if i is None:
            i = _significant_box(box, choose_box(box.peeling_trajectory))
    return box.peeling_trajectory.reset_index(drop=True), i, box


def feature_scores(x: pd.DataFrame, holds: np.ndarray, seed: int) -> tuple[pd.Series, float]:
    """Extra-trees feature scores of the inputs for telling the cases where the question
    holds (EMA Workbench's ``get_ex_feature_scores``, :data:`N_TREES` trees, seeded), in
    descending order, and the out-of-bag accuracy of the classifier (how well the inputs
    together tell it; compare with the share of the larger class)."""
    fs = _ema("feature_scoring")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tiny sample leaves some runs out of every bag
        scores, forest = fs.get_ex_feature_scores(
            x.reset_index(drop=True), np.asarray(holds, dtype=int),
            mode=fs.RuleInductionType.CLASSIFICATION, nr_trees=N_TREES, random_state=seed)
    series = scores.iloc[:, 0].astype(float)
    series.index = [str(k) for k in series.index]
    return series, float(forest.oob_score_)


@dataclass
class Discovery:
    """The tables of a discovery analysis (columns :data:`BOX_COLUMNS`,
    :data:`TRAJECTORY_COLUMNS`, :data:`SCORE_COLUMNS`), one block of rows per question."""

    boxes: pd.DataFrame
    trajectories: pd.DataFrame
    scores: pd.DataFrame


def analyse_question(q: Question, cases: pd.DataFrame, uncertainties: Sequence[str],
                     seed: int) -> Discovery:
    """PRIM box, peeling trajectory and feature scores of one question's cases
    (:func:`question_cases`)."""
    unc = list(uncertainties)
    holds = cases["holds"].to_numpy(dtype=bool)
    n, k = len(holds), int(holds.sum())
    base = k / n if n else np.nan
    head = {"question": q.name, "n_cases": n, "n_holds": k, "base_rate": base}
    if k == 0 or k == n:
        status = "never" if k == 0 else "always"
        boxes = pd.DataFrame([{**head, "status": status}], columns=BOX_COLUMNS)
        return Discovery(boxes, pd.DataFrame(columns=TRAJECTORY_COLUMNS),
                         pd.DataFrame(columns=SCORE_COLUMNS))
    x = cases[unc]
    traj, i, box = prim_box(x, holds)
    row = traj.iloc[i]
    restricted = _restricted(box, i)
    stats = {**head, "status": "box" if restricted else "no_box",
             "coverage": float(row["coverage"]), "density": float(row["density"]),
             "mass": float(row["mass"]), "n_in_box": int(row["n"]),
             "res_dim": len(restricted)}
    lims, init = box.box_lims[i], box.box_lims[0]
    rows = [{**stats, "parameter": name, "lower": float(lims[name].iloc[0]),
             "upper": float(lims[name].iloc[1]), "explored_low": float(init[name].iloc[0]),
             "explored_high": float(init[name].iloc[1]),
             **dict(zip(("qp_lower", "qp_upper"), _qp(box, i, name), strict=True))}
            for name in restricted] or [stats]
    trajectories = traj.assign(question=q.name, chosen=traj.index == i)[
        list(TRAJECTORY_COLUMNS)]
    scores, oob = feature_scores(x, holds, seed)
    table = pd.DataFrame({"question": q.name, "parameter": scores.index,
                          "score": scores.to_numpy(), "rank": np.arange(1, len(scores) + 1),
                          "oob_accuracy": oob, "n_cases": n, "base_rate": base})
    return Discovery(pd.DataFrame(rows, columns=BOX_COLUMNS), trajectories,
                     table[list(SCORE_COLUMNS)])


def analyse(questions: Sequence[Question], kpis: pd.DataFrame,
            national: pd.DataFrame | None, uncertainties: Sequence[str], seed: int
            ) -> Discovery:
    """Every question of an exploration: its cases (:func:`question_cases`), PRIM box and
    trajectory, feature scores (:func:`analyse_question`), one table of each for all.
    A month-valued key figure not reached counts as the month after ``national``'s last
    (or ``kpis``' months if there is no ``national``)."""
    if not uncertainties:
        raise ConfigError("discovery needs uncertain inputs: the design's lhs.ranges")
    last = (float(national["month"].max()) if national is not None and len(national)
            else np.nan)
    parts = []
    for q in questions:
        cases = question_cases(q, kpis, national, uncertainties, last + 1)
        if cases.empty:
            raise ConfigError(f"discovery.{q.name}: no run matches its where: and contrast")
        parts.append(analyse_question(q, cases, uncertainties, seed))
    return Discovery(*(pd.concat([getattr(p, f) for p in parts], ignore_index=True)
                       for f in ("boxes", "trajectories", "scores")))


__all__ = ["BOX_COLUMNS", "CONTRAST_KEYS", "DENSITY_TOLERANCE", "MASS_MIN", "MAX_QUASI_P",
           "MIN_COVERAGE", "N_TREES", "PEEL_ALPHA", "QUESTION_KEYS", "SCORE_COLUMNS",
           "STATUSES", "TRAJECTORY_COLUMNS", "Contrast", "Discovery", "Question", "analyse",
           "analyse_question", "check_questions", "choose_box", "feature_scores",
           "lever_levels", "parse_questions", "prim_box", "question_cases"]
