"""Reports to drop into a paper, made from a saved folder's tables only.

- :mod:`sim.report.document`: the document model (sections, paragraphs, numbered tables and
  figures), built once;
- :mod:`sim.report.content`: builds it from a run, experiment or calibration folder;
- :mod:`sim.report.texts`: every phrase in English and German, number formats;
- :mod:`sim.report.parameters`: unit and source of every documented parameter
  (``parameters.csv``, kept equal to MODEL.md §8 by a test);
- :mod:`sim.report.html`, :mod:`sim.report.pdf`, :mod:`sim.report.word`: the renderers
  (self-contained HTML, A4 PDF with reportlab, DOCX with python-docx), each returning bytes.

The command ``ozg-sim-report`` (:mod:`sim.cli.report`) writes the files.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.report.content import build_report, folder_kind
from sim.report.document import Report
from sim.report.html import render_html
from sim.report.pdf import render_pdf
from sim.report.word import render_docx

#: Renderers by format (file suffix).
RENDERERS: dict[str, Callable[[Report], bytes]] = {"html": render_html, "pdf": render_pdf,
                                                   "docx": render_docx}
#: Formats in the order they are written.
FORMATS = tuple(RENDERERS)


def report_name(fmt: str, lang: str) -> str:
    """File name of a report: ``report.html`` (English), ``report_de.html`` (German)."""
    return f"report.{fmt}" if lang == "en" else f"report_{lang}.{fmt}"


__all__ = ["FORMATS", "RENDERERS", "Report", "build_report", "folder_kind", "render_docx",
           "render_html", "render_pdf", "report_name"]
