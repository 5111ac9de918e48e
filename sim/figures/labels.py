"""Every word of the charts in English and German, and the number and month formats.

- Levels of design columns (``efa`` -> ``EfA (one for all)``): :func:`label_value`, from
  the level table :data:`sim.figures.levels.LEVELS`.
- Parameters and design columns (``staffing.dev_fte_factor`` -> ``Developer staff
  (× baseline)``): :func:`param_label` and :func:`label_column`, from :data:`PARAM_LABELS`
  (also the calibration report's names), read from ``conf/declarations.yaml``.
- Metrics with their units (:func:`label_metric`), fixed phrases (:func:`text`), the words
  of the calibration's series and scopes (:data:`SERIES_LABELS`, :data:`SCOPE_LABELS`).
- Numbers, per cents and months: their home is :mod:`sim.figures.formats` (re-exported
  here); ``lang="de"`` gives decimal commas and German month names.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.calendar import OZG_DEADLINE_KEY
from sim.declarations import Names, declarations
from sim.figures.formats import (
    LANGS,
    MINUS,
    MONTHS,
    MONTHS_SHORT,
    NBSP,
    Lang,
    check_lang,
    decimals_for,
    format_month,
    format_number,
    format_percent,
    number_formatter,
    percent_formatter,
)
from sim.figures.levels import LEVELS
from sim.figures.style import OUTER_BAND

# --------------------------------------------------------------------------------------
# Levels of design columns (from the level table)
# --------------------------------------------------------------------------------------

#: Factor -> language -> level -> long label.
VALUE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    factor: {"en": {k: lv.en for k, lv in table.items()},
             "de": {k: lv.de for k, lv in table.items()}}
    for factor, table in LEVELS.items()}
#: Factor -> language -> level -> short label.
SHORT_LABELS: dict[str, dict[str, dict[str, str]]] = {
    factor: {"en": {k: lv.short_en for k, lv in table.items()},
             "de": {k: lv.short_de for k, lv in table.items()}}
    for factor, table in LEVELS.items()}

# --------------------------------------------------------------------------------------
# Parameters and design columns
# --------------------------------------------------------------------------------------


#: Readable name of a parameter key or design column, unit in brackets, as it reads inside
#: a sentence; :func:`param_label` with ``sentence=True`` capitalises the first letter (axis
#: labels, the calibration report). ``short_en``/``short_de``: a shorter name for small
#: panels. Declared with the key in ``conf/declarations.yaml`` (:mod:`sim.declarations`).
ParamLabel = Names

#: Readable names of parameter keys (dotted config keys) and design columns, from their
#: one home, the declarations (uncertainties, levers, other columns); other keys are shown
#: as they are. One table for axis labels, the robustness panels and the calibration report.
PARAM_LABELS: dict[str, ParamLabel] = declarations().names()
#: The names of a list element's key with its index as ``*`` (``{item}`` names the
#: element): every element of a declared list takes them (:func:`param_label`).
_LIST_LABELS: dict[str, ParamLabel] = {}
for _key, _names in PARAM_LABELS.items():
    if "{item}" in _names.en and any(p.isdigit() for p in _key.split(".")):
        _LIST_LABELS.setdefault(".".join("*" if p.isdigit() else p for p in _key.split(".")),
                                _names)
#: Readable names of funding programmes (``{item}`` of ``funding.programmes.*`` labels);
#: other programmes keep their name.
PROGRAMME_LABELS: dict[str, tuple[str, str]] = {
    "konjunkturpaket_efa": ("EfA stimulus", "Konjunkturpaket EfA"),
    "konjunkturpaket_bund": ("federal stimulus", "Konjunkturpaket Bund"),
    "konjunkturpaket": ("2020 stimulus", "Konjunkturpaket 2020"),
    "bund_2023": ("federal 2023", "Bund 2023"),
    "itplr_digitalisierungsbudget": ("IT-PLR budget", "IT-PLR-Budget"),
}

# --------------------------------------------------------------------------------------
# Metrics, units, phrases, months
# --------------------------------------------------------------------------------------

#: Metric (a column of the tables or a key figure) -> (English, German, unit). Unit
#: "share": stored 0-1, shown in per cent. Not ``sim.calibration.targets.METRICS``
#: (official metrics -> series).
METRIC_LABELS: dict[str, tuple[str, str, str]] = {
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
    f"population_coverage_{OZG_DEADLINE_KEY}": ("Population coverage, end of 2022",
                                                "Bevölkerungsabdeckung Ende 2022", "share"),
    f"nationwide_share_{OZG_DEADLINE_KEY}": ("Services online nationwide, end of 2022",
                                             "Leistungen flächendeckend online Ende 2022",
                                             "share"),
    f"online_anywhere_{OZG_DEADLINE_KEY}": ("Services online somewhere, end of 2022",
                                            "Leistungen irgendwo online Ende 2022", "count"),
    f"nationwide_reported_{OZG_DEADLINE_KEY}": (
        "Services nationwide as the dashboard counts, end of 2022",
        "Flächendeckende Leistungen laut Dashboard Ende 2022", "count"),
    f"nationwide_{OZG_DEADLINE_KEY}": ("Services online nationwide, end of 2022",
                                       "Leistungen flächendeckend online Ende 2022", "count"),
    "spent_eur_programmes": ("Programme spending", "Ausgaben der Förderprogramme", "eur"),
    "cost_per_coverage_point_eur": ("Programme spending per coverage point",
                                    "Förderausgaben je Prozentpunkt Abdeckung", "eur"),
    "onboarded_share": ("Municipal services connected", "Angebundene kommunale Leistungen",
                        "share"),
    "running_costs_eur": ("Running costs", "Betriebskosten", "eur"),
    "nationwide_reported": ("Services nationwide as the dashboard counts",
                            "Flächendeckende Leistungen laut Dashboard", "count"),
}
#: Municipal size classes (inhabitants of the administration) as the tables name them,
#: with their labels (en, de).
SIZE_CLASSES: dict[str, tuple[str, str]] = {
    "<5k": ("<5k", "<5 Tsd."), "5k-10k": ("5k–10k", "5–10 Tsd."),
    "10k-20k": ("10k–20k", "10–20 Tsd."), "20k-50k": ("20k–50k", "20–50 Tsd."),
    "50k-100k": ("50k–100k", "50–100 Tsd."), "100k-500k": ("100k–500k", "100–500 Tsd."),
    ">=500k": ("≥500k", "≥500 Tsd."),
}
#: Unit kind -> its words in axis labels.
UNITS: dict[str, dict[str, str]] = {
    "share": {"en": "%", "de": "%"},
    "pp": {"en": "percentage points", "de": "Prozentpunkte"},
    "count": {"en": "number", "de": "Anzahl"},
    "eur": {"en": "€ million", "de": "Mio. €"},
    "months": {"en": "months", "de": "Monate"},
}
#: Fixed phrases of the charts (:func:`text`).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "deadline": "OZG deadline 31 Dec 2022",
        "inner": "central 50% of replications",
        "outer": "central 90% of replications",
        "draws_posterior": ("Calibrated parameters drawn per replication from their "
                            "posterior ({k} particles), the same draw for every scenario: the "
                            "spread across replications is parameter uncertainty and chance."),
        "draws_point": ("Calibrated parameters at their point estimate in every replication: "
                        "the spread across replications is chance alone."),
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
        # the rollout timeline (run: events; experiment: by_topic)
        "title_timeline_experiment": "When half of each topic field's services were online",
        "title_timeline_level": "Rollout timeline: {level}",
        "tl_panel_topic": "a  Topic fields: month by which half of the services reached a step",
        "tl_panel_state": ("b  Länder: month by which half of the municipal services reached "
                           "a step"),
        "tl_built": "built: online somewhere",
        "tl_published": "published for reuse (EfA)",
        "tl_reused": "reused by another Land",
        "tl_connected": "a first municipality connected",
        "tl_connected_first": "a first municipality of the Land connected",
        "tl_connected_all": "all municipalities of the Land connected",
        "tl_online_anywhere": "a  Online somewhere",
        "tl_nationwide": "b  Nationwide",
        "note_timeline": ("Markers: median over {n} replications of the month by which half "
                          "of a lane's services had reached the step; lines: {lo}–{hi} range "
                          "(arrow: not reached by the horizon in the upper runs); no marker: "
                          "the median run did not get half there. Published and reused count "
                          "the state and municipal services (a federal one is built once for "
                          "all), connected the municipal ones. Dotted line: OZG deadline."),
        "note_timeline_experiment": (
            "Markers: median over {n} replications of the month by whose end half of a "
            "topic field's services were online somewhere (a) or nationwide (b); lines: "
            "{lo}–{hi} range (arrow: not reached by the horizon in the upper runs); no "
            "marker: the median run did not get half there. Experiment folders keep counts "
            "per topic field, not the events: publishing, reuse and connection steps are in "
            "a run's timeline. Dotted line: OZG deadline."),
        "month_of_step": "Month (ticks at January)",
        "not_reached": "median not reached by {end}",
        "not_reached_cell": "not\nreached",
        "reached_in": "reached in {k} of {n} replications",
        "robust_diff_deadline": "difference to {ref} at 31 Dec 2022 (percentage points)",
        "robust_diff": "difference to {ref} (percentage points)",
        "note_robust": ("Each dot: one hypercube point, mean over replications, paired with "
                        "{ref} at the same point, other lever settings and replication; "
                        "boxes: median, quartiles, 1.5 IQR."),
        "title_cost_coverage": "Programme money and population coverage at 31 Dec 2022",
        "title_running_costs": "Running costs of reused services by payer",
        "title_size_classes": "Municipal services connected, by size of the administration",
        "title_morris": "Morris screening: {group}",
        "title_sobol": "Sobol indices: {group}",
        "group_calibration": "calibration targets ({spec})",
        "group_key_figures": "key figures",
        "group_observables": "observables",
        "morris_x": "μ* / largest μ* on the output",
        "morris_y": "σ / largest μ* on the output",
        "morris_key": "Parameters with μ* at least {thr} of the largest on an output",
        "note_morris": ("Each dot: one of {k} parameters, Morris elementary effects from {r} "
                        "trajectories, each design point the mean over replications (R = {n}, "
                        "common random numbers). μ*: mean absolute effect of moving a parameter "
                        "over its range; σ: their standard deviation. Numbered (blue): μ* at "
                        "least {thr} of the largest μ* on the output (dashed line); such a "
                        "parameter "
                        "survives the screening. Above the dotted diagonal (σ > μ*) a "
                        "parameter's effect depends on the others."),
        "note_sobol": ("Bars: total-order index ST (light) and first-order index S1 (dark) "
                       "with bootstrap 95% intervals; Sobol design with N = {n_base} "
                       "({points} points), each design point the mean over replications (R = "
                       "{n}, "
                       "common random numbers); parameters sorted by their largest ST. "
                       "Dashed line: ST = {st}, from which a parameter must be calibrated or "
                       "sourced. "
                       "Dotted grey line: share of the output's variance that is replication "
                       "noise (an ST of this order can be noise)."),
        "legend_st": "total order ST",
        "legend_s1": "first order S1",
        "sobol_x": "share of variance",
        # regret (recipe ``regret``)
        "title_regret": "Which choice is robust? Regret of each choice across the explored "
                        "uncertainty",
        "regret_coverage": "Regret in population coverage at {month} (percentage points)",
        "regret_months": "Regret in months to {target} (months later than the best)",
        "regret_median": "median regret",
        "regret_q90": "90th percentile",
        "regret_max": "maximum regret (ranks the rows)",
        "regret_rank_median": "rank by median",
        "note_regret": ("Regret of a choice in one of {n} hypercube points (scenarios): the "
                        "best choice's outcome there minus its own, each the mean over {r} "
                        "replications on common random numbers. Rows ranked by maximum regret "
                        "(minimax regret, number before the name); number to the right: rank "
                        "by median regret. A choice ranked higher by its maximum than by its "
                        "median is robust, not only good on the median."),
        "note_regret_censored": ("Runs that never reached the target count at {end} "
                                 "({k} scenario-choice pairs): their regret is a lower "
                                 "bound."),
        # exploration (H1, issue 14: declared uncertainties, paired lever settings)
        "note_robust_strongest": ("Right: the {k} of {n} explored parameters whose values "
                                  "go most with a difference (largest rank correlation)."),
        "note_lhs_posterior": ("Calibrated parameters: one particle of the posterior "
                               "'{name}' per hypercube point, drawn jointly; the others over "
                               "their declared ranges."),
        "regret_outcome_coverage": "coverage",
        "regret_outcome_months": "time to the target",
        "regret_choice": ("For {what}, {robust} is the robust choice (least maximum regret), "
                          "{median} the best on the median."),
        "regret_choice_same": ("For {what}, {robust} is both the robust choice (least maximum "
                               "regret) and the best on the median."),
        "regret_choice_tied": ("For {what}, the choices hardly differ: {k_robust} of the {n} "
                               "tie for the least maximum regret, {k_median} for the best "
                               "median."),
    },
    "de": {
        "deadline": "OZG-Frist 31.12.2022",
        "inner": "mittlere 50 % der Replikationen",
        "outer": "mittlere 90 % der Replikationen",
        "draws_posterior": ("Kalibrierte Parameter je Replikation aus ihrer A-posteriori-"
                            "Verteilung gezogen ({k} Partikel), für jedes Szenario dieselbe "
                            "Ziehung: Die Streuung über die Replikationen ist "
                            "Parameterunsicherheit und Zufall."),
        "draws_point": ("Kalibrierte Parameter in jeder Replikation auf ihrem Punktschätzer: "
                        "Die Streuung über die Replikationen ist nur Zufall."),
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
        "title_timeline_experiment": "Wann die Hälfte der Leistungen jedes Themenfelds online war",
        "title_timeline_level": "Zeitleiste der Umsetzung: {level}",
        "tl_panel_topic": ("a  Themenfelder: Monat, bis zu dem die Hälfte der Leistungen einen "
                           "Schritt erreichte"),
        "tl_panel_state": ("b  Länder: Monat, bis zu dem die Hälfte der kommunalen Leistungen "
                           "einen Schritt erreichte"),
        "tl_built": "gebaut: irgendwo online",
        "tl_published": "zur Nachnutzung bereitgestellt (EfA)",
        "tl_reused": "von einem anderen Land nachgenutzt",
        "tl_connected": "eine erste Kommune angebunden",
        "tl_connected_first": "eine erste Kommune des Landes angebunden",
        "tl_connected_all": "alle Kommunen des Landes angebunden",
        "tl_online_anywhere": "a  Irgendwo online",
        "tl_nationwide": "b  Flächendeckend",
        "note_timeline": ("Punkte: Median aus {n} Replikationen des Monats, bis zu dem die "
                          "Hälfte der Leistungen einer Zeile den Schritt erreicht hatte; "
                          "Linien: {lo}–{hi}-Spanne (Pfeil: in den oberen Läufen bis zum "
                          "Horizont nicht erreicht); kein Punkt: der Median-Lauf kam nicht auf "
                          "die Hälfte. Bereitgestellt und nachgenutzt zählen die Landes- und "
                          "kommunalen Leistungen (eine Bundesleistung wird einmal für alle "
                          "gebaut), angebunden die kommunalen. Gepunktete Linie: OZG-Frist."),
        "note_timeline_experiment": (
            "Punkte: Median aus {n} Replikationen des Monats, an dessen Ende die Hälfte der "
            "Leistungen eines Themenfelds irgendwo (a) bzw. flächendeckend (b) online war; "
            "Linien: {lo}–{hi}-Spanne (Pfeil: in den oberen Läufen bis zum Horizont nicht "
            "erreicht); kein Punkt: der Median-Lauf kam nicht auf die Hälfte. "
            "Experimentordner halten Zählungen je Themenfeld, nicht die Ereignisse: "
            "Bereitstellung, Nachnutzung und Anbindung zeigt die Zeitleiste eines Laufs. "
            "Gepunktete Linie: OZG-Frist."),
        "month_of_step": "Monat (Striche im Januar)",
        "not_reached": "Median bis {end} nicht erreicht",
        "not_reached_cell": "nicht\nerreicht",
        "reached_in": "in {k} von {n} Replikationen erreicht",
        "robust_diff_deadline": "Differenz zu {ref} am 31.12.2022 (Prozentpunkte)",
        "robust_diff": "Differenz zu {ref} (Prozentpunkte)",
        "note_robust": ("Jeder Punkt: ein Punkt des Latin Hypercube, Mittel über die "
                        "Replikationen, gepaart mit {ref} am selben Punkt, bei denselben "
                        "übrigen Hebeln und derselben Replikation; Boxen: Median, Quartile, "
                        "1,5 IQR."),
        "title_cost_coverage": "Programmmittel und Bevölkerungsabdeckung zum 31.12.2022",
        "title_running_costs": "Betriebskosten nachgenutzter Leistungen nach Kostenträger",
        "title_size_classes": "Angebundene kommunale Leistungen nach Größe der Verwaltung",
        "title_morris": "Morris-Screening: {group}",
        "title_sobol": "Sobol-Indizes: {group}",
        "group_calibration": "Kalibrierungsziele ({spec})",
        "group_key_figures": "Kennzahlen",
        "group_observables": "Beobachtungsgrößen",
        "morris_x": "μ* / größtes μ* der Größe",
        "morris_y": "σ / größtes μ* der Größe",
        "morris_key": "Parameter mit μ* ab {thr} des größten einer Größe",
        "note_morris": ("Jeder Punkt: einer von {k} Parametern, Morris-Elementareffekte aus {r} "
                        "Trajektorien, jeder Designpunkt das Mittel über Replikationen (R = {n}, "
                        "gemeinsame Zufallszahlen). μ*: mittlerer absoluter Effekt, wenn ein "
                        "Parameter seinen Bereich durchläuft; σ: deren Standardabweichung. "
                        "Nummeriert (blau): μ* mindestens {thr} des größten μ* der Größe "
                        "(gestrichelte Linie); ein solcher Parameter übersteht das Screening. "
                        "Oberhalb der gepunkteten Diagonale (σ > μ*) hängt der Effekt eines "
                        "Parameters von den anderen ab."),
        "note_sobol": ("Balken: Totalindex ST (hell) und Haupteffekt S1 (dunkel) mit "
                       "Bootstrap-95-%-Intervallen; Sobol-Design mit N = {n_base} ({points} "
                       "Punkte), jeder Designpunkt das Mittel über Replikationen (R = {n}, "
                       "gemeinsame Zufallszahlen); Parameter nach ihrem größten ST sortiert. "
                       "Gestrichelte Linie: ST = {st}, ab dem ein Parameter kalibriert oder "
                       "belegt werden muss. Gepunktete graue Linie: Anteil der Varianz, der "
                       "Replikationsrauschen ist (ein ST dieser Größe kann Rauschen sein)."),
        "legend_st": "Totalindex ST",
        "legend_s1": "Haupteffekt S1",
        "sobol_x": "Anteil der Varianz",
        # regret (recipe ``regret``)
        "title_regret": "Welche Wahl ist robust? Bedauern (Regret) jeder Wahl über die "
                        "untersuchte Unsicherheit",
        "regret_coverage": "Regret der Bevölkerungsabdeckung im {month} (Prozentpunkte)",
        "regret_months": "Regret der Monate bis {target} (Monate nach der besten Wahl)",
        "regret_median": "Median-Regret",
        "regret_q90": "90. Perzentil",
        "regret_max": "maximaler Regret (ordnet die Zeilen)",
        "regret_rank_median": "Rang nach Median",
        "note_regret": ("Regret einer Wahl in einem von {n} Punkten des Latin Hypercube "
                        "(Szenarien): das Ergebnis der dort besten Wahl minus ihr eigenes, je "
                        "das Mittel über {r} Replikationen mit gemeinsamen Zufallszahlen. "
                        "Zeilen nach maximalem Regret geordnet (Minimax-Regret, Zahl vor dem "
                        "Namen); Zahl rechts: Rang nach Median-Regret. Eine Wahl, die nach "
                        "ihrem Maximum besser rangiert als nach ihrem Median, ist robust, "
                        "nicht nur im Median gut."),
        "note_regret_censored": ("Läufe, die das Ziel nie erreichten, zählen mit {end} ({k} "
                                 "Paare aus Szenario und Wahl): Ihr Regret ist eine untere "
                                 "Schranke."),
        # exploration (H1, issue 14: declared uncertainties, paired lever settings)
        "note_robust_strongest": ("Rechts: die {k} von {n} untersuchten Parametern, deren "
                                  "Werte am stärksten mit einer Differenz einhergehen "
                                  "(größte Rangkorrelation)."),
        "note_lhs_posterior": ("Kalibrierte Parameter: je Punkt des Latin Hypercube ein "
                               "Partikel der Posterior-Stichprobe '{name}', gemeinsam "
                               "gezogen; die übrigen über ihre deklarierten Bereiche."),
        "regret_outcome_coverage": "die Abdeckung",
        "regret_outcome_months": "die Zeit bis zum Ziel",
        "regret_choice": ("Für {what} ist {robust} die robuste Wahl (kleinstes maximales "
                          "Regret), {median} die beste im Median."),
        "regret_choice_same": ("Für {what} ist {robust} sowohl die robuste Wahl (kleinstes "
                               "maximales Regret) als auch die beste im Median."),
        "regret_choice_tied": ("Für {what} unterscheiden sich die Wahlen kaum: {k_robust} der "
                               "{n} liegen beim kleinsten maximalen Regret gleichauf, "
                               "{k_median} beim besten Median."),
    },
}
#: The key figure drawn against cost by default: population coverage at the OZG deadline.
COVERAGE_AT_DEADLINE = f"population_coverage_{OZG_DEADLINE_KEY}"

# --------------------------------------------------------------------------------------
# The calibration's observable series and their scopes
# --------------------------------------------------------------------------------------

#: Series kind -> readable name (``{land}``: the Land's name), as the calibration's tables
#: and report name it.
SERIES_LABELS = {
    "online_anywhere": "Services online somewhere",
    "federal_online": "Federal (Typ 1) services online",
    "nationwide_reported": "Services nationwide (dashboard count)",
    "nationwide_nonfederal": "Non-federal services nationwide (NKR count)",
    "reported_in_land": "Services flächendeckend in {land} (dashboard count)",
    "online_in_land": "Services online somewhere in {land}",
}
#: Scope of a series -> the services its share counts.
SCOPE_LABELS = {"all": "all services", "federal": "federal services",
                "nonfederal": "non-federal services"}
#: Short series names for the residual plot rows (``{geo}``: the Land's abbreviation).
SERIES_SHORT = {"online_anywhere": "online somewhere", "federal_online": "federal online",
                "nationwide_reported": "nationwide (dashboard)",
                "nationwide_nonfederal": "nationwide, non-federal (NKR)",
                "reported_in_land": "flächendeckend in {geo} (dashboard)",
                "online_in_land": "online somewhere in {geo}"}
#: Panel titles of the fit figure (the y label gives the scope).
SERIES_PANEL_TITLES = {"online_anywhere": "Online somewhere",
                       "federal_online": "Federal (Typ 1) online",
                       "nationwide_reported": "Nationwide (dashboard)",
                       "nationwide_nonfederal": "Nationwide, non-federal (NKR)",
                       "reported_in_land": "Flächendeckend in {land} (dashboard)",
                       "online_in_land": "Online somewhere in {land}"}

#: Series kind -> (English, German) name as an analysed output (``{geo}``: the Land's
#: abbreviation); the month follows.
SERIES_OUTPUT_LABELS = {
    "online_anywhere": ("Online somewhere", "Irgendwo online"),
    "federal_online": ("Federal (Typ 1) online", "Bund (Typ 1) online"),
    "nationwide_reported": ("Nationwide (dashboard)", "Flächendeckend (Dashboard)"),
    "nationwide_nonfederal": ("Nationwide, non-federal (NKR)", "Flächendeckend, ohne Bund (NKR)"),
    "reported_in_land": ("Flächendeckend in {geo}", "Flächendeckend in {geo}"),
    "online_in_land": ("Online somewhere in {geo}", "Irgendwo online in {geo}"),
}

# --------------------------------------------------------------------------------------
# Functions
# --------------------------------------------------------------------------------------

def text(key: str, lang: Lang = "en", **fields: object) -> str:
    """A fixed phrase of the charts in ``lang``, with ``{fields}`` filled in."""
    check_lang(lang)
    return TEXT[lang][key].format(**fields)


def label_value(column: str, value: object, lang: Lang = "en", short: bool = False) -> str:
    """Readable label of one level of a design column (``efa`` -> ``EfA (one for all)``)."""
    check_lang(lang)
    if short and isinstance(value, str) and value in SHORT_LABELS.get(column, {}).get(lang, {}):
        return SHORT_LABELS[column][lang][value]
    labels = VALUE_LABELS.get(column, {}).get(lang, {})
    if isinstance(value, str):
        return labels.get(value, value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format_number(float(value), lang, decimals_for(np.array([float(value)])))
    return str(value)


def label_column(column: str, lang: Lang = "en") -> str:
    """Readable name of a design column (unknown columns keep their name)."""
    check_lang(lang)
    if column in PARAM_LABELS:
        return param_label(column, lang, sentence=True)
    if column in METRIC_LABELS:
        return METRIC_LABELS[column][0 if lang == "en" else 1]
    return column


def metric_unit(metric: str) -> str:
    """Unit kind of a metric: ``share``, ``count``, ``eur``, ``months`` or ``""``."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric][2]
    if metric.startswith("months_to_"):
        return "months"
    if metric.endswith(("_share", "_coverage")) or "coverage" in metric:
        return "share"
    if "_eur" in metric:
        return "eur"
    return ""


