"""Scenario labels: every axis of a configuration named in words, the short form naming only
the axes that differ, and ``ozg-sim-compare``'s ``labels=``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from sim import scenario
from sim.cli.compare import source_labels
from sim.config import CONF_DIR, register_schema
from sim.errors import ConfigError
from sim.figures import scenarios
from sim.figures.levels import LEVELS


def _config(**axes: object) -> dict[str, object]:
    cfg: dict[str, object] = {
        "strategy": {"name": "efa"}, "funding": {"name": "historical"},
        "staffing": {"name": "historical"}, "operation": {"name": "historical"},
        "state_programmes": {k: {} for k in scenario.ALL_STATE_PROGRAMMES},
        "calibrated_draws": "posterior", "posterior": "PosteriorSample('historical')"}
    cfg.update(axes)
    return cfg


def test_every_axis_of_the_default_scenario_is_named() -> None:
    sc = scenario.scenario_of(_config())
    assert sc == {"strategy": "efa", "funding": "historical", "staffing": "historical",
                  "operation": "historical", "state_programmes": "all",
                  "calibration": "posterior"}
    en = scenarios.scenario_label(sc, "en")
    assert en == ("EfA (one for all); historical programmes; historical staffing; running "
                  "costs after 2022: as it happened (2023 reusers, from 2024 the split); "
                  "all Land programmes; calibrated, posterior draws")
    de = scenarios.scenario_label(sc, "de")
    assert "historisches Personal" in de and "alle Landesprogramme" in de


@pytest.mark.parametrize(("axes", "level"), [
    ({"state_programmes": {}}, "none"),
    ({"state_programmes": {"hessen": {}, "bw": {}}}, "bw+hessen"),
    ({"posterior": None}, "none"),
    ({"calibrated_draws": "point"}, "point"),
])
def test_programmes_and_calibration_levels(axes: dict[str, object], level: str) -> None:
    sc = scenario.scenario_of(_config(**axes))
    axis = "state_programmes" if "state_programmes" in axes else "calibration"
    assert sc[axis] == level
    assert scenarios.level_label(axis, level, "en") != level


def test_short_labels_name_only_the_axes_that_differ() -> None:
    a = scenario.scenario_of(_config())
    b = scenario.scenario_of(_config(operation={"name": "reusers"}, strategy={"name": "efv"}))
    assert scenarios.differing_axes([a, b]) == ["strategy", "operation"]
    assert scenarios.scenario_labels([a, b], "en") == ["EfA; as it happened", "EfV; reusers pay"]
    assert scenarios.scenario_labels([a, b], "de") == ["EfA; wie geschehen",
                                                    "EfV; Nachnutzer zahlen"]


def test_every_option_file_of_every_axis_has_words() -> None:
    for axis in ("staffing", "state_programmes"):
        for f in (CONF_DIR / axis).glob("*.yaml"):
            assert f.stem in scenarios.AXIS_LEVELS[axis], f
    for axis in LEVELS:
        for f in (CONF_DIR / axis).glob("*.yaml"):
            for lang in ("en", "de"):
                assert scenarios.level_label(axis, f.stem, lang) != f.stem, (axis, f.stem)
    progs = OmegaConf.load(CONF_DIR / "state_programmes" / "all.yaml")
    named = {str(d) for d in progs["defaults"] if str(d) != "_self_"}
    assert named <= scenario.ALL_STATE_PROGRAMMES


def test_one_wording_per_level_for_each_land_alone() -> None:
    lv = LEVELS["strategy"]["einzel"]
    assert lv.en == lv.short_en == "each Land alone"
    assert lv.de == lv.short_de == "jedes Land für sich"


def test_compare_labels_must_match_the_configurations() -> None:
    sc = {"a": scenario.scenario_of(_config()),
          "b": scenario.scenario_of(_config(funding={"name": "none"}))}
    assert source_labels(sc, "en", ["Baseline", "Länder pay"]) == {"a": "Baseline",
                                                                   "b": "Länder pay"}
    assert source_labels(sc, "en") == {"a": "historical programmes", "b": "no programme"}
    with pytest.raises(ConfigError, match="labels: 1 given for 2 configurations"):
        source_labels(sc, "en", ["Baseline"])
    with pytest.raises(ConfigError, match="every label must differ"):
        source_labels(sc, "en", ["X", "X"])
    same = {"a": sc["a"], "b": sc["a"]}
    assert len(set(source_labels(same, "en").values())) == 2  # told apart by folder


def test_compare_takes_labels_and_refuses_a_wrong_count(tmp_path: Path) -> None:
    run = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "sim", "world=toy", "replications=2", "workers=1",
                        "funding=none", f"hydra.run.dir={run}"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    other = tmp_path / "other"
    shutil.copytree(run, other)
    compare = [sys.executable, "-m", "sim.cli.compare", str(run), str(other)]
    bad = tmp_path / "bad"
    r = subprocess.run([*compare, "labels=only one", f"out={bad}"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "labels: 1 given for 2 configurations" in err[0], r.stderr
    assert not bad.exists()
    good = tmp_path / "good"
    r = subprocess.run([*compare, "labels=Baseline,Länder pay", "lang=de", f"out={good}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    side = pd.read_csv(good / "figures" / "fan_population_coverage_de.csv", comment="#")
    assert set(side["source"]) == {"Baseline", "Länder pay"}
    assert not (good / "figures" / "fan_population_coverage.csv").exists()
    summary = pd.read_csv(good / "summary.csv")
    assert summary["scenario"].str.contains("kein Förderprogramm").all()


def test_the_run_folder_names_strategy_funding_and_every_other_axis_that_differs() -> None:
    assert scenario.folder_label(scenario.scenario_of(_config())) == "efa_historical"
    other = scenario.scenario_of(_config(
        operation={"name": "reusers"}, staffing={"name": "baseline"},
        state_programmes={"hessen": {}, "bw": {}}, calibrated_draws="point"))
    assert scenario.folder_label(other) == (
        "efa_historical_staff-baseline_payer-reusers_lp-bw+hessen_cal-point")
    # the resolver conf/config.yaml's hydra.run.dir uses reads the composed config
    register_schema()
    node = OmegaConf.create({**_config(strategy={"name": "efv"}, state_programmes={}),
                             "dir": "${ozg_scenario:}"})
    assert node.dir == "efv_historical_lp-none"
    shipped = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml"), resolve=False)
    assert "_${ozg_scenario:}_" in shipped["hydra"]["run"]["dir"]  # type: ignore[index]
