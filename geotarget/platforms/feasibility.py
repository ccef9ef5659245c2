"""Platform by platform: the smallest footprint it really allows around the catchment, the
people in it, the share inside the catchment (and so the share of spend wasted), the
minimum-audience check, a verdict and advice.

People are counted with the same engine as the catchment, for many venues at once
(:mod:`geotarget.platforms.footprints`); this module judges one venue from those facts.  The
basis follows the platform's location meaning: "living in" counts residents; every other
meaning (living or recently in, recently in, presence...) counts residents plus workers
travelling in (``destination - nomove``, so nobody is counted twice).  Where workers are
unavailable the basis is residents, labelled so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import shapely

from ..catchment import Catchment, circle
from ..layers.base import PopulationLayer
from ..projections import aeqd
from ..units import UNITS
from ..venue import Venue
from .catalogue import Catalogue, Footprint, Platform
from .footprints import COVERED, POPS, Facts, basis_total, smallest_radius
from .options import POSTCODE_COVERAGE

__all__ = ["Evaluator", "VERDICTS", "smallest_radius", "verdict", "advice", "footprint_geometry"]

VERDICTS = ("good", "workable", "poor", "cannot_run")
UNIT_WORDS = {"m": "m", "km": "km", "mi": "mi", "ft": "ft", "yd": "yd"}


@dataclass
class People:
    residents: float | None
    workers: float | None
    basis: str  # "residents" or "residents+workers"
    low: float | None = None  # range of the total on the basis (None: not known)
    high: float | None = None

    @property
    def total(self) -> float:
        return (self.residents or 0.0) + (
            (self.workers or 0.0) if self.basis == "residents+workers" else 0.0
        )


def _people(vals: dict, basis: str, ranged: bool = True) -> People:
    """People from ``{pop: (estimate, low, high) or None}``."""
    r, w = vals.get("residents"), vals.get("workers")
    out = People(None if r is None else r[0], None if w is None else w[0], basis)
    if ranged:
        out.low = basis_total({p: (v[1] if v else None) for p, v in vals.items()}, basis)
        out.high = basis_total({p: (v[2] if v else None) for p, v in vals.items()}, basis)
    return out


@dataclass
class Built:
    """A footprint made for a platform option, with its people."""

    kind: str
    label: str
    make_geometry: Callable[[], object]  # the polygon (layer CRS), made only when asked for
    people: People
    area_m2: float
    lower: bool  # reaches beyond the layer's coverage: its people are a lower bound
    inside: People | None = None  # people of the catchment inside it (None: all of them)
    detail: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    approximate: bool = False


class Lazy:
    """A footprint's polygon, made the first time it is asked for (and picklable: ``make`` is a
    ``functools.partial`` of module-level functions)."""

    def __init__(self, make: Callable[[], object]) -> None:
        self.make, self._value, self._made = make, None, False

    def __call__(self):
        if not self._made:
            self._value, self._made = self.make(), True
        return self._value


def _circle_polygon(venue: Venue, r: float, crs: str):
    return circle(venue, r, max_radius=None).to_crs(crs)


def _places_polygon(places, level: str, codes):
    parts = [places.geometry(level, c) for c in codes]
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _same(geom):
    return geom


def footprint_geometry(row: dict):
    """The footprint polygon (layer CRS) of a platform row, or None."""
    g = row.get("_geometry")
    return g() if callable(g) else g


def basis_for(meaning: str, layer: PopulationLayer) -> tuple[str, str]:
    """The people a platform's location meaning counts, and a label."""
    if meaning == "living_in":
        return "residents", "residents (the platform counts people living in the area)"
    if layer.surface("workers") is None:
        return "residents", (
            "residents only: workers are unavailable in this layer, so people "
            "who come in to work are missing from both sides"
        )
    return "residents+workers", (
        "residents plus people who travel in to work (the platform "
        "counts people living in or recently in the area)"
    )


