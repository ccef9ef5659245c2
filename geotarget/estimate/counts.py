"""The result arrays of a count and the 90% interval shared by every method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z90 = 1.6448536269514722  # two-sided 90% normal quantile


@dataclass
class Counts:
    """Per-catchment results of one count surface (arrays, one entry per catchment)."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    zones: np.ndarray  # zones/points/cells contributing (count > 0 share)
    extra: dict[str, np.ndarray]
    method: str


def _concat(parts: list[Counts]) -> Counts:
    return Counts(
        *(
            np.concatenate([getattr(p, f) for p in parts])
            for f in ("estimate", "low", "high", "zones")
        ),
        {k: np.concatenate([p.extra[k] for p in parts]) for k in parts[0].extra},
        parts[0].method,
    )


def _sum(idx: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(idx, weights=w, minlength=n) if len(idx) else np.zeros(n)


def _interval(est, sd, floor, ceiling):
    low = np.clip(est - Z90 * sd, floor, None)
    high = np.clip(est + Z90 * sd, None, ceiling)
    return np.minimum(low, est), np.maximum(high, est)
