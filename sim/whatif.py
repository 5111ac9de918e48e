"""What-if scenarios, as the workbench (``ozg-sim-app``) builds, compares and reproduces
them; no user interface here, so a script or a test can do the same.

A scenario (:class:`Scenario`) is the world, the number of replications, the seed and the
values of some controls (:class:`Control`): the declared levers (``conf/declarations.yaml``:
strategy, funding, its first programme's money, running-cost payer, Land programmes,
developer and municipal staff, training, municipal effort, vendor products), two declared
staffing uncertainties a workshop argues about as levers (hiring lag, staff cap), and the
calibrated parameters, each either drawn from the posterior sample (the default) or fixed
at a value inside its calibrated range (the posterior's central 90 %,
:data:`CALIBRATED_RANGE`). Every control's range is its declared one, so a slider cannot
leave what the model documents.

A scenario *is* a list of ``ozg-sim`` overrides (:meth:`Scenario.overrides`): its
configuration is composed and validated by the same code as the command line
(:func:`scenario_config`), and its command line (:func:`command_line`) and its Hydra
primary config (:func:`hydra_yaml`) reproduce it exactly. The baseline of a scenario
(:meth:`Scenario.baseline`) is the calibrated historical configuration with the same world,
replications and seed, so the two share their random numbers replication by replication
and their difference is paired.

Key figures (:data:`KEY_FIGURES`): population coverage at the end of 2022, 2026 and 2030,
the months in which coverage first reaches 50 % and 90 %, the programme money spent and the
running costs by payer, per replication (:func:`key_figure_values`, from a run's
``national`` table and key figures, the same as ``ozg-sim`` writes), summarised across
replications and against the baseline (:func:`key_figure_table`).
"""

from __future__ import annotations

import math
import shlex
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim import bands
from sim.calendar import month_index
from sim.config import check_run_dates, load_config, to_yaml
from sim.declarations import Declarations, declarations
from sim.errors import ConfigError
from sim.keys import get_path, to_dict
from sim.params import Config
from sim.stats import paired_difference

#: Worlds a scenario may run in.
WORLDS = ("germany", "toy")
#: Most replications a scenario may ask for (a full-Germany replication takes about half a
#: CPU-second: 50 on 2 cores are about 15 s).
MAX_REPLICATIONS = 50
#: Fewest: a paired interval needs two.
MIN_REPLICATIONS = 2
#: Central share of the posterior a fixed calibrated parameter may be set within: the
#: values the calibration found consistent with the record (5 % to 95 % weighted quantiles).
CALIBRATED_RANGE = (0.05, 0.95)
#: The Land programmes a scenario switches on or off one by one (conf/state_programmes).
STATE_PROGRAMMES = ("hessen", "nrw", "bw", "bayern")
#: Declared uncertainties a workshop treats as staffing levers (the issue's "hiring").
STAFFING_UNCERTAINTIES = ("staffing.hiring_lag_months", "staffing.staff_cap_factor")
#: The value-valued config keys that take whole numbers.
INTEGER_KEYS = ("sharing.efa.operator_onboarding_slots",)

Section = Literal["policy", "staffing", "calibrated"]


