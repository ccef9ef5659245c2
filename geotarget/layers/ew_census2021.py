"""England & Wales Census 2021 in the shared London layout (``--data-dir``).

Files read, relative to the folder (the layout of ``../shared/data/london-census2021``, which
``geotarget data fetch ew-census2021`` also builds)::

    boundaries/*lsoa*.shp                LSOA 2021 polygons (LSOA21CD), any CRS
    boundaries/*msoa*.shp                MSOA 2021 polygons (MSOA21CD)
    residents/TS001*.csv*                TS001 usual residents, all geographies (OA and LSOA rows)
    workers/odwp01ew_msoa_counts.csv     ODWP01EW per MSOA: destination, nomove, ...
    workers/workplace_zones2011*.csv     2011 Workplace Zone population-weighted centroids (optional)

Residents (default ``dasymetric``): Output Area totals (TS001) spread equally over the OA's
residential postcodes (small-user postcode units with an Output Area 2011 code equal to the
2021 code, shipped with geotarget).  Output Areas whose code changed in 2021, or that have no
such postcode, are pooled per LSOA and spread over that LSOA's postcodes that no 2021 OA claims
(or all its postcodes, or -- where it has none -- evenly over its polygon).  With
``counts="lsoa"`` only LSOA totals are used (the hold-out set-up of the accuracy benchmark).
``areal`` keeps LSOA areal weighting.

Workers (default ``dasymetric``): ODWP01 ``destination - nomove`` per MSOA -- the people who
travel in to work there -- spread equally over the MSOA's 2011 Workplace Zone population-weighted
centroids (zones were designed to hold similar numbers of workers).  Home-workers (``nomove``)
are already counted where they live; they are reported apart as ``home_workers``.  ``areal``
keeps MSOA areal weighting.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..errors import DataError, InputError
from ..projections import transformer
from . import cache
from .base import CountSurface, PopulationLayer

EQUAL_AREA_CRS = "EPSG:3035"
#: closing distance (m) that joins the banks of the tidal Thames and the docks, which the
#: clipped ONS boundaries leave out (the Thames is up to ~700 m wide at London's eastern edge)
CLOSING_M = 600.0

#: range calibration (benchmarks/calibrate_range.py, 2,000 random half-mile London catchments):
#: areal LSOA residents k=4, areal MSOA workers k=6 (against Workplace Zone shares)
LSOA_CLUSTERS = 4.0
MSOA_CLUSTERS = 6.0
#: dasymetric residents, range: a zone counted over several 2011 Output Areas behaves like
#: (OAs * CLUSTERS_PER_OA) independent clusters (benchmarks/accuracy_london.py, hold-out on OA
#: counts); within one OA each postcode is taken as one cluster (not testable: no finer counts)
CLUSTERS_PER_OA = 8.0
POSTCODES_PER_CLUSTER = 1.0
#: dasymetric workers: each Workplace Zone one cluster (an assumption: no finer workplace counts)
WPZ_PER_CLUSTER = 1.0
#: points spread over a zone's polygon where it has no residential postcode or workplace zone
LATTICE_POINTS = 64

LOCKDOWN_CAVEAT = (
    "Census 2021 workplace counts: census day (21 March 2021) fell in a national lockdown with "
    "many people furloughed or working from home, so workplace populations are understated, "
    "above all in central London (ONS caveat for Census 2021 place-of-work data)."
)
DASYMETRIC_CAVEAT = (
    "Dasymetric residents: census counts are spread equally over residential postcodes; "
    "postcodes are not people, and the number of households per postcode varies."
)
ATTRIBUTION = [
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0",
    "Contains OS data \u00a9 Crown copyright and database right 2022",
    "Contains Royal Mail data \u00a9 Royal Mail copyright and database right 2025 "
    "(Code-Point Open postcode positions)",
]
COUNTS = ("oa", "lsoa")


def _one(folder: Path, pattern: str, what: str, required: bool = True) -> Path | None:
    found = sorted(folder.glob(pattern))
    if not found:
        if not required:
            return None
        raise DataError(
            f"no {what} ({pattern}) in {str(folder)!r}: --data-dir must hold the "
            "England & Wales layout described in the README (boundaries/, "
            "residents/, workers/)"
        )
    return found[0]


def read_boundaries(path: Path, code: str):
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as e:
        raise DataError(f"cannot read boundaries {str(path)!r}: {e}") from e
    if code not in gdf.columns:
        raise DataError(f"{str(path)!r} has no {code} column: expected ONS boundaries with {code}")
    if gdf.crs is None:
        raise DataError(
            f"{str(path)!r} has no CRS (.prj missing): ONS boundaries are in EPSG:27700"
        )
    gdf = gdf.to_crs(EQUAL_AREA_CRS)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf


def coverage_of(geoms: np.ndarray, closing_m: float = CLOSING_M):
    """Union of the zones with river and dock gaps closed (buffer out then in) and holes filled."""
    union = shapely.union_all(geoms, grid_size=0.01)
    closed = shapely.buffer(shapely.buffer(union, closing_m, quad_segs=8), -closing_m, quad_segs=8)
    cov = shapely.union(closed, union)
    polys = [shapely.Polygon(p.exterior) for p in shapely.get_parts(cov)]
    return shapely.union_all(polys)


def lattice(poly, n: int = LATTICE_POINTS) -> np.ndarray:
    """About ``n`` points on a regular grid inside ``poly`` (at least its representative point)."""
    xmin, ymin, xmax, ymax = poly.bounds
    step = max(np.sqrt(poly.area / n), 1e-6)
    xs = np.arange(xmin + step / 2, xmax, step)
    ys = np.arange(ymin + step / 2, ymax, step)
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    pts = pts[shapely.contains(poly, pts)]
    return pts if len(pts) else np.array([poly.representative_point()])


def residential_postcodes(bounds_3035) -> pd.DataFrame:
    """Residential E&W postcodes (OA 2011 code, x, y in EPSG:3035) inside ``bounds_3035``."""
    import pyarrow.parquet as pq

    f = resources.files("geotarget.data").joinpath("postcodes_ew_residential.parquet")
    with resources.as_file(f) as p:
        t = pq.read_table(p).to_pandas()
    x, y = transformer("EPSG:27700", EQUAL_AREA_CRS).transform(
        t["easting"].to_numpy(float), t["northing"].to_numpy(float)
    )
    xmin, ymin, xmax, ymax = bounds_3035
    keep = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
    return pd.DataFrame(
        {"oa11cd": t["oa11cd"].to_numpy()[keep].astype(str), "x": x[keep], "y": y[keep]}
    )


class _Groups:
    """Accumulates dasymetric points: each group shares one census count over its points."""

    def __init__(self) -> None:
        self.x: list[np.ndarray] = []
        self.y: list[np.ndarray] = []
        self.w: list[np.ndarray] = []
        self.extra: dict[str, list[np.ndarray]] = {}
        self.g: list[np.ndarray] = []
        self.k: list[float] = []
        self.ids: list[str] = []

    def add_many(
        self,
        gid: np.ndarray,
        x,
        y,
        totals: np.ndarray,
        share: np.ndarray,
        k_per_group: np.ndarray,
        names: np.ndarray,
        extra: dict | None = None,
    ) -> None:
        """Points with local group index ``gid`` (0..G-1); group j holds ``totals[j]``, of which
        each point takes ``share`` (the shares of a group sum to 1)."""
        base = len(self.k)
        self.x.append(np.asarray(x, float))
        self.y.append(np.asarray(y, float))
        self.w.append(totals[gid] * share)
        for key, vals in (extra or {}).items():
            self.extra.setdefault(key, []).append(vals[gid] * share)
        self.g.append(gid + base)
        self.k.extend(np.asarray(k_per_group, float).tolist())
        self.ids.extend(np.asarray(names).tolist())

    def add_polygon(self, poly, total: float, name: str, k: float, extra: dict | None = None):
        pts = lattice(poly)
        xy = shapely.get_coordinates(pts)
        self.add_many(
            np.zeros(len(pts), dtype=int),
            xy[:, 0],
            xy[:, 1],
            np.array([total]),
            np.full(len(pts), 1.0 / len(pts)),
            np.array([k]),
            np.array([name]),
            {k2: np.array([v]) for k2, v in (extra or {}).items()},
        )

    def surface(self, **kwargs) -> CountSurface:
        x, y = np.concatenate(self.x), np.concatenate(self.y)
        group = np.concatenate(self.g)
        return CountSurface(
            kind="points",
            ids=np.asarray(self.ids, dtype=object)[group],
            geoms=shapely.points(x, y),
            values=np.concatenate(self.w),
            group=group,
            group_k=np.asarray(self.k),
            method="dasymetric",
            extra={k: np.concatenate(v) for k, v in self.extra.items()},
            **kwargs,
        )


def _equal_shares(gid: np.ndarray) -> np.ndarray:
    return 1.0 / np.bincount(gid)[gid]


def _oa_then_postcode_shares(gid: np.ndarray, oa11: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within each group, equal shares per Output Area 2011 (OAs were designed to hold similar
    numbers of people), then equal shares per postcode within the OA.  Returns the shares and
    the number of OAs in each group."""
    oa_key = pd.factorize(pd.Series(gid).astype(str) + "|" + pd.Series(oa11))[0]
    pcs_in_oa = np.bincount(oa_key)[oa_key]
    first = np.unique(oa_key, return_index=True)[1]
    n_oa = np.bincount(gid[first], minlength=gid.max() + 1)
    return 1.0 / n_oa[gid] / pcs_in_oa, n_oa


