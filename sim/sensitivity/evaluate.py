"""The model as a function of the uncertain parameters: each design point of a stage is a
point of a sweep (:mod:`sim.sweep`), run for replications ``0 .. R-1`` on common random
numbers, and its outputs are the means over those replications.

So the sensitivity analysis gets everything a sweep has: the one process pool, the run
cache (a stage that was interrupted resumes; the Morris and Sobol designs share runs they
have in common; anything cached by another experiment is reused), failures recorded
rather than fatal, and results that do not depend on the number of workers. Nothing is
written here except through the sweep's run cache (``cache_dir``, None for none).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.provenance import config_hash
from sim.sensitivity.method import Evaluation, Problem
from sim.sensitivity.quantities import Quantity, values
from sim.sweep import RunRecord, Sweep, make_sweep, run_sweep

#: ``progress(stage, sweep)``: a ``(done, total)`` callback for the stage's sweep, or None.
StageProgress = Callable[[str, Sweep], Callable[[int, int], None] | None]


class SweepEvaluator:
    """Evaluates designs (:data:`sim.sensitivity.method.Evaluate`) by sweeps over the base
    configuration.

    Parameters
    ----------
    base : list of str
        Overrides of the base configuration (``end=2022-12``, ``world=toy``); parameters not
        in a stage's problem keep their values from it.
    quantities : list of Quantity
        The outputs.
    replications, seed : int
        Replications ``0 .. replications-1`` of root seed ``seed`` at every point.
    workers : int or None
        Worker processes (None: all cores); results do not depend on it.
    cache_dir : Path or None
        The sweep's run cache.
    progress : StageProgress or None
    name : str
        Name of the sweeps (``<name>-morris``, ``<name>-sobol``).

    Attributes
    ----------
    sweeps : dict of str to Sweep
        The sweep of each stage run so far.
    records : dict of str to list of RunRecord
        Its runs in (point, replication) order, without their tables (only the outputs
        are kept, in ``values``).
    values : dict of str to ndarray
        (runs, outputs) of each stage, in the order of ``records``.
    """

    def __init__(self, base: Sequence[str], quantities: Sequence[Quantity], replications: int,
                 seed: int, workers: int | None = None, cache_dir: Path | None = None,
                 progress: StageProgress | None = None, name: str = "sensitivity") -> None:
        self.base, self.quantities = list(base), list(quantities)
        self.replications, self.seed = replications, seed
        self.workers, self.cache_dir, self.progress, self.name = (workers, cache_dir,
                                                                  progress, name)
        self.sweeps: dict[str, Sweep] = {}
        self.records: dict[str, list[RunRecord]] = {}
        self.values: dict[str, np.ndarray] = {}

    def sweep(self, stage: str, problem: Problem, X: np.ndarray) -> Sweep:
        """The sweep of a design: one point per row (integer parameters rounded)."""
        return make_sweep(f"{self.name}-{stage}", {"points": problem.points(X)}, self.base,
                          self.replications, self.seed)

    def __call__(self, stage: str, problem: Problem, X: np.ndarray) -> Evaluation:
        sweep = self.sweep(stage, problem, X)
        callback = self.progress(stage, sweep) if self.progress is not None else None
        records = run_sweep(sweep, self.workers, self.cache_dir, callback)
        per_run = values(records, self.quantities)
        for rec in records:  # keep memory flat: the outputs are all that is needed
            rec.tables = {}
        self.sweeps[stage], self.records[stage], self.values[stage] = sweep, records, per_run
        return point_means(per_run, len(sweep.points), self.replications)


def point_means(per_run: np.ndarray, n_points: int, replications: int) -> Evaluation:
    """Mean and variance over the replications of each point, from (runs, outputs) in
    (point, replication) order; a failed run (NaN) is left out of its point's mean."""
    arr = np.asarray(per_run, dtype=float).reshape(n_points, replications, -1)
    with warnings.catch_warnings():  # a point whose runs all failed stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(arr, axis=1)
        var = np.nanvar(arr, axis=1, ddof=1) if replications > 1 else None
    return Evaluation(mean, var, replications)


def points_table(ev: SweepEvaluator, problems: dict[str, Problem],
                 designs: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per stage and design point: the parameter values run (integer parameters
    rounded; a parameter outside the stage's problem is empty) and the config hash."""
    parts = []
    for stage, sweep in ev.sweeps.items():
        pts = pd.DataFrame(problems[stage].points(designs[stage]))
        pts.insert(0, "point", np.arange(len(pts)))
        pts.insert(0, "stage", stage)
        pts["config_hash"] = [config_hash(c) for c in sweep.configs]
        parts.append(pts)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def evaluations_table(ev: SweepEvaluator) -> pd.DataFrame:
    """One row per stage, point, replication and output: the run's value
    (:data:`sim.outputs.SENSITIVITY_TABLES`, ``evaluations``)."""
    parts = []
    names = [q.output for q in ev.quantities]
    for stage, records in ev.records.items():
        vals = ev.values[stage]
        parts.append(pd.DataFrame({
            "stage": stage,
            "point": np.repeat([r.point for r in records], len(names)),
            "replication": np.repeat([r.replication for r in records], len(names)),
            "output": np.tile(names, len(records)), "value": vals.ravel()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def runs_table(ev: SweepEvaluator) -> pd.DataFrame:
    """One row per run of every stage: ``status``, ``error``, ``wall_s``, ``cached``,
    ``key`` (as a sweep's ``runs.parquet``, with the ``stage``)."""
    return pd.DataFrame([{"stage": stage, "point": r.point, "replication": r.replication,
                          "status": r.status, "error": r.error, "wall_s": r.wall_s,
                          "cached": r.cached, "key": r.key}
                         for stage, records in ev.records.items() for r in records])


__all__ = ["StageProgress", "SweepEvaluator", "evaluations_table", "point_means",
           "points_table", "runs_table"]