@dataclass(frozen=True)
class Control:
    """One thing a scenario can change.

    Attributes
    ----------
    key : str
        The config group (``strategy``) or dotted key (``staffing.dev_fte_factor``).
    kind : str
        ``group`` (one option), ``programmes`` (a subset of :data:`STATE_PROGRAMMES`) or
        ``number``.
    section : str
        ``policy``, ``staffing`` or ``calibrated`` (where the workbench shows it).
    options : tuple of str
        The options of a group or the programmes.
    low, high : float
        The range of a number (declared, or the calibrated range).
    integer : bool
        Whole numbers only.
    default : object
        The baseline's value (a calibrated number: its point estimate; drawn unless set).
    """

    key: str
    kind: Literal["group", "programmes", "number"]
    section: Section
    options: tuple[str, ...] = ()
    low: float = math.nan
    high: float = math.nan
    integer: bool = False
    default: Any = None

    @property
    def step(self) -> float:
        """A slider's step: whole numbers, else the round number (1, 2 or 5 times a power
        of ten) next above a hundredth of the range."""
        if self.integer:
            return 1.0
        raw = (self.high - self.low) / 100
        if not raw > 0:
            return 1.0
        unit = 10.0 ** math.floor(math.log10(raw))
        return round(next(m for m in (1, 2, 5, 10) if m * unit >= raw) * unit, 12)

    def check(self, value: Any) -> Any:
        """``value`` if this control can take it, else a one-line :class:`ConfigError`
        naming the key and what is allowed (the value normalised: numbers as float or int,
        programmes as a sorted tuple in :data:`STATE_PROGRAMMES` order)."""
        if self.kind == "group":
            if value not in self.options:
                raise ConfigError(f"{self.key}={value!r} is not allowed: one of "
                                  f"{', '.join(self.options)}")
            return value
        if self.kind == "programmes":
            chosen = tuple(value) if isinstance(value, (list, tuple)) else None
            if chosen is None or any(v not in self.options for v in chosen):
                raise ConfigError(f"{self.key}={value!r} is not allowed: a list of "
                                  f"{', '.join(self.options)} (or none of them)")
            return tuple(p for p in self.options if p in chosen)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise ConfigError(f"{self.key}={value!r} is not allowed: a number from "
                              f"{self.low:g} to {self.high:g}")
        v = float(value)
        if not (math.isfinite(v) and self.low <= v <= self.high) or (
                self.integer and v != round(v)):
            kind = "a whole number" if self.integer else "a number"
            raise ConfigError(f"{self.key}={value!r} is not allowed: {kind} from "
                              f"{self.low:g} to {self.high:g}")
        return round(v) if self.integer else v


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray,
                        qs: Sequence[float]) -> np.ndarray:
    return np.quantile(values, qs, weights=weights, method="inverted_cdf")


def _round_out(low: float, high: float, integer: bool) -> tuple[float, float]:
    """A range widened to round numbers (3 significant digits of its width)."""
    if integer:
        return float(math.floor(low)), float(math.ceil(high))
    unit = 10 ** (math.floor(math.log10(max(high - low, 1e-12))) - 2)
    return round(math.floor(low / unit) * unit, 12), round(math.ceil(high / unit) * unit, 12)


def controls(base: Config, decl: Declarations | None = None) -> list[Control]:
    """Every control, in the order the workbench shows them, with the defaults of
    ``base`` (the calibrated historical configuration of the world).

    The declared levers (``conf/declarations.yaml``) with their options and ranges, the
    :data:`STAFFING_UNCERTAINTIES` with their declared ranges, and each calibrated
    parameter of ``base``'s posterior sample with its :data:`CALIBRATED_RANGE`.
    """
    decl = decl or declarations()
    out: list[Control] = []
    for key, lever in decl.levers.items():
        if key == "state_programmes":
            out.append(Control(key, "programmes", "policy", STATE_PROGRAMMES,
                               default=_programmes_of(base)))
        elif lever.is_group:
            out.append(Control(key, "group", "policy", tuple(lever.options),
                               default=_group_choice(base, key)))
        else:
            section: Section = "staffing" if key.startswith("staffing.") else "policy"
            out.append(Control(key, "number", section, low=lever.low, high=lever.high,
                               default=_value_or_nan(base, key)))
    for key in STAFFING_UNCERTAINTIES:
        u = decl.uncertainties[key]
        out.append(Control(key, "number", "staffing", low=u.low, high=u.high,
                           default=float(get_path(base, key))))
    sample = base.posterior
    if sample is not None:
        for i, key in enumerate(sample.keys):
            integer = key in INTEGER_KEYS
            lo, hi = _weighted_quantiles(sample.values[:, i], sample.weights,
                                         CALIBRATED_RANGE)
            lo, hi = _round_out(float(lo), float(hi), integer)
            point = float(get_path(base, key))
            out.append(Control(key, "number", "calibrated", low=min(lo, point),
                               high=max(hi, point), integer=integer,
                               default=int(point) if integer else point))
    return out


def _group_choice(cfg: Config, group: str) -> str:
    return str(get_path(cfg, f"{group}.name"))


def _programmes_of(cfg: Config) -> tuple[str, ...]:
    return tuple(p for p in STATE_PROGRAMMES if p in cfg.state_programmes)


