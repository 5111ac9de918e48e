"""``ozg-sim-figures``: redraw the figures of a saved folder without rerunning the model.

    ozg-sim-figures FOLDER [lang=de]

``FOLDER`` is an ``ozg-sim-experiment`` output: every figure its experiment asks for
(``figure_list`` in its ``manifest.json``, from ``figures:`` of
``conf/experiment/*.yaml``) is redrawn into ``FOLDER/figures``
(:func:`sim.figures.recipes.draw_experiment_figures`). An ``ozg-sim`` run folder gets its
coverage chart redrawn (:func:`sim.figures.run.draw_run_figures`). A bad folder or option
prints one line and exits with code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sim.cli.common import fail, split_cli_args
from sim.config import to_config
from sim.errors import ConfigError
from sim.figures.labels import run_title
from sim.figures.recipes import draw_experiment_figures
from sim.figures.run import draw_run_figures
from sim.provenance import run_provenance
from sim.sweep import load_spec

TOOL = "ozg-sim-figures"


def redraw_run(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Redraw the chart of an ``ozg-sim`` run folder from its saved tables."""
    cfg = manifest["config"]
    title = run_title(cfg["strategy"]["name"], cfg["funding"]["name"],
                      cfg["staffing"]["name"], cfg["world"]["name"])
    return draw_run_figures(folder, title, f"Seed {cfg['seed']}.",
                            run_provenance(to_config(cfg)))


def _figures_of(manifest: dict[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
    """Recipes and reference of a folder whose manifest lists no figures (an older folder):
    those of its experiment file, if it still exists, else the fan chart."""
    try:
        spec = load_spec(str(manifest.get("experiment")))
    except ConfigError:
        return ["fan"], None
    return list(spec.get("figures") or ["fan"]), spec.get("reference")


def redraw(folder: Path, lang: str = "en") -> list[str]:
    """Redraw every figure of a run or experiment folder; returns the written file names."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(f"{folder} is not an experiment folder: manifest.json is missing")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("tool") == "ozg-sim":
        return redraw_run(folder, manifest)
    if manifest.get("figure_list"):
        return draw_experiment_figures(folder, lang)
    recipes, reference = _figures_of(manifest)
    return draw_experiment_figures(folder, lang, recipes, reference)


def main(argv: list[str] | None = None) -> None:
    """``ozg-sim-figures FOLDER [lang=de]``: redraw a folder's figures."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        folders, opts = split_cli_args(args, ("lang",))
        lang = opts.get("lang", "en")
        if len(folders) != 1:
            raise ConfigError("usage: ozg-sim-figures FOLDER [lang=de]")
        files = redraw(Path(folders[0]), lang)
    except ConfigError as exc:
        fail(TOOL, exc)
    print(f"{len(files)} files written under {Path(folders[0])}")


if __name__ == "__main__":
    main()
