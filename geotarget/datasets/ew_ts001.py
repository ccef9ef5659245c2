"""Census 2021 TS001 usual residents: reading the Nomis bulk download and building the one
table of the England & Wales layout (``residents/TS001_residence_type_2021.csv.gz``).

The table holds every geography of the area -- Output Areas, LSOAs, MSOAs, local authorities,
and the counties, regions and countries the area holds whole -- each with its parent (code and
name), as the published TS001 lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError
from .base import _col, _member, _open_zip, _pct_text
from .ew_geography import ENGLAND, EW, LONDON_REGION, WALES, ParentLookup, region_of

if TYPE_CHECKING:
    import pandas as pd

#: TS001 levels of the bulk download (``census2021-ts001-<level>.csv``), the first four required
TS001_LEVELS = ("oa", "lsoa", "msoa", "ltla", "utla", "rgn", "ctry")
_REQUIRED_LEVELS = ("oa", "lsoa", "msoa", "ltla")


def read_ts001(zip_path: Path) -> dict[str, pd.DataFrame]:
    """Read the Nomis TS001 bulk download, one table per geography level.

    Parameters
    ----------
    zip_path : Path
        ``census2021-ts001.zip`` as Nomis publishes it.

    Returns
    -------
    dict of str to pandas.DataFrame
        By level (see :data:`TS001_LEVELS`; optional levels absent from the zip are left out):
        columns ``code``, ``label`` (text) and ``hh``, ``ce``, ``total`` (int64: residents in
        households, in communal establishments, all).

    Raises
    ------
    DataError
        When the zip, a required table or one of its columns is missing, or a count is not a
        number.
    """
    import pandas as pd

    frames = {}
    with _open_zip(zip_path, "TS001 bulk download") as zf:
        for level in TS001_LEVELS:
            member = _member(
                zf,
                rf"(^|/)census2021-ts001-{level}\.csv$",
                f"TS001 {level.upper()} table",
                zip_path,
                required=level in _REQUIRED_LEVELS,
            )
            if member is None:
                continue
            with zf.open(member) as f:
                df = pd.read_csv(f, dtype=str, encoding="utf-8-sig", keep_default_na=False)
            frames[level] = _ts001_counts(df, f"{zip_path.name}:{member}")
    return frames


def _ts001_counts(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """One TS001 table as code, label, hh, ce, total."""
    import pandas as pd

    columns = [str(c) for c in df.columns]
    code = _col(columns, lambda c: c == "geography code", "'geography code'", where)
    label = _col(columns, lambda c: c == "geography", "'geography'", where)
    total = _col(columns, lambda c: "total" in c, "'...: Total; ...'", where)
    hh = _col(
        columns,
        lambda c: "lives in a household" in c,
        "'...: Lives in a household; ...'",
        where,
    )
    ce = _col(
        columns,
        lambda c: "lives in a communal establishment" in c,
        "'...: Lives in a communal establishment; ...'",
        where,
    )
    out = pd.DataFrame({"code": df[code].str.strip(), "label": df[label]})
    for name, c in (("hh", hh), ("ce", ce), ("total", total)):
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            raise DataError(
                f"{where}: non-numeric {c!r} for "
                f"{df.loc[v.isna(), code].iloc[0]}: fetch again with --force"
            )
        out[name] = v.astype("int64")
    return out


def build_ts001(
    frames: Mapping[str, pd.DataFrame],
    lk: pd.DataFrame,
    lads: list[str],
    lad_region: ParentLookup,
    ltla_utla: ParentLookup,
    area_all: bool,
    warnings: list[str],
) -> pd.DataFrame:
    """Build the TS001 table of the area in the published column layout.

    Parameters
    ----------
    frames : mapping of str to pandas.DataFrame
        The tables :func:`read_ts001` returns.
    lk : pandas.DataFrame
        The Output Area lookup (:func:`~.ew_geography.read_oa_lookup`).
    lads : list of str
        The local authorities of the area.
    lad_region, ltla_utla : ParentLookup
        The local authority to region and lower- to upper-tier lookups (``{}`` when not
        downloaded).
    area_all : bool
        Whether the area is all of England & Wales (then the national row and the counties
        without lookup rows are kept too).
    warnings : list of str
        Receives what the table lacks and why.

    Returns
    -------
    pandas.DataFrame
        One row per geography, sorted by code: ``Geography code``, ``Geography label``,
        ``Geography area type``, ``Parent area code``, ``Parent area type``,
        ``Classification``, the household / communal / total counts and their percentages.

    Raises
    ------
    DataError
        When TS001 lacks a row for a zone of the area.
    """
    import pandas as pd

    sel = set(lads)
    sel_lk = lk[lk["LAD22CD"].isin(sel)]
    labels: dict[str, str] = {}
    for level in ("rgn", "ctry", "ltla", "utla"):
        if level in frames:
            labels.update(zip(frames[level]["code"], frames[level]["label"]))
    region_names = {r: n for r, n in lad_region.values()}
    region_names.setdefault(LONDON_REGION[0], LONDON_REGION[1])

    def parent_names(parent: Mapping[str, str]) -> dict[str, str]:
        return {c: labels.get(r) or region_names.get(r, "") for c, r in parent.items()}

    parts = _small_area_rows(frames, sel_lk)
    if area_all:
        extra = set(frames["oa"]["code"]) - set(lk["OA21CD"])
        if extra:
            warnings.append(
                f"{len(extra)} TS001 Output Areas are not in the OA lookup (e.g. "
                f"{sorted(extra)[:3]}); they were left out"
            )
    lad_parent = {c: region_of(c, lad_region) for c in lads}
    if any(v == "" for v in lad_parent.values()):
        warnings.append(
            "the LAD-to-region lookup was not downloaded: TS001 local authority rows "
            "outside London have no parent region"
        )
    parts.append(
        _take(
            frames["ltla"],
            lads,
            lad_parent,
            parent_names(lad_parent),
            "Local Authority",
            "local authority",
        )
    )
    counties = _whole_counties(frames, sel, lad_region, ltla_utla, area_all, warnings)
    if counties:
        parts.append(
            _take(
                frames["utla"],
                counties,
                counties,
                parent_names(counties),
                "Local Authority",
                "county",
            )
        )
    higher = _higher_rows(frames, lk, sel, lad_region, area_all, labels)
    if higher is not None:
        parts.append(higher)
    t = (
        pd.concat(parts, ignore_index=True)
        .drop_duplicates("code")
        .sort_values("code", kind="stable")
    )
    return _published_layout(t)


def _take(
    df: pd.DataFrame,
    codes: Iterable[str],
    parent_code: Mapping[str, str],
    parent_name: Mapping[str, str],
    kind: str,
    what: str,
) -> pd.DataFrame:
    """The rows of ``codes`` (all required) with their area type and parent code and name."""
    wanted = list(codes)
    have = set(df["code"])
    missing = [c for c in wanted if c not in have]
    if missing:
        raise DataError(
            f"TS001 has no {what} row for {len(missing)} {what}s of the area "
            f"(e.g. {missing[:3]}): are the TS001 download and the OA lookup both "
            "Census 2021? Fetch again with --force"
        )
    d = df[df["code"].isin(set(wanted))].copy()
    d["kind"] = kind
    d["pcode"] = d["code"].map(parent_code).fillna("")
    d["pname"] = d["code"].map(parent_name).fillna("")
    return d


def _small_area_rows(
    frames: Mapping[str, pd.DataFrame], sel_lk: pd.DataFrame
) -> list[pd.DataFrame]:
    """Output Areas, LSOAs and MSOAs of the area, each with its parent from the OA lookup."""
    oa = sel_lk.set_index("OA21CD")
    ls = sel_lk.drop_duplicates("LSOA21CD").set_index("LSOA21CD")
    ms = sel_lk.drop_duplicates("MSOA21CD").set_index("MSOA21CD")
    return [
        _take(
            frames["oa"],
            oa.index,
            oa["LSOA21CD"].to_dict(),
            oa["LSOA21NM"].to_dict(),
            "Output Area",
            "Output Area",
        ),
        _take(
            frames["lsoa"],
            ls.index,
            ls["MSOA21CD"].to_dict(),
            ls["MSOA21NM"].to_dict(),
            "LSOA",
            "LSOA",
        ),
        _take(
            frames["msoa"],
            ms.index,
            ms["LAD22CD"].to_dict(),
            ms["LAD22NM"].to_dict(),
            "MSOA",
            "MSOA",
        ),
    ]


def _whole_counties(
    frames: Mapping[str, pd.DataFrame],
    sel: set[str],
    lad_region: ParentLookup,
    ltla_utla: ParentLookup,
    area_all: bool,
    warnings: list[str],
) -> dict[str, str]:
    """Counties (upper-tier authorities that are not also lower-tier) the area holds whole, with
    their region code: {county code: region code}."""
    if "utla" not in frames:
        return {}
    lt = set(frames["ltla"]["code"])
    counties = [c for c in frames["utla"]["code"] if c not in lt]
    members: dict[str, list[str]] = {}
    for ltla, (utla, _) in ltla_utla.items():
        members.setdefault(utla, []).append(ltla)
    keep: dict[str, str] = {}
    for c in counties:
        m = members.get(c)
        if m:
            if set(m) <= sel:
                keep[c] = region_of(m[0], lad_region)
        elif area_all:
            keep[c] = ""
    if counties and not ltla_utla and area_all:
        warnings.append(
            "the LTLA-to-UTLA lookup was not downloaded: TS001 county rows have no parent region"
        )
    return keep


def _higher_rows(
    frames: Mapping[str, pd.DataFrame],
    lk: pd.DataFrame,
    sel: set[str],
    lad_region: ParentLookup,
    area_all: bool,
    labels: Mapping[str, str],
) -> pd.DataFrame | None:
    """Regions and countries (and England and Wales) the area holds whole, or ``None``."""
    import pandas as pd

    higher = pd.concat(
        [frames[k] for k in ("rgn", "ctry") if k in frames], ignore_index=True
    ).drop_duplicates("code")
    eng = {c for c in lk["LAD22CD"] if c.startswith("E")}
    wal = {c for c in lk["LAD22CD"] if c.startswith("W")}
    want: dict[str, tuple[str, str, str]] = {}
    for code in higher["code"]:
        if code.startswith("E12"):
            members = {c for c in eng if region_of(c, lad_region) == code}
            if members and members <= sel:
                want[code] = ("Region", ENGLAND, labels.get(ENGLAND) or "England")
        elif code == ENGLAND and eng and eng <= sel or code == WALES and wal and wal <= sel:
            want[code] = ("Region", EW[0], labels.get(EW[0]) or EW[1])
        elif code == EW[0] and area_all:
            want[code] = ("National", "NA", "NA")
    if not want:
        return None
    d = higher[higher["code"].isin(set(want))].copy()
    d["kind"] = d["code"].map(lambda c: want[c][0])
    d["pcode"] = d["code"].map(lambda c: want[c][1])
    d["pname"] = d["code"].map(lambda c: want[c][2])
    return d


def _published_layout(t: pd.DataFrame) -> pd.DataFrame:
    """The rows (code, label, kind, pcode, pname, hh, ce, total) under TS001's column names."""
    import pandas as pd

    return pd.DataFrame(
        {
            "Geography code": t["code"].to_numpy(),
            "Geography label": t["label"].to_numpy(),
            "Geography area type": t["kind"].to_numpy(),
            "Parent area code": t["pcode"].to_numpy(),
            "Parent area type": t["pname"].to_numpy(),
            "Classification": "residence_type",
            "Lives in a household": t["hh"].to_numpy(),
            "Lives in a communal establishment": t["ce"].to_numpy(),
            "Total": t["total"].to_numpy(),
            "Percentage: Lives in a household": _pct_text(t["hh"], t["total"]),
            "Percentage: Lives in a communal establishment": _pct_text(t["ce"], t["total"]),
        }
    )
