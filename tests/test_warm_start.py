"""The warm one-venue path (issue 14): what it reads without pandas or geopandas gives the same
answers as the readers it replaces, and the cached layer (memory-mapped arrays, stored strip
index, checksums verified once) is the layer that was written.

Speed itself is measured by ``benchmarks/warm_start.py``, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from geotarget.layers import builtin, cache, cache_check, registry
from geotarget.layers.parquet import column_array
from geotarget.projections import transformer
from geotarget.venue import postcodes

ROOT = Path(__file__).resolve().parent.parent


# -- the postcode table, read with pyarrow alone -------------------------------------------------
def _district_by_pandas(outward: str) -> dict[int, tuple]:
    """The old reader: pyarrow's dataset filter, then pandas (the reference)."""
    import pyarrow.parquet as pq

    path = ROOT / "geotarget" / "data" / "postcodes_gb.parquet"
    t = pq.read_table(
        path,
        filters=[("outward", "==", outward)],
        columns=["inward", "easting", "northing", "terminated"],
    ).to_pandas()
    out = {}
    for k, e, n, term in zip(t["inward"], t["easting"], t["northing"], t["terminated"]):
        out.setdefault(int(k), tuple(None if pd.isna(v) else int(v) for v in (e, n, term)))
    return out


@pytest.mark.parametrize(
    "outward", ["EC2Y", "EH1", "DG16", "AB10", "ZE3", "E1", "W1A", "SW1A", "TD15", "CA6", "B1"]
)
def test_district_reader_matches_the_dataset_filter(outward):
    got = postcodes._district(outward)
    assert got == _district_by_pandas(outward)
    assert got  # every one of these districts exists


def test_district_reader_on_row_group_boundaries():
    """Districts that straddle two row groups are read whole (every unit, in order)."""
    import pyarrow.parquet as pq

    f = pq.ParquetFile(ROOT / "geotarget" / "data" / "postcodes_gb.parquet")
    j = f.schema_arrow.get_field_index("outward")
    edges = {f.metadata.row_group(g).column(j).statistics.max for g in range(3, 6)}
    for outward in sorted(edges):
        assert postcodes._district(outward) == _district_by_pandas(outward)


def test_lookup_unknown_and_terminated_postcodes_still_say_why():
    from geotarget.errors import PostcodeNotFoundError

    with pytest.raises(PostcodeNotFoundError, match="is unknown"):
        postcodes.lookup("EC2Y 9ZZ")
    table = postcodes._district("EC2Y")
    assert postcodes.lookup("EC2Y 8BN").easting == table[postcodes._pack("8BN")][0]


# -- Parquet columns without pandas ---------------------------------------------------------------
@pytest.mark.parametrize(
    "arr",
    [
        pa.chunked_array([[1.5, 2.5], [3.5]]),
        pa.chunked_array([[1.0, None, 3.0]]),
        pa.chunked_array([[1, None, 3]], type=pa.int32()),
        pa.chunked_array([[1, 2, 3]], type=pa.int16()),
        pa.chunked_array([["a", None, "c"]]),
        pa.chunked_array([[b"\x01\x02", b"", None]]),
        pa.chunked_array([[True, False]]),
        pa.chunked_array([[True, None]]),
        pa.chunked_array([[1.0, 2.0, 3.0, 4.0]]).slice(1, 2),
        pa.chunked_array([], type=pa.float64()),
    ],
)
def test_column_array_is_what_pandas_gives(arr):
    want = pa.table({"c": arr}).to_pandas()["c"].to_numpy()
    got = column_array(arr)
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype == object:
        assert list(got) == list(want) or all(
            (a is None and (b is None or b != b)) or a == b for a, b in zip(got, want)
        )
    else:
        assert np.array_equal(got, want, equal_nan=True)
    assert got.flags.writeable


# -- the built-in coverages, read without geopandas ----------------------------------------------
@pytest.mark.parametrize("name", list(builtin.BUILTIN))
def test_coverage_reader_matches_geopandas(name):
    import geopandas as gpd

    g = gpd.read_parquet(builtin.file(builtin.BUILTIN[name][1]))
    piece = g["piece"].to_numpy()
    geoms = np.asarray(g.geometry.values, dtype=object)
    crs, cov, pieces = builtin.coverage(name)
    assert crs == g.crs.to_string()
    assert cov.equals_exact(geoms[~piece][0], 0.0)
    assert bool(shapely.equals_exact(pieces, geoms[piece], 0.0).all())
    bcrs, box = builtin.coverage_box(name)
    assert bcrs == crs
    x0, y0, x1, y1 = g.total_bounds  # the box bounds every geometry of the file
    assert box[0] <= x0 and box[1] <= y0 and box[2] >= x1 and box[3] >= y1


