"""What every command shares: the one-line error and its exit code, the ``key=value``
option parser of the small commands, and the progress display."""

from __future__ import annotations

import logging
import sys
import time
from typing import NoReturn

from tqdm import tqdm

from sim.errors import ConfigError

log = logging.getLogger("ozg-sim")
#: Exit code of every command for bad input (a config, a data file, an option).
EXIT_BAD_INPUT = 2


def fail(tool: str, msg: object) -> NoReturn:
    """Print ``<tool>: error: <msg>`` (one line) to stderr and exit with :data:`EXIT_BAD_INPUT`."""
    print(f"{tool}: error: {msg}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


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


def split_cli_args(args: list[str], options: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Positional arguments and ``key=value`` options of a small command; rejects unknown
    options and a ``lang`` other than ``en``/``de``."""
    opts = dict(a.split("=", 1) for a in args if "=" in a)
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