def _residents_dasymetric(lsoa, ts: pd.DataFrame, counts: str) -> CountSurface:
    codes = lsoa["LSOA21CD"].to_numpy()
    polys = lsoa.geometry.values
    lsoa_total = ts[ts["Geography area type"] == "LSOA"].set_index("Geography code")["Total"]
    pcs = residential_postcodes(shapely.total_bounds(polys))
    pts = shapely.points(pcs["x"].to_numpy(), pcs["y"].to_numpy())
    pi, li = shapely.STRtree(polys).query(pts, predicate="within")
    first = pd.Series(li, index=pi).groupby(level=0).first()  # a point on an edge: one LSOA
    pcs = pcs.iloc[first.index.to_numpy()].assign(lsoa=first.to_numpy())
    groups = _Groups()
    if counts == "oa":
        oa = ts[
            (ts["Geography area type"] == "Output Area") & ts["Parent area code"].isin(set(codes))
        ]
        oa_total = oa.set_index("Geography code")["Total"]
        matched = pcs[pcs["oa11cd"].isin(oa_total.index)]
        oa_codes, gid = np.unique(matched["oa11cd"].to_numpy(), return_inverse=True)
        npts = np.bincount(gid)
        groups.add_many(
            gid,
            matched["x"],
            matched["y"],
            oa_total.loc[oa_codes].to_numpy(float),
            _equal_shares(gid),
            npts / POSTCODES_PER_CLUSTER,
            oa_codes,
        )
        rest = oa[~oa["Geography code"].isin(set(oa_codes))]
        lsoa_index = {c: i for i, c in enumerate(codes)}
        pooled = rest.groupby("Parent area code")["Total"].sum()
        todo = pd.Series(pooled.to_numpy(float), index=[lsoa_index[c] for c in pooled.index])
        # the pooled people live where the changed OAs are: postcodes no 2021 OA code claims
        candidates = pcs[~pcs["oa11cd"].isin(oa_total.index)]
        label = "LSOA pool of changed OAs"
    else:
        todo = pd.Series(lsoa["LSOA21CD"].map(lsoa_total).to_numpy(float))
        candidates = pcs.iloc[:0]
        label = "LSOA"
    todo = todo[todo > 0]
    by_cand = candidates.groupby("lsoa").indices
    by_all = pcs.groupby("lsoa").indices
    sel, gids, totals, names = [], [], [], []
    for li_, total in todo.items():
        src, idx = candidates, by_cand.get(li_)
        if idx is None:
            src, idx = pcs, by_all.get(li_)
        if idx is None:
            groups.add_polygon(polys[li_], float(total), f"{codes[li_]} (polygon)", LSOA_CLUSTERS)
            continue
        sel.append(src.iloc[idx])
        gids.append(np.full(len(idx), len(totals)))
        totals.append(float(total))
        names.append(f"{codes[li_]} ({label})")
    if totals:
        chosen = pd.concat(sel)
        gid = np.concatenate(gids)
        share, n_oa = _oa_then_postcode_shares(gid, chosen["oa11cd"].to_numpy())
        groups.add_many(
            gid,
            chosen["x"],
            chosen["y"],
            np.asarray(totals),
            share,
            n_oa * CLUSTERS_PER_OA,
            np.asarray(names),
        )
    unit = "Output Area 2021" if counts == "oa" else "LSOA 2021"
    note = (
        "k = 8 per 2011 Output Area in the LSOA, calibrated: 94% of 2,000 London half-mile "
        "ranges contain the OA-level reference"
        if counts == "lsoa"
        else "k = 1 per postcode within an Output Area: assumed (no finer counts to calibrate "
        "it); pooled LSOAs use the calibrated 8 per Output Area"
    )
    return groups.surface(
        range_note=note,
        unit=unit,
        group_unit=unit,
        definition="usual residents (TS001 Total)",
        description=f"TS001 {'OA' if counts == 'oa' else 'LSOA'} totals spread over residential "
        "postcodes",
    )


