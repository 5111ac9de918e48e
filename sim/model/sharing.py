"""Sharing: who builds a service for whom, how it goes online, and how others take it up.

A :class:`Builder` (the Bund, a Land, a lead state) develops a service for its sharing
group with its own teams, helped by contractors if a funding programme pays
(:func:`develop_service`). Once it is online the builder uses it itself (a federal service
is available in every Land at once); if it was built for a group, the builder publishes it
on the :class:`Marketplace` (FIT-Store / EfA marketplace) and every other member decides
whether to take it up (:class:`TakeUp`): a Land that declines builds its own copy, a Land
that takes it up contracts, waits until it can afford the running costs, queues for one of
the operator's onboarding slots and is onboarded (:func:`provide_service` runs the whole
chain for one service and group).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.model.records import (
    _EPS,
    EV_BOUGHT,
    EV_DECLINED,
    EV_DEFERRED,
    EV_FUNDED,
    EV_ONLINE,
    EV_PUBLISHED,
    EV_REUSED,
    ProcessGen,
)
from sim.model.staff import Slots, TeamPool
from sim.params import SharingFrictions

if TYPE_CHECKING:
    # Only for annotations: importing the simulation at runtime would form a cycle
    # (sim.model.simulation imports this module).
    from sim.model.simulation import Simulation


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
        Work order over services (lower first; :func:`sim.rng.work_order`): of its teams
        as a builder, of its onboarding slots as an operator.
    onboarding : dict
        Per sharing mode, the operator's tenant-onboarding slots.
    """

    code: str
    index: int
    teams: TeamPool
    rank: np.ndarray
    onboarding: dict[str, Slots] = field(default_factory=dict)

    def onboarding_slots(self, env: simpy.Environment, mode: str,
                         frictions: SharingFrictions, unlimited: bool = False) -> Slots:
        """The operator's onboarding slots of ``mode`` (created when first asked for);
        ``unlimited``: the mechanism is switched off, every tenant is onboarded at once."""
        if mode not in self.onboarding:
            self.onboarding[mode] = Slots(
                env, math.inf if unlimited else frictions.operator_onboarding_slots)
        return self.onboarding[mode]


