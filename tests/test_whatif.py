"""What-if scenarios (sim/whatif.py) and the workbench's engine (sim/workbench.py): the
controls stay inside what the command line accepts, a scenario's command line and Hydra
file reproduce its configuration, its numbers equal those of ``ozg-sim`` with the same
overrides, the key figures and paired differences are what they say, and the engine's
cache and sharing hold under concurrent requests."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import whatif
from sim.config import load_config
from sim.errors import ConfigError
from sim.keys import get_path
from sim.provenance import config_hash
from sim.whatif import Scenario, checked_scenario, scenario_config
from sim.workbench import RunProgress, Workbench


@pytest.fixture(scope="module")
def controls() -> list[whatif.Control]:
    return whatif.controls(whatif.base_config("toy"))


@pytest.fixture(scope="module")
def bench() -> Workbench:
    b = Workbench(2)
    yield b
    b.close()


def _by_key(controls: list[whatif.Control]) -> dict[str, whatif.Control]:
    return {c.key: c for c in controls}


def test_the_controls_are_the_declared_levers_and_the_calibrated_parameters(controls) -> None:
    keys = [c.key for c in controls]
    for lever in ("strategy", "funding", "operation", "state_programmes",
                  whatif.AMOUNT_KEY, "staffing.dev_fte_factor", "staffing.municipal_fte_factor",
                  "staffing.hiring_lag_months", "staffing.staff_cap_factor"):
        assert lever in keys
    base = whatif.base_config("toy")
    calibrated = [c for c in controls if c.section == "calibrated"]
    assert [c.key for c in calibrated] == base.posterior.keys
    for c in calibrated:  # the posterior's central 90 %, rounded out, and the point estimate
        i = base.posterior.keys.index(c.key)
        x, w = base.posterior.values[:, i], base.posterior.weights
        q05, q95 = np.quantile(x, [0.05, 0.95], weights=w, method="inverted_cdf")
        assert c.low <= min(q05, c.default) and c.high >= max(q95, c.default)
        slack = 1.0 if c.integer else 0.02 * (q95 - q05)
        assert c.low >= min(q05, c.default) - slack and c.high <= max(q95, c.default) + slack
        assert c.high - c.low < x.max() - x.min() + 2 * slack
    slots = _by_key(controls)["sharing.efa.operator_onboarding_slots"]
    assert slots.integer and slots.step == 1.0


def test_every_control_at_its_ends_composes_as_the_command_line_accepts(controls) -> None:
    numbers = [c for c in controls if c.kind == "number" and not math.isnan(c.low)]
    for end in ("low", "high"):
        values = {c.key: c.check(getattr(c, end)) for c in numbers}
        cfg = scenario_config(checked_scenario("toy", 2, 1, values, controls))
        for c in numbers:
            assert float(get_path(cfg, c.key)) == pytest.approx(getattr(c, end))
    groups = [c for c in controls if c.kind == "group"]
    for i in range(max(len(c.options) for c in groups)):
        values = {c.key: c.options[i % len(c.options)] for c in groups}
        if values["funding"] == "none":
            values.pop("funding")
        cfg = scenario_config(checked_scenario("toy", 2, 1, values, controls))
        assert all(get_path(cfg, f"{k}.name") == v for k, v in values.items())


@pytest.mark.parametrize(("key", "value", "message"), [
    ("strategy", "efx", "strategy='efx' is not allowed: one of efa, efv, einzel, mixed"),
    ("staffing.dev_fte_factor", 2.5, "staffing.dev_fte_factor=2.5 is not allowed: a number "
     "from 0.5 to 2"),
    ("staffing.dev_fte_factor", "1", "is not allowed: a number from 0.5 to 2"),
    ("staffing.dev_fte_factor", float("nan"), "is not allowed: a number"),
    ("staffing.dev_fte_factor", True, "is not allowed: a number"),
    ("sharing.efa.operator_onboarding_slots", 7.5, "is not allowed: a whole number"),
    ("state_programmes", ["hessen", "sachsen"], "is not allowed: a list of hessen, nrw"),
    ("state_programmes", "hessen", "is not allowed: a list of"),
    ("__import__('os').system('true')", 1, "is not allowed: one of strategy"),
    ("world", "germany", "'world' is not allowed: one of strategy"),
])
def test_bad_values_give_one_line_naming_the_key(controls, key, value, message) -> None:
    with pytest.raises(ConfigError) as err:
        checked_scenario("toy", 2, 1, {key: value}, controls)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"world": "mars"}, "world='mars' is not allowed: one of germany, toy"),
    ({"replications": 1}, "replications=1 is not allowed: a whole number from 2 to 50"),
    ({"replications": 51}, "a whole number from 2 to 50"),
    ({"replications": 2.0}, "a whole number from 2 to 50"),
    ({"seed": -1}, "seed=-1 is not allowed"),
])
def test_bad_run_settings_are_refused(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Scenario(**kwargs)


def test_the_command_line_and_the_hydra_file_reproduce_the_configuration(controls,
                                                                       tmp_path: Path) -> None:
    s = checked_scenario("toy", 3, 7, {
        "strategy": "efv", "funding": "koenigstein", whatif.AMOUNT_KEY: 2.0e9,
        "state_programmes": ["bw", "hessen"], "operation": "central",
        "staffing.dev_fte_factor": 1.5, "staffing.hiring_lag_months": 9.0,
        "sharing.efa.propensity": 0.9, "sharing.efa.operator_onboarding_slots": 8}, controls)
    cfg = scenario_config(s)
    assert whatif.command_line(s) == (
        "ozg-sim world=toy replications=3 seed=7 strategy=efv funding=koenigstein "
        "funding.programmes.0.amount_eur=2000000000.0 'state_programmes=[hessen,bw]' "
        "operation=central staffing.dev_fte_factor=1.5 staffing.hiring_lag_months=9.0 "
        "sharing.efa.propensity=0.9 sharing.efa.operator_onboarding_slots=8")
    assert cfg.funding.programmes[0].amount_eur == 2.0e9
    assert sorted(cfg.state_programmes) == ["bw", "hessen"]
    # a fixed calibrated parameter holds in every replication: no longer drawn
    assert "sharing.efa.propensity" not in cfg.posterior.keys
    assert cfg.sharing.efa.propensity == 0.9
    (tmp_path / "whatif.yaml").write_text(whatif.hydra_yaml(s))
    from_file = load_config([], config_dirs=(tmp_path,), config_name="whatif")
    assert config_hash(from_file) == config_hash(cfg)
    assert from_file.replications == 3 and from_file.posterior == cfg.posterior
    # without programmes: none of them
    none = checked_scenario("toy", 2, 1, {"state_programmes": []}, controls)
    assert "state_programmes=none" in whatif.command_line(none)
    assert scenario_config(none).state_programmes == {}


def test_first_programmes_name_the_money_the_amount_sets() -> None:
    progs = whatif.first_programmes()
    assert progs["historical"] == ("konjunkturpaket_efa", 1.5e9)
    assert progs["koenigstein"] == ("konjunkturpaket_koenigstein", 3.0e9)
    assert progs["none"][0] == "" and math.isnan(progs["none"][1])
    assert set(progs) == set(whatif.controls(whatif.base_config("toy"))[1].options)


def test_the_numbers_equal_those_of_ozg_sim_with_the_same_overrides(controls, bench,
                                                                  tmp_path: Path) -> None:
    s = checked_scenario("toy", 3, 2, {"strategy": "efv", "funding": "koenigstein",
                                       whatif.AMOUNT_KEY: 2.5e9,
                                       "staffing.municipal_fte_factor": 1.5,
                                       "municipal.info_lag_dispersion": 2.0}, controls)
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "sim", *s.overrides(), "workers=1",
                          f"hydra.run.dir={out}"], capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    results = bench.run(scenario_config(s))
    national = pd.read_parquet(out / "national.parquet")
    pd.testing.assert_frame_equal(results.tables["national"], national)
    pd.testing.assert_frame_equal(results.tables["by_state"],
                                  pd.read_parquet(out / "by_state.parquet"))
    kpis = pd.read_parquet(out / "kpis_by_replication.parquet")
    pd.testing.assert_frame_equal(results.kpis, kpis)
    app = whatif.key_figure_values(results.tables["national"], results.kpis)
    pd.testing.assert_frame_equal(app, whatif.key_figure_values(national, kpis))
    summary = pd.read_csv(out / "kpis.csv").set_index("kpi")
    table = whatif.summarise_key_figures(app).set_index("key_figure")
    for fig, kpi in (("coverage_2022_12", "population_coverage_2022_12"),
                     ("programme_money_spent", "spent_eur_programmes"),
                     ("running_costs_land", "running_costs_eur_land")):
        assert table.loc[fig, "median"] == pytest.approx(summary.loc[kpi, "median"],
                                                         rel=1e-5)


def test_key_figures_read_the_months_and_the_run_key_figures(controls, bench) -> None:
    s = checked_scenario("toy", 2, 1, {}, controls)
    r = bench.run(scenario_config(s))
    v = whatif.key_figure_values(r.tables["national"], r.kpis)
    assert list(v["replication"]) == [0, 1]
    nat = r.tables["national"]
    for month in whatif.COVERAGE_MONTHS:
        m = pd.Period(month, "M").ordinal - pd.Period("2018-01", "M").ordinal
        expected = nat[nat["month"] == m].sort_values("replication")["population_coverage"]
        assert np.array_equal(v[f"coverage_{month.replace('-', '_')}"], expected.to_numpy())
    assert np.array_equal(v["running_costs_bund"], r.kpis["running_costs_eur_bund"])
    reached = v["months_to_50pct"]
    for rep, month in zip(v["replication"], reached, strict=True):
        cov = nat[nat["replication"] == rep].sort_values("month")["population_coverage"]
        first = np.flatnonzero(cov.to_numpy() >= 0.5)
        assert (math.isnan(month) and not len(first)) or month == first[0]


def test_the_baseline_against_itself_differs_by_nothing_and_a_lever_shows_its_sign(
        controls, bench) -> None:
    base = Scenario("toy", 3, 1)
    rb = bench.run(scenario_config(base))
    vb = whatif.key_figure_values(rb.tables["national"], rb.kpis)
    same = whatif.key_figure_table(vb, vb)
    finite = same[same["n_pairs"] > 1]
    assert (finite["mean_diff"] == 0).all() and (finite["lo"] == 0).all()
    diff = whatif.paired_coverage(rb.tables["national"], rb.tables["national"])
    assert (diff["mean_diff"] == 0).all()
    more = checked_scenario("toy", 3, 1, {"staffing.municipal_fte_factor": 2.0,
                                          "staffing.dev_fte_factor": 2.0}, controls)
    rm = bench.run(scenario_config(more))
    d = whatif.paired_coverage(rm.tables["national"], rb.tables["national"])
    assert d["mean_diff"].iloc[-1] > 0  # twice the staff: more coverage by 2030
    assert list(d.columns[:3]) == ["month", "date", "n_pairs"]


def test_the_engine_caches_per_configuration_and_shares_a_run(controls) -> None:
    bench = Workbench(2)
    try:
        cfg = scenario_config(checked_scenario("toy", 4, 3, {"strategy": "mixed"}, controls))
        progress = [RunProgress(), RunProgress()]
        out: list = [None, None]

        def run(i: int) -> None:
            out[i] = bench.run(cfg, progress[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        pd.testing.assert_frame_equal(out[0].tables["national"], out[1].tables["national"])
        assert len(bench._cache) == 4  # each replication once, whoever asked
        again = RunProgress()
        bench.run(cfg, again)
        assert again.cached == again.done == 4
        more = scenario_config(checked_scenario("toy", 6, 3, {"strategy": "mixed"}, controls))
        p6 = RunProgress()
        r6 = bench.run(more, p6)
        assert p6.cached == 4 and p6.done == 6
        pd.testing.assert_frame_equal(
            r6.tables["national"][r6.tables["national"]["replication"] < 4],
            out[0].tables["national"])
        small = Workbench(1, cache_replications=3)
        try:
            small.run(cfg)
            assert len(small._cache) == 3
        finally:
            small.close()
    finally:
        bench.close()