def _workers_dasymetric(
    msoa, travel_in: np.ndarray, nomove: np.ndarray, wpz_path: Path
) -> CountSurface:
    wpz = pd.read_csv(wpz_path, usecols=["WPZ", "wx_lon", "wy_lat"])
    x, y = transformer("EPSG:4326", EQUAL_AREA_CRS).transform(
        wpz["wx_lon"].to_numpy(float), wpz["wy_lat"].to_numpy(float)
    )
    pts = shapely.points(x, y)
    polys = msoa.geometry.values
    tree = shapely.STRtree(polys)
    pi, mi = tree.query(pts, predicate="within")
    owner = np.full(len(pts), -1)
    owner[pi] = mi
    lost = np.nonzero(owner < 0)[0]
    if len(lost):  # centroids a few metres outside the generalised MSOAs: the nearest one
        near_p, near_m = tree.query_nearest(pts[lost], max_distance=500.0)
        owner[lost[near_p]] = near_m
    keep = owner >= 0
    owner, x, y = owner[keep], x[keep], y[keep]
    npts = np.bincount(owner, minlength=len(polys))
    groups = _Groups()
    has = npts > 0
    remap = np.cumsum(has) - 1
    codes = msoa["MSOA21CD"].to_numpy()
    gid = remap[owner]
    groups.add_many(
        gid, x, y, travel_in[has], _equal_shares(gid), npts[has] / WPZ_PER_CLUSTER, codes[has]
    )
    for i in np.nonzero(~has)[0]:
        groups.add_polygon(polys[i], travel_in[i], f"{codes[i]} (polygon)", MSOA_CLUSTERS)
    return groups.surface(
        range_note="k = 1 per Workplace Zone: assumed (no finer workplace counts exist to "
        "calibrate it)",
        unit="Workplace Zone 2011",
        group_unit="MSOA 2021",
        definition="people who travel in to work here (ODWP01 destination - nomove)",
        description="ODWP01 MSOA counts spread over 2011 Workplace Zone centroids",
    )


