"""The sensitivity screening (``sim.sensitivity``, ``ozg-sim-experiment sensitivity``): the
analysis path against known indices of the Ishigami function, the screening rule, the
outputs read from run records, the checks of the experiment file, and the experiment end
to end on the toy world (tables as declared, the same with 1 and 2 workers, bad input)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import TOY, make_config
from SALib.test_functions import Ishigami

from sim.calibration import historical_targets, load_spec, series_of
from sim.cli.experiment import run_experiment
from sim.errors import ConfigError
from sim.figures import labels
from sim.figures.sensitivity import morris_figure, morris_numbers, output_label, sobol_figure
from sim.metrics import series_shares
from sim.model import simulate
from sim.outputs import RECORD_TABLES, SENSITIVITY_TABLES, output_parts
from sim.ranges import ParameterRange
from sim.runner import replication_config
from sim.sensitivity import (
    Evaluation,
    Problem,
    Settings,
    point_means,
    problem_of,
    resolve,
    screen,
    screening,
    spec_from_dict,
)
from sim.sweep import make_sweep, run_sweep, world_for
from sim.world import World

PI = np.pi
#: Analytical indices of Ishigami (a = 7, b = 0.1): Saltelli et al. (2008), Primer.
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
TABLES = {t.name: t for t in SENSITIVITY_TABLES}


def _ishigami(stage: str, problem: Problem, X: np.ndarray) -> Evaluation:
    """Ishigami on the points of a design, reading each parameter by its key (so a
    problem whose names and columns were mixed up fails); a second output scaled."""
    pts = problem.points(X)
    for p in pts:  # the integer parameter arrives rounded, on its Morris grid
        assert isinstance(p.get("dummy.slots", 0), int)
    cols = np.array([[p.get(k, 0.0) for k in ("x1", "x2", "x3")] for p in pts])
    y = Ishigami.evaluate(cols)
    return Evaluation(np.column_stack([y, 10 * y + 3]))


@pytest.mark.parametrize("order", [["x1", "x2", "x3"], ["x3", "x1", "x2"]])
def test_the_analysis_path_recovers_the_ishigami_indices(order: list[str]) -> None:
    ranges = ([ParameterRange("dummy.slots", 2, 14)]
              + [ParameterRange(k, -PI, PI) for k in order]
              + [ParameterRange("dummy.share", 0.0, 1.0)])
    problem = Problem(ranges, [True, False, False, False, False])
    res = screening(problem, ["y", "y10"], _ishigami,
                    Settings(trajectories=20, sobol_n=1024, seed=3))
    # Morris: the parameters without effect are screened out, the three others survive
    assert res.survivors == order
    m = res.morris.set_index(["parameter", "output"])
    assert m.loc[("dummy.slots", "y"), "mu_star"] == 0.0
    assert m.loc[("dummy.share", "y"), "mu_star_normalised"] == 0.0
    # the scaled output has ten times the effects and the same normalised ones
    np.testing.assert_allclose(m.xs("y10", level="output")["mu_star"],
                               10 * m.xs("y", level="output")["mu_star"], rtol=1e-12)
    # Sobol on the survivors: the analytical indices, for both outputs (scale-free)
    s = res.sobol.set_index(["parameter", "output"])
    for out in ("y", "y10"):
        for k in ("x1", "x2", "x3"):
            assert s.loc[(k, out), "S1"] == pytest.approx(ISHIGAMI_S1[k], abs=0.05), k
            assert s.loc[(k, out), "ST"] == pytest.approx(ISHIGAMI_ST[k], abs=0.05), k
            assert s.loc[(k, out), "S1_conf"] < 0.1 and s.loc[(k, out), "ST_conf"] < 0.1
    assert s["influential"].all()  # every Ishigami parameter has ST >= 0.05
    assert len(res.designs["sobol"]) == 1024 * (3 + 2)
    assert len(res.designs["morris"]) == 20 * (5 + 1)


def test_screening_rule_threshold_any_output_and_always() -> None:
    morris = pd.DataFrame({
        "parameter": ["a", "b", "c", "a", "b", "c"],
        "output": ["o1"] * 3 + ["o2"] * 3,
        "mu_star_normalised": [1.0, 0.09, 0.0, 0.2, 1.0, np.nan]})
    assert screen(morris, ["c", "b", "a"], 0.1) == ["b", "a"]  # b passes on o2 only
    assert screen(morris, ["a", "b", "c"], 0.25) == ["a", "b"]
    assert screen(morris, ["a", "b", "c"], 0.25, always=["c"]) == ["a", "b", "c"]


def test_point_means_average_replications_and_skip_failed_runs() -> None:
    per_run = np.array([[1.0], [3.0], [2.0], [np.nan], [np.nan], [np.nan]])
    ev = point_means(per_run, 3, 2)
    np.testing.assert_array_equal(ev.mean[:, 0], [2.0, 2.0, np.nan])
    assert ev.var is not None and ev.var[0, 0] == 2.0 and ev.replications == 2


# --------------------------------------------------------------------------------------
# The experiment file's block, and the outputs
# --------------------------------------------------------------------------------------

BLOCK = {"outputs": ["kpi:population_coverage_2022_12"], "trajectories": 2, "sobol_n": 4,
         "ranges": {"development.effort_person_days": [400, 2000],
                    "sharing.efa.operator_onboarding_slots": [2, 14]}}


@pytest.mark.parametrize(("change", "needle"), [
    ({"sobol_n": 6}, "sensitivity.sobol_n=6 is not allowed: a power of 2"),
    ({"levels": 3}, "sensitivity.levels=3 is not allowed: an even integer"),
    ({"trajectories": 1}, "sensitivity.trajectories=1 is not allowed"),
    ({"threshold": 1.5}, "sensitivity.threshold=1.5 is not allowed"),
    ({"always": ["staffing.bund_fte"]}, "sensitivity.always: 'staffing.bund_fte' is not"),
    ({"nonesuch": 1}, "sensitivity.nonesuch is not allowed: keys are"),
    ({"outputs": []}, "sensitivity.outputs=[] is not allowed"),
    ({"ranges": {"development.effort_person_days": [9, 1]}},
     "sensitivity.ranges.development.effort_person_days=[9, 1] is not allowed"),
])
def test_bad_blocks_are_one_line_config_errors(change: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        spec_from_dict({**BLOCK, **change})
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_ranges_are_checked_against_the_config_and_integer_grids() -> None:
    cfg = make_config(world=TOY)
    problem = problem_of(spec_from_dict(BLOCK), cfg)
    assert problem.integer == [False, True]
    assert problem.points(np.array([[400.0, 6.4]])) == [
        {"development.effort_person_days": 400.0, "sharing.efa.operator_onboarding_slots": 6}]
    with pytest.raises(ConfigError, match="an integer parameter needs integer bounds"):
        problem_of(spec_from_dict({**BLOCK, "levels": 6}), cfg)
    with pytest.raises(ConfigError, match=r"sensitivity.ranges.staffing.nonesuch is not"):
        problem_of(spec_from_dict({**BLOCK, "ranges": {"staffing.nonesuch": [0, 1]}}), cfg)
    with pytest.raises(ConfigError, match=r"sharing.efa.propensity=\[0, 2\] is not allowed: "
                                          r"inside its declared range \[0\.6, 1\]"):
        problem_of(spec_from_dict({**BLOCK, "ranges": {"sharing.efa.propensity": [0, 2]}}),
                   cfg)
    # a key inside a mapping of the config (a Land programme) can be set too
    key = "state_programmes.bw.support.0.fte_factor"
    problem_of(spec_from_dict({**BLOCK, "ranges": {key: [1.0, 1.5]}}),
               make_config("state_programmes=all", world=TOY))


def test_outputs_are_resolved_and_checked(toy_world: World) -> None:
    cfg = make_config(world=TOY, end="2022-12")
    qs = resolve(["calibration:historical", "kpi:nationwide_2022_12",
                  "national:nationwide_reported@2022-12", "observable:reported_in_land:SL@2021-06",
                  "kpi:nationwide_2022_12"], cfg, toy_world)
    targets = historical_targets(load_spec("historical", {}, []), toy_world)
    cal = [q for q in qs if q.group == "calibration:historical"]
    # one output per distinct (series, month) of the targets, named observable:SERIES@MONTH
    assert len(cal) == len(targets[["series", "month"]].drop_duplicates())
    assert {q.name for q in cal} <= set(series_of(targets, toy_world))
    assert "observable:online_anywhere@2020-09" in {q.output for q in cal}  # 1 Oct 2020
    assert [q.group for q in qs[len(cal):]] == ["key_figures", "key_figures", "observables"]
    for bad, needle in (("kpi:nonesuch", "kpi: one of nationwide_reported_2022_12"),
                        ("national:nonesuch@2022-12", "national: one of online_anywhere"),
                        ("national:nationwide@2023-01", "its month lies after end=2022-12"),
                        ("observable:reported_in_land:BY@2022-07", "observable: one of"),
                        ("calibration:nonesuch", "calibration: one of historical"),
                        ("national:nationwide", "national: the form national:COLUMN@YYYY-MM"),
                        ("foo:bar", "one of the forms kpi:NAME")):
        with pytest.raises(ConfigError) as exc:
            resolve([bad], cfg, toy_world)
        assert f"sensitivity.outputs: {bad!r} is not allowed: " in str(exc.value), bad
        assert needle in str(exc.value), bad
    with pytest.raises(ConfigError, match="its targets reach 2022-12, after end=2021-12"):
        resolve(["calibration:historical"], make_config(world=TOY, end="2021-12"), toy_world)


def test_a_run_record_gives_the_outputs_the_tables_and_the_calibration_read() -> None:
    sw = make_sweep("t", {"points": [{"development.effort_person_days": 700.0}]},
                    ["world=toy", "end=2022-12"], 1, 1)
    rec = run_sweep(sw, workers=1)[0]
    assert tuple(rec.tables) == RECORD_TABLES
    cfg = sw.configs[0]
    world = world_for(cfg)
    qs = resolve(["calibration:historical", "kpi:population_coverage_2022_12",
                  "national:online_anywhere@2021-06"], cfg, world)
    # replication 0 runs with its draw from the calibrated posterior (MODEL.md 7.10)
    rep = replication_config(cfg, 0)
    r = simulate(world, rep, 0)
    obs = rep.observation
    for q in qs:
        if q.kind == "observable":
            expected = series_shares(world, r, [q.name], obs)[0, q.month]
        elif q.kind == "kpi":
            expected = rec.kpis[q.name]
        else:
            expected = rec.tables["national"].set_index("month").loc[q.month, q.name]
        assert q.value(rec) == pytest.approx(expected, abs=1e-12), q.output


def test_output_names_parse_and_label() -> None:
    assert output_parts("observable:reported_in_land:TH@2022-07") == (
        "observable", "reported_in_land:TH", "2022-07")
    assert output_parts("kpi:population_coverage_2022_12") == (
        "kpi", "population_coverage_2022_12", "")
    assert output_label("observable:reported_in_land:TH@2022-07") == (
        "Flächendeckend in TH, Jul 2022")
    assert output_label("national:nationwide_reported@2022-12", "de") == (
        "Flächendeckende Leistungen laut Dashboard, Dez. 2022")
    assert labels.param_label("municipal.info_lag_months_by_size_class.0", sentence=True) == (
        "Information lag, <5k (months)")
    assert labels.param_label("funding.programmes.3.external_fte_per_project", "de",
                              items={"funding.programmes.3": "IT-PLR-Budget"}) == (
        "Externe je gefördertem Projekt, IT-PLR-Budget (VZÄ)")


def _tables_from(folder: Path) -> dict[str, pd.DataFrame]:
    return {"morris": pd.read_csv(folder / "morris.csv"),
            "sobol": pd.read_csv(folder / "sobol.csv"),
            "evaluations": pd.read_parquet(folder / "evaluations.parquet")}


def _legends(fig) -> list:
    """Every legend of a figure and its subfigures."""
    return [*fig.legends, *(leg for sub in fig.subfigs for leg in _legends(sub))]


def test_figures_draw_from_tables_only() -> None:
    rng = np.random.default_rng(0)
    params = [f"p{i}" for i in range(12)]
    outs = ["observable:online_anywhere@2020-09", "kpi:population_coverage_2022_12"]
    mu = rng.uniform(0, 1, (len(outs), len(params)))
    morris = pd.DataFrame({"parameter": params * 2, "output": np.repeat(outs, 12),
                           "group": "g", "mu_star": mu.ravel(),
                           "sigma": mu.ravel() * rng.uniform(0.2, 1.5, 24)})
    morris["mu_star_normalised"] = morris["mu_star"] / morris.groupby("output")[
        "mu_star"].transform("max")
    fig, data = morris_figure(morris, 0.3, "de", "t", {"k": 12, "r": 4, "n": 2})
    numbers = morris_numbers(morris, 0.3)
    assert set(data.loc[data["number"] > 0, "parameter"]) == set(numbers)
    legends = _legends(fig)
    assert len(legends) == 1 and len(legends[0].get_texts()) == len(numbers)
    sobol = pd.DataFrame({"parameter": params[:4] * 2, "output": np.repeat(outs, 4),
                          "group": "g", "S1": 0.1, "S1_conf": 0.02,
                          "ST": np.linspace(0.02, 0.5, 8), "ST_conf": 0.05,
                          "influential": True, "noise_share": 0.01})
    fig, data = sobol_figure(sobol, 0.05, "en", "t")
    assert data.sort_values("row")["parameter"].iloc[0] == "p3"  # largest ST on top


# --------------------------------------------------------------------------------------
# The experiment end to end (toy world, tiny budget)
# --------------------------------------------------------------------------------------

SMALL = ["world=toy", "trajectories=2", "sobol_n=2", "replications=2",
         "outputs=calibration:historical,kpi:population_coverage_2022_12,"
         "national:nationwide_reported@2022-12"]


def _run(root: Path, workers: int, *extra: str) -> Path:
    out = run_experiment(["sensitivity", *SMALL, f"out={root / 'exp'}",
                          f"cache={root / 'cache'}", f"workers={workers}", *extra])
    assert out is not None
    return out


@pytest.fixture(scope="module")
def toy_sensitivity(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("sens"), 2)


@pytest.mark.slow
def test_the_experiment_writes_the_declared_tables_and_figures(toy_sensitivity: Path) -> None:
    out = toy_sensitivity
    man = json.loads((out / "manifest.json").read_text())
    assert man["experiment"] == "sensitivity" and man["failures"] == []
    sens = man["sensitivity"]
    k = len(sens["ranges"])
    assert sens["points"]["morris"] == 2 * (k + 1)
    assert sens["points"].get("sobol", 0) == (2 * (len(sens["survivors"]) + 2)
                                              if sens["survivors"] else 0)
    tables = _tables_from(out)
    for name, df in tables.items():
        assert tuple(df.columns) == TABLES[name].names, name
    morris, sobol = tables["morris"], tables["sobol"]
    outputs = {q["output"] for q in sens["analysed"]}
    assert set(morris["output"]) == outputs and len(morris) == k * len(outputs)
    assert set(morris.loc[morris["survived"], "parameter"]) == set(sens["survivors"])
    assert set(sobol["parameter"]) == set(sens["survivors"])
    assert (sobol["influential"] == (sobol["ST"].fillna(0) >= 0.05)).all()
    assert set(morris["group"]) == {"calibration:historical", "key_figures"}
    ev = tables["evaluations"]
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(ev) == len(runs) * len(outputs) and runs["status"].eq("ok").all()
    figs = {p.name for p in (out / "figures").iterdir()}
    for stem in ("morris_calibration_historical", "morris_key_figures",
                 "sobol_calibration_historical", "sobol_key_figures"):
        assert {f"{stem}.{x}" for x in ("png", "svg", "pdf", "csv")} <= figs, stem
    assert not list(out.parent.glob(".partial-*"))


@pytest.mark.slow
def test_same_seed_gives_the_same_tables_with_one_and_two_workers(toy_sensitivity: Path,
                                                                  tmp_path: Path) -> None:
    one = _run(tmp_path, 1, "lang=de")  # its own cache: every run again, in one process
    assert not pd.read_parquet(one / "runs.parquet")["cached"].any()
    assert (one / "figures" / "sobol_calibration_historical_de.png").is_file()  # in German
    for name in ("morris.csv", "sobol.csv"):
        assert (one / name).read_bytes() == (toy_sensitivity / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(one / "evaluations.parquet"),
                                  pd.read_parquet(toy_sensitivity / "evaluations.parquet"))


@pytest.mark.parametrize(("args", "needle"), [
    (["outputs=kpi:nonesuch"], "sensitivity.outputs: 'kpi:nonesuch' is not allowed"),
    (["levels=6"], "sensitivity.ranges.sharing.efa.operator_onboarding_slots=[2, 14] is "
                   "not allowed"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, needle, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "sim.cli.experiment", "sensitivity",
                        "world=toy", *args, f"out={tmp_path / 'exp'}",
                        f"cache={tmp_path / 'c'}"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ozg-sim-experiment: error:"), r.stderr
    assert needle in err[0]
    assert not (tmp_path / "exp").exists() and not (tmp_path / "c").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["outputs=national:nationwide@2031-01"], "its month lies after end=2022-12"),
    (["outputs=calibration:historical", "end=2021-12"], "its targets reach 2022-12"),
    (["sobol_n=30"], "sensitivity.sobol_n=30 is not allowed"),
    (["trajectories=x"], "sensitivity.trajectories='x' is not allowed"),
])
def test_bad_options_stop_before_anything_runs(args, needle, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        run_experiment(["sensitivity", "world=toy", *args, f"out={tmp_path / 'exp'}",
                        f"cache={tmp_path / 'c'}"])
    assert not (tmp_path / "exp").exists() and not (tmp_path / "c").exists()


def test_sensitivity_options_are_refused_by_other_experiments() -> None:
    with pytest.raises(ConfigError, match="trajectories= is not allowed: an option of "
                                          "sensitivity experiments only"):
        run_experiment(["efa_vs_efv", "world=toy", "trajectories=3"])
