"""The OZG rollout as SimPy agents: Bund, Länder (and their lead-state role), municipal
administrations and the marketplace, under a sharing strategy, funding and staffing.

One call of :func:`simulate` runs one replication and returns a :class:`RunResult` of
plain arrays; :mod:`sim.metrics` turns it into tidy tables. Nothing here reads Hydra
objects or writes files. The process schedule and every mechanism are described in
``MODEL.md`` (ODD protocol).

Time is in months since 2018-01 (:mod:`sim.calendar`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.calendar import month_index
from sim.params import TYPE_KEYS, Config, ProgrammeParams, SharingFrictions
from sim.rng import Draws, stream, unit_gamma
from sim.world import FEDERAL, MUNICIPAL, World

BUND = "BUND"
_EPS = 1e-9

# Event codes of the process log (see RunResult.events).
EV_ONLINE, EV_PUBLISHED, EV_REUSED, EV_DECLINED, EV_FUNDED = range(5)
EVENT_NAMES = ("online", "published", "reused", "reuse_declined", "funded")

ProcessGen = Generator[simpy.Event, Any, Any]


# --------------------------------------------------------------------------- money


class Ledger:
    """Spending record: one row per commitment ``(month, programme, actor, eur, purpose)``."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, str, float, str]] = []

    def record(self, t: float, programme: str, actor: str, eur: float, purpose: str) -> None:
        if eur > 0:
            self.rows.append((t, programme, actor, eur, purpose))


@dataclass
class Pot:
    """Money of one programme held for one recipient; it can only be committed in its window.

    Attributes
    ----------
    programme : ProgrammeParams
    holder : str
        ``BUND`` for a central (project-by-project) pot, else the Land abbreviation.
    remaining_eur : float
    start, end : float
        Window in months: money can be committed for ``start <= t < end``.
    flows_from : float
        No money flows before this time (the programme's framework agreement).
    """

    programme: ProgrammeParams
    holder: str
    remaining_eur: float
    start: float
    end: float
    flows_from: float = 0.0

    def open_at(self, t: float) -> bool:
        return self.start <= t < self.end and self.remaining_eur > 0

    def commit(self, eur: float) -> bool:
        """Commit ``eur`` if the pot can pay all of it (all or nothing; never below zero)."""
        if eur > self.remaining_eur + 1e-6:
            return False
        self.remaining_eur = max(0.0, self.remaining_eur - eur)
        return True


def base_state_fte(cfg: Config, world: World) -> np.ndarray:
    """Developer staff of each Land before any lead-state role (FTE)."""
    st = cfg.staffing
    pop_millions = world.states["population"].to_numpy() / 1e6
    return (st.state_fte_base + st.state_fte_per_million * pop_millions) * st.dev_fte_factor


def allocation_shares(rule: str, world: World, cfg: Config) -> np.ndarray:
    """Each Land's share of a programme allocated to the Länder (sums to 1).

    ``koenigstein``: Königsteiner Schlüssel 2016; ``per_capita``: Zensus 2022 population;
    ``per_municipality``: number of municipalities; ``need``: inverse of the Land's base
    developer staff (who has the least capacity gets the most).
    """
    if rule == "koenigstein":
        w = world.states["koenigstein_share"].to_numpy(dtype=float)
    elif rule == "per_capita":
        w = world.states["population"].to_numpy(dtype=float)
    elif rule == "per_municipality":
        w = np.bincount(world.admins["state"].to_numpy(),
                        weights=world.admins["n_municipalities"].to_numpy(dtype=float),
                        minlength=world.n_states)
    elif rule == "need":
        fte = base_state_fte(cfg, world)
        w = np.where(fte > 0, 1.0 / np.maximum(fte, 1e-12), 0.0)
        if w.sum() == 0:
            w = np.ones(world.n_states)
    else:
        raise ValueError(f"allocation={rule!r} is not a per-Land rule")
    return w / w.sum()


