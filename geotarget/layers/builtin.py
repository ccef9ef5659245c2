"""Layers shipped inside the package (built by the scripts in ``data/``)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import DataError
from .base import CountSurface, PopulationLayer

#: name -> (zones file, coverage file, metadata file)
BUILTIN = {
    "scotland-dz2011": ("scotland-dz2011.parquet", "scotland-dz2011-coverage.parquet",
                        "scotland-dz2011.json"),
}

#: clusters per Data Zone for the range (see geotarget.estimate): the value calibrated for
#: London LSOAs (similar size, ~5-7 Output Areas each), as no finer Scottish reference ships.
DZ_CLUSTERS = 4.0


def _file(name: str):
    return resources.files("geotarget.data").joinpath(name)


def metadata(name: str) -> dict:
    return json.loads(_file(BUILTIN[name][2]).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def coverage_index() -> dict:
    """Coverage polygons of the built-in layers, loaded without their zones."""
    import geopandas as gpd

    out = {}
    for name, (_, cov, _) in BUILTIN.items():
        with resources.as_file(_file(cov)) as p:
            g = gpd.read_parquet(p)
        piece = g["piece"].to_numpy() if "piece" in g.columns else np.zeros(len(g), bool)
        geoms = np.asarray(g.geometry.values, dtype=object)
        out[name] = (g.crs.to_string(), geoms[~piece][0], geoms[piece] if piece.any() else None)
    return out


@lru_cache(maxsize=4)
def load(name: str) -> PopulationLayer:
    import geopandas as gpd

    if name not in BUILTIN:
        raise DataError(f"no built-in layer {name!r}: choose one of {sorted(BUILTIN)}")
    zones_file, _, _ = BUILTIN[name]
    meta = metadata(name)
    try:
        with resources.as_file(_file(zones_file)) as p:
            zones = gpd.read_parquet(p)
    except (OSError, ValueError) as e:
        raise DataError(f"built-in layer {name!r} cannot be read ({e}): reinstall geotarget") from e
    crs, coverage, pieces = coverage_index()[name]
    residents = CountSurface(
        kind="zones", unit=meta.get("zones", "zone"), ids=zones["zone_id"].to_numpy(),
        geoms=zones.geometry.values, values=zones["residents"].to_numpy(float),
        definition="usual residents", clusters_per_zone=DZ_CLUSTERS,
        range_note="k transferred from the London LSOA calibration (similar zones); not "
                   "calibrated on Scottish data")
    from .base import PlaceSet

    places = None
    if "council_code" in zones.columns:
        council = zones["council_code"].to_numpy(dtype=object)
        cname = zones["council_name"].to_numpy(dtype=object)
        scot = np.full(len(zones), "S92000003", dtype=object)
        places = PlaceSet(
            geoms=zones.geometry.values,
            codes={"county": council, "city": council, "region": scot},
            names={"county": cname, "city": cname,
                   "region": np.full(len(zones), "Scotland", dtype=object)},
            note={"county": "council area (majority council of each Data Zone's postcodes, ONS "
                            "postcode lookup May 2022)",
                  "city": "council area (e.g. City of Edinburgh)",
                  "region": "Scotland (the whole layer)"})
        places.polygons[("region", "S92000003")] = coverage
        councils_file = _file(name.replace(".parquet", "") + "-councils.parquet")
        if councils_file.is_file():
            with resources.as_file(councils_file) as p:
                cdf = gpd.read_parquet(p)
            for code, geom in zip(cdf["council_code"], cdf.geometry.values):
                places.polygons[("county", code)] = geom
                places.polygons[("city", code)] = geom
    return PopulationLayer(
        name=name, country="GB", places=places, coverage_pieces=pieces, title=meta["title"], source=meta["source"], licence=meta["licence"],
        vintage=meta["vintage"], crs=crs, coverage=coverage, residents=residents,
        workers=None, workers_unavailable=meta["workers_unavailable"],
        attribution=meta["attribution"], caveats=meta["caveats"], origin="built-in")
