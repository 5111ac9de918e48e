"""Charts and maps from synthetic tidy tables shaped like the sweep runner's output.

Every figure builder runs in English and German; the saved files are checked for the four
formats, the provenance header and that the sidecar CSV holds exactly the plotted numbers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.figures import axes, charts, geo, labels, levels, save, style, tables

STRATEGIES = list(levels.STRATEGY_ORDER)
MID = {"efa": 50.0, "efv": 44.0, "einzel": 70.0, "mixed": 47.0}
N_REP = 5
HORIZON = 84  # months 2018-01 .. 2024-12
LANGS: list[labels.Lang] = ["en", "de"]


def _logistic(m: np.ndarray | float, mid: float | np.ndarray, k: float = 0.1) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-k * (np.asarray(m) - mid)))


@pytest.fixture(scope="module")
def national() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    months = np.arange(HORIZON)
    dates = pd.date_range("2018-01-01", periods=HORIZON, freq="ME")
    frames = []
    for p, (funding, strategy) in enumerate(
            (f, s) for f in ("none", "konjunkturpaket") for s in STRATEGIES):
        for r in range(N_REP):
            mid = MID[strategy] + (6 if funding == "none" else 0) + rng.normal(0, 4)
            cov = _logistic(months, mid)
            frames.append(pd.DataFrame({
                "point": p, "replication": r, "strategy": strategy, "funding": funding,
                "month": months, "date": dates, "online_anywhere": np.round(557 * cov),
                "nationwide": np.round(557 * cov ** 2), "online_anywhere_share": cov,
                "nationwide_share": cov ** 2, "population_coverage": cov,
                "n_services": 557}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def by_state() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    months = np.arange(2, HORIZON, 3)  # ... 2021-12, 2022-03, ... 2022-12
    dates = pd.date_range("2018-01-01", periods=HORIZON, freq="ME")[months]
    frames = []
    for p, strategy in enumerate(STRATEGIES):
        for r in range(N_REP):
            for state in geo.region_keys("land"):
                v = _logistic(months, MID[strategy] + rng.normal(0, 5))
                frames.append(pd.DataFrame({
                    "point": p, "replication": r, "strategy": strategy,
                    "funding": "konjunkturpaket", "month": months, "date": dates,
                    "state": state, "available_share": v, "population_coverage": v}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def by_kreis() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    kreise = geo.region_keys("kreis")
    frames = []
    for p, strategy in enumerate(STRATEGIES[:2]):
        for r in range(3):
            for date in (pd.Timestamp("2022-12-31"), pd.Timestamp("2024-12-31")):
                m = (date.year - 2018) * 12 + date.month - 1
                mid = MID[strategy] + rng.normal(0, 8, len(kreise))
                frames.append(pd.DataFrame({
                    "point": p, "replication": r, "strategy": strategy,
                    "funding": "konjunkturpaket", "date": date, "kreis_ags": kreise,
                    "population": 100_000, "population_coverage": _logistic(m, mid)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def kpis(national: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (point, rep), g in national.groupby(["point", "replication"]):
        v = g.sort_values("month")["population_coverage"].to_numpy()
        row = {"point": point, "replication": rep, "strategy": g["strategy"].iloc[0],
               "funding": g["funding"].iloc[0], "population_coverage_2022_12": v[59]}
        for target in (50, 90):
            hit = np.flatnonzero(v >= target / 100)
            row[f"months_to_{target}pct_population_coverage"] = (
                float(hit[0]) if len(hit) else np.nan)
        row["spent_eur_programmes"] = 0.0 if row["funding"] == "none" else 2e9 + 1e8 * rep
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = []
    for strategy in ("efa", "efv"):
        for dev in (0.5, 1.0, 1.5):
            for mun in (0.5, 1.0, 2.0):
                for r in range(3):
                    mid = MID[strategy] + 18 / dev + 10 / mun - 28 + rng.normal(0, 2)
                    m90 = mid + np.log(9) / 0.1
                    rows.append({"replication": r, "strategy": strategy,
                                 "staffing.dev_fte_factor": dev,
                                 "staffing.municipal_fte_factor": mun,
                                 "population_coverage_2022_12": float(_logistic(59, mid)),
                                 "months_to_90pct_population_coverage":
                                     m90 if m90 < HORIZON else np.nan})
    return pd.DataFrame(rows)


def _diffs(national: pd.DataFrame) -> dict[str, pd.DataFrame]:
    n = national[national["funding"] == "konjunkturpaket"]
    piv = n.pivot_table(index=["replication", "date"], columns="strategy",
                        values="population_coverage")
    out = {}
    for s in ("efv", "einzel"):
        d = (piv[s] - piv["efa"]).groupby(level="date")
        m, half = d.mean(), 2.8 * d.std() / np.sqrt(N_REP)
        out[f"{s} - efa"] = pd.DataFrame({"date": m.index, "mean_diff": m.to_numpy(),
                                          "lo": (m - half).to_numpy(),
                                          "hi": (m + half).to_numpy()})
    return out


def _texts(fig: Figure) -> str:
    """All text of a figure (titles, labels, tick labels, annotations, legends)."""
    fig.canvas.draw()
    parts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# Figures build in both languages
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_fan_figure_data_are_the_medians_drawn(national: pd.DataFrame, lang: labels.Lang) -> None:
    nat = national[national["funding"] == "konjunkturpaket"]
    fig, data = charts.fan_figure(nat, lang=lang)
    expected = nat.groupby(["strategy", "date"])["population_coverage"].median()
    got = data.set_index(["strategy", "date"])["median"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(),
                                   check_names=False)
    q95 = nat.groupby(["strategy", "date"])["population_coverage"].quantile(0.95)
    np.testing.assert_allclose(data.set_index(["strategy", "date"])["q95"].sort_index(),
                               q95.sort_index())
    assert set(data["n_replications"]) == {N_REP}
    # the lines drawn are exactly the medians of the table
    ax = fig.axes[0]
    efa = data[data["strategy"] == "efa"].sort_values("date")["median"].to_numpy()
    drawn = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.get_lines()]
    assert any(y.shape == efa.shape and np.array_equal(y, efa) for y in drawn)
    text = _texts(fig)
    assert ("Bevölkerungsabdeckung" if lang == "de" else "Population coverage") in text
    assert ("EfA (Einer für Alle)" if lang == "de" else "EfA (one for all)") in text
    plt.close(fig)


@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_builds(national: pd.DataFrame, by_state: pd.DataFrame,
                             by_kreis: pd.DataFrame, kpis: pd.DataFrame,
                             sweep: pd.DataFrame, lang: labels.Lang) -> None:
    figures = {
        "facet_fan": charts.fan_figure(national, facet="funding", value="nationwide_share",
                                       lang=lang),
        "difference": charts.difference_figure(_diffs(national), lang=lang,
                                               n_replications=N_REP),
        "small_multiples": charts.small_multiples_figure(by_state, lang=lang),
        "map_land": charts.map_figure(by_state, "land", dates=["2021-12", "2022-12"],
                                      lang=lang),
        "map_kreis": charts.map_figure(by_kreis, "kreis", lang=lang),
        "heatmap": charts.heatmap_figure(sweep, "staffing.dev_fte_factor",
                                         "staffing.municipal_fte_factor",
                                         "months_to_90pct_population_coverage",
                                         facet="strategy", lang=lang),
        "time_to_target": charts.time_to_target_figure(
            kpis[kpis["funding"] == "konjunkturpaket"], lang=lang,
            horizon_months=HORIZON),
        "cost": charts.cost_coverage_figure(kpis, by=["strategy", "funding"],
                                            lang=lang),
    }
    for name, (fig, data) in figures.items():
        assert isinstance(fig, Figure), name
        assert len(data) > 0, name
        plt.close(fig)
    sm = figures["small_multiples"][1]
    assert set(sm["state"]) == set(geo.region_keys("land"))
    land = figures["map_land"][1]
    assert sorted(land["date"].dt.strftime("%Y-%m").unique()) == ["2021-12", "2022-12"]
    kreis = figures["map_kreis"][1]
    assert kreis["region"].nunique() == 400
    expected = (by_kreis.groupby(["strategy", "date", "kreis_ags"])["population_coverage"]
                .median())
    np.testing.assert_allclose(kreis.set_index(["strategy", "date", "region"])["median"],
                               expected.to_numpy())
    cost = figures["cost"][1]
    assert len(cost) == 8 and {"x_lo", "x_hi", "y_lo", "y_hi"} <= set(cost.columns)


def test_map_panels_share_one_colour_scale_with_a_colour_bar(by_state: pd.DataFrame) -> None:
    fig, _ = charts.map_figure(by_state, "land", dates=["2022-12"], lang="de")
    maps = [ax for ax in fig.axes if not ax.axison]
    assert len(maps) == 4  # one per strategy
    colorbars = [ax for ax in fig.axes if ax.axison]
    assert len(colorbars) == 1
    assert "Bevölkerungsabdeckung (%)" in _texts(fig)
    for ax in maps:  # equal aspect after the cos(51°) scaling: no distortion by layout
        assert ax.get_aspect() == 1.0
    plt.close(fig)


def test_time_to_target_says_not_reached_instead_of_zero(kpis: pd.DataFrame) -> None:
    k = kpis[kpis["funding"] == "konjunkturpaket"].copy()
    k.loc[k["strategy"] == "einzel", "months_to_90pct_population_coverage"] = np.nan
    summary = tables.summarise_kpi(k, "strategy", "months_to_90pct_population_coverage")
    row = summary.set_index("strategy").loc["einzel"]
    assert np.isnan(row["median"]) and row["n_reached"] == 0
    words: dict[labels.Lang, str] = {"en": "median not reached", "de": "nicht erreicht"}
    for lang in LANGS:
        fig, ax = plt.subplots()
        axes.time_to_target_bars(ax, summary, lang=lang, horizon_months=HORIZON)
        assert words[lang] in _texts(fig)
        plt.close(fig)


def test_quantiles_treat_not_reached_as_later_than_everything() -> None:
    k = pd.DataFrame({"replication": range(4), "strategy": "efa",
                      "months_to_50pct_population_coverage": [10.0, 20.0, np.nan, np.nan]})
    s = tables.summarise_kpi(k, "strategy", "months_to_50pct_population_coverage")
    assert np.isnan(s["median"].iloc[0])  # 2 of 4 never reached: the median is not reached
    assert s["lo"].iloc[0] == pytest.approx(11.5)
    assert np.isnan(s["hi"].iloc[0]) and s["n_reached"].iloc[0] == 2


# --------------------------------------------------------------------------------------
# Saving: four files, provenance, sidecar = plotted data
# --------------------------------------------------------------------------------------

def test_save_figure_writes_four_files_and_the_csv_round_trips(
        national: pd.DataFrame, tmp_path: Path) -> None:
    nat = national[national["funding"] == "none"]
    fig, data = charts.fan_figure(nat, lang="de")
    prov = {"config_hash": "3f2a9c", "seeds": {"root": 1, "replications": [0, 1, 2]},
            "experiment": "efa_vs_efv"}
    out = tmp_path / "figs" / "nested"
    paths = save.save_figure(fig, out, "fan_coverage", data, prov)
    assert [p.name for p in paths] == ["fan_coverage.png", "fan_coverage.svg",
                                       "fan_coverage.pdf", "fan_coverage.csv"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert not plt.fignum_exists(fig.number)  # closed
    png = plt.imread(paths[0])
    assert png.shape[1] >= fig.get_figwidth() * 200  # at least 200 dpi
    assert paths[1].read_text()[:200].lstrip().startswith("<?xml")
    assert paths[2].read_bytes()[:5] == b"%PDF-"

    lines = paths[3].read_text(encoding="utf-8").splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    assert "# config_hash: 3f2a9c" in header
    assert "# seeds.root: 1" in header and "# seeds.replications: [0, 1, 2]" in header
    assert "# experiment: efa_vs_efv" in header
    assert any(ln.startswith("# packages.matplotlib: ") for ln in header)
    assert lines[len(header)].startswith("strategy,date,")  # header first, then the data

    back = pd.read_csv(paths[3], comment="#", parse_dates=["date"])
    assert list(back.columns) == list(data.columns)
    assert len(back) == len(data)
    pd.testing.assert_frame_equal(back, data.reset_index(drop=True), check_dtype=False,
                                  rtol=1e-12)
    medians = nat.groupby(["strategy", "date"])["population_coverage"].median()
    np.testing.assert_allclose(back.set_index(["strategy", "date"])["median"].sort_index(),
                               medians.sort_index(), rtol=1e-12)


def test_save_figure_rejects_text_that_would_read_as_a_comment(tmp_path: Path) -> None:
    fig = plt.figure()
    with pytest.raises(ValueError, match="'label'"):
        save.save_figure(fig, tmp_path, "x", pd.DataFrame({"label": ["a#b"]}), {})
    plt.close(fig)


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

def test_a_single_run_is_never_charted(national: pd.DataFrame) -> None:
    one = national[(national["replication"] == 0) & (national["funding"] == "none")]
    with pytest.raises(ValueError, match="never a single run"):
        tables.fan_table(one)


def test_pooling_design_points_is_refused(national: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="funding"):
        tables.fan_table(national, by="strategy")  # two fundings per strategy


# --------------------------------------------------------------------------------------
# German number and date formats
# --------------------------------------------------------------------------------------

def test_german_formatter_uses_decimal_commas() -> None:
    assert labels.format_number(1234.5, "de", 1) == "1.234,5"
    assert labels.format_number(1234.5, "en", 1) == "1,234.5"
    assert labels.format_number(-0.25, "de", 2) == "\u22120,25"
    assert labels.format_number(3.0, "de", 0, sign=True) == "+3"
    assert labels.format_percent(0.125, "de", 1) == "12,5\u00a0%"
    assert labels.format_percent(0.125, "en", 1) == "12.5%"
    fmt = labels.percent_formatter("de")
    fmt.set_locs([0.0, 0.125, 0.25])
    assert [fmt(v, i) for i, v in enumerate([0.0, 0.125, 0.25])] == ["0,0", "12,5", "25,0"]
    assert labels.number_formatter("de", decimals=2)(0.5, 0) == "0,50"
    assert labels.format_month("2022-12-31", "de") == "Dezember 2022"
    assert labels.format_month("2021-03-31", "de", short=True) == "März 2021"
    assert labels.format_month("2022-12-31", "en", short=True) == "Dec 2022"
    with pytest.raises(ValueError, match="lang"):
        labels.format_number(1.0, "fr", 1)  # type: ignore[arg-type]


def test_german_figure_ticks_have_decimal_commas(sweep: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"columns \['strategy'\] vary"):
        tables.heatmap_table(sweep, "staffing.dev_fte_factor",
                             "staffing.municipal_fte_factor", "population_coverage_2022_12")
    efa = sweep[sweep["strategy"] == "efa"]
    fig, _ = charts.heatmap_figure(efa, "staffing.dev_fte_factor",
                                   "staffing.municipal_fte_factor",
                                   "population_coverage_2022_12", lang="de")
    text = _texts(fig)
    assert "0,5" in text and "1,5" in text and "0.5" not in text
    assert "\u00a0%" in text  # cell annotations: "45 %"
    plt.close(fig)


def test_strategy_styles_differ_in_colour_line_and_marker() -> None:
    styles = [style.STRATEGY_STYLES[s] for s in STRATEGIES]
    for key in ("color", "linestyle", "marker"):
        assert len({st[key] for st in styles}) == len(STRATEGIES)


# --------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------

def test_geo_loads_16_laender_and_400_kreise() -> None:
    land = geo.region_polygons("land")
    kreis = geo.region_polygons("kreis")
    assert len(land) == 16 and len(kreis) == 400
    assert geo.region_keys("land") == ["SH", "HH", "NI", "HB", "NW", "HE", "RP", "BW", "BY",
                                       "SL", "BE", "BB", "MV", "SN", "ST", "TH"]
    assert all(len(k) == 5 and k.isdigit() for k in kreis)
    assert geo.region_names("kreis")["01001"] == "Flensburg"
    assert {geo.region_states("kreis")[k] for k in kreis} == set(land)
    ring = land["BY"][0][0]
    assert ring.ndim == 2 and ring.shape[1] == 2 and np.array_equal(ring[0], ring[-1])
    # Brandenburg has Berlin as a hole, Niedersachsen has Bremen's territory as holes
    assert any(len(poly) > 1 for poly in land["BB"])
    assert any(len(poly) > 1 for poly in land["NI"])
    x0, x1, y0, y1 = geo.bounds("land")
    assert 47 < y0 < 47.5 and 55 < y1 < 55.2  # latitude unchanged
    assert x1 - x0 == pytest.approx((15.05 - 5.87) * np.cos(np.radians(51)), abs=0.05)


def test_draw_regions_rejects_unknown_keys_by_name() -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="'XX'"):
        geo.draw_regions(ax, {"SH": 0.5, "XX": 0.1}, level="land")
    with pytest.raises(ValueError, match="'99999'"):
        geo.draw_regions(ax, {"01001": 0.5, "99999": 0.1}, level="kreis")
    with pytest.raises(ValueError, match="level"):
        geo.draw_regions(ax, {}, level="gemeinde")  # type: ignore[arg-type]
    geo.draw_regions(ax, {"SH": 0.5}, level="land")  # missing regions are allowed (grey)
    assert not ax.axison and ax.get_aspect() == 1.0
    plt.close(fig)


# --------------------------------------------------------------------------------------
# Levels of strategy, funding and operation: one table of labels, styles, orders
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("factor", list(levels.LEVELS))
def test_every_option_file_has_a_level_entry_with_all_fields(factor: str) -> None:
    from sim.config import CONF_DIR
    from sim.mechanisms import ALL, MECHANISMS, NONE
    options = {p.stem for p in (CONF_DIR / factor).glob("*.yaml")}
    if factor == "mechanisms.switched_off":  # a key, not a group: its allowed values
        options = {NONE, *MECHANISMS, ALL}
    table = levels.LEVELS[factor]
    assert options, factor
    missing = sorted(options - set(table))
    assert not missing, (f"conf/{factor}/ has {missing} without an entry in "
                         f"sim/figures/levels.py ({factor.upper()}_LEVELS)")
    assert not sorted(set(table) - options), "an entry without an option file"
    for key, lv in table.items():
        assert all(v not in (None, "") for v in lv), (factor, key)
        assert lv.color in style.PALETTE, (factor, key, lv.color)
        assert matplotlib.colors.is_color_like(style.LEVEL_STYLES[factor][key]["color"])
        assert key in labels.VALUE_LABELS[factor]["de"]
        assert key in labels.SHORT_LABELS[factor]["en"]


@pytest.mark.parametrize("factor", list(levels.LEVELS))
def test_every_level_has_labels_and_a_distinct_style(factor: str) -> None:
    levels_of = list(levels.LEVELS[factor])
    styles = style.group_styles([factor], [(v,) for v in levels_of])
    # greyscale: line style and marker differ; colours too, while the palette has enough
    distinct = ("color", "linestyle", "marker") if len(levels_of) <= len(style.PALETTE) else (
        "linestyle", "marker")
    for key in distinct:
        assert len({str(styles[(v,)][key]) for v in levels_of}) == len(levels_of), key
    for lang in LANGS:
        long = [labels.label_value(factor, v, lang) for v in levels_of]
        short = [labels.label_value(factor, v, lang, short=True) for v in levels_of]
        assert len(set(long)) == len(levels_of) and len(set(short)) == len(levels_of)
        assert not set(long) & set(levels_of)  # all labelled (a short label may be the key)
        assert all("#" not in s for s in long + short)
    assert labels.label_column("operation", "en") == "Running-cost payer after 2022"
    assert labels.label_column("operation", "de") == "Betriebskostenträger ab 2023"
    assert "Königstein" in labels.label_value("funding", "koenigstein", "en", short=True)
    assert "20%" in labels.label_value("funding", "municipal_share", "en", short=True)


def test_one_parameter_label_table_serves_axes_panels_and_the_report() -> None:
    # axis labels (sentence case), in both languages
    assert labels.label_column("staffing.dev_fte_factor", "en") == "Developer staff (× baseline)"
    assert labels.label_column("staffing.municipal_fte_factor", "de") == (
        "Kommunales Personal (× Basis)")
    # the robustness panels: the short phrase; the calibration report: the full name
    key = "sharing.efa.decision_months"
    assert labels.param_label(key, "en", short=True) == "EfA decision delay (months)"
    assert labels.param_label(key, sentence=True) == "EfA reuse decision delay (months)"
    assert labels.param_label("sharing.efa.propensity", "de", short=True) == (
        "EfA-Nachnutzungsneigung")
    assert labels.param_label("development.effort_person_days", sentence=True) == (
        "Development effort (person-days)")
    assert labels.param_label("no.such.key", "de", sentence=True) == "no.such.key"
    for entry in labels.PARAM_LABELS.values():
        assert entry.en and entry.de


def test_level_orders_follow_the_experiment_files_and_the_design() -> None:
    from omegaconf import OmegaConf

    from sim.config import CONF_DIR
    for name, factor, order in (("funding_allocation", "funding", levels.FUNDING_ORDER),
                                ("cliff", "operation", levels.OPERATION_ORDER)):
        grid = OmegaConf.load(CONF_DIR / "experiment" / f"{name}.yaml")["design"]["grid"]
        assert list(order[:len(grid[factor])]) == list(grid[factor])
    df = pd.DataFrame({"funding": ["none", "konjunkturpaket", "koenigstein"]})
    assert style.groups_of(df, ["funding"])[0] == ("konjunkturpaket",)
    with style.level_order({"funding": ["none", "konjunkturpaket"]}):
        assert [k[0] for k in style.groups_of(df, ["funding"])] == [
            "none", "konjunkturpaket", "koenigstein"]
    assert style.groups_of(df, ["funding"])[0] == ("konjunkturpaket",)  # restored


def test_difference_figure_wraps_many_comparisons_and_names_the_levels() -> None:
    dates = pd.date_range("2018-01-31", periods=24, freq="ME")
    rules = [v for v in levels.FUNDING_ORDER if v not in ("konjunkturpaket", "historical")]
    diffs = pd.concat([pd.DataFrame({"comparison": f"{v} - konjunkturpaket", "date": dates,
                                     "mean_diff": 0.01 * i, "lo": 0.0, "hi": 0.02 * i})
                       for i, v in enumerate(rules)], ignore_index=True)
    for lang in LANGS:
        fig, data = charts.difference_figure(diffs, lang=lang, factor="funding",
                                             n_replications=5)
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert len(visible) == len(rules) == 7
        rows = {round(ax.get_position().y0, 3) for ax in visible}
        assert len(rows) == 2  # four panels in the first row, three in the second
        text = _texts(fig)
        ref = labels.label_value("funding", "konjunkturpaket", lang, short=True)
        assert ref in text.replace("\n", " ")  # the reference, once, in the y label
        assert len(data) == len(diffs)
        plt.close(fig)


# --------------------------------------------------------------------------------------
# Per-Land differences, running costs, size classes: sidecar = hand computation
# --------------------------------------------------------------------------------------

def _by_state_levels() -> pd.DataFrame:
    """Three funding levels, 3 replications, 16 Länder, 3 dates; coverage = a per-level
    offset + a Land effect + a replication effect shared by all levels (CRN)."""
    states = geo.region_keys("land")
    offset = {"konjunkturpaket": 0.0, "koenigstein": 0.02, "none": -0.05}
    dates = pd.to_datetime(["2022-06-30", "2022-12-31", "2026-12-31"])
    rows = []
    for lv, off in offset.items():
        for r in range(3):
            for i, st in enumerate(states):
                for j, d in enumerate(dates):
                    rows.append({"replication": r, "funding": lv, "strategy": "efa",
                                 "date": d, "state": st,
                                 "population_coverage": 0.3 + 0.01 * i + 0.05 * r + 0.1 * j
                                 + off * (1 + j) + 0.001 * r * (lv == "none")})
    return pd.DataFrame(rows)


def test_state_differences_sidecar_is_the_paired_mean_per_land(tmp_path: Path) -> None:
    bs = _by_state_levels()
    fig, _ = charts.state_difference_figure(bs, "funding", "konjunkturpaket",
                                            dates=["2022-12", "2026-12"], lang="de")
    assert "Schleswig-Holstein" in _texts(fig) and "Dezember 2026" in _texts(fig)
    plt.close(fig)
    fig, data = charts.state_difference_figure(bs, "funding", "konjunkturpaket",
                                               dates=["2022-12", "2026-12"], lang="en")
    assert len([ax for ax in fig.axes if ax.get_images()]) == 2  # two panels
    save.save_figure(fig, tmp_path, "state_differences", data, {"experiment": "t"})
    side = pd.read_csv(tmp_path / "state_differences.csv", comment="#", parse_dates=["date"])
    assert list(side["state"].unique()) == geo.region_keys("land")  # official key order
    assert set(side["funding"]) == {"koenigstein", "none"}  # reference left out
    wide = bs.pivot_table(index=["date", "state", "replication"], columns="funding",
                          values="population_coverage")
    for lv in ("koenigstein", "none"):
        hand = (wide[lv] - wide["konjunkturpaket"]).groupby(level=["date", "state"]).mean()
        got = side[side["funding"] == lv].set_index(["date", "state"])["mean_diff"]
        assert len(got) == 32
        np.testing.assert_allclose(got.to_numpy(), hand.loc[got.index].to_numpy(),
                                   atol=1e-12)
    # koenigstein: the same +2 pp / +4 pp in every replication: a zero-width interval
    k = side[(side["funding"] == "koenigstein")]
    np.testing.assert_allclose(k["mean_diff"], np.where(k["date"].dt.year == 2022, 0.04,
                                                        0.06), atol=1e-12)
    assert set(side["n_pairs"]) == {3}


def _costs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Running costs of two payer rules, 3 replications; replication 2 of 'reusers' has
    no rows at all (no costs), 2022 is before the window."""
    rows = []
    for r in range(3):
        for y in (2022, 2023, 2024):
            rows.append({"operation": "central", "replication": r, "year": y,
                         "payer": "bund", "eur": 1e6 * (r + 1)})
        if r < 2:
            rows.append({"operation": "reusers", "replication": r, "year": 2023,
                         "payer": "land", "eur": 2e6 * (r + 1)})
            rows.append({"operation": "reusers", "replication": r, "year": 2024,
                         "payer": "municipal", "eur": 5e5})
    runs = pd.DataFrame([{"operation": o, "replication": r}
                         for o in ("central", "reusers") for r in range(3)])
    return pd.DataFrame(rows), runs


