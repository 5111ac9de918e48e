"""The rollout timeline: its table on synthetic events with known answers, the run's chart
from a toy run's saved tables (sidecar equal to a by-hand computation from
``events.parquet``), and the experiment recipe from ``by_topic``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from sim.cli.experiment import run_experiment
from sim.figures import recipes, timeline
from sim.figures import run as run_module
from sim.figures.run import draw_run_figures
from sim.figures.style import MIN_PRINTED_PT, printed_pt
from sim.figures.tables import TIMELINE_COLUMNS, timeline_table, topic_timeline_table

ROOT = Path(__file__).resolve().parents[1]

SERVICES = pd.DataFrame({"ozg_id": [1, 2, 3, 4], "topic": ["A", "A", "A", "B"],
                         "executor": ["federal", "municipal", "state", "municipal"]})


def _events(rows: list[tuple[int, float, str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["replication", "time_months", "event", "ozg_id",
                                       "actor"])


def test_timeline_table_reads_the_month_half_the_services_got_there() -> None:
    # Topic A has 3 services: "built" needs 2 of them online (the 2nd first-online time).
    # Replication 0: services online at 10 and 20 (and again at 5 by another Land for 2).
    ev = _events([(0, 10.0, "online", 1, "BUND"), (0, 20.0, "online", 2, "BE"),
                  (0, 5.0, "online", 2, "HB"),
                  (1, 30.0, "online", 1, "BUND"), (1, 40.0, "online", 3, "BE"),
                  (2, 12.0, "online", 1, "BUND"),  # only one of three: not reached
                  (0, 7.0, "municipal_first_onboarded", 2, "BE"),
                  (1, 9.0, "municipal_first_onboarded", 2, "BE"),
                  (0, 8.0, "municipal_all_onboarded", 2, "BE")])
    t = timeline_table(ev, SERVICES, replications=[0, 1, 2])
    assert list(t.columns) == TIMELINE_COLUMNS
    built = t[(t["panel"] == "topic") & (t["lane"] == "A") & (t["series"] == "built")].iloc[0]
    # per run: 10 (services 2 at 5, 1 at 10), 40, not reached -> median 40, q05 between
    assert built["n_services"] == 3 and built["n_reached"] == 2
    assert built["median"] == pytest.approx(40.0)
    assert built["q05"] == pytest.approx(10.0 + 0.1 * 30.0)
    assert np.isnan(built["q95"]) and built["median_date"] == "2021-05"
    # Published and reused count the non-federal services (2 of topic A): none here.
    pub = t[(t["lane"] == "A") & (t["series"] == "published")].iloc[0]
    assert pub["n_services"] == 2 and pub["n_reached"] == 0 and np.isnan(pub["median"])
    # Connected counts municipal services: topic A has one, reached at 7 and 9.
    con = t[(t["lane"] == "A") & (t["series"] == "connected")].iloc[0]
    assert con["n_services"] == 1 and con["n_reached"] == 2
    assert con["median"] == pytest.approx(9.0)  # 7, 9 and one not reached
    # Per Land: 2 municipal services, one needed; all connected only in replication 0.
    be = t[(t["panel"] == "state") & (t["lane"] == "BE")].set_index("series")
    assert be.loc["connected_first", "median"] == pytest.approx(9.0)
    assert be.loc["connected_all", "n_reached"] == 1


def test_timeline_table_refuses_a_single_replication() -> None:
    with pytest.raises(ValueError, match="replication"):
        timeline_table(_events([(0, 1.0, "online", 1, "BUND")]), SERVICES)


def test_topic_timeline_table_finds_the_first_month_at_half() -> None:
    rows = []
    for rep, months in ((0, (3, 5)), (1, (4, 9))):  # 1 of 2 at first, 2 of 2 later
        for m in range(12):
            rows.append({"strategy": "efa", "replication": rep, "month": m, "topic": "A",
                         "n_services": 2,
                         "online_anywhere": (m >= months[0]) + (m >= months[1]),
                         "nationwide": int(m >= months[1])})
    t = topic_timeline_table(pd.DataFrame(rows), "strategy").set_index("panel")
    assert t.loc["online_anywhere", "median"] == pytest.approx(3.5)
    assert t.loc["nationwide", "median"] == pytest.approx(7.0)
    assert t.loc["nationwide", "series"] == "efa"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy run folder written by the real command (events, services, tables, charts)."""
    out = tmp_path_factory.mktemp("timeline") / "run"
    subprocess.run([sys.executable, "-m", "sim", "world=toy", "replications=3", "workers=1",
                    f"hydra.run.dir={out}"], check=True, cwd=ROOT, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return out


def _by_hand(events: pd.DataFrame, services: pd.DataFrame, topic: str, event: str,
             executors: set[str], reps: list[int]) -> tuple[float, float, float]:
    """Median, 5 % and 95 % of the month by which half the topic's services had the event
    (first time per service), each run computed on its own."""
    ids = set(services.loc[(services["topic"] == topic)
                           & services["executor"].isin(executors), "ozg_id"])
    need = int(np.ceil(len(ids) / 2))
    per_run = []
    for r in reps:
        e = events[(events["replication"] == r) & (events["event"] == event)
                   & events["ozg_id"].isin(ids)]
        firsts = sorted(e.groupby("ozg_id")["time_months"].min())
        per_run.append(firsts[need - 1] if len(firsts) >= need else np.inf)
    x = np.array(per_run)
    assert np.isfinite(x).all()  # the lanes checked are those every run reached
    return float(np.median(x)), *map(float, np.quantile(x, [0.05, 0.95]))


def test_run_draws_the_timeline_and_its_sidecar_is_the_events(toy_run: Path) -> None:
    assert (toy_run / "timeline.png").is_file() and (toy_run / "timeline.pdf").is_file()
    side = pd.read_csv(toy_run / "timeline.csv", comment="#")
    events = pd.read_parquet(toy_run / "events.parquet")
    services = pd.read_csv(toy_run / "services.csv")
    reps = sorted(pd.read_parquet(toy_run / "national.parquet")["replication"].unique())
    checked = 0
    for series, event, executors in (
            ("built", "online", {"federal", "state", "municipal"}),
            ("reused", "reused", {"state", "municipal"}),
            ("connected", "municipal_first_onboarded", {"municipal"})):
        rows = side[(side["panel"] == "topic") & (side["series"] == series)
                    & (side["n_reached"] == len(reps))]
        assert len(rows), series
        for row in rows.itertuples():
            want = _by_hand(events, services, str(row.lane), event, executors, reps)
            assert (row.median, row.q05, row.q95) == pytest.approx(want, rel=1e-5), (
                series, row.lane)
            checked += 1
    assert checked >= 10
    assert set(side.loc[side["panel"] == "state", "lane"]) == set(
        events.loc[events["event"] == "municipal_all_onboarded", "actor"])


def test_run_timeline_in_german_prints_at_least_7_pt(toy_run: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: dict[str, float] = {}
    original = run_module.save_figure

    def wrapped(fig, out_dir, name, data, provenance):  # type: ignore[no-untyped-def]
        sizes[name] = _small_text(fig)
        return original(fig, out_dir, name, data, provenance)

    monkeypatch.setattr(run_module, "save_figure", wrapped)
    done: list[tuple[int, int, str]] = []
    files = draw_run_figures(toy_run, "toy", out=tmp_path, lang="de",
                             progress=lambda d, t, s: done.append((d, t, s)))
    assert "timeline_de.png" in files and "timeline_de.csv" in files
    assert done[-1][0] == done[-1][1] == len(done) and "timeline" in [s for *_, s in done]
    assert sizes["timeline_de"] >= MIN_PRINTED_PT


def test_experiment_recipe_draws_the_topic_timeline_per_level(tmp_path: Path) -> None:
    # two strategies x two funding levels (the main one and another): the recipe facets
    spec = tmp_path / "tl2.yaml"
    spec.write_text("name: tl2\ntitle: t\nreplications: 2\nseed: 1\nbase: []\n"
                    "design:\n  grid:\n    funding: [none, "
                    f"{recipes.MAIN_LEVEL['funding']}]\n    strategy: [efa, efv]\n"
                    "reference: {factor: strategy, level: efa}\nfigures: [fan]\n")
    exp = run_experiment([str(spec), "world=toy", "workers=1", f"out={tmp_path / 'exp'}",
                          f"cache={tmp_path / 'cache'}"])
    assert exp is not None
    files = recipes.draw_experiment_figures(exp, "en", ["timeline"], out=tmp_path / "figs")
    assert "timeline.png" in files
    side = pd.read_csv(tmp_path / "figs" / "timeline.csv", comment="#")
    bt = pd.read_parquet(exp / "by_topic")
    main = bt[bt["funding"] == recipes.MAIN_LEVEL["funding"]]
    assert set(side["strategy"]) == set(main["strategy"])
    want = topic_timeline_table(main, "strategy")
    got = side.set_index(["panel", "lane", "strategy"]).sort_index()
    want = want.set_index(["panel", "lane", "strategy"]).sort_index()
    np.testing.assert_allclose(got["median"], want["median"], rtol=1e-5)
    fig, _ = timeline.topic_timeline_figure(main, "strategy", "de", "toy")
    assert _small_text(fig) >= MIN_PRINTED_PT


def _small_text(fig: Figure) -> float:
    fig.draw_without_rendering()
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible()
             and t.get_text().strip()]
    return printed_pt(float(min(sizes)), float(fig.get_figwidth()))


def test_every_experiment_level_gets_the_runs_timeline(toy_run: Path, tmp_path: Path) -> None:
    """A sweep keeps each run's milestones (no events); the timeline of a level equals that
    of ``ozg-sim`` with the same scenario, seed and replications, lane for lane."""
    spec = tmp_path / "tl.yaml"
    spec.write_text("name: tl\ntitle: t\nreplications: 3\nseed: 1\nbase: []\n"
                    "design:\n  grid:\n    strategy: [efa, efv]\n"
                    "reference: {factor: strategy, level: efa}\nfigures: [timeline]\n")
    exp = run_experiment([str(spec), "world=toy", "workers=1", f"out={tmp_path / 'exp'}",
                          "--no-cache"])
    assert exp is not None
    ms = pd.read_parquet(exp / "milestones")
    assert set(ms["replication"]) == {0, 1, 2} and set(ms["panel"]) == {"topic", "state"}
    # every Land of the world has a lane in every run, reached or not
    assert ms.groupby(["point", "replication"])["lane"].nunique().nunique() == 1
    level = pd.read_csv(exp / "figures" / "timeline_efa.csv", comment="#")
    run = pd.read_csv(toy_run / "timeline.csv", comment="#")
    keys = ["panel", "lane", "series"]
    both = run.merge(level, on=keys, suffixes=("_run", "_level"), validate="one_to_one")
    assert len(both) == len(run)
    for col in ("median", "q05", "q95", "n_reached"):
        np.testing.assert_allclose(both[f"{col}_level"], both[f"{col}_run"], rtol=1e-9)
    assert (exp / "figures" / "timeline_efv.png").is_file()
