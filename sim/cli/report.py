"""``ozg-sim-report``: a report to drop into a paper, from a saved folder's tables.

    ozg-sim-report FOLDER [lang=de] [out=DIR] [formats=html,pdf,docx] [dates=2022-12,2030-12]
                   [calibration=DIR]

``FOLDER`` is a run (``ozg-sim``), experiment (``ozg-sim-experiment``) or calibration
(``ozg-sim-calibrate``) folder. Writes ``report.html``, ``report.pdf`` and ``report.docx``
(``report_de.*`` with ``lang=de``, never replacing the other language) into ``FOLDER`` or
``out=DIR``, all at once when complete. Nothing is simulated again. A folder that is none
of these, a damaged file or a bad option prints one line and exits with code 2; a failed
write one line and code 3.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import fail, fail_io, split_cli_args
from sim.errors import ConfigError, DataError
from sim.io import OutputError, check_writable, staged_folder
from sim.report import FORMATS, RENDERERS, build_report, report_name

TOOL = "ozg-sim-report"
OPTION_KEYS = ("lang", "out", "formats", "dates", "calibration")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=TOOL, description="Write a report (HTML, PDF, DOCX) of a saved run, experiment "
        "or calibration folder, from its tables only.")
    p.add_argument("folder", help="a run, experiment or calibration folder")
    p.add_argument("options", nargs="*", metavar="key=value",
                   help="lang=en|de; out=DIR (default FOLDER); formats=html,pdf,docx; "
                        "dates=YYYY-MM,... (experiment key findings; default 2022-12, "
                        "2026-12 and the last month); calibration=DIR (its fit summary in "
                        "the methods appendix)")
    return p


def _formats(value: str) -> list[str]:
    fmts = [f.strip() for f in value.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ConfigError(f"formats={value!r} is not allowed: a comma-separated list of "
                          + ", ".join(FORMATS))
    return list(dict.fromkeys(fmts))


def main(argv: list[str] | None = None) -> None:
    """``ozg-sim-report FOLDER [key=value ...]``: write the report; print the paths."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        rest, opts = split_cli_args([args.folder, *args.options], OPTION_KEYS)
        if len(rest) != 1:
            raise ConfigError(f"{rest[1]!r} is not allowed: one FOLDER, then key=value options")
        folder = Path(rest[0])
        lang = "de" if opts.get("lang") == "de" else "en"
        fmts = _formats(opts.get("formats", ",".join(FORMATS)))
        dates = [d.strip() for d in opts["dates"].split(",")] if "dates" in opts else None
        report = build_report(folder, lang, dates, opts.get("calibration"))
        out = Path(opts.get("out", folder))
        check_writable(out, "out")
        rendered = {report_name(f, lang): RENDERERS[f](report) for f in fmts}
        with staged_folder(out) as st:
            for name, data in rendered.items():
                (st.path / name).write_bytes(data)
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    for name in rendered:
        print(out / name)


if __name__ == "__main__":
    main()
