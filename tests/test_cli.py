"""End to end through a real subprocess: ``python -m sim`` and the ``ozg-sim`` script.

A good run writes a complete, self-describing folder; a bad configuration prints one line
naming the key, exits with code 2 and creates nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import make_config

from sim.config import load_config
from sim.errors import ConfigError
from sim.keys import to_dict

TOY_RUN = ["world=toy", "replications=2", "workers=1"]
HORIZON = 156  # 2018-01 .. 2030-12

# Columns as documented in README.md ("Outputs of a run").
COLUMNS = {
    "national": ["replication", "month", "date", "online_anywhere", "nationwide",
                 "online_anywhere_share", "nationwide_share", "population_coverage",
                 "nationwide_reported", "n_services"],
    "by_state": ["replication", "month", "date", "state", "available",
                 "online_anywhere_in_state", "available_share", "available_reported",
                 "population_coverage", "n_services"],
    "by_topic": ["replication", "month", "date", "topic", "online_anywhere", "nationwide",
                 "nationwide_share", "population_coverage", "n_services"],
    "by_size_class": ["replication", "month", "date", "size_class", "onboarded_share",
                      "population_coverage", "n_admins", "n_municipal_services"],
    "events": ["replication", "time_months", "date", "event", "ozg_id", "topic", "actor",
               "detail"],
    "spending": ["replication", "time_months", "date", "programme", "actor", "eur",
                 "purpose"],
}
EVENTS = {"online", "published", "reused", "reuse_declined", "funded",
          "municipal_first_onboarded", "municipal_all_onboarded"}
KPI_COLUMNS = ["kpi", "unit", "mean", "median", "q05", "q95", "n_replications", "n_reached",
               "median_date", "q05_date", "q95_date", "definition"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env["PYTHONHASHSEED"] = "0"
    return env


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=_env(), check=False)


def ozg_sim_script() -> str:
    """The console script of this environment (beside the interpreter, else on PATH)."""
    beside = Path(sys.executable).parent / "ozg-sim"
    if beside.is_file():
        return str(beside)
    found = shutil.which("ozg-sim")
    if found is None:
        pytest.fail("the ozg-sim console script is not installed")
    return found


# --------------------------------------------------------------------------- a good run


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    base = tmp_path_factory.mktemp("cli")
    out = base / "run"
    proc = _run([sys.executable, "-m", "sim", *TOY_RUN, f"hydra.run.dir={out}"], cwd=base)
    return proc, out


def test_run_exits_zero_and_prints_folder(toy_run) -> None:
    proc, out = toy_run
    assert proc.returncode == 0, proc.stderr
    assert f"outputs: {out}" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_run_log_is_free_of_library_noise(toy_run) -> None:
    """The console shows the run's own lines, not a line per font subset of each PDF."""
    proc, _out = toy_run
    assert "fontTools" not in proc.stdout + proc.stderr
    assert "replications" in proc.stdout + proc.stderr


