"""Hold-out accuracy of the built-in England & Wales layer, outside London and in it.

Reference A: every Output Area 2021 count (TS001) placed on its own residential postcodes (the
shipped live small-user units whose OA 2011 code equals the 2021 code), split equally; an OA
with no such postcode sits at its OA 2021 point.  Every resident is placed once (the reference
total is the TS001 Output Area total).  Reference B: the built-in default layer itself (OA
counts; the OAs whose code changed in 2021 pooled per LSOA over the postcodes no 2021 code
claims, as the layer does), so that the hold-out's error against it is only what knowing LSOA
totals instead of OA totals costs (reference A also differs from the layer in where it puts
the changed OAs: the "check" rows).

Catchments: half-mile circles around random venues -- residential postcodes drawn at random
(venues are where people are) and, as a harder check, points drawn uniformly over the land --
outside the London region, and in London for the comparison with the ``--data-dir`` layer.

Compared: the built-in ``--counts lsoa`` (LSOA totals spread over postcodes; the OA counts held
out), the built-in default (OA counts: not a hold-out, a check) and, in London, the
``--data-dir`` ``--counts lsoa`` layer (LSOA polygons) when ``../shared/data`` is present.
For each: median and 90th-percentile absolute error relative to the reference, how often the
90% range contains the reference, and the median width of the range relative to the estimate.

Run:  python benchmarks/accuracy_ew.py [--n 1000] [--seed 5]
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geotarget import estimate
from geotarget.layers import builtin, load_layer
from geotarget.projections import transformer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "london-census2021"
RADIUS_M = 804.672
LONDON = "E12000007"


def _table(name: str) -> pd.DataFrame:
    with resources.as_file(builtin.file(name)) as p:
        return pd.read_parquet(p)


def reference() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reference points (EPSG:3035), their residents and whether each lies in London."""
    oa = _table("ew-census2021-oa.parquet")
    lsoa = _table("ew-census2021-lsoa.parquet")
    zones = _table("ew-census2021-zones.parquet")
    pcs = _table("postcodes_ew_residential.parquet")
    pc_oa = _table("ew-census2021-postcodes.parquet")["oa"].to_numpy()
    oa_msoa = lsoa["msoa"].to_numpy()[oa["lsoa"].to_numpy()]
    oa_london = zones["region"].to_numpy()[oa_msoa] == LONDON
    m = pc_oa >= 0
    n_pc = np.bincount(pc_oa[m], minlength=len(oa))
    res = oa["residents"].to_numpy(float)
    e = np.concatenate([pcs["easting"].to_numpy()[m], oa["easting"].to_numpy()[n_pc == 0]])
    n = np.concatenate([pcs["northing"].to_numpy()[m], oa["northing"].to_numpy()[n_pc == 0]])
    w = np.concatenate([res[pc_oa[m]] / n_pc[pc_oa[m]], res[n_pc == 0]])
    ldn = np.concatenate([oa_london[pc_oa[m]], oa_london[n_pc == 0]])
    x, y = transformer("EPSG:27700", "EPSG:3035").transform(e.astype(float), n.astype(float))
    return np.asarray(x), np.asarray(y), w, ldn


BANDS = ((100, 1_000), (1_000, 3_000), (3_000, 10_000), (10_000, None))


def by_size(surface, circles, ref):
    """The hold-out's error by the reference's size: where the 90th percentile comes from."""
    est = estimate.count(surface, circles).estimate
    for lo, hi in BANDS:
        ok = (ref >= lo) & (ref < (hi or np.inf))
        if ok.sum() < 10:
            continue
        err = np.abs(est - ref)[ok] / ref[ok]
        band = f"{lo:,}-{hi:,}" if hi else f">= {lo:,}"
        print(
            f"    residents {band:<14} {int(ok.sum()):5d} catchments: median {np.median(err):6.2%}"
            f", p90 {np.percentile(err, 90):6.2%}"
        )


def evaluate(name, surface, circles, ref, min_ref, ref_ok=None):
    r = estimate.count(surface, circles)
    ok = (ref >= min_ref) if ref_ok is None else ref_ok
    err = np.abs(r.estimate - ref)[ok] / ref[ok]
    inside = ((ref >= r.low - 0.5) & (ref <= r.high + 0.5))[ok].mean()
    width = ((r.high - r.low) / np.maximum(r.estimate, 1))[ok]
    print(
        f"{name:<40} {np.median(err):8.2%} {np.percentile(err, 90):8.2%} {inside:9.1%} "
        f"{np.median(width):9.2%}"
    )


