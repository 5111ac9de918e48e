"""Exactly the numbers a chart draws, computed from the tidy tables that the sweep runner
and a run save (``national``, ``by_state``, ``by_kreis``, ``by_size_class``, ``kpis``,
``running_costs``).

Every chart summarises replications, never one run: each table checks that a group holds
one row per replication and key (so design points that differ in another column are never
pooled) and at least two replications. Medians and quantile bands across replications all
come from :func:`sim.bands.band_table` (numpy's definitions; a run that did not reach a
value ranks after every run that did). A figure builder returns its table as the plotted
data, and :func:`sim.figures.save.save_figure` writes it beside the figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import bands, stats
from sim.calendar import OZG_DEADLINE_DATE, month_date, month_end_date
from sim.figures import geo
from sim.figures.labels import COVERAGE_AT_DEADLINE, SIZE_CLASSES
from sim.figures.levels import PAYER_PARTIES
from sim.figures.style import (
    INNER_BAND,
    OUTER_BAND,
    groups_of,
    ordered_levels,
)
from sim.milestones import MILESTONE_COLUMNS, TIMELINE_SHARE, milestone_times

# --------------------------------------------------------------------------------------
# Checks of the input tables
# --------------------------------------------------------------------------------------

def as_list(by: str | Sequence[str]) -> list[str]:
    """A column name or a sequence of them, as a list."""
    return [by] if isinstance(by, str) else list(by)


def require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise ``ValueError`` naming the columns of ``columns`` that ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(df.columns)}")


#: Fewest replications a chart of bands or a table of intervals across replications is drawn
#: from (never a single run in a chart: one run has no spread, its median is itself and a
#: paired difference or a confidence half-width of one is undefined). Experiments and
#: comparisons refuse fewer before any run.
MIN_REPLICATIONS_PER_CHART = 2


def check_one_row(df: pd.DataFrame, by: Sequence[str], keys: Sequence[str], name: str,
                  min_replications: int = MIN_REPLICATIONS_PER_CHART) -> None:
    """Each group must hold one row per replication and key, and at least
    ``min_replications`` replications."""
    dup = df.duplicated([*by, *keys, "replication"])
    if dup.any():
        row = df[dup].iloc[0]
        where = ", ".join(f"{c}={_show(row[c])}" for c in [*by, *keys])
        design = [c for c in df.columns if c not in (*by, *keys, "replication")
                  and (c in ("point", "strategy", "funding") or "." in c)]
        varying = [c for c in design if df[c].nunique() > 1]
        named = [c for c in varying if c != "point"] or ["point"]
        raise ValueError(f"{name} has several rows for replication {row['replication']} at "
                         f"{where}: columns {named} vary within a group; "
                         f"filter them or add them to by={list(by)}")
    n = df.groupby(list(by), sort=False)["replication"].nunique() if by else pd.Series(
        [df["replication"].nunique()])
    if (n < min_replications).any():
        bad = n[n < min_replications].index[0]
        raise ValueError(f"{name}: group {bad!r} has {int(n[bad])} replication(s), at least "
                         f"{min_replications} needed (never a single run in a chart)")


def _show(value: object) -> str:
    """A key value for an error message: strings quoted, numbers and dates plain."""
    return repr(value) if isinstance(value, str) else str(value)


def with_date(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``date`` column (the month-end date of ``month``) if it has none."""
    if "date" in df.columns:
        return df
    if "month" in df.columns:
        out = df.copy()
        out["date"] = [month_end_date(m) for m in out["month"]]
        return out
    raise ValueError(f"table needs a 'date' or 'month' column; it has {list(df.columns)}")


# --------------------------------------------------------------------------------------
# Summaries (what the charts draw)
# --------------------------------------------------------------------------------------

def band_columns(df: pd.DataFrame, keys: list[str], value: str,
                 intervals: Sequence[tuple[float, float]]) -> pd.DataFrame:
    """Median and the bounds of each central interval (``intervals``) of ``value`` across
    replications per group of ``keys`` (:func:`sim.bands.band_table`), for values that every
    run has.

    Returns columns ``*keys, n_replications, median, q..`` (the bounds in increasing order).
    """
    qs = sorted({q for band in intervals for q in band})
    return bands.band_table(df, keys, value, qs).drop(columns="n_reached")


