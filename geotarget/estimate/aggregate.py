"""Circles counted in time that does not grow with their area: a k-d tree whose nodes carry sums.

The tree is built over *items* -- the census zones (groups) of a dasymetric point surface, or
the points of a plain one -- in ECEF coordinates (EPSG:4978, the positions the exact test of
:mod:`geotarget.estimate.circles` measures between).  Every node holds the axis-aligned box of
its points' ECEF positions and the sums of their counts.  A circle then adds the sum of each node
wholly inside it, skips each node wholly outside, and descends only into the nodes its edge may
cross; at the bottom, the items the edge may cross have their points tested one by one, exactly
as the point test does.

*Exact, not approximate.*  A point is in when its straight-line (chord) distance to the centre,
computed in floating point as ``sqrt((dx*dx + dy*dy) + dz*dz)`` with ``dx = px - cx`` and so on,
is at most the radius.  Every operation in that formula is monotone under IEEE rounding, so
evaluating it at the box's farthest corner gives a number at least as large as the computed
distance of every point in the box, and at its nearest point (per axis, the gap ``lo - c`` or
``c - hi``, else 0) a number no larger.  "Farthest corner <= radius" therefore means every point
of the node passes the point test, and "nearest point > radius" that none does: the decision is
the point test's own, and the counts differ from a point-by-point sum only by the order of
addition (float rounding).

The range needs no more: a census zone wholly inside is exact (it adds its total to both
bounds); the zones the edge crosses are the boundary items, whose inside share is computed from
their points as in :mod:`geotarget.estimate.dasymetric`.  For plain points the range comes from
the points within ``edge_m`` of the edge, so a node counts as wholly in (or out) only when it
is so by more than its largest ``edge_m``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..layers.base import CountSurface
from .counts import Counts, _interval

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741 -- an index array

#: items per leaf of the tree (at most): the boundary's leaves are tested item by item
LEAF = 8
#: (circle, node) pairs held at once while descending, about; more circles go in groups
MAX_FRONTIER = 3_000_000


def _far_near_axes(
    lo: tuple[F, F, F],
    hi: tuple[F, F, F],
    box: I,
    c: tuple[F, F, F],
    ci: I,
    reach: F,
    margin: F | None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per (box, circle) pair: whether every point of box ``box`` passes the point test of
    circle ``ci`` (by more than ``margin``), and whether none does (by more than ``margin``).

    ``lo``/``hi`` are the boxes' corners and ``c`` the circles' centres, one contiguous array
    per axis; the farthest-corner and nearest-point distances are computed with the point
    test's own operations, in its order (``sqrt((x*x + y*y) + z*z)``).
    """
    dmax = dmin = np.zeros(0)
    for ax in range(3):
        cc = c[ax][ci]
        a = lo[ax][box] - cc
        b = hi[ax][box] - cc
        far = np.maximum(np.abs(a), np.abs(b))
        np.negative(b, out=b)
        near = np.maximum(np.maximum(a, b, out=a), 0.0, out=a)
        far *= far
        near *= near
        if ax == 0:
            dmax, dmin = far, near
        else:
            dmax += far
            dmin += near
    np.sqrt(dmax, out=dmax)
    np.sqrt(dmin, out=dmin)
    rr = reach[ci]
    if margin is None:
        return dmax <= rr, dmin > rr
    return rr - dmax > margin, dmin - rr > margin


def _axes(a: F) -> tuple[F, F, F]:
    """The columns of an (n, 3) array, each contiguous."""
    return (
        np.ascontiguousarray(a[:, 0]),
        np.ascontiguousarray(a[:, 1]),
        np.ascontiguousarray(a[:, 2]),
    )


def _norm(d: F) -> F:
    """``sqrt((x*x + y*y) + z*z)`` per row, as :meth:`PointIndex.distances` computes it."""
    x = d[:, 0] * d[:, 0]
    x += d[:, 1] * d[:, 1]
    x += d[:, 2] * d[:, 2]
    return np.sqrt(x, out=x)


def _dist(p: F, c: F) -> F:
    """The point test's distance between rows of ``p`` and ``c`` (both (m, 3))."""
    return _norm(p - c)


