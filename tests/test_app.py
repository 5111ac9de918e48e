"""The workbench's sessions without a browser (sim/app/ui.py): widgets bounded by the
controls, the scenario they describe, a run with its table and views, languages, pinning,
exports into the export folder only, and two sessions (browser tabs) at once keeping
their own state. The real browser: tests/test_app_browser.py."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

pn = pytest.importorskip("panel", reason="the workbench needs Panel: pip install -e '.[app]'")

from sim import whatif  # noqa: E402
from sim.app.ui import Session  # noqa: E402
from sim.workbench import Workbench  # noqa: E402


@pytest.fixture(scope="module")
def bench() -> Workbench:
    b = Workbench(2)
    yield b
    b.close()


def _session(bench: Workbench, exports: Path, lang: str = "de") -> Session:
    s = Session(bench, exports, lang)  # type: ignore[arg-type]
    s.w_world.value, s.w_reps.value = "toy", 3
    return s


def _values(html: str) -> dict[str, float]:
    """key figure -> the scenario's median, read back from the table's data attributes."""
    out = {}
    for key, value in re.findall(r"<tr data-key='(\w+)'><td>.*?</td><td data-value='([^']+)'",
                                 html):
        out[key] = float(value)
    return out


def test_widgets_are_bounded_by_the_controls(bench: Workbench, tmp_path: Path) -> None:
    s = _session(bench, tmp_path)
    for c in s.controls:
        w = s.w[c.key]
        if c.kind == "number" and c.key != whatif.AMOUNT_KEY:
            assert (w.start, w.end) == (c.low, c.high)
        elif c.kind == "group":
            assert list(w.options.values()) == list(c.options)
    assert s.w_reps.start == whatif.MIN_REPLICATIONS and s.w_reps.end == whatif.MAX_REPLICATIONS
    # a value forced past a slider (a crafted websocket message) is refused in one line
    s.w["staffing.dev_fte_factor"].value = 7.0
    with pytest.raises(whatif.ConfigError, match=r"^staffing.dev_fte_factor=7.0 is not "
                       r"allowed: a number from 0.5 to 2$"):
        s.scenario()
    s.w["staffing.dev_fte_factor"].value = 1.0
    s.w["strategy"].value = "__import__('os')"
    with pytest.raises(whatif.ConfigError, match=r"^strategy=\"__import__\('os'\)\" is not "
                       r"allowed: one of efa, efv, einzel, mixed$"):
        s.scenario()
    assert s.w["sharing.efa.propensity"].disabled  # drawn until ticked
    s.w_fix["sharing.efa.propensity"].value = True
    assert not s.w["sharing.efa.propensity"].disabled


def test_the_widgets_describe_the_scenario(bench: Workbench, tmp_path: Path) -> None:
    s = _session(bench, tmp_path)
    assert s.scenario() == whatif.Scenario("toy", 3, 1)  # nothing changed: the baseline
    s.w["strategy"].value = "efv"
    s.w["funding"].value = "koenigstein"
    assert s.w[whatif.AMOUNT_KEY].value == 3.0  # the option's own programme money
    s.w[whatif.AMOUNT_KEY].value = 2.0
    s.w["state_programmes"].value = ["bw"]
    s.w["staffing.dev_fte_factor"].value = 1.5
    s.w_fix["sharing.efa.propensity"].value = True
    s.w["sharing.efa.propensity"].value = 0.9
    assert whatif.command_line(s.scenario()) == (
        "ozg-sim world=toy replications=3 seed=1 strategy=efv funding=koenigstein "
        "'state_programmes=[bw]' funding.programmes.0.amount_eur=2000000000.0 "
        "staffing.dev_fte_factor=1.5 sharing.efa.propensity=0.9")
    s.w["funding"].value = "none"
    assert s.w[whatif.AMOUNT_KEY].disabled
    assert whatif.AMOUNT_KEY not in dict(s.scenario().values)
    s.reset()
    assert s.scenario() == whatif.Scenario()


def test_a_run_shows_the_table_and_every_view_with_ozg_sim_numbers(bench: Workbench,
                                                                   tmp_path: Path) -> None:
    s = _session(bench, tmp_path)
    s.w["strategy"].value = "einzel"
    asyncio.run(s.run())
    assert s.shown is not None and "ozg-error" not in s.status.object, s.status.object
    assert all(s.v_png[v].object[:8] == b"\x89PNG\r\n\x1a\n" for v in
               ("fan", "difference", "map", "states"))
    shown = _values(s.v_table.object)
    results = bench.run(whatif.scenario_config(s.scenario()))
    expected = whatif.summarise_key_figures(
        whatif.key_figure_values(results.tables["national"], results.kpis))
    for row in expected.itertuples():
        if pd.notna(row.median):
            assert shown[row.key_figure] == row.median
    assert "ozg-sim world=toy replications=3 seed=1 strategy=einzel" in s.v_command.object
    assert "whatif.yaml" in s.d_yaml.filename
    assert s._yaml_file().read().startswith("# ozg-sim what-if scenario")
    # English
    s.w_lang.value = "en"
    assert s.b_run.name == "Run" and "Population coverage end of 2022" in s.v_table.object


def test_two_sessions_at_once_keep_their_own_scenarios(bench: Workbench,
                                                       tmp_path: Path) -> None:
    a, b = _session(bench, tmp_path / "a"), _session(bench, tmp_path / "b", "en")
    a.w["strategy"].value = "efv"
    b.w["operation"].value = "central"
    assert dict(a.scenario().values) == {"strategy": "efv"}
    assert dict(b.scenario().values) == {"operation": "central"}

    async def both() -> None:
        await asyncio.gather(a.run(), b.run())

    asyncio.run(both())
    assert a.shown.scenario != b.shown.scenario
    assert "strategy=efv" in a.v_command.object and "operation=central" in b.v_command.object
    assert "Bevölkerungsabdeckung" in a.v_table.object
    assert "Population coverage" in b.v_table.object
    ra = bench.run(whatif.scenario_config(a.scenario()))
    assert _values(a.v_table.object)["coverage_2022_12"] == whatif.summarise_key_figures(
        whatif.key_figure_values(ra.tables["national"], ra.kpis)).iloc[0]["median"]


def test_pinned_scenarios_stand_side_by_side(bench: Workbench, tmp_path: Path) -> None:
    s = _session(bench, tmp_path)
    for strategy in ("efv", "einzel"):
        s.w["strategy"].value = strategy
        asyncio.run(s.run())
        asyncio.run(s.pin())
    assert [p.label for p in s.pinned] == ["A", "B"]
    assert "strategy=efv" in s.v_pinned.object and "strategy=einzel" in s.v_pinned.object
    assert s.v_png["pinned"].object[:4] == b"\x89PNG"
    asyncio.run(s.pin())  # the same scenario again: not twice
    assert len(s.pinned) == 2
    s.unpin()
    assert s.pinned == [] and s.v_png["pinned"].object is None


def test_an_export_writes_only_into_the_export_folder(bench: Workbench, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    exports = tmp_path / "exports"
    s = _session(bench, exports)
    s.w["strategy"].value = "efv"
    asyncio.run(s.run())
    asyncio.run(s.export())
    assert list(cwd.iterdir()) == []
    (folder,) = [p for p in exports.iterdir() if not p.name.startswith(".")]
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for view in ("fan", "difference", "map", "states"):
        assert {f"figures/{view}.{ext}" for ext in ("png", "svg", "pdf", "csv")} <= names
    assert {"key_figures.csv", "coverage_difference.csv", "key_figures_by_replication.csv",
            "scenario.yaml", "command.txt", "summary.xlsx"} <= names
    assert (folder / "command.txt").read_text().startswith("ozg-sim world=toy replications=3")
    table = pd.read_csv(folder / "key_figures.csv")
    assert table["median"].tolist() == pytest.approx(s.shown.table["median"].tolist(),
                                                     rel=1e-5, nan_ok=True)
    wb = load_workbook(folder / "summary.xlsx", read_only=True)
    assert "key_figures" in wb.sheetnames and "provenance" in wb.sheetnames
    data = s.d_zip.file.getvalue() if hasattr(s.d_zip.file, "getvalue") else b""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert f"{folder.name}/summary.xlsx" in zf.namelist()
    assert not s.d_xlsx.disabled


def test_a_bad_value_in_a_session_gives_the_one_line_error(bench: Workbench,
                                                           tmp_path: Path) -> None:
    s = _session(bench, tmp_path)
    s.w_seed.value = -3  # IntInput's own bound is 0; a value forced past it is refused
    asyncio.run(s.run())
    assert "ozg-error" in s.status.object and "seed=-3 is not allowed" in s.status.object


def _start_app(exports: Path, workers: int) -> subprocess.Popen[str]:
    """``ozg-sim-app`` on a free port, once it has printed its address."""
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli.app", "port=0",
                             f"workers={workers}", f"exports={exports}", "--no-baseline"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "is at http://127.0.0.1:" not in line:
        proc.kill()
        pytest.fail(f"ozg-sim-app printed no address: {line!r}")
    return proc


def test_the_workers_die_with_the_app_however_it_ends(tmp_path: Path) -> None:
    """A workbench killed with SIGKILL (no cleanup runs) leaves no worker behind."""
    psutil = pytest.importorskip("psutil")
    proc = _start_app(tmp_path, 2)
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2  # the workers (and multiprocessing's resource tracker)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    _gone, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, [p.cmdline()[:3] for p in alive]


def test_ctrl_c_stops_the_app_in_one_line_with_its_workers(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    proc = _start_app(tmp_path, 1)
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "ozg-sim-app: interrupted; stopped"
    _gone, alive = psutil.wait_procs(children, timeout=20)
    assert not alive
