"""The first stage: where the venue is.

A venue is coordinates (``"lat,lon"`` or a pair), a GB postcode looked up offline in the
built-in Code-Point Open table (:mod:`.postcodes`), or a free-text address geocoded online
(:mod:`.geocode`, only when asked).  :func:`locate` decides which.
"""

from __future__ import annotations

from ..settings import GEOCODE_TIMEOUT_S
from .base import Venue, check_latlon
from .geocode import geocode_address
from .locate import from_postcode, locate

__all__ = [
    "GEOCODE_TIMEOUT_S",
    "Venue",
    "check_latlon",
    "from_postcode",
    "geocode_address",
    "locate",
]
