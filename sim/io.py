"""Writing output folders: a run's tables, key figures, charts and manifest, and the one
staged-folder writer every command uses.

Everything is first written into a hidden staging folder (``.partial-<host>-<pid>-*``)
beside the target and moved into place only when complete (:func:`staged_folder`), so a
failed or interrupted command leaves no half-written output; the staging folders of killed
commands are removed when the next command writes there (:func:`remove_stale_staging`).
Every command checks its output folders before it computes anything
(:func:`check_writable`), and an operating-system error while writing (full disk,
read-only file system, no permission, file too large) becomes an :class:`OutputError`
naming the path and the reason. Other writers: figures (:mod:`sim.figures.save`) and the
sweep's run cache (:mod:`sim.cache`).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ConfigError
from sim.exports import write_folder_exports
from sim.keys import to_dict
from sim.metrics import services_table
from sim.params import Config
from sim.provenance import config_hash, stamp
from sim.runner import Results
from sim.world import World


def build_manifest(cfg: Config, world: World, results: Results, wall_s: float,
                   files: dict[str, int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Self-description of a run folder."""
    return {
        **stamp("ozg-sim", " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])),
        "config": to_dict(cfg),
        "config_hash": config_hash(cfg),
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


class OutputError(Exception):
    """Writing an output failed for a reason of the operating system (full disk, read-only
    file system, no permission, file too large); the message names the path and the reason.
    Commands report it in one line with exit code :data:`sim.cli.common.EXIT_IO_ERROR`."""


#: Prefix of every staging folder; the full name is ``.partial-<host>-<pid>-<random>`` so
#: that the next command can tell a killed writer's folder from a live one.
STAGING_PREFIX = ".partial-"
#: Age (seconds since anything in it last changed) after which a staging folder of another
#: host, or of the old form without a host and PID, counts as left by a killed command and is
#: removed: its PID cannot be checked from here, and no writer of ours leaves a staging
#: folder untouched this long while alive (a calibration, the longest, writes its pyabc
#: database into it at least once a generation, i.e. every few hours at most). Seven days,
#: as a weekend plus a margin.
STALE_STAGING_AGE_S = 7 * 24 * 3600.0


def timestamp() -> str:
    """Local date and time as used in output folder names (``2026-12-04_16-23-54``)."""
    return datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def _unique(root: Path, name: str) -> Path:
    final, n = root / name, 1
    while final.exists():
        n += 1
        final = root / f"{name}_{n}"
    return final


def _host() -> str:
    """This machine's name as it may appear in a folder name (no ``-``, ``/``, dots)."""
    return "".join(c for c in socket.gethostname().split(".")[0] if c.isalnum())[:32] or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _last_change(path: Path) -> float:
    """Newest modification time of ``path`` and its direct entries."""
    times = [path.lstat().st_mtime]
    try:
        times += [p.lstat().st_mtime for p in path.iterdir()]
    except OSError:
        pass
    return max(times)


def is_stale_staging(path: Path, now: float | None = None) -> bool:
    """Whether ``path`` is a staging folder left by a killed command: written on this host
    by a process that no longer runs, or unchanged for :data:`STALE_STAGING_AGE_S`."""
    if not path.name.startswith(STAGING_PREFIX) or path.is_symlink() or not path.is_dir():
        return False
    parts = path.name[len(STAGING_PREFIX):].split("-")
    if len(parts) == 3 and parts[0] == _host() and parts[1].isascii() and parts[1].isdigit():
        pid = int(parts[1])
        if pid != os.getpid() and not _pid_alive(pid):
            return True
    try:
        age = (time.time() if now is None else now) - _last_change(path)
    except OSError:
        return False
    return age > STALE_STAGING_AGE_S


def remove_stale_staging(root: Path) -> list[Path]:
    """Remove the staging folders of killed commands directly under ``root``
    (:func:`is_stale_staging`); returns those removed. Anything else is left alone."""
    root = Path(root)
    removed = []
    try:
        entries = list(root.iterdir()) if root.is_dir() else []
    except OSError:
        return []
    for p in entries:
        if is_stale_staging(p):
            shutil.rmtree(p, ignore_errors=True)
            if not p.exists():
                removed.append(p)
    return removed


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    return p


def check_writable(path: str | Path, key: str) -> Path:
    """Check, before anything is computed, that the output folder ``path`` (the option
    ``key``, named in the message) can be written: it is not a file, and it, or the
    nearest existing folder above it in which it would be created, accepts a new file
    (tested by creating and removing a probe file, which also catches read-only mounts and
    permissions that :func:`os.access` misjudges). Creates nothing else; removes the stale
    staging folders of killed commands in ``path`` (:func:`remove_stale_staging`).

    Raises
    ------
    ConfigError
        One line naming ``key``, the path and the problem.
    """
    path = Path(path)
    where = f"{key}={path}"
    base = _existing_ancestor(path)
    if not base.is_dir():
        what = "is a file" if base == path.absolute() else f"lies under the file {base}"
        raise ConfigError(f"{where} is not allowed: it {what}; a folder is needed")
    try:
        fd, probe = _probe(base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ConfigError(f"{where} is not allowed: cannot write in {base} ({reason}); a "
                          "writable folder is needed") from exc
    remove_stale_staging(path)
    return path


def _probe(folder: Path) -> tuple[int, str]:
    name = folder / f"{STAGING_PREFIX}probe-{_host()}-{os.getpid()}-{secrets.token_hex(4)}"
    return os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), str(name)


#: Operating-system errors of writing: full disk or quota, read-only file system, no
#: permission, file too large (``RLIMIT_FSIZE``), a device error.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EFBIG, errno.EIO})


def is_write_error(exc: OSError) -> bool:
    """Whether ``exc`` is a failed write (:data:`WRITE_ERRNOS`, or an error of a library
    that writes files and gives no errno, as pyarrow does), not a network error."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return False
    return exc.errno in WRITE_ERRNOS or exc.errno is None


def describe_os_error(exc: OSError, default_path: Path | str) -> str:
    """``<path>: <reason>`` of an operating-system error (pyarrow's and matplotlib's carry
    no file name: then ``default_path``)."""
    path = exc.filename or default_path
    reason = exc.strerror or (str(exc).strip().splitlines() or [""])[0] or \
        errno.errorcode.get(exc.errno or 0, exc.__class__.__name__)
    return f"{path}: {reason}"


def _make_staging(root: Path) -> Path:
    staging = root / f"{STAGING_PREFIX}{_host()}-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    return staging


@contextmanager
def staged_folder(root: Path, name: str | None = None,
                  replace: bool = False) -> Iterator[Staging]:
    """Write a folder atomically: into a hidden staging folder under ``root``, moved into
    place when the ``with`` block completes, removed if it fails.

    With a ``name``, the staging folder becomes ``root/name`` (``name_2``, ``name_3``, ...
    if that exists; with ``replace``, an existing ``root/name`` is swapped out whole and
    removed, so a reader sees the old folder or the new one, never a mix). Without, its files
    move into ``root`` itself (an existing folder such as Hydra's run folder),
    ``manifest.json`` last, replacing files of the same name. Stale staging folders of
    killed commands in ``root`` are removed first.

    Raises
    ------
    OutputError
        If the operating system refuses a write (full disk, read-only, permissions, file
        too large): the message names the path and the reason; nothing is left behind.
    """
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(root)
        staging = _make_staging(root)
    except OSError as exc:
        raise OutputError(f"cannot write {describe_os_error(exc, root)}") from exc
    final = (root / name if replace else _unique(root, name)) if name is not None else root
    try:
        yield Staging(staging, final)
        if name is not None:
            old = None
            if replace and (final.exists() or final.is_symlink()):
                old = root / f"{staging.name}old"  # still a staging name: stale if killed here
                os.replace(final, old)
            os.replace(staging, final)
            if old is not None:
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink()
        else:
            for f in sorted(staging.iterdir(), key=lambda p: (p.name == "manifest.json", p.name)):
                target = root / f.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                os.replace(f, target)
    except OSError as exc:
        if not is_write_error(exc):
            raise  # e.g. a lost connection to a Dask scheduler: not the disk's fault
        raise OutputError(f"cannot write {describe_os_error(exc, final)}; nothing was "
                          "written") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_run(out_dir: Path, cfg: Config, world: World, results: Results, wall_s: float,
              figures: Callable[[Path], list[str]] | None = None,
              extra: dict[str, Any] | None = None) -> list[Path]:
    """Write tables, KPIs, charts and manifest of a run into ``out_dir`` atomically.

    ``figures(staging_dir)`` draws the charts from the tables already written there and
    returns the file names it created; then the exports (``summary.xlsx`` with every CSV
    and figure sidecar, the coverage GeoJSON: :func:`sim.exports.write_folder_exports`)
    are written, listed in the manifest under ``exports``.
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
        manifest["exports"] = write_folder_exports(staging, manifest, results.tables)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        written = sorted(staging.iterdir(), key=lambda p: (p.name == "manifest.json", p.name))
    return [out_dir / f.name for f in written]


def read_tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    """Read the tables of a run folder back."""
    run_dir = Path(run_dir)
    return {p.stem: pd.read_parquet(p) for p in sorted(run_dir.glob("*.parquet"))}
