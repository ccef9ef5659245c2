"""The aggregate index (``geotarget.estimate.aggregate``) against the exact point test.

Counting circles with the k-d tree whose nodes carry sums must give what testing every point
gives (``estimate._count_by_pairs``: the strip index and the exact ECEF distance test), to float
rounding: estimate, range, contributing zones and extra counts, on real layers (London, the
built-in England & Wales layer, Memphis blocks), for circles of 0.1-150 km centred inside, at
the edge of and outside the coverage.  Also: conservation (a circle holding the whole layer
holds its total), monotonic in radius, points exactly at the radius, and the index stored with
a cached layer (used, and rebuilt when damaged).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from conftest import SHARED, need

from geotarget import estimate
from geotarget.estimate import aggregate
from geotarget.layers.base import CountSurface
from geotarget.projections import transformer


def _centres(layer, rng, n):
    """Circle centres (lat, lon): a third inside the coverage, a third on its edge, a third up
    to 30 km outside it."""
    cov = layer.coverage
    x0, y0, x1, y1 = shapely.bounds(cov)
    k = n // 3
    inside = []
    while len(inside) < k:
        x, y = rng.uniform(x0, x1, 4 * k), rng.uniform(y0, y1, 4 * k)
        p = shapely.points(x, y)
        inside.extend(p[shapely.contains_xy(cov, x, y)].tolist())
    edge = shapely.line_interpolate_point(
        shapely.boundary(cov), rng.uniform(0, 1, k), normalized=True
    )
    edge = np.asarray(edge).ravel()[:k]
    if len(edge) < k:  # a multi-part boundary: points on its longest line
        edge = shapely.line_interpolate_point(
            max(shapely.get_parts(shapely.boundary(cov)), key=shapely.length),
            rng.uniform(0, 1, k),
            normalized=True,
        )
    cx, cy = shapely.get_x(np.asarray(edge)), shapely.get_y(np.asarray(edge))
    ang, dist = rng.uniform(0, 2 * np.pi, n - 2 * k), rng.uniform(0, 30_000, n - 2 * k)
    b = shapely.boundary(cov)
    near = shapely.line_interpolate_point(b, rng.uniform(0, 1, n - 2 * k), normalized=True)
    ox = shapely.get_x(np.asarray(near)) + dist * np.cos(ang)
    oy = shapely.get_y(np.asarray(near)) + dist * np.sin(ang)
    x = np.concatenate([shapely.get_x(np.asarray(inside[:k])), cx, ox])
    y = np.concatenate([shapely.get_y(np.asarray(inside[:k])), cy, oy])
    lon, lat = transformer(layer.crs, "EPSG:4326").transform(x, y)
    return np.asarray(lat), np.asarray(lon)


def _assert_same(got, ref, total):
    """Equal to float rounding: relative to the layer's total (sums of many terms)."""
    tol = 1e-11 * max(total, 1.0)
    for f in ("estimate", "low", "high"):
        np.testing.assert_allclose(getattr(got, f), getattr(ref, f), rtol=1e-12, atol=tol)
    np.testing.assert_array_equal(got.zones, ref.zones)
    assert set(got.extra) == set(ref.extra)
    for k in ref.extra:
        np.testing.assert_allclose(got.extra[k], ref.extra[k], rtol=1e-12, atol=tol)


def _compare(layer, pop, n, seed, radii=(100.0, 150_000.0)):
    s = layer.surface(pop)
    rng = np.random.default_rng(seed)
    lat, lon = _centres(layer, rng, n)
    r = np.exp(rng.uniform(np.log(radii[0]), np.log(radii[1]), n))
    circles = estimate.Circles(lat, lon, r, layer.crs)
    got = aggregate.count_circles(s, layer.crs, circles.ecef, circles.radius)
    ref = estimate._count_by_pairs(s, np.full(n, None, dtype=object), circles)
    _assert_same(got, ref, s.total)
    return got


@pytest.mark.parametrize("pop", ["residents", "workers"])
def test_london_equals_the_point_test(london, pop):
    got = _compare(london, pop, 150, seed=1 if pop == "residents" else 2)
    assert (got.estimate > 0).any() and (got.estimate == 0).any()  # inside and outside met


def test_london_half_mile_and_meta_floor_equal_the_point_test(london):
    """The radii the batch and the platforms use most: 0.5 mi and Meta's 15 miles."""
    for r in (804.672, 24_140.16):
        _compare(london, "residents", 60, seed=3, radii=(r, r * (1 + 1e-12)))


def test_builtin_england_and_wales_equals_the_point_test():
    from geotarget.layers import load_layer

    ew = load_layer("ew-census2021")
    for pop in ("residents", "workers"):
        _compare(ew, pop, 24, seed=4, radii=(100.0, 150_000.0))


