"""Validation of a rules file's tables: each value checked, errors naming file, entry and field.

:func:`platform` turns one ``[ID]`` table into a :class:`~geotarget.platforms.model.Platform`;
:mod:`geotarget.platforms.catalogue` reads the files and applies overrides.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import InputError, RulesError
from ..units import parse_distance
from .model import (
    KINDS,
    MIN_APPLIES_TO,
    SPECIAL_CATEGORIES,
    Footprint,
    Platform,
    Provenance,
    Special,
    Usage,
    _date,
)

#: the levels a ``place`` footprint may name
PLACE_LEVELS = ("city", "county", "region", "metro", "dma", "tract")
#: the levels a ``postcode`` footprint may name
POSTCODE_LEVELS = ("district", "zip", "fsa")
#: what "people in this location" may mean on a platform
MEANINGS = (
    "living_in",
    "living_or_recently_in",
    "recently_in",
    "presence",
    "presence_or_interest",
    "unknown",
)
#: how sure a rule is: read in the platform's documentation, reported by a third party...
CONFIDENCE = ("documented", "third_party", "uncertain", "user")
#: the keys that record where a value comes from
PROVENANCE = {"source", "read", "confidence", "published", "note"}
#: the keys each footprint kind allows
FOOTPRINT_KEYS = {
    "radius": {
        "kind",
        "min",
        "max",
        "whole_numbers",
        "min_people",
        "min_known",
        "countries",
        "max_locations",
        "managed",
    }
    | PROVENANCE,
    "postcode": {"kind", "level", "countries", "max_locations", "managed"} | PROVENANCE,
    "place": {"kind", "levels", "countries", "max_locations", "managed"} | PROVENANCE,
    "country": {"kind", "countries", "managed"} | PROVENANCE,
    "other": {"kind", "countries", "managed"} | PROVENANCE,
}
#: the keys a platform's table allows
PLATFORM_KEYS = {
    "name",
    "footprints",
    "location_meaning",
    "min_audience",
    "usage",
    "conflicts",
    "advice",
    "special",
}


class RulesContext:
    """The rules file being read, to name it in errors.

    Parameters
    ----------
    file : str
        The file's name (or ``"--rule"`` for an override).
    """

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, entry: str, fld: str, msg: str) -> RulesError:
        """The error for a bad value, naming the file, the entry and the field.

        Parameters
        ----------
        entry : str
            The platform id (or ``schema``, ``verdict``).
        fld : str
            The field, e.g. ``footprints[0].min``.
        msg : str
            What is wrong and what to give instead.

        Returns
        -------
        RulesError
            To raise.
        """
        return RulesError(f"rules file {self.file}: entry {entry!r}, field {fld!r}: {msg}")


def provenance(ctx: RulesContext, entry: str, where: str, d: dict[str, Any]) -> Provenance:
    """The provenance recorded in table ``d`` (``source``, ``read``, ``confidence``...).

    Parameters
    ----------
    ctx : RulesContext
        The file being read.
    entry, where : str
        The platform id and the field of ``d``, for errors.
    d : dict
        The table holding the value.

    Returns
    -------
    Provenance

    Raises
    ------
    RulesError
        When a key is missing, ``read`` is not a date or ``confidence`` is unknown.
    """
    for k in ("source", "read", "confidence"):
        if not d.get(k):
            raise ctx.fail(
                entry,
                f"{where}.{k}",
                "missing: every value needs its source, the date "
                "it was read (YYYY-MM or YYYY-MM-DD) and a confidence",
            )
    try:
        _date(str(d["read"]))
    except ValueError:
        raise ctx.fail(
            entry, f"{where}.read", f"{d['read']!r} is not a date (YYYY-MM or YYYY-MM-DD)"
        ) from None
    if d["confidence"] not in CONFIDENCE:
        raise ctx.fail(
            entry,
            f"{where}.confidence",
            f"{d['confidence']!r} is not one of {', '.join(CONFIDENCE)}",
        )
    return Provenance(
        str(d["source"]),
        str(d["read"]),
        d["confidence"],
        str(d["published"]) if d.get("published") else None,
    )


def distances(
    ctx: RulesContext, entry: str, where: str, values: object
) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Distances with units (``"1km"`` or ``["1km", "1mi"]``) in metres, and their units.

    Parameters
    ----------
    ctx : RulesContext
        The file being read.
    entry, where : str
        The platform id and the field, for errors.
    values : object
        A distance text or a list of them.

    Returns
    -------
    tuple
        The distances in metres and the unit each was given in.

    Raises
    ------
    RulesError
        When a value is not a non-negative distance with a unit.
    """
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise ctx.fail(entry, where, 'give a list of distances with units, e.g. ["1km", "1mi"]')
    out, units = [], []
    for v in values:
        m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*([a-z]+)\s*", str(v))
        if not m:
            raise ctx.fail(entry, where, f"{v!r} is not a distance with a unit (m, km, mi, ft)")
        if float(m.group(1)) < 0:
            raise ctx.fail(entry, where, f"{v!r} is negative")
        if float(m.group(1)) == 0:
            out.append(0.0)
        else:
            try:
                out.append(parse_distance(str(v), what=where, max_m=None))
            except InputError as e:
                raise ctx.fail(entry, where, str(e)) from None
        units.append(m.group(2))
    return tuple(out), tuple(units)


