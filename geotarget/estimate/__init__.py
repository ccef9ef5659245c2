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

from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from ..catchment import WIDE_M
from ..layers.base import CountSurface
from .aggregate import count_circles
from .area_sums import area_groups
from .areal import _count_areal, overlap_fractions
from .circles import Circles, point_index, surface_ecef
from .counts import Z90, Counts, Pairs, _concat
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

#: the estimation methods, as ``CountSurface.method`` names them
METHODS = ("areal", "dasymetric", "points")

#: (circle, point) candidate pairs tested at once: more circles are counted in groups
MAX_PAIRS = 8_000_000
#: a circle whose point test would test more (circle, point) candidates than this is counted
#: with the aggregate index (:mod:`geotarget.estimate.aggregate`), built or loaded for it if need
#: be; others point by point.  Decided circle by circle, from the circle, the surface and whether
#: per-group detail is asked (never from what else is asked at once or what happens to be in
#: memory), so that a circle gets the same bits in a batch, alone, or on a Dask worker.  Chosen by
#: measurement (``benchmarks/tree_threshold.py``): on the London and England & Wales point
#: surfaces the index is as fast as the point test at about 300-500 candidates, two to three
#: times faster at 1,400 and twenty times at 8,000; but a process's first use of the index loads
#: it (0.1-0.3 s for England & Wales' 1.5 million postcodes), which a single half-mile venue in
#: central London (about 1,250 candidates) would pay for 30 microseconds of point test
TREE_AT = 2_000
#: the same with per-group detail (``groups=True``): the area / group / point hierarchy
#: (:mod:`geotarget.estimate.area_sums`) costs about 0.15-0.2 ms a circle more, which the point
#: test matches at 1,400-8,000 candidates; and a process's first such circle builds the hierarchy
#: (0.7 s for England & Wales), which one venue's platform table (a 1-mile circle in central
#: London: 3,000-10,000 candidates) would pay for a few milliseconds of point test
TREE_AT_GROUPS = 10_000


def count(
    surface: CountSurface,
    catchments: ArrayLike,
    *,
    circles: Circles | None = None,
    groups: bool = False,
) -> Counts:
    """Count ``surface`` inside each catchment polygon, by the surface's own method.

    The method is ``surface.method`` (pick the surface with ``layer.surface(pop, m)``).  For
    point surfaces and circular catchments, pass ``circles`` (centres and radii): a point is
    then inside when its distance from the centre is at most the radius (straight-line distance
    between the two positions on the WGS84 ellipsoid, which differs from the geodesic distance by
    under a millimetre at these scales) -- exact, and fast for many catchments.  Large circles
    are counted with an aggregate index (:mod:`geotarget.estimate.aggregate`): its nodes wholly
    inside add their sums, and only the points near the edge are tested, with the same answers
    as testing every point (to float rounding), in time that grows with the circle's edge, not
    its area.

    Parameters
    ----------
    surface : CountSurface
        What to count.
    catchments : array_like of shapely geometries
        The catchment polygons, in the surface's CRS.
    circles : Circles or None
        The same catchments as circles (one per polygon, in order), for point surfaces.
    groups : bool
        Keep, for dasymetric surfaces, the people of each census group inside each catchment
        (``Counts.groups``: what counting people once needs).

    Returns
    -------
    Counts
        The estimate, its 90% range and the contributing zones, per catchment.
    """
    polys: NDArray[np.object_] = np.asarray(catchments, dtype=object)
    if surface.kind != "points":
        return _count_areal(surface, polys)
    if circles is None:
        return _count_by_pairs(surface, polys, circles, groups)
    # wide circles (over WIDE_M, 1,000 km) are decided by the geodesic, which the point test adds
    per = circles.candidate_counts(surface)
    tree = (per > (TREE_AT_GROUPS if groups else TREE_AT)) & (circles.radius <= WIDE_M)
    if groups and (surface.group is None or surface.group_area is None):
        tree[:] = False  # per-group detail without commuting areas: from the points
    if not tree.any():
        return _count_by_pairs(surface, polys, circles, groups, per=per)
    big, small = np.flatnonzero(tree), np.flatnonzero(~tree)
    wide = count_circles(surface, circles.crs, circles.ecef[big], circles.radius[big])
    if groups:  # the people of each commuting area inside, for counting people once
        wide.groups = area_groups(surface, circles.crs, circles.ecef[big], circles.radius[big])
    if not len(small):
        return wide
    out = _count_by_pairs(surface, polys[small], circles.take(small), groups, per=per[small])
    return _place(out, small, wide, big, len(polys))


def _place(a: Counts, ia: NDArray[np.intp], b: Counts, ib: NDArray[np.intp], n: int) -> Counts:
    """The counts ``a`` of catchments ``ia`` and ``b`` of ``ib``, in one set of ``n``."""

    def put(x: NDArray[Any], y: NDArray[Any]) -> NDArray[Any]:
        out = np.zeros(n, dtype=x.dtype)
        out[ia], out[ib] = x, y
        return out

    groups = None
    if a.groups is not None and b.groups is not None:
        c = np.concatenate([ia[a.groups[0]], ib[b.groups[0]]]).astype(np.int64)
        order = np.argsort(c, kind="stable")
        groups = (
            c[order],
            np.concatenate([a.groups[1], b.groups[1]])[order],
            np.concatenate([a.groups[2], b.groups[2]])[order],
        )
    return Counts(
        put(a.estimate, b.estimate),
        put(a.low, b.low),
        put(a.high, b.high),
        put(a.zones, b.zones),
        {k: put(a.extra[k], b.extra[k]) for k in a.extra},
        a.method,
        groups,
    )


def _count_by_pairs(
    surface: CountSurface,
    polys: NDArray[np.object_],
    circles: Circles | None,
    groups: bool = False,
    per: NDArray[np.int64] | None = None,
) -> Counts:
    """Count a point surface point by point: the (catchment, point) pairs inside, then their
    sums (the reference the aggregate index is tested against).  ``per``: each circle's
    candidate count, when the caller has it already."""
    if circles is not None and len(circles.radius) > 1:
        # wide circles over many points: in groups of about MAX_PAIRS candidates, so that the
        # pairs fit in memory (each circle's answer is the same whatever its group)
        if per is None:
            per = circles.candidate_counts(surface)
        if per.sum() > MAX_PAIRS:
            group = np.floor(np.cumsum(per) / MAX_PAIRS).astype(np.int64)
            cuts = np.flatnonzero(np.diff(group)) + 1
            parts = [
                _count_at_points(surface, polys[g], circles.take(g), groups)
                for g in np.split(np.arange(len(per)), cuts)
            ]
            return _concat(parts)
    return _count_at_points(surface, polys, circles, groups)


def _count_at_points(
    surface: CountSurface,
    catchments: NDArray[np.object_],
    circles: Circles | None,
    groups: bool = False,
) -> Counts:
    """Count a point surface (plain or dasymetric) inside ``catchments``."""
    pairs: Pairs
    if circles is not None:
        pairs = circles.pairs(surface)
    else:
        shapely.prepare(catchments)
        ci, pi = surface.tree.query(catchments, predicate="intersects")
        pairs = (ci, pi)
    if surface.group is not None:
        return _count_grouped(surface, catchments, pairs, groups)
    return _count_points(surface, catchments, pairs, circles)
