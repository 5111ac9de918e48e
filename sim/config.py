"""The Hydra/OmegaConf boundary: compose ``conf/`` into a validated :class:`~sim.params.Config`,
and read or write the other YAML files (experiment and calibration specs, calibrated values)
and the posterior sample a calibrated option names (``posterior: NAME_posterior.csv`` in
``conf/calibrated/NAME.yaml``, read into ``Config.posterior``; :mod:`sim.posterior`).

Where configs come from: the shipped ``conf/`` (:data:`CONF_DIR`: the checkout's, or the copy
a wheel installs as ``sim/conf``), then a user folder (``--config-dir DIR``, as Hydra's own
flag adds it) and ``hydra.searchpath=[...]``, in Hydra's order; pre-flight checks compose
with the same search path Hydra will (:func:`hydra_session`).

Precedence (README "Running scenarios"): schema defaults < the calibrated option < the
scenario groups and the primary config's body < the command line. A calibrated key that a
scenario file or the command line sets keeps that value in every replication: it is
dropped from the posterior draws (:func:`scenario_keys`).

The only module of ``sim`` that imports Hydra or OmegaConf; the model core takes the plain
dataclasses it returns. Errors come out as :class:`~sim.errors.ConfigError` with one line
naming key, value and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

# Hydra 1.3's own composition machinery (pinned in pyproject.toml): the search path of
# --config-dir, and the defaults list that says which file set which key.
from hydra._internal.defaults_list import create_defaults_list
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_config_search_path
from hydra.compose import compose
from hydra.core.config_loader import ConfigLoader
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from sim.calendar import OZG_DEADLINE, OZG_DEADLINE_MONTH, month_index
from sim.errors import ConfigError
from sim.params import Config
from sim.posterior import PosteriorSample, parse_posterior, parse_reference
from sim.scenario import folder_label, scenario_of

#: The checkout's config folder: ``conf/`` at the top of the checkout, beside the package.
CHECKOUT_CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def _shipped_conf_dir() -> Path:
    """The shipped configs: ``sim/conf`` of an installed wheel (pyproject.toml maps the
    checkout's ``conf/`` there), else the checkout's ``conf/`` (an editable install, or
    ``PYTHONPATH`` pointing at the checkout)."""
    packaged = Path(str(resources.files("sim") / "conf"))
    return packaged if (packaged / "config.yaml").is_file() else CHECKOUT_CONF_DIR


#: Hydra configs shipped with the package (:func:`_shipped_conf_dir`).
CONF_DIR = _shipped_conf_dir()
#: Whether :data:`CONF_DIR` is the checkout's (writable by ``ozg-sim-calibrate apply=true``),
#: not a copy inside an installed package.
CONF_IN_CHECKOUT = CONF_DIR == CHECKOUT_CONF_DIR
SCHEMA_NAME = "ozg_sim_schema"
#: The primary config ``ozg-sim`` composes unless ``--config-name`` names another.
CONFIG_NAME = "config"
#: The group of calibrated values; it comes first in the defaults list, so every scenario
#: file overrides it, and keys set by anything else are not drawn from its posterior.
CALIBRATED_GROUP = "calibrated"
GROUPS = ("world", "strategy", "funding", "staffing", "operation", "state_programmes",
          CALIBRATED_GROUP)
#: The override key of Hydra's extra config folders (``hydra.searchpath=[file:///dir]``).
SEARCHPATH_KEY = "hydra.searchpath"
_CONVERT = re.compile(r"Value '(.*)' of type '.*' could not be converted to (\w+)")


#: Resolver of the scenario part of the run folder's name (``hydra.run.dir``).
SCENARIO_RESOLVER = "ozg_scenario"


def _scenario_label(*, _root_: DictConfig) -> str:
    """``${ozg_scenario:}``: the scenario axes of the composed config that a run folder
    names (:func:`sim.scenario.folder_label`)."""
    return folder_label(scenario_of(_root_))


def register_schema() -> None:
    """Register :class:`Config` as the structured schema ``conf/config.yaml`` builds on, and
    the resolver ``${ozg_scenario:}`` its run folder's name uses."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)
    OmegaConf.register_new_resolver(SCENARIO_RESOLVER, _scenario_label, replace=True)


@contextmanager
def hydra_session(config_dirs: Sequence[Path] = (),
                  conf_dir: Path = CONF_DIR) -> Iterator[ConfigLoader]:
    """Hydra initialised on the search path ``ozg-sim`` runs with: Hydra's own configs,
    ``conf_dir``, each of ``config_dirs`` where ``--config-dir`` puts it (before the
    structured schema, hydra/_internal/utils.py), and the schema; cleared on exit.
    ``hydra.searchpath`` overrides are read by each composition itself."""
    register_schema()
    GlobalHydra.instance().clear()
    csp = create_config_search_path(str(conf_dir))
    for d in config_dirs:
        if not Path(d).is_dir():
            raise ConfigError(f"--config-dir {d} is not allowed: not a folder")
        csp.prepend(provider="command-line", path=f"file://{Path(d).resolve()}",
                    anchor=SearchPathQuery(provider="schema"))
    try:
        Hydra.create_main_hydra2(task_name="ozg-sim", config_search_path=csp)
        yield GlobalHydra.instance().config_loader()
    finally:
        GlobalHydra.instance().clear()


def _key_of(ov: str) -> str:
    return ov.lstrip("+~").partition("=")[0].strip()


def searchpath_overrides(overrides: Iterable[str]) -> list[str]:
    """The ``hydra.searchpath=[...]`` overrides among ``overrides``."""
    return [o for o in overrides if _key_of(o) == SEARCHPATH_KEY]


def group_options(group: str, conf_dir: Path = CONF_DIR, config_dirs: Sequence[Path] = (),
                  overrides: Sequence[str] = ()) -> list[str]:
    """The options of a config group in every folder of the search path (``conf/``,
    ``--config-dir``, ``hydra.searchpath`` among ``overrides``)."""
    if GlobalHydra.instance().is_initialized():
        loader = GlobalHydra.instance().config_loader()
        return sorted(set(loader.get_group_options(
            group, overrides=searchpath_overrides(overrides))))
    with hydra_session(config_dirs, conf_dir):
        return group_options(group, conf_dir, config_dirs, overrides)


def _repository(loader: ConfigLoader, config_name: str, overrides: Sequence[str]) -> Any:
    """Hydra's parsed overrides and config repository of a composition (its search path
    with ``hydra.searchpath``), as ``ConfigLoaderImpl.compute_defaults_list`` builds them."""
    try:
        return loader._parse_overrides_and_create_caching_repo(  # type: ignore[attr-defined]
            config_name, list(overrides))
    except Exception as exc:  # Hydra raises several exception types for bad overrides
        raise ConfigError(explain(exc)) from exc


def search_dirs(loader: ConfigLoader, config_name: str = CONFIG_NAME,
                overrides: Sequence[str] = ()) -> list[Path]:
    """The config folders of the search path, in Hydra's order (``file://`` entries and
    ``pkg://`` ones that are folders on disk)."""
    _, repo = _repository(loader, config_name, overrides)
    dirs: list[Path] = []
    for src in repo.get_sources():
        if src.scheme() == "file":
            dirs.append(Path(src.path))
        elif src.scheme() == "pkg" and src.provider != "hydra":
            try:
                dirs.append(Path(str(resources.files(src.path.replace("/", ".")))))
            except (ModuleNotFoundError, TypeError):
                continue
    return dirs


def _leaf_keys(node: Any, prefix: str) -> set[str]:
    """Dotted keys of the values in a mapping (a list is one value)."""
    if not isinstance(node, dict):
        return {prefix} if prefix else set()
    out: set[str] = set()
    for k, v in node.items():
        out |= _leaf_keys(v, f"{prefix}.{k}" if prefix else str(k))
    return out


def scenario_keys(loader: ConfigLoader, config_name: str = CONFIG_NAME,
                  overrides: Sequence[str] = ()) -> set[str]:
    """Dotted keys the scenario sets itself: those of every file of the composition except
    the schema and the calibrated option (group files and the primary config, shipped or
    the user's), and those of the command line's ``key=value`` overrides. A calibrated key
    among them is not drawn from the posterior (:func:`to_config`)."""
    parsed, repo = _repository(loader, config_name, overrides)
    try:
        defaults = create_defaults_list(repo=repo, config_name=config_name,
                                        overrides_list=parsed, prepend_hydra=True,
                                        skip_missing=False)
    except Exception as exc:
        raise ConfigError(explain(exc)) from exc
    keys: set[str] = set()
    for d in defaults.defaults:
        path = d.config_path or ""
        if (not path or path.split("/")[0] == CALIBRATED_GROUP
                or (d.package or "").split(".")[0] == "hydra"):  # Hydra's own settings
            continue
        loaded = repo.load_config(path)
        if loaded is None or loaded.is_schema_source:
            continue
        node = OmegaConf.to_container(loaded.config, resolve=False)
        if isinstance(node, dict):
            node.pop("defaults", None)
            node.pop("hydra", None)
        keys |= _leaf_keys(node, d.package or "")
    keys |= {o.key_or_group for o in defaults.config_overrides
             if not o.key_or_group.startswith("hydra.")}
    return keys


def explain(exc: BaseException) -> str:
    """One line out of a Hydra/OmegaConf exception chain, naming the key where known."""
    e: BaseException | None = exc
    while e is not None:
        if isinstance(e, ConfigError):
            return str(e)
        if isinstance(e, (ConfigKeyError, ConfigAttributeError)) and getattr(e, "full_key", None):
            return f"{e.full_key} is not allowed: unknown key"
        if isinstance(e, OmegaConfBaseException) and getattr(e, "full_key", None):
            msg = str(getattr(e, "msg", "") or e).strip().splitlines()[0]
            conv = _CONVERT.match(msg)
            if conv:
                return (f"{e.full_key}={conv.group(1)!r} is not allowed: a value of type "
                        f"{conv.group(2).lower()}")
            return f"{e.full_key}: {msg}"
        e = e.__cause__ or e.__context__
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    first = lines[0] if lines else exc.__class__.__name__
    if "Lexer" in first or "Parser" in first or "mismatched input" in first:
        return f"cannot parse override {first.split(': ', 1)[-1]}: allowed key=value"
    return first


def _unwrap(t: Any) -> Any:
    """``X`` of ``Optional[X]``; other types unchanged."""
    args = [a for a in get_args(t) if a is not type(None)]
    return args[0] if get_origin(t) is Union and len(args) == 1 else t


def check_key(key: str) -> None:
    """Reject a dotted key that names no parameter of the schema (:class:`Config`), with
    the nearest allowed keys; list elements are addressed by index (``a.0``), mapping
    entries (``state_programmes.NAME``) by any name."""
    t: Any = Config
    done: list[str] = []
    for part in key.split("."):
        t = _unwrap(t)
        where = ".".join(done)
        if isinstance(t, type) and is_dataclass(t):
            names = [f.name for f in fields(t)]
            if part not in names:
                near = difflib.get_close_matches(part, names, n=3, cutoff=0.6) or names
                head = f"{where}." if where else ""
                raise ConfigError(f"{key} is not allowed: unknown key; nearest allowed: "
                                  + ", ".join(head + n for n in near))
            t = _schema_hints(t)[part]
        elif get_origin(t) is list:
            if not part.isdigit():
                raise ConfigError(f"{key} is not allowed: unknown key; {where} is a list, "
                                  f"its elements are {where}.0, {where}.1, ...")
            t = get_args(t)[0]
        elif get_origin(t) is dict:
            t = get_args(t)[1]
        elif t is Any:
            return
        else:
            raise ConfigError(f"{key} is not allowed: unknown key; {where} is a value, not a "
                              "group of keys")
        done.append(part)


def _schema_hints(cls: type) -> dict[str, Any]:
    """Resolved type hints of a parameter dataclass (its annotations are strings)."""
    return get_type_hints(cls, vars(sys.modules[cls.__module__]))


def split_override(ov: str) -> tuple[str, str]:
    """``(key, value)`` of an override, without its prefix (``+`` add, ``++`` add or
    override, ``~`` delete); a group's package (``group@pkg``) stays in the key. Only a
    deletion may have no value."""
    body = ov.lstrip("+~")
    key, sep, value = body.partition("=")
    if not sep and not ov.startswith("~"):
        raise ConfigError(f"{ov!r} is not an override: allowed key=value, e.g. strategy=efv")
    return key.strip(), value


def check_repeats(overrides: list[str]) -> None:
    """Reject a key or group given twice with different values on one command line
    (Hydra would silently take the last); identical repeats pass. Only for what one person
    typed: a command line may still override an experiment's ``base:`` (the later wins)."""
    seen: dict[str, str] = {}
    for ov in overrides:
        key, value = split_override(ov)
        if key in seen and seen[key] != value:
            raise ConfigError(f"{key} is given twice with different values: {key}="
                              f"{seen[key]!r} and {key}={value!r}; give it once")
        seen[key] = value


def check_overrides(overrides: list[str], conf_dir: Path = CONF_DIR,
                    config_dirs: Sequence[Path] = ()) -> None:
    """Reject unknown config-group options and unknown keys before composing: plain,
    ``+key=`` (add) and ``++key=`` (add or override) overrides alike, since the schema has
    every parameter and adding one is always a typo. Group options are those of the whole
    search path (``conf_dir``, ``config_dirs``, ``hydra.searchpath``)."""
    for ov in overrides:
        key, value = split_override(ov)
        root = key.split(".")[0].split("@")[0]
        if root.split("/")[0] == "hydra":  # Hydra's own settings (hydra.run.dir, hydra/...)
            continue
        if key.split("@")[0] in GROUPS and "." not in key:
            options = group_options(root, conf_dir, config_dirs, overrides)
            for v in value.strip("[]").split(","):
                v = v.strip()
                if v not in options:
                    raise ConfigError(f"{key}={v!r} is not allowed: one of "
                                      + ", ".join(options))
            continue
        if root not in Config.__dataclass_fields__:
            top_keys = set(Config.__dataclass_fields__) | set(GROUPS)
            raise ConfigError(f"{key}={value!r} is not allowed: unknown key; allowed keys: "
                              + ", ".join(sorted(top_keys)))
        check_key(key)


def to_config(cfg: DictConfig | dict[str, Any], conf_dir: Path | Sequence[Path] = CONF_DIR,
              fixed_keys: Iterable[str] = ()) -> Config:
    """Convert a composed config (without its ``hydra`` node) into a validated ``Config``;
    a posterior file it names (``posterior: FILE``, in ``calibrated/`` of the first of
    ``conf_dir`` that has it) is read into ``Config.posterior``, without the keys among
    ``fixed_keys`` (or under one of them): those the scenario sets itself
    (:func:`scenario_keys`) keep their value in every replication."""
    try:
        node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        merged = OmegaConf.merge(OmegaConf.structured(Config), node)
        obj = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise ConfigError(explain(exc)) from exc
    assert isinstance(obj, Config)
    if obj.posterior is not None and not isinstance(obj.posterior, PosteriorSample):
        obj.posterior = load_posterior(str(obj.posterior), conf_dir)
    fixed = set(fixed_keys)
    if isinstance(obj.posterior, PosteriorSample) and fixed:
        obj.posterior = obj.posterior.without(
            k for k in obj.posterior.keys
            if k in fixed or any(k.startswith(f"{f}.") for f in fixed))
    return obj.validate()


def job_config(cfg: DictConfig) -> Config:
    """The ``Config`` of the running Hydra job (``ozg-sim``'s task): :func:`to_config` with
    the job's search path and the keys its scenario sets (:func:`scenario_keys`)."""
    hc = HydraConfig.get()
    loader = GlobalHydra.instance().config_loader()
    name = hc.job.config_name or CONFIG_NAME
    overrides = [*hc.overrides.task, *searchpath_overrides(hc.overrides.hydra)]
    return to_config(cfg, search_dirs(loader, name, overrides),
                     scenario_keys(loader, name, overrides))


def load_posterior(file: str, conf_dir: Path | Sequence[Path] = CONF_DIR) -> PosteriorSample:
    """The posterior sample in ``conf/calibrated/FILE`` (or at an absolute path), or the
    one a configuration written out (a manifest) names by its one-line form
    ``PosteriorSample('NAME', ..., keys K, sha256 DIGEST)``: ``NAME_posterior.csv`` over
    the keys ``K`` (a scenario that set the others drew only these), refused if its content
    has changed since."""
    ref = parse_reference(file)
    if ref is not None:
        name, digest, keys = ref
        full = load_posterior(f"{name}_posterior.csv", conf_dir)
        # a run whose scenario set some calibrated keys drew only the others (to_config)
        sample = full.without(k for k in full.keys if k not in keys)
        if sample is None or sample.digest != digest:
            raise ConfigError(f"posterior={name}_posterior.csv is not allowed: it changed "
                              f"since this configuration was written (sha256 "
                              f"{sample.digest if sample else full.digest}, recorded "
                              f"{digest}); rerun instead of redrawing")
        return sample
    dirs = [conf_dir] if isinstance(conf_dir, Path) else list(conf_dir)
    candidates = [Path(file)] if Path(file).is_absolute() else \
        [d / CALIBRATED_GROUP / file for d in dirs]
    path = next((p for p in candidates if p.is_file()), candidates[0])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"posterior={file!r} is not allowed: no file {path} (written by "
                          "ozg-sim-calibrate NAME apply=true)") from exc
    return parse_posterior(text, Path(file).stem.removesuffix("_posterior"))