# -- footprints ------------------------------------------------------------------------------
def _footprint_kind(
    ctx: RulesContext, entry: str, where: str, d: object
) -> tuple[str, dict[str, Any]]:
    """The kind of footprint table ``d``, checked with its keys; and the table."""
    if not isinstance(d, dict):
        raise ctx.fail(
            entry, where, "each footprint is a table ([[ID.footprints]] with kind = ...)"
        )
    kind = d.get("kind")
    if kind not in KINDS:
        raise ctx.fail(
            entry,
            f"{where}.kind",
            f"unknown footprint kind {kind!r}: use one of {', '.join(KINDS)}",
        )
    unknown = set(d) - FOOTPRINT_KEYS[kind]
    if unknown:
        raise ctx.fail(
            entry,
            f"{where}.{sorted(unknown)[0]}",
            f"unknown key for a {kind} "
            f"footprint; allowed: {', '.join(sorted(FOOTPRINT_KEYS[kind]))}",
        )
    return kind, d


def _countries(
    ctx: RulesContext, entry: str, where: str, d: dict[str, Any]
) -> tuple[str, ...] | None:
    countries = d.get("countries")
    if countries is None:
        return None
    if not isinstance(countries, list) or not all(
        isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in countries
    ):
        raise ctx.fail(
            entry, f"{where}.countries", 'give ISO 3166 alpha-2 codes, e.g. ["US", "JP"]'
        )
    return tuple(countries)


def _max_locations(ctx: RulesContext, entry: str, where: str, d: dict[str, Any]) -> int | None:
    ml = d.get("max_locations")
    if ml is not None and (isinstance(ml, bool) or not isinstance(ml, int) or ml < 1):
        raise ctx.fail(entry, f"{where}.max_locations", f"{ml!r} must be a whole number >= 1")
    return ml


