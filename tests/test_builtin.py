"""The built-in Scotland layer (Scotland's Census 2022) and the README's Edinburgh example."""

import pytest

import geotarget
from geotarget.errors import NoCoverageError


def test_edinburgh_main_example():
    r = geotarget.analyse("EH1 1YZ", radius="0.5mi")
    # OA 2022 counts: 12,500 residents at the OA centroids inside the circle; spread over the
    # OAs' residential postcodes (the built-in placement, benchmarks/scotland_placement.py)
    # 11,919 -- see tests/test_scotland2022.py for the independent sum
    assert r.residents.estimate == pytest.approx(12_500, rel=0.06)
    assert r.residents.unit == "Output Area 2022" and 85 <= r.residents.zones <= 100
    assert r.layer["name"] == "scotland-census2022" and "chosen" in r.layer
    assert "2022" in r.layer["vintage"]
    assert r.workers is None and "workplace" in r.workers_unavailable
    assert r.coverage_fraction == pytest.approx(1.0)
    # adults beside the total
    a16, a18 = r.residents.extra["aged_16plus"], r.residents.extra["aged_18plus"]
    assert 0.8 * r.residents.estimate < a18 <= a16 <= r.residents.estimate
    assert "Residents 16+" in r.to_text()


def test_builtin_layer_total(scotland):
    assert scotland.residents.total == 5_440_284
    assert len(set(scotland.residents.group.tolist())) == 46_363
    assert scotland.workers is None and "UV101b" in scotland.workers_unavailable


def test_builtin_files_are_small():
    from importlib import resources

    total = sum(
        f.stat().st_size
        for f in __import__("pathlib").Path(str(resources.files("geotarget.data"))).iterdir()
        if f.suffix in (".parquet", ".json")
    )
    assert total < 30e6


def test_venue_outside_builtin_data_says_how_to_supply():
    # London is built in since issue 12: Paris is outside every built-in layer
    with pytest.raises(NoCoverageError, match="--data-dir"):
        geotarget.analyse("48.8566,2.3522", radius="0.5mi")


def test_swapped_coordinates_are_detected():
    with pytest.raises(NoCoverageError, match="swapped"):
        geotarget.analyse("-3.19,55.95", radius="0.5mi")
