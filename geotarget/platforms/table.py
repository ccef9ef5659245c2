"""The platform table for many venues, as array work: one column at a time, per platform.

:class:`~geotarget.platforms.feasibility.Evaluator` judges one venue and one platform at a time
and returns the whole nested row (the JSON contract).  A batch only needs the flat table
(:data:`geotarget.result.PLATFORM_COLUMNS`), so this module works out the same figures for every
venue of a batch at once: each footprint option of a platform as arrays over venues (the same
:class:`~geotarget.platforms.footprints.Facts` the per-venue path reads), then the people, shares
of waste, minimum-audience checks, the recommended option, the verdict and the advice text
(its sentences filled from templates column by column).

The per-venue path stays the reference: ``tests/test_platform_table.py`` checks that both give
the same table, value for value and type for type.  The footprint options as arrays and their
figures are made in :mod:`geotarget.platforms.table_builders`, the advice text in
:mod:`geotarget.platforms.table_advice`; this module recommends an option, judges it and makes
the table.

Rules that keep the two paths equal
-----------------------------------
* Every figure is the same floating-point operation on the same operands as in the per-venue
  code (elementwise, in the same order); sums over a venue's postcode districts are numpy sums
  of the same selection (row sums of a matrix of equal-length selections, which numpy adds in
  the same order as the one-dimensional sum).
* A venue's chosen districts are added up one at a time in the order the per-venue loop adds
  them (all venues at once, rank by rank).
* A place footprint depends only on the places a catchment overlaps: it is built once per set
  of places.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..layers.base import PopulationLayer
from ..result import PLATFORM_COLUMNS
from .advice import VERDICTS
from .feasibility import basis_for, conversion
from .footprints import Facts
from .model import Catalogue, Platform
from .options import POSTCODE_COVERAGE, PlatformOptions
from .table_advice import _advice, _Ctx
from .table_builders import _Builder, _measure, _Measured

__all__ = ["TABLE_COLUMNS", "platform_table"]

#: the columns made here: :data:`geotarget.result.PLATFORM_COLUMNS`, the one list of them
TABLE_COLUMNS = PLATFORM_COLUMNS

_RANK = {"radius": 0, "postcode": 1, "place": 2, "country": 3, "other": 4}
_VERDICT_ORDER = {v: k for k, v in enumerate(VERDICTS)}


# --------------------------------------------------------------------------------- one platform


def _recommend(ms: list[_Measured], managed_account: bool, n: int) -> np.ndarray:
    """Per venue, the index in ``ms`` of the recommended option (-1: none)."""
    if not ms:
        return np.full(n, -1)
    ok = np.array([m.opt.ok for m in ms])
    open_ = ok & np.array([[managed_account or not m.opt.fp.managed] for m in ms])
    runnable = open_ & np.array([m.met != False for m in ms], bool)  # noqa: E712
    sure = runnable & np.array(
        [[m.opt.fp.prov.confidence != "uncertain" and m.opt.fp.min_known] for m in ms]
    )
    pool = np.where(sure.any(0), sure, np.where(runnable.any(0), runnable, open_))
    best = np.full(n, -1)
    bw = np.full(n, np.inf)
    bl = np.zeros(n, bool)
    br = np.zeros(n)
    for j, m in enumerate(ms):
        w = np.where(np.isnan(m.waste), 2.0, m.waste)
        lw = m.opt.lower
        rk = _RANK[m.opt.fp.kind]
        less = (w < bw) | ((w == bw) & ((lw < bl) | ((lw == bl) & (rk < br))))
        take = pool[j] & ((best < 0) | less)
        best[take], bw[take], bl[take], br[take] = j, w[take], lw[take], rk
    return best


def _platform(
    b: _Builder, p: Platform, cat: Catalogue, opts: PlatformOptions
) -> dict[str, np.ndarray]:
    """The table's columns for platform ``p``, one entry per venue."""
    n = b.n
    layer = b.layer
    basis, _ = basis_for(p.meaning, layer)
    usage = p.usage.get(b.country or "")
    conv, unit = conversion(p, usage, opts.segment_share, b.country)
    fps = p.footprints_for(b.country)
    catch = (b.catchment_pop("residents"), b.catchment_pop("workers"), b.catch_both)
    built = [b.build(fp, basis, p, conv) for fp in fps]
    ms = [_measure(o, basis, catch, conv, p) for o in built]
    rec = _recommend(ms, opts.managed_account, n)
    has = rec >= 0
    cols: dict[str, np.ndarray] = {}

    def pick(get: Any, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full(n, fill, dtype=dtype)
        for j, m in enumerate(ms):
            w = rec == j
            if w.any():
                v = get(m)
                out[w] = v[w] if isinstance(v, np.ndarray) else v
        return out

    total = pick(lambda m: m.total, np.nan, float)
    inside = pick(lambda m: m.inside, np.nan, float)
    share = pick(lambda m: m.share, np.nan, float)
    waste = pick(lambda m: m.waste, np.nan, float)
    lower = pick(lambda m: m.opt.lower, False, bool)
    met = pick(lambda m: m.met, None, object)
    kind = pick(lambda m: m.opt.fp.kind, None, object)
    label = pick(lambda m: m.opt.label, None, object)
    cols["footprint"], cols["footprint_kind"] = label, kind
    cols["people"] = np.where(has, np.rint(total), np.nan)
    res = pick(lambda m: m.opt.res if m.opt.res is not None else np.nan, np.nan, float)
    cols["residents"] = np.where(has, np.rint(res), np.nan)
    if basis == "residents+workers":
        wrk = pick(lambda m: m.opt.wrk if m.opt.wrk is not None else np.nan, np.nan, float)
        cols["workers"] = np.where(has, np.rint(wrk), np.nan)
        both = pick(lambda m: m.both, np.nan, float)
        cols["live_and_work"] = np.where(has, np.rint(both), np.nan)
    else:
        cols["workers"] = np.full(n, np.nan)
        cols["live_and_work"] = np.full(n, np.nan)
    cols["people_in_catchment"] = np.where(has, np.rint(inside), np.nan)
    cols["accounts"] = (
        np.where(has, np.rint(total * usage.share), np.nan) if usage else np.full(n, np.nan)
    )
    cols["share_inside"], cols["waste_share"] = share, waste
    wlb = np.full(n, None, dtype=object)
    wlb[has] = lower[has]
    cols["waste_lower_bound"] = wlb
    money = np.full(n, np.nan)
    if opts.budget is not None:
        wv = has & ~np.isnan(waste)
        money[wv] = [round(opts.budget * w, 2) for w in waste[wv].tolist()]
    cols["waste_money"] = money
    cols["min_audience"] = np.full(n, p.min_audience, dtype=object)
    located = p.min_applies_to == "location"
    fp_pool = np.where(has & located, np.rint(total * conv), np.nan) if located else None
    c_pool = np.where(has & located, np.rint(inside * conv), np.nan) if located else None
    cols["footprint_pool"] = fp_pool if fp_pool is not None else np.full(n, np.nan)
    cols["catchment_pool"] = c_pool if c_pool is not None else np.full(n, np.nan)
    cols["min_audience_met"] = met
    # verdicts
    verdict = np.full(n, "cannot_run", dtype=object)
    w = waste
    runs = has & (met != False) & ~np.isnan(w)  # noqa: E712
    verdict[runs & (w < cat.good_below)] = "good"
    verdict[runs & (w >= cat.good_below) & (w < cat.workable_below)] = "workable"
    verdict[runs & (w >= cat.workable_below)] = "poor"
    unavailable = np.array([~m.opt.ok for m in ms]) if ms else np.zeros((0, n), bool)
    other = np.array([m.opt.fp.kind == "other" for m in ms], bool)
    only_other = unavailable.any(0) & ~(unavailable & ~other[:, None]).any(0)
    verdict[~has & only_other] = "not_measurable"
    cols["verdict"] = verdict
    cols["_c_raw"] = inside * conv
    ctx = _Ctx(p, ms, rec, has, cols, waste, lower, n)
    cols["advice"] = _advice(ctx, opts, b.country, unit)
    del cols["_c_raw"]
    cols["id"] = np.full(n, p.id, dtype=object)
    cols["name"] = np.full(n, p.name, dtype=object)
    cols["_sort"] = np.array([_VERDICT_ORDER[v] for v in verdict.tolist()], float)
    cols["_waste"] = np.where(np.isnan(waste), 2.0, waste)
    return cols


# --------------------------------------------------------------------------------- the table


def platform_table(
    layer: PopulationLayer,
    facts: Facts,
    platforms: list[Platform],
    cat: Catalogue,
    opts: PlatformOptions,
) -> dict[str, np.ndarray]:
    """The platform table of the venues of ``facts``: columns over (venue, platform) rows.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    facts : Facts
        The venues' measured footprints (circular catchments).
    platforms : list of Platform
        The platforms to judge (see :func:`geotarget.platforms.applicable`).
    cat : Catalogue
        The catalogue (its verdict scale).
    opts : PlatformOptions
        The advertiser's options.

    Returns
    -------
    dict of str to numpy.ndarray
        :data:`TABLE_COLUMNS` plus ``_venue`` (the venue's index in ``facts``), rows venue by
        venue, each venue's platforms best verdict first, then least waste, as
        :func:`geotarget.platforms.evaluate` orders them.  Numbers are floats (NaN: none);
        ``waste_lower_bound``, ``min_audience`` and ``min_audience_met`` hold Python values.
    """
    cov = POSTCODE_COVERAGE if opts.postcode_coverage is None else opts.postcode_coverage
    b = _Builder(facts, opts.country, cov)
    n, k = facts.n, len(platforms)
    per = []
    for p in platforms:
        per.append(_platform(b, p, cat, opts))
    venue = np.repeat(np.arange(n), k)
    if not k:
        return {c: np.zeros(0, dtype=object) for c in [*TABLE_COLUMNS, "_venue"]}
    stack = {c: np.stack([d[c] for d in per], axis=1).reshape(-1) for c in per[0]}
    plat = np.tile(np.arange(k), n)
    order = np.lexsort((plat, stack["_waste"], stack["_sort"], venue))
    out = {c: stack[c][order] for c in TABLE_COLUMNS}
    out["_venue"] = venue[order]
    return out


def frame(cols: dict[str, np.ndarray], rows: slice) -> pd.DataFrame:
    """Rows ``rows`` of :func:`platform_table`'s columns as a table, typed as a table made from
    the per-venue rows (``platform_records``) would be.

    Parameters
    ----------
    cols : dict
        :func:`platform_table`'s columns (plus any others, e.g. ``venue_id``).
    rows : slice
        The rows.

    Returns
    -------
    pandas.DataFrame
    """
    data: dict[str, Any] = {}
    for c, a in cols.items():
        v = a[rows]
        if c in _INTS or c in _FLOATS:
            miss = np.isnan(v)
            if miss.all():
                data[c] = np.full(len(v), None, dtype=object)
            elif not miss.any() and c in _INTS:
                data[c] = v.astype(np.int64)
            else:
                data[c] = v.astype(float)
        else:  # text, and Python values (bools, numbers, None): typed as pandas infers them
            data[c] = v.tolist()
    return pd.DataFrame(data)


_INTS = {
    "people",
    "residents",
    "workers",
    "live_and_work",
    "people_in_catchment",
    "accounts",
    "footprint_pool",
    "catchment_pool",
}
_FLOATS = {"share_inside", "waste_share", "waste_money"}
