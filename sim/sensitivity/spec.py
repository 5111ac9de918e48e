"""The ``sensitivity:`` block of an experiment file, with command-line options applied and
checked before anything runs.

::

    sensitivity:
      outputs: [calibration:historical, kpi:population_coverage_2022_12]
      trajectories: 10      # Morris trajectories r
      levels: 4             # Morris grid levels
      pool: 64              # candidates of which the r most spread are taken (null, or
                            # not more than trajectories: plain random trajectories)
      threshold: 0.2        # screening: mu*_normalised on some output
      always: []            # parameters that go on to Sobol whatever Morris says
      sobol_n: 64           # Sobol base sample N (a power of 2)
      st_threshold: 0.05    # ST from which a parameter must be calibrated or sourced
      max_survivors: null   # at most this many go on to Sobol (largest mu* first)
      ranges:               # every uncertain parameter, in the one range form
        development.effort_person_days: [400, 2000]
      # decisions (sim.sensitivity.contrasts); outputs may then be empty
      contrasts:            # level b against the reference level a, on common random numbers
        - {factor: strategy, a: efa, b: efv}
      columns: [population_coverage, nationwide_share]   # of national
      months: [2022-12, 2026-12, 2030-12]                # screened and shown
      yearly: true          # also every December to the end (analysed, not screened)

Command-line options (``ozg-sim-experiment sensitivity trajectories=4 sobol_n=16``) take
the same keys; ``outputs=a,b``, ``contrasts=strategy=efv-efa,funding=koenigstein-
konjunkturpaket``, ``columns=`` and ``months=`` comma-separated lists, ``yearly=true|false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.checks import parse_number
from sim.errors import ConfigError
from sim.keys import get_path
from sim.params import Config
from sim.ranges import ParameterRange, check_ranges, parse_ranges
from sim.sensitivity.contrasts import (
    DEFAULT_COLUMNS,
    DEFAULT_MONTHS,
    Contrast,
    contrast_outputs,
    parse_contrasts,
    yearly_months,
)
from sim.sensitivity.method import Problem, Settings, morris_levels_are_integers

#: Keys of the block; of them, the ones a command line may set.
SPEC_KEYS = ("outputs", "ranges", "trajectories", "levels", "pool", "threshold", "always",
             "sobol_n", "st_threshold", "max_survivors", "contrasts", "columns", "months",
             "yearly")
OPTION_KEYS = ("outputs", "trajectories", "levels", "pool", "threshold", "sobol_n",
               "st_threshold", "max_survivors", "contrasts", "columns", "months", "yearly")
#: Options that are comma-separated lists on the command line.
LIST_OPTIONS = ("outputs", "contrasts", "columns", "months")
#: Words of ``yearly=`` (and of the YAML booleans).
YES, NO = ("true", "yes", "1"), ("false", "no", "0")


@dataclass
class SensitivitySpec:
    """What the screening analyses and how.

    Attributes
    ----------
    outputs : list of str
        Output names (:mod:`sim.sensitivity.quantities`), as written.
    ranges : list of ParameterRange
        Every uncertain parameter and its range.
    settings : Settings
        Designs, thresholds and seed.
    contrasts : list of Contrast
        Decisions whose outputs are added (:mod:`sim.sensitivity.contrasts`).
    columns, months : list of str
        Columns of ``national`` and months (``YYYY-MM``) of the contrasts' outputs.
    yearly : bool
        Also every December up to the end (outputs analysed, but not screened on).
    """

    outputs: list[str]
    ranges: list[ParameterRange]
    settings: Settings
    contrasts: list[Contrast] = field(default_factory=list)
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    months: list[str] = field(default_factory=lambda: list(DEFAULT_MONTHS))
    yearly: bool = False

    def all_outputs(self, end: str) -> list[str]:
        """Every output name: ``outputs``, the contrasts' at ``months`` and, if
        ``yearly``, at every December up to ``end`` (duplicates dropped)."""
        names = [*self.outputs, *contrast_outputs(self.contrasts, self.columns, self.months)]
        if self.yearly:
            names += contrast_outputs(self.contrasts, self.columns, yearly_months(end))
        return list(dict.fromkeys(names))

    def screened_outputs(self) -> list[str]:
        """The outputs the screening rule reads: all but the yearly ones (a contrast near
        zero in the early years is noise, whose largest effect would pass any parameter)."""
        return list(dict.fromkeys(
            [*self.outputs, *contrast_outputs(self.contrasts, self.columns, self.months)]))


def _int(key: str, value: Any, lo: int) -> int:
    return int(parse_number(f"sensitivity.{key}", value, lo, integer=True))


def spec_from_dict(raw: Any, options: Mapping[str, str] | None = None,
                   seed: int = 1) -> SensitivitySpec:
    """The block ``raw`` with ``options`` (command-line text) applied, checked for its
    form (not yet against a configuration: :func:`problem_of`)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"sensitivity={raw!r} is not allowed: a mapping of "
                          + ", ".join(SPEC_KEYS))
    d: dict[str, Any] = {str(k): v for k, v in raw.items()}
    unknown = sorted(set(d) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"sensitivity.{unknown[0]} is not allowed: keys are "
                          + ", ".join(SPEC_KEYS))
    for k, v in (options or {}).items():
        d[k] = [s.strip() for s in v.split(",") if s.strip()] if k in LIST_OPTIONS else v
    s = Settings(seed=seed)
    s.trajectories = _int("trajectories", d.get("trajectories", s.trajectories), 2)
    s.levels = _int("levels", d.get("levels", s.levels), 2)
    if s.levels % 2:
        raise ConfigError(f"sensitivity.levels={s.levels} is not allowed: an even integer "
                          ">= 2")
    pool = d.get("pool")
    s.pool = None if pool in (None, "null", "none") else _int("pool", pool, 2)
    s.threshold = parse_number("sensitivity.threshold", d.get("threshold", s.threshold), 0, 1)
    s.st_threshold = parse_number("sensitivity.st_threshold",
                                  d.get("st_threshold", s.st_threshold), 0, 1)
    s.sobol_n = _int("sobol_n", d.get("sobol_n", s.sobol_n), 2)
    if s.sobol_n & (s.sobol_n - 1):
        raise ConfigError(f"sensitivity.sobol_n={s.sobol_n} is not allowed: a power of 2 "
                          "(2, 4, 8, ..., as the Sobol' sequence needs)")
    always = d.get("always") or []
    if not isinstance(always, (list, tuple)) or not all(isinstance(a, str) for a in always):
        raise ConfigError(f"sensitivity.always={always!r} is not allowed: a list of keys "
                          "of sensitivity.ranges")
    s.always = list(always)
    most = d.get("max_survivors")
    s.max_survivors = (None if most in (None, "null", "none")
                       else _int("max_survivors", most, 1))
    contrasts = parse_contrasts(d.get("contrasts") or [])
    columns = _strings("columns", d.get("columns", list(DEFAULT_COLUMNS)))
    months = _strings("months", d.get("months", list(DEFAULT_MONTHS)))
    yearly = d.get("yearly", False)
    if isinstance(yearly, str) and yearly.lower() in (*YES, *NO):
        yearly = yearly.lower() in YES
    if not isinstance(yearly, bool):
        raise ConfigError(f"sensitivity.yearly={yearly!r} is not allowed: true or false")
    outputs = d.get("outputs") or []
    if not isinstance(outputs, (list, tuple)) or not (outputs or contrasts):
        raise ConfigError(f"sensitivity.outputs={outputs!r} is not allowed: a non-empty "
                          "list of output names (or none beside sensitivity.contrasts)")
    ranges = parse_ranges(d.get("ranges"), "sensitivity.ranges")
    keys = [p.key for p in ranges]
    for a in s.always:
        if a not in keys:
            raise ConfigError(f"sensitivity.always: {a!r} is not allowed: one of the keys "
                              "of sensitivity.ranges")
    return SensitivitySpec([str(o) for o in outputs], ranges, s, contrasts, columns, months,
                           yearly)


