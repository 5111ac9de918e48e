"""Invariants that hold for every configuration: shares in [0, 1], curves monotone over the
months, nationwide <= anywhere, money never beyond a budget or below zero, events inside
the horizon, and the causal order of the raw availability times.

Run over every strategy x funding scenario on the toy and the small world, and as a
Hypothesis property over random small valid configurations on the toy world.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import FUNDINGS, SMALL, STRATEGIES, TOY, check_invariants, check_pots, make_config
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.metrics import tables_for_replication
from sim.model import RunResult, Simulation
from sim.params import Config
from sim.world import FEDERAL, MUNICIPAL, World


def run_checked(world: World, cfg: Config, replications: range) -> tuple[
        dict[str, pd.DataFrame], list[RunResult]]:
    """Simulate replications, check the raw outcome of each, return their tables."""
    parts: dict[str, list[pd.DataFrame]] = {}
    results = []
    for rep in replications:
        sim = Simulation(world, cfg, rep)
        r = sim.run()
        check_pots(sim)
        check_raw(world, r)
        results.append(r)
        for name, df in tables_for_replication(world, r).items():
            parts.setdefault(name, []).append(df)
    return {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}, results


def check_raw(world: World, r: RunResult) -> None:
    """Causal order of the raw times of one replication."""
    H = r.horizon_months
    for arr in (r.t_state, r.t_admin):
        finite = arr[np.isfinite(arr)]
        assert np.all((finite >= 0) & (finite < H)), "availability outside the horizon"
    ex = world.services["executor"].to_numpy()
    fed = r.t_state[ex == FEDERAL]
    assert np.all(fed == fed[:, :1]), "a federal service reaches every Land at once"
    # An administration connects a service only once it is available in its Land.
    admin_state = world.admins["state"].to_numpy()
    muni = world.municipal_services
    t_land = r.t_state[muni][:, admin_state]  # (Sm, A)
    assert np.all(r.t_admin >= t_land), "connected before the service reached the Land"
    assert np.all(ex[muni] == MUNICIPAL)


WORLDS = {"toy": TOY, "small": SMALL}


@pytest.mark.parametrize("funding", FUNDINGS)
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_invariants_per_scenario(world_name, strategy, funding, toy_world, small_world) -> None:
    world = toy_world if world_name == "toy" else small_world
    cfg = make_config(f"strategy={strategy}", f"funding={funding}", world=WORLDS[world_name])
    tables, results = run_checked(world, cfg, range(2))
    check_invariants(tables, results[0].budgets, cfg.horizon_months)
    nat = tables["national"]
    assert len(nat) == 2 * cfg.horizon_months
    # Something happens in every scenario, and nothing before development starts.
    assert nat["online_anywhere"].max() > 0
    assert (nat.loc[nat["month"] < 3, "online_anywhere"] == 0).all()
    if funding == "none":
        assert tables["spending"]["programme"].isin(["own_funds", "running_costs"]).all()


def test_efa_lead_state_is_first(toy_world) -> None:
    cfg = make_config("world=toy", "strategy=efa")
    _tables, results = run_checked(toy_world, cfg, range(3))
    lead = toy_world.services["lead_state"].to_numpy()
    ex = toy_world.services["executor"].to_numpy()
    for r in results:
        for s in np.flatnonzero(ex != FEDERAL):
            assert np.all(r.t_state[s, lead[s]] <= r.t_state[s]), "a tenant before the lead"


def test_no_money_spent_outside_programme_windows(small_world) -> None:
    cfg = make_config("strategy=efa", "funding=konjunkturpaket", world=SMALL)
    tables, _ = run_checked(small_world, cfg, range(3))
    sp = tables["spending"]
    dev = sp[sp["programme"] == "konjunkturpaket"]
    assert len(dev) > 0
    # 2020-09 (t = 32) to 2022-12 inclusive (t < 60).
    assert dev["time_months"].between(32, 60, inclusive="left").all()


def test_municipal_money_is_dated_inside_the_programme_window(toy_world) -> None:
    cfg = make_config("world=toy", "funding=konjunkturpaket")
    prog = cfg.funding.programmes[0]
    prog.municipal_share, prog.start, prog.end = 0.2, "2021-06", "2022-12"
    cfg.validate()
    tables, _ = run_checked(toy_world, cfg, range(3))
    sp = tables["spending"]
    muni = sp[sp["purpose"] == "municipal_onboarding"]
    assert len(muni) > 0
    assert muni["time_months"].between(41, 60, inclusive="left").all()


def test_check_invariants_catches_a_decreasing_curve(toy_world) -> None:
    # The checker itself must be able to fail.
    cfg = make_config("world=toy")
    tables, results = run_checked(toy_world, cfg, range(1))
    bad = {k: v.copy() for k, v in tables.items()}
    nat = bad["national"]
    nat.loc[nat.index[-1], "population_coverage"] = nat["population_coverage"].iloc[-2] - 0.1
    with pytest.raises(AssertionError, match="decreases"):
        check_invariants(bad, results[0].budgets, cfg.horizon_months)
    bad = {k: v.copy() for k, v in tables.items()}
    bad["national"]["nationwide_reported"] += 10_000
    with pytest.raises(AssertionError, match="above a Land's count"):
        check_invariants(bad, results[0].budgets, cfg.horizon_months)
    bad = {k: v.copy() for k, v in tables.items()}
    sp = bad["spending"]
    extra = sp.iloc[:1].assign(programme="konjunkturpaket", eur=3.1e9, purpose="development")
    bad["spending"] = pd.concat([sp, extra], ignore_index=True)
    with pytest.raises(AssertionError, match="overspent"):
        check_invariants(bad, results[0].budgets, cfg.horizon_months)


# --------------------------------------------------------------------------- Hypothesis

positive = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def small_configs(draw: st.DrawFn) -> Config:
    cfg = make_config("world=toy",
                      f"strategy={draw(st.sampled_from(STRATEGIES))}",
                      f"funding={draw(st.sampled_from(FUNDINGS))}")
    s = cfg.staffing
    s.bund_fte = draw(st.floats(0.0, 120.0))
    s.state_fte_base = draw(st.floats(0.0, 40.0))
    s.state_fte_per_million = draw(st.floats(0.0, 20.0))
    s.lead_fte_per_service = draw(st.floats(0.0, 2.0))
    s.team_fte = draw(st.floats(0.5, 8.0))
    s.staff_cap_factor = draw(st.floats(1.0, 3.0))
    s.hiring_lag_months = draw(st.floats(0.0, 12.0))
    scale = draw(st.floats(0.0, 4.0))
    s.municipal_fte_by_size_class = [v * scale for v in s.municipal_fte_by_size_class]
    d = cfg.development
    d.effort_person_days = draw(st.floats(0.0, 3000.0))
    d.delay_cv = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
    d.shared_build_overhead = draw(st.floats(0.0, 1.0))
    d.publication_months = draw(st.floats(0.0, 6.0))
    for f in (cfg.sharing.efa, cfg.sharing.efv):
        f.decision_months = draw(st.floats(0.0, 24.0))
        f.contract_months = draw(st.floats(0.0, 12.0))
        f.tenant_onboarding_months = draw(st.floats(0.0, 6.0))
        f.propensity = draw(positive)
        f.operator_onboarding_slots = draw(st.integers(1, 10))
    m = cfg.municipal
    m.onboarding_effort_person_days = draw(st.floats(0.0, 20.0))
    m.external_share_when_funded = draw(positive)
    for p in cfg.funding.programmes:
        p.amount_eur = draw(st.sampled_from([0.0, 1e6, 1e8, 3e9]))
        p.municipal_share = draw(positive)
        p.external_fte_per_project = draw(st.floats(0.0, 20.0))
    cfg.seed = draw(st.integers(0, 2**32))
    return cfg.validate()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # FTE ~1e-308: inf
@settings(max_examples=30, deadline=None)
@given(cfg=small_configs())
def test_invariants_hold_for_random_small_configs(toy_world, cfg: Config) -> None:
    tables, results = run_checked(toy_world, cfg, range(1))
    check_invariants(tables, results[0].budgets, cfg.horizon_months)
