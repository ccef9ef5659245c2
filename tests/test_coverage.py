"""The quick coverage test (geotarget.layers.coverage): a box the coverage's boundary does not
meet is decided wholly inside or outside, and the decision is the overlay's."""

import numpy as np
import pytest
import shapely

from geotarget.layers.coverage import boxes_decided, coverage_edges, fraction_inside


@pytest.fixture(scope="module")
def coverage():
    """Two islands, one with a lake, one with a long thin inlet: holes, several parts and a
    boundary of many short segments."""
    a = shapely.Polygon(
        shapely.get_coordinates(shapely.Point(0, 0).buffer(10_000, quad_segs=64)),
        [shapely.get_coordinates(shapely.Point(2_000, 1_000).buffer(3_000, quad_segs=32))],
    )
    b = shapely.box(30_000, -5_000, 45_000, 5_000).difference(
        shapely.box(31_000, -200, 44_000, 200)
    )
    return shapely.MultiPolygon([a, b])


def _boxes(rng, n, half):
    x = rng.uniform(-15_000, 50_000, n)
    y = rng.uniform(-15_000, 15_000, n)
    return shapely.box(x - half, y - half, x + half, y + half)


@pytest.mark.parametrize("half", [50.0, 800.0, 4_000.0])
def test_decided_boxes_agree_with_the_overlay(coverage, half):
    rng = np.random.default_rng(3)
    boxes = _boxes(rng, 4_000, half)
    got = boxes_decided(coverage, coverage_edges(coverage), boxes)
    exact = shapely.area(shapely.intersection(boxes, coverage)) / shapely.area(boxes)
    decided = ~np.isnan(got)
    # every box decided is wholly in or out, and the overlay agrees to the last bit
    assert set(np.unique(got[decided])) <= {0.0, 1.0}
    np.testing.assert_array_equal(got[decided], exact[decided])
    # undecided exactly where the boundary meets the box
    meets = shapely.intersects(boxes, shapely.boundary(coverage))
    np.testing.assert_array_equal(~decided, meets)
    assert decided.sum() > 100 and (~decided).sum() > 10  # both kinds exercised


def test_edges_cover_every_ring(coverage):
    lines = coverage_edges(coverage).geometries
    total = float(shapely.length(lines).sum())
    assert total == pytest.approx(shapely.length(shapely.boundary(coverage)), rel=1e-12)
    # a point on the lake's shore is on a line of the index
    shore = shapely.Point(2_000 + 3_000, 1_000)
    assert shapely.distance(lines, shore).min() < 1.0


def test_layer_coverage_fraction_uses_the_quick_test_only_where_it_is_exact(coverage):
    from geotarget.layers.base import CountSurface, PopulationLayer

    s = CountSurface(
        kind="points",
        unit="point",
        ids=np.array(["a"]),
        geoms=shapely.points([[0.0, 5_000.0]]),
        values=np.array([1.0]),
        definition="people",
    )
    layer = PopulationLayer(
        name="t",
        title="t",
        source="t",
        licence="t",
        vintage="t",
        crs="EPSG:3035",
        coverage=coverage,
        residents=s,
        workers_unavailable="none",
    )
    rng = np.random.default_rng(9)
    circles = shapely.buffer(shapely.points(rng.uniform(-15_000, 50_000, 500), 0.0), 1_500.0)
    got = layer.coverage_fraction(circles)
    parts = np.array([coverage], dtype=object)
    shapely.prepare(parts)
    ref = fraction_inside(parts, shapely.STRtree(parts), circles)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert ((got > 0) & (got < 1)).any() and (got == 1).any() and (got == 0).any()
