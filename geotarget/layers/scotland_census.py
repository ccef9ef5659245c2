"""Scotland's census by Data Zone, the built-in layer (Census 2011 usual residents, with council
areas as places), read from the package's data files."""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..errors import DataError
from . import builtin
from .base import CountSurface, PlaceSet, PopulationLayer

#: clusters per Data Zone for the range (see geotarget.estimate): the value calibrated for
#: London LSOAs (similar size, ~5-7 Output Areas each), as no finer Scottish reference ships.
DZ_CLUSTERS = 4.0


def load_builtin(name: str) -> PopulationLayer:
    """The built-in Scotland Data Zone layer ``name`` (see :data:`builtin.BUILTIN`)."""
    import geopandas as gpd

    zones_file, _, _ = builtin.BUILTIN[name]
    meta = builtin.metadata(name)
    try:
        with resources.as_file(builtin.file(zones_file)) as p:
            zones = gpd.read_parquet(p)
    except (OSError, ValueError) as e:
        raise DataError(f"built-in layer {name!r} cannot be read ({e}): reinstall geotarget") from e
    crs, coverage, pieces = builtin.coverage_index()[name]
    residents = CountSurface(
        kind="zones",
        unit=meta.get("zones", "zone"),
        ids=zones["zone_id"].to_numpy(),
        geoms=zones.geometry.values,
        values=zones["residents"].to_numpy(float),
        definition="usual residents",
        clusters_per_zone=DZ_CLUSTERS,
        range_note="k transferred from the London LSOA calibration (similar zones); not "
        "calibrated on Scottish data",
    )
    places = None
    if "council_code" in zones.columns:
        council = zones["council_code"].to_numpy(dtype=object)
        cname = zones["council_name"].to_numpy(dtype=object)
        scot = np.full(len(zones), "S92000003", dtype=object)
        places = PlaceSet(
            geoms=zones.geometry.values,
            codes={"county": council, "city": council, "region": scot},
            names={
                "county": cname,
                "city": cname,
                "region": np.full(len(zones), "Scotland", dtype=object),
            },
            note={
                "county": "council area (majority council of each Data Zone's postcodes, ONS "
                "postcode lookup May 2022)",
                "city": "council area (e.g. City of Edinburgh)",
                "region": "Scotland (the whole layer)",
            },
        )
        places.polygons[("region", "S92000003")] = coverage
        councils_file = builtin.file(name.replace(".parquet", "") + "-councils.parquet")
        if councils_file.is_file():
            with resources.as_file(councils_file) as p:
                cdf = gpd.read_parquet(p)
            for code, geom in zip(cdf["council_code"], cdf.geometry.values):
                places.polygons[("county", code)] = geom
                places.polygons[("city", code)] = geom
    return PopulationLayer(
        name=name,
        country="GB",
        places=places,
        coverage_pieces=pieces,
        title=meta["title"],
        source=meta["source"],
        licence=meta["licence"],
        vintage=meta["vintage"],
        crs=crs,
        coverage=coverage,
        residents=residents,
        workers=None,
        workers_unavailable=meta["workers_unavailable"],
        attribution=meta["attribution"],
        caveats=meta["caveats"],
        origin="built-in",
    )
