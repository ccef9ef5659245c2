"""The registry of census datasets geotarget can download, and how each is built.

Each :class:`Dataset` names its publisher, licence, attribution and the official files it is made
from (:class:`Source`: address, local file name, what it is; the expected size and sha256 are
``None`` until the first download records them in the cache's manifest, see
:mod:`geotarget.download`), and has a ``build(raw_dir, out_dir, **options)`` step that turns those
files into geotarget's layout.  :func:`fetch` does both: download (or reuse the verified cache),
then build into ``<cache>/datasets/<name>/built/<area>/`` and say where.

Datasets:

* ``ew-census2021`` -- England & Wales Census 2021 in the layout ``--data-dir`` reads (the layout
  of ``../shared/data/london-census2021``), clipped to ``area``: ``london`` (default, the 33 London
  boroughs E09000001-E09000033), ``england``, ``wales``, ``all``, or local authority (LAD) / region
  (E12...) codes separated by commas.
* ``eurostat-grid2021`` -- Eurostat Census 2021 1 km population grid, cut into the 256 x 256-cell
  Parquet tiles of ``../shared/data/eurostat-grid2021``.
* ``us-blocks2020`` -- US Census 2020 PL 94-171 block populations (P1_001N) with block internal
  points, for states / counties (``area`` ``TN``, ``TN:157`` or ``47157``).
* ``scotland-dz2011`` -- ships inside the package: nothing to download.

The publishers' addresses below were found in public documentation and code; none could be
tried from the machine geotarget was developed on (no internet), which is why every failure
message says what to do and every address can be replaced with ``--mirror``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from . import download
from .errors import DataError, InputError

log = logging.getLogger(__name__)

#: bump when a build's output changes, so cached builds are redone
BUILD_VERSION = 1
BUILD_MANIFEST = "geotarget-build.json"


# =========================================================================== registry types

@dataclass(frozen=True)
class Source:
    """One official file.  ``url`` and ``filename`` may hold ``{placeholders}`` filled from the
    dataset's options (see :meth:`Dataset.sources_for`)."""

    key: str
    url: str
    filename: str
    description: str
    landing: str = ""
    size: int | None = None
    sha256: str | None = None
    required: bool = True


@dataclass
class BuildResult:
    """What a build wrote (paths relative to the output folder) and what it could not do."""

    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    publisher: str
    licence: str
    attribution: tuple[str, ...]
    vintage: str
    description: str
    sources: tuple[Source, ...] = ()
    builder: Callable[..., BuildResult] | None = None
    #: how ``area`` is given; ``None`` when the dataset takes no options
    area_help: str | None = None
    default_area: str | None = None
    #: how the built folder is used
    usage: str = ""
    builtin: bool = False
    layout: tuple[str, ...] = ()

    def sources_for(self, area: str | None = None, template: bool = False) -> list[Source]:
        """The sources with their placeholders filled for ``area`` (``template``: unfilled)."""
        if self.name == US_NAME and not template:
            return _us_sources(area)
        return list(self.sources)

    def build(self, raw_dir, out_dir, **options) -> BuildResult:
        """Turn the downloads in ``raw_dir`` into geotarget's layout in ``out_dir``."""
        if self.builder is None:
            raise DataError(f"{self.name} is built into geotarget: there is nothing to build")
        return self.builder(Path(raw_dir), Path(out_dir), **options)

    def area_slug(self, area: str | None) -> str:
        return _slug(self.name, area if area is not None else self.default_area)


def _slug(name: str, area: str | None) -> str:
    """A folder-name form of ``area``: 'london', 'E09000001-E09000033', 'TN-157', ..."""
    if area is None:
        return "default"
    a = area.strip()
    if re.fullmatch(r"[A-Za-z]{3,20}", a):  # a keyword: london, all, england, ...
        return a.lower()
    tokens = [t for t in re.split(r"[,;\s]+", a) if t]
    s = "-".join(t.replace(":", "-") for t in tokens)
    s = s.upper() if re.search(r"[A-Za-z]", s) else s
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", s):
        return s
    return "area-" + hashlib.sha256(",".join(sorted(tokens)).encode()).hexdigest()[:12]


# =========================================================================== helpers

def _raw(raw_dir: Path, filename: str, what: str, name: str) -> Path:
    p = raw_dir / filename
    if not p.exists():
        raise DataError(f"{filename} ({what}) is missing from {str(raw_dir)!r}: run "
                        f"'geotarget data fetch {name}' to download it")
    return p


def _member(zf: zipfile.ZipFile, pattern: str, what: str, zip_path: Path,
            required: bool = True) -> str | None:
    rx = re.compile(pattern, re.IGNORECASE)
    names = sorted((n for n in zf.namelist() if rx.search(n)), key=lambda n: (len(n), n))
    if names:
        return names[0]
    if not required:
        return None
    some = ", ".join(zf.namelist()[:6]) or "nothing"
    raise DataError(f"{zip_path.name} holds no {what} (a file matching {pattern!r}; it holds "
                    f"{some}): is it the publisher's original download? Fetch again with --force")


def _open_zip(path: Path, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{str(path)!r} ({what}) is not a readable zip file ({e}): fetch again "
                        "with --force") from e


def _header(f) -> list[str]:
    text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
    return next(csv.reader(text))


def _col(columns: Iterable[str], test: Callable[[str], bool], what: str, where: str) -> str:
    for c in columns:
        if test(c.strip().lower()):
            return c
    raise DataError(f"{where} has no {what} column (columns: {', '.join(list(columns)[:12])}): "
                    "is it the publisher's original file? Fetch again with --force")


