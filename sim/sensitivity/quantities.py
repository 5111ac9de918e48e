"""What a sensitivity analysis analyses: outputs named in the experiment file, checked
against the configuration and the world, and read from a sweep's run records.

An output is named as declared in :data:`sim.outputs.OUTPUT_KINDS`:

- ``kpi:NAME``: a key figure of the run (``kpis.csv`` of ``ozg-sim``),
  e.g. ``kpi:population_coverage_2022_12``;
- ``national:COLUMN@YYYY-MM``: a value column of the ``national`` table at the end of a
  month, e.g. ``national:nationwide_reported@2022-12``;
- ``observable:SERIES@YYYY-MM``: an observable series of the official record at the end of
  a month (the ``observables`` table a run record keeps), e.g.
  ``observable:reported_in_land:TH@2022-07``;
- ``calibration:SPEC``: the calibration summaries of ``conf/calibration/SPEC.yaml``, i.e.
  every observable its targets compare with the record, at its target month (the mean of
  these over replications is what the calibration's synthetic likelihood scores). It
  stands for one ``observable:`` output per distinct (series, month) of the targets;
- ``contrast:FACTOR=B-A:national:COLUMN@YYYY-MM``: a decision, level ``b`` of a lever
  minus its reference level ``a`` in a column of ``national`` at a month, paired on common
  random numbers (:mod:`sim.sensitivity.contrasts`), e.g.
  ``contrast:strategy=efv-efa:national:population_coverage@2026-12``. One run gives the
  column's value at its level; the evaluator pairs the runs of both levels.

Every output is a number per run; a design point's value is the mean over its
replications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calendar import month_index, month_label
from sim.calibration.spec import load_spec, spec_names
from sim.calibration.targets import historical_targets
from sim.errors import ConfigError
from sim.metrics import kpis_for_replication, observable_series
from sim.outputs import CONTRAST_GROUP, OUTPUT_KINDS, TABLE_BY_NAME, output_parts
from sim.params import Config
from sim.sensitivity.contrasts import Contrast, check_contrast, split_output
from sim.sweep import RunRecord
from sim.world import World

#: Columns of ``national`` that can be analysed (its value columns).
NATIONAL_COLUMNS = tuple(c.name for c in TABLE_BY_NAME["national"].values)
#: Group of an output named on its own, by kind (a figure per group).
GROUPS = {"kpi": "key_figures", "national": "key_figures", "observable": "observables"}


@dataclass(frozen=True)
class Quantity:
    """One analysed output.

    Attributes
    ----------
    output : str
        Its name (``kpi:NAME``, ``national:COLUMN@YYYY-MM``, ``observable:SERIES@YYYY-MM``).
    group : str
        The entry of the experiment's ``outputs`` it came from (``calibration:historical``),
        else :data:`GROUPS` of its kind (``key_figures``, ``observables``).
    kind, name : str
        Kind and key figure, column or series.
    month : int or None
        Month index (None for a key figure).
    contrast : Contrast or None
        The decision of a ``contrast:`` output (its ``name`` is the column of
        ``national``); None for a level.
    """

    output: str
    group: str
    kind: str
    name: str
    month: int | None = None
    contrast: Contrast | None = None

    def value(self, rec: RunRecord) -> float:
        """The output of one run (NaN if the run failed or the key figure is missing); of a
        contrast, the column's value in this run (one of the pair)."""
        if rec.status != "ok":
            return np.nan
        if self.kind == "kpi":
            return float(rec.kpis.get(self.name, np.nan))
        if self.kind in ("national", "contrast"):
            nat = rec.tables["national"]
            hit = nat.loc[nat["month"].to_numpy() == self.month, self.name]
        else:
            obs = rec.tables["observables"]
            hit = obs.loc[(obs["month"].to_numpy() == self.month)
                          & (obs["series"].astype(str).to_numpy() == self.name), "share"]
        return float(hit.iloc[0]) if len(hit) else np.nan


def kpi_names(cfg: Config) -> list[str]:
    """Names of the key figures a run of ``cfg`` can have (``budget_eur_<programme>``,
    ``committed_eur_<programme>`` and ``spent_eur_<programme>`` for each of its
    programmes), from the one definition
    (:func:`sim.metrics.kpis_for_replication`) on an empty run."""
    national = pd.DataFrame({c: [] for c in ("month", *NATIONAL_COLUMNS)})
    spending = pd.DataFrame({"programme": [], "eur": [], "purpose": []})
    budgets = [(p.name, "", 0.0) for p in cfg.all_programmes()]
    return list(kpis_for_replication(national, spending, budgets))


