"""The platforms' rules catalogue: load, validate, override.

The catalogue ships as ``platforms.toml`` beside this module; ``--rules FILE`` replaces or extends
it and ``--rule ID.FIELD=VALUE`` overrides single values.  Every value carries a source, the date
it was read and a confidence; a rule read more than 12 months before today is flagged as
possibly stale.  Validation errors name the file, the entry and the field.

The rules as objects are in :mod:`geotarget.platforms.model` and the checks of each table in
:mod:`geotarget.platforms.validate`; their names are importable from here too.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ..errors import RulesError
from ..units import UNITS
from .model import (
    KINDS,
    SPECIAL_CATEGORIES,
    STALE_AFTER_DAYS,
    Catalogue,
    Footprint,
    Platform,
    Provenance,
    Usage,
)
from .validate import (
    CONFIDENCE,
    FOOTPRINT_KEYS,
    MEANINGS,
    PLACE_LEVELS,
    PLATFORM_KEYS,
    POSTCODE_LEVELS,
    PROVENANCE,
    RulesContext,
    distances,
    platform,
    provenance,
)

__all__ = [
    "CONFIDENCE",
    "FOOTPRINT_KEYS",
    "KINDS",
    "MEANINGS",
    "OVERRIDE_FIELDS",
    "PLACE_LEVELS",
    "PLATFORM_KEYS",
    "POSTCODE_LEVELS",
    "PROVENANCE",
    "SCHEMA",
    "STALE_AFTER_DAYS",
    "Catalogue",
    "Footprint",
    "Platform",
    "Provenance",
    "RulesError",
    "Usage",
    "apply_override",
    "catalogue_dict",
    "load",
]

#: the ``schema`` every rules file declares
SCHEMA = "geotarget.platforms/1"


#: the largest rules file read, in bytes (the built-in one is about 35 kB; a file padded with
#: 200,000 comment lines, 4.3 MB, still loads: tests/test_bad_inputs.py)
MAX_RULES_BYTES = 16 * 1024 * 1024
#: the deepest nesting of arrays and inline tables a rules file may hold (the built-in one uses 2)
MAX_RULES_DEPTH = 32


def _nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in TOML text, outside strings and comments.

    tomllib parses nested arrays recursively with no limit of its own, so a 100,000-deep array
    would end in ``RecursionError``; this linear scan lets :func:`_read` refuse it first.
    """
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                i += 2 if (c == '"' and text[i] == "\\") else 1
            i += len(quote)
            continue
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest


def _read(path: Path | None) -> tuple[dict[str, Any], str]:
    if path is None:
        text = resources.files("geotarget.platforms").joinpath("platforms.toml").read_text()
        name = "platforms.toml (built in)"
    else:
        p = Path(path)
        try:
            if p.exists() and not p.is_file():
                raise RulesError(
                    f"rules file {str(p)!r} is not a regular file (a folder, pipe, socket or "
                    "device): give the TOML file"
                )
            size = p.stat().st_size
            if size > MAX_RULES_BYTES:
                raise RulesError(
                    f"rules file {str(p)!r} is {size:,} bytes, more than the "
                    f"{MAX_RULES_BYTES:,} a rules file may be: is it the right file?"
                )
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RulesError(f"cannot read rules file {str(path)!r}: {e}") from e
        name = str(path)
    depth = _nesting_depth(text)
    if depth > MAX_RULES_DEPTH:
        raise RulesError(
            f"rules file {name}: arrays or inline tables nested {depth:,} deep, more than the "
            f"{MAX_RULES_DEPTH} allowed: is it the right file?"
        )
    try:
        return tomllib.loads(text), name
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"rules file {name}: not valid TOML ({e})") from e
    except RecursionError:  # a backstop: the depth check above should come first
        raise RulesError(
            f"rules file {name}: nested too deeply to read: is it the right file?"
        ) from None


