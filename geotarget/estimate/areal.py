"""The ``areal`` method: exact areal weighting of zones and grid cells, with a numpy path for
convex catchments (circles) that needs no polygon overlay per (catchment, zone) pair."""

from __future__ import annotations

import weakref

import numpy as np
import shapely
from numpy.typing import NDArray

from ..layers.base import CountSurface
from .counts import Counts, _interval, _sum

_F64 = NDArray[np.float64]
_Idx = NDArray[np.intp]
#: (catchment, zone, covered fraction) triples
_Fractions = tuple[_Idx, _Idx, _F64]


def _overlay_fractions(surface: CountSurface, catchments: NDArray[np.object_]) -> _Fractions:
    """(catchment, zone, covered fraction) by polygon overlay (any catchment polygons)."""
    shapely.prepare(catchments)
    ci, zi = surface.tree.query(catchments, predicate="intersects")
    geoms = surface.geoms[zi]
    frac = np.ones(len(ci))
    whole = shapely.covers(catchments[ci], geoms)  # prepared: fast, edges shared allowed
    cut = ~whole
    if cut.any():
        inter = shapely.intersection(catchments[ci[cut]], geoms[cut])
        frac[cut] = np.clip(shapely.area(inter) / surface.areas[zi[cut]], 0.0, 1.0)
    return ci, zi, frac


def overlap_fractions(surface: CountSurface, catchments: NDArray[np.object_]) -> _Fractions:
    """The share of each zone's area inside each catchment it meets.

    Convex catchments (circles) are measured by numpy edge geometry, the others by a polygon
    overlay.

    Parameters
    ----------
    surface : CountSurface
        A zones or grid surface.
    catchments : numpy.ndarray of shapely geometries
        The catchment polygons, in the surface's CRS.

    Returns
    -------
    tuple of numpy.ndarray
        ``(catchment, zone, fraction)`` for every zone meeting each catchment: indices into
        ``catchments`` and the surface's zones, and the share (0 to 1) of the zone's area
        inside the catchment.
    """
    n = len(catchments)
    simple = np.zeros(n, bool)
    if n:
        simple = (
            (shapely.get_type_id(catchments) == 3)
            & ~shapely.is_empty(catchments)
            & (shapely.get_num_interior_rings(catchments) == 0)
        )
    fast = np.nonzero(simple)[0]
    parts: list[_Fractions] = []
    if len(fast):
        cv = _convex(catchments, fast)
        fast, other = fast[cv.ok], np.r_[np.nonzero(~simple)[0], fast[~cv.ok]]
        if len(fast):
            cv = _Convex(catchments[fast]) if not cv.ok.all() else cv
            c, z, f = _areal_convex(surface, catchments[fast], cv)
            parts.append((fast[c], z, f))
    else:
        other = np.arange(n)
    if len(other):
        c, z, f = _overlay_fractions(surface, catchments[other])
        parts.append((other[c], z, f))
    if parts:
        ci, zi, frac = (np.concatenate(a) for a in zip(*parts))
    else:
        ci, zi, frac = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return ci, zi, frac


def _count_areal(surface: CountSurface, catchments: NDArray[np.object_]) -> Counts:
    """Count a zones or grid surface inside ``catchments`` by areal weighting."""
    n = len(catchments)
    ci, zi, frac = overlap_fractions(surface, catchments)
    vals = surface.values[zi]
    est = _sum(ci, vals * frac, n)
    floor = _sum(ci, np.where(frac >= 1.0, vals, 0.0), n)
    ceiling = _sum(ci, np.where(frac > 0.0, vals, 0.0), n)
    partial = (frac > 0) & (frac < 1)
    var = np.where(partial, vals**2 * frac * (1 - frac) / surface.clusters_per_zone, 0.0)
    low, high = _interval(est, np.sqrt(_sum(ci, var, n)), floor, ceiling)
    zones = _sum(ci, (frac > 0).astype(float), n).astype(int)
    extra = {k: _sum(ci, v[zi] * frac, n) for k, v in surface.extra.items()}
    return Counts(est, low, high, zones, extra, surface.method)


