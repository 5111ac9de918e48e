"""The benchmark script runs (its figures are measured by hand and recorded in
BENCHMARKS.md, never asserted here): a smoke run of its single-replication part on the toy
world, so that a changed signature cannot leave it broken unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_single_part_runs_on_the_toy_world(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / "benchmark.py"),
                        "--only", "single", "--replications", "1", "--json", str(out),
                        "world=toy"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[single]" in r.stdout and "simulation + tables" in r.stdout
    figures = json.loads(out.read_text())
    assert figures  # the JSON holds the measured figures
