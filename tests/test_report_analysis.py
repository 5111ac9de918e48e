"""ozg-sim-report on the analyses: a sensitivity folder gets a report of its own (design,
influential parameters with their largest total-order index, Morris and Sobol figures,
ranges), and an exploration's regret ranking is a table of the experiment's report; the
numbers read back from the HTML equal the folders' own tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.report import build_report, render_html
from sim.report.analysis import INDEX_DECIMALS
from sim.report.texts import t

ROOT = Path(__file__).resolve().parents[1]
SENSITIVITY_SPEC = """# ozg-sim-experiment ./sens_toy.yaml
name: sens_toy
title: "Three parameters on the toy world"
title_de: "Drei Parameter in der Spielzeugwelt"
description: "A small screening."
replications: 1
seed: 1
base: [end=2022-12]
sensitivity:
  outputs: [kpi:population_coverage_2022_12, national:online_anywhere_share@2022-12]
  trajectories: 3
  levels: 4
  threshold: 0.0
  sobol_n: 8
  st_threshold: 0.05
  ranges:
    development.effort_person_days: [400, 2000]
    municipal.onboarding_effort_person_days: [1, 12]
    staffing.team_fte: [2, 5]
"""
DECISIONS_SPEC = """# ozg-sim-experiment ./dec_toy.yaml
name: dec_toy
title: "EfV against EfA on the toy world"
replications: 2
seed: 1
base: [end=2026-12]
sensitivity:
  outputs: []
  contrasts:
    - {factor: strategy, a: efa, b: efv}
  columns: [population_coverage]
  months: ["2022-12", "2026-12"]
  yearly: false
  trajectories: 2
  levels: 4
  threshold: 0.0
  sobol_n: 4
  ranges:
    development.effort_person_days: [400, 2000]
    sharing.efa.propensity: [0.6, 1.0]
"""
EXPLORATION_SPEC = """# ozg-sim-experiment ./expl_toy.yaml
name: expl_toy
title: "Two strategies across four scenarios"
replications: 2
seed: 1
base: []
design:
  lhs:
    n: 4
    ranges:
      development.effort_person_days: [500, 1500]
      municipal.onboarding_effort_person_days: [1.5, 6.0]
  cross:
    strategy: [efa, efv]
