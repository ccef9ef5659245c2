"""Count people inside catchments: vectorised over many catchments at once.

Methods
-------
``areal`` (zones and grid cells)
    Exact areal weighting: a zone contributes ``count * area(zone ∩ catchment) / area(zone)``,
    areas measured in the layer's equal-area CRS.  For a grid this is the covered fraction of
    each cell.
``dasymetric`` (points that share a zone's count)
    Each census zone's count is spread over points where its people live (residential postcodes,
    workplace-zone centroids); a point's share is in when the point lies inside the catchment.
``points``
    Containment: a point's count is in when the point lies inside the catchment (on the edge
    counts as inside).

The range (a 90% interval)
--------------------------
*Zones and dasymetric groups.*  Zones (or groups) wholly inside or outside the catchment are
exact; the uncertainty is in those the edge cuts, whose people may sit anywhere in them.  We
model a cut zone's ``N`` people as ``k`` equal clusters placed independently over it: with a share
``f`` of the zone inside (by area, or by the zone's points), the count inside has standard
deviation ``N * sqrt(f (1 - f) / k)``.  ``k`` is ``CountSurface.clusters_per_zone`` for zones and
``group_k`` per group for dasymetric points, each calibrated against a finer reference (README).
*Plain points.*  A point within ``edge_m`` of the catchment edge (half the distance to its nearest
neighbour: how far its people may spread) may belong on either side: it adds ``(v/2)^2`` to the
variance.  In both cases the range is the estimate ± 1.645 standard deviations, clipped to the
hard bounds (never below what is surely inside, never above everything touched).
"""

from __future__ import annotations

import numpy as np
import shapely

from ..layers.base import CountSurface
from .areal import _count_areal, overlap_fractions
from .circles import Circles, point_index, surface_ecef
from .counts import Z90, Counts, _concat
from .dasymetric import _count_grouped
from .points import _count_points

__all__ = [
    "METHODS",
    "Circles",
    "Counts",
    "count",
    "overlap_fractions",
    "point_index",
    "surface_ecef",
    "Z90",
]

METHODS = ("areal", "dasymetric", "points")


def count(
    surface: CountSurface, catchments: np.ndarray, *, circles: Circles | None = None
) -> Counts:
    """Count ``surface`` inside each catchment polygon (same CRS as the surface), by the
    surface's own method (``surface.method``; pick the surface with ``layer.surface(pop, m)``).

    For point surfaces and circular catchments, pass ``circles`` (centres and radii): a point is
    then inside when its distance from the centre is at most the radius (straight-line distance
    between the two positions on the WGS84 ellipsoid, which differs from the geodesic distance by
    under a millimetre at these scales) -- exact, and fast for many catchments.
    """
    catchments = np.asarray(catchments, dtype=object)
    if surface.kind != "points":
        return _count_areal(surface, catchments)
    if circles is not None and len(circles.radius) > 1:
        # wide circles over many points: in groups of about MAX_PAIRS candidates, so that the
        # pairs fit in memory (each circle's answer is the same whatever its group)
        per = circles.candidate_counts(surface)
        if per.sum() > MAX_PAIRS:
            group = np.floor(np.cumsum(per) / MAX_PAIRS).astype(np.int64)
            cuts = np.flatnonzero(np.diff(group)) + 1
            parts = [
                _count_at_points(surface, catchments[g], circles.take(g))
                for g in np.split(np.arange(len(per)), cuts)
            ]
            return _concat(parts)
    return _count_at_points(surface, catchments, circles)


def _count_at_points(surface: CountSurface, catchments: np.ndarray, circles) -> Counts:
    if circles is not None:
        pairs = circles.pairs(surface)
    else:
        shapely.prepare(catchments)
        pairs = surface.tree.query(catchments, predicate="intersects")
    if surface.group is not None:
        return _count_grouped(surface, catchments, pairs)
    return _count_points(surface, catchments, pairs, circles)


MAX_PAIRS = 8_000_000
