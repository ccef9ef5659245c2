"""Speed of walking-time catchments on a city-sized street network, against networkx in the same
run.

The network is a generated street grid (no city-sized OSM extract ships with the test data):
``--side`` x ``--side`` junctions (default 390 x 390 = 152,100 nodes) 70 m apart, jittered by up
to 10 m, with 8% of the blocks' sides missing (dead ends and detours), and 200,000 people points
(1 to 60 people each) spread over it.  Measured:

(a) one warm venue: geotarget's ``travel_catchment`` (search, clipping, polygon) plus the
    count of the points by network distance, against networkx's
    ``single_source_dijkstra_path_length`` with a cutoff from the nearest node (the search OSMnx
    users run, e.g. under ``ox.distance.nearest_nodes`` + ``nx.ego_graph``) plus the same points
    looked up by their nearest node;
(b) 10-minute walks (4.8 km/h: 800 m) from ``--venues`` venues (default 10,000), counted with
    no polygon (``geotarget.estimate.travel.count_many``), against networkx on a sample of
    ``--nx-sample`` venues (default 500), its time per venue scaled to all of them.

Both sides get the graph already in memory (geotarget's arrays; a networkx ``Graph`` built from
the same segments), so only the searching and counting are timed.  Run:
``python benchmarks/walk_speed.py [--side 390] [--venues 10000] [--nx-sample 500]``
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import shapely
from scipy.spatial import cKDTree

from geotarget.estimate.travel import costs, count_many, surface_snap
from geotarget.layers.base import CountSurface
from geotarget.network.graph import Network
from geotarget.network.travel import parse_limit, travel_catchment
from geotarget.projections import aeqd, transformer
from geotarget.venue import Venue

LAT0, LON0 = 51.5, -0.12
SPACING = 70.0


def grid(side: int, seed: int = 16) -> Network:
    rng = np.random.default_rng(seed)
    crs = aeqd(LAT0, LON0)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = (ii.ravel() - side / 2) * SPACING + rng.uniform(-10, 10, side * side)
    y = (jj.ravel() - side / 2) * SPACING + rng.uniform(-10, 10, side * side)
    node = np.arange(side * side).reshape(side, side)
    u = np.concatenate([node[:-1, :].ravel(), node[:, :-1].ravel()])
    v = np.concatenate([node[1:, :].ravel(), node[:, 1:].ravel()])
    keep = rng.random(len(u)) > 0.08
    u, v = u[keep], v[keep]
    lon, lat = transformer(crs, "EPSG:4326").transform(x, y)
    lon, lat = np.asarray(lon), np.asarray(lat)
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    border = (
        (ii.ravel() == 0) | (jj.ravel() == 0) | (ii.ravel() == side - 1) | (jj.ravel() == side - 1)
    )
    area = shapely.box(lon.min(), lat.min(), lon.max(), lat.max())
    return Network(
        mode="walk",
        source=f"generated {side}x{side} grid",
        sha256=f"grid{side}-{seed}".ljust(64, "0"),
        node_ids=np.arange(side * side, dtype=np.int64),
        lon=lon,
        lat=lat,
        u=u.astype(np.int64),
        v=v.astype(np.int64),
        length=length,
        cost_fwd=length.copy(),
        cost_back=length.copy(),
        edge=border,
        exit_u=np.full(len(u), np.inf),
        exit_v=np.full(len(u), np.inf),
        area_wkb=shapely.to_wkb(area),
        area_source="the generated grid's box",
    )


def people(net: Network, n: int, seed: int = 7) -> CountSurface:
    rng = np.random.default_rng(seed)
    lo, hi = net.xy.min(axis=0), net.xy.max(axis=0)
    x = rng.uniform(lo[0], hi[0], n)
    y = rng.uniform(lo[1], hi[1], n)
    return CountSurface(
        kind="points",
        unit="generated point",
        ids=np.arange(n),
        geoms=shapely.points(x, y),
        values=rng.integers(1, 61, n).astype(float),
        definition="generated people",
        edge_m=np.full(n, 20.0),
    )


def nx_graph(net: Network) -> nx.Graph:
    g = nx.Graph()
    g.add_weighted_edges_from(zip(net.u.tolist(), net.v.tolist(), net.length.tolist()))
    return g


def nx_count(g, tree, net, pts_node, pts_off, values, vx, vy, limit):
    """networkx: the venue's nearest node, Dijkstra with a cutoff, points by their nearest node."""
    d0, src = tree.query([vx, vy])
    reach = nx.single_source_dijkstra_path_length(g, int(src), cutoff=limit - d0, weight="weight")
    nodes = np.fromiter(reach.keys(), dtype=np.int64, count=len(reach))
    dist = np.full(net.n_nodes, np.inf)
    dist[nodes] = np.fromiter(reach.values(), dtype=float, count=len(reach)) + d0
    return float(values[dist[pts_node] + pts_off <= limit].sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=390)
    ap.add_argument("--venues", type=int, default=10_000)
    ap.add_argument("--nx-sample", type=int, default=500)
    ap.add_argument("--points", type=int, default=200_000)
    args = ap.parse_args()

    t = time.perf_counter()
    net = grid(args.side)
    surf = people(net, args.points)
    crs = net.crs
    print(
        f"network: {net.n_nodes:,} nodes, {len(net.u):,} segments; {args.points:,} points "
        f"(built in {time.perf_counter() - t:.1f} s)"
    )
    lim = parse_limit("walk", "10min")
    budget = lim.budget
    rng = np.random.default_rng(3)
    lo, hi = net.xy.min(axis=0) + 1500, net.xy.max(axis=0) - 1500
    vx, vy = rng.uniform(lo[0], hi[0], args.venues), rng.uniform(lo[1], hi[1], args.venues)
    vlon, vlat = transformer(crs, "EPSG:4326").transform(vx, vy)
    vlon, vlat = np.asarray(vlon), np.asarray(vlat)

    # warm-up: snapping the points (once per layer and network), the graph's arcs, the tree
    t = time.perf_counter()
    surface_snap(surf, crs, net)
    net.arcs()
    _ = net.tree
    print(
        f"warm-up (snap {args.points:,} points, index the segments): "
        f"{time.perf_counter() - t:.2f} s"
    )
    g = nx_graph(net)
    tree = cKDTree(net.xy)
    pxy = surf.xy
    pts_off, pts_node = tree.query(pxy)

    # (a) one warm venue
    k = 20
    t = time.perf_counter()
    mine = []
    for i in range(k):
        c = travel_catchment(Venue(float(vlat[i]), float(vlon[i])), net, walk="10min")
        mine.append(float(surf.values[costs(surf, crs, c.travel) <= budget].sum()))
    t_one = (time.perf_counter() - t) / k
    t = time.perf_counter()
    ref = [
        nx_count(g, tree, net, pts_node, pts_off, surf.values, vx[i], vy[i], budget)
        for i in range(k)
    ]
    t_nx_one = (time.perf_counter() - t) / k
    print(
        f"(a) one warm venue, 10-minute walk with its polygon: geotarget {t_one * 1000:.0f} ms; "
        f"networkx search + nearest-node points {t_nx_one * 1000:.0f} ms (no polygon)"
    )
    agree = np.mean(np.abs(np.array(mine) - np.array(ref)) / np.maximum(ref, 1))
    print(
        f"    people counted: geotarget {np.mean(mine):,.0f} vs networkx nearest-node "
        f"{np.mean(ref):,.0f} per venue (mean |difference| {agree:.1%}: points on their "
        "street vs at their nearest junction)"
    )

    # (b) many venues, counts only
    t = time.perf_counter()
    counts, clip = count_many(surf, crs, net, vlat, vlon, lim)
    t_many = time.perf_counter() - t
    m = min(args.nx_sample, args.venues)
    t = time.perf_counter()
    for i in range(m):
        nx_count(g, tree, net, pts_node, pts_off, surf.values, vx[i], vy[i], budget)
    t_nx = (time.perf_counter() - t) / m * args.venues
    print(
        f"(b) {args.venues:,} venues' 10-minute walks counted: geotarget {t_many:.1f} s "
        f"({args.venues / t_many:,.0f} venues/s; {int(clip.sum())} clipped); networkx "
        f"{t_nx:.1f} s (timed on {m:,} venues, scaled); ratio {t_nx / t_many:.1f}x"
    )
    print(
        f"    mean residents per walk {counts.estimate.mean():,.0f} "
        f"(90% range {counts.low.mean():,.0f}-{counts.high.mean():,.0f})"
    )


if __name__ == "__main__":
    main()
