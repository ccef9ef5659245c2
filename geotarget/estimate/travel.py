"""Counting a point surface in a walk or drive catchment by network cost, not by its polygon.

Each point of the surface (a residential postcode, a Workplace Zone centroid, an Output Area
point, a census block) is snapped once per surface and network to its nearest street (points
farther than :data:`MAX_SNAP_M` from every street are never reached); it is in when its cost from
the venue -- along the streets, plus the walk between each end and its street -- is within the
limit.  Dasymetric points then give their zone ranges as for any catchment; plain points' range
comes from the points whose cost is within half their neighbour spacing of the limit.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

from ..errors import CatchmentError
from ..layers.base import CountSurface
from ..network.graph import Network
from ..network.reach import (
    Snap,
    clipped,
    crow_m,
    points_by_segment,
    search,
    snap,
    sub_map,
    within,
)
from ..network.travel import VENUE_MAX_OFFSET_M, Travel, TravelLimit
from ..projections import WGS84, transformer
from .counts import Counts, _interval, _sum
from .dasymetric import _count_grouped

#: a point farther than this from every street is not reached (metres); the same as the venue's
MAX_SNAP_M = VENUE_MAX_OFFSET_M

_SNAPS: WeakKeyDictionary[CountSurface, dict[str, Snap]] = WeakKeyDictionary()
_BY_SEGMENT: WeakKeyDictionary[CountSurface, dict[str, Any]] = WeakKeyDictionary()


def surface_snap(surface: CountSurface, crs: str, travel: Travel | Network) -> Snap:
    """The surface's points on the travel's network, snapped once per surface and network.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The surface's (its layer's) CRS.
    travel : Travel or Network
        The search (its network is used), or the network.

    Returns
    -------
    Snap
        One row per point of the surface (``seg = -1``: not near the network).
    """
    net = travel if isinstance(travel, Network) else travel.network
    per = _SNAPS.setdefault(surface, {})
    if net.key not in per:
        xy = surface.xy
        x, y = transformer(crs, net.crs).transform(xy[:, 0], xy[:, 1])
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        lo, hi = net.xy.min(axis=0) - MAX_SNAP_M, net.xy.max(axis=0) + MAX_SNAP_M
        near = np.flatnonzero((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]))
        out = Snap(np.full(len(x), -1, dtype=np.int64), np.zeros(len(x)), np.full(len(x), np.inf))
        got = snap(net, x[near], y[near], MAX_SNAP_M)
        out.seg[near], out.frac[near], out.offset_m[near] = got.seg, got.frac, got.offset_m
        per[net.key] = out
    return per[net.key]


def _by_segment(surface: CountSurface, crs: str, net: Network) -> Any:
    """The surface's points per segment of ``net`` (once per surface and network)."""
    per = _BY_SEGMENT.setdefault(surface, {})
    if net.key not in per:
        per[net.key] = points_by_segment(net, surface_snap(surface, crs, net))
    return per[net.key]


def costs(surface: CountSurface, crs: str, travel: Travel, upto: float | None = None) -> np.ndarray:
    """The cost from the venue to every point of the surface (``inf``: beyond ``upto``).

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        Its CRS.
    travel : Travel
        The search.
    upto : float or None
        The largest cost wanted (default: the catchment's limit).

    Returns
    -------
    numpy.ndarray
        Metres walked, or seconds driven, per point.
    """
    net, lim = travel.network, travel.limit
    budget = lim.budget if upto is None else upto
    pts = surface_snap(surface, crs, net)
    dist = travel.dist_upto(budget)
    _, pi, cc = within(
        net,
        dist[None, :],
        travel.src,
        np.array([travel.src_cost]),
        pts,
        lim.off_street_cost(pts.offset_m),
        budget,
        _by_segment(surface, crs, net),
    )
    out = np.full(len(pts.seg), np.inf)
    out[pi] = cc
    return out


