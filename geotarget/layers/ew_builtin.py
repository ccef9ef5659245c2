"""England & Wales Census 2021, the built-in layer (``ew-census2021``), from the compact tables
that ``data/build_ew.py`` writes into the package.

Residents (``counts="oa"``, the default): each Output Area 2021 total (TS001) spread equally over
the residential postcodes that carry the OA's code (2011 = 2021); the OAs whose code changed in
2021, or that no postcode carries, are pooled per LSOA and spread over that LSOA's postcodes
that no 2021 OA claims -- a postcode's LSOA is the LSOA of the nearest changed OA 2021 point
(the ``--data-dir`` method uses LSOA polygons instead) -- equally per 2011 OA, then per
postcode; an LSOA with no such postcode uses all its postcodes, and one with none at all its
OA 2021 points.  ``counts="lsoa"`` (the hold-out of the accuracy benchmarks): LSOA totals only,
each OA 2021 of the LSOA given an equal share and that share placed exactly as an OA count is
(so only the OA counts are held out), one group per LSOA.

Workers: ODWP01 ``destination - nomove`` per MSOA spread equally over the MSOA's 2011 Workplace
Zone centroids (an MSOA without one: over its OA 2021 points); home-workers (``nomove``) at the
resident points of their MSOA, as in :mod:`.ew_census2021`.
"""

from __future__ import annotations

import sys
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError, InputError
from ..projections import transformer
from . import builtin, cache
from .base import CountSurface, PlaceSet, PointXY, PopulationLayer
from .commuting import Commuting
from .ew_census2021 import (
    COUNTS,
    DASYMETRIC_CAVEAT,
    EQUAL_AREA_CRS,
    LOCKDOWN_CAVEAT,
    LSOA_CLUSTERS,
    MSOA_CLUSTERS,
)
from .ew_dasymetric import (
    CLUSTERS_PER_OA,
    POSTCODES_FILE,
    POSTCODES_PER_CLUSTER,
    WPZ_PER_CLUSTER,
)

if TYPE_CHECKING:  # pandas builds the layer; reading it from the cache needs none
    import pandas as pd

NAME = "ew-census2021"
#: the compact tables of the layer, in ``geotarget/data``
TABLES = ("oa", "lsoa", "msoa", "postcodes", "wpz", "places", "zones", "flows")


def _table(part: str) -> pd.DataFrame:
    """One of the shipped tables (``ew-census2021-<part>.parquet``)."""
    import pandas as pd

    name = POSTCODES_FILE if part == "residential" else f"{NAME}-{part}.parquet"
    try:
        with resources.as_file(builtin.file(name)) as p:
            if part in ("places", "zones"):
                import geopandas as gpd

                return gpd.read_parquet(p)
            return pd.read_parquet(p)
    except (OSError, ValueError) as e:
        raise DataError(f"built-in layer {NAME!r}: {name} unreadable ({e}): reinstall") from e


