"""Ad platforms for many venues: one row per venue and platform.

``platforms_many(results, "all", data_dir=...)`` takes the table :func:`geotarget.analyse_many`
returned and evaluates the platforms for every venue analysed, vectorised over venues
(:func:`geotarget.platforms.evaluate_many`): the same code as the one-venue path, so each row
equals ``geotarget.analyse(venue, radius, platforms=...).platforms`` for that venue.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from .analysis import check_platform_options
from .layers import PopulationLayer, load_layer
from .result import PLATFORM_COLUMNS, platform_records


def platforms_many(results, platforms="all", *, data_dir=None, layer=None,
                   method: str | None = None, counts: str | None = None,
                   budget: float | None = None, currency: str = "",
                   segment_share: float | None = None, postcode_coverage: float | None = None,
                   rules=None, rule_overrides=None, chunk_size: int = 5000,
                   progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The long platform table (``venue_id`` then the columns of ``Result.platforms``) for the
    rows of ``results`` that were analysed (no ``error``) and lie in their layer's coverage."""
    from . import platforms as plat

    cat = plat.load(rules, overrides=rule_overrides or [])
    ids = plat.select(cat, platforms)
    fixed = None
    if isinstance(layer, PopulationLayer):
        fixed = layer
    elif layer is not None or data_dir is not None:
        fixed = load_layer(layer if layer is not None else data_dir, counts=counts)
    ok = results["error"].isna().to_numpy() & (results["coverage"].to_numpy(float) > 0)
    good = results[ok]
    names = good["layer"].astype(str).to_numpy()
    records: list[dict] = []
    order = []
    for name in dict.fromkeys(names.tolist()):
        sel = np.nonzero(names == name)[0]
        lay = fixed if fixed is not None else load_layer(name)
        check_platform_options(lay, budget=budget, currency=currency,
                               segment_share=segment_share, postcode_coverage=postcode_coverage)
        g = good.iloc[sel]
        rows = plat.evaluate_many(lay, g.geometry.y.to_numpy(), g.geometry.x.to_numpy(),
                                  g["radius_m"].to_numpy(float), ids, cat, method=method,
                                  segment_share=segment_share, budget=budget,
                                  currency=currency, postcode_coverage=postcode_coverage,
                                  chunk_size=chunk_size, progress=progress)
        for vid, pos, venue_rows in zip(g["id"].to_numpy(), sel, rows):
            for rec in platform_records(venue_rows):
                records.append({"venue_id": vid, **rec})
                order.append(pos)
    table = pd.DataFrame(records, columns=["venue_id"] + PLATFORM_COLUMNS)
    # venues in the order of ``results``; within a venue, best platform first
    return table.iloc[np.argsort(np.asarray(order, dtype=int), kind="stable")].reset_index(
        drop=True)
