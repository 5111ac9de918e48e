"""Named random streams and the draws of one replication (common random numbers).

Every stream is a ``numpy.random.Generator`` seeded by ``SeedSequence((seed, replication,
stream_id))``; stream ids are fixed numbers, so adding a stream never shifts another one.
All draws that depend only on the world (not on strategy, funding or staffing) are made
up front and indexed by entity, so every strategy sees the same draws for the same
service, Land or administration: differences between strategies are not noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy import special, stats

from sim.world import World

#: Fixed stream ids. Append new streams; never renumber.
STREAM_IDS = {
    "dev_effort": 1,
    "delays": 2,
    "reuse_choice": 3,
    "priority": 4,
    "hiring": 5,
    "municipal_effort": 6,
    "attrition": 8,
    "municipal_lag": 7,
    "common_priority": 9,
    "providers": 10,
    "market": 11,
    "reuse_common": 12,
}


def stream(seed: int, replication: int, name: str, *extra: int) -> np.random.Generator:
    """Generator for stream ``name`` of one replication (``extra`` keys a sub-stream)."""
    return np.random.default_rng(np.random.SeedSequence(
        (int(seed), int(replication), STREAM_IDS[name], *map(int, extra))))


#: Below this coefficient of variation a mean-1 gamma multiplier equals 1 to double precision
#: (its standard deviation is under machine epsilon), while its shape 1/cv² overflows for
#: cv below ~1e-154: such delays are taken as deterministic.
DETERMINISTIC_CV = float(np.finfo(float).eps)


def unit_gamma(rng: np.random.Generator, cv: float, size: tuple[int, ...]) -> np.ndarray:
    """Gamma variates with mean 1 and coefficient of variation ``cv`` (below
    :data:`DETERMINISTIC_CV`: all ones)."""
    if cv < DETERMINISTIC_CV:
        return np.ones(size)
    k = 1.0 / cv**2
    return rng.gamma(k, 1.0 / k, size=size)


@dataclass
class Draws:
    """Random inputs of one replication, indexed by entity.

    Attributes
    ----------
    complexity_z : ndarray (S,)
        Standard normal, intrinsic complexity noise of each service.
    builder_z : ndarray (S, L + 1)
        Standard normal, builder-specific effort noise (column ``L`` is the Bund).
    publication, decision, contract, tenant_onboarding : ndarray
        Mean-1 gamma multipliers of the delays, (S, L + 1) for publication by a builder,
        (S, L) for a tenant Land's reuse steps.
    reuse_u : ndarray (S, L)
        Uniform(0, 1): a Land reuses a shared service iff ``reuse_u < propensity``.
    priority : ndarray (L + 1, S)
        Each actor's work order (rank of each service; lower first): the Länder 0..L-1
        and the Bund L, as builders, operators and tenants (:func:`work_order`).
    onboarding_z : ndarray (Sm, A)
        Standard normal, effort noise per municipal service and administration.
    info_lag : ndarray (Sm, A)
        Mean-1 gamma multipliers of the information lag (coefficient of variation
        ``delay_cv × info_lag_dispersion``).
    provider_prep : ndarray (Sm, L, B)
        Mean-1 gamma multipliers of the time each body of a Land's roll-out channels needs
        to prepare each municipal service (B: the most bodies of a Land).
    product_lag : ndarray (S,)
        Mean-1 gamma multiplier of the time until a vendor offers each service.
    buy_u : ndarray (S, L + 1)
        Uniform(0, 1): a builder buys an offered product iff ``buy_u < adoption_share``.
    procurement, integration : ndarray (S, L + 1)
        Mean-1 gamma multipliers of a builder's tender and of the vendor's configuration.
    reuse_common : ndarray (3, S)
        Uniform(0, 1): each service's common readiness for reuse, for its decision,
        contract and onboarding delays (:func:`correlated_delays`).
    """

    complexity_z: np.ndarray
    builder_z: np.ndarray
    publication: np.ndarray
    decision: np.ndarray
    contract: np.ndarray
    tenant_onboarding: np.ndarray
    reuse_u: np.ndarray
    priority: np.ndarray
    onboarding_z: np.ndarray
    info_lag: np.ndarray
    provider_prep: np.ndarray
    product_lag: np.ndarray
    buy_u: np.ndarray
    procurement: np.ndarray
    integration: np.ndarray
    reuse_common: np.ndarray

    @classmethod
    def make(cls, world: World, seed: int, replication: int, delay_cv: float,
             common_weight: float = 0.0, info_lag_dispersion: float = 1.0) -> Draws:
        """Draw everything a replication needs from its named streams.

        ``common_weight``: how closely the actors' work orders follow the common priority
        (``priority.common_weight``; :func:`work_order`). ``info_lag_dispersion``: the
        information lags' coefficient of variation relative to ``delay_cv``
        (``municipal.info_lag_dispersion``).
        """
        S, L, A = world.n_services, world.n_states, world.n_admins
        Sm = len(world.municipal_services)
        eff = stream(seed, replication, "dev_effort")
        dl = stream(seed, replication, "delays")
        pr = stream(seed, replication, "priority")
        own = pr.random((L + 1, S))
        common = stream(seed, replication, "common_priority").random(S)
        mk = stream(seed, replication, "market")
        return cls(
            complexity_z=eff.standard_normal(S),
            builder_z=eff.standard_normal((S, L + 1)),
            publication=unit_gamma(dl, delay_cv, (S, L + 1)),
            decision=unit_gamma(dl, delay_cv, (S, L)),
            contract=unit_gamma(dl, delay_cv, (S, L)),
            tenant_onboarding=unit_gamma(dl, delay_cv, (S, L)),
            reuse_u=stream(seed, replication, "reuse_choice").random((S, L)),
            priority=work_order(common, own, common_weight),
            onboarding_z=stream(seed, replication, "municipal_effort").standard_normal((Sm, A)),
            info_lag=unit_gamma(stream(seed, replication, "municipal_lag"),
                                delay_cv * info_lag_dispersion, (Sm, A)),
            provider_prep=unit_gamma(stream(seed, replication, "providers"), delay_cv,
                                     (Sm, L, _most_bodies(world))),
            product_lag=unit_gamma(mk, delay_cv, (S,)),
            buy_u=mk.random((S, L + 1)),
            procurement=unit_gamma(mk, delay_cv, (S, L + 1)),
            integration=unit_gamma(mk, delay_cv, (S, L + 1)),
            reuse_common=stream(seed, replication, "reuse_common").random((3, S)),
        )

    def reuse_delays(self, weights: dict[str, float], cv: float
                     ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per sharing mode, the tenants' (decision, contract, onboarding) multipliers,
        correlated within a service by the mode's weight (:func:`correlated_delays`)."""
        own = (self.decision, self.contract, self.tenant_onboarding)
        return {mode: (correlated_delays(own[0], self.reuse_common[0], w, cv),
                       correlated_delays(own[1], self.reuse_common[1], w, cv),
                       correlated_delays(own[2], self.reuse_common[2], w, cv))
                for mode, w in weights.items()}


