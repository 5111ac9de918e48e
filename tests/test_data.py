"""The embedded data load with the documented counts; malformed copies fail with DataError.

Bad-input cases work on a copy of ``sim/data`` in ``tmp_path`` (the loaders' ``data_dir``
argument), change one thing and expect a one-line :class:`~sim.errors.DataError` that names
the file and the column.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from sim import data_io
from sim.errors import DataError
from sim.world import build_world

LOADERS = {
    "states.csv": data_io.load_states,
    "themenfelder.csv": data_io.load_topics,
    "ozg_catalogue_2019.csv": data_io.load_catalogue,
    "gemeinden_zensus2022.csv": data_io.load_municipalities,
    "gemeindeverbaende.csv": data_io.load_verbaende,
    "ozg_history_2018_2022.csv": data_io.load_history,
}


# --------------------------------------------------------------------------- embedded data


@pytest.mark.parametrize("filename", sorted(LOADERS))
def test_every_embedded_file_loads(filename: str) -> None:
    df = LOADERS[filename]()
    assert isinstance(df, pd.DataFrame)
    assert len(df) > 0


def test_embedded_counts() -> None:
    states = data_io.load_states()
    topics = data_io.load_topics()
    cat = data_io.load_catalogue()
    munis = data_io.load_municipalities()
    verb = data_io.load_verbaende()
    assert len(states) == 16
    assert sorted(states["abbr"]) == sorted(data_io.STATE_ABBRS)
    assert states["koenigstein_share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert len(topics) == 14
    assert len(cat) == 557
    assert set(cat["topic"]) == set(topics["topic"])
    assert set(cat["service_type"]) == set(data_io.SERVICE_TYPES)
    assert len(munis) == 10_786
    assert int(munis["population"].sum()) == 82_711_282
    assert len(verb) == 1_207
    # Every municipality belonging to a shared administration names an existing one.
    keys = set(munis.loc[munis["verband_key"] != "", "verband_key"])
    assert keys <= set(verb["verband_key"])
    # Keys keep their leading zeros (read as text): AGS of Schleswig-Holstein start with 01.
    assert munis.loc[munis["state"] == "SH", "ags"].str.startswith("01").all()


def test_administrations_of_full_world(germany_world) -> None:
    s = germany_world.summary()
    assert s["admins"] == 4_396
    assert s["municipalities"] == 10_786
    assert s["population"] == 82_711_282
    # 1,207 shared administrations + the municipalities that belong to none.
    munis = data_io.load_municipalities()
    independent = int((munis["verband_key"] == "").sum())
    assert s["admins"] == 1_207 + independent
    assert germany_world.admins["admin_key"].is_unique


# --------------------------------------------------------------------------- bad inputs


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of the embedded data folder."""
    dst = tmp_path / "data"
    shutil.copytree(data_io.DATA_DIR, dst)
    return dst


