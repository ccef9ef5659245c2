"""The footprint a platform option allows around one venue, with its people.

Each option kind has its builder -- the smallest legal circle, the postcode districts covering
the catchment, the smallest place holding it, the whole country -- reading the batch's measured
:class:`~geotarget.platforms.footprints.Facts`.  A footprint's polygon is made only when asked
for (:class:`Lazy`).  :class:`~geotarget.platforms.feasibility.Evaluator` judges the footprints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..catchment import circle
from ..layers.base import PlaceSet
from ..layers.commuting import OVERLAP
from ..units import UNITS
from ..venue import Venue
from .footprints import COVERED, POPS, Facts, basis_total
from .model import Footprint, Platform
from .options import POSTCODE_COVERAGE

#: how each unit is written in a footprint's label
UNIT_WORDS = {"m": "m", "km": "km", "mi": "mi", "ft": "ft", "yd": "yd"}


@dataclass
class People:
    """The people of a footprint on a platform's basis.

    Parameters
    ----------
    residents, workers : float or None
        The estimates (None: the layer lacks that population).
    basis : str
        ``"residents"`` or ``"residents+workers"``.
    low, high : float or None
        The range of the total on the basis (None: not known).
    overlap : float or None
        The workers who also live in the footprint, counted once in the total (None: the
        layer's flows do not tell, and nobody is taken off).
    """

    residents: float | None
    workers: float | None
    basis: str  # "residents" or "residents+workers"
    low: float | None = None  # range of the total on the basis (None: not known)
    high: float | None = None
    overlap: float | None = None  # workers who also live there (counted once)

    @property
    def total(self) -> float:
        """The people on the basis: residents, plus (on ``"residents+workers"``) the workers
        who do not also live there."""
        return basis_total(
            {"residents": self.residents, "workers": self.workers, OVERLAP: self.overlap},
            self.basis,
        )


def people(vals: Mapping[str, Sequence[float] | None], basis: str, ranged: bool = True) -> People:
    """The :class:`People` of ``{pop: (estimate, low, high) or None}``.

    Parameters
    ----------
    vals : mapping
        ``(estimate, low, high)`` or None per population.
    basis : str
        ``"residents"`` or ``"residents+workers"``.
    ranged : bool
        Whether to fill the range (``low``, ``high``) too.

    Returns
    -------
    People
    """
    r, w, both = vals.get("residents"), vals.get("workers"), vals.get(OVERLAP)
    out = People(None if r is None else r[0], None if w is None else w[0], basis)
    out.overlap = None if both is None or w is None else both[0]
    if ranged:
        out.low = basis_total({p: (v[1] if v else None) for p, v in vals.items()}, basis)
        out.high = basis_total({p: (v[2] if v else None) for p, v in vals.items()}, basis)
    return out


@dataclass
class Built:
    """A footprint made for a platform option, with its people.

    Parameters
    ----------
    kind : str
        The option's kind (``radius``, ``postcode``, ``place``, ``country``).
    label : str
        The footprint in words, e.g. ``"1 mi circle"``.
    make_geometry : callable
        Makes the polygon (layer CRS) when asked for.
    people : People
        The people in the footprint.
    area_m2 : float
        Its area.
    lower : bool
        It reaches beyond the layer's coverage: its people are a lower bound.
    inside : People or None
        The people of the catchment inside it (None: all of them).
    detail : dict
        Kind-specific facts for the row's ``footprint`` (radius, districts, places...).
    notes : list of str
        Caveats, in words.
    approximate : bool
        Whether its boundary is approximate.
    """

    kind: str
    label: str
    make_geometry: Callable[[], BaseGeometry]  # the polygon (layer CRS), made only when asked for
    people: People
    area_m2: float
    lower: bool  # reaches beyond the layer's coverage: its people are a lower bound
    inside: People | None = None  # people of the catchment inside it (None: all of them)
    detail: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    approximate: bool = False


class Lazy:
    """A footprint's polygon, made the first time it is asked for.

    Picklable: ``make`` is a ``functools.partial`` of module-level functions.

    Parameters
    ----------
    make : callable
        Makes the polygon.
    """

    def __init__(self, make: Callable[[], BaseGeometry]) -> None:
        self.make = make
        self._value: BaseGeometry | None = None
        self._made = False

    def __call__(self) -> BaseGeometry | None:
        if not self._made:
            self._value, self._made = self.make(), True
        return self._value


def _circle_polygon(venue: Venue, r: float, crs: str) -> BaseGeometry:
    return circle(venue, r, max_radius=None).to_crs(crs)


def smallest_place(
    facts: Facts, candidates: list[tuple[str, tuple[str, ...]]], basis: str
) -> tuple[str, tuple[str, ...], dict[str, float | None], list[str], str] | None:
    """Of the places holding a catchment, level by level, the set with the fewest people.

    Parameters
    ----------
    facts : Facts
        The layer's measurements.
    candidates : list of (str, tuple of str)
        Per place level, the codes of the places the catchment lies in (empty: none).
    basis : str
        ``"residents"`` or ``"residents+workers"``.

    Returns
    -------
    tuple or None
        The level, the codes, their people, their names and the label ("A + B and 3 more");
        None when the catchment lies in no place.  Ties go to the earlier level.
    """
    best: tuple[float, str, tuple[str, ...], dict[str, float | None]] | None = None
    for lv, codes in candidates:
        if not codes:
            continue
        vals = facts.place_people(lv, codes)
        p = basis_total(vals, basis)
        if best is None or p < best[0]:
            best = (p, lv, codes, vals)
    if best is None:
        return None
    _, lv, codes, vals = best
    names = [facts.place_name(lv, c) for c in codes]
    label = " + ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return lv, codes, vals, names, label


def _places_polygon(places: PlaceSet, level: str, codes: Sequence[str]) -> BaseGeometry:
    parts = [places.geometry(level, c) for c in codes]
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _same(geom: BaseGeometry) -> BaseGeometry:
    return geom


def _fmt_radius(r_m: float, unit: str) -> str:
    v = r_m / UNITS[unit]
    if unit == "m" and v >= 1000:
        v, unit = v / 1000, "km"
    text = f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {UNIT_WORDS[unit]}"


#: what a builder gives: the footprint, or why the option cannot be measured here
Outcome = Built | str


class FootprintBuilder:
    """Builds the footprints of platform options for venue ``i`` of a batch (``facts``).

    Parameters
    ----------
    facts : Facts
        The batch's measured footprints.
    i : int
        The venue.
    country : str, optional
        ISO 3166 alpha-2 country (default: the layer's).
    postcode_coverage : float
        The share of the catchment's people a set of postcode districts must cover.
    """

    def __init__(
        self,
        facts: Facts,
        i: int,
        *,
        country: str | None = None,
        postcode_coverage: float = POSTCODE_COVERAGE,
    ) -> None:
        self.facts, self.i, self.layer = facts, i, facts.layer
        # per venue: footprints shared by platforms
        self._built: dict[tuple[str, str, str | None, tuple[str, ...]], Outcome] = {}
        self.country = country or self.layer.country
        self.postcode_coverage = postcode_coverage
        self.lat, self.lon = float(facts.lat[i]), float(facts.lon[i])

    def radius(self, fp: Footprint, basis: str, p: Platform, conv: float) -> Outcome:
        """The smallest legal circle of radius option ``fp``, widened as the platform needs.

        Parameters
        ----------
        fp : Footprint
            The radius option.
        basis : str
            ``"residents"`` or ``"residents+workers"``.
        p : Platform
            The platform (its minimum audience).
        conv : float
            What turns people into the units of the minimum audience.

        Returns
        -------
        Built or str
            The circle, or why there is none.
        """
        # only a minimum of the location audience widens a circle (not a customer-list one)
        need = p.min_audience if p.min_applies_to == "location" else None
        pick = self.facts.radius(fp, basis, min_audience=need, conv=conv)
        i = self.i
        if pick.reason[i] is not None:
            reason: str = pick.reason[i]
            return reason
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
            people(self.facts.circle(i, r), basis),
            math.pi * r * r,
            bool(pick.lower[i]),
            detail={"radius_m": round(r, 3), "unit": unit},
            notes=notes,
        )

    def postcode(self, fp: Footprint, basis: str) -> Outcome:
        """The postcode districts covering the catchment's people, best value first.

        Districts are taken in order of the catchment's people they hold per person outside the
        catchment, until they cover ``postcode_coverage`` of the catchment's people.

        Parameters
        ----------
        fp : Footprint
            The postcode option.
        basis : str
            ``"residents"`` or ``"residents+workers"``.

        Returns
        -------
        Built or str
            The districts, or why there are none.
        """
        if fp.level != "district":
            what = {"zip": "ZIP code", "fsa": "Canadian forward sortation area (FSA)"}
            return (
                f"{fp.level} footprints need {what.get(fp.level or '', fp.level or '')} "
                "boundaries, which geotarget does not have for this area"
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
        # the districts' people are added up gross (who also works there is not known per
        # district): the coverage is of the catchment's people counted the same way
        total = basis_total(
            {p: v[0] for p, v in self.facts.catchment(self.i).items() if p in POPS and v}, basis
        )
        outside = np.maximum(whole - gain, 0.0)
        order = np.argsort(-(gain / np.maximum(outside, 1e-9)), kind="stable")
        chosen: list[int] = []
        got = 0.0
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
        vals: dict[str, tuple[float, float, float] | None] = {}
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
        inside: dict[str, tuple[float, float, float] | None] = {
            p: None if g is None else (float(g[chosen].sum()),) * 3
            for p, g in ((p, gains.get(p)) for p in POPS)
        }
        if basis == "residents+workers":
            pairs = self.facts.pair_start(self.i) + np.asarray(chosen, dtype=np.int64)
            both = self.facts.districts_overlap(np.zeros(len(pairs), np.int64), pairs, 1)
            if both is not None:
                vals[OVERLAP] = (float(both[0][0]),) * 3
                inside[OVERLAP] = (float(both[1][0]),) * 3
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
            people(vals, basis),
            area,
            cov < COVERED,
            inside=people(inside, basis, ranged=False),
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

    def place(self, fp: Footprint, basis: str) -> Outcome:
        """The place (city, county...) holding the catchment with the fewest people.

        Parameters
        ----------
        fp : Footprint
            The place option (its levels).
        basis : str
            ``"residents"`` or ``"residents+workers"``.

        Returns
        -------
        Built or str
            The place (or places, where the catchment spans several), or why there is none.
        """
        places = self.layer.places
        levels = [lv for lv in fp.levels if places is not None and lv in places.levels]
        if places is None or not levels:
            have = ", ".join(places.levels) if places is not None else "none"
            return (
                f"no {'/'.join(fp.levels)} boundaries in layer {self.layer.name} (it has: "
                f"{have}); such footprints cannot be measured here"
            )
        best = smallest_place(
            self.facts, [(lv, self.facts.places(lv, self.i)) for lv in levels], basis
        )
        if best is None:
            return "the catchment lies in no place of this layer"
        lv, codes, vals, names, label = best
        area = self.facts.place_area(lv, codes)

        return Built(
            "place",
            label,
            partial(_places_polygon, places, lv, codes),
            people(
                {k: None if v is None else (v,) * 3 for k, v in vals.items()}, basis, ranged=False
            ),
            area,
            not places.complete,
            detail={"level": lv, "places": list(codes), "names": names},
            notes=[f"{lv}: {places.note.get(lv, '')}".rstrip(": ")],
        )

    def country_fp(self, fp: Footprint, basis: str) -> Outcome:
        """The whole country, as far as the layer reaches.

        Parameters
        ----------
        fp : Footprint
            The country option.
        basis : str
            ``"residents"`` or ``"residents+workers"``.

        Returns
        -------
        Built or str
            The layer's coverage, or why the country is unknown.
        """
        if not self.country:
            return "the layer's country is unknown (give --country)"
        if self.layer.country != self.country:
            return (
                f"layer {self.layer.name} does not say which of its cells or zones lie in "
                f"{self.country} (it may hold several countries), so the country footprint "
                "cannot be measured: its people would be a guess"
            )
        tot: dict[str, tuple[float, float, float] | None] = {
            p: None if s is None else (s.total,) * 3 for p, s in self.facts.surfaces.items()
        }
        flows = self.layer.commuting
        if flows is not None and tot.get("residents") and tot.get("workers"):
            both = min(flows.total_internal, *(v[0] for v in tot.values() if v))
            tot[OVERLAP] = (both,) * 3
        cov = self.layer.coverage
        return Built(
            "country",
            f"all of {self.country} (as far as layer {self.layer.name} reaches)",
            partial(_same, cov),
            people(tot, basis, ranged=False),
            self.facts.coverage_area(),
            True,
            detail={"country": self.country},
            notes=[
                "the layer covers only part of the country: the real footprint "
                "holds more people, so waste is a lower bound"
            ],
        )

    def build(self, fp: Footprint, basis: str, p: Platform, conv: float) -> Outcome:
        """The footprint of option ``fp`` (shared by platforms where it is the same).

        Parameters
        ----------
        fp : Footprint
            The option.
        basis : str
            ``"residents"`` or ``"residents+workers"``.
        p : Platform
            The platform.
        conv : float
            What turns people into the units of the platform's minimum audience.

        Returns
        -------
        Built or str
            The footprint, or why the option cannot be measured here.
        """
        if fp.countries and self.country not in fp.countries:
            return f"only offered in {', '.join(fp.countries)}"
        if fp.kind == "other":
            return f"cannot be measured: {fp.note}"
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