def oa_spread() -> None:
    """How far Output Area counts stray from an equal share of their LSOA: the floor of any
    estimate that knows LSOA totals only, for a catchment that holds part of one OA."""
    oa, lsoa = _table("ew-census2021-oa.parquet"), _table("ew-census2021-lsoa.parquet")
    li = oa["lsoa"].to_numpy()
    mean = (lsoa["residents"].to_numpy(float) / np.bincount(li, minlength=len(lsoa)))[li]
    dev = np.abs(mean - oa["residents"].to_numpy(float)) / oa["residents"].to_numpy(float)
    print(
        f"OA count vs an equal share of its LSOA, all {len(oa):,} OAs: median "
        f"{np.median(dev):.1%}, p90 {np.percentile(dev, 90):.1%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--min-ref", type=float, default=100.0)
    args = ap.parse_args()
    t = time.perf_counter()
    oa_layer = load_layer("ew-census2021")
    lsoa_layer = load_layer("ew-census2021", counts="lsoa")
    x, y, w, ldn = reference()
    print(
        f"layers + reference in {time.perf_counter() - t:.1f} s; reference {w.sum():,.0f} "
        f"residents on {len(w):,} points"
    )
    oa_spread()
    rng = np.random.default_rng(args.seed)
    tree = shapely.STRtree(shapely.points(x, y))
    pcs = oa_layer.residents  # postcode points (and a few OA points), any region
    import geopandas as gpd

    with resources.as_file(builtin.file("ew-census2021-zones.parquet")) as p:
        zones = gpd.read_parquet(p)
    london_poly = shapely.union_all(zones.geometry.values[zones["region"] == LONDON])
    pxy = shapely.get_coordinates(pcs.geoms)
    in_london = shapely.contains_xy(london_poly, pxy[:, 0], pxy[:, 1])
    cov = oa_layer.coverage

    def uniform(n: int, inside_london: bool) -> np.ndarray:
        xmin, ymin, xmax, ymax = (london_poly if inside_london else cov).bounds
        out: list[np.ndarray] = []
        while sum(len(o) for o in out) < n:
            p = shapely.points(rng.uniform(xmin, xmax, 4 * n), rng.uniform(ymin, ymax, 4 * n))
            p = p[shapely.contains(cov, p)]
            p = p[shapely.contains(london_poly, p) == inside_london]
            if inside_london:  # the whole circle in London, where the --data-dir layer reaches
                p = p[shapely.contains(london_poly, shapely.buffer(p, RADIUS_M))]
            out.append(p)
        return np.concatenate(out)[:n]

    samples = {
        "outside London, venues at random postcodes": pcs.geoms[
            rng.choice(np.nonzero(~in_london)[0], args.n, replace=False)
        ],
        "outside London, venues uniform over land": uniform(args.n, False),
        "London, venues uniform over London": uniform(args.n, True),
    }
    data_dir = None
    if (SHARED / "boundaries").is_dir():
        data_dir = load_layer(SHARED, counts="lsoa")
    for label, venues in samples.items():
        circles = shapely.buffer(venues, RADIUS_M, quad_segs=64)
        ci, pi = tree.query(circles, predicate="intersects")
        ref = np.bincount(ci, weights=w[pi], minlength=len(circles))
        kept = int((ref >= args.min_ref).sum())
        print(
            f"\n{args.n} half-mile catchments, {label}; {kept} with >= {args.min_ref:g} residents"
        )
        print(f"{'method':<40} {'median':>8} {'p90':>8} {'contains':>9} {'width':>9}")
        evaluate(
            "built-in --counts lsoa (hold-out)", lsoa_layer.residents, circles, ref, args.min_ref
        )
        by_size(lsoa_layer.residents, circles, ref)
        if label.startswith("London") and data_dir is not None:
            evaluate(
                "--data-dir --counts lsoa (hold-out)",
                data_dir.residents,
                circles,
                ref,
                args.min_ref,
            )
        evaluate(
            "built-in default (OA counts, a check)", oa_layer.residents, circles, ref, args.min_ref
        )
        # reference B: the built-in default layer itself (OA counts placed as the layer places
        # them), so that the hold-out's error is only what knowing LSOA totals instead of OA
        # totals costs; the same catchments as above
        ref_b = estimate.count(oa_layer.residents, circles).estimate
        evaluate(
            "  vs reference B: --counts lsoa",
            lsoa_layer.residents,
            circles,
            ref_b,
            args.min_ref,
            ref >= args.min_ref,
        )


if __name__ == "__main__":
    main()
