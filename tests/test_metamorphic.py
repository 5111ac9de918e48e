"""Metamorphic tests: on the same seeds (common random numbers), more staff or more money
never lowers coverage; and every strategy sees the same random draws.

Which form of "never lowers" holds was checked empirically (30 replications per case on
the toy and the small world, every strategy):

- municipal staff x2: every administration connects every service no later, in every
  replication (the municipal queue is a Lindley recursion ``done = max(arrival, free) +
  duration`` and the arrivals do not change), so coverage is monotone month by month;
- federal staff x2 (when the Bund is short of teams): every federal service goes online
  no later in every replication (independent jobs taken from one priority queue; nothing
  else depends on the Bund without federal funding);
- Land staff x2 and programme money x2 (or none -> konjunkturpaket): NOT monotone per
  replication and month. Earlier services change the order in which they reach the
  municipal FIFO queues and the operators' onboarding slots, and earlier or extra funding
  changes which waiting project a freed team takes next, so a single (replication, month)
  can lose. Seen e.g. on the toy world, EfA, no funding, seed 1, replication 2, month 48:
  population coverage 0.7304 with baseline Land staff, 0.7153 with doubled staff (no
  service reaches any Land later; 12 administration x service connections do); and with
  konjunkturpaket 1e7 -> 2e7 EUR in replication 2 from month 34 (0.6412 -> 0.6226) because
  a Land team picked a different project. These are therefore tested on the mean over
  replications at 2022-12 and 2026-12 and on the mean area under the coverage curve,
  and the per-replication property is recorded as a strict xfail.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pytest
from helpers import SMALL, TOY, make_config

from sim.calendar import month_index
from sim.metrics import tables_for_replication
from sim.model import Simulation, simulate
from sim.params import Config
from sim.rng import STREAM_IDS, Draws, stream
from sim.world import FEDERAL

M_2022 = month_index("2022-12")
M_2026 = month_index("2026-12")
WORLDS = {"toy": TOY, "small": SMALL}
N_REPS = 8


def _coverage(world, cfg: Config, reps: range) -> np.ndarray:
    """(replications, months) population coverage."""
    return np.array([tables_for_replication(world, simulate(world, cfg, r))["national"]
                     ["population_coverage"].to_numpy() for r in reps])


def _world(name: str, toy_world, small_world):
    return toy_world if name == "toy" else small_world


def _variant(cfg: Config, change: Callable[[Config], None]) -> Config:
    out = copy.deepcopy(cfg)
    change(out)
    return out.validate()


def _double_municipal(c: Config) -> None:
    c.staffing.municipal_fte_by_size_class = [2 * v for v in c.staffing.municipal_fte_by_size_class]


def _double_state_base(c: Config) -> None:
    c.staffing.state_fte_base *= 2


def _double_developers(c: Config) -> None:
    s = c.staffing
    s.bund_fte *= 2
    s.state_fte_base *= 2
    s.state_fte_per_million *= 2
    s.lead_fte_per_service *= 2


# --------------------------------------------------------------------------- per replication


@pytest.mark.parametrize("funding", ["none", "konjunkturpaket"])
@pytest.mark.parametrize("strategy", ["efa", "einzel", "mixed"])
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_more_municipal_staff_never_connects_later(world_name, strategy, funding, toy_world,
                                                   small_world) -> None:
    world = _world(world_name, toy_world, small_world)
    base = make_config(f"strategy={strategy}", f"funding={funding}", world=WORLDS[world_name])
    more = _variant(base, _double_municipal)
    gained = 0.0
    for rep in range(4):
        a, b = simulate(world, base, rep), simulate(world, more, rep)
        np.testing.assert_array_equal(b.t_state, a.t_state)
        assert np.all(b.t_admin <= a.t_admin), "an administration connects later"
        ca = tables_for_replication(world, a)["national"]["population_coverage"].to_numpy()
        cb = tables_for_replication(world, b)["national"]["population_coverage"].to_numpy()
        assert np.all(cb >= ca - 1e-12), "coverage lower in some month"
        gained += float((cb - ca).sum())
    assert gained > 0, "doubling municipal staff had no effect at all"


@pytest.mark.parametrize("strategy", ["efa", "efv", "einzel", "mixed"])
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_more_federal_staff_never_delays_a_federal_service(world_name, strategy, toy_world,
                                                           small_world) -> None:
    world = _world(world_name, toy_world, small_world)
    base = make_config(f"strategy={strategy}", "funding=none", world=WORLDS[world_name])
    base.staffing.bund_fte = 6.0  # two teams: the Bund is the bottleneck in these worlds
    more = _variant(base, lambda c: setattr(c.staffing, "bund_fte", 12.0))
    fed = world.services["executor"].to_numpy() == FEDERAL
    earlier = 0
    for rep in range(4):
        a, b = simulate(world, base, rep), simulate(world, more, rep)
        assert np.all(b.t_state[fed] <= a.t_state[fed])
        np.testing.assert_array_equal(b.t_state[~fed], a.t_state[~fed])
        np.testing.assert_array_equal(b.t_admin, a.t_admin)
        earlier += int((b.t_state[fed] < a.t_state[fed]).sum())
    assert earlier > 0


# --------------------------------------------------------------------------- across replications


def _assert_not_lower(base: np.ndarray, more: np.ndarray, what: str) -> float:
    """Mean over replications at 2022-12 and 2026-12 and mean area under the curve."""
    for m in (M_2022, M_2026):
        assert more[:, m].mean() >= base[:, m].mean() - 1e-12, f"{what}: lower mean at {m}"
    auc_base, auc_more = base.sum(axis=1).mean(), more.sum(axis=1).mean()
    assert auc_more >= auc_base - 1e-9, f"{what}: lower mean area under the curve"
    return float(auc_more - auc_base)


@pytest.mark.parametrize("change", [_double_state_base, _double_developers],
                         ids=["state_fte_base_x2", "all_developers_x2"])
@pytest.mark.parametrize("strategy", ["efa", "efv", "einzel", "mixed"])
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_more_developer_staff_never_lowers_mean_coverage(world_name, strategy, change,
                                                         toy_world, small_world) -> None:
    world = _world(world_name, toy_world, small_world)
    base = make_config(f"strategy={strategy}", "funding=konjunkturpaket",
                       world=WORLDS[world_name])
    gain = _assert_not_lower(_coverage(world, base, range(N_REPS)),
                             _coverage(world, _variant(base, change), range(N_REPS)),
                             change.__name__)
    assert gain > 0, "more developers had no effect at all"


def _set_amount(factor: float, base_eur: float) -> Callable[[Config], None]:
    def change(c: Config) -> None:
        c.funding.programmes[0].amount_eur = factor * base_eur
    return change


@pytest.mark.parametrize("strategy", ["efa", "mixed"])
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_more_money_never_lowers_mean_coverage(world_name, strategy, toy_world,
                                               small_world) -> None:
    world = _world(world_name, toy_world, small_world)
    # An amount the small worlds actually exhaust (3 bn EUR never binds there).
    eur = 1e7 if world_name == "toy" else 3e7
    base = _variant(make_config(f"strategy={strategy}", "funding=konjunkturpaket",
                                world=WORLDS[world_name]), _set_amount(1.0, eur))
    richer = _variant(base, _set_amount(2.0, eur))
    spent = [sum(x[3] for x in simulate(world, base, r).spending if x[1] == "konjunkturpaket")
             for r in range(2)]
    assert min(spent) > 0.9 * eur, "the base amount must bind for the test to mean anything"
    gain = _assert_not_lower(_coverage(world, base, range(N_REPS)),
                             _coverage(world, richer, range(N_REPS)), "money x2")
    assert gain > 0


@pytest.mark.parametrize("strategy", ["efa", "mixed"])
@pytest.mark.parametrize("world_name", sorted(WORLDS))
def test_funding_never_lowers_mean_coverage(world_name, strategy, toy_world,
                                            small_world) -> None:
    world = _world(world_name, toy_world, small_world)
    none = make_config(f"strategy={strategy}", "funding=none", world=WORLDS[world_name])
    kp = make_config(f"strategy={strategy}", "funding=konjunkturpaket",
                     world=WORLDS[world_name])
    gain = _assert_not_lower(_coverage(world, none, range(N_REPS)),
                             _coverage(world, kp, range(N_REPS)), "none -> konjunkturpaket")
    assert gain > 0


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="queue reordering: more Land staff can lower one replication's "
                   "coverage in one month (see the module docstring)")
def test_more_state_staff_is_monotone_per_replication_and_month(toy_world) -> None:
    base = make_config("world=toy", "strategy=efa", "funding=none")
    more = _variant(base, _double_state_base)
    cov_base, cov_more = _coverage(toy_world, base, range(3)), _coverage(toy_world, more,
                                                                         range(3))
    assert np.all(cov_more >= cov_base - 1e-12)


# --------------------------------------------------------------------------- common random numbers


def _draws_equal(a: Draws, b: Draws) -> None:
    for name in Draws.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("other", ["strategy=einzel", "strategy=efv", "funding=none",
                                   "funding=koenigstein", "staffing.bund_fte=7"])
def test_same_seed_same_draws_whatever_the_policy(toy_world, other: str) -> None:
    efa = make_config("world=toy", "strategy=efa", "seed=11")
    alt = make_config("world=toy", "strategy=efa", "seed=11", other)
    for rep in (0, 3):
        _draws_equal(Simulation(toy_world, efa, rep).draws, Simulation(toy_world, alt, rep).draws)


def test_efa_and_einzel_see_identical_draws(toy_world) -> None:
    efa = make_config("world=toy", "strategy=efa")
    einzel = make_config("world=toy", "strategy=einzel")
    a, b = Simulation(toy_world, efa, 0), Simulation(toy_world, einzel, 0)
    _draws_equal(a.draws, b.draws)
    # ... and hence the same effort for the same build, and the same work order.
    for s in range(toy_world.n_services):
        for builder in range(toy_world.n_states + 1):
            assert a.effort_pd(s, builder, False) == b.effort_pd(s, builder, False)
    np.testing.assert_array_equal([x.rank for x in a.builders], [x.rank for x in b.builders])


def test_draws_differ_between_seeds_and_replications(toy_world) -> None:
    d = Draws.make(toy_world, 1, 0, 1.0)
    for other in (Draws.make(toy_world, 2, 0, 1.0), Draws.make(toy_world, 1, 1, 1.0)):
        for name in Draws.__dataclass_fields__:
            assert not np.array_equal(getattr(d, name), getattr(other, name)), name


def test_streams_are_keyed_by_fixed_ids() -> None:
    # Adding a stream never shifts another: each is SeedSequence((seed, rep, fixed id)).
    assert len(set(STREAM_IDS.values())) == len(STREAM_IDS)
    for name, sid in STREAM_IDS.items():
        direct = np.random.default_rng(np.random.SeedSequence((5, 2, sid))).random(4)
        np.testing.assert_array_equal(stream(5, 2, name).random(4), direct)
    assert STREAM_IDS["delays"] == 2 and STREAM_IDS["hiring"] == 5
    a = stream(5, 2, "hiring", 0).random(3)
    assert not np.array_equal(a, stream(5, 2, "hiring", 1).random(3))


def test_deterministic_delays_are_all_ones(toy_world) -> None:
    d = Draws.make(toy_world, 1, 0, 0.0)
    for name in ("publication", "decision", "contract", "tenant_onboarding", "info_lag"):
        assert np.all(getattr(d, name) == 1.0), name
    noisy = Draws.make(toy_world, 1, 0, 1.0)
    assert noisy.decision.mean() == pytest.approx(1.0, abs=0.25)
    assert noisy.decision.std() == pytest.approx(1.0, abs=0.35)
