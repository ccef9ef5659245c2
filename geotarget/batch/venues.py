"""The venue table of a batch: reading it (CSV, Parquet) and checking every row (``id`` plus
``lat``/``lon`` or ``postcode``, optionally ``radius``), each bad row kept with its reason."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..settings import MAX_RADIUS_M
from ..units import parse_distance

#: the venue table's column naming each venue
ID_COLUMN = "id"


def prepare(
    df: pd.DataFrame,
    radius: str | float | None = None,
    *,
    max_radius: str | float | None = MAX_RADIUS_M,
) -> pd.DataFrame:
    """Validate the venue table: ``id`` plus ``lat``/``lon`` or ``postcode`` (and optionally a
    ``radius`` column).

    Parameters
    ----------
    df : pandas.DataFrame
        The venue table.
    radius : str or float, optional
        The radius of rows with no ``radius`` cell (e.g. ``"0.5mi"``); needed without a
        ``radius`` column.
    max_radius : str or float or None
        The largest radius allowed (default :data:`geotarget.settings.MAX_RADIUS_M` metres;
        None: no limit).

    Returns
    -------
    pandas.DataFrame
        ``df`` with columns ``_lat``, ``_lon``, ``_radius_m`` and ``_error`` (the reason a row
        cannot be analysed, else ``None``) added.
    """
    _check_table(df)
    lat, lon, err, use_pc = _positions(df)
    _explain_bad_positions(df, lat, lon, err, use_pc)
    rad = _radii(df, radius, max_radius, err)
    out = df.copy()
    out["_lat"], out["_lon"], out["_radius_m"], out["_error"] = lat, lon, rad, err
    return out


def _check_table(df: pd.DataFrame) -> None:
    if len(df) == 0:
        raise InputError("the venue table has no rows: add one venue per row")
    if ID_COLUMN not in df.columns:
        raise InputError(
            f"the venue table needs an '{ID_COLUMN}' column (found: "
            f"{', '.join(map(str, df.columns[:10]))})"
        )
    if df[ID_COLUMN].duplicated().any():
        dup = df.loc[df[ID_COLUMN].duplicated(), ID_COLUMN].head(3).tolist()
        raise InputError(
            f"duplicate ids in the venue table, e.g. {dup}: each venue needs its own id"
        )
    if not {"lat", "lon"} <= set(df.columns) and "postcode" not in df.columns:
        raise InputError("the venue table needs 'lat' and 'lon' columns or a 'postcode' column")


def _positions(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Latitudes, longitudes, errors so far and which rows were placed by postcode (a postcode
    fills in rows without usable coordinates)."""
    from ..venue.postcodes import lookup_many

    n = len(df)
    has_ll = {"lat", "lon"} <= set(df.columns)
    lat, lon = np.full(n, np.nan), np.full(n, np.nan)
    err = np.full(n, None, dtype=object)
    if has_ll:
        lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float).copy()
        lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float).copy()
    use_pc = np.zeros(n, bool)
    if "postcode" in df.columns:
        pcs = df["postcode"]
        use_pc = pcs.notna().to_numpy() & (pcs.astype(str).str.strip() != "").to_numpy()
        if has_ll:
            use_pc &= ~(np.isfinite(lat) & np.isfinite(lon))
        if use_pc.any():
            found = lookup_many(pcs[use_pc].to_numpy())
            lat[use_pc] = found["lat"].to_numpy()
            lon[use_pc] = found["lon"].to_numpy()
            err[use_pc] = found["error"].to_numpy()
    return lat, lon, err, use_pc


