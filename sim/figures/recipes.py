"""Figure recipes of an experiment: which figures and statistics tables an experiment folder
gets, drawn only from its saved tables.

Which recipes an experiment gets is listed under ``figures:`` in its
``conf/experiment/*.yaml`` (copied into the folder's ``manifest.json`` as ``figure_list``);
:data:`RECIPES` maps each name to a function that draws its figures into
``FOLDER/figures``. Every recipe groups by the experiment's ``reference.factor`` (default
``strategy``) in the order of the design; a second design column that varies becomes the
facet. ``ozg-sim-figures FOLDER`` (:mod:`sim.cli.figures`) redraws them without rerunning
the model; ``ozg-sim-experiment`` draws them after the sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim import discovery, stats
from sim.calendar import OZG_DEADLINE, OZG_DEADLINE_KEY, month_index, month_label
from sim.errors import ConfigError
from sim.figures import (
    charts,
    decisions,
    exploration,
    sensitivity,
    tables,
    timeline,
    waterfall,
)
from sim.figures import discovery as discovery_charts
from sim.figures.labels import (
    COVERAGE_AT_DEADLINE,
    Lang,
    label_metric,
    label_value,
    programme_label,
    text,
)
from sim.figures.levels import PAYER_PARTIES
from sim.figures.save import figure_stem, save_figure
from sim.figures.scenarios import scenario_sentence
from sim.figures.style import groups_of, level_order
from sim.figures.tables import state_difference_table
from sim.mechanisms import ALL as MECHANISMS_ALL
from sim.outputs import CONTRAST_GROUP, read_folder
from sim.scenario import SCENARIO_AXES, design_roles, scenario_of

#: Grouping factor and reference level of an experiment that names none.
REFERENCE_DEFAULT = {"factor": "strategy", "level": "efa"}
#: Coverage targets of the table ``prob_reaches_first`` (a level reaches it before the
#: reference).
FIRST_TARGETS = (0.5, 0.9)
#: Design columns that can group a figure (the experiment's ``reference.factor``) or facet
#: it (the first other one that varies), in that order of preference.
FACTORS = ("strategy", "funding", "operation", "staffing", "state_programmes", "world")
#: The level of a facet that figures showing one scenario pick (else the first level).
MAIN_LEVEL = {"funding": "konjunkturpaket"}
#: The design column of the ``waterfall`` recipe: which mechanism is switched off.
MECHANISMS_FACTOR = "mechanisms.switched_off"
#: Recipes of a sensitivity folder (their captions say nothing of replication bands).
SENSITIVITY_RECIPES = ("morris", "sobol", "contrast_morris", "contrast_sobol",
                       "contrast_evolution")


def read_experiment(folder: Path) -> tuple[dict[str, Any], Mapping[str, pd.DataFrame]]:
    """The manifest and every Parquet table (by name) of an experiment folder, checked
    and read as used (:func:`sim.outputs.read_folder`: a damaged file gives a one-line
    ``DataError``)."""
    return read_folder(folder)


def _provenance(manifest: dict[str, Any], tables: Mapping[str, pd.DataFrame]
                ) -> dict[str, Any]:
    pts = tables.get("points")
    return {"experiment": manifest.get("experiment"),
            "code_version": manifest.get("code_version"),
            "git_commit": manifest.get("git_commit"),
            "seed": manifest.get("seed"), "replications": manifest.get("replications"),
            "config_hashes": ";".join(pts["config_hash"].astype(str)) if pts is not None else "",
            "command": manifest.get("command"),
            "calibrated_draws": (manifest.get("calibrated_draws") or {}).get("description", "")}


def _varies(df: pd.DataFrame, col: str) -> bool:
    return col in df.columns and df[col].astype(str).nunique() > 1


def _levels(df: pd.DataFrame, col: str) -> list[Any]:
    """Levels of ``col`` in display order (the experiment's design order within figures)."""
    return [k[0] for k in groups_of(df, [col])]


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


def draw_experiment_figures(folder: Path, lang: str = "en",
                            recipes: Sequence[str] | None = None,
                            reference: Mapping[str, Any] | None = None,
                            out: Path | None = None,
                            progress: Callable[[int, int, str], None] | None = None,
                            ) -> list[str]:
    """Draw the figures of an experiment folder into ``folder/figures`` (or ``out``: a
    staging folder that a redraw swaps in whole); returns the written file names.
    ``progress(done, total, recipe)`` is called after each recipe (the commands log it).

    ``recipes`` (names in :data:`RECIPES`) and ``reference`` (``factor`` and ``level``)
    default to the manifest's ``figure_list`` and ``reference`` (``["fan"]`` and
    :data:`REFERENCE_DEFAULT` if it has none).

    Raises
    ------
    ConfigError
        If ``folder`` is not an experiment folder or a recipe is unknown.
    """
    folder = Path(folder)
    manifest, tables = read_experiment(folder)
    if manifest.get("tool") == "ozg-sim":
        raise ConfigError(f"{folder} is a run folder (ozg-sim), not an experiment folder: "
                          "redraw it with ozg-sim-figures")
    names = list(recipes if recipes is not None else manifest.get("figure_list") or ["fan"])
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise ConfigError(f"figures: {unknown[0]!r} is not allowed: one of "
                          + ", ".join(sorted(RECIPES)))
    out = folder / "figures" if out is None else Path(out)
    prov = _provenance(manifest, tables)
    ref = dict(reference or manifest.get("reference") or REFERENCE_DEFAULT)
    written: list[str] = []
    ctx = _Ctx(folder, out, tables, prov, lang, ref, manifest)
    draws = draws_sentence(manifest, ctx.lang)
    fixed = fixed_axes_sentence(manifest, tables, ctx.lang, calibration=not draws)
    prov["scenario_fixed"] = fixed_axes_sentence(manifest, tables, ctx.lang)
    tail = " ".join(t for t in (fixed, draws) if t)
    with level_order(design_orders(manifest.get("design"))):
        for done, name in enumerate(names, 1):
            # the sensitivity charts show indices, not bands across replications
            with charts.caption_tail("" if name in SENSITIVITY_RECIPES else tail):
                written += RECIPES[name](ctx)
            if progress is not None:
                progress(done, len(names), name)
    plt.close("all")
    return written


def fixed_axes_sentence(manifest: dict[str, Any], tables: Mapping[str, pd.DataFrame],
                        lang: Lang, calibration: bool = True) -> str:
    """The scenario axes that the design does not vary, in words, for every caption (the
    varying ones are in the legends and panel titles): ``Same in every scenario: historical
    staffing; ...``. ``calibration``: name the calibration too (when no sentence on the
    calibrated draws says it)."""
    cfg = manifest.get("config_of_first_point")
    if not isinstance(cfg, dict):
        return ""
    pts = tables.get("points")
    design = set(pts.columns) if pts is not None else set()
    scenario = scenario_of(cfg, manifest.get("calibrated_draws"))
    calibration = calibration and not _lhs_posterior(manifest)  # then set per point
    axes = [a for a in SCENARIO_AXES if a not in design
            and (calibration or a != "calibration")]
    return scenario_sentence(scenario, axes, lang)


def _lhs_posterior(manifest: Mapping[str, Any]) -> str | None:
    """The calibration whose posterior particles a design's hypercube points take, if any
    (``design.lhs.posterior``)."""
    lhs = (manifest.get("design") or {}).get("lhs")
    name = lhs.get("posterior") if isinstance(lhs, Mapping) else None
    return str(name) if name else None


def draws_sentence(manifest: dict[str, Any], lang: Lang) -> str:
    """How the experiment's calibrated parameters were drawn, for every caption: one
    posterior particle per hypercube point (``design.lhs.posterior``), from the
    posterior per replication (bands carry parameter uncertainty) or at the point estimate
    (chance alone); empty when the manifest has no calibrated parameters (or predates
    the record)."""
    name = _lhs_posterior(manifest)
    if name:
        return text("note_lhs_posterior", lang, name=name)
    rec = manifest.get("calibrated_draws") or {}
    if rec.get("mode") == "posterior" and isinstance(rec.get("posterior"), dict):
        return text("draws_posterior", lang, k=f"{int(rec['posterior']['particles']):,}"
                    .replace(",", "." if lang == "de" else ","))
    if rec.get("mode") == "point":
        return text("draws_point", lang)
    return ""


class _Ctx:
    def __init__(self, folder: Path, out: Path, tables: Mapping[str, pd.DataFrame],
                 prov: dict[str, Any], lang: str, ref: dict[str, str],
                 manifest: dict[str, Any]) -> None:
        self.folder, self.out, self.t, self.prov = folder, out, tables, prov
        self.lang: Lang = "de" if lang == "de" else "en"
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

    def save(self, fig: Figure, name: str, data: pd.DataFrame) -> list[str]:
        """Save a figure as ``name`` (``name_de`` in German, :func:`figure_stem`)."""
        return [p.name for p in save_figure(fig, self.out, figure_stem(name, self.lang), data,
                                            self.prov)]

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
        label = label_value(column, level, self.lang)
        return label[:1].upper() + label[1:]


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
    for target in FIRST_TARGETS:
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
    title = text("title_cost_coverage", c.lang)
    fig, data = charts.cost_coverage_figure(kp, by=c.by(kp), lang=c.lang, title=title)
    return c.save(fig, "cost_coverage", data)


def _map_dates(c: _Ctx, df: pd.DataFrame) -> list[str]:
    """31 Dec 2022 and the last configured map month after it (else the last date)."""
    months = sorted({pd.Timestamp(d).strftime("%Y-%m") for d in df["date"].unique()})
    cfg = c.manifest.get("config_of_first_point") or {}
    later = [m for m in (cfg.get("map_months") or []) if m in months and m > OZG_DEADLINE]
    last = later[-1] if later else months[-1]
    return [m for m in dict.fromkeys([OZG_DEADLINE, last]) if m in months]


def _state_differences(c: _Ctx) -> list[str]:
    """Per Land and level: the mean paired difference to the reference level."""
    bs, facet, lev = c.main(c.t["by_state"])
    dates = _map_dates(c, bs)
    fig, data = charts.state_difference_figure(bs, c.factor, c.reference, dates=dates,
                                               lang=c.lang,
                                               title=c.scenario_title(facet, lev))
    files = c.save(fig, "state_differences", data)
    full = state_difference_table(bs, c.factor, c.reference, dates=dates)
    return files + c.table("state_paired_differences", full)


def _running_costs(c: _Ctx) -> list[str]:
    """Running costs of reused services by payer (and per year, if the sweep kept them)."""
    kp, facet, lev = c.main(c.t["kpis"])
    runs = kp[[c.factor, "replication"]]
    rc = c.t.get("running_costs")
    if rc is not None:
        costs = rc if facet is None else rc[rc[facet] == lev]
    else:  # an older folder: totals over the whole horizon from the KPIs
        cols = {f"running_costs_eur_{p}": p for p in PAYER_PARTIES}
        missing = [k for k in cols if k not in kp.columns]
        if missing:
            raise ConfigError(f"figures: running_costs needs the running_costs table or the "
                              f"KPIs {missing}")
        costs = (kp[[c.factor, "replication", *cols]]
                 .melt(id_vars=[c.factor, "replication"], var_name="payer", value_name="eur")
                 .assign(payer=lambda d: d["payer"].map(cols)))
    last_year = int(pd.Timestamp(c.t["national"]["date"].max()).year)
    title = text("title_running_costs", c.lang)
    if facet is not None:
        title += f" ({label_value(facet, lev, c.lang, short=True)})"
    fig, data = charts.running_costs_figure(costs, c.factor, years=(2023, last_year),
                                            runs=runs, lang=c.lang, title=title)
    return c.save(fig, "running_costs", data)


def _size_classes(c: _Ctx) -> list[str]:
    """Share of municipal services connected by size class of the administration."""
    bsc, facet, lev = c.main(c.t["by_size_class"])
    months = sorted({pd.Timestamp(d).strftime("%Y-%m") for d in bsc["date"].unique()})
    dates = [m for m in dict.fromkeys([OZG_DEADLINE, months[-1]]) if m in months]
    title = text("title_size_classes", c.lang)
    if facet is not None:
        title += f" ({label_value(facet, lev, c.lang, short=True)})"
    fig, data = charts.size_class_figure(bsc, by=c.factor, dates=dates, lang=c.lang,
                                         title=title)
    return c.save(fig, "size_classes", data)


#: Key figures of the tables ``replication_sufficiency`` and ``kpi_intervals``, with the
#: half-width of the 95 % interval that is enough for each.
SUFFICIENT_HALF_WIDTH = {COVERAGE_AT_DEADLINE: 0.005,
                         f"nationwide_share_{OZG_DEADLINE_KEY}": 0.005,
                         "months_to_50pct_population_coverage": 1.0,
                         "months_to_90pct_population_coverage": 1.0}


def _sufficiency(c: _Ctx) -> list[str]:
    kp = c.t["kpis"]
    cols = [k for k in SUFFICIENT_HALF_WIDTH if k in kp.columns]
    suff = stats.replication_sufficiency(kp, by=c.by(kp), kpi_cols=cols,
                                         target_half_width=SUFFICIENT_HALF_WIDTH)
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
    for value in (COVERAGE_AT_DEADLINE, "months_to_90pct_population_coverage"):
        fig, data = charts.heatmap_figure(kp, x=x, y=y, value=value, facet=facet,
                                          lang=c.lang, title=c.title)
        files += c.save(fig, f"heatmap_{value}", data)
    return files


def _exploration_roles(c: _Ctx, recipe: str) -> tuple[list[str], list[str]]:
    """The lever and uncertainty columns of an exploration (:func:`design_roles`), or a
    one-line error naming the recipe."""
    levers, scenario = design_roles(c.manifest.get("design"))
    if not levers or not scenario:
        raise ConfigError(f"figures: {recipe} needs a design with lhs.ranges (the scenarios) "
                          "and cross (the lever settings), as experiment exploration has")
    return levers, scenario


def _robustness(c: _Ctx) -> list[str]:
    """Each strategy's advantage over the reference across the hypercube, paired on the
    hypercube point, the setting of the other levers (funding) and the replication, shown
    per setting of the other levers."""
    kp = c.t["kpis"]
    factor, ref = c.factor, c.reference
    levers, params = _exploration_roles(c, "robustness")
    others = [lv for lv in levers if lv != factor]
    value = COVERAGE_AT_DEADLINE
    # a scenario id per hypercube point: its parameter values, the same at every setting
    scen = kp.assign(scenario=kp.groupby(params, sort=False, dropna=False).ngroup())
    wide = scen.pivot_table(index=[*others, "scenario", "replication"], columns=factor,
                            values=value)
    diffs = wide.sub(wide[ref], axis=0).drop(columns=ref)
    per_point = diffs.groupby(level=[*others, "scenario"], sort=False).mean().reset_index()
    long = per_point.melt(id_vars=[*others, "scenario"], var_name=factor,
                          value_name="mean_diff")
    values = scen.drop_duplicates("scenario").set_index("scenario")[params]
    long = long.join(values, on="scenario").drop(columns="scenario")
    long = long[[*others, *params, factor, "mean_diff"]]
    files = c.table("robustness_differences", long)
    shown = exploration.strongest_parameters(long, params, factor, others)
    fig, data = exploration.robustness_figure(long, shown, factor, ref, c.lang, c.title,
                                              facets=others, n_params=len(params))
    files += c.save(fig, "robustness", data)
    return files


#: Month of the coverage whose regret the ``regret`` recipe ranks (the issue asks for it:
#: four years past the OZG deadline, whose coverage the ``robustness`` recipe shows) ...
REGRET_COVERAGE_MONTH = "2026-12"
#: ... and its column in the recipe's table (``population_coverage_2026_12``).
REGRET_COVERAGE = f"population_coverage_{REGRET_COVERAGE_MONTH.replace('-', '_')}"
#: The time outcome of the ``regret`` recipe (lower is better; not reached: censored).
REGRET_MONTHS_KPI = "months_to_90pct_population_coverage"


def _regret_outcomes(c: _Ctx) -> tuple[pd.DataFrame, list[str], list[str], float]:
    """Per run the two outcomes of the ``regret`` recipe (:data:`REGRET_COVERAGE` from
    ``national``, :data:`REGRET_MONTHS_KPI` from ``kpis``),
    the lever columns (the design's ``cross``), the scenario columns (its ``lhs`` ranges)
    and the censoring month of a run that never reaches the target (the horizon's last
    month + 1)."""
    levers, scenario = _exploration_roles(c, "regret")
    nat, kp = c.t["national"], c.t["kpis"]
    month = month_index(REGRET_COVERAGE_MONTH)
    last = int(nat["month"].max())
    if month > last:
        raise ConfigError(f"figures: regret needs population coverage at "
                          f"{REGRET_COVERAGE_MONTH}, but the horizon ends at "
                          f"{month_label(last)}: allowed end {REGRET_COVERAGE_MONTH} or later")
    at = nat.loc[nat["month"] == month, ["point", "replication", "population_coverage"]]
    runs = kp[["point", "replication", *levers, *scenario, REGRET_MONTHS_KPI]].merge(
        at.rename(columns={"population_coverage": REGRET_COVERAGE}), on=["point", "replication"],
        how="left", validate="one_to_one")
    return runs, levers, scenario, float(last + 1)


def _regret(c: _Ctx) -> list[str]:
    """Regret of each lever setting across the hypercube: median, 90th percentile and
    maximum, ranked by maximum regret (minimax), for coverage and for the months to 90 %."""
    runs, levers, scenario, censor = _regret_outcomes(c)
    parts = []
    for value, higher in ((REGRET_COVERAGE, True), (REGRET_MONTHS_KPI, False)):
        t = stats.regret_table(runs, value, levers, scenario, higher_is_better=higher,
                               censor_at=None if higher else censor)
        parts.append(t.assign(outcome=value, better="higher" if higher else "lower",
                              censored_at=np.nan if higher else censor))
    table = pd.concat(parts, ignore_index=True)
    table = table[["outcome", "better", *[k for k in table.columns
                                          if k not in ("outcome", "better")]]]
    # the figure's sidecar ``regret.csv`` (``regret_de.csv``) is the table, with provenance
    fig, data = exploration.regret_figure(table, levers, c.lang, text("title_regret", c.lang),
                                          REGRET_COVERAGE_MONTH,
                                          int(c.manifest.get("replications") or 0) or None)
    return c.save(fig, "regret", data)


def _sensitivity_inputs(c: _Ctx, name: str) -> tuple[pd.DataFrame, dict[str, Any],
                                                       dict[str, str], dict[str, Any]]:
    """A sensitivity folder's table ``name.csv``, its settings, the names of list elements
    (funding programmes) and provenance without a hash per design point."""
    path = c.folder / f"{name}.csv"
    sens = c.manifest.get("sensitivity")
    if not path.is_file() or not isinstance(sens, dict):
        raise ConfigError(f"figures: {name} needs a sensitivity folder ({name}.csv and the "
                          "manifest's sensitivity block)")
    cfg = c.manifest.get("config_of_first_point") or {}
    items = {f"funding.programmes.{i}": programme_label(str(p.get("name")), c.lang)
             for i, p in enumerate((cfg.get("funding") or {}).get("programmes") or [])}
    pts = c.t.get("points")
    prov = {**c.prov, "config_hashes": f"{0 if pts is None else len(pts)} design points, "
            "points.parquet", "config_hash_base": c.manifest.get("config_hash_base")}
    return pd.read_csv(path), sens, items, prov


def _sensitivity_charts(c: _Ctx, kind: str, threshold_key: str,
                        fields: Callable[[pd.DataFrame, dict[str, Any]], dict[str, Any]],
                        figure: Callable[..., tuple[Any, pd.DataFrame]]) -> list[str]:
    """One chart of ``kind`` (``morris``, ``sobol``) per output group; ``fields(table,
    settings)`` gives the caption's numbers."""
    df, sens, items, prov = _sensitivity_inputs(c, kind)
    files: list[str] = []
    caption = fields(df, sens)
    for group in dict.fromkeys(df["group"]):
        if str(group).startswith(CONTRAST_GROUP):  # the contrast_* recipes
            continue
        title = text(f"title_{kind}", c.lang,
                     group=sensitivity.output_group_label(group, c.lang))
        fig, data = figure(df[df["group"] == group], float(sens[threshold_key]), c.lang,
                           title, caption, items)
        files += [p.name for p in save_figure(
            fig, c.out, figure_stem(f"{kind}_{sensitivity.group_slug(group)}", c.lang), data,
            prov)]
    return files


def _morris_fields(c: _Ctx, df: pd.DataFrame, sens: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a Morris chart's note: parameters, trajectories, replications."""
    return {"k": df["parameter"].nunique(), "r": sens.get("trajectories"),
            "n": c.manifest.get("replications")}


def _sobol_fields(c: _Ctx, sens: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a Sobol chart's note: base sample, replications, design points."""
    return {"n_base": sens.get("sobol_n"), "n": c.manifest.get("replications"),
            "points": int(sens.get("sobol_n") or 0) * (len(sens.get("survivors") or []) + 2)}


def _morris(c: _Ctx) -> list[str]:
    """Morris μ*-σ chart per output group."""
    return _sensitivity_charts(
        c, "morris", "threshold",
        lambda df, sens: _morris_fields(c, df, sens), sensitivity.morris_figure)


def _sobol(c: _Ctx) -> list[str]:
    """Sobol S1 and ST chart per output group (none if no parameter survived)."""
    return _sensitivity_charts(
        c, "sobol", "st_threshold",
        lambda _df, sens: _sobol_fields(c, sens), sensitivity.sobol_figure)


def _contrast_charts(c: _Ctx, kind: str, threshold_key: str,
                     fields: Callable[[pd.DataFrame, dict[str, Any]], dict[str, Any]],
                     figure: Callable[..., tuple[Any, pd.DataFrame]]) -> list[str]:
    """One chart of ``kind`` (``morris``, ``sobol``) per decision (contrast) at the
    experiment's ``months``, its note saying what the output is and where its sign flips
    (``contrast_signs.csv``)."""
    df, sens, items, prov = _sensitivity_inputs(c, kind)
    signs, _, _, _ = _sensitivity_inputs(c, "contrast_signs")
    months = set(map(str, sens.get("months") or []))
    parsed = df["output"].map(decisions.parse_contrast)
    shown = df[parsed.map(lambda p: p is not None and p[2] in months).astype(bool)]
    files: list[str] = []
    caption = fields(df, sens)
    for group in dict.fromkeys(shown["group"]):
        label = str(group).removeprefix(CONTRAST_GROUP)
        words = decisions.contrast_label(label, c.lang)
        rows = shown[shown["group"] == group]
        note = " ".join((decisions.text("decision_note", c.lang, contrast=words),
                         decisions.flip_sentence(signs[signs["output"].isin(rows["output"])],
                                                 c.lang, items, with_contrast=False)))
        # a row per column of national, a panel per month
        fig, data = figure(rows, float(sens[threshold_key]), c.lang,
                           decisions.text(f"title_contrast_{kind}", c.lang, contrast=words),
                           caption, items, note, len(months))
        files += [p.name for p in save_figure(
            fig, c.out, figure_stem(f"contrast_{kind}_{sensitivity.group_slug(label)}",
                                    c.lang), data, prov)]
    return files


def _contrast_morris(c: _Ctx) -> list[str]:
    """Morris μ*-σ chart per decision at the experiment's months."""
    return _contrast_charts(
        c, "morris", "threshold",
        lambda df, sens: _morris_fields(c, df, sens), sensitivity.morris_figure)


def _contrast_sobol(c: _Ctx) -> list[str]:
    """Sobol S1 and ST chart per decision at the experiment's months (none if no
    parameter survived)."""
    return _contrast_charts(c, "sobol", "st_threshold",
                            lambda _df, sens: _sobol_fields(c, sens), sensitivity.sobol_figure)


def _contrast_evolution(c: _Ctx) -> list[str]:
    """ST and S1 of each surviving parameter over the years, one panel per decision; a
    chart per column of the decisions' outputs."""
    df, sens, items, prov = _sensitivity_inputs(c, "sobol")
    order = [str(x.get("label")) for x in sens.get("contrasts") or [] if isinstance(x, dict)]
    files: list[str] = []
    for column in sens.get("columns") or []:
        if not len(decisions.evolution_data(df, str(column))):
            continue  # nothing survived the screening: no indices to follow
        metric = label_metric(str(column), c.lang, unit=False)
        fig, data = decisions.evolution_figure(
            df, str(column), c.lang,
            decisions.text("title_contrast_evolution", c.lang, metric=metric),
            _sobol_fields(c, sens), items, order)
        files += [p.name for p in save_figure(
            fig, c.out, figure_stem(f"contrast_evolution_{column}", c.lang), data, prov)]
    return files


def _timeline(c: _Ctx) -> list[str]:
    """The rollout timeline: when half of each topic field's services were online somewhere
    and nationwide, all levels in one chart (from ``by_topic``), and for every level the
    timeline a run draws (per topic field built, published, reused, connected; per Land
    first and all municipalities connected) from the sweep's ``milestones`` (folders made
    before sweeps kept them get the first chart only)."""
    bt, facet, lev = c.main(c.t["by_topic"])
    title = text("title_timeline_experiment", c.lang)
    if facet is not None:
        title += f" ({label_value(facet, lev, c.lang, short=True)})"
    fig, data = timeline.topic_timeline_figure(bt, by=c.factor, lang=c.lang, title=title)
    files = c.save(fig, "timeline", data)
    ms = c.t.get("milestones")
    if ms is None or ms.empty:
        return files
    by = c.by(ms)
    horizon = float(c.t["national"]["month"].max() + 1)
    table = tables.milestone_table(ms, by)
    for key, sub in table.groupby(by, sort=False):
        levels = key if isinstance(key, tuple) else (key,)
        words = ", ".join(label_value(col, v, c.lang, short=True)
                          for col, v in zip(by, levels, strict=True))
        fig, data = timeline.timeline_figure(
            sub.drop(columns=by), c.lang, text("title_timeline_level", c.lang, level=words),
            horizon_months=horizon)
        files += c.save(fig, "timeline_" + "_".join(_slug(v) for v in levels), data)
    return files


def _slug(value: Any) -> str:
    """A design level as part of a file name (``efa``, ``1.5`` -> ``1p5``)."""
    return "".join(ch if ch.isalnum() else "p" if ch == "." else "-" for ch in str(value))


def _waterfall(c: _Ctx) -> list[str]:
    """What each mechanism switched off changes (experiment ``mechanisms``): population
    coverage and the gap online somewhere - nationwide, paired, from every mechanism on."""
    nat = c.t["national"]
    if c.factor != MECHANISMS_FACTOR or c.factor not in nat.columns or \
            c.reference not in set(nat[c.factor]):
        raise ConfigError(f"figures: waterfall needs the design of experiment mechanisms: "
                          f"reference.factor {MECHANISMS_FACTOR} with the level of every "
                          f"mechanism on (not {c.factor}={c.reference!r})")
    all_level = MECHANISMS_ALL if MECHANISMS_ALL in set(nat[c.factor]) else None
    try:
        table = waterfall.waterfall_table(nat, c.factor, c.reference, all_level)
    except ValueError as exc:
        raise ConfigError(f"figures: waterfall: {exc}") from None
    fig, data = waterfall.waterfall_figure(
        table, c.factor, c.lang, c.title, int(c.manifest.get("replications") or 0) or None)
    return c.save(fig, "waterfall", data)


def _discovery(c: _Ctx) -> list[str]:
    """Scenario discovery of the experiment's ``discovery:`` questions
    (:mod:`sim.discovery`): PRIM's peeling trajectories, the reported boxes and the feature
    scores of the uncertain inputs, each figure's sidecar its table."""
    if not c.manifest.get("discovery"):
        raise ConfigError("figures: discovery needs questions: a discovery: block in the "
                          "experiment file, as experiment exploration has")
    questions = discovery.parse_questions(c.manifest["discovery"])
    levers, scenario = design_roles(c.manifest.get("design"))
    nat, kp = c.t["national"], c.t["kpis"]
    design = {"point", "replication", *levers, *scenario}
    discovery.check_questions(questions, c.manifest.get("design"),
                              [k for k in kp.columns if k not in design],
                              month_label(int(nat["month"].max())))
    found = discovery.analyse(questions, kp, nat, scenario, int(c.manifest.get("seed") or 0))
    titles = {q.name: q.title_de if c.lang == "de" else q.title for q in questions}
    reps = int(c.manifest.get("replications") or 0) or None
    settings = {"min_coverage": discovery.MIN_COVERAGE,
                "density_tolerance": discovery.DENSITY_TOLERANCE,
                "max_quasi_p": discovery.MAX_QUASI_P}
    fig, data = discovery_charts.trajectory_figure(
        found.trajectories, found.boxes, titles, c.lang,
        discovery_charts.text("title_trajectory", c.lang), settings, reps)
    files = c.save(fig, "discovery_trajectory", data)
    fig, data = discovery_charts.boxes_figure(found.boxes, titles, c.lang,
                                              discovery_charts.text("title_boxes", c.lang),
                                              reps)
    files += c.save(fig, "discovery_boxes", data)
    fig, data = discovery_charts.scores_figure(found.scores, found.boxes, titles, scenario,
                                               c.lang,
                                               discovery_charts.text("title_scores", c.lang),
                                               discovery.N_TREES)
    return files + c.save(fig, "discovery_scores", data)


RECIPES: dict[str, Callable[[_Ctx], list[str]]] = {
    "fan": _fan, "difference": _difference, "small_multiples": _small_multiples,
    "maps": _maps, "time_to_target": _time_to_target, "cost_coverage": _cost_coverage,
    "sufficiency": _sufficiency, "heatmaps": _heatmaps, "robustness": _robustness,
    "state_differences": _state_differences, "running_costs": _running_costs,
    "size_classes": _size_classes, "morris": _morris, "sobol": _sobol,
    "regret": _regret, "timeline": _timeline, "waterfall": _waterfall,
    "discovery": _discovery,
    "contrast_morris": _contrast_morris, "contrast_sobol": _contrast_sobol,
    "contrast_evolution": _contrast_evolution,
}


__all__ = ["FACTORS", "FIRST_TARGETS", "MAIN_LEVEL", "RECIPES", "REFERENCE_DEFAULT",
           "REGRET_COVERAGE", "REGRET_COVERAGE_MONTH", "REGRET_MONTHS_KPI",
           "SUFFICIENT_HALF_WIDTH", "design_orders", "draw_experiment_figures",
           "fixed_axes_sentence",
           "read_experiment"]