def test_plain_points_with_edge_ranges_equal_the_point_test():
    """Memphis blocks: plain points, the range from the points within edge_m of the edge."""
    from geotarget.layers import load_layer

    lay = load_layer(need(SHARED / "memphis-census2020"))
    s = lay.residents
    assert s.group is None and s.edge_m is not None
    _compare(lay, "residents", 120, seed=5, radii=(100.0, 60_000.0))


def test_conservation_whole_layer_is_the_layer_total(london):
    for pop in ("residents", "workers"):
        s = london.surface(pop)
        c = estimate.Circles([51.5], [-0.12], [150_000.0], london.crs)
        got = aggregate.count_circles(s, london.crs, c.ecef, c.radius)
        assert got.estimate[0] == pytest.approx(s.total, rel=1e-12)
        assert got.low[0] == got.high[0] == got.estimate[0]  # every zone wholly inside
        for k, v in s.extra.items():
            assert got.extra[k][0] == pytest.approx(v.sum(), rel=1e-12)


def test_monotonic_in_radius(london):
    s = london.surface("residents")
    r = np.geomspace(100.0, 150_000.0, 60)
    for lat, lon in ((51.5202, -0.0937), (51.29, -0.2), (51.8, 0.4)):  # centre, edge, outside
        c = estimate.Circles(np.full(len(r), lat), np.full(len(r), lon), r, london.crs)
        e = aggregate.count_circles(s, london.crs, c.ecef, c.radius).estimate
        assert (np.diff(e) >= -1e-9 * s.total).all()
        assert e[-1] == pytest.approx(s.total, rel=1e-12)


def test_points_exactly_at_the_radius_are_in():
    """A circle whose radius is a point's computed distance holds that point (the test's own
    arithmetic decides, not a margin)."""
    rng = np.random.default_rng(6)
    cx, cy = transformer("EPSG:4326", "EPSG:3035").transform(-0.1, 51.5)
    n = 4000
    x, y = cx + rng.uniform(-20_000, 20_000, n), cy + rng.uniform(-20_000, 20_000, n)
    group = rng.integers(0, 400, n)
    s = CountSurface(
        "points",
        "pt",
        np.arange(n),
        shapely.points(x, y),
        rng.uniform(0, 5, n),
        "test",
        method="dasymetric",
        group=group,
        group_k=np.full(400, 3.0),
    )
    pe = estimate.surface_ecef(s, "EPSG:3035")
    lat, lon = rng.uniform(51.45, 51.55, 30), rng.uniform(-0.2, 0.0, 30)
    probe = estimate.Circles(lat, lon, np.ones(30), "EPSG:3035")
    j = rng.integers(0, n, 30)
    r = aggregate._dist(pe[j], probe.ecef)  # the exact distances to chosen points
    c = estimate.Circles(lat, lon, r, "EPSG:3035")
    got = aggregate.count_circles(s, "EPSG:3035", c.ecef, c.radius)
    ref = estimate._count_by_pairs(s, np.full(30, None, dtype=object), c)
    _assert_same(got, ref, s.total)
    assert (got.estimate >= s.values[j] - 1e-12).all()


def test_stored_index_is_used_and_a_damaged_one_rebuilt(london, monkeypatch, caplog):
    """The layer cache stores the index: a fresh read of the cached layer loads it (no tree
    built), and a damaged file is refused with a warning and the index rebuilt, same answers."""
    import os
    from pathlib import Path

    from geotarget.layers import cache

    root = Path(os.environ["GEOTARGET_CACHE_DIR"]) / "layers"
    folders = [f for f in root.iterdir() if list(f.glob("surface*-index.npz"))]

    def same(f):  # the London layer's folder (the built-in layer has the same name)
        lay = cache.read(f)
        return lay is not None and len(lay.residents.values) == len(london.residents.values)

    folder = next(f for f in folders if same(f))
    again = cache.read(folder)
    assert again is not None
    s = again.residents
    assert aggregate.index_stored(s, again.crs) and not aggregate.index_loaded(s, again.crs)
    c = estimate.Circles([51.52, 51.4], [-0.09, 0.0], [24_000.0, 3_000.0], again.crs)
    ref = estimate._count_by_pairs(london.residents, np.full(2, None, dtype=object), c)
    built = []
    real = aggregate.layout
    monkeypatch.setattr(aggregate, "layout", lambda *a: built.append(1) or real(*a))
    got = aggregate.count_circles(s, again.crs, c.ecef, c.radius)
    assert not built  # loaded, not built
    _assert_same(got, ref, s.total)
    # damage a copy of the stored index: refused, rebuilt, same answers
    f = next(iter(sorted(folder.glob("surface0-index.npz"))))
    loader = aggregate._STORED[s][again.crs]
    bad = folder.parent / "damaged-index.npz"
    bad.write_bytes(f.read_bytes()[:-100] + b"x" * 100)
    try:
        third = cache.read(folder)
        assert third is not None
        aggregate.store_loader(
            third.residents, third.crs, type(loader)(bad, loader.digest, loader.n)
        )
        with caplog.at_level("WARNING"):
            b = aggregate.count_circles(third.residents, third.crs, c.ecef, c.radius)
    finally:
        bad.unlink()
    assert "fails its checksum" in caplog.text and built
    _assert_same(b, ref, s.total)


