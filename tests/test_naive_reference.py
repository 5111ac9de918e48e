"""Cross-check of the fast model (``sim/model/``) against the naive reference
(``experiments/naive_reference.py``: one SimPy process per (administration, service) and
(Land, service) pair), in the default (historical) scenario.

- Paired (same replication numbers, hence the same random inputs), on a small world: with
  the running-cost check made as the fast model makes it (``check_ahead``) the two agree
  to rounding in every availability time, event and ledger sum; with the plain per-pair
  check they differ only in a few connections of administrations that had a connection
  deferred for running costs (differences 1 and 2 of the reference's docstring), and
  without running costs not at all.
- Statistical (slow): 50 replications of each model on disjoint replication numbers, on a
  mid-size world (HE and BY, 250 administrations each, the whole catalogue); the national
  curves at Dec 2022 and Dec 2025 must not differ in distribution (Kolmogorov-Smirnov and
  Mann-Whitney, p > 0.01). About 2 minutes on 2 cores (a naive replication takes ~4 s).
  Checked against broken references: without the information lag or without support
  money it fails at p < 0.001, without the running-cost deferral at p = 0.002 (services
  nationwide, Dec 2025); the paired tests also catch a missing second queue.
"""

from __future__ import annotations

import collections
import copy
import gc
import multiprocessing as mp
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import make_config
from scipy import stats

from sim.calendar import month_index
from sim.config import load_config
from sim.keys import to_dict
from sim.metrics import tables_for_replication
from sim.model import RunResult, simulate
from sim.params import Config, WorldParams
from sim.world import World, build_world

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))
from naive_reference import NaiveSimulation, simulate_naive

#: The groups of the default (historical) scenario, which make_config would otherwise pin.
DEFAULT_SCENARIO = ("funding=historical", "staffing=historical", "operation=historical",
                    "state_programmes=all", "calibrated=historical")
END = "2025-12"
#: Hessen and Bayern exercise both Länder's programmes (money, support, top-k services)
#: and Hessen's Land-pays-municipal phase 2023-24.
MID = WorldParams(name="mid", states=["HE", "BY"], max_admins_per_state=250)
PAIRED = WorldParams(name="he_by_40", states=["HE", "BY"], max_admins_per_state=40)
MONTHS = ("2022-12", "2025-12")
COLUMNS = ("nationwide", "population_coverage")
N_REPS = 50
NAIVE_OFFSET = 1000  # naive replications 1000..1049: independent of the fast ones 0..49


def default_scenario(world: WorldParams) -> Config:
    cfg = make_config(*DEFAULT_SCENARIO, world=world, end=END)
    # Nothing but the world and the end differs from `ozg-sim`'s default configuration.
    mine, default = to_dict(cfg), to_dict(load_config([]))
    for key in ("world", "end"):
        del mine[key], default[key]
    assert mine == default
    return cfg


# --------------------------------------------------------------------------- paired


@pytest.fixture(scope="module")
def paired() -> tuple[World, Config]:
    cfg = default_scenario(PAIRED)
    return build_world(cfg.world), cfg


def _differing(a: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Mask of entries that differ (beyond ``tol``, or finite in only one)."""
    both = np.isfinite(a) & np.isfinite(b)
    out = np.isfinite(a) != np.isfinite(b)
    out[both] |= np.abs(a[both] - b[both]) > tol
    return out


def _ledger_sums(r: RunResult) -> dict[tuple[int, str, str, str], float]:
    sums: dict[tuple[int, str, str, str], float] = collections.defaultdict(float)
    for t, programme, actor, eur, purpose in r.spending:
        sums[(int(t), programme, actor, purpose)] += eur
    return sums


def _national(world: World, r: RunResult) -> dict[str, np.ndarray]:
    nat = tables_for_replication(world, r)["national"]
    return {c: nat[c].to_numpy(dtype=float) for c in COLUMNS}


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_same_draws_same_results_when_the_cost_check_is_made_ahead(paired, replication) -> None:
    """Decided as the fast model decides it, everything agrees to rounding (without the
    roll-out channels: a served administration learns when its channel has prepared a
    service only then, so the reference cannot check ahead for it; difference 5 of the
    reference's docstring)."""
    world, cfg = paired
    cfg = copy.deepcopy(cfg)
    cfg.providers.enabled = False
    fast = simulate(world, cfg, replication)
    sim = NaiveSimulation(world, cfg, replication, check_ahead=True)
    naive = sim.run()
    assert sim.n_deferred > 50  # the running-cost deferral is exercised
    assert not _differing(fast.t_state, naive.t_state).any()
    assert not _differing(fast.t_admin, naive.t_admin).any()
    assert len(fast.events) == len(naive.events)
    for e, f in zip(sorted(fast.events), sorted(naive.events), strict=True):
        assert e[1:] == f[1:] and abs(e[0] - f[0]) < 1e-9
    a, b = _ledger_sums(fast), _ledger_sums(naive)
    assert set(a) == set(b)
    assert all(abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k])) for k in a)
    assert fast.budgets == naive.budgets
    assert fast.horizon_months == naive.horizon_months == month_index(END) + 1


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_same_draws_agree_closely_with_the_plain_cost_check(paired, replication) -> None:
    """The per-pair process checks the running costs once the administration has heard of
    the service: a deferred connection holds the main queue until then, so a later service
    whose information lag ended earlier may start later than in the fast model. Only
    connections to reused services (where the check applies) and those queued behind them
    can differ; everything at Land level is identical."""
    world, cfg = paired
    fast = simulate(world, cfg, replication)
    plain = NaiveSimulation(world, cfg, replication)
    naive = plain.run()
    ahead = NaiveSimulation(world, cfg, replication, check_ahead=True)
    ahead.run()  # the same as the fast model (previous test)
    assert not _differing(fast.t_state, naive.t_state).any()
    diff = _differing(fast.t_admin, naive.t_admin)
    assert diff.mean() < 0.01, f"{diff.sum()} of {diff.size} connections differ"
    # Only administrations with a connection deferred for running costs differ.
    differing_admins = set(np.flatnonzero(diff.any(axis=0)).tolist())
    assert differing_admins <= plain.deferred_admins | ahead.deferred_admins
    f, n = _national(world, fast), _national(world, naive)
    # A few administrations: at most a few services' nationwide dates move.
    assert np.abs(f["nationwide"] - n["nationwide"]).max() <= 3
    assert np.abs(f["population_coverage"] - n["population_coverage"]).max() < 1e-3


