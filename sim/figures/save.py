"""Saving a figure: ``name.png`` (300 dpi), ``name.svg``, ``name.pdf`` and the sidecar
``name.csv`` with exactly the plotted data, provenance first as ``# key: value`` lines.

Sidecar CSV (read back with ``pandas.read_csv(path, comment="#")``)::

    # figure: fan_coverage
    # files: fan_coverage.png, fan_coverage.svg, fan_coverage.pdf
    # read_with: pandas.read_csv('fan_coverage.csv', comment='#')
    # config_hash: 3f2a9c
    # seeds.root: 1
    # packages.matplotlib: 3.11.2
    strategy,date,n_replications,median,q05,q25,q75,q95
    efa,2018-01-31,30,0.0021,0.0009,0.0015,0.0030,0.0052

The caller passes what the figure came from (config hash, seeds, experiment, ...); package
versions come from :func:`sim.provenance.package_versions`. SVG ids are salted and PDFs
carry no dates, so the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from sim.figures.style import PNG_DPI
from sim.provenance import package_versions


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, str):
            out[key] = v
        else:
            out[key] = json.dumps(v, default=str, ensure_ascii=False)
    return out


def provenance_lines(name: str, provenance: Mapping[str, Any]) -> list[str]:
    """The ``# key: value`` header of a sidecar CSV (nested dicts as dotted keys)."""
    meta = {"figure": name, "files": f"{name}.png, {name}.svg, {name}.pdf",
            "read_with": f"pandas.read_csv('{name}.csv', comment='#')",
            **_flatten(provenance)}
    if not any(k == "packages" or k.startswith("packages.") for k in meta):
        meta.update(_flatten({"packages": package_versions()}))
    lines = []
    for k, v in meta.items():
        v1 = " ".join(str(v).split())  # one line per key
        lines.append(f"# {k}: {v1}")
    return lines


#: Clip-path ids of matplotlib's SVG backend: a hash of each clip rectangle's coordinates at
#: full precision, which constrained layout (kiwisolver) computes with run-to-run
#: differences of ~1e-13 pt; renumbered in order of first appearance so that the same
#: figure gives the same SVG bytes in every process.
_SVG_CLIP_ID = re.compile(rb"\bp[0-9a-f]{10}\b")


def _stable_svg_ids(path: Path) -> None:
    ids: dict[bytes, bytes] = {}
    data = _SVG_CLIP_ID.sub(lambda m: ids.setdefault(m.group(0), b"clip%d" % len(ids)),
                            path.read_bytes())
    path.write_bytes(data)


#: File-name suffix of each figure language: English keeps the plain names, so a German
#: drawing (``lang=de``) never overwrites the English files, nor they the German ones.
LANG_SUFFIX: dict[str, str] = {"en": "", "de": "_de"}


def figure_stem(name: str, lang: str) -> str:
    """File stem of figure ``name`` drawn in ``lang`` (``coverage`` -> ``coverage_de``)."""
    if lang not in LANG_SUFFIX:
        raise ValueError(f"lang(={lang!r}) must be one of {sorted(LANG_SUFFIX)}")
    return name + LANG_SUFFIX[lang]


def other_language_files(folder: Path, lang: str, written: Iterable[str]) -> list[Path]:
    """Files of ``folder`` that are another language's drawing of a figure just ``written``
    in ``lang`` (``coverage.png`` beside a new ``coverage_de.png``, and the reverse): a
    redraw in one language keeps them, and drops files of figures it no longer draws."""
    if not folder.is_dir():
        return []
    new = set(written)
    own = LANG_SUFFIX[lang]
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name in new:
            continue
        for suffix in LANG_SUFFIX.values():
            if suffix == own or (suffix and not p.stem.endswith(suffix)):
                continue
            base = p.stem[:len(p.stem) - len(suffix)] if suffix else p.stem
            if f"{base}{own}{p.suffix}" in new:
                out.append(p)
                break
    return out


def save_figure(fig: Figure, out_dir: str | Path, name: str, data: pd.DataFrame,
                provenance: Mapping[str, Any]) -> list[Path]:
    """Write ``name.png`` (300 dpi), ``name.svg``, ``name.pdf`` and ``name.csv``; close
    ``fig``.

    The CSV holds exactly the plotted data (``data``), preceded by provenance lines
    ``# key: value``: figure name, how to read it, everything in ``provenance``
    (configuration hash, seeds, ...; nested dicts as dotted keys, other non-strings as
    JSON) and package versions unless ``provenance`` has ``packages``. Read it back with
    ``pandas.read_csv(path, comment="#")``; for that reason no text cell may contain ``#``.
    Files carry no creation dates and the SVG's clip-path ids are numbered in order, so the
    same inputs give the same SVG and PDF bytes in every process.

    Returns
    -------
    list of Path
        The four files, in the order png, svg, pdf, csv.
    """
    if not name or any(c in name for c in "/\\"):
        raise ValueError(f"name(={name!r}) must be a plain file stem")
    for col in data.columns:
        if "#" in str(col):
            raise ValueError(f"column name {col!r} contains '#', which the CSV reader takes "
                             "for a comment")
        values = data[col]
        if (not pd.api.types.is_numeric_dtype(values)
                and not pd.api.types.is_datetime64_any_dtype(values)
                and values.astype(str).str.contains("#", regex=False).any()):
            raise ValueError(f"column {col!r} has text containing '#', which the CSV reader "
                             "takes for a comment")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.{ext}" for ext in ("png", "svg", "pdf", "csv")]
    try:
        with plt.rc_context({"svg.hashsalt": "ozg-sim", "pdf.fonttype": 42,
                             "svg.fonttype": "none"}):  # SVG text stays editable text
            fig.savefig(paths[0], dpi=PNG_DPI, metadata={"Software": None})
            fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
            _stable_svg_ids(paths[1])
            fig.savefig(paths[2], metadata={"CreationDate": None, "Creator": None,
                                            "Producer": None})
    finally:
        plt.close(fig)
    with open(paths[3], "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(provenance_lines(name, provenance)) + "\n")
        data.to_csv(fh, index=False, date_format="%Y-%m-%d", lineterminator="\n")
    return paths


__all__ = ["LANG_SUFFIX", "figure_stem", "other_language_files", "provenance_lines",
           "save_figure"]
