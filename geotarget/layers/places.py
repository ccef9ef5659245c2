"""Named places (city, county, region, tract...) built from a layer's own zones, for the
platforms' place footprints."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(eq=False)
class PlaceSet:
    """Named places (city, county, region, tract...) built from a layer's own zones.

    ``codes[level]`` / ``names[level]`` give, for each zone in ``geoms``, the place it belongs to
    at that level; a place's polygon is the union of its zones (computed when first asked for).
    """

    geoms: np.ndarray
    codes: dict[str, np.ndarray]
    names: dict[str, np.ndarray]
    note: dict[str, str] = field(default_factory=dict)  # how a level was built

    #: place polygons computed ahead (level, code) -> polygon, stored with a cached layer
    polygons: dict[tuple[str, str], BaseGeometry] = field(default_factory=dict)
    #: False when the layer holds only part of its places' zones (e.g. a city's blocks of a
    #: county): the places' real populations are then larger than counted
    complete: bool = True
    #: True when every census zone whose count a group of dasymetric points shares lies inside
    #: one place of each level (England & Wales: OAs, LSOAs and MSOAs nest in local authorities
    #: and regions): a group's place is then found from one of its points
    groups_nest: bool = False

    def __post_init__(self) -> None:
        self.geoms = np.asarray(self.geoms, dtype=object)

    @property
    def levels(self) -> list[str]:
        """The place levels, e.g. ``["county", "city", "region"]``."""
        return list(self.codes)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """A spatial index of the zones ``geoms``."""
        return shapely.STRtree(self.geoms)

    def name(self, level: str, code: str) -> str:
        """The name of the place ``code`` at ``level``."""
        i = int(np.nonzero(self.codes[level] == code)[0][0])
        return str(self.names[level][i])

    def geometry(self, level: str, code: str) -> BaseGeometry:
        """The polygon of the place ``code`` at ``level``: the union of its zones (kept)."""
        key = (level, code)
        if key not in self.polygons:
            sel = self.geoms[self.codes[level] == code]
            self.polygons[key] = shapely.union_all(shapely.set_precision(sel, 0.01))
        return self.polygons[key]

    def precompute(self) -> PlaceSet:
        """Dissolve every place now (done once when a layer is built and cached)."""
        for lv in self.levels:
            for code in np.unique(self.codes[lv]):
                self.geometry(lv, str(code))
        return self
