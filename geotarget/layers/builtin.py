"""The layers shipped inside the package (built by the scripts in ``data/``): their files,
metadata and coverage polygons; each is read by its source's module."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import DataError
from .base import PopulationLayer

#: name -> (zones file, coverage file, metadata file)
BUILTIN = {
    "scotland-dz2011": (
        "scotland-dz2011.parquet",
        "scotland-dz2011-coverage.parquet",
        "scotland-dz2011.json",
    ),
}


def file(name: str):
    return resources.files("geotarget.data").joinpath(name)


def metadata(name: str) -> dict:
    return json.loads(file(BUILTIN[name][2]).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def coverage_index() -> dict:
    """Coverage polygons of the built-in layers, loaded without their zones."""
    import geopandas as gpd

    out = {}
    for name, (_, cov, _) in BUILTIN.items():
        with resources.as_file(file(cov)) as p:
            g = gpd.read_parquet(p)
        piece = g["piece"].to_numpy() if "piece" in g.columns else np.zeros(len(g), bool)
        geoms = np.asarray(g.geometry.values, dtype=object)
        out[name] = (g.crs.to_string(), geoms[~piece][0], geoms[piece] if piece.any() else None)
    return out


@lru_cache(maxsize=4)
def load(name: str) -> PopulationLayer:
    """The built-in layer ``name`` (read once per process)."""
    if name not in BUILTIN:
        raise DataError(f"no built-in layer {name!r}: choose one of {sorted(BUILTIN)}")
    from . import scotland_census

    return scotland_census.load_builtin(name)
