"""The README stays true: its library example runs (on the toy world) and the commands it
names exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_library_example_runs() -> None:
    section = README.split("## Using it as a library", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    src = code.group(1).replace('load_config(["strategy=efv", "replications=20"])',
                                'load_config(["strategy=efv", "replications=2", "world=toy"])')
    assert "world=toy" in src, "the example's load_config call changed: update this test"
    scope: dict[str, object] = {}
    exec(compile(src, "README.md", "exec"), scope)  # the README's own example
    assert {"res", "national", "fig", "data"} <= set(scope)
    plt.close("all")


def test_every_console_script_named_in_the_readme_exists() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    named = set(re.findall(r"\b(ozg-sim(?:-[a-z]+)?)\b", README))
    assert named <= set(scripts), named - set(scripts)
    assert set(scripts) <= named, "a console script the README does not mention"
