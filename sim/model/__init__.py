"""The OZG rollout as SimPy agents: Bund, Länder (and their lead-state role), municipal
administrations and the marketplace, under a sharing strategy, funding and staffing.

One call of :func:`simulate` runs one replication and returns a :class:`RunResult` of
plain arrays; :mod:`sim.metrics` turns it into tidy tables. Nothing here reads Hydra
objects or writes files. The process schedule and every mechanism are described in
``MODEL.md`` (ODD protocol).

Time is in months since 2018-01 (:mod:`sim.calendar`).

The model has one room per mechanism; this module gathers their most used names into one
namespace (``from sim.model import simulate, Simulation, RunResult, ...``).

Records (:mod:`sim.model.records`): what a run writes down; the leaf every room uses.
    :data:`BUND`, the event codes ``EV_*`` and :data:`EVENT_NAMES`, :class:`Event`,
    :class:`Spending`, :class:`Ledger`, :class:`RunResult`, ``ProcessGen``.
Money (:mod:`sim.model.money`): programmes split into pots; projects draw on them.
    :class:`Pot`, :class:`Funding`, :data:`ALLOCATION_RULES`, :func:`allocation_shares`,
    :func:`municipal_allocation`, :func:`base_state_fte`.
Running costs (:mod:`sim.model.operation`): who pays for reused services, and when.
    :class:`Operation`, the payer columns ``SH_LAND``, ``SH_MUNI``, ``SH_BUND``,
    ``SH_POOL``.
Staff (:mod:`sim.model.staff`): development teams, hiring, attrition, training.
    :class:`TeamPool`, :class:`Slots`, :func:`hire_staff`, :func:`staff_turnover`,
    :func:`training_programme`, :func:`staff_builder`.
Sharing (:mod:`sim.model.sharing`): building, publishing and taking up services.
    :class:`Builder`, :class:`Marketplace`, :func:`develop_service`,
    :func:`provide_service`, :class:`TakeUp`.
Municipalities (:mod:`sim.model.municipalities`): the municipal level as one batched
    agent. :class:`Municipalities`.
Simulation (:mod:`sim.model.simulation`): the wiring of one replication.
    :class:`Simulation`, :func:`simulate`.
"""

from sim.model.money import (
    ALLOCATION_RULES,
    Funding,
    Pot,
    allocation_shares,
    base_state_fte,
    municipal_allocation,
)
from sim.model.municipalities import Municipalities
from sim.model.operation import SH_BUND, SH_LAND, SH_MUNI, SH_POOL, Operation
from sim.model.records import (
    BUND,
    EV_BOUGHT,
    EV_DECLINED,
    EV_DEFERRED,
    EV_FUNDED,
    EV_ONLINE,
    EV_PUBLISHED,
    EV_REUSED,
    EVENT_NAMES,
    Event,
    Ledger,
    ProcessGen,
    RunResult,
    Spending,
)
from sim.model.sharing import (
    Builder,
    Marketplace,
    TakeUp,
    build_or_buy,
    develop_service,
    provide_service,
)
from sim.model.simulation import Simulation, simulate
from sim.model.staff import (
    Slots,
    TeamPool,
    hire_staff,
    staff_builder,
    staff_turnover,
    training_programme,
)

__all__ = [
    "ALLOCATION_RULES",
    "BUND",
    "EVENT_NAMES",
    "EV_BOUGHT",
    "EV_DECLINED",
    "EV_DEFERRED",
    "EV_FUNDED",
    "EV_ONLINE",
    "EV_PUBLISHED",
    "EV_REUSED",
    "SH_BUND",
    "SH_LAND",
    "SH_MUNI",
    "SH_POOL",
    "Builder",
    "Event",
    "Funding",
    "Ledger",
    "Marketplace",
    "Municipalities",
    "Operation",
    "Pot",
    "ProcessGen",
    "RunResult",
    "Simulation",
    "Slots",
    "Spending",
    "TakeUp",
    "TeamPool",
    "allocation_shares",
    "base_state_fte",
    "build_or_buy",
    "develop_service",
    "hire_staff",
    "municipal_allocation",
    "provide_service",
    "simulate",
    "staff_builder",
    "staff_turnover",
    "training_programme",
]
