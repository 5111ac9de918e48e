"""ABC-SMC with pyabc: the measurement model as a stochastic kernel, a sampler whose result
does not depend on the number of workers, and the run of :func:`run_abc`.

The method is pyabc's (Klinger, Rickert & Hasenauer 2018; Schälte et al. 2022): sequential
Monte Carlo over generations of particles, each particle one simulation, accepted by
pyabc's :class:`~pyabc.acceptor.StochasticAcceptor` with probability
``(p(observed | simulated) / c) ** (1 / T)``. Here ``p`` is the measurement model of the
targets (:class:`ObservationKernel`: independent normal errors with the targets' variances,
a normal CDF for a lower bound), so that at temperature ``T = 1`` the accepted particles are
an exact sample of the posterior under that measurement model (Wilkinson 2013). Earlier
generations run at higher temperatures (pyabc's :class:`~pyabc.epsilon.Temperature`, here
chosen so that a set share of proposals is accepted); a run that stops at ``T > 1`` samples
the exact posterior under measurement errors inflated by ``sqrt(T)`` (a Gaussian kernel to
the power ``1/T`` is a Gaussian kernel with ``T`` times the variance).

Nothing here is a sampler of our own: :class:`SeededSampler` only decides *where* pyabc's
``simulate_one`` runs. pyabc draws its proposals and acceptance decisions from numpy's
global generator (its samplers reseed it from the operating system in every worker), so
results would depend on timing and workers. Here proposal ``i`` of generation ``t`` runs with
numpy's global generator seeded by ``SeedSequence((seed, t + 2, i))`` and restored
afterwards, proposals are read in the order of ``i``, and a generation keeps the proposals
up to its ``n``-th acceptance (as pyabc's evaluation-parallel sampler does), so the same
spec and seed give the same particles on 1, 2 or 200 workers, local or on a Dask cluster.
This module does not write files: the database path comes from the caller.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pyabc
from pyabc.distance import SCALE_LOG, StochasticKernel
from pyabc.sampler import Sampler
from scipy.stats import norm
from threadpoolctl import threadpool_limits

log = logging.getLogger("ozg-sim")
#: The temperature falls by at most this factor per generation (pyabc's
#: ``ExpDecayFixedRatioScheme``; the acceptance-rate scheme may ask for less).
TEMPERATURE_DECAY = 0.4
#: ``progress(phase, done, total)``, called as accepted particles come in.
PhaseProgress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- measurement model


def log_density(sim: np.ndarray, observed: np.ndarray, sigma: np.ndarray,
                lower: np.ndarray) -> np.ndarray:
    """Log-density of the observed targets given simulated values (last axis: targets).

    A point target is observed with an independent normal error ``sigma``; a lower bound
    ("more than ``o``") is reported when the measured value exceeds ``o``, with probability
    ``Phi((sim - o) / sigma)``. Returns the sum over targets (shape ``sim.shape[:-1]``).
    """
    d = (np.asarray(sim, dtype=float) - observed) / sigma
    terms = np.where(lower, norm.logcdf(d), -0.5 * d ** 2 - 0.5 * np.log(2 * np.pi * sigma ** 2))
    return np.asarray(terms.sum(axis=-1))


class ObservationKernel(StochasticKernel):
    """The measurement model of the targets as a pyabc stochastic kernel (log scale).

    Parameters
    ----------
    keys : list of str
        Summary-statistic names of the targets, in the order of ``observed``.
    observed, sigma : ndarray
        Observed shares and their measurement errors.
    lower : ndarray of bool
        Targets that are lower bounds.
    """

    def __init__(self, keys: list[str], observed: np.ndarray, sigma: np.ndarray,
                 lower: np.ndarray) -> None:
        self.observed = np.asarray(observed, dtype=float)
        self.sigma = np.asarray(sigma, dtype=float)
        self.lower = np.asarray(lower, dtype=bool)
        # the largest possible density: every point target hit exactly, every bound cleared
        pdf_max = float(np.sum(np.where(self.lower, 0.0,
                                        -0.5 * np.log(2 * np.pi * self.sigma ** 2))))
        super().__init__(ret_scale=SCALE_LOG, keys=list(keys), pdf_max=pdf_max)

    def __call__(self, x: dict[str, Any], x_0: dict[str, Any], t: int | None = None,
                 par: dict[str, Any] | None = None) -> float:
        assert self.keys is not None
        sim = np.array([float(x[k]) for k in self.keys])
        return float(log_density(sim, self.observed, self.sigma, self.lower))


# --------------------------------------------------------------------------- sampler


def _seeded(seed: int, t: int, i: int) -> np.ndarray:
    return np.random.SeedSequence((int(seed), int(t) + 2, int(i))).generate_state(4)


def one_blas_thread() -> Any:
    """Context in which numpy's and scipy's BLAS/LAPACK use one thread. Their results
    depend in the last bits on the number of threads (a sum split differently), which
    defaults to the machine's cores; the calibration's linear algebra (the emulators)
    runs single-threaded in every process, so that its particles are the same bits on any
    machine and any number of workers (parallel work is the workers')."""
    return threadpool_limits(limits=1, user_api="blas")


#: In a worker: the last generation's ``simulate_one``, by the digest of its pickle (the
#: same payload comes with every batch of a generation; loading it once per worker spares
#: rebuilding a large model, e.g. an emulator's Cholesky factors, per batch).
_LOADED: dict[bytes, Callable[[], Any]] = {}


def _load(payload: bytes) -> Callable[[], Any]:
    key = hashlib.blake2b(payload, digest_size=16).digest()
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = cloudpickle.loads(payload)
    return _LOADED[key]


def _simulate_ids(payload: bytes | Callable[[], Any], seed: int, t: int, ids: range
                  ) -> list[Any]:
    """Run pyabc's ``simulate_one`` (pickled for a worker, or the function itself here) for
    proposals ``ids`` of generation ``t``, each with numpy's global generator seeded by
    (seed, t + 2, id); the caller's state is restored."""
    with one_blas_thread():
        simulate_one = _load(payload) if isinstance(payload, bytes) else payload
        state = np.random.get_state()  # noqa: NPY002 (pyabc draws from the global generator)
        out = []
        try:
            for i in ids:
                np.random.seed(_seeded(seed, t, i))  # noqa: NPY002
                out.append(simulate_one())
        finally:
            np.random.set_state(state)  # noqa: NPY002
    return out


class SeededSampler(Sampler):
    """A pyabc sampler whose populations depend only on the seed (see the module docstring).

    Parameters
    ----------
    seed : int
        Root seed of the proposals.
    executor : concurrent.futures.Executor, optional
        Where batches of proposals run (a process pool of :func:`sim.pool.process_pool`
        or a Dask client's executor); ``None`` runs them here.
    workers : int
        Parallel workers of ``executor`` (sets the batch size, never the result).
    progress : callable, optional
        ``progress(phase, accepted, n)`` after each batch.
    """

    def __init__(self, seed: int, executor: Executor | None = None, workers: int = 1,
                 progress: PhaseProgress | None = None) -> None:
        super().__init__()
        self.seed, self.executor, self.workers, self.progress = seed, executor, workers, progress
        #: simulations run, including those after a generation's n-th acceptance
        self.simulated_total = 0
        self._rate = 0.5

    def _map(self, fn: Callable[..., list[Any]], args: list[tuple[Any, ...]]
             ) -> Iterator[list[Any]]:
        if self.executor is None or self.workers <= 1:
            return (fn(*a) for a in args)
        return self.executor.map(fn, *zip(*args, strict=True))

    def sample_until_n_accepted(self, n: int, simulate_one: Callable[[], Any], t: int, *,
                                max_eval: float = np.inf, all_accepted: bool = False,
                                ana_vars: Any = None) -> Any:
        local = self.executor is None or self.workers <= 1
        # in this process the function itself (a large model, e.g. an emulator, is not
        # copied per batch); to workers once pickled per generation
        payload = simulate_one if local else cloudpickle.dumps(simulate_one)
        sample = self._create_empty_sample()
        accepted = evaluated = next_id = 0
        rate = 1.0 if all_accepted else self._rate
        phase = "prior sample" if t < 0 else f"generation {t}"
        done = False
        while not done:
            if next_id >= max_eval:
                sample.ok = False
                break
            # enough proposals for the remaining acceptances at the last rate, +10 %
            need = math.ceil((n - accepted) / max(rate, 0.01) * 1.1)
            batch = int(min(max(need, self.workers), max_eval - next_id))
            per_task = max(1, min(8, batch // (4 * self.workers)))
            chunks = [range(a, min(a + per_task, next_id + batch))
                      for a in range(next_id, next_id + batch, per_task)]
            results = self._map(_simulate_ids,
                                [(payload, self.seed, t, ids) for ids in chunks])
            for particles in results:
                for p in particles:
                    if done:
                        continue  # after the n-th acceptance: simulated, not used
                    evaluated += 1
                    sample.append(p)
                    accepted += bool(p.accepted)
                    done = accepted >= n
            next_id += batch
            self.simulated_total += batch
            rate = accepted / max(evaluated, 1)
            if self.progress:
                self.progress(phase, min(accepted, n), n)
        if not all_accepted and evaluated:
            self._rate = max(accepted / evaluated, 0.01)
        self.nr_evaluations_ = evaluated
        return sample


# --------------------------------------------------------------------------- run


@dataclass
class AbcRun:
    """What an ABC-SMC run left.

    Attributes
    ----------
    particles : DataFrame
        The last generation: one row per particle, the parameters and ``weight`` (sums to 1).
    generations : DataFrame
        Per generation ``t``: ``temperature``, ``accepted``, ``simulations``,
        ``acceptance_rate``, ``ess`` (effective sample size of its weights).
    simulations : int
        Simulations run, those after a generation's last acceptance and the prior sample
        included.
    wall_s : float
    """

    particles: pd.DataFrame
    generations: pd.DataFrame
    simulations: int
    wall_s: float
    history: Any = field(default=None, repr=False)

    @property
    def temperature(self) -> float:
        return float(self.generations["temperature"].iloc[-1])

    @property
    def ess(self) -> float:
        return float(self.generations["ess"].iloc[-1])


def uniform_prior(keys: Iterable[str], low: np.ndarray, high: np.ndarray) -> Any:
    """Independent uniform priors over ``[low, high]`` as a pyabc distribution."""
    return pyabc.Distribution(**{k: pyabc.RV("uniform", float(lo), float(hi - lo))
                                 for k, lo, hi in zip(keys, low, high, strict=True)})


def run_abc(model: Callable[[dict[str, float]], dict[str, float]], prior: Any,
            kernel: ObservationKernel, spec: Any, executor: Executor | None = None,
            workers: int = 1, db: str = "sqlite://",
            progress: PhaseProgress | None = None, fall: str = "at most") -> AbcRun:
    """ABC-SMC of ``model`` (parameters -> summary statistics) against the kernel's targets.

    ``spec`` gives ``population_size``, ``calibration_particles``, ``max_generations``,
    ``max_simulations``, ``target_acceptance_rate`` and ``seed``. ``db`` is pyabc's
    SQLAlchemy database (``sqlite:///path``; the default keeps it in memory). ``fall``:
    the temperature falls ``"at most"`` by :data:`TEMPERATURE_DECAY` per generation (and
    no further than the target acceptance rate allows: costly simulations), or ``"at
    least"`` by it (cheap model evaluations: T = 1 within a few generations, whatever the
    acceptance rate).
    """
    sampler = SeededSampler(spec.seed, executor, workers, progress)
    eps = pyabc.Temperature(
        schemes=[pyabc.AcceptanceRateScheme(target_rate=spec.target_acceptance_rate),
                 pyabc.ExpDecayFixedRatioScheme(alpha=TEMPERATURE_DECAY)],
        initial_temperature=pyabc.AcceptanceRateScheme(
            target_rate=spec.target_acceptance_rate),
        aggregate_fun=max if fall == "at most" else min,
        enforce_exact_final_temperature=False)
    abc = pyabc.ABCSMC(
        model, prior, kernel,
        population_size=pyabc.ConstantPopulationSize(
            spec.population_size, nr_calibration_particles=spec.calibration_particles),
        transitions=pyabc.MultivariateNormalTransition(),
        eps=eps, acceptor=pyabc.StochasticAcceptor(), sampler=sampler)
    x0 = {k: float(v) for k, v in zip(kernel.keys or [], kernel.observed, strict=True)}
    # pyabc also draws in this process (none in the steps used here, but keep it a function
    # of the seed all the same): numpy's global generator seeded, and restored afterwards
    state = np.random.get_state()  # noqa: NPY002 (pyabc draws from the global generator)
    t0 = time.perf_counter()
    try:
        np.random.seed(_seeded(spec.seed, -2, 0))  # noqa: NPY002
        abc.new(db, x0)
        history = abc.run(minimum_epsilon=1.0, max_nr_populations=spec.max_generations,
                          max_total_nr_simulations=spec.max_simulations)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    wall = time.perf_counter() - t0
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    rows = []
    for _, p in pops.iterrows():
        _df, w = history.get_distribution(m=0, t=int(p["t"]))
        n_acc = len(w)
        rows.append({"t": int(p["t"]), "temperature": float(p["epsilon"]),
                     "accepted": n_acc, "simulations": int(p["samples"]),
                     "acceptance_rate": n_acc / max(int(p["samples"]), 1),
                     "ess": float(pyabc.weighted_statistics.effective_sample_size(w))})
    generations = pd.DataFrame(rows)
    df, w = history.get_distribution(m=0, t=history.max_t)
    particles = df.reset_index(drop=True)
    particles = particles[[c for c in prior.keys() if c in particles.columns]]
    particles["weight"] = np.asarray(w, dtype=float) / float(np.sum(w))
    return AbcRun(particles, generations, sampler.simulated_total, wall, history)


__all__ = ["TEMPERATURE_DECAY", "AbcRun", "ObservationKernel", "SeededSampler",
           "log_density", "one_blas_thread", "run_abc", "uniform_prior"]
