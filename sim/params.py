"""Model parameters: plain dataclasses, validated in one place.

These dataclasses are both the Hydra structured-config schema (``conf/``) and the model's
input; the model core never sees Hydra objects. :meth:`Config.validate` checks every value
and raises :class:`~sim.errors.ConfigError` naming the dotted key, the value and what is
allowed. Defaults, units and sources of every parameter are listed in ``MODEL.md``.

Typing uses ``typing.Optional``/``List``/``Dict`` because OmegaConf's structured configs
understand those forms.
"""

# ruff: noqa: UP006, UP035, UP045
from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

from sim import bounds
from sim.calendar import month_index
from sim.checks import _bool, _choice, _distinct_choices, _fail, _num
from sim.data_io import STATE_ABBRS
from sim.executor import ExecutorParams
from sim.mechanisms import MechanismParams
from sim.posterior import DRAW_MODES

SHARING_MODES = ("efa", "efv", "einzel")
PROJECT_MODES = ("federal", *SHARING_MODES)
#: What a programme's per-project agreements pay for (``ProgrammeParams.covers``).
PROGRAMME_COVERS = ("development", "operation")
ALLOCATIONS = ("project", "koenigstein", "per_capita", "per_municipality", "need")
MUNICIPAL_ALLOCATIONS = ("per_capita", "per_municipality")
PAYERS = ("central", "reusers", "split_2024", "land_for_municipalities")
N_SIZE_CLASSES = 7
#: Config key of each catalogue service type that a strategy decides on.
TYPE_KEYS = {"2/3": "typ23", "4/5": "typ45"}


def _check_bounds(obj: Any, prefix: str) -> None:
    """Check every bounded field of a parameter dataclass against :mod:`sim.bounds`
    (``None`` = unset, skipped); a list is accepted only where the field is one."""
    kinds = {f.name: str(f.type) for f in fields(obj)}
    for name, b in bounds.BOUNDS_BY_CLASS[type(obj).__name__].items():
        value = getattr(obj, name)
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, list) and "List" not in kinds[name]:
            _fail(key, value, "a number, not a list")
        if value is not None:
            bounds.check_bound(key, value, b)


@dataclass
class WorldParams:
    """Which part of Germany is simulated and how services are assigned to executing levels.

    Attributes
    ----------
    name : str
        Label of the world (``germany``, ``toy``...).
    states : list of str or None
        Länder included (abbreviations); ``None`` means all 16.
    max_admins_per_state : int or None
        Keep at most this many municipal administrations per Land, spread evenly over the
        population ranks; ``None`` keeps all.
    services_per_topic : int or None
        Keep the first ``k`` services of each topic field (catalogue order); ``None`` keeps all.
    municipal_share_typ23, municipal_share_typ45 : float
        Share of Typ 2/3 and Typ 4/5 services executed by municipalities (the rest by the
        Länder). Chosen so that ~224 of the 557 services are municipal, in line with the KDN
        count of 237 of 590 (KDN NRW OZG database; MODEL.md 11, [Catalogue]).
    fallback_lead_state : str
        Lead state for topic fields without one in the data (Querschnitt) or whose lead is
        not in the world: the largest Land by default (rationale: largest staff pool).
    """

    name: str = "germany"
    states: Optional[List[str]] = None
    max_admins_per_state: Optional[int] = None
    services_per_topic: Optional[int] = None
    municipal_share_typ23: float = 0.5
    municipal_share_typ45: float = 0.6
    fallback_lead_state: str = "NW"

    def validate(self, prefix: str = "world") -> None:
        bounds.check_name(f"{prefix}.name", self.name)
        _check_bounds(self, prefix)
        if self.states is not None:
            if len(self.states) == 0:
                _fail(f"{prefix}.states", self.states, "null (all) or a non-empty list of Länder")
            for s in self.states:
                _choice(f"{prefix}.states", s, STATE_ABBRS)
            if len(set(self.states)) != len(self.states):
                _fail(f"{prefix}.states", self.states, "a list without duplicates")
        _choice(f"{prefix}.fallback_lead_state", self.fallback_lead_state, STATE_ABBRS)


