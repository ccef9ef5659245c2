"""Locate the venue: coordinates, a GB postcode (offline) or, optionally, a free-text address."""

from __future__ import annotations

import re

from ..errors import VenueError
from ..settings import GEOCODE_TIMEOUT_S
from . import postcodes
from .base import Venue, check_latlon
from .geocode import geocode_address

_NUMBER = r"([+-]?[\d.]+(?:[eE][+-]?\d+)?|nan|NaN)"
_LATLON = re.compile(rf"^\s*{_NUMBER}\s*[, ]\s*{_NUMBER}\s*$")


def from_postcode(postcode: str) -> Venue:
    """The venue at a GB postcode unit, looked up offline.

    Parameters
    ----------
    postcode : str
        A full postcode unit (any case, spaces optional).

    Returns
    -------
    Venue
        Its position, ``source="postcode"``, labelled with the postcode in canonical form.

    Raises
    ------
    VenueError
        The text is not shaped like a postcode unit.
    PostcodeNotFoundError
        The postcode is unknown, terminated, outside GB, or has no coordinates.
    """
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

    Parameters
    ----------
    venue : str, Venue or tuple of float
        A :class:`Venue`, a ``(lat, lon)`` pair, a ``"lat,lon"`` string, a GB postcode, or --
        only with ``geocode=True`` -- a free-text address looked up online.
    geocode : bool, default False
        Look up text that is neither coordinates nor a postcode as an address (online).
    geocode_timeout : float, default 5
        Seconds to wait for the geocoder.

    Returns
    -------
    Venue
        The validated position and how it was found.

    Raises
    ------
    VenueError
        Bad coordinates, empty text, or text that is neither coordinates nor a postcode
        (without ``geocode``).
    PostcodeNotFoundError
        A well-formed postcode with no location.
    GeocodingError
        The address could not be geocoded.
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
