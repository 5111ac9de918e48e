"""Running costs after the stimulus and who pays them (MODEL.md 7.8), in isolation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import SMALL, check_invariants, make_config

from sim.errors import ConfigError
from sim.model import EV_DEFERRED, SH_MUNI, Funding, Ledger, Operation, Simulation, simulate
from sim.params import PAYERS, PayerPhase
from sim.runner import run_replications


def test_payer_schedule_land_specific_phase_wins_while_in_force(small_world) -> None:
    cfg = make_config("operation=historical", world=SMALL)
    cfg.operation.phases.append(PayerPhase(start="2023-01", end="2024-12",
                                           payer="land_for_municipalities", states=["HB"]))
    op = Operation(cfg.validate(), small_world)
    hb = list(small_world.states["state"]).index("HB")
    sh = list(small_world.states["state"]).index("SH")
    months = np.array([0.0, 59.9, 60.0, 72.0, 83.9, 84.0, 120.0])  # 2018 .. 2028
    names = lambda li: [PAYERS[i] for i in op.rule(li, months)]  # noqa: E731
    assert names(sh) == ["central", "central", "reusers", "split_2024", "split_2024",
                         "split_2024", "split_2024"]
    assert names(hb) == ["central", "central", "land_for_municipalities",
                         "land_for_municipalities", "land_for_municipalities",
                         "split_2024", "split_2024"]
    assert op.next_change(hb, 61.0) == 72.0 and op.next_change(hb, 72.0) == 84.0
    assert math.isinf(op.next_change(sh, 84.0))


def test_land_waits_exactly_until_its_growing_budget_covers_one_more_tenancy(small_world) -> None:
    cfg = make_config("operation=reusers", world=SMALL)
    o = cfg.operation
    o.service_cost_eur_per_year, o.land_budget_eur_per_year = 1.0e6, 10.0e6
    o.budget_growth_per_year, o.budget_base = 0.10, "2023-01"
    op = Operation(cfg.validate(), small_world)
    base = 60.0
    # Before the cliff nobody waits; after it, 10 tenancies fit the budget exactly.
    op.n_tenancies[0] = 50
    assert op.land_wait(0, 30.0) == 30.0
    op.n_tenancies[0] = 9
    assert op.land_wait(0, 61.0) <= 61.0
    op.n_tenancies[0] = 10  # the 11th needs 11/10 of the base budget: log(1.1)/log(1.1) years
    assert op.land_wait(0, 61.0) == pytest.approx(base + 12.0, abs=1e-9)
    op.n_tenancies[0] = 20  # twice the budget: log(2)/log(1.1) years after the base
    assert op.land_wait(0, 61.0) == pytest.approx(
        base + 12 * math.log(21 / 10) / math.log(1.1), abs=1e-9)


def test_municipal_connections_wait_for_budget_and_for_a_cheaper_payer(small_world) -> None:
    cfg = make_config("operation=historical", world=SMALL)  # 2023 reusers, 2024 split
    o = cfg.operation
    o.admin_cost_eur_per_year, o.budget_growth_per_year = 100.0, 0.0
    op = Operation(cfg.validate(), small_world)
    start = np.array([10.0, 61.0, 61.0, 61.0])
    n_conn = np.array([100.0, 0.0, 3.0, 9.0])
    budget = np.array([0.0, 200.0, 300.0, 400.0])
    t = op.municipal_start(0, start, n_conn, budget)
    # Before the cliff: at once; affordable: at once; 4 x 100 > 300 under reusers, but
    # 4 x 50 <= 300 under the 2024 split: at its start; 10 x 50 > 400 and no growth: never.
    assert list(t[:3]) == [10.0, 61.0, 72.0]
    assert math.isinf(t[3])


def test_running_costs_are_booked_in_full_and_split_by_the_rule(small_world) -> None:
    for op_name, expect in (("central", {"bund": 1.0}),
                            ("reusers", {"land": 1.0}),
                            ("split_2024", {"land": 0.5, "bund": 0.25, "pool": 0.25})):
        cfg = make_config("strategy=efa", f"operation={op_name}", world=SMALL, end="2025-12")
        cfg.operation.land_budget_eur_per_year = 1e12  # nothing deferred: same tenancies
        cfg.operation.admin_cost_eur_per_year = 0.0
        sim = Simulation(small_world, cfg.validate(), 0)
        r = sim.run()
        sp = pd.DataFrame(r.spending, columns=["t", "programme", "actor", "eur", "purpose"])
        run = sp[sp["programme"] == "running_costs"]
        k = small_world.states["koenigstein_share"].to_numpy()
        # Expected cost in 2024 from the tenancies agreed by then (whole months).
        eur_2024 = sum(cfg.operation.service_cost_eur_per_year * k[land] / 12
                       * sum(1 for m in range(72, 84) if math.floor(t) <= m)
                       for _s, land, t in sim.tenancies)
        got = run[run["t"] == 72.0].groupby("purpose")["eur"].sum()
        assert got.sum() == pytest.approx(eur_2024, rel=1e-9)
        for payer, share in expect.items():
            assert got[f"running_costs_{payer}"] == pytest.approx(share * eur_2024, rel=1e-9)
        assert set(got.index) == {f"running_costs_{p}" for p in expect}


def test_when_only_reusers_pay_after_2022_reuse_slows(small_world) -> None:
    kw = dict(world=SMALL, replications=4, end="2028-12")
    central = make_config("strategy=efa", "operation=central", **kw)
    reusers = make_config("strategy=efa", "operation=reusers", **kw)
    for cfg in (central, reusers):
        cfg.operation.land_budget_eur_per_year = 5.0e6
    rc = run_replications(small_world, central, workers=1)
    rr = run_replications(small_world, reusers, workers=1)
    check_invariants(rr.tables, rr_budgets(small_world, reusers), reusers.horizon_months)
    ev_c, ev_r = rc.tables["events"], rr.tables["events"]
    late = lambda ev: ((ev["event"] == "reused") & (ev["time_months"] >= 60)).sum()  # noqa: E731
    assert late(ev_r) < late(ev_c)
    assert (ev_r["event"] == "reuse_deferred_by_cost").sum() > 0
    assert (ev_c["event"] == "reuse_deferred_by_cost").sum() == 0
    # Identical up to the cliff (common random numbers), lower after it.
    nat_c = rc.tables["national"].groupby("month")["population_coverage"].mean()
    nat_r = rr.tables["national"].groupby("month")["population_coverage"].mean()
    assert np.allclose(nat_c[:60], nat_r[:60])
    assert nat_r.iloc[-1] < nat_c.iloc[-1]
    # Running costs are paid by the reusing Länder after the cliff, by the Bund before.
    sp = rr.tables["spending"]
    run = sp[sp["programme"] == "running_costs"]
    assert set(run.loc[run["time_months"] >= 60, "purpose"]) <= {
        "running_costs_land", "running_costs_municipal"}
    assert set(run.loc[run["time_months"] < 60, "purpose"]) == {"running_costs_bund"}


def test_land_paying_for_its_municipalities_lets_small_ones_connect(small_world) -> None:
    """Municipalities that cannot afford their connections wait; if the Land pays, they don't."""
    kw = dict(world=SMALL, replications=2, end="2027-12")
    rows = {}
    for op_name in ("reusers", "land_for_municipalities"):
        cfg = make_config("strategy=efa", f"operation={op_name}", **kw)
        cfg.operation.land_budget_eur_per_year = 1e12  # only municipal budgets bind
        cfg.providers.enabled = False  # every administration connects (and pays) itself
        cfg.operation.municipal_budget_eur_per_capita_year = 0.05
        res = run_replications(small_world, cfg, workers=1)
        size = res.tables["by_size_class"]
        rows[op_name] = size[size["month"] == cfg.horizon_months - 1].groupby(
            "size_class")["onboarded_share"].mean()
    assert (rows["land_for_municipalities"] >= rows["reusers"] - 1e-12).all()
    for small in ("<5k", "5k-10k"):
        assert rows["land_for_municipalities"][small] > rows["reusers"][small] + 0.02