def _choose_reference(lat, lon, catchment):
    """The old rule: every coverage polygon read, tested in order."""
    index = {n: builtin.coverage(n) for n in builtin.BUILTIN}
    for name, (crs, cov, _) in index.items():
        x, y = transformer("EPSG:4326", crs).transform(lon, lat)
        if cov.covers(shapely.Point(x, y)):
            for other, (ocrs, _, pieces) in index.items():
                if other == name or pieces is None:
                    continue
                g = catchment.to_crs(ocrs)
                cand = shapely.STRtree(pieces).query(g, predicate="intersects")
                if any(shapely.area(shapely.intersection(pieces[i], g)) > 0 for i in cand):
                    return builtin.GB
            return name
    return None


@pytest.mark.parametrize(
    "lat,lon,radius",
    [
        (51.5188, -0.0911, "0.5mi"),  # the City of London
        (55.9503, -3.1930, "0.5mi"),  # Edinburgh
        (54.9961, -3.0670, "5km"),  # Gretna: across the border
        (54.8925, -2.9329, "1km"),  # Carlisle
        (54.8925, -2.9329, "20km"),  # Carlisle, reaching Scotland
        (55.7710, -2.0054, "3km"),  # Berwick-upon-Tweed
        (53.4808, -2.2426, "2km"),  # Manchester
        (51.4816, -3.1791, "1km"),  # Cardiff
    ],
)
def test_layer_chosen_as_before(lat, lon, radius, monkeypatch):
    from geotarget.catchment import circle
    from geotarget.venue import Venue

    catch = circle(Venue(lat, lon), radius)
    picked = []
    monkeypatch.setattr(registry, "load_builtin", lambda name, counts=None: picked.append(name))
    registry.choose_layer(lat, lon, catchment=catch)
    assert picked == [_choose_reference(lat, lon, catch)]


def test_outside_and_swapped_venues_still_say_so():
    from geotarget.errors import NoCoverageError

    with pytest.raises(NoCoverageError, match="no built-in population layer covers"):
        registry.choose_layer(48.85, 2.35)  # Paris
    with pytest.raises(NoCoverageError, match="look swapped.*inside ew-census2021"):
        registry.choose_layer(-0.0911, 51.5188)


# -- the cached point surface: memory-mapped, its strip index stored ----------------------------
POINTS_CSV = "lat,lon,pop,wrk\n" + "".join(
    f"{55.90 + 0.0011 * (i % 97):.5f},{-3.30 + 0.0017 * (i // 97):.5f},{i % 13},{i % 7}\n"
    for i in range(3000)
)


@pytest.fixture()
def cached_points(tmp_path):
    from geotarget.layers.userfile import load_user_file

    src = tmp_path / "pts.csv"
    src.write_text(POINTS_CSV)
    built = load_user_file(src, residents_col="pop", workers_col="wrk", use_cache=False)
    folder = tmp_path / "cached"
    cache.write(built, folder)
    return built, folder


def test_cached_points_read_back_exactly(cached_points):
    from geotarget.estimate.circles import PointIndex, point_index

    built, folder = cached_points
    got = cache.read(folder)
    assert got is not None
    for pop in ("residents", "workers"):
        a, b = getattr(built, pop), getattr(got, pop)
        assert np.array_equal(a.values, b.values) and np.array_equal(a.xy, b.xy)
        assert list(a.ids.astype(str)) == list(b.ids.astype(str))
        assert (a.edge_m is None) == (b.edge_m is None)
        assert a.edge_m is None or np.array_equal(a.edge_m, b.edge_m)
        assert isinstance(b.values.base, np.memmap) or isinstance(b.values, np.memmap)
        b.values[0] += 0.0  # copy-on-write: writable, the file untouched
        # the stored strip index is the one sorting the points gives, with their positions
        stored = point_index(b, got.crs)
        fresh = PointIndex(b.xy, lambda: np.zeros((0, 3)), crs=got.crs)
        assert np.array_equal(stored.order, fresh.order)
        assert np.array_equal(stored.key, fresh.key)
        assert (stored.x0, stored.y0, stored.w, stored.span, stored.nstrips) == (
            fresh.x0,
            fresh.y0,
            fresh.w,
            fresh.span,
            fresh.nstrips,
        )
        assert stored._full is None  # every position stored: no transformation needed
        k = np.arange(len(stored.order))
        fresh_e = point_index(a, built.crs)
        assert all(np.array_equal(u, v) for u, v in zip(stored._ecef_at(k), fresh_e._ecef_at(k)))


@pytest.mark.parametrize("radius", [150.0, 800.0, 3_000.0])
def test_counts_from_the_cached_layer_are_the_built_layers(cached_points, radius):
    from geotarget import estimate as est

    built, folder = cached_points
    got = cache.read(folder)
    lat, lon = np.array([55.93, 55.95, 55.98]), np.array([-3.27, -3.22, -3.19])
    for lay in (built, got):
        c = est.Circles(lat, lon, np.full(3, radius), lay.crs)
        polys = np.full(3, None, dtype=object)
        r = est.count(lay.residents, polys, circles=c)
        if lay is built:
            want = r
    assert np.array_equal(r.estimate, want.estimate) and np.array_equal(r.low, want.low)
    assert np.array_equal(r.high, want.high) and np.array_equal(r.zones, want.zones)
    assert want.estimate.max() > 0


