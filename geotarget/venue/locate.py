"""Locate the venue: coordinates, a GB postcode (offline) or, optionally, a free-text address."""

from __future__ import annotations

import re

from ..errors import VenueError
from . import postcodes
from .base import Venue, check_latlon
from .geocode import GEOCODE_TIMEOUT_S, geocode_address

_LATLON = re.compile(
    r"^\s*([+-]?[\d.]+(?:[eE][+-]?\d+)?|nan|NaN)\s*[, ]\s*([+-]?[\d.]+(?:[eE][+-]?\d+)?|nan|NaN)\s*$"
)


def from_postcode(postcode: str) -> Venue:
    loc = postcodes.lookup(postcode)
    return Venue(
        loc.lat,
        loc.lon,
        label=loc.postcode,
        source="postcode",
        details={
            "postcode": loc.postcode,
            "postcode_source": postcodes.metadata()["source"].split(" and ")[0],
        },
    )


def locate(
    venue: str | Venue | tuple[float, float],
    *,
    geocode: bool = False,
    geocode_timeout: float = GEOCODE_TIMEOUT_S,
) -> Venue:
    """Turn what the user gave into a :class:`Venue`.

    ``venue`` may be a :class:`Venue`, a ``(lat, lon)`` tuple, a ``"lat,lon"`` string, a GB
    postcode, or -- only with ``geocode=True`` -- a free-text address looked up online.
    """
    if isinstance(venue, Venue):
        return venue
    if isinstance(venue, (tuple, list)):
        if len(venue) != 2:
            raise VenueError(f"venue {venue!r} must be a (lat, lon) pair")
        lat, lon = check_latlon(*venue)
        return Venue(lat, lon, label=f"{lat:.5f},{lon:.5f}")
    if not isinstance(venue, str):
        raise VenueError(
            f"venue {venue!r} is not text: give a GB postcode ('EH1 1YZ'), "
            "'lat,lon' text or a (lat, lon) pair"
        )
    if not venue.strip():
        raise VenueError(
            f"venue {venue!r} is empty: give a GB postcode, 'lat,lon' or an address with --geocode"
        )
    text = venue.strip()
    m = _LATLON.match(text)
    if m:
        lat, lon = check_latlon(m.group(1), m.group(2))
        return Venue(lat, lon, label=f"{lat:.5f},{lon:.5f}")
    if postcodes.looks_like_postcode(text):
        return from_postcode(text)
    if geocode:
        return geocode_address(text, timeout=geocode_timeout)
    raise VenueError(
        f"venue {text!r} is neither a GB postcode (e.g. 'EH1 1YZ') nor 'lat,lon' "
        "(e.g. '51.5202,-0.0937'); to look up a free-text address online, add --geocode"
    )
