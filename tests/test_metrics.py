"""Tables from hand-made raw results: every number below is computed by hand from the
world's populations and the availability times put in.

A state "at month m" counts every event with time t < m + 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.metrics import kpis_for_replication, summarise_kpis, tables_for_replication
from sim.model import EV_ONLINE, RunResult
from sim.world import FEDERAL, MUNICIPAL, STATE, World

H = 24


def _empty(world: World) -> RunResult:
    return RunResult(replication=4, horizon_months=H,
                     t_state=np.full((world.n_services, world.n_states), np.inf),
                     t_admin=np.full((len(world.municipal_services), world.n_admins), np.inf),
                     events=[], spending=[], budgets=[], n_simpy_events=0)


def _first(world: World, executor: int) -> int:
    return int(np.flatnonzero(world.services["executor"].to_numpy() == executor)[0])


def _steps(start: int, value: float = 1.0) -> np.ndarray:
    return np.where(np.arange(H) >= start, value, 0.0)


@pytest.fixture
def pops(toy_world) -> dict[str, float]:
    st = toy_world.states.set_index("state")["population"].astype(float)
    return {**st.to_dict(), "total": float(toy_world.admins["population"].sum())}


def test_nothing_available(toy_world) -> None:
    t = tables_for_replication(toy_world, _empty(toy_world))
    nat = t["national"]
    assert len(nat) == H
    assert (nat[["online_anywhere", "nationwide", "population_coverage"]] == 0).all().all()
    assert list(nat["date"].dt.strftime("%Y-%m-%d")[:2]) == ["2018-01-31", "2018-02-28"]
    assert (nat["replication"] == 4).all()
    assert len(t["events"]) == 0 and len(t["spending"]) == 0


def test_federal_service(toy_world) -> None:
    r = _empty(toy_world)
    s = _first(toy_world, FEDERAL)
    r.t_state[s, :] = 5.0  # exactly at the start of month 5: counts in month 5
    nat = tables_for_replication(toy_world, r)["national"]
    np.testing.assert_array_equal(nat["online_anywhere"], _steps(5))
    np.testing.assert_array_equal(nat["nationwide"], _steps(5))
    np.testing.assert_allclose(nat["population_coverage"], _steps(5, 1 / 42))
    np.testing.assert_allclose(nat["nationwide_share"], _steps(5, 1 / 42))


def test_state_service_reaching_two_of_three_lands(toy_world, pops) -> None:
    r = _empty(toy_world)
    s = _first(toy_world, STATE)
    r.t_state[s] = [3.2, 6.999, np.inf]  # HB, SL, BE
    t = tables_for_replication(toy_world, r)
    nat = t["national"]
    np.testing.assert_array_equal(nat["online_anywhere"], _steps(3))
    assert (nat["nationwide"] == 0).all()
    expected = (_steps(3, pops["HB"]) + _steps(6, pops["SL"])) / pops["total"] / 42
    np.testing.assert_allclose(nat["population_coverage"], expected)
    bs = t["by_state"].set_index(["state", "month"])
    assert bs.loc[("HB", 2), "available"] == 0 and bs.loc[("HB", 3), "available"] == 1
    assert bs.loc[("SL", 5), "available"] == 0 and bs.loc[("SL", 6), "available"] == 1
    assert (bs.loc["BE", "available"] == 0).all()
    assert bs.loc[("HB", 10), "population_coverage"] == pytest.approx(1 / 42)
    topic = toy_world.services["topic_name"].iat[s]
    bt = t["by_topic"].set_index(["topic", "month"])
    assert bt.loc[(topic, 3), "online_anywhere"] == 1
    assert bt.loc[(topic, 3), "population_coverage"] == \
        pytest.approx(pops["HB"] / pops["total"] / 3)  # 3 services in the topic field


def test_municipal_service(toy_world, pops) -> None:
    r = _empty(toy_world)
    s = _first(toy_world, MUNICIPAL)
    m = int(toy_world.municipal_position[s])
    admins = toy_world.admins
    r.t_state[s] = 2.0  # available in every Land: no coverage until administrations connect
    r.t_admin[m, :] = 9.5
    r.t_admin[m, 0] = 4.0  # Bremen (city), 575,071 inhabitants
    r.t_admin[m, 3] = np.inf  # a small Saarland administration never connects
    t = tables_for_replication(toy_world, r)
    nat = t["national"]
    np.testing.assert_array_equal(nat["online_anywhere"], _steps(4))
    assert (nat["nationwide"] == 0).all()
    p0 = float(admins["population"].iat[0])
    p3 = float(admins["population"].iat[3])
    expected = (_steps(4, p0) + _steps(9, pops["total"] - p0 - p3)) / pops["total"] / 42
    np.testing.assert_allclose(nat["population_coverage"], expected)
    bs = t["by_state"].set_index(["state", "month"])
    assert bs.loc[("HB", 9), "available"] == 1 and bs.loc[("HB", 8), "available"] == 0
    assert bs.loc[("HB", 4), "online_anywhere_in_state"] == 1
    assert (bs.loc["SL", "available"] == 0).all()
    assert bs.loc[("SL", 9), "online_anywhere_in_state"] == 1
    assert bs.loc[("SL", 20), "population_coverage"] == \
        pytest.approx((pops["SL"] - p3) / pops["SL"] / 42)
    # Size classes: administration 3 is in class 1 (5k-10k) with 3 administrations.
    bz = t["by_size_class"].set_index(["size_class", "month"])
    assert bz.loc[("5k-10k", 20), "onboarded_share"] == pytest.approx(2 / (3 * 12))
    assert bz.loc[("5k-10k", 20), "n_admins"] == 3
    assert bz.loc[(">=500k", 4), "onboarded_share"] == pytest.approx(1 / (2 * 12))
    ev = t["events"]
    first = ev[ev["event"] == "municipal_first_onboarded"].set_index("actor")["time_months"]
    last = ev[ev["event"] == "municipal_all_onboarded"].set_index("actor")["time_months"]
    assert first.to_dict() == {"HB": 4.0, "SL": 9.5, "BE": 9.5}
    assert last.to_dict() == {"HB": 9.5, "BE": 9.5}
    # Once the last one connects, the service is nationwide.
    r.t_admin[m, 3] = 12.0
    nat = tables_for_replication(toy_world, r)["national"]
    np.testing.assert_array_equal(nat["nationwide"], _steps(12))


def test_events_and_kpis(toy_world) -> None:
    r = _empty(toy_world)
    # Services 21..41 usable everywhere from t = 10, services 0..20 from t = 15.5.
    r.t_state[:] = 10.0
    r.t_state[:21] = 15.5
    r.t_admin[:] = r.t_state[toy_world.municipal_services, :1]
    s0 = int(toy_world.services["ozg_id"].iat[0])
    r.events = [(15.5, EV_ONLINE, 0, "BUND", "")]
    r.spending = [(11.0, "prog", "HB", 1e6, "development"), (12.0, "own_funds", "SL", 2.5e4,
                                                             "reuse_fee")]
    r.budgets = [("prog", "BUND", 4e6)]
    t = tables_for_replication(toy_world, r)
    ev = t["events"]
    online = ev[ev["event"] == "online"].iloc[0]
    assert (online["ozg_id"], online["actor"], online["date"]) == \
        (s0, "BUND", pd.Timestamp("2019-04-01"))
    sp = t["spending"]
    assert list(sp["eur"]) == [1e6, 2.5e4]
    assert list(sp["date"]) == [pd.Timestamp("2018-12-01"), pd.Timestamp("2019-01-01")]
    k = kpis_for_replication(t["national"], sp, r.budgets)
    cov = t["national"]["population_coverage"].to_numpy()
    np.testing.assert_allclose(cov, _steps(10, 0.5) + _steps(15, 0.5))
    assert k["months_to_50pct_population_coverage"] == 10
    assert k["months_to_90pct_population_coverage"] == 15
    assert k["months_to_100pct_population_coverage"] == 15
    assert k["months_to_50pct_nationwide_share"] == 10
    assert np.isnan(k["population_coverage_2022_12"])  # horizon ends before 2022-12
    assert k["budget_eur_prog"] == 4e6
    assert k["spent_eur_prog"] == 1e6 and k["spent_eur_own_funds"] == 2.5e4
    assert k["spent_eur_programmes"] == 1e6
    summary = summarise_kpis(pd.DataFrame([{"replication": 0, **k}, {"replication": 1, **k}]))
    row = summary.set_index("kpi").loc["months_to_100pct_population_coverage"]
    assert (row["mean"], row["n_replications"], row["n_reached"]) == (15.0, 2, 2)
    row = summary.set_index("kpi").loc["population_coverage_2022_12"]
    assert row["n_reached"] == 0 and np.isnan(row["mean"])
