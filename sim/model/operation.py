"""Running costs of reused services: who pays them, when, and whether the payer can afford them.

A service that one Land built and others reuse costs money every year it runs: each tenant
Land pays for its tenancy, and each municipal administration connected to a reused service
pays for its connection, unless a payer rule puts the bill elsewhere (the Bund, the tenant
Land for its municipalities, or all Länder pooled by Königsteiner Schlüssel). The rules
change over time and differ between Länder (payer phases), so :class:`Operation` keeps one
piecewise-constant payer schedule per Land. During the run it answers one question: can this
payer afford one more tenancy or connection now, and if not, from when? After the run it
books the running costs per year, payer and Land (:meth:`Operation.book`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim.calendar import month_index
from sim.model.records import BUND, Ledger
from sim.params import PAYERS, Config
from sim.world import World

#: Column of each payer's share in :attr:`Operation.tenancy_shares` and
#: :attr:`Operation.muni_shares`.
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
        if cfg.mechanisms.is_off("cost_deferral"):  # every payer can afford it (MODEL.md 7.11)
            self.land_pays_from = [math.inf] * len(codes)
            self.muni_pays_from = [math.inf] * len(codes)

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

    def group_tenancy_eur_per_year(self, members: Sequence[int], operator: int) -> float:
        """Yearly running costs of a sharing group's tenancies (every member but the
        operator: its Königsteiner share of the service's cost), as :meth:`book` charges
        them."""
        return self.op.service_cost_eur_per_year * float(
            sum(self.koenigstein[m] for m in members if m != operator))

    def book(self, ledger: Ledger, world: World, horizon: int,
             tenancies: Sequence[tuple[int, int, float]], reused_municipal: np.ndarray,
             t_admin: np.ndarray,
             covered: Mapping[int, tuple[str, float, float, str]] | None = None) -> None:
        """Ledger rows of the running costs, per year, payer and Land.

        A tenancy costs from the month its reuse was agreed, a connection from the month it
        was completed, until the horizon. A tenancy of a service whose running costs a
        programme took over (``covered``: service -> (programme, from, to, operator)) is
        paid by that programme in the whole months inside [from, to), booked per year (dated
        at the year's first month paid) under the programme with purpose ``operation`` and
        the operator as actor; the payer rule pays the other months.

        Parameters
        ----------
        tenancies : sequence of (service, tenant Land, month agreed)
        covered : mapping or None
            Running costs taken over by programmes (:meth:`Funding.agree_operation`).
        reused_municipal : ndarray of bool (S, L)
            Municipally executed services each Land reuses (its connections cost).
        t_admin : ndarray (Sm, A)
            When each administration connected each municipally executed service.
        """
        H = int(horizon)
        if H <= 0:
            return
        codes = list(world.states["state"])
        op = self.op
        months = np.arange(H, dtype=float)
        years = (months // 12).astype(np.int64)
        ten_land = np.array([land for (_s, land, _t) in tenancies], dtype=np.int64)
        ten_time = np.array([t for (_s, _land, t) in tenancies], dtype=float)
        first = np.clip(np.floor(ten_time), 0, H).astype(np.int64)
        # Whole months [c0, c1) of each tenancy that a programme pays (c0 = c1: none).
        c0, c1 = np.full(len(first), H, dtype=np.int64), np.full(len(first), H, dtype=np.int64)
        covered = covered or {}
        for i, (service, _land, _t) in enumerate(tenancies if covered else ()):
            if service in covered:
                _prog, f, to, _op = covered[service]
                c1[i] = min(H, math.floor(to + 1e-9))
                c0[i] = min(c1[i], max(int(first[i]), math.ceil(f - 1e-9)))
        self._book_covered(ledger, tenancies, covered, c0, c1, years,
                           op.service_cost_eur_per_year)
        for li, code in enumerate(codes):
            mine = ten_land == li
            ten = (np.cumsum(np.bincount(first[mine], minlength=H + 1)
                             - np.bincount(c0[mine], minlength=H + 1)
                             + np.bincount(c1[mine], minlength=H + 1))[:H].astype(float)
                   if mine.any() else np.zeros(H))
            a0, a1 = world.admin_slices[li]
            conn = np.zeros(H)
            svc = np.flatnonzero(reused_municipal[:, li])
            if len(svc) and a1 > a0:
                ta = t_admin[world.municipal_position[svc], a0:a1].ravel()
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

    def _book_covered(self, ledger: Ledger, tenancies: Sequence[tuple[int, int, float]],
                      covered: Mapping[int, tuple[str, float, float, str]], c0: np.ndarray,
                      c1: np.ndarray, years: np.ndarray, service_cost: float) -> None:
        """Ledger rows of the tenancy months programmes pay (:meth:`book`), per programme,
        operator and year."""
        idx = np.flatnonzero(c1 > c0).tolist()
        if not len(idx) or not len(years):
            return
        land = np.array([tenancies[i][1] for i in idx], dtype=np.int64)
        payer = [(covered[tenancies[i][0]][0], covered[tenancies[i][0]][3])
                 for i in idx]  # (programme, operator)
        y0 = 12 * np.arange(int(years[-1]) + 1)
        months = np.clip(np.minimum(c1[idx, None], y0 + 12) - np.maximum(c0[idx, None], y0),
                         0, None)  # (covered tenancies, years)
        eur = months * (service_cost * self.koenigstein[land] / 12.0)[:, None]
        # Each year's row is dated at the first month paid in it (inside the window).
        first = np.where(months > 0, np.maximum(c0[idx, None], y0), np.inf)
        paid: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for key, row, m in zip(payer, eur, first, strict=True):
            if key in paid:
                paid[key] = (paid[key][0] + row, np.minimum(paid[key][1], m))
            else:
                paid[key] = (row.copy(), m.copy())
        for y in range(len(y0)):
            for (prog, operator), (row, m) in sorted(paid.items()):
                if row[y] > 0:
                    ledger.record(float(m[y]), prog, operator, float(row[y]), "operation")
