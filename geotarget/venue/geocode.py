"""Free-text addresses looked up online with OpenStreetMap Nominatim (``--geocode``)."""

from __future__ import annotations

from ..errors import GeocodingError
from .base import Venue

#: seconds to wait for the online geocoder before giving up
GEOCODE_TIMEOUT_S = 5.0


def geocode_address(
    address: str,
    *,
    timeout: float = GEOCODE_TIMEOUT_S,
    user_agent: str = "geotarget",
    domain: str | None = None,
    scheme: str | None = None,
) -> Venue:
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
        raise GeocodingError(
            f"Nominatim found no place for address {address!r}: check the "
            "spelling, or give the venue as a postcode or 'lat,lon'"
        )
    return Venue(
        float(found.latitude),
        float(found.longitude),
        label=str(found.address),
        source="address",
        details={
            "address": address,
            "geocoder": "OpenStreetMap Nominatim (data © OpenStreetMap contributors, ODbL)",
        },
    )
