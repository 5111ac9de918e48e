"""Render a :class:`~sim.report.document.Report` as an A4 PDF with reportlab's platypus
layout: numbered headings, tables with right-aligned numbers, figures at full text width
with their numbered captions. Text is set in DejaVu Sans (shipped with matplotlib), which
has the minus sign, dashes and German letters the standard PDF fonts lack."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as RLTable
from reportlab.platypus.doctemplate import LayoutError

from sim.errors import DataError
from sim.report.document import Figure, Report, Table, figure_label, table_label
from sim.report.document import Paragraph as Para

#: Page margins (a paper appendix: 25 mm).
MARGIN = 25 * mm
#: Font size of table cells (pt): small enough for six columns of parameters on A4.
TABLE_FONT_PT = 7.5
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"


@cache
def _fonts() -> None:
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT,
                                  boldItalic=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", base["BodyText"], fontName=FONT, fontSize=9.5, leading=13)
    return {
        "title": ParagraphStyle("title", base["Title"], fontName=FONT_BOLD, fontSize=16,
                                leading=20, alignment=0),
        "h": ParagraphStyle("h", base["Heading2"], fontName=FONT_BOLD, fontSize=12,
                            leading=15, spaceBefore=10, keepWithNext=1),
        "body": body,
        "small": ParagraphStyle("small", body, fontSize=8, leading=10,
                                textColor=colors.HexColor("#555555")),
        "cell": ParagraphStyle("cell", body, fontSize=TABLE_FONT_PT, leading=9),
        "num": ParagraphStyle("num", body, fontSize=TABLE_FONT_PT, leading=9,
                              alignment=TA_RIGHT),
        "head": ParagraphStyle("head", body, fontName=FONT_BOLD, fontSize=TABLE_FONT_PT,
                               leading=9),
    }


def _table(report: Report, tb: Table, st: dict[str, ParagraphStyle], width: float) -> list:
    cols = len(tb.header)
    rel = tb.widths if len(tb.widths) == cols else (1.0,) * cols
    widths = [width * w / sum(rel) for w in rel]

    def cell(text: str, i: int, head: bool = False) -> Paragraph:
        num = i < len(tb.numeric) and tb.numeric[i]
        style = st["head"] if head else st["num"] if num else st["cell"]
        if head and num:
            style = ParagraphStyle("headnum", st["head"], alignment=TA_RIGHT)
        return Paragraph(escape(text), style)

    data = ([[cell(h, i, True) for i, h in enumerate(tb.header)]] if any(tb.header) else [])
    data += [[cell(c, i) for i, c in enumerate(r)] for r in tb.rows]
    t = RLTable(data, colWidths=widths, repeatRows=1 if any(tb.header) else 0)
    style = [("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
             ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
             ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    if any(tb.header):
        style.append(("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black))
    t.setStyle(TableStyle(style))
    caption = Paragraph(f"<b>{escape(table_label(report, tb))}</b> {escape(tb.caption)}",
                        st["body"])
    out: list = [Spacer(1, 4), caption, Spacer(1, 3), t]
    if tb.note:
        out.append(Paragraph(escape(tb.note), st["small"]))
    return out


def _figure(report: Report, fig: Figure, st: dict[str, ParagraphStyle], width: float) -> list:
    w, h = ImageReader(io.BytesIO(fig.png)).getSize()
    img = Image(io.BytesIO(fig.png), width=width, height=width * h / w)
    caption = Paragraph(f"<b>{escape(figure_label(report, fig))}</b> {escape(fig.caption)}",
                        st["body"])
    return [Spacer(1, 6), KeepTogether([img, Spacer(1, 3), caption])]


def render_pdf(report: Report) -> bytes:
    """The report as an A4 PDF (bytes)."""
    _fonts()
    st = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title=report.title,
                            author="ozg-sim", invariant=1)
    width = A4[0] - 2 * MARGIN
    story: list = [Paragraph(escape(report.title), st["title"]),
                   Paragraph(escape(report.subtitle), st["small"]),
                   Paragraph(escape(report.date), st["small"])]
    for heading, section in report.numbered():
        story.append(Paragraph(escape(heading), st["h"]))
        for block in section.blocks:
            if isinstance(block, Para):
                story.append(Paragraph(escape(block.text), st["body"]))
                story.append(Spacer(1, 3))
            elif isinstance(block, Table):
                story += _table(report, block, st, width)
            else:
                story += _figure(report, block, st, width)

    def footer(canvas, doc_) -> None:  # type: ignore[no-untyped-def]
        canvas.setFont(FONT, 7.5)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, str(doc_.page))

    try:
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    except LayoutError as exc:  # a cell taller than a page: say so in one line
        raise DataError(f"the PDF cannot lay out the report: {str(exc).splitlines()[0][:200]}"
                        " (formats=html,docx still work)") from exc
    return buf.getvalue()


__all__ = ["render_pdf"]
