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

The shapes come from :func:`~geotarget.render.picture.picture` (layer CRS), written once as
GeoJSON in WGS84 by :func:`~geotarget.render.geojson.map_shapes`.  The density of the wasted area
is drawn on a quadtree of square cells, fine next to the catchment (where the map opens) and
coarser far from it, each cell clipped to the wasted area and to the layer's coverage (outside it
nothing is known, which is drawn as "no data", never as empty).

The map's script and styles are files in ``templates/``: ``*.js.j2`` (folium macros, reading the
values they need as JSON through ``tojson``; the shapes arrive as JSON made safe by
:func:`_script_safe`), ``leaflet.html.j2`` and ``map.css``.  This module builds the HTML of the
popups, layer names and legend (every user-supplied string escaped with
:func:`geotarget.escape.html_text`) and hands it over.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..escape import html_text
from .geojson import map_shapes
from .picture import Picture, picture
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

if TYPE_CHECKING:
    import folium
    from branca.element import Element, MacroElement
    from jinja2 import Template

    from ..result import Result

#: room kept free on the right of the view for the layer list and the legend (pixels)
RIGHT_PANEL_PX = 285


# -- templates -------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _template_text(name: str) -> str:
    """The text of ``templates/<name>``, shipped with the package."""
    path = resources.files("geotarget.render") / "templates" / name
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=32)
def _template(name: str) -> Template:
    """``templates/<name>`` compiled by Jinja (no autoescaping: see each template)."""
    from jinja2 import Template

    return Template(_template_text(name))


def _macro(name: str, **attrs: object) -> MacroElement:
    """A folium element drawn by the macros of ``templates/<name>``, which read each of
    ``attrs`` as ``this.<key>``."""
    from branca.element import MacroElement

    el = MacroElement()
    el._template = _template(name)
    for k, v in attrs.items():
        setattr(el, k, v)
    return el


# -- the folium map ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def leaflet_assets() -> dict[str, str]:
    """Leaflet's JS, CSS (images inlined) and licence, vendored from the npm registry.

    Returns
    -------
    dict of str to str
        ``version``, ``license_id``, ``license`` (its text), ``source``, ``js`` and ``css``.
    """
    text = resources.files("geotarget.data").joinpath("leaflet.json").read_text(encoding="utf-8")
    assets: dict[str, str] = json.loads(text)
    return assets


def _script_safe(text: str) -> str:
    """JSON or JS text safe inside a <script> element."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _asset_block() -> str:
    """Leaflet's licence, styles and script, then the map's own styles, for the page's head."""
    a = leaflet_assets()
    return _template("leaflet.html.j2").render(
        version=a["version"],
        license_id=a["license_id"],
        source=a["source"],
        licence=a["license"].replace("--", "- -"),
        css=a["css"],
        js=_script_safe(a["js"]),
        map_css=_template_text("map.css"),
    )


@lru_cache(maxsize=1)
def _map_class() -> type[folium.Map]:
    import folium
    from branca.element import Element, Figure

    class OfflineMap(folium.Map):
        """A folium Map that inlines Leaflet instead of linking to CDNs (and loads no jQuery,
        Bootstrap or Font Awesome: only Leaflet's own objects are used)."""

        default_js: list[tuple[str, str]] = []
        default_css: list[tuple[str, str]] = []

        # -> None: folium's render returns nothing (branca's Element.render is typed -> str)
        def render(self, **kwargs: Any) -> None:  # type: ignore[override]
            figure = self.get_root()
            assert isinstance(figure, Figure)
            figure.header.add_child(Element(_asset_block()), name="geotarget_leaflet")
            super().render(**kwargs)

    return OfflineMap


