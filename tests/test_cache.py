"""The run cache (``sim.cache``, ``ozg-sim-cache``): nothing planted, flipped, truncated,
linked or full in it can change a result.

Every damaged or planted entry must be detected before use, and a sweep over such a cache
must assemble exactly the tables of a sweep that never had a cache. The toy world keeps
each sweep under a second.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import random
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim.cache as run_cache
import sim.provenance as provenance
from sim.cli.cache import log_cache, open_cache
from sim.cli.cache import main as cache_main
from sim.cli.experiment import main as experiment_main
from sim.errors import ConfigError
from sim.outputs import RECORD_TABLES
from sim.sweep import Sweep, assemble, make_sweep, run_sweep

TOY = ["world=toy"]
#: Tables compared between a sweep over a damaged cache and one without a cache.
COMPARED = ("national", "by_state", "by_kreis", "by_topic", "by_size_class", "running_costs",
            "kpis")
#: Random bit flips checked one by one (each must be caught).
BIT_FLIPS = 2000
#: Offsets at both ends of a table file truncated one by one; between them every
#: :data:`TRUNCATION_STRIDE`-th offset (the record file is truncated at every offset).
TRUNCATION_EDGE = 64
TRUNCATION_STRIDE = 61


@pytest.fixture(scope="module")
def sweep() -> Sweep:
    return make_sweep("cache", {"grid": {"strategy": ["efa"]}}, TOY, 2, 3)


@pytest.fixture(scope="module")
def baseline(sweep: Sweep) -> dict[str, pd.DataFrame]:
    """The sweep's tables computed without any cache."""
    return assemble(sweep, run_sweep(sweep, workers=1))


