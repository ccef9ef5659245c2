"""How wrong is the estimate of the workers who also live in an area (people counted once)?

The estimate (:mod:`geotarget.layers.commuting`) is exact for whole MSOAs and whole local
authorities; between them it places homes and workplaces independently inside each MSOA and
each authority.  No MSOA-to-MSOA flows are at hand to test that directly, so the same estimator
is run one level up, where the truth is known: local authorities play the MSOAs (their own flow
is their ``within``) and regions play the authorities; the areas are unions of whole local
authorities (those whose centre lies within a distance of a random authority's centre), and
the truth is the sum of the ODWP01 local authority flows among them.  Reported: the error of the
overlap and of the people (residents + workers - overlap) it gives.

Second, on half-mile circles of the built-in layer, the estimate against its hard bounds: at
least 0, at most the residents of the circle who travel to work (their MSOA's ``origin -
nomove`` per resident, in proportion) and at most the circle's workers.

Run:  python benchmarks/overlap_error.py [--n 300] [--seed 3]
"""

from __future__ import annotations

import argparse
from importlib import resources

import numpy as np
import pandas as pd
import shapely

from geotarget import estimate
from geotarget.layers import builtin, load_layer
from geotarget.layers.commuting import Commuting, overlap_of
from geotarget.projections import transformer

RADIUS_M = 804.672


def _table(part: str) -> pd.DataFrame:
    with resources.as_file(builtin.file(f"ew-census2021-{part}.parquet")) as p:
        if part == "places":
            import geopandas as gpd

            return gpd.read_parquet(p)
        return pd.read_parquet(p)


def _one_level_up(layer, rng: np.random.Generator, n: int) -> None:
    c = layer.commuting
    F = c.flows
    las = c.la_codes
    zones = _table("zones")
    region_of = dict(zip(zones["county"], zones["region"]))
    regions, la_reg = np.unique([region_of[x] for x in las], return_inverse=True)
    nr = len(regions)
    RF = np.zeros((nr, nr))
    np.add.at(RF, (la_reg[:, None].repeat(len(las), 1), la_reg[None, :].repeat(len(las), 0)), F)
    own = np.diag(F).copy()
    coarse = Commuting(
        la_codes=regions,
        area_la=la_reg,
        within=own,
        out_other=F.sum(1) - own,
        in_other=F.sum(0) - own,
        flows=RF,
        source="ODWP01 LTLA, one level up",
    )
    # residents and workers of each local authority (from the shipped tables)
    msoa = _table("msoa")
    ix = {x: i for i, x in enumerate(las.tolist())}
    m_la = np.array([ix[x] for x in msoa["lad"]])
    wrk = np.bincount(m_la, weights=(msoa["destination"] - msoa["nomove"]).to_numpy(float))
    lsoa, oa = _table("lsoa"), _table("oa")
    oa_m = lsoa["msoa"].to_numpy()[oa["lsoa"].to_numpy()]
    res = np.bincount(m_la[oa_m], weights=oa["residents"].to_numpy(float), minlength=len(las))
    pl = _table("places")
    pl = pl[pl["level"] == "county"].set_index("code").loc[las]
    cen = shapely.centroid(pl.geometry.values)
    xy = shapely.get_coordinates(cen)
    rows = []
    for d_km in (10, 20, 40, 80):
        for _ in range(n):
            k = rng.integers(len(las))
            sel = np.flatnonzero(np.hypot(*(xy - xy[k]).T) <= d_km * 1000)
            truth = float(F[np.ix_(sel, sel)].sum())
            g = (np.zeros(len(sel), np.int64), sel.astype(np.int64), res[sel])
            gw = (np.zeros(len(sel), np.int64), sel.astype(np.int64), wrk[sel])
            ident = np.arange(len(las))
            est = float(coarse.overlap(g, ident, res, gw, ident, wrk, 1)[0])
            people = res[sel].sum() + wrk[sel].sum() - truth
            rows.append((d_km, len(sel), truth, est, people))
    t = pd.DataFrame(rows, columns=["d_km", "las", "truth", "est", "people"])
    t["overlap_err"] = (t["est"] - t["truth"]) / t["truth"]
    t["people_err"] = (t["truth"] - t["est"]) / t["people"]  # people = R + W - overlap
    print("one level up: unions of whole local authorities, estimated from authority and")
    print("region flows only (regions as the parents), against the exact LTLA flows")
    print(
        "| within km | authorities (median) | overlap error median | 90th pct of abs | "
        "people error median | 90th pct of abs |"
    )
    print("|---|---|---|---|---|---|")
    for d, g in t.groupby("d_km"):
        print(
            f"| {d} | {g['las'].median():.0f} | {g['overlap_err'].median():+.1%} | "
            f"{g['overlap_err'].abs().quantile(0.9):.1%} | {g['people_err'].median():+.2%} | "
            f"{g['people_err'].abs().quantile(0.9):.2%} |"
        )


def _circles(layer, rng: np.random.Generator, n: int) -> None:
    res_s, wrk_s = layer.residents, layer.workers
    pts = rng.choice(len(res_s.values), n, replace=False)
    x, y = res_s.xy[pts].T
    lon, lat = transformer(layer.crs, "EPSG:4326").transform(x, y)
    circ = estimate.Circles(np.asarray(lat), np.asarray(lon), np.full(n, RADIUS_M), layer.crs)
    polys = np.full(n, None, dtype=object)
    rc = estimate.count(res_s, polys, circles=circ, groups=True)
    wc = estimate.count(wrk_s, polys, circles=circ, groups=True)
    msoa = _table("msoa")
    c = layer.commuting
    n_m = len(c.within)
    # residents who travel to work, per resident of each MSOA
    from geotarget.layers.commuting import area_totals

    per_res = (msoa["origin"] - msoa["nomove"]).to_numpy(float) / np.maximum(
        area_totals(res_s, n_m), 1.0
    )
    ci, g, v = rc.groups
    travellers = np.bincount(ci, weights=v * per_res[res_s.group_area[g]], minlength=n)
    est = overlap_of(c, res_s, rc, wrk_s, wc)
    upper = np.minimum(travellers, wc.estimate)
    r, w = rc.estimate, wc.estimate
    ok = r + w > 0
    print(f"\nhalf-mile circles around {n} random residential points (built-in layer):")
    print(
        f"overlap estimate median {np.median(est[ok]):,.0f}, hard upper bound median "
        f"{np.median(upper[ok]):,.0f}; estimate / upper bound median "
        f"{np.median(est[ok] / np.maximum(upper[ok], 1)):.2f}"
    )
    gap = (upper - est) / np.maximum(r + w - est, 1.0)
    print(
        "people: the most the estimate can overstate them (upper bound - estimate, over the "
        f"people): median {np.median(gap[ok]):.2%}, 90th percentile {np.quantile(gap[ok], 0.9):.2%}"
        f", max {gap[ok].max():.2%}; the overlap as a share of the people: median "
        f"{np.median(est[ok] / (r + w - est)[ok]):.2%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    layer = load_layer("ew-census2021")
    _one_level_up(layer, rng, args.n)
    _circles(layer, rng, args.n)


if __name__ == "__main__":
    main()
