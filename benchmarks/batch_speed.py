"""Speed of many-venue analysis on the London layer, against a baseline measured in the same run.

Times, on random half-mile catchments in London (residents and workers):

(a) naive baseline -- one GeoPandas ``overlay`` per venue against the LSOA polygons -- on a sample;
(b) tobler's ``area_interpolate`` (``allocate_total=False``: the exact areal answer) on the same
    catchments, and checks that geotarget's ``areal`` method returns the same numbers;
(c) geotarget's batch path: ``areal`` and the default (``dasymetric``, a point layer) on 1,000,
    10,000 and 100,000 venues; counts plus all platforms except Meta's Special Ad Categories
    circle on the same sizes, against the one-venue path in a loop; ``meta_special`` (15-mile
    circles) on a sample;
(d) one venue end to end from the command line (start-up included);
(f) counting circles of 0.5 mi, 15 mi and 100 km (residents + workers, the default point
    surfaces): the aggregate index (``estimate.count``) against testing every candidate point
    (``estimate._count_by_pairs``, the previous path) in the same run, with the peak memory each
    allocates (tracemalloc), their largest difference, and the rate against tobler's;
(g) 10,000 venues with every platform (``--platforms all --special-category housing``: Meta
    judged on its Special Ad Categories rules, the 15-mile circle) against tobler's counts alone;
(e) ``geotarget batch`` from the command line, counts only, start-up, reading the venue CSV,
    checkpointing and writing the output included, with the child's peak memory; with
    ``--baseline-src DIR`` the same command on another source tree (e.g. a checkout of the
    previous commit) in the same run, and the ratio between the two;
(h) the platform table: ``geotarget batch --platforms all`` of 10,000 venues from the command
    line (start-up, counts and writing included; in one process, and in ``--processes 2``),
    with and without a special ad category declared (``--special-category housing``: Meta's
    15-mile circles; in one process and in two), against tobler's rate from (b) measured in the same run, with the
    child's peak memory; and the platform stage alone in this process, as array work and
    venue by venue (the reference path, on a sample).

Prints venues/second, speed-up ratios over (a) and (b), and peak memory (max RSS so far).
Needs ``pip install tobler`` and ../shared/data.  Run:  python benchmarks/batch_speed.py [--quick]
[--cli-only] [--circles-only] [--platforms-only] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import shapely
from _reference import SHARED, random_venues

from geotarget.batch import analyse_many
from geotarget.catchment import circles_in
from geotarget.layers import load_layer
from geotarget.projections import transformer


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def venues(layer, n, seed):
    pts = random_venues(shapely.union_all(layer.surface("residents", "areal").geoms), n, seed)
    lon, lat = transformer(layer.crs, "EPSG:4326").transform(shapely.get_x(pts), shapely.get_y(pts))
    return pd.DataFrame({"id": np.arange(n), "lat": lat, "lon": lon})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (1k/10k)")
    ap.add_argument("--cli-only", action="store_true", help="only (e), the batch command line")
    ap.add_argument("--baseline-src", metavar="DIR", help="(e) also on this source tree")
    ap.add_argument("--cli-venues", type=int, default=100_000, help="(e) venues (default 100k)")
    ap.add_argument("--circles-only", action="store_true", help="only (b), (f) and (g)")
    ap.add_argument(
        "--platforms-only", action="store_true", help="only (b) tobler and (h) the platform table"
    )
    ap.add_argument("--platform-venues", type=int, default=10_000, help="(g), (h) venues (10k)")
    args = ap.parse_args()
    import geopandas as gpd

    layer = load_layer(SHARED)
    res_a = layer.surface("residents", "areal")
    wrk_a = layer.surface("workers", "areal")
    lsoa = gpd.GeoDataFrame({"residents": res_a.values}, geometry=res_a.geoms, crs=layer.crs)
    msoa = gpd.GeoDataFrame({"workers": wrk_a.values}, geometry=wrk_a.geoms, crs=layer.crs)
    if args.cli_only:
        # tobler before and after, the faster taken (the stricter baseline on a shared machine)
        tob = [tobler_rate(layer, lsoa, msoa, 2_000)]
        cli_batch(layer, args.cli_venues, args.baseline_src, tob, lsoa, msoa)
        return
    if args.circles_only:
        tob_rate = tobler_rate(layer, lsoa, msoa, 2_000)
        circle_counts(layer, tob_rate)
        all_platforms(layer, args.platform_venues, tob_rate)
        return
    if args.platforms_only:
        # tobler before and after, the faster taken: on a shared machine the load changes
        # between runs, and the faster baseline is the stricter one
        tob = [tobler_rate(layer, lsoa, msoa, 2_000)]
        platform_table(layer, args.platform_venues, lambda: max(tob), lsoa, msoa, tob)
        return
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    print(
        f"London layer: {len(lsoa):,} LSOAs, {len(msoa):,} MSOAs; "
        f"{len(layer.residents.values):,} dasymetric resident points; max RSS {rss_mb():.0f} MB"
    )

    # (a) naive: one overlay per venue
    sample = venues(layer, 50, seed=5)
    circ = circles_in(sample.lat, sample.lon, np.full(len(sample), 804.672), layer.crs)
    t = time.perf_counter()
    naive = []
    for g in circ:
        c = gpd.GeoDataFrame(geometry=[g], crs=layer.crs)
        tot = 0.0
        for zones, col in ((lsoa, "residents"), (msoa, "workers")):
            z = zones.assign(_a=zones.area)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ov = gpd.overlay(z, c, how="intersection")
            tot += float((ov[col] * ov.area / ov["_a"]).sum())
        naive.append(tot)
    naive_rate = len(sample) / (time.perf_counter() - t)
    print(f"(a) naive overlay per venue: {naive_rate:,.1f} venues/s (50 venues)")

    # (b) tobler on the same kind of catchments
    from tobler.area_weighted import area_interpolate

    n_tob = 2_000 if args.quick else 10_000
    vt = venues(layer, n_tob, seed=6)
    ct = gpd.GeoDataFrame(
        {"id": vt.id},
        geometry=circles_in(vt.lat, vt.lon, np.full(n_tob, 804.672), layer.crs),
        crs=layer.crs,
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = area_interpolate(lsoa, ct, extensive_variables=["residents"], allocate_total=False)
        tw = area_interpolate(msoa, ct, extensive_variables=["workers"], allocate_total=False)
    tob_rate = n_tob / (time.perf_counter() - t)
    print(
        f"(b) tobler area_interpolate: {tob_rate:,.0f} venues/s ({n_tob:,} venues), "
        f"max RSS {rss_mb():.0f} MB"
    )

    # geotarget areal on the same catchments: same numbers?
    t = time.perf_counter()
    g_areal = analyse_many(vt, "0.5mi", layer=layer, method="areal", chunk_size=20_000)
    areal_rate = n_tob / (time.perf_counter() - t)
    diff_r = np.max(np.abs(g_areal["residents"].to_numpy() - tr["residents"].to_numpy()))
    diff_w = np.max(np.abs(g_areal["workers"].to_numpy() - tw["workers"].to_numpy()))
    print(
        f"(c) geotarget areal, same {n_tob:,} venues: {areal_rate:,.0f} venues/s = "
        f"{areal_rate / tob_rate:.2f}x tobler, {areal_rate / naive_rate:,.0f}x naive; "
        f"max |difference| from tobler: residents {diff_r:.2e}, workers {diff_w:.2e} people"
    )
    naive_g = analyse_many(sample, "0.5mi", layer=layer, method="areal")
    d_naive = np.max(np.abs((naive_g["residents"] + naive_g["workers"]).to_numpy() - naive))
    print(f"    areal vs naive overlay on its 50 venues: max |difference| {d_naive:.2e} people")

    for n in sizes:
        v = venues(layer, n, seed=7)
        t = time.perf_counter()
        g = analyse_many(v, "0.5mi", layer=layer, chunk_size=20_000)
        dt = time.perf_counter() - t
        print(
            f"(c) geotarget default ({layer.residents.method}, residents + workers), "
            f"{n:,} venues: {dt:.2f} s = {n / dt:,.0f} venues/s = "
            f"{n / dt / tob_rate:.1f}x tobler, {n / dt / naive_rate:,.0f}x naive; "
            f"max RSS {rss_mb():.0f} MB"
        )
        assert g["error"].isna().all()
    for n in sizes[:2]:
        v = venues(layer, n, seed=8)
        t = time.perf_counter()
        analyse_many(v, "0.5mi", layer=layer, method="areal", chunk_size=20_000)
        dt = time.perf_counter() - t
        print(
            f"(c) geotarget areal, {n:,} venues: {n / dt:,.0f} venues/s = "
            f"{n / dt / tob_rate:.2f}x tobler"
        )

    # platforms: the one-venue path per venue (a loop) against the batch path
    import geotarget

    plats = [
        "meta",
        "google_ads",
        "google_dv360",
        "microsoft",
        "linkedin",
        "tiktok",
        "snapchat",
        "x",
        "pinterest",
        "reddit",
        "nextdoor",
    ]  # all but meta_special
    v = venues(layer, 20, seed=9)
    geotarget.analyse((v.lat[0], v.lon[0]), "0.5mi", layer=layer, platforms=plats)  # warm
    t = time.perf_counter()
    for _, r in v.iterrows():
        geotarget.analyse((r.lat, r.lon), "0.5mi", layer=layer, platforms=plats)
    loop_rate = len(v) / (time.perf_counter() - t)
    print(
        f"(c) all platforms except meta_special, one-venue path in a loop: "
        f"{loop_rate:,.1f} venues/s ({1 / loop_rate * 1000:.0f} ms a venue)"
    )
    for n in sizes:
        v = venues(layer, n, seed=10)
        t = time.perf_counter()
        g = analyse_many(v, "0.5mi", layer=layer, chunk_size=20_000)
        table = geotarget.platforms_many(g, plats, layer=layer)
        dt = time.perf_counter() - t
        print(
            f"(c) counts + all platforms except meta_special, {n:,} venues: {dt:.2f} s = "
            f"{n / dt:,.0f} venues/s = {n / dt / loop_rate:,.0f}x the one-venue loop, "
            f"{n / dt / tob_rate:.2f}x tobler's counts alone, {n / dt / naive_rate:,.0f}x "
            f"naive counts alone; {len(table):,} rows; max RSS {rss_mb():.0f} MB"
        )
    n_special = 200
    v = venues(layer, n_special, seed=11)
    t = time.perf_counter()
    g = analyse_many(v, "0.5mi", layer=layer)
    geotarget.platforms_many(g, ["meta_special"], layer=layer)
    dt = time.perf_counter() - t
    print(
        f"(c) meta_special (15-mile circles), {n_special} venues: {dt:.2f} s = "
        f"{n_special / dt:,.1f} venues/s"
    )

    # (d) one venue from the command line, start-up included (layer cache warm)
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "geotarget",
            "analyse",
            "51.5202,-0.0937",
            "-r",
            "0.5mi",
            "--data-dir",
            str(SHARED),
        ],
        check=True,
        capture_output=True,
    )
    print(f"(d) one venue end to end from the command line: {time.perf_counter() - t:.2f} s")

    circle_counts(layer, tob_rate)
    all_platforms(layer, args.platform_venues, tob_rate)
    cli_batch(layer, args.cli_venues, args.baseline_src)
    tob = [tob_rate]
    platform_table(layer, args.platform_venues, lambda: max(tob), lsoa, msoa, tob)


def tobler_rate(layer, lsoa, msoa, n: int) -> float:
    """(b) alone: tobler's catchments/s on ``n`` half-mile circles (residents and workers)."""
    import geopandas as gpd
    from tobler.area_weighted import area_interpolate

    vt = venues(layer, n, seed=6)
    ct = gpd.GeoDataFrame(
        {"id": vt.id},
        geometry=circles_in(vt.lat, vt.lon, np.full(n, 804.672), layer.crs),
        crs=layer.crs,
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area_interpolate(lsoa, ct, extensive_variables=["residents"], allocate_total=False)
        area_interpolate(msoa, ct, extensive_variables=["workers"], allocate_total=False)
    rate = n / (time.perf_counter() - t)
    print(
        f"(b) tobler area_interpolate: {rate:,.0f} venues/s ({n:,} venues), max RSS {rss_mb():.0f} MB"
    )
    return rate


def _timed(f):
    """``f()``'s result, its seconds, and the peak memory allocated by a second run (MB,
    tracemalloc: timed apart, as tracing slows allocation)."""
    import tracemalloc

    t = time.perf_counter()
    out = f()
    dt = time.perf_counter() - t
    tracemalloc.start()
    f()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, dt, peak


def circle_counts(layer, tob_rate: float) -> None:
    """(f) residents + workers in circles of three radii: the aggregate index against the point
    test, same venues, same run."""
    from geotarget import estimate

    surfaces = [layer.surface(p) for p in ("residents", "workers")]
    for label, r, n_new, n_old in (
        ("0.5 mi", 804.672, 100_000, 20_000),
        ("15 mi", 24_140.16, 10_000, 100),
        ("100 km", 100_000.0, 10_000, 50),
    ):
        v = venues(layer, n_new, seed=12)
        lat, lon = v.lat.to_numpy(), v.lon.to_numpy()
        none = np.full(n_new, None, dtype=object)

        def new(lat=lat, lon=lon, r=r, none=none):
            c = estimate.Circles(lat, lon, np.full(len(lat), r), layer.crs)
            return [estimate.count(s, none[: len(lat)], circles=c) for s in surfaces]

        def old(lat=lat[:n_old], lon=lon[:n_old], r=r, none=none[:n_old]):
            c = estimate.Circles(lat, lon, np.full(len(lat), r), layer.crs)
            return [estimate._count_by_pairs(s, none, c) for s in surfaces]

        new()  # the indexes loaded (or built) once, as a long run would
        got, dt_new, mb_new = _timed(new)
        ref, dt_old, mb_old = _timed(old)
        diff = max(float(np.max(np.abs(g.estimate[:n_old] - o.estimate))) for g, o in zip(got, ref))
        rate_new, rate_old = n_new / dt_new, n_old / dt_old
        print(
            f"(f) {label} circles, residents + workers: aggregate index {rate_new:,.0f} venues/s "
            f"({n_new:,}; peak {mb_new:,.0f} MB) = {rate_new / tob_rate:.1f}x tobler; point test "
            f"{rate_old:,.0f} venues/s ({n_old:,}; peak {mb_old:,.0f} MB) = "
            f"{rate_old / tob_rate:.2f}x tobler; index / point test {rate_new / rate_old:,.1f}x; "
            f"max |difference| {diff:.1e} people"
        )


def all_platforms(layer, n: int, tob_rate: float) -> None:
    """(g) counts and every platform (``all``: meta_special included) for ``n`` venues."""
    import geotarget

    v = venues(layer, n, seed=13)
    t = time.perf_counter()
    g = analyse_many(v, "0.5mi", layer=layer, chunk_size=20_000)
    t_counts = time.perf_counter() - t
    table = geotarget.platforms_many(g, "all", layer=layer, special_category="housing")
    dt = time.perf_counter() - t
    print(
        f"(g) counts + every platform, special ad category declared (Meta judged on its "
        f"15-mile meta_special rules), {n:,} venues: {dt:.2f} s "
        f"(counts {t_counts:.2f} s) = {n / dt:,.0f} venues/s = {n / dt / tob_rate:.2f}x "
        f"tobler's counts alone; {len(table):,} rows; max RSS {rss_mb():.0f} MB"
    )


def platform_table(layer, n: int, tob_rate, lsoa, msoa, tob: list) -> None:
    """(h): the platform table from the command line and in this process, against tobler
    (``tob_rate()``: the fastest of tobler's rates in ``tob``, measured again after each run)."""
    import tempfile
    from pathlib import Path

    import geotarget
    import geotarget.batch.platforms as bp

    tmp = Path(tempfile.mkdtemp())
    csv = tmp / "venues.csv"
    venues(layer, n, seed=12).to_csv(csv, index=False)
    plat = ["--platforms", "all"]
    _batch_once(None, csv, tmp / "warm.parquet", [*plat, "--processes", "1"])  # caches warm
    runs = [
        ("all platforms, 1 process", [*plat, "--processes", "1"]),
        ("all platforms, --processes 2", [*plat, "--processes", "2"]),
        (
            "all platforms, 1 process, --special-category housing",
            [*plat, "--processes", "1", "--special-category", "housing"],
        ),
        (
            "all platforms, --processes 2, --special-category housing",
            [*plat, "--processes", "2", "--special-category", "housing"],
        ),
    ]
    for name, extra in runs:
        dt, mb = _batch_once(None, csv, tmp / "out.parquet", extra)
        tob.append(tobler_rate(layer, lsoa, msoa, 2_000))
        print(
            f"(h) geotarget batch, {n:,} venues, {name}, from the command line: {dt:.2f} s = "
            f"{n / dt:,.0f} venues/s = {n / dt / tob_rate():.2f}x tobler's counts (the fastest "
            f"tobler so far, {tob_rate():,.0f}/s); peak RSS {mb:,.0f} MB"
        )
    # the platform stage alone, in this process: array work against the per-venue reference
    v = venues(layer, n, seed=13)
    g = analyse_many(v, "0.5mi", layer=layer, chunk_size=20_000)
    geotarget.platforms_many(g.iloc[:50], "all", layer=layer)  # layer totals made once
    t = time.perf_counter()
    table = geotarget.platforms_many(g, "all", layer=layer)
    fast = n / (time.perf_counter() - t)
    m = min(n, 1_000)
    saved = bp._table_job
    bp._table_job = bp._table_job_per_venue
    try:
        t = time.perf_counter()
        ref = geotarget.platforms_many(g.iloc[:m], "all", layer=layer)
        slow = m / (time.perf_counter() - t)
    finally:
        bp._table_job = saved
    same = table[table.venue_id.isin(set(g.id.iloc[:m]))].reset_index(drop=True).equals(ref)
    print(
        f"(h) platform stage alone (all platforms, {len(table):,} rows): array work "
        f"{fast:,.0f} venues/s, venue by venue {slow:,.0f} venues/s ({m:,} venues) = "
        f"{fast / slow:.1f}x; {fast / tob_rate():.2f}x tobler's counts; same rows: {same}; "
        f"max RSS {rss_mb():.0f} MB"
    )


def _batch_once(src: str | None, csv, out, extra=()) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one ``geotarget batch`` process on ``src`` (None: this
    checkout)."""
    import os
    import tempfile

    env = dict(os.environ)
    cwd = None
    if src is not None:
        env["PYTHONPATH"] = src
        cwd = tempfile.mkdtemp()  # so that this checkout is not on the path
    cmd = [
        sys.executable,
        "-m",
        "geotarget",
        "batch",
        str(csv),
        "-r",
        "0.5mi",
        "-o",
        str(out),
        "--data-dir",
        str(SHARED),
        "--overwrite",
        *extra,
    ]
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "assert p.returncode == 0, p.stderr\n"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, *cmd],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    )
    dt, mb = (float(x) for x in p.stdout.split())
    return dt, mb


def cli_batch(layer, n: int, baseline_src: str | None, tob=None, lsoa=None, msoa=None) -> None:
    """(e): ``geotarget batch`` of ``n`` venues from the command line (and on
    ``baseline_src``); with ``tob`` (tobler's rates so far) also against the fastest of them,
    measured once more after the runs."""
    import tempfile
    from pathlib import Path

    tmp = Path(tempfile.mkdtemp())
    csv = tmp / "venues.csv"
    venues(layer, n, seed=5).to_csv(csv, index=False)
    _batch_once(None, csv, tmp / "warm.parquet")  # layer cache warm for both
    runs = {"this checkout": None}
    if baseline_src:
        runs[f"baseline {baseline_src}"] = baseline_src
    times = {}
    for name, src in runs.items():
        dt, mb = _batch_once(src, csv, tmp / "out.parquet")
        times[name] = dt
        print(
            f"(e) geotarget batch, {n:,} venues, counts only, from the command line "
            f"({name}): {dt:.2f} s = {n / dt:,.0f} venues/s; peak RSS {mb:,.0f} MB"
        )
    if baseline_src:
        base = times[f"baseline {baseline_src}"]
        print(f"(e) this checkout / baseline: {base / times['this checkout']:.2f}x the speed")
    if tob is not None:
        tob.append(tobler_rate(layer, lsoa, msoa, 2_000))
        rate = n / times["this checkout"]
        print(
            f"(e) this checkout: {rate:,.0f} venues/s = {rate / max(tob):.2f}x tobler's rate "
            f"(the fastest of {len(tob)} tobler runs in this run, {max(tob):,.0f}/s)"
        )


if __name__ == "__main__":
    main()
