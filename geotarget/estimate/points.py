"""The ``points`` method: a point's count is in when the point lies inside the catchment; the
range from the points within ``edge_m`` of the catchment's edge."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from ..layers.base import CountSurface
from .circles import Circles
from .counts import Counts, Pairs, _interval, _sum


def _count_points(
    surface: CountSurface, catchments: NDArray[np.object_], pairs: Pairs, circles: Circles | None
) -> Counts:
    """Count a plain point surface inside ``catchments``, given the (catchment, point) pairs
    with the point inside; the range from the points within ``edge_m`` of each edge."""
    n = len(catchments)
    ci, pi = pairs
    vals = surface.values[pi]
    est = _sum(ci, vals, n)
    zones = _sum(ci, (vals > 0).astype(float), n).astype(int)
    extra = {k: _sum(ci, v[pi], n) for k, v in surface.extra.items()}
    if surface.edge_m is None:
        return Counts(est, est.copy(), est.copy(), zones, extra, surface.method)
    # points near the edge, inside or outside, could belong on either side
    reach = float(surface.edge_m.max()) if len(surface.edge_m) else 0.0
    if circles is not None:
        bi, bj = circles.pairs(surface, extra=reach)
        d = np.abs(circles.distances(surface, bi, bj) - circles.radius[bi])
        near = d <= surface.edge_m[bj]
        bi, bj = bi[near], bj[near]
        is_in = circles.distances(surface, bi, bj) <= circles.radius[bi]
    else:
        bi, bj = surface.tree.query(
            shapely.boundary(catchments), predicate="dwithin", distance=reach
        )
        d = shapely.distance(shapely.boundary(catchments)[bi], surface.geoms[bj])
        near = d <= surface.edge_m[bj]
        bi, bj = bi[near], bj[near]
        is_in = shapely.intersects(catchments[bi], surface.geoms[bj])
    v = surface.values[bj]
    var = _sum(bi, (v / 2.0) ** 2, n)
    floor = est - _sum(bi, np.where(is_in, v, 0.0), n)
    ceiling = est + _sum(bi, np.where(is_in, 0.0, v), n)
    low, high = _interval(est, np.sqrt(var), floor, ceiling)
    return Counts(est, low, high, zones, extra, surface.method)
