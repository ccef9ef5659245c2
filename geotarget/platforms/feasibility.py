"""Platform by platform: the smallest footprint it really allows around the catchment, the
people in it, the share inside the catchment (and so the share of spend wasted), the
minimum-audience check, a verdict and advice.

People are counted with the same engine as the catchment.  The basis follows the platform's
location meaning: "living in" counts residents; every other meaning (living or recently in,
recently in, presence...) counts residents plus workers travelling in (``destination - nomove``,
so nobody is counted twice).  Where workers are unavailable the basis is residents, labelled so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from .. import estimate as est
from ..catchment import Catchment, circle
from ..layers.base import PopulationLayer
from ..projections import BNG, aeqd, transformer
from ..units import UNITS
from ..venue import Venue
from .catalogue import Catalogue, Footprint, Platform

VERDICTS = ("good", "workable", "poor", "cannot_run")
#: share of the catchment's people that a set of postcode districts must cover (configurable)
POSTCODE_COVERAGE = 0.95
UNIT_WORDS = {"m": "m", "km": "km", "mi": "mi", "ft": "ft", "yd": "yd"}


@dataclass
class Built:
    """A footprint made for a platform option."""

    kind: str
    label: str
    geometry: object  # layer CRS
    detail: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    approximate: bool = False


@dataclass
class People:
    residents: float | None
    workers: float | None
    basis: str  # "residents" or "residents+workers"
    low: float | None = None  # range of the total on the basis (None: not known)
    high: float | None = None

    @property
    def total(self) -> float:
        return (self.residents or 0.0) + ((self.workers or 0.0)
                                           if self.basis == "residents+workers" else 0.0)


class Counter:
    """Counts people in geometries of the layer's CRS, with a small cache by key."""

    def __init__(self, layer: PopulationLayer, method: str | None) -> None:
        self.layer = layer
        self.res = layer.surface("residents", method)
        self.wrk = layer.surface("workers", method)
        self._cache: dict = {}
        self._ranges: dict = {}

    def count(self, geoms, keys=None, circles=None) -> list[tuple[float | None, float | None]]:
        geoms = np.asarray(geoms, dtype=object)
        out: list = [None] * len(geoms)
        todo = []
        for i in range(len(geoms)):
            k = keys[i] if keys is not None else None
            if k is not None and k in self._cache:
                out[i] = self._cache[k]
            else:
                todo.append(i)
        if todo:
            g = geoms[todo]
            c = None
            if circles is not None:
                assert len(todo) == len(geoms) == len(circles.radius)
                c = circles
            rc = est.count(self.res, g, circles=c) if self.res is not None else None
            wc = est.count(self.wrk, g, circles=c) if self.wrk is not None else None
            for j, i in enumerate(todo):
                val = (None if rc is None else float(rc.estimate[j]),
                       None if wc is None else float(wc.estimate[j]))
                out[i] = val
                rng = (None if rc is None else (float(rc.low[j]), float(rc.high[j])),
                       None if wc is None else (float(wc.low[j]), float(wc.high[j])))
                if keys is not None and keys[i] is not None:
                    self._cache[keys[i]] = val
                    self._ranges[keys[i]] = rng
        return out

    def people(self, geom, basis: str, key=None, circles=None) -> People:
        r, w = self.count([geom], [key], circles)[0]
        out = People(r, w, basis)
        rng = self._ranges.get(key)
        if rng is not None:
            rr, wr = rng
            lo = (rr[0] if rr else 0.0) + ((wr[0] if wr else 0.0)
                                           if basis == "residents+workers" else 0.0)
            hi = (rr[1] if rr else 0.0) + ((wr[1] if wr else 0.0)
                                           if basis == "residents+workers" else 0.0)
            out.low, out.high = lo, hi
        return out

    def place_people(self, places, level: str, codes: list[str], geom, basis: str,
                     key) -> People:
        """People in a place footprint: where a surface is the very zone set the places are made
        of, the sum of its member zones (exact, and fast); otherwise counted in ``geom``."""
        if key in self._cache:
            r, w = self._cache[key]
            return People(r, w, basis)
        member = np.isin(places.codes[level], codes)
        vals = []
        for s in (self.res, self.wrk):
            if s is None:
                vals.append(None)
            elif s.kind != "points" and len(s.geoms) == len(places.geoms) and (
                    s.geoms is places.geoms or all(a is b for a, b in zip(s.geoms[:50],
                                                                          places.geoms[:50]))):
                vals.append(float(s.values[member].sum()))
            else:
                vals.append(float(est.count(s, np.array([geom], dtype=object)).estimate[0]))
        self._cache[key] = tuple(vals)
        return People(vals[0], vals[1], basis)

    def totals(self, basis: str) -> People:
        """Everyone in the layer (the footprint is the whole coverage)."""
        return People(None if self.res is None else self.res.total,
                      None if self.wrk is None else self.wrk.total, basis)


