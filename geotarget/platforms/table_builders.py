"""The footprint options of a platform as arrays over the venues of a batch, and their figures.

The array counterpart of :mod:`geotarget.platforms.builders` (one venue at a time) and of
``Evaluator._measure``: :class:`_Builder` makes each footprint option of a platform for every
venue at once from the batch's :class:`~geotarget.platforms.footprints.Facts` (radius, postcode
districts, places, country), and :func:`_measure` works out an option's people, share inside
the catchment, waste and minimum-audience check.  :mod:`geotarget.platforms.table` recommends,
judges and makes the table; the rules that keep the two paths equal are in its text.

People are counted once as the per-venue path counts them: on ``residents+workers``, the
workers who also live in a footprint (``both``; in the catchment part of a set of postcode
districts, ``in_both``) are taken off, from the layer's commuting flows
(:mod:`geotarget.layers.commuting`), where it has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..layers.commuting import OVERLAP
from .builders import _fmt_radius, smallest_place
from .footprints import COVERED, POPS, Facts
from .model import Footprint, Platform
from .radius import _rkey


@dataclass
class _Opt:
    """One footprint option of one platform, for every venue (arrays over venues).

    ``ok`` marks the venues where the option can be measured; elsewhere ``reason`` says why
    not.  ``res``/``wrk`` are None where the layer lacks the population; ``lo``/``hi`` None
    where the option has no range; ``in_res``/``in_wrk`` None where the footprint holds the
    whole catchment.  ``both`` (``in_both``: of the catchment's part inside) is the workers who
    also live in the footprint, counted once, NaN where unknown for a venue and None where
    unknown for all (the layer has no commuting flows).
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
    both: np.ndarray | None = None
    in_both: np.ndarray | None = None


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


def _total(
    res: np.ndarray | None,
    wrk: np.ndarray | None,
    basis: str,
    n: int,
    both: np.ndarray | None = None,
) -> np.ndarray:
    """:attr:`People.total`: residents, plus on ``residents+workers`` the workers less those
    who also live there (``both``; None or NaN: nobody taken off), as :func:`basis_total`
    adds them."""
    r = np.zeros(n) if res is None else res
    if basis == "residents+workers":
        out = r + (np.zeros(n) if wrk is None else wrk)
        if both is not None and wrk is not None:
            out = out - np.where(np.isnan(both), 0.0, both)
        return out
    return r + 0.0


def _overlaps(got: list[dict[str, Any]], idx: np.ndarray, n: int) -> np.ndarray | None:
    """The ``"overlap"`` of measured people ``got[j]`` (venue ``idx[j]``), NaN where missing;
    None where none has one."""
    vals = [g.get(OVERLAP) for g in got]
    if all(v is None for v in vals):
        return None
    out = np.full(n, np.nan)
    out[idx] = [np.nan if v is None else v[0] for v in vals]
    return out


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
        #: per venue, the workers who also live in its catchment (None: not known)
        self.catch_both: np.ndarray | None = facts.catch_overlap

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
        both = _overlaps(got, idx, n)
        lo = _total(
            None if res is None else res[1], None if wrk is None else wrk[1], basis, n, both
        )
        hi = _total(
            None if res is None else res[2], None if wrk is None else wrk[2], basis, n, both
        )
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
            both=both,
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
        both = in_both = None
        if basis == "residents+workers":
            once = self.facts.districts_overlap(pv, pairs, n)
            if once is not None:  # (venues without districts: nothing, taken off nothing)
                both, in_both = once
        return _Opt(
            fp,
            ok,
            reason,
            labels,
            None if res is None else res[0],
            None if wrk is None else wrk[0],
            (cov < COVERED) & ok,
            lo=_total(
                None if res is None else res[1], None if wrk is None else wrk[1], basis, n, both
            ),
            hi=_total(
                None if res is None else res[2], None if wrk is None else wrk[2], basis, n, both
            ),
            in_res=inside.get("residents"),
            in_wrk=inside.get("workers"),
            covered=covered,
            both=both,
            in_both=in_both,
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
        both = np.full(n, np.nan)
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
            labels[i], r_, w_, b_ = got
            if b_ is not None:
                both[i] = b_
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
            both=None if np.isnan(both).all() else both,
        )

    def _one_place(
        self, levels: list[str], codes_per_level: tuple[tuple[str, ...], ...], basis: str
    ) -> tuple[str, float | None, float | None, float | None] | None:
        best = smallest_place(self.facts, list(zip(levels, codes_per_level)), basis)
        if best is None:
            return None
        _, _, vals, _, label = best
        return label, vals.get("residents"), vals.get("workers"), vals.get(OVERLAP)

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
        res, wrk = s.get("residents"), s.get("workers")
        flows = self.layer.commuting
        both = None
        if flows is not None and res is not None and wrk is not None:  # every flow is internal
            both = np.full(n, min(flows.total_internal, res.total, wrk.total))
        return _Opt(
            fp,
            np.ones(n, bool),
            np.full(n, None, dtype=object),
            np.full(n, label, dtype=object),
            None if res is None else np.full(n, res.total),
            None if wrk is None else np.full(n, wrk.total),
            np.ones(n, bool),
            both=both,
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
    both: np.ndarray  # the workers who also live in the footprint, taken off (NaN: not known)


def _measure(
    o: _Opt, basis: str, catch: tuple[Any, Any, Any], conv: float, p: Platform
) -> _Measured:
    """An option's figures (``catch``: the catchments' residents, workers and the workers who
    also live there, None where unknown)."""
    n = len(o.ok)
    total = _total(o.res, o.wrk, basis, n, o.both)
    both = np.full(n, np.nan)
    if basis == "residents+workers" and o.both is not None and o.wrk is not None:
        both = o.both.copy()
    if o.in_res is None and o.in_wrk is None:
        inside = _total(catch[0], catch[1], basis, n, catch[2])
        # a footprint holding the catchment holds at least its people: its overlap (exact for
        # places) and the catchment's (estimated) disagree by the estimate's error
        fix = ~np.isnan(both) & (total < inside)
        if fix.any():
            both[fix] = np.maximum(0.0, both[fix] - (inside[fix] - total[fix]))
            total = _total(o.res, o.wrk, basis, n, both)
    else:
        inside = _total(o.in_res, o.in_wrk, basis, n, o.in_both)
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
    return _Measured(o, total, inside, share, waste, fp_pool, c_pool, met, both)
