"""Land programmes (MODEL.md 7.9) and staff frictions (7.4), each in isolation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import check_invariants, make_config

from sim.model import Funding, Ledger, Simulation, TeamPool, municipal_allocation
from sim.params import WorldParams
from sim.runner import run_replications
from sim.world import build_world

LANDS = WorldParams(name="lands", states=["HE", "BW", "BY", "NW", "HB"],
                    max_admins_per_state=60, services_per_topic=6)
MODEL_REGIONS = {"05334", "05513", "05711", "05754", "05758", "05762", "05766", "05770",
                 "05774", "05974", "05124"}


@pytest.fixture(scope="module")
def lands_world():
    return build_world(LANDS)


def _admin_state(world) -> np.ndarray:
    return world.states["state"].to_numpy()[world.admins["state"].to_numpy()]


def test_land_money_goes_only_to_its_land_and_the_named_kreise(germany_world) -> None:
    w = germany_world
    cfg = make_config("state_programmes=all")
    f = Funding(cfg, w, Ledger())
    by_name = {p.name: (p, eur) for p, eur, _s, _e in f.municipal}
    st = _admin_state(w)
    for name, land in (("starke_heimat_hessen", "HE"), ("digitales_rathaus", "BY"),
                       ("nrw_modellregionen", "NW"), ("hessen_vereinbarung", "HE")):
        p, eur = by_name[name]
        assert eur.sum() == pytest.approx(p.amount_eur * p.municipal_share, rel=1e-12)
        assert (eur[st != land] == 0).all() and (eur[st == land] > 0).any()
    _p, nrw = by_name["nrw_modellregionen"]
    in_region = w.admins["kreis_ags"].astype(str).isin(MODEL_REGIONS).to_numpy()
    assert (nrw[~in_region] == 0).all() and (nrw[in_region] > 0).all()
    # Bayern: the same amount per member municipality, 20,000 EUR.
    _p, by = by_name["digitales_rathaus"]
    n = w.admins["n_municipalities"].to_numpy()
    assert np.allclose(by[st == "BY"] / n[st == "BY"], 20000.0, rtol=1e-3)
    # Hessen's development money is a pot only Hessian projects may draw on.
    pots = [p for pots in f.dev_pots.values() for p in pots
            if p.programme.name == "hessen_vereinbarung"]
    assert pots and all(p.serves("HE") and not p.serves("NW") for p in pots)


def test_municipal_allocation_per_capita_is_proportional(germany_world) -> None:
    w = germany_world
    cfg = make_config("state_programmes=hessen")
    p = cfg.all_programmes()[-1]
    share = municipal_allocation(p, w)
    he = _admin_state(w) == "HE"
    pop = w.admins["population"].to_numpy()
    assert share.sum() == pytest.approx(1.0)
    assert np.allclose(share[he], pop[he] / pop[he].sum())


def test_land_money_is_spent_only_by_its_land(lands_world) -> None:
    cfg = make_config("state_programmes=all", world=LANDS, replications=2, end="2025-12")
    res = run_replications(lands_world, cfg, workers=1)
    budgets = Simulation(lands_world, cfg, 0).funding.initial
    check_invariants(res.tables, budgets, cfg.horizon_months)
    sp = res.tables["spending"]
    for prog, land in (("starke_heimat_hessen", "HE"), ("digitales_rathaus", "BY"),
                       ("hessen_vereinbarung", "HE")):
        rows = sp[sp["programme"] == prog]
        assert len(rows) > 0 and set(rows["actor"]) == {land}


def test_funding_rate_makes_the_same_money_last_longer(lands_world) -> None:
    """At an 80 % rate each funded onboarding costs the programme 80 % of the contractors."""
    spent = {}
    for rate in (1.0, 0.8):
        cfg = make_config("state_programmes=bayern", "funding=none", world=LANDS, end="2021-12")
        cfg.state_programmes["bayern"].funding[0].funding_rate = rate
        cfg.state_programmes["bayern"].funding[0].amount_eur = 1e12  # never exhausted
        r = Simulation(lands_world, cfg.validate(), 0).run()
        sp = pd.DataFrame(r.spending, columns=["t", "programme", "actor", "eur", "purpose"])
        spent[rate] = sp.loc[sp["programme"] == "digitales_rathaus", "eur"].sum()
    assert spent[1.0] > 0
    assert spent[0.8] == pytest.approx(0.8 * spent[1.0], rel=1e-9)


def _t_admin(world, *overrides: str, rep: int = 0) -> np.ndarray:
    cfg = make_config("funding=none", *overrides, world=LANDS, end="2026-12")
    return Simulation(world, cfg, rep).run().t_admin


def test_digitallotsen_shorten_the_information_lag_and_speed_onboarding(lands_world) -> None:
    st = _admin_state(lands_world)
    base = _t_admin(lands_world)
    lotsen = _t_admin(lands_world, "state_programmes=bw")
    bw = st == "BW"
    # Only Baden-Württemberg changes; there every connection is as early or earlier.
    assert np.array_equal(base[:, ~bw], lotsen[:, ~bw])
    fin = np.isfinite(base[:, bw])
    assert (lotsen[:, bw][fin] <= base[:, bw][fin] + 1e-9).all()
    assert np.mean(lotsen[:, bw][fin] < base[:, bw][fin] - 1e-9) > 0.5
    # The lag alone (no extra staff) already moves the first connection of every service.
    cfg = make_config("funding=none", "state_programmes=bw", world=LANDS, end="2026-12")
    cfg.state_programmes["bw"].support[0].fte_factor = 1.0
    lag_only = Simulation(lands_world, cfg.validate(), 0).run().t_admin
    first = lambda t: np.min(t[:, bw], axis=1)  # noqa: E731
    ok = np.isfinite(first(base))
    assert (first(lag_only)[ok] < first(base)[ok]).mean() > 0.5


def test_bayernstore_lowers_effort_only_for_its_top_services(lands_world) -> None:
    cfg = make_config("funding=none", "state_programmes=bayern", world=LANDS)
    assert cfg.state_programmes["bayern"].support[0].max_services == 54
    cfg.state_programmes["bayern"].support[0].max_services = 10  # the test world is small
    sim = Simulation(lands_world, cfg.validate(), 0)
    mask = sim.top_services(10)
    muni = sim._is_municipal
    assert mask.sum() == 10 and muni.sum() > 10 and not (mask & ~muni).any()
    n_leika = lands_world.services["n_leika"].to_numpy()
    assert n_leika[mask].min() >= n_leika[muni & ~mask].max()
    by = list(lands_world.states["state"]).index("BY")
    (_s0, _s1, _lag, eff, _fte, smask), = sim.municipal.support[by]
    assert eff == 0.5 and np.array_equal(smask, mask)


def test_team_pool_attrition_and_training() -> None:
    import simpy
    env = simpy.Environment()
    pool = TeamPool(env, initial_fte=9.0, team_fte=3.0, cap_factor=1.0)
    assert (pool.teams, pool.idle, pool.hirable) == (3, 3, 0)
    got = [pool.acquire(0) for _ in range(2)]
    assert all(e is None for e in got) and pool.idle == 1  # idle teams: at once
    pool.lose_team()  # the idle team leaves at once and opens a post
    assert (pool.teams, pool.idle, pool.hirable) == (2, 0, 1)
    pool.lose_team()  # a busy team leaves when its project is done
    assert (pool.teams, pool.leaving) == (2, 1)
    waiting = pool.acquire(0)
    assert waiting is not None
    pool.release()  # the leaving team goes; the waiting project still waits
    assert (pool.teams, pool.leaving, pool.hirable) == (1, 0, 2) and not waiting.triggered
    pool.hire_team()  # a new team takes the waiting project
    assert waiting.triggered and pool.teams == 2 and pool.hirable == 1
    pool.raise_cap(2)
    assert (pool.max_teams, pool.hirable) == (5, 3)


def test_attrition_slows_development_and_training_speeds_it(lands_world) -> None:
    def online(*ov: str, **staff) -> float:
        cfg = make_config("funding=none", "strategy=einzel", *ov, world=LANDS,
                          replications=3, end="2022-12")
        for k, v in staff.items():
            setattr(cfg.staffing, k, v)
        res = run_replications(lands_world, cfg.validate(), workers=1)
        nat = res.tables["national"]
        return float(nat.loc[nat["month"] == cfg.horizon_months - 1, "online_anywhere"].mean())

    base = online()
    assert online(attrition_per_year=0.3) < base
    assert online(training_from="2019-06", training_cap_increase=1.0) > base
