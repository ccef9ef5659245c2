"""The picture of a result, before any drawing: the catchment, each platform's footprint and its
wasted area (footprint minus catchment) split into density cells, and the layer's zones around
the catchment as context -- all in the layer's equal-area CRS (metres).

The density of the wasted area is computed on a quadtree of square cells, fine next to the
catchment (where the map opens) and coarser far from it, each cell clipped to the wasted area and
to the layer's coverage (outside it nothing is known, which is drawn as "no data", never as
empty).  :mod:`.webmap` and :mod:`.png` draw this picture.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from ..projections import GeomT, reproject, transformer
from .style import DENSITY_COLOURS

if TYPE_CHECKING:
    from ..layers.base import CountSurface, PopulationLayer
    from ..result import Result

#: at most this many density cells per wasted area (the quadtree coarsens to stay below)
MAX_CELLS = 2500
#: at most this many zones (five times as many points) drawn as context
MAX_CONTEXT_ZONES = 600


@dataclass
class Cells:
    """Density cells of one wasted area (layer CRS).

    Parameters
    ----------
    geoms : numpy.ndarray
        The cells, clipped to the wasted area (and to the layer's coverage).
    people : numpy.ndarray
        People in each cell.
    area_km2 : numpy.ndarray
        Area of each clipped cell.
    size_m : numpy.ndarray
        Side of each (unclipped) quadtree cell, in metres.
    """

    geoms: np.ndarray  # clipped polygons
    people: np.ndarray
    area_km2: np.ndarray
    size_m: np.ndarray  # side of the (unclipped) quadtree cell

    @property
    def density(self) -> np.ndarray:
        """People per km² of each cell (0 where a cell has no area)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.area_km2 > 0, self.people / self.area_km2, 0.0)


@dataclass
class FootprintShape:
    """A distinct footprint and the platforms whose recommended footprint it is.

    Parameters
    ----------
    key : str
        The footprint's identity (its shape and the basis its people are counted on).
    rows : list of dict
        The platform rows sharing it, best first.
    basis : str
        Whom its people count: ``"residents"``, ``"workers"`` or ``"residents+workers"``.
    geometry : shapely.geometry.base.BaseGeometry
        The footprint (layer CRS).
    waste : shapely.geometry.base.BaseGeometry
        The footprint minus the catchment (layer CRS).
    cells : Cells
        The density of the wasted area inside the layer's coverage.
    no_data : shapely.geometry.base.BaseGeometry
        The wasted area outside the layer's coverage.
    """

    key: str
    rows: list[dict[str, Any]]
    basis: str
    geometry: BaseGeometry  # layer CRS
    waste: BaseGeometry  # footprint minus catchment, layer CRS
    cells: Cells  # density of the wasted area inside the layer's coverage
    no_data: BaseGeometry  # wasted area outside the layer's coverage

    @property
    def label(self) -> str:
        """The footprint's words, e.g. "City of Edinburgh" or "1 mi radius"."""
        return (self.rows[0].get("footprint") or {}).get("label", "")

    @property
    def waste_people(self) -> float:
        """People in the wasted area (inside the layer's coverage)."""
        return float(self.cells.people.sum())


@dataclass
class Picture:
    """Everything drawn, in the layer's CRS, with a function to WGS84.

    Parameters
    ----------
    crs : str
        The layer's equal-area CRS, in which every shape below is.
    venue : dict
        The result's venue (``lat``, ``lon``, ``label``...).
    venue_xy : tuple of float
        The venue in ``crs``.
    catchment : shapely.geometry.base.BaseGeometry
        The catchment.
    footprints : list of FootprintShape
        The distinct footprints, best first.
    context : numpy.ndarray
        The layer's zones (or points) near the catchment.
    context_kind : str
        ``"zones"``, ``"grid"``, ``"points"`` or ``""`` (no context).
    context_unit : str
        What the context zones are, e.g. "Data Zone 2011".
    breaks : list of float
        The density class boundaries (people per km²), one fewer than the classes.
    view : shapely.geometry.base.BaseGeometry
        The area the map opens on.
    unavailable : list of dict
        The platform rows with no footprint.
    """

    crs: str
    venue: dict[str, Any]
    venue_xy: tuple[float, float]
    catchment: BaseGeometry
    footprints: list[FootprintShape]
    context: np.ndarray  # zone outlines (or points) near the catchment
    context_kind: str  # "zones", "grid", "points" or ""
    context_unit: str
    breaks: list[float]  # density class boundaries (people per km²), len(DENSITY_COLOURS)-1
    view: BaseGeometry  # the area the map opens on (layer CRS)
    unavailable: list[dict[str, Any]] = field(default_factory=list)  # rows with no footprint

    @property
    def catchment_radius_m(self) -> float:
        """The radius of a circle of the catchment's area (metres)."""
        return math.sqrt(self.catchment.area / math.pi)

    def classify(self, density: np.ndarray) -> np.ndarray:
        """The density class of each value.

        Parameters
        ----------
        density : numpy.ndarray
            People per km².

        Returns
        -------
        numpy.ndarray
            Indices into :data:`~geotarget.render.style.DENSITY_COLOURS`.
        """
        return np.searchsorted(np.asarray(self.breaks), density, side="right")

    def to_wgs84(self, geom: GeomT) -> GeomT:
        """Geometries moved from the layer's CRS to WGS84.

        Parameters
        ----------
        geom : shapely geometry or numpy.ndarray of them
            In the layer's CRS.

        Returns
        -------
        shapely geometry or numpy.ndarray of them
            The same kind, in WGS84 (x = longitude).
        """
        return reproject(geom, self.crs, "EPSG:4326")