# -- popups, layer names and legend (HTML; every user-supplied string escaped) ---------------
def popup_html(row: dict[str, Any], layer_unit: str = "") -> str:
    """A platform's key figures as HTML (all from its row).

    Parameters
    ----------
    row : dict
        The platform's row of the result (``Result.platform_rows``).
    layer_unit : str, optional
        Not used (kept for callers that pass it).

    Returns
    -------
    str
        A ``<div class='geotarget-popup'>``: name, verdict, footprint, people, shares, waste,
        minimum audience and up to two pieces of advice, every text from the row escaped.
    """
    e = html_text
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
        both = pe.get("live_and_work")
        sub = f" − {fmt_int(both)} who live and work there, counted once" if both else ""
        rows.append(
            (
                "People reached",
                f"{fmt_int(pe.get('total'))}"
                + (f" ({' + '.join(parts)}{sub})" if parts else f" {who}"),
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


def _layer_name(row: dict[str, Any]) -> str:
    """A platform's entry in the layer list: a swatch of its verdict, its name, its waste."""
    e = html_text
    colour = VERDICT_COLOURS.get(row.get("verdict", ""), "#777")
    w = fmt_share(row.get("waste_share"), bool(row.get("waste_lower_bound")))
    return (
        f"<span class='geotarget-layer-swatch' style='background:{colour}'></span>"
        f"<span><span class='geotarget-platform' data-platform='{e(row['id'])}'>"
        f"{e(row.get('name', row['id']))}</span> – {w} wasted</span>"
    )


def _catchment_popup(result: Result) -> str:
    """The catchment's description and its people, with their ranges."""
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
    return (
        "<div class='geotarget-popup'><b>Your catchment</b><br>"
        + html_text(result.catchment.get("description", ""))
        + "<br>"
        + "<br>".join(html_text(t) for t in pop_rows)
        + "</div>"
    )


def _venue(result: Result) -> tuple[float, float, str]:
    """(latitude, longitude, label) of the venue."""
    v = result.venue
    return float(v["lat"]), float(v["lon"]), str(v.get("label") or "Venue")


def _venue_popup(result: Result) -> str:
    vlat, vlon, label = _venue(result)
    return f"<b>{html_text(label)}</b><br>{vlat:.5f}, {vlon:.5f}"


def _legend_item(swatch_style: str, text: str) -> str:
    return f"<span class='it'><span class='sw' style='{swatch_style}'></span>{text}</span>"


def _legend_footprints(pic: Picture) -> list[str]:
    """The legend's rows for the footprints: their verdicts, then the density classes."""
    out = []
    verdicts = [
        v for v in VERDICT_COLOURS if any(r["verdict"] == v for f in pic.footprints for r in f.rows)
    ]
    if verdicts:
        out.append(
            "<div class='row'>Footprint:"
            + "".join(
                _legend_item(f"border:2px dashed {VERDICT_COLOURS[v]}", VERDICT_WORDS[v])
                for v in verdicts
            )
            + "</div>"
        )
    if pic.footprints:
        bases = {f.basis for f in pic.footprints}
        who = basis_words(bases.pop()) if len(bases) == 1 else "the people each platform counts"
        out.append(
            f"<div style='margin-top:4px'><b>Wasted area</b> (footprint outside your "
            f"catchment): {html_text(who)} per km²</div><div class='grid'>"
        )
        out += [
            _legend_item(f"background:{c};border:1px solid {WASTE_EDGE_COLOUR}40", html_text(lab))
            for c, lab in zip(DENSITY_COLOURS, density_labels(pic.breaks))
        ]
        out.append("</div>")
    return out


def _legend_extra(pic: Picture) -> list[str]:
    """The legend's row for "no data" and the context zones, if drawn."""
    e = html_text
    extra = []
    if any(not f.no_data.is_empty for f in pic.footprints):
        extra.append(
            _legend_item(f"background:{NO_DATA_COLOUR};opacity:.6", "no data (outside the layer)")
        )
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
        extra.append(_legend_item(swatch, f"{e(what)} ({e(pic.context_unit)})"))
    return ["<div class='row'>" + "".join(extra) + "</div>"] if extra else []


def _legend_html(pic: Picture, tiles: str) -> str:
    """The legend's HTML: venue and catchment, footprints and density classes, the rest."""
    venue = (
        f"background:{VENUE_COLOUR};width:10px;height:10px;border-radius:50%;"
        "border:2px solid #fff;box-shadow:0 0 0 1px #999"
    )
    catchment = f"border:3px solid {CATCHMENT_COLOUR};background:rgba(33,102,172,.08)"
    note = "Tick a platform to show its footprint; click a shape for its figures."
    if tiles == TILES_NONE:
        note = "No background map. " + note
    out = [
        "<h4>Legend</h4><div class='row'>",
        _legend_item(venue, "Venue"),
        _legend_item(catchment, "Your catchment"),
        "</div>",
        *_legend_footprints(pic),
        *_legend_extra(pic),
        f"<div class='note'>{note}</div>",
    ]
    return "".join(out)


# -- the map ---------------------------------------------------------------------------------
def check_tiles(tiles: str) -> str:
    """Check a map background.

    Parameters
    ----------
    tiles : str
        ``"osm"``, ``"none"`` or a tile URL template (``http(s)://`` or ``file://``, with
        ``{z}``, ``{x}`` and ``{y}``).

    Returns
    -------
    str
        ``tiles`` itself.

    Raises
    ------
    InputError
        When ``tiles`` is none of these.
    """
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


def _tile_layer(tiles: str, attribution: str | None) -> folium.TileLayer | None:
    import folium

    tiles = check_tiles(tiles)
    if tiles == TILES_OSM:
        return folium.TileLayer("OpenStreetMap", name="OpenStreetMap")
    if tiles == TILES_NONE:
        return None
    from urllib.parse import urlparse

    # Leaflet inserts the attribution as HTML: the user's text is escaped (shown as written)
    attr = html_text(attribution or f"Tiles: {urlparse(tiles).netloc or tiles}")
    return folium.TileLayer(tiles, attr=attr, name="Background")


def _add_context(m: folium.Map, pic: Picture, tiles: str) -> None:
    """The context zones as a layer, on by default without background tiles."""
    import folium

    what = {"zones": "Census zones", "grid": "Grid cells", "points": "Census points"}[
        pic.context_kind
    ]
    ctx = folium.FeatureGroup(
        name=f"{what} ({html_text(pic.context_unit)})", show=(tiles == TILES_NONE)
    )
    _macro("context.js.j2", colour=ZONE_COLOUR).add_to(ctx)
    ctx.add_to(m)


def _add_platforms(m: folium.Map, pic: Picture) -> None:
    """One layer per platform, best first; the best one shown."""
    import folium

    shown = False
    for i, f in enumerate(pic.footprints):
        for row in f.rows:
            fg = folium.FeatureGroup(name=_layer_name(row), show=not shown)
            shown = True
            _macro(
                "platform.js.j2",
                key=f"fp{i}",
                popup=popup_html(row),
                colour=VERDICT_COLOURS.get(row.get("verdict", ""), "#777"),
                no_data_colour=NO_DATA_COLOUR,
            ).add_to(fg)
            fg.add_to(m)


def _add_title(m: folium.Map, result: Result) -> None:
    from branca.element import Element, Figure

    title = (
        f"geotarget map: {result.venue.get('label') or ''} – "
        f"{result.catchment.get('description', '')}"
    )
    figure = m.get_root()
    assert isinstance(figure, Figure)
    figure.header.add_child(
        Element("<title>" + html_text(title) + "</title>"), name="geotarget_title"
    )


def interactive_map(
    result: Result,
    *,
    tiles: str = TILES_OSM,
    attribution: str | None = None,
    height: str = "100%",
    pic: Picture | None = None,
) -> folium.Map:
    """A folium Map of the result: venue, catchment, each platform's footprint and wasted area
    (toggleable layers with popups), context zones and a legend.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse` (with its geometry), evaluated with
        ``platforms=...`` for footprints to be drawn.
    tiles : str, default "osm"
        ``"osm"`` (OpenStreetMap, needs a connection when viewed), ``"none"`` (no background;
        the layer's zones are drawn as context) or a URL template
        ``https://.../{z}/{x}/{y}.png``.
    attribution : str, optional
        The source of a tile URL template's tiles (default: its host name).
    height : str, default "100%"
        The map's CSS height.
    pic : Picture, optional
        The shapes, already computed by :func:`geotarget.render.picture.picture`.

    Returns
    -------
    folium.Map
        The map; :func:`render_html` writes it as one self-contained HTML page.

    Raises
    ------
    InputError
        When ``tiles`` is not one of the above, or the result carries no geometry.
    """
    import folium

    pic = pic or picture(result)
    vlat, vlon, vlabel = _venue(result)
    tile = _tile_layer(tiles, attribution)
    m = _map_class()(
        location=[vlat, vlon], tiles=None, height=height, control_scale=True, zoom_start=14
    )
    if tile is not None:
        tile.add_to(m)
    data = map_shapes(pic)  # shared shapes, written once even when platforms share a footprint
    payload = _script_safe(json.dumps(data, separators=(",", ":")))
    labels = density_labels(pic.breaks)
    _macro("shapes.js.j2", payload=payload, palette=list(DENSITY_COLOURS), labels=labels).add_to(m)
    if "context" in data:
        _add_context(m, pic, tiles)
    _add_platforms(m, pic)
    # catchment and venue on top, always shown
    _macro(
        "catchment.js.j2",
        cpop=_catchment_popup(result),
        ll=[vlat, vlon],
        vpop=_venue_popup(result),
        # Leaflet inserts tooltip text as HTML: the label is escaped
        vlabel=html_text(vlabel),
        catchment_colour=CATCHMENT_COLOUR,
        venue_colour=VENUE_COLOUR,
        compare=_same_distance_circle(result),
    ).add_to(m)
    _macro("legend.js.j2", legend=_legend_html(pic, tiles)).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    x0, y0, x1, y1 = pic.to_wgs84(pic.view).bounds
    _macro("fit.js.j2", bounds=[[y0, x0], [y1, x1]], right=RIGHT_PANEL_PX).add_to(m)
    _add_title(m, result)
    return m


def _same_distance_circle(result: Result) -> dict[str, Any] | None:
    """For a walk: the circle of the same distance, as GeoJSON, drawn faintly for comparison."""
    c = result.catchment_obj
    if c is None or c.travel is None or c.travel.limit.circle_m is None or c.centre is None:
        return None
    import shapely

    from ..catchment import circles_in

    ring = circles_in([c.centre[0]], [c.centre[1]], [c.travel.limit.circle_m])[0]
    geo: dict[str, Any] = shapely.geometry.mapping(shapely.set_precision(ring, 1e-6))
    return geo


def render_html(m: Element) -> str:
    """The whole HTML document of a map.

    Parameters
    ----------
    m : folium.Map or branca.element.Figure
        A map of :func:`interactive_map` (or a Figure holding one).

    Returns
    -------
    str
        The page, Leaflet inlined.
    """
    page: str = m.get_root().render()
    return page


def save_html(
    result_or_map: Result | Element,
    path: str | Path,
    *,
    tiles: str = TILES_OSM,
    attribution: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the interactive map as one self-contained HTML file, atomically.

    Parameters
    ----------
    result_or_map : Result or folium.Map
        A result (drawn with :func:`interactive_map`) or a map it returned.
    path : str or pathlib.Path
        Where to write.
    tiles, attribution : str, optional
        The background, for a result (see :func:`interactive_map`).
    overwrite : bool, default False
        Replace an existing file (otherwise :class:`~geotarget.errors.OutputError`).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from branca.element import Element

    from ..files import write_output

    m = (
        result_or_map
        if isinstance(result_or_map, Element)
        else interactive_map(result_or_map, tiles=tiles, attribution=attribution)
    )
    return write_output(path, render_html(m), overwrite=overwrite)