def _config_overrides(overrides: Sequence[str]) -> list[str]:
    """What a composition takes of a command line: all but Hydra's own settings, except
    its search path."""
    return [o for o in overrides
            if not o.lstrip("+~").startswith("hydra.") or _key_of(o) == SEARCHPATH_KEY]


def load_config(overrides: list[str] | None = None, conf_dir: Path = CONF_DIR,
                config_dirs: Sequence[Path] = (), config_name: str = CONFIG_NAME) -> Config:
    """Compose the primary config (``conf/config.yaml`` unless ``config_name`` names
    another on the search path) with Hydra overrides into a validated ``Config``, as
    ``ozg-sim`` with ``--config-dir`` (``config_dirs``) and ``--config-name`` would."""
    overrides = _config_overrides(list(overrides or []))
    try:
        with hydra_session(config_dirs, conf_dir) as loader:
            check_overrides(overrides, conf_dir, config_dirs)
            cfg = compose(config_name, overrides=overrides)
            dirs = search_dirs(loader, config_name, overrides)
            fixed = scenario_keys(loader, config_name, overrides)
    except ConfigError:
        raise
    except Exception as exc:  # Hydra raises several exception types for bad overrides
        raise ConfigError(explain(exc)) from exc
    return to_config(cfg, dirs, fixed)


