"""From the raw arrays of a replication to tidy tables (one row per replication and month).

Definitions (as the official counts of the OZG dashboard; MODEL.md 7.10 for how the model
reads "flächendeckend"):

- **online_anywhere**: the service can be used somewhere: a federal service is online, a
  state-executed service is available in at least one Land, a municipally executed one is
  connected by at least one administration.
- **nationwide** (flächendeckend): available in every Land and, if municipally executed, in
  every municipal administration.
- **population_coverage**: share of (inhabitant, service) pairs for which the service is
  usable online, i.e. the mean over services of the share of the population it reaches.

A state "at month m" counts every event with time ``t < m + 1`` (end of the month).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sim import bands
from sim.calendar import (
    OZG_DEADLINE,
    OZG_DEADLINE_DATE,
    OZG_DEADLINE_KEY,
    OZG_DEADLINE_MONTH,
    month_date,
    month_end_dates,
    month_index,
    month_start_dates,
)
from sim.model import EVENT_NAMES, RunResult
from sim.outputs import TABLE_BY_NAME
from sim.params import ObservationParams
from sim.world import FEDERAL, MUNICIPAL, SIZE_CLASS_LABELS, World, stable_rank

#: Default months for which Kreis-level coverage is tabulated (for maps), besides the last.
MAP_MONTHS = (OZG_DEADLINE, "2026-12")
TARGETS = (0.5, 0.9, 1.0)
#: Columns of ``national`` taken at the deadline as headline key figures, in the order of
#: ``kpis.csv``: first the count comparable to the official record (the dashboard's
#: nationwide count), then online somewhere, nationwide in the model's strict sense, its
#: share and population coverage.
HEADLINE_COLUMNS = ("nationwide_reported", "online_anywhere", "nationwide",
                    "nationwide_share", "population_coverage")
#: Definitions of the columns of ``national`` (:data:`sim.outputs.OUTPUT_TABLES`).
NATIONAL_TEXT = {c.name: c.text for c in TABLE_BY_NAME["national"].values}
#: Definitions of the key figures that are neither deadline counts nor months to a target.
KPI_TEXT = {
    "spent_eur_programmes": "money paid by all funding programmes (not own funds, not "
                            "running costs)",
    "spent_eur_own_funds": "development money the builders paid from their own funds",
    "spent_eur_running_costs": "running costs paid, all payers",
    "cost_per_coverage_point_eur": "`spent_eur_programmes` over the population coverage "
                                   f"at {OZG_DEADLINE} in percentage points",
}
#: Definitions of families of key figures by name prefix (the rest of the name follows).
KPI_PREFIX_TEXT = {
    "budget_eur_": "budget of the funding programme",
    "committed_eur_": "money committed by agreements (called or not) of the programme",
    "spent_eur_": "money paid by the funding programme",
    "running_costs_eur_": "running costs paid by the payer",
}
#: The quantiles of a month-valued key figure that :func:`summarise_kpis` also gives as a
#: calendar month (``<stat>_date``, ``YYYY-MM``). Not the mean: a mean of months is a
#: point between months, not a month anybody can look up.
DATE_STATS = ("median", "q05", "q95")
#: Columns of ``kpis.csv`` (:func:`summarise_kpis`), in order.
KPI_SUMMARY_COLUMNS = ("kpi", "unit", "mean", "median", "q05", "q95", "n_replications",
                       "n_reached", *(f"{stat}_date" for stat in DATE_STATS), "definition")


def _month(t: np.ndarray, horizon: int) -> np.ndarray:
    """Month row from which an event at time t counts (``horizon`` = never)."""
    m = np.floor(np.where(np.isfinite(t), t, horizon)).astype(np.int64)
    return np.clip(m, 0, horizon)


def _cum(group: np.ndarray, t: np.ndarray, n_groups: int, horizon: int,
         weights: np.ndarray | None = None) -> np.ndarray:
    """Cumulative (weighted) count per group and month: shape (n_groups, horizon)."""
    idx = group.astype(np.int64) * (horizon + 1) + _month(t, horizon)
    h = np.bincount(idx.ravel(), weights=None if weights is None else weights.ravel(),
                    minlength=n_groups * (horizon + 1))
    return np.cumsum(h.reshape(n_groups, horizon + 1), axis=1)[:, :horizon]


class Coverage:
    """Per-service and per-Land availability times of one replication, and their curves."""

    def __init__(self, world: World, r: RunResult) -> None:
        self.world, self.r = world, r
        self.H = r.horizon_months
        svc = world.services
        self.executor = svc["executor"].to_numpy()
        self.muni = world.municipal_services
        S, L = world.n_services, world.n_states
        ta = r.t_admin
        # Per (service, Land): fully available (all administrations, if municipal) and
        # available anywhere in the Land.
        self.t_full = r.t_state.copy()
        self.t_any_state = r.t_state.copy()
        for li, (a0, a1) in enumerate(world.admin_slices):
            if a1 > a0 and len(self.muni):
                self.t_full[self.muni, li] = ta[:, a0:a1].max(axis=1)
                self.t_any_state[self.muni, li] = ta[:, a0:a1].min(axis=1)
        self.t_nationwide = everywhere(self.t_full)
        self.t_anywhere = self.t_any_state.min(axis=1) if L else np.full(S, np.inf)
        self.pop_state = world.states["population"].to_numpy().astype(float)
        self.pop_admin = world.admins["population"].to_numpy().astype(float)
        self.admin_state = world.admins["state"].to_numpy()

    def t_full_at(self, population_share: float) -> np.ndarray:
        """(S, L): when each service reaches ``population_share`` of each Land's population.

        A federal or state-executed service reaches all of it when it is available in the
        Land; a municipally executed one when the administrations that connected it hold
        that share. ``population_share >= 1`` gives :attr:`t_full` (every administration).
        """
        if population_share >= 1.0:
            return self.t_full
        out = self.t_full.copy()
        ta = self.r.t_admin
        for li, (a0, a1) in enumerate(self.world.admin_slices):
            if a1 <= a0 or not len(self.muni):
                continue
            t = ta[:, a0:a1]
            order = np.argsort(t, axis=1, kind="stable")
            ts = np.take_along_axis(t, order, axis=1)
            cum = np.cumsum(self.pop_admin[a0:a1][order], axis=1)
            need = population_share * cum[:, -1] - 1e-9
            first = np.argmax(cum >= need[:, None], axis=1)
            out[self.muni, li] = ts[np.arange(len(self.muni)), first]
        return out

    def t_reported(self, obs: ObservationParams, full: np.ndarray | None = None
                   ) -> np.ndarray:
        """(S, L): when each service enters each Land's official "flächendeckend" count as
        the dashboard reads it (MODEL.md 7.10): a listed federal service when it is online
        (in every Land at once; :func:`listed_federal`), a non-federal one when it reaches
        ``obs.full_population_share`` of the Land (:meth:`t_full_at`); never for an
        unlisted federal service. ``full``: :meth:`t_full_at` of the share, if already
        computed."""
        out = (self.t_full_at(obs.full_population_share) if full is None else full).copy()
        fed = self.executor == FEDERAL
        out[fed & ~listed_federal(self.world, obs.federal_listed_share)] = np.inf
        return out

    def service_population_curves(self) -> np.ndarray:
        """(S, H): population reached by each service at the end of each month."""
        S, L, H = self.world.n_services, self.world.n_states, self.H
        non_muni = np.flatnonzero(self.executor != MUNICIPAL)
        cov = np.zeros((S, H))
        if len(non_muni):
            ts = self.r.t_state[non_muni]
            grp = np.repeat(np.arange(len(non_muni)), L)
            w = np.tile(self.pop_state, len(non_muni))
            cov[non_muni] = _cum(grp, ts.ravel(), len(non_muni), H, w)
        if len(self.muni):
            A = self.world.n_admins
            grp = np.repeat(np.arange(len(self.muni)), A)
            w = np.tile(self.pop_admin, len(self.muni))
            cov[self.muni] = _cum(grp, self.r.t_admin.ravel(), len(self.muni), H, w)
        return cov

    def state_population_curves(self) -> np.ndarray:
        """(L, H): sum over services of the population reached within each Land."""
        L, H = self.world.n_states, self.H
        non_muni = self.executor != MUNICIPAL
        ts = self.r.t_state[non_muni]  # (S', L)
        grp = np.tile(np.arange(L), ts.shape[0])
        out = _cum(grp, ts.ravel(), L, H) * self.pop_state[:, None]
        if len(self.muni):
            grp = np.tile(self.admin_state, len(self.muni))
            w = np.tile(self.pop_admin, len(self.muni))
            out += _cum(grp, self.r.t_admin.ravel(), L, H, w)
        return out


def everywhere(t: np.ndarray) -> np.ndarray:
    """(S,): when each service is in every Land, from (S, L) times (``inf`` if never or if
    the world has no Land)."""
    return t.max(axis=1) if t.shape[1] else np.full(t.shape[0], np.inf)


def listed_federal(world: World, share: float) -> np.ndarray:
    """(S,) bool: the federal services the dashboard lists, ``share`` of the world's federal
    services (rounded) first by a salted stable hash of their id."""
    fed = np.flatnonzero(world.services["executor"].to_numpy() == FEDERAL)
    out = np.zeros(world.n_services, dtype=bool)
    if len(fed):
        rank = stable_rank(world.services["ozg_id"].to_numpy()[fed], salt="dashboard:")
        out[fed[rank < round(share * len(fed))]] = True
    return out


def tables_for_replication(world: World, r: RunResult,
                           map_dates: Sequence[str] = MAP_MONTHS,
                           observation: ObservationParams | None = None,
                           observables: bool = False,
                           names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """All tidy tables of one replication (``by_kreis`` at ``map_dates`` and the last month),
    as declared in :mod:`sim.outputs`; with ``observables`` also the ``observables`` table
    that a sweep's run record keeps (:func:`observables_table`); with ``names`` only those
    tables (the same as in the full set: the what-if workbench computes only what it shows).

    ``observation`` is the measurement model of the official counts (default: the
    documented rules of :class:`~sim.params.ObservationParams`), used only for the
    ``*_reported`` columns and the observables.
    """
    c = Coverage(world, r)
    svc_cov = c.service_population_curves() / float(c.pop_admin.sum())  # (S, H) national
    obs = observation or ObservationParams()
    reported = c.t_reported(obs)
    makers: dict[str, Callable[[], pd.DataFrame]] = {
        "national": lambda: _national(world, r, c, svc_cov, reported),
        "by_state": lambda: _by_state(world, r, c, reported),
        "by_topic": lambda: _by_topic(world, r, c, svc_cov),
        "by_size_class": lambda: _by_size_class(world, r, c),
        "by_kreis": lambda: _by_kreis(world, r, c, map_dates),
        "events": lambda: _events(world, r, c), "spending": lambda: _spending(r)}
    out = {name: make() for name, make in makers.items() if names is None or name in names}
    if observables:
        out["observables"] = observables_table(world, r, obs, c)
    return out


# --------------------------------------------------------------------------- observables

#: Observable series of the official record (the calibration's observables, MODEL.md
#: 7.10): national kinds, and per-Land kinds (``kind:XX``).
NATIONAL_KINDS = ("online_anywhere", "federal_online", "nationwide_reported",
                  "nationwide_nonfederal")
LAND_KINDS = ("reported_in_land", "online_in_land")


def observable_series(world: World) -> list[str]:
    """Every observable series of ``world``: the national kinds (``federal_online`` only
    if the world has federal services), then each per-Land kind for every Land."""
    n_fed = int((world.services["executor"].to_numpy() == FEDERAL).sum())
    national = [k for k in NATIONAL_KINDS if not (k == "federal_online" and n_fed == 0)]
    codes = list(world.states["state"])
    return national + [f"{kind}:{code}" for kind in LAND_KINDS for code in codes]


def series_shares(world: World, r: RunResult, series: Sequence[str],
                  observation: ObservationParams | None = None,
                  coverage: Coverage | None = None) -> np.ndarray:
    """(len(series), H): share of services of each series' scope at the end of each month
    (a state at month ``m`` counts every time ``t < m + 1``, as the tables).

    Series (:func:`observable_series`; MODEL.md 7.10): ``online_anywhere`` (all services
    online somewhere), ``federal_online`` (federal services online),
    ``nationwide_reported`` (the dashboard's nationwide count, all services),
    ``nationwide_nonfederal`` (the NKR's: non-federal services fully available in every
    Land), ``reported_in_land:XX`` (the dashboard's count of Land ``XX``, all services),
    ``online_in_land:XX`` (services online somewhere in Land ``XX``). ``observation``: the
    measurement model (:class:`sim.params.ObservationParams`; default its documented
    rules). ``coverage``: the replication's :class:`Coverage`, if already built.
    """
    obs = observation or ObservationParams()
    c = coverage if coverage is not None else Coverage(world, r)
    full = c.t_full_at(obs.full_population_share)
    reported = c.t_reported(obs, full)
    fed = c.executor == FEDERAL
    codes = list(world.states["state"])
    H = r.horizon_months
    edges = np.arange(1, H + 1, dtype=float)
    out = np.zeros((len(series), H))
    for i, sid in enumerate(series):
        kind, _, geo = sid.partition(":")
        if kind == "online_anywhere":
            t = c.t_anywhere
        elif kind == "federal_online":
            t = c.t_anywhere[fed]
        elif kind == "nationwide_reported":
            t = everywhere(reported)
        elif kind == "nationwide_nonfederal":
            t = everywhere(full[~fed])
        elif kind == "reported_in_land":
            t = reported[:, codes.index(geo)]
        elif kind == "online_in_land":
            t = c.t_any_state[:, codes.index(geo)]
        else:
            raise ValueError(f"series(={sid!r}) is not known")
        if len(t):
            out[i] = np.searchsorted(np.sort(t), edges, side="left") / len(t)
    return out


def observables_table(world: World, r: RunResult,
                      observation: ObservationParams | None = None,
                      coverage: Coverage | None = None) -> pd.DataFrame:
    """Every observable series of the world (:func:`observable_series`) at the end of every
    month, long: ``replication``, ``month``, ``date``, ``series`` (categorical), ``share``."""
    series = observable_series(world)
    shares = series_shares(world, r, series, observation, coverage)
    H = r.horizon_months
    return pd.DataFrame({
        "replication": np.full(len(series) * H, r.replication, dtype=np.int64),
        "month": np.tile(np.arange(H, dtype=np.int64), len(series)),
        "date": np.tile(month_end_dates(H), len(series)),
        "series": pd.Categorical(np.repeat(series, H), categories=series),
        "share": shares.ravel()})


def _national(world: World, r: RunResult, c: Coverage, svc_cov: np.ndarray,
              t_reported: np.ndarray) -> pd.DataFrame:
    """Services online somewhere and nationwide, and population coverage, per month;
    ``t_reported`` (S, L) from :meth:`Coverage.t_reported`."""
    H, S = r.horizon_months, world.n_services
    one = np.zeros(S, dtype=np.int64)
    anywhere = _cum(one, c.t_anywhere, 1, H)[0]
    nationwide = _cum(one, c.t_nationwide, 1, H)[0]
    # In the official count nationwide = counted in every Land, so never above any Land.
    reported = _cum(one, everywhere(t_reported), 1, H)[0]
    return pd.DataFrame({
        "replication": r.replication, "month": np.arange(H), "date": month_end_dates(H),
        "online_anywhere": anywhere.astype(np.int64),
        "nationwide": nationwide.astype(np.int64),
        "online_anywhere_share": anywhere / S, "nationwide_share": nationwide / S,
        "population_coverage": svc_cov.mean(axis=0),
        "nationwide_reported": reported.astype(np.int64), "n_services": S})


def _by_state(world: World, r: RunResult, c: Coverage, t_reported: np.ndarray
              ) -> pd.DataFrame:
    """Services available everywhere and somewhere in each Land, the Land's official
    count (``t_reported`` from :meth:`Coverage.t_reported`), and its coverage."""
    H, S, L = r.horizon_months, world.n_services, world.n_states
    dates = month_end_dates(H)
    lands = np.tile(np.arange(L), S)
    full = _cum(lands, c.t_full.ravel(), L, H)
    any_in = _cum(lands, c.t_any_state.ravel(), L, H)
    reported = _cum(lands, t_reported.ravel(), L, H)
    pop_cov = c.state_population_curves() / (S * np.maximum(c.pop_state, 1.0))[:, None]
    codes = world.states["state"].to_numpy()
    return pd.DataFrame({
        "replication": r.replication, "month": np.tile(np.arange(H), L),
        "date": np.tile(dates, L), "state": np.repeat(codes, H),
        "available": full.ravel().astype(np.int64),
        "online_anywhere_in_state": any_in.ravel().astype(np.int64),
        "available_share": full.ravel() / S,
        "available_reported": reported.ravel().astype(np.int64),
        "population_coverage": pop_cov.ravel(), "n_services": S})


def _by_topic(world: World, r: RunResult, c: Coverage, svc_cov: np.ndarray) -> pd.DataFrame:
    """The national counts and coverage within each topic field."""
    H = r.horizon_months
    dates = month_end_dates(H)
    topic = world.services["topic"].to_numpy()
    T = len(world.topics)
    n_t = np.bincount(topic, minlength=T)
    t_any = _cum(topic, c.t_anywhere, T, H)
    t_nat = _cum(topic, c.t_nationwide, T, H)
    t_cov = np.zeros((T, H))
    np.add.at(t_cov, topic, svc_cov)
    return pd.DataFrame({
        "replication": r.replication, "month": np.tile(np.arange(H), T),
        "date": np.tile(dates, T), "topic": np.repeat(world.topics["topic"].to_numpy(), H),
        "online_anywhere": t_any.ravel().astype(np.int64),
        "nationwide": t_nat.ravel().astype(np.int64),
        "nationwide_share": (t_nat / np.maximum(n_t, 1)[:, None]).ravel(),
        "population_coverage": (t_cov / np.maximum(n_t, 1)[:, None]).ravel(),
        "n_services": np.repeat(n_t, H)})


def _by_size_class(world: World, r: RunResult, c: Coverage) -> pd.DataFrame:
    """Connected administration × municipal service pairs per municipal size class."""
    H = r.horizon_months
    dates = month_end_dates(H)
    size = world.admins["size_class"].to_numpy()
    C = len(SIZE_CLASS_LABELS)
    Sm = len(c.muni)
    n_c = np.bincount(size, minlength=C)
    pop_c = np.bincount(size, weights=c.pop_admin, minlength=C)
    grp = np.tile(size, Sm)
    done = _cum(grp, r.t_admin.ravel(), C, H)
    done_pop = _cum(grp, r.t_admin.ravel(), C, H, np.tile(c.pop_admin, Sm))
    denom_n = np.maximum(n_c * Sm, 1)[:, None]
    denom_p = np.maximum(pop_c * Sm, 1)[:, None]
    return pd.DataFrame({
        "replication": r.replication, "month": np.tile(np.arange(H), C),
        "date": np.tile(dates, C), "size_class": np.repeat(np.asarray(SIZE_CLASS_LABELS), H),
        "onboarded_share": (done / denom_n).ravel(),
        "population_coverage": (done_pop / denom_p).ravel(),
        "n_admins": np.repeat(n_c, H), "n_municipal_services": Sm})


def map_months(horizon: int, map_dates: Sequence[str] = MAP_MONTHS) -> list[int]:
    """Month rows tabulated by Kreis: ``map_dates`` within the horizon, and the last."""
    months = {month_index(m) for m in map_dates if month_index(m) < horizon}
    return sorted(months | {horizon - 1})


def _by_kreis(world: World, r: RunResult, c: Coverage,
              map_dates: Sequence[str] = MAP_MONTHS) -> pd.DataFrame:
    """Population coverage per Kreis at the map months (for maps)."""
    H = r.horizon_months
    kreis, k_idx = np.unique(world.admins["kreis_ags"].to_numpy(), return_inverse=True)
    K = len(kreis)
    k_pop = np.bincount(k_idx, weights=c.pop_admin, minlength=K)
    k_state = np.zeros(K, dtype=np.int64)
    k_state[k_idx] = c.admin_state
    non_muni = c.executor != MUNICIPAL
    S = world.n_services
    months = map_months(H, map_dates)
    cov = np.zeros((len(months), K))
    for i, m in enumerate(months):
        n_avail = (r.t_state[non_muni] < m + 1).sum(axis=0)  # per Land
        covered = n_avail[k_state] * k_pop
        if len(c.muni):
            done = (r.t_admin < m + 1).sum(axis=0) * c.pop_admin
            covered = covered + np.bincount(k_idx, weights=done, minlength=K)
        cov[i] = covered / (S * np.maximum(k_pop, 1.0))
    dates = month_end_dates(H)[months]
    return pd.DataFrame({
        "replication": r.replication, "month": np.repeat(months, K),
        "date": np.repeat(dates, K), "kreis_ags": np.tile(kreis, len(months)),
        "population": np.tile(k_pop, len(months)).astype(np.int64),
        "population_coverage": cov.ravel()})


def _events(world: World, r: RunResult, c: Coverage) -> pd.DataFrame:
    ozg = world.services["ozg_id"].to_numpy()
    topic_name = world.services["topic_name"].to_numpy()
    rows_t, rows_ev, rows_s, rows_actor, rows_detail = [], [], [], [], []
    for time_m, code, service, actor, detail in r.events:
        rows_t.append(time_m)
        rows_ev.append(EVENT_NAMES[code])
        rows_s.append(service)
        rows_actor.append(actor)
        rows_detail.append(detail)
    codes = world.states["state"].to_numpy()
    for label, arr in (("municipal_first_onboarded", c.t_any_state),
                       ("municipal_all_onboarded", c.t_full)):
        sub = arr[c.muni]
        si, li = np.nonzero(np.isfinite(sub))
        rows_t.extend(sub[si, li].tolist())
        rows_ev.extend([label] * len(si))
        rows_s.extend(c.muni[si].tolist())
        rows_actor.extend(codes[li].tolist())
        rows_detail.extend([""] * len(si))
    t = np.asarray(rows_t, dtype=float)
    s = np.asarray(rows_s, dtype=np.int64)
    df = pd.DataFrame({"replication": r.replication, "time_months": t,
                       "date": month_start_dates(t), "event": rows_ev,
                       "ozg_id": ozg[s] if len(s) else np.zeros(0, dtype=np.int64),
                       "topic": topic_name[s] if len(s) else np.zeros(0, dtype=object),
                       "actor": rows_actor, "detail": rows_detail})
    return df.sort_values(["time_months", "event", "ozg_id", "actor"],
                          kind="stable").reset_index(drop=True)


def _spending(r: RunResult) -> pd.DataFrame:
    cols = ["time_months", "programme", "actor", "eur", "purpose"]
    df = pd.DataFrame(r.spending, columns=cols)
    df.insert(0, "replication", r.replication)
    df.insert(2, "date", month_start_dates(df["time_months"].to_numpy()))
    df = df.sort_values(["time_months", "programme", "actor", "purpose"], kind="stable")
    return df.reset_index(drop=True).astype({"eur": float})


def kpis_for_replication(national: pd.DataFrame, spending: pd.DataFrame,
                         budgets: list[tuple[str, str, float]],
                         commitments: Sequence[tuple[str, str, float, str]] = (),
                         ) -> dict[str, float]:
    """Key figures of one replication (NaN where not reached within the horizon).

    Per programme: its budget, the money its agreements committed (``committed_eur_*``,
    called or not) and the money it paid (``spent_eur_*``)."""
    H = len(national)
    m = OZG_DEADLINE_MONTH
    k: dict[str, float] = {}
    row = national.iloc[m] if m < H else None
    for col in HEADLINE_COLUMNS:
        k[f"{col}_{OZG_DEADLINE_KEY}"] = (float(row[col]) if row is not None and col in row
                                          else np.nan)
    for col in ("population_coverage", "nationwide_share"):
        v = national[col].to_numpy()
        for target in TARGETS:
            hit = np.flatnonzero(v >= target - 1e-12)
            k[f"months_to_{int(target * 100)}pct_{col}"] = float(hit[0]) if len(hit) else np.nan
    programmes = sorted({b[0] for b in budgets})
    for p in programmes:
        k[f"budget_eur_{p}"] = float(sum(b[2] for b in budgets if b[0] == p))
    for p in programmes:
        k[f"committed_eur_{p}"] = float(sum(c[2] for c in commitments if c[0] == p))
    for p in [*programmes, "own_funds", "running_costs"]:
        k[f"spent_eur_{p}"] = float(spending.loc[spending["programme"] == p, "eur"].sum())
    run = spending[spending["programme"] == "running_costs"]
    for payer in ("land", "municipal", "bund", "pool"):
        k[f"running_costs_eur_{payer}"] = (float(
            run.loc[run["purpose"] == f"running_costs_{payer}", "eur"].sum())
            if "purpose" in run else 0.0)
    funded = spending.loc[~spending["programme"].isin(["own_funds", "running_costs"]),
                          "eur"].sum()
    k["spent_eur_programmes"] = float(funded)
    cov = k[f"population_coverage_{OZG_DEADLINE_KEY}"]
    k["cost_per_coverage_point_eur"] = (float(funded) / (cov * 100)
                                        if cov and np.isfinite(cov) and cov > 0 else np.nan)
    return k


KPI_UNITS = {f"{c.name}_{OZG_DEADLINE_KEY}": c.unit
             for c in TABLE_BY_NAME["national"].values if c.name in HEADLINE_COLUMNS}
KPI_UNITS["cost_per_coverage_point_eur"] = "EUR per percentage point"
#: Prefix of the key figures valued in months since the origin (when a target was reached).
MONTH_KPI_PREFIX = "months_to_"


def kpi_unit(name: str) -> str:
    """Unit of the key figure ``name``."""
    if name in KPI_UNITS:
        return KPI_UNITS[name]
    if name.startswith(MONTH_KPI_PREFIX):
        return "months since 2018-01"
    if "_eur" in name:
        return "EUR"
    return ""


def kpi_definition(name: str) -> str:
    """What the key figure ``name`` counts, in one sentence (``kpis.csv``'s ``definition``).

    The counts at the deadline take the text of their column in ``national``
    (:data:`sim.outputs.OUTPUT_TABLES`), so a definition lives in one place.
    """
    suffix = f"_{OZG_DEADLINE_KEY}"
    if name.endswith(suffix) and name.removesuffix(suffix) in NATIONAL_TEXT:
        return f"{NATIONAL_TEXT[name.removesuffix(suffix)]}; at {OZG_DEADLINE_DATE.date()}"
    if name.startswith(MONTH_KPI_PREFIX):
        pct, _, col = name.removeprefix(MONTH_KPI_PREFIX).partition("pct_")
        return (f"first month at whose end `{col}` is at least {pct} % (months since "
                "2018-01; `*_date`: the same as YYYY-MM); a replication that does not reach "
                "it within the horizon is not in `n_reached`, and a quantile that falls on "
                "one is empty")
    if name in KPI_TEXT:
        return KPI_TEXT[name]
    for prefix, text in KPI_PREFIX_TEXT.items():
        if name.startswith(prefix):
            return f"{text} {name.removeprefix(prefix)}"
    return ""


def summarise_kpis(per_rep: pd.DataFrame) -> pd.DataFrame:
    """Across replications: mean, median, 5 % and 95 % quantiles, how many reached it.

    Not reached (NaN) follows the package's one convention (:mod:`sim.stats`): the mean is
    over the replications that reached it (``n_reached``), the median and quantiles rank the
    others last and are empty where they fall on one.
    """
    rows = []
    for name in [c for c in per_rep.columns if c != "replication"]:
        v = per_rep[name].to_numpy(dtype=float)
        ok = v[np.isfinite(v)]
        q05, q95 = bands.quantiles(v, (0.05, 0.95)) if len(v) else (np.nan, np.nan)
        row: dict[str, object] = {
            "kpi": name, "unit": kpi_unit(name), "mean": ok.mean() if len(ok) else np.nan,
            "median": float(bands.median(v)) if len(v) else np.nan,
            "q05": float(q05), "q95": float(q95),
            "n_replications": len(v), "n_reached": len(ok)}
        for stat in DATE_STATS:
            row[f"{stat}_date"] = (month_date(float(row[stat]))  # type: ignore[arg-type]
                                   if name.startswith(MONTH_KPI_PREFIX) else "")
        row["definition"] = kpi_definition(name)
        rows.append(row)
    return pd.DataFrame(rows, columns=KPI_SUMMARY_COLUMNS)


#: How the run's closing line names each headline count (:func:`headline`), in its order.
HEADLINE_WORDS = {
    "nationwide_reported": "{} services nationwide as the OZG dashboard counts them "
                           "(nationwide_reported: in every Land's official count)",
    "online_anywhere": "{} online somewhere (online_anywhere)",
    "nationwide": "{} nationwide in the model's strict sense (nationwide: every Land and "
                  "every municipal administration)",
    "population_coverage": "population coverage {} (share of inhabitant × service pairs "
                           "usable online)",
}


def headline(summary: pd.DataFrame) -> str:
    """One line of the headline key figures at the deadline from a ``kpis.csv`` table,
    the count comparable to the official record first, each with its definition:
    ``at 2022-12-31 (median of 10 replications): 212 services nationwide as the OZG
    dashboard counts them (...), 390 online somewhere (...), ...``; ``n/a`` where the
    horizon ends before the deadline."""
    k = summary.set_index("kpi")
    n = int(k["n_replications"].max()) if len(k) else 0
    parts = []
    for col, words in HEADLINE_WORDS.items():
        v = float(k["median"].get(f"{col}_{OZG_DEADLINE_KEY}", np.nan))
        value = ("n/a" if not np.isfinite(v) else f"{100 * v:.1f} %" if
                 kpi_unit(f"{col}_{OZG_DEADLINE_KEY}") == "share" else f"{v:g}")
        parts.append(words.format(value))
    return (f"at {OZG_DEADLINE_DATE.date()} (median of {n} replication"
            f"{'s' if n != 1 else ''}): " + ", ".join(parts))


def services_table(world: World) -> pd.DataFrame:
    """The simulated catalogue, for joining ``ozg_id`` in the events table."""
    s = world.services
    ex = np.asarray(["federal", "state", "municipal"])[s["executor"].to_numpy()]
    lead = np.where(s["lead_state"].to_numpy() >= 0,
                    world.states["state"].to_numpy()[np.maximum(s["lead_state"].to_numpy(), 0)],
                    "BUND")
    lead = np.where(s["executor"].to_numpy() == FEDERAL, "BUND", lead)
    return pd.DataFrame({"ozg_id": s["ozg_id"], "name": s["name"], "topic": s["topic_name"],
                         "service_type": s["service_type"], "n_leika": s["n_leika"],
                         "executor": ex, "efa_lead": lead})


def running_costs_by_year(spending: pd.DataFrame) -> pd.DataFrame:
    """Running costs of one run per calendar year and payer, from its spending table.

    Columns ``replication``, ``year``, ``payer`` (``land``, ``municipal``, ``bund``,
    ``pool``: the ``running_costs_<payer>`` purposes), ``eur``; years without costs have
    no rows.
    """
    # Some thousand rows per run, summed in a dict: about half the time of a pandas groupby.
    sums: dict[tuple[int, int, str], float] = {}
    rc = spending["programme"].to_numpy() == "running_costs"
    for rep, t, purpose, eur in zip(spending["replication"].to_numpy()[rc],
                                    spending["time_months"].to_numpy()[rc],
                                    spending["purpose"].to_numpy()[rc],
                                    spending["eur"].to_numpy()[rc], strict=True):
        key = (int(rep), 2018 + int(t // 12), str(purpose).removeprefix("running_costs_"))
        sums[key] = sums.get(key, 0.0) + float(eur)
    keys = sorted(sums)
    return pd.DataFrame({"replication": np.array([k[0] for k in keys], dtype=np.int64),
                         "year": np.array([k[1] for k in keys], dtype=np.int64),
                         "payer": pd.array([k[2] for k in keys], dtype="str"),
                         "eur": np.array([sums[k] for k in keys], dtype=float)})
