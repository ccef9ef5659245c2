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
