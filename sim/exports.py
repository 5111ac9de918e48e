"""Exports people open without Python: ``summary.xlsx`` (the key tables and the data of
every figure of a folder, one sheet each) and the Kreis and Land coverage as GeoJSON for GIS.

Both are written from what a run or experiment folder already holds (its CSV tables, the
sidecar CSVs of its figures, its Parquet tables), by pure functions that write into the
folder they are given: the callers (:func:`sim.io.write_run`, the experiment writer) pass
their staging folder, so the files appear only when the folder is complete.

summary.xlsx
------------
One sheet per CSV of the folder and of its ``figures/``: ``key_figures`` (``kpis.csv``) or
``summary`` (an experiment's ``summary.csv``) first, then the other tables (``services``,
an experiment's statistics tables), then one sheet per figure sidecar (a CSV whose first
line is ``# figure: NAME``), read with ``comment="#"`` so that the provenance lines stay out
of the sheets; last a ``provenance`` sheet (key, value): what the folder came from, and for
every sheet the file it holds and the figure it belongs to. German duplicates
(``NAME_de.csv`` beside ``NAME.csv``) are left out: they hold the same data. Numbers are
stored as numbers (a German Excel shows them with decimal commas by itself), dates as real
dates: days as ``yyyy-mm-dd``, month-valued columns (``YYYY-MM`` text in the CSVs, e.g.
``median_date``) as ``yyyy-mm``; "not reached" is an empty cell. Header rows are bold and
frozen. The same inputs give the same bytes (fixed document and archive times).

GeoJSON
-------
``coverage_kreise.geojson`` and ``coverage_laender.geojson``: RFC 7946 feature collections
(longitude/latitude, WGS 84; the embedded VG5000 boundaries are EPSG:4326 already), one
feature per simulated Kreis or Land with its key (``AGS`` or ``land``), ``name``, ``land``,
``population`` and, per map month, ``coverage_YYYY_MM_median``, ``..._q05`` and ``..._q95``
(population coverage across replications). In an experiment's files every design point has
its own columns, prefixed ``p<point>_`` (the member ``points`` names each point's design).
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from sim import bands
from sim.calendar import month_label
from sim.figures.geo import X_SCALE, RegionLevel, region_names, region_polygons, region_states

log = logging.getLogger("ozg-sim")

#: File name of the workbook.
SUMMARY_XLSX = "summary.xlsx"
#: File name of the coverage GeoJSON per region level.
GEOJSON_NAMES: dict[str, str] = {"kreis": "coverage_kreise.geojson",
                                 "land": "coverage_laender.geojson"}
#: Sheet names of the folder's key tables, by CSV file name, in sheet order.
KEY_SHEETS = {"kpis.csv": "key_figures", "summary.csv": "summary"}
#: Header key that marks a figure's sidecar CSV (its first line is ``# figure: NAME``,
#: :func:`sim.figures.save.save_figure`).
SIDECAR_KEY = "figure"
#: Suffix of a German variant of a figure or table, left out when the original is there.
GERMAN_SUFFIX = "_de"
#: Name of the provenance sheet.
PROVENANCE_SHEET = "provenance"
#: Excel's limits: sheet names up to 31 characters without ``[]:*?/\``, and 1,048,576
#: rows (one of them the header).
MAX_SHEET_NAME = 31
MAX_SHEET_ROWS = 1_048_576 - 1
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: Widest column (characters), so a long text column does not push the rest off screen.
MAX_COLUMN_WIDTH = 60
#: Number formats of date cells: a day, and a month (columns of ``YYYY-MM`` text).
DAY_FORMAT, MONTH_FORMAT = "yyyy-mm-dd", "yyyy-mm"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_MONTH = re.compile(r"\d{4}-\d{2}", re.ASCII)
#: Time written into the workbook's properties and archive entries instead of "now", so the
#: same folder gives the same bytes (as the figures do); the earliest time a ZIP can hold.
FIXED_TIME = datetime(1980, 1, 1)
#: Decimals of the GeoJSON coordinates: 1e-5 degrees is about 1 m, the precision of the
#: embedded boundaries (RFC 7946 section 11.2 advises no more than needed).
COORD_DECIMALS = 5
#: Quantiles of the coverage columns of the GeoJSON: the package's outer band.
GEO_QUANTILES = (0.05, 0.95)


# --------------------------------------------------------------------------- summary.xlsx

def sidecar_header(path: Path) -> dict[str, str]:
    """The ``# key: value`` header lines of a CSV (a figure's sidecar: provenance, caption);
    empty for a plain table."""
    meta: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
    return meta


def read_sidecar(path: Path) -> tuple[dict[str, str], pd.DataFrame]:
    """The ``# key: value`` header (:func:`sidecar_header`) and the data of a CSV (a
    figure's sidecar or a plain table, whose header is then empty)."""
    return sidecar_header(path), pd.read_csv(path, comment="#")


