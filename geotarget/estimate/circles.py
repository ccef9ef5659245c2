"""Circular catchments against point surfaces: centres and radii, and a strip index of the
points, so that the points within a distance of many centres are found by binary search and then
tested exactly (straight-line distance between ECEF positions on the WGS84 ellipsoid)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import shapely

from ..layers.base import CountSurface
from ..projections import transformer


def _ecef(lon, lat) -> np.ndarray:
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
        self.lat, self.lon, self.radius = (
            np.atleast_1d(np.asarray(a, dtype=float)) for a in (self.lat, self.lon, self.radius)
        )
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
        ci, k = index.candidates(
            shapely.get_x(self.centres), shapely.get_y(self.centres), _planar_reach(reach)
        )
        keep = index.distances(self.ecef, ci, k) <= reach[ci]
        return ci[keep], index.order[k[keep]]

    def candidate_counts(self, surface: CountSurface) -> np.ndarray:
        """Per circle, how many (circle, point) candidates :meth:`pairs` would test."""
        return point_index(surface, self.crs).candidate_counts(
            shapely.get_x(self.centres), shapely.get_y(self.centres), _planar_reach(self.radius)
        )

    def take(self, idx: np.ndarray) -> Circles:
        """The circles ``idx`` (nothing recomputed)."""
        out = object.__new__(Circles)
        out.lat, out.lon, out.radius, out.crs = (
            self.lat[idx],
            self.lon[idx],
            self.radius[idx],
            self.crs,
        )
        out.centres, out.ecef = self.centres[idx], self.ecef[idx]
        return out


def _planar_reach(reach):
    return reach * 1.02 + 20.0


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
        qi, a, ln = self._ranges(cx, cy, dist)
        total = int(ln.sum())
        ci = np.repeat(qi, ln)
        start = np.cumsum(ln) - ln
        k = np.arange(total, dtype=np.int64) - np.repeat(start - a, ln)
        return ci, k

    def candidate_counts(self, cx: np.ndarray, cy: np.ndarray, dist: np.ndarray) -> np.ndarray:
        """How many candidates :meth:`candidates` would give each centre (without making
        them)."""
        qi, _, ln = self._ranges(cx, cy, dist)
        return np.bincount(qi, weights=ln, minlength=len(np.atleast_1d(cx))).astype(np.int64)

    def _ranges(self, cx: np.ndarray, cy: np.ndarray, dist: np.ndarray):
        """(centre, first position, length) of each run of candidates: one per strip."""
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
            return qi, np.zeros(0, np.int64), np.zeros(0, np.int64)
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
        return qi, a, b - a

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


_INDEX_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def point_index(surface: CountSurface, crs: str) -> PointIndex:
    """The (cached) :class:`PointIndex` of a point surface in ``crs`` (the layer's CRS)."""
    per = _INDEX_CACHE.setdefault(surface, {})
    if crs not in per:
        per[crs] = PointIndex(surface.xy, surface_ecef(surface, crs))
    return per[crs]


#: ECEF positions per surface and CRS; weak keys, so a surface that is no longer used (a layer
#: dropped by a notebook, a Dask worker or the web server) is freed with its positions
_ECEF_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def surface_ecef(surface: CountSurface, crs: str) -> np.ndarray:
    """ECEF positions of a point surface's points (given in ``crs``), cached per surface."""
    per = _ECEF_CACHE.setdefault(surface, {})
    if crs not in per:
        xy = surface.xy
        lon, lat = transformer(crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
        per[crs] = _ecef(np.asarray(lon), np.asarray(lat))
    return per[crs]
