"""The sweep runner: designs, configs per point, determinism, resume, failures, CRN."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import sim.cache as run_cache
import sim.sweep as sweep_mod
from sim.errors import ConfigError
from sim.keys import set_path
from sim.outputs import RECORD_TABLES
from sim.ranges import latin_hypercube, parse_ranges
from sim.sweep import (
    RunRecord,
    assemble,
    execute_run,
    expand_design,
    grid,
    make_sweep,
    run_sweep,
)

TOY = ["world=toy"]
STRATEGY_GRID = {"grid": {"strategy": ["efa", "efv", "einzel", "mixed"]}}


def test_grid_is_the_cartesian_product_in_axis_order() -> None:
    pts = grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(pts) == 6
    assert pts[0] == {"a": 1, "b": "x"} and pts[1] == {"a": 1, "b": "y"}
    assert pts[-1] == {"a": 2, "b": "z"}
    with pytest.raises(ConfigError, match=r"design\.grid\.a"):
        grid({"a": []})


def test_latin_hypercube_is_stratified_in_every_dimension() -> None:
    n = 20
    u, v = "sharing.efa.propensity", "development.effort_person_days"
    ranges = parse_ranges({u: [0.6, 1.0], v: [500.0, 1500.0]}, "design.lhs.ranges")
    pts = latin_hypercube(ranges, n, seed=3)
    assert len(pts) == n
    for key, (lo, hi) in {u: (0.6, 1.0), v: (500.0, 1500.0)}.items():
        vals = np.array([p[key] for p in pts])
        assert ((vals >= lo) & (vals <= hi)).all()
        strata = np.floor((vals - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n))  # exactly one sample per stratum
    assert pts == latin_hypercube(ranges, n, seed=3)
    with pytest.raises(ConfigError, match=r"design\.lhs\.ranges\.sharing\.efa\.propensity="
                       r"\[1\.0, 0\.6\] is not allowed: \[low, high\] with low < high"):
        expand_design({"lhs": {"n": 4, "ranges": {u: [1.0, 0.6]}}}, 0)
    with pytest.raises(ConfigError, match=r"design\.lhs\.n=0 is not allowed"):
        expand_design({"lhs": {"n": 0, "ranges": [u]}}, 0)


def test_expand_design_crosses_lhs_with_a_grid() -> None:
    x = "sharing.efa.propensity"
    pts = expand_design({"lhs": {"n": 5, "ranges": [x]},
                         "cross": {"strategy": ["efa", "efv"]}}, seed=1)
    assert len(pts) == 10
    assert [p["strategy"] for p in pts[:2]] == ["efa", "efv"]
    assert pts[0][x] == pts[1][x]  # each hypercube point is paired across strategies
    with pytest.raises(ConfigError, match=r"design\.foo"):
        expand_design({"foo": 1}, 1)


def test_points_get_their_overrides_and_types_are_coerced() -> None:
    sw = make_sweep("t", {"grid": {"strategy": ["efa", "efv"],
                                   "sharing.efa.operator_onboarding_slots": [3.4],
                                   "staffing.dev_fte_factor": [2]}}, TOY, 2, 5)
    assert [c.strategy.name for c in sw.configs] == ["efa", "efv"]
    assert all(c.sharing.efa.operator_onboarding_slots == 3 for c in sw.configs)
    assert all(isinstance(c.staffing.dev_fte_factor, float) for c in sw.configs)
    assert all(c.seed == 5 and c.world.name == "toy" for c in sw.configs)
    cfg = sw.configs[0]
    with pytest.raises(ConfigError, match="unknown key"):
        set_path(cfg, "staffing.no_such_key", 1)
    with pytest.raises(ConfigError, match="propensity"):
        make_sweep("t", {"grid": {"sharing.efa.propensity": [1.5]}}, TOY, 1, 1)


def _tables(records, sw) -> dict[str, pd.DataFrame]:
    return assemble(sw, records)


def test_results_do_not_depend_on_workers_or_the_cache(tmp_path) -> None:
    sw = make_sweep("t", STRATEGY_GRID, TOY, 3, 2)
    one = _tables(run_sweep(sw, workers=1), sw)
    two = _tables(run_sweep(sw, workers=2, cache_dir=tmp_path), sw)
    again = _tables(run_sweep(sw, workers=2, cache_dir=tmp_path), sw)
    assert again["runs"]["cached"].all() and not two["runs"]["cached"].any()
    for name in ("national", "by_state", "by_kreis", "kpis"):
        pd.testing.assert_frame_equal(one[name], two[name])
        pd.testing.assert_frame_equal(one[name], again[name])


def test_an_interrupted_sweep_resumes_without_recomputing(tmp_path, monkeypatch) -> None:
    sw = make_sweep("t", STRATEGY_GRID, TOY, 3, 4)
    calls: list[tuple[int, int]] = []

    def interrupting(point, rep, cfg, key, cache_dir):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append((point, rep))
        return execute_run(point, rep, cfg, key, cache_dir)

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, workers=1, cache_dir=tmp_path, runner=interrupting)
    assert len(calls) == 5
    calls.clear()

    def counting(point, rep, cfg, key, cache_dir):
        calls.append((point, rep))
        return execute_run(point, rep, cfg, key, cache_dir)

    resumed = run_sweep(sw, workers=1, cache_dir=tmp_path, runner=counting)
    assert len(calls) == sw.n_runs - 5  # only what was missing
    assert sum(r.cached for r in resumed) == 5
    fresh = run_sweep(sw, workers=1)
    pd.testing.assert_frame_equal(_tables(resumed, sw)["national"],
                                  _tables(fresh, sw)["national"])


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch) -> None:
    sw = make_sweep("t", STRATEGY_GRID, TOY, 2, 1)
    real = sweep_mod.run_replication

    def flaky(world, cfg, replication, **kw):
        if cfg.strategy.name == "efv" and replication == 1:
            raise RuntimeError("boom in efv/1")
        return real(world, cfg, replication, **kw)

    monkeypatch.setattr(sweep_mod, "run_replication", flaky)
    recs = run_sweep(sw, workers=1, cache_dir=tmp_path)
    failed = [r for r in recs if r.status == "failed"]
    assert [(r.point, r.replication) for r in failed] == [(1, 1)]
    assert "boom in efv/1" in failed[0].error
    t = assemble(sw, recs)
    assert len(t["kpis"]) == sw.n_runs - 1
    assert t["runs"].loc[t["runs"]["status"] == "failed", "error"].str.contains("boom").all()
    # a failure is not cached: the next run retries it
    monkeypatch.setattr(sweep_mod, "run_replication", real)
    again = run_sweep(sw, workers=1, cache_dir=tmp_path)
    assert all(r.status == "ok" for r in again)
    assert sum(not r.cached for r in again) == 1


def test_common_random_numbers_shrink_the_variance_of_differences() -> None:
    sw = make_sweep("t", {"grid": {"strategy": ["efa", "efv"]}},
                    ["world.states=[SH,HB,SL]", "world.max_admins_per_state=40",
                     "world.services_per_topic=6", "funding=none"], 12, 3)
    k = assemble(sw, run_sweep(sw, workers=2))["kpis"]
    wide = k.pivot(index="replication", columns="strategy",
                   values="population_coverage_2022_12")
    paired = (wide["efa"] - wide["efv"]).var(ddof=1)
    unpaired = wide["efa"].var(ddof=1) + wide["efv"].var(ddof=1)
    assert paired < 0.5 * unpaired


def test_assemble_keeps_design_columns_and_run_table() -> None:
    sw = make_sweep("t", {"grid": {"staffing.municipal_fte_factor": [0.5, 2.0]}}, TOY, 2, 1)
    recs = run_sweep(sw, workers=1)
    t = assemble(sw, recs)
    nat = t["national"]
    assert list(nat.columns[:4]) == ["point", "strategy", "funding",
                                     "staffing.municipal_fte_factor"]
    assert set(nat["staffing.municipal_fte_factor"]) == {0.5, 2.0}
    assert (nat["strategy"] == "efa").all()
    assert len(t["runs"]) == 4 and (t["runs"]["status"] == "ok").all()
    assert isinstance(recs[0], RunRecord)
    # more municipal staff, same seeds: the mean curve is never lower and higher somewhere
    curve = nat.groupby(["staffing.municipal_fte_factor", "month"])[
        "population_coverage"].mean().unstack(0)
    assert (curve[2.0] >= curve[0.5] - 1e-12).all() and (curve[2.0] > curve[0.5]).any()


def test_the_run_cache_holds_data_only_and_never_unpickles(tmp_path) -> None:
    """A cache entry is Parquet tables and JSON numbers, read back exactly; a pickle planted
    under a run's key (the old format, or an attacker's file in a shared cache folder) is
    never loaded: the run is computed instead."""
    import pickle

    sw = make_sweep("t", {"grid": {"strategy": ["efa"]}}, TOY, 1, 2)
    fresh = run_sweep(sw, workers=1, cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files and all(f.endswith((".parquet", ".json")) for f in files), files
    again = run_sweep(sw, workers=1, cache_dir=tmp_path)
    assert all(r.cached for r in again)
    for a, b in zip(fresh, again, strict=True):
        assert a.kpis == b.kpis and set(a.tables) == set(b.tables)
        for name in a.tables:
            pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)

    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("a planted cache pickle was unpickled",))

    planted = tmp_path / "planted"
    planted.mkdir()
    keys = [key for *_rest, key in sw.runs()]
    for key in keys:  # the old layout, and the entry's own folder with pickles for tables
        (planted / key[:2]).mkdir(exist_ok=True)
        (planted / key[:2] / f"{key}.pkl").write_bytes(pickle.dumps(Boom()))
        entry = run_cache.entry_path(planted, key)
        entry.mkdir(parents=True)
        for name in RECORD_TABLES:
            (entry / f"{name}.parquet").write_bytes(pickle.dumps(Boom()))
        (entry / run_cache.RECORD).write_text(json.dumps(
            {"tables": list(RECORD_TABLES), "kpis": {}, "wall_s": 0.0}))
    recs = run_sweep(sw, workers=1, cache_dir=planted)
    assert not any(r.cached for r in recs) and all(r.status == "ok" for r in recs)