def basis_for(meaning: str, layer: PopulationLayer) -> tuple[str, str]:
    """The people a platform's location meaning counts, and a label."""
    if meaning == "living_in":
        return "residents", "residents (the platform counts people living in the area)"
    if layer.surface("workers") is None:
        return "residents", ("residents only: workers are unavailable in this layer, so people "
                             "who come in to work are missing from both sides")
    return "residents+workers", ("residents plus people who travel in to work (the platform "
                                 "counts people living in or recently in the area)")


def _fmt_radius(r_m: float, unit: str) -> str:
    v = r_m / UNITS[unit]
    if unit == "m" and v >= 1000:
        v, unit = v / 1000, "km"
    text = f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {UNIT_WORDS[unit]}"


def smallest_radius(fp: Footprint, need_m: float) -> tuple[float, str] | None:
    """Smallest legal radius (metres, unit) >= ``need_m``: max(need, the unit's minimum),
    rounded up to a whole number of the unit where required; None if beyond every maximum."""
    best = None
    max_m = max(fp.max_m)
    for mn, unit in zip(fp.min_m, fp.units[:len(fp.min_m)]):
        r = max(need_m, mn)
        if fp.whole_numbers:
            r = math.ceil(r / UNITS[unit] - 1e-9) * UNITS[unit]
        if r <= max_m + 1e-6 and (best is None or r < best[0]):
            best = (r, unit)
    return best


def _radius_needed(catch: Catchment, venue: Venue) -> float:
    if catch.kind == "radius" and catch.radius_m is not None:
        return catch.radius_m
    g = catch.to_crs(aeqd(venue.lat, venue.lon))
    xy = shapely.get_coordinates(g)
    return float(np.hypot(xy[:, 0], xy[:, 1]).max())


