"""Where a layer's coverage applies: the share of a catchment inside it, a quick exact test of
boxes wholly inside or outside it, and the parts of a combined layer (the countries of the
Great Britain layer) with their own provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: boundary segments per line of the coverage's edge index
SEGMENTS_PER_LINE = 16
#: a circle of radius r metres, drawn in a layer's CRS, lies within r * OUTER + MARGIN_M of its
#: centre and holds the disc of radius r * INNER - MARGIN_M: margins for the projection's scale
#: (within 5% on every layer's CRS at these scales) and the polygon's straight edges
OUTER, INNER, MARGIN_M = 1.05, 0.95, 50.0
#: boxes a side of the square in which :func:`surely_short` tests the boxes inside a circle
SHORT_GRID = 8


def _cut_areas(geoms: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """The area of each ``geoms[i] ∩ parts[i]``: each piece first clipped to the geometry's
    bounding box (1 m wider; a quick cut along straight lines that changes nothing inside the
    box), so that the overlay reads a few of a large piece's vertices, not all of them."""
    b = shapely.bounds(geoms)
    clipped = np.array(
        [
            shapely.clip_by_rect(p, x0 - 1.0, y0 - 1.0, x1 + 1.0, y1 + 1.0)
            for p, (x0, y0, x1, y1) in zip(parts, b)
        ],
        dtype=object,
    )
    bad = ~shapely.is_valid(clipped)  # the quick clip may make an invalid polygon: not used
    clipped[bad] = parts[bad]
    return np.asarray(shapely.area(shapely.intersection(geoms, clipped)), dtype=float)


