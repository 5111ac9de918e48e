"""Pattern-oriented checks and acceptance targets of a calibration (sim.calibration.patterns),
on synthetic posterior predictives whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.calendar import month_index
from sim.calibration.patterns import acceptance_table, least_land_ratio, pattern_table

SERIES = ["online_anywhere", "nationwide_reported", "online_in_land:NW",
          "reported_in_land:SL", "reported_in_land:TH", "reported_in_land:NW"]
H = month_index("2023-06") + 1


def _proj(P: int = 40, seed: int = 0) -> np.ndarray:
    """(P, series, H): counts / 575 shaped like the record in 2022."""
    rng = np.random.default_rng(seed)
    out = np.zeros((P, len(SERIES), H))
    jul, dec = month_index("2022-07"), month_index("2022-12")
    for p in range(P):
        noise = 1 + 0.05 * rng.standard_normal()
        out[p, SERIES.index("reported_in_land:SL")] = 80 / 575 * noise
        out[p, SERIES.index("reported_in_land:TH")] = 142 / 575 * noise
        out[p, SERIES.index("reported_in_land:NW")] = 120 / 575 * noise
        out[p, SERIES.index("nationwide_reported")] = 76 / 575 * noise
        out[p, SERIES.index("online_in_land:NW"), dec:] = 372 / 575 * noise
        out[p, SERIES.index("nationwide_reported"), dec:] = 105 / 575 * noise
        out[p, SERIES.index("reported_in_land:SL"), dec:] = 110 / 575 * noise
        out[p, SERIES.index("online_anywhere")] = 0.6
        assert jul < dec
    return out


def test_least_land_ratio_is_the_lowest_month_of_2022_per_draw() -> None:
    proj = _proj()
    r = least_land_ratio(proj, SERIES)
    assert r is not None and r.shape == (proj.shape[0],)
    np.testing.assert_allclose(r, 76 / 80)  # before December: 76 nationwide over SL's 80
    # a month outside 2022 does not count: a collapse in 2021 leaves the ratio
    proj[:, SERIES.index("nationwide_reported"), month_index("2021-06")] = 0
    np.testing.assert_allclose(least_land_ratio(proj, SERIES), 76 / 80)
    # one month of 2022 at half the least Land sets it
    mar = month_index("2022-03")
    proj[:, SERIES.index("nationwide_reported"), mar] = (
        0.5 * proj[:, SERIES.index("reported_in_land:SL"), mar])
    np.testing.assert_allclose(least_land_ratio(proj, SERIES), 0.5)
    # nothing anywhere counts as equal, not as a failure
    zero = np.zeros_like(proj)
    np.testing.assert_allclose(least_land_ratio(zero, SERIES), 1.0)
    assert least_land_ratio(proj, ["nationwide_reported", "reported_in_land:SL"]) is None


def test_pattern_table_meets_and_misses() -> None:
    proj = _proj()
    t = pattern_table(proj, SERIES).set_index("pattern")
    assert list(t.index) == ["nationwide_vs_least_land", "spread_th_sl",
                             "online_vs_nationwide_nw"]
    assert t.loc["nationwide_vs_least_land", "met"]  # 0.95 >= 0.85
    assert t.loc["spread_th_sl", "median"] == pytest.approx(142 / 80)
    assert t.loc["spread_th_sl", "q05"] <= 142 / 80 <= t.loc["spread_th_sl", "q95"]
    assert t.loc["online_vs_nationwide_nw", "met"]
    # Thüringen as far as Saarland: the record's spread lies outside the band
    proj[:, SERIES.index("reported_in_land:TH")] = proj[:, SERIES.index("reported_in_land:SL")]
    proj[:, SERIES.index("nationwide_reported"), :month_index("2022-12")] *= 0.5
    t = pattern_table(proj, SERIES).set_index("pattern")
    assert not t.loc["spread_th_sl", "met"] and t.loc["spread_th_sl", "median"] == 1.0
    assert not t.loc["nationwide_vs_least_land", "met"]
    # series a world lacks: the pattern is left out, not failed
    assert pattern_table(proj, SERIES[:2]).empty


def _fit(rows: list[tuple[str, str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "geo", "series", "observed", "model_median",
                                       "z"]).assign(
        metric=lambda d: d["series"], month=lambda d: [month_index(x[:7]) for x in d["date"]])


def test_acceptance_targets() -> None:
    fit = _fit([("2022-03", "DE", "nationwide_reported", 80 / 575, 70 / 575, 0.5),
                ("2022-12-31", "DE", "nationwide_reported", 105 / 575, 95 / 575, 1.0),
                ("2022-07", "SL", "reported_in_land:SL", 80 / 575, 110 / 575, -2.5),
                ("2022-07", "TH", "reported_in_land:TH", 142 / 575, 120 / 575, 1.1),
                ("2021-06", "DE", "federal_online", 0.74, 0.7, 0.3)])
    t = acceptance_table(fit).set_index("target")
    assert t.loc["targets within ±2 z", "value"] == pytest.approx(0.8)
    assert not t.loc["targets within ±2 z", "met"]
    row = t.loc["nationwide 2022-12-31"]  # the last 2022 point, not March
    assert row["value"] == pytest.approx(95 / 105 - 1) and row["met"]
    assert not t.loc["SL reported_in_land:SL 2022-07", "met"]  # +37.5 %
    assert t.loc["TH reported_in_land:TH 2022-07", "met"]  # -15.5 %
    assert not any(i.startswith("MV") for i in t.index)  # not in this fit