def _write_csv_gz(df, path: Path) -> None:
    """Gzip with a fixed timestamp, so the same input gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                filename="") as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        df.to_csv(text, index=False, lineterminator="\n")
        text.flush()
        text.detach()


def _pct_text(part, total):
    """100 * part / total to 0.1, halves rounded up, '.0' dropped (as the published TS001)."""
    import numpy as np

    part = np.asarray(part, dtype=np.int64)
    total = np.asarray(total, dtype=np.int64)
    out = np.full(len(part), "", dtype=object)
    ok = total > 0
    q = (2 * part[ok] * 1000 + total[ok]) // (2 * total[ok])
    out[ok] = [f"{v // 10}" if v % 10 == 0 else f"{v // 10}.{v % 10}" for v in q.tolist()]
    return out


# =========================================================================== England & Wales

EW_NAME = "ew-census2021"
NOMIS_2021 = "https://www.nomisweb.co.uk/output/census/2021"
ONS_HUB_V3 = "https://hub.arcgis.com/api/v3/datasets"
ONS_HUB_V1 = "https://open-geography-portalx-ons.hub.arcgis.com/api/download/v1/items"
GEOPORTAL = "https://geoportal.statistics.gov.uk/datasets"

#: the 33 London boroughs (City of London and the 32 boroughs)
LONDON_LADS = tuple(f"E09{n:06d}" for n in range(1, 34))
LONDON_REGION = ("E12000007", "London")
ENGLAND = "E92000001"
WALES = "W92000004"
EW = ("K04000001", "England and Wales")

EW_SOURCES = (
    Source("ts001", f"{NOMIS_2021}/census2021-ts001.zip", "census2021-ts001.zip",
           "ONS Census 2021 TS001 'Number of usual residents in households and communal "
           "establishments', Nomis bulk download: one CSV per geography (OA, LSOA, MSOA, LTLA, "
           "UTLA, region, country)",
           "https://www.nomisweb.co.uk/sources/census_2021_bulk"),
    Source("odwp01ew", f"{NOMIS_2021}/odwp01ew.zip", "odwp01ew.zip",
           "ONS Census 2021 origin-destination ODWP01EW 'Location of usual residence and place "
           "of work', Nomis bulk download (ODWP01EW_MSOA.csv, ODWP01EW_LTLA.csv, ...)",
           "https://www.nomisweb.co.uk/sources/census_2021_od"),
    Source("lsoa", f"{ONS_HUB_V1}/b976e08d5c894df3901963469bd4f84f/geojson?layers=0",
           "LSOA_2021_EW_BGC.geojson",
           "ONS Open Geography Portal, Lower layer Super Output Areas (December 2021) Boundaries "
           "EW BGC (generalised 20 m, clipped), GeoJSON; MSOA and LAD polygons are dissolved "
           "from these (as in the shared layout)",
           f"{GEOPORTAL}/ons::lower-layer-super-output-areas-december-2021-boundaries-ew-bgc-v5-2"
           "/about"),
    Source("oa_lookup", f"{ONS_HUB_V3}/b9ca90c10aaa4b8d9791e9859a38ca67_0/downloads/data"
           "?format=csv&spatialRefId=4326", "OA21_LSOA21_MSOA21_LAD22_EW_LU.csv",
           "ONS Open Geography Portal, Output Area (2021) to LSOA to MSOA to LAD (December "
           "2021) Exact Fit Lookup in EW (LAD22CD/LAD22NM columns)",
           f"{GEOPORTAL}/b9ca90c10aaa4b8d9791e9859a38ca67"),
    Source("lad_rgn", f"{ONS_HUB_V3}/78b348cd8fb04037ada3c862aa054428_0/downloads/data"
           "?format=csv&spatialRefId=4326", "LAD22_RGN22_EN_LU.csv",
           "ONS Open Geography Portal, Local Authority District to Region (December 2022) "
           "Lookup in EN (parents of the TS001 local authority rows; region --area codes)",
           f"{GEOPORTAL}/78b348cd8fb04037ada3c862aa054428", required=False),
    Source("ltla_utla", f"{ONS_HUB_V3}/b1c0deb950cf4a619d332d17270845bb_0/downloads/data"
           "?format=csv&spatialRefId=4326", "LTLA22_UTLA22_EW_LU.csv",
           "ONS Open Geography Portal, Local Authority District to County and Unitary Authority "
           "(December 2022) Lookup in EW (which TS001 county rows an area holds)",
           f"{GEOPORTAL}/b1c0deb950cf4a619d332d17270845bb", required=False),
    Source("wpz", f"{ONS_HUB_V3}/176661b9403a4c84ae6aedf8bb4127cf_0/downloads/data"
           "?format=csv&spatialRefId=4326", "WZ11_EW_PWC.csv",
           "ONS Open Geography Portal, Workplace Zones (December 2011) Population Weighted "
           "Centroids, CSV (optional: workers are spread over them when present)",
           f"{GEOPORTAL}/176661b9403a4c84ae6aedf8bb4127cf", required=False),
)

EW_LAYOUT = (
    "boundaries/<area>-2021-lsoa-gen20.shp   LSOA 2021 polygons, EPSG:27700: LSOA21CD, LSOA21NM, "
    "MSOA21CD, MSOA21NM, LAD22CD, LAD22NM",
    "boundaries/<area>-2021-msoa-gen20.shp   MSOA 2021 polygons dissolved from the LSOAs: "
    "MSOA21NM, MSOA21CD",
    "boundaries/<area>-2021-lad22-gen20.shp  local authorities dissolved from the LSOAs: "
    "LAD22NM, LAD22CD",
    "residents/TS001_residence_type_2021.csv.gz  TS001, every geography in the area: Geography "
    "code, Geography label, Geography area type, Parent area code, Parent area type, "
    "Classification, Lives in a household, Lives in a communal establishment, Total, "
    "Percentage: ... (x2)",
    "workers/odwp01ew_msoa_counts.csv  per MSOA: areacd, origin, destination, nomove, within, "
    "fromout, toout, to1cd..to3, from1cd..from3",
    "workers/odwp01ew_lad_counts.csv   the same per local authority",
    "workers/ODWP01EW_LTLA.csv.gz      the raw LTLA-to-LTLA flows touching the area",
    "workers/workplace_zones2011_<area>_centroids.csv  2011 Workplace Zone population-weighted "
    "centroids in the area (WPZ, wx_lon, wy_lat; other columns as the source allows)",
    "geotarget-build.json              what was built, from which files (sha256)",
)


def _upper_cols(df):
    df.columns = [str(c).strip().lstrip("\ufeff").upper() for c in df.columns]
    return df


def _read_oa_lookup(path: Path):
    import pandas as pd

    try:
        lk = _upper_cols(pd.read_csv(path, dtype=str, encoding="utf-8-sig",
                                     keep_default_na=False))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the OA lookup {str(path)!r} ({e}): fetch again with "
                        "--force") from e
    lad_cd = next((c for c in lk.columns if re.fullmatch(r"LAD\d\dCD", c)), None)
    lad_nm = next((c for c in lk.columns if re.fullmatch(r"LAD\d\dNM", c)), None)
    if lad_cd and lad_nm:
        lk = lk.rename(columns={lad_cd: "LAD22CD", lad_nm: "LAD22NM"})
    need = ["OA21CD", "LSOA21CD", "LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM"]
    missing = [c for c in need if c not in lk.columns]
    if missing:
        raise DataError(f"{path.name} lacks the columns {missing} (it has "
                        f"{list(lk.columns)[:12]}): expected the ONS 'Output Area (2021) to LSOA "
                        "to MSOA to LAD' lookup; fetch again with --force")
    lk = lk[need]
    if lk["OA21CD"].duplicated().any():
        raise DataError(f"{path.name}: Output Areas listed twice (e.g. "
                        f"{lk.loc[lk['OA21CD'].duplicated(), 'OA21CD'].iloc[0]}): expected an "
                        "exact-fit lookup with one row per Output Area")
    return lk


def _read_pairs(path: Path | None, child_re: str, parent_re: str):
    """A two-level ONS lookup as {child code: (parent code, parent name)}; {} if absent."""
    import pandas as pd

    if path is None or not path.exists():
        return {}
    try:
        df = _upper_cols(pd.read_csv(path, dtype=str, encoding="utf-8-sig",
                                     keep_default_na=False))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the lookup {str(path)!r} ({e}): fetch again with "
                        "--force") from e
    c = next((x for x in df.columns if re.fullmatch(child_re, x)), None)
    p = next((x for x in df.columns if re.fullmatch(parent_re + "CD", x)), None)
    if c is None or p is None:
        raise DataError(f"{path.name} has no {child_re}/{parent_re}CD columns (it has "
                        f"{list(df.columns)[:8]}): fetch again with --force")
    pn = p[:-2] + "NM"
    names = df[pn] if pn in df.columns else pd.Series("", index=df.index)
    return {a: (b, n) for a, b, n in zip(df[c], df[p], names)}


def ew_area_lads(area: str | None, lads_all: Iterable[str], lad_region: dict) -> list[str]:
    """The LAD codes an ``area`` option stands for (see the module docstring)."""
    lads_all = sorted(set(lads_all))
    a = (area or "london").strip()
    key = a.lower()
    if key == "all":
        return lads_all
    if key == "london":
        missing = [c for c in LONDON_LADS if c not in set(lads_all)]
        if missing:
            raise DataError(f"the OA lookup lacks London boroughs {missing[:3]}...: is it the "
                            "England and Wales lookup? Fetch again with --force")
        return list(LONDON_LADS)
    if key in ("england", "wales"):
        return [c for c in lads_all if c[0] == key[0].upper()]
    tokens = [t.upper() for t in re.split(r"[,\s;]+", a) if t]
    out: list[str] = []
    unknown: list[str] = []
    known = set(lads_all)
    for t in tokens:
        if t in known:
            out.append(t)
        elif re.fullmatch(r"E12\d{6}", t):
            members = [c for c, (r, _) in lad_region.items() if r == t and c in known]
            if not members and t == LONDON_REGION[0]:
                members = list(LONDON_LADS)
            if not members:
                raise InputError(f"--area {a!r}: region {t} cannot be resolved (no local "
                                 "authorities found for it in the ONS LAD-to-region lookup): "
                                 "give its local authority codes instead")
            out.extend(members)
        else:
            unknown.append(t)
    if unknown or not tokens:
        raise InputError(f"--area {a!r}: {', '.join(unknown) or 'nothing'} is not a local "
                         "authority (LAD 2022) or region (E12) code of England and Wales: give "
                         "'london', 'england', 'wales', 'all' or codes such as "
                         "E09000001,E09000033")
    return sorted(set(out))


def _ts001_frames(zip_path: Path) -> dict:
    """Nomis TS001 bulk CSVs by level: code, label, household, communal, total."""
    import pandas as pd

    frames = {}
    with _open_zip(zip_path, "TS001 bulk download") as zf:
        for level in ("oa", "lsoa", "msoa", "ltla", "utla", "rgn", "ctry"):
            member = _member(zf, rf"(^|/)census2021-ts001-{level}\.csv$",
                             f"TS001 {level.upper()} table", zip_path,
                             required=level in ("oa", "lsoa", "msoa", "ltla"))
            if member is None:
                continue
            with zf.open(member) as f:
                df = pd.read_csv(f, dtype=str, encoding="utf-8-sig", keep_default_na=False)
            where = f"{zip_path.name}:{member}"
            code = _col(df.columns, lambda c: c == "geography code", "'geography code'", where)
            label = _col(df.columns, lambda c: c == "geography", "'geography'", where)
            total = _col(df.columns, lambda c: "total" in c, "'...: Total; ...'", where)
            hh = _col(df.columns, lambda c: "lives in a household" in c,
                      "'...: Lives in a household; ...'", where)
            ce = _col(df.columns, lambda c: "lives in a communal establishment" in c,
                      "'...: Lives in a communal establishment; ...'", where)
            out = pd.DataFrame({"code": df[code].str.strip(), "label": df[label]})
            for name, c in (("hh", hh), ("ce", ce), ("total", total)):
                v = pd.to_numeric(df[c], errors="coerce")
                if v.isna().any():
                    raise DataError(f"{where}: non-numeric {c!r} for "
                                    f"{df.loc[v.isna(), code].iloc[0]}: fetch again with --force")
                out[name] = v.astype("int64")
            frames[level] = out
    return frames


def _build_ts001(frames: dict, lk, lads: list[str], lad_region: dict, ltla_utla: dict,
                 area_all: bool, warnings: list[str]):
    import pandas as pd

    sel = set(lads)
    sel_lk = lk[lk["LAD22CD"].isin(sel)]
    labels: dict[str, str] = {}
    for level in ("rgn", "ctry", "ltla", "utla"):
        if level in frames:
            labels.update(zip(frames[level]["code"], frames[level]["label"]))
    parts = []

    def take(level: str, codes, parent_code: dict, parent_name: dict, kind: str, what: str):
        df = frames[level]
        codes = list(codes)
        have = set(df["code"])
        missing = [c for c in codes if c not in have]
        if missing:
            raise DataError(f"TS001 has no {what} row for {len(missing)} {what}s of the area "
                            f"(e.g. {missing[:3]}): are the TS001 download and the OA lookup both "
                            "Census 2021? Fetch again with --force")
        d = df[df["code"].isin(set(codes))].copy()
        d["kind"] = kind
        d["pcode"] = d["code"].map(parent_code).fillna("")
        d["pname"] = d["code"].map(parent_name).fillna("")
        parts.append(d)

    oa = sel_lk.set_index("OA21CD")
    take("oa", oa.index, oa["LSOA21CD"].to_dict(), oa["LSOA21NM"].to_dict(), "Output Area",
         "Output Area")
    ls = sel_lk.drop_duplicates("LSOA21CD").set_index("LSOA21CD")
    take("lsoa", ls.index, ls["MSOA21CD"].to_dict(), ls["MSOA21NM"].to_dict(), "LSOA", "LSOA")
    ms = sel_lk.drop_duplicates("MSOA21CD").set_index("MSOA21CD")
    take("msoa", ms.index, ms["LAD22CD"].to_dict(), ms["LAD22NM"].to_dict(), "MSOA", "MSOA")
    if area_all:
        extra = set(frames["oa"]["code"]) - set(lk["OA21CD"])
        if extra:
            warnings.append(f"{len(extra)} TS001 Output Areas are not in the OA lookup (e.g. "
                            f"{sorted(extra)[:3]}); they were left out")

    def region_of(lad: str) -> str:
        if lad.startswith("W"):
            return WALES
        if lad in lad_region:
            return lad_region[lad][0]
        if lad in LONDON_LADS:
            return LONDON_REGION[0]
        return ""

    def name_of(code: str, fallback: str = "") -> str:
        return labels.get(code) or fallback

    region_names = {r: n for r, n in lad_region.values()}
    region_names.setdefault(LONDON_REGION[0], LONDON_REGION[1])
    lad_parent = {c: region_of(c) for c in lads}
    if any(v == "" for v in lad_parent.values()):
        warnings.append("the LAD-to-region lookup was not downloaded: TS001 local authority rows "
                        "outside London have no parent region")
    take("ltla", lads, lad_parent,
         {c: name_of(r, region_names.get(r, "")) for c, r in lad_parent.items()},
         "Local Authority", "local authority")

    # counties (upper-tier authorities that are not also lower-tier): only whole ones
    if "utla" in frames:
        lt = set(frames["ltla"]["code"])
        counties = [c for c in frames["utla"]["code"] if c not in lt]
        members: dict[str, list[str]] = {}
        for ltla, (utla, _) in ltla_utla.items():
            members.setdefault(utla, []).append(ltla)
        keep = {}
        for c in counties:
            m = members.get(c)
            if m:
                if set(m) <= sel:
                    keep[c] = region_of(m[0])
            elif area_all:
                keep[c] = ""
        if counties and not ltla_utla and area_all:
            warnings.append("the LTLA-to-UTLA lookup was not downloaded: TS001 county rows have "
                            "no parent region")
        if keep:
            take("utla", keep, keep, {c: name_of(r, region_names.get(r, ""))
                                      for c, r in keep.items()}, "Local Authority", "county")

    # regions and countries: only when the area holds all of them
    higher = pd.concat([frames[k] for k in ("rgn", "ctry") if k in frames],
                       ignore_index=True).drop_duplicates("code")
    eng = {c for c in lk["LAD22CD"] if c.startswith("E")}
    wal = {c for c in lk["LAD22CD"] if c.startswith("W")}
    want_hi: dict[str, tuple[str, str, str]] = {}
    for code in higher["code"]:
        if code.startswith("E12"):
            members_r = {c for c in eng if region_of(c) == code}
            if members_r and members_r <= sel:
                want_hi[code] = ("Region", ENGLAND, name_of(ENGLAND, "England"))
        elif code == ENGLAND and eng and eng <= sel:
            want_hi[code] = ("Region", EW[0], name_of(EW[0], EW[1]))
        elif code == WALES and wal and wal <= sel:
            want_hi[code] = ("Region", EW[0], name_of(EW[0], EW[1]))
        elif code == EW[0] and area_all:
            want_hi[code] = ("National", "NA", "NA")
    if want_hi:
        d = higher[higher["code"].isin(set(want_hi))].copy()
        d["kind"] = d["code"].map(lambda c: want_hi[c][0])
        d["pcode"] = d["code"].map(lambda c: want_hi[c][1])
        d["pname"] = d["code"].map(lambda c: want_hi[c][2])
        parts.append(d)

    t = pd.concat(parts, ignore_index=True).drop_duplicates("code").sort_values(
        "code", kind="stable")
    return pd.DataFrame({
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
    })


def _read_flows(zf: zipfile.ZipFile, member: str, where: str):
    """An ODWP01EW flow table as (o, d, cat, n)."""
    import pandas as pd

    with zf.open(member) as f:
        cols = _header(f)
    ind = _col(cols, lambda c: "place of work indicator" in c and c.endswith("code"),
               "'Place of work indicator (4 categories) code'", where)
    work = _col(cols, lambda c: "of workplace" in c and c.endswith("code"),
                "'... of workplace code'", where)
    res = _col([c for c in cols if c not in (ind, work)], lambda c: c.endswith(" code"),
               "residence area code", where)
    cnt = _col(cols, lambda c: c == "count", "'Count'", where)
    with zf.open(member) as f:
        df = pd.read_csv(f, usecols=[res, work, ind, cnt], dtype=str, encoding="utf-8-sig",
                         keep_default_na=False)
    out = pd.DataFrame({"o": df[res].str.strip(), "d": df[work].str.strip()})
    out["cat"] = pd.to_numeric(df[ind], errors="coerce")
    out["n"] = pd.to_numeric(df[cnt], errors="coerce")
    bad = out["cat"].isna() | out["n"].isna() | ~out["cat"].isin([-8, 1, 2, 3])
    if bad.any():
        i = bad.idxmax()
        raise DataError(f"{where}: unexpected row (place-of-work indicator {df[ind][i]!r}, count "
                        f"{df[cnt][i]!r}): expected indicators -8, 1, 2, 3; fetch again with "
                        "--force")
    out["cat"] = out["cat"].astype("int64")
    out["n"] = out["n"].astype("int64")
    return out


FLOW_COLUMNS = ["areacd", "origin", "destination", "nomove", "within", "fromout", "toout",
                "to1cd", "to1", "to2cd", "to2", "to3cd", "to3",
                "from1cd", "from1", "from2cd", "from2", "from3cd", "from3"]


def flow_counts(flows, codes: list[str], where: str):
    """Per-area counts from an ODWP01EW flow table (columns o, d, cat, n).

    origin = employed residents (indicator != -8); nomove = mainly working at or from home
    (indicator 1); destination = people whose workplace is the area, home-workers included
    (indicators 1 and 3 by workplace); within = working in their own area, not at home;
    toout = working offshore or outside the UK (indicator 2); fromout = people living outside
    England & Wales (none: the table holds only England & Wales residents); to1..3 / from1..3 =
    the three largest flows to / from other England & Wales areas (ties by code).
    """
    import pandas as pd

    areas = set(flows["o"])
    missing = [c for c in codes if c not in areas]
    if missing:
        raise DataError(f"{where} has no flows for {len(missing)} areas (e.g. {missing[:3]}): "
                        "are the flow table and the boundaries both Census 2021?")
    emp = flows[flows["cat"] != -8]
    origin = emp.groupby("o")["n"].sum()
    nomove = flows[flows["cat"] == 1].groupby("o")["n"].sum()
    within = flows[(flows["cat"] == 3) & (flows["o"] == flows["d"])].groupby("o")["n"].sum()
    toout = flows[flows["cat"] == 2].groupby("o")["n"].sum()
    dest = flows[flows["cat"].isin([1, 3]) & flows["d"].isin(areas)].groupby("d")["n"].sum()
    fromout = flows[~flows["o"].isin(areas)].groupby("d")["n"].sum()  # empty by construction
    out = pd.DataFrame({"areacd": codes})
    idx = out["areacd"]
    for name, s in (("origin", origin), ("destination", dest), ("nomove", nomove),
                    ("within", within), ("fromout", fromout), ("toout", toout)):
        out[name] = idx.map(s).fillna(0).astype("int64").to_numpy()
    between = flows[(flows["cat"] == 3) & (flows["o"] != flows["d"]) & flows["d"].isin(areas)]
    for prefix, key, other in (("to", "o", "d"), ("from", "d", "o")):
        b = between[between[key].isin(set(codes))]
        b = b.groupby([key, other], as_index=False)["n"].sum()
        b = b.assign(neg=-b["n"]).sort_values([key, "neg", other], kind="stable")
        b["rank"] = b.groupby(key).cumcount() + 1
        b = b[b["rank"] <= 3]
        for r in (1, 2, 3):
            br = b[b["rank"] == r].set_index(key)
            out[f"{prefix}{r}cd"] = idx.map(br[other]).fillna("")
            out[f"{prefix}{r}"] = idx.map(br["n"]).astype("Int64")
    return out[FLOW_COLUMNS]


def _read_lsoa_polygons(path: Path):
    """All LSOA polygons of the ONS download (GeoJSON, or a zipped shapefile) in EPSG:27700."""
    import geopandas as gpd
    import shapely

    src = f"/vsizip/{path}" if zipfile.is_zipfile(path) else str(path)
    try:
        gdf = gpd.read_file(src, engine="pyogrio")
    except Exception as e:  # pyogrio raises its own error types
        raise DataError(f"cannot read the LSOA boundaries {str(path)!r} ({e}): fetch again with "
                        "--force") from e
    geom = gdf.geometry.name
    gdf = gdf.rename(columns={c: str(c).upper() for c in gdf.columns if c != geom})
    if "LSOA21CD" not in gdf.columns:
        raise DataError(f"{path.name} has no LSOA21CD field (it has {list(gdf.columns)[:10]}): "
                        "expected the ONS LSOA (December 2021) boundaries; fetch again with "
                        "--force")
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")  # GeoJSON (RFC 7946) is WGS84
    gdf = gdf[["LSOA21CD", geom]]
    if geom != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf = gdf.to_crs("EPSG:27700")
    bad = ~shapely.is_valid(gdf.geometry.values)
    if bad.any():
        gdf.loc[bad, "geometry"] = shapely.make_valid(gdf.geometry.values[bad])
    return gdf


def _write_shp(gdf, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(path, engine="pyogrio", encoding="UTF-8")


def _wpz_points(path: Path, where: str):
    """WPZ code, lon, lat (+ MSOA/LAD 2011 codes if the file has them) from the ONS PWC CSV."""
    import numpy as np
    import pandas as pd

    from .projections import transformer

    try:
        df = _upper_cols(pd.read_csv(path, dtype=str, encoding="utf-8-sig",
                                     keep_default_na=False))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {where} ({e}): fetch again with --force") from e
    code = next((c for c in ("WZ11CD", "WPZ11CD", "WZCD", "WPZ") if c in df.columns), None)
    if code is None:
        raise DataError(f"{where} has no WZ11CD column (it has {list(df.columns)[:10]}): "
                        "expected the ONS Workplace Zones (December 2011) population-weighted "
                        "centroids")
    pairs = [("LONG", "LAT"), ("LON", "LAT"), ("LONGITUDE", "LATITUDE"), ("X", "Y"),
             ("X_COORD", "Y_COORD"), ("BNG_E", "BNG_N"), ("EASTING", "NORTHING")]
    xy = next(((a, b) for a, b in pairs if a in df.columns and b in df.columns), None)
    if xy is None:
        raise DataError(f"{where} has no coordinate columns (looked for {pairs}): expected the "
                        "ONS Workplace Zones population-weighted centroids CSV")
    x = pd.to_numeric(df[xy[0]], errors="coerce").to_numpy(float)
    y = pd.to_numeric(df[xy[1]], errors="coerce").to_numpy(float)
    if np.isnan(x).any() or np.isnan(y).any():
        raise DataError(f"{where}: {int(np.isnan(x).sum() + np.isnan(y).sum())} centroids without "
                        "coordinates: fetch again with --force")
    if np.nanmax(np.abs(x)) > 180 or np.nanmax(np.abs(y)) > 90:  # British National Grid metres
        x, y = transformer("EPSG:27700", "EPSG:4326").transform(x, y)
    out = pd.DataFrame({"WPZ": df[code].to_numpy(), "lon": x, "lat": y})
    for col, names in (("MSOA", ("MSOA11CD",)), ("LAD", ("LAD11CD", "LAD13CD")),
                       ("RGN", ("RGN11CD",)), ("CTRY", ("CTRY11CD",))):
        c = next((n for n in names if n in df.columns), None)
        out[col] = df[c].to_numpy() if c else ""
    return out


WPZ_COLUMNS = ["WPZ", "MSOA", "LAD", "CTY", "RGN", "CTRY", "wx_lon", "wy_lat", "x_lon", "y_lat",
               "perimeter", "area"]


def _build_wpz(path: Path, all_lsoa, sel_lsoa: set, where: str):
    """Centroids that fall in the area's LSOAs (or, a little outside every LSOA, whose nearest
    LSOA within 500 m is in the area)."""
    import numpy as np
    import pandas as pd
    import shapely

    from .projections import transformer

    pts = _wpz_points(path, where)
    ex, ny = transformer("EPSG:4326", "EPSG:27700").transform(pts["lon"].to_numpy(),
                                                             pts["lat"].to_numpy())
    geoms = shapely.points(ex, ny)
    polys = all_lsoa.geometry.values
    codes = all_lsoa["LSOA21CD"].to_numpy()
    tree = shapely.STRtree(polys)
    pi, li = tree.query(geoms, predicate="within")
    owner = np.full(len(geoms), -1)
    owner[pi] = li
    lost = np.nonzero(owner < 0)[0]
    if len(lost):
        near_p, near_l = tree.query_nearest(geoms[lost], max_distance=500.0)
        owner[lost[near_p]] = near_l
    keep = (owner >= 0) & np.isin(codes[np.maximum(owner, 0)], list(sel_lsoa))
    p = pts[keep]
    out = pd.DataFrame({"WPZ": p["WPZ"].to_numpy(), "MSOA": p["MSOA"].to_numpy(),
                        "LAD": p["LAD"].to_numpy(), "CTY": "", "RGN": p["RGN"].to_numpy(),
                        "CTRY": p["CTRY"].to_numpy(), "wx_lon": p["lon"].to_numpy(),
                        "wy_lat": p["lat"].to_numpy(), "x_lon": "", "y_lat": "",
                        "perimeter": "", "area": ""})
    return out[WPZ_COLUMNS].sort_values("WPZ", kind="stable")


def build_ew_census2021(raw_dir: Path, out_dir: Path, area: str | None = None,
                        **_ignored) -> BuildResult:
    """Build the England & Wales layout (see ``EW_LAYOUT``) for ``area`` into ``out_dir``."""
    import pandas as pd

    name = EW_NAME
    res = BuildResult()
    src = {s.key: s for s in EW_SOURCES}
    lk = _read_oa_lookup(_raw(raw_dir, src["oa_lookup"].filename, "OA lookup", name))
    opt = {k: (raw_dir / src[k].filename) for k in ("lad_rgn", "ltla_utla", "wpz")}
    lad_region = _read_pairs(opt["lad_rgn"], r"LAD\d\dCD", r"RGN\d\d")
    ltla_utla = _read_pairs(opt["ltla_utla"], r"(LTLA|LAD)\d\dCD", r"(UTLA|CTYUA)\d\d")
    area_all = (area or "").strip().lower() == "all"
    lads = ew_area_lads(area, lk["LAD22CD"], lad_region)
    slug = _slug(name, area or "london")
    sel_lk = lk[lk["LAD22CD"].isin(set(lads))]
    lsoa_codes = sorted(set(sel_lk["LSOA21CD"]))
    msoa_codes = sorted(set(sel_lk["MSOA21CD"]))

    # -- boundaries
    all_lsoa = _read_lsoa_polygons(_raw(raw_dir, src["lsoa"].filename, "LSOA boundaries", name))
    if all_lsoa["LSOA21CD"].duplicated().any():
        all_lsoa = all_lsoa.dissolve("LSOA21CD", as_index=False)
    lsoa = all_lsoa[all_lsoa["LSOA21CD"].isin(set(lsoa_codes))]
    missing = sorted(set(lsoa_codes) - set(lsoa["LSOA21CD"]))
    if missing:
        raise DataError(f"the LSOA boundaries lack {len(missing)} LSOAs of the area (e.g. "
                        f"{missing[:3]}): are the boundaries the December 2021 edition? Fetch "
                        "again with --force")
    names = sel_lk.drop_duplicates("LSOA21CD").set_index("LSOA21CD")
    lsoa = lsoa.assign(**{c: lsoa["LSOA21CD"].map(names[c]).to_numpy()
                          for c in ("LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM")})
    lsoa = lsoa[["LSOA21CD", "LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM",
                 "geometry"]].sort_values("LSOA21CD", kind="stable").reset_index(drop=True)
    files = {
        "lsoa": f"boundaries/{slug}-2021-lsoa-gen20.shp",
        "msoa": f"boundaries/{slug}-2021-msoa-gen20.shp",
        "lad": f"boundaries/{slug}-2021-lad22-gen20.shp",
    }
    _write_shp(lsoa, out_dir / files["lsoa"])
    for key, cd, nm in (("msoa", "MSOA21CD", "MSOA21NM"), ("lad", "LAD22CD", "LAD22NM")):
        d = lsoa[[nm, cd, "geometry"]].dissolve(by=[nm, cd], as_index=False)
        d = d[[nm, cd, "geometry"]].sort_values([nm, cd], kind="stable").reset_index(drop=True)
        _write_shp(d, out_dir / files[key])
    res.files += list(files.values())

    # -- residents
    frames = _ts001_frames(_raw(raw_dir, src["ts001"].filename, "TS001 bulk download", name))
    ts = _build_ts001(frames, lk, lads, lad_region, ltla_utla, area_all, res.warnings)
    _write_csv_gz(ts, out_dir / "residents" / "TS001_residence_type_2021.csv.gz")
    res.files.append("residents/TS001_residence_type_2021.csv.gz")
    lsoa_total = int(ts.loc[ts["Geography area type"] == "LSOA", "Total"].sum())

    # -- workers
    od_zip = _raw(raw_dir, src["odwp01ew"].filename, "ODWP01EW bulk download", name)
    wdir = out_dir / "workers"
    wdir.mkdir(parents=True, exist_ok=True)
    with _open_zip(od_zip, "ODWP01EW bulk download") as zf:
        m_msoa = _member(zf, r"(^|/)ODWP01EW_MSOA\.csv$", "MSOA flow table (ODWP01EW_MSOA.csv)",
                         od_zip)
        m_ltla = _member(zf, r"(^|/)ODWP01EW_LTLA\.csv$", "LTLA flow table (ODWP01EW_LTLA.csv)",
                         od_zip)
        flows = _read_flows(zf, m_msoa, f"{od_zip.name}:{m_msoa}")
        msoa_counts = flow_counts(flows, msoa_codes, f"{od_zip.name}:{m_msoa}")
        del flows
        lflows = _read_flows(zf, m_ltla, f"{od_zip.name}:{m_ltla}")
        lad_counts = flow_counts(lflows, lads, f"{od_zip.name}:{m_ltla}")
        with zf.open(m_ltla) as f:
            raw_ltla = pd.read_csv(f, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    msoa_counts.to_csv(wdir / "odwp01ew_msoa_counts.csv", index=False, lineterminator="\n")
    lad_counts.to_csv(wdir / "odwp01ew_lad_counts.csv", index=False, lineterminator="\n")
    if not area_all:
        touch = lflows["o"].isin(set(lads)) | lflows["d"].isin(set(lads))
        raw_ltla = raw_ltla[touch.to_numpy()]
    _write_csv_gz(raw_ltla, wdir / "ODWP01EW_LTLA.csv.gz")
    res.files += ["workers/odwp01ew_msoa_counts.csv", "workers/odwp01ew_lad_counts.csv",
                  "workers/ODWP01EW_LTLA.csv.gz"]

    # -- Workplace Zone centroids (optional)
    if opt["wpz"].exists():
        wpz = _build_wpz(opt["wpz"], all_lsoa, set(lsoa_codes), opt["wpz"].name)
        wname = f"workers/workplace_zones2011_{slug}_centroids.csv"
        wpz.to_csv(out_dir / wname, index=False, lineterminator="\n")
        res.files.append(wname)
        res.warnings.append(f"{wname}: x_lon, y_lat, perimeter, area and CTY are empty (the ONS "
                            "centroid file does not carry them)")
        n_wpz = len(wpz)
    else:
        n_wpz = 0
        res.warnings.append("the Workplace Zone centroids were not downloaded: workers will be "
                            "spread by areal weighting over MSOAs")
    res.summary = {"local_authorities": len(lads),
                   "lsoas": len(lsoa_codes), "msoas": len(msoa_codes),
                   "residents_lsoa_total": lsoa_total,
                   "workers_destination_total": int(msoa_counts["destination"].sum()),
                   "workplace_zones": n_wpz}
    return res


# =========================================================================== Eurostat grid

EUROSTAT_NAME = "eurostat-grid2021"
EUROSTAT_URL = "https://gisco-services.ec.europa.eu/census/2021/Eurostat_Census-GRID_2021_V3.zip"
TILE_CELLS = 256
RESOLUTION = 1000
_GRD = re.compile(r"^CRS3035RES1000mN(\d+)E(\d+)$")


def _eurostat_tiles_wanted(area: str | None):
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
    if len(vals) == 4 and vals[0] < vals[2] and vals[1] < vals[3] and \
            all(-180 <= v <= 180 for v in vals[::2]) and all(-90 <= v <= 90 for v in vals[1::2]):
        from .projections import transformer

        t = transformer("EPSG:4326", "EPSG:3035")
        xs, ys = t.transform([vals[0], vals[2], vals[0], vals[2]],
                             [vals[1], vals[1], vals[3], vals[3]])
        return (min(xs), min(ys), max(xs), max(ys))
    raise InputError(f"--area {area!r} is not 'all', tiles such as 14_11,17_12 or a WGS84 box "
                     "'min_lon,min_lat,max_lon,max_lat' (e.g. 2.2,48.8,2.5,48.95)")


def build_eurostat_grid2021(raw_dir: Path, out_dir: Path, area: str | None = None,
                            **_ignored) -> BuildResult:
    import numpy as np
    import pandas as pd

    res = BuildResult()
    zpath = _raw(raw_dir, EUROSTAT_SOURCES[0].filename, "Eurostat census grid", EUROSTAT_NAME)
    with _open_zip(zpath, "Eurostat census grid") as zf:
        member = _member(zf, r"ESTAT_Census_2021[^/]*\.csv$", "census grid CSV", zpath,
                         required=False)
        if member is not None:
            with zf.open(member) as f:
                cols = _header(f)
            use = [c for c in cols if c.strip().upper() in ("GRD_ID", "T", "T_CI")]
            with zf.open(member) as f:
                df = pd.read_csv(f, usecols=use, dtype=str, encoding="utf-8-sig",
                                 keep_default_na=False)
        else:
            gpkg = _member(zf, r"ESTAT_Census_2021[^/]*\.gpkg$", "census grid CSV or GeoPackage",
                           zpath)
            import pyogrio

            try:
                df = pyogrio.read_dataframe(f"/vsizip/{zpath}/{gpkg}", read_geometry=False)
            except Exception as e:
                raise DataError(f"cannot read {zpath.name}:{gpkg} ({e}): fetch again with "
                                "--force") from e
            df = df.astype(str)
    df.columns = [c.strip().upper() for c in df.columns]
    where = f"{zpath.name}:{member or 'GeoPackage'}"
    if "GRD_ID" not in df.columns or "T" not in df.columns:
        raise DataError(f"{where} has no GRD_ID / T columns (it has {list(df.columns)[:10]}): "
                        "expected the Eurostat Census 2021 grid; fetch again with --force")
    ne = df["GRD_ID"].str.extract(_GRD)
    bad = ne[0].isna()
    if bad.any():
        raise DataError(f"{where}: grid id {df.loc[bad, 'GRD_ID'].iloc[0]!r} is not a 1 km "
                        "ETRS89-LAEA id (CRS3035RES1000mN...E...): expected the 1 km grid")
    north = ne[0].astype("int64").to_numpy()
    east = ne[1].astype("int64").to_numpy()
    if ((north % RESOLUTION) != 0).any() or ((east % RESOLUTION) != 0).any():
        raise DataError(f"{where}: grid ids not on the 1 km lattice: expected the 1 km grid")
    t = pd.to_numeric(df["T"], errors="coerce").to_numpy(float)
    ci = pd.to_numeric(df["T_CI"], errors="coerce").to_numpy(float) if "T_CI" in df else None
    keep = ~np.isnan(t) & (t > 0)
    res.summary["cells_without_population_value"] = int(np.isnan(t).sum())
    if not keep.any():
        raise DataError(f"{where} holds no populated cell (T > 0): expected the Eurostat Census "
                        "2021 grid; fetch again with --force")
    i = east // RESOLUTION
    j = north // RESOLUTION
    tx, ty = i // TILE_CELLS, j // TILE_CELLS
    info = {"dims": [], "crs": "", "tileSizeCell": TILE_CELLS, "originPoint": {"x": 0, "y": 0},
            "resolutionGeo": RESOLUTION,
            "tilingBounds": {"yMin": int(ty[keep].min()), "yMax": int(ty[keep].max()),
                             "xMax": int(tx[keep].max()), "xMin": int(tx[keep].min())}}
    wanted = _eurostat_tiles_wanted(area)
    if isinstance(wanted, tuple):
        x0, y0, x1, y1 = wanted
        span = TILE_CELLS * RESOLUTION
        wanted = {(a, b) for a in range(int(x0 // span), int(x1 // span) + 1)
                  for b in range(int(y0 // span), int(y1 // span) + 1)}
    if wanted is not None:
        keep &= np.array([(a, b) in wanted for a, b in zip(tx.tolist(), ty.tolist())])
    integral = np.all(np.mod(t[keep], 1) == 0)
    frame = pd.DataFrame({"tx": tx[keep], "ty": ty[keep], "x": (i - tx * TILE_CELLS)[keep],
                          "y": (j - ty * TILE_CELLS)[keep],
                          "T": t[keep].astype("int64") if integral else t[keep]})
    if ci is not None:
        frame["T_CI"] = np.nan_to_num(ci[keep], nan=-1).astype("int64")
    else:
        res.warnings.append("the grid file has no T_CI column: the tiles hold x, y, T and nb")
    frame["nb"] = np.int64(1)
    if frame.empty:
        raise InputError(f"--area {area!r}: no populated grid cell in it: give tiles such as "
                         "14_11 or a box inside Europe")
    out_dir.mkdir(parents=True, exist_ok=True)
    for (a, b), g in frame.groupby(["tx", "ty"], sort=True):
        g = g.drop(columns=["tx", "ty"]).sort_values(["y", "x"], kind="stable")
        name = f"tile_{RESOLUTION}_{a}_{b}.parquet"
        g.reset_index(drop=True).to_parquet(out_dir / name, index=False)
        res.files.append(name)
    (out_dir / f"info_{RESOLUTION}.json").write_text(json.dumps(info, indent=3) + "\n")
    res.files.append(f"info_{RESOLUTION}.json")
    total = frame["T"].sum()
    res.summary.update({"tiles": len(res.files) - 1, "cells": int(len(frame)),
                        "population": int(total) if integral else round(float(total), 1)})
    return res


EUROSTAT_SOURCES = (
    Source("grid", EUROSTAT_URL, "Eurostat_Census-GRID_2021_V3.zip",
           "Eurostat GISCO, Census 2021 population grid, 1 km ETRS89-LAEA (EPSG:3035), all "
           "countries: zip holding ESTAT_Census_2021_V3.csv (GRD_ID, T, M, F, ...) and a "
           "GeoPackage (several hundred MB)",
           "https://ec.europa.eu/eurostat/web/gisco/geodata/population-distribution/"
           "population-grids"),
)


# =========================================================================== US blocks

US_NAME = "us-blocks2020"
US_PL_BASE = ("https://www2.census.gov/programs-surveys/decennial/2020/data/"
              "01-Redistricting_File--PL_94-171")
#: USPS code -> (FIPS, name as in the Census Bureau's folder names)
US_STATES = {
    "AL": ("01", "Alabama"), "AK": ("02", "Alaska"), "AZ": ("04", "Arizona"),
    "AR": ("05", "Arkansas"), "CA": ("06", "California"), "CO": ("08", "Colorado"),
    "CT": ("09", "Connecticut"), "DE": ("10", "Delaware"),
    "DC": ("11", "District of Columbia"), "FL": ("12", "Florida"), "GA": ("13", "Georgia"),
    "HI": ("15", "Hawaii"), "ID": ("16", "Idaho"), "IL": ("17", "Illinois"),
    "IN": ("18", "Indiana"), "IA": ("19", "Iowa"), "KS": ("20", "Kansas"),
    "KY": ("21", "Kentucky"), "LA": ("22", "Louisiana"), "ME": ("23", "Maine"),
    "MD": ("24", "Maryland"), "MA": ("25", "Massachusetts"), "MI": ("26", "Michigan"),
    "MN": ("27", "Minnesota"), "MS": ("28", "Mississippi"), "MO": ("29", "Missouri"),
    "MT": ("30", "Montana"), "NE": ("31", "Nebraska"), "NV": ("32", "Nevada"),
    "NH": ("33", "New Hampshire"), "NJ": ("34", "New Jersey"), "NM": ("35", "New Mexico"),
    "NY": ("36", "New York"), "NC": ("37", "North Carolina"), "ND": ("38", "North Dakota"),
    "OH": ("39", "Ohio"), "OK": ("40", "Oklahoma"), "OR": ("41", "Oregon"),
    "PA": ("42", "Pennsylvania"), "RI": ("44", "Rhode Island"), "SC": ("45", "South Carolina"),
    "SD": ("46", "South Dakota"), "TN": ("47", "Tennessee"), "TX": ("48", "Texas"),
    "UT": ("49", "Utah"), "VT": ("50", "Vermont"), "VA": ("51", "Virginia"),
    "WA": ("53", "Washington"), "WV": ("54", "West Virginia"), "WI": ("55", "Wisconsin"),
    "WY": ("56", "Wyoming"), "PR": ("72", "Puerto Rico"),
}
_FIPS = {fips: st for st, (fips, _) in US_STATES.items()}

#: the 2020 PL 94-171 geographic header (``xxgeo2020.pl``): pipe-delimited, no header line
PL_GEO_FIELDS = (
    "FILEID", "STUSAB", "SUMLEV", "GEOVAR", "GEOCOMP", "CHARITER", "CIFSN", "LOGRECNO", "GEOID",
    "GEOCODE", "REGION", "DIVISION", "STATE", "STATENS", "COUNTY", "COUNTYCC", "COUNTYNS",
    "COUSUB", "COUSUBCC", "COUSUBNS", "SUBMCD", "SUBMCDCC", "SUBMCDNS", "ESTATE", "ESTATECC",
    "ESTATENS", "CONCIT", "CONCITCC", "CONCITNS", "PLACE", "PLACECC", "PLACENS", "TRACT",
    "BLKGRP", "BLOCK", "AIANHH", "AIHHTLI", "AIANHHFP", "AIANHHCC", "AIANHHNS", "AITS",
    "AITSFP", "AITSCC", "AITSNS", "TTRACT", "TBLKGRP", "ANRC", "ANRCCC", "ANRCNS", "CBSA",
    "MEMI", "CSA", "METDIV", "NECTA", "NMEMI", "CNECTA", "NECTADIV", "CBSAPCI", "NECTAPCI",
    "UA", "UATYPE", "UR", "CD116", "CD118", "CD119", "CD120", "CD121", "SLDU18", "SLDU22",
    "SLDU24", "SLDU26", "SLDU28", "SLDL18", "SLDL22", "SLDL24", "SLDL26", "SLDL28", "VTD",
    "VTDI", "ZCTA", "SDELM", "SDSEC", "SDUNI", "PUMA", "AREALAND", "AREAWATR", "BASENAME",
    "NAME", "FUNCSTAT", "GCUNI", "POP100", "HU100", "INTPTLAT", "INTPTLON", "LSADC",
    "PARTFLAG", "UGA",
)
#: segment 1 (``xx000012020.pl``): FILEID, STUSAB, CHARITER, CIFSN, LOGRECNO, P0010001 (P1_001N) ...
PL_SEG1_LOGRECNO, PL_SEG1_P0010001 = 4, 5
BLOCK_SUMLEV = "750"


def us_area(area: str | None) -> dict[str, set[str] | None]:
    """{state USPS code: set of 3-digit county codes, or None for the whole state}."""
    if not area or not area.strip():
        raise InputError("us-blocks2020 needs --area: a state (TN or 47), a county (TN:157 or "
                         "47157), or several separated by commas")
    out: dict[str, set[str] | None] = {}
    for tok in (t for t in re.split(r"[,;\s]+", area.strip()) if t):
        t = tok.upper()
        st = county = None
        if m := re.fullmatch(r"([A-Z]{2})(?::(\d{3}))?", t):
            st, county = m.group(1), m.group(2)
        elif m := re.fullmatch(r"(\d{2})(\d{3})?", t):
            st, county = _FIPS.get(m.group(1)), m.group(2)
        if st not in US_STATES:
            raise InputError(f"--area {area!r}: {tok!r} is not a US state or county (give TN, "
                             "47, TN:157 or 47157)")
        if county is None:
            out[st] = None
        elif out.get(st, set()) is not None:
            out.setdefault(st, set()).add(county)  # type: ignore[union-attr]
    return out


def _us_sources(area: str | None) -> list[Source]:
    out = []
    for st in sorted(us_area(area)):
        name = US_STATES[st][1].replace(" ", "_")
        s = US_SOURCES[0]
        out.append(replace(s, key=f"pl_{st.lower()}",
                           url=s.url.format(state_dir=name, st=st.lower()),
                           filename=s.filename.format(st=st.lower()),
                           description=s.description.format(state=US_STATES[st][1],
                                                            st=st.lower())))
    return out


def build_us_blocks2020(raw_dir: Path, out_dir: Path, area: str | None = None,
                        **_ignored) -> BuildResult:
    import pandas as pd

    res = BuildResult()
    wanted = us_area(area)
    frames = []
    for st, counties in sorted(wanted.items()):
        zpath = _raw(raw_dir, f"{st.lower()}2020.pl.zip", f"PL 94-171 file of {st}", US_NAME)
        with _open_zip(zpath, "PL 94-171 redistricting file") as zf:
            geo = _member(zf, rf"(^|/){st}geo2020\.pl$", "geographic header (xxgeo2020.pl)",
                          zpath)
            seg1 = _member(zf, rf"(^|/){st}000012020\.pl$", "segment 1 (xx000012020.pl)", zpath)
            with zf.open(geo) as f:
                first = f.readline().decode("latin-1").rstrip("\r\n").split("|")
            if len(first) != len(PL_GEO_FIELDS):
                raise DataError(f"{zpath.name}:{geo} has {len(first)} fields per line, expected "
                                f"{len(PL_GEO_FIELDS)} (the 2020 PL 94-171 geographic header): "
                                "fetch again with --force")
            want = ["SUMLEV", "LOGRECNO", "GEOCODE", "COUNTY", "POP100", "INTPTLAT", "INTPTLON"]
            with zf.open(geo) as f:
                g = pd.read_csv(f, sep="|", header=None, dtype=str, encoding="latin-1",
                                usecols=[PL_GEO_FIELDS.index(c) for c in want],
                                keep_default_na=False, quoting=csv.QUOTE_NONE)
            g.columns = [PL_GEO_FIELDS[i] for i in sorted(PL_GEO_FIELDS.index(c) for c in want)]
            with zf.open(seg1) as f:
                s = pd.read_csv(f, sep="|", header=None, dtype=str, encoding="latin-1",
                                usecols=[PL_SEG1_LOGRECNO, PL_SEG1_P0010001],
                                keep_default_na=False, quoting=csv.QUOTE_NONE)
            s.columns = ["LOGRECNO", "P0010001"]
        g = g[g["SUMLEV"] == BLOCK_SUMLEV]
        if counties is not None:
            g = g[g["COUNTY"].isin(counties)]
            absent = sorted(counties - set(g["COUNTY"]))
            if absent:
                raise InputError(f"--area {area!r}: {st} has no county {', '.join(absent)} in "
                                 "the 2020 redistricting file: check the county FIPS code")
        m = g.merge(s, on="LOGRECNO", how="left")
        if m["P0010001"].isna().any() or (m["P0010001"] == "").any():
            raise DataError(f"{zpath.name}: {int(m['P0010001'].isna().sum())} blocks have no "
                            "segment-1 record (P1_001N): fetch again with --force")
        pop = pd.to_numeric(m["P0010001"], errors="coerce")
        if pop.isna().any() or (pop != pd.to_numeric(m["POP100"], errors="coerce")).any():
            raise DataError(f"{zpath.name}: P1_001N differs from the header's POP100 for some "
                            "blocks: the files do not belong together; fetch again with --force")
        bad = ~m["GEOCODE"].str.fullmatch(r"\d{15}")
        if bad.any():
            raise DataError(f"{zpath.name}: block code {m.loc[bad, 'GEOCODE'].iloc[0]!r} is not "
                            "15 digits: expected the 2020 PL 94-171 file")
        frames.append(pd.DataFrame({
            "geoid": m["GEOCODE"].to_numpy(),
            "population_P1_001N": pop.astype("int64").to_numpy(),
            "centroid_lon": pd.to_numeric(m["INTPTLON"], errors="coerce").to_numpy(),
            "centroid_lat": pd.to_numeric(m["INTPTLAT"], errors="coerce").to_numpy()}))
    out = pd.concat(frames, ignore_index=True).sort_values("geoid", kind="stable")
    if out[["centroid_lon", "centroid_lat"]].isna().any().any():
        raise DataError("some blocks have no internal point (INTPTLAT/INTPTLON): fetch again "
                        "with --force")
    name = f"{_slug(US_NAME, area)}_blocks2020_population.csv"
    out_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_dir / name, index=False, lineterminator="\n")
    res.files.append(name)
    res.summary = {"blocks": int(len(out)), "population": int(out["population_P1_001N"].sum())}
    res.warnings.append("centroid_lon/centroid_lat are the Census Bureau's block internal points "
                        "(INTPTLON/INTPTLAT), not geometric centroids")
    return res


US_SOURCES = (
    Source("pl", US_PL_BASE + "/{state_dir}/{st}2020.pl.zip", "{st}2020.pl.zip",
           "US Census Bureau, 2020 Census State Redistricting Data (Public Law 94-171) Summary "
           "File for {state}, legacy format: {st}geo2020.pl (geographic header with block "
           "internal points) and {st}000012020.pl (tables P1, P2)",
           "https://www.census.gov/programs-surveys/decennial-census/about/rdo/"
           "summary-files.html"),
)


# =========================================================================== the registry

SCOTLAND_NAME = "scotland-dz2011"

DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        name=EW_NAME,
        title="England & Wales Census 2021: usual residents (TS001) by Output Area and LSOA, "
              "workplace population (ODWP01EW) by MSOA, ONS boundaries",
        publisher="Office for National Statistics (ONS), via Nomis and the ONS Open Geography "
                  "Portal",
        licence="Open Government Licence v3.0",
        attribution=(
            "Source: Office for National Statistics licensed under the Open Government Licence "
            "v.3.0",
            "Contains OS data \u00a9 Crown copyright and database right 2022",
        ),
        vintage="Census 2021 (census day 21 March 2021); boundaries December 2021",
        description="The folder --data-dir reads (the layout of ../shared/data/london-census2021)"
                    ", clipped to an area. Census day fell in a lockdown: workplace counts "
                    "understate normal weekday workers, above all in central London.",
        sources=EW_SOURCES,
        builder=build_ew_census2021,
        area_help="'london' (default: the 33 boroughs E09000001-E09000033), 'england', 'wales', "
                  "'all', or local authority (LAD 2022) / region (E12...) codes separated by "
                  "commas, e.g. E09000001,E09000033",
        default_area="london",
        usage="geotarget analyse VENUE --radius 0.5mi --data-dir {path}",
        layout=EW_LAYOUT,
    ),
    Dataset(
        name=EUROSTAT_NAME,
        title="Eurostat Census 2021 population on the 1 km ETRS89-LAEA grid (EU/EFTA)",
        publisher="Eurostat (GISCO), from the national statistical institutes",
        licence="\u00a9 European Union; reuse authorised with acknowledgement of the source",
        attribution=("Source: Eurostat, Census 2021 population grid \u00a9 European Union",),
        vintage="Census 2021 (reference date 1 January 2021 in most countries)",
        description="Populated 1 km cells cut into 256 x 256-cell Parquet tiles "
                    "(tile_1000_<tileX>_<tileY>.parquet: x, y = cell within the tile, T = "
                    "population; a cell's lower-left corner is ((tileX*256+x)*1000, "
                    "(tileY*256+y)*1000) in EPSG:3035) with info_1000.json, as in "
                    "../shared/data/eurostat-grid2021.",
        sources=EUROSTAT_SOURCES,
        builder=build_eurostat_grid2021,
        area_help="'all' (default), tiles such as 14_11,17_12, or a WGS84 box "
                  "'min_lon,min_lat,max_lon,max_lat'",
        default_area="all",
        usage="geotarget analyse LAT,LON --radius 5km --data-dir {path}",
        layout=("tile_1000_<tileX>_<tileY>.parquet  x, y, T (, T_CI when the source has it), nb",
                "info_1000.json                     tile size 256, origin 0,0, resolution 1000 "
                "m, tiling bounds",
                "geotarget-build.json               what was built, from which file (sha256)"),
    ),
    Dataset(
        name=US_NAME,
        title="US Census 2020 block populations (PL 94-171 P1_001N) with block internal points",
        publisher="US Census Bureau",
        licence="Public domain (US Government work)",
        attribution=("Source: U.S. Census Bureau, 2020 Census Redistricting Data (Public Law "
                     "94-171) Summary File",),
        vintage="Census 2020 (census day 1 April 2020)",
        description="One row per census block of the chosen states or counties: geoid (15 "
                    "digits), population_P1_001N, centroid_lon, centroid_lat (the Bureau's "
                    "internal point), as in ../shared/data/memphis-census2020.",
        sources=US_SOURCES,
        builder=build_us_blocks2020,
        area_help="required: a state (TN or 47), a county (TN:157 or 47157 -- Shelby County, "
                  "Memphis), or several separated by commas",
        default_area=None,
        usage="geotarget analyse LAT,LON --radius 0.5mi --data-dir {path}",
        layout=("<area>_blocks2020_population.csv  geoid, population_P1_001N, centroid_lon, "
                "centroid_lat",
                "geotarget-build.json               what was built, from which files (sha256)"),
    ),
    Dataset(
        name=SCOTLAND_NAME,
        title="Scotland Census 2011 usual residents by Data Zone",
        publisher="National Records of Scotland (NRS)",
        licence="Open Government Licence v3.0",
        attribution=(),
        vintage="Census 2011 (census day 27 March 2011)",
        description="Ships inside the geotarget package: nothing to download.",
        usage="geotarget analyse VENUE --radius 0.5mi --layer scotland-dz2011",
        builtin=True,
    ),
)}


def get(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"no dataset {name!r}: choose one of {', '.join(sorted(DATASETS))} "
                         "('geotarget data list')") from None


def builtin_metadata(name: str) -> dict:
    from .layers import builtin

    return builtin.metadata(name)


# =========================================================================== fetch

@dataclass
class FetchReport:
    dataset: str
    path: Path | None
    area: str | None
    downloaded: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rebuilt: bool = False
    warnings: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    message: str = ""


_EW_TOKEN = re.compile(r"[EW]\d{8}")


def check_area(ds: Dataset, area: str | None) -> None:
    """Reject a malformed ``area`` before anything is downloaded (InputError)."""
    if ds.name == US_NAME:
        us_area(area)
    elif ds.name == EUROSTAT_NAME:
        _eurostat_tiles_wanted(area)
    elif ds.name == EW_NAME and area is not None:
        if area.strip().lower() in ("london", "england", "wales", "all"):
            return
        tokens = [t.upper() for t in re.split(r"[,\s;]+", area.strip()) if t]
        bad = [t for t in tokens if not _EW_TOKEN.fullmatch(t)]
        if bad or not tokens:
            raise InputError(f"--area {area!r}: {', '.join(bad) or 'nothing'} is not a local "
                             "authority (LAD 2022) or region (E12) code of England and Wales: "
                             "give 'london', 'england', 'wales', 'all' or codes such as "
                             "E09000001,E09000033")


def dataset_dir(name: str, cache_dir=None) -> Path:
    return download.cache_dir(cache_dir) / "datasets" / name


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace the folder ``final`` by ``tmp`` (two renames; the old one is removed after)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def fetch(name: str, *, area: str | None = None, cache_dir=None, mirror: str | None = None,
          force: bool = False, timeout: float = download.DEFAULT_TIMEOUT,
          say: Callable[[str], None] | None = None,
          progress: download.Progress | None = None) -> FetchReport:
    """Download ``name``'s sources (or reuse the verified cache) and build its layout.

    Returns where the built folder is (``report.path``).  ``say`` receives one-line progress
    messages (the command line prints them on stderr).
    """
    say = say or log.info
    ds = get(name)
    if ds.builtin:
        return FetchReport(name, None, None, message=(
            f"{name} is built into geotarget: nothing to download. Use it with --layer {name} "
            "(or no option: it is chosen for venues it covers)"))
    area = area if area is not None else ds.default_area
    check_area(ds, area)  # before any download
    sources = ds.sources_for(area)
    root = dataset_dir(name, cache_dir)
    raw = root / "raw"
    rep = FetchReport(name, None, area)
    shas: dict[str, str] = {}
    for s in sources:
        real = download.resolve_url(s.url, mirror)
        try:
            got = download.fetch_file(s.url, raw, s.filename, sha256=s.sha256, size=s.size,
                                      mirror=mirror, timeout=timeout, force=force,
                                      progress=progress)
        except DataError as e:
            if s.required:
                raise
            rep.skipped.append(s.filename)
            rep.warnings.append(f"optional {s.filename} not downloaded: {e}")
            say(f"skipped optional {s.filename}: {e}")
            continue
        shas[s.filename] = got.sha256
        if got.downloaded:
            rep.downloaded.append(s.filename)
            say(f"downloaded {s.filename} from {real} ({download.format_size(got.size)}, sha256 "
                f"{got.sha256[:12]}...)")
        else:
            rep.reused.append(s.filename)
            say(f"using cached {s.filename} (sha256 verified)")
    slug = ds.area_slug(area)
    final = root / "built" / slug
    stamp = {"dataset": name, "area": area, "build_version": BUILD_VERSION,
             "sources": {k: shas[k] for k in sorted(shas)}}
    bm = final / BUILD_MANIFEST
    if bm.exists() and not force:
        try:
            old = json.loads(bm.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            old = {}
        if all(old.get(k) == v for k, v in stamp.items()) and \
                all((final / f).exists() for f in old.get("files", [])):
            rep.path = final
            rep.warnings += old.get("warnings", [])
            rep.summary = old.get("summary", {})
            say(f"{name} ({area}) is already built from these files")
            return rep
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{slug}.", suffix=".building", dir=final.parent))
    try:
        say(f"building {name} ({area}) ...")
        result = ds.build(raw, tmp, area=area)
        meta = dict(stamp, title=ds.title, licence=ds.licence, attribution=list(ds.attribution),
                    source_urls={s.filename: download.resolve_url(s.url, mirror)
                                 for s in sources if s.filename in shas},
                    built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    files=result.files, warnings=result.warnings, summary=result.summary)
        (tmp / BUILD_MANIFEST).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rep.path = final
    rep.rebuilt = True
    rep.warnings += result.warnings
    rep.summary = result.summary
    return rep


def cache_status(name: str, cache_dir=None) -> dict:
    """Recorded downloads (manifest entries) and built areas of a dataset in the cache."""
    root = dataset_dir(name, cache_dir)
    files = {}
    mf = root / "raw" / download.MANIFEST
    if mf.exists():
        try:
            files = json.loads(mf.read_text(encoding="utf-8")).get("files", {})
        except (ValueError, OSError):
            files = {}
    built = sorted(p.name for p in (root / "built").glob("*") if (p / BUILD_MANIFEST).exists()) \
        if (root / "built").is_dir() else []
    return {"root": root, "files": files, "built": built}
