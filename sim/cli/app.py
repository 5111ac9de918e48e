"""``ozg-sim-app``: the what-if workbench in the browser (:mod:`sim.app`).

Usage: ``ozg-sim-app [host=ADDRESS] [port=N] [workers=N] [exports=DIR] [lang=de|en]`` (also
``--host ADDRESS``, ``--port N``: every option as ``--key value``). Serves on
``http://127.0.0.1:5006/`` by default (only this computer can connect); ``--host 0.0.0.0``
lets other devices of the room's network connect (a workshop laptop on a projector, the
participants' tablets). The worker processes start and the calibrated baseline is computed
before the address is printed, so the first scenario answers at once. Writes only into the
export folder (``exports=``, default ``outputs/app``), and only when asked to export.
Ctrl-C stops it.
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sim.cli.common import (
    CommandLine,
    Option,
    fail,
    interrupted,
    log,
    parse_int,
    setup_logging,
)
from sim.errors import ConfigError
from sim.io import check_writable
from sim.pool import default_workers
from sim.whatif import Scenario, base_config, first_programmes, scenario_config
from sim.workbench import Workbench

try:  # optional: pip install -e '.[app]'
    import panel as pn

    from sim.app.ui import create
except ImportError:  # pragma: no cover - exercised by tests that hide panel
    pn = None

TOOL = "ozg-sim-app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5006
DEFAULT_EXPORTS = Path("outputs") / "app"
#: Highest port number.
MAX_PORT = 65535
#: Hosts only this computer reaches.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


COMMAND_LINE = CommandLine(
    TOOL, f"{TOOL} [host=ADDRESS] [port=N] [workers=N] [exports=DIR] [lang=de|en]",
    "The what-if workbench of ozg-sim in the browser: change a lever, run, compare with "
    "the calibrated baseline (paired, same seeds), export the figures and numbers, copy "
    "the ozg-sim command that reproduces it.",
    options={"host": Option("ADDRESS", "address to listen on (default 127.0.0.1: this "
                                       "computer only; 0.0.0.0: every device of the network)"),
             "port": Option("N", "port (default 5006; 0: any free port)"),
             "workers": Option("N", "worker processes (default: all cores)"),
             "exports": Option("DIR", "folder exports are written into (default outputs/app)"),
             "lang": Option("de|en", "language a new browser tab starts in (default de; "
                                     "each tab can switch)")},
    flags={"--no-baseline": "do not compute the calibrated baseline before serving"},
    notes=("Also --host ADDRESS, --port N (any option as --key value). Writes only into the "
           "export folder, and only when asked to export; results are kept in memory.",))


@dataclass(frozen=True)
class Settings:
    """The checked options."""

    host: str
    port: int
    workers: int
    exports: Path
    lang: str
    baseline: bool


def parse(argv: list[str]) -> Settings:
    """The options, checked (:class:`ConfigError` naming the option and what is allowed)."""
    cmd = COMMAND_LINE.parse(argv)
    if cmd.positionals:
        raise ConfigError(f"{cmd.positionals[0]!r} is not allowed: {TOOL} takes options only "
                          f"(see {TOOL} --help)")
    o = cmd.options
    port = parse_int("port", o.get("port", str(DEFAULT_PORT)), 0)
    if port > MAX_PORT:
        raise ConfigError(f"port={port} is not allowed: a port from 0 to {MAX_PORT}")
    workers = parse_int("workers", o["workers"], 1) if "workers" in o else default_workers()
    host = o.get("host", DEFAULT_HOST)
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"host={host!r} is not allowed: an address or name of this "
                          "computer (127.0.0.1, 0.0.0.0, ...)") from exc
    exports = Path(o.get("exports", str(DEFAULT_EXPORTS)))
    check_writable(exports, "exports")
    return Settings(host, port, workers, exports, o.get("lang", "de"),
                    "--no-baseline" not in cmd.flags)


def free_port(host: str) -> int:
    """A port free on ``host`` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        args = parse(list(sys.argv[1:] if argv is None else argv))
    except ConfigError as exc:
        fail(TOOL, exc)
    if pn is None:
        fail(TOOL, "the workbench needs Panel: pip install -e '.[app]' (or pip install "
             "'ozg-sim[app]')")
    setup_logging()
    logging.getLogger("bokeh").setLevel(logging.WARNING)
    try:
        port = args.port or free_port(args.host)
    except OSError as exc:
        fail(TOOL, f"host={args.host}: {exc.strerror or exc}")
    bench = Workbench(args.workers)
    try:
        t0 = time.perf_counter()
        base = base_config()
        programmes = first_programmes()
        log.info("starting %d worker processes", bench.workers)
        bench.warm(base.world)
        if args.baseline:  # the first question then waits only for its own runs
            log.info("computing the calibrated baseline (full Germany, 10 replications)")
            bench.run(scenario_config(Scenario()))
        log.info("ready in %.1f s", time.perf_counter() - t0)
        local = args.host in LOOPBACK
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        origins = [f"{shown}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"] if local \
            else ["*"]
        if not local:
            log.warning("listening on %s: every device that reaches this computer can "
                        "connect", args.host)
        print(f"{TOOL}: the what-if workbench is at http://{shown}:{port}/ (Ctrl-C stops it)",
              flush=True)
        pn.serve({"/": create(bench, args.exports, programmes, args.lang)}, port=port,
                 address=args.host, websocket_origin=origins, show=False,
                 title="ozg-sim", verbose=False)
    except KeyboardInterrupt:
        bench.close()
        interrupted(TOOL, "stopped")
    except OSError as exc:
        bench.close()
        fail(TOOL, f"port={port} on {args.host}: {exc.strerror or exc}")
    bench.close()  # the server returns only when stopped (Ctrl-C): say so, exit 130
    interrupted(TOOL, "stopped")


if __name__ == "__main__":
    main()
