"""Statistics over replications: intervals, paired comparisons, first passage, run counts.

Pure functions on the tidy tables of a sweep (no file I/O, no plotting):

- ``national``: one row per design point, replication and month (``point``, ``replication``,
  design columns such as ``strategy`` or ``funding``, ``month``, ``date``, metrics);
- ``kpis``: one row per design point and replication (design columns, key figures; NaN where a
  target was not reached within the horizon).

Replications with the same number share their random numbers whatever the strategy (common
random numbers: every random stream is keyed by seed, replication and stream, never by the
strategy; see ``sim/rng.py``), so comparisons between two levels of a factor are *paired* on
``replication`` and the other design columns (and ``month``). The paired interval is then much
narrower than one that treats the two samples as independent; :func:`paired_difference` reports
both so the gain is visible.

**Not reached.** A non-finite value (``NaN``, ``±inf``) in a per-replication table means the
run did not reach what the column measures within the horizon. The one convention for it
(ranks count such a run last, moments are taken over the runs that reached it) and the one
summariser of medians and quantile bands live in :mod:`sim.bands`; :func:`summarise` follows
it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from sim.bands import median, q_name, quantiles

BOOKKEEPING_COLUMNS = ("point", "replication", "month", "date")
"""Key columns of the sweep tables that are never design columns."""

OUTCOME_COLUMNS = frozenset({
    "online_anywhere", "nationwide", "online_anywhere_share", "nationwide_share",
    "population_coverage", "n_services", "cost_per_coverage_point_eur",
})
"""Metric columns of ``national`` and ``kpis`` that are never design columns."""

_OUTCOME_PATTERN = re.compile(
    r"^(months_to_|spent_eur_|budget_eur_|committed_eur_|cost_per_)|_\d{4}_\d{2}$")

QUANTILES = (0.05, 0.25, 0.75, 0.95)
"""Quantiles reported by :func:`summarise` (columns ``q05``, ``q25``, ``q75``, ``q95``)."""


# --------------------------------------------------------------------------- checks


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level(={level}) must be in (0, 1)")


def _check_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: column(s) {missing} not in the table; "
                         f"available: {list(df.columns)}")


def _is_outcome(col: str) -> bool:
    if "." in col:  # a config key such as ``staffing.dev_fte_factor``
        return False
    return col in OUTCOME_COLUMNS or _OUTCOME_PATTERN.search(col) is not None


def design_columns(df: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Design columns of a sweep table, in table order.

    A design column is any column that is not bookkeeping (``point``, ``replication``,
    ``month``, ``date``), not a known outcome (the metrics of ``national``, and KPI names such
    as ``months_to_*``, ``spent_eur_*``, ``budget_eur_*``, ``committed_eur_*``, ``cost_per_*``,
    ``*_2022_12``;
    dotted config keys such as ``staffing.dev_fte_factor`` never count as outcomes), not in
    ``exclude`` and, if the table has a ``point`` column, constant within each point (an
    outcome of unknown name varies between replications, a design column cannot). On the
    tables of :func:`sim.sweep.assemble` this gives ``Sweep.design_columns()``.

    Parameters
    ----------
    df : DataFrame
        A sweep table (``national`` or ``kpis``).
    exclude : sequence of str
        Further columns to leave out (the factor being compared, the value analysed).

    Returns
    -------
    list of str
        The design columns. Pass explicit ``keys`` to the pairing functions when a metric of
        unknown name happens to be constant within every point.
    """
    skip = set(BOOKKEEPING_COLUMNS) | set(exclude)
    cols = [c for c in df.columns if isinstance(c, str) and c not in skip and not _is_outcome(c)]
    if "point" in df.columns and cols and len(df):
        distinct = df.groupby("point", dropna=False)[cols].nunique(dropna=False).max()
        cols = [c for c in cols if distinct[c] <= 1]
    return cols


def _t_half_width(sd: float, n: int, level: float) -> float:
    """Half-width of the t-interval of a mean: t_{(1+level)/2, n-1} · sd / √n (NaN if n < 2)."""
    if n < 2 or not np.isfinite(sd):
        return math.nan
    return float(sps.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)


