"""Checks of configured values: one-line :class:`~sim.errors.ConfigError` messages that name
the dotted key, the value and what is allowed (used by the parameter schema,
:mod:`sim.params`, and by the specs of sweeps, calibrations and screenings)."""

from __future__ import annotations

import math
import re
from typing import Any

from sim.errors import ConfigError


def _fail(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{key}={value!r} is not allowed: {allowed}")


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_number(key: str, value: Any, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, integer: bool = False) -> float:
    """A number from a config, a spec file or the command line (text such as ``"4"`` is
    read), checked against a range; else :class:`ConfigError` naming the key, the value and
    the allowed range. Returns the number as a float."""
    kind = "an integer" if integer else "a number"
    shown = value if isinstance(value, str) and _NUMBER.match(value) else repr(value)
    allowed = kind + _range_text(lo, hi, lo_open)
    try:
        if isinstance(value, bool):
            raise ValueError
        x = float(value)
        if not math.isfinite(x) or (integer and not x.is_integer()):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={shown} is not allowed: {allowed}") from None
    # An int is compared as it is: as a float, 2**63 - 2 rounds up to 2**63 and would fail
    # a bound of 2**63 - 1.
    v: float = value if isinstance(value, int) else x
    if (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and v > hi):
        raise ConfigError(f"{key}={shown} is not allowed: {allowed}")
    return x


def _num(key: str, value: Any, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, integer: bool = False) -> None:
    """Check a config number (an int or float, never text) against a range."""
    if isinstance(value, str):
        _fail(key, value, ("an integer" if integer else "a number")
              + _range_text(lo, hi, lo_open))
    parse_number(key, value, lo, hi, lo_open, integer)


def _range_text(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f" <= {hi:g}"
    return ""


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        _fail(key, value, "one of " + ", ".join(allowed))


def _distinct_choices(key: str, value: Any, allowed: tuple[str, ...],
                      non_empty: bool = False) -> None:
    """Check a list of distinct items from ``allowed`` (non-empty if ``non_empty``)."""
    if (not isinstance(value, (list, tuple)) or (non_empty and not value)
            or len(set(map(str, value))) != len(value)):
        _fail(key, value, ("a non-empty list" if non_empty else "a list")
              + " of distinct items from " + ", ".join(allowed))
    for v in value:
        _choice(key, v, allowed)


def _bool(key: str, value: Any) -> None:
    """Check a config switch: ``true`` or ``false``, nothing else."""
    if not isinstance(value, bool):
        _fail(key, value, "true or false")
