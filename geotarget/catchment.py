"""Build the catchment: a true circle around the venue, or a polygon from a file."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import shapely
import shapely.affinity
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from .errors import CatchmentError
from .projections import WGS84, reproject, transformer
from .settings import MAX_RADIUS_M
from .units import format_distance, parse_distance
from .venue import Venue

if TYPE_CHECKING:
    import geopandas as gpd

#: vertices per quarter circle (256 in all)
QUAD_SEGS = 64
_GEOD = Geod(ellps="WGS84")
#: beyond this radius a circle is a *wide* one: built as a cap on the ellipsoid in longitude
#: and latitude (through a pole, across the antimeridian, or all of the Earth but a small cap
#: around the antipode), with its area measured on the ellipsoid; a projected CRS sees only the
#: part of it inside the CRS's area of use (see :meth:`Catchment.part_in`)
WIDE_M = 1_000_000.0
#: vertices of a wide circle's edge (4,096: 31 km apart at 20,000 km on the Earth)
WIDE_VERTICES = 4096
#: the WGS84 ellipsoid's whole surface, m² (4 pi times its authalic radius 6,371,007.181 m,
#: squared)
EARTH_AREA_M2 = 4.0 * math.pi * 6_371_007.180_918_5**2
#: longitude/latitude segments are cut to this many degrees before a wide circle is projected
_WIDE_SEGMENT_DEG = 0.25


@dataclass(frozen=True)
class Catchment:
    """The area whose people are counted.

    ``geometry`` is in ``crs`` (for a radius: WGS84, vertices at geodesic distance r from the
    centre).  Use :meth:`to_crs` for any other CRS (vertices are projected exactly).

    Parameters
    ----------
    geometry : shapely.geometry.base.BaseGeometry
        The catchment polygon, in ``crs``.
    crs : str
        The CRS of ``geometry`` (any form pyproj reads).
    kind : str
        ``"radius"``, ``"polygon"``, or ``"walk"`` / ``"drive"`` (over a street network).
    radius_m : float or None
        The radius in metres of a ``"radius"`` catchment.
    source : str
        The file a ``"polygon"`` catchment was read from (its name), or ``""``.
    centre : tuple of float or None
        ``(lat, lon)`` of the venue or the polygon's centroid.
    travel : geotarget.network.travel.Travel or None
        For a walk or drive: the search over the network (the limit, the costs from the venue,
        whether it was clipped by the network data).
    """

    geometry: BaseGeometry
    crs: str
    kind: str  # "radius", "polygon", "walk" or "drive"
    radius_m: float | None = None
    source: str = ""
    centre: tuple[float, float] | None = None  # (lat, lon)
    travel: Any = None  # geotarget.network.travel.Travel for "walk" and "drive"
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_crs(self, crs: str) -> BaseGeometry:
        """The catchment polygon in another CRS (cached).

        Parameters
        ----------
        crs : str
            The CRS wanted (any form pyproj reads).

        Returns
        -------
        shapely.geometry.base.BaseGeometry
            The polygon with every vertex projected to ``crs``.
        """
        if crs not in self._cache:
            if crs == self.crs:
                self._cache[crs] = self.geometry
            elif self.is_wide:
                self._cache[crs] = self.part_in(crs, _area_of_use(crs))
            else:
                self._cache[crs] = reproject(self.geometry, self.crs, crs)
        geom: BaseGeometry = self._cache[crs]
        return geom

    @property
    def is_wide(self) -> bool:
        """Whether this is a circle wider than :data:`WIDE_M` (its geometry is a cap in WGS84)."""
        return self.kind == "radius" and self.radius_m is not None and self.radius_m > WIDE_M

    def part_in(self, crs: str, bounds: tuple[float, float, float, float] | None) -> BaseGeometry:
        """The part of the catchment inside a longitude/latitude box, in ``crs``.

        A layer or a projection sees only its own part of the Earth: for a wide circle (which
        may run round the globe) that part, cut out in WGS84 and projected with its edges
        densified, is what can be counted or drawn.  Any other catchment is returned whole.

        Parameters
        ----------
        crs : str
            The CRS wanted.
        bounds : tuple of float or None
            ``(west, south, east, north)`` in degrees (``west > east`` crosses the
            antimeridian); ``None`` for the whole Earth.

        Returns
        -------
        shapely.geometry.base.BaseGeometry
            The clipped catchment in ``crs`` (empty when the box misses it).
        """
        if not self.is_wide:
            return self.to_crs(crs)
        geom = self.wgs84
        if bounds is not None:
            w, s, e, n = bounds
            boxes = [(w, s, e, n)] if w <= e else [(w, s, 180.0, n), (-180.0, s, e, n)]
            geom = shapely.intersection(geom, shapely.union_all([shapely.box(*b) for b in boxes]))
        if crs == WGS84:
            return geom
        geom = shapely.segmentize(geom, _WIDE_SEGMENT_DEG)
        return reproject(geom, WGS84, crs)

    @property
    def wgs84(self) -> BaseGeometry:
        """The catchment polygon in WGS84 longitude/latitude (EPSG:4326)."""
        return self.to_crs(WGS84)

    @property
    def area_m2(self) -> float:
        """Area in square metres.

        A polygon's is its geodesic area on the WGS84 ellipsoid; a circle's is measured in a
        Lambert azimuthal equal-area projection centred on the venue; a wide circle's
        (:data:`WIDE_M`) is the geodesic area of its cap, which may be most of the Earth.
        """
        if "area" not in self._cache and self.kind != "radius":
            # any polygon, however large: the geodesic area on the WGS84 ellipsoid
            a, _ = _GEOD.geometry_area_perimeter(self.wgs84)
            self._cache["area"] = abs(float(a))
        if "area" not in self._cache and self.is_wide:
            assert self.centre is not None and self.radius_m is not None
            self._cache["area"] = cap_area_m2(self.centre[0], self.centre[1], self.radius_m)
        if "area" not in self._cache:
            if self.centre is not None:  # robust across the antimeridian and near the poles
                lat0, lon0 = self.centre
            else:
                c = self.wgs84.centroid
                lat0, lon0 = c.y, c.x
            laea = f"+proj=laea +lat_0={lat0:.8f} +lon_0={lon0:.8f} +datum=WGS84 +units=m +no_defs"
            self._cache["area"] = float(self.to_crs(laea).area)
        area: float = self._cache["area"]
        return area

    def describe(self) -> str:
        """The catchment in words.

        Returns
        -------
        str
            E.g. ``"circle of radius 804.672 m (0.5 mi)"`` or ``"polygon from shop.geojson"``.
        """
        if self.kind == "radius" and self.radius_m is not None:
            return f"circle of radius {format_distance(self.radius_m)}"
        if self.travel is not None:
            text: str = self.travel.describe()
            return text
        return f"polygon from {self.source}" if self.source else "polygon"

    def to_dict(self) -> dict[str, Any]:
        """The catchment for the JSON result.

        Returns
        -------
        dict
            ``kind``, ``radius_m`` (None for a polygon), ``area_km2`` and, for a polygon read
            from a file, ``source``; for a walk or drive also ``travel`` (the limit, speed,
            network, clipping) and ``geometry`` (the polygon as GeoJSON, WGS84).
        """
        d: dict[str, Any] = {
            "kind": self.kind,
            "radius_m": self.radius_m,
            "area_km2": round(self.area_m2 / 1e6, 6),
        }
        if self.source:
            d["source"] = self.source
        if self.travel is not None:
            d["travel"] = self.travel.to_dict()
            d["geometry"] = shapely.geometry.mapping(shapely.set_precision(self.wgs84, 1e-7))
        return d


def _unit_circle() -> tuple[NDArray[np.float64], float]:
    """Azimuths (degrees) of the 257 vertices of the circle polygon (closed ring), and the
    scale that makes the 256-gon's area equal to pi*r^2 (its vertices sit 0.005% beyond r)."""
    ring = np.asarray(shapely.Point(0.0, 0.0).buffer(1.0, quad_segs=QUAD_SEGS).exterior.coords)
    area = shapely.Polygon(ring).area
    az = np.degrees(np.arctan2(ring[:, 0], ring[:, 1]))
    return az, math.sqrt(math.pi / area)


