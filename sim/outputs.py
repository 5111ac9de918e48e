"""The output tables, declared once: name, what a row is, key columns and value columns with
their units.

:mod:`sim.metrics` builds these tables, a run writes each as ``<name>.parquet``, a sweep
keeps those marked ``in_sweeps`` (with its ``point`` and design columns in front), the
README's column list is rendered from here (:func:`columns_markdown`; a test keeps the two
equal) and a schema test checks every table a replication produces against its declaration.
Months count from 2018-01 (month 0); the ``date`` of a monthly row is the month's last day,
and the state is the one at the end of that day.

:func:`read_folder` reads a saved run or experiment folder back for the commands that redraw
or compare (``ozg-sim-figures``, ``ozg-sim-compare``), checking its ``manifest.json`` and
every table against what the manifest and these declarations promise.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.errors import DataError


@dataclass(frozen=True)
class Column:
    """One column: its name, unit (empty for labels), meaning, and whether it is a key
    (says what a row is about) or a value (what was measured)."""

    name: str
    unit: str = ""
    text: str = ""
    key: bool = False


def _key(name: str, unit: str = "", text: str = "") -> Column:
    return Column(name, unit, text, key=True)


@dataclass(frozen=True)
class Table:
    """One output table.

    Attributes
    ----------
    name : str
        File stem (``national`` -> ``national.parquet``).
    rows : str
        What one row is.
    columns : tuple of Column
        Every column, in table order.
    in_runs : bool
        Written by every run (``ozg-sim``).
    in_sweeps : bool
        Kept of every run of a sweep (``ozg-sim-experiment``) and written to its folder.
    record_only : bool
        Kept in every sweep run's record and run cache, but not written to an experiment
        folder (read by the ``sensitivity`` experiment).
    where : str
        Who writes the table, if not a run or a sweep (the README's text).
    """

    name: str
    rows: str
    columns: tuple[Column, ...]
    in_runs: bool = True
    in_sweeps: bool = True
    record_only: bool = False
    where: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in table order."""
        return tuple(c.name for c in self.columns)

    @property
    def keys(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.key)

    @property
    def values(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.key)


_REP = _key("replication")
_MONTH = (_REP, _key("month", "months since 2018-01"), _key("date", "", "last day of the month"))
_ANY = "services usable in at least one place: a federal service online, a state service " \
       "in at least one Land, a municipal service in at least one administration"
_NATIONWIDE = "services usable in every Land and, if municipally executed, in every " \
              "municipal administration"
_POP = "share of inhabitant × service pairs for which the service is usable online"

OUTPUT_TABLES: tuple[Table, ...] = (
    Table("national", "one row per replication and month", (*_MONTH,
        Column("online_anywhere", "services", _ANY),
        Column("nationwide", "services", _NATIONWIDE),
        Column("online_anywhere_share", "share", "`online_anywhere` / `n_services`"),
        Column("nationwide_share", "share", "`nationwide` / `n_services`"),
        Column("population_coverage", "share", _POP),
        Column("nationwide_reported", "services",
               "the official nationwide (\"flächendeckend\") count as the dashboard reads "
               "it: services in the official count of every Land (`by_state."
               "available_reported`; MODEL.md 7.10), so never above any Land's"),
        Column("n_services", "services", "services simulated"))),
    Table("by_state", "one row per replication, month and Land",
          (*_MONTH, _key("state", "", "Land abbreviation"),
        Column("available", "services", "services usable everywhere in the Land"),
        Column("online_anywhere_in_state", "services",
               "services usable somewhere in the Land"),
        Column("available_share", "share", "`available` / `n_services`"),
        Column("available_reported", "services",
               "the Land's official \"flächendeckend\" count as the dashboard reads it: "
               "listed federal services online, state services available in the Land, "
               "municipal services connected by `observation.full_population_share` of "
               "its population (all administrations by default; MODEL.md 7.10)"),
        Column("population_coverage", "share", _POP + ", within the Land"),
        Column("n_services", "services", "services simulated"))),
    Table("by_topic", "one row per replication, month and topic field",
          (*_MONTH, _key("topic", "", "topic field (Themenfeld)"),
        Column("online_anywhere", "services", "as in `national`, within the topic field"),
        Column("nationwide", "services", "as in `national`, within the topic field"),
        Column("nationwide_share", "share", "`nationwide` / `n_services`"),
        Column("population_coverage", "share", _POP + ", over the topic's services"),
        Column("n_services", "services", "services of the topic field"))),
    Table("by_size_class", "one row per replication, month and municipal size class",
          (*_MONTH, _key("size_class", "", "inhabitants of the administration, `<5k` … "
                                           "`>=500k`"),
        Column("onboarded_share", "share",
               "connected administration × municipal service pairs"),
        Column("population_coverage", "share", "the same, weighted by population"),
        Column("n_admins", "administrations", "administrations of the class"),
        Column("n_municipal_services", "services", "municipally executed services"))),
    Table("by_kreis", "one row per replication, Kreis and map month (`map_months` and the "
          "last month)", (*_MONTH, _key("kreis_ags", "", "5-digit Kreis key of the VG5000 "
                                                        "boundaries"),
        Column("population", "inhabitants", "population of the Kreis (Zensus 2022)"),
        Column("population_coverage", "share", _POP + ", within the Kreis"))),
    Table("events", "one row per event", (
        _REP, _key("time_months", "months since 2018-01", "when (float)"),
        _key("date", "", "first day of the month"),
        _key("event", "", "`online`, `published`, `reused`, `reuse_declined`, `funded`, "
                            "`reuse_deferred_by_cost` (a Land waits until it can afford the "
                            "running costs), `product_bought` (a vendor product "
                            "instead of a build), `municipal_first_onboarded`, "
                            "`municipal_all_onboarded`"),
        _key("ozg_id", "", "service (`services.csv`)"),
        Column("topic", "", "topic field of the service"),
        _key("actor", "", "`BUND` or Land"),
        Column("detail", "", "sharing mode, operator or programme")), in_sweeps=False),
    Table("spending", "one row per payment (development when the money flows, programme-paid "
          "operation per year and operator, running costs per year and payer)", (
        _REP, _key("time_months", "months since 2018-01", "when the money was paid"),
        _key("date", "", "first day of the month"),
        _key("programme", "", "funding programme, `own_funds` or `running_costs`"),
        _key("actor", "", "`BUND` or Land"),
        Column("eur", "EUR", "amount"),
        _key("purpose", "", "`development`, `operation` (running costs a programme took over "
                              "by agreement), `municipal_onboarding`, `reuse_fee`, "
                              "`vendor_product`; running "
                              "costs: `running_costs_land` (the reusing Land, or a Land paying "
                              "for its municipalities), `running_costs_municipal` (the Land's "
                              "administrations), `running_costs_bund`, `running_costs_pool` "
                              "(each Land's key share of the pooled part)")),
          in_sweeps=False),
    Table("running_costs", "one row per replication, calendar year and payer, summed from "
          "`spending`", (
        _REP, _key("year", "", "calendar year"),
        _key("payer", "", "`land`, `municipal`, `bund`, `pool`"),
        Column("eur", "EUR", "running costs paid")), in_runs=False),
    Table("milestones", "one row per replication, timeline lane (topic field or Land) and "
          "milestone: the rollout timeline of a run, kept by sweeps, which keep no events "
          "(sim/milestones.py)", (
        _REP, _key("panel", "", "`topic` or `state`"),
        _key("lane", "", "topic field, or Land abbreviation"),
        _key("series", "", "milestone: `built`, `published`, `reused`, `connected` (topic "
                           "fields); `connected_first`, `connected_all` (Länder)"),
        Column("n_services", "services", "services of the lane the milestone counts"),
        Column("time", "months since 2018-01", "month (float) by which half of them had "
               "reached the milestone; empty if not within the horizon")), in_runs=False),
    Table("observables", "one row per replication, month and observable series of the "
          "official record", (
        *_MONTH, _key("series", "", "`online_anywhere`, `federal_online`, "
                                    "`nationwide_reported`, `nationwide_nonfederal`, and "
                                    "for every Land `XX` `reported_in_land:XX`, "
                                    "`online_in_land:XX` (MODEL.md 7.10)"),
        Column("share", "share", "share of the services of the series' scope (all, federal "
               "or non-federal) online or fully available, as the calibration reads the "
               "official counts")), in_runs=False, in_sweeps=False, record_only=True),
)

#: Tables by name.
TABLE_BY_NAME = {t.name: t for t in OUTPUT_TABLES}
#: Tables every replication produces (and a run writes), in order.
TABLES = tuple(t.name for t in OUTPUT_TABLES if t.in_runs)
#: Tables a sweep keeps of every run, in order.
SWEEP_TABLES = tuple(t.name for t in OUTPUT_TABLES if t.in_sweeps)
#: Of those, the ones a replication produces as they are (the rest are derived).
RUN_TABLES = tuple(t for t in SWEEP_TABLES if t in TABLES)
#: Tables every sweep run's record (and run cache) holds: the sweep tables and the
#: record-only ones.
RECORD_TABLES = (*SWEEP_TABLES, *(t.name for t in OUTPUT_TABLES if t.record_only))

# --------------------------------------------------------------------------- analysed outputs

#: Kinds of output a sensitivity analysis can take from a sweep's run records, with the
#: form of their names: a key figure of ``kpis`` (``kpi:population_coverage_2022_12``), a
#: value column of ``national`` at a month (``national:nationwide_reported@2022-12``), an
#: observable series at a month (``observable:reported_in_land:TH@2022-07``), and every target
#: of a calibration spec at its month (``calibration:historical``, which stands for the
#: ``observable:`` outputs of its targets).
#: A ``contrast:`` output is a decision: the paired difference, on common random numbers,
#: between two levels of a lever (``strategy``, ``funding``, ``operation``) in a value column
#: of ``national`` at a month, ``contrast:FACTOR=B-A:national:COLUMN@YYYY-MM`` (level ``b``
#: minus the reference level ``a``; :mod:`sim.sensitivity.contrasts`).
OUTPUT_KINDS = {"kpi": "kpi:NAME", "national": "national:COLUMN@YYYY-MM",
                "observable": "observable:SERIES@YYYY-MM", "calibration": "calibration:SPEC",
                "contrast": "contrast:FACTOR=B-A:national:COLUMN@YYYY-MM"}
#: Prefix of the output group of a contrast's outputs (``contrast:strategy=efv-efa``).
CONTRAST_GROUP = "contrast:"


def output_parts(output: str) -> tuple[str, str, str]:
    """``"national:nationwide_reported@2022-12"`` -> ``("national", "nationwide_reported",
    "2022-12")``; the month is ``""`` for kinds without one. Only the form is checked here
    (:mod:`sim.sensitivity` checks names against a configuration).

    Raises
    ------
    ValueError
        If the kind is unknown or the form does not match :data:`OUTPUT_KINDS` (the
        message says what is allowed).
    """
    kind, sep, rest = str(output).partition(":")
    form = OUTPUT_KINDS.get(kind)
    if not sep or form is None or not rest:
        raise ValueError("one of the forms " + ", ".join(OUTPUT_KINDS.values()))
    name, at, month = rest.rpartition("@") if "@" in form else (rest, "", "")
    if "@" in form and not (at and name and len(month) == 7 and month[4] == "-"
                            and (month[:4] + month[5:]).isdigit()):
        raise ValueError(f"{kind}: the form {form}")
    return kind, name, month


def contrast_parts(name: str) -> tuple[str, str, str, str]:
    """The name of a contrast output between ``contrast:`` and ``@``
    (``strategy=efv-efa:national:population_coverage``, :func:`output_parts`) ->
    ``("strategy", "efv", "efa", "population_coverage")``: factor, level ``b``, reference
    level ``a`` and column of ``national``. Only the form is checked.

    Raises
    ------
    ValueError
        If the form is not ``FACTOR=B-A:national:COLUMN``.
    """
    label, _, rest = str(name).partition(":")
    table, _, column = rest.partition(":")
    factor, _, levels = label.partition("=")
    b, _, a = levels.partition("-")
    if not (factor and a and b and table == "national" and column):
        raise ValueError("the form " + OUTPUT_KINDS["contrast"])
    return factor, b, a, column


_PARAM = _key("parameter", "", "dotted config key of the uncertain parameter")
_OUTPUT = _key("output", "", "what was analysed (`kpi:NAME`, `national:COLUMN@YYYY-MM`, "
                             "`observable:SERIES@YYYY-MM`, "
                             "`contrast:FACTOR=B-A:national:COLUMN@YYYY-MM`)")
_GROUP = Column("group", "", "the entry of the experiment's `outputs:` it came from "
                             "(`calibration:historical` for its targets), else "
                             "`key_figures` (`kpi:`, `national:`), `observables` or, for a "
                             "decision, `contrast:FACTOR=B-A`")

#: The tables of the ``sensitivity`` experiment (``<name>.csv``, ``evaluations.parquet``).
SENSITIVITY_TABLES: tuple[Table, ...] = (
    Table("morris", "one row per parameter and output of the Morris screening", (
        _PARAM, _OUTPUT, _GROUP,
        Column("mu_star", "output unit", "mean absolute elementary effect of moving the "
               "parameter over its whole range"),
        Column("mu_star_conf", "output unit", "half-width of the bootstrap 95 % interval of "
               "`mu_star`"),
        Column("sigma", "output unit", "standard deviation of the elementary effects "
               "(non-linearity and interactions)"),
        Column("mu", "output unit", "mean elementary effect (its sign: the direction)"),
        Column("mu_star_normalised", "share", "`mu_star` over the largest `mu_star` of any "
               "parameter on this output"),
        Column("survived", "", "the parameter goes on to the Sobol analysis: "
               "`mu_star_normalised` at least the screening threshold on some output, or "
               "listed under `always`")),
          in_runs=False, in_sweeps=False, where="`sensitivity`, `morris.csv`"),
    Table("sobol", "one row per surviving parameter and output of the Sobol analysis", (
        _PARAM, _OUTPUT, _GROUP,
        Column("S1", "share", "first-order index: share of the output's variance due to "
               "the parameter alone"),
        Column("S1_conf", "share", "half-width of the bootstrap 95 % interval of `S1`"),
        Column("ST", "share", "total-order index: share of the variance due to the "
               "parameter with all its interactions"),
        Column("ST_conf", "share", "half-width of the bootstrap 95 % interval of `ST`"),
        Column("influential", "", "`ST` >= the experiment's `st_threshold` (0.05): the "
               "parameter must be calibrated or sourced"),
        Column("noise_share", "share", "replication noise of the point means over their "
               "variance across the design (empty with one replication); the `ST` of a "
               "parameter without effect is at most of this order")),
          in_runs=False, in_sweeps=False, where="`sensitivity`, `sobol.csv`"),
    Table("contrast_signs", "one row per parameter and decision (`contrast:`) output: "
          "the sign of the decision across the parameter's range", (
        _PARAM, _OUTPUT, _GROUP,
        _key("stage", "", "the design whose points are read: `sobol` for a surviving "
                          "parameter, else `morris`"),
        Column("mean_low", "output unit", "mean contrast over the design points whose "
               "parameter lies in the lowest quarter of its range"),
        Column("mean_high", "output unit", "the same in the highest quarter"),
        Column("se_low", "output unit", "standard error of `mean_low` (spread of the "
               "points over the square root of their number)"),
        Column("se_high", "output unit", "standard error of `mean_high`"),
        Column("positive_share", "share", "design points of the stage whose mean contrast "
               "is positive (level b above the reference a)"),
        Column("sign_flips", "", "`mean_low` and `mean_high` have opposite signs and each "
               "lies more than 1.96 standard errors from zero: the conclusion flips over "
               "the parameter's range")),
          in_runs=False, in_sweeps=False, where="`sensitivity` with contrasts, "
          "`contrast_signs.csv`"),
    Table("evaluations", "one row per design point, replication and output", (
        _key("stage", "", "`morris` or `sobol`"), _key("point", "", "design point of the "
                                                        "stage (`points.parquet`)"),
        _key("replication"), _OUTPUT,
        Column("value", "output unit", "the output of this run (of a `contrast:` output "
               "the difference of the two levels' runs of this point and replication)")),
          in_runs=False, in_sweeps=False, where="`sensitivity`, `evaluations.parquet`"),
)


def _describe(c: Column) -> str:
    return f"`{c.name}`" + (f" [{c.unit}]" if c.unit else "") + (f": {c.text}" if c.text else "")


def _where(t: Table) -> str:
    if t.where:
        return t.where
    if t.record_only:
        return "sweep run records and the run cache; read by the `sensitivity` experiment"
    return ("runs and sweeps" if t.in_runs and t.in_sweeps
            else "runs" if t.in_runs else "sweeps")


def columns_markdown(width: int = 92, tables: tuple[Table, ...] = OUTPUT_TABLES) -> str:
    """The README's list of tables and columns, rendered from :data:`OUTPUT_TABLES` (or
    ``tables``, e.g. :data:`SENSITIVITY_TABLES` for ``experiments/README.md``)."""
    out = []
    for t in tables:
        where = _where(t)
        lines = [f"- **{t.name}**: {t.rows} ({where}).",
                 "Keys: " + "; ".join(_describe(c) for c in t.keys) + ".",
                 "Values: " + "; ".join(_describe(c) for c in t.values) + "."]
        for i, line in enumerate(lines):
            out.append(textwrap.fill(line, width, initial_indent="" if i == 0 else "  ",
                                     subsequent_indent="  ", break_on_hyphens=False,
                                     break_long_words=False))
    return "\n".join(out)



# --------------------------------------------------------------------------- reading folders

#: Manifest keys each writing tool puts in a folder, with the JSON type they must have (a
#: folder of another tool cannot be redrawn or compared).
MANIFEST_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "ozg-sim": {"config": dict, "rows": dict, "seed": int},
    "ozg-sim-experiment": {"experiment": str, "rows": dict, "replications": int},
}
#: Keys of a run's configuration that labels and titles read.
RUN_CONFIG_NAMES = ("strategy", "funding", "staffing", "world")
#: Columns of the tables of an experiment folder that are not declared above (they come
#: from the sweep, :func:`sim.sweep.assemble`), and of a run's KPIs per replication.
EXTRA_COLUMNS = {"points": ("point", "config_hash"), "runs": ("point", "replication", "status"),
                 "kpis": ("point", "replication"), "kpis_by_replication": ("replication",)}