def label_metric(metric: str, lang: Lang = "en", unit: bool = True) -> str:
    """Axis label of a metric with its unit: ``Population coverage (%)``."""
    check_lang(lang)
    name = (METRIC_LABELS[metric][0 if lang == "en" else 1] if metric in METRIC_LABELS
            else metric)
    kind = metric_unit(metric)
    if unit and kind in UNITS:
        return f"{name} ({UNITS[kind][lang]})"
    return name


def target_label(kpi: str, lang: Lang) -> str:
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


def _list_entry(key: str) -> tuple[ParamLabel, str, int] | None:
    """The ``*`` entry of a key with a list index (``staffing.municipal_fte_by_size_class.0``
    -> its entry, the list's key, the index)."""
    parts = key.split(".")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].isdigit():
            pattern = ".".join("*" if p.isdigit() else p for p in parts)
            if pattern in _LIST_LABELS:
                return _LIST_LABELS[pattern], ".".join(parts[:i]), int(parts[i])
    return None


def programme_label(name: str, lang: Lang = "en") -> str:
    """Readable name of a funding programme (its name if unknown)."""
    check_lang(lang)
    return PROGRAMME_LABELS[name][0 if lang == "en" else 1] if name in PROGRAMME_LABELS else name


def param_label(key: str, lang: Lang = "en", *, sentence: bool = False,
                short: bool = False, items: Mapping[str, str] | None = None) -> str:
    """Readable name of a parameter key or design column (the key itself if unknown).

    ``sentence``: first letter capitalised (axis labels, the calibration report);
    ``short``: the short name for small panels, where there is one. A key with a list
    index takes its list's ``*`` entry, naming the element by ``items`` (list element key
    -> name, e.g. ``{"funding.programmes.0": "EfA stimulus"}``), a municipal size class by
    its label, else by its number.
    """
    check_lang(lang)
    exact = PARAM_LABELS.get(key)
    item = ""
    found = _list_entry(key) if exact is None or "{item}" in exact.en else None
    if found is None:
        if exact is None:
            return key
        entry = exact
    else:
        entry, list_key, index = found
        classes = list(SIZE_CLASSES.values())
        if items and f"{list_key}.{index}" in items:
            item = items[f"{list_key}.{index}"]
        elif list_key.endswith("_by_size_class") and index < len(classes):
            item = classes[index][0 if lang == "en" else 1]
        else:
            item = f"no. {index + 1}" if lang == "en" else f"Nr. {index + 1}"
    if lang == "de":
        label = (entry.short_de if short else None) or entry.de
    else:
        label = (entry.short_en if short else None) or entry.en
    label = label.replace("{item}", item)
    return label[:1].upper() + label[1:] if sentence else label


