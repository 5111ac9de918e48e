"""The workbench in the browser: one :class:`Session` per browser tab, built with Panel.

Why Panel (over Streamlit and Solara): a session is an object whose widgets stay alive
between interactions, so a run goes on in a thread while its coroutine polls the progress
and pushes the table and each figure over the session's websocket as soon as they are
ready, and the rest of the page (and every other tab) keeps answering; Streamlit instead
re-executes a script from the top on every interaction. Panel is started from Python
(``panel.serve``), so ``ozg-sim-app`` is an ordinary console script with ``--host`` and
``--port``; its widgets are plain objects a test can drive without a browser; and it sits
on Bokeh's server (tornado), which the Dask dashboard already brings, maintained by
HoloViz (NumFOCUS) since 2018 with a stable 1.x API.

What a session does: its widgets are the controls of :func:`sim.whatif.controls`, bounded
to their declared or calibrated ranges and options, so a value out of range cannot be
entered; the chosen values become a :class:`sim.whatif.Scenario` (checked again by
:func:`sim.whatif.checked_scenario`) whose configuration the command line's code composes
and validates; nothing the browser sends is evaluated. The scenario and its baseline run on
the shared :class:`sim.workbench.Workbench` (cached per configuration), the figures are
drawn there too, and exports go to the session's export folder only.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import panel as pn

from sim import whatif
from sim.app import figures
from sim.app.export import save_task, write_export, xlsx_of, zip_folder
from sim.app.texts import (
    LANGS,
    Lang,
    control_label,
    format_bound,
    format_difference,
    format_range,
    format_value,
    option_label,
    t,
)
from sim.errors import ConfigError, DataError
from sim.io import OutputError
from sim.keys import to_dict
from sim.pool import WorkerLostError
from sim.provenance import config_hash, stamp
from sim.runner import Results
from sim.whatif import Scenario
from sim.workbench import POLL_S, RunProgress, Workbench

log = logging.getLogger("ozg-sim")

#: Threads that wait for runs and exports (one per busy tab; a run's work is in the
#: workbench's processes, the thread only waits and assembles).
THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ozg-sim-app")
#: Most scenarios pinned side by side (besides the baseline).
MAX_PINNED = 4
#: Letters naming pinned scenarios.
PIN_NAMES = "ABCD"
#: The views and their figures (name -> draw function, table it takes).
VIEWS = ("fan", "difference", "map", "states")
#: Sidebar width in pixels.
SIDEBAR_PX = 360
#: Width of each view on screen, pixels (drawn at that width, so shown sharp; exports are
#: 300 dpi).
WIDTH_PX = {"fan": 760, "difference": 640, "map": 560, "states": 860}
#: Views drawn so far, shared by every tab: (scenario hash, baseline hash, replications,
#: language, view) -> PNG; at most MAX_CACHED_FIGURES (about 100 KB each).
_FIGURES: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_FIGURES_LOCK = threading.Lock()
MAX_CACHED_FIGURES = 400
#: A difference's interval counts as excluding 0 only beyond this share of the baseline
#: (sums of many floating-point amounts differ in their last digits).
SIGNIFICANT_TOL = 1e-9
#: Widgets take the sidebar's width.
WIDE: dict[str, Any] = {"sizing_mode": "stretch_width"}
#: Amount slider: billions of euros per step.
AMOUNT_STEP_BN = 0.05

CSS = """
.ozg-table {border-collapse: collapse; font-size: 13px; width: 100%;}
.ozg-table th, .ozg-table td {padding: 4px 8px; border-bottom: 1px solid #ddd;
  text-align: right; vertical-align: top; white-space: nowrap;}