def test_run_folder_has_every_file(toy_run) -> None:
    _proc, out = toy_run
    names = {p.name for p in out.iterdir()}
    expected = {f"{t}.parquet" for t in COLUMNS} | {
        "manifest.json", "kpis.csv", "kpis_by_replication.parquet", "services.csv",
        "coverage.png", "coverage.pdf"}
    assert expected <= names
    assert not list(out.glob(".partial-*")), "staging folder left behind"
    for f in ("coverage.png", "coverage.pdf"):
        assert (out / f).stat().st_size > 1000
    assert (out / "coverage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "coverage.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_run_tables_have_documented_columns(toy_run, table: str) -> None:
    _proc, out = toy_run
    df = pd.read_parquet(out / f"{table}.parquet")
    assert list(df.columns) == COLUMNS[table]
    assert set(df["replication"]) <= {0, 1}
    per_month = {"national": 1, "by_state": 3, "by_topic": 14, "by_size_class": 7}
    if table in per_month:
        assert len(df) == 2 * HORIZON * per_month[table]
        assert set(df["replication"]) == {0, 1}
    if table == "events":
        assert set(df["event"]) <= EVENTS
        assert {"online", "published", "reused"} <= set(df["event"])


def test_run_kpis_csv(toy_run) -> None:
    _proc, out = toy_run
    k = pd.read_csv(out / "kpis.csv")
    assert list(k.columns) == KPI_COLUMNS
    assert {"population_coverage_2022_12", "online_anywhere_2022_12", "nationwide_2022_12",
            "months_to_50pct_population_coverage", "spent_eur_konjunkturpaket_efa",
            "spent_eur_running_costs", "running_costs_eur_land"} <= set(k["kpi"])
    assert (k["n_replications"] == 2).all()
    cov = k.set_index("kpi").loc["population_coverage_2022_12"]
    assert 0 <= cov["q05"] <= cov["median"] <= cov["q95"] <= 1


def test_run_manifest(toy_run) -> None:
    _proc, out = toy_run
    m = json.loads((out / "manifest.json").read_text())
    for key in ("config", "seeds", "package_versions", "git_commit", "timings", "rows"):
        assert key in m, key
    assert m["config"] == to_dict(load_config(TOY_RUN))
    assert m["seeds"]["root"] == 1
    assert m["seeds"]["replications"] == [0, 1]
    assert {"python", "simpy", "numpy", "pandas"} <= set(m["package_versions"])
    assert m["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", m["git_commit"])
    assert len(m["timings"]["replication_wall_s"]) == 2
    assert m["world"]["services"] == 42
    for name, n in m["rows"].items():
        if name.endswith(".parquet"):
            assert len(pd.read_parquet(out / name)) == n, name


def test_console_script_gives_the_same_tables(toy_run, tmp_path: Path) -> None:
    _proc, first = toy_run
    out = tmp_path / "again"
    proc = _run([ozg_sim_script(), *TOY_RUN, f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"outputs: {out}" in proc.stdout
    for table in ("national", "events", "spending"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{table}.parquet"),
                                      pd.read_parquet(first / f"{table}.parquet"))


# --------------------------------------------------------------------------- bad configs

BAD = [
    # override, regex for the key as named in the message
    ("strategy=foo", r"strategy"),
    ("foo=1", r"foo"),
    ("staffing.team_fte=-1", r"staffing\.team_fte"),
    ("staffing.team_fte=abc", r"staffing\.team_fte"),
    ("replications=0", r"replications"),
    ("world.states=[XX]", r"world\.states"),
    ("funding.programmes.0.start=2020-13", r"funding\.programmes(\.0|\[0\])\.start"),
    ("end=2018-06", r"end"),
    ("sharing.efa.propensity=1.5", r"sharing\.efa\.propensity"),
]


def _check_error_line(stderr: str, key: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert re.match(rf"ozg-sim: error: {key}\b", lines[0]), lines[0]


@pytest.mark.parametrize(("override", "key"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_with_one_line(tmp_path: Path, override: str, key: str) -> None:
    out = tmp_path / "never"
    proc = _run([sys.executable, "-m", "sim", "world=toy", override, f"hydra.run.dir={out}"],
                cwd=tmp_path)
    assert proc.returncode == 2
    _check_error_line(proc.stderr, key)
    assert proc.stdout == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing written anywhere"


def test_console_script_bad_config(tmp_path: Path) -> None:
    out = tmp_path / "never"
    proc = _run([ozg_sim_script(), "strategy=foo", f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode == 2
    _check_error_line(proc.stderr, "strategy")
    assert "efa, efv, einzel, mixed" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize(("args", "needle"), [
    ([], "usage: ozg-sim-figures FOLDER"),
    (["{tmp}/nonesuch"], "manifest.json is missing"),
    (["{tmp}", "lang=fr"], "lang='fr' is not allowed"),
    (["{tmp}", "colour=red"], "colour= is not allowed"),
])
def test_figures_command_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str],
                                                          needle: str) -> None:
    proc = _run([sys.executable, "-m", "sim.cli.figures",
                 *[a.format(tmp=tmp_path) for a in args]], cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ozg-sim-figures: error: "), proc.stderr
    assert needle in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing written"


@pytest.mark.parametrize(("override", "key"), BAD, ids=[b[0] for b in BAD])
def test_load_config_rejects_bad_values(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(["world=toy", override])
    assert re.match(rf"{key}\b", str(info.value)), str(info.value)
    assert "\n" not in str(info.value)


def test_load_config_composes_groups() -> None:
    cfg = load_config(["world=toy", "strategy=mixed", "funding=koenigstein", "seed=7",
                       "staffing.team_fte=4"])
    assert cfg.world.states == ["HB", "SL", "BE"]
    assert cfg.strategy.mode_by_type == {"typ23": "efa", "typ45": "efv"}
    assert cfg.funding.programmes[0].allocation == "koenigstein"
    assert (cfg.seed, cfg.staffing.team_fte) == (7, 4.0)
    # The default run is the documented one: full Germany, EfA, 2020 stimulus.
    d = make_config()
    assert (d.world.states, d.strategy.name, d.funding.name, d.replications) == \
        (None, "efa", "konjunkturpaket", 10)
