"""Number, per-cent and month formats of the charts and reports in English and German:
``lang="de"`` gives decimal commas, the true minus sign, a non-breaking space before ``%``
and German month names, formatted by hand (not via the locale); shares (0-1) stay shares in
the data and are shown in per cent. The words of the charts are :mod:`sim.figures.labels`'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

Lang = Literal["en", "de"]
LANGS: tuple[str, ...] = ("en", "de")
#: The true minus sign and the non-breaking space of the number formats.
MINUS = "\u2212"
NBSP = "\u00a0"

MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"],
          "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                 "September", "Oktober", "November", "Dezember"]}
MONTHS_SHORT = {"en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                       "Nov", "Dec"],
                "de": ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.",
                       "Okt.", "Nov.", "Dez."]}


def check_lang(lang: str) -> None:
    """Raise ``ValueError`` unless ``lang`` is one of :data:`LANGS`."""
    if lang not in LANGS:
        raise ValueError(f"lang(={lang!r}) must be one of {list(LANGS)}")


def format_number(x: float, lang: Lang = "en", decimals: int = 0, sign: bool = False) -> str:
    """``x`` with ``decimals`` digits: ``1,234.5`` (en) or ``1.234,5`` (de).

    Negative numbers take a true minus sign; ``sign=True`` adds ``+`` to positive ones.
    Non-finite values give an en dash.
    """
    check_lang(lang)
    if x is None or not np.isfinite(x):
        return "–"
    s = f"{abs(x):,.{decimals}f}"
    if lang == "de":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    nonzero = any(c not in "0,." for c in s)
    if x < 0 and nonzero:
        s = MINUS + s
    elif sign and x > 0 and nonzero:
        s = "+" + s
    return s


def format_percent(share: float, lang: Lang = "en", decimals: int = 0,
                   sign: bool = False) -> str:
    """A share (0-1) in per cent: ``45%`` (en) or ``45 %`` (de, with a non-breaking space)."""
    if share is None or not np.isfinite(share):
        return "–"
    return format_number(share * 100, lang, decimals, sign) + ("%" if lang == "en"
                                                                else NBSP + "%")


def format_month(date: object, lang: Lang = "en", short: bool = False) -> str:
    """``December 2022`` / ``Dezember 2022`` (``short``: ``Dec 2022`` / ``Dez. 2022``)."""
    check_lang(lang)
    ts = pd.Timestamp(date)  # type: ignore[arg-type]
    names = MONTHS_SHORT if short else MONTHS
    return f"{names[lang][ts.month - 1]} {ts.year}"


def decimals_for(values: np.ndarray, limit: int = 4) -> int:
    """Fewest decimals (at most ``limit``) that show every finite value exactly."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0
    tol = 1e-6 * max(float(np.max(np.abs(v))), 1e-12)
    for d in range(limit + 1):
        if np.all(np.abs(np.round(v, d) - v) <= tol):
            return d
    return limit


class _TickFormatter(FuncFormatter):
    """FuncFormatter that remembers the tick positions of the axis (to choose decimals)."""

    def __init__(self, func: Callable[[float, int | None], str]) -> None:
        super().__init__(func)
        self.tick_values = np.zeros(0)

    def set_locs(self, locs: Sequence[float]) -> None:
        self.tick_values = np.asarray(locs, dtype=float)
        super().set_locs(list(locs))


def number_formatter(lang: Lang = "en", scale: float = 1.0, decimals: int | None = None,
                     sign: bool = False) -> FuncFormatter:
    """Tick formatter: value × ``scale`` with the decimal mark of ``lang``.

    With ``decimals=None`` all ticks of an axis get the fewest decimals that show every
    tick exactly (``0.5, 1.0, 1.5``, never ``0.5, 1, 1.5``).
    """
    check_lang(lang)

    def fmt(x: float, pos: int | None = None) -> str:
        d = decimals
        if d is None:
            locs = formatter.tick_values * scale
            d = decimals_for(locs if len(locs) else np.array([x * scale]))
        return format_number(x * scale, lang, d, sign)

    formatter = _TickFormatter(fmt)
    return formatter


def percent_formatter(lang: Lang = "en", decimals: int | None = None,
                      sign: bool = False) -> FuncFormatter:
    """Tick formatter of shares (0-1) as per-cent numbers (the unit goes in the label)."""
    return number_formatter(lang, 100.0, decimals, sign)
