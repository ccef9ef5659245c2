"""The platform table as array work (geotarget.platforms.table) equals the per-venue path.

The batch judges every platform for all venues of a chunk at once; the per-venue path
(``geotarget.batch.platforms._table_job_per_venue``: one ``Evaluator`` per venue and platform,
the code behind ``geotarget.analyse(...).platforms``) is kept as the reference.  Both must give
the same table: the same rows in the same order, every value and every column type equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

import geotarget
import geotarget.batch.platforms as bp
from geotarget.projections import transformer


def _both(results, platforms, **kw):
    fast = geotarget.platforms_many(results, platforms, **kw)
    saved = bp._table_job
    bp._table_job = bp._table_job_per_venue
    try:
        ref = geotarget.platforms_many(results, platforms, **kw)
    finally:
        bp._table_job = saved
    return fast, ref


def _venues(layer, n: int, seed: int) -> pd.DataFrame:
    """Venues inside the layer, some on its edge and some outside it, with mixed radii."""
    rng = np.random.default_rng(seed)
    cov = layer.coverage
    x0, y0, x1, y1 = cov.bounds
    inner = []
    while len(inner) < n:
        p = shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))
        inner += list(p[shapely.contains(cov, p)])
    inner = inner[:n]
    edge_n = max(n // 5, 1)
    ring = shapely.get_exterior_ring(max(shapely.get_parts(cov), key=shapely.area))
    edge = shapely.line_interpolate_point(ring, rng.uniform(0, 1, edge_n), normalized=True)
    outside = shapely.points([x0 - 20_000, x1 + 5_000], [y0 - 20_000, y1 + 3_000])
    pts = np.concatenate([np.array(inner, dtype=object), edge, outside])
    lon, lat = transformer(layer.crs, "EPSG:4326").transform(shapely.get_x(pts), shapely.get_y(pts))
    radius = rng.choice(["0.3mi", "0.5mi", "800m", "1.2km", "2mi", "5km"], len(pts))
    return pd.DataFrame(
        {"id": [f"v{i}" for i in range(len(pts))], "lat": lat, "lon": lon, "radius": radius}
    )


@pytest.fixture(scope="module")
def london_results(london):
    return geotarget.analyse_many(_venues(london, 240, seed=14), "0.5mi", layer=london)


def _check(fast: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert len(ref) > 0
    pd.testing.assert_frame_equal(fast, ref, check_exact=True, check_dtype=True)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"budget": 500.0, "currency": "GBP", "segment_share": 0.01},
        {"special_category": "housing", "managed_account": True},
        {"special_category": "financial", "segment_share": 0.0005, "postcode_coverage": 0.5},
    ],
    ids=["defaults", "budget-segment", "special-managed", "special-tiny-segment"],
)
def test_london_table_equals_per_venue_path(london, london_results, kw):
    g = london_results
    assert (g["coverage"] == 0).any() and ((g["coverage"] > 0) & (g["coverage"] < 1)).any()
    plats = "all" if "special_category" not in kw else "meta,google_ads,x,linkedin,tiktok"
    fast, ref = _both(g, plats, layer=london, **kw)
    _check(fast, ref)
    assert set(fast["verdict"]) >= {"good", "workable", "poor"}


def test_london_table_with_minimum_audiences_equals_per_venue_path(london, london_results):
    """Minimums that fail, widen circles, or cannot be judged beyond the data."""
    rules = [
        "meta.min_audience=20000",
        "linkedin.min_audience=1e7",
        "google_dv360.min_audience=4e4",
    ]
    fast, ref = _both(
        london_results, "meta,linkedin,google_dv360,x", layer=london, rule_overrides=rules
    )
    _check(fast, ref)
    for said in ("clears its minimum", "beyond the data", "Even perfect geography"):
        assert fast["advice"].str.contains(said).any(), said


def test_areal_table_equals_per_venue_path(london, london_results):
    """Zone surfaces: districts split by area, places summed from zones."""
    g = geotarget.analyse_many(
        pd.DataFrame(
            {"id": ["a", "b", "c"], "lat": [51.52, 51.45, 51.60], "lon": [-0.09, 0.05, -0.30]}
        ),
        "1km",
        layer=london,
        method="areal",
    )
    fast, ref = _both(g, "all", layer=london)
    _check(fast, ref)


def test_builtin_layers_table_equals_per_venue_path():
    """Built-in layers (Scotland's places, a US layer's ZIP-code options) as well."""
    v = pd.DataFrame(
        {
            "id": ["edinburgh", "glen", "memphis"],
            "lat": [55.9533, 57.10, 35.1495],
            "lon": [-3.1883, -4.70, -90.0490],
        }
    )
    g = geotarget.analyse_many(v, "0.5mi")
    fast, ref = _both(g, "all", budget=100.0)
    _check(fast, ref)


def test_forked_processes_give_the_same_table(london, london_results):
    one = geotarget.platforms_many(london_results, "all", layer=london, chunk_size=100)
    two = geotarget.platforms_many(london_results, "all", layer=london, chunk_size=100, processes=2)
    _check(two, one)
    with pytest.raises(geotarget.errors.InputError, match="processes"):
        geotarget.platforms_many(london_results, "meta", layer=london, processes=0)


def test_point_districts_cached_on_disk_and_rebuilt_when_damaged(london):
    from geotarget.platforms import districts
    from geotarget.platforms.district_counts import DistrictCounts, point_districts_path

    ds = districts.for_layer(london)
    s = london.surface("residents")
    path = point_districts_path(ds, s)
    assert path is not None
    pick = np.arange(0, len(s.values), 97)
    asked = DistrictCounts(
        london, None, districts.DistrictSet(ds.codes, ds.polygons, ds.cut, ds.coverage)
    )
    want = asked.district_of("residents", pick)  # point by point, no cache (no key)
    for _ in range(2):  # written, then read back
        got = DistrictCounts(london, None, ds).district_of("residents", pick)
        np.testing.assert_array_equal(got, want)
        assert path.exists()
    path.write_bytes(b"damaged")
    np.testing.assert_array_equal(
        DistrictCounts(london, None, ds).district_of("residents", pick), want
    )


@pytest.mark.parametrize("where", ["london", "scotland"])
def test_places_of_circles_without_polygons_equal_the_polygon_overlay(where, request):
    """touching_circles decides most circles' places without their polygon: the same places as
    touching() on every polygon (mixed radii, edge venues, circles wider than the sure range)."""
    from geotarget.catchment import circles_in
    from geotarget.platforms.touching import touching, touching_circles
    from geotarget.units import parse_distance

    layer = request.getfixturevalue(where)
    v = _venues(layer, 600, seed=21)
    lat, lon = v.lat.to_numpy(), v.lon.to_numpy()
    r = np.array([parse_distance(x) for x in v.radius])
    r[::13] = 20_000.0
    r[::11] = 150.0
    asked = []

    def polygons(idx):
        asked.append(len(idx))
        return circles_in(lat[idx], lon[idx], r[idx], layer.crs)

    got = touching_circles(layer.places, layer.crs, lat, lon, r, polygons)
    want = touching(layer.places, circles_in(lat, lon, r, layer.crs))
    assert got == want
    assert 0 < sum(asked) < len(v) // 2  # most decided without a polygon
