"""Interactive catchment maps (folium / Leaflet) that work offline.

``interactive_map(result)`` draws, from a :class:`~geotarget.result.Result` evaluated with
``platforms=...``:

* the venue and the catchment;
* for each platform with a footprint, one toggleable layer: the footprint's outline (coloured by
  the verdict) and its *wasted area* -- the footprint minus the catchment -- filled by the
  population density of the layer's own zones or points in it (people per km²), with a popup of
  the platform's figures (people, share inside, waste, verdict);
* the layer's census zones near the catchment, as context (shown by default with ``tiles="none"``);
* a legend.

Leaflet 1.9.4 (BSD-2-Clause, vendored from the npm registry into ``geotarget/data/leaflet.json``
by ``data/build_leaflet.py``) is inlined into the HTML: the file loads no script, style sheet or
font from anywhere.  Background tiles are optional: OpenStreetMap (with its attribution) by
default, ``"none"`` for no request at all, or a tile URL template.

Geometry work is done in the layer's equal-area CRS (metres); shapes are simplified to what the
zoom at which they are seen needs and coordinates rounded accordingly before being written in
WGS84.  The density of the wasted area is drawn on a quadtree of square cells, fine next to the
catchment (where the map opens) and coarser far from it, each cell clipped to the wasted area and
to the layer's coverage (outside it nothing is known, which is drawn as "no data", never as
empty).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import ClassVar

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .errors import InputError

#: density classes (ColorBrewer RdPu, 6 classes): stands out on OpenStreetMap's palette
DENSITY_COLOURS = ("#feebe2", "#fcc5c0", "#fa9fb5", "#f768a1", "#c51b8a", "#7a0177")
NO_DATA_COLOUR = "#9e9e9e"
CATCHMENT_COLOUR = "#2166ac"
VENUE_COLOUR = "#111111"
ZONE_COLOUR = "#555555"
WASTE_EDGE_COLOUR = "#7a0177"
VERDICT_COLOURS = {"good": "#1a9850", "workable": "#e08214", "poor": "#b2182b",
                   "cannot_run": "#777777"}
VERDICT_WORDS = {"good": "good", "workable": "workable", "poor": "poor",
                 "cannot_run": "cannot run"}
CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}

#: at most this many density cells per wasted area (the quadtree coarsens to stay below)
MAX_CELLS = 2500
#: at most this many zones (five times as many points) drawn as context
MAX_CONTEXT_ZONES = 600

TILES_OSM = "osm"
TILES_NONE = "none"


# -- numbers in words ------------------------------------------------------------------------
def fmt_int(x) -> str:
    return "–" if x is None else f"{float(x):,.0f}"


def fmt_share(s: float | None, lower_bound: bool = False) -> str:
    """0.3793 -> '38%'; 0.9947 -> '99.5%'; shares above 99% keep a decimal."""
    if s is None:
        return "–"
    pct = 100 * float(s)
    txt = f"{pct:.1f}%" if 99 < pct < 100 or 0 < pct < 1 else f"{pct:.0f}%"
    return ("at least " if lower_bound else "") + txt


def fmt_money(money: dict | None) -> str:
    """{'amount': 189.67, 'budget': 500, 'currency': 'GBP'} -> '£190 of £500'."""
    if not money or money.get("amount") is None:
        return ""
    cur = str(money.get("currency") or "")
    sym = CURRENCY_SYMBOLS.get(cur.upper())

    def m(x: float) -> str:
        v = f"{float(x):,.0f}"
        return f"{sym}{v}" if sym else (f"{v} {cur}" if cur else v)

    lb = "at least " if money.get("lower_bound") else ""
    budget = money.get("budget")
    return f"{lb}{m(money['amount'])}" + (f" of {m(budget)}" if budget is not None else "")


def basis_words(basis: str | None) -> str:
    return {"residents": "residents", "workers": "workers",
            "residents+workers": "residents + people who travel in to work"}.get(
                basis or "", basis or "people")


# -- the picture: shapes in the layer CRS, shared by the map, the PNG and the report ---------
@dataclass
class Cells:
    """Density cells of one wasted area (layer CRS)."""

    geoms: np.ndarray  # clipped polygons
    people: np.ndarray
    area_km2: np.ndarray
    size_m: np.ndarray  # side of the (unclipped) quadtree cell

    @property
    def density(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.area_km2 > 0, self.people / self.area_km2, 0.0)


@dataclass
class FootprintShape:
    """A distinct footprint and the platforms whose recommended footprint it is."""

    key: str
    rows: list[dict]
    basis: str
    geometry: BaseGeometry  # layer CRS
    waste: BaseGeometry  # footprint minus catchment, layer CRS
    cells: Cells  # density of the wasted area inside the layer's coverage
    no_data: BaseGeometry  # wasted area outside the layer's coverage

    @property
    def label(self) -> str:
        return (self.rows[0].get("footprint") or {}).get("label", "")

    @property
    def waste_people(self) -> float:
        return float(self.cells.people.sum())


@dataclass
class Picture:
    """Everything drawn, in the layer's CRS, with a function to WGS84."""

    crs: str
    venue: dict
    venue_xy: tuple[float, float]
    catchment: BaseGeometry
    footprints: list[FootprintShape]
    context: np.ndarray  # zone outlines (or points) near the catchment
    context_kind: str  # "zones", "grid", "points" or ""
    context_unit: str
    breaks: list[float]  # density class boundaries (people per km²), len(DENSITY_COLOURS)-1
    view: BaseGeometry  # the area the map opens on (layer CRS)
    unavailable: list[dict] = field(default_factory=list)  # rows with no footprint

    @property
    def catchment_radius_m(self) -> float:
        return math.sqrt(self.catchment.area / math.pi)

    def classify(self, density: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.breaks), density, side="right")

    def to_wgs84(self, geom):
        from .projections import transformer

        t = transformer(self.crs, "EPSG:4326")
        return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _footprint_in_layer_crs(result, row) -> BaseGeometry | None:
    from .platforms.feasibility import footprint_geometry

    g = footprint_geometry(row)
    if g is not None:
        return g
    fp = result.footprint_geometries().get(row["id"])
    if fp is None:
        return None
    from .projections import transformer

    t = transformer("EPSG:4326", result.layer_obj.crs)
    return shapely.transform(fp, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


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


def _surfaces(result, basis: str) -> list:
    """The count surfaces behind a basis, estimated the way the result's numbers were."""
    lay = result.layer_obj
    out = []
    for pop, est in (("residents", result.residents), ("workers", result.workers)):
        if pop not in basis.split("+") or getattr(lay, pop) is None:
            continue
        s = lay.surface(pop, est.method if est is not None else None)
        if s is not None:
            out.append(s)
    return out


def _quadtree(waste: BaseGeometry, catchment: BaseGeometry, centre: tuple[float, float],
              min_cell: float, ratio: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
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


def _coverage_split(lay, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _count(surfaces: list, cells: np.ndarray) -> np.ndarray:
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


def _context(result, view: BaseGeometry) -> tuple[np.ndarray, str, str]:
    """The layer's own zones (or grid cells, else points) around the view, as context."""
    lay = result.layer_obj
    pick = None
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


def picture(result) -> Picture:
    """Compute the shapes drawn by :func:`interactive_map` and :func:`geotarget.static.save_png`.

    Raises :class:`~geotarget.errors.InputError` when the result carries no geometry (e.g. a
    result rebuilt from JSON)."""
    lay = result.layer_obj
    if lay is None or result.catchment_obj is None:
        raise InputError("this result has no geometry to draw: map a Result returned by "
                         "geotarget.analyse(), not one rebuilt from JSON")
    crs = lay.crs
    catchment = result.catchment_obj.to_crs(crs)
    from .projections import transformer

    vx, vy = transformer("EPSG:4326", crs).transform(result.venue["lon"], result.venue["lat"])
    radius = math.sqrt(catchment.area / math.pi)
    min_cell = _min_cell(radius)

    groups: dict[str, FootprintShape] = {}
    unavailable = []
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
                no_data_parts = [g for g in outside if g is not None and not g.is_empty
                                 and g.area > 0]
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
    wts = np.concatenate([f.cells.people / f.cells.people.sum() if f.cells.people.sum() > 0
                          else np.zeros(len(f.cells.people)) for f in footprints]
                         or [np.array([])])
    breaks = _breaks(dens, wts)

    # the view: the catchment and every footprint not much larger than it
    view_parts = [catchment]
    for f in footprints:
        x0, y0, x1, y1 = f.geometry.bounds
        if max(x1 - x0, y1 - y0) <= 8 * radius:
            view_parts.append(f.geometry)
    view = shapely.box(*shapely.union_all(view_parts).bounds).buffer(radius * 0.25,
                                                                    join_style="mitre")
    context, ckind, cunit = _context(result, view.buffer(radius, join_style="mitre"))
    return Picture(crs=crs, venue=result.venue, venue_xy=(vx, vy), catchment=catchment,
                   footprints=footprints, context=context, context_kind=ckind,
                   context_unit=cunit, breaks=breaks, view=view, unavailable=unavailable)


def _breaks(density: np.ndarray, people: np.ndarray) -> list[float]:
    """Class boundaries at the 10/30/50/70/90th percentiles of density weighted by ``people``
    (the density at which the wasted audience lives), rounded to nice numbers and made strictly
    increasing."""
    n = len(DENSITY_COLOURS) - 1
    ok = np.isfinite(density) & (people > 0)
    density, people = density[ok], people[ok]
    if not len(density):
        return [float(10 ** k) for k in range(2, 2 + n)]
    order = np.argsort(density)
    cum = np.cumsum(people[order]) / people.sum()
    qs = [0.10, 0.30, 0.50, 0.70, 0.90]
    raw = [float(density[order][min(np.searchsorted(cum, q), len(order) - 1)]) for q in qs]
    out: list[float] = []
    for v in raw:
        b = _nice(max(v, 1.0))
        if out and b <= out[-1]:
            b = _nice(out[-1], above=True)
        out.append(b)
    return out


# -- GeoJSON output ------------------------------------------------------------------------
def _digits(tol_m: float) -> int:
    """Decimal places of degrees that round by at most half of ``tol_m`` metres (a degree of
    latitude is about 111 km), between 4 (~11 m) and 6 (~0.1 m)."""
    return int(min(6, max(4, math.ceil(math.log10(2 * 111_000 / max(tol_m, 0.1))))))


def _coords(geom, nd: int):
    def ring(c):
        return [[round(x, nd), round(y, nd)] for x, y in np.asarray(c)[:, :2].tolist()]

    t = geom.geom_type
    if t == "Polygon":
        return {"type": "Polygon",
                "coordinates": [ring(geom.exterior.coords)] + [ring(i.coords)
                                                                for i in geom.interiors]}
    if t == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [_coords(p, nd)["coordinates"]
                                                         for p in geom.geoms]}
    if t == "LineString":
        return {"type": "LineString", "coordinates": ring(geom.coords)}
    if t == "MultiLineString":
        return {"type": "MultiLineString", "coordinates": [ring(g.coords) for g in geom.geoms]}
    if t == "Point":
        return {"type": "Point", "coordinates": ring([geom.coords[0]])[0]}
    if t == "MultiPoint":
        return {"type": "MultiPoint", "coordinates": [ring([g.coords[0]])[0] for g in geom.geoms]}
    if t == "GeometryCollection":
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return _coords(shapely.union_all(polys) if polys else shapely.Polygon(), nd)
    raise ValueError(f"cannot write {t} as GeoJSON")


def _drop_small(geom, min_area: float):
    """``geom`` without the polygon parts smaller than ``min_area`` (m²), unless all are."""
    if min_area <= 0 or geom.geom_type not in ("MultiPolygon", "GeometryCollection"):
        return geom
    parts = shapely.get_parts(geom)
    keep = parts[shapely.area(parts) >= min_area]
    return shapely.MultiPolygon(list(keep)) if len(keep) else geom


def _feature(pic: Picture, geom, tol_m: float, props: dict | None = None,
             digits: int | None = None, min_area: float | None = None) -> dict | None:
    """A GeoJSON feature in WGS84, simplified to ``tol_m`` metres; polygon parts smaller than
    ``min_area`` (default: 3 tolerances squared), invisible at the zoom the shape is seen whole,
    are left out."""
    if geom is None or geom.is_empty:
        return None
    g = shapely.simplify(geom, tol_m, preserve_topology=True) if tol_m > 0 else geom
    g = _drop_small(g, (3 * tol_m) ** 2 if min_area is None else min_area)
    if g.is_empty:
        return None
    g = pic.to_wgs84(g)
    return {"type": "Feature", "properties": props or {},
            "geometry": _coords(g, digits if digits is not None else _digits(tol_m))}


def _collection(features) -> dict:
    return {"type": "FeatureCollection", "features": [f for f in features if f is not None]}


def _tolerance(pic: Picture, geom) -> float:
    """Simplification tolerance for a shape seen whole: ~1/1500 of its extent, and never below
    ~1/800 of the catchment's radius (1 m for half a mile)."""
    x0, y0, x1, y1 = geom.bounds
    return max(max(x1 - x0, y1 - y0) / 1500, pic.catchment_radius_m / 800)


# -- the folium map ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def leaflet_assets() -> dict:
    """Leaflet's JS, CSS (images inlined) and licence, vendored from the npm registry."""
    text = resources.files("geotarget.data").joinpath("leaflet.json").read_text(encoding="utf-8")
    return json.loads(text)


def _script_safe(text: str) -> str:
    """JSON or JS text safe inside a <script> element."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _asset_block() -> str:
    a = leaflet_assets()
    licence = a["license"].replace("--", "- -")
    return (f"<!-- Leaflet {a['version']} ({a['license_id']}), inlined by geotarget from the "
            f"{a['source']}.\n{licence}-->\n"
            f"<style>{a['css']}</style>\n<script>{_script_safe(a['js'])}</script>\n"
            f"<style>{MAP_CSS}</style>")


MAP_CSS = """
.geotarget-legend{background:rgba(255,255,255,.93);padding:6px 9px;border-radius:5px;
 box-shadow:0 1px 5px rgba(0,0,0,.4);font:11.5px/1.3 system-ui,-apple-system,"Segoe UI",
 Roboto,Arial,sans-serif;color:#222;width:262px;box-sizing:border-box}
.geotarget-legend h4{margin:0 0 3px;font-size:12.5px}
.geotarget-legend .row{display:flex;align-items:center;flex-wrap:wrap;margin:2px 0;gap:2px 10px}
.geotarget-legend .it{display:inline-flex;align-items:center}
.geotarget-legend .sw{width:16px;height:11px;margin-right:4px;flex:none;box-sizing:border-box}
.geotarget-legend .grid{display:grid;grid-template-columns:1fr 1fr;gap:1px 8px;margin:2px 0}
.geotarget-legend .note{color:#555;margin-top:3px;font-size:10.5px}
.geotarget-popup table{border-collapse:collapse;margin-top:3px}
.geotarget-popup th{text-align:left;padding:1px 8px 1px 0;font-weight:600;vertical-align:top}
.geotarget-popup td{padding:1px 0}
.geotarget-popup .verdict{display:inline-block;padding:0 6px;border-radius:3px;color:#fff}
.leaflet-control-layers{font-size:12px;line-height:1.3;max-width:270px}
.leaflet-control-layers-overlays label{margin:2px 0}
.leaflet-control-layers-overlays label>span,.leaflet-control-layers-overlays label>div{
 display:flex;align-items:flex-start}
.leaflet-control-layers-selector{flex:none;margin-top:1px}
.geotarget-layer-swatch{display:inline-block;width:9px;height:9px;border-radius:2px;
 margin:3px 4px 0 2px;flex:none}
"""

#: room kept free on the right of the view for the layer list and the legend (pixels)
RIGHT_PANEL_PX = 285


def _map_class():
    import folium
    from branca.element import Element, Figure

    class OfflineMap(folium.Map):
        """A folium Map that inlines Leaflet instead of linking to CDNs (and loads no jQuery,
        Bootstrap or Font Awesome: only Leaflet's own objects are used)."""

        default_js: ClassVar[list] = []
        default_css: ClassVar[list] = []

        def render(self, **kwargs):
            figure = self.get_root()
            assert isinstance(figure, Figure)
            figure.header.add_child(Element(_asset_block()), name="geotarget_leaflet")
            super().render(**kwargs)

    return OfflineMap


def _macro(template: str, **attrs):
    from branca.element import MacroElement
    from jinja2 import Template

    el = MacroElement()
    el._template = Template(template)
    for k, v in attrs.items():
        setattr(el, k, v)
    return el


def popup_html(row: dict, layer_unit: str = "") -> str:
    """A platform's key figures as HTML (all from its row)."""
    e = html.escape
    fp, pe = row.get("footprint") or {}, row.get("people") or {}
    verdict = row.get("verdict", "")
    lb = bool(row.get("waste_lower_bound"))
    rows = [("Smallest footprint", e(fp.get("label", "none"))
             + (f" ({float(fp['area_km2']):,.2f} km²)" if fp.get("area_km2") is not None else ""))]
    if pe:
        who = e(basis_words(pe.get("basis")))
        parts = []
        if pe.get("residents") is not None and pe.get("workers") is not None:
            parts = [f"{fmt_int(pe['residents'])} residents", f"{fmt_int(pe['workers'])} workers"]
        rows.append(("People reached", f"{fmt_int(pe.get('total'))}"
                     + (f" ({' + '.join(parts)})" if parts else f" {who}")))
        rows.append(("In your catchment", fmt_int(pe.get("in_catchment"))))
    rows.append(("Share inside", fmt_share(row.get("share_inside"))))
    waste = fmt_share(row.get("waste_share"), lb)
    money = fmt_money(row.get("waste_money"))
    rows.append(("Wasted", waste + (f" of the audience; {e(money)} of the spend" if money
                                    else " of the audience")))
    ma = row.get("min_audience") or {}
    if ma.get("required") is not None:
        met = {True: "met", False: "NOT met", None: "unknown"}[ma.get("met")]
        rows.append(("Minimum audience", f"{fmt_int(ma['required'])} ({met})"))
    body = "".join(f"<tr><th>{a}</th><td>{b}</td></tr>" for a, b in rows)
    colour = VERDICT_COLOURS.get(verdict, "#777")
    advice = "".join(f"<li>{e(a)}</li>" for a in row.get("advice", [])[:2])
    return (f"<div class='geotarget-popup'><b>{e(row.get('name', row.get('id', '')))}</b> "
            f"<span class='verdict' style='background:{colour}'>"
            f"{e(VERDICT_WORDS.get(verdict, verdict))}</span>"
            f"<table>{body}</table>"
            + (f"<ul style='margin:4px 0 0 16px;padding:0'>{advice}</ul>" if advice else "")
            + "</div>")


def _layer_name(row: dict) -> str:
    e = html.escape
    colour = VERDICT_COLOURS.get(row.get("verdict", ""), "#777")
    w = fmt_share(row.get("waste_share"), bool(row.get("waste_lower_bound")))
    return (f"<span class='geotarget-layer-swatch' style='background:{colour}'></span>"
            f"<span><span class='geotarget-platform' data-platform='{e(row['id'])}'>"
            f"{e(row.get('name', row['id']))}</span> – {w} wasted</span>")


def density_labels(breaks: list[float]) -> list[str]:
    """Words for the density classes: 'under 2,500', '2,500 – 5,000', ..., '25,000 and more'."""
    b = breaks
    return ([f"under {b[0]:,.0f}"] + [f"{b[i]:,.0f} – {b[i + 1]:,.0f}" for i in range(len(b) - 1)]
            + [f"{b[-1]:,.0f} and more"])


def _legend_html(pic: Picture, tiles: str) -> str:
    e = html.escape

    def item(swatch_style: str, text: str) -> str:
        return f"<span class='it'><span class='sw' style='{swatch_style}'></span>{text}</span>"

    out = ["<h4>Legend</h4><div class='row'>",
           item(f"background:{VENUE_COLOUR};width:10px;height:10px;border-radius:50%;"
                "border:2px solid #fff;box-shadow:0 0 0 1px #999", "Venue"),
           item(f"border:3px solid {CATCHMENT_COLOUR};background:rgba(33,102,172,.08)",
                "Your catchment"), "</div>"]
    verdicts = [v for v in VERDICT_COLOURS if any(r["verdict"] == v for f in pic.footprints
                                                   for r in f.rows)]
    if verdicts:
        out.append("<div class='row'>Footprint:" + "".join(
            item(f"border:2px dashed {VERDICT_COLOURS[v]}", VERDICT_WORDS[v]) for v in verdicts)
            + "</div>")
    if pic.footprints:
        bases = {f.basis for f in pic.footprints}
        who = basis_words(bases.pop()) if len(bases) == 1 else "the people each platform counts"
        out.append(f"<div style='margin-top:4px'><b>Wasted area</b> (footprint outside your "
                   f"catchment): {e(who)} per km²</div><div class='grid'>")
        out += [item(f"background:{c};border:1px solid {WASTE_EDGE_COLOUR}40", e(lab))
                for c, lab in zip(DENSITY_COLOURS, density_labels(pic.breaks))]
        out.append("</div>")
    extra = []
    if any(not f.no_data.is_empty for f in pic.footprints):
        extra.append(item(f"background:{NO_DATA_COLOUR};opacity:.6", "no data (outside the "
                                                                      "layer)"))
    if len(pic.context):
        what = "census zones" if pic.context_kind == "zones" else (
            "grid cells" if pic.context_kind == "grid" else "census points")
        swatch = (f"background:{ZONE_COLOUR};width:5px;height:5px;border-radius:50%;"
                  "margin:0 9px 0 5px;opacity:.7" if pic.context_kind == "points"
                  else f"border:1px solid {ZONE_COLOUR}")
        extra.append(item(swatch, f"{e(what)} ({e(pic.context_unit)})"))
    if extra:
        out.append("<div class='row'>" + "".join(extra) + "</div>")
    note = "Tick a platform to show its footprint; click a shape for its figures."
    if tiles == TILES_NONE:
        note = "No background map. " + note
    out.append(f"<div class='note'>{note}</div>")
    return "".join(out)


def check_tiles(tiles: str) -> str:
    """``tiles`` if it is ``"osm"``, ``"none"`` or a tile URL template, else InputError."""
    if tiles in (TILES_OSM, TILES_NONE):
        return tiles
    if not isinstance(tiles, str) or not re.match(r"^(https?|file)://", tiles) or not all(
            k in tiles for k in ("{z}", "{x}", "{y}")):
        raise InputError(f"tiles {tiles!r}: give 'osm', 'none' or a tile URL template such as "
                         "https://tiles.example.org/{z}/{x}/{y}.png")
    return tiles


def _tile_layer(tiles: str, attribution: str | None):
    import folium

    tiles = check_tiles(tiles)
    if tiles == TILES_OSM:
        return folium.TileLayer("OpenStreetMap", name="OpenStreetMap")
    if tiles == TILES_NONE:
        return None
    from urllib.parse import urlparse

    attr = attribution or f"Tiles: {urlparse(tiles).netloc or tiles}"
    return folium.TileLayer(tiles, attr=attr, name="Background")


def interactive_map(result, *, tiles: str = TILES_OSM, attribution: str | None = None,
                    height: str = "100%", pic: Picture | None = None):
    """A folium Map of the result: venue, catchment, each platform's footprint and wasted area
    (toggleable layers with popups), context zones and a legend.

    ``tiles``: ``"osm"`` (OpenStreetMap, needs a connection when viewed), ``"none"`` (no
    background; the layer's zones are drawn as context) or a URL template
    ``https://.../{z}/{x}/{y}.png`` (``attribution`` names its source).
    """
    import folium
    from branca.element import Element

    pic = pic or picture(result)
    OfflineMap = _map_class()
    vlat, vlon = float(result.venue["lat"]), float(result.venue["lon"])
    tile = _tile_layer(tiles, attribution)
    m = OfflineMap(location=[vlat, vlon], tiles=None, height=height, control_scale=True,
                   zoom_start=14)
    if tile is not None:
        tile.add_to(m)

    # shared shapes, written once even when several platforms use the same footprint
    data: dict = {}
    pal = list(DENSITY_COLOURS)
    data["catchment"] = _collection([_feature(pic, pic.catchment, _tolerance(pic, pic.catchment))])
    if len(pic.context):
        x0, y0, x1, y1 = pic.view.bounds
        ztol = max(x1 - x0, y1 - y0) / 600
        if pic.context_kind == "points":
            data["context"] = _collection([_feature(pic, shapely.MultiPoint(
                shapely.get_coordinates(pic.context)), 0)])
        else:
            merged = shapely.union_all(shapely.boundary(pic.context))
            data["context"] = _collection([_feature(pic, merged, ztol)])
    for i, f in enumerate(pic.footprints):
        tol = _tolerance(pic, f.geometry)
        cells = []
        if len(f.cells.geoms):
            # cells simplified to a 25th of their size, then dissolved by density class
            klass = pic.classify(f.cells.density)
            floor = pic.catchment_radius_m / 800
            ctol = np.maximum(f.cells.size_m / 25, floor)
            simple = shapely.simplify(f.cells.geoms, ctol, preserve_topology=True)
            simple = np.array([_drop_small(g, (3 * t) ** 2) for g, t in zip(simple, ctol)],
                              dtype=object)
            nd = _digits(float(ctol.min()))
            for k in np.unique(klass):
                merged = shapely.union_all(simple[klass == k])
                cells.append(_feature(pic, merged, 0, {"k": int(k)}, digits=nd,
                                      min_area=(2 * float(ctol.min())) ** 2))
        data[f"fp{i}"] = {
            "outline": _collection([_feature(pic, f.geometry, tol)]),
            "cells": _collection(cells),
            "nodata": _collection([_feature(pic, f.no_data, tol)]),
        }
    store = _macro("""{% macro script(this, kwargs) %}
var geotarget_shapes = """ + "{{ this.payload }}" + """;
var geotarget_palette = """ + json.dumps(pal) + """;
var geotarget_labels = """ + "{{ this.labels|tojson }}" + """;
{% endmacro %}""", payload=_script_safe(json.dumps(data, separators=(",", ":"))),
                   labels=density_labels(pic.breaks))
    store.add_to(m)

    # context zones (a layer; on by default without background tiles)
    if "context" in data:
        what = {"zones": "Census zones", "grid": "Grid cells", "points": "Census points"}[
            pic.context_kind]
        ctx = folium.FeatureGroup(name=f"{what} ({html.escape(pic.context_unit)})",
                                  show=(tiles == TILES_NONE))
        _macro("""{% macro script(this, kwargs) %}
L.geoJSON(geotarget_shapes.context, {
  style: function(f) { return f.geometry.type.indexOf('Point') >= 0 ?
    {stroke: false, fillColor: '""" + ZONE_COLOUR + """', fillOpacity: 0.6} :
    {color: '""" + ZONE_COLOUR + """', weight: 0.8, opacity: 0.7, fill: false}; },
  pointToLayer: function(f, ll) { return L.circleMarker(ll, {radius: 1.5, weight: 0,
    fillColor: '""" + ZONE_COLOUR + """', fillOpacity: 0.6}); },
  interactive: false
}).addTo({{ this._parent.get_name() }});
{% endmacro %}""").add_to(ctx)
        ctx.add_to(m)

    # one layer per platform (best first; the best one shown)
    shown = False
    for i, f in enumerate(pic.footprints):
        for row in f.rows:
            show = not shown
            shown = True
            fg = folium.FeatureGroup(name=_layer_name(row), show=show)
            colour = VERDICT_COLOURS.get(row.get("verdict", ""), "#777")
            _macro("""{% macro script(this, kwargs) %}
(function(){
  var d = geotarget_shapes[{{ this.key|tojson }}], g = {{ this._parent.get_name() }};
  var popup = {{ this.popup|tojson }};
  L.geoJSON(d.nodata, {style: {stroke: false, fillColor: '""" + NO_DATA_COLOUR + """',
    fillOpacity: 0.45}}).bindPopup(popup).bindTooltip('no data: outside the layer',
    {sticky: true}).addTo(g);
  L.geoJSON(d.cells, {
    style: function(f) { return {stroke: false, fillColor: geotarget_palette[f.properties.k],
                                 fillOpacity: 0.62}; },
    onEachFeature: function(f, l) {
      l.bindTooltip('wasted area: ' + geotarget_labels[f.properties.k] +
                    ' people per km\\u00b2', {sticky: true});
      l.bindPopup(popup, {maxWidth: 360});
    }
  }).addTo(g);
  L.geoJSON(d.outline, {style: {color: {{ this.colour|tojson }}, weight: 3, opacity: 0.95,
    dashArray: '8 5', fill: false}}).bindPopup(popup, {maxWidth: 360}).addTo(g);
})();
{% endmacro %}""", key=f"fp{i}", popup=popup_html(row), colour=colour).add_to(fg)
            fg.add_to(m)

    # catchment and venue on top, always shown
    res, wrk = result.residents, result.workers
    pop_rows = []
    if res is not None:
        pop_rows.append(f"Residents: about {res.estimate:,.0f} (range {res.low:,.0f} – "
                        f"{res.high:,.0f})")
    if wrk is not None:
        pop_rows.append(f"Workers travelling in: about {wrk.estimate:,.0f} (range "
                        f"{wrk.low:,.0f} – {wrk.high:,.0f})")
    cpop = ("<div class='geotarget-popup'><b>Your catchment</b><br>"
            + html.escape(result.catchment.get("description", "")) + "<br>"
            + "<br>".join(html.escape(t) for t in pop_rows) + "</div>")
    vpop = (f"<b>{html.escape(str(result.venue.get('label') or 'Venue'))}</b><br>"
            f"{vlat:.5f}, {vlon:.5f}")
    _macro("""{% macro script(this, kwargs) %}
var geotarget_catchment = L.geoJSON(geotarget_shapes.catchment, {style: {color: '"""
           + CATCHMENT_COLOUR + """', weight: 3, fillColor: '""" + CATCHMENT_COLOUR + """',
  fillOpacity: 0.07}}).bindPopup({{ this.cpop|tojson }})
  .addTo({{ this._parent.get_name() }});
var geotarget_venue = L.circleMarker({{ this.ll|tojson }}, {radius: 6, color: '#ffffff',
  weight: 2, fillColor: '""" + VENUE_COLOUR + """', fillOpacity: 1}).bindPopup(
  {{ this.vpop|tojson }}).bindTooltip({{ this.vlabel|tojson }}, {direction: 'top',
  offset: [0, -6], permanent: true, opacity: 0.85}).addTo({{ this._parent.get_name() }});
{{ this._parent.get_name() }}.on('overlayadd', function() {
  geotarget_catchment.bringToFront(); geotarget_venue.bringToFront(); });
var geotarget_legend = L.control({position: 'bottomright'});
geotarget_legend.onAdd = function() {
  var div = L.DomUtil.create('div', 'geotarget-legend');
  div.innerHTML = {{ this.legend|tojson }};
  L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
  return div; };
geotarget_legend.addTo({{ this._parent.get_name() }});
{% endmacro %}""", cpop=cpop, ll=[vlat, vlon], vpop=vpop,
           vlabel=str(result.venue.get("label") or "Venue"),
           legend=_legend_html(pic, tiles)).add_to(m)

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    x0, y0, x1, y1 = pic.to_wgs84(pic.view).bounds
    m.fit_bounds([[y0, x0], [y1, x1]], padding_top_left=(10, 10),
                 padding_bottom_right=(RIGHT_PANEL_PX, 10))
    m.get_root().header.add_child(Element(
        "<title>" + html.escape(f"geotarget map: {result.venue.get('label') or ''} – "
                                f"{result.catchment.get('description', '')}") + "</title>"),
        name="geotarget_title")
    return m


def render_html(m) -> str:
    """The whole HTML document of a map (or of a folium Figure)."""
    return m.get_root().render()


def save_html(result_or_map, path: str | Path, *, tiles: str = TILES_OSM,
              attribution: str | None = None, overwrite: bool = False) -> Path:
    """Write the interactive map as one self-contained HTML file (atomically; an existing file
    is kept unless ``overwrite``).  Accepts a Result or a map from :func:`interactive_map`."""
    from .report import write_output

    m = result_or_map if hasattr(result_or_map, "get_root") else interactive_map(
        result_or_map, tiles=tiles, attribution=attribution)
    return write_output(path, render_html(m), overwrite=overwrite)
