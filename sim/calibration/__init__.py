"""Calibration of uncertain parameters against the official OZG counts 2020-2022.

===========================  ==============================================================
room                         what it holds
===========================  ==============================================================
:mod:`~.spec`                what is fitted and how: the spec file, its checks, the
                             configuration at a parameter point, the calibrated values as
                             Hydra overrides
:mod:`~.targets`             the official record as targets (share scale, measurement
                             error, lower bounds) and the same observables read from a run
:mod:`~.abc`                 pyabc glue: the measurement model as a stochastic kernel, the
                             seeded sampler (same particles on any number of workers),
                             :func:`~.abc.run_abc`
:mod:`~.method`              ABC-SMC, posterior summary, posterior predictive and quality
                             checks (:func:`calibrate`)
:mod:`~.backtest`            held-out counts against the posterior predictive and naive
                             forecasters fitted on the same points
:mod:`~.report`              the texts: ``report.md`` and ``calibrated.yaml``
===========================  ==============================================================

The command ``ozg-sim-calibrate`` (:mod:`sim.cli.calibrate`) reads a spec, calls
:func:`calibrate` and writes the folder; the figures are in :mod:`sim.figures.calibration`.
"""

from sim.calibration.abc import AbcRun, ObservationKernel, SeededSampler, log_density, run_abc
from sim.calibration.method import (
    CalibrationResult,
    calibrate,
    effective_sample_size,
    fit_table,
    posterior_summary,
    predictive_indices,
    quality_checks,
    split_targets,
    summary_lines,
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
    "METRICS", "SHARE_METRICS", "AbcRun", "CalibrationResult", "CalibrationSpec",
    "ObservationKernel", "ParameterRange", "SeededSampler", "base_overrides", "calibrate",
    "calibrated_overrides", "check_parameters", "config_at", "effective_sample_size",
    "fit_table", "historical_targets", "load_spec", "log_density", "make_targets",
    "posterior_summary", "predictive_indices", "quality_checks", "read_history",
    "round_significant", "run_abc", "series_label", "series_of", "series_shares",
    "spec_from_dict", "spec_names", "split_targets", "summary_lines", "target_month",
]
