"""Bounds of the model's parameters: the physical range of every numeric parameter, the
plain names that may label a folder, and the cost guard (issue 12).

Every numeric parameter has a range that keeps a run finite and physical. The constants
below name each limit and say why; :data:`BOUNDS_BY_CLASS` assigns them to the parameters of
:mod:`sim.params` (whose ``validate`` methods check them), and MODEL.md 8 lists them. A value
outside fails with one line naming the key, the value, the range and the reason.
"""

# ruff: noqa: UP006, UP035
from __future__ import annotations

import math
import re
from typing import Any, Dict, NamedTuple

from sim.checks import _fail, _num
from sim.errors import ConfigError


class Bound(NamedTuple):
    """Allowed range ``[lo, hi]`` (``(lo, hi]`` if ``lo_open``) of a numeric parameter
    (of each element, for a list) and the reason for it."""

    lo: float
    hi: float
    reason: str
    lo_open: bool = False
    integer: bool = False


#: A share, probability, weight or quantile.
SHARE = (0.0, 1.0)
#: Longest delay or duration (months): 50 years, longer than the longest horizon (2018-01
#: to LAST_END), i.e. "never" within a run; more is no different and only overflows.
MAX_DELAY_MONTHS = 600.0
#: Last month a run may simulate: the model's world (catalogue 2018, population 2022,
#: staff and money of the OZG years) says nothing about later decades, and a run's cost
#: grows with its months.
LAST_END = "2050-12"
#: Largest multiplier or relative lever (staff and effort factors, caps, overheads, price
#: relative to a build): ten times the baseline is far outside every scenario discussed.
MAX_FACTOR = 10.0
#: Smallest development team (FTE): half a person; smaller teams mean millions of parallel
#: projects per builder (``staffing.team_fte=1e-9`` hung the run).
MIN_TEAM_FTE = 0.5
#: Largest team of one project, internal or contracted (FTE): a large programme team.
MAX_TEAM_FTE = 100.0
#: Largest developer staff of one builder (FTE), at the start and at its labour-market cap
#: with every factor applied: five times the staff of Germany's largest public IT provider
#: (ITZBund, about 4,000); ``staffing.bund_fte=1e12`` hung the run (a team per hire).
MAX_BUILDER_FTE = 20_000.0
#: Largest developer staff per million inhabitants (FTE): one developer per 1,000
#: inhabitants, far beyond any public IT workforce.
MAX_FTE_PER_MILLION = 1_000.0
#: Population of the largest Land (million, NRW 2022, Destatis): the worst case for a
#: Land's staff in the :data:`MAX_BUILDER_FTE` check.
LARGEST_LAND_MILLION = 18.1
#: Services in the catalogue, rounded up (the model's catalogue has 557; the OZG
#: catalogue 575): an upper bound of any count of services.
MAX_CATALOGUE_SERVICES = 600
#: Municipal administrations of the Land with most (Bayern: 2,056 municipalities), rounded
#: up: a larger cap keeps them all.
MAX_ADMINS_PER_STATE = 2_500
#: OZG onboarding staff of one municipal administration (FTE): beyond the largest city's.
MAX_MUNICIPAL_FTE = 1_000.0
#: Working days of a month: at least one, at most 23 (a month has no more).
WORKING_DAYS_PER_MONTH = (1.0, 23.0)
#: Effort of one build (person-days): 0 is the degenerate instant build (closed-form
#: tests); 100,000 (about 450 person-years) exceeds any single service build.
EFFORT_PERSON_DAYS = (0.0, 100_000.0)
#: Effort of one municipal connection (person-days): four person-years exceed any.
MAX_ONBOARDING_PERSON_DAYS = 1_000.0
#: Log-sd of an effort noise: 3 spans a factor of 20 either way at one sd.
MAX_LOG_SD = 3.0
#: Elasticity of effort in complexity (LeiKa entries): 2 = quadratic, beyond any economy.
MAX_ELASTICITY = 2.0
#: Coefficient of variation of a delay: 5 is already heavier-tailed than any process seen.
MAX_DELAY_CV = 5.0
#: CV of the information lags relative to the other delays.
MAX_DISPERSION = 10.0
#: Any amount of money (EUR, per programme, year or item): twice the whole federal budget
#: (477 bn EUR in 2024), an amount no run exhausts (use it for "unlimited").
MAX_EUR = 1.0e12
#: Money per inhabitant and year (EUR): more than a municipality spends per inhabitant in
#: total (about 3,500 EUR).
MAX_EUR_PER_CAPITA_YEAR = 10_000.0
#: Price of an external person-day (EUR): a day at the minimum wage (12.41 EUR x 8 h) up
#: to six times the market rate of about 1,670 EUR.
DAY_RATE_EUR = (100.0, 10_000.0)
#: Onboardings an operator or a provider body runs at once: 1,000 never binds (16 tenant
#: Länder x the ~60 services of the largest operator).
MAX_SLOTS = 1_000
#: Replications of one configuration: 10,000 give intervals of 1 % of a standard
#: deviation; more cost without changing a conclusion.
MAX_REPLICATIONS = 10_000
#: Root seeds: numpy's SeedSequence takes any non-negative integer; one signed 64-bit
#: integer keeps them exact in JSON, Parquet and the manifests.
MAX_SEED = 2**63 - 1
#: Worker processes: more than any machine this runs on.
MAX_WORKERS = 256
#: Months tabulated by Kreis for maps: each adds a table and a map to every run.
MAX_MAP_MONTHS = 24

