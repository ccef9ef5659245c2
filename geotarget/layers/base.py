"""One representation for every population source.

A :class:`PopulationLayer` holds, for each population (``residents``, ``workers``), one or more
:class:`CountSurface` objects -- one per estimation method it supports -- each a set of census
zones (polygons with counts), points with counts (blocks, postcodes, centroids) or grid cells,
stored in the layer's equal-area CRS.  A count that the source does not publish is
*unavailable*, with a reason, never zero.  The layer's ``coverage`` polygon is the area the layer
describes: inside it a place with no zone holds zero people; outside it nothing is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import DataError, InputError
from .coverage import (
    MARGIN_M,
    OUTER,
    LayerPart,
    boxes_decided,
    coverage_edges,
    fraction_inside,
    surely_less,
    surely_short,
)
from .coverage_grid import CoverageGrid
from .geometry import point_array
from .places import PlaceSet

if TYPE_CHECKING:
    from .commuting import Commuting

#: what a surface's geometries are: census zones, points with counts, grid cells
KINDS = ("zones", "points", "grid")
#: circles asked at once from which :meth:`PopulationLayer.surely_short` uses the coverage's grid
GRID_AT = 32
#: the populations a layer counts
POPULATIONS = ("residents", "workers")


class PointXY(np.ndarray):
    """Point geometries given by their coordinates, an (n, 2) float array, built as shapely
    points only when asked for.

    Pass one as a point :class:`CountSurface`'s ``geoms``: counting reads ``CountSurface.xy``
    and never needs the 1.5 million shapely points of the England & Wales layer (about 1 s to
    build), so ``CountSurface.geoms`` creates them on first use.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates, one per point, in the layer's CRS.
    """

    def __new__(cls, x: np.ndarray, y: np.ndarray) -> PointXY:
        """The coordinates as one (n, 2) array."""
        xy = np.column_stack([np.asarray(x, "float64"), np.asarray(y, "float64")])
        return xy.view(cls)


class _Geoms:
    """The ``geoms`` field of :class:`CountSurface`: an object array of shapely geometries,
    built from a :class:`PointXY` on first access (a data descriptor, so the dataclass keeps its
    ``geoms`` constructor argument)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = "_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> np.ndarray:
        if obj is None:  # no default value for the dataclass field
            raise AttributeError("geoms")
        value = obj.__dict__[self.name]
        if isinstance(value, PointXY):
            value = point_array(value[:, 0], value[:, 1])
            obj.__dict__[self.name] = value
        return value

    def __set__(self, obj: Any, value: np.ndarray | PointXY) -> None:
        if not isinstance(value, PointXY):
            # plain numpy arrays of shapely geometries (a GeoPandas GeometryArray is much slower
            # through numpy's indexing and ufuncs)
            value = np.asarray(value, dtype=object)
        obj.__dict__[self.name] = value


class _Ids:
    """The ``ids`` field of :class:`CountSurface`: an array, or loaded on first access when
    :meth:`CountSurface.defer_ids` was given a loader (a data descriptor, as :class:`_Geoms`)."""

    def __get__(self, obj: Any, objtype: type | None = None) -> np.ndarray:
        if obj is None:  # no default value for the dataclass field
            raise AttributeError("ids")
        value = obj.__dict__["_ids"]
        if callable(value):
            n = len(obj.values)
            value = np.asarray(value())
            if len(value) != n:
                raise DataError(f"{obj.unit}: {len(value)} ids loaded for {n} counts")
            obj.__dict__["_ids"] = value
        return value

    def __set__(self, obj: Any, value: np.ndarray) -> None:
        obj.__dict__["_ids"] = np.asarray(value)


