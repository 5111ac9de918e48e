"""The charts of one run (``ozg-sim``), drawn only from its saved tables (never from a live
run): services online somewhere and nationwide, and population coverage, each as the median
and 5-95 % band over the run's replications, with the observed national counts (full
Germany only: they count the whole catalogue in all 16 Länder); per Land, population
coverage and available services as small multiples; maps by Land and by Kreis at the map
months.

Plot functions take an ``Axes`` and return it; :func:`coverage_figure` assembles the
standard figure of a run and :func:`draw_run_figures` saves every chart with its sidecar
(:func:`sim.figures.tables.coverage_table`; the small multiples and maps are the
experiment charts of :mod:`sim.figures.charts` with the run as their one group). Colours
are the Okabe-Ito palette (colour-blind safe); series also differ by line style so the
figure reads in black and white.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.calendar import OZG_DEADLINE_DATE
from sim.data_io import load_catalogue, load_history, load_states
from sim.figures import charts, timeline
from sim.figures.labels import Lang, check_lang, text
from sim.figures.save import figure_stem, save_figure
from sim.figures.style import OKABE_ITO, OUTER_BAND, WIDTH_FULL, base_style
from sim.figures.tables import (
    MIN_REPLICATIONS_PER_CHART,
    coverage_table,
    quantile_bands,
    timeline_table,
)
from sim.outputs import read_table

#: Style and legend label of each series of the run chart.
SERIES_STYLE = {
    "online_anywhere": dict(color=OKABE_ITO["blue"], ls="-"),
    "nationwide": dict(color=OKABE_ITO["red"], ls="--"),
    "nationwide_reported": dict(color=OKABE_ITO["orange"], ls=":"),
    "population_coverage": dict(color=OKABE_ITO["green"], ls="-"),
}
#: Legend label of each series of the run chart (en, de).
SERIES_LABELS = {
    "online_anywhere": ("online somewhere", "irgendwo online"),
    "nationwide": ("nationwide: all types, every administration",
                   "flächendeckend: alle Typen, jede Verwaltung"),
    "nationwide_reported": ("nationwide as the dashboard counts",
                            "flächendeckend laut Dashboard-Zählung"),
    "population_coverage": ("population coverage", "Bevölkerungsabdeckung"),
}


def plot_band(ax: Axes, df: pd.DataFrame, col: str, scale: float = 1.0,
              style: dict | None = None, lang: Lang = "en") -> Axes:
    """Median line and 5-95 % band across replications of one column over time."""
    st = dict(SERIES_STYLE.get(col, {}), **(style or {}))
    q = quantile_bands(df, col)
    color = st.pop("color", OKABE_ITO["black"])
    words = SERIES_LABELS.get(col)
    label = st.pop("label", (words[0] if lang == "en" else words[1]) if words else col)
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


#: Height (axes fraction) of the deadline's label: at the foot of the line, right of it,
#: where the run chart's curves have not yet risen (they start near zero in 2018 and stay
#: above the label's top after 2022).
DEADLINE_LABEL_Y = 0.03


def _deadline(ax: Axes, lang: Lang = "en") -> None:
    """Dotted line at the OZG deadline, labelled horizontally at its foot, right of it (a
    label along the line crossed the curves)."""
    ax.axvline(OZG_DEADLINE_DATE, color="0.4", lw=0.8, ls=":")
    ax.annotate(text("deadline", lang), xy=(OZG_DEADLINE_DATE, DEADLINE_LABEL_Y),
                xycoords=("data", "axes fraction"), xytext=(3, 0),
                textcoords="offset points", ha="left", va="bottom", fontsize=8,
                color="0.3")


def _dates(ax: Axes) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator(2))
    ax.xaxis.set_minor_locator(mdates.YearLocator(1))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(axis="y", color="0.9", lw=0.6)


def coverage_figure(national: pd.DataFrame, title: str, subtitle: str = "",
                    history: pd.DataFrame | None = None, lang: Lang = "en") -> Figure:
    """Two panels: services online somewhere and nationwide; population coverage."""
    check_lang(lang)
    n_services = int(national["n_services"].iloc[0])
    n_rep = national["replication"].nunique()
    de = lang == "de"
    with plt.rc_context(base_style()):  # type: ignore[arg-type]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(WIDTH_FULL, 3.9), constrained_layout=True)
        plot_band(a1, national, "online_anywhere", lang=lang)
        plot_band(a1, national, "nationwide", lang=lang)
        reported = "nationwide_reported" in national.columns
        if reported:
            plot_band(a1, national, "nationwide_reported", lang=lang)
        if history is not None:
            plot_observed(a1, history, "ozg_leistungen_online_min1", "o", OKABE_ITO["blue"],
                          OBSERVED_LABELS["online"][lang])
            plot_observed(a1, history, "ozg_leistungen_flaechendeckend", "s",
                          OKABE_ITO["orange"] if reported else OKABE_ITO["red"],
                          OBSERVED_LABELS["nationwide"][lang], source_kind="dashboard")
        a1.set_ylim(0, n_services * 1.05)
        a1.axhline(n_services, color="0.6", lw=0.6)
        a1.set_ylabel(f"OZG-Leistungen\n(von {n_services} simulierten)" if de
                      else f"OZG services\n(of {n_services} simulated)")
        a1.set_title("a  Leistungen online" if de else "a  Services online", loc="left",
                     fontweight="bold")
        _deadline(a1, lang=lang)
        _dates(a1)

        plot_band(a2, national, "population_coverage", scale=100, lang=lang)
        a2.set_ylim(0, 100)
        a2.set_ylabel("Bevölkerungsabdeckung (%)" if de else "population coverage (%)")
        a2.set_title("b  Einwohner × Leistungen online" if de
                     else "b  Inhabitants × services online", loc="left",
                     fontweight="bold")
        _deadline(a2, lang=lang)
        _dates(a2)
        for ax in (a1, a2):
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=1, frameon=False)
        fig.suptitle(textwrap.fill(title, TITLE_CHARS), x=0.01, ha="left", fontsize=10,
                     fontweight="bold")
        notes = RUN_NOTES[lang]
        note = ((notes["band"].format(n=n_rep, lo=int(OUTER_BAND[0] * 100),
                                      hi=int(OUTER_BAND[1] * 100)) if n_rep > 1
                 else notes["single"])
                + (notes["observed"] if history is not None else notes["no_observed"])
                + (notes["reported"] if reported else "")
                + (f" {subtitle}" if subtitle else ""))
        fig.supxlabel(textwrap.fill(note, 125), x=0.01, ha="left", fontsize=8, color="0.3")
    return fig


#: Characters per line of a run chart's title (10 pt bold across the figure's width).
TITLE_CHARS = 80
#: Legend labels of the observed national counts.
OBSERVED_LABELS = {"online": {"en": "observed: online somewhere",
                              "de": "beobachtet: irgendwo online"},
                   "nationwide": {"en": "observed: nationwide (dashboard)",
                                  "de": "beobachtet: flächendeckend (Dashboard)"}}
#: Sentences of the run chart's note.
RUN_NOTES = {
    "en": {"band": "Lines: median of {n} replications; bands: {lo}–{hi} % range.",
           "single": ("Lines: a single replication (replications=1), so no band: one draw of "
                      "chance, not an interval."),
           "observed": " Observed counts refer to the official catalogue.",
           "no_observed": (" No observed counts: this world simulates part of the catalogue "
                           "or of the Länder, the official counts all of them."),
           "reported": (" Dashboard count: services counted flächendeckend in every Land "
                        "(listed federal services online, state services available, municipal "
                        "services in every administration; MODEL.md 7.10).")},
    "de": {"band": "Linien: Median aus {n} Replikationen; Bänder: {lo}–{hi}-%-Spanne.",
           "single": ("Linien: eine einzige Replikation (replications=1), daher kein Band: "
                      "eine Ziehung des Zufalls, kein Intervall."),
           "observed": " Beobachtete Zahlen beziehen sich auf den amtlichen Katalog.",
           "no_observed": (" Keine beobachteten Zahlen: Diese Welt simuliert einen Teil des "
                           "Katalogs oder der Länder, die amtlichen Zahlen alle."),
           "reported": (" Dashboard-Zählung: in jedem Land flächendeckend gezählte Leistungen "
                        "(gelistete Bundesleistungen online, Landesleistungen verfügbar, "
                        "kommunale Leistungen in jeder Verwaltung; MODEL.md 7.10).")},
}
#: Group column of the per-Land charts of a run: the run is their one group.
RUN_GROUP = "strategy"


def is_full_world(national: pd.DataFrame, by_state: pd.DataFrame | None) -> bool:
    """Whether a run simulated the whole catalogue in all 16 Länder, so that the official
    national counts are on its scale (a reduced world, e.g. ``world=toy``, is not)."""
    services = int(national["n_services"].iloc[0])
    states = by_state["state"].nunique() if by_state is not None else 0
    return services == len(load_catalogue()) and states == len(load_states())


def draw_run_figures(run_dir: Path, title: str, subtitle: str = "",
                     provenance: dict[str, object] | None = None,
                     out: Path | None = None, lang: str = "en",
                     strategy: str | None = None,
                     progress: Callable[[int, int, str], None] | None = None) -> list[str]:
    """Draw the charts of a run folder from its saved tables into the run folder (or
    ``out``, a staging folder a redraw moves in); returns the written file names.

    - ``coverage``: :func:`coverage_figure` from ``national.parquet``;
    - ``small_multiples_population_coverage``, ``small_multiples_available_share``: per
      simulated Land (``by_state.parquet``), median and 5-95 % band;
    - ``map_land``, ``map_kreis``: median population coverage at the map months
      (``by_kreis.parquet`` holds them);
    - ``timeline``: :func:`sim.figures.timeline.timeline_figure` from ``events.parquet`` and
      ``services.csv`` (when the run has both).

    The per-Land charts need :data:`~sim.figures.tables.MIN_REPLICATIONS_PER_CHART`
    replications (bands across replications); a run with fewer gets the coverage chart
    only. Each chart gets ``.png/.svg/.pdf`` and its sidecar ``.csv``; ``lang="de"``
    writes the German charts beside the English ones (``coverage_de.png``, ...).
    ``strategy`` names the run's group in the per-Land legends; ``progress(done, total,
    chart)`` is called after each chart (the commands log it).
    """
    check_lang(lang)
    lg: Lang = "de" if lang == "de" else "en"
    run_dir = Path(run_dir)
    target = run_dir if out is None else out
    prov = {**(provenance or {}), "scenario": title}  # the sidecars name every axis too
    national = read_table(run_dir / "national.parquet")
    by_state_path = run_dir / "by_state.parquet"
    by_state = read_table(by_state_path) if by_state_path.is_file() else None
    history = load_history() if is_full_world(national, by_state) else None
    per_land = (by_state is not None
                and national["replication"].nunique() >= MIN_REPLICATIONS_PER_CHART)
    by_kreis_path = run_dir / "by_kreis.parquet"
    events_path, services_path = run_dir / "events.parquet", run_dir / "services.csv"
    has_timeline = (events_path.is_file() and services_path.is_file()
                    and national["replication"].nunique() >= MIN_REPLICATIONS_PER_CHART)
    total = 1 + (2 + 2 * by_kreis_path.is_file() if per_land else 0) + has_timeline
    written: list[str] = []
    drawn: list[str] = []

    def save(fig: Figure, stem: str, data: pd.DataFrame) -> None:
        written.extend(p.name for p in save_figure(fig, target, figure_stem(stem, lang), data,
                                                   prov))
        drawn.append(stem)
        if progress is not None:
            progress(len(drawn), total, stem)

    save(coverage_figure(national, title, subtitle, history, lg), "coverage",
         coverage_table(national, history))
    if has_timeline:
        table = timeline_table(read_table(events_path), pd.read_csv(services_path),
                               replications=sorted(national["replication"].unique()))
        fig, data = timeline.timeline_figure(table, lg, title,
                                           horizon_months=float(national["month"].max() + 1))
        save(fig, "timeline", data)
    if not per_land or by_state is None:
        return written
    group = str(strategy or prov.get("strategy") or "run")
    by_state = by_state.assign(**{RUN_GROUP: group})
    for value in ("population_coverage", "available_share"):
        fig, data = charts.small_multiples_figure(by_state, by=RUN_GROUP, value=value,
                                                  lang=lg, title=title)
        save(fig, f"small_multiples_{value}", data)
    if by_kreis_path.is_file():
        by_kreis = read_table(by_kreis_path).assign(**{RUN_GROUP: group})
        dates = sorted(by_kreis["date"].unique())  # the configured map months
        for table, level in ((by_state, "land"), (by_kreis, "kreis")):
            fig, data = charts.map_figure(table, level=level, by=RUN_GROUP,  # type: ignore[arg-type]
                                          value="population_coverage", lang=lg,
                                          dates=dates, title=title)
            save(fig, f"map_{level}", data)
    return written


__all__ = ["OBSERVED_LABELS", "RUN_GROUP", "RUN_NOTES", "SERIES_LABELS", "SERIES_STYLE",
           "coverage_figure", "draw_run_figures", "is_full_world", "plot_band", "plot_observed"]