def _footprint_in_layer_crs(result: Result, row: dict[str, Any]) -> BaseGeometry | None:
    from ..platforms.feasibility import footprint_geometry

    g = footprint_geometry(row)
    if g is not None:
        return g
    fp = result.footprint_geometries().get(row["id"])
    if fp is None:
        return None
    lay = result.layer_obj
    assert lay is not None
    return reproject(fp, "EPSG:4326", lay.crs)


NICE = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)


def _nice(x: float, above: bool = False) -> float:
    """``x`` rounded down (or, with ``above``, up past it) to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or
    8 x 10^k."""
    if x <= 0:
        return 0.0
    e = 10 ** math.floor(math.log10(x))
    steps = [m * e for m in NICE] + [10 * e]
    if above:
        return next(v for v in steps if v > x * (1 + 1e-9))
    return max(v for v in steps if v <= x * (1 + 1e-9))


def _surfaces(result: Result, basis: str) -> list[CountSurface]:
    """The count surfaces behind a basis, estimated the way the result's numbers were."""
    lay = result.layer_obj
    assert lay is not None
    out = []
    for pop, est in (("residents", result.residents), ("workers", result.workers)):
        if pop not in basis.split("+") or getattr(lay, pop) is None:
            continue
        s = lay.surface(pop, est.method if est is not None else None)
        if s is not None:
            out.append(s)
    return out


