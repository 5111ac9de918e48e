"""Dotted keys: how a parameter of the config tree is named, read and set.

A key such as ``sharing.efa.propensity`` or ``staffing.municipal_fte_by_size_class.0``
addresses one value of a :class:`~sim.params.Config` (list elements by index). Sweeps,
uncertain ranges, the calibration and the manifests use these helpers, and
:func:`to_dict` turns a config tree into plain JSON-ready Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from typing import Any

from sim.errors import ConfigError
from sim.posterior import PosteriorSample

_MISSING = object()


def to_dict(obj: Any) -> Any:
    """Plain-Python (JSON-ready) copy of a parameter dataclass tree."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, PosteriorSample):
        return repr(obj)  # one line with its digest; sim.config reads it back
    return obj


_MISSING = object()


def get_path(cfg: Any, key: str) -> Any:
    """Value of a dotted key in a config tree (list elements by index: ``key.0``)."""
    obj = cfg
    for part in key.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)]
        elif isinstance(obj, dict):
            obj = obj[part]
        else:
            obj = getattr(obj, part)
    return obj


def set_path(cfg: Any, key: str, value: Any, coerce: bool = True) -> None:
    """Set a dotted parameter key on a config tree (a Config), coercing the value to the
    type of the value it replaces (``coerce=False``: as it is, as a config file could hold
    any type; for tests of the validation)."""
    parts = key.split(".")
    obj: Any = cfg
    for p in parts[:-1]:
        if isinstance(obj, list):
            obj = obj[int(p)]
        elif isinstance(obj, dict):  # e.g. state_programmes.hessen.support.0.effort_factor
            obj = obj.get(p, _MISSING)
        else:
            obj = getattr(obj, p, _MISSING)
        if obj is _MISSING:
            raise ConfigError(f"{key}={value!r} is not allowed: unknown key")
    last = parts[-1]
    if isinstance(obj, list):
        old = obj[int(last)]
    elif isinstance(obj, dict):
        old = obj.get(last, _MISSING)
    elif is_dataclass(obj) and last in {f.name for f in fields(obj)}:
        old = getattr(obj, last)
    else:
        raise ConfigError(f"{key}={value!r} is not allowed: unknown key")
    new = _coerce(old, value) if coerce else value
    if isinstance(obj, list):
        obj[int(last)] = new
    elif isinstance(obj, dict):
        obj[last] = new
    else:
        setattr(obj, last, new)


def _coerce(old: Any, value: Any) -> Any:
    if isinstance(old, bool) or old is None or old is _MISSING:
        return value
    if isinstance(old, int):
        return round(float(value))
    if isinstance(old, float):
        return float(value)
    return value


def numeric_keys(obj: Any, prefix: str = "") -> list[str]:
    """Dotted keys of every numeric (int or float, not bool) value in a config tree;
    list elements as ``key.INDEX``."""
    out: list[str] = []
    if is_dataclass(obj) and not isinstance(obj, type):
        items: Iterable[tuple[str, Any]] = ((f.name, getattr(obj, f.name)) for f in fields(obj))
    elif isinstance(obj, dict):
        items = ((str(k), v) for k, v in obj.items())
    elif isinstance(obj, list):
        items = ((str(i), v) for i, v in enumerate(obj))
    else:
        return out
    for k, v in items:
        key = f"{prefix}{k}"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(key)
        else:
            out.extend(numeric_keys(v, key + "."))
    return out
