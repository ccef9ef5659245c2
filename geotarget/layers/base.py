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
from .geometry import point_array

if TYPE_CHECKING:
    from .commuting import Commuting

#: what a surface's geometries are: census zones, points with counts, grid cells
KINDS = ("zones", "points", "grid")
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


@dataclass(eq=False)
class PlaceSet:
    """Named places (city, county, region, tract...) built from a layer's own zones.

    ``codes[level]`` / ``names[level]`` give, for each zone in ``geoms``, the place it belongs to
    at that level; a place's polygon is the union of its zones (computed when first asked for).
    """

    geoms: np.ndarray
    codes: dict[str, np.ndarray]
    names: dict[str, np.ndarray]
    note: dict[str, str] = field(default_factory=dict)  # how a level was built

    #: place polygons computed ahead (level, code) -> polygon, stored with a cached layer
    polygons: dict[tuple[str, str], BaseGeometry] = field(default_factory=dict)
    #: False when the layer holds only part of its places' zones (e.g. a city's blocks of a
    #: county): the places' real populations are then larger than counted
    complete: bool = True
    #: True when every census zone whose count a group of dasymetric points shares lies inside
    #: one place of each level (England & Wales: OAs, LSOAs and MSOAs nest in local authorities
    #: and regions): a group's place is then found from one of its points
    groups_nest: bool = False

    def __post_init__(self) -> None:
        self.geoms = np.asarray(self.geoms, dtype=object)

    @property
    def levels(self) -> list[str]:
        """The place levels, e.g. ``["county", "city", "region"]``."""
        return list(self.codes)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """A spatial index of the zones ``geoms``."""
        return shapely.STRtree(self.geoms)

    def name(self, level: str, code: str) -> str:
        """The name of the place ``code`` at ``level``."""
        i = int(np.nonzero(self.codes[level] == code)[0][0])
        return str(self.names[level][i])

    def geometry(self, level: str, code: str) -> BaseGeometry:
        """The polygon of the place ``code`` at ``level``: the union of its zones (kept)."""
        key = (level, code)
        if key not in self.polygons:
            sel = self.geoms[self.codes[level] == code]
            self.polygons[key] = shapely.union_all(shapely.set_precision(sel, 0.01))
        return self.polygons[key]

    def precompute(self) -> PlaceSet:
        """Dissolve every place now (done once when a layer is built and cached)."""
        for lv in self.levels:
            for code in np.unique(self.codes[lv]):
                self.geometry(lv, str(code))
        return self


def _fraction_inside(parts: np.ndarray, tree: shapely.STRtree, geoms: np.ndarray) -> np.ndarray:
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
        return _fraction_inside(parts, tree, np.asarray(geoms, dtype=object))

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
    """A population source with its metadata, counts (per method) and coverage."""

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

    def coverage_fraction(self, geoms: np.ndarray) -> np.ndarray:
        """Share of each geometry's area (in the layer CRS) inside the layer's coverage."""
        parts, tree = self._coverage_parts
        return _fraction_inside(parts, tree, np.asarray(geoms, dtype=object))

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

        True where the square of half-side 1.05 r + 50 m around the circle (a margin for the
        projection's scale) is inside one coverage piece.

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
        parts, tree = self._coverage_parts
        half = np.asarray(radius_m, dtype=float) * 1.05 + 50.0
        x, y = shapely.get_x(centres), shapely.get_y(centres)
        boxes = shapely.box(x - half, y - half, x + half, y + half)
        ci, pi = tree.query(boxes)  # by bounding box; the prepared pieces test below
        ok = np.zeros(len(centres), bool)
        if len(ci):
            inside = shapely.contains_properly(parts[pi], boxes[ci])  # pieces are prepared
            ok[ci[inside]] = True
        return ok

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