class Funding:
    """All money pots of a run, and the rule by which projects draw on them."""

    def __init__(self, cfg: Config, world: World, ledger: Ledger) -> None:
        self.day_rate = cfg.funding.day_rate_eur
        self.ledger = ledger
        self.dev_pots: dict[tuple[str, str], list[Pot]] = {}  # (holder, mode) -> pots
        self.initial: list[tuple[str, str, float]] = []  # (programme, holder, eur)
        self.municipal: list[tuple[ProgrammeParams, float, float, float]] = []
        for p in cfg.funding.programmes:
            start = float(month_index(p.start))
            end = float(month_index(p.end) + 1) + p.carry_over_months
            flows_from = float(month_index(p.flow_from)) if p.flow_from else 0.0
            dev_amount = p.amount_eur * (1.0 - p.municipal_share)
            if p.allocation == "project":
                holders = [(BUND, dev_amount)]
            else:
                shares = allocation_shares(p.allocation, world, cfg)
                holders = [(s, dev_amount * float(k))
                           for s, k in zip(world.states["state"], shares, strict=True)]
            for holder, eur in holders:
                pot = Pot(p, holder, eur, start, end, flows_from)
                self.initial.append((p.name, holder, eur))
                for mode in p.eligible_modes:
                    self.dev_pots.setdefault((holder, mode), []).append(pot)
            if p.municipal_share > 0:
                self.municipal.append((p, p.amount_eur * p.municipal_share, start, end))
                self.initial.append((p.name, "municipalities", p.amount_eur * p.municipal_share))

    def pots_for(self, builder: str, mode: str) -> list[Pot]:
        """Pots a project of ``builder`` in sharing ``mode`` may draw on.

        Central (project-by-project) pots first, then the builder Land's own pots, each in
        programme order.
        """
        return self.dev_pots.get((BUND, mode), []) + (
            self.dev_pots.get((builder, mode), []) if builder != BUND else [])

    def grant(self, t: float, builder: str, mode: str, remaining_pd: float, team_fte: float,
              days: float) -> tuple[float, str | None, float]:
        """A project applies for contractors; fund them if a pot can.

        The money flows at ``max(t + agreement_months, flow_from)`` if that is still inside
        the pot's window; it pays the contractors' share of the effort that will remain then
        (the internal team works on meanwhile), committed now. Returns the external FTE
        (0 if none), the programme name and the time the contractors join.
        """
        for pot in self.pots_for(builder, mode):
            prog = pot.programme
            ext = prog.external_fte_per_project
            if ext <= 0 or not pot.open_at(t):
                continue
            flows = max(t + prog.agreement_months, pot.flows_from)
            if flows >= pot.end:
                continue  # the agreement would conclude after the money lapsed
            left = remaining_pd - team_fte * days * (flows - t)
            if left <= _EPS:
                continue  # done before any money could flow
            cost = left * ext / (team_fte + ext) * self.day_rate
            if pot.commit(cost):
                self.ledger.record(flows, prog.name, builder, cost, "development")
                return ext, prog.name, flows
        return 0.0, None, math.inf

    def next_opening(self, t: float, builder: str, mode: str) -> float | None:
        """Earliest future window start of a pot with money this project could use."""
        starts = [p.start for p in self.pots_for(builder, mode)
                  if p.start > t and p.remaining_eur > 0
                  and p.programme.external_fte_per_project > 0]
        return min(starts) if starts else None


# --------------------------------------------------------------------------- staff