def load(
    rules_file: str | Path | None = None,
    *,
    replace: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
) -> Catalogue:
    """The platforms' rules: the built-in catalogue, extended or replaced by a rules file.

    Parameters
    ----------
    rules_file : str or Path, optional
        A rules file (TOML, schema :data:`SCHEMA`); its platforms are added to the built-in
        ones, replacing those of the same id.
    replace : bool
        Keep only the rules file's platforms (the built-in verdict scale stays unless the file
        gives one).
    overrides : list of str
        Single-value overrides such as ``"meta.radius_min=1km"`` (see :func:`apply_override`),
        applied in order.

    Returns
    -------
    Catalogue

    Raises
    ------
    RulesError
        When a file cannot be read, is not TOML or breaks the schema (the message names the
        file, the entry and the field), or an override is invalid.
    """
    raw, name = _read(None)
    files = [name]
    if rules_file is not None:
        user, uname = _read(Path(rules_file))
        files.append(uname)
        if replace:
            raw = {"schema": raw["schema"], "verdict": raw["verdict"]}
        for k, v in user.items():
            raw[k] = v
    data = copy.deepcopy(raw)
    ctx = RulesContext(files[-1])
    if data.get("schema") != SCHEMA:
        raise ctx.fail("schema", "schema", f"{data.get('schema')!r}: expected {SCHEMA!r}")
    verdict = data.get("verdict", {})
    try:
        good, workable = float(verdict["good_below"]), float(verdict["workable_below"])
    except (KeyError, TypeError, ValueError):
        raise ctx.fail(
            "verdict", "good_below", "give good_below and workable_below (shares between 0 and 1)"
        ) from None
    if not 0 < good <= workable <= 1:
        raise ctx.fail("verdict", "good_below", "need 0 < good_below <= workable_below <= 1")
    platforms = {}
    for pid, d in data.items():
        if pid in ("schema", "verdict"):
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]*", pid):
            raise ctx.fail(pid, "", "platform ids are lower-case words (letters, digits, _)")
        platforms[pid] = platform(
            RulesContext(files[-1] if rules_file and pid in user else files[0]), pid, d
        )
    for pid, p in platforms.items():
        if p.special is not None and p.special.replaces not in platforms:
            raise ctx.fail(
                pid,
                "special.replaces",
                f"{p.special.replaces!r} is not a platform of the catalogue",
            )
    cat = Catalogue(
        platforms, good, workable, provenance(ctx, "verdict", "verdict", verdict), files
    )
    if isinstance(overrides, str):
        overrides = [overrides]
    for o in overrides:
        apply_override(cat, o)
    return cat


#: the fields ``--rule ID.FIELD=VALUE`` can override
OVERRIDE_FIELDS = (
    "radius_min",
    "radius_max",
    "min_audience",
    "location_meaning",
    "usage.<CC>",
    "managed",
)


def apply_override(cat: Catalogue, text: str) -> None:
    """Apply one ``ID.FIELD=VALUE`` override to the catalogue, in place.

    The overridden value's provenance becomes the override itself (confidence ``user``, read
    today).

    Parameters
    ----------
    cat : Catalogue
        The catalogue to change.
    text : str
        ``ID.FIELD=VALUE``, the field one of :data:`OVERRIDE_FIELDS`: ``radius_min`` and
        ``radius_max`` take distances with units (comma-separated, one per unit),
        ``min_audience`` a number >= 0, ``location_meaning`` one of :data:`MEANINGS` and
        ``usage.<CC>`` a share in (0, 1] and ``managed`` ``false`` (the platform's options
        offered only through an account manager are open to you: they may be recommended).

    Raises
    ------
    RulesError
        When the text, the platform, the field or the value is invalid.
    """
    m = re.fullmatch(r"\s*([a-z][a-z0-9_]*)\.([a-z_]+(?:\.[A-Z]{2})?)\s*=\s*(.+?)\s*", text)
    if not m:
        raise RulesError(
            f"--rule {text!r}: write ID.FIELD=VALUE, e.g. meta.radius_min=1km "
            f"(fields: {', '.join(OVERRIDE_FIELDS)})"
        )
    pid, fld, value = m.groups()
    if pid not in cat.platforms:
        raise RulesError(
            f"--rule {text!r}: no platform {pid!r}; known: {', '.join(sorted(cat.platforms))}"
        )
    p = cat.platforms[pid]
    prov = Provenance(f"user override --rule {text.strip()}", dt.date.today().isoformat(), "user")
    if fld in ("radius_min", "radius_max"):
        _override_radius(p, pid, fld, value, text, prov)
    elif fld == "min_audience":
        p.min_audience, p.min_prov = _override_number(value, text), prov
    elif fld == "location_meaning":
        if value not in MEANINGS:
            raise RulesError(f"--rule {text!r}: use one of {', '.join(MEANINGS)}")
        p.meaning, p.meaning_prov = value, prov
    elif fld == "managed":
        _override_managed(p, pid, value, text, prov)
    elif fld.startswith("usage."):
        cc = fld.split(".", 1)[1]
        p.usage[cc] = Usage(
            _override_share(value, text), "user-supplied", "user-supplied share", prov
        )
    else:
        raise RulesError(
            f"--rule {text!r}: unknown field {fld!r}; overridable: {', '.join(OVERRIDE_FIELDS)}"
        )


def _override_radius(
    p: Platform, pid: str, fld: str, value: str, text: str, prov: Provenance
) -> None:
    """Replace the minimum (``radius_min``) or maximum radii of ``p``'s radius options."""
    radius = [f for f in p.footprints if f.kind == "radius"]
    if not radius:
        raise RulesError(f"--rule {text!r}: {pid} has no radius option to override")
    dists, units = distances(
        RulesContext("--rule"), pid, fld, [v.strip() for v in value.split(",")]
    )
    new = []
    for f in p.footprints:
        if f.kind != "radius":
            new.append(f)
            continue
        mn, mx = (dists, f.max_m) if fld == "radius_min" else (f.min_m, dists)
        if min(mn) > max(mx):
            raise RulesError(
                f"--rule {text!r}: minimum {min(mn):g} m would exceed maximum {max(mx):g} m"
            )
        nu = (
            (units + f.units[len(f.min_m) :])
            if fld == "radius_min"
            else (f.units[: len(f.min_m)] + units)
        )
        new.append(Footprint(**{**f.__dict__, "min_m": mn, "max_m": mx, "units": nu, "prov": prov}))
    p.footprints = new


