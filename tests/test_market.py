"""Vendor products (MODEL.md 7.5a): a builder still waiting for a team may buy a product
that a vendor offers after a service's first go-live, instead of building it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import simpy
from helpers import SMALL, deterministic, make_config

from sim.calendar import month_index
from sim.errors import ConfigError
from sim.metrics import series_shares
from sim.model import EV_BOUGHT, EV_ONLINE, EV_PUBLISHED, Simulation, TeamPool
from sim.params import WorldParams
from sim.world import FEDERAL, World, build_world


def _run(world: World, *overrides: str, replication: int = 0,
         det: bool = False) -> tuple[Simulation, object]:
    cfg = make_config(*overrides, world=SMALL)  # the ``small_world`` fixture
    if det:
        deterministic(cfg)
    sim = Simulation(world, cfg, replication)
    return sim, sim.run()


# -- the team queue -----------------------------------------------------------


def test_a_withdrawn_request_never_gets_a_team() -> None:
    env = simpy.Environment()
    pool = TeamPool(env, initial_fte=1.0, team_fte=1.0, cap_factor=1.0)
    assert pool.acquire(0) is None  # the only team
    first, second = pool.acquire(1), pool.acquire(2)
    assert first is not None and second is not None
    pool.withdraw(first)
    pool.release()
    assert second.triggered and not first.triggered
    pool.release()  # nobody waits: the team is idle again
    assert pool.idle == 1
    with pytest.raises(RuntimeError):
        pool.withdraw(second)


# -- the mechanism in a run ---------------------------------------------------


def test_builds_buy_only_after_a_first_go_live_elsewhere(small_world: World) -> None:
    sim, res = _run(small_world, "strategy=einzel", "market.adoption_share=1.0")
    bought = [e for e in res.events if e.code == EV_BOUGHT]
    assert bought, "with every waiting builder buying, some products must be bought"
    online = {}
    for e in res.events:
        if e.code == EV_ONLINE:
            online.setdefault(e.service, []).append((e.t, e.actor))
    mk = sim.cfg.market
    for e in bought:
        first_t, first_actor = min(online[e.service])
        assert first_actor != e.actor  # the first build was someone else's
        # offered after the product lag, then tendered and configured
        b = [*small_world.states["state"]].index(e.actor)
        lag = (mk.product_lag_months * sim.draws.product_lag[e.service]
               + mk.procurement_months * sim.draws.procurement[e.service, b]
               + mk.integration_months * sim.draws.integration[e.service, b])
        assert e.t >= first_t + lag - 1e-9
        assert res.t_state[e.service, b] == pytest.approx(e.t)
        # a builder that bought never built the service itself
        assert (e.t, e.actor) not in online[e.service]
        assert all(a != e.actor for _t, a in online[e.service])


def test_zero_lags_buy_at_the_first_go_live(small_world: World) -> None:
    _sim, res = _run(small_world, "strategy=einzel", "market.adoption_share=1.0",
                    "market.product_lag_months=0", "market.procurement_months=0",
                    "market.integration_months=0")
    first = np.nanmin(np.where(np.isfinite(res.t_state), res.t_state, np.nan), axis=1)
    bought = [e for e in res.events if e.code == EV_BOUGHT]
    assert bought
    for e in bought:
        assert e.t == pytest.approx(first[e.service])


def test_the_price_is_a_share_of_the_own_build(small_world: World) -> None:
    sim, res = _run(small_world, "strategy=einzel", "market.adoption_share=1.0",
                    "market.price_share=0.4")
    codes = [*small_world.states["state"]]
    bought = sorted((e.t, e.service, e.actor) for e in res.events if e.code == EV_BOUGHT)
    paid = sorted((s.t, s.actor, s.eur) for s in res.spending if s.purpose == "vendor_product")
    assert len(paid) == len(bought) > 0
    expected = sorted((t, a, 0.4 * sim.effort_pd(s, codes.index(a), False)
                       * sim.cfg.funding.day_rate_eur) for t, s, a in bought)
    for (t1, a1, eur), (t2, a2, want) in zip(paid, expected, strict=True):
        assert (t1, a1) == (t2, a2) and eur == pytest.approx(want)


def test_products_bring_einzel_services_to_more_laender(small_world: World) -> None:
    """The mechanism's purpose: without sharing, products spread services across Länder."""
    nonfed = small_world.services["executor"].to_numpy() != FEDERAL
    counts = {}
    for on in ("false", "true"):
        got = []
        for r in range(3):
            _sim, res = _run(small_world, "strategy=einzel", f"market.enabled={on}",
                             "market.adoption_share=1.0", replication=r)
            got.append(np.isfinite(res.t_state[nonfed]).all(axis=1).mean())
        counts[on] = float(np.mean(got))
    assert counts["true"] > counts["false"]