def hydra_settings(overrides: list[str], conf_dir: Path = CONF_DIR,
                   config_dirs: Sequence[Path] = (),
                   config_name: str = CONFIG_NAME) -> dict[str, Any]:
    """The composed ``hydra`` node (interpolations unresolved) of a run: where its outputs
    go (``run.dir``, ``sweep.dir``) as the primary config and the overrides set them."""
    try:
        with hydra_session(config_dirs, conf_dir):
            cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    except Exception as exc:  # Hydra raises several exception types for bad overrides
        raise ConfigError(explain(exc)) from exc
    node = OmegaConf.to_container(cfg.hydra, resolve=False)
    assert isinstance(node, dict)
    return {str(k): v for k, v in node.items()}


def read_yaml(path: Path) -> Any:
    """A YAML file (an experiment or calibration spec) as plain Python, interpolations
    resolved; a file that cannot be read or parsed gives a one-line :class:`ConfigError`."""
    try:
        return OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as exc:  # OSError, YAML syntax errors, bad interpolations
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        raise ConfigError(f"{Path(path).name}: cannot be read ({first})") from exc


def to_yaml(obj: Any) -> str:
    """YAML text of a plain mapping or list (as Hydra writes it)."""
    return OmegaConf.to_yaml(OmegaConf.create(obj))


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