class TeamPool:
    """Development teams of one builder: a priority queue for teams that grows by hiring.

    ``acquire(priority)`` returns an event that fires when a team is free for the project
    (immediately if one is idle, else when a team is released or hired, lowest priority
    value first, ties in request order); ``release()`` hands the team on. A binary heap
    keeps both O(log n): SimPy's ``PriorityResource`` re-sorts its whole queue on every
    request, which dominated run time with hundreds of queued projects per builder.

    Attributes
    ----------
    team_fte : float
        Internal FTE one project occupies.
    initial_teams, max_teams : int
        Teams at the start and at the labour-market cap.
    teams : int
        Teams employed now.
    hirable : int
        Teams that can still be hired.
    """

    def __init__(self, env: simpy.Environment, initial_fte: float, team_fte: float,
                 cap_factor: float) -> None:
        self.env = env
        self.team_fte = team_fte
        self.initial_teams = math.floor(initial_fte / team_fte + _EPS)
        self.max_teams = math.floor(initial_fte * cap_factor / team_fte + _EPS)
        self.teams = self.initial_teams
        self.hirable = self.max_teams - self.initial_teams
        self.idle = self.initial_teams
        self._waiting: list[tuple[int, int, simpy.Event]] = []
        self._order = itertools.count()

    def acquire(self, priority: int) -> simpy.Event:
        """Event that fires when a team is assigned to the caller."""
        ev = self.env.event()
        if self.idle > 0:
            self.idle -= 1
            ev.succeed()
        else:
            heapq.heappush(self._waiting, (priority, next(self._order), ev))
        return ev

    def release(self) -> None:
        """A team finished its project: give it to the first waiting project, if any."""
        if self._waiting:
            heapq.heappop(self._waiting)[2].succeed()
        else:
            self.idle += 1

    def hire_team(self) -> None:
        """One more team starts work (nothing happens at the cap)."""
        if self.hirable > 0:
            self.hirable -= 1
            self.teams += 1
            self.release()


def hire_staff(env: simpy.Environment, pool: TeamPool, start: float, lag_months: float,
               rng: np.random.Generator, cv: float) -> ProcessGen:
    """Hire team after team from ``start`` until the cap; each takes a random hiring lag."""
    if start > env.now:
        yield env.timeout(start - env.now)
    while pool.hirable > 0:
        yield env.timeout(lag_months * float(unit_gamma(rng, cv, (1,))[0]))
        pool.hire_team()


# --------------------------------------------------------------------------- agents


@dataclass
class Builder:
    """An organisation that develops services: the Bund or a Land (possibly a lead state).

    Attributes
    ----------
    code : str
        ``BUND`` or the Land abbreviation.
    index : int
        Column in the builder-indexed draws (Länder 0..L-1, Bund L).
    teams : TeamPool
    rank : ndarray
        Work order over services (lower first).
    onboarding : dict
        Per sharing mode, the operator's resource of tenant-onboarding slots.
    """

    code: str
    index: int
    teams: TeamPool
    rank: np.ndarray
    onboarding: dict[str, simpy.Resource] = field(default_factory=dict)

    def onboarding_slots(self, env: simpy.Environment, mode: str,
                         frictions: SharingFrictions) -> simpy.Resource:
        if mode not in self.onboarding:
            self.onboarding[mode] = simpy.Resource(
                env, capacity=frictions.operator_onboarding_slots)
        return self.onboarding[mode]


class Marketplace:
    """Where shared services are published (FIT-Store / EfA marketplace) and taken up."""

    def __init__(self) -> None:
        self.published: dict[int, tuple[str, float]] = {}
        self.take_ups: dict[int, int] = {}

    def publish(self, service: int, operator: str, t: float) -> None:
        self.published[service] = (operator, t)

    def take_up(self, service: int) -> None:
        self.take_ups[service] = self.take_ups.get(service, 0) + 1


