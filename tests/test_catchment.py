import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from geotarget.catchment import circle, from_file
from geotarget.errors import CatchmentError
from geotarget.venue import Venue

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize(
    "lat,lon", [(51.5202, -0.0937), (0.0, 30.0), (70.0, 25.0), (-33.9, 151.2), (55.95, -3.19)]
)
def test_half_mile_is_804_672_m_anywhere(lat, lon):
    c = circle(Venue(lat, lon), "0.5mi")
    assert c.radius_m == pytest.approx(804.672)
    ring = np.asarray(c.wgs84.exterior.coords)
    _, _, dist = GEOD.inv(np.full(len(ring), lon), np.full(len(ring), lat), ring[:, 0], ring[:, 1])
    # vertices at r, scaled by <0.01% so the 256-gon's area is exactly pi r^2
    assert dist.min() == pytest.approx(804.672, rel=2e-4)
    assert dist.max() == pytest.approx(804.672, rel=2e-4)
    assert c.area_m2 == pytest.approx(math.pi * 804.672**2, rel=1e-4)


def _square_bng(path, crs, driver):
    sq = shapely.box(532000, 181000, 533000, 182000)  # 1 km2 in the City of London
    gdf = gpd.GeoDataFrame(geometry=[sq], crs=27700).to_crs(crs)
    gdf.to_file(path, driver=driver)


def test_custom_polygon_any_crs(tmp_path):
    a, b = tmp_path / "a.geojson", tmp_path / "b.gpkg"
    _square_bng(a, 4326, "GeoJSON")
    _square_bng(b, 27700, "GPKG")
    ca, cb = from_file(a), from_file(b)
    assert ca.kind == "polygon"
    assert ca.area_m2 == pytest.approx(cb.area_m2, rel=1e-4)
    assert cb.area_m2 == pytest.approx(1e6, rel=2e-3)  # BNG scale factor near London ~0.9998


def test_invalid_polygon_refused(tmp_path):
    bowtie = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                },
            }
        ],
    }
    p = tmp_path / "bow.geojson"
    p.write_text(json.dumps(bowtie))
    with pytest.raises(CatchmentError, match="not a valid polygon.*Self-intersection"):
        from_file(p)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(CatchmentError, match="does not exist"):
        from_file(tmp_path / "nope.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("this is not json")
    with pytest.raises(CatchmentError, match="cannot read"):
        from_file(bad)
    pts = tmp_path / "pts.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326).to_file(pts)
    with pytest.raises(CatchmentError, match="polygons only"):
        from_file(pts)


def test_polygon_without_crs_refused(tmp_path):
    p = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]).to_file(p)
    with pytest.raises(CatchmentError, match="no CRS"):
        from_file(p)


# -- wide circles: caps up to half the Earth's circumference ------------------------------
@pytest.mark.parametrize(
    "lat, lon, r",
    [
        (55.95, -3.19, 5e6),  # holds the North Pole
        (55.95, -3.19, 1.5e7),  # most of the Earth
        (55.95, -3.19, 2e7),  # all but a few km round the antipode (in the Pacific)
        (-40.0, 175.0, 3e6),  # across the antimeridian
        (0.0, 179.9, 2e6),
        (89.0, 0.0, 1.2e6),
        (-89.5, 10.0, 9e6),
        (10.0, -179.0, 1.9e7),
    ],
)
def test_wide_circle_holds_exactly_the_points_within_its_radius(lat, lon, r):
    """A cap built in longitude/latitude holds a point exactly when the point's geodesic
    distance from the centre is below the radius (4,000 random points over the sphere)."""
    c = circle(Venue(lat, lon), r, max_radius=None)
    assert c.is_wide and c.wgs84.is_valid
    rng = np.random.default_rng(1)
    plon = rng.uniform(-180, 180, 4000)
    plat = np.degrees(np.arcsin(rng.uniform(-1, 1, 4000)))
    d = Geod(ellps="WGS84").inv(np.full(4000, lon), np.full(4000, lat), plon, plat)[2]
    near_edge = np.abs(d - r) < 40_000  # the edge's straight lon/lat segments
    inside = shapely.contains_xy(c.wgs84, plon, plat)
    assert (inside == (d < r))[~near_edge].all()