def _fmt_radius(r_m: float, unit: str) -> str:
    v = r_m / UNITS[unit]
    if unit == "m" and v >= 1000:
        v, unit = v / 1000, "km"
    text = f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {UNIT_WORDS[unit]}"


def radius_needed(catch: Catchment, venue: Venue) -> float:
    """The radius of the smallest circle around the venue holding the catchment."""
    if catch.kind == "radius" and catch.radius_m is not None:
        return catch.radius_m
    g = catch.to_crs(aeqd(venue.lat, venue.lon))
    xy = shapely.get_coordinates(g)
    return float(np.hypot(xy[:, 0], xy[:, 1]).max())


def conversion(
    p: Platform, usage, segment_share: float | None, country: str | None
) -> tuple[float, str]:
    """What turns people into the units of the platform's minimum audience, and their name."""
    use_seg = segment_share is not None and p.min_of == "audience"
    seg = segment_share if use_seg else 1.0
    members = p.min_of == "audience" and (
        "member" in p.min_counts or "user" in p.min_counts or "account" in p.min_counts
    )
    if members and usage is not None:
        return usage.share * seg, (
            f"{p.min_counts} (people{' in the segment' if use_seg else ''}"
            f" x {usage.share:.0%} usage)"
        )
    unit = "people" + (" in the segment" if use_seg else "")
    if members:
        unit += (
            f" ({p.min_counts} are fewer: no sourced usage share for {country or 'this country'})"
        )
    return seg, unit


