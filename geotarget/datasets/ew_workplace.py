"""Census 2021 ODWP01EW place-of-work flows and the 2011 Workplace Zone centroids of the
England & Wales build (``workers/``).

The flow tables of the Nomis bulk download give, per MSOA and per local authority, where its
residents work and who works in it (:func:`flow_counts`); the optional ONS Workplace Zone
population-weighted centroids say where within an MSOA its workers are (:func:`build_wpz`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError
from .base import _col, _header, _member, _open_zip, _read_csv_upper, _write_csv_gz

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


#: the files :func:`write_workers` writes, relative to the built folder
WORKER_FILES = (
    "workers/odwp01ew_msoa_counts.csv",
    "workers/odwp01ew_lad_counts.csv",
    "workers/ODWP01EW_LTLA.csv.gz",
)


def write_workers(
    od_zip: Path, out_dir: Path, msoa_codes: list[str], lads: list[str], area_all: bool
) -> int:
    """Write the ODWP01EW counts of the area's MSOAs and local authorities, and its raw flows.

    Parameters
    ----------
    od_zip : Path
        ``odwp01ew.zip`` as Nomis publishes it (``ODWP01EW_MSOA.csv``, ``ODWP01EW_LTLA.csv``).
    out_dir : Path
        The built folder: :data:`WORKER_FILES` are written in it.
    msoa_codes, lads : list of str
        The area's MSOAs and local authorities.
    area_all : bool
        Whether the area is all of England & Wales (the raw LTLA flows are then kept whole,
        otherwise only those touching the area).

    Returns
    -------
    int
        The area's workplace population: the MSOAs' ``destination`` total.

    Raises
    ------
    DataError
        When the zip, a flow table or one of its columns is missing, or an area has no flows.
    """
    import pandas as pd

    wdir = out_dir / "workers"
    wdir.mkdir(parents=True, exist_ok=True)
    with _open_zip(od_zip, "ODWP01EW bulk download") as zf:
        m_msoa = _member(
            zf, r"(^|/)ODWP01EW_MSOA\.csv$", "MSOA flow table (ODWP01EW_MSOA.csv)", od_zip
        )
        m_ltla = _member(
            zf, r"(^|/)ODWP01EW_LTLA\.csv$", "LTLA flow table (ODWP01EW_LTLA.csv)", od_zip
        )
        flows = read_flows(zf, m_msoa, f"{od_zip.name}:{m_msoa}")
        msoa_counts = flow_counts(flows, msoa_codes, f"{od_zip.name}:{m_msoa}")
        del flows
        lflows = read_flows(zf, m_ltla, f"{od_zip.name}:{m_ltla}")
        lad_counts = flow_counts(lflows, lads, f"{od_zip.name}:{m_ltla}")
        with zf.open(m_ltla) as f:
            raw_ltla = pd.read_csv(f, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    msoa_counts.to_csv(out_dir / WORKER_FILES[0], index=False, lineterminator="\n")
    lad_counts.to_csv(out_dir / WORKER_FILES[1], index=False, lineterminator="\n")
    if not area_all:
        touch = lflows["o"].isin(set(lads)) | lflows["d"].isin(set(lads))
        raw_ltla = raw_ltla[touch.to_numpy()]
    _write_csv_gz(raw_ltla, out_dir / WORKER_FILES[2])
    return int(msoa_counts["destination"].sum())


def read_flows(zf: zipfile.ZipFile, member: str, where: str) -> pd.DataFrame:
    """Read one ODWP01EW flow table of the bulk download.

    Parameters
    ----------
    zf : zipfile.ZipFile
        The open bulk download.
    member : str
        The table's name in the zip (e.g. ``ODWP01EW_MSOA.csv``).
    where : str
        How error messages name the table.

    Returns
    -------
    pandas.DataFrame
        ``o`` (residence code), ``d`` (workplace code), ``cat`` (place-of-work indicator:
        -8 not employed, 1 at or from home, 2 offshore or abroad, 3 in a workplace) and ``n``
        (people), one row per flow.

    Raises
    ------
    DataError
        When a column is missing or a row has an unexpected indicator or count.
    """
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


def flow_counts(flows: pd.DataFrame, codes: list[str], where: str) -> pd.DataFrame:
    """Per-area counts from an ODWP01EW flow table (columns o, d, cat, n, see :func:`read_flows`).

    origin = employed residents (indicator != -8); nomove = mainly working at or from home
    (indicator 1); destination = people whose workplace is the area, home-workers included
    (indicators 1 and 3 by workplace); within = working in their own area, not at home;
    toout = working offshore or outside the UK (indicator 2); fromout = people living outside
    England & Wales (none: the table holds only England & Wales residents); to1..3 / from1..3 =
    the three largest flows to / from other England & Wales areas (ties by code).

    Parameters
    ----------
    flows : pandas.DataFrame
        The flow table.
    codes : list of str
        The areas to count, each required to have flows.
    where : str
        How error messages name the table.

    Returns
    -------
    pandas.DataFrame
        One row per area of ``codes``, in that order, with the columns :data:`FLOW_COLUMNS`.
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


def _wpz_points(path: Path, where: str) -> pd.DataFrame:
    """WPZ code, lon, lat (+ MSOA/LAD 2011 codes if the file has them) from the ONS PWC CSV."""
    import numpy as np
    import pandas as pd

    from ..projections import transformer

    df = _read_csv_upper(path, where)
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


def build_wpz(
    path: Path, all_lsoa: gpd.GeoDataFrame, sel_lsoa: Collection[str], where: str
) -> pd.DataFrame:
    """The 2011 Workplace Zone centroids in the area's LSOAs.

    A centroid a little outside every (generalised) LSOA counts in its nearest LSOA within
    500 m.

    Parameters
    ----------
    path : Path
        The ONS Workplace Zones (December 2011) population-weighted centroids CSV (WGS84 or
        British National Grid coordinates).
    all_lsoa : geopandas.GeoDataFrame
        Every LSOA polygon, EPSG:27700 (``LSOA21CD``, ``geometry``).
    sel_lsoa : collection of str
        The area's LSOAs.
    where : str
        How error messages name the file.

    Returns
    -------
    pandas.DataFrame
        The area's centroids sorted by code, with the columns :data:`WPZ_COLUMNS` (those the
        ONS file does not carry are empty).
    """
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
