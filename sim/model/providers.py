"""Municipal IT providers and Land platforms: the channels through which a municipally
executed service reaches the administrations of a Land.

Most administrations do not connect a service alone: their municipal IT provider
(AKDB, ekom21, Komm.ONE, the KDN providers in NRW, ITV.SH/Dataport, eGo-Saar, KIV, ...) or
a Land platform (BayernStore, civento, service-bw, Amt24, ThAVEL, ...) takes the service
once, prepares it and rolls it out to the administrations it serves, which then only
activate it (MODEL.md 7.6a; channels, reach and dates in ``sim/data/municipal_rollout.csv``).

:class:`Channels` holds, for one replication, which channel serves which administration
for a service that reaches its Land at a given time, and when each body of each channel
has prepared each service. Like the rest of the municipal level it feeds nothing back to
the Länder or the Bund, so it is evaluated after the run, from the order in which services
reached each Land (:class:`~sim.model.municipalities.Municipalities` calls it).

Rules:

- A channel reaches the administrations whose stable rank ``rollout_u`` within their Land
  lies below its reach (``providers.share_quantile`` within the documented range), so the
  channels of a Land are nested (the conservative reading of their overlap). A service that
  reaches the Land at ``t`` goes to an administration through the earliest-operating
  channel that reaches it and operates at ``t``; an administration no channel reaches
  connects the service itself (MODEL.md 7.6).
- A channel has ``n_bodies`` separate bodies (e.g. the 28 KDN providers in NRW); an
  administration belongs to body ``floor(body_u * n_bodies)``. Each body prepares every
  service that reaches its Land while it operates, in the order the services reached the
  Land, ``slots_per_body`` at a time; a preparation takes ``preparation_months`` x a mean-1
  gamma draw.
"""

from __future__ import annotations

import heapq

import numpy as np

from sim.params import ProvidersParams
from sim.world import World


def reach(p: ProvidersParams, low: np.ndarray, central: np.ndarray,
          high: np.ndarray) -> np.ndarray:
    """Reach of channels with documented ranges at ``p.share_quantile`` (0 low, 0.5
    central, 1 high, piecewise linear)."""
    q = p.share_quantile
    if q <= 0.5:
        return low + (central - low) * 2 * q
    return central + (high - central) * (2 * q - 1)


def body_ready_times(t_release: np.ndarray, prep: np.ndarray, start: float,
                     slots: int) -> np.ndarray:
    """When one body has prepared each service: a ``slots``-server queue in release order.

    ``t_release`` (K,): when each service reached the Land (``inf``: padding); ``prep``
    (K,): preparation times. Services that reached the Land before ``start`` (when the
    channel starts operating) are not taken (``inf``).
    """
    ready = np.full(len(t_release), np.inf)
    free = [0.0] * slots
    for k, t in enumerate(t_release):
        if not np.isfinite(t) or t < start:
            continue
        begin = max(t, heapq.heappop(free))
        ready[k] = begin + prep[k]
        heapq.heappush(free, ready[k])
    return ready


class Channels:
    """The roll-out channels of every Land for one replication.

    Parameters
    ----------
    world : World
    p : ProvidersParams
    prep : ndarray (Sm, L, B)
        Mean-1 gamma multipliers of the preparation time of each municipal service by each
        body of each Land (B: the most bodies of a Land; :class:`sim.rng.Draws`).
    """

    def __init__(self, world: World, p: ProvidersParams, prep: np.ndarray) -> None:
        self.world, self.p, self.prep = world, p, prep
        ch = world.channels if p.enabled else world.channels.iloc[:0]
        self.share = reach(p, ch["share_low"].to_numpy(), ch["share_central"].to_numpy(),
                           ch["share_high"].to_numpy())
        self.by_land = [np.flatnonzero(ch["state"].to_numpy() == li)
                        for li in range(world.n_states)]
        self.channels = ch

    @property
    def active(self) -> bool:
        return len(self.channels) > 0

    def route(self, li: int, t_release: np.ndarray, service_pos: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray] | None:
        """For Land ``li``'s releases (``t_release`` (K,), municipal positions
        ``service_pos`` (K,)): which of its administrations are served by a channel, and
        when their body has prepared each service.

        Returns ``(served, ready)``, both (K, A_l): ``served`` True where a channel serves
        the administration for that release, ``ready`` when its body has prepared the
        service (``inf`` where not served). ``None`` if no channel serves anybody.
        """
        rows = self.by_land[li]
        if not len(rows):
            return None
        a0, a1 = self.world.admin_slices[li]
        admins = self.world.admins
        u = admins["rollout_u"].to_numpy()[a0:a1]
        bu = admins["body_u"].to_numpy()[a0:a1]
        K = len(t_release)
        served = np.zeros((K, a1 - a0), dtype=bool)
        ready = np.full((K, a1 - a0), np.inf)
        ch = self.channels
        for r in rows:  # by start: the earliest-operating channel that reaches first
            start = float(ch["from_month"].iat[r])
            n_b = int(ch["n_bodies"].iat[r])
            mine = (u < self.share[r])[None, :] & (t_release >= start)[:, None] & ~served
            if not mine.any():
                continue
            body = np.minimum((bu * n_b).astype(np.int64), n_b - 1)
            off = int(ch["body_offset"].iat[r])
            body_ready = np.stack([
                body_ready_times(t_release, self.p.preparation_months
                                 * self.prep[np.minimum(service_pos, self.prep.shape[0] - 1),
                                             li, off + b],
                                 start, self.p.slots_per_body)
                for b in range(n_b)], axis=1)  # (K, n_b)
            ready = np.where(mine, body_ready[:, body], ready)
            served |= mine
        return (served, ready) if served.any() else None
