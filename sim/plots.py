"""Charts drawn only from saved tables (never from a live run).

Plot functions take an ``Axes`` and return it; :func:`coverage_figure` assembles the
standard figure of a run. Colours are the Okabe-Ito palette (colour-blind safe); series
also differ by line style and marker so the figure reads in black and white.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.data_io import load_history

OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "red": "#D55E00",
             "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
SERIES_STYLE = {
    "online_anywhere": dict(color=OKABE_ITO["blue"], ls="-", label="online somewhere"),
    "nationwide": dict(color=OKABE_ITO["red"], ls="--",
                       label="nationwide: all types, every administration"),
    "nationwide_reported": dict(color=OKABE_ITO["orange"], ls=":",
                                label="nationwide as the dashboard counts (Typ 2–5)"),
    "population_coverage": dict(color=OKABE_ITO["green"], ls="-", label="population coverage"),
}
DEADLINE = pd.Timestamp("2022-12-31")
STRATEGY_LABELS = {"efa": "EfA (one for all)", "efv": "EfV (groups share)",
                   "einzel": "each Land for itself",
                   "mixed": "mixed (EfA for Typ 2/3, EfV for 4/5)"}
FUNDING_LABELS = {"none": "no programme",
                  "konjunkturpaket": "2020 stimulus, project by project",
                  "koenigstein": "2020 stimulus by Königsteiner Schlüssel"}


def run_title(strategy: str, funding: str, staffing: str, world: str) -> str:
    """Readable chart title of a run."""
    return (f"OZG rollout: {STRATEGY_LABELS.get(strategy, strategy)}; "
            f"{FUNDING_LABELS.get(funding, funding)}; staffing {staffing}; world {world}")
BAND = (0.05, 0.95)


def _style() -> dict[str, object]:
    return {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
            "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
            "savefig.dpi": 200, "font.family": "DejaVu Sans"}


def quantile_bands(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Median and 5-95 % band of ``col`` across replications, per date."""
    g = df.groupby("date")[col]
    return pd.DataFrame({"median": g.median(), "lo": g.quantile(BAND[0]),
                         "hi": g.quantile(BAND[1])}).reset_index()


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
                  label: str) -> Axes:
    """Observed national figures (OZG dashboard and monitors) as markers."""
    h = history[(history["geo"] == "DE") & (history["metric"] == metric)]
    if len(h):
        ax.plot(h["date"], h["value"], ls="none", marker=marker, ms=6, mfc="white", mew=1.4,
                color=color, label=label, zorder=5)
    return ax


def _deadline(ax: Axes, y: float = 0.5, left: bool = True) -> None:
    """Dotted line at the OZG deadline, labelled along the line at height ``y``."""
    ax.axvline(DEADLINE, color="0.4", lw=0.8, ls=":")
    ax.annotate("OZG deadline 31 Dec 2022", xy=(DEADLINE, y), xycoords=("data", "axes fraction"),
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
    with plt.rc_context(_style()):  # type: ignore[arg-type]
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
                          "observed: nationwide (dashboard)")
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
        note = (f"Lines: median of {n_rep} replications; bands: {int(BAND[0] * 100)}–"
                f"{int(BAND[1] * 100)} % range."
                + (" Observed counts refer to the official catalogue of 575 services."
                   if history is not None else "")
                + (" Dashboard count: Typ 2–5 services reaching the calibrated population "
                   "share in every Land (MODEL.md 7.10)." if reported else "")
                + (f" {subtitle}" if subtitle else ""))
        fig.supxlabel(textwrap.fill(note, 170), x=0.01, ha="left", fontsize=7, color="0.3")
    return fig


def coverage_table(national: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """Exactly what :func:`coverage_figure` plots: median and 5-95 % band per series and
    date, and the observed points (``kind="observed"``, value in ``median``)."""
    cols = ["online_anywhere", "nationwide", "nationwide_reported", "population_coverage"]
    parts = [quantile_bands(national, col).assign(series=col, kind="model")
             for col in cols if col in national.columns]
    nat = "nationwide_reported" if "nationwide_reported" in national.columns else "nationwide"
    if history is not None:
        for metric, series in (("ozg_leistungen_online_min1", "online_anywhere"),
                               ("ozg_leistungen_flaechendeckend", nat)):
            h = history[(history["geo"] == "DE") & (history["metric"] == metric)]
            parts.append(pd.DataFrame({"date": h["date"], "median": h["value"],
                                       "series": series, "kind": "observed"}))
    out = pd.concat(parts, ignore_index=True)
    return out[["series", "kind", "date", "median", "lo", "hi"]]


def draw_run_figures(run_dir: Path, title: str, subtitle: str = "",
                     provenance: dict[str, object] | None = None) -> list[str]:
    """Draw the standard charts of a run folder from its saved ``national.parquet``:
    ``coverage.png/.svg/.pdf`` and the sidecar ``coverage.csv`` of the plotted data."""
    from sim.charts import save_figure as save_with_sidecar

    run_dir = Path(run_dir)
    national = pd.read_parquet(run_dir / "national.parquet")
    history = load_history()
    fig = coverage_figure(national, title, subtitle, history)
    data = coverage_table(national, history)
    return [p.name for p in save_with_sidecar(fig, run_dir, "coverage", data,
                                               provenance or {})]


__all__ = ["coverage_figure", "coverage_table", "draw_run_figures", "plot_band", "plot_observed",
           "quantile_bands"]
