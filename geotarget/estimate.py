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


def count(surface: CountSurface, catchments: np.ndarray, *, method: str | None = None) -> Counts:
    """Count ``surface`` inside each catchment polygon (same CRS as the surface)."""
    catchments = np.asarray(catchments, dtype=object)
    shapely.prepare(catchments)
    if surface.kind != "points":
        return _count_areal(surface, catchments)
    if surface.group is not None:
        return _count_grouped(surface, catchments)
    return _count_points(surface, catchments)


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


def _inside(surface: CountSurface, catchments: np.ndarray):
    # point-in-polygon on the tree's candidates; points on the edge count as inside
    return surface.tree.query(catchments, predicate="intersects")


def _count_grouped(surface: CountSurface, catchments: np.ndarray) -> Counts:
    n = len(catchments)
    ci, pi = _inside(surface, catchments)
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


def _count_points(surface: CountSurface, catchments: np.ndarray) -> Counts:
    n = len(catchments)
    ci, pi = _inside(surface, catchments)
    vals = surface.values[pi]
    est = _sum(ci, vals, n)
    zones = _sum(ci, (vals > 0).astype(float), n).astype(int)
    extra = {k: _sum(ci, v[pi], n) for k, v in surface.extra.items()}
    if surface.edge_m is None:
        return Counts(est, est.copy(), est.copy(), zones, extra, surface.method)
    # points near the edge, inside or outside, could belong on either side
    reach = float(surface.edge_m.max()) if len(surface.edge_m) else 0.0
    bi, bj = surface.tree.query(shapely.boundary(catchments), predicate="dwithin", distance=reach)
    d = shapely.distance(shapely.boundary(catchments)[bi], surface.geoms[bj])
    near = d <= surface.edge_m[bj]
    bi, bj = bi[near], bj[near]
    v = surface.values[bj]
    var = _sum(bi, (v / 2.0) ** 2, n)
    is_in = shapely.intersects(catchments[bi], surface.geoms[bj])
    floor = est - _sum(bi, np.where(is_in, v, 0.0), n)
    ceiling = est + _sum(bi, np.where(is_in, 0.0, v), n)
    low, high = _interval(est, np.sqrt(var), floor, ceiling)
    return Counts(est, low, high, zones, extra, surface.method)