@dataclass
class StrategyParams:
    """The policy lever: who builds a service and who shares it with whom.

    Attributes
    ----------
    name : str
        ``efa``, ``efv``, ``einzel`` or ``mixed``.
    mode_by_type : dict
        Sharing mode per service type (``typ23``, ``typ45``): ``efa`` (lead state builds
        once for all), ``efv`` (each group of ``efv_groups`` builds once for its members),
        ``einzel`` (each Land builds its own). Typ 1 is always built by the Bund.
    efv_groups : list of list of str
        Sharing groups for ``efv``; Länder not listed form groups of their own.
    municipal_effort_factor : float
        Multiplier on municipal onboarding effort under this strategy (1 = baseline).
    """

    name: str = "efa"
    mode_by_type: Dict[str, str] = field(default_factory=lambda: {"typ23": "efa", "typ45": "efa"})
    efv_groups: List[List[str]] = field(default_factory=lambda: [
        ["SH", "HH", "HB", "ST"], ["NI", "MV"], ["BE", "BB"], ["SN", "TH"],
        ["HE", "RP", "SL"], ["NW"], ["BY"], ["BW"]])
    municipal_effort_factor: float = 1.0

    def validate(self, prefix: str = "strategy") -> None:
        bounds.check_name(f"{prefix}.name", self.name)
        _check_bounds(self, prefix)
        for t in TYPE_KEYS.values():
            if t not in self.mode_by_type:
                _fail(f"{prefix}.mode_by_type", dict(self.mode_by_type),
                      "a mapping with keys typ23 and typ45")
        for t, mode in self.mode_by_type.items():
            _choice(f"{prefix}.mode_by_type", t, tuple(TYPE_KEYS.values()))
            _choice(f"{prefix}.mode_by_type.{t}", mode, SHARING_MODES)
        seen: set[str] = set()
        for g in self.efv_groups:
            if len(g) == 0:
                _fail(f"{prefix}.efv_groups", g, "non-empty lists of Länder")
            for s in g:
                _choice(f"{prefix}.efv_groups", s, STATE_ABBRS)
                if s in seen:
                    _fail(f"{prefix}.efv_groups", s, "each Land in at most one group")
                seen.add(s)


@dataclass
class ProgrammeParams:
    """One funding programme: money that becomes external capacity.

    Attributes
    ----------
    name : str
        Programme label used in the spending ledger.
    amount_eur : float
        Total money (EUR).
    start, end : str
        First and last month (``YYYY-MM``) in which money can be committed; unspent money
        lapses after ``end``.
    allocation : str
        ``project``: one central pot, granted project by project, first come first served
        (with ``eligible_modes`` of all modes this is the competitive rule "first ready, first
        paid"); otherwise one pot per Land, its share of the amount by ``koenigstein``
        (Königsteiner Schlüssel), ``per_capita`` (population), ``per_municipality`` (number
        of municipalities) or ``need`` (inverse of its base developer staff).
    eligible_modes : list of str
        Which projects may draw on it: ``federal`` (Bund's Typ-1 builds), ``efa``, ``efv``,
        ``einzel``.
    external_fte_per_project : float
        External contractors (FTE) that a funded development project adds to its team.
    municipal_share : float
        Share of the amount passed to municipal administrations (per capita) for onboarding.
    agreement_months : float
        Months from a project's application to the money flowing (a bilateral agreement
        per project); 0 = at once.
    flow_from : str or None
        No money flows before this month (a framework agreement, e.g. the Dachabkommen of
        30 Jan 2021 -> ``2021-02``); ``None`` = from ``start``.
    carry_over_months : float
        Unspent money stays available this many months after ``end`` (carry-over,
        "Ausgabereste"); 0 = it lapses at ``end``.
    states : list of str or None
        Only these Länder receive money (a Land's own programme, e.g. ``[HE]``): per-Land
        allocation rules share the amount among them, a ``project`` pot pays only their
        projects, and the municipal share goes only to their administrations. ``None`` =
        all Länder.
    kreise : list of str or None
        The municipal share goes only to administrations in these Kreise (5-digit AGS,
        e.g. the NRW model regions); ``None`` = all administrations of ``states``.
    municipal_allocation : str
        How the municipal share is divided among administrations: ``per_capita`` or
        ``per_municipality`` (a fixed amount per member municipality, e.g. Bayern's
        20,000 EUR per Kommune).
    funding_rate : float
        Share of the contractors' cost of a municipal onboarding the programme pays
        (Förderquote); the administration pays the rest from own funds.
    covers : list of str
        What the programme's per-project agreements pay for: ``development`` (contractors
        for a build's remaining effort) and/or ``operation`` (a shared service's running
        costs from its agreement until the programme's end, committed for all the Länder of
        its sharing group when it goes live, paid for the tenancies actually in use).
    """

    name: str = "programme"
    amount_eur: float = 0.0
    start: str = "2020-09"
    end: str = "2022-12"
    allocation: str = "project"
    eligible_modes: List[str] = field(default_factory=lambda: ["efa"])
    external_fte_per_project: float = 9.0
    municipal_share: float = 0.0
    agreement_months: float = 0.0
    flow_from: Optional[str] = None
    carry_over_months: float = 0.0
    states: Optional[List[str]] = None
    kreise: Optional[List[str]] = None
    municipal_allocation: str = "per_capita"
    funding_rate: float = 1.0
    covers: List[str] = field(default_factory=lambda: ["development"])

    def validate(self, prefix: str) -> None:
        bounds.check_name(f"{prefix}.name", self.name)
        _check_bounds(self, prefix)
        s = month_index(self.start, f"{prefix}.start")
        e = month_index(self.end, f"{prefix}.end")
        if e < s:
            _fail(f"{prefix}.end", self.end, f"a month not before start={self.start}")
        _choice(f"{prefix}.allocation", self.allocation, ALLOCATIONS)
        for m in self.eligible_modes:
            _choice(f"{prefix}.eligible_modes", m, PROJECT_MODES)
        if self.flow_from is not None and month_index(self.flow_from, f"{prefix}.flow_from") > e:
            _fail(f"{prefix}.flow_from", self.flow_from, f"a month not after end={self.end}")
        if self.states is not None:
            if not self.states:
                _fail(f"{prefix}.states", self.states, "null (all Länder) or a non-empty list")
            for st in self.states:
                _choice(f"{prefix}.states", st, STATE_ABBRS)
        if self.kreise is not None:
            for k in self.kreise:
                if not (isinstance(k, str) and len(k) == 5 and k.isdigit()):
                    _fail(f"{prefix}.kreise", k, "5-digit Kreis keys (AGS) as strings")
        _choice(f"{prefix}.municipal_allocation", self.municipal_allocation,
                MUNICIPAL_ALLOCATIONS)
        _distinct_choices(f"{prefix}.covers", self.covers, PROGRAMME_COVERS, non_empty=True)