# -- areal weighting against convex catchments (circles), without a polygon overlay per pair --
#
# For a convex catchment C with an interior point o, the area of (zone ∩ C) is the sum over the
# zone's oriented edges AB of the signed area of (triangle o,A,B) ∩ C.  Along AB, the part inside
# C is one interval [t0, t1] (C is convex); the triangle's part over it is the triangle o,P0,P1,
# and over the parts outside C it is the sector of C between the rays through their ends.  Sector
# areas come from cumulative fan areas of C, so each edge costs O(1) plus, for the few edges
# that cross C's boundary, a clip against the C edges over their angular range (a point on a ray
# from o is inside C exactly when it is inside the half-plane of the C edge that ray crosses).

#: (ax, ay, bx, by, start, count): zone edges A->B, and each zone's first edge and edge count
_Edges = tuple[_F64, _F64, _F64, _F64, _Idx, _Idx]
_ZONE_EDGES: weakref.WeakKeyDictionary[CountSurface, _Edges] = weakref.WeakKeyDictionary()
_BLOCK = 1_000_000  # zone edges per block (memory)


def _zone_edges(surface: CountSurface) -> _Edges:
    """Edges (A, B) of every zone's rings, exteriors counter-clockwise and holes clockwise,
    grouped by zone: ``(ax, ay, bx, by, start, count)``."""
    hit = _ZONE_EDGES.get(surface)
    if hit is None:
        parts, part_zone = shapely.get_parts(
            shapely.orient_polygons(surface.geoms), return_index=True
        )
        rings, part = shapely.get_rings(parts, return_index=True)
        zone = part_zone[part]
        xy, ring = shapely.get_coordinates(rings, return_index=True)
        same = ring[:-1] == ring[1:]
        a, b = xy[:-1][same], xy[1:][same]
        ez = zone[ring[:-1][same]]
        keep = (a != b).any(axis=1)
        a, b, ez = a[keep], b[keep], ez[keep]
        count = np.bincount(ez, minlength=len(surface.geoms))
        start = np.cumsum(count) - count
        hit = (a[:, 0].copy(), a[:, 1].copy(), b[:, 0].copy(), b[:, 1].copy(), start, count)
        _ZONE_EDGES[surface] = hit
    return hit