@pytest.fixture(scope="module")
def filled(sweep: Sweep, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding every run of the sweep, written by the sweep itself (read-only use:
    tests copy it)."""
    root = tmp_path_factory.mktemp("filled") / "cache"
    run_sweep(sweep, workers=1, cache_dir=root)
    return root


def _keys(sweep: Sweep) -> list[str]:
    return [key for *_rest, key in sweep.runs()]


def _copy(filled: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "cache"
    shutil.copytree(filled, dst)
    return dst


def _assert_same(tables: dict[str, pd.DataFrame], baseline: dict[str, pd.DataFrame]) -> None:
    for name in COMPARED:
        pd.testing.assert_frame_equal(tables[name], baseline[name], check_exact=True)


def _sweep_over(cache_dir: Path, sweep: Sweep) -> tuple[dict[str, pd.DataFrame], int]:
    """Assembled tables of a sweep over ``cache_dir`` and how many runs came from it."""
    recs = run_sweep(sweep, workers=1, cache_dir=cache_dir)
    assert all(r.status == "ok" for r in recs)
    return assemble(sweep, recs), sum(r.cached for r in recs)


def _entry(cache_dir: Path, key: str) -> Path:
    return run_cache.entry_path(cache_dir, key)


# --------------------------------------------------------------------------- intact entries


def test_an_entry_is_data_with_digests_schemas_and_a_signature(filled, sweep, baseline) -> None:
    key = _keys(sweep)[0]
    path = _entry(filled, key)
    assert sorted(p.name for p in path.iterdir()) == sorted(
        [run_cache.RECORD, *(f"{t}.parquet" for t in RECORD_TABLES)])
    rec = json.loads((path / run_cache.RECORD).read_text())
    assert rec["format_version"] == run_cache.FORMAT_VERSION and rec["key"] == key
    assert set(rec["tables"]) == set(RECORD_TABLES) and len(rec["hmac_sha256"]) == 64
    assert all(len(t["sha256"]) == 64 and t["bytes"] > 0 and t["schema"]
               for t in rec["tables"].values())
    # the folder name is not the key: without the user's secret nobody can tell where a run lies
    assert key not in str(path) and len(path.name) == run_cache.NAME_CHARS
    entry = run_cache.verify(path, key, run_cache.load_secret())
    assert [c for c in baseline["kpis"].columns if c in entry.kpis] == list(entry.kpis)
    tables, cached = _sweep_over(filled, sweep)
    assert cached == sweep.n_runs
    _assert_same(tables, baseline)


def test_the_key_holds_the_code_and_the_library_versions(sweep, monkeypatch) -> None:
    key = _keys(sweep)[0]
    assert key.endswith(f"-{provenance.code_version()}-{provenance.result_environment()}")
    before = provenance.result_environment()
    monkeypatch.setattr(provenance, "_version",
                        lambda p: "99.0" if p == "numpy" else "1.0")
    provenance.result_environment.cache_clear()
    try:
        assert provenance.result_environment() != before
        assert _keys(sweep)[0] != key
    finally:
        provenance.result_environment.cache_clear()
    assert set(provenance.RESULT_PACKAGES) == {"numpy", "scipy", "pandas", "pyarrow", "simpy"}


# --------------------------------------------------------------------------- damaged entries


@pytest.mark.slow  # ~10 s on a busy 2-core machine
def test_every_truncation_of_an_entry_is_detected(filled, sweep, tmp_path) -> None:
    cache = _copy(filled, tmp_path)
    key = _keys(sweep)[0]
    path, secret = _entry(cache, key), run_cache.load_secret()
    for f in sorted(path.iterdir()):
        data = f.read_bytes()
        n = len(data)
        if f.name == run_cache.RECORD:
            offsets = range(n)
        else:
            offsets = sorted({*range(min(n, TRUNCATION_EDGE)),
                              *range(max(0, n - TRUNCATION_EDGE), n),
                              *range(0, n, TRUNCATION_STRIDE)})
        for off in offsets:
            os.truncate(f, off)
            with pytest.raises(run_cache.BadEntry):
                run_cache.verify(path, key, secret)
        f.write_bytes(data)
    run_cache.verify(path, key, secret)  # restored: valid again


@pytest.mark.slow  # ~15 s on a busy 2-core machine
def test_random_bit_flips_are_all_detected(filled, sweep, tmp_path) -> None:
    cache = _copy(filled, tmp_path)
    key = _keys(sweep)[1]
    path, secret = _entry(cache, key), run_cache.load_secret()
    files = sorted(path.iterdir())
    rng = random.Random(20261205)
    for _ in range(BIT_FLIPS):
        f = rng.choice(files)
        data = bytearray(f.read_bytes())
        i, bit = rng.randrange(len(data)), 1 << rng.randrange(8)
        data[i] ^= bit
        f.write_bytes(bytes(data))
        with pytest.raises(run_cache.BadEntry):
            run_cache.verify(path, key, secret)
        data[i] ^= bit
        f.write_bytes(bytes(data))
    run_cache.verify(path, key, secret)


@pytest.mark.parametrize("damage", ["truncate_table", "truncate_record", "flip_table",
                                    "flip_record", "delete_record", "delete_table",
                                    "extra_huge_record"])
def test_a_sweep_over_a_damaged_entry_recomputes_it(damage, filled, sweep, baseline, tmp_path,
                                                   caplog) -> None:
    cache = _copy(filled, tmp_path)
    key = _keys(sweep)[0]
    path = _entry(cache, key)
    table, record = path / "national.parquet", path / run_cache.RECORD
    target = table if "table" in damage else record
    if damage.startswith("truncate"):
        os.truncate(target, target.stat().st_size // 2)
    elif damage.startswith("flip"):
        data = bytearray(target.read_bytes())
        data[len(data) // 3] ^= 0x10
        target.write_bytes(bytes(data))
    elif damage.startswith("delete"):
        target.unlink()
    else:  # a record too large to be one: refused without reading it whole
        record.write_bytes(b" " * (run_cache.MAX_RECORD_BYTES + 1))
    with caplog.at_level(logging.WARNING, logger="ozg-sim"):
        tables, cached = _sweep_over(cache, sweep)
    assert cached == sweep.n_runs - 1
    _assert_same(tables, baseline)
    warnings = [r.getMessage() for r in caplog.records if "discarded" in r.getMessage()]
    assert len(warnings) == 1 and str(path) in warnings[0], warnings
    # the entry was written again, whole: the next sweep takes every run from the cache
    assert _sweep_over(cache, sweep)[1] == sweep.n_runs


def _plant(cache: Path, key: str, path: Path, edit) -> None:
    """Rewrite the entry of ``key`` at ``path`` with ``edit(record, folder)`` applied."""
    rec = json.loads((path / run_cache.RECORD).read_text())
    edit(rec, path)
    (path / run_cache.RECORD).write_bytes(run_cache._canonical(rec))


def _fake_national(path: Path) -> bytes:
    """A valid Parquet table of the right schema claiming full population coverage."""
    df = pd.read_parquet(path / "national.parquet")
    df["population_coverage"] = 1.0
    return run_cache._parquet_bytes(df)


def test_a_planted_table_with_a_wrong_checksum_is_never_used(filled, sweep, baseline,
                                                              tmp_path) -> None:
    cache = _copy(filled, tmp_path)
    for key in _keys(sweep):
        path = _entry(cache, key)
        (path / "national.parquet").write_bytes(_fake_national(path))
    tables, cached = _sweep_over(cache, sweep)
    assert cached == 0 and (tables["national"]["population_coverage"] < 1.0).any()
    _assert_same(tables, baseline)


def test_a_planted_entry_with_right_checksums_but_no_valid_signature_is_never_used(
        filled, sweep, baseline, tmp_path) -> None:
    """The attacker writes a valid-looking table, records its true digest and schema, and
    signs the record with a key of their own (or with none)."""
    cache = _copy(filled, tmp_path)
    keys = _keys(sweep)

    def forge(sign_with: bytes | None):
        def edit(rec, path):
            data = _fake_national(path)
            (path / "national.parquet").write_bytes(data)
            rec["tables"]["national"].update(bytes=len(data),
                                             sha256=hashlib.sha256(data).hexdigest())
            rec.pop("hmac_sha256")
            if sign_with is not None:
                rec["hmac_sha256"] = run_cache._signature(rec, sign_with)
        return edit

    _plant(cache, keys[0], _entry(cache, keys[0]), forge(b"\x01" * run_cache.SECRET_BYTES))
    _plant(cache, keys[1], _entry(cache, keys[1]), forge(None))
    path = _entry(cache, keys[0])
    with pytest.raises(run_cache.BadEntry, match="not signed"):
        run_cache.verify(path, keys[0], run_cache.load_secret())
    tables, cached = _sweep_over(cache, sweep)
    assert cached == 0
    _assert_same(tables, baseline)


def test_a_valid_entry_of_another_run_moved_into_place_is_never_used(filled, sweep, baseline,
                                                                    tmp_path) -> None:
    cache = _copy(filled, tmp_path)
    a, b = (_entry(cache, k) for k in _keys(sweep))
    shutil.rmtree(b)
    shutil.copytree(a, b)  # replica 0's signed entry where replication 1's belongs
    with pytest.raises(run_cache.BadEntry, match="holds run"):
        run_cache.verify(b, _keys(sweep)[1], run_cache.load_secret())
    tables, cached = _sweep_over(cache, sweep)
    assert cached == 1
    _assert_same(tables, baseline)


def test_an_entry_of_another_format_version_is_recomputed(filled, sweep, baseline,
                                                          tmp_path, monkeypatch) -> None:
    cache = _copy(filled, tmp_path)
    monkeypatch.setattr(run_cache, "FORMAT_VERSION", run_cache.FORMAT_VERSION + 1)
    tables, cached = _sweep_over(cache, sweep)
    assert cached == 0
    _assert_same(tables, baseline)


# --------------------------------------------------------------------------- symbolic links


def test_a_planted_symlink_at_the_shard_is_replaced_not_followed(sweep, baseline,
                                                                tmp_path) -> None:
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    cache.mkdir()
    for key in _keys(sweep):
        entry = _entry(cache, key)
        (outside / entry.name).mkdir()  # a folder of the victim's where the link points
        (outside / entry.name / "keep.txt").write_text("mine")
        if not entry.parent.is_symlink():
            entry.parent.symlink_to(outside, target_is_directory=True)
    before = sorted(p.relative_to(outside) for p in outside.rglob("*"))
    tables, cached = _sweep_over(cache, sweep)
    assert cached == 0
    _assert_same(tables, baseline)
    assert sorted(p.relative_to(outside) for p in outside.rglob("*")) == before
    assert all(p.read_text() == "mine" for p in outside.rglob("keep.txt"))
    for key in _keys(sweep):
        assert not _entry(cache, key).parent.is_symlink()
    assert _sweep_over(cache, sweep)[1] == sweep.n_runs


def test_a_planted_symlink_at_the_entry_is_replaced_not_followed(filled, sweep, baseline,
                                                                tmp_path) -> None:
    cache, outside = _copy(filled, tmp_path), tmp_path / "outside"
    key = _keys(sweep)[0]
    path = _entry(cache, key)
    shutil.copytree(path, outside)  # even a valid entry behind a link is not used
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    shutil.rmtree(path)
    path.symlink_to(outside, target_is_directory=True)
    tables, cached = _sweep_over(cache, sweep)
    assert cached == sweep.n_runs - 1
    _assert_same(tables, baseline)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    assert path.is_dir() and not path.is_symlink()
    # a link planted after the read, just before the write, is removed, not written through
    shutil.rmtree(path)
    path.symlink_to(outside, target_is_directory=True)
    entry = run_cache.verify(_entry(filled, key), key, run_cache.load_secret())
    assert run_cache.write(cache, key, entry.tables, entry.kpis, entry.wall_s)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    assert not path.is_symlink()
    run_cache.verify(path, key, run_cache.load_secret())


# --------------------------------------------------------------------------- failed writes


@pytest.mark.parametrize("fail_at", [1, 4, len(RECORD_TABLES) + 1])
def test_a_failed_write_warns_and_the_sweep_goes_on(fail_at, sweep, baseline, tmp_path,
                                                    monkeypatch, caplog) -> None:
    """A disk that fills up at the ``fail_at``-th file of an entry: one warning per run,
    every result kept in memory, nothing temporary left behind."""
    cache = tmp_path / "cache"
    real = run_cache._write_file
    failing = [*(f"{t}.parquet" for t in RECORD_TABLES), run_cache.RECORD][fail_at - 1]

    def filling(dir_fd, name, data):
        if name == failing:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(dir_fd, name, data)

    monkeypatch.setattr(run_cache, "_write_file", filling)
    with caplog.at_level(logging.WARNING, logger="ozg-sim"):
        tables, cached = _sweep_over(cache, sweep)
    assert cached == 0
    _assert_same(tables, baseline)
    warnings = [r.getMessage() for r in caplog.records if "could not write" in r.getMessage()]
    assert len(warnings) == sweep.n_runs and "No space left" in warnings[0], warnings
    assert not [p for p in cache.rglob("*") if p.name.startswith(run_cache.TMP_PREFIX)]
    assert run_cache.info(cache).entries == 0


def test_an_unwritable_cache_folder_warns_and_the_sweep_goes_on(sweep, baseline, tmp_path,
                                                                caplog) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="ozg-sim"):
        tables, cached = _sweep_over(cache, sweep)
    assert cached == 0
    _assert_same(tables, baseline)
    assert sum("could not write" in r.getMessage() for r in caplog.records) == sweep.n_runs


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_read_only_cache_folder_warns_and_the_sweep_goes_on(sweep, baseline,
                                                              tmp_path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        tables, cached = _sweep_over(cache, sweep)
    finally:
        cache.chmod(0o700)
    assert cached == 0
    _assert_same(tables, baseline)


# --------------------------------------------------------------------------- the key file


def test_the_key_file_is_private_and_an_exposed_one_is_refused(sweep, baseline, tmp_path,
                                                               monkeypatch, caplog) -> None:
    key_file = tmp_path / "config" / "cache.key"
    monkeypatch.setenv(run_cache.KEY_ENV, str(key_file))
    secret = run_cache.load_secret()
    assert len(secret) == run_cache.SECRET_BYTES
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run_cache.load_secret() == secret
    other = tmp_path / "other.key"
    monkeypatch.setenv(run_cache.KEY_ENV, str(other))
    assert run_cache.load_secret() != secret  # another user's key: another folder name
    assert run_cache.entry_name("k", secret) != run_cache.entry_name("k", run_cache.load_secret())
    exposed = tmp_path / "exposed.key"
    exposed.write_text(secret.hex())
    exposed.chmod(0o644)
    monkeypatch.setenv(run_cache.KEY_ENV, str(exposed))
    with pytest.raises(run_cache.CacheKeyError, match="readable only by you"):
        run_cache.load_secret()
    with caplog.at_level(logging.WARNING, logger="ozg-sim"):
        tables, cached = _sweep_over(tmp_path / "cache", sweep)  # runs, without the cache
    assert cached == 0 and not (tmp_path / "cache").exists()
    _assert_same(tables, baseline)
    assert any("run cache not used" in r.getMessage() for r in caplog.records)
    short = tmp_path / "short.key"
    short.write_text("abc")
    short.chmod(0o600)
    monkeypatch.setenv(run_cache.KEY_ENV, str(short))
    with pytest.raises(run_cache.CacheKeyError, match="hex digits"):
        run_cache.load_secret()


def test_the_sweep_command_checks_the_cache_before_any_run(tmp_path, monkeypatch,
                                                           caplog) -> None:
    """``open_cache``: where the cache is and its size in the log; a file as cache folder
    or an exposed key file is one line and exit 2 before anything runs."""
    assert open_cache(str(tmp_path / "c")) == tmp_path / "c"
    with caplog.at_level(logging.INFO, logger="ozg-sim"):
        log_cache(tmp_path / "c")
    assert any(f"run cache: {tmp_path / 'c'}: 0 entries" in r.getMessage()
               for r in caplog.records)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is not allowed: a folder"):
        open_cache(str(f))
    monkeypatch.setenv(run_cache.KEY_ENV, str(tmp_path / "c" / "cache.key"))
    with pytest.raises(ConfigError, match="holds the cache key"):
        open_cache(str(tmp_path / "c"))
    exposed = tmp_path / "exposed.key"
    exposed.write_text("ab" * run_cache.SECRET_BYTES)
    exposed.chmod(0o666)
    monkeypatch.setenv(run_cache.KEY_ENV, str(exposed))
    monkeypatch.setattr(run_cache, "write", lambda *a: pytest.fail("a run was computed"))
    with pytest.raises(SystemExit) as exc:
        experiment_main(["efa_vs_efv", "world=toy", "replications=2",
                         f"out={tmp_path / 'out'}", f"cache={tmp_path / 'c'}"])
    assert exc.value.code == 2 and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- location


def test_the_default_cache_does_not_depend_on_the_current_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(run_cache.CACHE_ENV, str(tmp_path / "c"))
    assert run_cache.default_cache_dir() == tmp_path / "c"
    assert run_cache.cache_location(None) == tmp_path / "c"
    assert run_cache.cache_location(str(tmp_path / "d")) == tmp_path / "d"
    monkeypatch.delenv(run_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    here = run_cache.default_cache_dir()
    monkeypatch.chdir(tmp_path)
    assert run_cache.default_cache_dir() == here == tmp_path / "xdg" / "ozg-sim"
    monkeypatch.setenv(run_cache.CACHE_ENV, "relative/cache")
    with pytest.raises(ConfigError, match="OZG_SIM_CACHE='relative/cache' is not allowed"):
        run_cache.default_cache_dir()
    with pytest.raises(ConfigError, match="cache='' is not allowed"):
        run_cache.cache_location("")


# --------------------------------------------------------------------------- size and prune


def test_prune_removes_the_least_recently_used_entries_and_stale_temporaries(
        filled, sweep, tmp_path) -> None:
    cache = _copy(filled, tmp_path)
    old, new = (_entry(cache, k) for k in _keys(sweep))
    now = 1_000_000_000.0
    os.utime(old / run_cache.RECORD, (now - 10 * 86400, now - 10 * 86400))
    os.utime(new / run_cache.RECORD, (now - 86400, now - 86400))
    stale = old.parent / f"{run_cache.TMP_PREFIX}dead"
    fresh = old.parent / f"{run_cache.TMP_PREFIX}busy"
    stale.mkdir()
    (stale / "national.parquet").write_bytes(b"x" * 100)
    fresh.mkdir()
    os.utime(stale, (now - 2 * run_cache.STALE_TMP_S, now - 2 * run_cache.STALE_TMP_S))
    os.utime(fresh, (now - 1, now - 1))
    before = run_cache.info(cache)
    assert (before.entries, before.temporaries) == (2, 2)
    assert before.bytes == sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())

    gone = run_cache.prune(cache, now=now)  # no limits: only the stale temporary folder
    assert (gone.entries, gone.temporaries, gone.bytes) == (0, 1, 100)
    assert not stale.exists() and fresh.exists() and old.exists()
    size_new = run_cache.info(cache).bytes - run_cache._folder_bytes(old)
    gone = run_cache.prune(cache, max_bytes=size_new, now=now)  # the older one goes first
    assert gone.entries == 1 and not old.exists() and new.exists()
    gone = run_cache.prune(cache, older_than_days=0.5, now=now)
    assert gone.entries == 1 and not new.exists() and run_cache.info(cache).entries == 0


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        cache_main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cache_command_shows_and_prunes(filled, tmp_path, capsys) -> None:
    cache = _copy(filled, tmp_path)
    code, out, _ = _cli([f"cache={cache}"], capsys)
    assert code == 0 and f"{cache}: 2 entries" in out and "key file" in out
    code, out, _ = _cli(["info", f"cache={cache}"], capsys)
    assert code == 0 and "2 entries" in out
    code, out, _ = _cli(["prune", f"cache={cache}", "max_gb=1"], capsys)
    assert code == 0 and "0 entries" in out.splitlines()[0] and "2 entries" in out
    code, out, _ = _cli(["prune", f"cache={cache}", "older_than_days=0"], capsys)
    assert code == 0 and out.startswith("freed ") and "2 entries and 0 temporary" in out
    assert run_cache.info(cache).entries == 0
    code, out, _ = _cli(["info", f"cache={tmp_path / 'none'}"], capsys)
    assert code == 0 and "0 entries" in out and not (tmp_path / "none").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["frobnicate"], "'frobnicate' is not allowed: one of info, prune"),
    (["info", "prune"], "is not allowed: one of info, prune"),
    (["info", "max_gb=1"], "max_gb= is not allowed with info"),
    (["prune", "colour=red"], "colour= is not allowed: options are"),
    (["prune", "older_than_days=²"], "'²' is not an ASCII digit"),
    (["prune", "max_gb=nan"], "max_gb='nan' is not allowed"),
    (["prune", "max_gb=-1"], "max_gb='-1' is not allowed"),
    (["prune", "max_gb=" + "9" * 400], "is not allowed: a number >= 0"),
    (["info", "cache="], "cache='' is not allowed"),
])
def test_bad_cache_command_options_give_one_line_and_exit_2(args, message, capsys) -> None:
    code, out, err = _cli(args, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("ozg-sim-cache: error: ") and message in err


def test_the_cache_command_refuses_a_file_as_cache(tmp_path) -> None:
    """End to end through a real process: one line, exit 2, the file untouched."""
    f = tmp_path / "file"
    f.write_text("x")
    r = subprocess.run([sys.executable, "-m", "sim.cli.cache", "prune", f"cache={f}",
                        "older_than_days=0"], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.strip().splitlines() == [
        f"ozg-sim-cache: error: cache={str(f)!r} is not allowed: a folder (it is a file)"]
    assert f.read_text() == "x"
