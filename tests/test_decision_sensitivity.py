"""The sensitivity of decisions (``sim.sensitivity.contrasts``, ``ozg-sim-experiment
decisions``): known Sobol indices of a synthetic contrast recovered through the same code
path as the model's (sweep, variants, pairing on common random numbers, analysis); the
sign-flip flag; the contrasts' names, labels and variants; the experiment end to end on
the toy world (tables, figures in both languages at a legible size, redraw); bad options
as one line and exit code 2 with nothing written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from SALib.test_functions import Ishigami

from sim.cli.experiment import run_experiment
from sim.cli.figures import redraw
from sim.config import load_config
from sim.errors import ConfigError
from sim.figures import recipes
from sim.figures.decisions import contrast_label, flip_sentence
from sim.figures.sensitivity import output_label
from sim.figures.style import MIN_PRINTED_PT, printed_pt
from sim.keys import get_path
from sim.outputs import SENSITIVITY_TABLES, output_parts
from sim.ranges import ParameterRange
from sim.sensitivity import Problem, Settings, SweepEvaluator, resolve, screening
from sim.sensitivity.contrasts import (
    Contrast,
    parse_contrasts,
    plan_variants,
    sign_flips,
    sign_table,
)
from sim.sweep import RunRecord, world_for

PI = np.pi
#: Analytical indices of Ishigami (a = 7, b = 0.1): Saltelli et al. (2008), Primer.
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
TABLES = {t.name: t for t in SENSITIVITY_TABLES}

#: Real parameters of the toy configuration standing for Ishigami's x1..x3 (each mapped
#: from its range onto [-pi, pi]) and one without effect.
SYNTHETIC = {"x1": ParameterRange("development.complexity_elasticity", 0.2, 0.8),
             "x2": ParameterRange("municipal.complexity_elasticity", 0.1, 0.6),
             "x3": ParameterRange("development.delay_cv", 0.5, 1.5)}
NO_EFFECT = ParameterRange("staffing.team_fte", 2.0, 5.0)
MONTH = 35  # 2020-12
OUTPUT = "contrast:strategy=efv-efa:national:population_coverage@2020-12"


def _ishigami_of(cfg) -> float:
    x = [-PI + 2 * PI * (get_path(cfg, p.key) - p.low) / (p.high - p.low)
         for p in SYNTHETIC.values()]
    return float(Ishigami.evaluate(np.array([x]))[0])


def _fake_runner(point: int, replication: int, cfg, key: str,
                 cache_dir: Path | None) -> RunRecord:
    """A run whose coverage at the month is g(parameters) + noise of the replication at the
    reference level (EfA) and that plus Ishigami at EfV: the paired contrast is Ishigami
    exactly, and only if both levels' runs of a replication are paired."""
    noise = np.random.default_rng(1000 + replication).normal(0, 5.0)
    g = 3.0 * get_path(cfg, NO_EFFECT.key) + noise
    value = g + (_ishigami_of(cfg) if cfg.strategy.name == "efv" else 0.0)
    nat = pd.DataFrame({"month": [MONTH], "population_coverage": [value]})
    return RunRecord(point, replication, key, "ok", 0.0, False, tables={"national": nat})


