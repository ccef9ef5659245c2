"""Where the aggregate index starts to beat the point test: ``estimate.TREE_AT`` and
``TREE_AT_GROUPS`` are chosen from this.

For circles of several radii round random venues, on the London layer (../shared/data) and the
built-in England & Wales layer, each point surface: the median (circle, point) candidates a circle,
and the time a circle of

- the aggregate index (``estimate.count_circles``), and with the per-area sums that counting
  people once needs (``estimate.area_sums.area_groups``, on surfaces that have commuting areas);
- the point test (``estimate._count_by_pairs``), without and with per-group detail;

all in the same run, with the largest difference between the two counts (float rounding).

Run:  python benchmarks/tree_threshold.py [--n 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _reference import SHARED

from geotarget import estimate
from geotarget.estimate.area_sums import area_groups
from geotarget.layers import load_layer

RADII = (400.0, 804.672, 2_000.0, 5_000.0, 10_000.0, 24_140.16)


def _us(n: int, f, *args) -> tuple[object, float]:
    """``f(*args)`` and its microseconds per circle (``n`` circles)."""
    t = time.perf_counter()
    out = f(*args)
    return out, (time.perf_counter() - t) * 1e6 / n


def measure(name: str, layer, lat: np.ndarray, lon: np.ndarray) -> None:
    for pop in ("residents", "workers"):
        s = layer.surface(pop)
        areas = s.group is not None and s.group_area is not None
        print(f"{name} {pop}: {len(s.values):,} points; per-area sums: {'yes' if areas else 'no'}")
        for r in RADII:
            c = estimate.Circles(lat, lon, np.full(len(lat), r), layer.crs)
            per = c.candidate_counts(s)
            none = np.full(len(lat), None, dtype=object)
            estimate.count_circles(s, c.crs, c.ecef[:5], c.radius[:5])  # index loaded
            n = len(lat)
            tree, t_tree = _us(n, estimate.count_circles, s, c.crs, c.ecef, c.radius)
            pairs, t_pairs = _us(n, estimate._count_by_pairs, s, none, c, False, per)
            _, t_pairs_g = _us(n, estimate._count_by_pairs, s, none, c, True, per)
            line = (
                f"  r = {r:>8,.0f} m: median candidates {np.median(per):>9,.0f}; "
                f"index {t_tree:8.1f} us, point test {t_pairs:8.1f} us"
            )
            if areas:
                area_groups(s, c.crs, c.ecef[:5], c.radius[:5])
                _, t_g = _us(n, area_groups, s, c.crs, c.ecef, c.radius)
                line += f"; with per-group detail: index {t_tree + t_g:8.1f} us, "
                line += f"point test {t_pairs_g:8.1f} us"
            diff = float(np.max(np.abs(tree.estimate - pairs.estimate)))  # type: ignore[attr-defined]
            print(line + f"; max |difference| {diff:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000, help="circles per radius (1,000)")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    # venues over Greater London's box (some outside the London layer: they count nothing)
    lat = 51.35 + rng.random(args.n) * 0.3
    lon = -0.4 + rng.random(args.n) * 0.55
    print(
        f"thresholds now: TREE_AT {estimate.TREE_AT:,}, TREE_AT_GROUPS {estimate.TREE_AT_GROUPS:,}"
    )
    measure("London layer", load_layer(SHARED), lat, lon)
    measure("built-in England & Wales", load_layer("ew-census2021"), lat, lon)


if __name__ == "__main__":
    main()
