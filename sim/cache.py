"""The run cache: every finished sweep run kept on disk, so an interrupted or repeated sweep
computes nothing twice, and nothing planted, flipped, truncated or full in it can change a
result.

An *entry* is a folder of one Parquet file per table of :data:`sim.outputs.RECORD_TABLES`
and ``record.json``: the run's key, its key figures, and for each table the SHA-256 and size
of its file and the Arrow schema it was written with. ``record.json`` is authenticated with
an HMAC-SHA256 keyed by a per-user secret kept outside the cache (:func:`secret_path`,
created on first use with mode 0600), and the entry's folder name is derived from that
secret too, so anyone who can write to a shared cache folder can neither predict where an
entry lies nor plant one that is used: nothing in an entry can execute (data only, never a
pickle), and an entry is used only if every byte of it is what this user's ozg-sim wrote
for this very run. Anything else (missing, truncated, corrupt, foreign, mismatched) is
logged in one line, removed and computed again (:func:`read`); never used, never a crash.

Writing (:func:`write`) goes into a fresh temporary folder in the shard folder, every file
created exclusively without following symbolic links and synced, and the folder is renamed
into place whole; a planted symbolic link at the shard or entry path is replaced, never
followed. A failed write (full disk, read-only folder) logs one warning and the sweep goes
on with the result in memory.

The key of a run (:func:`run_key`) hashes its resolved configuration, its replication, the
package's code version and the versions of the libraries that shape results
(:func:`sim.provenance.result_environment`). The cache lives in :func:`default_cache_dir`
(``$OZG_SIM_CACHE``, else the user cache folder), never relative to the current directory;
:func:`info` measures it and :func:`prune` trims it (the ``ozg-sim-cache`` command).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import shutil
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd
import platformdirs
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import ConfigError
from sim.outputs import RECORD_TABLES
from sim.params import Config
from sim.provenance import code_version, config_hash, result_environment

log = logging.getLogger("ozg-sim")

#: Environment variable naming the cache folder (an absolute path); else the user cache
#: folder of :data:`APP_NAME`.
CACHE_ENV = "OZG_SIM_CACHE"
#: Environment variable naming the secret key file (tests point it at a temporary file);
#: else ``cache.key`` in the user config folder of :data:`APP_NAME`.
KEY_ENV = "OZG_SIM_CACHE_KEY"
#: Name of the user cache and config folders (``~/.cache/ozg-sim``, ``~/.config/ozg-sim``
#: on Linux, honouring ``$XDG_CACHE_HOME`` and ``$XDG_CONFIG_HOME``).
APP_NAME = "ozg-sim"
#: Bytes of the secret key: 256 bits, the block-size-independent strength of SHA-256.
SECRET_BYTES = 32
#: Identifies an entry's ``record.json``; a record with another ``format`` is foreign.
FORMAT = "ozg-sim run cache entry"
#: Version of the entry layout: entries of another version are discarded and rewritten.
FORMAT_VERSION = 1
#: The file of an entry written last: it names and authenticates the others.
RECORD = "record.json"
#: Longest ``record.json`` read (1 MiB): a real one is about 2 KB (some thirty key figures
#: and the table digests), so a larger file is damaged or planted and is not read whole.
MAX_RECORD_BYTES = 1 << 20
#: Hex characters of an entry's folder name (128 bits of an HMAC: unguessable, no clashes).
NAME_CHARS = 32
#: Hex characters of the shard folder an entry lies in (256 shards keep folders small).
SHARD_CHARS = 2
#: Prefix of the temporary folder an entry is written into before it is renamed into place.
TMP_PREFIX = ".tmp-"
#: Age after which :func:`prune` removes a temporary folder: writing an entry takes well
#: under a second, so one an hour old belongs to a killed process, not a running write.
STALE_TMP_S = 3600.0

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class CacheKeyError(ConfigError):
    """The secret key file cannot be created or read, or others could read or change it."""


class BadEntry(Exception):
    """A cache entry that must not be used; the message says why (one line)."""


@dataclass(frozen=True)
class Entry:
    """What a verified cache entry holds: the run's tables, key figures and wall time (s)."""

    tables: dict[str, pd.DataFrame]
    kpis: dict[str, float]
    wall_s: float


# --------------------------------------------------------------------------- key and location