def comparison_parts(comparison: str) -> tuple[str, str] | None:
    """``"efv - efa"`` -> ``("efv", "efa")``; ``None`` for text without a separator."""
    for sep in (" - ", " − ", " vs. ", " vs "):
        if sep in comparison:
            a, b = comparison.split(sep, 1)
            return a.strip(), b.strip()
    return None


def comparison_label(comparison: str, lang: Lang = "en", factor: str = "strategy") -> str:
    """``"efv - efa"`` -> ``"EfV − EfA"`` (short labels of the levels of ``factor``); text
    without a separator is kept."""
    parts = comparison_parts(comparison)
    if parts is None:
        return comparison
    a, b = parts
    return (f"{label_value(factor, a, lang, short=True)} {MINUS} "
            f"{label_value(factor, b, lang, short=True)}")


def wrap(label: str, width: int) -> str:
    """``label`` in lines of at most ``width`` characters (unchanged if it fits)."""
    return "\n".join(textwrap.wrap(label, width)) if len(label) > width else label


def wrap_unit(label: str, width: int) -> str:
    """Wrap a label; a trailing unit in brackets goes to a line of its own."""
    if len(label) > width and label.endswith(")") and " (" in label:
        name, unit = label.rsplit(" (", 1)
        return "\n".join([*textwrap.wrap(name, width), f"({unit}"])
    return "\n".join(textwrap.wrap(label, width))


