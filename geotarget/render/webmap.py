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

import html
import json
import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import ClassVar

import numpy as np
import shapely

from ..errors import InputError
from .picture import Picture, _drop_small, picture
from .style import (
    CATCHMENT_COLOUR,
    DENSITY_COLOURS,
    NO_DATA_COLOUR,
    TILES_NONE,
    TILES_OSM,
    VENUE_COLOUR,
    VERDICT_COLOURS,
    VERDICT_WORDS,
    WASTE_EDGE_COLOUR,
    ZONE_COLOUR,
    basis_words,
    density_labels,
    fmt_int,
    fmt_money,
    fmt_share,
)


def _digits(tol_m: float) -> int:
    """Decimal places of degrees that round by at most half of ``tol_m`` metres (a degree of
    latitude is about 111 km), between 4 (~11 m) and 6 (~0.1 m)."""
    return int(min(6, max(4, math.ceil(math.log10(2 * 111_000 / max(tol_m, 0.1))))))


def _coords(geom, nd: int):
    def ring(c):
        return [[round(x, nd), round(y, nd)] for x, y in np.asarray(c)[:, :2].tolist()]

    t = geom.geom_type
    if t == "Polygon":
        return {
            "type": "Polygon",
            "coordinates": [ring(geom.exterior.coords)] + [ring(i.coords) for i in geom.interiors],
        }
    if t == "MultiPolygon":
        return {
            "type": "MultiPolygon",
            "coordinates": [_coords(p, nd)["coordinates"] for p in geom.geoms],
        }
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


def _feature(
    pic: Picture,
    geom,
    tol_m: float,
    props: dict | None = None,
    digits: int | None = None,
    min_area: float | None = None,
) -> dict | None:
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
    return {
        "type": "Feature",
        "properties": props or {},
        "geometry": _coords(g, digits if digits is not None else _digits(tol_m)),
    }


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
    return (
        f"<!-- Leaflet {a['version']} ({a['license_id']}), inlined by geotarget from the "
        f"{a['source']}.\n{licence}-->\n"
        f"<style>{a['css']}</style>\n<script>{_script_safe(a['js'])}</script>\n"
        f"<style>{MAP_CSS}</style>"
    )


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
    rows = [
        (
            "Smallest footprint",
            e(fp.get("label", "none"))
            + (f" ({float(fp['area_km2']):,.2f} km²)" if fp.get("area_km2") is not None else ""),
        )
    ]
    if pe:
        who = e(basis_words(pe.get("basis")))
        parts = []
        if pe.get("residents") is not None and pe.get("workers") is not None:
            parts = [f"{fmt_int(pe['residents'])} residents", f"{fmt_int(pe['workers'])} workers"]
        rows.append(
            (
                "People reached",
                f"{fmt_int(pe.get('total'))}" + (f" ({' + '.join(parts)})" if parts else f" {who}"),
            )
        )
        rows.append(("In your catchment", fmt_int(pe.get("in_catchment"))))
    rows.append(("Share inside", fmt_share(row.get("share_inside"))))
    waste = fmt_share(row.get("waste_share"), lb)
    money = fmt_money(row.get("waste_money"))
    rows.append(
        (
            "Wasted",
            waste + (f" of the audience; {e(money)} of the spend" if money else " of the audience"),
        )
    )
    ma = row.get("min_audience") or {}
    if ma.get("required") is not None:
        met = {True: "met", False: "NOT met", None: "unknown"}[ma.get("met")]
        rows.append(("Minimum audience", f"{fmt_int(ma['required'])} ({met})"))
    body = "".join(f"<tr><th>{a}</th><td>{b}</td></tr>" for a, b in rows)
    colour = VERDICT_COLOURS.get(verdict, "#777")
    advice = "".join(f"<li>{e(a)}</li>" for a in row.get("advice", [])[:2])
    return (
        f"<div class='geotarget-popup'><b>{e(row.get('name', row.get('id', '')))}</b> "
        f"<span class='verdict' style='background:{colour}'>"
        f"{e(VERDICT_WORDS.get(verdict, verdict))}</span>"
        f"<table>{body}</table>"
        + (f"<ul style='margin:4px 0 0 16px;padding:0'>{advice}</ul>" if advice else "")
        + "</div>"
    )


def _layer_name(row: dict) -> str:
    e = html.escape
    colour = VERDICT_COLOURS.get(row.get("verdict", ""), "#777")
    w = fmt_share(row.get("waste_share"), bool(row.get("waste_lower_bound")))
    return (
        f"<span class='geotarget-layer-swatch' style='background:{colour}'></span>"
        f"<span><span class='geotarget-platform' data-platform='{e(row['id'])}'>"
        f"{e(row.get('name', row['id']))}</span> – {w} wasted</span>"
    )


