"""The document model of a report: what it says, built once and rendered to HTML, PDF and
DOCX by :mod:`sim.report.html`, :mod:`sim.report.pdf` and :mod:`sim.report.word`.

A :class:`Report` is a title and a list of :class:`Section` objects; a section holds
blocks in reading order: :class:`Paragraph`, :class:`Table` (cells already formatted as
text in the report's language, numbers marked so renderers align them right) and
:class:`Figure` (a PNG and its numbered caption). Numbers of tables and figures are given
here, so the three formats number them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["en", "de"]


@dataclass(frozen=True)
class Paragraph:
    """A short paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of formatted cells.

    Attributes
    ----------
    number : int
        Table number (1, 2, ...), in order of appearance.
    caption : str
        Caption without the "Table n." prefix.
    header : tuple of str
        Column headings.
    rows : tuple of tuple of str
        Cells as shown (numbers formatted in the report's language).
    numeric : tuple of bool
        Per column: numbers, aligned right.
    note : str
        A line under the table (how to read it), or empty.
    widths : tuple of float
        Relative column widths for PDF and DOCX (empty: equal).
    """

    number: int
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    note: str = ""
    widths: tuple[float, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A figure: the PNG bytes of a saved chart and its numbered caption.

    Attributes
    ----------
    number : int
        Figure number (1, 2, ...), in order of appearance.
    caption : str
        Caption without the "Figure n." prefix: what is shown and what the bands contain.
    png : bytes
        The saved PNG (embedded as it is).
    source : str
        File name of the PNG in the folder (for the reader's reference).
    """

    number: int
    caption: str
    png: bytes
    source: str


Block = Paragraph | Table | Figure


@dataclass
class Section:
    """A heading and its blocks; ``appendix`` sections are numbered A, B, ..."""

    heading: str
    blocks: list[Block] = field(default_factory=list)
    appendix: bool = False


@dataclass
class Report:
    """A whole report in one language.

    Attributes
    ----------
    lang : {"en", "de"}
        Language of every text and number format.
    title, subtitle : str
        Title (the question) and a line under it (what the folder is).
    date : str
        Date the report was made (of its source folder), as shown.
    kind : {"run", "experiment", "sensitivity", "calibration"}
        What folder it describes.
    sections : list of Section
        In reading order.
    words : dict of str
        Fixed words of the layout in ``lang`` ("Figure", "Table", "Appendix").
    """

    lang: Lang
    title: str
    subtitle: str
    date: str
    kind: str
    sections: list[Section]
    words: dict[str, str]

    def tables(self) -> list[Table]:
        """Every table, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

    def heading(self, section: Section, index: int) -> str:
        """Numbered heading: ``2 Key findings`` or ``Appendix A Methods``."""
        if section.appendix:
            letter = chr(ord("A") + index)
            return f"{self.words['appendix']} {letter}: {section.heading}"
        return f"{index + 1} {section.heading}"

    def numbered(self) -> list[tuple[str, Section]]:
        """Sections with their numbered headings (body 1, 2, ...; appendix A, B, ...)."""
        body = [s for s in self.sections if not s.appendix]
        appx = [s for s in self.sections if s.appendix]
        return ([(self.heading(s, i), s) for i, s in enumerate(body)]
                + [(self.heading(s, i), s) for i, s in enumerate(appx)])


def table_label(report: Report, table: Table) -> str:
    """``Table 2.`` / ``Tabelle 2.``"""
    return f"{report.words['table']} {table.number}."


def figure_label(report: Report, figure: Figure) -> str:
    """``Figure 1.`` / ``Abbildung 1.``"""
    return f"{report.words['figure']} {figure.number}."
