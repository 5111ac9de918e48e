"""Exports people open: ``summary.xlsx`` and the coverage GeoJSON of run and experiment
folders, the YYYY-MM columns of the key figures and the run's headline line."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import TOY, make_config
from openpyxl import load_workbook

from sim.calendar import month_index, month_label
from sim.cli import experiment
from sim.cli.figures import redraw
from sim.exports import (
    GEOJSON_NAMES,
    MAX_SHEET_NAME,
    SUMMARY_XLSX,
    sheet_name,
    summary_sheets,
    write_summary_xlsx,
)
from sim.figures.run import draw_run_figures
from sim.io import write_run
from sim.metrics import headline
from sim.provenance import run_provenance
from sim.runner import run_replications
from sim.world import build_world

TINY_SPEC = """name: tiny
title: tiny
replications: 2
design:
  grid:
    strategy: [efa, efv]
figures: [fan]
"""


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy run folder with three replications and its chart, written as ``ozg-sim`` does."""
    cfg = make_config(world=TOY, replications=3)
    world = build_world(cfg.world)
    results = run_replications(world, cfg, 1)
    out = tmp_path_factory.mktemp("run") / "run"
    write_run(out, cfg, world, results, 0.0,
              figures=lambda d: draw_run_figures(d, "toy", "", run_provenance(cfg)))
    return out


@pytest.fixture(scope="module")
def experiment_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sweep")
    spec = base / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    experiment.main([str(spec), "world=toy", "workers=1", f"out={base / 'out'}",
                     "--no-cache"])
    (folder,) = (base / "out" / "tiny").iterdir()
    return folder


def _sheet(path: Path, name: str) -> pd.DataFrame:
    ws = load_workbook(path)[name]
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _month_of(value: object) -> str:
    return "" if pd.isna(value) else value.strftime("%Y-%m")  # type: ignore[attr-defined]


def test_kpis_csv_leads_with_the_reported_count_and_dates_its_months(run_folder: Path) -> None:
    k = pd.read_csv(run_folder / "kpis.csv", keep_default_na=False, na_values=[""])
    assert k["kpi"].iloc[0] == "nationwide_reported_2022_12"
    assert k["definition"].str.len().min() > 10  # every key figure says what it counts
    months = k[k["kpi"].str.startswith("months_to_")]
    assert len(months) == 6
    for stat in ("median", "q05", "q95"):
        for value, date in zip(months[stat], months[f"{stat}_date"], strict=True):
            if np.isfinite(value):
                assert date == month_label(int(np.floor(value)))
                assert month_index(date) <= value < month_index(date) + 1
            else:
                assert pd.isna(date)  # not reached: empty, n_reached tells
    assert k.loc[~k["kpi"].str.startswith("months_to_"), "median_date"].isna().all()


def test_headline_leads_with_the_reported_count(run_folder: Path) -> None:
    k = pd.read_csv(run_folder / "kpis.csv")
    line = headline(k)
    reported = k.set_index("kpi").loc["nationwide_reported_2022_12", "median"]
    assert line.startswith(f"at 2022-12-31 (median of 3 replications): {reported:g} services "
                           "nationwide as the OZG dashboard counts them (nationwide_reported")
    assert line.index("nationwide_reported") < line.index("online_anywhere") < line.index(
        "strict sense")


