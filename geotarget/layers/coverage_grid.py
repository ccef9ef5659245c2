"""A layer's coverage as a grid of cells known to lie wholly inside it, wholly outside it, or
possibly on its edge: exact decisions for many circles at once without drawing them.

Every cell the coverage's boundary may touch is marked "edge" (each boundary segment, cut in
pieces no longer than a cell, marks every cell of its piece's bounding box, a little wider), so
the other cells are free of the boundary.  A run of free cells along a row meets no boundary, so
it is inside or outside as a whole: the centre of its first cell tells which.  Sums over the
grid (a summed-area table) then count, for any run of cells, those wholly outside.

It answers, for many circles at once, how much of each circle is surely outside the coverage:
the cells wholly inside the disc the circle surely holds and wholly outside the coverage.  When
that is more than a given share of the circle, the circle is surely short of that share inside
(:meth:`geotarget.layers.base.PopulationLayer.surely_short`); otherwise the caller measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from .coverage import INNER, MARGIN_M, boundary_segments

__all__ = ["CoverageGrid"]

#: cells in a grid, at most (about): sets the cell size for large coverages
MAX_CELLS = 4_000_000
#: the finest cell, metres
MIN_CELL_M = 50.0
#: (circle, row) pairs measured at once
MAX_ROWS = 2_000_000
#: rows a disc spans on the grid it is measured on, at least (and under twice as many)
ROWS = 16

OUTSIDE, INSIDE, EDGE = 0, 1, 2


@dataclass(eq=False)
class CoverageGrid:
    """Cells of a coverage (layer CRS) marked inside, outside or edge, with their sums.

    Parameters
    ----------
    x0, y0 : float
        The grid's lower-left corner.
    cell : float
        The cells' side.
    state : numpy.ndarray of int8, shape (ny, nx)
        ``OUTSIDE`` (0), ``INSIDE`` (1) or ``EDGE`` (2) per cell; row ``j`` spans
        ``y0 + j * cell`` to ``y0 + (j + 1) * cell``.
    """

    x0: float
    y0: float
    cell: float
    state: NDArray[np.int8]

    def __post_init__(self) -> None:
        ny, nx = self.state.shape
        self.nx, self.ny = nx, ny
        self._notout = _summed(self.state != OUTSIDE)

    @classmethod
    def of(cls, coverage: BaseGeometry) -> CoverageGrid:
        """The grid of ``coverage``, cells of at least ``MIN_CELL_M`` and at most about
        ``MAX_CELLS`` of them.

        Parameters
        ----------
        coverage : shapely.geometry.base.BaseGeometry
            A layer's coverage polygon (layer CRS).

        Returns
        -------
        CoverageGrid
            Its cells, one cell of margin round its bounds.
        """
        xmin, ymin, xmax, ymax = coverage.bounds
        if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
            return cls(0.0, 0.0, 1.0, np.zeros((1, 1), np.int8))
        cell = max(MIN_CELL_M, math.sqrt((xmax - xmin) * (ymax - ymin) / MAX_CELLS))
        x0, y0 = xmin - cell, ymin - cell
        nx = int(math.ceil((xmax - x0) / cell)) + 2
        ny = int(math.ceil((ymax - y0) / cell)) + 2
        edge = _edge_cells(coverage, x0, y0, cell, nx, ny)
        # each row's runs of free cells: a run meets no boundary, so one point of it (its first
        # cell's centre) tells its side
        free = ~edge
        start = free.copy()
        start[:, 1:] &= edge[:, :-1]
        run = np.cumsum(start.ravel()).reshape(ny, nx)  # a free cell's run, from 1
        js, is_ = np.nonzero(start)
        shapely.prepare(coverage)
        inside = shapely.contains_xy(coverage, x0 + (is_ + 0.5) * cell, y0 + (js + 0.5) * cell)
        side = np.r_[EDGE, np.where(inside, INSIDE, OUTSIDE)].astype(np.int8)
        state = np.where(free, side[run], EDGE).astype(np.int8)
        return cls(x0, y0, cell, state)

    def outside_inner(self, x: np.ndarray, y: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
        """Per circle, the area (m², layer CRS) of the cells wholly inside the disc of radius
        ``r * INNER - MARGIN_M`` round its centre and wholly outside the coverage: a part of the
        circle surely outside the coverage.

        Parameters
        ----------
        x, y : numpy.ndarray
            The circles' centres, layer CRS.
        radius_m : numpy.ndarray
            Their radii in metres.

        Returns
        -------
        numpy.ndarray
            One area per circle (0 where the disc holds no whole cell).
        """
        rho = np.asarray(radius_m, dtype=float) * INNER - MARGIN_M
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        out = np.zeros(len(rho))
        ok = np.isfinite(rho + x + y) & (rho > self.cell)
        # each disc on the grid whose cells give it about ROWS to 2 * ROWS rows: a wide circle
        # on coarser cells (each a block of finer ones, so just as exact)
        level = np.zeros(len(rho), np.int64)
        level[ok] = np.maximum(np.floor(np.log2(rho[ok] / (self.cell * ROWS))), 0)
        for lv in np.unique(level[ok]):
            w = np.flatnonzero(ok & (level == lv))
            out[w] = self._level(int(lv))._outside_rows(x[w], y[w], rho[w])
        return out

    def _level(self, lv: int) -> CoverageGrid:
        """This grid with cells ``2**lv`` times as wide (blocks of its cells: inside or outside
        when all of the block is, else edge), made once."""
        levels = self.__dict__.setdefault("_levels", [self])
        while len(levels) <= lv:
            levels.append(levels[-1]._coarser())
        return levels[lv]

    def _coarser(self) -> CoverageGrid:
        """The grid of blocks of 2 x 2 cells (cells beyond the grid: outside)."""
        ny, nx = self.state.shape
        st = np.full((ny + ny % 2, nx + nx % 2), OUTSIDE, np.int8)
        st[:ny, :nx] = self.state
        blocks = [st[0::2, 0::2], st[1::2, 0::2], st[0::2, 1::2], st[1::2, 1::2]]
        inside = np.logical_and.reduce([b == INSIDE for b in blocks])
        outside = np.logical_and.reduce([b == OUTSIDE for b in blocks])
        state = np.where(inside, INSIDE, np.where(outside, OUTSIDE, EDGE)).astype(np.int8)
        return CoverageGrid(self.x0, self.y0, 2.0 * self.cell, state)

    def _outside_rows(self, x: np.ndarray, y: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """:meth:`outside_inner` on this grid's cells, for discs of radius ``rho``."""
        out = np.zeros(len(rho))
        c = self.cell
        w = np.flatnonzero(rho > c)
        if not len(w):
            return out
        # the rows wholly inside each disc's vertical span
        ja = np.ceil((y[w] - rho[w] - self.y0) / c).astype(np.int64)
        jb = np.floor((y[w] + rho[w] - self.y0) / c).astype(np.int64)  # rows ja .. jb - 1
        nrow = np.maximum(jb - ja, 0)
        for part in _split(nrow, MAX_ROWS):
            k = np.repeat(part, nrow[part])
            if not len(k):
                continue
            j = ja[part].repeat(nrow[part]) + _within(nrow[part])
            wk = w[k]
            lo, hi = self.y0 + j * c - y[wk], self.y0 + (j + 1) * c - y[wk]
            far = np.maximum(np.abs(lo), np.abs(hi))  # the row's edge farther from the centre
            half = np.sqrt(np.maximum(rho[wk] ** 2 - far**2, 0.0))  # the chord there
            ia = np.ceil((x[wk] - half - self.x0) / c).astype(np.int64)
            ib = np.floor((x[wk] + half - self.x0) / c).astype(np.int64)  # cells ia .. ib - 1
            ib = np.maximum(ib, ia)
            cells = ib - ia
            # cells beyond the grid are outside the coverage; those in it, from the sums
            jc = np.clip(j, 0, self.ny)
            inrow = (j >= 0) & (j < self.ny)
            a, b = np.clip(ia, 0, self.nx), np.clip(ib, 0, self.nx)
            notout = np.where(inrow, _rect(self._notout, a, b, jc, np.minimum(jc + 1, self.ny)), 0)
            out[w] += np.bincount(k, weights=(cells - notout) * c * c, minlength=len(w))
        return out


