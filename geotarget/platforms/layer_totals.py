"""People of a layer's postcode districts and places, worked out once per layer and method.

:class:`~geotarget.platforms.footprints.Facts` measures the footprints of a batch of venues;
what does not depend on the venues -- the people of every district and place, each point's
district, the zones of the places -- is kept here, on the layer, for every batch that follows.

Rules
-----
* A point (postcode, block, grid centre) belongs to the one district whose polygon holds it (the
  first, where it lies on a shared edge).
* A place's people: for zones that are the place's own zones, the sum of those zones; for points,
  the points lying in the place's zones; otherwise counted in the place polygon.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from .. import estimate as est
from ..layers.base import CountSurface, PlaceSet, PopulationLayer

if TYPE_CHECKING:
    from .districts import DistrictSet

#: this module's logger
log = logging.getLogger(__name__)

#: the populations a platform counts
POPS = ("residents", "workers")
#: the place level whose codes are local authorities (those of the layer's commuting flows)
LA_LEVEL = "county"

#: ``{population: {level: {place code: people}} or None}``, plus ``"_area"``: ``{level: {code:
#: area in m²}}``
PlaceTotals = dict[str, Any]


def layer_memo(layer: PopulationLayer, name: str) -> dict[Any, Any]:
    """A dict kept on ``layer`` for the platforms' work on it, one per ``name``.

    Parameters
    ----------
    layer : PopulationLayer
        The layer the values belong to.
    name : str
        What is kept (``"places"``, ``"districts"``...).

    Returns
    -------
    dict
        The same dict every time for the same layer and name.
    """
    memo: dict[Any, Any] = layer.__dict__.setdefault(f"_platform_{name}", {})
    return memo


def places_of(layer: PopulationLayer) -> PlaceSet:
    """The layer's places (only asked for where the layer has some)."""
    places = layer.places
    assert places is not None, f"layer {layer.name} has no places"
    return places


class DistrictCounts:
    """People per postcode district and each point's district, for one layer and method.

    Worked out for the districts and points some venue needed, and kept for the next.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    method : str or None
        The estimation method (``None``: the layer's own).
    ds : DistrictSet
        The districts around the layer.
    """

    def __init__(self, layer: PopulationLayer, method: str | None, ds: DistrictSet) -> None:
        self.ds = ds
        self.surfaces = {pop: layer.surface(pop, method) for pop in POPS}
        nd = len(ds.codes)
        self.tot: dict[str, np.ndarray | None] = {
            pop: None if s is None else np.full((3, nd), np.nan) for pop, s in self.surfaces.items()
        }
        self._point = {
            pop: np.full(len(s.values), -2, dtype="int64")
            for pop, s in self.surfaces.items()
            if s is not None and s.kind == "points"
        }
        self._cached = {pop: False for pop in self._point}

    def _from_disk(self, pop: str) -> None:
        """Every point's district, read from the disk cache (worked out for all points and
        written there the first time): the same answers as asking point by point."""
        self._cached[pop] = True
        s = self.surfaces[pop]
        assert s is not None
        path = point_districts_path(self.ds, s)
        if path is None:
            return
        d = _read_int_array(path, len(s.values))
        if d is None:
            pts = shapely.points(s.xy)
            qi, di = self.ds.tree.query(pts, predicate="intersects")
            first_q, first = np.unique(qi, return_index=True)
            d = np.full(len(s.values), -1, dtype="int64")
            d[first_q] = di[first]
            _write_int_array(path, d)
        self._point[pop] = d

    def district_of(self, pop: str, pi: np.ndarray) -> np.ndarray:
        """The district of each point of a point surface.

        Parameters
        ----------
        pop : str
            The population whose surface the points are of.
        pi : numpy.ndarray of int
            Indices of points of that surface.

        Returns
        -------
        numpy.ndarray of int
            The index of the first district holding each point; -1 where none does.
        """
        if not self._cached[pop]:
            self._from_disk(pop)
        d = self._point[pop]
        new = np.unique(pi[d[pi] == -2])
        if len(new):
            s = self.surfaces[pop]
            assert s is not None  # a point surface: _point has an entry for it
            # only the points asked about are made (a point surface may hold its points lazily)
            pts = shapely.points(s.xy[new])
            qi, di = self.ds.tree.query(pts, predicate="intersects")
            first_q, first = np.unique(qi, return_index=True)
            found = np.full(len(new), -1, dtype="int64")
            found[first_q] = di[first]
            d[new] = found  # one assignment: another thread never sees a half-done answer
        out: np.ndarray = d[pi]
        return out

    def totals(self, idx: np.ndarray) -> dict[str, np.ndarray | None]:
        """People of the districts, with at least districts ``idx`` counted.

        Parameters
        ----------
        idx : numpy.ndarray of int
            The districts needed.

        Returns
        -------
        dict
            ``{pop: (3, n districts) array of (estimate, low, high), or None}``; districts not
            counted yet are NaN.
        """
        for pop, s in self.surfaces.items():
            t = self.tot[pop]
            if t is None or s is None:
                continue
            new = idx[np.isnan(t[0, idx])]
            if len(new):
                c = est.count(s, self.ds.polygons[new])
                t[0, new], t[1, new], t[2, new] = c.estimate, c.low, c.high
        return self.tot


