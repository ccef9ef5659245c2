"""The report's words: the verdict sentences, the people lines, the platform table's cells and
the rules' sources, generated from a :class:`~geotarget.result.Result` (every number in them comes
from it); shared by the HTML and the Markdown report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .style import VERDICT_WORDS, fmt_int, fmt_money, fmt_share

if TYPE_CHECKING:
    from ..result import Result

FRACTIONS = (
    (1 / 4, "a quarter"),
    (1 / 3, "a third"),
    (1 / 2, "half"),
    (2 / 3, "two thirds"),
    (3 / 4, "three quarters"),
)


def share_words(s: float) -> str:
    """A share in words: 0.341 -> 'about a third'; 0.379 -> 'about 38%'; 0 -> 'none'.

    Parameters
    ----------
    s : float
        The share, 0 to 1.

    Returns
    -------
    str
        A simple fraction when the share is within 1.5 points of one, else a percentage.
    """
    for f, w in FRACTIONS:
        if abs(s - f) <= 0.015:
            return f"about {w}"
    if s <= 0:
        return "none"
    if s < 0.005:
        return "almost none"
    return f"about {100 * s:.0f}%"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _footprint_phrase(fp: dict[str, Any]) -> str:
    label = fp.get("label", "")
    kind = fp.get("kind")
    if kind == "radius":
        return f"a {label} around the venue"
    if label.lower().startswith("all of ") or kind in ("postcode",):
        return label
    return f"all of {label}" if kind in ("place", "country") else label


def summary_sentences(result: Result) -> list[dict[str, Any]]:
    """The verdict in plain words: one sentence per group of platforms sharing a verdict,
    footprint and waste, best first.

    Parameters
    ----------
    result : Result
        A result evaluated with ``platforms=...``.

    Returns
    -------
    list of dict
        Each ``{"verdict": str, "platforms": [ids], "text": str}``.
    """
    rows = result.platform_rows or []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        fp = r.get("footprint") or {}
        key = (
            r.get("verdict"),
            fp.get("kind"),
            fp.get("label"),
            None if r.get("waste_share") is None else round(float(r["waste_share"]), 3),
            bool(r.get("waste_lower_bound")),
            (r.get("waste_money") or {}).get("amount"),
        )
        groups.setdefault(key, []).append(r)
    out = []
    for (verdict, _kind, _label, waste, lb, _m), members in groups.items():
        r = members[0]
        names = _names([m.get("name", m["id"]) for m in members])
        fp = r.get("footprint") or {}
        if verdict == "cannot_run" or not fp or waste is None:
            reason = next(iter(r.get("advice") or []), "")
            text = reason if len(members) == 1 else f"{names}: " + reason.split(": ", 1)[-1]
            text = text or f"{names} cannot run here."
        else:
            waste = float(r["waste_share"])  # the key above is rounded, the words are not
            money = fmt_money(r.get("waste_money"))
            money_txt = (
                f" (about {money})" if money and not lb else (f" ({money})" if money else "")
            )
            where = _footprint_phrase(fp)
            if waste >= 0.99:
                amount = f"at least {fmt_share(waste)}" if lb else "over 99%"
                text = (
                    f"{names} can only target {where}, so {amount} of the spend would miss "
                    f"your catchment{money_txt}."
                )
            elif verdict == "poor":
                amount = f"at least {fmt_share(waste)}" if lb else share_words(waste)
                text = (
                    f"{names} can only target {where}, so {amount} of the spend would land "
                    f"outside your catchment{money_txt}."
                )
            else:
                amount = f"at least {fmt_share(waste)}" if lb else share_words(waste)
                text = (
                    f"{names} can reach this area with {where}, with {amount} of the spend "
                    f"landing outside it{money_txt}."
                )
        out.append({"verdict": verdict, "platforms": [m["id"] for m in members], "text": text})
    return out


def special_category_line(result: Result) -> str | None:
    """Which special ad category the advertiser declared, and the platforms judged on their
    restricted rules for it.

    Parameters
    ----------
    result : Result
        A result evaluated with ``platforms=...``.

    Returns
    -------
    str or None
        A sentence; None when no category was declared.
    """
    rows = result.platform_rows or []
    declared = next((r.get("special_category") for r in rows if r.get("special_category")), None)
    if declared is None:
        return None
    restricted = [str(r.get("name", r["id"])) for r in rows if r.get("restricted_rules")]
    if not restricted:
        return (
            f"Special ad category declared: {declared}. None of the platforms evaluated has "
            "restricted rules for it here, so their usual rules apply."
        )
    return (
        f"Special ad category declared: {declared}. Judged on their restricted rules for it: "
        f"{_names(restricted)}; the other platforms' usual rules apply."
    )


def _populations(result: Result) -> list[tuple[str, Any, str | None]]:
    """``(row label, estimate or None, why unavailable)`` for residents, then workers."""
    return [
        ("Residents", result.residents, result.residents_unavailable),
        ("People who travel in to work", result.workers, result.workers_unavailable),
    ]


def people_plain(result: Result) -> dict[str, str]:
    """Plain words for the residents' and workers' rows of :func:`people_lines`, for a page
    that keeps the technical detail (range model, zones, method) behind a toggle.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse`.

    Returns
    -------
    dict of str to str
        By row label (``"Residents"``, ``"People who travel in to work"``): "likely between
        <low> and <high>", the 90% range.
    """
    return {
        label: f"likely between {est.low:,.0f} and {est.high:,.0f}"
        for label, est, _ in _populations(result)
        if est is not None
    }


def people_lines(result: Result) -> list[tuple[str, str, str]]:
    """The catchment's people as rows of a table, ranges included.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse`.

    Returns
    -------
    list of tuple of str
        ``(what, estimate, detail)`` for residents, workers (and home-workers), then the
        data's coverage of the catchment.
    """
    out = []
    for label, est, why in _populations(result):
        if est is None:
            out.append((label, "unavailable", why or ""))
            continue
        out.append(
            (
                label,
                f"about {est.estimate:,.0f}",
                f"range {est.low:,.0f} – {est.high:,.0f} ({est.range_method}); "
                f"{est.zones:,} × {est.unit}; method {est.method}"
                + (f": {est.description}" if est.description else "")
                + f"; counts {est.definition}",
            )
        )
        if label == "Residents":
            from ..result import _age_rows

            out += [
                (a, f"about {b}" if b != "n/a" else "not available", n)
                for a, b, n in _age_rows(est)
            ]
        if "home_workers" in est.extra:
            out.append(
                (
                    "Home-workers",
                    f"about {est.extra['home_workers']:,.0f}",
                    "people working at or from home there (already counted as residents)",
                )
            )
    both = [
        r["people"]
        for r in result.platform_rows or []
        if (r.get("people") or {}).get("basis") == "residents+workers"
    ]
    if both and result.residents is not None and result.workers is not None:
        pe = max(both, key=lambda p: p["in_catchment"])  # a footprint holding all of it
        out.append(
            (
                "People, each counted once",
                f"about {pe['in_catchment']:,.0f}",
                "residents + people who travel in to work, less the workers who also live "
                "here (estimated from the census commuting flows)"
                if pe.get("live_and_work") is not None
                else "residents + people who travel in to work (no commuting flows in this "
                "layer: who lives and works here counts twice)",
            )
        )
    out.append(
        (
            "Coverage",
            fmt_share(result.coverage_fraction),
            "of the catchment lies inside the area the data describes",
        )
    )
    return out


def _headline(result: Result) -> str:
    v, c = result.venue, result.catchment
    where = (
        f"within your catchment, a {c.get('description', '')} around "
        f"{v.get('label') or 'the venue'} ({c.get('area_km2', 0):.2f} km²)"
    )
    res, wrk = result.residents, result.workers
    if res is not None and wrk is not None:
        return (
            f"About {res.estimate:,.0f} residents live and about {wrk.estimate:,.0f} people "
            f"travel in to work {where}."
        )
    if res is not None:
        return f"About {res.estimate:,.0f} residents live {where}."
    if wrk is not None:
        return f"About {wrk.estimate:,.0f} people travel in to work {where}."
    return f"No people could be counted {where}."


#: a platform's minimum audience, met or not (else "unknown")
MET_WORDS: dict[object, str] = {True: "met", False: "NOT met"}


def _table_rows(result: Result) -> list[dict[str, str]]:
    rows = []
    for r in result.platform_rows or []:
        fp, pe, ma = r.get("footprint") or {}, r.get("people") or {}, r.get("min_audience") or {}
        if ma.get("required") is None:
            mtxt = "none documented"
        elif ma.get("applies_to", "location") != "location":
            mtxt = f"{fmt_int(ma['required'])} (customer lists only, not checked for a place)"
        else:
            met = MET_WORDS.get(ma.get("met"), "unknown")
            mtxt = f"{fmt_int(ma['required'])} ({met})"
        verdict = r.get("verdict", "")
        rows.append(
            {
                "id": r["id"],
                "Platform": r.get("name", r["id"]),
                "Verdict": VERDICT_WORDS.get(verdict, verdict),
                "verdict": verdict,
                "Smallest footprint": fp.get("label", "none"),
                "People reached": fmt_int(pe.get("total")) if pe else "–",
                "In your catchment": fmt_int(pe.get("in_catchment")) if pe else "–",
                "Share inside": fmt_share(r.get("share_inside")),
                "Wasted": fmt_share(r.get("waste_share"), bool(r.get("waste_lower_bound"))),
                "Money wasted": fmt_money(r.get("waste_money")) or "–",
                "Minimum audience": mtxt,
            }
        )
    return rows


COLUMNS = (
    "Platform",
    "Verdict",
    "Smallest footprint",
    "People reached",
    "In your catchment",
    "Share inside",
    "Wasted",
    "Money wasted",
    "Minimum audience",
)


def _rules_sources(result: Result) -> list[tuple[str, str, str, str, str]]:
    """(platform, what, source, read, confidence) of the platform rules used."""
    out: list[tuple[str, str, str, str, str]] = []
    for r in result.platform_rows or []:
        name = str(r.get("name", r["id"]))
        rules = r.get("rules") or {}
        seen = set()
        for f in rules.get("footprints") or []:
            key = (f.get("source"), f.get("read"), f.get("confidence"))
            if key in seen:
                continue
            seen.add(key)
            out.append(
                (
                    name,
                    f"footprints ({f.get('kind', '')})",
                    str(f.get("source", "")),
                    str(f.get("read", "")),
                    str(f.get("confidence", "")),
                )
            )
        for what in ("location_meaning", "min_audience", "usage"):
            f = rules.get(what)
            if isinstance(f, dict) and f.get("source"):
                out.append(
                    (
                        name,
                        what.replace("_", " "),
                        str(f["source"]),
                        str(f.get("read", "")),
                        str(f.get("confidence", "")),
                    )
                )
    return out


def _tiles_note(tiles: str) -> str:
    if tiles == "osm":
        return (
            "Background map: © OpenStreetMap contributors (tiles load only when this file "
            "is opened online)."
        )
    if tiles == "none":
        return "No background map; census zone outlines drawn for context."
    return f"Background map tiles: {tiles} (load only when this file is opened online)."


# -- HTML ------------------------------------------------------------------------------------
