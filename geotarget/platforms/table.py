"""The platform table for many venues, as array work: one column at a time, per platform.

:class:`~geotarget.platforms.feasibility.Evaluator` judges one venue and one platform at a time
and returns the whole nested row (the JSON contract).  A batch only needs the flat table
(:data:`geotarget.result.PLATFORM_COLUMNS`), so this module works out the same figures for every
venue of a batch at once: each footprint option of a platform as arrays over venues (the same
:class:`~geotarget.platforms.footprints.Facts` the per-venue path reads), then the people, shares
of waste, minimum-audience checks, the recommended option, the verdict and the advice text
(its sentences filled from templates column by column).

The per-venue path stays the reference: ``tests/test_platform_table.py`` checks that both give
the same table, value for value and type for type.

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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..layers.base import PopulationLayer
from ..result import PLATFORM_COLUMNS
from .advice import VERDICTS
from .builders import _fmt_radius, smallest_place
from .feasibility import basis_for, conversion
from .footprints import COVERED, POPS, Facts, _rkey
from .model import Catalogue, Footprint, Platform
from .options import POSTCODE_COVERAGE, PlatformOptions

__all__ = ["TABLE_COLUMNS", "platform_table"]

#: the columns made here: :data:`geotarget.result.PLATFORM_COLUMNS`, the one list of them
TABLE_COLUMNS = PLATFORM_COLUMNS

_RANK = {"radius": 0, "postcode": 1, "place": 2, "country": 3, "other": 4}
_VERDICT_ORDER = {v: k for k, v in enumerate(VERDICTS)}
#: ``f"{w:.0%}"`` for w*100 rounded to a whole number (Python formats w*100 to 0 decimals,
#: rounding half to even, as numpy's rint does)
_PCT0 = np.array([f"{k}%" for k in range(0, 101)], dtype=object)


def _pct0(w: np.ndarray) -> np.ndarray:
    """``f"{w:.0%}"`` of each share in [0, 1]."""
    k = np.rint(np.asarray(w, dtype=float) * 100).astype(np.int64)
    out: np.ndarray = _PCT0[np.clip(k, 0, 100)]
    bad = (k < 0) | (k > 100)
    if bad.any():  # never for shares; kept exact anyway
        out[bad] = [f"{x:.0%}" for x in np.asarray(w, dtype=float)[bad].tolist()]
    return out


@dataclass
class _Opt:
    """One footprint option of one platform, for every venue (arrays over venues).

    ``ok`` marks the venues where the option can be measured; elsewhere ``reason`` says why
    not.  ``res``/``wrk`` are None where the layer lacks the population; ``lo``/``hi`` None
    where the option has no range; ``in_res``/``in_wrk`` None where the footprint holds the
    whole catchment.
    """

    fp: Footprint
    ok: np.ndarray
    reason: np.ndarray
    label: np.ndarray
    res: np.ndarray | None
    wrk: np.ndarray | None
    lower: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    in_res: np.ndarray | None = None
    in_wrk: np.ndarray | None = None
    widened: np.ndarray | None = None
    covered: np.ndarray | None = None


def _constant_reason(fp: Footprint, n: int, reason: str) -> _Opt:
    return _Opt(
        fp,
        np.zeros(n, bool),
        np.full(n, reason, dtype=object),
        np.full(n, None, dtype=object),
        None,
        None,
        np.zeros(n, bool),
    )


def _total(res: np.ndarray | None, wrk: np.ndarray | None, basis: str, n: int) -> np.ndarray:
    """:attr:`People.total`: residents, plus workers on ``residents+workers`` (None: 0)."""
    r = np.zeros(n) if res is None else res
    if basis == "residents+workers":
        return r + (np.zeros(n) if wrk is None else wrk)
    return r + 0.0


class _Builder:
    """Footprint options as arrays over the venues of ``facts`` (see :class:`FootprintBuilder`
    for the rules, one venue at a time)."""

    def __init__(self, facts: Facts, country: str | None, postcode_coverage: float) -> None:
        self.facts, self.layer, self.n = facts, facts.layer, facts.n
        self.country = country or self.layer.country
        self.postcode_coverage = postcode_coverage
        self._built: dict[tuple[Any, ...], _Opt] = {}
        self._place_memo: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}
        self.catch = {
            pop: None if c is None else (c.estimate, c.low, c.high)
            for pop, c in facts.catch.items()
        }

    def catchment_pop(self, pop: str) -> np.ndarray | None:
        c = self.catch.get(pop)
        return None if c is None else np.asarray(c[0], dtype=float)

    def build(self, fp: Footprint, basis: str, p: Platform, conv: float) -> _Opt:
        n = self.n
        if fp.countries and self.country not in fp.countries:
            return _constant_reason(fp, n, f"only offered in {', '.join(fp.countries)}")
        if fp.kind == "other":
            return _constant_reason(fp, n, f"cannot be measured: {fp.note}")
        if fp.kind == "radius":
            return self.radius(fp, basis, p, conv)
        key = (fp.kind, basis, fp.level, fp.levels)
        if key not in self._built:
            make = {"postcode": self.postcode, "place": self.place, "country": self.country_fp}
            self._built[key] = make[fp.kind](fp, basis)
        o = self._built[key]
        return o if o.fp is fp else _Opt(**{**o.__dict__, "fp": fp})

    # -- radius --------------------------------------------------------------------------------
    def radius(self, fp: Footprint, basis: str, p: Platform, conv: float) -> _Opt:
        need = p.min_audience if p.min_applies_to == "location" else None
        pick = self.facts.radius(fp, basis, min_audience=need, conv=conv)
        n = self.n
        ok = np.array([x is None for x in pick.reason.tolist()], bool)
        idx = np.nonzero(ok)[0]
        r = pick.r
        self.facts.count_circles(idx, r[idx])
        keys = [(i, _rkey(x)) for i, x in zip(idx.tolist(), r[idx].tolist())]
        got = [self.facts._circle[k] for k in keys]
        arrs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray] | None] = {}
        for pop in POPS:
            if self.catch.get(pop) is None:
                arrs[pop] = None
                continue
            e, lo, hi = np.zeros(n), np.zeros(n), np.zeros(n)
            trip = np.array([g[pop] for g in got], dtype=float).reshape(-1, 3)
            e[idx], lo[idx], hi[idx] = trip[:, 0], trip[:, 1], trip[:, 2]
            arrs[pop] = (e, lo, hi)
        labels = np.full(n, None, dtype=object)
        memo: dict[tuple[float, str], str] = {}
        for i, rr, u in zip(idx.tolist(), r[idx].tolist(), pick.unit[idx].tolist()):
            k = (rr, u)
            if k not in memo:
                memo[k] = f"{_fmt_radius(rr, u)} circle"
            labels[i] = memo[k]
        res, wrk = arrs.get("residents"), arrs.get("workers")
        lo = _total(None if res is None else res[1], None if wrk is None else wrk[1], basis, n)
        hi = _total(None if res is None else res[2], None if wrk is None else wrk[2], basis, n)
        return _Opt(
            fp,
            ok,
            pick.reason,
            labels,
            None if res is None else res[0],
            None if wrk is None else wrk[0],
            np.asarray(pick.lower, bool) & ok,
            lo=lo,
            hi=hi,
            widened=np.asarray(pick.widened, bool),
        )

    # -- postcode districts --------------------------------------------------------------------
    def postcode(self, fp: Footprint, basis: str) -> _Opt:
        n = self.n
        if fp.level != "district":
            what = {"zip": "ZIP code", "fsa": "Canadian forward sortation area (FSA)"}
            return _constant_reason(
                fp,
                n,
                f"{fp.level} footprints need {what.get(fp.level or '', fp.level or '')} "
                "boundaries, which geotarget does not have for this area",
            )
        if self.country != "GB":
            return _constant_reason(fp, n, "UK postcode districts exist only in Great Britain")
        ds, tot, _ = self.facts.districts()
        if not len(ds.codes):
            return _constant_reason(fp, n, "no postcode units near the layer")
        assert self.facts._districts is not None
        _, _, dist_of, gains, bounds = self.facts._districts
        npair = len(dist_of)
        venue_of = np.repeat(np.arange(n), np.diff(bounds))
        gain = _total_opt(gains, basis, npair)
        whole = np.broadcast_to(
            _total_opt({p: None if t is None else t[0][dist_of] for p, t in tot.items()}, basis, 0),
            npair,
        )
        gain = np.broadcast_to(gain, npair)
        total = _total(self.catchment_pop("residents"), self.catchment_pop("workers"), basis, n)
        outside = np.maximum(whole - gain, 0.0)
        key = -(gain / np.maximum(outside, 1e-9))
        order = np.lexsort((key, venue_of))  # stable: per venue as argsort(kind="stable")
        order = order[gain[order] > 0]
        v = venue_of[order]
        g = gain[order]
        start = np.searchsorted(v, np.arange(n))
        rank = np.arange(len(v)) - start[v]
        thr = self.postcode_coverage * total
        got = np.zeros(n)
        chosen = np.zeros(len(v), bool)
        by_rank = np.argsort(rank, kind="stable")
        cuts = np.searchsorted(rank[by_rank], np.arange(int(rank.max(initial=-1)) + 2))
        for j in range(len(cuts) - 1):
            e = by_rank[cuts[j] : cuts[j + 1]]
            ve = v[e]
            # the first district always; then while the districts so far fall short
            ch = (got[ve] < thr[ve]) if j else np.ones(len(e), bool)
            got[ve[ch]] += g[e[ch]]
            chosen[e[ch]] = True
        pairs = order[chosen]  # pair indices, venue by venue, in the order chosen
        pv = venue_of[pairs]
        count = np.bincount(pv, minlength=n)
        ok = count > 0
        reason = np.full(n, None, dtype=object)
        reason[~ok] = "no postcode district holds any of the catchment's people"
        sel = dist_of[pairs]
        sums = _SegmentSums(pv, count)
        vals: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray] | None] = {}
        for p, t in tot.items():
            if t is None:
                vals[p] = None
                continue
            t0, t1, t2 = t[0][sel], t[1][sel], t[2][sel]
            e_ = sums(t0)
            vals[p] = (e_, e_ - np.sqrt(sums((t0 - t1) ** 2)), e_ + np.sqrt(sums((t2 - t0) ** 2)))
        inside = {p: None if gains.get(p) is None else sums(gains[p][pairs]) for p in POPS}
        area = sums(ds.areas[sel])
        covsum = sums(ds.coverage[sel] * ds.areas[sel])
        cov = np.zeros(n)
        np.divide(covsum, area, out=cov, where=area > 0)
        labels = np.full(n, None, dtype=object)
        codes = ds.codes[sel].tolist()
        ends = np.cumsum(count)
        for i in np.nonzero(ok)[0].tolist():
            names = sorted(codes[ends[i] - count[i] : ends[i]])
            labels[i] = (
                "postcode districts "
                + ", ".join(names[:6])
                + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            )
        covered = np.ones(n)
        nz = total != 0
        covered[nz] = got[nz] / total[nz]
        res, wrk = vals.get("residents"), vals.get("workers")
        return _Opt(
            fp,
            ok,
            reason,
            labels,
            None if res is None else res[0],
            None if wrk is None else wrk[0],
            (cov < COVERED) & ok,
            lo=_total(None if res is None else res[1], None if wrk is None else wrk[1], basis, n),
            hi=_total(None if res is None else res[2], None if wrk is None else wrk[2], basis, n),
            in_res=inside.get("residents"),
            in_wrk=inside.get("workers"),
            covered=covered,
        )

    # -- places ----------------------------------------------------------------------------------
    def place(self, fp: Footprint, basis: str) -> _Opt:
        n = self.n
        places = self.layer.places
        levels = [lv for lv in fp.levels if places is not None and lv in places.levels]
        if places is None or not levels:
            have = ", ".join(places.levels) if places is not None else "none"
            return _constant_reason(
                fp,
                n,
                f"no {'/'.join(fp.levels)} boundaries in layer {self.layer.name} (it has: "
                f"{have}); such footprints cannot be measured here",
            )
        self.facts.places(levels[0], 0) if n else None  # the overlaps, worked out once
        per_level = [self.facts._places[lv] for lv in levels] if n else []
        ok = np.zeros(n, bool)
        reason = np.full(n, None, dtype=object)
        labels = np.full(n, None, dtype=object)
        res = np.zeros(n) if "residents" in self.catch and self.catch["residents"] else None
        wrk = np.zeros(n) if "workers" in self.catch and self.catch["workers"] else None
        res_none = wrk_none = False
        for i in range(n):
            key = (basis, tuple(levels), tuple(pl[i] for pl in per_level))
            if key not in self._place_memo:
                self._place_memo[key] = self._one_place(levels, key[2], basis)
            got = self._place_memo[key]
            if got is None:
                reason[i] = "the catchment lies in no place of this layer"
                continue
            ok[i] = True
            labels[i], r_, w_ = got
            if res is not None:
                if r_ is None:
                    res_none = True
                else:
                    res[i] = r_
            if wrk is not None:
                if w_ is None:
                    wrk_none = True
                else:
                    wrk[i] = w_
        assert not (res_none or wrk_none), "place totals lack a population the layer has"
        return _Opt(
            fp,
            ok,
            reason,
            labels,
            res,
            wrk,
            np.full(n, not places.complete) & ok,
        )

    def _one_place(
        self, levels: list[str], codes_per_level: tuple[tuple[str, ...], ...], basis: str
    ) -> tuple[str, float | None, float | None] | None:
        best = smallest_place(self.facts, list(zip(levels, codes_per_level)), basis)
        if best is None:
            return None
        _, _, vals, _, label = best
        return label, vals.get("residents"), vals.get("workers")

    # -- country ---------------------------------------------------------------------------------
    def country_fp(self, fp: Footprint, basis: str) -> _Opt:
        n = self.n
        if not self.country:
            return _constant_reason(fp, n, "the layer's country is unknown (give --country)")
        if self.layer.country != self.country:
            return _constant_reason(
                fp,
                n,
                f"layer {self.layer.name} does not say which of its cells or zones lie in "
                f"{self.country} (it may hold several countries), so the country footprint "
                "cannot be measured: its people would be a guess",
            )
        s = self.facts.surfaces
        label = f"all of {self.country} (as far as layer {self.layer.name} reaches)"
        return _Opt(
            fp,
            np.ones(n, bool),
            np.full(n, None, dtype=object),
            np.full(n, label, dtype=object),
            None if s.get("residents") is None else np.full(n, s["residents"].total),  # type: ignore[union-attr]
            None if s.get("workers") is None else np.full(n, s["workers"].total),  # type: ignore[union-attr]
            np.ones(n, bool),
        )


def _total_opt(vals: dict[str, Any], basis: str, n: int) -> Any:
    """:func:`basis_total` of arrays (None counts as 0), as the per-venue code adds them."""
    if not vals:
        return np.zeros(n)
    r = vals.get("residents")
    w = vals.get("workers")
    r = 0.0 if r is None else r
    return r + ((0.0 if w is None else w) if basis == "residents+workers" else 0.0)


class _SegmentSums:
    """Sums of consecutive segments (one per venue, ``count`` long), each as ``a[sel].sum()``."""

    def __init__(self, seg: np.ndarray, count: np.ndarray) -> None:
        self.n = len(count)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        self.groups = []
        for length in np.unique(count[count > 0]).tolist():
            venues = np.nonzero(count == length)[0]
            idx = start[venues][:, None] + np.arange(length)[None, :]
            self.groups.append((venues, idx))

    def __call__(self, a: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n)
        for venues, idx in self.groups:
            out[venues] = a[idx].sum(axis=1)  # row sums: the order of a 1-D sum of each row
        return out


# --------------------------------------------------------------------------------- one platform


@dataclass
class _Measured:
    """An option's figures for every venue (see ``Evaluator._measure``)."""

    opt: _Opt
    total: np.ndarray
    inside: np.ndarray
    share: np.ndarray  # NaN: None
    waste: np.ndarray  # NaN: None
    fp_pool: np.ndarray | None
    c_pool: np.ndarray | None
    met: np.ndarray  # object: True / False / None