def _month(entry: str, ym: str, cfg: Config, where: str) -> int:
    m = month_index(ym, f"{where}: {entry!r}")
    if m >= cfg.horizon_months:
        raise ConfigError(f"{where}: {entry!r} is not allowed: its month lies after "
                          f"end={cfg.end}")
    return m


def resolve(entries: Sequence[str], cfg: Config, world: World,
            where: str = "sensitivity.outputs") -> list[Quantity]:
    """The outputs named by ``entries`` (``calibration:SPEC`` expanded), checked against
    ``cfg`` (key figures, months within its horizon) and ``world`` (series of its Länder);
    duplicates dropped. Raises :class:`ConfigError` naming the entry and what is allowed."""
    if not isinstance(entries, (list, tuple)) or not entries:
        raise ConfigError(f"{where}={entries!r} is not allowed: a non-empty list of "
                          + ", ".join(OUTPUT_KINDS.values()))
    out: dict[str, Quantity] = {}
    for entry in map(str, entries):
        try:
            kind, name, ym = output_parts(entry)
        except ValueError as exc:
            raise ConfigError(f"{where}: {entry!r} is not allowed: {exc}") from None
        if kind == "kpi":
            allowed = kpi_names(cfg)
            if name not in allowed:
                raise ConfigError(f"{where}: {entry!r} is not allowed: kpi: one of "
                                  + ", ".join(allowed))
            out.setdefault(entry, Quantity(entry, GROUPS[kind], kind, name))
        elif kind == "national":
            if name not in NATIONAL_COLUMNS:
                raise ConfigError(f"{where}: {entry!r} is not allowed: national: one of "
                                  + ", ".join(NATIONAL_COLUMNS))
            out.setdefault(entry, Quantity(entry, GROUPS[kind], kind, name,
                                           _month(entry, ym, cfg, where)))
        elif kind == "observable":
            series = observable_series(world)
            if name not in series:
                raise ConfigError(f"{where}: {entry!r} is not allowed: observable: one of "
                                  + ", ".join(series))
            out.setdefault(entry, Quantity(entry, GROUPS[kind], kind, name,
                                           _month(entry, ym, cfg, where)))
        elif kind == "contrast":
            try:
                contrast, column = split_output(name)
            except ValueError as exc:
                raise ConfigError(f"{where}: {entry!r} is not allowed: {exc}") from None
            check_contrast(contrast, f"{where}: {entry!r}")
            if column not in NATIONAL_COLUMNS:
                raise ConfigError(f"{where}: {entry!r} is not allowed: national: one of "
                                  + ", ".join(NATIONAL_COLUMNS))
            out.setdefault(entry, Quantity(entry, CONTRAST_GROUP + contrast.label, kind,
                                           column, _month(entry, ym, cfg, where), contrast))
        else:
            for q in calibration_quantities(name, cfg, world, where):
                out.setdefault(q.output, q)
    return list(out.values())


def calibration_quantities(spec_name: str, cfg: Config, world: World,
                           where: str = "sensitivity.outputs") -> list[Quantity]:
    """The calibration summaries of ``conf/calibration/<spec_name>.yaml``: one observable
    per distinct (series, target month) of its targets in ``world``, in target order."""
    entry = f"calibration:{spec_name}"
    if spec_name not in spec_names():
        raise ConfigError(f"{where}: {entry!r} is not allowed: calibration: one of "
                          + ", ".join(spec_names()))
    targets = historical_targets(load_spec(spec_name, {}, []), world)
    last = int(targets["month"].max())
    if last >= cfg.horizon_months:
        raise ConfigError(f"{where}: {entry!r} is not allowed: its targets reach "
                          f"{month_label(last)}, after end={cfg.end}")
    out: dict[str, Quantity] = {}
    for series, month in zip(targets["series"], targets["month"], strict=True):
        name = f"observable:{series}@{month_label(int(month))}"
        out.setdefault(name, Quantity(name, entry, "observable", str(series), int(month)))
    return list(out.values())


__all__ = ["GROUPS", "NATIONAL_COLUMNS", "Quantity",
           "calibration_quantities", "kpi_names", "resolve"]
