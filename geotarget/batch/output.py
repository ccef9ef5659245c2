"""Writing a batch's tables: the results (GeoParquet, CSV, GeoPackage or GeoJSON, chosen by the
file name) and the platform and overlap tables (CSV or Parquet), each atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..errors import InputError, OutputError
from ..escape import csv_frame
from ..files import atomic_path

FORMATS = {".parquet": "parquet", ".csv": "csv", ".gpkg": "gpkg", ".geojson": "geojson"}


def output_format(path: Path) -> str:
    """The format a results file name asks for (InputError for any other suffix)."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"output {str(path)!r}: use a .parquet, .csv, .gpkg or .geojson name")
    return fmt


def write_results(
    gdf,
    path: Path,
    *,
    overwrite: bool = True,
    on_written: Callable[[Path], None] | None = None,
) -> None:
    """The results table (a GeoDataFrame of venue points) to ``path`` in its format; a CSV
    carries the venue positions as ``venue_lat`` / ``venue_lon``.

    ``overwrite=False`` never replaces an existing file; ``on_written`` receives the finished
    temporary file just before it is renamed into place (to record its checksum)."""
    fmt = output_format(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, overwrite=overwrite) as tmp:
            if fmt == "parquet":
                gdf.to_parquet(tmp, index=False)
            elif fmt == "csv":
                df = pd.DataFrame(gdf.drop(columns="geometry", errors="ignore"))
                if "geometry" in gdf:
                    df["venue_lat"] = gdf.geometry.y
                    df["venue_lon"] = gdf.geometry.x
                csv_frame(df).to_csv(tmp, index=False)
            else:
                tmp.unlink()  # the drivers refuse to write over an existing file
                if fmt == "gpkg":
                    gdf.to_file(tmp, driver="GPKG", layer="venues")
                else:
                    gdf.to_file(tmp, driver="GeoJSON")
            if on_written is not None:
                on_written(tmp)
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write {str(path)!r}: {e}") from e


def write_table(
    table: pd.DataFrame,
    path: Path,
    *,
    overwrite: bool,
    on_written: Callable[[Path], None] | None = None,
) -> None:
    """A table (CSV, or Parquet by its suffix) written atomically; failures are one clean
    OutputError.  ``on_written`` as for :func:`write_results`."""
    if path.exists() and not overwrite:
        raise OutputError(f"{str(path)!r} exists: add --overwrite to replace it")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist")
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            if path.suffix.lower() == ".parquet":
                table.to_parquet(tmp, index=False)
            else:
                csv_frame(table).to_csv(tmp, index=False)
            if on_written is not None:
                on_written(tmp)
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write {str(path)!r}: {e}") from e