class _Convex:
    """Convex catchments: vertices relative to an interior point, sorted by angle around it."""

    ox: _F64  # the interior point o of each catchment
    oy: _F64
    vx: _F64  # vertices relative to o, by catchment then angle
    vy: _F64
    start: _Idx  # each catchment's first vertex
    n: _Idx  # and its number of vertices
    nxt: _Idx  # the next vertex counter-clockwise
    gcum: _F64  # fan area before each vertex
    area: _F64
    ok: NDArray[np.bool_]  # convex, usable by the numpy path
    r_in: _F64  # inscribed and circumscribed radii around o
    r_out: _F64

    def __init__(self, polys: NDArray[np.object_]) -> None:
        xy, idx = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
        n = len(polys)
        cnt = np.bincount(idx, minlength=n)
        last = np.cumsum(cnt) - 1
        keep = np.ones(len(xy), bool)
        keep[last[cnt > 0]] = False  # the closing vertex
        xy, idx = xy[keep], idx[keep]
        cnt = np.bincount(idx, minlength=n)
        self.ox = np.bincount(idx, weights=xy[:, 0], minlength=n) / np.maximum(cnt, 1)
        self.oy = np.bincount(idx, weights=xy[:, 1], minlength=n) / np.maximum(cnt, 1)
        vx, vy = xy[:, 0] - self.ox[idx], xy[:, 1] - self.oy[idx]
        ang = np.arctan2(vy, vx)
        order = np.argsort(idx * 8.0 + ang + 4.0, kind="stable")
        self.vx, self.vy, self.key = vx[order], vy[order], (idx * 8.0 + ang + 4.0)[order]
        self.start = np.cumsum(cnt) - cnt
        self.n = cnt
        cat = idx[order]
        self.cat = cat
        nxt = np.arange(len(order)) + 1
        nxt[self.start[cnt > 0] + cnt[cnt > 0] - 1] = self.start[cnt > 0]
        self.nxt = nxt
        ex, ey = self.vx[nxt] - self.vx, self.vy[nxt] - self.vy
        fan = 0.5 * (self.vx * self.vy[nxt] - self.vy * self.vx[nxt])
        # fan areas summed within each catchment only (one row each), so that a catchment's
        # answer does not depend on the others in the batch (the one-venue path is a batch of 1)
        pos = np.arange(len(cat)) - self.start[cat]
        grid = np.zeros((n, int(cnt.max()) if len(cnt) else 0))
        grid[cat, pos] = fan
        self.gcum = np.cumsum(grid, axis=1)[cat, pos] - fan
        self.area = _sum(cat, fan, n)
        elen = np.hypot(ex, ey)
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.where(elen > 0, (self.vx * ey - self.vy * ex) / elen, np.inf)
            turn = ex * ey[nxt] - ey * ex[nxt]
        ok = np.ones(n, bool)
        bad = (fan <= 0) | (turn < -1e-9 * elen * elen[nxt])
        ok[cat[bad]] = False
        ok &= (cnt >= 3) & (np.abs(self.area - shapely.area(polys)) <= 1e-9 * self.area)
        self.ok = ok
        self.r_in = np.full(n, np.inf)
        self.r_out = np.zeros(n)
        if len(cat):
            np.minimum.at(self.r_in, cat, dist)
            np.maximum.at(self.r_out, cat, np.hypot(self.vx, self.vy))

    def edge_at(self, c: _Idx, px: _F64, py: _F64) -> tuple[_Idx, NDArray[np.bool_]]:
        """Index of the C vertex starting the edge that the ray from o through P crosses, and
        whether P's angle lies before the first vertex (the wrap-around edge)."""
        j = np.searchsorted(self.key, c * 8.0 + np.arctan2(py, px) + 4.0, side="right") - 1
        wrap = j < self.start[c]
        j = np.where(wrap, self.start[c] + self.n[c] - 1, j)
        return j, wrap

    def g(self, c: _Idx, px: _F64, py: _F64) -> _F64:
        """Fan area of C from its first vertex's ray counter-clockwise to the ray through P."""
        k, wrap = self.edge_at(c, px, py)
        n_ = self.nxt[k]
        vx, vy = self.vx[k], self.vy[k]
        ex, ey = self.vx[n_] - vx, self.vy[n_] - vy
        with np.errstate(invalid="ignore", divide="ignore"):
            lam = (vx * ey - vy * ex) / (px * ey - py * ex)
            part = np.where((px == 0) & (py == 0), 0.0, 0.5 * lam * (vx * py - vy * px))
        return self.gcum[k] + part - np.where(wrap, self.area[c], 0.0)

    def sector(self, c: _Idx, ax: _F64, ay: _F64, bx: _F64, by: _F64) -> _F64:
        """Signed area of C inside the wedge swept from the ray through A to the ray through B
        (the short way)."""
        cr, dt = ax * by - ay * bx, ax * bx + ay * by
        sweep = np.arctan2(cr, dt)
        m = np.rint((np.arctan2(ay, ax) + sweep - np.arctan2(by, bx)) / (2 * np.pi))
        s = self.g(c, bx, by) - self.g(c, ax, ay) + m * self.area[c]
        zero = ((ax == 0) & (ay == 0)) | ((bx == 0) & (by == 0)) | (sweep == 0)
        return np.where(zero, 0.0, s)


