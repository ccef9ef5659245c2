"""Any population-count GeoTIFF (GHSL, WorldPop...): each cell's value is people.

Cells are squares in the raster's CRS, taken to a local equal-area projection; a catchment takes
each cell's covered fraction (areal weighting).  Nodata cells hold zero people; the coverage is
the raster's extent.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..errors import DataError
from ..projections import laea_for, transformer
from . import cache
from .base import CountSurface, PopulationLayer
from .eurostat_grid import GRID_CLUSTERS

#: largest raster accepted in one layer (cells with people); clip bigger ones first
MAX_RASTER_CELLS = 5_000_000


def load_raster(path: str | Path, *, use_cache: bool = True, band: int = 1) -> PopulationLayer:
    """A population-count GeoTIFF (GHSL, WorldPop...): each cell's value is people.

    Parameters
    ----------
    path : str or Path
        The GeoTIFF; it needs a CRS, and at most :data:`MAX_RASTER_CELLS` populated cells.
    use_cache : bool
        Read and write the built layer in the cache (:mod:`.cache`).
    band : int
        The band holding the counts.

    Returns
    -------
    PopulationLayer
        Residents per cell, in a local equal-area projection (workers unavailable); coverage:
        the raster's extent.

    Raises
    ------
    DataError
        Without rasterio, or when the raster is unreadable, has no CRS, negative cells or too
        many populated cells.
    """
    path = Path(path)
    return cache.cached(
        lambda band: _build_raster(path, band),
        [path],
        name="raster",
        use_cache=use_cache,
        band=band,
    )


def _build_raster(path: Path, band: int) -> PopulationLayer:
    try:
        import rasterio
    except ImportError as e:
        raise DataError("reading a GeoTIFF needs rasterio: pip install 'geotarget[raster]'") from e
    try:
        with warnings.catch_warnings():
            # a raster with no georeferencing is refused below with a clear message
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            if src.crs is None:
                raise DataError(
                    f"raster {str(path)!r} has no CRS: give it one (e.g. gdal_edit.py "
                    "-a_srs EPSG:4326) and try again"
                )
            data = src.read(band, masked=True).astype("float64")
            tf, crs = src.transform, src.crs.to_string()
    except rasterio.errors.RasterioError as e:
        raise DataError(f"cannot read raster {str(path)!r}: {e}") from e
    vals = data.filled(0.0)
    vals[~np.isfinite(vals)] = 0.0
    if (vals < 0).any():
        raise DataError(
            f"raster {str(path)!r} has negative cells: a population-count raster "
            "holds people per cell (>= 0)"
        )
    rows, cols = np.nonzero(vals > 0)
    if len(rows) > MAX_RASTER_CELLS:
        raise DataError(
            f"raster {str(path)!r} has {len(rows):,} populated cells, more than "
            f"{MAX_RASTER_CELLS:,}: clip it to your area first (gdal_translate -projwin)"
        )
    h, w = vals.shape

    def at(col: float | np.ndarray, row: float | np.ndarray) -> tuple[Any, Any]:
        # the affine transform, written out (no operator overloading)
        return (tf.a * col + tf.b * row + tf.c, tf.d * col + tf.e * row + tf.f)

    # cell corners in the raster CRS, then in a local equal-area projection
    lon, lat = transformer(crs, "EPSG:4326").transform(*at(w / 2, h / 2))
    ea = laea_for(lon, lat)
    t = transformer(crs, ea)
    n = len(rows)
    xs, ys = [], []
    for dr, dc in ((0, 0), (0, 1), (1, 1), (1, 0)):
        x, y = at(cols + dc, rows + dr)
        xs.append(x)
        ys.append(y)
    X, Y = t.transform(np.concatenate(xs), np.concatenate(ys))
    coords = np.stack([X.reshape(4, n).T, Y.reshape(4, n).T], axis=-1)
    cells = np.asarray(shapely.polygons(coords), dtype=object)
    ex, ey = t.transform(*at(np.array([0, w, w, 0]), np.array([0, 0, h, h])))
    coverage = shapely.segmentize(shapely.Polygon(list(zip(ex, ey))), 1000.0)
    surface = CountSurface(
        kind="grid",
        unit="raster cell",
        ids=np.array([f"r{r}c{cc}" for r, cc in zip(rows, cols)]),
        geoms=cells,
        values=vals[rows, cols],
        definition="people per cell (raster values)",
        clusters_per_zone=GRID_CLUSTERS,
        description="raster cells, covered fraction",
    )
    return PopulationLayer(
        name=f"raster:{path.name}",
        title=f"Population raster {path.name}",
        source=f"user raster {path}",
        licence="as published by the raster's producer",
        vintage="unknown (user raster)",
        crs=ea,
        coverage=coverage,
        residents=surface,
        workers_unavailable="A population raster holds one count per cell (residents).",
        caveats=[
            "Cells are taken as counts of people; a catchment takes each cell's covered fraction.",
            "Nodata cells count as zero inside the raster's extent.",
        ],
        origin=str(path),
    )