# --------------------------------------------------------------------------- cost guard
#: Seconds one full-Germany replication of :data:`REFERENCE_MONTHS` takes on one core
#: (BENCHMARKS.md: 0.38 s on a quiet host, up to 0.97 s on a busy one; the busy figure,
#: rounded up, so that the estimate is an upper one).
SECONDS_PER_REPLICATION = 1.0
#: Simulated months of that benchmark (the default run, 2018-01 to 2030-12); the cost of
#: a run grows in proportion to its months.
REFERENCE_MONTHS = 156
#: Default budget of a run or a sweep (core-seconds, estimated): 8 core-hours, a night on
#: the 2-core machine of BENCHMARKS.md; every shipped experiment and the default run stay
#: well below. Larger jobs are asked for explicitly with ``max_cost_s=``.
DEFAULT_MAX_COST_S = 8 * 3600.0
#: Largest budget one may ask for (core-seconds): 4 core-months.
MAX_COST_S = 1.0e7

#: A label that names a folder or a ledger entry: letters, digits, ``_``, ``-`` and ``.``
#: (not first), at most 64 characters, so it can never leave its parent folder.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")
NAME_ALLOWED = ("a plain name: letters, digits, _, - and . (not first), at most 64 "
                "characters")


def estimated_cost_s(replications: int, months: int, share_of_laender: float) -> float:
    """Upper estimate of a run's cost in core-seconds: replications x
    :data:`SECONDS_PER_REPLICATION` x simulated months / :data:`REFERENCE_MONTHS`, times the
    share of the Länder simulated (a reduced world counts as its share of them)."""
    return replications * SECONDS_PER_REPLICATION * months / REFERENCE_MONTHS * share_of_laender


def check_cost(estimate_s: float, budget_s: float, what: str, detail: str) -> None:
    """Refuse a job whose estimated cost (core-seconds) exceeds its budget, with one line
    giving the estimate and the option that allows it."""
    if estimate_s > budget_s:
        raise ConfigError(
            f"{what}: an estimated {estimate_s:.0f} core-seconds ({detail}) is not allowed: "
            f"at most max_cost_s={budget_s:g}; give max_cost_s={math.ceil(estimate_s)} "
            f"(up to {MAX_COST_S:g}) to run it anyway")


