"""Where replications run: the ``executor`` config group (``conf/executor/``).

``local`` (the default) runs them in a process pool on this machine; ``dask`` on a Dask
distributed cluster, either an existing one (``executor.address=tcp://HOST:PORT`` or
``executor.scheduler_file=PATH``, started with Dask's own ``dask scheduler`` and
``dask worker``) or, with neither, a ``LocalCluster`` of ``workers`` processes started for
the command. The engines themselves are in :mod:`sim.engines`; this module only holds and
checks their settings, so that :class:`sim.params.Config` can carry them without importing
Dask. Like ``workers``, nothing here changes a result: the config hash leaves it out
(:func:`sim.provenance.config_hash`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.bounds import BOUNDS_BY_CLASS, check_bound
from sim.checks import _choice, _fail

#: The engines: a local process pool, a Dask distributed cluster.
ENGINES = ("local", "dask")
#: Schemes of a Dask scheduler's address that ``executor.address`` accepts.
ADDRESS_SCHEMES = ("tcp://", "tls://", "inproc://", "ws://", "wss://")


@dataclass
class ExecutorParams:
    """How replications are executed (never what they give).

    Attributes
    ----------
    name : str
        ``local`` (a process pool on this machine) or ``dask`` (a Dask distributed cluster).
    address : str or None
        ``dask`` only: the scheduler of a running cluster (``tcp://HOST:PORT``).
    scheduler_file : str or None
        ``dask`` only: the JSON file ``dask scheduler --scheduler-file`` writes (the usual
        way on SLURM or PBS, where the scheduler's host is known only once it runs).
    connect_timeout_s : float
        How long to wait for the scheduler before giving up with one line.
    runs_per_task : int or None
        ``dask`` only: runs per Dask task; ``None`` sizes the tasks so that each carries at
        least :data:`sim.engines.TASK_TARGET_S` of estimated work (the scheduler's overhead
        per run then stays far below 20 ms) while every worker still gets several tasks.
    """

    name: str = "local"
    address: str | None = None
    scheduler_file: str | None = None
    connect_timeout_s: float = 30.0
    runs_per_task: int | None = None

    def validate(self, prefix: str = "executor") -> None:
        _choice(f"{prefix}.name", self.name, ENGINES)
        if self.name == "local":
            for key in ("address", "scheduler_file"):
                if getattr(self, key) is not None:
                    _fail(f"{prefix}.{key}", getattr(self, key),
                          "null with executor=local (choose executor=dask for a cluster)")
        if self.address is not None and not str(self.address).startswith(ADDRESS_SCHEMES):
            _fail(f"{prefix}.address", self.address,
                  "a Dask scheduler address such as tcp://HOST:8786 (schemes "
                  + ", ".join(s.rstrip(":/") for s in ADDRESS_SCHEMES) + ")")
        if self.address is not None and self.scheduler_file is not None:
            _fail(f"{prefix}.scheduler_file", self.scheduler_file,
                  "null when executor.address is set (one way to find the scheduler)")
        for name, bound in BOUNDS_BY_CLASS["ExecutorParams"].items():
            value = getattr(self, name)
            if isinstance(value, (list, bool, str)):
                _fail(f"{prefix}.{name}", value, "a number")
            if value is not None:
                check_bound(f"{prefix}.{name}", value, bound)

    @property
    def cluster(self) -> str | None:
        """The existing cluster it names (address or scheduler file), or ``None``."""
        return self.address or self.scheduler_file
