"""The Hydra/OmegaConf boundary: compose ``conf/`` into a validated :class:`~sim.params.Config`,
and read or write the other YAML files (experiment and calibration specs, calibrated values)
and the posterior sample a calibrated option names (``posterior: NAME_posterior.csv`` in
``conf/calibrated/NAME.yaml``, read into ``Config.posterior``; :mod:`sim.posterior`).

The only module of ``sim`` that imports Hydra or OmegaConf; the model core takes the plain
dataclasses it returns. Errors come out as :class:`~sim.errors.ConfigError` with one line
naming key, value and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from sim.errors import ConfigError
from sim.params import Config
from sim.posterior import PosteriorSample, parse_posterior, parse_reference

#: Hydra configs live at the top of the checkout, beside the package.
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
SCHEMA_NAME = "ozg_sim_schema"
GROUPS = ("world", "strategy", "funding", "staffing", "operation", "state_programmes",
          "calibrated")
_CONVERT = re.compile(r"Value '(.*)' of type '.*' could not be converted to (\w+)")


def register_schema() -> None:
    """Register :class:`Config` as the structured schema ``conf/config.yaml`` builds on."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)


def group_options(group: str, conf_dir: Path = CONF_DIR) -> list[str]:
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


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


def check_overrides(overrides: list[str], conf_dir: Path = CONF_DIR) -> None:
    """Reject unknown config-group options and unknown keys before composing: plain,
    ``+key=`` (add) and ``++key=`` (add or override) overrides alike, since the schema has
    every parameter and adding one is always a typo."""
    for ov in overrides:
        key, value = split_override(ov)
        root = key.split(".")[0].split("@")[0]
        if root.split("/")[0] == "hydra":  # Hydra's own settings (hydra.run.dir, hydra/...)
            continue
        if key.split("@")[0] in GROUPS and "." not in key:
            options = group_options(root, conf_dir)
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


def to_config(cfg: DictConfig | dict[str, Any], conf_dir: Path = CONF_DIR) -> Config:
    """Convert a composed config (without its ``hydra`` node) into a validated ``Config``;
    a posterior file it names (``posterior: FILE``, beside ``conf/calibrated/``'s options)
    is read into ``Config.posterior``."""
    try:
        node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        merged = OmegaConf.merge(OmegaConf.structured(Config), node)
        obj = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise ConfigError(explain(exc)) from exc
    assert isinstance(obj, Config)
    if obj.posterior is not None and not isinstance(obj.posterior, PosteriorSample):
        obj.posterior = load_posterior(str(obj.posterior), conf_dir)
    return obj.validate()


def load_posterior(file: str, conf_dir: Path = CONF_DIR) -> PosteriorSample:
    """The posterior sample in ``conf/calibrated/FILE`` (or at an absolute path), or the
    one a configuration written out (a manifest) names by its one-line form
    ``PosteriorSample('NAME', ..., sha256 DIGEST)``: ``NAME_posterior.csv``, refused if its
    content has changed since."""
    ref = parse_reference(file)
    if ref is not None:
        name, digest = ref
        sample = load_posterior(f"{name}_posterior.csv", conf_dir)
        if sample.digest != digest:
            raise ConfigError(f"posterior={name}_posterior.csv is not allowed: it changed "
                              f"since this configuration was written (sha256 {sample.digest}, "
                              f"recorded {digest}); rerun instead of redrawing")
        return sample
    path = Path(file) if Path(file).is_absolute() else conf_dir / "calibrated" / file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"posterior={file!r} is not allowed: no file {path} (written by "
                          "ozg-sim-calibrate NAME apply=true)") from exc
    return parse_posterior(text, Path(file).stem.removesuffix("_posterior"))


def load_config(overrides: list[str] | None = None, conf_dir: Path = CONF_DIR) -> Config:
    """Compose ``conf/config.yaml`` with Hydra overrides into a validated ``Config``."""
    overrides = list(overrides or [])
    check_overrides(overrides, conf_dir)
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(conf_dir), version_base=None):
            cfg = compose("config", overrides=[o for o in overrides
                                               if not o.lstrip("+~").startswith("hydra.")])
    except ConfigError:
        raise
    except Exception as exc:  # Hydra raises several exception types for bad overrides
        raise ConfigError(explain(exc)) from exc
    finally:
        GlobalHydra.instance().clear()
    return to_config(cfg, conf_dir)


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
