"""``ozg-sim-compare``: put any set of run or sweep folders side by side.

    ozg-sim-compare FOLDER [FOLDER ...] [out=DIR] [lang=de] [labels="A,B,..."]

Each folder is an ``ozg-sim`` run (one configuration) or an ``ozg-sim-experiment`` folder
(one design point per configuration). Every configuration becomes one ``source``, labelled
by the scenario axes that differ between the configurations compared (strategy, funding,
staffing, operation, Land programmes, calibration: :func:`sim.figures.scenarios.scenario_labels`,
in the words of ``lang``), or by ``labels=`` (one per configuration, comma-separated, in
order; the count must match). The output folder (default ``outputs/compare/<timestamp>``)
gets ``national.parquet`` and ``kpis.parquet`` with a ``source`` column, ``summary.csv``
(KPI intervals per source) and a fan chart of population coverage and of nationwide
services per source (``fan_*_de`` with ``lang=de``). The folder appears only when complete.

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
from sim.figures.charts import caption_tail, fan_figure
from sim.figures.labels import Lang, check_lang
from sim.figures.save import figure_stem, save_figure
from sim.figures.scenarios import differing_axes, scenario_label, scenario_labels, scenario_sentence
from sim.figures.style import level_order
from sim.figures.tables import MIN_REPLICATIONS_PER_CHART
from sim.io import OutputError, check_writable, staged_folder, timestamp
from sim.outputs import read_folder
from sim.scenario import SCENARIO_AXES, scenario_of

TOOL = "ozg-sim-compare"
KEY_KPIS = ("population_coverage_2022_12", "nationwide_share_2022_12",
            "months_to_50pct_population_coverage", "months_to_90pct_population_coverage",
            "spent_eur_programmes")
COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} FOLDER [FOLDER ...] [out=DIR] [lang=en|de] [labels=A,B,...]",
    "Put run and experiment folders side by side: tables with a source column, KPI "
    "intervals per source, fan charts.",
    positional=("FOLDER ...", "ozg-sim run or ozg-sim-experiment folders (a name with = is "
                              "a folder if it exists, or after --)"),
    options={"out": Option("DIR", "output folder (default: outputs/compare/<timestamp>)"),
             "lang": Option("en|de", "language of the charts (default: en; German files "
                                     "end in _de)"),
             "labels": Option("A,B,...", "one label per configuration, comma-separated, in "
                                         "the order of the sources (default: the scenario "
                                         "axes that differ)")})


#: Title of the comparison's fan charts (en, de).
COMPARE_TITLE = {"en": "Comparison", "de": "Vergleich"}


def load_folder(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, str]]]:
    """``national`` and ``kpis`` of one folder with a ``source`` key per configuration, and
    each source's scenario (axis -> level, :func:`sim.figures.scenarios.scenario_of`).

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
    draws = man.get("calibrated_draws")
    scenarios: dict[str, dict[str, str]] = {}
    if man["tool"] == "ozg-sim-experiment":
        if "points" not in tables:
            raise DataError(f"{folder / 'points.parquet'}: missing: the design is needed")
        design = [c for c in tables["points"].columns if c not in ("point", "config_hash")]
        absent = [c for c in design if c not in nat.columns]
        if absent:
            raise DataError(f"{folder / 'national.parquet'}: design column(s) {absent} "
                            "missing")
        base = scenario_of(man.get("config_of_first_point") or {}, draws)

        def key(df: pd.DataFrame) -> pd.Series:
            parts = [df[c].astype(str) for c in design]
            joined = parts[0].str.cat(parts[1:], sep=",") if len(parts) > 1 else parts[0]
            return f"{name}:" + joined

        for _, row in nat[design].drop_duplicates().iterrows():
            src = f"{name}:" + ",".join(str(row[c]) for c in design)
            scenarios[src] = {**base, **{c: str(row[c]) for c in design
                                         if c in SCENARIO_AXES}}
        nat = nat.assign(source=key(nat))
        kp = kp.assign(source=key(kp))
    else:
        src = name
        scenarios[src] = scenario_of(man.get("config", {}), draws)
        nat = nat.assign(source=src)
        kp = kp.assign(source=src)
    n = nat.groupby("source")["replication"].nunique()
    if len(n) and n.min() < MIN_REPLICATIONS_PER_CHART:
        raise DataError(f"{folder}: {n.idxmin()!r} has {int(n.min())} replication(s); a "
                        f"comparison needs at least {MIN_REPLICATIONS_PER_CHART} per "
                        "configuration (its charts show bands across replications)")
    return nat, kp, scenarios