def _jtype(t: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
    return " or ".join(names.get(x, x.__name__) for x in (t if isinstance(t, tuple) else (t,)))


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The ``manifest.json`` of a run (``ozg-sim``) or experiment (``ozg-sim-experiment``)
    folder, checked: JSON, an object, written by one of those tools, with the keys
    :data:`MANIFEST_KEYS` and types the readers use.

    Raises
    ------
    DataError
        One line naming the file and what is wrong.
    """
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise DataError(f"{folder} is not a run or experiment folder: manifest.json is "
                        "missing")
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg} at line {exc.lineno} column "
                        f"{exc.colno})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc
    if not isinstance(man, dict):
        raise DataError(f"{path}: not a JSON object but {type(man).__name__}")
    tool = man.get("tool")
    if tool not in MANIFEST_KEYS:
        raise DataError(f"{path}: tool={tool!r} is not allowed: a folder of "
                        + " or ".join(MANIFEST_KEYS))
    for key, typ in MANIFEST_KEYS[tool].items():
        value = man.get(key)
        if key not in man or not isinstance(value, typ) or isinstance(value, bool):
            raise DataError(f"{path}: key {key!r} " + ("is missing" if key not in man else
                            f"is {type(value).__name__}") + f": {_jtype(typ)} is needed")
    rows = man["rows"]
    bad = next((k for k, v in rows.items() if isinstance(v, bool) or not isinstance(v, int)
                or v < 0 or not ROWS_KEY.fullmatch(k)), None)
    if bad is not None:
        raise DataError(f"{path}: rows[{bad!r}]={rows[bad]!r} is not allowed: a row count of "
                        "a file (NAME.parquet) or dataset folder (NAME/) in the folder")
    if tool == "ozg-sim":
        cfg = man["config"]
        for k in RUN_CONFIG_NAMES:
            if not isinstance((cfg.get(k) or {}).get("name") if isinstance(cfg.get(k), dict)
                              else None, str):
                raise DataError(f"{path}: config.{k}.name is missing: a run's configuration "
                                "is needed")
    else:
        for key, typ in (("figure_list", list), ("design", dict), ("reference", dict)):
            if man.get(key) is not None and not isinstance(man[key], typ):
                raise DataError(f"{path}: key {key!r} is {type(man[key]).__name__}: "
                                f"{_jtype(typ)} is needed")
        if not all(isinstance(x, str) for x in man.get("figure_list") or []):
            raise DataError(f"{path}: figure_list holds a non-string: figure names needed")
    return man


def required_columns(name: str) -> tuple[str, ...]:
    """Columns a saved table ``name`` must have: those declared for it (output, sensitivity
    or :data:`EXTRA_COLUMNS`); none for a table the package does not declare."""
    for t in (*OUTPUT_TABLES, *SENSITIVITY_TABLES):
        if t.name == name:
            return t.names
    return EXTRA_COLUMNS.get(name, ())


#: The file of a Parquet dataset that holds the schema of all its files (the convention
#: Dask, Spark and pyarrow read), :mod:`sim.store`.
COMMON_METADATA = "_common_metadata"
#: A key of a manifest's ``rows``: a file or a dataset folder (``NAME/``) in the folder
#: itself, never a path elsewhere.
ROWS_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/?")
#: How many tables :class:`FolderTables` keeps in memory at once.
TABLES_KEPT = 3


def dataset_file(dataset: Path, point: int) -> Path:
    """The file of design point ``point`` in a table's dataset folder (:mod:`sim.store`):
    zero-padded, so that names sort in point order."""
    return dataset / f"point-{point:06d}.parquet"


def _dataset_files(path: Path) -> list[Path]:
    return sorted(path.glob("point-*.parquet"))


def _unreadable(path: Path, exc: Exception) -> DataError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return DataError(f"{path}: not a readable Parquet file ({first})")


def _check_shape(path: Path, n: int, columns: list[str], rows: int | None,
                 name: str | None = None) -> None:
    if rows is not None and n != rows:
        raise DataError(f"{path}: has {n} rows, manifest.json says {rows}: the file was "
                        "changed after it was written")
    name = name or (path.stem if path.suffix == ".parquet" else path.name)
    missing = [c for c in required_columns(name) if c not in columns]
    if missing:
        raise DataError(f"{path}: column(s) {missing} missing: the table "
                        f"{name!r} needs {list(required_columns(name))}")


def check_table(path: str | Path, rows: int | None = None) -> None:
    """Check a saved table without reading its data: a Parquet file or dataset folder
    (:mod:`sim.store`) whose footers read, with ``rows`` rows if given and the declared
    columns (:func:`required_columns`).

    Raises
    ------
    DataError
        As :func:`read_table`.
    """
    path = Path(path)
    files = _dataset_files(path) if path.is_dir() else [path]
    if not path.exists():
        raise DataError(f"{path}: missing" + (" (manifest.json lists it)" if rows is not None
                                              else ""))
    n = 0
    for f in files:
        try:
            meta = pq.read_metadata(f)
        except Exception as exc:  # pyarrow raises OSError, ArrowInvalid and others
            raise _unreadable(f, exc) from exc
        n += meta.num_rows
        if path.is_dir():  # every file of a dataset has every declared column
            _check_shape(f, meta.num_rows, meta.schema.names, None, path.name)
        else:
            _check_shape(path, n, meta.schema.names, rows)
    if path.is_dir():
        _check_shape(path, n, list(required_columns(path.name)), rows)


def read_table(path: str | Path, rows: int | None = None,
               columns: list[str] | None = None, checked: bool = False) -> pd.DataFrame:
    """One saved table, checked: a Parquet file, or a dataset folder of one file per design
    point (:mod:`sim.store`, read in point order); ``rows`` rows if given, the declared
    columns (:func:`required_columns`). ``columns`` reads only those (after the check);
    ``checked=True`` skips the footers of a dataset that :func:`check_table` has read.

    Raises
    ------
    DataError
        One line naming the file and what is wrong (missing, not Parquet, truncated,
        columns missing).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing" + (" (manifest.json lists it)" if rows is not None
                                              else ""))
    if path.is_dir():
        if not checked:
            check_table(path, rows)
        files = _dataset_files(path)
        if not files:
            return pd.DataFrame({c: [] for c in columns or required_columns(path.name)})
        meta = path / COMMON_METADATA
        schema = pq.read_schema(meta) if meta.is_file() else None
        try:
            table = ds.dataset([str(f) for f in files], schema=schema,
                               format="parquet").to_table(columns=columns)
        except Exception as exc:  # a damaged file of the dataset
            raise _unreadable(path, exc) from exc
        return table.to_pandas()
    try:
        df = pd.read_parquet(path, columns=columns)
    except Exception as exc:  # pyarrow raises OSError, ArrowInvalid and others for bad bytes
        raise _unreadable(path, exc) from exc
    if columns is None:
        _check_shape(path, len(df), list(df.columns), rows)
    return df