def _measure(o: _Opt, basis: str, catch: tuple[Any, Any], conv: float, p: Platform) -> _Measured:
    n = len(o.ok)
    total = _total(o.res, o.wrk, basis, n)
    if o.in_res is None and o.in_wrk is None:
        inside = _total(catch[0], catch[1], basis, n)
    else:
        inside = _total(o.in_res, o.in_wrk, basis, n)
    share = np.full(n, np.nan)
    pos = total > 0
    share[pos] = np.minimum(1.0, inside[pos] / total[pos])
    waste = np.maximum(0.0, 1.0 - share)  # NaN stays NaN
    req = p.min_audience
    if p.min_applies_to != "location":
        fp_pool = c_pool = None
        met = np.full(n, None, dtype=object)
    else:
        fp_pool, c_pool = total * conv, inside * conv
        if req is None:
            met = np.full(n, None, dtype=object)
        else:
            m = fp_pool >= req
            met = np.full(n, True, dtype=object)
            met[~m] = False
            met[~m & o.lower] = None  # beyond the data: its real pool may be large enough
    return _Measured(o, total, inside, share, waste, fp_pool, c_pool, met)


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
    catch = (b.catchment_pop("residents"), b.catchment_pop("workers"))
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
    else:
        cols["workers"] = np.full(n, np.nan)
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