def _clip_near(
    cv: _Convex, c: _Idx, ax: _F64, ay: _F64, dx: _F64, dy: _F64, ts: _F64, te: _F64
) -> tuple[_F64, _F64]:
    """The interval [t0, t1] of A + t D inside C, for segments whose part inside C's
    circumscribed disc is t in [ts, te] (a Cyrus-Beck clip against the C edges over that part's
    angular range)."""
    ws, we = np.maximum(ts - 1e-9, 0.0), np.minimum(te + 1e-9, 1.0)
    sx, sy, ex_, ey_ = ax + ws * dx, ay + ws * dy, ax + we * dx, ay + we * dy
    js, _ = cv.edge_at(c, sx, sy)
    je, _ = cv.edge_at(c, ex_, ey_)
    sweep = np.arctan2(sx * ey_ - sy * ex_, sx * ex_ + sy * ey_)
    n = cv.n[c]
    lo = np.where(sweep >= 0, js, je) - cv.start[c]
    hi = np.where(sweep >= 0, je, js) - cv.start[c]
    cnt = np.mod(hi - lo, n) + 3  # one edge of margin each side
    lo = lo - 1
    full = (np.abs(sweep) > 3.0) | (cnt >= n)
    lo = np.where(full, 0, lo)
    cnt = np.where(full, n, cnt)
    seg = np.repeat(np.arange(len(c)), cnt)
    first = np.cumsum(cnt) - cnt
    k = cv.start[c][seg] + np.mod(lo[seg] + np.arange(len(seg)) - first[seg], n[seg])
    kn = cv.nxt[k]
    evx, evy = cv.vx[kn] - cv.vx[k], cv.vy[kn] - cv.vy[k]
    f0 = evx * (ay[seg] - cv.vy[k]) - evy * (ax[seg] - cv.vx[k])
    fd = evx * dy[seg] - evy * dx[seg]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = -f0 / fd
    lower = np.where(fd > 0, t, -np.inf)
    upper = np.where(fd < 0, t, np.inf)
    upper = np.where((fd == 0) & (f0 < 0), -np.inf, upper)  # parallel and outside: empty
    t0 = np.maximum(np.maximum.reduceat(lower, first), ts) if len(seg) else ts
    t1 = np.minimum(np.minimum.reduceat(upper, first), te) if len(seg) else te
    return t0, t1


# (catchments array, rows, _Convex): residents and workers share it
_LAST_CONVEX: list[tuple[weakref.ref[NDArray[np.object_]], _Idx, _Convex]] = []


def _convex(catchments: NDArray[np.object_], rows: _Idx) -> _Convex:
    """The :class:`_Convex` of ``catchments[rows]``, reused when asked again for the same."""
    if _LAST_CONVEX:
        ref, r, cv = _LAST_CONVEX[0]
        if ref() is catchments and np.array_equal(r, rows):
            return cv
    cv = _Convex(catchments[rows])
    _LAST_CONVEX[:] = [(weakref.ref(catchments), rows, cv)]
    return cv


def _areal_convex(surface: CountSurface, polys: NDArray[np.object_], cv: _Convex) -> _Fractions:
    """(catchment, zone, covered fraction) for convex catchments; zones wholly inside get
    exactly 1, zones not meeting the catchment are left out."""
    ax_, ay_, bx_, by_, zstart, zcount = _zone_edges(surface)
    ci, zi = surface.tree.query(polys)  # bounding boxes
    out_c: list[_Idx] = []
    out_z: list[_Idx] = []
    out_f: list[_F64] = []
    cnt = zcount[zi]
    bounds = np.searchsorted(np.cumsum(cnt), np.arange(_BLOCK, cnt.sum() + _BLOCK, _BLOCK))
    lo = 0
    for hi in np.unique(np.r_[bounds, len(ci)]):
        if hi <= lo:
            continue
        c, z = ci[lo:hi], zi[lo:hi]
        f = _fractions(surface, cv, c, z, ax_, ay_, bx_, by_, zstart, zcount)
        redo = np.nonzero(np.isnan(f))[0]
        if len(redo):  # degenerate: the centre on a zone's boundary
            g = surface.geoms[z[redo]]
            whole = shapely.covers(polys[c[redo]], g)
            f[redo] = np.where(
                whole,
                1.0,
                np.clip(
                    shapely.area(shapely.intersection(polys[c[redo]], g)) / surface.areas[z[redo]],
                    0.0,
                    1.0,
                ),
            )
        keep = f > 0
        out_c.append(c[keep])
        out_z.append(z[keep])
        out_f.append(f[keep])
        lo = hi
    if not out_c:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(out_c), np.concatenate(out_z), np.concatenate(out_f)