#: points a surface must have for its districts to be worked out all at once and cached on disk
POINTS_CACHED = 10_000


def point_districts_path(ds: DistrictSet, s: CountSurface) -> Path | None:
    """Where the district of every point of ``s`` is cached (None: not cached -- too few
    points, or districts not built by :func:`geotarget.platforms.districts.for_layer`)."""
    key = getattr(ds, "key", None)
    if key is None or len(s.values) < POINTS_CACHED:
        return None
    from ..layers.cache import cache_root

    h = hashlib.sha256(np.ascontiguousarray(s.xy, dtype="float64").tobytes()).hexdigest()[:24]
    return cache_root() / "districts" / f"{key}-points-{h}.npy"


def _read_int_array(path: Path, n: int) -> np.ndarray | None:
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if a.shape != (n,) or a.dtype != np.int64:
        return None
    out: np.ndarray = np.array(a)  # writable: points asked about later are filled in place
    return out


def _write_int_array(path: Path, a: np.ndarray) -> None:
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, a, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as e:  # a read-only cache is not fatal
        log.warning("could not cache point districts in %s (%s)", path, e)


def district_counts(layer: PopulationLayer, method: str | None, ds: DistrictSet) -> DistrictCounts:
    """The (one) :class:`DistrictCounts` of ``layer``, ``method`` and ``ds``.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    method : str or None
        The estimation method.
    ds : DistrictSet
        The districts around the layer.

    Returns
    -------
    DistrictCounts
    """
    memo = layer_memo(layer, "districts")
    key = (method, id(ds))
    if key not in memo:
        memo[key] = DistrictCounts(layer, method, ds)
    counts: DistrictCounts = memo[key]
    return counts


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


def _zone_areas(places: PlaceSet) -> np.ndarray:
    if "_areas" not in places.__dict__:
        places.__dict__["_areas"] = shapely.area(places.geoms)
    areas: np.ndarray = places.__dict__["_areas"]
    return areas


def place_totals(layer: PopulationLayer, method: str | None) -> PlaceTotals:
    """The people (and area) of every place of the layer, computed once.

    Parameters
    ----------
    layer : PopulationLayer
        A layer with places.
    method : str or None
        The estimation method (``None``: the layer's own).

    Returns
    -------
    PlaceTotals
        ``{pop: {level: {code: people}} or None}`` and ``"_area"``: ``{level: {code: m²}}``.
    """
    memo = layer_memo(layer, "places")
    if method in memo:
        done: PlaceTotals = memo[method]
        return done
    pl = places_of(layer)
    zone_area = _zone_areas(pl)
    out: PlaceTotals = {"_area": {}}
    for lv in pl.levels:
        u, inv = np.unique(pl.codes[lv].astype(str), return_inverse=True)
        out["_area"][lv] = dict(
            zip(u.tolist(), np.bincount(inv, weights=zone_area, minlength=len(u)).tolist())
        )
    for pop in POPS:
        s = layer.surface(pop, method)
        out[pop] = None if s is None else _per_level(pl, s)
    memo[method] = out
    return out


