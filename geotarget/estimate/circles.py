"""Circular catchments against point surfaces: centres and radii, and a strip index of the
points, so that the points within a distance of many centres are found by binary search and then
tested exactly (straight-line distance between ECEF positions on the WGS84 ellipsoid)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod

from ..layers.base import CountSurface
from ..projections import transformer
from .counts import Pairs

_GEOD = Geod(ellps="WGS84")


def _ecef(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """ECEF positions (metres, EPSG:4978) of WGS84 positions on the ellipsoid, one row each."""
    x, y, z = transformer("EPSG:4326", "EPSG:4978").transform(lon, lat, np.zeros_like(lon))
    return np.column_stack([x, y, z])


@dataclass(init=False)
class Circles:
    """Circular catchments: centres (WGS84) and radii (m), with their centres in the layer CRS.

    Parameters
    ----------
    lat, lon : array_like of float
        The centres, WGS84 degrees (stored as 1-D float arrays).
    radius : array_like of float
        The radius of each circle, in metres.
    crs : str
        The CRS of the point surfaces the circles are tested against (the layer's).

    Attributes
    ----------
    centres : numpy.ndarray of shapely.Point
        The centres in ``crs``.
    ecef : numpy.ndarray of float, shape (n, 3)
        The centres' ECEF positions.
    """

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    radius: NDArray[np.float64]
    crs: str

    def __init__(self, lat: ArrayLike, lon: ArrayLike, radius: ArrayLike, crs: str) -> None:
        self.lat, self.lon, self.radius = (
            np.atleast_1d(np.asarray(a, dtype=float)) for a in (lat, lon, radius)
        )
        self.crs = crs
        x, y = transformer("EPSG:4326", self.crs).transform(self.lon, self.lat)
        self.centres: NDArray[np.object_] = cast("NDArray[np.object_]", shapely.points(x, y))
        self.ecef = _ecef(self.lon, self.lat)

    def distances(
        self, surface: CountSurface, ci: NDArray[np.intp], pi: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        """Straight-line distances between circle centres and points of a surface.

        Parameters
        ----------
        surface : CountSurface
            A point surface in ``crs``.
        ci, pi : numpy.ndarray of int
            Pairs of circle and point indices.

        Returns
        -------
        numpy.ndarray of float
            The distance (m) between the ECEF positions of each pair.
        """
        pe = surface_ecef(surface, self.crs)
        return cast("NDArray[np.float64]", np.linalg.norm(pe[pi] - self.ecef[ci], axis=1))

    def pairs(self, surface: CountSurface, extra: NDArray[np.float64] | float = 0.0) -> Pairs:
        """(catchment, point) pairs with the point within radius (+ ``extra``) of the centre.

        Parameters
        ----------
        surface : CountSurface
            A point surface in ``crs``.
        extra : float or numpy.ndarray of float, default 0
            Metres added to every radius (or to each).

        Returns
        -------
        tuple of numpy.ndarray of int
            Circle and point indices, ordered by circle (then by the point index's order).
        """
        reach = self.radius + extra
        # candidates in the layer's plane with a margin for its scale distortion (equal-area
        # projections here distort distances by well under 2% at these places), then
        # the exact test
        index = point_index(surface, self.crs)
        ci, k = index.candidates(
            shapely.get_x(self.centres), shapely.get_y(self.centres), _planar_reach(reach)
        )
        keep = index.distances(self.ecef, ci, k) <= reach[ci]
        return self._within_geodesic(surface, ci[keep], index.order[k[keep]], reach)

    def _within_geodesic(
        self,
        surface: CountSurface,
        ci: NDArray[np.intp],
        pts: NDArray[np.intp],
        reach: NDArray[np.float64],
    ) -> Pairs:
        """For wide circles (:data:`geotarget.catchment.WIDE_M`), keep only the pairs whose
        geodesic distance is within reach.  A straight line through the Earth is never longer
        than the geodesic, so the ECEF test keeps every point that is in, and a few km of band
        beyond the edge of a circle of 1,000 km or more (r³/24R², 1 m at 100 km); the geodesic
        then decides, as the wide circle's cap does."""
        from ..catchment import WIDE_M

        wide = np.flatnonzero(reach[ci] > WIDE_M)
        if not len(wide):
            return ci, pts
        xy = surface.xy[pts[wide]]
        lon, lat = transformer(self.crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
        c = ci[wide]
        _, _, d = _GEOD.inv(self.lon[c], self.lat[c], np.asarray(lon), np.asarray(lat))
        ok = np.ones(len(ci), bool)
        ok[wide[np.asarray(d) > reach[c]]] = False
        return ci[ok], pts[ok]

    def candidate_counts(self, surface: CountSurface) -> NDArray[np.int64]:
        """Per circle, how many (circle, point) candidates :meth:`pairs` would test.

        Parameters
        ----------
        surface : CountSurface
            A point surface in ``crs``.

        Returns
        -------
        numpy.ndarray of int
            One count per circle.
        """
        return point_index(surface, self.crs).candidate_counts(
            shapely.get_x(self.centres), shapely.get_y(self.centres), _planar_reach(self.radius)
        )

    def take(self, idx: NDArray[np.intp]) -> Circles:
        """The circles ``idx`` (nothing recomputed).

        Parameters
        ----------
        idx : numpy.ndarray of int
            Which circles.

        Returns
        -------
        Circles
            Those circles, with their centres and ECEF positions.
        """
        out = object.__new__(Circles)
        out.lat, out.lon, out.radius, out.crs = (
            self.lat[idx],
            self.lon[idx],
            self.radius[idx],
            self.crs,
        )
        out.centres, out.ecef = self.centres[idx], self.ecef[idx]
        return out


def _planar_reach(reach: NDArray[np.float64]) -> NDArray[np.float64]:
    """A planar search distance that covers ``reach`` on the ellipsoid (2% and 20 m more)."""
    return reach * 1.02 + 20.0


class PointIndex:
    """The points of a surface sorted in vertical strips of the layer's plane, by y within a
    strip, with their ECEF positions in that order.

    The points within a planar distance of a centre are then a few contiguous runs, found by
    binary search (one per strip the disc meets).  The index holds arrays only, never the
    surface.

    Parameters
    ----------
    xy : numpy.ndarray of float, shape (n, 2)
        The points in the layer's plane (metres).
    ecef : numpy.ndarray of float, shape (n, 3), or callable
        Their ECEF positions, or a function giving them: it is called only when a query needs
        most points; a few candidates' positions are computed from ``xy`` in ``crs`` (the same
        values, bit for bit: the transformation works point by point), so one warm venue does
        not transform the whole layer.
    strip_m : float or None
        The strip width; by default 200 m, wider over huge extents.
    crs : str or None
        The CRS of ``xy``, needed when ``ecef`` is a function.

    Attributes
    ----------
    order : numpy.ndarray of int
        The point (row of ``xy``) at each position of the index.
    """

    order: NDArray[np.intp]
    key: NDArray[np.float64]  # strip * span + (y - y0), sorted
    ex: NDArray[np.float64]  # ECEF x, y, z in index order
    ey: NDArray[np.float64]
    ez: NDArray[np.float64]

    def __init__(
        self,
        xy: NDArray[np.float64],
        ecef: NDArray[np.float64] | Callable[[], NDArray[np.float64]],
        strip_m: float | None = None,
        crs: str | None = None,
    ) -> None:
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
        self._xy, self._crs = xy, crs
        self._full: Callable[[], NDArray[np.float64]] | None = None
        if callable(ecef):
            if crs is None:
                raise ValueError("PointIndex: give the crs of xy with an ECEF function")
            self._full = ecef
        else:
            self._set_ecef(ecef)

    #: the scalars of the layout, stored beside :attr:`order` and :attr:`key`
    SCALARS = ("x0", "y0", "w", "span", "nstrips")

    def stored(
        self, ecef: NDArray[np.float64] | None = None
    ) -> tuple[dict[str, float | int], dict[str, NDArray[np.generic]]]:
        """The layout as stored with a cached layer: the scalars and the arrays.

        Parameters
        ----------
        ecef : numpy.ndarray of float, shape (n, 3), optional
            Every point's ECEF position (in the points' order), stored too: a query then reads
            its candidates' positions instead of transforming their coordinates (which needs a
            PROJ transformation, about 50 ms to set up).

        Returns
        -------
        tuple of dict
            ``({x0, y0, w, span, nstrips}, {"order": ..., "key": ...[, "ecef": (3, n)]})``,
            the positions in index order.
        """
        arrays: dict[str, NDArray[np.generic]] = {"order": self.order, "key": self.key}
        if ecef is not None:
            arrays["ecef"] = np.ascontiguousarray(ecef[self.order].T)
        return {a: getattr(self, a) for a in self.SCALARS}, arrays

    @classmethod
    def from_stored(
        cls,
        scalars: dict[str, float | int],
        arrays: dict[str, NDArray[np.generic]],
        xy: NDArray[np.float64],
        ecef: Callable[[], NDArray[np.float64]],
        crs: str,
    ) -> PointIndex:
        """The index of ``xy`` from a layout :meth:`stored` gave for the same points (the
        arrays may be memory-mapped: only the runs a query reads are read from disk).

        Parameters
        ----------
        scalars, arrays : dict
            What :meth:`stored` returned.
        xy : numpy.ndarray of float, shape (n, 2)
            The points.
        ecef : callable
            Gives every point's ECEF position (called only when a query needs most points).
        crs : str
            The CRS of ``xy``.

        Returns
        -------
        PointIndex
            The same index as ``PointIndex(xy, ecef, crs=crs)``, without sorting the points.
        """
        out = object.__new__(cls)
        out.x0, out.y0, out.w, out.span = (float(scalars[a]) for a in ("x0", "y0", "w", "span"))
        out.nstrips = int(scalars["nstrips"])
        out.order = cast("NDArray[np.intp]", arrays["order"])
        out.key = cast("NDArray[np.float64]", arrays["key"])
        out._xy, out._crs, out._full = xy, crs, ecef
        if "ecef" in arrays:  # every position, in index order (rows x, y, z)
            e = arrays["ecef"]
            out.ex, out.ey, out.ez = e[0], e[1], e[2]
            out._full = None
        return out

    def _set_ecef(self, ecef: NDArray[np.float64]) -> None:
        """Keep every point's ECEF position, in index order."""
        e = ecef[self.order]
        self.ex, self.ey, self.ez = (np.ascontiguousarray(e[:, i]) for i in range(3))
        self._full = None

    def _ecef_at(
        self, k: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """The ECEF x, y, z of the indexed points ``k``: all computed once when ``k`` reaches
        many points, else only those of ``k``."""
        if self._full is not None and len(k) >= len(self.order) // 4:
            self._set_ecef(self._full())
        if self._full is None:
            return self.ex[k], self.ey[k], self.ez[k]
        assert self._crs is not None
        u, inv = np.unique(k, return_inverse=True)
        e = _xy_ecef(self._xy[self.order[u]], self._crs)
        return e[inv, 0], e[inv, 1], e[inv, 2]

    def candidates(
        self, cx: NDArray[np.float64], cy: NDArray[np.float64], dist: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
        """The points within a planar distance of each centre, and some beyond it.

        Parameters
        ----------
        cx, cy : numpy.ndarray of float
            The centres in the layer's plane.
        dist : numpy.ndarray of float
            The planar distance for each centre.

        Returns
        -------
        tuple of numpy.ndarray of int
            ``(centre, k)`` for every candidate (``k``: position in :attr:`order`), ordered
            by centre.
        """
        qi, a, ln = self._ranges(cx, cy, dist)
        total = int(ln.sum())
        ci = np.repeat(qi, ln)
        start = np.cumsum(ln) - ln
        k = np.arange(total, dtype=np.int64) - np.repeat(start - a, ln)
        return ci, k

    def candidate_counts(
        self, cx: NDArray[np.float64], cy: NDArray[np.float64], dist: NDArray[np.float64]
    ) -> NDArray[np.int64]:
        """How many candidates :meth:`candidates` would give each centre (without making them).

        Parameters
        ----------
        cx, cy : numpy.ndarray of float
            The centres in the layer's plane.
        dist : numpy.ndarray of float
            The planar distance for each centre.

        Returns
        -------
        numpy.ndarray of int
            One count per centre.
        """
        qi, _, ln = self._ranges(cx, cy, dist)
        return np.bincount(qi, weights=ln, minlength=len(np.atleast_1d(cx))).astype(np.int64)

    def _ranges(
        self, cx: ArrayLike, cy: ArrayLike, dist: ArrayLike
    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
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

    def distances(
        self, centres_ecef: NDArray[np.float64], ci: NDArray[np.intp], k: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Straight-line distances between centres ``ci`` and indexed points ``k``.

        The same as ``np.linalg.norm`` of the difference, bit for bit.

        Parameters
        ----------
        centres_ecef : numpy.ndarray of float, shape (m, 3)
            The centres' ECEF positions.
        ci : numpy.ndarray of int
            A centre (row of ``centres_ecef``) per pair.
        k : numpy.ndarray of int
            A point (position in :attr:`order`) per pair.

        Returns
        -------
        numpy.ndarray of float
            The distance of each pair, in metres.
        """
        ex, ey, ez = self._ecef_at(k)
        dx: NDArray[np.float64] = ex - centres_ecef[ci, 0]
        dx *= dx
        dy = ey - centres_ecef[ci, 1]
        dy *= dy
        dx += dy
        dy = ez - centres_ecef[ci, 2]
        dy *= dy
        dx += dy
        return np.sqrt(dx, out=dx)


#: point indices per surface and CRS; weak keys (a :class:`PointIndex` holds no reference back
#: to its surface), so a surface no longer used is freed with its indices
_INDEX_CACHE: weakref.WeakKeyDictionary[CountSurface, dict[str, PointIndex]] = (
    weakref.WeakKeyDictionary()
)


def point_index(surface: CountSurface, crs: str) -> PointIndex:
    """The (cached) :class:`PointIndex` of a point surface in ``crs`` (the layer's CRS).

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The CRS its points are in.

    Returns
    -------
    PointIndex
        Built on first use, then kept for as long as the surface lives.
    """
    per = _INDEX_CACHE.setdefault(surface, {})
    if crs not in per:
        ref, xy = weakref.ref(surface), surface.xy

        def full() -> NDArray[np.float64]:  # the surface's cached positions, while it lives
            s = ref()
            return _xy_ecef(xy, crs) if s is None else surface_ecef(s, crs)

        load = _STORED_INDEX.get(surface, {}).pop(crs, None)
        got = load() if load is not None else None
        if got is not None:
            per[crs] = PointIndex.from_stored(*got, xy, full, crs)
        else:
            per[crs] = PointIndex(xy, full, crs=crs)
    return per[crs]


#: a loader of a stored :class:`PointIndex` layout: ``(scalars, arrays)``, or ``None`` when
#: the stored layout cannot be used (it is then built)
IndexLoader = Callable[[], "tuple[dict[str, float | int], dict[str, NDArray[np.generic]]] | None"]
#: stored layouts per surface and CRS (from a cached layer), used by :func:`point_index`
_STORED_INDEX: weakref.WeakKeyDictionary[CountSurface, dict[str, IndexLoader]] = (
    weakref.WeakKeyDictionary()
)


def store_point_index(surface: CountSurface, crs: str, load: IndexLoader) -> None:
    """Give ``surface`` a stored strip-index layout: :func:`point_index` then calls ``load``
    (once) instead of sorting the points, and sorts them only when it returns ``None``.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The CRS of its points.
    load : callable
        Gives what :meth:`PointIndex.stored` gave for the same points, or ``None``.
    """
    _STORED_INDEX.setdefault(surface, {})[crs] = load


#: ECEF positions per surface and CRS; weak keys, so a surface that is no longer used (a layer
#: dropped by a notebook, a Dask worker or the web server) is freed with its positions
_ECEF_CACHE: weakref.WeakKeyDictionary[CountSurface, dict[str, NDArray[np.float64]]] = (
    weakref.WeakKeyDictionary()
)


def surface_ecef(surface: CountSurface, crs: str) -> NDArray[np.float64]:
    """ECEF positions of a point surface's points (given in ``crs``), cached per surface.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The CRS its points are in.

    Returns
    -------
    numpy.ndarray of float, shape (n, 3)
        One ECEF position (metres, EPSG:4978) per point.
    """
    per = _ECEF_CACHE.setdefault(surface, {})
    if crs not in per:
        per[crs] = _xy_ecef(surface.xy, crs)
    return per[crs]


def _xy_ecef(xy: NDArray[np.float64], crs: str) -> NDArray[np.float64]:
    """ECEF positions of points ``xy`` given in ``crs``, one row each."""
    lon, lat = transformer(crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
    return _ecef(np.asarray(lon), np.asarray(lat))
