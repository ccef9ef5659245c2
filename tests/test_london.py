"""Known answers on the real England & Wales 2021 files (../shared/data/london-census2021).

The expected values were computed independently from the shared files: exact areal weighting of
TS001 LSOA totals and ODWP01 MSOA ``destination - nomove`` over a 804.672 m circle.
"""

import numpy as np
import pytest
import shapely

import geotarget
from geotarget.projections import transformer

pytestmark = pytest.mark.shared_data

KNOWN = {
    # name: (lat, lon, residents, lsoas, workers travelling in, home-workers)
    "Barbican": (51.5202, -0.0937, 16_430, 15, 44_010, 5_610),
    "Brixton": (51.4613, -0.1156, 30_020, None, 5_430, 11_130),
    "Canary Wharf": (51.5054, -0.0235, 20_390, None, 22_980, 7_400),
}


@pytest.mark.parametrize("name", KNOWN)
def test_known_answers_areal(name, london_dir):
    lat, lon, res, zones, wrk, home = KNOWN[name]
    r = geotarget.analyse((lat, lon), "0.5mi", data_dir=london_dir, method="areal")
    assert r.residents.estimate == pytest.approx(res, rel=0.01)
    assert r.workers.estimate == pytest.approx(wrk, rel=0.01)
    assert r.workers.extra["home_workers"] == pytest.approx(home, rel=0.01)
    if zones:
        assert r.residents.zones == zones
    assert r.residents.low < r.residents.estimate < r.residents.high
    assert r.coverage_fraction == pytest.approx(1.0)
    assert any("lockdown" in c for c in r.layer["caveats"])


def test_layer_totals(london):
    res, wrk = london.surface("residents", "areal"), london.surface("workers", "areal")
    assert res.total == 8_799_776
    assert len(res.ids) == 4_994 and len(wrk.ids) == 1_002
    dest = wrk.total + wrk.extra["home_workers"].sum()
    assert dest == 4_511_423  # ODWP01 destination over London's MSOAs
    # dasymetric surfaces conserve their census totals: TS001 OA rows sum to 8,799,770 in London
    # (OA and LSOA totals are perturbed separately by ONS disclosure control)
    assert london.residents.method == "dasymetric"
    assert london.residents.total == pytest.approx(8_799_770, abs=0.01)
    assert london.workers.total == pytest.approx(wrk.total, abs=0.01)
    # home-workers work where they live: placed on the resident points (dasymetric)
    assert london.residents.extra["home_workers"].sum() == pytest.approx(2_436_674, abs=0.01)


def test_whole_layer_catchment_returns_total(london, tmp_path):
    import geopandas as gpd

    p = tmp_path / "all-london.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(-0.6, 51.2, 0.4, 51.75)], crs=4326).to_file(p)
    r = geotarget.analyse(catchment=p, layer=london)
    assert r.residents.estimate == pytest.approx(8_799_776, rel=0.001)
    assert r.residents.low == pytest.approx(r.residents.estimate)  # every zone wholly inside
    assert r.coverage_fraction < 1  # the box reaches beyond London: warned
    assert r.warnings


def test_estimate_never_decreases_with_radius(london):
    prev = -1.0
    for radius in ["100m", "300m", "0.25mi", "0.5mi", "1km", "1mi", "2km", "5km"]:
        r = geotarget.analyse((51.4613, -0.1156), radius, layer=london)
        assert r.residents.estimate >= prev
        prev = r.residents.estimate


def test_same_polygon_in_other_crs_same_answer(london, tmp_path):
    import geopandas as gpd

    poly = shapely.Point(532500, 181800).buffer(700)  # BNG, around the Barbican
    a, b = tmp_path / "bng.gpkg", tmp_path / "wgs.geojson"
    gpd.GeoDataFrame(geometry=[poly], crs=27700).to_file(a)
    gpd.GeoDataFrame(geometry=[poly], crs=27700).to_crs(4326).to_file(b)
    ra = geotarget.analyse(catchment=a, layer=london)
    rb = geotarget.analyse(catchment=b, layer=london)
    assert ra.residents.estimate == pytest.approx(rb.residents.estimate, rel=1e-3)
    assert ra.workers.estimate == pytest.approx(rb.workers.estimate, rel=1e-3)