class MunicipalSector:
    """The municipal administrations of one Land, as one batched agent.

    Each administration works through the Land's municipally executed services in the
    order they become available, one at a time (a single-server FIFO queue): it learns of
    a service after an information lag, then connects it with its own staff, helped by
    contractors while support money remains. The agent wakes whenever services reach its
    Land and schedules them for all its administrations at once (Lindley recursion
    ``done = max(arrival, free_at) + duration``), so it costs one vector operation per
    (Land, service) rather than one process per (administration, service).
    """

    def __init__(self, env: simpy.Environment, sim: Simulation, state: int) -> None:
        self.env = env
        self.sim = sim
        self.state = state
        a0, a1 = sim.world.admin_slices[state]
        self.sl = slice(a0, a1)
        admins = sim.world.admins.iloc[a0:a1]
        cfg = sim.cfg
        size = admins["size_class"].to_numpy()
        fte = (np.asarray(cfg.staffing.municipal_fte_by_size_class)[size]
               * cfg.staffing.municipal_fte_factor)
        self.rate_pd = fte * cfg.staffing.productive_days_per_fte_month  # person-days/month
        self.lag_mean = np.asarray(cfg.municipal.info_lag_months_by_size_class)[size]
        self.free_at = np.zeros(a1 - a0)
        self.code = str(sim.world.states["state"].iat[state])
        pop = admins["population"].to_numpy().astype(float)
        self.pots = []  # (programme, remaining per admin, start, end)
        total_pop = float(sim.world.admins["population"].sum())
        for prog, eur, start, end in sim.funding.municipal:
            self.pots.append((prog, eur * pop / total_pop, start, end))
        # Support money committed, per programme and month in which the onboarding starts.
        self.spent_by_month = {prog.name: np.zeros(int(sim.horizon) + 1)
                               for prog, *_ in self.pots}
        self.pending: list[int] = []
        self.wake: simpy.Event | None = None
        env.process(self.connect_services())

    def release(self, service: int) -> None:
        """A municipally executed service became available in the Land."""
        self.pending.append(service)
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def connect_services(self) -> ProcessGen:
        """Process: wake when services arrive, schedule their connection everywhere."""
        while True:
            self.wake = self.env.event()
            yield self.wake
            batch, self.pending = self.pending, []
            for s in batch:
                self._schedule(s, self.env.now)

    def book_spending(self, ledger: Ledger) -> None:
        """Ledger rows of the support money, dated in the month each onboarding started.

        Onboardings starting after the horizon are outside the run and not booked.
        """
        for name, by_month in self.spent_by_month.items():
            for m in np.flatnonzero(by_month[: int(self.sim.horizon)]):
                ledger.record(float(m), name, self.code, float(by_month[m]),
                              "municipal_onboarding")

    def _schedule(self, service: int, t: float) -> None:
        sim, sl = self.sim, self.sl
        m = int(sim.world.municipal_position[service])
        cfg = sim.cfg.municipal
        arrival = t + self.lag_mean * sim.draws.info_lag[m, sl]
        start = np.maximum(arrival, self.free_at)
        effort = (sim.onboarding_effort_pd[service]
                  * np.exp(cfg.effort_sigma * sim.draws.onboarding_z[m, sl]))
        internal = effort.copy()
        day_rate = sim.cfg.funding.day_rate_eur
        share = cfg.external_share_when_funded
        if share > 0:
            funded_any = np.zeros(len(effort), dtype=bool)
            for prog, remaining, p_start, p_end in self.pots:
                cost = share * effort * day_rate
                ok = (~funded_any & (start >= p_start) & (start < p_end)
                      & (remaining >= cost - 1e-6))
                if ok.any():
                    remaining[ok] -= cost[ok]
                    np.maximum(remaining, 0.0, out=remaining)
                    funded_any |= ok
                    month = np.minimum(np.floor(start[ok]), sim.horizon).astype(np.int64)
                    self.spent_by_month[prog.name] += np.bincount(
                        month, weights=cost[ok], minlength=len(self.spent_by_month[prog.name]))
            internal[funded_any] *= 1.0 - share
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            duration = np.where(internal <= 0, 0.0, internal / self.rate_pd)
        done = start + duration
        self.free_at = done
        sim.t_admin[m, sl] = done


# --------------------------------------------------------------------------- processes