def test_run_workbook_holds_the_csvs_as_numbers(run_folder: Path) -> None:
    path = run_folder / SUMMARY_XLSX
    wb = load_workbook(path)
    taken: set[str] = {"key_figures", "services"}
    figures = [sheet_name(p.stem, taken) for p in sorted(run_folder.glob("*.csv"))
               if p.stem not in ("kpis", "services") and not p.stem.endswith("_de")]
    assert wb.sheetnames == ["key_figures", "services", *figures, "provenance"]
    assert "coverage" in figures and "map_kreis" in figures
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and ws.cell(1, 1).font.bold
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and v.startswith("#") for v in row), ws.title
    key = _sheet(path, "key_figures")
    csv = pd.read_csv(run_folder / "kpis.csv")
    assert list(key.columns) == list(csv.columns)
    for col in ("mean", "median", "q05", "q95", "n_reached"):
        got = key[col].to_numpy(dtype=float)
        assert all(v is None or isinstance(v, (int, float)) for v in key[col])
        np.testing.assert_array_equal(got, csv[col].to_numpy(dtype=float))
    for stat in ("median", "q05", "q95"):  # YYYY-MM text becomes a month-formatted date
        assert [_month_of(v) for v in key[f"{stat}_date"]] == \
            csv[f"{stat}_date"].fillna("").tolist()
    cov = _sheet(path, "coverage")
    side = pd.read_csv(run_folder / "coverage.csv", comment="#")
    assert list(cov.columns) == list(side.columns)
    # equal to the last bit Excel keeps (15 significant digits)
    np.testing.assert_allclose(cov["median"].to_numpy(dtype=float),
                               side["median"].to_numpy(dtype=float), rtol=1e-15, atol=0)
    assert all(isinstance(v, datetime) for v in cov["date"])
    assert [v.strftime("%Y-%m-%d") for v in cov["date"]] == side["date"].tolist()
    prov = _sheet(path, "provenance").set_index("key")["value"]
    man = json.loads((run_folder / "manifest.json").read_text())
    assert prov["config_hash"] == man["config_hash"]
    assert prov["seed"] == man["seed"] and prov["git_commit"] == man["git_commit"]
    assert prov["sheet coverage"] == "coverage.csv: data of the figure coverage"
    assert SUMMARY_XLSX in man["exports"]


def test_the_workbook_is_the_same_bytes_for_the_same_folder(run_folder: Path,
                                                           tmp_path: Path) -> None:
    write_summary_xlsx(run_folder, {"tool": "ozg-sim"}, tmp_path)
    first = (tmp_path / SUMMARY_XLSX).read_bytes()
    time.sleep(1.1)  # the clock's second must not show in the file
    write_summary_xlsx(run_folder, {"tool": "ozg-sim"}, tmp_path)
    assert (tmp_path / SUMMARY_XLSX).read_bytes() == first


def _check_feature_collection(doc: dict) -> None:
    assert doc["type"] == "FeatureCollection" and doc["features"]
    assert "crs" not in doc  # RFC 7946: WGS 84 longitude/latitude, no crs member
    for f in doc["features"]:
        assert f["type"] == "Feature" and f["properties"]
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        assert g["type"] in ("Polygon", "MultiPolygon") and polys
        for rings in polys:
            for i, ring in enumerate(rings):
                r = np.asarray(ring)
                assert len(r) >= 4 and (r[0] == r[-1]).all()
                assert ((5 < r[:, 0]) & (r[:, 0] < 16) & (47 < r[:, 1]) & (r[:, 1] < 56)).all()
                area = 0.5 * np.sum(r[:-1, 0] * r[1:, 1] - r[1:, 0] * r[:-1, 1])
                assert (area > 0) == (i == 0)  # right-hand rule: outer ring anticlockwise


def test_run_geojson_equals_the_medians_of_the_tables(run_folder: Path) -> None:
    kreise = json.loads((run_folder / GEOJSON_NAMES["kreis"]).read_text(encoding="utf-8"))
    laender = json.loads((run_folder / GEOJSON_NAMES["land"]).read_text(encoding="utf-8"))
    _check_feature_collection(kreise)
    _check_feature_collection(laender)
    by_kreis = pd.read_parquet(run_folder / "by_kreis.parquet")
    by_state = pd.read_parquet(run_folder / "by_state.parquet")
    assert {f["properties"]["AGS"] for f in kreise["features"]} == set(by_kreis["kreis_ags"])
    assert {f["properties"]["land"] for f in laender["features"]} == set(by_state["state"])
    for m in by_kreis["month"].unique():
        col = f"coverage_{month_label(m).replace('-', '_')}"
        k = by_kreis[by_kreis["month"] == m].groupby("kreis_ags")["population_coverage"]
        s = by_state[by_state["month"] == m].groupby("state")["population_coverage"]
        for f in kreise["features"]:
            p = f["properties"]
            v = k.get_group(p["AGS"]).to_numpy()
            assert p[f"{col}_median"] == pytest.approx(np.median(v), abs=1e-12)
            assert p[f"{col}_q05"] == pytest.approx(np.quantile(v, 0.05), abs=1e-12)
            assert p[f"{col}_q95"] == pytest.approx(np.quantile(v, 0.95), abs=1e-12)
        for f in laender["features"]:
            p = f["properties"]
            assert p[f"{col}_median"] == pytest.approx(np.median(s.get_group(p["land"])))
    pop = by_kreis.drop_duplicates("kreis_ags").set_index("kreis_ags")["population"]
    assert sum(f["properties"]["population"] for f in laender["features"]) == pop.sum()


