"""The statistics layer against theory and hand-computed values.

Hand examples give exact numbers (t quantiles and binomial tails written out below);
simulated normal samples check the coverage of the intervals; tables with a strong shared
component check that pairing on common random numbers narrows the interval; Hypothesis checks
properties that hold for any data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.bands import band_table, quantiles
from sim.metrics import kpis_for_replication
from sim.stats import (
    design_columns,
    first_passage,
    median_ci_ranks,
    paired_difference,
    prob_first,
    replication_sufficiency,
    replications_needed,
    summarise,
)

T975_9 = 2.2621571627982  # t quantile 0.975, 9 degrees of freedom
T975_2 = 4.3026527297494  # t quantile 0.975, 2 degrees of freedom


def sweep_table(n_rep: int = 30, months: int = 3, shared_sd: float = 10.0,
                noise_sd: float = 0.1, effect: float = 1.0, seed: int = 1) -> pd.DataFrame:
    """A ``national``-like table: strategy efa/einzel x funding f1/f2, one point per cell.

    ``value = shared[replication, funding, month] + effect·[strategy == efa] + noise``: the
    shared part stands for the common random numbers.
    """
    rng = np.random.default_rng(seed)
    shared = rng.normal(50.0, shared_sd, size=(n_rep, 2, months))
    rows = []
    for point, (strategy, fi) in enumerate([("efa", 0), ("efa", 1), ("einzel", 0), ("einzel", 1)]):
        for rep in range(n_rep):
            for m in range(months):
                v = shared[rep, fi, m] + (effect if strategy == "efa" else 0.0)
                rows.append({"point": point, "replication": rep, "strategy": strategy,
                             "funding": f"f{fi + 1}", "staffing.dev_fte_factor": 1.0,
                             "month": m,
                             "date": pd.Timestamp(2018, m + 1, 1) + pd.offsets.MonthEnd(),
                             "value": v + rng.normal(0.0, noise_sd), "n_services": 557})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- bands


def test_quantiles_rank_runs_that_did_not_reach_it_last() -> None:
    # 1, 2, 3 and a run that never reached the target: rank 1 + 3q (linear).
    q05, q50, q95 = quantiles(np.array([3.0, np.nan, 1.0, 2.0]), [0.05, 0.5, 0.95])
    assert q05 == pytest.approx(1.15) and q50 == pytest.approx(2.5)  # ranks 1.15 and 2.5
    assert np.isnan(q95)  # rank 3.85 interpolates towards the late run
    # q = 2/3 lands exactly on rank 3 (the last reached run): no weight on the late one
    assert quantiles(np.array([1.0, 2.0, 3.0, np.inf]), [2 / 3])[0] == pytest.approx(3.0)
    # nothing reached: nothing to report
    assert np.isnan(quantiles(np.full(3, np.nan), [0.0, 0.5, 1.0])).all()


def test_band_table_is_numpy_per_group_with_counts() -> None:
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"s": np.repeat(["b", "a", "c"], [7, 7, 4]), "v": rng.random(18)})
    df.loc[15, "v"] = np.nan  # group c: 3 of 4 reached
    out = band_table(df, ["s"], "v", (0.05, 0.25, 0.95))
    assert list(out.columns) == ["s", "n_replications", "n_reached", "median", "q05", "q25", "q95"]
    assert list(out["s"]) == ["a", "b", "c"]  # sorted as groupby
    for _, row in out.iterrows():
        v = df.loc[df["s"] == row["s"], "v"].to_numpy()
        if row["s"] != "c":
            assert row["median"] == np.median(v)  # exactly numpy's definitions
            assert [row["q05"], row["q25"], row["q95"]] == list(np.quantile(v, [.05, .25, .95]))
    c = out.set_index("s").loc["c"]
    assert (c["n_replications"], c["n_reached"]) == (4, 3)
    assert np.isnan(c["q95"]) and np.isfinite(c["median"])
    overall = band_table(df, [], "v")
    assert len(overall) == 1 and overall["n_replications"].iloc[0] == 18


# --------------------------------------------------------------------------- summarise


def test_summarise_hand_example() -> None:
    values = [7.0, 3.0, np.nan, 10.0, 1.0, 5.0, 9.0, 2.0, 8.0, 4.0, 6.0]
    out = summarise(pd.DataFrame({"g": "x", "v": values}), ["g"], "v")
    r = out.iloc[0]
    assert (r["g"], r["n"], r["n_missing"]) == ("x", 10, 1)
    sd = math.sqrt(sum((k - 5.5) ** 2 for k in range(1, 11)) / 9)
    assert r["sd"] == pytest.approx(sd)
    assert r["mean"] == 5.5
    assert r["mean_lo"] == pytest.approx(5.5 - T975_9 * sd / math.sqrt(10))
    assert r["mean_hi"] == pytest.approx(5.5 + T975_9 * sd / math.sqrt(10))
    # Ranks count the run that did not reach it as the latest of 11: 1, ..., 10, (not reached).
    # n = 11: P(B <= 1) = 12/2048, 2·12/2048 = 0.012 <= 0.05 < 2·67/2048: ranks 2 and 10.
    assert (r["median"], r["median_lo"], r["median_hi"]) == (6.0, 2.0, 10.0)
    # Linear quantiles of 11 runs: rank 1 + 10q; q95 falls between 10 and the late run.
    assert [r["q05"], r["q25"], r["q75"]] == pytest.approx([1.5, 3.5, 8.5])
    assert np.isnan(r["q95"])
    finite = summarise(pd.DataFrame({"g": "x", "v": values[:2] + values[3:]}), ["g"], "v")
    # n = 10, all reached: ranks 2 and 9; quantiles 1 + 9q.
    f = finite.iloc[0]
    assert (f["median"], f["median_lo"], f["median_hi"]) == (5.5, 2.0, 9.0)
    assert [f["q05"], f["q25"], f["q75"], f["q95"]] == pytest.approx([1.45, 3.25, 7.75, 9.55])


def test_summarise_groups_small_and_empty() -> None:
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 6 + ["c"] * 2,
                       "v": [1, 2, 3, 4, 5, 6, 1, 5, 2, 4, 3, np.nan, np.nan]})
    out = summarise(df, ["g"], "v").set_index("g")
    assert list(out.index) == ["a", "b", "c"]
    assert np.isnan(out.loc["a", "median_lo"])  # n = 5: even [min, max] covers only 93.75 %
    assert (out.loc["b", "median_lo"], out.loc["b", "median_hi"]) == (1.0, 6.0)  # 96.9 %
    assert out.loc["c", "n"] == 0 and out.loc["c", "n_missing"] == 2
    assert np.isnan(out.loc["c", ["mean", "mean_lo", "median", "sd", "q95"]].astype(float)).all()
    overall = summarise(df, [], "v")
    assert len(overall) == 1 and overall["n"].iloc[0] == 11


def test_median_ci_ranks_are_the_tightest_conservative_ones() -> None:
    from scipy.stats import binom
    for n in range(6, 80):
        lo, hi = median_ci_ranks(n, 0.95)
        assert hi == n + 1 - lo
        assert 1 - 2 * binom.cdf(lo - 1, n, 0.5) >= 0.95
        assert 1 - 2 * binom.cdf(lo, n, 0.5) < 0.95  # one rank tighter would be too short
    assert median_ci_ranks(5, 0.95) is None
    # n = 10 at 90 %: 2·P(B <= 1) = 0.021 <= 0.10 < 2·P(B <= 2) = 0.109, so still ranks 2, 9.
    assert median_ci_ranks(10, 0.9) == (2, 9)
    assert median_ci_ranks(10, 0.8) == (3, 8)  # 0.109 <= 0.20 < 2·P(B <= 3) = 0.344


def test_interval_coverage_on_normal_samples() -> None:
    """Over 2,000 samples of 10 from N(3, 2²) the 95 % t-interval covers 3 about 95 % of the
    time and the median interval (ranks 2, 9) exactly 1 − 2·11/1024 = 97.85 %."""
    rng = np.random.default_rng(20240601)
    n_sim, n = 2000, 10
    df = pd.DataFrame({"sample": np.repeat(np.arange(n_sim), n),
                       "x": rng.normal(3.0, 2.0, n_sim * n)})
    out = summarise(df, ["sample"], "x")
    t_cover = ((out["mean_lo"] <= 3.0) & (3.0 <= out["mean_hi"])).mean()
    m_cover = ((out["median_lo"] <= 3.0) & (3.0 <= out["median_hi"])).mean()
    assert abs(t_cover - 0.95) < 0.02
    assert abs(m_cover - (1 - 2 * 11 / 1024)) < 0.015


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=40))
def test_summarise_orders_its_statistics(xs: list[float]) -> None:
    r = summarise(pd.DataFrame({"v": xs}), [], "v").iloc[0]
    assert r["mean_lo"] <= r["mean"] <= r["mean_hi"]
    assert r["q05"] <= r["q25"] <= r["median"] <= r["q75"] <= r["q95"]
    if len(xs) >= 6:
        assert min(xs) <= r["median_lo"] <= r["median"] <= r["median_hi"] <= max(xs)


def test_level_is_checked() -> None:
    with pytest.raises(ValueError, match=r"level\(=1.5\) must be in \(0, 1\)"):
        summarise(pd.DataFrame({"v": [1.0, 2.0]}), [], "v", level=1.5)
    with pytest.raises(ValueError, match="not in the table"):
        summarise(pd.DataFrame({"v": [1.0, 2.0]}), ["strategy"], "v")


# --------------------------------------------------------------------------- pairing


def test_design_columns() -> None:
    df = sweep_table(n_rep=3, months=2).assign(foo=lambda d: d["value"] * 2,
                                               population_coverage_2022_12=0.5,
                                               months_to_90pct_population_coverage=30.0,
                                               budget_eur_konjunkturpaket=3e9)
    df["strategy.efa_share"] = 0.5  # a dotted config key is a design column, whatever its name
    design = ["strategy", "funding", "staffing.dev_fte_factor", "strategy.efa_share"]
    assert design_columns(df) == design
    assert design_columns(df, exclude=["strategy"]) == design[1:]


def test_paired_difference_hand_example_matches_scipy() -> None:
    from scipy import stats
    a, b = [3.0, 5.0, 7.0], [1.0, 4.0, 4.0]
    df = pd.DataFrame({"replication": [0, 1, 2] * 2, "strategy": ["efa"] * 3 + ["efv"] * 3,
                       "v": a + b})
    r = paired_difference(df, "strategy", "efa", "efv", "v").iloc[0]
    # d = (2, 1, 3): mean 2, sd 1, 2 ± t_{.975,2}/√3.
    assert (r["n_pairs"], r["mean_a"], r["mean_b"], r["mean_diff"], r["sd_diff"]) == (
        3, 5.0, 3.0, 2.0, 1.0)
    assert (r["lo"], r["hi"]) == pytest.approx((2 - T975_2 / math.sqrt(3),
                                                2 + T975_2 / math.sqrt(3)))
    assert tuple(stats.ttest_rel(a, b).confidence_interval()) == pytest.approx((r["lo"], r["hi"]))
    welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval()
    assert tuple(welch) == pytest.approx((r["unpaired_lo"], r["unpaired_hi"]))
    assert r["sd_unpaired"] == pytest.approx(math.sqrt(4 + 3))


def test_common_random_numbers_narrow_the_interval() -> None:
    df = sweep_table()
    out = paired_difference(df, "strategy", "efa", "einzel", "value")
    assert list(out.columns[:3]) == ["funding", "staffing.dev_fte_factor", "month"]
    assert "date" in out.columns and out["date"].iloc[0] == pd.Timestamp("2018-01-31")
    assert len(out) == 2 * 3 and (out["n_pairs"] == 30).all() and (out["n_missing"] == 0).all()
    # True effect +1; the paired standard error is 0.1·√2/√30 = 0.026.
    assert np.allclose(out["mean_diff"], 1.0, atol=0.1)
    assert ((out["lo"] < out["mean_diff"]) & (out["mean_diff"] < out["hi"])).all()
    assert (out["sd_diff"] < out["sd_unpaired"] / 20).all()
    assert ((out["hi"] - out["lo"]) < (out["unpaired_hi"] - out["unpaired_lo"]) / 20).all()
    # Reversing A and B flips the sign.
    rev = paired_difference(df, "strategy", "einzel", "efa", "value")
    assert np.allclose(rev["mean_diff"], -out["mean_diff"])
    assert np.allclose(rev["lo"], -out["hi"])


def test_paired_difference_drops_missing_pairs_and_takes_keys() -> None:
    df = sweep_table(n_rep=10, months=1)
    df.loc[(df["strategy"] == "efa") & (df["replication"] == 0), "value"] = np.nan
    out = paired_difference(df, "strategy", "efa", "einzel", "value",
                            keys=["replication", "funding"])
    assert list(out["funding"]) == ["f1", "f2"]
    assert list(out["n_pairs"]) == [9, 9] and list(out["n_missing"]) == [1, 1]


def test_paired_difference_errors() -> None:
    df = sweep_table(n_rep=4, months=2)
    with pytest.raises(ValueError, match=r"b\(='efv'\) is not a level of 'strategy'.*einzel"):
        paired_difference(df, "strategy", "efa", "efv", "value")
    with pytest.raises(ValueError, match=r"a\(='mixed'\) is not a level"):
        paired_difference(df, "strategy", "mixed", "efa", "value")
    with pytest.raises(ValueError, match="must be different levels"):
        paired_difference(df, "strategy", "efa", "efa", "value")
    with pytest.raises(ValueError, match=r"factor\(='policy'\) is not a column"):
        paired_difference(df, "policy", "efa", "einzel", "value")
    with pytest.raises(ValueError, match="share their pairing keys"):
        paired_difference(df, "strategy", "efa", "einzel", "value", keys=["replication", "month"])
    gap = df.drop(df.index[(df["strategy"] == "einzel") & (df["replication"] == 3)])
    with pytest.raises(ValueError, match=r"pairs do not match.*: 4 rows only in "
                                         r"strategy='efa', 0 only in strategy='einzel'"):
        paired_difference(gap, "strategy", "efa", "einzel", "value")


# --------------------------------------------------------------------------- first passage


def path_table(first: dict[tuple[str, str, int], float], months: int = 5) -> pd.DataFrame:
    """Coverage paths 0 → 1 that step to 1 at the given month (inf: never)."""
    rows = []
    for (strategy, funding, rep), t in first.items():
        for m in range(months):
            rows.append({"strategy": strategy, "funding": funding, "replication": rep,
                         "month": m, "population_coverage": 1.0 if m >= t else 0.4})
    return pd.DataFrame(rows)


INF = math.inf
HAND = {  # (A first month, B first month) per replication
    0: (1, 3),      # A first
    1: (2, 2),      # tie
    2: (INF, 4),    # B first (A never)
    3: (INF, INF),  # tie (both never)
    4: (0, INF),    # A first (B never)
}


def hand_national(fundings: tuple[str, ...] = ("f1",)) -> pd.DataFrame:
    first = {(s, f, rep): ts[i] for f in fundings for rep, ts in HAND.items()
             for i, s in enumerate(("efa", "einzel"))}
    return path_table(first)


def test_first_passage_hand_example() -> None:
    fp = first_passage(hand_national(), "population_coverage", 0.9, ["strategy", "funding"])
    efa = fp[fp["strategy"] == "efa"]
    assert list(efa.columns) == ["strategy", "funding", "replication", "first_month", "reached"]
    assert np.array_equal(efa["first_month"], [1.0, 2.0, np.nan, np.nan, 0.0], equal_nan=True)
    assert list(efa["reached"]) == [True, True, False, False, True]
    with pytest.raises(ValueError, match="add the design columns"):
        first_passage(hand_national(), "population_coverage", 0.9, ["funding"])


def test_first_passage_agrees_with_the_kpis() -> None:
    cov = np.array([0.0, 0.3, 0.5 - 1e-14, 0.6, 0.9, 0.95, 1.0 - 1e-15, 1.0])
    national = pd.DataFrame({"month": np.arange(len(cov)), "replication": 0,
                             "population_coverage": cov, "nationwide_share": cov / 2,
                             "online_anywhere": 0, "nationwide": 0})
    kpis = kpis_for_replication(national, pd.DataFrame({"programme": [], "eur": []}), [])
    for target in (0.5, 0.9, 1.0):
        fp = first_passage(national, "population_coverage", target, [])
        assert fp["first_month"].iloc[0] == kpis[f"months_to_{int(target * 100)}pct_"
                                                  "population_coverage"]


def test_prob_first_hand_example() -> None:
    out = prob_first(hand_national(), "strategy", "efa", "einzel", "population_coverage", 0.9)
    r = out.iloc[0]
    assert (r["funding"], r["n_pairs"], r["n_a_first"], r["n_tie"], r["n_b_first"]) == (
        "f1", 5, 2, 2, 1)
    assert (r["p_a_first"], r["p_tie"], r["p_b_first"]) == (2 / 5, 2 / 5, 1 / 5)
    # Wilson 95 % for 2/5 (as scipy.stats.binomtest(2, 5).proportion_ci("wilson")).
    assert (r["lo"], r["hi"]) == pytest.approx((0.117621, 0.769276), abs=1e-6)
    rev = prob_first(hand_national(), "strategy", "einzel", "efa", "population_coverage", 0.9)
    assert rev["p_a_first"].iloc[0] == 1 / 5 and rev["p_b_first"].iloc[0] == 2 / 5


def test_prob_first_groups_and_pools() -> None:
    national = hand_national(("f1", "f2"))
    per_cell = prob_first(national, "strategy", "efa", "einzel", "population_coverage", 0.9)
    assert list(per_cell["funding"]) == ["f1", "f2"] and (per_cell["n_pairs"] == 5).all()
    pooled = prob_first(national, "strategy", "efa", "einzel", "population_coverage", 0.9, by=[])
    assert list(pooled.columns[:1]) == ["n_pairs"] and pooled["n_pairs"].iloc[0] == 10
    assert pooled["p_a_first"].iloc[0] == 4 / 10
    with pytest.raises(ValueError, match="not among the pairing keys"):
        prob_first(national, "strategy", "efa", "einzel", "population_coverage", 0.9,
                   by=["month"])
    with pytest.raises(ValueError, match=r"b\(='efv'\) is not a level"):
        prob_first(national, "strategy", "efa", "efv", "population_coverage", 0.9)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1, 2, 3, INF]), st.sampled_from([0, 1, 2, INF])),
                min_size=1, max_size=12))
def test_prob_first_probabilities_sum_to_one(pairs: list[tuple[float, float]]) -> None:
    first = {}
    for rep, (ta, tb) in enumerate(pairs):
        first[("efa", "f1", rep)], first[("einzel", "f1", rep)] = ta, tb
    r = prob_first(path_table(first), "strategy", "efa", "einzel", "population_coverage",
                   0.9).iloc[0]
    assert r["p_a_first"] + r["p_tie"] + r["p_b_first"] == pytest.approx(1.0)
    assert r["n_a_first"] == sum(ta < tb for ta, tb in pairs)
    assert r["n_tie"] == sum(ta == tb for ta, tb in pairs)
    assert 0.0 <= r["lo"] <= r["p_a_first"] <= r["hi"] <= 1.0


# --------------------------------------------------------------------------- replications


def unit_sd_sample(n: int = 50, mean: float = 10.0) -> np.ndarray:
    x = np.random.default_rng(7).normal(size=n)
    return mean + (x - x.mean()) / x.std(ddof=1)


def test_replications_needed_by_hand() -> None:
    # sd = 1, h = 1: t_{.975,5}/√6 = 1.050 > 1, t_{.975,6}/√7 = 0.925 <= 1.
    assert replications_needed(1.0, 1.0) == 7
    # sd = 1, h = 0.1: (1.96/0.1)² = 384.1 with the normal quantile; t adds about 2.
    n = replications_needed(1.0, 0.1)
    assert n is not None and 385 <= n <= 390
    from scipy.stats import t
    brute = next(k for k in range(2, 1000) if t.ppf(0.975, k - 1) / math.sqrt(k) <= 0.1)
    assert n == brute
    assert replications_needed(0.0, 0.1) == 2
    assert replications_needed(math.nan, 0.1) is None


def test_replication_sufficiency_recovers_n_needed() -> None:
    x = unit_sd_sample()
    kpis = pd.DataFrame({"strategy": "efa", "cov": x, "months": np.r_[x[:45], [np.nan] * 5]})
    out = replication_sufficiency(kpis, ["strategy"], ["cov"], target_half_width=0.1)
    r = out.iloc[0]
    assert (r["strategy"], r["kpi"], r["n"]) == ("efa", "cov", 50)
    assert r["sd"] == pytest.approx(1.0) and r["mean"] == pytest.approx(10.0)
    assert r["n_needed"] == replications_needed(1.0, 0.1) and not r["sufficient"]
    # Relative: 1 % of |10| is the same target.
    rel = replication_sufficiency(kpis, ["strategy"], ["cov"], relative=0.01).iloc[0]
    assert rel["target_half_width"] == pytest.approx(0.1) and rel["n_needed"] == r["n_needed"]
    # Per-KPI targets, the rest relative (5 % of the mean); NaN counted, not used.
    both = replication_sufficiency(kpis, [], ["cov", "months"],
                                   target_half_width={"cov": 1.0}).set_index("kpi")
    assert both.loc["cov", "n_needed"] == 7 and both.loc["cov", "sufficient"]
    assert both.loc["months", "n"] == 45 and both.loc["months", "n_missing"] == 5
    assert both.loc["months", "target_half_width"] == pytest.approx(
        0.05 * abs(np.mean(x[:45])))
    assert both.loc["cov", "half_width"] <= 1.0


def test_n_needed_is_monotone_in_the_target() -> None:
    kpis = pd.DataFrame({"cov": unit_sd_sample(20)})
    needed = [replication_sufficiency(kpis, [], ["cov"], target_half_width=h)["n_needed"].iloc[0]
              for h in (2.0, 1.0, 0.5, 0.2, 0.1, 0.05)]
    assert needed == sorted(needed) and needed[0] >= 2 and needed[-1] > 1500
    # sufficient exactly when the sample is at least n_needed.
    out = replication_sufficiency(kpis, [], ["cov"], target_half_width=0.5).iloc[0]
    assert out["sufficient"] == (out["n"] >= out["n_needed"])


def test_replication_sufficiency_errors() -> None:
    kpis = pd.DataFrame({"cov": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="not in kpi_cols"):
        replication_sufficiency(kpis, [], ["cov"], target_half_width={"spent": 1.0})
    with pytest.raises(ValueError, match=r"target_half_width\['cov'\]\(=0.0\) must be > 0"):
        replication_sufficiency(kpis, [], ["cov"], target_half_width=0.0)
    with pytest.raises(ValueError, match="not in the table"):
        replication_sufficiency(kpis, [], ["cov", "spent"])
