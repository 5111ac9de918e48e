"""Boundaries of the 16 Länder and 400 Kreise, and a plain-matplotlib choropleth.

The geometry is BKG VG5000 (Stand 01.01.2021) in longitude/latitude, embedded as GeoJSON
in :data:`sim.data_io.DATA_DIR` (``sim/data/SOURCES.md``). It is read with :mod:`json`
only, so maps need neither geopandas nor shapely.

Region keys
-----------
- ``level="land"``: the state abbreviation used in every table (``"SH"`` ... ``"TH"``).
- ``level="kreis"``: the 5-digit Kreis key (``ARS``), the ``kreis_ags`` column of the
  tables, e.g. ``"01001"`` (Flensburg).

Projection
----------
Longitude is multiplied by cos(51°) (the latitude of central Germany), so that a degree
east and a degree north cover about the same distance. Over Germany (47°-55° N) this
plate carrée with a standard parallel distorts areas by at most about 10 %: enough for a
choropleth, without a projection library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.path import Path as MplPath

from sim.data_io import DATA_DIR

#: Region level of a map: the 16 Länder or the 400 Kreise.
RegionLevel = Literal["land", "kreis"]
#: One polygon: its outer ring first (counter-clockwise), then its holes (clockwise);
#: each ring an ``(n, 2)`` array of (x, y) in projected degrees, closed (first = last).
Polygon = tuple[np.ndarray, ...]

GEOJSON_FILES: dict[str, str] = {"land": "de_laender_vg5000.geojson",
                                 "kreis": "de_kreise_vg5000.geojson"}
#: Standard parallel of the projection (degrees north).
STANDARD_PARALLEL_DEG = 51.0
X_SCALE = math.cos(math.radians(STANDARD_PARALLEL_DEG))
REGION_LEVELS: tuple[str, ...] = ("land", "kreis")


def _check_region_level(level: str) -> None:
    if level not in GEOJSON_FILES:
        raise ValueError(f"level(={level!r}) must be one of {sorted(GEOJSON_FILES)}")


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _ring(coords: list[list[float]], outer: bool) -> np.ndarray:
    """Projected, closed, read-only ring; outer rings counter-clockwise, holes clockwise.

    The orientation matters: matplotlib fills with the non-zero winding rule, so a hole is
    left empty only if it runs against its outer ring.
    """
    r = np.asarray(coords, dtype=float)[:, :2].copy()
    if len(r) < 3:
        raise ValueError(f"ring with {len(r)} points: a ring needs at least 3")
    if not np.array_equal(r[0], r[-1]):
        r = np.vstack([r, r[:1]])
    r[:, 0] *= X_SCALE
    if (_signed_area(r) > 0) != outer:
        r = r[::-1].copy()
    r.flags.writeable = False
    return r


def _polygons(geometry: dict) -> tuple[Polygon, ...]:
    kind = geometry["type"]
    if kind == "Polygon":
        parts = [geometry["coordinates"]]
    elif kind == "MultiPolygon":
        parts = geometry["coordinates"]
    else:
        raise ValueError(f"geometry type {kind!r} is not supported: Polygon or MultiPolygon")
    return tuple(tuple(_ring(ring, outer=i == 0) for i, ring in enumerate(rings))
                 for rings in parts)


@lru_cache(maxsize=4)
def _features(level: str) -> tuple[tuple[str, str, str, tuple[Polygon, ...]], ...]:
    """(key, name, state_abbr, polygons) per feature, in file order."""
    _check_region_level(level)
    with open(DATA_DIR / GEOJSON_FILES[level], encoding="utf-8") as fh:
        doc = json.load(fh)
    out = []
    for feat in doc["features"]:
        props = feat["properties"]
        key = props["state_abbr"] if level == "land" else props["ARS"]
        out.append((str(key), str(props["GEN"]), str(props["state_abbr"]),
                    _polygons(feat["geometry"])))
    return tuple(out)


def region_polygons(level: RegionLevel = "land") -> dict[str, tuple[Polygon, ...]]:
    """Polygons per region key (state abbreviation or 5-digit Kreis key).

    Returns
    -------
    dict
        ``key -> (polygon, ...)``; a polygon is a tuple of rings, the outer ring first and
        its holes after it, each ring a read-only ``(n, 2)`` array in projected
        coordinates (x = longitude · cos 51°, y = latitude, degrees). The arrays are shared
        by a cache: copy before changing them.
    """
    return {key: polys for key, _, _, polys in _features(level)}


def region_names(level: RegionLevel = "land") -> dict[str, str]:
    """Official name (``GEN``) per region key, e.g. ``{"SH": "Schleswig-Holstein", ...}``."""
    return {key: name for key, name, _, _ in _features(level)}


def region_states(level: RegionLevel = "kreis") -> dict[str, str]:
    """State abbreviation per region key (identity for ``level="land"``)."""
    return {key: state for key, _, state, _ in _features(level)}


def region_keys(level: RegionLevel = "land") -> list[str]:
    """Region keys in the order of the official key (ARS): SH, HH, NI, ... TH."""
    return [key for key, _, _, _ in _features(level)]


def check_keys(keys: Iterable[str], level: RegionLevel = "land") -> None:
    """Raise ``ValueError`` naming the first key that is no region of ``level``."""
    known = set(region_keys(level))
    for key in keys:
        if key not in known:
            example = ", ".join(sorted(known)[:3])
            raise ValueError(f"region key {key!r} is not a {level} key: expected one of "
                             f"{len(known)} keys such as {example}")


def bounds(level: RegionLevel = "land") -> tuple[float, float, float, float]:
    """``(xmin, xmax, ymin, ymax)`` of all regions in projected coordinates."""
    return _bounds(level)


@lru_cache(maxsize=4)
def _bounds(level: str) -> tuple[float, float, float, float]:
    rings = [poly[0] for _, _, _, polys in _features(level) for poly in polys]
    xy = np.vstack(rings)
    return (float(xy[:, 0].min()), float(xy[:, 0].max()),
            float(xy[:, 1].min()), float(xy[:, 1].max()))


def _compound(polys: tuple[Polygon, ...]) -> tuple[np.ndarray, np.ndarray]:
    """All rings of a region as one path (vertices, codes), so that holes stay empty."""
    verts, codes = [], []
    for poly in polys:
        for ring in poly:
            c = np.full(len(ring), MplPath.LINETO, dtype=MplPath.code_type)
            c[0] = MplPath.MOVETO
            c[-1] = MplPath.CLOSEPOLY
            verts.append(ring)
            codes.append(c)
    return np.vstack(verts), np.concatenate(codes)


def _collection(regions: Iterable[tuple[Polygon, ...]], **kwargs: Any) -> PolyCollection:
    """One PolyCollection entry per region, holes included (one colour per region)."""
    paths = [_compound(p) for p in regions]
    coll = PolyCollection([], **kwargs)
    codes: list = [c for _, c in paths]  # one code array per region (the stub says int)
    coll.set_verts_and_codes([v for v, _ in paths], codes)
    return coll


def draw_regions(ax: Axes, key_to_value: Mapping[str, float], level: RegionLevel = "land",
                 cmap: str | mcolors.Colormap = "viridis",
                 norm: mcolors.Normalize | None = None, edgecolor: str = "white",
                 linewidth: float = 0.3, missing_color: str = "0.85",
                 state_borders: bool | None = None) -> Axes:
    """Fill each region with the colour of its value (a choropleth).

    Parameters
    ----------
    ax
        Axes to draw into; its frame is switched off and its aspect set to equal.
    key_to_value
        Value per region key (see the module docstring). Regions without a value, or with
        NaN, are drawn in ``missing_color``.
    level
        ``"land"`` (16 Länder) or ``"kreis"`` (400 Kreise).
    cmap, norm
        Colour map and normalisation (default: the range of the values).
    edgecolor, linewidth
        Region borders (linewidth in points).
    missing_color
        Colour of regions without a value.
    state_borders
        Draw the Land borders on top in dark grey; default: only for Kreis maps.

    Raises
    ------
    ValueError
        If a key is no region of ``level`` (the message names the key).
    """
    _check_region_level(level)
    check_keys(key_to_value.keys(), level)
    polys = region_polygons(level)
    values = np.array([float(key_to_value.get(k, np.nan)) for k in polys], dtype=float)
    if norm is None:
        finite = values[np.isfinite(values)]
        norm = mcolors.Normalize(float(finite.min()) if len(finite) else 0.0,
                                 float(finite.max()) if len(finite) else 1.0)
    colormap = cmap if isinstance(cmap, mcolors.Colormap) else matplotlib.colormaps[cmap]
    faces = [colormap(norm(v)) if np.isfinite(v) else mcolors.to_rgba(missing_color)
             for v in values]
    ax.add_collection(_collection(polys.values(), facecolors=faces, edgecolors=edgecolor,
                                  linewidths=linewidth))
    if state_borders if state_borders is not None else level == "kreis":
        ax.add_collection(_collection(region_polygons("land").values(), facecolors="none",
                                      edgecolors="0.15", linewidths=max(linewidth * 2.5, 0.5)))
    xmin, xmax, ymin, ymax = bounds(level)
    pad = 0.02 * (ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


__all__ = ["GEOJSON_FILES", "REGION_LEVELS", "STANDARD_PARALLEL_DEG", "X_SCALE", "Polygon",
           "RegionLevel", "bounds", "check_keys", "draw_regions", "region_keys",
           "region_names", "region_polygons", "region_states"]
