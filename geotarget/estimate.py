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

from dataclasses import dataclass

import numpy as np
import shapely

from .layers.base import CountSurface

Z90 = 1.6448536269514722  # two-sided 90% normal quantile

METHODS = ("areal", "dasymetric", "points")


@dataclass
class Counts:
    """Per-catchment results of one count surface (arrays, one entry per catchment)."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    zones: np.ndarray  # zones/points/cells contributing (count > 0 share)
    extra: dict[str, np.ndarray]
    method: str


def count(surface: CountSurface, catchments: np.ndarray, *,
          circles: "Circles | None" = None) -> Counts:
    """Count ``surface`` inside each catchment polygon (same CRS as the surface), by the
    surface's own method (``surface.method``; pick the surface with ``layer.surface(pop, m)``).

    For point surfaces and circular catchments, pass ``circles`` (centres and radii): a point is
    then inside when its distance from the centre is at most the radius (straight-line distance
    between the two positions on the WGS84 ellipsoid, which differs from the geodesic distance by
    under a millimetre at these scales) -- exact, and fast for many catchments.
    """
    catchments = np.asarray(catchments, dtype=object)
    if surface.kind != "points":
        shapely.prepare(catchments)
        return _count_areal(surface, catchments)
    if circles is not None:
        pairs = circles.pairs(surface)
    else:
        shapely.prepare(catchments)
        pairs = surface.tree.query(catchments, predicate="intersects")
    if surface.group is not None:
        return _count_grouped(surface, catchments, pairs)
    return _count_points(surface, catchments, pairs, circles)


def _ecef(lon, lat) -> np.ndarray:
    from .projections import transformer

    x, y, z = transformer("EPSG:4326", "EPSG:4978").transform(lon, lat, np.zeros_like(lon))
    return np.column_stack([x, y, z])


@dataclass
class Circles:
    """Circular catchments: centres (WGS84) and radii (m), with their centres in the layer CRS."""

    lat: np.ndarray
    lon: np.ndarray
    radius: np.ndarray
    crs: str

    def __post_init__(self) -> None:
        from .projections import transformer

        self.lat, self.lon, self.radius = (np.atleast_1d(np.asarray(a, dtype=float))
                                           for a in (self.lat, self.lon, self.radius))
        x, y = transformer("EPSG:4326", self.crs).transform(self.lon, self.lat)
        self.centres = shapely.points(x, y)
        self.ecef = _ecef(self.lon, self.lat)

    def distances(self, surface: CountSurface, ci: np.ndarray, pi: np.ndarray) -> np.ndarray:
        pe = surface_ecef(surface, self.crs)
        return np.linalg.norm(pe[pi] - self.ecef[ci], axis=1)

    def pairs(self, surface: CountSurface, extra: np.ndarray | float = 0.0):
        """(catchment, point) pairs with the point within radius (+ ``extra``) of the centre."""
        reach = self.radius + extra
        # candidates in the layer's plane with a margin for its scale distortion (equal-area
        # projections here distort distances by well under 2% at these places), then
        # the exact test
        ci, pi = surface.tree.query(self.centres, predicate="dwithin",
                                    distance=reach * 1.02 + 20.0)
        keep = self.distances(surface, ci, pi) <= reach[ci]
        return ci[keep], pi[keep]


_ECEF_CACHE: dict = {}


def surface_ecef(surface: CountSurface, crs: str) -> np.ndarray:
    key = (id(surface), crs)
    hit = _ECEF_CACHE.get(key)
    if hit is not None and hit[0] is surface:
        return hit[1]
    from .projections import transformer

    xy = surface.xy
    lon, lat = transformer(crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
    e = _ecef(np.asarray(lon), np.asarray(lat))
    _ECEF_CACHE[key] = (surface, e)
    return e


def _sum(idx: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(idx, weights=w, minlength=n) if len(idx) else np.zeros(n)


def _interval(est, sd, floor, ceiling):
    low = np.clip(est - Z90 * sd, floor, None)
    high = np.clip(est + Z90 * sd, None, ceiling)
    return np.minimum(low, est), np.maximum(high, est)


def _count_areal(surface: CountSurface, catchments: np.ndarray) -> Counts:
    n = len(catchments)
    ci, zi = surface.tree.query(catchments, predicate="intersects")
    geoms = surface.geoms[zi]
    frac = np.ones(len(ci))
    whole = shapely.covers(catchments[ci], geoms)  # prepared: fast, edges shared allowed
    cut = ~whole
    if cut.any():
        inter = shapely.intersection(catchments[ci[cut]], geoms[cut])
        frac[cut] = np.clip(shapely.area(inter) / surface.areas[zi[cut]], 0.0, 1.0)
    vals = surface.values[zi]
    est = _sum(ci, vals * frac, n)
    floor = _sum(ci, np.where(frac >= 1.0, vals, 0.0), n)
    ceiling = _sum(ci, np.where(frac > 0.0, vals, 0.0), n)
    partial = (frac > 0) & (frac < 1)
    var = np.where(partial, vals ** 2 * frac * (1 - frac) / surface.clusters_per_zone, 0.0)
    low, high = _interval(est, np.sqrt(_sum(ci, var, n)), floor, ceiling)
    zones = _sum(ci, (frac > 0).astype(float), n).astype(int)
    extra = {k: _sum(ci, v[zi] * frac, n) for k, v in surface.extra.items()}
    return Counts(est, low, high, zones, extra, surface.method)


def _count_grouped(surface: CountSurface, catchments: np.ndarray, pairs) -> Counts:
    n = len(catchments)
    ci, pi = pairs
    vals = surface.values[pi]
    est = _sum(ci, vals, n)
    extra = {k: _sum(ci, v[pi], n) for k, v in surface.extra.items()}
    # per (catchment, group): the share of the group's people inside
    g = surface.group[pi]
    ngroups = len(surface.group_k)
    key = ci.astype("int64") * ngroups + g
    ukey, inv = np.unique(key, return_inverse=True)
    inside = np.bincount(inv, weights=vals)
    uc, ug = ukey // ngroups, ukey % ngroups
    tot = surface.group_totals[ug]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(tot > 0, np.clip(inside / tot, 0.0, 1.0), 1.0)
    full = f >= 1.0 - 1e-12
    var = np.where(full, 0.0, tot ** 2 * f * (1 - f) / surface.group_k[ug])
    floor = _sum(uc, np.where(full, tot, 0.0), n)
    ceiling = _sum(uc, tot, n)
    low, high = _interval(est, np.sqrt(_sum(uc, var, n)), floor, ceiling)
    zones = _sum(uc, (inside > 0).astype(float), n).astype(int)  # census zones contributing
    return Counts(est, low, high, zones, extra, surface.method)


def _count_points(surface: CountSurface, catchments: np.ndarray, pairs,
                  circles: "Circles | None") -> Counts:
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
        bi, bj = surface.tree.query(shapely.boundary(catchments), predicate="dwithin",
                                    distance=reach)
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
