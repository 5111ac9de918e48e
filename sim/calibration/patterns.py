"""Pattern-oriented checks and the acceptance targets of a calibration (MODEL.md 8).

A model fitted to a handful of counts can match them for the wrong reasons; patterns of the
record that the fit does not target directly show whether it does (Grimm et al. 2005,
pattern-oriented modelling). They are read off the posterior predictive of a calibration,
per draw, so a pattern has a median and a 90 % band like every other output:

- ``nationwide_vs_least_land``: the dashboard's nationwide count over the count of the
  least advanced Land, at its lowest in 2022. The dashboard counts a service nationwide
  when it is in every Land's count, and in July 2022 the least advanced Land (Saarland, 80)
  had as many as the nationwide count (80): the Länder held the *same* services. The
  model passes when the median is at least :data:`LEAST_LAND_RATIO`.
- ``spread_th_sl``: Thüringen over Saarland in the dashboard's count of July 2022 (142 /
  80): how far apart the Länder were. Passes when the record lies in the 90 % band.
- ``online_vs_nationwide_nw``: services online in at least one municipality of
  Nordrhein-Westfalen over the nationwide count at the end of 2022 (372 / 105): how far
  "online somewhere" runs ahead of "everywhere". Passes when the record lies in the band.

The acceptance targets (:func:`acceptance_table`) are the thresholds the project set for
the fit: at least 90 % of the targets within two standard deviations, the nationwide count
at the end of 2022 within 15 % and the 2022 counts of Saarland, Thüringen and
Mecklenburg-Vorpommern within 25 % (relative error of the predictive median).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import bands
from sim.calendar import month_index

#: Smallest allowed median of nationwide / least advanced Land in 2022.
LEAST_LAND_RATIO = 0.85
#: Months over which the least-Land ratio is taken (from the Booster year to the deadline).
LEAST_LAND_MONTHS = ("2022-01", "2022-12")
#: Share of targets within two standard deviations, and the largest relative errors.
MIN_SHARE_WITHIN_2Z = 0.90
MAX_REL_ERROR_NATIONWIDE = 0.15
MAX_REL_ERROR_LAENDER = 0.25
LAENDER_2022 = ("SL", "TH", "MV")


@dataclass(frozen=True)
class RatioPattern:
    """A ratio of two series at one month, compared with the record's ratio."""

    name: str
    label: str
    numerator: str
    denominator: str
    month: str
    record_numerator: float
    record_denominator: float
    source: str

    @property
    def record(self) -> float:
        return self.record_numerator / self.record_denominator


#: The ratio patterns (counts from sim/data/ozg_history_2018_2022.csv).
RATIO_PATTERNS = (
    RatioPattern("spread_th_sl", "Thüringen / Saarland, dashboard count, July 2022",
                 "reported_in_land:TH", "reported_in_land:SL", "2022-07", 142, 80,
                 "INSM Digimeter July 2022"),
    RatioPattern("online_vs_nationwide_nw",
                 "online in ≥ 1 NRW municipality / nationwide, December 2022",
                 "online_in_land:NW", "nationwide_reported", "2022-12", 372, 105,
                 "municipal concept Korschenbroich (Dec 2022); OZG dashboard via INSM"),
)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den per draw; 1 where both are 0, inf where only the denominator is."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0),
                       np.where(num > 0, np.inf, 1.0))
    return out


def _band(values: np.ndarray) -> dict[str, float]:
    """Median and 5-95 % band across draws (:mod:`sim.bands`)."""
    q05, q95 = bands.quantiles(values[None, :], (0.05, 0.95))
    return {"median": float(bands.median(values[None, :])[0]), "q05": float(q05[0]),
            "q95": float(q95[0])}


