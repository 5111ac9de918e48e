"""A configuration named by all its scenario axes (strategy, funding, staffing, running-cost
payer, Land programmes, calibration), in English and German: one wording per level for every
title, legend, folder label and sidecar (:func:`scenario_of`, :func:`scenario_label`,
:func:`scenario_labels` for the axes that differ, :func:`run_title`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sim.figures.labels import VALUE_LABELS, Lang, check_lang, label_value
from sim.scenario import SCENARIO_AXES

#: Name of each scenario axis (en, de), for "axis: level" where a level alone is unclear.
AXIS_NAMES: dict[str, tuple[str, str]] = {
    "strategy": ("strategy", "Strategie"), "funding": ("funding", "Förderung"),
    "staffing": ("staffing", "Personal"),
    "operation": ("running costs after 2022", "Betriebskosten ab 2023"),
    "state_programmes": ("Land programmes", "Landesprogramme"),
    "calibration": ("calibration", "Kalibrierung"), "world": ("world", "Welt"),
}
#: Words of the levels of the axes that :data:`sim.figures.levels.LEVELS` does not style
#: (en, de): staffing options, Land programmes (``conf/state_programmes/``) and how the
#: calibrated parameters were drawn (:func:`scenario_of`). One wording per level: every
#: title, legend, folder label and sidecar takes it from here or from ``LEVELS``.
AXIS_LEVELS: dict[str, dict[str, tuple[str, str]]] = {
    "staffing": {"historical": ("historical staffing", "historisches Personal"),
                 "baseline": ("baseline staffing", "Basispersonal")},
    "state_programmes": {"all": ("all Land programmes", "alle Landesprogramme"),
                         "none": ("no Land programmes", "keine Landesprogramme"),
                         "hessen": ("Hessen", "Hessen"), "nrw": ("NRW", "NRW"),
                         "bw": ("Baden-Württemberg", "Baden-Württemberg"),
                         "bayern": ("Bayern", "Bayern")},
    "calibration": {"posterior": ("calibrated, posterior draws",
                                  "kalibriert, Ziehungen aus der A-posteriori-Verteilung"),
                    "point": ("calibrated, point estimate", "kalibriert, Punktschätzer"),
                    "none": ("not calibrated (documented defaults)",
                             "nicht kalibriert (dokumentierte Standardwerte)")},
}
def level_label(axis: str, level: str, lang: Lang = "en", short: bool = False) -> str:
    """Readable label of one level of a scenario axis (its key if unknown); the levels of
    Land programmes joined by ``+`` are named one by one."""
    check_lang(lang)
    if axis in VALUE_LABELS:
        return label_value(axis, level, lang, short)
    words = AXIS_LEVELS.get(axis, {})
    i = 0 if lang == "en" else 1
    if level in words:
        return words[level][i]
    if axis == "state_programmes" and "+" in level:
        joined = " + ".join(words.get(k, (k, k))[i] for k in level.split("+"))
        return f"Land programmes {joined}" if lang == "en" else f"Landesprogramme {joined}"
    return level


def scenario_label(scenario: Mapping[str, str], lang: Lang = "en",
                   axes: Sequence[str] | None = None, short: bool = False) -> str:
    """The levels of ``axes`` (default: all :data:`SCENARIO_AXES` in ``scenario``) in
    words, joined by ``; `` (the long form names the running-cost payer's axis too)."""
    use = [a for a in (axes if axes is not None else SCENARIO_AXES) if a in scenario]
    i = 0 if lang == "en" else 1
    return "; ".join(level_label(a, scenario[a], lang, short) if short or a != "operation"
                     else f"{AXIS_NAMES[a][i]}: {level_label(a, scenario[a], lang)}"
                     for a in use)


def differing_axes(scenarios: Sequence[Mapping[str, str]]) -> list[str]:
    """The :data:`SCENARIO_AXES` whose level differs between ``scenarios``."""
    return [a for a in SCENARIO_AXES
            if len({s.get(a) for s in scenarios}) > 1]


def scenario_labels(scenarios: Sequence[Mapping[str, str]], lang: Lang = "en") -> list[str]:
    """One short label per scenario naming only the axes that differ between them (all
    axes if they do not differ: then the labels are equal and the caller must tell them
    apart, e.g. by folder)."""
    axes = differing_axes(scenarios) or list(SCENARIO_AXES)
    return [scenario_label(s, lang, axes, short=True) for s in scenarios]


#: Axes whose level words name the axis too ("historical staffing"); the others are
#: prefixed by their axis name in sentences ("running costs after 2022: as it happened").
SELF_NAMED_AXES = ("staffing", "state_programmes", "calibration")


def scenario_sentence(scenario: Mapping[str, str], axes: Sequence[str],
                      lang: Lang = "en") -> str:
    """A caption sentence naming the levels of ``axes`` that every chart of a design
    shares: ``Same in every scenario: funding: historical programmes; historical staffing.``
    (empty without axes)."""
    use = [a for a in axes if a in scenario]
    if not use:
        return ""
    i = 0 if lang == "en" else 1
    parts = [level_label(a, scenario[a], lang) if a in SELF_NAMED_AXES
             else f"{AXIS_NAMES[a][i]}: {level_label(a, scenario[a], lang)}" for a in use]
    head = "Same in every scenario" if lang == "en" else "In jedem Szenario gleich"
    return f"{head}: {'; '.join(parts)}."


def run_title(strategy: str, funding: str, staffing: str, world: str,
              scenario: Mapping[str, str] | None = None, lang: Lang = "en") -> str:
    """Chart title of a run: every scenario axis in words (:func:`scenario_label`) and the
    world. ``scenario`` (:func:`scenario_of`) names all axes; without it only strategy,
    funding and staffing are known."""
    known = dict(scenario or {"strategy": strategy, "funding": funding,
                              "staffing": staffing})
    head = "OZG rollout" if lang == "en" else "OZG-Umsetzung"
    world_words = (f"world {world}" if lang == "en" else f"Welt {world}")
    return f"{head}: {scenario_label(known, lang)}; {world_words}"
