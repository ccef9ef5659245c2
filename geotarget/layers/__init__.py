"""Population layers: where the counts come from.

* :func:`load_layer` reads a layer by built-in name or from a data folder (``--data-dir``).
* :func:`choose_layer` picks the built-in layer whose coverage contains the venue.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import DataError, InputError, NoCoverageError
from ..projections import transformer
from .base import CountSurface, PopulationLayer
from . import builtin

__all__ = ["CountSurface", "PopulationLayer", "load_layer", "choose_layer", "builtin_names"]


def builtin_names() -> list[str]:
    return sorted(builtin.BUILTIN)


@lru_cache(maxsize=8)
def _load_dir(path: str, counts: str) -> PopulationLayer:
    from . import london

    return london.load(path, counts=counts)


def load_layer(name_or_dir: str | Path, *, counts: str | None = None) -> PopulationLayer:
    """A built-in layer by name, or the layer in a data folder (England & Wales layout).

    ``counts`` ("oa" or "lsoa") applies to England & Wales folders only.
    """
    key = str(name_or_dir)
    if key in builtin.BUILTIN:
        if counts is not None:
            raise InputError(f"--counts applies to England & Wales data folders, not to the "
                             f"built-in layer {key}")
        return builtin.load(key)
    p = Path(key).expanduser()
    if p.is_dir():
        return _load_dir(str(p.resolve()), counts or "oa")
    raise DataError(f"{key!r} is neither a built-in layer ({', '.join(builtin_names())}) nor a "
                    "data folder: give --data-dir PATH pointing at census files (see README)")


def choose_layer(lat: float, lon: float) -> PopulationLayer:
    """The built-in layer whose coverage contains (lat, lon)."""
    import shapely

    for name, (crs, cov) in builtin.coverage_index().items():
        x, y = transformer("EPSG:4326", crs).transform(lon, lat)
        if cov.covers(shapely.Point(x, y)):
            return builtin.load(name)
    swapped = ""
    if -90 <= lon <= 90:
        for name, (crs, cov) in builtin.coverage_index().items():
            x, y = transformer("EPSG:4326", crs).transform(lat, lon)
            if cov.covers(shapely.Point(x, y)):
                swapped = (f" (latitude and longitude look swapped: {lon},{lat} is inside "
                           f"{name})")
    raise NoCoverageError(
        f"no built-in population layer covers the venue at {lat},{lon}{swapped}: the built-in "
        f"data is {', '.join(builtin_names())} (Scotland); for England & Wales pass --data-dir "
        "with the ONS census files (see README, 'Data')"
    )