def _most_bodies(world: World) -> int:
    """The most roll-out bodies of a Land (over its channels) in the world."""
    ch = world.channels
    return int(ch.groupby("state")["n_bodies"].sum().max()) if len(ch) else 0


_NORMAL = NormalDist()


def normal_scores(u: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of uniforms in (0, 1) (order-preserving)."""
    flat = np.clip(np.asarray(u, dtype=float).ravel(), 1e-12, 1.0 - 1e-12)
    return np.array([_NORMAL.inv_cdf(x) for x in flat]).reshape(np.shape(u))


def correlated_delays(own: np.ndarray, common: np.ndarray, weight: float,
                      cv: float) -> np.ndarray:
    """Mean-1 gamma delay multipliers (S, L) of the tenants of each service, correlated
    through the service's common readiness (a Gaussian copula; MODEL.md 7.5).

    ``own`` are the tenants' independent mean-1 gamma multipliers (coefficient of variation
    ``cv``), ``common`` (S,) uniforms of each service's common component. Each multiplier is
    the gamma quantile of ``Φ(w·z_s + sqrt(1 − w²)·z_st)``, with ``z_st`` the normal score of
    the tenant's own draw: every multiplier keeps its gamma distribution, and ``weight`` w is
    the correlation of each with the service's common component (w² in normal scores between
    two tenants): 0 returns ``own`` unchanged (independent tenants), 1 one delay per service.
    """
    if weight <= 0.0 or cv < DETERMINISTIC_CV:
        return own
    k = 1.0 / cv**2
    dist = stats.gamma(k, scale=1.0 / k)
    z_s = special.ndtri(np.clip(common, 1e-12, 1.0 - 1e-12))[:, None]
    if weight >= 1.0:
        z = np.broadcast_to(z_s, own.shape)
    else:
        z_st = special.ndtri(np.clip(dist.cdf(own), 1e-12, 1.0 - 1e-12))
        z = weight * z_s + np.sqrt(1.0 - weight**2) * z_st
    return np.asarray(dist.ppf(special.ndtr(z)), dtype=float)


def work_order(common: np.ndarray, own: np.ndarray, common_weight: float) -> np.ndarray:
    """Each actor's work order: the ranks of ``w·z_s + sqrt(1 − w²)·z_as`` over services.

    ``z_s`` is the common priority of service ``s`` (one score for everybody: demand and
    politics that all builders and tenants share), ``z_as`` the actor's own deviation
    (standard normal scores of the uniforms ``common`` (S,) and ``own`` (actors, S)).
    ``common_weight`` ``w`` is the correlation of every actor's priority with the common
    one, hence ``w²`` that between two actors: 0 gives independent random orders, 1 one
    order for all. Lower rank first; ties cannot occur (continuous scores).
    """
    if common_weight <= 0.0:
        key = own  # the ranks of uniforms equal the ranks of their normal scores
    elif common_weight >= 1.0:
        key = np.broadcast_to(common, own.shape)
    else:
        key = (common_weight * normal_scores(common)[None, :]
               + np.sqrt(1.0 - common_weight**2) * normal_scores(own))
    return np.argsort(key, axis=1, kind="stable").argsort(axis=1)
