"""The advice text of the platform table, for every venue of a batch at once.

The array counterpart of :func:`geotarget.platforms.advice.advice`: the same sentences, in the
same order, filled from templates column by column (one slot per sentence and venue, None where
a venue gets none), then joined.  :mod:`geotarget.platforms.table` calls :func:`_advice` with
what it has worked out (:class:`_Ctx`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import Platform
from .options import PlatformOptions
from .table_builders import _Measured

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