LONDON_REGION = "E12000007"


def _places(lsoa, ts: pd.DataFrame):
    """Named places from the LSOAs: local authority ("county"), "city" (the local authority, but
    Greater London for the London boroughs: platforms list London as one city) and "region"
    (ONS region, from TS001's local-authority rows)."""
    from .base import PlaceSet

    if "LAD22CD" not in lsoa.columns:
        return None
    lad = lsoa["LAD22CD"].astype(str).to_numpy()
    lad_name = (lsoa["LAD22NM"] if "LAD22NM" in lsoa.columns else lsoa["LAD22CD"]).astype(str)
    la = ts[ts["Geography area type"] == "Local Authority"].set_index("Geography code")
    rgn = (
        pd.Series(lad)
        .map(la["Parent area code"])
        .astype(object)
        .fillna("unknown")
        .to_numpy(dtype=object)
    )
    rgn_names = ts[ts["Geography area type"] == "Region"].set_index("Geography code")[
        "Geography label"
    ]
    rgn_name = (
        pd.Series(rgn).map(rgn_names).astype(object).fillna("unknown region").to_numpy(dtype=object)
    )
    london = rgn == LONDON_REGION
    city = np.where(london, LONDON_REGION, lad)
    city_name = np.where(london, "Greater London", lad_name.to_numpy())
    return PlaceSet(
        geoms=lsoa.geometry.values,
        codes={
            "county": lad.astype(object),
            "city": city.astype(object),
            "region": rgn.astype(object),
        },
        names={
            "county": lad_name.to_numpy(dtype=object),
            "city": city_name.astype(object),
            "region": rgn_name,
        },
        note={
            "county": "local authority district (LAD 2022), union of its LSOAs",
            "city": "local authority district; the 33 London boroughs together as Greater "
            "London (platforms list London as one city)",
            "region": "ONS region (TS001 local-authority parents), union of its LSOAs",
        },
    ).precompute()