def _edge_cells(
    coverage: BaseGeometry, x0: float, y0: float, cell: float, nx: int, ny: int
) -> NDArray[np.bool_]:
    """The cells (ny, nx) the coverage's boundary may touch: each segment cut in pieces no longer
    than a cell, each piece marking the cells of its bounding box (widened by a millionth of a
    cell, so that a piece on a cell's side marks both cells)."""
    edge = np.zeros((ny, nx), bool)
    xy, _, s = boundary_segments(coverage)
    if not len(s):
        return edge
    a, b = xy[s], xy[s + 1]
    pieces = np.maximum(np.ceil(np.hypot(*(b - a).T) / cell), 1).astype(np.int64)
    seg = np.repeat(np.arange(len(s)), pieces)
    t0 = _within(pieces) / pieces[seg]
    t1 = (_within(pieces) + 1) / pieces[seg]
    p = a[seg] + (b - a)[seg] * t0[:, None]
    q = np.where((t1 >= 1.0)[:, None], b[seg], a[seg] + (b - a)[seg] * t1[:, None])
    eps = cell * 1e-6
    i0 = np.floor((np.minimum(p[:, 0], q[:, 0]) - eps - x0) / cell).astype(np.int64)
    i1 = np.floor((np.maximum(p[:, 0], q[:, 0]) + eps - x0) / cell).astype(np.int64)
    j0 = np.floor((np.minimum(p[:, 1], q[:, 1]) - eps - y0) / cell).astype(np.int64)
    j1 = np.floor((np.maximum(p[:, 1], q[:, 1]) + eps - y0) / cell).astype(np.int64)
    # a piece no longer than a cell spans at most 3 cells a side (with the widening)
    for di in range(3):
        for dj in range(3):
            m = (i0 + di <= i1) & (j0 + dj <= j1)
            edge[np.clip(j0[m] + dj, 0, ny - 1), np.clip(i0[m] + di, 0, nx - 1)] = True
    return edge


def _summed(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """A summed-area table of ``mask``, one row and column of zeros first."""
    ny, nx = mask.shape
    out = np.zeros((ny + 1, nx + 1), np.int64)
    np.cumsum(np.cumsum(mask, axis=0, dtype=np.int64), axis=1, out=out[1:, 1:])
    return out


def _rect(sat: NDArray[np.int64], i0: np.ndarray, i1: np.ndarray, j0: np.ndarray, j1: np.ndarray):
    """Per query, the sum over cells ``i0 .. i1 - 1`` by rows ``j0 .. j1 - 1`` (in the grid)."""
    return sat[j1, i1] - sat[j0, i1] - sat[j1, i0] + sat[j0, i0]


def _within(n: np.ndarray) -> np.ndarray:
    """``0 .. n[k] - 1`` for each ``k``, one after another."""
    n = np.asarray(n, dtype=np.int64)
    return np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)


def _split(n: np.ndarray, most: int) -> list[np.ndarray]:
    """Indices of ``n`` in consecutive groups holding about ``most`` of its total each."""
    cut = np.floor(np.cumsum(n) / most).astype(np.int64)
    return np.split(np.arange(len(n)), np.flatnonzero(np.diff(cut)) + 1)
