"""A naive reference implementation of the OZG rollout: one SimPy process per pair.

    from naive_reference import simulate_naive
    result = simulate_naive(world, cfg, replication)   # a sim.model.RunResult

The fast model (:mod:`sim.model`) batches the municipal level: one agent per Land schedules
a service for all the Land's administrations at once (a Lindley recursion over arrays).
This module runs the same mechanics the plain way, so that it can serve

- as the speed baseline of ``experiments/benchmark.py``, and
- as a statistical cross-check of the fast model (``tests/test_naive_reference.py``): with
  the same replication both see the same random inputs, and on independent replications
  their national curves must have the same distribution.

Processes
---------
- one process per (Land, service) pair of a non-federal service: the Land builds the
  service itself (its sharing group's builder, or alone under ``einzel``), or it waits
  until the builder has published it, decides, declines and builds its own copy or
  contracts, waits until it can afford the tenancy, queues for one of the operator's
  onboarding slots and is onboarded;
- one process per federal service (the Bund builds it for every Land);
- per builder: hiring, staff turnover and a training programme, as configured;
- one process per (body of a roll-out channel, service): the body prepares a municipally
  executed service that reached its Land while it operates (its slots a
  ``simpy.Resource``), then releases it to the administrations it serves;
- one process per (municipal administration, service) pair, started when a municipally
  executed service becomes available in the administration's Land (so no process exists
  for services that never reach a Land within the horizon). The process requests the
  administration's main queue (``simpy.Resource``, capacity 1, FIFO) at once; once it has
  it, it waits until the administration has heard of the service (information lag; an
  administration a channel serves first waits for its body's preparation), checks
  the running costs, draws support money and works off the internal effort with the
  administration's staff.

Reused from ``sim`` (static inputs and pure rules): :class:`~sim.world.World`,
:class:`~sim.params.Config` (and ``cfg.all_support()``), the random inputs
:meth:`~sim.rng.Draws.make` (indexed exactly as the fast model indexes them) and the
hiring/attrition streams :func:`~sim.rng.stream` with :func:`~sim.rng.unit_gamma`,
:func:`~sim.model.base_state_fte`, the money rules of :class:`~sim.model.Funding` (its
development pots with ``grant`` and ``next_opening``, the operation agreements with
``agree_operation``, and the per-administration amounts
of ``Funding.municipal``, built with ``allocation_shares`` and ``municipal_allocation``),
the payer schedule of :class:`~sim.model.Operation` (its per-Land ``bounds`` and
``rules``, the share tables, the budget base and growth; ``land_wait`` with its
``n_tenancies`` count and ``next_change`` for tenancies; ``book`` for the running-cost
rows, the months a programme covers included, and ``group_tenancy_eur_per_year``), the
reach of a roll-out channel in its documented range (:func:`~sim.model.providers.reach`),
the correlation of the tenants' reuse delays (:func:`~sim.rng.correlated_delays`),
:class:`~sim.model.Ledger` and :class:`~sim.model.RunResult`.

Written here, without vectorisation: the sharing plan, the development efforts, the
builders' team queues (a list kept sorted by priority and request order) with hiring,
turnover and training, development with funding, publication, reuse (decision, own copy,
contract, affordability, tenancy, onboarding slots), the top-k service masks and support
factors of the Land programmes, and the whole municipal level (information lag, queues,
onboarding effort, support money, the affordability check of a connection and its
deferral, durations, which channel and body serves an administration and the bodies'
preparation queues).

Differences from ``sim/model/``
-------------------------------
1. **Support money is committed when an onboarding starts.** The fast model commits an
   administration's support money when it schedules a service (the moment the service
   reaches the Land), in the order services reach the Land. Here a connection takes the
   money when it actually starts. The orders differ only around a connection deferred for
   running costs: in the fast model it takes the money before the administration's later
   connections that start earlier than it does. (With the random delays of the default
   scenario this changed nothing in the paired runs tried; with deterministic delays it
   changes a few connections of small Bavarian administrations.)
2. **A connection is checked for running costs when the administration has heard of
   it.** The administration takes services in the order they reached its Land; a
   connection that it then cannot afford leaves the main queue only at the end of its
   information lag, so a later service whose information lag ended earlier waits until
   then. In the fast model a connection that will be deferred never holds up the main
   queue (the batch knows in advance that it will be deferred). With
   ``NaiveSimulation(..., check_ahead=True)`` the check is made as the fast model makes
   it (as soon as the connection is next in line, for the moment it can start) and the
   two models agree to rounding (``tests/test_naive_reference.py``); the default is the
   plain per-pair order. With the same replication under 1 % of the connections then
   differ (0.7 % in a full-Germany replication of the default scenario, 0.4 % on the
   test's mid-size world), all in administrations that had a connection deferred.
3. **A connection that can never be afforded** (no budget growth and no cheaper payer
   ahead) is counted among the paid ones until the last payer change, then gives up its
   place; the fast model never counts it. This needs ``budget_growth_per_year = 0``.
4. **A served administration learns when its channel has prepared a service only then**
   (MODEL.md 7.6a): it waits for the preparation holding its main queue, so for a
   connection that is then deferred for running costs the reference cannot check ahead
   as the fast model does (which knows the preparation time in advance and lets a
   deferred connection never hold the queue). Without running costs the two agree to
   rounding with the channels; ``check_ahead`` agrees exactly only without them.
5. Same-time events may in principle run in a different order (a tenant's decision
   starts when the builder's publication event is processed, not in a process the
   builder starts), and floating-point times differ in the last digits.
6. **No vendor products** (``MODEL.md`` §7.5a): they act only for EfV and single-Land
   builds, and every paired and statistical check here runs the default (EfA) scenario,
   whose runs they do not change (``tests/test_market.py``). The correlated reuse delays
   (§7.5) are followed: the delays come from :func:`~sim.rng.correlated_delays`.

Everything else follows ``MODEL.md`` §7 as the fast model does; the running-cost rows are
booked by :meth:`Operation.book`, the support money per programme, Land and month in
which the onboarding started (as the fast model books them).

Speed: about 4 SimPy events per (administration, service) pair. The run holds hundreds of
thousands of live generators, which CPython's cyclic garbage collector would rescan over
and over (about two thirds of the run time at full scale), so it is paused while SimPy
runs and restored after (``pause_gc=False`` keeps it on); this changes no result. The
processes still unfinished at the horizon are left as reference cycles; a run first
collects those of earlier runs (at full scale ~3 million objects, some 15 s), so in a loop
of replications every run pays for one such clean-up.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.calendar import month_index
from sim.model import (
    EV_DECLINED,
    EV_DEFERRED,
    EV_FUNDED,
    EV_ONLINE,
    EV_PUBLISHED,
    EV_REUSED,
    SH_MUNI,
    Funding,
    Ledger,
    Operation,
    RunResult,
    base_state_fte,
)
from sim.model.providers import reach
from sim.params import TYPE_KEYS, Config
from sim.rng import Draws, stream, unit_gamma
from sim.world import FEDERAL, MUNICIPAL, World

EPS = 1e-9
BUND = "BUND"

Proc = Generator[simpy.Event, Any, Any]


# --------------------------------------------------------------------------- teams


class DevTeams:
    """The development teams of one builder and the projects waiting for a team.

    A waiting project gets the next free team in the order (priority, request number); the
    queue is a plain list kept sorted with :func:`bisect.insort`.
    """

    def __init__(self, env: simpy.Environment, fte: float, team_fte: float,
                 cap_factor: float) -> None:
        self.env = env
        self.team_fte = team_fte
        self.employed = math.floor(fte / team_fte + EPS)
        self.cap = math.floor(fte * cap_factor / team_fte + EPS)
        self.open_posts = self.cap - self.employed
        self.busy = 0  # teams on a project, including those due to leave
        self.due_to_leave = 0  # busy teams that leave when their project is done
        self.waiting: list[tuple[int, int, simpy.Event]] = []
        self.request_number = itertools.count()
        self.post_opened = env.event()

    def request(self, priority: int) -> simpy.Event:
        """Event that fires when a team starts on the caller's project."""
        ev = self.env.event()
        if self.employed - self.busy > 0:
            self.busy += 1
            ev.succeed()
        else:
            bisect.insort(self.waiting, (priority, next(self.request_number), ev))
        return ev

    def project_done(self) -> None:
        """A team finished: it leaves if due to, else takes the first waiting project."""
        if self.due_to_leave > 0:
            self.due_to_leave -= 1
            self.employed -= 1
            self.busy -= 1
            self.open_post()
        elif self.waiting:
            _priority, _number, ev = self.waiting.pop(0)
            ev.succeed()
        else:
            self.busy -= 1

    def hire(self) -> None:
        """A new team joins (if a post is open).

        If a busy team is due to leave, the newcomer takes over its project and the leaver
        goes now (its post opens again); otherwise the newcomer takes the first waiting
        project or stays idle.
        """
        if self.open_posts <= 0:
            return
        self.open_posts -= 1
        self.employed += 1
        if self.due_to_leave > 0:
            self.due_to_leave -= 1
            self.employed -= 1
            self.open_post()
        elif self.waiting:
            _priority, _number, ev = self.waiting.pop(0)
            self.busy += 1
            ev.succeed()

    def lose_one(self) -> None:
        """A team leaves: an idle one at once, else a busy one when its project is done."""
        if self.employed - self.due_to_leave <= 0:
            return
        if self.employed - self.busy > 0:
            self.employed -= 1
            self.open_post()
        else:
            self.due_to_leave += 1

    def add_posts(self, n: int) -> None:
        """The labour market grows by ``n`` teams (training)."""
        if n > 0:
            self.open_posts += n
            self.signal_post()

    def open_post(self) -> None:
        self.open_posts += 1
        self.signal_post()

    def signal_post(self) -> None:
        if not self.post_opened.triggered:
            self.post_opened.succeed()


