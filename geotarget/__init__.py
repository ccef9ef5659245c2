"""geotarget: how many people live and work near a venue, and what ad platforms can reach.

>>> import geotarget
>>> result = geotarget.analyse("EH1 1YZ", radius="0.5mi")  # doctest: +SKIP
>>> result.to_dict()["schema"]  # doctest: +SKIP
'geotarget.result/1'
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geotarget")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from .analysis import analyse
from .batch import analyse_many
from .batch_platforms import platforms_many
from .catchment import Catchment, circle, from_file
from .errors import (CatchmentError, DataError, GeocodingError, GeotargetError, InputError,
                     NoCoverageError, OutputError, PostcodeNotFoundError, VenueError)
from .layers import PopulationLayer, choose_layer, load_layer
from .result import Result
from .units import parse_distance
from .venue import Venue, locate

logging.getLogger("geotarget").addHandler(logging.NullHandler())

__all__ = [
    "__version__", "analyse", "analyse_many", "platforms_many", "Catchment", "circle", "from_file", "GeotargetError", "InputError",
    "VenueError", "PostcodeNotFoundError", "GeocodingError", "CatchmentError", "DataError",
    "NoCoverageError", "OutputError", "PopulationLayer", "choose_layer", "load_layer", "Result",
    "parse_distance", "Venue", "locate",
]
