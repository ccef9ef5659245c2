"""US blocks (points), the Eurostat grid, population rasters and users' own files."""

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SHARED, need

import geotarget
from geotarget.errors import DataError
from geotarget.layers import load_layer
from geotarget.projections import transformer

NOTRE_DAME = (48.8530, 2.3499)


@pytest.fixture(scope="module")
def memphis_dir():
    return need(SHARED / "memphis-census2020")


@pytest.fixture(scope="module")
def grid_dir():
    return need(SHARED / "eurostat-grid2021")


# -- US census blocks as points -------------------------------------------------------------
@pytest.mark.shared_data
def test_memphis_blocks_total_and_points(memphis_dir, tmp_path):
    import geopandas as gpd

    lay = load_layer(memphis_dir)
    assert lay.residents.kind == "points" and lay.residents.total == 634_612
    assert lay.workers is None and "workplace" in lay.workers_unavailable
    box = tmp_path / "box.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(-90.4, 34.9, -89.5, 35.4)], crs=4326).to_file(box)
    r = geotarget.analyse(catchment=box, layer=lay)
    assert r.residents.estimate == 634_612
    assert r.residents.low == r.residents.high == 634_612  # no block near the edge


@pytest.mark.shared_data
def test_memphis_radius_known_answer_and_monotonic(memphis_dir):
    lay = load_layer(memphis_dir)
    df = pd.read_csv(memphis_dir / "memphis_blocks2020_population.csv")
    lat, lon = 35.1495, -90.0490  # downtown Memphis
    # independent: blocks whose internal point is within 1 mile (geodesic)
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(
        np.full(len(df), lon), np.full(len(df), lat), df["centroid_lon"], df["centroid_lat"]
    )
    expected = df.loc[d <= 1609.344, "population_P1_001N"].sum()
    r = geotarget.analyse((lat, lon), "1mi", layer=lay)
    assert r.residents.estimate == pytest.approx(expected, rel=0.002)
    assert r.residents.low <= r.residents.estimate <= r.residents.high
    assert r.residents.low < r.residents.high  # blocks near the edge make a real range
    prev = -1
    for radius in ("200m", "0.5mi", "1mi", "2km", "5km"):
        e = geotarget.analyse((lat, lon), radius, layer=lay).residents.estimate
        assert e >= prev
        prev = e


@pytest.mark.shared_data
def test_memphis_outside_is_unknown_not_zero(memphis_dir):
    r = geotarget.analyse((36.1627, -86.7816), "1mi", data_dir=memphis_dir)  # Nashville
    assert r.coverage_fraction == 0 and r.residents is None


# -- Eurostat 1 km grid ----------------------------------------------------------------------
@pytest.mark.shared_data
def test_notre_dame_cell_centres_and_fractional(grid_dir):
    lay = load_layer(grid_dir)
    df = pd.read_parquet(grid_dir / "tile_1000_14_11_paris.parquet")
    cx = (14 * 256 + df["x"]) * 1000 + 500
    cy = (11 * 256 + df["y"]) * 1000 + 500
    x0, y0 = transformer("EPSG:4326", "EPSG:3035").transform(NOTRE_DAME[1], NOTRE_DAME[0])
    centres = df.loc[np.hypot(cx - x0, cy - y0) <= 5000, "T"].sum()
    assert centres == pytest.approx(1_920_000, rel=0.01)  # "about 1.92 million"
    r = geotarget.analyse(NOTRE_DAME, "5km", layer=lay)
    assert r.residents.method == "areal"
    assert abs(r.residents.estimate - centres) / centres < 0.01  # fractional: well under 1%
    assert r.residents.estimate != centres
    assert r.coverage_fraction == pytest.approx(1.0)


@pytest.mark.shared_data
def test_grid_total_and_berlin(grid_dir):
    lay = load_layer(grid_dir)
    total = sum(pd.read_parquet(p)["T"].sum() for p in grid_dir.glob("tile_*.parquet"))
    assert lay.residents.total == total
    r = geotarget.analyse((52.5200, 13.4050), "2km", layer=lay)  # Berlin Mitte
    assert 20_000 < r.residents.estimate < 200_000
    assert r.residents.low <= r.residents.estimate <= r.residents.high


