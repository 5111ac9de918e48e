"""ozg-sim as a normal (non-editable) package: the wheel carries the configs (``conf/``
mapped to ``sim/conf``), and the commands find them there, far from any checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_the_package_list_names_every_package_of_the_tree() -> None:
    """pyproject.toml lists the packages (it maps conf/ into the package, which rules out
    discovery): a new subpackage missing from the list would be missing from the wheel."""
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    tree = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "sim").rglob("__init__.py")}
    assert set(tool["packages"]) == tree | {"sim.conf"}
    assert tool["package-dir"] == {"sim.conf": "conf"}


def _run(args: list[str], cwd: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """A command with only the installed package on the path (no checkout: neither the
    working folder nor PYTHONPATH points at it)."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin",
                               "OZG_SIM_CACHE": str(cwd / "cache"), "HOME": str(cwd)})


@pytest.mark.slow
def test_a_wheel_installed_apart_from_the_checkout_runs(tmp_path: Path) -> None:
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(REPO)], check=True, timeout=600, capture_output=True)
    (wheel,) = wheels.glob("ozg_sim-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, timeout=600, capture_output=True)
    assert (site / "sim" / "conf" / "config.yaml").is_file()
    assert (site / "sim" / "conf" / "calibrated" / "historical_posterior.csv").is_file()
    assert (site / "sim" / "conf" / "declarations.yaml").is_file()  # sim.declarations reads it

    where = _run(["-c", "import sim, sim.config as c; print(sim.__file__); "
                  "print(c.CONF_DIR); print(c.CONF_IN_CHECKOUT)"], work, site)
    assert where.returncode == 0, where.stderr
    module, conf, in_checkout = where.stdout.split()
    assert Path(module).is_relative_to(site) and Path(conf) == site / "sim" / "conf"
    assert in_checkout == "False"

    run = _run(["-m", "sim", "world=toy", "replications=2", "workers=1"], work, site)
    assert run.returncode == 0, run.stderr
    (folder,) = (work / "outputs" / "runs").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["calibrated_draws"]["mode"] == "posterior"

    (work / "mine.yaml").write_text(
        "name: mine\nreplications: 2\nseed: 1\nbase: [world=toy]\n"
        "design:\n  grid:\n    strategy: [efa, efv]\nfigures: [fan]\n")
    exp = _run(["-m", "sim.cli.experiment", "./mine.yaml", "workers=1", "out=exp"], work, site)
    assert exp.returncode == 0, exp.stderr
    assert list((work / "exp" / "mine").iterdir())

    cal = _run(["-m", "sim.cli.calibrate", "historical", "world=toy", "apply=true"], work, site)
    assert cal.returncode == 2
    assert cal.stderr.strip().splitlines() == [cal.stderr.strip()]
    assert "installed as a package" in cal.stderr
    assert not list(site.glob("sim/conf/calibrated/*.tmp*"))
