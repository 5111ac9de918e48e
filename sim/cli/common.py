"""What every command shares: the one-line errors and their exit codes, the command-line
parser of the small commands (:class:`CommandLine`: ``key=value`` options, ``--help``,
``--version``), Ctrl-C, the logging setup and the progress display."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm

from sim import __version__
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
#: often than :data:`sim.pool.MAX_POOL_RESTARTS` allows: the input was fine and the runs
#: finished so far are in the run cache, so the command can simply be started again.
EXIT_WORKERS_LOST = 4
#: Exit code after Ctrl-C (SIGINT): 128 + the signal's number, the shells' convention, so a
#: script can tell an interrupted command from a failed one.
EXIT_INTERRUPTED = 130


def exit_codes_help(pool: bool) -> str:
    """The exit codes as a ``--help`` lists them (:data:`EXIT_WORKERS_LOST` only for a
    command with a process pool)."""
    lost = f"{EXIT_WORKERS_LOST} worker processes kept dying, " if pool else ""
    return (f"exit codes: 0 done, {EXIT_BAD_INPUT} bad input (nothing written), "
            f"{EXIT_IO_ERROR} a write failed (nothing half-written), {lost}"
            f"{EXIT_INTERRUPTED} interrupted (Ctrl-C)")


def _one_line(msg: object) -> str:
    return " ".join(str(msg).split())


def fail(tool: str, msg: object, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``<tool>: error: <msg>`` (one line) to stderr and exit with ``code``
    (:data:`EXIT_BAD_INPUT` unless told)."""
    print(f"{tool}: error: {_one_line(msg)}", file=sys.stderr)
    sys.exit(code)


def interrupted(tool: str, note: str = "nothing was written") -> NoReturn:
    """After Ctrl-C: ``<tool>: interrupted; <note>`` (one line) on stderr, exit
    :data:`EXIT_INTERRUPTED`. The staging folders are gone by then (:func:`sim.io.staged_folder`
    removes its folder however its block ends) and so are the pool's workers
    (:func:`sim.pool.pool_starmap`)."""
    print(f"{tool}: interrupted; {note}", file=sys.stderr)
    if threading.active_count() > 1:
        # An interrupted pool's threads are left: the exit handlers of concurrent.futures
        # and multiprocessing would join them, and one may wait forever for a result its
        # killed worker was sending (sim.pool._map_once). Every ``finally`` has run.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_INTERRUPTED)


#: What an interrupted sweep command says: its finished runs are kept.
RESUME_NOTE = ("finished runs are in the run cache, start the same command to resume "
               "(nothing else was written)")


def fail_io(tool: str, exc: BaseException) -> NoReturn:
    """One line naming the path and the operating system's reason of a failed write, exit
    :data:`EXIT_IO_ERROR`."""
    if isinstance(exc, OSError) and not isinstance(exc, OutputError):
        exc = OutputError(f"input/output error: {describe_os_error(exc, '(no path given)')}")
    fail(tool, exc, EXIT_IO_ERROR)


#: Libraries whose INFO lines are noise to an analyst: fontTools logs every font subset
#: matplotlib embeds in a PDF (about 200 lines per run, under the names ``fontTools.subset``
#: and ``fontTools.ttLib...``, children of ``fontTools``); matplotlib's font manager logs
#: its font cache rebuild.
QUIET_LOGGERS = ("fontTools", "matplotlib.font_manager")


def quiet_libraries() -> None:
    """Keep the :data:`QUIET_LOGGERS` to warnings (also under Hydra's own logging setup)."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging() -> None:
    """Log lines ``[time][ozg-sim] message`` on stderr (library noise kept quiet)."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    quiet_libraries()


def log_figure(done: int, total: int, name: str) -> None:
    """Progress while figures are drawn: one log line per figure (the ``progress`` callback
    of :func:`sim.figures.recipes.draw_experiment_figures`)."""
    log.info("figures %d/%d drawn (%s)", done, total, name)


#: Options whose values are paths (any characters a file name may hold); the values of all
#: other options are names and numbers, whose digits must be ASCII.
PATH_OPTIONS = ("out", "cache", "exports")


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


def _exists(word: str) -> bool:
    """Whether a command-line word names an existing file or folder (a word too long for a
    file name, or with a NUL, names none)."""
    try:
        return Path(word).exists()
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class Option:
    """A ``key=value`` option of a small command: the form of its value (``DIR``, ``N``,
    ``en|de``) and one line of help that names its default."""

    value: str
    help: str