def test_wide_circle_area_is_the_cap_on_the_ellipsoid():
    from geotarget.catchment import EARTH_AREA_M2

    areas = [
        circle(Venue(55.95, -3.19), r, max_radius=None).area_m2
        for r in (1.1e6, 5e6, 1e7, 1.5e7, 2e7, 2.0003e7)
    ]
    assert np.all(np.diff(areas) > 0), "monotonic in the radius"
    R = math.sqrt(EARTH_AREA_M2 / (4 * math.pi))
    for r, a in zip((1.1e6, 5e6, 1e7, 1.5e7), areas):
        sphere = 2 * math.pi * R * R * (1 - math.cos(r / R))
        assert a == pytest.approx(sphere, rel=2e-3)  # the ellipsoid differs from the sphere
    assert EARTH_AREA_M2 - areas[-1] < 50e6, "20,003 km leaves under 50 km² round the antipode"
    # a 1,100 km circle: the cap and the 256-gon of the narrow construction agree
    narrow = math.pi * 1.1e6**2
    assert areas[0] == pytest.approx(narrow, rel=1e-2)


def test_wide_circle_seen_by_a_projected_crs_is_its_part_in_the_area_of_use():
    c = circle(Venue(55.95, -3.19), 2e7, max_radius=None)
    gb = c.to_crs("EPSG:27700")  # British National Grid: the UK only
    assert gb.is_valid and not gb.is_empty
    x0, y0, x1, y1 = gb.bounds
    assert -200_000 < x0 and x1 < 1_000_000 and -200_000 < y0 and y1 < 1_500_000
    # the whole of the UK's area of use is within 20,000 km of Edinburgh: nothing is cut off
    uk = shapely.box(-9.01, 49.75, 2.01, 61.01)
    assert c.part_in("EPSG:4326", (-9.01, 49.75, 2.01, 61.01)).equals(uk)


def test_half_the_earth_round_edinburgh_counts_all_of_its_layer():
    """15,000 and 20,000 km round Edinburgh hold every point of the built-in Great Britain
    layer: the count is Scotland's and England & Wales's totals, and the coverage share is
    Britain's tiny part of the cap."""
    import geotarget
    from geotarget.layers import choose_layer

    total = sum(
        float(choose_layer(*ll).residents.values.sum()) for ll in ((55.95, -3.19), (51.5, -0.1))
    )
    for r in ("15000km", "20000km"):
        res = geotarget.analyse((55.95, -3.19), r, max_radius="20003km")
        assert res.residents.estimate == pytest.approx(total, rel=1e-9), r
        assert 0 < res.coverage_fraction < 0.001, r


def test_wide_circle_points_are_those_within_the_geodesic_distance():
    """The point test of a 1,100 km circle from northern Spain, whose edge runs across England:
    exactly the points within that geodesic distance (the straight-line ECEF test alone would
    also take a band about 2 km wide beyond the edge)."""
    from geotarget import estimate as est
    from geotarget.layers import choose_layer
    from geotarget.projections import transformer

    lay = choose_layer(51.5, -0.1)
    surf = lay.residents if lay.residents.kind == "points" else None
    if surf is None:
        pytest.skip(f"{lay.name}: residents are not points")
    lat, lon, r = 42.0, -8.0, 1_100_000.0
    circles = est.Circles([lat], [lon], [r], lay.crs)
    _, pts = circles.pairs(surf)
    xy = surf.xy
    plon, plat = transformer(lay.crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
    d = Geod(ellps="WGS84").inv(np.full(len(xy), lon), np.full(len(xy), lat), plon, plat)[2]
    assert 1_000 < (d <= r).sum() < len(xy) - 1_000, "the edge crosses the layer"
    assert np.array_equal(np.sort(pts), np.flatnonzero(d <= r))
    # and counting (which takes the aggregate index for big circles) agrees
    poly = circle(Venue(lat, lon), r, max_radius=None).part_in(lay.crs, lay.wgs84_bounds)
    got = est.count(surf, [poly], circles=circles).estimate[0]
    assert got == pytest.approx(float(surf.values[d <= r].sum()), rel=1e-9)