def check_name(key: str, value: Any) -> None:
    """Check a label that may name a folder (``world.name`` and the other scenario names)."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        _fail(key, value, NAME_ALLOWED)


def check_bound(key: str, value: Any, b: Bound) -> None:
    """Check one number (or each element of a list) against its :class:`Bound`."""
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for i, v in items:
        k = key if i is None else f"{key}.{i}"
        try:
            if b.integer:  # compared as integers: a float cannot hold 2**63 - 1 exactly
                _num(k, v, integer=True)
                if not int(b.lo) <= int(v) <= int(b.hi):
                    _fail(k, v, f"an integer in [{int(b.lo)}, {int(b.hi)}]")
            else:
                _num(k, v, b.lo, b.hi, lo_open=b.lo_open)
        except ConfigError as exc:
            raise ConfigError(f"{exc} ({b.reason})") from None


_MONTHS = Bound(0.0, MAX_DELAY_MONTHS, "a delay of 50 years is 'never' within any run")
_SHARE = Bound(*SHARE, "a share")
_FACTOR = Bound(0.0, MAX_FACTOR, "ten times the baseline is outside every scenario")
_EUR = Bound(0.0, MAX_EUR, "twice the whole federal budget")
_LOG_SD = Bound(0.0, MAX_LOG_SD, "a log-sd of 3 is a factor 20 at one sd")
_ELASTICITY = Bound(0.0, MAX_ELASTICITY, "2 = quadratic in complexity")
_SLOTS = Bound(1, MAX_SLOTS, "1,000 parallel onboardings never bind", integer=True)

#: The range of every numeric parameter, by parameter class (its name in :mod:`sim.params`)
#: and field (list fields: each element). A numeric field missing here fails
#: ``tests/test_bounds.py``.
BOUNDS_BY_CLASS: Dict[str, Dict[str, Bound]] = {
    "WorldParams": {
        "max_admins_per_state": Bound(1, MAX_ADMINS_PER_STATE,
                                      "Bayern has 2,056 municipalities, the most", integer=True),
        "services_per_topic": Bound(1, MAX_CATALOGUE_SERVICES,
                                    "the catalogue has 557 services", integer=True),
        "municipal_share_typ23": _SHARE,
        "municipal_share_typ45": _SHARE,
    },
    "StrategyParams": {"municipal_effort_factor": _FACTOR},
    "ProgrammeParams": {
        "amount_eur": _EUR,
        "external_fte_per_project": Bound(0.0, MAX_TEAM_FTE, "a large programme team"),
        "municipal_share": _SHARE,
        "agreement_months": _MONTHS,
        "carry_over_months": _MONTHS,
        "funding_rate": Bound(*SHARE, "a share of the cost, above 0", lo_open=True),
    },
    "FundingParams": {"day_rate_eur": Bound(*DAY_RATE_EUR,
                                          "minimum wage to six times the market rate")},
    "StaffingParams": {
        "bund_fte": Bound(0.0, MAX_BUILDER_FTE, "five times the largest public IT provider"),
        "state_fte_base": Bound(0.0, MAX_BUILDER_FTE, "five times the largest public IT "
                                "provider"),
        "state_fte_per_million": Bound(0.0, MAX_FTE_PER_MILLION,
                                       "one developer per 1,000 inhabitants"),
        "lead_fte_per_service": Bound(0.0, MAX_TEAM_FTE, "a large programme team per service"),
        "team_fte": Bound(MIN_TEAM_FTE, MAX_TEAM_FTE,
                          "half a person to a large programme team"),
        "productive_days_per_fte_month": Bound(*WORKING_DAYS_PER_MONTH,
                                               "a month has at most 23 working days"),
        "hiring_lag_months": _MONTHS,
        "staff_cap_factor": Bound(1.0, MAX_FACTOR, "the cap is at least the initial staff"),
        "municipal_fte_by_size_class": Bound(0.0, MAX_MUNICIPAL_FTE,
                                             "beyond the largest city's OZG staff"),
        "dev_fte_factor": _FACTOR,
        "municipal_fte_factor": _FACTOR,
        "attrition_per_year": _SHARE,
        "training_cap_increase": _FACTOR,
    },
    "DevelopmentParams": {
        "effort_person_days": Bound(*EFFORT_PERSON_DAYS, "at most 450 person-years"),
        "complexity_elasticity": _ELASTICITY,
        "effort_sigma": _LOG_SD,
        "builder_effort_sigma": _LOG_SD,
        "shared_build_overhead": _FACTOR,
        "publication_months": _MONTHS,
        "delay_cv": Bound(0.0, MAX_DELAY_CV, "heavier tails than any process seen"),
    },
    "SharingFrictions": {
        "decision_months": _MONTHS,
        "propensity": _SHARE,
        "contract_months": _MONTHS,
        "tenant_onboarding_months": _MONTHS,
        "operator_onboarding_slots": _SLOTS,
        "fee_eur": _EUR,
        "common_delay_weight": _SHARE,
    },
    "MunicipalParams": {
        "onboarding_effort_person_days": Bound(0.0, MAX_ONBOARDING_PERSON_DAYS,
                                               "four person-years per connection"),
        "complexity_elasticity": _ELASTICITY,
        "effort_sigma": _LOG_SD,
        "info_lag_months_by_size_class": _MONTHS,
        "external_share_when_funded": _SHARE,
        "info_lag_dispersion": Bound(0.0, MAX_DISPERSION, "ten times the other delays' CV"),
    },
    "ProvidersParams": {
        "share_quantile": _SHARE,
        "slots_per_body": _SLOTS,
        "preparation_months": _MONTHS,
        "announcement_lag_months": _MONTHS,
        "member_effort_factor": _SHARE,
    },
    "SupportParams": {
        "info_lag_factor": _FACTOR,
        "effort_factor": _FACTOR,
        "fte_factor": Bound(0.0, MAX_FACTOR, "more than no staff, at most ten times",
                            lo_open=True),
        "max_services": Bound(1, MAX_CATALOGUE_SERVICES, "the catalogue has 557 services",
                              integer=True),
    },
    "OperationParams": {
        "service_cost_eur_per_year": _EUR,
        "admin_cost_eur_per_year": _EUR,
        "land_budget_eur_per_year": _EUR,
        "municipal_budget_eur_per_capita_year": Bound(
            0.0, MAX_EUR_PER_CAPITA_YEAR, "more than a municipality spends per inhabitant"),
        "budget_growth_per_year": _SHARE,
        "split_reuser_share": _SHARE,
        "split_bund_share": _SHARE,
    },
    "MarketParams": {
        "product_lag_months": _MONTHS,
        "adoption_share": _SHARE,
        "procurement_months": _MONTHS,
        "integration_months": _MONTHS,
        "price_share": _FACTOR,
    },
    "PriorityParams": {"common_weight": _SHARE},
    "ObservationParams": {
        "full_population_share": Bound(*SHARE, "a share of the population, above 0",
                                       lo_open=True),
        "federal_listed_share": _SHARE,
    },
    "Config": {
        "replications": Bound(1, MAX_REPLICATIONS, "intervals of 1 % of an sd",
                              integer=True),
        "seed": Bound(0, MAX_SEED, "at most 2**63 - 1, a signed 64-bit integer",
                      integer=True),
        "workers": Bound(1, MAX_WORKERS, "more than any machine", integer=True),
        "max_cost_s": Bound(1.0, MAX_COST_S, "four core-months"),
    },
    "ExecutorParams": {
        "connect_timeout_s": Bound(1.0, 600.0, "a scheduler that does not answer in ten "
                                              "minutes is not there"),
        "runs_per_task": Bound(1, MAX_REPLICATIONS, "a task of more runs than a point has "
                               "replications balances nothing", integer=True),
    },
}
