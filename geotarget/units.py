"""Distances with units: ``"0.5mi"``, ``"800m"``, ``"1km"``, ``"2640ft"``."""

from __future__ import annotations

import math
import re

from .errors import CatchmentError
from .settings import MAX_RADIUS_M

#: half the WGS84 meridian's length (20,003.93 km): the farthest two points on the Earth can
#: be apart along its surface from anywhere, so the largest meaningful circle radius
HALF_CIRCUMFERENCE_M = 20_003_931.5

#: metres per unit (international mile, foot and yard)
UNITS = {
    "m": 1.0,
    "km": 1000.0,
    "mi": 1609.344,
    "ft": 0.3048,
    "yd": 0.9144,
}
_ALIASES = {
    "metre": "m",
    "metres": "m",
    "meter": "m",
    "meters": "m",
    "kilometre": "km",
    "kilometres": "km",
    "kilometer": "km",
    "kilometers": "km",
    "mile": "mi",
    "miles": "mi",
    "foot": "ft",
    "feet": "ft",
    "yard": "yd",
    "yards": "yd",
}
_PATTERN = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")


def parse_distance(
    value: str | float | int, *, what: str = "radius", max_m: float | None = MAX_RADIUS_M
) -> float:
    """Return a distance in metres from a string with a unit (``"0.5mi"``) or a number of metres.

    Parameters
    ----------
    value : str, float or int
        A number with a unit (``"0.5mi"``, ``"800 m"``, ``"1 km"``, ``"2640ft"``; the units of
        :data:`UNITS` and their names, any case) or a plain number of metres.
    what : str, default "radius"
        What the distance is, for the error messages.
    max_m : float or None, default 100 km
        The largest distance accepted, in metres; ``None`` for no limit.

    Returns
    -------
    float
        The distance in metres.

    Raises
    ------
    CatchmentError
        A non-numeric value (or a bool), a missing or unknown unit, a value <= 0, NaN or
        infinity, a value beyond half the Earth's circumference
        (:data:`HALF_CIRCUMFERENCE_M`), or a value beyond ``max_m``.
    """
    accepted = "a positive number with a unit: m, km, mi, ft or yd (e.g. 0.5mi, 800m, 1km, 2640ft)"
    if isinstance(value, bool):
        raise CatchmentError(f"{what} {value!r} is not a distance: give {accepted}")
    if isinstance(value, (int, float)):
        metres = float(value)
        shown = f"{value!r} m"
    else:
        m = _PATTERN.match(str(value))
        if not m:
            raise CatchmentError(f"{what} {value!r} is not a distance: give {accepted}")
        number, unit = m.groups()
        unit = unit.lower()
        unit = _ALIASES.get(unit, unit)
        if unit == "":
            raise CatchmentError(f"{what} {value!r} has no unit: give {accepted}")
        if unit not in UNITS:
            raise CatchmentError(f"{what} {value!r} has an unknown unit {unit!r}: give {accepted}")
        metres = float(number) * UNITS[unit]
        shown = repr(value)
    if not math.isfinite(metres):
        raise CatchmentError(f"{what} {shown} is not a finite number: give {accepted}")
    if metres <= 0:
        raise CatchmentError(f"{what} {shown} must be greater than zero: give {accepted}")
    if metres > HALF_CIRCUMFERENCE_M:
        raise CatchmentError(
            f"{what} {shown} ({metres / 1000:,.0f} km) is more than half the Earth's "
            f"circumference ({HALF_CIRCUMFERENCE_M / 1000:,.0f} km, the farthest two places "
            "can be apart along the surface): no circle is larger; give at most "
            f"{HALF_CIRCUMFERENCE_M // 1000:,.0f}km"
        )
    if max_m is not None and metres > max_m:
        raise CatchmentError(
            f"{what} {shown} ({metres:,.0f} m) is beyond the maximum of {max_m:,.0f} m: "
            "give a smaller radius or raise the maximum (--max-radius)"
        )
    return metres


def format_distance(metres: float) -> str:
    """Human form of a distance in metres, e.g. ``804.672 m (0.5 mi)``.

    Parameters
    ----------
    metres : float
        The distance.

    Returns
    -------
    str
        Metres to six significant figures (kilometres to three from 1 km up), then miles to
        three in brackets.
    """
    miles = metres / UNITS["mi"]
    if metres >= 1000:
        return f"{_three_figures(metres / 1000)} km ({_three_figures(miles)} mi)"
    return f"{metres:,.6g} m ({_three_figures(miles)} mi)"


def _three_figures(x: float) -> str:
    """``x`` to three significant figures, in plain digits with thousands separators (15,000
    rather than 1.5e+04)."""
    if x == 0 or not math.isfinite(x) or abs(x) < 1000:
        return f"{x:,.3g}"
    digits = int(math.floor(math.log10(abs(x)))) + 1
    return f"{round(x, 3 - digits):,.0f}"
