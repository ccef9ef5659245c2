"""The places (city, county...) each catchment of a batch overlaps.

:class:`~geotarget.platforms.footprints.Facts` asks, once per batch, which places each
catchment overlaps (a place footprint is then built once per set of places): by its polygon
(:func:`touching`), or for circles without making their polygons where the answer is sure
(:func:`touching_circles`).  The places' zones, bounds, rings and inscribed disks are kept on
the :class:`~geotarget.layers.base.PlaceSet`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

from .. import estimate as est
from ..layers.base import CountSurface, PlaceSet
from .layer_totals import _zone_areas


def touching(places: PlaceSet, geoms: np.ndarray) -> dict[str, list[tuple[str, ...]]]:
    """For each level, the places each geometry overlaps.

    Overlapping means by more than a millionth of the geometry's area, not just touching.

    Parameters
    ----------
    places : PlaceSet
        The layer's places.
    geoms : numpy.ndarray of shapely geometries
        The catchments, in the layer's CRS.

    Returns
    -------
    dict
        ``{level: [codes of the places geometry i overlaps, for each i]}``.
    """
    n = len(geoms)
    gi, zi, frac = est.overlap_fractions(_place_zones(places), geoms)
    thr = 1e-6 * np.maximum(shapely.area(geoms), 1.0)[gi]
    keep = frac * _zone_areas(places)[zi] > thr
    out = {}
    for lv in places.levels:
        u, inv = np.unique(places.codes[lv].astype(str), return_inverse=True)
        k = np.unique(gi[keep].astype("int64") * len(u) + inv[zi[keep]])
        g, c = k // len(u), k % len(u)
        bounds = np.searchsorted(g, np.arange(n + 1))
        out[lv] = [tuple(u[c[bounds[i] : bounds[i + 1]]].tolist()) for i in range(n)]
    return out


#: circles up to this radius (metres) have their places decided without their polygon where
#: that is sure (:func:`touching_circles`); wider ones always go through their polygon
SURE_UP_TO_M = 10_000.0


def touching_circles(
    places: PlaceSet,
    crs: str,
    lat: np.ndarray,
    lon: np.ndarray,
    radius_m: np.ndarray,
    polygons: Callable[[np.ndarray], np.ndarray],
) -> dict[str, list[tuple[str, ...]]]:
    """:func:`touching` for circles, their polygons made only where the answer needs them.

    A circle's places are decided without its polygon where that is sure: a zone whose
    bounding box lies inside a disk surely within the circle's polygon overlaps it wholly (its
    place is in, when the zone is far larger than the threshold); a zone whose bounding box
    lies outside a disk surely holding the polygon does not overlap it.  The disks come from
    the projection's scale at the venue (Tissot's indicatrix) with a 2% margin.  A circle with
    a zone in neither case whose place is not already in is decided by :func:`touching` on its
    polygon, as are circles wider than :data:`SURE_UP_TO_M` or in a geographic CRS.

    Parameters
    ----------
    places : PlaceSet
        The layer's places.
    crs : str
        The layer's CRS.
    lat, lon, radius_m : numpy.ndarray
        The circles (WGS84 centres, metres).
    polygons : callable
        ``polygons(idx)``: the polygons of circles ``idx``, as :func:`touching` would be given.

    Returns
    -------
    dict
        The same as ``touching(places, polygons(all))``.
    """
    n = len(lat)
    out: dict[str, list[tuple[str, ...] | None]] = {lv: [None] * n for lv in places.levels}
    unsure = np.ones(n, bool)
    sure = _sure_disks(crs, lat, lon, radius_m)
    if sure is not None and n:
        unsure, decided = _decide(places, *sure)
        for lv, (u, yes) in decided.items():
            g, c = yes // len(u), yes % len(u)
            bounds = np.searchsorted(g, np.arange(n + 1))
            col = out[lv]
            for i in np.nonzero(~unsure)[0].tolist():
                col[i] = tuple(u[c[bounds[i] : bounds[i + 1]]].tolist())
    idx = np.nonzero(unsure)[0]
    if len(idx):
        exact = touching(places, polygons(idx))
        for lv, col in out.items():
            for j, i in enumerate(idx.tolist()):
                col[i] = exact[lv][j]
    return {lv: [t if t is not None else () for t in col] for lv, col in out.items()}


def _decide(
    places: PlaceSet, x: np.ndarray, y: np.ndarray, r_in: np.ndarray, r_out: np.ndarray
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The circles whose places are not sure without their polygon, and for each level the
    place codes ``u`` and the sure (circle * len(u) + code) keys of the others."""
    n = len(x)
    zb = _zone_bounds(places)
    boxes = shapely.box(x - r_out, y - r_out, x + r_out, y + r_out)
    ci, zi = places.tree.query(boxes)
    cx, cy = x[ci], y[ci]
    x0, y0, x1, y1 = zb[zi, 0], zb[zi, 1], zb[zi, 2], zb[zi, 3]
    zero = np.zeros(len(ci))
    near = np.hypot(
        np.maximum.reduce([x0 - cx, cx - x1, zero]), np.maximum.reduce([y0 - cy, cy - y1, zero])
    )
    far = np.hypot(
        np.maximum(np.abs(cx - x0), np.abs(cx - x1)), np.maximum(np.abs(cy - y0), np.abs(cy - y1))
    )
    need = 2e-6 * np.maximum(1.1 * np.pi * r_out**2, 1.0)  # twice the largest threshold
    whole = (far < r_in[ci]) & (_zone_areas(places)[zi] > need[ci])
    # the zone holding the centre overlaps the circle by at least the disk around the centre
    # that fits in both
    held = _centre_zones(places, x, y, r_in, need)
    whole |= np.isin(ci.astype("int64") * len(places.geoms) + zi, held)
    maybe = ~whole & ~(near > r_out[ci])
    unsure = ~np.isfinite(r_in)
    decided: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for lv in places.levels:
        u, inv = np.unique(places.codes[lv].astype(str), return_inverse=True)
        k = ci.astype("int64") * len(u) + inv[zi]
        yes = np.unique(k[whole])
        # zones of places not yet sure: only those reaching the circle's outer disk count
        m = np.nonzero(maybe & ~np.isin(k, yes))[0]
        if len(m):
            d = shapely.distance(shapely.points(cx[m], cy[m]), places.geoms[zi[m]])
            m = m[~(d > r_out[ci[m]])]
        if len(m):  # a disk inside the zone that overlaps the circle's inner disk enough
            qx, qy, rho = _inscribed(places, zi[m])
            lens = _lens(np.hypot(qx - cx[m], qy - cy[m]), r_in[ci[m]], rho)
            yes = np.union1d(yes, k[m[lens > need[ci[m]]]])
            m = m[~np.isin(k[m], yes)]
        unsure[ci[m]] = True
        decided[lv] = (u, yes)
    del n
    return unsure, decided