def test_running_costs_sidecar_is_the_median_of_the_sums(tmp_path: Path) -> None:
    costs, runs = _costs()
    fig, _ = charts.running_costs_figure(costs, "operation", years=(2023, 2024), runs=runs,
                                         lang="de")
    assert "Kommunen" in _texts(fig)
    plt.close(fig)
    fig, data = charts.running_costs_figure(costs, "operation", years=(2023, 2024),
                                            runs=runs, lang="en")
    assert len(fig.axes) == 2
    save.save_figure(fig, tmp_path, "running_costs", data, {"experiment": "t"})
    side = pd.read_csv(tmp_path / "running_costs.csv", comment="#")
    tot = side[side["panel"] == "total"].set_index(["operation", "payer"])
    # central: Bund pays 2 years x (1, 2, 3) M EUR -> median 4 M EUR; nobody else pays
    assert tot.loc[("central", "bund"), "median"] == pytest.approx(4e6)
    assert tot.loc[("central", "land"), "median"] == 0.0
    # reusers: Länder (2, 4, 0) M EUR -> median 2 M; municipalities (0.5, 0.5, 0) -> 0.5 M;
    # totals (2.5, 4.5, 0) M -> median 2.5 M, 5 % quantile 0.25 M
    assert tot.loc[("reusers", "land"), "median"] == pytest.approx(2e6)
    assert tot.loc[("reusers", "municipal"), "median"] == pytest.approx(5e5)
    assert tot.loc[("reusers", "total"), "median"] == pytest.approx(2.5e6)
    assert tot.loc[("reusers", "total"), "q05"] == pytest.approx(0.25e6)
    assert set(tot["n_replications"]) == {3}
    per_year = side[side["panel"] == "year"].set_index(["operation", "year"])["median"]
    assert per_year.loc[("central", 2022)] == pytest.approx(2e6)  # before the window too
    assert per_year.loc[("reusers", 2023)] == pytest.approx(2e6)
    assert per_year.loc[("reusers", 2024)] == pytest.approx(5e5)
    # without years (totals from the KPIs): one panel over the whole horizon
    totals = costs.groupby(["operation", "replication", "payer"], as_index=False)["eur"].sum()
    fig, data = charts.running_costs_figure(totals, "operation", runs=runs, lang="en")
    assert len(fig.axes) == 1 and set(data["panel"]) == {"total"}
    assert data.set_index(["operation", "payer"]).loc[("central", "bund"), "median"] == (
        pytest.approx(6e6))
    plt.close("all")


