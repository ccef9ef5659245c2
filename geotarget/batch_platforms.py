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
                   progress: Callable[[int], None] | None = None, scheduler: str = "local",
                   dask_address: str | None = None, workers: int | None = None,
                   client=None) -> pd.DataFrame:
    """The long platform table (``venue_id`` then the columns of ``Result.platforms``) for the
    rows of ``results`` that were analysed (no ``error``) and lie in their layer's coverage.

    ``scheduler="dask"`` evaluates chunks of ``chunk_size`` venues on a Dask cluster
    (``client``, ``dask_address`` or a LocalCluster of ``workers``), as
    :func:`geotarget.analyse_many` does; the rows are the same."""
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
    opts = dict(method=method, segment_share=segment_share, budget=budget, currency=currency,
                postcode_coverage=postcode_coverage)
    jobs = []
    for name in dict.fromkeys(names.tolist()):
        sel = np.nonzero(names == name)[0]
        lay = fixed if fixed is not None else load_layer(name)
        check_platform_options(lay, budget=budget, currency=currency,
                               segment_share=segment_share, postcode_coverage=postcode_coverage)
        for s in range(0, len(sel), chunk_size):
            part = sel[s:s + chunk_size]
            g = good.iloc[part]
            jobs.append((lay, (g.geometry.y.to_numpy(), g.geometry.x.to_numpy(),
                               g["radius_m"].to_numpy(float), g["id"].to_numpy(), part, ids,
                               cat, opts)))
    frames = []
    if scheduler == "dask" and jobs:
        from .scale import run_dask

        for (_, args), frame in run_dask(jobs, _table_job, client=client, address=dask_address,
                                         workers=workers):
            frames.append(frame)
            if progress is not None:
                progress(len(args[4]))
    else:
        for lay, args in jobs:
            frames.append(_table_job(lay, *args, progress=progress))
    if not frames:
        return pd.DataFrame(columns=["venue_id"] + PLATFORM_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    # venues in the order of ``results``; within a venue, best platform first
    order = np.argsort(table.pop("_pos").to_numpy(), kind="stable")
    return table.iloc[order].reset_index(drop=True)


#: venues evaluated at once inside a chunk: their row dicts are turned into a compact table
#: before the next ones are made (1,000 venues make about 11,000 nested dicts)
SUB_CHUNK = 1000


def _table_job(layer, lat, lon, radius_m, vids, part, ids, cat, opts, progress=None):
    """The platform table (with ``venue_id`` and the venue's position ``_pos``) of one chunk."""
    from . import platforms as plat

    frames = []
    for s in range(0, len(lat), SUB_CHUNK):
        sl = slice(s, s + SUB_CHUNK)
        rows = plat.evaluate_many(layer, lat[sl], lon[sl], radius_m[sl], ids, cat,
                                  progress=progress, chunk_size=SUB_CHUNK, **opts)
        recs = [{"venue_id": vid, "_pos": pos, **rec} for vid, pos, venue_rows in
                zip(vids[sl], part[sl], rows) for rec in platform_records(venue_rows)]
        frames.append(pd.DataFrame(recs, columns=["venue_id", "_pos"] + PLATFORM_COLUMNS))
    return pd.concat(frames, ignore_index=True)
