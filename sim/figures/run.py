"""The chart of one run (``ozg-sim``), drawn only from its saved tables (never from a live
run): services online somewhere and nationwide, and population coverage, each as the median
and 5-95 % band over the run's replications, with the observed national counts.

Plot functions take an ``Axes`` and return it; :func:`coverage_figure` assembles the
standard figure of a run and :func:`draw_run_figures` saves it with its sidecar
(:func:`sim.figures.tables.coverage_table`). Colours are the Okabe-Ito palette (colour-blind
safe); series also differ by line style so the figure reads in black and white.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.calendar import OZG_DEADLINE_DATE
from sim.data_io import load_history
from sim.figures.labels import text
from sim.figures.save import save_figure
from sim.figures.style import OKABE_ITO, OUTER_BAND, base_style
from sim.figures.tables import coverage_table, quantile_bands
from sim.outputs import read_table

#: Style and legend label of each series of the run chart.
SERIES_STYLE = {
    "online_anywhere": dict(color=OKABE_ITO["blue"], ls="-", label="online somewhere"),
    "nationwide": dict(color=OKABE_ITO["red"], ls="--",
                       label="nationwide: all types, every administration"),
    "nationwide_reported": dict(color=OKABE_ITO["orange"], ls=":",
                                label="nationwide as the dashboard counts"),
    "population_coverage": dict(color=OKABE_ITO["green"], ls="-", label="population coverage"),
}


def plot_band(ax: Axes, df: pd.DataFrame, col: str, scale: float = 1.0,
              style: dict | None = None) -> Axes:
    """Median line and 5-95 % band across replications of one column over time."""
    st = dict(SERIES_STYLE.get(col, {}), **(style or {}))
    q = quantile_bands(df, col)
    color = st.pop("color", OKABE_ITO["black"])
    label = st.pop("label", col)
    ax.fill_between(q["date"], q["lo"] * scale, q["hi"] * scale, color=color, alpha=0.18,
                    lw=0)
    ax.plot(q["date"], q["median"] * scale, color=color, label=label, lw=1.6, **st)
    return ax


def plot_observed(ax: Axes, history: pd.DataFrame, metric: str, marker: str, color: str,
                  label: str, source_kind: str | None = None) -> Axes:
    """Observed national figures (OZG dashboard and monitors) as markers; only those of
    ``source_kind`` if given (sources define some counts differently, MODEL.md 7.10)."""
    h = history[(history["geo"] == "DE") & (history["metric"] == metric)]
    if source_kind is not None and "source_kind" in h.columns:
        h = h[h["source_kind"] == source_kind]
    if len(h):
        ax.plot(h["date"], h["value"], ls="none", marker=marker, ms=6, mfc="white", mew=1.4,
                color=color, label=label, zorder=5)
    return ax


def _deadline(ax: Axes, y: float = 0.5, left: bool = True) -> None:
    """Dotted line at the OZG deadline, labelled along the line at height ``y``."""
    ax.axvline(OZG_DEADLINE_DATE, color="0.4", lw=0.8, ls=":")
    ax.annotate(text("deadline", "en"), xy=(OZG_DEADLINE_DATE, y),
                xycoords=("data", "axes fraction"),
                xytext=(-3 if left else 3, 0), textcoords="offset points",
                ha="right" if left else "left", va="center", rotation=90, fontsize=7,
                color="0.3")


def _dates(ax: Axes) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator(2))
    ax.xaxis.set_minor_locator(mdates.YearLocator(1))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(axis="y", color="0.9", lw=0.6)


def coverage_figure(national: pd.DataFrame, title: str, subtitle: str = "",
                    history: pd.DataFrame | None = None) -> Figure:
    """Two panels: services online somewhere and nationwide; population coverage."""
    n_services = int(national["n_services"].iloc[0])
    n_rep = national["replication"].nunique()
    with plt.rc_context(base_style()):  # type: ignore[arg-type]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
        plot_band(a1, national, "online_anywhere")
        plot_band(a1, national, "nationwide")
        reported = "nationwide_reported" in national.columns
        if reported:
            plot_band(a1, national, "nationwide_reported")
        if history is not None:
            plot_observed(a1, history, "ozg_leistungen_online_min1", "o", OKABE_ITO["blue"],
                          "observed: online somewhere")
            plot_observed(a1, history, "ozg_leistungen_flaechendeckend", "s",
                          OKABE_ITO["orange"] if reported else OKABE_ITO["red"],
                          "observed: nationwide (dashboard)", source_kind="dashboard")
        a1.set_ylim(0, n_services * 1.05)
        a1.axhline(n_services, color="0.6", lw=0.6)
        a1.set_ylabel(f"OZG services (of {n_services} simulated)")
        a1.set_title("a  Services online", loc="left", fontweight="bold")
        _deadline(a1)
        _dates(a1)

        plot_band(a2, national, "population_coverage", scale=100)
        a2.set_ylim(0, 100)
        a2.set_ylabel("population coverage (%)")
        a2.set_title("b  Share of inhabitants × services usable online", loc="left",
                     fontweight="bold")
        _deadline(a2, y=0.22, left=False)
        _dates(a2)
        for ax in (a1, a2):
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, frameon=False)
        fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold")
        note = ((f"Lines: median of {n_rep} replications; bands: {int(OUTER_BAND[0] * 100)}–"
                 f"{int(OUTER_BAND[1] * 100)} % range." if n_rep > 1 else
                 "Lines: a single replication (replications=1), so no band: one draw of "
                 "chance, not an interval.")
                + (" Observed counts refer to the official catalogue of 575 services."
                   if history is not None else "")
                + (" Dashboard count: services counted flächendeckend in every Land (listed "
                   "federal services online, state services available, municipal services "
                   "in every administration; MODEL.md 7.10)." if reported else "")
                + (f" {subtitle}" if subtitle else ""))
        fig.supxlabel(textwrap.fill(note, 170), x=0.01, ha="left", fontsize=7, color="0.3")
    return fig


def draw_run_figures(run_dir: Path, title: str, subtitle: str = "",
                     provenance: dict[str, object] | None = None,
                     out: Path | None = None) -> list[str]:
    """Draw the standard charts of a run folder from its saved ``national.parquet``:
    ``coverage.png/.svg/.pdf`` and the sidecar ``coverage.csv`` of the plotted data, into
    the run folder (or ``out``, a staging folder a redraw moves in)."""
    run_dir = Path(run_dir)
    national = read_table(run_dir / "national.parquet")
    history = load_history()
    fig = coverage_figure(national, title, subtitle, history)
    data = coverage_table(national, history)
    return [p.name for p in save_figure(fig, run_dir if out is None else out, "coverage",
                                        data, provenance or {})]


__all__ = ["SERIES_STYLE", "coverage_figure", "draw_run_figures", "plot_band", "plot_observed"]