@dataclass
class _Sums:
    """Per-circle running sums: the estimate, extra counts, range bounds and variance."""

    est: F
    extra: dict[str, F]
    floor: F
    ceiling: F
    var: F
    zones: F


class AggregateIndex:
    """A k-d tree over a point surface's items (census zones, or points), nodes carrying sums.

    Parameters
    ----------
    surface : CountSurface
        A point surface (dasymetric or plain).
    layout : dict of str to numpy.ndarray
        Where its points sit in the tree, from :func:`layout` (or as stored with a cached
        layer): the rest is derived from it and the surface.
    """

    def __init__(self, surface: CountSurface, layout: dict[str, np.ndarray]) -> None:
        self.grouped = surface.group is not None
        self.extra_names = list(surface.extra)
        self.depth = int(layout["depth"][0])
        pts = layout["point"]
        self.pe: F = layout["pe"]
        self.istart: I = layout["istart"]
        self.iend: I = np.r_[self.istart[1:], len(pts)].astype(np.int64)
        self.item_group: I = layout["item_group"]
        self.ilo: F = layout["ilo"]
        self.ihi: F = layout["ihi"]
        m = len(self.istart)
        self.pv: F = surface.values[pts]
        self.pextra = {k: v[pts] for k, v in surface.extra.items()}
        self.pedge = None
        if surface.edge_m is not None and not self.grouped:
            self.pedge = surface.edge_m[pts]
        # per item, its sums: the estimate, the extras, then (zones) the total and whether it
        # contributes, or (points) whether it contributes
        cols = [self.pv, *self.pextra.values()]
        isum = np.zeros((m, len(cols)))
        if m:
            isum = np.column_stack([np.add.reduceat(c, self.istart) for c in cols])
        if self.grouped:
            assert surface.group_k is not None
            self._totals, self._group_k = surface.group_totals, surface.group_k
            isum = np.column_stack(
                [isum, self._totals[self.item_group], (isum[:, 0] > 0).astype(float)]
            )
        else:
            isum = np.column_stack([isum, (self.pv > 0).astype(float)])
        self.isum: F = isum
        self.iedge = self.pedge
        self._build_nodes(m)
        self._lo3, self._hi3 = _axes(self.lo), _axes(self.hi)
        self._ilo3, self._ihi3 = _axes(self.ilo), _axes(self.ihi)
        ne = self.leaf_end > self.leaf_start
        leaf_lo, leaf_hi = self.lo[-len(ne) :][ne], self.hi[-len(ne) :][ne]
        diag = np.linalg.norm(np.minimum(leaf_hi - leaf_lo, 1e9), axis=1)
        self.leaf_size = max(float(np.median(diag)) if len(diag) else 1.0, 1.0)
        self.leaf_points = max(len(self.pv) / max(int(ne.sum()), 1), 1.0)

    def _build_nodes(self, m: int) -> None:
        """Boxes and sums of every node, level by level (node ``k``'s children: 2k+1, 2k+2)."""
        nleaf = 1 << self.depth
        bounds = _leaf_bounds(m, self.depth)
        self.leaf_start, self.leaf_end = bounds[:-1], bounds[1:]
        leaf_of = np.repeat(np.arange(nleaf), np.diff(bounds))
        nonempty = np.flatnonzero(np.diff(bounds) > 0)
        lo = np.full((nleaf, 3), np.inf)
        hi = np.full((nleaf, 3), -np.inf)
        if m:
            st = bounds[nonempty]
            lo[nonempty] = np.minimum.reduceat(self.ilo, st, axis=0)
            hi[nonempty] = np.maximum.reduceat(self.ihi, st, axis=0)
        sums = (
            np.column_stack(
                [
                    np.bincount(leaf_of, weights=self.isum[:, j], minlength=nleaf)
                    for j in range(self.isum.shape[1])
                ]
            )
            if self.isum.shape[1]
            else np.zeros((nleaf, 0))
        )
        edge = np.zeros(nleaf)
        if self.iedge is not None and m:
            edge[nonempty] = np.maximum.reduceat(self.iedge, bounds[nonempty])
        los, his, ss, es = [lo], [hi], [sums], [edge]
        for _ in range(self.depth):
            lo, hi = np.minimum(lo[0::2], lo[1::2]), np.maximum(hi[0::2], hi[1::2])
            sums, edge = sums[0::2] + sums[1::2], np.maximum(edge[0::2], edge[1::2])
            los.append(lo)
            his.append(hi)
            ss.append(sums)
            es.append(edge)
        # breadth first: the root, then each level left to right
        self.lo: F = np.concatenate(los[::-1])
        self.hi: F = np.concatenate(his[::-1])
        self.sums: F = np.concatenate(ss[::-1])
        self.edge = np.concatenate(es[::-1]) if self.iedge is not None else None

    # -- queries --------------------------------------------------------------------------------
    def count(self, centres: F, reach: F) -> _Sums:
        """Per circle (ECEF centre, radius in metres): the sums of the points inside.

        Parameters
        ----------
        centres : numpy.ndarray of float, shape (m, 3)
            The circles' ECEF centres.
        reach : numpy.ndarray of float
            Their radii (m); a non-finite or negative radius holds nothing.

        Returns
        -------
        _Sums
            The estimate, extra counts, range bounds, variance and contributing zones.
        """
        nc = len(reach)
        ncol = self.sums.shape[1]
        acc = np.zeros((nc, ncol))
        sums = _Sums(
            np.zeros(nc),
            {k: np.zeros(nc) for k in self.extra_names},
            np.zeros(nc),
            np.zeros(nc),
            np.zeros(nc),
            np.zeros(nc),
        )
        good = np.flatnonzero(np.isfinite(reach) & (reach >= 0) & np.isfinite(centres).all(axis=1))
        for part in self._groups(reach, good):
            ci, leaf = self._descend(centres, reach, part, acc)
            ci, item = self._items(centres, reach, ci, leaf, acc)
            if self.grouped:
                self._boundary_groups(centres, reach, ci, item, sums)
            else:
                self._boundary_points(centres, reach, ci, item, sums)
        self._finish(acc, sums)
        return sums

    def _groups(self, reach: F, good: I) -> list[I]:
        """The circles ``good`` in groups whose descents hold about :data:`MAX_FRONTIER` pairs."""
        if not len(good):
            return []
        cost = (8.0 + 2.0 * np.pi * reach[good] / self.leaf_size) * self.leaf_points
        cut = np.floor(np.cumsum(cost) / MAX_FRONTIER).astype(np.int64)
        edges = np.flatnonzero(np.diff(cut)) + 1
        return np.split(good, edges)

    def _descend(self, c: F, r: F, part: I, acc: F) -> tuple[I, I]:
        """Walk the tree for circles ``part``: nodes wholly inside add their sums to ``acc``;
        returns the (circle, leaf) pairs the edge may cross."""
        ci = part.astype(np.int64)
        node = np.zeros(len(ci), np.int64)
        nc = len(acc)
        c3 = _axes(c)
        for level in range(self.depth + 1):
            if not len(ci):
                break
            margin = None if self.edge is None else self.edge[node]
            inside, out = _far_near_axes(self._lo3, self._hi3, node, c3, ci, r, margin)
            if inside.any():
                _add(acc, ci[inside], self.sums[node[inside]], nc)
            keep = ~(inside | out)
            ci, node = ci[keep], node[keep]
            if level < self.depth:
                ci = np.repeat(ci, 2)
                node = 2 * np.repeat(node, 2) + 1
                node[1::2] += 1
        return ci, node - ((1 << self.depth) - 1)

    def _items(self, c: F, r: F, ci: I, leaf: I, acc: F) -> tuple[I, I]:
        """The items of the leaves ``leaf``: those wholly inside add their sums to ``acc``;
        returns the (circle, item) pairs the edge may cross."""
        a, b = self.leaf_start[leaf], self.leaf_end[leaf]
        ln = b - a
        ci = np.repeat(ci, ln)
        item = np.arange(int(ln.sum()), dtype=np.int64) - np.repeat(np.cumsum(ln) - ln - a, ln)
        margin = None if self.iedge is None else self.iedge[item]
        inside, out = _far_near_axes(self._ilo3, self._ihi3, item, _axes(c), ci, r, margin)
        if inside.any():
            _add(acc, ci[inside], self.isum[item[inside]], len(acc))
        keep = ~(inside | out)
        return ci[keep], item[keep]

    def _boundary_groups(self, c: F, r: F, ci: I, item: I, s: _Sums) -> None:
        """Census zones the edge may cross: their points tested one by one, then each zone's
        share inside as :func:`geotarget.estimate.dasymetric._count_grouped` computes it."""
        if not len(ci):
            return
        a, b = self.istart[item], self.iend[item]
        ln = b - a
        k = np.arange(int(ln.sum()), dtype=np.int64) - np.repeat(np.cumsum(ln) - ln - a, ln)
        # the point test's distance, coordinate by coordinate (the same operations in the same
        # order as _norm, so the same bits), each pair's centre repeated over its points
        pk = self.pe[k] - np.repeat(c[ci], ln, axis=0)
        d = pk[:, 0] * pk[:, 0]
        for ax in (1, 2):
            d += pk[:, ax] * pk[:, ax]
        pin = np.sqrt(d, out=d) <= np.repeat(r[ci], ln)
        pair = np.repeat(np.arange(len(ci)), ln)[pin]
        k = k[pin]
        n, npair = len(r), len(ci)
        inside = np.bincount(pair, weights=self.pv[k], minlength=npair)
        touched = np.bincount(pair, minlength=npair) > 0
        cc = ci[touched]
        s.est += np.bincount(ci[pair], weights=self.pv[k], minlength=n)
        for name, v in self.pextra.items():
            s.extra[name] += np.bincount(ci[pair], weights=v[k], minlength=n)
        g = self.item_group[item[touched]]
        inside = inside[touched]
        tot = self._totals[g]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(tot > 0, np.clip(inside / tot, 0.0, 1.0), 1.0)
        full = f >= 1.0 - 1e-12
        s.var += np.bincount(
            cc, weights=np.where(full, 0.0, tot**2 * f * (1 - f) / self._group_k[g]), minlength=n
        )
        s.floor += np.bincount(cc, weights=np.where(full, tot, 0.0), minlength=n)
        s.ceiling += np.bincount(cc, weights=tot, minlength=n)
        s.zones += np.bincount(cc, weights=(inside > 0).astype(float), minlength=n)

    def _boundary_points(self, c: F, r: F, ci: I, item: I, s: _Sums) -> None:
        """Plain points near the edge (within their ``edge_m``): counted when inside, and in the
        range as :func:`geotarget.estimate.points._count_points` does."""
        if not len(ci) or self.pedge is None:
            return
        n = len(r)
        d = _dist(self.pe[item], c[ci])
        rr = r[ci]
        is_in = d <= rr
        near = np.abs(d - rr) <= self.pedge[item]
        v = self.pv[item]
        s.est += np.bincount(ci, weights=np.where(is_in, v, 0.0), minlength=n)
        s.zones += np.bincount(ci, weights=(is_in & (v > 0)).astype(float), minlength=n)
        for name, ev in self.pextra.items():
            s.extra[name] += np.bincount(ci, weights=np.where(is_in, ev[item], 0.0), minlength=n)
        s.var += np.bincount(ci, weights=np.where(near, (v / 2.0) ** 2, 0.0), minlength=n)
        # floor and ceiling hold, until _finish, minus / plus the near points' values
        s.floor -= np.bincount(ci, weights=np.where(near & is_in, v, 0.0), minlength=n)
        s.ceiling += np.bincount(ci, weights=np.where(near & ~is_in, v, 0.0), minlength=n)

    def _finish(self, acc: F, s: _Sums) -> None:
        """Add the nodes' and items' sums to the boundary's."""
        s.est += acc[:, 0]
        for j, name in enumerate(self.extra_names, start=1):
            s.extra[name] += acc[:, j]
        e = 1 + len(self.extra_names)
        if self.grouped:
            s.floor += acc[:, e]
            s.ceiling += acc[:, e]
            s.zones += acc[:, e + 1]
        else:
            s.zones += acc[:, e]
            s.floor += s.est
            s.ceiling += s.est


