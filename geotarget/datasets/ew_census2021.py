"""England & Wales Census 2021: TS001 residents by Output Area, ODWP01EW workplace counts by MSOA and the ONS boundaries, built into the folder layout ``--data-dir`` reads."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError, InputError
from .base import (
    BuildResult,
    Source,
    _col,
    _header,
    _member,
    _open_zip,
    _pct_text,
    _raw,
    _slug,
    _write_csv_gz,
)

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


def _upper_cols(df):
    df.columns = [str(c).strip().lstrip("\ufeff").upper() for c in df.columns]
    return df


def _read_oa_lookup(path: Path):
    import pandas as pd

    try:
        lk = _upper_cols(pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(
            f"cannot read the OA lookup {str(path)!r} ({e}): fetch again with --force"
        ) from e
    lad_cd = next((c for c in lk.columns if re.fullmatch(r"LAD\d\dCD", c)), None)
    lad_nm = next((c for c in lk.columns if re.fullmatch(r"LAD\d\dNM", c)), None)
    if lad_cd and lad_nm:
        lk = lk.rename(columns={lad_cd: "LAD22CD", lad_nm: "LAD22NM"})
    need = ["OA21CD", "LSOA21CD", "LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM"]
    missing = [c for c in need if c not in lk.columns]
    if missing:
        raise DataError(
            f"{path.name} lacks the columns {missing} (it has "
            f"{list(lk.columns)[:12]}): expected the ONS 'Output Area (2021) to LSOA "
            "to MSOA to LAD' lookup; fetch again with --force"
        )
    lk = lk[need]
    if lk["OA21CD"].duplicated().any():
        raise DataError(
            f"{path.name}: Output Areas listed twice (e.g. "
            f"{lk.loc[lk['OA21CD'].duplicated(), 'OA21CD'].iloc[0]}): expected an "
            "exact-fit lookup with one row per Output Area"
        )
    return lk


def _read_pairs(path: Path | None, child_re: str, parent_re: str):
    """A two-level ONS lookup as {child code: (parent code, parent name)}; {} if absent."""
    import pandas as pd

    if path is None or not path.exists():
        return {}
    try:
        df = _upper_cols(pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(
            f"cannot read the lookup {str(path)!r} ({e}): fetch again with --force"
        ) from e
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
            raise DataError(
                f"the OA lookup lacks London boroughs {missing[:3]}...: is it the "
                "England and Wales lookup? Fetch again with --force"
            )
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


def _ts001_frames(zip_path: Path) -> dict:
    """Nomis TS001 bulk CSVs by level: code, label, household, communal, total."""
    import pandas as pd

    frames = {}
    with _open_zip(zip_path, "TS001 bulk download") as zf:
        for level in ("oa", "lsoa", "msoa", "ltla", "utla", "rgn", "ctry"):
            member = _member(
                zf,
                rf"(^|/)census2021-ts001-{level}\.csv$",
                f"TS001 {level.upper()} table",
                zip_path,
                required=level in ("oa", "lsoa", "msoa", "ltla"),
            )
            if member is None:
                continue
            with zf.open(member) as f:
                df = pd.read_csv(f, dtype=str, encoding="utf-8-sig", keep_default_na=False)
            where = f"{zip_path.name}:{member}"
            code = _col(df.columns, lambda c: c == "geography code", "'geography code'", where)
            label = _col(df.columns, lambda c: c == "geography", "'geography'", where)
            total = _col(df.columns, lambda c: "total" in c, "'...: Total; ...'", where)
            hh = _col(
                df.columns,
                lambda c: "lives in a household" in c,
                "'...: Lives in a household; ...'",
                where,
            )
            ce = _col(
                df.columns,
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
            frames[level] = out
    return frames


def _build_ts001(
    frames: dict,
    lk,
    lads: list[str],
    lad_region: dict,
    ltla_utla: dict,
    area_all: bool,
    warnings: list[str],
):
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
            raise DataError(
                f"TS001 has no {what} row for {len(missing)} {what}s of the area "
                f"(e.g. {missing[:3]}): are the TS001 download and the OA lookup both "
                "Census 2021? Fetch again with --force"
            )
        d = df[df["code"].isin(set(codes))].copy()
        d["kind"] = kind
        d["pcode"] = d["code"].map(parent_code).fillna("")
        d["pname"] = d["code"].map(parent_name).fillna("")
        parts.append(d)

    oa = sel_lk.set_index("OA21CD")
    take(
        "oa",
        oa.index,
        oa["LSOA21CD"].to_dict(),
        oa["LSOA21NM"].to_dict(),
        "Output Area",
        "Output Area",
    )
    ls = sel_lk.drop_duplicates("LSOA21CD").set_index("LSOA21CD")
    take("lsoa", ls.index, ls["MSOA21CD"].to_dict(), ls["MSOA21NM"].to_dict(), "LSOA", "LSOA")
    ms = sel_lk.drop_duplicates("MSOA21CD").set_index("MSOA21CD")
    take("msoa", ms.index, ms["LAD22CD"].to_dict(), ms["LAD22NM"].to_dict(), "MSOA", "MSOA")
    if area_all:
        extra = set(frames["oa"]["code"]) - set(lk["OA21CD"])
        if extra:
            warnings.append(
                f"{len(extra)} TS001 Output Areas are not in the OA lookup (e.g. "
                f"{sorted(extra)[:3]}); they were left out"
            )

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
        warnings.append(
            "the LAD-to-region lookup was not downloaded: TS001 local authority rows "
            "outside London have no parent region"
        )
    take(
        "ltla",
        lads,
        lad_parent,
        {c: name_of(r, region_names.get(r, "")) for c, r in lad_parent.items()},
        "Local Authority",
        "local authority",
    )

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
            warnings.append(
                "the LTLA-to-UTLA lookup was not downloaded: TS001 county rows have "
                "no parent region"
            )
        if keep:
            take(
                "utla",
                keep,
                keep,
                {c: name_of(r, region_names.get(r, "")) for c, r in keep.items()},
                "Local Authority",
                "county",
            )

    # regions and countries: only when the area holds all of them
    higher = pd.concat(
        [frames[k] for k in ("rgn", "ctry") if k in frames], ignore_index=True
    ).drop_duplicates("code")
    eng = {c for c in lk["LAD22CD"] if c.startswith("E")}
    wal = {c for c in lk["LAD22CD"] if c.startswith("W")}
    want_hi: dict[str, tuple[str, str, str]] = {}
    for code in higher["code"]:
        if code.startswith("E12"):
            members_r = {c for c in eng if region_of(c) == code}
            if members_r and members_r <= sel:
                want_hi[code] = ("Region", ENGLAND, name_of(ENGLAND, "England"))
        elif code == ENGLAND and eng and eng <= sel or code == WALES and wal and wal <= sel:
            want_hi[code] = ("Region", EW[0], name_of(EW[0], EW[1]))
        elif code == EW[0] and area_all:
            want_hi[code] = ("National", "NA", "NA")
    if want_hi:
        d = higher[higher["code"].isin(set(want_hi))].copy()
        d["kind"] = d["code"].map(lambda c: want_hi[c][0])
        d["pcode"] = d["code"].map(lambda c: want_hi[c][1])
        d["pname"] = d["code"].map(lambda c: want_hi[c][2])
        parts.append(d)

    t = (
        pd.concat(parts, ignore_index=True)
        .drop_duplicates("code")
        .sort_values("code", kind="stable")
    )
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


def _read_flows(zf: zipfile.ZipFile, member: str, where: str):
    """An ODWP01EW flow table as (o, d, cat, n)."""
    import pandas as pd

    with zf.open(member) as f:
        cols = _header(f)
    ind = _col(
        cols,
        lambda c: "place of work indicator" in c and c.endswith("code"),
        "'Place of work indicator (4 categories) code'",
        where,
    )
    work = _col(
        cols, lambda c: "of workplace" in c and c.endswith("code"), "'... of workplace code'", where
    )
    res = _col(
        [c for c in cols if c not in (ind, work)],
        lambda c: c.endswith(" code"),
        "residence area code",
        where,
    )
    cnt = _col(cols, lambda c: c == "count", "'Count'", where)
    with zf.open(member) as f:
        df = pd.read_csv(
            f, usecols=[res, work, ind, cnt], dtype=str, encoding="utf-8-sig", keep_default_na=False
        )
    out = pd.DataFrame({"o": df[res].str.strip(), "d": df[work].str.strip()})
    out["cat"] = pd.to_numeric(df[ind], errors="coerce")
    out["n"] = pd.to_numeric(df[cnt], errors="coerce")
    bad = out["cat"].isna() | out["n"].isna() | ~out["cat"].isin([-8, 1, 2, 3])
    if bad.any():
        i = bad.idxmax()
        raise DataError(
            f"{where}: unexpected row (place-of-work indicator {df[ind][i]!r}, count "
            f"{df[cnt][i]!r}): expected indicators -8, 1, 2, 3; fetch again with "
            "--force"
        )
    out["cat"] = out["cat"].astype("int64")
    out["n"] = out["n"].astype("int64")
    return out


FLOW_COLUMNS = [
    "areacd",
    "origin",
    "destination",
    "nomove",
    "within",
    "fromout",
    "toout",
    "to1cd",
    "to1",
    "to2cd",
    "to2",
    "to3cd",
    "to3",
    "from1cd",
    "from1",
    "from2cd",
    "from2",
    "from3cd",
    "from3",
]


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
        raise DataError(
            f"{where} has no flows for {len(missing)} areas (e.g. {missing[:3]}): "
            "are the flow table and the boundaries both Census 2021?"
        )
    emp = flows[flows["cat"] != -8]
    origin = emp.groupby("o")["n"].sum()
    nomove = flows[flows["cat"] == 1].groupby("o")["n"].sum()
    within = flows[(flows["cat"] == 3) & (flows["o"] == flows["d"])].groupby("o")["n"].sum()
    toout = flows[flows["cat"] == 2].groupby("o")["n"].sum()
    dest = flows[flows["cat"].isin([1, 3]) & flows["d"].isin(areas)].groupby("d")["n"].sum()
    fromout = flows[~flows["o"].isin(areas)].groupby("d")["n"].sum()  # empty by construction
    out = pd.DataFrame({"areacd": codes})
    idx = out["areacd"]
    for name, s in (
        ("origin", origin),
        ("destination", dest),
        ("nomove", nomove),
        ("within", within),
        ("fromout", fromout),
        ("toout", toout),
    ):
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
        raise DataError(
            f"cannot read the LSOA boundaries {str(path)!r} ({e}): fetch again with --force"
        ) from e
    geom = gdf.geometry.name
    gdf = gdf.rename(columns={c: str(c).upper() for c in gdf.columns if c != geom})
    if "LSOA21CD" not in gdf.columns:
        raise DataError(
            f"{path.name} has no LSOA21CD field (it has {list(gdf.columns)[:10]}): "
            "expected the ONS LSOA (December 2021) boundaries; fetch again with "
            "--force"
        )
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

    from ..projections import transformer

    try:
        df = _upper_cols(pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {where} ({e}): fetch again with --force") from e
    code = next((c for c in ("WZ11CD", "WPZ11CD", "WZCD", "WPZ") if c in df.columns), None)
    if code is None:
        raise DataError(
            f"{where} has no WZ11CD column (it has {list(df.columns)[:10]}): "
            "expected the ONS Workplace Zones (December 2011) population-weighted "
            "centroids"
        )
    pairs = [
        ("LONG", "LAT"),
        ("LON", "LAT"),
        ("LONGITUDE", "LATITUDE"),
        ("X", "Y"),
        ("X_COORD", "Y_COORD"),
        ("BNG_E", "BNG_N"),
        ("EASTING", "NORTHING"),
    ]
    xy = next(((a, b) for a, b in pairs if a in df.columns and b in df.columns), None)
    if xy is None:
        raise DataError(
            f"{where} has no coordinate columns (looked for {pairs}): expected the "
            "ONS Workplace Zones population-weighted centroids CSV"
        )
    x = pd.to_numeric(df[xy[0]], errors="coerce").to_numpy(float)
    y = pd.to_numeric(df[xy[1]], errors="coerce").to_numpy(float)
    if np.isnan(x).any() or np.isnan(y).any():
        raise DataError(
            f"{where}: {int(np.isnan(x).sum() + np.isnan(y).sum())} centroids without "
            "coordinates: fetch again with --force"
        )
    if np.nanmax(np.abs(x)) > 180 or np.nanmax(np.abs(y)) > 90:  # British National Grid metres
        x, y = transformer("EPSG:27700", "EPSG:4326").transform(x, y)
    out = pd.DataFrame({"WPZ": df[code].to_numpy(), "lon": x, "lat": y})
    for col, names in (
        ("MSOA", ("MSOA11CD",)),
        ("LAD", ("LAD11CD", "LAD13CD")),
        ("RGN", ("RGN11CD",)),
        ("CTRY", ("CTRY11CD",)),
    ):
        c = next((n for n in names if n in df.columns), None)
        out[col] = df[c].to_numpy() if c else ""
    return out


WPZ_COLUMNS = [
    "WPZ",
    "MSOA",
    "LAD",
    "CTY",
    "RGN",
    "CTRY",
    "wx_lon",
    "wy_lat",
    "x_lon",
    "y_lat",
    "perimeter",
    "area",
]


def _build_wpz(path: Path, all_lsoa, sel_lsoa: set, where: str):
    """Centroids that fall in the area's LSOAs (or, a little outside every LSOA, whose nearest
    LSOA within 500 m is in the area)."""
    import numpy as np
    import pandas as pd
    import shapely

    from ..projections import transformer

    pts = _wpz_points(path, where)
    ex, ny = transformer("EPSG:4326", "EPSG:27700").transform(
        pts["lon"].to_numpy(), pts["lat"].to_numpy()
    )
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
    out = pd.DataFrame(
        {
            "WPZ": p["WPZ"].to_numpy(),
            "MSOA": p["MSOA"].to_numpy(),
            "LAD": p["LAD"].to_numpy(),
            "CTY": "",
            "RGN": p["RGN"].to_numpy(),
            "CTRY": p["CTRY"].to_numpy(),
            "wx_lon": p["lon"].to_numpy(),
            "wy_lat": p["lat"].to_numpy(),
            "x_lon": "",
            "y_lat": "",
            "perimeter": "",
            "area": "",
        }
    )
    return out[WPZ_COLUMNS].sort_values("WPZ", kind="stable")


def build_ew_census2021(
    raw_dir: Path, out_dir: Path, area: str | None = None, **_ignored
) -> BuildResult:
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
        raise DataError(
            f"the LSOA boundaries lack {len(missing)} LSOAs of the area (e.g. "
            f"{missing[:3]}): are the boundaries the December 2021 edition? Fetch "
            "again with --force"
        )
    names = sel_lk.drop_duplicates("LSOA21CD").set_index("LSOA21CD")
    lsoa = lsoa.assign(
        **{
            c: lsoa["LSOA21CD"].map(names[c]).to_numpy()
            for c in ("LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM")
        }
    )
    lsoa = (
        lsoa[["LSOA21CD", "LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM", "geometry"]]
        .sort_values("LSOA21CD", kind="stable")
        .reset_index(drop=True)
    )
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
        m_msoa = _member(
            zf, r"(^|/)ODWP01EW_MSOA\.csv$", "MSOA flow table (ODWP01EW_MSOA.csv)", od_zip
        )
        m_ltla = _member(
            zf, r"(^|/)ODWP01EW_LTLA\.csv$", "LTLA flow table (ODWP01EW_LTLA.csv)", od_zip
        )
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
    res.files += [
        "workers/odwp01ew_msoa_counts.csv",
        "workers/odwp01ew_lad_counts.csv",
        "workers/ODWP01EW_LTLA.csv.gz",
    ]

    # -- Workplace Zone centroids (optional)
    if opt["wpz"].exists():
        wpz = _build_wpz(opt["wpz"], all_lsoa, set(lsoa_codes), opt["wpz"].name)
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
        "workers_destination_total": int(msoa_counts["destination"].sum()),
        "workplace_zones": n_wpz,
    }
    return res


_EW_TOKEN = re.compile(r"[EW]\d{8}")


def check_ew_area(area: str | None) -> None:
    """Reject a malformed England & Wales ``area`` (InputError)."""
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
