"""Clean failures and no leftovers (issue 12, part 3): output folders checked before any run,
I/O errors while writing as one line with exit code 3 and nothing half-written, stale
staging folders of killed commands removed, damaged folders refused in one line by
``ozg-sim-figures`` and ``ozg-sim-compare``, malformed experiment files and options refused,
experiment names that cannot move a folder, replications=1, and a redraw that swaps whole.

Most cases call a command's ``main`` in this process (fast); a few run it as a real
subprocess: a full disk through ``RLIMIT_FSIZE`` (writes fail with EFBIG), a full and a
read-only tmpfs where the machine can mount one, and ``ozg-sim replications=1`` end to end.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from helpers import TOY, make_config

from sim.cli import calibrate, common, compare, experiment, figures
from sim.cli import run as run_cli
from sim.errors import ConfigError, DataError
from sim.figures import recipes
from sim.figures.run import coverage_figure
from sim.io import (
    STAGING_PREFIX,
    STALE_STAGING_AGE_S,
    OutputError,
    _host,
    check_writable,
    remove_stale_staging,
    staged_folder,
    write_run,
)
from sim.outputs import read_table
from sim.runner import run_replications
from sim.sweep import load_spec
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]
#: A sweep of two strategies on the toy world with the fan chart only: the smallest
#: experiment folder. Its title has path characters, which must not move the folder.
TINY_SPEC = """name: tiny
title: "../../escaped"
replications: 2
design:
  grid:
    strategy: [efa, efv]
