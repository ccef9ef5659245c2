"""Measure the footprints platforms can target, for many venues at once.

Everything the platforms need that costs geometry or counting is computed by :class:`Facts`,
vectorised over venues: the people in each catchment; the smallest legal circle of each radius
option, widened where the platform widens it (to hold its minimum of people, or until the
audience clears its minimum), with the people in it (:mod:`geotarget.platforms.radius`); for
every postcode district a catchment touches, the people of the catchment inside it; the places
(city, county...) whose zones overlap each catchment (:mod:`geotarget.platforms.touching`);
and, per layer and once, the people of every district
(:mod:`geotarget.platforms.district_counts`) and place
(:mod:`geotarget.platforms.layer_totals`).  The per-venue footprints
(:mod:`geotarget.platforms.builders`) and judgement
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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from .. import estimate as est
from ..catchment import circles_in
from ..layers.base import CountSurface, PopulationLayer
from ..layers.commuting import OVERLAP, overlap_of
from .district_counts import district_counts
from .district_overlap import Parts, district_parts, grouped, overlap_in_districts, pair_parts
from .layer_totals import layer_memo, place_totals, places_of, places_overlap
from .people import COVERED, POPS, PopTriples, Triple, basis_total
from .radius import PAIRS_PER_GROUP, RadiusFacts, RadiusPick, _rkey, smallest_radius
from .touching import touching, touching_circles

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

#: a venue's districts and, per population, the people of its catchment in each
VenueDistricts = tuple[np.ndarray, dict[str, np.ndarray]]
#: what :meth:`Facts.districts` works out once per batch: the districts, their people, and per
#: (venue, district) pair the district and the people of the catchment in it, with each venue's
#: bounds in those pairs
_DistrictFacts = tuple[
    "DistrictSet", dict[str, "np.ndarray | None"], np.ndarray, dict[str, np.ndarray], np.ndarray
]


@dataclass
class Facts(RadiusFacts):
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
    # (i, r key) -> whether the circle is short of COVERED coverage
    _short: dict[tuple[int, float], bool] = field(init=False, default_factory=dict)
    _picks: dict[tuple[int, str, float | None, float], RadiusPick] = field(
        init=False, default_factory=dict
    )
    _places: dict[str, list[tuple[str, ...]]] = field(init=False, default_factory=dict)
    _districts: _DistrictFacts | None = field(init=False, default=None)
    # per population, each (venue, district) pair's people per area of the commuting flows
    _pair_parts: Parts = field(init=False, default_factory=dict)

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

    def _counts_once(self) -> bool:
        """Whether postcode footprints can count their people once: the layer has commuting
        flows and both populations are point surfaces grouped in the flows' areas."""
        return self.layer.commuting is not None and grouped(self.surfaces)

    def districts_overlap(
        self, slot: np.ndarray, pairs: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The workers who also live in sets of postcode districts, and in the catchment's part
        inside them (:mod:`geotarget.platforms.district_overlap`).

        Parameters
        ----------
        slot : numpy.ndarray of int
            Per chosen (venue, district) pair, the set it belongs to (0 to ``n - 1``).
        pairs : numpy.ndarray of int
            The chosen pairs (indices into the pairs of :meth:`districts`; see
            :meth:`pair_start`), each set's in the order chosen.
        n : int
            The sets.

        Returns
        -------
        tuple of numpy.ndarray, or None
            Per set, the estimate for its districts and for the catchment's part inside them;
            None where the layer cannot count people once.
        """
        if not self._counts_once():
            return None
        ds, _, _ = self.districts()
        assert self._districts is not None and self.layer.commuting is not None
        d = self._districts[2][pairs]
        parts = district_parts(self.layer, self.method, ds, self.surfaces, d)
        flows = self.layer.commuting
        return (
            overlap_in_districts(flows, self.surfaces, parts, d, slot, n),
            overlap_in_districts(flows, self.surfaces, self._pair_parts, pairs, slot, n),
        )

    def pair_start(self, i: int) -> int:
        """Where venue ``i``'s (venue, district) pairs begin among those of :meth:`districts`."""
        self.districts()
        assert self._districts is not None
        return int(self._districts[4][i])

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
            points: dict[str, np.ndarray] = {}  # the points of each pair, in the pairs' order
            for pop, s in self.surfaces.items():
                if s is None:
                    continue
                if s.kind == "points":
                    ci, pi = self._inside(s)
                    d = counts.district_of(pop, pi)
                    keep = d >= 0
                    keys.append(ci[keep].astype("int64") * nd + d[keep])
                    weights.append((pop, s.values[pi][keep]))
                    points[pop] = pi[keep]
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
            once = self._counts_once()
            for (pop, w), k in zip(weights, keys):
                pair = inv[start : start + len(k)]
                gains[pop] = np.bincount(pair, weights=w, minlength=len(uk))
                if once:  # each pair's people per area of the flows, to count them once
                    s = self.surfaces[pop]
                    assert s is not None and self.layer.commuting is not None
                    n_areas = len(self.layer.commuting.within)
                    self._pair_parts[pop] = pair_parts(s, pair, points[pop], len(uk), n_areas)
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
