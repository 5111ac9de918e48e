"""One replication: the wiring of the rooms of :mod:`sim.model` on one screen.

:class:`Simulation` builds the parts in a readable order: the draws of the replication,
the ledger and the money (:mod:`~sim.model.money`), the marketplace and the running-cost
rules (:mod:`~sim.model.operation`), the builders with their teams
(:mod:`~sim.model.staff`), the municipal sector (:mod:`~sim.model.municipalities`), and
then one process per (service, sharing group) (:mod:`~sim.model.sharing`). It runs SimPy
to the horizon, lets the municipal sector schedule its queues, books the running costs and
returns a :class:`~sim.model.records.RunResult`. The processes, the take-ups and the
municipal sector keep a back-reference to the simulation (its log, availability table,
draws, money and running-cost rules); their rooms import it only for type checking.

Time is in months since 2018-01 (:mod:`sim.calendar`).
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.calendar import month_index
from sim.mechanisms import switched_off
from sim.model.money import Funding, base_state_fte
from sim.model.municipalities import Municipalities
from sim.model.operation import Operation
from sim.model.records import BUND, Event, Ledger, RunResult, new_event
from sim.model.sharing import BudgetQueue, Builder, Marketplace, provide_service
from sim.model.staff import staff_builder
from sim.params import TYPE_KEYS, Config
from sim.rng import Draws
from sim.world import FEDERAL, MUNICIPAL, World


class Simulation:
    """One replication: builds the agents, starts their processes, runs to the horizon."""

    def __init__(self, world: World, cfg: Config, replication: int) -> None:
        cfg = switched_off(cfg)  # mechanisms switched off at their neutral settings
        self.world, self.cfg, self.replication = world, cfg, replication
        self.env = simpy.Environment()
        self.horizon = float(cfg.horizon_months)
        self.dev_start = float(month_index(cfg.development.start))
        self.draws = Draws.make(world, cfg.seed, replication, cfg.development.delay_cv,
                                cfg.priority.common_weight, cfg.municipal.info_lag_dispersion)
        # Per sharing mode, the tenants' (decision, contract, onboarding) delay multipliers,
        # correlated within a service by the mode's common_delay_weight (MODEL.md 7.5).
        self.reuse_delays = self.draws.reuse_delays(
            {m: getattr(cfg.sharing, m).common_delay_weight for m in ("efa", "efv")},
            cfg.development.delay_cv)
        L = world.n_states
        S = world.n_services
        self.t_state = np.full((S, L), np.inf)
        self.t_admin = np.full((len(world.municipal_services), world.n_admins), np.inf)
        self.events: list[Event] = []
        self.ledger = Ledger()
        self.funding = Funding(cfg, world, self.ledger)
        self.market = Marketplace(self.env)
        self.operation = Operation(cfg, world)
        self.support = cfg.all_support()  # Land support items, shared by the sectors
        self.tenancies: list[tuple[int, int, float]] = []  # (service, tenant Land, agreed)
        #: Running costs a programme took over by agreement:
        #: service -> (programme, from, to, operator Land).
        self.operation_cover: dict[int, tuple[str, float, float, str]] = {}
        self.is_tenancy = np.zeros((S, L), dtype=bool)
        self._budget_queues: dict[int, BudgetQueue] = {}
        self._is_municipal = world.services["executor"].to_numpy() == MUNICIPAL
        self._precompute_efforts()
        self._plan = self._sharing_plan()
        self._vendors = any(self.may_buy(mode) for groups in self._plan
                            for _b, _m, mode in groups)
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

    def budget_queue(self, land: int) -> BudgetQueue:
        """The queue of ``land``'s tenancies waiting for its budget (created when needed)."""
        if land not in self._budget_queues:
            self._budget_queues[land] = BudgetQueue(self.env, self, land)
        return self._budget_queues[land]

    def may_buy(self, mode: str) -> bool:
        """Whether a group build of this sharing mode may buy a vendor product (7.5a)."""
        mk = self.cfg.market
        return mk.enabled and mode in mk.modes

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
        for i, (code, f) in enumerate(zip(codes, ftes, strict=True)):
            pool = staff_builder(self.env, st, i, f, self.cfg.seed, self.replication,
                                 self.cfg.development.delay_cv)
            self.builders.append(Builder(code, i, pool, self.draws.priority[i]))
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
        self.events.append(new_event(self.env.now, code, service, actor, detail))

    def make_available(self, service: int, state: int | None) -> None:
        """The service can be used in ``state`` (``None``: in every Land, a federal service)."""
        t = self.env.now
        if state is None:
            self.t_state[service, :] = t
            return
        if self.t_state[service, state] <= t:
            return
        if self._vendors and not np.isfinite(self.t_state[service]).any():
            # First go-live anywhere: a vendor offers the service after a lag (7.5a).
            self.market.offer_after(service, self.cfg.market.product_lag_months
                                    * self.draws.product_lag[service])
        self.t_state[service, state] = t
        if self._is_municipal[service]:
            self.municipal.release(state, service, t, bool(self.is_tenancy[service, state]))

    def run(self) -> RunResult:
        self.env.run(until=self.horizon)
        self.municipal.connect(self.t_admin)
        self.municipal.book_spending(self.ledger)
        self.operation.book(self.ledger, self.world, int(self.horizon), self.tenancies,
                            self.is_tenancy & self._is_municipal[:, None], self.t_admin,
                            self.operation_cover)
        t_admin = self.t_admin
        t_admin[t_admin >= self.horizon] = np.inf
        t_state = self.t_state
        t_state[t_state >= self.horizon] = np.inf
        return RunResult(replication=self.replication, horizon_months=int(self.horizon),
                         t_state=t_state, t_admin=t_admin, events=self.events,
                         spending=self.ledger.rows, budgets=self.funding.initial,
                         commitments=self.funding.commitments,
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