@pytest.mark.parametrize("states", [["HE", "BY"], ["NW", "TH", "SL"]])
def test_same_draws_same_results_without_running_cost_deferral(states: list[str]) -> None:
    """When the Bund pays all running costs nothing is ever deferred, and the plain
    reference agrees with the fast model to rounding, roll-out channels included (NRW: 30
    bodies in three channels; Thüringen: a channel reaching part of the Land), and so do
    correlated reuse delays and unevenly dispersed information lags (MODEL.md 7.5, 7.6)."""
    world_p = WorldParams(name="paired", states=states, max_admins_per_state=40)
    cfg = make_config(*[o for o in DEFAULT_SCENARIO if not o.startswith("operation=")],
                      "operation=central", "providers.enabled=true",
                      "sharing.efa.common_delay_weight=0.8", "municipal.info_lag_dispersion=2",
                      world=world_p, end=END)
    world = build_world(cfg.world)
    fast = simulate(world, cfg, 0)
    sim = NaiveSimulation(world, cfg, 0)
    naive = sim.run()
    assert sim.n_deferred == 0
    assert len(sim.prepared) > 0  # the channels are exercised
    assert not _differing(fast.t_state, naive.t_state).any()
    assert not _differing(fast.t_admin, naive.t_admin).any()


# --------------------------------------------------------------------------- statistical

_WORKER: dict[str, object] = {}


def _init_worker(world: World, cfg: Config) -> None:
    _WORKER["world"], _WORKER["cfg"] = world, cfg


def _national_points(job: tuple[str, list[int]]) -> list[dict[tuple[str, str], float]]:
    """National curves of replications of one model at the test months."""
    model, replications = job
    world, cfg = _WORKER["world"], _WORKER["cfg"]
    assert isinstance(world, World) and isinstance(cfg, Config)
    run = simulate_naive if model == "naive" else simulate
    out = []
    for r in replications:
        nat = _national(world, run(world, cfg, r))
        out.append({(c, m): float(nat[c][month_index(m)]) for c in COLUMNS for m in MONTHS})
    return out


@pytest.mark.slow
def test_fast_and_naive_models_agree_in_distribution() -> None:
    cfg = default_scenario(MID)
    world = build_world(cfg.world)
    # The slow naive runs first, so the two workers finish together; each in a fresh worker
    # (a naive run frees some 10^6 small objects, and a next run in the same process is
    # ~30 % slower on the fragmented heap), the fast ones ten to a worker.
    jobs = ([("naive", [NAIVE_OFFSET + r]) for r in range(N_REPS)]
            + [("fast", list(range(r, min(r + 10, N_REPS)))) for r in range(0, N_REPS, 10)])
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    gc.freeze()  # forked workers need not copy the parent's heap when they collect
    try:
        with ctx.Pool(2, initializer=_init_worker, initargs=(world, cfg),
                      maxtasksperchild=1) as pool:
            results = pool.map(_national_points, jobs, chunksize=1)
    finally:
        gc.unfreeze()
    points = [p for batch in results for p in batch]
    naive, fast = points[:N_REPS], points[N_REPS:]
    failures = []
    for key in [(c, m) for c in COLUMNS for m in MONTHS]:
        x = np.array([p[key] for p in fast])
        y = np.array([p[key] for p in naive])
        ks = stats.ks_2samp(x, y).pvalue
        mw = stats.mannwhitneyu(x, y, alternative="two-sided").pvalue
        line = (f"{key[0]} {key[1]}: fast mean {x.mean():.4f} sd {x.std(ddof=1):.4f}, "
                f"naive mean {y.mean():.4f} sd {y.std(ddof=1):.4f}; "
                f"KS p={ks:.3f}, Mann-Whitney p={mw:.3f}")
        print(line)
        if min(ks, mw) <= 0.01:
            failures.append(line)
    assert not failures, "\n".join(failures)