def _radius_fields(ctx: RulesContext, entry: str, where: str, d: dict[str, Any]) -> dict[str, Any]:
    """The fields of a radius footprint: its legal radii, units and widening."""
    if "min" not in d or "max" not in d:
        raise ctx.fail(
            entry,
            f"{where}.{'min' if 'min' not in d else 'max'}",
            "a radius footprint needs min and max",
        )
    mn, mn_u = distances(ctx, entry, f"{where}.min", d["min"])
    mx, mx_u = distances(ctx, entry, f"{where}.max", d["max"])
    if min(mn) > max(mx):
        raise ctx.fail(
            entry, f"{where}.min", f"minimum {d['min']} is larger than maximum {d['max']}"
        )
    for a, ua in zip(mn, mn_u):  # per unit: the minimum in a unit must not exceed its maximum
        for b, ub in zip(mx, mx_u):
            if ua == ub and a > b:
                raise ctx.fail(
                    entry,
                    f"{where}.min",
                    f"minimum {a / 1:g} m in {ua} is larger than the maximum {b:g} m in {ub}",
                )
    if "whole_numbers" in d and not isinstance(d["whole_numbers"], bool):
        raise ctx.fail(
            entry, f"{where}.whole_numbers", f"{d['whole_numbers']!r}: use true or false"
        )
    mp = d.get("min_people")
    if mp is not None and (
        isinstance(mp, bool) or not isinstance(mp, (int, float)) or not math.isfinite(mp) or mp < 0
    ):
        raise ctx.fail(entry, f"{where}.min_people", f"{mp!r} must be a number >= 0")
    if "min_known" in d and not isinstance(d["min_known"], bool):
        raise ctx.fail(entry, f"{where}.min_known", f"{d['min_known']!r}: use true or false")
    return {
        "min_m": mn,
        "max_m": mx,
        "units": mn_u + mx_u,
        "whole_numbers": bool(d.get("whole_numbers")),
        "min_people": mp,
        "min_known": bool(d.get("min_known", True)),
    }


def _postcode_fields(
    ctx: RulesContext, entry: str, where: str, d: dict[str, Any]
) -> dict[str, Any]:
    if d.get("level") not in POSTCODE_LEVELS:
        raise ctx.fail(
            entry,
            f"{where}.level",
            f"{d.get('level')!r}: use one of {', '.join(POSTCODE_LEVELS)}",
        )
    return {"level": d["level"]}


def _place_fields(ctx: RulesContext, entry: str, where: str, d: dict[str, Any]) -> dict[str, Any]:
    levels = d.get("levels")
    if not isinstance(levels, list) or not levels or any(lv not in PLACE_LEVELS for lv in levels):
        raise ctx.fail(
            entry, f"{where}.levels", f"{levels!r}: give a list among {', '.join(PLACE_LEVELS)}"
        )
    return {"levels": tuple(levels)}


_KIND_FIELDS = {"radius": _radius_fields, "postcode": _postcode_fields, "place": _place_fields}


def _footprint(ctx: RulesContext, entry: str, i: int, table: object) -> Footprint:
    where = f"footprints[{i}]"
    kind, d = _footprint_kind(ctx, entry, where, table)
    prov = provenance(ctx, entry, where, d)
    if "managed" in d and not isinstance(d["managed"], bool):
        raise ctx.fail(entry, f"{where}.managed", f"{d['managed']!r}: use true or false")
    if kind == "other" and not d.get("note"):
        raise ctx.fail(
            entry, f"{where}.note", "say what the option is and why it cannot be measured"
        )
    kw: dict[str, Any] = {
        "kind": kind,
        "prov": prov,
        "countries": _countries(ctx, entry, where, d),
        "note": d.get("note", ""),
        "max_locations": _max_locations(ctx, entry, where, d),
        "managed": bool(d.get("managed", False)),
    }
    if kind in _KIND_FIELDS:
        kw.update(_KIND_FIELDS[kind](ctx, entry, where, d))
    return Footprint(**kw)


# -- platforms -------------------------------------------------------------------------------
#: ids a platform may not take: ``--platforms all`` means every platform
RESERVED_IDS = frozenset({"all"})


def _platform_table(ctx: RulesContext, pid: str, d: object) -> dict[str, Any]:
    if pid.lower() in RESERVED_IDS:
        raise ctx.fail(
            pid, "", "this id is reserved (--platforms all means every platform): rename it"
        )
    if not isinstance(d, dict):
        raise ctx.fail(pid, "", "each platform is a table")
    unknown = set(d) - PLATFORM_KEYS
    if unknown:
        raise ctx.fail(
            pid, sorted(unknown)[0], f"unknown key; allowed: {', '.join(sorted(PLATFORM_KEYS))}"
        )
    if not d.get("name"):
        raise ctx.fail(pid, "name", "missing")
    return d


