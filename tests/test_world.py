"""The static world: executing levels, administrations, subsetting and lead states."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from helpers import TOY

from sim import data_io
from sim.errors import ConfigError
from sim.params import WorldParams
from sim.world import (
    FEDERAL,
    MUNICIPAL,
    SIZE_CLASS_BOUNDS,
    STATE,
    assign_executor,
    build_world,
    size_class_of,
)


def _state_index(world, abbr: str) -> int:
    return int(np.flatnonzero(world.states["state"].to_numpy() == abbr)[0])


# --------------------------------------------------------------------------- executors


def test_executor_counts_with_default_shares(germany_world) -> None:
    s = germany_world.summary()
    assert (s["services_federal"], s["services_state"], s["services_municipal"]) == \
        (125, 208, 224)


def test_executor_shares_as_configured() -> None:
    cat = data_io.load_catalogue()
    for share23, share45 in ((0.5, 0.6), (0.0, 1.0), (0.25, 0.1), (1.0, 0.0)):
        ex = assign_executor(cat, share23, share45)
        types = cat["service_type"].to_numpy()
        assert np.all(ex[types == "1"] == FEDERAL)
        for t, share in (("2/3", share23), ("4/5", share45)):
            n = int((types == t).sum())
            assert int((ex[types == t] == MUNICIPAL).sum()) == round(share * n)
            assert set(ex[types == t]) <= {STATE, MUNICIPAL}


def test_executor_assignment_is_stable() -> None:
    cat = data_io.load_catalogue()
    ex = pd.Series(assign_executor(cat, 0.5, 0.6), index=cat["ozg_id"])
    # Same answer again, and for the catalogue in another row order: it depends on the id.
    assert (assign_executor(cat, 0.5, 0.6) == ex.to_numpy()).all()
    shuffled = cat.sample(frac=1.0, random_state=3).reset_index(drop=True)
    ex2 = pd.Series(assign_executor(shuffled, 0.5, 0.6), index=shuffled["ozg_id"])
    pd.testing.assert_series_equal(ex2.sort_index(), ex.sort_index())


def test_larger_municipal_share_only_adds_municipal_services() -> None:
    cat = data_io.load_catalogue()
    low = assign_executor(cat, 0.3, 0.3) == MUNICIPAL
    high = assign_executor(cat, 0.6, 0.7) == MUNICIPAL
    assert np.all(high[low])
    assert high.sum() > low.sum()


def test_subset_world_keeps_executors_of_full_world(toy_world, germany_world) -> None:
    full = germany_world.services.set_index("ozg_id")["executor"]
    toy = toy_world.services.set_index("ozg_id")["executor"]
    pd.testing.assert_series_equal(toy, full.loc[toy.index])


def test_municipal_index_arrays(toy_world) -> None:
    ex = toy_world.services["executor"].to_numpy()
    muni = toy_world.municipal_services
    assert (ex[muni] == MUNICIPAL).all()
    assert len(muni) == int((ex == MUNICIPAL).sum())
    pos = toy_world.municipal_position
    assert (pos[muni] == np.arange(len(muni))).all()
    assert (pos[ex != MUNICIPAL] == -1).all()


# --------------------------------------------------------------------------- administrations


@pytest.mark.parametrize("name", ["toy_world", "small_world", "germany_world"])
def test_admins_sorted_by_state_with_slices(name: str, request) -> None:
    w = request.getfixturevalue(name)
    st = w.admins["state"].to_numpy()
    assert np.all(np.diff(st) >= 0)
    assert len(w.admin_slices) == w.n_states
    end = 0
    for i, (a0, a1) in enumerate(w.admin_slices):
        assert a0 == end, "slices are contiguous and in state order"
        assert a1 > a0, "every Land has at least one administration"
        assert (st[a0:a1] == i).all()
        end = a1
    assert end == w.n_admins
    pop = w.admins.groupby("state")["population"].sum().to_numpy()
    assert (w.states["population"].to_numpy() == pop).all()


def test_size_classes() -> None:
    bounds = np.asarray(SIZE_CLASS_BOUNDS[1:-1])
    pop = np.concatenate([bounds - 1, bounds, [1, 10**7]])
    got = size_class_of(pop)
    k = len(bounds)
    assert list(got[:k]) == list(range(k))          # just below a bound: the class below
    assert list(got[k:2 * k]) == list(range(1, k + 1))  # at a bound: the class above
    assert list(got[2 * k:]) == [0, k]


def test_toy_subsetting(toy_world, germany_world) -> None:
    w = toy_world
    # Länder in the official order of states.csv, whatever order the config lists them in.
    assert list(w.states["state"]) == ["HB", "SL", "BE"]
    reordered = build_world(WorldParams(name="t", states=["BE", "HB", "SL"],
                                        max_admins_per_state=10, services_per_topic=3))
    assert list(reordered.states["state"]) == ["HB", "SL", "BE"]
    assert w.states["koenigstein_share"].sum() == pytest.approx(1.0)
    assert list(w.states["is_city_state"]) == [True, False, True]
    # At most 10 administrations per Land; a Land with fewer keeps all of them.
    counts = np.bincount(w.admins["state"], minlength=3)
    full_admins = germany_world.admins
    for i, abbr in enumerate(w.states["state"]):
        n_full = int((full_admins["state"] == _state_index(germany_world, abbr)).sum())
        assert counts[i] == min(10, n_full)
    # The kept administrations of a thinned Land span its smallest to its largest.
    sl_full = full_admins[full_admins["state"] == _state_index(germany_world, "SL")]
    sl_toy = w.admins[w.admins["state"] == 1]
    assert len(sl_full) > 10
    assert sl_toy["population"].min() == sl_full["population"].min()
    assert sl_toy["population"].max() == sl_full["population"].max()
    assert set(sl_toy["admin_key"]) <= set(sl_full["admin_key"])
    # The first 3 services of every topic field, in catalogue order.
    cat = data_io.load_catalogue()
    expected = cat.groupby("topic", sort=False).head(3)["ozg_id"].tolist()
    assert w.services["ozg_id"].tolist() == expected
    assert w.n_services == 42
    assert (w.services.groupby("topic").size() == 3).all()


def test_unknown_state_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"^world\.states='XX' is not allowed"):
        build_world(WorldParams(states=["XX"]))


# --------------------------------------------------------------------------- lead states


def _topic_row(world, name: str) -> int:
    return int(np.flatnonzero(world.topics["topic"].to_numpy() == name)[0])


def _leads_of(world, topic_name: str) -> np.ndarray:
    svc = world.services
    sel = (svc["topic_name"] == topic_name) & (svc["executor"] != FEDERAL)
    return svc.loc[sel, "lead_state"].to_numpy()


def test_federal_services_have_no_lead(germany_world) -> None:
    svc = germany_world.services
    assert (svc.loc[svc["executor"] == FEDERAL, "lead_state"] == -1).all()
    assert (svc.loc[svc["executor"] != FEDERAL, "lead_state"] >= 0).all()


def test_single_lead_topic(germany_world) -> None:
    # Gesundheit is led by NI in the data.
    ni = _state_index(germany_world, "NI")
    assert germany_world.topics["lead_states"].iat[_topic_row(germany_world, "Gesundheit")] \
        == (ni,)
    assert (_leads_of(germany_world, "Gesundheit") == ni).all()


def test_querschnitt_without_lead_gets_fallback_lead_state(germany_world) -> None:
    assert data_io.load_topics().set_index("topic").at["Querschnitt", "lead_states"] == ()
    nw = _state_index(germany_world, "NW")
    leads = _leads_of(germany_world, "Querschnitt")
    assert len(leads) > 0
    assert (leads == nw).all()
    by = build_world(WorldParams(fallback_lead_state="BY"))
    assert (_leads_of(by, "Querschnitt") == _state_index(by, "BY")).all()
    # Topic fields with a lead in the data keep it.
    assert (_leads_of(by, "Gesundheit") == _state_index(by, "NI")).all()


def test_fallback_when_lead_or_fallback_is_outside_the_world(toy_world) -> None:
    # Toy world (HB, SL, BE): NW (fallback) is not in it, so the largest Land (BE) leads
    # Querschnitt and every topic field whose lead is outside; HB keeps Familie & Kind.
    be, hb = _state_index(toy_world, "BE"), _state_index(toy_world, "HB")
    assert (_leads_of(toy_world, "Querschnitt") == be).all()
    assert (_leads_of(toy_world, "Gesundheit") == be).all()  # NI not in the world
    assert (_leads_of(toy_world, "Familie & Kind") == hb).all()
    sl_fallback = build_world(WorldParams(**{**vars(copy.deepcopy(TOY)),
                                             "fallback_lead_state": "SL"}))
    sl = _state_index(sl_fallback, "SL")
    assert (_leads_of(sl_fallback, "Querschnitt") == sl).all()
    assert (_leads_of(sl_fallback, "Familie & Kind") == _state_index(sl_fallback, "HB")).all()


@pytest.mark.parametrize(("topic", "leads"), [("Mobilität & Reisen", ("HE", "BW")),
                                              ("Umwelt", ("RP", "SH"))])
def test_two_lead_topics_split_services_alternately(germany_world, topic: str,
                                                    leads: tuple[str, str]) -> None:
    w = germany_world
    idx = tuple(_state_index(w, s) for s in leads)
    assert w.topics["lead_states"].iat[_topic_row(w, topic)] == idx
    svc = w.services[w.services["topic_name"] == topic].reset_index(drop=True)
    # Position within the topic field (catalogue order, federal services included).
    expected = np.asarray(idx)[np.arange(len(svc)) % 2]
    expected[svc["executor"].to_numpy() == FEDERAL] = -1
    assert (svc["lead_state"].to_numpy() == expected).all()
    non_fed = svc.loc[svc["executor"] != FEDERAL, "lead_state"]
    assert set(non_fed) == set(idx), "both lead states build some services"
    # With only the first lead in the world, it leads all of them.
    one = build_world(WorldParams(states=[leads[0], "HB"]))
    assert (_leads_of(one, topic) == _state_index(one, leads[0])).all()