def _per_level(pl: PlaceSet, s: CountSurface) -> dict[str, dict[str, float]]:
    """``{level: {code: people}}`` of surface ``s`` in the places ``pl``."""
    same = (
        s.kind != "points"
        and len(s.geoms) == len(pl.geoms)
        and (s.geoms is pl.geoms or bool(shapely.equals_exact(s.geoms, pl.geoms, 0.0).all()))
    )
    member_vals: np.ndarray | None
    zone_of: np.ndarray | None
    if same:  # the places are unions of this surface's zones: sums, exact
        member_vals = s.values
        zone_of = np.arange(len(pl.geoms))
    elif s.kind == "points" and pl.groups_nest and s.group is not None:
        # each group (one census count, nested in the places) in the zone of its first point
        g_first = np.unique(s.group, return_index=True)[1]
        gi, zi = pl.tree.query(s.geoms[g_first], predicate="intersects")
        first_g, first = np.unique(gi, return_index=True)
        zone_of_group = np.full(len(g_first), -1)
        zone_of_group[first_g] = zi[first]
        lost = np.nonzero(zone_of_group < 0)[0]
        if len(lost):  # a point just off generalised zones (the coast): the nearest zone
            lp, lz = pl.tree.query_nearest(s.geoms[g_first][lost], all_matches=False)
            zone_of_group[lost[lp]] = lz
        totals = np.bincount(s.group, weights=s.values, minlength=int(s.group.max()) + 1)
        groups = s.group[g_first]
        ok = zone_of_group >= 0
        member_vals, zone_of = totals[groups[ok]], zone_of_group[ok]
    elif s.kind == "points":  # each point in the zone that holds it
        pi, zi = pl.tree.query(s.geoms, predicate="intersects")
        first_p, first = np.unique(pi, return_index=True)
        member_vals, zone_of = s.values[first_p], zi[first]
    else:
        member_vals = zone_of = None
    per_level = {}
    for lv in pl.levels:
        u, inv = np.unique(pl.codes[lv].astype(str), return_inverse=True)
        sums: np.ndarray
        if member_vals is not None and zone_of is not None:
            sums = np.bincount(inv[zone_of], weights=member_vals, minlength=len(u))
        else:
            polys = np.array([pl.geometry(lv, c) for c in u.tolist()], dtype=object)
            sums = est.count(s, polys).estimate
        per_level[lv] = dict(zip(u.tolist(), sums.tolist()))
    return per_level


def places_overlap(
    layer: PopulationLayer, level: str, codes: tuple[str, ...] | list[str]
) -> float | None:
    """The people living in the union of places ``codes`` who travel to work in it.

    Exact where the places are made of whole local authorities (the flows among them, from the
    layer's :class:`~geotarget.layers.commuting.Commuting`).

    Parameters
    ----------
    layer : PopulationLayer
        A layer with places.
    level : str
        The places' level.
    codes : sequence of str
        The places.

    Returns
    -------
    float or None
        None where the layer has no flows or the places are not whole local authorities.
    """
    flows, pl = layer.commuting, layer.places
    if flows is None or pl is None or LA_LEVEL not in pl.codes or level not in pl.codes:
        return None
    memo = layer_memo(layer, "place_authorities")
    if level not in memo:
        lv, la = pl.codes[level].astype(str), pl.codes[LA_LEVEL].astype(str)
        of: dict[str, set[str]] = {}
        for a, b in zip(lv.tolist(), la.tolist()):
            of.setdefault(a, set()).add(b)
        memo[level] = of
        # the places of this level each authority's zones lie in
        owners: dict[str, set[str]] = {}
        for a, bs in of.items():
            for b in bs:
                owners.setdefault(b, set()).add(a)
        memo[(level, "owners")] = owners
    las: set[str] = set().union(*(memo[level].get(c, set()) for c in codes))
    owners = memo[(level, "owners")]
    whole = all(owners[b] <= set(codes) for b in las)  # no authority only partly inside
    if not las or not whole or not flows.knows(las):
        return None
    return flows.places_overlap(las)