def _legend_html(pic: Picture, tiles: str) -> str:
    e = html.escape

    def item(swatch_style: str, text: str) -> str:
        return f"<span class='it'><span class='sw' style='{swatch_style}'></span>{text}</span>"

    out = [
        "<h4>Legend</h4><div class='row'>",
        item(
            f"background:{VENUE_COLOUR};width:10px;height:10px;border-radius:50%;"
            "border:2px solid #fff;box-shadow:0 0 0 1px #999",
            "Venue",
        ),
        item(
            f"border:3px solid {CATCHMENT_COLOUR};background:rgba(33,102,172,.08)", "Your catchment"
        ),
        "</div>",
    ]
    verdicts = [
        v for v in VERDICT_COLOURS if any(r["verdict"] == v for f in pic.footprints for r in f.rows)
    ]
    if verdicts:
        out.append(
            "<div class='row'>Footprint:"
            + "".join(
                item(f"border:2px dashed {VERDICT_COLOURS[v]}", VERDICT_WORDS[v]) for v in verdicts
            )
            + "</div>"
        )
    if pic.footprints:
        bases = {f.basis for f in pic.footprints}
        who = basis_words(bases.pop()) if len(bases) == 1 else "the people each platform counts"
        out.append(
            f"<div style='margin-top:4px'><b>Wasted area</b> (footprint outside your "
            f"catchment): {e(who)} per km²</div><div class='grid'>"
        )
        out += [
            item(f"background:{c};border:1px solid {WASTE_EDGE_COLOUR}40", e(lab))
            for c, lab in zip(DENSITY_COLOURS, density_labels(pic.breaks))
        ]
        out.append("</div>")
    extra = []
    if any(not f.no_data.is_empty for f in pic.footprints):
        extra.append(item(f"background:{NO_DATA_COLOUR};opacity:.6", "no data (outside the layer)"))
    if len(pic.context):
        what = (
            "census zones"
            if pic.context_kind == "zones"
            else ("grid cells" if pic.context_kind == "grid" else "census points")
        )
        swatch = (
            f"background:{ZONE_COLOUR};width:5px;height:5px;border-radius:50%;"
            "margin:0 9px 0 5px;opacity:.7"
            if pic.context_kind == "points"
            else f"border:1px solid {ZONE_COLOUR}"
        )
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
    if (
        not isinstance(tiles, str)
        or not re.match(r"^(https?|file)://", tiles)
        or not all(k in tiles for k in ("{z}", "{x}", "{y}"))
    ):
        raise InputError(
            f"tiles {tiles!r}: give 'osm', 'none' or a tile URL template such as "
            "https://tiles.example.org/{z}/{x}/{y}.png"
        )
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


