"""The registry of datasets geotarget knows."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .base import Dataset
from .eurostat_grid2021 import (
    EUROSTAT_NAME,
    EUROSTAT_SOURCES,
    _eurostat_tiles_wanted,
    build_eurostat_grid2021,
)
from .ew_census2021 import EW_LAYOUT, EW_NAME, EW_SOURCES, build_ew_census2021, check_ew_area
from .osm_extract import (
    OSM_AREAS,
    OSM_FILE,
    OSM_NAME,
    OSM_SOURCES,
    _osm_sources,
    build_osm,
    osm_region,
)
from .us_blocks2020 import US_NAME, US_SOURCES, _us_sources, build_us_blocks2020, us_area

SCOTLAND_NAME = "scotland-census2022"

#: every dataset geotarget knows, by name
DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name=EW_NAME,
            title="England & Wales Census 2021: usual residents (TS001) by Output Area and LSOA, "
            "workplace population (ODWP01EW) by MSOA, ONS boundaries",
            publisher="Office for National Statistics (ONS), via Nomis and the ONS Open Geography "
            "Portal",
            licence="Open Government Licence v3.0",
            attribution=(
                "Source: Office for National Statistics licensed under the Open Government Licence "
                "v.3.0",
                "Contains OS data \u00a9 Crown copyright and database right 2022",
            ),
            vintage="Census 2021 (census day 21 March 2021); boundaries December 2021",
            description="The folder --data-dir reads (the layout of "
            "../shared/data/london-census2021), clipped to an area. Census day fell in a "
            "lockdown: workplace counts understate normal weekday workers, above all in "
            "central London.",
            sources=EW_SOURCES,
            builder=build_ew_census2021,
            area_help="'london' (default: the 33 boroughs E09000001-E09000033), 'england', "
            "'wales', 'all', or local authority (LAD 2022) / region (E12...) codes separated by "
            "commas, e.g. E09000001,E09000033",
            default_area="london",
            usage="geotarget analyse VENUE --radius 0.5mi --data-dir {path}",
            layout=EW_LAYOUT,
            area_check=check_ew_area,
        ),
        Dataset(
            name=EUROSTAT_NAME,
            title="Eurostat Census 2021 population on the 1 km ETRS89-LAEA grid (EU/EFTA)",
            publisher="Eurostat (GISCO), from the national statistical institutes",
            licence="\u00a9 European Union; reuse authorised with acknowledgement of the source",
            attribution=("Source: Eurostat, Census 2021 population grid \u00a9 European Union",),
            vintage="Census 2021 (reference date 1 January 2021 in most countries)",
            description="Populated 1 km cells cut into 256 x 256-cell Parquet tiles "
            "(tile_1000_<tileX>_<tileY>.parquet: x, y = cell within the tile, T = "
            "population; a cell's lower-left corner is ((tileX*256+x)*1000, "
            "(tileY*256+y)*1000) in EPSG:3035) with info_1000.json, as in "
            "../shared/data/eurostat-grid2021.",
            sources=EUROSTAT_SOURCES,
            builder=build_eurostat_grid2021,
            area_check=_eurostat_tiles_wanted,
            area_help="'all' (default), tiles such as 14_11,17_12, or a WGS84 box "
            "'min_lon,min_lat,max_lon,max_lat'",
            default_area="all",
            usage="geotarget analyse LAT,LON --radius 5km --data-dir {path}",
            layout=(
                "tile_1000_<tileX>_<tileY>.parquet  x, y, T (, T_CI when the source has it), nb",
                "info_1000.json                     tile size 256, origin 0,0, resolution 1000 "
                "m, tiling bounds",
                "geotarget-build.json               what was built, from which file (sha256)",
            ),
        ),
        Dataset(
            name=US_NAME,
            title="US Census 2020 block populations (PL 94-171 P1_001N) with block internal points",
            publisher="US Census Bureau",
            licence="Public domain (US Government work)",
            attribution=(
                "Source: U.S. Census Bureau, 2020 Census Redistricting Data (Public Law "
                "94-171) Summary File",
            ),
            vintage="Census 2020 (census day 1 April 2020)",
            description="One row per census block of the chosen states or counties: geoid (15 "
            "digits), population_P1_001N, centroid_lon, centroid_lat (the Bureau's "
            "internal point), as in ../shared/data/memphis-census2020.",
            sources=US_SOURCES,
            builder=build_us_blocks2020,
            sources_fn=_us_sources,
            area_check=us_area,
            area_help="required: a state (TN or 47), a county (TN:157 or 47157 -- Shelby County, "
            "Memphis), or several separated by commas",
            default_area=None,
            usage="geotarget analyse LAT,LON --radius 0.5mi --data-dir {path}",
            layout=(
                "<area>_blocks2020_population.csv  geoid, population_P1_001N, centroid_lon, "
                "centroid_lat",
                "geotarget-build.json               what was built, from which files (sha256)",
            ),
        ),
        Dataset(
            name=OSM_NAME,
            title="OpenStreetMap street network: a regional extract (PBF), for --walk and --drive",
            publisher="OpenStreetMap contributors, extracts by Geofabrik GmbH",
            licence="Open Database License (ODbL) 1.0",
            attribution=("\u00a9 OpenStreetMap contributors",),
            vintage="the provider's extract of the day it is first downloaded (rebuilt daily; "
            "--force fetches a newer one)",
            description="One regional OpenStreetMap extract, checked readable, as "
            f"{OSM_FILE} (the street network --network reads; walkable and drivable ways are "
            "picked from it when it is first used).",
            sources=OSM_SOURCES,
            builder=build_osm,
            sources_fn=_osm_sources,
            area_check=osm_region,
            area_help=f"required: a region ({', '.join(sorted(OSM_AREAS))}) or the extract "
            "provider's path of one, e.g. europe/france/ile-de-france",
            default_area=None,
            usage=f"geotarget analyse VENUE --walk 10min --network {{path}}/{OSM_FILE}",
            layout=(
                f"{OSM_FILE}                    the extract as downloaded (PBF)",
                "geotarget-build.json               what was built, from which file (sha256)",
            ),
        ),
        Dataset(
            name=SCOTLAND_NAME,
            title="Scotland's Census 2022 usual residents (and 16+, 18+) by Output Area",
            publisher="National Records of Scotland (NRS)",
            licence="Open Government Licence v3.0",
            attribution=(),
            vintage="Scotland's Census 2022 (census day 20 March 2022)",
            description="Ships inside the geotarget package: nothing to download.",
            usage="geotarget analyse VENUE --radius 0.5mi --layer scotland-census2022",
            builtin=True,
        ),
    )
}


def get(name: str) -> Dataset:
    """The dataset ``name`` of :data:`DATASETS`; InputError naming the choices otherwise.

    Parameters
    ----------
    name : str
        The dataset's name.

    Returns
    -------
    Dataset
        The dataset.

    Raises
    ------
    InputError
        When there is no such dataset.
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(
            f"no dataset {name!r}: choose one of {', '.join(sorted(DATASETS))} "
            "('geotarget data list')"
        ) from None


def builtin_metadata(name: str) -> dict[str, Any]:
    """The metadata (title, source, licence, ...) of the built-in dataset ``name``.

    Parameters
    ----------
    name : str
        The built-in dataset's name.

    Returns
    -------
    dict
        Its metadata (:func:`geotarget.layers.builtin.metadata`).
    """
    from ..layers import builtin

    return builtin.metadata(name)