def fan_table(national: pd.DataFrame, by: str | Sequence[str] = "strategy",
              value: str = "population_coverage") -> pd.DataFrame:
    """Median and central 50 % / 90 % intervals across replications per group and date.

    Returns columns ``*by, date, n_replications, median, q05, q25, q75, q95``.
    """
    by_cols = as_list(by)
    df = with_date(national)
    require(df, [*by_cols, "replication", "date", value], "national")
    check_one_row(df, by_cols, ["date"], "national")
    return band_columns(df, [*by_cols, "date"], value, [OUTER_BAND, INNER_BAND])


def state_table(by_state: pd.DataFrame, by: str | Sequence[str] = "strategy",
                value: str = "available_share") -> pd.DataFrame:
    """Median and central 90 % interval per Land, group and date.

    Returns columns ``state, *by, date, n_replications, median, q05, q95``.
    """
    by_cols = as_list(by)
    df = with_date(by_state)
    require(df, ["state", *by_cols, "replication", "date", value], "by_state")
    geo.check_keys(df["state"].unique(), "land")
    check_one_row(df, by_cols, ["state", "date"], "by_state")
    return band_columns(df, ["state", *by_cols, "date"], value, [OUTER_BAND])


def select_dates(df: pd.DataFrame, dates: Sequence[object] | None) -> list[pd.Timestamp]:
    """Map dates: given ones (matched by month), else all if at most two, else the
    deadline month (if present) and the last date."""
    available = sorted(pd.to_datetime(df["date"].unique()))
    if dates is None:
        if len(available) <= 2:
            return list(available)
        deadline_month = OZG_DEADLINE_DATE.to_period("M")
        deadline = [d for d in available if d.to_period("M") == deadline_month]
        return [*deadline[:1], available[-1]] if deadline else [available[-1]]
    out = []
    for d in dates:
        month = pd.Timestamp(d).to_period("M")  # type: ignore[arg-type]
        hit = [a for a in available if a.to_period("M") == month]
        if not hit:
            raise ValueError(f"date {d!r} is not in the table; available: "
                             f"{[a.strftime('%Y-%m') for a in available]}")
        out.append(hit[0])
    return out


def map_table(regions: pd.DataFrame, level: geo.RegionLevel = "land",
              by: str | Sequence[str] = "strategy", value: str = "population_coverage",
              dates: Sequence[object] | None = None) -> pd.DataFrame:
    """Median across replications per region, group and map date.

    Returns columns ``*by, date, region, region_name, n_replications, median``; ``region``
    is the state abbreviation (``level="land"``) or the 5-digit Kreis key.
    """
    key = "state" if level == "land" else "kreis_ags"
    by_cols = as_list(by)
    df = with_date(regions)
    require(df, [key, *by_cols, "replication", "date", value],
            "by_state" if level == "land" else "by_kreis")
    df = df.assign(**{key: df[key].astype(str)})
    geo.check_keys(df[key].unique(), level)
    chosen = select_dates(df, dates)
    df = df[pd.to_datetime(df["date"]).isin(chosen)]
    check_one_row(df, by_cols, [key, "date"], "regions")
    out = band_columns(df, [*by_cols, "date", key], value, []).rename(columns={key: "region"})
    out.insert(out.columns.get_loc("region") + 1, "region_name",
               out["region"].map(geo.region_names(level)))
    return out


