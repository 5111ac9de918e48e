"""The municipal level: every municipal administration connecting the services it executes.

Germany's 10,786 municipalities adopt services as 4,396 administrations (a shared
administration such as an Amt or Verbandsgemeinde, or an independent municipality). When a
municipally executed service becomes available in a Land (built there or reused), each
administration of that Land learns of it after an information lag and connects it with its
own staff, one service after another, helped by contractors while support money remains,
and deferred while it cannot afford the running costs of a reused service. Nothing at this
level feeds back on the Länder or the Bund, so :class:`Municipalities` only records the
releases during the run and schedules all administrations' queues after it, in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.calendar import month_index
from sim.model.providers import Channels
from sim.model.records import Ledger
from sim.params import ProgrammeParams

if TYPE_CHECKING:
    # Only for annotations: importing the simulation at runtime would form a cycle
    # (sim.model.simulation imports this module).
    from sim.model.simulation import Simulation


@dataclass
class _Releases:
    """(Land, release rank) tables: release time, service, reused (running costs may
    apply), support factors (lag, effort, FTE)."""

    t: np.ndarray
    service: np.ndarray
    tenancy: np.ndarray
    factors: np.ndarray


@dataclass
class _Tables:
    """(release rank, administration) tables that do not depend on the queue: arrival of
    the service, onboarding duration with and without contractors, cost of contractors;
    ``m_lk`` the municipal position of each (Land, rank)."""

    m_lk: np.ndarray
    arrival: np.ndarray
    dur: np.ndarray
    dur_funded: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    cost_base: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))


class Municipalities:
    """The municipal administrations of all Länder, as one batched agent.

    Each administration works through its Land's municipally executed services in the
    order they become available there, one at a time (a single-server FIFO queue): it
    learns of a service after an information lag, then connects it with its own staff,
    helped by contractors while support money remains (MODEL.md §7.6).

    Nothing at the municipal level feeds back on the Länder or the Bund, so during the run
    the agent only records which service reached which Land when (:meth:`release`); after
    it, :meth:`connect` evaluates every administration's queue by the Lindley recursion
    ``done = max(arrival, free_at) + duration``. The k-th service to reach each Land is
    scheduled for all administrations of all Länder in one vector operation, so the cost
    is one step per release rank (at most the number of municipal services) instead of one
    process per (administration, service) pair.

    Attributes
    ----------
    releases : list of list of (t, service, tenancy)
        Per Land, the municipal services in the order they reached it; ``tenancy``: the
        Land reuses it (its connections may cost the administrations running costs).
    support : list of list of tuple
        Per Land, the non-monetary support in force: ``(start, end, lag factor, effort
        factor, FTE factor, service mask or None)``.
    pots : list of (programme, remaining EUR per administration, start, end, Länder)
        Municipal support money; ``Länder`` marks the Länder whose administrations
        receive any of it.
    """

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        world, cfg = sim.world, sim.cfg
        admins = world.admins
        L = world.n_states
        self.codes = [str(c) for c in world.states["state"]]
        self.state_of = admins["state"].to_numpy().astype(np.int64)
        size = admins["size_class"].to_numpy()
        fte = (np.asarray(cfg.staffing.municipal_fte_by_size_class)[size]
               * cfg.staffing.municipal_fte_factor)
        self.rate_pd = fte * cfg.staffing.productive_days_per_fte_month  # person-days/month
        self.lag_mean = np.asarray(cfg.municipal.info_lag_months_by_size_class)[size]
        pop = admins["population"].to_numpy().astype(float)
        self.budget = pop * cfg.operation.municipal_budget_eur_per_capita_year
        self.pots: list[tuple[ProgrammeParams, np.ndarray, float, float, np.ndarray]] = []
        for prog, eur, start, end in sim.funding.municipal:
            in_land = np.bincount(self.state_of, weights=eur, minlength=L) > 0
            if in_land.any():
                self.pots.append((prog, eur.copy(), start, end, in_land))
        self.support = [[
            (float(month_index(sp.start)), float(month_index(sp.end) + 1), sp.info_lag_factor,
             sp.effort_factor, sp.fte_factor, sim.top_services(sp.max_services))
            for sp in sim.support if sp.states is None or code in sp.states]
            for code in self.codes]
        #: Per pot, the administrations of the Länder it serves.
        self._pot_admins = [np.flatnonzero(in_land[self.state_of])
                            for _p, _r, _s, _e, in_land in self.pots]
        #: Municipal IT providers and Land platforms (MODEL.md 7.6a).
        self.channels = Channels(world, cfg.providers, sim.draws.provider_prep)
        self.releases: list[list[tuple[float, int, bool]]] = [[] for _ in range(L)]
        H = int(sim.horizon)
        #: Support money committed per programme, Land and month the onboarding starts.
        self.spent = np.zeros((len(self.pots), L, H + 1))

    def release(self, state: int, service: int, t: float, tenancy: bool) -> None:
        """A municipally executed service became available in ``state`` at ``t``."""
        self.releases[state].append((t, service, tenancy))

    def _factors(self, state: int, service: int, t: float) -> tuple[float, float, float]:
        """Support factors (lag, effort, FTE) for a service reaching ``state`` at ``t``."""
        lag_f = effort_f = fte_f = 1.0
        for s0, s1, lag, eff, fte, mask in self.support[state]:
            if s0 <= t < s1 and (mask is None or mask[service]):
                lag_f, effort_f, fte_f = lag_f * lag, effort_f * eff, fte_f * fte
        return lag_f, effort_f, fte_f

    def connect(self, t_admin: np.ndarray) -> None:
        """Schedule every recorded release in every administration (into ``t_admin``).

        Everything that does not depend on the queue (arrival, effort, durations) is
        tabulated for all (release rank, administration) pairs first, one Land's block at a
        time (:meth:`_tabulate`); only the recursion itself, the affordability deferral and
        the support money step through the ranks (:meth:`_queue`, :meth:`_fund`).

        ``t_admin`` (municipally executed services x administrations, as
        ``RunResult.t_admin``) receives, for each recorded release, when each administration
        of its Land finishes connecting it; the other entries are left as they are.
        """
        A = len(self.state_of)
        counts = np.array([len(r) for r in self.releases], dtype=np.int64)
        K = int(counts.max(initial=0))
        if K == 0 or A == 0:
            return
        rel = self._release_table(K)
        share = self.sim.cfg.municipal.external_share_when_funded
        if not self.pots:
            share = 0.0  # no support money anywhere: nothing is ever funded
        tab = self._tabulate(rel, share)
        done = self._queue(rel, tab, share)
        for li, (a0, a1) in enumerate(self.sim.world.admin_slices):
            t_admin[tab.m_lk[li, :counts[li]], a0:a1] = done[:counts[li], a0:a1]

    def _release_table(self, K: int) -> _Releases:
        """(Land, release rank) tables of what reached each Land and under which support;
        ranks beyond a Land's releases are padding that never starts (t = inf)."""
        L = len(self.releases)
        rel = _Releases(t=np.full((L, K), np.inf), service=np.zeros((L, K), dtype=np.int64),
                        tenancy=np.zeros((L, K), dtype=bool), factors=np.ones((3, L, K)))
        for li, released in enumerate(self.releases):
            for k, (t, service, tenancy) in enumerate(released):
                rel.t[li, k], rel.service[li, k], rel.tenancy[li, k] = t, service, tenancy
                rel.factors[:, li, k] = self._factors(li, service, t)
        rel.tenancy &= self.sim.operation.active
        return rel

    def _tabulate(self, rel: _Releases, share: float) -> _Tables:
        """What does not depend on the queue, as (release rank, administration) tables, one
        Land's block at a time (its draws are whole rows of the Land's columns; padding
        ranks read some row and never start)."""
        sim = self.sim
        K, A = rel.t.shape[1], len(self.state_of)
        m_lk = sim.world.municipal_position[rel.service]
        draws = sim.draws
        sigma, day_rate = sim.cfg.municipal.effort_sigma, sim.cfg.funding.day_rate_eur
        prov = sim.cfg.providers
        tab = _Tables(m_lk=m_lk, arrival=np.empty((K, A)), dur=np.empty((K, A)))
        if share > 0:
            tab.dur_funded, tab.cost_base = np.empty((K, A)), np.empty((K, A))
        for li, (a0, a1) in enumerate(sim.world.admin_slices):
            lag_f, effort_f, fte_f = (f[li][:, None] for f in rel.factors)
            lag_draw = np.take(draws.info_lag[:, a0:a1], m_lk[li], axis=0)
            lag = self.lag_mean[a0:a1] * lag_f
            lag *= lag_draw
            tab.arrival[:, a0:a1] = rel.t[li][:, None] + lag
            effort = np.take(draws.onboarding_z[:, a0:a1], m_lk[li], axis=0)
            effort *= sigma
            np.exp(effort, out=effort)
            effort *= sim.onboarding_effort_pd[rel.service[li]][:, None] * effort_f
            routed = (self.channels.route(li, rel.t[li], m_lk[li])
                      if self.channels.active else None)
            if routed is not None:  # served by a channel: its release, then activation
                served, ready = routed
                tab.arrival[:, a0:a1] = np.where(
                    served, ready + prov.announcement_lag_months * lag_f * lag_draw,
                    tab.arrival[:, a0:a1])
                effort = np.where(served, effort * prov.member_effort_factor, effort)
            rate = self.rate_pd[a0:a1] * fte_f
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                tab.dur[:, a0:a1] = np.where(effort <= 0, 0.0, effort / rate)
                if share > 0:
                    funded_effort = effort * (1.0 - share)
                    tab.dur_funded[:, a0:a1] = np.where(funded_effort <= 0, 0.0,
                                                        funded_effort / rate)
                    tab.cost_base[:, a0:a1] = share * effort * day_rate
        return tab

    def _queue(self, rel: _Releases, tab: _Tables, share: float) -> np.ndarray:
        """(K, A): when each administration finishes each release rank, by the Lindley
        recursion ``done = max(arrival, free_at) + duration``, with the affordability
        deferral of connections to reused services and the support money."""
        sim = self.sim
        K, A = tab.arrival.shape
        st = self.state_of
        ten_k = np.asarray(rel.tenancy.any(axis=0))
        t_first = rel.t.min(axis=0)  # earliest release of each rank (all start later)
        op, pays_from = sim.operation, np.array(sim.operation.muni_pays_from)[st]
        free_at = np.zeros(A)
        deferred_free_at = np.zeros(A)  # deferred connections queue among themselves
        n_paid = np.zeros(A)  # reused-service connections each administration pays for
        done = np.empty((K, A))
        for k in range(K):
            start = np.maximum(tab.arrival[k], free_at)
            deferred = None
            if ten_k[k]:
                ten = rel.tenancy[st, k]
                check = np.flatnonzero(ten & (start >= pays_from))
                if len(check):
                    ready = start.copy()
                    ready[check] = op.municipal_start_rows(st[check], start[check],
                                                           n_paid[check], self.budget[check])
                    deferred = ready > start
                    if deferred.any():
                        ready = np.where(deferred, np.maximum(ready, deferred_free_at), ready)
                    else:
                        deferred = None
                    start = ready
                n_paid += ten & np.isfinite(start)
            duration = tab.dur[k]
            if share > 0:
                funded_any = self._fund(k, start, float(t_first[k]), tab)
                if funded_any is not None:
                    duration = np.where(funded_any, tab.dur_funded[k], duration)
            done[k] = start + duration
            if deferred is None:
                free_at = done[k]
            else:
                # A connection deferred for lack of money does not hold up the
                # administration's other connections; deferred ones queue behind each other.
                free_at = np.where(deferred, free_at, done[k])
                deferred_free_at = np.where(deferred & np.isfinite(done[k]), done[k],
                                            deferred_free_at)
        return done

    def _fund(self, k: int, start: np.ndarray, t_first: float,
              tab: _Tables) -> np.ndarray | None:
        """Support money for the onboardings of release rank ``k`` starting at ``start``:
        each pot in programme order pays the contractors' share of an administration of its
        Länder whose onboarding starts in its window, while its money lasts (at most one pot
        per onboarding). Returns the funded administrations (``None``: none)."""
        A = len(start)
        st = self.state_of
        L = len(self.releases)
        H = int(self.sim.horizon)
        funded_any = None
        for p, (prog, remaining, p_start, p_end, _in_land) in enumerate(self.pots):
            if p_end <= t_first:
                continue
            who = self._pot_admins[p]  # administrations of the Länder the pot serves
            s_p = start[who]
            cost = tab.cost_base[k, who] * prog.funding_rate
            ok = (s_p >= p_start) & (s_p < p_end) & (remaining[who] >= cost - 1e-6)
            if funded_any is not None:
                ok &= ~funded_any[who]
            if ok.any():
                paid = who[ok]
                remaining[paid] = np.maximum(remaining[paid] - cost[ok], 0.0)
                if funded_any is None:
                    funded_any = np.zeros(A, dtype=bool)
                funded_any[paid] = True
                month = np.minimum(np.floor(s_p[ok]), H).astype(np.int64)
                self.spent[p] += np.bincount(
                    st[paid] * (H + 1) + month, weights=cost[ok],
                    minlength=L * (H + 1)).reshape(L, H + 1)
        return funded_any

    def book_spending(self, ledger: Ledger) -> None:
        """Ledger rows of the support money, dated in the month each onboarding started,
        and the same sums as the programme's commitments (support is granted onboarding by
        onboarding, so what is committed is paid).

        Onboardings starting after the horizon are outside the run and not booked.
        """
        H = int(self.sim.horizon)
        for li, code in enumerate(self.codes):
            for p, (prog, _rem, _s, _e, in_land) in enumerate(self.pots):
                if not in_land[li]:
                    continue
                by_month = self.spent[p, li, :H]
                if by_month.any():
                    self.sim.funding.commitments.append(
                        (prog.name, code, float(by_month.sum()), "municipal_onboarding"))
                for mo in np.flatnonzero(by_month):
                    ledger.record(float(mo), prog.name, code, float(by_month[mo]),
                                  "municipal_onboarding")
