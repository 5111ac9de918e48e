"""ozg-sim: a discrete-event simulation of Germany's OZG rollout, as a library.

The four entry points (also available as ``sim.load_config`` etc.)::

    from sim.config import load_config      # Hydra overrides -> validated Config
    from sim.world import build_world       # the embedded data -> World
    from sim.runner import run_replications # replications on an engine -> Results
    from sim.model import simulate          # one replication -> RunResult

The house, floor by floor (a module only imports from its own floor or below):

==================  ==========================================================================
ground floor        ``errors``, ``calendar`` (model time, the OZG deadline), ``data_io`` (the
                    embedded data), ``params`` (the parameter schema and its checks),
                    ``bounds`` (the physical range of every parameter, the cost guard),
                    ``keys`` (dotted parameter keys: read, set, list), ``provenance``
                    (versions, git commit, code version, config hash),
                    ``outputs`` (the output tables, declared once), ``declarations`` (every
                    uncertainty and lever, declared once), ``ranges`` (uncertain
                    parameters and the Latin hypercube), ``bands`` (medians and bands
                    across replications, "not reached"), ``stats`` (statistics over
                    replications), ``config`` (the Hydra boundary), ``world``, ``rng``,
                    ``posterior`` (the posterior sample replications draw calibrated
                    parameters from), ``executor`` (where replications run: the settings),
                    ``pool`` (the local process pool)
``model/``          the SimPy model, one room per mechanism: ``records``, ``money``,
                    ``operation`` (running costs), ``staff``, ``sharing``, ``municipalities``,
                    and ``simulation`` that wires them
above the model     ``metrics`` (a run's raw arrays -> tidy tables, key figures), ``engines``
                    (the local pool and Dask distributed behind one interface), ``runner``
                    (replications on an engine), ``cache`` (the run cache: signed,
                    verified entries), ``sweep`` (designs, runs through the cache),
                    ``store`` (a sweep's tables streamed to Parquet datasets),
                    ``io`` (writing run folders, the one staged-folder writer),
                    ``exports`` (a folder's ``summary.xlsx`` and coverage GeoJSON; the
                    boundaries through ``figures.geo``), ``whatif`` (what-if scenarios as
                    ``ozg-sim`` overrides, their key figures and paired differences),
                    ``workbench`` (the what-if workbench's worker pool and its cache)
``figures/``        every chart and its words; never imports the model
``calibration/``    spec, targets, ABC-SMC (pyabc), method, backtest, report of the
                    calibration to the record
``sensitivity/``    global sensitivity screening with SALib (Morris, then Sobol on the
                    survivors) of any output of a sweep's runs, the calibration summaries
                    included
``report/``         reports of a saved folder (HTML, PDF, DOCX; English and German): the
                    document built once from the folder's tables, then rendered
``app/``            the what-if workbench in the browser (Panel): sessions, texts, figures,
                    exports
``cli/``            the console scripts; nothing imports them
==================  ==========================================================================

Nothing is imported here eagerly, so that ``import sim.figures`` stays free of SimPy and
Hydra; the entry points above load on first use.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    #: The version of the installed package (``pyproject.toml``'s ``version``; the one
    #: CITATION.cff and CHANGELOG.md give, a test checks they agree).
    __version__ = version("ozg-sim")
except PackageNotFoundError:  # pragma: no cover - the source tree without pip install
    __version__ = "unknown (not installed: pip install -e .)"

#: The library's entry points and the modules that define them.
_ENTRY_POINTS = {"load_config": "sim.config", "build_world": "sim.world",
                 "run_replications": "sim.runner", "simulate": "sim.model"}

__all__ = ["__version__", *sorted(_ENTRY_POINTS)]


def __getattr__(name: str) -> Any:
    # Lazy on purpose (PEP 562): importing these here would load Hydra and SimPy for every
    # ``import sim.<anything>``, including the figure layer, which must stay without them.
    if name in _ENTRY_POINTS:
        return getattr(importlib.import_module(_ENTRY_POINTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