def median_ci_ranks(n: int, level: float = 0.95) -> tuple[int, int] | None:
    """1-based ranks (l, u) of the order statistics bounding a distribution-free median CI.

    For a continuous distribution, ``P(X_(l) <= median <= X_(u)) = P(l <= B <= u - 1)`` with
    ``B ~ Binomial(n, 1/2)``. The interval is symmetric (``u = n + 1 - l``) and ``l`` the largest
    rank whose coverage ``1 - 2 P(B <= l - 1)`` is still at least ``level`` (so the interval is
    conservative, never below ``level``).

    Parameters
    ----------
    n : int
        Sample size.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    tuple of int or None
        ``(l, u)``; ``None`` if even ``[min, max]`` covers less than ``level``
        (e.g. ``n <= 5`` at 95 %).
    """
    _check_level(level)
    if n < 1:
        return None
    alpha = 1.0 - level
    # cdf(k) = P(B <= k); want the largest l with 2·cdf(l - 1) <= alpha.
    tails = 2.0 * sps.binom.cdf(np.arange(n), n, 0.5)
    ok = np.flatnonzero(tails <= alpha + 1e-12)
    if len(ok) == 0:
        return None
    low = int(ok[-1]) + 1
    low = min(low, (n + 1) // 2)
    return low, n + 1 - low


def _groups(df: pd.DataFrame, by: Sequence[str]) -> list[tuple[tuple[Hashable, ...], pd.DataFrame]]:
    """(key tuple, rows) per group, sorted; one group with key ``()`` when ``by`` is empty."""
    if not by:
        return [((), df)]
    return [(key if isinstance(key, tuple) else (key,), sub)
            for key, sub in df.groupby(list(by), sort=True, dropna=False)]


_V = "__value__"
_ALL = "__all__"


def _keyed(df: pd.DataFrame, by: Sequence[str],
           columns: Mapping[str, np.ndarray]) -> tuple[pd.DataFrame, list[str]]:
    """The ``by`` columns of ``df`` plus ``columns``, and the keys to group them by (a constant
    key when ``by`` is empty, so that one overall group results)."""
    work = pd.DataFrame({c: df[c] for c in by}, index=df.index)
    for name, col in columns.items():
        work[name] = col
    if by:
        return work, list(by)
    work[_ALL] = 0
    return work, [_ALL]


def _unkeyed(out: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Group index back to columns; the constant key of :func:`_keyed` dropped."""
    out = out.reset_index()
    return out.drop(columns=_ALL) if not by else out


def _t_half_widths(sd: np.ndarray, n: np.ndarray, level: float) -> np.ndarray:
    """Vectorised :func:`_t_half_width` (NaN where n < 2)."""
    n = np.asarray(n, dtype=float)
    ok = n >= 2
    t = sps.t.ppf(0.5 + level / 2, np.where(ok, n - 1, 1))
    return np.where(ok, t * sd / np.sqrt(np.where(ok, n, 1)), np.nan)


# --------------------------------------------------------------------------- summarise


def summarise(df: pd.DataFrame, by: list[str], value: str, level: float = 0.95) -> pd.DataFrame:
    """Mean and median with confidence intervals, spread and quantiles of ``value`` per group.

    Parameters
    ----------
    df : DataFrame
        A tidy table, e.g. ``kpis`` or ``national``.
    by : list of str
        Grouping columns, e.g. ``["strategy", "funding"]`` or ``["strategy", "month"]``;
        ``[]`` for one overall row.
    value : str
        The numeric column to summarise. Non-finite values mean "not reached" (module
        docstring): they are left out of the mean, its interval and the standard deviation,
        and ranked after every reached value for the median, its interval and the quantiles.
    level : float
        Confidence level of both intervals.

    Returns
    -------
    DataFrame
        One row per group (sorted): the ``by`` columns, then ``n`` (reached values),
        ``n_missing`` (not reached), ``mean``, ``mean_lo``, ``mean_hi`` (t-interval; NaN if
        n < 2), ``median``, ``median_lo``, ``median_hi`` (order statistics of all
        ``n + n_missing`` runs from the binomial distribution, see :func:`median_ci_ranks`;
        NaN if there are too few runs for ``level``, five or fewer at 95 %, or where one
        falls on a run that did not reach it), ``sd`` (ddof = 1), ``q05``, ``q25``, ``q75``,
        ``q95`` (:func:`quantiles`).
    """
    _check_level(level)
    _check_columns(df, [*by, value], "summarise")
    x = df[value].to_numpy(dtype=float)
    x = np.where(np.isfinite(x), x, np.nan)
    work, keys = _keyed(df, by, {_V: x})
    grouped = work.groupby(keys, sort=True, dropna=False)
    g = grouped[_V]
    out = pd.DataFrame({"n": g.count(), "n_missing": g.size() - g.count(), "mean": g.mean()})
    n = out["n"].to_numpy()
    sd = g.std(ddof=1).to_numpy(dtype=float)
    hw = _t_half_widths(sd, n, level)
    out["mean_lo"], out["mean_hi"] = out["mean"] - hw, out["mean"] + hw
    # Ranks: every run of a group in one row of a (groups of that size x size) table,
    # sorted with the runs that did not reach it last (NaN sorts last).
    code = grouped.ngroup().to_numpy()
    size = (n + out["n_missing"].to_numpy()).astype(np.int64)
    ordered = x[np.lexsort((x, code))]
    starts = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    med = np.full(len(out), np.nan)
    med_lo, med_hi = np.full(len(out), np.nan), np.full(len(out), np.nan)
    qv = np.full((len(QUANTILES), len(out)), np.nan)
    for m in np.unique(size[size > 0]):
        sel = np.flatnonzero(size == m)
        rows = ordered[starts[sel][:, None] + np.arange(m)[None, :]]
        med[sel] = median(rows)
        qv[:, sel] = quantiles(rows, QUANTILES)
        ranks = median_ci_ranks(int(m), level)
        if ranks is not None:
            med_lo[sel], med_hi[sel] = rows[:, ranks[0] - 1], rows[:, ranks[1] - 1]
    out["median"] = med
    out["median_lo"], out["median_hi"], out["sd"] = med_lo, med_hi, sd
    for i, q in enumerate(QUANTILES):
        out[q_name(q)] = qv[i]
    return _unkeyed(out, by)


# --------------------------------------------------------------------------- pairing


def _check_levels(df: pd.DataFrame, factor: str, a: object, b: object) -> None:
    if factor not in df.columns:
        raise ValueError(f"factor(={factor!r}) is not a column; available: {list(df.columns)}")
    if a == b:
        raise ValueError(f"a(={a!r}) and b(={b!r}) must be different levels of {factor!r}")
    levels = list(pd.unique(df[factor]))
    for name, lvl in (("a", a), ("b", b)):
        if lvl not in levels:
            raise ValueError(f"{name}(={lvl!r}) is not a level of {factor!r}; "
                             f"levels present: {sorted(map(str, levels))}")


def _default_keys(df: pd.DataFrame, factor: str, value: str, with_month: bool) -> list[str]:
    keys = ["replication", *design_columns(df, exclude=[factor, value])]
    if with_month and "month" in df.columns:
        keys.append("month")
    return keys


def _pair(df: pd.DataFrame, factor: str, a: object, b: object, value: str,
          keys: list[str]) -> pd.DataFrame:
    """Rows of level ``a`` next to the rows of level ``b`` with the same ``keys``.

    Returns the ``keys`` columns and ``value_a``, ``value_b``; raises ValueError if a key is
    not unique within a level or a row of one level has no partner in the other.
    """
    if factor in keys:
        raise ValueError(f"keys(={keys}) must not contain the factor {factor!r}")
    if value in keys:
        raise ValueError(f"keys(={keys}) must not contain the value {value!r}")
    _check_columns(df, [*keys, value], "pairing")
    sides = []
    for lvl, suffix in ((a, "a"), (b, "b")):
        side = df.loc[df[factor] == lvl, [*keys, value]]
        dup = side.duplicated(keys, keep=False)
        if dup.any():
            example = side.loc[dup, keys].iloc[0].to_dict()
            raise ValueError(
                f"{factor}={lvl!r}: {int(dup.sum())} rows share their pairing keys {keys} "
                f"(e.g. {example}); add the missing design columns to `keys`")
        sides.append(side.rename(columns={value: f"value_{suffix}"}))
    merged = sides[0].merge(sides[1], on=keys, how="outer", indicator=True, sort=True)
    unmatched = merged["_merge"] != "both"
    if unmatched.any():
        only_a = int((merged["_merge"] == "left_only").sum())
        only_b = int((merged["_merge"] == "right_only").sum())
        example = merged.loc[unmatched, keys].iloc[0].to_dict()
        raise ValueError(
            f"pairs do not match on {keys}: {only_a} rows only in {factor}={a!r}, "
            f"{only_b} only in {factor}={b!r} (e.g. {example})")
    return merged.drop(columns="_merge").reset_index(drop=True)


def paired_difference(df: pd.DataFrame, factor: str, a: object, b: object, value: str,
                      keys: list[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Mean difference A − B of ``value`` between two levels of ``factor``, paired.

    Runs of A and B with the same ``keys`` share their random numbers, so the differences
    ``value_A − value_B`` are paired; their t-interval is the one to use. The Welch interval
    (the two samples taken as independent) is given beside it to show the gain from common
    random numbers.

    Parameters
    ----------
    df : DataFrame
        ``national`` or ``kpis`` (or any table with ``factor``, ``value`` and ``keys``).
    factor : str
        The design column compared, e.g. ``"strategy"``.
    a, b : object
        The two levels, e.g. ``"efa"`` and ``"einzel"``.
    value : str
        The numeric column compared.
    keys : list of str, optional
        Pairing keys. Default: ``replication``, the other design columns
        (:func:`design_columns`) and ``month`` if present.
    level : float
        Confidence level of both intervals.

    Returns
    -------
    DataFrame
        One row per group, the groups being ``keys`` without ``replication`` (e.g. funding ×
        month), sorted; plus ``date`` when grouped by ``month`` and the table has a ``date``
        column. Columns: ``n_pairs`` (pairs with both values finite), ``n_missing`` (pairs
        dropped because a value is NaN, e.g. a target not reached), ``mean_a``, ``mean_b``,
        ``mean_diff``, ``lo``, ``hi`` (paired t-interval), ``sd_diff`` (sd of the differences),
        ``unpaired_lo``, ``unpaired_hi`` (Welch interval), ``sd_unpaired``
        (√(sd_a² + sd_b²), the sd of a difference if the runs were independent).

    Raises
    ------
    ValueError
        If a column, ``a`` or ``b`` is missing, ``a == b``, the keys do not identify one row per
        level, or a row of one level has no partner in the other.
    """
    _check_level(level)
    _check_levels(df, factor, a, b)
    _check_columns(df, [value], "paired_difference")
    keys = _default_keys(df, factor, value, with_month=True) if keys is None else list(keys)
    pairs = _pair(df, factor, a, b, value, keys)
    groups = [k for k in keys if k != "replication"]
    xa = pairs["value_a"].to_numpy(dtype=float)
    xb = pairs["value_b"].to_numpy(dtype=float)
    ok = np.isfinite(xa) & np.isfinite(xb)
    xa, xb = np.where(ok, xa, np.nan), np.where(ok, xb, np.nan)
    work, by = _keyed(pairs, groups,
                      {"__a__": xa, "__b__": xb, "__d__": xa - xb, "__missing__": ~ok})
    g = work.groupby(by, sort=True, dropna=False)
    out = pd.DataFrame({"n_pairs": g["__d__"].count(), "n_missing": g["__missing__"].sum(),
                        "mean_a": g["__a__"].mean(), "mean_b": g["__b__"].mean(),
                        "mean_diff": g["__d__"].mean()})
    n = out["n_pairs"].to_numpy(dtype=float)
    sd_d = g["__d__"].std(ddof=1).to_numpy(dtype=float)
    hw = _t_half_widths(sd_d, n, level)
    var_a = g["__a__"].var(ddof=1).to_numpy(dtype=float)
    var_b = g["__b__"].var(ddof=1).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se2 = (var_a + var_b) / n
        welch_df = se2**2 / ((var_a / n) ** 2 / (n - 1) + (var_b / n) ** 2 / (n - 1))
    positive = np.isfinite(welch_df) & (se2 > 0)
    t_u = sps.t.ppf(0.5 + level / 2, np.where(positive, welch_df, 1.0))
    hw_u = np.where(positive, t_u * np.sqrt(np.where(positive, se2, 0.0)),
                    np.where(n >= 2, 0.0, np.nan))
    mean = out["mean_diff"].to_numpy(dtype=float)
    out["lo"], out["hi"], out["sd_diff"] = mean - hw, mean + hw, sd_d
    out["unpaired_lo"], out["unpaired_hi"] = mean - hw_u, mean + hw_u
    out["sd_unpaired"] = np.sqrt(var_a + var_b)
    out = _unkeyed(out, groups)
    if "month" in groups and "date" in df.columns and "date" not in groups and len(out):
        dates = df.groupby("month")["date"]
        if (dates.nunique(dropna=False) <= 1).all():
            out.insert(groups.index("month") + 1, "date", out["month"].map(dates.first()))
    return out


# --------------------------------------------------------------------------- first passage


def first_passage(national: pd.DataFrame, value: str, target: float, by: list[str],
                  tol: float = 1e-12) -> pd.DataFrame:
    """First month at which ``value >= target``, per run.

    Parameters
    ----------
    national : DataFrame
        One row per run and month, with ``month``, ``replication``, ``value`` and ``by``.
    value : str
        The monitored column, e.g. ``"population_coverage"``.
    target : float
        The threshold, in the unit of ``value`` (a share in [0, 1] for coverage).
    by : list of str
        Columns that, with ``replication``, identify a run: e.g. ``["point"]`` or
        ``["strategy", "funding"]``.
    tol : float
        ``value >= target - tol`` counts as reached; the default equals the rule of the
        ``months_to_*`` KPIs (:func:`sim.metrics.kpis_for_replication`), so shares that are 0.9
        up to rounding count as 90 %.

    Returns
    -------
    DataFrame
        One row per run (sorted): ``by``, ``replication``, ``first_month`` (float, months since
        2018-01; NaN if never reached within the horizon) and ``reached`` (bool).

    Raises
    ------
    ValueError
        If a column is missing or a run has more than one row per month (``by`` too coarse).
    """
    run = [*by, "replication"] if "replication" not in by else list(by)
    _check_columns(national, [*run, "month", value], "first_passage")
    dup = national.duplicated([*run, "month"], keep=False)
    if dup.any():
        raise ValueError(f"first_passage: {int(dup.sum())} rows share (by + replication, month) "
                         f"= {[*run, 'month']}; add the design columns that tell runs apart to "
                         f"`by`")
    hit = national[value].to_numpy(dtype=float) >= target - tol
    months = national["month"].astype(float).where(hit)
    out = (national[run].assign(first_month=months)
           .groupby(run, sort=True, dropna=False)["first_month"].min().reset_index())
    out["reached"] = out["first_month"].notna()
    return out


def _wilson(k: int, n: int, level: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k / n."""
    if n == 0:
        return math.nan, math.nan
    z = float(sps.norm.ppf(0.5 + level / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # Rounding can put a bound a hair past p at k = 0 or k = n; the interval contains p.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def prob_first(national: pd.DataFrame, factor: str, a: object, b: object, value: str,
               target: float, by: list[str] | None = None, level: float = 0.95,
               keys: list[str] | None = None, tol: float = 1e-12) -> pd.DataFrame:
    """Probability that level A of ``factor`` reaches ``value >= target`` strictly before B.

    Each run's first-passage month (:func:`first_passage`) is compared with that of its
    partner under the other level (same ``keys``: common random numbers). A run that never
    reaches the target counts as reaching it at +inf, so two never-reaching runs are a tie.

    Parameters
    ----------
    national : DataFrame
        One row per point, replication and month.
    factor : str
        The design column compared, e.g. ``"strategy"``.
    a, b : object
        The two levels.
    value : str
        The monitored column, e.g. ``"population_coverage"``.
    target : float
        The threshold (see :func:`first_passage`, also for ``tol``).
    by : list of str, optional
        Groups of the result; must be among ``keys``. Default (None): every other design column
        (one row per design cell); ``[]`` pools all pairs into one row.
    level : float
        Confidence level of the Wilson interval.
    keys : list of str, optional
        Pairing keys; default ``replication`` and the other design columns
        (:func:`design_columns`). ``month`` is not a key here.
    tol : float
        Tolerance of "reached", as in :func:`first_passage`.

    Returns
    -------
    DataFrame
        One row per group: ``by``, ``n_pairs``, ``n_a_first``, ``n_tie``, ``n_b_first``,
        ``p_a_first``, ``p_tie``, ``p_b_first`` (summing to 1), ``lo``, ``hi`` (Wilson interval
        for ``p_a_first``).

    Raises
    ------
    ValueError
        As :func:`paired_difference`; also if ``by`` is not within ``keys``.
    """
    _check_level(level)
    _check_levels(national, factor, a, b)
    _check_columns(national, [value, "month"], "prob_first")
    keys = _default_keys(national, factor, value, with_month=False) if keys is None else list(keys)
    if "month" in keys:
        raise ValueError(f"keys(={keys}) must not contain 'month': a run's whole path is compared")
    design = [k for k in keys if k != "replication"]
    by = design if by is None else list(by)
    outside = [c for c in by if c not in design]
    if outside:
        raise ValueError(f"by(={by}): {outside} not among the pairing keys {keys}")
    fp = first_passage(national, value, target, [factor, *design], tol=tol)
    pairs = _pair(fp, factor, a, b, "first_month", keys)
    rows: list[dict[str, object]] = []
    for key, sub in _groups(pairs, by):
        ta = sub["value_a"].fillna(np.inf).to_numpy(dtype=float)
        tb = sub["value_b"].fillna(np.inf).to_numpy(dtype=float)
        n = len(ta)
        n_a, n_tie = int((ta < tb).sum()), int((ta == tb).sum())
        lo, hi = _wilson(n_a, n, level)
        row: dict[str, object] = dict(zip(by, key, strict=True))
        row.update(n_pairs=n, n_a_first=n_a, n_tie=n_tie, n_b_first=n - n_a - n_tie,
                   p_a_first=n_a / n, p_tie=n_tie / n, p_b_first=(n - n_a - n_tie) / n,
                   lo=lo, hi=hi)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- replications


def replications_needed(sd: float, target_half_width: float, level: float = 0.95) -> int | None:
    """Smallest n >= 2 whose t-interval half-width ``t_{n-1} · sd / √n`` is at most the target.

    Starts from the normal approximation ``ceil((z · sd / h)²)`` (a lower bound, as
    ``t_{n-1} > z``) and raises n, re-evaluating ``t`` with each new n, until
    ``n >= (t_{n-1} · sd / h)²``: the fixed point of ``n = ceil((t_{n-1} · sd / h)²)``.

    Parameters
    ----------
    sd : float
        Standard deviation of one replication's value (assumed to stay as estimated).
    target_half_width : float
        Wanted half-width h (> 0), in the unit of the value.
    level : float
        Confidence level.

    Returns
    -------
    int or None
        The number of replications; ``None`` if ``sd`` is not finite or h <= 0 with sd > 0.
    """
    _check_level(level)
    if not np.isfinite(sd) or sd < 0 or not np.isfinite(target_half_width):
        return None
    if sd == 0:
        return 2
    if target_half_width <= 0:
        return None
    q = 0.5 + level / 2
    ratio = sd / target_half_width
    n = max(2, math.ceil((float(sps.norm.ppf(q)) * ratio) ** 2 - 1e-9))
    while n < (float(sps.t.ppf(q, n - 1)) * ratio) ** 2 - 1e-9:
        n += 1
    return n


def replication_sufficiency(kpis: pd.DataFrame, by: list[str], kpi_cols: list[str],
                            target_half_width: float | Mapping[str, float] | None = None,
                            relative: float = 0.05, level: float = 0.95) -> pd.DataFrame:
    """Are there enough replications for the wanted precision of each KPI's mean?

    Parameters
    ----------
    kpis : DataFrame
        One row per point and replication.
    by : list of str
        Groups, e.g. ``["strategy", "funding"]`` (``[]``: all rows together).
    kpi_cols : list of str
        The KPIs to check. Non-finite values (not reached) are left out and counted in
        ``n_missing``; the mean of the reached ones is then conditional on reaching.
    target_half_width : float or dict of str to float, optional
        Wanted absolute half-width of the CI of the mean, in the KPI's unit: one value for all
        KPIs, or one per KPI (KPIs not in the dict fall back to ``relative``).
    relative : float
        Otherwise the target is ``relative × |mean|``.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row per group and KPI (long): ``by``, ``kpi``, ``n``, ``n_missing``, ``mean``,
        ``sd``, ``half_width`` (of the t-interval with the current n), ``target_half_width``,
        ``n_needed`` (nullable Int64: :func:`replications_needed`; NA if n < 2 or the target is
        0, e.g. relative to a zero mean) and ``sufficient`` (``half_width <= target``, False when
        undefined). ``n_needed`` counts finite values; with missing values, more replications
        are needed in proportion.
    """
    _check_level(level)
    _check_columns(kpis, [*by, *kpi_cols], "replication_sufficiency")
    if relative <= 0:
        raise ValueError(f"relative(={relative}) must be > 0")
    targets: Mapping[str, float]
    if isinstance(target_half_width, Mapping):
        targets = dict(target_half_width)
        unknown = [k for k in targets if k not in kpi_cols]
        if unknown:
            raise ValueError(f"target_half_width names KPIs not in kpi_cols: {unknown}")
    elif target_half_width is None:
        targets = {}
    else:
        targets = dict.fromkeys(kpi_cols, float(target_half_width))
    for k, h in targets.items():
        if not h > 0:
            raise ValueError(f"target_half_width[{k!r}](={h}) must be > 0")
    rows: list[dict[str, object]] = []
    for key, sub in _groups(kpis, by):
        for col in kpi_cols:
            raw = sub[col].to_numpy(dtype=float)
            x = raw[np.isfinite(raw)]
            n = len(x)
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n >= 2 else math.nan
            hw = _t_half_width(sd, n, level)
            target = targets.get(col, relative * abs(mean))
            needed = replications_needed(sd, target, level) if n >= 2 else None
            row: dict[str, object] = dict(zip(by, key, strict=True))
            row.update(kpi=col, n=n, n_missing=len(raw) - n, mean=mean, sd=sd, half_width=hw,
                       target_half_width=target, n_needed=needed,
                       sufficient=bool(np.isfinite(hw) and hw <= target))
            rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["n_needed"] = out["n_needed"].astype("Int64")
        out["sufficient"] = out["sufficient"].astype(bool)
    return out


# --------------------------------------------------------------------------- regret

#: Lower-tail quantile of an outcome across scenarios in :func:`regret_table` (``q10``): the
#: "10th percentile" of robust-decision tables, a bad-but-not-worst scenario.
REGRET_OUTCOME_LOW_Q = 0.10
#: Upper-tail quantile of an outcome and of the regret across scenarios (``q90``): for an
#: outcome where lower is better (months to a target) its bad tail, and the regret's.
REGRET_HIGH_Q = 0.90


def scenario_regret(runs: pd.DataFrame, value: str, levers: Sequence[str],
                    scenario: Sequence[str], higher_is_better: bool = True,
                    censor_at: float | None = None) -> pd.DataFrame:
    """Regret of every lever setting in every scenario: how much worse it does there than the
    setting that does best there.

    A *scenario* is one combination of the uncertain ``scenario`` columns (a point of a Latin
    hypercube); a *lever setting* one combination of the ``levers`` columns (a strategy, or a
    strategy and a funding level). Each setting's outcome in a scenario is the mean of
    ``value`` over its replications there (paired on common random numbers across the
    settings, so the comparison is not noise between settings); the regret is the best
    setting's mean minus this one's (``higher_is_better``) or this one's minus the best's, so
    0 for the best and positive otherwise. Scenarios that lack a setting (a failed run) are
    left out, so every setting is compared in the same scenarios.

    Parameters
    ----------
    runs : DataFrame
        One row per lever setting, scenario and replication.
    value : str
        The outcome column, e.g. ``"population_coverage"`` at one month or
        ``"months_to_90pct_population_coverage"``.
    levers, scenario : sequence of str
        Columns identifying a lever setting and a scenario.
    higher_is_better : bool
        Direction of ``value``.
    censor_at : float, optional
        Value given to a run that did not reach what ``value`` measures (non-finite), e.g. the
        horizon's last month + 1 for a ``months_to_*`` figure: a lower bound for that run, so
        its mean is one too. Required if ``value`` has non-finite values.

    Returns
    -------
    DataFrame
        One row per lever setting and scenario (settings in order of first appearance):
        ``levers``, ``scenario``, ``n_replications``, ``n_censored`` (runs at ``censor_at``),
        ``mean`` and ``regret`` (in the unit of ``value``).

    Raises
    ------
    ValueError
        If a column is missing, a not-reached value has no ``censor_at``, or no scenario has
        every lever setting.
    """
    levers, scenario = list(levers), list(scenario)
    _check_columns(runs, [value, *levers, *scenario], "scenario_regret")
    if not levers or not scenario:
        raise ValueError(f"scenario_regret: levers(={levers}) and scenario(={scenario}) must "
                         "name at least one column each")
    x = runs[value].to_numpy(dtype=float)
    censored = ~np.isfinite(x)
    if censored.any() and censor_at is None:
        raise ValueError(f"scenario_regret: {int(censored.sum())} runs did not reach "
                         f"{value!r}; pass censor_at (e.g. the horizon's last month + 1)")
    df = runs[[*levers, *scenario]].assign(
        __value__=np.where(censored, censor_at if censor_at is not None else np.nan, x),
        __censored__=censored)
    out = (df.groupby([*levers, *scenario], sort=False, dropna=False)
           .agg(n_replications=("__value__", "size"), n_censored=("__censored__", "sum"),
                mean=("__value__", "mean")).reset_index())
    n_settings = len(out[levers].drop_duplicates())
    complete = out.groupby(scenario, sort=False)["mean"].transform("size") == n_settings
    out = out[complete].reset_index(drop=True)
    if out.empty:
        raise ValueError(f"scenario_regret: no scenario has all {n_settings} lever settings")
    best = out.groupby(scenario, sort=False)["mean"].transform(
        "max" if higher_is_better else "min")
    out["regret"] = best - out["mean"] if higher_is_better else out["mean"] - best
    out["n_censored"] = out["n_censored"].astype(int)
    return out


def regret_table(runs: pd.DataFrame, value: str, levers: Sequence[str],
                 scenario: Sequence[str], higher_is_better: bool = True,
                 censor_at: float | None = None) -> pd.DataFrame:
    """Robustness of each lever setting across scenarios: its outcome and its regret
    (:func:`scenario_regret`) summarised over the scenarios, ranked by maximum regret
    (minimax regret) with the rank by median regret beside it, so a setting that is best on
    the median but fragile in some scenarios shows.

    Parameters are those of :func:`scenario_regret`.

    Returns
    -------
    DataFrame
        One row per lever setting, the minimax-regret choice first (ties by median regret):
        ``levers``; ``n_scenarios``; ``n_censored_scenarios`` (scenarios where at least one
        of its replications did not reach the target and counts at ``censor_at``: its mean
        there is a lower bound); the outcome's ``outcome_median``, ``outcome_q10``
        (:data:`REGRET_OUTCOME_LOW_Q`) and ``outcome_q90`` (:data:`REGRET_HIGH_Q`) across
        scenarios (the bad tail is ``q10`` where higher is better, ``q90`` where lower is);
        the regret's ``regret_median``, ``regret_q90`` and ``regret_max``; and
        ``rank_max_regret`` and ``rank_median_regret`` (1 = best; ties share the lower
        rank). Quantiles as :func:`sim.bands.quantiles` (linear interpolation).
    """
    levers = list(levers)
    per = scenario_regret(runs, value, levers, scenario, higher_is_better, censor_at)
    qs = (REGRET_OUTCOME_LOW_Q, REGRET_HIGH_Q)
    rows: list[dict[str, object]] = []
    for key, sub in per.groupby(levers, sort=False, dropna=False):
        keys = key if isinstance(key, tuple) else (key,)
        mean = sub["mean"].to_numpy(dtype=float)
        regret = sub["regret"].to_numpy(dtype=float)
        lo, hi = quantiles(mean, qs)
        row: dict[str, object] = dict(zip(levers, keys, strict=True))
        row["n_scenarios"] = len(sub)
        row["n_censored_scenarios"] = int((sub["n_censored"] > 0).sum())
        row["outcome_median"] = float(median(mean))
        row[f"outcome_{q_name(REGRET_OUTCOME_LOW_Q)}"] = float(lo)
        row[f"outcome_{q_name(REGRET_HIGH_Q)}"] = float(hi)
        row["regret_median"] = float(median(regret))
        row[f"regret_{q_name(REGRET_HIGH_Q)}"] = float(quantiles(regret, [REGRET_HIGH_Q])[0])
        row["regret_max"] = float(regret.max())
        rows.append(row)
    out = pd.DataFrame(rows)
    out["rank_max_regret"] = out["regret_max"].rank(method="min").astype(int)
    out["rank_median_regret"] = out["regret_median"].rank(method="min").astype(int)
    return out.sort_values(["rank_max_regret", "regret_median"], kind="stable",
                           ignore_index=True)