def _value_or_nan(cfg: Config, key: str) -> float:
    try:
        return float(get_path(cfg, key))
    except (KeyError, IndexError, AttributeError, TypeError):
        return math.nan  # e.g. the first programme's money where funding has no programme


def _number_text(value: float | int) -> str:
    """A number as an override writes it: exactly (``repr``), whole floats as ``2.0``."""
    return str(value) if isinstance(value, int) else repr(float(value))


@dataclass(frozen=True)
class Scenario:
    """A what-if scenario: world, replications, seed and the controls it sets (key ->
    value, in the order set; a value equal to the baseline's default is still set, so the
    command line says what the user chose)."""

    world: str = "germany"
    replications: int = 10
    seed: int = 1
    values: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.world not in WORLDS:
            raise ConfigError(f"world={self.world!r} is not allowed: one of "
                              f"{', '.join(WORLDS)}")
        if isinstance(self.replications, bool) or not isinstance(self.replications, int) \
                or not MIN_REPLICATIONS <= self.replications <= MAX_REPLICATIONS:
            raise ConfigError(f"replications={self.replications!r} is not allowed: a whole "
                              f"number from {MIN_REPLICATIONS} to {MAX_REPLICATIONS}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed={self.seed!r} is not allowed: a whole number from 0")
        keys = [k for k, _ in self.values]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"a scenario sets each control once (given: {keys})")

    def with_values(self, values: Mapping[str, Any]) -> Scenario:
        """The scenario with these controls set (replacing what it set before)."""
        return replace(self, values=tuple(values.items()))

    def baseline(self) -> Scenario:
        """The calibrated historical scenario of the same world, replications and seed."""
        return Scenario(self.world, self.replications, self.seed)

    @property
    def is_baseline(self) -> bool:
        return not self.values

    def overrides(self) -> list[str]:
        """The ``ozg-sim`` overrides of this scenario."""
        out = [f"world={self.world}", f"replications={self.replications}",
               f"seed={self.seed}"]
        for key, value in self.values:
            if isinstance(value, tuple):  # Land programmes
                out.append(f"{key}=[{','.join(value)}]" if value else f"{key}=none")
            elif isinstance(value, str):
                out.append(f"{key}={value}")
            else:
                out.append(f"{key}={_number_text(value)}")
        return out


def checked_scenario(world: str, replications: int, seed: int, values: Mapping[str, Any],
                     available: Sequence[Control]) -> Scenario:
    """A :class:`Scenario` from user input: every key one of ``available``'s, every value
    one it can take (one-line :class:`ConfigError` otherwise; nothing is evaluated)."""
    by_key = {c.key: c for c in available}
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in by_key:
            raise ConfigError(f"{key!r} is not allowed: one of {', '.join(by_key)}")
        checked[key] = by_key[key].check(value)
    return Scenario(world, replications, seed, tuple(checked.items()))


#: Hydra's composition keeps global state: one composition at a time (the app's sessions
#: compose from several threads).
_COMPOSE = threading.Lock()


#: Configurations composed so far, most recent last (at most :data:`MAX_CONFIGS`).
_CONFIGS: OrderedDict[Scenario, Config] = OrderedDict()
MAX_CONFIGS = 256


def scenario_config(scenario: Scenario) -> Config:
    """The validated configuration of ``scenario``, composed exactly as ``ozg-sim`` with
    its overrides composes it (and with the same checks); the same object for the same
    scenario (do not change it). A caller that finds another composing the same scenario
    waits for it rather than composing again."""
    with _COMPOSE:
        if scenario in _CONFIGS:
            _CONFIGS.move_to_end(scenario)
            return _CONFIGS[scenario]
        cfg = load_config(scenario.overrides())
        check_run_dates(cfg)
        _CONFIGS[scenario] = cfg
        while len(_CONFIGS) > MAX_CONFIGS:
            _CONFIGS.popitem(last=False)
    return cfg


def base_config(world: str = "germany") -> Config:
    """The calibrated historical configuration of ``world`` (the controls' defaults)."""
    return scenario_config(Scenario(world))


#: The control of the first funding programme's money (the declared lever).
AMOUNT_KEY = "funding.programmes.0.amount_eur"