def summarise_kpi(kpis: pd.DataFrame, by: str | Sequence[str], kpi: str,
                  band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Median and interval of one KPI across replications per group.

    NaN means "not reached" (for ``months_to_*`` KPIs: the target within the horizon):
    such runs count as later than any other, and a median or bound that falls among them is
    NaN (shown as "not reached"); :func:`sim.bands.band_table` computes it.

    Returns columns ``*by, kpi, n_replications, n_reached, median, lo, hi``.
    """
    by_cols = as_list(by)
    require(kpis, [*by_cols, "replication", kpi], "kpis")
    check_one_row(kpis, by_cols, [], "kpis")
    table = bands.band_table(kpis, by_cols, kpi, band)
    table.columns = [*table.columns[:-2], "lo", "hi"]
    if by_cols:  # groups in display order
        rank = {k: i for i, k in enumerate(groups_of(kpis, by_cols))}
        order = [rank[tuple(r)] for r in table[by_cols].itertuples(index=False)]
        table = table.iloc[np.argsort(order, kind="stable")]
    table.insert(len(by_cols), "kpi", kpi)
    return table.reset_index(drop=True)


def cost_coverage_table(kpis: pd.DataFrame, by: str | Sequence[str] = "strategy",
                        x: str = "spent_eur_programmes",
                        y: str = COVERAGE_AT_DEADLINE,
                        band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Median and central interval of cost (x) and coverage (y) per group.

    Returns columns ``*by, n_replications, x_median, x_lo, x_hi, y_median, y_lo, y_hi``.
    """
    by_cols = as_list(by)
    a = summarise_kpi(kpis, by_cols, x, band)
    b = summarise_kpi(kpis, by_cols, y, band)
    out = a[[*by_cols, "n_replications"]].copy()
    for prefix, s in (("x", a), ("y", b)):
        out[f"{prefix}_median"] = s["median"].to_numpy()
        out[f"{prefix}_lo"] = s["lo"].to_numpy()
        out[f"{prefix}_hi"] = s["hi"].to_numpy()
    return out


def heatmap_table(df: pd.DataFrame, x: str, y: str, value: str,
                  facet: str | None = None) -> pd.DataFrame:
    """Median of ``value`` across replications per cell (``x``, ``y``, optional ``facet``).

    Rows without a ``replication`` column are taken as already summarised (one per cell).
    ``months_to_*`` values that were not reached count as later than any other.
    Returns columns ``[facet], y, x, n_replications, n_reached, median``.
    """
    keys = [c for c in (facet, y, x) if c is not None]
    require(df, [*keys, value], "heatmap data")
    if "replication" not in df.columns:
        if df.duplicated(keys).any():
            raise ValueError(f"heatmap data has several rows per cell {keys} and no "
                             "'replication' column")
        out = df[keys].copy()
        out["n_replications"] = np.nan
        out["n_reached"] = np.isfinite(df[value].to_numpy(dtype=float)).astype(int)
        out["median"] = df[value].to_numpy(dtype=float)
        return out.sort_values(keys).reset_index(drop=True)
    s = summarise_kpi(df, keys, value)
    return s[[*keys, "n_replications", "n_reached", "median"]]


# --------------------------------------------------------------------------------------
# Land differences, running costs, municipal size classes
# --------------------------------------------------------------------------------------

def state_difference_table(by_state: pd.DataFrame, factor: str, reference: object,
                           value: str = "population_coverage",
                           dates: Sequence[object] | None = None,
                           level: float = 0.95) -> pd.DataFrame:
    """Mean paired difference of ``value`` to the ``reference`` level per Land, level of
    ``factor`` and date, pairing runs on ``replication`` (common random numbers).

    ``by_state`` must hold one row per level, replication, Land and date (filter other
    varying design columns first). ``dates`` picks the dates by month (default: Dec 2022 and
    the last date). Returns columns ``state, state_name, <factor>, date, n_pairs, mean_a,
    mean_b, mean_diff, lo, hi, unpaired_lo, unpaired_hi`` (``a``: the level, ``b``: the
    reference; ``lo``/``hi``: paired t-interval at ``level``), Länder in official key
    order, levels in display order.
    """
    df = with_date(by_state)
    require(df, ["state", factor, "replication", "date", value], "by_state")
    geo.check_keys(df["state"].unique(), "land")
    if reference not in set(df[factor]):
        raise ValueError(f"reference(={reference!r}) is not a level of {factor!r}: "
                         f"{sorted(map(str, df[factor].unique()))}")
    chosen = select_dates(df, dates)
    df = df[pd.to_datetime(df["date"]).isin(chosen)]
    check_one_row(df, [factor], ["state", "date"], "by_state")
    levels = [v for v in ordered_levels(factor, df[factor].tolist()) if v != reference]
    parts = []
    for lv in levels:
        d = stats.paired_difference(df, factor=factor, a=lv, b=reference, value=value,
                                    keys=["replication", "state", "date"], level=level)
        parts.append(d.assign(**{factor: lv}))
    cols = ["state", "state_name", factor, "date", "n_pairs", "mean_a", "mean_b",
            "mean_diff", "lo", "hi", "unpaired_lo", "unpaired_hi"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["state_name"] = out["state"].map(geo.region_names("land"))
    state_rank = {k: i for i, k in enumerate(geo.region_keys("land"))}
    level_rank = {v: i for i, v in enumerate(levels)}
    out = out.sort_values(["date", factor, "state"],
                          key=lambda c: (c.map(level_rank) if c.name == factor else
                                         c.map(state_rank) if c.name == "state" else c))
    return out[cols].reset_index(drop=True)


def _complete_costs(costs: pd.DataFrame, factor: str, runs: pd.DataFrame | None,
                    with_year: bool, window: tuple[int, int]) -> pd.DataFrame:
    """One row per run (level, replication), payer (and year from the first year with costs,
    at the latest ``window[0]``, to the last of ``window`` and the data): missing
    combinations are 0."""
    payers = list(PAYER_PARTIES)
    pairs = (runs if runs is not None else costs)[[factor, "replication"]].drop_duplicates()
    idx = pairs.merge(pd.DataFrame({"payer": payers}), how="cross")
    keys = [factor, "replication", "payer"]
    if with_year:
        y = costs["year"].dropna()
        y0 = min(int(y.min()), window[0]) if len(y) else window[0]
        y1 = max(int(y.max()), window[1]) if len(y) else window[1]
        years = pd.DataFrame({"year": range(y0, y1 + 1)})
        idx = idx.merge(years, how="cross")
        keys.append("year")
    summed = costs.groupby(keys, as_index=False)["eur"].sum()
    out = idx.merge(summed, on=keys, how="left")
    out["eur"] = out["eur"].fillna(0.0)
    return out


def running_costs_table(costs: pd.DataFrame, factor: str, years: tuple[int, int] = (2023, 2030),
                        runs: pd.DataFrame | None = None,
                        band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Running costs per level of ``factor``: by payer over ``years`` and per year.

    ``costs``: one row per run, payer (``land``, ``municipal``, ``bund``, ``pool``) and year
    (``<factor>, replication, year, payer, eur``), e.g. the sweep's ``running_costs``
    table; without a ``year`` column the rows are taken as totals over the whole horizon
    (then ``years`` is ignored and there are no yearly rows). ``runs`` (``<factor>,
    replication``) lists every run, so a run without costs counts as 0.

    Returns long columns ``panel`` (``total``: sum over the years per payer, payer
    ``total`` the sum of all; ``year``: yearly total of all payers), ``<factor>, payer,
    year, n_replications, median, q05, q95`` (EUR; ``year`` NaN in the ``total`` panel).
    """
    with_year = "year" in costs.columns
    require(costs, [factor, "replication", "payer", "eur", *(["year"] if with_year else [])],
            "running costs")
    unknown = set(costs["payer"]) - set(PAYER_PARTIES)
    if unknown:
        raise ValueError(f"running costs: payer(s) {sorted(unknown)} not among "
                         f"{list(PAYER_PARTIES)}")
    full = _complete_costs(costs, factor, runs, with_year, years)
    check_one_row(full, [factor], ["payer", *(["year"] if with_year else [])],
                  "running costs")
    span = full[full["year"].between(*years)] if with_year else full
    per_run = span.groupby([factor, "replication", "payer"], as_index=False)["eur"].sum()
    total = per_run.groupby([factor, "replication"], as_index=False)["eur"].sum()
    parts = [per_run, total.assign(payer="total")]
    lo, hi = band

    def summary(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        out = bands.band_table(df, keys, "eur", [lo, hi]).drop(columns="n_reached")
        out.columns = [*out.columns[:-2], "q05", "q95"]
        return out

    tot = summary(pd.concat(parts, ignore_index=True), [factor, "payer"]).assign(
        panel="total", year=np.nan)
    out = [tot]
    if with_year:
        yearly = full.groupby([factor, "replication", "year"], as_index=False)["eur"].sum()
        out.append(summary(yearly, [factor, "year"]).assign(panel="year", payer="total"))
    table = pd.concat(out, ignore_index=True)
    levels = ordered_levels(factor, table[factor].tolist())
    rank = {v: i for i, v in enumerate(levels)}
    prank = {p: i for i, p in enumerate([*PAYER_PARTIES, "total"])}
    table = table.assign(_l=table[factor].map(rank), _p=table["payer"].map(prank),
                         _y=table["year"].fillna(-1), _panel=table["panel"] == "year")
    table = table.sort_values(["_panel", "_l", "_p", "_y"]).drop(
        columns=["_l", "_p", "_y", "_panel"])
    return table[["panel", factor, "payer", "year", "n_replications", "median", "q05",
                  "q95"]].reset_index(drop=True)


def size_class_table(by_size: pd.DataFrame, by: str | Sequence[str], value: str = "onboarded_share",
                     dates: Sequence[object] | None = None,
                     band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Median and central interval of ``value`` per municipal size class, group and date.

    Size classes without administrations (``n_admins`` 0) are left out. ``dates`` picks
    the dates by month (default: Dec 2022 and the last date). Returns columns ``*by,
    date, size_class, n_replications, median, q05, q95``, size classes from small to large.
    """
    by_cols = as_list(by)
    df = with_date(by_size)
    require(df, [*by_cols, "replication", "date", "size_class", value], "by_size_class")
    unknown = set(df["size_class"]) - set(SIZE_CLASSES)
    if unknown:
        raise ValueError(f"by_size_class: size class(es) {sorted(unknown)} not among "
                         f"{list(SIZE_CLASSES)}")
    if "n_admins" in df.columns:
        df = df[df["n_admins"] > 0]
    chosen = select_dates(df, dates)
    df = df[pd.to_datetime(df["date"]).isin(chosen)]
    check_one_row(df, by_cols, ["size_class", "date"], "by_size_class")
    out = bands.band_table(df, [*by_cols, "date", "size_class"], value, band).drop(
        columns="n_reached")
    out.columns = [*out.columns[:-2], "q05", "q95"]
    keys = groups_of(out, by_cols)
    grank = {k: i for i, k in enumerate(keys)}
    crank = {c: i for i, c in enumerate(SIZE_CLASSES)}
    out["_g"] = [grank[tuple(r)] for r in out[by_cols].itertuples(index=False)]
    out["_c"] = out["size_class"].map(crank)
    out = out.sort_values(["date", "_g", "_c"]).drop(columns=["_g", "_c"])
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# The run chart
# --------------------------------------------------------------------------------------

def quantile_bands(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Median and 5-95 % band of ``col`` across replications, per date.

    Returns columns ``date, median, lo, hi``.
    """
    t = bands.band_table(df, ["date"], col, OUTER_BAND)
    t.columns = [*t.columns[:-2], "lo", "hi"]
    return t[["date", "median", "lo", "hi"]]


def coverage_table(national: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """Exactly what :func:`sim.figures.run.coverage_figure` plots: median and 5-95 % band
    per series and date, and the observed points (``kind="observed"``, value in
    ``median``)."""
    cols = ["online_anywhere", "nationwide", "nationwide_reported", "population_coverage"]
    parts = [quantile_bands(national, col).assign(series=col, kind="model")
             for col in cols if col in national.columns]
    nat = "nationwide_reported" if "nationwide_reported" in national.columns else "nationwide"
    if history is not None:
        for metric, series in (("ozg_leistungen_online_min1", "online_anywhere"),
                               ("ozg_leistungen_flaechendeckend", nat)):
            h = history[(history["geo"] == "DE") & (history["metric"] == metric)]
            if "source_kind" in h.columns:  # as the chart: the dashboard's own counts
                h = h[h["source_kind"] == "dashboard"]
            parts.append(pd.DataFrame({"date": h["date"], "median": h["value"],
                                       "series": series, "kind": "observed"}))
    out = pd.concat(parts, ignore_index=True)
    return out[["series", "kind", "date", "median", "lo", "hi"]]


# --------------------------------------------------------------------------------------
# The rollout timeline
# --------------------------------------------------------------------------------------

#: Milestones of an experiment's timeline per topic field (``by_topic``: sweeps keep no
#: events): the column that counts the services reaching it.
TOPIC_COVERAGE_MILESTONES = {"online_anywhere": "online_anywhere", "nationwide": "nationwide"}
TIMELINE_COLUMNS = ["panel", "lane", "series", "n_services", "n_replications", "n_reached",
                    "median", "q05", "q95", "median_date", "q05_date", "q95_date"]


def _band_rows(per_run: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Median and 5-95 % of ``time`` across replications per ``keys`` (not reached = NaN,
    ranked last), with the month of each as ``YYYY-MM``."""
    out = bands.band_table(per_run, keys, "time", OUTER_BAND)
    out.columns = [*out.columns[:-2], "q05", "q95"]
    for col in ("median", "q05", "q95"):
        out[f"{col}_date"] = [month_date(v) for v in out[col]]
    return out


def timeline_table(events: pd.DataFrame, services: pd.DataFrame,
                   replications: Sequence[int] | None = None,
                   share: float = TIMELINE_SHARE) -> pd.DataFrame:
    """Exactly what the run's timeline draws: per lane and milestone
    (:mod:`sim.milestones`), the month (since 2018-01, a float) by which ``share`` of the
    lane's services had reached the milestone, as the median and 5-95 % band across
    replications (not reached within the horizon: NaN, ranked after every run that did:
    :func:`sim.bands.band_table`).

    Parameters
    ----------
    events : DataFrame
        ``events.parquet`` of a run (``replication, time_months, event, ozg_id, actor``).
    services : DataFrame
        ``services.csv`` of the run (``ozg_id, topic, executor``): the lanes' services.
    replications : sequence of int, optional
        Every replication of the run (default: those with events), so a run without any
        event of a milestone counts as not reaching it.

    Returns
    -------
    DataFrame
        Columns :data:`TIMELINE_COLUMNS`; ``series`` is the milestone, ``median``, ``q05``,
        ``q95`` months since 2018-01 and ``*_date`` the same as ``YYYY-MM``.
    """
    require(events, ["replication", "time_months", "event", "ozg_id", "actor"], "events")
    require(services, ["ozg_id", "topic", "executor"], "services")
    reps = sorted(events["replication"].unique()) if replications is None else list(
        replications)
    check_one_row(pd.DataFrame({"replication": reps}), [], [], "events")
    return milestone_table(milestone_times(events, services, reps, share=share))


def milestone_table(milestones: pd.DataFrame, by: str | Sequence[str] = ()) -> pd.DataFrame:
    """Bands across replications of per-run milestones (:func:`sim.milestones.
    milestone_times`, a sweep's ``milestones`` table) per group of ``by`` (none for a run),
    lane and milestone, in the lanes' and milestones' order of the table.

    Returns columns ``*by`` and :data:`TIMELINE_COLUMNS`.
    """
    by_cols = as_list(by)
    require(milestones, [*by_cols, *MILESTONE_COLUMNS], "milestones")
    check_one_row(milestones, [*by_cols, "panel", "lane", "series"], [], "milestones")
    keys = [*by_cols, "panel", "lane", "series", "n_services"]
    if milestones.empty:
        return pd.DataFrame(columns=[*by_cols, *TIMELINE_COLUMNS])
    order = milestones[keys].drop_duplicates().reset_index(drop=True)
    out = _band_rows(milestones, keys)
    out = order.merge(out, on=keys, how="left", validate="one_to_one")
    return out[[*by_cols, *TIMELINE_COLUMNS]]


def topic_timeline_table(by_topic: pd.DataFrame, by: str | Sequence[str] = "strategy",
                         share: float = TIMELINE_SHARE) -> pd.DataFrame:
    """Exactly what an experiment's timeline draws (sweeps keep ``by_topic``, not the
    events): per group, topic field and milestone :data:`TOPIC_COVERAGE_MILESTONES`, the
    month by whose end ``share`` of the topic's services were online somewhere /
    nationwide, as the median and 5-95 % band across replications (not reached within the
    horizon: NaN, ranked last).

    Returns columns ``*by`` and :data:`TIMELINE_COLUMNS` (``panel``: the milestone;
    ``lane``: the topic field; ``series``: the group as ``by``'s values joined by ``|``).
    """
    by_cols = as_list(by)
    require(by_topic, [*by_cols, "replication", "month", "topic", "n_services",
                       *TOPIC_COVERAGE_MILESTONES.values()], "by_topic")
    if not 0 < share <= 1:
        raise ValueError(f"share(={share}) must be in (0, 1]")
    check_one_row(by_topic, by_cols, ["topic", "month"], "by_topic")
    keys = [*by_cols, "replication", "topic"]
    parts = []
    for name, col in TOPIC_COVERAGE_MILESTONES.items():
        need = np.ceil(share * by_topic["n_services"].to_numpy(dtype=float) - 1e-9)
        hit = by_topic[by_topic[col].to_numpy(dtype=float) >= np.maximum(need, 1)]
        first = hit.groupby(keys, observed=True)["month"].min().rename("time")
        runs = by_topic[[*keys, "n_services"]].drop_duplicates(keys)
        per_run = runs.merge(first.reset_index(), on=keys, how="left")
        out = _band_rows(per_run, [*by_cols, "topic"])
        n = runs.groupby("topic")["n_services"].first()
        parts.append(out.assign(panel=name, n_services=out["topic"].map(n)))
    table = pd.concat(parts, ignore_index=True).rename(columns={"topic": "lane"})
    table["series"] = ["|".join(map(str, r)) for r in table[by_cols].itertuples(index=False)]
    return table[[*by_cols, *TIMELINE_COLUMNS]]


__all__ = [
    "as_list",
    "band_columns",
    "check_one_row",
    "cost_coverage_table",
    "coverage_table",
    "fan_table",
    "heatmap_table",
    "map_table",
    "milestone_table",
    "quantile_bands",
    "require",
    "running_costs_table",
    "select_dates",
    "size_class_table",
    "state_difference_table",
    "state_table",
    "summarise_kpi",
    "timeline_table",
    "topic_timeline_table",
    "with_date",
]
