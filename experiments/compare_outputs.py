"""Prove that a change of code leaves results unchanged: produce a fixed set of outputs with
one installation, again with another, and compare them.

    python experiments/compare_outputs.py produce DIR [--bin VENV/bin] [--workers 2]
    python experiments/compare_outputs.py compare BEFORE AFTER [--ulp N]

``produce`` runs the console scripts found in ``--bin`` (default: beside this Python) into
``DIR``: the default scenario on the toy and on the full world, five experiments on the toy
world (``efa_vs_efv``, ``cliff``, ``funding_allocation``, ``staffing_sweep``,
``exploration``), two of them redrawn in German with ``ozg-sim-figures``, a redrawn run
chart, ``ozg-sim-compare`` of a run and an experiment, and a small calibration on the toy
world. Every command gets an explicit output folder, so two installations (for example a
checkout before and after a refactoring, each with its own virtual environment) write
comparable trees.

``compare`` walks both trees and requires:

- every Parquet table equal (``pandas.testing.assert_frame_equal``, exact), except the
  run-cache ``key`` (it ends with the code version) and ``wall_s`` of ``runs.parquet``;
- every figure (PNG, SVG, PDF) byte-identical (SVG clip-path ids renumbered first: see
  ``SVG_CLIP_ID``);
- every CSV, Markdown and YAML text identical once provenance lines (``code_version``,
  ``git_commit``, input paths, dates) are set aside and hashes inside text masked; with
  ``--ulp N``, CSV files are compared cell by cell and numbers may differ by ``N`` units in
  the last place (counted and reported per file, not as differences);
- every ``manifest.json`` identical once timings, creation dates, the command line, the
  machine, ``code_version`` and ``git_commit`` are set aside, and paths made relative.

It prints one line per difference and exits with 1 if there is any. Folders with a time
stamp in their name (experiments, calibrations) are matched by their position.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Manifest keys that record when, where and how fast, not what.
VOLATILE_KEYS = {"created", "created_utc", "command", "timings", "git_commit",
                 "code_version", "machine", "wall_s", "run_wall_s_total", "elapsed_s"}
#: Provenance lines of sidecar CSVs and reports that may differ between two checkouts or
#: two runs: which code, when, from where.
VOLATILE_LINE = re.compile(r"^(#?\s*-?\s*\**(code_version|git_commit|inputs|created|date|"
                           r"command|output folder|elapsed)\**\s*[:=]|Created )", re.IGNORECASE)
#: Code versions (16 hex digits) and git commits (40, maybe ``+dirty``) inside other text.
HASHES = re.compile(r"(?<![\w.])([0-9a-f]{40}(\+dirty)?|[0-9a-f]{16})(?![\w.])")
#: SVG clip-path ids: matplotlib hashes each clip rectangle's coordinates at full precision,
#: and constrained layout (kiwisolver) places axes with run-to-run differences of ~1e-13 pt,
#: so the same figure can get other ids in another process. They are renumbered in order of
#: first appearance before SVG files are compared byte for byte.
#: Wall times inside report text.
WALL = re.compile(r"[Ww]all time:.*$")
SVG_CLIP_ID = re.compile(rb"\bp[0-9a-f]{10}\b")
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(_\d+)?")
FIGURE_EXT = {".png", ".svg", ".pdf"}
TEXT_EXT = {".csv", ".md", ".yaml", ".txt"}
SKIP_SUFFIXES = {".log", ".db"}  # logs: times and durations; pyabc's database: times, run ids
SKIP_PARTS = {".hydra"}

TOY_EXPERIMENTS = ("efa_vs_efv", "cliff", "funding_allocation", "staffing_sweep",
                   "exploration")


# --------------------------------------------------------------------------- produce


def _run(cmd: list[str], log: Path) -> None:
    print("$", " ".join(cmd), flush=True)
    with open(log, "a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        res = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        sys.exit(f"compare_outputs: {cmd[0]} failed with exit code {res.returncode}; "
                 f"see {log}")


def _only_child(folder: Path) -> Path:
    children = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(children) != 1:
        sys.exit(f"compare_outputs: expected one output folder in {folder}, found "
                 f"{len(children)}")
    return children[0]


def produce(out: Path, bin_dir: Path, workers: int) -> None:
    """Run the reference set of commands into ``out`` (which must not exist yet)."""
    if out.exists():
        sys.exit(f"compare_outputs: {out} exists: give a new folder")
    out.mkdir(parents=True)
    log = out / "commands.log"
    w = f"workers={workers}"

    def tool(name: str) -> str:
        path = bin_dir / name
        if not path.is_file():
            sys.exit(f"compare_outputs: {path} not found: --bin must hold the ozg-sim scripts")
        return str(path)

    _run([tool("ozg-sim"), "world=toy", "replications=3", "seed=1", w,
          f"hydra.run.dir={out / 'run_toy'}"], log)
    _run([tool("ozg-sim"), "replications=4", "seed=1", w,
          f"hydra.run.dir={out / 'run_germany'}"], log)
    for name in TOY_EXPERIMENTS:
        _run([tool("ozg-sim-experiment"), name, "world=toy", "replications=2", w,
              f"out={out / 'experiments'}", "--no-cache"], log)
    for name in ("efa_vs_efv", "cliff"):
        src = _only_child(out / "experiments" / name)
        dst = out / "experiments_de" / name
        shutil.copytree(src, dst)
        _run([tool("ozg-sim-figures"), str(dst), "lang=de"], log)
    redrawn = out / "run_toy_redrawn"
    shutil.copytree(out / "run_toy", redrawn)
    _run([tool("ozg-sim-figures"), str(redrawn)], log)
    _run([tool("ozg-sim-compare"), str(out / "run_toy"),
          str(_only_child(out / "experiments" / "efa_vs_efv")), f"out={out / 'compare'}"],
         log)
    _run([tool("ozg-sim-calibrate"), "historical", "world=toy", "population_size=12",
          "calibration_particles=10", "max_generations=2", "max_simulations=60",
          "predictive_draws=4", w, f"out={out / 'calibration'}"], log)


# --------------------------------------------------------------------------- compare


def _key(rel: Path) -> str:
    """A file's place in the tree, with time stamps (folder names) taken out."""
    return STAMP.sub("<stamp>", rel.as_posix())