@pytest.mark.slow
def test_the_contrast_path_recovers_the_ishigami_indices() -> None:
    base = ["world=toy", "end=2022-12"]
    cfg = load_config([*base, "seed=3", "replications=2"])
    quantities = resolve([OUTPUT], cfg, world_for(cfg))
    ev = SweepEvaluator(base, quantities, 2, 3, workers=1, name="ishigami",
                        base_levels={"strategy": cfg.strategy.name}, runner=_fake_runner)
    assert ev.variant_labels == ["base", "strategy=efv"]  # EfA is the base's strategy
    problem = Problem([NO_EFFECT, *SYNTHETIC.values()])
    res = screening(problem, [OUTPUT], ev, Settings(trajectories=10, sobol_n=256, seed=3))
    # the parameter without effect cancels in the pair, as does the replication's noise
    m = res.morris.set_index("parameter")
    assert m.loc[NO_EFFECT.key, "mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert res.survivors == [p.key for p in SYNTHETIC.values()]
    s = res.sobol.set_index("parameter")
    for name, p in SYNTHETIC.items():
        row = s.loc[p.key]
        for idx, truth in (("S1", ISHIGAMI_S1[name]), ("ST", ISHIGAMI_ST[name])):
            # the analytic value within the bootstrap interval, and the interval narrow
            assert abs(row[idx] - truth) <= max(row[f"{idx}_conf"], 0.03), (name, idx)
            assert abs(row[idx] - truth) < 0.15 and row[f"{idx}_conf"] < 0.3, (name, idx)
    assert s["noise_share"].iloc[0] == pytest.approx(0.0, abs=1e-12)  # CRN: no noise left
    # every design point ran at both levels, each replication once
    assert len(ev.records["sobol"]) == 2 * 2 * 256 * (3 + 2)


def test_a_mispaired_contrast_would_keep_the_noise() -> None:
    """The pairing is by (point, replication): evaluating the fake runner's contrast with
    replications swapped leaves the noise in, so the test above can fail."""
    cfg = load_config(["world=toy", "end=2022-12", "strategy=efv"])
    same = [_fake_runner(0, r, cfg, "k", None).tables["national"]["population_coverage"][0]
            - _fake_runner(0, r, load_config(["world=toy", "end=2022-12"]), "k", None)
            .tables["national"]["population_coverage"][0] for r in (0, 1)]
    crossed = (_fake_runner(0, 0, cfg, "k", None).tables["national"]["population_coverage"][0]
               - _fake_runner(0, 1, load_config(["world=toy", "end=2022-12"]), "k", None)
               .tables["national"]["population_coverage"][0])
    assert same[0] == pytest.approx(same[1]) and crossed != pytest.approx(same[0])


def test_sign_flip_flag_finds_a_planted_flip_and_not_a_monotone_contrast() -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 10, size=(400, 2))
    flip = 0.02 * (x[:, 0] - 5) + rng.normal(0, 0.01, 400)       # sign changes with x0
    monotone = 0.01 + 0.02 * x[:, 0] + rng.normal(0, 0.01, 400)  # always positive
    noise = rng.normal(0, 0.01, 400)                              # no sign at all
    means = np.column_stack([flip, monotone, noise])
    names = ["flip", "monotone", "noise"]
    table = sign_table([(n, "g") for n in names], ["a", "b"], [(0, 10), (0, 10)],
                       [("sobol", ["a", "b"], x, means, names)], TABLES["contrast_signs"].names)
    assert tuple(table.columns) == TABLES["contrast_signs"].names
    flags = table.set_index(["output", "parameter"])["sign_flips"]
    assert flags[("flip", "a")] and not flags[("flip", "b")]  # x1 has no bearing on it
    assert not flags[("monotone", "a")] and not flags[("monotone", "b")]
    assert not flags[("noise", "a")]
    t = table.set_index(["output", "parameter"])
    assert t.loc[("flip", "a"), "mean_low"] < 0 < t.loc[("flip", "a"), "mean_high"]
    assert t.loc[("monotone", "a"), "positive_share"] == pytest.approx(
        float(np.mean(monotone > 0)))
    # opposite signs within noise, or an end without a standard error, is no flip
    assert not sign_flips(-0.01, 0.01, 0.01, 0.01)
    assert not sign_flips(-1.0, np.nan, 1.0, 0.1)
    assert sign_flips(-1.0, 0.1, 1.0, 0.1)
    sentence = flip_sentence(table, "en")
    assert sentence.count("(") == 1 and "flip" in sentence


