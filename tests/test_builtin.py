"""The built-in Scotland layer and the README's main example."""

import pytest

import geotarget
from geotarget.errors import NoCoverageError


def test_edinburgh_main_example():
    r = geotarget.analyse("EH1 1YZ", radius="0.5mi")
    # independent answer: ~10,630 residents over 25 Data Zones by areal weighting
    assert r.residents.estimate == pytest.approx(10_630, rel=0.02)
    assert 23 <= r.residents.zones <= 26
    assert r.layer["name"] == "scotland-dz2011" and "chosen" in r.layer
    assert r.workers is None and "No workplace counts" in r.workers_unavailable
    assert r.coverage_fraction == pytest.approx(1.0)


def test_builtin_layer_total(scotland):
    assert scotland.residents.total == 5_295_403
    assert len(scotland.residents.ids) == 6_976
    assert scotland.workers is None


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