.ozg-table td:first-child {white-space: normal;}
.ozg-table th:first-child, .ozg-table td:first-child {text-align: left;}
.ozg-table .sig {font-weight: bold;}
.ozg-note {color: #555; font-size: 12px;}
.ozg-error {color: #a4001d; font-weight: bold;}
"""


@dataclass
class Shown:
    """A scenario that was run: its results, its baseline's and what the views show."""

    label: str
    scenario: Scenario
    results: Results
    baseline: Results
    diff: pd.DataFrame
    hashes: tuple[str, str]
    changed: list[str]
    values: pd.DataFrame = field(default_factory=pd.DataFrame)
    base_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    pngs: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Job:
    """A run in progress, written by its thread and read by the session's coroutine."""

    lang: Lang
    base: RunProgress = field(default_factory=RunProgress)
    scenario: RunProgress = field(default_factory=RunProgress)
    shown: Shown | None = None
    figures_total: int = 0
    figures_done: int = 0
    started: float = field(default_factory=time.perf_counter)


class Session:
    """The workbench of one browser tab (or one test): widgets, the scenario shown, the
    pinned ones, and the views."""

    def __init__(self, bench: Workbench, exports: Path, lang: Lang = "de",
                 programmes: dict[str, tuple[str, float]] | None = None) -> None:
        self.bench = bench
        self.exports = Path(exports)
        self.lang: Lang = lang
        self.programmes = programmes or whatif.first_programmes()
        self.controls = whatif.controls(whatif.base_config())
        self.defaults = {c.key: c.default for c in self.controls}
        self.shown: Shown | None = None
        self.pinned: list[Shown] = []
        #: Seconds of the last finished run: ``answer`` (key figures and overview chart
        #: shown) and ``all`` (every view drawn).
        self.timing: dict[str, float] = {}
        self._generation = 0
        self._prefetch_lock = threading.Lock()
        self._prefetch_next: Scenario | None = None
        self._prefetching = False
        self._build_widgets()
        self._build_views()
        self._relabel()

    # ------------------------------------------------------------------ widgets

    def _build_widgets(self) -> None:
        self.w_lang = pn.widgets.RadioButtonGroup(options=LANGS, value=self.lang,
                                                  color="default")
        self.w_world = pn.widgets.Select(options=list(whatif.WORLDS), value="germany", **WIDE)
        self.w_reps = pn.widgets.IntSlider(start=whatif.MIN_REPLICATIONS,
                                           end=whatif.MAX_REPLICATIONS, value=10, step=1,
                                           **WIDE)
        self.w_seed = pn.widgets.IntInput(value=1, start=0, end=2**31 - 1, step=1, **WIDE)
        self.w: dict[str, Any] = {}
        self.w_label: dict[str, pn.pane.HTML] = {}
        self.w_fix: dict[str, pn.widgets.Checkbox] = {}
        for c in self.controls:
            if c.kind == "group":
                self.w[c.key] = pn.widgets.Select(options=list(c.options), value=c.default,
                                                  **WIDE)
            elif c.kind == "programmes":
                self.w[c.key] = pn.widgets.CheckBoxGroup(options=list(c.options),
                                                         value=list(c.default), inline=False)
                self.w_label[c.key] = pn.pane.HTML("", stylesheets=[CSS], margin=(5, 10, 0, 10))
            elif c.key == whatif.AMOUNT_KEY:
                self.w[c.key] = pn.widgets.FloatSlider(
                    start=c.low / 1e9, end=c.high / 1e9, step=AMOUNT_STEP_BN,
                    value=c.default / 1e9, format="0.00", **WIDE)
            elif c.integer:
                self.w[c.key] = pn.widgets.IntSlider(start=int(c.low), end=int(c.high),
                                                     step=1, value=int(c.default), **WIDE)
            else:
                self.w[c.key] = pn.widgets.FloatSlider(start=c.low, end=c.high, step=c.step,
                                                       value=c.default, **WIDE)
            if c.section == "calibrated":
                self.w_fix[c.key] = pn.widgets.Checkbox(value=False)
                self.w[c.key].disabled = True
                self.w_fix[c.key].param.watch(
                    lambda e, k=c.key: setattr(self.w[k], "disabled", not e.new), "value")
        self.w["funding"].param.watch(self._funding_changed, "value")
        for w in [self.w_world, self.w_reps, self.w_seed, *self.w.values(),
                  *self.w_fix.values()]:
            w.param.watch(self._prefetch, "value")
        self.w_lang.param.watch(self._lang_changed, "value")
        self.b_run = pn.widgets.Button(color="primary", width=110)
        self.b_reset = pn.widgets.Button(color="default", width=110)
        self.b_pin = pn.widgets.Button(color="default", width=110, disabled=True)
        self.b_unpin = pn.widgets.Button(color="light", disabled=True)
        self.b_run.on_click(self.run)
        self.b_reset.on_click(lambda _e: self.reset())
        self.b_pin.on_click(self.pin)
        self.b_unpin.on_click(lambda _e: self.unpin())
        self.progress = pn.indicators.Progress(value=0, max=100, active=False,
                                               sizing_mode="stretch_width", height=10)
        self.status = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["status"],
                                   stylesheets=[CSS])

    def _section(self, key: str, body: list[Any], collapsed: bool = False) -> pn.Card:
        card = pn.Card(*body, collapsed=collapsed, sizing_mode="stretch_width")
        self._cards[key] = card
        return card

    def _build_views(self) -> None:
        self._cards: dict[str, pn.Card] = {}
        policy = [pn.Column(self.w_label[c.key], self.w[c.key], **WIDE) if c.key in self.w_label
                  else self.w[c.key] for c in self.controls if c.section == "policy"]
        staffing = [self.w[c.key] for c in self.controls if c.section == "staffing"]
        calibrated = [pn.Row(self.w_fix[c.key], self.w[c.key])
                      for c in self.controls if c.section == "calibrated"]
        self.calibrated_help = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width")
        self.sidebar = pn.Column(
            pn.Row(self.b_run, self.b_reset, self.b_pin),
            self.w_lang,
            self._section("run", [self.w_world, self.w_reps, self.w_seed]),
            self._section("policy", policy),
            self._section("staffing", staffing),
            self._section("calibrated", [self.calibrated_help, *calibrated], collapsed=True),
            width=SIDEBAR_PX)
        self.header = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[CSS])
        self.v_table = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["key-figures"],
                               stylesheets=[CSS])
        self.v_png = {v: pn.pane.PNG(None, width=WIDTH_PX["fan" if v == "pinned" else v],
                                     css_classes=[f"fig-{v}"]) for v in (*VIEWS, "pinned")}
        self.v_pinned = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["pinned"],
                                     stylesheets=[CSS])
        self.v_command = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["command"],
                                      stylesheets=[CSS])
        self.d_yaml = pn.widgets.FileDownload(callback=self._yaml_file, filename="whatif.yaml",
                                              disabled=True, color="default")
        self.b_export = pn.widgets.Button(color="default", disabled=True)
        self.b_export.on_click(self.export)
        self.d_zip = pn.widgets.FileDownload(file=None, filename="export.zip", disabled=True,
                                             color="success")
        self.d_xlsx = pn.widgets.FileDownload(file=None, filename="summary.xlsx",
                                              disabled=True, color="success")
        self.export_help = pn.pane.HTML("", stylesheets=[CSS])
        self.tab_bodies = [
            pn.Column(self.v_png["fan"], self.v_table),
            pn.Column(self.v_png["difference"]),
            pn.Column(self.v_png["map"], self.v_png["states"]),
            pn.Column(self.v_png["pinned"], self.v_pinned, self.b_unpin),
            pn.Column(self.v_command, self.d_yaml, self.b_export,
                      pn.Row(self.d_zip, self.d_xlsx), self.export_help)]
        self.tabs = pn.Tabs(*[(str(i), b) for i, b in enumerate(self.tab_bodies)],
                            dynamic=False, sizing_mode="stretch_width")
        self.main = pn.Column(self.header, self.progress, self.status, self.tabs,
                              sizing_mode="stretch_width")
        self.layout = pn.Row(self.sidebar, self.main, sizing_mode="stretch_width",
                             stylesheets=[CSS])

    # ------------------------------------------------------------------ language

    async def _lang_changed(self, event: Any) -> None:
        self.lang = event.new
        self._relabel()
        if self.shown is not None:
            self._render_tables()
            await self._redraw(self.shown, self.lang)
        if self.pinned:
            await self._redraw_pinned()

    def _relabel(self) -> None:
        lang = self.lang
        self.header.object = (f"<h2 style='margin:4px 0'>{html.escape(t('title', lang))}</h2>"
                              f"<div class='ozg-note'>{html.escape(t('subtitle', lang))}</div>")
        self.w_lang.name = t("language", lang)
        self.w_world.name = t("world", lang)
        self.w_world.options = {option_label("world", w, lang): w for w in whatif.WORLDS}
        self.w_reps.name = t("replications", lang)
        self.w_seed.name = t("seed", lang)
        for c in self.controls:
            w = self.w[c.key]
            programme = self.programmes.get(self.w["funding"].value, ("", math.nan))[0]
            w.name = control_label(c.key, lang, programme)
            if c.kind in ("group", "programmes"):
                w.options = {option_label(c.key, o, lang): o for o in c.options}
            if c.key in self.w_label:
                self.w_label[c.key].object = f"<b>{html.escape(w.name)}</b>"
            if c.key in self.w_fix:
                self.w_fix[c.key].name = t("fix", lang)
        for key, card in self._cards.items():
            card.title = t(f"{key}_section" if key == "run" else key, lang)
        self.calibrated_help.object = html.escape(t("calibrated_help", lang))
        self.b_run.name, self.b_reset.name = t("run", lang), t("reset", lang)
        self.b_pin.name, self.b_unpin.name = t("pin", lang), t("unpin", lang)
        self.b_export.name = t("export", lang)
        self.d_yaml.label = t("yaml", lang)
        self.d_zip.label, self.d_xlsx.label = t("zip", lang), t("xlsx", lang)
        self.export_help.object = html.escape(t("export_help", lang, dir=self.exports))
        names = ("tab_overview", "tab_difference", "tab_states", "tab_pinned", "tab_reproduce")
        # Panel sends changed tab titles to the browser only with a new Tabs: swap it in.
        tabs = pn.Tabs(*[(t(key, lang), body) for key, body in zip(names, self.tab_bodies,
                                                                    strict=True)],
                       active=self.tabs.active, dynamic=False, **WIDE)
        if self.tabs in self.main.objects:
            self.main[self.main.objects.index(self.tabs)] = tabs
        self.tabs = tabs
        if not self.status.object or self.shown is None:
            self._say(t("ready", lang), state="ready")

    def _funding_changed(self, event: Any) -> None:
        self._amount_to_funding(event.new)

    def _amount_to_funding(self, funding: str) -> None:
        """The money slider at the chosen funding option's first programme (off if none)."""
        name, amount = self.programmes.get(funding, ("", math.nan))
        w = self.w[whatif.AMOUNT_KEY]
        w.disabled = not math.isfinite(amount)
        if math.isfinite(amount):
            w.value = amount / 1e9
        w.name = control_label(whatif.AMOUNT_KEY, self.lang, name)

    # ------------------------------------------------------------------ scenario

    def scenario(self) -> Scenario:
        """The scenario the widgets describe: the controls that differ from the baseline
        (a calibrated parameter when ticked), checked by :func:`sim.whatif.checked_scenario`."""
        values: dict[str, Any] = {}
        funding = self.w["funding"].value
        for c in self.controls:
            w = self.w[c.key]
            if c.section == "calibrated":
                if self.w_fix[c.key].value:
                    values[c.key] = w.value
                continue
            if c.key == whatif.AMOUNT_KEY:
                default = self.programmes.get(funding, ("", math.nan))[1]
                value = round(w.value * 1e9)
                if math.isfinite(default) and not math.isclose(value, default, rel_tol=1e-9):
                    values[c.key] = float(value)
                continue
            value = tuple(w.value) if c.kind == "programmes" else w.value
            if whatif.changed([(c.key, c.check(value))], self.defaults):
                values[c.key] = value
        return whatif.checked_scenario(self.w_world.value, int(self.w_reps.value),
                                       int(self.w_seed.value), values, self.controls)

    def _prefetch(self, _event: Any = None) -> None:
        """Compose the configuration of what the widgets now say (and its baseline's), in
        a thread, so that "Run" finds it ready (Hydra takes about half a second per
        composition). Only the latest wish is composed: a burst of changes (a reset)
        costs one composition after the one under way."""
        try:
            scenario = self.scenario()
        except ConfigError:
            return  # "Run" will say why
        with self._prefetch_lock:
            self._prefetch_next = scenario
            if self._prefetching:
                return
            self._prefetching = True
        THREADS.submit(self._prefetch_loop)

    def _prefetch_loop(self) -> None:
        while True:
            with self._prefetch_lock:
                scenario, self._prefetch_next = self._prefetch_next, None
                if scenario is None:
                    self._prefetching = False
                    return
            _compose_quietly(scenario)
            _compose_quietly(scenario.baseline())

    def reset(self) -> None:
        """Every widget back to the baseline's value."""
        for c in self.controls:
            if c.key in self.w_fix:
                self.w_fix[c.key].value = False
            if c.key == whatif.AMOUNT_KEY:
                continue
            self.w[c.key].value = list(c.default) if c.kind == "programmes" else c.default
        self._amount_to_funding(self.w["funding"].value)
        self.w_world.value, self.w_reps.value, self.w_seed.value = "germany", 10, 1

    # ------------------------------------------------------------------ running

    def _say(self, text: str, error: bool = False, state: str = "running") -> None:
        """Say ``text`` in the status line; its ``data-run`` and ``data-state`` attributes
        (``running``, ``done``, ``error``) say which run it is about."""
        cls = "ozg-error" if error else "ozg-note"
        state = "error" if error else state
        new = (f"<span class='{cls}' data-run='{self._generation}' data-state='{state}'>"
               f"{html.escape(text)}</span>")
        if self.status.object != new:  # only changes go to the browser
            self.status.object = new

    async def run(self, _event: Any = None) -> None:
        """Run the scenario the widgets describe and its baseline; show the table first,
        then each figure as it is drawn. A newer run supersedes this one's display."""
        self._generation += 1
        generation = self._generation
        try:
            scenario = self.scenario()
        except ConfigError as exc:
            self._say(t("error", self.lang, msg=exc), error=True)
            return
        job = Job(self.lang)
        self.progress.active, self.progress.value = True, 0
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(THREADS, self._compute, scenario, job)
        shown_table = False
        answered: float | None = None
        while True:
            done = future.done()
            if generation != self._generation:
                return
            self._show_progress(job)
            if job.shown is not None and not shown_table:
                self._show(job.shown)
                shown_table = True
            if job.shown is not None:
                for name, png in list(job.shown.pngs.items()):
                    if self.v_png[name].object is not png:
                        self.v_png[name].object = png
                if answered is None and "fan" in job.shown.pngs:
                    answered = time.perf_counter() - job.started
            if done:
                break
            await asyncio.sleep(POLL_S)
        self.progress.active = False
        try:
            future.result()
        except (ConfigError, DataError, WorkerLostError, OutputError) as exc:
            self._say(t("error", self.lang, msg=exc), error=True)
            return
        except Exception as exc:  # a bug: say so in the page and in the server's log
            log.exception("the run of %s failed", whatif.command_line(scenario))
            self._say(t("error", self.lang, msg=f"{type(exc).__name__}: {exc}"), error=True)
            return
        self.progress.value = 100
        total = time.perf_counter() - job.started
        self.timing = {"answer": answered or total, "all": total}
        self._say(t("done", self.lang, s=_seconds(answered or total, self.lang),
                    all=_seconds(total, self.lang), cached=job.scenario.cached,
                    total=job.scenario.total), state="done")

    def _show_progress(self, job: Job) -> None:
        b, s = job.base, job.scenario
        total = b.total + s.total + job.figures_total
        done = b.done + s.done + job.figures_done
        value = int(100 * done / total) if total else 0
        if self.progress.value != value:
            self.progress.value = value
        if s.phase != "done":
            p, key = (b, "running_base") if b.phase != "done" else (s, "running")
            self._say(t(key, job.lang, done=p.done, total=p.total or "…"))
        else:
            self._say(t("drawing", job.lang, done=job.figures_done, total=job.figures_total))

    def _compute(self, scenario: Scenario, job: Job) -> None:
        """In a thread: configurations, baseline, scenario; the figures are submitted to
        the workers, the key-figure table computed meanwhile, then the figures collected."""
        clock = [time.perf_counter()]

        def lap() -> float:
            clock.append(time.perf_counter())
            return clock[-1] - clock[-2]

        cfg = whatif.scenario_config(scenario)
        base_cfg = whatif.scenario_config(scenario.baseline())
        t_compose = lap()
        baseline = self.bench.run(base_cfg, job.base)
        t_base = lap()
        results = self.bench.run(cfg, job.scenario)
        t_run = lap()
        diff = whatif.paired_coverage(results.tables["national"],
                                      baseline.tables["national"])
        shown = Shown(t("scenario", job.lang), scenario, results, baseline, diff,
                      (config_hash(cfg), config_hash(base_cfg)),
                      whatif.changed(scenario.values, self.defaults))
        drawn = self._draw(shown, job.lang)
        job.figures_total = len(VIEWS)
        shown.values = whatif.key_figure_values(results.tables["national"], results.kpis)
        shown.base_values = whatif.key_figure_values(baseline.tables["national"],
                                                     baseline.kpis)
        shown.table = whatif.key_figure_table(shown.values, shown.base_values)
        job.shown = shown
        t_table = lap()
        for name, png in drawn:
            shown.pngs[name] = png
            job.figures_done += 1
        log.info("%s: compose %.2f s, baseline %.2f s (%d of %d cached), scenario %.2f s "
                 "(%d cached), table %.2f s, figures %.2f s", whatif.command_line(scenario),
                 t_compose, t_base, job.base.cached, job.base.total, t_run,
                 job.scenario.cached, t_table, lap())

    def _figure_jobs(self, shown: Shown, lang: Lang) -> list[tuple[str, Callable[..., Any],
                                                                   tuple[Any, ...]]]:
        base, scen = t("baseline", lang), t("scenario", lang)
        r, b = shown.results.tables, shown.baseline.tables
        national = figures.labelled([(base, b["national"]), (scen, r["national"])])
        by_state = figures.labelled([(base, b["by_state"]), (scen, r["by_state"])])
        n = shown.scenario.replications
        # The overview first; then the 16-Land figure, the longest, while the others draw.
        return [("fan", figures.fan, (national, lang, t("fan_title", lang)), WIDTH_PX["fan"]),
                ("states", figures.states, (by_state, lang, t("states_title", lang)),
                 WIDTH_PX["states"]),
                ("difference", figures.difference, (shown.diff, lang, t("diff_title", lang), n),
                 WIDTH_PX["difference"]),
                ("map", figures.land_map, (by_state, lang, t("map_title", lang)),
                 WIDTH_PX["map"])]

    def _draw(self, shown: Shown, lang: Lang) -> Iterator[tuple[str, bytes]]:
        """The views of ``shown`` in ``lang``: from the figure cache (shared by every tab),
        the rest drawn in the workers (submitted before this returns)."""
        key = (*shown.hashes, shown.scenario.replications, lang)
        with _FIGURES_LOCK:
            cached = {v: _FIGURES[(*key, v)] for v in VIEWS if (*key, v) in _FIGURES}
        jobs = [j for j in self._figure_jobs(shown, lang) if j[0] not in cached]
        drawn = self.bench.draw(jobs) if jobs else iter(())

        def all_views() -> Iterator[tuple[str, bytes]]:
            yield from cached.items()
            for name, png in drawn:
                with _FIGURES_LOCK:
                    _FIGURES[(*key, name)] = png
                    while len(_FIGURES) > MAX_CACHED_FIGURES:
                        _FIGURES.popitem(last=False)
                yield name, png

        return all_views()

    async def _redraw(self, shown: Shown, lang: Lang) -> None:
        """Draw the views again (after a language change), in the workers."""
        loop = asyncio.get_running_loop()
        pngs = await loop.run_in_executor(
            THREADS, lambda: dict(self._draw(shown, lang)))
        shown.pngs.update(pngs)
        if self.shown is shown:
            for name, png in pngs.items():
                self.v_png[name].object = png

    # ------------------------------------------------------------------ showing

    def _show(self, shown: Shown) -> None:
        self.shown = shown
        self.b_pin.disabled = len(self.pinned) >= MAX_PINNED
        self.d_yaml.disabled = False
        self.b_export.disabled = False
        self.d_zip.disabled = self.d_xlsx.disabled = True
        self._render_tables()

    def _render_tables(self) -> None:
        s = self.shown
        if s is None:
            return
        self.v_table.object = key_figure_html(s.table, len(s.values), self.lang,
                                              s.scenario.is_baseline)
        cmd = whatif.command_line(s.scenario)
        changed = ", ".join(control_label(k, self.lang) for k in s.changed) or \
            t("no_changes", self.lang)
        self.v_command.object = (f"<p><b>{html.escape(t('changes', self.lang))}:</b> "
                                 f"{html.escape(changed)}</p><p><b>"
                                 f"{html.escape(t('command', self.lang))}</b></p>"
                                 f"<pre class='cmd'>{html.escape(cmd)}</pre><p class='ozg-note'>"
                                 f"{html.escape(t('yaml_help', self.lang))}</p>")
        self._render_pinned()

    def _yaml_file(self) -> io.StringIO:
        if self.shown is None:
            return io.StringIO("")
        return io.StringIO(whatif.hydra_yaml(self.shown.scenario))

    # ------------------------------------------------------------------ pinning

    async def pin(self, _event: Any = None) -> None:
        """Pin the scenario shown (at most :data:`MAX_PINNED`), to compare side by side."""
        if self.shown is None:
            return
        if len(self.pinned) >= MAX_PINNED:
            self._say(t("pinned_max", self.lang, n=MAX_PINNED), error=True)
            return
        if all(p.scenario != self.shown.scenario for p in self.pinned):
            letter = next(c for c in PIN_NAMES if c not in {p.label for p in self.pinned})
            self.pinned.append(replace(self.shown, label=letter, pngs={}))
        self.b_pin.disabled = len(self.pinned) >= MAX_PINNED
        self.b_unpin.disabled = False
        self._render_pinned()
        await self._redraw_pinned()

    def unpin(self) -> None:
        self.pinned = []
        self.b_unpin.disabled = True
        self.b_pin.disabled = self.shown is None
        self.v_png["pinned"].object = None
        self._render_pinned()

    async def _redraw_pinned(self) -> None:
        """The fan chart of the baseline and every pinned scenario, drawn in the workers."""
        pinned, lang = list(self.pinned), self.lang
        if not pinned:
            return
        national = figures.labelled(
            [(t("baseline", lang), pinned[0].baseline.tables["national"])] +
            [(f"{t('scenario', lang)} {p.label}", p.results.tables["national"])
             for p in pinned])
        jobs = [("pinned", figures.fan, (national, lang, t("pinned_title", lang)),
                 WIDTH_PX["fan"])]
        loop = asyncio.get_running_loop()
        pngs = await loop.run_in_executor(
            THREADS, lambda: dict(self.bench.draw(jobs)))
        if [id(p) for p in self.pinned] == [id(p) for p in pinned]:
            self.v_png["pinned"].object = pngs["pinned"]

    def _render_pinned(self) -> None:
        if not self.pinned:
            note = html.escape(t("pinned_none", self.lang))
            self.v_pinned.object = f"<p class='ozg-note'>{note}</p>"
            return
        self.v_pinned.object = pinned_html(self.pinned, self.lang)

    # ------------------------------------------------------------------ export

    async def export(self, _event: Any = None) -> None:
        """Write the shown scenario's export folder (in a thread), then offer it."""
        shown = self.shown
        if shown is None:
            return
        self.b_export.disabled = True
        loop = asyncio.get_running_loop()
        try:
            folder, zipped, xlsx = await loop.run_in_executor(THREADS, self._write_export,
                                                              shown, self.lang)
        except (OutputError, OSError, WorkerLostError) as exc:
            self._say(t("error", self.lang, msg=exc), error=True)
            return
        finally:
            self.b_export.disabled = False
        self.d_zip.file, self.d_zip.filename = io.BytesIO(zipped), f"{folder.name}.zip"
        self.d_xlsx.file = io.BytesIO(xlsx)
        self.d_xlsx.filename = f"{folder.name}.xlsx"
        self.d_zip.disabled = self.d_xlsx.disabled = False
        self._say(t("exported", self.lang, dir=folder), state="exported")

    def _write_export(self, shown: Shown, lang: Lang) -> tuple[Path, bytes, bytes]:
        """In a thread: the export folder, and its ZIP and workbook to download."""
        folder = self._export_folder(shown, lang)
        return folder, zip_folder(folder), xlsx_of(folder)

    def _export_folder(self, shown: Shown, lang: Lang) -> Path:
        table = shown.table
        per_rep = pd.concat([shown.values.assign(scenario="scenario"),
                             shown.base_values.assign(scenario="baseline")], ignore_index=True)
        provenance = {**stamp("ozg-sim-app", whatif.command_line(shown.scenario)),
                      "config_hash": shown.hashes[0], "baseline_config_hash": shown.hashes[1],
                      "seed": shown.scenario.seed, "replications": shown.scenario.replications,
                      "config": to_dict(whatif.scenario_config(shown.scenario))}
        jobs = self._figure_jobs(shown, lang)

        def draw(out: Path) -> None:
            self.bench.map(save_task, [(fn, args, str(out), name, provenance)
                                       for name, fn, args, _px in jobs])

        return write_export(
            self.exports, shown.label, {"key_figures": table,
                                        "key_figures_by_replication": per_rep,
                                        "coverage_difference": shown.diff},
            {"scenario.yaml": whatif.hydra_yaml(shown.scenario),
             "command.txt": whatif.command_line(shown.scenario) + "\n"}, provenance, draw)


