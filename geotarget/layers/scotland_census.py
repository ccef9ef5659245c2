"""Scotland's Census 2022, the built-in layer (``scotland-census2022``), from the compact tables
that ``data/build_scotland.py`` writes into the package.

Residents (``counts="oa"``, the default): each Output Area 2022 total (UV101b) spread equally
over the residential postcodes inside the OA's polygon; an OA that holds no residential postcode
keeps its people at its population-weighted centroid.  ``counts="dz"``: Data Zone 2022 totals
only (the sums of their OAs), spread over the Data Zone's postcodes equally per OA, then per
postcode (a Data Zone without postcodes: over its OA centroids) -- the hold-out of the accuracy
benchmark (``benchmarks/scotland_placement.py``), as ``--counts lsoa`` is in England & Wales.

Residents aged 16+ and 18+ (from the same tables' age bands) are placed alike, as the
surface's ``aged_16plus`` and ``aged_18plus`` counts.  Workers: none (the metadata says why).
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError, InputError
from ..projections import transformer
from . import builtin, cache
from .base import CountSurface, PlaceSet, PointXY, PopulationLayer

if TYPE_CHECKING:  # pandas builds the layer; reading it from the cache needs none
    import pandas as pd

NAME = "scotland-census2022"
#: the resident counts :func:`load_builtin` can use: Output Area or Data Zone totals
COUNTS = ("oa", "dz")
#: the counts placed alike beside the residents (names of the result's fields)
AGE_FIELDS = ("aged_16plus", "aged_18plus")
#: range: clusters per postcode within an OA (assumed, as in England & Wales) and per OA within
#: a Data Zone (measured: benchmarks/scotland_placement.py)
POSTCODES_PER_CLUSTER = 1.0
CLUSTERS_PER_OA = 8.0
DASYMETRIC_CAVEAT = (
    "Scotland: census counts are spread equally over the residential postcodes of each Output "
    "Area (its population-weighted centroid where it holds none); postcodes are not people."
)


def _table(part: str) -> pd.DataFrame:
    """One of the shipped tables (``scotland-census2022-<part>.parquet``)."""
    import pandas as pd

    name = f"{NAME}-{part}.parquet"
    try:
        with resources.as_file(builtin.file(name)) as p:
            if part == "councils":
                import geopandas as gpd

                return gpd.read_parquet(p)
            return pd.read_parquet(p)
    except (OSError, ValueError) as e:
        raise DataError(f"built-in layer {NAME!r}: {name} unreadable ({e}): reinstall") from e


def _xy(e: Any, n: Any, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid metres to the layer's CRS."""
    x, y = transformer("EPSG:27700", crs).transform(np.asarray(e, float), np.asarray(n, float))
    return np.asarray(x), np.asarray(y)


def _placement(oa: pd.DataFrame, pc_oa: np.ndarray, counts: str) -> dict[str, np.ndarray]:
    """Where the people go: per point its source (0 postcode, 1 OA centroid), index, group,
    share of its group's count; per group its count's row set and k."""
    n_oa = len(oa)
    has_pc = np.bincount(pc_oa, minlength=n_oa) > 0
    if counts == "oa":
        bare = np.nonzero(~has_pc)[0]
        src = np.r_[np.zeros(len(pc_oa), np.int8), np.ones(len(bare), np.int8)]
        idx = np.r_[np.arange(len(pc_oa)), bare]
        owner = np.r_[pc_oa, bare]  # the OA whose count the point shares
        gid = owner
        npts = np.bincount(gid, minlength=n_oa)
        share = 1.0 / npts[gid]
        k = np.maximum(npts / POSTCODES_PER_CLUSTER, 1.0)
        members = np.arange(n_oa)
        return {"src": src, "idx": idx, "gid": gid, "share": share, "k": k, "members": members}
    dz = oa["dz"].to_numpy()
    n_dz = int(dz.max()) + 1
    dz_has_pc = np.bincount(dz[pc_oa], minlength=n_dz) > 0
    bare_oa = np.nonzero(~dz_has_pc[dz])[0]  # OAs of Data Zones with no postcode at all
    src = np.r_[np.zeros(len(pc_oa), np.int8), np.ones(len(bare_oa), np.int8)]
    idx = np.r_[np.arange(len(pc_oa)), bare_oa]
    sub = np.r_[pc_oa, bare_oa]  # the OA a point stands for (equal shares per OA first)
    gid = dz[sub]
    n_sub = np.bincount(gid[np.unique(sub, return_index=True)[1]], minlength=n_dz)
    per_sub = np.bincount(sub, minlength=n_oa)
    share = 1.0 / n_sub[gid] / per_sub[sub]
    k = np.maximum(n_sub * CLUSTERS_PER_OA, 1.0)
    return {"src": src, "idx": idx, "gid": gid, "share": share, "k": k, "members": dz}


