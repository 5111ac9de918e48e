"""Unit, source and basis (source or assumption) of every documented parameter, for the
report's table of parameters in force.

The table is declared once in ``parameters.csv`` beside this module: one row per dotted key
pattern of MODEL.md §8 (``funding.programmes.amount_eur`` stands for the field of every
programme), with MODEL.md's unit and its "source / rationale" text (a Land programme's row of the
*Land programmes* table as ``state_programmes.<name>``); ``tests/test_report.py``
keeps it equal to MODEL.md's tables, so the report never says other than the model
description. Keys MODEL.md does not document are shown without unit and source.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources
from typing import NamedTuple

#: File of the declared table (package data).
TABLE_FILE = "parameters.csv"
#: Columns of the declared table, in order.
COLUMNS = ("key", "unit", "basis", "source")
#: Prefixes of MODEL.md's "source / rationale" texts and what they mean.
BASIS_PREFIXES = ("A/S", "S/A", "S", "A", "lever")


class ParameterInfo(NamedTuple):
    """What MODEL.md §8 says of one parameter: unit, basis (``S`` source, ``A``
    assumption, ``A/S`` or ``S/A`` both, ``lever`` a scenario lever, empty if not said) and
    the source or rationale text."""

    unit: str
    basis: str
    source: str


@cache
def parameter_table() -> dict[str, ParameterInfo]:
    """The declared table, by key pattern."""
    text = resources.files("sim.report").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return {r["key"]: ParameterInfo(r["unit"], r["basis"], r["source"]) for r in rows}


_INDEX = re.compile(r"\[[^\]]*\]|\.\d+(?=\.|$)")


def key_pattern(key: str) -> str:
    """The pattern of a flattened config key: list positions and names dropped
    (``funding.programmes[bund_2023].amount_eur`` -> ``funding.programmes.amount_eur``)."""
    return _INDEX.sub("", key)


def parameter_info(key: str) -> ParameterInfo | None:
    """What MODEL.md says of ``key``: of its pattern; for a field of a Land programme's
    money, of that field of the federal programmes; else of the nearest documented parent
    (``operation.phases.start`` -> ``operation.phases``); None if nothing is documented."""
    table = parameter_table()
    parts = key_pattern(key).split(".")
    candidates = [".".join(parts)]
    if len(parts) > 2 and parts[0] == "state_programmes" and parts[2] == "funding":
        candidates.append(f"funding.programmes.{parts[-1]}")
    candidates += [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
    return next((table[c] for c in candidates if c in table), None)


__all__ = ["BASIS_PREFIXES", "COLUMNS", "TABLE_FILE", "ParameterInfo", "key_pattern",
           "parameter_info", "parameter_table"]
