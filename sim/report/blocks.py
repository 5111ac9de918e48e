"""The building blocks every report shares: reading a folder's saved tables, numbering
tables and figures, finding the charts of a language and captioning them.

:mod:`sim.report.content` (runs, experiments, calibrations) and :mod:`sim.report.analysis`
(sensitivity folders, the analyses of an exploration) build their reports from these, so
all reports read, number and caption the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import DataError
from sim.exports import sidecar_header
from sim.figures.labels import LANGS, label_metric
from sim.figures.save import figure_stem
from sim.report.document import Figure, Lang, Table
from sim.report.texts import t

#: Outcomes an experiment's key findings compare (the two its difference charts show).
FINDING_VALUES = ("population_coverage", "nationwide_share")

#: Caption key of a figure, by file-name prefix.
FIGURE_CAPTIONS = {"fan_": "cap_fan", "difference_": "cap_difference",
                   "small_multiples_available_share": "cap_small_multiples_available",
                   "small_multiples_": "cap_small_multiples", "map_": "cap_map",
                   "time_to_target": "cap_time_to_target", "cost_coverage": "cap_cost_coverage",
                   "timeline": "cap_timeline", "regret": "cap_regret",
                   "robustness": "cap_robustness", "morris_": "cap_morris",
                   "sobol_": "cap_sobol", "waterfall": "cap_waterfall",
                   "discovery_trajectory": "cap_discovery_trajectory",
                   "discovery_boxes": "cap_discovery_boxes",
                   "discovery_scores": "cap_discovery_scores",
                   "coverage": "cap_coverage", "fit": "cap_fit", "residuals": "cap_residuals",
                   "posterior": "cap_posterior", "backtest": "cap_backtest"}
#: The sidecar header key (``# caption: ...``) of a figure's own caption, used when present.
CAPTION_KEY = "caption"


def read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """A saved CSV (its leading ``# key: value`` lines skipped; a ``#`` inside a field, as
    in a source "Monitor #6", is kept), with ``columns``; a one-line DataError if not."""
    if not path.is_file():
        raise DataError(f"{path}: missing")
    try:
        df = pd.read_csv(path, skiprows=_comment_lines(path))
    except Exception as exc:  # pandas raises ParserError, UnicodeDecodeError, ... for bad bytes
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(f"{path}: not a readable CSV file ({first})") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{path}: column(s) {missing} missing: needs {list(columns)}")
    return df


def _comment_lines(path: Path) -> int:
    """Number of leading ``#`` lines (a sidecar's provenance header)."""
    n = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                break
            n += 1
    return n


def raw_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest as JSON, unchecked (None if there is none); DataError if unreadable."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(man, dict):
        raise DataError(f"{path}: not a JSON object but {type(man).__name__}")
    return man


class Numbers:
    """Counters of tables and figures, so every format numbers them the same."""

    def __init__(self) -> None:
        self.tables = 0
        self.figures = 0

    def table(self, caption: str, header: Sequence[str], rows: Sequence[Sequence[str]],
              numeric: Sequence[bool], note: str = "",
              widths: Sequence[float] = ()) -> Table:
        self.tables += 1
        return Table(self.tables, caption, tuple(header), tuple(tuple(r) for r in rows),
                     tuple(numeric), note, tuple(widths))

    def figure(self, path: Path, caption: str) -> Figure:
        self.figures += 1
        try:
            png = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror})") from exc
        return Figure(self.figures, caption, png, path.name)


def words(lang: Lang) -> dict[str, str]:
    return {k: t(k, lang) for k in ("figure", "table", "appendix")}


def sidecar_caption(png: Path) -> str | None:
    """A figure's own caption from its sidecar CSV (a ``# caption:`` line), if it has one."""
    csv = png.with_suffix(".csv")
    return sidecar_header(csv).get(CAPTION_KEY) if csv.is_file() else None


def caption(png: Path, lang: Lang, tail: str, **fields: Any) -> str:
    """Caption of a saved chart: its sidecar's own, else the report's text for its kind,
    with the sentence on the calibrated draws (what the bands contain)."""
    own = sidecar_caption(png)
    if own is None:
        stem = png.stem
        key = next((v for k, v in FIGURE_CAPTIONS.items() if stem.startswith(k)), None)
        metric = next((v for v in FINDING_VALUES if v in stem), "population_coverage")
        fields = {"metric": label_metric(metric, lang, unit=False), **fields}
        own = (t(key, lang, **fields) if key else
               t("cap_other", lang, name=stem.replace("_", " "), n=fields.get("n", "")))
    return f"{own} {tail}".strip()


def language_pngs(folder: Path, lang: Lang, order: Sequence[str],
                  strict: bool = False) -> list[Path]:
    """The charts (PNG) of ``folder`` drawn in ``lang`` (German ones end in ``_de``: see
    :func:`sim.figures.save.figure_stem`), in the order of the file-name prefixes
    ``order``, then the rest. If none is in ``lang``, those of the other language as saved
    (``figures=saved``), or ``[]`` if ``strict``."""
    def drawn_in(lg: Lang) -> list[Path]:
        suffix = figure_stem("", lg)
        return [p for p in folder.glob("*.png")
                if (p.stem.endswith(suffix) if suffix else not _has_language_suffix(p.stem))]

    pngs = drawn_in(lang)
    if not pngs and not strict:
        pngs = [p for lg in LANGS if lg != lang for p in drawn_in(lg)]  # type: ignore[arg-type]
    return sorted(pngs, key=lambda p: (
        next((i for i, pre in enumerate(order) if p.stem.startswith(pre)), len(order)),
        p.stem))


def _has_language_suffix(stem: str) -> bool:
    return any(stem.endswith(figure_stem("", lg)) for lg in LANGS if figure_stem("", lg))


def today(man: dict[str, Any] | None) -> str:
    """The date of the report: when its folder was made (so the same folder gives the same
    report), else today."""
    created = (man or {}).get("created_utc")
    if isinstance(created, str) and len(created) >= 10:
        return created[:10]
    return datetime.now(UTC).date().isoformat()


def sidecar_value(path: Path, key: str) -> str:
    """A ``# key: value`` provenance line of a sidecar CSV (empty if absent)."""
    return sidecar_header(path).get(key, "") if path.is_file() else ""


__all__ = ["CAPTION_KEY", "FIGURE_CAPTIONS", "FINDING_VALUES", "Numbers", "caption",
           "language_pngs", "raw_manifest", "read_csv", "sidecar_caption", "sidecar_value",
           "today", "words"]
