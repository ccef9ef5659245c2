"""Build geotarget's built-in England & Wales Census 2021 layer (compact tables).

Sources (the publishers' files; the folder layout of ``../shared/data``):

* ONS Census 2021 TS001 usual residents, all geographies
  (``london-census2021/residents/TS001_residence_type_2021.csv.gz``; Nomis bulk download
  ``census2021-ts001.zip``): Output Area, LSOA, MSOA, local-authority and region rows;
* the Output Area 2021 points with each OA's LSOA and MSOA
  (``ew-geography2021/oa21_centroids_ew.csv.gz``);
* ONS Census 2021 ODWP01EW place of work per MSOA (``london-census2021/workers/
  odwp01ew_msoa_counts.csv``): ``origin``, ``destination``, ``nomove``, ``within``;
* ONS Census 2021 ODWP01EW local authority to local authority flows (``london-census2021/
  workers/ODWP01EW_LTLA.csv.gz``; Nomis origin-destination data): the people who live in one
  local authority and travel to work in another (or the same), place of work indicator 3;
* the 2011 Workplace Zone population-weighted centroids of the UK
  (``uk-workplace-zones2011/workplace_zones2011_uk_centroids.csv.gz``), England & Wales kept;
* the simplified MSOA 2021 polygons (``ew-geography2021/msoa21_ew_simplified.gpkg``): the land
  outline (coverage) and, dissolved by TS001's parents, the local authorities and regions;
* the shipped residential postcodes (``geotarget/data/postcodes_ew_residential.parquet``, built
  by ``build_postcodes.py``; OA 2011 code and position of every live small-user E&W postcode).

Placement, done here once:

* a postcode whose OA 2011 code is also an OA 2021 code belongs to that OA (and its LSOA);
* any other postcode (its OA was split, merged or recoded in 2021) belongs to the LSOA of the
  nearest OA 2021 point among the OAs no postcode code claims (the changed OAs) -- the OA 2021
  points replace the LSOA polygons of the ``--data-dir`` method;
* a Workplace Zone belongs to its 2011 MSOA when that code is still an MSOA 2021 code (99.5%
  agree with the London gen20 boundaries), else to the simplified MSOA 2021 polygon it lies in,
  else to the MSOA of its nearest OA 2021 point.

Outputs in ``geotarget/data/`` (positions in British National Grid metres, integers):
``ew-census2021-oa.parquet`` (OA 2021: code, LSOA index, position, residents),
``ew-census2021-lsoa.parquet`` (LSOA 2021: code, MSOA index, residents),
``ew-census2021-msoa.parquet`` (MSOA 2021: code, local authority, destination, nomove, within,
origin), ``ew-census2021-flows.parquet`` (local authority of residence, local authority of
workplace, people travelling to work: every England & Wales pair with anyone),
``ew-census2021-postcodes.parquet`` (per shipped residential postcode, same order: its OA 2021
index or -1, its LSOA index), ``ew-census2021-wpz.parquet`` (Workplace Zones: position, MSOA
index), ``ew-census2021-places.parquet`` (local authorities, regions, Greater London),
``ew-census2021-zones.parquet`` (the simplified MSOAs with their local authority, city, region),
``ew-census2021-coverage.parquet`` and ``ew-census2021.json`` (metadata).

Run:  python data/build_ew.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "geotarget" / "data"
EQUAL_AREA_CRS = "EPSG:3035"
#: gaps between the simplified MSOAs (estuaries, docks) closed up to this width, as the London
#: build does for the Thames
CLOSING_M = 600.0
#: the coverage and places simplified to this tolerance (m)
TOLERANCE_M = 20.0
LONDON_REGION = "E12000007"


def _write(df: pd.DataFrame, name: str, delta: tuple[str, ...] = ()) -> None:
    pq.write_table(
        pa.Table.from_pandas(df, preserve_index=False),
        OUT / name,
        compression="zstd",
        compression_level=19,
        use_dictionary=[c for c in df.columns if df[c].dtype == object],
        column_encoding={c: "DELTA_BINARY_PACKED" for c in delta},
    )


def _bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = t.transform(lon, lat)
    return np.rint(x).astype("int32"), np.rint(y).astype("int32")


def _geo_frame(rows: list[dict[str, object]], geoms: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=EQUAL_AREA_CRS)


def _la_flows(shared: Path, las: set[str]) -> pd.DataFrame:
    """ODWP01EW local authority to local authority flows of people travelling to work
    (indicator 3, not at or from home), both ends in England & Wales, sorted."""
    raw = pd.read_csv(
        shared / "london-census2021/workers/ODWP01EW_LTLA.csv.gz",
        usecols=[0, 2, 4, 6],
        dtype={0: str, 2: str, 4: str, 6: "int64"},
    )
    raw.columns = pd.Index(["home", "work", "indicator", "count"])
    f = raw[(raw["indicator"] == "3") & raw["home"].isin(las) & raw["work"].isin(las)]
    if set(f["home"]) != las:
        raise SystemExit("local authorities of ODWP01EW and TS001 do not match")
    f = f.groupby(["home", "work"], as_index=False)["count"].sum()
    f = f[f["count"] > 0].sort_values(["home", "work"], ignore_index=True)
    return pd.DataFrame(
        {
            "home": f["home"].to_numpy(dtype=object),
            "work": f["work"].to_numpy(dtype=object),
            "count": f["count"].to_numpy("int32"),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    shared = Path(args.shared)

    ts = pd.read_csv(
        shared / "london-census2021/residents/TS001_residence_type_2021.csv.gz",
        usecols=[
            "Geography code",
            "Geography label",
            "Geography area type",
            "Parent area code",
            "Total",
        ],
    )
    by_type = {t: g.set_index("Geography code") for t, g in ts.groupby("Geography area type")}
    national = int(by_type["National"]["Total"].iloc[0])

    oa = pd.read_csv(shared / "ew-geography2021/oa21_centroids_ew.csv.gz")
    oa = oa.sort_values("oa21cd", ignore_index=True)
    oa_res = oa["oa21cd"].map(by_type["Output Area"]["Total"])
    if oa_res.isna().any() or len(oa) != len(by_type["Output Area"]):
        raise SystemExit("OA 2021 points and TS001 Output Areas do not match")
    # TS001's levels are each rounded apart (statistical disclosure control): OA rows sum to
    # 59,597,747, LSOA rows to 59,597,601, the national row is 59,597,542
    oa_total = int(oa_res.sum())

    lsoa_codes = np.sort(by_type["LSOA"].index.to_numpy())
    msoa_codes = np.sort(by_type["MSOA"].index.to_numpy())
    lsoa_ix = pd.Series(np.arange(len(lsoa_codes)), index=lsoa_codes)
    msoa_ix = pd.Series(np.arange(len(msoa_codes)), index=msoa_codes)
    ox, oy = _bng(oa["lng"].to_numpy(), oa["lat"].to_numpy())
    oa_lsoa = oa["lsoa21cd"].map(lsoa_ix).to_numpy("int32")
    _write(
        pd.DataFrame(
            {
                "oa21cd": oa["oa21cd"].to_numpy(),
                "lsoa": oa_lsoa,
                "easting": ox,
                "northing": oy,
                "residents": oa_res.to_numpy("int32"),
            }
        ),
        "ew-census2021-oa.parquet",
        delta=("lsoa", "easting", "northing"),
    )
    lsoa_msoa = (
        oa.drop_duplicates("lsoa21cd")
        .set_index("lsoa21cd")["msoa21cd"]
        .loc[lsoa_codes]
        .map(msoa_ix)
    )
    lsoa_res = by_type["LSOA"]["Total"].loc[lsoa_codes].to_numpy("int32")
    lsoa_total = int(lsoa_res.sum())
    _write(
        pd.DataFrame(
            {"lsoa21cd": lsoa_codes, "msoa": lsoa_msoa.to_numpy("int32"), "residents": lsoa_res}
        ),
        "ew-census2021-lsoa.parquet",
        delta=("msoa",),
    )

    od = pd.read_csv(
        shared / "london-census2021/workers/odwp01ew_msoa_counts.csv",
        usecols=["areacd", "origin", "destination", "nomove", "within"],
    ).set_index("areacd")
    msoa_lad = by_type["MSOA"]["Parent area code"].loc[msoa_codes].to_numpy()
    od = od.reindex(msoa_codes)
    if od.isna().any().any():
        raise SystemExit("MSOAs without ODWP01 counts")
    _write(
        pd.DataFrame(
            {
                "msoa21cd": msoa_codes,
                "lad": msoa_lad,
                "destination": od["destination"].to_numpy("int32"),
                "nomove": od["nomove"].to_numpy("int32"),
                "within": od["within"].to_numpy("int32"),
                "origin": od["origin"].to_numpy("int32"),
            }
        ),
        "ew-census2021-msoa.parquet",
    )
    flows = _la_flows(shared, set(msoa_lad.tolist()))
    _write(flows, "ew-census2021-flows.parquet")
    print(
        f"local authority flows: {len(flows):,} pairs, {int(flows['count'].sum()):,} people "
        f"travelling to work ({int(flows['count'][flows['home'] == flows['work']].sum()):,} "
        "within their own local authority)"
    )

    # postcodes: their OA 2021 (same code) or the LSOA of the nearest changed OA 2021 point
    pcs = pq.read_table(OUT / "postcodes_ew_residential.parquet").to_pandas()
    oa_index = pd.Series(np.arange(len(oa)), index=oa["oa21cd"].to_numpy())
    pc_oa = pcs["oa11cd"].astype(str).map(oa_index).fillna(-1).to_numpy("int32")
    claimed = np.zeros(len(oa), bool)
    claimed[pc_oa[pc_oa >= 0]] = True
    changed = np.nonzero(~claimed)[0]
    un = pc_oa < 0
    tree = cKDTree(np.c_[ox[changed], oy[changed]])
    _, near = tree.query(np.c_[pcs["easting"].to_numpy()[un], pcs["northing"].to_numpy()[un]])
    pc_lsoa = np.where(pc_oa >= 0, oa_lsoa[np.maximum(pc_oa, 0)], -1).astype("int32")
    pc_lsoa[un] = oa_lsoa[changed[near]]
    _write(
        pd.DataFrame({"oa": pc_oa, "lsoa": pc_lsoa}),
        "ew-census2021-postcodes.parquet",
        delta=("oa", "lsoa"),
    )
    print(
        f"postcodes: {len(pcs):,}, {int((pc_oa >= 0).sum()):,} in an OA of the same 2021 code, "
        f"{int(un.sum()):,} placed by the nearest of {len(changed):,} changed OA 2021 points"
    )

    msoa = gpd.read_file(shared / "ew-geography2021/msoa21_ew_simplified.gpkg", engine="pyogrio")
    msoa = msoa.set_index("MSOA21CD").loc[msoa_codes].reset_index().to_crs(27700)
    msoa["geometry"] = shapely.make_valid(msoa.geometry.values)

    wpz = pd.read_csv(shared / "uk-workplace-zones2011/workplace_zones2011_uk_centroids.csv.gz")
    wpz = wpz[wpz["CTRY"].isin(["ENG", "WLS"])].sort_values("WPZ", ignore_index=True)
    wx, wy = _bng(wpz["wx_lon"].to_numpy(), wpz["wy_lat"].to_numpy())
    owner = wpz["MSOA"].map(msoa_ix).fillna(-1).to_numpy("int64")
    todo = np.nonzero(owner < 0)[0]
    pts = shapely.points(wx[todo], wy[todo])
    pi, mi = shapely.STRtree(msoa.geometry.values).query(pts, predicate="within")
    owner[todo[pi]] = mi
    todo = np.nonzero(owner < 0)[0]
    _, near = cKDTree(np.c_[ox, oy]).query(np.c_[wx[todo], wy[todo]])
    owner[todo] = oa["msoa21cd"].map(msoa_ix).to_numpy()[near]
    _write(
        pd.DataFrame({"easting": wx, "northing": wy, "msoa": owner.astype("int32")}),
        "ew-census2021-wpz.parquet",
    )
    print(f"Workplace Zones: {len(wpz):,} (England & Wales), in {len(np.unique(owner)):,} MSOAs")

    # places and coverage, from the simplified MSOAs (British National Grid, then EPSG:3035)
    lad_rows = by_type["Local Authority"]
    msoa["lad"] = msoa_lad
    msoa["region"] = msoa["lad"].map(lad_rows["Parent area code"])
    if msoa["region"].isna().any():
        raise SystemExit("MSOAs whose local authority has no region in TS001")
    msoa["city"] = np.where(msoa["region"] == LONDON_REGION, LONDON_REGION, msoa["lad"])
    names = pd.concat([lad_rows["Geography label"], by_type["Region"]["Geography label"]])
    names[LONDON_REGION] = "London"

    def dissolve(col: str) -> gpd.GeoDataFrame:
        d = msoa.dissolve(col, as_index=False, method="coverage")[[col, "geometry"]]
        d = d.sort_values(col, ignore_index=True)
        geoms = shapely.simplify(shapely.make_valid(d.geometry.values), TOLERANCE_M)
        return gpd.GeoDataFrame({"code": d[col].to_numpy()}, geometry=geoms, crs=27700)

    places = []
    for level, col in (("county", "lad"), ("region", "region"), ("city", "city")):
        d = dissolve(col)
        d["level"] = level
        d["name"] = d["code"].map(names)
        if level == "city":
            d.loc[d["code"] == LONDON_REGION, "name"] = "Greater London"
        places.append(d)
    pl = pd.concat(places, ignore_index=True)[["level", "code", "name", "geometry"]]
    pl = gpd.GeoDataFrame(pl, geometry="geometry", crs=27700).to_crs(EQUAL_AREA_CRS)
    pl["geometry"] = shapely.make_valid(shapely.set_precision(pl.geometry.values, 1.0))
    pl.to_parquet(OUT / "ew-census2021-places.parquet", compression="zstd", index=False)

    # the zones of the places: the simplified MSOAs, each with its local authority, city and
    # region (small polygons: finding the zone of 1.5 million points is quick)
    zones = gpd.GeoDataFrame(
        {
            "msoa21cd": msoa["MSOA21CD"].to_numpy(),
            "county": msoa["lad"].to_numpy(),
            "city": msoa["city"].to_numpy(),
            "region": msoa["region"].to_numpy(),
        },
        geometry=msoa.geometry.values,
        crs=27700,
    ).to_crs(EQUAL_AREA_CRS)
    zones["geometry"] = shapely.make_valid(shapely.set_precision(zones.geometry.values, 1.0))
    zones.to_parquet(OUT / "ew-census2021-zones.parquet", compression="zstd", index=False)

    union = shapely.union_all(msoa.geometry.values, grid_size=1.0)
    closed = shapely.buffer(shapely.buffer(union, CLOSING_M, quad_segs=8), -CLOSING_M, quad_segs=8)
    cov = shapely.union(closed, union)
    cov = shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(cov)])
    cov = gpd.GeoSeries([shapely.simplify(cov, TOLERANCE_M)], crs=27700).to_crs(EQUAL_AREA_CRS)
    coverage = shapely.make_valid(shapely.set_precision(cov.values[0], 1.0))
    from geotarget.layers.base import PopulationLayer

    pieces = PopulationLayer._coverage_parts.func(  # type: ignore[attr-defined]
        type("L", (), {"coverage": coverage, "coverage_pieces": None})()
    )[0]
    gpd.GeoDataFrame(
        {
            "name": ["England & Wales (simplified MSOA 2021 outline)"] + ["piece"] * len(pieces),
            "piece": [False] + [True] * len(pieces),
        },
        geometry=[coverage] + list(pieces),
        crs=EQUAL_AREA_CRS,
    ).to_parquet(OUT / "ew-census2021-coverage.parquet", compression="zstd", index=False)

    meta = {
        "name": "ew-census2021",
        "title": "England & Wales Census 2021 (residents by Output Area / LSOA over residential "
        "postcodes, workplace population by MSOA over Workplace Zones)",
        "source": "ONS Census 2021: TS001 usual residents (OA, LSOA), ODWP01EW place of work "
        "(MSOA; local authority to local authority flows); Output Area 2021 points (ONS "
        "data-visualisation, GeoDraw); 2011 Workplace Zone "
        "population-weighted centroids; simplified MSOA 2021 boundaries (outline, places); "
        "residential postcodes from OS Code-Point Open and the ONS postcode lookup (May 2022)",
        "licence": "Open Government Licence v3.0",
        "attribution": [
            "Source: Office for National Statistics licensed under the Open Government "
            "Licence v.3.0",
            "Contains OS data \u00a9 Crown copyright and database right 2022",
            "Contains Royal Mail data \u00a9 Royal Mail copyright and database right 2025 "
            "(Code-Point Open postcode positions)",
        ],
        "vintage": "Census 2021 (census day 21 March 2021)",
        "crs": EQUAL_AREA_CRS,
        "residents_national": national,
        "residents_total_oa": oa_total,
        "residents_total_lsoa": lsoa_total,
        "output_areas": len(oa),
        "lsoas": len(lsoa_codes),
        "msoas": len(msoa_codes),
        "workers_travel_in_total": int((od["destination"] - od["nomove"]).sum()),
        "home_workers_total": int(od["nomove"].sum()),
        "la_flows_total": int(flows["count"].sum()),
        "workplace_zones": len(wpz),
        "postcodes_same_code": int((pc_oa >= 0).sum()),
        "postcodes_nearest_changed_oa": int(un.sum()),
        "closing_m": CLOSING_M,
        "simplify_tolerance_m": TOLERANCE_M,
    }
    (OUT / "ew-census2021.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for f in sorted(OUT.glob("ew-census2021*")):
        print(f"wrote {f.name}: {f.stat().st_size / 1e6:.2f} MB")
    print(
        f"{len(oa):,} OAs: {oa_total:,} residents ({lsoa_total:,} by LSOA, {national:,} national)"
    )


if __name__ == "__main__":
    main()
