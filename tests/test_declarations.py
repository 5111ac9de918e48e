"""Uncertainties and levers declared once (``conf/declarations.yaml``, :mod:`sim.declarations`):
the shipped file agrees with the configuration, the calibration and every experiment; bad
declarations and undeclared ranges are one-line errors; a hypercube takes calibrated keys
as whole posterior particles; the charts' names come from the declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from sim.calibration.spec import load_spec as load_calibration_spec
from sim.config import CONF_DIR, load_config, load_posterior, read_yaml
from sim.declarations import (
    FILE_NAME,
    Declarations,
    check_numeric,
    declarations,
    parse_declarations,
    read_declarations,
)
from sim.errors import ConfigError
from sim.figures.labels import param_label
from sim.keys import numeric_keys
from sim.ranges import latin_hypercube, parse_ranges, posterior_rows
from sim.scenario import design_roles
from sim.sweep import expand_design, resolve_design

#: The calibration's priors as committed with conf/calibrated/historical.yaml (5 Dec 2026):
#: the declarations must give the same keys, in the same order, with the same ranges.
COMMITTED_PRIORS = [
    ("development.effort_person_days", 400, 2000), ("development.effort_sigma", 0.2, 1.0),
    ("staffing.bund_fte", 60, 300), ("sharing.efa.propensity", 0.6, 1.0),
    ("sharing.efa.decision_months", 1, 18), ("sharing.efa.contract_months", 1, 12),
    ("sharing.efa.tenant_onboarding_months", 0.5, 6),
    ("sharing.efa.operator_onboarding_slots", 2, 16),
    ("sharing.efa.common_delay_weight", 0.0, 1.0), ("priority.common_weight", 0, 1),
    ("municipal.onboarding_effort_person_days", 1, 12),
    ("municipal.info_lag_dispersion", 0.5, 4.0), ("observation.federal_listed_share", 0.0, 1.0),
    ("staffing.team_fte", 2, 5), ("development.shared_build_overhead", 0.1, 0.6)]


def _shipped_ranges() -> list[tuple[str, str, Any]]:
    """Every range list of the shipped calibration and experiment specs."""
    out = [(p.name, "parameters", read_yaml(p)["parameters"])
           for p in sorted((CONF_DIR / "calibration").glob("*.yaml"))]
    for path in sorted((CONF_DIR / "experiment").glob("*.yaml")):
        spec = read_yaml(path)
        lhs = (spec.get("design") or {}).get("lhs")
        if lhs:
            out.append((path.name, "design.lhs.ranges", lhs["ranges"]))
        if "sensitivity" in spec:
            out.append((path.name, "sensitivity.ranges", spec["sensitivity"]["ranges"]))
    return out


# --------------------------------------------------------------------------- the shipped file


def test_every_declared_key_is_a_numeric_parameter_of_the_default_config() -> None:
    check_numeric(declarations(), numeric_keys(load_config([])))


def test_check_numeric_names_an_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"^declarations\.yaml: uncertainties\.[a-z_.0-9]+ "
                                          r"is not allowed: not a numeric parameter"):
        check_numeric(declarations(), ["development.effort_person_days"])


@pytest.mark.parametrize(("file", "where", "raw"), _shipped_ranges(),
                         ids=[f"{f}:{w}" for f, w, _ in _shipped_ranges()])
def test_every_shipped_range_lies_inside_its_declaration(file: str, where: str,
                                                         raw: Any) -> None:
    decl = declarations().uncertainties
    ranges = parse_ranges(raw, where)
    assert ranges, file
    for p in ranges:
        assert decl[p.key].low <= p.low < p.high <= decl[p.key].high, (file, p)


def test_calibrated_keys_are_exactly_the_calibrations_parameters_with_the_committed_priors(
        ) -> None:
    spec = load_calibration_spec("historical", {}, [])
    assert [(p.key, p.low, p.high) for p in spec.parameters] == [
        (k, float(lo), float(hi)) for k, lo, hi in COMMITTED_PRIORS]
    assert set(declarations().calibrated()) == set(spec.keys)
    # ... and the committed posterior sample holds the same keys (its runs stay the same)
    assert set(load_posterior("historical_posterior.csv").keys) == set(spec.keys)


def test_the_sensitivity_narrows_only_the_integer_slots_and_says_why() -> None:
    spec = read_yaml(CONF_DIR / "experiment" / "sensitivity.yaml")["sensitivity"]["ranges"]
    narrowed = [x for x in spec if isinstance(x, dict)]
    assert narrowed == [{"sharing.efa.operator_onboarding_slots": [2, 14]}]
    text = (CONF_DIR / "experiment" / "sensitivity.yaml").read_text()
    assert "Morris levels on integers" in text


def test_group_levers_list_existing_options() -> None:
    for key, lever in declarations().levers.items():
        if lever.is_group:
            assert all((CONF_DIR / key / f"{o}.yaml").is_file() for o in lever.options)
        else:
            assert lever.low < lever.high and lever.unit


def test_the_chart_names_come_from_the_declarations() -> None:
    decl = declarations()
    for key, names in decl.names().items():
        if "{item}" not in names.en:
            assert param_label(key) == names.en and param_label(key, "de") == names.de
    # a list element's name keeps naming the element (any index, not only declared ones)
    assert param_label("funding.programmes.2.agreement_months") == (
        "agreement per funded project, no. 3 (months)")
    assert param_label("funding.programmes.0.external_fte_per_project", "de",
                       items={"funding.programmes.0": "Konjunkturpaket EfA"}) == (
        "Externe je gefördertem Projekt, Konjunkturpaket EfA (VZÄ)")
    assert param_label("strategy", "de") == "Strategie" and param_label("state") == "Land"


# --------------------------------------------------------------------------- bad declarations

GOOD_ENTRY = {"range": [0, 1], "unit": "share", "label": "x", "label_de": "x",
              "basis": "assumed", "rationale": "why"}


@pytest.mark.parametrize(("raw", "needle"), [
    ({"uncertainties": {"a.b": {**GOOD_ENTRY, "range": [1, 0]}}},
     "uncertainties.a.b.range=[1, 0] is not allowed: [low, high] with numbers low < high"),
    ({"uncertainties": {"a.b": {**GOOD_ENTRY, "range": ["0", 1]}}},
     "uncertainties.a.b.range=['0', 1] is not allowed"),
    ({"uncertainties": {"a.b": {k: v for k, v in GOOD_ENTRY.items() if k != "label_de"}}},
     "uncertainties.a.b.label_de is missing: a non-empty text"),
    ({"uncertainties": {"a.b": {**GOOD_ENTRY, "basis": "guessed"}}},
     "uncertainties.a.b.basis='guessed' is not allowed: one of calibrated, assumed, sourced"),
    ({"uncertainties": {"a.b": {**GOOD_ENTRY, "colour": "red"}}},
     "uncertainties.a.b.colour is not allowed: fields are range"),
    ({"uncertainties": {"a.b": {k: v for k, v in GOOD_ENTRY.items() if k != "rationale"}}},
     "uncertainties.a.b.rationale (or source) is missing"),
    ({"uncertainties": {"a.b": GOOD_ENTRY}, "levers": {"a.b": {"range": [0, 1], "unit": "x",
                                                                "label": "x", "label_de": "x"}}},
     "a.b is declared twice (in uncertainties and levers)"),
    ({"uncertainties": {}, "levers": {"strategy": {"options": ["efa", "nope"], "label": "s",
                                                   "label_de": "s"}}},
     "levers.strategy.options: 'nope' is not allowed: no conf/strategy/nope.yaml"),
    ({"uncertainties": {}, "levers": {"x.y": {"label": "s", "label_de": "s"}}},
     "levers.x.y is not allowed: either options (a config group's options) or range"),
    ({"uncertainties": {}, "scenarios": {}}, "section 'scenarios' is not allowed"),
])
def test_bad_declarations_are_one_line_errors(raw: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_declarations(raw, CONF_DIR)
    msg = str(exc.value)
    assert msg.startswith(f"{FILE_NAME}: ") and needle in msg and "\n" not in msg


def test_a_key_written_twice_in_the_file_is_refused(tmp_path: Path) -> None:
    entry = yaml.safe_dump({"a.b": GOOD_ENTRY})
    path = tmp_path / FILE_NAME
    path.write_text("uncertainties:\n" + "".join("  " + ln + "\n" for ln in
                                                 (entry + entry).splitlines()))
    with pytest.raises(ConfigError, match=r"^declarations\.yaml: a\.b is declared twice \(line"):
        read_declarations(path)


# --------------------------------------------------------------------------- ranges


def test_ranges_take_the_declared_range_or_a_narrower_one() -> None:
    decl = declarations().uncertainties
    a, b = "sharing.efa.propensity", "development.effort_person_days"
    got = parse_ranges([a, {b: [500, 1500]}], "x")
    assert [(p.key, p.low, p.high) for p in got] == [(a, decl[a].low, decl[a].high),
                                                      (b, 500.0, 1500.0)]
    same = parse_ranges({a: None, b: [500, 1500]}, "x")
    assert [(p.key, p.low, p.high) for p in same] == [(p.key, p.low, p.high) for p in got]


@pytest.mark.parametrize(("raw", "needle"), [
    (["development.effort_days"], "design.lhs.ranges.development.effort_days is not allowed: "
     "not a declared uncertainty; declare it under uncertainties: in conf/declarations.yaml"),
    ({"sharing.efa.propensity": [0.5, 1.0]}, "design.lhs.ranges.sharing.efa.propensity=[0.5, 1] "
     "is not allowed: inside its declared range [0.6, 1] (conf/declarations.yaml)"),
    (["sharing.efa.propensity", "sharing.efa.propensity"],
     "design.lhs.ranges.sharing.efa.propensity is not allowed: the key is given twice"),
    ([], "design.lhs.ranges=[] is not allowed: a non-empty list of declared keys"),
    ([3], "design.lhs.ranges: 3 is not allowed: a declared key, or {key: [low, high]}"),
    ("staffing.dev_fte_factor", "design.lhs.ranges='staffing.dev_fte_factor' is not allowed"),
    (["staffing.dev_fte_factor"], "staffing.dev_fte_factor is not allowed: not a declared "
                                  "uncertainty"),
])
def test_bad_ranges_are_one_line_errors(raw: Any, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_ranges(raw, "design.lhs.ranges")
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_custom_declarations_serve_tests_and_tools() -> None:
    own = Declarations(
        uncertainties=parse_declarations({"uncertainties": {"u": GOOD_ENTRY}}).uncertainties,
        levers={}, columns={})
    assert [(p.key, p.low, p.high) for p in parse_ranges(["u"], "r", own)] == [("u", 0.0, 1.0)]
    with pytest.raises(ConfigError, match="not a declared uncertainty"):
        parse_ranges(["sharing.efa.propensity"], "r", own)


# --------------------------------------------------------------------------- the exploration

KEYS = ["sharing.efa.propensity", "staffing.bund_fte", "development.delay_cv",
        "sharing.efa.decision_months"]


def test_posterior_keys_take_whole_particles_and_the_rest_a_hypercube() -> None:
    sample = load_posterior("historical_posterior.csv")
    ranges = parse_ranges(KEYS, "design.lhs.ranges")
    n = 16
    pts = latin_hypercube(ranges, n, seed=5, posterior=sample)
    assert pts == latin_hypercube(ranges, n, seed=5, posterior=sample)  # seeded
    assert pts != latin_hypercube(ranges, n, seed=6, posterior=sample)
    drawn = [k for k in KEYS if k in sample.keys]
    cols = [sample.keys.index(k) for k in drawn]
    rows = {tuple(r) for r in sample.values[:, cols]}
    for p in pts:  # jointly: each point's calibrated values are one particle's
        assert tuple(p[k] for k in drawn) in rows
    idx = posterior_rows(sample, n, seed=5)
    assert [tuple(p[k] for k in drawn) for p in pts] == [
        tuple(sample.values[i, cols]) for i in idx]
    # the uncalibrated key is stratified over its declared range: one point per stratum
    lo, hi = declarations().uncertainties["development.delay_cv"].low, \
        declarations().uncertainties["development.delay_cv"].high
    vals = np.array([p["development.delay_cv"] for p in pts])
    assert sorted(np.floor((vals - lo) / (hi - lo) * n).astype(int)) == list(range(n))


def test_stratified_particles_follow_the_weights() -> None:
    sample = load_posterior("historical_posterior.csv")
    idx = posterior_rows(sample, 4000, seed=1)
    # the weighted mean of each key is matched far better than by chance alone
    got = sample.values[idx].mean(axis=0)
    want = sample.weights @ sample.values
    spread = np.sqrt(sample.weights @ (sample.values - want) ** 2)
    assert np.all(np.abs(got - want) <= 0.05 * spread)


def test_the_manifest_design_names_every_hypercube_key_with_its_range() -> None:
    design = {"lhs": {"n": 3, "ranges": KEYS, "posterior": "historical"},
              "cross": {"strategy": ["efa", "efv"], "funding": ["konjunkturpaket",
                                                                "koenigstein"]}}
    resolved = resolve_design(design)
    decl = declarations().uncertainties
    assert resolved["lhs"]["posterior"] == "historical"
    assert resolved["lhs"]["ranges"] == {k: [decl[k].low, decl[k].high] for k in KEYS}
    assert design_roles(resolved) == (["strategy", "funding"], KEYS)
    pts = expand_design(design, seed=1)
    assert len(pts) == 3 * 4
    for i in range(0, len(pts), 4):  # paired: every lever setting shares the values
        assert all({k: pts[j][k] for k in KEYS} == {k: pts[i][k] for k in KEYS}
                   for j in range(i, i + 4))
    with pytest.raises(ConfigError, match=r"^design\.lhs\.posterior='nowhere' is not allowed"):
        expand_design({"lhs": {**design["lhs"], "posterior": "nowhere"}}, 1)
    with pytest.raises(ConfigError, match=r"^design\.lhs\.size is not allowed: keys are n, "
                                          "ranges, posterior"):
        expand_design({"lhs": {"n": 3, "ranges": KEYS, "size": 3}}, 1)


def test_the_exploration_explores_every_uncertainty_acting_up_to_2030() -> None:
    spec = read_yaml(CONF_DIR / "experiment" / "exploration.yaml")
    keys = [p.key for p in parse_ranges(spec["design"]["lhs"]["ranges"], "design.lhs.ranges")]
    # not explored, for the reasons in the file: the funding lever replaces the programme
    # list; the providers' channels are off by default
    left_out = [k for k in declarations().uncertainties if k not in keys]
    assert all(k.startswith(("funding.programmes.", "providers.")) for k in left_out)
    assert spec["design"]["lhs"]["posterior"] == "historical"
    assert spec["design"]["cross"] == {"strategy": ["efa", "efv", "einzel", "mixed"],
                                       "funding": ["konjunkturpaket", "koenigstein"]}
    assert not load_config([]).providers.enabled
