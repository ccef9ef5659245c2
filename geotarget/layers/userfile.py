"""A user's own population file: GeoPackage, GeoParquet, GeoJSON, Shapefile or CSV.

Polygons become zones (areal weighting), points become points (containment).  A CSV needs
``lat``/``lon`` columns (or ``latitude``/``longitude``, ``y``/``x``) in WGS84, or a ``wkt``
column plus ``--crs``.  The count columns are named by the user (``--residents-col``,
``--workers-col``); either may be absent (then reported unavailable).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from ..errors import DataError
from ..projections import laea_for, reproject
from . import cache
from .base import CountSurface, PopulationLayer
from .geometry import half_spacing, point_coverage

if TYPE_CHECKING:
    import geopandas as gpd

#: clusters per zone for the range of a user's zones: the London LSOA calibration, transferred
USER_ZONE_CLUSTERS = 4.0
_LAT = ("lat", "latitude", "y")
_LON = ("lon", "lng", "long", "longitude", "x")


def load_user_file(
    path: str | Path,
    *,
    residents_col: str | None = None,
    workers_col: str | None = None,
    use_cache: bool = True,
) -> PopulationLayer:
    """A user's population file as a layer: polygons become zones, points become points.

    Parameters
    ----------
    path : str or Path
        A GeoPackage, GeoParquet, GeoJSON, Shapefile, or a CSV with ``lat``/``lon`` columns
        (WGS84); a file of one layer, with a CRS.
    residents_col, workers_col : str or None
        The count columns (at least one); a population without one is unavailable.
    use_cache : bool
        Read and write the built layer in the cache (:mod:`.cache`).

    Returns
    -------
    PopulationLayer
        In a local equal-area projection; coverage: the union of the polygons, or the points'
        widened concave hull.

    Raises
    ------
    DataError
        When the file is missing or unreadable, no count column is named, or its geometries or
        counts are not usable (each message says what to fix).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"layer file {str(path)!r} does not exist")
    if residents_col is None and workers_col is None:
        raise DataError(
            f"name the count column of {path.name!r}: --residents-col COLUMN "
            "(and/or --workers-col COLUMN)"
        )
    return cache.cached(
        lambda **kw: _build(path, **kw),
        [path],
        name=f"user-{path.stem}",
        use_cache=use_cache,
        residents_col=residents_col,
        workers_col=workers_col,
    )


def _read(path: Path) -> gpd.GeoDataFrame:
    """The file's features (a CSV's rows as WGS84 points); DataError when unreadable."""
    import geopandas as gpd

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            try:
                df = pd.read_csv(path)
            except UnicodeDecodeError:
                raise DataError(f"{str(path)!r} is not UTF-8 text: save the CSV as UTF-8") from None
            dup = [
                c
                for c in df.columns
                if re.fullmatch(r".+\.\d+", str(c)) and re.sub(r"\.\d+$", "", str(c)) in df.columns
            ]
            if dup:
                raise DataError(
                    f"{str(path)!r} has a duplicate column "
                    f"{re.sub(r'.[0-9]+$', '', str(dup[0]))!r}: keep one column of "
                    "each name"
                )
            cols = {c.lower(): c for c in df.columns}
            lat = next((cols[c] for c in _LAT if c in cols), None)
            lon = next((cols[c] for c in _LON if c in cols), None)
            if "wkt" in cols:
                raise DataError(
                    f"{str(path)!r}: WKT columns need a CRS; save the file as "
                    "GeoPackage or GeoJSON instead"
                )
            if lat is None or lon is None:
                raise DataError(
                    f"{str(path)!r} has no coordinate columns: a CSV layer needs "
                    "lat and lon (WGS84 degrees); found columns "
                    f"{list(df.columns)[:12]}"
                )
            la = pd.to_numeric(df[lat], errors="coerce")
            lo = pd.to_numeric(df[lon], errors="coerce")
            bad = la.isna() | lo.isna() | (la.abs() > 90) | (lo.abs() > 180)
            if bad.any():
                raise DataError(
                    f"{str(path)!r}: {int(bad.sum())} rows have missing or "
                    f"out-of-range coordinates (first at row {int(np.argmax(bad)) + 2})"
                )
            return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lo, la), crs=4326)
        if suffix == ".parquet":
            return gpd.read_parquet(path)
        import pyogrio

        layers = pyogrio.list_layers(path)
        if len(layers) > 1:
            raise DataError(
                f"layer file {str(path)!r} holds {len(layers)} layers "
                f"({', '.join(str(n) for n in layers[:, 0][:6])}): save the one to "
                "use in a file of its own"
            )
        return gpd.read_file(path, engine="pyogrio")
    except DataError:
        raise
    except Exception as e:  # readers raise many kinds
        raise DataError(f"cannot read layer file {str(path)!r}: {e}") from e


