"""Backtest: the counts after ``until`` against the posterior predictive of a calibration
fitted only on the counts up to ``until``, and against naive forecasters fitted on the same
earlier points of the same series.

Forecasters (per series, on the fitted points of that series only, in months since 2018-01;
a series with no fitted point has no naive forecast):

- **persistence**: the last fitted value;
- **straight line**: least squares through the fitted points (through the origin at the
  start of the rollout, 2018-04, when the series has a single point: a service count was 0
  before the catalogue existed), cut to ``[0, 1]``;
- **logistic curve**: ``1 / (1 + exp(-k (m - m0)))`` on the share scale, fitted with
  ``scipy.optimize.curve_fit`` (with the same start-of-rollout anchor at a share of 0.005
  when fewer than two points); persistence where the fit fails.

Errors are on the share scale (percentage points in the report). The model's forecast is
the posterior predictive median; its band the predictive 90 % band of an observation. The
verdict compares mean absolute errors over the held-out points, per forecaster.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

from sim.calendar import month_index

#: Month the rollout starts (the catalogue, April 2018): counts are 0 before it.
START_MONTH = month_index("2018-04")
#: Share the logistic anchor takes at :data:`START_MONTH` (a logistic never reaches 0).
START_SHARE = 0.005


def _anchored(m: np.ndarray, y: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    if len(m) >= 2:
        return m, y
    return np.r_[START_MONTH, m], np.r_[share, y]


def persistence(m: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The last fitted value."""
    return np.full(len(at), float(y[np.argmax(m)]))


def straight_line(m: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Least squares line (anchored at 0 in 2018-04 if one point), cut to [0, 1]."""
    mm, yy = _anchored(m, y, 0.0)
    if np.ptp(mm) == 0:
        return persistence(m, y, at)
    slope, icpt = np.polyfit(mm, yy, 1)
    return np.clip(icpt + slope * at, 0.0, 1.0)


def _logistic(m: np.ndarray, k: float, m0: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-k * (m - m0)))


def logistic_curve(m: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """A logistic curve with ceiling 1 (``scipy.optimize.curve_fit``; anchored at 0.5 % in
    2018-04 if one point); persistence where the fit fails."""
    mm, yy = _anchored(m, y, START_SHARE)
    yy = np.clip(yy, 1e-4, 1 - 1e-4)
    # start from the straight line through the logits
    logit = np.log(yy / (1 - yy))
    if np.ptp(mm) == 0:
        return persistence(m, y, at)
    k0, c0 = np.polyfit(mm, logit, 1)
    p0 = (max(k0, 1e-3), -c0 / k0 if k0 > 1e-3 else float(mm.max()))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (k, m0), _ = curve_fit(_logistic, mm, yy, p0=p0, maxfev=20000)
    except (RuntimeError, ValueError):
        return persistence(m, y, at)
    return _logistic(np.asarray(at, dtype=float), k, m0)


#: Naive forecasters by name (one signature: fitted months and shares, months to forecast).
FORECASTERS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "straight_line": straight_line, "logistic_curve": logistic_curve,
    "persistence": persistence}


def backtest_table(fit: pd.DataFrame) -> pd.DataFrame:
    """One row per held-out target (``role == holdout`` in ``fit``, the fit table of a
    calibration): observed, the model's predictive median and 90 % band, its error and
    whether the observation lies in the band, and each naive forecaster's forecast and
    error (``<name>``, ``<name>_error``; empty when the series has no fitted point).
    Lower bounds are left out (no point error)."""
    hold = fit[(fit["role"] == "holdout") & (fit["bound"] == "point")]
    fitted = fit[(fit["role"] == "fit") & (fit["bound"] == "point")]
    rows = []
    for _, r in hold.iterrows():
        row = {"target": int(r["target"]), "date": r["date"], "month": int(r["month"]),
               "series": r["series"], "metric": r["metric"], "geo": r["geo"],
               "observed": float(r["observed"]), "model_median": float(r["model_median"]),
               "predictive_q05": float(r["predictive_q05"]),
               "predictive_q95": float(r["predictive_q95"]),
               "model_error": float(r["model_median"] - r["observed"]),
               "in_band": bool(r["in_band"])}
        past = fitted[fitted["series"] == r["series"]]
        for name, f in FORECASTERS.items():
            if len(past):
                v = float(f(past["month"].to_numpy(dtype=float),
                            past["observed"].to_numpy(dtype=float),
                            np.array([float(r["month"])]))[0])
                row[name], row[f"{name}_error"] = v, v - float(r["observed"])
            else:
                row[name], row[f"{name}_error"] = np.nan, np.nan
        rows.append(row)
    cols = ["target", "date", "month", "series", "metric", "geo", "observed", "model_median",
            "predictive_q05", "predictive_q95", "model_error", "in_band",
            *[c for n in FORECASTERS for c in (n, f"{n}_error")]]
    return pd.DataFrame(rows, columns=cols)


def verdict_table(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per naive forecaster: held-out points it forecasts, mean absolute error of the model
    and of the forecaster on those points, points where the model is closer, and whether
    the model beats it (lower mean absolute error)."""
    rows = []
    for name in FORECASTERS:
        sel = backtest[backtest[f"{name}_error"].notna()]
        if sel.empty:
            rows.append({"forecaster": name, "points": 0, "model_mae": np.nan,
                         "forecaster_mae": np.nan, "model_closer": 0, "model_beats": None})
            continue
        m_abs, f_abs = sel["model_error"].abs(), sel[f"{name}_error"].abs()
        rows.append({"forecaster": name, "points": len(sel), "model_mae": float(m_abs.mean()),
                     "forecaster_mae": float(f_abs.mean()),
                     "model_closer": int((m_abs < f_abs).sum()),
                     "model_beats": bool(m_abs.mean() < f_abs.mean())})
    return pd.DataFrame(rows)


__all__ = ["FORECASTERS", "backtest_table", "logistic_curve", "persistence", "straight_line",
           "verdict_table"]