def run_key(cfg: Config, replication: int) -> str:
    """Cache key of one replication of a resolved config: config hash, replication, code
    version and the result-shaping library versions (a new numpy may change the draws)."""
    return f"{config_hash(cfg)}-{replication}-{code_version()}-{result_environment()}"


def default_cache_dir() -> Path:
    """``$OZG_SIM_CACHE`` if set (it must be absolute), else the user cache folder."""
    env = os.environ.get(CACHE_ENV, "")
    if env:
        path = Path(env).expanduser()
        if not path.is_absolute():
            raise ConfigError(f"{CACHE_ENV}={env!r} is not allowed: an absolute path "
                              "(the cache must not depend on the current folder)")
        return path
    return platformdirs.user_cache_path(APP_NAME)


def cache_location(option: str | None) -> Path:
    """The cache folder of a ``cache=`` option (``None``: :func:`default_cache_dir`)."""
    if option is None:
        return default_cache_dir()
    if not option.strip():
        raise ConfigError("cache='' is not allowed: a folder path")
    return Path(option).expanduser()


def secret_path() -> Path:
    """``$OZG_SIM_CACHE_KEY`` if set, else ``cache.key`` in the user config folder."""
    env = os.environ.get(KEY_ENV, "")
    return Path(env).expanduser() if env else platformdirs.user_config_path(APP_NAME) / "cache.key"


def load_secret() -> bytes:
    """This user's secret cache key, created on first use (random, mode 0600).

    Raises
    ------
    CacheKeyError
        If the file cannot be created or read, is a symbolic link, is not this user's, or
        others may read or write it (then they could forge entries).
    """
    return _load_secret(secret_path())


@lru_cache(maxsize=4)
def _load_secret(path: Path) -> bytes:
    try:
        if not path.exists():
            _create_secret(path)
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise CacheKeyError(f"cache key {path} is not allowed: a regular file")
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
                raise CacheKeyError(f"cache key {path} is not allowed: it must be yours and "
                                    "readable only by you (chmod 600)")
            text = os.read(fd, 4 * SECRET_BYTES).decode("ascii", "replace").strip()
        finally:
            os.close(fd)
    except OSError as exc:
        raise CacheKeyError(f"cache key {path} cannot be read or created: "
                            f"{exc.strerror or exc}") from exc
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise CacheKeyError(f"cache key {path} is not allowed: {2 * SECRET_BYTES} hex "
                            "digits (delete it to have a new one made)")
    return secret


def _create_secret(path: Path) -> None:
    """Write a new random key beside ``path`` and link it into place: two processes
    starting at once end up with the same key, and none ever reads a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)


def entry_name(key: str, secret: bytes) -> str:
    """Folder name of a run's entry: an HMAC of its key, unpredictable without the secret."""
    return hmac.new(secret, b"entry-name\0" + key.encode(), hashlib.sha256).hexdigest()[:NAME_CHARS]


def entry_path(cache_dir: Path, key: str, secret: bytes | None = None) -> Path:
    """Where the entry of ``key`` lies: ``<cache>/<shard>/<name>/``."""
    name = entry_name(key, load_secret() if secret is None else secret)
    return Path(cache_dir) / name[:SHARD_CHARS] / name


# --------------------------------------------------------------------------- the record