def _footprints(ctx: RulesContext, pid: str, d: dict[str, Any]) -> list[Footprint]:
    fps = d.get("footprints", [])
    if not isinstance(fps, list):
        raise ctx.fail(pid, "footprints", "give a list of [[ID.footprints]] tables")
    return [_footprint(ctx, pid, i, f) for i, f in enumerate(fps)]


def _meaning(
    ctx: RulesContext, pid: str, d: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The location-meaning table and the meanings the advertiser can choose."""
    lm = d.get("location_meaning")
    if not isinstance(lm, dict):
        raise ctx.fail(pid, "location_meaning", "missing: say what 'in this location' means")
    if lm.get("value") not in MEANINGS:
        raise ctx.fail(
            pid, "location_meaning.value", f"{lm.get('value')!r}: use one of {', '.join(MEANINGS)}"
        )
    options = lm.get("options", [lm["value"]])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ctx.fail(
            pid,
            "location_meaning.options",
            f'{options!r}: give a list such as ["presence", "presence_or_interest"]',
        )
    bad = [o for o in options if o not in MEANINGS]
    if bad:
        raise ctx.fail(
            pid, "location_meaning.options", f"{bad[0]!r}: use values among {', '.join(MEANINGS)}"
        )
    return lm, tuple(options)


def _min_audience(
    ctx: RulesContext, pid: str, d: dict[str, Any]
) -> tuple[dict[str, Any], float | None]:
    """The minimum-audience table and its value (``None``: not known)."""
    ma = d.get("min_audience")
    if not isinstance(ma, dict):
        raise ctx.fail(
            pid, "min_audience", "missing (use known = false with a source when not found)"
        )
    if ma.get("known", True) is False:
        value = None
    else:
        value = ma.get("value")
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or value < 0
            or not math.isfinite(value)
        ):
            raise ctx.fail(
                pid, "min_audience.value", f"{value!r} must be a number >= 0 (or set known = false)"
            )
    unknown = set(ma) - {"value", "known", "counts", "of", "applies_to"} - PROVENANCE
    if unknown:
        raise ctx.fail(
            pid,
            f"min_audience.{sorted(unknown)[0]}",
            "unknown key; allowed: value, "
            "known, counts, of, applies_to, source, read, confidence, published, note",
        )
    if ma.get("applies_to", "location") not in MIN_APPLIES_TO:
        raise ctx.fail(
            pid,
            "min_audience.applies_to",
            f"{ma.get('applies_to')!r}: use one of {', '.join(MIN_APPLIES_TO)}",
        )
    if ma.get("of", "audience") not in ("audience", "geography"):
        raise ctx.fail(pid, "min_audience.of", f"{ma.get('of')!r}: use audience or geography")
    return ma, None if value is None else float(value)


def _usage(ctx: RulesContext, pid: str, d: dict[str, Any]) -> dict[str, Usage]:
    usage = {}
    if not isinstance(d.get("usage") or {}, dict):
        raise ctx.fail(
            pid, "usage", "give tables [ID.usage.CC] with share, source, read, confidence"
        )
    for country, u in (d.get("usage") or {}).items():
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise ctx.fail(pid, f"usage.{country}", "usage is keyed by ISO 3166 alpha-2 country")
        if not isinstance(u, dict):
            raise ctx.fail(
                pid,
                f"usage.{country}",
                "give a table with share, denominator, source, read, confidence",
            )
        share = u.get("share")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ctx.fail(pid, f"usage.{country}.share", f"{share!r} must be a share in (0, 1]")
        usage[country] = Usage(
            float(share),
            str(u.get("denominator", "adults")),
            str(u.get("what", "")),
            provenance(ctx, pid, f"usage.{country}", u),
        )
    return usage


def _conflicts(ctx: RulesContext, pid: str, d: dict[str, Any]) -> list[dict[str, Any]]:
    conflicts = d.get("conflicts", [])
    if not isinstance(conflicts, list) or not all(isinstance(c, dict) for c in conflicts):
        raise ctx.fail(
            pid,
            "conflicts",
            "give [[ID.conflicts]] tables with field, value, source, read, confidence",
        )
    for i, c in enumerate(conflicts):
        provenance(ctx, pid, f"conflicts[{i}]", c)
        if "field" not in c or "value" not in c:
            raise ctx.fail(pid, f"conflicts[{i}]", "a conflict records field and value")
    return list(conflicts)


def _advice(ctx: RulesContext, pid: str, d: dict[str, Any]) -> list[str]:
    advice = d.get("advice", [])
    if not isinstance(advice, list) or not all(isinstance(a, str) for a in advice):
        raise ctx.fail(pid, "advice", f"{advice!r}: give a list of sentences")
    return list(advice)


def _special(ctx: RulesContext, pid: str, d: dict[str, Any]) -> Special | None:
    """The special-ad-category table of an entry holding restricted rules (None: none)."""
    sp = d.get("special")
    if sp is None:
        return None
    if not isinstance(sp, dict):
        raise ctx.fail(pid, "special", "give a table with categories, replaces and provenance")
    unknown = set(sp) - {"categories", "replaces", "countries"} - PROVENANCE
    if unknown:
        raise ctx.fail(
            pid,
            f"special.{sorted(unknown)[0]}",
            "unknown key; allowed: categories, replaces, countries, source, read, confidence, "
            "published, note",
        )
    cats = sp.get("categories")
    if not isinstance(cats, list) or not cats or any(c not in SPECIAL_CATEGORIES for c in cats):
        raise ctx.fail(
            pid,
            "special.categories",
            f"{cats!r}: give a list among {', '.join(SPECIAL_CATEGORIES)}",
        )
    rep = sp.get("replaces")
    if not isinstance(rep, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", rep) or rep == pid:
        raise ctx.fail(pid, "special.replaces", f"{rep!r}: name the platform's general entry")
    return Special(
        tuple(cats),
        rep,
        _countries(ctx, pid, "special", sp),
        provenance(ctx, pid, "special", sp),
        str(sp.get("note", "")),
    )


def platform(ctx: RulesContext, pid: str, table: object) -> Platform:
    """Platform ``pid`` from its table in a rules file, validated.

    Parameters
    ----------
    ctx : RulesContext
        The file the table comes from.
    pid : str
        The platform's id.
    table : object
        Its table (a dict, when valid).

    Returns
    -------
    Platform

    Raises
    ------
    RulesError
        On the first invalid value, naming the file, the entry and the field.
    """
    d = _platform_table(ctx, pid, table)
    footprints = _footprints(ctx, pid, d)
    if not isinstance(d.get("name"), str):
        raise ctx.fail(pid, "name", "must be text")
    lm, options = _meaning(ctx, pid, d)
    ma, value = _min_audience(ctx, pid, d)
    unknown = set(lm) - {"value", "options"} - PROVENANCE
    if unknown:
        raise ctx.fail(
            pid,
            f"location_meaning.{sorted(unknown)[0]}",
            "unknown key; allowed: value, options, source, read, confidence, published, note",
        )
    usage = _usage(ctx, pid, d)
    conflicts = _conflicts(ctx, pid, d)
    advice = _advice(ctx, pid, d)
    return Platform(
        id=pid,
        name=str(d["name"]),
        footprints=footprints,
        meaning=lm["value"],
        meaning_options=options,
        meaning_prov=provenance(ctx, pid, "location_meaning", lm),
        meaning_note=lm.get("note", ""),
        min_audience=value,
        min_counts=str(ma.get("counts", "people")),
        min_note=ma.get("note", ""),
        min_prov=provenance(ctx, pid, "min_audience", ma),
        min_of=ma.get("of", "audience"),
        min_applies_to=ma.get("applies_to", "location"),
        usage=usage,
        conflicts=conflicts,
        advice=advice,
        special=_special(ctx, pid, d),
    )
