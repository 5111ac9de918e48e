"""Where a result came from: package versions, the git commit, the code version and the
hash of a configuration.

Every output of ozg-sim says what produced it: run manifests, experiment and calibration
manifests, the sidecar CSV of every figure and the keys of the sweep's run cache. They all
take their provenance from here, so a writer, a figure and a sweep never have to reach into
each other for it. This module stands on the ground floor: it imports only the parameter
schema.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from sim.keys import to_dict
from sim.params import Config

#: Packages whose versions every manifest and figure sidecar records.
PACKAGES = ("ozg-sim", "simpy", "numpy", "scipy", "pandas", "pyarrow", "hydra-core",
            "omegaconf", "matplotlib", "SALib", "pyabc")
#: Libraries whose versions can change a run's numbers (random draws, arithmetic, event
#: order, the Parquet round trip); with Python's major.minor they are part of every run
#: cache key (:func:`result_environment`), so upgrading one never serves stale results.
RESULT_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "simpy")
#: The package folder; :func:`code_version` hashes its sources and data.
PACKAGE_DIR = Path(__file__).resolve().parent


def package_versions() -> dict[str, str]:
    """Python's and each of :data:`PACKAGES`' version (``"not installed"`` if absent)."""
    return {"python": platform.python_version(), **{p: _version(p) for p in PACKAGES}}


def git_commit(path: Path | None = None) -> str | None:
    """Commit of the checkout the package runs from (``+dirty`` if it has local changes);
    ``None`` outside a git checkout."""
    root = Path(path or PACKAGE_DIR.parent)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the package sources and embedded data: results depend on nothing else.

    It hashes every ``.py`` and ``.csv`` file under :data:`PACKAGE_DIR` with its relative
    path, so moving a module changes it (and invalidates the sweep's run cache once).
    """
    h = hashlib.sha256()
    for p in sorted(PACKAGE_DIR.rglob("*")):
        if p.suffix in (".py", ".csv") and "__pycache__" not in p.parts:
            h.update(p.relative_to(PACKAGE_DIR).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def result_environment() -> str:
    """Hash of Python's major.minor version and the versions of :data:`RESULT_PACKAGES`."""
    parts = [f"python={sys.version_info.major}.{sys.version_info.minor}",
             *(f"{p}={_version(p)}" for p in RESULT_PACKAGES)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def config_hash(cfg: Config) -> str:
    """Hash of everything in a config that can change a run's result (not the number of
    replications, workers, the executor or the cost budget)."""
    d = to_dict(cfg)
    for k in ("replications", "workers", "executor", "max_cost_s"):
        d.pop(k, None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stamp(tool: str, command: str | None = None) -> dict[str, object]:
    """The provenance every manifest opens with: the tool, when (UTC), the command line
    (default: ``tool`` and this process's arguments), package versions, git commit, code
    version and the machine."""
    return {"tool": tool,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command if command is not None else " ".join([tool, *sys.argv[1:]]),
            "package_versions": package_versions(), "git_commit": git_commit(),
            "code_version": code_version(),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}}


def run_provenance(cfg: Config) -> dict[str, object]:
    """What the sidecar CSV of a run's chart records about where it came from."""
    return {"config_hash": config_hash(cfg), "seed": cfg.seed,
            "replications": cfg.replications, "strategy": cfg.strategy.name,
            "funding": cfg.funding.name, "staffing": cfg.staffing.name,
            "world": cfg.world.name, "code_version": code_version(),
            "git_commit": git_commit() or ""}
