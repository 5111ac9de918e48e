"""``ozg-sim-cache``: where the run cache is, how big, and trimming it.

    ozg-sim-cache [info] [cache=DIR]
    ozg-sim-cache prune [cache=DIR] [older_than_days=N] [max_gb=X]

``info`` (the default) prints the cache folder, its entries and size, and the key file that
authenticates them. ``prune`` removes the entries unused for more than ``older_than_days``
days, then the least recently used ones until at most ``max_gb`` gigabytes (10^9 bytes) are
left, and every temporary folder a killed process left behind; it prints what it freed.
Without limits it removes only those temporary folders. ``cache=`` defaults to
``$OZG_SIM_CACHE`` or the user cache folder (:func:`sim.cache.default_cache_dir`).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from sim import cache as run_cache
from sim.cli.common import (
    CommandLine,
    Option,
    fail,
    interrupted,
    log,
    setup_logging,
)
from sim.errors import ConfigError

TOOL = "ozg-sim-cache"
#: Actions of the command (the first is the default).
ACTIONS = ("info", "prune")
#: Options of each action.
OPTIONS = {"info": ("cache",), "prune": ("cache", "older_than_days", "max_gb")}
#: A plain decimal number in ASCII digits (``float`` alone would take ``"nan"``, ``"1e400"``
#: and digits of other scripts).
_DECIMAL = re.compile(r"\d+(\.\d+)?", re.ASCII)
#: Bytes of the gigabyte of ``max_gb``: the decimal one, as disks are sold and ``du --si``.
BYTES_PER_GB = 10**9
COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} [info|prune] [cache=DIR] [older_than_days=N] [max_gb=X]",
    "Show where the run cache of the sweep commands is and how big (info), or trim it "
    "(prune).",
    positional=("info|prune", "info (default): folder, entries, size, key file; prune: "
                              "remove old entries, then the least recently used"),
    options={"cache": Option("DIR", "the cache folder (default: $OZG_SIM_CACHE, else the "
                                    "user cache folder)"),
             "older_than_days": Option("N", "prune: remove entries unused for more than N "
                                            "days (default: no age limit)"),
             "max_gb": Option("X", "prune: then keep at most X gigabytes (10^9 bytes; "
                                   "default: no size limit)")},
    notes=("prune without limits removes only the temporary folders of killed commands.",))


def open_cache(option: str | None) -> Path:
    """The cache folder of a sweep command's ``cache=`` option (``None``: the default),
    checked before any run: it is not a file, and its key file is usable. Nothing is
    logged (bad input must stay one line); :func:`log_cache` says where it is.

    Raises
    ------
    ConfigError
        On an empty or file path, a relative ``$OZG_SIM_CACHE``, a cache folder holding
        the key file (whoever can write the cache could then read or replace the key), or
        an unusable key file.
    """
    path = _cache_dir(option)
    key = run_cache.secret_path()
    if key.resolve().is_relative_to(path.resolve()):
        raise ConfigError(f"cache={str(path)!r} is not allowed: it holds the cache key {key} "
                          f"(keep the key outside the cache; {run_cache.KEY_ENV} moves it)")
    run_cache.load_secret()
    return path


def log_cache(path: Path | None) -> None:
    """Log where the run cache is, its entries and size (or that there is none)."""
    if path is None:
        log.info("run cache: off (--no-cache)")
    else:
        log.info("run cache: %s", run_cache.info(path).describe())


def _cache_dir(option: str | None) -> Path:
    path = run_cache.cache_location(option)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"cache={str(path)!r} is not allowed: a folder (it is a file)")
    return path


def _amount(key: str, text: str) -> float:
    """A non-negative finite number of an option."""
    value = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{key}={text!r} is not allowed: a number >= 0 (digits 0-9)")
    return value


def cache_command(argv: list[str]) -> str:
    """Run the command; returns what it prints."""
    cmd = COMMAND_LINE.parse(argv)
    actions, opts = cmd.positionals, cmd.options
    if len(actions) > 1 or (actions and actions[0] not in ACTIONS):
        raise ConfigError(f"{' '.join(actions)!r} is not allowed: one of " + ", ".join(ACTIONS))
    action = actions[0] if actions else ACTIONS[0]
    bad = sorted(set(opts) - set(OPTIONS[action]))
    if bad:
        raise ConfigError(f"{bad[0]}= is not allowed with {action}: options are "
                          + ", ".join(f"{o}=" for o in OPTIONS[action]))
    path = _cache_dir(opts.get("cache"))
    if action == "info":
        return (f"run cache {run_cache.info(path).describe()}\n"
                f"key file {run_cache.secret_path()}")
    days = _amount("older_than_days", opts["older_than_days"]) \
        if "older_than_days" in opts else None
    max_bytes = int(_amount("max_gb", opts["max_gb"]) * BYTES_PER_GB) if "max_gb" in opts else None
    freed = run_cache.prune(path, days, max_bytes)
    return (f"freed {freed.bytes / 1e6:.1f} MB: {freed.entries} entries and "
            f"{freed.temporaries} temporary folder(s) removed\n"
            f"run cache {run_cache.info(path).describe()}")


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    try:
        text = cache_command(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        interrupted(TOOL, "entries removed so far stay removed")
    except ConfigError as exc:
        fail(TOOL, exc)
    print(text)


if __name__ == "__main__":
    main()
