"""Decisions as outputs: paired contrasts between two levels of a lever, on common random
numbers, and whether their sign flips over a parameter's range.

A *contrast* ``FACTOR=B-A`` compares level ``b`` of a lever with its reference level ``a``
(``strategy=efv-efa``: EfV minus EfA). Its outputs are
``contrast:FACTOR=B-A:national:COLUMN@YYYY-MM`` (:data:`sim.outputs.OUTPUT_KINDS`): for
each design point and replication ``r``, the value of ``COLUMN`` of ``national`` at the end
of the month in the run at level ``b`` minus the one at level ``a``, both runs with
replication ``r`` and so with the same random streams and calibrated draws (the sweep's
common random numbers); a point's value is the mean of these differences over the
replications. Every other lever keeps its value of the base configuration, so
``funding=koenigstein-konjunkturpaket`` is the funding rule's effect under the base
strategy and payer rules.

To evaluate a design, every point is run once per *variant*: the base configuration
(unchanged) and each level a contrast needs that the base does not already have
(:func:`plan_variants`). The analysis itself is the one of every output
(:mod:`sim.sensitivity.method`).

Sign flips (:func:`sign_table`): for each contrast output and parameter, the mean contrast
over the design points in the lowest and in the highest quarter of the parameter's range,
with their standard errors; the conclusion *flips* if the two have opposite signs and each
is more than :data:`SIGN_Z` standard errors away from zero (a flip the design's noise alone
would rarely show).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calendar import month_index, month_label
from sim.config import group_options
from sim.errors import ConfigError
from sim.outputs import contrast_parts

#: Levers a contrast can compare: the config groups of the decisions the OZG rollout took
#: (how services are shared, how federal money is allocated, who pays running costs).
CONTRAST_FACTORS = ("strategy", "funding", "operation")
#: Columns of ``national`` a contrast is taken of by default: population coverage and the
#: share of services usable nationwide.
DEFAULT_COLUMNS = ("population_coverage", "nationwide_share")
#: Months of the contrasts' main outputs by default: the OZG deadline, four years after it
#: and the end of the default horizon.
DEFAULT_MONTHS = ("2022-12", "2026-12", "2030-12")
#: Month of the year whose end gives the yearly outputs (December: a calendar year's end).
YEARLY_MONTH = 12
#: Share of a parameter's range at each end whose design points give ``mean_low`` and
#: ``mean_high`` (a quarter: the ends of the range, with a quarter of the points each).
RANGE_END_SHARE = 0.25
#: Standard errors by which both ends' means must lie away from zero for a flip (the 95 %
#: normal quantile).
SIGN_Z = 1.96
#: Form of a level name in a contrast (a config option's file stem without ``-``).
LEVEL = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Contrast:
    """Level ``b`` of lever ``factor`` against its reference level ``a``."""

    factor: str
    a: str
    b: str

    @property
    def label(self) -> str:
        """``strategy=efv-efa``: the contrast's part of an output name."""
        return f"{self.factor}={self.b}-{self.a}"

    def output(self, column: str, month: str) -> str:
        """``contrast:strategy=efv-efa:national:population_coverage@2026-12``."""
        return f"contrast:{self.label}:national:{column}@{month}"


def parse_label(label: str, where: str) -> Contrast:
    """``strategy=efv-efa`` -> ``Contrast("strategy", "efa", "efv")``, checked for its form
    and against the levers and their options (:func:`check_contrast`)."""
    factor, eq, levels = str(label).partition("=")
    b, dash, a = levels.partition("-")
    if not (eq and dash and LEVEL.fullmatch(b) and LEVEL.fullmatch(a)):
        raise ConfigError(f"{where}: {label!r} is not allowed: the form FACTOR=B-A "
                          "(strategy=efv-efa: level B against the reference level A)")
    return check_contrast(Contrast(factor, a, b), where)