class Evaluator:
    """Evaluates platforms for one venue and catchment on one layer."""

    def __init__(self, layer: PopulationLayer, venue: Venue, catch: Catchment, *,
                 method: str | None = None, country: str | None = None,
                 postcode_coverage: float = POSTCODE_COVERAGE) -> None:
        self.layer, self.venue, self.catch = layer, venue, catch
        self.country = country or layer.country
        self.geom = catch.to_crs(layer.crs)
        self.counter = Counter(layer, method)
        self.postcode_coverage = postcode_coverage
        self._built: dict = {}
        self.circles = None
        if catch.kind == "radius":
            self.circles = est.Circles([venue.lat], [venue.lon], [catch.radius_m], layer.crs)

    def _circle_at(self, r: float):
        return est.Circles([self.venue.lat], [self.venue.lon], [r], self.layer.crs)

    # -- footprints --------------------------------------------------------------------------
    def radius(self, fp: Footprint, basis: str) -> Built | str:
        need = _radius_needed(self.catch, self.venue)
        pick = smallest_radius(fp, need)
        if pick is None:
            return (f"the catchment needs a {need / 1000:,.1f} km circle, beyond the platform's "
                    f"maximum of {max(fp.max_m) / 1000:,.0f} km")
        r, unit = pick
        notes = []
        if fp.min_people:
            r, grown = self._grow_to_people(r, fp, basis)
            if grown:
                notes.append(f"widened to hold {fp.min_people:,.0f} people, as the platform does")
        key = ("radius", round(r, 3))
        if key not in self._built:
            c = circle(self.venue, r, max_radius=None)
            self._built[key] = c.to_crs(self.layer.crs)
        label = f"{_fmt_radius(r, unit)} circle"
        return Built("radius", label, self._built[key], {"radius_m": round(r, 3), "unit": unit},
                     notes)

    def _widen_for_minimum(self, p: Platform, fp: Footprint, b: Built, basis: str,
                           people_needed: float) -> Built | None:
        """The smallest legal circle whose audience clears the platform's minimum (a circle
        below it cannot run, so the advertiser must widen it), or None if none up to the
        maximum does."""
        def people(rad):
            g = circle(self.venue, rad, max_radius=None).to_crs(self.layer.crs)
            return self.counter.people(g, basis, ("radius", round(rad, 3)),
                                       self._circle_at(rad)).total

        lo, hi = b.detail["radius_m"], max(fp.max_m)
        if people(hi) < people_needed:
            return None
        for _ in range(30):
            mid = (lo + hi) / 2
            if people(mid) >= people_needed:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1.0:
                break
        unit = b.detail["unit"]
        r = math.ceil(hi / UNITS[unit] * 100) / 100 * UNITS[unit]  # 0.01 of the unit, upwards
        if fp.whole_numbers:
            r = math.ceil(hi / UNITS[unit] - 1e-9) * UNITS[unit]
        r = min(r, max(fp.max_m))
        key = ("radius", round(r, 3))
        if key not in self._built:
            self._built[key] = circle(self.venue, r, max_radius=None).to_crs(self.layer.crs)
        return Built("radius", f"{_fmt_radius(r, unit)} circle", self._built[key],
                     {"radius_m": round(r, 3), "unit": unit},
                     b.notes + ["widened until the audience clears the platform's minimum"])

    def _grow_to_people(self, r: float, fp: Footprint, basis: str) -> tuple[float, bool]:
        def people(rad):
            g = circle(self.venue, rad, max_radius=None).to_crs(self.layer.crs)
            return self.counter.people(g, basis, ("radius", round(rad, 3)),
                                       self._circle_at(rad)).total

        if people(r) >= fp.min_people:
            return r, False
        lo, hi = r, max(fp.max_m)
        if people(hi) < fp.min_people:
            return hi, True
        for _ in range(30):
            mid = (lo + hi) / 2
            if people(mid) >= fp.min_people:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1.0:
                break
        return math.ceil(hi), True

    def postcode(self, fp: Footprint, basis: str) -> Built | str:
        if fp.level != "district":
            return (f"{fp.level} footprints need ZIP code data, which geotarget does not have "
                    "for this area")
        if self.country != "GB":
            return "UK postcode districts exist only in Great Britain"
        key = ("postcode", basis)
        if key in self._built:
            return self._built[key]
        from .districts import districts_in

        to_bng = transformer(self.layer.crs, BNG)
        g_bng = shapely.transform(self.geom, lambda xy: np.column_stack(
            to_bng.transform(xy[:, 0], xy[:, 1])))
        xmin, ymin, xmax, ymax = g_bng.bounds
        pad = max(5000.0, 2 * max(xmax - xmin, ymax - ymin))
        total = self.counter.people(self.geom, basis, ("catchment",), self.circles).total
        for _attempt in range(3):
            codes, polys, cut = districts_in((xmin - pad, ymin - pad, xmax + pad, ymax + pad),
                                             self.layer.crs)
            if not codes:
                return "no postcode units near the venue"
            hit = np.nonzero(shapely.intersects(polys, self.geom))[0]
            inside = self.counter.count(shapely.intersection(polys[hit], self.geom))
            whole = self.counter.count(polys[hit], [("district", codes[i]) for i in hit])
            gain = np.array([_basis_total(v, basis) for v in inside])
            tot = np.array([_basis_total(v, basis) for v in whole])
            outside = np.maximum(tot - gain, 0.0)
            order = np.argsort(-(gain / np.maximum(outside, 1e-9)), kind="stable")
            chosen, got = [], 0.0
            for k in order:
                if gain[k] <= 0:
                    continue
                chosen.append(hit[k])
                got += gain[k]
                if got >= self.postcode_coverage * total:
                    break
            if not any(cut[i] for i in chosen) or _attempt == 2:
                break
            pad *= 2
        geom = shapely.union_all(polys[chosen]) if chosen else shapely.Polygon()
        names = sorted(codes[i] for i in chosen)
        label = ("postcode districts " + ", ".join(names[:6]) +
                 (f" and {len(names) - 6} more" if len(names) > 6 else ""))
        b = Built("postcode", label, geom,
                  {"districts": names, "coverage_target": self.postcode_coverage,
                   "catchment_people_covered": got / total if total else 1.0},
                  ["districts built from postcode unit points (Voronoi cells of Code-Point Open "
                   "units dissolved by district): approximate boundaries"], approximate=True)
        if any(cut[i] for i in chosen):
            b.notes.append("a chosen district reaches beyond the area built: its size is "
                           "understated")
        self._built[key] = b
        return b

    def place(self, fp: Footprint, basis: str) -> Built | str:
        places = self.layer.places
        levels = [lv for lv in fp.levels if places is not None and lv in places.levels]
        if not levels:
            have = ", ".join(places.levels) if places is not None else "none"
            return (f"no {'/'.join(fp.levels)} boundaries in layer {self.layer.name} (it has: "
                    f"{have}); such footprints cannot be measured here")
        best = None
        for lv in levels:
            codes = places.touching(lv, self.geom)
            if not codes:
                continue
            key = ("place", lv, tuple(codes))
            if key not in self._built:
                parts = [places.geometry(lv, c) for c in codes]
                self._built[key] = parts[0] if len(parts) == 1 else shapely.union_all(parts)
            g = self._built[key]
            p = self.counter.place_people(places, lv, codes, g, basis, key).total
            if best is None or p < best[0]:
                best = (p, lv, codes, g)
        if best is None:
            return "the catchment lies in no place of this layer"
        _, lv, codes, g = best
        names = [places.name(lv, c) for c in codes]
        label = " + ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        return Built("place", label, g, {"level": lv, "places": codes, "names": names,
                                         "_key": ("place", lv, tuple(codes))},
                     [f"{lv}: {places.note.get(lv, '')}".rstrip(": ")])

    def country_fp(self, fp: Footprint, basis: str) -> Built | str:
        if not self.country:
            return "the layer's country is unknown (give --country)"
        return Built("country", f"all of {self.country} (as far as layer {self.layer.name} "
                     "reaches)", self.layer.coverage, {"country": self.country},
                     ["the layer covers only part of the country: the real footprint holds "
                      "more people, so waste is a lower bound"])

    def build(self, fp: Footprint, basis: str) -> Built | str:
        if fp.countries and self.country not in fp.countries:
            return f"only offered in {', '.join(fp.countries)}"
        return {"radius": self.radius, "postcode": self.postcode, "place": self.place,
                "country": self.country_fp}[fp.kind](fp, basis)

    # -- one platform --------------------------------------------------------------------------
    def evaluate(self, p: Platform, cat: Catalogue, *, segment_share: float | None = None,
                 budget: float | None = None, currency: str = "") -> dict:
        basis, basis_label = basis_for(p.meaning, self.layer)
        catchment = self.counter.people(self.geom, basis, ("catchment",), self.circles)
        usage = p.usage.get(self.country or "")
        options, unavailable = [], []
        for fp in p.footprints_for(self.country):
            b = self.build(fp, basis)
            if isinstance(b, str):
                unavailable.append({"kind": fp.kind, "reason": b})
                continue
            o = self._measure(p, fp, b, basis, catchment, usage, segment_share)
            if fp.kind == "radius" and o["min_audience"]["met"] is False:
                wider = self._widen_for_minimum(p, fp, b, basis, p.min_audience / self._last_conv)
                if wider is not None:
                    o = self._measure(p, fp, wider, basis, catchment, usage, segment_share)
            options.append(o)
        # recommend the option with least waste among those that can run, preferring options
        # whose rule is documented or reported by third parties over uncertain ones
        runnable = [o for o in options if o["min_audience"]["met"] is not False]
        sure = [o for o in runnable if o["footprint"]["rule_confidence"] != "uncertain"]
        pool = sure or runnable or options
        rank = {"radius": 0, "postcode": 1, "place": 2, "country": 3}
        rec = min(pool, key=lambda o: (o["waste_share"], o["waste_lower_bound"],
                                       rank[o["footprint"]["kind"]])) if pool else None
        out: dict = {"id": p.id, "name": p.name, "country": self.country,
                     "basis": basis, "basis_label": basis_label,
                     "location_meaning": p.meaning, "location_meaning_options":
                     list(p.meaning_options)}
        if rec is None:
            out.update({"footprint": None, "people": None, "accounts": None,
                        "accounts_unavailable": "no footprint", "share_inside": None,
                        "waste_share": None, "waste_money": None,
                        "min_audience": _min_dict(p, None, None, None),
                        "verdict": "cannot_run"})
        else:
            out.update({k: v for k, v in rec.items() if not k.startswith("_")})
            out["verdict"] = verdict(rec, cat)
            if budget is not None and rec["waste_share"] is not None:
                out["waste_money"] = {"amount": round(budget * rec["waste_share"], 2),
                                      "budget": budget, "currency": currency,
                                      "lower_bound": rec["waste_lower_bound"]}
            else:
                out["waste_money"] = None
        out["_geometry"] = rec["_geometry"] if rec is not None else None
        out["options"] = [{"kind": o["footprint"]["kind"], "label": o["footprint"]["label"],
                           "people": o["people"]["total"], "waste_share": o["waste_share"],
                           "can_run": o["min_audience"]["met"] is not False,
                           "recommended": o is rec} for o in options]
        out["unavailable_options"] = unavailable
        out["advice"] = advice(p, out, rec, catchment, segment_share)
        out["stale"] = p.stale()
        out["rules"] = {"footprints": [f.prov.to_dict() | {"kind": f.kind} for f in
                                       p.footprints_for(self.country)],
                        "location_meaning": p.meaning_prov.to_dict(),
                        "min_audience": p.min_prov.to_dict(),
                        "usage": usage.prov.to_dict() if usage else None,
                        "conflicts": p.conflicts}
        return out

    def _measure(self, p: Platform, fp: Footprint, b: Built, basis: str, catchment: People,
                 usage, segment_share: float | None) -> dict:
        key = ("fp", b.kind, b.label)
        if b.kind == "country":
            ppl = self.counter.totals(basis)
        elif b.kind == "place":
            ppl = self.counter.place_people(self.layer.places, b.detail["level"],
                                            b.detail["places"], b.geometry, basis,
                                            b.detail["_key"])
        elif b.kind == "radius":
            ppl = self.counter.people(b.geometry, basis, ("radius", b.detail["radius_m"]),
                                      self._circle_at(b.detail["radius_m"]))
        else:
            ppl = self.counter.people(b.geometry, basis, key)
        if b.kind in ("radius", "place", "country"):
            inside = catchment  # the footprint contains the catchment
        else:
            inside = self.counter.people(shapely.intersection(b.geometry, self.geom), basis,
                                         ("inside",) + key)
        total = ppl.total
        share_inside = inside.total / total if total > 0 else None
        waste = None if share_inside is None else max(0.0, 1.0 - share_inside)
        if b.kind == "place":  # a union of the layer's own zones: inside coverage by construction
            lower = not self.layer.places.complete
        elif b.kind == "country":  # the layer covers at most part of the country
            lower = True
        else:
            cov = float(self.layer.coverage_fraction(np.array([b.geometry], dtype=object))[0])
            lower = cov < 0.9995
        acc, acc_why = None, None
        if usage is not None:
            lo = ppl.low if ppl.low is not None else total
            hi = ppl.high if ppl.high is not None else total
            acc = {"estimate": round(total * usage.share), "low": round(lo * usage.share),
                   "high": round(hi * usage.share), "share": usage.share,
                   "denominator": usage.denominator, "what": usage.what,
                   "source": usage.prov.source,
                   "note": "people of all ages (their range) x the share of " + usage.denominator +
                           " using the platform: the counts include children and the share's "
                           "denominator may differ (" + usage.denominator + "), so this is an "
                           "upper-leaning estimate of adults' accounts"}
        else:
            acc_why = (f"no sourced share of people using {p.name} in "
                       f"{self.country or 'this country'}: give one with --rule "
                       f"{p.id}.usage.{self.country or 'CC'}=0.5")
        use_seg = segment_share is not None and p.min_of == "audience"
        seg = segment_share if use_seg else 1.0
        members = p.min_of == "audience" and ("member" in p.min_counts or "user" in p.min_counts
                                              or "account" in p.min_counts)
        if members and usage is not None:
            conv = usage.share * seg
            unit = (f"{p.min_counts} (people{' in the segment' if use_seg else ''} x "
                    f"{usage.share:.0%} usage)")
        else:
            conv = seg
            unit = "people" + (" in the segment" if use_seg else "")
            if members:
                unit += (f" ({p.min_counts} are fewer: no sourced usage share for "
                         f"{self.country or 'this country'})")
        fp_pool, c_pool = total * conv, inside.total * conv
        self._last_conv = conv
        res_w = _waste_part(ppl.residents, inside.residents)
        wrk_w = _waste_part(ppl.workers, inside.workers) if basis == "residents+workers" else None
        return {
            "footprint": {"kind": b.kind, "label": b.label,
                          **{k: v for k, v in b.detail.items() if not k.startswith("_")},
                          "area_km2": round(float(shapely.area(b.geometry)) / 1e6, 4),
                          "approximate": b.approximate, "beyond_coverage": lower,
                          "notes": b.notes, "rule_confidence": fp.prov.confidence,
                          "rule_note": fp.note},
            "people": {"basis": basis, "residents": _r(ppl.residents), "workers": _r(ppl.workers)
                       if basis == "residents+workers" else None, "total": round(total),
                       "in_catchment": round(inside.total)},
            "accounts": acc, "accounts_unavailable": acc_why,
            "share_inside": share_inside, "waste_share": waste,
            "waste_share_residents": res_w, "waste_share_workers": wrk_w,
            "waste_lower_bound": lower,
            "min_audience": _min_dict(p, fp_pool, c_pool, unit, lower),
            "segment_share": segment_share,
            "_geometry": b.geometry,  # layer CRS; for maps, not part of the JSON
        }