def layout(surface: CountSurface, ecef: F) -> dict[str, np.ndarray]:
    """Where each point of ``surface`` sits in its :class:`AggregateIndex`: the arrays a cached
    layer stores.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    ecef : numpy.ndarray of float, shape (n, 3)
        Its points' ECEF positions (the exact test's, bit for bit); non-finite rows are left out
        (the point test never finds them either).

    Returns
    -------
    dict of str to numpy.ndarray
        ``point`` (the surface row of each indexed point, in tree order), ``pe`` (their ECEF
        positions), ``istart`` (each item's first point), ``item_group`` (each item's zone),
        ``ilo`` / ``ihi`` (each item's box) and ``depth``.
    """
    ok = np.flatnonzero(np.isfinite(ecef).all(axis=1))
    n = len(surface.values)
    if surface.group is not None:
        order = ok[np.argsort(surface.group[ok], kind="stable")]
        g = surface.group[order]
        firsts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, int)
        item_group = g[firsts].astype(np.int64)
        pstart = firsts.astype(np.int64)
        pend = np.r_[firsts[1:], len(g)].astype(np.int64)
    else:
        order = ok
        pstart = np.arange(len(ok), dtype=np.int64)
        pend = pstart + 1
        item_group = np.zeros(0, np.int64)
    pe = ecef[order]  # points grouped by item, items not yet in tree order
    m = len(pstart)
    ilo = np.minimum.reduceat(pe, pstart, axis=0) if m else np.zeros((0, 3))
    ihi = np.maximum.reduceat(pe, pstart, axis=0) if m else np.zeros((0, 3))
    if surface.group is not None and len(ok) < n:
        # a zone with a point the test never finds is never wholly inside: its points are
        # always tested (an unbounded box)
        short = np.bincount(surface.group, minlength=len(surface.group_totals))
        short = short[item_group] > (pend - pstart)
        ilo[short], ihi[short] = -np.inf, np.inf
    perm, depth = _kd_order((ilo + ihi) / 2.0, LEAF)
    lens = (pend - pstart)[perm]
    istart = np.cumsum(lens) - lens
    within = np.arange(int(lens.sum())) - np.repeat(istart, lens)
    pts = order[np.repeat(pstart[perm], lens) + within]
    return {
        "point": pts.astype(np.int64),
        "pe": np.ascontiguousarray(ecef[pts]),
        "istart": istart.astype(np.int64),
        "item_group": item_group[perm] if surface.group is not None else item_group,
        "ilo": ilo[perm],
        "ihi": ihi[perm],
        "depth": np.array([depth], dtype=np.int64),
    }


