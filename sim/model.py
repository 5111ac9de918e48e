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
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.calendar import month_index
from sim.params import PAYERS, TYPE_KEYS, Config, ProgrammeParams, SharingFrictions
from sim.rng import Draws, stream, unit_gamma
from sim.world import FEDERAL, MUNICIPAL, World

BUND = "BUND"
_EPS = 1e-9

# Event codes of the process log (see RunResult.events).
EV_ONLINE, EV_PUBLISHED, EV_REUSED, EV_DECLINED, EV_FUNDED, EV_DEFERRED = range(6)
EVENT_NAMES = ("online", "published", "reused", "reuse_declined", "funded",
               "reuse_deferred_by_cost")

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
    states: frozenset[str] | None = None

    def serves(self, builder: str) -> bool:
        """Whether projects of ``builder`` may draw on this pot."""
        return self.states is None or builder in self.states

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


def municipal_allocation(p: ProgrammeParams, world: World) -> np.ndarray:
    """Share of a programme's municipal money for each administration (sums to 1).

    Only administrations of ``p.states`` (and ``p.kreise``) receive money, by population
    (``per_capita``) or by member municipalities (``per_municipality``).
    """
    admins = world.admins
    w = (admins["population"] if p.municipal_allocation == "per_capita"
         else admins["n_municipalities"]).to_numpy(dtype=float)
    mask = np.ones(len(admins), dtype=bool)
    if p.states is not None:
        codes = world.states["state"].to_numpy()
        mask &= np.isin(codes[admins["state"].to_numpy()], p.states)
    if p.kreise is not None:
        mask &= admins["kreis_ags"].astype(str).isin(p.kreise).to_numpy()
    w = w * mask
    return w / w.sum() if w.sum() > 0 else w


class Funding:
    """All money pots of a run, and the rule by which projects draw on them."""

    def __init__(self, cfg: Config, world: World, ledger: Ledger) -> None:
        self.day_rate = cfg.funding.day_rate_eur
        self.ledger = ledger
        self.dev_pots: dict[tuple[str, str], list[Pot]] = {}  # (holder, mode) -> pots
        self.initial: list[tuple[str, str, float]] = []  # (programme, holder, eur)
        #: Municipal support pots: (programme, EUR per administration, start, end).
        self.municipal: list[tuple[ProgrammeParams, np.ndarray, float, float]] = []
        codes = world.states["state"].to_numpy()
        for p in cfg.all_programmes():
            start = float(month_index(p.start))
            end = float(month_index(p.end) + 1) + p.carry_over_months
            flows_from = float(month_index(p.flow_from)) if p.flow_from else 0.0
            in_world = (np.ones(world.n_states, dtype=bool) if p.states is None
                        else np.isin(codes, p.states))
            if not in_world.any():
                continue  # a Land's programme whose Land is not simulated
            dev_amount = p.amount_eur * (1.0 - p.municipal_share)
            if p.allocation == "project":
                allowed = None if p.states is None else frozenset(p.states)
                holders = [(BUND, dev_amount, allowed)]
            else:
                shares = allocation_shares(p.allocation, world, cfg) * in_world
                shares = shares / shares.sum()
                holders = [(str(code), dev_amount * float(k), None)
                           for code, k, ok in zip(codes, shares, in_world, strict=True) if ok]
            for holder, eur, allowed in holders:
                pot = Pot(p, holder, eur, start, end, flows_from, allowed)
                self.initial.append((p.name, holder, eur))
                for mode in p.eligible_modes:
                    self.dev_pots.setdefault((holder, mode), []).append(pot)
            if p.municipal_share > 0:
                eur = p.amount_eur * p.municipal_share
                self.municipal.append((p, municipal_allocation(p, world) * eur, start, end))
                self.initial.append((p.name, "municipalities", eur))

    def pots_for(self, builder: str, mode: str) -> list[Pot]:
        """Pots a project of ``builder`` in sharing ``mode`` may draw on.

        Central (project-by-project) pots first, then the builder Land's own pots, each in
        programme order.
        """
        central = [p for p in self.dev_pots.get((BUND, mode), []) if p.serves(builder)]
        return central + (self.dev_pots.get((builder, mode), []) if builder != BUND else [])

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