class Evaluator:
    """Judges platforms for venue ``i`` of a batch of measured footprints (``facts``)."""

    def __init__(
        self,
        facts: Facts,
        i: int,
        *,
        country: str | None = None,
        postcode_coverage: float = POSTCODE_COVERAGE,
        shared: dict | None = None,
    ) -> None:
        self.facts, self.i, self.layer = facts, i, facts.layer
        self.shared = {} if shared is None else shared  # per batch: what no venue changes
        self._built: dict = {}  # per venue: footprints shared by platforms
        self.country = country or self.layer.country
        self.postcode_coverage = postcode_coverage
        self.lat, self.lon = float(facts.lat[i]), float(facts.lon[i])

    # -- footprints --------------------------------------------------------------------------
    def radius(self, fp: Footprint, basis: str, p: Platform, conv: float) -> Built | str:
        pick = self.facts.radius(fp, basis, min_audience=p.min_audience, conv=conv)
        i = self.i
        if pick.reason[i] is not None:
            return pick.reason[i]
        r, unit = float(pick.r[i]), pick.unit[i]
        notes = []
        if pick.grown[i]:
            notes.append(f"widened to hold {fp.min_people:,.0f} people, as the platform does")
        if pick.widened[i]:
            notes.append("widened until the audience clears the platform's minimum")
        crs, venue = self.layer.crs, Venue(self.lat, self.lon)
        return Built(
            "radius",
            f"{_fmt_radius(r, unit)} circle",
            partial(_circle_polygon, venue, r, crs),
            _people(self.facts.circle(i, r), basis),
            math.pi * r * r,
            bool(pick.lower[i]),
            detail={"radius_m": round(r, 3), "unit": unit},
            notes=notes,
        )

    def postcode(self, fp: Footprint, basis: str) -> Built | str:
        if fp.level != "district":
            return (
                f"{fp.level} footprints need ZIP code data, which geotarget does not have "
                "for this area"
            )
        if self.country != "GB":
            return "UK postcode districts exist only in Great Britain"
        ds, tot, per_venue = self.facts.districts()
        if not len(ds.codes):
            return "no postcode units near the layer"
        hit, gains = per_venue(self.i)
        gain = basis_total(gains, basis) if gains else np.zeros(len(hit))
        whole = basis_total({p: (None if t is None else t[0][hit]) for p, t in tot.items()}, basis)
        gain, whole = np.broadcast_to(gain, len(hit)), np.broadcast_to(whole, len(hit))
        total = _people(self.facts.catchment(self.i), basis).total
        outside = np.maximum(whole - gain, 0.0)
        order = np.argsort(-(gain / np.maximum(outside, 1e-9)), kind="stable")
        chosen, got = [], 0.0
        for k in order:
            if gain[k] <= 0:
                continue
            chosen.append(k)
            got += gain[k]
            if got >= self.postcode_coverage * total:
                break
        if not chosen:
            return "no postcode district holds any of the catchment's people"
        sel = hit[chosen]
        vals = {}
        for p, t in tot.items():
            if t is None:
                vals[p] = None
                continue
            e, lo, hi = (float(a[sel].sum()) for a in t)
            vals[p] = (
                e,
                e - math.sqrt(float(((t[0][sel] - t[1][sel]) ** 2).sum())),
                e + math.sqrt(float(((t[2][sel] - t[0][sel]) ** 2).sum())),
            )
        inside = {
            p: None if g is None else (float(g[chosen].sum()),) * 3
            for p, g in ((p, gains.get(p)) for p in POPS)
        }
        area = float(ds.areas[sel].sum())
        cov = float((ds.coverage[sel] * ds.areas[sel]).sum() / area) if area > 0 else 0.0
        names = sorted(ds.codes[sel].tolist())
        label = (
            "postcode districts "
            + ", ".join(names[:6])
            + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        )
        polys = ds.polygons[sel]
        b = Built(
            "postcode",
            label,
            partial(shapely.union_all, polys),
            _people(vals, basis),
            area,
            cov < COVERED,
            inside=_people(inside, basis, ranged=False),
            detail={
                "districts": names,
                "coverage_target": self.postcode_coverage,
                "catchment_people_covered": got / total if total else 1.0,
            },
            notes=[
                "districts built from postcode unit points (Voronoi cells of "
                "Code-Point Open units dissolved by district): approximate boundaries"
            ],
            approximate=True,
        )
        if ds.cut[sel].any():
            b.notes.append(
                "a chosen district reaches beyond the area built: its size is understated"
            )
        return b

    def place(self, fp: Footprint, basis: str) -> Built | str:
        places = self.layer.places
        levels = [lv for lv in fp.levels if places is not None and lv in places.levels]
        if not levels:
            have = ", ".join(places.levels) if places is not None else "none"
            return (
                f"no {'/'.join(fp.levels)} boundaries in layer {self.layer.name} (it has: "
                f"{have}); such footprints cannot be measured here"
            )
        best = None
        for lv in levels:
            codes = self.facts.places(lv, self.i)
            if not codes:
                continue
            vals = self.facts.place_people(lv, codes)
            p = basis_total(vals, basis)
            if best is None or p < best[0]:
                best = (p, lv, codes, vals)
        if best is None:
            return "the catchment lies in no place of this layer"
        _, lv, codes, vals = best
        names = [self.facts.place_name(lv, c) for c in codes]
        label = " + ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        area = self.facts.place_area(lv, codes)

        return Built(
            "place",
            label,
            partial(_places_polygon, places, lv, codes),
            _people(
                {k: None if v is None else (v,) * 3 for k, v in vals.items()}, basis, ranged=False
            ),
            area,
            not places.complete,
            detail={"level": lv, "places": list(codes), "names": names},
            notes=[f"{lv}: {places.note.get(lv, '')}".rstrip(": ")],
        )

    def country_fp(self, fp: Footprint, basis: str) -> Built | str:
        if not self.country:
            return "the layer's country is unknown (give --country)"
        tot = {p: None if s is None else (s.total,) * 3 for p, s in self.facts.surfaces.items()}
        cov = self.layer.coverage
        return Built(
            "country",
            f"all of {self.country} (as far as layer {self.layer.name} reaches)",
            partial(_same, cov),
            _people(tot, basis, ranged=False),
            self.facts.coverage_area(),
            True,
            detail={"country": self.country},
            notes=[
                "the layer covers only part of the country: the real footprint "
                "holds more people, so waste is a lower bound"
            ],
        )

    def build(self, fp: Footprint, basis: str, p: Platform, conv: float) -> Built | str:
        if fp.countries and self.country not in fp.countries:
            return f"only offered in {', '.join(fp.countries)}"
        if fp.kind == "radius":
            return self.radius(fp, basis, p, conv)
        key = (fp.kind, basis, fp.level, fp.levels)  # the same footprint for every platform
        if key not in self._built:
            self._built[key] = {
                "postcode": self.postcode,
                "place": self.place,
                "country": self.country_fp,
            }[fp.kind](fp, basis)
        return self._built[key]

    # -- one platform --------------------------------------------------------------------------
    def evaluate(
        self,
        p: Platform,
        cat: Catalogue,
        *,
        segment_share: float | None = None,
        budget: float | None = None,
        currency: str = "",
    ) -> dict:
        st = self._static(p, segment_share)
        basis, basis_label, usage, conv, unit = (
            st[k] for k in ("basis", "basis_label", "usage", "conv", "unit")
        )
        catchment = _people(self.facts.catchment(self.i), basis)
        options, unavailable = [], []
        for fp in st["footprints"]:
            b = self.build(fp, basis, p, conv)
            if isinstance(b, str):
                unavailable.append({"kind": fp.kind, "reason": b})
                continue
            options.append(
                self._measure(p, fp, b, basis, catchment, usage, segment_share, conv, unit)
            )
        # recommend the option with least waste among those that can run, preferring options
        # whose rule is documented or reported by third parties over uncertain ones
        runnable = [o for o in options if o["min_audience"]["met"] is not False]
        sure = [o for o in runnable if o["footprint"]["rule_confidence"] != "uncertain"]
        pool = sure or runnable or options
        rank = {"radius": 0, "postcode": 1, "place": 2, "country": 3}
        # (no people in a footprint: no waste share; such an option ranks last)
        rec = (
            min(
                pool,
                key=lambda o: (
                    2.0 if o["waste_share"] is None else o["waste_share"],
                    o["waste_lower_bound"],
                    rank[o["footprint"]["kind"]],
                ),
            )
            if pool
            else None
        )
        out: dict = {
            "id": p.id,
            "name": p.name,
            "country": self.country,
            "basis": basis,
            "basis_label": basis_label,
            "location_meaning": p.meaning,
            "location_meaning_options": list(p.meaning_options),
        }
        if rec is None:
            out.update(
                {
                    "footprint": None,
                    "people": None,
                    "accounts": None,
                    "accounts_unavailable": "no footprint",
                    "share_inside": None,
                    "waste_share": None,
                    "waste_money": None,
                    "min_audience": _min_dict(p, None, None, None),
                    "verdict": "cannot_run",
                }
            )
        else:
            out.update({k: v for k, v in rec.items() if not k.startswith("_")})
            out["verdict"] = verdict(rec, cat)
            if budget is not None and rec["waste_share"] is not None:
                out["waste_money"] = {
                    "amount": round(budget * rec["waste_share"], 2),
                    "budget": budget,
                    "currency": currency,
                    "lower_bound": rec["waste_lower_bound"],
                }
            else:
                out["waste_money"] = None
        out["_geometry"] = rec["_geometry"] if rec is not None else None
        out["options"] = [
            {
                "kind": o["footprint"]["kind"],
                "label": o["footprint"]["label"],
                "people": o["people"]["total"],
                "waste_share": o["waste_share"],
                "can_run": o["min_audience"]["met"] is not False,
                "recommended": o is rec,
            }
            for o in options
        ]
        out["unavailable_options"] = unavailable
        out["stale"] = st["stale"]
        out["advice"] = advice(p, out, rec, catchment, segment_share)
        out["rules"] = st["rules"]
        return out

    def _static(self, p: Platform, segment_share) -> dict:
        """What does not depend on the venue, worked out once per platform for the batch."""
        key = ("static", p.id, id(p), segment_share)
        if key not in self.shared:
            basis, basis_label = basis_for(p.meaning, self.layer)
            usage = p.usage.get(self.country or "")
            conv, unit = conversion(p, usage, segment_share, self.country)
            fps = p.footprints_for(self.country)
            self.shared[key] = {
                "basis": basis,
                "basis_label": basis_label,
                "usage": usage,
                "conv": conv,
                "unit": unit,
                "footprints": fps,
                "stale": p.stale(),
                "rules": {
                    "footprints": [f.prov.to_dict() | {"kind": f.kind} for f in fps],
                    "location_meaning": p.meaning_prov.to_dict(),
                    "min_audience": p.min_prov.to_dict(),
                    "usage": usage.prov.to_dict() if usage else None,
                    "conflicts": p.conflicts,
                },
            }
        return self.shared[key]

    def _measure(
        self,
        p: Platform,
        fp: Footprint,
        b: Built,
        basis: str,
        catchment: People,
        usage,
        segment_share: float | None,
        conv: float,
        unit: str,
    ) -> dict:
        ppl = b.people
        inside = catchment if b.inside is None else b.inside  # radius, place, country: contain it
        total = ppl.total
        share_inside = inside.total / total if total > 0 else None
        waste = None if share_inside is None else max(0.0, 1.0 - share_inside)
        lower = b.lower
        acc, acc_why = None, None
        if usage is not None:
            lo = ppl.low if ppl.low is not None else total
            hi = ppl.high if ppl.high is not None else total
            acc = {
                "estimate": round(total * usage.share),
                "low": round(lo * usage.share),
                "high": round(hi * usage.share),
                "share": usage.share,
                "denominator": usage.denominator,
                "what": usage.what,
                "source": usage.prov.source,
                "note": "people of all ages (their range) x the share of "
                + usage.denominator
                + " using the platform: the counts include children and the share's "
                "denominator may differ (" + usage.denominator + "), so this is an "
                "upper-leaning estimate of adults' accounts",
            }
        else:
            acc_why = (
                f"no sourced share of people using {p.name} in "
                f"{self.country or 'this country'}: give one with --rule "
                f"{p.id}.usage.{self.country or 'CC'}=0.5"
            )
        fp_pool, c_pool = total * conv, inside.total * conv
        res_w = _waste_part(ppl.residents, inside.residents)
        wrk_w = _waste_part(ppl.workers, inside.workers) if basis == "residents+workers" else None
        return {
            "footprint": {
                "kind": b.kind,
                "label": b.label,
                **b.detail,
                "area_km2": round(b.area_m2 / 1e6, 4),
                "approximate": b.approximate,
                "beyond_coverage": lower,
                "notes": b.notes,
                "rule_confidence": fp.prov.confidence,
                "rule_note": fp.note,
            },
            "people": {
                "basis": basis,
                "residents": _r(ppl.residents),
                "workers": _r(ppl.workers) if basis == "residents+workers" else None,
                "total": round(total),
                "in_catchment": round(inside.total),
            },
            "accounts": acc,
            "accounts_unavailable": acc_why,
            "share_inside": share_inside,
            "waste_share": waste,
            "waste_share_residents": res_w,
            "waste_share_workers": wrk_w,
            "waste_lower_bound": lower,
            "min_audience": _min_dict(p, fp_pool, c_pool, unit, lower),
            "segment_share": segment_share,
            "_geometry": Lazy(b.make_geometry),  # layer CRS, made when asked
        }


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
    return {
        "required": req,
        "counts": p.min_counts,
        "footprint_pool": None if fp_pool is None else round(fp_pool),
        "catchment_pool": None if c_pool is None else round(c_pool),
        "pool_unit": unit,
        "met": met,
        "catchment_met": None if req is None or c_pool is None else bool(c_pool >= req),
        "note": p.min_note,
        "confidence": p.min_prov.confidence,
    }


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