@dataclass
class _Ctx:
    """What the advice of one platform reads, for every venue."""

    p: Platform
    ms: list[_Measured]
    rec: np.ndarray
    has: np.ndarray
    cols: dict[str, np.ndarray]
    waste: np.ndarray
    lower: np.ndarray
    n: int

    @property
    def wv(self) -> np.ndarray:
        """Venues whose recommended option has a waste share."""
        out: np.ndarray = self.has & ~np.isnan(self.waste)
        return out

    def slot(self) -> np.ndarray:
        """An empty sentence slot (None: no sentence) for every venue."""
        return np.full(self.n, None, dtype=object)


def _advice(c: _Ctx, opts: PlatformOptions, country: str | None, unit: str) -> np.ndarray:
    """The advice of :func:`geotarget.platforms.advice.advice`, joined, for every venue."""
    p, ms, has, name = c.p, c.ms, c.has, c.p.name
    held = _held_back(c, opts.managed_account)
    slots = [_target(c), *held]
    if p.meaning == "presence_or_interest":
        s = c.slot()
        s[has] = (
            f"{name}: choose 'Presence' (people in or regularly in the area), not the "
            "default 'Presence or interest', which also reaches people merely interested "
            "in the place -- waste would then exceed these figures."
        )
        slots.append(s)
    slots.append(_min_audience_advice(c, unit))
    slots += _better(c)
    s = c.slot()
    for j, m in enumerate(ms):
        if m.opt.fp.prov.confidence == "uncertain":
            s[has & (c.rec == j)] = (
                f"{name}: this option rests on an uncertain rule "
                f"({m.opt.fp.note or 'not documented'}); check it in the platform."
            )
    slots.append(s)
    if any(f.kind == "radius" and not f.min_known for f in p.footprints):
        s = c.slot()
        s[has & (c.cols["footprint_kind"] == "radius")] = (
            f"{name}: its smallest radius is not documented, so the circle is the "
            "catchment's own size, a best case; check the smallest the platform accepts."
        )
        slots.append(s)
    for m in ms:
        if m.opt.fp.kind == "other":
            s = c.slot()
            miss = has & ~m.opt.ok
            s[miss] = [f"{name}: another option {r}." for r in m.opt.reason[miss].tolist()]
            slots.append(s)
    tail = [f"{name}: {a}" for a in p.advice]
    if p.stale():
        tail.append(f"{name}: some rules were read more than 12 months ago and may be stale.")
    for t in tail:
        s = c.slot()
        s[has] = t
        slots.append(s)
    out = np.empty(c.n, dtype=object)
    for i, row in enumerate(zip(*slots)):
        out[i] = " ".join(x for x in row if x is not None)
    for i in np.nonzero(~has)[0].tolist():  # no option at all
        reasons = "; ".join(
            f"{m.opt.fp.kind}: {m.opt.reason[i]}" for m in ms if not m.opt.ok[i]
        ) or (f"the catalogue lists no targeting option for {country or 'this country'}")
        parts = [f"{name}: no targeting option can be measured here ({reasons})."]
        parts += [h[i] for h in held if h[i] is not None]
        out[i] = " ".join(parts)
    return out


