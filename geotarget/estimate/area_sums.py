"""The people of each commuting area (an MSOA) inside large circles, without testing every point.

Counting people once (:mod:`geotarget.layers.commuting`) needs, per circle, the residents and
the workers of each area inside it.  For circles with many points (a 15-mile circle holds most
of London) the aggregate index (:mod:`geotarget.estimate.aggregate`) gives the totals, and this
module the per-area detail from a two-level hierarchy built once per surface: areas, then the
census groups in them, then the points.  Each area and group has a centre and a radius (the
largest distance from it to one of its points, in ECEF metres):

* an area or group whose centre is within ``radius - its radius - MARGIN_M`` of the circle's
  centre is wholly inside (by the triangle inequality, every point passes the point test with
  room to spare for rounding): its total is added;
* one farther than ``radius + its radius + MARGIN_M`` is wholly outside;
* only the groups of the areas the edge may cross are looked at, and only the points of the
  groups the edge may cross are tested, by the point test itself (:meth:`PointIndex.distances`).

So the per-area sums are the point test's, up to the order of addition.  The result has the form
of :attr:`Counts.groups`, ``(circle, group, people)``, with an area's people given under one
representative group of that area where the area is wholly inside, which is all the consumer
(the per-area sums of :meth:`Commuting.overlap`) reads.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..layers.base import CountSurface
from .circles import PointIndex, point_index

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741 -- an index array

#: metres of room for rounding in the "wholly inside / outside" decisions (the coordinates'
#: rounding is about 1e-9 m)
MARGIN_M = 1e-3
#: (circle, area) pairs held at once, about
BLOCK_PAIRS = 2_000_000


@dataclass
class _Tree:
    """Areas -> groups -> points of one surface, with centres and radii in ECEF metres."""

    pos: I  # per point, its position in the point index (for the exact test)
    g_points: I  # points sorted by group
    g_start: I  # per group, its first entry in g_points (n_groups + 1)
    g_centre: F
    g_rho: F
    g_total: F
    a_groups: I  # groups sorted by area
    a_start: I  # per area, its first entry in a_groups (n_areas + 1)
    a_centre: F
    a_rho: F
    a_total: F
    a_rep: I  # a group of each area (-1: none)


_CACHE: weakref.WeakKeyDictionary[CountSurface, dict[str, _Tree]] = weakref.WeakKeyDictionary()


def _norm(d: F) -> F:
    return np.sqrt((d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]) + d[..., 2] * d[..., 2])


def _centres(ecef: F, order: I, start: I) -> tuple[F, F]:
    """Mean position and radius (largest distance to a member) of each run of ``order``."""
    n = len(start) - 1
    counts = np.diff(start)
    has = counts > 0
    centre = np.full((n, 3), np.nan)
    rho = np.full(n, -np.inf)
    if not has.any():
        return centre, rho
    first = start[:-1][has]
    sums = np.add.reduceat(ecef[order], first, axis=0)
    centre[has] = sums / counts[has, None]
    owner = np.repeat(np.arange(n), counts)
    d = _norm(ecef[order] - centre[owner])
    rho[has] = np.maximum.reduceat(d, first)
    return centre, rho


def _tree(surface: CountSurface, crs: str, index: PointIndex) -> _Tree:
    per = _CACHE.setdefault(surface, {})
    if crs in per:
        return per[crs]
    assert surface.group is not None and surface.group_area is not None
    n_pts = len(surface.values)
    pos = np.empty(n_pts, np.int64)
    pos[index.order] = np.arange(n_pts)
    ex, ey, ez = index._ecef_at(np.arange(n_pts, dtype=np.int64))
    ecef = np.empty((n_pts, 3))
    ecef[index.order, 0], ecef[index.order, 1], ecef[index.order, 2] = ex, ey, ez
    group = np.asarray(surface.group, dtype=np.int64)
    n_groups = len(surface.group_totals)
    g_points = np.argsort(group, kind="stable")
    g_start = np.searchsorted(group[g_points], np.arange(n_groups + 1))
    g_centre, g_rho = _centres(ecef, g_points, g_start)
    g_area = np.asarray(surface.group_area, dtype=np.int64)
    n_areas = int(g_area.max()) + 1 if len(g_area) else 0
    a_groups = np.argsort(g_area, kind="stable")
    a_start = np.searchsorted(g_area[a_groups], np.arange(n_areas + 1))
    p_area = g_area[group]
    a_points = np.argsort(p_area, kind="stable")
    a_pstart = np.searchsorted(p_area[a_points], np.arange(n_areas + 1))
    a_centre, a_rho = _centres(ecef, a_points, a_pstart)
    g_total = np.asarray(surface.group_totals, dtype=float)
    a_total = np.asarray(np.bincount(g_area, weights=g_total, minlength=n_areas), dtype=float)
    a_rep = np.where(np.diff(a_start) > 0, a_groups[np.minimum(a_start[:-1], n_groups - 1)], -1)
    t = _Tree(
        pos, g_points, g_start, g_centre, g_rho, g_total, a_groups, a_start, a_centre, a_rho,
        a_total, a_rep,
    )  # fmt: skip
    per[crs] = t
    return t


def _expand(start: I, which: I) -> tuple[I, I]:
    """For each entry ``which[j]`` of a run-length table ``start``: (j, member position) pairs."""
    lo, n = start[which], start[which + 1] - start[which]
    j = np.repeat(np.arange(len(which)), n)
    first = np.cumsum(n) - n
    return j, np.arange(int(n.sum()), dtype=np.int64) - np.repeat(first - lo, n)


def area_groups(surface: CountSurface, crs: str, centres: F, radius: F) -> tuple[I, I, F]:
    """Per circle, the people of each area of ``surface`` inside it, as :attr:`Counts.groups`.

    Parameters
    ----------
    surface : CountSurface
        A dasymetric point surface with ``group_area`` (its groups' commuting areas).
    crs : str
        The layer's CRS.
    centres : numpy.ndarray of float, shape (m, 3)
        The circles' ECEF centres.
    radius : numpy.ndarray of float
        Their radii, metres.

    Returns
    -------
    tuple of numpy.ndarray
        ``(circle, group, people)``; the people of an area wholly inside a circle appear once,
        under a representative group of the area, the others group by group or point by point.
    """
    index = point_index(surface, crs)
    t = _tree(surface, crs, index)
    radius = np.asarray(radius, dtype=float)
    values = np.asarray(surface.values, dtype=float)
    ok_a = np.flatnonzero(t.a_rho > -np.inf)
    out_c: list[I] = []
    out_g: list[I] = []
    out_v: list[F] = []
    step = max(1, BLOCK_PAIRS // max(len(ok_a), 1))
    for b0 in range(0, len(radius), step):
        cs = np.arange(b0, min(b0 + step, len(radius)))
        d = _norm(t.a_centre[ok_a][None, :, :] - centres[cs][:, None, :])
        r = radius[cs][:, None]
        rho = t.a_rho[ok_a][None, :]
        whole = d + rho + MARGIN_M <= r
        edge = ~whole & (d - rho - MARGIN_M <= r)
        wc, wa = np.nonzero(whole)
        out_c.append(cs[wc])
        out_g.append(t.a_rep[ok_a[wa]])
        out_v.append(t.a_total[ok_a[wa]])
        ec, ea = np.nonzero(edge)
        if not len(ec):
            continue
        ec, ea = cs[ec], ok_a[ea]
        # the groups of the areas on the edge
        j, gpos = _expand(t.a_start, ea)
        gc, g = ec[j], t.a_groups[gpos]
        has = t.g_rho[g] > -np.inf
        gc, g = gc[has], g[has]
        dg = _norm(t.g_centre[g] - centres[gc])
        gw = dg + t.g_rho[g] + MARGIN_M <= radius[gc]
        ge = ~gw & (dg - t.g_rho[g] - MARGIN_M <= radius[gc])
        out_c.append(gc[gw])
        out_g.append(g[gw])
        out_v.append(t.g_total[g[gw]])
        # the points of the groups on the edge: the point test itself
        gc, g = gc[ge], g[ge]
        j, ppos = _expand(t.g_start, g)
        pc, p = gc[j], t.g_points[ppos]
        inside = index.distances(centres, pc, t.pos[p]) <= radius[pc]
        out_c.append(pc[inside])
        out_g.append(np.asarray(surface.group, dtype=np.int64)[p[inside]])
        out_v.append(values[p[inside]])
    if not out_c:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0)
    c = np.concatenate(out_c).astype(np.int64)
    order = np.argsort(c, kind="stable")
    return c[order], np.concatenate(out_g)[order], np.concatenate(out_v)[order]
