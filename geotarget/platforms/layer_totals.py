"""People of a layer's places, and the memo the platforms keep on a layer.

:class:`~geotarget.platforms.footprints.Facts` measures the footprints of a batch of venues;
what does not depend on the venues is kept on the layer (:func:`layer_memo`), for every batch
that follows: here the people and area of every place (:func:`place_totals`) and the people who
both live and work in a union of places (:func:`places_overlap`); the people of every postcode
district in :mod:`geotarget.platforms.district_counts`; the places each catchment overlaps in
:mod:`geotarget.platforms.touching`.

Rules
-----
* A place's people: for zones that are the place's own zones, the sum of those zones; for points,
  the points lying in the place's zones; otherwise counted in the place polygon.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from .. import estimate as est
from ..layers.base import CountSurface, PlaceSet, PopulationLayer
from .people import POPS

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
