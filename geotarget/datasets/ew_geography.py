"""England & Wales geography for the Census 2021 build: the ONS codes it relies on and the ONS
lookup tables (Output Area to LSOA to MSOA to local authority, local authority to region,
lower- to upper-tier authority)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError
from .base import _read_csv_upper

if TYPE_CHECKING:
    import pandas as pd

#: the 33 London boroughs (City of London and the 32 boroughs)
LONDON_LADS = tuple(f"E09{n:06d}" for n in range(1, 34))
LONDON_REGION = ("E12000007", "London")
ENGLAND = "E92000001"
WALES = "W92000004"
EW = ("K04000001", "England and Wales")

#: the columns :func:`read_oa_lookup` returns
OA_LOOKUP_COLUMNS = ["OA21CD", "LSOA21CD", "LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM"]

#: a two-level ONS lookup: child code -> (parent code, parent name)
ParentLookup = dict[str, tuple[str, str]]


def read_oa_lookup(path: Path) -> pd.DataFrame:
    """Read the ONS Output Area (2021) to LSOA to MSOA to LAD exact-fit lookup.

    Parameters
    ----------
    path : Path
        The lookup CSV; its ``LADyyCD``/``LADyyNM`` columns, whatever the year, are taken as
        ``LAD22CD``/``LAD22NM``.

    Returns
    -------
    pandas.DataFrame
        One text row per Output Area, with the columns :data:`OA_LOOKUP_COLUMNS`.

    Raises
    ------
    DataError
        When the file is unreadable, lacks a column or lists an Output Area twice.
    """
    lk = _read_csv_upper(path, f"the OA lookup {str(path)!r}")
    lad_cd = next((c for c in lk.columns if re.fullmatch(r"LAD\d\dCD", c)), None)
    lad_nm = next((c for c in lk.columns if re.fullmatch(r"LAD\d\dNM", c)), None)
    if lad_cd and lad_nm:
        lk = lk.rename(columns={lad_cd: "LAD22CD", lad_nm: "LAD22NM"})
    missing = [c for c in OA_LOOKUP_COLUMNS if c not in lk.columns]
    if missing:
        raise DataError(
            f"{path.name} lacks the columns {missing} (it has "
            f"{list(lk.columns)[:12]}): expected the ONS 'Output Area (2021) to LSOA "
            "to MSOA to LAD' lookup; fetch again with --force"
        )
    lk = lk[OA_LOOKUP_COLUMNS]
    if lk["OA21CD"].duplicated().any():
        raise DataError(
            f"{path.name}: Output Areas listed twice (e.g. "
            f"{lk.loc[lk['OA21CD'].duplicated(), 'OA21CD'].iloc[0]}): expected an "
            "exact-fit lookup with one row per Output Area"
        )
    return lk


def read_parent_lookup(path: Path | None, child_re: str, parent_re: str) -> ParentLookup:
    """Read a two-level ONS lookup such as local authority to region.

    Parameters
    ----------
    path : Path or None
        The lookup CSV; ``None`` or a missing file gives ``{}`` (an optional download).
    child_re : str
        Regular expression of the child code column, e.g. ``r"LAD\\d\\dCD"``.
    parent_re : str
        Regular expression of the parent column without its ``CD``/``NM`` suffix, e.g.
        ``r"RGN\\d\\d"``.

    Returns
    -------
    ParentLookup
        ``{child code: (parent code, parent name)}``; the name is ``""`` without a name column.
    """
    import pandas as pd

    if path is None or not path.exists():
        return {}
    df = _read_csv_upper(path, f"the lookup {str(path)!r}")
    c = next((x for x in df.columns if re.fullmatch(child_re, x)), None)
    p = next((x for x in df.columns if re.fullmatch(parent_re + "CD", x)), None)
    if c is None or p is None:
        raise DataError(
            f"{path.name} has no {child_re}/{parent_re}CD columns (it has "
            f"{list(df.columns)[:8]}): fetch again with --force"
        )
    pn = p[:-2] + "NM"
    names = df[pn] if pn in df.columns else pd.Series("", index=df.index)
    return {a: (b, n) for a, b, n in zip(df[c], df[p], names)}


def region_of(lad: str, lad_region: ParentLookup) -> str:
    """The region code of a local authority (Wales counts as one region; ``""`` if unknown).

    Parameters
    ----------
    lad : str
        A local authority (LAD 2022) code.
    lad_region : ParentLookup
        The ONS LAD-to-region lookup (``{}`` when it was not downloaded: London's boroughs
        are still known).
    """
    if lad.startswith("W"):
        return WALES
    if lad in lad_region:
        return lad_region[lad][0]
    if lad in LONDON_LADS:
        return LONDON_REGION[0]
    return ""
