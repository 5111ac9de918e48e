"""Allocation rules of the same money (MODEL.md 7.3), each shown in isolation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import SMALL, make_config

from sim.data_io import load_states
from sim.model import (
    ALLOCATION_RULES,
    BUND,
    Funding,
    Ledger,
    allocation_shares,
    base_state_fte,
)
from sim.params import ALLOCATIONS, MUNICIPAL_ALLOCATIONS
from sim.runner import run_replications

AMOUNT = 3.0e9
PER_LAND = ("koenigstein", "per_capita", "per_municipality", "need")


def _land_budgets(world, funding: str) -> pd.Series:
    cfg = make_config(f"funding={funding}")
    f = Funding(cfg, world, Ledger())
    b = pd.Series({holder: eur for _p, holder, eur in f.initial})
    assert BUND not in b.index  # no central pot under a per-Land rule
    return b.reindex(world.states["state"])


def test_koenigstein_gives_each_land_its_key_share_to_the_euro(germany_world) -> None:
    b = _land_budgets(germany_world, "koenigstein")
    pct = load_states().set_index("abbr")["koenigstein_share"]
    expected = AMOUNT * pct.reindex(b.index)
    assert np.abs(b.to_numpy() - expected.to_numpy()).max() < 1.0  # to the euro
    assert b.sum() == pytest.approx(AMOUNT, abs=1.0)
    assert b["NW"] == pytest.approx(AMOUNT * 0.2114424, abs=1.0)  # 21.14424 % (2016 key)


def test_per_capita_and_per_municipality_follow_population_and_counts(germany_world) -> None:
    w = germany_world
    cap = _land_budgets(w, "per_capita")
    pop = w.states.set_index("state")["population"]
    assert np.allclose(cap.to_numpy(), AMOUNT * (pop / pop.sum()).to_numpy(), atol=1.0)
    mun = _land_budgets(w, "per_municipality")
    counts = w.admins.groupby("state")["n_municipalities"].sum()
    counts.index = w.states["state"].to_numpy()[counts.index]
    assert counts.sum() == 10786
    assert np.allclose(mun.to_numpy(), AMOUNT * (counts / counts.sum()).reindex(mun.index),
                       atol=1.0)
    # Rheinland-Pfalz has 2,301 municipalities but 4.9 % of the population: the rules differ.
    assert mun["RP"] > 3 * cap["RP"]
    assert mun["HH"] < cap["HH"] / 100


def test_need_gives_most_to_the_land_with_least_staff(germany_world) -> None:
    w = germany_world
    cfg = make_config()
    shares = allocation_shares("need", w, cfg)
    fte = base_state_fte(cfg, w)
    assert shares.sum() == pytest.approx(1.0)
    assert np.argmax(shares) == np.argmin(fte) and np.argmin(shares) == np.argmax(fte)
    assert np.allclose(shares * fte, (shares * fte)[0])  # exactly inverse proportional
    b = _land_budgets(w, "need")
    assert b.sum() == pytest.approx(AMOUNT, abs=1.0)


@pytest.mark.parametrize("rule", PER_LAND)
def test_per_land_money_is_spent_only_by_that_land_and_never_overspent(rule,
                                                                       small_world) -> None:
    cfg = make_config("strategy=einzel", f"funding={rule}", world=SMALL, replications=2)
    cfg.funding.programmes[0].amount_eur = 5e7  # small enough to run out
    res = run_replications(small_world, cfg, workers=1)
    dev = res.tables["spending"].query("purpose == 'development'")
    assert len(dev) > 0
    budgets = pd.Series({h: e for _p, h, e in Funding(cfg, small_world, Ledger()).initial})
    spent = dev.groupby(["replication", "actor"])["eur"].sum().groupby("actor").max()
    assert (spent <= budgets.reindex(spent.index) + 1e-6).all()
    assert (spent >= 0.5 * budgets.reindex(spent.index)).any()  # the money was binding


def test_competitive_pays_any_mode_while_the_stimulus_pays_only_efa(small_world) -> None:
    spent = {}
    for funding in ("competitive", "konjunkturpaket"):
        cfg = make_config("strategy=einzel", f"funding={funding}", world=SMALL,
                          replications=2)
        res = run_replications(small_world, cfg, workers=1)
        spent[funding] = res.tables["spending"].query("purpose == 'development'")["eur"].sum()
    assert spent["competitive"] > 0
    assert spent["konjunkturpaket"] == 0


def test_a_municipal_share_speeds_municipal_onboarding(small_world) -> None:
    out = {}
    for funding in ("konjunkturpaket", "municipal_share"):
        cfg = make_config("strategy=efa", f"funding={funding}", world=SMALL, replications=4)
        out[funding] = run_replications(small_world, cfg, workers=1)
    sp = out["municipal_share"].tables["spending"]
    muni = sp[sp["purpose"] == "municipal_onboarding"]
    assert len(muni) > 0
    assert muni.groupby("replication")["eur"].sum().max() <= 0.2 * AMOUNT + 1e-6
    # Same seeds: connected (administration, service) pairs at the end of 2022, by size class.
    def onboarded(res):
        t = res.tables["by_size_class"]
        return t[t["month"] == 59].groupby("size_class")["onboarded_share"].mean()

    base, more = onboarded(out["konjunkturpaket"]), onboarded(out["municipal_share"])
    assert (more >= base - 1e-12).all() and (more > base).any()


# --------------------------------------------------------------------------- the registry


def test_the_registry_plus_project_are_exactly_the_allowed_allocations(toy_world) -> None:
    """``sim.params.ALLOCATIONS`` is ``project`` followed by the registry's rules, in order.

    ``project`` is the one allocation outside the registry: one central pot (holder
    ``BUND``) granted project by project, which ``Funding`` sets up without any shares.
    Every other allocation is a per-Land rule of ``ALLOCATION_RULES`` whose weights
    ``allocation_shares`` normalises to shares summing to 1.
    """
    assert ALLOCATIONS == ("project", *ALLOCATION_RULES)
    cfg = make_config()
    for rule in ALLOCATION_RULES:
        shares = allocation_shares(rule, toy_world, cfg)
        assert shares.shape == (toy_world.n_states,) and (shares >= 0).all()
        assert shares.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="allocation='project' is not a per-Land rule"):
        allocation_shares("project", toy_world, cfg)


@pytest.mark.parametrize("preset", ["competitive", "municipal_share"])
def test_competitive_and_municipal_share_are_presets_of_project_not_allocations(
        preset, toy_world) -> None:
    """Two funding presets whose names sound like allocation rules are not in the registry.

    ``competitive`` is ``allocation: project`` with every Land sharing mode eligible ("first
    ready, first paid"). ``municipal_share`` is ``allocation: project`` with the programme
    field ``municipal_share`` > 0: that share of the amount goes to the administrations,
    divided by ``municipal_allocation`` (one of ``MUNICIPAL_ALLOCATIONS``, handled by
    ``municipal_allocation``, not by the registry), and ``allocation`` divides the rest.
    """
    assert preset not in ALLOCATIONS and preset not in ALLOCATION_RULES
    cfg = make_config(f"funding={preset}")
    (p,) = cfg.funding.programmes
    assert p.allocation == "project"
    assert p.municipal_allocation in MUNICIPAL_ALLOCATIONS
    f = Funding(cfg, toy_world, Ledger())
    budgets = {holder: eur for _p, holder, eur in f.initial}
    if preset == "competitive":
        assert set(p.eligible_modes) == {"efa", "efv", "einzel"}
        assert budgets == {BUND: pytest.approx(AMOUNT)}
    else:
        assert p.municipal_share == pytest.approx(0.2)
        assert budgets == {BUND: pytest.approx(0.8 * AMOUNT),
                           "municipalities": pytest.approx(0.2 * AMOUNT)}
        (_prog, per_admin, _start, _end), = f.municipal
        assert per_admin.sum() == pytest.approx(0.2 * AMOUNT)


# --------------------------------------------------------------------------- agreements


def _stimulus(agreement_months: float, flow_from: str | None):
    cfg = make_config("funding=konjunkturpaket", world=SMALL)
    p = cfg.funding.programmes[0]
    p.agreement_months, p.flow_from = agreement_months, flow_from
    return cfg.validate()


def test_money_flows_after_the_framework_and_the_bilateral_agreement(small_world) -> None:
    cfg = _stimulus(3.0, "2021-02")  # window 2020-09 (t=32) .. 2022-12 (t<60); flows >= 37
    ledger = Ledger()
    f = Funding(cfg, small_world, ledger)
    team, ext, days, rate = 3.0, 9.0, 18.0, cfg.funding.day_rate_eur
    # Applies at t=33: framework agreement first (t=37), 4 months of internal work meanwhile.
    got, prog, flows = f.grant(33.0, "SH", "efa", 1000.0, team, days)
    assert (got, prog, flows) == (ext, "konjunkturpaket", 37.0)
    left = 1000.0 - team * days * 4
    assert ledger.rows[-1] == (37.0, "konjunkturpaket", "SH", left * ext / (team + ext) * rate,
                               "development")
    # Applies at t=40: the bilateral agreement takes 3 months.
    assert f.grant(40.0, "SH", "efa", 1000.0, team, days)[2] == 43.0
    # Applies at t=58: the agreement would conclude after the money lapsed (t=60).
    assert f.grant(58.0, "SH", "efa", 1000.0, team, days) == (0.0, None, np.inf)
    # A project that finishes before the money could flow does not apply.
    assert f.grant(40.0, "SH", "efa", team * days * 3, team, days)[1] is None
    # Only EfA projects: the stimulus is EfA-conditional.
    assert f.grant(40.0, "SH", "einzel", 1000.0, team, days)[1] is None


def test_agreements_delay_funded_builds_and_date_spending(small_world) -> None:
    fast = run_replications(small_world, _stimulus(0.0, None), workers=1)
    slow = run_replications(small_world, _stimulus(4.0, "2021-02"), workers=1)
    dev = slow.tables["spending"].query("purpose == 'development'")
    assert len(dev) > 0 and (dev["time_months"] >= 37.0 - 1e-9).all()
    ev = {k: r.tables["events"] for k, r in (("fast", fast), ("slow", slow))}
    funded = ev["fast"].query("event == 'funded'")[["replication", "ozg_id", "actor"]]
    done = {k: e.query("event == 'online'").merge(funded, on=["replication", "ozg_id",
                                                              "actor"])
            .set_index(["replication", "ozg_id", "actor"])["time_months"]
            for k, e in ev.items()}
    common = done["fast"].index.intersection(done["slow"].index)
    assert len(common) > 0
    # Projects funded at once in the fast case finish no earlier when money flows later.
    assert (done["slow"][common] >= done["fast"][common] - 1e-9).mean() > 0.9
    assert (done["slow"][common] > done["fast"][common] + 1e-9).any()


def test_unspent_money_lapses_at_the_end_or_carries_over(small_world) -> None:
    cfg = _stimulus(0.0, None)  # window ends with 2022-12: t < 60
    lapsing = Funding(cfg, small_world, Ledger())
    assert lapsing.grant(61.0, "SH", "efa", 500.0, 3.0, 18.0)[1] is None
    cfg.funding.programmes[0].carry_over_months = 12.0
    carried = Funding(cfg.validate(), small_world, Ledger())
    assert carried.grant(61.0, "SH", "efa", 500.0, 3.0, 18.0)[1] == "konjunkturpaket"
    assert carried.grant(72.5, "SH", "efa", 500.0, 3.0, 18.0)[1] is None  # 2023-12 is the last
    assert carried.next_opening(61.0, "SH", "efa") is None
