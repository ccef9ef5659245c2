"""Judge each platform for one venue: its footprint, waste, minimum audience, verdict, advice.

Platform by platform: the smallest footprint it really allows around the catchment, the people
in it, the share inside the catchment (and so the share of spend wasted), the minimum-audience
check, a verdict and advice.

People are counted with the same engine as the catchment, for many venues at once
(:mod:`geotarget.platforms.footprints`); this module judges one venue from those facts, with the
footprints made by :mod:`geotarget.platforms.builders` and the verdict and advice of
:mod:`geotarget.platforms.advice`.  The basis follows the platform's location meaning: "living
in" counts residents; every other meaning (living or recently in, recently in, presence...)
counts residents plus workers travelling in (``destination - nomove``: home-workers are
residents only), less the workers who also live in the footprint (the layer's commuting flows,
:mod:`geotarget.layers.commuting`), so nobody is counted twice.  Where workers are unavailable
the basis is residents, labelled so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypedDict

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..catchment import Catchment
from ..layers.base import PopulationLayer
from ..projections import aeqd
from ..venue import Venue
from .advice import VERDICTS, advice, verdict
from .builders import Built, FootprintBuilder, Lazy, People, people
from .footprints import Facts, smallest_radius
from .model import Catalogue, Footprint, Platform, PlatformRow, Usage
from .options import POSTCODE_COVERAGE

__all__ = [
    "VERDICTS",
    "Built",
    "Evaluator",
    "Lazy",
    "People",
    "Shared",
    "StaticFacts",
    "advice",
    "basis_for",
    "conversion",
    "footprint_geometry",
    "radius_needed",
    "smallest_radius",
    "verdict",
]


class StaticFacts(TypedDict):
    """What does not depend on the venue, worked out once per platform for a batch."""

    basis: str
    basis_label: str
    usage: Usage | None
    conv: float
    unit: str
    footprints: list[Footprint]
    stale: bool
    rules: dict[str, Any]


#: a batch's :class:`StaticFacts`, shared by the evaluators of its venues
Shared = dict[tuple[Any, ...], StaticFacts]


def footprint_geometry(row: PlatformRow) -> BaseGeometry | None:
    """The recommended footprint's polygon of a platform row.

    Parameters
    ----------
    row : PlatformRow
        A row from :meth:`Evaluator.evaluate`.

    Returns
    -------
    shapely.geometry.base.BaseGeometry or None
        The polygon in the layer's CRS; None where no footprint was measured.
    """
    g = row.get("_geometry")
    geom: BaseGeometry | None = g() if callable(g) else g
    return geom


def basis_for(meaning: str, layer: PopulationLayer) -> tuple[str, str]:
    """The people a platform's location meaning counts, and a label.

    Parameters
    ----------
    meaning : str
        The platform's location meaning (``living_in``, ``presence``...).
    layer : PopulationLayer
        The layer (whether it has workers).

    Returns
    -------
    basis : str
        ``"residents"`` or ``"residents+workers"``.
    label : str
        The basis in words.
    """
    if meaning == "living_in":
        return "residents", "residents (the platform counts people living in the area)"
    if layer.surface("workers") is None:
        return "residents", (
            "residents only: workers are unavailable in this layer, so people "
            "who come in to work are missing from both sides"
        )
    once = (
        ", each counted once: workers who also live there are taken off"
        if layer.commuting is not None
        else " (no commuting flows in this layer: who lives and works there counts twice)"
    )
    return "residents+workers", (
        "residents plus people who travel in to work (the platform "
        f"counts people living in or recently in the area){once}"
    )


def radius_needed(catch: Catchment, venue: Venue) -> float:
    """The radius of the smallest circle around the venue holding the catchment.

    Parameters
    ----------
    catch : Catchment
        The catchment.
    venue : Venue
        The venue (the circle's centre).

    Returns
    -------
    float
        Metres.
    """
    if catch.kind == "radius" and catch.radius_m is not None:
        return catch.radius_m
    g = catch.to_crs(aeqd(venue.lat, venue.lon))
    xy = shapely.get_coordinates(g)
    return float(np.hypot(xy[:, 0], xy[:, 1]).max())


def conversion(
    p: Platform, usage: Usage | None, segment_share: float | None, country: str | None
) -> tuple[float, str]:
    """What turns people into the units of the platform's minimum audience, and their name.

    Parameters
    ----------
    p : Platform
        The platform (what its minimum counts).
    usage : Usage or None
        The platform's usage share in the country, where sourced.
    segment_share : float or None
        The audience segment's share of people (applies to a minimum of the audience).
    country : str or None
        The country, for the unit's words.

    Returns
    -------
    factor : float
        People x ``factor`` = the units of the minimum.
    unit : str
        The units, in words.
    """
    use_seg = segment_share is not None and p.min_of == "audience"
    seg = segment_share if use_seg and segment_share is not None else 1.0
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


class Evaluator(FootprintBuilder):
    """Judges platforms for venue ``i`` of a batch of measured footprints (``facts``).

    Parameters
    ----------
    facts : Facts
        The batch's measured footprints.
    i : int
        The venue.
    country : str, optional
        ISO 3166 alpha-2 country for the platforms' rules (default: the layer's).
    postcode_coverage : float
        The share of the catchment's people a set of postcode districts must cover.
    shared : Shared, optional
        What no venue changes, shared by the evaluators of a batch (filled as they go).
    """

    def __init__(
        self,
        facts: Facts,
        i: int,
        *,
        country: str | None = None,
        postcode_coverage: float = POSTCODE_COVERAGE,
        shared: Shared | None = None,
    ) -> None:
        super().__init__(facts, i, country=country, postcode_coverage=postcode_coverage)
        self.shared: Shared = {} if shared is None else shared  # per batch: what no venue changes

    # -- one platform --------------------------------------------------------------------------
    def evaluate(
        self,
        p: Platform,
        cat: Catalogue,
        *,
        segment_share: float | None = None,
        budget: float | None = None,
        currency: str = "",
        special_category: str | None = None,
        managed_account: bool = False,
    ) -> PlatformRow:
        """Platform ``p``'s row for the venue: its recommended footprint, waste and verdict.

        Every footprint option open in the country is built and measured; the one recommended
        wastes least among those that can run, preferring options whose rule is documented or
        reported by third parties over uncertain ones.  Options offered only through an
        account manager (``managed``) are measured and shown but recommended only with
        ``managed_account``.

        Parameters
        ----------
        p : Platform
            The platform.
        cat : Catalogue
            The catalogue (its verdict scale).
        segment_share : float, optional
            The audience segment's share of people, for the minimum-audience check.
        budget : float, optional
            Spend, to turn the waste share into money wasted.
        currency : str
            The budget's currency.
        special_category : str, optional
            The special ad category the advertiser declared (recorded in the row).
        managed_account : bool
            Whether the advertiser has a managed account (see above).

        Returns
        -------
        PlatformRow
            The row (the JSON contract's ``platforms`` entry, plus ``_geometry``).
        """
        st = self._static(p, segment_share)
        basis, basis_label, usage = st["basis"], st["basis_label"], st["usage"]
        conv, unit = st["conv"], st["unit"]
        catchment = people(self.facts.catchment(self.i), basis)
        options: list[dict[str, Any]] = []
        unavailable: list[dict[str, str]] = []
        for fp in st["footprints"]:
            b = self.build(fp, basis, p, conv)
            if isinstance(b, str):
                unavailable.append({"kind": fp.kind, "reason": b})
                continue
            options.append(
                self._measure(p, fp, b, basis, catchment, usage, segment_share, conv, unit)
            )
        # recommend the option with least waste among those that can run, preferring options
        # whose rule is documented or reported by third parties over uncertain ones; options
        # offered only through an account manager count only for a managed account
        open_ = [o for o in options if managed_account or not o["footprint"]["managed"]]
        runnable = [o for o in open_ if o["min_audience"]["met"] is not False]
        # a circle whose smallest radius is undocumented (drawn at the catchment's own size) is a
        # best case, not a sure option: recommended only when nothing surer can run
        sure = [
            o
            for o in runnable
            if o["footprint"]["rule_confidence"] != "uncertain"
            and o["footprint"].get("min_known", True)
        ]
        pool = sure or runnable or open_
        rank = {"radius": 0, "postcode": 1, "place": 2, "country": 3, "other": 4}
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
        out: PlatformRow = {
            "id": p.id,
            "name": p.name,
            "country": self.country,
            "basis": basis,
            "basis_label": basis_label,
            "location_meaning": p.meaning,
            "location_meaning_options": list(p.meaning_options),
            "special_category": special_category,
            "restricted_rules": p.special is not None,
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
                    "verdict": "not_measurable"
                    if unavailable and all(u["kind"] == "other" for u in unavailable)
                    else "cannot_run",
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
                "managed": o["footprint"]["managed"],
                "condition": o["footprint"]["rule_note"] if o["footprint"]["managed"] else None,
                "min_known": o["footprint"]["min_known"],
            }
            for o in options
        ]
        out["unavailable_options"] = unavailable
        out["stale"] = st["stale"]
        out["advice"] = advice(p, out, rec, catchment, segment_share, managed_account)
        out["rules"] = st["rules"]
        return out

    def _static(self, p: Platform, segment_share: float | None) -> StaticFacts:
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
        usage: Usage | None,
        segment_share: float | None,
        conv: float,
        unit: str,
    ) -> dict[str, Any]:
        ppl = b.people
        inside = catchment if b.inside is None else b.inside  # radius, place, country: contain it
        if b.inside is None and ppl.overlap is not None and ppl.total < catchment.total:
            # a footprint holding the catchment holds at least its people: its overlap (exact
            # for places) and the catchment's (estimated) disagree by the estimate's error
            ppl = replace(ppl, overlap=max(0.0, ppl.overlap - (catchment.total - ppl.total)))
        total = ppl.total
        # (never above 1: the catchment's people inside a footprint cannot outnumber it)
        share_inside = min(1.0, inside.total / total) if total > 0 else None
        waste = None if share_inside is None else max(0.0, 1.0 - share_inside)
        lower = b.lower
        acc: dict[str, Any] | None = None
        acc_why: str | None = None
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
                "managed": fp.managed,
                "min_known": fp.min_known,
            },
            "people": {
                "basis": basis,
                "residents": _r(ppl.residents),
                "workers": _r(ppl.workers) if basis == "residents+workers" else None,
                "live_and_work": _r(ppl.overlap) if basis == "residents+workers" else None,
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


def _waste_part(fp_people: float | None, inside_people: float | None) -> float | None:
    if fp_people is None or inside_people is None or fp_people <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - inside_people / fp_people))


def _r(x: float | None) -> int | None:
    return None if x is None else round(x)


def _min_dict(
    p: Platform,
    fp_pool: float | None,
    c_pool: float | None,
    unit: str | None,
    lower_bound: bool = False,
) -> dict[str, Any]:
    req = p.min_audience
    if p.min_applies_to != "location":  # a customer-list minimum: information, never checked
        fp_pool = c_pool = None
    met = None if req is None or fp_pool is None else bool(fp_pool >= req)
    if met is False and lower_bound:
        met = None  # the footprint reaches beyond the data: its real pool may be large enough
    return {
        "required": req,
        "counts": p.min_counts,
        "applies_to": p.min_applies_to,
        "footprint_pool": None if fp_pool is None else round(fp_pool),
        "catchment_pool": None if c_pool is None else round(c_pool),
        "pool_unit": unit if fp_pool is not None else None,
        "met": met,
        "catchment_met": None if req is None or c_pool is None else bool(c_pool >= req),
        "note": p.min_note,
        "confidence": p.min_prov.confidence,
    }