@pytest.mark.shared_data
def test_geotiff_goes_through_the_grid_path(grid_dir, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    df = pd.read_parquet(grid_dir / "tile_1000_14_11_paris.parquet")
    x0, y0 = transformer("EPSG:4326", "EPSG:3035").transform(NOTRE_DAME[1], NOTRE_DAME[0])
    ix0, iy0 = int(x0 // 1000) - 14 * 256 - 10, int(y0 // 1000) - 11 * 256 - 10
    arr = np.zeros((20, 20), dtype="float32")
    sub = df[(df.x >= ix0) & (df.x < ix0 + 20) & (df.y >= iy0) & (df.y < iy0 + 20)]
    arr[19 - (sub.y - iy0), sub.x - ix0] = sub["T"]
    tif = tmp_path / "paris.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        height=20,
        width=20,
        count=1,
        dtype="float32",
        crs="EPSG:3035",
        nodata=-1,
        transform=Affine(1000, 0, (14 * 256 + ix0) * 1000, 0, -1000, (11 * 256 + iy0 + 20) * 1000),
    ) as dst:
        dst.write(arr, 1)
    a = geotarget.analyse(NOTRE_DAME, "3km", layer=str(tif))
    b = geotarget.analyse(NOTRE_DAME, "3km", layer=load_layer(grid_dir))
    assert a.residents.estimate == pytest.approx(b.residents.estimate, rel=0.005)


def test_raster_without_crs_refused(tmp_path):
    rasterio = pytest.importorskip("rasterio")

    tif = tmp_path / "nocrs.tif"
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning):
        with rasterio.open(
            tif, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32"
        ) as dst:
            dst.write(np.ones((2, 2), dtype="float32"), 1)
    with pytest.raises(DataError, match="no CRS"):
        load_layer(tif)


# -- users' own files ------------------------------------------------------------------------
def _squares(tmp_path, name="zones.gpkg", values=(100, 200, 300, 400), crs=27700, **cols):
    import geopandas as gpd

    geoms = [shapely.box(530000 + i * 1000, 180000, 531000 + i * 1000, 181000) for i in range(4)]
    gdf = gpd.GeoDataFrame({"pop": list(values), **cols}, geometry=geoms, crs=crs)
    p = tmp_path / name
    gdf.to_file(p)
    return p


def test_user_zones_areal(tmp_path):
    p = _squares(tmp_path)
    lon, lat = transformer("EPSG:27700", "EPSG:4326").transform(531000, 180500)
    # a circle centred on the edge between squares 0 and 1, inside both
    r = geotarget.analyse((lat, lon), "300m", layer=str(p), residents_col="pop")
    area_share = np.pi * 300**2 / 2 / 1e6
    assert r.residents.estimate == pytest.approx(area_share * (100 + 200), rel=2e-3)
    assert r.workers is None and "--workers-col" in r.workers_unavailable
    whole = tmp_path / "whole.geojson"
    import geopandas as gpd

    gpd.GeoDataFrame(geometry=[shapely.box(529000, 179000, 535000, 182000)], crs=27700).to_file(
        whole
    )
    assert geotarget.analyse(
        catchment=whole, layer=str(p), residents_col="pop"
    ).residents.estimate == pytest.approx(1000)


def test_user_csv_points(tmp_path):
    p = tmp_path / "shops.csv"
    p.write_text(
        "name,latitude,longitude,staff\na,51.5,-0.1,10\nb,51.5001,-0.1001,5\nc,51.6,-0.2,7\n"
    )
    r = geotarget.analyse((51.5, -0.1), "100m", layer=str(p), workers_col="staff")
    assert r.workers.estimate == 15 and r.residents is None


@pytest.mark.parametrize(
    "setup,fragment",
    [
        (lambda t: _squares(t, values=(1, 2, -3, 4)), "negative"),
        (lambda t: _squares(t, values=("1", "x", "3", "4")), "not numeric"),
        (lambda t: _squares(t, name="z.geojson", values=(1, None, 3, 4)), "empty values"),
    ],
)
def test_user_file_bad_counts(tmp_path, setup, fragment):
    p = setup(tmp_path)
    with pytest.raises(DataError, match=fragment):
        load_layer(p, residents_col="pop")


def test_user_file_structural_errors(tmp_path):
    import geopandas as gpd

    p = _squares(tmp_path)
    with pytest.raises(DataError, match="no column 'people'.*pop"):
        load_layer(p, residents_col="people")
    with pytest.raises(DataError, match="--residents-col"):
        load_layer(p)
    nocrs = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"pop": [1]}, geometry=[shapely.box(0, 0, 1, 1)]).to_file(nocrs)
    with pytest.raises(DataError, match="no CRS"):
        load_layer(nocrs, residents_col="pop")
    bow = tmp_path / "bow.gpkg"
    gpd.GeoDataFrame(
        {"pop": [1]}, geometry=[shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])], crs=27700
    ).to_file(bow)
    with pytest.raises(DataError, match="not a valid polygon"):
        load_layer(bow, residents_col="pop")
    csv = tmp_path / "nocoords.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="no coordinate columns"):
        load_layer(csv, residents_col="a")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,lat,lon,pop\nM\xfcnchen,48.1,11.5,5\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        load_layer(latin, residents_col="pop")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError):
        load_layer(empty, residents_col="pop")


def test_user_file_duplicates_reported(tmp_path):
    import geopandas as gpd

    g = shapely.box(530000, 180000, 531000, 181000)
    p = tmp_path / "dup.gpkg"
    gpd.GeoDataFrame({"pop": [1, 1]}, geometry=[g, g], crs=27700).to_file(p)
    lay = load_layer(p, residents_col="pop")
    assert any("repeat" in c for c in lay.caveats)


def test_unrecognised_folder(tmp_path):
    with pytest.raises(DataError, match="not a recognised data folder"):
        load_layer(tmp_path)