def _sure_disks(
    crs: str, lat: np.ndarray, lon: np.ndarray, radius_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Per circle, its centre in ``crs`` and the radii of a disk surely inside its polygon and
    of one surely holding it (NaN: not sure; None: a geographic CRS)."""
    import pyproj

    from ..catchment import _SCALE
    from ..projections import transformer

    c = pyproj.CRS(crs)
    if not c.is_projected:
        return None
    lat, lon, r = (np.asarray(a, dtype=float) for a in (lat, lon, radius_m))
    x, y = transformer("EPSG:4326", crs).transform(lon, lat)
    try:
        f = pyproj.Proj(c).get_factors(lon, lat)
        a = np.asarray(f.tissot_semimajor, dtype=float)
        b = np.asarray(f.tissot_semiminor, dtype=float)
    except (pyproj.exceptions.ProjError, TypeError, ValueError):  # no factors: the polygons
        return None
    ok = np.isfinite(a) & np.isfinite(b) & (b > 0) & (r <= SURE_UP_TO_M) & np.isfinite(x)
    r_in = np.where(ok, r * b * 0.98, np.nan)
    r_out = np.where(ok, r * _SCALE * a * 1.02 + 1.0, np.nan)
    return np.asarray(x, float), np.asarray(y, float), r_in, np.where(ok, r_out, 0.0)


def _centre_zones(
    places: PlaceSet, x: np.ndarray, y: np.ndarray, r_in: np.ndarray, need: np.ndarray
) -> np.ndarray:
    """``circle * n zones + zone`` for each zone holding a circle's centre with a disk around it
    of area above ``need`` inside both the zone and the circle's sure inner disk."""
    pts: np.ndarray = np.asarray(shapely.points(x, y), dtype=object)
    pi, zi = places.tree.query(pts, predicate="within")
    if not len(pi):
        return np.zeros(0, "int64")
    rho = shapely.distance(pts[pi], _zone_rings(places)[zi])
    m = np.minimum(rho, r_in[pi])
    ok = np.isfinite(m) & (np.pi * m * m > need[pi])
    out: np.ndarray = pi[ok].astype("int64") * len(places.geoms) + zi[ok]
    return out


def _inscribed(places: PlaceSet, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and radius (1% short) of a disk inside each zone ``zi`` (its largest inscribed
    circle, to 1% of the zone's size), worked out once per zone."""
    memo = places.__dict__.setdefault("_inscribed", {})
    if "r" not in memo:
        nz = len(places.geoms)
        memo["x"], memo["y"], memo["r"] = np.zeros(nz), np.zeros(nz), np.full(nz, np.nan)
    new = np.unique(zi[np.isnan(memo["r"][zi])])
    if len(new):
        g = places.geoms[new]
        b = _zone_bounds(places)[new]
        tol = np.maximum(np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * 0.01, 0.5)
        line = shapely.maximum_inscribed_circle(g, tol)
        xy = shapely.get_coordinates(shapely.get_point(line, 0))
        memo["x"][new], memo["y"][new] = xy[:, 0], xy[:, 1]
        # the distance from that centre to the zone's boundary, so the disk is inside
        rad = shapely.distance(shapely.get_point(line, 0), _zone_rings(places)[new])
        inside = shapely.contains_xy(g, xy[:, 0], xy[:, 1])
        memo["r"][new] = np.where(inside, rad * 0.99, 0.0)
    return memo["x"][zi], memo["y"][zi], memo["r"][zi]


def _lens(d: np.ndarray, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """The area shared by disks of radii ``r1`` and ``r2`` whose centres are ``d`` apart."""
    d, r1, r2 = (np.asarray(a, dtype=float) for a in (d, r1, r2))
    out = np.zeros(len(d))
    small = np.minimum(r1, r2)
    within = d <= np.abs(r1 - r2)
    out[within] = np.pi * small[within] ** 2
    cut = ~within & (d < r1 + r2) & (d > 0)
    if cut.any():
        dd, a, b = d[cut], r1[cut], r2[cut]
        c1 = np.clip((dd * dd + a * a - b * b) / (2 * dd * a), -1.0, 1.0)
        c2 = np.clip((dd * dd + b * b - a * a) / (2 * dd * b), -1.0, 1.0)
        k = (-dd + a + b) * (dd + a - b) * (dd - a + b) * (dd + a + b)
        out[cut] = a * a * np.arccos(c1) + b * b * np.arccos(c2) - 0.5 * np.sqrt(np.maximum(k, 0))
    return out * 0.99  # a margin for rounding


def _zone_rings(places: PlaceSet) -> np.ndarray:
    if "_rings" not in places.__dict__:
        places.__dict__["_rings"] = shapely.boundary(places.geoms)
    b: np.ndarray = places.__dict__["_rings"]
    return b


def _zone_bounds(places: PlaceSet) -> np.ndarray:
    if "_bounds" not in places.__dict__:
        places.__dict__["_bounds"] = shapely.bounds(places.geoms)
    b: np.ndarray = places.__dict__["_bounds"]
    return b


def _place_zones(places: PlaceSet) -> CountSurface:
    """The places' zones as a count surface (no counts), for overlap queries."""
    if "_zones" not in places.__dict__:
        n = len(places.geoms)
        places.__dict__["_zones"] = CountSurface(
            "zones", "place zone", np.arange(n), places.geoms, np.zeros(n), "zones of places"
        )
    zones: CountSurface = places.__dict__["_zones"]
    return zones