def _edit(path: Path, change: Callable[[list[str], list[list[str]]], None]) -> None:
    """Rewrite a CSV after ``change(header, rows)`` edited it in place (text kept as is)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    change(header, body)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])


def _set(column: str, row: int, value: str) -> Callable[[list[str], list[list[str]]], None]:
    def change(header: list[str], body: list[list[str]]) -> None:
        body[row][header.index(column)] = value
    return change


def _drop_column(column: str) -> Callable[[list[str], list[list[str]]], None]:
    def change(header: list[str], body: list[list[str]]) -> None:
        i = header.index(column)
        del header[i]
        for r in body:
            del r[i]
    return change


def _duplicate_row(row: int) -> Callable[[list[str], list[list[str]]], None]:
    def change(header: list[str], body: list[list[str]]) -> None:
        body.append(list(body[row]))
    return change


BAD_INPUTS = [
    # id, file, change, column named in the message, further text the message must contain
    ("missing_column", "gemeinden_zensus2022.csv", _drop_column("population"), "population",
     "missing column"),
    ("missing_column_states", "states.csv", _drop_column("koenigstein_2016_pct"),
     "koenigstein_2016_pct", "missing column"),
    ("duplicate_key", "ozg_catalogue_2019.csv", _duplicate_row(5), "ozg_id", "duplicate"),
    ("duplicate_state", "states.csv", _duplicate_row(3), "abbr", "duplicate"),
    ("non_numeric", "ozg_catalogue_2019.csv", _set("n_leika", 9, "many"), "n_leika",
     "'many' (line 11)"),
    ("non_numeric_population", "gemeinden_zensus2022.csv", _set("population", 0, "12k"),
     "population", "'12k' (line 2)"),
    ("bad_state_abbr", "gemeinden_zensus2022.csv", _set("state_abbr", 99, "XX"), "state_abbr",
     "'XX' (line 101)"),
    ("bad_state_abbr_verband", "gemeindeverbaende.csv", _set("state_abbr", 0, "Bayern"),
     "state_abbr", "'Bayern'"),
    ("bad_lead_state", "themenfelder.csv", _set("lead_states", 2, "ST;XY"), "lead_states",
     "'ST;XY'"),
    ("bad_service_type", "ozg_catalogue_2019.csv", _set("dominant_type", 0, "6"),
     "dominant_type", "'6'"),
    ("non_positive_population", "gemeinden_zensus2022.csv", _set("population", 4, "0"),
     "population", "> 0"),
]


@pytest.mark.parametrize(("filename", "change", "column", "text"),
                         [pytest.param(*c[1:], id=c[0]) for c in BAD_INPUTS])
def test_malformed_file_raises_data_error(data_copy: Path, filename: str, change, column: str,
                                          text: str) -> None:
    _edit(data_copy / filename, change)
    with pytest.raises(DataError) as info:
        LOADERS[filename](data_copy)
    msg = str(info.value)
    assert filename in msg
    assert column in msg
    assert text in msg
    assert "\n" not in msg


@pytest.mark.parametrize("filename", sorted(LOADERS))
def test_missing_file_raises_data_error(data_copy: Path, filename: str) -> None:
    (data_copy / filename).unlink()
    with pytest.raises(DataError, match="is missing") as info:
        LOADERS[filename](data_copy)
    assert filename in str(info.value)


def test_missing_file_fails_build_world(data_copy: Path) -> None:
    (data_copy / "gemeindeverbaende.csv").unlink()
    with pytest.raises(DataError, match=r"gemeindeverbaende\.csv is missing"):
        build_world(data_dir=data_copy)


def test_unknown_verband_key_raises_data_error(data_copy: Path) -> None:
    # The file-level check passes (9 digits); only the cross-file check can catch it.
    _edit(data_copy / "gemeinden_zensus2022.csv", _set("verband_key", 7, "999999999"))
    assert len(data_io.load_municipalities(data_copy)) == 10_786
    with pytest.raises(DataError) as info:
        build_world(data_dir=data_copy)
    msg = str(info.value)
    assert "gemeinden_zensus2022.csv" in msg
    assert "verband_key" in msg
    assert "999999999" in msg
    assert "gemeindeverbaende.csv" in msg


def test_malformed_verband_key_raises_data_error(data_copy: Path) -> None:
    _edit(data_copy / "gemeinden_zensus2022.csv", _set("verband_key", 7, "12345"))
    with pytest.raises(DataError, match=r"gemeinden_zensus2022.csv: column verband_key"):
        data_io.load_municipalities(data_copy)


def test_unknown_topic_in_catalogue_raises_data_error(data_copy: Path) -> None:
    _edit(data_copy / "ozg_catalogue_2019.csv", _set("themenfeld", 0, "Raumfahrt"))
    with pytest.raises(DataError) as info:
        build_world(data_dir=data_copy)
    assert "ozg_catalogue_2019.csv" in str(info.value)
    assert "themenfeld" in str(info.value)
    assert "Raumfahrt" in str(info.value)


def test_unchanged_copy_builds_the_same_world(data_copy: Path, germany_world) -> None:
    # Guards the bad-input tests: the copy itself is fine, so each failure is the edit's.
    w = build_world(data_dir=data_copy)
    assert w.summary() == germany_world.summary()
