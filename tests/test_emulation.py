"""History matching with emulators (``sim.calibration.emulation``, ``method=emulator``).

The emulator's prediction against scikit-learn's, implausibility and the NROY cut by hand,
the whole method on a simulator whose posterior is known in closed form (a linear-Gaussian
model with simulation noise), and determinism. The method on the model itself (recovery of
known parameters on a small world, the same posterior on one and two workers, the command
end to end) is in ``tests/test_calibrate.py``.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor

from sim.calibration.emulation import (
    Cut,
    EmulatedKernel,
    RegionPrior,
    fit_emulator,
    fit_target,
    history_match,
    implausibility,
    in_region,
    latin_hypercube,
)


def test_target_gp_predicts_as_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((120, 3))
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2 + 0.05 * rng.standard_normal(120)
    gp = fit_target(x, y, hyper_runs=80, seed=1)  # hyperparameters on a subsample
    ref = GaussianProcessRegressor(
        _sk_kernel(gp), normalize_y=True, optimizer=None).fit(x, y)
    xt = rng.random((50, 3))
    m, s = gp.predict(xt)
    rm, rs = ref.predict(xt, return_std=True)
    np.testing.assert_allclose(m, rm, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(s, rs, rtol=1e-6, atol=1e-10)
    # it learned the function and the noise
    assert np.corrcoef(m, np.sin(3 * xt[:, 0]) + xt[:, 1] ** 2)[0, 1] > 0.99
    assert 0.02 < gp.noise_sd < 0.1


def test_a_pickled_emulator_travels_small_and_predicts_bit_for_bit() -> None:
    """A worker gets the training runs and hyperparameters only and refactors the
    covariance itself: the same predictions, to the last bit, for a tenth of the bytes."""
    rng = np.random.default_rng(5)
    x = rng.random((300, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.standard_normal(300)
    gp = fit_target(x, y, hyper_runs=100, seed=2)
    copy = pickle.loads(pickle.dumps(gp))
    xt = rng.random((40, 4))
    m, s = gp.predict(xt)
    cm, cs = copy.predict(xt)
    assert np.array_equal(m, cm) and np.array_equal(s, cs)
    assert len(pickle.dumps(gp)) < gp.chol.nbytes / 5


def _sk_kernel(gp: object) -> object:
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    g = gp  # type: ignore[assignment]
    return (ConstantKernel(g.constant, "fixed")
            * Matern(g.length_scale, "fixed", nu=2.5) + WhiteKernel(g.noise, "fixed"))


def test_implausibility_by_hand() -> None:
    mean = np.array([[0.5, 0.2], [0.3, 0.6]])
    sd = np.array([[0.03, 0.0], [0.04, 0.05]])
    obs, sig, lower = np.array([0.4, 0.5]), np.array([0.04, 0.03]), np.array([False, True])
    got = implausibility(mean, sd, obs, sig, lower)
    np.testing.assert_allclose(got[0], [0.1 / 0.05, 0.3 / 0.03])
    # a lower bound cleared by the model is never implausible
    np.testing.assert_allclose(got[1], [0.1 / np.sqrt(0.04 ** 2 + 0.04 ** 2), 0.0])


def test_cut_keeps_exactly_the_points_every_target_allows() -> None:
    rng = np.random.default_rng(5)
    low, high = np.zeros(2), np.ones(2)
    theta = rng.random((200, 2))
    y = np.column_stack([theta[:, 0], theta[:, 0] + theta[:, 1]])
    y += 0.01 * rng.standard_normal(y.shape)
    em = fit_emulator(theta, y, low, high, hyper_runs=200, seed=1)
    obs, sig, lower = np.array([0.3, 0.9]), np.array([0.02, 0.02]), np.zeros(2, bool)
    cut = Cut(em, 3.0, obs, sig, lower)
    pts = rng.random((5000, 2))
    m, s = em.predict(pts)
    brute = (implausibility(m, s, obs, sig, lower) <= 3.0).all(axis=1)
    np.testing.assert_array_equal(cut.keep(pts), brute)
    assert 0 < brute.mean() < 0.2  # a band around theta0 = 0.3, theta1 = 0.6
    np.testing.assert_array_equal(in_region([cut, cut], pts), brute)
    assert in_region([], pts).all()


def test_kernel_is_the_convolved_measurement_model() -> None:
    names = ["target_000", "target_001"]
    k = EmulatedKernel(names, np.array([0.4, 0.5]), np.array([0.03, 0.02]),
                       np.array([False, True]))
    x = {"target_000": 0.45, "sd_target_000": 0.04, "target_001": 0.52,
         "sd_target_001": 0.01}
    from scipy.stats import norm
    want = (norm.logpdf(0.4, 0.45, 0.05)
            + norm.logcdf((0.52 - 0.5) / np.sqrt(0.02 ** 2 + 0.01 ** 2)))
    assert k(x, {}) == pytest.approx(want)


def test_region_prior_draws_and_weighs_only_the_region() -> None:
    rng = np.random.default_rng(5)
    theta = rng.random((200, 2))
    y = np.column_stack([theta[:, 0], theta[:, 0] + theta[:, 1]])
    em = fit_emulator(theta, y + 0.01 * rng.standard_normal(y.shape), np.zeros(2),
                      np.ones(2), hyper_runs=200, seed=1)
    cut = Cut(em, 3.0, np.array([0.3, 0.9]), np.array([0.02, 0.02]), np.zeros(2, bool))
    prior = RegionPrior(["a", "b"], np.zeros(2), np.ones(2), [cut])
    np.random.seed(3)  # noqa: NPY002 (pyabc's generator, seeded per proposal)
    draws = np.array([[p["a"], p["b"]] for p in (prior.rvs() for _ in range(300))])
    assert cut.keep(draws).all()
    assert abs(draws[:, 0].mean() - 0.3) < 0.03  # uniform over the band around a = 0.3
    assert prior.pdf({"a": 0.3, "b": 0.6}) == 1.0 and prior.pdf({"a": 0.9, "b": 0.1}) == 0.0
    assert prior.pdf({"a": 1.3, "b": 0.6}) == 0.0
    # without cuts: the uniform box
    box = RegionPrior(["a", "b"], np.zeros(2), np.array([2.0, 4.0]), [])
    assert box.pdf({"a": 1.0, "b": 1.0}) == pytest.approx(1 / 8)


@dataclass
class _Spec:
    keys: list[str]
    low: np.ndarray
    high: np.ndarray
    waves: int = 3
    design_runs: int = 150
    candidates: int = 20000
    implausibility_cutoff: float = 3.0
    training_runs: int = 300
    hyper_runs: int = 150
    population_size: int = 1000
    calibration_particles: int = 500
    max_generations: int = 20
    emulator_evaluations: int = 200000
    target_acceptance_rate: float = 0.3
    seed: int = 1


#: A linear-Gaussian simulator: y = A theta + noise (sd NOISE), observed with error SIGMA.
A = np.array([[1.0, 1.0], [1.0, -0.5], [0.2, 0.0]])
NOISE, SIGMA = np.array([0.03, 0.02, 0.01]), np.array([0.04, 0.03, 0.02])
OBS = np.array([0.9, 0.15, 0.08])


def _run_batch(theta: np.ndarray, wave: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence((17, wave)))
    return theta @ A.T + NOISE * rng.standard_normal((len(theta), len(NOISE)))


def _analytic_posterior() -> tuple[np.ndarray, np.ndarray]:
    """Flat prior (the box is wide), y_obs ~ N(A theta, SIGMA^2 + NOISE^2): a Gaussian."""
    prec = A.T @ np.diag(1 / (SIGMA ** 2 + NOISE ** 2)) @ A
    cov = np.linalg.inv(prec)
    mean = cov @ A.T @ np.diag(1 / (SIGMA ** 2 + NOISE ** 2)) @ OBS
    return mean, cov


@pytest.mark.slow
def test_history_matching_recovers_a_known_posterior() -> None:
    spec = _Spec(keys=["a", "b"], low=np.array([-1.0, -1.0]), high=np.array([2.0, 2.0]))
    names = ["target_000", "target_001", "target_002"]
    run = history_match(_run_batch, spec, OBS, SIGMA, np.zeros(3, bool), names)
    mean, cov = _analytic_posterior()
    p = run.abc.particles
    w = p["weight"].to_numpy()
    est = np.array([np.sum(w * p[k]) for k in ("a", "b")])
    sd = np.array([np.sqrt(np.sum(w * (p[k] - e) ** 2)) for k, e in zip("ab", est,
                                                                          strict=True)])
    # the posterior mean within a tenth of a posterior sd, its sds within 20 %
    assert np.all(np.abs(est - mean) < 0.15 * np.sqrt(np.diag(cov))), (est, mean)
    np.testing.assert_allclose(sd, np.sqrt(np.diag(cov)), rtol=0.2)
    assert run.abc.temperature == pytest.approx(1.0)
    assert run.abc.ess >= 200
    # the waves narrow the box, the truth stays in, the emulators validate
    w_tab = run.waves
    assert list(w_tab["wave"]) == [0, 1, 2] and w_tab["nroy_share"].iloc[-1] < 0.2
    assert bool(in_region(run.cuts, mean[None])[0])
    assert (run.validation["coverage90"] > 0.75).all()
    assert len(run.design) == w_tab["runs"].sum() == 450


def test_history_matching_is_a_function_of_the_seed() -> None:
    spec = _Spec(keys=["a", "b"], low=np.array([-1.0, -1.0]), high=np.array([2.0, 2.0]),
                 waves=2, design_runs=60, candidates=4000, population_size=100,
                 calibration_particles=100, max_generations=3, emulator_evaluations=4000)
    names = ["target_000", "target_001", "target_002"]
    one = history_match(_run_batch, spec, OBS, SIGMA, np.zeros(3, bool), names)
    two = history_match(_run_batch, spec, OBS, SIGMA, np.zeros(3, bool), names)
    pd.testing.assert_frame_equal(one.abc.particles, two.abc.particles)
    pd.testing.assert_frame_equal(one.design, two.design)
    spec.seed = 2
    other = history_match(_run_batch, spec, OBS, SIGMA, np.zeros(3, bool), names)
    assert not np.allclose(other.design["a"][:60], one.design["a"][:60])


def test_latin_hypercube_fills_every_stratum() -> None:
    x = latin_hypercube(np.array([0.0, 10.0]), np.array([1.0, 20.0]), 50, seed=4)
    for j, (lo, hi) in enumerate([(0, 1), (10, 20)]):
        strata = np.floor((x[:, j] - lo) / (hi - lo) * 50).astype(int)
        assert sorted(strata) == list(range(50))
