"""Bayesian history matching with Gaussian-process emulators, then ABC-SMC on the emulated
likelihood: the ``emulator`` method of ``ozg-sim-calibrate``.

Why: one full-scale simulation to 2022-12 costs about half a CPU-second, and its outcome is
noisy. ABC-SMC on the simulator itself (:mod:`sim.calibration.abc`) spends one simulation per
proposal and, near the posterior, accepts about 1 % of them at temperature 1, so within 30
minutes on 2 cores it stops at T = 5.8 with an effective sample size of 49 (MODEL.md 7.10).
An emulator learns each target's mean *and* its simulation noise from a few thousand
simulations, after which the posterior costs milliseconds per proposal.

Method (Craig et al. 1997; Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015 for a
stochastic individual-based model; Kennedy & O'Hagan 2001 for the emulator):

1. **Waves of simulations.** Wave 0 is a Latin hypercube over the prior box (scipy's
   ``qmc.LatinHypercube``, seeded). Each simulation is one replication up to the last
   fitted month, its replication number a function of (seed, wave, run).
2. **Emulators** (scikit-learn ``GaussianProcessRegressor``): one per target, on inputs
   scaled to the unit box, kernel ``C x Matern(5/2, one length scale per parameter) +
   White``; the white term is the simulation noise of one replication (homoscedastic within
   a wave's region), so the predictive sd of a *single simulation* at theta is the
   emulator's uncertainty and that noise together. Hyperparameters are fitted by maximum
   marginal likelihood on a seeded subsample of at most ``hyper_runs`` runs, then the
   emulator is conditioned on all its training runs with them fixed.
3. **Implausibility** of theta for target j: ``|o_j - m_j(theta)| / sqrt(sigma_j**2 +
   s_j(theta)**2)`` (a lower bound counts only a shortfall); theta is *not ruled out yet*
   (NROY) when every target's implausibility is at most ``implausibility_cutoff`` (3, by
   Pukelsheim's three-sigma rule). Wave w + 1 simulates points drawn uniformly from the NROY
   region of all earlier waves (rejection from rounds of ``candidates`` prior draws), and its
   emulator is trained on the runs inside that region, so it is accurate where the
   posterior can be. Before a new emulator is fitted, the last one predicts the new
   wave's runs: the share inside its 90 % band is recorded per target (its validation).
4. **Posterior**: pyabc's ABC-SMC with the last emulator as the model (deterministic: the
   mean and sd of one simulation at theta) and :class:`EmulatedKernel` as the stochastic
   kernel, ``p(o | theta) = prod_j N(o_j; m_j, sigma_j**2 + s_j**2)`` (a normal CDF for a
   lower bound): the likelihood of the measurement model convolved with one simulation's
   noise, the target of ABC-SMC on the simulator as well. The prior is the uniform box
   restricted to the NROY region of the earlier waves (:class:`RegionPrior`: truncation at
   the cutoff, as is usual in history matching; the last emulator is trained there only).
   Its temperature falls by at least a factor 0.4 per generation (evaluations are cheap,
   so the acceptance rate need not hold it up) to temperature 1, i.e. exact inference
   under the emulated likelihood, with as many particles as the spec asks for.
5. The caller checks the emulator where it matters: the posterior predictive simulations
   (:func:`sim.calibration.method.calibrate`) are real simulations at posterior draws, and
   :func:`predictive_coverage` gives the share of them inside the emulator's 90 % band.

This module neither reads Hydra objects nor writes files.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pyabc import Parameter
from pyabc.random_variables import DistributionBase
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.spatial.distance import cdist, pdist, squareform
from scipy.stats import norm, qmc
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from sim.calibration.abc import (
    AbcRun,
    ObservationKernel,
    PhaseProgress,
    log_density,
    one_blas_thread,
    run_abc,
)

log = logging.getLogger("ozg-sim")
#: Seed streams of the design points and the candidate draws (per wave).
_DESIGN_STREAM, _CANDIDATE_STREAM, _HYPER_STREAM = 8101, 8111, 8121
#: Nominal coverage of the emulator's validation band.
VALIDATION_LEVEL = 0.90
_Z90 = float(norm.ppf(0.5 + VALIDATION_LEVEL / 2))
#: Most rounds of ``candidates`` prior draws that fill a wave from the NROY region.
_CANDIDATE_ROUNDS = 10
#: Candidates evaluated per block (bounds the memory of a kernel matrix to ~ block x runs).
_BLOCK = 4096


# --------------------------------------------------------------------------- emulator


def _kernel(k: int) -> Any:
    """``C x Matern(5/2, ARD) + White`` on the unit box (the structure :class:`TargetGP`
    evaluates)."""
    return (ConstantKernel(1.0, (1e-3, 1e3))
            * Matern(length_scale=np.full(k, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5)
            + WhiteKernel(1e-2, (1e-8, 1e1)))


class TargetGP:
    """A fitted scikit-learn GP of one target, kept as the arrays its prediction needs.

    :meth:`predict` is the GP's predictive mean and sd of one simulation (the white noise
    included), as ``GaussianProcessRegressor.predict(X, return_std=True)`` computes them,
    without its per-call checks (the posterior evaluates single points tens of thousands of
    times); ``tests/test_emulation.py`` holds it equal to scikit-learn's. The Cholesky
    factor and the weights are computed here from the training runs and the fitted
    hyperparameters (as scikit-learn does), and again when a pickled copy is loaded: a copy
    travels to a worker as its training runs alone and predicts bit for bit as the original.
    """

    def __init__(self, gp: GaussianProcessRegressor) -> None:
        k = gp.kernel_
        self.constant = float(k.k1.k1.constant_value)
        self.length_scale = np.atleast_1d(np.asarray(k.k1.k2.length_scale, dtype=float))
        self.noise = float(k.k2.noise_level)
        self.jitter = float(np.ravel(gp.alpha)[0])
        self.x_scaled = np.asarray(gp.X_train_, dtype=float) / self.length_scale
        self.y_scaled = np.asarray(gp.y_train_, dtype=float).ravel()
        self.y_mean = float(np.ravel(gp._y_train_mean)[0])
        self.y_std = float(np.ravel(gp._y_train_std)[0])
        self.params = {"constant": self.constant, "noise": self.noise,
                       "length_scale": self.length_scale.tolist()}
        self._condition()

    def _condition(self) -> None:
        """Cholesky factor of the training runs' covariance and the GP weights."""
        s = np.sqrt(5.0) * squareform(pdist(self.x_scaled))
        cov = self.constant * (1.0 + s + s * s / 3.0) * np.exp(-s)
        cov[np.diag_indices_from(cov)] += self.noise + self.jitter
        self.chol = cholesky(cov, lower=True, check_finite=False)
        self.alpha = cho_solve((self.chol, True), self.y_scaled, check_finite=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["chol"], state["alpha"]  # recomputed on load: a tenth of the bytes
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._condition()

    @property
    def noise_sd(self) -> float:
        """Simulation noise of one replication (target units)."""
        return float(np.sqrt(self.noise) * self.y_std)

    @property
    def sd_max(self) -> float:
        """Largest predictive sd (far from every training run): the prior sd with noise."""
        return float(np.sqrt(self.constant + self.noise) * self.y_std)

    def _cross(self, x: np.ndarray) -> np.ndarray:
        s = np.sqrt(5.0) * cdist(np.atleast_2d(x) / self.length_scale, self.x_scaled)
        return np.asarray(self.constant * (1.0 + s + s * s / 3.0) * np.exp(-s))

    def predict_mean(self, x: np.ndarray, kx: np.ndarray | None = None) -> np.ndarray:
        """Mean of one simulation at the unit-box points ``x`` (cheap: no variance)."""
        kx = self._cross(x) if kx is None else kx
        return np.asarray(kx @ self.alpha * self.y_std + self.y_mean)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of one simulation at the unit-box points ``x`` (n x k)."""
        kx = self._cross(x)
        mean = self.predict_mean(x, kx)
        v = solve_triangular(self.chol, kx.T, lower=True, check_finite=False)
        var = np.maximum(self.constant + self.noise - np.einsum("ij,ij->j", v, v), 0.0)
        return mean, np.sqrt(var) * self.y_std


def fit_target(x: np.ndarray, y: np.ndarray, hyper_runs: int, seed: int) -> TargetGP:
    """Fit one target's GP on unit-box inputs ``x``: hyperparameters by maximum marginal
    likelihood on at most ``hyper_runs`` runs (seeded subsample), then conditioned on all."""
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), _HYPER_STREAM)))
    sub = (np.sort(rng.choice(len(x), hyper_runs, replace=False)) if len(x) > hyper_runs
           else np.arange(len(x)))
    with warnings.catch_warnings(), one_blas_thread():
        # a length scale at its bound means "no effect of this parameter": not an error
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp = GaussianProcessRegressor(_kernel(x.shape[1]), normalize_y=True,
                                      n_restarts_optimizer=0, random_state=int(seed))
        gp.fit(x[sub], y[sub])
        if len(sub) < len(x):
            gp = GaussianProcessRegressor(gp.kernel_, normalize_y=True, optimizer=None)
            gp.fit(x, y)
    return TargetGP(gp)


@dataclass
class Emulator:
    """One GP per target over the prior box ``[low, high]``."""

    low: np.ndarray
    high: np.ndarray
    targets: list[TargetGP]
    runs: int

    def unit(self, theta: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(theta) - self.low) / (self.high - self.low)

    def predict(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Means and sds (n x targets) of one simulation at parameter points ``theta``."""
        u = self.unit(theta)
        out = [t.predict(u) for t in self.targets]
        return (np.column_stack([m for m, _ in out]), np.column_stack([s for _, s in out]))


def fit_emulator(theta: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray,
                 hyper_runs: int, seed: int, mapper: Callable[..., Any] = map) -> Emulator:
    """An :class:`Emulator` of the targets ``y`` (runs x targets) at ``theta``; the targets'
    GPs are fitted by ``mapper`` (``map``, or an executor's ``map``: the same GPs)."""
    u = (theta - low) / (high - low)
    n = y.shape[1]
    gps = list(mapper(fit_target, [u] * n, [y[:, j] for j in range(n)], [hyper_runs] * n,
                      [seed * 1000 + j for j in range(n)]))
    return Emulator(np.asarray(low, float), np.asarray(high, float), gps, len(theta))


# --------------------------------------------------------------------------- implausibility


def implausibility(mean: np.ndarray, sd: np.ndarray, observed: np.ndarray,
                   sigma: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Per point and target: the distance of the observation from the emulated simulation
    in sds of their difference (a lower bound counts only a shortfall)."""
    d = (observed - mean) / np.sqrt(sigma ** 2 + sd ** 2)
    return np.where(lower, np.maximum(d, 0.0), np.abs(d))


@dataclass
class Cut:
    """The NROY region of one wave: points whose every target's implausibility under
    ``emulator`` is at most ``cutoff``."""

    emulator: Emulator
    cutoff: float
    observed: np.ndarray
    sigma: np.ndarray
    lower: np.ndarray

    def keep(self, theta: np.ndarray) -> np.ndarray:
        """Boolean mask of the points of ``theta`` (n x k) inside the region; targets are
        checked one by one on the points still in, so far-off points cost little."""
        theta = np.atleast_2d(theta)
        alive = np.ones(len(theta), dtype=bool)
        for start in range(0, len(theta), _BLOCK):
            idx = np.arange(start, min(start + _BLOCK, len(theta)))
            u = self.emulator.unit(theta[idx])
            for j, gp in enumerate(self.emulator.targets):
                if not idx.size:
                    break
                # the mean with the largest sd bounds the implausibility from below, so
                # points it rules out need no variance (exact, and the costly part)
                m = gp.predict_mean(u)
                ok = implausibility(m, np.full_like(m, gp.sd_max), self.observed[j],
                                    self.sigma[j], self.lower[j]) <= self.cutoff
                m = m[ok]
                idx, u = _drop(alive, idx, u, ok)
                # ... and the mean with the noise alone bounds it from above: points it
                # keeps need no variance either
                sure = implausibility(m, np.full_like(m, gp.noise_sd), self.observed[j],
                                      self.sigma[j], self.lower[j]) <= self.cutoff
                if sure.all():
                    continue
                part = ~sure
                _m, s = gp.predict(u[part])
                ok_part = implausibility(_m, s, self.observed[j], self.sigma[j],
                                         self.lower[j]) <= self.cutoff
                ok = sure.copy()
                ok[part] = ok_part
                idx, u = _drop(alive, idx, u, ok)
        return alive


def _drop(alive: np.ndarray, idx: np.ndarray, u: np.ndarray, ok: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Mark the points ``idx[~ok]`` ruled out; the rest go on."""
    alive[idx[~ok]] = False
    return idx[ok], u[ok]


def in_region(cuts: list[Cut], theta: np.ndarray) -> np.ndarray:
    """Mask of the points inside every cut (all ``True`` without cuts)."""
    theta = np.atleast_2d(theta)
    alive = np.ones(len(theta), dtype=bool)
    for c in cuts:
        idx = np.flatnonzero(alive)
        if idx.size:
            alive[idx] = c.keep(theta[idx])
    return alive


# --------------------------------------------------------------------------- pyabc on it


class RegionPrior(DistributionBase):
    """The uniform prior over the box ``[low, high]`` restricted to the NROY region of
    ``cuts``, as a pyabc prior: draws by rejection from the box (numpy's global generator,
    which the sampler seeds per proposal; 64 points at a time), density constant inside and
    0 outside. Without it the first generation would draw from the whole box, where the
    region may be a percent of the volume."""

    _BATCH = 64

    def __init__(self, keys: list[str], low: np.ndarray, high: np.ndarray,
                 cuts: list[Cut]) -> None:
        self.names, self.low, self.high, self.cuts = list(keys), low, high, cuts
        self.density = float(1.0 / np.prod(high - low))

    def keys(self) -> list[str]:
        """The parameters, in order (as a pyabc ``Distribution``)."""
        return list(self.names)

    def rvs(self, *args: Any, **kwargs: Any) -> Parameter:
        while True:
            u = np.random.random((self._BATCH, len(self.names)))  # noqa: NPY002
            theta = self.low + u * (self.high - self.low)
            inside = np.flatnonzero(in_region(self.cuts, theta))
            if inside.size:
                return Parameter(dict(zip(self.names, map(float, theta[inside[0]]),
                                          strict=True)))

    def pdf(self, x: Parameter | dict[str, float]) -> float:
        theta = np.array([float(x[k]) for k in self.names])
        if np.any(theta < self.low) or np.any(theta > self.high):
            return 0.0
        return self.density if bool(in_region(self.cuts, theta[None])[0]) else 0.0


class EmulatedModel:
    """pyabc's model on the emulator: parameters -> the emulated mean (``target_NNN``) and
    sd (``sd_target_NNN``) of one simulation."""

    def __init__(self, emulator: Emulator, keys: list[str], names: list[str]) -> None:
        self.emulator, self.keys, self.names = emulator, keys, names

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        m, s = self.emulator.predict(np.array([[float(pars[k]) for k in self.keys]]))
        out = {}
        for j, n in enumerate(self.names):
            out[n], out[f"sd_{n}"] = float(m[0, j]), float(s[0, j])
        return out


class EmulatedKernel(ObservationKernel):
    """The measurement model convolved with one simulation's emulated noise, as a pyabc
    stochastic kernel (log scale): normal errors with variance ``sigma**2 + s(theta)**2``, a
    normal CDF for a lower bound (the observation kernel with the emulated sd added; its
    largest density is the same bound)."""

    def __call__(self, x: dict[str, Any], x_0: dict[str, Any], t: int | None = None,
                 par: dict[str, Any] | None = None) -> float:
        assert self.keys is not None
        m = np.array([float(x[k]) for k in self.keys])
        s = np.array([float(x[f"sd_{k}"]) for k in self.keys])
        return float(log_density(m, self.observed, np.sqrt(self.sigma ** 2 + s ** 2),
                                 self.lower))


# --------------------------------------------------------------------------- the run


#: ``run_batch(theta, wave)``: the targets' observables (runs x targets) of one simulation
#: at each parameter point (rows of ``theta``) of a wave, seeded by (seed, wave, row).
RunBatch = Callable[[np.ndarray, int], np.ndarray]


@dataclass
class EmulationRun:
    """What history matching and the emulated ABC-SMC left.

    Attributes
    ----------
    abc : AbcRun
        The ABC-SMC on the last emulator (particles, generations, evaluations).
    emulator : Emulator
        The last emulator (its model for the posterior).
    cuts : list of Cut
        The NROY regions of the earlier waves.
    waves : DataFrame
        Per wave: ``wave``, ``runs`` (simulations), ``training_runs``, ``candidates``,
        ``nroy_share`` (share of the prior box not ruled out after this wave's cut; for the
        last wave, of the earlier ones), ``validation_coverage`` (median over targets of the
        share of this wave's runs in the last emulator's 90 % band; NaN for wave 0),
        ``seconds``.
    validation : DataFrame
        Per wave >= 1 and target: ``wave``, ``target``, ``coverage90``, ``r2``.
    design : DataFrame
        Every simulation: ``wave``, the parameters, then the targets' observables.
    simulations : int
    """

    abc: AbcRun
    emulator: Emulator
    cuts: list[Cut]
    waves: pd.DataFrame
    validation: pd.DataFrame
    design: pd.DataFrame
    simulations: int
    timings: dict[str, float] = field(default_factory=dict)


def _uniform(low: np.ndarray, high: np.ndarray, n: int, seed: int, stream: int, wave: int
             ) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), stream, int(wave))))
    return low + rng.random((n, len(low))) * (high - low)