def test_contrast_names_labels_and_variants() -> None:
    assert output_parts("contrast:strategy=efv-efa:national:nationwide_share@2026-12") == (
        "contrast", "strategy=efv-efa:national:nationwide_share", "2026-12")
    got = parse_contrasts([{"factor": "funding", "a": "konjunkturpaket", "b": "koenigstein"},
                           "strategy=efv-efa", "strategy=efv-efa"])
    assert got == [Contrast("funding", "konjunkturpaket", "koenigstein"),
                   Contrast("strategy", "efa", "efv")]  # duplicates dropped
    assert contrast_label("strategy=efv-efa") == "EfV \u2212 EfA"
    assert contrast_label("funding=koenigstein-konjunkturpaket") == (
        "Königsteiner Schlüssel \u2212 project by project")
    assert contrast_label("funding=koenigstein-konjunkturpaket", "de") == (
        "Königsteiner Schlüssel \u2212 projektweise")
    assert contrast_label("strategy=einzel-efa", "de") == "jedes Land für sich \u2212 EfA"
    assert output_label("contrast:strategy=efv-efa:national:population_coverage@2026-12"
                        ) == "Population coverage, Dec 2026"
    # the base's levels are run once: EfA is the base; both funding levels are variants
    c1, c2 = Contrast("strategy", "efa", "efv"), Contrast("funding", "konjunkturpaket",
                                                          "koenigstein")
    variants, pairs = plan_variants([None, c1, c2, c1],
                                    {"strategy": "efa", "funding": "historical"})
    assert variants == [{}, {"strategy": "efv"}, {"funding": "konjunkturpaket"},
                        {"funding": "koenigstein"}]
    assert pairs == [(None, 0), (0, 1), (2, 3), (0, 1)]


# --------------------------------------------------------------------------- end to end

SMALL = ["world=toy", "trajectories=2", "sobol_n=2", "max_survivors=2", "replications=2",
         "contrasts=strategy=efv-efa,funding=koenigstein-konjunkturpaket",
         "months=2020-12,2026-12", "columns=population_coverage"]


def _texts(fig: Figure) -> list[Text]:
    fig.draw_without_rendering()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


@pytest.fixture(scope="module")
def toy_decisions(tmp_path_factory) -> tuple[Path, dict[str, float], Path]:
    """A tiny decisions experiment on the toy world, one worker, its figures in English
    and German; the smallest printed text size of every figure saved."""
    root = tmp_path_factory.mktemp("decisions")
    smallest: dict[str, float] = {}
    original = recipes.save_figure

    def checked(fig: Figure, out_dir, name: str, data: pd.DataFrame,
                provenance) -> list[Path]:
        size = min(t.get_fontsize() for t in _texts(fig))
        smallest[name] = printed_pt(float(size), float(fig.get_figwidth()))
        return original(fig, out_dir, name, data, provenance)

    mp = pytest.MonkeyPatch()
    mp.setattr(recipes, "save_figure", checked)
    try:
        out = run_experiment(["decisions", *SMALL, f"out={root / 'exp'}",
                              f"cache={root / 'cache'}", "workers=1"])
        assert out is not None
        recipes.draw_experiment_figures(out, "de", out=root / "de")
    finally:
        mp.undo()
    return out, smallest, root / "de"


