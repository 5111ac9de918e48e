"""The workbench in a real browser: ``ozg-sim-app`` is started as a user starts it, and a
headless Chromium (Debian's ``chromium`` package, driven by Playwright; no browser is
downloaded) changes a lever, runs, and reads the chart and the key-figure table, whose
numbers must equal those of ``ozg-sim`` with the same overrides. A second tab runs another
scenario at the same time. A screenshot of every view is saved in
``outputs/test-artifacts/app/`` (or ``$OZG_SIM_ARTIFACTS/app``) to be looked at.

Skipped, saying why, only where no Chromium is installed (``.ci/run`` installs it:
``apt-get install chromium``; ``$OZG_SIM_CHROMIUM`` names another binary).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sim import whatif

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("OZG_SIM_CHROMIUM") or shutil.which("chromium") or \
    "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("OZG_SIM_ARTIFACTS", ROOT / "outputs" / "test-artifacts")) / "app"
#: Chromium as root in a container, on a machine without network: no sandbox, no GPU, no
#: background connections (each would be refused, some at every start).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 120_000

if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (apt-get "
                "install chromium; .ci/run does) or name one in $OZG_SIM_CHROMIUM",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is a dev "
                               "dependency: pip install -e '.[dev,app]'")
pytest.importorskip("panel", reason="the workbench needs Panel: pip install -e '.[app]'")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``ozg-sim-app`` on a free port of 127.0.0.1, as a user starts it."""
    exports = tmp_path_factory.mktemp("exports")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli.app", "port=0", "workers=2",
                             f"exports={exports}", "--no-baseline"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path_factory.mktemp("cwd"))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the workers are up
        match = re.search(r"is at (http://127\.0\.0\.1:\d+/)", line)
        assert match, f"no address in {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _shot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def _open(browser: object, url: str) -> object:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("button", name="Rechnen").wait_for()
    return page


def _choose(page: object, label: str, option: str) -> None:
    """Pick ``option`` in the select whose label is ``label``."""
    page.get_by_label(label, exact=True).select_option(label=option)  # type: ignore[attr-defined]


def _run(page: object, button: str = "Rechnen") -> None:
    """Click "Run" and wait until that run (the next number) is done."""
    status = page.locator(".status span[data-run]")  # type: ignore[attr-defined]
    status.wait_for()
    n = int(status.get_attribute("data-run")) + 1
    page.get_by_role("button", name=button).click()  # type: ignore[attr-defined]
    page.locator(f".status span[data-run='{n}'][data-state='done']").wait_for()  # type: ignore[attr-defined]


def _table(page: object) -> dict[str, float]:
    rows = page.locator("#key-figures tr[data-key]")  # type: ignore[attr-defined]
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        out[row.get_attribute("data-key")] = float(
            row.locator("td").nth(1).get_attribute("data-value"))
    return out


def _tab(page: object, name: str) -> None:
    page.locator(".bk-tab", has_text=name).click()  # type: ignore[attr-defined]
    time.sleep(0.5)


def _ozg_sim(tmp_path: Path, overrides: list[str]) -> pd.DataFrame:
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "sim", *overrides, "workers=2",
                          f"hydra.run.dir={out}"], capture_output=True, text=True,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    values = whatif.key_figure_values(pd.read_parquet(out / "national.parquet"),
                                      pd.read_parquet(out / "kpis_by_replication.parquet"))
    return whatif.summarise_key_figures(values).set_index("key_figure")


def test_a_lever_changed_in_the_browser_gives_ozg_sims_numbers(app_url: str, browser: object,
                                                               tmp_path: Path) -> None:
    page = _open(browser, app_url)
    _shot(page, "01_start_de")
    _choose(page, "Welt", "Spielwelt (3 Länder, schnell)")
    _choose(page, "Strategie", "EfV (Einer für Viele)")
    _run(page)
    assert page.locator(".fig-fan img").count() == 1  # type: ignore[attr-defined]
    shown = _table(page)
    assert set(shown) == {f.name for f in whatif.KEY_FIGURES}
    _shot(page, "02_overview_de")
    expected = _ozg_sim(tmp_path, ["world=toy", "replications=10", "seed=1",
                                   "strategy=efv"])
    for key, value in shown.items():
        e = expected.loc[key, "median"]
        assert (pd.isna(e) and pd.isna(value)) or value == e, (key, value, e)
    _tab(page, "Differenz")
    assert page.locator(".fig-difference img").count() == 1  # type: ignore[attr-defined]
    _shot(page, "03_difference_de")
    _tab(page, "Länder")
    assert page.locator(".fig-map img").count() == 1  # type: ignore[attr-defined]
    assert page.locator(".fig-states img").count() == 1  # type: ignore[attr-defined]
    _shot(page, "04_states_de")
    page.get_by_role("button", name="Anheften").click()  # type: ignore[attr-defined]
    _choose(page, "Strategie", "jedes Land für sich")
    _run(page)
    page.get_by_role("button", name="Anheften").click()  # type: ignore[attr-defined]
    _tab(page, "Vergleich")
    page.locator(".fig-pinned img").wait_for()  # type: ignore[attr-defined]
    pinned = page.locator("#pinned-view").inner_text()  # type: ignore[attr-defined]
    assert "strategy=efv" in pinned and "strategy=einzel" in pinned
    _shot(page, "05_pinned_de")
    _tab(page, "Reproduzieren")
    command = page.locator("pre.cmd").inner_text()  # type: ignore[attr-defined]
    assert command == "ozg-sim world=toy replications=10 seed=1 strategy=einzel"
    page.get_by_role("button", name=re.compile("exportieren")).click()  # type: ignore[attr-defined]
    page.locator(".status span[data-state='exported']").wait_for()  # type: ignore[attr-defined]
    sync_api.expect(page.get_by_role("button", name="ZIP herunterladen")).to_be_enabled()  # type: ignore[attr-defined]
    _shot(page, "06_reproduce_de")
    page.close()  # type: ignore[attr-defined]


def test_two_tabs_run_at_once_without_touching_each_other(app_url: str,
                                                          browser: object) -> None:
    a, b = _open(browser, app_url), _open(browser, app_url)
    b.locator(".bk-btn", has_text="English").click()  # type: ignore[attr-defined]
    b.get_by_role("button", name="Run").wait_for()  # type: ignore[attr-defined]
    _choose(a, "Welt", "Spielwelt (3 Länder, schnell)")
    _choose(b, "World", "Toy world (3 Länder, fast)")
    _choose(a, "Strategie", "gemischt (EfA für Typ 2/3, EfV für 4/5)")
    _choose(b, "Running-cost payer after 2022", "Bund pays, as until 2022")
    a.get_by_role("button", name="Rechnen").click()  # type: ignore[attr-defined]
    b.get_by_role("button", name="Run").click()  # type: ignore[attr-defined]
    for page, text in ((a, "Antwort nach"), (b, "Answer after")):
        page.locator(".status span[data-run='1'][data-state='done']").wait_for()
        assert text in page.locator(".status span[data-run]").inner_text()
    _tab(a, "Reproduzieren")
    _tab(b, "Reproduce")
    assert a.locator("pre.cmd").inner_text().endswith("strategy=mixed")  # type: ignore[attr-defined]
    assert b.locator("pre.cmd").inner_text().endswith("operation=central")  # type: ignore[attr-defined]
    _tab(b, "Overview")
    assert "Population coverage end of 2022" in b.locator("#key-figures").inner_text()  # type: ignore[attr-defined]
    _shot(b, "07_overview_en")