def test_size_class_sidecar_is_the_median_per_class(tmp_path: Path) -> None:
    classes = list(labels.SIZE_CLASSES)
    dates = pd.to_datetime(["2022-12-31", "2030-12-31"])
    rows = []
    for lv in ("central", "reusers"):
        for r in range(5):
            for i, sc in enumerate(classes):
                for j, d in enumerate(dates):
                    rows.append({"replication": r, "operation": lv, "date": d,
                                 "size_class": sc, "n_admins": 0 if sc == ">=500k" else 10,
                                 "onboarded_share": 0.1 * i + 0.2 * j + 0.01 * r
                                 - (0.05 if lv == "reusers" else 0.0)})
    by_size = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # order must not matter
    fig, _ = charts.size_class_figure(by_size, by="operation", lang="de")
    assert "<5 Tsd." in _texts(fig) and "≥500 Tsd." not in _texts(fig)
    plt.close(fig)
    fig, data = charts.size_class_figure(by_size, by="operation", lang="en")
    assert len(fig.axes) == 2
    save.save_figure(fig, tmp_path, "size_classes", data, {"experiment": "t"})
    side = pd.read_csv(tmp_path / "size_classes.csv", comment="#", parse_dates=["date"])
    assert ">=500k" not in set(side["size_class"])  # no administrations of that size
    assert list(side["size_class"].unique()) == classes[:-1]  # small to large
    hand = (by_size[by_size["n_admins"] > 0]
            .groupby(["operation", "date", "size_class"])["onboarded_share"])
    got = side.set_index(["operation", "date", "size_class"])
    np.testing.assert_allclose(got["median"], hand.median().loc[got.index], atol=1e-12)
    np.testing.assert_allclose(got["q95"], hand.quantile(0.95).loc[got.index], atol=1e-12)
    row = got.loc[("reusers", pd.Timestamp("2022-12-31"), "<5k")]
    assert row["median"] == pytest.approx(0.02 - 0.05) and row["n_replications"] == 5


def test_only_coinciding_markers_are_dodged_the_others_stay_at_their_medians() -> None:
    from sim.figures.axes import DODGE_PT, _dodge_coinciding
    table = pd.DataFrame({"x_lo": [0.0, 0.0], "x_hi": [3e9, 3e9], "y_lo": [0.3, 0.3],
                          "y_hi": [0.6, 0.6]})
    shifts = _dodge_coinciding({"a": (1.5e8, 0.45), "b": (1.5e8, 0.45), "c": (8e8, 0.37),
                                "d": (1.6e8, 0.35)}, table)
    assert shifts == {"a": -DODGE_PT / 2, "b": DODGE_PT / 2, "c": 0.0, "d": 0.0}
