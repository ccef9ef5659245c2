"""Layers shipped inside the package (built by the scripts in ``data/``)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

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
        out[name] = (g.crs.to_string(), g.geometry.values[0])
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
    crs, coverage = coverage_index()[name]
    residents = CountSurface(
        kind="zones", unit=meta.get("zones", "zone"), ids=zones["zone_id"].to_numpy(),
        geoms=zones.geometry.values, values=zones["residents"].to_numpy(float),
        definition="usual residents", clusters_per_zone=DZ_CLUSTERS)
    return PopulationLayer(
        name=name, title=meta["title"], source=meta["source"], licence=meta["licence"],
        vintage=meta["vintage"], crs=crs, coverage=coverage, residents=residents,
        workers=None, workers_unavailable=meta["workers_unavailable"],
        attribution=meta["attribution"], caveats=meta["caveats"], origin="built-in")
