"""What the platforms count in: the populations, people as (estimate, low, high), the people
on a basis (residents, or residents and workers counted once), and the share of a footprint
the layer must cover for its waste to be exact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, overload

import numpy as np

from ..layers.commuting import OVERLAP

__all__ = ["COVERED", "POPS", "PopTriples", "Triple", "basis_total"]

#: the populations a platform counts
POPS = ("residents", "workers")
#: below this share of a footprint inside the layer's coverage, its waste is a lower bound
COVERED = 0.9995

#: people as (estimate, low, high)
Triple = tuple[float, float, float]
#: ``{population: (estimate, low, high) or None}`` (None: the layer lacks that population)
PopTriples = dict[str, Triple | None]


@overload
def basis_total(vals: Mapping[str, float | None], basis: str) -> float: ...
@overload
def basis_total(vals: Mapping[str, np.ndarray | None], basis: str) -> np.ndarray | float: ...
def basis_total(vals: Mapping[str, Any], basis: str) -> Any:
    """Total people on ``basis`` from ``{"residents": x, "workers": y}``.

    Parameters
    ----------
    vals : mapping
        People per population, numbers or arrays (None counts as 0); under ``"overlap"``
        (:data:`~geotarget.layers.commuting.OVERLAP`), optionally, the workers who also live
        in the area, counted once.
    basis : str
        ``"residents"`` or ``"residents+workers"``.

    Returns
    -------
    float or numpy.ndarray
        The residents, plus (on ``"residents+workers"``) the workers less those who are also
        residents.
    """
    r = vals.get("residents")
    w = vals.get("workers")
    both = vals.get(OVERLAP)
    r = 0.0 if r is None else r
    if basis != "residents+workers":
        return r
    return r + (0.0 if w is None else w) - (0.0 if both is None or w is None else both)
