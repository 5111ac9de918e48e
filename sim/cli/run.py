"""``ozg-sim``: run one configuration (replications) and write its outputs.

Usage: ``ozg-sim [key=value ...]`` with Hydra overrides, e.g.
``ozg-sim strategy=efv funding=koenigstein replications=20 seed=7 workers=2``.
``hydra.run.dir=DIR`` picks the output folder. A bad configuration prints one line naming
the key, the value and what is allowed, exits with code 2 and writes nothing; with ``-m``
(a Hydra multirun) every job is checked before the first runs. ``+key=`` and ``++key=``
are checked like plain overrides, a key given twice with different values is refused, and
a run (or multirun) estimated above ``max_cost_s`` core-seconds is refused with the
estimate. So does an
output folder (``hydra.run.dir``, ``hydra.sweep.dir``, or the root of the default) that is a
file or cannot be written, checked before Hydra starts. A write that fails while the outputs
are written (full disk, read-only) prints one line naming the path and the reason and exits
with code 3, leaving no run folder.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import hydra
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim import __version__
from sim.bounds import DEFAULT_MAX_COST_S, check_cost
from sim.cli.common import (
    EXIT_WORKERS_LOST,
    Progress,
    fail,
    fail_io,
    interrupted,
    log,
    quiet_libraries,
)
from sim.cli.figures import redraw_run
from sim.config import (
    CONF_DIR,
    CONFIG_NAME,
    check_repeats,
    check_run_dates,
    explain,
    hydra_session,
    hydra_settings,
    job_config,
    load_config,
    register_schema,
)
from sim.engines import open_engine
from sim.errors import ConfigError, DataError
from sim.io import OutputError, check_writable, write_run
from sim.keys import to_dict
from sim.metrics import headline
from sim.pool import WorkerLostError
from sim.posterior import draws_record
from sim.runner import run_replications
from sim.world import build_world

TOOL = "ozg-sim"
_PASS_THROUGH = ("-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c", "--resolve",
                 "--package", "-p", "--version", "--shell-completion", "-sc")


def run(cfg_node: object) -> Path:
    """Hydra task: simulate the configuration and write its outputs into the run folder."""
    quiet_libraries()
    try:
        cfg = job_config(cfg_node)  # type: ignore[arg-type]
        check_run_dates(cfg)
        world = build_world(cfg.world)
    except (ConfigError, DataError) as exc:
        fail(TOOL, str(exc))
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    t0 = time.perf_counter()
    s = world.summary()
    log.info("world %s: %d Länder, %d services, %d municipal administrations; strategy=%s "
             "funding=%s staffing=%s; %d replications, seed %d",
             cfg.world.name, s["states"], s["services"], s["admins"], cfg.strategy.name,
             cfg.funding.name, cfg.staffing.name, cfg.replications, cfg.seed)
    progress = Progress(cfg.replications)
    try:
        with open_engine(cfg.executor, cfg.workers) as engine:
            results = run_replications(world, cfg, cfg.workers, progress, engine)
    except ConfigError as exc:  # no Dask, no scheduler there, a worker on other code
        _remove_if_only_hydra(out_dir)
        fail(TOOL, str(exc))
    except WorkerLostError as exc:
        _remove_if_only_hydra(out_dir)
        fail(TOOL, exc, EXIT_WORKERS_LOST)
    except KeyboardInterrupt:
        _remove_if_only_hydra(out_dir)
        raise
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    draws = draws_record(cfg.calibrated_draws, cfg.posterior)
    try:  # the charts exactly as ozg-sim-figures redraws them, from the tables just written
        write_run(out_dir, cfg, world, results, wall,
                  figures=lambda d: redraw_run(d, {"config": to_dict(cfg),
                                                   "calibrated_draws": draws}),
                  extra={"calibrated_draws": draws})
    except (OutputError, OSError) as exc:
        _remove_if_only_hydra(out_dir)
        fail_io(TOOL, exc)
    except KeyboardInterrupt:  # while writing: the staging folder is gone already
        _remove_if_only_hydra(out_dir)
        raise
    log.info("done in %.1f s (%.2f s per replication on %s)", wall,
             sum(results.wall_s) / len(results.wall_s), engine.describe())
    log.info("%s", headline(results.kpi_summary))
    print(f"outputs: {out_dir}")
    print(f"charts:  {out_dir / 'coverage.png'} (also .pdf/.svg; per-Land small multiples "
          "and maps beside it; summary.xlsx for Excel; ozg-sim-report FOLDER for a report)")
    return out_dir


def expand_multirun(overrides: list[str], config_dirs: tuple[Path, ...] = ()) -> list[list[str]]:
    """The overrides of every job of a Hydra multirun, in Hydra's order: Hydra's basic
    sweeper expands them (``a=1,2``, ``range(...)``, ``choice(...)``, and ``glob(...)``
    against the group's options on the whole search path)."""
    with hydra_session(config_dirs) as loader:
        try:
            parsed = OverridesParser.create(config_loader=loader).parse_overrides(overrides)
        except Exception as exc:  # Hydra's override grammar raises its own exception types
            raise ConfigError(explain(exc)) from exc
    for text, ov in zip(overrides, parsed, strict=True):
        if ov.is_sweep_override() and not ov.is_discrete_sweep():
            raise ConfigError(f"{text} is not allowed: Hydra's basic sweeper sweeps discrete "
                              "values only: a,b,c, range(...), choice(...) or glob(...)")
        if ov.is_discrete_sweep() and not list(ov.sweep_string_iterator()):
            raise ConfigError(f"{text} is not allowed: it selects no value")
    (jobs,) = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for job in jobs]


