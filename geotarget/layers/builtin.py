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


#: a bounding box (xmin, ymin, xmax, ymax)
Box = tuple[float, float, float, float]


def _crs_string(crs: Any) -> str:
    """A GeoParquet column's CRS (PROJJSON) as ``geopandas``' ``crs.to_string()`` gives it: its
    authority code when it names one (no PROJ database query), else through pyproj."""
    ident = crs.get("id") if isinstance(crs, dict) else None
    if isinstance(ident, dict) and {"authority", "code"} <= set(ident):
        return f"{ident['authority']}:{ident['code']}"
    from pyproj import CRS

    return str(CRS.from_user_input("OGC:CRS84" if crs is None else crs).to_string())


@lru_cache(maxsize=8)
def coverage_box(name: str) -> tuple[str, Box | None]:
    """The CRS and the bounding box of the coverage file of the built-in layer ``name`` (its
    polygon and pieces), from the file's GeoParquet metadata alone: no geometry is read.

    A point or a catchment outside the box is outside the coverage, so the polygons need not
    be read to say so (a London venue never reads Scotland's coverage, 460,000 vertices).

    Parameters
    ----------
    name : str
        A built-in layer (a key of :data:`BUILTIN`).

    Returns
    -------
    tuple
        ``(CRS, box)``; the box is ``None`` when the file does not record one.
    """
    import pyarrow.parquet as pq

    with resources.as_file(file(BUILTIN[name][1])) as p:
        geo = json.loads(pq.read_schema(p).metadata[b"geo"])
    col = geo["columns"][geo["primary_column"]]
    bbox = col.get("bbox")
    box = tuple(float(v) for v in bbox) if isinstance(bbox, list) and len(bbox) == 4 else None
    return _crs_string(col.get("crs", "OGC:CRS84")), box  # type: ignore[return-value]


def box_holds(box: Box | None, x: float, y: float) -> bool:
    """Whether the point (``x``, ``y``) may lie in what ``box`` bounds (``None``: it may)."""
    return box is None or (box[0] <= x <= box[2] and box[1] <= y <= box[3])


def box_meets(box: Box | None, bounds: Any) -> Any:
    """Whether a geometry with ``bounds`` (x0, y0, x1, y1: numbers, or arrays of them for many
    geometries) may meet what ``box`` bounds (``None``: it may)."""
    if box is None:
        return True
    x0, y0, x1, y1 = bounds
    return np.logical_not((x1 < box[0]) | (x0 > box[2]) | (y1 < box[1]) | (y0 > box[3]))


@lru_cache(maxsize=8)
def coverage(name: str) -> tuple[str, BaseGeometry, np.ndarray | None]:
    """The coverage polygon of the built-in layer ``name``, loaded without its zones.

    Parameters
    ----------
    name : str
        A built-in layer (a key of :data:`BUILTIN`).

    Returns
    -------
    tuple
        ``(CRS, coverage polygon, coverage pieces or None)``.
    """
    import shapely

    from .parquet import column_array, read_table

    with resources.as_file(file(BUILTIN[name][1])) as p:
        table = read_table(p)
    geo = json.loads(table.schema.metadata[b"geo"])
    primary = geo["primary_column"]
    col = geo["columns"][primary]
    if col.get("encoding", "WKB").upper() != "WKB":  # not written by geopandas' default
        import geopandas as gpd

        with resources.as_file(file(BUILTIN[name][1])) as p:
            g = gpd.read_parquet(p)
        crs = g.crs.to_string()
        geoms = np.asarray(g.geometry.values, dtype=object)
        piece = g["piece"].to_numpy() if "piece" in g.columns else np.zeros(len(g), bool)
    else:
        crs = _crs_string(col.get("crs", "OGC:CRS84"))
        geoms = shapely.from_wkb(column_array(table.column(primary)))
        names = table.schema.names
        piece = (
            column_array(table.column("piece")).astype(bool)
            if "piece" in names
            else np.zeros(len(geoms), bool)
        )
    return crs, geoms[~piece][0], geoms[piece] if piece.any() else None


def coverage_index() -> dict[str, tuple[str, BaseGeometry, np.ndarray | None]]:
    """Coverage polygons of the built-in layers, loaded without their zones.

    Returns
    -------
    dict
        ``{name: (CRS, coverage polygon, coverage pieces or None)}``.
    """
    return {name: coverage(name) for name in BUILTIN}
