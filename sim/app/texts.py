"""Every text of the workbench in German (the default) and English, and the formatting of
its numbers; parameter and option names come from the declarations
(:func:`sim.figures.labels.param_label`, :func:`~sim.figures.labels.label_value`), so a name
reads the same in the app, the charts and the reports."""

from __future__ import annotations

from typing import Literal

import numpy as np

from sim.calendar import month_date
from sim.figures.formats import format_number, format_percent
from sim.figures.labels import label_value, param_label, programme_label

Lang = Literal["de", "en"]
LANGS: dict[str, Lang] = {"Deutsch": "de", "English": "en"}

TEXTS: dict[str, tuple[str, str]] = {
    # key: (German, English)
    "title": ("ozg-sim · Was-wäre-wenn-Werkbank", "ozg-sim · what-if workbench"),
    "subtitle": ("Einen Hebel ändern, rechnen, mit der kalibrierten Basis vergleichen "
                 "(gleiche Zufallszahlen: gepaarter Vergleich).",
                 "Change a lever, run, compare with the calibrated baseline "
                 "(same random numbers: a paired comparison)."),
    "language": ("Sprache", "Language"),
    "run_section": ("Welt und Replikationen", "World and replications"),
    "policy": ("Politik und Geld", "Policy and money"),
    "staffing": ("Personal", "Staff"),
    "calibrated": ("Unsichere Parameter (kalibriert)", "Uncertain parameters (calibrated)"),
    "calibrated_help": ("Ohne Haken zieht jede Replikation die Werte aus der "
                        "Posterior-Stichprobe; mit Haken gilt der eingestellte Wert "
                        "(Bereich: mittlere 90 % der Posterior).",
                        "Unticked, each replication draws its values from the posterior "
                        "sample; ticked, the value set holds (range: the posterior's "
                        "central 90 %)."),
    "fix": ("festlegen", "fix"),
    "world": ("Welt", "World"),
    "world_germany": ("Deutschland (16 Länder)", "Germany (16 Länder)"),
    "world_toy": ("Spielwelt (3 Länder, schnell)", "Toy world (3 Länder, fast)"),
    "replications": ("Replikationen", "Replications"),
    "seed": ("Startwert (Seed)", "Seed"),
    "amount": ("Programmmittel (Mrd. €)", "Programme money (bn €)"),
    "amount_none": ("(kein Programm gewählt)", "(no programme chosen)"),
    "run": ("Rechnen", "Run"),
    "reset": ("Zurücksetzen", "Reset"),
    "pin": ("Anheften", "Pin"),
    "unpin": ("Angeheftete leeren", "Clear pinned"),
    "ready": ("Bereit. Hebel einstellen und „Rechnen“ drücken.",
              "Ready. Set the levers and press “Run”."),
    "starting": ("Die Rechenprozesse starten …", "Starting the worker processes …"),
    "running_base": ("Basis: {done}/{total} Replikationen",
                     "Baseline: {done}/{total} replications"),
    "running": ("Szenario: {done}/{total} Replikationen", "Scenario: {done}/{total} replications"),
    "drawing": ("Abbildungen: {done}/{total}", "Figures: {done}/{total}"),
    "done": ("Antwort nach {s} s, alle Ansichten nach {all} s ({cached} von {total} "
             "Replikationen aus dem Zwischenspeicher).",
             "Answer after {s} s, all views after {all} s ({cached} of {total} replications "
             "from the cache)."),
    "error": ("Fehler: {msg}", "Error: {msg}"),
    "tab_overview": ("Überblick", "Overview"),
    "tab_difference": ("Differenz", "Difference"),
    "tab_states": ("Länder", "Länder"),
    "tab_pinned": ("Vergleich", "Comparison"),
    "tab_reproduce": ("Reproduzieren", "Reproduce"),
    "nothing_yet": ("Noch kein Lauf.", "No run yet."),
    "baseline": ("Basis (kalibriert)", "Baseline (calibrated)"),
    "scenario": ("Szenario", "Scenario"),
    "key_figure": ("Kennzahl", "Key figure"),
    "median": ("Median", "Median"),
    "range": ("5–95 %", "5–95 %"),
    "difference": ("Differenz (gepaart, 95 %-KI)", "Difference (paired, 95 % CI)"),
    "table_note": ("Median und 5–95-%-Bereich über {n} Replikationen; Differenz: Mittel der "
                   "gepaarten Differenzen Szenario − Basis mit 95-%-Konfidenzintervall. "
                   "„–“: in keiner Replikation erreicht.",
                   "Median and 5–95 % range over {n} replications; difference: mean of "
                   "the paired differences scenario − baseline with its 95 % confidence "
                   "interval. “–”: reached in no replication."),
    "not_all": ("(in {k} von {n} erreicht)", "(reached in {k} of {n})"),
    "no_change": ("Das ist die Basis: keine Differenz.", "This is the baseline: no difference."),
    "command": ("Befehl, der genau dieses Szenario rechnet",
                "Command that runs exactly this scenario"),
    "yaml": ("Hydra-Konfiguration (YAML) herunterladen", "Download the Hydra config (YAML)"),
    "yaml_help": ("Als DIR/whatif.yaml speichern und `ozg-sim --config-dir DIR --config-name "
                  "whatif` ausführen.",
                  "Save as DIR/whatif.yaml and run `ozg-sim --config-dir DIR --config-name "
                  "whatif`."),
    "export": ("Abbildungen und Zahlen exportieren (ZIP)", "Export figures and numbers (ZIP)"),
    "zip": ("ZIP herunterladen", "Download the ZIP"),
    "exported": ("Exportiert nach {dir}", "Exported to {dir}"),
    "xlsx": ("Zahlen als Excel-Datei (xlsx)", "Numbers as an Excel file (xlsx)"),
    "export_help": ("Abbildungen als PNG (300 dpi), SVG und PDF mit ihren Daten (CSV), "
                    "Kennzahlen und Differenzen als CSV und Excel; auch im Exportordner {dir}.",
                    "Figures as PNG (300 dpi), SVG and PDF with their data (CSV), key figures "
                    "and differences as CSV and Excel; also in the export folder {dir}."),
    "pinned_none": ("Noch nichts angeheftet: ein Szenario rechnen und „Anheften“ drücken.",
                    "Nothing pinned yet: run a scenario and press “Pin”."),
    "pinned_max": ("Höchstens {n} Szenarien lassen sich anheften.",
                   "At most {n} scenarios can be pinned."),
    "changes": ("Geändert", "Changed"),
    "no_changes": ("nichts (kalibrierte Basis)", "nothing (calibrated baseline)"),
    "fan_title": ("Bevölkerungsabdeckung: Szenario und kalibrierte Basis",
                  "Population coverage: scenario and calibrated baseline"),
    "diff_title": ("Gepaarte Differenz Szenario − Basis", "Paired difference scenario − baseline"),
    "map_title": ("Bevölkerungsabdeckung je Land", "Population coverage by Land"),
    "states_title": ("Bevölkerungsabdeckung in den 16 Ländern",
                     "Population coverage in the 16 Länder"),
    "pinned_title": ("Angeheftete Szenarien und Basis", "Pinned scenarios and baseline"),
    # key figures
    "kf_coverage_2022_12": ("Bevölkerungsabdeckung Ende 2022", "Population coverage end of 2022"),
    "kf_coverage_2026_12": ("Bevölkerungsabdeckung Ende 2026", "Population coverage end of 2026"),
    "kf_coverage_2030_12": ("Bevölkerungsabdeckung Ende 2030", "Population coverage end of 2030"),
    "kf_months_to_50pct": ("50 % Abdeckung erreicht (Monat)", "50 % coverage reached (month)"),
    "kf_months_to_90pct": ("90 % Abdeckung erreicht (Monat)", "90 % coverage reached (month)"),
    "kf_programme_money_spent": ("Ausgezahlte Programmmittel bis {end}",
                                 "Programme money spent to {end}"),
    "kf_running_costs_land": ("Betriebskosten bis {end}: Länder",
                              "Running costs to {end}: Länder"),
    "kf_running_costs_municipal": ("Betriebskosten bis {end}: Kommunen",
                                   "Running costs to {end}: municipalities"),
    "kf_running_costs_bund": ("Betriebskosten bis {end}: Bund", "Running costs to {end}: Bund"),
    "kf_running_costs_pool": ("Betriebskosten bis {end}: alle Länder gemeinsam "
                              "(Königsteiner Schlüssel)",
                              "Running costs to {end}: all Länder jointly (Königstein key)"),
    "months": ("Monate", "months"),
    "pp": ("Pp.", "pp"),
}


