"""Uncertain parameters: a dotted config key and the range it may take, and the seeded Latin
hypercube over such ranges.

Every uncertain parameter is declared once, with its widest range, in
``conf/declarations.yaml`` (:mod:`sim.declarations`). Sweeps (``design.lhs.ranges`` of an
experiment), the sensitivity screening (``sensitivity.ranges``) and the calibration
(``parameters`` of a calibration spec) name what they explore as a list of declared keys,
each taking its declared range, or narrow a range explicitly (within the declared one)::

    ranges:
      - development.effort_person_days              # the declared range
      - sharing.efa.operator_onboarding_slots: [2, 14]   # narrower, with its reason

A mapping ``{key: [low, high]}`` (or ``{key: null}`` for the declared range) is read the
same way. All read it with :func:`parse_ranges`, check it against a configuration with
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
from sim.declarations import Declarations, declarations
from sim.errors import ConfigError
from sim.keys import numeric_keys, set_path
from sim.params import Config
from sim.posterior import PosteriorSample

#: Stream id of the posterior particles a hypercube's points take (:func:`posterior_rows`),
#: apart from the model's streams (``sim.rng.STREAM_IDS``) and the per-replication draw
#: (``sim.posterior.DRAW_STREAM_ID``).
POSTERIOR_ROWS_STREAM_ID = 101
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


def parse_ranges(raw: Any, where: str, decl: Declarations | None = None
                 ) -> list[ParameterRange]:
    """Ranges from a list of declared keys (an element may be ``{key: [low, high]}``, an
    explicit narrower range) or a mapping ``{key: [low, high] or null}``.

    ``where`` is the dotted place of the ranges in its file (``parameters``,
    ``design.lhs.ranges``) and heads every error message; ``decl`` the declarations the
    keys must be in (default: the shipped ``conf/declarations.yaml``).
    """
    decl = decl if decl is not None else declarations()
    items: list[tuple[Any, Any]] = []
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, (list, tuple)):
        for x in raw:
            if isinstance(x, Mapping) and len(x) == 1:
                items += list(x.items())
            elif isinstance(x, str):
                items.append((x, None))
            else:
                raise ConfigError(f"{where}: {x!r} is not allowed: a declared key, or "
                                  "{key: [low, high]} for a narrower range")
    if not items:
        raise ConfigError(f"{where}={raw!r} is not allowed: a non-empty list of declared keys "
                          "(conf/declarations.yaml), each optionally {key: [low, high]}")
    out: list[ParameterRange] = []
    for key, r in items:
        key = str(key)
        declared = decl.uncertainties.get(key)
        if declared is None:
            raise ConfigError(f"{where}.{key} is not allowed: not a declared uncertainty; "
                              "declare it under uncertainties: in conf/declarations.yaml")
        if any(p.key == key for p in out):
            raise ConfigError(f"{where}.{key} is not allowed: the key is given twice")
        if r is None:
            out.append(ParameterRange(key, declared.low, declared.high))
            continue
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            raise ConfigError(f"{where}.{key}={r!r} is not allowed: [low, high] with low < high")
        low = parse_number(f"{where}.{key}[0]", r[0])
        high = parse_number(f"{where}.{key}[1]", r[1])
        if not low < high:
            raise ConfigError(f"{where}.{key}={list(r)!r} is not allowed: [low, high] with "
                              "low < high")
        if low < declared.low or high > declared.high:
            raise ConfigError(f"{where}.{key}=[{low:g}, {high:g}] is not allowed: inside its "
                              f"declared range [{declared.low:g}, {declared.high:g}] "
                              "(conf/declarations.yaml)")
        out.append(ParameterRange(key, low, high))
    return out


def ranges_mapping(ranges: Sequence[ParameterRange]) -> dict[str, list[float]]:
    """The resolved ``{key: [low, high]}`` of ranges (what a manifest records)."""
    return {p.key: [p.low, p.high] for p in ranges}


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


def posterior_rows(sample: PosteriorSample, n: int, seed: int) -> np.ndarray:
    """Indices of ``n`` particles of ``sample``, drawn with their weights by stratified
    resampling (one uniform in each ``1/n`` stratum, then shuffled): the hypercube's analogue
    for a weighted sample, seeded by ``(seed, POSTERIOR_ROWS_STREAM_ID)``."""
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), POSTERIOR_ROWS_STREAM_ID)))
    u = (np.arange(n) + rng.random(n)) / n
    cum = np.cumsum(sample.weights)
    idx = np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), sample.n_particles - 1)
    return rng.permutation(idx)


def latin_hypercube(ranges: Sequence[ParameterRange], n: int, seed: int,
                    posterior: PosteriorSample | None = None) -> list[dict[str, float]]:
    """``n`` points of a seeded Latin hypercube over ``ranges``, as ``{key: value}``.

    With ``posterior``, the keys it holds take whole particles of it, jointly (so their
    correlations are kept; :func:`posterior_rows`), one per point; the other keys form the
    hypercube.
    """
    drawn = [p for p in ranges if posterior is not None and p.key in posterior.keys]
    rest = [p for p in ranges if p not in drawn]
    points: list[dict[str, float]] = [{} for _ in range(n)]
    if rest:
        unit = latin_hypercube_unit(n, len(rest), seed)
        scaled = qmc.scale(unit, [p.low for p in rest], [p.high for p in rest])
        points = [{p.key: float(v) for p, v in zip(rest, row, strict=True)} for row in scaled]
    if posterior is not None and drawn:
        cols = [posterior.keys.index(p.key) for p in drawn]
        for pt, i in zip(points, posterior_rows(posterior, n, seed), strict=True):
            pt.update({p.key: float(posterior.values[i, c]) for p, c in zip(drawn, cols,
                                                                               strict=True)})
    return [{p.key: pt[p.key] for p in ranges} for pt in points]
