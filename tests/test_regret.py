"""Regret of lever settings across scenarios (``sim.stats.regret_table``) with hand-computed
answers, and the ``regret`` and ``robustness`` recipes end to end on a tiny toy exploration
with two levers (strategy x funding), in both languages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import stats
from sim.cli.experiment import run_experiment
from sim.config import CONF_DIR
from sim.errors import ConfigError
from sim.figures import exploration as exploration_charts
from sim.figures.labels import label_value
from sim.figures.recipes import (
    RECIPES,
    REFERENCE_DEFAULT,
    REGRET_COVERAGE,
    REGRET_MONTHS_KPI,
    _Ctx,
    draw_experiment_figures,
    read_experiment,
)
from sim.scenario import design_roles

SCEN = ["u"]


def _runs(values: dict[tuple[str, float], list[float]]) -> pd.DataFrame:
    """One row per (strategy, scenario u) and replication."""
    return pd.DataFrame([{"strategy": s, "u": u, "replication": r, "y": v}
                         for (s, u), vs in values.items() for r, v in enumerate(vs)])


def test_a_setting_best_everywhere_has_zero_regret_and_ranks_first() -> None:
    runs = _runs({("a", 0.0): [0.9, 0.8], ("b", 0.0): [0.6, 0.6],
                  ("a", 1.0): [0.7, 0.7], ("b", 1.0): [0.5, 0.3]})
    t = stats.regret_table(runs, "y", ["strategy"], SCEN).set_index("strategy")
    assert t.loc["a", "regret_max"] == 0 and t.loc["a", "regret_median"] == 0
    # b: 0.85 - 0.6 = 0.25 at u=0, 0.7 - 0.4 = 0.3 at u=1 (means over replications)
    assert t.loc["b", "regret_max"] == pytest.approx(0.3)
    assert t.loc["b", "regret_median"] == pytest.approx(0.275)
    assert t.loc["b", "outcome_median"] == pytest.approx(0.5)
    assert list(t.index) == ["a", "b"]
    assert t["rank_max_regret"].tolist() == [1, 2] and t["n_scenarios"].tolist() == [2, 2]


def test_best_on_the_median_is_not_the_minimax_choice() -> None:
    # "fast" wins 4 of 5 scenarios by a little, loses one by a lot; "steady" is never far off
    vals: dict[tuple[str, float], list[float]] = {}
    for u in range(4):
        vals[("fast", float(u))], vals[("steady", float(u))] = [0.9], [0.88]
    vals[("fast", 4.0)], vals[("steady", 4.0)] = [0.5], [0.85]
    t = stats.regret_table(_runs(vals), "y", ["strategy"], SCEN).set_index("strategy")
    assert t.loc["fast", "rank_median_regret"] == 1 and t.loc["steady", "rank_median_regret"] == 2
    assert t.loc["steady", "rank_max_regret"] == 1 and t.loc["fast", "rank_max_regret"] == 2
    assert t.loc["fast", "regret_max"] == pytest.approx(0.35)
    assert t.loc["steady", "regret_max"] == pytest.approx(0.02)
    # the outcome's lower tail (linear interpolation over 0.5, 0.9, 0.9, 0.9, 0.9)
    assert t.loc["fast", "outcome_q10"] == pytest.approx(0.66)


def test_lower_is_better_and_censoring_at_the_horizon() -> None:
    # months to a target: b never reaches it in one replication of scenario 1
    runs = _runs({("a", 0.0): [40, 42], ("b", 0.0): [50, 50],
                  ("a", 1.0): [60, 60], ("b", 1.0): [55, np.nan]})
    with pytest.raises(ValueError, match="censor_at"):
        stats.regret_table(runs, "y", ["strategy"], SCEN, higher_is_better=False)
    per = stats.scenario_regret(runs, "y", ["strategy"], SCEN, higher_is_better=False,
                                censor_at=121.0)
    b1 = per[(per["strategy"] == "b") & (per["u"] == 1.0)].iloc[0]
    assert b1["mean"] == pytest.approx(88.0) and b1["n_censored"] == 1
    assert b1["regret"] == pytest.approx(28.0)  # 88 - 60: censored, not dropped
    t = stats.regret_table(runs, "y", ["strategy"], SCEN, higher_is_better=False,
                           censor_at=121.0).set_index("strategy")
    assert t.loc["b", "n_censored_scenarios"] == 1 and t.loc["a", "n_censored_scenarios"] == 0
    assert t.loc["a", "regret_max"] == pytest.approx(0.0)
    assert t.loc["b", "regret_max"] == pytest.approx(28.0)
    assert t.loc["b", "regret_median"] == pytest.approx((9.0 + 28.0) / 2)


def test_lever_settings_are_combinations_and_incomplete_scenarios_are_left_out() -> None:
    rows = [{"strategy": s, "funding": f, "u": u, "y": y}
            for u, ys in ((0.0, (1, 2, 3, 4)), (1.0, (4, 3, 2, 1)))
            for (s, f), y in zip([("a", "x"), ("a", "z"), ("b", "x"), ("b", "z")], ys,
                                 strict=True)]
    rows.append({"strategy": "a", "funding": "x", "u": 2.0, "y": 9.0})  # lacks the others
    t = stats.regret_table(pd.DataFrame(rows), "y", ["strategy", "funding"], SCEN)
    assert len(t) == 4 and (t["n_scenarios"] == 2).all()
    t = t.set_index(["strategy", "funding"])
    assert t.loc[("a", "x"), "regret_max"] == 3 and t.loc[("a", "z"), "regret_max"] == 2
    assert t.loc[("a", "z"), "rank_max_regret"] == t.loc[("b", "x"), "rank_max_regret"] == 1


@pytest.fixture(scope="module")
def exploration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regret")
    spec = yaml.safe_load((CONF_DIR / "experiment" / "exploration.yaml").read_text())
    spec["design"]["lhs"]["n"] = 3
    # a calibrated key (from the posterior) and an assumed one (the hypercube)
    spec["design"]["lhs"]["ranges"] = spec["design"]["lhs"]["ranges"][:2]
    spec["design"]["cross"]["strategy"] = ["efa", "efv", "mixed"]
    assert spec["design"]["cross"]["funding"] == ["konjunkturpaket", "koenigstein"]
    spec["figures"] = ["regret"]
    del spec["discovery"]  # scenario discovery has tests of its own (test_discovery.py)
    (root / "exploration.yaml").write_text(yaml.safe_dump(spec))
    out = run_experiment([str(root / "exploration.yaml"), "world=toy", "replications=2",
                          "workers=1", f"out={root / 'exp'}", f"cache={root / 'cache'}"])
    assert out is not None
    return out


def test_the_recipe_writes_a_ranked_table_and_figures_in_both_languages(
        exploration: Path) -> None:
    figs = exploration / "figures"
    draw_experiment_figures(exploration, "de", ["regret"])
    for stem in ("regret", "regret_de"):
        assert all((figs / f"{stem}.{ext}").is_file() for ext in ("png", "svg", "pdf", "csv"))
        lines = (figs / f"{stem}.csv").read_text().splitlines()
        assert lines[0].startswith("# ") and any("code_version" in ln for ln in lines)
    t = pd.read_csv(figs / "regret.csv", comment="#")
    assert list(dict.fromkeys(t["outcome"])) == [REGRET_COVERAGE, REGRET_MONTHS_KPI]
    horizon = pd.read_parquet(exploration / "national")["month"].max() + 1
    levers = ["strategy", "funding"]  # every combination of the two levers is ranked
    for _, sub in t.groupby("outcome"):
        assert sorted(map(tuple, sub[levers].to_numpy())) == [
            (s, f) for s in ("efa", "efv", "mixed") for f in ("koenigstein", "konjunkturpaket")]
        assert (sub["n_scenarios"] == 3).all()
        assert sub["rank_max_regret"].is_monotonic_increasing
        assert sub["regret_max"].min() >= 0 and (sub["regret_median"] <= sub["regret_max"]).all()
    months = t[t["outcome"] == REGRET_MONTHS_KPI]
    assert (months["censored_at"] == horizon).all()
    # the table matches the statistics recomputed from the saved runs
    kp = pd.read_parquet(exploration / "kpis.parquet")
    scen = [c for c in kp.columns if "." in c]
    assert len(scen) == 2
    again = stats.regret_table(kp, REGRET_MONTHS_KPI, levers, scen,
                               higher_is_better=False, censor_at=float(horizon))
    assert np.allclose(again["regret_max"], months["regret_max"], rtol=1e-5)
    # German and English sidecars hold the same numbers side by side
    en = pd.read_csv(figs / "regret.csv", comment="#")
    de = pd.read_csv(figs / "regret_de.csv", comment="#")
    pd.testing.assert_frame_equal(en, de)


def test_the_recipe_refuses_a_design_without_a_hypercube(exploration: Path,
                                                        tmp_path: Path) -> None:
    manifest, tables = read_experiment(exploration)
    manifest["design"] = {"cross": manifest["design"]["cross"]}
    ctx = _Ctx(exploration, tmp_path, tables, {}, "en", dict(REFERENCE_DEFAULT), manifest)
    with pytest.raises(ConfigError, match=r"regret needs a design with lhs\.ranges"):
        RECIPES["regret"](ctx)
    assert not any(tmp_path.iterdir())


def test_the_manifest_names_every_hypercube_key_and_the_posterior(exploration: Path) -> None:
    manifest, _tables = read_experiment(exploration)
    lhs = manifest["design"]["lhs"]
    assert lhs["posterior"] == "historical" and isinstance(lhs["ranges"], dict)
    levers, uncertain = design_roles(manifest["design"])
    assert sorted(levers) == ["funding", "strategy"] and uncertain == list(lhs["ranges"])
    assert len(uncertain) == 2


def test_robustness_pairs_within_each_funding_rule(exploration: Path) -> None:
    figs = exploration / "figures"
    draw_experiment_figures(exploration, "en", ["robustness"])
    draw_experiment_figures(exploration, "de", ["robustness"])
    for stem in ("robustness", "robustness_de"):
        assert all((figs / f"{stem}.{ext}").is_file() for ext in ("png", "pdf", "csv"))
    diffs = pd.read_csv(figs / "robustness_differences.csv", comment="#")
    kp = pd.read_parquet(exploration / "kpis.parquet")
    manifest, _ = read_experiment(exploration)
    scen = list(manifest["design"]["lhs"]["ranges"])
    # one row per funding rule, hypercube point and strategy other than the reference
    assert len(diffs) == 2 * 3 * 2 and set(diffs["strategy"]) == {"efv", "mixed"}
    # recomputed by hand: paired on funding, point values and replication
    value = "population_coverage_2022_12"
    for _, row in diffs.iterrows():
        same = (kp["funding"] == row["funding"]) & np.all(
            [np.isclose(kp[k], row[k]) for k in scen], axis=0)
        mine = kp[same & (kp["strategy"] == row["strategy"])].set_index("replication")[value]
        ref = kp[same & (kp["strategy"] == "efa")].set_index("replication")[value]
        assert row["mean_diff"] == pytest.approx((mine - ref).mean(), rel=1e-5, abs=1e-9)


def test_the_regret_note_names_the_robust_and_the_median_choice(exploration: Path) -> None:
    figs = exploration / "figures"
    draw_experiment_figures(exploration, "en", ["regret"])
    t = pd.read_csv(figs / "regret.csv", comment="#")
    sentence = exploration_charts.choice_sentence(t, REGRET_COVERAGE, ["strategy", "funding"],
                                                  "en")
    cov = t[t["outcome"] == REGRET_COVERAGE]
    first = cov[cov["rank_max_regret"] == 1]
    tied = max(len(first), int((cov["rank_median_regret"] == 1).sum()))
    assert sentence.startswith("For coverage, ")
    if tied > exploration_charts.TIED_NAMED:  # many settings tie: counted, not named
        assert f"{len(first)} of the {len(cov)} tie" in sentence
    else:
        assert "robust choice" in sentence
        assert label_value("strategy", first.iloc[0]["strategy"], "en", short=True) in sentence


def test_a_sentence_counts_the_choices_that_tie() -> None:
    rows = [{"outcome": REGRET_COVERAGE, "strategy": s, "funding": "none",
             "rank_max_regret": 1, "rank_median_regret": 1 if s != "mixed" else 5}
            for s in ("efa", "efv", "einzel", "mixed", "x")]
    sentence = exploration_charts.choice_sentence(pd.DataFrame(rows), REGRET_COVERAGE,
                                                  ["strategy", "funding"], "en")
    assert "5 of the 5 tie for the least maximum regret, 4 for the best median" in sentence