@lru_cache(maxsize=1)
def first_programmes() -> dict[str, tuple[str, float]]:
    """Per funding option: the name and money of its first programme, the one
    :data:`AMOUNT_KEY` sets (``("", nan)`` for an option without programmes)."""
    out: dict[str, tuple[str, float]] = {}
    for option in declarations().levers["funding"].options:
        with _COMPOSE:
            cfg = load_config(["world=toy", f"funding={option}"])
        progs = cfg.funding.programmes
        out[option] = (progs[0].name, float(progs[0].amount_eur)) if progs else ("", math.nan)
    return out


def command_line(scenario: Scenario) -> str:
    """The ``ozg-sim`` command that runs ``scenario`` (shell-quoted)."""
    return shlex.join(["ozg-sim", *scenario.overrides()])


#: Config groups a scenario may choose (a primary config selects them in its defaults).
_GROUPS = ("world", "strategy", "funding", "operation", "state_programmes")


def hydra_yaml(scenario: Scenario, name: str = "whatif") -> str:
    """A Hydra primary config reproducing ``scenario``: save it as ``DIR/NAME.yaml`` and
    run ``ozg-sim --config-dir DIR --config-name NAME`` (it builds on the shipped
    ``config.yaml``, as the README's own configs do). A key inside a list
    (``funding.programmes.0.amount_eur``) cannot be set alone in a config file, so the
    file holds that whole list as the scenario composes it."""
    defaults: list[Any] = ["config"]
    body: dict[str, Any] = {}
    composed: dict[str, Any] | None = None
    for ov in scenario.overrides():
        key, _, raw = ov.partition("=")
        if key in _GROUPS:
            value: Any = (raw.strip("[]").split(",") if raw.startswith("[") else raw)
            defaults.append({f"override {key}": value})
            continue
        parts = key.split(".")
        cut = next((i for i, p in enumerate(parts) if p.isdigit()), len(parts))
        if cut < len(parts):  # the whole list, as composed
            composed = composed or to_dict(scenario_config(scenario))
            node: Any = composed
            for p in parts[:cut]:
                node = node[p]
            parts, value = parts[:cut], node
        else:
            value = _yaml_value(raw)
        target = body
        for p in parts[:-1]:
            target = target.setdefault(p, {})
        target[parts[-1]] = value
    defaults.append("_self_")
    head = (f"# ozg-sim what-if scenario {name!r}: save as DIR/{name}.yaml and run\n"
            f"#   ozg-sim --config-dir DIR --config-name {name}\n"
            f"# the same as: {command_line(scenario)}\n")
    return head + to_yaml({"defaults": defaults, **body})


