"""The platforms' rules catalogue: load, validate, override.

The catalogue ships as ``platforms.toml`` beside this module; ``--rules FILE`` replaces or extends
it and ``--rule ID.FIELD=VALUE`` overrides single values.  Every value carries a source, the date
it was read and a confidence; a rule read more than 12 months before today is flagged as
possibly stale.  Validation errors name the file, the entry and the field.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from ..errors import InputError, RulesError
from ..units import parse_distance

SCHEMA = "geotarget.platforms/1"
KINDS = ("radius", "postcode", "place", "country")
PLACE_LEVELS = ("city", "county", "region", "metro", "dma", "tract")
POSTCODE_LEVELS = ("district", "zip")
MEANINGS = (
    "living_in",
    "living_or_recently_in",
    "recently_in",
    "presence",
    "presence_or_interest",
    "unknown",
)
CONFIDENCE = ("documented", "third_party", "uncertain", "user")
PROVENANCE = {"source", "read", "confidence", "published", "note"}
FOOTPRINT_KEYS = {
    "radius": {"kind", "min", "max", "whole_numbers", "min_people", "countries", "max_locations"}
    | PROVENANCE,
    "postcode": {"kind", "level", "countries", "max_locations"} | PROVENANCE,
    "place": {"kind", "levels", "countries", "max_locations"} | PROVENANCE,
    "country": {"kind", "countries"} | PROVENANCE,
}
PLATFORM_KEYS = {
    "name",
    "footprints",
    "location_meaning",
    "min_audience",
    "usage",
    "conflicts",
    "advice",
}
STALE_AFTER_DAYS = 365


@dataclass(frozen=True)
class Provenance:
    source: str
    read: str
    confidence: str
    published: str | None = None

    def stale(self, today: dt.date | None = None) -> bool:
        return _date(self.read) < (today or dt.date.today()) - dt.timedelta(days=STALE_AFTER_DAYS)

    def to_dict(self, today: dt.date | None = None) -> dict:
        d = {"source": self.source, "read": self.read, "confidence": self.confidence}
        if self.published:
            d["published"] = self.published
        if self.stale(today):
            d["possibly_stale"] = True
        return d


@dataclass(frozen=True)
class Footprint:
    kind: str
    prov: Provenance
    countries: tuple[str, ...] | None = None
    min_m: tuple[float, ...] = ()  # radius: one per allowed unit
    max_m: tuple[float, ...] = ()
    units: tuple[str, ...] = ()  # unit of each min/max entry
    whole_numbers: bool = False
    min_people: float | None = None
    level: str | None = None  # postcode
    levels: tuple[str, ...] = ()  # place
    max_locations: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Usage:
    share: float
    denominator: str
    what: str
    prov: Provenance


@dataclass
class Platform:
    id: str
    name: str
    footprints: list[Footprint]
    meaning: str
    meaning_options: tuple[str, ...]
    meaning_prov: Provenance
    meaning_note: str
    min_audience: float | None
    min_counts: str
    min_note: str
    min_prov: Provenance
    min_of: str = "audience"  # "audience" (segment applies) or "geography"
    usage: dict[str, Usage] = field(default_factory=dict)
    conflicts: list[dict] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def footprints_for(self, country: str | None) -> list[Footprint]:
        """The footprint options open in ``country`` (entries naming it replace general ones)."""
        out = []
        for kind in KINDS:
            entries = [f for f in self.footprints if f.kind == kind]
            specific = [f for f in entries if f.countries and country in f.countries]
            general = [f for f in entries if not f.countries]
            out += specific if specific else general
        return out

    def provenances(self) -> list[Provenance]:
        return (
            [f.prov for f in self.footprints]
            + [self.meaning_prov, self.min_prov]
            + [u.prov for u in self.usage.values()]
        )

    def stale(self, today: dt.date | None = None) -> bool:
        return any(p.stale(today) for p in self.provenances())


@dataclass
class Catalogue:
    platforms: dict[str, Platform]
    good_below: float
    workable_below: float
    verdict_prov: Provenance
    files: list[str]


@functools.lru_cache(maxsize=1024)
def _date(text: str) -> dt.date:
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if not m:
        raise ValueError(text)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))


class _Ctx:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, entry: str, fld: str, msg: str) -> RulesError:
        return RulesError(f"rules file {self.file}: entry {entry!r}, field {fld!r}: {msg}")


def _prov(ctx: _Ctx, entry: str, where: str, d: dict) -> Provenance:
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


def _distances(ctx, entry, where, values) -> tuple[tuple[float, ...], tuple[str, ...]]:
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


def _footprint(ctx: _Ctx, entry: str, i: int, d: dict) -> Footprint:
    where = f"footprints[{i}]"
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
    prov = _prov(ctx, entry, where, d)
    countries = d.get("countries")
    if countries is not None:
        if not isinstance(countries, list) or not all(
            isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in countries
        ):
            raise ctx.fail(
                entry, f"{where}.countries", 'give ISO 3166 alpha-2 codes, e.g. ["US", "JP"]'
            )
        countries = tuple(countries)
    ml = d.get("max_locations")
    if ml is not None and (isinstance(ml, bool) or not isinstance(ml, int) or ml < 1):
        raise ctx.fail(entry, f"{where}.max_locations", f"{ml!r} must be a whole number >= 1")
    kw: dict = {
        "kind": kind,
        "prov": prov,
        "countries": countries,
        "note": d.get("note", ""),
        "max_locations": ml,
    }
    if kind == "radius":
        if "min" not in d or "max" not in d:
            raise ctx.fail(
                entry,
                f"{where}.{'min' if 'min' not in d else 'max'}",
                "a radius footprint needs min and max",
            )
        mn, mn_u = _distances(ctx, entry, f"{where}.min", d["min"])
        mx, mx_u = _distances(ctx, entry, f"{where}.max", d["max"])
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
            isinstance(mp, bool)
            or not isinstance(mp, (int, float))
            or not math.isfinite(mp)
            or mp < 0
        ):
            raise ctx.fail(entry, f"{where}.min_people", f"{mp!r} must be a number >= 0")
        kw.update(
            min_m=mn,
            max_m=mx,
            units=mn_u + mx_u,
            whole_numbers=bool(d.get("whole_numbers")),
            min_people=mp,
        )
    elif kind == "postcode":
        if d.get("level") not in POSTCODE_LEVELS:
            raise ctx.fail(
                entry,
                f"{where}.level",
                f"{d.get('level')!r}: use one of {', '.join(POSTCODE_LEVELS)}",
            )
        kw["level"] = d["level"]
    elif kind == "place":
        levels = d.get("levels")
        if (
            not isinstance(levels, list)
            or not levels
            or any(lv not in PLACE_LEVELS for lv in levels)
        ):
            raise ctx.fail(
                entry, f"{where}.levels", f"{levels!r}: give a list among {', '.join(PLACE_LEVELS)}"
            )
        kw["levels"] = tuple(levels)
    return Footprint(**kw)


def _platform(ctx: _Ctx, pid: str, d: dict) -> Platform:
    if not isinstance(d, dict):
        raise ctx.fail(pid, "", "each platform is a table")
    unknown = set(d) - PLATFORM_KEYS
    if unknown:
        raise ctx.fail(
            pid, sorted(unknown)[0], f"unknown key; allowed: {', '.join(sorted(PLATFORM_KEYS))}"
        )
    if not d.get("name"):
        raise ctx.fail(pid, "name", "missing")
    fps = d.get("footprints", [])
    if not isinstance(fps, list):
        raise ctx.fail(pid, "footprints", "give a list of [[ID.footprints]] tables")
    footprints = [_footprint(ctx, pid, i, f) for i, f in enumerate(fps)]
    if not isinstance(d.get("name"), str):
        raise ctx.fail(pid, "name", "must be text")
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
    options = tuple(options)
    bad = [o for o in options if o not in MEANINGS]
    if bad:
        raise ctx.fail(
            pid, "location_meaning.options", f"{bad[0]!r}: use values among {', '.join(MEANINGS)}"
        )
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
    unknown = set(ma) - {"value", "known", "counts", "of"} - PROVENANCE
    if unknown:
        raise ctx.fail(
            pid,
            f"min_audience.{sorted(unknown)[0]}",
            "unknown key; allowed: value, "
            "known, counts, of, source, read, confidence, published, note",
        )
    if ma.get("of", "audience") not in ("audience", "geography"):
        raise ctx.fail(pid, "min_audience.of", f"{ma.get('of')!r}: use audience or geography")
    unknown = set(lm) - {"value", "options"} - PROVENANCE
    if unknown:
        raise ctx.fail(
            pid,
            f"location_meaning.{sorted(unknown)[0]}",
            "unknown key; allowed: value, options, source, read, confidence, published, note",
        )
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
            _prov(ctx, pid, f"usage.{country}", u),
        )
    conflicts = d.get("conflicts", [])
    if not isinstance(conflicts, list) or not all(isinstance(c, dict) for c in conflicts):
        raise ctx.fail(
            pid,
            "conflicts",
            "give [[ID.conflicts]] tables with field, value, source, read, confidence",
        )
    for i, c in enumerate(conflicts):
        _prov(ctx, pid, f"conflicts[{i}]", c)
        if "field" not in c or "value" not in c:
            raise ctx.fail(pid, f"conflicts[{i}]", "a conflict records field and value")
    advice = d.get("advice", [])
    if not isinstance(advice, list) or not all(isinstance(a, str) for a in advice):
        raise ctx.fail(pid, "advice", f"{advice!r}: give a list of sentences")
    return Platform(
        id=pid,
        name=str(d["name"]),
        footprints=footprints,
        meaning=lm["value"],
        meaning_options=options,
        meaning_prov=_prov(ctx, pid, "location_meaning", lm),
        meaning_note=lm.get("note", ""),
        min_audience=None if value is None else float(value),
        min_counts=str(ma.get("counts", "people")),
        min_note=ma.get("note", ""),
        min_prov=_prov(ctx, pid, "min_audience", ma),
        min_of=ma.get("of", "audience"),
        usage=usage,
        conflicts=list(conflicts),
        advice=list(advice),
    )


def _read(path: Path | None) -> tuple[dict, str]:
    if path is None:
        text = resources.files("geotarget.platforms").joinpath("platforms.toml").read_text()
        name = "platforms.toml (built in)"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RulesError(f"cannot read rules file {str(path)!r}: {e}") from e
        name = str(path)
    try:
        return tomllib.loads(text), name
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"rules file {name}: not valid TOML ({e})") from e


def load(
    rules_file: str | Path | None = None,
    *,
    replace: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
) -> Catalogue:
    """The built-in catalogue, extended (or replaced, ``replace=True``) by ``rules_file``, with
    ``overrides`` such as ``"meta.radius_min=1km"`` applied."""
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
    ctx = _Ctx(files[-1])
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
        platforms[pid] = _platform(
            _Ctx(files[-1] if rules_file and pid in user else files[0]), pid, d
        )
    cat = Catalogue(platforms, good, workable, _prov(ctx, "verdict", "verdict", verdict), files)
    if isinstance(overrides, str):
        overrides = [overrides]
    for o in overrides:
        apply_override(cat, o)
    return cat


OVERRIDE_FIELDS = ("radius_min", "radius_max", "min_audience", "location_meaning", "usage.<CC>")


def apply_override(cat: Catalogue, text: str) -> None:
    """Apply ``ID.FIELD=VALUE`` (fields: radius_min, radius_max, min_audience,
    location_meaning, usage.<CC>) to the catalogue, recording the override as the source."""
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
    ctx = _Ctx("--rule")
    if fld in ("radius_min", "radius_max"):
        radius = [f for f in p.footprints if f.kind == "radius"]
        if not radius:
            raise RulesError(f"--rule {text!r}: {pid} has no radius option to override")
        dists, units = _distances(ctx, pid, fld, [v.strip() for v in value.split(",")])
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
            new.append(
                Footprint(**{**f.__dict__, "min_m": mn, "max_m": mx, "units": nu, "prov": prov})
            )
        p.footprints = new
    elif fld == "min_audience":
        try:
            v = float(value)
        except ValueError:
            raise RulesError(f"--rule {text!r}: min_audience must be a number") from None
        if v < 0 or not math.isfinite(v):
            raise RulesError(f"--rule {text!r}: min_audience must be a finite number >= 0")
        p.min_audience, p.min_prov = v, prov
    elif fld == "location_meaning":
        if value not in MEANINGS:
            raise RulesError(f"--rule {text!r}: use one of {', '.join(MEANINGS)}")
        p.meaning, p.meaning_prov = value, prov
    elif fld.startswith("usage."):
        cc = fld.split(".", 1)[1]
        try:
            share = float(value)
        except ValueError:
            raise RulesError(f"--rule {text!r}: a usage share is a number in (0, 1]") from None
        if not 0 < share <= 1:  # NaN fails this too
            raise RulesError(f"--rule {text!r}: a usage share is a number in (0, 1]")
        p.usage[cc] = Usage(share, "user-supplied", "user-supplied share", prov)
    else:
        raise RulesError(
            f"--rule {text!r}: unknown field {fld!r}; overridable: {', '.join(OVERRIDE_FIELDS)}"
        )