_AZ, _SCALE = _unit_circle()


def circles_in(
    lats: ArrayLike, lons: ArrayLike, radii: ArrayLike, crs: str = WGS84
) -> NDArray[np.object_]:
    """True circles around many centres at once, as polygons in ``crs``.

    Each vertex is the point at geodesic distance r (times the area scale) along its azimuth
    from the centre (the azimuthal equidistant construction, done by pyproj's geodesic), then
    projected to ``crs``.  The single-venue and batch paths both use this, so they agree to
    float rounding.

    Parameters
    ----------
    lats, lons : array_like of float
        The centres, WGS84 degrees (a scalar is one centre).
    radii : array_like of float
        The radius of each circle, in metres.
    crs : str, default "EPSG:4326"
        The CRS of the polygons returned.

    Returns
    -------
    numpy.ndarray of shapely.Polygon
        One polygon per centre, 257 vertices each (closed ring).
    """
    la, lo, ra = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (lats, lons, radii))
    n, k = len(la), len(_AZ)
    lon0 = np.repeat(lo, k)
    lat0 = np.repeat(la, k)
    az = np.tile(_AZ, n)
    dist = np.repeat(ra * _SCALE, k)
    x, y, _ = _GEOD.fwd(lon0, lat0, az, dist)
    if crs != WGS84:
        x, y = transformer(WGS84, crs).transform(x, y)
    coords = np.stack([np.asarray(x).reshape(n, k), np.asarray(y).reshape(n, k)], axis=-1)
    # an (n, k, 2) array of coordinates always gives an array of polygons
    return cast("NDArray[np.object_]", shapely.polygons(coords))


