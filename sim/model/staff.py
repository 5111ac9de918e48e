"""Staff: the development teams of each builder, how they grow and how they shrink.

A builder (the Bund or a Land) develops services with its own teams, one project per team.
Its :class:`TeamPool` is a resource of teams: a project that finds no idle team queues for
one, the builder's most urgent projects first. Unlike a fixed resource the pool changes
during the run: from ``hiring_start`` the builder hires team after team up to a
labour-market cap (:func:`hire_staff`), teams leave by attrition and their posts open again
(:func:`staff_turnover`), and a training programme can raise the cap
(:func:`training_programme`). :func:`staff_builder` assembles one builder's pool and starts
these processes. :class:`Slots` is the same kind of light resource for an operator's
tenant-onboarding slots.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np
import simpy

from sim.calendar import month_index
from sim.model.records import _EPS, ProcessGen
from sim.params import StaffingParams
from sim.rng import stream, unit_gamma


class TeamPool:
    """Development teams of one builder: a priority queue for teams that grows by hiring.

    ``acquire(priority)`` assigns an idle team at once (returns ``None``) or returns an
    event that fires when a team is released or hired for the project (lowest priority
    value first, ties in request order); ``release()`` hands the team on;
    ``withdraw(request)`` takes a waiting project out of the queue (it bought a product).
    A binary heap keeps these O(log n): SimPy's ``PriorityResource`` re-sorts its whole
    queue on every request, which dominated run time with hundreds of queued projects per
    builder.

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
        self._withdrawn: set[simpy.Event] = set()  # left the queue, still in the heap
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

    def withdraw(self, request: simpy.Event) -> None:
        """A waiting project leaves the queue (its ``request`` will never fire); a request
        that already got a team cannot be withdrawn."""
        if request.triggered:
            raise RuntimeError("a project that got a team cannot withdraw its request")
        self._withdrawn.add(request)

    def release(self) -> None:
        """A team finished its project: give it to the first waiting project, if any."""
        if self.leaving > 0:
            self.leaving -= 1
            self.teams -= 1
            self._open_post()
            return
        while self._waiting:
            ev = heapq.heappop(self._waiting)[2]
            if ev in self._withdrawn:
                self._withdrawn.discard(ev)
                continue
            ev.succeed()
            return
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
    """A fixed number of slots handed out by priority (a light ``simpy.PriorityResource``).

    ``take(priority)`` returns ``None`` when a slot is free (the caller goes on at once, no
    event is scheduled) or an event that fires when a slot is handed to it;
    ``give_back()`` hands the slot to the waiting caller with the lowest priority value
    (ties: the longest-waiting).
    """

    def __init__(self, env: simpy.Environment, capacity: float) -> None:
        self.env = env
        self.free = capacity  # math.inf: unlimited, nobody ever waits
        self._waiting: list[tuple[int, int, simpy.Event]] = []
        self._order = itertools.count()

    def take(self, priority: int = 0) -> simpy.Event | None:
        if self.free > 0:
            self.free -= 1
            return None
        ev = self.env.event()
        heapq.heappush(self._waiting, (priority, next(self._order), ev))
        return ev

    def give_back(self) -> None:
        if self._waiting:
            heapq.heappop(self._waiting)[2].succeed()
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


def staff_builder(env: simpy.Environment, staffing: StaffingParams, index: int,
                  initial_fte: float, seed: int, replication: int, delay_cv: float) -> TeamPool:
    """One builder's team pool, with the processes that change it started on ``env``.

    A training programme (if any) enlarges the labour market from ``training_from``;
    hiring runs from ``hiring_start`` if posts can open (now, by training or by
    attrition); attrition runs if ``attrition_per_year > 0``. The processes start in this
    order (training, hiring, attrition): the order of process creation fixes SimPy's
    tie-breaking between same-time events, so keep it.

    Parameters
    ----------
    env : simpy.Environment
    staffing : StaffingParams
    index : int
        Builder index (Länder 0..L-1, Bund L); with ``seed`` and ``replication`` it keys
        the builder's ``hiring`` and ``attrition`` streams (:func:`sim.rng.stream`).
    initial_fte : float
        Developer staff at the start (FTE).
    seed, replication : int
    delay_cv : float
        Coefficient of variation of each hiring lag (``development.delay_cv``).
    """
    st = staffing
    pool = TeamPool(env, initial_fte, st.team_fte, st.staff_cap_factor)
    extra = 0
    if st.training_from is not None and st.training_cap_increase > 0:
        extra = math.floor(initial_fte * (st.staff_cap_factor + st.training_cap_increase)
                           / st.team_fte + _EPS) - pool.max_teams
        env.process(training_programme(
            env, pool, float(month_index(st.training_from)), extra))
    if pool.hirable > 0 or extra > 0 or st.attrition_per_year > 0:
        rng = stream(seed, replication, "hiring", index)
        env.process(hire_staff(env, pool, float(month_index(st.hiring_start)),
                               st.hiring_lag_months, rng, delay_cv))
    if st.attrition_per_year > 0:
        env.process(staff_turnover(
            env, pool, st.attrition_per_year, stream(seed, replication, "attrition", index)))
    return pool