def _add(acc: F, ci: I, rows: F, n: int) -> None:
    """``acc[ci] += rows``, summed per circle."""
    for j in range(acc.shape[1]):
        acc[:, j] += np.bincount(ci, weights=rows[:, j], minlength=n)


def _leaf_bounds(m: int, depth: int) -> I:
    """The first item of each of the ``2**depth`` leaves, then ``m``: halves, level by level
    (a node of items ``[a, b)`` splits at ``(a + b) // 2``)."""
    b = np.array([0, m], dtype=np.int64)
    for _ in range(depth):
        mid = (b[:-1] + b[1:]) // 2
        out = np.empty(2 * len(b) - 1, dtype=np.int64)
        out[0::2], out[1::2] = b, mid
        b = out
    return b


def _kd_order(centre: F, leaf: int) -> tuple[I, int]:
    """A k-d order of the rows of ``centre``: each node's items sorted along its widest axis and
    halved, down to nodes of at most ``leaf`` items; returns the order and the depth."""
    m = len(centre)
    depth = 0
    while (m + (1 << depth) - 1) >> depth > leaf:
        depth += 1
    perm = np.arange(m, dtype=np.int64)
    for level in range(depth):
        b = _leaf_bounds(m, level)
        node = np.repeat(np.arange(len(b) - 1), np.diff(b))
        pts = centre[perm]
        nz = np.flatnonzero(np.diff(b) > 0)
        lo = np.minimum.reduceat(pts, b[nz], axis=0)
        hi = np.maximum.reduceat(pts, b[nz], axis=0)
        axis = np.zeros(len(b) - 1, dtype=np.int64)
        axis[nz] = np.argmax(hi - lo, axis=1)
        key = pts[np.arange(m), axis[node]]
        perm = perm[np.lexsort((key, node))]
    return perm, depth


