"""What a run writes down: the process log, the spending ledger and the result of a run.

Every room of the model reports into the same few records. A process that brings a service
online, publishes it or has a tenancy declined writes an :class:`Event` into the
simulation's log; whoever commits money (a development programme, a Land's own funds, the
running costs after the run) writes a :class:`Spending` row into the :class:`Ledger`. At
the horizon the simulation hands both, with the availability times, to the caller as a
:class:`RunResult` of plain arrays and lists, which :mod:`sim.metrics` turns into tables.

Both records are named tuples: still tuples (same memory, same Parquet output), but each
field says what it is.

This is the leaf of :mod:`sim.model`: it imports no other room, and every other room
imports from it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import simpy

BUND = "BUND"
_EPS = 1e-9

# Event codes of the process log (see RunResult.events).
EV_ONLINE, EV_PUBLISHED, EV_REUSED, EV_DECLINED, EV_FUNDED, EV_DEFERRED, EV_BOUGHT = range(7)
EVENT_NAMES = ("online", "published", "reused", "reuse_declined", "funded",
               "reuse_deferred_by_cost", "product_bought")

ProcessGen = Generator[simpy.Event, Any, Any]


class Event(NamedTuple):
    """One row of the process log.

    Attributes
    ----------
    t : float
        Month since 2018-01.
    code : int
        Indexes :data:`EVENT_NAMES`.
    service : int
        Service index (row of ``World.services``).
    actor : str
        ``BUND`` or the Land abbreviation.
    detail : str
        Sharing mode, programme or operator, depending on ``code``.
    """

    t: float
    code: int
    service: int
    actor: str
    detail: str


class Spending(NamedTuple):
    """One row of the spending ledger: a commitment of money.

    Attributes
    ----------
    t : float
        Month since 2018-01 in which the money flows.
    programme : str
        Programme name, ``own_funds`` or ``running_costs``.
    actor : str
        ``BUND`` or the Land abbreviation.
    eur : float
    purpose : str
        ``development``, ``reuse_fee``, ``vendor_product``, ``municipal_onboarding``,
        ``running_costs_*``.
    """

    t: float
    programme: str
    actor: str
    eur: float
    purpose: str


#: Builds a named record from a tuple of its fields: ``_new(Event, (t, code, ...))`` is the
#: same object as ``Event(t, code, ...)`` in a third of the time (a NamedTuple's ``__new__``
#: takes ~1 µs, and a replication writes ~16,000 records).
_new = tuple.__new__


def new_event(t: float, code: int, service: int, actor: str, detail: str) -> Event:
    """An :class:`Event` (the fast way, see :data:`_new`)."""
    return _new(Event, (t, code, service, actor, detail))


class Ledger:
    """Spending record: one row per commitment ``(month, programme, actor, eur, purpose)``."""

    def __init__(self) -> None:
        self.rows: list[Spending] = []

    def record(self, t: float, programme: str, actor: str, eur: float, purpose: str) -> None:
        if eur > 0:
            self.rows.append(_new(Spending, (t, programme, actor, eur, purpose)))


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
    events : list of Event (t, code, service, actor, detail)
        Process log; ``code`` indexes :data:`EVENT_NAMES`.
    spending : list of Spending (t, programme, actor, eur, purpose)
    budgets : list of (programme, holder, eur)
        Money available at the start, per pot.
    n_simpy_events : int
        SimPy events scheduled (for benchmarks).
    commitments : list of (programme, holder, eur, purpose)
        Money committed by agreements (development or operation), called or not.
    """

    replication: int
    horizon_months: int
    t_state: np.ndarray
    t_admin: np.ndarray
    events: list[Event]
    spending: list[Spending]
    budgets: list[tuple[str, str, float]]
    n_simpy_events: int
    commitments: list[tuple[str, str, float, str]] = field(default_factory=list)
