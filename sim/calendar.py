"""Model time: months since the origin 2018-01-01.

All model processes work in float months since :data:`ORIGIN`; dates appear only at the
edges (configuration, tables, charts). Month ``m`` (an integer) is the calendar month
``ORIGIN + m months``; a state "at month m" is the state at the end of that month, i.e.
after every event with time ``t < m + 1``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sim.errors import ConfigError

#: Model time origin: the first OZG implementation year after the law came into force
#: (18 Aug 2017) and the catalogue was presented (April 2018).
ORIGIN_YEAR = 2018
ORIGIN_MONTH = 1
ORIGIN = pd.Timestamp(year=ORIGIN_YEAR, month=ORIGIN_MONTH, day=1)

#: ``YYYY-MM`` in ASCII digits, nothing before or after (``$`` alone would let a trailing
#: newline through, and ``\d`` alone other scripts' digits).
_YM = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def month_index(ym: str, key: str = "date") -> int:
    """Month index of a ``"YYYY-MM"`` string (``"2018-01"`` -> 0).

    Raises
    ------
    ConfigError
        If the string is not ``YYYY-MM`` or lies before the origin.
    """
    match = _YM.fullmatch(str(ym))
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ConfigError(f"{key}={ym!r} is not a month: allowed format YYYY-MM, e.g. 2020-09")
    idx = (int(match.group(1)) - ORIGIN_YEAR) * 12 + int(match.group(2)) - ORIGIN_MONTH
    if idx < 0:
        raise ConfigError(f"{key}={ym!r} lies before the model origin: allowed 2018-01 or later")
    return idx


def month_label(m: int) -> str:
    """``"YYYY-MM"`` label of month index ``m``."""
    y, mo = divmod(ORIGIN_MONTH - 1 + int(m), 12)
    return f"{ORIGIN_YEAR + y:04d}-{mo + 1:02d}"


def month_date(months: float) -> str:
    """``YYYY-MM`` of a month-valued figure such as a median first-passage month (the month
    whose end it refers to; a median between two months, from an even number of
    replications, gives the earlier); ``""`` if not reached (NaN). The one rule for
    ``kpis.csv``, ``summary.csv``, the charts and the report."""
    return month_label(int(np.floor(months))) if np.isfinite(months) else ""


def month_end_dates(n_months: int) -> pd.DatetimeIndex:
    """Last calendar day of months ``0 .. n_months-1`` (the date a monthly state refers to)."""
    return pd.date_range(ORIGIN, periods=n_months, freq="ME")


def month_start_dates(months: np.ndarray) -> np.ndarray:
    """First calendar day of the month containing each float month time."""
    idx = np.floor(np.asarray(months, dtype=float)).astype("int64")
    base = np.datetime64(f"{ORIGIN_YEAR:04d}-{ORIGIN_MONTH:02d}", "M")
    return (base + idx.astype("timedelta64[M]")).astype("datetime64[D]")


def month_end_date(m: float) -> pd.Timestamp:
    """Last calendar day of month index ``m`` (``0`` -> 2018-01-31): the date a monthly
    state, or a KPI in months since the origin, refers to."""
    return ORIGIN + pd.offsets.MonthEnd(int(m) + 1)


#: The OZG deadline: every OZG service online by the end of 2022 (§ 1 (1) OZG, 2017).
OZG_DEADLINE = "2022-12"
#: Its monthly row (59: December 2022) ...
OZG_DEADLINE_MONTH = month_index(OZG_DEADLINE)
#: ... the model time at its end (60.0 months: 31 Dec 2022, 24:00) ...
OZG_DEADLINE_TIME = float(OZG_DEADLINE_MONTH + 1)
#: ... its date (2022-12-31) ...
OZG_DEADLINE_DATE = month_end_date(OZG_DEADLINE_MONTH)
#: ... and the suffix of the key figures measured then (``population_coverage_2022_12``).
OZG_DEADLINE_KEY = OZG_DEADLINE.replace("-", "_")
