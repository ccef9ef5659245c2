"""Walking- and driving-time catchments: ``walk="10min"`` (at a walking speed), ``walk="800m"``
(network distance) or ``drive="10min"`` from a venue over an OSM street network.

The catchment's polygon is the reached streets (partly reached segments included) buffered by
:data:`BUFFER_M` on each side, with the holes they enclose filled; its people are counted from
the network costs of their points, not from the polygon (see :mod:`geotarget.estimate.travel`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from ..errors import CatchmentError, InputError
from ..projections import WGS84, transformer
from ..units import UNITS, format_distance, parse_distance
from ..venue import Venue
from .graph import Network, load_network
from .reach import Snap, clipped, crow_m, near_nodes, polygon, reached_lines, search, snap

#: the default walking speed, km/h (a common planning figure: 80 m a minute)
WALK_SPEED_KMH = 4.8
#: the reached streets are buffered by this many metres on each side to draw the polygon
BUFFER_M = 30.0
#: a venue farther than this from every street is refused (metres)
VENUE_MAX_OFFSET_M = 200.0
#: the longest walk or drive accepted, minutes
MAX_MINUTES = 120.0

_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(min|mins|minute|minutes|h|hr|hour|hours|s|sec)\s*$")
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$")


@dataclass(frozen=True)
class TravelLimit:
    """How far a catchment reaches over the network.

    Parameters
    ----------
    mode : str
        ``"walk"`` or ``"drive"``.
    text : str
        The limit as given (``"10min"``, ``"800m"``).
    minutes : float or None
        A time limit in minutes (``None`` for a distance).
    metres : float or None
        A walking distance limit (``None`` for a time).
    walk_speed_kmh : float
        The walking speed: of the walk, and for driving of the way from a door to its street.
    """

    mode: str
    text: str
    minutes: float | None
    metres: float | None
    walk_speed_kmh: float = WALK_SPEED_KMH

    @property
    def walk_mps(self) -> float:
        """The walking speed in metres per second."""
        return self.walk_speed_kmh / 3.6

    @property
    def budget(self) -> float:
        """The limit in the network's cost unit: metres walked, or seconds driven."""
        if self.mode == "walk":
            if self.metres is not None:
                return self.metres
            assert self.minutes is not None
            return self.minutes * 60.0 * self.walk_mps
        assert self.minutes is not None
        return self.minutes * 60.0

    @property
    def circle_m(self) -> float | None:
        """The radius of the circle of the same distance (walking only)."""
        return self.budget if self.mode == "walk" else None

    def off_street_cost(self, metres: NDArray[np.float64]) -> NDArray[np.float64]:
        """The cost of walking ``metres`` between a point and its street."""
        return metres if self.mode == "walk" else metres / self.walk_mps

    def describe(self) -> str:
        """The limit in words, with the walking speed: ``"10-minute walk (4.8 km/h)"``."""
        sp = f"{self.walk_speed_kmh:g} km/h"
        if self.mode == "walk" and self.minutes is not None:
            return f"{self.minutes:g}-minute walk ({sp}, {format_distance(self.budget)})"
        if self.mode == "walk":
            assert self.metres is not None
            return f"walk of {format_distance(self.metres)} at {sp}"
        return (
            f"{self.minutes:g}-minute drive (speed limits or assumed road-class speeds, no "
            f"traffic; on foot to the street at {sp})"
        )


def parse_speed(value: str | float | None) -> float:
    """A walking speed in km/h from ``4.8``, ``"4.8km/h"`` or ``"3mph"``.

    Parameters
    ----------
    value : str, float or None
        The speed; ``None`` for :data:`WALK_SPEED_KMH`.

    Returns
    -------
    float

    Raises
    ------
    InputError
        Not a speed between 0.5 and 20 km/h.
    """
    if value is None:
        return WALK_SPEED_KMH
    m = _SPEED.match(str(value).lower())
    if m is None:
        raise InputError(f"walking speed {value!r} is not a speed: write e.g. 4.8 or 3mph")
    v = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
    if not 0.5 <= v <= 20:
        raise InputError(f"walking speed {value!r} must be between 0.5 and 20 km/h")
    return v