def check_contrast(c: Contrast, where: str) -> Contrast:
    """``c`` if its factor is a lever of :data:`CONTRAST_FACTORS` and ``a``, ``b`` are two
    different options of it (``conf/<factor>/``); else a :class:`ConfigError` naming it."""
    if c.factor not in CONTRAST_FACTORS:
        raise ConfigError(f"{where}: {c.label!r} is not allowed: the factor is one of "
                          + ", ".join(CONTRAST_FACTORS))
    options = group_options(c.factor)
    for level in (c.a, c.b):
        if level not in options:
            raise ConfigError(f"{where}: {c.label!r} is not allowed: {level!r} is not a "
                              f"level of {c.factor}: one of " + ", ".join(options))
    if c.a == c.b:
        raise ConfigError(f"{where}: {c.label!r} is not allowed: two different levels")
    return c


def parse_contrasts(raw: object, where: str = "sensitivity.contrasts") -> list[Contrast]:
    """The experiment file's ``contrasts:``: a list of ``{factor, a, b}`` mappings (``a`` the
    reference level) or of ``FACTOR=B-A`` strings (as on the command line)."""
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(f"{where}={raw!r} is not allowed: a list of {{factor, a, b}} "
                          "(a: the reference level) or of FACTOR=B-A")
    out: list[Contrast] = []
    for item in raw:
        if isinstance(item, str):
            c = parse_label(item, where)
        elif isinstance(item, Mapping) and set(map(str, item)) == {"factor", "a", "b"}:
            c = check_contrast(Contrast(*(str(item[k]) for k in ("factor", "a", "b"))), where)
            if not (LEVEL.fullmatch(c.a) and LEVEL.fullmatch(c.b)):
                raise ConfigError(f"{where}: {c.label!r} is not allowed: levels of letters, "
                                  "digits and '_'")
        else:
            raise ConfigError(f"{where}: {item!r} is not allowed: a mapping with the keys "
                              "factor, a, b (a: the reference level) or FACTOR=B-A")
        if c not in out:
            out.append(c)
    return out


def split_output(name: str) -> tuple[Contrast, str]:
    """The part of a contrast output between ``contrast:`` and ``@``
    (``strategy=efv-efa:national:population_coverage``) -> (contrast, column), the form
    checked (:func:`sim.outputs.contrast_parts`; not the levels: :func:`check_contrast`)."""
    factor, b, a, column = contrast_parts(name)
    return Contrast(factor, a, b), column


def yearly_months(end: str, first: str = "2018-12") -> list[str]:
    """Every December from ``first`` to ``end`` (``YYYY-MM``), as ``YYYY-12``."""
    last = month_index(end)
    m = month_index(first)
    out = []
    while m <= last:
        out.append(month_label(m))
        m += YEARLY_MONTH
    return out


def contrast_outputs(contrasts: Sequence[Contrast], columns: Sequence[str],
                     months: Sequence[str]) -> list[str]:
    """Output names of every contrast, column and month (in that order of nesting)."""
    return [c.output(col, m) for c in contrasts for col in columns for m in months]


# --------------------------------------------------------------------------- variants


def variant_label(overrides: Mapping[str, str]) -> str:
    """``strategy=efv`` (``base`` for the base configuration)."""
    return ",".join(f"{k}={v}" for k, v in overrides.items()) or "base"


def plan_variants(needs: Sequence[Contrast | None],
                  base_levels: Mapping[str, str]
                  ) -> tuple[list[dict[str, str]], list[tuple[int | None, int]]]:
    """The variants a design point is run at, and for each output the pair of variants
    whose difference it is.

    Parameters
    ----------
    needs : list of Contrast or None
        Per output its contrast (None: a level output, read at the base configuration).
    base_levels : mapping of str to str
        The base configuration's level of each factor of :data:`CONTRAST_FACTORS`.

    Returns
    -------
    variants : list of dict
        Group overrides of each variant (``{}``: the base), each once, in first use order;
        a level the base already has is the base.
    pairs : list of (int or None, int)
        Per output ``(a, b)``: the indices of its variants (``a`` None for a level output).
    """
    variants: list[dict[str, str]] = []

    def index(factor: str | None, level: str | None) -> int:
        ovr = {} if factor is None or base_levels.get(factor) == level else {factor: level}
        if ovr not in variants:
            variants.append(ovr)  # type: ignore[arg-type]
        return variants.index(ovr)  # type: ignore[arg-type]

    pairs: list[tuple[int | None, int]] = []
    for c in needs:
        if c is None:
            pairs.append((None, index(None, None)))
        else:
            pairs.append((index(c.factor, c.a), index(c.factor, c.b)))
    return variants, pairs


