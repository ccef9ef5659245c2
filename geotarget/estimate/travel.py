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

from ..layers.base import CountSurface
from ..network.reach import Snap, point_costs, snap
from ..network.travel import VENUE_MAX_OFFSET_M, Travel
from ..projections import transformer
from .counts import Counts, _interval, _sum
from .dasymetric import _count_grouped

#: a point farther than this from every street is not reached (metres); the same as the venue's
MAX_SNAP_M = VENUE_MAX_OFFSET_M

_SNAPS: WeakKeyDictionary[CountSurface, dict[str, Snap]] = WeakKeyDictionary()


def surface_snap(surface: CountSurface, crs: str, travel: Travel) -> Snap:
    """The surface's points on the travel's network, snapped once per surface and network.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The surface's (its layer's) CRS.
    travel : Travel
        The search (its network is used).

    Returns
    -------
    Snap
        One row per point of the surface (``seg = -1``: not near the network).
    """
    net = travel.network
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


def costs(surface: CountSurface, crs: str, travel: Travel) -> np.ndarray:
    """The cost from the venue to every point of the surface (``inf``: not reached).

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        Its CRS.
    travel : Travel
        The search.

    Returns
    -------
    numpy.ndarray
        Metres walked, or seconds driven, per point.
    """
    pts = surface_snap(surface, crs, travel)
    lim = travel.limit
    c = point_costs(
        travel.network,
        travel.dist[None, :],
        travel.src,
        np.array([travel.src_cost]),
        pts,
        lim.off_street_cost(pts.offset_m),
    )
    out: np.ndarray = c[0]
    return out


def count_travel(surface: CountSurface, crs: str, travel: Travel, polygon: Any) -> Counts:
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

    Returns
    -------
    Counts
    """
    cost = costs(surface, crs, travel)
    budget = travel.limit.budget
    inside = np.flatnonzero(cost <= budget)
    ci = np.zeros(len(inside), dtype=np.int64)
    if surface.group is not None:
        return _count_grouped(surface, np.array([polygon], dtype=object), (ci, inside))
    vals = surface.values[inside]
    est = _sum(ci, vals, 1)
    zones = _sum(ci, (vals > 0).astype(float), 1).astype(int)
    extra = {k: _sum(ci, v[inside], 1) for k, v in surface.extra.items()}
    if surface.edge_m is None:
        return Counts(est, est.copy(), est.copy(), zones, extra, surface.method)
    # points whose cost is within their spread of the limit could belong on either side
    spread = travel.limit.off_street_cost(surface.edge_m)
    near = np.flatnonzero(np.abs(cost - budget) <= spread)
    bi = np.zeros(len(near), dtype=np.int64)
    v = surface.values[near]
    is_in = cost[near] <= budget
    var = _sum(bi, (v / 2.0) ** 2, 1)
    floor = est - _sum(bi, np.where(is_in, v, 0.0), 1)
    ceiling = est + _sum(bi, np.where(is_in, 0.0, v), 1)
    low, high = _interval(est, np.sqrt(var), floor, ceiling)
    return Counts(est, low, high, zones, extra, surface.method)
