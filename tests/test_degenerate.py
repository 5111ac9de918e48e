"""Degenerate configurations with hand-computed answers.

(a) Unlimited capacity and no delays: everything is usable everywhere in the month
    development starts, and nothing before it (without roll-out channels, whose start
    dates are data; tests/test_providers.py covers them).
(b) No staff and no money: nothing ever happens.
(c) Money only for EfA under a strategy without EfA: the money is never spent and the run
    is the same as without the programme.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import SMALL, STRATEGIES, TOY, check_invariants, make_config

from sim.bounds import MAX_BUILDER_FTE, MAX_MUNICIPAL_FTE
from sim.calendar import month_index
from sim.metrics import kpis_for_replication, tables_for_replication
from sim.model import simulate
from sim.params import N_SIZE_CLASSES, Config, WorldParams
from sim.world import MUNICIPAL, build_world

WORLDS = {"toy": TOY, "small": SMALL}


def _unlimited(cfg: Config, effort_pd: float, dev_start: str) -> Config:
    """Huge staff, (near) zero effort, every delay zero, every Land reuses."""
    st = cfg.staffing
    st.bund_fte = st.state_fte_base = MAX_BUILDER_FTE / 2  # within the bound (peak staff
    st.staff_cap_factor = 1.0                                # check): far more teams than builds
    st.municipal_fte_by_size_class = [MAX_MUNICIPAL_FTE] * N_SIZE_CLASSES
    d = cfg.development
    d.start = dev_start
    d.effort_person_days = effort_pd
    d.publication_months = 0.0
    for f in (cfg.sharing.efa, cfg.sharing.efv):
        f.decision_months = f.contract_months = f.tenant_onboarding_months = 0.0
        f.propensity = 1.0
    m = cfg.municipal
    m.onboarding_effort_person_days = effort_pd
    m.info_lag_months_by_size_class = [0.0] * N_SIZE_CLASSES
    # every administration connects itself: roll-out channels start on their recorded
    # dates (sim/data/municipal_rollout.csv), a delay of the record, not of the model
    cfg.providers.enabled = False
    return cfg.validate()


def _tables(world, cfg: Config, rep: int = 0) -> tuple[dict[str, pd.DataFrame], object]:
    r = simulate(world, cfg, rep)
    return tables_for_replication(world, r), r


# --------------------------------------------------------------------------- (a)


@pytest.mark.parametrize(("effort_pd", "dev_start"), [(0.0, "2018-04"), (1.0, "2018-04"),
                                                      (0.0, "2019-07"), (1.0, "2021-01")])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_unlimited_capacity_without_delays_is_done_at_development_start(
        world_name, strategy, effort_pd, dev_start, toy_world, small_world) -> None:
    world = toy_world if world_name == "toy" else small_world
    cfg = _unlimited(make_config(f"strategy={strategy}", "funding=none",
                                 world=WORLDS[world_name]), effort_pd, dev_start)
    m0 = month_index(dev_start)
    tables, r = _tables(world, cfg)
    S, H = world.n_services, cfg.horizon_months
    before = (np.arange(H) < m0)

    nat = tables["national"]
    np.testing.assert_array_equal(nat["online_anywhere"], np.where(before, 0, S))
    np.testing.assert_array_equal(nat["nationwide"], np.where(before, 0, S))
    np.testing.assert_allclose(nat["population_coverage"], np.where(before, 0.0, 1.0),
                               rtol=0, atol=1e-12)
    bs = tables["by_state"]
    np.testing.assert_array_equal(bs["available"], np.where(bs["month"] < m0, 0, S))
    np.testing.assert_allclose(bs["population_coverage"], np.where(bs["month"] < m0, 0, 1.0),
                               rtol=0, atol=1e-12)
    bz = tables["by_size_class"]
    present = bz["n_admins"] > 0
    np.testing.assert_allclose(bz.loc[present, "onboarded_share"],
                               np.where(bz.loc[present, "month"] < m0, 0.0, 1.0))
    # Every availability time lies inside the start month.
    for arr in (r.t_state, r.t_admin):
        assert np.all((arr >= m0) & (arr < m0 + 1))
    k = kpis_for_replication(nat, tables["spending"], r.budgets)
    assert k["months_to_100pct_population_coverage"] == m0
    assert k["months_to_100pct_nationwide_share"] == m0
    assert k["population_coverage_2022_12"] == pytest.approx(1.0)
    check_invariants(tables, r.budgets, H)


def test_unlimited_capacity_but_no_municipal_staff(toy_world) -> None:
    # Municipally executed services are never connected; all others reach everybody.
    cfg = _unlimited(make_config("world=toy", "funding=none"), 0.0, "2018-04")
    cfg.staffing.municipal_fte_by_size_class = [0.0] * N_SIZE_CLASSES
    cfg.municipal.onboarding_effort_person_days = 1.0
    tables, r = _tables(toy_world, cfg)
    S = toy_world.n_services
    Sm = int((toy_world.services["executor"] == MUNICIPAL).sum())
    assert Sm > 0
    nat = tables["national"].set_index("month")
    assert (nat.loc[3:, "online_anywhere"] == S - Sm).all()
    assert (nat.loc[3:, "nationwide"] == S - Sm).all()
    np.testing.assert_allclose(nat.loc[3:, "population_coverage"], (S - Sm) / S)
    assert np.all(np.isinf(r.t_admin))


def test_one_land_world_efa_equals_einzel() -> None:
    # With a single Land there is nobody to share with: EfA builds the same as einzel.
    world = build_world(WorldParams(name="hb", states=["HB"]))
    t = {s: tables_for_replication(world, simulate(world, make_config(
        f"strategy={s}", "funding=none", world=WorldParams(name="hb", states=["HB"])), 0))
         for s in ("efa", "einzel")}
    for name in ("national", "by_state", "by_size_class"):
        pd.testing.assert_frame_equal(t["efa"][name], t["einzel"][name])


# --------------------------------------------------------------------------- (b)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_no_staff_no_money_nothing_happens(toy_world, strategy: str) -> None:
    cfg = make_config("world=toy", f"strategy={strategy}", "funding=none")
    st = cfg.staffing
    st.bund_fte = st.state_fte_base = st.state_fte_per_million = st.lead_fte_per_service = 0.0
    st.municipal_fte_by_size_class = [0.0] * N_SIZE_CLASSES
    cfg.validate()
    tables, r = _tables(toy_world, cfg)
    nat = tables["national"]
    assert (nat["online_anywhere"] == 0).all()
    assert (nat["nationwide"] == 0).all()
    assert (nat["population_coverage"] == 0).all()
    assert (tables["by_state"]["available"] == 0).all()
    assert np.all(np.isinf(r.t_state)) and np.all(np.isinf(r.t_admin))
    assert r.events == [] and len(tables["events"]) == 0
    assert r.spending == [] and len(tables["spending"]) == 0
    assert r.budgets == []


# --------------------------------------------------------------------------- (c)


@pytest.mark.parametrize("strategy", ["einzel", "efv"])
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_efa_only_money_is_never_spent_without_efa(world_name, strategy, toy_world,
                                                    small_world) -> None:
    world = toy_world if world_name == "toy" else small_world
    with_kp = make_config(f"strategy={strategy}", "funding=konjunkturpaket",
                          world=WORLDS[world_name])
    assert with_kp.funding.programmes[0].eligible_modes == ["efa"]
    without = make_config(f"strategy={strategy}", "funding=none", world=WORLDS[world_name])
    for rep in range(2):
        a, b = simulate(world, with_kp, rep), simulate(world, without, rep)
        assert [x for x in a.spending if x[1] == "konjunkturpaket"] == []
        assert not any(e[1] == 4 for e in a.events), "a funded event"
        np.testing.assert_array_equal(a.t_state, b.t_state)
        np.testing.assert_array_equal(a.t_admin, b.t_admin)
        t = tables_for_replication(world, a)
        k = kpis_for_replication(t["national"], t["spending"], a.budgets)
        assert k["spent_eur_konjunkturpaket"] == 0.0
        assert k["budget_eur_konjunkturpaket"] == 3.0e9
        assert k["spent_eur_programmes"] == 0.0


def test_efa_money_is_spent_under_efa(toy_world) -> None:
    # Counterpart of the test above: the same programme is used when EfA builds exist.
    cfg = make_config("world=toy", "strategy=efa", "funding=konjunkturpaket")
    r = simulate(toy_world, cfg, 0)
    assert sum(x[3] for x in r.spending if x[1] == "konjunkturpaket") > 0
