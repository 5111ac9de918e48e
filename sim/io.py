"""Writing a run's outputs: the only module of ``sim`` that touches files.

Everything is first written into a hidden staging folder next to the target and moved into
place only when complete, so a failed run leaves no half-written output.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.metrics import services_table
from sim.params import Config, to_dict
from sim.provenance import git_commit, package_versions
from sim.runner import Results
from sim.world import World


def build_manifest(cfg: Config, world: World, results: Results, wall_s: float,
                   files: dict[str, int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Self-description of an output folder."""
    return {
        "tool": "ozg-sim",
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "config": to_dict(cfg),
        "seed": cfg.seed,
        "replications": cfg.replications,
        "seeds": {"root": cfg.seed, "replications": list(range(cfg.replications)),
                  "scheme": "SeedSequence((seed, replication, stream_id)); see sim/rng.py"},
        "world": world.summary(),
        "package_versions": package_versions(),
        "git_commit": git_commit(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "timings": {"wall_s": round(wall_s, 3),
                    "replication_wall_s": [round(x, 4) for x in results.wall_s]},
        "rows": files,
        **(extra or {}),
    }


def write_run(out_dir: Path, cfg: Config, world: World, results: Results, wall_s: float,
              figures: Callable[[Path], list[str]] | None = None,
              extra: dict[str, Any] | None = None) -> list[Path]:
    """Write tables, KPIs, charts and manifest of a run into ``out_dir`` atomically.

    ``figures(staging_dir)`` draws the charts from the tables already written there and
    returns the file names it created.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out_dir))
    try:
        rows: dict[str, int] = {}
        for name, df in results.tables.items():
            df.to_parquet(staging / f"{name}.parquet", index=False)
            rows[f"{name}.parquet"] = len(df)
        results.kpi_summary.to_csv(staging / "kpis.csv", index=False, float_format="%.6g")
        results.kpis.to_parquet(staging / "kpis_by_replication.parquet", index=False)
        rows["kpis.csv"] = len(results.kpi_summary)
        rows["kpis_by_replication.parquet"] = len(results.kpis)
        services_table(world).to_csv(staging / "services.csv", index=False)
        rows["services.csv"] = world.n_services
        names = figures(staging) if figures else []
        manifest = build_manifest(cfg, world, results, wall_s, rows,
                                  {"figures": names, **(extra or {})})
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        written = []
        for f in sorted(staging.iterdir(), key=lambda p: (p.name == "manifest.json", p.name)):
            target = out_dir / f.name
            if target.exists():
                target.unlink()
            os.replace(f, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    """Read the tables of a run folder back."""
    run_dir = Path(run_dir)
    return {p.stem: pd.read_parquet(p) for p in sorted(run_dir.glob("*.parquet"))}
