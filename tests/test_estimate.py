"""The estimator on synthetic layers with answers known by construction."""

import numpy as np
import pytest
import shapely

from geotarget import estimate
from geotarget.layers.base import CountSurface


def grid_surface(n=10, size=100.0, value=100.0, kind="zones"):
    cells = [
        shapely.box(i * size, j * size, (i + 1) * size, (j + 1) * size)
        for i in range(n)
        for j in range(n)
    ]
    return CountSurface(
        kind=kind,
        unit="cell",
        ids=np.arange(n * n),
        geoms=np.array(cells),
        values=np.full(n * n, value),
        definition="test",
    )


def test_whole_layer_returns_total():
    s = grid_surface()
    r = estimate.count(s, np.array([shapely.box(-10, -10, 2000, 2000)]))
    assert r.estimate[0] == pytest.approx(s.total)
    assert r.low[0] == r.high[0] == pytest.approx(s.total)  # no cut zones, no uncertainty
    assert r.zones[0] == 100


def test_exact_areal_fractions():
    s = grid_surface()
    # covers 2 full cells and half of two more: 2*100 + 2*50 = 300
    r = estimate.count(s, np.array([shapely.box(0, 0, 200, 150)]))
    assert r.estimate[0] == pytest.approx(300.0)
    assert r.low[0] >= 200.0 - 1e-9  # never below the wholly-inside zones
    assert r.high[0] <= 400.0 + 1e-9  # never above all zones touched
    assert r.low[0] < 300.0 < r.high[0]


def test_many_catchments_at_once_match_one_by_one():
    s = grid_surface()
    rng = np.random.default_rng(0)
    circles = shapely.buffer(
        shapely.points(rng.uniform(0, 1000, 50), rng.uniform(0, 1000, 50)), rng.uniform(10, 400, 50)
    )
    together = estimate.count(s, circles)
    for i in range(0, 50, 7):
        one = estimate.count(s, circles[i : i + 1])
        assert one.estimate[0] == pytest.approx(together.estimate[i], rel=1e-12)


def test_monotonic_in_radius():
    s = grid_surface()
    circles = shapely.buffer(
        shapely.points(np.full(30, 430.0), np.full(30, 610.0)),
        np.linspace(1, 900, 30),
        quad_segs=32,
    )
    est = estimate.count(s, circles).estimate
    assert (np.diff(est) >= -1e-9).all()


def test_points_containment():
    pts = np.array([shapely.Point(0, 0), shapely.Point(10, 0), shapely.Point(20, 0)])
    s = CountSurface(
        kind="points",
        unit="block",
        ids=np.arange(3),
        geoms=pts,
        values=np.array([5.0, 7.0, 11.0]),
        definition="test",
    )
    r = estimate.count(
        s,
        np.array([shapely.Point(0, 0).buffer(10.0, quad_segs=64), shapely.box(100, 100, 200, 200)]),
    )
    assert r.estimate.tolist() == [5.0 + 7.0, 0.0]  # the point on the edge counts as inside
    assert r.zones.tolist() == [2, 0]


def test_surface_rejects_bad_counts():
    from geotarget.errors import DataError

    with pytest.raises(DataError, match="negative"):
        CountSurface(
            kind="zones",
            unit="z",
            ids=np.arange(1),
            geoms=np.array([shapely.box(0, 0, 1, 1)]),
            values=np.array([-1.0]),
            definition="t",
        )
    with pytest.raises(DataError, match="finite"):
        CountSurface(
            kind="zones",
            unit="z",
            ids=np.arange(1),
            geoms=np.array([shapely.box(0, 0, 1, 1)]),
            values=np.array([np.nan]),
            definition="t",
        )


def _bng_points_surface():
    """Three points 100 m apart in central London, on the British National Grid."""
    return CountSurface(
        kind="points",
        unit="pt",
        ids=np.arange(3),
        geoms=shapely.points([530000.0, 530100.0, 530200.0], [180000.0, 180000.0, 180000.0]),
        values=np.array([1.0, 2.0, 4.0]),
        definition="test",
    )


def test_ecef_cache_does_not_keep_a_surface_alive():
    """The cached ECEF positions are freed with their surface (the cache holds it weakly)."""
    import gc
    import weakref

    from geotarget.estimate import circles as circ

    s = _bng_points_surface()
    ecef = estimate.surface_ecef(s, "EPSG:27700")
    assert ecef.shape == (3, 3)
    assert estimate.surface_ecef(s, "EPSG:27700") is ecef  # cached
    assert s in circ._ECEF_CACHE
    ref = weakref.ref(s)
    del s
    gc.collect()
    assert ref() is None  # a dict holding the surface (as key or value) would keep it alive
    assert ecef.shape == (3, 3)  # the positions themselves outlive it, held here


def test_point_index_cache_does_not_keep_a_surface_alive():
    """Nor do the cached point indices: a PointIndex holds no reference back to its surface,
    even while the index itself is still in use."""
    import gc
    import weakref

    from geotarget.catchment import circles_in
    from geotarget.estimate import circles as circ
    from geotarget.projections import transformer

    s = _bng_points_surface()
    index = estimate.point_index(s, "EPSG:27700")
    assert estimate.point_index(s, "EPSG:27700") is index  # cached
    # the ECEF positions are computed when a query first reaches many points, not before
    assert s in circ._INDEX_CACHE and s not in circ._ECEF_CACHE
    assert not any(v is s for v in vars(index).values())
    # and through a count with circles (which fills both caches)
    lon, lat = transformer("EPSG:27700", "EPSG:4326").transform(530100.0, 180000.0)
    circles = estimate.Circles([lat], [lon], [150.0], "EPSG:27700")
    polys = circles_in([lat], [lon], [150.0], crs="EPSG:27700")
    r = estimate.count(s, polys, circles=circles)
    assert r.estimate.tolist() == [7.0]
    assert s in circ._ECEF_CACHE  # the circle reached most of the 3 points
    ref = weakref.ref(s)
    del s
    gc.collect()
    assert ref() is None
    assert len(index.order) == 3  # the index is still usable by whoever holds it