def interactive_map(
    result,
    *,
    tiles: str = TILES_OSM,
    attribution: str | None = None,
    height: str = "100%",
    pic: Picture | None = None,
):
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
    m = OfflineMap(
        location=[vlat, vlon], tiles=None, height=height, control_scale=True, zoom_start=14
    )
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
            data["context"] = _collection(
                [_feature(pic, shapely.MultiPoint(shapely.get_coordinates(pic.context)), 0)]
            )
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
            simple = np.array(
                [_drop_small(g, (3 * t) ** 2) for g, t in zip(simple, ctol)], dtype=object
            )
            nd = _digits(float(ctol.min()))
            for k in np.unique(klass):
                merged = shapely.union_all(simple[klass == k])
                cells.append(
                    _feature(
                        pic,
                        merged,
                        0,
                        {"k": int(k)},
                        digits=nd,
                        min_area=(2 * float(ctol.min())) ** 2,
                    )
                )
        data[f"fp{i}"] = {
            "outline": _collection([_feature(pic, f.geometry, tol)]),
            "cells": _collection(cells),
            "nodata": _collection([_feature(pic, f.no_data, tol)]),
        }
    store = _macro(
        """{% macro script(this, kwargs) %}
var geotarget_shapes = """
        + "{{ this.payload }}"
        + """;
var geotarget_palette = """
        + json.dumps(pal)
        + """;
var geotarget_labels = """
        + "{{ this.labels|tojson }}"
        + """;
{% endmacro %}""",
        payload=_script_safe(json.dumps(data, separators=(",", ":"))),
        labels=density_labels(pic.breaks),
    )
    store.add_to(m)

    # context zones (a layer; on by default without background tiles)
    if "context" in data:
        what = {"zones": "Census zones", "grid": "Grid cells", "points": "Census points"}[
            pic.context_kind
        ]
        ctx = folium.FeatureGroup(
            name=f"{what} ({html.escape(pic.context_unit)})", show=(tiles == TILES_NONE)
        )
        _macro(
            """{% macro script(this, kwargs) %}
L.geoJSON(geotarget_shapes.context, {
  style: function(f) { return f.geometry.type.indexOf('Point') >= 0 ?
    {stroke: false, fillColor: '"""
            + ZONE_COLOUR
            + """', fillOpacity: 0.6} :
    {color: '"""
            + ZONE_COLOUR
            + """', weight: 0.8, opacity: 0.7, fill: false}; },
  pointToLayer: function(f, ll) { return L.circleMarker(ll, {radius: 1.5, weight: 0,
    fillColor: '"""
            + ZONE_COLOUR
            + """', fillOpacity: 0.6}); },
  interactive: false
}).addTo({{ this._parent.get_name() }});
{% endmacro %}"""
        ).add_to(ctx)
        ctx.add_to(m)

    # one layer per platform (best first; the best one shown)
    shown = False
    for i, f in enumerate(pic.footprints):
        for row in f.rows:
            show = not shown
            shown = True
            fg = folium.FeatureGroup(name=_layer_name(row), show=show)
            colour = VERDICT_COLOURS.get(row.get("verdict", ""), "#777")
            _macro(
                """{% macro script(this, kwargs) %}
(function(){
  var d = geotarget_shapes[{{ this.key|tojson }}], g = {{ this._parent.get_name() }};
  var popup = {{ this.popup|tojson }};
  L.geoJSON(d.nodata, {style: {stroke: false, fillColor: '"""
                + NO_DATA_COLOUR
                + """',
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
{% endmacro %}""",
                key=f"fp{i}",
                popup=popup_html(row),
                colour=colour,
            ).add_to(fg)
            fg.add_to(m)

    # catchment and venue on top, always shown
    res, wrk = result.residents, result.workers
    pop_rows = []
    if res is not None:
        pop_rows.append(
            f"Residents: about {res.estimate:,.0f} (range {res.low:,.0f} – {res.high:,.0f})"
        )
    if wrk is not None:
        pop_rows.append(
            f"Workers travelling in: about {wrk.estimate:,.0f} (range "
            f"{wrk.low:,.0f} – {wrk.high:,.0f})"
        )
    cpop = (
        "<div class='geotarget-popup'><b>Your catchment</b><br>"
        + html.escape(result.catchment.get("description", ""))
        + "<br>"
        + "<br>".join(html.escape(t) for t in pop_rows)
        + "</div>"
    )
    vpop = (
        f"<b>{html.escape(str(result.venue.get('label') or 'Venue'))}</b><br>{vlat:.5f}, {vlon:.5f}"
    )
    _macro(
        """{% macro script(this, kwargs) %}
var geotarget_catchment = L.geoJSON(geotarget_shapes.catchment, {style: {color: '"""
        + CATCHMENT_COLOUR
        + """', weight: 3, fillColor: '"""
        + CATCHMENT_COLOUR
        + """',
  fillOpacity: 0.07}}).bindPopup({{ this.cpop|tojson }})
  .addTo({{ this._parent.get_name() }});
var geotarget_venue = L.circleMarker({{ this.ll|tojson }}, {radius: 6, color: '#ffffff',
  weight: 2, fillColor: '"""
        + VENUE_COLOUR
        + """', fillOpacity: 1}).bindPopup(
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
{% endmacro %}""",
        cpop=cpop,
        ll=[vlat, vlon],
        vpop=vpop,
        vlabel=str(result.venue.get("label") or "Venue"),
        legend=_legend_html(pic, tiles),
    ).add_to(m)

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    x0, y0, x1, y1 = pic.to_wgs84(pic.view).bounds
    m.fit_bounds(
        [[y0, x0], [y1, x1]], padding_top_left=(10, 10), padding_bottom_right=(RIGHT_PANEL_PX, 10)
    )
    m.get_root().header.add_child(
        Element(
            "<title>"
            + html.escape(
                f"geotarget map: {result.venue.get('label') or ''} – "
                f"{result.catchment.get('description', '')}"
            )
            + "</title>"
        ),
        name="geotarget_title",
    )
    return m


def render_html(m) -> str:
    """The whole HTML document of a map (or of a folium Figure)."""
    return m.get_root().render()


def save_html(
    result_or_map,
    path: str | Path,
    *,
    tiles: str = TILES_OSM,
    attribution: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the interactive map as one self-contained HTML file (atomically; an existing file
    is kept unless ``overwrite``).  Accepts a Result or a map from :func:`interactive_map`."""
    from ..files import write_output

    m = (
        result_or_map
        if hasattr(result_or_map, "get_root")
        else interactive_map(result_or_map, tiles=tiles, attribution=attribution)
    )
    return write_output(path, render_html(m), overwrite=overwrite)
