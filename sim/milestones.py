"""Milestones of the rollout timeline: per run, the month by which a share of a lane's
services reached a milestone, from a run's events.

One definition for both places that draw a timeline: a run (``ozg-sim``) computes them
from its ``events.parquet`` (:func:`sim.figures.tables.timeline_table`), a sweep keeps
them of every run (table ``milestones``, :mod:`sim.sweep`), since it keeps no events, so
every experiment level gets the same timeline a run gets.

Lanes and milestones:

- panel ``topic``: one lane per topic field, milestones :data:`TOPIC_MILESTONES` (a
  service reaches one at its first such event anywhere);
- panel ``state``: one lane per Land, milestones :data:`STATE_MILESTONES` over the
  municipal services (the event's ``actor`` is the Land).

A lane reaches a milestone in the month its ``k``-th service does, ``k`` = the
:data:`TIMELINE_SHARE` of its services (at least one); a lane that does not get there
within the horizon has ``time`` NaN ("not reached").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Milestones per topic field: the event that marks it, and which services count towards it
#: (``all``: every service of the lane; ``shared``: the state and municipal ones, which
#: Länder publish and reuse (a federal service is built once for all); ``municipal``: the
#: municipally executed ones, the only ones whose administrations get connected).
TOPIC_MILESTONES = {"built": ("online", "all"), "published": ("published", "shared"),
                    "reused": ("reused", "shared"),
                    "connected": ("municipal_first_onboarded", "municipal")}
#: Milestones per Land: the first, and all, of the Land's municipal administrations
#: connected to a municipal service.
STATE_MILESTONES = {"connected_first": ("municipal_first_onboarded", "municipal"),
                    "connected_all": ("municipal_all_onboarded", "municipal")}
#: Share of a lane's services that must have reached a milestone for the lane to have
#: reached it: half, so the month read is the median service's.
TIMELINE_SHARE = 0.5
#: Executors of the services counted by the ``municipal`` and ``shared`` milestones
#: (``services.csv``).
MUNICIPAL_EXECUTOR, FEDERAL_EXECUTOR = "municipal", "federal"
#: Columns of :func:`milestone_times` (the sweep table ``milestones``).
MILESTONE_COLUMNS = ["replication", "panel", "lane", "series", "n_services", "time"]


def needed(n_services: int, share: float) -> int:
    """Services of a lane that must reach a milestone: ``share`` of them, at least one."""
    return max(1, int(np.ceil(share * n_services - 1e-9)))


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: column(s) {missing} missing: needs {list(cols)}")


def milestone_times(events: pd.DataFrame, services: pd.DataFrame,
                    replications: Sequence[int] | None = None,
                    states: Sequence[str] | None = None,
                    share: float = TIMELINE_SHARE) -> pd.DataFrame:
    """Per replication, lane and milestone the month (since 2018-01, a float) by which
    ``share`` of the lane's services had reached it (NaN: not within the horizon).

    Parameters
    ----------
    events : DataFrame
        A run's events (``replication, time_months, event, ozg_id, actor``).
    services : DataFrame
        ``services.csv`` (``ozg_id, topic, executor``): the lanes' services.
    replications : sequence of int, optional
        Every replication (default: those with events), so a replication without any event
        of a milestone counts as not reaching it.
    states : sequence of str, optional
        The Länder lanes (default: the Länder with a connection event), so a sweep's run
        has a row for every Land whatever happened in it.
    share : float
        :data:`TIMELINE_SHARE` by default.

    Returns
    -------
    DataFrame
        Columns :data:`MILESTONE_COLUMNS`, in lane order: topics as in ``services``, Länder
        sorted; milestones in declared order; replications ascending.
    """
    _require(events, ["replication", "time_months", "event", "ozg_id", "actor"], "events")
    _require(services, ["ozg_id", "topic", "executor"], "services")
    if not 0 < share <= 1:
        raise ValueError(f"share(={share}) must be in (0, 1]")
    reps = (sorted(int(r) for r in events["replication"].unique()) if replications is None
            else [int(r) for r in replications])
    if len(set(reps)) != len(reps):
        raise ValueError(f"events: replications {reps} repeat")
    svc = services.set_index("ozg_id")
    municipal = set(svc.index[svc["executor"] == MUNICIPAL_EXECUTOR])
    shared = set(svc.index[svc["executor"] != FEDERAL_EXECUTOR])
    scopes = {"municipal": municipal, "shared": shared}
    if states is None:
        states = sorted(events.loc[events["event"].isin(
            [e for e, _ in STATE_MILESTONES.values()]), "actor"].unique())
    topic_of = svc["topic"]
    lane_ids = {"topic": {t: set(svc.index[topic_of == t]) for t in pd.unique(topic_of)},
                "state": {str(s): municipal for s in states}}
    wanted = [e for e, _ in (*TOPIC_MILESTONES.values(), *STATE_MILESTONES.values())]
    ev = events[events["event"].isin(wanted)]
    # first time of each service per run and event, anywhere (topic lanes) and per Land
    first = {panel: ev.groupby(cols, sort=False)["time_months"].min().reset_index()
             for panel, cols in (("topic", ["replication", "event", "ozg_id"]),
                                 ("state", ["replication", "event", "actor", "ozg_id"]))}
    arr = {panel: {c: f[c].to_numpy() for c in f.columns} for panel, f in first.items()}
    arr["topic"]["lane"] = topic_of.reindex(arr["topic"]["ozg_id"]).to_numpy()
    arr["state"]["lane"] = arr["state"]["actor"]
    rows: list[tuple[int, str, str, str, int, float]] = []
    for panel, milestones in (("topic", TOPIC_MILESTONES), ("state", STATE_MILESTONES)):
        a = arr[panel]
        lane_of = {lane: a["lane"] == lane for lane in lane_ids[panel]}
        for name, (event, scope) in milestones.items():
            of_event = a["event"] == event
            if scope in scopes:  # (a topic lane's services are those of its topic)
                of_event &= np.isin(a["ozg_id"], list(scopes[scope]))
            for lane, ids in lane_ids[panel].items():
                ids = ids & scopes[scope] if scope in scopes else ids
                if not ids:
                    continue
                k = needed(len(ids), share)
                mine = of_event & lane_of[lane]
                for r in reps:
                    times = np.sort(a["time_months"][mine & (a["replication"] == r)])
                    rows.append((r, panel, str(lane), name, len(ids),
                                 float(times[k - 1]) if len(times) >= k else np.nan))
    return pd.DataFrame(rows, columns=MILESTONE_COLUMNS).astype(
        {"replication": "int64", "n_services": "int64", "time": "float64"})


__all__ = ["FEDERAL_EXECUTOR", "MILESTONE_COLUMNS", "MUNICIPAL_EXECUTOR", "STATE_MILESTONES",
           "TIMELINE_SHARE", "TOPIC_MILESTONES", "milestone_times", "needed"]
