"""Text of every figure: legible when placed at full A4 text width, editable in SVG, one
wording per level, no marker hidden behind another, and language files side by side.

The figures come from a toy ``efa_vs_efv`` folder (every recipe its tables allow), a toy
run folder, and synthetic tables for the recipes that need another design (heatmaps,
robustness). ``save_figure`` is wrapped so each figure is checked as it is saved.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from sim.cli.experiment import run_experiment
from sim.cli.figures import redraw
from sim.figures import charts, exploration, labels, recipes, run, save
from sim.figures.levels import LEVELS
from sim.figures.style import MIN_PRINTED_PT, printed_pt

#: Recipes an ``efa_vs_efv`` folder's tables can draw (heatmaps, robustness and the
#: sensitivity charts need other designs: heatmaps and robustness are drawn below).
EXPERIMENT_RECIPES = ["fan", "difference", "small_multiples", "maps", "time_to_target",
                      "cost_coverage", "state_differences", "running_costs", "size_classes"]


def _texts(fig: Figure) -> list[Text]:
    """Visible, non-empty text artists of a drawn figure (tick labels included)."""
    fig.draw_without_rendering()
    return [t for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


class Checked:
    """Records, per saved figure, its smallest printed size and its legend texts."""

    def __init__(self) -> None:
        self.small: dict[str, tuple[float, str]] = {}
        self.legends: dict[str, list[str]] = {}

    def check(self, fig: Figure, name: str) -> None:
        width = float(fig.get_figwidth())
        texts = _texts(fig)
        assert texts, name
        smallest = min(texts, key=lambda t: t.get_fontsize())
        self.small[name] = (printed_pt(float(smallest.get_fontsize()), width),
                            smallest.get_text())
        self.legends[name] = [t.get_text() for lg in fig.legends + [
            a.get_legend() for a in fig.axes if a.get_legend() is not None]
            for t in lg.get_texts()]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Checked, Path]]:
    root = tmp_path_factory.mktemp("text")
    exp = run_experiment(["efa_vs_efv", "world=toy", "replications=2", "workers=1",
                          f"out={root / 'exp'}", f"cache={root / 'cache'}"])
    assert exp is not None
    rec = Checked()
    original = save.save_figure

    def wrapped(fig: Figure, out_dir: str | Path, name: str, data: pd.DataFrame,
                provenance: object) -> list[Path]:
        rec.check(fig, name)
        return original(fig, out_dir, name, data, provenance)  # type: ignore[arg-type]

    mp = pytest.MonkeyPatch()
    for module in (recipes, run):
        mp.setattr(module, "save_figure", wrapped)
    for lang in ("en", "de"):
        recipes.draw_experiment_figures(exp, lang, EXPERIMENT_RECIPES,
                                        out=root / f"figs_{lang}")
    run_dir = root / "run"  # one design point's tables as a run folder
    run_dir.mkdir()
    for table in ("national", "by_state", "by_kreis"):
        df = pd.read_parquet(exp / table)  # the sweep's dataset (sim/store.py)
        one = df[(df["strategy"] == "efa") & (df["funding"] == "konjunkturpaket")]
        one.drop(columns=["point", "strategy", "funding"]).to_parquet(
            run_dir / f"{table}.parquet", index=False)
    for lang in ("en", "de"):
        files = run.draw_run_figures(run_dir, "OZG rollout: a toy run", lang=lang,
                                     strategy="efa")
        assert any(f.startswith("map_kreis") for f in files)
    yield rec, exp
    mp.undo()


def test_every_recipe_prints_at_least_7_pt_at_a4_width(checked) -> None:
    rec, _ = checked
    assert len(rec.small) >= 2 * len(EXPERIMENT_RECIPES)
    too_small = {n: v for n, v in rec.small.items() if v[0] < MIN_PRINTED_PT - 1e-9}
    assert not too_small, too_small


def test_heatmap_robustness_and_regret_print_at_least_7_pt() -> None:
    rng = np.random.default_rng(1)
    rows = [{"replication": r, "strategy": s, "staffing.dev_fte_factor": d,
             "staffing.municipal_fte_factor": m,
             "population_coverage_2022_12": float(rng.uniform()),
             "months_to_90pct_population_coverage": float(rng.uniform(40, 80))}
            for s in ("efa", "efv") for d in (0.5, 1.0) for m in (0.5, 1.0) for r in range(2)]
    fig, _ = charts.heatmap_figure(pd.DataFrame(rows), "staffing.dev_fte_factor",
                                   "staffing.municipal_fte_factor",
                                   "population_coverage_2022_12", facet="strategy")
    params = ["development.effort_person_days", "sharing.efa.propensity"]
    long = pd.DataFrame([{params[0]: float(rng.uniform(500, 1500)),
                          params[1]: float(rng.uniform()), "strategy": s,
                          "mean_diff": float(rng.normal())}
                         for s in ("efv", "einzel") for _ in range(10)])
    fig2, _ = exploration.robustness_figure(long, params, "strategy", "efa", "en", "Robustness")
    long2 = pd.concat([long.assign(funding=f) for f in ("konjunkturpaket", "koenigstein")])
    fig4, _ = exploration.robustness_figure(long2, params, "strategy", "efa", "de", "Robustheit",
                                            facets=["funding"], n_params=60)
    regret = pd.DataFrame([{"outcome": o, "better": b, "strategy": s, "n_scenarios": 10,
                            "n_censored_scenarios": 1 if b == "lower" else 0,
                            "regret_median": m, "regret_q90": 2 * m, "regret_max": 3 * m,
                            "rank_max_regret": i + 1, "rank_median_regret": i + 1,
                            "censored_at": 156.0 if b == "lower" else np.nan}
                           for o, b, k in (("population_coverage_2026_12", "higher", 0.01),
                                           ("months_to_90pct_population_coverage", "lower",
                                            4.0))
                           for i, (s, m) in enumerate((("efa", 0.0), ("mixed", k)))])
    fig3, _ = exploration.regret_figure(regret, ["strategy"], "de", "Regret", "2026-12", 4)
    fig5, _ = exploration.regret_figure(regret.assign(funding="koenigstein"),
                                        ["strategy", "funding"], "en", "Regret", "2026-12", 4)
    for f in (fig, fig2, fig3, fig4, fig5):
        sizes = [printed_pt(float(t.get_fontsize()), float(f.get_figwidth()))
                 for t in _texts(f)]
        assert min(sizes) >= MIN_PRINTED_PT - 1e-9


def test_waterfall_prints_at_least_7_pt_in_both_languages() -> None:
    """The ``waterfall`` recipe needs the ``mechanisms`` design: drawn from a synthetic
    table with every level (tests/test_mechanisms.py runs the experiment itself)."""
    from sim.calendar import month_index
    from sim.figures import waterfall
    from sim.mechanisms import ALL, MECHANISMS, NONE
    rng = np.random.default_rng(1)
    nat = pd.DataFrame([{"mechanisms.switched_off": lev, "replication": r,
                         "month": month_index(m), "population_coverage": float(rng.uniform()),
                         "online_anywhere_share": float(rng.uniform(0.5, 1)),
                         "nationwide_share": float(rng.uniform(0, 0.5))}
                        for lev in (NONE, *MECHANISMS, ALL) for r in range(4)
                        for m in waterfall.WATERFALL_MONTHS])
    table = waterfall.waterfall_table(nat, "mechanisms.switched_off", NONE, ALL)
    for lang in ("en", "de"):
        fig, data = waterfall.waterfall_figure(table, "mechanisms.switched_off", lang,
                                               "Mechanisms", 4)
        assert data is table
        sizes = [printed_pt(float(t.get_fontsize()), float(fig.get_figwidth()))
                 for t in _texts(fig)]
        assert min(sizes) >= MIN_PRINTED_PT - 1e-9


def test_legend_words_of_a_level_come_from_the_level_table(checked) -> None:
    """One wording per level: a legend entry naming a strategy or funding level is that
    level's long or short label (alone or joined with another level's by `` · ``)."""
    rec, _ = checked
    allowed = set()
    for lang in ("en", "de"):
        for factor, table in LEVELS.items():
            for key in table:
                allowed |= {labels.label_value(factor, key, lang),
                            labels.label_value(factor, key, lang, short=True)}
    seen = 0
    for name, texts in rec.legends.items():
        for t in texts:
            parts = [p.strip() for p in t.replace("\n", " ").split(" · ")]
            for p in parts:
                if any(w in p for w in ("EfA", "EfV", "Land alone", "für sich", "mixed",
                                        "gemischt", "stimulus", "Konjunkturpaket",
                                        "programme", "Förder")) and "%" not in p:
                    assert p in allowed, (name, p)
                    seen += 1
    assert seen > 0
    for wrong in ("each Land for itself", "jedes Land allein"):
        assert all(wrong not in t for ts in rec.legends.values() for t in ts)


def test_german_redraw_keeps_the_english_figures_and_the_reverse(checked, tmp_path) -> None:
    _, exp = checked
    copy = tmp_path / "exp"
    shutil.copytree(exp, copy)
    english = {p.name for p in (copy / "figures").iterdir()}
    redraw(copy, "de")
    after = {p.name for p in (copy / "figures").iterdir()}
    assert english <= after
    assert "fan_population_coverage_de.png" in after
    de_png = (copy / "figures" / "fan_population_coverage_de.png").read_bytes()
    redraw(copy, "en")
    again = {p.name for p in (copy / "figures").iterdir()}
    assert after == again
    assert (copy / "figures" / "fan_population_coverage_de.png").read_bytes() == de_png


def test_svg_text_stays_text(checked) -> None:
    _, exp = checked
    svg = (exp / "figures" / "fan_population_coverage.svg").read_text(encoding="utf-8")
    assert "<text" in svg and "Population coverage" in svg


def test_time_to_target_shows_the_month_of_a_short_bar_beside_it() -> None:
    summary = pd.DataFrame({"strategy": ["efa", "efv"], "n_replications": 5,
                            "n_reached": 5, "median": [6.0, 60.0], "lo": [5.0, 55.0],
                            "hi": [8.0, 70.0]})
    import matplotlib.pyplot as plt

    from sim.figures.axes import time_to_target_bars
    fig, ax = plt.subplots()
    time_to_target_bars(ax, summary, horizon_months=120)
    month = next(t for t in ax.texts if t.get_text() == "Jul 2018")
    assert month.get_position()[0] > 8.0  # right of the upper whisker, not inside the bar
    plt.close(fig)