#: aggregate indices per surface and CRS; weak keys (an index holds no reference back to its
#: surface), so a surface no longer used is freed with its index
_CACHE: weakref.WeakKeyDictionary[CountSurface, dict[str, AggregateIndex]] = (
    weakref.WeakKeyDictionary()
)


#: loaders of the layouts stored with cached layers, per surface and CRS (see
#: :func:`store_loader`)
_STORED: weakref.WeakKeyDictionary[
    CountSurface, dict[str, Callable[[], dict[str, np.ndarray] | None]]
] = weakref.WeakKeyDictionary()


def store_loader(
    surface: CountSurface, crs: str, load: Callable[[], dict[str, np.ndarray] | None]
) -> None:
    """Give ``surface`` a stored layout: :func:`aggregate_index` then calls ``load`` (which may
    return ``None``: the layout is then computed) instead of building the tree.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The CRS of its points.
    load : callable
        Returns the arrays of :func:`layout`, or ``None``.
    """
    _STORED.setdefault(surface, {})[crs] = load


def index_loaded(surface: CountSurface, crs: str) -> bool:
    """Whether the aggregate index of ``surface`` is in memory.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The CRS of its points.

    Returns
    -------
    bool
        ``True`` when :func:`aggregate_index` returns at once.
    """
    return crs in _CACHE.get(surface, {})