@dataclass
class FundingParams:
    """Money: the programmes in force and the price of external capacity.

    Attributes
    ----------
    name : str
        Scenario label (``none``, ``konjunkturpaket``, ``koenigstein``).
    day_rate_eur : float
        Price of one external person-day (EUR); ~1,670 EUR derived from the IT-Planungsrat
        digitisation budget call of Dec 2022 (36.8 M EUR for ~22,000 person-days).
    programmes : list of ProgrammeParams
    """

    name: str = "none"
    day_rate_eur: float = 1670.0
    programmes: List[ProgrammeParams] = field(default_factory=list)

    def validate(self, prefix: str = "funding") -> None:
        bounds.check_name(f"{prefix}.name", self.name)
        _check_bounds(self, prefix)
        names = [p.name for p in self.programmes]
        if len(set(names)) != len(names):
            _fail(f"{prefix}.programmes", names, "programmes with distinct names")
        for i, p in enumerate(self.programmes):
            p.validate(f"{prefix}.programmes[{i}]")


@dataclass
class StaffingParams:
    """People: developer staff of Bund, Länder and lead states, and municipal staff.

    Attributes
    ----------
    name : str
        Scenario label.
    bund_fte : float
        Federal developer staff (FTE) for Typ-1 services at the start.
    state_fte_base, state_fte_per_million : float
        Developer staff of a Land at the start: base + per million inhabitants (FTE).
    lead_fte_per_service : float
        Extra developer staff of a lead state per service of the topic fields it leads (FTE).
    team_fte : float
        Internal staff one development project occupies (FTE); staff // team_fte projects
        run in parallel.
    productive_days_per_fte_month : float
        Working days per FTE and month available for project work.
    hiring_start : str
        Month from which builders hire towards their cap.
    hiring_lag_months : float
        Mean time to fill one team's worth of positions (months).
    staff_cap_factor : float
        Labour-market cap: staff never exceeds this multiple of the initial staff.
    municipal_fte_by_size_class : list of float
        OZG onboarding staff of a municipal administration (FTE) by size class
        (<5k, 5-10k, 10-20k, 20-50k, 50-100k, 100-500k, >=500k inhabitants).
    dev_fte_factor : float
        Multiplier on all developer staff (Bund, Länder, lead states): a sweep lever.
    municipal_fte_factor : float
        Multiplier on all municipal staff: a sweep lever.
    attrition_per_year : float
        Share of developer teams that leave per year (turnover); a leaving team finishes
        its project first, and its post is filled again by hiring.
    training_from : str or None
        Month from which a training programme has enlarged the labour market; ``None`` =
        no training programme.
    training_cap_increase : float
        Added to ``staff_cap_factor`` from ``training_from`` on.
    """

    name: str = "baseline"
    bund_fte: float = 180.0
    state_fte_base: float = 15.0
    state_fte_per_million: float = 8.0
    lead_fte_per_service: float = 1.0
    team_fte: float = 3.0
    productive_days_per_fte_month: float = 18.0
    hiring_start: str = "2019-01"
    hiring_lag_months: float = 6.0
    staff_cap_factor: float = 1.5
    municipal_fte_by_size_class: List[float] = field(
        default_factory=lambda: [0.3, 0.5, 0.8, 1.5, 3.0, 6.0, 15.0])
    dev_fte_factor: float = 1.0
    municipal_fte_factor: float = 1.0
    attrition_per_year: float = 0.0
    training_from: Optional[str] = None
    training_cap_increase: float = 0.0

    def validate(self, prefix: str = "staffing") -> None:
        bounds.check_name(f"{prefix}.name", self.name)
        if len(self.municipal_fte_by_size_class) != N_SIZE_CLASSES:
            _fail(f"{prefix}.municipal_fte_by_size_class", list(self.municipal_fte_by_size_class),
                  f"a list of {N_SIZE_CLASSES} numbers >= 0 (one per size class)")
        _check_bounds(self, prefix)
        month_index(self.hiring_start, f"{prefix}.hiring_start")
        if self.training_from is not None:
            month_index(self.training_from, f"{prefix}.training_from")
        peak = self.peak_builder_fte()
        if peak > bounds.MAX_BUILDER_FTE:
            _fail(f"{prefix}.dev_fte_factor", self.dev_fte_factor,
                  f"a value that keeps the largest builder's staff at its cap <= "
                  f"{bounds.MAX_BUILDER_FTE:g} FTE (now {peak:.6g} FTE = largest initial "
                  "staff x dev_fte_factor x (staff_cap_factor + training_cap_increase)); "
                  "lower the staff or the factors")

    def peak_builder_fte(self) -> float:
        """Upper estimate of one builder's developer staff at its labour-market cap (FTE):
        the Bund or a Land as large as the largest
        (:data:`~sim.bounds.LARGEST_LAND_MILLION`) leading the whole catalogue, with every
        factor applied."""
        land = (self.state_fte_base + self.state_fte_per_million * bounds.LARGEST_LAND_MILLION
                + self.lead_fte_per_service * bounds.MAX_CATALOGUE_SERVICES)
        return (max(self.bund_fte, land) * self.dev_fte_factor
                * (self.staff_cap_factor + self.training_cap_increase))


