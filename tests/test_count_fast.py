"""The fast paths of the counting code against plain reference implementations.

* the point index (``estimate.PointIndex`` / ``Circles.pairs``) returns exactly the
  (catchment, point) pairs a brute-force distance check returns;
* the grouped (dasymetric) sums equal a per-catchment, per-group loop;
* the coverage pieces' bounding-box candidates give the same fractions as an exact predicate.
"""

import numpy as np
import pytest
import shapely

from geotarget import estimate
from geotarget.errors import DataError
from geotarget.estimate import areal
from geotarget.estimate import circles as circles_mod
from geotarget.layers.base import CountSurface
from geotarget.projections import transformer

CRS = "EPSG:3035"


def _points_surface(x, y, values, group=None, group_k=None):
    return CountSurface(
        kind="points",
        unit="pt",
        ids=np.arange(len(x)),
        geoms=shapely.points(x, y),
        values=values,
        definition="test",
        method="dasymetric" if group is not None else "points",
        group=group,
        group_k=group_k,
    )


def _london_points(rng, n, spread=3000.0):
    cx, cy = transformer("EPSG:4326", CRS).transform(-0.1, 51.5)
    return cx + rng.uniform(-spread, spread, n), cy + rng.uniform(-spread, spread, n)


def _brute_pairs(circles, surface):
    pe = estimate.surface_ecef(surface, circles.crs)
    d = np.linalg.norm(pe[None, :, :] - circles.ecef[:, None, :], axis=2)
    ci, pi = np.nonzero(d <= circles.radius[:, None])
    return ci, pi


def _as_set(ci, pi):
    return sorted(zip(ci.tolist(), pi.tolist()))


@pytest.mark.parametrize("seed", range(6))
def test_point_index_pairs_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    x, y = _london_points(rng, int(rng.integers(0, 3000)))
    s = _points_surface(x, y, rng.uniform(0, 10, len(x)))
    ncirc = int(rng.integers(1, 60))
    cx, cy = _london_points(rng, ncirc, spread=4500.0)  # some circles beyond all points
    lon, lat = transformer(CRS, "EPSG:4326").transform(cx, cy)
    radius = rng.choice([0.0, 5.0, 120.0, 804.672, 2500.0], ncirc)  # varying per row, empty
    circles = estimate.Circles(lat, lon, radius, CRS)
    fast = circles.pairs(s)
    assert np.all(np.diff(fast[0]) >= 0)  # ordered by catchment
    assert _as_set(*fast) == _as_set(*_brute_pairs(circles, s))


def test_point_index_points_exactly_at_the_radius():
    """Points placed at (about) the radius: whatever the exact distance test says, the index
    returns the same pairs as brute force; and the point at the centre is inside a 1 mm circle."""
    from pyproj import Geod

    rng = np.random.default_rng(7)
    lat0, lon0 = 51.52, -0.09
    az = rng.uniform(0, 360, 400)
    r = 804.672
    lon, lat, _ = Geod(ellps="WGS84").fwd(
        np.full(400, lon0), np.full(400, lat0), az, np.full(400, r)
    )
    x, y = transformer("EPSG:4326", CRS).transform(np.r_[lon, lon0], np.r_[lat, lat0])
    s = _points_surface(x, y, np.ones(401))
    circles = estimate.Circles([lat0, lat0], [lon0, lon0], [r, 1e-3], CRS)
    # the radius set to each point's own straight-line distance: that point is inside
    pe = estimate.surface_ecef(s, CRS)
    d = np.linalg.norm(pe - circles.ecef[0], axis=1)
    exact = estimate.Circles(np.full(401, lat0), np.full(401, lon0), d, CRS)
    ci, pi = exact.pairs(s)
    assert set(zip(ci.tolist(), pi.tolist())) >= {(i, i) for i in range(401)}
    assert _as_set(ci, pi) == _as_set(*_brute_pairs(exact, s))
    ci, pi = circles.pairs(s)
    assert _as_set(ci, pi) == _as_set(*_brute_pairs(circles, s))
    assert (1, 400) in set(zip(ci.tolist(), pi.tolist()))


def test_point_index_empty_surface_and_bad_points():
    s = _points_surface(np.array([np.nan, 1e20]), np.array([0.0, np.nan]), np.ones(2))
    circles = estimate.Circles([51.5], [-0.1], [1000.0], CRS)
    ci, pi = circles.pairs(s)
    assert len(ci) == len(pi) == 0
    idx = circles_mod.PointIndex(np.zeros((0, 2)), np.zeros((0, 3)))
    ci, k = idx.candidates(np.array([0.0]), np.array([0.0]), np.array([10.0]))
    assert len(ci) == len(k) == 0


