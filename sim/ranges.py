"""Uncertain parameters: a dotted config key and the range it may take, and the seeded Latin
hypercube over such ranges.

Sweeps (``design.lhs.ranges`` of an experiment) and the calibration (``parameters`` of a
calibration spec) declare what they do not know the same way, as a mapping of dotted keys
to ``[low, high]``::

    development.effort_person_days: [400, 2000]
    sharing.efa.propensity: [0.6, 1.0]

Both read it with :func:`parse_ranges`, check it against a configuration with
:func:`check_ranges` (every key a numeric parameter, both bounds valid) and sample it with
:func:`latin_hypercube_unit` (``scipy.stats.qmc``), so the same seed gives the same points.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import qmc

from sim.checks import parse_number
from sim.errors import ConfigError
from sim.keys import numeric_keys, set_path
from sim.params import Config

#: Top-level config keys that are run control or the world, never uncertain parameters.
NOT_UNCERTAIN = ("world", "replications", "seed", "workers", "end", "map_months",
                 "max_cost_s")


@dataclass
class ParameterRange:
    """One uncertain parameter: a dotted config key and its range ``[low, high]``
    (uniform prior of a calibration, axis of a Latin hypercube)."""

    key: str
    low: float
    high: float


def parse_ranges(raw: Any, where: str) -> list[ParameterRange]:
    """Ranges from a mapping ``{dotted key: [low, high]}`` (YAML or a plain dict).

    ``where`` is the dotted place of the mapping in its file (``parameters``,
    ``design.lhs.ranges``) and heads every error message.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}={raw!r} is not allowed: a non-empty mapping of dotted "
                          "config keys to [low, high]")
    out = []
    for key, r in raw.items():
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            raise ConfigError(f"{where}.{key}={r!r} is not allowed: [low, high] with low < high")
        low = parse_number(f"{where}.{key}[0]", r[0])
        high = parse_number(f"{where}.{key}[1]", r[1])
        if not low < high:
            raise ConfigError(f"{where}.{key}={list(r)!r} is not allowed: [low, high] with "
                              "low < high")
        out.append(ParameterRange(str(key), low, high))
    return out


def uncertain_keys(cfg: Config) -> list[str]:
    """Numeric parameter keys that may be uncertain (not the world nor run control)."""
    return [k for k in numeric_keys(cfg) if k.split(".")[0] not in NOT_UNCERTAIN]


def check_ranges(ranges: Sequence[ParameterRange], base: Config, where: str) -> None:
    """Every key is a numeric parameter of ``base`` and both bounds give a valid
    configuration; else :class:`ConfigError` naming the key and what is allowed."""
    allowed = uncertain_keys(base)
    for p in ranges:
        if p.key not in allowed:
            scalar = [k for k in allowed if not any(s.isdigit() for s in k.split("."))]
            raise ConfigError(
                f"{where}.{p.key} is not allowed: a numeric parameter of the base config, one "
                "of " + ", ".join(scalar)
                + " (or a numeric list element such as staffing.municipal_fte_by_size_class.0)")
        for i, value in enumerate((p.low, p.high)):
            cfg = copy.deepcopy(base)
            try:
                set_path(cfg, p.key, value)
                cfg.validate()
            except ConfigError as exc:
                raise ConfigError(f"{where}.{p.key}[{i}]={value:g} is not allowed: "
                                  f"{str(exc).split(': ', 1)[-1]}") from None


def latin_hypercube_unit(n: int, k: int, seed: int, round_: int = 0) -> np.ndarray:
    """``n`` points of a seeded Latin hypercube in ``[0, 1]^k``.

    Round 0 is seeded by ``seed`` alone; later rounds (the calibration's design rounds) by
    ``(seed, round)``.
    """
    rng = np.random.default_rng(seed if round_ == 0 else [seed, round_])
    return qmc.LatinHypercube(d=k, seed=rng).random(n)


def latin_hypercube(ranges: Sequence[ParameterRange], n: int, seed: int
                    ) -> list[dict[str, float]]:
    """``n`` points of a seeded Latin hypercube over ``ranges``, as ``{key: value}``."""
    unit = latin_hypercube_unit(n, len(ranges), seed)
    scaled = qmc.scale(unit, [p.low for p in ranges], [p.high for p in ranges])
    return [{p.key: float(v) for p, v in zip(ranges, row, strict=True)} for row in scaled]