figures: [fan]
"""


def _call(main: Callable[[list[str]], None], args: list[str],
          capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Exit code and stderr lines (log lines dropped) of a command run in this process."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("[20")]
    return code, err


def _one_line(code: int, err: list[str], expected: int, *words: str) -> None:
    assert code == expected, err
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for w in words:
        assert w in err[0], err


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"{STAGING_PREFIX}*")] if root.exists() else []


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished experiment folder of :data:`TINY_SPEC` (given by its path)."""
    base = tmp_path_factory.mktemp("sweep")
    spec = base / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    out = base / "out"
    try:
        experiment.main([str(spec), "world=toy", "workers=1", f"out={out}", "--no-cache"])
    except SystemExit as exc:  # pragma: no cover - the fixture must build
        raise AssertionError(f"the experiment failed with exit code {exc.code}") from exc
    (folder,) = (out / "tiny").iterdir()
    return folder


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of the toy world with two replications, written as ``ozg-sim`` does."""
    cfg = make_config(world=TOY, replications=2)
    world = build_world(cfg.world)
    results = run_replications(world, cfg, 1)
    out = tmp_path_factory.mktemp("run") / "run"
    write_run(out, cfg, world, results, 0.0)
    man = json.loads((out / "manifest.json").read_text())
    assert man["tool"] == "ozg-sim"
    return out


@pytest.fixture
def copy_of(tmp_path: Path) -> Callable[[Path], Path]:
    def _copy(folder: Path) -> Path:
        target = tmp_path / "copy" / folder.name
        shutil.copytree(folder, target)
        return target
    return _copy


# --------------------------------------------------------------------------- pre-checks


def test_check_writable_refuses_a_file_a_path_under_a_file_and_creates_nothing(
        tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ConfigError, match=r"^out=.*afile is not allowed: it is a file"):
        check_writable(f, "out")
    with pytest.raises(ConfigError, match="lies under the file"):
        check_writable(f / "a" / "b", "out")
    assert check_writable(tmp_path / "new" / "deeper", "out") == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions: chmod 0o555 cannot "
                    "make a folder read-only for it (the read-only tmpfs test covers it)")
def test_a_read_only_output_folder_is_refused_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, err = _call(compare.main, [str(tmp_path), f"out={ro / 'x'}"], capsys)
        _one_line(code, err, 2, "out=", "cannot write")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("cmd,args", [
    ("experiment", ["efa_vs_efv", "world=toy", "out={file}"]),
    ("experiment", ["efa_vs_efv", "world=toy", "cache={file}"]),
    ("experiment", ["sensitivity", "world=toy", "out={file}"]),
    ("compare", ["{folder}", "out={file}"]),
    ("calibrate", ["world=toy", "out={file}"]),
    ("figures", ["{file}"]),
])
def test_every_command_refuses_an_output_that_is_a_file_in_one_line(
        cmd: str, args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        run_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    ran: list[object] = []
    monkeypatch.setattr("sim.sweep.execute_run", lambda *a: ran.append(a))
    main = {"experiment": experiment.main, "compare": compare.main,
            "calibrate": calibrate.main, "figures": figures.main}[cmd]
    code, err = _call(main, [a.format(file=f, folder=run_folder) for a in args], capsys)
    _one_line(code, err, 2, str(f))
    assert not ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_ozg_sim_refuses_a_run_folder_under_a_file_before_hydra_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    code, err = _call(run_cli.main, ["world=toy", f"hydra.run.dir={f}/run"], capsys)
    _one_line(code, err, 2, "hydra.run.dir=", "lies under the file")
    assert run_cli.output_root(["hydra.run.dir=a/b/${now:%H}"], False) == (
        Path("a/b"), "hydra.run.dir")
    assert run_cli.output_root([], True)[0] == Path("outputs/multirun")


# --------------------------------------------------------------------------- stale staging


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_staging_of_killed_commands_is_removed_live_and_foreign_ones_kept(
        tmp_path: Path) -> None:
    dead = tmp_path / f"{STAGING_PREFIX}{_host()}-{_dead_pid()}-abcd"
    live = tmp_path / f"{STAGING_PREFIX}{_host()}-{os.getppid()}-abcd"
    foreign = tmp_path / f"{STAGING_PREFIX}otherhost-1-abcd"
    old = tmp_path / f"{STAGING_PREFIX}oldform"
    other = tmp_path / "results"
    for p in (dead, live, foreign, old, other):
        p.mkdir()
        (p / "national.parquet").write_bytes(b"half")
    week_ago = time.time() - STALE_STAGING_AGE_S - 60
    for p in (old, old / "national.parquet"):
        os.utime(p, (week_ago, week_ago))
    removed = remove_stale_staging(tmp_path)
    assert sorted(removed) == sorted([dead, old])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, foreign.name, other.name])
    check_writable(tmp_path, "out")  # the pre-check cleans too; it keeps the live ones
    assert live.exists() and foreign.exists()


def test_a_staging_folder_carries_host_and_pid_and_is_removed_on_failure(
        tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with staged_folder(tmp_path, "x") as st:
            assert st.path.name.startswith(f"{STAGING_PREFIX}{_host()}-{os.getpid()}-")
            (st.path / "a.txt").write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- I/O errors


def test_an_os_error_while_writing_is_one_line_exit_3_and_leaves_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], run_folder: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real ENOSPC from ``/dev/full`` (or a simulated one) while the figures are saved."""

    def full_disk(*_a: object, **_k: object) -> list[Path]:
        if Path("/dev/full").exists():
            with open("/dev/full", "w") as fh:
                fh.write("x")  # raises ENOSPC on close
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x.png"))

    monkeypatch.setattr(compare, "save_figure", full_disk)
    out = tmp_path / "cmp"
    code, err = _call(compare.main, [str(run_folder), f"out={out}"], capsys)
    _one_line(code, err, common.EXIT_IO_ERROR, "No space left on device")
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_output_error_names_the_path_when_the_library_gives_none(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot write .*out.*: disk quota exceeded"):
        with staged_folder(tmp_path, "out"):
            raise OSError("disk quota exceeded")  # as pyarrow raises: no errno, no file
    assert list(tmp_path.iterdir()) == []


def _limited(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def _run(args: list[str], preexec: Callable[[], None] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          env=env, preexec_fn=preexec, cwd=cwd, timeout=300)


def _err_lines(p: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith("[20")]


#: Largest file the limited subprocess may write: the Parquet tables of a toy comparison
#: fit, its PNG charts (~100 kB) do not.
FSIZE_LIMIT = 40_000


@pytest.mark.slow
def test_a_full_disk_efbig_in_a_real_subprocess(tmp_path: Path, sweep_folder: Path,
                                                copy_of: Callable[[Path], Path]) -> None:
    out = tmp_path / "cmp"
    p = _run(["sim.cli.compare", str(sweep_folder), f"out={out}"], _limited(FSIZE_LIMIT))
    err = _err_lines(p)
    assert p.returncode == common.EXIT_IO_ERROR, p.stderr
    assert len(err) == 1 and "File too large" in err[0], p.stderr
    assert not out.exists() and _leftovers(tmp_path) == []
    # a redraw that fails the same way keeps the old figures, byte for byte
    folder = copy_of(sweep_folder)
    before = {f.name: f.read_bytes() for f in (folder / "figures").iterdir()}
    p = _run(["sim.cli.figures", str(folder), "lang=de"], _limited(FSIZE_LIMIT))
    assert p.returncode == common.EXIT_IO_ERROR, p.stderr
    assert len(_err_lines(p)) == 1, p.stderr
    assert {f.name: f.read_bytes() for f in (folder / "figures").iterdir()} == before
    assert _leftovers(folder) == []


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a small tmpfs (options given); skipped where the machine does not allow it."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        where = tmp_path / f"tmpfs{len(mounted)}"
        where.mkdir()
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip() or p.returncode})")
        mounted.append(where)
        return where

    yield mount
    for m in mounted:
        subprocess.run(["umount", str(m)], capture_output=True)


