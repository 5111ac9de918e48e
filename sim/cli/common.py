"""What every command shares: the one-line errors and their exit codes, the ``key=value``
option parser of the small commands, and the progress display."""

from __future__ import annotations

import logging
import sys
import time
from typing import NoReturn

from tqdm import tqdm

from sim.errors import ConfigError
from sim.io import OutputError, describe_os_error

log = logging.getLogger("ozg-sim")
#: Exit code of every command for bad input (a config, a data file, an option, an output
#: folder that cannot be written, found before anything is computed).
EXIT_BAD_INPUT = 2
#: Exit code of every command when writing fails while it runs (full disk, read-only file
#: system, no permission, file too large): the input was fine, the machine refused; distinct
#: from :data:`EXIT_BAD_INPUT` so that a scheduler can retry it elsewhere.
EXIT_IO_ERROR = 3
#: Exit code when the worker processes of a pool kept dying (killed, out of memory) more
#: often than :data:`sim.runner.MAX_POOL_RESTARTS` allows: the input was fine and the runs
#: finished so far are in the run cache, so the command can simply be started again.
EXIT_WORKERS_LOST = 4


def _one_line(msg: object) -> str:
    return " ".join(str(msg).split())


def fail(tool: str, msg: object, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``<tool>: error: <msg>`` (one line) to stderr and exit with ``code``
    (:data:`EXIT_BAD_INPUT` unless told)."""
    print(f"{tool}: error: {_one_line(msg)}", file=sys.stderr)
    sys.exit(code)


def fail_io(tool: str, exc: BaseException) -> NoReturn:
    """One line naming the path and the operating system's reason of a failed write, exit
    :data:`EXIT_IO_ERROR`."""
    if isinstance(exc, OSError) and not isinstance(exc, OutputError):
        exc = OutputError(f"input/output error: {describe_os_error(exc, '(no path given)')}")
    fail(tool, exc, EXIT_IO_ERROR)


#: Libraries whose INFO lines are noise to an analyst (fontTools logs every font subset
#: matplotlib embeds in a PDF: about 200 lines per run).
QUIET_LOGGERS = ("fontTools",)


def quiet_libraries() -> None:
    """Keep the :data:`QUIET_LOGGERS` to warnings (also under Hydra's own logging setup)."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging() -> None:
    """Log lines ``[time][ozg-sim] message`` on stderr (library noise kept quiet)."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    quiet_libraries()


#: Options whose values are paths (any characters a file name may hold); the values of all
#: other options are names and numbers, whose digits must be ASCII.
PATH_OPTIONS = ("out", "cache")


def _foreign_digit(value: str) -> str | None:
    """The first non-ASCII digit or number sign of ``value`` (``'²'``, ``'٣'``, ``'½'``):
    ``int`` and ``float`` read some of them as numbers, ``str.isdigit`` passes them all."""
    return next((c for c in value if not c.isascii() and (c.isdigit() or c.isnumeric())),
                None)


def collect_options(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """``key=value`` pairs as a dict; a key given twice with different values is refused
    (naming both), the same value twice is taken once; a non-path value with a non-ASCII
    digit is refused."""
    opts: dict[str, str] = {}
    for key, value in pairs:
        bad = None if key in PATH_OPTIONS else _foreign_digit(value)
        if bad is not None:
            raise ConfigError(f"{key}={value!r} is not allowed: {bad!r} is not an ASCII "
                              "digit (write numbers with 0-9)")
        if key in opts and opts[key] != value:
            raise ConfigError(f"{key}= is given twice ({key}={opts[key]!r} and "
                              f"{key}={value!r}): give it once")
        opts[key] = value
    return opts


def parse_int(key: str, value: str, minimum: int) -> int:
    """``value`` as an integer of ASCII digits >= ``minimum`` (``str.isdigit`` also takes
    ``'²'`` and ``'٣'``, which ``int`` then rejects or reads as another number)."""
    if not (value.isascii() and value.isdigit() and int(value) >= minimum):
        raise ConfigError(f"{key}={value!r} is not allowed: an integer >= {minimum} "
                          "(ASCII digits)")
    return int(value)


def split_cli_args(args: list[str], options: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Positional arguments and ``key=value`` options of a small command; rejects unknown
    options, an option given twice with different values, and a ``lang`` other than
    ``en``/``de``."""
    opts = collect_options([(k, v) for k, _, v in (a.partition("=") for a in args if "=" in a)])
    bad = set(opts) - set(options)
    if bad:
        raise ConfigError(f"{sorted(bad)[0]}= is not allowed: options are "
                          + ", ".join(f"{o}=" for o in options))
    if opts.get("lang", "en") not in ("en", "de"):
        raise ConfigError(f"lang={opts['lang']!r} is not allowed: one of en, de")
    return [a for a in args if "=" not in a], opts


class Progress:
    """Progress of ``total`` units (replications, runs): a tqdm bar on a terminal, else a
    log line after each unit (``every=0``) or each time another ``every`` share is done.

    Call it with ``(done, total)`` (the signature of the library's progress callbacks) or
    use :meth:`update` for one more unit; ``initial`` units may be done already (a resumed
    sweep).
    """

    def __init__(self, total: int, unit: str = "rep", desc: str = "replications",
                 initial: int = 0, every: float = 0.0) -> None:
        self.total, self.done, self.new = total, initial, 0
        self.unit, self.desc, self.every = unit, desc, every
        self.next_log = every
        self.t0 = time.perf_counter()
        self.bar = (tqdm(total=total, initial=initial, unit=unit, desc=desc, leave=False)
                    if sys.stderr.isatty() else None)

    def __call__(self, done: int, total: int) -> None:
        self.update()

    def update(self) -> None:
        self.done += 1
        self.new += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        share = self.done / self.total if self.total else 1.0
        if share >= self.next_log or self.done == self.total:
            el = time.perf_counter() - self.t0
            eta = el / self.new * (self.total - self.done)
            log.info("%s %d/%d done (%.0f %%), %.1f s elapsed, ETA %.1f s", self.desc,
                     self.done, self.total, 100 * share, el, eta)
            self.next_log = share + self.every

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
