"""The model as a function of the uncertain parameters: each design point of a stage is a
point of a sweep (:mod:`sim.sweep`), run for replications ``0 .. R-1`` on common random
numbers, and its outputs are the means over those replications.

A decision output (``contrast:``, :mod:`sim.sensitivity.contrasts`) needs two runs per
point and replication: every point of a stage is run at each *variant* (the base
configuration and the lever levels the contrasts need, :func:`plan_variants`), in one
sweep, and a run's value of a contrast is the difference of its two variants' runs of the
same point and replication (common random numbers).

So the sensitivity analysis gets everything a sweep has: the one process pool, the run
cache (a stage that was interrupted resumes; the Morris and Sobol designs share runs they
have in common; anything cached by another experiment is reused), failures recorded
rather than fatal, and results that do not depend on the number of workers. Nothing is
written here except through the sweep's run cache (``cache_dir``, None for none).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.engines import Engine
from sim.provenance import config_hash
from sim.sensitivity.contrasts import plan_variants, variant_label
from sim.sensitivity.method import Evaluation, Problem
from sim.sensitivity.quantities import Quantity
from sim.sweep import RunRecord, Sweep, execute_run, make_sweep, run_sweep

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
    base_levels : mapping of str to str
        The base configuration's level of each lever a contrast may vary
        (``{"strategy": "efa", ...}``): a contrast's level the base has is run once, as
        the base.
    runner : callable
        Runs one (point, replication) (:func:`sim.sweep.execute_run`; a test passes a
        function of the parameters instead of the model).
    engine : Engine or None
        Where the runs go (:mod:`sim.engines`; default: a local pool of ``workers``).

    Attributes
    ----------
    variants : list of dict
        Group overrides of each variant every point is run at (``{}``: the base).
    pairs : list of (int or None, int)
        Per output the variants it is the difference of (``None``: a level, read at ``b``).
    sweeps : dict of str to Sweep
        The sweep of each stage run so far: its points are the design's points at the
        first variant, then at the second, ...
    records : dict of str to list of RunRecord
        Its runs in sweep (point, replication) order, without their tables (only the
        outputs are kept, in ``values``).
    values : dict of str to ndarray
        (design points x replications, outputs) of each stage, in (point, replication)
        order.
    """

    def __init__(self, base: Sequence[str], quantities: Sequence[Quantity], replications: int,
                 seed: int, workers: int | None = None, cache_dir: Path | None = None,
                 progress: StageProgress | None = None, name: str = "sensitivity",
                 base_levels: Mapping[str, str] | None = None,
                 runner: Callable[..., RunRecord] = execute_run,
                 engine: Engine | None = None) -> None:
        self.base, self.quantities = list(base), list(quantities)
        self.replications, self.seed = replications, seed
        self.workers, self.cache_dir, self.progress, self.name = (workers, cache_dir,
                                                                  progress, name)
        self.runner, self.engine = runner, engine
        self.variants, self.pairs = plan_variants([q.contrast for q in self.quantities],
                                                  dict(base_levels or {}))
        self.sweeps: dict[str, Sweep] = {}
        self.records: dict[str, list[RunRecord]] = {}
        self.values: dict[str, np.ndarray] = {}

    @property
    def variant_labels(self) -> list[str]:
        return [variant_label(v) for v in self.variants]

    def sweep(self, stage: str, problem: Problem, X: np.ndarray) -> Sweep:
        """The sweep of a design: each row (integer parameters rounded) at every variant."""
        pts = problem.points(X)
        return make_sweep(f"{self.name}-{stage}",
                          {"points": [{**v, **p} for v in self.variants for p in pts]},
                          self.base, self.replications, self.seed)

    def __call__(self, stage: str, problem: Problem, X: np.ndarray) -> Evaluation:
        sweep = self.sweep(stage, problem, X)
        callback = self.progress(stage, sweep) if self.progress is not None else None
        raw = np.full((sweep.n_runs, len(self.quantities)), np.nan)
        per_variant = len(sweep.points) // len(self.variants)
        used = [[j for j, (a, b) in enumerate(self.pairs) if v in (a, b)]
                for v in range(len(self.variants))]

        def keep_outputs(point: int, recs: list[RunRecord]) -> None:
            # memory stays flat: a run's outputs (those its variant enters) are read as its
            # point completes, and the sweep then drops its tables
            cols = used[point // per_variant]
            for rec in recs:
                raw[point * self.replications + rec.replication, cols] = [
                    self.quantities[j].value(rec) for j in cols]

        records = run_sweep(sweep, self.workers, self.cache_dir, callback, self.runner,
                            self.engine, keep_outputs)
        per_run = paired_values(raw, self.pairs, len(self.variants))
        self.sweeps[stage], self.records[stage], self.values[stage] = sweep, records, per_run
        return point_means(per_run, len(X), self.replications)

    def n_points(self, stage: str) -> int:
        """Design points of a stage run so far."""
        return len(self.sweeps[stage].points) // len(self.variants)


def paired_values(raw: np.ndarray, pairs: Sequence[tuple[int | None, int]],
                  n_variants: int) -> np.ndarray:
    """(design points x replications, outputs) from the outputs of every run of a sweep
    (``raw``: runs in (point, replication) order x outputs, NaN where a run failed) whose
    points are a design's points at each of ``n_variants`` variants in turn: a level output
    read at its variant, a contrast the difference of its two variants' runs of the same
    point and replication (NaN where either failed)."""
    runs = len(raw) // n_variants
    out = np.full((runs, raw.shape[1]), np.nan)
    for j, (a, b) in enumerate(pairs):
        level_b = raw[b * runs:(b + 1) * runs, j]
        out[:, j] = level_b - (raw[a * runs:(a + 1) * runs, j] if a is not None else 0.0)
    return out


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
    rounded; a parameter outside the stage's problem is empty) and the config hash (of the
    point at the first variant, :attr:`SweepEvaluator.variants`)."""
    parts = []
    for stage, sweep in ev.sweeps.items():
        pts = pd.DataFrame(problems[stage].points(designs[stage]))
        pts.insert(0, "point", np.arange(len(pts)))
        pts.insert(0, "stage", stage)
        pts["config_hash"] = [config_hash(c) for c in sweep.configs[:len(pts)]]
        parts.append(pts)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def evaluations_table(ev: SweepEvaluator) -> pd.DataFrame:
    """One row per stage, point, replication and output: the run's value
    (:data:`sim.outputs.SENSITIVITY_TABLES`, ``evaluations``)."""
    parts = []
    names = [q.output for q in ev.quantities]
    for stage, vals in ev.values.items():
        n, reps = ev.n_points(stage), ev.replications
        parts.append(pd.DataFrame({
            "stage": stage,
            "point": np.repeat(np.arange(n), reps * len(names)),
            "replication": np.tile(np.repeat(np.arange(reps), len(names)), n),
            "output": np.tile(names, n * reps), "value": vals.ravel()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def runs_table(ev: SweepEvaluator) -> pd.DataFrame:
    """One row per run of every stage: ``status``, ``error``, ``wall_s``, ``cached``,
    ``key`` (as a sweep's ``runs.parquet``, with the ``stage``, the design ``point`` and
    its ``variant``: ``base`` or the lever level, ``strategy=efv``)."""
    labels = ev.variant_labels
    return pd.DataFrame([{"stage": stage, "point": r.point % ev.n_points(stage),
                          "variant": labels[r.point // ev.n_points(stage)],
                          "replication": r.replication,
                          "status": r.status, "error": r.error, "wall_s": r.wall_s,
                          "cached": r.cached, "key": r.key}
                         for stage, records in ev.records.items() for r in records])


__all__ = ["StageProgress", "SweepEvaluator", "evaluations_table", "paired_values",
           "point_means",
           "points_table", "runs_table"]
