"""Ad platforms for many venues: one row per venue and platform.

``platforms_many(results, "all", data_dir=...)`` takes the table :func:`geotarget.analyse_many`
returned and evaluates the platforms for every venue analysed, vectorised over venues
(:func:`geotarget.platforms.evaluate_many`): the same code as the one-venue path, so each row
equals ``geotarget.analyse(venue, radius, platforms=...).platforms`` for that venue.  Walks and
drives (``walk=``, ``network=``) are judged on each venue's walk polygon and search, made as the
one-venue path makes them, so their rows equal ``geotarget.analyse(venue, walk=..., network=...,
platforms=...).platforms``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .. import platforms as plat
from ..errors import InputError
from ..layers import PopulationLayer, load_layer, resolve_layer
from ..layers.workers_table import with_workers_table
from ..platforms import PlatformOptions
from ..result import PLATFORM_COLUMNS, platform_records
from ..settings import CHUNK_SIZE
from .travel import results_trip


def platforms_many(
    results,
    platforms="all",
    *,
    data_dir=None,
    layer=None,
    method: str | None = None,
    counts: str | None = None,
    workers_table: str | Path | None = None,
    options: PlatformOptions | None = None,
    budget: float | None = None,
    currency: str = "",
    segment_share: float | None = None,
    postcode_coverage: float | None = None,
    country: str | None = None,
    rules: str | Path | None = None,
    rule_overrides: list[str] | tuple[str, ...] | None = None,
    special_category: str | None = None,
    managed_account: bool | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    scheduler: str = "local",
    dask_address: str | None = None,
    workers: int | None = None,
    client=None,
    done: pd.DataFrame | None = None,
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
    processes: int = 1,
    walk: str | float | None = None,
    drive: str | float | None = None,
    walk_speed: str | float | None = None,
    network=None,
) -> pd.DataFrame:
    """The ad platforms judged for many venues: one row per venue and platform.

    Parameters
    ----------
    results
        The table :func:`geotarget.analyse_many` returned, or its CSV read back (positions in
        ``venue_lat`` / ``venue_lon``); rows with an ``error`` or outside their layer's
        coverage are left out.
    platforms
        ``"all"``, ``"meta,linkedin"`` or a list of platform ids.
    data_dir, layer, counts, workers_table
        The layer the results were counted on, if not the built-in one each row names, and
        the ``--workers-table`` file they were counted with (added as ``workers_source``).
    method
        Defaults to the one the results were counted with.
    options
        The advertiser's :class:`~geotarget.platforms.PlatformOptions`; or its fields as the
        keywords below, not both.
    budget, currency, segment_share, postcode_coverage, country
        Fields of :class:`~geotarget.platforms.PlatformOptions`, given as keywords.
    rules, rule_overrides, special_category, managed_account
        Fields of :class:`~geotarget.platforms.PlatformOptions`, given as keywords.
    chunk_size, progress, scheduler, dask_address, workers, client
        As for :func:`geotarget.analyse_many`: chunks of venues, locally or on a Dask cluster;
        the rows are the same either way.
    done, on_chunk
        Rows of this table already made (from a checkpoint), whose venues are not judged
        again; and a function receiving each finished chunk of rows.
    processes
        With ``scheduler="local"``: chunks judged in this many processes at once (forked from
        this one, so the layer is not copied; where ``fork`` is unavailable, one process).
        The venues are then split into at least this many chunks.  The rows are the same.
    walk, drive, walk_speed, network
        The walk or drive the results were counted with (as for
        :func:`geotarget.analyse_many`): each venue's walk polygon is then made (every
        platform's footprint must hold it) and its people counted by network cost.

    Returns
    -------
    pandas.DataFrame
        ``venue_id`` then the columns of ``Result.platforms``, venues in the order of
        ``results``, each venue's platforms best first; each row equals the one-venue
        ``geotarget.analyse(...).platforms`` row.
    """
    if scheduler not in ("local", "dask"):
        raise InputError(f"scheduler {scheduler!r}: use 'local' or 'dask'")
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or (chunk_size < 1)
    ):
        raise InputError(f"chunk size {chunk_size!r} must be a whole number of venues >= 1")
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) or processes < 1:
        raise InputError(f"processes {processes!r} must be a whole number >= 1")
    processes = processes if scheduler == "local" and _can_fork() else 1
    lat, lon = _positions(results)
    trip = results_trip(results, walk, drive, walk_speed, network)
    fixed = with_workers_table(resolve_layer(layer, data_dir, counts=counts), workers_table)
    opts = PlatformOptions.from_kwargs(
        options,
        budget=budget,
        currency=currency,
        segment_share=segment_share,
        postcode_coverage=postcode_coverage,
        country=country,
        rules=rules,
        rule_overrides=rule_overrides,
        special_category=special_category,
        managed_account=managed_account,
    )
    opts.check_layer(fixed)
    cat = plat.load(opts.rules, overrides=opts.rule_overrides)
    ids = plat.select(cat, platforms, opts.special_category)
    ok = results["error"].isna().to_numpy() & (
        pd.to_numeric(results["coverage"], errors="coerce").to_numpy(float) > 0
    )
    ids_str = results["id"].astype(str).to_numpy()
    if done is not None and len(done):
        ok &= ~np.isin(ids_str, done["venue_id"].astype(str).to_numpy())
    names = results["layer"].astype(str).to_numpy()
    jobs = []
    for name in dict.fromkeys(names[ok].tolist()):
        sel = np.nonzero(ok & (names == name))[0]
        lay = (
            fixed
            if fixed is not None
            else with_workers_table(load_layer(name, counts=counts), workers_table)
        )
        opts.check_layer(lay)
        how = {
            "method": _method_of(results.iloc[sel], lay, method),
            "options": opts,
            "limit": None if trip is None else trip[0],
        }
        size = chunk_size
        if processes > 1:  # at least one chunk a process, of MIN_PARALLEL venues or more
            size = min(chunk_size, max(-(-len(sel) // processes), MIN_PARALLEL))
        for s in range(0, len(sel), size):
            part = sel[s : s + size]
            jobs.append(
                (
                    lay,
                    (
                        lat[part],
                        lon[part],
                        pd.to_numeric(results["radius_m"].iloc[part]).to_numpy(float),
                        results["id"].iloc[part].to_numpy(),
                        part,
                        ids,
                        cat,
                        how,
                        None if trip is None else trip[1],
                    ),
                )
            )
    frames = []

    def finished(frame: pd.DataFrame) -> None:
        frames.append(frame)
        if on_chunk is not None:
            on_chunk(frame.drop(columns="_pos"))

    for frame in _run(jobs, scheduler, processes, client, dask_address, workers, progress):
        finished(frame)
    if done is not None and len(done):
        old = done[["venue_id"] + PLATFORM_COLUMNS].copy()
        where = {v: i for i, v in enumerate(ids_str.tolist())}
        old["_pos"] = old["venue_id"].astype(str).map(where).fillna(len(ids_str)).astype(int)
        frames.insert(0, old)
    if not frames:
        return pd.DataFrame(columns=["venue_id"] + PLATFORM_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    # venues in the order of ``results``; within a venue, best platform first
    order = np.argsort(table.pop("_pos").to_numpy(), kind="stable")
    return _named_source(table.iloc[order].reset_index(drop=True), workers_table)


def _named_source(table: pd.DataFrame, workers_table: str | Path | None) -> pd.DataFrame:
    """``table`` with ``workers_source``, the workers table's file, when one was given (every
    row's workers came from it: venues it cannot apply to failed before)."""
    if workers_table is not None:
        table["workers_source"] = Path(workers_table).name
    return table