class FolderTables(Mapping[str, pd.DataFrame]):
    """The tables of a saved folder by name, each checked when the folder is opened
    (:func:`check_table`) but read only when asked for; the :data:`TABLES_KEPT` most
    recently used are kept, so reading a large experiment does not hold all its tables."""

    def __init__(self, paths: dict[str, tuple[Path, int | None]]) -> None:
        self._paths = paths
        self._kept: OrderedDict[str, pd.DataFrame] = OrderedDict()

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._paths:
            raise KeyError(name)
        if name not in self._kept:
            self._kept[name] = read_table(*self._paths[name], checked=True)  # on opening
            while len(self._kept) > TABLES_KEPT:
                self._kept.popitem(last=False)
        self._kept.move_to_end(name)
        return self._kept[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def path(self, name: str) -> Path:
        """Where table ``name`` is (a file or a dataset folder)."""
        return self._paths[name][0]


def read_folder(folder: str | Path, only: tuple[str, ...] | None = None,
                ) -> tuple[dict[str, Any], FolderTables]:
    """The checked manifest (:func:`read_manifest`) and the Parquet tables (by name; only
    the names ``only`` if given) of a saved run or experiment folder: files ``NAME.parquet``
    and dataset folders ``NAME/`` (:mod:`sim.store`). Each is checked at once against the
    manifest's row count and the declared columns (:func:`check_table`) and read when first
    used (:class:`FolderTables`); ``national`` must be there (except in a sensitivity
    folder, which keeps evaluations instead).

    Raises
    ------
    DataError
        One line naming the damaged file and what is wrong.
    """
    folder = Path(folder)
    man = read_manifest(folder)
    rows: Mapping[str, int] = man["rows"]
    listed = {_table_name(k): k for k in rows if k.endswith((".parquet", "/"))}
    found = {p.stem: p.name for p in folder.glob("*.parquet")}
    found.update({p.name: p.name + "/" for p in folder.iterdir()
                  if p.is_dir() and (p / COMMON_METADATA).is_file()})
    entries = {**found, **listed}
    if "sensitivity" not in man and "national" not in entries:
        entries["national"] = "national.parquet"
    paths: dict[str, tuple[Path, int | None]] = {}
    for name, key in sorted(entries.items()):
        if only is None or name in only:
            path = folder / key.rstrip("/")
            check_table(path, rows.get(key))
            paths[name] = (path, rows.get(key))
    return man, FolderTables(paths)


def _table_name(key: str) -> str:
    """``national`` of a manifest's ``national.parquet`` or ``national/``."""
    return key[:-len(".parquet")] if key.endswith(".parquet") else key.rstrip("/")
