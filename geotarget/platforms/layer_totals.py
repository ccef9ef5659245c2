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

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from .. import estimate as est
from ..layers.base import CountSurface, PlaceSet, PopulationLayer

if TYPE_CHECKING:
    from .districts import DistrictSet

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
