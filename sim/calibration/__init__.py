"""Calibration of uncertain parameters against the official OZG counts 2020-2022.

===========================  ==============================================================
room                         what it holds
===========================  ==============================================================
:mod:`~.spec`                what is fitted and how: the spec file, its checks, the
                             configuration at a parameter point, the calibrated values as
                             Hydra overrides
:mod:`~.targets`             the official record as targets (share scale, measurement
                             error, lower bounds) and the same observables read from a run
:mod:`~.method`              synthetic likelihood over replications, adaptive design
                             rounds, Nelder-Mead estimate, projection (:func:`calibrate`)
:mod:`~.report`              the texts: ``report.md`` and ``calibrated.yaml``
===========================  ==============================================================

The command ``ozg-sim-calibrate`` (:mod:`sim.cli.calibrate`) reads a spec, calls
:func:`calibrate` and writes the folder; the figures are in :mod:`sim.figures.calibration`.
"""

from sim.calibration.method import (
    CalibrationResult,
    Evaluator,
    Objective,
    at_prior_bounds,
    calibrate,
    effective_sample_size,
    mixture_density,
    next_box,
    posterior_weights,
    summary_lines,
    synthetic_loglik,
    weighted_quantile,
)
from sim.calibration.spec import (
    CalibrationSpec,
    base_overrides,
    calibrated_overrides,
    check_parameters,
    config_at,
    load_spec,
    round_significant,
    spec_from_dict,
    spec_names,
)
from sim.calibration.targets import (
    METRICS,
    SHARE_METRICS,
    historical_targets,
    make_targets,
    read_history,
    series_label,
    series_of,
    series_shares,
    target_month,
)
from sim.ranges import ParameterRange

__all__ = [
    "METRICS", "SHARE_METRICS", "CalibrationResult", "CalibrationSpec", "Evaluator",
    "Objective", "ParameterRange", "at_prior_bounds", "base_overrides", "calibrate",
    "calibrated_overrides", "check_parameters", "config_at", "effective_sample_size",
    "historical_targets", "load_spec", "make_targets", "mixture_density", "next_box",
    "posterior_weights", "read_history", "round_significant", "series_label", "series_of",
    "series_shares", "spec_from_dict", "spec_names", "summary_lines", "synthetic_loglik",
    "target_month", "weighted_quantile",
]