def _fractions(
    surface: CountSurface,
    cv: _Convex,
    ci: _Idx,
    zi: _Idx,
    ax_: _F64,
    ay_: _F64,
    bx_: _F64,
    by_: _F64,
    zstart: _Idx,
    zcount: _Idx,
) -> _F64:
    """The covered fraction of each (catchment ``ci``, zone ``zi``) pair, from the zones' edges;
    NaN where the catchment's interior point lies on the zone's boundary (left to the
    overlay)."""
    npair = len(ci)
    cnt = zcount[zi]
    pe = np.repeat(np.arange(npair), cnt)
    first = np.cumsum(cnt) - cnt
    e = zstart[zi][pe] + (np.arange(len(pe)) - first[pe])
    c = ci[pe]
    ox, oy = cv.ox[c], cv.oy[c]
    ax, ay = ax_[e] - ox, ay_[e] - oy
    bx, by = bx_[e] - ox, by_[e] - oy
    rin = cv.r_in[c] * (1 - 1e-9)
    rout = cv.r_out[c] * (1 + 1e-9) + 1e-9
    aa, bb = ax * ax + ay * ay, bx * bx + by * by
    inside = (aa <= rin * rin) & (bb <= rin * rin)
    dx, dy = bx - ax, by - ay
    qa = dx * dx + dy * dy
    qb = 2 * (ax * dx + ay * dy)
    disc = qb * qb - 4 * qa * (aa - rout * rout)
    with np.errstate(invalid="ignore"):
        sq = np.sqrt(disc)
        ts = np.maximum((-qb - sq) / (2 * qa), 0.0)
        te = np.minimum((-qb + sq) / (2 * qa), 1.0)
    near = ~inside & (disc > 0) & (ts <= te)
    t0 = np.where(inside, 0.0, 1.0)
    t1 = np.where(inside, 1.0, 0.0)
    ni = np.nonzero(near)[0]
    if len(ni):
        t0[ni], t1[ni] = _clip_near(cv, c[ni], ax[ni], ay[ni], dx[ni], dy[ni], ts[ni], te[ni])
    touch = t0 <= t1
    whole_e = (t0 <= 0) & (t1 >= 1)
    any_touch = np.bincount(pe, weights=touch, minlength=npair) > 0
    all_in = (np.bincount(pe, weights=~whole_e, minlength=npair) == 0) & (cnt > 0)
    frac = np.zeros(npair)
    frac[all_in] = 1.0
    # the sectors of C between consecutive edges telescope around each closed ring: the area is
    # C's when o is inside the zone (winding number 1), plus, for each edge part inside C, its
    # triangle from o instead of C's sector over the same wedge
    todo = np.nonzero(~all_in)[0]
    if len(todo):
        gz, cx, cy = surface.geoms[zi[todo]], cv.ox[ci[todo]], cv.oy[ci[todo]]
        o_in = shapely.contains_xy(gz, cx, cy)
        o_edge = shapely.intersects_xy(gz, cx, cy) & ~o_in  # o on the zone's boundary
        area = np.zeros(npair)
        area[todo[o_in]] = cv.area[ci[todo[o_in]]]
        et = np.nonzero(touch & ~all_in[pe])[0]
        if len(et):
            cc = c[et]
            p0x, p0y = ax[et] + t0[et] * dx[et], ay[et] + t0[et] * dy[et]
            p1x, p1y = ax[et] + t1[et] * dx[et], ay[et] + t1[et] * dy[et]
            d = 0.5 * (p0x * p1y - p0y * p1x) - cv.sector(cc, p0x, p0y, p1x, p1y)
            area += np.bincount(pe[et], weights=d, minlength=npair)
        frac[todo] = np.clip(area[todo] / surface.areas[zi[todo]], 0.0, 1.0)
        frac[todo[~o_in & ~any_touch[todo]]] = 0.0
        frac[todo[o_edge]] = np.nan  # for the overlay
    return frac
