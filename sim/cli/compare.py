"""``ozg-sim-compare``: put any set of run or sweep folders side by side.

    ozg-sim-compare FOLDER [FOLDER ...] [out=DIR] [lang=de]

Each folder is an ``ozg-sim`` run (one configuration) or an ``ozg-sim-experiment`` folder
(one design point per configuration). Every configuration becomes one ``source`` labelled
by its folder and design values; the output folder (default
``outputs/compare/<timestamp>``) gets ``national.parquet`` and ``kpis.parquet`` with a
``source`` column, ``summary.csv`` (KPI intervals per source) and a fan chart of population
coverage and of nationwide services per source. The folder appears only when complete.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from sim import stats
from sim.cli.common import fail, split_cli_args
from sim.errors import ConfigError
from sim.figures.charts import fan_figure
from sim.figures.labels import Lang
from sim.figures.save import save_figure
from sim.io import staged_folder, timestamp

TOOL = "ozg-sim-compare"
KEY_KPIS = ("population_coverage_2022_12", "nationwide_share_2022_12",
            "months_to_50pct_population_coverage", "months_to_90pct_population_coverage",
            "spent_eur_programmes")


def load_folder(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``national`` and ``kpis`` of one folder, with a ``source`` label per configuration."""
    man_path = folder / "manifest.json"
    if not man_path.is_file() or not (folder / "national.parquet").is_file():
        raise ConfigError(f"{folder} is not a run or experiment folder "
                          "(manifest.json and national.parquet needed)")
    man = json.loads(man_path.read_text())
    nat = pd.read_parquet(folder / "national.parquet")
    kp_path = folder / ("kpis.parquet" if (folder / "kpis.parquet").is_file()
                        else "kpis_by_replication.parquet")
    kp = pd.read_parquet(kp_path)
    name = folder.name
    if man.get("tool") == "ozg-sim-experiment":
        design = [c for c in pd.read_parquet(folder / "points.parquet").columns
                  if c not in ("point", "config_hash")]
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
        names, opts = split_cli_args(args, ("out", "lang"))
        folders = [Path(a) for a in names]
        if not folders:
            raise ConfigError("usage: ozg-sim-compare FOLDER [FOLDER ...] [out=DIR] [lang=de]")
        out = Path(opts.get("out") or Path("outputs/compare") / timestamp())
        done = compare(folders, out, opts.get("lang", "en"))
    except ConfigError as exc:
        fail(TOOL, exc)
    print(f"outputs: {done}")


if __name__ == "__main__":
    main()
