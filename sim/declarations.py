"""What the model does not know and what a decision maker chooses, declared once
(``conf/declarations.yaml``; EMA Workbench's uncertainties and levers).

- **Uncertainties**: a dotted config key, its declared range ``[low, high]`` (the widest any
  sweep, screening or calibration may explore), unit, names in English and German, basis
  (``calibrated``, ``assumed``, ``sourced``) and why the range is what it is. Experiment
  ranges and calibration priors list these keys and may narrow a range, never widen it
  (:func:`sim.ranges.parse_ranges`).
- **Levers**: a config group with its options (``strategy``, ``funding``, ...) or a numeric
  key with a range (``staffing.dev_fte_factor``).
- **Columns**: names of other design and table columns (``state``).

The names are the one home of :func:`sim.figures.labels.param_label`. The file is checked
when read (one line naming the key): unknown fields, a key declared twice, a bad range or
basis, a missing name, a lever option without its ``conf/<group>/<option>.yaml``.
:func:`check_numeric` checks the keys against a composed configuration (the test suite does
so for the default one).

Ground floor: PyYAML only (no Hydra objects), nothing written.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from sim.errors import ConfigError

#: Name of the declaration file in the config folder.
FILE_NAME = "declarations.yaml"
#: Sections of the file.
SECTIONS = ("uncertainties", "levers", "columns")
#: Where an uncertainty's range comes from.
BASES = ("calibrated", "assumed", "sourced")
#: Fields of the names of a key (every section).
NAME_FIELDS = ("label", "label_de", "short", "short_de")
#: Fields of an uncertainty (``rationale`` or ``source``: at least one).
UNCERTAINTY_FIELDS = ("range", "unit", *NAME_FIELDS, "basis", "rationale", "source")
#: Fields of a lever (``options`` for a group lever, ``range`` and ``unit`` for a numeric one).
LEVER_FIELDS = ("options", "range", "unit", *NAME_FIELDS)


def _default_path() -> Path:
    """The shipped file: ``sim/conf`` of an installed wheel, else the checkout's ``conf/``
    (as :data:`sim.config.CONF_DIR`, which this ground-floor module cannot import)."""
    packaged = Path(str(resources.files("sim") / "conf" / FILE_NAME))
    return packaged if packaged.is_file() else \
        Path(__file__).resolve().parent.parent / "conf" / FILE_NAME


class Names(NamedTuple):
    """Readable name of a key, as it reads inside a sentence, unit in brackets; ``short_en``
    and ``short_de`` for small panels (``None``: the same). ``{item}`` in a list element's
    name stands for the element (:func:`sim.figures.labels.param_label`)."""

    en: str
    de: str
    short_en: str | None = None
    short_de: str | None = None


@dataclass(frozen=True)
class Uncertainty:
    """A declared uncertain parameter.

    Attributes
    ----------
    key : str
        Dotted config key (a list element as ``key.INDEX``).
    low, high : float
        Declared range, in the parameter's unit.
    unit : str
    names : Names
    basis : str
        One of :data:`BASES`.
    rationale : str
        Why the range (or its source).
    """

    key: str
    low: float
    high: float
    unit: str
    names: Names
    basis: str
    rationale: str


@dataclass(frozen=True)
class Lever:
    """A declared lever: a config group with ``options``, or a numeric key with a range."""

    key: str
    names: Names
    options: tuple[str, ...] = ()
    low: float = math.nan
    high: float = math.nan
    unit: str = ""

    @property
    def is_group(self) -> bool:
        return bool(self.options)


@dataclass(frozen=True)
class Declarations:
    """The declared uncertainties, levers and other named columns (each in file order)."""

    uncertainties: dict[str, Uncertainty]
    levers: dict[str, Lever]
    columns: dict[str, Names]

    def names(self) -> dict[str, Names]:
        """Key -> names of every declared key (the names of :func:`param_label`)."""
        return {**{k: u.names for k, u in self.uncertainties.items()},
                **{k: lv.names for k, lv in self.levers.items()}, **self.columns}

    def calibrated(self) -> list[str]:
        """Keys whose basis is ``calibrated`` (the calibration's parameters)."""
        return [k for k, u in self.uncertainties.items() if u.basis == "calibrated"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _no_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise ConfigError(f"{FILE_NAME}: {key} is declared twice (line "
                              f"{key_node.start_mark.line + 1})")
        seen.add(key)
    return dict(loader.construct_mapping(node))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _names(where: str, entry: Mapping[str, Any]) -> Names:
    for f in ("label", "label_de"):
        if not isinstance(entry.get(f), str) or not entry[f].strip():
            raise ConfigError(f"{FILE_NAME}: {where}.{f} is missing: a non-empty text")
    for f in ("short", "short_de"):
        if f in entry and not (isinstance(entry[f], str) and entry[f].strip()):
            raise ConfigError(f"{FILE_NAME}: {where}.{f}={entry[f]!r} is not allowed: a "
                              "non-empty text")
    return Names(entry["label"], entry["label_de"], entry.get("short"), entry.get("short_de"))


def _fields(where: str, entry: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{FILE_NAME}: {where}={entry!r} is not allowed: a mapping of "
                          + ", ".join(allowed))
    unknown = sorted(set(map(str, entry)) - set(allowed))
    if unknown:
        raise ConfigError(f"{FILE_NAME}: {where}.{unknown[0]} is not allowed: fields are "
                          + ", ".join(allowed))
    return entry


def _range(where: str, raw: Any) -> tuple[float, float]:
    ok = isinstance(raw, (list, tuple)) and len(raw) == 2 and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
        for x in raw)
    if not ok or not raw[0] < raw[1]:
        raise ConfigError(f"{FILE_NAME}: {where}.range={raw!r} is not allowed: [low, high] "
                          "with numbers low < high")
    return float(raw[0]), float(raw[1])


def _text(where: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{FILE_NAME}: {where} is missing: a non-empty text")
    return raw


def parse_declarations(raw: Any, conf_dir: Path | None = None) -> Declarations:
    """:class:`Declarations` from the file's mapping, checked; ``conf_dir`` (the folder of
    the config groups) checks the options of group levers, if given."""
    if not isinstance(raw, Mapping) or "uncertainties" not in raw:
        raise ConfigError(f"{FILE_NAME}: is not a mapping with the sections "
                          + ", ".join(SECTIONS))
    unknown = sorted(set(map(str, raw)) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{FILE_NAME}: section {unknown[0]!r} is not allowed: sections are "
                          + ", ".join(SECTIONS))
    sections = {s: raw.get(s) or {} for s in SECTIONS}
    for s, body in sections.items():
        if not isinstance(body, Mapping):
            raise ConfigError(f"{FILE_NAME}: {s} is not allowed: a mapping of dotted keys")
    seen: dict[str, str] = {}
    for s, body in sections.items():
        for key in body:
            if str(key) in seen:
                raise ConfigError(f"{FILE_NAME}: {key} is declared twice (in {seen[str(key)]} "
                                  f"and {s})")
            seen[str(key)] = s
    unc: dict[str, Uncertainty] = {}
    for key, entry in sections["uncertainties"].items():
        where = f"uncertainties.{key}"
        e = _fields(where, entry, UNCERTAINTY_FIELDS)
        low, high = _range(where, e.get("range"))
        if e.get("basis") not in BASES:
            raise ConfigError(f"{FILE_NAME}: {where}.basis={e.get('basis')!r} is not allowed: "
                              "one of " + ", ".join(BASES))
        why = e.get("rationale") or e.get("source")
        unc[str(key)] = Uncertainty(str(key), low, high, _text(f"{where}.unit", e.get("unit")),
                                    _names(where, e), str(e["basis"]),
                                    _text(f"{where}.rationale (or source)", why))
    levers: dict[str, Lever] = {}
    for key, entry in sections["levers"].items():
        where = f"levers.{key}"
        e = _fields(where, entry, LEVER_FIELDS)
        names = _names(where, e)
        if ("options" in e) == ("range" in e):
            raise ConfigError(f"{FILE_NAME}: {where} is not allowed: either options (a config "
                              "group's options) or range (a numeric lever)")
        if "options" in e:
            opts = e["options"]
            if not isinstance(opts, list) or not opts or not all(isinstance(o, str)
                                                                 for o in opts):
                raise ConfigError(f"{FILE_NAME}: {where}.options={opts!r} is not allowed: a "
                                  "non-empty list of option names")
            if conf_dir is not None:
                for o in opts:
                    if not (conf_dir / str(key) / f"{o}.yaml").is_file():
                        raise ConfigError(f"{FILE_NAME}: {where}.options: {o!r} is not "
                                          f"allowed: no conf/{key}/{o}.yaml")
            levers[str(key)] = Lever(str(key), names, options=tuple(opts))
        else:
            low, high = _range(where, e["range"])
            levers[str(key)] = Lever(str(key), names, low=low, high=high,
                                     unit=_text(f"{where}.unit", e.get("unit")))
    columns = {str(k): _names(f"columns.{k}", _fields(f"columns.{k}", e, NAME_FIELDS))
               for k, e in sections["columns"].items()}
    return Declarations(unc, levers, columns)


def read_declarations(path: Path) -> Declarations:
    """The declaration file at ``path``, checked (:func:`parse_declarations`, with the
    config groups beside it)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{FILE_NAME}: cannot be read ({exc.strerror})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        first = (str(exc).strip().splitlines() or ["syntax error"])[0]
        raise ConfigError(f"{FILE_NAME}: cannot be read ({first})") from None
    return parse_declarations(raw, Path(path).parent)


@functools.cache
def declarations() -> Declarations:
    """The shipped declarations (read once per process)."""
    return read_declarations(_default_path())


def check_numeric(decl: Declarations, numeric: list[str]) -> None:
    """Every declared uncertainty and numeric lever is one of ``numeric`` (the numeric keys
    of a composed configuration, :func:`sim.keys.numeric_keys`); else one line naming it."""
    allowed = set(numeric)
    for key in [*decl.uncertainties, *(k for k, lv in decl.levers.items() if not lv.is_group)]:
        if key not in allowed:
            section = "uncertainties" if key in decl.uncertainties else "levers"
            raise ConfigError(f"{FILE_NAME}: {section}.{key} is not allowed: not a numeric "
                              "parameter of the configuration")


__all__ = ["BASES", "FILE_NAME", "SECTIONS", "Declarations", "Lever", "Names", "Uncertainty",
           "check_numeric", "declarations", "parse_declarations", "read_declarations"]
