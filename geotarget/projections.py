"""Coordinate reference systems used for measuring.

* Input and output coordinates are WGS84 longitude/latitude (EPSG:4326), always x=lon, y=lat.
* Distances: a local azimuthal equidistant projection centred on the venue, so a radius is true
  in metres anywhere on Earth.
* Areas: each population layer names an equal-area CRS (ETRS89-LAEA Europe, EPSG:3035, for
  British and European layers) in which its zones are stored and intersections measured.
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import CRS, Transformer

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"


@lru_cache(maxsize=64)
def transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


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
