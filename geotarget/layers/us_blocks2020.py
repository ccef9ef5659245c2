"""US Census 2020 blocks: block populations (P1_001N) at the blocks' internal points.

A point's count is in when the point is inside the catchment.  Each point carries ``edge_m``,
half the distance to its nearest neighbour -- how far its people may reach -- used by the range.
The coverage of a point layer is the concave hull of its points widened by the typical spacing
(no boundary file is at hand; documented as approximate).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from ..errors import DataError
from ..projections import laea_for, transformer
from . import cache
from .base import CountSurface, PopulationLayer
from .geometry import half_spacing, point_coverage

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from .base import PlaceSet


def _us_places(geoid: np.ndarray, geoms: np.ndarray, coverage: BaseGeometry) -> PlaceSet:
    """Census tracts and counties from block GEOIDs (state 2 + county 3 + tract 6 + block 4).

    No tract or county boundary file is at hand: each block is given the Voronoi cell of its
    point, clipped to the layer's coverage, and cells are dissolved by tract / county
    (approximate boundaries; the people counted are exact)."""
    from .base import PlaceSet

    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(geoms), extend_to=coverage.buffer(1000))
    )
    # voronoi cells come in arbitrary order: match each back to its point
    tree = shapely.STRtree(cells)
    pi, ci = tree.query(geoms, predicate="within")
    order = np.empty(len(geoms), dtype=int)
    order[pi] = ci
    cell_of = shapely.intersection(cells[order], coverage)
    tract = np.array([g[:11] for g in geoid], dtype=object)
    county = np.array([g[:5] for g in geoid], dtype=object)
    return PlaceSet(
        geoms=cell_of,
        codes={"tract": tract, "county": county},
        names={
            "tract": np.array([f"census tract {t}" for t in tract], dtype=object),
            "county": np.array([f"county {c}" for c in county], dtype=object),
        },
        complete=False,
        note={
            "tract": "census tract (GEOID[:11]); polygon: blocks' Voronoi cells dissolved, "
            "approximate",
            "county": "county (GEOID[:5]); polygon: blocks' Voronoi cells within the layer's "
            "coverage, approximate (only the blocks in the file are known)",
        },
    )


def load_us_blocks(path: str | Path, *, use_cache: bool = True) -> PopulationLayer:
    """US Census 2020 blocks as points.

    Parameters
    ----------
    path : str or Path
        A block table (``geoid, population_P1_001N, centroid_lon, centroid_lat``), or a folder
        holding one (``*blocks*population*.csv``).
    use_cache : bool
        Read and write the built layer in the cache (:mod:`.cache`).

    Returns
    -------
    PopulationLayer
        Residents at the blocks' internal points (workers unavailable), with census tracts
        and counties as places.

    Raises
    ------
    DataError
        When the table is missing, unreadable, lacks a column or holds bad counts or
        duplicate blocks.
    """
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*blocks*population*.csv"))
        if not found:
            raise DataError(
                f"no '*blocks*population*.csv' in {str(path)!r}: expected a US Census "
                "2020 block table (geoid, population_P1_001N, centroid_lon, "
                "centroid_lat)"
            )
        path = found[0]
    return cache.cached(
        lambda: _build_us_blocks(path), [path], name="us-blocks2020", use_cache=use_cache
    )


def _build_us_blocks(path: Path) -> PopulationLayer:
    need = ["geoid", "population_P1_001N", "centroid_lon", "centroid_lat"]
    try:
        df = pd.read_csv(path, dtype={"geoid": str})
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read US block table {str(path)!r}: {e}") from e
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{str(path)!r} lacks columns {missing}: expected {need}")
    pop = pd.to_numeric(df["population_P1_001N"], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        bad = df.loc[pop.isna() | (pop < 0), "geoid"].head(3).tolist()
        raise DataError(f"{str(path)!r}: population must be a number >= 0 (bad blocks: {bad})")
    if df["geoid"].duplicated().any():
        raise DataError(
            f"{str(path)!r}: duplicate block GEOIDs, e.g. "
            f"{df.loc[df['geoid'].duplicated(), 'geoid'].head(3).tolist()}"
        )
    # a Lambert azimuthal equal-area projection centred on the blocks: areas exact, and
    # distances near the data distorted far less than in a continental projection
    lon_c = float(df["centroid_lon"].mean())
    lat_c = float(df["centroid_lat"].mean())
    crs = laea_for(lon_c, lat_c)
    x, y = transformer("EPSG:4326", crs).transform(
        df["centroid_lon"].to_numpy(float), df["centroid_lat"].to_numpy(float)
    )
    geoms = shapely.points(x, y)
    edge = half_spacing(geoms)
    counties = sorted(df["geoid"].str[:5].unique())
    surface = CountSurface(
        kind="points",
        unit="census block 2020",
        ids=df["geoid"].to_numpy(),
        geoms=geoms,
        values=pop.to_numpy(float),
        definition="total population (P1_001N)",
        edge_m=edge,
        description="census block internal points, containment",
    )
    return PopulationLayer(
        name="us-blocks2020",
        country="US",
        places=_us_places(df["geoid"].to_numpy(dtype=object), geoms, point_coverage(geoms, edge)),
        title=f"US Census 2020 block populations (county {', '.join(counties)})",
        source="US Census Bureau, 2020 Census Redistricting Data (PL 94-171), P1_001N total "
        "population, census block internal points",
        licence="Public domain (US Government work)",
        vintage="Census 2020 (census day 1 April 2020)",
        crs=crs,
        coverage=point_coverage(geoms, edge),
        residents=surface,
        workers_unavailable="The 2020 census redistricting data has no workplace counts (LEHD "
        "LODES would be needed).",
        attribution=["Source: U.S. Census Bureau, 2020 Census Redistricting Data (P.L. 94-171)"],
        caveats=[
            "Block counts sit at each block's internal point; a block cut by the catchment "
            "edge is counted whole or not at all.",
            "Coverage is the extent of the blocks in the file (their concave hull widened "
            "by the typical block spacing), not the county boundary: outside it nothing "
            "is known.",
        ],
        origin=str(path),
    )
