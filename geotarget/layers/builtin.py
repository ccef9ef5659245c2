"""The layers shipped inside the package (built by the scripts in ``data/``): their files,
metadata and coverage polygons; each is read by its source's module."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from shapely.geometry.base import BaseGeometry

#: name -> (main table, coverage file, metadata file); :func:`registry.choose_layer` tries them
#: in this order (Scotland's coverage is the finer one near the border)
BUILTIN = {
    "scotland-census2022": (
        "scotland-census2022-oa.parquet",
        "scotland-census2022-coverage.parquet",
        "scotland-census2022.json",
    ),
    "ew-census2021": (
        "ew-census2021-oa.parquet",
        "ew-census2021-coverage.parquet",
        "ew-census2021.json",
    ),
}
#: the Great Britain layer: both countries' layers as one (:mod:`.gb_builtin`), chosen for a
#: catchment that reaches across the England-Scotland border
GB = "gb-census"


def file(name: str) -> Traversable:
    """The shipped data file ``name`` (in ``geotarget/data``)."""
    return resources.files("geotarget.data").joinpath(name)


def metadata(name: str) -> dict[str, Any]:
    """The metadata of the built-in layer ``name`` (title, source, licence, caveats, ...)."""
    meta: dict[str, Any] = json.loads(file(BUILTIN[name][2]).read_text(encoding="utf-8"))
    return meta


@lru_cache(maxsize=1)
def coverage_index() -> dict[str, tuple[str, BaseGeometry, np.ndarray | None]]:
    """Coverage polygons of the built-in layers, loaded without their zones.

    Returns
    -------
    dict
        ``{name: (CRS, coverage polygon, coverage pieces or None)}``.
    """
    import geopandas as gpd

    out = {}
    for name, (_, cov, _) in BUILTIN.items():
        with resources.as_file(file(cov)) as p:
            g = gpd.read_parquet(p)
        piece = g["piece"].to_numpy() if "piece" in g.columns else np.zeros(len(g), bool)
        geoms = np.asarray(g.geometry.values, dtype=object)
        out[name] = (g.crs.to_string(), geoms[~piece][0], geoms[piece] if piece.any() else None)
    return out