reference: {factor: strategy, level: efa}
figures: [regret]
"""


def _experiment(tmp: Path, name: str, spec: str) -> Path:
    (tmp / f"{name}.yaml").write_text(spec, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "sim.cli.experiment", f"./{name}.yaml",
                        "world=toy", "workers=1", f"out={tmp / 'out'}", "--no-cache"],
                       capture_output=True, text=True, cwd=tmp, timeout=600,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                            "MPLBACKEND": "Agg", "HOME": str(tmp)})
    assert r.returncode == 0, r.stderr[-2000:]
    (folder,) = (tmp / "out" / name).iterdir()
    return folder


@pytest.fixture(scope="module")
def sensitivity(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _experiment(tmp_path_factory.mktemp("sens"), "sens_toy", SENSITIVITY_SPEC)


@pytest.fixture(scope="module")
def decisions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _experiment(tmp_path_factory.mktemp("dec"), "dec_toy", DECISIONS_SPEC)


@pytest.fixture(scope="module")
def exploration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _experiment(tmp_path_factory.mktemp("expl"), "expl_toy", EXPLORATION_SPEC)


def _tables(html: str) -> list[pd.DataFrame]:
    from io import StringIO

    return pd.read_html(StringIO(html))


def _num(s: str) -> float:
    return float(str(s).replace("\u2212", "-").replace(",", ".").split(" ")[0])


@pytest.mark.parametrize("lang", ["en", "de"])
def test_sensitivity_report(sensitivity: Path, lang: str) -> None:
    report = build_report(sensitivity, lang)  # type: ignore[arg-type]
    assert report.kind == "sensitivity"
    stems = [f.source for f in report.figures()]
    assert any(s.startswith("morris_") for s in stems)
    assert any(s.startswith("sobol_") for s in stems)
    tables = _tables(render_html(report).decode())
    sobol = pd.read_csv(sensitivity / "sobol.csv")
    infl = sobol[sobol["influential"]]
    assert len(infl), "the toy screening should find an influential parameter"
    head = t("col_st_max", lang)  # type: ignore[arg-type]
    (found,) = [df for df in tables if head in df.columns]
    assert len(found) == infl["parameter"].nunique()
    # every row's largest ST is that of sobol.csv, rounded as shown; ranked by it
    shown = [_num(x) for x in found[head]]
    expected = sorted(infl.groupby("parameter")["ST"].max(), reverse=True)
    assert shown == [round(x, INDEX_DECIMALS) for x in expected]
    ranges = [df for df in tables if t("col_range_param", lang) in df.columns]  # type: ignore[arg-type]
    assert len(ranges) == 1 and len(ranges[0]) == 3


def test_sensitivity_report_refuses_dates(sensitivity: Path) -> None:
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match="dates= is not allowed for a sensitivity folder"):
        build_report(sensitivity, "en", dates=["2022-12"])


@pytest.mark.parametrize("lang", ["en", "de"])
def test_exploration_report_ranks_regret(exploration: Path, lang: str) -> None:
    report = build_report(exploration, lang)  # type: ignore[arg-type]
    html = render_html(report).decode()
    tables = _tables(html)
    regret = pd.read_csv(exploration / "figures" / "regret.csv", comment="#")
    head = t("col_regret_max", lang)  # type: ignore[arg-type]
    found = [df for df in tables if head in df.columns]
    assert len(found) == regret["outcome"].nunique() == 2
    for df, (_, sub) in zip(found, regret.groupby("outcome", sort=False), strict=True):
        assert len(df) == len(sub)
        assert [int(x) for x in df[t("col_rank_max", lang)]] == list(  # type: ignore[arg-type]
            sub["rank_max_regret"])
    words = {"efa": "EfA", "efv": "EfV"}
    cov = regret[regret["better"] == "higher"]
    robust, best = (" / ".join(words[x] for x in cov.loc[cov[r] == cov[r].min(), "strategy"])
                    for r in ("rank_max_regret", "rank_median_regret"))
    note = t("regret_note", lang, robust=robust, best=best,  # type: ignore[arg-type]
             unit=t("unit_pp", lang), end="").strip()  # type: ignore[arg-type]
    assert note in html
    # the design is said in words, not dumped as JSON
    assert '"lhs"' not in html and "Latin" in html


@pytest.mark.parametrize("lang", ["en", "de"])
def test_decisions_report_states_each_decision(decisions: Path, lang: str) -> None:
    """One row per decision and analysed month: the share of scenarios in which EfV is
    ahead equals contrast_signs.csv, flips and influential parameters named."""
    report = build_report(decisions, lang)  # type: ignore[arg-type]
    tables = _tables(render_html(report).decode())
    head = t("col_ahead", lang)  # type: ignore[arg-type]
    (found,) = [df for df in tables if head in df.columns]
    signs = pd.read_csv(decisions / "contrast_signs.csv")
    outputs = list(dict.fromkeys(signs["output"]))
    assert len(found) == len(outputs) == 2
    for shown, out in zip(found[head], outputs, strict=True):
        rows = signs[signs["output"] == out]
        stage = "sobol" if (rows["stage"] == "sobol").any() else rows["stage"].iloc[0]
        share = float(rows.loc[rows["stage"] == stage, "positive_share"].iloc[0])
        assert _num(str(shown).rstrip("%").replace("\u00a0", " ")) == round(100 * share, 1)
    assert any("EfV" in str(x) for x in found[t("col_decision", lang)])  # type: ignore[arg-type]