#: the fewest venues a chunk is cut to so that several processes share the work
MIN_PARALLEL = 1000
#: the jobs of the running :func:`_run_forked` (read by the forked processes, never pickled)
_JOBS: list = []


def _can_fork() -> bool:
    import multiprocessing as mp

    return "fork" in mp.get_all_start_methods()


def _forked_job(k: int) -> pd.DataFrame:
    lay, args = _JOBS[k]
    return _table_job(lay, *args)


def _run_forked(jobs: list, processes: int):
    """For each job ``(layer, args)``, ``_table_job(layer, *args)`` in ``processes`` forked
    processes (which inherit the layer and its indexes); yields ``(job, frame)`` as they
    finish."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _JOBS[:] = jobs
    try:
        with ProcessPoolExecutor(
            max_workers=min(processes, len(jobs)), mp_context=mp.get_context("fork")
        ) as pool:
            futures = {pool.submit(_forked_job, k): job for k, job in enumerate(jobs)}
            for f in as_completed(futures):
                yield futures[f], f.result()
    finally:
        _JOBS.clear()


def _run(
    jobs: list,
    scheduler: str,
    processes: int,
    client,
    address: str | None,
    workers: int | None,
    progress: Callable[[int], None] | None,
):
    """The frames of ``jobs``, as they finish: on Dask, in forked processes, or here."""
    if scheduler == "dask" and jobs:
        from .dask import run_dask

        nets = tuple({id(a[-1]): a[-1] for _, a in jobs if a[-1] is not None}.values())
        runs = run_dask(
            jobs, _table_job, client=client, address=address, workers=workers, broadcast=nets
        )
    elif processes > 1 and len(jobs) > 1:
        runs = _run_forked(jobs, processes)
    else:
        for lay, (la, lo, r, vids, part, ids, cat, how, net) in jobs:
            yield _table_job(lay, la, lo, r, vids, part, ids, cat, how, net, progress=progress)
        return
    for (_, args), frame in runs:
        yield frame
        if progress is not None:
            progress(len(args[4]))


def _positions(results) -> tuple[np.ndarray, np.ndarray]:
    """Venue latitudes and longitudes of an ``analyse_many`` table (its points, or the
    ``venue_lat``/``venue_lon`` columns of its CSV)."""
    need = {"id", "error", "coverage", "radius_m", "layer"}
    if not isinstance(results, pd.DataFrame) or need - set(results.columns):
        have = list(results.columns) if isinstance(results, pd.DataFrame) else type(results)
        raise InputError(
            f"platforms need the table analyse_many returned (columns "
            f"{', '.join(sorted(need))} and the venues' positions); got {have}"
        )
    if "geometry" in results.columns and hasattr(results, "geometry"):
        g = results.geometry
        return g.y.to_numpy(float), g.x.to_numpy(float)
    if {"venue_lat", "venue_lon"} <= set(results.columns):
        return (
            pd.to_numeric(results["venue_lat"], errors="coerce").to_numpy(float),
            pd.to_numeric(results["venue_lon"], errors="coerce").to_numpy(float),
        )
    raise InputError(
        "platforms need the venues' positions: a GeoDataFrame from analyse_many, "
        "or its CSV with venue_lat and venue_lon"
    )


def _method_of(rows, lay: PopulationLayer, method: str | None) -> str | None:
    """The method asked for, else the one the rows were counted with (None: the layer's own)."""
    if method is not None or "method" not in rows.columns:
        return method
    used = set(rows["method"].dropna().astype(str)) - {""}
    default = lay.residents.method if lay.residents is not None else None
    if len(used) == 1 and used != {default}:
        return used.pop()
    return None


#: venues whose footprints are measured together inside a chunk (the per-venue reference path:
#: venues whose row dicts are turned into a compact table before the next ones are made)
SUB_CHUNK = 1000


#: venues whose walks are measured together (each search holds a row of the network's size)
WALK_SUB_CHUNK = 100


def _table_job(layer, lat, lon, radius_m, vids, part, ids, cat, how, net=None, progress=None):
    """The platform table (with ``venue_id`` and the venue's position ``_pos``) of one chunk,
    as array work over its venues (:func:`geotarget.platforms.table.platform_table`); walks or
    drives (``net`` and ``how["limit"]``) on their polygons and searches."""
    from ..platforms.table import frame, platform_table
    from .travel import walk_facts

    opts = how["options"] or PlatformOptions()
    frames = []
    step = SUB_CHUNK if net is None else WALK_SUB_CHUNK
    for s in range(0, len(lat), step):
        sl = slice(s, s + step)
        la, lo = lat[sl], lon[sl]
        facts = (
            _circle_facts(layer, la, lo, np.asarray(radius_m[sl], dtype=float), how["method"])
            if net is None
            else walk_facts(layer, la, lo, net, how["limit"], how["method"])
        )
        country = opts.country or layer.country
        plats = plat.applicable(cat, ids, opts.special_category, country)
        cols = platform_table(layer, facts, plats, cat, opts)
        v = cols.pop("_venue")
        cols = {"venue_id": vids[sl][v], "_pos": part[sl][v], **cols}
        frames.append(frame(cols, slice(None)))
        if progress is not None:
            progress(len(la))
    return pd.concat(frames, ignore_index=True)


def _circle_facts(layer, la, lo, r, method):
    """The footprint facts of circles of radius ``r`` (metres) around venues ``la``, ``lo``."""
    from .. import estimate as est
    from ..catchment import circles_in
    from ..platforms.footprints import Facts

    # point surfaces count circles without their polygons: those are made only where the
    # places need them (Facts.polygons)
    polys = (
        np.full(len(la), None, dtype=object)
        if all(
            layer.surface(pop, method) is None or layer.surface(pop, method).kind == "points"
            for pop in ("residents", "workers")
        )
        else circles_in(la, lo, r, layer.crs)
    )
    return Facts(layer, la, lo, r, polys, est.Circles(la, lo, r, layer.crs), method)


def _table_job_per_venue(
    layer, lat, lon, radius_m, vids, part, ids, cat, how, net=None, progress=None
):
    """:func:`_table_job` one venue at a time (the reference the array work is tested against):
    each venue's rows from :func:`geotarget.platforms.evaluate_many` (circles only)."""
    assert net is None, "the per-venue reference takes circles"
    frames = []
    for s in range(0, len(lat), SUB_CHUNK):
        sl = slice(s, s + SUB_CHUNK)
        rows = plat.evaluate_many(
            layer,
            lat[sl],
            lon[sl],
            radius_m[sl],
            ids,
            cat,
            progress=progress,
            chunk_size=SUB_CHUNK,
            method=how["method"],
            options=how["options"],
        )
        recs = [
            {"venue_id": vid, "_pos": pos, **rec}
            for vid, pos, venue_rows in zip(vids[sl], part[sl], rows)
            for rec in platform_records(venue_rows)
        ]
        frames.append(pd.DataFrame(recs, columns=["venue_id", "_pos"] + PLATFORM_COLUMNS))
    return pd.concat(frames, ignore_index=True)
