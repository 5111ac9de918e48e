"""Unevenly dispersed municipal take-up (MODEL.md 7.6, ``municipal.info_lag_dispersion``):
the information lags' coefficient of variation relative to the other delays. More
dispersion brings a service to its first administration sooner and to its last later: the
dashboard's weakest-link count of a Land falls while "online somewhere" does not."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SMALL, make_config

from sim.errors import ConfigError
from sim.metrics import Coverage
from sim.model import simulate
from sim.rng import Draws
from sim.world import World


def test_dispersion_one_leaves_the_draws_unchanged(small_world: World) -> None:
    a = Draws.make(small_world, 3, 1, 1.0, 0.5)
    b = Draws.make(small_world, 3, 1, 1.0, 0.5, 1.0)
    np.testing.assert_array_equal(a.info_lag, b.info_lag)
    np.testing.assert_array_equal(a.decision, b.decision)


@pytest.mark.parametrize("cv, dispersion", [(1.0, 0.5), (1.0, 2.0), (0.5, 3.0)])
def test_the_lags_have_the_dispersed_coefficient_of_variation(
        small_world: World, cv: float, dispersion: float) -> None:
    lag = Draws.make(small_world, 3, 0, cv, 0.5, dispersion).info_lag
    assert lag.mean() == pytest.approx(1.0, rel=0.1)
    assert lag.std() / lag.mean() == pytest.approx(cv * dispersion, rel=0.1)
    # deterministic delays stay deterministic
    assert (Draws.make(small_world, 3, 0, 0.0, 0.5, dispersion).info_lag == 1.0).all()


def test_more_dispersion_first_administration_sooner_last_later(small_world: World) -> None:
    first, last = {}, {}
    for disp in (1.0, 3.0):
        cfg = make_config(f"municipal.info_lag_dispersion={disp}", world=SMALL)
        f, la = [], []
        for r in range(2):
            c = Coverage(small_world, simulate(small_world, cfg, r))
            muni = c.muni
            both = np.isfinite(c.t_full[muni]) & np.isfinite(c.t_any_state[muni])
            f.append(np.median(c.t_any_state[muni][both]))
            la.append(np.median((c.t_full[muni] - c.t_any_state[muni])[both]))
        first[disp], last[disp] = np.mean(f), np.mean(la)
    assert first[3.0] < first[1.0]  # the first administration is sooner
    assert last[3.0] > last[1.0]  # the spread from first to last administration is wider


def test_bad_dispersion_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"municipal\.info_lag_dispersion"):
        make_config("municipal.info_lag_dispersion=-1")