def test_thames_and_docks_are_covered(london):
    t = transformer("EPSG:4326", london.crs)
    for lat, lon in [
        (51.5079, -0.0877),  # mid-river at London Bridge
        (51.4937, -0.0641),
        (51.5120, 0.1000),
        (51.5000, 0.1665),
    ]:
        assert london.covers_point(*t.transform(lon, lat)), (lat, lon)
    r = geotarget.analyse((51.5054, -0.0235), "0.5mi", layer=london)  # crosses the Thames
    assert r.coverage_fraction == pytest.approx(1.0)
    assert not r.warnings


def test_half_outside_warns_with_right_fraction(london, london_dir):
    import geopandas as gpd

    # venue on the Greater London boundary (Enfield / Hertfordshire): compare with the share of
    # the circle inside the union of the London borough polygons, computed independently
    lads = gpd.read_file(london_dir / "boundaries" / "london-2021-lad22-gen20.shp").to_crs(27700)
    london_area = shapely.union_all(lads.geometry.values)
    lon, lat = transformer("EPSG:27700", "EPSG:4326").transform(533000, 200550)
    x, y = transformer("EPSG:4326", "EPSG:27700").transform(lon, lat)
    expected = shapely.Point(x, y).buffer(2000, quad_segs=64).intersection(london_area).area / (
        np.pi * 2000**2
    )
    assert 0.2 < expected < 0.8
    r = geotarget.analyse((lat, lon), "2km", layer=london)
    assert r.coverage_fraction == pytest.approx(expected, abs=0.03)
    assert any("lower bound" in w for w in r.warnings)


def test_north_sea_is_zero_coverage_not_zero_people(london):
    r = geotarget.analyse((54.5, 3.0), "0.5mi", layer=london)
    assert r.coverage_fraction == 0.0
    assert r.residents is None and r.workers is None
    assert "not zero people" in r.residents_unavailable
    d = r.to_dict()
    assert d["residents"] is None and "residents_unavailable" in d


@pytest.mark.parametrize("name", KNOWN)
def test_dasymetric_default_is_close_to_areal_and_narrower(name, london_dir):
    lat, lon = KNOWN[name][:2]
    d = geotarget.analyse((lat, lon), "0.5mi", data_dir=london_dir)
    a = geotarget.analyse((lat, lon), "0.5mi", data_dir=london_dir, method="areal")
    assert d.residents.method == "dasymetric"
    assert d.residents.low <= d.residents.estimate <= d.residents.high
    assert (d.residents.high - d.residents.low) < (a.residents.high - a.residents.low)
    # the two methods place people differently but agree to within the areal range
    assert a.residents.low <= d.residents.estimate <= a.residents.high
    assert a.workers.low <= d.workers.estimate <= a.workers.high


def test_counts_lsoa_holdout_conserves_lsoa_totals(london_dir):
    from geotarget.layers import load_layer

    lay = load_layer(london_dir, counts="lsoa")
    assert lay.residents.total == pytest.approx(8_799_776, abs=0.01)
    r = geotarget.analyse((51.4613, -0.1156), "0.5mi", layer=lay)
    assert r.residents.estimate == pytest.approx(30_020, rel=0.15)


def test_unknown_method_for_layer(london, scotland):
    from geotarget.errors import InputError

    with pytest.raises(InputError, match="not available.*choose one of dasymetric"):
        geotarget.analyse("EH1 1YZ", "0.5mi", layer=scotland, method="areal")
    with pytest.raises(InputError, match="unknown"):
        geotarget.analyse((51.5, -0.1), "0.5mi", layer=london, method="magic")


def test_cached_layer_is_identical_and_corruption_is_rebuilt(london_dir, tmp_path, monkeypatch):
    import numpy as np

    from geotarget.layers import cache
    from geotarget.layers import ew_census2021 as ew

    monkeypatch.setenv("GEOTARGET_CACHE_DIR", str(tmp_path))
    built = ew.load(london_dir)  # builds and writes the cache
    (folder,) = (tmp_path / "layers").iterdir()
    again = cache.read(folder)
    assert again is not None
    for pop in ("residents", "workers"):
        for m, s in built.methods(pop).items():
            t = again.methods(pop)[m]
            assert np.array_equal(s.values, t.values) and s.unit == t.unit
    # truncate one file: detected by checksum, never read, rebuilt
    victim = folder / "surface0.parquet"
    victim.write_bytes(victim.read_bytes()[:100])
    assert cache.read(folder) is None
    rebuilt = ew.load(london_dir)
    assert rebuilt.residents.total == pytest.approx(built.residents.total)
    assert cache.read(folder) is not None