def test_damaged_strip_index_is_rebuilt_with_the_same_answer(cached_points, caplog):
    from geotarget.estimate.circles import PointIndex, point_index

    built, folder = cached_points
    f = folder / "surface0-strips-order.npy"
    b = bytearray(f.read_bytes())
    b[-3] ^= 0xFF
    f.write_bytes(bytes(b))
    got = cache.read(folder)  # the layer's own files are sound: read
    assert got is not None
    with caplog.at_level("WARNING"):
        ix = point_index(got.residents, got.crs)
    assert "fails its checksum" in caplog.text
    assert np.array_equal(
        ix.order, PointIndex(got.residents.xy, lambda: np.zeros((0, 3)), crs=got.crs).order
    )


def test_ids_and_places_are_read_when_first_used(cached_points):
    _, folder = cached_points
    got = cache.read(folder)
    assert callable(got.residents.__dict__["_ids"])
    assert len(got.residents.ids) == len(got.residents.values)
    assert not callable(got.residents.__dict__["_ids"])


# -- checksums verified once, then trusted while the file is unchanged ----------------------------
@pytest.mark.skipif(os.name != "posix", reason="status-change times are trusted on POSIX only")
def test_verified_files_are_not_hashed_again_until_they_change(cached_points, monkeypatch):
    from geotarget import files

    _, folder = cached_points
    calls = []
    real = files.sha256_of
    monkeypatch.setattr(files, "sha256_of", lambda p: calls.append(Path(p).name) or real(p))
    assert cache.read(folder) is not None
    assert calls and not (folder / cache_check.STAMP).exists()  # just written: racy, not kept
    monkeypatch.setattr(cache_check, "RACY_NS", -(10**18))  # as if written long ago
    calls.clear()
    assert cache.read(folder) is not None
    assert "surface0-value.npy" in calls
    stamp = json.loads((folder / cache_check.STAMP).read_text())
    assert "surface0-value.npy" in stamp
    calls.clear()
    assert cache.read(folder) is not None
    assert calls == []  # nothing hashed: every file verified and unchanged
    # a same-size change, its modification time put back: the status-change time tells
    f = folder / "surface0-value.npy"
    st = f.stat()
    b = bytearray(f.read_bytes())
    b[-1] ^= 1
    f.write_bytes(bytes(b))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.read(folder) is None
    assert "surface0-value.npy" in calls


def test_a_damaged_stamp_only_means_hashing_again(cached_points, monkeypatch):
    _, folder = cached_points
    monkeypatch.setattr(cache_check, "RACY_NS", -(10**18))
    assert cache.read(folder) is not None
    (folder / cache_check.STAMP).write_text('{"surface0-value.npy": [1, 2, 3')
    assert cache.read(folder) is not None
    (folder / cache_check.STAMP).write_text("[1]")
    assert cache.read(folder) is not None


# -- what a warm analyse imports ------------------------------------------------------------------
def test_a_warm_analyse_imports_neither_pandas_nor_geopandas():
    # a first run builds the cache if need be (the session's private cache folder)
    code = "from geotarget.cli import main; main(['analyse', 'EC2Y 8BN', '--radius', '0.5mi'])"
    warm = (
        "import sys\n"
        "from geotarget.cli import main\n"
        "assert main(['analyse', 'EC2Y 8BN', '--radius', '0.5mi']) == 0\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'geopandas'))\n"
        "print('HEAVY', bad[:3])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-c", warm], check=True, env=env, capture_output=True, text=True
    ).stdout
    assert "HEAVY []" in out


def test_scotland_is_cached_and_read_back_as_built():
    from geotarget.layers import scotland_census as sc

    built = sc.load_builtin("oa", use_cache=False)
    sc.load_builtin("oa")  # builds and writes the cache (or reads it)
    got = sc.load_builtin("oa")  # read from the cache
    a, b = built.residents, got.residents
    assert np.array_equal(a.values, b.values) and np.array_equal(a.xy, b.xy)
    assert np.array_equal(a.group, b.group) and np.array_equal(a.group_k, b.group_k)
    assert set(a.extra) == set(b.extra) == {"aged_16plus", "aged_18plus"}
    assert all(np.array_equal(a.extra[k], b.extra[k]) for k in a.extra)
    assert list(a.ids.astype(str)) == list(b.ids.astype(str))
    assert built.coverage.equals_exact(got.coverage, 0.0) and got.workers is None
    assert set(built.places.polygons) == set(got.places.polygons)
    assert all(
        np.array_equal(built.places.codes[k], got.places.codes[k]) for k in built.places.levels
    )