def fraction_inside(parts: np.ndarray, tree: shapely.STRtree, geoms: np.ndarray) -> np.ndarray:
    """Share of each geometry's area inside the union of ``parts`` (prepared, not overlapping)."""
    inside: np.ndarray = np.zeros(len(geoms))
    # candidates by bounding box, then the prepared pieces test them (a query with a
    # predicate would prepare every input geometry against the large pieces instead)
    ci, pi = tree.query(geoms)
    if len(ci):
        touch = shapely.intersects(parts[pi], geoms[ci])
        ci, pi = ci[touch], pi[touch]
    if len(ci):
        whole = shapely.covers(parts[pi], geoms[ci])
        a = np.where(whole, shapely.area(geoms[ci]), 0.0)
        cut = ~whole
        if cut.any():
            a[cut] = _cut_areas(geoms[ci[cut]], parts[pi[cut]])
        inside = np.bincount(ci, weights=a, minlength=len(geoms))
    area = shapely.area(geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(area > 0, inside / area, 0.0)
    return np.clip(frac, 0.0, 1.0)


def boundary_segments(coverage: BaseGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coverage's boundary (outer rings and holes) as straight segments.

    Parameters
    ----------
    coverage : shapely.geometry.base.BaseGeometry
        A layer's coverage polygon (layer CRS).

    Returns
    -------
    tuple of numpy.ndarray
        ``(xy, ring, seg)``: the rings' vertices, the ring of each, and the first vertex of
        each segment (``xy[s]`` to ``xy[s + 1]``, in one ring).
    """
    rings = shapely.get_rings(shapely.get_parts(np.array([coverage], dtype=object)))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    return xy, ring, np.flatnonzero(ring[1:] == ring[:-1])


def coverage_edges(coverage: BaseGeometry) -> shapely.STRtree:
    """The coverage's boundary (outer rings and holes) as short lines in a spatial index.

    Parameters
    ----------
    coverage : shapely.geometry.base.BaseGeometry
        A layer's coverage polygon (layer CRS).

    Returns
    -------
    shapely.STRtree
        An index of lines of at most ``SEGMENTS_PER_LINE`` boundary segments each.
    """
    xy, ring, seg = boundary_segments(coverage)
    if not len(seg):
        return shapely.STRtree(np.zeros(0, dtype=object))
    n = np.arange(len(seg))
    first = np.r_[True, ring[seg[1:]] != ring[seg[:-1]]]  # a ring's first segment
    pos = n - np.maximum.accumulate(np.where(first, n, 0))  # its place in the ring
    line = np.cumsum(first | (pos % SEGMENTS_PER_LINE == 0)) - 1
    pts = np.empty((2 * len(seg), 2))
    pts[0::2], pts[1::2] = xy[seg], xy[seg + 1]
    lines = np.asarray(shapely.linestrings(pts, indices=np.repeat(line, 2)), dtype=object)
    return shapely.STRtree(lines)


def boxes_decided(coverage: BaseGeometry, edges: shapely.STRtree, boxes: np.ndarray) -> np.ndarray:
    """Per box: 1.0 when it lies wholly inside the coverage, 0.0 when wholly outside, NaN when
    the coverage's boundary meets it (not decided here).

    A box that no boundary line meets is on one side of the boundary: its centre tells which.
    Exact (no tolerance), so the answer is the one an overlay would give.

    Parameters
    ----------
    coverage : shapely.geometry.base.BaseGeometry
        The coverage polygon (prepared here if it is not yet).
    edges : shapely.STRtree
        :func:`coverage_edges` of ``coverage``.
    boxes : numpy.ndarray
        Shapely box polygons, layer CRS.

    Returns
    -------
    numpy.ndarray
        One float per box.
    """
    out = np.full(len(boxes), np.nan)
    met = np.zeros(len(boxes), bool)
    if len(edges.geometries):
        bi, _ = edges.query(boxes, predicate="intersects")
        met[bi] = True
    free = np.flatnonzero(~met)
    if len(free):
        shapely.prepare(coverage)
        c = shapely.centroid(boxes[free])
        inside = shapely.contains_xy(coverage, shapely.get_x(c), shapely.get_y(c))
        out[free] = inside.astype(float)
    return out


def surely_less(outside: np.ndarray, radius_m: np.ndarray, share: float) -> np.ndarray:
    """Whether circles of radius ``radius_m`` with an area ``outside`` (m², layer CRS) surely
    outside the coverage have less than ``share`` of their area inside it: ``outside`` is more
    than ``1 - share`` of the largest area such a circle can have, ``pi (r * OUTER +
    MARGIN_M)^2``.

    Parameters
    ----------
    outside : numpy.ndarray
        Per circle, an area surely inside it and outside the coverage.
    radius_m : numpy.ndarray
        The circles' radii in metres.
    share : float
        The share in question, in (0, 1].

    Returns
    -------
    numpy.ndarray
        One bool per circle.
    """
    most = np.pi * (np.asarray(radius_m, dtype=float) * OUTER + MARGIN_M) ** 2
    return np.asarray(outside > (1.0 - share) * most)


def surely_short(
    coverage: BaseGeometry,
    edges: shapely.STRtree,
    x: np.ndarray,
    y: np.ndarray,
    radius_m: np.ndarray,
    share: float,
) -> np.ndarray:
    """Where a circle surely has less than ``share`` of its area inside the coverage.

    The square around the disc the circle surely holds (radius ``rho = r * INNER - MARGIN_M``)
    is cut in ``SHORT_GRID`` x ``SHORT_GRID`` boxes, and those wholly inside that disc (every
    corner within ``rho``) are kept.  Those of them wholly outside the coverage
    (:func:`boxes_decided`, exact) are part of the circle outside it.  When their area is more
    than ``1 - share`` of the largest area the circle can have (``pi (r * OUTER + MARGIN_M)^2``),
    the circle's share inside is surely below ``share``.  False means "not sure": measure it.

    Parameters
    ----------
    coverage : shapely.geometry.base.BaseGeometry
        The coverage polygon (layer CRS).
    edges : shapely.STRtree
        :func:`coverage_edges` of ``coverage``.
    x, y : numpy.ndarray
        The circles' centres, layer CRS.
    radius_m : numpy.ndarray
        Their radii in metres.
    share : float
        The share in question, in (0, 1].

    Returns
    -------
    numpy.ndarray
        One bool per circle.
    """
    r = np.asarray(radius_m, dtype=float)
    rho = r * INNER - MARGIN_M
    out = np.zeros(len(r), bool)
    use = np.flatnonzero(rho > 0)
    if not len(use):
        return out
    g = SHORT_GRID
    lo = np.arange(g) / g * 2.0 - 1.0  # the boxes' lower edges, in units of rho
    mx, my = np.meshgrid(lo, lo)
    bx0, by0 = mx.ravel(), my.ravel()
    far = np.maximum(np.abs(bx0), np.abs(bx0 + 2.0 / g)) ** 2
    far = far + np.maximum(np.abs(by0), np.abs(by0 + 2.0 / g)) ** 2
    keep = far <= 1.0  # boxes whose farthest corner is within the disc
    bx0, by0 = bx0[keep], by0[keep]
    side = 2.0 * rho[use] / g
    px = (x[use, None] + rho[use, None] * bx0[None, :]).ravel()
    py = (y[use, None] + rho[use, None] * by0[None, :]).ravel()
    s = np.repeat(side, len(bx0))
    decided = boxes_decided(coverage, edges, shapely.box(px, py, px + s, py + s))
    outside = (decided == 0.0).reshape(len(use), len(bx0)).sum(axis=1) * side**2
    out[use] = surely_less(outside, r[use], share)
    return out


@dataclass(eq=False)
class LayerPart:
    """One source inside a combined layer (a country of the Great Britain layer): its own
    provenance, what it lacks, and where it applies.

    ``pieces`` is the part's coverage cut in small pieces (layer CRS); ``None`` for the part
    that holds the rest of the layer's coverage.
    """

    name: str
    title: str
    source: str
    vintage: str
    attribution: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    workers_caveats: list[str] = field(default_factory=list)
    residents_unavailable: str | None = None
    workers_unavailable: str | None = None
    #: counts beside the residents that only this part has (e.g. ``aged_16plus``)
    residents_extra: tuple[str, ...] = ()
    pieces: np.ndarray | None = None
    #: what the part is called in sentences ("England & Wales", "Scotland")
    label: str = ""

    @cached_property
    def _tree(self) -> tuple[np.ndarray, shapely.STRtree]:
        assert self.pieces is not None, "the rest-of-layer part has no pieces"
        parts = np.asarray(self.pieces, dtype=object)
        shapely.prepare(parts)
        return parts, shapely.STRtree(parts)

    def fraction(self, geoms: np.ndarray) -> np.ndarray:
        """Share of each geometry's area inside this part's coverage (``pieces`` needed)."""
        parts, tree = self._tree
        return fraction_inside(parts, tree, np.asarray(geoms, dtype=object))

    def info(self) -> dict[str, Any]:
        """The part's provenance, as :meth:`PopulationLayer.info` gives a layer's."""
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "vintage": self.vintage,
            "attribution": list(self.attribution),
            "caveats": list(self.caveats)
            + (list(self.workers_caveats) if not self.workers_unavailable else []),
        }