def least_land_ratio(proj: np.ndarray, series: Sequence[str],
                     months: tuple[str, str] = LEAST_LAND_MONTHS) -> np.ndarray | None:
    """(P,): per draw, the lowest ratio over ``months`` of the dashboard's nationwide
    count to the count of the least advanced Land (``None`` without those series)."""
    lands = [i for i, s in enumerate(series) if s.startswith("reported_in_land:")]
    if "nationwide_reported" not in series or len(lands) < 2:
        return None
    m0, m1 = (month_index(m) for m in months)
    m1 = min(m1, proj.shape[2] - 1)
    if m0 > m1:
        return None
    nation = proj[:, list(series).index("nationwide_reported"), m0:m1 + 1]
    least = proj[:, lands, m0:m1 + 1].min(axis=1)
    return np.asarray(_ratio(nation, least).min(axis=1))


def pattern_table(proj: np.ndarray, series: Sequence[str]) -> pd.DataFrame:
    """The patterns the projection's series allow: ``pattern``, ``label``, ``record``,
    ``median``, ``q05``, ``q95``, ``requirement``, ``met``, ``source``.

    ``proj``: (draws, series, months) shares of the posterior predictive.
    """
    rows = []
    ratio = least_land_ratio(proj, series)
    if ratio is not None:
        band = _band(ratio)
        rows.append({"pattern": "nationwide_vs_least_land",
                     "label": "nationwide / least advanced Land, lowest month of 2022",
                     "record": 1.0, **band, "requirement": f"median ≥ {LEAST_LAND_RATIO:g}",
                     "met": bool(band["median"] >= LEAST_LAND_RATIO),
                     "source": "INSM Digimeter July 2022 (Saarland 80, nationwide 80)"})
    for p in RATIO_PATTERNS:
        if p.numerator not in series or p.denominator not in series:
            continue
        m = month_index(p.month)
        if m >= proj.shape[2]:
            continue
        r = _ratio(proj[:, list(series).index(p.numerator), m],
                   proj[:, list(series).index(p.denominator), m])
        band = _band(r)
        rows.append({"pattern": p.name, "label": p.label, "record": p.record, **band,
                     "requirement": "record in the 90 % band",
                     "met": bool(band["q05"] <= p.record <= band["q95"]), "source": p.source})
    return pd.DataFrame(rows, columns=["pattern", "label", "record", "median", "q05", "q95",
                                       "requirement", "met", "source"])


def acceptance_table(fit: pd.DataFrame) -> pd.DataFrame:
    """The acceptance targets on a fit table (:func:`sim.calibration.method.fit_table`):
    ``target``, ``value``, ``requirement``, ``met``. Only targets the fit holds are judged
    (a world without Saarland has no Saarland row)."""
    rows = []
    z = fit["z"].to_numpy(dtype=float)
    share = float(np.mean(np.abs(z) <= 2)) if len(z) else float("nan")
    rows.append({"target": "targets within ±2 z", "value": share,
                 "requirement": f"≥ {MIN_SHARE_WITHIN_2Z:.0%}",
                 "met": bool(share >= MIN_SHARE_WITHIN_2Z)})
    rel = (fit["model_median"] - fit["observed"]) / fit["observed"]
    year = fit["date"].astype(str).str[:4]
    nation = fit[(fit["series"] == "nationwide_reported") & (year == "2022")]
    if len(nation):
        last = nation.sort_values("month").index[-1]
        rows.append({"target": f"nationwide {fit.loc[last, 'date']}",
                     "value": float(rel[last]),
                     "requirement": f"|relative error| ≤ {MAX_REL_ERROR_NATIONWIDE:.0%}",
                     "met": bool(abs(rel[last]) <= MAX_REL_ERROR_NATIONWIDE)})
    for code in LAENDER_2022:
        sel = fit[(fit["geo"] == code) & (year == "2022")]
        for i in sel.index:
            rows.append({"target": f"{code} {fit.loc[i, 'metric']} {fit.loc[i, 'date']}",
                         "value": float(rel[i]),
                         "requirement": f"|relative error| ≤ {MAX_REL_ERROR_LAENDER:.0%}",
                         "met": bool(abs(rel[i]) <= MAX_REL_ERROR_LAENDER)})
    return pd.DataFrame(rows, columns=["target", "value", "requirement", "met"])


__all__ = ["LEAST_LAND_RATIO", "RATIO_PATTERNS", "RatioPattern", "acceptance_table",
           "least_land_ratio", "pattern_table"]
