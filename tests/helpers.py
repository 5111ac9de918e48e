"""Test helpers: configurations composed in code, deterministic variants, invariant checks.

Configurations are composed from ``conf/`` with Hydra once per distinct override list
(cached; composing costs ~0.2 s) and handed out as deep copies, so a test may change its
copy freely (``cfg.staffing.bund_fte = 0``) without affecting any other test.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from sim.config import load_config
from sim.model import Simulation
from sim.params import Config, WorldParams

TOY = WorldParams(name="toy", states=["HB", "SL", "BE"], max_admins_per_state=10,
                  services_per_topic=3)
SMALL = WorldParams(name="small", states=["SH", "HB", "SL"], max_admins_per_state=40,
                    services_per_topic=6)

STRATEGIES = ("efa", "efv", "einzel", "mixed")
FUNDINGS = ("none", "konjunkturpaket", "koenigstein")
TOL = 1e-9


@cache
def _composed(overrides: tuple[str, ...]) -> Config:
    return load_config(list(overrides))


#: Config groups the tests build on unless a test overrides them: the first model's
#: mechanisms (the stimulus project by project, baseline staff, no running-cost cliff, no Land
#: programmes, uncalibrated defaults), so that each test sees only what it switches on.
REFERENCE_GROUPS = {"funding": "konjunkturpaket", "staffing": "baseline",
                    "operation": "central", "state_programmes": "none", "calibrated": "none"}


def make_config(*overrides: str, world: WorldParams | None = None, **top: Any) -> Config:
    """A validated :class:`Config` from ``conf/`` plus Hydra overrides (a private copy).

    Groups not overridden take :data:`REFERENCE_GROUPS`, not the ``historical`` default.

    ``world`` replaces the world block (e.g. :data:`SMALL`, which has no YAML file);
    keyword arguments set top-level keys (``replications=3``). The copy is validated again
    after the changes.
    """
    given = {o.split("=", 1)[0] for o in overrides}
    pinned = tuple(f"{g}={v}" for g, v in REFERENCE_GROUPS.items() if g not in given)
    cfg = copy.deepcopy(_composed(pinned + tuple(overrides)))
    if world is not None:
        cfg.world = copy.deepcopy(world)
    for key, value in top.items():
        if not hasattr(cfg, key):
            raise AttributeError(key)
        setattr(cfg, key, value)
    return cfg.validate()


def deterministic(cfg: Config) -> Config:
    """Make every duration deterministic and every effort equal to its median (in place).

    Delays take their configured means exactly (``delay_cv=0``); every development effort
    is ``effort_person_days`` (times the shared-build overhead where it applies) and every
    onboarding effort ``onboarding_effort_person_days``.
    """
    cfg.development.delay_cv = 0.0
    cfg.development.effort_sigma = 0.0
    cfg.development.builder_effort_sigma = 0.0
    cfg.development.complexity_elasticity = 0.0
    cfg.municipal.effort_sigma = 0.0
    cfg.municipal.complexity_elasticity = 0.0
    return cfg


# --------------------------------------------------------------------------- checks


def _between_0_1(v: pd.Series | np.ndarray, what: str) -> None:
    a = np.asarray(v, dtype=float)
    assert np.all((a >= -TOL) & (a <= 1 + TOL)), f"{what} outside [0, 1]: {a.min()}..{a.max()}"


def _non_decreasing(df: pd.DataFrame, keys: list[str], cols: tuple[str, ...], what: str) -> None:
    d = df.sort_values([*keys, "month"])
    for col in cols:
        step = d.groupby(keys, sort=False)[col].diff().dropna()
        assert (step >= -TOL).all(), f"{what}.{col} decreases from one month to the next"


def check_invariants(tables: dict[str, pd.DataFrame], budgets: list[tuple[str, str, float]],
                     horizon_months: int) -> None:
    """Assert the model invariants on the tables of one or more replications.

    ``budgets`` is ``RunResult.budgets`` (the same in every replication of a config).
    """
    nat = tables["national"]
    for col in ("population_coverage", "online_anywhere_share", "nationwide_share"):
        _between_0_1(nat[col], f"national.{col}")
    assert (nat["nationwide"] <= nat["online_anywhere"]).all(), "nationwide > online_anywhere"
    assert (nat["online_anywhere"] <= nat["n_services"]).all()
    _non_decreasing(nat, ["replication"],
                    ("population_coverage", "online_anywhere", "nationwide"), "national")

    bs = tables["by_state"]
    _between_0_1(bs["available_share"], "by_state.available_share")
    _between_0_1(bs["population_coverage"], "by_state.population_coverage")
    assert (bs["available"] <= bs["online_anywhere_in_state"]).all()
    assert (bs["online_anywhere_in_state"] <= bs["n_services"]).all()
    _non_decreasing(bs, ["replication", "state"],
                    ("available", "online_anywhere_in_state", "population_coverage",
                     "available_reported"), "by_state")
    # The official counts: a Land's count lies between its strict and its somewhere count
    # only for a share of 1 (checked in test_calibrate); always, nationwide is never above
    # any Land's count (it counts the services in the count of every Land).
    least = bs.groupby(["replication", "month"])["available_reported"].min()
    nw = nat.set_index(["replication", "month"])["nationwide_reported"]
    assert (nw <= least.reindex(nw.index)).all(), "nationwide_reported above a Land's count"
    _non_decreasing(nat, ["replication"], ("nationwide_reported",), "national")

    bt = tables["by_topic"]
    _between_0_1(bt["nationwide_share"], "by_topic.nationwide_share")
    _between_0_1(bt["population_coverage"], "by_topic.population_coverage")
    assert (bt["nationwide"] <= bt["online_anywhere"]).all()
    assert (bt["online_anywhere"] <= bt["n_services"]).all()
    _non_decreasing(bt, ["replication", "topic"],
                    ("online_anywhere", "nationwide", "population_coverage"), "by_topic")

    bz = tables["by_size_class"]
    _between_0_1(bz["onboarded_share"], "by_size_class.onboarded_share")
    _between_0_1(bz["population_coverage"], "by_size_class.population_coverage")
    _non_decreasing(bz, ["replication", "size_class"],
                    ("onboarded_share", "population_coverage"), "by_size_class")

    ev = tables["events"]
    assert ev["time_months"].between(0, horizon_months, inclusive="left").all(), \
        "event outside the horizon"

    check_spending(tables["spending"], budgets, horizon_months)


def check_spending(sp: pd.DataFrame, budgets: list[tuple[str, str, float]],
                   horizon_months: int) -> None:
    """Programme money is spent only from existing pots and never beyond any pot.

    Development money of a central pot (holder ``BUND``) may go to any builder; money of a
    Land's pot (Königstein allocation) only to that Land; municipal money only to
    municipal onboarding.
    """
    assert (sp["eur"] > 0).all(), "a ledger row without money"
    assert sp["time_months"].between(0, horizon_months, inclusive="left").all()
    pots = {(prog, holder): eur for prog, holder, eur in budgets}
    progs = {prog for prog, _ in pots}
    funded = sp[~sp["programme"].isin(["own_funds", "running_costs"])]
    running = sp[sp["programme"] == "running_costs"]
    assert set(running["purpose"]) <= {"running_costs_land", "running_costs_municipal",
                                       "running_costs_bund", "running_costs_pool"}
    assert set(funded["programme"]) <= progs, "money from a programme that does not exist"
    assert set(sp.loc[sp["programme"] == "own_funds", "purpose"]) <= {"reuse_fee",
                                                                     "vendor_product"}
    for (_rep, prog, purpose, actor), eur in funded.groupby(
            ["replication", "programme", "purpose", "actor"])["eur"].sum().items():
        if purpose == "development" and (prog, actor) in pots:
            assert eur <= pots[(prog, actor)] * (1 + TOL) + 1e-3, f"{prog}/{actor} overspent"
    for (_rep, prog, purpose), eur in funded.groupby(
            ["replication", "programme", "purpose"])["eur"].sum().items():
        holder = "municipalities" if purpose == "municipal_onboarding" else None
        if holder is not None:
            assert (prog, holder) in pots, f"municipal money from {prog} without a pot"
            assert eur <= pots[(prog, holder)] * (1 + TOL) + 1e-3, f"{prog} municipal overspent"
        else:
            total = sum(v for (p, h), v in pots.items() if p == prog and h != "municipalities")
            assert eur <= total * (1 + TOL) + 1e-3, f"{prog} development overspent"


def check_pots(sim: Simulation) -> None:
    """After a run no money pot (developer or municipal) is below zero."""
    for pots in sim.funding.dev_pots.values():
        for pot in pots:
            assert pot.remaining_eur >= 0.0, f"pot {pot.programme.name}/{pot.holder} negative"
    for prog, remaining, _start, _end, _lands in sim.municipal.pots:
        assert np.all(remaining >= 0.0), f"municipal pot {prog.name} negative"
