"""What a calibration fits and how: the spec (``conf/calibration/<name>.yaml``), its
checks, and the configurations it evaluates.

A spec names the uncertain parameters with their prior ranges (declared as every uncertain
range of the package, :mod:`sim.ranges`), the budget of the ABC-SMC method (particles,
generations, simulations, posterior predictive draws), the measurement error of the
official counts, the catalogue they refer to and, for a backtest, the last month whose
counts are fitted (``until``). :func:`load_spec` reads a spec file with command-line options
applied; :func:`config_at` gives the configuration at a parameter point;
:func:`calibrated_overrides` the Hydra file of the calibrated values.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from sim.calendar import month_index
from sim.calibration.targets import METRICS
from sim.checks import parse_number
from sim.config import CONF_DIR, GROUPS, read_yaml
from sim.errors import ConfigError
from sim.keys import get_path, set_path, to_dict
from sim.params import Config
from sim.ranges import ParameterRange, check_ranges, parse_ranges

#: Calibration specs, ``conf/calibration/NAME.yaml``.
CALIBRATION_DIR = CONF_DIR / "calibration"
#: Significant digits of the calibrated values (in calibrated.yaml and the projection).
SIGNIFICANT_DIGITS = 4
SPEC_INTS = ("population_size", "calibration_particles", "max_generations",
             "max_simulations", "predictive_draws", "seed", "catalogue_services",
             "catalogue_federal_services", "waves", "design_runs", "candidates",
             "training_runs", "hyper_runs", "emulator_evaluations")
SPEC_FLOATS = ("target_acceptance_rate",)
#: Calibration methods: ABC-SMC on the simulator, or history matching with emulators and
#: ABC-SMC on the emulated likelihood (MODEL.md 7.10).
METHODS = ("abc", "emulator")
#: Observation error per kind of source (``source_kind`` of the history file):
#: ``[relative, absolute]``, sigma = relative x observed share + absolute (MODEL.md 7.10).
DEFAULT_OBSERVATION_ERROR: dict[str, list[float]] = {
    "dashboard": [0.05, 0.01], "dashboard_land": [0.25, 0.01], "nkr": [0.15, 0.01],
    "government": [0.10, 0.01], "press": [0.20, 0.01], "derived": [0.15, 0.01]}
SPEC_STRS = ("until", "method")
#: Spec keys a command-line option may set (the observation errors are set in the file).
SPEC_OPTION_KEYS = (*SPEC_INTS, *SPEC_FLOATS, "implausibility_cutoff", *SPEC_STRS)
#: Smallest allowed value of each integer spec key.
SPEC_MIN = {"population_size": 10, "calibration_particles": 10, "max_generations": 1,
            "max_simulations": 10, "predictive_draws": 2, "seed": 0,
            "catalogue_services": 1, "catalogue_federal_services": 0, "waves": 1,
            "design_runs": 10, "candidates": 100, "training_runs": 10, "hyper_runs": 10,
            "emulator_evaluations": 100}


def spec_names() -> list[str]:
    """Names of the calibration specs in ``conf/calibration/``."""
    return sorted(p.stem for p in CALIBRATION_DIR.glob("*.yaml"))


@dataclass
class CalibrationSpec:
    """What to calibrate and how (``conf/calibration/<name>.yaml``).

    Attributes
    ----------
    name : str
        Spec name (file stem).
    method : str
        ``emulator`` (history matching with Gaussian-process emulators, then ABC-SMC on the
        emulated likelihood, :mod:`sim.calibration.emulation`) or ``abc`` (ABC-SMC on the
        simulator itself, :mod:`sim.calibration.abc`).
    overrides : list of str
        Hydra overrides of the base ozg-sim config (e.g. ``funding=konjunkturpaket``).
    parameters : list of ParameterRange
        Parameters and their (uniform) prior bounds.
    population_size : int
        Accepted particles per ABC-SMC generation (one simulation per particle).
    calibration_particles : int
        Simulations from the prior that set the first temperature and the density
        normalisation of the stochastic acceptor.
    max_generations : int
        Most ABC-SMC generations.
    max_simulations : int
        Simulation budget: no generation starts once this many have run (the last one may
        overrun it by one generation).
    target_acceptance_rate : float
        Each generation's temperature is the lowest whose expected acceptance rate is this
        (and at most a factor :data:`~sim.calibration.abc.TEMPERATURE_DECAY` below the last
        one); a temperature of 1 is exact inference and ends the run.
    waves, design_runs : int
        ``emulator``: waves of history matching and the simulations of each.
    candidates : int
        ``emulator``: prior draws per round from which a wave's points are the first
        ``design_runs`` not ruled out (at most 10 rounds per wave).
    implausibility_cutoff : float
        ``emulator``: a point is ruled out when a target's implausibility exceeds this.
    training_runs, hyper_runs : int
        ``emulator``: most runs an emulator is conditioned on, and most runs its
        hyperparameters are fitted on.
    emulator_evaluations : int
        ``emulator``: budget of the ABC-SMC on the emulator (its ``max_simulations``).
    predictive_draws : int
        Posterior predictive simulations over the full horizon (fit table, projection,
        backtest), each at a parameter draw from the posterior.
    until : str or None
        Backtest: fit only the counts up to this month (``YYYY-MM``); ``None`` fits all.
    observation_error : dict of str to [float, float]
        Observation error of a target with observed share ``o`` by the kind of its source
        (``source_kind`` of the history file): ``sigma = relative * o + absolute`` (share
        scale) with ``[relative, absolute]`` of the kind.
    seed : int
        Root seed of the replications and of the Latin hypercube.
    catalogue_services, catalogue_federal_services : int
        Size of the official catalogue the counts refer to (575 OZG services, 115 of them
        federal Typ 1): denominators of the observed shares.
    lower_bound_metrics : list of str
        Metrics whose value is a lower bound ("more than half"), not a point value.
    """

    name: str = "historical"
    method: str = "abc"
    overrides: list[str] = field(default_factory=list)
    parameters: list[ParameterRange] = field(default_factory=list)
    population_size: int = 250
    calibration_particles: int = 100
    max_generations: int = 8
    max_simulations: int = 2600
    target_acceptance_rate: float = 0.3
    waves: int = 3
    design_runs: int = 600
    candidates: int = 50000
    implausibility_cutoff: float = 3.0
    training_runs: int = 1000
    hyper_runs: int = 400
    emulator_evaluations: int = 400000
    predictive_draws: int = 100
    until: str | None = None
    observation_error: dict[str, list[float]] = field(
        default_factory=lambda: copy.deepcopy(DEFAULT_OBSERVATION_ERROR))
    seed: int = 1
    catalogue_services: int = 575
    catalogue_federal_services: int = 115
    lower_bound_metrics: list[str] = field(
        default_factory=lambda: ["ozg_leistungen_online_min1_share"])

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    @property
    def low(self) -> np.ndarray:
        return np.array([p.low for p in self.parameters], dtype=float)

    @property
    def high(self) -> np.ndarray:
        return np.array([p.high for p in self.parameters], dtype=float)

    def as_dict(self) -> dict[str, Any]:
        return to_dict(self)


SPEC_KEYS = tuple(f.name for f in fields(CalibrationSpec))


def spec_from_dict(raw: Mapping[str, Any], name: str = "historical") -> CalibrationSpec:
    """A :class:`CalibrationSpec` from a plain mapping (YAML or command line), checked for
    unknown keys, types and ranges (not yet against a config: :func:`check_parameters`)."""
    unknown = sorted(set(map(str, raw)) - set(SPEC_KEYS) - {"name"})
    if unknown:
        raise ConfigError(f"{unknown[0]} is not allowed: spec keys are "
                          + ", ".join(k for k in SPEC_KEYS if k != "name"))
    spec = CalibrationSpec(name=str(raw.get("name", name)))
    for k in SPEC_INTS:
        if k in raw:
            setattr(spec, k, int(parse_number(k, raw[k], SPEC_MIN[k], integer=True)))
    for k in SPEC_FLOATS:
        if k in raw:
            setattr(spec, k, parse_number(k, raw[k], 0.0, 1.0, lo_open=True))
    if "implausibility_cutoff" in raw:
        spec.implausibility_cutoff = parse_number("implausibility_cutoff",
                                                  raw["implausibility_cutoff"], 0.0,
                                                  lo_open=True)
    if "method" in raw:
        if str(raw["method"]) not in METHODS:
            raise ConfigError(f"method={raw['method']!r} is not allowed: one of "
                              + ", ".join(METHODS))
        spec.method = str(raw["method"])
    if "observation_error" in raw:
        spec.observation_error = parse_observation_error(raw["observation_error"])
    if raw.get("until") is not None:
        spec.until = str(raw["until"])
        month_index(spec.until, "until")
    if spec.catalogue_federal_services >= spec.catalogue_services:
        raise ConfigError(f"catalogue_federal_services={spec.catalogue_federal_services!r} is "
                          f"not allowed: fewer than catalogue_services="
                          f"{spec.catalogue_services}")
    ovr = raw.get("overrides") or []
    if not isinstance(ovr, (list, tuple)) or not all(isinstance(o, str) for o in ovr):
        raise ConfigError(f"overrides={ovr!r} is not allowed: a list of key=value strings")
    spec.overrides = list(ovr)
    lbm = raw.get("lower_bound_metrics", spec.lower_bound_metrics) or []
    if not isinstance(lbm, (list, tuple)) or not all(m in METRICS for m in lbm):
        raise ConfigError(f"lower_bound_metrics={lbm!r} is not allowed: a list of "
                          + ", ".join(METRICS))
    spec.lower_bound_metrics = list(lbm)
    spec.parameters = parse_ranges(raw.get("parameters"), "parameters")
    return spec


def parse_observation_error(raw: Any) -> dict[str, list[float]]:
    """``{source_kind: [relative, absolute]}`` for every kind of source of the targets;
    kinds not given keep their default."""
    key = "observation_error"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{key}={raw!r} is not allowed: a mapping source kind -> "
                          "[relative, absolute]")
    out = copy.deepcopy(DEFAULT_OBSERVATION_ERROR)
    for kind, pair in raw.items():
        if kind not in DEFAULT_OBSERVATION_ERROR:
            raise ConfigError(f"{key}.{kind} is not allowed: kinds are "
                              + ", ".join(DEFAULT_OBSERVATION_ERROR))
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ConfigError(f"{key}.{kind}={pair!r} is not allowed: [relative, absolute]")
        rel = parse_number(f"{key}.{kind}[0]", pair[0], 0.0)
        ab = parse_number(f"{key}.{kind}[1]", pair[1], 0.0, lo_open=True)
        out[str(kind)] = [rel, ab]
    return out


def check_parameters(spec: CalibrationSpec, base: Config) -> None:
    """Every parameter key is a numeric parameter of ``base`` and both prior bounds give a
    valid configuration; else :class:`ConfigError` naming key and allowed values."""
    check_ranges(spec.parameters, base, "parameters")


def config_at(base: Config, keys: Sequence[str], values: Sequence[float] | np.ndarray,
              end: str | None = None) -> Config:
    """A validated copy of ``base`` with the parameters set (and ``end`` if given)."""
    cfg = copy.deepcopy(base)
    for k, v in zip(keys, values, strict=True):
        set_path(cfg, k, float(v))
    if end is not None:
        cfg.end = end
    return cfg.validate()


def round_significant(x: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``x`` rounded to ``digits`` significant digits (``812.2637`` -> ``812.3``)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(round(x, digits - 1 - math.floor(math.log10(abs(x)))))


def calibrated_overrides(cfg: Config, keys: Sequence[str]) -> dict[str, Any]:
    """Nested mapping of the calibrated keys for a ``# @package _global_`` Hydra file.

    A key inside a list (``funding.programmes.0.agreement_months``) gives the whole list
    as it is in ``cfg``, since Hydra replaces lists instead of merging them.
    """
    out: dict[str, Any] = {}
    for key in keys:
        parts = key.split(".")
        cut = next((i for i, p in enumerate(parts) if p.isdigit()), len(parts))
        path = parts[:cut] if cut < len(parts) else parts
        value = to_dict(get_path(cfg, ".".join(path)))
        node = out
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = value
    return out


def load_spec(name: str, spec_opts: dict[str, str], overrides: list[str]) -> CalibrationSpec:
    """The spec file with the command-line options and overrides applied, checked."""
    path = CALIBRATION_DIR / f"{name}.yaml"
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: is not a mapping of spec keys")
    spec = spec_from_dict({**{str(k): v for k, v in raw.items()}, **spec_opts}, name)
    spec.name = name
    spec.overrides = [*spec.overrides, *overrides]
    return spec


def base_overrides(spec: CalibrationSpec) -> list[str]:
    """Overrides of the base config: the spec's, starting from the documented defaults
    (``calibrated=none``) unless they choose a ``calibrated`` option themselves, so that a
    calibration never starts from an earlier one."""
    chosen = any(o.lstrip("+~").partition("=")[0] == "calibrated" for o in spec.overrides)
    pin = ["calibrated=none"] if "calibrated" in GROUPS and not chosen else []
    return [*pin, *spec.overrides]
