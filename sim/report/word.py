"""Render a :class:`~sim.report.document.Report` as a Word document (DOCX, python-docx):
the format most ministries write in. Numbered headings, tables with right-aligned numbers,
figures at full text width with numbered captions, A4 with 25 mm margins."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from sim.report.document import Figure, Paragraph, Report, Table, figure_label, table_label

#: A4 and the margins of the PDF.
PAGE_W_MM, PAGE_H_MM, MARGIN_MM = 210, 297, 25
#: Font size of table cells (pt), as in the PDF.
TABLE_FONT_PT = 7.5


def _caption(doc, label: str, text: str) -> None:  # type: ignore[no-untyped-def]
    p = doc.add_paragraph(style="Caption")
    p.add_run(label + " ").bold = True
    p.add_run(text)


def _table(doc, report: Report, tb: Table) -> None:  # type: ignore[no-untyped-def]
    _caption(doc, table_label(report, tb), tb.caption)
    has_head = any(tb.header)
    rows = ([tb.header] if has_head else []) + list(tb.rows)
    table = doc.add_table(rows=len(rows), cols=len(tb.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for r, (row_cells, row) in enumerate(zip(table.rows, rows, strict=True)):
        cells = row_cells.cells  # once per row: table.cell(r, c) walks the whole grid
        for c, text in enumerate(row):
            para = cells[c].paragraphs[0]
            run = para.add_run(text)
            run.font.size = Pt(TABLE_FONT_PT)
            run.bold = has_head and r == 0
            if c < len(tb.numeric) and tb.numeric[c]:
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if tb.note:
        note = doc.add_paragraph()
        note.add_run(tb.note).font.size = Pt(8)


def _figure(doc, report: Report, fig: Figure) -> None:  # type: ignore[no-untyped-def]
    doc.add_picture(io.BytesIO(fig.png), width=Mm(PAGE_W_MM - 2 * MARGIN_MM))
    _caption(doc, figure_label(report, fig), fig.caption)


def render_docx(report: Report) -> bytes:
    """The report as a DOCX document (bytes)."""
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(PAGE_W_MM), Mm(PAGE_H_MM)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, side, Mm(MARGIN_MM))
    doc.core_properties.title = report.title
    doc.core_properties.author = "ozg-sim"
    doc.add_heading(report.title, level=0)
    doc.add_paragraph(report.subtitle)
    doc.add_paragraph(report.date)
    for heading, section in report.numbered():
        doc.add_heading(heading, level=1)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                doc.add_paragraph(block.text)
            elif isinstance(block, Table):
                _table(doc, report, block)
            else:
                _figure(doc, report, block)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


__all__ = ["render_docx"]
