"""Full Germany, default configuration (EfA, 2020 stimulus): invariants and plausible sizes.

About 1 s per replication; marked slow (CI runs them too).
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import check_invariants, check_pots, make_config

from sim.calendar import month_index
from sim.metrics import kpis_for_replication, tables_for_replication
from sim.model import Simulation

M_2022 = month_index("2022-12")
M_2030 = month_index("2030-12")


def _run(world, cfg):
    parts: dict[str, list[pd.DataFrame]] = {}
    kpis, budgets = [], []
    for rep in range(cfg.replications):
        sim = Simulation(world, cfg, rep)
        r = sim.run()
        check_pots(sim)
        t = tables_for_replication(world, r)
        kpis.append(kpis_for_replication(t["national"], t["spending"], r.budgets))
        budgets = r.budgets
        for k, v in t.items():
            parts.setdefault(k, []).append(v)
    return {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}, pd.DataFrame(kpis), \
        budgets


@pytest.mark.slow
def test_default_germany_run(germany_world) -> None:
    cfg = make_config(replications=2)
    assert (cfg.world.name, cfg.strategy.name, cfg.funding.name) == \
        ("germany", "efa", "konjunkturpaket")
    tables, kpis, budgets = _run(germany_world, cfg)
    check_invariants(tables, budgets, cfg.horizon_months)

    nat = tables["national"]
    assert len(nat) == 2 * cfg.horizon_months
    assert (nat["n_services"] == 557).all()
    at = nat.set_index(["replication", "month"])
    for rep in (0, 1):
        online_2030 = at.loc[(rep, M_2030), "online_anywhere"]
        nationwide_2022 = at.loc[(rep, M_2022), "nationwide"]
        assert online_2030 > nationwide_2022 > 0
        cov_2022 = at.loc[(rep, M_2022), "population_coverage"]
        cov_2030 = at.loc[(rep, M_2030), "population_coverage"]
        assert 0.2 < cov_2022 < cov_2030 <= 1.0
        assert at.loc[(rep, M_2022), "online_anywhere"] > at.loc[(rep, M_2022), "nationwide"]
    # The stimulus is used, but only by EfA projects and never beyond its 3 bn EUR.
    assert (kpis["budget_eur_konjunkturpaket"] == 3.0e9).all()
    assert ((kpis["spent_eur_konjunkturpaket"] > 0)
            & (kpis["spent_eur_konjunkturpaket"] <= 3.0e9)).all()
    assert (kpis["spent_eur_own_funds"] > 0).all(), "reuse fees are paid"
    ev = tables["events"]
    funded = ev[ev["event"] == "funded"]
    assert len(funded) > 0
    assert set(funded["detail"]) == {"konjunkturpaket"}
    assert funded["time_months"].between(month_index("2020-09"), M_2022 + 1,
                                         inclusive="left").all()
    # Every Land gets services; the by-state table covers all 16.
    bs = tables["by_state"]
    assert bs["state"].nunique() == 16
    assert (bs[bs["month"] == M_2030].groupby("state")["available"].min() > 0).all()


@pytest.mark.slow
def test_germany_efa_ahead_of_einzel_at_the_deadline(germany_world) -> None:
    # Plausibility: building once and sharing beats 16 separate builds with the same
    # staff (same seeds; common random numbers).
    efa, _, _ = _run(germany_world, make_config("strategy=efa", "funding=none", replications=2))
    einzel, _, _ = _run(germany_world, make_config("strategy=einzel", "funding=none",
                                                   replications=2))

    def mean_at(t, col, m):
        n = t["national"]
        return n.loc[n["month"] == m, col].mean()

    assert mean_at(efa, "population_coverage", M_2022) > \
        mean_at(einzel, "population_coverage", M_2022) + 0.05
    assert mean_at(efa, "nationwide", M_2030) > mean_at(einzel, "nationwide", M_2030)
