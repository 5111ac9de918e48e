"""``ozg-sim-report``: a report to drop into a paper, from a saved folder's tables.

    ozg-sim-report FOLDER [lang=de] [out=DIR] [formats=html,pdf,docx] [dates=2022-12,2030-12]
                   [calibration=DIR]

``FOLDER`` is a run (``ozg-sim``), experiment (``ozg-sim-experiment``) or calibration
(``ozg-sim-calibrate``) folder. Writes ``report.html``, ``report.pdf`` and ``report.docx``
(``report_de.*`` with ``lang=de``, never replacing the other language) into ``FOLDER`` or
``out=DIR``, all at once when complete. The charts of a run or an experiment are redrawn in
the report's language from its saved tables when it has none in that language (``figures=saved``
keeps them). Nothing is simulated again. A folder that is none
of these, a damaged file or a bad option prints one line and exits with code 2; a failed
write one line and code 3.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sim.cli.common import CommandLine, Option, fail, fail_io, interrupted
from sim.cli.figures import redraw_run
from sim.errors import ConfigError, DataError
from sim.figures.recipes import draw_experiment_figures
from sim.io import OutputError, check_writable, staged_folder
from sim.outputs import read_manifest
from sim.report import FORMATS, RENDERERS, build_report, folder_kind, report_name
from sim.report.analysis import SENSITIVITY_FIGURE_ORDER
from sim.report.blocks import language_pngs
from sim.report.content import FIGURE_ORDER, RUN_FIGURE_ORDER
from sim.report.document import Lang

TOOL = "ozg-sim-report"
#: ``figures=``: ``redraw`` the charts in the report's language from the saved
#: tables (the default when they were drawn in the other one), or keep the ``saved`` ones.
FIGURE_MODES = ("redraw", "saved")


COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} FOLDER [lang=en|de] [out=DIR] [formats=html,pdf,docx] [dates=YYYY-MM,...] "
    "[calibration=DIR] [figures=redraw|saved]",
    "Write a report (HTML, PDF, DOCX) of a saved run, experiment or calibration folder, from "
    "its tables only.",
    positional=("FOLDER", "a run, experiment or calibration folder"),
    options={
        "lang": Option("en|de", "language of the report (default: en; German files are "
                                "report_de.*)"),
        "out": Option("DIR", "where the report files go (default: FOLDER)"),
        "formats": Option("html,pdf,docx", "comma-separated formats (default: all three)"),
        "dates": Option("YYYY-MM,...", "months of an experiment's key findings (default: "
                                       "2022-12, 2026-12 and the last month)"),
        "calibration": Option("DIR", "a calibration folder whose fit summary goes into the "
                                     "methods appendix"),
        "figures": Option("redraw|saved", "the charts redrawn in the report's language from "
                                          "the saved tables (default when the folder has none "
                                          "in that language) or kept as saved"),
    })


def _formats(value: str) -> list[str]:
    fmts = [f.strip() for f in value.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ConfigError(f"formats={value!r} is not allowed: a comma-separated list of "
                          + ", ".join(FORMATS))
    return list(dict.fromkeys(fmts))


def _default_mode(folder: Path, kind: str, lang: Lang) -> str:
    """``redraw`` if the folder holds no charts drawn in ``lang`` (a run, experiment or
    sensitivity folder drawn in the other language only), else ``saved``."""
    where = folder if kind == "run" else folder / "figures"
    order = {"run": RUN_FIGURE_ORDER,
             "sensitivity": SENSITIVITY_FIGURE_ORDER}.get(kind, FIGURE_ORDER)
    return "saved" if language_pngs(where, lang, order, strict=True) else "redraw"


def main(argv: list[str] | None = None) -> None:
    """``ozg-sim-report FOLDER [key=value ...]``: write the report; print the paths."""
    args = list(sys.argv[1:] if argv is None else argv)
    rendered: dict[str, bytes] = {}
    try:
        cmd = COMMAND_LINE.parse(args)
        rest, opts = cmd.positionals, cmd.options
        if len(rest) != 1:
            raise ConfigError(f"{(rest[1:] or ['nothing'])[0]!r} is not allowed: one FOLDER, "
                              f"then key=value options (usage: {COMMAND_LINE.usage})")
        folder = Path(rest[0])
        lang: Lang = "de" if opts.get("lang") == "de" else "en"
        fmts = _formats(opts.get("formats", ",".join(FORMATS)))
        dates = [d.strip() for d in opts["dates"].split(",")] if "dates" in opts else None
        mode = opts.get("figures")
        if mode is not None and mode not in FIGURE_MODES:
            raise ConfigError(f"figures={mode!r} is not allowed: one of "
                              + ", ".join(FIGURE_MODES))
        out = Path(opts.get("out", folder))
        kind = folder_kind(folder)
        check_writable(out, "out")
        with tempfile.TemporaryDirectory(prefix="ozg-sim-report-") as tmp:
            figures = None
            if kind in ("run", "experiment", "sensitivity") and (
                    mode or _default_mode(folder, kind, lang)) == "redraw":
                figures = Path(tmp)
                if kind == "run":
                    redraw_run(folder, read_manifest(folder), out=figures, lang=lang)
                else:
                    draw_experiment_figures(folder, lang, out=figures)
            report = build_report(folder, lang, dates, opts.get("calibration"), figures)
            rendered = {report_name(f, lang): RENDERERS[f](report) for f in fmts}
        with staged_folder(out) as st:
            for name, data in rendered.items():
                (st.path / name).write_bytes(data)
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except ValueError as exc:  # a table the figures cannot draw (e.g. too few replications)
        fail(TOOL, f"{rest[0]}: {exc}")
    except KeyboardInterrupt:
        interrupted(TOOL, "no report was written")
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    for name in rendered:
        print(out / name)


if __name__ == "__main__":
    main()