def parse_limit(
    mode: str, value: str | float, walk_speed: str | float | None = None
) -> TravelLimit:
    """A walk (``"10min"``, ``"800m"``) or drive (``"10min"``) limit.

    Parameters
    ----------
    mode : str
        ``"walk"`` or ``"drive"``.
    value : str or float
        A time (``10min``, ``1h``, ``90s``) or, for a walk, a distance with its unit.
    walk_speed : str, float or None
        The walking speed (:func:`parse_speed`).

    Returns
    -------
    TravelLimit

    Raises
    ------
    CatchmentError
        Not a positive time (or distance), or beyond :data:`MAX_MINUTES`.
    """
    flag = f"--{mode}"
    text = str(value).strip()
    speed = parse_speed(walk_speed)
    m = _TIME.match(text.lower())
    if m is not None:
        n = float(m.group(1))
        unit = m.group(2)
        minutes = n * 60 if unit.startswith("h") else n / 60 if unit.startswith("s") else n
        if not 0 < minutes <= MAX_MINUTES:
            raise CatchmentError(
                f"{flag} {text!r}: give a time above 0 and at most {MAX_MINUTES:g} minutes"
            )
        return TravelLimit(mode, text, minutes, None, speed)
    if mode == "drive":
        raise CatchmentError(f"{flag} {text!r} is not a time: write e.g. 10min")
    unit_names = ", ".join(UNITS)
    try:
        metres = parse_distance(text, what="walk", max_m=MAX_MINUTES * 60 * speed / 3.6)
    except CatchmentError as e:
        raise CatchmentError(
            f"{flag} {text!r}: {e}; write a time (10min) or a distance ({unit_names})"
        ) from None
    return TravelLimit(mode, text, None, metres, speed)


@dataclass(eq=False)
class Travel:
    """One venue's search over the network: what a walk or drive catchment carries.

    Parameters
    ----------
    limit : TravelLimit
        How far it reaches.
    network : Network
        The streets searched.
    src : Snap
        The venue on the network.
    src_cost : float
        The cost of the venue's way to its street.
    dist : numpy.ndarray
        The cost from the venue to every node (``inf`` beyond the limit).
    clipped : bool
        Whether the search reached the edge of the network data (the catchment is a lower
        bound).
    buffer_m : float
        The polygon's buffer each side of the streets.
    xy : tuple of float
        The venue in ``network.crs``.
    """

    limit: TravelLimit
    network: Network
    src: Snap
    src_cost: float
    dist: NDArray[np.float64]
    clipped: bool
    buffer_m: float = BUFFER_M
    xy: tuple[float, float] = (0.0, 0.0)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def dist_upto(self, limit: float) -> NDArray[np.float64]:
        """The cost from the venue to every node, exact up to ``limit`` (searched again when
        ``limit`` is beyond the catchment's own).

        Parameters
        ----------
        limit : float
            The largest cost needed.

        Returns
        -------
        numpy.ndarray
        """
        if limit <= self.limit.budget:
            return self.dist
        if self._cache.get("upto", (0.0, None))[0] < limit:
            d = _search_near(self.network, self.xy, self.src, self.src_cost, self.limit, limit)
            self._cache["upto"] = (limit, d)
        out: NDArray[np.float64] = self._cache["upto"][1]
        return out

    @property
    def reached_nodes(self) -> int:
        """The number of network nodes within the limit."""
        return int((self.dist <= self.limit.budget).sum())

    def describe(self) -> str:
        """The catchment in words, with its clipping."""
        s = f"{self.limit.describe()} over the streets of {self.network.source}"
        return s + ("; clipped by the network data: a lower bound" if self.clipped else "")

    def to_dict(self) -> dict[str, Any]:
        """The search for the JSON result (``catchment.travel``)."""
        lim = self.limit
        return {
            "mode": lim.mode,
            "limit": lim.text,
            "minutes": lim.minutes,
            "network_distance_m": lim.metres
            if lim.mode == "walk" and lim.minutes is None
            else (round(lim.budget, 3) if lim.mode == "walk" else None),
            "walk_speed_kmh": lim.walk_speed_kmh,
            "network": self.network.source,
            "network_sha256": self.network.sha256,
            "network_data_area": self.network.area_source,
            "venue_to_street_m": round(float(self.src.offset_m[0]), 2),
            "reached_nodes": self.reached_nodes,
            "clipped": self.clipped,
            "clipped_note": (
                "clipped by the network data: the walk reaches the edge of the extract, so the "
                "catchment and its counts are a lower bound"
                if self.clipped
                else None
            ),
            "polygon_buffer_m": self.buffer_m,
            "polygon_note": (
                f"the reached streets buffered by {self.buffer_m:g} m each side, enclosed holes "
                "filled; point layers are counted by network time, not by the polygon"
            ),
        }


