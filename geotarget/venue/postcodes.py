"""Offline GB postcode look-up (OS Code-Point Open + ONS postcode lookup, shipped with geotarget).

The table is built by ``data/build_postcodes.py``: every live GB postcode unit with its British
National Grid position, units Code-Point Open lists without a position, and units the ONS
lookup of May 2022 marks as terminated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import PostcodeNotFoundError, VenueError

_UNIT = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_OUTSIDE_GB = {
    "BT": "Northern Ireland",
    "GY": "Guernsey",
    "JE": "Jersey",
    "IM": "the Isle of Man",
}
#: what a postcode must look like, for the error messages
ACCEPTED = "a full GB postcode unit such as 'EC2Y 8BN' (any case, spaces optional)"

if TYPE_CHECKING:  # pandas is imported by the many-venue look-up only (one venue needs none)
    import pandas as pd


def normalise(postcode: str) -> str:
    """Canonical form of a GB postcode unit: ``"ec2y8bn"`` -> ``"EC2Y 8BN"``.

    Parameters
    ----------
    postcode : str
        The postcode, any case, spaces optional.

    Returns
    -------
    str
        Upper case, one space between the outward and inward codes.

    Raises
    ------
    VenueError
        The text is not shaped like a postcode unit.
    """
    compact = re.sub(r"\s+", "", str(postcode)).upper()
    m = _UNIT.match(compact)
    if not m:
        raise VenueError(f"{postcode!r} is not a valid postcode: give {ACCEPTED}")
    return f"{m.group(1)} {m.group(2)}"


def looks_like_postcode(text: str) -> bool:
    """Whether ``text`` is shaped like a GB postcode unit (it may still not exist).

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    bool
        True when :func:`normalise` would accept it.
    """
    return bool(_UNIT.match(re.sub(r"\s+", "", str(text)).upper()))


@dataclass(frozen=True)
class PostcodeLocation:
    """Where a postcode unit is.

    Parameters
    ----------
    postcode : str
        The postcode, canonical form (``"EC2Y 8BN"``).
    easting, northing : int
        Its position on the British National Grid (m).
    lat, lon : float
        The same position, WGS84 degrees.
    """

    postcode: str
    easting: int
    northing: int
    lat: float
    lon: float


@lru_cache(maxsize=1)
def metadata() -> dict[str, Any]:
    """Provenance and attribution of the postcode table.

    Returns
    -------
    dict
        The table's metadata file: ``source`` (the publishers and releases), licence and
        attribution.
    """
    path = resources.files("geotarget.data").joinpath("postcodes_gb.json")
    meta: dict[str, Any] = json.loads(path.read_text())
    return meta


def _pack(inward: str) -> int:
    return int(inward[0]) * 676 + (ord(inward[1]) - 65) * 26 + (ord(inward[2]) - 65)


#: one unit of a district: easting, northing (m), terminated (YYYYMM); ``None`` where blank
_Unit = tuple[int | None, int | None, int | None]


@lru_cache(maxsize=256)
def _district(outward: str) -> dict[int, _Unit]:
    """The units of one postcode district, by packed inward code.

    Read with pyarrow's Parquet reader alone (a single look-up imports neither pandas nor
    pyarrow's dataset layer, which would import pandas): only the row groups whose ``outward``
    statistics may hold the district are read, then their rows of the district kept in order.
    """
    import pyarrow.parquet as pq

    columns = ["outward", "inward", "easting", "northing", "terminated"]
    path = resources.files("geotarget.data").joinpath("postcodes_gb.parquet")
    units: dict[int, _Unit] = {}
    with resources.as_file(path) as p, pq.ParquetFile(p) as f:
        j = f.schema_arrow.get_field_index("outward")
        for g in range(f.metadata.num_row_groups):
            st = f.metadata.row_group(g).column(j).statistics
            if st is not None and st.has_min_max and not st.min <= outward <= st.max:
                continue
            table = f.read_row_group(g, columns=columns, use_threads=False)
            hits = [i for i, o in enumerate(table.column("outward").to_pylist()) if o == outward]
            if not hits:
                continue
            part = table.slice(hits[0], hits[-1] + 1 - hits[0])  # the district's rows
            for o, k, e, n, t in zip(*(c.to_pylist() for c in part.columns)):
                if o == outward:
                    units.setdefault(int(k), (e, n, t))
    return units


def lookup(postcode: str) -> PostcodeLocation:
    """Locate a GB postcode unit.

    Parameters
    ----------
    postcode : str
        A full postcode unit (any case, spaces optional).

    Returns
    -------
    PostcodeLocation
        Its position.

    Raises
    ------
    VenueError
        The text is not shaped like a postcode unit.
    PostcodeNotFoundError
        The postcode is unknown, terminated, outside GB, or has no coordinates.
    """
    pcd = normalise(postcode)
    outward, inward = pcd.split(" ")
    letters = re.match(r"[A-Z]+", outward)
    assert letters is not None  # normalise() checked that the outward code starts with them
    area = letters.group(0)
    if area in _OUTSIDE_GB:
        raise PostcodeNotFoundError(
            f"postcode {pcd!r} is in {_OUTSIDE_GB[area]}, outside Great Britain, which the "
            "built-in Code-Point Open table does not cover: give the venue as 'lat,lon' instead"
        )
    table = _district(outward)
    key = _pack(inward)
    if key not in table:
        raise PostcodeNotFoundError(
            f"postcode {pcd!r} is unknown: it is not a live GB postcode in OS Code-Point Open "
            f"({metadata()['source'].split(' and ')[0]}) nor one terminated before May 2022 in the "
            "ONS lookup (postcodes ended since then are not told apart from unknown ones); "
            "check it, or give the venue as 'lat,lon'"
        )
    e, n, term = table[key]
    if term is not None:
        t = int(term)
        raise PostcodeNotFoundError(
            f"postcode {pcd!r} was terminated in {t // 100}-{t % 100:02d} (ONS postcode lookup, "
            "May 2022) and has no current location: give a live postcode nearby or 'lat,lon'"
        )
    if e is None or n is None:
        raise PostcodeNotFoundError(
            f"postcode {pcd!r} has no location in OS Code-Point Open (positional quality 90, "
            "no coordinates): give the venue as 'lat,lon' instead"
        )
    from ..projections import bng_to_wgs84

    lon, lat = bng_to_wgs84(float(e), float(n))
    return PostcodeLocation(pcd, int(e), int(n), lat, lon)


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    """Every unit of the table, indexed by postcode (canonical form)."""
    import pyarrow.parquet as pq

    path = resources.files("geotarget.data").joinpath("postcodes_gb.parquet")
    with resources.as_file(path) as p:
        t = pq.read_table(
            p, columns=["outward", "inward", "easting", "northing", "terminated"]
        ).to_pandas()
    inward = t["inward"].astype(int)
    t["pcd"] = (
        t["outward"].astype(str)
        + " "
        + (inward // 676).astype(str)
        + ((inward // 26) % 26 + 65).map(chr)
        + (inward % 26 + 65).map(chr)
    )
    by_postcode: pd.DataFrame = t.set_index("pcd")
    return by_postcode


def lookup_many(values: Iterable[object]) -> pd.DataFrame:
    """Vectorised :func:`lookup`.

    Parameters
    ----------
    values : iterable
        The postcodes (anything; non-text gives an error row).

    Returns
    -------
    pandas.DataFrame
        One row per value: ``postcode`` (canonical form, or NaN when not shaped like one),
        ``lat``, ``lon`` (NaN when not placed) and ``error`` (the same one-line message
        :func:`lookup` would raise, or None).
    """
    import pandas as pd

    from ..projections import BNG, WGS84, transformer

    raw = pd.Series(list(values), dtype=object)
    compact = raw.astype(str).str.replace(r"\s+", "", regex=True).str.upper()
    ok = compact.str.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")
    norm = compact.str[:-3] + " " + compact.str[-3:]
    out: pd.DataFrame = pd.DataFrame(
        {"postcode": norm.where(ok), "lat": np.nan, "lon": np.nan, "error": None}, index=raw.index
    )
    t = _table()
    hit = t.reindex(norm.where(ok, "").to_numpy())
    e = hit["easting"].to_numpy(dtype=float, na_value=np.nan)
    n = hit["northing"].to_numpy(dtype=float, na_value=np.nan)
    good = ok.to_numpy() & np.isfinite(e) & np.isfinite(n)
    if good.any():
        lon, lat = transformer(BNG, WGS84).transform(e[good], n[good])
        out.loc[good, "lon"] = lon
        out.loc[good, "lat"] = lat
    col = list(out.columns).index("error")
    for i in np.nonzero(~good)[0].tolist():  # the rare bad rows: the single look-up says why
        try:
            lookup(raw.iloc[i])
            out.iloc[i, col] = "postcode could not be placed"
        except (VenueError, PostcodeNotFoundError) as exc:
            out.iloc[i, col] = str(exc)
    return out
