import math

import pytest

from geotarget.errors import CatchmentError
from geotarget.units import parse_distance


@pytest.mark.parametrize(
    "text,metres",
    [
        ("0.5mi", 804.672),
        ("800m", 800.0),
        ("1km", 1000.0),
        ("2640ft", 804.672),
        ("0.5 mi", 804.672),
        ("1 KM", 1000.0),
        ("880yd", 804.672),
        ("2 miles", 3218.688),
        (".5mi", 804.672),
        (250, 250.0),
        (12.5, 12.5),
    ],
)
def test_parses_units(text, metres):
    assert parse_distance(text) == pytest.approx(metres, abs=1e-9)


@pytest.mark.parametrize(
    "bad,fragment",
    [
        ("-1mi", "greater than zero"),
        ("0km", "greater than zero"),
        (0, "greater than zero"),
        ("abc", "not a distance"),
        ("5parsecs", "unknown unit"),
        ("5", "no unit"),
        ("nanmi", "not a distance"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        ("101km", "beyond the maximum"),
        (True, "not a distance"),
    ],
)
def test_rejects_bad_radius_repeating_value(bad, fragment):
    with pytest.raises(CatchmentError, match=fragment) as e:
        parse_distance(bad)
    assert repr(bad) in str(e.value) or str(bad) in str(e.value)
    assert isinstance(e.value, ValueError)


def test_maximum_is_configurable():
    assert parse_distance("150km", max_m=200_000) == 150_000
    assert parse_distance("150km", max_m=None) == 150_000
    with pytest.raises(CatchmentError):
        parse_distance("150km")
    assert math.isclose(parse_distance("100km"), 100_000)