def _files(root: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or p.suffix in SKIP_SUFFIXES or SKIP_PARTS & set(rel.parts):
            continue
        out[_key(rel)] = p
    return out


def _strip(obj: Any, roots: tuple[str, ...]) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v, roots) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_strip(v, roots) for v in obj]
    if isinstance(obj, str):
        for r in roots:
            obj = obj.replace(r, "<root>")
        return STAMP.sub("<stamp>", obj)
    return obj


def _text_lines(path: Path, root: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if VOLATILE_LINE.match(line):
            continue
        line = HASHES.sub("<hash>", line.replace(str(root.resolve()), "<root>"))
        line = WALL.sub("wall time: <masked>", line)
        out.append(STAMP.sub("<stamp>", line))
    return out


def _figure_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix.lower() != ".svg":
        return data
    ids: dict[bytes, bytes] = {}
    return SVG_CLIP_ID.sub(lambda m: ids.setdefault(m.group(0), b"clip%d" % len(ids)), data)


def _compare_parquet(a: Path, b: Path) -> str | None:
    da, db = pd.read_parquet(a), pd.read_parquet(b)
    if a.name == "runs.parquet":  # wall times, and the code version in the cache keys
        da, db = (df.drop(columns=[c for c in ("wall_s",) if c in df.columns])
                  .assign(key=df["key"].str.rsplit("-", n=1).str[0]) for df in (da, db))
    try:
        pd.testing.assert_frame_equal(da, db, check_exact=True)
    except AssertionError as exc:
        return " ".join(str(exc).split())[:300]
    return None


def _csv_table(path: Path, root: Path) -> pd.DataFrame:
    text = "\n".join(ln for ln in _text_lines(path, root) if not ln.startswith("#"))
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


def _compare_csv(a: Path, b: Path, before: Path, after: Path, ulp: int,
                 key: str) -> list[str]:
    """Cell by cell: text exactly, numbers within ``ulp`` units in the last place; one line
    per kind of difference (empty: equal)."""
    try:
        da, db = _csv_table(a, before), _csv_table(b, after)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        return [f"cannot be read as CSV ({exc})"]
    if list(da.columns) != list(db.columns) or da.shape != db.shape:
        return [f"columns or shape differ: {list(da.columns)} {da.shape} vs "
                f"{list(db.columns)} {db.shape}"]
    out, n_ulp, max_rel = [], 0, 0.0
    for col in da.columns:
        x, y = da[col], db[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xa, ya = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            same = (xa == ya) | (np.isnan(xa) & np.isnan(ya))
            close = np.abs(xa - ya) <= ulp * np.spacing(np.maximum(np.abs(xa), np.abs(ya)))
            n_ulp += int((~same & close).sum())
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(xa - ya) / np.maximum(np.abs(xa), np.abs(ya))
            max_rel = max([max_rel, *rel[~same & close].tolist()])
            for i in np.flatnonzero(~same & ~close):
                out.append(f"row {i + 2} column {col}: {xa[i]!r} vs {ya[i]!r}")
        else:
            for i in np.flatnonzero((x.astype(str) != y.astype(str)).to_numpy()):
                out.append(f"row {i + 2} column {col}: {x.iloc[i]!r} vs {y.iloc[i]!r}")
    if n_ulp:
        print(f"  {key}: {n_ulp} number(s) within {ulp} ulp (largest relative "
              f"difference {max_rel:.2g})")
    return out


def compare(before: Path, after: Path, ulp: int = 0) -> list[str]:
    """Differences between two produced trees (empty: identical results). With ``ulp`` > 0,
    numbers in CSV files may differ by that many units in the last place (reported, not
    counted)."""
    fa, fb = _files(before), _files(after)
    problems = [f"only in {before}: {k}" for k in sorted(set(fa) - set(fb))]
    problems += [f"only in {after}: {k}" for k in sorted(set(fb) - set(fa))]
    roots = (str(before.resolve()), str(after.resolve()))
    n = 0
    for k in sorted(set(fa) & set(fb)):
        a, b = fa[k], fb[k]
        n += 1
        ext = a.suffix.lower()
        if ext == ".parquet":
            msg = _compare_parquet(a, b)
            if msg:
                problems.append(f"{k}: tables differ: {msg}")
        elif ext in FIGURE_EXT:
            if _figure_bytes(a) != _figure_bytes(b):
                problems.append(f"{k}: figure bytes differ")
        elif a.name == "manifest.json":
            ma = _strip(json.loads(a.read_text()), (roots[0],))
            mb = _strip(json.loads(b.read_text()), (roots[1],))
            if ma != mb:
                diff = [key for key in sorted(set(ma) | set(mb)) if ma.get(key) != mb.get(key)]
                problems.append(f"{k}: manifest differs in {diff}")
        elif ext == ".csv" and ulp > 0:
            if _text_lines(a, before) != _text_lines(b, after):
                problems += [f"{k}: {m}" for m in _compare_csv(a, b, before, after, ulp, k)]
        elif ext in TEXT_EXT:
            la, lb = _text_lines(a, before), _text_lines(b, after)
            if la != lb:
                first = next((i for i, (x, y) in enumerate(zip(la, lb, strict=False))
                              if x != y), min(len(la), len(lb)))
                x = la[first] if first < len(la) else "<end>"
                y = lb[first] if first < len(lb) else "<end>"
                problems.append(f"{k}: line {first + 1} differs: {x[:120]!r} vs {y[:120]!r}")
        elif a.read_bytes() != b.read_bytes():
            problems.append(f"{k}: bytes differ")
    print(f"compared {n} files")
    return problems


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce", help="run the reference commands into a new folder")
    p.add_argument("out", type=Path)
    p.add_argument("--bin", type=Path, default=Path(sys.executable).parent,
                   help="folder of the ozg-sim console scripts (a virtual environment's bin)")
    p.add_argument("--workers", type=int, default=2)
    c = sub.add_parser("compare", help="compare two produced folders")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--ulp", type=int, default=0,
                   help="numbers in CSV files may differ by this many units in the last "
                        "place (default 0: exactly equal)")
    args = ap.parse_args(argv)
    if args.cmd == "produce":
        produce(args.out, args.bin, args.workers)
        print(f"outputs: {args.out}")
        return
    problems = compare(args.before, args.after, args.ulp)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} difference(s)")
        sys.exit(1)
    print("identical results")


if __name__ == "__main__":
    main()
