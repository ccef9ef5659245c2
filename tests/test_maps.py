"""The catchment map (folium, offline) and the static PNG."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import re

import numpy as np
import pytest
import shapely
from jinja2.utils import htmlsafe_json_dumps

import geotarget
from geotarget.errors import InputError, OutputError
from geotarget.render import picture, style, webmap
from geotarget.render import png as static

CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "unpkg.com",
    "cdnjs.cloudflare.com",
    "code.jquery.com",
    "bootstrapcdn.com",
    "googleapis.com",
    "fontawesome",
)


#: a radius footprint shared by two platforms, a city, and a platform that cannot run (the
#: country-wide footprints are drawn the same way, only slower)
PLATFORMS = "meta,google_ads,linkedin,nextdoor"


@pytest.fixture(scope="module")
def edinburgh():
    return geotarget.analyse("EH1 1YZ", "0.5mi", platforms=PLATFORMS, budget=500, currency="GBP")


@pytest.fixture(scope="module")
def ed_pic(edinburgh):
    return picture.picture(edinburgh)


@pytest.fixture(scope="module")
def ed_html(edinburgh, ed_pic):
    return webmap.render_html(webmap.interactive_map(edinburgh, tiles="none", pic=ed_pic))


@pytest.fixture(scope="module")
def london_result(london):  # london: the session's London layer (conftest)
    return geotarget.analyse(
        "51.5202,-0.0937",
        "0.5mi",
        layer=london,
        platforms="all",
        budget=500,
        currency="GBP",
        special_category="housing",  # Meta's restricted rules: its 15-mile circle (issue 13)
    )


def drawn_rows(result):
    return [r for r in result.platform_rows if r.get("footprint")]


def assert_offline(text: str) -> None:
    """No script, style sheet, font or image is loaded from anywhere."""
    assert not re.search(r"<script[^>]+src=", text), "a <script src=...> remains"
    assert not re.search(r"<link[^>]+href=", text), "a <link href=...> remains"
    assert not re.search(r"url\((?!data:|#)[^)]*\)", text.split("<script>", 1)[0]), (
        "a CSS url() that is not a data: URI"
    )
    for host in CDN_HOSTS:
        assert host not in text, f"CDN address {host} remains"


# -- the picture (shapes in the layer CRS) ---------------------------------------------------
def test_each_drawn_platform_is_in_one_footprint_group(edinburgh, ed_pic):
    ids = [r["id"] for f in ed_pic.footprints for r in f.rows]
    assert sorted(ids) == sorted(r["id"] for r in drawn_rows(edinburgh))
    assert [r["id"] for r in ed_pic.unavailable] == [
        r["id"] for r in edinburgh.platform_rows if not r.get("footprint")
    ]


def test_wasted_area_is_footprint_minus_catchment(ed_pic):
    c = ed_pic.catchment
    for f in ed_pic.footprints:
        assert f.waste.intersection(c).area == pytest.approx(0, abs=1e-3 * c.area)
        expected = f.geometry.area - f.geometry.intersection(c).area
        assert f.waste.area == pytest.approx(expected, rel=1e-6)
        cells = f.cells.geoms
        # the density cells tile the wasted area inside the layer's coverage, no overlaps
        assert shapely.area(cells).sum() + f.no_data.area == pytest.approx(f.waste.area, rel=1e-3)
        assert shapely.union_all(cells).area == pytest.approx(shapely.area(cells).sum(), rel=1e-6)


def test_density_cells_hold_the_people_outside_the_catchment(ed_pic):
    """The people in the shaded cells are the platform's people minus the catchment's: the
    shading is made of the same counts as the table."""
    for f in ed_pic.footprints:
        pe = f.rows[0]["people"]
        assert f.waste_people == pytest.approx(pe["total"] - pe["in_catchment"], rel=5e-3)


def test_cells_are_fine_near_the_catchment_and_coarse_far_away(ed_pic):
    big = max(ed_pic.footprints, key=lambda f: f.geometry.area)
    d = shapely.distance(big.cells.geoms, ed_pic.catchment)
    near, far = big.cells.size_m[d < 200], big.cells.size_m[d > 5_000]
    assert len(near) and len(far)
    assert near.max() <= 200 and far.min() >= 4 * near.max()
    assert len(big.cells.geoms) <= picture.MAX_CELLS


def test_density_classes(ed_pic):
    b = ed_pic.breaks
    assert len(b) == len(style.DENSITY_COLOURS) - 1
    assert all(x < y for x, y in itertools.pairwise(b))
    k = ed_pic.classify(np.array([0.0, b[0], b[-1] * 10]))
    assert k.tolist() == [0, 1, len(style.DENSITY_COLOURS) - 1]
    labels = style.density_labels(b)
    assert labels[0] == f"under {b[0]:,.0f}" and labels[-1] == f"{b[-1]:,.0f} and more"


def test_nice_numbers():
    assert picture._nice(3700) == 3000
    assert picture._nice(3000, above=True) == 4000
    assert picture._nice(8500, above=True) == 10000
    assert picture._breaks(np.array([]), np.array([])) == [
        100.0,
        1000.0,
        10000.0,
        100000.0,
        1000000.0,
    ]


def test_a_result_without_geometry_cannot_be_drawn(edinburgh):
    bare = dataclasses.replace(edinburgh, layer_obj=None)
    with pytest.raises(InputError, match="no geometry"):
        picture.picture(bare)


# -- the HTML map -----------------------------------------------------------------------------
def test_map_html_is_self_contained(ed_html):
    assert_offline(ed_html)
    assets = webmap.leaflet_assets()
    assert assets["version"] == "1.9.4" and "BSD 2-Clause" in assets["license"]
    assert "Leaflet 1.9.4" in ed_html and "BSD 2-Clause License" in ed_html
    assert ed_html.count("L.map(") == 1
    assert "tile.openstreetmap.org" not in ed_html  # tiles none: no request at all
    assert not re.search(r"https?://[^\"'\s]*\.(js|css|png|woff2?)\b", ed_html)


def test_map_has_a_layer_per_platform_a_legend_and_popups(edinburgh, ed_html):
    for r in drawn_rows(edinburgh):
        assert f"data-platform='{r['id']}'" in ed_html.replace("\\u0027", "'")
    assert "geotarget-legend" in ed_html
    assert "L.control.layers(" in ed_html
    # popups hold each platform's figures, taken from its row
    for r in drawn_rows(edinburgh):
        popup = webmap.popup_html(r)
        assert f"{r['people']['total']:,.0f}" in popup
        assert style.fmt_share(r["share_inside"]) in popup
        assert style.fmt_share(r["waste_share"], r["waste_lower_bound"]) in popup
        assert style.VERDICT_WORDS[r["verdict"]] in popup
        assert htmlsafe_json_dumps(popup) in ed_html  # as jinja's tojson writes it


def test_shared_footprints_are_written_once(edinburgh, ed_pic, ed_html):
    m = re.search(r"var geotarget_shapes = (\{.*?\});\n", ed_html, re.DOTALL)
    data = json.loads(m.group(1).replace("<\\/", "</"))
    assert len([k for k in data if k.startswith("fp")]) == len(ed_pic.footprints)
    assert len(ed_pic.footprints) < len(drawn_rows(edinburgh))  # several share one footprint
    assert data["context"]["features"], "zone outlines drawn as context"


def test_osm_tiles_carry_their_attribution(edinburgh, ed_pic):
    html = webmap.render_html(webmap.interactive_map(edinburgh, pic=ed_pic))
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in html
    assert "OpenStreetMap" in html and "copyright" in html
    assert_offline(html)


def test_custom_tiles_and_bad_tiles(edinburgh, ed_pic):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    html = webmap.render_html(
        webmap.interactive_map(edinburgh, tiles=url, attribution="© Example", pic=ed_pic)
    )
    assert url in html and '"attribution": "\\u00a9 Example"' in html
    for bad in ("tiles.example.org", "https://tiles.example.org/tile.png", "satellite"):
        with pytest.raises(InputError, match="tile URL template"):
            webmap.interactive_map(edinburgh, tiles=bad, pic=ed_pic)


def test_map_without_platforms(tmp_path):
    r = geotarget.analyse("EH1 1YZ", "500m")
    pic = picture.picture(r)
    assert pic.footprints == [] and len(pic.context)
    html = webmap.render_html(webmap.interactive_map(r, tiles="none", pic=pic))
    assert "geotarget_catchment" in html and "geotarget-legend" in html
    png = static.render_png(r, pic=pic)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_html_refuses_to_overwrite(tmp_path, edinburgh, ed_pic):
    m = webmap.interactive_map(edinburgh, tiles="none", pic=ed_pic)
    out = webmap.save_html(m, tmp_path / "map.html")
    size = out.stat().st_size
    assert size > 100_000
    with pytest.raises(OutputError, match="exists already") as e:
        webmap.save_html(m, out)
    assert e.value.exit_code == 9
    webmap.save_html(m, out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]  # no temporary left


# -- the PNG ---------------------------------------------------------------------------------
def png_stats(data: bytes):
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    a = np.asarray(img)
    colours = len(np.unique(a.reshape(-1, 3), axis=0))
    not_white = float((a.min(axis=2) < 245).mean())
    return img.size, colours, not_white


def test_png_is_a_picture(tmp_path, edinburgh, ed_pic):
    out = static.save_png(edinburgh, tmp_path / "map.png", pic=ed_pic)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 30_000 < len(data) < 3_000_000
    (w, h), colours, ink = png_stats(data)
    assert 1000 <= w <= 2500 and 500 <= h <= 2000
    assert colours > 200, "a near-blank image"
    assert 0.15 < ink < 0.95, f"{ink:.0%} of the pixels are not white"
    # the density colours (drawn at 75% opacity on white) are in it
    from PIL import Image

    px = np.unique(
        np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).reshape(-1, 3), axis=0
    ).astype(float)
    for c in style.DENSITY_COLOURS:
        rgb = np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) * 0.75 + 255 * 0.25
        assert np.abs(px - rgb).max(axis=1).min() <= 3, f"density colour {c} missing"
    with pytest.raises(OutputError):
        static.save_png(edinburgh, out, pic=ed_pic)


# -- London (real census files) ----------------------------------------------------------------
@pytest.mark.shared_data
def test_london_half_mile_map(london_result):
    london = london_result
    pic = picture.picture(london)
    for f in pic.footprints:
        pe = f.rows[0]["people"]
        assert f.waste_people == pytest.approx(pe["total"] - pe["in_catchment"], rel=5e-3)
    special = [f for f in pic.footprints if any(r["id"] == "meta_special" for r in f.rows)]
    assert special and special[0].no_data.area > 1e8, "15-mile circle beyond London: no data"
    html = webmap.render_html(webmap.interactive_map(london, tiles="none", pic=pic))
    assert_offline(html)
    size = len(html.encode("utf-8"))
    # measured 0.52 MB (Leaflet 0.17 MB of it); keep it light
    assert size < 900_000, f"London half-mile map is {size:,} bytes"
    for r in drawn_rows(london):
        assert f"data-platform='{r['id']}'" in html.replace("\\u0027", "'")