@pytest.mark.slow
def test_the_experiment_writes_tables_and_figures_in_both_languages(
        toy_decisions: tuple[Path, dict[str, float], Path]) -> None:
    out, smallest, de_dir = toy_decisions
    man = json.loads((out / "manifest.json").read_text())
    sens = man["sensitivity"]
    assert man["experiment"] == "decisions" and man["failures"] == []
    assert man["figure_list"] == ["contrast_morris", "contrast_sobol", "contrast_evolution"]
    assert sens["variants"] == ["base", "strategy=efv", "funding=konjunkturpaket",
                                "funding=koenigstein"]
    k = len(sens["ranges"])
    years = list(range(2018, 2031))
    outputs = {q["output"] for q in sens["analysed"]}
    assert len(outputs) == 2 * len(years)  # 2020-12 and 2026-12 are Decembers too
    assert set(sens["screened_on"]) == {
        f"contrast:{c}:national:population_coverage@{m}"
        for c in ("strategy=efv-efa", "funding=koenigstein-konjunkturpaket")
        for m in ("2020-12", "2026-12")}
    for name in ("morris", "sobol", "contrast_signs"):
        df = pd.read_csv(out / f"{name}.csv")
        assert tuple(df.columns) == TABLES[name].names, name
    signs = pd.read_csv(out / "contrast_signs.csv")
    assert len(signs) == k * len(outputs)
    survivors = set(sens["survivors"])
    assert len(survivors) <= 2
    assert (signs["stage"] == np.where(signs["parameter"].isin(survivors), "sobol",
                                       "morris")).all()
    runs = pd.read_parquet(out / "runs.parquet")
    per_point = 4 * 2  # variants x replications
    assert len(runs) == per_point * (2 * (k + 1) + (2 * (len(survivors) + 2)
                                                     if survivors else 0))
    ev = pd.read_parquet(out / "evaluations.parquet")
    assert len(ev) == len(runs) // 4 * len(outputs)
    # a difference of two shares, from every run
    assert ev["value"].between(-1, 1).all()
    # figures: both languages, with sidecars, nothing below 7 pt at full width
    figs = {p.name for p in (out / "figures").iterdir()}
    de = {p.name for p in de_dir.iterdir()}
    for stem in ("contrast_morris_strategy_efv_efa", "contrast_sobol_strategy_efv_efa",
                 "contrast_morris_funding_koenigstein_konjunkturpaket",
                 "contrast_evolution_population_coverage"):
        assert {f"{stem}.{x}" for x in ("png", "svg", "pdf", "csv")} <= figs, stem
        assert {f"{stem}_de.{x}" for x in ("png", "svg", "pdf", "csv")} <= de, stem
    assert len(smallest) == len([n for n in figs if n.endswith(".png")]) * 2
    too_small = {n: v for n, v in smallest.items() if v < MIN_PRINTED_PT - 1e-9}
    assert not too_small, too_small
    assert not list(out.parent.glob(".partial-*"))


@pytest.mark.slow
def test_the_figures_redraw_from_the_saved_tables(
        toy_decisions: tuple[Path, dict[str, float], Path]) -> None:
    out, _, _ = toy_decisions
    sidecar = out / "figures" / "contrast_sobol_strategy_efv_efa.csv"
    before = sidecar.read_bytes()
    written = redraw(out, "de")
    assert "contrast_sobol_strategy_efv_efa_de.png" in written
    redraw(out, "en")
    assert sidecar.read_bytes() == before


@pytest.mark.parametrize(("args", "needle"), [
    (["contrasts=strategy=nonesuch-efa"], "sensitivity.contrasts: 'strategy=nonesuch-efa' is "
                                          "not allowed: 'nonesuch' is not a level of strategy"),
    (["months=2031-12"], "its month lies after end=2030-12"),
])
def test_bad_options_are_one_line_exit_2_and_write_nothing(args, needle,
                                                           tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "sim.cli.experiment", "decisions",
                        "world=toy", *args, f"out={tmp_path / 'exp'}",
                        f"cache={tmp_path / 'c'}"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ozg-sim-experiment: error:"), r.stderr
    assert needle in err[0]
    assert not (tmp_path / "exp").exists() and not (tmp_path / "c").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["contrasts=staffing=low-high"], "'staffing=low-high' is not allowed: the factor is one "
                                      "of strategy, funding, operation"),
    (["contrasts=strategy=efa-efa"], "'strategy=efa-efa' is not allowed: two different"),
    (["contrasts=strategy:efv"], "'strategy:efv' is not allowed: the form FACTOR=B-A"),
    (["columns=nonesuch"], "is not allowed: national: one of"),
    (["yearly=perhaps"], "sensitivity.yearly='perhaps' is not allowed: true or false"),
    (["max_survivors=0"], "sensitivity.max_survivors"),
])
def test_bad_options_stop_before_anything_runs(args, needle, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        run_experiment(["decisions", "world=toy", *args, f"out={tmp_path / 'exp'}",
                        f"cache={tmp_path / 'c'}"])
    assert not (tmp_path / "exp").exists() and not (tmp_path / "c").exists()


def test_dry_run_shows_the_variants_and_the_budget(tmp_path: Path, capsys) -> None:
    assert run_experiment(["decisions", "world=toy", "--dry-run", "--no-cache",
                           f"out={tmp_path / 'exp'}"]) is None
    said = capsys.readouterr().out
    assert "every design point runs at 8 variants" in said
    assert "x 8 variants x 2 replications" in said and "at most" in said
    assert not (tmp_path / "exp").exists()