@dataclass(eq=False)
class CountSurface:
    """Counts of one population (residents or workers) over zones, points or grid cells.

    For ``kind="points"`` the optional ``group`` array names, for each point, the census zone
    whose published count it shares (dasymetric points); ``group_k`` is then, per zone, the
    effective number of independently placed clusters used by the range (see
    :mod:`geotarget.estimate`).  Plain points (no ``group``) carry ``edge_m``: how far from the
    catchment edge a point's people may reach (half the distance to its nearest neighbour).

    Parameters
    ----------
    kind : str
        ``"zones"``, ``"points"`` or ``"grid"``.
    unit : str
        What one geometry is, e.g. ``"LSOA 2021"``, ``"census block 2020"``.
    ids : numpy.ndarray
        One identifier per geometry.
    geoms : numpy.ndarray or PointXY
        Shapely geometries in the layer's CRS (points may be given as a :class:`PointXY`).
    values : numpy.ndarray
        The count of each geometry (float64).
    definition : str
        What is counted, in words.
    extra : dict of str to numpy.ndarray, optional
        Other counts placed alike (e.g. ``home_workers``, ``aged_16plus``).
    clusters_per_zone : float, default 5.0
        Zones and grid cells: the effective number of independent clusters of people per zone,
        used by the range.
    method : str, optional
        ``"areal"``, ``"points"`` or ``"dasymetric"``; derived from ``kind`` when empty.
    group, group_k : numpy.ndarray, optional
        Dasymetric points: each point's census zone, and per zone the clusters of its range.
    group_unit : str, optional
        What a group is (e.g. ``"Output Area 2021"``).
    edge_m : numpy.ndarray, optional
        Plain points: how far from the catchment edge each point's people may reach.
    description : str, optional
        How the surface was made, for the result's method text.
    range_note : str, optional
        How the range's k was set: calibrated (where) or assumed.
    group_area : numpy.ndarray, optional
        Per group, the area of the layer's commuting flows (an MSOA) it lies in.
    """

    kind: str
    unit: str  # e.g. "LSOA 2021", "census block 2020", "1 km grid cell"
    if TYPE_CHECKING:
        ids: np.ndarray
    else:
        ids: _Ids = _Ids()
    #: shapely geometries in the layer's CRS; a point surface may be given a :class:`PointXY`,
    #: whose shapely points are then built on first use of ``geoms`` (or ``tree``)
    if TYPE_CHECKING:  # the descriptor has no default: mypy is told so
        geoms: np.ndarray
    else:
        geoms: _Geoms = _Geoms()
    values: np.ndarray  # float64 counts
    definition: str  # what is counted, in words
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other counts placed alike
    #: zones/grid: effective number of independently placed clusters of people per zone, used by
    #: the range; calibrated on a finer reference, documented in the README
    clusters_per_zone: float = 5.0
    method: str = ""  # "areal", "points" or "dasymetric"; derived from kind when empty
    group: np.ndarray | None = None
    group_k: np.ndarray | None = None
    group_unit: str = ""
    edge_m: np.ndarray | None = None
    description: str = ""  # how the surface was made, for the result's method text
    range_note: str = ""  # how its range's k was set: calibrated (where) or assumed
    #: per group, the index of the area of the layer's commuting flows (an MSOA) it lies in
    group_area: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"unknown surface kind {self.kind!r}: use one of {KINDS}")
        if not self.method:
            self.method = "points" if self.kind == "points" else "areal"
        raw = self.__dict__["_geoms"]
        if isinstance(raw, PointXY):
            if self.kind != "points":
                raise DataError(f"{self.unit}: coordinates alone describe points, not {self.kind}")
            self.__dict__["xy"] = raw.view(
                np.ndarray
            )  # the cached property, without building the points
        n_geoms = len(raw)
        self.values = np.asarray(self.values, dtype="float64")
        n = len(self.values)
        if n_geoms != n or len(self.ids) != n:
            raise DataError(
                f"{self.unit}: {n_geoms} geometries, {len(self.ids)} ids and "
                f"{n} counts do not match"
            )
        if not np.isfinite(self.values).all():
            raise DataError(f"{self.unit}: counts must be finite numbers")
        if (self.values < 0).any():
            raise DataError(f"{self.unit}: counts must not be negative")
        if self.group is not None:
            self.group = np.asarray(self.group, dtype="int64")
            if self.group_k is None or len(self.group) != n:
                raise DataError(f"{self.unit}: group and group_k must be given together")
            self.group_k = np.asarray(self.group_k, dtype="float64")

    @cached_property
    def tree(self) -> shapely.STRtree:
        """A spatial index of ``geoms``."""
        return shapely.STRtree(self.geoms)

    @cached_property
    def areas(self) -> np.ndarray:
        """The area of each geometry, in the layer CRS (m²)."""
        return shapely.area(self.geoms)

    @cached_property
    def xy(self) -> np.ndarray:
        """The coordinates of the geometries' vertices, an (n, 2) array (points: one each)."""
        return shapely.get_coordinates(self.geoms)

    @cached_property
    def group_totals(self) -> np.ndarray:
        """The total count of each group (dasymetric points only)."""
        assert self.group is not None and self.group_k is not None
        return np.bincount(self.group, weights=self.values, minlength=len(self.group_k))

    @property
    def total(self) -> float:
        """The sum of the counts."""
        return float(self.values.sum())

    def defer_ids(self, load: Callable[[], np.ndarray]) -> None:
        """Replace ``ids`` by ``load()``, called on first use of ``ids`` (counting never reads
        them; a cached layer's 1.5 million ids take about 0.1 s to convert).

        Parameters
        ----------
        load : callable
            Gives the ids, one per count (checked when loaded).
        """
        self.__dict__["_ids"] = load