def develop_service(env: simpy.Environment, sim: Simulation, builder: Builder, service: int,
                    mode: str, effort_pd: float) -> ProcessGen:
    """Build one service: wait for a free team, then work off its effort.

    A project funded by a programme adds external contractors for its remaining effort from
    the moment the money flows (money committed when it applies; see :meth:`Funding.grant`).
    An unfunded project that is still running when a programme it is eligible for opens
    applies at that moment.
    """
    team_fte = builder.teams.team_fte
    days = sim.cfg.staffing.productive_days_per_fte_month
    yield builder.teams.acquire(int(builder.rank[service]))
    remaining = effort_pd
    granted, ext_from = 0.0, math.inf
    while remaining > _EPS:
        now = env.now
        if granted == 0.0:
            granted, prog, ext_from = sim.funding.grant(now, builder.code, mode, remaining,
                                                        team_fte, days)
            if prog is not None:
                sim.log(EV_FUNDED, service, builder.code, prog)
        ext = granted if now >= ext_from - _EPS else 0.0
        rate = (team_fte + ext) * days
        if granted > 0:  # next change: the contractors join
            change = ext_from if now < ext_from - _EPS else None
        else:  # next change: a programme opens
            change = sim.funding.next_opening(now, builder.code, mode)
        if change is not None and change < now + remaining / rate:
            remaining -= rate * (change - now)
            yield env.timeout(change - now)
            continue
        yield env.timeout(remaining / rate)
        remaining = 0.0
    builder.teams.release()  # nothing interrupts a project, so no try/finally is needed
    sim.log(EV_ONLINE, service, builder.code)


def provide_service(env: simpy.Environment, sim: Simulation, service: int, builder: Builder,
                    members: tuple[int, ...], mode: str) -> ProcessGen:
    """Bring one service to a sharing group: develop, go live, publish, let members reuse."""
    start = sim.dev_start
    if env.now < start:
        yield env.timeout(start - env.now)
    shared = len(members) > 1
    yield from develop_service(env, sim, builder, service, mode,
                               sim.effort_pd(service, builder.index, shared))
    if mode == "federal":
        sim.make_available(service, None)
        return
    sim.make_available(service, builder.index)
    if not shared:
        return
    yield env.timeout(sim.cfg.development.publication_months
                      * sim.draws.publication[service, builder.index])
    sim.market.publish(service, builder.code, env.now)
    sim.log(EV_PUBLISHED, service, builder.code, mode)
    for tenant in members:
        if tenant != builder.index:
            env.process(reuse_service(env, sim, service, builder, tenant, mode))


def reuse_service(env: simpy.Environment, sim: Simulation, service: int, operator: Builder,
                  tenant: int, mode: str) -> ProcessGen:
    """A tenant Land takes up a published service: decide, contract, be onboarded.

    A Land that declines builds its own copy instead.
    """
    f: SharingFrictions = getattr(sim.cfg.sharing, mode)
    d = sim.draws
    yield env.timeout(f.decision_months * d.decision[service, tenant])
    land = sim.lands[tenant]
    if d.reuse_u[service, tenant] >= f.propensity:
        sim.log(EV_DECLINED, service, land.code, mode)
        yield from develop_service(env, sim, land, service, "einzel",
                                   sim.effort_pd(service, tenant, False))
        sim.make_available(service, tenant)
        return
    yield env.timeout(f.contract_months * d.contract[service, tenant])
    sim.ledger.record(env.now, "own_funds", land.code, f.fee_eur, "reuse_fee")
    with operator.onboarding_slots(env, mode, f).request() as req:
        yield req
        yield env.timeout(f.tenant_onboarding_months * d.tenant_onboarding[service, tenant])
    sim.market.take_up(service)
    sim.log(EV_REUSED, service, land.code, operator.code)
    sim.make_available(service, tenant)


# --------------------------------------------------------------------------- simulation


