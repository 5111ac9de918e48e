"""Figures of a calibration folder (``ozg-sim-calibrate``), drawn only from its saved tables.

- ``fit``: one panel per observable series: the calibrated model's median and 5-95 % band
  over replications from 2018 to the end of the horizon, the observed points with their
  measurement error, and a line at the end of the calibration period.
- ``residuals``: the standardised residual of every target.
- ``posterior``: per parameter, the log-likelihood of the design points and the refinement
  (top) and the posterior weight histogram against the uniform prior (bottom).

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
from matplotlib.ticker import FixedLocator, MaxNLocator

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
REFINE_COLOR = OKABE_ITO["orange"]
ESTIMATE_COLOR = OKABE_ITO["red"]
#: Marker, edge colour and face colour of the design points of each round.
ROUND_STYLES = [("o", OKABE_ITO["blue"], "white"), ("s", OKABE_ITO["sky"], OKABE_ITO["sky"]),
                ("^", OKABE_ITO["green"], OKABE_ITO["green"])]
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
    """Panels of the observable series: calibrated model and observed targets.

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
    series = list(dict.fromkeys(projection["series"]))
    n = len(series)
    ncol = n if n <= 3 else (2 if n == 4 else 3)
    nrow = math.ceil(n / ncol)
    n_rep = int(projection["n_replications"].iloc[0])
    note = (f"Lines: median of {n_rep} replications of the calibrated model; bands: 5–95 % "
            "range of replications. Markers: official counts as a share of the catalogue "
            f"of the same scope ({catalogue[0]} services, {catalogue[1]} federal, "
            f"{catalogue[0] - catalogue[1]} non-federal); bars: ± one "
            "measurement error σ; triangles: lower bounds (\"more than\"). Model shares "
            "refer to the simulated catalogue. Dashed line: end of the calibration period; "
            "right of it the model is a projection.")
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
            pts = f[f["bound"] == "point"]
            if len(pts):
                ax.errorbar(pts["month_end"], pts["observed"], yerr=pts["sigma"], ls="none",
                            marker="o", ms=4.5, mfc="white", mec=OBSERVED_COLOR, mew=1.2,
                            ecolor=OBSERVED_COLOR, elinewidth=0.9, capsize=2, zorder=5)
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
            ax.set_title(wrap_unit(f"{panel_letter(i)}  " + SERIES_PANEL_TITLES[kind].format(
                land=land or sid.partition(":")[2]), 28 if ncol == 3 else 44))
            ax.tick_params(labelbottom=True)
            ax.set_ylabel(f"Share of {SCOPE_LABELS[p['scope'].iloc[0]]} (%)", fontsize=7.5)
        for ax in axes[n:]:
            ax.set_visible(False)
        handles: list[Any] = [
            Line2D([], [], color=MODEL_COLOR, lw=1.5, label="model median (calibrated)"),
            Patch(facecolor=MODEL_COLOR, alpha=0.22, lw=0, label="model 5–95 % range"),
            Line2D([], [], color=OBSERVED_COLOR, marker="o", mfc="white", ls="none", ms=4.5,
                   label="observed ± σ")]
        if (fit["bound"] == "lower").any():
            handles.append(Line2D([], [], color=OBSERVED_COLOR, marker="^", mfc="white",
                                  ls="none", ms=5.5, label="observed lower bound"))
        handles.append(Line2D([], [], color="0.35", lw=0.8, ls="--",
                              label=f"end of calibration period ({fit_end:%d %b %Y})"))
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
    note = ("Standardised residual = (observed − model mean) / sd, with sd² = σ² + model "
            "variance across replications × (1 + 1/replications), at the calibrated "
            "values. Positive: the model is below the observed value. Hollow: a lower "
            "bound, zero when the model is above it. Grey band: ± 2.")
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


