"""Locate the venue: coordinates, a GB postcode (offline) or, optionally, a free-text address."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .errors import GeocodingError, VenueError
from . import postcodes

_LATLON = re.compile(r"^\s*([+-]?[\d.]+(?:[eE][+-]?\d+)?|nan|NaN)\s*[, ]\s*([+-]?[\d.]+(?:[eE][+-]?\d+)?|nan|NaN)\s*$")

#: seconds to wait for the online geocoder before giving up
GEOCODE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Venue:
    """A validated venue position (WGS84) and how it was found."""

    lat: float
    lon: float
    label: str = ""
    source: str = "coordinates"
    details: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        check_latlon(self.lat, self.lon)

    def to_dict(self) -> dict:
        d = {"lat": round(self.lat, 7), "lon": round(self.lon, 7), "label": self.label,
             "source": self.source}
        d.update(self.details)
        return d


def check_latlon(lat: object, lon: object) -> tuple[float, float]:
    """Validate a WGS84 latitude/longitude pair; return them as floats."""
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
        raise VenueError(f"latitude {lat!r} is outside -90..90: give latitude first, in decimal "
                         "degrees (e.g. 51.5202,-0.0937)")
    if not -180 <= flon <= 180:
        raise VenueError(f"longitude {lon!r} is outside -180..180: give longitude in decimal "
                         "degrees (e.g. 51.5202,-0.0937)")
    return flat, flon


def from_postcode(postcode: str) -> Venue:
    loc = postcodes.lookup(postcode)
    return Venue(loc.lat, loc.lon, label=loc.postcode, source="postcode",
                 details={"postcode": loc.postcode,
                          "postcode_source": postcodes.metadata()["source"].split(" and ")[0]})


def geocode_address(address: str, *, timeout: float = GEOCODE_TIMEOUT_S,
                    user_agent: str = "geotarget", domain: str | None = None,
                    scheme: str | None = None) -> Venue:
    """Geocode a free-text address with OpenStreetMap Nominatim (needs the internet).

    ``domain``/``scheme`` point at another Nominatim server (e.g. a self-hosted one).
    Fails with :class:`~geotarget.errors.GeocodingError` after ``timeout`` seconds offline.
    """
    try:
        from geopy.exc import GeopyError
        from geopy.geocoders import Nominatim
    except ImportError as e:  # pragma: no cover - geopy is a dependency
        raise GeocodingError("address look-up needs geopy: pip install geopy") from e
    kwargs: dict = {"user_agent": user_agent, "timeout": timeout}
    if domain:
        kwargs["domain"] = domain
    if scheme:
        kwargs["scheme"] = scheme
    try:
        found = Nominatim(**kwargs).geocode(address, exactly_one=True)
    except GeopyError as e:
        raise GeocodingError(
            f"could not geocode address {address!r} with Nominatim ({type(e).__name__}: {e}); "
            "are you online? Give the venue as a postcode or 'lat,lon' instead"
        ) from e
    except OSError as e:
        raise GeocodingError(
            f"could not reach Nominatim to geocode {address!r} ({e}); give the venue as a "
            "postcode or 'lat,lon' instead"
        ) from e
    if found is None:
        raise GeocodingError(f"Nominatim found no place for address {address!r}: check the "
                             "spelling, or give the venue as a postcode or 'lat,lon'")
    return Venue(float(found.latitude), float(found.longitude), label=str(found.address),
                 source="address", details={"address": address,
                                            "geocoder": "OpenStreetMap Nominatim "
                                                        "(data © OpenStreetMap contributors, ODbL)"})


def locate(venue: "str | Venue | tuple[float, float]", *, geocode: bool = False,
           geocode_timeout: float = GEOCODE_TIMEOUT_S) -> Venue:
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
        raise VenueError(f"venue {venue!r} is not text: give a GB postcode ('EH1 1YZ'), "
                         "'lat,lon' text or a (lat, lon) pair")
    if not venue.strip():
        raise VenueError(f"venue {venue!r} is empty: give a GB postcode, 'lat,lon' or an address "
                         "with --geocode")
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
