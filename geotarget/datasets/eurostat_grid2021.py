"""Eurostat Census 2021 1 km population grid, cut into the 256 x 256-cell Parquet tiles the
grid layer reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import DataError, InputError
from .base import BuildResult, Source, _header, _member, _open_zip, _raw

EUROSTAT_NAME = "eurostat-grid2021"
#: the all-countries zip of GISCO (CSV and GeoPackage)
EUROSTAT_URL = "https://gisco-services.ec.europa.eu/census/2021/Eurostat_Census-GRID_2021_V3.zip"
#: cells per tile side, and the cell size in metres
TILE_CELLS = 256
RESOLUTION = 1000
_GRD = re.compile(r"^CRS3035RES1000mN(\d+)E(\d+)$")


def _eurostat_tiles_wanted(
    area: str | None,
) -> set[tuple[int, ...]] | tuple[float, float, float, float] | None:
    """None (all tiles), or a set of (tx, ty), or a bbox in EPSG:3035 (xmin, ymin, xmax, ymax)."""
    if area is None or area.strip().lower() == "all":
        return None
    a = area.strip()
    if re.fullmatch(r"\s*\d+_\d+(\s*[,;\s]\s*\d+_\d+)*\s*", a):
        return {tuple(int(v) for v in t.split("_")) for t in re.split(r"[,;\s]+", a) if t}
    nums = [t for t in re.split(r"[,;\s]+", a) if t]
    try:
        vals = [float(v) for v in nums]
    except ValueError:
        vals = []
    if (
        len(vals) == 4
        and vals[0] < vals[2]
        and vals[1] < vals[3]
        and all(-180 <= v <= 180 for v in vals[::2])
        and all(-90 <= v <= 90 for v in vals[1::2])
    ):
        from ..projections import transformer

        t = transformer("EPSG:4326", "EPSG:3035")
        xs, ys = t.transform(
            [vals[0], vals[2], vals[0], vals[2]], [vals[1], vals[1], vals[3], vals[3]]
        )
        return (min(xs), min(ys), max(xs), max(ys))
    raise InputError(
        f"--area {area!r} is not 'all', tiles such as 14_11,17_12 or a WGS84 box "
        "'min_lon,min_lat,max_lon,max_lat' (e.g. 2.2,48.8,2.5,48.95)"
    )


def build_eurostat_grid2021(
    raw_dir: Path, out_dir: Path, area: str | None = None, **_ignored: Any
) -> BuildResult:
    """Cut the Eurostat grid into the Parquet tiles of the grid layer.

    Parameters
    ----------
    raw_dir : Path
        The folder holding the Eurostat zip (its CSV, or else its GeoPackage, is read).
    out_dir : Path
        The folder to build into: ``tile_1000_<tileX>_<tileY>.parquet`` and ``info_1000.json``.
    area : str or None
        ``all`` (also for ``None``), tiles such as ``14_11,17_12``, or a WGS84 box
        ``min_lon,min_lat,max_lon,max_lat``.

    Returns
    -------
    BuildResult
        The files written, and the tiles, cells and population in them.

    Raises
    ------
    DataError
        When the zip is not the Eurostat 1 km census grid.
    InputError
        When ``area`` is malformed or holds no populated cell.
    """
    import numpy as np
    import pandas as pd

    res = BuildResult()
    zpath = _raw(raw_dir, EUROSTAT_SOURCES[0].filename, "Eurostat census grid", EUROSTAT_NAME)
    with _open_zip(zpath, "Eurostat census grid") as zf:
        member = _member(
            zf, r"ESTAT_Census_2021[^/]*\.csv$", "census grid CSV", zpath, required=False
        )
        if member is not None:
            with zf.open(member) as f:
                cols = _header(f)
            use = [c for c in cols if c.strip().upper() in ("GRD_ID", "T", "T_CI")]
            with zf.open(member) as f:
                df = pd.read_csv(
                    f, usecols=use, dtype=str, encoding="utf-8-sig", keep_default_na=False
                )
        else:
            gpkg = _member(
                zf, r"ESTAT_Census_2021[^/]*\.gpkg$", "census grid CSV or GeoPackage", zpath
            )
            import pyogrio

            try:
                df = pyogrio.read_dataframe(f"/vsizip/{zpath}/{gpkg}", read_geometry=False)
            except Exception as e:
                raise DataError(
                    f"cannot read {zpath.name}:{gpkg} ({e}): fetch again with --force"
                ) from e
            df = df.astype(str)
    df.columns = [c.strip().upper() for c in df.columns]
    where = f"{zpath.name}:{member or 'GeoPackage'}"
    if "GRD_ID" not in df.columns or "T" not in df.columns:
        raise DataError(
            f"{where} has no GRD_ID / T columns (it has {list(df.columns)[:10]}): "
            "expected the Eurostat Census 2021 grid; fetch again with --force"
        )
    ne = df["GRD_ID"].str.extract(_GRD)
    bad = ne[0].isna()
    if bad.any():
        raise DataError(
            f"{where}: grid id {df.loc[bad, 'GRD_ID'].iloc[0]!r} is not a 1 km "
            "ETRS89-LAEA id (CRS3035RES1000mN...E...): expected the 1 km grid"
        )
    north = ne[0].astype("int64").to_numpy()
    east = ne[1].astype("int64").to_numpy()
    if ((north % RESOLUTION) != 0).any() or ((east % RESOLUTION) != 0).any():
        raise DataError(f"{where}: grid ids not on the 1 km lattice: expected the 1 km grid")
    t = pd.to_numeric(df["T"], errors="coerce").to_numpy(float)
    ci = pd.to_numeric(df["T_CI"], errors="coerce").to_numpy(float) if "T_CI" in df else None
    keep = ~np.isnan(t) & (t > 0)
    res.summary["cells_without_population_value"] = int(np.isnan(t).sum())
    if not keep.any():
        raise DataError(
            f"{where} holds no populated cell (T > 0): expected the Eurostat Census "
            "2021 grid; fetch again with --force"
        )
    i = east // RESOLUTION
    j = north // RESOLUTION
    tx, ty = i // TILE_CELLS, j // TILE_CELLS
    info = {
        "dims": [],
        "crs": "",
        "tileSizeCell": TILE_CELLS,
        "originPoint": {"x": 0, "y": 0},
        "resolutionGeo": RESOLUTION,
        "tilingBounds": {
            "yMin": int(ty[keep].min()),
            "yMax": int(ty[keep].max()),
            "xMax": int(tx[keep].max()),
            "xMin": int(tx[keep].min()),
        },
    }
    wanted = _eurostat_tiles_wanted(area)
    if isinstance(wanted, tuple):
        x0, y0, x1, y1 = wanted
        span = TILE_CELLS * RESOLUTION
        wanted = {
            (a, b)
            for a in range(int(x0 // span), int(x1 // span) + 1)
            for b in range(int(y0 // span), int(y1 // span) + 1)
        }
    if wanted is not None:
        keep &= np.array([(a, b) in wanted for a, b in zip(tx.tolist(), ty.tolist())])
    integral = np.all(np.mod(t[keep], 1) == 0)
    frame = pd.DataFrame(
        {
            "tx": tx[keep],
            "ty": ty[keep],
            "x": (i - tx * TILE_CELLS)[keep],
            "y": (j - ty * TILE_CELLS)[keep],
            "T": t[keep].astype("int64") if integral else t[keep],
        }
    )
    if ci is not None:
        frame["T_CI"] = np.nan_to_num(ci[keep], nan=-1).astype("int64")
    else:
        res.warnings.append("the grid file has no T_CI column: the tiles hold x, y, T and nb")
    frame["nb"] = np.int64(1)
    if frame.empty:
        raise InputError(
            f"--area {area!r}: no populated grid cell in it: give tiles such as "
            "14_11 or a box inside Europe"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for (a, b), g in frame.groupby(["tx", "ty"], sort=True):
        g = g.drop(columns=["tx", "ty"]).sort_values(["y", "x"], kind="stable")
        name = f"tile_{RESOLUTION}_{a}_{b}.parquet"
        g.reset_index(drop=True).to_parquet(out_dir / name, index=False)
        res.files.append(name)
    (out_dir / f"info_{RESOLUTION}.json").write_text(json.dumps(info, indent=3) + "\n")
    res.files.append(f"info_{RESOLUTION}.json")
    total = frame["T"].sum()
    res.summary.update(
        {
            "tiles": len(res.files) - 1,
            "cells": int(len(frame)),
            "population": int(total) if integral else round(float(total), 1),
        }
    )
    return res


EUROSTAT_SOURCES = (
    Source(
        "grid",
        EUROSTAT_URL,
        "Eurostat_Census-GRID_2021_V3.zip",
        "Eurostat GISCO, Census 2021 population grid, 1 km ETRS89-LAEA (EPSG:3035), all "
        "countries: zip holding ESTAT_Census_2021_V3.csv (GRD_ID, T, M, F, ...) and a "
        "GeoPackage (several hundred MB)",
        "https://ec.europa.eu/eurostat/web/gisco/geodata/population-distribution/population-grids",
    ),
)
