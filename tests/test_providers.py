"""Municipal IT providers and Land platforms as roll-out channels (MODEL.md 7.6a), in
isolation: the preparation queue of a body, the reach of a channel, who is served by which
channel, and what a served administration's connection looks like in a run. The paired
checks against the naive reference are in ``tests/test_naive_reference.py``."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from helpers import make_config

from sim.errors import ConfigError
from sim.model import Simulation, simulate
from sim.model.providers import Channels, body_ready_times, reach
from sim.params import ProvidersParams, WorldParams
from sim.world import build_world

INF = np.inf


def test_body_prepares_in_release_order_with_its_slots() -> None:
    t = np.array([1.0, 1.0, 2.0, INF, 0.5])
    prep = np.array([3.0, 1.0, 1.0, 1.0, 1.0])
    # one slot: 1 -> 4, then 4 -> 5, then 5 -> 6; padding never; released before the
    # channel operated (0.5 < start 0.9): not taken
    np.testing.assert_allclose(body_ready_times(t, prep, 0.9, 1), [4, 5, 6, INF, INF])
    # two slots: 1 -> 4 and 1 -> 2 at once, the third starts when the second is free, the
    # last (in release order, whatever its time) when the next slot is free (3 -> 4)
    np.testing.assert_allclose(body_ready_times(t, prep, 0.0, 2), [4, 2, 3, INF, 4])


@pytest.mark.parametrize("q, expected", [(0.0, 0.2), (0.25, 0.35), (0.5, 0.5), (0.75, 0.7),
                                         (1.0, 0.9)])
def test_reach_interpolates_the_documented_range(q: float, expected: float) -> None:
    p = ProvidersParams(share_quantile=q)
    got = reach(p, np.array([0.2]), np.array([0.5]), np.array([0.9]))
    assert got[0] == pytest.approx(expected)


@pytest.fixture(scope="module")
def three_lands():
    """Saarland (one channel reaching all), Thüringen (two, reaching part), NRW (three,
    one of them 28 bodies)."""
    return build_world(WorldParams(name="prov", states=["SL", "TH", "NW"],
                                   max_admins_per_state=60, services_per_topic=3))


def _channels(world, **kw) -> Channels:
    p = ProvidersParams(**{"enabled": True, **kw})
    B = int(world.channels.groupby("state")["n_bodies"].sum().max())
    prep = np.ones((len(world.municipal_services), world.n_states, B))
    return Channels(world, p, prep)


def test_who_is_served_follows_reach_start_and_the_earliest_channel(three_lands) -> None:
    w = three_lands
    ch = _channels(w, preparation_months=2.0, slots_per_body=100)
    codes = list(w.states["state"])
    t = np.array([10.0, 40.0, 100.0])
    pos = np.arange(3)
    for code in codes:
        li = codes.index(code)
        a0, a1 = w.admin_slices[li]
        u = w.admins["rollout_u"].to_numpy()[a0:a1]
        rows = w.channels[w.channels["state"] == li]
        served, ready = ch.route(li, t, pos) or (np.zeros((3, a1 - a0), bool), None)
        for k, tk in enumerate(t):
            operating = rows[rows["from_month"] <= tk]
            share = reach(ch.p, operating["share_low"].to_numpy(),
                          operating["share_central"].to_numpy(),
                          operating["share_high"].to_numpy())
            expect = u < (share.max() if len(share) else 0.0)
            np.testing.assert_array_equal(served[k], expect, err_msg=f"{code} t={tk}")
            if ready is not None:
                # a body with enough slots prepares each service in preparation_months
                np.testing.assert_allclose(ready[k][served[k]], tk + 2.0)
                assert np.isinf(ready[k][~served[k]]).all()
    # Saarland's one channel reaches everybody from 2018-01
    sl = codes.index("SL")
    served, _ = ch.route(sl, t, pos)
    assert served.all()


def test_a_busy_body_queues_and_fragmented_channels_prepare_separately(three_lands) -> None:
    w = three_lands
    ch = _channels(w, preparation_months=1.0, slots_per_body=1)
    li = list(w.states["state"]).index("SL")
    t = np.array([10.0, 10.0, 10.0])
    served, ready = ch.route(li, t, np.arange(3))
    np.testing.assert_allclose(ready[:, 0], [11.0, 12.0, 13.0])  # one slot, release order
    # NRW: the KDN providers are 28 bodies; administrations of different bodies are
    # served by different queues (same times here, as the draws are all 1)
    nw = list(w.states["state"]).index("NW")
    served, ready = ch.route(nw, np.array([60.0]), np.array([0]))
    assert served.any()


def test_disabled_channels_change_nothing_else(three_lands) -> None:
    w = three_lands
    off = make_config("providers.enabled=false", world=WorldParams(
        name="prov", states=["SL", "TH", "NW"], max_admins_per_state=60, services_per_topic=3))
    no_channels = dataclasses.replace(w, channels=w.channels.iloc[:0])
    a = simulate(w, off, 0)
    b = simulate(no_channels, dataclasses.replace(off, providers=ProvidersParams()), 0)
    np.testing.assert_array_equal(a.t_admin, b.t_admin)
    np.testing.assert_array_equal(a.t_state, b.t_state)


def test_channels_shorten_connections_of_served_administrations(three_lands) -> None:
    w = three_lands
    world_p = WorldParams(name="prov", states=["SL", "TH", "NW"], max_admins_per_state=60,
                          services_per_topic=3)
    on = make_config("providers.enabled=true", "providers.preparation_months=0.5",
                     "providers.member_effort_factor=0.1", world=world_p)
    off = copy.deepcopy(on)
    off.providers.enabled = False
    sim_on = Simulation(w, on, 0)
    a = sim_on.run()
    b = simulate(w, off, 0)
    sl = list(w.states["state"]).index("SL")
    a0, a1 = w.admin_slices[sl]
    fin = np.isfinite(b.t_admin[:, a0:a1])
    # Saarland: everybody served from the start; with a fast channel and a small
    # activation effort the Land is fully connected sooner for most services
    full_on = a.t_admin[:, a0:a1].max(axis=1)
    full_off = b.t_admin[:, a0:a1].max(axis=1)
    both = np.isfinite(full_off) & fin.all(axis=1)
    assert both.any()
    assert np.mean(full_on[both] <= full_off[both]) > 0.8


def test_bad_provider_values_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"providers\.share_quantile"):
        make_config("providers.share_quantile=2")
    with pytest.raises(ConfigError, match=r"providers\.slots_per_body"):
        make_config("providers.slots_per_body=0")