def _basis_total(v: tuple, basis: str) -> float:
    r, w = v
    return (r or 0.0) + ((w or 0.0) if basis == "residents+workers" else 0.0)


def _waste_part(fp_people, inside_people):
    if fp_people is None or inside_people is None or fp_people <= 0:
        return None
    return max(0.0, 1.0 - inside_people / fp_people)


def _r(x):
    return None if x is None else round(x)


def _min_dict(p: Platform, fp_pool, c_pool, unit, lower_bound: bool = False) -> dict:
    req = p.min_audience
    met = None if req is None or fp_pool is None else bool(fp_pool >= req)
    if met is False and lower_bound:
        met = None  # the footprint reaches beyond the data: its real pool may be large enough
    return {"required": req, "counts": p.min_counts, "footprint_pool":
            None if fp_pool is None else round(fp_pool), "catchment_pool":
            None if c_pool is None else round(c_pool), "pool_unit": unit, "met": met,
            "catchment_met": None if req is None or c_pool is None else bool(c_pool >= req),
            "note": p.min_note, "confidence": p.min_prov.confidence}


def verdict(rec: dict, cat: Catalogue) -> str:
    """Documented scale: cannot_run when the minimum audience is not met on the footprint;
    otherwise by the share of spend wasted: good < good_below <= workable < workable_below <=
    poor."""
    if rec["min_audience"]["met"] is False or rec["waste_share"] is None:
        return "cannot_run"
    w = rec["waste_share"]
    if w < cat.good_below:
        return "good"
    if w < cat.workable_below:
        return "workable"
    return "poor"


