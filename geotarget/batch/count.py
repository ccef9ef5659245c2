"""Many venues at once: one vectorised query per chunk of venues, layers loaded once.

``analyse_many(df, radius="0.5mi", data_dir=...)`` returns a GeoDataFrame with one row per venue
(the input's columns kept, then the estimates); rows that cannot be analysed (unknown postcode,
bad coordinates, no layer) carry the reason in ``error`` and do not stop the run.  Counting is
the same code as the single-venue path (``geotarget.estimate``), on many catchments at once, so
the two agree to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import estimate as est
from ..catchment import WIDE_M, circle, circles_in
from ..errors import InputError
from ..layers import PopulationLayer, resolve_layer
from ..layers.builtin import GB
from ..layers.registry import builtin_name_at, load_builtin, reaches_other_many
from ..layers.workers_table import with_workers_table
from ..settings import CHUNK_SIZE, MAX_RADIUS_M
from ..venue import Venue
from .venues import ID_COLUMN, prepare

if TYPE_CHECKING:
    import geopandas as gpd

#: the count columns :func:`geotarget.analyse_many` adds to the venue table
RESULT_COLUMNS = [
    "residents",
    "residents_low",
    "residents_high",
    "workers",
    "workers_low",
    "workers_high",
    "home_workers",
    "coverage",
    "radius_m",
    "layer",
    "method",
    "error",
]


def count_chunk(
    layer: PopulationLayer, lat, lon, radius_m, *, method: str | None = None
) -> pd.DataFrame:
    """Residents, workers and coverage for many circular catchments on one layer.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    lat, lon : numpy.ndarray of float
        The venues (WGS84).
    radius_m : numpy.ndarray of float
        Each catchment's radius, in metres.
    method : str, optional
        The estimation method (default: the layer's own).

    Returns
    -------
    pandas.DataFrame
        One row per catchment: ``coverage`` (the share inside the layer's coverage) and, per
        population, the estimate with its ``_low``/``_high`` range (NaN where the layer has
        no such counts or the catchment lies wholly outside its coverage), plus the surfaces'
        other counts (``home_workers``).
    """
    n = len(lat)
    need_polys = any(
        s is not None and s.kind != "points"
        for s in (layer.surface("residents", method), layer.surface("workers", method))
    )
    circles = est.Circles(lat, lon, radius_m, layer.crs)
    # coverage: a circle well inside one coverage piece is fully covered; polygons (geodesic
    # vertices, the costly part) are built only where needed
    inside = layer.surely_covered(circles.centres, radius_m)
    polys = np.full(n, None, dtype=object)
    build = ~inside if not need_polys else np.ones(n, bool)
    wide = np.asarray(radius_m, dtype=float) > WIDE_M
    narrow = build & ~wide
    if narrow.any():
        polys[narrow] = circles_in(lat[narrow], lon[narrow], radius_m[narrow], layer.crs)
    cov = np.ones(n)
    todo = ~inside & ~wide
    if todo.any():
        cov[todo] = layer.coverage_fraction(polys[todo])
    for i in np.flatnonzero(build & wide):  # a cap round the globe: the part the layer sees
        cap = circle(Venue(float(lat[i]), float(lon[i])), float(radius_m[i]), max_radius=None)
        polys[i], share = layer.catchment_coverage(cap)
        cov[i] = 1.0 if inside[i] else share
    out = {"coverage": cov}
    for pop in ("residents", "workers"):
        s = layer.surface(pop, method)
        if s is None:
            for suf in ("", "_low", "_high"):
                out[pop + suf] = np.full(n, np.nan)
            continue
        c = est.count(s, polys, circles=circles)
        out[pop], out[pop + "_low"], out[pop + "_high"] = c.estimate, c.low, c.high
        for k, v in c.extra.items():
            out[k] = v
    res = pd.DataFrame(out)
    if layer.parts:
        missing = np.array([p is None for p in polys], dtype=bool)
        if missing.any():  # circles surely covered were counted without their polygons
            polys[missing] = circles_in(lat[missing], lon[missing], radius_m[missing], layer.crs)
        _by_part(layer, res, polys)
    outside = res["coverage"].to_numpy() <= 0
    for pop in ("residents", "workers"):  # nothing is known outside coverage: not zero
        for suf in ("", "_low", "_high"):
            res.loc[outside, pop + suf] = np.nan
    if "home_workers" in res:
        res.loc[outside, "home_workers"] = np.nan
    return res


def _by_part(layer: PopulationLayer, res: pd.DataFrame, polys: np.ndarray) -> None:
    """A combined layer (``gb-census``): the one-venue rules of
    :func:`geotarget.analysis.analyse` for its parts, circle by circle, on ``res``.

    Workers are counted in the parts that have them; a circle reaching a part without them but
    none with them has no workers (empty, as ``analyse`` gives none).  Residents' ages are
    known in some parts only (``age_base``: the residents whose ages are known): where none
    of the circle's residents has ages, ``aged_*`` are empty; ``age_base`` is kept only where
    it is some of the residents, not all (as in ``analyse``'s ``residents.age_base``).
    """
    total = layer.coverage_fraction(polys)
    shares = {p.name: p.fraction(polys) for p in layer.parts if p.pieces is not None}
    rest = np.maximum(0.0, total - sum(shares.values(), np.zeros(len(polys))))
    for p in layer.parts:
        if p.pieces is None:
            shares[p.name] = rest
    lacking = np.zeros(len(polys), bool)
    have = np.zeros(len(polys))
    for p in layer.parts:
        if p.workers_unavailable:
            lacking |= shares[p.name] > 0
        else:
            have += shares[p.name]
    if "workers" in res and layer.workers is not None:
        none = lacking & (have <= 0.0)
        for c in ("workers", "workers_low", "workers_high", "home_workers"):
            if c in res:
                res.loc[none, c] = np.nan
    if "age_base" in res:
        base, est_r = res["age_base"].to_numpy(float), res["residents"].to_numpy(float)
        some = base < est_r - 0.5
        unknown = some & (base <= 0.5)
        for c in [c for c in res.columns if c.startswith("aged_")]:
            res.loc[unknown, c] = np.nan
        res.loc[~some | unknown, "age_base"] = np.nan


def _count_job(layer, lat, lon, radius_m, method, _idx):
    return count_chunk(layer, lat, lon, radius_m, method=method)


def _travel_job(layer, net, lat, lon, lim, method, _idx):
    from .travel import count_travel_chunk

    return count_travel_chunk(layer, lat, lon, net, lim, method=method)


def _dask_tasks(
    jobs: list, trip: tuple[Any, Any] | None, lat, lon, rad, method: str | None
) -> tuple[Callable, list, tuple]:
    """The Dask function, its tasks ``(layer, args)`` and the objects each worker gets once
    (the network of a walk or drive, as the layer)."""
    if trip is None:
        return _count_job, [(lay, (lat[i], lon[i], rad[i], method, i)) for lay, i in jobs], ()
    lim, net = trip
    tasks: list = [(lay, (net, lat[i], lon[i], lim, method, i)) for lay, i in jobs]
    return _travel_job, tasks, (net,)


def analyse_many(
    venues: pd.DataFrame,
    radius: str | float | None = None,
    *,
    data_dir: str | Path | None = None,
    layer: str | Path | PopulationLayer | None = None,
    method: str | None = None,
    counts: str | None = None,
    workers_table: str | Path | None = None,
    max_radius: str | float | None = MAX_RADIUS_M,
    chunk_size: int = CHUNK_SIZE,
    done: pd.DataFrame | None = None,
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
    progress: Callable[[int], None] | None = None,
    scheduler: str = "local",
    dask_address: str | None = None,
    workers: int | None = None,
    client: Any = None,
    walk: str | float | None = None,
    drive: str | float | None = None,
    walk_speed: str | float | None = None,
    network: Any = None,
) -> gpd.GeoDataFrame:
    """Analyse many venues at once: one row per venue, counted chunk by chunk.

    Parameters
    ----------
    venues
        A table with ``id`` plus ``lat``/``lon`` (WGS84) or ``postcode``, and optionally a
        ``radius`` column (with unit, e.g. ``"800m"``); other columns are kept.
    radius
        The radius for rows without one (``"0.5mi"``, ``"800m"``).
    data_dir, layer, method, counts, workers_table
        As for :func:`geotarget.analyse`; by default each venue gets the built-in layer that
        covers it.  With ``workers_table`` the rows gain ``workers_source``, the table's file
        (a venue outside England & Wales is then a failed row).
    max_radius
        The largest radius accepted (default 100 km); ``None`` for no limit.
    chunk_size
        Venues per chunk: the unit of ``on_chunk``, ``progress`` and Dask tasks.
    done
        Rows already computed (from a checkpoint): those ids are not counted again.
    on_chunk
        Receives each finished chunk of rows (for checkpointing).
    progress
        Receives the number of venues just finished.
    scheduler, dask_address, workers, client
        ``scheduler="dask"`` spreads the chunks over a Dask cluster (``client``,
        ``dask_address``, or a LocalCluster of ``workers``), the layer sent once per worker.
    walk, drive, walk_speed, network
        Instead of a radius: every venue's walk (``"10min"``, ``"800m"``) or drive over the OSM
        extract ``network``, as for :func:`geotarget.analyse`; point layers are counted with no
        polygon built, in chunked searches (:mod:`geotarget.batch.travel`).  Adds ``clipped``
        (the search reached the edge of the network data: a lower bound) and ``catchment``
        (the walk or drive in words, with the walking speed: ``"10-minute walk (4.8 km/h, 800
        m (0.497 mi))"``); ``radius_m`` is empty.  On Dask the network goes to each worker
        once, as the layer does; the rows are the same.

    Returns
    -------
    geopandas.GeoDataFrame
        The venue points (WGS84) in the input's order, with the input's columns, then
        ``residents``, ``residents_low``, ``residents_high``, the same for ``workers``,
        ``home_workers``, ``coverage``, ``radius_m``, ``layer``, ``method`` and ``error`` (why a
        row could not be analysed; such rows do not stop the run).

    Raises
    ------
    InputError
        For a problem with the whole table (no ``id`` column, duplicate ids, no radius at all).
    """
    import geopandas as gpd

    trip = _trip(venues, radius, walk, drive, walk_speed, network)
    if trip is not None:
        radius, max_radius = "1m", None  # a stand-in: the rows' radius is not used
    prep = prepare(venues, radius, max_radius=max_radius)
    if done is not None and len(done):
        todo_mask = ~prep[ID_COLUMN].astype(str).isin(done[ID_COLUMN].astype(str))
    else:
        todo_mask = pd.Series(True, index=prep.index)
    todo = prep[todo_mask]
    results = []
    lay_fixed = with_workers_table(resolve_layer(layer, data_dir, counts=counts), workers_table)
    layer_of, errors, layers = _layers_for(todo, lay_fixed, counts, workers_table)
    if trip is not None:
        _off_network(trip[1], todo, layer_of, errors)
    base = todo.drop(columns=["_lat", "_lon", "_radius_m", "_error"])
    jobs = [
        (lay, idx[start : start + chunk_size])
        for name, lay in layers.items()
        for idx in [np.nonzero(layer_of == name)[0]]
        for start in range(0, len(idx), chunk_size)
    ]

    # a walk's or drive's rows say which, its walking speed included
    travel_columns = {} if trip is None else {"catchment": trip[0].describe()}

    def emit(idx, columns: dict) -> None:
        """Rows ``idx`` of the venue table with ``columns`` added: kept, checkpointed, counted."""
        part = base.iloc[idx].reset_index(drop=True)
        for c, v in {**columns, **travel_columns}.items():
            part[c] = v
        part["radius_m"] = todo["_radius_m"].to_numpy()[idx] if trip is None else np.nan
        part["_lat"] = todo["_lat"].to_numpy()[idx]
        part["_lon"] = todo["_lon"].to_numpy()[idx]
        results.append(part)
        if on_chunk is not None:
            on_chunk(part)
        if progress is not None:
            progress(len(idx))

    def finish(lay, idx, counted):
        s = lay.surface("residents", method)
        # a catchment wholly outside the layer is a failed row, with its reason (a partly
        # covered one keeps its lower bounds and its coverage share)
        outside = counted["coverage"].to_numpy() <= 0
        why = (
            f"the catchment lies entirely outside the coverage of layer {lay.name}: "
            "nothing is known there (not zero people); use a layer that covers the venue"
        )
        emit(
            idx,
            {
                **{c: counted[c].to_numpy() for c in counted.columns},
                "layer": lay.name,
                "method": s.method if s is not None else "",
                # a Series of objects: None stays None (pandas 3 would make NaN of it in a
                # string column)
                "error": pd.Series([why if o else None for o in outside], dtype=object),
                **(
                    {"workers_source": lay.workers_table["file"]}
                    if lay.workers_table is not None
                    else {}
                ),
            },
        )

    lat_a, lon_a, rad_a = (todo[c].to_numpy() for c in ("_lat", "_lon", "_radius_m"))
    if scheduler == "dask" and jobs:
        from .dask import run_dask

        fn, tasks, shared = _dask_tasks(jobs, trip, lat_a, lon_a, rad_a, method)
        for (lay, args), counted in run_dask(
            tasks, fn, client=client, address=dask_address, workers=workers, broadcast=shared
        ):
            finish(lay, args[-1], counted)
    else:
        for lay, idx in jobs:
            finish(lay, idx, _count_here(lay, lat_a[idx], lon_a[idx], rad_a[idx], method, trip))

    bad = np.nonzero(np.array([e is not None for e in errors], dtype=bool))[0]
    if len(bad):
        emit(bad, {"error": errors[bad]})
    frames = ([done] if done is not None and len(done) else []) + results
    out = pd.concat(frames, ignore_index=True) if frames else base.iloc[:0].copy()
    for c in RESULT_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan if c not in ("layer", "method", "error") else None
    order = {v: i for i, v in enumerate(venues[ID_COLUMN].astype(str))}
    out = out.iloc[np.argsort(out[ID_COLUMN].astype(str).map(order).to_numpy(), kind="stable")]
    geom = gpd.points_from_xy(out["_lon"], out["_lat"])
    return gpd.GeoDataFrame(
        out.drop(columns=["_lat", "_lon"]).reset_index(drop=True), geometry=geom, crs="EPSG:4326"
    )


def _count_here(
    lay: PopulationLayer,
    lat: np.ndarray,
    lon: np.ndarray,
    radius_m: np.ndarray,
    method: str | None,
    trip: tuple[Any, Any] | None,
) -> pd.DataFrame:
    """One chunk counted in this process: circles, or walks / drives."""
    if trip is None:
        return count_chunk(lay, lat, lon, radius_m, method=method)
    from .travel import count_travel_chunk

    lim, net = trip
    return count_travel_chunk(lay, lat, lon, net, lim, method=method)


def _off_network(net: Any, todo: pd.DataFrame, layer_of: np.ndarray, errors: np.ndarray) -> None:
    """Rows too far from every street get their reason and no layer."""
    from .travel import off_network

    ok = np.flatnonzero(layer_of != None)  # noqa: E711 -- an object array
    why = off_network(net, todo["_lat"].to_numpy()[ok], todo["_lon"].to_numpy()[ok])
    for i, w in zip(ok, why):
        if w is not None:
            errors[i], layer_of[i] = w, None


def _trip(
    venues: pd.DataFrame,
    radius: str | float | None,
    walk: str | float | None,
    drive: str | float | None,
    walk_speed: str | float | None,
    network: Any,
) -> tuple[Any, Any] | None:
    """The walk or drive asked for, as ``(limit, network)``, or ``None`` for circles."""
    from .travel import trip_of

    if (walk is None) != (drive is None) and (radius is not None or "radius" in venues.columns):
        raise InputError("give a radius or a walk/drive, not both (drop the 'radius' column)")
    trip = trip_of(walk, drive, walk_speed, network)
    return trip


def _layers_for(
    todo: pd.DataFrame,
    fixed: PopulationLayer | None,
    counts: str | None = None,
    workers_table: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, PopulationLayer]]:
    """Per row: the name of its layer (``fixed``, else the built-in layer covering it, or the
    Great Britain layer when its circle reaches across the England-Scotland border, as
    :func:`geotarget.layers.choose_layer` decides for one venue) and its error (so far, or why
    no layer covers it); and the layers by name."""
    ok = todo["_error"].isna().to_numpy()
    layer_of = np.full(len(todo), None, dtype=object)
    errors = np.array(
        [None if pd.isna(e) else str(e) for e in todo["_error"].to_numpy(dtype=object)],
        dtype=object,
    )
    layers: dict[str, PopulationLayer] = {}
    if fixed is not None:
        layer_of[ok] = fixed.name
        if ok.any():
            layers[fixed.name] = fixed
        return layer_of, errors, layers
    lat, lon, rad = (todo[c].to_numpy(dtype=float) for c in ("_lat", "_lon", "_radius_m"))
    for i in np.nonzero(ok)[0]:
        try:
            layer_of[i] = builtin_name_at(float(lat[i]), float(lon[i]))
        except Exception as e:  # NoCoverageError: the reason goes to the row
            errors[i] = str(e)
    for name in [n for n in dict.fromkeys(layer_of.tolist()) if n is not None]:
        rows = np.flatnonzero(layer_of == name)
        layer_of[rows[reaches_other_many(name, lat[rows], lon[rows], rad[rows])]] = GB
    for name in [n for n in dict.fromkeys(layer_of.tolist()) if n is not None]:
        rows = layer_of == name
        try:  # counts the layer lacks (InputError): the reason goes to its rows
            lay = load_builtin(name, counts)
        except Exception as e:
            errors[rows], layer_of[rows] = str(e), None
            continue
        try:  # a bad table stops the run (DataError); a layer it cannot apply to fails rows
            layers[name] = with_workers_table(lay, workers_table)
        except InputError as e:
            errors[rows], layer_of[rows] = str(e), None
    return layer_of, errors, layers
