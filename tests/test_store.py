"""A sweep's tables streamed to disk (sim/store.py): the datasets read back equal the tables
assembled in memory, their bytes do not depend on the order in which points complete, a
point whose runs all failed leaves no file, and a sweep with a sink keeps no run's tables."""

from __future__ import annotations

import copy
import filecmp
import json
from pathlib import Path

import pandas as pd
import pytest

from sim.outputs import COMMON_METADATA, SWEEP_TABLES, read_folder, read_table
from sim.store import PointStore
from sim.sweep import RunRecord, assemble, make_sweep, run_sweep

TOY = ["world=toy", "end=2021-12"]


@pytest.fixture(scope="module")
def sweep_and_records():
    sweep = make_sweep("store", {"grid": {"strategy": ["efa", "efv"],
                                          "staffing.dev_fte_factor": [0.8, 1.2]}},
                       TOY, replications=2, seed=3)
    return sweep, run_sweep(sweep, workers=1)


def _by_point(records: list[RunRecord]) -> dict[int, list[RunRecord]]:
    out: dict[int, list[RunRecord]] = {}
    for rec in records:
        out.setdefault(rec.point, []).append(rec)
    return out


def _store(folder: Path, sweep, points: dict[int, list[RunRecord]], order: list[int]) -> dict:
    store = PointStore(folder, sweep)
    for p in order:
        store.add(p, copy.deepcopy(points[p]))
    return store.close()


def test_the_datasets_equal_the_tables_assembled_in_memory(sweep_and_records,
                                                           tmp_path: Path) -> None:
    sweep, records = sweep_and_records
    expected = assemble(sweep, records)
    rows = _store(tmp_path, sweep, _by_point(records), list(range(len(sweep.points))))
    for name in SWEEP_TABLES:
        got = read_table(tmp_path / name, rows[name])
        pd.testing.assert_frame_equal(got, expected[name], obj=name)
        assert (tmp_path / name / COMMON_METADATA).is_file()
    cols = ["point", "month", "population_coverage"]  # some columns only
    pd.testing.assert_frame_equal(read_table(tmp_path / "national", columns=cols),
                                  expected["national"][cols])


def test_the_bytes_do_not_depend_on_the_order_points_complete(sweep_and_records,
                                                              tmp_path: Path) -> None:
    sweep, records = sweep_and_records
    points = _by_point(records)
    n = len(sweep.points)
    _store(tmp_path / "a", sweep, points, list(range(n)))
    _store(tmp_path / "b", sweep, points, [2, 0, 3, 1][:n])
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*")
                           if p.is_file())
    assert len([f for f in files if f.parts[0] == "national"]) == n + 1
    for f in files:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f


def test_a_point_whose_runs_all_failed_has_no_file(sweep_and_records, tmp_path: Path) -> None:
    sweep, records = sweep_and_records
    points = _by_point(copy.deepcopy(records))
    for rec in points[1]:
        rec.status, rec.tables, rec.error = "failed", {}, "ValueError: planted"
    rows = _store(tmp_path, sweep, points, list(range(len(sweep.points))))
    assert not (tmp_path / "national" / "point-000001.parquet").exists()
    expected = assemble(sweep, [r for p in sorted(points) for r in points[p]])
    pd.testing.assert_frame_equal(read_table(tmp_path / "national", rows["national"]),
                                  expected["national"])


def test_a_sweep_with_a_sink_keeps_no_tables(sweep_and_records) -> None:
    sweep, records = sweep_and_records
    seen: dict[int, list[int]] = {}

    def sink(point: int, recs: list[RunRecord]) -> None:
        assert all(r.tables for r in recs)  # handed over whole
        seen[point] = [r.replication for r in recs]

    light = run_sweep(sweep, workers=2, on_point=sink)
    assert seen == {p: [0, 1] for p in range(len(sweep.points))}
    assert all(r.tables == {} for r in light)
    pd.testing.assert_frame_equal(pd.DataFrame([r.kpis for r in light]),
                                  pd.DataFrame([r.kpis for r in records]))


def test_an_experiment_folder_is_read_table_by_table(tmp_path: Path) -> None:
    """Old folders (a file per table) and new ones (a dataset per table) read alike."""
    sweep = make_sweep("store", {"grid": {"strategy": ["efa", "efv"]}}, TOY, 2, 3)
    records = run_sweep(sweep, workers=1)
    tables = assemble(sweep, records)
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    rows_old = {}
    for name, df in tables.items():
        df.to_parquet(old / f"{name}.parquet", index=False)
        rows_old[f"{name}.parquet"] = len(df)
    rows_new = {f"{k}/": v for k, v in _store(new, sweep, _by_point(records), [0, 1]).items()}
    for name in ("kpis", "runs", "points"):
        tables[name].to_parquet(new / f"{name}.parquet", index=False)
        rows_new[f"{name}.parquet"] = len(tables[name])
    for folder, rows in ((old, rows_old), (new, rows_new)):
        (folder / "manifest.json").write_text(json.dumps({
            "tool": "ozg-sim-experiment", "experiment": "store", "replications": 2,
            "rows": rows}))
    _m, a = read_folder(old)
    _m, b = read_folder(new)
    assert sorted(a) == sorted(b) == sorted(tables)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