def advice(p: Platform, out: dict, rec: dict | None, catchment: People,
           segment_share: float | None) -> list[str]:
    tips: list[str] = []
    if rec is None:
        reasons = "; ".join(f"{u['kind']}: {u['reason']}" for u in out["unavailable_options"])
        if not reasons:
            reasons = (f"the catalogue lists no targeting option for "
                       f"{out.get('country') or 'this country'}")
        return [f"{p.name}: no targeting option can be measured here ({reasons})."]
    fp, w = rec["footprint"], rec["waste_share"]
    lb = " at least" if rec["waste_lower_bound"] else ""
    if w is not None:
        if fp["kind"] == "radius":
            why = ("the smallest whose audience clears its minimum" if any(
                "widened until" in n for n in fp.get("notes", [])) else
                "the smallest footprint it allows here")
            tips.append(f"{p.name}: a {fp['label']} is {why}; "
                        f"expect{lb} {w:.0%} of the audience outside the catchment.")
        elif fp["kind"] == "place":
            tips.append(f"{p.name}: the smallest footprint it surely offers here is "
                        f"{fp['label']}:{lb} {w:.1%} of the audience would be outside the "
                        "catchment.")
        elif fp["kind"] == "postcode":
            tips.append(f"{p.name}: target {fp['label']} (covering "
                        f"{fp.get('catchment_people_covered', 0):.0%} of the catchment's people); "
                        f"expect{lb} {w:.0%} of the audience outside the catchment.")
        else:
            tips.append(f"{p.name}: only country-wide targeting is open here;{lb} {w:.1%} of "
                        "the audience would be outside the catchment.")
    if p.meaning == "presence_or_interest":
        tips.append(f"{p.name}: choose 'Presence' (people in or regularly in the area), not the "
                    "default 'Presence or interest', which also reaches people merely interested "
                    "in the place -- waste would then exceed these figures.")
    ma = rec["min_audience"]
    if ma["required"] is not None:
        if ma["met"] is False:
            tips.append(f"{p.name} cannot run: the footprint holds about "
                        f"{ma['footprint_pool']:,} {ma['pool_unit']}, below its minimum of "
                        f"{ma['required']:,.0f} {ma['counts']}.")
        elif ma["met"] is None and ma["footprint_pool"] is not None and (
                ma["footprint_pool"] < ma["required"]):
            tips.append(f"{p.name}: the footprint reaches beyond the data; within it, about "
                        f"{ma['footprint_pool']:,} {ma['pool_unit']} -- whether it clears the "
                        f"minimum of {ma['required']:,.0f} is unknown.")
        elif ma["catchment_met"] is False:
            tips.append(f"Even perfect geography would not clear {p.name}'s minimum of "
                        f"{ma['required']:,.0f} {ma['counts']}: the catchment alone holds about "
                        f"{ma['catchment_pool']:,} {ma['pool_unit']}.")
    else:
        tips.append(f"{p.name} documents no minimum audience for location targeting.")
    better = [o for o in out["options"] if o["waste_share"] is not None and o["can_run"]
              and rec["waste_share"] is not None and o["waste_share"] < rec["waste_share"] - 1e-9]
    for o in better:
        tips.append(f"{p.name}: '{o['label']}' would waste less ({o['waste_share']:.0%}), but "
                    "that option rests on an uncertain rule; check the platform offers it.")
    if fp.get("rule_confidence") == "uncertain":
        tips.append(f"{p.name}: this option rests on an uncertain rule ({fp.get('rule_note') or 'not documented'}); check it in the platform.")
    tips.extend(f"{p.name}: {a}" for a in p.advice)  # the catalogue's own advice, if any
    if out.get("stale") if "stale" in out else p.stale():
        tips.append(f"{p.name}: some rules were read more than 12 months ago and may be stale.")
    return tips