def advice(
    p: Platform, out: dict, rec: dict | None, catchment: People, segment_share: float | None
) -> list[str]:
    tips: list[str] = []
    if rec is None:
        reasons = "; ".join(f"{u['kind']}: {u['reason']}" for u in out["unavailable_options"])
        if not reasons:
            reasons = (
                f"the catalogue lists no targeting option for "
                f"{out.get('country') or 'this country'}"
            )
        return [f"{p.name}: no targeting option can be measured here ({reasons})."]
    fp, w = rec["footprint"], rec["waste_share"]
    lb = " at least" if rec["waste_lower_bound"] else ""
    if w is not None:
        if fp["kind"] == "radius":
            why = (
                "the smallest whose audience clears its minimum"
                if any("widened until" in n for n in fp.get("notes", []))
                else "the smallest footprint it allows here"
            )
            tips.append(
                f"{p.name}: a {fp['label']} is {why}; "
                f"expect{lb} {w:.0%} of the audience outside the catchment."
            )
        elif fp["kind"] == "place":
            tips.append(
                f"{p.name}: the smallest footprint it surely offers here is "
                f"{fp['label']}:{lb} {w:.1%} of the audience would be outside the "
                "catchment."
            )
        elif fp["kind"] == "postcode":
            tips.append(
                f"{p.name}: target {fp['label']} (covering "
                f"{fp.get('catchment_people_covered', 0):.0%} of the catchment's people); "
                f"expect{lb} {w:.0%} of the audience outside the catchment."
            )
        else:
            tips.append(
                f"{p.name}: only country-wide targeting is open here;{lb} {w:.1%} of "
                "the audience would be outside the catchment."
            )
    if p.meaning == "presence_or_interest":
        tips.append(
            f"{p.name}: choose 'Presence' (people in or regularly in the area), not the "
            "default 'Presence or interest', which also reaches people merely interested "
            "in the place -- waste would then exceed these figures."
        )
    ma = rec["min_audience"]
    if ma["required"] is not None:
        if ma["met"] is False:
            tips.append(
                f"{p.name} cannot run: the footprint holds about "
                f"{ma['footprint_pool']:,} {ma['pool_unit']}, below its minimum of "
                f"{ma['required']:,.0f} {ma['counts']}."
            )
        elif (
            ma["met"] is None
            and ma["footprint_pool"] is not None
            and (ma["footprint_pool"] < ma["required"])
        ):
            tips.append(
                f"{p.name}: the footprint reaches beyond the data; within it, about "
                f"{ma['footprint_pool']:,} {ma['pool_unit']} -- whether it clears the "
                f"minimum of {ma['required']:,.0f} is unknown."
            )
        elif ma["catchment_met"] is False:
            tips.append(
                f"Even perfect geography would not clear {p.name}'s minimum of "
                f"{ma['required']:,.0f} {ma['counts']}: the catchment alone holds about "
                f"{ma['catchment_pool']:,} {ma['pool_unit']}."
            )
    else:
        tips.append(f"{p.name} documents no minimum audience for location targeting.")
    better = [
        o
        for o in out["options"]
        if o["waste_share"] is not None
        and o["can_run"]
        and rec["waste_share"] is not None
        and o["waste_share"] < rec["waste_share"] - 1e-9
    ]
    for o in better:
        tips.append(
            f"{p.name}: '{o['label']}' would waste less ({o['waste_share']:.0%}), but "
            "that option rests on an uncertain rule; check the platform offers it."
        )
    if fp.get("rule_confidence") == "uncertain":
        tips.append(
            f"{p.name}: this option rests on an uncertain rule ({fp.get('rule_note') or 'not documented'}); check it in the platform."
        )
    tips.extend(f"{p.name}: {a}" for a in p.advice)  # the catalogue's own advice, if any
    if out.get("stale") if "stale" in out else p.stale():
        tips.append(f"{p.name}: some rules were read more than 12 months ago and may be stale.")
    return tips
