"""The official record as calibration targets, and the same observables read from a run.

Targets: the observed counts 2020-2022 (``sim/data/ozg_history_2018_2022.csv``) as shares
of the official catalogue of the same scope, with their measurement error and whether they
are point values or lower bounds. Observables (:func:`series_shares`, defined with the
other metrics of a run in :mod:`sim.metrics`, so that a sweep's run record keeps them
too): the same shares from a run's availability times. The measurement model that relates
the two is in the docstring of :mod:`sim.calibration.method` and in ``MODEL.md`` (section
7.10).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import data_io
from sim.calendar import month_end_dates, month_index
from sim.errors import ConfigError
from sim.figures.labels import SERIES_LABELS
from sim.metrics import LAND_KINDS, NATIONAL_KINDS
from sim.metrics import series_shares as series_shares  # the observables: one definition
from sim.world import FEDERAL, World

if TYPE_CHECKING:  # the spec names its targets' metrics (METRICS): import it for types only
    from sim.calibration.spec import CalibrationSpec

#: Official metric -> (model series kind, scope of its denominator), as the dashboard and
#: most sources define it (MODEL.md 7.10).
METRICS: dict[str, tuple[str, str]] = {
    "ozg_leistungen_online_min1": ("online_anywhere", "all"),
    "ozg_leistungen_online_min1_share": ("online_anywhere", "all"),
    "bund_leistungen_online": ("federal_online", "federal"),
    "ozg_leistungen_flaechendeckend": ("nationwide_reported", "all"),
    "ozg_leistungen_flaechendeckend_in_land": ("reported_in_land", "all"),
    "ozg_leistungen_online_min1_in_land": ("online_in_land", "all"),
}
#: (metric, source kind) -> (series kind, scope) where a kind of source defines a metric
#: otherwise: the Normenkontrollrat's "implemented nationwide" counts föderale (Typ 2-5)
#: services only (16 in Sep 2021, when 85 federal services were online).
SOURCE_DEFINITIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("ozg_leistungen_flaechendeckend", "nkr"): ("nationwide_nonfederal", "nonfederal"),
}
#: Series kind -> scope of its denominator (one home, from the two tables above).
KIND_SCOPE: dict[str, str] = {kind: scope for kind, scope in
                              [*METRICS.values(), *SOURCE_DEFINITIONS.values()]}
#: Metrics whose value is already a share of the catalogue (the others are counts).
SHARE_METRICS = frozenset({"ozg_leistungen_online_min1_share"})
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def target_month(date: str) -> int:
    """Month index a reported figure refers to: ``YYYY-MM`` is the end of that month; a
    day ``YYYY-MM-DD`` the nearest month end (``2020-10-01`` -> end of September 2020,
    ``2022-12-31`` -> end of December 2022)."""
    m = _DAY.match(date.strip())
    if m is None:
        return month_index(date.strip(), "date")
    ym = f"{m.group(1)}-{m.group(2)}"
    idx = month_index(ym, "date")
    days = pd.Timestamp(f"{ym}-01").days_in_month
    return idx if int(m.group(3)) > days / 2 else idx - 1


def read_history() -> pd.DataFrame:
    """The observed figures with their dates as written (``YYYY-MM`` or ``YYYY-MM-DD``)."""
    return data_io.load_history(parse_dates=False)


def make_targets(rows: pd.DataFrame, spec: CalibrationSpec, world: World) -> pd.DataFrame:
    """Targets on the share scale from rows ``date, geo, metric, value`` (and optionally
    ``source``): only metrics of :data:`METRICS`, Länder in ``world`` and scopes the
    world has services of.

    Columns: ``target``, ``date`` (as reported), ``month``, ``month_end``, ``geo``,
    ``metric``, ``series``, ``scope``, ``observed_value`` (as reported),
    ``observed_denominator`` (catalogue services of the scope; 1 for shares),
    ``catalogue_denominator`` (catalogue services of the scope), ``observed`` (share),
    ``sigma`` (by the kind of source, ``spec.observation_error``), ``bound`` (``point``
    or ``lower``), ``source``, ``source_kind``.
    """
    codes = list(world.states["state"])
    n_fed = int((world.services["executor"].to_numpy() == FEDERAL).sum())
    model_n = {"all": world.n_services, "federal": n_fed, "nonfederal": world.n_services - n_fed}
    cat = {"all": spec.catalogue_services, "federal": spec.catalogue_federal_services,
           "nonfederal": spec.catalogue_services - spec.catalogue_federal_services}
    out = []
    for _, row in rows.iterrows():
        metric = str(row["metric"])
        if metric not in METRICS:
            continue
        source_kind = str(row.get("source_kind", "dashboard"))
        kind, scope = SOURCE_DEFINITIONS.get((metric, source_kind), METRICS[metric])
        if source_kind not in spec.observation_error:
            raise ConfigError(f"observation_error.{source_kind} is missing: every kind of "
                              "source of a target needs [relative, absolute]")
        rel, ab = spec.observation_error[source_kind]
        geo = str(row["geo"])
        if kind in LAND_KINDS:
            if geo not in codes:
                continue
            series = f"{kind}:{geo}"
        else:
            if geo != "DE":
                continue
            series = kind
        if model_n[scope] == 0:
            continue
        value = float(row["value"])
        denom = 1 if metric in SHARE_METRICS else cat[scope]
        observed = value / denom
        month = target_month(str(row["date"]))
        out.append({"date": str(row["date"]), "month": month,
                    "month_end": month_end_dates(month + 1)[-1], "geo": geo,
                    "metric": metric, "series": series, "scope": scope,
                    "observed_value": value, "observed_denominator": denom,
                    "catalogue_denominator": cat[scope], "observed": observed,
                    "sigma": rel * observed + ab,
                    "bound": "lower" if metric in spec.lower_bound_metrics else "point",
                    "source": str(row.get("source", "")), "source_kind": source_kind})
    df = pd.DataFrame(out)
    if df.empty:
        raise ConfigError("no calibration target is in this world: targets are national "
                          "counts and Länder " + ", ".join(sorted(
                              set(rows["geo"]) - {"DE"})))
    df = df.sort_values(["month", "series"], kind="stable").reset_index(drop=True)
    df.insert(0, "target", np.arange(len(df)))
    return df


def historical_targets(spec: CalibrationSpec, world: World) -> pd.DataFrame:
    """Targets from ``sim/data/ozg_history_2018_2022.csv`` (see :func:`make_targets`)."""
    return make_targets(read_history(), spec, world)


def series_of(targets: pd.DataFrame, world: World) -> list[str]:
    """Observable series: the national ones, then the per-Land series with targets and the
    dashboard's count of every Land (the patterns compare the nationwide count with the
    least advanced Land; :mod:`sim.calibration.patterns`), in the order of the Länder in
    the world."""
    codes = list(world.states["state"])
    n_fed = int((world.services["executor"].to_numpy() == FEDERAL).sum())
    national = [k for k in NATIONAL_KINDS if not (k == "federal_online" and n_fed == 0)]
    every_land = {f"reported_in_land:{c}" for c in codes}
    land = sorted({s for s in targets["series"] if ":" in s} | every_land,
                  key=lambda s: (LAND_KINDS.index(s.split(":")[0]), codes.index(s.split(":")[1])))
    return national + land


def _land_name(code: str, world: World | None) -> str:
    if world is not None and "name" in world.states.columns:
        st = world.states.set_index("state")
        if code in st.index:
            return str(st.loc[code, "name"])
    return code


def series_label(series: str, world: World | None = None) -> str:
    """Readable name of a series (Land names from the world if given)."""
    kind, _, geo = series.partition(":")
    return SERIES_LABELS[kind].format(land=_land_name(geo, world) if geo else "")