def _home_workers_at_homes(res: CountSurface, msoa, nomove: np.ndarray) -> None:
    """Home-workers (ODWP01 ``nomove``) work where they live: each MSOA's are shared among its
    dasymetric resident points in proportion to their residents (an ``extra`` count)."""
    polys = np.asarray(msoa.geometry.values, dtype=object)
    tree = shapely.STRtree(polys)
    pi, mi = tree.query(res.geoms, predicate="intersects")
    owner = np.full(len(res.geoms), -1)
    owner[pi] = mi  # a point on a shared edge: one of its MSOAs
    lost = np.nonzero(owner < 0)[0]
    if len(lost):
        near_p, near_m = tree.query_nearest(res.geoms[lost])
        owner[lost[near_p]] = near_m
    per_msoa = np.bincount(owner, weights=res.values, minlength=len(polys))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(per_msoa[owner] > 0, res.values / per_msoa[owner], 0.0)
    # MSOAs with no resident point keep their home-workers nowhere: count them for the record
    res.extra["home_workers"] = nomove[owner] * share


def _inputs(folder: Path) -> dict[str, Path | None]:
    return {
        "lsoa": _one(folder / "boundaries", "*lsoa*.shp", "LSOA boundaries"),
        "msoa": _one(folder / "boundaries", "*msoa*.shp", "MSOA boundaries"),
        "ts001": _one(folder / "residents", "TS001*.csv*", "TS001 residents table"),
        "od": _one(folder / "workers", "odwp01ew_msoa_counts.csv", "ODWP01 MSOA counts"),
        "wpz": _one(
            folder / "workers",
            "workplace_zones2011*.csv",
            "Workplace Zone centroids",
            required=False,
        ),
    }


def load(folder: str | Path, *, counts: str = "oa", use_cache: bool = True) -> PopulationLayer:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"data folder {str(folder)!r} does not exist: point --data-dir at a "
            "folder in the England & Wales layout described in the README"
        )
    if counts not in COUNTS:
        raise InputError(f"counts {counts!r} is unknown: choose one of {', '.join(COUNTS)}")
    inputs = _inputs(folder)
    files = [p for p in inputs.values() if p is not None]
    files += [
        p.with_suffix(s)
        for p in (inputs["lsoa"], inputs["msoa"])
        for s in (".dbf", ".prj")
        if p.with_suffix(s).exists()
    ]
    # the cache key also covers how the layer is built: calibration constants and ancillary data
    signature = (
        CLOSING_M,
        LSOA_CLUSTERS,
        MSOA_CLUSTERS,
        CLUSTERS_PER_OA,
        POSTCODES_PER_CLUSTER,
        WPZ_PER_CLUSTER,
        LATTICE_POINTS,
        _postcodes_file_size(),
    )
    return cache.cached(
        lambda counts: build(folder, inputs, counts=counts),
        files,
        name="ew-census2021",
        use_cache=use_cache,
        counts=counts,
        signature=signature,
    )


def _postcodes_file_size() -> int:
    f = resources.files("geotarget.data").joinpath("postcodes_ew_residential.parquet")
    with resources.as_file(f) as p:
        return p.stat().st_size


