"""A venue: a validated WGS84 position, with how it was found."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import VenueError


@dataclass(frozen=True)
class Venue:
    """A validated venue position (WGS84) and how it was found.

    Parameters
    ----------
    lat, lon : float
        The position, WGS84 degrees.
    label : str
        How to name the venue (the postcode, the geocoder's address, the coordinates).
    source : str, default "coordinates"
        How it was found: ``"coordinates"``, ``"postcode"`` or ``"address"``.
    details : dict
        More about how it was found, added to :meth:`to_dict`.

    Raises
    ------
    VenueError
        ``lat`` or ``lon`` is not a finite number in range.
    """

    lat: float
    lon: float
    label: str = ""
    source: str = "coordinates"
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        check_latlon(self.lat, self.lon)

    def to_dict(self) -> dict[str, Any]:
        """The venue for the JSON result.

        Returns
        -------
        dict
            ``lat`` and ``lon`` (7 decimals), ``label``, ``source`` and the ``details``.
        """
        d: dict[str, Any] = {
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "label": self.label,
            "source": self.source,
        }
        d.update(self.details)
        return d


def check_latlon(lat: object, lon: object) -> tuple[float, float]:
    """Validate a WGS84 latitude/longitude pair; return them as floats.

    Parameters
    ----------
    lat, lon : object
        Anything ``float()`` takes: numbers or numeric text.

    Returns
    -------
    tuple of float
        ``(lat, lon)``.

    Raises
    ------
    VenueError
        Either is not a number, not finite, or out of range (latitude -90..90, longitude
        -180..180).
    """
    try:
        flat, flon = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise VenueError(
            f"coordinates ({lat!r}, {lon!r}) are not numbers: give latitude and longitude in "
            "decimal degrees, e.g. 51.5202,-0.0937"
        ) from None
    if math.isnan(flat) or math.isnan(flon) or math.isinf(flat) or math.isinf(flon):
        raise VenueError(
            f"coordinates ({lat!r}, {lon!r}) are not finite numbers: give latitude and longitude "
            "in decimal degrees, e.g. 51.5202,-0.0937"
        )
    if not -90 <= flat <= 90:
        raise VenueError(
            f"latitude {lat!r} is outside -90..90: give latitude first, in decimal "
            "degrees (e.g. 51.5202,-0.0937)"
        )
    if not -180 <= flon <= 180:
        raise VenueError(
            f"longitude {lon!r} is outside -180..180: give longitude in decimal "
            "degrees (e.g. 51.5202,-0.0937)"
        )
    return flat, flon
