"""Experiments end to end on the toy world: every experiment, dry run, resume, redraw,
compare, and bad input (through real subprocesses where exit codes matter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from sim.cli.experiment import run_experiment
from sim.config import CONF_DIR
from sim.figures.levels import FUNDING_ORDER, OPERATION_ORDER

SIM = [sys.executable, "-m"]


def _run(folder: Path, name: str, *extra: str) -> Path:
    out = run_experiment([name, "world=toy", f"out={folder / 'exp'}",
                          f"cache={folder / 'cache'}", "workers=2", *extra])
    assert out is not None
    return out


def _figures(folder: Path) -> set[str]:
    return {p.name for p in (folder / "figures").iterdir()}


def _provenance_ok(csv: Path) -> None:
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("# ")
    assert any("code_version" in ln for ln in lines if ln.startswith("#"))
    data = pd.read_csv(csv, comment="#")
    assert len(data) > 0


@pytest.fixture(scope="module")
def efa_vs_efv(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("eve"), "efa_vs_efv", "replications=3")


def test_efa_vs_efv_end_to_end(efa_vs_efv: Path) -> None:
    out = efa_vs_efv
    man = json.loads((out / "manifest.json").read_text())
    assert man["experiment"] == "efa_vs_efv" and man["failures"] == []
    assert len(man["points"]) == 12 and man["replications"] == 3
    nat = pd.read_parquet(out / "national")
    assert set(nat["strategy"]) == {"efa", "efv", "einzel", "mixed"}
    assert set(nat["funding"]) == {"none", "konjunkturpaket", "competitive"}
    assert len(nat) == 12 * 3 * nat["month"].nunique()
    for t in ("kpis", "runs", "points"):
        assert (out / f"{t}.parquet").is_file()
    for t in ("national", "by_state", "by_kreis"):  # a dataset, one file per design point
        assert len(list((out / t).glob("point-*.parquet"))) == 12
        assert (out / t / "_common_metadata").is_file()
        assert man["rows"][f"{t}/"] == len(pd.read_parquet(out / t))
    assert (out / "summary.csv").is_file()
    figs = _figures(out)
    for stem in ("fan_population_coverage", "difference_population_coverage_konjunkturpaket",
                 "small_multiples_population_coverage", "map_land", "map_kreis",
                 "time_to_target", "cost_coverage"):
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}.csv"} <= figs, stem
        _provenance_ok(out / "figures" / f"{stem}.csv")
    for table in ("paired_differences", "prob_reaches_first", "replication_sufficiency"):
        assert f"{table}.csv" in figs
    suff = pd.read_csv(out / "figures" / "replication_sufficiency.csv")
    assert {"n", "half_width", "n_needed"} <= set(suff.columns)
    assert not list(out.parent.glob(".partial-*"))


def test_rerun_resumes_from_the_cache_with_identical_results(efa_vs_efv: Path) -> None:
    root = efa_vs_efv.parent.parent
    again = run_experiment(["efa_vs_efv", "world=toy", f"out={root}",
                            f"cache={root.parent / 'cache'}", "replications=3"])
    assert again is not None and again != efa_vs_efv
    runs = pd.read_parquet(again / "runs.parquet")
    assert runs["cached"].all()
    pd.testing.assert_frame_equal(pd.read_parquet(again / "national"),
                                  pd.read_parquet(efa_vs_efv / "national"))


def test_redraw_in_german_from_the_saved_folder(efa_vs_efv: Path, tmp_path: Path) -> None:
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(efa_vs_efv, copy)
    shutil.rmtree(copy / "figures")
    r = subprocess.run([*SIM, "sim.cli.figures", str(copy), "lang=de"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "fan_population_coverage_de.png" in _figures(copy)
    assert "fan_population_coverage.png" not in _figures(copy)  # German files only
    sidecar = pd.read_csv(copy / "figures" / "fan_population_coverage_de.csv", comment="#")
    nat = pd.read_parquet(copy / "national")
    assert sidecar["strategy"].nunique() == nat["strategy"].nunique()


def test_compare_puts_runs_and_sweeps_side_by_side(efa_vs_efv: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    r = subprocess.run([*SIM, "sim", "world=toy", "replications=3", "workers=1",
                        "strategy=efv", "funding=konjunkturpaket", f"hydra.run.dir={run_dir}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "cmp"
    r = subprocess.run([*SIM, "sim.cli.compare", str(run_dir), str(efa_vs_efv), f"out={out}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert summary["source"].nunique() == 13  # one run + twelve design points
    # The single run and the sweep's efv/konjunkturpaket cell are the same configuration:
    # the same readable label, told apart by the folder.
    cov = summary[summary["kpi"] == "population_coverage_2022_12"].set_index("source")["mean"]
    same = [s for s in cov.index if s.startswith("EfV; stimulus for EfA only")]
    assert len(same) == 2, list(cov.index)
    assert cov[same[0]] == pytest.approx(cov[same[1]], abs=1e-12)
    assert (out / "figures" / "fan_population_coverage.png").is_file()


def test_staffing_sweep_end_to_end(tmp_path: Path) -> None:
    out = _run(tmp_path, "staffing_sweep", "replications=2")
    kp = pd.read_parquet(out / "kpis.parquet")
    assert kp["staffing.dev_fte_factor"].nunique() == 5
    assert kp["staffing.municipal_fte_factor"].nunique() == 5
    figs = _figures(out)
    for stem in ("heatmap_population_coverage_2022_12",
                 "heatmap_months_to_90pct_population_coverage"):
        assert f"{stem}.png" in figs and f"{stem}.csv" in figs


#: Hypercube points of the shipped exploration in its end-to-end test: the file as shipped
#: (every declared uncertainty, posterior particles, both levers, the discovery questions)
#: with fewer points, so the test takes seconds rather than minutes.
EXPLORATION_TEST_POINTS = 12


def test_exploration_end_to_end(tmp_path: Path) -> None:
    spec = yaml.safe_load((CONF_DIR / "experiment" / "exploration.yaml").read_text())
    shipped_n = spec["design"]["lhs"]["n"]
    spec["design"]["lhs"]["n"] = EXPLORATION_TEST_POINTS
    (tmp_path / "exploration.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    out = _run(tmp_path, str(tmp_path / "exploration.yaml"), "replications=2")
    assert shipped_n >= 100  # the shipped design, with its budget in the file's comment
    kp = pd.read_parquet(out / "kpis.parquet")
    # points x strategies x funding rules
    assert kp["point"].nunique() == EXPLORATION_TEST_POINTS * 4 * 2
    # each hypercube point appears once per strategy and funding rule, with identical
    # uncertain values (an assumed key: the calibrated ones may repeat a particle)
    per = kp.groupby("development.delay_cv")[["strategy", "funding"]].nunique()
    assert per["strategy"].eq(4).all() and per["funding"].eq(2).all()
    figs = _figures(out)
    assert {"robustness.png", "robustness.csv", "robustness_differences.csv"} <= figs
    assert {"discovery_boxes.png", "discovery_boxes.csv", "discovery_trajectory.png",
            "discovery_scores.png"} <= figs


def test_dry_run_counts_and_estimates_without_writing(tmp_path: Path) -> None:
    r = subprocess.run([*SIM, "sim.cli.experiment", "efa_vs_efv", "world=toy", "replications=5",
                        f"out={tmp_path / 'exp'}", f"cache={tmp_path / 'cache'}", "--dry-run"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "12 points x 5 replications = 60 runs" in r.stdout
    assert "estimated" in r.stdout
    assert not (tmp_path / "exp").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["nonesuch"], "experiment='nonesuch' is not allowed"),
    (["efa_vs_efv", "lang=fr"], "lang='fr' is not allowed"),
    (["efa_vs_efv", "replications=0"], "replications='0' is not allowed"),
    (["efa_vs_efv", "strategy.nonesuch=1"], "unknown key"),
    (["efa_vs_efv", "--fast"], "--fast is not allowed"),
])
def test_bad_experiment_input_is_one_line_and_exit_2(args, needle, tmp_path: Path) -> None:
    r = subprocess.run([*SIM, "sim.cli.experiment", *args, f"out={tmp_path / 'exp'}",
                        f"cache={tmp_path / 'c'}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ozg-sim-experiment: error:"), r.stderr
    assert needle in err[0]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "exp").exists()


def test_run_chart_has_a_sidecar_and_redraws_from_its_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    r = subprocess.run([*SIM, "sim", "world=toy", "replications=3", "workers=1",
                        f"hydra.run.dir={run_dir}"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    head = (run_dir / "coverage.csv").read_text().splitlines()[:12]
    assert any(ln.startswith("# config_hash: ") for ln in head)
    side = pd.read_csv(run_dir / "coverage.csv", comment="#", parse_dates=["date"])
    nat = pd.read_parquet(run_dir / "national.parquet")
    model = side[(side["kind"] == "model") & (side["series"] == "population_coverage")]
    expected = nat.groupby("date")["population_coverage"].median()
    assert model.set_index("date")["median"].to_numpy() == pytest.approx(expected.to_numpy())
    for f in run_dir.glob("coverage.*"):
        f.unlink()
    r = subprocess.run([*SIM, "sim.cli.figures", str(run_dir)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert {f"coverage.{x}" for x in ("png", "svg", "pdf", "csv")} <= {
        p.name for p in run_dir.iterdir()}


# --------------------------------------------------------------------------------------
# Experiments whose factor is not the strategy: cliff (operation), funding_allocation
# --------------------------------------------------------------------------------------

def _design(name: str, factor: str) -> set[str]:
    return set(OmegaConf.load(CONF_DIR / "experiment" / f"{name}.yaml")["design"]["grid"][factor])


#: The payer rules of ``cliff`` and the funding rules of ``funding_allocation``, in the order
#: of the level table (which is the order of the experiment files, see test_charts).
OPERATIONS = [o for o in OPERATION_ORDER if o in _design("cliff", "operation")]
FUNDINGS = [f for f in FUNDING_ORDER if f in _design("funding_allocation", "funding")]


def _side(out: Path, stem: str, **kw) -> pd.DataFrame:
    return pd.read_csv(out / "figures" / f"{stem}.csv", comment="#", **kw)


@pytest.fixture(scope="module")
def cliff(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("cliff"), "cliff", "replications=2", "lang=de")


def test_cliff_end_to_end_in_german(cliff: Path) -> None:
    out = cliff
    man = json.loads((out / "manifest.json").read_text())
    assert man["failures"] == [] and len(man["points"]) == 5
    nat = pd.read_parquet(out / "national")
    assert set(nat["operation"]) == set(OPERATIONS)
    assert nat["funding"].nunique() == 1 and nat["strategy"].nunique() == 1
    figs = _figures(out)
    for stem in ("fan_population_coverage", "fan_nationwide_share",
                 "difference_population_coverage", "difference_nationwide_share",
                 "state_differences", "time_to_target", "running_costs", "size_classes"):
        stem = f"{stem}_de"  # a German drawing: its own files beside any English ones
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}.csv"} <= figs, stem
        _provenance_ok(out / "figures" / f"{stem}.csv")
    for table in ("paired_differences", "prob_reaches_first", "state_paired_differences",
                  "replication_sufficiency", "kpi_intervals"):
        assert f"{table}.csv" in figs
    # one series per payer rule, against central payment, in the order of the yaml file
    assert set(_side(out, "fan_population_coverage_de")["operation"]) == set(OPERATIONS)
    diff = _side(out, "difference_population_coverage_de")
    assert list(diff["comparison"].unique()) == [f"{o} - central" for o in OPERATIONS[1:]]
    # the sweep keeps running costs per year and payer; they add up to the KPIs
    rc = pd.read_parquet(out / "running_costs")
    kp = pd.read_parquet(out / "kpis.parquet").set_index(["operation", "replication"])
    sums = rc.groupby(["operation", "replication", "payer"])["eur"].sum().unstack(fill_value=0)
    for payer in ("land", "municipal", "bund", "pool"):
        got = sums[payer] if payer in sums else pd.Series(0.0, index=sums.index)
        np.testing.assert_allclose(got.to_numpy(),
                                   kp.loc[got.index, f"running_costs_eur_{payer}"], rtol=1e-9)
    # running-cost sidecar: median over replications of each payer's sum 2023-2030
    side = _side(out, "running_costs_de")
    tot = side[side["panel"] == "total"].set_index(["operation", "payer"])["median"]
    window = rc[rc["year"].between(2023, 2030)]
    per_run = (window.groupby(["operation", "replication", "payer"])["eur"].sum()
               .unstack(fill_value=0.0).reindex(kp.index, fill_value=0.0))
    for payer in ("land", "municipal", "bund", "pool"):
        col = per_run[payer] if payer in per_run else pd.Series(0.0, index=per_run.index)
        hand = col.groupby(level="operation").median()
        np.testing.assert_allclose(tot.xs(payer, level="payer").loc[hand.index], hand,
                                   rtol=1e-9, atol=1e-6)
    # per-Land sidecar: mean paired difference to central, at Dec 2022 and Dec 2026
    sd = _side(out, "state_differences_de", parse_dates=["date"])
    assert sorted(sd["date"].dt.strftime("%Y-%m").unique()) == ["2022-12", "2026-12"]
    bs = pd.read_parquet(out / "by_state")
    bs = bs[bs["date"].isin(sd["date"].unique())]
    wide = bs.pivot_table(index=["date", "state", "replication"], columns="operation",
                          values="population_coverage")
    for op in OPERATIONS[1:]:
        hand = (wide[op] - wide["central"]).groupby(level=["date", "state"]).mean()
        got = sd[sd["operation"] == op].set_index(["date", "state"])["mean_diff"]
        np.testing.assert_allclose(got, hand.loc[got.index], atol=1e-12)


def test_funding_allocation_end_to_end(tmp_path: Path) -> None:
    out = _run(tmp_path, "funding_allocation", "replications=2")
    man = json.loads((out / "manifest.json").read_text())
    assert man["failures"] == [] and len(man["points"]) == 8
    figs = _figures(out)
    for stem in ("fan_population_coverage", "difference_population_coverage",
                 "state_differences", "time_to_target", "cost_coverage", "size_classes"):
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}.csv"} <= figs, stem
    assert set(_side(out, "fan_population_coverage")["funding"]) == set(FUNDINGS)
    ttt = _side(out, "time_to_target")
    assert set(ttt["funding"]) == set(FUNDINGS) and "strategy" not in ttt.columns
    cost = _side(out, "cost_coverage")
    assert list(cost["funding"]) == FUNDINGS  # in the order of the experiment file
    kp = pd.read_parquet(out / "kpis.parquet")
    hand = kp.groupby("funding")["spent_eur_programmes"].median()
    np.testing.assert_allclose(cost.set_index("funding")["x_median"], hand.loc[FUNDINGS])
    # size classes at Dec 2022 and the last month: median over replications
    sc = _side(out, "size_classes", parse_dates=["date"])
    bsc = pd.read_parquet(out / "by_size_class")
    assert sorted(sc["date"].dt.strftime("%Y-%m").unique()) == [
        "2022-12", bsc["date"].max().strftime("%Y-%m")]
    assert set(sc["size_class"]) == set(bsc.loc[bsc["n_admins"] > 0, "size_class"])
    hand_sc = bsc.groupby(["funding", "date", "size_class"])["onboarded_share"].median()
    got = sc.set_index(["funding", "date", "size_class"])["median"]
    np.testing.assert_allclose(got, hand_sc.loc[got.index], atol=1e-12)
