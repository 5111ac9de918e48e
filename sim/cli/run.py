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

import itertools
import shutil
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from sim import __version__
from sim.bounds import DEFAULT_MAX_COST_S, check_cost
from sim.calendar import OZG_DEADLINE, OZG_DEADLINE_MONTH, month_index
from sim.cli.common import (
    EXIT_WORKERS_LOST,
    Progress,
    fail,
    fail_io,
    interrupted,
    log,
    quiet_libraries,
)
from sim.config import (
    CONF_DIR,
    check_overrides,
    check_repeats,
    explain,
    load_config,
    register_schema,
    to_config,
)
from sim.errors import ConfigError, DataError
from sim.figures.labels import run_title
from sim.figures.run import draw_run_figures
from sim.io import OutputError, check_writable, write_run
from sim.params import Config
from sim.posterior import draws_record
from sim.provenance import run_provenance
from sim.runner import WorkerLostError, run_replications
from sim.world import build_world

TOOL = "ozg-sim"
_PASS_THROUGH = ("-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c", "--resolve",
                 "--package", "-p", "--version", "--shell-completion", "-sc")


def check_run_dates(cfg: Config) -> None:
    """The dates a run's outputs need: ``end`` not before the OZG deadline (the key figures
    and the closing lines are read there) and no ``map_months`` after ``end`` (it would have
    no map). The library simulates shorter horizons (a calibration backtest ends earlier),
    so this is the command's check, not :meth:`Config.validate`'s.

    Raises
    ------
    ConfigError
        Naming the key, its value and what is allowed.
    """
    if month_index(cfg.end, "end") < OZG_DEADLINE_MONTH:
        raise ConfigError(f"end={cfg.end!r} is not allowed: a month from {OZG_DEADLINE} on "
                          "(ozg-sim reads its key figures at the OZG deadline)")
    late = [m for m in cfg.map_months if month_index(m, "map_months") > cfg.horizon_months - 1]
    if late:
        raise ConfigError(f"map_months={list(cfg.map_months)!r} is not allowed: months not "
                          f"after end={cfg.end} ({late[0]} is; e.g. map_months=[{OZG_DEADLINE}])")


def run(cfg_node: object) -> Path:
    """Hydra task: simulate the configuration and write its outputs into the run folder."""
    quiet_libraries()
    try:
        cfg = to_config(cfg_node)  # type: ignore[arg-type]
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
        results = run_replications(world, cfg, cfg.workers, progress)
    except WorkerLostError as exc:
        _remove_if_only_hydra(out_dir)
        fail(TOOL, exc, EXIT_WORKERS_LOST)
    except KeyboardInterrupt:
        _remove_if_only_hydra(out_dir)
        raise
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    title = run_title(cfg.strategy.name, cfg.funding.name, cfg.staffing.name, cfg.world.name)
    draws = draws_record(cfg.calibrated_draws, cfg.posterior)
    subtitle = f"Seed {cfg.seed}. {draws['description']}"
    try:
        write_run(out_dir, cfg, world, results, wall,
                  figures=lambda d: draw_run_figures(d, title, subtitle, run_provenance(cfg)),
                  extra={"calibrated_draws": draws})
    except (OutputError, OSError) as exc:
        _remove_if_only_hydra(out_dir)
        fail_io(TOOL, exc)
    except KeyboardInterrupt:  # while writing: the staging folder is gone already
        _remove_if_only_hydra(out_dir)
        raise
    k = results.kpi_summary.set_index("kpi")["median"]
    log.info("done in %.1f s (%.2f s per replication on %s worker(s))", wall,
             sum(results.wall_s) / len(results.wall_s), cfg.workers or "all")
    log.info("at 2022-12-31 (median): %d services online somewhere, %d nationwide, "
             "population coverage %.1f %%", k["online_anywhere_2022_12"],
             k["nationwide_2022_12"], 100 * k["population_coverage_2022_12"])
    print(f"outputs: {out_dir}")
    print(f"charts:  {out_dir / 'coverage.png'} (and coverage.pdf)")
    return out_dir


def expand_multirun(overrides: list[str]) -> list[list[str]]:
    """The overrides of every job of a Hydra multirun, in Hydra's order: the cartesian
    product of each sweep override's values (``a=1,2``, ``range(...)``, ``choice(...)``),
    as Hydra's basic sweeper expands them."""
    check_overrides(overrides)  # unknown keys and group options, before parsing
    lists: list[list[str]] = []
    parsed = OverridesParser.create().parse_overrides(overrides)
    for text, ov in zip(overrides, parsed, strict=True):
        if not ov.is_sweep_override():
            lists.append([text])
        elif ov.is_discrete_sweep():
            key = ov.get_key_element()
            lists.append([f"{key}={v}" for v in ov.sweep_string_iterator()])
        else:
            raise ConfigError(f"{text} is not allowed: a multirun sweeps discrete "
                              "values (a,b,c or range(...) or choice(...))")
    return [list(job) for job in itertools.product(*lists)]


def check_multirun(overrides: list[str]) -> None:
    """Check every job of a multirun before the first starts (its config, world and the
    cost of all jobs together), so a bad value in a later job writes nothing."""
    jobs = expand_multirun(overrides)
    worlds: set[str] = set()
    total = 0.0
    budget = DEFAULT_MAX_COST_S
    for job in jobs:
        cfg = load_config(job)
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


def output_root(args: list[str], multirun: bool) -> tuple[Path, str]:
    """The folder Hydra will create the run folder in, and its key: the value of
    ``hydra.run.dir=`` (``hydra.sweep.dir=`` for a multirun) if given, else the default of
    ``conf/config.yaml``; each cut at its first interpolation (``${now:...}``), since only
    the part before it is known before Hydra starts."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [a.split("=", 1)[1] for a in args if a.lstrip("+").split("=", 1)[0] == key]
    if given:
        raw = given[-1]
    else:
        conf = OmegaConf.load(CONF_DIR / "config.yaml")
        node = OmegaConf.to_container(conf.hydra["sweep" if multirun else "run"],
                                      resolve=False)
        raw = str(node["dir"]) if isinstance(node, dict) else ""
    fixed = raw.split("${", 1)[0]
    if "${" in raw:  # the folder is created under the last complete part
        fixed = fixed.rpartition("/")[0] if "/" in fixed else ""
    return Path(fixed or "."), key


def main(argv: list[str] | None = None) -> None:
    """Console entry point: pre-flight check of the overrides, then the Hydra run."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args:  # Hydra's own flag would print Hydra's version
        print(f"{TOOL} {__version__} (Hydra {hydra.__version__})")
        return
    if not CONF_DIR.is_dir():
        fail(TOOL, f"config folder {CONF_DIR} not found: install ozg-sim from its checkout "
              "(pip install -e .)")
    multirun = any(a in ("-m", "--multirun") for a in args)
    passthrough = any(a.split("=")[0] in _PASS_THROUGH for a in args)
    if not passthrough:
        overrides = [a for a in args if not a.startswith("-")]
        try:
            check_repeats(overrides)
            if multirun:
                check_multirun(overrides)
            else:
                cfg = load_config(overrides)
                check_run_dates(cfg)
                build_world(cfg.world)
        except (ConfigError, DataError) as exc:
            fail(TOOL, explain(exc))
        except Exception as exc:  # Hydra's override grammar raises its own exception types
            fail(TOOL, explain(exc))
        root, key = output_root(overrides, multirun)
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
