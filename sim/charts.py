"""Publication charts of experiments: many replications per design point, never one run.

Every chart is drawn from the tidy tables that the sweep runner saves (``national``,
``by_state``, ``by_kreis``, ``kpis``) or from summaries computed from them, so it can be
redrawn without rerunning the model.

Three layers:

- **Axes-level functions** (:func:`fan`, :func:`paired_difference`, :func:`coverage_map`,
  :func:`heatmap`, :func:`time_to_target_bars`, :func:`cost_vs_coverage`) take an ``Axes``,
  draw into it and return it; :func:`small_multiples` takes a ``Figure`` (it needs 16).
  The per-Land differences (:func:`state_difference_figure`), running costs by payer
  (:func:`running_costs_figure`) and municipal size classes (:func:`size_class_figure`)
  exist as figure builders only.
- **Figure builders** (``*_figure``) return ``(fig, plotted_data)``: the figure and a tidy
  DataFrame holding exactly the numbers drawn.
- :func:`save_figure` writes ``name.png`` (300 dpi), ``name.svg``, ``name.pdf`` and the
  sidecar ``name.csv`` with the plotted data, provenance first as ``# key: value`` lines.

Sidecar CSV (read back with ``pandas.read_csv(path, comment="#")``)::

    # figure: fan_coverage
    # files: fan_coverage.png, fan_coverage.svg, fan_coverage.pdf
    # read_with: pandas.read_csv('fan_coverage.csv', comment='#')
    # config_hash: 3f2a9c
    # seeds.root: 1
    # packages.matplotlib: 3.11.2
    strategy,date,n_replications,median,q05,q25,q75,q95
    efa,2018-01-31,30,0.0021,0.0009,0.0015,0.0030,0.0052

Styles: each level of ``strategy``, ``funding`` and ``operation`` keeps one Okabe-Ito
colour (colour-blind safe), line style and marker in every chart, so figures also read in
black and white; levels appear in a fixed order (an experiment's figures use the order of
its design, :func:`level_order`). Differences use a diverging map centred at 0. Shares
(0-1) stay shares in the data and the sidecars; axes show them in per cent. ``lang="de"``
gives German labels, decimal commas and German month names (formatted by hand, not via the
locale).
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, MultipleLocator

from sim import geo
from sim.plots import DEADLINE, FUNDING_LABELS, OKABE_ITO, STRATEGY_LABELS
from sim.plots import _style as _base_style
from sim.provenance import package_versions

Lang = Literal["en", "de"]
LANGS: tuple[str, ...] = ("en", "de")

# --------------------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------------------

#: Perceptually uniform, colour-blind safe sequential colour map (maps, heatmaps).
SEQUENTIAL_CMAP = "viridis"
#: Resolution of the PNG files (journals ask for at least 300 dpi for line art).
PNG_DPI = 300
#: Figure widths (inches): one journal column and the full page width.
WIDTH_SINGLE, WIDTH_FULL = 3.5, 7.2
#: Central intervals across replications: inner (dark) and outer (light) band.
INNER_BAND, OUTER_BAND = (0.25, 0.75), (0.05, 0.95)
ORIGIN = pd.Timestamp("2018-01-01")
#: Month index of January 2023: a target reached at a smaller index met the OZG deadline.
DEADLINE_MONTH = 60

STRATEGY_ORDER: tuple[str, ...] = ("efa", "efv", "einzel", "mixed")
#: Funding levels in the order of ``conf/experiment/funding_allocation.yaml`` (then
#: ``historical``); an experiment's figures use the order of its own design.
FUNDING_ORDER: tuple[str, ...] = ("konjunkturpaket", "koenigstein", "per_capita",
                                  "per_municipality", "need", "competitive",
                                  "municipal_share", "none", "historical")
#: Payer of the running costs, in the order of ``conf/experiment/cliff.yaml``.
OPERATION_ORDER: tuple[str, ...] = ("central", "reusers", "split_2024",
                                    "land_for_municipalities", "historical")
#: A neutral grey beside the eight Okabe-Ito colours (for "no programme").
GREY = "#7f7f7f"
STRATEGY_STYLES: dict[str, dict[str, Any]] = {
    "efa": {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o"},
    "efv": {"color": OKABE_ITO["orange"], "linestyle": "--", "marker": "s"},
    "einzel": {"color": OKABE_ITO["green"], "linestyle": "-.", "marker": "^"},
    "mixed": {"color": OKABE_ITO["purple"], "linestyle": ":", "marker": "D"},
}
# Nine funding levels: every colour, line style and marker differs, so each level reads in
# greyscale by its marker and line. Okabe-Ito yellow (weak on white) goes to
# ``historical``, the one level that no experiment sets beside the eight others.
FUNDING_STYLES: dict[str, dict[str, Any]] = {
    "none": {"color": GREY, "linestyle": "-", "marker": "o"},
    "konjunkturpaket": {"color": OKABE_ITO["sky"], "linestyle": "--", "marker": "s"},
    "koenigstein": {"color": OKABE_ITO["red"], "linestyle": "-.", "marker": "^"},
    "per_capita": {"color": OKABE_ITO["blue"], "linestyle": ":", "marker": "D"},
    "per_municipality": {"color": OKABE_ITO["orange"], "linestyle": (0, (5, 1)),
                         "marker": "v"},
    "need": {"color": OKABE_ITO["green"], "linestyle": (0, (3, 1, 1, 1, 1, 1)),
             "marker": "P"},
    "competitive": {"color": OKABE_ITO["purple"], "linestyle": (0, (1, 1)), "marker": "X"},
    "municipal_share": {"color": OKABE_ITO["black"], "linestyle": (0, (8, 2, 2, 2)),
                        "marker": "*"},
    "historical": {"color": OKABE_ITO["yellow"], "linestyle": (0, (2, 2, 6, 2)),
                   "marker": "h"},
}
OPERATION_STYLES: dict[str, dict[str, Any]] = {
    "central": {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o"},
    "reusers": {"color": OKABE_ITO["red"], "linestyle": "--", "marker": "s"},
    "split_2024": {"color": OKABE_ITO["green"], "linestyle": "-.", "marker": "^"},
    "land_for_municipalities": {"color": OKABE_ITO["purple"], "linestyle": ":",
                                "marker": "D"},
    "historical": {"color": OKABE_ITO["black"], "linestyle": (0, (5, 1)), "marker": "v"},
}
_KNOWN_STYLES = {"strategy": STRATEGY_STYLES, "funding": FUNDING_STYLES,
                 "operation": OPERATION_STYLES}
_KNOWN_ORDERS: dict[str, tuple[Any, ...]] = {"strategy": STRATEGY_ORDER,
                                             "funding": FUNDING_ORDER,
                                             "operation": OPERATION_ORDER}
_ORDER_OVERRIDES: dict[str, tuple[Any, ...]] = {}
_CYCLE_COLORS = [OKABE_ITO[k] for k in ("blue", "orange", "green", "purple", "sky", "red",
                                        "black", "yellow")]
_CYCLE_LS = ["-", "--", "-.", ":"]
_CYCLE_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def chart_style() -> dict[str, Any]:
    """rcParams of every chart: the style of :mod:`sim.plots`, fonts embedded as TrueType,
    reproducible SVG ids."""
    return {**_base_style(), "pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "ozg-sim",
            "axes.titlesize": 9, "axes.titleweight": "bold", "axes.titlelocation": "left",
            "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.frameon": False,
            "axes.axisbelow": True}


# --------------------------------------------------------------------------------------
# Labels and number formats
# --------------------------------------------------------------------------------------

STRATEGY_LABELS_DE = {"efa": "EfA (Einer für Alle)", "efv": "EfV (Einer für Viele)",
                      "einzel": "jedes Land für sich",
                      "mixed": "gemischt (EfA für Typ 2/3, EfV für 4/5)"}
STRATEGY_SHORT = {"en": {"efa": "EfA", "efv": "EfV", "einzel": "each Land alone",
                         "mixed": "mixed"},
                  "de": {"efa": "EfA", "efv": "EfV", "einzel": "jedes Land allein",
                         "mixed": "gemischt"}}
FUNDING_LABELS_EN = {
    **FUNDING_LABELS,
    "per_capita": "2020 stimulus per capita",
    "per_municipality": "2020 stimulus per municipality",
    "need": "2020 stimulus by need (inverse of staff)",
    "competitive": "2020 stimulus, competitive (first ready, first paid)",
    "municipal_share": "2020 stimulus with 20% for municipalities",
    "historical": "historical programmes",
}
FUNDING_LABELS_DE = {"none": "kein Förderprogramm",
                     "konjunkturpaket": "Konjunkturpaket 2020, projektweise",
                     "koenigstein": "Konjunkturpaket 2020 nach Königsteiner Schlüssel",
                     "per_capita": "Konjunkturpaket 2020 nach Einwohnerzahl",
                     "per_municipality": "Konjunkturpaket 2020 je Kommune",
                     "need": "Konjunkturpaket 2020 nach Bedarf (umgekehrt zum Personal)",
                     "competitive": ("Konjunkturpaket 2020 im Wettbewerb (wer zuerst fertig "
                                     "ist, wird zuerst bezahlt)"),
                     "municipal_share": "Konjunkturpaket 2020 mit 20\u00a0% für Kommunen",
                     "historical": "historische Förderprogramme"}
FUNDING_SHORT = {"en": {"none": "no programme", "konjunkturpaket": "stimulus by project",
                        "koenigstein": "stimulus by Königstein key",
                        "per_capita": "stimulus per capita",
                        "per_municipality": "stimulus per municipality",
                        "need": "stimulus by need (inverse of staff)",
                        "competitive": "stimulus competitive (first ready, first paid)",
                        "municipal_share": "stimulus with 20% for municipalities",
                        "historical": "historical programmes"},
                 "de": {"none": "ohne Förderung", "konjunkturpaket": "Konjunkturpaket projektweise",
                        "koenigstein": "Konjunkturpaket nach Königsteiner Schlüssel",
                        "per_capita": "Konjunkturpaket nach Einwohnerzahl",
                        "per_municipality": "Konjunkturpaket je Kommune",
                        "need": "Konjunkturpaket nach Bedarf (umgekehrt zum Personal)",
                        "competitive": "Konjunkturpaket im Wettbewerb (zuerst fertig, zuerst "
                                       "bezahlt)",
                        "municipal_share": "Konjunkturpaket mit 20\u00a0% für Kommunen",
                        "historical": "historische Programme"}}
OPERATION_LABELS = {
    "en": {"central": "Bund pays, as until 2022",
           "reusers": "reusers pay (Länder and municipalities)",
           "split_2024": "IT-PLR split of 2024 (50% reusers, 25% Bund, 25% all Länder)",
           "land_for_municipalities": "each Land pays, also for its municipalities",
           "historical": "as it happened (2023 reusers, from 2024 the split)"},
    "de": {"central": "Bund zahlt, wie bis 2022",
           "reusers": "Nachnutzer zahlen (Länder und Kommunen)",
           "split_2024": ("IT-PLR-Aufteilung 2024 (50\u00a0% Nachnutzer, 25\u00a0% Bund, "
                          "25\u00a0% alle Länder)"),
           "land_for_municipalities": "jedes Land zahlt, auch für seine Kommunen",
           "historical": "wie geschehen (2023 Nachnutzer, ab 2024 Aufteilung)"},
}
OPERATION_SHORT = {
    "en": {"central": "Bund pays", "reusers": "reusers pay", "split_2024": "2024 split",
           "land_for_municipalities": "Land pays for municipalities",
           "historical": "as it happened"},
    "de": {"central": "Bund zahlt", "reusers": "Nachnutzer zahlen",
           "split_2024": "Aufteilung 2024", "land_for_municipalities": "Land zahlt für Kommunen",
           "historical": "wie geschehen"},
}
SHORT_LABELS = {"strategy": STRATEGY_SHORT, "funding": FUNDING_SHORT,
                "operation": OPERATION_SHORT}
VALUE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "strategy": {"en": dict(STRATEGY_LABELS), "de": STRATEGY_LABELS_DE},
    "funding": {"en": FUNDING_LABELS_EN, "de": FUNDING_LABELS_DE},
    "operation": OPERATION_LABELS,
}
COLUMN_LABELS: dict[str, dict[str, str]] = {
    "strategy": {"en": "Strategy", "de": "Strategie"},
    "funding": {"en": "Funding", "de": "Förderung"},
    "operation": {"en": "Running-cost payer after 2022", "de": "Betriebskostenträger ab 2023"},
    "staffing.dev_fte_factor": {"en": "Developer staff (× baseline)",
                                "de": "Entwicklungspersonal (× Basis)"},
    "staffing.municipal_fte_factor": {"en": "Municipal staff (× baseline)",
                                      "de": "Kommunales Personal (× Basis)"},
    "state": {"en": "Land", "de": "Land"},
}
#: Metric -> (English, German, unit). Unit "share": stored 0-1, shown in per cent.
METRICS: dict[str, tuple[str, str, str]] = {
    "population_coverage": ("Population coverage", "Bevölkerungsabdeckung", "share"),
    "online_anywhere_share": ("Services online somewhere", "Leistungen irgendwo online",
                              "share"),
    "nationwide_share": ("Services online nationwide", "Leistungen flächendeckend online",
                         "share"),
    "available_share": ("Services available in the Land", "Im Land verfügbare Leistungen",
                        "share"),
    "online_anywhere": ("Services online somewhere", "Leistungen irgendwo online", "count"),
    "nationwide": ("Services online nationwide", "Leistungen flächendeckend online",
                   "count"),
    "population_coverage_2022_12": ("Population coverage, end of 2022",
                                    "Bevölkerungsabdeckung Ende 2022", "share"),
    "nationwide_share_2022_12": ("Services online nationwide, end of 2022",
                                 "Leistungen flächendeckend online Ende 2022", "share"),
    "online_anywhere_2022_12": ("Services online somewhere, end of 2022",
                                "Leistungen irgendwo online Ende 2022", "count"),
    "nationwide_2022_12": ("Services online nationwide, end of 2022",
                           "Leistungen flächendeckend online Ende 2022", "count"),
    "spent_eur_programmes": ("Programme spending", "Ausgaben der Förderprogramme", "eur"),
    "cost_per_coverage_point_eur": ("Programme spending per coverage point",
                                    "Förderausgaben je Prozentpunkt Abdeckung", "eur"),
    "onboarded_share": ("Municipal services connected", "Angebundene kommunale Leistungen",
                        "share"),
    "running_costs_eur": ("Running costs", "Betriebskosten", "eur"),
}
#: Payers of the running costs (``running_costs_<payer>``): label (en, de), fill, hatch.
PAYERS: dict[str, tuple[str, str, str, str]] = {
    "land": ("reusing Länder", "nachnutzende Länder", OKABE_ITO["blue"], ""),
    "municipal": ("municipalities", "Kommunen", OKABE_ITO["orange"], "...."),
    "bund": ("Bund", "Bund", OKABE_ITO["red"], "\\\\\\"),
    "pool": ("all Länder (Königstein key)", "alle Länder (Königsteiner Schlüssel)",
             OKABE_ITO["sky"], "////"),
}
#: Municipal size classes (inhabitants of the administration) as the tables name them,
#: with their labels (en, de).
SIZE_CLASSES: dict[str, tuple[str, str]] = {
    "<5k": ("<5k", "<5 Tsd."), "5k-10k": ("5k–10k", "5–10 Tsd."),
    "10k-20k": ("10k–20k", "10–20 Tsd."), "20k-50k": ("20k–50k", "20–50 Tsd."),
    "50k-100k": ("50k–100k", "50–100 Tsd."), "100k-500k": ("100k–500k", "100–500 Tsd."),
    ">=500k": ("≥500k", "≥500 Tsd."),
}
#: Diverging, colour-blind safe colour map centred at 0 (differences).
DIVERGING_CMAP = "RdBu"
UNITS: dict[str, dict[str, str]] = {
    "share": {"en": "%", "de": "%"},
    "pp": {"en": "percentage points", "de": "Prozentpunkte"},
    "count": {"en": "number", "de": "Anzahl"},
    "eur": {"en": "€ million", "de": "Mio. €"},
    "months": {"en": "months", "de": "Monate"},
}
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "deadline": "OZG deadline 31 Dec 2022",
        "inner": "central 50% of replications",
        "outer": "central 90% of replications",
        "note_fan": ("Lines: median of {n} replications; dark bands: central 50%, light "
                     "bands: central 90% of replications."),
        "note_small": ("Lines: median of {n} replications; bands: central 90% of "
                       "replications; dotted line: OZG deadline. Länder in the order of "
                       "their official key."),
        "note_diff": ("Line: mean paired difference (common random numbers) over {n} "
                      "replications; band: {ci} confidence interval."),
        "note_map": "Median over {n} replications per region.",
        "note_kreis": " Thick lines: Land borders.",
        "note_missing": " Grey: no data.",
        "note_heat": "Cells: median over {n} replications.",
        "note_hatched": " Hatched: median not reached within the simulated horizon.",
        "note_ttt": ("Bars: median month over {n} replications; whiskers: {lo}–{hi} range. "
                     "Dotted line: OZG deadline (31 Dec 2022)."),
        "note_cost": "Markers: median of {n} replications; whiskers: {lo}–{hi} range.",
        "note_state_diff": ("Cells: mean paired difference to {ref} (common random numbers) "
                            "over {n} replications, in percentage points (two decimals below "
                            "0.05), at the end of the month; bold: the {ci} confidence interval "
                            "excludes 0. Länder in the order of their official key."),
        "diff_to": "Difference to {ref} in {metric} (percentage points)",
        "diff_to_unit": "Difference to {ref} in {metric} ({unit})",
        "note_costs": ("a: median over {n} replications of each payer's sum over {y0}–{y1} "
                       "(segments), and of the total with its {lo}–{hi} range (dot and "
                       "whisker). b: yearly total, median and {lo}–{hi} range."),
        "note_costs_kpi": ("Median over {n} replications of each payer's running costs over "
                           "the whole simulated horizon (segments), and of the total with its "
                           "{lo}–{hi} range (dot and whisker); costs by year are not in "
                           "these tables."),
        "costs_total": "Running costs {y0}–{y1} (€ million)",
        "costs_total_all": "Running costs, whole horizon (€ million)",
        "costs_year": "Running costs per year (€ million)",
        "payer": "Paid by",
        "costs_sum": "Sum {y0}–{y1} by payer",
        "costs_per_year": "Per year, all payers",
        "total_range": "total, median and {lo}–{hi} range",
        "phases_start": "payer rules apply (2023)",
        "note_size": ("Dots: median of {n} replications; whiskers: {lo}–{hi} range; lines join "
                      "the size classes of one scenario. Share of administration × municipal "
                      "service pairs connected, at the end of the month."),
        "size_axis": "Inhabitants of the municipal administration",
        "mean_diff": "mean difference",
        "month_reached_of": "Month in which {target} was first reached",
        "ci": "{ci} confidence interval",
        "diff_of": "Difference in {metric}",
        "month_reached": "Month in which the target was first reached",
        "not_reached": "median not reached by {end}",
        "not_reached_cell": "not\nreached",
        "reached_in": "reached in {k} of {n} replications",
    },
    "de": {
        "deadline": "OZG-Frist 31.12.2022",
        "inner": "mittlere 50 % der Replikationen",
        "outer": "mittlere 90 % der Replikationen",
        "note_fan": ("Linien: Median aus {n} Replikationen; dunkle Bänder: mittlere 50 %, "
                     "helle Bänder: mittlere 90 % der Replikationen."),
        "note_small": ("Linien: Median aus {n} Replikationen; Bänder: mittlere 90 % der "
                       "Replikationen; gepunktete Linie: OZG-Frist. Länder in der Reihenfolge "
                       "ihres amtlichen Schlüssels."),
        "note_diff": ("Linie: mittlere gepaarte Differenz (gemeinsame Zufallszahlen) aus {n} "
                      "Replikationen; Band: {ci}-Konfidenzintervall."),
        "note_map": "Median aus {n} Replikationen je Gebiet.",
        "note_kreis": " Dicke Linien: Landesgrenzen.",
        "note_missing": " Grau: keine Daten.",
        "note_heat": "Zellen: Median aus {n} Replikationen.",
        "note_hatched": " Schraffiert: Median im simulierten Zeitraum nicht erreicht.",
        "note_ttt": ("Balken: Median-Monat aus {n} Replikationen; Fehlerbalken: {lo}–{hi}-"
                     "Spanne. Gepunktete Linie: OZG-Frist (31.12.2022)."),
        "note_cost": "Punkte: Median aus {n} Replikationen; Fehlerbalken: {lo}–{hi}-Spanne.",
        "note_state_diff": ("Zellen: mittlere gepaarte Differenz zu {ref} (gemeinsame "
                            "Zufallszahlen) aus {n} Replikationen, in Prozentpunkten (unter "
                            "0,05 mit zwei Nachkommastellen), am Monatsende; fett: das "
                            "{ci}-Konfidenzintervall schließt 0 aus. Länder in der Reihenfolge "
                            "ihres amtlichen Schlüssels."),
        "diff_to": "Differenz zu {ref}: {metric} (Prozentpunkte)",
        "diff_to_unit": "Differenz zu {ref}: {metric} ({unit})",
        "note_costs": ("a: Median aus {n} Replikationen der Summe {y0}–{y1} je Kostenträger "
                       "(Segmente) und der Gesamtsumme mit ihrer {lo}–{hi}-Spanne (Punkt und "
                       "Fehlerbalken). b: Summe je Jahr, Median und {lo}–{hi}-Spanne."),
        "note_costs_kpi": ("Median aus {n} Replikationen der Betriebskosten je Kostenträger über "
                           "den ganzen simulierten Zeitraum (Segmente) und der Gesamtsumme mit "
                           "ihrer {lo}–{hi}-Spanne (Punkt und Fehlerbalken); Kosten je Jahr "
                           "sind in diesen Tabellen nicht enthalten."),
        "costs_total": "Betriebskosten {y0}–{y1} (Mio. €)",
        "costs_total_all": "Betriebskosten, ganzer Zeitraum (Mio. €)",
        "costs_year": "Betriebskosten je Jahr (Mio. €)",
        "payer": "Getragen von",
        "costs_sum": "Summe {y0}–{y1} nach Kostenträger",
        "costs_per_year": "Je Jahr, alle Kostenträger",
        "total_range": "Summe, Median und {lo}–{hi}-Spanne",
        "phases_start": "Kostenträgerregeln gelten (2023)",
        "note_size": ("Punkte: Median aus {n} Replikationen; Fehlerbalken: {lo}–{hi}-Spanne; "
                      "Linien verbinden die Größenklassen eines Szenarios. Anteil der "
                      "angebundenen Paare aus Verwaltung und kommunaler Leistung, am "
                      "Monatsende."),
        "size_axis": "Einwohnerzahl der Kommunalverwaltung",
        "mean_diff": "mittlere Differenz",
        "month_reached_of": "Monat, in dem {target} erstmals erreicht wurde",
        "ci": "{ci}-Konfidenzintervall",
        "diff_of": "Differenz der {metric}",
        "month_reached": "Monat, in dem das Ziel erstmals erreicht wurde",
        "not_reached": "Median bis {end} nicht erreicht",
        "not_reached_cell": "nicht\nerreicht",
        "reached_in": "in {k} von {n} Replikationen erreicht",
    },
}
MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"],
          "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                 "September", "Oktober", "November", "Dezember"]}
MONTHS_SHORT = {"en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                       "Nov", "Dec"],
                "de": ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.",
                       "Okt.", "Nov.", "Dez."]}
_MINUS = "\u2212"
_NBSP = "\u00a0"


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang(={lang!r}) must be one of {list(LANGS)}")


def text(key: str, lang: Lang = "en", **fields: object) -> str:
    """A fixed phrase of the charts in ``lang``, with ``{fields}`` filled in."""
    _check_lang(lang)
    return TEXT[lang][key].format(**fields)


def format_number(x: float, lang: Lang = "en", decimals: int = 0, sign: bool = False) -> str:
    """``x`` with ``decimals`` digits: ``1,234.5`` (en) or ``1.234,5`` (de).

    Negative numbers take a true minus sign; ``sign=True`` adds ``+`` to positive ones.
    Non-finite values give an en dash.
    """
    _check_lang(lang)
    if x is None or not np.isfinite(x):
        return "–"
    s = f"{abs(x):,.{decimals}f}"
    if lang == "de":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    nonzero = any(c not in "0,." for c in s)
    if x < 0 and nonzero:
        s = _MINUS + s
    elif sign and x > 0 and nonzero:
        s = "+" + s
    return s


def format_percent(share: float, lang: Lang = "en", decimals: int = 0,
                   sign: bool = False) -> str:
    """A share (0-1) in per cent: ``45%`` (en) or ``45 %`` (de, with a non-breaking space)."""
    if share is None or not np.isfinite(share):
        return "–"
    return format_number(share * 100, lang, decimals, sign) + ("%" if lang == "en"
                                                                else _NBSP + "%")


def format_month(date: object, lang: Lang = "en", short: bool = False) -> str:
    """``December 2022`` / ``Dezember 2022`` (``short``: ``Dec 2022`` / ``Dez. 2022``)."""
    _check_lang(lang)
    ts = pd.Timestamp(date)  # type: ignore[arg-type]
    names = MONTHS_SHORT if short else MONTHS
    return f"{names[lang][ts.month - 1]} {ts.year}"


def month_date(month: float) -> pd.Timestamp:
    """Month-end date of month index ``month`` (0 = January 2018), as in the tables."""
    return ORIGIN + pd.offsets.MonthEnd(int(month) + 1)


def _decimals_for(values: np.ndarray, limit: int = 4) -> int:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0
    tol = 1e-6 * max(float(np.max(np.abs(v))), 1e-12)
    for d in range(limit + 1):
        if np.all(np.abs(np.round(v, d) - v) <= tol):
            return d
    return limit


class _TickFormatter(FuncFormatter):
    """FuncFormatter that remembers the tick positions of the axis (to choose decimals)."""

    def __init__(self, func: Callable[[float, int | None], str]) -> None:
        super().__init__(func)
        self.tick_values = np.zeros(0)

    def set_locs(self, locs: Sequence[float]) -> None:
        self.tick_values = np.asarray(locs, dtype=float)
        super().set_locs(list(locs))


def number_formatter(lang: Lang = "en", scale: float = 1.0, decimals: int | None = None,
                     sign: bool = False) -> FuncFormatter:
    """Tick formatter: value × ``scale`` with the decimal mark of ``lang``.

    With ``decimals=None`` all ticks of an axis get the fewest decimals that show every
    tick exactly (``0.5, 1.0, 1.5``, never ``0.5, 1, 1.5``).
    """
    _check_lang(lang)

    def fmt(x: float, pos: int | None = None) -> str:
        d = decimals
        if d is None:
            locs = formatter.tick_values * scale
            d = _decimals_for(locs if len(locs) else np.array([x * scale]))
        return format_number(x * scale, lang, d, sign)

    formatter = _TickFormatter(fmt)
    return formatter


def percent_formatter(lang: Lang = "en", decimals: int | None = None,
                      sign: bool = False) -> FuncFormatter:
    """Tick formatter of shares (0-1) as per-cent numbers (the unit goes in the label)."""
    return number_formatter(lang, 100.0, decimals, sign)


def label_value(column: str, value: object, lang: Lang = "en", short: bool = False) -> str:
    """Readable label of one level of a design column (``efa`` -> ``EfA (one for all)``)."""
    _check_lang(lang)
    if short and isinstance(value, str) and value in SHORT_LABELS.get(column, {}).get(lang, {}):
        return SHORT_LABELS[column][lang][value]
    labels = VALUE_LABELS.get(column, {}).get(lang, {})
    if isinstance(value, str):
        return labels.get(value, value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format_number(float(value), lang, _decimals_for(np.array([float(value)])))
    return str(value)


def label_column(column: str, lang: Lang = "en") -> str:
    """Readable name of a design column (unknown columns keep their name)."""
    _check_lang(lang)
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column][lang]
    if column in METRICS:
        return METRICS[column][0 if lang == "en" else 1]
    return column


def metric_unit(metric: str) -> str:
    """Unit kind of a metric: ``share``, ``count``, ``eur``, ``months`` or ``""``."""
    if metric in METRICS:
        return METRICS[metric][2]
    if metric.startswith("months_to_"):
        return "months"
    if metric.endswith(("_share", "_coverage")) or "coverage" in metric:
        return "share"
    if "_eur" in metric:
        return "eur"
    return ""


def label_metric(metric: str, lang: Lang = "en", unit: bool = True) -> str:
    """Axis label of a metric with its unit: ``Population coverage (%)``."""
    _check_lang(lang)
    name = METRICS[metric][0 if lang == "en" else 1] if metric in METRICS else metric
    kind = metric_unit(metric)
    if unit and kind in UNITS:
        return f"{name} ({UNITS[kind][lang]})"
    return name


def _target_label(kpi: str, lang: Lang) -> str:
    """``months_to_90pct_population_coverage`` -> ``90% population coverage``."""
    rest = kpi.removeprefix("months_to_")
    pct, _, metric = rest.partition("pct_")
    if not pct.isdigit():
        return kpi
    name = label_metric(metric, lang, unit=False)
    if lang == "en":  # "90% population coverage"; German nouns keep their capital
        name = name[0].lower() + name[1:]
    return f"{format_percent(int(pct) / 100, lang)} {name}"


def group_label(by: Sequence[str], key: tuple, lang: Lang = "en", short: bool = False) -> str:
    """Label of one group of the design columns ``by`` (levels joined by `` · ``)."""
    return " · ".join(label_value(c, v, lang, short) for c, v in zip(by, key, strict=True))


# --------------------------------------------------------------------------------------
# Groups, styles, validation
# --------------------------------------------------------------------------------------

def _as_list(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(df.columns)}")


@contextmanager
def level_order(orders: Mapping[str, Sequence[Any]]) -> Iterator[None]:
    """Within the block, levels of the given columns appear in the given order (e.g. an
    experiment's design order) instead of :data:`FUNDING_ORDER` etc.; levels not listed
    follow in their usual order."""
    saved = dict(_ORDER_OVERRIDES)
    _ORDER_OVERRIDES.update({c: tuple(v) for c, v in orders.items()})
    try:
        yield
    finally:
        _ORDER_OVERRIDES.clear()
        _ORDER_OVERRIDES.update(saved)


def _ordered_levels(column: str, values: Sequence[Any]) -> list[Any]:
    uniq = list(pd.unique(pd.Series(list(values))))
    known = _KNOWN_ORDERS.get(column, ())
    order = (*_ORDER_OVERRIDES.get(column, ()), *known)
    if order:
        rank: dict[Any, int] = {}
        for i, v in enumerate(order):
            rank.setdefault(v, i)
        return sorted(uniq, key=lambda v: (rank.get(v, len(order)), str(v)))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def groups_of(df: pd.DataFrame, by: Sequence[str]) -> list[tuple]:
    """Distinct combinations of the columns ``by`` in display order (known orders first)."""
    if not by:
        return [()]
    present = {tuple(r) for r in df[list(by)].drop_duplicates().itertuples(index=False)}
    levels = [_ordered_levels(c, df[c].tolist()) for c in by]
    rank = [{v: i for i, v in enumerate(lv)} for lv in levels]
    return sorted(present, key=lambda k: tuple(r[v] for r, v in zip(rank, k, strict=True)))


def _select(df: pd.DataFrame, by: Sequence[str], key: tuple) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for c, v in zip(by, key, strict=True):
        mask &= (df[c] == v).to_numpy()
    return df[mask]


def group_styles(by: Sequence[str], keys: Sequence[tuple]) -> dict[tuple, dict[str, Any]]:
    """Colour, line style and marker per group.

    One column: its fixed style (strategy, funding) or a cycle of Okabe-Ito colours, line
    styles and markers. Two or more columns: colour from the first, line style and marker
    from the second, so ``by=["strategy", "funding"]`` keeps the strategy colours.
    """
    out: dict[tuple, dict[str, Any]] = {}
    levels = [_ordered_levels(c, [k[i] for k in keys]) for i, c in enumerate(by)]

    def style(col_i: int, value: Any) -> dict[str, Any]:
        known = _KNOWN_STYLES.get(by[col_i], {})
        if isinstance(value, str) and value in known:
            return dict(known[value])
        i = levels[col_i].index(value)
        return {"color": _CYCLE_COLORS[i % len(_CYCLE_COLORS)],
                "linestyle": _CYCLE_LS[i % len(_CYCLE_LS)],
                "marker": _CYCLE_MARKERS[i % len(_CYCLE_MARKERS)]}

    for k in keys:
        if not by:
            out[k] = {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o"}
            continue
        st = style(0, k[0])
        if len(by) > 1:
            second = style(1, k[1])
            i = levels[1].index(k[1])
            st["linestyle"] = _CYCLE_LS[i % len(_CYCLE_LS)]
            st["marker"] = second["marker"] if by[1] in _KNOWN_STYLES else _CYCLE_MARKERS[
                i % len(_CYCLE_MARKERS)]
        out[k] = st
    return out


def _check_one_row(df: pd.DataFrame, by: Sequence[str], keys: Sequence[str], name: str,
                   min_replications: int = 2) -> None:
    """Each group must hold one row per replication and key, and >= 2 replications."""
    dup = df.duplicated([*by, *keys, "replication"])
    if dup.any():
        row = df[dup].iloc[0]
        where = ", ".join(f"{c}={_show(row[c])}" for c in [*by, *keys])
        design = [c for c in df.columns if c not in (*by, *keys, "replication")
                  and (c in ("point", "strategy", "funding") or "." in c)]
        varying = [c for c in design if df[c].nunique() > 1]
        named = [c for c in varying if c != "point"] or ["point"]
        raise ValueError(f"{name} has several rows for replication {row['replication']} at "
                         f"{where}: columns {named} vary within a group; "
                         f"filter them or add them to by={list(by)}")
    n = df.groupby(list(by), sort=False)["replication"].nunique() if by else pd.Series(
        [df["replication"].nunique()])
    if (n < min_replications).any():
        bad = n[n < min_replications].index[0]
        raise ValueError(f"{name}: group {bad!r} has {int(n[bad])} replication(s), at least "
                         f"{min_replications} needed (never a single run in a chart)")


def _show(value: object) -> str:
    """A key value for an error message: strings quoted, numbers and dates plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _with_date(df: pd.DataFrame) -> pd.DataFrame:
    if "date" in df.columns:
        return df
    if "month" in df.columns:
        out = df.copy()
        out["date"] = [month_date(m) for m in out["month"]]
        return out
    raise ValueError(f"table needs a 'date' or 'month' column; it has {list(df.columns)}")


def _n_text(n: pd.Series | np.ndarray) -> str:
    values = np.asarray(n, dtype=int)
    lo, hi = int(values.min()), int(values.max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _pct_range(lang: Lang, band: tuple[float, float] = OUTER_BAND) -> tuple[str, str]:
    return format_percent(band[0], lang), format_percent(band[1], lang)


# --------------------------------------------------------------------------------------
# Summaries (what the charts draw)
# --------------------------------------------------------------------------------------

def _quantile_table(df: pd.DataFrame, keys: list[str], value: str,
                    bands: Sequence[tuple[float, float]]) -> pd.DataFrame:
    g = df.groupby(keys, sort=True, observed=True)[value]
    out = pd.DataFrame({"n_replications": g.size(), "median": g.median()})
    for lo, hi in bands:
        out[f"q{round(lo * 100):02d}"] = g.quantile(lo)
        out[f"q{round(hi * 100):02d}"] = g.quantile(hi)
    out = out.reset_index()
    return out[[*keys, "n_replications", "median",
                *sorted([c for c in out.columns if c.startswith("q")])]]


def fan_table(national: pd.DataFrame, by: str | Sequence[str] = "strategy",
              value: str = "population_coverage") -> pd.DataFrame:
    """Median and central 50 % / 90 % intervals across replications per group and date.

    Returns columns ``*by, date, n_replications, median, q05, q25, q75, q95``.
    """
    by_cols = _as_list(by)
    df = _with_date(national)
    _require(df, [*by_cols, "replication", "date", value], "national")
    _check_one_row(df, by_cols, ["date"], "national")
    return _quantile_table(df, [*by_cols, "date"], value, [OUTER_BAND, INNER_BAND])


def state_table(by_state: pd.DataFrame, by: str | Sequence[str] = "strategy",
                value: str = "available_share") -> pd.DataFrame:
    """Median and central 90 % interval per Land, group and date.

    Returns columns ``state, *by, date, n_replications, median, q05, q95``.
    """
    by_cols = _as_list(by)
    df = _with_date(by_state)
    _require(df, ["state", *by_cols, "replication", "date", value], "by_state")
    geo.check_keys(df["state"].unique(), "land")
    _check_one_row(df, by_cols, ["state", "date"], "by_state")
    return _quantile_table(df, ["state", *by_cols, "date"], value, [OUTER_BAND])


def _select_dates(df: pd.DataFrame, dates: Sequence[object] | None) -> list[pd.Timestamp]:
    """Map dates: given ones (matched by month), else all if at most two, else the
    deadline month (if present) and the last date."""
    available = sorted(pd.to_datetime(df["date"].unique()))
    if dates is None:
        if len(available) <= 2:
            return list(available)
        deadline = [d for d in available if d.to_period("M") == DEADLINE.to_period("M")]
        return [*deadline[:1], available[-1]] if deadline else [available[-1]]
    out = []
    for d in dates:
        month = pd.Timestamp(d).to_period("M")  # type: ignore[arg-type]
        hit = [a for a in available if a.to_period("M") == month]
        if not hit:
            raise ValueError(f"date {d!r} is not in the table; available: "
                             f"{[a.strftime('%Y-%m') for a in available]}")
        out.append(hit[0])
    return out


def map_table(regions: pd.DataFrame, level: geo.Level = "land",
              by: str | Sequence[str] = "strategy", value: str = "population_coverage",
              dates: Sequence[object] | None = None) -> pd.DataFrame:
    """Median across replications per region, group and map date.

    Returns columns ``*by, date, region, region_name, n_replications, median``; ``region``
    is the state abbreviation (``level="land"``) or the 5-digit Kreis key.
    """
    key = "state" if level == "land" else "kreis_ags"
    by_cols = _as_list(by)
    df = _with_date(regions)
    _require(df, [key, *by_cols, "replication", "date", value],
             "by_state" if level == "land" else "by_kreis")
    df = df.assign(**{key: df[key].astype(str)})
    geo.check_keys(df[key].unique(), level)
    chosen = _select_dates(df, dates)
    df = df[pd.to_datetime(df["date"]).isin(chosen)]
    _check_one_row(df, by_cols, [key, "date"], "regions")
    g = df.groupby([*by_cols, "date", key], sort=True, observed=True)[value]
    out = pd.DataFrame({"n_replications": g.size(), "median": g.median()}).reset_index()
    out = out.rename(columns={key: "region"})
    out.insert(out.columns.get_loc("region") + 1, "region_name",
               out["region"].map(geo.region_names(level)))
    return out


def _never_quantiles(values: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles when NaN means "not reached within the horizon" (later than any value).

    Not-reached runs count as +infinity; a quantile that falls on or next to them is NaN.
    """
    v = np.asarray(values, dtype=float)
    big = 1e15
    filled = np.where(np.isfinite(v), v, big)
    out = np.quantile(filled, list(qs))
    return [float(x) if x < big / 10 else math.nan for x in out]


def summarise_kpi(kpis: pd.DataFrame, by: str | Sequence[str], kpi: str,
                  band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Median and interval of one KPI across replications per group.

    For ``months_to_*`` KPIs NaN means "not reached": such runs count as later than any
    other, and a median or bound that falls among them is NaN (shown as "not reached").

    Returns columns ``*by, kpi, n_replications, n_reached, median, lo, hi``.
    """
    by_cols = _as_list(by)
    _require(kpis, [*by_cols, "replication", kpi], "kpis")
    _check_one_row(kpis, by_cols, [], "kpis")
    never = kpi.startswith("months_to_")
    rows = []
    for key in groups_of(kpis, by_cols):
        v = _select(kpis, by_cols, key)[kpi].to_numpy(dtype=float)
        if never:
            med, lo, hi = _never_quantiles(v, [0.5, band[0], band[1]])
        else:
            ok = v[np.isfinite(v)]
            med, lo, hi = (np.quantile(ok, [0.5, *band]).tolist() if len(ok)
                           else [math.nan] * 3)
        rows.append({**dict(zip(by_cols, key, strict=True)), "kpi": kpi,
                     "n_replications": len(v), "n_reached": int(np.isfinite(v).sum()),
                     "median": med, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def cost_coverage_table(kpis: pd.DataFrame, by: str | Sequence[str] = "strategy",
                        x: str = "spent_eur_programmes",
                        y: str = "population_coverage_2022_12",
                        band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Median and central interval of cost (x) and coverage (y) per group.

    Returns columns ``*by, n_replications, x_median, x_lo, x_hi, y_median, y_lo, y_hi``.
    """
    by_cols = _as_list(by)
    a = summarise_kpi(kpis, by_cols, x, band)
    b = summarise_kpi(kpis, by_cols, y, band)
    out = a[[*by_cols, "n_replications"]].copy()
    for prefix, s in (("x", a), ("y", b)):
        out[f"{prefix}_median"] = s["median"].to_numpy()
        out[f"{prefix}_lo"] = s["lo"].to_numpy()
        out[f"{prefix}_hi"] = s["hi"].to_numpy()
    return out


def heatmap_table(df: pd.DataFrame, x: str, y: str, value: str,
                  facet: str | None = None) -> pd.DataFrame:
    """Median of ``value`` across replications per cell (``x``, ``y``, optional ``facet``).

    Rows without a ``replication`` column are taken as already summarised (one per cell).
    ``months_to_*`` values that were not reached count as later than any other.
    Returns columns ``[facet], y, x, n_replications, n_reached, median``.
    """
    keys = [c for c in (facet, y, x) if c is not None]
    _require(df, [*keys, value], "heatmap data")
    if "replication" not in df.columns:
        if df.duplicated(keys).any():
            raise ValueError(f"heatmap data has several rows per cell {keys} and no "
                             "'replication' column")
        out = df[keys].copy()
        out["n_replications"] = np.nan
        out["n_reached"] = np.isfinite(df[value].to_numpy(dtype=float)).astype(int)
        out["median"] = df[value].to_numpy(dtype=float)
        return out.sort_values(keys).reset_index(drop=True)
    s = summarise_kpi(df, keys, value)
    return s[[*keys, "n_replications", "n_reached", "median"]]


# --------------------------------------------------------------------------------------
# Axes helpers
# --------------------------------------------------------------------------------------

def _date_axis(ax: Axes, dates: object, step: int = 2) -> None:
    """Year ticks (every ``step`` years, minor ticks every year) over the range of dates.

    Fixed tick positions: much faster than a YearLocator on many panels.
    """
    d = pd.to_datetime(pd.Series(np.ravel(np.asarray(dates))))
    y0, y1 = int(d.min().year), int(d.max().year) + 1
    years = list(range(y0, y1 + 1))
    ax.xaxis.set_major_locator(FixedLocator(
        [float(mdates.date2num(pd.Timestamp(y, 1, 1))) for y in years[::step]]))
    ax.xaxis.set_minor_locator(FixedLocator(
        [float(mdates.date2num(pd.Timestamp(y, 1, 1))) for y in years]))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(axis="y", color="0.9", lw=0.6)


def _share_axis(ax: Axes, lang: Lang, label: str | None) -> None:
    ax.set_ylim(0, 1.02)  # a little headroom, so lines at 100 % are not cut in half
    ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.yaxis.set_major_formatter(percent_formatter(lang, 0))
    if label is not None:
        ax.set_ylabel(label)


def _deadline_line(ax: Axes, x: object = DEADLINE, lw: float = 0.8) -> None:
    ax.axvline(x, color="0.35", lw=lw, ls=":", zorder=1.5)  # type: ignore[arg-type]


def _deadline_handle(lang: Lang) -> Line2D:
    return Line2D([], [], color="0.35", lw=0.8, ls=":", label=text("deadline", lang))


def _value_axis(ax: Axes, value: str, lang: Lang) -> None:
    if metric_unit(value) == "share":
        _share_axis(ax, lang, label_metric(value, lang))
    else:
        ax.yaxis.set_major_formatter(number_formatter(lang))
        ax.set_ylabel(label_metric(value, lang))
        ax.set_ylim(bottom=0)


def _short(by: Sequence[str]) -> bool:
    """Short level labels when groups combine several columns."""
    return len(by) > 1


#: Legend labels longer than this many characters wrap onto further lines.
LEGEND_WIDTH = 44


def _group_handles(by: Sequence[str], keys: Sequence[tuple], lang: Lang,
                   marker: bool = True, line: bool = True) -> list[Line2D]:
    styles = group_styles(by, keys)
    return [Line2D([], [], color=styles[k]["color"],
                   linestyle=styles[k]["linestyle"] if line else "none",
                   marker=styles[k]["marker"] if marker else None, ms=4.5, lw=1.5,
                   mfc="white" if line else styles[k]["color"],
                   label=_wrap(group_label(by, k, lang, _short(by)), LEGEND_WIDTH))
            for k in keys]


def _band_handles(lang: Lang) -> list[Patch]:
    return [Patch(facecolor="0.55", alpha=0.45, lw=0, label=text("inner", lang)),
            Patch(facecolor="0.55", alpha=0.18, lw=0, label=text("outer", lang))]


def _wrap(label: str, width: int) -> str:
    return "\n".join(textwrap.wrap(label, width)) if len(label) > width else label


def _panel_letter(i: int) -> str:
    return chr(ord("a") + i)


# --------------------------------------------------------------------------------------
# Axes-level charts
# --------------------------------------------------------------------------------------

def _draw_fan(ax: Axes, table: pd.DataFrame, by: list[str], value: str, lang: Lang,
              deadline: bool = True, legend: bool = True, year_step: int = 2) -> Axes:
    keys = groups_of(table, by)
    styles = group_styles(by, keys)
    for i, key in enumerate(keys):
        sub = _select(table, by, key).sort_values("date")
        st = styles[key]
        ax.fill_between(sub["date"], sub["q05"], sub["q95"], color=st["color"], alpha=0.10,
                        lw=0)
        ax.fill_between(sub["date"], sub["q25"], sub["q75"], color=st["color"], alpha=0.25,
                        lw=0)
        ax.plot(sub["date"], sub["median"], color=st["color"], ls=st["linestyle"],
                marker=st["marker"], ms=4, mfc="white", mew=1.1, lw=1.5,
                markevery=((3 * i) % 12 + 6, 12), label=group_label(by, key, lang, _short(by)))
    _value_axis(ax, value, lang)
    _date_axis(ax, table["date"], year_step)
    if deadline:
        _deadline_line(ax)
    if legend:
        ax.legend(handles=[*_group_handles(by, keys, lang), *_band_handles(lang),
                           *([_deadline_handle(lang)] if deadline else [])],
                  loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=7)
    return ax


def fan(ax: Axes, national: pd.DataFrame, by: str | Sequence[str] = "strategy",
        value: str = "population_coverage", lang: Lang = "en", deadline: bool = True,
        legend: bool = True) -> Axes:
    """Fan chart: per group the median over replications and its central 50 % and 90 %
    bands over time.

    Parameters
    ----------
    national
        Tidy national table: one row per design point, replication and month.
    by
        Design column(s) whose levels get one fan each. Other design columns must not vary
        within a group (filter first), else ``ValueError``.
    value
        Column drawn; shares (0-1) are shown in per cent.
    deadline
        Dotted line at the OZG deadline (31 Dec 2022).
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    return _draw_fan(ax, fan_table(national, by_cols, value), by_cols, value, lang,
                     deadline, legend)


def _diff_unit(value: str) -> tuple[str, float]:
    kind = metric_unit(value)
    return ("pp", 100.0) if kind == "share" else (kind, 1.0)


def paired_difference(ax: Axes, diff_df: pd.DataFrame, label: str | None = None,
                      lang: Lang = "en", value: str = "population_coverage",
                      color: str = OKABE_ITO["black"], ci_level: float = 0.95,
                      legend: bool = True, year_step: int = 2) -> Axes:
    """Mean paired difference over time with its confidence band and a zero line.

    Parameters
    ----------
    diff_df
        Columns ``date`` (or ``month``), ``mean_diff``, ``lo``, ``hi`` (e.g. from
        ``sim.stats``); a difference of shares is shown in percentage points.
    label
        Legend label of the line (e.g. ``"EfV − EfA"``).
    ci_level
        Confidence level of ``lo``/``hi`` (for the legend only).
    """
    _check_lang(lang)
    df = _with_date(diff_df)
    _require(df, ["date", "mean_diff", "lo", "hi"], "diff_df")
    df = df.sort_values("date")
    unit, scale = _diff_unit(value)
    ax.axhline(0, color="0.2", lw=0.8, zorder=1)
    ax.fill_between(df["date"], df["lo"], df["hi"], color=color, alpha=0.22, lw=0,
                    label=text("ci", lang, ci=format_percent(ci_level, lang)))
    ax.plot(df["date"], df["mean_diff"], color=color, lw=1.6,
            label=label or text("mean_diff", lang))
    ax.yaxis.set_major_formatter(number_formatter(lang, scale, sign=True))
    metric = label_metric(value, lang, unit=False)
    ylabel = text("diff_of", lang, metric=metric if lang == "de" else metric.lower())
    ax.set_ylabel(_wrap(f"{ylabel} ({UNITS[unit][lang]})" if unit in UNITS else ylabel, 30))
    _date_axis(ax, df["date"], year_step)
    _deadline_line(ax)
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=[*handles, _deadline_handle(lang)], loc="best", fontsize=7)
    return ax


def small_multiples(fig: Figure | SubFigure, by_state: pd.DataFrame,
                    by: str | Sequence[str] = "strategy", value: str = "available_share",
                    lang: Lang = "en", table: pd.DataFrame | None = None) -> np.ndarray:
    """4 × 4 grid, one panel per Land (official key order), shared axes; per group the
    median over replications and a light central 90 % band.

    Returns the 4 × 4 array of Axes (this chart needs a whole figure or subfigure).
    ``table`` may pass a precomputed :func:`state_table`.
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    t = state_table(by_state, by_cols, value) if table is None else table
    keys = groups_of(t, by_cols)
    styles = group_styles(by_cols, keys)
    names = geo.region_names("land")
    axes = fig.subplots(4, 4, sharex=True, sharey=True)
    share = metric_unit(value) == "share"
    for ax, state in zip(axes.flat, geo.region_keys("land"), strict=True):
        st_rows = t[t["state"] == state]
        for i, key in enumerate(keys):
            sub = _select(st_rows, by_cols, key).sort_values("date")
            s = styles[key]
            ax.fill_between(sub["date"], sub["q05"], sub["q95"], color=s["color"],
                            alpha=0.12, lw=0)
            ax.plot(sub["date"], sub["median"], color=s["color"], ls=s["linestyle"],
                    marker=s["marker"], ms=2.6, mfc="white", mew=0.8, lw=1.1,
                    markevery=((5 * i) % 24 + 6, 24))
        ax.set_title(names[state], fontsize=7.5, pad=2)
        _deadline_line(ax, lw=0.6)
        _date_axis(ax, t["date"], 4)
        ax.tick_params(labelsize=6.5, length=2.5)
        ax.tick_params(which="minor", length=1.5)
        if share:
            _share_axis(ax, lang, None)
            ax.yaxis.set_major_locator(FixedLocator([0, 0.5, 1.0]))
            ax.yaxis.set_minor_locator(FixedLocator([0.25, 0.75]))
            ax.grid(axis="y", which="minor", color="0.94", lw=0.5)
        else:
            ax.yaxis.set_major_formatter(number_formatter(lang))
    fig.supylabel(label_metric(value, lang), fontsize=8)
    return axes


def coverage_map(ax: Axes, values_by_region: Mapping[str, float] | pd.Series,
                 level: geo.Level = "land", lang: Lang = "en", vmin: float = 0.0,
                 vmax: float = 1.0, cmap: str = SEQUENTIAL_CMAP) -> Axes:
    """Choropleth of a share (0-1) per Land or Kreis on a fixed colour scale.

    Regions without a value are grey; Kreis maps get the Land borders on top. Add the scale
    with :func:`map_colorbar`.
    """
    _check_lang(lang)
    values = {str(k): float(v) for k, v in dict(values_by_region).items()}
    geo.draw_regions(ax, values, level=level, cmap=cmap, norm=mcolors.Normalize(vmin, vmax),
                     linewidth=0.4 if level == "land" else 0.1,
                     edgecolor="white" if level == "land" else "0.96")
    return ax


def map_colorbar(fig: Figure | SubFigure, axes: Axes | Sequence[Axes] | np.ndarray,
                 lang: Lang = "en", label: str | None = None, vmin: float = 0.0,
                 vmax: float = 1.0, cmap: str = SEQUENTIAL_CMAP, unit: str = "share",
                 orientation: Literal["vertical", "horizontal"] = "vertical") -> Colorbar:
    """Colour bar for :func:`coverage_map` / :func:`heatmap` panels.

    ``unit``: ``"share"`` (ticks in per cent), ``"months"`` (month index, ticks at the
    start of each year, labelled with the year) or anything else (plain numbers).
    """
    sm = ScalarMappable(norm=mcolors.Normalize(vmin, vmax), cmap=cmap)
    ax_list = list(np.ravel(np.asarray(axes, dtype=object)))
    cb = fig.colorbar(sm, ax=ax_list, orientation=orientation, shrink=0.7, aspect=25,
                      pad=0.02)
    axis = cb.ax.yaxis if orientation == "vertical" else cb.ax.xaxis
    if unit == "share":
        axis.set_major_formatter(percent_formatter(lang, 0))
    elif unit == "months":
        step = 12 if vmax - vmin <= 8 * 12 else 24
        axis.set_major_locator(MultipleLocator(step))
        axis.set_major_formatter(FuncFormatter(lambda v, _p: str(2018 + round(v) // 12)))
    else:
        axis.set_major_formatter(number_formatter(lang))
    cb.outline.set_visible(False)  # type: ignore[operator]
    cb.ax.tick_params(labelsize=7)
    if label:
        cb.set_label(label, fontsize=8)
    return cb


CellFormat = (Literal["percent", "number", "number1", "month"]
              | Callable[[float, Lang], str])


def _cell_text(v: float, fmt: CellFormat, lang: Lang) -> str:
    if callable(fmt):
        return fmt(v, lang)
    if not np.isfinite(v):
        return "–"
    if fmt == "percent":
        return format_percent(v, lang)
    if fmt == "number1":
        return format_number(v, lang, 1)
    if fmt == "month":
        return format_month(month_date(v), lang, short=True).replace(" ", "\n")
    return format_number(v, lang, 0)


def _text_color(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever contrasts more with the background (WCAG luminance)."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "black" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "white"


def heatmap(ax: Axes, df: pd.DataFrame, x: str, y: str, value: str = "median",
            fmt: CellFormat = "percent", lang: Lang = "en", cmap: str = SEQUENTIAL_CMAP,
            vmin: float | None = None, vmax: float | None = None,
            missing_text: str | None = None) -> Axes:
    """Annotated heatmap of one value per (``x``, ``y``) cell.

    Parameters
    ----------
    df
        One row per cell (e.g. :func:`heatmap_table`); NaN cells are light grey and
        hatched, annotated with ``missing_text`` (default: an en dash).
    fmt
        Cell text: ``"percent"`` (shares), ``"number"``, ``"number1"``, ``"month"`` (month
        index since January 2018, shown as month and year) or ``(value, lang) -> str``.
    cmap, vmin, vmax
        Colour map (perceptually uniform by default) and its range (default: the data).
    """
    _check_lang(lang)
    _require(df, [x, y, value], "heatmap data")
    if df.duplicated([x, y]).any():
        raise ValueError(f"heatmap data has several rows per cell ({x}, {y}): summarise "
                         "first (heatmap_table)")
    xs, ys = _ordered_levels(x, df[x].tolist()), _ordered_levels(y, df[y].tolist())
    grid = (df.pivot(index=y, columns=x, values=value).reindex(index=ys, columns=xs)
            .to_numpy(dtype=float))
    finite = grid[np.isfinite(grid)]
    lo = vmin if vmin is not None else (float(finite.min()) if len(finite) else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if len(finite) else 1.0)
    norm = mcolors.Normalize(lo, hi if hi > lo else lo + 1)
    colormap = matplotlib.colormaps[cmap].with_extremes(bad="0.93")
    ax.imshow(np.ma.masked_invalid(grid), cmap=colormap, norm=norm, aspect="auto",
              origin="lower", interpolation="nearest")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            color = _text_color(colormap(norm(v)))
            s = _cell_text(v, fmt, lang)
        else:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="////",
                                   edgecolor="0.75", lw=0))
            color, s = "0.15", missing_text or "–"
        ax.text(j, i, s, ha="center", va="center", fontsize=6.5, color=color,
                linespacing=1.1)
    ax.set_xticks(range(len(xs)), [label_value(x, v, lang, short=True) for v in xs])
    ax.set_yticks(range(len(ys)), [label_value(y, v, lang, short=True) for v in ys])
    ax.set_xlabel(label_column(x, lang))
    ax.set_ylabel(label_column(y, lang))
    if not all(isinstance(v, (int, float, np.number)) for v in ys):
        ax.invert_yaxis()  # categories read top-down; numeric levels grow upwards
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _month_axis(ax: Axes, horizon: float) -> None:
    """x axis in month indices (0 = January 2018), ticks at the start of years."""
    ax.set_xlim(0, horizon)
    step = 24 if horizon > 96 else 12
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_minor_locator(MultipleLocator(12))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: str(2018 + round(v) // 12)))
    ax.grid(axis="x", which="both", color="0.92", lw=0.6)


def _default_horizon(table: pd.DataFrame) -> int:
    finite = table[["median", "lo", "hi"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    top = float(finite.max()) if len(finite) else 60.0
    return 12 * math.ceil((top + 6) / 12)


def time_to_target_bars(ax: Axes, kpis_summary: pd.DataFrame, lang: Lang = "en", *,
                        by: str | Sequence[str] = "strategy",
                        horizon_months: float | None = None, title: str | None = None,
                        xlabel: bool = True) -> Axes:
    """Horizontal bars: median month in which a target was first reached, whiskers for the
    interval across replications.

    Parameters
    ----------
    kpis_summary
        :func:`summarise_kpi` output: ``*by, n_replications, n_reached, median, lo, hi``
        in months since January 2018 (NaN = not reached).
    horizon_months
        Number of simulated months (the x range); default: the largest finite value,
        rounded up to whole years.

    A median that was not reached is drawn as an empty hatched bar across the horizon
    with the words "median not reached by <month>" (never as zero); an upper bound not
    reached ends in an arrow at the edge. Groups in which some replications never reached
    the target say how many did.
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    _require(kpis_summary, [*by_cols, "n_replications", "n_reached", "median", "lo", "hi"],
             "kpis_summary")
    keys = groups_of(kpis_summary, by_cols)
    styles = group_styles(by_cols, keys)
    horizon = float(horizon_months if horizon_months is not None
                    else _default_horizon(kpis_summary))
    end = format_month(month_date(horizon - 1), lang, short=True)
    for i, key in enumerate(keys):
        row = _select(kpis_summary, by_cols, key).iloc[0]
        color = styles[key]["color"]
        med, lo, hi = float(row["median"]), float(row["lo"]), float(row["hi"])
        n, k = int(row["n_replications"]), int(row["n_reached"])
        reached = text("reached_in", lang, k=k, n=n) if k < n else ""
        if np.isfinite(med):
            ax.barh(i, med, height=0.62, color=color, alpha=0.9, lw=0, zorder=2)
            hi_draw = hi if np.isfinite(hi) else horizon
            lo_draw = lo if np.isfinite(lo) else med
            ax.errorbar(med, i, xerr=[[med - lo_draw], [hi_draw - med]], fmt="none",
                        ecolor="0.1", elinewidth=0.9, capsize=2.5, zorder=3)
            if not np.isfinite(hi):
                ax.plot([horizon], [i], marker=">", color="0.1", ms=4, clip_on=False,
                        zorder=3)
            ax.text(min(med, lo_draw) / 2, i, format_month(month_date(med), lang, short=True),
                    ha="center", va="center", fontsize=6.5, zorder=4,
                    color=_text_color(mcolors.to_rgba(color)))
            if reached:  # below the upper whisker, right of the bar if there is room
                late = med > 0.55 * horizon
                ax.text(horizon * 0.99 if late else med + horizon * 0.015, i + 0.07, reached,
                        ha="right" if late else "left", va="top", fontsize=6, color="0.2",
                        style="italic", zorder=4,
                        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none",
                              "pad": 0.5} if late else None)
        else:
            ax.barh(i, horizon, height=0.62, color="none", edgecolor=color, hatch="////",
                    lw=0.8, zorder=2)
            label = text("not_reached", lang, end=end) + (f"\n({reached})" if reached else "")
            ax.text(horizon * 0.02, i, label, ha="left", va="center", fontsize=6.5,
                    color="0.1", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.2})
    ax.set_yticks(range(len(keys)),
                  [_wrap(group_label(by_cols, k, lang, _short(by_cols)), 28) for k in keys])
    ax.set_ylim(len(keys) - 0.5, -0.5)
    _month_axis(ax, horizon)
    if xlabel:
        ax.set_xlabel(text("month_reached", lang))
    if horizon > DEADLINE_MONTH:
        _deadline_line(ax, DEADLINE_MONTH, lw=1.0)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def cost_vs_coverage(ax: Axes, kpis: pd.DataFrame, lang: Lang = "en", *,
                     by: str | Sequence[str] = "strategy", x: str = "spent_eur_programmes",
                     y: str = "population_coverage_2022_12",
                     table: pd.DataFrame | None = None, legend: bool = True) -> Axes:
    """Cost against coverage: per group the median with 5-95 % whiskers in both directions.

    ``kpis`` holds one row per design point and replication; money is in EUR (shown in
    € million), coverage a share (shown in per cent). ``table`` may pass a precomputed
    :func:`cost_coverage_table`.
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    t = cost_coverage_table(kpis, by_cols, x, y) if table is None else table
    keys = groups_of(t, by_cols)
    styles = group_styles(by_cols, keys)
    hollow = _hollow(by_cols, keys)
    for key in keys:
        r = _select(t, by_cols, key).iloc[0]
        st = styles[key]
        ax.errorbar(r["x_median"], r["y_median"],
                    xerr=[[r["x_median"] - r["x_lo"]], [r["x_hi"] - r["x_median"]]],
                    yerr=[[r["y_median"] - r["y_lo"]], [r["y_hi"] - r["y_median"]]],
                    fmt=st["marker"], color=st["color"],
                    mfc="white" if hollow else st["color"],
                    mec=st["color"] if hollow else "white",
                    ms=7, mew=1.4 if hollow else 0.8, elinewidth=1.0, capsize=2.5,
                    alpha=0.95,
                    label=group_label(by_cols, key, lang, _short(by_cols)))
    for axis, col in ((ax.xaxis, x), (ax.yaxis, y)):
        kind = metric_unit(col)
        axis.set_major_formatter(percent_formatter(lang) if kind == "share" else
                                 number_formatter(lang, 1e-6 if kind == "eur" else 1.0))
        axis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(label_metric(x, lang))
    ax.set_ylabel(label_metric(y, lang))
    ax.grid(color="0.92", lw=0.6)
    ax.margins(0.08)
    if legend:
        handles, labels = _legend_entries(by_cols, keys, lang)
        _bold_headers(ax.legend(handles, labels, loc="best", fontsize=7), labels, by_cols,
                      lang)
    return ax


def _hollow(by: Sequence[str], keys: Sequence[tuple]) -> bool:
    """Open markers when many groups of one column may sit on top of each other."""
    return len(by) == 1 and len(keys) > 4


def _legend_entries(by: Sequence[str], keys: Sequence[tuple], lang: Lang
                    ) -> tuple[list[Any], list[str]]:
    """Marker legend: one entry per group, or for two columns a colour block (first
    column) and a marker block (second column), each under its column name."""
    if len(by) != 2:
        group = _group_handles(by, keys, lang, line=False)
        if _hollow(by, keys):
            for h in group:
                h.set_markerfacecolor("white")
                h.set_markeredgewidth(1.2)
        return list(group), [str(h.get_label()) for h in group]
    styles = group_styles(by, keys)
    blank = Line2D([], [], ls="none")
    handles: list[Any] = [blank]
    labels = [label_column(by[0], lang)]
    for v in _ordered_levels(by[0], [k[0] for k in keys]):
        k = next(k for k in keys if k[0] == v)
        handles.append(Patch(facecolor=styles[k]["color"], lw=0))
        labels.append(label_value(by[0], v, lang, short=True))
    handles.append(blank)
    labels.append(label_column(by[1], lang))
    for v in _ordered_levels(by[1], [k[1] for k in keys]):
        k = next(k for k in keys if k[1] == v)
        handles.append(Line2D([], [], ls="none", marker=styles[k]["marker"], color="0.35",
                              ms=6))
        labels.append(label_value(by[1], v, lang, short=True))
    return handles, labels


def _bold_headers(leg: Legend, labels: list[str], by: Sequence[str], lang: Lang) -> None:
    headers = {label_column(c, lang) for c in by} if len(by) == 2 else set()
    for t, lab in zip(leg.get_texts(), labels, strict=True):
        if lab in headers:
            t.set_fontweight("bold")


# --------------------------------------------------------------------------------------
# Figures: (fig, plotted_data)
# --------------------------------------------------------------------------------------

def _styled() -> AbstractContextManager[None]:
    """Context in which figures take :func:`chart_style`."""
    return plt.rc_context(chart_style())  # type: ignore[arg-type]


def _new_figure(width: float, height: float, note: str, title: str | None = None
                ) -> tuple[Figure, SubFigure]:
    """Figure of ``width`` inches with a body of ``height`` inches and a footer holding
    the ``note`` (how to read the chart). Returns the figure and the body to draw in.

    The note has its own subfigure, so figure legends below the axes never overlap it.
    """
    lines = textwrap.wrap(note, max(40, int(width * 19)))
    foot_h = 0.115 * len(lines) + 0.08
    fig = plt.figure(figsize=(width, height + foot_h), layout="constrained")
    parts = np.ravel(np.asarray(fig.subfigures(2, 1, height_ratios=[height, foot_h]),
                                dtype=object))
    body, foot = parts[0], parts[1]
    foot.text(0.01, 0.5, "\n".join(lines), ha="left", va="center", fontsize=6.5,
              color="0.3", linespacing=1.25)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    return fig, body


def fan_figure(national: pd.DataFrame, by: str | Sequence[str] = "strategy",
               value: str = "population_coverage", lang: Lang = "en",
               title: str | None = None, facet: str | None = None
               ) -> tuple[Figure, pd.DataFrame]:
    """Fan chart of ``value`` per group; with ``facet`` one panel per level of that column
    (e.g. ``facet="funding"``), sharing the y axis.

    Plotted data: :func:`fan_table` (with the facet column first).
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    table = fan_table(national, [*([facet] if facet else []), *by_cols], value)
    facets = groups_of(table, [facet]) if facet else [()]
    keys = groups_of(table, by_cols)
    note = text("note_fan", lang, n=_n_text(table["n_replications"]))
    with _styled():
        # Legend below in two columns: beyond four lines per column it takes more height.
        lines = sum(str(h.get_label()).count("\n") + 1
                    for h in _group_handles(by_cols, keys, lang)) + 3
        extra = 0.16 * max(0, math.ceil(lines / 2) - 4)
        fig, body = _new_figure(WIDTH_FULL if len(facets) > 1 else 6.0, 3.9 + extra, note,
                                title)
        axes = body.subplots(1, len(facets), sharey=True, squeeze=False)[0]
        for i, (ax, fk) in enumerate(zip(axes, facets, strict=True)):
            sub = _select(table, [facet], fk) if facet else table
            _draw_fan(ax, sub, by_cols, value, lang, legend=False,
                      year_step=2 if len(facets) < 3 else 4)
            if facet:
                ax.set_title(f"{_panel_letter(i)}  {label_value(facet, fk[0], lang)}")
            if i:
                ax.set_ylabel("")
        body.legend(handles=[*_group_handles(by_cols, keys, lang), *_band_handles(lang),
                             _deadline_handle(lang)],
                    loc="outside lower center", ncol=2 if len(keys) > 2 else 3,
                    fontsize=7)
    return fig, table


def comparison_label(comparison: str, lang: Lang = "en", factor: str = "strategy") -> str:
    """``"efv - efa"`` -> ``"EfV − EfA"`` (short labels of the levels of ``factor``); text
    without a separator is kept."""
    parts = _comparison_parts(comparison)
    if parts is None:
        return comparison
    a, b = parts
    return (f"{label_value(factor, a, lang, short=True)} {_MINUS} "
            f"{label_value(factor, b, lang, short=True)}")


def _comparison_parts(comparison: str) -> tuple[str, str] | None:
    for sep in (" - ", " − ", " vs. ", " vs "):
        if sep in comparison:
            a, b = comparison.split(sep, 1)
            return a.strip(), b.strip()
    return None


#: At most this many panels side by side; more comparisons wrap into further rows.
MAX_PANELS_PER_ROW = 4


def difference_figure(diffs: pd.DataFrame | Mapping[str, pd.DataFrame], lang: Lang = "en",
                      title: str | None = None, value: str = "population_coverage",
                      ci_level: float = 0.95, n_replications: int | None = None,
                      factor: str = "strategy") -> tuple[Figure, pd.DataFrame]:
    """Paired differences over time, one panel per comparison, shared y axis.

    ``diffs``: one frame with ``date``/``month``, ``mean_diff``, ``lo``, ``hi`` and an
    optional ``comparison`` column (e.g. ``"efv - efa"``), or a mapping comparison ->
    frame. Level keys of ``factor`` in comparison names become short labels and the line
    takes the colour of the first level. Up to :data:`MAX_PANELS_PER_ROW` panels stand in
    one row; more wrap into further rows.

    Plotted data: ``comparison, date, mean_diff, lo, hi``.
    """
    _check_lang(lang)
    if isinstance(diffs, Mapping):
        data = pd.concat([_with_date(d).assign(comparison=c) for c, d in diffs.items()],
                         ignore_index=True)
    else:
        data = _with_date(diffs)
        if "comparison" not in data.columns:
            data = data.assign(comparison="")
    _require(data, ["comparison", "date", "mean_diff", "lo", "hi"], "diffs")
    if data.duplicated(["comparison", "date"]).any():
        other = [c for c in data.columns
                 if c in ("strategy", "funding", "operation", "point") or "." in c]
        raise ValueError("diffs has several rows per comparison and date (one per "
                         f"{other or 'design point'}?): filter to one series per comparison")
    data = data[["comparison", "date", "mean_diff", "lo", "hi"]].reset_index(drop=True)
    comparisons = list(pd.unique(data["comparison"]))
    n_panels = len(comparisons)
    ncol = min(n_panels, MAX_PANELS_PER_ROW)
    nrow = math.ceil(n_panels / ncol)
    n = "?" if n_replications is None else str(n_replications)
    note = text("note_diff", lang, n=n, ci=format_percent(ci_level, lang))
    styles = _KNOWN_STYLES.get(factor, {})
    # Long level labels: each panel names its level only, the y label the reference.
    parts_of = {comp: _comparison_parts(str(comp)) for comp in comparisons}
    refs = {p[1] for p in parts_of.values() if p}
    compact = (len(refs) != 1 or all(len(comparison_label(str(comp), lang, factor)) <= 24
                                      for comp in comparisons))
    body_h = 3.0 if nrow == 1 else 2.55 * nrow
    with _styled():
        fig, body = _new_figure(min(WIDTH_FULL, 2.4 * ncol + 0.8), body_h, note, title)
        grid = body.subplots(nrow, ncol, sharey=True, sharex=nrow > 1, squeeze=False)
        axes = grid.ravel()
        for i, (ax, comp) in enumerate(zip(axes, comparisons, strict=False)):
            parts = _comparison_parts(str(comp))
            color = (styles[parts[0]]["color"]
                     if parts and parts[0] in styles else OKABE_ITO["black"])
            paired_difference(ax, data[data["comparison"] == comp], None, lang, value,
                              color=color, legend=False, ci_level=ci_level,
                              year_step=2 if ncol < 3 else 4)
            if comp and compact:
                ax.set_title(f"{_panel_letter(i)}  {comparison_label(str(comp), lang, factor)}")
            elif comp:
                parts = parts_of[comp]
                level = parts[0] if parts else str(comp)
                ax.set_title(_wrap(f"{_panel_letter(i)}  "
                                   f"{label_value(factor, level, lang, short=True)}", 24),
                             fontsize=8)
            if i % ncol:
                ax.set_ylabel("")
            if nrow > 1:  # years under the lowest panel of each column only
                ax.tick_params(axis="x", labelbottom=i + ncol >= n_panels)
        for ax in axes[n_panels:]:
            ax.set_visible(False)
        if nrow > 1 or not compact:  # one y label for all panels
            for ax in axes:
                ax.set_ylabel("")
            metric = label_metric(value, lang, unit=False)
            metric = metric if lang == "de" else metric.lower()
            unit, _ = _diff_unit(value)
            if compact:
                ylabel = text("diff_of", lang, metric=metric)
                ylabel = f"{ylabel} ({UNITS[unit][lang]})" if unit in UNITS else ylabel
            else:
                ref = label_value(factor, next(iter(refs)), lang, short=True)
                ylabel = text("diff_to_unit", lang, ref=ref, metric=metric,
                              unit=UNITS.get(unit, {}).get(lang, ""))
            body.supylabel(_wrap(ylabel, int(body_h * 12)), fontsize=8.5)
        handles = [Line2D([], [], color="0.25", lw=1.6, label=text("mean_diff", lang)),
                   Patch(facecolor="0.25", alpha=0.22, lw=0,
                         label=text("ci", lang, ci=format_percent(ci_level, lang))),
                   _deadline_handle(lang)]
        body.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=7)
    return fig, data


def small_multiples_figure(by_state: pd.DataFrame, by: str | Sequence[str] = "strategy",
                           value: str = "available_share", lang: Lang = "en",
                           title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """One panel per Land (4 × 4), one line per group. Plotted data: :func:`state_table`."""
    by_cols = _as_list(by)
    table = state_table(by_state, by_cols, value)
    keys = groups_of(table, by_cols)
    note = text("note_small", lang, n=_n_text(table["n_replications"]))
    with _styled():
        fig, body = _new_figure(WIDTH_FULL, 6.6, note, title)
        small_multiples(body, by_state, by_cols, value, lang, table=table)
        body.legend(handles=_group_handles(by_cols, keys, lang), loc="outside lower center",
                    ncol=min(len(keys), 4), fontsize=7)
    return fig, table


def map_figure(regions: pd.DataFrame, level: geo.Level = "land",
               by: str | Sequence[str] = "strategy", value: str = "population_coverage",
               dates: Sequence[object] | None = None, lang: Lang = "en",
               title: str | None = None, vmin: float = 0.0, vmax: float = 1.0
               ) -> tuple[Figure, pd.DataFrame]:
    """Maps of the median share per Land or Kreis: one row per date, one column per group,
    one shared colour scale.

    ``regions`` is ``by_state`` (``level="land"``) or ``by_kreis`` (``level="kreis"``);
    ``dates`` picks the map dates by month (default: Dec 2022 and the last date, or all
    dates if there are at most two). Plotted data: :func:`map_table`.
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    table = map_table(regions, level, by_cols, value, dates)
    keys = groups_of(table, by_cols)
    map_dates = sorted(pd.to_datetime(table["date"].unique()))
    nrow, ncol = len(map_dates), len(keys)
    all_regions = set(geo.region_keys(level))
    missing = any(set(_select(table[pd.to_datetime(table["date"]) == d], by_cols, k)
                      ["region"]) != all_regions for d in map_dates for k in keys)
    note = (text("note_map", lang, n=_n_text(table["n_replications"]))
            + (text("note_kreis", lang) if level == "kreis" else "")
            + (text("note_missing", lang) if missing else ""))
    width = min(WIDTH_FULL, 1.75 * ncol + 1.1)
    panel_w = (width - 1.1) / ncol
    with _styled():
        fig, body = _new_figure(width, panel_w * 1.36 * nrow + 0.4, note, title)
        axes = body.subplots(nrow, ncol, squeeze=False)
        for r, d in enumerate(map_dates):
            for c, key in enumerate(keys):
                ax = axes[r, c]
                sub = _select(table[pd.to_datetime(table["date"]) == d], by_cols, key)
                coverage_map(ax, dict(zip(sub["region"], sub["median"], strict=True)), level,
                             lang, vmin, vmax)
                if r == 0:
                    ax.set_title(_wrap(group_label(by_cols, key, lang, _short(by_cols)), 22),
                                 fontsize=7.5, loc="center")
                if c == 0:
                    ax.text(-0.04, 0.5, format_month(d, lang), transform=ax.transAxes,
                            rotation=90, ha="right", va="center", fontsize=8,
                            fontweight="bold")
        map_colorbar(body, axes, lang, label_metric(value, lang), vmin, vmax)
    return fig, table


def heatmap_figure(df: pd.DataFrame, x: str, y: str, value: str, facet: str | None = None,
                   fmt: CellFormat | None = None, lang: Lang = "en", title: str | None = None,
                   vmin: float | None = None, vmax: float | None = None
                   ) -> tuple[Figure, pd.DataFrame]:
    """Annotated heatmaps of the median of ``value`` over replications per (x, y) cell; with
    ``facet`` one panel per level (e.g. strategy) on one shared colour scale.

    ``months_to_*`` KPIs are shown as the month in which the target was reached (earlier
    = brighter); a cell whose median was not reached is hatched and says so.
    Plotted data: :func:`heatmap_table`.
    """
    _check_lang(lang)
    table = heatmap_table(df, x, y, value, facet)
    months = value.startswith("months_to_")
    kind = "months" if months else metric_unit(value)
    if fmt is None:
        fmt = "percent" if kind == "share" else "month" if months else "number"
    facets = groups_of(table, [facet]) if facet else [()]
    finite = table["median"].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    lo = vmin if vmin is not None else (float(finite.min()) if len(finite) else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if len(finite) else 1.0)
    nx, ny = table[x].nunique(), table[y].nunique()
    panel_w = min(3.2, (WIDTH_FULL - 0.9) / len(facets))
    cmap = SEQUENTIAL_CMAP + "_r" if months else SEQUENTIAL_CMAP
    n = table["n_replications"].dropna()
    note = text("note_heat", lang, n=_n_text(n)) if len(n) else ""
    if months and not table["median"].notna().all():
        note += text("note_hatched", lang)
    with _styled():
        fig, body = _new_figure(panel_w * len(facets) + 0.9,
                                max(2.2, panel_w * 0.8 * ny / max(nx, 1) + 0.9), note, title)
        axes = body.subplots(1, len(facets), squeeze=False, sharey=True)[0]
        for i, (ax, fk) in enumerate(zip(axes, facets, strict=True)):
            sub = _select(table, [facet], fk) if facet else table
            heatmap(ax, sub, x, y, "median", fmt, lang, cmap, lo, hi,
                    missing_text=text("not_reached_cell", lang) if months else None)
            if facet:
                ax.set_title(f"{_panel_letter(i)}  {label_value(facet, fk[0], lang)}")
            if i:
                ax.set_ylabel("")
        label = (text("month_reached_of", lang, target=_target_label(value, lang))
                 if months else label_metric(value, lang))
        map_colorbar(body, axes, lang, _wrap(label, 36), lo, hi, cmap, kind)
    return fig, table


def time_to_target_figure(kpis: pd.DataFrame, by: str | Sequence[str] = "strategy",
                          targets: Sequence[str] = ("months_to_50pct_population_coverage",
                                                    "months_to_90pct_population_coverage"),
                          lang: Lang = "en", title: str | None = None,
                          horizon_months: float | None = None
                          ) -> tuple[Figure, pd.DataFrame]:
    """Time to each target: one panel per KPI, shared groups and time axis.

    Plotted data: :func:`summarise_kpi` of each target, stacked (column ``kpi``).
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    table = pd.concat([summarise_kpi(kpis, by_cols, k) for k in targets], ignore_index=True)
    horizon = horizon_months if horizon_months is not None else _default_horizon(table)
    groups = groups_of(table, by_cols)
    n_groups = len(groups)
    # Rows grow with labels of more than two lines (as time_to_target_bars wraps them).
    lines = max((_wrap(group_label(by_cols, k, lang, _short(by_cols)), 28).count("\n") + 1
                 for k in groups), default=1)
    row_h = 0.42 + 0.11 * max(0, lines - 2)
    lo, hi = _pct_range(lang)
    note = text("note_ttt", lang, n=_n_text(table["n_replications"]), lo=lo, hi=hi)
    with _styled():
        fig, body = _new_figure(WIDTH_FULL, row_h * n_groups + 0.9, note, title)
        axes = body.subplots(1, len(targets), sharey=True, sharex=True, squeeze=False)[0]
        for i, (ax, k) in enumerate(zip(axes, targets, strict=True)):
            time_to_target_bars(ax, table[table["kpi"] == k], lang, by=by_cols,
                                horizon_months=horizon,
                                title=f"{_panel_letter(i)}  {_target_label(k, lang)}",
                                xlabel=False)
            if i:
                ax.tick_params(axis="y", labelleft=False)
        body.supxlabel(text("month_reached", lang), fontsize=8)
    return fig, table


def cost_coverage_figure(kpis: pd.DataFrame, by: str | Sequence[str] = "strategy",
                         x: str = "spent_eur_programmes",
                         y: str = "population_coverage_2022_12", lang: Lang = "en",
                         title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """Cost against coverage per group. Plotted data: :func:`cost_coverage_table`."""
    _check_lang(lang)
    by_cols = _as_list(by)
    table = cost_coverage_table(kpis, by_cols, x, y)
    keys = groups_of(table, by_cols)
    lo, hi = _pct_range(lang)
    note = text("note_cost", lang, n=_n_text(table["n_replications"]), lo=lo, hi=hi)
    with _styled():
        fig, body = _new_figure(5.8, 3.6, note, title)
        ax = body.subplots()
        cost_vs_coverage(ax, kpis, lang, by=by_cols, x=x, y=y, table=table, legend=False)
        handles, labels = _legend_entries(by_cols, keys, lang)
        leg = body.legend(handles, labels, loc="outside right center", fontsize=7)
        _bold_headers(leg, labels, by_cols, lang)
    return fig, table


# --------------------------------------------------------------------------------------
# Land differences, running costs, municipal size classes
# --------------------------------------------------------------------------------------

def state_difference_table(by_state: pd.DataFrame, factor: str, reference: object,
                           value: str = "population_coverage",
                           dates: Sequence[object] | None = None,
                           level: float = 0.95) -> pd.DataFrame:
    """Mean paired difference of ``value`` to the ``reference`` level per Land, level of
    ``factor`` and date, pairing runs on ``replication`` (common random numbers).

    ``by_state`` must hold one row per level, replication, Land and date (filter other
    varying design columns first). ``dates`` picks the dates by month (default: Dec 2022 and
    the last date). Returns columns ``state, state_name, <factor>, date, n_pairs, mean_a,
    mean_b, mean_diff, lo, hi, unpaired_lo, unpaired_hi`` (``a``: the level, ``b``: the
    reference; ``lo``/``hi``: paired t-interval at ``level``), Länder in official key
    order, levels in display order.
    """
    from sim import stats
    df = _with_date(by_state)
    _require(df, ["state", factor, "replication", "date", value], "by_state")
    geo.check_keys(df["state"].unique(), "land")
    if reference not in set(df[factor]):
        raise ValueError(f"reference(={reference!r}) is not a level of {factor!r}: "
                         f"{sorted(map(str, df[factor].unique()))}")
    chosen = _select_dates(df, dates)
    df = df[pd.to_datetime(df["date"]).isin(chosen)]
    _check_one_row(df, [factor], ["state", "date"], "by_state")
    levels = [v for v in _ordered_levels(factor, df[factor].tolist()) if v != reference]
    parts = []
    for lv in levels:
        d = stats.paired_difference(df, factor=factor, a=lv, b=reference, value=value,
                                    keys=["replication", "state", "date"], level=level)
        parts.append(d.assign(**{factor: lv}))
    cols = ["state", "state_name", factor, "date", "n_pairs", "mean_a", "mean_b",
            "mean_diff", "lo", "hi", "unpaired_lo", "unpaired_hi"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["state_name"] = out["state"].map(geo.region_names("land"))
    state_rank = {k: i for i, k in enumerate(geo.region_keys("land"))}
    level_rank = {v: i for i, v in enumerate(levels)}
    out = out.sort_values(["date", factor, "state"],
                          key=lambda c: (c.map(level_rank) if c.name == factor else
                                         c.map(state_rank) if c.name == "state" else c))
    return out[cols].reset_index(drop=True)


def _pp_cell(v: float, lang: Lang) -> str:
    """Percentage points with one decimal; small non-zero values with two (``+0.03``), the
    smallest as ``+<0.01``, so no non-zero difference reads as ``0.0``."""
    if v == 0 or abs(v) >= 0.05:
        return format_number(v, lang, 1, sign=True)
    if abs(v) >= 0.005:
        return format_number(v, lang, 2, sign=True)
    return ("+" if v > 0 else _MINUS) + "<" + format_number(0.01, lang, 2)


def _level_ticks(factor: str, levels: Sequence[Any], lang: Lang, width: int) -> list[str]:
    return [_wrap(label_value(factor, v, lang, short=True), width) for v in levels]


def state_difference_figure(by_state: pd.DataFrame, factor: str, reference: object,
                            value: str = "population_coverage",
                            dates: Sequence[object] | None = None, lang: Lang = "en",
                            title: str | None = None, ci_level: float = 0.95
                            ) -> tuple[Figure, pd.DataFrame]:
    """Per Land (rows, official key order) and level of ``factor`` (columns, reference
    left out): the mean paired difference of ``value`` to ``reference``, one panel per
    date, on one diverging colour scale centred at 0; cells annotated in percentage points,
    bold where the confidence interval excludes 0.

    Plotted data: :func:`state_difference_table` (``state, state_name, <factor>, date,
    n_pairs, mean_diff, lo, hi``).
    """
    _check_lang(lang)
    full = state_difference_table(by_state, factor, reference, value, dates, ci_level)
    table = full[["state", "state_name", factor, "date", "n_pairs", "mean_diff", "lo",
                  "hi"]].reset_index(drop=True)
    if table.empty:
        raise ValueError(f"state_difference_figure: {factor!r} has no level besides "
                         f"{reference!r}")
    levels = [v for v in _ordered_levels(factor, table[factor].tolist())]
    states = geo.region_keys("land")
    names = geo.region_names("land")
    map_dates = sorted(pd.to_datetime(table["date"].unique()))
    scale = 100.0
    biggest = float(np.nanmax(np.abs(table["mean_diff"].to_numpy(dtype=float)))) * scale
    lim = max(0.5, biggest)
    norm = mcolors.Normalize(-lim, lim)  # symmetric: white at 0
    cmap = matplotlib.colormaps[DIVERGING_CMAP].with_extremes(bad="0.93")
    ref_label = label_value(factor, reference, lang, short=True)
    note = text("note_state_diff", lang, ref=ref_label, n=_n_text(table["n_pairs"]),
                ci=format_percent(ci_level, lang))
    n_lv = len(levels)
    cell_w = min(0.62, (WIDTH_FULL - 2.2) / (len(map_dates) * n_lv))
    width = min(WIDTH_FULL, cell_w * n_lv * len(map_dates) + 2.3)
    # Column labels: horizontal if each fits its column in lines of whole words (6.5 pt:
    # about 20 characters per inch), else upright in at most two lines.
    fits = int(cell_w * 19)
    rotate = any(len(w) > fits for v in levels
                 for w in label_value(factor, v, lang, short=True).split())
    label_width = 24 if rotate else fits
    with _styled():
        fig, body = _new_figure(width, 16 * 0.19 + 1.5, note, title)
        axes = body.subplots(1, len(map_dates), sharey=True, squeeze=False)[0]
        for i, (ax, d) in enumerate(zip(axes, map_dates, strict=True)):
            sub = table[pd.to_datetime(table["date"]) == d]
            grid = (sub.pivot(index="state", columns=factor, values="mean_diff")
                    .reindex(index=states, columns=levels).to_numpy(dtype=float) * scale)
            lo = (sub.pivot(index="state", columns=factor, values="lo")
                  .reindex(index=states, columns=levels).to_numpy(dtype=float))
            hi = (sub.pivot(index="state", columns=factor, values="hi")
                  .reindex(index=states, columns=levels).to_numpy(dtype=float))
            ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto",
                      interpolation="nearest")
            for (r, c), v in np.ndenumerate(grid):
                if not np.isfinite(v):
                    continue
                sure = bool(lo[r, c] > 0 or hi[r, c] < 0)
                ax.text(c, r, _pp_cell(v, lang), ha="center",
                        va="center", fontsize=6, fontweight="bold" if sure else "normal",
                        color=_text_color(cmap(norm(v))))
            ax.set_xticks(range(n_lv), _level_ticks(factor, levels, lang, label_width),
                          fontsize=6.5, rotation=90 if rotate else 0,
                          linespacing=1.0 if rotate else 1.1)
            ax.xaxis.tick_top()
            ax.set_yticks(range(len(states)), [names[s] for s in states], fontsize=7)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_xticks(np.arange(n_lv + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(len(states) + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="white", lw=0.8)
            ax.tick_params(which="minor", length=0)
            ax.set_xlabel(f"{_panel_letter(i)}  {format_month(d, lang)}", fontsize=9,
                          fontweight="bold", loc="left")
        metric = label_metric(value, lang, unit=False)
        cb = map_colorbar(body, axes, lang, _wrap(text("diff_to", lang, ref=ref_label,
                                                       metric=metric if lang == "de"
                                                       else metric.lower()), 34),
                          -lim, lim, DIVERGING_CMAP, unit="pp")
        cb.ax.yaxis.set_major_formatter(number_formatter(lang, sign=True))
    return fig, table


def _complete_costs(costs: pd.DataFrame, factor: str, runs: pd.DataFrame | None,
                    with_year: bool, window: tuple[int, int]) -> pd.DataFrame:
    """One row per run (level, replication), payer (and year from the first year with costs,
    at the latest ``window[0]``, to the last of ``window`` and the data): missing
    combinations are 0."""
    payers = list(PAYERS)
    pairs = (runs if runs is not None else costs)[[factor, "replication"]].drop_duplicates()
    idx = pairs.merge(pd.DataFrame({"payer": payers}), how="cross")
    keys = [factor, "replication", "payer"]
    if with_year:
        y = costs["year"].dropna()
        y0 = min(int(y.min()), window[0]) if len(y) else window[0]
        y1 = max(int(y.max()), window[1]) if len(y) else window[1]
        years = pd.DataFrame({"year": range(y0, y1 + 1)})
        idx = idx.merge(years, how="cross")
        keys.append("year")
    summed = costs.groupby(keys, as_index=False)["eur"].sum()
    out = idx.merge(summed, on=keys, how="left")
    out["eur"] = out["eur"].fillna(0.0)
    return out


def running_costs_table(costs: pd.DataFrame, factor: str, years: tuple[int, int] = (2023, 2030),
                        runs: pd.DataFrame | None = None,
                        band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Running costs per level of ``factor``: by payer over ``years`` and per year.

    ``costs``: one row per run, payer (``land``, ``municipal``, ``bund``, ``pool``) and year
    (``<factor>, replication, year, payer, eur``), e.g. the sweep's ``running_costs``
    table; without a ``year`` column the rows are taken as totals over the whole horizon
    (then ``years`` is ignored and there are no yearly rows). ``runs`` (``<factor>,
    replication``) lists every run, so a run without costs counts as 0.

    Returns long columns ``panel`` (``total``: sum over the years per payer, payer
    ``total`` the sum of all; ``year``: yearly total of all payers), ``<factor>, payer,
    year, n_replications, median, q05, q95`` (EUR; ``year`` NaN in the ``total`` panel).
    """
    with_year = "year" in costs.columns
    _require(costs, [factor, "replication", "payer", "eur", *(["year"] if with_year else [])],
             "running costs")
    unknown = set(costs["payer"]) - set(PAYERS)
    if unknown:
        raise ValueError(f"running costs: payer(s) {sorted(unknown)} not among {list(PAYERS)}")
    full = _complete_costs(costs, factor, runs, with_year, years)
    _check_one_row(full, [factor], ["payer", *(["year"] if with_year else [])],
                   "running costs")
    span = full[full["year"].between(*years)] if with_year else full
    per_run = span.groupby([factor, "replication", "payer"], as_index=False)["eur"].sum()
    total = per_run.groupby([factor, "replication"], as_index=False)["eur"].sum()
    parts = [per_run, total.assign(payer="total")]
    lo, hi = band

    def summary(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        g = df.groupby(keys, sort=False)["eur"]
        return pd.DataFrame({"n_replications": g.size(), "median": g.median(),
                             "q05": g.quantile(lo), "q95": g.quantile(hi)}).reset_index()

    tot = summary(pd.concat(parts, ignore_index=True), [factor, "payer"]).assign(
        panel="total", year=np.nan)
    out = [tot]
    if with_year:
        yearly = full.groupby([factor, "replication", "year"], as_index=False)["eur"].sum()
        out.append(summary(yearly, [factor, "year"]).assign(panel="year", payer="total"))
    table = pd.concat(out, ignore_index=True)
    levels = _ordered_levels(factor, table[factor].tolist())
    rank = {v: i for i, v in enumerate(levels)}
    prank = {p: i for i, p in enumerate([*PAYERS, "total"])}
    table = table.assign(_l=table[factor].map(rank), _p=table["payer"].map(prank),
                         _y=table["year"].fillna(-1), _panel=table["panel"] == "year")
    table = table.sort_values(["_panel", "_l", "_p", "_y"]).drop(
        columns=["_l", "_p", "_y", "_panel"])
    return table[["panel", factor, "payer", "year", "n_replications", "median", "q05",
                  "q95"]].reset_index(drop=True)


def running_costs_figure(costs: pd.DataFrame, factor: str, years: tuple[int, int] = (2023, 2030),
                         runs: pd.DataFrame | None = None, lang: Lang = "en",
                         title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """a: running costs over ``years`` per level of ``factor``, stacked by payer (median of
    each payer's sum) with the median total and its 5-95 % range; b: the yearly total per
    level over time (median line and band). Without yearly data only panel a, over the
    whole horizon. Plotted data: :func:`running_costs_table`.
    """
    _check_lang(lang)
    table = running_costs_table(costs, factor, years, runs)
    tot = table[table["panel"] == "total"]
    yearly = table[table["panel"] == "year"]
    levels = _ordered_levels(factor, tot[factor].tolist())
    keys = [(v,) for v in levels]
    styles = group_styles([factor], keys)
    lo, hi = _pct_range(lang)
    y0, y1 = years
    with_year = len(yearly) > 0
    n = _n_text(tot["n_replications"])
    note = (text("note_costs", lang, n=n, y0=y0, y1=y1, lo=lo, hi=hi) if with_year
            else text("note_costs_kpi", lang, n=n, lo=lo, hi=hi))
    mio = 1e-6
    with _styled():
        fig, body = _new_figure(WIDTH_FULL, max(3.0, 0.34 * len(levels) + 1.6), note, title)
        if with_year:
            ax, ax2 = body.subplots(1, 2, width_ratios=[1.15, 1])
        else:
            ax, ax2 = body.subplots(), None
        for i, lv in enumerate(levels):
            left = 0.0
            for payer, (en, de, color, hatch) in PAYERS.items():
                row = tot[(tot[factor] == lv) & (tot["payer"] == payer)]
                v = float(row["median"].iloc[0]) * mio if len(row) else 0.0
                ax.barh(i, v, left=left, height=0.62, color=color, hatch=hatch,
                        edgecolor="white", lw=0.4, zorder=2,
                        label=(de if lang == "de" else en) if i == 0 else None)
                left += v
            t = tot[(tot[factor] == lv) & (tot["payer"] == "total")].iloc[0]
            med, q05, q95 = (float(t[c]) * mio for c in ("median", "q05", "q95"))
            ax.errorbar(med, i, xerr=[[med - q05], [q95 - med]], fmt="o", color="black",
                        ms=3.5, mfc="white", mew=0.9, elinewidth=0.9, capsize=2.5, zorder=3)
        ax.set_yticks(range(len(levels)), _level_ticks(factor, levels, lang, 26), fontsize=7)
        ax.set_ylim(len(levels) - 0.5, -0.5)
        ax.xaxis.set_major_formatter(number_formatter(lang))
        ax.set_xlabel(text("costs_total", lang, y0=y0, y1=y1) if with_year
                      else text("costs_total_all", lang))
        ax.grid(axis="x", color="0.92", lw=0.6)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_title(f"{_panel_letter(0)}  {text('costs_sum', lang, y0=y0, y1=y1)}"
                     if with_year else text("payer", lang))
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], ls="none", marker="o", color="black", mfc="white",
                              ms=3.5))
        labels.append(text("total_range", lang, lo=lo, hi=hi))
        if ax2 is not None:
            for lv in levels:
                st = styles[(lv,)]
                sub = yearly[yearly[factor] == lv].sort_values("year")
                ax2.fill_between(sub["year"], sub["q05"] * mio, sub["q95"] * mio,
                                 color=st["color"], alpha=0.12, lw=0)
                ax2.plot(sub["year"], sub["median"] * mio, color=st["color"],
                         ls=st["linestyle"], marker=st["marker"], ms=3.5, mfc="white",
                         mew=0.9, lw=1.4,
                         label=label_value(factor, lv, lang, short=True))
            ax2.axvline(y0 - 0.5, color="0.35", lw=0.8, ls=":", zorder=1.5)
            ax2.yaxis.set_major_formatter(number_formatter(lang))
            ax2.xaxis.set_major_locator(MultipleLocator(2))
            ax2.xaxis.set_minor_locator(MultipleLocator(1))
            ax2.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: str(round(v))))
            ax2.set_ylim(bottom=0)
            ax2.set_ylabel(text("costs_year", lang))
            ax2.grid(axis="y", color="0.92", lw=0.6)
            ax2.set_title(f"{_panel_letter(1)}  {text('costs_per_year', lang)}")
            h2, l2 = ax2.get_legend_handles_labels()
            h2.append(Line2D([], [], color="0.35", lw=0.8, ls=":"))
            l2.append(text("phases_start", lang))
            leg = ax2.legend(h2, l2, loc="lower right", fontsize=6.5, handlelength=2.6,
                             title=label_column(factor, lang), title_fontsize=6.5,
                             alignment="left")
            leg.get_title().set_fontweight("bold")
        body.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=7)
    return fig, table


def _marker_size(marker: str, size: float) -> float:
    """Stars look smaller than other markers of the same size."""
    return size * 1.4 if marker == "*" else size


def size_class_table(by_size: pd.DataFrame, by: str | Sequence[str], value: str = "onboarded_share",
                     dates: Sequence[object] | None = None,
                     band: tuple[float, float] = OUTER_BAND) -> pd.DataFrame:
    """Median and central interval of ``value`` per municipal size class, group and date.

    Size classes without administrations (``n_admins`` 0) are left out. ``dates`` picks
    the dates by month (default: Dec 2022 and the last date). Returns columns ``*by,
    date, size_class, n_replications, median, q05, q95``, size classes from small to large.
    """
    by_cols = _as_list(by)
    df = _with_date(by_size)
    _require(df, [*by_cols, "replication", "date", "size_class", value], "by_size_class")
    unknown = set(df["size_class"]) - set(SIZE_CLASSES)
    if unknown:
        raise ValueError(f"by_size_class: size class(es) {sorted(unknown)} not among "
                         f"{list(SIZE_CLASSES)}")
    if "n_admins" in df.columns:
        df = df[df["n_admins"] > 0]
    chosen = _select_dates(df, dates)
    df = df[pd.to_datetime(df["date"]).isin(chosen)]
    _check_one_row(df, by_cols, ["size_class", "date"], "by_size_class")
    g = df.groupby([*by_cols, "date", "size_class"], sort=False)[value]
    out = pd.DataFrame({"n_replications": g.size(), "median": g.median(),
                        "q05": g.quantile(band[0]), "q95": g.quantile(band[1])}).reset_index()
    keys = groups_of(out, by_cols)
    grank = {k: i for i, k in enumerate(keys)}
    crank = {c: i for i, c in enumerate(SIZE_CLASSES)}
    out["_g"] = [grank[tuple(r)] for r in out[by_cols].itertuples(index=False)]
    out["_c"] = out["size_class"].map(crank)
    out = out.sort_values(["date", "_g", "_c"]).drop(columns=["_g", "_c"])
    return out.reset_index(drop=True)


def size_class_figure(by_size: pd.DataFrame, by: str | Sequence[str] = "strategy",
                      value: str = "onboarded_share", dates: Sequence[object] | None = None,
                      lang: Lang = "en", title: str | None = None
                      ) -> tuple[Figure, pd.DataFrame]:
    """Dot plot of ``value`` per municipal size class (x), one dot with 5-95 % whiskers per
    group side by side, one panel per date (rows). Plotted data: :func:`size_class_table`.
    """
    _check_lang(lang)
    by_cols = _as_list(by)
    table = size_class_table(by_size, by_cols, value, dates)
    keys = groups_of(table, by_cols)
    styles = group_styles(by_cols, keys)
    classes = [c for c in SIZE_CLASSES if c in set(table["size_class"])]
    map_dates = sorted(pd.to_datetime(table["date"].unique()))
    lo, hi = _pct_range(lang)
    note = text("note_size", lang, n=_n_text(table["n_replications"]), lo=lo, hi=hi)
    step = min(0.8 / max(len(keys), 1), 0.2)
    offsets = (np.arange(len(keys)) - (len(keys) - 1) / 2) * step
    with _styled():
        fig, body = _new_figure(WIDTH_FULL, 2.3 * len(map_dates) + 0.4, note, title)
        axes = body.subplots(len(map_dates), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
        for i, (ax, d) in enumerate(zip(axes, map_dates, strict=True)):
            sub = table[pd.to_datetime(table["date"]) == d]
            for k, off in zip(keys, offsets, strict=True):
                st = styles[k]
                g = _select(sub, by_cols, k).set_index("size_class").reindex(classes)
                x = np.arange(len(classes)) + off
                ax.plot(x, g["median"], color=st["color"], ls=st["linestyle"], lw=0.7,
                        alpha=0.6, zorder=2)
                ax.errorbar(x, g["median"], yerr=[g["median"] - g["q05"],
                                                  g["q95"] - g["median"]],
                            fmt=st["marker"], color=st["color"], mfc=st["color"], mec="white",
                            mew=0.5, ms=_marker_size(st["marker"], 4.5), elinewidth=0.8,
                            capsize=0, zorder=3)
            _share_axis(ax, lang, None)
            ax.set_xlim(-0.55, len(classes) - 0.45)
            ax.set_xticks(range(len(classes)),
                          [SIZE_CLASSES[c][1 if lang == "de" else 0] for c in classes])
            for j in range(1, len(classes)):
                ax.axvline(j - 0.5, color="0.9", lw=0.6, zorder=0)
            ax.set_title(f"{_panel_letter(i)}  {format_month(d, lang)}")
        axes[-1].set_xlabel(text("size_axis", lang))
        body.supylabel(label_metric(value, lang), fontsize=9)
        handles = [Line2D([], [], color=styles[k]["color"], ls=styles[k]["linestyle"],
                          lw=0.9, marker=styles[k]["marker"],
                          ms=_marker_size(styles[k]["marker"], 5), mfc=styles[k]["color"],
                          mec="white", mew=0.5,
                          label=_wrap(group_label(by_cols, k, lang, _short(by_cols)),
                                      LEGEND_WIDTH))
                   for k in keys]
        body.legend(handles=handles, loc="outside lower center",
                    ncol=min(len(keys), 2 if len(keys) > 4 else 4), fontsize=7,
                    handlelength=3)
    return fig, table


# --------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------

def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, str):
            out[key] = v
        else:
            out[key] = json.dumps(v, default=str, ensure_ascii=False)
    return out


def provenance_lines(name: str, provenance: Mapping[str, Any]) -> list[str]:
    """The ``# key: value`` header of a sidecar CSV (nested dicts as dotted keys)."""
    meta = {"figure": name, "files": f"{name}.png, {name}.svg, {name}.pdf",
            "read_with": f"pandas.read_csv('{name}.csv', comment='#')",
            **_flatten(provenance)}
    if not any(k == "packages" or k.startswith("packages.") for k in meta):
        meta.update(_flatten({"packages": package_versions()}))
    lines = []
    for k, v in meta.items():
        v1 = " ".join(str(v).split())  # one line per key
        lines.append(f"# {k}: {v1}")
    return lines


def save_figure(fig: Figure, out_dir: str | Path, name: str, data: pd.DataFrame,
                provenance: Mapping[str, Any]) -> list[Path]:
    """Write ``name.png`` (300 dpi), ``name.svg``, ``name.pdf`` and ``name.csv``; close
    ``fig``.

    The CSV holds exactly the plotted data (``data``), preceded by provenance lines
    ``# key: value``: figure name, how to read it, everything in ``provenance``
    (configuration hash, seeds, ...; nested dicts as dotted keys, other non-strings as
    JSON) and package versions unless ``provenance`` has ``packages``. Read it back with
    ``pandas.read_csv(path, comment="#")``; for that reason no text cell may contain ``#``.
    Files carry no creation dates, so the same inputs give the same SVG and PDF.

    Returns
    -------
    list of Path
        The four files, in the order png, svg, pdf, csv.
    """
    if not name or any(c in name for c in "/\\"):
        raise ValueError(f"name(={name!r}) must be a plain file stem")
    for col in data.columns:
        if "#" in str(col):
            raise ValueError(f"column name {col!r} contains '#', which the CSV reader takes "
                             "for a comment")
        values = data[col]
        if (not pd.api.types.is_numeric_dtype(values)
                and not pd.api.types.is_datetime64_any_dtype(values)
                and values.astype(str).str.contains("#", regex=False).any()):
            raise ValueError(f"column {col!r} has text containing '#', which the CSV reader "
                             "takes for a comment")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.{ext}" for ext in ("png", "svg", "pdf", "csv")]
    try:
        with plt.rc_context({"svg.hashsalt": "ozg-sim", "pdf.fonttype": 42}):
            fig.savefig(paths[0], dpi=PNG_DPI, metadata={"Software": None})
            fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
            fig.savefig(paths[2], metadata={"CreationDate": None, "Creator": None,
                                            "Producer": None})
    finally:
        plt.close(fig)
    with open(paths[3], "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(provenance_lines(name, provenance)) + "\n")
        data.to_csv(fh, index=False, date_format="%Y-%m-%d", lineterminator="\n")
    return paths


__all__ = [
    "COLUMN_LABELS", "DIVERGING_CMAP", "FUNDING_ORDER", "FUNDING_STYLES", "LANGS", "METRICS",
    "OPERATION_ORDER", "OPERATION_STYLES", "PAYERS", "PNG_DPI", "SEQUENTIAL_CMAP",
    "SIZE_CLASSES", "STRATEGY_ORDER", "STRATEGY_STYLES", "Lang", "chart_style",
    "comparison_label",
    "cost_coverage_figure", "cost_coverage_table", "cost_vs_coverage", "coverage_map",
    "difference_figure", "fan", "fan_figure", "fan_table", "format_month", "format_number",
    "format_percent", "group_label", "group_styles", "groups_of", "heatmap",
    "heatmap_figure", "heatmap_table", "label_column", "label_metric", "label_value",
    "level_order", "map_colorbar", "map_figure", "map_table", "metric_unit", "month_date",
    "number_formatter", "package_versions", "paired_difference", "percent_formatter",
    "provenance_lines", "running_costs_figure", "running_costs_table", "save_figure",
    "size_class_figure", "size_class_table", "small_multiples", "small_multiples_figure",
    "state_difference_figure", "state_difference_table", "state_table", "summarise_kpi",
    "text", "time_to_target_bars", "time_to_target_figure",
]