def index_stored(surface: CountSurface, crs: str) -> bool:
    """Whether the layout of the aggregate index of ``surface`` is stored (with a cached layer).

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The CRS of its points.

    Returns
    -------
    bool
        ``True`` when :func:`aggregate_index` would load it rather than build it.
    """
    return crs in _STORED.get(surface, {})


def aggregate_index(surface: CountSurface, crs: str) -> AggregateIndex:
    """The (cached) :class:`AggregateIndex` of a point surface whose points are in ``crs``.

    Parameters
    ----------
    surface : CountSurface
        A point surface.
    crs : str
        The CRS of its points (the layer's).

    Returns
    -------
    AggregateIndex
        Built on first use, then kept for as long as the surface lives.
    """
    from .circles import surface_ecef

    per = _CACHE.setdefault(surface, {})
    if crs not in per:
        load = _STORED.get(surface, {}).get(crs)
        arrays = load() if load is not None else None
        if arrays is None:
            arrays = layout(surface, surface_ecef(surface, crs))
        per[crs] = AggregateIndex(surface, arrays)
    return per[crs]


def count_circles(surface: CountSurface, crs: str, centres: F, radius: F) -> Counts:
    """Count a point surface inside circles with the aggregate index: the point test's answers.

    Parameters
    ----------
    surface : CountSurface
        A point surface (dasymetric or plain) in ``crs``.
    crs : str
        The layer's CRS.
    centres : numpy.ndarray of float, shape (m, 3)
        The circles' ECEF centres.
    radius : numpy.ndarray of float
        Their radii, in metres.

    Returns
    -------
    Counts
        As :func:`geotarget.estimate.count` gives them (to float rounding).
    """
    s = aggregate_index(surface, crs).count(centres, np.asarray(radius, dtype=float))
    zones = np.rint(s.zones).astype(int)
    if surface.group is None and surface.edge_m is None:
        return Counts(s.est, s.est.copy(), s.est.copy(), zones, s.extra, surface.method)
    low, high = _interval(s.est, np.sqrt(s.var), s.floor, s.ceiling)
    return Counts(s.est, low, high, zones, s.extra, surface.method)