def _canonical(obj: object) -> bytes:
    """The one byte form of a record (sorted keys, compact, ASCII, one line): a record in
    any other form was not written by :func:`write`, so even a harmless-looking change (an
    ``e`` turned ``E`` in a number) is caught."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
            + "\n").encode()


def _signature(body: dict[str, object], secret: bytes) -> str:
    return hmac.new(secret, _canonical(body), hashlib.sha256).hexdigest()


def _schema_text(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, engine="pyarrow")
    return buf.getvalue()


# --------------------------------------------------------------------------- reading


def read(cache_dir: Path, key: str) -> Entry | None:
    """The verified entry of ``key``, or ``None`` (absent, or bad: then one warning names
    the entry and why, the entry is removed and the run is computed again)."""
    try:
        secret = load_secret()
    except CacheKeyError as exc:
        log.warning("run cache not used: %s", exc)
        return None
    path = entry_path(cache_dir, key, secret)
    if not os.path.lexists(path) and not path.parent.is_symlink():
        return None
    try:
        entry = verify(path, key, secret)
    except BadEntry as exc:
        log.warning("run cache: entry %s discarded (%s); the run is computed again", path, exc)
        discard(path.parent if path.parent.is_symlink() else path)  # never through a link
        return None
    try:  # a hit counts as a use: prune removes the least recently used entries first
        os.utime(path / RECORD, follow_symlinks=False)
    except OSError:
        pass  # a read-only cache is still usable
    return entry


def verify(path: Path, key: str, secret: bytes) -> Entry:
    """Read the entry in folder ``path`` and check every byte of it against its record.

    Raises
    ------
    BadEntry
        Saying what is wrong: a symbolic link, a missing or oversized record, a record not
        in canonical JSON, not signed with this user's key, of another format version or
        run, other tables than :data:`sim.outputs.RECORD_TABLES`, a table file missing, of
        another size or digest, or not of the schema it was written with.
    """
    if path.is_symlink() or path.parent.is_symlink():
        raise BadEntry("a symbolic link, not a folder written by ozg-sim")
    raw = _read_at_most(path / RECORD, MAX_RECORD_BYTES)
    try:
        rec = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadEntry(f"{RECORD} is not JSON") from exc
    if not isinstance(rec, dict) or _canonical(rec) != raw:
        raise BadEntry(f"{RECORD} is not in the form ozg-sim writes")
    mac = rec.pop("hmac_sha256", None)
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _signature(rec, secret)):
        raise BadEntry(f"{RECORD} is not signed with this user's cache key "
                       "(planted, foreign or damaged)")
    if rec.get("format") != FORMAT or rec.get("format_version") != FORMAT_VERSION:
        raise BadEntry(f"format {rec.get('format_version')!r}, not {FORMAT_VERSION}")
    if rec.get("key") != key:
        raise BadEntry(f"it holds run {rec.get('key')!r}, not {key!r}")
    files = rec.get("tables")
    if not isinstance(files, dict) or sorted(files) != sorted(RECORD_TABLES):
        raise BadEntry("its tables are not " + ", ".join(sorted(RECORD_TABLES)))
    # every byte first (cheap), then the parsing: a damaged entry costs no table decoding
    data = {name: _checked_bytes(path, name, files[name]) for name in RECORD_TABLES}
    tables = {name: _decode(name, data[name], files[name]) for name in RECORD_TABLES}
    try:
        kpis = {str(k): float(v) for k, v in rec["kpis"]}
        wall_s = float(rec["wall_s"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEntry("its key figures are not numbers") from exc
    return Entry(tables, kpis, wall_s)


def _checked_bytes(path: Path, name: str, meta: object) -> bytes:
    """A table file's bytes, checked against the size and digest in the record."""
    if not isinstance(meta, dict) or meta.get("file") != f"{name}.parquet":
        raise BadEntry(f"the record of table {name} is malformed")
    size = meta.get("bytes")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BadEntry(f"the size of table {name} is malformed")
    data = _read_at_most(path / f"{name}.parquet", size)
    if len(data) != size:
        raise BadEntry(f"{name}.parquet has {len(data)} bytes, not {size} (truncated)")
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise BadEntry(f"{name}.parquet does not match its SHA-256 (corrupt)")
    return data


def _decode(name: str, data: bytes, meta: dict[str, object]) -> pd.DataFrame:
    """A checked table file as a DataFrame, if it has the schema it was written with."""
    try:
        table = pq.read_table(pa.BufferReader(data))
        written = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(str(meta.get("schema")),
                                                                   validate=True)))
    except (pa.ArrowException, ValueError) as exc:
        raise BadEntry(f"{name}.parquet or its schema cannot be read: {exc}") from exc
    if not table.schema.equals(written, check_metadata=True):
        raise BadEntry(f"{name}.parquet does not have the schema it was written with")
    return table.to_pandas()


