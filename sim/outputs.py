"""The output tables, declared once: name, what a row is, key columns and value columns with
their units.

:mod:`sim.metrics` builds these tables, a run writes each as ``<name>.parquet``, a sweep
keeps those marked ``in_sweeps`` (with its ``point`` and design columns in front), the
README's column list is rendered from here (:func:`columns_markdown`; a test keeps the two
equal) and a schema test checks every table a replication produces against its declaration.
Months count from 2018-01 (month 0); the ``date`` of a monthly row is the month's last day,
and the state is the one at the end of that day.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


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
        Kept of every run of a sweep (``ozg-sim-experiment``).
    """

    name: str
    rows: str
    columns: tuple[Column, ...]
    in_runs: bool = True
    in_sweeps: bool = True

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
                            "running costs), `municipal_first_onboarded`, "
                            "`municipal_all_onboarded`"),
        _key("ozg_id", "", "service (`services.csv`)"),
        Column("topic", "", "topic field of the service"),
        _key("actor", "", "`BUND` or Land"),
        Column("detail", "", "sharing mode, operator or programme")), in_sweeps=False),
    Table("spending", "one row per money commitment (running costs: per year and payer)", (
        _REP, _key("time_months", "months since 2018-01", "when the money was committed"),
        _key("date", "", "first day of the month"),
        _key("programme", "", "funding programme, `own_funds` or `running_costs`"),
        _key("actor", "", "`BUND` or Land"),
        Column("eur", "EUR", "amount"),
        _key("purpose", "", "`development`, `municipal_onboarding`, `reuse_fee`; running "
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
)

#: Tables by name.
TABLE_BY_NAME = {t.name: t for t in OUTPUT_TABLES}
#: Tables every replication produces (and a run writes), in order.
TABLES = tuple(t.name for t in OUTPUT_TABLES if t.in_runs)
#: Tables a sweep keeps of every run, in order.
SWEEP_TABLES = tuple(t.name for t in OUTPUT_TABLES if t.in_sweeps)
#: Of those, the ones a replication produces as they are (the rest are derived).
RUN_TABLES = tuple(t for t in SWEEP_TABLES if t in TABLES)


def _describe(c: Column) -> str:
    return f"`{c.name}`" + (f" [{c.unit}]" if c.unit else "") + (f": {c.text}" if c.text else "")


def columns_markdown(width: int = 92) -> str:
    """The README's list of tables and columns, rendered from :data:`OUTPUT_TABLES`."""
    out = []
    for t in OUTPUT_TABLES:
        where = ("runs and sweeps" if t.in_runs and t.in_sweeps
                 else "runs" if t.in_runs else "sweeps")
        lines = [f"- **{t.name}**: {t.rows} ({where}).",
                 "Keys: " + "; ".join(_describe(c) for c in t.keys) + ".",
                 "Values: " + "; ".join(_describe(c) for c in t.values) + "."]
        for i, line in enumerate(lines):
            out.append(textwrap.fill(line, width, initial_indent="" if i == 0 else "  ",
                                     subsequent_indent="  ", break_on_hyphens=False,
                                     break_long_words=False))
    return "\n".join(out)
