"""England & Wales Census 2021 in the shared London layout (``--data-dir``).

Files read, relative to the folder (the layout of ``../shared/data/london-census2021``)::

    boundaries/*-lsoa-gen20.shp          LSOA 2021 polygons (LSOA21CD, MSOA21CD, ...), any CRS
    boundaries/*-msoa-gen20.shp          MSOA 2021 polygons (MSOA21CD)
    residents/TS001_residence_type_2021.csv.gz   TS001 usual residents, all geographies
    workers/odwp01ew_msoa_counts.csv     ODWP01EW per MSOA: destination, nomove, ...

Residents: TS001 ``Total`` of each LSOA.  Workers: ODWP01 ``destination - nomove`` per MSOA, the
people who travel in to work there (home-workers, ``nomove``, are already counted where they live
and are reported separately as ``home_workers``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..errors import DataError
from .base import CountSurface, PopulationLayer

EQUAL_AREA_CRS = "EPSG:3035"
#: closing distance (m) that joins the banks of the tidal Thames and the docks, which the
#: clipped ONS boundaries leave out (the Thames is up to ~700 m wide at London's eastern edge)
CLOSING_M = 600.0

LOCKDOWN_CAVEAT = (
    "Census 2021 workplace counts: census day (21 March 2021) fell in a national lockdown with "
    "many people furloughed or working from home, so workplace populations are understated, "
    "above all in central London (ONS caveat for Census 2021 place-of-work data)."
)
ATTRIBUTION = [
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0",
    "Contains OS data \u00a9 Crown copyright and database right 2022",
]


def _one(folder: Path, pattern: str, what: str) -> Path:
    found = sorted(folder.glob(pattern))
    if not found:
        raise DataError(f"no {what} ({pattern}) in {str(folder)!r}: --data-dir must hold the "
                        "England & Wales layout described in the README (boundaries/, "
                        "residents/, workers/)")
    return found[0]


def read_boundaries(path: Path, code: str):
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as e:
        raise DataError(f"cannot read boundaries {str(path)!r}: {e}") from e
    if code not in gdf.columns:
        raise DataError(f"{str(path)!r} has no {code} column: expected ONS boundaries with "
                        f"{code}")
    if gdf.crs is None:
        raise DataError(f"{str(path)!r} has no CRS (.prj missing): ONS boundaries are in "
                        "EPSG:27700")
    gdf = gdf.to_crs(EQUAL_AREA_CRS)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf


def coverage_of(geoms: np.ndarray, closing_m: float = CLOSING_M):
    """Union of the zones with river and dock gaps closed (buffer out then in) and holes filled."""
    union = shapely.union_all(geoms, grid_size=0.01)
    closed = shapely.buffer(shapely.buffer(union, closing_m, quad_segs=8), -closing_m,
                            quad_segs=8)
    cov = shapely.union(closed, union)
    polys = [shapely.Polygon(p.exterior) for p in shapely.get_parts(cov)]
    return shapely.union_all(polys)


def load(folder: str | Path) -> PopulationLayer:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data folder {str(folder)!r} does not exist: point --data-dir at a "
                        "folder in the England & Wales layout described in the README")
    lsoa_path = _one(folder / "boundaries", "*lsoa*.shp", "LSOA boundaries")
    msoa_path = _one(folder / "boundaries", "*msoa*.shp", "MSOA boundaries")
    ts001_path = _one(folder / "residents", "TS001*.csv*", "TS001 residents table")
    od_path = _one(folder / "workers", "odwp01ew_msoa_counts.csv", "ODWP01 MSOA counts")

    lsoa = read_boundaries(lsoa_path, "LSOA21CD")
    msoa = read_boundaries(msoa_path, "MSOA21CD")
    try:
        ts = pd.read_csv(ts001_path, usecols=["Geography code", "Geography area type", "Total"])
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read TS001 table {str(ts001_path)!r}: {e}") from e
    ts = ts[ts["Geography area type"] == "LSOA"].set_index("Geography code")["Total"]
    residents = lsoa["LSOA21CD"].map(ts)
    if residents.isna().any():
        miss = lsoa.loc[residents.isna(), "LSOA21CD"].head(3).tolist()
        raise DataError(f"{int(residents.isna().sum())} LSOAs have no TS001 count (e.g. {miss}): "
                        "are the boundaries and TS001 both Census 2021?")
    try:
        od = pd.read_csv(od_path, usecols=["areacd", "destination", "nomove"]).set_index("areacd")
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read ODWP01 counts {str(od_path)!r}: {e}") from e
    dest = msoa["MSOA21CD"].map(od["destination"])
    nomove = msoa["MSOA21CD"].map(od["nomove"])
    if dest.isna().any() or nomove.isna().any():
        miss = msoa.loc[dest.isna() | nomove.isna(), "MSOA21CD"].head(3).tolist()
        raise DataError(f"MSOAs without ODWP01 counts (e.g. {miss}) in {str(od_path)!r}")
    travel_in = dest - nomove
    if (travel_in < 0).any():
        raise DataError(f"{str(od_path)!r}: nomove exceeds destination for some MSOAs")

    res = CountSurface(
        kind="zones", unit="LSOA 2021", ids=lsoa["LSOA21CD"].to_numpy(),
        geoms=lsoa.geometry.values, values=residents.to_numpy(float),
        definition="usual residents (TS001 Total)")
    wrk = CountSurface(
        kind="zones", unit="MSOA 2021", ids=msoa["MSOA21CD"].to_numpy(),
        geoms=msoa.geometry.values, values=travel_in.to_numpy(float),
        definition="people who travel in to work here (ODWP01 destination - nomove)",
        extra={"home_workers": nomove.to_numpy(float)})
    return PopulationLayer(
        name="ew-census2021",
        title="England & Wales Census 2021 (LSOA residents, MSOA workplace population)",
        source="ONS Census 2021: TS001 usual residents (LSOA), ODWP01EW place of work (MSOA), "
               "ONS Open Geography LSOA/MSOA 2021 boundaries (generalised 20 m)",
        licence="Open Government Licence v3.0",
        vintage="Census 2021 (census day 21 March 2021)",
        crs=EQUAL_AREA_CRS,
        coverage=coverage_of(lsoa.geometry.values),
        residents=res,
        workers=wrk,
        attribution=ATTRIBUTION,
        caveats=["Areal weighting assumes people are spread evenly over each zone."],
        workers_caveats=[LOCKDOWN_CAVEAT],
        origin=str(folder),
    )