def _explain_bad_positions(
    df: pd.DataFrame, lat: np.ndarray, lon: np.ndarray, err: np.ndarray, use_pc: np.ndarray
) -> None:
    """The reason, per row, that its coordinates cannot be used (written into ``err``)."""
    has_ll = {"lat", "lon"} <= set(df.columns)
    plausible = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    for i in np.nonzero(~use_pc & ~plausible)[0]:  # only the bad rows, one by one
        if err[i] is not None:
            continue
        a, o = lat[i], lon[i]
        raw = (str(df["lat"].iloc[i]), str(df["lon"].iloc[i])) if has_ll else (None, None)
        if not (np.isfinite(a) and np.isfinite(o)):
            err[i] = (
                f"coordinates ({raw[0]}, {raw[1]}) are not numbers: give lat and lon "
                "in decimal degrees, or a postcode"
            )
        elif not -90 <= a <= 90:
            err[i] = f"latitude {raw[0]} is outside -90..90 (lat and lon swapped?)"
        elif not -180 <= o <= 180:
            err[i] = f"longitude {raw[1]} is outside -180..180"


def _radii(
    df: pd.DataFrame, radius: str | float | None, max_radius: str | float | None, err: np.ndarray
) -> np.ndarray:
    """Each row's radius in metres: its ``radius`` cell, else ``radius`` (errors into ``err``)."""
    limit = (
        None
        if max_radius is None
        else parse_distance(max_radius, what="maximum radius", max_m=None)
    )
    n = len(df)
    if "radius" not in df.columns:
        if radius is None:
            raise InputError("give a radius (--radius 0.5mi) or a 'radius' column")
        return np.full(n, parse_distance(radius, max_m=limit))
    rad = np.full(n, np.nan)
    for i, v in enumerate(df["radius"].to_numpy()):
        if isinstance(v, str) and not v.strip():
            v = None
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if radius is None:
                err[i] = err[i] or "no radius: fill the radius column or give --radius"
                continue
            v = radius
        if not isinstance(v, str):  # a bare number in a file: which unit? ask
            v = str(v.item() if hasattr(v, "item") else v)
        try:
            rad[i] = parse_distance(v, max_m=limit)
        except InputError as e:
            err[i] = err[i] or str(e)
    return rad


def read_venues(path: str | Path) -> pd.DataFrame:
    """Read a venue table (CSV, Parquet).

    Parameters
    ----------
    path : str or pathlib.Path
        The file (``.parquet``, else read as CSV).

    Returns
    -------
    pandas.DataFrame
        The table; a CSV's cells are read as text.

    Raises
    ------
    InputError
        When the path is missing, a folder or not a regular file, or cannot be read as a table.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"venue file {str(p)!r} is a folder: give the CSV or Parquet file in it")
    if p.exists() and not p.is_file():
        raise InputError(
            f"venue file {str(p)!r} is not a regular file (a pipe, socket or device): give a "
            "CSV or Parquet file"
        )
    if not p.is_file():
        raise InputError(f"venue file {str(p)!r} does not exist")
    try:
        if p.suffix.lower() == ".parquet":
            return pd.read_parquet(p)
        # all text first (ids such as 'NA' stay ids), numbers parsed later; index_col=False:
        # a row with extra fields is an error, not a silent shift
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(p, dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserWarning:
        raise InputError(
            f"venue file {str(p)!r} has rows with more fields than its header: "
            "check for unquoted commas"
        ) from None
    except pd.errors.ParserError as e:
        raise InputError(
            f"venue file {str(p)!r} is not a regular CSV ({' '.join(str(e).split())}):"
            " every row needs the header's number of fields"
        ) from e
    except UnicodeDecodeError:
        raise InputError(f"venue file {str(p)!r} is not UTF-8 text: save it as UTF-8") from None
    except (ValueError, OSError) as e:
        raise InputError(f"cannot read venue file {str(p)!r}: {' '.join(str(e).split())}") from e
    dup = [
        c
        for c in df.columns
        if re.fullmatch(r".+\.\d+", str(c)) and re.sub(r"\.\d+$", "", str(c)) in df.columns
    ]
    if dup:
        raise InputError(
            f"venue file {str(p)!r} has a duplicate column "
            f"{re.sub(r'.[0-9]+$', '', str(dup[0]))!r}: keep one column of each name"
        )
    return df