def _to_layer_crs(e: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid metres to the layer's CRS."""
    x, y = transformer("EPSG:27700", EQUAL_AREA_CRS).transform(
        np.asarray(e, float), np.asarray(n, float)
    )
    return np.asarray(x), np.asarray(y)


def _group_shares(gid: np.ndarray, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal shares per ``sub`` (a 2011 OA) within each group, then per point within it;
    returns the shares and the number of distinct ``sub`` per group."""
    key = gid.astype(np.int64) * (int(sub.max()) + 1) + sub
    _, kinv, kcount = np.unique(key, return_inverse=True, return_counts=True)
    first = np.unique(kinv, return_index=True)[1]
    n_sub = np.bincount(gid[first], minlength=int(gid.max()) + 1)
    return 1.0 / n_sub[gid] / kcount[kinv], n_sub


class _Points:
    """Points of a dasymetric surface gathered part by part (positions, counts, groups)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.k: list[np.ndarray] = []
        self.names: list[np.ndarray] = []
        self.n_groups = 0

    def add(
        self,
        idx: np.ndarray,
        gid: np.ndarray,
        values: np.ndarray,
        k: np.ndarray,
        names: np.ndarray,
        source: str,
    ) -> None:
        """Points ``idx`` of ``source`` ("pc", "oa" or "wpz") in local groups ``gid``."""
        self.parts.append((np.full(len(idx), source), idx, gid + self.n_groups, values))
        self.k.append(np.asarray(k, float))
        self.names.append(np.asarray(names, dtype=object))
        self.n_groups += len(k)

    def surface(self, xy: dict[str, tuple[np.ndarray, np.ndarray]], **kw: Any) -> CountSurface:
        """The gathered points as a surface, placed with the positions ``xy`` by source."""
        xs = np.concatenate([xy[p[0][0]][0][p[1]] for p in self.parts if len(p[1])])
        ys = np.concatenate([xy[p[0][0]][1][p[1]] for p in self.parts if len(p[1])])
        group = np.concatenate([p[2] for p in self.parts])
        names = np.concatenate(self.names)
        return CountSurface(
            kind="points",
            ids=names[group],
            geoms=PointXY(xs, ys),
            values=np.concatenate([p[3] for p in self.parts]),
            group=group,
            group_k=np.concatenate(self.k),
            method="dasymetric",
            **kw,
        )

    def regrouped(self, key: np.ndarray, k: np.ndarray, names: np.ndarray) -> _Points:
        """The same points grouped by ``key`` (one value per point, in order), with ``k`` and
        ``names`` given per value of the key."""
        uk, gid = np.unique(key, return_inverse=True)
        out = _Points()
        out.k, out.names, out.n_groups = [np.asarray(k, float)[uk]], [names[uk]], len(uk)
        ends = np.cumsum([len(p[1]) for p in self.parts])
        out.parts = [
            (p[0], p[1], gid[e - len(p[1]) : e], p[3])
            for p, e in zip(self.parts, ends, strict=True)
        ]
        return out

    @property
    def owner(self) -> list[np.ndarray]:
        """Per part, the point indices into their source (for lookups such as the LSOA)."""
        return [p[1] for p in self.parts]


def _spread_lsoa(
    pts: _Points,
    todo: np.ndarray,
    pc_lsoa: np.ndarray,
    pc_sub: np.ndarray,
    eligible: np.ndarray,
    oa_lsoa: np.ndarray,
    oa_ok: np.ndarray,
    lsoa_codes: np.ndarray,
    label: str,
) -> list[np.ndarray]:
    """Spread the LSOA totals ``todo`` (0 = nothing) over ``eligible`` postcodes of the LSOA,
    else all its postcodes, else its OA 2021 points (``oa_ok``).  Returns the LSOA of each
    point added, part by part."""
    n = len(todo)
    want = todo > 0
    has_el = np.bincount(pc_lsoa[eligible], minlength=n) > 0
    has_any = np.bincount(pc_lsoa, minlength=n) > 0
    use_el = want & has_el
    use_all = want & ~has_el & has_any
    sel = np.nonzero((eligible & use_el[pc_lsoa]) | use_all[pc_lsoa])[0]
    lsoas: list[np.ndarray] = []
    if len(sel):
        li, gid = np.unique(pc_lsoa[sel], return_inverse=True)
        share, n_sub = _group_shares(gid, pc_sub[sel])
        names = np.array([f"{c} ({label})" for c in lsoa_codes[li]], dtype=object)
        pts.add(sel, gid, todo[li][gid] * share, n_sub * CLUSTERS_PER_OA, names, "pc")
        lsoas.append(li[gid])
    bare = want & ~has_any
    osel = np.nonzero(bare[oa_lsoa] & oa_ok)[0]
    if len(osel):
        li, gid = np.unique(oa_lsoa[osel], return_inverse=True)
        share = 1.0 / np.bincount(gid)[gid]
        names = np.array([f"{c} (OA 2021 points)" for c in lsoa_codes[li]], dtype=object)
        pts.add(osel, gid, todo[li][gid] * share, np.full(len(li), LSOA_CLUSTERS), names, "oa")
        lsoas.append(li[gid])
    return lsoas


def _residents(t: dict[str, pd.DataFrame], counts: str) -> tuple[_Points, np.ndarray]:
    """The dasymetric resident points and each point's LSOA."""
    import pandas as pd

    oa, lsoa, pcs, res = t["oa"], t["lsoa"], t["postcodes"], t["residential"]
    pc_oa = pcs["oa"].to_numpy()
    pc_lsoa = pcs["lsoa"].to_numpy()
    pc_sub = pd.factorize(res["oa11cd"])[0]
    oa_lsoa = oa["lsoa"].to_numpy()
    oa_res = oa["residents"].to_numpy(float)
    codes = lsoa["lsoa21cd"].to_numpy()
    if counts == "lsoa":
        # the hold-out: each OA's count replaced by an equal share of its LSOA's total, then
        # placed exactly as the OA counts are (only the OA counts are held out)
        oas_in = np.bincount(oa_lsoa, minlength=len(lsoa))
        oa_res = (lsoa["residents"].to_numpy(float) / np.maximum(oas_in, 1))[oa_lsoa]
    pts = _Points()
    lsoas: list[np.ndarray] = []
    m = np.nonzero(pc_oa >= 0)[0]
    oas, gid = np.unique(pc_oa[m], return_inverse=True)
    npts = np.bincount(gid)
    pts.add(
        m,
        gid,
        oa_res[oas][gid] / npts[gid],
        npts / POSTCODES_PER_CLUSTER,
        oa["oa21cd"].to_numpy()[oas],
        "pc",
    )
    lsoas.append(oa_lsoa[oas][gid])
    rest = np.ones(len(oa), bool)
    rest[oas] = False
    pooled = np.bincount(oa_lsoa[rest], weights=oa_res[rest], minlength=len(lsoa))
    lsoas += _spread_lsoa(
        pts,
        pooled,
        pc_lsoa,
        pc_sub,
        pc_oa < 0,
        oa_lsoa,
        rest,
        codes,
        "LSOA pool of changed OAs",
    )
    pt_lsoa = np.concatenate(lsoas)
    if counts == "lsoa":  # one group per LSOA: its published total is what is spread
        names = np.array([f"{c} (LSOA)" for c in codes], dtype=object)
        pts = pts.regrouped(pt_lsoa, oas_in * CLUSTERS_PER_OA, names)
    return pts, pt_lsoa


def _workers(t: dict[str, pd.DataFrame]) -> tuple[_Points, np.ndarray]:
    """ODWP01 travel-in workers spread over the Workplace Zones of each MSOA, and each group's
    MSOA."""
    msoa, wpz, oa, lsoa = t["msoa"], t["wpz"], t["oa"], t["lsoa"]
    travel_in = (msoa["destination"] - msoa["nomove"]).to_numpy(float)
    codes = msoa["msoa21cd"].to_numpy()
    owner = wpz["msoa"].to_numpy()
    pts = _Points()
    mi, gid = np.unique(owner, return_inverse=True)
    npts = np.bincount(gid)
    pts.add(
        np.arange(len(owner)),
        gid,
        travel_in[mi][gid] / npts[gid],
        npts / WPZ_PER_CLUSTER,
        codes[mi],
        "wpz",
    )
    bare = np.ones(len(msoa), bool)
    bare[mi] = False
    oa_msoa = lsoa["msoa"].to_numpy()[oa["lsoa"].to_numpy()]
    osel = np.nonzero(bare[oa_msoa])[0]
    mj = np.zeros(0, mi.dtype)
    if len(osel):
        mj, gj = np.unique(oa_msoa[osel], return_inverse=True)
        pts.add(
            osel,
            gj,
            travel_in[mj][gj] / np.bincount(gj)[gj],
            np.full(len(mj), MSOA_CLUSTERS),
            np.array([f"{c} (OA 2021 points)" for c in codes[mj]], dtype=object),
            "oa",
        )
    return pts, np.concatenate([mi, mj])


def _commuting(t: dict[str, pd.DataFrame]) -> Commuting:
    """The ODWP01 flows of the shipped tables (per MSOA, and local authority to authority)."""
    m, f = t["msoa"], t["flows"]
    la_codes, area_la = np.unique(m["lad"].to_numpy(dtype=str), return_inverse=True)
    ix = {c: i for i, c in enumerate(la_codes.tolist())}
    flows = np.zeros((len(la_codes), len(la_codes)))
    home = np.array([ix[c] for c in f["home"].astype(str)], dtype=np.int64)
    work = np.array([ix[c] for c in f["work"].astype(str)], dtype=np.int64)
    np.add.at(flows, (home, work), f["count"].to_numpy(float))
    within = m["within"].to_numpy(float)
    nomove = m["nomove"].to_numpy(float)
    return Commuting(
        la_codes=la_codes,
        area_la=area_la,
        within=within,
        out_other=m["origin"].to_numpy(float) - nomove - within,
        in_other=m["destination"].to_numpy(float) - nomove - within,
        flows=flows,
        source="ONS Census 2021 ODWP01EW: MSOA 'within' counts and local authority to local "
        "authority flows",
    )


def _places(pl: Any, zones: Any) -> PlaceSet:
    """Local authorities ("county"), "city" (Greater London as one) and regions, over the
    simplified MSOA zones (their dissolved polygons shipped ready)."""
    name = {(str(lv), str(c)): str(n) for lv, c, n in zip(pl["level"], pl["code"], pl["name"])}
    levels = ("county", "city", "region")
    codes = {lv: zones[lv].to_numpy(dtype=object) for lv in levels}
    places = PlaceSet(
        geoms=zones.geometry.values,
        codes=codes,
        names={
            lv: np.array([name[(lv, str(c))] for c in codes[lv]], dtype=object) for lv in levels
        },
        note={
            "county": "local authority district (TS001 MSOA parents), simplified MSOA 2021 "
            "boundaries dissolved",
            "city": "local authority district; the 33 London boroughs together as Greater "
            "London (platforms list London as one city)",
            "region": "ONS region (TS001 local-authority parents), simplified MSOA 2021 "
            "boundaries dissolved",
        },
        groups_nest=True,
    )
    for lv, code, g in zip(pl["level"], pl["code"], pl.geometry.values):
        places.polygons[(str(lv), str(code))] = g
    return places


def build(counts: str = "oa") -> PopulationLayer:
    """Build the built-in England & Wales layer from the shipped tables (no cache).

    Parameters
    ----------
    counts : str
        ``"oa"``: residents from Output Area totals; ``"lsoa"``: from LSOA totals only.

    Returns
    -------
    PopulationLayer
    """
    t = {p: _table(p) for p in (*TABLES, "residential")}
    if len(t["postcodes"]) != len(t["residential"]):
        raise DataError(f"built-in layer {NAME!r}: postcode tables do not match: reinstall")
    meta = builtin.metadata(NAME)
    xy = {
        "pc": _to_layer_crs(t["residential"]["easting"], t["residential"]["northing"]),
        "oa": _to_layer_crs(t["oa"]["easting"], t["oa"]["northing"]),
        "wpz": _to_layer_crs(t["wpz"]["easting"], t["wpz"]["northing"]),
    }
    rpts, pt_lsoa = _residents(t, counts)
    unit = "Output Area 2021" if counts == "oa" else "LSOA 2021"
    res = rpts.surface(
        xy,
        unit=unit,
        group_unit=unit,
        definition="usual residents (TS001 Total)",
        description=f"TS001 {'OA' if counts == 'oa' else 'LSOA'} totals spread over residential "
        "postcodes (placed with the OA 2021 points)",
        range_note="k = 8 per Output Area 2021 in the LSOA, calibrated on London (94% of 2,000 "
        "half-mile ranges contain the OA-level reference)"
        if counts == "lsoa"
        else "k = 1 per postcode within an Output Area: assumed (no finer counts to calibrate "
        "it); pooled LSOAs use the calibrated 8 per Output Area",
    )
    # home-workers at the resident points of their MSOA, in proportion to residents
    nomove = t["msoa"]["nomove"].to_numpy(float)
    owner = t["lsoa"]["msoa"].to_numpy()[pt_lsoa]
    per_msoa = np.bincount(owner, weights=res.values, minlength=len(nomove))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(per_msoa[owner] > 0, res.values / per_msoa[owner], 0.0)
    res.extra["home_workers"] = nomove[owner] * share
    assert res.group is not None  # a dasymetric surface
    res.group_area = owner[np.unique(res.group, return_index=True)[1]]
    wpts, wrk_area = _workers(t)
    wrk = wpts.surface(
        xy,
        unit="Workplace Zone 2011",
        group_unit="MSOA 2021",
        definition="people who travel in to work here (ODWP01 destination - nomove)",
        description="ODWP01 MSOA counts spread over 2011 Workplace Zone centroids",
        range_note="k = 1 per Workplace Zone: assumed (no finer workplace counts exist to "
        "calibrate it)",
    )
    wrk.group_area = wrk_area
    crs, coverage, pieces = builtin.coverage(NAME)
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
        workers=wrk,
        attribution=meta["attribution"],
        caveats=[
            DASYMETRIC_CAVEAT,
            "Coverage and places from simplified MSOA 2021 boundaries (about 36 vertices each): "
            "a catchment on the coast may show a coverage slightly off 100%.",
        ],
        workers_caveats=[LOCKDOWN_CAVEAT],
        country="GB",
        places=_places(t["places"], t["zones"]),
        origin="built-in",
        commuting=_commuting(t),
    )


def load_builtin(counts: str | None = None, *, use_cache: bool = True) -> PopulationLayer:
    """The built-in England & Wales layer, built from the shipped tables once and cached.

    Parameters
    ----------
    counts : str or None
        ``"oa"`` (default) or ``"lsoa"`` (LSOA totals only).
    use_cache : bool
        Read and write the built layer in the cache (:mod:`.cache`).

    Returns
    -------
    PopulationLayer

    Raises
    ------
    InputError
        When ``counts`` is unknown.
    """
    counts = counts or "oa"
    if counts not in COUNTS:
        raise InputError(f"counts {counts!r} is unknown: choose one of {', '.join(COUNTS)}")
    files = []
    for p in (*TABLES, "coverage"):
        with resources.as_file(builtin.file(f"{NAME}-{p}.parquet")) as f:
            files.append(f)
    with resources.as_file(builtin.file(POSTCODES_FILE)) as f:
        files.append(f)
    signature = (CLUSTERS_PER_OA, POSTCODES_PER_CLUSTER, WPZ_PER_CLUSTER, LSOA_CLUSTERS)

    def announce(counts: str) -> PopulationLayer:
        if use_cache:
            print(
                "geotarget: preparing the built-in England & Wales layer (first use, "
                "about 10 s; cached afterwards)...",
                file=sys.stderr,
                flush=True,
            )
        return build(counts)

    return cache.cached(
        announce, files, name=NAME, use_cache=use_cache, counts=counts, signature=signature
    )
