"""Calibrate and check the areal method's range on real London data.

For N random half-mile catchments in London it compares the areal estimate (LSOA residents,
MSOA workers) with a finer reference and reports, for several values of ``clusters_per_zone``
(``k``), the median and 90th-percentile absolute error, how often the range contains the
reference and the range's median width.  References (see ``_reference.py``):

* residents -- Output Area counts placed on their own residential postcodes;
* workers -- each MSOA's workers travelling in shared equally among its 2011 Workplace Zone
  population-weighted centroids (zones were designed to hold similar numbers of workers).

Run:  python benchmarks/calibrate_range.py [--n 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import shapely
from _reference import SHARED, london_reference, random_venues

from geotarget import estimate
from geotarget.layers import load_layer
from geotarget.layers.base import CountSurface
from geotarget.projections import transformer


def wpz_reference(surface):
    wpz = pd.read_csv(SHARED / "workers" / "workplace_zones2011_london_centroids.csv")
    x, y = transformer("EPSG:4326", "EPSG:3035").transform(
        wpz["wx_lon"].to_numpy(), wpz["wy_lat"].to_numpy()
    )
    pts = shapely.points(x, y)
    pi, mi = surface.tree.query(pts, predicate="within")
    per = np.bincount(mi, minlength=len(surface.ids))
    if (per == 0).any():
        raise SystemExit("some MSOAs hold no Workplace Zone centroid")
    return pts[pi], surface.values[mi] / per[mi]


def report(name, surface, circles, ref, ks):
    ok = ref > 0
    print(f"\n{name}: {int(ok.sum())} catchments with people in the reference")
    print("   k  median|err|  p90|err|  range contains ref  median width")
    for k in ks:
        surface.clusters_per_zone = k
        r = estimate.count(surface, circles)
        err = np.abs(r.estimate - ref)[ok] / ref[ok]
        inside = ((ref >= r.low - 0.5) & (ref <= r.high + 0.5))[ok].mean()
        width = ((r.high - r.low) / r.estimate)[ok]
        print(
            f"{k:4g}  {np.median(err):10.1%}  {np.percentile(err, 90):8.1%}  {inside:18.1%}"
            f"  {np.median(width):12.1%}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    t = time.perf_counter()
    layer = load_layer(SHARED)
    res, wrk = layer.surface("residents", "areal"), layer.surface("workers", "areal")
    x, y, w = london_reference(res.geoms, res.ids)
    print(
        f"reference: {len(w):,} points, {w.sum():,.0f} residents "
        f"(TS001 London {res.total:,.0f}); built in {time.perf_counter() - t:.1f} s"
    )
    venues = random_venues(shapely.union_all(res.geoms), args.n, seed=args.seed)
    circles = shapely.buffer(venues, 804.672, quad_segs=64)

    pts = shapely.points(x, y)
    ci, pi = shapely.STRtree(pts).query(circles, predicate="intersects")
    ref_res = np.bincount(ci, weights=w[pi], minlength=len(circles))
    report("Residents, LSOA areal", res, circles, ref_res, [2, 3, 4, 5, 6])

    # a 1 km grid (EPSG:3035, Eurostat's) filled from the same fine reference: how wide must
    # the range of a gridded census be?
    cx, cy = np.floor(x / 1000) * 1000, np.floor(y / 1000) * 1000
    cells = pd.DataFrame({"x": cx, "y": cy, "w": w}).groupby(["x", "y"], as_index=False)["w"].sum()
    grid = CountSurface(
        kind="grid",
        unit="1 km cell",
        ids=np.arange(len(cells)),
        geoms=shapely.box(cells["x"], cells["y"], cells["x"] + 1000, cells["y"] + 1000),
        values=cells["w"].to_numpy(),
        definition="reference residents",
    )
    report(
        "Residents, 1 km grid cells (London reference gridded)",
        grid,
        circles,
        ref_res,
        [4, 6, 8, 10, 12],
    )

    wpts, ww = wpz_reference(wrk)
    ci, pi = shapely.STRtree(wpts).query(circles, predicate="intersects")
    ref_wrk = np.bincount(ci, weights=ww[pi], minlength=len(circles))
    report("Workers travelling in, MSOA areal", wrk, circles, ref_wrk, [3, 4, 5, 6, 8])


if __name__ == "__main__":
    main()