def _quadtree(
    waste: BaseGeometry,
    catchment: BaseGeometry,
    centre: tuple[float, float],
    min_cell: float,
    ratio: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Square cells covering ``waste``, each clipped to it: ``min_cell`` wide next to the
    catchment, doubling with distance (a cell is split while it is wider than its distance to
    the catchment / ratio).  Each cell's piece of ``waste`` is cut from its parent's piece, so
    the work stays local however large and detailed the footprint is."""
    xmin, ymin, xmax, ymax = waste.bounds
    span = max(xmax - xmin, ymax - ymin, min_cell)
    size = min_cell * 2 ** max(0, math.ceil(math.log2(span / 4 / min_cell)))
    cx, cy = centre
    ox = cx + math.floor((xmin - cx) / size) * size
    oy = cy + math.floor((ymin - cy) / size) * size
    nx = max(1, math.ceil((xmax - ox) / size))
    ny = max(1, math.ceil((ymax - oy) / size))
    gx, gy = np.meshgrid(ox + size * np.arange(nx), oy + size * np.arange(ny))
    x, y, s = gx.ravel(), gy.ravel(), np.full(gx.size, size)
    piece = np.full(len(x), waste, dtype=object)
    shapely.prepare(catchment)
    done_geoms, done_sizes = [], []
    while len(x):
        boxes = shapely.box(x, y, x + s, y + s)
        shapely.prepare(piece)
        whole = shapely.contains_properly(piece, boxes)  # box strictly inside: no cut needed
        cut = shapely.intersection(piece[~whole], boxes[~whole], grid_size=None)
        clipped = boxes.copy()
        clipped[~whole] = cut
        keep = ~shapely.is_empty(clipped) & (shapely.area(clipped) > 0)
        x, y, s, clipped = x[keep], y[keep], s[keep], clipped[keep]
        d = shapely.distance(catchment, shapely.box(x, y, x + s, y + s))
        split = (s > min_cell * 1.01) & (s > d / ratio)
        done_geoms.append(clipped[~split])
        done_sizes.append(s[~split])
        x, y, h, piece = x[split], y[split], s[split] / 2, clipped[split]
        x = np.concatenate([x, x + h, x, x + h])
        y = np.concatenate([y, y, y + h, y + h])
        s = np.concatenate([h, h, h, h])
        piece = np.concatenate([piece, piece, piece, piece])
    return np.concatenate(done_geoms), np.concatenate(done_sizes)


def _coverage_split(lay: PopulationLayer, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cells clipped to the layer's coverage, the same cells' parts outside it)."""
    frac = lay.coverage_fraction(cells)
    inside = np.array(cells, dtype=object)
    outside = np.full(len(cells), None, dtype=object)
    inside[frac <= 0] = None
    outside[frac <= 0] = cells[frac <= 0]
    partial = np.nonzero((frac > 0) & (frac < 1 - 1e-9))[0]
    if len(partial):
        parts_tree = getattr(lay, "_coverage_parts", None)
        if parts_tree is not None:
            parts, tree = parts_tree
            ci, pi = tree.query(cells[partial], predicate="intersects")
            pieces = shapely.intersection(cells[partial][ci], parts[pi])
            for j, i in enumerate(partial):
                mine = pieces[ci == j]
                cov = shapely.union_all(mine) if len(mine) else shapely.Polygon()
                inside[i] = cov
                outside[i] = shapely.difference(cells[i], cov)
        # else: keep the whole cell (its density then spreads over a little too much area)
    return inside, outside


def _count(surfaces: list[CountSurface], cells: np.ndarray) -> np.ndarray:
    """People of ``surfaces`` in each cell: points by containment (a point on a shared edge
    counted once), zones and grid cells by exact areal weighting."""
    people = np.zeros(len(cells))
    if not len(cells):
        return people
    for s in surfaces:
        ci, zi = s.tree.query(cells, predicate="intersects")
        if not len(ci):
            continue
        zone_area = s.areas[zi]
        is_area = zone_area > 0
        w = np.zeros(len(ci))
        if is_area.any():
            a = np.nonzero(is_area)[0]
            shapely.prepare(cells)
            whole = shapely.covers(cells[ci[a]], s.geoms[zi[a]])  # zone wholly in the cell
            w[a[whole]] = s.values[zi[a[whole]]]
            cut = a[~whole]
            if len(cut):
                inter = shapely.area(shapely.intersection(s.geoms[zi[cut]], cells[ci[cut]]))
                w[cut] = s.values[zi[cut]] * inter / zone_area[cut]
        pts = np.nonzero(~is_area)[0]
        if len(pts):
            _, first = np.unique(zi[pts], return_index=True)
            keep = pts[first]
            w[keep] = s.values[zi[keep]]
        people += np.bincount(ci, weights=w, minlength=len(cells))
    return people


def _min_cell(radius_m: float) -> float:
    for c in (5000, 2000, 1000, 500, 250, 200, 100, 50, 25, 10):
        if c <= radius_m / 5:
            return float(c)
    return 10.0


def _context(result: Result, view: BaseGeometry) -> tuple[np.ndarray, str, str]:
    """The layer's own zones (or grid cells, else points) around the view, as context."""
    lay = result.layer_obj
    assert lay is not None
    pick: CountSurface | None = None
    for pop in ("residents", "workers"):
        for s in lay.methods(pop).values() if getattr(lay, pop) is not None else ():
            if s.kind in ("zones", "grid"):
                pick = pick or s
    if pick is None:
        for pop in ("residents", "workers"):
            s = getattr(lay, pop)
            if s is not None:
                pick = pick or s
    if pick is None:
        return np.array([], dtype=object), "", ""
    idx = pick.tree.query(view, predicate="intersects")
    limit = MAX_CONTEXT_ZONES * (5 if pick.kind == "points" else 1)
    if len(idx) > limit:
        d = shapely.distance(pick.geoms[idx], view.centroid)
        idx = idx[np.argsort(d, kind="stable")[:limit]]
    return pick.geoms[np.sort(idx)], pick.kind, pick.unit


def picture(result: Result) -> Picture:
    """Compute the shapes drawn by :func:`geotarget.render.webmap.interactive_map` and
    :func:`geotarget.render.png.save_png`.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse`, with its geometry.

    Returns
    -------
    Picture
        The catchment, each distinct footprint with its wasted area in density cells, the
        context zones, the density classes and the view, in the layer's CRS.

    Raises
    ------
    InputError
        When the result carries no geometry (e.g. a result rebuilt from JSON).
    """
    lay = result.layer_obj
    catchment_obj = result.catchment_obj
    if lay is None or catchment_obj is None:
        raise InputError(
            "this result has no geometry to draw: map a Result returned by "
            "geotarget.analyse(), not one rebuilt from JSON"
        )
    crs = lay.crs
    catchment = catchment_obj.to_crs(crs)
    vx, vy = transformer("EPSG:4326", crs).transform(result.venue["lon"], result.venue["lat"])
    radius = math.sqrt(catchment.area / math.pi)
    min_cell = _min_cell(radius)

    groups: dict[str, FootprintShape] = {}
    unavailable = []
    no_data: BaseGeometry
    for row in result.platform_rows or []:
        geom = _footprint_in_layer_crs(result, row) if row.get("footprint") else None
        if geom is None or geom.is_empty:
            unavailable.append(row)
            continue
        basis = (row.get("people") or {}).get("basis") or row.get("basis") or "residents"
        key = hashlib.sha1(shapely.to_wkb(geom, output_dimension=2)).hexdigest() + "-" + basis
        if key in groups:
            groups[key].rows.append(row)
            continue
        waste = shapely.difference(geom, catchment)
        if waste.is_empty:
            cells = Cells(*(np.array([], dtype=t) for t in (object, float, float, float)))
            no_data = shapely.Polygon()
        else:
            cm = min_cell
            while True:
                clipped, sizes = _quadtree(waste, catchment, (vx, vy), cm)
                if len(clipped) <= MAX_CELLS:
                    break
                cm *= 2
            inside, no_data = clipped, shapely.Polygon()
            # the platform layer says whether the footprint reaches beyond the layer's coverage
            if (row.get("footprint") or {}).get("beyond_coverage", True):
                inside, outside = _coverage_split(lay, clipped)
                no_data_parts = [
                    g for g in outside if g is not None and not g.is_empty and g.area > 0
                ]
                if no_data_parts:
                    no_data = shapely.union_all(no_data_parts)
                ok = np.array([g is not None and not g.is_empty and g.area > 0 for g in inside])
                inside, sizes = inside[ok], sizes[ok]
            inside = shapely.make_valid(inside)
            people = _count(_surfaces(result, basis), inside)
            cells = Cells(inside, people, shapely.area(inside) / 1e6, sizes)
        groups[key] = FootprintShape(key, [row], basis, geom, waste, cells, no_data)

    footprints = list(groups.values())
    # density classes from the cells of every footprint, weighted by area
    dens = np.concatenate([f.cells.density for f in footprints] or [np.array([])])
    # each footprint weighs the same (within one, cells weigh by their people), so that a
    # county-sized footprint does not set the classes of the small ones seen first
    wts = np.concatenate(
        [
            f.cells.people / f.cells.people.sum()
            if f.cells.people.sum() > 0
            else np.zeros(len(f.cells.people))
            for f in footprints
        ]
        or [np.array([])]
    )
    breaks = _breaks(dens, wts)

    # the view: the catchment and every footprint not much larger than it
    view_parts = [catchment]
    for f in footprints:
        x0, y0, x1, y1 = f.geometry.bounds
        if max(x1 - x0, y1 - y0) <= 8 * radius:
            view_parts.append(f.geometry)
    view = shapely.box(*shapely.union_all(view_parts).bounds).buffer(
        radius * 0.25, join_style="mitre"
    )
    context, ckind, cunit = _context(result, view.buffer(radius, join_style="mitre"))
    return Picture(
        crs=crs,
        venue=result.venue,
        venue_xy=(vx, vy),
        catchment=catchment,
        footprints=footprints,
        context=context,
        context_kind=ckind,
        context_unit=cunit,
        breaks=breaks,
        view=view,
        unavailable=unavailable,
    )


def _breaks(density: np.ndarray, people: np.ndarray) -> list[float]:
    """Class boundaries at the 10/30/50/70/90th percentiles of density weighted by ``people``
    (the density at which the wasted audience lives), rounded to nice numbers and made strictly
    increasing."""
    n = len(DENSITY_COLOURS) - 1
    ok = np.isfinite(density) & (people > 0)
    density, people = density[ok], people[ok]
    if not len(density):
        return [float(10**k) for k in range(2, 2 + n)]
    order = np.argsort(density)
    cum = np.cumsum(people[order]) / people.sum()
    qs = [0.10, 0.30, 0.50, 0.70, 0.90]
    raw = [float(density[order][min(int(np.searchsorted(cum, q)), len(order) - 1)]) for q in qs]
    out: list[float] = []
    for v in raw:
        b = _nice(max(v, 1.0))
        if out and b <= out[-1]:
            b = _nice(out[-1], above=True)
        out.append(b)
    return out


# -- GeoJSON output ------------------------------------------------------------------------


def _drop_small(geom: BaseGeometry, min_area: float) -> BaseGeometry:
    """``geom`` without the polygon parts smaller than ``min_area`` (m²), unless all are."""
    if min_area <= 0 or geom.geom_type not in ("MultiPolygon", "GeometryCollection"):
        return geom
    parts = shapely.get_parts(geom)
    keep = parts[shapely.area(parts) >= min_area]
    return shapely.MultiPolygon(list(keep)) if len(keep) else geom
