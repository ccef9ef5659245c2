"""Free-text addresses looked up online with OpenStreetMap Nominatim (``--geocode``)."""

from __future__ import annotations

from typing import Any

from ..errors import GeocodingError
from ..settings import GEOCODE_TIMEOUT_S
from .base import Venue


def geocode_address(
    address: str,
    *,
    timeout: float = GEOCODE_TIMEOUT_S,
    user_agent: str = "geotarget",
    domain: str | None = None,
    scheme: str | None = None,
) -> Venue:
    """Geocode a free-text address with OpenStreetMap Nominatim (needs the internet).

    Parameters
    ----------
    address : str
        The address, free text.
    timeout : float, default 5
        Seconds to wait for the server.
    user_agent : str, default "geotarget"
        The user agent Nominatim's usage policy asks for.
    domain, scheme : str or None
        Another Nominatim server (e.g. a self-hosted one) and its scheme (``"http"``...).

    Returns
    -------
    Venue
        The place found, ``source="address"``.

    Raises
    ------
    GeocodingError
        Offline, timed out (after ``timeout`` seconds), refused, or no place found.
    """
    try:
        from geopy.exc import GeopyError
        from geopy.geocoders import Nominatim
    except ImportError as e:  # pragma: no cover - geopy is a dependency
        raise GeocodingError("address look-up needs geopy: pip install geopy") from e
    kwargs: dict[str, Any] = {"user_agent": user_agent, "timeout": timeout}
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