def t(key: str, lang: Lang, **fields: object) -> str:
    """The text ``key`` in ``lang``, with ``fields`` filled in."""
    de, en = TEXTS[key]
    return (de if lang == "de" else en).format(**fields)


def option_label(group: str, option: str, lang: Lang) -> str:
    """Readable name of an option of a config group (declared labels; the world's here)."""
    if group == "world":
        return t(f"world_{option}", lang)
    if group == "state_programmes":
        return {"hessen": "Hessen", "nrw": "Nordrhein-Westfalen", "bw": "Baden-Württemberg",
                "bayern": "Bayern"}.get(option, option)
    return label_value(group, option, lang)


#: Longest control name that fits the sidebar beside its value.
LABEL_CHARS = 56


def control_label(key: str, lang: Lang, programme: str | None = None) -> str:
    """Readable name of a control's key (the first programme's money names it)."""
    if key == "funding.programmes.0.amount_eur":
        if not programme:
            return f"{t('amount', lang)} {t('amount_none', lang)}"
        name = programme_label(programme, lang)
        return t("amount", lang) if name == programme else f"{t('amount', lang)} – {name}"
    label = param_label(key, lang)
    if len(label) > LABEL_CHARS:  # a slider's title does not wrap: the short name
        label = param_label(key, lang, short=True)
    return label[:1].upper() + label[1:]


