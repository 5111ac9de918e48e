"""The common priority (MODEL.md 7.4, 7.5): every actor's work order shares a common
priority with an actor-specific deviation; operators onboard waiting tenants in their
work order."""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from helpers import make_config
from scipy import stats

from sim.errors import ConfigError
from sim.model import Simulation, Slots
from sim.rng import Draws, normal_scores, stream, work_order


def _orders(common_weight: float, actors: int = 17, services: int = 400,
            seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return work_order(rng.random(services), rng.random((actors, services)), common_weight)


def test_orders_are_permutations() -> None:
    for w in (0.0, 0.3, 0.8, 1.0):
        o = _orders(w)
        assert (np.sort(o, axis=1) == np.arange(o.shape[1])).all()


def test_weight_zero_is_the_independent_order_and_one_a_single_order() -> None:
    rng = np.random.default_rng(1)
    common, own = rng.random(50), rng.random((5, 50))
    np.testing.assert_array_equal(work_order(common, own, 0.0),
                                  np.argsort(own, axis=1).argsort(axis=1))
    one = work_order(common, own, 1.0)
    assert (one == one[0]).all()
    np.testing.assert_array_equal(one[0], np.argsort(common).argsort())


@pytest.mark.parametrize("w", [0.3, 0.6, 0.9])
def test_two_actors_orders_correlate_as_the_weight_says(w: float) -> None:
    # Scores w z_s + sqrt(1 - w^2) z_as: two actors' scores have correlation w^2, and for
    # normal scores Spearman's rho = (6 / pi) asin(r / 2).
    o = _orders(w, actors=40, services=2000)
    rhos = [stats.spearmanr(o[i], o[i + 1])[0] for i in range(0, 40, 2)]
    expected = 6 / np.pi * np.arcsin(w**2 / 2)
    assert np.mean(rhos) == pytest.approx(expected, abs=0.03)


def test_normal_scores_are_standard_normal_and_order_preserving() -> None:
    u = np.random.default_rng(0).random(20000)
    z = normal_scores(u)
    assert (np.argsort(z) == np.argsort(u)).all()
    assert z.mean() == pytest.approx(0.0, abs=0.03)
    assert z.std() == pytest.approx(1.0, abs=0.03)


def test_weight_changes_only_the_orders(toy_world) -> None:
    a = Draws.make(toy_world, 4, 1, 1.0, 0.0)
    b = Draws.make(toy_world, 4, 1, 1.0, 0.9)
    for name in Draws.__dataclass_fields__:
        if name != "priority":
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert not np.array_equal(a.priority, b.priority)
    # The common stream is its own: the actors' deviations are those of weight 0.
    own = stream(4, 1, "priority").random(a.priority.shape)
    np.testing.assert_array_equal(a.priority, np.argsort(own, axis=1).argsort(axis=1))


def test_builders_follow_the_configured_weight(toy_world) -> None:
    def mean_rho(w: float) -> float:
        sim = Simulation(toy_world, make_config("world=toy", f"priority.common_weight={w}"), 0)
        ranks = [b.rank for b in sim.builders]
        return float(np.mean([stats.spearmanr(ranks[i], ranks[j])[0]
                              for i in range(len(ranks)) for j in range(i)]))

    assert mean_rho(1.0) == pytest.approx(1.0)
    assert mean_rho(0.0) < mean_rho(0.7) < mean_rho(1.0)


def test_slots_hand_out_by_priority_then_waiting_time() -> None:
    env = simpy.Environment()
    slots = Slots(env, 1)
    assert slots.take(5) is None  # a free slot: no event
    waiting = {name: slots.take(p) for name, p in
               (("c", 3), ("a", 1), ("b", 3), ("d", 0))}
    served = []
    for _ in range(4):
        slots.give_back()
        env.run()
        served += [n for n, ev in waiting.items() if ev.triggered and n not in served]
    assert served == ["d", "a", "c", "b"]
    slots.give_back()
    assert slots.free == 1


def test_bad_weight_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"priority\.common_weight"):
        make_config("world=toy", "priority.common_weight=1.5")