def _reference_grouped(surface, circles):
    """A per-catchment, per-group loop with the estimator's formulas."""
    ci, pi = _brute_pairs(circles, surface)
    n = len(circles.radius)
    out = {k: np.zeros(n) for k in ("estimate", "floor", "ceiling", "var", "zones")}
    tot_all = np.bincount(surface.group, weights=surface.values, minlength=len(surface.group_k))
    for c in range(n):
        p = pi[ci == c]
        out["estimate"][c] = surface.values[p].sum()
        for g in np.unique(surface.group[p]):
            inside = surface.values[p][surface.group[p] == g].sum()
            tot = tot_all[g]
            f = min(max(inside / tot, 0.0), 1.0) if tot > 0 else 1.0
            full = f >= 1.0 - 1e-12
            out["floor"][c] += tot if full else 0.0
            out["ceiling"][c] += tot
            out["var"][c] += 0.0 if full else tot**2 * f * (1 - f) / surface.group_k[g]
            out["zones"][c] += inside > 0
    return out


@pytest.mark.parametrize("seed", range(4))
def test_grouped_sums_equal_reference(seed):
    rng = np.random.default_rng(100 + seed)
    n = 1500
    x, y = _london_points(rng, n, spread=2000.0)
    ngroups = 60
    # groups spatially compact (a coarse grid) plus some scattered, some zero counts
    group = ((x - x.min()) // 700).astype(int) * 7 + ((y - y.min()) // 700).astype(int)
    group = np.where(rng.random(n) < 0.1, rng.integers(0, ngroups, n), group) % ngroups
    values = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(0, 30, n))
    s = _points_surface(x, y, values, group=group, group_k=rng.uniform(1, 8, ngroups))
    cx, cy = _london_points(rng, 40, spread=2500.0)
    lon, lat = transformer(CRS, "EPSG:4326").transform(cx, cy)
    circles = estimate.Circles(lat, lon, rng.choice([0.0, 300.0, 804.672, 1500.0], 40), CRS)
    got = estimate.count(s, np.full(40, None, dtype=object), circles=circles)
    ref = _reference_grouped(s, circles)
    np.testing.assert_allclose(got.estimate, ref["estimate"], rtol=1e-12, atol=1e-9)
    assert got.zones.tolist() == ref["zones"].astype(int).tolist()
    sd = np.sqrt(ref["var"])
    low = np.minimum(
        np.clip(ref["estimate"] - estimate.Z90 * sd, ref["floor"], None), ref["estimate"]
    )
    high = np.maximum(
        np.clip(ref["estimate"] + estimate.Z90 * sd, None, ref["ceiling"]), ref["estimate"]
    )
    np.testing.assert_allclose(got.low, low, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.high, high, rtol=1e-12, atol=1e-9)


def test_coverage_fraction_matches_exact_predicate():
    """Bounding-box candidates then prepared tests give the plain intersection's answer."""
    from geotarget.layers.base import PopulationLayer

    cover = shapely.union_all([shapely.box(0, 0, 1000, 1000), shapely.box(1500, 0, 2500, 600)])
    zones = CountSurface(
        kind="zones",
        unit="z",
        ids=np.arange(1),
        geoms=np.array([shapely.box(0, 0, 1000, 1000)]),
        values=np.ones(1),
        definition="t",
    )
    lay = PopulationLayer(
        name="t",
        title="t",
        source="t",
        licence="t",
        vintage="t",
        crs=CRS,
        coverage=cover,
        residents=zones,
        workers=zones,
    )
    rng = np.random.default_rng(3)
    radii = rng.uniform(1, 700, 300)
    centres = shapely.points(rng.uniform(-500, 3000, 300), rng.uniform(-500, 1500, 300))
    geoms = shapely.buffer(centres, radii)
    got = lay.coverage_fraction(geoms)
    want = shapely.area(shapely.intersection(geoms, cover)) / shapely.area(geoms)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    sure = lay.surely_covered(centres, radii)
    assert sure.any() and (got[sure] == 1.0).all()


def _random_zones(rng, n):
    """Zones of every shape: boxes, concave polygons, polygons with holes, multipolygons."""
    out = []
    for _ in range(n):
        x, y = rng.uniform(-1500, 1500, 2)
        kind = rng.integers(0, 4)
        if kind == 0:
            out.append(shapely.box(x, y, x + rng.uniform(5, 900), y + rng.uniform(5, 900)))
        elif kind == 1:  # a star: concave
            k = int(rng.integers(5, 40))
            a = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = rng.uniform(50, 700, k)
            out.append(shapely.Polygon(np.c_[x + rad * np.cos(a), y + rad * np.sin(a)]))
        elif kind == 2:
            out.append(
                shapely.Point(x, y)
                .buffer(rng.uniform(100, 800))
                .difference(shapely.Point(x + 30, y).buffer(rng.uniform(10, 90)))
            )
        else:
            out.append(
                shapely.MultiPolygon(
                    [shapely.box(x, y, x + 300, y + 200), shapely.box(x + 400, y - 500, x + 900, y)]
                )
            )
    return np.array(out, dtype=object)


