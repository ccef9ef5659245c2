"""The ONS LSOA 2021 boundaries of the England & Wales build, and the MSOA and local authority
polygons dissolved from them, written as shapefiles in EPSG:27700 (``boundaries/``)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

#: the fields of the written LSOA shapefile, after its geometry column
LSOA_FIELDS = ["LSOA21CD", "LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM"]


def boundary_files(slug: str) -> dict[str, str]:
    """The boundary shapefiles of an area, relative to the built folder.

    Parameters
    ----------
    slug : str
        The area's folder-name form (e.g. ``london``).

    Returns
    -------
    dict of str to str
        ``{"lsoa": ..., "msoa": ..., "lad": ...}``.
    """
    return {
        "lsoa": f"boundaries/{slug}-2021-lsoa-gen20.shp",
        "msoa": f"boundaries/{slug}-2021-msoa-gen20.shp",
        "lad": f"boundaries/{slug}-2021-lad22-gen20.shp",
    }


def read_lsoa_polygons(path: Path) -> gpd.GeoDataFrame:
    """Read every LSOA polygon of the ONS download, one (valid) polygon per LSOA.

    Parameters
    ----------
    path : Path
        The ONS LSOA (December 2021) boundaries: GeoJSON, or a zipped shapefile.

    Returns
    -------
    geopandas.GeoDataFrame
        ``LSOA21CD`` and ``geometry`` in EPSG:27700; invalid polygons are repaired and an LSOA
        given in several pieces is dissolved into one.

    Raises
    ------
    DataError
        When the file cannot be read or has no ``LSOA21CD`` field.
    """
    import geopandas as gpd
    import shapely

    src = f"/vsizip/{path}" if zipfile.is_zipfile(path) else str(path)
    try:
        gdf = gpd.read_file(src, engine="pyogrio")
    except Exception as e:  # pyogrio raises its own error types
        raise DataError(
            f"cannot read the LSOA boundaries {str(path)!r} ({e}): fetch again with --force"
        ) from e
    geom = gdf.geometry.name
    gdf = gdf.rename(columns={c: str(c).upper() for c in gdf.columns if c != geom})
    if "LSOA21CD" not in gdf.columns:
        raise DataError(
            f"{path.name} has no LSOA21CD field (it has {list(gdf.columns)[:10]}): "
            "expected the ONS LSOA (December 2021) boundaries; fetch again with "
            "--force"
        )
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")  # GeoJSON (RFC 7946) is WGS84
    gdf = gdf[["LSOA21CD", geom]]
    if geom != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf = gdf.to_crs("EPSG:27700")
    bad = ~shapely.is_valid(gdf.geometry.values)
    if bad.any():
        gdf.loc[bad, "geometry"] = shapely.make_valid(gdf.geometry.values[bad])
    if gdf["LSOA21CD"].duplicated().any():
        gdf = gdf.dissolve("LSOA21CD", as_index=False)
    return gdf


def write_boundaries(
    all_lsoa: gpd.GeoDataFrame,
    sel_lk: pd.DataFrame,
    lsoa_codes: Sequence[str],
    out_dir: Path,
    slug: str,
) -> list[str]:
    """Write the area's LSOA, MSOA and local authority shapefiles.

    Parameters
    ----------
    all_lsoa : geopandas.GeoDataFrame
        Every LSOA polygon (:func:`read_lsoa_polygons`).
    sel_lk : pandas.DataFrame
        The Output Area lookup rows of the area (names and parents of its LSOAs).
    lsoa_codes : sequence of str
        The area's LSOAs.
    out_dir : Path
        The built folder.
    slug : str
        The area's folder-name form, part of the file names (:func:`boundary_files`).

    Returns
    -------
    list of str
        The files written, relative to ``out_dir``.

    Raises
    ------
    DataError
        When the boundaries lack an LSOA of the area.
    """
    lsoa = all_lsoa[all_lsoa["LSOA21CD"].isin(set(lsoa_codes))]
    missing = sorted(set(lsoa_codes) - set(lsoa["LSOA21CD"]))
    if missing:
        raise DataError(
            f"the LSOA boundaries lack {len(missing)} LSOAs of the area (e.g. "
            f"{missing[:3]}): are the boundaries the December 2021 edition? Fetch "
            "again with --force"
        )
    names = sel_lk.drop_duplicates("LSOA21CD").set_index("LSOA21CD")
    lsoa = lsoa.assign(
        **{c: lsoa["LSOA21CD"].map(names[c]).to_numpy() for c in LSOA_FIELDS if c != "LSOA21CD"}
    )
    lsoa = (
        lsoa[[*LSOA_FIELDS, "geometry"]]
        .sort_values("LSOA21CD", kind="stable")
        .reset_index(drop=True)
    )
    files = boundary_files(slug)
    _write_shp(lsoa, out_dir / files["lsoa"])
    for key, cd, nm in (("msoa", "MSOA21CD", "MSOA21NM"), ("lad", "LAD22CD", "LAD22NM")):
        d = lsoa[[nm, cd, "geometry"]].dissolve(by=[nm, cd], as_index=False)
        d = d[[nm, cd, "geometry"]].sort_values([nm, cd], kind="stable").reset_index(drop=True)
        _write_shp(d, out_dir / files[key])
    return list(files.values())


def _write_shp(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write ``gdf`` as a UTF-8 shapefile (folder created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(path, engine="pyogrio", encoding="UTF-8")
