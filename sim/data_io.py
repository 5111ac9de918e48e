"""Loaders for the embedded data files in ``sim/data`` (sources: ``sim/data/SOURCES.md``).

Every loader validates what it reads (file present, required columns, unique keys, allowed
values, ranges) and raises :class:`~sim.errors.DataError` with a one-line message naming the
file, the column and the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from sim.errors import DataError

#: Folder of the embedded data (copied from the project's shared data; see SOURCES.md).
DATA_DIR = Path(__file__).resolve().parent / "data"

STATE_ABBRS = ("SH", "HH", "NI", "HB", "NW", "HE", "RP", "BW",
               "BY", "SL", "BE", "BB", "MV", "SN", "ST", "TH")
SERVICE_TYPES = ("1", "2/3", "4/5")


def _read(data_dir: Path, filename: str, columns: dict[str, str]) -> pd.DataFrame:
    path = Path(data_dir) / filename
    if not path.is_file():
        raise DataError(f"data file {path} is missing")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{filename}: cannot be parsed as CSV ({exc.__class__.__name__})") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{filename}: missing column(s) {', '.join(missing)}")
    out = df[list(columns)].copy()
    for col, kind in columns.items():
        if kind == "str":
            continue
        raw = out[col].str.strip()
        if kind == "str?":
            out[col] = raw
            continue
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & (raw != "" if kind.endswith("?") else True)
        if bad.any():
            row = int(bad.idxmax()) + 2
            raise DataError(
                f"{filename}: column {col} has non-numeric value {raw[bad].iloc[0]!r} (line {row})"
            )
        out[col] = values.astype("int64") if kind == "int" else values.astype(float)
    return out


def _check(df: pd.DataFrame, filename: str, col: str, ok: pd.Series, allowed: str) -> None:
    if not bool(ok.all()):
        bad = df.loc[~ok, col].iloc[0]
        line = int((~ok).idxmax()) + 2
        raise DataError(
            f"{filename}: column {col} has value {bad!r} (line {line}); allowed {allowed}")


def _unique(df: pd.DataFrame, filename: str, col: str) -> None:
    dup = df[col].duplicated()
    if dup.any():
        raise DataError(f"{filename}: duplicate {col} {df.loc[dup, col].iloc[0]!r}")


def _nonempty(df: pd.DataFrame, filename: str) -> None:
    if df.empty:
        raise DataError(f"{filename}: has no data rows")


def _in(values: Iterable[str]) -> Callable[[pd.Series], pd.Series]:
    allowed = set(values)
    return lambda s: s.isin(allowed)


def load_states(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """The 16 Länder: ``abbr, name, ags, population_2020, koenigstein_share``.

    ``koenigstein_share`` is the Königsteiner Schlüssel 2016 as a fraction (sums to 1).
    """
    f = "states.csv"
    df = _read(data_dir, f, {"ags": "str", "name": "str", "abbr": "str",
                             "population_2020": "int", "koenigstein_2016_pct": "float"})
    _nonempty(df, f)
    _check(df, f, "abbr", _in(STATE_ABBRS)(df["abbr"]), "one of " + ",".join(STATE_ABBRS))
    _unique(df, f, "abbr")
    _unique(df, f, "ags")
    _check(df, f, "population_2020", df["population_2020"] > 0, "> 0")
    _check(df, f, "koenigstein_2016_pct", df["koenigstein_2016_pct"].between(0, 100), "[0, 100]")
    total = df["koenigstein_2016_pct"].sum()
    if len(df) == len(STATE_ABBRS) and abs(total - 100.0) > 0.01:
        raise DataError(f"{f}: column koenigstein_2016_pct sums to {total:.4f}; allowed 100 ± 0.01")
    df["koenigstein_share"] = df["koenigstein_2016_pct"] / total
    return df.drop(columns="koenigstein_2016_pct").reset_index(drop=True)


def load_topics(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """The 14 topic fields: ``topic, lead_ministry, lead_states`` (tuple of abbrs, may be empty)."""
    f = "themenfelder.csv"
    df = _read(data_dir, f, {"themenfeld": "str", "lead_ministry": "str", "lead_states": "str",
                             "lead_confidence": "str"})
    _nonempty(df, f)
    _unique(df, f, "themenfeld")
    leads = df["lead_states"].str.strip().apply(
        lambda s: tuple(x.strip() for x in s.split(";") if x.strip()))
    ok = leads.apply(lambda t: all(x in STATE_ABBRS for x in t))
    _check(df, f, "lead_states", ok, "';'-separated Land abbreviations or empty")
    return pd.DataFrame({"topic": df["themenfeld"], "lead_ministry": df["lead_ministry"],
                         "lead_states": leads, "lead_confidence": df["lead_confidence"]})


def load_catalogue(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """The OZG catalogue (557 services): ``ozg_id, name, topic, n_leika, service_type``."""
    f = "ozg_catalogue_2019.csv"
    df = _read(data_dir, f, {"ozg_id": "int", "name": "str", "themenfeld": "str",
                             "n_leika": "int", "dominant_type": "str"})
    _nonempty(df, f)
    _unique(df, f, "ozg_id")
    _check(df, f, "n_leika", df["n_leika"] >= 1, ">= 1")
    _check(df, f, "dominant_type", _in(SERVICE_TYPES)(df["dominant_type"]), "1, 2/3 or 4/5")
    return df.rename(columns={"themenfeld": "topic", "dominant_type": "service_type"})


def load_municipalities(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """All municipalities (Zensus 2022).

    Columns ``ags, name, state, kreis_ags, verband_key, population``.
    """
    f = "gemeinden_zensus2022.csv"
    df = _read(data_dir, f, {"ags": "str", "name": "str", "state_abbr": "str",
                             "kreis_ags": "str", "verband_key": "str?", "population": "int"})
    _nonempty(df, f)
    _unique(df, f, "ags")
    _check(df, f, "ags", df["ags"].str.fullmatch(r"\d{8}"), "8 digits")
    _check(df, f, "state_abbr", _in(STATE_ABBRS)(df["state_abbr"]), "a Land abbreviation")
    _check(df, f, "population", df["population"] > 0, "> 0")
    ok = (df["verband_key"] == "") | df["verband_key"].str.fullmatch(r"\d{9}")
    _check(df, f, "verband_key", ok, "9 digits or empty")
    return df.rename(columns={"state_abbr": "state"})


def load_verbaende(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """Shared municipal administrations: ``verband_key, name, verband_type, state``."""
    f = "gemeindeverbaende.csv"
    df = _read(data_dir, f, {"verband_key": "str", "name": "str", "verband_type": "str",
                             "state_abbr": "str", "member_count": "int"})
    _nonempty(df, f)
    _unique(df, f, "verband_key")
    _check(df, f, "state_abbr", _in(STATE_ABBRS)(df["state_abbr"]), "a Land abbreviation")
    _check(df, f, "member_count", df["member_count"] >= 1, ">= 1")
    return df.rename(columns={"state_abbr": "state"})


def load_channels(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """Municipal roll-out channels (municipal IT providers and Land platforms), one row
    per Land and channel (``municipal_rollout.csv``): ``state, channel, n_bodies`` (separate
    bodies that each take a service), ``share_low, share_central, share_high`` (share of
    the Land's municipal administrations the channel reaches), ``operational_from``
    (``YYYY-MM``)."""
    f = "municipal_rollout.csv"
    df = _read(data_dir, f, {"state": "str", "channel": "str", "n_bodies": "int",
                             "share_low": "float", "share_central": "float",
                             "share_high": "float", "operational_from": "str"})
    _nonempty(df, f)
    _check(df, f, "state", _in(STATE_ABBRS)(df["state"]), "a Land abbreviation")
    _check(df, f, "n_bodies", df["n_bodies"] >= 1, ">= 1")
    for col in ("share_low", "share_central", "share_high"):
        _check(df, f, col, df[col].between(0, 1), "a share in [0, 1]")
    _check(df, f, "share_central", (df["share_low"] <= df["share_central"])
           & (df["share_central"] <= df["share_high"]), "low <= central <= high")
    _check(df, f, "operational_from", df["operational_from"].str.fullmatch(r"\d{4}-\d{2}"),
           "YYYY-MM")
    return df


#: Kinds of source of an observed figure (``source_kind`` of the history file); each has
#: its own definition and error in the calibration (MODEL.md 7.10).
SOURCE_KINDS = ("dashboard", "dashboard_land", "nkr", "government", "press", "derived", "law")


def load_history(data_dir: Path = DATA_DIR, parse_dates: bool = True) -> pd.DataFrame:
    """Observed rollout figures up to 2022: ``date, geo, metric, value, definition_or_note,
    source, source_kind``; ``date`` as a timestamp, or as written (``YYYY-MM`` or
    ``YYYY-MM-DD``) with ``parse_dates=False``."""
    f = "ozg_history_2018_2022.csv"
    df = _read(data_dir, f, {"date": "str", "geo": "str", "metric": "str", "value": "float",
                             "definition_or_note": "str", "source": "str",
                             "source_kind": "str"})
    dates = pd.to_datetime(df["date"], format="mixed", errors="coerce")
    _check(df, f, "date", dates.notna(), "YYYY-MM or YYYY-MM-DD")
    _check(df, f, "source_kind", _in(SOURCE_KINDS)(df["source_kind"]),
           "one of " + ", ".join(SOURCE_KINDS))
    if parse_dates:
        df["date"] = dates
    return df