def _seconds(s: float, lang: Lang) -> str:
    return f"{s:.1f}".replace(".", "," if lang == "de" else ".")


def _compose_quietly(scenario: Scenario) -> None:
    try:
        whatif.scenario_config(scenario)
    except (ConfigError, DataError):
        pass  # "Run" composes again and says why


# --------------------------------------------------------------------------- tables

def key_figure_html(table: pd.DataFrame, n: int, lang: Lang, is_baseline: bool) -> str:
    """The key-figure table as HTML: scenario (median, 5–95 %), baseline median and the
    paired difference with its interval (bold where it excludes 0). Each cell carries its
    unrounded value (``data-value``) and each row its key figure (``data-key``)."""
    end = "2030"
    head = (f"<tr><th>{t('key_figure', lang)}</th><th>{t('scenario', lang)}</th>"
            f"<th>{t('range', lang)}</th><th>{t('baseline', lang)}</th>"
            f"<th>{t('difference', lang)}</th></tr>")
    rows = []
    for r in table.itertuples():
        unit = str(r.unit)
        name = t(f"kf_{r.key_figure}", lang, end=end)
        reached = "" if r.n_reached == n else \
            f" <span class='ozg-note'>{t('not_all', lang, k=r.n_reached, n=n)}</span>"
        tol = SIGNIFICANT_TOL * max(1.0, abs(r.baseline_median) if math.isfinite(
            r.baseline_median) else 1.0)  # sums of money: rounding is not a difference
        sig = math.isfinite(r.lo) and math.isfinite(r.hi) and (r.lo > tol or r.hi < -tol)
        if is_baseline or not math.isfinite(r.mean_diff):
            diff = "–"
        else:
            diff = (f"{format_difference(r.mean_diff, unit, lang)} "
                    f"[{format_bound(r.lo, unit, lang)}; {format_bound(r.hi, unit, lang)}]")
        rows.append(
            f"<tr data-key='{r.key_figure}'><td>{html.escape(name)}{reached}</td>"
            f"<td data-value='{r.median!r}'>{format_value(r.median, unit, lang)}</td>"
            f"<td>{format_range(r.q05, r.q95, unit, lang)}</td>"
            f"<td data-value='{r.baseline_median!r}'>"
            f"{format_value(r.baseline_median, unit, lang)}</td>"
            f"<td data-value='{r.mean_diff!r}' class='{'sig' if sig else ''}'>"
            f"{html.escape(diff)}</td></tr>")
    note = t("table_note", lang, n=n)
    return (f"<table class='ozg-table' id='key-figures'>{head}{''.join(rows)}</table>"
            f"<p class='ozg-note'>{html.escape(note)}</p>")