def _target(c: _Ctx) -> np.ndarray:
    """What to target and the share of the audience outside the catchment."""
    s, name, label, waste = c.slot(), c.p.name, c.cols["footprint"], c.waste
    wv = c.wv
    lb = np.where(c.lower, " at least", "")
    pct = np.full(c.n, None, dtype=object)
    pct[wv] = _pct0(waste[wv])
    for j, m in enumerate(c.ms):
        k = m.opt.fp.kind
        idx = np.nonzero(wv & (c.rec == j))[0].tolist()
        if k == "radius":
            wid = m.opt.widened
            assert wid is not None
            for i in idx:
                why = (
                    "the smallest whose audience clears its minimum"
                    if wid[i]
                    else "the smallest footprint it allows here"
                )
                s[i] = (
                    f"{name}: a {label[i]} is {why}; "
                    f"expect{lb[i]} {pct[i]} of the audience outside the catchment."
                )
        elif k == "place":
            for i in idx:
                s[i] = (
                    f"{name}: the smallest footprint it surely offers here is "
                    f"{label[i]}:{lb[i]} {waste[i]:.1%} of the audience would be outside the "
                    "catchment."
                )
        elif k == "postcode":
            cv = m.opt.covered
            assert cv is not None
            for i in idx:
                s[i] = (
                    f"{name}: target {label[i]} (covering "
                    f"{cv[i]:.0%} of the catchment's people); "
                    f"expect{lb[i]} {pct[i]} of the audience outside the catchment."
                )
        else:
            for i in idx:
                s[i] = (
                    f"{name}: only country-wide targeting is open here;{lb[i]} {waste[i]:.1%} of "
                    "the audience would be outside the catchment."
                )
    return s


