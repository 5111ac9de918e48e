"""Render a :class:`~sim.report.document.Report` as one self-contained HTML page: the
figures embedded as base64 data URIs, the style inline, no external resource."""

from __future__ import annotations

import base64
from html import escape

from sim.report.document import Figure, Paragraph, Report, Table, figure_label, table_label

#: The page's style: a paper-like column, numbers right-aligned with tabular figures.
STYLE = """
body { font-family: 'DejaVu Serif', Georgia, serif; max-width: 50em; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
p.subtitle, p.date { color: #555; margin: 0.2em 0; }
table { border-collapse: collapse; margin: 0.6em 0 0.3em; font-size: 0.85em; width: 100%; }
caption { caption-side: top; text-align: left; margin-bottom: 0.4em; }
th, td { border-top: 1px solid #bbb; border-bottom: 1px solid #bbb; padding: 0.2em 0.5em;
         vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
p.note { font-size: 0.8em; color: #555; margin-top: 0.2em; }
figure { margin: 1.2em 0; } figure img { width: 100%; }
figcaption { font-size: 0.9em; }
"""


def _table(report: Report, tb: Table) -> str:
    def cls(i: int) -> str:
        return ' class="num"' if i < len(tb.numeric) and tb.numeric[i] else ""

    head = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(tb.header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{escape(c)}</td>" for i, c in enumerate(r))
                   + "</tr>\n" for r in tb.rows)
    head_row = f"<thead><tr>{head}</tr></thead>" if any(tb.header) else ""
    note = f'<p class="note">{escape(tb.note)}</p>' if tb.note else ""
    return (f'<table id="table-{tb.number}"><caption><b>{escape(table_label(report, tb))}</b> '
            f"{escape(tb.caption)}</caption>{head_row}<tbody>\n{body}</tbody></table>{note}\n")


def _figure(report: Report, fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<figure id="figure-{fig.number}"><img alt="{escape(fig.source)}" '
            f'src="data:image/png;base64,{data}"><figcaption><b>'
            f"{escape(figure_label(report, fig))}</b> {escape(fig.caption)}</figcaption>"
            "</figure>\n")


def render_html(report: Report) -> bytes:
    """The report as a self-contained HTML document (UTF-8 bytes)."""
    parts = [f'<!DOCTYPE html>\n<html lang="{report.lang}"><head><meta charset="utf-8">'
             f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>\n"
             f"<h1>{escape(report.title)}</h1>\n"
             f'<p class="subtitle">{escape(report.subtitle)}</p>\n'
             f'<p class="date">{escape(report.date)}</p>\n']
    for heading, section in report.numbered():
        parts.append(f"<h2>{escape(heading)}</h2>\n")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                parts.append(f"<p>{escape(block.text)}</p>\n")
            elif isinstance(block, Table):
                parts.append(_table(report, block))
            else:
                parts.append(_figure(report, block))
    parts.append("</body></html>\n")
    return "".join(parts).encode("utf-8")


__all__ = ["render_html"]