def check_multirun(overrides: list[str], config_dirs: tuple[Path, ...] = (),
                   config_name: str = CONFIG_NAME) -> None:
    """Check every job of a multirun before the first starts (its config, world and the
    cost of all jobs together), so a bad value in a later job writes nothing."""
    jobs = expand_multirun(overrides, config_dirs)
    worlds: set[str] = set()
    total = 0.0
    budget = DEFAULT_MAX_COST_S
    for job in jobs:
        cfg = load_config(job, config_dirs=config_dirs, config_name=config_name)
        check_run_dates(cfg)
        if repr(cfg.world) not in worlds:  # each distinct world is built once
            build_world(cfg.world)
            worlds.add(repr(cfg.world))
        total += cfg.estimated_cost_s()
        budget = cfg.max_cost_s
    check_cost(total, budget, "this multirun", f"{len(jobs)} jobs")


#: What Hydra itself puts in a run folder before the run writes anything.
_HYDRA_FILES = (".hydra", f"{TOOL}.log")


def _remove_if_only_hydra(out_dir: Path) -> None:
    """Remove a run folder that holds nothing but Hydra's own files (a failed write left no
    output of ours in it)."""
    try:
        if out_dir.is_dir() and all(p.name in _HYDRA_FILES for p in out_dir.iterdir()):
            shutil.rmtree(out_dir, ignore_errors=True)
    except OSError:
        pass


def output_root(args: list[str], multirun: bool, config_dirs: tuple[Path, ...] = (),
                config_name: str = CONFIG_NAME) -> tuple[Path, str]:
    """The folder Hydra will create the run folder in, and its key: the value of
    ``hydra.run.dir=`` (``hydra.sweep.dir=`` for a multirun) if given, else that of the
    primary config on the search path; each cut at its first interpolation
    (``${now:...}``), since only the part before it is known before Hydra starts."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [a.split("=", 1)[1] for a in args if a.lstrip("+").split("=", 1)[0] == key]
    if given:
        raw = given[-1]
    else:
        job = expand_multirun(args, config_dirs)[0] if multirun else args
        node = hydra_settings(job, config_dirs=config_dirs, config_name=config_name)
        raw = str(node["sweep" if multirun else "run"]["dir"])
    fixed = raw.split("${", 1)[0]
    if "${" in raw:  # the folder is created under the last complete part
        fixed = fixed.rpartition("/")[0] if "/" in fixed else ""
    return Path(fixed or "."), key


#: Hydra's flags that take a value (``--flag VALUE`` or ``--flag=VALUE``); those that choose
#: the configs are read here too, so the pre-flight composes what Hydra will.
_CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
_CONFIG_NAME_FLAGS = ("--config-name", "-cn")
_CONFIG_PATH_FLAGS = ("--config-path", "-cp")
_VALUE_FLAGS = (*_CONFIG_DIR_FLAGS, *_CONFIG_NAME_FLAGS, *_CONFIG_PATH_FLAGS,
                "--experimental-rerun")


def split_args(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The overrides of a command line and the values of Hydra's flags that take one
    (``{'--config-dir': DIR, ...}``, short forms under their long name)."""
    overrides: list[str] = []
    flags: dict[str, str] = {}
    it = iter(args)
    for a in it:
        name, eq, value = a.partition("=")
        if name in _VALUE_FLAGS:
            if not eq:
                value = next(it, "")
                if not value:
                    raise ConfigError(f"{name} is not allowed without a value")
            long = {"-cd": "--config-dir", "-cn": "--config-name",
                    "-cp": "--config-path"}.get(name, name)
            flags[long] = value
        elif not a.startswith("-"):
            overrides.append(a)
    return overrides, flags


def main(argv: list[str] | None = None) -> None:
    """Console entry point: pre-flight check of the overrides, then the Hydra run."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args:  # Hydra's own flag would print Hydra's version
        print(f"{TOOL} {__version__} (Hydra {hydra.__version__})")
        return
    if not CONF_DIR.is_dir():
        fail(TOOL, f"config folder {CONF_DIR} not found: reinstall ozg-sim")
    multirun = any(a in ("-m", "--multirun") for a in args)
    passthrough = any(a.split("=")[0] in _PASS_THROUGH for a in args)
    try:
        overrides, flags = split_args(args)
        if "--config-path" in flags:
            raise ConfigError(f"--config-path {flags['--config-path']} is not allowed: give "
                              "your config folder with --config-dir DIR (and its primary "
                              "config with --config-name NAME)")
    except ConfigError as exc:
        fail(TOOL, exc)
    config_dirs = tuple(Path(flags[f]) for f in ("--config-dir",) if f in flags)
    config_name = flags.get("--config-name", CONFIG_NAME).removesuffix(".yaml")
    if not passthrough:
        try:
            check_repeats(overrides)
            if multirun:
                check_multirun(overrides, config_dirs, config_name)
            else:
                cfg = load_config(overrides, config_dirs=config_dirs, config_name=config_name)
                check_run_dates(cfg)
                build_world(cfg.world)
            root, key = output_root(overrides, multirun, config_dirs, config_name)
        except (ConfigError, DataError) as exc:
            fail(TOOL, explain(exc))
        except Exception as exc:  # Hydra's override grammar raises its own exception types
            fail(TOOL, explain(exc))
        try:
            check_writable(root, key)
        except ConfigError as exc:
            fail(TOOL, exc)

    register_schema()

    @hydra.main(config_path=str(CONF_DIR), config_name="config", version_base=None)
    def _hydra_main(cfg: object) -> None:
        run(cfg)

    sys.argv = [sys.argv[0] if sys.argv else TOOL, *args]
    try:
        _hydra_main()
    except KeyboardInterrupt:
        interrupted(TOOL, "no outputs were written")


if __name__ == "__main__":
    main()
