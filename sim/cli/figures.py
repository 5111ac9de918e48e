"""``ozg-sim-figures``: redraw the figures of a saved folder without rerunning the model.

    ozg-sim-figures FOLDER [lang=de]

``FOLDER`` is an ``ozg-sim-experiment`` output: every figure its experiment asks for
(``figure_list`` in its ``manifest.json``, from ``figures:`` of
``conf/experiment/*.yaml``) is redrawn into ``FOLDER/figures``
(:func:`sim.figures.recipes.draw_experiment_figures`). An ``ozg-sim`` run folder gets its
charts redrawn (:func:`sim.figures.run.draw_run_figures`: coverage, per-Land small
multiples, Land and Kreis maps), titled by every scenario axis of its configuration.
``lang=de`` writes German charts with the suffix ``_de`` (``coverage_de.png``) beside the
English ones, which keep the plain names; a redraw in one language keeps the other's
files. The new figures replace the old ones of their language whole, so a killed redraw
leaves the old set, never a mix. A
damaged folder (manifest, table) or a bad option prints one line naming the file or option
and exits with code 2; a failed write (full disk, read-only) one line and exit code 3.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from sim.cli.common import (
    CommandLine,
    Option,
    fail,
    fail_io,
    interrupted,
    log_figure,
    setup_logging,
)
from sim.config import to_config
from sim.errors import ConfigError, DataError
from sim.exports import write_folder_exports
from sim.figures.labels import Lang
from sim.figures.recipes import draw_experiment_figures
from sim.figures.run import draw_run_figures
from sim.figures.save import other_language_files
from sim.figures.scenarios import run_title
from sim.io import OutputError, check_writable, staged_folder
from sim.outputs import read_folder, read_manifest
from sim.provenance import run_provenance
from sim.scenario import scenario_of
from sim.sweep import load_spec

TOOL = "ozg-sim-figures"
COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} FOLDER [lang=en|de]",
    "Redraw the figures of a run or experiment folder from its saved tables, without "
    "rerunning the model.",
    positional=("FOLDER", "an ozg-sim run folder or an ozg-sim-experiment folder (a name "
                          "with = is a folder if it exists, or after --)"),
    options={"lang": Option("en|de", "language of titles, labels and captions "
                                     "(default: en)")})


def redraw_run(folder: Path, manifest: dict[str, Any], out: Path | None = None,
               lang: str = "en") -> list[str]:
    """Redraw the charts of an ``ozg-sim`` run folder from its saved tables (into ``out``,
    a staging folder, if given), titled by every scenario axis of its configuration."""
    cfg = manifest["config"]
    lg: Lang = "de" if lang == "de" else "en"
    draws = manifest.get("calibrated_draws") or {}
    title = run_title(cfg["strategy"]["name"], cfg["funding"]["name"],
                      cfg["staffing"]["name"], cfg["world"]["name"],
                      scenario_of(cfg, draws), lg)
    subtitle = f"Seed {cfg['seed']}."
    if lg == "en" and draws.get("description"):
        subtitle += f" {draws['description']}"
    return draw_run_figures(folder, title, subtitle, run_provenance(to_config(cfg)), out,
                            lang, cfg["strategy"]["name"], progress=log_figure)


def _figures_of(manifest: dict[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
    """Recipes and reference of a folder whose manifest lists no figures (an older folder):
    those of its experiment file, if it still exists, else the fan chart."""
    try:
        spec = load_spec(str(manifest.get("experiment")))
    except ConfigError:
        return ["fan"], None
    return list(spec.get("figures") or ["fan"]), spec.get("reference")


class InterruptedAfterFigures(KeyboardInterrupt):
    """Ctrl-C after the new figures were moved in, while ``summary.xlsx`` was written."""

    note = "the new figures are in place, summary.xlsx is the old one"


def _inode(path: Path) -> int | None:
    """The inode of ``path`` (None if it does not exist)."""
    try:
        return path.stat().st_ino
    except OSError:
        return None


def redraw(folder: Path, lang: str = "en") -> list[str]:
    """Redraw every figure of a run or experiment folder; returns the written file names.

    The folder is checked first (:func:`sim.outputs.read_folder`, through the recipes for
    an experiment folder). The new figures are
    drawn into a staging folder and swapped in whole (an experiment's ``figures/``) or moved
    in file by file (a run's chart), so a killed redraw leaves the old figures, never a mix
    of old and new (or of two languages). Then ``summary.xlsx`` is written again with the
    new figures' data (:func:`sim.exports.write_folder_exports`).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["tool"] == "ozg-sim":
        read_folder(folder, ("national",))
    check_writable(folder, "FOLDER")
    # What the swap replaces (an experiment's figures/, a run's chart): a new inode there
    # after Ctrl-C means the new figures were moved in before it.
    target = folder / ("coverage.png" if manifest["tool"] == "ozg-sim" else "figures")
    before = _inode(target)
    try:
        if manifest["tool"] == "ozg-sim":  # an experiment's tables are read by its recipes
            with staged_folder(folder) as st:
                written = redraw_run(folder, manifest, st.path, lang)
        else:
            recipes, reference = ((None, None) if manifest.get("figure_list")
                                  else _figures_of(manifest))
            with staged_folder(folder, "figures", replace=True) as st:
                written = draw_experiment_figures(folder, lang, recipes, reference,
                                                  out=st.path, progress=log_figure)
                for kept in other_language_files(folder / "figures", lang, written):
                    shutil.copy2(kept, st.path / kept.name)  # the other language's drawing
    except KeyboardInterrupt as exc:
        if _inode(target) != before:  # Ctrl-C while the staging area was cleaned up
            raise InterruptedAfterFigures from exc
        raise
    try:
        with staged_folder(folder) as st:  # the workbook holds the new figures' data
            written += write_folder_exports(folder, manifest, out=st.path)
    except KeyboardInterrupt as exc:
        raise InterruptedAfterFigures from exc
    return written


def main(argv: list[str] | None = None) -> None:
    """``ozg-sim-figures FOLDER [lang=de]``: redraw a folder's figures."""
    args = list(sys.argv[1:] if argv is None else argv)
    setup_logging()
    try:
        cmd = COMMAND_LINE.parse(args)
        folders, lang = cmd.positionals, cmd.options.get("lang", "en")
        if len(folders) != 1:
            raise ConfigError(f"usage: {COMMAND_LINE.usage} (one FOLDER; see --help)")
        files = redraw(Path(folders[0]), lang)
    except KeyboardInterrupt as exc:
        interrupted(TOOL, getattr(exc, "note", "the old figures are kept"))
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except ValueError as exc:  # a table the figures cannot draw (e.g. too few replications)
        fail(TOOL, f"{folders[0]}: {exc}")
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    print(f"{len(files)} files written under {Path(folders[0])}")


if __name__ == "__main__":
    main()
