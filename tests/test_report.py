"""ozg-sim-report: reports of a toy experiment, a toy run and the versioned calibration in
both languages and all three formats, read back (HTML tables with pandas.read_html, DOCX
tables with python-docx, PDF text with pypdf) and checked against the folders' own tables;
bad folders and options exit with code 2; the declared parameter table equals MODEL.md §8."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from sim.cli.report import main as report_main
from sim.report import FORMATS, build_report, report_name
from sim.report.parameters import BASIS_PREFIXES, COLUMNS, TABLE_FILE
from sim.report.texts import TEXT

ROOT = Path(__file__).resolve().parents[1]
#: A two-level experiment with the figures that write its paired differences: fast on the
#: toy world (the report's numbers are checked against paired_differences.csv).
SPEC = """# ozg-sim-experiment ./report_toy.yaml
name: report_toy
title: "EfA against EfV"
title_de: "EfA gegen EfV"
description: "Two strategies on the toy world."
replications: 3
seed: 1
base: []
design:
  grid:
    strategy: [efa, efv]
reference: {factor: strategy, level: efa}
figures: [fan, difference]
"""
DATES = ("2022-12", "2026-12", "2030-12")
#: A number as the report shows it: a true minus or a plus sign, decimal point or comma.
NUM = r"[+\u2212-]?\d+(?:[.,]\d+)?"
INTERVAL = re.compile(rf"({NUM}) \[({NUM}); ({NUM})\]")


def _cli(module: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, cwd=cwd, env={"PYTHONPATH": str(ROOT),
                                                   "PATH": "/usr/bin:/bin",
                                                   "MPLBACKEND": "Agg",
                                                   "HOME": str(cwd or ROOT)}, timeout=600)


def _num(s: str) -> float:
    return float(s.replace("\u2212", "-").replace(",", "."))


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy experiment folder (2 strategies x 3 replications, fan and difference figures),
    with its reports in English and German (figures as saved) written into it."""
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "report_toy.yaml").write_text(SPEC, encoding="utf-8")
    r = _cli("sim.cli.experiment", "./report_toy.yaml", "world=toy", "workers=1",
             f"out={tmp / 'exp'}", f"cache={tmp / 'cache'}", cwd=tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    (folder,) = (tmp / "exp" / "report_toy").iterdir()
    for lang in ("en", "de"):
        r = _cli("sim.cli.report", str(folder), f"lang={lang}", "figures=saved",
                 "dates=" + ",".join(DATES))
        assert r.returncode == 0, r.stderr[-2000:]
        written = r.stdout.split()
        assert written == [str(folder / report_name(f, lang)) for f in FORMATS]
    return folder


def _expected(folder: Path) -> tuple[dict[tuple[str, str], tuple[float, float, float]],
                                     dict[str, str]]:
    """From the experiment's own tables: (value, date) -> mean, lo, hi of efv - efa in
    percentage points; and the median months to 50/90 % of population coverage."""
    pdiff = pd.read_csv(folder / "figures" / "paired_differences.csv")
    pdiff = pdiff[pdiff["comparison"] == "efv - efa"]
    diffs = {}
    for value in ("population_coverage", "nationwide_share"):
        for d in DATES:
            row = pdiff[(pdiff["value"] == value) & (pdiff["date"].str[:7] == d)].iloc[0]
            diffs[(value, d)] = (100 * row["mean_diff"], 100 * row["lo"], 100 * row["hi"])
    summary = pd.read_csv(folder / "summary.csv")
    times = {}
    for p in (50, 90):
        s = summary[(summary["kpi"] == f"months_to_{p}pct_population_coverage")
                    & (summary["strategy"] == "efv")].iloc[0]
        times[f"{p}"] = s["median"]
    return diffs, times


def _check_row(cells: list[str], diffs: dict, value: str, times: dict | None) -> None:
    """The efv row of a key-findings table: three intervals equal to the saved paired
    differences (to the shown 0.1 point), then the months of 50/90 %."""
    for d, cell in zip(DATES, cells[1:4], strict=True):
        m = INTERVAL.fullmatch(cell.strip())
        assert m, cell
        shown = [_num(x) for x in m.groups()]
        assert np.allclose(shown, diffs[(value, d)], atol=0.05 + 1e-9), (d, shown)
    if times is not None:
        for p, cell in zip(("50", "90"), cells[4:6], strict=True):
            median = times[p]
            if np.isfinite(median):
                y, mo = divmod(int(np.floor(median)), 12)  # the rule of median_date
                assert cell.startswith(f"{2018 + y}-{mo + 1:02d}"), (p, cell)
            else:
                assert cell.startswith(("not reached", "nicht erreicht")), (p, cell)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_html_tables_equal_the_experiments_tables(experiment: Path, lang: str) -> None:
    diffs, times = _expected(experiment)
    html = (experiment / report_name("html", lang)).read_text(encoding="utf-8")
    assert "<img" in html and "data:image/png;base64," in html and 'src="http' not in html
    tables = pd.read_html(io.StringIO(html))
    pop, nat = tables[0], tables[1]
    efv = {"en": "EfV", "de": "EfV"}[lang]
    for table, value in ((pop, "population_coverage"), (nat, "nationwide_share")):
        rows = [list(map(str, r)) for r in table.itertuples(index=False)]
        (row,) = [r for r in rows if r[0].startswith(efv)]
        _check_row(row, diffs, value, times if value == "population_coverage" else None)
    ref = next(list(map(str, r)) for r in pop.itertuples(index=False)
               if r[0].startswith("EfA"))
    assert ref[1] == {"en": "reference", "de": "Referenz"}[lang]
    assert ("Figure 1." if lang == "en" else "Abbildung 1.") in html
    assert ("Appendix A" if lang == "en" else "Anhang A") in html


@pytest.mark.parametrize("lang", ["en", "de"])
def test_docx_tables_equal_the_experiments_tables(experiment: Path, lang: str) -> None:
    diffs, times = _expected(experiment)
    doc = docx.Document(str(experiment / report_name("docx", lang)))
    first = doc.tables[0]
    rows = [[c.text for c in r.cells] for r in first.rows]
    (row,) = [r for r in rows if r[0].startswith("EfV")]
    _check_row(row, diffs, "population_coverage", times)
    assert len(doc.inline_shapes) >= 2  # the fan and difference charts
    if lang == "de":  # German decimal comma
        assert "," in row[1] and "." not in row[1]


@pytest.mark.parametrize("lang", ["en", "de"])
def test_pdf_text_holds_the_experiments_numbers(experiment: Path, lang: str) -> None:
    diffs, _ = _expected(experiment)
    sep = "," if lang == "de" else "."

    def show(x: float, sign: bool) -> str:
        s = f"{abs(x):.1f}".replace(".", sep)
        if round(abs(x), 1) == 0:
            return s
        return ("\u2212" if x < 0 else "+" if sign else "") + s

    text = "\n".join(p.extract_text() for p in PdfReader(experiment / report_name("pdf", lang))
                     .pages)
    flat = " ".join(text.split())
    for d in DATES:
        mean, lo, hi = diffs[("population_coverage", d)]
        assert f"{show(mean, True)} [{show(lo, False)}; {show(hi, False)}]" in flat, d
    assert ("Table 1." if lang == "en" else "Tabelle 1.") in flat


def test_languages_do_not_overwrite_each_other(experiment: Path) -> None:
    for fmt in FORMATS:
        en = (experiment / report_name(fmt, "en")).read_bytes()
        de = (experiment / report_name(fmt, "de")).read_bytes()
        assert en != de


def test_run_report(tmp_path: Path) -> None:
    run = tmp_path / "run"
    r = _cli("sim", "world=toy", "replications=2", "workers=1", f"hydra.run.dir={run}",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    r = _cli("sim.cli.report", str(run), "formats=html,docx", f"out={tmp_path / 'o'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["report.docx", "report.html"]
    kpis = pd.read_csv(run / "kpis.csv").set_index("kpi")
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    head = pd.read_html(io.StringIO(html))[0]
    row = head[head.iloc[:, 0].str.startswith("Population coverage, end of 2022")].iloc[0]
    assert _num(str(row.iloc[1]).rstrip("%")) == pytest.approx(
        100 * kpis.loc["population_coverage_2022_12", "median"], abs=0.05)
    params = pd.read_html(io.StringIO(html), match="Every parameter in force")[0]
    effort = params[params.iloc[:, 0] == "development.effort_person_days"].iloc[0]
    assert effort.iloc[2] == "person-days" and effort.iloc[4] == "posterior draw"
    # every chart of the run, in order, and the dashboard-comparable count first
    charts = [p.stem for p in run.glob("*.png")]
    assert html.count("<img") == len(charts) == 6  # coverage, timeline, 2 per Land, 2 maps
    assert head.iloc[0, 0].startswith("Services nationwide as the dashboard counts")
    # in German: the run's charts are redrawn in German for the report, the folder untouched
    r = _cli("sim.cli.report", str(run), "lang=de", "formats=html", f"out={tmp_path / 'o'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.stem for p in run.glob("*.png")) == sorted(charts)
    html_de = (tmp_path / "o" / "report_de.html").read_text(encoding="utf-8")
    assert html_de.count("<img") == 6 and "Leistungen irgendwo online" in html_de


def test_calibration_report(tmp_path: Path) -> None:
    folder = ROOT / "experiments" / "calibration_historical"
    r = _cli("sim.cli.report", str(folder), "lang=de", "formats=html", f"out={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    html = (tmp_path / "report_de.html").read_text(encoding="utf-8")
    params = pd.read_csv(folder / "parameters.csv")
    shown, fit_shown = pd.read_html(io.StringIO(html))[:2]
    assert len(shown) == len(params)
    fit = pd.read_csv(folder / "fit_table.csv")
    assert list(fit_shown.iloc[:, -1] == "ja") == list(fit["in_band"].astype(bool))
    observed = fit_shown.iloc[:, 2].str.replace("\u00a0%", "").map(_num)
    assert np.allclose(observed, 100 * fit["observed"], atol=0.05 + 1e-9)
    patterns = pd.read_csv(folder / "patterns.csv")
    missed = patterns[~patterns["met"].astype(bool)]
    assert len(missed) and all(label in html for label in missed["label"])  # known misfits


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``ozg-sim-report`` in this process (the fixture runs it as a subprocess)."""
    with pytest.raises(SystemExit) as exc:
        report_main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_calibration_folder_with_manifest(tmp_path: Path) -> None:
    """A calibration's own output folder (with its manifest): the calibrated configuration
    is the parameter table, its estimated keys marked calibrated."""
    src = ROOT / "experiments" / "calibration_historical"
    folder = tmp_path / "cal"
    shutil.copytree(src, folder)
    config = {"development": {"effort_person_days": 1047.0, "publication_months": 1.0},
              "seed": 1}
    (folder / "manifest.json").write_text(json.dumps({
        "tool": "ozg-sim-calibrate", "calibration": "historical", "method": "emulator",
        "effective_sample_size": 58.9, "calibrated_config": config,
        "config_hash_calibrated": "0123456789abcdef", "created_utc": "2026-12-05T11:23:58",
        "git_commit": "58ac567c"}), encoding="utf-8")
    report = build_report(folder, "en")
    assert report.title == "Calibration of the scenario 'historical' to the official counts"
    params = next(tb for tb in report.tables() if tb.caption.startswith("Every parameter"))
    calibrated = {r[0]: r[4] for r in params.rows}
    assert calibrated == {"development.effort_person_days": "point estimate",
                          "development.publication_months": "no", "seed": "no"}


@pytest.mark.parametrize("args, message", [
    (["{tmp}"], "is not a run, experiment or calibration folder"),
    (["{tmp}/nothing"], "not a folder"),
    (["{exp}", "lang=fr"], "lang='fr' is not allowed"),
    (["{exp}", "formats=odt"], "formats='odt' is not allowed"),
    (["{exp}", "dates=2040-12"], "dates='2040-12' is not allowed"),
    (["{exp}", "figures=maybe"], "figures='maybe' is not allowed"),
    (["{exp}", "calibration={tmp}"], "is not a run, experiment or calibration folder"),
])
def test_bad_input_exits_2(experiment: Path, tmp_path: Path, args: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main([a.format(tmp=tmp_path, exp=experiment) for a in args]
                         + [f"out={tmp_path}"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert not list(tmp_path.glob("report*"))


def test_damaged_table_exits_2(experiment: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for f in experiment.iterdir():
        if f.is_file() and not f.name.startswith("report"):
            (damaged / f.name).write_bytes(f.read_bytes())
        elif f.is_dir() and f.name != "figures":  # a table's dataset
            shutil.copytree(f, damaged / f.name)
    (damaged / "national" / "point-000000.parquet").write_bytes(b"not parquet")
    code, _, err = _main([str(damaged)], capsys)
    assert code == 2 and "national/point-000000.parquet" in err
    assert not list(damaged.glob("report*"))


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(["--help"], capsys)
    assert code == 0 and "usage: ozg-sim-report" in out


# --------------------------------------------------------------- the declared parameters

MODEL_SECTIONS = {
    "World": "world", "Strategy": "strategy", "Funding": "funding", "Staffing": "staffing",
    "Development": "development", "Sharing frictions": "sharing", "Priority": "priority",
    "Municipal": "municipal", "Municipal IT providers and Land platforms": "providers",
    "Vendor products": "market", "Running costs": "operation", "Observation": "observation",
    "Run control": "", "Land programmes": "state_programmes", "Mechanisms": "mechanisms",
}
#: Funding keys of MODEL.md that are fields of every programme, not of the funding block.
FUNDING_BLOCK_KEYS = ("day_rate_eur",)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def model_md_parameters(text: str) -> list[dict[str, str]]:
    """Rows (key, unit, basis, source) of MODEL.md §8's parameter tables."""
    body = text.split("\n## 8.", 1)[1].split("\n## 9.", 1)[0]
    rows: list[dict[str, str]] = []
    for chunk in body.split("\n### ")[1:]:
        title, _, rest = chunk.partition("\n")
        name = title.split(" (")[0].strip()
        if name not in MODEL_SECTIONS:
            continue
        prefix = MODEL_SECTIONS[name]
        lines = [ln for ln in rest.splitlines() if ln.startswith("|")]
        header = _cells(lines[0])
        if header[0] == "programme":  # Land programmes: one row per programme
            for line in lines[2:]:
                cells = _cells(line)
                source = cells[-1]
                basis = next((p for p in BASIS_PREFIXES
                              if source.startswith(p + ":")), "")
                rows.append({"key": f"{prefix}.{cells[0].strip('`')}", "unit": "",
                             "basis": basis, "source": "; ".join(cells[1:])})
            continue
        unit_col = header.index("unit") if "unit" in header else None
        src_col = len(header) - 1
        modes = [h.lower() for h in header[1:] if h in ("EfA", "EfV")]
        for line in lines[2:]:
            cells = _cells(line)
            names = re.findall(r"`([a-z_0-9]+)`", cells[0])
            if not names:
                continue
            source = cells[src_col]
            basis = next((p for p in BASIS_PREFIXES
                          if source.startswith(p + ":")), "")
            for key in names:
                if prefix == "funding" and key not in FUNDING_BLOCK_KEYS:
                    key = f"programmes.{key}"
                full = [f"{prefix}.{m}.{key}" for m in modes] if modes else \
                       [f"{prefix}.{key}" if prefix else key]
                for k in full:
                    rows.append({"key": k, "unit": cells[unit_col] if unit_col else "",
                                 "basis": basis, "source": source})
    return rows


def test_every_phrase_in_both_languages() -> None:
    assert set(TEXT["en"]) == set(TEXT["de"])


def test_parameter_table_equals_model_md() -> None:
    """sim/report/parameters.csv is MODEL.md §8, row for row. After editing MODEL.md §8,
    regenerate it: ``python tests/test_report.py``."""
    declared = (ROOT / "sim" / "report" / TABLE_FILE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(declared.splitlines()))
    assert tuple(rows[0]) == COLUMNS
    assert rows == model_md_parameters((ROOT / "MODEL.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    with (ROOT / "sim" / "report" / TABLE_FILE).open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(model_md_parameters((ROOT / "MODEL.md").read_text(encoding="utf-8")))