def _held_back(c: _Ctx, managed_account: bool) -> list[np.ndarray]:
    """The options held back because they need a managed account (or that one was used)."""
    out = []
    name = c.p.name
    for j, m in enumerate(c.ms):
        if not m.opt.fp.managed:
            continue
        s = c.slot()
        out.append(s)
        cond = m.opt.fp.note
        for i in np.nonzero(m.opt.ok)[0].tolist():
            if managed_account:
                if c.rec[i] == j:
                    s[i] = (
                        f"{name}: '{m.opt.label[i]}' is offered {cond}; recommended "
                        "because you declared a managed account."
                    )
                continue
            wm = "" if np.isnan(m.waste[i]) else f" (wasting {m.waste[i]:.0%})"
            s[i] = (
                f"{name}: '{m.opt.label[i]}'{wm} is not the recommendation: it is offered "
                f"{cond}. Declare --managed-account if you have that access."
            )
    return out


def _better(c: _Ctx) -> list[np.ndarray]:
    """Options that would waste less but were not recommended, and why."""
    out = []
    wv, name = c.wv, c.p.name
    for m in c.ms:
        if m.opt.fp.managed:
            continue
        can = np.asarray(m.met != False, bool)  # noqa: E712 - elementwise on None/True/False
        better = wv & m.opt.ok & can & ~np.isnan(m.waste) & (m.waste < c.waste - 1e-9)
        idx = np.nonzero(better)[0]
        if not len(idx):
            continue
        why = (
            "the smallest radius is not documented (the circle is drawn at the catchment's own "
            "size, a best case); check the smallest the platform accepts"
            if m.opt.fp.kind == "radius" and not m.opt.fp.min_known
            else "that option rests on an uncertain rule; check the platform offers it"
        )
        s = c.slot()
        for i, pc in zip(idx.tolist(), _pct0(m.waste[idx]).tolist()):
            s[i] = f"{name}: '{m.opt.label[i]}' would waste less ({pc}), but {why}."
        out.append(s)
    return out


