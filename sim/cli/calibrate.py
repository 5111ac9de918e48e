"""``ozg-sim-calibrate``: calibrate uncertain parameters against the official counts.

    ozg-sim-calibrate [NAME=historical] [key=value ...] [workers=N] [executor=dask ...]
                      [out=DIR] [apply=true] [until=YYYY-MM]

``NAME`` is a spec ``conf/calibration/NAME.yaml`` (its first line is this command). A
``key=value`` whose key is a spec key (``method``,
``population_size``, ``calibration_particles``, ``max_generations``, ``max_simulations``,
``target_acceptance_rate``, ``predictive_draws``, ``waves``, ``design_runs``,
``candidates``, ``implausibility_cutoff``, ``training_runs``, ``hyper_runs``,
``emulator_evaluations``, ``until``, ``seed``, ``catalogue_services``,
``catalogue_federal_services``; the observation errors per source kind are set in the file)
overrides the spec; one whose key is an ozg-sim config key or group (``world=toy``,
``funding=none``, ``staffing.bund_fte=200``) is added to the spec's ``overrides``.
``workers`` (default: all cores; results do not depend on it),
``executor=dask`` with ``executor.address=tcp://HOST:PORT`` or ``executor.scheduler_file``
(a Dask distributed cluster runs every simulation instead of the local pool, with one
thread per worker process; results do not depend on it either; :mod:`sim.executor`),
``out`` (default ``outputs/calibration``),
``apply=true`` (also write ``conf/calibrated/NAME.yaml`` and
``conf/calibrated/NAME_posterior.csv`` of the checkout; not with ``until``, not from an
installed package, not for a parameter a shipped scenario file sets: :func:`check_apply`).
``until=YYYY-MM`` makes a backtest: only the counts up to that month are fitted, the later
ones are forecast and compared with naive forecasters.

Writes ``<out>/<timestamp>_<NAME>/`` only when complete: ``targets.csv``, ``particles.csv``,
``posterior.csv`` (the posterior sample in the format of :mod:`sim.posterior`),
``generations.csv``, ``parameters.csv``, ``quality.csv``, ``fit_table.csv``,
``patterns.csv``, ``acceptance.csv``,
``predictive.parquet``, ``projection.parquet``, ``abc.db`` (pyabc's database), with
``method=emulator`` ``waves.csv``, ``emulator_validation.csv``, ``emulator_check.csv`` and
``design.parquet`` (every history-matching simulation),
``calibrated.yaml``, ``report.md``, ``manifest.json``, ``figures/`` (``fit``, ``residuals``,
``posterior``, and with ``until`` ``backtest``: PNG, SVG, PDF and sidecar CSV) and with
``until`` ``backtest.csv`` and ``backtest_verdict.csv``. A bad spec or option prints one
line naming key and allowed values, exits with code 2 and writes nothing; so does an
``out=`` (or, with ``apply=true``, ``conf/calibrated/``) that is a file or cannot be
written, checked before the first simulation. A write that fails later (full disk,
read-only) prints one line naming the path and exits with code 3, leaving no output folder.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sim.calibration.backtest import backtest_table, verdict_table
from sim.calibration.method import CalibrationResult, calibrate, summary_lines
from sim.calibration.report import (
    TOOL,
    calibrated_yaml,
    posterior_file_name,
    posterior_sample,
    report_markdown,
)
from sim.calibration.spec import (
    SPEC_OPTION_KEYS,
    base_overrides,
    calibrated_overrides,
    check_parameters,
    load_spec,
    spec_names,
)
from sim.cli.common import (
    EXIT_WORKERS_LOST,
    CommandLine,
    Option,
    Progress,
    fail,
    fail_io,
    interrupted,
    log,
    parse_int,
    setup_logging,
)
from sim.config import (
    CONF_DIR,
    CONF_IN_CHECKOUT,
    CONFIG_NAME,
    GROUPS,
    hydra_session,
    load_config,
    scenario_keys,
)
from sim.engines import WORKER_LOST, DaskEngine, open_engine
from sim.errors import ConfigError, DataError
from sim.executor import ExecutorParams
from sim.figures.calibration import draw_calibration_figures
from sim.io import OutputError, check_writable, staged_folder, timestamp
from sim.keys import to_dict
from sim.params import Config
from sim.pool import default_workers
from sim.posterior import posterior_csv
from sim.provenance import code_version, config_hash, stamp
from sim.world import build_world

#: Where ``apply=true`` writes: the checkout's ``conf/calibrated/`` (never an installed
#: package's copy, :func:`check_apply`).
CALIBRATED_DIR = CONF_DIR / "calibrated"
OPTION_KEYS = ("workers", "out", "apply", "scheduler")
#: The config group of where the simulations run (:mod:`sim.executor`): its overrides
#: choose the engine and are not part of the calibration's scenario.
EXECUTOR_ROOT = "executor"
DEFAULT_NAME = "historical"
COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} [NAME] [key=value ...]",
    "Calibrate the uncertain parameters against the official OZG counts (ABC-SMC or "
    "history matching); writes the posterior, fit, report and figures under out=.",
    positional=("NAME", f"conf/calibration/NAME.yaml (default: {DEFAULT_NAME})"),
    options={
        **{k: Option("VALUE", "overrides this key of the spec file") for k in SPEC_OPTION_KEYS},
        "workers": Option("N", "local worker processes (default: all cores; results do not "
                               "depend on it)"),
        "out": Option("DIR", "root of the output folders (default: outputs/calibration)"),
        "apply": Option("true|false", "also write conf/calibrated/NAME.yaml and its "
                                      "posterior (default: false; not with until)"),
        "scheduler": Option("URL", "no longer used: executor=dask executor.address=URL")},
    notes=("A key=value whose key is an ozg-sim config key or group (world=toy, "
           "funding=none) is added to the spec's overrides; until=YYYY-MM makes a backtest.",
           "executor=dask runs the simulations on a Dask cluster (executor.address=tcp://"
           "HOST:PORT or executor.scheduler_file=PATH; neither: a local one); the same "
           "particles as executor=local.",),
    pool=True)


class _PhaseProgress:
    """One progress display per phase of the calibration (generations, predictive draws)."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar: Progress | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = Progress(total, unit="particle" if "generation" in phase else "run",
                                desc=phase, every=0.1)
        assert self.bar is not None
        self.bar(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def parse_args(argv: list[str]) -> tuple[str, dict[str, str], dict[str, str], list[str]]:
    """Name, spec options, command options (workers, out, apply, scheduler) and config
    overrides."""
    config_roots = set(Config.__dataclass_fields__) | set(GROUPS) | {"hydra"}
    rest, overrides = [], []
    for a in argv:
        key = a.partition("=")[0]
        root = key.lstrip("+~").split(".")[0]
        if "=" in a and key not in SPEC_OPTION_KEYS and key not in OPTION_KEYS \
                and root in config_roots:
            overrides.append(a)
        else:
            rest.append(a)
    cmd = COMMAND_LINE.parse(rest)
    names, opts = cmd.positionals, cmd.options
    if len(names) > 1:
        raise ConfigError(f"{names[1]!r} is not allowed: one spec name, then key=value "
                          f"options (usage: {TOOL} [NAME] [key=value ...])")
    name = names[0] if names else DEFAULT_NAME
    if name not in spec_names():
        raise ConfigError(f"calibration={name!r} is not allowed: one of "
                          + ", ".join(spec_names()))
    if "workers" in opts:
        parse_int("workers", opts["workers"], 1)
    if "out" in opts and not opts["out"]:
        raise ConfigError("out= is not allowed empty: a folder")
    if opts.get("apply", "false").lower() not in ("true", "false"):
        raise ConfigError(f"apply={opts['apply']!r} is not allowed: one of true, false")
    if "scheduler" in opts:
        raise ConfigError(f"scheduler={opts['scheduler']!r} is not allowed: it is now "
                          f"executor=dask executor.address={opts['scheduler']}")
    spec_opts = {k: v for k, v in opts.items() if k in SPEC_OPTION_KEYS}
    cmd_opts = {k: v for k, v in opts.items() if k in OPTION_KEYS}
    return name, spec_opts, cmd_opts, overrides


def write_outputs(folder: Path, result: CalibrationResult, meta: dict[str, Any],
                  yaml_text: str, posterior_text: str) -> dict[str, int]:
    """Tables, calibrated.yaml, posterior.csv, figures, report and manifest into
    ``folder`` (staging; pyabc's ``abc.db`` is already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    tables = {"targets.csv": result.targets, "particles.csv": result.particles,
              "generations.csv": result.generations, "parameters.csv": result.parameters,
              "quality.csv": result.quality, "fit_table.csv": result.fit,
              "patterns.csv": result.patterns, "acceptance.csv": result.acceptance}
    for name, df in (("waves.csv", result.waves), ("emulator_validation.csv",
                                                   result.validation),
                     ("emulator_check.csv", result.emulator_check)):
        if df is not None:
            tables[name] = df
    if result.spec.until:
        tables["backtest.csv"] = meta["backtest"]
        tables["backtest_verdict.csv"] = meta["verdict"]
    for name, df in tables.items():
        df.to_csv(folder / name, index=False, float_format="%.8g", date_format="%Y-%m-%d")
        rows[name] = len(df)
    parquet = {"projection.parquet": result.projection,
               "predictive.parquet": result.predictive}
    if result.design is not None:
        parquet["design.parquet"] = result.design
    for name, df in parquet.items():
        df.to_parquet(folder / name, index=False)
        rows[name] = len(df)
    (folder / "calibrated.yaml").write_text(yaml_text, encoding="utf-8")
    (folder / "posterior.csv").write_text(posterior_text, encoding="utf-8")
    provenance = {"tool": TOOL, "calibration": result.spec.name,
                  "command": meta["command"], "seed": result.spec.seed,
                  "config_hash_calibrated": config_hash(result.calibrated),
                  "code_version": meta["code_version"], "git_commit": meta["git_commit"]}
    meta["figures"] = draw_calibration_figures(
        folder, provenance, result.fit_end, result.ess, result.temperature,
        (result.spec.catalogue_services, result.spec.catalogue_federal_services))
    (folder / "report.md").write_text(report_markdown(result, meta), encoding="utf-8")
    manifest = {
        "tool": TOOL, "calibration": result.spec.name, "method": result.method,
        **{k: v for k, v in meta.items() if k not in ("backtest", "verdict")},
        "spec": result.spec.as_dict(),
        "base_overrides": base_overrides(result.spec),
        "estimate": result.estimate,
        "calibrated_overrides": calibrated_overrides(result.calibrated, result.spec.keys),
        "effective_sample_size": result.ess,
        "final_temperature": result.temperature,
        "generations": result.generations.to_dict(orient="records"),
        "waves": (result.waves.to_dict(orient="records") if result.waves is not None
                  else None),
        "quality_passed": result.passed,
        "fit_end": result.fit_end,
        "seeds": {"root": result.spec.seed,
                  "proposals": "numpy's global generator seeded by SeedSequence((seed, "
                               "generation + 2, proposal)) per proposal; see "
                               "sim/calibration/abc.py",
                  "simulations": ("history matching: replication of run i of wave w "
                                  "from SeedSequence((seed, 8131, w, i)), the design from "
                                  "(seed, 8101) and the candidates from (seed, 8111, w), "
                                  "sim/calibration/emulation.py; "
                                  if result.method == "emulator" else
                                  "replication drawn per proposal; ")
                                 + "streams SeedSequence((seed, replication, stream_id)), "
                                   "sim/rng.py",
                  "predictive_replications": list(range(result.spec.predictive_draws))},
        "base_config": to_dict(result.base),
        "calibrated_config": to_dict(result.calibrated),
        "config_hash_calibrated": config_hash(result.calibrated),
        "timings": {**{k: round(v, 3) for k, v in result.timings.items()},
                    "wall_s": round(meta["wall_s"], 3), "workers": meta["workers"]},
        "n_runs": result.n_runs,
        "rows": rows,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str),
                                          encoding="utf-8")
    return rows


def _executor(stack: ExitStack, params: ExecutorParams,
              workers: int | None) -> tuple[Executor | None, int]:
    """A Dask client's executor and its worker count (``executor=dask``), or ``(None, n)``
    for the local pool of ``n`` workers."""
    engine = stack.enter_context(open_engine(params, workers))
    if not isinstance(engine, DaskEngine):
        return None, engine.workers
    threads = engine.client.nthreads()
    many = sorted(w for w, n in threads.items() if n > 1)
    if many:  # pyabc's proposals seed NumPy's global generator: one thread per worker
        raise ConfigError(f"executor: Dask worker {many[0]} has {threads[many[0]]} threads; a "
                          "calibration needs one per worker process (dask worker ... "
                          "--nthreads 1 --nworkers N), else its particles depend on timing")
    return engine.client.get_executor(), engine.workers


def _apply(name: str, yaml_text: str, posterior_text: str) -> None:
    """Write the point estimate and the posterior sample into ``conf/calibrated/``."""
    CALIBRATED_DIR.mkdir(parents=True, exist_ok=True)
    for target, text in ((CALIBRATED_DIR / f"{name}.yaml", yaml_text),
                         (CALIBRATED_DIR / posterior_file_name(name), posterior_text)):
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        finally:  # a failed write (full disk) leaves no temporary file
            tmp.unlink(missing_ok=True)
        print(f"applied: {target}")


def check_apply(name: str, parameters: list[str]) -> None:
    """Refuse ``apply=true`` when its values could not take effect: ozg-sim installed as a
    package (its configs are not the user's to change), or a parameter that the default
    scenario's own files set (they win over a calibrated option, README "Running
    scenarios")."""
    if not CONF_IN_CHECKOUT:
        raise ConfigError(f"apply=true is not allowed: ozg-sim is installed as a package, its "
                          f"configs ({CONF_DIR}) are not changed; copy the output folder's "
                          f"calibrated.yaml to DIR/calibrated/my_{name}.yaml, point its "
                          "posterior: line at the folder's posterior.csv (absolute path) and "
                          f"run ozg-sim --config-dir DIR calibrated=my_{name}")
    with hydra_session() as loader:
        fixed = scenario_keys(loader, CONFIG_NAME, [])
    clash = [k for k in parameters if k in fixed]
    if clash:
        raise ConfigError(f"parameters.{clash[0]} is not allowed with apply=true: a shipped "
                          "scenario file (conf/config.yaml or a default group option) sets it "
                          "and would override the calibrated value; move its default to "
                          "conf/calibrated/none.yaml")


def run_calibration(argv: list[str]) -> Path:
    """Parse, calibrate and write; returns the output folder."""
    name, spec_opts, opts, overrides = parse_args(argv)
    executor_overrides = [o for o in overrides
                          if o.partition("=")[0].lstrip("+~").split(".")[0] == EXECUTOR_ROOT]
    overrides = [o for o in overrides if o not in executor_overrides]
    spec = load_spec(name, spec_opts, overrides)
    apply = opts.get("apply", "false").lower() == "true"
    if apply and spec.until:
        raise ConfigError(f"apply=true is not allowed with until={spec.until}: a backtest "
                          "fits only part of the record")
    base = load_config(base_overrides(spec))
    check_parameters(spec, base)
    world = build_world(base.world)
    out_root = check_writable(Path(opts.get("out", "outputs/calibration")), "out")
    if apply:
        check_apply(name, spec.keys)
        check_writable(CALIBRATED_DIR, "apply")
    command = " ".join([TOOL, *argv])
    t0 = time.perf_counter()
    progress = _PhaseProgress()
    with ExitStack() as stack:
        executor, workers = _executor(stack, load_config(executor_overrides).executor,
                                      int(opts.get("workers", 0)) or default_workers())
        budget = (f"history matching in {spec.waves} waves of {spec.design_runs} "
                  f"simulations, then ABC-SMC on the emulator with {spec.population_size} "
                  "particles per generation" if spec.method == "emulator" else
                  f"ABC-SMC with {spec.population_size} particles per generation, at most "
                  f"{spec.max_generations} generations and about {spec.max_simulations} "
                  "simulations")
        log.info("%s: %d parameters; %s, %d predictive draws, on %d worker(s)%s",
                 name, len(spec.parameters), budget, spec.predictive_draws, workers,
                 " of a Dask cluster" if executor else "")
        stage = stack.enter_context(staged_folder(out_root, f"{timestamp()}_{name}"))
        try:
            result = calibrate(base, world, spec, workers=workers, progress=progress,
                               db=f"sqlite:///{(stage.path / 'abc.db').as_posix()}",
                               executor=executor)
        finally:
            progress.close()
        wall = time.perf_counter() - t0
        st = stamp(TOOL, command)
        commit = st["git_commit"] or "unknown"
        header = {"command": command, "date": str(st["created_utc"]), "seed": str(spec.seed),
                  "code_version": f"{code_version()} (git {commit})",
                  "spec": f"conf/calibration/{name}.yaml",
                  "report": (stage.final / "report.md").as_posix(),
                  "fitted": "to the official OZG counts 2020-2022 (sim/data/"
                            "ozg_history_2018_2022.csv) by "
                            + ("history matching with Gaussian-process emulators "
                               "(scikit-learn) and ABC-SMC (pyabc) on the emulated "
                               "likelihood" if spec.method == "emulator" else
                               "ABC-SMC (pyabc)")}
        meta: dict[str, Any] = {**st, "git_commit": commit, "wall_s": wall, "workers": workers,
                                "scheduler": opts.get("scheduler"), "world": world.summary(),
                                "applied_to": None}
        if spec.until:
            meta["backtest"] = backtest_table(result.fit)
            meta["verdict"] = verdict_table(meta["backtest"])
        if apply:
            meta["applied_to"] = [(CALIBRATED_DIR / f"{name}.yaml").as_posix(),
                                  (CALIBRATED_DIR / posterior_file_name(name)).as_posix()]
        yaml_text = calibrated_yaml(result, header)
        posterior_text = posterior_csv(posterior_sample(result), header)
        write_outputs(stage.path, result, meta, yaml_text, posterior_text)
        final = stage.final
    if apply:
        _apply(name, yaml_text, posterior_text)
    log.info("done in %.0f s", wall)
    print(f"outputs: {final}")
    print("calibrated values:")
    for line in summary_lines(result):
        print(f"  {line}")
    return final


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        run_calibration(args)
    except KeyboardInterrupt:
        interrupted(TOOL, "no output folder was written")
    except (ConfigError, DataError) as exc:
        fail(TOOL, exc)
    except (OutputError, OSError) as exc:
        fail_io(TOOL, exc)
    except (BrokenProcessPool, *WORKER_LOST) as exc:  # a worker was killed (out of memory,
        # SIGKILL): on the local pool at once, on Dask after a task lost it three times
        first = (str(exc).strip().splitlines() or ["killed"])[0][:200]
        fail(TOOL, f"a worker process of the calibration died ({first}); no output "
             "folder was written: start it again (with fewer workers= if memory ran out)",
             EXIT_WORKERS_LOST)


__all__ = ["calibrated_yaml", "load_spec", "main", "parse_args",
           "report_markdown", "run_calibration", "spec_names"]

if __name__ == "__main__":
    main()