def n_text(n: pd.Series | np.ndarray) -> str:
    """Number of replications of a chart: ``5``, or ``3–5`` if groups differ."""
    values = np.asarray(n, dtype=int)
    lo, hi = int(values.min()), int(values.max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


def pct_range(lang: Lang, band: tuple[float, float] = OUTER_BAND) -> tuple[str, str]:
    """The bounds of a central interval in per cent: ``("5%", "95%")``."""
    return format_percent(band[0], lang), format_percent(band[1], lang)


def series_short(series: str) -> str:
    """Short name of a calibration series ``kind`` or ``kind:XX`` (residual rows)."""
    kind, _, geo = series.partition(":")
    return SERIES_SHORT[kind].format(geo=geo)


__all__ = [
    "COVERAGE_AT_DEADLINE",
    "LANGS",
    "METRIC_LABELS",
    "MINUS",
    "MONTHS",
    "MONTHS_SHORT",
    "NBSP",
    "PARAM_LABELS",
    "PROGRAMME_LABELS",
    "SCOPE_LABELS",
    "SERIES_LABELS",
    "SERIES_OUTPUT_LABELS",
    "SERIES_PANEL_TITLES",
    "SERIES_SHORT",
    "SHORT_LABELS",
    "SIZE_CLASSES",
    "TEXT",
    "UNITS",
    "VALUE_LABELS",
    "Lang",
    "ParamLabel",
    "check_lang",
    "comparison_label",
    "comparison_parts",
    "decimals_for",
    "format_month",
    "format_number",
    "format_percent",
    "group_label",
    "label_column",
    "label_metric",
    "label_value",
    "metric_unit",
    "n_text",
    "number_formatter",
    "param_label",
    "pct_range",
    "percent_formatter",
    "programme_label",
    "series_short",
    "target_label",
    "text",
    "wrap",
    "wrap_unit",
]