def _min_audience_advice(c: _Ctx, u: str) -> np.ndarray:
    """The sentence of ``_min_audience_tips`` for every venue with a recommendation."""
    p, cols, has, s = c.p, c.cols, c.has, c.slot()
    name, req = p.name, p.min_audience
    if req is None:
        s[has] = f"{name} documents no minimum audience for location targeting."
        return s
    if p.min_applies_to != "location":
        s[has] = (
            f"{name}'s minimum of {req:,.0f} {p.min_counts} applies to customer "
            "lists, not to location targeting: it is not checked for this footprint."
        )
        return s
    met = cols["min_audience_met"]
    fpp, cp = cols["footprint_pool"], cols["catchment_pool"]
    c_raw = cols["_c_raw"]
    for i in np.nonzero(has)[0].tolist():
        m = met[i]
        if m is False:
            s[i] = (
                f"{name} cannot run: the footprint holds about "
                f"{int(fpp[i]):,} {u}, below its minimum of "
                f"{req:,.0f} {p.min_counts}."
            )
        elif m is None and fpp[i] < req:
            s[i] = (
                f"{name}: the footprint reaches beyond the data; within it, about "
                f"{int(fpp[i]):,} {u} -- whether it clears the "
                f"minimum of {req:,.0f} is unknown."
            )
        elif c_raw[i] < req:
            s[i] = (
                f"Even perfect geography would not clear {name}'s minimum of "
                f"{req:,.0f} {p.min_counts}: the catchment alone holds about "
                f"{int(cp[i]):,} {u}."
            )
    return s


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
    "people_in_catchment",
    "accounts",
    "footprint_pool",
    "catchment_pool",
}
_FLOATS = {"share_inside", "waste_share", "waste_money"}
