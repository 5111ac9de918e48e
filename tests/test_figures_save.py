"""Saved figures are the same bytes whatever process draws them: no dates, and SVG clip-path
ids numbered in order. (matplotlib names a clip path by a hash of its rectangle's coordinates,
which constrained layout computes with differences of ~1e-13 pt between processes: seen on
the small multiples and map of efa_vs_efv, not reproducible on demand, hence no
two-process test.)"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sim.figures.save import save_figure


def test_svg_clip_ids_are_numbered_and_resolve(tmp_path: Path) -> None:
    fig, ax = plt.subplots(layout="constrained")
    ax.plot([0, 1], [0, 1])
    save_figure(fig, tmp_path, "line", pd.DataFrame({"x": [0, 1]}), {})
    svg = (tmp_path / "line.svg").read_text()
    assert not re.search(r"\bp[0-9a-f]{10}\b", svg)
    used = set(re.findall(r"url\(#(clip\d+)\)", svg))
    defined = set(re.findall(r'id="(clip\d+)"', svg))
    assert used and used <= defined
