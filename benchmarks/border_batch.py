"""Cost of the England-Scotland border check in ``analyse_many`` on the built-in layers, against
a baseline measured in the same run.

(a) an all-England batch (venues drawn from the built-in England & Wales layer's residential
    points south of 54.5 N, about 55 km south of the border's southern end at Gretna, seed ``--seed``, radius ``--radius``): ``analyse_many`` as it is, against the same
    call with the border check replaced by "no circle reaches the other country" (the layer
    choice before the Great Britain layer was used in batches); the rows are checked equal;
    and the border check alone (``reaches_other_many``) on the same venues;
(b) a batch in the border country (random venues in 54.85-55.85 N, 3.4-1.9 W, 5 km): how many
    rows reach across and get the Great Britain layer, and the time of the same two calls
    (here the baseline gives those rows one country's layer only).

Each timing is the best of ``--repeat`` runs, the two calls alternated (layers loaded and
their indexes made by an untimed run first).
Run: ``python benchmarks/border_batch.py [--n 10000] [--radius 0.5mi] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np
import pandas as pd

from geotarget.batch import analyse_many, count
from geotarget.layers import load_layer
from geotarget.layers.registry import reaches_other_many
from geotarget.projections import transformer

#: the latitude south of which the all-England venues are drawn (about 55 km south of the
#: border's southern end, 54.99 N at Gretna)
SOUTH_OF = 54.5


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _never(name, lat, lon, radius_m):
    return np.zeros(len(lat), bool)


def _pair(df: pd.DataFrame, radius: str | None, repeat: int) -> tuple[float, float, pd.DataFrame]:
    """Best times of ``analyse_many`` with the border check and without it (the two runs
    alternated, so that neither has the warmer caches); the rows with it."""
    t_new = t_old = float("inf")
    new = None
    for _ in range(repeat):
        t, new = _best(lambda: analyse_many(df, radius), 1)
        t_new = min(t_new, t)
        with mock.patch.object(count, "reaches_other_many", _never):
            t_old = min(t_old, _best(lambda: analyse_many(df, radius), 1)[0])
    return t_new, t_old, new  # type: ignore[return-value]


def main() -> None:
    """Time the batches and print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--radius", default="0.5mi")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    ew = load_layer("ew-census2021")
    xy = ew.residents.xy[rng.choice(len(ew.residents.xy), 2 * a.n, replace=False)]
    lon, lat = transformer(ew.crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
    keep = np.flatnonzero(lat < SOUTH_OF)[: a.n]
    lon, lat = lon[keep], lat[keep]
    eng = pd.DataFrame({"id": np.arange(a.n), "lat": lat, "lon": lon})
    analyse_many(eng, a.radius)  # layers and their indexes made before any timing
    t_new, t_old, rows = _pair(eng, a.radius, a.repeat)
    with mock.patch.object(count, "reaches_other_many", _never):
        base = analyse_many(eng, a.radius)
    pd.testing.assert_frame_equal(rows, base, check_exact=True)
    r_m = np.full(a.n, float(rows["radius_m"].iloc[0]))
    t_check, _ = _best(lambda: reaches_other_many("ew-census2021", lat, lon, r_m), a.repeat)
    layers = rows["layer"].fillna("none (error)").value_counts().to_dict()
    print(f"(a) all-England batch, {a.n:,} venues, {a.radius}: rows per layer {layers}")
    print(
        f"    analyse_many {t_new:.2f} s with the border check, {t_old:.2f} s without "
        f"(ratio {t_new / t_old:.3f}); the check alone {t_check * 1000:.0f} ms "
        f"({t_check / t_old:.1%} of the batch); rows identical"
    )
    m = min(a.n, 2_000)
    bd = pd.DataFrame(
        {
            "id": np.arange(m),
            "lat": rng.uniform(54.85, 55.85, m),
            "lon": rng.uniform(-3.4, -1.9, m),
        }
    )
    analyse_many(bd.iloc[:200], "5km")  # the Great Britain layer loaded before any timing
    t_new, t_old, rows = _pair(bd, "5km", a.repeat)
    gb = int((rows["layer"] == "gb-census").sum())
    print(f"(b) border-country batch, {m:,} venues, 5km: {gb:,} rows on gb-census")
    print(
        f"    analyse_many {t_new:.2f} s with the border check, {t_old:.2f} s without "
        f"(ratio {t_new / t_old:.3f})"
    )


if __name__ == "__main__":
    main()