def test_a_read_only_tmpfs_is_refused_before_any_run(
        tmpfs: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
        run_folder: Path) -> None:
    ro = tmpfs("ro,size=64k")
    code, err = _call(compare.main, [str(run_folder), f"out={ro / 'cmp'}"], capsys)
    _one_line(code, err, 2, "out=", "Read-only file system")


def test_a_full_tmpfs_is_one_line_exit_3_and_leaves_nothing(
        tmpfs: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
        sweep_folder: Path) -> None:
    full = tmpfs("size=64k")
    code, err = _call(compare.main, [str(sweep_folder), f"out={full / 'cmp'}"], capsys)
    _one_line(code, err, common.EXIT_IO_ERROR, "No space left on device")
    assert list(full.iterdir()) == []


# --------------------------------------------------------------------------- damaged folders


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _drop_column(p: Path) -> None:
    pd.read_parquet(p).drop(columns="population_coverage").to_parquet(p, index=False)


def _manifest(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def change(p: Path) -> None:
        m = json.loads(p.read_text())
        p.write_text(json.dumps(edit(m)))
    return change


#: A file of the sweep folder's dataset of the national table (sim/store.py).
POINT_FILE = "national/point-000000.parquet"
DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "table missing": ("national", shutil.rmtree, "missing"),
    "table truncated": (POINT_FILE, _truncate, "not a readable Parquet file"),
    "table garbage": (POINT_FILE, lambda p: p.write_bytes(b"PAR1" + b"\0" * 64),
                      "not a readable Parquet file"),
    "column missing": (POINT_FILE, _drop_column, "population_coverage"),
    "point file missing": (POINT_FILE, Path.unlink, "manifest.json says"),
    "manifest missing": ("manifest.json", Path.unlink, "missing"),
    "manifest not JSON": ("manifest.json", lambda p: p.write_text("{not json"), "not JSON"),
    "manifest a list": ("manifest.json", lambda p: p.write_text("[1]"), "not a JSON object"),
    "manifest without rows": ("manifest.json",
                              _manifest(lambda m: {k: v for k, v in m.items() if k != "rows"}),
                              "'rows' is missing"),
    "manifest wrong type": ("manifest.json", _manifest(lambda m: {**m, "replications": "2"}),
                            "'replications' is str"),
    "rows changed": ("manifest.json",
                     _manifest(lambda m: {**m, "rows": {**m["rows"], "national/": 1}}),
                     "manifest.json says 1"),
}