def pinned_html(pinned: list[Shown], lang: Lang) -> str:
    """Pinned scenarios side by side: per key figure the baseline's median and each
    scenario's median with its paired difference; below, each scenario's command line."""
    base = whatif.summarise_key_figures(pinned[0].base_values).set_index("key_figure")
    head = "".join(f"<th>{t('scenario', lang)} {p.label}</th>" for p in pinned)
    rows = []
    tables = [p.table.set_index("key_figure") for p in pinned]
    for fig in whatif.KEY_FIGURES:
        cells = "".join(
            f"<td data-value='{tb.loc[fig.name, 'median']!r}'>"
            f"{format_value(tb.loc[fig.name, 'median'], fig.unit, lang)}<br>"
            f"<span class='ozg-note'>"
            f"{format_difference(tb.loc[fig.name, 'mean_diff'], fig.unit, lang)}</span></td>"
            for tb in tables)
        rows.append(f"<tr><td>{html.escape(t(f'kf_{fig.name}', lang, end='2030'))}</td>"
                    f"<td>{format_value(base.loc[fig.name, 'median'], fig.unit, lang)}</td>"
                    f"{cells}</tr>")
    commands = "".join(f"<p><b>{t('scenario', lang)} {p.label}:</b> "
                       f"<code>{html.escape(whatif.command_line(p.scenario))}</code></p>"
                       for p in pinned)
    return (f"<div id='pinned-view'><table class='ozg-table' id='pinned'><tr><th>"
            f"{t('key_figure', lang)}</th><th>{t('baseline', lang)}</th>{head}</tr>"
            f"{''.join(rows)}</table>{commands}</div>")


def create(bench: Workbench, exports: Path,
           programmes: dict[str, tuple[str, float]] | None = None,
           lang: str = "de") -> Callable[[], Any]:
    """The function Panel calls for each new browser tab: a new :class:`Session`."""
    start: Lang = "en" if lang == "en" else "de"

    def session() -> Any:
        return Session(bench, exports, start, programmes=programmes).layout
    return session
