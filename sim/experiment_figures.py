"""Figures and statistics tables of an experiment folder, drawn only from its saved tables.

    ozg-sim-figures FOLDER [lang=de]

redraws everything of ``FOLDER`` (an ``ozg-sim-experiment`` output) into ``FOLDER/figures``,
or the coverage chart of an ``ozg-sim`` run folder, without rerunning the model. Which
figures an experiment gets is listed under ``figures:`` in its ``conf/experiment/*.yaml``
(copied into the folder's ``manifest.json``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import charts, stats
from sim.cli.common import split_cli_args
from sim.errors import ConfigError

REFERENCE_DEFAULT = {"factor": "strategy", "level": "efa"}
TARGETS = (0.5, 0.9)
#: Design columns that can group a figure (the experiment's ``reference.factor``) or facet
#: it (the first other one that varies), in that order of preference.
FACTORS = ("strategy", "funding", "operation", "staffing", "state_programmes", "world")
#: The level of a facet that figures showing one scenario pick (else the first level).
MAIN_LEVEL = {"funding": "konjunkturpaket"}
#: Month of the OZG deadline (31 Dec 2022): the first date of the per-Land and size-class
#: figures.
DEADLINE_MONTH = "2022-12"


def _read(folder: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(f"{folder} is not an experiment folder: manifest.json is missing")
    manifest = json.loads(manifest_path.read_text())
    tables = {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}
    return manifest, tables


def _provenance(manifest: dict[str, Any], tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    pts = tables.get("points")
    return {"experiment": manifest.get("experiment"),
            "code_version": manifest.get("code_version"),
            "git_commit": manifest.get("git_commit"),
            "seed": manifest.get("seed"), "replications": manifest.get("replications"),
            "config_hashes": ";".join(pts["config_hash"].astype(str)) if pts is not None else "",
            "command": manifest.get("command")}


def _varies(df: pd.DataFrame, col: str) -> bool:
    return col in df.columns and df[col].astype(str).nunique() > 1


def _levels(df: pd.DataFrame, col: str) -> list[Any]:
    """Levels of ``col`` in display order (the experiment's design order within figures)."""
    return [k[0] for k in charts.groups_of(df, [col])]


def design_orders(design: dict[str, Any] | None) -> dict[str, list[Any]]:
    """Order of the levels of each categorical design column, as the design lists them."""
    orders: dict[str, list[Any]] = {}
    design = design or {}
    for part in ("grid", "cross"):
        for col, values in (design.get(part) or {}).items():
            if isinstance(values, list) and all(isinstance(v, str) for v in values):
                orders.setdefault(col, list(dict.fromkeys(values)))
    for point in design.get("points") or []:
        for col, v in dict(point).items():
            if isinstance(v, str):
                orders.setdefault(col, [])
                if v not in orders[col]:
                    orders[col].append(v)
    return orders


def redraw_run(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Redraw the chart of an ``ozg-sim`` run folder from its saved tables."""
    from sim.config import to_config
    from sim.plots import draw_run_figures, run_title
    cfg = manifest["config"]
    title = run_title(cfg["strategy"]["name"], cfg["funding"]["name"],
                      cfg["staffing"]["name"], cfg["world"]["name"])
    from sim.provenance import run_provenance
    return draw_run_figures(folder, title, f"Seed {cfg['seed']}.",
                            run_provenance(to_config(cfg)))


def draw_experiment_figures(folder: Path, lang: str = "en") -> list[str]:
    """Draw every figure the experiment asks for; returns the written file names.

    For a single-run folder (``ozg-sim``) it redraws the run's coverage chart.
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("tool") == "ozg-sim":
            return redraw_run(folder, manifest)
    manifest, tables = _read(folder)
    spec_figs = manifest.get("figure_list") or _figures_of(manifest)
    out = folder / "figures"
    prov = _provenance(manifest, tables)
    ref = manifest.get("reference") or REFERENCE_DEFAULT
    written: list[str] = []
    ctx = _Ctx(folder, out, tables, prov, lang, ref, manifest)
    unknown = [n for n in spec_figs if n not in RECIPES]
    if unknown:
        raise ConfigError(f"figures: {unknown[0]!r} is not allowed: one of "
                          + ", ".join(sorted(RECIPES)))
    with charts.level_order(design_orders(manifest.get("design"))):
        for name in spec_figs:
            written += RECIPES[name](ctx)
    plt.close("all")
    return written


def _figures_of(manifest: dict[str, Any]) -> list[str]:
    from sim.sweep import load_spec
    try:
        spec = load_spec(str(manifest.get("experiment")))
    except ConfigError:
        return ["fan"]
    manifest["reference"] = spec.get("reference")
    return list(spec.get("figures") or ["fan"])


class _Ctx:
    def __init__(self, folder: Path, out: Path, tables: dict[str, pd.DataFrame],
                 prov: dict[str, Any], lang: str, ref: dict[str, str],
                 manifest: dict[str, Any]) -> None:
        self.folder, self.out, self.t, self.prov = folder, out, tables, prov
        self.lang: charts.Lang = "de" if lang == "de" else "en"
        self.ref, self.manifest = ref, manifest
        #: The grouping factor of every figure and its reference level.
        self.factor: str = str(ref.get("factor") or REFERENCE_DEFAULT["factor"])
        self.reference: Any = ref.get("level")

    def facet(self, df: pd.DataFrame) -> str | None:
        """The second varying design column (after the factor), if any."""
        return next((c for c in FACTORS if c != self.factor and _varies(df, c)), None)

    def by(self, df: pd.DataFrame) -> list[str]:
        """The factor, and the facet if there is one."""
        facet = self.facet(df)
        return [self.factor, facet] if facet else [self.factor]

    def main(self, df: pd.DataFrame) -> tuple[pd.DataFrame, str | None, Any]:
        """``df`` restricted to one level of the facet (for figures of one scenario):
        :data:`MAIN_LEVEL` if present, else the first. Returns the rows, the facet column and
        the level (None, None without a facet)."""
        facet = self.facet(df)
        if facet is None:
            return df, None, None
        levels = _levels(df, facet)
        pick = MAIN_LEVEL.get(facet)
        level = pick if pick in levels else levels[0]
        return df[df[facet] == level], facet, level

    def save(self, fig: Any, name: str, data: pd.DataFrame) -> list[str]:
        return [p.name for p in charts.save_figure(fig, self.out, name, data, self.prov)]

    def table(self, name: str, df: pd.DataFrame) -> list[str]:
        self.out.mkdir(parents=True, exist_ok=True)
        df.to_csv(self.out / f"{name}.csv", index=False, float_format="%.6g")
        return [f"{name}.csv"]

    @property
    def title(self) -> str:
        de = self.manifest.get("title_de") if self.lang == "de" else None
        return str(de or self.manifest.get("title") or self.manifest.get("experiment"))

    def scenario_title(self, column: str | None, level: Any = None) -> str:
        """Short title naming the facet level a figure is restricted to (else the title)."""
        if column is None:
            return self.title
        label = charts.label_value(column, level, self.lang)
        return label[:1].upper() + label[1:]

    def de_en(self, de: str, en: str) -> str:
        return de if self.lang == "de" else en


def _fan(c: _Ctx) -> list[str]:
    nat = c.t["national"]
    facet = c.facet(nat)
    files = []
    for value in ("population_coverage", "nationwide_share"):
        fig, data = charts.fan_figure(nat, by=c.factor, value=value, lang=c.lang,
                                      title=c.title, facet=facet)
        files += c.save(fig, f"fan_{value}", data)
    return files


def _difference(c: _Ctx) -> list[str]:
    nat = c.t["national"]
    factor, ref = c.factor, c.reference
    others = [s for s in _levels(nat, factor) if s != ref]
    facet = c.facet(nat)
    files: list[str] = []
    all_diffs = []
    for value in ("population_coverage", "nationwide_share"):
        diffs = []
        for other in others:
            d = stats.paired_difference(nat, factor=factor, a=other, b=ref, value=value)
            diffs.append(d.assign(comparison=f"{other} - {ref}", value=value))
        if not diffs:
            continue
        d = pd.concat(diffs, ignore_index=True)
        all_diffs.append(d)
        levels: list[Any] = _levels(d, facet) if facet else [None]
        for lev in levels:
            sub = d if lev is None else d[d[facet] == lev]
            suffix = "" if lev is None else f"_{lev}"
            fig, data = charts.difference_figure(
                sub, lang=c.lang, value=value, title=c.scenario_title(facet, lev),
                n_replications=int(c.manifest.get("replications") or 0) or None,
                factor=factor)
            files += c.save(fig, f"difference_{value}{suffix}", data)
    if all_diffs:
        files += c.table("paired_differences", pd.concat(all_diffs, ignore_index=True))
    # Probability that a level reaches a target before the reference.
    rows = []
    for target in TARGETS:
        for other in others:
            p = stats.prob_first(nat, factor=factor, a=other, b=ref,
                                 value="population_coverage", target=target)
            rows.append(p.assign(a=other, b=ref, target=target))
    if rows:
        files += c.table("prob_reaches_first", pd.concat(rows, ignore_index=True))
    return files


def _small_multiples(c: _Ctx) -> list[str]:
    bs, facet, lev = c.main(c.t["by_state"])
    fig, data = charts.small_multiples_figure(bs, by=c.factor, value="population_coverage",
                                              lang=c.lang, title=c.scenario_title(facet, lev))
    return c.save(fig, "small_multiples_population_coverage", data)


def _maps(c: _Ctx) -> list[str]:
    files = []
    for table, level in (("by_state", "land"), ("by_kreis", "kreis")):
        df, facet, lev = c.main(c.t[table])
        dates = sorted(c.t["by_kreis"]["date"].unique())  # the configured map months
        fig, data = charts.map_figure(df, level=level, by=c.factor,  # type: ignore[arg-type]
                                      value="population_coverage", lang=c.lang,
                                      dates=dates, title=c.scenario_title(facet, lev))
        files += c.save(fig, f"map_{level}", data)
    return files


def _time_to_target(c: _Ctx) -> list[str]:
    kp = c.t["kpis"]
    horizon = float(c.t["national"]["month"].max() + 1)
    fig, data = charts.time_to_target_figure(kp, by=c.by(kp), lang=c.lang, title=c.title,
                                             horizon_months=horizon)
    return c.save(fig, "time_to_target", data)


def _cost_coverage(c: _Ctx) -> list[str]:
    kp = c.t["kpis"]
    title = c.de_en("Programmmittel und Bevölkerungsabdeckung zum 31.12.2022",
                    "Programme money and population coverage at 31 Dec 2022")
    fig, data = charts.cost_coverage_figure(kp, by=c.by(kp), lang=c.lang, title=title)
    return c.save(fig, "cost_coverage", data)


def _map_dates(c: _Ctx, df: pd.DataFrame) -> list[str]:
    """31 Dec 2022 and the last configured map month after it (else the last date)."""
    months = sorted({pd.Timestamp(d).strftime("%Y-%m") for d in df["date"].unique()})
    cfg = c.manifest.get("config_of_first_point") or {}
    later = [m for m in (cfg.get("map_months") or []) if m in months and m > DEADLINE_MONTH]
    last = later[-1] if later else months[-1]
    return [m for m in dict.fromkeys([DEADLINE_MONTH, last]) if m in months]


def _state_differences(c: _Ctx) -> list[str]:
    """Per Land and level: the mean paired difference to the reference level."""
    bs, facet, lev = c.main(c.t["by_state"])
    dates = _map_dates(c, bs)
    fig, data = charts.state_difference_figure(bs, c.factor, c.reference, dates=dates,
                                               lang=c.lang,
                                               title=c.scenario_title(facet, lev))
    files = c.save(fig, "state_differences", data)
    full = charts.state_difference_table(bs, c.factor, c.reference, dates=dates)
    return files + c.table("state_paired_differences", full)


def _running_costs(c: _Ctx) -> list[str]:
    """Running costs of reused services by payer (and per year, if the sweep kept them)."""
    kp, facet, lev = c.main(c.t["kpis"])
    runs = kp[[c.factor, "replication"]]
    rc = c.t.get("running_costs")
    if rc is not None:
        costs = rc if facet is None else rc[rc[facet] == lev]
    else:  # an older folder: totals over the whole horizon from the KPIs
        cols = {f"running_costs_eur_{p}": p for p in charts.PAYERS}
        missing = [k for k in cols if k not in kp.columns]
        if missing:
            raise ConfigError(f"figures: running_costs needs the running_costs table or the "
                              f"KPIs {missing}")
        costs = (kp[[c.factor, "replication", *cols]]
                 .melt(id_vars=[c.factor, "replication"], var_name="payer", value_name="eur")
                 .assign(payer=lambda d: d["payer"].map(cols)))
    last_year = int(pd.Timestamp(c.t["national"]["date"].max()).year)
    title = c.de_en("Betriebskosten nachgenutzter Leistungen nach Kostenträger",
                    "Running costs of reused services by payer")
    if facet is not None:
        title += f" ({charts.label_value(facet, lev, c.lang, short=True)})"
    fig, data = charts.running_costs_figure(costs, c.factor, years=(2023, last_year),
                                            runs=runs, lang=c.lang, title=title)
    return c.save(fig, "running_costs", data)


def _size_classes(c: _Ctx) -> list[str]:
    """Share of municipal services connected by size class of the administration."""
    bsc, facet, lev = c.main(c.t["by_size_class"])
    months = sorted({pd.Timestamp(d).strftime("%Y-%m") for d in bsc["date"].unique()})
    dates = [m for m in dict.fromkeys([DEADLINE_MONTH, months[-1]]) if m in months]
    title = c.de_en("Angebundene kommunale Leistungen nach Größe der Verwaltung",
                    "Municipal services connected, by size of the administration")
    if facet is not None:
        title += f" ({charts.label_value(facet, lev, c.lang, short=True)})"
    fig, data = charts.size_class_figure(bsc, by=c.factor, dates=dates, lang=c.lang,
                                         title=title)
    return c.save(fig, "size_classes", data)


KPI_COLS = ("population_coverage_2022_12", "nationwide_share_2022_12",
            "months_to_50pct_population_coverage", "months_to_90pct_population_coverage")


def _sufficiency(c: _Ctx) -> list[str]:
    kp = c.t["kpis"]
    cols = [k for k in KPI_COLS if k in kp.columns]
    targets = {"population_coverage_2022_12": 0.005, "nationwide_share_2022_12": 0.005,
               "months_to_50pct_population_coverage": 1.0,
               "months_to_90pct_population_coverage": 1.0}
    suff = stats.replication_sufficiency(kp, by=c.by(kp), kpi_cols=cols,
                                         target_half_width=targets)
    summ = pd.concat([stats.summarise(kp, by=c.by(kp), value=k).assign(kpi=k) for k in cols],
                     ignore_index=True)
    return c.table("replication_sufficiency", suff) + c.table("kpi_intervals", summ)


def _heatmaps(c: _Ctx) -> list[str]:
    kp = c.t["kpis"]
    keys = [k for k in kp.columns if k.startswith("staffing.")]
    if len(keys) < 2:
        raise ConfigError("figures: heatmaps need two swept staffing.* keys in the design")
    x, y = keys[0], keys[1]
    facet = c.factor if _varies(kp, c.factor) else None
    files = []
    for value in ("population_coverage_2022_12", "months_to_90pct_population_coverage"):
        fig, data = charts.heatmap_figure(kp, x=x, y=y, value=value, facet=facet,
                                          lang=c.lang, title=c.title)
        files += c.save(fig, f"heatmap_{value}", data)
    return files


def _robustness(c: _Ctx) -> list[str]:
    """Each strategy's advantage over the reference across the hypercube."""
    kp = c.t["kpis"]
    factor, ref = c.factor, c.reference
    params = [k for k in kp.columns if "." in k]
    value = "population_coverage_2022_12"
    # Pair on (hypercube point, replication): the hypercube keys identify the point.
    wide = kp.pivot_table(index=[*params, "replication"], columns=factor, values=value)
    diffs = wide.sub(wide[ref], axis=0).drop(columns=ref)
    per_point = diffs.groupby(level=list(range(len(params)))).mean().reset_index()
    long = per_point.melt(id_vars=params, var_name=factor, value_name="mean_diff")
    files = c.table("robustness_differences", long)
    fig, data = robustness_figure(long, params, factor, ref, c.lang, c.title)
    files += c.save(fig, "robustness", data)
    return files


#: Readable names of uncertain parameters (en, de); other keys are shown as they are.
PARAM_LABELS: dict[str, tuple[str, str]] = {
    "development.effort_person_days": ("development effort (person-days)",
                                       "Entwicklungsaufwand (Personentage)"),
    "development.shared_build_overhead": ("multi-tenant overhead (share)",
                                          "Mehraufwand mandantenfähig (Anteil)"),
    "sharing.efa.propensity": ("EfA reuse propensity", "EfA-Nachnutzungsneigung"),
    "sharing.efa.decision_months": ("EfA decision delay (months)",
                                    "EfA-Entscheidungsdauer (Monate)"),
    "sharing.efa.contract_months": ("EfA contract delay (months)",
                                    "EfA-Vertragsdauer (Monate)"),
    "sharing.efa.operator_onboarding_slots": ("EfA operator onboarding slots",
                                              "EfA-Anbindungsplätze je Betreiber"),
    "sharing.efv.propensity": ("EfV reuse propensity", "EfV-Nachnutzungsneigung"),
    "municipal.onboarding_effort_person_days": ("municipal effort (person-days)",
                                                "kommunaler Anbindungsaufwand (Personentage)"),
}


def param_label(key: str, lang: charts.Lang) -> str:
    en_de = PARAM_LABELS.get(key)
    return key if en_de is None else en_de[1 if lang == "de" else 0]


def robustness_figure(long: pd.DataFrame, params: list[str], factor: str, ref: str,
                      lang: charts.Lang, title: str) -> tuple[Any, pd.DataFrame]:
    """Left: distribution of each strategy's mean difference to the reference across the
    hypercube points; right: the difference against each uncertain parameter."""
    levels = list(dict.fromkeys(long[factor]))
    styles = charts.group_styles([factor], [(lv,) for lv in levels])
    n_p = len(params)
    ncol = min(4, n_p)
    nrow = int(np.ceil(n_p / ncol))
    with plt.rc_context(charts.chart_style()):  # type: ignore[arg-type]
        fig = plt.figure(figsize=(12, 3.2 + 2.2 * nrow), layout="constrained")
        sub_l, sub_r = fig.subfigures(1, 2, width_ratios=[1, 2.6])  # type: ignore[misc]
        ax = sub_l.subplots()
        data = [long.loc[long[factor] == lv, "mean_diff"].to_numpy() * 100 for lv in levels]
        positions = list(range(len(levels), 0, -1))  # first level on top, as in the legends
        bp = ax.boxplot(data, positions=positions, orientation="horizontal", patch_artist=True,
                        widths=0.6, medianprops={"color": "black", "lw": 1.5},
                        flierprops={"marker": ".", "ms": 3})
        for patch, lv in zip(bp["boxes"], levels, strict=True):
            st = styles[(lv,)]
            patch.set_facecolor(st.get("color", "0.5"))
            patch.set_alpha(0.35)
            patch.set_edgecolor(st.get("color", "0.2"))
        ax.set_yticks(positions,
                      [charts.label_value(factor, lv, lang, short=True) for lv in levels])
        ax.axvline(0, color="0.3", lw=0.8)
        ax.xaxis.set_major_formatter(charts.number_formatter(lang))
        ref_label = charts.label_value(factor, ref, lang, short=True)
        ax.set_xlabel(f"Differenz zu {ref_label} am 31.12.2022 (Prozentpunkte)" if lang == "de"
                      else f"difference to {ref_label} at 31 Dec 2022 (percentage points)")
        axes = np.atleast_1d(sub_r.subplots(nrow, ncol, sharey=True)).ravel()
        for i, p in enumerate(params):
            a = axes[i]
            for lv in levels:
                st = styles[(lv,)]
                d = long[long[factor] == lv]
                a.plot(d[p], d["mean_diff"] * 100, ls="none", marker=st.get("marker", "o"),
                       ms=3.5, color=st.get("color", "0.3"), alpha=0.8,
                       label=charts.label_value(factor, lv, lang, short=True))
            a.axhline(0, color="0.3", lw=0.6)
            a.set_xlabel(param_label(p, lang), fontsize=7)
            a.xaxis.set_major_formatter(charts.number_formatter(lang))
            a.yaxis.set_major_formatter(charts.number_formatter(lang))
        for a in axes[n_p:]:
            a.set_visible(False)
        sub_r.supylabel("Differenz zu " + ref_label + " (Prozentpunkte)" if lang == "de"
                        else f"difference to {ref_label} (percentage points)", fontsize=9)
        handles, labels = axes[0].get_legend_handles_labels()
        sub_r.legend(handles, labels, loc="outside lower center", ncol=len(labels),
                     frameon=False, fontsize=8)
        note = (f"Jeder Punkt: ein Punkt des Latin Hypercube, Mittel über die Replikationen, "
                f"gepaart mit {ref_label}; Boxen: Median, Quartile, 1,5 IQR."
                if lang == "de" else
                f"Each dot: one hypercube point, mean over replications, paired with "
                f"{ref_label}; boxes: median, quartiles, 1.5 IQR.")
        fig.supxlabel(note, x=0.01, ha="left", fontsize=7, color="0.3")
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    return fig, long


RECIPES: dict[str, Callable[[_Ctx], list[str]]] = {
    "fan": _fan, "difference": _difference, "small_multiples": _small_multiples,
    "maps": _maps, "time_to_target": _time_to_target, "cost_coverage": _cost_coverage,
    "sufficiency": _sufficiency, "heatmaps": _heatmaps, "robustness": _robustness,
    "state_differences": _state_differences, "running_costs": _running_costs,
    "size_classes": _size_classes,
}


def main(argv: list[str] | None = None) -> None:
    """``ozg-sim-figures FOLDER [lang=de]``: redraw an experiment's figures."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        folders, opts = split_cli_args(args, ("lang",))
        lang = opts.get("lang", "en")
        if len(folders) != 1:
            raise ConfigError("usage: ozg-sim-figures FOLDER [lang=de]")
        files = draw_experiment_figures(Path(folders[0]), lang)
    except ConfigError as exc:
        print(f"ozg-sim-figures: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"{len(files)} files written under {Path(folders[0])}")


if __name__ == "__main__":
    main()