def _yaml_value(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


# --------------------------------------------------------------------------- key figures

#: Months at whose end population coverage is a key figure.
COVERAGE_MONTHS = ("2022-12", "2026-12", "2030-12")
#: Coverage targets whose first month is a key figure.
COVERAGE_TARGETS = (50, 90)
#: Payers of running costs, as the run's key figures name them.
PAYERS = ("land", "municipal", "bund", "pool")


@dataclass(frozen=True)
class KeyFigure:
    """One row of the key-figure table: its id, unit (``share``, ``month``, ``eur``) and
    where it comes from (a ``national`` column at a month, or a key figure of the run)."""

    name: str
    unit: Literal["share", "month", "eur"]
    source: str


KEY_FIGURES: tuple[KeyFigure, ...] = (
    *(KeyFigure(f"coverage_{m.replace('-', '_')}", "share", f"national:population_coverage@{m}")
      for m in COVERAGE_MONTHS),
    *(KeyFigure(f"months_to_{t}pct", "month", f"kpi:months_to_{t}pct_population_coverage")
      for t in COVERAGE_TARGETS),
    KeyFigure("programme_money_spent", "eur", "kpi:spent_eur_programmes"),
    *(KeyFigure(f"running_costs_{p}", "eur", f"kpi:running_costs_eur_{p}") for p in PAYERS),
)


def key_figure_values(national: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Every :data:`KEY_FIGURES` per replication: ``replication`` and one column per key
    figure (NaN where a target is not reached or a month lies beyond the horizon), from a
    run's ``national`` table and its key figures per replication
    (``kpis_by_replication.parquet`` of an ``ozg-sim`` folder)."""
    reps = np.sort(kpis["replication"].to_numpy())
    out = pd.DataFrame({"replication": reps})
    k = kpis.set_index("replication").reindex(reps)
    by_month = national.set_index(["replication", "month"])
    for fig in KEY_FIGURES:
        kind, _, what = fig.source.partition(":")
        if kind == "kpi":
            out[fig.name] = k[what].to_numpy(dtype=float)
            continue
        column, _, month = what.partition("@")
        m = month_index(month)
        idx = pd.MultiIndex.from_arrays([reps, np.full(len(reps), m)])
        out[fig.name] = by_month[column].reindex(idx).to_numpy(dtype=float)
    return out


def summarise_key_figures(values: pd.DataFrame) -> pd.DataFrame:
    """Across replications, per key figure: ``median``, ``q05``, ``q95`` (not reached
    ranked last, :mod:`sim.bands`), ``n_reached`` and ``n_replications``."""
    rows = []
    for fig in KEY_FIGURES:
        v = values[fig.name].to_numpy(dtype=float)
        q05, med, q95 = bands.quantiles(v, (0.05, 0.5, 0.95))
        rows.append({"key_figure": fig.name, "unit": fig.unit, "median": float(med),
                     "q05": float(q05), "q95": float(q95),
                     "n_reached": int(np.isfinite(v).sum()), "n_replications": len(v)})
    return pd.DataFrame(rows)


def paired_key_figures(scenario: pd.DataFrame, baseline: pd.DataFrame,
                       level: float = 0.95) -> pd.DataFrame:
    """Per key figure: the mean paired difference scenario − baseline over the
    replications both have (same seeds), with its t-interval (``lo``, ``hi``) and
    ``n_pairs`` (pairs where both reached it)."""
    names = [f.name for f in KEY_FIGURES]
    long = pd.concat([
        df.melt(id_vars="replication", value_vars=names, var_name="key_figure").assign(
            side=side) for side, df in (("scenario", scenario), ("baseline", baseline))],
        ignore_index=True)
    d = paired_difference(long, "side", "scenario", "baseline", "value",
                          keys=["replication", "key_figure"], level=level)
    d = d.set_index("key_figure").reindex(names).reset_index()
    return d[["key_figure", "mean_diff", "lo", "hi", "n_pairs"]].astype(
        {"n_pairs": int})


def key_figure_table(scenario: pd.DataFrame, baseline: pd.DataFrame | None = None,
                     level: float = 0.95) -> pd.DataFrame:
    """The key-figure table of a scenario: :func:`summarise_key_figures`, and with a
    ``baseline`` (per replication, same seeds) its median (``baseline_median``) and the
    paired difference (``mean_diff``, ``lo``, ``hi``, ``n_pairs``)."""
    table = summarise_key_figures(scenario)
    if baseline is None:
        return table
    base = summarise_key_figures(baseline)[["key_figure", "median"]]
    table = table.merge(base.rename(columns={"median": "baseline_median"}), on="key_figure")
    return table.merge(paired_key_figures(scenario, baseline, level), on="key_figure")


def paired_coverage(scenario: pd.DataFrame, baseline: pd.DataFrame,
                    value: str = "population_coverage", level: float = 0.95) -> pd.DataFrame:
    """Month by month, the paired difference scenario − baseline of ``value`` from the two
    ``national`` tables (``month``, ``date``, ``n_pairs``, ``mean_diff``, ``lo``, ``hi``;
    the input of :func:`sim.figures.charts.difference_figure`)."""
    long = pd.concat([scenario.assign(side="scenario"), baseline.assign(side="baseline")],
                     ignore_index=True)[["replication", "month", "date", "side", value]]
    return paired_difference(long, "side", "scenario", "baseline", value,
                             keys=["replication", "month"], level=level)


def changed(values: Iterable[tuple[str, Any]], defaults: Mapping[str, Any]) -> list[str]:
    """Keys whose value differs from the baseline's default (for a scenario's name)."""
    out = []
    for key, value in values:
        d = defaults.get(key)
        if isinstance(value, float) and isinstance(d, (int, float)) and math.isfinite(d):
            if not math.isclose(value, float(d), rel_tol=1e-9, abs_tol=1e-12):
                out.append(key)
        elif value != d:
            out.append(key)
    return out
