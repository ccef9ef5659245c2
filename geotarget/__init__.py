"""geotarget: how many people live and work near a venue, and what ad platforms can reach.

The pipeline, one subpackage per stage: :mod:`~geotarget.venue` (where the venue is) ->
:mod:`~geotarget.catchment` (the area around it) -> :mod:`~geotarget.layers` (the census data)
-> :mod:`~geotarget.estimate` (people counted inside) -> :mod:`~geotarget.platforms` (what each
ad platform can target, and the waste) -> :mod:`~geotarget.render` (maps and reports) ->
:mod:`~geotarget.batch` (many venues) -> :mod:`~geotarget.datasets` (downloads); the command
line in :mod:`~geotarget.cli`.

>>> import geotarget
>>> result = geotarget.analyse("EH1 1YZ", radius="0.5mi")  # doctest: +SKIP
>>> result.to_dict()["schema"]  # doctest: +SKIP
'geotarget.result/1'

The names below are imported when first used, so ``import geotarget`` (and ``geotarget
--version``) loads neither pandas nor geopandas.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    CatchmentError,
    DataError,
    GeocodingError,
    GeotargetError,
    InputError,
    NoCoverageError,
    OutputError,
    PostcodeNotFoundError,
    VenueError,
)

if TYPE_CHECKING:
    from .analysis import analyse
    from .batch import analyse_many, platforms_many
    from .catchment import Catchment, circle, from_file
    from .layers import PopulationLayer, choose_layer, load_layer
    from .platforms import PlatformOptions
    from .result import Result
    from .units import parse_distance
    from .venue import Venue, locate

logging.getLogger("geotarget").addHandler(logging.NullHandler())

#: public name -> the module that defines it
_LAZY = {
    "analyse": "analysis",
    "analyse_many": "batch",
    "platforms_many": "batch",
    "Catchment": "catchment",
    "circle": "catchment",
    "from_file": "catchment",
    "PopulationLayer": "layers",
    "choose_layer": "layers",
    "load_layer": "layers",
    "PlatformOptions": "platforms",
    "Result": "result",
    "parse_distance": "units",
    "Venue": "venue",
    "locate": "venue",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geotarget' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CatchmentError",
    "Catchment",
    "DataError",
    "GeocodingError",
    "GeotargetError",
    "InputError",
    "NoCoverageError",
    "OutputError",
    "PlatformOptions",
    "PopulationLayer",
    "PostcodeNotFoundError",
    "Result",
    "Venue",
    "VenueError",
    "__version__",
    "analyse",
    "analyse_many",
    "choose_layer",
    "circle",
    "from_file",
    "load_layer",
    "locate",
    "parse_distance",
    "platforms_many",
]