def sheet_name(stem: str, taken: set[str]) -> str:
    """An Excel-safe sheet name for ``stem``: forbidden characters replaced, at most 31
    characters, not yet in ``taken`` (compared without case, as Excel does; a clash gets
    ``~2``, ``~3``, ...); added to ``taken``."""
    base = _SHEET_FORBIDDEN.sub("_", stem).strip("'") or "sheet"
    name, n = base[:MAX_SHEET_NAME], 1
    while name.lower() in taken:
        n += 1
        tail = f"~{n}"
        name = base[:MAX_SHEET_NAME - len(tail)] + tail
    taken.add(name.lower())
    return name


def _csv_files(folder: Path) -> list[Path]:
    """The CSVs of ``folder`` and its ``figures/``, German duplicates left out."""
    files = [*sorted(folder.glob("*.csv")), *sorted((folder / "figures").glob("*.csv"))]
    return [p for p in files if not (p.stem.endswith(GERMAN_SUFFIX) and p.with_name(
        p.stem.removesuffix(GERMAN_SUFFIX) + ".csv") in files)]


def summary_sheets(folder: Path) -> tuple[dict[str, pd.DataFrame], list[tuple[str, str]]]:
    """The sheets of a folder's workbook, in order, and the provenance rows that say what
    each sheet holds (module docstring)."""
    folder = Path(folder)
    keys, tables, figures = [], [], []  # (stem, file, data, figure)
    for path in _csv_files(folder):
        meta, df = read_sidecar(path)
        rel = path.relative_to(folder).as_posix()
        if path.parent == folder and path.name in KEY_SHEETS:
            keys.append((KEY_SHEETS[path.name], rel, df, ""))
        elif SIDECAR_KEY in meta:
            figures.append((path.stem, rel, df, meta[SIDECAR_KEY]))
        else:
            tables.append((path.stem, rel, df, ""))
    keys.sort(key=lambda x: list(KEY_SHEETS.values()).index(x[0]))
    sheets: dict[str, pd.DataFrame] = {}
    rows: list[tuple[str, str]] = []
    taken = {PROVENANCE_SHEET}
    for stem, rel, df, figure in [*keys, *tables, *figures]:
        name = sheet_name(stem, taken)
        what = f"{rel}: data of the figure {figure}" if figure else rel
        if len(df) > MAX_SHEET_ROWS:
            rows.append((f"sheet {name}", f"{what}; first {MAX_SHEET_ROWS} of {len(df)} "
                         "rows (Excel's limit), all of them in the CSV"))
            df = df.iloc[:MAX_SHEET_ROWS]
        else:
            rows.append((f"sheet {name}", what))
        sheets[name] = df
    return sheets, rows