@dataclass
class DevelopmentParams:
    """How long and how much it takes to build a service.

    Attributes
    ----------
    start : str
        Month development begins (catalogue presented April 2018).
    effort_person_days : float
        Effort to build a service of median complexity for one jurisdiction (person-days).
    complexity_elasticity : float
        Effort scales with (LeiKa entries / median)^elasticity.
    effort_sigma : float
        Log-sd of the service's intrinsic complexity noise (shared by all its builds).
    builder_effort_sigma : float
        Log-sd of the builder-specific effort noise.
    shared_build_overhead : float
        Extra effort share of a multi-tenant build (EfA/EfV) over a single-Land build.
    publication_months : float
        Mean delay from go-live in the builder's jurisdiction to marketplace publication.
    delay_cv : float
        Coefficient of variation of every delay (gamma distributed, mean as configured);
        1 = exponential, 0 = deterministic.
    """

    start: str = "2018-04"
    effort_person_days: float = 900.0
    complexity_elasticity: float = 0.4
    effort_sigma: float = 0.5
    builder_effort_sigma: float = 0.2
    shared_build_overhead: float = 0.3
    publication_months: float = 1.0
    delay_cv: float = 1.0

    def validate(self, prefix: str = "development") -> None:
        month_index(self.start, f"{prefix}.start")
        _check_bounds(self, prefix)


@dataclass
class SharingFrictions:
    """Frictions of reusing a shared service, per sharing mode.

    Attributes
    ----------
    decision_months : float
        Mean time from publication until a Land decides about reuse.
    propensity : float
        Probability that a Land reuses rather than builds its own.
    contract_months : float
        Mean time to negotiate and sign the reuse contract.
    tenant_onboarding_months : float
        Operator's work to onboard one tenant Land (months of one onboarding slot).
    operator_onboarding_slots : int
        Tenant onboardings an operator runs in parallel (over all its services).
    fee_eur : float
        One-off fee a tenant Land pays the operator per service (own funds).
    common_delay_weight : float
        Correlation of each tenant's decision, contract and onboarding delays with the
        service's common readiness for reuse (0: independent tenants; 1: the same delays
        for all tenants of a service).
    """

    decision_months: float = 6.0
    propensity: float = 0.85
    contract_months: float = 4.0
    tenant_onboarding_months: float = 1.5
    operator_onboarding_slots: int = 8
    fee_eur: float = 25000.0
    common_delay_weight: float = 0.0

    def validate(self, prefix: str) -> None:
        _check_bounds(self, prefix)


