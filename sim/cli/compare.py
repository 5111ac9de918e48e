"""``ozg-sim-compare``: put any set of run or sweep folders side by side.

    ozg-sim-compare FOLDER [FOLDER ...] [out=DIR] [lang=de]

Each folder is an ``ozg-sim`` run (one configuration) or an ``ozg-sim-experiment`` folder
(one design point per configuration). Every configuration becomes one ``source`` labelled
by its folder and design values; the output folder (default
``outputs/compare/<timestamp>``) gets ``national.parquet`` and ``kpis.parquet`` with a
``source`` column, ``summary.csv`` (KPI intervals per source) and a fan chart of population
coverage and of nationwide services per source. The folder appears only when complete.

Every input folder is checked before anything is written (:func:`sim.outputs.read_folder`):
a missing or damaged ``manifest.json`` or table, or a configuration with fewer than
:data:`sim.figures.tables.MIN_REPLICATIONS_PER_CHART` replications, prints one line naming
the file and exits with code 2, as does an ``out=`` that cannot be written; a write that
fails later (full disk) one line and exit code 3.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from sim import stats
from sim.cli.common import CommandLine, Option, fail, fail_io, interrupted
from sim.errors import ConfigError, DataError
from sim.figures.charts import fan_figure
from sim.figures.labels import Lang
from sim.figures.save import save_figure
from sim.figures.tables import MIN_REPLICATIONS_PER_CHART
from sim.io import OutputError, check_writable, staged_folder, timestamp
from sim.outputs import read_folder

TOOL = "ozg-sim-compare"
KEY_KPIS = ("population_coverage_2022_12", "nationwide_share_2022_12",
            "months_to_50pct_population_coverage", "months_to_90pct_population_coverage",
            "spent_eur_programmes")
COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} FOLDER [FOLDER ...] [out=DIR] [lang=en|de]",
    "Put run and experiment folders side by side: tables with a source column, KPI "
    "intervals per source, fan charts.",
    positional=("FOLDER ...", "ozg-sim run or ozg-sim-experiment folders (a name with = is "
                              "a folder if it exists, or after --)"),
    options={"out": Option("DIR", "output folder (default: outputs/compare/<timestamp>)"),
             "lang": Option("en|de", "language of the charts (default: en)")})


def load_folder(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``national`` and ``kpis`` of one folder, with a ``source`` label per configuration.

    Raises
    ------
    DataError
        If the folder is damaged (:func:`sim.outputs.read_folder`), has no KPI table, or
        a configuration has fewer than :data:`MIN_REPLICATIONS_PER_CHART` replications.
    """
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder: a run or experiment folder is needed")
    man, tables = read_folder(folder, ("national", "kpis", "kpis_by_replication", "points"))
    if "sensitivity" in man:
        raise DataError(f"{folder}: a sensitivity folder has no runs over time to compare")
    nat = tables["national"]
    kp_name = "kpis" if man["tool"] == "ozg-sim-experiment" else "kpis_by_replication"
    if kp_name not in tables:
        raise DataError(f"{folder / (kp_name + '.parquet')}: missing: the folder's key "
                        "figures are needed")
    kp = tables[kp_name]
    name = folder.name
    if man["tool"] == "ozg-sim-experiment":
        if "points" not in tables:
            raise DataError(f"{folder / 'points.parquet'}: missing: the design is needed")
        design = [c for c in tables["points"].columns if c not in ("point", "config_hash")]
        absent = [c for c in design if c not in nat.columns]
        if absent:
            raise DataError(f"{folder / 'national.parquet'}: design column(s) {absent} "
                            "missing")
        varying = [c for c in design if nat[c].nunique() > 1] or design[:1]

        def label(df: pd.DataFrame) -> pd.Series:
            parts = [df[c].astype(str) for c in varying]
            joined = parts[0].str.cat(parts[1:], sep=", ") if len(parts) > 1 else parts[0]
            return f"{man.get('experiment')}: " + joined

        nat = nat.assign(source=label(nat))
        kp = kp.assign(source=label(kp))
    else:
        cfg = man.get("config", {})
        src = (f"{name}: {cfg.get('strategy', {}).get('name')}, "
               f"{cfg.get('funding', {}).get('name')}")
        nat = nat.assign(source=src)
        kp = kp.assign(source=src)
    n = nat.groupby("source")["replication"].nunique()
    if len(n) and n.min() < MIN_REPLICATIONS_PER_CHART:
        raise DataError(f"{folder}: {n.idxmin()!r} has {int(n.min())} replication(s); a "
                        f"comparison needs at least {MIN_REPLICATIONS_PER_CHART} per "
                        "configuration (its charts show bands across replications)")
    return nat, kp


def compare(folders: list[Path], out: Path, lang: str = "en") -> Path:
    nats, kps = [], []
    for f in folders:
        n, k = load_folder(Path(f))
        nats.append(n)
        kps.append(k)
    cols = ["source", "replication", "month", "date", "online_anywhere", "nationwide",
            "nationwide_share", "population_coverage", "n_services"]
    nat = pd.concat([n[cols] for n in nats], ignore_index=True)
    kp = pd.concat(kps, ignore_index=True)
    if nat.duplicated(["source", "replication", "month"]).any():
        raise ConfigError("two inputs have the same label: compare distinct folders")
    kpi_cols = [k for k in KEY_KPIS if k in kp.columns]
    summary = pd.concat([stats.summarise(kp, by=["source"], value=k).assign(kpi=k)
                         for k in kpi_cols], ignore_index=True)
    prov = {"inputs": ";".join(str(Path(f).resolve()) for f in folders)}
    lg: Lang = "de" if lang == "de" else "en"
    # Into an existing folder file by file, else as a new folder; complete or not at all.
    with (staged_folder(out) if out.is_dir() else staged_folder(out.parent, out.name)) as st:
        nat.to_parquet(st.path / "national.parquet", index=False)
        kp[["source", "replication", *kpi_cols]].to_parquet(st.path / "kpis.parquet",
                                                            index=False)
        summary.to_csv(st.path / "summary.csv", index=False, float_format="%.6g")
        for value in ("population_coverage", "nationwide_share"):
            fig, data = fan_figure(nat, by="source", value=value, lang=lg, title="Comparison")
            save_figure(fig, st.path / "figures", f"fan_{value}", data, prov)
    out = st.final
    return out


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cmd = COMMAND_LINE.parse(args)
        folders, opts = [Path(a) for a in cmd.positionals], cmd.options
        if not folders:
            raise ConfigError(f"usage: {COMMAND_LINE.usage} (see --help)")
        out = Path(opts.get("out") or Path("outputs/compare") / timestamp())
        check_writable(out, "out")
        done = compare(folders, out, opts.get("lang", "en"))
    except KeyboardInterrupt:
        interrupted(TOOL)
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    print(f"outputs: {done}")


if __name__ == "__main__":
    main()
