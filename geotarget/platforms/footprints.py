"""Measure the footprints platforms can target, for many venues at once.

Everything the platforms need that costs geometry or counting is computed here, vectorised over
venues: the people in each catchment; the smallest legal circle of each radius option, widened
where the platform widens it (to hold its minimum of people, or until the audience clears its
minimum), with the people in it; for every postcode district a catchment touches, the people
of the catchment inside it; the places (city, county...) whose zones overlap each catchment;
and, per layer and once (:mod:`geotarget.platforms.layer_totals`), the people of every district
and place.  The per-venue footprints (:mod:`geotarget.platforms.builders`) and judgement
(:class:`geotarget.platforms.feasibility.Evaluator`) then only read these facts.

A single venue is a batch of one: the one-venue path and the batch path run this same code and
agree exactly.

Rules
-----
* A point (postcode, block, grid centre) belongs to the one district whose polygon holds it (the
  first, where it lies on a shared edge), so a catchment's people split over its districts add
  up to the catchment's count.  Zones are split between districts by area (areal weighting).
* A place's people: for zones that are the place's own zones, the sum of those zones; for points,
  the points lying in the place's zones; otherwise counted in the place polygon.
* A district's or footprint's range adds the districts' ranges as independent errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast, overload

import numpy as np
import shapely
from numpy.typing import NDArray

from .. import estimate as est
from ..catchment import circles_in
from ..layers.base import CountSurface, PopulationLayer
from ..layers.commuting import OVERLAP, overlap_of
from ..units import UNITS
from .layer_totals import (
    POPS,
    district_counts,
    layer_memo,
    place_totals,
    places_of,
    places_overlap,
    touching,
    touching_circles,
)
from .model import Footprint

if TYPE_CHECKING:
    from .districts import DistrictSet

__all__ = [
    "COVERED",
    "PAIRS_PER_GROUP",
    "POPS",
    "Facts",
    "PopTriples",
    "RadiusPick",
    "Triple",
    "basis_total",
    "smallest_radius",
]

#: below this share of a footprint inside the layer's coverage, its waste is a lower bound
COVERED = 0.9995

#: people as (estimate, low, high)
Triple = tuple[float, float, float]
#: ``{population: (estimate, low, high) or None}`` (None: the layer lacks that population)
PopTriples = dict[str, Triple | None]
#: a venue's districts and, per population, the people of its catchment in each
VenueDistricts = tuple[np.ndarray, dict[str, np.ndarray]]
#: what :meth:`Facts.districts` works out once per batch: the districts, their people, and per
#: (venue, district) pair the district and the people of the catchment in it, with each venue's
#: bounds in those pairs
_DistrictFacts = tuple[
    "DistrictSet", dict[str, "np.ndarray | None"], np.ndarray, dict[str, np.ndarray], np.ndarray
]


@overload
def basis_total(vals: Mapping[str, float | None], basis: str) -> float: ...
@overload
def basis_total(vals: Mapping[str, np.ndarray | None], basis: str) -> np.ndarray | float: ...
def basis_total(vals: Mapping[str, Any], basis: str) -> Any:
    """Total people on ``basis`` from ``{"residents": x, "workers": y}``.

    Parameters
    ----------
    vals : mapping
        People per population, numbers or arrays (None counts as 0); under ``"overlap"``
        (:data:`~geotarget.layers.commuting.OVERLAP`), optionally, the workers who also live
        in the area, counted once.
    basis : str
        ``"residents"`` or ``"residents+workers"``.

    Returns
    -------
    float or numpy.ndarray
        The residents, plus (on ``"residents+workers"``) the workers less those who are also
        residents.
    """
    r = vals.get("residents")
    w = vals.get("workers")
    both = vals.get(OVERLAP)
    r = 0.0 if r is None else r
    if basis != "residents+workers":
        return r
    return r + (0.0 if w is None else w) - (0.0 if both is None or w is None else both)


def smallest_radius(fp: Footprint, need_m: float) -> tuple[float, str] | None:
    """The smallest legal radius of option ``fp`` at least ``need_m``.

    For each unit the option allows: max(need, the unit's minimum), rounded up to a whole number
    of the unit where the platform requires it.

    Parameters
    ----------
    fp : Footprint
        A radius option.
    need_m : float
        The radius needed, in metres.

    Returns
    -------
    tuple of (float, str) or None
        The radius in metres and its unit; None if beyond every maximum.
    """
    best = None
    max_m = max(fp.max_m)
    for mn, unit in zip(fp.min_m, fp.units[: len(fp.min_m)]):
        r = max(need_m, mn)
        if fp.whole_numbers:
            r = math.ceil(r / UNITS[unit] - 1e-9) * UNITS[unit]
        if r <= max_m + 1e-6 and (best is None or r < best[0]):
            best = (r, unit)
    return best


@dataclass
class RadiusPick:
    """One radius option measured for every venue (arrays, one entry per venue).

    Parameters
    ----------
    r : numpy.ndarray of float
        The radius in metres (NaN where the option is unavailable).
    unit : numpy.ndarray of str
        The unit the radius is set in.
    reason : numpy.ndarray of str or None
        Why the option is unavailable, or None.
    grown : numpy.ndarray of bool
        Widened by the platform to hold its minimum of people.
    widened : numpy.ndarray of bool
        Widened by the advertiser until the audience clears the platform's minimum.
    lower : numpy.ndarray of bool
        The circle reaches beyond the layer's coverage.
    """

    r: np.ndarray  # metres (nan where unavailable)
    unit: np.ndarray  # unit the radius is set in
    reason: np.ndarray  # why unavailable, or None
    grown: np.ndarray  # widened by the platform to hold its minimum of people
    widened: np.ndarray  # widened by the advertiser until the audience clears the minimum
    lower: np.ndarray  # the circle reaches beyond the layer's coverage


@dataclass
class Facts:
    """Footprint facts for ``n`` venues on one layer (see the module's text).

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    lat, lon : numpy.ndarray of float
        The venues (WGS84).
    need_m : numpy.ndarray of float
        The radius a circle around each venue needs to hold its catchment.
    geoms : numpy.ndarray of shapely geometries
        The catchments, in the layer's CRS.
    circles : geotarget.estimate.Circles or None
        The catchments as circles, when they are circles.
    method : str or None
        The estimation method (``None``: the layer's own).
    travels : list or None
        For walk or drive catchments, each venue's search (:class:`geotarget.network.Travel`):
        point layers' catchment people are then counted by network cost, as in the analysis.
    """

    layer: PopulationLayer
    lat: np.ndarray
    lon: np.ndarray
    need_m: np.ndarray  # the radius a circle needs to hold the catchment
    geoms: np.ndarray  # catchments in the layer's CRS
    circles: est.Circles | None  # when the catchments are circles
    method: str | None = None
    travels: list[Any] | None = None
    surfaces: dict[str, CountSurface | None] = field(init=False)
    catch: dict[str, est.Counts | None] = field(init=False)  # pop -> counts of the catchments
    # (i, r key) -> {pop: (e, lo, hi)}
    _circle: dict[tuple[int, float], PopTriples] = field(init=False, default_factory=dict)
    # (i, r key) -> coverage fraction
    _cover: dict[tuple[int, float], float] = field(init=False, default_factory=dict)
    _picks: dict[tuple[int, str, float | None, float], RadiusPick] = field(
        init=False, default_factory=dict
    )
    _places: dict[str, list[tuple[str, ...]]] = field(init=False, default_factory=dict)
    _districts: _DistrictFacts | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.n: int = len(self.lat)
        self.geoms = np.asarray(self.geoms, dtype=object)
        self.surfaces = {pop: self.layer.surface(pop, self.method) for pop in POPS}
        self.catch = {}
        for pop, s in self.surfaces.items():
            if s is not None and self.travels is not None and s.kind == "points":
                from ..estimate.counts import _concat
                from ..estimate.travel import count_travel

                crs = self.layer.crs
                parts = [
                    count_travel(s, crs, t, g, groups=self._groups)
                    for t, g in zip(self.travels, self.geoms)
                ]
                self.catch[pop] = _concat(parts)
                continue
            self.catch[pop] = (
                None
                if s is None
                else est.count(s, self.geoms, circles=self.circles, groups=self._groups)
            )
        self.catch_overlap = self._overlap(self.catch)
        if self.circles is not None:  # the catchments are circles: their counts are circle counts
            for i in range(self.n):
                self._circle[(i, _rkey(self.circles.radius[i]))] = self.catchment(i)

    def _overlap(self, counted: Mapping[str, est.Counts | None]) -> np.ndarray | None:
        """Per area of ``counted``, the workers who also live there (None: unknown); the
        counts' per-group detail is dropped once used."""
        out = overlap_of(
            self.layer.commuting,
            self.surfaces["residents"],
            counted.get("residents"),
            self.surfaces["workers"],
            counted.get("workers"),
        )
        for c in counted.values():
            if c is not None:
                c.groups = None
        return out

    @property
    def _groups(self) -> bool:
        """Whether counts keep their per-group detail: only where the layer's commuting flows
        can use it to count people once (point counts then go point by point, not through the
        aggregate index's sums)."""
        return self.layer.commuting is not None

    # -- catchments ---------------------------------------------------------------------------
    def catchment(self, i: int) -> PopTriples:
        """The people in venue ``i``'s catchment: ``{pop: (estimate, low, high) or None}``,
        with ``"overlap"``, the workers who also live there, where the layer's flows tell."""
        out: PopTriples = {
            pop: None if c is None else (float(c.estimate[i]), float(c.low[i]), float(c.high[i]))
            for pop, c in self.catch.items()
        }
        if self.catch_overlap is not None:
            out[OVERLAP] = (float(self.catch_overlap[i]),) * 3
        return out

    def overlap_in(self, geoms: np.ndarray) -> np.ndarray | None:
        """The workers who also live in each polygon of ``geoms`` (layer CRS), or None."""
        if self.layer.commuting is None or not len(geoms):
            return None
        counted = {
            pop: None if s is None else est.count(s, geoms, groups=self._groups)
            for pop, s in self.surfaces.items()
        }
        return self._overlap(counted)

    # -- circles around the venues ------------------------------------------------------------
    def count_circles(self, idx: np.ndarray, r: np.ndarray) -> None:
        """Count the circles of radius ``r[j]`` (metres) around venues ``idx[j]``, once each."""
        idx, r = np.asarray(idx, dtype=int), np.asarray(r, dtype=float)
        todo = np.array(
            [(i, rr) not in self._circle for i, rr in zip(idx.tolist(), map(_rkey, r))], bool
        )
        if not todo.any():
            return
        idx, r = idx[todo], r[todo]
        keys = list(zip(idx.tolist(), map(_rkey, r)))
        keys_u = dict.fromkeys(keys)  # the same circle asked twice: counted once
        if len(keys_u) < len(keys):
            first = np.array([keys.index(k) for k in keys_u])
            idx, r = idx[first], r[first]
            keys = list(keys_u)
        # in groups of about PAIRS_PER_GROUP (circle, zone) pairs expected: wide circles (Meta's
        # 15-mile one) each hold much of the layer, and their polygons and zone pairs would not
        # fit in memory all at once (point counts are also split exactly in estimate.count)
        zones = any(s is not None and s.kind != "points" for s in self.surfaces.values())
        # point surfaces are counted with the aggregate index, whose memory does not grow with
        # the circles' area: all at once
        for part in _groups(r, self._density()) if zones else [np.arange(len(r))]:
            ii, rr = idx[part], r[part]
            circles = est.Circles(self.lat[ii], self.lon[ii], rr, self.layer.crs)
            polys = np.full(len(ii), None, dtype=object)
            if zones:
                polys = circles_in(self.lat[ii], self.lon[ii], rr, self.layer.crs)
            counted = {
                pop: None
                if s is None
                else est.count(s, polys, circles=circles, groups=self._groups)
                for pop, s in self.surfaces.items()
            }
            both = self._overlap(counted)
            for j, k in enumerate([keys[q] for q in part]):
                self._circle[k] = {
                    pop: None
                    if c is None
                    else (float(c.estimate[j]), float(c.low[j]), float(c.high[j]))
                    for pop, c in counted.items()
                }
                if both is not None:
                    self._circle[k][OVERLAP] = (float(both[j]),) * 3

    def _density(self) -> float:
        """Points (or zones) per m² of coverage, the most of any surface: sizes the groups."""
        n = max((len(s.values) for s in self.surfaces.values() if s is not None), default=0)
        return n / max(self.coverage_area(), 1.0)

    def circle(self, i: int, r: float) -> PopTriples:
        """The people in the circle of radius ``r`` (metres) around venue ``i``.

        Returns ``{pop: (estimate, low, high) or None}``.
        """
        key = (i, _rkey(r))
        if key not in self._circle:
            self.count_circles(np.array([i]), np.array([r]))
        return self._circle[key]

    def circle_totals(self, idx: np.ndarray, r: np.ndarray, basis: str) -> np.ndarray:
        """The people (estimates) on ``basis`` in circles of radius ``r[j]`` around ``idx[j]``."""
        self.count_circles(idx, r)
        return np.array(
            [
                basis_total(
                    {p: (v[0] if v else None) for p, v in self._circle[(i, _rkey(rr))].items()},
                    basis,
                )
                for i, rr in zip(np.asarray(idx).tolist(), np.asarray(r).tolist())
            ]
        )

    def circle_coverage(self, idx: np.ndarray, r: np.ndarray) -> np.ndarray:
        """The share inside the layer's coverage of each circle (``r[j]`` around ``idx[j]``)."""
        idx, r = np.asarray(idx, dtype=int), np.asarray(r, dtype=float)
        keys = list(zip(idx.tolist(), map(_rkey, r)))
        todo = np.array([k not in self._cover for k in keys], bool)
        if todo.any():
            ti, tr = idx[todo], r[todo]
            x, y = _xy(self.layer.crs, self.lat[ti], self.lon[ti])
            cov = np.ones(len(ti))
            centres = cast("NDArray[np.object_]", shapely.points(x, y))
            sure = self.layer.surely_covered(centres, tr)
            if (~sure).any():
                polys = circles_in(
                    self.lat[ti[~sure]], self.lon[ti[~sure]], tr[~sure], self.layer.crs
                )
                cov[~sure] = self.layer.coverage_fraction(polys)
            for k, c in zip([k for k, t in zip(keys, todo) if t], cov):
                self._cover[k] = float(c)
        return np.array([self._cover[k] for k in keys])

    def _widen(
        self, idx: np.ndarray, r: np.ndarray, max_m: float, need: np.ndarray, basis: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per venue, the smallest radius in [r, max_m] (to 1 m) whose people reach ``need``:
        doubling from ``r`` until it does (or ``max_m`` does not), then bisecting.  Returns the
        radii and whether any legal radius reaches ``need``."""
        lo = np.asarray(r, dtype=float).copy()
        hi = lo.copy()
        enough = self.circle_totals(idx, hi, basis) >= need
        grow = ~enough
        while grow.any():
            a = np.nonzero(grow)[0]
            lo[a] = hi[a]
            hi[a] = np.minimum(hi[a] * 2 + 1.0, max_m)
            enough[a] = self.circle_totals(idx[a], hi[a], basis) >= need[a]
            grow[a] = ~enough[a] & (hi[a] < max_m)
        active = enough & (hi - lo >= 1.0)
        for _ in range(40):
            if not active.any():
                break
            a = np.nonzero(active)[0]
            mid = (lo[a] + hi[a]) / 2
            ok = self.circle_totals(idx[a], mid, basis) >= need[a]
            hi[a[ok]] = mid[ok]
            lo[a[~ok]] = mid[~ok]
            active[a] = hi[a] - lo[a] >= 1.0
        return hi, enough

    def radius(
        self,
        fp: Footprint,
        basis: str,
        *,
        min_audience: float | None = None,
        conv: float = 1.0,
        venues: np.ndarray | None = None,
    ) -> RadiusPick:
        """The smallest legal circle of option ``fp`` around each venue, widened as needed.

        The circle is grown as the platform grows it (``min_people``) and, where its audience
        (people x ``conv``) falls below ``min_audience`` inside the layer's coverage, widened
        until it clears it (if any legal circle does).

        Parameters
        ----------
        fp : Footprint
            A radius option.
        basis : str
            ``"residents"`` or ``"residents+workers"``.
        min_audience : float, optional
            The platform's minimum audience (``None``: none).
        conv : float
            What turns people into the units of the minimum audience.
        venues : numpy.ndarray, optional
            Unused: every venue is measured.

        Returns
        -------
        RadiusPick
            One entry per venue (the same object for the same arguments).
        """
        key = (id(fp), basis, min_audience, conv)
        if key in self._picks:
            return self._picks[key]
        n = self.n
        r = np.full(n, np.nan)
        unit = np.full(n, None, dtype=object)
        reason = np.full(n, None, dtype=object)
        max_m = max(fp.max_m)
        picks: dict[float, tuple[float, str] | None] = {}
        for i in range(n):
            need = float(self.need_m[i])
            if need not in picks:
                picks[need] = smallest_radius(fp, need)
            got = picks[need]
            if got is None:
                reason[i] = (
                    f"the catchment needs a {need / 1000:,.1f} km circle, beyond the "
                    f"platform's maximum of {max_m / 1000:,.0f} km"
                )
            else:
                r[i], unit[i] = got
        grown = np.zeros(n, bool)
        widened = np.zeros(n, bool)
        ok = np.nonzero(reason == None)[0]  # noqa: E711 - elementwise
        if fp.min_people and len(ok):
            few = ok[self.circle_totals(ok, r[ok], basis) < fp.min_people]
            if len(few):  # the platform widens the circle (to its maximum, at most)
                hi, _ = self._widen(
                    few, r[few], max_m, np.full(len(few), float(fp.min_people)), basis
                )
                r[few] = np.minimum(np.ceil(hi), max_m)
                grown[few] = True
        lower = np.zeros(n, bool)
        if len(ok):
            lower[ok] = self.circle_coverage(ok, r[ok]) < COVERED
        if min_audience is not None and len(ok) and conv > 0:
            pool = self.circle_totals(ok, r[ok], basis) * conv
            fail = ok[(pool < min_audience) & ~lower[ok]]
            need_people = min_audience / conv
            if len(fail):
                hi, reach = self._widen(
                    fail, r[fail], max_m, np.full(len(fail), need_people), basis
                )
                can, hi = fail[reach], hi[reach]
                if len(can):
                    u = np.array([UNITS[x] for x in unit[can]])
                    if fp.whole_numbers:
                        new = np.ceil(hi / u - 1e-9) * u
                    else:  # 0.01 of the unit, upwards
                        new = np.ceil(hi / u * 100) / 100 * u
                    r[can] = np.minimum(new, max_m)
                    widened[can] = True
                    lower[can] = self.circle_coverage(can, r[can]) < COVERED
        pick = RadiusPick(r, unit, reason, grown, widened, lower)
        self._picks[key] = pick
        return pick

    def _inside(self, s: CountSurface) -> tuple[np.ndarray, np.ndarray]:
        """The (venue, point) pairs with the point in the venue's catchment."""
        if self.travels is None:
            return _inside_pairs(s, self.geoms, self.circles)
        from ..estimate.travel import costs

        ci: list[np.ndarray] = []
        pi: list[np.ndarray] = []
        for i, t in enumerate(self.travels):
            p = np.flatnonzero(costs(s, self.layer.crs, t) <= t.limit.budget)
            ci.append(np.full(len(p), i, dtype=np.int64))
            pi.append(p)
        return np.concatenate(ci), np.concatenate(pi)

    # -- postcode districts -------------------------------------------------------------------
    def districts(
        self,
    ) -> tuple[DistrictSet, dict[str, np.ndarray | None], Callable[[int], VenueDistricts]]:
        """The postcode districts around the layer and the catchments' people in them.

        Returns
        -------
        ds : DistrictSet
            The districts.
        totals : dict
            ``{pop: (3, n districts) array of (estimate, low, high), or None}``.
        per_venue : callable
            ``per_venue(i)``: (the districts venue ``i``'s catchment reaches, ``{pop: people of
            the catchment in each}``).
        """
        if self._districts is None:
            from .districts import for_layer

            ds = for_layer(self.layer)
            counts = district_counts(self.layer, self.method, ds)
            nd = len(ds.codes)
            keys: list[np.ndarray] = []
            weights: list[tuple[str, np.ndarray]] = []
            for pop, s in self.surfaces.items():
                if s is None:
                    continue
                if s.kind == "points":
                    ci, pi = self._inside(s)
                    d = counts.district_of(pop, pi)
                    keep = d >= 0
                    keys.append(ci[keep].astype("int64") * nd + d[keep])
                    weights.append((pop, s.values[pi][keep]))
                else:
                    vi, di = ds.tree.query(self.geoms, predicate="intersects")
                    inter = shapely.intersection(self.geoms[vi], ds.polygons[di])
                    keys.append(vi.astype("int64") * nd + di)
                    weights.append(
                        (pop, est.count(s, inter).estimate if len(inter) else np.zeros(0))
                    )
            allk = np.concatenate(keys) if keys else np.zeros(0, "int64")
            uk, inv = np.unique(allk, return_inverse=True)
            gains: dict[str, np.ndarray] = {}
            start = 0
            for (pop, w), k in zip(weights, keys):
                gains[pop] = np.bincount(inv[start : start + len(k)], weights=w, minlength=len(uk))
                start += len(k)
            venue_of, dist_of = uk // max(nd, 1), uk % max(nd, 1)
            bounds = np.searchsorted(venue_of, np.arange(self.n + 1))
            tot = counts.totals(np.unique(dist_of))
            self._districts = (ds, tot, dist_of, gains, bounds)
        ds, tot, dist_of, gains, bounds = self._districts

        def per_venue(i: int) -> VenueDistricts:
            a, b = bounds[i], bounds[i + 1]
            return dist_of[a:b], {pop: g[a:b] for pop, g in gains.items()}

        return ds, tot, per_venue

    # -- places ----------------------------------------------------------------------------------
    def places(self, level: str, i: int) -> tuple[str, ...]:
        """The codes of the places at ``level`` whose zones overlap venue ``i``'s catchment.

        Overlapping means by more than a millionth of its area, not just touching.
        """
        if not self._places:
            if self.circles is not None and self.travels is None:
                self._places = touching_circles(
                    places_of(self.layer),
                    self.layer.crs,
                    self.lat,
                    self.lon,
                    np.asarray(self.circles.radius, dtype=float),
                    self.polygons,
                )
            else:
                self._places = touching(places_of(self.layer), self.polygons(np.arange(self.n)))
        return self._places[level][i]

    def polygons(self, idx: np.ndarray) -> np.ndarray:
        """The catchment polygons of venues ``idx`` (layer CRS): those given, or the circles'
        polygons made now where none were given (a batch of point surfaces needs none)."""
        g = self.geoms[idx]
        missing = np.array([x is None for x in g.tolist()], bool)
        if missing.any():
            assert self.circles is not None, "catchments without polygons must be circles"
            m = np.asarray(idx)[missing]
            g = g.copy()
            g[missing] = circles_in(
                self.lat[m], self.lon[m], np.asarray(self.circles.radius)[m], self.layer.crs
            )
        return g

    def place_name(self, level: str, code: str) -> str:
        """The name of place ``code`` at ``level``."""
        memo = layer_memo(self.layer, "place_names")
        if level not in memo:
            pl = places_of(self.layer)
            memo[level] = dict(
                zip(pl.codes[level].astype(str).tolist(), pl.names[level].astype(str).tolist())
            )
        name: str = memo[level][code]
        return name

    def place_area(self, level: str, codes: tuple[str, ...] | list[str]) -> float:
        """The area (m², layer CRS) of the union of places ``codes`` at ``level``."""
        areas = place_totals(self.layer, self.method)["_area"][level]
        return float(sum(areas[c] for c in codes))

    def coverage_area(self) -> float:
        """The area of the layer's coverage (m², layer CRS), worked out once per layer."""
        memo = layer_memo(self.layer, "coverage")
        if "area" not in memo:
            memo["area"] = float(shapely.area(self.layer.coverage))
        area: float = memo["area"]
        return area

    def place_people(
        self, level: str, codes: tuple[str, ...] | list[str]
    ) -> dict[str, float | None]:
        """The people in the union of places ``codes`` at ``level``: ``{pop: people or None}``,
        with ``"overlap"`` (the workers who also live there: the flows among the local
        authorities of the places, exact) where the layer's flows and places tell."""
        tot = place_totals(self.layer, self.method)
        out: dict[str, float | None] = {
            pop: None if t is None else float(sum(t[level][c] for c in codes))
            for pop, t in tot.items()
            if pop in POPS
        }
        both = places_overlap(self.layer, level, codes)
        if both is not None and out.get("residents") is not None and out.get("workers") is not None:
            out[OVERLAP] = min(both, out["residents"] or 0.0, out["workers"] or 0.0)
        return out


#: (circle, point) pairs counted at once, at most (about 16 bytes each, several arrays)
PAIRS_PER_GROUP = 4_000_000


def _groups(r: np.ndarray, density: float) -> list[np.ndarray]:
    """Indices of ``r`` in consecutive groups whose circles hold about ``PAIRS_PER_GROUP``
    points together (expected from the layer's mean density; at least one circle a group)."""
    expect = np.pi * np.asarray(r, dtype=float) ** 2 * density + 1.0
    cut = np.floor(np.cumsum(expect) / PAIRS_PER_GROUP).astype(int)
    return [np.nonzero(cut == c)[0] for c in np.unique(cut)]


def _rkey(r: float) -> float:
    return round(float(r), 3)


def _xy(crs: str, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from ..projections import transformer

    x, y = transformer("EPSG:4326", crs).transform(np.asarray(lon), np.asarray(lat))
    return x, y


def _inside_pairs(
    s: CountSurface, geoms: np.ndarray, circles: est.Circles | None
) -> tuple[np.ndarray, np.ndarray]:
    """(catchment, point) pairs with the point inside, as :func:`geotarget.estimate.count`
    decides it."""
    if circles is not None:
        ci, pi = circles.pairs(s)
        return ci, pi
    shapely.prepare(geoms)
    ci, pi = s.tree.query(geoms, predicate="intersects")
    return ci, pi