# --------------------------------------------------------------------------- running costs

#: Column of each payer's share in :attr:`Operation.shares`.
SH_LAND, SH_MUNI, SH_BUND, SH_POOL = range(4)


class Operation:
    """Running costs of reused services: who pays them when, and what each payer can afford.

    Each Land has a piecewise-constant payer schedule (months since 2018-01) built from the
    payer phases (:class:`~sim.params.PayerPhase`). A payer rule splits a tenancy's cost
    (a reusing Land's Königsteiner share of the service's yearly cost) and a municipal
    connection's cost into shares of the reusing Land, the municipality, the Bund and all
    Länder (pooled by Königsteiner Schlüssel).

    Affordability rule: a new tenancy or connection that the reusing Land (or the
    administration) would pay for goes ahead only when its yearly bill including it fits its
    budget, which grows by ``budget_growth_per_year``; otherwise it waits until the budget
    has grown enough or the payer changes. Nothing already in use is withdrawn.
    """

    def __init__(self, cfg: Config, world: World) -> None:
        op = cfg.operation
        self.op = op
        r, b = op.split_reuser_share, op.split_bund_share
        # Rows: payer rule (PAYERS order); columns: tenancy shares (Land, -, Bund, pool).
        self.tenancy_shares = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [r, 0, b, 1 - r - b],
                                        [1, 0, 0, 0]], dtype=float)
        # Municipal connection shares (Land, municipality, Bund, pool).
        self.muni_shares = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [0, r, b, 1 - r - b],
                                     [1, 0, 0, 0]], dtype=float)
        codes = list(world.states["state"])
        k = world.states["koenigstein_share"].to_numpy(dtype=float)
        self.koenigstein = k
        self.pool_share = k / k.sum() if k.sum() > 0 else k
        self.base = float(month_index(op.budget_base))
        self.log_growth = math.log1p(op.budget_growth_per_year)
        phases = cfg.all_payer_phases()
        self.bounds: list[np.ndarray] = []
        self.rules: list[np.ndarray] = []
        for code in codes:
            mine = [ph for ph in phases if ph.states is None or code in ph.states]
            cuts = {0.0}
            for ph in mine:
                cuts.add(float(month_index(ph.start)))
                if ph.end is not None:
                    cuts.add(float(month_index(ph.end) + 1))
            bounds = np.array(sorted(cuts))
            self.bounds.append(bounds)
            self.rules.append(np.array([self._rule_at(mine, t) for t in bounds]))
        self.n_tenancies = np.zeros(len(codes))
        # The schedules as (Land x segment) tables, padded with segments that never start.
        nseg = max(len(b) for b in self.bounds)
        self._bounds_pad = np.full((len(codes), nseg), np.inf)
        self._muni_share_pad = np.zeros((len(codes), nseg))
        for i, (seg, rules) in enumerate(zip(self.bounds, self.rules, strict=True)):
            self._bounds_pad[i, :len(seg)] = seg
            self._muni_share_pad[i, :len(seg)] = self.muni_shares[rules, SH_MUNI]
        self._ends_pad = np.concatenate([self._bounds_pad[:, 1:],
                                         np.full((len(codes), 1), np.inf)], axis=1)
        self._last_bound = np.array([seg[-1] for seg in self.bounds])
        self._last_share = self.muni_shares[[rules[-1] for rules in self.rules], SH_MUNI]
        self.active = any(len(r) > 1 or r[0] != 0 for r in self.rules)
        # Per Land, the first time a tenant Land / an administration pays anything (a fast
        # path: before it, nothing can be unaffordable).
        self.land_pays_from = [self._first_paid(i, self.tenancy_shares) for i in range(len(codes))]
        self.muni_pays_from = [self._first_paid(i, self.muni_shares) for i in range(len(codes))]

    def _first_paid(self, state: int, shares: np.ndarray) -> float:
        paying = shares[self.rules[state], SH_LAND if shares is self.tenancy_shares
                        else SH_MUNI] > 0
        return float(self.bounds[state][np.argmax(paying)]) if paying.any() else math.inf

    @staticmethod
    def _rule_at(phases: list[Any], t: float) -> int:
        """Payer rule in force at ``t``: a Land-specific phase first, then a general one."""
        def in_force(ph: Any) -> bool:
            end = math.inf if ph.end is None else month_index(ph.end) + 1
            return month_index(ph.start) <= t < end
        for specific in (True, False):
            cands = [ph for ph in phases if (ph.states is not None) == specific and in_force(ph)]
            if cands:
                return PAYERS.index(max(cands, key=lambda ph: month_index(ph.start)).payer)
        return PAYERS.index("central")

    def rule(self, state: int, t: np.ndarray | float) -> np.ndarray:
        """Payer rule index in force in ``state`` at time(s) ``t``."""
        i = np.searchsorted(self.bounds[state], t, side="right") - 1
        return self.rules[state][i]

    def next_change(self, state: int, t: float) -> float:
        """Next time after ``t`` at which the payer of ``state`` changes (``inf``: never)."""
        later = self.bounds[state][self.bounds[state] > t]
        return float(later[0]) if len(later) else math.inf

    def _afford_time(self, need: np.ndarray, budget: np.ndarray) -> np.ndarray:
        """Earliest time at which a budget growing from ``budget_base`` covers ``need``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = need / budget
            if self.log_growth > 0:
                return np.where(ratio > 0, self.base + 12.0 * np.log(ratio) / self.log_growth,
                                -np.inf)
            return np.where(ratio <= 1.0, -np.inf, np.inf)

    def land_wait(self, state: int, t: float) -> float:
        """Time at which ``state`` can afford one more tenancy (``<= t``: now)."""
        if t < self.land_pays_from[state]:
            return t
        share = self.tenancy_shares[int(self.rule(state, t)), SH_LAND]
        if share <= 0:
            return t
        k = self.koenigstein[state]
        need = (self.n_tenancies[state] + 1) * self.op.service_cost_eur_per_year * k * share
        budget = self.op.land_budget_eur_per_year * k
        return float(self._afford_time(np.array([need]), np.array([budget]))[0])

    def municipal_start(self, state: int, start: np.ndarray, n_conn: np.ndarray,
                        budget: np.ndarray) -> np.ndarray:
        """Start times of municipal connections to a reused service, deferred until affordable.

        ``n_conn``: reused-service connections each administration pays for already;
        ``budget``: its yearly budget at ``budget_base``. The result is, for each
        administration, the earliest time at or after ``start`` at which the payer rule in
        force lets it afford one more connection (``inf``: never).
        """
        if not len(start) or start.max() < self.muni_pays_from[state]:
            return start
        return self.municipal_start_rows(np.full(len(start), state), start, n_conn, budget)

    def municipal_start_rows(self, states: np.ndarray, start: np.ndarray, n_conn: np.ndarray,
                             budget: np.ndarray) -> np.ndarray:
        """:meth:`municipal_start` for administrations of several Länder (``states``).

        A start in the last segment of its Land's payer schedule has one answer (the
        earliest affordable moment under that payer); any other start checks all segments
        of its Land at once, as an (administrations x segments) table.
        """
        need = (n_conn + 1) * self.op.admin_cost_eur_per_year
        out = np.empty(len(start))
        last = start >= self._last_bound[states]
        if last.any():
            share = self._last_share[states[last]]
            when = np.where(share > 0, self._afford_time(need[last] * share, budget[last]),
                            -np.inf)
            out[last] = np.maximum(when, start[last])
        rest = np.flatnonzero(~last)
        if len(rest):
            st, t0 = states[rest], start[rest][:, None]
            bounds, ends = self._bounds_pad[st], self._ends_pad[st]  # padded with inf
            share = self._muni_share_pad[st]
            when = np.where(share > 0,
                            self._afford_time(need[rest][:, None] * share,
                                              budget[rest][:, None]), -np.inf)
            # Earliest moment of each segment at or after the start at which it is
            # affordable; segments that end before the start, or before the money
            # suffices, do not count.
            cand = np.maximum(np.maximum(when, bounds), t0)
            valid = (ends > t0) & (cand < ends)
            out[rest] = np.where(valid, cand, np.inf).min(axis=1)
        return out

    def book(self, ledger: Ledger, sim: Simulation) -> None:
        """Ledger rows of the running costs, per year, payer and Land.

        A tenancy costs from the month its reuse was agreed, a connection from the month it
        was completed, until the horizon.
        """
        H = int(sim.horizon)
        if H <= 0:
            return
        world = sim.world
        codes = list(world.states["state"])
        op = self.op
        months = np.arange(H, dtype=float)
        years = (months // 12).astype(np.int64)
        ten_land = np.array([land for (_s, land, _t) in sim.tenancies], dtype=np.int64)
        ten_time = np.array([t for (_s, _land, t) in sim.tenancies], dtype=float)
        for li, code in enumerate(codes):
            tt = ten_time[ten_land == li]
            ten = np.cumsum(np.bincount(np.clip(np.floor(tt), 0, H).astype(np.int64),
                                        minlength=H + 1))[:H] if len(tt) else np.zeros(H)
            a0, a1 = world.admin_slices[li]
            conn = np.zeros(H)
            svc = np.flatnonzero(sim.is_tenancy[:, li] & sim._is_municipal)
            if len(svc) and a1 > a0:
                ta = sim.t_admin[world.municipal_position[svc], a0:a1].ravel()
                ta = ta[np.isfinite(ta) & (ta < H)]
                conn = np.cumsum(np.bincount(np.floor(ta).astype(np.int64),
                                             minlength=H + 1))[:H].astype(float)
            if not (ten.any() or conn.any()):
                continue
            rule = self.rule(li, months)
            ten_eur = ten * op.service_cost_eur_per_year * self.koenigstein[li] / 12.0
            con_eur = conn * op.admin_cost_eur_per_year / 12.0
            pay = (ten_eur[:, None] * self.tenancy_shares[rule]
                   + con_eur[:, None] * self.muni_shares[rule])  # (H, 4)
            by_year = np.zeros((int(years[-1]) + 1, 4))
            np.add.at(by_year, years, pay)
            for y in np.flatnonzero(by_year.sum(axis=1) > 0):
                t = float(12 * y)
                ledger.record(t, "running_costs", code, by_year[y, SH_LAND], "running_costs_land")
                ledger.record(t, "running_costs", code, by_year[y, SH_MUNI],
                              "running_costs_municipal")
                ledger.record(t, "running_costs", BUND, by_year[y, SH_BUND],
                              "running_costs_bund")
                for lj, cj in enumerate(codes):
                    ledger.record(t, "running_costs", cj, by_year[y, SH_POOL]
                                  * self.pool_share[lj], "running_costs_pool")


# --------------------------------------------------------------------------- staff


class TeamPool:
    """Development teams of one builder: a priority queue for teams that grows by hiring.

    ``acquire(priority)`` assigns an idle team at once (returns ``None``) or returns an
    event that fires when a team is released or hired for the project (lowest priority
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
        self.leaving = 0  # busy teams that leave when their project is done
        self.vacancy: simpy.Event = env.event()  # fires when a post becomes hirable
        self._waiting: list[tuple[int, int, simpy.Event]] = []
        self._order = itertools.count()

    def acquire(self, priority: int) -> simpy.Event | None:
        """``None`` if an idle team is assigned to the caller at once, else an event that
        fires when a team is assigned to it (no event is scheduled for an idle team)."""
        if self.idle > 0:
            self.idle -= 1
            return None
        ev = self.env.event()
        heapq.heappush(self._waiting, (priority, next(self._order), ev))
        return ev

    def release(self) -> None:
        """A team finished its project: give it to the first waiting project, if any."""
        if self.leaving > 0:
            self.leaving -= 1
            self.teams -= 1
            self._open_post()
            return
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

    def lose_team(self) -> None:
        """A team leaves (attrition): an idle one at once, else a busy one when done."""
        if self.teams - self.leaving <= 0:
            return
        if self.idle > 0:
            self.idle -= 1
            self.teams -= 1
            self._open_post()
        else:
            self.leaving += 1

    def raise_cap(self, extra_teams: int) -> None:
        """The labour market grows (e.g. by training): more teams become hirable."""
        if extra_teams > 0:
            self.max_teams += extra_teams
            self.hirable += extra_teams
            self._signal_vacancy()

    def _open_post(self) -> None:
        self.hirable += 1
        self._signal_vacancy()

    def _signal_vacancy(self) -> None:
        if not self.vacancy.triggered:
            self.vacancy.succeed()


class Slots:
    """A fixed number of slots taken first come, first served (a light ``simpy.Resource``).

    ``take()`` returns ``None`` when a slot is free (the caller goes on at once, no event is
    scheduled) or an event that fires when a slot is handed to it; ``give_back()`` hands
    the slot to the longest-waiting caller.
    """

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.free = capacity
        self._waiting: deque[simpy.Event] = deque()

    def take(self) -> simpy.Event | None:
        if self.free > 0:
            self.free -= 1
            return None
        ev = self.env.event()
        self._waiting.append(ev)
        return ev

    def give_back(self) -> None:
        if self._waiting:
            self._waiting.popleft().succeed()
        else:
            self.free += 1


def hire_staff(env: simpy.Environment, pool: TeamPool, start: float, lag_months: float,
               rng: np.random.Generator, cv: float) -> ProcessGen:
    """Hire team after team from ``start`` while posts are open; each takes a hiring lag.

    Posts open up to the labour-market cap, again when a team leaves, and when a training
    programme raises the cap.
    """
    if start > env.now:
        yield env.timeout(start - env.now)
    while True:
        if pool.hirable <= 0:
            pool.vacancy = env.event()
            yield pool.vacancy
            continue
        yield env.timeout(lag_months * float(unit_gamma(rng, cv, (1,))[0]))
        pool.hire_team()


def staff_turnover(env: simpy.Environment, pool: TeamPool, rate_per_year: float,
                   rng: np.random.Generator) -> ProcessGen:
    """Teams leave at ``rate_per_year`` each (exponential times between departures)."""
    while True:
        active = pool.teams - pool.leaving
        if active <= 0:  # nobody to lose yet: look again in a month
            yield env.timeout(1.0)
            continue
        yield env.timeout(float(rng.exponential(12.0 / (rate_per_year * active))))
        pool.lose_team()


def training_programme(env: simpy.Environment, pool: TeamPool, at: float,
                       extra_teams: int) -> ProcessGen:
    """From ``at``, trained staff enlarge the labour market by ``extra_teams``."""
    if at > env.now:
        yield env.timeout(at - env.now)
    pool.raise_cap(extra_teams)


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
        Per sharing mode, the operator's tenant-onboarding slots.
    """

    code: str
    index: int
    teams: TeamPool
    rank: np.ndarray
    onboarding: dict[str, Slots] = field(default_factory=dict)

    def onboarding_slots(self, env: simpy.Environment, mode: str,
                         frictions: SharingFrictions) -> Slots:
        if mode not in self.onboarding:
            self.onboarding[mode] = Slots(env, frictions.operator_onboarding_slots)
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

    def connect(self) -> None:
        """Schedule every recorded release in every administration (into ``sim.t_admin``).

        Everything that does not depend on the queue (arrival, effort, durations) is
        tabulated for all (release rank, administration) pairs first, one Land's block at a
        time; only the recursion itself, the affordability deferral and the support money
        step through the ranks.
        """
        sim = self.sim
        A = len(self.state_of)
        counts = np.array([len(r) for r in self.releases], dtype=np.int64)
        K = int(counts.max(initial=0))
        if K == 0 or A == 0:
            return
        L = len(self.releases)
        # (Land, release rank) tables of what reached the Land and under which support;
        # ranks beyond a Land's releases are padding that never starts (t = inf).
        t_lk = np.full((L, K), np.inf)
        svc_lk = np.zeros((L, K), dtype=np.int64)
        ten_lk = np.zeros((L, K), dtype=bool)
        fac_lk = np.ones((3, L, K))
        for li, rel in enumerate(self.releases):
            for k, (t, service, tenancy) in enumerate(rel):
                t_lk[li, k], svc_lk[li, k], ten_lk[li, k] = t, service, tenancy
                fac_lk[:, li, k] = self._factors(li, service, t)
        ten_lk &= sim.operation.active
        # What does not depend on the queue, as (release rank, administration) tables, one
        # Land's block at a time (its draws are whole rows of the Land's columns; padding
        # ranks read some row and never start).
        st = self.state_of
        m_lk = sim.world.municipal_position[svc_lk]
        draws = sim.draws
        share = sim.cfg.municipal.external_share_when_funded
        if not self.pots:
            share = 0.0  # no support money anywhere: nothing is ever funded
        sigma, day_rate = sim.cfg.municipal.effort_sigma, sim.cfg.funding.day_rate_eur
        arrival, dur = np.empty((K, A)), np.empty((K, A))
        if share > 0:
            dur_funded, cost_base = np.empty((K, A)), np.empty((K, A))
        for li, (a0, a1) in enumerate(sim.world.admin_slices):
            lag_f, effort_f, fte_f = (f[li][:, None] for f in fac_lk)
            lag = self.lag_mean[a0:a1] * lag_f
            lag *= np.take(draws.info_lag[:, a0:a1], m_lk[li], axis=0)
            arrival[:, a0:a1] = t_lk[li][:, None] + lag
            effort = np.take(draws.onboarding_z[:, a0:a1], m_lk[li], axis=0)
            effort *= sigma
            np.exp(effort, out=effort)
            effort *= sim.onboarding_effort_pd[svc_lk[li]][:, None] * effort_f
            rate = self.rate_pd[a0:a1] * fte_f
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                dur[:, a0:a1] = np.where(effort <= 0, 0.0, effort / rate)
                if share > 0:
                    funded_effort = effort * (1.0 - share)
                    dur_funded[:, a0:a1] = np.where(funded_effort <= 0, 0.0,
                                                    funded_effort / rate)
                    cost_base[:, a0:a1] = share * effort * day_rate
        ten_k = np.asarray(ten_lk.any(axis=0))
        t_first = t_lk.min(axis=0)  # earliest release of each rank (all start later)
        op, pays_from = sim.operation, np.array(sim.operation.muni_pays_from)[st]
        H = int(sim.horizon)
        free_at = np.zeros(A)
        deferred_free_at = np.zeros(A)  # deferred connections queue among themselves
        n_paid = np.zeros(A)  # reused-service connections each administration pays for
        pot_admins = [np.flatnonzero(in_land[st]) for _p, _r, _s, _e, in_land in self.pots]
        done = np.empty((K, A))
        for k in range(K):
            start = np.maximum(arrival[k], free_at)
            deferred = None
            if ten_k[k]:
                ten = ten_lk[st, k]
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
            duration = dur[k]
            if share > 0:
                funded_any = None
                for p, (prog, remaining, p_start, p_end, _in_land) in enumerate(self.pots):
                    if p_end <= t_first[k]:
                        continue
                    who = pot_admins[p]  # administrations of the Länder the pot serves
                    s_p = start[who]
                    cost = cost_base[k, who] * prog.funding_rate
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
                if funded_any is not None:
                    duration = np.where(funded_any, dur_funded[k], duration)
            done[k] = start + duration
            if deferred is None:
                free_at = done[k]
            else:
                # A connection deferred for lack of money does not hold up the
                # administration's other connections; deferred ones queue behind each other.
                free_at = np.where(deferred, free_at, done[k])
                deferred_free_at = np.where(deferred & np.isfinite(done[k]), done[k],
                                            deferred_free_at)
        for li, (a0, a1) in enumerate(sim.world.admin_slices):
            sim.t_admin[m_lk[li, :counts[li]], a0:a1] = done[:counts[li], a0:a1]

    def book_spending(self, ledger: Ledger) -> None:
        """Ledger rows of the support money, dated in the month each onboarding started.

        Onboardings starting after the horizon are outside the run and not booked.
        """
        H = int(self.sim.horizon)
        for li, code in enumerate(self.codes):
            for p, (prog, _rem, _s, _e, in_land) in enumerate(self.pots):
                if not in_land[li]:
                    continue
                by_month = self.spent[p, li, :H]
                for mo in np.flatnonzero(by_month):
                    ledger.record(float(mo), prog.name, code, float(by_month[mo]),
                                  "municipal_onboarding")


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
    if (turn := builder.teams.acquire(int(builder.rank[service]))) is not None:
        yield turn
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
            TakeUp(env, sim, service, builder, tenant, mode)


class TakeUp:
    """A tenant Land takes up a published service: decide, contract, be onboarded.

    A Land that declines builds its own copy instead (a process). A Land that takes it up
    goes through its steps as a chain of callbacks on SimPy events (contract, budget,
    onboarding slot, onboarding) rather than as a process: there are ~6,500 take-ups per
    replication, and a generator process each cost about a tenth of the run time
    (BENCHMARKS.md). Only a Land that has to wait for its budget waits in a process.
    """

    __slots__ = ("env", "f", "land", "mode", "operator", "service", "sim", "slots", "tenant")

    def __init__(self, env: simpy.Environment, sim: Simulation, service: int,
                 operator: Builder, tenant: int, mode: str) -> None:
        self.env, self.sim, self.service, self.operator = env, sim, service, operator
        self.tenant, self.mode = tenant, mode
        f: SharingFrictions = getattr(sim.cfg.sharing, mode)
        self.f, self.land = f, sim.lands[tenant]
        d = sim.draws
        decided = f.decision_months * d.decision[service, tenant]
        if d.reuse_u[service, tenant] >= f.propensity:
            env.process(self.build_own_copy(decided))
            return
        # Nothing happens between the decision and the contract: one wait for both.
        env.timeout(decided + f.contract_months * d.contract[service, tenant]).callbacks.append(
            self.contracted)

    def build_own_copy(self, decided: float) -> ProcessGen:
        """Process: the Land declines and builds the service itself."""
        env, sim = self.env, self.sim
        yield env.timeout(decided)
        sim.log(EV_DECLINED, self.service, self.land.code, self.mode)
        yield from develop_service(env, sim, self.land, self.service, "einzel",
                                   sim.effort_pd(self.service, self.tenant, False))
        sim.make_available(self.service, self.tenant)

    def contracted(self, _event: simpy.Event | None = None) -> None:
        op = self.sim.operation
        if op.active and op.land_wait(self.tenant, self.env.now) > self.env.now + _EPS:
            self.env.process(self.wait_for_budget())
        else:
            self.agree()

    def wait_for_budget(self) -> ProcessGen:
        """Process: the tenancy waits until the Land can afford it (or the payer changes)."""
        env, sim, op = self.env, self.sim, self.sim.operation
        sim.log(EV_DEFERRED, self.service, self.land.code, self.operator.code)
        while (ready := op.land_wait(self.tenant, env.now)) > env.now + _EPS:
            until = min(ready, op.next_change(self.tenant, env.now))
            if until >= sim.horizon:
                return  # not affordable within the horizon
            yield env.timeout(until - env.now)
        self.agree()

    def agree(self) -> None:
        """The tenancy starts: fee, bookkeeping, then a turn at the operator's slots."""
        env, sim, tenant = self.env, self.sim, self.tenant
        sim.operation.n_tenancies[tenant] += 1
        sim.tenancies.append((self.service, tenant, env.now))
        sim.is_tenancy[self.service, tenant] = True
        sim.ledger.record(env.now, "own_funds", self.land.code, self.f.fee_eur, "reuse_fee")
        self.slots = self.operator.onboarding_slots(env, self.mode, self.f)
        if (turn := self.slots.take()) is not None:
            turn.callbacks.append(self.onboard)
        else:
            self.onboard()

    def onboard(self, _event: simpy.Event | None = None) -> None:
        months = (self.f.tenant_onboarding_months
                  * self.sim.draws.tenant_onboarding[self.service, self.tenant])
        self.env.timeout(months).callbacks.append(self.onboarded)

    def onboarded(self, _event: simpy.Event) -> None:
        sim = self.sim
        self.slots.give_back()
        sim.market.take_up(self.service)
        sim.log(EV_REUSED, self.service, self.land.code, self.operator.code)
        sim.make_available(self.service, self.tenant)


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
        self.operation = Operation(cfg, world)
        self.support = cfg.all_support()  # Land support items, shared by the sectors
        self.tenancies: list[tuple[int, int, float]] = []  # (service, tenant Land, agreed)
        self.is_tenancy = np.zeros((S, L), dtype=bool)
        self._is_municipal = world.services["executor"].to_numpy() == MUNICIPAL
        self._precompute_efforts()
        self._plan = self._sharing_plan()
        self._make_builders()
        self.municipal = Municipalities(self)
        self._start_processes()

    # -- setup ---------------------------------------------------------------

    def top_services(self, k: int | None) -> np.ndarray | None:
        """Mask of the ``k`` municipally executed services with most LeiKa entries.

        A proxy for the most demanded services (ties in catalogue order); ``None`` = all.
        """
        if k is None:
            return None
        svc = self.world.services
        muni = np.flatnonzero(self._is_municipal)
        n_leika = svc["n_leika"].to_numpy()[muni]
        top = muni[np.argsort(-n_leika, kind="stable")[:k]]
        mask = np.zeros(len(svc), dtype=bool)
        mask[top] = True
        return mask

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
            extra = 0
            if st.training_from is not None and st.training_cap_increase > 0:
                extra = math.floor(f * (st.staff_cap_factor + st.training_cap_increase)
                                   / st.team_fte + _EPS) - pool.max_teams
                self.env.process(training_programme(
                    self.env, pool, float(month_index(st.training_from)), extra))
            if pool.hirable > 0 or extra > 0 or st.attrition_per_year > 0:
                rng = stream(self.cfg.seed, self.replication, "hiring", i)
                self.env.process(hire_staff(self.env, pool, start, st.hiring_lag_months, rng,
                                            self.cfg.development.delay_cv))
            if st.attrition_per_year > 0:
                self.env.process(staff_turnover(
                    self.env, pool, st.attrition_per_year,
                    stream(self.cfg.seed, self.replication, "attrition", i)))
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
            self.municipal.release(state, service, t, bool(self.is_tenancy[service, state]))

    def run(self) -> RunResult:
        self.env.run(until=self.horizon)
        self.municipal.connect()
        self.municipal.book_spending(self.ledger)
        self.operation.book(self.ledger, self)
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
