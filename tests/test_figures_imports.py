"""The figures wing stands apart from the model: drawing never imports SimPy, the model,
Hydra, the runner, the sweep, the writer or the commands, and its rooms import each other
in one direction only, at the top of each module."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import sim.figures

FIGURES_DIR = Path(sim.figures.__file__).parent
MODULES = sorted(f"sim.figures.{m.name}" for m in pkgutil.iter_modules([str(FIGURES_DIR)]))
#: What no module of the wing may import (itself or through another module).
FORBIDDEN = ("simpy", "sim.model", "hydra", "sim.runner", "sim.io", "sim.sweep", "sim.config",
             "sim.cli")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import statement of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" if node.module == "sim.figures" else node.module
                     for a in node.names]
            out += [(n, id(node) in top) for n in names]
    return out


def test_every_figure_module_imports_without_the_model() -> None:
    code = ("import importlib, json, sys\n"
            f"for m in {MODULES!r}:\n"
            "    importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    loaded = set(json.loads(r.stdout.strip().splitlines()[-1]))
    assert len(MODULES) >= 11 and set(MODULES) <= loaded
    bad = sorted(m for m in loaded for f in FORBIDDEN if m == f or m.startswith(f + "."))
    assert not bad, f"importing sim.figures loads {bad}"
    assert "simpy" not in loaded and "sim.model" not in loaded and "hydra" not in loaded


def test_figure_modules_import_at_the_top_and_never_the_model() -> None:
    for path in sorted(FIGURES_DIR.glob("*.py")):
        for name, at_top in _imports(path):
            assert at_top, f"{path.name} imports {name} inside a function or block"
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (
                f"{path.name} imports {name}")


def test_the_rooms_of_the_wing_import_each_other_without_a_cycle() -> None:
    graph = {m.rsplit(".", 1)[1]: {n.rsplit(".", 1)[1] for n, _ in
                                   _imports(FIGURES_DIR / f"{m.rsplit('.', 1)[1]}.py")
                                   if n.startswith("sim.figures.")}
             for m in MODULES}
    done: set[str] = set()

    def visit(room: str, path: tuple[str, ...]) -> None:
        assert room not in path, "import cycle: " + " -> ".join([*path, room])
        if room in done:
            return
        for other in graph[room]:
            visit(other, (*path, room))
        done.add(room)

    for room in graph:
        visit(room, ())
