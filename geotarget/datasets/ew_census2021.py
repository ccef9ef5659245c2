"""England & Wales Census 2021, built into the folder layout ``--data-dir`` reads.

The dataset ``ew-census2021``: its official files (:data:`EW_SOURCES`), the layout it builds
(:data:`EW_LAYOUT`), what an ``area`` option stands for (:func:`ew_area_lads`) and the build
(:func:`build_ew_census2021`), which takes each part from its own module: the ONS lookups from
:mod:`.ew_geography`, the boundaries from :mod:`.ew_boundaries`, TS001 residents by Output Area
from :mod:`.ew_ts001`, and ODWP01EW workplace counts by MSOA with the Workplace Zone centroids
from :mod:`.ew_workplace`.

An ``area`` is ``london`` (the default: the 33 boroughs), ``england``, ``wales``, ``all``, or
local authority (LAD 2022) and region (``E12...``) codes separated by commas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import DataError, InputError
from .base import BuildResult, Source, _raw, _slug, _write_csv_gz
from .ew_boundaries import read_lsoa_polygons, write_boundaries
from .ew_geography import (
    LONDON_LADS,
    LONDON_REGION,
    ParentLookup,
    read_oa_lookup,
    read_parent_lookup,
)
from .ew_ts001 import build_ts001, read_ts001
from .ew_workplace import WORKER_FILES, build_wpz, write_workers

EW_NAME = "ew-census2021"
NOMIS_2021 = "https://www.nomisweb.co.uk/output/census/2021"
ONS_HUB_V3 = "https://hub.arcgis.com/api/v3/datasets"
ONS_HUB_V1 = "https://open-geography-portalx-ons.hub.arcgis.com/api/download/v1/items"
GEOPORTAL = "https://geoportal.statistics.gov.uk/datasets"
TS001_FILE = "residents/TS001_residence_type_2021.csv.gz"

EW_SOURCES = (
    Source(
        "ts001",
        f"{NOMIS_2021}/census2021-ts001.zip",
        "census2021-ts001.zip",
        "ONS Census 2021 TS001 'Number of usual residents in households and communal "
        "establishments', Nomis bulk download: one CSV per geography (OA, LSOA, MSOA, LTLA, "
        "UTLA, region, country)",
        "https://www.nomisweb.co.uk/sources/census_2021_bulk",
    ),
    Source(
        "odwp01ew",
        f"{NOMIS_2021}/odwp01ew.zip",
        "odwp01ew.zip",
        "ONS Census 2021 origin-destination ODWP01EW 'Location of usual residence and place "
        "of work', Nomis bulk download (ODWP01EW_MSOA.csv, ODWP01EW_LTLA.csv, ...)",
        "https://www.nomisweb.co.uk/sources/census_2021_od",
    ),
    Source(
        "lsoa",
        f"{ONS_HUB_V1}/b976e08d5c894df3901963469bd4f84f/geojson?layers=0",
        "LSOA_2021_EW_BGC.geojson",
        "ONS Open Geography Portal, Lower layer Super Output Areas (December 2021) Boundaries "
        "EW BGC (generalised 20 m, clipped), GeoJSON; MSOA and LAD polygons are dissolved "
        "from these (as in the shared layout)",
        f"{GEOPORTAL}/ons::lower-layer-super-output-areas-december-2021-boundaries-ew-bgc-v5-2"
        "/about",
    ),
    Source(
        "oa_lookup",
        f"{ONS_HUB_V3}/b9ca90c10aaa4b8d9791e9859a38ca67_0/downloads/data"
        "?format=csv&spatialRefId=4326",
        "OA21_LSOA21_MSOA21_LAD22_EW_LU.csv",
        "ONS Open Geography Portal, Output Area (2021) to LSOA to MSOA to LAD (December "
        "2021) Exact Fit Lookup in EW (LAD22CD/LAD22NM columns)",
        f"{GEOPORTAL}/b9ca90c10aaa4b8d9791e9859a38ca67",
    ),
    Source(
        "lad_rgn",
        f"{ONS_HUB_V3}/78b348cd8fb04037ada3c862aa054428_0/downloads/data"
        "?format=csv&spatialRefId=4326",
        "LAD22_RGN22_EN_LU.csv",
        "ONS Open Geography Portal, Local Authority District to Region (December 2022) "
        "Lookup in EN (parents of the TS001 local authority rows; region --area codes)",
        f"{GEOPORTAL}/78b348cd8fb04037ada3c862aa054428",
        required=False,
    ),
    Source(
        "ltla_utla",
        f"{ONS_HUB_V3}/b1c0deb950cf4a619d332d17270845bb_0/downloads/data"
        "?format=csv&spatialRefId=4326",
        "LTLA22_UTLA22_EW_LU.csv",
        "ONS Open Geography Portal, Local Authority District to County and Unitary Authority "
        "(December 2022) Lookup in EW (which TS001 county rows an area holds)",
        f"{GEOPORTAL}/b1c0deb950cf4a619d332d17270845bb",
        required=False,
    ),
    Source(
        "wpz",
        f"{ONS_HUB_V3}/176661b9403a4c84ae6aedf8bb4127cf_0/downloads/data"
        "?format=csv&spatialRefId=4326",
        "WZ11_EW_PWC.csv",
        "ONS Open Geography Portal, Workplace Zones (December 2011) Population Weighted "
        "Centroids, CSV (optional: workers are spread over them when present)",
        f"{GEOPORTAL}/176661b9403a4c84ae6aedf8bb4127cf",
        required=False,
    ),
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


def ew_area_lads(area: str | None, lads_all: Iterable[str], lad_region: ParentLookup) -> list[str]:
    """The local authorities an ``area`` option stands for.

    Parameters
    ----------
    area : str or None
        ``london`` (also for ``None``), ``england``, ``wales``, ``all``, or local authority
        (LAD 2022) and region (``E12...``) codes separated by commas, spaces or semicolons.
    lads_all : iterable of str
        Every local authority of the OA lookup.
    lad_region : ParentLookup
        The ONS LAD-to-region lookup (``{}`` when not downloaded: only London resolves).

    Returns
    -------
    list of str
        The LAD codes, sorted.

    Raises
    ------
    InputError
        When a code is neither a local authority of the lookup nor a resolvable region.
    DataError
        For ``london`` when the lookup lacks a borough (not the England & Wales lookup).
    """
    lads = sorted(set(lads_all))
    a = (area or "london").strip()
    key = a.lower()
    if key == "all":
        return lads
    if key == "london":
        missing = [c for c in LONDON_LADS if c not in set(lads)]
        if missing:
            raise DataError(
                f"the OA lookup lacks London boroughs {missing[:3]}...: is it the "
                "England and Wales lookup? Fetch again with --force"
            )
        return list(LONDON_LADS)
    if key in ("england", "wales"):
        return [c for c in lads if c[0] == key[0].upper()]
    tokens = [t.upper() for t in re.split(r"[,\s;]+", a) if t]
    out: list[str] = []
    unknown: list[str] = []
    known = set(lads)
    for t in tokens:
        if t in known:
            out.append(t)
        elif re.fullmatch(r"E12\d{6}", t):
            members = [c for c, (r, _) in lad_region.items() if r == t and c in known]
            if not members and t == LONDON_REGION[0]:
                members = list(LONDON_LADS)
            if not members:
                raise InputError(
                    f"--area {a!r}: region {t} cannot be resolved (no local "
                    "authorities found for it in the ONS LAD-to-region lookup): "
                    "give its local authority codes instead"
                )
            out.extend(members)
        else:
            unknown.append(t)
    if unknown or not tokens:
        raise InputError(
            f"--area {a!r}: {', '.join(unknown) or 'nothing'} is not a local "
            "authority (LAD 2022) or region (E12) code of England and Wales: give "
            "'london', 'england', 'wales', 'all' or codes such as "
            "E09000001,E09000033"
        )
    return sorted(set(out))


def build_ew_census2021(
    raw_dir: Path, out_dir: Path, area: str | None = None, **_ignored: Any
) -> BuildResult:
    """Build the England & Wales layout (see :data:`EW_LAYOUT`) for ``area`` into ``out_dir``.

    Parameters
    ----------
    raw_dir : Path
        The folder holding the downloads of :data:`EW_SOURCES` (the optional ones may be
        missing).
    out_dir : Path
        The folder to build into.
    area : str or None
        See :func:`ew_area_lads`; ``None`` is London.

    Returns
    -------
    BuildResult
        The files written, what is missing and why, and the area's counts (local
        authorities, LSOAs, MSOAs, LSOA residents, workplace population, Workplace Zones).

    Raises
    ------
    DataError
        When a required download is missing or is not the publisher's file.
    InputError
        When ``area`` names no local authority or region of England and Wales.
    """
    name = EW_NAME
    res = BuildResult()
    src = {s.key: s for s in EW_SOURCES}
    lk = read_oa_lookup(_raw(raw_dir, src["oa_lookup"].filename, "OA lookup", name))
    opt = {k: (raw_dir / src[k].filename) for k in ("lad_rgn", "ltla_utla", "wpz")}
    lad_region = read_parent_lookup(opt["lad_rgn"], r"LAD\d\dCD", r"RGN\d\d")
    ltla_utla = read_parent_lookup(opt["ltla_utla"], r"(LTLA|LAD)\d\dCD", r"(UTLA|CTYUA)\d\d")
    area_all = (area or "").strip().lower() == "all"
    lads = ew_area_lads(area, lk["LAD22CD"], lad_region)
    slug = _slug(name, area or "london")
    sel_lk = lk[lk["LAD22CD"].isin(set(lads))]
    lsoa_codes = sorted(set(sel_lk["LSOA21CD"]))
    msoa_codes = sorted(set(sel_lk["MSOA21CD"]))

    all_lsoa = read_lsoa_polygons(_raw(raw_dir, src["lsoa"].filename, "LSOA boundaries", name))
    res.files += write_boundaries(all_lsoa, sel_lk, lsoa_codes, out_dir, slug)

    frames = read_ts001(_raw(raw_dir, src["ts001"].filename, "TS001 bulk download", name))
    ts = build_ts001(frames, lk, lads, lad_region, ltla_utla, area_all, res.warnings)
    _write_csv_gz(ts, out_dir / TS001_FILE)
    res.files.append(TS001_FILE)
    lsoa_total = int(ts.loc[ts["Geography area type"] == "LSOA", "Total"].sum())

    od_zip = _raw(raw_dir, src["odwp01ew"].filename, "ODWP01EW bulk download", name)
    workers_total = write_workers(od_zip, out_dir, msoa_codes, lads, area_all)
    res.files += list(WORKER_FILES)

    if opt["wpz"].exists():
        wpz = build_wpz(opt["wpz"], all_lsoa, set(lsoa_codes), opt["wpz"].name)
        wname = f"workers/workplace_zones2011_{slug}_centroids.csv"
        wpz.to_csv(out_dir / wname, index=False, lineterminator="\n")
        res.files.append(wname)
        res.warnings.append(
            f"{wname}: x_lon, y_lat, perimeter, area and CTY are empty (the ONS "
            "centroid file does not carry them)"
        )
        n_wpz = len(wpz)
    else:
        n_wpz = 0
        res.warnings.append(
            "the Workplace Zone centroids were not downloaded: workers will be "
            "spread by areal weighting over MSOAs"
        )
    res.summary = {
        "local_authorities": len(lads),
        "lsoas": len(lsoa_codes),
        "msoas": len(msoa_codes),
        "residents_lsoa_total": lsoa_total,
        "workers_destination_total": workers_total,
        "workplace_zones": n_wpz,
    }
    return res


_EW_TOKEN = re.compile(r"[EW]\d{8}")


def check_ew_area(area: str | None) -> None:
    """Reject a malformed England & Wales ``area`` before anything is downloaded.

    Parameters
    ----------
    area : str or None
        The ``area`` option (see :func:`ew_area_lads`); only its form is checked here.

    Raises
    ------
    InputError
        When a token is not a keyword nor an England or Wales code (``E``/``W`` + 8 digits).
    """
    if area is None or area.strip().lower() in ("london", "england", "wales", "all"):
        return
    tokens = [t.upper() for t in re.split(r"[,\s;]+", area.strip()) if t]
    bad = [t for t in tokens if not _EW_TOKEN.fullmatch(t)]
    if bad or not tokens:
        raise InputError(
            f"--area {area!r}: {', '.join(bad) or 'nothing'} is not a local "
            "authority (LAD 2022) or region (E12) code of England and Wales: "
            "give 'london', 'england', 'wales', 'all' or codes such as "
            "E09000001,E09000033"
        )
