"""Unit tests of the processes with deterministic durations: exact event times and money.

Conventions used in the hand computations: a team of ``team_fte`` FTE works
``team_fte * productive_days`` person-days per month (3 * 18 = 54 by default); with the
effort noise switched off (:func:`helpers.deterministic`) every single-Land build takes
``effort_person_days`` and every shared (multi-tenant) build ``(1 + shared_build_overhead)``
times that. Time is in months since 2018-01, so development starting ``2018-04`` is t = 3.
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from helpers import deterministic, make_config

from sim.model import (
    BUND,
    EV_DECLINED,
    EV_FUNDED,
    EV_ONLINE,
    EV_PUBLISHED,
    EV_REUSED,
    Builder,
    Funding,
    Ledger,
    Pot,
    Simulation,
    TeamPool,
    develop_service,
    hire_staff,
)
from sim.params import Config, ProgrammeParams
from sim.world import FEDERAL

DAY_RATE = 1670.0
DEV_START = 3.0  # 2018-04


def _programme(**kw) -> ProgrammeParams:
    base = dict(name="prog", amount_eur=1e9, start="2018-01", end="2030-12",
                allocation="project", eligible_modes=["efa"], external_fte_per_project=9.0,
                municipal_share=0.0)
    return ProgrammeParams(**{**base, **kw})


# --------------------------------------------------------------------------- TeamPool


@pytest.mark.parametrize(("fte", "team", "cap", "initial", "maximum"), [
    (10.0, 3.0, 1.5, 3, 5),
    (9.0, 3.0, 1.0, 3, 3),
    (9.0, 3.0, 1.5, 3, 4),
    (2.0, 3.0, 1.5, 0, 1),
    (0.0, 3.0, 2.0, 0, 0),
    (30.0, 2.5, 1.2, 12, 14),
])
def test_team_pool_sizes(fte, team, cap, initial, maximum) -> None:
    env = simpy.Environment()
    pool = TeamPool(env, fte, team, cap)
    assert pool.initial_teams == initial
    assert pool.teams == initial
    assert pool.hirable == maximum - initial
    for expected in range(initial + 1, maximum + 1):
        pool.hire_team()
        assert pool.teams == expected
    pool.hire_team()  # at the cap: nothing happens
    pool.hire_team()
    assert pool.teams == maximum
    assert pool.hirable == 0


def test_team_pool_grants_exactly_its_teams_in_priority_order() -> None:
    env = simpy.Environment()
    pool = TeamPool(env, 9.0, 3.0, 5 / 3)  # 3 teams now, 5 at the cap
    reqs = {p: pool.acquire(p) for p in (7, 2, 9, 4, 1, 8)}

    def granted() -> list[int]:
        env.run()  # a release takes effect when SimPy processes it
        return sorted(p for p, r in reqs.items() if r is None or r.triggered)

    # The first three requests get the three free teams, whatever their priority.
    assert granted() == [2, 7, 9]
    pool.hire_team()  # then the waiting request with the lowest priority value
    assert granted() == [1, 2, 7, 9]
    pool.hire_team()
    assert granted() == [1, 2, 4, 7, 9]
    pool.hire_team()  # cap reached: 8 keeps waiting
    assert granted() == [1, 2, 4, 7, 9]
    pool.release()  # the team of 7 finishes
    assert granted() == [1, 2, 4, 7, 8, 9]


def test_hire_staff_releases_one_team_per_lag() -> None:
    env = simpy.Environment()
    pool = TeamPool(env, 6.0, 3.0, 2.5)  # 2 teams now, 5 at the cap
    env.process(hire_staff(env, pool, start=5.0, lag_months=2.0,
                           rng=np.random.default_rng(0), cv=0.0))
    seen = []
    for t in (4.9, 6.9, 7.1, 8.9, 9.1, 11.1, 30.0):
        env.run(until=t)
        seen.append(pool.teams)
    assert seen == [2, 2, 3, 3, 4, 5, 5]


# --------------------------------------------------------------------------- Pot


def test_pot_commit_is_all_or_nothing_and_never_negative() -> None:
    pot = Pot(_programme(), BUND, 100.0, 0.0, 10.0)
    assert pot.commit(60.0)
    assert pot.remaining_eur == pytest.approx(40.0)
    assert not pot.commit(50.0)
    assert pot.remaining_eur == pytest.approx(40.0)
    assert pot.commit(40.0)
    assert pot.remaining_eur == 0.0
    assert not pot.commit(1.0)
    assert pot.remaining_eur == 0.0
    assert not pot.open_at(5.0), "an empty pot is closed"


def test_pot_window() -> None:
    pot = Pot(_programme(), BUND, 100.0, 32.0, 60.0)
    assert [pot.open_at(t) for t in (31.99, 32.0, 59.99, 60.0)] == [False, True, True, False]


# --------------------------------------------------------------------------- develop_service


class _StubSim:
    """The parts of a Simulation that ``develop_service`` uses."""

    def __init__(self, env: simpy.Environment, cfg: Config, world) -> None:
        self.env = env
        self.cfg = cfg
        self.ledger = Ledger()
        self.funding = Funding(cfg, world, self.ledger)
        self.events: list[tuple[float, int, int, str, str]] = []

    def log(self, code: int, service: int, actor: str, detail: str = "") -> None:
        self.events.append((self.env.now, code, service, actor, detail))


def _run_projects(toy_world, programmes, efforts, *, mode="efa", teams=1, start=0.0):
    """Run projects of one Land builder (HB) with ``teams`` teams of 3 FTE; return the stub."""
    cfg = make_config("funding=none")
    cfg.funding.programmes = list(programmes)
    cfg.validate()
    env = simpy.Environment()
    sim = _StubSim(env, cfg, toy_world)
    builder = Builder("HB", 0, TeamPool(env, 3.0 * teams, 3.0, 1.0),
                      np.arange(toy_world.n_services))

    def later(s, e):
        yield env.timeout(start)
        yield from develop_service(env, sim, builder, s, mode, e)

    for s, e in enumerate(efforts):
        env.process(later(s, e))
    env.run()
    return sim


def _times(sim, code):
    return [(t, s) for t, c, s, _a, _d in sim.events if c == code]


def test_unfunded_project_takes_effort_over_team_capacity(toy_world) -> None:
    sim = _run_projects(toy_world, [], [540.0], start=2.0)
    assert _times(sim, EV_ONLINE) == [(2.0 + 540.0 / (3 * 18), 0)]  # 12.0
    assert sim.ledger.rows == []


def test_one_team_works_projects_one_after_another(toy_world) -> None:
    sim = _run_projects(toy_world, [], [540.0, 270.0, 108.0])
    assert _times(sim, EV_ONLINE) == [(10.0, 0), (15.0, 1), (17.0, 2)]


def test_zero_effort_project_is_online_at_once(toy_world) -> None:
    sim = _run_projects(toy_world, [], [0.0], start=7.0)
    assert _times(sim, EV_ONLINE) == [(7.0, 0)]


def test_funded_project_duration_and_cost(toy_world) -> None:
    sim = _run_projects(toy_world, [_programme(start="2018-01")], [540.0], start=1.0)
    # (3 internal + 9 external) * 18 days = 216 person-days per month.
    assert _times(sim, EV_FUNDED) == [(1.0, 0)]
    assert _times(sim, EV_ONLINE) == [(1.0 + 540.0 / 216.0, 0)]  # 3.5
    cost = 540.0 * 9.0 / 12.0 * DAY_RATE  # the external share of the effort
    assert sim.ledger.rows == [(1.0, "prog", "HB", pytest.approx(cost), "development")]
    assert sim.funding.dev_pots[(BUND, "efa")][0].remaining_eur == pytest.approx(1e9 - cost)


def test_project_running_when_window_opens_is_funded_at_the_opening(toy_world) -> None:
    # Window opens 2018-05 (t = 4); the project started at t = 0 without money.
    sim = _run_projects(toy_world, [_programme(start="2018-05")], [540.0])
    remaining = 540.0 - 4 * 54.0  # 324 person-days left at the opening
    assert _times(sim, EV_FUNDED) == [(4.0, 0)]
    assert _times(sim, EV_ONLINE) == [(4.0 + remaining / 216.0, 0)]  # 5.5
    assert sim.ledger.rows == [(4.0, "prog", "HB", pytest.approx(remaining * 0.75 * DAY_RATE),
                                "development")]


def test_project_ending_before_window_opens_is_not_funded(toy_world) -> None:
    sim = _run_projects(toy_world, [_programme(start="2019-01")], [540.0])  # opens t = 12
    assert _times(sim, EV_ONLINE) == [(10.0, 0)]
    assert _times(sim, EV_FUNDED) == []
    assert sim.ledger.rows == []


def test_project_after_window_is_not_funded(toy_world) -> None:
    sim = _run_projects(toy_world, [_programme(start="2018-01", end="2018-02")], [540.0],
                        start=2.0)
    assert _times(sim, EV_ONLINE) == [(12.0, 0)]
    assert sim.ledger.rows == []


def test_pot_too_small_funds_nothing(toy_world) -> None:
    cost = 540.0 * 0.75 * DAY_RATE
    sim = _run_projects(toy_world, [_programme(amount_eur=cost - 1.0)], [540.0])
    assert _times(sim, EV_ONLINE) == [(10.0, 0)]
    assert sim.ledger.rows == []
    assert sim.funding.dev_pots[(BUND, "efa")][0].remaining_eur == cost - 1.0


def test_pot_pays_projects_until_it_cannot(toy_world) -> None:
    cost = 540.0 * 0.75 * DAY_RATE
    sim = _run_projects(toy_world, [_programme(amount_eur=2.5 * cost)], [540.0] * 4)
    # Two funded projects of 2.5 months, then two unfunded ones of 10 months.
    assert [t for t, _ in _times(sim, EV_ONLINE)] == [2.5, 5.0, 15.0, 25.0]
    assert len(sim.ledger.rows) == 2
    assert sim.funding.dev_pots[(BUND, "efa")][0].remaining_eur == pytest.approx(0.5 * cost)


def test_ineligible_mode_is_not_funded(toy_world) -> None:
    sim = _run_projects(toy_world, [_programme(eligible_modes=["efa"])], [540.0],
                        mode="einzel")
    assert _times(sim, EV_ONLINE) == [(10.0, 0)]
    assert sim.ledger.rows == []


def test_koenigstein_pot_pays_only_its_own_land(toy_world) -> None:
    prog = _programme(allocation="koenigstein", eligible_modes=["einzel"], amount_eur=1e7)
    sim = _run_projects(toy_world, [prog], [540.0], mode="einzel")
    shares = dict(zip(toy_world.states["state"], toy_world.states["koenigstein_share"],
                      strict=True))
    assert [h for _p, h, _e in sim.funding.initial] == ["HB", "SL", "BE"]
    assert [e for _p, _h, e in sim.funding.initial] == \
        pytest.approx([1e7 * shares[s] for s in ("HB", "SL", "BE")])
    assert _times(sim, EV_ONLINE) == [(2.5, 0)]
    cost = 540.0 * 0.75 * DAY_RATE
    assert sim.funding.dev_pots[("HB", "einzel")][0].remaining_eur == \
        pytest.approx(1e7 * shares["HB"] - cost)
    assert sim.funding.dev_pots[("BE", "einzel")][0].remaining_eur == \
        pytest.approx(1e7 * shares["BE"])


# --------------------------------------------------------------------------- Simulation


def _toy_cfg(*overrides: str) -> Config:
    cfg = deterministic(make_config("world=toy", *overrides))
    cfg.development.effort_person_days = 540.0
    cfg.development.shared_build_overhead = 0.0
    cfg.staffing.staff_cap_factor = 1.0  # no hiring
    return cfg


def _fed(world) -> np.ndarray:
    return np.flatnonzero(world.services["executor"].to_numpy() == FEDERAL)


def test_bund_with_one_team_builds_in_its_work_order(toy_world) -> None:
    # Regression: all projects ask for a team at t = 3 and SimPy grants a free team to the
    # first request, so the first team used to go to the first federal service of the
    # catalogue (rank 39 of 42 in this seed) instead of the lowest work-order rank.
    cfg = _toy_cfg("funding=none")
    cfg.staffing.bund_fte = 3.0
    sim = Simulation(toy_world, cfg, 0)
    sim.run()
    L = toy_world.n_states
    fed = _fed(toy_world)
    online = {s: t for t, c, s, a, _d in sim.events if c == EV_ONLINE and a == BUND}
    # One federal service every 10 months from t = 3, lowest work-order rank first.
    order = fed[np.argsort(sim.draws.priority[L][fed])]
    expected = {int(s): DEV_START + 10.0 * (k + 1) for k, s in enumerate(order)
                if DEV_START + 10.0 * (k + 1) < sim.horizon}
    assert online == expected
    for s in fed:
        assert (sim.t_state[s] == expected.get(int(s), np.inf)).all()


def test_bund_with_enough_teams_builds_everything_at_once(toy_world) -> None:
    cfg = _toy_cfg("funding=none")
    fed = _fed(toy_world)
    cfg.staffing.bund_fte = 3.0 * len(fed)
    sim = Simulation(toy_world, cfg, 0)
    sim.run()
    assert (sim.t_state[fed] == DEV_START + 10.0).all()


def test_federal_project_funded_when_window_opens(toy_world) -> None:
    cfg = _toy_cfg("funding=none")
    cfg.staffing.bund_fte = 3.0
    full = 540.0 * 0.75 * DAY_RATE
    first = 54.0 * 0.75 * DAY_RATE  # the project running at the opening has 54 pd left
    cfg.funding.programmes = [_programme(name="fed", start="2020-09", end="2022-12",
                                         eligible_modes=["federal"],
                                         amount_eur=first + 2 * full)]
    cfg.validate()
    sim = Simulation(toy_world, cfg, 0)
    sim.run()
    online = sorted(t for t, c, _s, a, _d in sim.events if c == EV_ONLINE and a == BUND)
    # Projects [3, 13), [13, 23), [23, ...): at t = 32 (2020-09) the third has
    # 540 - 9 * 54 = 54 pd left, funded: done 0.25 months later; then two fully funded
    # projects of 2.5 months; the pot is empty and the rest take 10 months each.
    assert online[:6] == [13.0, 23.0, 32.25, 34.75, 37.25, 47.25]
    funded = [(t, a, d) for t, c, _s, a, d in sim.events if c == EV_FUNDED]
    assert funded == [(32.0, BUND, "fed"), (32.25, BUND, "fed"), (34.75, BUND, "fed")]
    rows = [r for r in sim.ledger.rows if r[1] == "fed"]
    assert [(r[0], r[2], r[4]) for r in rows] == [(32.0, BUND, "development"),
                                                  (32.25, BUND, "development"),
                                                  (34.75, BUND, "development")]
    assert [r[3] for r in rows] == pytest.approx([first, full, full])
    assert sim.funding.dev_pots[(BUND, "federal")][0].remaining_eur == pytest.approx(0.0,
                                                                                   abs=1e-6)


def _reuse_cfg(propensity: float, slots: int) -> Config:
    cfg = _toy_cfg("funding=none", "strategy=efa")
    st = cfg.staffing
    st.state_fte_base, st.state_fte_per_million, st.lead_fte_per_service = 300.0, 0.0, 0.0
    cfg.development.shared_build_overhead = 0.3
    cfg.development.publication_months = 1.0
    f = cfg.sharing.efa
    f.decision_months, f.contract_months, f.tenant_onboarding_months = 6.0, 4.0, 1.5
    f.propensity, f.operator_onboarding_slots, f.fee_eur = propensity, slots, 25_000.0
    return cfg.validate()


def _efa_services(world) -> np.ndarray:
    return np.flatnonzero(world.services["executor"].to_numpy() != FEDERAL)


def test_reuse_chain_gives_exact_availability_in_tenant_lands(toy_world) -> None:
    sim = Simulation(toy_world, _reuse_cfg(propensity=1.0, slots=1000), 0)
    sim.run()
    lead = toy_world.services["lead_state"].to_numpy()
    online = DEV_START + 540.0 * 1.3 / 54.0  # 16: shared build with 30 % overhead
    published = online + 1.0
    contract = published + 6.0 + 4.0  # decision, then contract: the fee is paid
    available = contract + 1.5  # tenant onboarding by the operator: 28.5
    svc = _efa_services(toy_world)
    for s in svc:
        for land in range(toy_world.n_states):
            assert sim.t_state[s, land] == (online if land == lead[s] else available)
    pubs = [(t, s) for t, c, s, _a, d in sim.events if c == EV_PUBLISHED]
    assert sorted(pubs) == [(published, int(s)) for s in svc]
    reused = [t for t, c, *_ in sim.events if c == EV_REUSED]
    assert reused == [available] * (2 * len(svc))
    fees = [r for r in sim.ledger.rows if r[1] == "own_funds"]
    assert len(fees) == 2 * len(svc)
    assert {(r[0], r[3], r[4]) for r in fees} == {(contract, 25_000.0, "reuse_fee")}
    assert sim.market.take_ups == {int(s): 2 for s in svc}


def test_operator_onboarding_slot_queues_tenants(toy_world) -> None:
    sim = Simulation(toy_world, _reuse_cfg(propensity=1.0, slots=1), 0)
    sim.run()
    lead = toy_world.services["lead_state"].to_numpy()
    svc = _efa_services(toy_world)
    for op in np.unique(lead[svc]):
        mine = svc[lead[svc] == op]
        tenant_times = sorted(t for s in mine for land, t in enumerate(sim.t_state[s])
                              if land != op)
        # One slot: the operator onboards its 2 * n tenants one after another from t = 27.
        expected = [27.0 + 1.5 * (k + 1) for k in range(2 * len(mine))]
        expected = [t if t < sim.horizon else np.inf for t in expected]
        assert tenant_times == pytest.approx(expected)


def test_declined_reuse_builds_own_copy(toy_world) -> None:
    sim = Simulation(toy_world, _reuse_cfg(propensity=0.0, slots=8), 0)
    sim.run()
    lead = toy_world.services["lead_state"].to_numpy()
    svc = _efa_services(toy_world)
    decided = DEV_START + 540.0 * 1.3 / 54.0 + 1.0 + 6.0  # 23
    for s in svc:
        for land in range(toy_world.n_states):
            if land != lead[s]:
                assert sim.t_state[s, land] == decided + 540.0 / 54.0  # unshared build: 33
    declined = [t for t, c, *_ in sim.events if c == EV_DECLINED]
    assert declined == [decided] * (2 * len(svc))
    assert [t for t, c, *_ in sim.events if c == EV_REUSED] == []
    assert [r for r in sim.ledger.rows if r[1] == "own_funds"] == []


def test_municipal_onboarding_is_a_fifo_queue_per_administration(toy_world) -> None:
    cfg = _reuse_cfg(propensity=1.0, slots=1000)
    cfg.providers.enabled = False  # every administration connects itself
    cfg.municipal.onboarding_effort_person_days = 9.0
    cfg.municipal.external_share_when_funded = 0.0
    sim = Simulation(toy_world, cfg, 0)
    sim.run()
    muni = toy_world.municipal_services
    lead = toy_world.services["lead_state"].to_numpy()
    fte = np.asarray(cfg.staffing.municipal_fte_by_size_class)
    lag = np.asarray(cfg.municipal.info_lag_months_by_size_class)
    admins = toy_world.admins
    for a in range(toy_world.n_admins):
        land = int(admins["state"].iat[a])
        c = int(admins["size_class"].iat[a])
        duration = 9.0 / (fte[c] * 18.0)
        # Services led by the administration's Land arrive at 16, the others at 28.5.
        n_own = int((lead[muni] == land).sum())
        n_other = len(muni) - n_own
        expected = [16.0 + lag[c] + duration * (k + 1) for k in range(n_own)]
        free = expected[-1] if expected else 0.0
        start = max(28.5 + lag[c], free)
        expected += [start + duration * (k + 1) for k in range(n_other)]
        assert sorted(sim.t_admin[:, a]) == pytest.approx(expected)


def test_municipal_funding_buys_external_share(toy_world) -> None:
    cfg = _reuse_cfg(propensity=1.0, slots=1000)
    cfg.providers.enabled = False  # every administration connects itself
    cfg.municipal.onboarding_effort_person_days = 9.0
    cfg.municipal.external_share_when_funded = 0.75
    cfg.funding.programmes = [_programme(name="muni", amount_eur=1e9, municipal_share=1.0,
                                         eligible_modes=["efa"])]
    cfg.validate()
    sim = Simulation(toy_world, cfg, 0)
    sim.run()
    muni_rows = [r for r in sim.ledger.rows if r[4] == "municipal_onboarding"]
    n_pairs = len(toy_world.municipal_services) * toy_world.n_admins
    total = sum(r[3] for r in muni_rows)
    assert total == pytest.approx(n_pairs * 0.75 * 9.0 * DAY_RATE)
    # Internal work is a quarter of the effort: the lead Land's own services arrive at 16.
    a = toy_world.admin_slices[2][0]  # Berlin, one administration
    c = int(toy_world.admins["size_class"].iat[a])
    lag = cfg.municipal.info_lag_months_by_size_class[c]
    fte = cfg.staffing.municipal_fte_by_size_class[c]
    lead = toy_world.services["lead_state"].to_numpy()[toy_world.municipal_services]
    first = np.sort(sim.t_admin[lead == 2, a])[0]
    assert first == pytest.approx(16.0 + lag + 0.25 * 9.0 / (fte * 18.0))
    assert [r for r in sim.ledger.rows if r[4] == "development"] == []