@dataclass
class Parsed:
    """A parsed command line: positional arguments, options (as given, checked by
    :func:`collect_options`), flags given (``--dry-run``) and ``key=value`` config
    overrides (commands that take them)."""

    positionals: list[str]
    options: dict[str, str]
    flags: set[str] = field(default_factory=set)
    overrides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CommandLine:
    """The command line of a small command, one rule for all of them.

    Options are ``key=value`` (also ``--key=value`` or ``--key value``); flags are
    ``--name``; ``-h``/``--help`` prints :meth:`help` and ``--version`` the version, both
    exit 0. Any other word is positional, and so is a word with ``=`` that exists as a
    path (a Hydra multirun folder ``0_strategy=efa``) or that follows ``--``. An unknown
    option, a key given twice with different values, a non-ASCII digit and a ``lang``
    other than ``en``/``de`` are refused with :class:`ConfigError` (one line, naming the
    allowed options). With ``overrides`` (its help line), unknown ``key=value`` words are
    config overrides instead.

    ``positional`` is ``(NAME, help)`` of the positional arguments; how many are allowed is
    the command's own check. ``pool``: the command runs a process pool (its help lists
    :data:`EXIT_WORKERS_LOST`).
    """

    tool: str
    usage: str
    summary: str
    positional: tuple[str, str] | None = None
    options: Mapping[str, Option] = field(default_factory=dict)
    flags: Mapping[str, str] = field(default_factory=dict)
    overrides: str | None = None
    notes: tuple[str, ...] = ()
    pool: bool = False

    def help(self) -> str:
        """The ``--help`` text: usage, one line per argument, option and flag, the exit
        codes and the version."""
        rows: list[tuple[str, str]] = []
        if self.positional:
            rows.append(self.positional)
        rows += [(f"{k}={o.value}", o.help) for k, o in self.options.items()]
        if self.overrides:
            rows.append(("key=value", self.overrides))
        rows += list(self.flags.items())
        rows += [("-h, --help", "show this help and exit"),
                 ("--version", "show the version and exit")]
        width = max(len(r[0]) for r in rows) + 2
        lines = [f"usage: {self.usage}", "", self.summary, "",
                 "arguments and options (key=value, also --key=value or --key value):"]
        lines += [f"  {name.ljust(width)}{text}" for name, text in rows]
        lines += ["", *self.notes, exit_codes_help(self.pool), self.version()]
        return "\n".join(lines)

    def version(self) -> str:
        return f"{self.tool} (ozg-sim {__version__})"

    def parse(self, argv: list[str]) -> Parsed:
        """Split ``argv``; ``--help`` and ``--version`` print and exit 0 here."""
        if any(a in ("-h", "--help") for a in argv):
            print(self.help())
            sys.exit(0)
        if "--version" in argv:
            print(self.version())
            sys.exit(0)
        positionals: list[str] = []
        pairs: list[tuple[str, str]] = []
        flags: set[str] = set()
        overrides: list[str] = []
        words = iter(argv)
        for a in words:
            if a == "--":
                positionals += list(words)
            elif a.startswith("--") and a[2:].partition("=")[0] in self.options:
                key, sep, value = a[2:].partition("=")
                if not sep:
                    value = next(words, None)  # type: ignore[assignment]
                    if value is None:
                        raise ConfigError(f"{a} is not allowed without a value: {a} "
                                          f"{self.options[key].value}")
                pairs.append((key, value))
            elif a.startswith("-"):
                if a not in self.flags:
                    raise ConfigError(f"{a} is not allowed: {self._allowed()}")
                flags.add(a)
            elif "=" in a and not _exists(a):
                key, _, value = a.partition("=")
                if key in self.options:
                    pairs.append((key, value))
                elif self.overrides:
                    overrides.append(a)
                else:
                    raise ConfigError(f"{key}= is not allowed: {self._allowed()}")
            else:
                positionals.append(a)
        opts = collect_options(pairs)
        if "lang" in self.options and opts.get("lang", "en") not in ("en", "de"):
            raise ConfigError(f"lang={opts['lang']!r} is not allowed: one of en, de")
        return Parsed(positionals, opts, flags, overrides)

    def _allowed(self) -> str:
        names = [f"{k}=" for k in self.options] + list(self.flags)
        return (f"options are {', '.join(names)}" if names else "no options") + \
            f" (see {self.tool} --help)"


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
