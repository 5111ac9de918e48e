"""Writing output folders: a run's tables, key figures, charts and manifest, and the one
staged-folder writer every command uses.

Everything is first written into a hidden staging folder (``.partial-*``) beside the target
and moved into place only when complete (:func:`staged_folder`), so a failed or interrupted
command leaves no half-written output. Other writers: figures (:mod:`sim.figures.save`) and
the sweep's run cache (:mod:`sim.cache`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.keys import to_dict
from sim.metrics import services_table
from sim.params import Config
from sim.provenance import stamp
from sim.runner import Results
from sim.world import World


def build_manifest(cfg: Config, world: World, results: Results, wall_s: float,
                   files: dict[str, int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Self-description of a run folder."""
    return {
        **stamp("ozg-sim", " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])),
        "config": to_dict(cfg),
        "seed": cfg.seed,
        "replications": cfg.replications,
        "seeds": {"root": cfg.seed, "replications": list(range(cfg.replications)),
                  "scheme": "SeedSequence((seed, replication, stream_id)); see sim/rng.py"},
        "world": world.summary(),
        "timings": {"wall_s": round(wall_s, 3),
                    "replication_wall_s": [round(x, 4) for x in results.wall_s]},
        "rows": files,
        **(extra or {}),
    }


@dataclass
class Staging:
    """A folder being written: ``path`` is where to write now, ``final`` where its contents
    will be once complete."""

    path: Path
    final: Path


def timestamp() -> str:
    """Local date and time as used in output folder names (``2026-12-04_16-23-54``)."""
    return datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def _unique(root: Path, name: str) -> Path:
    final, n = root / name, 1
    while final.exists():
        n += 1
        final = root / f"{name}_{n}"
    return final


@contextmanager
def staged_folder(root: Path, name: str | None = None) -> Iterator[Staging]:
    """Write a folder atomically: into a hidden staging folder under ``root``, moved into
    place when the ``with`` block completes, removed if it fails.

    With a ``name``, the staging folder becomes ``root/name`` (``name_2``, ``name_3``, ...
    if that exists). Without, its files move into ``root`` itself (an existing folder such
    as Hydra's run folder), ``manifest.json`` last, replacing files of the same name.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = _unique(root, name) if name is not None else root
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        yield Staging(staging, final)
        if name is not None:
            os.replace(staging, final)
        else:
            for f in sorted(staging.iterdir(), key=lambda p: (p.name == "manifest.json", p.name)):
                target = root / f.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                os.replace(f, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_run(out_dir: Path, cfg: Config, world: World, results: Results, wall_s: float,
              figures: Callable[[Path], list[str]] | None = None,
              extra: dict[str, Any] | None = None) -> list[Path]:
    """Write tables, KPIs, charts and manifest of a run into ``out_dir`` atomically.

    ``figures(staging_dir)`` draws the charts from the tables already written there and
    returns the file names it created.
    """
    out_dir = Path(out_dir)
    with staged_folder(out_dir) as stage:
        staging = stage.path
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
        written = sorted(staging.iterdir(), key=lambda p: (p.name == "manifest.json", p.name))
    return [out_dir / f.name for f in written]


def read_tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    """Read the tables of a run folder back."""
    run_dir = Path(run_dir)
    return {p.stem: pd.read_parquet(p) for p in sorted(run_dir.glob("*.parquet"))}
