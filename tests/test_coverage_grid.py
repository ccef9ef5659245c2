"""The coverage grid: cells marked inside / outside / edge are what they say, the part of a circle
it finds outside the coverage is a lower bound of the true one, and the platform table's
"short of covered" answer is the exact overlay's, whichever test decides it."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geotarget.layers.coverage import INNER, MARGIN_M
from geotarget.layers.coverage_grid import EDGE, INSIDE, MIN_CELL_M, OUTSIDE, CoverageGrid

# a coverage with a bay, an island and a lake (metres): concave edges, holes and two parts
_OUTER = shapely.Polygon(
    [(0, 0), (9_000, 0), (9_000, 4_000), (5_000, 4_000), (5_000, 6_000), (9_000, 6_000)]
    + [(9_000, 10_000), (0, 10_000)],
    holes=[[(1_000, 1_000), (3_000, 1_000), (3_000, 2_500), (1_000, 2_500)]],
)
COVERAGE = shapely.MultiPolygon([_OUTER, shapely.box(11_000, 1_000, 13_000, 3_000)])


def _cells(g: CoverageGrid, state: int) -> np.ndarray:
    j, i = np.nonzero(g.state == state)
    x, y = g.x0 + i * g.cell, g.y0 + j * g.cell
    return shapely.box(x, y, x + g.cell, y + g.cell)


@pytest.mark.parametrize("level", [0, 3])
def test_cells_are_what_they_are_marked(level):
    """The finest cells, and blocks of 8 x 8 of them (what wide circles are measured on)."""
    g = CoverageGrid.of(COVERAGE)._level(level)
    assert g.cell == MIN_CELL_M * 2**level
    counts = [int((g.state == s).sum()) for s in (OUTSIDE, INSIDE, EDGE)]
    assert sum(counts) == g.state.size and min(counts) > 0
    assert shapely.covers(COVERAGE, _cells(g, INSIDE)).all()
    assert not shapely.intersects(COVERAGE, _cells(g, OUTSIDE)).any()
    # the inside cells and the edge cells hold the whole coverage
    inner = shapely.union_all(_cells(g, INSIDE))
    edge = shapely.union_all(_cells(g, EDGE))
    assert shapely.area(shapely.difference(COVERAGE, shapely.union(inner, edge))) < 1e-6
    # every cell the boundary meets is an edge cell
    assert shapely.covers(edge, COVERAGE.boundary)
    # the lake is outside, cells deep in it included
    assert g.state[int((1_700 - g.y0) // g.cell), int((2_000 - g.x0) // g.cell)] == OUTSIDE


def test_outside_part_is_a_lower_bound_of_the_true_one():
    g = CoverageGrid.of(COVERAGE)
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-2_000, 15_000, 300), rng.uniform(-2_000, 12_000, 300)
    r = rng.uniform(300, 6_000, 300)
    got = g.outside_inner(x, y, r)
    disc = shapely.buffer(shapely.points(x, y), r * INNER - MARGIN_M, quad_segs=64)
    true = shapely.area(shapely.difference(disc, COVERAGE))
    assert (got <= true + 1e-6).all()
    assert (got > 0).sum() > 100  # it finds something where there is much to find
    # a disc of three cells' radius or more, mostly outside: some of it found
    big = (true > 0.5 * shapely.area(disc)) & (r * INNER - MARGIN_M > 3 * g.cell)
    assert big.sum() > 20 and got[big].min() > 0
    # the disc wholly inside the coverage: nothing outside
    assert g.outside_inner(np.array([4_000.0]), np.array([8_000.0]), np.array([1_500.0]))[0] == 0


def test_platform_short_of_coverage_is_the_overlays_answer(london, monkeypatch):
    """The table's "waste is a lower bound" flag: from the grid (many circles), from boxes (few)
    and from the overlay alone, the same for every circle -- London venues, radii from 500 m to
    15 miles, many of them across the edge of the data."""
    import geotarget.layers.base as base
    from geotarget.catchment import circles_in
    from geotarget.platforms.people import COVERED
    from geotarget.projections import transformer

    rng = np.random.default_rng(8)
    n = 400
    lat, lon = rng.uniform(51.3, 51.7, n), rng.uniform(-0.5, 0.3, n)
    r = rng.choice([500.0, 1_000.0, 3_000.0, 24_140.16], n)
    x, y = transformer("EPSG:4326", london.crs).transform(lon, lat)
    centres = shapely.points(x, y)
    exact = london.coverage_fraction(circles_in(lat, lon, r, london.crs)) < COVERED
    grid = london.surely_short(centres, r, COVERED)
    assert len(centres) >= base.GRID_AT
    monkeypatch.setattr(base, "GRID_AT", 10**9)
    boxes = london.surely_short(centres, r, COVERED)
    assert 0.3 * exact.sum() < grid.sum() and boxes.sum() > 0
    assert not (grid & ~exact).any() and not (boxes & ~exact).any()