def posterior_figure(design: pd.DataFrame, refine: pd.DataFrame, parameters: pd.DataFrame,
                     ess: float, title: str | None = None, bins: int = 10
                     ) -> tuple[Figure, pd.DataFrame]:
    """Top: log-likelihood of the design points (and the refinement) against each
    parameter, relative to the best; bottom: posterior weight per bin against the prior."""
    keys = list(parameters["key"])
    k = len(keys)
    ll_max = float(max(design["log_likelihood"].max(),
                       refine["log_likelihood"].max() if len(refine) else -np.inf))
    n = len(design)
    if "round" not in design.columns:
        design = design.assign(round=1)
    rounds = sorted(int(r) for r in design["round"].unique())
    note = (f"Top: synthetic log-likelihood minus the best one (symmetric-log scale) of the "
            f"{n} design points ({len(rounds)} Latin-hypercube round(s): the first over the "
            "prior box, later ones around the posterior so far) and of the "
            f"{len(refine)} Nelder-Mead evaluations. Bottom: posterior (importance) weight "
            "of the design points per bin; dashed line: uniform prior. Effective sample size "
            f"{ess:.1f} of {n}. Red line: calibrated value; grey band: weighted 5–95 % "
            "interval.")
    rows = []
    with styled():
        fig, body = new_figure(max(4.0, min(WIDTH_FULL, 1.9 * k + 0.6)),
                                       4.3, note, title)
        axes = body.subplots(2, k, squeeze=False, sharey="row")
        for j, key in enumerate(keys):
            p = parameters.iloc[j]
            lo, hi = float(p["low"]), float(p["high"])
            top, bot = axes[0, j], axes[1, j]
            d_ll = design["log_likelihood"] - ll_max
            for rnd in rounds:
                sel = design["round"] == rnd
                st = ROUND_STYLES[(rnd - 1) % len(ROUND_STYLES)]
                top.plot(design.loc[sel, key], d_ll[sel], ls="none", marker=st[0], ms=3.0,
                         color=st[1], alpha=0.85, mew=0.6, mfc=st[2])
            if len(refine):
                top.plot(refine[key], refine["log_likelihood"] - ll_max, ls="none",
                         marker="D", ms=2.8, color=REFINE_COLOR, alpha=0.9)
            top.set_yscale("symlog", linthresh=1.0)
            pad = 0.03 * (hi - lo)
            for ax in (top, bot):
                ax.axvspan(p["q05"], p["q95"], color="0.88", lw=0, zorder=0)
                ax.axvline(p["estimate"], color=ESTIMATE_COLOR, lw=1.2)
                ax.set_xlim(lo - pad, hi + pad)
                ax.xaxis.set_major_locator(MaxNLocator(3 if k > 4 else 4))
                ax.xaxis.set_major_formatter(number_formatter("en"))
            top.yaxis.set_major_formatter(number_formatter("en"))
            edges = np.linspace(lo, hi, bins + 1)
            mass, _ = np.histogram(design[key], bins=edges, weights=design["weight"])
            bot.bar(edges[:-1], mass, width=np.diff(edges), align="edge", color=MODEL_COLOR,
                    alpha=0.55, edgecolor="white", lw=0.5)
            bot.axhline(1.0 / bins, color="0.3", lw=0.8, ls="--")
            bot.set_ylim(0, 1.05)
            label = param_label(key, sentence=True)
            bot.set_xlabel(wrap_unit(label, 16 if k > 4 else 28), fontsize=7.5)

            top.tick_params(labelbottom=False)
            rows.append(pd.DataFrame({"parameter": key, "kind": "design_point",
                                      "value": design[key], "delta_log_likelihood": d_ll,
                                      "weight": design["weight"]}))
            if len(refine):
                rows.append(pd.DataFrame({"parameter": key, "kind": "refinement",
                                          "value": refine[key],
                                          "delta_log_likelihood":
                                          refine["log_likelihood"] - ll_max}))
            rows.append(pd.DataFrame({"parameter": key, "kind": "histogram_bin",
                                      "bin_low": edges[:-1], "bin_high": edges[1:],
                                      "weight": mass}))
            rows.append(pd.DataFrame({"parameter": [key] * 3,
                                      "kind": ["estimate", "q05", "q95"],
                                      "value": [p["estimate"], p["q05"], p["q95"]]}))
        handles: list[Any] = [Line2D([], [], ls="none", marker=ROUND_STYLES[(r - 1) % 3][0], ms=4,
                          color=ROUND_STYLES[(r - 1) % 3][1],
                          mfc=ROUND_STYLES[(r - 1) % 3][2],
                          label=f"design round {r}" + (" (prior box)" if r == 1 else ""))
                   for r in rounds]
        if len(refine):
            handles.append(Line2D([], [], ls="none", marker="D", ms=3.5, color=REFINE_COLOR,
                                  label="Nelder-Mead evaluation"))
        handles += [Line2D([], [], color=ESTIMATE_COLOR, lw=1.2, label="calibrated value"),
                    Patch(facecolor="0.88", lw=0, label="weighted 5–95 % interval"),
                    Line2D([], [], color="0.3", lw=0.8, ls="--", label="uniform prior")]
        body.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=7)
        axes[0, 0].set_ylabel("Δ log-likelihood")
        axes[1, 0].set_ylabel("Posterior weight")
        axes[1, 0].yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
        axes[1, 0].yaxis.set_major_formatter(number_formatter("en"))
    return fig, pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- saving


def read_folder(folder: Path) -> dict[str, Any]:
    """The tables of a calibration folder that the figures need."""
    folder = Path(folder)
    fit = pd.read_csv(folder / "fit_table.csv", dtype={"date": str, "geo": str},
                      parse_dates=["month_end"])
    return {"manifest": json.loads((folder / "manifest.json").read_text())
            if (folder / "manifest.json").is_file() else {},
            "projection": pd.read_parquet(folder / "projection.parquet"),
            "fit": fit,
            "design": pd.read_csv(folder / "design.csv"),
            "refine": pd.read_csv(folder / "refine.csv"),
            "parameters": pd.read_csv(folder / "parameters.csv")}


def draw_calibration_figures(folder: Path, provenance: Mapping[str, Any],
                             fit_end: str, ess: float,
                             catalogue: tuple[int, int] = (575, 115)) -> list[str]:
    """Draw ``fit``, ``residuals`` and ``posterior`` into ``folder/figures`` from the
    saved tables of ``folder``; returns the written file names (relative to ``folder``)."""
    folder = Path(folder)
    t = read_folder(folder)
    out = folder / "figures"
    end = pd.Timestamp(fit_end) + pd.offsets.MonthEnd(0)
    files: list[str] = []
    for name, (fig, data) in (
            ("fit", fit_figure(t["projection"], t["fit"], end, catalogue)),
            ("residuals", residuals_figure(t["fit"])),
            ("posterior", posterior_figure(t["design"], t["refine"], t["parameters"], ess))):
        paths = save_figure(fig, out, name, data, provenance)
        files += [p.relative_to(folder).as_posix() for p in paths]
    plt.close("all")
    return files


__all__ = ["draw_calibration_figures", "fit_figure", "posterior_figure", "read_folder",
           "reported_date", "residuals_figure"]
