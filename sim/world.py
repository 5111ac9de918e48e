"""The static world: Länder, topic fields, services and municipal administrations.

Built once from the embedded data (:mod:`sim.data_io`) and a :class:`~sim.params.WorldParams`;
read-only during a run. Arrays are ordered for speed: administrations are sorted by Land so
each Land's administrations form one contiguous slice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import data_io
from sim.calendar import month_index
from sim.errors import ConfigError, DataError
from sim.params import WorldParams

#: Population bounds of the municipal size classes (inhabitants of the administration).
SIZE_CLASS_BOUNDS = (0, 5_000, 10_000, 20_000, 50_000, 100_000, 500_000, np.inf)
SIZE_CLASS_LABELS = ("<5k", "5k-10k", "10k-20k", "20k-50k", "50k-100k", "100k-500k", ">=500k")

#: Executing level codes of a service.
FEDERAL, STATE, MUNICIPAL = 0, 1, 2
EXECUTOR_LABELS = ("federal", "state", "municipal")


@dataclass(frozen=True)
class World:
    """Static inputs of the simulation.

    Attributes
    ----------
    name : str
        World label.
    states : pandas.DataFrame
        One row per Land in the world: ``state`` (abbr), ``name``, ``population``
        (Zensus 2022, sum of its municipalities), ``koenigstein_share`` (renormalised to the
        world), ``is_city_state``.
    topics : pandas.DataFrame
        ``topic``, ``lead_states`` (tuple of state indices), ``lead_confidence``.
    services : pandas.DataFrame
        ``ozg_id``, ``name``, ``topic`` (index), ``topic_name``, ``n_leika``,
        ``service_type``, ``executor`` (0 federal, 1 state, 2 municipal), ``lead_state``
        (state index building it under EfA; -1 for federal services).
    admins : pandas.DataFrame
        Municipal administrations (a shared administration or an independent municipality):
        ``admin_key``, ``name``, ``state`` (index), ``kreis_ags``, ``population``,
        ``n_municipalities``, ``size_class`` (index into :data:`SIZE_CLASS_LABELS`),
        ``rollout_u`` and ``body_u`` (stable uniform ranks in (0, 1) within the Land, by
        salted hashes of ``admin_key``: which administrations a roll-out channel reaches,
        and which of its bodies serves them; MODEL.md 7.6a).
    channels : pandas.DataFrame
        Municipal roll-out channels (municipal IT providers, Land platforms) of the Länder
        in the world: ``state`` (index), ``channel``, ``n_bodies``, ``share_low``,
        ``share_central``, ``share_high``, ``from_month`` (month index it operates from),
        ``body_offset`` (index of its first body among the Land's bodies), sorted by Land
        and ``from_month``.
    """

    name: str
    states: pd.DataFrame
    topics: pd.DataFrame
    services: pd.DataFrame
    admins: pd.DataFrame
    channels: pd.DataFrame = None  # type: ignore[assignment]

    # Derived arrays (set in __post_init__) for the hot paths.
    def __post_init__(self) -> None:
        if self.channels is None:
            object.__setattr__(self, "channels", pd.DataFrame(
                {c: pd.Series(dtype=t) for c, t in CHANNEL_COLUMNS.items()}))
        a = self.admins
        st = a["state"].to_numpy()
        if len(st) and np.any(np.diff(st) < 0):
            raise ValueError("admins must be sorted by state")
        bounds = np.searchsorted(st, np.arange(len(self.states) + 1))
        object.__setattr__(self, "admin_slices",
                           [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(self.states))])
        ex = self.services["executor"].to_numpy()
        muni = np.flatnonzero(ex == MUNICIPAL)
        pos = np.full(len(ex), -1, dtype=np.int64)
        pos[muni] = np.arange(len(muni))
        object.__setattr__(self, "municipal_services", muni)
        object.__setattr__(self, "municipal_position", pos)

    admin_slices: list[tuple[int, int]] = None  # type: ignore[assignment]
    municipal_services: np.ndarray = None  # type: ignore[assignment]
    municipal_position: np.ndarray = None  # type: ignore[assignment]

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_services(self) -> int:
        return len(self.services)

    @property
    def n_admins(self) -> int:
        return len(self.admins)

    def summary(self) -> dict[str, int]:
        """Counts for manifests and logs."""
        ex = self.services["executor"].value_counts()
        return {"states": self.n_states, "services": self.n_services,
                "services_federal": int(ex.get(FEDERAL, 0)),
                "services_state": int(ex.get(STATE, 0)),
                "services_municipal": int(ex.get(MUNICIPAL, 0)),
                "admins": self.n_admins,
                "municipalities": int(self.admins["n_municipalities"].sum()),
                "population": int(self.admins["population"].sum())}


#: Columns (and dtypes) of :attr:`World.channels`.
CHANNEL_COLUMNS = {"state": "int64", "channel": "object", "n_bodies": "int64",
                   "share_low": "float64", "share_central": "float64",
                   "share_high": "float64", "from_month": "int64", "body_offset": "int64"}


def stable_rank(ids: pd.Series | np.ndarray, salt: str = "") -> np.ndarray:
    """Order of services by a hash of their id (and ``salt``, for an order of its own):
    deterministic, unrelated to name or topic."""
    keys = [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in ids]
    return np.argsort(np.argsort(keys, kind="stable"), kind="stable")


def assign_executor(catalogue: pd.DataFrame, share_typ23: float, share_typ45: float) -> np.ndarray:
    """Executing level of every catalogue service.

    Typ 1 is federal. Of Typ 2/3 and Typ 4/5 services, the given shares (by a stable hash
    order of ``ozg_id``) are executed by municipalities, the rest by the Länder. The data
    do not say which level executes a service; the shares reproduce the KDN count of
    municipally executed services, 237 of 590 (MODEL.md 11, [Catalogue]).
    """
    ex = np.full(len(catalogue), STATE, dtype=np.int64)
    types = catalogue["service_type"].to_numpy()
    ex[types == "1"] = FEDERAL
    for t, share in (("2/3", share_typ23), ("4/5", share_typ45)):
        idx = np.flatnonzero(types == t)
        rank = stable_rank(catalogue["ozg_id"].iloc[idx])
        ex[idx[rank < round(share * len(idx))]] = MUNICIPAL
    return ex


def build_admins(municipalities: pd.DataFrame, verbaende: pd.DataFrame) -> pd.DataFrame:
    """Group municipalities into administrations: a shared one per ``verband_key``, else itself."""
    m = municipalities
    unknown = set(m.loc[m["verband_key"] != "", "verband_key"]) - set(verbaende["verband_key"])
    if unknown:
        raise DataError(f"gemeinden_zensus2022.csv: verband_key {sorted(unknown)[0]} "
                        "not found in gemeindeverbaende.csv")
    key = m["verband_key"].where(m["verband_key"] != "", m["ags"])
    g = m.assign(admin_key=key).groupby("admin_key", sort=True)
    admins = g.agg(state=("state", "first"), kreis_ags=("kreis_ags", "first"),
                   population=("population", "sum"), n_municipalities=("ags", "size"),
                   first_name=("name", "first")).reset_index()
    names = verbaende.set_index("verband_key")["name"]
    vname = admins["admin_key"].map(names)
    admins["name"] = vname.where(vname.notna() & (vname != ""), admins["first_name"])
    return admins.drop(columns="first_name")


def size_class_of(population: np.ndarray) -> np.ndarray:
    """Size class index of administrations by population."""
    return np.searchsorted(np.asarray(SIZE_CLASS_BOUNDS[1:-1]), population, side="right")


def _spread(n: int, k: int) -> np.ndarray:
    """``k`` positions spread evenly over ``0..n-1`` (both ends included)."""
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def build_world(params: WorldParams | None = None, data_dir: Path = data_io.DATA_DIR) -> World:
    """Load, validate and subset the embedded data into a :class:`World`: the Länder, their
    municipal administrations, the catalogue with its executing levels and the topic fields
    with their lead states."""
    p = params or WorldParams()
    p.validate()
    states = data_io.load_states(data_dir)
    topics = data_io.load_topics(data_dir)
    cat = data_io.load_catalogue(data_dir)
    munis = data_io.load_municipalities(data_dir)
    verb = data_io.load_verbaende(data_dir)
    channels = data_io.load_channels(data_dir)

    bad_topic = set(cat["topic"]) - set(topics["topic"])
    if bad_topic:
        raise DataError(f"ozg_catalogue_2019.csv: column themenfeld has unknown topic "
                        f"{sorted(bad_topic)[0]!r}; allowed the topics of themenfelder.csv")
    missing_states = set(munis["state"]) - set(states["abbr"])
    if missing_states:
        raise DataError(f"gemeinden_zensus2022.csv: Land {sorted(missing_states)[0]} "
                        "is not in states.csv")

    cat = cat.assign(executor=assign_executor(cat, p.municipal_share_typ23,
                                              p.municipal_share_typ45))

    # Länder in the world, in the official order of states.csv.
    keep = list(states["abbr"]) if p.states is None else [s for s in states["abbr"]
                                                         if s in set(p.states)]
    states = states[states["abbr"].isin(keep)].reset_index(drop=True)
    state_idx = {s: i for i, s in enumerate(states["abbr"])}
    admins = _world_admins(build_admins(munis, verb), state_idx, p.max_admins_per_state)
    states = _world_states(states, admins, p)
    services, topics = _world_services(cat, topics, states, state_idx, p)
    return World(name=p.name, states=states, topics=topics, services=services, admins=admins,
                 channels=_world_channels(channels, state_idx))


def _world_channels(channels: pd.DataFrame, state_idx: dict[str, int]) -> pd.DataFrame:
    """The roll-out channels of the Länder in the world, by Land and start, with the
    offsets of their bodies among the Land's bodies."""
    ch = channels[channels["state"].isin(state_idx)].copy()
    ch["state"] = ch["state"].map(state_idx).astype(np.int64)
    ch["from_month"] = [month_index(m, "operational_from") for m in ch["operational_from"]]
    ch = ch.sort_values(["state", "from_month"], kind="stable").reset_index(drop=True)
    ch["body_offset"] = (ch.groupby("state")["n_bodies"].cumsum() - ch["n_bodies"]).astype(
        np.int64)
    return ch[list(CHANNEL_COLUMNS)]


def _world_admins(admins: pd.DataFrame, state_idx: dict[str, int],
                  max_per_state: int | None) -> pd.DataFrame:
    """The administrations of the Länder in the world (at most ``max_per_state`` each,
    spread evenly over the population ranks), with their size class."""
    admins = admins[admins["state"].isin(state_idx)].copy()
    admins["state"] = admins["state"].map(state_idx).astype(np.int64)
    admins = admins.sort_values(["state", "admin_key"], kind="stable").reset_index(drop=True)
    if max_per_state is not None:
        parts = []
        for _, grp in admins.groupby("state", sort=True):
            if len(grp) > max_per_state:
                order = grp.sort_values("population", kind="stable")
                grp = order.iloc[_spread(len(order), max_per_state)]
                grp = grp.sort_values("admin_key", kind="stable")
            parts.append(grp)
        admins = pd.concat(parts).reset_index(drop=True)
    admins["size_class"] = size_class_of(admins["population"].to_numpy())
    for col, salt in (("rollout_u", "rollout:"), ("body_u", "body:")):
        u = np.zeros(len(admins))
        for _, idx in admins.groupby("state").indices.items():
            u[idx] = (stable_rank(admins["admin_key"].to_numpy()[idx], salt) + 0.5) / len(idx)
        admins[col] = u
    return admins[["admin_key", "name", "state", "kreis_ags", "population",
                   "n_municipalities", "size_class", "rollout_u", "body_u"]]


def _world_states(states: pd.DataFrame, admins: pd.DataFrame, p: WorldParams) -> pd.DataFrame:
    """The Länder table: population of their simulated administrations, Königstein share
    renormalised over the world, city states."""
    pop = admins.groupby("state")["population"].sum().reindex(range(len(states)), fill_value=0)
    out = pd.DataFrame({
        "state": states["abbr"], "name": states["name"],
        "population": pop.to_numpy().astype(np.int64),
        "koenigstein_share": states["koenigstein_share"] / states["koenigstein_share"].sum(),
        "is_city_state": states["abbr"].isin(["HH", "HB", "BE"]).to_numpy()})
    if (out["population"] <= 0).any():
        raise ConfigError(f"world.states={p.states!r} is not allowed: every Land needs "
                          "at least one municipal administration")
    return out


def _world_services(cat: pd.DataFrame, topics: pd.DataFrame, states: pd.DataFrame,
                    state_idx: dict[str, int], p: WorldParams
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The simulated catalogue (at most ``services_per_topic`` per topic field) with the
    EfA lead state of each non-federal service, and the topic fields with their leads."""
    if p.services_per_topic is not None:
        cat = cat.groupby("topic", sort=False, group_keys=False).head(p.services_per_topic)
    cat = cat.reset_index(drop=True)
    topics = topics[topics["topic"].isin(set(cat["topic"]))].reset_index(drop=True)
    topic_idx = {t: i for i, t in enumerate(topics["topic"])}

    fallback = state_idx.get(p.fallback_lead_state,
                             int(np.argmax(states["population"].to_numpy())))
    leads = []
    for t in topics["lead_states"]:
        inside = tuple(state_idx[s] for s in t if s in state_idx)
        leads.append(inside if inside else (fallback,))
    topics = pd.DataFrame({"topic": topics["topic"], "lead_states": leads,
                           "lead_confidence": topics["lead_confidence"]})

    services = pd.DataFrame({
        "ozg_id": cat["ozg_id"].to_numpy(), "name": cat["name"].to_numpy(),
        "topic": cat["topic"].map(topic_idx).to_numpy().astype(np.int64),
        "topic_name": cat["topic"].to_numpy(), "n_leika": cat["n_leika"].to_numpy(),
        "service_type": cat["service_type"].to_numpy(),
        "executor": cat["executor"].to_numpy()})
    # Topic fields with two lead states split their services alternately (catalogue order).
    lead = np.full(len(services), -1, dtype=np.int64)
    for t, grp in services.groupby("topic").groups.items():
        idx = np.asarray(grp)
        tl = leads[int(t)]
        lead[idx] = np.asarray(tl)[np.arange(len(idx)) % len(tl)]
    lead[services["executor"].to_numpy() == FEDERAL] = -1
    services["lead_state"] = lead
    return services, topics