def test_count_uses_the_index_for_wide_circles(london, monkeypatch):
    """``estimate.count`` counts wide circles with the index (same answers as the point test)."""
    s = london.surface("residents")
    calls = []
    real = aggregate.count_circles
    monkeypatch.setattr(
        estimate, "count_circles", lambda *a: calls.append(1) or real(*a), raising=True
    )
    c = estimate.Circles([51.52, 51.45], [-0.09, -0.3], [24_140.16, 40_000.0], london.crs)
    got = estimate.count(s, np.full(2, None, dtype=object), circles=c)
    assert calls
    ref = estimate._count_by_pairs(s, np.full(2, None, dtype=object), c)
    _assert_same(got, ref, s.total)


def test_count_mixes_small_and_wide_circles(london):
    """Circles much smaller than the index's leaves are tested point by point, the others
    counted with the index: each in its place, the point test's answers."""
    s = london.surface("workers")
    r = np.array([300.0, 24_140.16, 500.0, 40_000.0, 804.672, 2_000.0])
    lat = np.array([51.52, 51.5, 51.45, 51.6, 51.55, 51.3])
    lon = np.array([-0.09, -0.1, -0.3, 0.1, -0.2, -0.1])
    c = estimate.Circles(lat, lon, r, london.crs)
    none = np.full(len(r), None, dtype=object)
    _assert_same(estimate.count(s, none, circles=c), estimate._count_by_pairs(s, none, c), s.total)


def _per_area(groups, group_area):
    """(circle, area) -> people, from ``Counts.groups``."""
    key = groups[0] * (int(group_area.max()) + 1) + group_area[groups[1]]
    u, inv = np.unique(key, return_inverse=True)
    v = np.bincount(inv, weights=groups[2])
    return u[v > 0], v[v > 0]


def test_people_of_each_area_in_wide_circles_equal_the_point_test(monkeypatch):
    """Counting people once reads, per circle, the residents and workers of each commuting area
    (MSOA) inside it: for circles over the index's threshold they come from the area / group /
    point hierarchy (estimate.area_sums), and equal the point-by-point sums per area; the totals
    and ranges are the index's."""
    from geotarget.layers import load_layer

    ew = load_layer("ew-census2021")
    s = ew.residents
    # 15 miles round London, 40 km round Manchester, 70 km from Brighton (the sea in), and
    # two half-mile circles (point by point) in the same call
    lat = np.array([51.515, 53.48, 50.82, 51.52, 53.47])
    lon = np.array([-0.09, -2.24, -0.14, -0.1, -2.23])
    r = np.array([24_140.16, 40_000.0, 70_000.0, 804.672, 804.672])
    c = estimate.Circles(lat, lon, r, ew.crs)
    assert (c.candidate_counts(s) > estimate.TREE_AT_GROUPS).tolist() == [True] * 3 + [False] * 2
    none = np.full(len(r), None, dtype=object)
    calls = []
    real = estimate.area_groups
    monkeypatch.setattr(estimate, "area_groups", lambda *a: calls.append(len(a[3])) or real(*a))
    got = estimate.count(s, none, circles=c, groups=True)
    assert calls == [3]  # the three wide circles went through the hierarchy
    ref = estimate._count_by_pairs(s, none, c, True)
    _assert_same(got, ref, s.total)
    ka, va = _per_area(got.groups, s.group_area)
    kb, vb = _per_area(ref.groups, s.group_area)
    np.testing.assert_array_equal(ka, kb)
    np.testing.assert_allclose(va, vb, rtol=1e-12)
    assert len(ka) > 300  # hundreds of MSOAs, wholly inside and on the edge
    # each circle's areas add up to its total
    per_circle = np.bincount(got.groups[0], weights=got.groups[2], minlength=len(r))
    np.testing.assert_allclose(per_circle, got.estimate, rtol=1e-12)