def _read_at_most(path: Path, limit: int) -> bytes:
    """A file's bytes, never following a symbolic link; more than ``limit`` bytes is an
    error (a damaged or planted file is not read whole)."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW)
    except FileNotFoundError as exc:
        raise BadEntry(f"{path.name} is missing (an unfinished or damaged entry)") from exc
    except OSError as exc:
        raise BadEntry(f"{path.name} cannot be opened: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadEntry(f"{path.name} is not a regular file")
        if st.st_size > limit:
            raise BadEntry(f"{path.name} has {st.st_size} bytes, more than {limit}")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)
    except OSError as exc:
        raise BadEntry(f"{path.name} cannot be read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    """Remove an entry (or whatever lies at its path; a symbolic link itself, never its
    target); a cache we may not change is left as it is."""
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    except OSError as exc:
        log.debug("run cache: could not remove %s: %s", path, exc)


def is_cached(cache_dir: Path | None, key: str) -> bool:
    """Whether the cache holds a complete entry for ``key``, without verifying it (for
    counts and estimates; :func:`read` verifies before use)."""
    if cache_dir is None:
        return False
    try:
        return (entry_path(cache_dir, key) / RECORD).is_file()
    except (CacheKeyError, OSError):
        return False


# --------------------------------------------------------------------------- writing


def write(cache_dir: Path, key: str, tables: dict[str, pd.DataFrame], kpis: dict[str, float],
          wall_s: float) -> bool:
    """Store a run's entry atomically; ``False`` (and one warning) if it could not be.

    The files go into a new temporary folder inside the shard folder (created exclusively,
    never through a symbolic link, each synced), ``record.json`` last, and the folder is
    renamed to the entry's name; a symbolic link planted at the shard or entry path is
    removed, not followed. An entry that appeared meanwhile (another process wrote the
    same run) is kept. Nothing temporary is left behind.
    """
    shard_fd: int | None = None
    tmp: str | None = None
    where = Path(cache_dir)
    try:
        secret = load_secret()
        name = entry_name(key, secret)
        where = where / name[:SHARD_CHARS] / name
        shard_fd = _open_shard(Path(cache_dir), name[:SHARD_CHARS])
        tmp = TMP_PREFIX + secrets.token_hex(8)
        os.mkdir(tmp, 0o700, dir_fd=shard_fd)
        _write_entry(shard_fd, tmp, key, tables, kpis, wall_s, secret)
        if _is_link(shard_fd, name):
            log.warning("run cache: replaced a symbolic link at %s (not followed)", where)
            os.unlink(name, dir_fd=shard_fd)
        try:
            os.rename(tmp, name, src_dir_fd=shard_fd, dst_dir_fd=shard_fd)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            return True  # written by another process meanwhile (the finally removes ours)
        tmp = None
        os.fsync(shard_fd)
        return True
    except (OSError, CacheKeyError, ValueError, pa.ArrowException, NotImplementedError) as exc:
        # NotImplementedError: a platform without ``dir_fd`` (Windows) runs without a cache
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        log.warning("run cache: could not write entry %s (%s); the run's result is kept in "
                    "memory only", where, detail)
        return False
    finally:
        if shard_fd is not None:
            if tmp is not None:
                try:
                    shutil.rmtree(tmp, dir_fd=shard_fd)
                except OSError:
                    pass  # a full or failing disk: prune removes it later
            os.close(shard_fd)


def _open_shard(cache_dir: Path, shard: str) -> int:
    """A file descriptor of the shard folder, created if absent; a symbolic link there is
    replaced by a real folder (its target is never touched)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    root_fd = os.open(cache_dir, os.O_RDONLY | _O_DIRECTORY)  # may be a link the user chose
    try:
        for _ in range(3):  # a link or folder appearing between two steps: try again
            if _is_link(root_fd, shard):
                log.warning("run cache: replaced a symbolic link at %s (not followed)",
                            cache_dir / shard)
                os.unlink(shard, dir_fd=root_fd)
            try:
                return os.open(shard, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=root_fd)
            except FileNotFoundError:
                try:
                    os.mkdir(shard, 0o700, dir_fd=root_fd)
                except FileExistsError:
                    pass
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR) or not _is_link(root_fd, shard):
                    raise
        raise OSError(errno.ELOOP, "symbolic links keep appearing", str(cache_dir / shard))
    finally:
        os.close(root_fd)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _write_entry(shard_fd: int, tmp: str, key: str, tables: dict[str, pd.DataFrame],
                 kpis: dict[str, float], wall_s: float, secret: bytes) -> None:
    """Every table, then the signed record, into the temporary folder ``tmp``."""
    if sorted(tables) != sorted(RECORD_TABLES):
        raise ValueError("a run record has tables " + ", ".join(sorted(tables)) + ", not "
                         + ", ".join(sorted(RECORD_TABLES)))
    dir_fd = os.open(tmp, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=shard_fd)
    try:
        files: dict[str, object] = {}
        for name in RECORD_TABLES:
            data = _parquet_bytes(tables[name])
            _write_file(dir_fd, f"{name}.parquet", data)
            files[name] = {"file": f"{name}.parquet", "bytes": len(data),
                           "sha256": hashlib.sha256(data).hexdigest(),
                           "schema": _schema_text(pq.read_schema(pa.BufferReader(data)))}
        body: dict[str, object] = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "key": key,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "kpis": [[str(k), float(v)] for k, v in kpis.items()],  # a list keeps their order
            "wall_s": float(wall_s),
            "tables": files}
        _write_file(dir_fd, RECORD, _canonical({**body, "hmac_sha256": _signature(body, secret)}))
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_file(dir_fd: int, name: str, data: bytes) -> None:
    """Create ``name`` (it must not exist; never through a link), write and sync it."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


# --------------------------------------------------------------------------- size and pruning


@dataclass(frozen=True)
class CacheInfo:
    """What a cache folder holds: complete entries, their bytes, and temporary folders."""

    path: Path
    entries: int
    bytes: int
    temporaries: int

    def describe(self) -> str:
        """``/path: 12 entries, 3.4 MB`` (one line)."""
        tmp = f", {self.temporaries} temporary folder(s)" if self.temporaries else ""
        return f"{self.path}: {self.entries} entries, {self.bytes / 1e6:.1f} MB{tmp}"


@dataclass(frozen=True)
class _Item:
    path: Path
    used: float  # last use (mtime of record.json, or of the folder), seconds since the epoch
    bytes: int
    temporary: bool


def _folder_bytes(path: Path) -> int:
    total = 0
    try:
        with os.scandir(path) as it:
            for e in it:
                if e.is_file(follow_symlinks=False):
                    total += e.stat(follow_symlinks=False).st_size
                elif e.is_dir(follow_symlinks=False):
                    total += _folder_bytes(Path(e.path))
    except OSError:
        pass
    return total


def _items(cache_dir: Path) -> list[_Item]:
    """Every entry and temporary folder in the shards (symbolic links are not followed)."""
    out: list[_Item] = []
    if not cache_dir.is_dir():
        return out
    for shard in os.scandir(cache_dir):
        if not shard.is_dir(follow_symlinks=False) or len(shard.name) != SHARD_CHARS:
            continue
        for e in os.scandir(shard.path):
            if not e.is_dir(follow_symlinks=False):
                continue
            path = Path(e.path)
            temporary = e.name.startswith(TMP_PREFIX)
            try:
                used = (path / RECORD).stat().st_mtime if not temporary else e.stat().st_mtime
            except OSError:  # no record: an entry that never finished, removed like a temporary
                used, temporary = e.stat(follow_symlinks=False).st_mtime, True
            out.append(_Item(path, used, _folder_bytes(path), temporary))
    return out


def info(cache_dir: Path) -> CacheInfo:
    """Entries, size and temporary folders of the cache in ``cache_dir``."""
    items = _items(Path(cache_dir))
    return CacheInfo(Path(cache_dir), sum(not i.temporary for i in items),
                     sum(i.bytes for i in items), sum(i.temporary for i in items))


@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune` removed."""

    entries: int
    temporaries: int
    bytes: int


def prune(cache_dir: Path, older_than_days: float | None = None,
          max_bytes: int | None = None, now: float | None = None) -> PruneResult:
    """Remove entries unused for more than ``older_than_days``, then the least recently used
    ones until the cache holds at most ``max_bytes``, and every temporary folder older than
    :data:`STALE_TMP_S` (left by killed processes). Without limits only those."""
    now = time.time() if now is None else now
    items = _items(Path(cache_dir))
    entries = sorted((i for i in items if not i.temporary), key=lambda i: i.used)
    gone = [i for i in items if i.temporary and now - i.used > STALE_TMP_S]
    kept = entries
    if older_than_days is not None:
        cutoff = now - older_than_days * 86400.0
        gone += [i for i in entries if i.used < cutoff]
        kept = [i for i in entries if i.used >= cutoff]
    if max_bytes is not None:
        total = sum(i.bytes for i in kept)
        for i in kept:  # oldest first
            if total <= max_bytes:
                break
            gone.append(i)
            total -= i.bytes
    for i in gone:
        discard(i.path)
    return PruneResult(sum(not i.temporary for i in gone), sum(i.temporary for i in gone),
                       sum(i.bytes for i in gone))