@dataclass
class SharingParams:
    """Frictions per sharing mode: EfA (across all Länder) and EfV (within a group)."""

    efa: SharingFrictions = field(default_factory=SharingFrictions)
    efv: SharingFrictions = field(default_factory=lambda: SharingFrictions(
        decision_months=3.0, propensity=0.95, contract_months=2.0,
        tenant_onboarding_months=1.0, operator_onboarding_slots=4, fee_eur=25000.0))

    def validate(self, prefix: str = "sharing") -> None:
        self.efa.validate(f"{prefix}.efa")
        self.efv.validate(f"{prefix}.efv")


@dataclass
class MunicipalParams:
    """How municipal administrations connect municipally executed services.

    Attributes
    ----------
    onboarding_effort_person_days : float
        Internal effort to connect a median-complexity service (person-days).
    complexity_elasticity : float
        Onboarding effort scales with (LeiKa entries / median)^elasticity.
    effort_sigma : float
        Log-sd of the effort per administration and service.
    info_lag_months_by_size_class : list of float
        Mean information lag (months) between a service becoming available in the Land and
        the administration starting to connect it, by size class.
    external_share_when_funded : float
        Share of an onboarding's effort bought from contractors while support money remains.
    info_lag_dispersion : float
        Coefficient of variation of the information lags relative to that of the other
        delays (``development.delay_cv``): how unevenly administrations take a service up.
    """

    onboarding_effort_person_days: float = 3.0
    complexity_elasticity: float = 0.3
    effort_sigma: float = 0.5
    info_lag_months_by_size_class: List[float] = field(
        default_factory=lambda: [6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    external_share_when_funded: float = 0.75
    info_lag_dispersion: float = 1.0

    def validate(self, prefix: str = "municipal") -> None:
        if len(self.info_lag_months_by_size_class) != N_SIZE_CLASSES:
            _fail(f"{prefix}.info_lag_months_by_size_class",
                  list(self.info_lag_months_by_size_class),
                  f"a list of {N_SIZE_CLASSES} numbers >= 0 (one per size class)")
        _check_bounds(self, prefix)


@dataclass
class ProvidersParams:
    """Municipal IT providers and Land platforms (roll-out channels, MODEL.md 7.6a).

    Attributes
    ----------
    enabled : bool
        Channels roll services out to the administrations they reach (``false``: every
        administration connects every service itself).
    share_quantile : float
        Where each channel's reach lies in its documented range
        (``sim/data/municipal_rollout.csv``): 0 low, 0.5 central, 1 high (piecewise linear).
    slots_per_body : int
        Services one body of a channel prepares at the same time.
    preparation_months : float
        Mean time a body needs to prepare a service for its administrations.
    announcement_lag_months : float
        Mean time from the body's release until an administration it serves starts.
    member_effort_factor : float
        An administration's effort to activate a service its channel prepared, relative to
        connecting it alone (switching it on, entering responsibilities).
    """

    enabled: bool = False
    share_quantile: float = 0.5
    slots_per_body: int = 4
    preparation_months: float = 3.0
    announcement_lag_months: float = 0.5
    member_effort_factor: float = 0.25

    def validate(self, prefix: str = "providers") -> None:
        _bool(f"{prefix}.enabled", self.enabled)
        _check_bounds(self, prefix)


@dataclass
class SupportParams:
    """Non-monetary help for the municipal administrations of some Länder.

    Applies to services that reach the Land within ``[start, end]``: trained staff
    (Digitallotsen: more capacity, shorter information lag), coordination offices (shorter
    information lag), a free platform or central store (less onboarding effort).

    Attributes
    ----------
    name : str
    states : list of str or None
        Länder whose administrations get the help; ``None`` = the owning state programme's
        Land (or all Länder outside a state programme).
    start, end : str
        Window (``YYYY-MM``) of service arrival in which the help applies.
    info_lag_factor, effort_factor, fte_factor : float
        Multipliers on the information lag, the onboarding effort and the onboarding staff.
    max_services : int or None
        Only the ``k`` municipally executed services with most LeiKa entries (a proxy for
        the most demanded, e.g. Bayern's 54 TOP services); ``None`` = all.
    """

    name: str = "support"
    states: Optional[List[str]] = None
    start: str = "2018-01"
    end: str = "2030-12"
    info_lag_factor: float = 1.0
    effort_factor: float = 1.0
    fte_factor: float = 1.0
    max_services: Optional[int] = None

    def validate(self, prefix: str) -> None:
        bounds.check_name(f"{prefix}.name", self.name)
        if self.states is not None:
            for st in self.states:
                _choice(f"{prefix}.states", st, STATE_ABBRS)
        s = month_index(self.start, f"{prefix}.start")
        if month_index(self.end, f"{prefix}.end") < s:
            _fail(f"{prefix}.end", self.end, f"a month not before start={self.start}")
        _check_bounds(self, prefix)


@dataclass
class PayerPhase:
    """Who pays the running costs of reused services from ``start`` (until ``end``).

    Attributes
    ----------
    start : str
        First month of the phase.
    end : str or None
        Last month; ``None`` = until a later phase starts.
    payer : str
        ``central`` (the Bund, e.g. from the stimulus: no budget limits the reusers),
        ``reusers`` (each reusing Land pays its tenancies, each administration its
        connections), ``split_2024`` (reusers pay ``split_reuser_share``, the Bund
        ``split_bund_share``, all Länder the rest by Königsteiner Schlüssel; IT-PLR
        Beschluss 2023/35), ``land_for_municipalities`` (the reusing Land pays its
        tenancies and its municipalities' connections, as Hessen did 2023-24).
    states : list of str or None
        Länder the phase applies to; ``None`` = all. A phase for named Länder takes
        precedence over a general one while it is in force.
    """

    start: str = "2023-01"
    end: Optional[str] = None
    payer: str = "reusers"
    states: Optional[List[str]] = None

    def validate(self, prefix: str) -> None:
        s = month_index(self.start, f"{prefix}.start")
        if self.end is not None and month_index(self.end, f"{prefix}.end") < s:
            _fail(f"{prefix}.end", self.end, f"a month not before start={self.start}")
        _choice(f"{prefix}.payer", self.payer, PAYERS)
        if self.states is not None:
            for st in self.states:
                _choice(f"{prefix}.states", st, STATE_ABBRS)


@dataclass
class OperationParams:
    """Running costs of reused (EfA/EfV) services, who pays them, and what is affordable.

    Attributes
    ----------
    name : str
        Scenario label.
    service_cost_eur_per_year : float
        Running cost of one shared service per year; a reusing Land's tenancy costs its
        Königsteiner share of it (the usual EfA cost split).
    admin_cost_eur_per_year : float
        Running cost of one municipal administration's connection to one reused
        municipally executed service per year.
    phases : list of PayerPhase
        Payer from each phase's start; before the first (and with none) ``central``.
    land_budget_eur_per_year : float
        What all Länder together can spend per year on their share of running costs,
        split by Königsteiner Schlüssel.
    municipal_budget_eur_per_capita_year : float
        What an administration can spend per inhabitant and year on its connections.
    budget_growth_per_year : float
        Budgets grow by this share per year from ``budget_base``.
    budget_base : str
        Month in which the budgets have their base value.
    split_reuser_share, split_bund_share : float
        Shares of reusers and Bund under ``split_2024``; all Länder pay the rest.
    """

    name: str = "central"
    service_cost_eur_per_year: float = 500000.0
    admin_cost_eur_per_year: float = 250.0
    phases: List[PayerPhase] = field(default_factory=list)
    land_budget_eur_per_year: float = 40.0e6
    municipal_budget_eur_per_capita_year: float = 1.0
    budget_growth_per_year: float = 0.05
    budget_base: str = "2023-01"
    split_reuser_share: float = 0.5
    split_bund_share: float = 0.25

    def validate(self, prefix: str = "operation") -> None:
        bounds.check_name(f"{prefix}.name", self.name)
        _check_bounds(self, prefix)
        month_index(self.budget_base, f"{prefix}.budget_base")
        _num(f"{prefix}.split_bund_share", self.split_bund_share, 0,
             1 - self.split_reuser_share)
        for i, ph in enumerate(self.phases):
            ph.validate(f"{prefix}.phases[{i}]")


@dataclass
class StateProgrammeParams:
    """A Land's own OZG programme: money, non-monetary support and running-cost payers.

    Each entry's ``states`` default to the programme's Land.

    Attributes
    ----------
    state : str
        The Land (abbreviation).
    funding : list of ProgrammeParams
    support : list of SupportParams
    payer_phases : list of PayerPhase
        E.g. Hessen paying its municipalities' running costs in 2023-24.
    """

    state: str = "HE"
    funding: List[ProgrammeParams] = field(default_factory=list)
    support: List[SupportParams] = field(default_factory=list)
    payer_phases: List[PayerPhase] = field(default_factory=list)

    def validate(self, prefix: str) -> None:
        _choice(f"{prefix}.state", self.state, STATE_ABBRS)
        for i, p in enumerate(self.funding):
            p.validate(f"{prefix}.funding[{i}]")
        for i, sp in enumerate(self.support):
            sp.validate(f"{prefix}.support[{i}]")
        for i, ph in enumerate(self.payer_phases):
            ph.validate(f"{prefix}.payer_phases[{i}]")

    def with_defaults(self) -> StateProgrammeParams:
        """Copy whose entries without ``states`` apply to this programme's Land."""
        out = copy.deepcopy(self)
        for group in (out.funding, out.support, out.payer_phases):
            for item in group:
                if item.states is None:
                    item.states = [self.state]
        return out


@dataclass
class PriorityParams:
    """The order in which actors work through the catalogue.

    Every builder (its teams), operator (its onboarding slots) and tenant Land (its
    take-ups) works in its own order over services; these orders share a common priority
    (demand and politics all actors see: the services everybody expects first) with an
    actor-specific deviation (:func:`sim.rng.work_order`).

    Attributes
    ----------
    common_weight : float
        Correlation of each actor's priority with the common one (0: independent random
        orders; 1: one order for all). Unknown; estimated by the calibration.
    """

    common_weight: float = 0.5

    def validate(self, prefix: str = "priority") -> None:
        _check_bounds(self, prefix)


@dataclass
class MarketParams:
    """Vendor products (MODEL.md 7.5a): once a service is online somewhere, a vendor offers
    it after a lag; a group build of a mode in ``modes`` still waiting for a team buys it
    with probability ``adoption_share`` (tender, then the vendor's configuration; paid from
    own funds, no development team).

    Attributes
    ----------
    enabled : bool
        Vendor products exist (``false``: every build is an own development).
    modes : list of str
        Sharing modes whose group builds may buy (not EfA builds, nor a Land's own copy).
    product_lag_months, procurement_months, integration_months : float
        Mean months from a first go-live to the offer; of the tender and contract; of the
        vendor's configuration for the buyer.
    adoption_share : float
        Probability that a builder still waiting for a team buys an offered product.
    price_share : float
        Price (licence and configuration) relative to building the service alone.
    """

    enabled: bool = True
    modes: List[str] = field(default_factory=lambda: ["efv", "einzel"])
    product_lag_months: float = 12.0
    adoption_share: float = 0.7
    procurement_months: float = 9.0
    integration_months: float = 4.0
    price_share: float = 0.3

    def validate(self, prefix: str = "market") -> None:
        _bool(f"{prefix}.enabled", self.enabled)
        _distinct_choices(f"{prefix}.modes", self.modes, SHARING_MODES)
        _check_bounds(self, prefix)


@dataclass
class ObservationParams:
    """How the official counts read the model (measurement model; no effect on the
    simulated rollout). The rules are in MODEL.md 7.10.

    Attributes
    ----------
    full_population_share : float
        A non-federal service counts as fully available in a Land ("flächendeckend") once
        it reaches this share of the Land's population: a state-executed service when the
        Land has it, a municipally executed one when the administrations that connected it
        hold this share of the population. 1 (the default) = every administration, the
        dashboard's documented rule ("even 99 percent of the municipalities do not count").
    federal_listed_share : float
        Share of the federal (Typ 1) services that the dashboard counts as available in
        every Land once they are online (Bund services are "flächendeckend" from go-live);
        which ones: this share of the federal services, first by a salted stable hash of
        their id. Estimated by the calibration.
    """

    full_population_share: float = 1.0
    federal_listed_share: float = 1.0

    def validate(self, prefix: str = "observation") -> None:
        _check_bounds(self, prefix)


@dataclass
class Config:
    """Everything one run needs: the world, the scenario, the strategy and run control.

    Attributes
    ----------
    replications : int
        Independent replications (common random numbers across strategies).
    seed : int
        Root seed; replication ``r`` uses streams keyed by (seed, r, stream).
    workers : int or None
        Worker processes; ``None`` uses all cores. Results do not depend on it.
    executor : ExecutorParams
        Where replications run (:mod:`sim.executor`). Results do not depend on it.
    end : str
        Last simulated month (``YYYY-MM``); the run covers 2018-01 to ``end``.
    map_months : list of str
        Months (``YYYY-MM``) at which coverage is tabulated by Kreis for maps, besides the
        last simulated month.
    priority : PriorityParams
        How closely the actors' work orders follow a common priority.
    market : MarketParams
        Vendor products a builder may buy instead of building.
    operation : OperationParams
        Running costs and their payers.
    observation : ObservationParams
        Measurement model of the official counts (calibration only).
    state_programmes : dict of StateProgrammeParams
        The Länder's own programmes in force, by name (``hessen``, ``nrw``...).
    mechanisms : MechanismParams
        Which mechanism is switched off (:mod:`sim.mechanisms`; none by default).
    calibrated_draws, posterior : str, PosteriorSample or None
        Replications draw the calibrated keys from ``posterior`` or keep ``point`` values.
    max_cost_s : float
        Budget of the run (or of a whole sweep) in estimated core-seconds
        (:meth:`estimated_cost_s`); a larger job is refused before it starts. Run control:
        it never changes a result.
    """

    world: WorldParams = field(default_factory=WorldParams)
    strategy: StrategyParams = field(default_factory=StrategyParams)
    funding: FundingParams = field(default_factory=FundingParams)
    staffing: StaffingParams = field(default_factory=StaffingParams)
    development: DevelopmentParams = field(default_factory=DevelopmentParams)
    sharing: SharingParams = field(default_factory=SharingParams)
    priority: PriorityParams = field(default_factory=PriorityParams)
    municipal: MunicipalParams = field(default_factory=MunicipalParams)
    providers: ProvidersParams = field(default_factory=ProvidersParams)
    market: MarketParams = field(default_factory=MarketParams)
    operation: OperationParams = field(default_factory=OperationParams)
    observation: ObservationParams = field(default_factory=ObservationParams)
    state_programmes: Dict[str, StateProgrammeParams] = field(default_factory=dict)
    mechanisms: MechanismParams = field(default_factory=MechanismParams)
    replications: int = 10
    seed: int = 1
    workers: Optional[int] = None
    executor: ExecutorParams = field(default_factory=ExecutorParams)
    end: str = "2030-12"
    map_months: List[str] = field(default_factory=lambda: ["2022-12", "2026-12"])
    calibrated_draws: str = "posterior"
    posterior: Any = None
    max_cost_s: float = bounds.DEFAULT_MAX_COST_S

    def validate(self) -> Config:
        """Check every value; return ``self`` so calls can be chained."""
        for part in (self.world, self.strategy, self.funding, self.staffing, self.development,
                     self.sharing, self.priority, self.municipal, self.providers, self.market,
                     self.operation, self.observation, self.mechanisms, self.executor):
            part.validate()
        for name, sp in self.state_programmes.items():
            sp.validate(f"state_programmes.{name}")
        names = [p.name for p in self.all_programmes()]
        if len(set(names)) != len(names):
            _fail("state_programmes", sorted(names),
                  "funding programmes with names distinct from each other and from funding")
        _check_bounds(self, "")
        if not 12 <= month_index(self.end, "end") <= month_index(bounds.LAST_END):
            _fail("end", self.end, f"a month from 2019-01 (at least one simulated year) to "
                  f"{bounds.LAST_END} (the model's data say nothing about later decades)")
        for m in self.map_months:
            month_index(m, "map_months")
        if len(self.map_months) > bounds.MAX_MAP_MONTHS:
            _fail("map_months", list(self.map_months),
                  f"at most {bounds.MAX_MAP_MONTHS} months (each adds a Kreis table and a map)")
        _choice("calibrated_draws", self.calibrated_draws, DRAW_MODES)
        bounds.check_cost(self.estimated_cost_s(), self.max_cost_s, "this run",
                   f"{self.replications} replications x {self.horizon_months} months")
        return self

    def estimated_cost_s(self) -> float:
        """Upper estimate of this run's cost in core-seconds
        (:func:`sim.bounds.estimated_cost_s`)."""
        n = len(STATE_ABBRS) if self.world.states is None else len(self.world.states)
        return bounds.estimated_cost_s(self.replications, self.horizon_months,
                                       n / len(STATE_ABBRS))

    def _from_lands(self, attr: str) -> list[Any]:
        """The ``attr`` entries of every Land programme in force (by name), ``states`` set."""
        out: list[Any] = []
        for name in sorted(self.state_programmes):
            out += getattr(self.state_programmes[name].with_defaults(), attr)
        return out

    def all_programmes(self) -> list[ProgrammeParams]:
        """Funding programmes in force: federal (``funding``) then the Länder's own."""
        return [*self.funding.programmes, *self._from_lands("funding")]

    def all_support(self) -> list[SupportParams]:
        """Municipal support in force (from the Land programmes)."""
        return self._from_lands("support")

    def all_payer_phases(self) -> list[PayerPhase]:
        """Running-cost payer phases: general (``operation``) then the Länder's own."""
        return [*self.operation.phases, *self._from_lands("payer_phases")]

    @property
    def horizon_months(self) -> int:
        """Number of simulated months (2018-01 .. ``end``)."""
        return month_index(self.end, "end") + 1


#: The bounds of :data:`sim.bounds.BOUNDS_BY_CLASS` by parameter class (a name there that
#: is no class here fails at import).
BOUNDS: Dict[type, Dict[str, bounds.Bound]] = {
    globals()[name]: b for name, b in bounds.BOUNDS_BY_CLASS.items()}
