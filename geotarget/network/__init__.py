"""The street network stage: OSM extracts read into cached graphs, and walk / drive catchments
searched over them (see :mod:`geotarget.network.travel`)."""

from __future__ import annotations

from .graph import Network, build, load_network
from .travel import (
    BUFFER_M,
    VENUE_MAX_OFFSET_M,
    WALK_SPEED_KMH,
    Travel,
    TravelLimit,
    parse_limit,
    parse_speed,
    travel_catchment,
)

__all__ = [
    "BUFFER_M",
    "Network",
    "Travel",
    "TravelLimit",
    "VENUE_MAX_OFFSET_M",
    "WALK_SPEED_KMH",
    "build",
    "load_network",
    "parse_limit",
    "parse_speed",
    "travel_catchment",
]
