"""Searches on a :class:`~geotarget.network.graph.Network`: snapping points to the streets, the
network cost from venues to every node (scipy's Dijkstra with a limit, many venues at once), the
cost to snapped points, the reached streets and whether a search reached the edge of the data.

A point (a venue, a postcode) sits at its nearest point on the nearest segment; the distance
between the two is walked (for driving, at the walking speed) and added to its cost.  A point on
a segment is reached from either end, or straight along the segment from a venue on the same
segment; partly reached segments count up to where the budget runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from .graph import EPS, Network


@dataclass
class Snap:
    """Points placed on the network.

    Parameters
    ----------
    seg : numpy.ndarray
        The nearest segment of each point (``-1``: none within reach).
    frac : numpy.ndarray
        Where on it, as a fraction of its length from its ``u`` node.
    offset_m : numpy.ndarray
        The distance from the point to the street, metres (``inf`` for none).
    """

    seg: NDArray[np.int64]
    frac: NDArray[np.float64]
    offset_m: NDArray[np.float64]

    def take(self, idx: NDArray[np.int64]) -> Snap:
        """The snaps of the points ``idx``."""
        return Snap(self.seg[idx], self.frac[idx], self.offset_m[idx])


def snap(
    net: Network, x: NDArray[np.float64], y: NDArray[np.float64], max_m: float | None = None
) -> Snap:
    """The nearest point on the network of each point ``(x, y)`` in ``net.crs``.

    Parameters
    ----------
    net : Network
        The network.
    x, y : numpy.ndarray
        The points, metres in ``net.crs``.
    max_m : float or None
        Points farther than this from every street get no snap (``seg = -1``).

    Returns
    -------
    Snap
    """
    n = len(x)
    seg = np.full(n, -1, dtype=np.int64)
    frac = np.zeros(n)
    off = np.full(n, np.inf)
    if n == 0:
        return Snap(seg, frac, off)
    pts = cast("NDArray[np.object_]", shapely.points(x, y))
    pi, si = net.tree.query_nearest(pts, max_distance=max_m, all_matches=False)
    if len(pi):
        seg[pi] = si
        frac[pi] = shapely.line_locate_point(net.lines[si], pts[pi], normalized=True)
        frac[pi] = np.nan_to_num(frac[pi], nan=0.0)  # zero-length segments
        off[pi] = shapely.distance(net.lines[si], pts[pi])
    return Snap(seg, frac, off)


def _step(cost: NDArray[np.float64], f: NDArray[np.float64]) -> NDArray[np.float64]:
    """``f * cost``: 0 for ``f = 0``, ``inf`` where the direction is not allowed."""
    finite = np.isfinite(cost)
    step = np.where(finite, f * np.where(finite, cost, 0.0), np.inf)
    return np.where(f <= 0, 0.0, step)


def search(
    net: Network,
    src: Snap,
    src_cost: NDArray[np.float64],
    limit: float,
    nodes: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """The network cost from each source to every node, ``inf`` beyond ``limit``.

    Each source is a node added to the graph, joined to its segment's two ends (by the allowed
    directions); one call of :func:`scipy.sparse.csgraph.dijkstra` with a ``limit`` searches
    from all of them.

    Parameters
    ----------
    net : Network
        The network.
    src : Snap
        The sources, snapped (all with a segment).
    src_cost : numpy.ndarray
        The cost of getting from each source to its street.
    limit : float
        The budget (metres for walking, seconds for driving).
    nodes : numpy.ndarray or None
        Search only among these nodes (sorted; they must hold every node the sources can
        reach within ``limit`` and their segments' ends): the result's columns are then these
        nodes, plus a last column of ``inf`` for every other (see :func:`sub_map`).

    Returns
    -------
    numpy.ndarray
        ``(k, n_nodes)`` costs (``(k, len(nodes) + 1)`` with ``nodes``).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n, k = net.n_nodes, len(src.seg)
    a, b, c = net.arcs()
    s = src.seg
    su, sv = net.u[s], net.v[s]
    if nodes is not None:
        m = sub_map(net, nodes)
        a, b = m[a], m[b]
        keep = (a < len(nodes)) & (b < len(nodes))
        a, b, c = a[keep], b[keep], c[keep]
        su, sv, n = m[su], m[sv], len(nodes)
    new = n + np.arange(k)
    to_u = src_cost + _step(net.cost_back[s], src.frac)
    to_v = src_cost + _step(net.cost_fwd[s], 1.0 - src.frac)
    tails = np.concatenate([a, new, new])
    heads = np.concatenate([b, su, sv])
    costs = np.concatenate([c, to_u, to_v])
    ok = np.isfinite(costs)
    g = csr_matrix((np.maximum(costs[ok], EPS), (tails[ok], heads[ok])), shape=(n + k, n + k))
    d = np.asarray(dijkstra(g, directed=True, indices=new, limit=limit))
    if nodes is not None:  # the last column stands for every node left out
        d[:, n] = np.inf
        return d[:, : n + 1]
    out: NDArray[np.float64] = d[:, :n]
    return out


def sub_map(net: Network, nodes: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each node's column in a search among ``nodes`` (``len(nodes)`` for those left out).

    Parameters
    ----------
    net : Network
        The network.
    nodes : numpy.ndarray
        The nodes searched, sorted.

    Returns
    -------
    numpy.ndarray
    """
    m = np.full(net.n_nodes, len(nodes), dtype=np.int64)
    m[nodes] = np.arange(len(nodes))
    return m


def clipped(
    net: Network,
    dist: NDArray[np.float64],
    src: Snap,
    limit: float,
    node_map: NDArray[np.int64] | None = None,
) -> NDArray[np.bool_]:
    """Whether each search reached the edge of the data (so could have gone further).

    Parameters
    ----------
    net : Network
        The network.
    dist : numpy.ndarray
        ``(k, n_nodes)`` costs from :func:`search`.
    src : Snap
        The sources.
    limit : float
        The budget.
    node_map : numpy.ndarray or None
        With a search among some nodes only: :func:`sub_map` of them.

    Returns
    -------
    numpy.ndarray of bool
    """
    if "exits" not in net._cache:
        eu, ev = np.flatnonzero(np.isfinite(net.exit_u)), np.flatnonzero(np.isfinite(net.exit_v))
        net._cache["exits"] = (np.flatnonzero(net.edge), eu, ev)
    edge, eu, ev = net._cache["exits"]
    nu, nv = net.u[eu], net.v[ev]
    if node_map is not None:
        edge, nu, nv = node_map[edge], node_map[nu], node_map[nv]
    at_edge = (dist[:, edge] <= limit).any(axis=1)
    leaves = ((dist[:, nu] + net.exit_u[eu][None, :]) <= limit).any(axis=1)
    leaves |= ((dist[:, nv] + net.exit_v[ev][None, :]) <= limit).any(axis=1)
    # a source outside the area (both ends of its segment at the edge)
    own = net.edge[net.u[src.seg]] & net.edge[net.v[src.seg]]
    return np.asarray(at_edge | leaves | own)


def reached_lines(
    net: Network, dist: NDArray[np.float64], src: Snap, src_cost: float, limit: float, j: int = 0
) -> NDArray[np.object_]:
    """The reached streets of source ``j``, partly reached segments cut where the budget ends,
    as lines in ``net.crs``.

    Parameters
    ----------
    net : Network
        The network.
    dist : numpy.ndarray
        ``(n_nodes,)`` costs of this source.
    src : Snap
        The sources.
    src_cost : float
        This source's cost to its street.
    limit : float
        The budget.
    j : int
        Which source.

    Returns
    -------
    numpy.ndarray of shapely.LineString
    """
    du, dv = dist[net.u], dist[net.v]
    with np.errstate(invalid="ignore", divide="ignore"):
        au = np.where(du < limit, np.clip(_ratio(limit - du, net.cost_fwd), 0, 1), 0.0)
        av = np.where(dv < limit, np.clip(_ratio(limit - dv, net.cost_back), 0, 1), 0.0)
    full = au + av >= 1.0
    starts = [np.zeros(int(full.sum())), np.zeros(0), np.zeros(0)]
    ends = [np.ones(int(full.sum())), np.zeros(0), np.zeros(0)]
    segs = [np.flatnonzero(full)]
    part_u = np.flatnonzero(~full & (au > 0))
    part_v = np.flatnonzero(~full & (av > 0))
    segs += [part_u, part_v]
    starts[1], ends[1] = np.zeros(len(part_u)), au[part_u]
    starts[2], ends[2] = 1.0 - av[part_v], np.ones(len(part_v))
    # along the source's own segment
    s, f = int(src.seg[j]), float(src.frac[j])
    left = limit - src_cost
    if left > 0:
        fw = min(1.0, f + float(_ratio(np.array([left]), net.cost_fwd[[s]])[0]))
        bw = max(0.0, f - float(_ratio(np.array([left]), net.cost_back[[s]])[0]))
        segs.append(np.array([s, s]))
        starts.append(np.array([f, bw]))
        ends.append(np.array([fw, f]))
    seg = np.concatenate(segs)
    t0, t1 = np.concatenate(starts), np.concatenate(ends)
    p, q = net.xy[net.u[seg]], net.xy[net.v[seg]]
    a = p + (q - p) * t0[:, None]
    b = p + (q - p) * t1[:, None]
    return cast("NDArray[np.object_]", shapely.linestrings(np.stack([a, b], axis=1)))


def _ratio(budget: NDArray[np.float64], cost: NDArray[np.float64]) -> NDArray[np.float64]:
    """The share of a segment of ``cost`` that ``budget`` pays for (0 where not allowed)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(np.isfinite(cost), budget / np.maximum(cost, EPS), 0.0)
    return np.asarray(r, dtype=np.float64)


def polygon(lines: NDArray[np.object_], width_m: float) -> BaseGeometry:
    """The reached streets buffered by ``width_m`` (each side), the holes they enclose filled.

    Parameters
    ----------
    lines : numpy.ndarray of shapely.LineString
        The reached streets (:func:`reached_lines`), in a metric CRS.
    width_m : float
        The buffer, metres.

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        A polygon or multipolygon.
    """
    # each line buffered, then one union: much faster than buffering the whole linework
    shape = shapely.union_all(shapely.buffer(lines, width_m, quad_segs=4))
    parts = shapely.get_parts(shape)
    filled = shapely.polygons(shapely.get_exterior_ring(parts))
    out: BaseGeometry = shapely.union_all(filled)
    return out


def incidence(net: Network) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The segments at each node, as CSR (``starts``, ``segments``): node ``i``'s segments are
    ``segments[starts[i]:starts[i + 1]]``.

    Parameters
    ----------
    net : Network
        The network.

    Returns
    -------
    tuple of numpy.ndarray
    """
    if "incidence" not in net._cache:
        ends = np.concatenate([net.u, net.v])
        segs = np.concatenate([np.arange(len(net.u)), np.arange(len(net.u))])
        order = np.argsort(ends, kind="stable")
        starts = np.searchsorted(ends[order], np.arange(net.n_nodes + 1))
        net._cache["incidence"] = (starts, segs[order])
    inc: tuple[NDArray[np.int64], NDArray[np.int64]] = net._cache["incidence"]
    return inc


def points_by_segment(net: Network, pts: Snap) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The points on each segment, as CSR (``starts``, ``points``).

    Parameters
    ----------
    net : Network
        The network.
    pts : Snap
        The points.

    Returns
    -------
    tuple of numpy.ndarray
    """
    ok = np.flatnonzero(pts.seg >= 0)
    order = ok[np.argsort(pts.seg[ok], kind="stable")]
    starts = np.searchsorted(pts.seg[order], np.arange(len(net.u) + 1))
    return starts, order


def within(
    net: Network,
    dist: NDArray[np.float64],
    src: Snap,
    src_cost: NDArray[np.float64],
    pts: Snap,
    pt_cost: NDArray[np.float64],
    budget: float,
    by_segment: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None,
    nodes: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The (source, point) pairs with the point's cost within ``budget``, for many sources.

    Only the points on segments with a reached end (or on the source's own segment) are looked
    at, so the work follows the size of each search, not of the network.

    Parameters
    ----------
    net : Network
        The network.
    dist : numpy.ndarray
        ``(k, n_nodes)`` costs from :func:`search`.
    src : Snap
        The ``k`` sources.
    src_cost : numpy.ndarray
        Each source's cost to its street.
    pts : Snap
        The points.
    pt_cost : numpy.ndarray
        Each point's cost from its street.
    budget : float
        The limit.
    by_segment : tuple of numpy.ndarray, optional
        :func:`points_by_segment` of ``pts``, when the caller has it.
    nodes : numpy.ndarray or None
        The nodes of a search among some nodes only (:func:`search`).

    Returns
    -------
    source, point : numpy.ndarray of int
        The pairs.
    cost : numpy.ndarray
        Their costs.
    """
    n_starts, n_segs = incidence(net)
    p_starts, p_order = points_by_segment(net, pts) if by_segment is None else by_segment
    k, nseg = dist.shape[0], len(net.u)
    # (source, segment) pairs: the segments at every reached node, and the source's own
    rj, rn = np.nonzero(dist <= budget)
    node_map = None
    if nodes is not None:
        rn, node_map = nodes[rn], sub_map(net, nodes)
    lo, hi = n_starts[rn], n_starts[rn + 1]
    sj = np.concatenate([np.repeat(rj, hi - lo), np.arange(k)])
    ss = np.concatenate([_ranges(n_segs, lo, hi), src.seg])
    key = np.unique(sj.astype(np.int64) * nseg + ss)
    sj, ss = key // nseg, key % nseg
    # (source, point) pairs: the points on those segments
    plo, phi = p_starts[ss], p_starts[ss + 1]
    ci = np.repeat(sj, phi - plo)
    pi = _ranges(p_order, plo, phi)
    if not len(pi):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    s, f = pts.seg[pi], pts.frac[pi]
    cu, cv = net.u[s], net.v[s]
    if node_map is not None:
        cu, cv = node_map[cu], node_map[cv]
    via_u = dist[ci, cu] + _step(net.cost_fwd[s], f)
    via_v = dist[ci, cv] + _step(net.cost_back[s], 1.0 - f)
    best = np.minimum(via_u, via_v)
    own = np.flatnonzero(s == src.seg[ci])
    if len(own):
        d = f[own] - src.frac[ci[own]]
        so = s[own]
        along = np.where(d >= 0, _step(net.cost_fwd[so], d), _step(net.cost_back[so], -d))
        best[own] = np.minimum(best[own], src_cost[ci[own]] + along)
    cost = best + pt_cost[pi]
    keep = cost <= budget
    return ci[keep], pi[keep], cost[keep]


def _ranges(
    values: NDArray[np.int64], lo: NDArray[np.int64], hi: NDArray[np.int64]
) -> NDArray[np.int64]:
    """``values[lo[0]:hi[0]], values[lo[1]:hi[1]], ...`` joined (vectorised)."""
    n = hi - lo
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(total)
    return values[idx]


def crow_m(net: Network, mode: str, budget: float, walk_mps: float) -> float:
    """How far from its venue, as the crow flies, a search of ``budget`` can reach (metres).

    A walk's network distance is never shorter than the straight line; a drive goes at most at
    the network's top speed.  With a margin for the local projection's scale.

    Parameters
    ----------
    net : Network
        The network.
    mode : str
        ``"walk"`` or ``"drive"``.
    budget : float
        Metres walked or seconds driven.
    walk_mps : float
        The walking speed (a drive's way to and from the street).

    Returns
    -------
    float
    """
    if mode == "walk":
        far = budget
    else:
        if "top_mps" not in net._cache:
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(np.isfinite(net.cost_fwd), net.length / net.cost_fwd, 0.0)
                b = np.where(np.isfinite(net.cost_back), net.length / net.cost_back, 0.0)
            net._cache["top_mps"] = float(max(np.nanmax(f), np.nanmax(b)))
        far = budget * max(float(net._cache["top_mps"]), walk_mps)
    return far * 1.01 + 10.0


def near_nodes(
    net: Network, x: NDArray[np.float64], y: NDArray[np.float64], src: Snap, far: float
) -> NDArray[np.int64]:
    """The nodes within the box of the sources ``(x, y)`` widened by ``far`` metres, and the
    ends of the sources' segments: all a search of that reach can touch.

    Parameters
    ----------
    net : Network
        The network.
    x, y : numpy.ndarray
        The sources, in ``net.crs``.
    src : Snap
        The sources snapped.
    far : float
        The reach (:func:`crow_m`).

    Returns
    -------
    numpy.ndarray
        Sorted node indices.
    """
    xy = net.xy
    inbox = (xy[:, 0] >= x.min() - far) & (xy[:, 0] <= x.max() + far)
    inbox &= (xy[:, 1] >= y.min() - far) & (xy[:, 1] <= y.max() + far)
    inbox[net.u[src.seg]] = True
    inbox[net.v[src.seg]] = True
    return np.flatnonzero(inbox)