def count_travel(
    surface: CountSurface, crs: str, travel: Travel, polygon: Any, groups: bool = False
) -> Counts:
    """Count a point surface (plain or dasymetric) in a walk or drive catchment.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        Its CRS.
    travel : Travel
        The search.
    polygon : shapely.Geometry
        The catchment polygon in ``crs`` (only the dasymetric code's bookkeeping uses it).
    groups : bool
        Keep the people of each census group inside (``Counts.groups``).

    Returns
    -------
    Counts
    """
    budget = travel.limit.budget
    spread = None if surface.edge_m is None else travel.limit.off_street_cost(surface.edge_m)
    top = float(spread.max()) if spread is not None and len(spread) else 0.0
    cost = costs(surface, crs, travel, budget + top)
    inside = np.flatnonzero(cost <= budget)
    ci = np.zeros(len(inside), dtype=np.int64)
    if surface.group is not None:
        return _count_grouped(surface, np.array([polygon], dtype=object), (ci, inside), groups)
    vals = surface.values[inside]
    est = _sum(ci, vals, 1)
    zones = _sum(ci, (vals > 0).astype(float), 1).astype(int)
    extra = {k: _sum(ci, v[inside], 1) for k, v in surface.extra.items()}
    if surface.edge_m is None:
        return Counts(est, est.copy(), est.copy(), zones, extra, surface.method)
    # points whose cost is within their spread of the limit could belong on either side
    assert spread is not None
    near = np.flatnonzero(np.abs(cost - budget) <= spread)
    bi = np.zeros(len(near), dtype=np.int64)
    v = surface.values[near]
    is_in = cost[near] <= budget
    var = _sum(bi, (v / 2.0) ** 2, 1)
    floor = est - _sum(bi, np.where(is_in, v, 0.0), 1)
    ceiling = est + _sum(bi, np.where(is_in, 0.0, v), 1)
    low, high = _interval(est, np.sqrt(var), floor, ceiling)
    return Counts(est, low, high, zones, extra, surface.method)


#: venues searched per call of the shortest-path search in :func:`reached` (each holds a row
#: of the network's size in memory)
SEARCH_CHUNK = 64