def _cap_edge(
    lat: float, lon: float, radius_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Longitudes and latitudes of :data:`WIDE_VERTICES` points at geodesic distance
    ``radius_m`` from the centre, clockwise (by azimuth)."""
    k = WIDE_VERTICES
    az = np.linspace(0.0, 360.0, k, endpoint=False)
    x, y, _ = _GEOD.fwd(np.full(k, lon), np.full(k, lat), az, np.full(k, radius_m))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def cap_area_m2(lat: float, lon: float, radius_m: float) -> float:
    """The area of the cap of points within geodesic distance ``radius_m`` of a centre, m².

    The geodesic area of its edge (Karney's algorithm, as pyproj gives it) is the area of the
    cap or of its complement, the rest of the Earth; of the two, the one nearer the spherical
    cap of the same radius (on the authalic sphere) is the cap's.  Within about 70 km of half
    the circumference the edge around the antipode is no longer a simple ring on the
    ellipsoid; the area there is the Earth's less a few square kilometres either way.

    Parameters
    ----------
    lat, lon : float
        The centre, WGS84 degrees.
    radius_m : float
        The radius, at most half the Earth's circumference.

    Returns
    -------
    float
        The area in square metres.
    """
    x, y = _cap_edge(lat, lon, radius_m)
    a, _ = _GEOD.polygon_area_perimeter(x, y)
    a = abs(float(a))
    r_sphere = math.sqrt(EARTH_AREA_M2 / (4.0 * math.pi))
    sphere = 2.0 * math.pi * r_sphere**2 * (1.0 - math.cos(radius_m / r_sphere))
    return min((a, EARTH_AREA_M2 - a), key=lambda c: abs(c - sphere))


def cap_wgs84(lat: float, lon: float, radius_m: float) -> BaseGeometry:
    """The points within geodesic distance ``radius_m`` of a centre, as WGS84 polygons.

    Valid at any radius up to half the Earth's circumference: an edge that runs round a pole is
    closed through that pole, one that crosses the antimeridian is cut there, and a cap holding
    both poles is the whole Earth less the small region around the antipode its edge draws.

    Parameters
    ----------
    lat, lon : float
        The centre, WGS84 degrees.
    radius_m : float
        The radius in metres.

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        A polygon or multipolygon in longitude/latitude, inside [-180, 180] x [-90, 90].
    """
    x, y = _cap_edge(lat, lon, radius_m)
    xu = np.degrees(np.unwrap(np.radians(x)))
    closing = ((x[0] - xu[-1]) + 180.0) % 360.0 - 180.0
    winding = round(float(xu[-1] + closing - xu[0]) / 360.0)
    ring = np.column_stack([xu, y])
    if winding:  # the edge runs round a pole: the cap holds that pole
        pole = 90.0 if _GEOD.inv(lon, lat, 0.0, 90.0)[2] < radius_m else -90.0
        end = float(xu[0]) + 360.0 * winding
        ring = np.vstack([ring, [[end, y[0]], [end, pole], [xu[0], pole]]])
    drawn = shapely.make_valid(shapely.Polygon(ring))
    parts = []
    for k in range(-2, 3):  # fold the unwrapped longitudes back into [-180, 180]
        piece = shapely.intersection(drawn, shapely.box(-180 + 360 * k, -90, 180 + 360 * k, 90))
        if not piece.is_empty:
            parts.append(shapely.affinity.translate(piece, xoff=-360.0 * k))
    cap = shapely.union_all(parts)
    if not winding and not cap.contains(shapely.Point(lon, lat)):
        # the edge drew the region around the antipode: the cap is everything else
        cap = shapely.difference(shapely.box(-180.0, -90.0, 180.0, 90.0), cap)
    return cap


def _area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    """A CRS's area of use (west, south, east, north) in degrees; ``None`` for none or the
    whole Earth."""
    from pyproj import CRS

    a = CRS.from_user_input(crs).area_of_use
    if a is None or (a.west <= -180 and a.east >= 180 and a.south <= -90 and a.north >= 90):
        return None
    return (a.west, a.south, a.east, a.north)


def circle(
    venue: Venue, radius: str | float, *, max_radius: str | float | None = MAX_RADIUS_M
) -> Catchment:
    """A circle of ``radius`` around the venue, true on the ellipsoid.

    0.5 mi is 804.672 m anywhere on Earth: vertices at geodesic distance r from the venue, 256
    of them, the polygon scaled so its area is exactly pi*r^2.  Beyond :data:`WIDE_M` the
    circle is a cap on the ellipsoid (:func:`cap_wgs84`), valid up to half the Earth's
    circumference.

    Parameters
    ----------
    venue : Venue
        The centre.
    radius : str or float
        A distance with a unit (``"0.5mi"``, ``"800m"``) or a number of metres.
    max_radius : str, float or None, default 100 km
        The largest radius accepted; ``None`` for no limit.

    Returns
    -------
    Catchment
        A ``"radius"`` catchment in WGS84.

    Raises
    ------
    CatchmentError
        ``radius`` or ``max_radius`` is not a positive distance, or ``radius`` is beyond
        ``max_radius``.
    """
    max_m = (
        None
        if max_radius is None
        else parse_distance(max_radius, what="maximum radius", max_m=None)
    )
    r = parse_distance(radius, max_m=max_m)
    if r > WIDE_M:
        geom = cap_wgs84(venue.lat, venue.lon, r)
    else:
        geom = circles_in([venue.lat], [venue.lon], [r])[0]
    return Catchment(geom, WGS84, "radius", radius_m=r, centre=(venue.lat, venue.lon))


def _unreadable(p: Path, e: Exception) -> CatchmentError:
    return CatchmentError(
        f"cannot read catchment file {str(p)!r}: "
        f"{' '.join(str(e).split())}; give a GeoJSON or GeoPackage file "
        "with a polygon"
    )


def _check_layers(p: Path, layer: str | None) -> None:
    """Refuse a file that does not exist, cannot be read or holds several layers (unless one is
    named)."""
    if not p.exists():
        raise CatchmentError(
            f"catchment file {str(p)!r} does not exist: give a GeoJSON or "
            "GeoPackage file with a polygon"
        )
    if not p.is_file() and not p.is_dir():  # a FIFO would block the reader for ever
        raise CatchmentError(
            f"catchment file {str(p)!r} is not a regular file (a pipe, socket or device): "
            "give a GeoJSON or GeoPackage file with a polygon"
        )
    try:
        import pyogrio

        layers = pyogrio.list_layers(p)
    except Exception as e:  # pyogrio raises its own DataSourceError etc.
        raise _unreadable(p, e) from e
    if layer is None and len(layers) > 1:
        names = ", ".join(str(n) for n in layers[:, 0][:8])
        raise CatchmentError(
            f"catchment file {str(p)!r} has {len(layers)} layers ({names}): "
            "keep the catchment in a file of its own"
        )


def _read_frame(p: Path, layer: str | None) -> gpd.GeoDataFrame:
    """The file's features, refusing unclosed rings and NaN coordinates (which GDAL only warns
    about)."""
    import warnings

    import geopandas as gpd

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gdf = gpd.read_file(p, layer=layer, engine="pyogrio")
        for w in caught:
            text = str(w.message)
            if "closed ring" in text.lower():
                raise CatchmentError(
                    f"catchment file {str(p)!r}: a polygon ring is not closed "
                    "(its last point must repeat its first); repair it and try "
                    "again"
                )
            if "invalid value" in text.lower():
                raise CatchmentError(
                    f"catchment file {str(p)!r} has coordinates that are not "
                    "numbers (NaN): repair it and try again"
                )
    except CatchmentError:
        raise
    except Exception as e:  # pyogrio raises its own DataSourceError etc.
        raise _unreadable(p, e) from e
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise CatchmentError(
            f"catchment file {str(p)!r} has no geometry: give a GeoJSON or "
            "GeoPackage file with a polygon"
        )
    if len(gdf) == 0:
        raise CatchmentError(f"catchment file {str(p)!r} has no features: it needs a polygon")
    if gdf.crs is None:
        raise CatchmentError(
            f"catchment file {str(p)!r} has no CRS: save it with its coordinate "
            "reference system (e.g. EPSG:4326 or EPSG:27700)"
        )
    return gdf


def _merged_polygons(p: Path, gdf: gpd.GeoDataFrame) -> BaseGeometry:
    """The union of the features, each checked to be a valid, non-empty polygon."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any():
        i = int(np.argmax(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        raise CatchmentError(
            f"catchment file {str(p)!r}: feature {i} has no geometry; remove it or draw its polygon"
        )
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds or not kinds <= {3, 6}:  # Polygon, MultiPolygon
        raise CatchmentError(
            f"catchment file {str(p)!r} must hold polygons only, found "
            f"{sorted(set(gdf.geom_type.dropna()))}"
        )
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        i = int(bad.nonzero()[0][0])
        reason = shapely.is_valid_reason(geoms[i])
        raise CatchmentError(
            f"catchment file {str(p)!r}: feature {i} is not a valid polygon "
            f"({reason}); repair it (e.g. shapely.make_valid or QGIS 'Fix "
            "geometries') and try again"
        )
    geom = shapely.union_all(geoms)
    if geom.is_empty or geom.area <= 0:
        raise CatchmentError(f"catchment file {str(p)!r} has zero area: give a polygon")
    return geom


def _refuse_antimeridian(p: Path, geom: BaseGeometry) -> None:
    """Refuse a polygon in degrees with an edge spanning more than 180 degrees of longitude: one
    written across the antimeridian (179.5 to -179.5), which planar geometry reads as a band
    around the rest of the world."""
    for part in shapely.get_parts(geom):
        for ring in [part.exterior, *part.interiors]:
            xy = np.asarray(ring.coords)
            lon, lat = xy[:, 0], xy[:, 1]
            jump = np.abs(np.diff(lon))
            # edges along the ±180 meridian or a pole (a whole-world polygon) are not crossings
            edge = (np.abs(lon[:-1]) == 180) & (np.abs(lon[1:]) == 180)
            edge |= (np.abs(lat[:-1]) == 90) & (lat[:-1] == lat[1:])
            jump[edge] = 0
            if len(jump) and jump.max() > 180:
                i = int(np.argmax(jump))
                raise CatchmentError(
                    f"catchment file {str(p)!r}: a polygon crosses the antimeridian (an edge "
                    f"from longitude {lon[i]:g} to {lon[i + 1]:g}), so it would be read as a "
                    "band around the rest of the world; split it into two polygons at 180 "
                    "degrees and try again"
                )


#: the widest span of longitude (degrees) a catchment polygon may have
MAX_LON_SPAN = 180.0
#: a catchment polygon may reach no closer to a pole than this latitude (degrees)
MAX_ABS_LAT = 89.0


def _refuse_beyond_a_hemisphere(p: Path, bounds: Any) -> None:
    """Refuse a polygon wider than a hemisphere or reaching a pole, such as a whole-world box.

    Catchments are counted in the layer's flat projection and their area is the geodesic area
    of the ring; a ring along both poles and both sides of the 180th meridian encloses the whole
    Earth or nothing: pyproj's geodesic area of the box -180,-90,180,90 is 0.025 m^2 and its
    projection to British National Grid collapses onto one line, so no honest area or count
    exists for it.
    """
    west, south, east, north = (float(v) for v in bounds)
    why = None
    if east - west > MAX_LON_SPAN:
        why = f"it spans {east - west:g} degrees of longitude, more than {MAX_LON_SPAN:g}"
    elif max(abs(south), abs(north)) > MAX_ABS_LAT:
        why = f"it reaches latitude {north if abs(north) >= abs(south) else south:g}"
    if why is not None:
        raise CatchmentError(
            f"catchment file {str(p)!r}: {why} (a whole-world polygon?), and a polygon wider "
            "than a hemisphere or reaching a pole has no faithful area in the population "
            f"layer's flat projection: give a polygon within {MAX_LON_SPAN:g} degrees of "
            f"longitude and latitudes -{MAX_ABS_LAT:g} to {MAX_ABS_LAT:g}, or use --radius"
        )


def from_file(path: str | Path, *, layer: str | None = None) -> Catchment:
    """A custom catchment polygon from a GeoJSON / GeoPackage / any file GDAL reads.

    All polygon features are merged.  The file must state its CRS; invalid or empty geometry is
    refused with the reason.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    layer : str or None
        The layer to read from a file with several; ``None`` (a file of one layer) by default.

    Returns
    -------
    Catchment
        A ``"polygon"`` catchment in the file's CRS, densified so that its edges stay faithful
        when reprojected.

    Raises
    ------
    CatchmentError
        The file does not exist or cannot be read, holds several layers and none is named, has
        no features, no CRS, features that are not valid polygons, coordinates that are not
        degrees under a geographic CRS, a polygon written across the antimeridian, or one wider
        than 180 degrees of longitude or reaching beyond latitude 89 (a whole-world box).
    """
    p = Path(path)
    _check_layers(p, layer)
    gdf = _read_frame(p, layer)
    geom = _merged_polygons(p, gdf)
    crs: str = gdf.crs.to_string()
    if gdf.crs.is_geographic:
        b = gdf.total_bounds
        if b[1] < -90 or b[3] > 90 or b[0] < -180 or b[2] > 180:
            raise CatchmentError(
                f"catchment file {str(p)!r} says {crs} but its coordinates "
                f"{[round(float(v), 3) for v in b]} are not degrees: fix its CRS"
            )
        _refuse_antimeridian(p, geom)
        _refuse_beyond_a_hemisphere(p, b)
        # keep edges faithful when reprojected: no edge longer than ~0.001 degree
        geom = shapely.segmentize(geom, 0.001)
    else:
        geom = shapely.segmentize(geom, 100.0)
    c = transformer(crs, WGS84).transform(geom.centroid.x, geom.centroid.y)
    return Catchment(geom, crs, "polygon", source=p.name, centre=(c[1], c[0]))
