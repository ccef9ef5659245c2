"""The radius footprints: circles around a batch's venues, and each radius option's circle.

:class:`RadiusFacts` is the part of :class:`~geotarget.platforms.footprints.Facts` that counts
circles around the venues (each circle once, in groups that fit in memory), the share of each
inside the layer's coverage, and the smallest legal circle of a radius option around every venue,
widened where the platform widens it (to hold its minimum of people) or until the audience clears
the platform's minimum (:meth:`RadiusFacts.radius`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import shapely
from numpy.typing import NDArray

from .. import estimate as est
from ..catchment import circles_in
from ..layers.commuting import OVERLAP
from ..units import UNITS
from .model import Footprint
from .people import COVERED, PopTriples, basis_total

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..layers.base import CountSurface, PopulationLayer

__all__ = ["PAIRS_PER_GROUP", "RadiusFacts", "RadiusPick", "smallest_radius"]

#: (circle, point) pairs counted at once, at most (about 16 bytes each, several arrays)
PAIRS_PER_GROUP = 4_000_000


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


class RadiusFacts:
    """Circles around the venues of :class:`~geotarget.platforms.footprints.Facts`, counted once
    each: their people, their coverage, and the circle of each radius option.

    A base of ``Facts`` (which holds the venues, the layer's surfaces and the memos these
    methods fill); not made on its own.
    """

    if TYPE_CHECKING:  # what Facts provides
        layer: PopulationLayer
        lat: np.ndarray
        lon: np.ndarray
        need_m: np.ndarray
        n: int
        surfaces: dict[str, CountSurface | None]
        _circle: dict[tuple[int, float], PopTriples]
        _short: dict[tuple[int, float], bool]
        _picks: dict[tuple[int, str, float | None, float], RadiusPick]

        @property
        def _groups(self) -> bool: ...

        def _overlap(self, counted: Mapping[str, est.Counts | None]) -> np.ndarray | None: ...

        def coverage_area(self) -> float: ...

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

    def circle_short(self, idx: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Whether each circle (``r[j]`` around ``idx[j]``) has less than ``COVERED`` of its area
        inside the layer's coverage (so that its waste is a lower bound).

        Circles surely inside the coverage, or surely short of it (a part of them wholly
        outside it, larger than ``1 - COVERED`` of the circle), are decided by boxes or by the
        coverage's grid (:meth:`PopulationLayer.surely_short`); only the others are drawn and
        overlaid with the coverage.
        """
        idx, r = np.asarray(idx, dtype=int), np.asarray(r, dtype=float)
        keys = list(zip(idx.tolist(), map(_rkey, r)))
        todo = np.array([k not in self._short for k in keys], bool)
        if todo.any():
            ti, tr = idx[todo], r[todo]
            x, y = _xy(self.layer.crs, self.lat[ti], self.lon[ti])
            centres = cast("NDArray[np.object_]", shapely.points(x, y))
            short = np.zeros(len(ti), bool)
            open_ = ~self.layer.surely_covered(centres, tr)
            if open_.any():
                short[open_] = self.layer.surely_short(centres[open_], tr[open_], COVERED)
            open_ &= ~short
            if open_.any():
                polys = circles_in(
                    self.lat[ti[open_]], self.lon[ti[open_]], tr[open_], self.layer.crs
                )
                short[open_] = self.layer.coverage_fraction(polys) < COVERED
            for k, c in zip([k for k, t in zip(keys, todo) if t], short):
                self._short[k] = bool(c)
        return np.array([self._short[k] for k in keys], bool)

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
            lower[ok] = self.circle_short(ok, r[ok])
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
                    lower[can] = self.circle_short(can, r[can])
        pick = RadiusPick(r, unit, reason, grown, widened, lower)
        self._picks[key] = pick
        return pick


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
