"""A sweep's large tables on disk as its runs arrive: one Parquet dataset per table of
:data:`sim.outputs.SWEEP_TABLES`, one file per design point.

    <folder>/national/point-000000.parquet, point-000001.parquet, ..., _common_metadata

:class:`PointStore` is the sink of :func:`sim.sweep.run_sweep`: each design point's runs
are written as soon as they are all in (rows in replication order, with ``point`` and the
design columns in front, exactly the rows :func:`sim.sweep.assemble` would give), and then
dropped, so the memory of the process that collects the results does not grow with the
number of runs. A file depends only on its point's runs, so the dataset is the same bytes
whatever the engine, the number of workers or the order in which points finish. Each
dataset's ``_common_metadata`` (the Parquet convention Dask and Spark read) holds the schema
of all its files, unified in point order (a point whose runs all failed has no file).

:func:`sim.outputs.read_table` reads such a dataset back (all of it or some columns), in
point order; ``pandas.read_parquet(folder / "national")`` and ``dask.dataframe.read_parquet``
read it too.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sim.outputs import COMMON_METADATA, SWEEP_TABLES, dataset_file
from sim.sweep import RunRecord, Sweep, design_frame, point_tables


class PointStore:
    """Writes each design point's tables into ``folder`` (:func:`sim.sweep.run_sweep`'s
    ``on_point``); :meth:`close` writes the schemas and returns the row counts.

    Attributes
    ----------
    design : DataFrame
        The sweep's design (:func:`sim.sweep.design_frame`), built once.
    rows : dict of str to int
        Rows written so far, per table.
    """

    def __init__(self, folder: Path, sweep: Sweep) -> None:
        self.folder = Path(folder)
        self.design = design_frame(sweep)
        self.rows: dict[str, int] = {}
        # distinct schemas per table, each with the first point that had it (few: a table's
        # schema differs only where a point's runs left a column empty)
        self._schemas: dict[str, dict[pa.Schema, int]] = {}
        for name in SWEEP_TABLES:  # every dataset exists, if empty (all runs failed)
            (self.folder / name).mkdir(parents=True, exist_ok=True)

    def add(self, point: int, records: list[RunRecord]) -> None:
        """Write the point's rows of every table (nothing where all its runs failed)."""
        for name, df in point_tables(self.design.iloc[[point]], records).items():
            self.rows[name] = self.rows.get(name, 0) + len(df)
            if not len(df):
                continue
            table = pa.Table.from_pandas(df, preserve_index=False)
            pq.write_table(table, dataset_file(self.folder / name, point))
            seen = self._schemas.setdefault(name, {})
            if table.schema not in seen or point < seen[table.schema]:
                seen[table.schema] = point

    def close(self) -> dict[str, int]:
        """Write every dataset's ``_common_metadata``; the rows of each table."""
        for name, seen in self._schemas.items():
            ordered = [s for s, _p in sorted(seen.items(), key=lambda kv: kv[1])]
            schema = pa.unify_schemas(ordered, promote_options="permissive") \
                if len(ordered) > 1 else ordered[0]
            pq.write_metadata(schema.with_metadata(ordered[0].metadata),
                              self.folder / name / COMMON_METADATA)
        return dict(self.rows)


__all__ = ["PointStore"]