@dataclass
class Builder:
    """The Bund or a Land as a developer of services."""

    code: str
    index: int  # column of the builder-indexed draws (Länder 0..L-1, Bund L)
    teams: DevTeams
    rank: np.ndarray  # work order over services
    slots: dict[str, simpy.PriorityResource] = field(default_factory=dict)  # per mode


@dataclass(slots=True)
class News:
    """A municipally executed service that became available in a Land at ``time``.

    Shared by the processes of the Land's administrations: the Land programmes' factors in
    force at ``time``, the onboarding effort before each administration's own noise, and
    the draws of the Land's administrations (``first_admin`` is the first one's index).
    """

    service: int
    m: int  # row of the service in the (Sm, A) arrays
    land: int
    time: float
    lag_factor: float
    effort_pd: float
    fte_factor: float
    tenancy: bool  # reused here while running costs apply: connections are checked
    first_admin: int
    info_lag: list[float]
    effort_z: list[float]


@dataclass
class Group:
    """A sharing group of one service: who builds it, for whom, in which mode."""

    builder: int  # Land index, or L for the Bund
    members: tuple[int, ...]
    mode: str
    published: simpy.Event | None = None


# --------------------------------------------------------------------------- the run


class NaiveSimulation:
    """One replication, one process per (Land, service) and (administration, service)."""

    def __init__(self, world: World, cfg: Config, replication: int, *,
                 check_ahead: bool = False, pause_gc: bool = True) -> None:
        self.world, self.cfg, self.replication = world, cfg, replication
        self.check_ahead = check_ahead
        self.pause_gc = pause_gc
        self.env = simpy.Environment()
        self.horizon = float(cfg.horizon_months)
        self.dev_start = float(month_index(cfg.development.start))
        self.draws = Draws.make(world, cfg.seed, replication, cfg.development.delay_cv,
                                cfg.priority.common_weight, cfg.municipal.info_lag_dispersion)
        self.reuse_delays = self.draws.reuse_delays(  # correlated_delays, per mode
            {m: getattr(cfg.sharing, m).common_delay_weight for m in ("efa", "efv")},
            cfg.development.delay_cv)
        S, L, A = world.n_services, world.n_states, world.n_admins
        self.codes = [str(c) for c in world.states["state"]]
        self.t_state = np.full((S, L), np.inf)
        self.t_admin = np.full((len(world.municipal_services), A), np.inf)
        self.events: list[tuple[float, int, int, str, str]] = []
        self.ledger = Ledger()
        self.funding = Funding(cfg, world, self.ledger)
        self.operation = Operation(cfg, world)
        # What Operation.book books the running costs from (with horizon, world, t_admin).
        self.tenancies: list[tuple[int, int, float]] = []
        self.is_tenancy = np.zeros((S, L), dtype=bool)
        # Running costs programmes took over: service -> (programme, from, to, operator).
        self.operation_cover: dict[int, tuple[str, float, float, str]] = {}
        self._is_municipal = (world.services["executor"] == MUNICIPAL).to_numpy()
        self.n_leika = [float(x) for x in world.services["n_leika"]]
        self.median_leika = float(np.median(self.n_leika))
        self._setup_admins()
        self.plan = self._sharing_plan()
        self._make_builders()
        self._start_service_processes()

    # -- set-up ----------------------------------------------------------------

    def _sharing_plan(self) -> list[list[Group]]:
        """The groups of every service (MODEL.md §7.1)."""
        w, strat = self.world, self.cfg.strategy
        L = w.n_states
        index = {code: i for i, code in enumerate(self.codes)}
        population = [int(p) for p in w.states["population"]]
        efv_groups: list[tuple[int, ...]] = []
        listed: set[int] = set()
        for g in strat.efv_groups:
            members = tuple(sorted(index[c] for c in g if c in index))
            if members:
                efv_groups.append(members)
                listed.update(members)
        for i in range(L):
            if i not in listed:
                efv_groups.append((i,))
        plan: list[list[Group]] = []
        for s in range(w.n_services):
            row = w.services.iloc[s]
            if row["executor"] == FEDERAL:
                plan.append([Group(L, tuple(range(L)), "federal")])
                continue
            mode = strat.mode_by_type[TYPE_KEYS[row["service_type"]]]
            lead = int(row["lead_state"])
            if mode == "efa":
                plan.append([Group(lead, tuple(range(L)), "efa")])
            elif mode == "efv":
                groups = []
                for g in efv_groups:
                    if lead in g:
                        builder = lead
                    else:  # the most populous member (the first of equals)
                        builder = g[0]
                        for i in g:
                            if population[i] > population[builder]:
                                builder = i
                    groups.append(Group(builder, g, "efv"))
                plan.append(groups)
            else:
                plan.append([Group(i, (i,), "einzel") for i in range(L)])
        return plan

    def _make_builders(self) -> None:
        cfg, st = self.cfg, self.cfg.staffing
        L = self.world.n_states
        shared_builds = [0] * L
        for groups in self.plan:
            for g in groups:
                if g.builder < L and len(g.members) > 1:
                    shared_builds[g.builder] += 1
        base = base_state_fte(cfg, self.world)
        ftes = [float(base[i]) + st.lead_fte_per_service * shared_builds[i] * st.dev_fte_factor
                for i in range(L)]
        ftes.append(st.bund_fte * st.dev_fte_factor)
        hiring_start = float(month_index(st.hiring_start))
        self.builders: list[Builder] = []
        for i, (code, fte) in enumerate(zip([*self.codes, BUND], ftes, strict=True)):
            teams = DevTeams(self.env, fte, st.team_fte, st.staff_cap_factor)
            self.builders.append(Builder(code, i, teams, self.draws.priority[i]))
            extra = 0
            if st.training_from is not None and st.training_cap_increase > 0:
                cap_after = math.floor(fte * (st.staff_cap_factor + st.training_cap_increase)
                                       / st.team_fte + EPS)
                extra = cap_after - teams.cap
                self.env.process(self.training(teams, float(month_index(st.training_from)),
                                               extra))
            if teams.open_posts > 0 or extra > 0 or st.attrition_per_year > 0:
                rng = stream(cfg.seed, self.replication, "hiring", i)
                self.env.process(self.hiring(teams, hiring_start, rng))
            if st.attrition_per_year > 0:
                rng = stream(cfg.seed, self.replication, "attrition", i)
                self.env.process(self.turnover(teams, rng))

    def _setup_admins(self) -> None:
        """Per administration: staff, information lag, budget, queues, support money."""
        w, cfg = self.world, self.cfg
        A = w.n_admins
        size = [int(c) for c in w.admins["size_class"]]
        pop = [float(p) for p in w.admins["population"]]
        st = cfg.staffing
        self.admin_state = [int(s) for s in w.admins["state"]]
        self.rate_pd = [st.municipal_fte_by_size_class[c] * st.municipal_fte_factor
                        * st.productive_days_per_fte_month for c in size]
        self.lag_mean = [cfg.municipal.info_lag_months_by_size_class[c] for c in size]
        self.budget = [p * cfg.operation.municipal_budget_eur_per_capita_year for p in pop]
        self.n_paid = [0] * A
        self.n_deferred = 0  # connections deferred for lack of money (diagnostics)
        self.deferred_admins: set[int] = set()  # administrations with such a connection
        op = self.operation
        self.payer_schedule = [([float(b) for b in op.bounds[i]], [int(r) for r in op.rules[i]])
                               for i in range(w.n_states)]
        self.muni_share = [float(x) for x in op.muni_shares[:, SH_MUNI]]
        self.main_queue = [simpy.Resource(self.env, capacity=1) for _ in range(A)]
        self.deferred_queue = [simpy.Resource(self.env, capacity=1) for _ in range(A)]
        # Support money: (programme, remaining EUR per administration, start, end), and for
        # each Land the pots that hold money for some of its administrations.
        self.muni_pots = [(prog, [float(x) for x in eur], start, end)
                          for prog, eur, start, end in self.funding.municipal]
        self.muni_pots_of_land = [
            [pot for pot in self.muni_pots if sum(pot[1][a0:a1]) > 0]
            for a0, a1 in w.admin_slices]
        # EUR committed per (programme, Land, month in which the onboarding started).
        self.support_spent: dict[tuple[str, int, int], float] = {}
        # Roll-out channels (municipal IT providers, Land platforms) of each Land, by start:
        # (start, reach, bodies); each body a queue of preparation slots.
        pv = cfg.providers
        ch = w.channels if pv.enabled else w.channels.iloc[:0]
        share = reach(pv, ch["share_low"].to_numpy(), ch["share_central"].to_numpy(),
                      ch["share_high"].to_numpy())
        self.channels_of_land: list[list[tuple[float, float, int, int]]] = [
            [] for _ in range(w.n_states)]
        for r in range(len(ch)):
            self.channels_of_land[int(ch["state"].iat[r])].append(
                (float(ch["from_month"].iat[r]), float(share[r]), int(ch["n_bodies"].iat[r]),
                 int(ch["body_offset"].iat[r])))
        self.body_slots = {(li, off + b): simpy.Resource(self.env, pv.slots_per_body)
                           for li, chans in enumerate(self.channels_of_land)
                           for _s, _r, n, off in chans for b in range(n)}
        self.prepared: dict[tuple[int, int, int], simpy.Event] = {}  # (Land, body, service)
        self.rollout_u = [float(x) for x in w.admins["rollout_u"]]
        self.body_u = [float(x) for x in w.admins["body_u"]]
        # Land support items in force for each Land.
        self.support: list[list[tuple[float, float, float, float, float, set[int] | None]]] = []
        for code in self.codes:
            items = []
            for sp in cfg.all_support():
                if sp.states is None or code in sp.states:
                    items.append((float(month_index(sp.start)), float(month_index(sp.end) + 1),
                                  sp.info_lag_factor, sp.effort_factor, sp.fte_factor,
                                  self._top_services(sp.max_services)))
            self.support.append(items)

    def _top_services(self, k: int | None) -> set[int] | None:
        """The ``k`` municipal services with most LeiKa entries (ties: catalogue order)."""
        if k is None:
            return None
        muni = [s for s in range(self.world.n_services) if self._is_municipal[s]]
        return set(sorted(muni, key=lambda s: (-self.n_leika[s], s))[:k])

    def _start_service_processes(self) -> None:
        """Builders' processes in their work order, then the tenants' processes.

        All projects ask for a team at the development start; a builder's free teams go to
        its projects in the order they ask, so they ask in the builder's work order.
        """
        builds = []
        for s, groups in enumerate(self.plan):
            for g in groups:
                builds.append((int(self.builders[g.builder].rank[s]), s, g.builder, g))
        builds.sort(key=lambda b: (b[0], b[1], b[2]))
        for _rank, s, b, g in builds:
            if g.mode == "federal":
                self.env.process(self.federal_service(s))
            else:
                if len(g.members) > 1:
                    g.published = self.env.event()
                self.env.process(self.land_service(s, b, g))
        for s, groups in enumerate(self.plan):
            for g in groups:
                if g.mode == "federal":
                    continue
                for land in g.members:
                    if land != g.builder:
                        self.env.process(self.land_service(s, land, g))

    # -- helpers ---------------------------------------------------------------

    def log(self, code: int, service: int, actor: str, detail: str = "") -> None:
        self.events.append((self.env.now, code, service, actor, detail))

    def effort_pd(self, service: int, builder: int, shared: bool) -> float:
        """Person-days for ``builder`` to build ``service`` (MODEL.md §7.2)."""
        dev = self.cfg.development
        rel = self.n_leika[service] / self.median_leika
        effort = (dev.effort_person_days * rel ** dev.complexity_elasticity
                  * math.exp(dev.effort_sigma * float(self.draws.complexity_z[service])))
        effort *= math.exp(dev.builder_effort_sigma
                           * float(self.draws.builder_z[service, builder]))
        if shared:
            effort *= 1.0 + dev.shared_build_overhead
        return effort

    def available(self, service: int, land: int) -> None:
        """``service`` can be used in ``land`` from now; its municipalities start connecting."""
        now = self.env.now
        self.t_state[service, land] = now
        if not self._is_municipal[service]:
            return
        lag_f = effort_f = fte_f = 1.0
        for start, end, lag, eff, fte, only in self.support[land]:
            if start <= now < end and (only is None or service in only):
                lag_f, effort_f, fte_f = lag_f * lag, effort_f * eff, fte_f * fte
        mp = self.cfg.municipal
        effort = (mp.onboarding_effort_person_days
                  * (self.n_leika[service] / self.median_leika) ** mp.complexity_elasticity
                  * self.cfg.strategy.municipal_effort_factor)
        m = int(self.world.municipal_position[service])
        a0, a1 = self.world.admin_slices[land]
        news = News(service=service, m=m, land=land, time=now, lag_factor=lag_f,
                    effort_pd=effort * effort_f, fte_factor=fte_f,
                    tenancy=bool(self.is_tenancy[service, land]) and self.operation.active,
                    first_admin=a0, info_lag=self.draws.info_lag[m, a0:a1].tolist(),
                    effort_z=self.draws.onboarding_z[m, a0:a1].tolist())
        for start, _reach, n_bodies, off in self.channels_of_land[land]:
            if start <= now:  # every operating body prepares the service
                for b in range(n_bodies):
                    done = self.env.event()
                    self.prepared[(land, off + b, service)] = done
                    self.env.process(self.prepare(land, off + b, m, done))
        for a in range(a0, a1):
            self.env.process(self.connect(a, news))

    def prepare(self, land: int, body: int, m: int, done: simpy.Event) -> Proc:
        """A body of a roll-out channel prepares a service for the administrations it
        serves (its slots in the order services reached the Land)."""
        with self.body_slots[(land, body)].request() as slot:
            yield slot
            yield self.env.timeout(self.cfg.providers.preparation_months
                                   * float(self.draws.provider_prep[m, land, body]))
        done.succeed(self.env.now)

    def channel_body(self, a: int, land: int, t: float) -> int | None:
        """The body that rolls a service reaching ``land`` at ``t`` out to ``a``: of the
        earliest-operating channel that reaches ``a`` and operates at ``t``."""
        for start, share, n_bodies, off in self.channels_of_land[land]:
            if start <= t and self.rollout_u[a] < share:
                return off + min(int(self.body_u[a] * n_bodies), n_bodies - 1)
        return None

    # -- staff -----------------------------------------------------------------

    def hiring(self, teams: DevTeams, start: float, rng: np.random.Generator) -> Proc:
        """From ``start`` hire team after team while posts are open (a gamma lag each)."""
        env = self.env
        if env.now < start:
            yield env.timeout(start - env.now)
        lag = self.cfg.staffing.hiring_lag_months
        cv = self.cfg.development.delay_cv
        while True:
            if teams.open_posts <= 0:
                teams.post_opened = env.event()
                yield teams.post_opened
                continue
            yield env.timeout(lag * float(unit_gamma(rng, cv, (1,))[0]))
            teams.hire()

    def turnover(self, teams: DevTeams, rng: np.random.Generator) -> Proc:
        """Teams leave at ``attrition_per_year`` each (exponential gaps)."""
        env = self.env
        rate = self.cfg.staffing.attrition_per_year
        while True:
            active = teams.employed - teams.due_to_leave
            if active <= 0:
                yield env.timeout(1.0)
                continue
            yield env.timeout(float(rng.exponential(12.0 / (rate * active))))
            teams.lose_one()

    def training(self, teams: DevTeams, at: float, extra: int) -> Proc:
        """From ``at`` trained staff enlarge the labour market by ``extra`` teams."""
        env = self.env
        if env.now < at:
            yield env.timeout(at - env.now)
        teams.add_posts(extra)

    # -- development, publication, reuse -----------------------------------------

    def develop(self, builder: Builder, service: int, mode: str, effort: float) -> Proc:
        """Wait for a team, then work off ``effort``; contractors join if a pot funds them."""
        env, funding = self.env, self.funding
        team = builder.teams.team_fte
        days = self.cfg.staffing.productive_days_per_fte_month
        yield builder.teams.request(int(builder.rank[service]))
        remaining = effort
        ext, ext_from = 0.0, math.inf
        while remaining > EPS:
            now = env.now
            if ext == 0.0:
                ext, programme, ext_from = funding.grant(now, builder.code, mode, remaining,
                                                         team, days)
                if programme is not None:
                    self.log(EV_FUNDED, service, builder.code, programme)
            working = team + (ext if now >= ext_from - EPS else 0.0)
            rate = working * days
            if ext > 0:
                change = ext_from if now < ext_from - EPS else None
            else:
                change = funding.next_opening(now, builder.code, mode)
            if change is not None and change < now + remaining / rate:
                remaining -= rate * (change - now)
                yield env.timeout(change - now)
            else:
                yield env.timeout(remaining / rate)
                remaining = 0.0
        builder.teams.project_done()
        self.log(EV_ONLINE, service, builder.code)

    def operation_agreement(self, service: int, builder: Builder, group: Group) -> Proc:
        """The operator of a published service asks for an agreement on the running costs of
        the group's other members, now or when a programme covering operation opens."""
        eur = self.operation.group_tenancy_eur_per_year(group.members, builder.index)
        while eur > 0:
            got = self.funding.agree_operation(self.env.now, builder.code, group.mode, eur)
            if got is not None:
                self.operation_cover[service] = (*got, builder.code)
                return
            opens = self.funding.next_opening(self.env.now, builder.code, group.mode,
                                              "operation")
            if opens is None or opens >= self.horizon:
                return
            yield self.env.timeout(opens - self.env.now)

    def federal_service(self, service: int) -> Proc:
        """The Bund builds a Typ-1 service; it is then online in every Land."""
        env = self.env
        if env.now < self.dev_start:
            yield env.timeout(self.dev_start - env.now)
        bund = self.builders[-1]
        shared = self.world.n_states > 1  # a group of every Land
        yield from self.develop(bund, service, "federal",
                                self.effort_pd(service, bund.index, shared))
        self.t_state[service, :] = env.now

    def land_service(self, service: int, land: int, group: Group) -> Proc:
        """How ``service`` reaches ``land``: built here, or published elsewhere and reused."""
        env = self.env
        if land == group.builder:
            if env.now < self.dev_start:
                yield env.timeout(self.dev_start - env.now)
            builder = self.builders[land]
            shared = len(group.members) > 1
            yield from self.develop(builder, service, group.mode,
                                    self.effort_pd(service, land, shared))
            self.available(service, land)
            if shared:
                yield env.timeout(self.cfg.development.publication_months
                                  * float(self.draws.publication[service, land]))
                self.log(EV_PUBLISHED, service, builder.code, group.mode)
                assert group.published is not None
                group.published.succeed()
                yield from self.operation_agreement(service, builder, group)
            return
        # A member of a group built by another Land.
        assert group.published is not None
        yield group.published
        operator = self.builders[group.builder]
        me = self.builders[land]
        f = getattr(self.cfg.sharing, group.mode)
        d = self.draws
        decision, contract, onboarding = self.reuse_delays[group.mode]
        yield env.timeout(f.decision_months * float(decision[service, land]))
        if d.reuse_u[service, land] >= f.propensity:
            self.log(EV_DECLINED, service, me.code, group.mode)
            yield from self.develop(me, service, "einzel", self.effort_pd(service, land, False))
            self.available(service, land)
            return
        yield env.timeout(f.contract_months * float(contract[service, land]))
        op = self.operation
        if op.active:
            logged = False
            while True:
                ready = op.land_wait(land, env.now)
                if ready <= env.now + EPS:
                    break
                if not logged:
                    self.log(EV_DEFERRED, service, me.code, operator.code)
                    logged = True
                until = min(ready, op.next_change(land, env.now))
                if until >= self.horizon:
                    return  # not affordable within the horizon
                yield env.timeout(until - env.now)
        op.n_tenancies[land] += 1
        self.tenancies.append((service, land, env.now))
        self.is_tenancy[service, land] = True
        self.ledger.record(env.now, "own_funds", me.code, f.fee_eur, "reuse_fee")
        if group.mode not in operator.slots:
            operator.slots[group.mode] = simpy.PriorityResource(
                env, f.operator_onboarding_slots)
        # Waiting tenants are onboarded in the operator's work order.
        with operator.slots[group.mode].request(priority=int(operator.rank[service])) as slot:
            yield slot
            yield env.timeout(f.tenant_onboarding_months * float(onboarding[service, land]))
        self.log(EV_REUSED, service, me.code, operator.code)
        self.available(service, land)

    # -- municipal ---------------------------------------------------------------

    def payer_rule(self, land: int, t: float) -> int:
        """Payer rule of ``land`` in force at ``t`` (from Operation's schedule)."""
        bounds, rules = self.payer_schedule[land]
        return rules[bisect.bisect_right(bounds, t) - 1]

    def next_payer_change(self, land: int, t: float) -> float:
        bounds, _rules = self.payer_schedule[land]
        i = bisect.bisect_right(bounds, t)
        return bounds[i] if i < len(bounds) else math.inf

    def afford_time(self, a: int, need_eur: float) -> float:
        """When administration ``a``'s growing budget covers a yearly bill of ``need_eur``.

        The rule of :meth:`Operation._afford_time`, for one administration.
        """
        op = self.operation
        budget = self.budget[a]
        if op.log_growth > 0:
            if need_eur <= 0 or budget <= 0:
                return -math.inf if need_eur <= 0 else math.inf
            return op.base + 12.0 * math.log(need_eur / budget) / op.log_growth
        return -math.inf if need_eur <= budget else math.inf

    def wait_until(self, t: float) -> Proc:
        if t > self.env.now:
            yield self.env.timeout(t - self.env.now)

    def connect(self, a: int, news: News) -> Proc:
        """Administration ``a`` connects a service that became available in its Land."""
        env = self.env
        i = a - news.first_admin
        queue = self.main_queue[a]
        turn = queue.request()
        yield turn  # the administration has finished the services that came before
        body = self.channel_body(a, news.land, news.time)
        member = 1.0
        if body is None:
            arrival = news.time + self.lag_mean[a] * news.lag_factor * news.info_lag[i]
        else:  # its channel prepares the service; then it activates it
            done = self.prepared[(news.land, body, news.service)]
            if not done.triggered:
                yield done
            arrival = (float(done.value) + self.cfg.providers.announcement_lag_months
                       * news.lag_factor * news.info_lag[i])
            member = self.cfg.providers.member_effort_factor
        ready = max(arrival, env.now)
        holding: tuple[simpy.Resource, simpy.Event] | None = (queue, turn)
        if not news.tenancy:
            if ready > env.now:
                yield env.timeout(ready - env.now)  # until the administration hears of it
        else:
            if not self.check_ahead and ready > env.now:
                yield env.timeout(ready - env.now)
            holding = yield from self.running_cost_check(a, news.land, ready, queue, turn)
            if holding is None:
                return  # never affordable
        start = env.now
        mp = self.cfg.municipal
        effort = news.effort_pd * math.exp(mp.effort_sigma * news.effort_z[i]) * member
        internal = effort
        share = mp.external_share_when_funded
        if share > 0:
            for prog, remaining, p_start, p_end in self.muni_pots_of_land[news.land]:
                cost = share * effort * self.cfg.funding.day_rate_eur * prog.funding_rate
                if p_start <= start < p_end and remaining[a] >= cost - 1e-6:
                    remaining[a] = max(0.0, remaining[a] - cost)
                    month = min(math.floor(start), int(self.horizon))
                    key = (prog.name, news.land, month)
                    self.support_spent[key] = self.support_spent.get(key, 0.0) + cost
                    internal = effort * (1.0 - share)
                    break
        if internal > 0:
            rate = self.rate_pd[a] * news.fte_factor
            if rate <= 0:
                yield env.event()  # no staff: never done (and the queue stays blocked)
            yield env.timeout(internal / rate)
        self.t_admin[news.m, a] = env.now
        holding[0].release(holding[1])

    def running_cost_check(self, a: int, land: int, t: float, queue: simpy.Resource,
                           turn: simpy.Event) -> Proc:
        """Wait until administration ``a`` can afford one more connection from ``t`` on.

        It pays its share of ``n_paid + 1`` connections; every connection that goes through
        this check counts. If the bill does not fit its budget at ``t``, the connection
        leaves the main queue (the administration goes on with its other services), waits
        until the budget has grown enough or the payer changes (then checks again), and
        queues behind the administration's earlier deferred connections. Returns the
        queue and request the connection holds while it is worked on (``None``: never
        affordable; the connection gives up).
        """
        cost = self.cfg.operation.admin_cost_eur_per_year
        n = self.n_paid[a]
        self.n_paid[a] += 1
        deferred: simpy.Event | None = None
        while True:
            share = self.muni_share[self.payer_rule(land, t)]
            when = self.afford_time(a, (n + 1) * cost * share) if share > 0 else -math.inf
            if when <= t:
                break  # affordable at t
            if deferred is None:
                self.n_deferred += 1
                self.deferred_admins.add(a)
                queue.release(turn)
                deferred = self.deferred_queue[a].request()
            next_payer = self.next_payer_change(land, t)
            if when <= next_payer:  # affordable once the budget has grown
                t = when
                break
            if math.isinf(next_payer):  # never affordable
                self.n_paid[a] -= 1
                deferred.cancel()  # leave the queue if still waiting in it
                self.deferred_queue[a].release(deferred)
                return None
            yield from self.wait_until(next_payer)  # check again under the next payer
            t = next_payer
        yield from self.wait_until(t)
        if deferred is None:
            return queue, turn
        yield deferred  # the earlier deferred connections are done
        return self.deferred_queue[a], deferred

    # -- result ------------------------------------------------------------------

    def run(self) -> RunResult:
        collecting = gc.isenabled()
        if self.pause_gc:
            # Free the cycles an earlier run left behind (its unfinished processes) before
            # pausing the collector; otherwise they pile up over runs in one process.
            gc.collect()
            gc.disable()
        try:
            self.env.run(until=self.horizon)
        finally:
            if collecting:
                gc.enable()
        H = int(self.horizon)
        for land, code in enumerate(self.codes):
            for prog, _remaining, _start, _end in self.muni_pots:
                months = sorted(m for (name, li, m) in self.support_spent
                                if name == prog.name and li == land and m < H)
                for m in months:
                    self.ledger.record(float(m), prog.name, code,
                                       self.support_spent[(prog.name, land, m)],
                                       "municipal_onboarding")
        self.operation.book(self.ledger, self.world, int(self.horizon), self.tenancies,
                            self.is_tenancy & self._is_municipal[:, None], self.t_admin,
                            self.operation_cover)
        self.t_admin[self.t_admin >= self.horizon] = np.inf
        self.t_state[self.t_state >= self.horizon] = np.inf
        counter = getattr(self.env, "_eid", None)
        return RunResult(replication=self.replication, horizon_months=H,
                         t_state=self.t_state, t_admin=self.t_admin, events=self.events,
                         spending=self.ledger.rows, budgets=self.funding.initial,
                         commitments=self.funding.commitments,
                         n_simpy_events=int(next(counter)) if counter is not None else -1)


def simulate_naive(world: World, cfg: Config, replication: int) -> RunResult:
    """Run one replication of the naive reference model (same draws as ``sim.model``)."""
    return NaiveSimulation(world, cfg, replication).run()