def _places(councils: Any, coverage: Any) -> PlaceSet:
    """Council areas ("county", "city") and Scotland ("region"), over the council polygons."""
    codes = councils["council_code"].to_numpy(dtype=object)
    names = councils["council_name"].to_numpy(dtype=object)
    n = len(codes)
    places = PlaceSet(
        geoms=councils.geometry.values,
        codes={"county": codes, "city": codes, "region": np.full(n, "S92000003", dtype=object)},
        names={"county": names, "city": names, "region": np.full(n, "Scotland", dtype=object)},
        note={
            "county": "council area (majority council of each Data Zone 2022's postcodes, ONS "
            "postcode lookup May 2022), OA 2022 polygons dissolved",
            "city": "council area (e.g. City of Edinburgh)",
            "region": "Scotland (the whole layer)",
        },
        # OAs nest in Data Zones, Data Zones in council areas (each given its majority council)
        groups_nest=True,
    )
    for code, geom in zip(codes, councils.geometry.values):
        places.polygons[("county", str(code))] = geom
        places.polygons[("city", str(code))] = geom
    places.polygons[("region", "S92000003")] = coverage
    return places


def build(counts: str = "oa") -> PopulationLayer:
    """Build the built-in Scotland layer from the shipped tables.

    Parameters
    ----------
    counts : str
        ``"oa"``: residents from Output Area 2022 totals; ``"dz"``: from Data Zone totals only.

    Returns
    -------
    PopulationLayer
    """
    if counts not in COUNTS:
        raise InputError(f"counts {counts!r} is unknown in Scotland: choose one of oa, dz")
    oa, dzt, pcs = _table("oa"), _table("dz"), _table("postcodes")
    meta = builtin.metadata(NAME)
    crs, coverage, pieces = builtin.coverage(NAME)
    pc_oa = pcs["oa"].to_numpy().astype(np.int64)
    pl = _placement(oa, pc_oa, counts)
    pcx, pcy = _xy(pcs["easting"], pcs["northing"], crs)
    oax, oay = _xy(oa["easting"], oa["northing"], crs)
    on_pc = pl["src"] == 0
    x, y = np.empty(len(on_pc)), np.empty(len(on_pc))
    x[on_pc], y[on_pc] = pcx[pl["idx"][on_pc]], pcy[pl["idx"][on_pc]]
    x[~on_pc], y[~on_pc] = oax[pl["idx"][~on_pc]], oay[pl["idx"][~on_pc]]
    fields = ("residents", *AGE_FIELDS)
    totals = {
        f: np.bincount(pl["members"], weights=oa[f].to_numpy(float), minlength=len(pl["k"]))
        for f in fields
    }
    vals = {f: totals[f][pl["gid"]] * pl["share"] for f in fields}
    if counts == "oa":
        names = oa["oa22cd"].to_numpy(dtype=object)
        unit = "Output Area 2022"
    else:
        names = dzt["dz22cd"].to_numpy(dtype=object)
        unit = "Data Zone 2022"
    res = CountSurface(
        kind="points",
        unit=unit,
        ids=names[pl["gid"]],
        geoms=PointXY(x, y),
        values=vals["residents"],
        definition="usual residents (Scotland's Census 2022, UV101b all people)",
        extra={f: vals[f] for f in AGE_FIELDS},
        group=pl["gid"],
        group_k=pl["k"],
        group_unit=unit,
        method="dasymetric",
        description=f"UV101b {'Output Area' if counts == 'oa' else 'Data Zone'} 2022 totals "
        "spread over residential postcodes (an area without one: its OA population-weighted "
        "centroids)",
        range_note="k = 1 per postcode within an Output Area: assumed (no finer counts to "
        "calibrate it)"
        if counts == "oa"
        else f"k = {CLUSTERS_PER_OA:g} per Output Area in the Data Zone, the England & Wales "
        "LSOA value, checked on Scotland (benchmarks/scotland_placement.py)",
    )
    return PopulationLayer(
        name=NAME,
        title=meta["title"],
        source=meta["source"],
        licence=meta["licence"],
        vintage=meta["vintage"],
        crs=crs,
        coverage=coverage,
        coverage_pieces=pieces,
        residents=res,
        workers=None,
        workers_unavailable=meta["workers_unavailable"],
        attribution=meta["attribution"],
        caveats=[DASYMETRIC_CAVEAT, *meta["caveats"]],
        country="GB",
        places=_places(_table("councils"), coverage),
        origin="built-in",
    )


#: the shipped tables the layer is built from (with its coverage and metadata)
TABLES = ("oa", "dz", "postcodes", "councils", "coverage")


def load_builtin(counts: str | None = None, *, use_cache: bool = True) -> PopulationLayer:
    """The built-in Scotland layer, built from the shipped tables once (under a second) and
    cached (:mod:`.cache`): a warm run then reads it without pandas.

    Parameters
    ----------
    counts : str or None
        ``"oa"`` (default) or ``"dz"`` (Data Zone totals only, the hold-out).
    use_cache : bool
        Read and write the built layer in the cache.

    Returns
    -------
    PopulationLayer
    """
    counts = counts or "oa"
    if counts not in COUNTS:
        raise InputError(f"counts {counts!r} is unknown in Scotland: choose one of oa, dz")
    files = []
    for name in (*(f"{NAME}-{t}.parquet" for t in TABLES), f"{NAME}.json"):
        with resources.as_file(builtin.file(name)) as f:
            files.append(f)
    signature = (POSTCODES_PER_CLUSTER, CLUSTERS_PER_OA)
    return cache.cached(
        build, files, name=NAME, use_cache=use_cache, counts=counts, signature=signature
    )
