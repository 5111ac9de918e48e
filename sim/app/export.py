"""What the workbench exports of a scenario: a folder in its export folder with the
figures (PNG at 300 dpi, SVG, PDF and the plotted data as CSV, :func:`sim.figures.save.
save_figure`), the key figures, the paired differences and the key figures per replication
as CSV, all of them as sheets of ``summary.xlsx`` (:func:`sim.exports.write_summary_xlsx`),
the scenario as a Hydra config and its ``ozg-sim`` command line; and the same folder as a
ZIP file to download. The folder is written atomically (:func:`sim.io.staged_folder`)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from sim.exports import SUMMARY_XLSX, write_summary_xlsx
from sim.figures.save import save_figure
from sim.io import staged_folder, timestamp

#: Sub-folder of an export holding the figures.
FIGURES = "figures"


def save_task(draw: Callable[..., tuple[Any, pd.DataFrame]], args: tuple[Any, ...],
              out_dir: str, name: str, provenance: Mapping[str, Any]) -> list[str]:
    """Draw a figure (in a worker of the workbench) and save it with its data."""
    matplotlib.use("agg")
    fig, data = draw(*args)
    return [p.name for p in save_figure(fig, out_dir, name, data, provenance)]


def folder_name(label: str) -> str:
    """A safe folder name of a scenario's label: ``<timestamp>_<label>``."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-")[:40] or "scenario"
    return f"{timestamp()}_{safe}"


def write_export(root: Path, label: str, tables: Mapping[str, pd.DataFrame],
                 texts: Mapping[str, str], provenance: Mapping[str, Any],
                 figures: Callable[[Path], None]) -> Path:
    """Write an export folder under ``root``: each of ``tables`` as ``NAME.csv``, each of
    ``texts`` as a file of that name, the figures ``figures(folder / FIGURES)`` draws and
    ``summary.xlsx`` of all tables; return the folder."""
    with staged_folder(Path(root), folder_name(label)) as stage:
        for name, df in tables.items():
            df.to_csv(stage.path / f"{name}.csv", index=False, float_format="%.6g")
        for name, text in texts.items():
            (stage.path / name).write_text(text, encoding="utf-8")
        (stage.path / FIGURES).mkdir()
        figures(stage.path / FIGURES)
        write_summary_xlsx(stage.path, provenance)
    return stage.final


def zip_folder(folder: Path) -> bytes:
    """The files of ``folder`` (and its sub-folders) as a ZIP archive, in name order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            zf.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()


def xlsx_of(folder: Path) -> bytes:
    """The ``summary.xlsx`` of an export folder."""
    return (Path(folder) / SUMMARY_XLSX).read_bytes()

