"""Read the street network from an OpenStreetMap file (PBF or XML) with pyosmium.

Which ways are kept
-------------------
*Walking* follows OSMnx's ``network_type="walk"`` filter: every way with a ``highway`` tag except
``abandoned, bus_guideway, construction, cycleway, motorway(_link), no, planned, platform,
proposed, raceway, razed``; ways tagged ``area=yes``, ``foot=no``, ``access=private``
(unless ``foot`` allows it) or ``service=private`` are left out.  Footways, paths, steps,
pedestrian streets and crossings (``footway=crossing``) are all in; one-way streets are walked
both ways.

*Driving* keeps ``motorway, trunk, primary, secondary, tertiary`` (and their ``_link``s),
``unclassified, residential, living_street`` and ``road``, except ``access=no|private``,
``motor_vehicle=no`` or ``motorcar=no`` and ``area=yes``.  ``oneway=yes|true|1`` (and
motorways and roundabouts, OSM's implied one-ways) are driven forward only, ``oneway=-1``
backward only.  The speed is the way's ``maxspeed`` (km/h, ``mph``, the GB national limits),
else :data:`DRIVE_SPEEDS_KMH`: free-flow speeds we assumed per road class (no congestion and no
junction delays: a drive time here is a best case).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError

#: ``highway`` values never walked (OSMnx's walk filter)
WALK_EXCLUDED = frozenset(
    {
        "abandoned",
        "bus_guideway",
        "construction",
        "cycleway",
        "motorway",
        "motorway_link",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
    }
)

#: assumed free-flow driving speeds (km/h) per ``highway`` class, used where ``maxspeed`` is
#: missing or unreadable; chosen by us as typical urban speeds, not measured
DRIVE_SPEEDS_KMH = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 50.0,
    "primary_link": 40.0,
    "secondary": 45.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 35.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "road": 30.0,
}

#: GB's national speed limits as OSM tags them (km/h; 60 and 70 mph)
_NATIONAL_KMH = {
    "gb:nsl_single": 60 * 1.609344,
    "gb:nsl_dual": 70 * 1.609344,
    "gb:motorway": 70 * 1.609344,
    "uk:nsl_single": 60 * 1.609344,
    "uk:nsl_dual": 70 * 1.609344,
    "uk:motorway": 70 * 1.609344,
}
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def parse_maxspeed(text: str | None) -> float | None:
    """A ``maxspeed`` tag in km/h, or ``None`` when it says no number we can use.

    Parameters
    ----------
    text : str or None
        The tag's value: ``"30 mph"``, ``"50"`` (km/h), ``"20 km/h"``, ``"GB:nsl_single"``;
        the first of several (``"30;40"``).

    Returns
    -------
    float or None
        The speed in km/h.
    """
    if not text:
        return None
    first = text.split(";")[0].strip().lower()
    if first in _NATIONAL_KMH:
        return _NATIONAL_KMH[first]
    m = _SPEED.match(first)
    if m is None:
        return None
    v = float(m.group(1))
    if v <= 0:
        return None
    return v * 1.609344 if m.group(2) == "mph" else v


def walkable(tags: dict[str, str]) -> bool:
    """Whether a way is walked (see the module's notes).

    Parameters
    ----------
    tags : dict
        The way's tags.

    Returns
    -------
    bool
    """
    hw = tags.get("highway")
    if hw is None or hw in WALK_EXCLUDED or tags.get("area") == "yes":
        return False
    foot = tags.get("foot")
    if foot == "no" or tags.get("service") == "private":
        return False
    return not (tags.get("access") == "private" and foot not in ("yes", "designated", "permissive"))


def drivable(tags: dict[str, str]) -> bool:
    """Whether a way is driven (see the module's notes).

    Parameters
    ----------
    tags : dict
        The way's tags.

    Returns
    -------
    bool
    """
    if tags.get("highway") not in DRIVE_SPEEDS_KMH or tags.get("area") == "yes":
        return False
    if tags.get("access") in ("no", "private"):
        return False
    return "no" not in (tags.get("motor_vehicle"), tags.get("motorcar"))


def oneway(tags: dict[str, str]) -> int:
    """The way's driving direction: 0 both ways, 1 forward only, -1 backward only.

    Parameters
    ----------
    tags : dict
        The way's tags.

    Returns
    -------
    int
    """
    ow = tags.get("oneway", "")
    if ow in ("yes", "true", "1"):
        return 1
    if ow == "-1" or ow == "reverse":
        return -1
    if ow == "no":
        return 0
    if tags.get("highway") == "motorway" or tags.get("junction") in ("roundabout", "circular"):
        return 1
    return 0


def drive_speed(tags: dict[str, str]) -> float:
    """The way's driving speed in km/h: its ``maxspeed``, else the class's default.

    Parameters
    ----------
    tags : dict
        The way's tags (a drivable way).

    Returns
    -------
    float
    """
    v = parse_maxspeed(tags.get("maxspeed"))
    return v if v is not None else DRIVE_SPEEDS_KMH[tags["highway"]]


@dataclass
class RawWays:
    """The segments of the kept ways, as read: one row per pair of consecutive way nodes.

    Parameters
    ----------
    node_ids : numpy.ndarray
        The OSM ids of the nodes used, sorted.
    lon, lat : numpy.ndarray
        Their positions, WGS84 degrees.
    u, v : numpy.ndarray
        Each segment's nodes (indices into ``node_ids``), in the way's direction.
    direction : numpy.ndarray
        0 both ways, 1 forward only, -1 backward only (driving; 0 for walking).
    speed_kmh : numpy.ndarray
        The driving speed of each segment (NaN for walking).
    truncated : numpy.ndarray
        Indices of nodes beside a node the file does not hold (the way leaves the extract).
    bounds : tuple of float or None
        The file's declared bounds ``(minlon, minlat, maxlon, maxlat)``, if any.
    """

    node_ids: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    direction: NDArray[np.int8]
    speed_kmh: NDArray[np.float64]
    truncated: NDArray[np.int64]
    bounds: tuple[float, float, float, float] | None


def read_ways(path: str | Path, mode: str) -> RawWays:
    """The walkable (``mode="walk"``) or drivable (``"drive"``) segments of an OSM file.

    Parameters
    ----------
    path : str or pathlib.Path
        An OSM PBF or XML file (``.osm.pbf``, ``.osm``, ``.osm.bz2``...).
    mode : str
        ``"walk"`` or ``"drive"``.

    Returns
    -------
    RawWays

    Raises
    ------
    DataError
        The file cannot be read as OSM data, or holds no way of the kind wanted.
    """
    import osmium

    keep = walkable if mode == "walk" else drivable
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    seg_a: list[int] = []  # positions in refs
    dirs: list[int] = []
    speeds: list[float] = []
    cut: list[int] = []
    try:
        bounds = _bounds(path)
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for item in fp:
            obj: Any = item
            if not obj.is_way():
                continue
            tags = {t.k: t.v for t in obj.tags}
            if not keep(tags):
                continue
            d = oneway(tags) if mode == "drive" else 0
            sp = drive_speed(tags) if mode == "drive" else math.nan
            prev_ok = False
            for i, nd in enumerate(obj.nodes):
                ok = nd.location.valid()
                if ok:
                    refs.append(nd.ref)
                    lons.append(nd.location.lon)
                    lats.append(nd.location.lat)
                    if prev_ok:
                        seg_a.append(len(refs) - 2)
                        dirs.append(d)
                        speeds.append(sp)
                    elif i > 0:  # the node before it is missing from the file
                        cut.append(len(refs) - 1)
                elif prev_ok:  # this node is missing: the one before it is at the edge
                    cut.append(len(refs) - 1)
                prev_ok = ok
    except DataError:
        raise
    except Exception as e:  # osmium raises RuntimeError and its own errors
        raise DataError(
            f"cannot read OSM file {str(path)!r}: {' '.join(str(e).split())}; give an OSM PBF "
            "or XML extract"
        ) from e
    if not seg_a:
        what = "walkable" if mode == "walk" else "drivable"
        raise DataError(
            f"OSM file {str(path)!r} holds no {what} street: give an extract with highway ways"
        )
    r = np.asarray(refs, dtype=np.int64)
    node_ids, inv = np.unique(r, return_inverse=True)
    lon = np.zeros(len(node_ids))
    lat = np.zeros(len(node_ids))
    lon[inv] = lons
    lat[inv] = lats
    a = np.asarray(seg_a, dtype=np.int64)
    return RawWays(
        node_ids=node_ids,
        lon=lon,
        lat=lat,
        u=inv[a],
        v=inv[a + 1],
        direction=np.asarray(dirs, dtype=np.int8),
        speed_kmh=np.asarray(speeds, dtype=np.float64),
        truncated=np.unique(inv[np.asarray(cut, dtype=np.int64)]),
        bounds=bounds,
    )


def _bounds(path: str | Path) -> tuple[float, float, float, float] | None:
    """The bounding box the file's header declares, if it declares one."""
    import osmium

    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
