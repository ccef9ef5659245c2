"""People counted once in a set of postcode districts, and in a catchment's part inside them.

A postcode footprint's residents and workers are the sums of its districts' people
(:meth:`~geotarget.platforms.district_counts.DistrictCounts.totals`), and the catchment's people
inside it the sums of its (catchment, district) pairs (``Facts.districts``).  The workers who
also live in the footprint are estimated from the same parts
(:meth:`geotarget.layers.commuting.Commuting.overlap`): each district's people per commuting area
(MSOA), counted in the district's polygon once per layer, and each (catchment, district) pair's
people per area, from the catchment's points in the district.  A set of districts adds its
districts' parts; nothing is counted again per venue, so the one-venue path and the batch's
array work call :func:`overlap_in_districts` with the same parts, in the same order, and get the
same bits.

Only point surfaces grouped by census zone, each zone in an area of the flows
(``CountSurface.group_area``), can be counted once; elsewhere these give None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import estimate as est
from ..layers.commuting import area_totals
from .layer_totals import layer_memo
from .people import POPS

if TYPE_CHECKING:
    from ..layers.base import CountSurface, PopulationLayer
    from ..layers.commuting import Commuting
    from .districts import DistrictSet

#: per population, people per (part, area) in compressed rows: ``(start, area, people)``, the
#: part ``k``'s areas and people at ``start[k]:start[k + 1]``
Parts = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def grouped(surfaces: dict[str, CountSurface | None]) -> bool:
    """Whether every population is a point surface whose groups lie in areas of the flows."""
    return all(
        s is not None and s.kind == "points" and s.group is not None and s.group_area is not None
        for s in (surfaces.get(p) for p in POPS)
    )


def _rows(key: np.ndarray, people: np.ndarray, n_parts: int, n_areas: int) -> tuple:
    """``(start, area, people)`` of entries keyed ``part * n_areas + area`` (summed per key)."""
    u, inv = np.unique(key, return_inverse=True)
    sums = np.bincount(inv, weights=people, minlength=len(u))
    start = np.searchsorted(u // max(n_areas, 1), np.arange(n_parts + 1))
    return start, u % max(n_areas, 1), sums


def pair_parts(
    surface: CountSurface, pair: np.ndarray, point: np.ndarray, n_pairs: int, n_areas: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The people of each (catchment, district) pair per area of the flows.

    Parameters
    ----------
    surface : CountSurface
        A point surface grouped by census zone, each zone in an area of the flows.
    pair, point : numpy.ndarray of int
        Per point inside a catchment and a district: the pair's index and the point's.
    n_pairs, n_areas : int
        The pairs and the areas of the flows.

    Returns
    -------
    tuple
        ``(start, area, people)`` (see :data:`Parts`).
    """
    assert surface.group is not None and surface.group_area is not None
    area = surface.group_area[surface.group[point]]
    key = pair.astype(np.int64) * n_areas + area
    return _rows(key, surface.values[point], n_pairs, n_areas)


def district_parts(
    layer: PopulationLayer,
    method: str | None,
    ds: DistrictSet,
    surfaces: dict[str, CountSurface | None],
    idx: np.ndarray,
) -> Parts:
    """Each district's people per area of the flows, with at least districts ``idx`` counted
    (in their polygons, as their people are; kept on the layer for the batches that follow).

    Parameters
    ----------
    layer : PopulationLayer
        The layer.
    method : str or None
        The estimation method (``None``: the layer's own).
    ds : DistrictSet
        The districts around the layer.
    surfaces : dict
        The layer's surfaces for ``method`` (see :func:`grouped`).
    idx : numpy.ndarray of int
        The districts needed.

    Returns
    -------
    Parts
        Per population, the rows of every district (empty where not counted yet).
    """
    assert layer.commuting is not None
    n_areas, nd = len(layer.commuting.within), len(ds.codes)
    memo = layer_memo(layer, "district_overlap")
    key = (method, id(ds))
    # (districts counted, their rows): replaced whole, never changed in place, so that another
    # thread reads a consistent pair
    done, rows = memo.get(key, (np.zeros(nd, bool), {}))
    new = np.unique(idx[~done[idx]]) if len(idx) else idx
    if not len(new):
        out: Parts = rows
        return out
    rows = dict(rows)
    for pop in POPS:
        s = surfaces[pop]
        assert s is not None and s.group_area is not None
        c = est.count(s, ds.polygons[new], groups=True)
        assert c.groups is not None
        ci, g, people = c.groups
        keys = new[ci].astype(np.int64) * n_areas + s.group_area[g]
        if pop in rows:  # the districts counted before, kept as they were
            start, area, ppl = rows[pop]
            part = np.repeat(np.arange(nd, dtype=np.int64), np.diff(start))
            keys = np.concatenate([part * n_areas + area, keys])
            people = np.concatenate([ppl, people])
        rows[pop] = _rows(keys, people, nd, n_areas)
    done = done.copy()
    done[new] = True
    memo[key] = (done, rows)
    return rows


def _gather(parts: tuple, which: np.ndarray, slot: np.ndarray) -> tuple:
    """The rows of parts ``which`` (in that order), each labelled with its ``slot``: a
    :data:`~geotarget.layers.commuting.GroupCounts` whose groups are areas of the flows."""
    start, area, people = parts
    lo, hi = start[which], start[which + 1]
    size = hi - lo
    at = np.repeat(lo - np.cumsum(size) + size, size) + np.arange(int(size.sum()))
    return np.repeat(slot, size).astype(np.int64), area[at], people[at]


def overlap_in_districts(
    flows: Commuting,
    surfaces: dict[str, CountSurface | None],
    parts: Parts,
    which: np.ndarray,
    slot: np.ndarray,
    n: int,
) -> np.ndarray:
    """The workers who also live in each of ``n`` unions of parts.

    Parameters
    ----------
    flows : Commuting
        The layer's flows.
    surfaces : dict
        The surfaces the parts were counted on (their areas' totals are the shares'
        denominators).
    parts : Parts
        The parts (districts, or (catchment, district) pairs).
    which, slot : numpy.ndarray of int
        The parts making up the unions, and the union each belongs to (a union's parts in
        the order given).
    n : int
        The unions.

    Returns
    -------
    numpy.ndarray of float
        Per union, the estimate, never more than its residents or its workers.
    """
    n_areas = len(flows.within)
    ident = np.arange(n_areas)
    res, wrk = surfaces["residents"], surfaces["workers"]
    assert res is not None and wrk is not None
    r = _gather(parts["residents"], which, slot)
    w = _gather(parts["workers"], which, slot)
    got = flows.overlap(r, ident, area_totals(res, n_areas), w, ident, area_totals(wrk, n_areas), n)
    cap = np.minimum(
        np.bincount(r[0], weights=r[2], minlength=n), np.bincount(w[0], weights=w[2], minlength=n)
    )
    out: np.ndarray = np.clip(got, 0.0, np.maximum(cap, 0.0))
    return out
