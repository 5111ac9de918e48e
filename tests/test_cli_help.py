"""The command lines explain themselves (issue 13): ``--help`` on every console script (one
line per option, the exit codes, the version), ``--version``, the one option rule of the
small commands (``key=value``, ``--key=value``, ``--key value``; a folder with ``=`` in its
name), one-line refusals, and the version that a paper cites, the same everywhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest

import sim
from sim.cli import app, cache, calibrate, compare, experiment, figures, report
from sim.cli.common import EXIT_INTERRUPTED, CommandLine, Option
from sim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: The small commands and their parsers.
SMALL = {"ozg-sim-experiment": experiment, "ozg-sim-figures": figures,
         "ozg-sim-compare": compare, "ozg-sim-calibrate": calibrate, "ozg-sim-cache": cache,
         "ozg-sim-report": report, "ozg-sim-app": app}


def _module(script: str) -> str:
    return PYPROJECT["project"]["scripts"][script].split(":")[0]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_every_console_script_is_covered_here() -> None:
    assert set(PYPROJECT["project"]["scripts"]) - {"ozg-sim"} <= set(SMALL), \
        "a new console script: give it a CommandLine and list it in SMALL"


@pytest.mark.parametrize("script", sorted(SMALL))
def test_help_lists_every_option_on_a_line_of_its_own(script: str) -> None:
    proc = _run(_module(script), "--help")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    line = SMALL[script].COMMAND_LINE
    assert lines[0] == f"usage: {line.usage}"
    for key, opt in line.options.items():
        assert sum(ln.startswith(f"  {key}={opt.value} ") for ln in lines) == 1, key
    for flag in (*line.flags, "-h, --help", "--version"):
        assert sum(ln.startswith(f"  {flag} ") for ln in lines) == 1, flag
    assert any(ln.startswith("exit codes: 0 done, 2 bad input") and
               f"{EXIT_INTERRUPTED} interrupted" in ln for ln in lines)
    assert lines[-1] == f"{script} (ozg-sim {sim.__version__})"


@pytest.mark.parametrize("script", sorted(SMALL))
def test_version_flag(script: str) -> None:
    proc = _run(_module(script), "--version")
    assert (proc.returncode, proc.stdout) == (0, f"{script} (ozg-sim {sim.__version__})\n")


def test_ozg_sim_help_lists_groups_keys_examples_and_exit_codes() -> None:
    proc = _run("sim", "--help")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("usage: ozg-sim [key=value ...]")
    assert "strategy: efa, efv, einzel, mixed" in out  # Hydra's $APP_CONFIG_GROUPS
    assert "world: germany, toy" in out
    for key in ("replications=N", "seed=N", "workers=N", "end=YYYY-MM", "map_months=",
                "calibrated_draws=", "max_cost_s=", "hydra.run.dir="):
        assert re.search(rf"^  {re.escape(key)}", out, re.M), key
    assert "ozg-sim world=toy replications=3" in out
    assert "Exit codes: 0 done, 2 bad input" in out and "130 interrupted" in out
    assert "Powered by Hydra" not in out  # our template, not Hydra's default
    for script in PYPROJECT["project"]["scripts"]:  # it points to every other command
        assert script in out, script


def test_ozg_sim_version() -> None:
    proc = _run("sim", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith(f"ozg-sim {sim.__version__} ")


# --------------------------------------------------------------------------- the option rule

LINE = CommandLine("tool", "tool FOLDER [out=DIR]", "A tool.", ("FOLDER", "a folder"),
                   {"out": Option("DIR", "where"), "lang": Option("en|de", "language")},
                   {"--dry-run": "only count"})


@pytest.mark.parametrize("argv", [["x", "out=o"], ["x", "--out=o"], ["x", "--out", "o"],
                                  ["--out", "o", "x"]])
def test_an_option_is_key_value_or_dashed(argv: list[str]) -> None:
    parsed = LINE.parse(argv)
    assert (parsed.positionals, parsed.options) == (["x"], {"out": "o"})


def test_a_word_with_equals_is_a_folder_if_it_exists_or_after_double_dash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "0_strategy=efa").mkdir()
    parsed = LINE.parse(["0_strategy=efa", "lang=de"])
    assert (parsed.positionals, parsed.options) == (["0_strategy=efa"], {"lang": "de"})
    assert LINE.parse(["--", "out=x", "--dry-run"]).positionals == ["out=x", "--dry-run"]
    long = "9" * 400  # longer than a file name may be: no path, an option
    assert LINE.parse([f"out={long}"]).options == {"out": long}
    with pytest.raises(ConfigError, match=r"^1_strategy= is not allowed: options are out=, "
                                          r"lang=, --dry-run \(see tool --help\)$"):
        LINE.parse(["1_strategy=efv"])  # no such folder: an unknown option


@pytest.mark.parametrize(("argv", "message"), [
    (["--colour=red"], "--colour=red is not allowed: options are out=, lang=, --dry-run"),
    (["--out"], "--out is not allowed without a value: --out DIR"),
    (["out=a", "--out", "b"], "out= is given twice (out='a' and out='b')"),
    (["lang=fr"], "lang='fr' is not allowed: one of en, de"),
])
def test_bad_options_are_one_config_error(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        LINE.parse(argv)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_figures_takes_a_multirun_folder_for_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "0_strategy=efa"
    folder.mkdir()
    proc = _run(_module("ozg-sim-figures"), str(folder))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"ozg-sim-figures: error: {folder} is not a run or "
                                        "experiment folder: manifest.json is missing"]


def test_an_unknown_option_is_one_line_naming_the_allowed_ones() -> None:
    proc = _run(_module("ozg-sim-compare"), "a", "colour=red")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "ozg-sim-compare: error: colour= is not allowed: options are out=, lang=, labels= "
        "(see ozg-sim-compare --help)"]


# --------------------------------------------------------------------------- the version


def _versions() -> dict[str, str]:
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    log = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return {"pyproject.toml": PYPROJECT["project"]["version"],
            "CITATION.cff": re.search(r'^version: "([^"]+)"', cff, re.M).group(1),  # type: ignore[union-attr]
            "CHANGELOG.md": re.search(r"^## \[([^\]]+)\]", log, re.M).group(1)}  # type: ignore[union-attr]


def test_the_version_is_the_same_in_pyproject_citation_and_changelog() -> None:
    versions = _versions()
    assert len(set(versions.values())) == 1, versions
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["pyproject.toml"])


def test_the_installed_version_is_the_checkout_s() -> None:
    """``sim.__version__`` is the installed distribution's: after a version change the
    checkout must be installed again (``pip install -e .``), which this test says."""
    dist = distribution("ozg-sim")
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    if Path(url.removeprefix("file://")).resolve() != ROOT:
        pytest.skip(f"ozg-sim is installed from {url or 'elsewhere'}, not from {ROOT}")
    assert sim.__version__ == PYPROJECT["project"]["version"], \
        "the installed metadata is stale: pip install -e ."


def test_the_calibration_report_s_images_exist_where_it_is_kept() -> None:
    folder = ROOT / "experiments" / "calibration_historical"
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)",
                       (folder / "report.md").read_text(encoding="utf-8"))
    assert links, "the report shows its figures"
    assert [x for x in links if not (folder / x).is_file()] == []