def test_default_reference_has_no_deferral(small_world) -> None:
    cfg = make_config(world=SMALL)
    r = simulate(small_world, cfg, 0)
    assert not any(code == EV_DEFERRED for _t, code, *_ in r.events)
    sim = Simulation(small_world, cfg, 0)
    assert not sim.operation.active


def rr_budgets(world, cfg) -> list[tuple[str, str, float]]:
    return Simulation(world, cfg, 0).funding.initial


def _deferred_start_one_by_one(op: Operation, state: int, t: float, n_conn: float,
                               budget: float) -> float:
    """Scalar reference: step through the payer schedule until a connection is affordable."""
    cost = op.op.admin_cost_eur_per_year
    while math.isfinite(t):
        share = op.muni_shares[int(op.rule(state, t)), SH_MUNI]
        if share <= 0:
            return t
        when = float(op._afford_time(np.array([(n_conn + 1) * cost * share]),
                                     np.array([budget]))[0])
        if when <= t:
            return t
        nxt = op.next_change(state, t)
        if when < nxt:
            return when
        t = nxt
    return math.inf


def test_municipal_deferral_for_several_lands_at_once_matches_a_step_by_step_reference(
        small_world) -> None:
    cfg = make_config("operation=central", world=SMALL)
    cfg.operation.admin_cost_eur_per_year = 100.0
    # From 2023 the split, from 2026 the reusers alone: a later phase can cost more. One
    # Land pays for its municipalities in 2023-24: the Länder's schedules differ.
    cfg.operation.phases = [
        PayerPhase(start="2023-01", payer="split_2024"),
        PayerPhase(start="2026-01", payer="reusers"),
        PayerPhase(start="2023-01", end="2024-12", payer="land_for_municipalities",
                   states=["HB"])]
    op = Operation(cfg.validate(), small_world)
    rng = np.random.default_rng(3)
    n = 300
    states = rng.integers(0, small_world.n_states, n)
    start = rng.uniform(40.0, 120.0, n)
    n_conn = rng.integers(0, 40, n).astype(float)
    budget = rng.uniform(0.0, 3000.0, n)
    budget[:5] = 0.0
    rows = op.municipal_start_rows(states, start, n_conn, budget)
    expect = np.array([_deferred_start_one_by_one(op, int(s), t, c, b)
                       for s, t, c, b in zip(states, start, n_conn, budget, strict=True)])
    fin = np.isfinite(expect)
    assert np.array_equal(np.isfinite(rows), fin)
    assert np.allclose(rows[fin], expect[fin], rtol=0, atol=1e-9)
    # The sample covers every case: at once, deferred, never, and deferred past the end of a
    # cheaper phase into a dearer one (where each phase must be checked within its bounds).
    assert (rows == start).any() and ((rows > start) & fin).any() and (~fin).any()
    assert ((start < 96.0) & (rows > 96.0) & fin).any()
    for li in range(small_world.n_states):
        i = states == li
        assert np.array_equal(rows[i], op.municipal_start(li, start[i], n_conn[i], budget[i]))


