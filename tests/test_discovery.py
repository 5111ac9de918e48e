"""Scenario discovery (``sim.discovery``): PRIM finds a planted box and leaves the other
inputs alone, the feature scores rank the planted inputs first, the box is chosen by the
written rule, a question that never or always holds says so, questions are checked before
any run, and the ``discovery`` recipe runs end to end on a toy exploration in both
languages and is redrawn by ``ozg-sim-figures``."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.text import Text

from sim import discovery
from sim.cli.experiment import run_experiment
from sim.cli.figures import redraw
from sim.errors import ConfigError
from sim.figures import discovery as charts
from sim.figures.recipes import draw_experiment_figures, read_experiment
from sim.figures.style import MIN_PRINTED_PT, printed_pt

#: The planted box: the question holds where a > 6 and b < 0.4 (of a in [0, 10], b in
#: [0, 1]), with 5 % of the answers flipped at random; c and d are noise.
PLANT_A, PLANT_B, FLIP = 6.0, 0.4, 0.05
INPUTS = ["a", "b", "c", "d", "e", "f"]


def _planted(n: int = 500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.uniform(0, 10, n), "b": rng.uniform(0, 1, n),
                      **{k: rng.uniform(0, 1, n) for k in INPUTS[2:]}})
    inside = ((x["a"] > PLANT_A) & (x["b"] < PLANT_B)).to_numpy()
    holds = np.where(rng.uniform(size=n) < FLIP, ~inside, inside)
    return x.assign(replication=0, value=holds.astype(float), holds=holds)


def _question(**over: object) -> discovery.Question:
    raw = {"name": "q", "title": "Q?", "outcome": "kpi:y", "condition": "> 0.5", **over}
    return discovery.parse_questions([raw])[0]


@pytest.fixture(scope="module")
def planted() -> discovery.Discovery:
    return discovery.analyse_question(_question(), _planted(), INPUTS, seed=1)


def test_prim_recovers_a_planted_box_and_leaves_the_other_inputs_alone(planted) -> None:
    box = planted.boxes.set_index("parameter")
    assert (planted.boxes["status"] == "box").all()
    assert sorted(box.index) == ["a", "b"]
    # the limits of the box within 10 % of the explored range of the planted ones
    assert box.loc["a", "lower"] == pytest.approx(PLANT_A, abs=1.0)
    assert box.loc["a", "upper"] == box.loc["a", "explored_high"]
    assert box.loc["b", "upper"] == pytest.approx(PLANT_B, abs=0.1)
    assert box.loc["b", "lower"] == box.loc["b", "explored_low"]
    assert (box["density"] > 0.85).all() and (box["coverage"] >= discovery.MIN_COVERAGE).all()
    # both restrictions significant; the unrestricted side has no quasi-p value
    assert box.loc["a", "qp_lower"] < discovery.MAX_QUASI_P and np.isnan(box.loc["a", "qp_upper"])
    assert box.loc["b", "qp_upper"] < discovery.MAX_QUASI_P
    # the chosen box is one row of the trajectory, and its statistics are the table's
    t = planted.trajectories
    assert t["chosen"].sum() == 1
    chosen = t[t["chosen"]].iloc[0]
    assert chosen["density"] == pytest.approx(box["density"].iloc[0])
    assert chosen["res_dim"] == 2


def test_feature_scores_rank_the_planted_inputs_first(planted) -> None:
    s = planted.scores
    assert set(s["parameter"].iloc[:2]) == {"a", "b"}
    assert s["rank"].tolist() == list(range(1, len(INPUTS) + 1))
    assert s["score"].sum() == pytest.approx(1.0)
    assert s["oob_accuracy"].iloc[0] > 0.85


def test_the_analysis_is_deterministic_and_quiet(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        one = discovery.analyse_question(_question(), _planted(200, 5), INPUTS, seed=7)
    two = discovery.analyse_question(_question(), _planted(200, 5), INPUTS, seed=7)
    for f in ("boxes", "trajectories", "scores"):
        pd.testing.assert_frame_equal(getattr(one, f), getattr(two, f))
    assert not caught, [str(w.message) for w in caught]
    assert not [r for r in caplog.records if r.name.startswith("EMA")]


def test_importing_the_recipes_does_not_import_ema_workbench() -> None:
    code = ("import sys, sim.figures.recipes, sim.discovery\n"
            "print(any(m.startswith('ema_workbench') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False" and "ipyparallel" not in out.stderr


@pytest.mark.parametrize("holds, status", [(False, "never"), (True, "always")])
def test_a_question_that_never_or_always_holds_says_so(holds: bool, status: str) -> None:
    cases = _planted(50).assign(holds=holds)
    d = discovery.analyse_question(_question(), cases, INPUTS, seed=1)
    assert d.boxes["status"].tolist() == [status]
    assert d.boxes["n_holds"].iloc[0] == (50 if holds else 0)
    assert d.trajectories.empty and d.scores.empty
    for lang in ("en", "de"):  # the charts say it instead of a box
        titles = {"q": "Q?"}
        fig, _ = charts.boxes_figure(d.boxes, titles, lang, "t", 2)
        words = " ".join(t.get_text() for t in fig.findobj(Text))
        assert "50" in words
        assert ("none" in words or "keinem" in words) if not holds else (
            "all" in words or "allen" in words)


def test_the_box_is_chosen_by_density_then_fewest_restrictions() -> None:
    t = pd.DataFrame({"coverage": [1.0, 0.9, 0.8, 0.7, 0.4],
                      "density": [0.2, 0.5, 0.80, 0.81, 0.99],
                      "res_dim": [0, 1, 2, 3, 3]})
    # 0.99 lacks coverage; 0.80 and 0.81 tie within the tolerance: fewer restrictions win
    assert discovery.choose_box(t) == 2
    t.loc[2, "density"] = 0.7
    assert discovery.choose_box(t) == 3


def _kpis() -> pd.DataFrame:
    """Two scenarios (u) x two replications x strategies efa, efv under one funding."""
    rows = []
    for point, (u, s) in enumerate([(0.1, "efa"), (0.1, "efv"), (0.9, "efa"), (0.9, "efv")]):
        for r in range(2):
            months = {(0.1, "efa"): 30.0, (0.1, "efv"): 40.0, (0.9, "efa"): np.nan,
                      (0.9, "efv"): 50.0}[(u, s)]
            rows.append({"point": point, "replication": r, "strategy": s,
                         "funding": "konjunkturpaket", "u": u,
                         "months_to_90pct_population_coverage": months + r})
    return pd.DataFrame(rows)


def test_a_contrast_is_paired_on_scenario_and_replication_and_censored() -> None:
    q = _question(outcome="kpi:months_to_90pct_population_coverage",
                  contrast={"lever": "strategy", "a": "efa", "b": "efv"}, condition="< 0")
    c = discovery.question_cases(q, _kpis(), None, ["u"], censor_month=156.0)
    assert len(c) == 4
    c = c.set_index(["u", "replication"])
    assert c.loc[(0.1, 0), "value"] == 10.0 and not c.loc[(0.1, 0), "holds"]
    # efa never reaches 90 % at u = 0.9: it counts at the month after the horizon
    assert c.loc[(0.9, 1), "value"] == pytest.approx(51.0 - 156.0) and c.loc[(0.9, 1), "holds"]
    miss = discovery.question_cases(
        _question(outcome="kpi:months_to_90pct_population_coverage", condition="missing",
                  where={"strategy": "efa"}), _kpis(), None, ["u"], censor_month=156.0)
    assert miss["holds"].tolist() == [False, False, True, True]


DESIGN = {"lhs": {"n": 4, "ranges": {"u": [0, 1]}},
          "cross": {"strategy": ["efa", "efv"], "funding": ["konjunkturpaket", "none"]}}
KPIS = ["months_to_90pct_population_coverage", "population_coverage_2022_12"]


@pytest.mark.parametrize("over, match", [
    ({"name": "Bad Name"}, r"discovery\[0\]\.name='Bad Name' is not allowed"),
    ({"colour": "red"}, r"key 'colour' is not allowed: keys are name, title"),
    ({"title": ""}, r"discovery\.q\.title='' is not allowed: a non-empty string"),
    ({"outcome": "observable:x@2022-01"}, r"outcome='observable:x@2022-01' is not allowed: "
                                          r"kpi:NAME or national:COLUMN@YYYY-MM"),
    ({"outcome": "national:coverage@2026-12"}, r"national: one of online_anywhere"),
    ({"outcome": "national:population_coverage@2026-13"}, r"is not a month"),
    ({"condition": "bigger 3"}, r"condition='bigger 3' is not allowed: '> x'"),
    ({"condition": "missing", "outcome": "national:nationwide@2026-12"},
     r"condition='missing' is not allowed here"),
    ({"contrast": {"lever": "strategy", "a": "efa"}}, r"contrast=.* is not allowed: a mapping"),
    ({"contrast": {"lever": "strategy", "a": "efa", "b": "efa"}}, r"a level other than b"),
    ({"where": ["efa"]}, r"where=\['efa'\] is not allowed: a mapping lever: level"),
])
def test_a_malformed_question_is_named_in_one_line(over: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        _question(**over)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("over, match", [
    ({"outcome": "kpi:nope"}, r"outcome='kpi:nope' is not allowed: kpi: one of months_to_90"),
    ({"outcome": "national:nationwide@2031-01"}, r"its month lies after end=2030-12"),
    ({"contrast": {"lever": "staffing", "a": "x", "b": "y"}},
     r"contrast.lever='staffing' is not allowed: a lever of the design: strategy, funding"),
    ({"contrast": {"lever": "strategy", "a": "efa", "b": "einzel"}},
     r"contrast: strategy='einzel' is not allowed: one of efa, efv"),
    ({"where": {"strategy": "efa"}}, r"where must hold funding \(the design varies it\)"),
    ({"where": {"strategy": "efa", "funding": "need"}},
     r"where.funding='need' is not allowed: one of konjunkturpaket, none"),
    ({"contrast": {"lever": "strategy", "a": "efa", "b": "efv"},
      "where": {"strategy": "efa", "funding": "none"}},
     r"where.strategy is not allowed: a lever of the design other than the contrast's"),
])
def test_a_question_that_does_not_fit_the_design_is_named(over: dict, match: str) -> None:
    q = _question(**{"outcome": "kpi:population_coverage_2022_12",
                     "where": {"strategy": "efa", "funding": "none"}, **over})
    with pytest.raises(ConfigError, match=match):
        discovery.check_questions([q], DESIGN, KPIS, "2030-12")


def test_a_numeric_lever_level_is_matched_as_the_design_writes_it() -> None:
    design = {"lhs": {"n": 4, "ranges": {"u": [0, 1]}},
              "cross": {"staffing.dev_fte_factor": [1.0, 1.5]}}
    q = _question(outcome="kpi:population_coverage_2022_12",
                  contrast={"lever": "staffing.dev_fte_factor", "a": 1.0, "b": 1.5})
    discovery.check_questions([q], design, KPIS, "2030-12")
    kp = pd.DataFrame([{"point": p, "replication": 0, "u": 0.5,
                        "staffing.dev_fte_factor": f, "population_coverage_2022_12": v}
                       for p, (f, v) in enumerate([(1.0, 0.5), (1.5, 0.75)])])
    c = discovery.question_cases(q, kp, None, ["u"], 156.0)
    assert c["value"].tolist() == [0.25] and c["holds"].tolist() == [False]
    with pytest.raises(ConfigError, match=r"where=\{'strategy': True\} is not allowed"):
        _question(where={"strategy": True})


def test_questions_need_an_exploration_and_distinct_names() -> None:
    with pytest.raises(ConfigError, match="needs a design with lhs"):
        discovery.check_questions([_question()], {"grid": {"strategy": ["efa"]}}, KPIS,
                                  "2030-12")
    with pytest.raises(ConfigError, match="name 'q' is not allowed twice"):
        discovery.parse_questions([{"name": "q", "title": "Q", "outcome": "kpi:y",
                                    "condition": "> 0"}] * 2)
    with pytest.raises(ConfigError, match="a non-empty list of questions"):
        discovery.parse_questions({"name": "q"})


def test_the_charts_print_at_least_7_pt_in_both_languages(planted) -> None:
    settings = {"min_coverage": discovery.MIN_COVERAGE,
                "density_tolerance": discovery.DENSITY_TOLERANCE,
                "max_quasi_p": discovery.MAX_QUASI_P}
    never = discovery.analyse_question(_question(name="n"), _planted(40).assign(holds=False),
                                       INPUTS, seed=1)
    boxes = pd.concat([planted.boxes, never.boxes], ignore_index=True)
    titles = {"q": "When does the planted box hold? A long title that wraps", "n": "Never?"}
    for lang in ("en", "de"):
        figs = [charts.trajectory_figure(planted.trajectories, boxes, titles, lang, "T",
                                         settings, 2)[0],
                charts.boxes_figure(boxes, titles, lang, "B", 2)[0],
                charts.scores_figure(planted.scores, boxes, titles, INPUTS, lang, "S",
                                     discovery.N_TREES)[0]]
        for fig in figs:
            fig.draw_without_rendering()
            sizes = [printed_pt(float(t.get_fontsize()), float(fig.get_figwidth()))
                     for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
            assert sizes and min(sizes) >= MIN_PRINTED_PT - 1e-9


# ------------------------------------------------------------------------- end to end

#: A toy exploration: 8 scenarios of 3 uncertain inputs x EfA and EfV, 2 replications.
TOY_SPEC: dict[str, Any] = {
    "name": "discovery_toy", "title": "Toy exploration", "replications": 2, "seed": 1,
    "base": ["funding=konjunkturpaket"],
    "design": {"lhs": {"n": 8, "ranges": {
        "development.effort_person_days": [500, 1500],
        "sharing.efa.propensity": [0.6, 1.0],
        "municipal.onboarding_effort_person_days": [1.5, 6.0]}},
        "cross": {"strategy": ["efa", "efv"]}},
    "figures": ["discovery"],
    "discovery": [
        {"name": "late_half", "title": "When is half the population covered late under EfA?",
         "title_de": "Wann ist unter EfA die Hälfte der Bevölkerung spät abgedeckt?",
         "outcome": "kpi:months_to_50pct_population_coverage", "where": {"strategy": "efa"},
         "condition": "> 25"},
        {"name": "efv_ahead", "title": "When is EfV ahead of EfA at 2022-12?",
         "outcome": "national:population_coverage@2022-12",
         "contrast": {"lever": "strategy", "a": "efa", "b": "efv"}, "condition": "> 0"},
        {"name": "never_half", "title": "When is 50 % never reached under EfA?",
         "outcome": "kpi:months_to_50pct_population_coverage", "where": {"strategy": "efa"},
         "condition": "missing"},
    ],
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("discovery")
    (root / "spec.yaml").write_text(yaml.safe_dump(TOY_SPEC, allow_unicode=True))
    out = run_experiment([str(root / "spec.yaml"), "world=toy", "workers=1",
                          f"out={root / 'exp'}", f"cache={root / 'cache'}"])
    assert out is not None
    return out


def test_the_recipe_writes_figures_and_tables_and_redraws_in_german(toy: Path) -> None:
    figs = toy / "figures"
    stems = ("discovery_trajectory", "discovery_boxes", "discovery_scores")
    for stem in stems:
        assert all((figs / f"{stem}.{ext}").is_file() for ext in ("png", "svg", "pdf", "csv"))
    boxes = pd.read_csv(figs / "discovery_boxes.csv", comment="#")
    status = boxes.drop_duplicates("question").set_index("question")["status"]
    assert status["never_half"] == "never"
    assert status["late_half"] == "box"  # effort drives the months to 50 % in the toy
    late = boxes[boxes["question"] == "late_half"]
    assert "development.effort_person_days" in set(late["parameter"])
    assert (late["n_cases"] == 16).all()  # 8 scenarios x 2 replications
    scores = pd.read_csv(figs / "discovery_scores.csv", comment="#")
    top = scores[scores["question"] == "late_half"].iloc[0]
    assert top["parameter"] == "development.effort_person_days"
    before = {s: pd.read_csv(figs / f"{s}.csv", comment="#") for s in stems}
    written = redraw(toy, "de")
    assert {f"{s}_de.png" for s in stems} <= set(written)
    for s in stems:  # the same numbers, redrawn from the saved tables, in either language
        assert (figs / f"{s}.png").is_file()
        pd.testing.assert_frame_equal(before[s], pd.read_csv(figs / f"{s}_de.csv",
                                                             comment="#"))


def test_the_recipe_refuses_an_experiment_without_questions(toy: Path, tmp_path: Path) -> None:
    manifest, _ = read_experiment(toy)
    assert manifest["discovery"] == TOY_SPEC["discovery"]
    copy = tmp_path / "exp"
    shutil.copytree(toy, copy)
    del manifest["discovery"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="figures: discovery needs questions: a discovery: "
                                          "block in the experiment file"):
        draw_experiment_figures(copy, "en", ["discovery"], out=tmp_path / "figs")


def test_a_bad_question_stops_the_command_before_any_run(tmp_path: Path) -> None:
    spec = {**TOY_SPEC, "discovery": [{**TOY_SPEC["discovery"][0],
                                       "where": {"strategy": "einzel"}}]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    r = subprocess.run([sys.executable, "-m", "sim.cli.experiment", str(tmp_path / "spec.yaml"),
                        "world=toy", "workers=1", f"out={tmp_path / 'out'}", "--no-cache"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "discovery.late_half.where.strategy='einzel' is not allowed: " \
        "one of efa, efv" in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.parquet"))


class _FakeBox:
    """A PRIM box with a made-up trajectory, limits and quasi-p values."""

    def __init__(self) -> None:
        self.peeling_trajectory = pd.DataFrame({
            "coverage": [1.0, 0.9, 0.7, 0.4], "density": [0.5, 0.7, 0.95, 1.0],
            "res_dim": [0, 1, 3, 4]})
        full = pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0], "c": [0.0, 1.0],
                             "d": [0.0, 1.0]})
        cut = [[], ["a"], ["a", "b", "c"], ["a", "b", "c", "d"]]
        self.box_lims = [full.assign(**{k: [0.5, 1.0] for k in ks}) for ks in cut]
        self.qp = [{}, {"a": [0.001, -1]},
                   {"a": [0.001, -1], "b": [0.2, -1], "c": [0.01, -1]},
                   {k: [0.001, -1] for k in "abcd"}]


def test_the_densest_box_whose_restrictions_are_all_significant_is_reported() -> None:
    # box 3 is densest but covers too little; box 2 has an insignificant restriction (b);
    # box 1 is the densest with coverage >= MIN_COVERAGE whose restrictions all hold.
    assert discovery._first_significant(_FakeBox()) == 1
    none = _FakeBox()
    none.qp[1] = {"a": [0.3, -1]}
    none.qp[2]["b"] = [0.3, -1]
    assert discovery._first_significant(none) is None
