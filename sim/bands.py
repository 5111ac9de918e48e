"""Bands across replications: the median and quantiles of a value over the replications of
each group, and the one convention for runs that did not reach a target.

**Not reached.** A non-finite value (``NaN``, ``±inf``) in a per-replication table means the
run did not reach what the column measures within the horizon (a target in ``months_to_*``;
any coverage, for ``cost_per_coverage_point_eur``). One convention holds for every summary of
the package (chart tables, ``kpis.csv``, the experiments' ``summary.csv``, the calibration's
projection, :func:`sim.stats.summarise`):

- *ranks* (median, quantiles, the order statistics of the median's interval) count a run
  that did not reach it as later than every run that did; a statistic that falls on such a
  run is ``NaN`` ("not reached");
- *moments* (mean, standard deviation, t-intervals) are taken over the runs that reached it,
  i.e. conditional on reaching, and say how many those were (``n_reached``, or ``n`` beside
  ``n_missing``).

:func:`quantiles`, :func:`median` and :func:`band_table` are the one place where medians and
quantile bands across replications are computed, with numpy's definitions (the median of an
even number is the mean of the middle two; quantiles interpolate linearly, Hyndman & Fan
type 7). The module needs only numpy and pandas, so the model's tables and the figures can
use it without loading SciPy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd


def _rank_stat(x: np.ndarray, stat: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``stat`` of ``x`` along its last axis with not-reached values ranked last.

    Not-reached values are replaced by a number at least as large as every reached one, and
    again by a larger one; a result that changes between the two depends on a not-reached
    run and is NaN. Every other result is exactly ``stat`` of the reached values with the
    not-reached ones ranked after them.
    """
    reached = np.isfinite(x)
    if reached.all():
        return stat(x)
    top = float(np.max(np.abs(x[reached]))) if reached.any() else 0.0
    a = stat(np.where(reached, x, top))
    b = stat(np.where(reached, x, 2.0 * top + 1.0))
    return np.where(a == b, a, np.nan)


def quantiles(values: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles across replications (the last axis), not-reached runs ranked last.

    Parameters
    ----------
    values : ndarray (..., R)
        One value per replication along the last axis; non-finite = not reached.
    qs : sequence of float
        Probabilities in [0, 1] (``numpy.quantile``, linear interpolation).

    Returns
    -------
    ndarray (len(qs), ...)
        NaN where a quantile falls on (or interpolates towards) a run that did not reach it.
    """
    x = np.asarray(values, dtype=float)
    q = np.asarray(qs, dtype=float)
    return _rank_stat(x, lambda v: np.quantile(v, q, axis=-1))


def median(values: np.ndarray) -> np.ndarray:
    """Median across replications (the last axis), not-reached runs ranked last
    (``numpy.median``: the mean of the middle two of an even number)."""
    x = np.asarray(values, dtype=float)
    return _rank_stat(x, lambda v: np.median(v, axis=-1))


def q_name(q: float) -> str:
    return f"q{round(q * 100):02d}"


def band_table(df: pd.DataFrame, by: Sequence[str], value: str,
               qs: Sequence[float] = (0.05, 0.95)) -> pd.DataFrame:
    """Median and quantiles of ``value`` across replications per group of ``by``.

    The one summariser of bands across replications: charts (fans, Länder, running costs,
    size classes, time to target, heatmaps) use it, the key-figure tables and the
    calibration's projection :func:`quantiles` and :func:`median` on arrays.

    Parameters
    ----------
    df : DataFrame
        One row per replication and group.
    by : sequence of str
        Grouping columns (sorted as ``DataFrame.groupby(sort=True, observed=True)``; rows
        with a missing key are left out); ``[]`` for one overall row.
    value : str
        The column to summarise; non-finite values mean "not reached" (module docstring).
    qs : sequence of float
        Quantiles to report, as columns ``q05``, ``q95``, ... (``round(100 q)``).

    Returns
    -------
    DataFrame
        One row per group: ``*by``, ``n_replications``, ``n_reached``, ``median``, then one
        column per quantile in the order of ``qs``.
    """
    keys = list(by)
    x = df[value].to_numpy(dtype=float)
    if keys:
        g = df.groupby(keys, sort=True, observed=True)
        code = g.ngroup().to_numpy()
        index = g.size().index
        keep = code >= 0
        x, code = x[keep], code[keep]
        n_groups = len(index)
    else:
        code = np.zeros(len(x), dtype=np.int64)
        index = None
        n_groups = 1 if len(x) else 0
    order = np.argsort(code, kind="stable")
    xs, cs = x[order], code[order]
    sizes = np.bincount(cs, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    med = np.full(n_groups, np.nan)
    qv = np.full((len(qs), n_groups), np.nan)
    for size in np.unique(sizes[sizes > 0]):
        groups = np.flatnonzero(sizes == size)
        rows = xs[starts[groups][:, None] + np.arange(size)[None, :]]  # (groups, size)
        med[groups] = median(rows)
        if len(qs):
            qv[:, groups] = quantiles(rows, qs)
    reached = np.bincount(cs, weights=np.isfinite(xs).astype(float), minlength=n_groups)
    out = (index.to_frame(index=False) if index is not None
           else pd.DataFrame(index=range(n_groups)))
    out["n_replications"] = sizes.astype(np.int64)
    out["n_reached"] = reached.astype(np.int64)
    out["median"] = med
    for i, q in enumerate(qs):
        out[q_name(q)] = qv[i]
    return out