def source_labels(scenarios: dict[str, dict[str, str]], lang: Lang = "en",
                  labels: list[str] | None = None) -> dict[str, str]:
    """Readable label per source: ``labels`` in order if given, else the scenario axes that
    differ between the sources (sources with the same scenario get their folder name too).

    Raises
    ------
    ConfigError
        If the number of ``labels`` differs from the number of sources, or two are equal.
    """
    keys = list(scenarios)
    if labels is not None:
        if len(labels) != len(keys):
            raise ConfigError(f"labels: {len(labels)} given for {len(keys)} configurations "
                              f"({', '.join(keys)}): give one label per configuration, "
                              "comma-separated, in order")
        if len(set(labels)) != len(labels):
            raise ConfigError(f"labels={','.join(labels)!r}: every label must differ")
        return dict(zip(keys, labels, strict=True))
    words = scenario_labels([scenarios[k] for k in keys], lang)
    out = dict(zip(keys, words, strict=True))
    repeated = {w for w in words if words.count(w) > 1}
    return {k: (f"{w} ({k})" if w in repeated else w) for k, w in out.items()}


def compare(folders: list[Path], out: Path, lang: str = "en",
            labels: list[str] | None = None) -> Path:
    """Compare the configurations of ``folders`` into ``out`` (see the module docstring);
    ``source`` holds the readable label of each configuration, ``scenario`` all its axes."""
    check_lang(lang)
    lg: Lang = "de" if lang == "de" else "en"
    nats, kps = [], []
    scenarios: dict[str, dict[str, str]] = {}
    for f in folders:
        n, k, sc = load_folder(Path(f))
        if set(sc) & set(scenarios):
            raise ConfigError(f"{f}: compared twice: compare distinct folders")
        nats.append(n)
        kps.append(k)
        scenarios.update(sc)
    names = source_labels(scenarios, lg, labels)
    full = {k: scenario_label(sc, lg) for k, sc in scenarios.items()}
    cols = ["source", "replication", "month", "date", "online_anywhere", "nationwide",
            "nationwide_share", "population_coverage", "n_services"]
    nat = pd.concat([n[cols] for n in nats], ignore_index=True)
    kp = pd.concat(kps, ignore_index=True)
    if nat.duplicated(["source", "replication", "month"]).any():
        raise ConfigError("two inputs have the same label: compare distinct folders")
    nat = nat.assign(configuration=nat["source"], scenario=nat["source"].map(full),
                     source=nat["source"].map(names))
    kp = kp.assign(configuration=kp["source"], scenario=kp["source"].map(full),
                   source=kp["source"].map(names))
    kpi_cols = [k for k in KEY_KPIS if k in kp.columns]
    summary = pd.concat([stats.summarise(kp, by=["source"], value=k).assign(kpi=k)
                         for k in kpi_cols], ignore_index=True)
    summary = summary.assign(scenario=summary["source"].map(
        dict(zip(kp["source"], kp["scenario"], strict=False))))
    prov = {"inputs": ";".join(str(Path(f).resolve()) for f in folders),
            "sources": "; ".join(f"{names[k]} = {k}: {full[k]}" for k in scenarios)}
    order = {"source": [names[k] for k in scenarios]}
    # Into an existing folder file by file, else as a new folder; complete or not at all.
    with (staged_folder(out) if out.is_dir() else staged_folder(out.parent, out.name)) as st:
        nat.to_parquet(st.path / "national.parquet", index=False)
        kp[["source", "configuration", "scenario", "replication", *kpi_cols]].to_parquet(
            st.path / "kpis.parquet", index=False)
        summary.to_csv(st.path / "summary.csv", index=False, float_format="%.6g")
        shared = [a for a in SCENARIO_AXES if a not in differing_axes(list(scenarios.values()))]
        with level_order(order), caption_tail(scenario_sentence(
                next(iter(scenarios.values())), [] if labels else shared, lg)):
            for value in ("population_coverage", "nationwide_share"):
                fig, data = fan_figure(nat, by="source", value=value, lang=lg,
                                       title=COMPARE_TITLE[lg])
                save_figure(fig, st.path / "figures", figure_stem(f"fan_{value}", lg), data,
                            prov)
    out = st.final
    return out


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cmd = COMMAND_LINE.parse(args)
        folders, opts = [Path(a) for a in cmd.positionals], cmd.options
        if not folders:
            raise ConfigError(f"usage: {COMMAND_LINE.usage} (see --help)")
        labels = ([x.strip() for x in opts["labels"].split(",")] if opts.get("labels")
                  else None)
        out = Path(opts.get("out") or Path("outputs/compare") / timestamp())
        check_writable(out, "out")
        done = compare(folders, out, opts.get("lang", "en"), labels)
    except KeyboardInterrupt:
        interrupted(TOOL)
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    print(f"outputs: {done}")


if __name__ == "__main__":
    main()