def reached(
    surface: CountSurface,
    crs: str,
    net: Network,
    lat: np.ndarray,
    lon: np.ndarray,
    limit: TravelLimit,
    reach: float | None = None,
    *,
    chunk: int = SEARCH_CHUNK,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The points of a surface many venues' walks or drives reach, with no polygon built.

    The venues are searched ``chunk`` at a time (one Dijkstra call with a limit each), and only
    the points on the streets each search reaches are looked at.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        Its CRS.
    net : Network
        The streets.
    lat, lon : numpy.ndarray
        The venues, WGS84.
    limit : TravelLimit
        The walk or drive.
    reach : float or None
        The largest cost wanted (default: the limit's).
    chunk : int
        Venues per search call.

    Returns
    -------
    venue, point, cost : numpy.ndarray
        The (venue, point) pairs with the point's cost from the venue within ``reach``, grouped
        by venue.
    clipped : numpy.ndarray of bool
        Whether each venue's search reached the edge of the network data (at the limit).

    Raises
    ------
    CatchmentError
        A venue is more than the accepted distance from every street (its row and distance
        named).
    """
    reach = limit.budget if reach is None else reach
    x, y = transformer(WGS84, net.crs).transform(np.asarray(lon), np.asarray(lat))
    src = snap(net, np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    bad = np.flatnonzero((src.seg < 0) | (src.offset_m > VENUE_MAX_OFFSET_M))
    if len(bad):
        i = int(bad[0])
        raise CatchmentError(
            f"venue {i} is {src.offset_m[i]:,.0f} m from the nearest street of {net.source} (at "
            f"most {VENUE_MAX_OFFSET_M:g} m accepted): check it, or give a network that covers it"
        )
    src_cost = limit.off_street_cost(src.offset_m)
    pts = surface_snap(surface, crs, net)
    pt_cost = limit.off_street_cost(pts.offset_m)
    by_seg = _by_segment(surface, crs, net)
    cis, pis, ccs = [], [], []
    n = len(src.seg)
    clip = np.zeros(n, dtype=bool)
    # venues near each other searched together, each search among the nodes it can reach
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    crow = crow_m(net, limit.mode, reach, limit.walk_mps)
    cell = max(crow, 1.0)
    order = np.lexsort((np.floor(ys / cell), np.floor(xs / cell)))
    nxy = net.xy
    for s in range(0, n, chunk):
        idx = order[s : s + chunk]
        part = src.take(idx)
        lo = np.array([xs[idx].min(), ys[idx].min()]) - crow
        hi = np.array([xs[idx].max(), ys[idx].max()]) + crow
        inbox = (nxy[:, 0] >= lo[0]) & (nxy[:, 0] <= hi[0]) & (nxy[:, 1] >= lo[1])
        inbox &= nxy[:, 1] <= hi[1]
        inbox[net.u[part.seg]] = True
        inbox[net.v[part.seg]] = True
        nodes = np.flatnonzero(inbox)
        dist = search(net, part, src_cost[idx], reach, nodes)
        ci, pi, cc = within(net, dist, part, src_cost[idx], pts, pt_cost, reach, by_seg, nodes)
        cis.append(idx[ci])
        pis.append(pi)
        ccs.append(cc)
        clip[idx] = clipped(net, dist, part, limit.budget, sub_map(net, nodes))
    ci, pi, cc = np.concatenate(cis), np.concatenate(pis), np.concatenate(ccs)
    order = np.argsort(ci, kind="stable")  # grouped by venue, as the counting expects
    return ci[order], pi[order], cc[order], clip


def count_many(
    surface: CountSurface,
    crs: str,
    net: Network,
    lat: np.ndarray,
    lon: np.ndarray,
    limit: TravelLimit,
    *,
    chunk: int = SEARCH_CHUNK,
) -> tuple[Counts, np.ndarray]:
    """Count a point surface in many venues' walks or drives, with no polygon built.

    The venues are searched ``chunk`` at a time (one Dijkstra call with a limit each), and only
    the points on the streets each search reaches are looked at.

    Parameters
    ----------
    surface : CountSurface
        A point surface (plain or dasymetric).
    crs : str
        Its CRS.
    net : Network
        The streets.
    lat, lon : numpy.ndarray
        The venues, WGS84.
    limit : TravelLimit
        The walk or drive.
    chunk : int
        Venues per search call.

    Returns
    -------
    counts : Counts
        One entry per venue.
    clipped : numpy.ndarray of bool
        Whether each venue's search reached the edge of the network data.

    Raises
    ------
    CatchmentError
        A venue is more than the accepted distance from every street (its row and distance
        named).
    """
    budget = limit.budget
    spread = None if surface.edge_m is None else limit.off_street_cost(surface.edge_m)
    reach = budget + (float(spread.max()) if spread is not None and len(spread) else 0.0)
    ci, pi, cc, clip = reached(surface, crs, net, lat, lon, limit, reach, chunk=chunk)
    n = len(clip)
    inside = cc <= budget
    if surface.group is not None:
        out = _count_grouped(surface, np.empty(n, dtype=object), (ci[inside], pi[inside]))
        return out, clip
    vals = surface.values[pi[inside]]
    est = _sum(ci[inside], vals, n)
    zones = _sum(ci[inside], (vals > 0).astype(float), n).astype(int)
    extra = {k: _sum(ci[inside], v[pi[inside]], n) for k, v in surface.extra.items()}
    if spread is None:
        return Counts(est, est.copy(), est.copy(), zones, extra, surface.method), clip
    near = np.abs(cc - budget) <= spread[pi]
    v = surface.values[pi[near]]
    is_in = inside[near]
    var = _sum(ci[near], (v / 2.0) ** 2, n)
    floor = est - _sum(ci[near], np.where(is_in, v, 0.0), n)
    ceiling = est + _sum(ci[near], np.where(is_in, 0.0, v), n)
    low, high = _interval(est, np.sqrt(var), floor, ceiling)
    return Counts(est, low, high, zones, extra, surface.method), clip
