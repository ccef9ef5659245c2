"""The ``dasymetric`` method: each census zone's count spread over points where its people live
(residential postcodes, workplace-zone centroids); the range from the share of each zone's
points inside the catchment."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..layers.base import CountSurface
from .counts import Counts, Pairs, _interval, _sum


def _count_grouped(
    surface: CountSurface, catchments: NDArray[np.object_], pairs: Pairs, groups: bool = False
) -> Counts:
    """Count a dasymetric point surface (points grouped by census zone) inside ``catchments``,
    given the (catchment, point) pairs with the point inside (with the people of each group
    inside, ``Counts.groups``, when ``groups``)."""
    assert surface.group is not None and surface.group_k is not None  # a dasymetric surface
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
    starts = (
        np.flatnonzero(np.concatenate([[True], ks[1:] != ks[:-1]]))
        if len(ks)
        else np.zeros(0, np.int64)
    )
    ukey = ks[starts]
    inside = np.add.reduceat(vals[order], starts) if len(starts) else np.zeros(0)
    uc, ug = ukey // ngroups, ukey % ngroups
    tot = surface.group_totals[ug]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(tot > 0, np.clip(inside / tot, 0.0, 1.0), 1.0)
    full = f >= 1.0 - 1e-12
    var = np.where(full, 0.0, tot**2 * f * (1 - f) / surface.group_k[ug])
    floor = _sum(uc, np.where(full, tot, 0.0), n)
    ceiling = _sum(uc, tot, n)
    low, high = _interval(est, np.sqrt(_sum(uc, var, n)), floor, ceiling)
    zones = _sum(uc, (inside > 0).astype(float), n).astype(int)  # census zones contributing
    kept = (uc, ug, inside) if groups else None
    return Counts(est, low, high, zones, extra, surface.method, kept)
