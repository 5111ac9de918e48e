"""One entry per level of every categorical factor that charts style: its colour, line,
marker and words.

Each level of ``strategy``, ``funding`` and ``operation`` (one per option file in
``conf/strategy/``, ``conf/funding/``, ``conf/operation/``) keeps one Okabe-Ito colour
(colour-blind safe), line style and marker in every chart, so figures also read in black
and white, and one long and one short label in English and German. Everything else derives
from :data:`LEVELS`: the display orders (here), the styles (:mod:`sim.figures.style`) and
the label dicts (:mod:`sim.figures.labels`). A new option (say a funding rule) adds its
colour, line, marker and words in one entry here, in the position it takes in charts;
``tests/test_charts.py`` fails while an option file has no entry.

The payer parties of the running costs (:data:`PAYER_PARTIES`) have a table of the same
kind: fill colour, hatch and words.

This module holds data only: colours are names of the palette of
:mod:`sim.figures.style` (``OKABE_ITO`` and ``grey``), which resolves them.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Level(NamedTuple):
    """Appearance and words of one level of a factor.

    Attributes
    ----------
    color
        Name in the palette of :mod:`sim.figures.style` (``"blue"``, ``"grey"``, ...).
    linestyle
        Matplotlib line style (``"-"``, ``"--"``, or a dash tuple ``(0, (5, 1))``).
    marker
        Matplotlib marker.
    en, de
        Long label (legends of one factor, titles).
    short_en, short_de
        Short label (legends that combine factors, axis ticks, panel titles).
    """

    color: str
    linestyle: Any
    marker: str
    en: str
    de: str
    short_en: str
    short_de: str


_NBSP = "\u00a0"

#: Sharing strategies (``conf/strategy/``).
STRATEGY_LEVELS: dict[str, Level] = {
    "efa": Level("blue", "-", "o", "EfA (one for all)", "EfA (Einer für Alle)", "EfA", "EfA"),
    "efv": Level("orange", "--", "s", "EfV (groups share)", "EfV (Einer für Viele)", "EfV",
                 "EfV"),
    "einzel": Level("green", "-.", "^", "each Land alone", "jedes Land für sich",
                    "each Land alone", "jedes Land für sich"),
    "mixed": Level("purple", ":", "D", "mixed (EfA for Typ 2/3, EfV for 4/5)",
                   "gemischt (EfA für Typ 2/3, EfV für 4/5)", "mixed", "gemischt"),
}

#: Funding levels (``conf/funding/``) in the order of
#: ``conf/experiment/funding_allocation.yaml`` (then ``historical``); an experiment's
#: figures use the order of its own design. Nine levels: every colour, line style and marker
#: differs, so each level reads in greyscale by its marker and line. Okabe-Ito yellow (weak
#: on white) goes to ``historical``, the one level that no experiment sets beside the eight
#: others; a neutral grey to "no programme".
FUNDING_LEVELS: dict[str, Level] = {
    "konjunkturpaket": Level("sky", "--", "s", "2020 stimulus, EfA only, project by project",
                             "Konjunkturpaket 2020, nur EfA, projektweise",
                             "stimulus for EfA only", "Konjunkturpaket nur für EfA"),
    "koenigstein": Level("red", "-.", "^", "2020 stimulus by Königsteiner Schlüssel",
                         "Konjunkturpaket 2020 nach Königsteiner Schlüssel",
                         "stimulus by Königstein key",
                         "Konjunkturpaket nach Königsteiner Schlüssel"),
    "per_capita": Level("blue", ":", "D", "2020 stimulus per capita",
                        "Konjunkturpaket 2020 nach Einwohnerzahl", "stimulus per capita",
                        "Konjunkturpaket nach Einwohnerzahl"),
    "per_municipality": Level("orange", (0, (5, 1)), "v", "2020 stimulus per municipality",
                              "Konjunkturpaket 2020 je Kommune", "stimulus per municipality",
                              "Konjunkturpaket je Kommune"),
    "need": Level("green", (0, (3, 1, 1, 1, 1, 1)), "P",
                  "2020 stimulus by need (inverse of staff)",
                  "Konjunkturpaket 2020 nach Bedarf (umgekehrt zum Personal)",
                  "stimulus by need (inverse of staff)",
                  "Konjunkturpaket nach Bedarf (umgekehrt zum Personal)"),
    "competitive": Level("purple", (0, (1, 1)), "X",
                         "2020 stimulus open to every strategy (first ready, first paid)",
                         "Konjunkturpaket 2020 für jede Strategie offen (wer zuerst fertig "
                         "ist, wird zuerst bezahlt)",
                         "stimulus open to every strategy",
                         "Konjunkturpaket für jede Strategie"),
    "municipal_share": Level("black", (0, (8, 2, 2, 2)), "*",
                             "2020 stimulus with 20% for municipalities",
                             f"Konjunkturpaket 2020 mit 20{_NBSP}% für Kommunen",
                             "stimulus with 20% for municipalities",
                             f"Konjunkturpaket mit 20{_NBSP}% für Kommunen"),
    "none": Level("grey", "-", "o", "no programme", "kein Förderprogramm", "no programme",
                  "ohne Förderung"),
    "historical": Level("yellow", (0, (2, 2, 6, 2)), "h", "historical programmes",
                        "historische Förderprogramme", "historical programmes",
                        "historische Programme"),
}

#: Payers of the running costs after 2022 (``conf/operation/``), in the order of
#: ``conf/experiment/cliff.yaml``.
OPERATION_LEVELS: dict[str, Level] = {
    "central": Level("blue", "-", "o", "Bund pays, as until 2022", "Bund zahlt, wie bis 2022",
                     "Bund pays", "Bund zahlt"),
    "reusers": Level("red", "--", "s", "reusers pay (Länder and municipalities)",
                     "Nachnutzer zahlen (Länder und Kommunen)", "reusers pay",
                     "Nachnutzer zahlen"),
    "split_2024": Level("green", "-.", "^",
                        "IT-PLR split of 2024 (50% reusers, 25% Bund, 25% all Länder)",
                        f"IT-PLR-Aufteilung 2024 (50{_NBSP}% Nachnutzer, 25{_NBSP}% Bund, "
                        f"25{_NBSP}% alle Länder)",
                        "2024 split", "Aufteilung 2024"),
    "land_for_municipalities": Level("purple", ":", "D",
                                     "each Land pays, also for its municipalities",
                                     "jedes Land zahlt, auch für seine Kommunen",
                                     "Land pays for municipalities", "Land zahlt für Kommunen"),
    "historical": Level("black", (0, (5, 1)), "v",
                        "as it happened (2023 reusers, from 2024 the split)",
                        "wie geschehen (2023 Nachnutzer, ab 2024 Aufteilung)",
                        "as it happened", "wie geschehen"),
}

#: Mechanisms switched off (``mechanisms.switched_off``, :mod:`sim.mechanisms`), in the
#: order of ``conf/experiment/mechanisms.yaml``. The short label names the mechanism (the
#: rows of the waterfall chart), the long one the design point. Ten levels and nine
#: colours: the stimulus shares blue with the information lag; line style and marker differ
#: for every level (they read in greyscale).
MECHANISM_LEVELS: dict[str, Level] = {
    "none": Level("black", "-", "o", "every mechanism on (the model as it is)",
                  "alle Mechanismen an (das Modell, wie es ist)", "all on", "alle an"),
    "information_lag": Level("blue", "--", "s", "without the information lag of "
                             "administrations", "ohne Informationsverzug der Verwaltungen",
                             "no information lag", "ohne Informationsverzug"),
    "reuse_delays": Level("orange", "-.", "^", "without decision and contract delays of reuse",
                          "ohne Entscheidungs- und Vertragsfristen der Nachnutzung",
                          "no decision or contract delays",
                          "ohne Entscheidungs- und Vertragsfristen"),
    "onboarding_slots": Level("green", ":", "D", "with unlimited onboarding slots of operators",
                              "mit unbegrenzten Anbindungsplätzen der Betreiber",
                              "unlimited onboarding slots", "unbegrenzte Anbindungsplätze"),
    "staff_turnover": Level("purple", (0, (5, 1)), "v", "without staff turnover",
                            "ohne Personalfluktuation", "no staff turnover", "ohne Fluktuation"),
    "hiring_lag": Level("sky", (0, (3, 1, 1, 1, 1, 1)), "P", "without the hiring lag",
                        "ohne Einstellungsverzug", "no hiring lag", "sofort besetzt"),
    "cost_deferral": Level("red", (0, (1, 1)), "X", "without deferral for running costs",
                           "ohne Aufschub wegen Betriebskosten", "no running-cost deferral",
                           "ohne Betriebskostenaufschub"),
    "state_programmes": Level("yellow", (0, (8, 2, 2, 2)), "*", "without the Land programmes",
                              "ohne die Landesprogramme", "no Land programmes",
                              "ohne Landesprogramme"),
    "stimulus": Level("blue", (0, (2, 2, 6, 2)), "h", "without the 2020 stimulus",
                      "ohne das Konjunkturpaket 2020", "no 2020 stimulus",
                      "ohne Konjunkturpaket 2020"),
    "all": Level("grey", (0, (6, 3)), "p", "every mechanism off", "alle Mechanismen aus",
                 "all off", "alle aus"),
}

#: Factor (design column and ``conf/`` group) -> its levels in display order.
LEVELS: dict[str, dict[str, Level]] = {
    "strategy": STRATEGY_LEVELS,
    "funding": FUNDING_LEVELS,
    "operation": OPERATION_LEVELS,
    "mechanisms.switched_off": MECHANISM_LEVELS,
}

#: Display order of the levels of each factor: the order of :data:`LEVELS`.
LEVEL_ORDERS: dict[str, tuple[str, ...]] = {f: tuple(t) for f, t in LEVELS.items()}
STRATEGY_ORDER = LEVEL_ORDERS["strategy"]
FUNDING_ORDER = LEVEL_ORDERS["funding"]
OPERATION_ORDER = LEVEL_ORDERS["operation"]


class Party(NamedTuple):
    """Appearance and words of one payer party of the running costs.

    Attributes
    ----------
    color
        Fill: a name in the palette of :mod:`sim.figures.style`.
    hatch
        Matplotlib hatch (``""`` for none), so segments read in black and white.
    en, de
        Label.
    """

    color: str
    hatch: str
    en: str
    de: str


#: Parties that pay running costs (the ``payer`` of ``running_costs`` and the KPIs
#: ``running_costs_eur_<payer>``), in the stacking order of the charts. Not the payer
#: *rules* of ``sim.params.PAYERS``: a rule (``conf/operation/``) says which parties pay.
PAYER_PARTIES: dict[str, Party] = {
    "land": Party("blue", "", "reusing Länder", "nachnutzende Länder"),
    "municipal": Party("orange", "....", "municipalities", "Kommunen"),
    "bund": Party("red", "\\\\\\", "Bund", "Bund"),
    "pool": Party("sky", "////", "all Länder (Königstein key)",
                  "alle Länder (Königsteiner Schlüssel)"),
}

__all__ = ["FUNDING_LEVELS", "FUNDING_ORDER", "LEVELS", "LEVEL_ORDERS", "MECHANISM_LEVELS",
           "OPERATION_LEVELS",
           "OPERATION_ORDER", "PAYER_PARTIES", "STRATEGY_LEVELS", "STRATEGY_ORDER", "Level",
           "Party"]
