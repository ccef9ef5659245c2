"""Dasymetric surfaces of the England & Wales layer: census counts spread over the points
where people live or work.

* Residents over the residential postcodes shipped with geotarget (:func:`residents_dasymetric`);
* workers over the 2011 Workplace Zone population-weighted centroids
  (:func:`workers_dasymetric`);
* home-workers shared among the resident points of their MSOA (:func:`home_workers_at_homes`).

A zone without such a point spreads its count evenly over its polygon (:func:`lattice`).  The
calibration of the ranges (how many independent clusters a zone's count behaves like) is in the
constants below; :mod:`.ew_census2021` puts them in its cache key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from ..projections import transformer
from .base import CountSurface
from .geometry import point_array

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

#: dasymetric residents, range: a zone counted over several 2011 Output Areas behaves like
#: (OAs * CLUSTERS_PER_OA) independent clusters (benchmarks/accuracy_london.py, hold-out on OA
#: counts); within one OA each postcode is taken as one cluster (not testable: no finer counts)
CLUSTERS_PER_OA = 8.0
POSTCODES_PER_CLUSTER = 1.0
#: dasymetric workers: each Workplace Zone one cluster (an assumption: no finer workplace counts)
WPZ_PER_CLUSTER = 1.0
#: points spread over a zone's polygon where it has no residential postcode or workplace zone
LATTICE_POINTS = 64
#: the shipped residential postcodes (OA 2011 code, British National Grid position)
POSTCODES_FILE = "postcodes_ew_residential.parquet"


def lattice(poly: BaseGeometry, n: int = LATTICE_POINTS) -> np.ndarray:
    """About ``n`` points on a regular grid inside ``poly`` (at least its representative point)."""
    xmin, ymin, xmax, ymax = poly.bounds
    step = max(np.sqrt(poly.area / n), 1e-6)
    xs = np.arange(xmin + step / 2, xmax, step)
    ys = np.arange(ymin + step / 2, ymax, step)
    gx, gy = np.meshgrid(xs, ys)
    pts = point_array(gx.ravel(), gy.ravel())
    pts = pts[shapely.contains(poly, pts)]
    return pts if len(pts) else np.array([poly.representative_point()])


def residential_postcodes(bounds: np.ndarray, crs: str) -> pd.DataFrame:
    """The shipped residential E&W postcodes inside ``bounds``.

    Parameters
    ----------
    bounds : numpy.ndarray
        ``xmin, ymin, xmax, ymax`` in ``crs``.
    crs : str
        The CRS of ``bounds`` and of the positions returned.

    Returns
    -------
    pandas.DataFrame
        ``oa11cd`` (the postcode's Output Area 2011 code), ``x``, ``y``.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    f = resources.files("geotarget.data").joinpath(POSTCODES_FILE)
    with resources.as_file(f) as p:
        t = pq.read_table(p).to_pandas()
    x, y = transformer("EPSG:27700", crs).transform(
        t["easting"].to_numpy(float), t["northing"].to_numpy(float)
    )
    xmin, ymin, xmax, ymax = bounds
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
        x: np.ndarray | pd.Series,
        y: np.ndarray | pd.Series,
        totals: np.ndarray,
        share: np.ndarray,
        k_per_group: np.ndarray,
        names: np.ndarray,
        extra: dict[str, np.ndarray] | None = None,
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

    def add_polygon(
        self,
        poly: BaseGeometry,
        total: float,
        name: str,
        k: float,
        extra: dict[str, float] | None = None,
    ) -> None:
        """One group of ``total`` spread evenly over a lattice of points inside ``poly``."""
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

    def surface(self, **kwargs: Any) -> CountSurface:
        """The points gathered so far as a dasymetric surface (``kwargs``: its other fields)."""
        x, y = np.concatenate(self.x), np.concatenate(self.y)
        group = np.concatenate(self.g)
        return CountSurface(
            kind="points",
            ids=np.asarray(self.ids, dtype=object)[group],
            geoms=point_array(x, y),
            values=np.concatenate(self.w),
            group=group,
            group_k=np.asarray(self.k),
            method="dasymetric",
            extra={k: np.concatenate(v) for k, v in self.extra.items()},
            **kwargs,
        )


def _equal_shares(gid: np.ndarray) -> np.ndarray:
    """Equal shares of each group among its points."""
    return 1.0 / np.bincount(gid)[gid]


def _oa_then_postcode_shares(gid: np.ndarray, oa11: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within each group, equal shares per Output Area 2011 (OAs were designed to hold similar
    numbers of people), then equal shares per postcode within the OA.  Returns the shares and
    the number of OAs in each group."""
    import pandas as pd

    oa_key = pd.factorize(pd.Series(gid).astype(str) + "|" + pd.Series(oa11))[0]
    pcs_in_oa = np.bincount(oa_key)[oa_key]
    first = np.unique(oa_key, return_index=True)[1]
    n_oa = np.bincount(gid[first], minlength=gid.max() + 1)
    return 1.0 / n_oa[gid] / pcs_in_oa, n_oa


def residents_dasymetric(
    lsoa: gpd.GeoDataFrame, ts: pd.DataFrame, counts: str, *, crs: str, polygon_k: float
) -> CountSurface:
    """Residents spread over residential postcodes.

    With ``counts="oa"``, Output Area totals spread equally over the postcodes that carry the
    OA's code (2011 = 2021); OAs whose code changed, or that have no such postcode, are pooled
    per LSOA and spread over that LSOA's postcodes that no 2021 OA claims (or all its
    postcodes, or -- where it has none -- evenly over its polygon).  With ``counts="lsoa"``,
    LSOA totals spread over the LSOA's postcodes, equally per 2011 OA then per postcode.

    Parameters
    ----------
    lsoa : geopandas.GeoDataFrame
        The LSOA polygons (``LSOA21CD``) in ``crs``.
    ts : pandas.DataFrame
        The TS001 table (``Geography code``, ``Geography area type``, ``Parent area code``,
        ``Total``).
    counts : str
        ``"oa"`` or ``"lsoa"``.
    crs : str
        The layer's CRS.
    polygon_k : float
        The range's clusters for a count spread over its polygon.

    Returns
    -------
    CountSurface
        Dasymetric points grouped by the census count they share.
    """
    import pandas as pd

    codes = lsoa["LSOA21CD"].to_numpy()
    polys = lsoa.geometry.values
    lsoa_total = ts[ts["Geography area type"] == "LSOA"].set_index("Geography code")["Total"]
    pcs = residential_postcodes(shapely.total_bounds(polys), crs)
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
    sel: list[pd.DataFrame] = []
    gids: list[np.ndarray] = []
    totals: list[float] = []
    names: list[str] = []
    for li_, total in todo.items():
        src, idx = candidates, by_cand.get(li_)
        if idx is None:
            src, idx = pcs, by_all.get(li_)
        if idx is None:
            groups.add_polygon(polys[li_], float(total), f"{codes[li_]} (polygon)", polygon_k)
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


def workers_dasymetric(
    msoa: gpd.GeoDataFrame, travel_in: np.ndarray, wpz_path: Path, *, crs: str, polygon_k: float
) -> CountSurface:
    """Workers who travel in, spread equally over their MSOA's Workplace Zone centroids.

    A centroid a few metres outside the generalised MSOAs counts in the nearest within 500 m;
    an MSOA without a centroid spreads its workers over its polygon.

    Parameters
    ----------
    msoa : geopandas.GeoDataFrame
        The MSOA polygons (``MSOA21CD``) in ``crs``.
    travel_in : numpy.ndarray
        Per MSOA, the people who travel in to work there (ODWP01 destination - nomove).
    wpz_path : Path
        The Workplace Zone centroids CSV (``WPZ``, ``wx_lon``, ``wy_lat``).
    crs : str
        The layer's CRS.
    polygon_k : float
        The range's clusters for a count spread over its polygon.

    Returns
    -------
    CountSurface
        Dasymetric points grouped by MSOA.
    """
    import pandas as pd

    wpz = pd.read_csv(wpz_path, usecols=["WPZ", "wx_lon", "wy_lat"])
    x, y = transformer("EPSG:4326", crs).transform(
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
        groups.add_polygon(polys[i], travel_in[i], f"{codes[i]} (polygon)", polygon_k)
    return groups.surface(
        range_note="k = 1 per Workplace Zone: assumed (no finer workplace counts exist to "
        "calibrate it)",
        unit="Workplace Zone 2011",
        group_unit="MSOA 2021",
        definition="people who travel in to work here (ODWP01 destination - nomove)",
        description="ODWP01 MSOA counts spread over 2011 Workplace Zone centroids",
    )


def home_workers_at_homes(res: CountSurface, msoa: gpd.GeoDataFrame, nomove: np.ndarray) -> None:
    """Place home-workers (ODWP01 ``nomove``) where they live: at the resident points.

    Each MSOA's home-workers are shared among its dasymetric resident points in proportion to
    their residents, as the ``extra`` count ``home_workers`` of ``res`` (set in place).

    Parameters
    ----------
    res : CountSurface
        The dasymetric residents (:func:`residents_dasymetric`).
    msoa : geopandas.GeoDataFrame
        The MSOA polygons, in the CRS of ``res``.
    nomove : numpy.ndarray
        Per MSOA, the people mainly working at or from home.
    """
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


def postcodes_file_size() -> int:
    """The size in bytes of the shipped postcode file (part of a cache key)."""
    f = resources.files("geotarget.data").joinpath(POSTCODES_FILE)
    with resources.as_file(f) as p:
        return p.stat().st_size
