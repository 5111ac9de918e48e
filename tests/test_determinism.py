"""Same configuration and seed -> identical tables, whatever the number of worker processes."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import SMALL, make_config

from sim.outputs import TABLES
from sim.runner import Results, run_replications


def _assert_same(a: Results, b: Results) -> None:
    assert set(a.tables) == set(b.tables) == set(TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True,
                                      obj=name)
    pd.testing.assert_frame_equal(a.kpis, b.kpis, check_exact=True)
    pd.testing.assert_frame_equal(a.kpi_summary, b.kpi_summary, check_exact=True)


@pytest.fixture(scope="module")
def first_run(small_world) -> Results:
    cfg = make_config("strategy=mixed", "funding=koenigstein", world=SMALL, replications=3)
    return run_replications(small_world, cfg, workers=1)


def test_same_seed_same_tables(small_world, first_run: Results) -> None:
    cfg = make_config("strategy=mixed", "funding=koenigstein", world=SMALL, replications=3)
    _assert_same(first_run, run_replications(small_world, cfg, workers=1))


def test_workers_do_not_change_results(small_world, first_run: Results) -> None:
    cfg = make_config("strategy=mixed", "funding=koenigstein", world=SMALL, replications=3)
    parallel = run_replications(small_world, cfg, workers=2)
    _assert_same(first_run, parallel)
    assert list(parallel.tables["national"]["replication"].unique()) == [0, 1, 2]


def test_tables_are_in_replication_order(first_run: Results) -> None:
    for name in ("national", "by_state", "events", "spending"):
        reps = first_run.tables[name]["replication"].to_numpy()
        assert (reps[1:] >= reps[:-1]).all(), name
        assert set(reps) == {0, 1, 2}
    assert list(first_run.kpis["replication"]) == [0, 1, 2]


def test_replications_differ(first_run: Results) -> None:
    nat = first_run.tables["national"]
    c0 = nat.loc[nat["replication"] == 0, "population_coverage"].to_numpy()
    c1 = nat.loc[nat["replication"] == 1, "population_coverage"].to_numpy()
    assert (c0 != c1).any()


def test_different_seeds_differ(small_world, first_run: Results) -> None:
    cfg = make_config("strategy=mixed", "funding=koenigstein", world=SMALL, replications=3,
                      seed=2)
    other = run_replications(small_world, cfg, workers=1)
    for name in ("national", "events"):
        with pytest.raises(AssertionError):
            pd.testing.assert_frame_equal(first_run.tables[name], other.tables[name])
    # Same shape of the monthly tables: only the values change.
    assert first_run.tables["national"].shape == other.tables["national"].shape


def test_replication_does_not_depend_on_how_many_are_run(small_world,
                                                         first_run: Results) -> None:
    # Replication r is keyed by (seed, r): running 2 instead of 3 changes nothing in them.
    cfg = make_config("strategy=mixed", "funding=koenigstein", world=SMALL, replications=2)
    two = run_replications(small_world, cfg, workers=1)
    nat3 = first_run.tables["national"]
    pd.testing.assert_frame_equal(two.tables["national"],
                                  nat3[nat3["replication"] < 2].reset_index(drop=True))