def test_experiment_folder_exports(experiment_folder: Path) -> None:
    wb = load_workbook(experiment_folder / SUMMARY_XLSX)
    assert wb.sheetnames[0] == "summary" and wb.sheetnames[-1] == "provenance"
    assert "fan_population_coverage" in wb.sheetnames
    summary = pd.read_csv(experiment_folder / "summary.csv")
    assert {"median_date", "q05_date", "q95_date", "definition"} <= set(summary.columns)
    sheet = _sheet(experiment_folder / SUMMARY_XLSX, "summary")
    assert [_month_of(v) for v in sheet["median_date"]] == \
        summary["median_date"].fillna("").tolist()
    prov = _sheet(experiment_folder / SUMMARY_XLSX, "provenance").set_index("key")["value"]
    assert prov["experiment"] == "tiny" and "point.p1.config_hash" in prov.index
    doc = json.loads((experiment_folder / GEOJSON_NAMES["kreis"]).read_text(encoding="utf-8"))
    _check_feature_collection(doc)
    assert doc["points"] == {"p0": "strategy=efa, funding=historical",
                             "p1": "strategy=efv, funding=historical"}
    props = doc["features"][0]["properties"]
    assert {"p0_coverage_2022_12_median", "p1_coverage_2022_12_q95"} <= set(props)


def test_sheets_of_a_folder_skip_german_duplicates_and_name_figures(tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    (tmp_path / "summary.csv").write_text("kpi,median\na,1.5\n")
    side = "# figure: {0}\n# seed: 1\nx,y\n1,=SUM(A1)\n"
    long = "difference_population_coverage_konjunkturpaket"
    for stem in ("fan", "fan_de", long, long + "_none", "only_de"):
        (tmp_path / "figures" / f"{stem}.csv").write_text(side.format(stem))
    (tmp_path / "figures" / "paired_differences.csv").write_text("a,b\n1,2\n")
    sheets, rows = summary_sheets(tmp_path)
    names = list(sheets)
    assert names[:2] == ["summary", "paired_differences"]
    assert "fan_de" not in names and "only_de" in names  # a German variant alone stays
    assert all(len(n) <= MAX_SHEET_NAME for n in names) and len(set(names)) == len(names)
    assert dict(rows)["sheet fan"] == "figures/fan.csv: data of the figure fan"
    assert list(sheets["fan"].columns) == ["x", "y"]  # the comment lines are not data
    write_summary_xlsx(tmp_path, {"tool": "test"})
    ws = load_workbook(tmp_path / SUMMARY_XLSX)["fan"]
    assert ws["B2"].value == "=SUM(A1)" and ws["B2"].data_type == "s"  # text, no formula


def test_sheet_names_are_excel_safe() -> None:
    taken: set[str] = set()
    assert sheet_name("a/b:c", taken) == "a_b_c"
    assert sheet_name("A/B:C", taken) == "A_B_C~2"  # Excel compares without case
    long = [sheet_name("x" * 40, taken) for _ in range(3)]
    assert long == ["x" * 31, "x" * 29 + "~2", "x" * 29 + "~3"]


def test_a_redraw_writes_the_workbook_again_with_the_new_figures(
        experiment_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(experiment_folder, folder)
    (folder / SUMMARY_XLSX).unlink()
    redraw(folder, "de")
    wb = load_workbook(folder / SUMMARY_XLSX)
    assert "fan_population_coverage" in wb.sheetnames  # the English data, not both languages
    assert not any(name.endswith("_de") for name in wb.sheetnames)
    assert (folder / "figures" / "fan_population_coverage_de.png").is_file()