def _override_managed(p: Platform, pid: str, value: str, text: str, prov: Provenance) -> None:
    """Open (``managed=false``) the options of ``p`` offered through an account manager."""
    if value.lower() != "false":
        raise RulesError(
            f"--rule {text!r}: write {pid}.managed=false to open the options offered through "
            "an account manager (they are closed by default)"
        )
    if not any(f.managed for f in p.footprints):
        raise RulesError(f"--rule {text!r}: {pid} has no option offered through an account manager")
    p.footprints = [
        Footprint(**{**f.__dict__, "managed": False, "prov": prov}) if f.managed else f
        for f in p.footprints
    ]


def _override_number(value: str, text: str) -> float:
    """A minimum audience given in an override: a finite number >= 0."""
    try:
        v = float(value)
    except ValueError:
        raise RulesError(f"--rule {text!r}: min_audience must be a number") from None
    if v < 0 or not math.isfinite(v):
        raise RulesError(f"--rule {text!r}: min_audience must be a finite number >= 0")
    return v


def _override_share(value: str, text: str) -> float:
    """A usage share given in an override: a number in (0, 1]."""
    try:
        share = float(value)
    except ValueError:
        raise RulesError(f"--rule {text!r}: a usage share is a number in (0, 1]") from None
    if not 0 < share <= 1:  # NaN fails this too
        raise RulesError(f"--rule {text!r}: a usage share is a number in (0, 1]")
    return share


def _distance_texts(ms: tuple[float, ...], units: tuple[str, ...]) -> list[str]:
    return [f"{m / UNITS[u]:g}{u}" for m, u in zip(ms, units)]


def _footprint_dict(f: Footprint) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": f.kind}
    if f.countries:
        d["countries"] = list(f.countries)
    if f.kind == "radius":
        d["min"] = _distance_texts(f.min_m, f.units[: len(f.min_m)])
        d["max"] = _distance_texts(f.max_m, f.units[len(f.min_m) :])
        d["whole_numbers"] = f.whole_numbers
        if f.min_people is not None:
            d["min_people"] = f.min_people
        if not f.min_known:
            d["min_known"] = False
    if f.level is not None:
        d["level"] = f.level
    if f.levels:
        d["levels"] = list(f.levels)
    if f.max_locations is not None:
        d["max_locations"] = f.max_locations
    if f.managed:
        d["managed"] = True
    if f.note:
        d["note"] = f.note
    return d | f.prov.to_dict()


def _platform_dict(p: Platform) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "footprints": [_footprint_dict(f) for f in p.footprints],
        "location_meaning": {
            "value": p.meaning,
            "options": list(p.meaning_options),
            "note": p.meaning_note,
        }
        | p.meaning_prov.to_dict(),
        "min_audience": {
            "value": p.min_audience,
            "counts": p.min_counts,
            "of": p.min_of,
            "applies_to": p.min_applies_to,
            "note": p.min_note,
        }
        | p.min_prov.to_dict(),
        "usage": {
            cc: {"share": u.share, "denominator": u.denominator, "what": u.what} | u.prov.to_dict()
            for cc, u in p.usage.items()
        },
        "conflicts": [dict(c) for c in p.conflicts],
        "advice": list(p.advice),
        "possibly_stale": p.stale(),
    }
    if p.special is not None:
        d["special"] = {
            "categories": list(p.special.categories),
            "replaces": p.special.replaces,
            "countries": None if p.special.countries is None else list(p.special.countries),
            "note": p.special.note,
        } | p.special.prov.to_dict()
    return d


def catalogue_dict(cat: Catalogue) -> dict[str, Any]:
    """The whole validated catalogue as JSON-ready values (``geotarget platforms --json``).

    Parameters
    ----------
    cat : Catalogue
        The catalogue, as loaded (overrides applied).

    Returns
    -------
    dict
        ``schema``, ``files``, ``verdict`` (the scale with its provenance), the special ad
        categories an advertiser may declare, and ``platforms``: every platform with each
        value's source, date read and confidence.
    """
    return {
        "schema": SCHEMA,
        "files": list(cat.files),
        "verdict": {"good_below": cat.good_below, "workable_below": cat.workable_below}
        | cat.verdict_prov.to_dict(),
        "special_categories": list(SPECIAL_CATEGORIES),
        "platforms": [_platform_dict(p) for p in cat.platforms.values()],
    }