@dataclass
class RunResult:
    """Raw outcome of one replication (months since 2018-01; ``inf`` = not within horizon).

    Attributes
    ----------
    replication : int
    horizon_months : int
    t_state : ndarray (S, L)
        When each service became available in each Land (built there or reused). For a
        municipally executed service this is when its municipalities can start connecting.
    t_admin : ndarray (Sm, A)
        When each administration finished connecting each municipally executed service.
    events : list of (t, code, service, actor, detail)
        Process log; ``code`` indexes :data:`EVENT_NAMES`.
    spending : list of (t, programme, actor, eur, purpose)
    budgets : list of (programme, holder, eur)
        Money available at the start, per pot.
    n_simpy_events : int
        SimPy events scheduled (for benchmarks).
    """

    replication: int
    horizon_months: int
    t_state: np.ndarray
    t_admin: np.ndarray
    events: list[tuple[float, int, int, str, str]]
    spending: list[tuple[float, str, str, float, str]]
    budgets: list[tuple[str, str, float]]
    n_simpy_events: int


class Simulation:
    """One replication: builds the agents, starts their processes, runs to the horizon."""

    def __init__(self, world: World, cfg: Config, replication: int) -> None:
        self.world, self.cfg, self.replication = world, cfg, replication
        self.env = simpy.Environment()
        self.horizon = float(cfg.horizon_months)
        self.dev_start = float(month_index(cfg.development.start))
        self.draws = Draws.make(world, cfg.seed, replication, cfg.development.delay_cv)
        L = world.n_states
        S = world.n_services
        self.t_state = np.full((S, L), np.inf)
        self.t_admin = np.full((len(world.municipal_services), world.n_admins), np.inf)
        self.events: list[tuple[float, int, int, str, str]] = []
        self.ledger = Ledger()
        self.funding = Funding(cfg, world, self.ledger)
        self.market = Marketplace()
        self._is_municipal = world.services["executor"].to_numpy() == MUNICIPAL
        self._precompute_efforts()
        self._plan = self._sharing_plan()
        self._make_builders()
        self.municipal = [MunicipalSector(self.env, self, i) for i in range(L)]
        self._start_processes()

    # -- setup ---------------------------------------------------------------

    def _precompute_efforts(self) -> None:
        svc = self.world.services
        n_leika = svc["n_leika"].to_numpy().astype(float)
        rel = n_leika / float(np.median(n_leika))
        dev = self.cfg.development
        self._dev_base = (dev.effort_person_days * rel**dev.complexity_elasticity
                          * np.exp(dev.effort_sigma * self.draws.complexity_z))
        mp = self.cfg.municipal
        self.onboarding_effort_pd = (mp.onboarding_effort_person_days
                                     * rel**mp.complexity_elasticity
                                     * self.cfg.strategy.municipal_effort_factor)

    def effort_pd(self, service: int, builder_index: int, shared: bool) -> float:
        """Person-days for ``builder`` to build ``service`` (multi-tenant if ``shared``)."""
        dev = self.cfg.development
        e = self._dev_base[service] * math.exp(
            dev.builder_effort_sigma * self.draws.builder_z[service, builder_index])
        return e * (1.0 + dev.shared_build_overhead) if shared else e

    def _sharing_plan(self) -> list[list[tuple[int, tuple[int, ...], str]]]:
        """For every service, its sharing groups: ``(builder index, member Länder, mode)``.

        The Bund (index L) builds Typ-1 services for everybody. Otherwise the strategy's
        mode for the service type decides: ``efa`` one group of all Länder built by the
        topic's lead state; ``efv`` the configured groups, each built by the topic's lead
        state if it is a member, else by its most populous member; ``einzel`` one group
        per Land.
        """
        w, strat = self.world, self.cfg.strategy
        L = w.n_states
        everyone = tuple(range(L))
        idx = {s: i for i, s in enumerate(w.states["state"])}
        pop = w.states["population"].to_numpy()
        groups: list[tuple[int, ...]] = []
        seen: set[int] = set()
        for g in strat.efv_groups:
            members = tuple(sorted(idx[s] for s in g if s in idx))
            if members:
                groups.append(members)
                seen.update(members)
        groups += [(i,) for i in range(L) if i not in seen]
        plan = []
        for ex, stype, lead in zip(w.services["executor"], w.services["service_type"],
                                   w.services["lead_state"], strict=True):
            if ex == FEDERAL:
                plan.append([(L, everyone, "federal")])
                continue
            mode = strat.mode_by_type[TYPE_KEYS[stype]]
            if mode == "efa":
                plan.append([(int(lead), everyone, "efa")])
            elif mode == "efv":
                plan.append([(int(lead) if lead in g else max(g, key=lambda i: pop[i]), g, "efv")
                             for g in groups])
            else:
                plan.append([(i, (i,), "einzel") for i in range(L)])
        return plan

    def _make_builders(self) -> None:
        w, st = self.world, self.cfg.staffing
        L = w.n_states
        shared_builds = np.zeros(L)
        for groups in self._plan:
            for b, members, _mode in groups:
                if b < L and len(members) > 1:
                    shared_builds[b] += 1
        fte = (base_state_fte(self.cfg, w)
               + st.lead_fte_per_service * shared_builds * st.dev_fte_factor)
        codes = [*list(w.states["state"]), BUND]
        ftes = [*list(fte), st.bund_fte * st.dev_fte_factor]
        self.builders = []
        start = float(month_index(st.hiring_start))
        for i, (code, f) in enumerate(zip(codes, ftes, strict=True)):
            pool = TeamPool(self.env, f, st.team_fte, st.staff_cap_factor)
            self.builders.append(Builder(code, i, pool, self.draws.priority[i]))
            if pool.hirable > 0:
                rng = stream(self.cfg.seed, self.replication, "hiring", i)
                self.env.process(hire_staff(self.env, pool, start, st.hiring_lag_months, rng,
                                            self.cfg.development.delay_cv))
        self.lands = self.builders[:L]

    def _start_processes(self) -> None:
        # Started in each builder's work order: all projects ask for a team at the same
        # moment (development start) and SimPy grants free teams in request order, so
        # starting them in service order would hand the first teams to the first services
        # of the catalogue instead of the builder's highest-priority ones.
        jobs = [(int(self.builders[b].rank[s]), s, b, members, mode)
                for s, groups in enumerate(self._plan) for b, members, mode in groups]
        for _rank, s, b, members, mode in sorted(jobs, key=lambda j: (j[0], j[1], j[2])):
            self.env.process(provide_service(self.env, self, s, self.builders[b],
                                             members, mode))

    # -- bookkeeping -------------------------------------------------------

    def log(self, code: int, service: int, actor: str, detail: str = "") -> None:
        self.events.append((self.env.now, code, service, actor, detail))

    def make_available(self, service: int, state: int | None) -> None:
        """The service can be used in ``state`` (``None``: in every Land, a federal service)."""
        t = self.env.now
        if state is None:
            self.t_state[service, :] = t
            return
        if self.t_state[service, state] <= t:
            return
        self.t_state[service, state] = t
        if self._is_municipal[service]:
            self.municipal[state].release(service)

    def run(self) -> RunResult:
        self.env.run(until=self.horizon)
        for sector in self.municipal:
            sector.book_spending(self.ledger)
        t_admin = self.t_admin
        t_admin[t_admin >= self.horizon] = np.inf
        t_state = self.t_state
        t_state[t_state >= self.horizon] = np.inf
        return RunResult(replication=self.replication, horizon_months=int(self.horizon),
                         t_state=t_state, t_admin=t_admin, events=self.events,
                         spending=self.ledger.rows, budgets=self.funding.initial,
                         n_simpy_events=_events_scheduled(self.env))


def simulate(world: World, cfg: Config, replication: int) -> RunResult:
    """Run one replication of the model.

    Parameters
    ----------
    world : World
        Static inputs (:func:`sim.world.build_world`).
    cfg : Config
        Validated parameters (:meth:`Config.validate`).
    replication : int
        Replication number; with ``cfg.seed`` it keys every random stream.
    """
    return Simulation(world, cfg, replication).run()


def _events_scheduled(env: simpy.Environment) -> int:
    """Number of events SimPy scheduled so far (reads its internal event-id counter)."""
    counter = getattr(env, "_eid", None)
    return int(next(counter)) if counter is not None else -1
