"""Global sensitivity screening of any output of the model (``ozg-sim-experiment
sensitivity``): which uncertain parameters matter, and so must be calibrated or sourced.

===========================  ==============================================================
room                         what it holds
===========================  ==============================================================
:mod:`~.spec`                the experiment's ``sensitivity:`` block: outputs, ranges,
                             designs and thresholds, checked before anything runs
:mod:`~.quantities`          the outputs (key figures, national columns and observables at
                             a month, the calibration summaries, decisions) and how a run
                             record gives them
:mod:`~.contrasts`           decisions: paired contrasts of two lever levels on common
                             random numbers, the variants a point runs at, sign flips
:mod:`~.method`              SALib: the problem, Morris design and analysis, the screening
                             rule, Sobol design and analysis of the survivors, tidy tables
:mod:`~.evaluate`            the designs run as sweeps (process pool, run cache, common
                             random numbers), point means over replications
===========================  ==============================================================

The command (:mod:`sim.cli.sensitivity`, reached through ``ozg-sim-experiment``) writes the
folder; the figures are in :mod:`sim.figures.sensitivity`.
"""

from sim.sensitivity import contrasts
from sim.sensitivity.evaluate import (
    SweepEvaluator,
    evaluations_table,
    point_means,
    points_table,
    runs_table,
)
from sim.sensitivity.method import (
    Evaluation,
    Problem,
    ScreeningResult,
    Settings,
    morris_analysis,
    morris_design,
    runs_needed,
    screen,
    screening,
    sobol_analysis,
    sobol_design,
)
from sim.sensitivity.quantities import Quantity, calibration_quantities, kpi_names, resolve
from sim.sensitivity.spec import SensitivitySpec, problem_of, spec_from_dict

__all__ = [
    "Evaluation", "Problem", "Quantity", "ScreeningResult", "SensitivitySpec", "Settings",
    "SweepEvaluator", "calibration_quantities", "contrasts", "evaluations_table", "kpi_names",
    "morris_analysis", "morris_design", "point_means", "points_table", "problem_of",
    "resolve", "runs_needed", "runs_table", "screen", "screening", "sobol_analysis",
    "sobol_design", "spec_from_dict",
]