def build(folder: Path, inputs: dict, *, counts: str = "oa") -> PopulationLayer:
    lsoa = read_boundaries(inputs["lsoa"], "LSOA21CD")
    msoa = read_boundaries(inputs["msoa"], "MSOA21CD")
    try:
        ts = pd.read_csv(
            inputs["ts001"],
            usecols=[
                "Geography code",
                "Geography label",
                "Geography area type",
                "Parent area code",
                "Parent area type",
                "Total",
            ],
        )
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read TS001 table {str(inputs['ts001'])!r}: {e}") from e
    lsoa_total = ts[ts["Geography area type"] == "LSOA"].set_index("Geography code")["Total"]
    residents = lsoa["LSOA21CD"].map(lsoa_total)
    if residents.isna().any():
        miss = lsoa.loc[residents.isna(), "LSOA21CD"].head(3).tolist()
        raise DataError(
            f"{int(residents.isna().sum())} LSOAs have no TS001 count (e.g. {miss}): "
            "are the boundaries and TS001 both Census 2021?"
        )
    try:
        od = pd.read_csv(inputs["od"], usecols=["areacd", "destination", "nomove"])
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read ODWP01 counts {str(inputs['od'])!r}: {e}") from e
    od = od.set_index("areacd")
    dest = msoa["MSOA21CD"].map(od["destination"])
    nomove = msoa["MSOA21CD"].map(od["nomove"])
    if dest.isna().any() or nomove.isna().any():
        miss = msoa.loc[dest.isna() | nomove.isna(), "MSOA21CD"].head(3).tolist()
        raise DataError(f"MSOAs without ODWP01 counts (e.g. {miss}) in {str(inputs['od'])!r}")
    travel_in = (dest - nomove).to_numpy(float)
    if (travel_in < 0).any():
        raise DataError(f"{str(inputs['od'])!r}: nomove exceeds destination for some MSOAs")

    res_areal = CountSurface(
        kind="zones",
        unit="LSOA 2021",
        ids=lsoa["LSOA21CD"].to_numpy(),
        geoms=lsoa.geometry.values,
        values=residents.to_numpy(float),
        definition="usual residents (TS001 Total)",
        clusters_per_zone=LSOA_CLUSTERS,
        description="TS001 LSOA totals, areal weighting",
        range_note="k calibrated: 91% of 2,000 London half-mile ranges contain a finer reference",
    )
    wrk_areal = CountSurface(
        kind="zones",
        unit="MSOA 2021",
        ids=msoa["MSOA21CD"].to_numpy(),
        geoms=msoa.geometry.values,
        values=travel_in,
        definition="people who travel in to work here (ODWP01 destination - nomove)",
        extra={"home_workers": nomove.to_numpy(float)},
        clusters_per_zone=MSOA_CLUSTERS,
        description="ODWP01 MSOA counts, areal weighting",
        range_note="k calibrated against MSOA workers shared among Workplace Zones (91%); MSOAs "
        "are coarse, so the range is wide",
    )
    res_dasy = _residents_dasymetric(lsoa, ts, counts)
    _home_workers_at_homes(res_dasy, msoa, nomove.to_numpy(float))
    caveats = [DASYMETRIC_CAVEAT]
    if inputs["wpz"] is not None:
        wrk_dasy = _workers_dasymetric(msoa, travel_in, nomove.to_numpy(float), inputs["wpz"])
        alternatives = {"residents": {"areal": res_areal}, "workers": {"areal": wrk_areal}}
    else:
        wrk_dasy = wrk_areal
        alternatives = {"residents": {"areal": res_areal}}
        caveats.append(
            "No Workplace Zone centroids in the data folder: workers use MSOA areal weighting."
        )
    return PopulationLayer(
        name="ew-census2021",
        country="GB",
        places=_places(lsoa, ts),
        title="England & Wales Census 2021 (residents by Output Area / LSOA, workplace "
        "population by MSOA)",
        source="ONS Census 2021: TS001 usual residents (OA, LSOA), ODWP01EW place of work (MSOA), "
        "ONS Open Geography LSOA/MSOA 2021 boundaries (generalised 20 m), 2011 Workplace "
        "Zone centroids; residential postcodes from OS Code-Point Open and the ONS "
        "postcode lookup (May 2022)",
        licence="Open Government Licence v3.0",
        vintage="Census 2021 (census day 21 March 2021)",
        crs=EQUAL_AREA_CRS,
        coverage=coverage_of(lsoa.geometry.values),
        residents=res_dasy,
        workers=wrk_dasy,
        alternatives=alternatives,
        attribution=ATTRIBUTION,
        caveats=caveats,
        workers_caveats=[LOCKDOWN_CAVEAT],
        origin=str(folder),
    )
