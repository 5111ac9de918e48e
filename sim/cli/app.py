"""``ozg-sim-app``: the what-if workbench in the browser (:mod:`sim.app`).

Usage: ``ozg-sim-app [--host HOST] [--port PORT] [--workers N] [--exports DIR]``. Serves on
``http://127.0.0.1:5006/`` by default (only this computer can connect); ``--host 0.0.0.0``
lets other devices of the room's network connect (a workshop laptop on a projector, the
participants' tablets). The worker processes start and the calibrated baseline is computed
before the address is printed, so the first scenario answers at once. Writes only into the
export folder (``--exports``, default ``outputs/app``), and only when asked to export.
Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from pathlib import Path

from sim import __version__
from sim.app.ui import create
from sim.cli.common import EXIT_BAD_INPUT, fail, interrupted, log, setup_logging
from sim.errors import ConfigError
from sim.io import check_writable
from sim.pool import default_workers
from sim.whatif import Scenario, base_config, first_programmes, scenario_config
from sim.workbench import Workbench

try:  # optional: pip install -e '.[app]'
    import panel as pn
except ImportError:  # pragma: no cover - exercised by tests that hide panel
    pn = None

TOOL = "ozg-sim-app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5006
DEFAULT_EXPORTS = Path("outputs") / "app"
#: Hosts only this computer reaches.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        fail(TOOL, f"{message} (see {TOOL} --help)", EXIT_BAD_INPUT)


def parse(argv: list[str]) -> argparse.Namespace:
    """The options (one-line error and exit 2 for a bad one)."""
    p = _Parser(prog=TOOL, description="The what-if workbench of ozg-sim in the browser: "
                "change a lever, run, compare with the calibrated baseline.",
                epilog="exit codes: 0 stopped, 2 bad input, 130 interrupted (Ctrl-C)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to listen on (default 127.0.0.1: this computer only; "
                   "0.0.0.0: every device of the network)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help="port (default 5006; 0: any free port)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all cores)")
    p.add_argument("--exports", type=Path, default=DEFAULT_EXPORTS,
                   help="folder exports are written into (default outputs/app)")
    p.add_argument("--no-baseline", action="store_true",
                   help="do not compute the calibrated baseline before serving")
    p.add_argument("--version", action="version", version=f"{TOOL} {__version__}")
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        fail(TOOL, f"--port {args.port} is not allowed: a port from 0 to 65535")
    if args.workers is not None and not 1 <= args.workers <= 256:
        fail(TOOL, f"--workers {args.workers} is not allowed: a whole number from 1 to 256")
    try:
        socket.getaddrinfo(args.host, None)
    except (OSError, UnicodeError):
        fail(TOOL, f"--host {args.host!r} is not allowed: an address or host name of this "
             "computer (127.0.0.1, 0.0.0.0, ...)")
    try:
        check_writable(args.exports, "--exports")
    except ConfigError as exc:
        fail(TOOL, exc)
    return args


def free_port(host: str) -> int:
    """A port free on ``host`` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = parse(list(sys.argv[1:] if argv is None else argv))
    if pn is None:
        fail(TOOL, "the workbench needs Panel: pip install -e '.[app]' (or pip install "
             "'ozg-sim[app]')")
    setup_logging()
    logging.getLogger("bokeh").setLevel(logging.WARNING)
    port = args.port or free_port(args.host)
    bench = Workbench(args.workers or default_workers())
    try:
        t0 = time.perf_counter()
        base = base_config()
        programmes = first_programmes()
        log.info("starting %d worker processes", bench.workers)
        bench.warm(base.world)
        if not args.no_baseline:
            threading.Thread(target=bench.run, args=(scenario_config(Scenario()),),
                             daemon=True).start()
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
        pn.serve({"/": create(bench, args.exports, programmes)}, port=port,
                 address=args.host, websocket_origin=origins, show=False,
                 title="ozg-sim", verbose=False)
    except KeyboardInterrupt:
        bench.close()
        interrupted(TOOL, "stopped")
    except OSError as exc:
        bench.close()
        fail(TOOL, f"--port {port} on {args.host}: {exc.strerror or exc}")
    bench.close()


if __name__ == "__main__":
    main()
