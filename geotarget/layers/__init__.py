"""Population layers: where the counts come from.

* :func:`load_layer` reads a layer by built-in name or from a data folder (``--data-dir``);
* :func:`choose_layer` picks the built-in layer whose coverage contains the venue;
* :func:`resolve_layer` turns the user's choice (layer, data folder, counts) into a layer.

One module per source: :mod:`.ew_census2021` (its dasymetric surfaces in :mod:`.ew_dasymetric`),
:mod:`.scotland_census`, :mod:`.us_blocks2020`, :mod:`.eurostat_grid`, :mod:`.raster`,
:mod:`.userfile`; the shipped files in :mod:`.builtin`, the on-disk cache of built layers in
:mod:`.cache`, the data model in :mod:`.base`, shared point geometry in :mod:`.geometry`.
"""

from __future__ import annotations

from .base import CountSurface, PopulationLayer
from .registry import builtin_names, choose_layer, load_layer, resolve_layer

__all__ = [
    "CountSurface",
    "PopulationLayer",
    "builtin_names",
    "choose_layer",
    "load_layer",
    "resolve_layer",
]
