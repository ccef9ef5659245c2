"""A platform row's verdict and its advice in plain language.

The verdict follows the catalogue's documented scale; the advice says which footprint to target,
how much of the audience would fall outside the catchment, whether the minimum audience is met,
and what to check in the platform.  Both read a row built by
:class:`~geotarget.platforms.feasibility.Evaluator`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Catalogue, Platform

if TYPE_CHECKING:
    from .builders import People
    from .model import PlatformRow

__all__ = ["VERDICTS", "advice", "verdict"]

#: the verdicts, best first; ``not_measurable``: the platform's only options are ones whose
#: geography geotarget cannot measure (pins near drivers, distance-ranked listings)
VERDICTS = ("good", "workable", "poor", "cannot_run", "not_measurable")


def verdict(rec: dict[str, Any], cat: Catalogue) -> str:
    """The verdict on a platform's recommended option.

    ``cannot_run`` when the minimum audience is not met on the footprint (or the footprint holds
    nobody); otherwise by the share of spend wasted: good < ``good_below`` <= workable <
    ``workable_below`` <= poor.

    Parameters
    ----------
    rec : dict
        The recommended option (``min_audience``, ``waste_share``).
    cat : Catalogue
        The catalogue (its verdict scale).

    Returns
    -------
    str
        One of :data:`VERDICTS`.
    """
    if rec["min_audience"]["met"] is False or rec["waste_share"] is None:
        return "cannot_run"
    w = rec["waste_share"]
    if w < cat.good_below:
        return "good"
    if w < cat.workable_below:
        return "workable"
    return "poor"


def advice(
    p: Platform,
    out: PlatformRow,
    rec: dict[str, Any] | None,
    catchment: People,
    segment_share: float | None,
    managed_account: bool = False,
) -> list[str]:
    """The advice for one platform, in plain sentences.

    Parameters
    ----------
    p : Platform
        The platform.
    out : PlatformRow
        Its row so far (``options``, ``unavailable_options``, ``country``, ``stale``).
    rec : dict or None
        The recommended option (None: no option could be measured).
    catchment : People
        The catchment's people on the platform's basis.
    segment_share : float or None
        The audience segment's share of people.
    managed_account : bool
        Whether the advertiser declared a managed account.

    Returns
    -------
    list of str
        Sentences, each naming the platform.
    """
    held_back = _managed_tips(p, out, rec, managed_account)
    if rec is None:
        reasons = "; ".join(f"{u['kind']}: {u['reason']}" for u in out["unavailable_options"])
        if not reasons:
            reasons = (
                f"the catalogue lists no targeting option for "
                f"{out.get('country') or 'this country'}"
            )
        return [
            f"{p.name}: no targeting option can be measured here ({reasons}).",
            *held_back,
        ]
    fp = rec["footprint"]
    tips = _footprint_tips(p, rec) + held_back
    if p.meaning == "presence_or_interest":
        tips.append(
            f"{p.name}: choose 'Presence' (people in or regularly in the area), not the "
            "default 'Presence or interest', which also reaches people merely interested "
            "in the place -- waste would then exceed these figures."
        )
    tips += _min_audience_tips(p, rec["min_audience"])
    better = [
        o
        for o in out["options"]
        if o["waste_share"] is not None
        and o["can_run"]
        and not o.get("managed")
        and rec["waste_share"] is not None
        and o["waste_share"] < rec["waste_share"] - 1e-9
    ]
    for o in better:
        why = (
            "the smallest radius is not documented (the circle is drawn at the catchment's own "
            "size, a best case); check the smallest the platform accepts"
            if o["kind"] == "radius" and not o.get("min_known", True)
            else "that option rests on an uncertain rule; check the platform offers it"
        )
        tips.append(
            f"{p.name}: '{o['label']}' would waste less ({o['waste_share']:.0%}), but {why}."
        )
    if fp.get("rule_confidence") == "uncertain":
        tips.append(
            f"{p.name}: this option rests on an uncertain rule "
            f"({fp.get('rule_note') or 'not documented'}); check it in the platform."
        )
    if fp.get("kind") == "radius" and any(
        f.kind == "radius" and not f.min_known for f in p.footprints
    ):
        tips.append(
            f"{p.name}: its smallest radius is not documented, so the circle is the "
            "catchment's own size, a best case; check the smallest the platform accepts."
        )
    for u in out["unavailable_options"]:
        if u["kind"] == "other":
            tips.append(f"{p.name}: another option {u['reason']}.")
    tips.extend(f"{p.name}: {a}" for a in p.advice)  # the catalogue's own advice, if any
    if out.get("stale") if "stale" in out else p.stale():
        tips.append(f"{p.name}: some rules were read more than 12 months ago and may be stale.")
    return tips


def _managed_tips(
    p: Platform, out: PlatformRow, rec: dict[str, Any] | None, managed_account: bool
) -> list[str]:
    """The options held back because they need a managed account (or say they were used)."""
    tips = []
    for o in out["options"]:
        if not o.get("managed"):
            continue
        w = "" if o["waste_share"] is None else f" (wasting {o['waste_share']:.0%})"
        if managed_account:
            if o["recommended"]:
                tips.append(
                    f"{p.name}: '{o['label']}' is offered {o['condition']}; recommended "
                    "because you declared a managed account."
                )
            continue
        tips.append(
            f"{p.name}: '{o['label']}'{w} is not the recommendation: it is offered "
            f"{o['condition']}. Declare --managed-account if you have that access."
        )
    return tips


def _footprint_tips(p: Platform, rec: dict[str, Any]) -> list[str]:
    """What to target and the share of the audience outside the catchment."""
    fp, w = rec["footprint"], rec["waste_share"]
    lb = " at least" if rec["waste_lower_bound"] else ""
    if w is None:
        return []
    if fp["kind"] == "radius":
        why = (
            "the smallest whose audience clears its minimum"
            if any("widened until" in n for n in fp.get("notes", []))
            else "the smallest footprint it allows here"
        )
        return [
            f"{p.name}: a {fp['label']} is {why}; "
            f"expect{lb} {w:.0%} of the audience outside the catchment."
        ]
    if fp["kind"] == "place":
        return [
            f"{p.name}: the smallest footprint it surely offers here is "
            f"{fp['label']}:{lb} {w:.1%} of the audience would be outside the "
            "catchment."
        ]
    if fp["kind"] == "postcode":
        return [
            f"{p.name}: target {fp['label']} (covering "
            f"{fp.get('catchment_people_covered', 0):.0%} of the catchment's people); "
            f"expect{lb} {w:.0%} of the audience outside the catchment."
        ]
    return [
        f"{p.name}: only country-wide targeting is open here;{lb} {w:.1%} of "
        "the audience would be outside the catchment."
    ]


def _min_audience_tips(p: Platform, ma: dict[str, Any]) -> list[str]:
    """Whether the footprint, or the catchment alone, clears the platform's minimum."""
    if ma["required"] is None:
        return [f"{p.name} documents no minimum audience for location targeting."]
    if ma.get("applies_to", "location") != "location":
        return [
            f"{p.name}'s minimum of {ma['required']:,.0f} {ma['counts']} applies to customer "
            "lists, not to location targeting: it is not checked for this footprint."
        ]
    if ma["met"] is False:
        return [
            f"{p.name} cannot run: the footprint holds about "
            f"{ma['footprint_pool']:,} {ma['pool_unit']}, below its minimum of "
            f"{ma['required']:,.0f} {ma['counts']}."
        ]
    if (
        ma["met"] is None
        and ma["footprint_pool"] is not None
        and (ma["footprint_pool"] < ma["required"])
    ):
        return [
            f"{p.name}: the footprint reaches beyond the data; within it, about "
            f"{ma['footprint_pool']:,} {ma['pool_unit']} -- whether it clears the "
            f"minimum of {ma['required']:,.0f} is unknown."
        ]
    if ma["catchment_met"] is False:
        return [
            f"Even perfect geography would not clear {p.name}'s minimum of "
            f"{ma['required']:,.0f} {ma['counts']}: the catchment alone holds about "
            f"{ma['catchment_pool']:,} {ma['pool_unit']}."
        ]
    return []