@pytest.mark.parametrize("seed", range(4))
def test_areal_convex_fast_path_equals_overlay(seed):
    """Convex catchments (circles, squares, triangles, off-centre and huge) take the fast path;
    its covered fractions, whole-zone classification and counts equal the plain overlay's."""
    rng = np.random.default_rng(200 + seed)
    zones = _random_zones(rng, 80)
    s = CountSurface(
        kind="zones",
        unit="z",
        ids=np.arange(len(zones)),
        geoms=zones,
        values=rng.uniform(0, 1000, len(zones)),
        definition="t",
        extra={"home": rng.uniform(0, 10, len(zones))},
    )
    m = 60
    cx, cy = rng.uniform(-1800, 1800, m), rng.uniform(-1800, 1800, m)
    r = rng.choice([0.5, 40.0, 804.672, 3000.0], m)
    catch = list(shapely.buffer(shapely.points(cx, cy), r, quad_segs=64))
    catch[0] = shapely.box(-100, -100, 100, 100)
    catch[1] = shapely.Polygon([(0, 0), (900, 50), (300, 700)])
    catch[2] = shapely.box(-5000, -5000, 5000, 5000)  # holds every zone whole
    catch[3] = shapely.Point(0, 0).buffer(500).difference(shapely.Point(0, 0).buffer(100))
    catch[4] = shapely.Polygon([(0, 0), (500, 0), (500, 500), (250, 100), (0, 500)])  # concave
    catch = np.array(catch, dtype=object)
    got = estimate.count(s, catch)
    ci, zi, frac = areal._overlay_fractions(s, catch)
    cv = areal._Convex(catch)
    assert cv.ok[:3].all() and not cv.ok[3:5].any() and cv.ok[5:].all()
    sel = np.nonzero(cv.ok)[0]
    fc, fz, ff = areal._areal_convex(s, catch[sel], areal._Convex(catch[sel]))
    fast = {(int(sel[a]), int(b)): f for a, b, f in zip(fc, fz, ff)}
    plain = {(int(a), int(b)): f for a, b, f in zip(ci, zi, frac) if cv.ok[a] and f > 0}
    assert fast.keys() == plain.keys()
    for k, f in plain.items():
        assert (fast[k] == 1.0) == (f == 1.0), k  # wholly inside: the same zones
        assert fast[k] == pytest.approx(f, rel=1e-9, abs=1e-10), k  # rounding only
    want_est = np.bincount(ci, weights=s.values[zi] * frac, minlength=m)
    np.testing.assert_allclose(got.estimate, want_est, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(
        got.extra["home"],
        np.bincount(ci, weights=s.extra["home"][zi] * frac, minlength=m),
        rtol=1e-7,
        atol=1e-7,
    )
    assert got.estimate[2] == pytest.approx(s.total) and got.low[2] == got.high[2]


def test_wide_circles_counted_in_groups_give_the_same_answers(monkeypatch, scotland):
    """Circles holding many points are counted in groups that fit in memory; each circle's
    answer (estimate, range, zones, extra counts) is the same as in one go, and the groups
    really were used."""
    rng = np.random.default_rng(8)
    n = 40
    lat, lon = rng.uniform(55.85, 56.0, n), rng.uniform(-3.4, -3.0, n)
    r = rng.uniform(500, 30_000, n)
    circles = estimate.Circles(lat, lon, r, scotland.crs)
    pts = CountSurface(
        "points",
        "point",
        np.arange(5000),
        shapely.points(
            *transformer("EPSG:4326", scotland.crs).transform(
                rng.uniform(-3.6, -2.8, 5000), rng.uniform(55.7, 56.1, 5000)
            )
        ),
        rng.integers(0, 50, 5000).astype(float),
        "test points",
        group=rng.integers(0, 300, 5000),
        group_k=np.full(300, 2.0),
    )
    polys = np.full(n, None, dtype=object)
    whole = estimate._count_by_pairs(pts, polys, circles)
    calls = []
    real_take = estimate.Circles.take
    monkeypatch.setattr(
        estimate.Circles, "take", lambda self, idx: calls.append(len(idx)) or real_take(self, idx)
    )
    monkeypatch.setattr(estimate, "MAX_PAIRS", 5_000)
    grouped = estimate._count_by_pairs(pts, polys, circles)
    assert len(calls) > 3 and sum(calls) == n
    for f in ("estimate", "low", "high", "zones"):
        np.testing.assert_array_equal(getattr(grouped, f), getattr(whole, f))


def test_point_index_few_candidates_distances_equal_the_whole_layers():
    """Small queries compute only their candidates' ECEF positions: bit for bit the distances
    of an index holding every point's position; a large query then fills in the whole layer."""
    rng = np.random.default_rng(7)
    x, y = _london_points(rng, 20_000, spread=20_000.0)
    s = _points_surface(x, y, np.ones(len(x)))
    full = circles_mod.PointIndex(s.xy, estimate.surface_ecef(s, CRS))
    lazy = circles_mod.PointIndex(s.xy, lambda: estimate.surface_ecef(s, CRS), crs=CRS)
    cx, cy = _london_points(rng, 5, spread=15_000.0)
    lon, lat = transformer(CRS, "EPSG:4326").transform(cx, cy)
    for r, whole in ((100.0, False), (804.672, False), (30_000.0, True)):
        c = estimate.Circles(lat, lon, np.full(5, r), CRS)
        ci, k = full.candidates(cx, cy, np.full(5, r * 1.02 + 20.0))
        assert len(k)
        assert np.array_equal(lazy.distances(c.ecef, ci, k), full.distances(c.ecef, ci, k))
        assert (lazy._full is None) == whole  # the whole layer's positions only when needed


def test_point_surface_from_coordinates_builds_its_points_on_first_use():
    """A ``PointXY`` surface counts from its coordinates; ``geoms`` / ``tree`` build the
    shapely points when first asked for, the same as a surface given the points."""
    from geotarget.layers.base import PointXY

    rng = np.random.default_rng(3)
    x, y = _london_points(rng, 500)
    v = rng.uniform(0, 10, len(x))
    lazy = CountSurface(
        kind="points", unit="pt", ids=np.arange(500), geoms=PointXY(x, y), values=v, definition="t"
    )
    eager = _points_surface(x, y, v)
    assert np.array_equal(lazy.xy, eager.xy)
    lon, lat = transformer(CRS, "EPSG:4326").transform(x[:3], y[:3])
    c = estimate.Circles(lat, lon, [300.0, 800.0, 50.0], CRS)
    polys = shapely.buffer(c.centres, 300.0)
    got = estimate.count(lazy, polys, circles=c).estimate
    assert np.array_equal(got, estimate.count(eager, polys, circles=c).estimate)
    assert isinstance(lazy.__dict__["_geoms"], PointXY)  # counting needed no shapely point
    assert shapely.equals(lazy.geoms, eager.geoms).all() and lazy.geoms.dtype == object
    assert len(lazy.tree.query(eager.geoms[0].buffer(300.0))) > 0
    with pytest.raises(DataError, match="geometries"):
        CountSurface(
            kind="points",
            unit="pt",
            ids=np.arange(3),
            geoms=PointXY(x, y),
            values=v[:3],
            definition="t",
        )


def test_deferred_ids_load_on_first_use_and_are_checked():
    """``defer_ids`` replaces the ids by a loader called once, on first use, length checked."""
    s = _points_surface(np.arange(3.0), np.arange(3.0), np.ones(3))
    calls = []
    s.defer_ids(lambda: calls.append(1) or np.array(["a", "b", "c"], dtype=object))
    assert not calls
    assert s.ids.tolist() == ["a", "b", "c"] and s.ids.tolist() == ["a", "b", "c"]
    assert calls == [1]
    s.defer_ids(lambda: np.array(["a"]))
    with pytest.raises(DataError, match="1 ids loaded for 3 counts"):
        _ = s.ids


def test_lazy_surface_pickles_before_its_points_and_ids_are_made():
    """A surface read from the cache (coordinates only, ids in Arrow) pickles for Dask workers,
    and the copy builds the same points and ids."""
    import pickle

    import pyarrow as pa

    from geotarget.layers.base import PointXY
    from geotarget.layers.cache_lazy import ArrowIds

    s = CountSurface(
        kind="points",
        unit="pt",
        ids=np.empty(3, dtype=object),
        geoms=PointXY(np.arange(3.0), np.arange(3.0)),
        values=np.ones(3),
        definition="t",
    )
    s.defer_ids(ArrowIds(pa.chunked_array([["a", "b", "c"]])))
    t = pickle.loads(pickle.dumps(s))
    assert t.ids.tolist() == ["a", "b", "c"]
    assert shapely.equals(t.geoms, shapely.points(np.arange(3.0), np.arange(3.0))).all()