class Marketplace:
    """Where shared services are published (FIT-Store / EfA marketplace) and taken up, and
    where vendors offer services as products (MODEL.md 7.5a)."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.published: dict[int, tuple[str, float]] = {}
        self.take_ups: dict[int, int] = {}
        self._offers: dict[int, simpy.Event] = {}

    def offer(self, service: int) -> simpy.Event:
        """The event that fires when a vendor offers ``service`` as a product."""
        if service not in self._offers:
            self._offers[service] = self.env.event()
        return self._offers[service]

    def offer_after(self, service: int, months: float) -> None:
        """A vendor offers ``service`` ``months`` from now (its first go-live)."""
        ev = self.offer(service)

        def fire(_e: simpy.Event) -> None:
            ev.succeed()

        self.env.timeout(months).callbacks.append(fire)

    def publish(self, service: int, operator: str, t: float) -> None:
        self.published[service] = (operator, t)

    def take_up(self, service: int) -> None:
        self.take_ups[service] = self.take_ups.get(service, 0) + 1


def develop_service(env: simpy.Environment, sim: Simulation, builder: Builder, service: int,
                    mode: str, effort_pd: float) -> ProcessGen:
    """Build one service: wait for a free team, then work off its effort.

    A project funded by a programme adds external contractors for its remaining effort from
    the moment the money flows (money committed when it applies; see
    :meth:`~sim.model.money.Funding.grant`). An unfunded project that is still running when
    a programme it is eligible for opens applies at that moment.
    """
    if (turn := builder.teams.acquire(int(builder.rank[service]))) is not None:
        yield turn
    yield from work_off(env, sim, builder, service, mode, effort_pd)


def work_off(env: simpy.Environment, sim: Simulation, builder: Builder, service: int,
             mode: str, effort_pd: float) -> ProcessGen:
    """The project's team (already assigned) works off its effort (see
    :func:`develop_service`), then is released."""
    team_fte = builder.teams.team_fte
    days = sim.cfg.staffing.productive_days_per_fte_month
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


def build_or_buy(env: simpy.Environment, sim: Simulation, builder: Builder, service: int,
                 mode: str, effort_pd: float) -> ProcessGen:
    """Develop the service (:func:`develop_service`), unless a vendor offers it while the
    project still waits for a team and the builder buys it (MODEL.md 7.5a): then the
    project leaves the team queue, the builder tenders, the vendor configures the product,
    and the builder pays ``price_share`` of the cost of the build from its own funds."""
    mk = sim.cfg.market
    turn = builder.teams.acquire(int(builder.rank[service]))
    if turn is not None:
        offer = sim.market.offer(service)
        yield turn | offer
        if not turn.triggered and sim.draws.buy_u[service, builder.index] < mk.adoption_share:
            builder.teams.withdraw(turn)
            d, b = sim.draws, builder.index
            yield env.timeout(mk.procurement_months * d.procurement[service, b]
                              + mk.integration_months * d.integration[service, b])
            sim.ledger.record(env.now, "own_funds", builder.code, mk.price_share * effort_pd
                              * sim.cfg.funding.day_rate_eur, "vendor_product")
            sim.log(EV_BOUGHT, service, builder.code, mode)
            return
        if not turn.triggered:  # not bought: keep waiting for a team
            yield turn
    yield from work_off(env, sim, builder, service, mode, effort_pd)


def provide_service(env: simpy.Environment, sim: Simulation, service: int, builder: Builder,
                    members: tuple[int, ...], mode: str) -> ProcessGen:
    """Bring one service to a sharing group: develop (or buy), go live, publish, let
    members reuse."""
    start = sim.dev_start
    if env.now < start:
        yield env.timeout(start - env.now)
    shared = len(members) > 1
    effort = sim.effort_pd(service, builder.index, shared)
    if sim.may_buy(mode):
        yield from build_or_buy(env, sim, builder, service, mode, effort)
    else:
        yield from develop_service(env, sim, builder, service, mode, effort)
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
    yield from agree_operation(env, sim, service, builder, members, mode)


def agree_operation(env: simpy.Environment, sim: Simulation, service: int, builder: Builder,
                    members: tuple[int, ...], mode: str) -> ProcessGen:
    """A published shared service asks a programme covering ``operation`` to take over its
    running costs (MODEL.md 7.3): at once, or when such a programme opens if it was
    published before. The agreement covers the planned tenancies of the group (every
    member but the operator, as :meth:`Operation.book` charges them)."""
    eur = sim.operation.group_tenancy_eur_per_year(members, builder.index)
    if eur <= 0:
        return
    while True:
        got = sim.funding.agree_operation(env.now, builder.code, mode, eur)
        if got is not None:
            sim.operation_cover[service] = (*got, builder.code)
            return
        opens = sim.funding.next_opening(env.now, builder.code, mode, "operation")
        if opens is None or opens >= sim.horizon:
            return
        yield env.timeout(opens - env.now)


class BudgetQueue:
    """Tenancies of one Land waiting until it can afford one more (running costs, MODEL.md
    7.8), first come first served.

    One process serves the queue: it sleeps until the Land can afford the next tenancy (or
    its payer changes), lets the first waiting tenancy agree, and looks again at once.
    Every waiting tenancy of a Land waits for the same moment, so one waiter per Land gives
    the order in which separate waiters would wake (first come first served) without waking
    all of them each time one tenancy becomes affordable (quadratic, BENCHMARKS.md).
    """

    def __init__(self, env: simpy.Environment, sim: Simulation, land: int) -> None:
        self.env, self.sim, self.land = env, sim, land
        self.waiting: deque[TakeUp] = deque()
        self.serving = False

    def join(self, take_up: TakeUp) -> None:
        self.sim.log(EV_DEFERRED, take_up.service, take_up.land.code, take_up.operator.code)
        self.waiting.append(take_up)
        if not self.serving:
            self.serving = True
            self.env.process(self.serve())

    def serve(self) -> ProcessGen:
        env, sim, op = self.env, self.sim, self.sim.operation
        while self.waiting:
            ready = op.land_wait(self.land, env.now)
            if ready <= env.now + _EPS:
                self.waiting.popleft().agree()
                continue
            until = min(ready, op.next_change(self.land, env.now))
            if until >= sim.horizon:
                self.waiting.clear()  # not affordable within the horizon
                break
            yield env.timeout(until - env.now)
        self.serving = False


class TakeUp:
    """A tenant Land takes up a published service: decide, contract, be onboarded.

    A Land that declines builds its own copy instead (a process). A Land that takes it up
    goes through its steps as a chain of callbacks on SimPy events (contract, budget,
    onboarding slot, onboarding) rather than as a process: there are ~6,500 take-ups per
    replication, and a generator process each cost about a tenth of the run time
    (BENCHMARKS.md). A tenancy the Land cannot afford yet joins the Land's
    :class:`BudgetQueue`.
    """

    __slots__ = ("delays", "env", "f", "land", "mode", "operator", "service", "sim", "slots",
                 "tenant")

    def __init__(self, env: simpy.Environment, sim: Simulation, service: int,
                 operator: Builder, tenant: int, mode: str) -> None:
        self.env, self.sim, self.service, self.operator = env, sim, service, operator
        self.tenant, self.mode = tenant, mode
        f: SharingFrictions = getattr(sim.cfg.sharing, mode)
        self.f, self.land = f, sim.lands[tenant]
        d = sim.draws
        self.delays = sim.reuse_delays[mode]  # decision, contract, onboarding multipliers
        decided = f.decision_months * self.delays[0][service, tenant]
        if d.reuse_u[service, tenant] >= f.propensity:
            env.process(self.build_own_copy(decided))
            return
        # Nothing happens between the decision and the contract: one wait for both.
        env.timeout(decided + f.contract_months * self.delays[1][service, tenant]).callbacks.append(
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
            self.sim.budget_queue(self.tenant).join(self)
        else:
            self.agree()

    def agree(self) -> None:
        """The tenancy starts: fee, bookkeeping, then a turn at the operator's slots."""
        env, sim, tenant = self.env, self.sim, self.tenant
        sim.operation.n_tenancies[tenant] += 1
        sim.tenancies.append((self.service, tenant, env.now))
        sim.is_tenancy[self.service, tenant] = True
        sim.ledger.record(env.now, "own_funds", self.land.code, self.f.fee_eur, "reuse_fee")
        self.slots = self.operator.onboarding_slots(
            env, self.mode, self.f, sim.cfg.mechanisms.is_off("onboarding_slots"))
        # The operator onboards waiting tenants in its own work order (MODEL.md 7.5).
        if (turn := self.slots.take(int(self.operator.rank[self.service]))) is not None:
            turn.callbacks.append(self.onboard)
        else:
            self.onboard()

    def onboard(self, _event: simpy.Event | None = None) -> None:
        months = (self.f.tenant_onboarding_months
                  * self.delays[2][self.service, self.tenant])
        self.env.timeout(months).callbacks.append(self.onboarded)

    def onboarded(self, _event: simpy.Event) -> None:
        sim = self.sim
        self.slots.give_back()
        sim.market.take_up(self.service)
        sim.log(EV_REUSED, self.service, self.land.code, self.operator.code)
        sim.make_available(self.service, self.tenant)