# ------------------------------------------------ running costs a programme takes over (7.3)

def _spending(r) -> pd.DataFrame:
    return pd.DataFrame(r.spending, columns=["t", "programme", "actor", "eur", "purpose"])


def test_a_programme_covering_operation_pays_the_running_costs_inside_its_window(
        small_world) -> None:
    """The stimulus's agreements take over the running costs from the money's flow to the
    end of 2022: the same tenancies cost the same in total, the programme pays the whole
    months inside its window and the payer rule (central: the Bund) the others; nothing
    else changes while the pot has money to spare."""
    runs = {}
    for covers in (["development"], ["development", "operation"]):
        cfg = make_config("strategy=efa", "operation=central", world=SMALL, end="2024-12")
        cfg.operation.admin_cost_eur_per_year = 0.0
        prog = cfg.funding.programmes[0]
        prog.covers, prog.flow_from, prog.agreement_months = covers, "2021-02", 3.0
        sim = Simulation(small_world, cfg.validate(), 0)
        runs[len(covers)] = (sim, sim.run())
    (s1, r1), (s2, r2) = runs[1], runs[2]
    np.testing.assert_array_equal(r1.t_state, r2.t_state)
    np.testing.assert_array_equal(r1.t_admin, r2.t_admin)
    assert s1.tenancies == s2.tenancies and not s1.operation_cover
    sp1, sp2 = _spending(r1), _spending(r2)
    name = "konjunkturpaket"
    paid = sp2[(sp2["programme"] == name) & (sp2["purpose"] == "operation")]
    assert paid["eur"].sum() > 0
    bund1 = sp1.loc[sp1["purpose"] == "running_costs_bund", "eur"].sum()
    bund2 = sp2.loc[sp2["purpose"] == "running_costs_bund", "eur"].sum()
    assert bund1 - bund2 == pytest.approx(paid["eur"].sum(), rel=1e-9)
    # One row per operator and year (2021, 2022), dated at its first month paid.
    assert paid["t"].between(37.0, 60.0, inclusive="left").all()
    assert not paid.assign(y=paid["t"] // 12).duplicated(["actor", "y"]).any()
    # By hand: every tenancy's whole months in [ceil(from), floor(to)) of its service.
    k = small_world.states["koenigstein_share"].to_numpy()
    cost = s2.cfg.operation.service_cost_eur_per_year
    expect = 0.0
    for svc, land, t in s2.tenancies:
        if svc in s2.operation_cover:
            _p, f, to, _op = s2.operation_cover[svc]
            assert f >= 37.0 and to == 60.0  # flow_from 2021-02; window to the end of 2022
            months = [m for m in range(60) if m >= math.floor(t) and f <= m and m + 1 <= to]
            expect += cost * k[land] / 12 * len(months)
    assert paid["eur"].sum() == pytest.approx(expect, rel=1e-9)
    # Committed covers every planned tenant until the window's end; what is paid is less.
    committed = sum(c[2] for c in r2.commitments if c[0] == name and c[3] == "operation")
    assert paid["eur"].sum() < committed
    dev_spent = sp2.loc[(sp2["programme"] == name) & (sp2["purpose"] == "development"), "eur"]
    assert sum(c[2] for c in r2.commitments if c[0] == name and c[3] == "development") \
        == pytest.approx(dev_spent.sum(), rel=1e-12)


def test_an_operation_agreement_is_all_or_nothing_and_only_while_money_can_flow(
        small_world) -> None:
    cfg = make_config(world=SMALL)
    p = cfg.funding.programmes[0]
    p.covers, p.amount_eur, p.agreement_months, p.flow_from = ["operation"], 1.0e6, 2.0, None
    p.start, p.end = "2021-01", "2021-12"  # months 36 .. 47, money until 48
    f = Funding(cfg.validate(), small_world, Ledger())
    assert f.agree_operation(30.0, "SH", "efa", 1.2e6) is None  # window not open
    assert f.agree_operation(40.0, "SH", "efa", 3.0e6) is None  # 1.5 M > the pot: nothing
    assert f.commitments == []
    got = f.agree_operation(40.0, "SH", "efa", 1.2e6)  # flows at 42: 6 months, 0.6 M
    assert got == (p.name, 42.0, 48.0)
    assert f.commitments == [(p.name, "SH", pytest.approx(0.6e6), "operation")]
    assert f.agree_operation(46.5, "SH", "efa", 1.2e6) is None  # would flow after the end
    assert f.agree_operation(40.0, "SH", "einzel", 1.2e6) is None  # not an eligible mode
    # A programme that covers only operation funds no contractors.
    assert f.grant(40.0, "SH", "efa", 500.0, 3.0, 18.0) == (0.0, None, math.inf)
    assert f.next_opening(10.0, "SH", "efa") is None
    assert f.next_opening(10.0, "SH", "efa", "operation") == 36.0


@pytest.mark.parametrize("covers", [[], ["roll_out"], ["operation", "operation"], "operation"])
def test_programme_covers_is_checked(covers) -> None:
    cfg = make_config()
    cfg.funding.programmes[0].covers = covers
    with pytest.raises(ConfigError, match=r"funding\.programmes\[0\]\.covers=.*development"):
        cfg.validate()
