"""Coordinate reference systems used for measuring.

* Input and output coordinates are WGS84 longitude/latitude (EPSG:4326), always x=lon, y=lat.
* Distances: a local azimuthal equidistant projection centred on the venue, so a radius is true
  in metres anywhere on Earth.
* Areas: each population layer names an equal-area CRS (ETRS89-LAEA Europe, EPSG:3035, for
  British and European layers) in which its zones are stored and intersections measured.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

GeomT = TypeVar("GeomT", BaseGeometry, "NDArray[np.object_]")


@lru_cache(maxsize=64)
def transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def reproject(geoms: GeomT, src: str, dst: str) -> GeomT:
    """``geoms`` (one geometry or an array of them) from CRS ``src`` to ``dst``: every vertex
    transformed by pyproj (always x, y order), the shapes otherwise unchanged."""
    if src == dst:
        return geoms
    t = transformer(src, dst)

    def move(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, move)  # type: ignore[no-any-return]


def bng_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """(lon, lat) of a British National Grid position."""
    lon, lat = transformer(BNG, WGS84).transform(easting, northing)
    return float(lon), float(lat)


def aeqd(lat: float, lon: float) -> str:
    """PROJ string of the azimuthal equidistant projection centred on (lat, lon)."""
    return f"+proj=aeqd +lat_0={lat:.10f} +lon_0={lon:.10f} +datum=WGS84 +units=m +no_defs"


def laea_for(lon: float, lat: float) -> str:
    """PROJ string of the Lambert azimuthal equal-area projection centred on (lat, lon)."""
    return f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"