def _search_near(
    net: Network,
    xy: tuple[float, float],
    src: Snap,
    src_cost: float,
    lim: TravelLimit,
    budget: float,
) -> NDArray[np.float64]:
    """One venue's costs to every node up to ``budget``, searched among the nodes it can
    reach."""
    x, y = np.array([xy[0]]), np.array([xy[1]])
    nodes = near_nodes(net, x, y, src, crow_m(net, lim.mode, budget, lim.walk_mps))
    d = search(net, src, np.array([src_cost]), budget, nodes)
    full = np.full(net.n_nodes, np.inf)
    full[nodes] = d[0, : len(nodes)]
    return full


def travel_catchment(
    venue: Venue,
    network: str | Path | Network,
    *,
    walk: str | float | None = None,
    drive: str | float | None = None,
    walk_speed: str | float | None = None,
    buffer_m: float = BUFFER_M,
) -> Any:
    """A walk or drive catchment around ``venue``.

    Parameters
    ----------
    venue : Venue
        The start.
    network : str, pathlib.Path or Network
        An OSM PBF/XML file (read once, then cached) or a loaded network.
    walk, drive : str or float
        Exactly one: ``walk="10min"`` / ``"800m"``, or ``drive="10min"``.
    walk_speed : str, float or None
        The walking speed (default :data:`WALK_SPEED_KMH`).
    buffer_m : float
        The polygon's buffer each side of the reached streets.

    Returns
    -------
    Catchment
        Of kind ``"walk"`` or ``"drive"``, its ``travel`` the :class:`Travel`.

    Raises
    ------
    CatchmentError
        A bad limit, or the venue more than :data:`VENUE_MAX_OFFSET_M` from every street.
    """
    from ..catchment import Catchment

    if (walk is None) == (drive is None):
        raise InputError("give one of walk= and drive=")
    mode = "walk" if walk is not None else "drive"
    lim = parse_limit(mode, walk if walk is not None else drive, walk_speed)  # type: ignore[arg-type]
    net = network if isinstance(network, Network) else load_network(network, mode)
    if net.mode != mode:
        raise InputError(f"the network is for {net.mode}ing, not {mode}ing")
    x, y = transformer(WGS84, net.crs).transform(venue.lon, venue.lat)
    src = snap(net, np.array([x]), np.array([y]))
    off = float(src.offset_m[0])
    if src.seg[0] < 0 or off > VENUE_MAX_OFFSET_M:
        raise CatchmentError(
            f"the venue is {off:,.0f} m from the nearest {mode}able street of {net.source} "
            f"(at most {VENUE_MAX_OFFSET_M:g} m accepted): check the venue, or give a network "
            "extract that covers it"
        )
    src_cost = lim.off_street_cost(src.offset_m)
    dist = _search_near(net, (float(x), float(y)), src, float(src_cost[0]), lim, lim.budget)
    clip = bool(clipped(net, dist[None, :], src, lim.budget)[0])
    travel = Travel(lim, net, src, float(src_cost[0]), dist, clip, buffer_m, (float(x), float(y)))
    lines = reached_lines(net, dist, src, float(src_cost[0]), lim.budget)
    door = shapely.linestrings(
        [
            [x, y],
            shapely.get_coordinates(
                shapely.line_interpolate_point(net.lines[src.seg[0]], src.frac[0], normalized=True)
            )[0],
        ]
    )
    geom = polygon(np.append(lines, door), buffer_m)
    return Catchment(
        geom,
        net.crs,
        mode,
        radius_m=None,
        source=net.source,
        centre=(venue.lat, venue.lon),
        travel=travel,
    )
