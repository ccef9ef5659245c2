"""The shapes of a map as GeoJSON in WGS84, from a :class:`~geotarget.render.picture.Picture`.

Geometry work is done in the layer's equal-area CRS (metres); shapes are simplified to what the
zoom at which they are seen needs and coordinates rounded accordingly before being written in
WGS84.  A wasted area's density cells are dissolved by density class, one feature per class.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike
from shapely.geometry.base import BaseGeometry

from .picture import FootprintShape, Picture, _drop_small

#: a GeoJSON object (geometry, feature or feature collection)
GeoJSON = dict[str, Any]


def _digits(tol_m: float) -> int:
    """Decimal places of degrees that round by at most half of ``tol_m`` metres (a degree of
    latitude is about 111 km), between 4 (~11 m) and 6 (~0.1 m)."""
    return int(min(6, max(4, math.ceil(math.log10(2 * 111_000 / max(tol_m, 0.1))))))


def _coords(geom: BaseGeometry, nd: int) -> GeoJSON:
    """``geom`` as a GeoJSON geometry, coordinates rounded to ``nd`` decimal places (of a
    collection, only the polygons are kept)."""

    def ring(c: ArrayLike) -> list[list[float]]:
        return [[round(x, nd), round(y, nd)] for x, y in np.asarray(c)[:, :2].tolist()]

    if isinstance(geom, shapely.Polygon):
        rings = [geom.exterior.coords, *(i.coords for i in geom.interiors)]
        return {"type": "Polygon", "coordinates": [ring(r) for r in rings]}
    if isinstance(geom, shapely.MultiPolygon):
        return {
            "type": "MultiPolygon",
            "coordinates": [_coords(p, nd)["coordinates"] for p in geom.geoms],
        }
    if isinstance(geom, shapely.LineString):
        return {"type": "LineString", "coordinates": ring(geom.coords)}
    if isinstance(geom, shapely.MultiLineString):
        return {"type": "MultiLineString", "coordinates": [ring(g.coords) for g in geom.geoms]}
    if isinstance(geom, shapely.Point):
        return {"type": "Point", "coordinates": ring([geom.coords[0]])[0]}
    if isinstance(geom, shapely.MultiPoint):
        return {"type": "MultiPoint", "coordinates": [ring([g.coords[0]])[0] for g in geom.geoms]}
    if isinstance(geom, shapely.GeometryCollection):
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return _coords(shapely.union_all(polys) if polys else shapely.Polygon(), nd)
    raise ValueError(f"cannot write {geom.geom_type} as GeoJSON")


def _feature(
    pic: Picture,
    geom: BaseGeometry | None,
    tol_m: float,
    props: dict[str, Any] | None = None,
    digits: int | None = None,
    min_area: float | None = None,
) -> GeoJSON | None:
    """A GeoJSON feature in WGS84, simplified to ``tol_m`` metres; polygon parts smaller than
    ``min_area`` (default: 3 tolerances squared), invisible at the zoom the shape is seen whole,
    are left out."""
    if geom is None or geom.is_empty:
        return None
    g = shapely.simplify(geom, tol_m, preserve_topology=True) if tol_m > 0 else geom
    g = _drop_small(g, (3 * tol_m) ** 2 if min_area is None else min_area)
    if g.is_empty:
        return None
    g = pic.to_wgs84(g)
    return {
        "type": "Feature",
        "properties": props or {},
        "geometry": _coords(g, digits if digits is not None else _digits(tol_m)),
    }


def _collection(features: Iterable[GeoJSON | None]) -> GeoJSON:
    return {"type": "FeatureCollection", "features": [f for f in features if f is not None]}


def _tolerance(pic: Picture, geom: BaseGeometry) -> float:
    """Simplification tolerance for a shape seen whole: ~1/1500 of its extent, and never below
    ~1/800 of the catchment's radius (1 m for half a mile)."""
    x0, y0, x1, y1 = geom.bounds
    return max(max(x1 - x0, y1 - y0) / 1500, pic.catchment_radius_m / 800)


def _context_shapes(pic: Picture) -> GeoJSON:
    """The layer's zone outlines (merged, simplified for the opening view) or its points."""
    if pic.context_kind == "points":
        points = shapely.MultiPoint(shapely.get_coordinates(pic.context))
        return _collection([_feature(pic, points, 0)])
    x0, y0, x1, y1 = pic.view.bounds
    merged = shapely.union_all(shapely.boundary(pic.context))
    return _collection([_feature(pic, merged, max(x1 - x0, y1 - y0) / 600)])


def _cell_features(pic: Picture, f: FootprintShape) -> list[GeoJSON | None]:
    """The density cells of a wasted area, simplified to a 25th of their size, then dissolved
    by density class (one feature per class, its class in ``properties.k``)."""
    if not len(f.cells.geoms):
        return []
    klass = pic.classify(f.cells.density)
    ctol = np.maximum(f.cells.size_m / 25, pic.catchment_radius_m / 800)
    simple = shapely.simplify(f.cells.geoms, ctol, preserve_topology=True)
    simple = np.array([_drop_small(g, (3 * t) ** 2) for g, t in zip(simple, ctol)], dtype=object)
    nd = _digits(float(ctol.min()))
    min_area = (2 * float(ctol.min())) ** 2
    return [
        _feature(pic, shapely.union_all(simple[klass == k]), 0, {"k": int(k)}, nd, min_area)
        for k in np.unique(klass)
    ]


def map_shapes(pic: Picture) -> dict[str, Any]:
    """Every shape of the map as GeoJSON in WGS84, each written once.

    Parameters
    ----------
    pic : Picture
        The shapes in the layer's CRS (:func:`geotarget.render.picture.picture`).

    Returns
    -------
    dict
        ``"catchment"`` and, if drawn, ``"context"`` (FeatureCollections), and per distinct
        footprint ``"fp0"``, ``"fp1"``...: ``{"outline", "cells", "nodata"}`` collections (the
        cells' density class in each feature's ``properties.k``).
    """
    data: dict[str, Any] = {
        "catchment": _collection([_feature(pic, pic.catchment, _tolerance(pic, pic.catchment))])
    }
    if len(pic.context):
        data["context"] = _context_shapes(pic)
    for i, f in enumerate(pic.footprints):
        tol = _tolerance(pic, f.geometry)
        data[f"fp{i}"] = {
            "outline": _collection([_feature(pic, f.geometry, tol)]),
            "cells": _collection(_cell_features(pic, f)),
            "nodata": _collection([_feature(pic, f.no_data, tol)]),
        }
    return data
