"""England & Wales Census 2021 in the shared London layout (``--data-dir``).

Files read, relative to the folder (the layout of ``../shared/data/london-census2021``, which
``geotarget data fetch ew-census2021`` also builds)::

    boundaries/*lsoa*.shp                LSOA 2021 polygons (LSOA21CD), any CRS
    boundaries/*msoa*.shp                MSOA 2021 polygons (MSOA21CD)
    residents/TS001*.csv*                TS001 usual residents, all geographies (OA, LSOA rows)
    workers/odwp01ew_msoa_counts.csv     ODWP01EW per MSOA: destination, nomove, ...
    workers/workplace_zones2011*.csv     2011 Workplace Zone population-weighted centroids
                                         (optional)

Residents (default ``dasymetric``): Output Area totals (TS001) spread equally over the OA's
residential postcodes (small-user postcode units with an Output Area 2011 code equal to the
2021 code, shipped with geotarget).  Output Areas whose code changed in 2021, or that have no
such postcode, are pooled per LSOA and spread over that LSOA's postcodes that no 2021 OA claims
(or all its postcodes, or -- where it has none -- evenly over its polygon).  With
``counts="lsoa"`` only LSOA totals are used (the hold-out set-up of the accuracy benchmark).
``areal`` keeps LSOA areal weighting.

Workers (default ``dasymetric``): ODWP01 ``destination - nomove`` per MSOA -- the people who
travel in to work there -- spread equally over the MSOA's 2011 Workplace Zone population-weighted
centroids (zones were designed to hold similar numbers of workers).  Home-workers (``nomove``)
are already counted where they live; they are reported apart as ``home_workers``.  ``areal``
keeps MSOA areal weighting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict, overload

import numpy as np
import shapely

from ..errors import DataError, InputError
from . import cache
from .base import CountSurface, PlaceSet, PopulationLayer
from .ew_dasymetric import (
    CLUSTERS_PER_OA,
    LATTICE_POINTS,
    POSTCODES_PER_CLUSTER,
    WPZ_PER_CLUSTER,
    home_workers_at_homes,
    postcodes_file_size,
    residents_dasymetric,
    workers_dasymetric,
)

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

#: the layer's CRS (ETRS89-LAEA): the ONS boundaries are taken to it
EQUAL_AREA_CRS = "EPSG:3035"
#: closing distance (m) that joins the banks of the tidal Thames and the docks, which the
#: clipped ONS boundaries leave out (the Thames is up to ~700 m wide at London's eastern edge)
CLOSING_M = 600.0

#: range calibration (benchmarks/calibrate_range.py, 2,000 random half-mile London catchments):
#: areal LSOA residents k=4, areal MSOA workers k=6 (against Workplace Zone shares)
#: (they also serve the dasymetric surfaces' counts spread over a polygon)
LSOA_CLUSTERS = 4.0
MSOA_CLUSTERS = 6.0

LOCKDOWN_CAVEAT = (
    "Census 2021 workplace counts: census day (21 March 2021) fell in a national lockdown with "
    "many people furloughed or working from home, so workplace populations are understated, "
    "above all in central London (ONS caveat for Census 2021 place-of-work data)."
)
DASYMETRIC_CAVEAT = (
    "Dasymetric residents: census counts are spread equally over residential postcodes; "
    "postcodes are not people, and the number of households per postcode varies."
)
ATTRIBUTION = [
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0",
    "Contains OS data \u00a9 Crown copyright and database right 2022",
    "Contains Royal Mail data \u00a9 Royal Mail copyright and database right 2025 "
    "(Code-Point Open postcode positions)",
]
#: the resident counts :func:`load` can use: Output Area or LSOA totals
COUNTS = ("oa", "lsoa")


class EwInputs(TypedDict):
    """The files of an England & Wales data folder that a layer is built from."""

    lsoa: Path
    msoa: Path
    ts001: Path
    od: Path
    wpz: Path | None


@overload
def _one(folder: Path, pattern: str, what: str, required: Literal[True] = ...) -> Path: ...
@overload
def _one(folder: Path, pattern: str, what: str, required: bool) -> Path | None: ...
def _one(folder: Path, pattern: str, what: str, required: bool = True) -> Path | None:
    """The first file of ``folder`` matching ``pattern``; ``None`` or DataError when none."""
    found = sorted(folder.glob(pattern))
    if not found:
        if not required:
            return None
        raise DataError(
            f"no {what} ({pattern}) in {str(folder)!r}: --data-dir must hold the "
            "England & Wales layout described in the README (boundaries/, "
            "residents/, workers/)"
        )
    return found[0]


def read_boundaries(path: Path, code: str) -> gpd.GeoDataFrame:
    """Read ONS boundaries, in :data:`EQUAL_AREA_CRS` with valid geometries.

    Parameters
    ----------
    path : Path
        A boundary file (shapefile) with its CRS (``.prj``).
    code : str
        The code column it must have, e.g. ``LSOA21CD``.

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    DataError
        When the file is unreadable or has no ``code`` column or no CRS.
    """
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as e:
        raise DataError(f"cannot read boundaries {str(path)!r}: {e}") from e
    if code not in gdf.columns:
        raise DataError(f"{str(path)!r} has no {code} column: expected ONS boundaries with {code}")
    if gdf.crs is None:
        raise DataError(
            f"{str(path)!r} has no CRS (.prj missing): ONS boundaries are in EPSG:27700"
        )
    gdf = gdf.to_crs(EQUAL_AREA_CRS)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf


def coverage_of(geoms: np.ndarray, closing_m: float = CLOSING_M) -> BaseGeometry:
    """Union of the zones with river and dock gaps closed (buffer out then in) and holes filled."""
    union = shapely.union_all(geoms, grid_size=0.01)
    closed = shapely.buffer(shapely.buffer(union, closing_m, quad_segs=8), -closing_m, quad_segs=8)
    cov = shapely.union(closed, union)
    polys = [shapely.Polygon(p.exterior) for p in shapely.get_parts(cov)]
    return shapely.union_all(polys)


#: ONS code of the London region
LONDON_REGION = "E12000007"


def _places(lsoa: gpd.GeoDataFrame, ts: pd.DataFrame) -> PlaceSet | None:
    """Named places from the LSOAs: local authority ("county"), "city" (the local authority, but
    Greater London for the London boroughs: platforms list London as one city) and "region"
    (ONS region, from TS001's local-authority rows)."""
    import pandas as pd

    if "LAD22CD" not in lsoa.columns:
        return None
    lad = lsoa["LAD22CD"].astype(str).to_numpy()
    lad_name = (lsoa["LAD22NM"] if "LAD22NM" in lsoa.columns else lsoa["LAD22CD"]).astype(str)
    la = ts[ts["Geography area type"] == "Local Authority"].set_index("Geography code")
    rgn = (
        pd.Series(lad)
        .map(la["Parent area code"])
        .astype(object)
        .fillna("unknown")
        .to_numpy(dtype=object)
    )
    rgn_names = ts[ts["Geography area type"] == "Region"].set_index("Geography code")[
        "Geography label"
    ]
    rgn_name = (
        pd.Series(rgn).map(rgn_names).astype(object).fillna("unknown region").to_numpy(dtype=object)
    )
    london = rgn == LONDON_REGION
    city = np.where(london, LONDON_REGION, lad)
    city_name = np.where(london, "Greater London", lad_name.to_numpy())
    return PlaceSet(
        geoms=lsoa.geometry.values,
        codes={
            "county": lad.astype(object),
            "city": city.astype(object),
            "region": rgn.astype(object),
        },
        names={
            "county": lad_name.to_numpy(dtype=object),
            "city": city_name.astype(object),
            "region": rgn_name,
        },
        note={
            "county": "local authority district (LAD 2022), union of its LSOAs",
            "city": "local authority district; the 33 London boroughs together as Greater "
            "London (platforms list London as one city)",
            "region": "ONS region (TS001 local-authority parents), union of its LSOAs",
        },
    ).precompute()


def _inputs(folder: Path) -> EwInputs:
    """The layout's files in ``folder``; DataError naming the first one missing."""
    return {
        "lsoa": _one(folder / "boundaries", "*lsoa*.shp", "LSOA boundaries"),
        "msoa": _one(folder / "boundaries", "*msoa*.shp", "MSOA boundaries"),
        "ts001": _one(folder / "residents", "TS001*.csv*", "TS001 residents table"),
        "od": _one(folder / "workers", "odwp01ew_msoa_counts.csv", "ODWP01 MSOA counts"),
        "wpz": _one(
            folder / "workers",
            "workplace_zones2011*.csv",
            "Workplace Zone centroids",
            required=False,
        ),
    }


def load(folder: str | Path, *, counts: str = "oa", use_cache: bool = True) -> PopulationLayer:
    """The England & Wales layer of a data folder (see the module docstring for its layout).

    Parameters
    ----------
    folder : str or Path
        The data folder (``--data-dir``).
    counts : str
        ``"oa"``: residents from Output Area totals; ``"lsoa"``: from LSOA totals only.
    use_cache : bool
        Read and write the built layer in the cache (:mod:`.cache`); the key covers the files
        and the calibration constants.

    Returns
    -------
    PopulationLayer
        Residents and workers, dasymetric by default, with areal alternatives.

    Raises
    ------
    DataError
        When the folder or one of its files is missing or unusable.
    InputError
        When ``counts`` is unknown.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"data folder {str(folder)!r} does not exist: point --data-dir at a "
            "folder in the England & Wales layout described in the README"
        )
    if counts not in COUNTS:
        raise InputError(f"counts {counts!r} is unknown: choose one of {', '.join(COUNTS)}")
    inputs = _inputs(folder)
    files = [inputs["lsoa"], inputs["msoa"], inputs["ts001"], inputs["od"]]
    if inputs["wpz"] is not None:
        files.append(inputs["wpz"])
    files += [
        p.with_suffix(s)
        for p in (inputs["lsoa"], inputs["msoa"])
        for s in (".dbf", ".prj")
        if p.with_suffix(s).exists()
    ]
    # the cache key also covers how the layer is built: calibration constants and ancillary data
    signature = (
        CLOSING_M,
        LSOA_CLUSTERS,
        MSOA_CLUSTERS,
        CLUSTERS_PER_OA,
        POSTCODES_PER_CLUSTER,
        WPZ_PER_CLUSTER,
        LATTICE_POINTS,
        postcodes_file_size(),
    )
    return cache.cached(
        lambda counts: build(folder, inputs, counts=counts),
        files,
        name="ew-census2021",
        use_cache=use_cache,
        counts=counts,
        signature=signature,
    )


def build(folder: Path, inputs: EwInputs, *, counts: str = "oa") -> PopulationLayer:
    """Build the England & Wales layer from the files of a data folder, without the cache.

    Parameters
    ----------
    folder : Path
        The data folder (recorded as the layer's origin).
    inputs : EwInputs
        Its files (the Workplace Zone centroids are optional).
    counts : str
        ``"oa"`` or ``"lsoa"`` (see :func:`load`).

    Returns
    -------
    PopulationLayer

    Raises
    ------
    DataError
        When a file is unreadable or the files do not match (zones without counts).
    """
    import pandas as pd

    lsoa = read_boundaries(inputs["lsoa"], "LSOA21CD")
    msoa = read_boundaries(inputs["msoa"], "MSOA21CD")
    try:
        ts = pd.read_csv(
            inputs["ts001"],
            usecols=[
                "Geography code",
                "Geography label",
                "Geography area type",
                "Parent area code",
                "Parent area type",
                "Total",
            ],
        )
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read TS001 table {str(inputs['ts001'])!r}: {e}") from e
    lsoa_total = ts[ts["Geography area type"] == "LSOA"].set_index("Geography code")["Total"]
    residents = lsoa["LSOA21CD"].map(lsoa_total)
    if residents.isna().any():
        miss = lsoa.loc[residents.isna(), "LSOA21CD"].head(3).tolist()
        raise DataError(
            f"{int(residents.isna().sum())} LSOAs have no TS001 count (e.g. {miss}): "
            "are the boundaries and TS001 both Census 2021?"
        )
    try:
        od = pd.read_csv(inputs["od"], usecols=["areacd", "destination", "nomove"])
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read ODWP01 counts {str(inputs['od'])!r}: {e}") from e
    od = od.set_index("areacd")
    dest = msoa["MSOA21CD"].map(od["destination"])
    nomove = msoa["MSOA21CD"].map(od["nomove"])
    if dest.isna().any() or nomove.isna().any():
        miss = msoa.loc[dest.isna() | nomove.isna(), "MSOA21CD"].head(3).tolist()
        raise DataError(f"MSOAs without ODWP01 counts (e.g. {miss}) in {str(inputs['od'])!r}")
    travel_in = (dest - nomove).to_numpy(float)
    if (travel_in < 0).any():
        raise DataError(f"{str(inputs['od'])!r}: nomove exceeds destination for some MSOAs")

    res_areal = CountSurface(
        kind="zones",
        unit="LSOA 2021",
        ids=lsoa["LSOA21CD"].to_numpy(),
        geoms=lsoa.geometry.values,
        values=residents.to_numpy(float),
        definition="usual residents (TS001 Total)",
        clusters_per_zone=LSOA_CLUSTERS,
        description="TS001 LSOA totals, areal weighting",
        range_note="k calibrated: 91% of 2,000 London half-mile ranges contain a finer reference",
    )
    wrk_areal = CountSurface(
        kind="zones",
        unit="MSOA 2021",
        ids=msoa["MSOA21CD"].to_numpy(),
        geoms=msoa.geometry.values,
        values=travel_in,
        definition="people who travel in to work here (ODWP01 destination - nomove)",
        extra={"home_workers": nomove.to_numpy(float)},
        clusters_per_zone=MSOA_CLUSTERS,
        description="ODWP01 MSOA counts, areal weighting",
        range_note="k calibrated against MSOA workers shared among Workplace Zones (91%); MSOAs "
        "are coarse, so the range is wide",
    )
    res_dasy = residents_dasymetric(lsoa, ts, counts, crs=EQUAL_AREA_CRS, polygon_k=LSOA_CLUSTERS)
    home_workers_at_homes(res_dasy, msoa, nomove.to_numpy(float))
    caveats = [DASYMETRIC_CAVEAT]
    if inputs["wpz"] is not None:
        wrk_dasy = workers_dasymetric(
            msoa, travel_in, inputs["wpz"], crs=EQUAL_AREA_CRS, polygon_k=MSOA_CLUSTERS
        )
        alternatives = {"residents": {"areal": res_areal}, "workers": {"areal": wrk_areal}}
    else:
        wrk_dasy = wrk_areal
        alternatives = {"residents": {"areal": res_areal}}
        caveats.append(
            "No Workplace Zone centroids in the data folder: workers use MSOA areal weighting."
        )
    return PopulationLayer(
        name="ew-census2021",
        country="GB",
        places=_places(lsoa, ts),
        title="England & Wales Census 2021 (residents by Output Area / LSOA, workplace "
        "population by MSOA)",
        source="ONS Census 2021: TS001 usual residents (OA, LSOA), ODWP01EW place of work (MSOA), "
        "ONS Open Geography LSOA/MSOA 2021 boundaries (generalised 20 m), 2011 Workplace "
        "Zone centroids; residential postcodes from OS Code-Point Open and the ONS "
        "postcode lookup (May 2022)",
        licence="Open Government Licence v3.0",
        vintage="Census 2021 (census day 21 March 2021)",
        crs=EQUAL_AREA_CRS,
        coverage=coverage_of(lsoa.geometry.values),
        residents=res_dasy,
        workers=wrk_dasy,
        alternatives=alternatives,
        attribution=ATTRIBUTION,
        caveats=caveats,
        workers_caveats=[LOCKDOWN_CAVEAT],
        origin=str(folder),
    )