def format_value(value: float, unit: str, lang: Lang) -> str:
    """A key figure's value: a share in per cent, a month as YYYY-MM, money in million €."""
    if value is None or not np.isfinite(value):
        return "–"
    if unit == "share":
        return format_percent(value, lang, 1)
    if unit == "month":
        return month_date(value)
    money = format_number(value / 1e6, lang, _money_decimals(value))
    return f"{money} Mio. €" if lang == "de" else f"€{money} M"


def format_difference(value: float, unit: str, lang: Lang) -> str:
    """A paired difference: percentage points, months or million €, with its sign."""
    if value is None or not np.isfinite(value):
        return "–"
    if unit == "share":
        return f"{format_number(100 * value, lang, 1, sign=True)} {t('pp', lang)}"
    if unit == "month":
        return f"{format_number(value, lang, 1, sign=True)} {t('months', lang)}"
    money = format_number(value / 1e6, lang, _money_decimals(value), sign=True)
    return f"{money} Mio. €" if lang == "de" else f"€{money} M"


def format_bound(value: float, unit: str, lang: Lang) -> str:
    """A bound of a difference's interval: the number with its sign, no unit (the
    difference beside it names the unit)."""
    if value is None or not np.isfinite(value):
        return "–"
    scale, decimals = {"share": (100.0, 1), "month": (1.0, 1)}.get(
        unit, (1e-6, _money_decimals(value)))
    return format_number(value * scale, lang, decimals, sign=True)


def format_range(low: float, high: float, unit: str, lang: Lang) -> str:
    """The 5–95 % range of a key figure (``–`` if neither end is reached)."""
    if not (np.isfinite(low) or np.isfinite(high)):
        return "–"
    return f"{format_value(low, unit, lang)} – {format_value(high, unit, lang)}"


def _money_decimals(value: float) -> int:
    """Decimals of an amount in million €: one below 10 million (so that 0.3 M is not
    shown as 0), none above."""
    return 1 if abs(value) < 10e6 else 0