def _counts(gdf: gpd.GeoDataFrame, col: str, path: Path) -> np.ndarray:
    """The column ``col`` as float counts, or a DataError saying what is wrong with it."""
    if col not in gdf.columns:
        raise DataError(
            f"{path.name!r} has no column {col!r}: its columns are "
            f"{[c for c in gdf.columns if c != 'geometry'][:15]}"
        )
    if pd.api.types.is_bool_dtype(gdf[col]):
        raise DataError(f"{path.name!r} column {col!r} holds true/false values, not counts")
    vals = pd.to_numeric(gdf[col], errors="coerce")
    bad = vals.isna() & gdf[col].notna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise DataError(
            f"{path.name!r} column {col!r} is not numeric (row {i}: "
            f"{gdf[col].iloc[i]!r}): counts must be numbers"
        )
    if vals.isna().any():
        raise DataError(
            f"{path.name!r} column {col!r} has {int(vals.isna().sum())} empty "
            "values: fill them (0 if there are no people)"
        )
    if not np.isfinite(vals).all() or (vals < 0).any():
        raise DataError(
            f"{path.name!r} column {col!r} has negative or infinite counts: counts must be >= 0"
        )
    out = vals.to_numpy(float)
    with np.errstate(over="ignore"):
        total = out.sum()
    if not np.isfinite(total):  # each finite, their sum not: every estimate would be inf/NaN
        raise DataError(
            f"{path.name!r} column {col!r}: the counts add up to more than a number can hold "
            f"(largest {out.max():.3g}): counts must be numbers of people"
        )
    return out


def _build(path: Path, *, residents_col: str | None, workers_col: str | None) -> PopulationLayer:
    gdf = _read(path)
    if len(gdf) == 0:
        raise DataError(f"layer file {str(path)!r} has no features")
    if gdf.crs is None:
        raise DataError(
            f"layer file {str(path)!r} has no CRS: save it with its coordinate reference system"
        )
    geoms = gdf.geometry.values
    if shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any():
        raise DataError(
            f"{path.name!r}: {int((shapely.is_missing(geoms) | shapely.is_empty(geoms)).sum())} "
            "features have no geometry"
        )
    types = set(shapely.get_type_id(geoms).tolist())
    if types <= {0}:
        kind = "points"
    elif types <= {3, 6}:
        kind = "zones"
        bad = ~shapely.is_valid(geoms)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{path.name!r}: feature {i} is not a valid polygon "
                f"({shapely.is_valid_reason(geoms[i])}); repair it (shapely.make_valid, "
                "QGIS 'Fix geometries') and try again"
            )
    else:
        raise DataError(
            f"{path.name!r} mixes geometry types {sorted(set(gdf.geom_type))}: a "
            "layer holds either points or polygons"
        )
    warnings_ = []
    dup = shapely.to_wkb(geoms)
    ndup = int(pd.Series(dup).duplicated().sum())
    if ndup:
        warnings_.append(
            f"{ndup} features repeat another's geometry exactly: check for "
            "duplicated rows (each is counted)"
        )
    if gdf.crs.is_geographic:
        b = gdf.total_bounds
        if b[1] < -90 or b[3] > 90 or b[0] < -180 or b[2] > 180:
            raise DataError(
                f"{path.name!r} says {gdf.crs.to_string()} but its coordinates "
                f"{[round(float(v), 3) for v in b]} are not degrees: fix its CRS"
            )
    # centre of the equal-area projection: the circular mean of the vertices' longitudes (safe
    # across the antimeridian) and their mean latitude
    ll = shapely.get_coordinates(reproject(geoms, gdf.crs.to_string(), "EPSG:4326"))
    lam = np.radians(ll[:, 0])
    lon_c = float(np.degrees(np.arctan2(np.sin(lam).mean(), np.cos(lam).mean())))
    ea = laea_for(lon_c, float(ll[:, 1].mean()))
    g = reproject(geoms, gdf.crs.to_string(), ea)
    ids = np.asarray(gdf.index.astype(str))
    counts = [
        (pop, col, _counts(gdf, col, path))
        for pop, col in (("residents", residents_col), ("workers", workers_col))
        if col is not None
    ]
    edge = half_spacing(g) if kind == "points" else None  # one spacing for both populations
    surfaces = {}
    for pop, col, vals in counts:
        if edge is not None:
            s = CountSurface(
                kind="points",
                unit=f"point of {path.name}",
                ids=ids,
                geoms=g,
                values=vals,
                definition=f"{pop} (column {col!r})",
                edge_m=edge,
                description="user points, containment",
            )
        else:
            s = CountSurface(
                kind="zones",
                unit=f"zone of {path.name}",
                ids=ids,
                geoms=g,
                values=vals,
                definition=f"{pop} (column {col!r})",
                clusters_per_zone=USER_ZONE_CLUSTERS,
                description="user zones, areal weighting",
            )
        surfaces[pop] = s
    if edge is not None:
        coverage = point_coverage(g, edge)
        cov_note = (
            "Coverage is the concave hull of the points widened by their typical "
            "spacing (approximate)."
        )
    else:
        coverage = shapely.union_all(g, grid_size=0.01)
        cov_note = "Coverage is the union of the file's polygons."
    return PopulationLayer(
        name=f"user:{path.name}",
        title=f"User layer {path.name}",
        source=f"user file {path}",
        licence="as supplied by the user",
        vintage="unknown (user file)",
        crs=ea,
        coverage=coverage,
        residents=surfaces.get("residents"),
        workers=surfaces.get("workers"),
        residents_unavailable=None if "residents" in surfaces else "no --residents-col given",
        workers_unavailable=None if "workers" in surfaces else "no --workers-col given",
        caveats=[cov_note] + warnings_,
        origin=str(path),
    )