def latin_hypercube(low: np.ndarray, high: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points of a seeded Latin hypercube over ``[low, high]``."""
    lhs = qmc.LatinHypercube(d=len(low), seed=np.random.default_rng(
        np.random.SeedSequence((int(seed), _DESIGN_STREAM))))
    return np.asarray(qmc.scale(lhs.random(n), low, high))


def _training(theta: np.ndarray, waves: np.ndarray, cuts: list[Cut], limit: int,
              seed: int) -> np.ndarray:
    """Indices of the runs an emulator learns from: those inside every cut so far, at most
    ``limit`` (the newest wave first, then a seeded subsample of the earlier ones)."""
    inside = np.flatnonzero(in_region(cuts, theta))
    if len(inside) <= limit:
        return inside
    newest = inside[waves[inside] == waves.max()]
    rest = inside[waves[inside] != waves.max()]
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), _HYPER_STREAM, 1)))
    keep = max(limit - len(newest), 0)
    picked = rng.choice(rest, min(keep, len(rest)), replace=False) if keep else rest[:0]
    return np.sort(np.concatenate([newest[:limit], picked]))


def history_match(run_batch: RunBatch, spec: Any, observed: np.ndarray, sigma: np.ndarray,
                  lower: np.ndarray, names: list[str],
                  progress: PhaseProgress | None = None, db: str = "sqlite://",
                  executor: Executor | None = None, workers: int = 1) -> EmulationRun:
    """Waves of simulations and emulators, then ABC-SMC on the last emulator.

    ``spec`` gives ``keys``, ``low``, ``high``, ``waves``, ``design_runs``, ``candidates``,
    ``implausibility_cutoff``, ``training_runs``, ``hyper_runs``, ``population_size``,
    ``calibration_particles``, ``max_generations``, ``emulator_evaluations``,
    ``target_acceptance_rate`` and ``seed``; ``db`` is pyabc's database of the ABC-SMC on
    the emulator, whose proposals run on ``executor`` with ``workers`` workers (or here;
    the particles do not depend on it).
    """
    low, high, keys = spec.low, spec.high, spec.keys
    mapper = map if executor is None or workers <= 1 else executor.map
    thetas: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    wave_of: list[np.ndarray] = []
    cuts: list[Cut] = []
    rows: list[dict[str, Any]] = []
    val_rows: list[dict[str, Any]] = []
    emulator: Emulator | None = None
    nroy_share = 1.0
    for w in range(spec.waves):
        t0 = time.perf_counter()
        n_cand = 0
        if w == 0:
            design = latin_hypercube(low, high, spec.design_runs, spec.seed)
        else:
            # rounds of prior draws until the wave is full (a small region needs more)
            found = []
            for r in range(_CANDIDATE_ROUNDS):
                cand = _uniform(low, high, spec.candidates, spec.seed, _CANDIDATE_STREAM,
                                w * _CANDIDATE_ROUNDS + r)
                n_cand += len(cand)
                found.append(cand[in_region(cuts, cand)])
                if sum(map(len, found)) >= spec.design_runs:
                    break
            cand = np.vstack(found)
            nroy_share = len(cand) / n_cand
            if len(cand) == 0:
                log.warning("history matching: no candidate of wave %d is plausible "
                            "(all %d ruled out); the last emulator stays", w, n_cand)
                break
            design = cand[: spec.design_runs]
        log.info("history matching wave %d: %d simulations (NROY %.3g of the prior box)",
                 w, len(design), nroy_share)
        y = run_batch(design, w)
        if emulator is not None:  # validate the last emulator on the new runs
            m, s = emulator.predict(design)
            cover = (np.abs(y - m) <= _Z90 * s).mean(axis=0)
            r2 = 1 - ((y - m) ** 2).mean(axis=0) / np.maximum(y.var(axis=0), 1e-300)
            val_rows += [{"wave": w, "target": names[j], "coverage90": float(cover[j]),
                          "r2": float(r2[j])} for j in range(len(names))]
        thetas.append(design)
        ys.append(y)
        wave_of.append(np.full(len(design), w))
        theta_all, y_all, waves_all = (np.vstack(thetas), np.vstack(ys),
                                       np.concatenate(wave_of))
        train = _training(theta_all, waves_all, cuts, spec.training_runs, spec.seed + w)
        emulator = fit_emulator(theta_all[train], y_all[train], low, high, spec.hyper_runs,
                                spec.seed + 7 * w, mapper)
        last = w == spec.waves - 1
        if not last:
            cuts.append(Cut(emulator, spec.implausibility_cutoff, observed, sigma, lower))
        covers = [r["coverage90"] for r in val_rows if r["wave"] == w]
        rows.append({"wave": w, "runs": len(design), "training_runs": len(train),
                     "candidates": n_cand, "nroy_share": nroy_share,
                     "validation_coverage": float(np.median(covers)) if covers else np.nan,
                     "seconds": time.perf_counter() - t0})
    assert emulator is not None
    theta_all, y_all = np.vstack(thetas), np.vstack(ys)
    design_df = pd.concat([pd.DataFrame({"wave": np.concatenate(wave_of)}),
                           pd.DataFrame(theta_all, columns=keys),
                           pd.DataFrame(y_all, columns=names)], axis=1)
    # the posterior: ABC-SMC on the last emulator, to temperature 1
    t0 = time.perf_counter()
    model = EmulatedModel(emulator, keys, names)
    kernel = EmulatedKernel(names, observed, sigma, lower)
    abc_spec = _AbcBudget(spec.population_size, spec.calibration_particles,
                          spec.max_generations, spec.emulator_evaluations,
                          spec.target_acceptance_rate, spec.seed)
    abc = run_abc(model, RegionPrior(keys, low, high, cuts), kernel, abc_spec, executor,
                  workers, db=db, progress=progress, fall="at least")
    return EmulationRun(abc=abc, emulator=emulator, cuts=cuts, waves=pd.DataFrame(rows),
                        validation=pd.DataFrame(val_rows, columns=["wave", "target",
                                                                   "coverage90", "r2"]),
                        design=design_df, simulations=len(theta_all),
                        timings={"posterior_s": time.perf_counter() - t0})


@dataclass
class _AbcBudget:
    """The ABC-SMC budget of :func:`run_abc` for the emulated posterior."""

    population_size: int
    calibration_particles: int
    max_generations: int
    max_simulations: int
    target_acceptance_rate: float
    seed: int


def predictive_coverage(emulator: Emulator, theta: np.ndarray, simulated: np.ndarray
                        ) -> np.ndarray:
    """Per target: the share of real simulations (runs x targets, at ``theta``) inside the
    emulator's 90 % band of one simulation."""
    m, s = emulator.predict(theta)
    return np.asarray((np.abs(simulated - m) <= _Z90 * s).mean(axis=0))


__all__ = ["VALIDATION_LEVEL", "Cut", "EmulatedKernel", "EmulatedModel", "EmulationRun",
           "Emulator", "RegionPrior", "TargetGP", "fit_emulator", "fit_target", "history_match",
           "implausibility", "in_region", "latin_hypercube", "predictive_coverage"]
