"""US Census 2020 PL 94-171 block populations (P1_001N) with block internal points, for states
or counties."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import DataError, InputError
from .base import BuildResult, Source, _member, _open_zip, _raw, _slug

US_NAME = "us-blocks2020"
US_PL_BASE = (
    "https://www2.census.gov/programs-surveys/decennial/2020/data/01-Redistricting_File--PL_94-171"
)
#: USPS code -> (FIPS, name as in the Census Bureau's folder names)
US_STATES = {
    "AL": ("01", "Alabama"),
    "AK": ("02", "Alaska"),
    "AZ": ("04", "Arizona"),
    "AR": ("05", "Arkansas"),
    "CA": ("06", "California"),
    "CO": ("08", "Colorado"),
    "CT": ("09", "Connecticut"),
    "DE": ("10", "Delaware"),
    "DC": ("11", "District of Columbia"),
    "FL": ("12", "Florida"),
    "GA": ("13", "Georgia"),
    "HI": ("15", "Hawaii"),
    "ID": ("16", "Idaho"),
    "IL": ("17", "Illinois"),
    "IN": ("18", "Indiana"),
    "IA": ("19", "Iowa"),
    "KS": ("20", "Kansas"),
    "KY": ("21", "Kentucky"),
    "LA": ("22", "Louisiana"),
    "ME": ("23", "Maine"),
    "MD": ("24", "Maryland"),
    "MA": ("25", "Massachusetts"),
    "MI": ("26", "Michigan"),
    "MN": ("27", "Minnesota"),
    "MS": ("28", "Mississippi"),
    "MO": ("29", "Missouri"),
    "MT": ("30", "Montana"),
    "NE": ("31", "Nebraska"),
    "NV": ("32", "Nevada"),
    "NH": ("33", "New Hampshire"),
    "NJ": ("34", "New Jersey"),
    "NM": ("35", "New Mexico"),
    "NY": ("36", "New York"),
    "NC": ("37", "North Carolina"),
    "ND": ("38", "North Dakota"),
    "OH": ("39", "Ohio"),
    "OK": ("40", "Oklahoma"),
    "OR": ("41", "Oregon"),
    "PA": ("42", "Pennsylvania"),
    "RI": ("44", "Rhode Island"),
    "SC": ("45", "South Carolina"),
    "SD": ("46", "South Dakota"),
    "TN": ("47", "Tennessee"),
    "TX": ("48", "Texas"),
    "UT": ("49", "Utah"),
    "VT": ("50", "Vermont"),
    "VA": ("51", "Virginia"),
    "WA": ("53", "Washington"),
    "WV": ("54", "West Virginia"),
    "WI": ("55", "Wisconsin"),
    "WY": ("56", "Wyoming"),
    "PR": ("72", "Puerto Rico"),
}
_FIPS = {fips: st for st, (fips, _) in US_STATES.items()}

#: the 2020 PL 94-171 geographic header (``xxgeo2020.pl``): pipe-delimited, no header line
PL_GEO_FIELDS = (
    "FILEID",
    "STUSAB",
    "SUMLEV",
    "GEOVAR",
    "GEOCOMP",
    "CHARITER",
    "CIFSN",
    "LOGRECNO",
    "GEOID",
    "GEOCODE",
    "REGION",
    "DIVISION",
    "STATE",
    "STATENS",
    "COUNTY",
    "COUNTYCC",
    "COUNTYNS",
    "COUSUB",
    "COUSUBCC",
    "COUSUBNS",
    "SUBMCD",
    "SUBMCDCC",
    "SUBMCDNS",
    "ESTATE",
    "ESTATECC",
    "ESTATENS",
    "CONCIT",
    "CONCITCC",
    "CONCITNS",
    "PLACE",
    "PLACECC",
    "PLACENS",
    "TRACT",
    "BLKGRP",
    "BLOCK",
    "AIANHH",
    "AIHHTLI",
    "AIANHHFP",
    "AIANHHCC",
    "AIANHHNS",
    "AITS",
    "AITSFP",
    "AITSCC",
    "AITSNS",
    "TTRACT",
    "TBLKGRP",
    "ANRC",
    "ANRCCC",
    "ANRCNS",
    "CBSA",
    "MEMI",
    "CSA",
    "METDIV",
    "NECTA",
    "NMEMI",
    "CNECTA",
    "NECTADIV",
    "CBSAPCI",
    "NECTAPCI",
    "UA",
    "UATYPE",
    "UR",
    "CD116",
    "CD118",
    "CD119",
    "CD120",
    "CD121",
    "SLDU18",
    "SLDU22",
    "SLDU24",
    "SLDU26",
    "SLDU28",
    "SLDL18",
    "SLDL22",
    "SLDL24",
    "SLDL26",
    "SLDL28",
    "VTD",
    "VTDI",
    "ZCTA",
    "SDELM",
    "SDSEC",
    "SDUNI",
    "PUMA",
    "AREALAND",
    "AREAWATR",
    "BASENAME",
    "NAME",
    "FUNCSTAT",
    "GCUNI",
    "POP100",
    "HU100",
    "INTPTLAT",
    "INTPTLON",
    "LSADC",
    "PARTFLAG",
    "UGA",
)
#: segment 1 (``xx000012020.pl``): FILEID, STUSAB, CHARITER, CIFSN, LOGRECNO, P0010001 (P1_001N) ...
PL_SEG1_LOGRECNO, PL_SEG1_P0010001 = 4, 5
BLOCK_SUMLEV = "750"


def us_area(area: str | None) -> dict[str, set[str] | None]:
    """The states and counties an ``area`` option stands for.

    Parameters
    ----------
    area : str or None
        States (``TN`` or ``47``) and counties (``TN:157`` or ``47157``) separated by commas.

    Returns
    -------
    dict
        ``{state USPS code: set of 3-digit county codes, or None for the whole state}``.

    Raises
    ------
    InputError
        When ``area`` is empty or a token is not a US state or county.
    """
    if not area or not area.strip():
        raise InputError(
            "us-blocks2020 needs --area: a state (TN or 47), a county (TN:157 or "
            "47157), or several separated by commas"
        )
    out: dict[str, set[str] | None] = {}
    for tok in (t for t in re.split(r"[,;\s]+", area.strip()) if t):
        t = tok.upper()
        st = county = None
        if m := re.fullmatch(r"([A-Z]{2})(?::(\d{3}))?", t):
            st, county = m.group(1), m.group(2)
        elif m := re.fullmatch(r"(\d{2})(\d{3})?", t):
            st, county = _FIPS.get(m.group(1)), m.group(2)
        if st not in US_STATES:
            raise InputError(
                f"--area {area!r}: {tok!r} is not a US state or county (give TN, "
                "47, TN:157 or 47157)"
            )
        if county is None:
            out[st] = None
        elif out.get(st, set()) is not None:
            out.setdefault(st, set()).add(county)  # type: ignore[union-attr]
    return out


def _us_sources(area: str | None) -> list[Source]:
    """One PL 94-171 file per state of ``area``."""
    out = []
    for st in sorted(us_area(area)):
        name = US_STATES[st][1].replace(" ", "_")
        s = US_SOURCES[0]
        out.append(
            replace(
                s,
                key=f"pl_{st.lower()}",
                url=s.url.format(state_dir=name, st=st.lower()),
                filename=s.filename.format(st=st.lower()),
                description=s.description.format(state=US_STATES[st][1], st=st.lower()),
            )
        )
    return out


def build_us_blocks2020(
    raw_dir: Path, out_dir: Path, area: str | None = None, **_ignored: Any
) -> BuildResult:
    """Build the block table ``<area>_blocks2020_population.csv`` from the PL 94-171 files.

    Parameters
    ----------
    raw_dir : Path
        The folder holding ``<st>2020.pl.zip`` for each state of ``area``.
    out_dir : Path
        The folder to build into.
    area : str or None
        See :func:`us_area` (required).

    Returns
    -------
    BuildResult
        The file written, and the blocks and population in it.

    Raises
    ------
    DataError
        When a file is missing or its parts do not belong together.
    InputError
        When ``area`` is malformed or names a county the state lacks.
    """
    import pandas as pd

    res = BuildResult()
    wanted = us_area(area)
    frames = []
    for st, counties in sorted(wanted.items()):
        zpath = _raw(raw_dir, f"{st.lower()}2020.pl.zip", f"PL 94-171 file of {st}", US_NAME)
        with _open_zip(zpath, "PL 94-171 redistricting file") as zf:
            geo = _member(zf, rf"(^|/){st}geo2020\.pl$", "geographic header (xxgeo2020.pl)", zpath)
            seg1 = _member(zf, rf"(^|/){st}000012020\.pl$", "segment 1 (xx000012020.pl)", zpath)
            with zf.open(geo) as f:
                first = f.readline().decode("latin-1").rstrip("\r\n").split("|")
            if len(first) != len(PL_GEO_FIELDS):
                raise DataError(
                    f"{zpath.name}:{geo} has {len(first)} fields per line, expected "
                    f"{len(PL_GEO_FIELDS)} (the 2020 PL 94-171 geographic header): "
                    "fetch again with --force"
                )
            want = ["SUMLEV", "LOGRECNO", "GEOCODE", "COUNTY", "POP100", "INTPTLAT", "INTPTLON"]
            with zf.open(geo) as f:
                g = pd.read_csv(
                    f,
                    sep="|",
                    header=None,
                    dtype=str,
                    encoding="latin-1",
                    usecols=[PL_GEO_FIELDS.index(c) for c in want],
                    keep_default_na=False,
                    quoting=csv.QUOTE_NONE,
                )
            g.columns = [PL_GEO_FIELDS[i] for i in sorted(PL_GEO_FIELDS.index(c) for c in want)]
            with zf.open(seg1) as f:
                s = pd.read_csv(
                    f,
                    sep="|",
                    header=None,
                    dtype=str,
                    encoding="latin-1",
                    usecols=[PL_SEG1_LOGRECNO, PL_SEG1_P0010001],
                    keep_default_na=False,
                    quoting=csv.QUOTE_NONE,
                )
            s.columns = ["LOGRECNO", "P0010001"]
        g = g[g["SUMLEV"] == BLOCK_SUMLEV]
        if counties is not None:
            g = g[g["COUNTY"].isin(counties)]
            absent = sorted(counties - set(g["COUNTY"]))
            if absent:
                raise InputError(
                    f"--area {area!r}: {st} has no county {', '.join(absent)} in "
                    "the 2020 redistricting file: check the county FIPS code"
                )
        m = g.merge(s, on="LOGRECNO", how="left")
        if m["P0010001"].isna().any() or (m["P0010001"] == "").any():
            raise DataError(
                f"{zpath.name}: {int(m['P0010001'].isna().sum())} blocks have no "
                "segment-1 record (P1_001N): fetch again with --force"
            )
        pop = pd.to_numeric(m["P0010001"], errors="coerce")
        if pop.isna().any() or (pop != pd.to_numeric(m["POP100"], errors="coerce")).any():
            raise DataError(
                f"{zpath.name}: P1_001N differs from the header's POP100 for some "
                "blocks: the files do not belong together; fetch again with --force"
            )
        bad = ~m["GEOCODE"].str.fullmatch(r"\d{15}")
        if bad.any():
            raise DataError(
                f"{zpath.name}: block code {m.loc[bad, 'GEOCODE'].iloc[0]!r} is not "
                "15 digits: expected the 2020 PL 94-171 file"
            )
        frames.append(
            pd.DataFrame(
                {
                    "geoid": m["GEOCODE"].to_numpy(),
                    "population_P1_001N": pop.astype("int64").to_numpy(),
                    "centroid_lon": pd.to_numeric(m["INTPTLON"], errors="coerce").to_numpy(),
                    "centroid_lat": pd.to_numeric(m["INTPTLAT"], errors="coerce").to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True).sort_values("geoid", kind="stable")
    if out[["centroid_lon", "centroid_lat"]].isna().any().any():
        raise DataError(
            "some blocks have no internal point (INTPTLAT/INTPTLON): fetch again with --force"
        )
    name = f"{_slug(US_NAME, area)}_blocks2020_population.csv"
    out_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_dir / name, index=False, lineterminator="\n")
    res.files.append(name)
    res.summary = {"blocks": int(len(out)), "population": int(out["population_P1_001N"].sum())}
    res.warnings.append(
        "centroid_lon/centroid_lat are the Census Bureau's block internal points "
        "(INTPTLON/INTPTLAT), not geometric centroids"
    )
    return res


US_SOURCES = (
    Source(
        "pl",
        US_PL_BASE + "/{state_dir}/{st}2020.pl.zip",
        "{st}2020.pl.zip",
        "US Census Bureau, 2020 Census State Redistricting Data (Public Law 94-171) Summary "
        "File for {state}, legacy format: {st}geo2020.pl (geographic header with block "
        "internal points) and {st}000012020.pl (tables P1, P2)",
        "https://www.census.gov/programs-surveys/decennial-census/about/rdo/summary-files.html",
    ),
)