@pytest.mark.parametrize("cmd", ["figures", "compare"])
@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_folder_is_one_line_naming_the_file(
        cmd: str, case: str, sweep_folder: Path, copy_of: Callable[[Path], Path],
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_of(sweep_folder)
    name, damage, words = DAMAGE[case]
    damage(folder / name)
    before = sorted(p.name for p in (folder / "figures").iterdir())
    out = tmp_path / "cmp"
    args = [str(folder)] if cmd == "figures" else [str(folder), f"out={out}"]
    code, err = _call(figures.main if cmd == "figures" else compare.main, args, capsys)
    named = "national" if case in ("rows changed", "point file missing") else name
    _one_line(code, err, 2, named, words)
    assert not out.exists()
    assert sorted(p.name for p in (folder / "figures").iterdir()) == before
    assert _leftovers(folder) == []


#: Truncation points and footer flips of the table test: this many, spread over the file
#: and over its footer (each read takes ~20 ms; the cache's own suite flips thousands).
TRUNCATIONS = 25
FOOTER_FLIPS = 40


def test_a_table_cut_anywhere_or_with_a_flipped_footer_is_a_data_error(
        sweep_folder: Path, tmp_path: Path) -> None:
    """Cut at offsets spread over the whole file, and bytes spread over its footer flipped: the
    reader says so in one line naming the file, never another exception or a wrong table."""
    src = sweep_folder / POINT_FILE
    data = src.read_bytes()
    rows = len(pd.read_parquet(src))
    target = tmp_path / "national.parquet"
    for cut in sorted({*range(0, len(data), max(1, len(data) // TRUNCATIONS)), len(data) - 1}):
        target.write_bytes(data[:cut])
        with pytest.raises(DataError, match=r"national\.parquet: not a readable Parquet"):
            read_table(target, rows)
    footer = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer
    for i in range(start, len(data), max(1, (len(data) - start) // FOOTER_FLIPS)):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        target.write_bytes(bytes(flipped))
        try:
            df = read_table(target, rows)
        except DataError as exc:
            assert "\n" not in str(exc) and "national.parquet" in str(exc)
        else:  # a flip the format cannot see (a statistic, a name's padding) reads right
            assert len(df) == rows


def test_a_run_folder_is_checked_as_well(run_folder: Path, copy_of: Callable[[Path], Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_of(run_folder)
    _manifest(lambda m: {**m, "config": {**m["config"], "strategy": 3}})(
        folder / "manifest.json")
    code, err = _call(figures.main, [str(folder)], capsys)
    _one_line(code, err, 2, "manifest.json", "config.strategy.name")


# --------------------------------------------------------------------------- redraw


def test_a_redraw_swaps_the_figures_whole(sweep_folder: Path, copy_of: Callable[[Path], Path],
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_of(sweep_folder)
    figs = folder / "figures"
    before = {f.name: f.read_bytes() for f in figs.iterdir()}
    # a redraw that dies after its first figure leaves the old set untouched
    real = recipes.save_figure
    calls: list[str] = []

    def dies_second(*a: object, **k: object) -> list[Path]:
        calls.append(str(a[2]))
        if len(calls) > 1:
            raise KeyboardInterrupt  # as a kill between two figures
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(recipes, "save_figure", dies_second)
    monkeypatch.setattr(common.os, "_exit", sys.exit)  # never end pytest itself
    code, err = _call(figures.main, [str(folder), "lang=de"], capsys)
    _one_line(code, err, common.EXIT_INTERRUPTED,
              "ozg-sim-figures: interrupted; the old figures are kept")
    assert {f.name: f.read_bytes() for f in figs.iterdir()} == before
    assert _leftovers(folder) == []
    monkeypatch.setattr(recipes, "save_figure", real)
    (figs / "stale_from_before.png").write_bytes(b"x")
    code, _err = _call(figures.main, [str(folder), "lang=de"], capsys)
    assert code == 0
    after = {f.name: f.read_bytes() for f in figs.iterdir()}
    assert "stale_from_before.png" not in after  # it went with the old folder
    german = {n for n in after if Path(n).stem.endswith("_de")}
    assert german and set(after) == set(before) | german  # German beside the English
    assert all(after[n] == before[n] for n in before if n.endswith((".png", ".pdf")))
    assert _leftovers(folder) == []


# --------------------------------------------------------------------------- names, specs


def test_a_spec_file_path_writes_under_out_named_by_its_name(sweep_folder: Path) -> None:
    assert sweep_folder.parent.name == "tiny"
    assert sweep_folder.parent.parent.name == "out"
    man = json.loads((sweep_folder / "manifest.json").read_text())
    assert man["title"] == "../../escaped"
    assert not (sweep_folder.parents[3] / "escaped").exists()


BAD_SPECS = {
    "yaml syntax": ("name: [x\n", "cannot be read"),
    "not a mapping": ("- a\n- b\n", "not a mapping"),
    "absolute name": ("name: /tmp/evil\ndesign: {grid: {strategy: [efa]}}\n", "name="),
    "dotted name": ("name: ../evil\ndesign: {grid: {strategy: [efa]}}\n", "name="),
    "design a list": ("name: x\ndesign: [1, 2]\n", "design="),
    "grid a list": ("name: x\ndesign: {grid: [1]}\n", "design.grid="),
    "figures a string": ("name: x\ndesign: {grid: {strategy: [efa]}}\nfigures: fan\n",
                         "figures="),
    "replications text": ("name: x\ndesign: {grid: {strategy: [efa]}}\nreplications: many\n",
                          "replications="),
    "replications bool": ("name: x\ndesign: {grid: {strategy: [efa]}}\nreplications: true\n",
                          "replications="),
    "base not strings": ("name: x\ndesign: {grid: {strategy: [efa]}}\nbase: [{a: 1}]\n",
                         "base holds"),
    "points not mappings": ("name: x\ndesign: {points: [1]}\n", "design.points="),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_a_malformed_experiment_file_is_one_line_naming_file_and_key(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, words = BAD_SPECS[case]
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    code, err = _call(experiment.main, [str(spec), f"out={tmp_path / 'out'}"], capsys)
    _one_line(code, err, 2, "bad.yaml", words)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "../efa_vs_efv", "efa_vs_efv/..", "",
                                  "..", "./missing.yaml"])
def test_an_experiment_name_is_a_name_or_an_existing_spec_file(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _call(experiment.main, [name, "world=toy"] if name else ["world=toy"], capsys)
    _one_line(code, err, 2)


def test_every_shipped_experiment_file_passes_the_checks() -> None:
    for name in ("cliff", "efa_vs_efv", "exploration", "funding_allocation", "sensitivity",
                 "staffing_sweep"):
        assert load_spec(name)["name"] == name


# --------------------------------------------------------------------------- small parsers


@pytest.mark.parametrize("main,args,words", [
    (experiment.main, ["efa_vs_efv", "replications=²"], "replications='²'"),
    (experiment.main, ["efa_vs_efv", "workers=٣"], "workers='٣'"),
    (experiment.main, ["efa_vs_efv", "seed=1", "seed=2"], "seed='1' and seed='2'"),
    (experiment.main, ["efa_vs_efv", "lang=de", "lang=en"], "given twice"),
    (experiment.main, ["sensitivity", "trajectories=٤"], "trajectories='٤'"),
    (calibrate.main, ["workers=²"], "workers='²'"),
    (calibrate.main, ["population_size=٣٠"], "population_size='٣٠'"),
    (calibrate.main, ["out=a", "out=b"], "out='a' and out='b'"),
    (compare.main, ["x", "lang=de", "lang=en"], "given twice"),
    (figures.main, ["x", "lang=٣"], "lang='٣'"),
])
def test_small_parsers_refuse_foreign_digits_and_repeated_options(
        main: Callable[[list[str]], None], args: list[str], words: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _call(main, args, capsys)
    _one_line(code, err, 2, words)


def test_the_same_option_twice_with_the_same_value_is_taken_once() -> None:
    assert common.collect_options([("seed", "3"), ("seed", "3")]) == {"seed": "3"}
    assert common.collect_options([("out", "/tmp/Ü²")]) == {"out": "/tmp/Ü²"}


# --------------------------------------------------------------------------- replications=1


def test_a_sweep_with_one_replication_is_refused_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[object] = []
    monkeypatch.setattr("sim.sweep.execute_run", lambda *a: ran.append(a))
    code, err = _call(experiment.main, ["efa_vs_efv", "world=toy", "replications=1",
                                        f"out={tmp_path}"], capsys)
    _one_line(code, err, 2, "replications=1", "at least 2", "ozg-sim replications=1")
    assert not ran and list(tmp_path.iterdir()) == []


def test_compare_refuses_a_single_replication_in_one_line(
        run_folder: Path, copy_of: Callable[[Path], Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_of(run_folder)
    nat = pd.read_parquet(folder / "national.parquet")
    one = nat[nat["replication"] == 0]
    one.to_parquet(folder / "national.parquet", index=False)
    _manifest(lambda m: {**m, "rows": {**m["rows"], "national.parquet": len(one)}})(
        folder / "manifest.json")
    code, err = _call(compare.main, [str(folder), f"out={tmp_path / 'cmp'}"], capsys)
    _one_line(code, err, 2, "1 replication(s)", "at least 2")
    assert not (tmp_path / "cmp").exists()


def test_the_run_chart_of_one_replication_says_so(run_folder: Path) -> None:
    nat = pd.read_parquet(run_folder / "national.parquet")
    fig = coverage_figure(nat[nat["replication"] == 0], "t")
    caption = fig.get_supxlabel().replace("\n", " ")
    assert "a single replication" in caption and "median of" not in caption
    fig2 = coverage_figure(nat, "t")
    assert "median of 2 replications" in fig2.get_supxlabel().replace("\n", " ")


@pytest.mark.slow
def test_ozg_sim_with_one_replication_works_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = _run(["sim.cli.run", "world=toy", "replications=1", "workers=1",
              f"hydra.run.dir={out}"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (out / "coverage.png").is_file() and (out / "manifest.json").is_file()
    assert pd.read_parquet(out / "national.parquet")["replication"].nunique() == 1
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
def test_ozg_sim_on_a_full_disk_leaves_no_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = _run(["sim.cli.run", "world=toy", "replications=2", "workers=1",
              f"hydra.run.dir={out}"], _limited(FSIZE_LIMIT), cwd=tmp_path)
    err = _err_lines(p)
    assert p.returncode == common.EXIT_IO_ERROR, p.stderr[-2000:]
    assert len(err) == 1 and "File too large" in err[0], p.stderr[-2000:]
    assert not out.exists()


# --------------------------------------------------------------------------- issue 13


def _interrupt(args: list[str], needle: str, stream: str,
               cwd: Path) -> tuple[int, str, str]:
    """Run a command in its own process group, press Ctrl-C (SIGINT to the whole group, as
    a terminal does) once ``needle`` appears on ``stream``; exit code, stdout, stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    p = subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                         start_new_session=True)
    seen = []
    assert p.stdout is not None and p.stderr is not None
    for line in (p.stdout if stream == "stdout" else p.stderr):
        seen.append(line)
        if needle in line:
            os.killpg(p.pid, signal.SIGINT)
            break
    out, err = p.communicate(timeout=60)
    return p.returncode, "".join(seen) + out, err if stream == "stdout" else "".join(seen) + err


@pytest.mark.parametrize(("args", "needle", "stream", "message"), [
    (["sim.cli.experiment", "efa_vs_efv", "world=toy", "replications=6", "workers=2",
      "out=exp", "cache=cache"], "/72 done (", "stderr",
     "ozg-sim-experiment: interrupted; finished runs are in the run cache, start the same "
     "command to resume (nothing else was written)"),
    (["sim", "world=toy", "replications=40", "workers=2", "hydra.run.dir=run"],
     "replications 1/40 done", "stdout", "ozg-sim: interrupted; no outputs were written"),
], ids=["experiment", "ozg-sim"])
def test_ctrl_c_is_one_line_exit_130_no_output_no_workers(
        tmp_path: Path, args: list[str], needle: str, stream: str, message: str) -> None:
    import psutil
    code, _out, err = _interrupt(args, needle, stream, tmp_path)
    lines = [ln for ln in err.splitlines() if not ln.startswith("[20")]
    assert (code, lines) == (common.EXIT_INTERRUPTED, [message]), err[-2000:]
    assert not (tmp_path / "run").exists()
    assert [p for p in (tmp_path / "exp").rglob("*") if p.is_file()] == []
    assert _leftovers(tmp_path) == []
    time.sleep(0.5)  # workers end with the parent; give the kernel a moment to reap
    ours = [p for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == str(tmp_path)]
    assert ours == [], "pool workers outlived the interrupted command"


def test_ctrl_c_while_figures_are_drawn_keeps_the_old_figures(
        sweep_folder: Path, copy_of: Callable[[Path], Path], tmp_path: Path) -> None:
    folder = copy_of(sweep_folder)
    before = sorted(p.name for p in (folder / "figures").iterdir())
    code, _out, err = _interrupt(["sim.cli.figures", str(folder), "lang=de"], "drawn",
                                 "stderr", tmp_path)
    assert code in (0, common.EXIT_INTERRUPTED), err  # the tiny folder has one recipe
    after = sorted(p.name for p in (folder / "figures").iterdir())
    last = err.splitlines()[-1] if code else ""
    if last == "ozg-sim-figures: interrupted; the old figures are kept":
        assert after == before
    else:  # done, or stopped while summary.xlsx was written: the German set is complete
        assert code == 0 or last == ("ozg-sim-figures: interrupted; the new figures are in "
                                     "place, summary.xlsx is the old one"), err
        assert set(before) < set(after), after  # the English set kept, German files added
        assert all("_de." in n for n in set(after) - set(before)), after
    assert _leftovers(folder) == []


@pytest.mark.parametrize(("override", "message"), [
    ("end=2021-06", "end='2021-06' is not allowed: a month from 2022-12 on (ozg-sim reads "
                    "its key figures at the OZG deadline)"),
    ("end=2024-12", "map_months=['2022-12', '2026-12'] is not allowed: months not after "
                    "end=2024-12 (2026-12 is; e.g. map_months=[2022-12])"),
])
@pytest.mark.parametrize("multirun", [False, True])
def test_ozg_sim_refuses_an_end_before_the_kpi_month_or_a_map_month_after_it(
        tmp_path: Path, override: str, message: str, multirun: bool) -> None:
    args = ["-m", "seed=1,2"] if multirun else []
    p = _run(["sim", "world=toy", "replications=2", override, *args,
              f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'multi'}"],
             cwd=tmp_path)
    assert (p.returncode, p.stderr.splitlines(), p.stdout) == (2, [f"ozg-sim: error: {message}"],
                                                              "")
    assert list(tmp_path.iterdir()) == []


def test_the_run_checks_its_dates_too() -> None:
    """A shorter horizon is still a valid configuration (a calibration backtest ends
    earlier); only the command refuses it."""
    cfg = make_config(world=TOY, end="2021-06", map_months=["2020-12"])
    assert cfg.end == "2021-06"
    with pytest.raises(ConfigError, match=r"^end=.2021-06. is not allowed"):
        run_cli.check_run_dates(cfg)
    run_cli.check_run_dates(make_config(world=TOY, end="2022-12", map_months=["2022-12"]))


@pytest.mark.parametrize(("args", "message"), [
    (["efa_vs_efv", "funding=competitive"],
     "funding=competitive conflicts with the design of efa_vs_efv, which sets funding to "
     "none, konjunkturpaket, competitive; drop it or edit the spec (base:)"),
    (["efa_vs_efv", "strategy=efv"], "strategy=efv conflicts with the design of efa_vs_efv, "
                                     "which sets strategy to efa, efv, einzel, mixed"),
    (["efa_vs_efv", "funding.programmes.0.amount_eur=1e9"],
     "funding.programmes.0.amount_eur=1e9 conflicts with the design of efa_vs_efv, which "
     "sets funding to none, konjunkturpaket"),
    (["exploration", "sharing.efa.propensity=0.7"],
     "sharing.efa.propensity=0.7 conflicts with the design of exploration, which sets "
     "sharing.efa.propensity to 85 values from 0.651 to 0.999"),
    (["exploration", "+strategy=efa"], "+strategy=efa conflicts with the design of "
                                       "exploration, which sets strategy to efa, efv"),
])
def test_an_override_that_the_design_sets_is_refused(
        args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[object] = []
    monkeypatch.setattr("sim.sweep.execute_run", lambda *a: ran.append(a))
    code, err = _call(experiment.main, [*args, "world=toy", f"out={tmp_path}", "--no-cache"],
                      capsys)
    _one_line(code, err, 2, f"ozg-sim-experiment: error: {message}")
    assert ran == [] and list(tmp_path.iterdir()) == []


def test_an_override_beside_the_design_still_applies() -> None:
    _spec, sweep = experiment.build("efa_vs_efv", {"replications": "2"},
                                   ["world=toy", "staffing.team_fte=4"])
    assert {c.staffing.team_fte for c in sweep.configs} == {4.0}


@pytest.mark.slow
def test_output_folders_follow_the_umask(tmp_path: Path) -> None:
    """Run and experiment folders are as readable as the user's umask allows (the run cache
    stays private: sim/cache.py makes its folders 0700 on purpose)."""
    umask = 0o002  # not the usual 022, so that following it shows

    def preexec() -> None:
        os.umask(umask)

    run = _run(["sim", "world=toy", "replications=2", "workers=1", "hydra.run.dir=run"],
               preexec, cwd=tmp_path)
    exp = _run(["sim.cli.experiment", str(ROOT / "conf/experiment/efa_vs_efv.yaml"),
                "world=toy", "replications=2", "workers=1", "out=exp", "--no-cache"],
               preexec, cwd=tmp_path)
    assert run.returncode == 0 and exp.returncode == 0, run.stderr[-2000:] + exp.stderr[-2000:]
    paths = [p for root in ("run", "exp") for p in (tmp_path / root).rglob("*")]
    assert len(paths) > 20
    modes = {(p.is_dir(), p.stat().st_mode & 0o777) for p in paths}
    assert modes == {(True, 0o777 & ~umask), (False, 0o666 & ~umask)}, sorted(modes)
    log = (tmp_path / "run" / "ozg-sim.log").read_text(encoding="utf-8")
    assert "fontTools" not in log + run.stdout + run.stderr  # 206 of 221 lines before


@pytest.mark.parametrize("threads", [1, 2])
def test_interrupted_prints_one_line_and_ends_with_130(
        threads: int, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a pool's threads left it ends the process at once (os._exit), else by
    SystemExit."""
    hard: list[int] = []

    def fake_exit(code: int) -> None:
        hard.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(common.os, "_exit", fake_exit)
    monkeypatch.setattr(common.threading, "active_count", lambda: threads)
    with pytest.raises(SystemExit) as exc:
        common.interrupted("tool", "why")
    assert exc.value.code == 130 and hard == ([130] if threads > 1 else [])
    assert capsys.readouterr().err == "tool: interrupted; why\n"
