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

import weakref
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
        """(catchment, point) pairs with the point within radius (+ ``extra``) of the centre,
        ordered by catchment (then by the point index's order)."""
        reach = self.radius + extra
        # candidates in the layer's plane with a margin for its scale distortion (equal-area
        # projections here distort distances by well under 2% at these places), then
        # the exact test
        index = point_index(surface, self.crs)
        ci, k = index.candidates(shapely.get_x(self.centres), shapely.get_y(self.centres),
                                 reach * 1.02 + 20.0)
        keep = index.distances(self.ecef, ci, k) <= reach[ci]
        return ci[keep], index.order[k[keep]]


class PointIndex:
    """The points of a surface sorted in vertical strips of the layer's plane, by y within a
    strip, with their ECEF positions in that order: the points within a planar distance of a
    centre are a few contiguous runs, found by binary search (one per strip the disc meets)."""

    def __init__(self, xy: np.ndarray, ecef: np.ndarray, strip_m: float | None = None) -> None:
        n = len(xy)
        x, y = (xy[:, 0], xy[:, 1]) if n else (np.zeros(0), np.zeros(0))
        ok = np.isfinite(x) & np.isfinite(y)
        self.x0 = float(x[ok].min()) if ok.any() else 0.0
        self.y0 = float(y[ok].min()) if ok.any() else 0.0
        yspan = float(y[ok].max()) - self.y0 if ok.any() else 0.0
        if strip_m is None:  # 200 m strips (a 0.5 mi query reads ~9); fewer over huge extents
            xspan = float(x[ok].max()) - self.x0 if ok.any() else 0.0
            strip_m = max(200.0, xspan / 100_000)
        self.w = float(strip_m)
        strip = np.floor((x - self.x0) / self.w)
        self.nstrips = int(strip[ok].max()) + 1 if ok.any() else 1
        # the key: strip * span + (y - y0), each strip in its own band [s*span, s*span + yspan]
        self.span = yspan + 1.0
        key = np.where(ok, strip * self.span + (y - self.y0), np.inf)  # non-finite: never found
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]
        e = ecef[self.order]
        self.ex, self.ey, self.ez = (np.ascontiguousarray(e[:, i]) for i in range(3))

    def candidates(self, cx: np.ndarray, cy: np.ndarray, dist: np.ndarray):
        """(centre, k) for every point (k: position in ``order``) within planar distance
        ``dist`` of its centre, and some beyond it; ordered by centre."""
        cx, cy, dist = (np.asarray(a, dtype=float) for a in (cx, cy, dist))
        n = len(cx)
        good = np.isfinite(cx) & np.isfinite(cy) & np.isfinite(dist) & (dist >= 0)
        dist = np.where(good, dist, 0.0)
        s0 = np.floor((cx - dist - self.x0) / self.w)
        s1 = np.floor((cx + dist - self.x0) / self.w)
        s0 = np.clip(np.where(good, s0, 0), 0, self.nstrips - 1).astype(np.int64)
        s1 = np.clip(np.where(good, s1, -1), -1, self.nstrips - 1).astype(np.int64)
        m = np.maximum(s1 - s0 + 1, 0)
        qi = np.repeat(np.arange(n), m)  # one query per (centre, strip)
        if len(qi) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        first = np.cumsum(m) - m
        strip = s0[qi] + (np.arange(len(qi)) - np.repeat(first, m))
        # half-height of the disc over the strip: the chord at the strip's nearest x
        xl = self.x0 + strip * self.w
        dx = np.maximum(np.maximum(xl - cx[qi], cx[qi] - (xl + self.w)), 0.0)
        d = dist[qi]
        h = np.sqrt(np.maximum(d * d - dx * dx, 0.0)) + 1e-6 * d + 1e-3  # rounding margin
        base = strip * self.span
        lo = base + np.clip(cy[qi] - h - self.y0, -0.5, self.span - 0.5)
        hi = base + np.clip(cy[qi] + h - self.y0, -0.5, self.span - 0.5)
        a = np.searchsorted(self.key, lo, side="left")
        b = np.searchsorted(self.key, hi, side="right")
        ln = b - a
        total = int(ln.sum())
        ci = np.repeat(qi, ln)
        start = np.cumsum(ln) - ln
        k = np.arange(total, dtype=np.int64) - np.repeat(start - a, ln)
        return ci, k

    def distances(self, centres_ecef: np.ndarray, ci: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Straight-line distances between centres ``ci`` and indexed points ``k`` (as
        ``np.linalg.norm`` of the difference, bit for bit)."""
        dx = self.ex[k] - centres_ecef[ci, 0]
        dx *= dx
        dy = self.ey[k] - centres_ecef[ci, 1]
        dy *= dy
        dx += dy
        dy = self.ez[k] - centres_ecef[ci, 2]
        dy *= dy
        dx += dy
        return np.sqrt(dx, out=dx)


_INDEX_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def point_index(surface: CountSurface, crs: str) -> PointIndex:
    """The (cached) :class:`PointIndex` of a point surface in ``crs`` (the layer's CRS)."""
    per = _INDEX_CACHE.setdefault(surface, {})
    if crs not in per:
        per[crs] = PointIndex(surface.xy, surface_ecef(surface, crs))
    return per[crs]


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
    # the sums per distinct key: a stable sort (fast: pairs come grouped by catchment), then
    # one sum per run of equal keys
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.concatenate([[True], ks[1:] != ks[:-1]])) if len(ks) else \
        np.zeros(0, np.int64)
    ukey = ks[starts]
    inside = np.add.reduceat(vals[order], starts) if len(starts) else np.zeros(0)
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
