"""Mechanisms of the model that can be switched off, one at a time or all together.

Which mechanism explains the gap between "online somewhere" and "nationwide"? The
experiment ``mechanisms`` (issue 14, part 5) answers it by switching each mechanism off in
turn on common random numbers. A switch sets the mechanism to its **neutral** setting, the
one under which it does nothing (MODEL.md 7.11):

========================  ===============================================================
``information_lag``       administrations learn of a service at once: the information lag
                          of every size class and the providers' announcement lag are 0
``reuse_delays``          a tenant Land decides and contracts at once: the decision and
                          contract delays of every sharing mode are 0 (EfA reuse frictions)
``onboarding_slots``      an operator onboards every tenant at once: unlimited slots (no
                          queue at all, not merely many slots)
``staff_turnover``        no team leaves (``attrition_per_year`` = 0)
``hiring_lag``            an open post is filled at once (``hiring_lag_months`` = 0, so
                          every post up to the cap is filled at ``hiring_start``)
``cost_deferral``         nobody defers a tenancy or a connection for lack of money: the
                          running costs are booked as before, but every payer can afford them
``state_programmes``      no Land programme (money, support, payer phases), as
                          ``state_programmes=none``
``stimulus``              funding without the 2020 stimulus: every funding programme named
                          ``konjunkturpaket*`` (the stimulus and its counterfactual
                          allocations, ``conf/funding/``) is removed; the others stay
========================  ===============================================================

The switches act in one place: :func:`switched_off`, which the simulation applies to its
configuration when it starts (after the calibrated parameters of the replication were
drawn, so every switch sees the same draws). Where a parameter has an exactly neutral value
the function sets it; the two mechanisms without one ask :meth:`MechanismParams.is_off`
where they act (the operator's slots, :meth:`sim.model.sharing.Builder.onboarding_slots`;
the affordability rule, :class:`sim.model.operation.Operation`). With nothing switched off
(``none``, the default) the configuration is returned as it is, so results are
bit-identical to a model without switches.

The municipal IT providers and Land platforms (MODEL.md 7.6a) have their own switch,
``providers.enabled``, and are off in the default scenario; they are not switched here.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.checks import _fail

if TYPE_CHECKING:  # only for annotations: sim.params imports this module
    from sim.params import Config

#: The mechanisms that can be switched off, in the order of the experiment (their words
#: and styles in the charts: :data:`sim.figures.levels.MECHANISM_LEVELS`).
MECHANISMS: tuple[str, ...] = ("information_lag", "reuse_delays", "onboarding_slots",
                               "staff_turnover", "hiring_lag", "cost_deferral",
                               "state_programmes", "stimulus")
#: Value of ``mechanisms.switched_off`` for the model as it is (every mechanism on).
NONE = "none"
#: Value of ``mechanisms.switched_off`` for every mechanism of :data:`MECHANISMS` off.
ALL = "all"
#: Name prefix of the funding programmes of the 2020 stimulus (Konjunkturprogramm Ziffer
#: 41) and of its counterfactual allocations of the same money: every shipped one
#: (``conf/funding/``) is named ``konjunkturpaket`` or ``konjunkturpaket_<rule>``.
STIMULUS_PREFIX = "konjunkturpaket"


@dataclass
class MechanismParams:
    """Which mechanism of the model is switched off (MODEL.md 7.11).

    Attributes
    ----------
    switched_off : str
        ``none`` (the default: the model as it is), the name of one mechanism of
        :data:`MECHANISMS`, or ``all``.
    """

    switched_off: str = NONE

    def validate(self, prefix: str = "mechanisms") -> None:
        allowed = (NONE, *MECHANISMS, ALL)
        if self.switched_off not in allowed:
            _fail(f"{prefix}.switched_off", self.switched_off, "one of " + ", ".join(allowed))

    def is_off(self, mechanism: str) -> bool:
        """Whether ``mechanism`` (a name of :data:`MECHANISMS`) is switched off."""
        if mechanism not in MECHANISMS:
            raise ValueError(f"mechanism={mechanism!r} must be one of {', '.join(MECHANISMS)}")
        return self.switched_off in (mechanism, ALL)


def switched_off(cfg: Config) -> Config:
    """The configuration the model runs: ``cfg`` with the switched-off mechanisms at their
    neutral parameter values (``cfg`` itself when nothing is switched off).

    The mechanisms without a neutral parameter value (``onboarding_slots``,
    ``cost_deferral``) keep their parameters; the model asks
    :meth:`MechanismParams.is_off` for them.
    """
    mech = cfg.mechanisms
    if mech.switched_off == NONE:
        return cfg
    out = copy.deepcopy(cfg)
    if mech.is_off("information_lag"):
        lags = out.municipal.info_lag_months_by_size_class
        out.municipal.info_lag_months_by_size_class = [0.0] * len(lags)
        out.providers.announcement_lag_months = 0.0
    if mech.is_off("reuse_delays"):
        for f in (out.sharing.efa, out.sharing.efv):
            f.decision_months = f.contract_months = 0.0
    if mech.is_off("staff_turnover"):
        out.staffing.attrition_per_year = 0.0
    if mech.is_off("hiring_lag"):
        out.staffing.hiring_lag_months = 0.0
    if mech.is_off("state_programmes"):
        out.state_programmes = {}
    if mech.is_off("stimulus"):
        out.funding = dataclasses.replace(out.funding, programmes=[
            p for p in out.funding.programmes if not p.name.startswith(STIMULUS_PREFIX)])
    return out
