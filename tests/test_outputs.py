"""The output tables against their one declaration (``sim/outputs.py``): every table a
replication produces, the tables a sweep keeps, and the README's column list."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from helpers import TOY, make_config

from sim.metrics import running_costs_by_year, tables_for_replication
from sim.model import simulate
from sim.outputs import (
    OUTPUT_TABLES,
    RECORD_TABLES,
    RUN_TABLES,
    SENSITIVITY_TABLES,
    SWEEP_TABLES,
    TABLE_BY_NAME,
    TABLES,
    columns_markdown,
)
from sim.sweep import assemble, make_sweep, run_sweep
from sim.world import World

README = Path(__file__).resolve().parent.parent / "README.md"
EXPERIMENTS_README = README.parent / "experiments" / "README.md"


def test_every_table_of_a_replication_has_exactly_the_declared_columns(toy_world: World) -> None:
    cfg = make_config("operation=historical", world=TOY)  # running costs, so spending has them
    tables = tables_for_replication(toy_world, simulate(toy_world, cfg, 0), cfg.map_months)
    assert tuple(tables) == TABLES
    for name, df in tables.items():
        assert tuple(df.columns) == TABLE_BY_NAME[name].names, name
        assert len(df) > 0, name
    costs = running_costs_by_year(tables["spending"])
    assert tuple(costs.columns) == TABLE_BY_NAME["running_costs"].names
    assert len(costs) > 0


def test_declarations_are_complete_and_consistent() -> None:
    names = [t.name for t in OUTPUT_TABLES]
    assert len(set(names)) == len(names)
    assert RUN_TABLES == tuple(t for t in SWEEP_TABLES if t in TABLES)
    for t in OUTPUT_TABLES:
        assert t.keys and t.values, t.name
        assert t.names[0] == "replication", t.name
        cols = [c.name for c in t.columns]
        assert len(set(cols)) == len(cols), t.name
        # every value column says what it is; numbers say their unit
        for c in t.values:
            assert c.text, (t.name, c.name)


def test_a_sweep_keeps_the_declared_tables_with_point_and_design_columns() -> None:
    sw = make_sweep("t", {"grid": {"strategy": ["efa", "efv"]}}, ["world=toy"], 1, 1)
    out = assemble(sw, run_sweep(sw, workers=1))
    design = ["point", *sw.design_columns()]
    for name in SWEEP_TABLES:
        assert list(out[name].columns) == [*design, *TABLE_BY_NAME[name].names], name
        # (efv on the toy world: every Land is alone in its group, so nothing is reused
        # and nobody pays running costs)
        assert set(out[name]["point"]) == ({0} if name == "running_costs" else {0, 1}), name


def test_readme_lists_the_declared_columns() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- columns: begin[^>]*-->\n(.*?)\n<!-- columns: end -->", text,
                      re.DOTALL)
    assert block is not None, "README.md lacks the generated column list"
    assert block.group(1) == columns_markdown(), (
        "README.md's column list is out of date: replace the block between the 'columns' "
        "markers by the output of python -c 'from sim.outputs import columns_markdown; "
        "print(columns_markdown())'")
    for t in OUTPUT_TABLES:
        assert f"`{t.name}.parquet`" in text or not t.in_runs, t.name


def test_kept_tables_are_what_a_sweep_record_holds(toy_world: World) -> None:
    cfg = make_config(world=TOY)
    tables = tables_for_replication(toy_world, simulate(toy_world, cfg, 0), cfg.map_months)
    kept = {k: tables[k] for k in RUN_TABLES}
    assert all(isinstance(v, pd.DataFrame) for v in kept.values())
    # derived in the sweep from the run's spending and events (sim.sweep.execute_run)
    assert set(SWEEP_TABLES) - set(RUN_TABLES) == {"running_costs", "milestones"}


def test_experiments_readme_lists_the_sensitivity_columns() -> None:
    text = EXPERIMENTS_README.read_text(encoding="utf-8")
    block = re.search(r"<!-- sensitivity columns: begin[^>]*-->\n(.*?)\n<!-- sensitivity "
                      r"columns: end -->", text, re.DOTALL)
    assert block is not None, "experiments/README.md lacks the generated sensitivity columns"
    assert block.group(1) == columns_markdown(tables=SENSITIVITY_TABLES), (
        "experiments/README.md's sensitivity columns are out of date: replace the block by "
        "the output of python -c 'from sim.outputs import columns_markdown, "
        "SENSITIVITY_TABLES; print(columns_markdown(tables=SENSITIVITY_TABLES))'")


def test_a_run_record_holds_the_record_tables() -> None:
    sw = make_sweep("t", {"grid": {"strategy": ["efa"]}}, ["world=toy"], 1, 1)
    rec = run_sweep(sw, workers=1)[0]
    assert tuple(rec.tables) == RECORD_TABLES
    assert tuple(rec.tables["observables"].columns) == TABLE_BY_NAME["observables"].names
    assert "observables" not in assemble(sw, [rec])  # kept in the record, not written
