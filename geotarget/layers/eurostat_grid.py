"""Eurostat Census 2021 population on the 1 km ETRS89-LAEA grid, read from Parquet tiles.

Cells are squares in the grid's CRS; a catchment takes each cell's covered fraction (areal
weighting).  Absent cells hold zero people; the coverage is the tile (or raster) extent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..errors import DataError
from . import cache
from .base import CountSurface, PopulationLayer

#: the grid's CRS (ETRS89-LAEA)
EUROSTAT_CRS = "EPSG:3035"
#: clusters per cell for the range: calibrated on London 1 km cells of the fine resident
#: reference (k=6: 93% of 2,000 half-mile ranges contain the reference; k=8: 90%)
#: reference (benchmarks/calibrate_range.py), transferred to other cities
GRID_CLUSTERS = 6.0
_TILE = re.compile(r"tile_(\d+)_(\d+)_(\d+)(?:_\w+)?\.parquet$")


def load_eurostat(path: str | Path, *, use_cache: bool = True) -> PopulationLayer:
    """Eurostat Census 2021 grid tiles: a tile file or a folder of them (all merged).

    Parameters
    ----------
    path : str or Path
        A ``tile_<res>_<x>_<y>*.parquet`` file (columns x, y, T), or a folder of them (with the
        ``info_<res>.json`` that gives the tile size, 256 cells by default).
    use_cache : bool
        Read and write the built layer in the cache (:mod:`.cache`).

    Returns
    -------
    PopulationLayer
        Residents per 1 km cell (workers unavailable); coverage: the tiles' extent.

    Raises
    ------
    DataError
        When there is no tile, or a tile is misnamed, unreadable or holds negative counts.
    """
    path = Path(path)
    tiles = sorted(path.glob("tile_*.parquet")) if path.is_dir() else [path]
    if not tiles:
        raise DataError(f"no Eurostat tiles (tile_<res>_<x>_<y>*.parquet) in {str(path)!r}")
    return cache.cached(
        lambda: _build_eurostat(tiles), tiles, name="eurostat-grid2021", use_cache=use_cache
    )


def _build_eurostat(tiles: list[Path]) -> PopulationLayer:
    geoms, vals, ids, extents = [], [], [], []
    for t in tiles:
        m = _TILE.search(t.name)
        if not m:
            raise DataError(
                f"{t.name!r} is not named like a Eurostat tile "
                "(tile_<resolution>_<tileX>_<tileY>[_name].parquet)"
            )
        res, tx, ty = (int(g) for g in m.groups())
        size = 256
        info = t.parent / f"info_{res}.json"
        if info.exists():
            size = int(json.loads(info.read_text()).get("tileSizeCell", 256))
        try:
            df = pd.read_parquet(t, columns=["x", "y", "T"])
        except (OSError, ValueError, KeyError) as e:
            raise DataError(
                f"cannot read Eurostat tile {str(t)!r} (needs columns x, y, T): {e}"
            ) from e
        if (df["T"] < 0).any() or df["T"].isna().any():
            raise DataError(f"{str(t)!r}: population T must be >= 0")
        x0 = (tx * size + df["x"].to_numpy()) * res
        y0 = (ty * size + df["y"].to_numpy()) * res
        geoms.append(shapely.box(x0, y0, x0 + res, y0 + res))
        vals.append(df["T"].to_numpy(float))
        ids.append([f"CRS3035RES{res}mN{b}E{a}" for a, b in zip(x0, y0)])
        extents.append(
            shapely.box(
                tx * size * res, ty * size * res, (tx + 1) * size * res, (ty + 1) * size * res
            )
        )
    res_surface = CountSurface(
        kind="grid",
        unit="1 km grid cell",
        ids=np.concatenate(ids),
        geoms=np.concatenate(geoms),
        values=np.concatenate(vals),
        definition="usual residents (Census 2021 grid, T)",
        clusters_per_zone=GRID_CLUSTERS,
        range_note="k calibrated on London's fine reference gridded to 1 km (93%), transferred",
        description="Eurostat 1 km cells, covered fraction",
    )
    return PopulationLayer(
        name="eurostat-grid2021",
        title="Eurostat Census 2021 population, 1 km grid",
        source="Eurostat / GISCO, Census 2021 population grid, 1 km (tiles "
        + ", ".join(t.name for t in tiles)
        + ")",
        licence="\u00a9 European Union, reuse with acknowledgement",
        vintage="Census 2021 (reference year 2021)",
        crs=EUROSTAT_CRS,
        coverage=shapely.union_all(extents),
        residents=res_surface,
        workers_unavailable="The Eurostat census grid publishes residents only.",
        attribution=["\u00a9 European Union, Eurostat, Census 2021 population grid"],
        caveats=[
            "1 km cells: a catchment takes each cell's covered fraction, assuming people "
            "are spread evenly over the cell.",
            "Absent cells hold zero people (Eurostat publishes populated cells only).",
        ],
        origin=", ".join(str(t) for t in tiles),
    )
