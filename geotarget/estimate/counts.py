"""The result arrays of a count and the 90% interval shared by every method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

#: (catchment, point) index pairs: the points inside each catchment, ordered by catchment
Pairs = tuple[NDArray[np.intp], NDArray[np.intp]]

#: the two-sided 90% normal quantile: the range is the estimate ± Z90 standard deviations
Z90 = 1.6448536269514722


@dataclass
class Counts:
    """Per-catchment results of one count surface (arrays, one entry per catchment).

    Parameters
    ----------
    estimate : numpy.ndarray of float
        The count inside each catchment.
    low, high : numpy.ndarray of float
        The 90% range of each count.
    zones : numpy.ndarray of int
        How many zones, points or cells contribute to each count (a share of more than zero).
    extra : dict of str to numpy.ndarray of float
        The surface's other counts (placed alike), each counted the same way.
    method : str
        The method used: ``"areal"``, ``"dasymetric"`` or ``"points"``.
    groups : tuple of numpy.ndarray or None
        Dasymetric counts: ``(catchment, group, people of the group inside)`` for every group
        with a point inside (what counting people once needs); None otherwise.
    """

    estimate: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    zones: NDArray[np.int_]  # zones/points/cells contributing (count > 0 share)
    extra: dict[str, NDArray[np.float64]]
    method: str
    groups: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None = None


def _concat(parts: list[Counts]) -> Counts:
    """The counts of several batches of catchments, one after the other."""
    groups = None
    if parts and all(p.groups is not None for p in parts):
        offs = np.cumsum([0] + [len(p.estimate) for p in parts[:-1]])
        gs = [p.groups for p in parts if p.groups is not None]
        groups = (
            np.concatenate([g[0] + o for g, o in zip(gs, offs)]),
            np.concatenate([g[1] for g in gs]),
            np.concatenate([g[2] for g in gs]),
        )
    return Counts(
        np.concatenate([p.estimate for p in parts]),
        np.concatenate([p.low for p in parts]),
        np.concatenate([p.high for p in parts]),
        np.concatenate([p.zones for p in parts]),
        {k: np.concatenate([p.extra[k] for p in parts]) for k in parts[0].extra},
        parts[0].method,
        groups,
    )


def _sum(idx: NDArray[np.integer], w: NDArray[np.floating], n: int) -> NDArray[np.float64]:
    """Per catchment ``0..n-1``, the sum of the weights ``w`` of the pairs ``idx``."""
    if not len(idx):
        return np.zeros(n)
    # with weights, bincount gives float64 (numpy's stubs say intp)
    return cast("NDArray[np.float64]", np.bincount(idx, weights=w, minlength=n))


def _interval(
    est: NDArray[np.float64],
    sd: NDArray[np.float64],
    floor: NDArray[np.float64],
    ceiling: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The 90% range ``est ± Z90 sd``, clipped to ``[floor, ceiling]`` and always holding
    ``est``."""
    low = np.clip(est - Z90 * sd, floor, None)
    high = np.clip(est + Z90 * sd, None, ceiling)
    return np.minimum(low, est), np.maximum(high, est)
