"""Correlated reuse delays (MODEL.md 7.5): the tenants of one service share a common
readiness for reuse; each tenant's delay keeps its gamma distribution."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import SMALL, make_config
from scipy import stats

from sim.errors import ConfigError
from sim.model import Simulation
from sim.rng import correlated_delays, unit_gamma
from sim.world import World


def _draws(cv: float = 1.0, services: int = 4000, tenants: int = 16,
           seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return unit_gamma(rng, cv, (services, tenants)), rng.random(services)


def test_weight_zero_is_independent_and_one_is_one_delay_per_service() -> None:
    own, common = _draws()
    assert correlated_delays(own, common, 0.0, 1.0) is own
    one = correlated_delays(own, common, 1.0, 1.0)
    assert (one == one[:, :1]).all()


@pytest.mark.parametrize("w", [0.3, 0.7, 1.0])
@pytest.mark.parametrize("cv", [0.5, 1.0])
def test_each_delay_keeps_its_gamma_distribution(w: float, cv: float) -> None:
    own, common = _draws(cv)
    got = correlated_delays(own, common, w, cv)
    k = 1.0 / cv**2
    # one tenant column: independent over services, so a KS test applies
    p = stats.kstest(got[:, 3], stats.gamma(k, scale=1.0 / k).cdf).pvalue
    assert p > 1e-3
    assert got.mean() == pytest.approx(1.0, abs=0.05)


def test_the_correlation_between_tenants_grows_with_the_weight() -> None:
    own, common = _draws()
    rho = []
    for w in (0.0, 0.4, 0.8, 0.95):
        got = correlated_delays(own, common, w, 1.0)
        rho.append(stats.spearmanr(got[:, 0], got[:, 1]).statistic)
    assert abs(rho[0]) < 0.05
    assert all(a < b for a, b in itertools.pairwise(rho))
    assert rho[-1] > 0.8


def test_deterministic_delays_stay_deterministic() -> None:
    own = np.ones((5, 3))
    assert (correlated_delays(own, np.full(5, 0.3), 0.8, 0.0) == 1.0).all()


def test_in_a_run_all_tenants_of_a_service_decide_together(small_world: World) -> None:
    """With weight 1 every tenant of an EfA service gets the same decision and contract
    delays, so all contracts of a service are signed at the same moment."""
    cfg = make_config("strategy=efa", "sharing.efa.common_delay_weight=1.0",
                      "sharing.efa.propensity=1.0", world=SMALL)
    sim = Simulation(small_world, cfg, 0)
    dec, con, onb = sim.reuse_delays["efa"]
    assert (dec == dec[:, :1]).all() and (con == con[:, :1]).all()
    assert (onb == onb[:, :1]).all()
    res = sim.run()
    agreed: dict[int, set[float]] = {}
    for s, _tenant, t in sim.tenancies:
        agreed.setdefault(s, set()).add(round(t, 9))
    assert agreed and all(len(ts) == 1 for ts in agreed.values())
    assert res.t_state.shape[1] == 3
    # EfV keeps independent tenants (its own weight, default 0)
    assert sim.reuse_delays["efv"][0] is sim.draws.decision


def test_bad_weight_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"sharing\.efa\.common_delay_weight"):
        make_config("sharing.efa.common_delay_weight=1.2")
