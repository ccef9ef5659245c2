"""Hold-out accuracy of the residents estimate on real London data.

Builds a fine-grained reference -- Output Area 2021 counts placed on their own residential
postcodes (``_reference.py``) -- and, for many random half-mile London catchments, compares with it:

* ``areal``                    LSOA totals, areal weighting;
* ``dasymetric --counts lsoa`` LSOA totals spread over residential postcodes (OA counts held out);
* ``dasymetric`` (default)     OA totals spread over their postcodes (not a hold-out: shown as a
                               check that the implementation matches the reference).

For each: median and 90th-percentile absolute error (relative to the reference), how often the
range contains the reference, and the range's median width relative to the estimate.
``--sweep`` also tries other values of the dasymetric range calibration.

Run:  python benchmarks/accuracy_london.py [--n 2000] [--seed 11] [--sweep]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely
from _reference import SHARED, london_reference, random_venues

from geotarget import estimate
from geotarget.layers import ew_census2021 as london


def evaluate(name, surface, circles, ref, min_ref):
    r = estimate.count(surface, circles)
    ok = ref >= min_ref
    err = np.abs(r.estimate - ref)[ok] / ref[ok]
    inside = ((ref >= r.low - 0.5) & (ref <= r.high + 0.5))[ok].mean()
    width = ((r.high - r.low) / np.maximum(r.estimate, 1))[ok]
    print(
        f"{name:<34} {np.median(err):8.2%} {np.percentile(err, 90):8.2%} {inside:9.1%} "
        f"{np.median(width):9.2%}"
    )
    return np.median(err), np.percentile(err, 90), inside, np.median(width)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--min-ref",
        type=float,
        default=100.0,
        help="leave out catchments with fewer reference residents (parks, airports)",
    )
    ap.add_argument("--sweep", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    oa = london.load(SHARED, counts="oa")
    lsoa = london.load(SHARED, counts="lsoa")
    x, y, w = london_reference(
        oa.surface("residents", "areal").geoms, oa.surface("residents", "areal").ids
    )
    print(
        f"layers + reference in {time.perf_counter() - t:.1f} s; reference {w.sum():,.0f} "
        f"residents on {len(w):,} points"
    )
    venues = random_venues(
        shapely.union_all(oa.surface("residents", "areal").geoms), args.n, seed=args.seed
    )
    circles = shapely.buffer(venues, 804.672, quad_segs=64)
    ci, pi = shapely.STRtree(shapely.points(x, y)).query(circles, predicate="intersects")
    ref = np.bincount(ci, weights=w[pi], minlength=len(circles))
    kept = int((ref >= args.min_ref).sum())
    print(
        f"{args.n} random half-mile catchments in London, {kept} with >= {args.min_ref:g} "
        "reference residents\n"
    )
    print(f"{'method':<34} {'median':>8} {'p90':>8} {'contains':>9} {'width':>9}")
    evaluate("areal (LSOA)", oa.surface("residents", "areal"), circles, ref, args.min_ref)
    dl = lsoa.residents
    evaluate("dasymetric --counts lsoa", dl, circles, ref, args.min_ref)
    evaluate("dasymetric (OA counts, default)", oa.residents, circles, ref, args.min_ref)
    if args.sweep:
        base = dl.group_k.copy()
        for c in (3, 4, 6, 8, 12, 16, 24):
            dl.group_k = base * c / london.CLUSTERS_PER_OA
            evaluate(f"  --counts lsoa, clusters per OA {c:g}", dl, circles, ref, args.min_ref)
        dl.group_k = base


if __name__ == "__main__":
    main()
