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

#: WGS84 longitude/latitude: every input and output coordinate
WGS84 = "EPSG:4326"
#: the British National Grid (OSGB36), in which Code-Point Open gives postcode positions
BNG = "EPSG:27700"

#: one shapely geometry or a numpy array of them
GeomT = TypeVar("GeomT", BaseGeometry, "NDArray[np.object_]")


@lru_cache(maxsize=64)
def transformer(src: str, dst: str) -> Transformer:
    """The (cached) pyproj transformer from ``src`` to ``dst``, in x, y (lon, lat) order.

    Parameters
    ----------
    src, dst : str
        The CRSs, in any form pyproj reads (``"EPSG:4326"``, a PROJ string...).

    Returns
    -------
    pyproj.Transformer
        A transformer with ``always_xy=True``.
    """
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def reproject(geoms: GeomT, src: str, dst: str) -> GeomT:
    """Geometries moved from CRS ``src`` to ``dst``.

    Every vertex is transformed by pyproj (always x, y order), the shapes otherwise unchanged.

    Parameters
    ----------
    geoms : shapely geometry or numpy.ndarray of them
        What to move.
    src, dst : str
        The CRSs from and to; the same CRS returns ``geoms`` itself.

    Returns
    -------
    shapely geometry or numpy.ndarray of them
        The same kind as ``geoms``.
    """
    if src == dst:
        return geoms
    t = transformer(src, dst)

    def move(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, move)


def bng_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """(lon, lat) of a British National Grid position.

    Parameters
    ----------
    easting, northing : float
        The position on the British National Grid (EPSG:27700), in metres.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in WGS84 degrees.
    """
    lon, lat = transformer(BNG, WGS84).transform(easting, northing)
    return float(lon), float(lat)


def aeqd(lat: float, lon: float) -> str:
    """PROJ string of the azimuthal equidistant projection centred on (lat, lon).

    Parameters
    ----------
    lat, lon : float
        The centre, WGS84 degrees.

    Returns
    -------
    str
        A PROJ string, in metres: distances from the centre are true.
    """
    return f"+proj=aeqd +lat_0={lat:.10f} +lon_0={lon:.10f} +datum=WGS84 +units=m +no_defs"


def laea_for(lon: float, lat: float) -> str:
    """PROJ string of the Lambert azimuthal equal-area projection centred on (lat, lon).

    Parameters
    ----------
    lon, lat : float
        The centre, WGS84 degrees (note the order: longitude first).

    Returns
    -------
    str
        A PROJ string, in metres: areas are true.
    """
    return f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"