def test_off_no_product_and_efa_untouched(small_world: World) -> None:
    _sim, res = _run(small_world, "strategy=einzel", "market.enabled=false")
    assert not any(e.code == EV_BOUGHT for e in res.events)
    assert not any(s.purpose == "vendor_product" for s in res.spending)
    # EfA builds never buy: a run under EfA is the same with vendors on and off
    _s1, on = _run(small_world, "strategy=efa", "market.enabled=true",
                   "market.adoption_share=1.0")
    _s2, off = _run(small_world, "strategy=efa", "market.enabled=false")
    np.testing.assert_array_equal(on.t_state, off.t_state)
    np.testing.assert_array_equal(on.t_admin, off.t_admin)
    assert on.spending == off.spending


def test_efv_groups_buy_and_share_what_they_bought() -> None:
    """A group builder that buys publishes the product to its group like a build."""
    wp = WorldParams(name="efv3", states=["SH", "HB", "NW"], max_admins_per_state=10,
                     services_per_topic=6)
    world = build_world(copy.deepcopy(wp))
    cfg = make_config("strategy=efv", "market.adoption_share=1.0",
                      "staffing.lead_fte_per_service=0", world=wp)  # the group queues
    sim = Simulation(world, cfg, 0)
    res = sim.run()
    codes = [*world.states["state"]]
    group_builders = {(s, sim.builders[b].code) for s, groups in enumerate(sim._plan)
                      for b, members, _mode in groups if len(members) > 1}
    bought = {(e.service, e.actor) for e in res.events if e.code == EV_BOUGHT}
    published = {(e.service, e.actor) for e in res.events if e.code == EV_PUBLISHED}
    by_group = bought & group_builders
    assert by_group, "the SH-HB group must buy some of what NW built first"
    assert by_group <= published
    # the other member of the group (SH or HB) takes up what its builder bought
    other = {"SH": codes.index("HB"), "HB": codes.index("SH")}
    assert np.isfinite([res.t_state[s, other[a]] for s, a in by_group]).any()


@pytest.mark.parametrize("override, key", [
    ("market.modes=[efa,foo]", "market.modes"),
    ("market.adoption_share=1.5", "market.adoption_share"),
    ("market.procurement_months=-1", "market.procurement_months"),
    ("market.price_share=-0.1", "market.price_share"),
])
def test_bad_market_values_name_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        make_config(override)


@pytest.mark.parametrize("strategy", ["efv", "einzel"])
def test_without_efa_some_services_are_nationwide_by_2026(germany_world: World,
                                                          strategy: str) -> None:
    """The pattern of issue 11, section 3: EfV and single-Land worlds are slower than EfA,
    but they do bring some non-federal services to every administration of every Land by
    2026 (through products bought from vendors), not none."""
    cfg = make_config(f"strategy={strategy}", "calibrated=historical", end="2026-12")
    res = Simulation(germany_world, cfg, 0).run()
    nationwide = series_shares(germany_world, res, ["nationwide_nonfederal"],
                               cfg.observation)[0, month_index("2026-12")]
    assert nationwide > 0
    off = make_config(f"strategy={strategy}", "calibrated=historical",
                      "market.enabled=false", end="2026-12")
    res_off = Simulation(germany_world, off, 0).run()
    assert series_shares(germany_world, res_off, ["nationwide_nonfederal"], off.observation)[
        0, month_index("2026-12")] < nationwide
