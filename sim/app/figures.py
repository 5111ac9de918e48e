"""The workbench's figures, drawn from a scenario's tables by the house figure functions
(:mod:`sim.figures.charts`), so they look as in a paper and export as ``ozg-sim``'s do.
Each function is module-level (the workbench draws it in a worker process) and returns the
figure and its plotted data. Scenarios are told apart by the column :data:`GROUP`, whose
values are their labels (the baseline first)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from sim.figures.charts import (
    difference_figure,
    fan_figure,
    map_figure,
    small_multiples_figure,
)
from sim.figures.labels import Lang

#: The column naming the scenario of each row.
GROUP = "scenario"
#: Months the Land maps show.
MAP_MONTHS = ("2022-12", "2026-12")
#: The measure the views show (share of inhabitant × service pairs usable online).
VALUE = "population_coverage"


def labelled(tables: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """One table of several scenarios' tables, each row with its scenario's label."""
    return pd.concat([df.assign(**{GROUP: label}) for label, df in tables], ignore_index=True)


def fan(national: pd.DataFrame, lang: Lang, title: str) -> tuple[Figure, pd.DataFrame]:
    """Coverage over time, median and bands, one line per scenario."""
    return fan_figure(national, by=GROUP, value=VALUE, lang=lang, title=title)


def difference(diff: pd.DataFrame, lang: Lang, title: str, n: int
               ) -> tuple[Figure, pd.DataFrame]:
    """The paired difference over time with its 95 % interval."""
    return difference_figure(diff, lang=lang, title=title, value=VALUE, n_replications=n)


def land_map(by_state: pd.DataFrame, lang: Lang, title: str) -> tuple[Figure, pd.DataFrame]:
    """Coverage per Land at :data:`MAP_MONTHS`, baseline beside scenario."""
    return map_figure(by_state, level="land", by=GROUP, value=VALUE, dates=list(MAP_MONTHS),
                      lang=lang, title=title)


def states(by_state: pd.DataFrame, lang: Lang, title: str) -> tuple[Figure, pd.DataFrame]:
    """Coverage over time in each Land, one line per scenario."""
    return small_multiples_figure(by_state, by=GROUP, value=VALUE, lang=lang, title=title)
