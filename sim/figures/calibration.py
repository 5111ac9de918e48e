"""Figures of a calibration folder (``ozg-sim-calibrate``), drawn only from its saved tables.

- ``fit``: one panel per observable series: the posterior predictive median and 5-95 %
  band from 2018 to the end of the horizon, the observed points with their measurement
  error (hollow: held out by a backtest), and a line at the end of the fitted period.
- ``residuals``: the standardised residual of every target against the posterior
  predictive.
- ``posterior``: per parameter, the weighted histogram of the posterior sample against the
  uniform prior, with the estimate (posterior median) and the 90 % interval.
- ``backtest`` (with ``until``): every held-out count with the model's predictive band and
  the naive forecasts, and the mean absolute error of each.

Each figure builder returns ``(fig, plotted_data)``; :func:`draw_calibration_figures`
saves them with :func:`sim.figures.save.save_figure` (PNG/SVG/PDF and a sidecar CSV). The
words of the series and scopes are in :mod:`sim.figures.labels` (:data:`SERIES_SHORT`,
:data:`SERIES_PANEL_TITLES`, :data:`SCOPE_LABELS`), as are the parameter names
(:func:`~sim.figures.labels.param_label`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.figures.axes import date_axis, panel_letter, share_axis
from sim.figures.charts import new_figure
from sim.figures.labels import (
    SCOPE_LABELS,
    SERIES_PANEL_TITLES,
    format_month,
    number_formatter,
    param_label,
    series_short,
    wrap_unit,
)
from sim.figures.save import save_figure
from sim.figures.style import OKABE_ITO, WIDTH_FULL, styled

MODEL_COLOR = OKABE_ITO["blue"]
OBSERVED_COLOR = OKABE_ITO["black"]
HOLDOUT_COLOR = "0.55"
ESTIMATE_COLOR = OKABE_ITO["red"]
#: Marker, edge colour and face colour of the design points of each round.
#: Marker and colour of each naive forecaster of a backtest.
FORECASTER_STYLES = {"straight_line": ("s", OKABE_ITO["orange"], "straight line"),
                     "logistic_curve": ("D", OKABE_ITO["green"], "logistic curve"),
                     "persistence": ("v", OKABE_ITO["purple"], "persistence")}
KIND_COLORS = {"online_anywhere": OKABE_ITO["blue"], "federal_online": OKABE_ITO["green"],
               "nationwide_reported": OKABE_ITO["orange"],
               "nationwide_nonfederal": OKABE_ITO["red"],
               "reported_in_land": OKABE_ITO["purple"], "online_in_land": OKABE_ITO["sky"]}
KIND_MARKERS = {"online_anywhere": "o", "federal_online": "s", "nationwide_reported": "s",
                "nationwide_nonfederal": "D", "reported_in_land": "v", "online_in_land": "P"}


def reported_date(date: str) -> str:
    """A target's date as reported: ``2022-07`` -> ``Jul 2022``, ``2020-10-01`` ->
    ``1 Oct 2020``."""
    ts = pd.Timestamp(date)
    month = format_month(ts, short=True)
    return month if len(str(date)) <= 7 else f"{ts.day} {month}"


# --------------------------------------------------------------------------- fit


def fit_figure(projection: pd.DataFrame, fit: pd.DataFrame, fit_end: pd.Timestamp,
               catalogue: tuple[int, int] = (575, 115), title: str | None = None
               ) -> tuple[Figure, pd.DataFrame]:
    """Panels of the observable series with targets: calibrated model and observed targets
    (the projection may hold more series, e.g. every Land's count for the patterns).

    Parameters
    ----------
    projection
        ``projection.parquet``: ``series, label, scope, date, n_replications, median,
        q05, q95``.
    fit
        ``fit_table.csv``: ``series, month_end, observed, sigma, bound``.
    fit_end
        Last day of the calibration period (a vertical line).
    catalogue
        Services and federal services of the official catalogue (for the note).
    """
    with_targets = set(fit["series"])
    series = [s for s in dict.fromkeys(projection["series"]) if s in with_targets]
    n = len(series)
    ncol = n if n <= 3 else (2 if n == 4 else 3)
    nrow = math.ceil(n / ncol)
    n_rep = int(projection["n_replications"].iloc[0])
    hold = "role" in fit.columns and bool((fit["role"] == "holdout").any())
    note = (f"Lines: median of {n_rep} posterior predictive simulations (each at a parameter "
            "draw from the posterior); bands: their 5–95 % range (parameter uncertainty and "
            "chance). Markers: official counts as a share of the catalogue "
            f"of the same scope ({catalogue[0]} services, {catalogue[1]} federal, "
            f"{catalogue[0] - catalogue[1]} non-federal); bars: ± one "
            "measurement error σ; triangles: lower bounds (\"more than\")"
            + ("; grey markers: counts held out (not fitted), the backtest" if hold else "")
            + ". Model shares refer to the simulated catalogue. Dashed line: end of the "
            "fitted period; right of it the model is a forecast.")
    data = []
    with styled():
        fig, body = new_figure(WIDTH_FULL if ncol > 1 else 4.0,
                                       2.25 * nrow + 0.4, note, title)
        axes = np.atleast_1d(body.subplots(nrow, ncol, squeeze=False)).ravel()
        for i, sid in enumerate(series):
            ax = axes[i]
            p = projection[projection["series"] == sid].sort_values("date")
            ax.fill_between(p["date"], p["q05"], p["q95"], color=MODEL_COLOR, alpha=0.22,
                            lw=0)
            ax.plot(p["date"], p["median"], color=MODEL_COLOR, lw=1.5)
            data.append(p.assign(kind="model"))
            f = fit[fit["series"] == sid]
            held = (f["role"] == "holdout") if "role" in f.columns else f["bound"] != f["bound"]
            for part, color in ((f[(f["bound"] == "point") & ~held], OBSERVED_COLOR),
                                (f[(f["bound"] == "point") & held], HOLDOUT_COLOR)):
                if len(part):
                    ax.errorbar(part["month_end"], part["observed"], yerr=part["sigma"],
                                ls="none", marker="o", ms=4.5, mfc="white", mec=color,
                                mew=1.2, ecolor=color, elinewidth=0.9, capsize=2, zorder=5)
            lb = f[f["bound"] == "lower"]
            if len(lb):
                ax.plot(lb["month_end"], lb["observed"], ls="none", marker="^", ms=5.5,
                        mfc="white", mec=OBSERVED_COLOR, mew=1.2, zorder=5)
            data.append(pd.DataFrame({
                "series": sid, "label": p["label"].iloc[0], "scope": p["scope"].iloc[0],
                "kind": np.where(f["bound"] == "lower", "observed_lower_bound", "observed"),
                "date": f["month_end"].to_numpy(), "median": f["observed"].to_numpy(),
                "sigma": f["sigma"].to_numpy()}))
            ax.axvline(fit_end, color="0.35", lw=0.8, ls="--", zorder=1.5)  # type: ignore[arg-type]
            share_axis(ax, "en", None)
            date_axis(ax, p["date"], 4)
            kind = sid.split(":")[0]
            land = str(p["geo_name"].iloc[0]) if "geo_name" in p.columns else ""
            # three panels a row leave about 26 characters of an 8-point bold title
            ax.set_title(wrap_unit(f"{panel_letter(i)}  " + SERIES_PANEL_TITLES[kind].format(
                land=land or sid.partition(":")[2]), 26 if ncol == 3 else 44),
                fontsize=8 if ncol == 3 else None)
            ax.tick_params(labelbottom=True)
            ax.set_ylabel(f"Share of {SCOPE_LABELS[p['scope'].iloc[0]]} (%)", fontsize=7.5)
        for ax in axes[n:]:
            ax.set_visible(False)
        handles: list[Any] = [
            Line2D([], [], color=MODEL_COLOR, lw=1.5, label="posterior predictive median"),
            Patch(facecolor=MODEL_COLOR, alpha=0.22, lw=0, label="5–95 % range"),
            Line2D([], [], color=OBSERVED_COLOR, marker="o", mfc="white", ls="none", ms=4.5,
                   label="observed ± σ")]
        if hold:
            handles.append(Line2D([], [], color=HOLDOUT_COLOR, marker="o", mfc="white",
                                  ls="none", ms=4.5, label="held out ± σ"))
        if (fit["bound"] == "lower").any():
            handles.append(Line2D([], [], color=OBSERVED_COLOR, marker="^", mfc="white",
                                  ls="none", ms=5.5, label="observed lower bound"))
        handles.append(Line2D([], [], color="0.35", lw=0.8, ls="--",
                              label=f"end of fitted period ({fit_end:%d %b %Y})"))
        body.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=7)
    return fig, pd.concat(data, ignore_index=True)


# --------------------------------------------------------------------------- residuals


def residuals_figure(fit: pd.DataFrame, title: str | None = None
                     ) -> tuple[Figure, pd.DataFrame]:
    """Standardised residual (observed - model) / sd of every target, one row each."""
    f = fit.sort_values(["month", "series"], kind="stable").reset_index(drop=True)
    labels = [f"{reported_date(str(d))} · {series_short(s)}"
              for d, s in zip(f["date"], f["series"], strict=True)]
    n = len(f)
    note = ("Standardised residual = (observed − posterior predictive mean) / sd, with sd² = "
            "(σ √T)² + variance of the model across posterior predictive draws (T the final "
            "temperature of the ABC-SMC; 1 = exact). Positive: the model is below the "
            "observed value. Hollow: a lower bound, zero when the model is above it. Grey "
            "band: ± 2.")
    with styled():
        fig, body = new_figure(6.0, 0.24 * n + 1.0, note, title)
        ax = body.subplots()
        y = np.arange(n)[::-1]
        ax.axvspan(-2, 2, color="0.92", lw=0, zorder=0)
        ax.axvline(0, color="0.3", lw=0.8)
        kinds = [s.split(":")[0] for s in f["series"]]
        for yi, z, kind, bound in zip(y, f["z"], kinds, f["bound"], strict=True):
            ax.plot([0, z], [yi, yi], color=KIND_COLORS[kind], lw=1.0, alpha=0.6)
            ax.plot(z, yi, ls="none", marker=KIND_MARKERS[kind], ms=5.5,
                    color=KIND_COLORS[kind],
                    mfc="white" if bound == "lower" else KIND_COLORS[kind], zorder=3)
        ax.set_yticks(y, labels, fontsize=7)
        lim = max(3.0, float(np.nanmax(np.abs(f["z"]))) * 1.1) if n else 3.0
        ax.set_xlim(-lim, lim)
        ax.xaxis.set_major_formatter(number_formatter("en", sign=True))
        ax.set_xlabel("Standardised residual (observed − model)")
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.tick_params(axis="y", length=0)
    data = f[["target", "date", "month_end", "geo", "metric", "series", "bound", "observed",
              "model_mean", "sigma", "model_sd", "z"]].assign(row_label=labels)
    return fig, data


# --------------------------------------------------------------------------- posterior


def posterior_figure(particles: pd.DataFrame, parameters: pd.DataFrame, ess: float,
                     temperature: float, title: str | None = None, bins: int = 20
                     ) -> tuple[Figure, pd.DataFrame]:
    """Per parameter: the weighted histogram of the posterior sample (density on the prior
    range) against the uniform prior, the estimate and the 90 % interval."""
    keys = list(parameters["key"])
    k = len(keys)
    ncol = min(k, 3)
    nrow = math.ceil(k / ncol)
    w = particles["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    exact = "exact" if temperature <= 1.0 + 1e-9 else (
        f"final temperature {temperature:.3g}: the posterior under measurement errors × "
        f"{math.sqrt(temperature):.2f}")
    note = (f"Bars: weighted histogram of the {len(particles)} particles of the last ABC-SMC "
            f"generation (effective sample size {ess:.0f}; {exact}), as a density over the "
            "prior range; dashed line: the uniform prior. Red line: the estimate (weighted "
            "posterior median); grey band: the weighted 5–95 % interval.")
    rows = []
    with styled():
        fig, body = new_figure(WIDTH_FULL if ncol > 1 else 4.0, 1.9 * nrow + 0.4, note, title)
        axes = np.atleast_1d(body.subplots(nrow, ncol, squeeze=False)).ravel()
        for j, key in enumerate(keys):
            ax = axes[j]
            p = parameters.iloc[j]
            lo, hi = float(p["low"]), float(p["high"])
            edges = np.linspace(lo, hi, bins + 1)
            mass, _ = np.histogram(particles[key], bins=edges, weights=w)
            dens = mass * bins  # relative to the uniform prior's density
            ax.axvspan(p["q05"], p["q95"], color="0.88", lw=0, zorder=0)
            ax.bar(edges[:-1], dens, width=np.diff(edges), align="edge", color=MODEL_COLOR,
                   alpha=0.6, edgecolor="white", lw=0.4, zorder=2)
            ax.axhline(1.0, color="0.3", lw=0.8, ls="--", zorder=3)
            ax.axvline(p["estimate"], color=ESTIMATE_COLOR, lw=1.3, zorder=4)
            ax.set_xlim(lo, hi)
            ax.set_ylim(0, max(1.2, float(dens.max()) * 1.12))
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.xaxis.set_major_formatter(number_formatter("en"))
            ax.yaxis.set_major_formatter(number_formatter("en"))
            ax.set_title(wrap_unit(f"{panel_letter(j)}  " + param_label(key, sentence=True),
                                   26 if ncol == 3 else 40), fontsize=8.5)
            if j % ncol == 0:
                ax.set_ylabel("Density / prior density", fontsize=7.5)
            ax.grid(axis="y", color="0.92", lw=0.6)
            rows.append(pd.DataFrame({"parameter": key, "kind": "histogram_bin",
                                      "bin_low": edges[:-1], "bin_high": edges[1:],
                                      "weight": mass, "density_ratio": dens}))
            rows.append(pd.DataFrame({"parameter": [key] * 3,
                                      "kind": ["estimate", "q05", "q95"],
                                      "value": [p["estimate"], p["q05"], p["q95"]]}))
        for ax in axes[k:]:
            ax.set_visible(False)
        handles: list[Any] = [
            Patch(facecolor=MODEL_COLOR, alpha=0.6, lw=0, label="posterior"),
            Line2D([], [], color="0.3", lw=0.8, ls="--", label="uniform prior"),
            Line2D([], [], color=ESTIMATE_COLOR, lw=1.3, label="estimate (posterior median)"),
            Patch(facecolor="0.88", lw=0, label="90 % interval")]
        body.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=7)
    return fig, pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- backtest


def backtest_figure(backtest: pd.DataFrame, verdict: pd.DataFrame, until: str,
                    title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """Left: every held-out count with the model's predictive median and 90 % band and the
    naive forecasts; right: mean absolute error of the model and of each forecaster."""
    b = backtest.sort_values(["month", "series"], kind="stable").reset_index(drop=True)
    labels = [f"{reported_date(str(d))} · {series_short(s)}"
              for d, s in zip(b["date"], b["series"], strict=True)]
    n = len(b)
    note = (f"Fitted on the counts up to {until}; every later count (point values) held out. "
            "Left: observed share (black), the model's posterior predictive median (blue dot) "
            "and 90 % band of an observation (blue bar), and the naive forecasters fitted on "
            "the same earlier points of the same series. Right: mean absolute error over the "
            "held-out counts each forecaster covers, in percentage points; the model on the "
            "same counts beside it.")
    rows = []
    with styled():
        fig, body = new_figure(WIDTH_FULL, 0.3 * max(n, 3) + 1.0, note, title)
        ax, ax2 = body.subplots(1, 2, width_ratios=[2.2, 1])
        y = np.arange(n)[::-1]
        ax.hlines(y, 100 * b["predictive_q05"], 100 * b["predictive_q95"], color=MODEL_COLOR,
                  lw=5, alpha=0.3, zorder=1)
        ax.plot(100 * b["model_median"], y, "o", color=MODEL_COLOR, ms=5, zorder=3)
        for name, (marker, color, _label) in FORECASTER_STYLES.items():
            if name in b.columns:
                ax.plot(100 * b[name], y, marker, color=color, ms=4.5, mfc="white", mew=1.1,
                        ls="none", zorder=4)
        ax.plot(100 * b["observed"], y, "|", color=OBSERVED_COLOR, ms=13, mew=2.0, zorder=5)
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_xlabel("Share of the scope's catalogue (%)")
        ax.grid(axis="x", color="0.92", lw=0.6)
        ax.tick_params(axis="y", length=0)
        v = verdict.dropna(subset=["forecaster_mae"]).reset_index(drop=True)
        yy = np.arange(len(v))[::-1]
        ax2.barh(yy + 0.18, 100 * v["model_mae"], height=0.34, color=MODEL_COLOR, alpha=0.8)
        ax2.barh(yy - 0.18, 100 * v["forecaster_mae"], height=0.34,
                 color=[FORECASTER_STYLES[f][1] for f in v["forecaster"]], alpha=0.8)
        ax2.set_yticks(yy, [f"{FORECASTER_STYLES[f][2]}\n({int(p)} counts)"
                            for f, p in zip(v["forecaster"], v["points"], strict=True)],
                       fontsize=7)
        for yv, val in ((yy + 0.18, v["model_mae"]), (yy - 0.18, v["forecaster_mae"])):
            for yi, x in zip(yv, val, strict=True):
                ax2.text(100 * x, yi, f" {100 * x:.1f}", va="center", ha="left", fontsize=6.5)
        ax2.set_xlim(0, 100 * float(max(v["model_mae"].max(), v["forecaster_mae"].max()))
                     * 1.3 if len(v) else 1)
        ax2.set_xlabel("Mean abs. error (pp)")
        ax2.grid(axis="x", color="0.92", lw=0.6)
        ax2.tick_params(axis="y", length=0)
        handles: list[Any] = [
            Line2D([], [], color=OBSERVED_COLOR, marker="|", ls="none", ms=10, mew=2,
                   label="observed"),
            Line2D([], [], color=MODEL_COLOR, marker="o", ls="none", ms=5,
                   label="model (posterior predictive median)"),
            Patch(facecolor=MODEL_COLOR, alpha=0.3, lw=0, label="model 90 % band"),
            Patch(facecolor=MODEL_COLOR, alpha=0.8, lw=0, label="model error (right)"),
            *[Line2D([], [], color=c, marker=m, mfc="white", ls="none", ms=4.5, label=lab)
              for m, c, lab in FORECASTER_STYLES.values()]]
        body.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=7)
        rows.append(b.assign(row_label=labels))
        rows.append(verdict.assign(kind="verdict"))
    return fig, pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- saving


def read_folder(folder: Path) -> dict[str, Any]:
    """The tables of a calibration folder that the figures need."""
    folder = Path(folder)
    fit = pd.read_csv(folder / "fit_table.csv", dtype={"date": str, "geo": str},
                      parse_dates=["month_end"])
    out = {"manifest": json.loads((folder / "manifest.json").read_text())
           if (folder / "manifest.json").is_file() else {},
           "projection": pd.read_parquet(folder / "projection.parquet"),
           "fit": fit,
           "particles": pd.read_csv(folder / "particles.csv"),
           "parameters": pd.read_csv(folder / "parameters.csv")}
    if (folder / "backtest.csv").is_file():
        out["backtest"] = pd.read_csv(folder / "backtest.csv", dtype={"date": str})
        out["verdict"] = pd.read_csv(folder / "backtest_verdict.csv")
    return out


def draw_calibration_figures(folder: Path, provenance: Mapping[str, Any],
                             fit_end: str, ess: float, temperature: float = 1.0,
                             catalogue: tuple[int, int] = (575, 115)) -> list[str]:
    """Draw ``fit``, ``residuals``, ``posterior`` (and ``backtest`` if the folder has a
    backtest) into ``folder/figures`` from the saved tables of ``folder``; returns the
    written file names (relative to ``folder``)."""
    folder = Path(folder)
    t = read_folder(folder)
    out = folder / "figures"
    end = pd.Timestamp(fit_end) + pd.offsets.MonthEnd(0)
    files: list[str] = []
    figures = [("fit", fit_figure(t["projection"], t["fit"], end, catalogue)),
               ("residuals", residuals_figure(t["fit"])),
               ("posterior", posterior_figure(t["particles"], t["parameters"], ess,
                                              temperature))]
    if "backtest" in t and len(t["backtest"]):
        until = str(t["manifest"].get("spec", {}).get("until") or fit_end)
        figures.append(("backtest", backtest_figure(t["backtest"], t["verdict"], until)))
    for name, (fig, data) in figures:
        paths = save_figure(fig, out, name, data, provenance)
        files += [p.relative_to(folder).as_posix() for p in paths]
    plt.close("all")
    return files


__all__ = ["backtest_figure", "draw_calibration_figures", "fit_figure", "posterior_figure",
           "read_folder", "reported_date", "residuals_figure"]