# --------------------------------------------------------------------------- sign flips


def _end_stats(y: np.ndarray) -> tuple[float, float]:
    y = y[np.isfinite(y)]
    if not len(y):
        return np.nan, np.nan
    se = float(np.std(y, ddof=1) / np.sqrt(len(y))) if len(y) > 1 else np.nan
    return float(np.mean(y)), se


def sign_flips(mean_low: float, se_low: float, mean_high: float, se_high: float) -> bool:
    """Opposite signs at the two ends of the range, each more than :data:`SIGN_Z` standard
    errors from zero (an end without a standard error cannot show a flip)."""
    if not all(np.isfinite([mean_low, se_low, mean_high, se_high])):
        return False
    return bool(np.sign(mean_low) * np.sign(mean_high) < 0
                and abs(mean_low) > SIGN_Z * se_low and abs(mean_high) > SIGN_Z * se_high)


def sign_row(output: str, group: str, stage: str, key: str, bounds: tuple[float, float],
             x: np.ndarray, y: np.ndarray) -> dict[str, object]:
    """The row of :data:`sim.outputs.SENSITIVITY_TABLES` ``contrast_signs`` of one output and
    parameter: ``x`` the parameter's values at the design points of ``stage`` (range
    ``bounds``), ``y`` the output's point means there."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    lo, hi = bounds
    u = (x - lo) / (hi - lo)
    m_lo, se_lo = _end_stats(y[u <= RANGE_END_SHARE])
    m_hi, se_hi = _end_stats(y[u >= 1 - RANGE_END_SHARE])
    finite = y[np.isfinite(y)]
    return {"parameter": key, "output": output, "group": group, "stage": stage,
            "mean_low": m_lo, "mean_high": m_hi, "se_low": se_lo, "se_high": se_hi,
            "positive_share": float(np.mean(finite > 0)) if len(finite) else np.nan,
            "sign_flips": sign_flips(m_lo, se_lo, m_hi, se_hi)}


#: One design as :func:`sign_table` reads it: (stage, its parameters, its design (points,
#: parameters), its point means (points, outputs), the names of those outputs).
Stage = tuple[str, Sequence[str], np.ndarray, np.ndarray, Sequence[str]]


def sign_table(outputs: Sequence[tuple[str, str]], keys: Sequence[str],
               bounds: Sequence[tuple[float, float]], stages: Sequence[Stage],
               columns: Sequence[str]) -> pd.DataFrame:
    """The ``contrast_signs`` table: a row per ``(output, group)`` of ``outputs`` and
    parameter of ``keys`` (ranges ``bounds``), each read from the first of ``stages`` that
    varies it (the Sobol design for a survivor: more points, the others held at their base
    values; else the Morris design)."""
    rows: list[dict[str, object]] = []
    for out, group in outputs:
        for key, b in zip(keys, bounds, strict=True):
            hit = next((s for s in stages if key in s[1] and out in s[4]), None)
            if hit is None:
                continue
            stage, skeys, X, means, names = hit
            rows.append(sign_row(out, group, stage, key, b,
                                 np.asarray(X, dtype=float)[:, list(skeys).index(key)],
                                 np.asarray(means, dtype=float)[:, list(names).index(out)]))
    return pd.DataFrame(rows, columns=list(columns))


__all__ = ["CONTRAST_FACTORS", "DEFAULT_COLUMNS", "DEFAULT_MONTHS", "RANGE_END_SHARE",
           "SIGN_Z", "Contrast", "Stage", "check_contrast", "contrast_outputs",
           "parse_contrasts", "parse_label", "plan_variants", "sign_flips", "sign_row",
           "sign_table", "split_output", "variant_label", "yearly_months"]
