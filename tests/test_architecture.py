"""The layout of the house, checked from the source: no import cycles, no imports hidden in
functions, the model apart from the commands, files and Hydra, the figures apart from the
model, nothing importing the commands, and no module too large to read.

The import graph is read with ``ast`` from each module's top level (imports under
``if TYPE_CHECKING:`` are for annotations only and do not count); importing ``a.b.c`` counts
as depending on ``a.b.c`` (its parent packages' ``__init__`` re-exports are not edges).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"
#: A module may be longer only if it is one concept (the parameter schema reads as one
#: reference).
MAX_LINES = 900


def _module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    pkg = base if _modules()[module].name == "__init__.py" else base[:-1]
    pkg = pkg[:len(pkg) - node.level + 1]
    return ".".join([*pkg, node.module] if node.module else pkg)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    mods = _modules()
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = _resolve(module, node)
    out = []
    for a in node.names:  # ``from sim.model import records`` imports a submodule
        sub = f"{base}.{a.name}"
        out.append(sub if sub in mods else base)
    return out


def _collect(body: list[ast.stmt], top: bool, mod: str, runtime: set[str],
             nested: list[tuple[int, str]]) -> None:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if top:
                runtime.update(_targets(mod, node))
            else:
                nested.extend((node.lineno, t) for t in _targets(mod, node))
        elif isinstance(node, ast.If) and _is_type_checking(node):
            continue
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            _collect(node.body, False, mod, runtime, nested)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []) or []:
                    _collect(child.body if isinstance(child, ast.ExceptHandler) else [child],
                             top, mod, runtime, nested)


@cache
def _imports() -> dict[str, tuple[set[str], list[tuple[int, str]]]]:
    """Per module: what it imports at run time (top level), and imports inside functions
    or classes (line, target)."""
    out: dict[str, tuple[set[str], list[tuple[int, str]]]] = {}
    for name, path in _modules().items():
        runtime: set[str] = set()
        nested: list[tuple[int, str]] = []
        _collect(ast.parse(path.read_text(encoding="utf-8")).body, True, name, runtime, nested)
        out[name] = (runtime, nested)
    return out


def _internal_graph() -> dict[str, set[str]]:
    mods = set(_modules())
    return {m: {t for t in imp if t in mods and t != m} for m, (imp, _n) in _imports().items()}


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for t in graph.get(todo.pop(), ()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def test_no_import_cycles() -> None:
    graph = _internal_graph()
    cycles = sorted(m for m in graph if m in _reach(graph, m))
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_no_imports_inside_functions() -> None:
    found = [f"{m}:{line} imports {t}" for m, (_i, nested) in _imports().items()
             for line, t in nested]
    assert not found, found


def test_the_model_reads_no_hydra_writes_no_files_and_knows_no_layer_above() -> None:
    graph = _internal_graph()
    above = ("sim.metrics", "sim.runner", "sim.sweep", "sim.io", "sim.config", "sim.cli",
             "sim.figures", "sim.calibration")
    for m in (m for m in graph if m == "sim.model" or m.startswith("sim.model.")):
        reached = _reach(graph, m)
        bad = sorted(r for r in reached if r.startswith(above))
        assert not bad, (m, bad)
        external = {t.split(".")[0] for r in {m, *reached} for t in _imports()[r][0]}
        assert not external & {"hydra", "omegaconf", "matplotlib"}, (m, external)


def test_the_figures_never_import_the_model() -> None:
    graph = _internal_graph()
    figures = [m for m in graph if m.startswith("sim.figures")]
    assert figures, "no figures wing"
    forbidden = ("sim.model", "sim.runner", "sim.io", "sim.sweep", "sim.config", "sim.cli",
                 "sim.calibration", "sim.metrics")
    for m in figures:
        reached = _reach(graph, m)
        bad = sorted(r for r in reached if r.startswith(forbidden))
        assert not bad, (m, bad)
        external = {t.split(".")[0] for r in {m, *reached} for t in _imports()[r][0]}
        assert not external & {"simpy", "hydra", "omegaconf"}, (m, external)


def test_importing_the_figures_loads_neither_simpy_nor_the_model() -> None:
    figures = sorted(m for m in _modules() if m.startswith("sim.figures"))
    code = ("import sys\n" + "".join(f"import {m}\n" for m in figures)
            + "print(sorted(m for m in ('simpy', 'sim.model', 'hydra', 'sim.runner') "
              "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out


def test_nothing_imports_the_commands() -> None:
    graph = _internal_graph()
    users = sorted(m for m, deps in graph.items()
                   if not (m.startswith("sim.cli") or m == "sim.__main__")
                   and any(d.startswith("sim.cli") for d in deps))
    assert not users, users


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_is_too_long_to_read(module: str) -> None:
    lines = len(_modules()[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"