def _strings(key: str, value: Any) -> list[str]:
    """A non-empty list of strings (a YAML month ``2022-12`` may arrive as text only)."""
    if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(v, str) for v in value):
        raise ConfigError(f"sensitivity.{key}={value!r} is not allowed: a non-empty list of "
                          + ("months YYYY-MM (quoted in YAML)" if key == "months"
                             else "column names of national"))
    return list(dict.fromkeys(value))


def problem_of(spec: SensitivitySpec, base: Config) -> Problem:
    """The problem of ``spec`` on ``base``: every range a numeric parameter with valid
    bounds (:func:`sim.ranges.check_ranges`), and the Morris grid of an integer parameter
    on integers; else :class:`ConfigError` naming the key."""
    check_ranges(spec.ranges, base, "sensitivity.ranges")
    integer = []
    for p in spec.ranges:
        is_int = isinstance(get_path(base, p.key), int)
        if is_int and not morris_levels_are_integers(p, spec.settings.levels):
            raise ConfigError(
                f"sensitivity.ranges.{p.key}=[{p.low:g}, {p.high:g}] is not allowed: an "
                f"integer parameter needs integer bounds whose difference is a multiple of "
                f"levels - 1 = {spec.settings.levels - 1}, so that every Morris level is "
                "an integer")
        integer.append(is_int)
    return Problem(list(spec.ranges), integer)


__all__ = ["OPTION_KEYS", "SPEC_KEYS", "SensitivitySpec", "problem_of", "spec_from_dict"]