class _Places:
    """The ``places`` field of :class:`PopulationLayer`: a :class:`PlaceSet`, ``None``, or a
    function giving one, called on first access (a data descriptor, as :class:`_Geoms`: a
    cached layer's places are read only when a platform asks for them)."""

    def __get__(self, obj: Any, objtype: type | None = None) -> PlaceSet | None:
        if obj is None:  # the dataclass field's default
            return None
        value = obj.__dict__.get("_places")
        if value is not None and not isinstance(value, PlaceSet):
            value = value()
            obj.__dict__["_places"] = value
        return value

    def __set__(self, obj: Any, value: PlaceSet | Callable[[], PlaceSet] | None) -> None:
        obj.__dict__["_places"] = value


@dataclass(eq=False)
class PopulationLayer:
    """A population source with its metadata, counts (per method) and coverage.

    Parameters
    ----------
    name, title, source, licence, vintage : str
        The layer's identity and provenance, printed with every result.
    crs : str
        The equal-area CRS of every geometry of the layer.
    coverage : shapely.geometry.base.BaseGeometry
        The area the layer describes (no zone there: zero people; outside it: unknown).
    residents, workers : CountSurface, optional
        The default surface of each population.
    residents_unavailable, workers_unavailable : str, optional
        Why a population is missing (required when its surface is ``None``).
    attribution, caveats, workers_caveats : list of str, optional
        Credits and caveats shown with the results (``workers_caveats`` with workers only).
    origin : str, optional
        Where the layer was read from.
    alternatives : dict, optional
        Other surfaces by population and method, e.g. ``{"residents": {"areal": ...}}``.
    country : str, optional
        ISO 3166 alpha-2 country, when the layer lies in one (platform rules differ by country).
    places : PlaceSet, optional
        Named places built from the layer's zones, for place footprints.
    coverage_pieces : numpy.ndarray, optional
        The coverage cut in small pieces (computed when first needed, or stored with it).
    workers_table : dict, optional
        The ``--workers-table`` file whose counts replace the census workers.
    commuting : Commuting, optional
        Commuting flows, to count the people of an area once.
    parts : list of LayerPart, optional
        The sources a combined layer is made of, each with its own provenance.
    """

    name: str
    title: str
    source: str
    licence: str
    vintage: str
    crs: str  # equal-area CRS of every geometry below
    coverage: BaseGeometry
    residents: CountSurface | None = None  # the default surface for residents
    workers: CountSurface | None = None  # the default surface for workers
    residents_unavailable: str | None = None
    workers_unavailable: str | None = None
    attribution: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    workers_caveats: list[str] = field(default_factory=list)
    origin: str = ""  # where it was read from
    #: other surfaces by population and method, e.g. {"residents": {"areal": <LSOA polygons>}}
    alternatives: dict[str, dict[str, CountSurface]] = field(default_factory=dict)
    #: ISO 3166 alpha-2 country of the layer (platform rules differ by country), if known
    country: str | None = None
    #: named places built from the layer's zones (for platforms' place targeting); a cached
    #: layer's are read when first used (a layer may be given a loader, see :class:`_Places`)
    if TYPE_CHECKING:
        places: PlaceSet | None = None
    else:
        places: _Places = _Places()
    #: the coverage cut in small pieces (computed when first needed, or stored with the layer)
    coverage_pieces: np.ndarray | None = None
    #: the ``--workers-table`` file whose counts replace the census workers (file, sha256,
    #: level, areas, workers), if any
    workers_table: dict[str, Any] | None = None
    #: commuting flows, to count the people of an area once (residents + workers - both)
    commuting: Commuting | None = None
    #: the sources a combined layer is made of (the countries of the Great Britain layer), each
    #: with its own vintage and caveats; empty for a layer from one source
    parts: list[LayerPart] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.residents is None and not self.residents_unavailable:
            raise DataError(f"layer {self.name}: residents missing without a reason")
        if self.workers is None and not self.workers_unavailable:
            raise DataError(f"layer {self.name}: workers missing without a reason")
        if self.coverage is None or self.coverage.is_empty:
            raise DataError(f"layer {self.name}: coverage polygon is empty")

    def methods(self, population: str) -> dict[str, CountSurface]:
        """The surfaces of ``population`` by estimation method, the layer's own first.

        Parameters
        ----------
        population : str
            ``"residents"`` or ``"workers"``.

        Returns
        -------
        dict of str to CountSurface
            Empty when the layer does not count ``population``.
        """
        default: CountSurface | None = getattr(self, population)
        out = {default.method: default} if default is not None else {}
        for m, s in self.alternatives.get(population, {}).items():
            out.setdefault(m, s)
        return out

    def surface(self, population: str, method: str | None = None) -> CountSurface | None:
        """The surface for ``population`` estimated by ``method`` (default: the layer's own).

        Parameters
        ----------
        population : str
            ``"residents"`` or ``"workers"``.
        method : str or None
            ``"areal"``, ``"points"`` or ``"dasymetric"``; ``None`` for the layer's default.

        Returns
        -------
        CountSurface or None
            ``None`` when the layer does not count ``population``.

        Raises
        ------
        InputError
            When the layer has no surface for ``method``.
        """
        default: CountSurface | None = getattr(self, population)
        if method is None or default is None:
            return default
        available = self.methods(population)
        if method not in available:
            raise InputError(
                f"method {method!r} is not available for {population} in layer "
                f"{self.name}: choose one of {', '.join(sorted(available))}"
            )
        return available[method]

    @cached_property
    def _coverage_parts(self) -> tuple[np.ndarray, shapely.STRtree]:
        """The coverage cut into pieces of at most ~20 km (large polygons cut by a grid), so that
        intersecting a catchment touches only small polygons."""
        if self.coverage_pieces is not None:
            parts = np.asarray(self.coverage_pieces, dtype=object)
            shapely.prepare(parts)
            return parts, shapely.STRtree(parts)
        pieces = []
        tile = 20_000.0
        for part in shapely.get_parts(self.coverage):
            if shapely.get_num_coordinates(part) < 5_000:
                pieces.append(part)
                continue
            xmin, ymin, xmax, ymax = part.bounds
            xs = np.arange(xmin, xmax, tile)
            ys = np.arange(ymin, ymax, tile)
            gx, gy = np.meshgrid(xs, ys)
            boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + tile, gy.ravel() + tile)
            cut = shapely.intersection(part, boxes)
            pieces.extend(g for g in cut if not g.is_empty and g.area > 0)
        parts = np.array(pieces, dtype=object)
        self.coverage_pieces = parts
        shapely.prepare(parts)
        return parts, shapely.STRtree(parts)

    @cached_property
    def _coverage_edges(self) -> shapely.STRtree:
        """The coverage's boundary as short lines in an index (:func:`.coverage.coverage_edges`)."""
        return coverage_edges(self.coverage)

    def coverage_fraction(self, geoms: np.ndarray) -> np.ndarray:
        """Share of each geometry's area (in the layer CRS) inside the layer's coverage.

        A geometry whose bounding box the coverage's boundary does not meet is wholly inside
        (1) or outside (0); the others are overlaid with the coverage's pieces.

        Parameters
        ----------
        geoms : numpy.ndarray
            Shapely polygons in the layer CRS.

        Returns
        -------
        numpy.ndarray
            One share in [0, 1] per geometry.
        """
        geoms = np.asarray(geoms, dtype=object)
        frac = np.full(len(geoms), np.nan)
        b = shapely.bounds(geoms)
        ok = np.isfinite(b).all(axis=1) & (shapely.area(geoms) > 0)
        if ok.any():
            frac[ok] = boxes_decided(self.coverage, self._coverage_edges, shapely.box(*b[ok].T))
        todo = np.isnan(frac)
        if todo.any():
            parts, tree = self._coverage_parts
            frac[todo] = fraction_inside(parts, tree, geoms[todo])
        return frac

    def part_fractions(self, geom: BaseGeometry) -> dict[str, float]:
        """For a combined layer: the share of ``geom`` (layer CRS) in each part's coverage.

        Parameters
        ----------
        geom : shapely.geometry.base.BaseGeometry
            A catchment, in the layer's CRS.

        Returns
        -------
        dict of str to float
            ``{part name: share}``; the part without pieces gets the rest of the covered share.
            Empty for a layer from one source.
        """
        if not self.parts:
            return {}
        g = np.array([geom], dtype=object)
        total = float(self.coverage_fraction(g)[0])
        out = {p.name: float(p.fraction(g)[0]) for p in self.parts if p.pieces is not None}
        for p in self.parts:
            if p.pieces is None:
                out[p.name] = max(0.0, total - sum(out.values()))
        return out

    def surely_covered(self, centres: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
        """Where a circle surely lies inside the coverage (False: not sure, compute the fraction).

        True where the square of half-side ``r * OUTER + MARGIN_M`` (1.05 r + 50 m) round the
        circle (a margin for the projection's scale) lies inside the coverage: the coverage's
        boundary does not meet it and its centre is covered.

        Parameters
        ----------
        centres : numpy.ndarray
            The circles' centres, shapely points in the layer CRS.
        radius_m : numpy.ndarray
            Their radii in metres.

        Returns
        -------
        numpy.ndarray
            One bool per circle.
        """
        half = np.asarray(radius_m, dtype=float) * OUTER + MARGIN_M
        x, y = shapely.get_x(centres), shapely.get_y(centres)
        boxes = shapely.box(x - half, y - half, x + half, y + half)
        return np.asarray(boxes_decided(self.coverage, self._coverage_edges, boxes) == 1.0)

    def surely_short(self, centres: np.ndarray, radius_m: np.ndarray, share: float) -> np.ndarray:
        """Where a circle surely has less than ``share`` of its area inside the coverage
        (False: not sure, compute the fraction).

        Fewer than ``GRID_AT`` circles are tested with boxes (:func:`.coverage.surely_short`);
        more, with the coverage's grid (:meth:`.CoverageGrid.outside_inner`, built once).  Both
        are exact, so the caller's answer for a circle does not depend on which decided it.

        Parameters
        ----------
        centres : numpy.ndarray
            The circles' centres, shapely points in the layer CRS.
        radius_m : numpy.ndarray
            Their radii in metres.
        share : float
            The share in question, in (0, 1].

        Returns
        -------
        numpy.ndarray
            One bool per circle.
        """
        x, y = shapely.get_x(centres), shapely.get_y(centres)
        if len(x) < GRID_AT:
            return surely_short(self.coverage, self._coverage_edges, x, y, radius_m, share)
        # many circles: the coverage's grid (it decides fewer small circles than the boxes, but
        # both are exact, so a circle's answer from the caller is the same either way)
        r = np.asarray(radius_m, dtype=float)
        return surely_less(self._coverage_grid.outside_inner(x, y, r), r, share)

    @cached_property
    def _coverage_grid(self) -> CoverageGrid:
        """The coverage as cells inside, outside or on its edge (:class:`.CoverageGrid`)."""
        return CoverageGrid.of(self.coverage)

    @cached_property
    def wgs84_bounds(self) -> tuple[float, float, float, float]:
        """The coverage's longitude/latitude box (west, south, east, north), half a degree
        wider on each side: the part of a wide circle this layer can see
        (:meth:`geotarget.catchment.Catchment.part_in`)."""
        from ..projections import reproject

        ring = shapely.segmentize(shapely.box(*self.coverage.bounds).exterior, 1_000.0)
        w, s, e, n = reproject(ring, self.crs, "EPSG:4326").bounds
        return (max(w - 0.5, -180.0), max(s - 0.5, -90.0), min(e + 0.5, 180.0), min(n + 0.5, 90.0))

    def catchment_coverage(self, catch: Any) -> tuple[BaseGeometry, float]:
        """A catchment in the layer's CRS (the part this layer can see, for a wide circle) and
        the share of the catchment's whole area inside the layer's coverage.

        Parameters
        ----------
        catch : geotarget.catchment.Catchment
            Any catchment.

        Returns
        -------
        tuple
            The geometry in :attr:`crs` and the coverage share in [0, 1].
        """
        if not catch.is_wide:
            geom = catch.to_crs(self.crs)
            return geom, float(self.coverage_fraction(np.array([geom], dtype=object))[0])
        geom = catch.part_in(self.crs, self.wgs84_bounds)
        if geom.is_empty:
            return geom, 0.0
        seen = float(self.coverage_fraction(np.array([geom], dtype=object))[0]) * geom.area
        return geom, min(seen / catch.area_m2, 1.0)

    def covers_point(self, x: float, y: float) -> bool:
        """Whether the coverage covers the point (``x``, ``y``) of the layer CRS."""
        parts, tree = self._coverage_parts
        pt = shapely.Point(x, y)
        return any(parts[i].covers(pt) for i in tree.query(pt))

    def info(self) -> dict[str, Any]:
        """The layer's metadata: name, title, source, vintage, licence, attribution, caveats
        (and ``workers_table`` when a table replaced the census workers)."""
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "vintage": self.vintage,
            "licence": self.licence,
            "attribution": list(self.attribution),
            "caveats": list(self.caveats),
        }
        if self.workers_table is not None:
            out["workers_table"] = dict(self.workers_table)
        return out