def _flat(provenance: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(key, value)`` rows of a nested mapping: dotted keys; numbers stay numbers, lists
    become JSON, a missing value an empty cell."""
    out: list[tuple[str, Any]] = []
    for key, value in pd.json_normalize(dict(provenance), sep=".").iloc[0].items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (str, int, float, np.integer, np.floating, type(None))):
            value = json.dumps(value, default=str, ensure_ascii=False)
        elif isinstance(value, (np.integer, np.floating)):
            value = value.item()
        out.append((str(key), value))
    return out


def _cell_values(series: pd.Series) -> tuple[list[Any], str | None]:
    """Cell values of a column (None for missing) and the number format of its dates:
    columns of ``YYYY-MM-DD`` or ``YYYY-MM`` text (or datetimes) become dates."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.to_pydatetime() for v in series], DAY_FORMAT
    if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
        text = series.dropna().astype(str)
        text = text[text != ""]
        for pattern, fmt, form in ((_DAY, DAY_FORMAT, "%Y-%m-%d"),
                                   (_MONTH, MONTH_FORMAT, "%Y-%m")):
            if len(text) and text.map(lambda s, p=pattern: p.fullmatch(s) is not None).all():
                dates = pd.to_datetime(series.where(series != ""), format=form)
                return [None if pd.isna(v) else v.to_pydatetime() for v in dates], fmt
    values = series.astype(object).where(series.notna(), None).tolist()
    return [None if isinstance(v, float) and not np.isfinite(v) else v for v in values], None


def _write_sheet(wb: Workbook, name: str, df: pd.DataFrame) -> None:
    """One sheet, streamed (a write-only workbook: a large experiment's summary has
    hundreds of thousands of cells, which a workbook held in memory would keep as objects):
    a bold header row, frozen; column widths from the first rows; number formats; text
    that starts with "=" stays text, never a formula."""
    ws = wb.create_sheet(name)
    columns = [_cell_values(df[c]) for c in df.columns]
    for j, (col, (values, fmt)) in enumerate(zip(df.columns, columns, strict=True), start=1):
        sample = [len(str(v)) for v in values[:200] if v is not None and not fmt]
        width = max([len(str(col)), *(sample or [len(fmt or "") or 10])]) + 2
        ws.column_dimensions[get_column_letter(j)].width = min(width, MAX_COLUMN_WIDTH)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for col in df.columns:
        cell = WriteOnlyCell(ws, value=str(col))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    formats = [fmt for _values, fmt in columns]
    for row in zip(*(values for values, _ in columns), strict=True):
        ws.append([_cell(ws, v, fmt) for v, fmt in zip(row, formats, strict=True)])


def _cell(ws: Any, value: Any, fmt: str | None) -> Any:
    """A value as it goes into a write-only sheet: a cell where it needs a format or must
    stay text."""
    text_like_formula = isinstance(value, str) and value.startswith("=")
    if fmt is None and not text_like_formula:
        return value
    cell = WriteOnlyCell(ws, value=value)
    if text_like_formula:
        cell.data_type = "s"
    if fmt is not None:
        cell.number_format = fmt
    return cell


#: The workbook's "last modified" property, which openpyxl sets to "now" when it saves.
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*")


def _fixed_times(data: bytes) -> bytes:
    """The same workbook with every archive entry and its "last modified" property dated
    :data:`FIXED_TIME`."""
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(lambda m: m.group(1) + stamp, body)
            dst.writestr(fixed, body)
    return out.getvalue()


def write_summary_xlsx(folder: Path, provenance: Mapping[str, Any],
                       out: Path | None = None) -> Path:
    """Write ``summary.xlsx`` of a run or experiment folder (module docstring).

    Parameters
    ----------
    folder
        The folder whose CSVs (and ``figures/*.csv``) become sheets.
    provenance
        What the folder came from (tool, config hash, seed, replications, versions, git
        commit, ...); nested mappings become dotted keys of the ``provenance`` sheet.
    out
        Folder to write the workbook into (default ``folder``; a redraw's staging folder).

    Returns
    -------
    Path
        The workbook written.
    """
    folder = Path(folder)
    sheets, what = summary_sheets(folder)
    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "ozg-sim"
    for name, df in sheets.items():
        _write_sheet(wb, name, df)
    _write_sheet(wb, PROVENANCE_SHEET,
                 pd.DataFrame([*_flat(provenance), *what], columns=["key", "value"]))
    buffer = io.BytesIO()
    wb.save(buffer)
    path = Path(out if out is not None else folder) / SUMMARY_XLSX
    path.write_bytes(_fixed_times(buffer.getvalue()))
    return path


# --------------------------------------------------------------------------- GeoJSON

def _geometry(polygons: Sequence[tuple[np.ndarray, ...]]) -> dict[str, Any]:
    """A (Multi)Polygon of longitude/latitude from :func:`sim.figures.geo.region_polygons`
    (projected x undone; its rings already run as RFC 7946 asks: outer counter-clockwise,
    holes clockwise)."""
    def ring(r: np.ndarray) -> list[list[float]]:
        lonlat = np.column_stack([r[:, 0] / X_SCALE, r[:, 1]]).round(COORD_DECIMALS)
        return lonlat.tolist()  # type: ignore[no-any-return]
    parts = [[ring(r) for r in poly] for poly in polygons]
    if len(parts) == 1:
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def coverage_columns(df: pd.DataFrame, key: str, prefix_by: str | None = None
                     ) -> pd.DataFrame:
    """Median and 5/95 % quantiles of ``population_coverage`` across replications, wide:
    one row per region ``key``, columns ``[prefix]coverage_YYYY_MM_{median,q05,q95}`` per
    month (and per value of ``prefix_by``, e.g. ``point``, as prefix ``p<value>_``)."""
    by = [*([prefix_by] if prefix_by else []), key, "month"]
    b = bands.band_table(df, by, "population_coverage", GEO_QUANTILES)
    stats = ["median", *(bands.q_name(q) for q in GEO_QUANTILES)]
    long = b.melt(id_vars=by, value_vars=stats, var_name="stat")
    month = long["month"].map(lambda m: month_label(int(m)).replace("-", "_"))
    prefix = ("p" + long[prefix_by].astype(str) + "_") if prefix_by else ""
    long["column"] = prefix + "coverage_" + month + "_" + long["stat"]
    long["order"] = long["stat"].map(stats.index)
    order = long.sort_values([*by[:-2], "month", "order"], kind="stable")["column"]
    wide = long.pivot(index=key, columns="column", values="value")
    return wide[list(order.drop_duplicates())]


def coverage_geojson(level: RegionLevel, coverage: pd.DataFrame,
                     population: Mapping[str, int],
                     points: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A feature collection of the regions in ``coverage`` (:func:`coverage_columns`,
    indexed by region key), with key, name, Land, population and the coverage columns;
    ``points`` (``p<point>`` -> design) as the collection's member ``points``."""
    names, states, polygons = region_names(level), region_states(level), region_polygons(level)
    features = []
    for key in [k for k in polygons if k in coverage.index]:  # in the order of the key
        row = coverage.loc[key]
        props: dict[str, Any] = {"AGS": key} if level == "kreis" else {}
        props.update({"land": states[key], "name": names[key],
                      "population": int(population[key])})
        props.update({c: (None if pd.isna(v) else float(v)) for c, v in row.items()})
        features.append({"type": "Feature", "properties": props,
                         "geometry": _geometry(polygons[key])})
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if points:
        doc["points"] = dict(points)
    return doc


def write_coverage_geojson(out: Path, by_kreis: pd.DataFrame, by_state: pd.DataFrame,
                           points: pd.DataFrame | None = None) -> list[Path]:
    """Write ``coverage_kreise.geojson`` and ``coverage_laender.geojson`` into ``out``.

    ``by_kreis`` and ``by_state`` are a run's tables, or an experiment's (with ``point``;
    then ``points``, the design table, names each point). The Länder get the months of
    ``by_kreis`` (the map months); a Land's population is that of its simulated Kreise.
    """
    prefix = "point" if points is not None else None
    labels = None
    if points is not None:
        design = [c for c in points.columns if c not in ("point", "config_hash")]
        labels = {f"p{int(r['point'])}": ", ".join(f"{c}={r[c]}" for c in design)
                  for _, r in points.iterrows()}
    pop_k = by_kreis.drop_duplicates("kreis_ags").set_index("kreis_ags")["population"]
    land_of = region_states("kreis")
    pop_l = pop_k.groupby(pop_k.index.map(land_of)).sum()
    months = set(by_kreis["month"].unique())
    states = by_state[by_state["month"].isin(months)]
    written = []
    for level, df, key, pop in (("kreis", by_kreis, "kreis_ags", pop_k),
                                ("land", states, "state", pop_l)):
        doc = coverage_geojson(level, coverage_columns(df, key, prefix),  # type: ignore[arg-type]
                               pop.to_dict(), labels)
        path = Path(out) / GEOJSON_NAMES[level]
        path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
                        encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------- a folder

#: Manifest keys the ``provenance`` sheet repeats, in order (those present).
PROVENANCE_KEYS = ("tool", "experiment", "command", "created_utc", "config_hash", "seed",
                   "replications", "git_commit", "code_version", "package_versions")


def manifest_provenance(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What the ``provenance`` sheet says about a folder, from its ``manifest.json``: the
    :data:`PROVENANCE_KEYS`, an experiment's design points (``point.p<i>``: overrides and
    config hash) and the description of calibrated draws."""
    out: dict[str, Any] = {k: manifest[k] for k in PROVENANCE_KEYS if k in manifest}
    for p in manifest.get("points") or []:
        out[f"point.p{p['point']}"] = {"overrides": p.get("overrides"),
                                       "config_hash": p.get("config_hash")}
    draws = manifest.get("calibrated_draws")
    if isinstance(draws, Mapping) and draws.get("description"):
        out["calibrated_draws"] = draws["description"]
    return out


#: Most design points whose coverage a folder's GeoJSON carries (nine columns per point and
#: region): a large exploration's layer would have tens of thousands of columns per region
#: and would need its whole ``by_state`` table in memory.
GEOJSON_MAX_POINTS = 100


def write_folder_exports(folder: Path, manifest: Mapping[str, Any],
                         tables: Mapping[str, pd.DataFrame] | None = None,
                         out: Path | None = None) -> list[str]:
    """The exports of a run or experiment folder, after its figures: the coverage GeoJSON
    (if ``tables`` has ``by_kreis`` and ``by_state``; an experiment's with its ``points``)
    and ``summary.xlsx`` of the folder's CSVs. Written into ``out`` (default ``folder``, a
    staging folder either way); returns the file names.

    A redraw (``ozg-sim-figures``) refreshes the workbook with ``tables=None`` once the new
    figures are in the folder.
    """
    target = Path(out if out is not None else folder)
    names = []
    points = len(manifest.get("points") or [])
    if points > GEOJSON_MAX_POINTS:
        log.info("coverage GeoJSON left out: %d design points (at most %d; a layer of "
                 "that many columns per region serves no map)", points, GEOJSON_MAX_POINTS)
    elif tables is not None and {"by_kreis", "by_state"} <= set(tables):
        names += [p.name for p in write_coverage_geojson(
            target, tables["by_kreis"], tables["by_state"], tables.get("points"))]
    names.append(write_summary_xlsx(folder, manifest_provenance(manifest), target).name)
    return names


__all__ = [
    "GEOJSON_MAX_POINTS",
    "GEOJSON_NAMES",
    "SUMMARY_XLSX",
    "coverage_columns",
    "coverage_geojson",
    "manifest_provenance",
    "read_sidecar",
    "sheet_name",
    "sidecar_header",
    "summary_sheets",
    "write_coverage_geojson",
    "write_folder_exports",
    "write_summary_xlsx",
]
