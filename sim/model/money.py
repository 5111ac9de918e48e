"""Money for development: programmes split into pots, and projects that draw on them.

A funding programme (the 2020 stimulus, a Land's own programme, ...) is a sum of money
with a window in which it can be committed. At the start of a run :class:`Funding` splits
every programme into pots (:class:`Pot`): one central pot granted project by project
(``allocation: project``), or one pot per Land by a per-Land allocation rule, and, if the
programme passes a share on to the municipalities, one amount per municipal administration.
A development project that has run out of internal capacity applies to the pots it may
draw on (:meth:`Funding.grant`); if one can pay, the money is committed at once and
contractors join the team when the money flows. What is left in a pot when its window
closes lapses.

The per-Land rules are a registry with one signature (:data:`ALLOCATION_RULES`, each
``rule(world, cfg) -> weights``), so a new rule is one small function and one entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.calendar import month_index
from sim.model.records import _EPS, BUND, Ledger
from sim.params import Config, ProgrammeParams
from sim.world import World


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


# --------------------------------------------------------------------------- per-Land rules
# Each rule returns unnormalised weights per Land (world.states order);
# :func:`allocation_shares` divides them by their sum.


def by_koenigstein(world: World, cfg: Config) -> np.ndarray:
    """``koenigstein``: the Königsteiner Schlüssel 2016."""
    return world.states["koenigstein_share"].to_numpy(dtype=float)


def by_population(world: World, cfg: Config) -> np.ndarray:
    """``per_capita``: Zensus 2022 population."""
    return world.states["population"].to_numpy(dtype=float)


def by_municipalities(world: World, cfg: Config) -> np.ndarray:
    """``per_municipality``: number of municipalities."""
    return np.bincount(world.admins["state"].to_numpy(),
                       weights=world.admins["n_municipalities"].to_numpy(dtype=float),
                       minlength=world.n_states)


def by_need(world: World, cfg: Config) -> np.ndarray:
    """``need``: inverse of the Land's base developer staff (who has the least capacity gets
    the most).

    This rule reads the *staffing* parameters (:func:`base_state_fte`) on purpose: need is
    measured by capacity, so changing ``staffing`` also moves money under this rule.
    """
    fte = base_state_fte(cfg, world)
    w = np.where(fte > 0, 1.0 / np.maximum(fte, 1e-12), 0.0)
    if w.sum() == 0:
        w = np.ones(world.n_states)
    return w


#: Per-Land allocation rules by name (``ProgrammeParams.allocation``). With ``project`` (one
#: central pot, no per-Land split) they make up :data:`sim.params.ALLOCATIONS`.
ALLOCATION_RULES: dict[str, Callable[[World, Config], np.ndarray]] = {
    "koenigstein": by_koenigstein,
    "per_capita": by_population,
    "per_municipality": by_municipalities,
    "need": by_need,
}


def allocation_shares(rule: str, world: World, cfg: Config) -> np.ndarray:
    """Each Land's share of a programme allocated to the Länder (sums to 1).

    ``koenigstein``: Königsteiner Schlüssel 2016; ``per_capita``: Zensus 2022 population;
    ``per_municipality``: number of municipalities; ``need``: inverse of the Land's base
    developer staff (who has the least capacity gets the most). See :data:`ALLOCATION_RULES`.
    """
    if rule not in ALLOCATION_RULES:
        raise ValueError(f"allocation={rule!r} is not a per-Land rule")
    w = ALLOCATION_RULES[rule](world, cfg)
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
        #: Money committed by agreements: (programme, holder, eur, purpose); development is
        #: paid in full when it flows, operation only for the tenancies actually in use.
        self.commitments: list[tuple[str, str, float, str]] = []
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
                # Under the ``need`` rule the split depends on staffing (base_state_fte).
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

    def pots_for(self, builder: str, mode: str, cover: str = "development") -> list[Pot]:
        """Pots a project of ``builder`` in sharing ``mode`` may draw on for ``cover``
        (``development`` or ``operation``, :attr:`ProgrammeParams.covers`).

        Central (project-by-project) pots first, then the builder Land's own pots, each in
        programme order.
        """
        central = [p for p in self.dev_pots.get((BUND, mode), []) if p.serves(builder)]
        own = self.dev_pots.get((builder, mode), []) if builder != BUND else []
        return [p for p in central + own if cover in p.programme.covers]

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
                self.commitments.append((prog.name, builder, cost, "development"))
                return ext, prog.name, flows
        return 0.0, None, math.inf

    def agree_operation(self, t: float, builder: str, mode: str,
                        eur_per_year: float) -> tuple[str, float, float] | None:
        """A shared service that went live asks for an agreement on its running costs.

        The first pot covering ``operation`` that is open at ``t`` commits the running costs
        of all the tenancies the sharing group plans (``eur_per_year``) from the moment the
        money flows (``max(t + agreement_months, flow_from)``) to the end of its window, all
        or nothing. It pays only the tenancies in use (:meth:`Operation.book`); the rest of
        the commitment is never called and lapses. Returns (programme, from, to) in months,
        or ``None`` if no pot can.
        """
        for pot in self.pots_for(builder, mode, "operation"):
            prog = pot.programme
            if not pot.open_at(t):
                continue
            flows = max(t + prog.agreement_months, pot.flows_from)
            if flows >= pot.end:
                continue
            cost = eur_per_year * (pot.end - flows) / 12.0
            if cost > 0 and pot.commit(cost):
                self.commitments.append((prog.name, builder, cost, "operation"))
                return prog.name, flows, pot.end
        return None

    def next_opening(self, t: float, builder: str, mode: str,
                     cover: str = "development") -> float | None:
        """Earliest future window start of a pot with money this project could use for
        ``cover``."""
        starts = [p.start for p in self.pots_for(builder, mode, cover)
                  if p.start > t and p.remaining_eur > 0
                  and (cover != "development" or p.programme.external_fte_per_project > 0)]
        return min(starts) if starts else None
