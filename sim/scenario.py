"""The scenario of a configuration: the level of each of its axes (strategy, funding,
staffing, running-cost payer, Land programmes, calibration) as option keys, read from a
configuration as a plain mapping (a manifest's ``config``, or a composed Hydra config).
The words for them are :mod:`sim.figures.scenarios`'; the run folder's name is
:func:`folder_label` (``hydra.run.dir`` in ``conf/config.yaml``, through the resolver
``ozg_scenario`` that :func:`sim.config.register_schema` registers)."""

from __future__ import annotations

from collections.abc import Mapping

#: The scenario axes of a configuration, in the order names and titles list them.
SCENARIO_AXES: tuple[str, ...] = ("strategy", "funding", "staffing", "operation",
                                  "state_programmes", "calibration")
#: How the calibrated parameters were set: drawn from the posterior per replication, the
#: point estimate, or no calibration (the documented defaults).
CALIBRATION_LEVELS: tuple[str, ...] = ("posterior", "point", "none")
#: Land programmes of ``conf/state_programmes/all.yaml`` (the programme keys of the
#: ``state_programmes`` block): a run with all of them is named ``all``.
ALL_STATE_PROGRAMMES = frozenset({"hessen", "nrw", "bw", "bayern"})
#: The default scenario (``conf/config.yaml``): a run folder names the axes that differ
#: from it, besides strategy and funding, which it always names.
DEFAULT_SCENARIO: dict[str, str] = {
    "strategy": "efa", "funding": "historical", "staffing": "historical",
    "operation": "historical", "state_programmes": "all", "calibration": "posterior"}
#: Axes a run folder always names (as it did before the others were named).
ALWAYS_NAMED: tuple[str, ...] = ("strategy", "funding")
#: Prefix of an axis level in a folder name, where the level alone is unclear.
FOLDER_PREFIX: dict[str, str] = {"staffing": "staff-", "operation": "payer-",
                                 "state_programmes": "lp-", "calibration": "cal-"}


def scenario_of(config: Mapping[str, object],
                draws: Mapping[str, object] | None = None) -> dict[str, str]:
    """Axis -> level key of a run's configuration (a manifest's ``config``).

    ``state_programmes`` is ``all``, ``none`` or the programme keys joined by ``+``;
    ``calibration`` is ``posterior``, ``point`` or ``none``, from ``draws`` (a manifest's
    ``calibrated_draws`` record) if given, else from the configuration's
    ``calibrated_draws`` and ``posterior``.
    """
    def name(axis: str) -> str:
        block = config.get(axis)
        return str(block.get("name")) if isinstance(block, Mapping) else str(block)

    progs = config.get("state_programmes")
    keys = sorted(progs) if isinstance(progs, Mapping) else []
    programmes = ("all" if set(keys) == ALL_STATE_PROGRAMMES else
                  "+".join(keys) if keys else "none")
    if draws:
        mode = str(draws.get("mode") or "none")
    else:
        mode = (str(config.get("calibrated_draws") or "none")
                if config.get("posterior") else "none")
    if mode not in CALIBRATION_LEVELS:
        mode = "none"
    return {"strategy": name("strategy"), "funding": name("funding"),
            "staffing": name("staffing"), "operation": name("operation"),
            "state_programmes": programmes, "calibration": mode}


def folder_label(scenario: Mapping[str, str]) -> str:
    """The scenario part of a run folder's name: strategy and funding, then every other axis
    that differs from :data:`DEFAULT_SCENARIO` (``efa_historical``,
    ``efv_koenigstein_payer-reusers_lp-bw+hessen``)."""
    parts = [scenario[a] for a in ALWAYS_NAMED]
    parts += [FOLDER_PREFIX.get(a, "") + scenario[a] for a in SCENARIO_AXES
              if a not in ALWAYS_NAMED and scenario[a] != DEFAULT_SCENARIO[a]]
    return "_".join(parts)


__all__ = ["ALL_STATE_PROGRAMMES", "ALWAYS_NAMED", "CALIBRATION_LEVELS", "DEFAULT_SCENARIO",
           "FOLDER_PREFIX", "SCENARIO_AXES", "folder_label", "scenario_of"]


def design_roles(design: Mapping[str, object] | None) -> tuple[list[str], list[str]]:
    """The lever columns and the uncertainty columns of an experiment's design as its
    folder's manifest records it (``manifest["design"]``).

    Levers are the keys of ``grid`` and ``cross`` (settings an analyst chooses);
    uncertainties the keys of ``lhs.ranges`` (the explored scenarios: a mapping of every
    key the hypercube sets). Readers of an exploration (robustness, regret, scenario
    discovery) take their columns from here.
    """
    design = design or {}
    levers: list[str] = []
    for part in ("grid", "cross"):
        axes = design.get(part)
        if isinstance(axes, Mapping):
            levers += [str(k) for k in axes if str(k) not in levers]
    lhs = design.get("lhs")
    ranges = lhs.get("ranges") if isinstance(lhs, Mapping) else None
    uncertain = [str(k) for k in ranges] if isinstance(ranges, Mapping) else []
    return levers, uncertain
