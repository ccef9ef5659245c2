"""People counted once: the workers of an area who also live in it, from census commuting flows.

A footprint's people are its residents plus the people who travel in to work there.  Someone
who lives in the footprint and travels to work elsewhere in it is both, and must be counted
once: the people are ``residents + workers - overlap``, where the overlap is the people who live
in the area *and* travel to work in it (home-workers are residents only, never workers).

The flows at hand (ONS Census 2021 ODWP01EW) are: per MSOA, ``within`` (live and work in the
same MSOA, not at home), the employed residents (``origin``) and the workplace population
(``destination``); and the whole local authority to local authority matrix.  For an area that
holds a share ``a_m`` of MSOA ``m``'s residents and ``b_m`` of its travelling-in workers:

* live and work in the same MSOA: ``within_m * a_m * b_m`` (home and workplace placed
  independently inside the MSOA);
* live and work in different MSOAs of one local authority ``L`` (``X_L``: the authority's own
  flow less its MSOAs' ``within``): the pair ``i -> j`` (``i != j``) gets ``X_L p_i q_j / (1 -
  sum_k p_k q_k)``, with ``p`` the MSOAs' shares of the authority's residents who travel to
  another MSOA and ``q`` their shares of its workers who come from another MSOA;
* live in authority ``K`` and work in ``L != K``: the flow ``F_KL`` shared the same way,
  ``F_KL * alpha_K * beta_L`` (``alpha``, ``beta``: the shares of those residents and workers
  in the area).

The estimate is exact for a whole MSOA, a whole local authority and any union of whole local
authorities (places: :meth:`Commuting.places_overlap` sums the flows directly); between those,
placing homes and workplaces independently understates the overlap of small areas, whose
residents work close to home (``docs/methods.md`` gives the measured error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: the key people counted twice are kept under in a footprint's counts
OVERLAP = "overlap"

#: (catchment, group, people of the group inside the catchment), from a grouped count
GroupCounts = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]


@dataclass(eq=False)
class Commuting:
    """Commuting flows of a layer, to count the people of an area once.

    Parameters
    ----------
    la_codes : numpy.ndarray of str
        The local authorities (``L``).
    area_la : numpy.ndarray of int
        Per MSOA, the index of its local authority.
    within : numpy.ndarray of float
        Per MSOA, the people who live and travel to work in it.
    out_other : numpy.ndarray of float
        Per MSOA, its residents who travel to work in another area (``origin - nomove -
        within``).
    in_other : numpy.ndarray of float
        Per MSOA, the workers who travel in from another area (``destination - nomove -
        within``).
    flows : numpy.ndarray of float
        ``(L, L)``: people living in authority ``i`` who travel to work in ``j`` (the diagonal:
        in their own authority).
    source : str
        Where the flows come from, in words.
    """

    la_codes: np.ndarray
    area_la: np.ndarray
    within: np.ndarray
    out_other: np.ndarray
    in_other: np.ndarray
    flows: np.ndarray
    source: str
    _la_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n_la = len(self.la_codes)
        self._la_index = {str(c): i for i, c in enumerate(self.la_codes.tolist())}
        la = self.area_la
        self.p = _shares(self.out_other, la, n_la)
        self.q = _shares(self.in_other, la, n_la)
        within_la = np.bincount(la, weights=self.within, minlength=n_la)
        self.cross = np.maximum(np.diag(self.flows) - within_la, 0.0)
        self.pq = np.bincount(la, weights=self.p * self.q, minlength=n_la)

    def places_overlap(self, la_codes: Any) -> float:
        """The people living in the union of local authorities ``la_codes`` who travel to work
        in it (exact: the sum of the flows among them).

        Parameters
        ----------
        la_codes : iterable of str
            The local authorities.

        Returns
        -------
        float
        """
        idx = np.array(sorted({self._la_index[str(c)] for c in la_codes}), dtype=np.int64)
        return float(self.flows[np.ix_(idx, idx)].sum()) if len(idx) else 0.0

    def knows(self, la_codes: Any) -> bool:
        """Whether every one of ``la_codes`` is a local authority of the flows."""
        return all(str(c) in self._la_index for c in la_codes)

    @property
    def total_internal(self) -> float:
        """Every flow between two areas of the layer: its workers who are also its residents."""
        return float(self.flows.sum())

    def overlap(
        self,
        res: GroupCounts,
        res_area: np.ndarray,
        res_total: np.ndarray,
        wrk: GroupCounts,
        wrk_area: np.ndarray,
        wrk_total: np.ndarray,
        n: int,
    ) -> np.ndarray:
        """The people of each of ``n`` areas who live there and travel to work there.

        Parameters
        ----------
        res, wrk : GroupCounts
            Residents and workers of each area by census group: ``(area, group, people)``.
        res_area, wrk_area : numpy.ndarray of int
            Per group, its MSOA.
        res_total, wrk_total : numpy.ndarray of float
            Per MSOA, all its residents and travelling-in workers (the shares' denominators).
        n : int
            The number of areas.

        Returns
        -------
        numpy.ndarray of float
            Per area, the estimate (0 where it holds no residents or no workers).
        """
        n_msoa = len(self.within)
        kr = res[0].astype(np.int64) * n_msoa + res_area[res[1]]
        kw = wrk[0].astype(np.int64) * n_msoa + wrk_area[wrk[1]]
        keys = np.union1d(kr, kw)
        a = _ratio(keys, kr, res[2], res_total, n_msoa)
        b = _ratio(keys, kw, wrk[2], wrk_total, n_msoa)
        ci, m = keys // n_msoa, keys % n_msoa
        out = np.bincount(ci, weights=self.within[m] * a * b, minlength=n)
        # per (area, local authority): the shares of its movers between MSOAs
        n_la = len(self.la_codes)
        la = self.area_la[m]
        kl, inv = np.unique(ci * n_la + la, return_inverse=True)
        alpha = np.bincount(inv, weights=self.p[m] * a, minlength=len(kl))
        beta = np.bincount(inv, weights=self.q[m] * b, minlength=len(kl))
        same = np.bincount(inv, weights=self.p[m] * self.q[m] * a * b, minlength=len(kl))
        lc, ll = kl // n_la, kl % n_la
        with np.errstate(invalid="ignore", divide="ignore"):
            part = np.where(
                self.pq[ll] < 1.0, self.cross[ll] * (alpha * beta - same) / (1.0 - self.pq[ll]), 0
            )
        out += np.bincount(lc, weights=np.maximum(part, 0.0), minlength=n)
        # between local authorities: every (home, work) pair of authorities the area touches
        left, right = _pairs_within(lc)
        off = ll[left] != ll[right]
        left, right = left[off], right[off]
        f = self.flows[ll[left], ll[right]] * alpha[left] * beta[right]
        out += np.bincount(lc[left], weights=f, minlength=n)
        return out


def _shares(v: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """``v`` over its group's sum (0 where the group sums to 0)."""
    v = np.maximum(np.asarray(v, float), 0.0)
    tot = np.bincount(group, weights=v, minlength=n)[group]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, v / tot, 0.0)


def _ratio(
    keys: np.ndarray, k: np.ndarray, v: np.ndarray, total: np.ndarray, n_msoa: int
) -> np.ndarray:
    """Per key (area x MSOA), the sum of ``v`` over its pairs ``k``, over the MSOA's total
    (clipped to [0, 1])."""
    s = np.bincount(np.searchsorted(keys, k), weights=v, minlength=len(keys))
    tot = total[keys % n_msoa]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, np.clip(s / tot, 0.0, 1.0), 0.0)


def _pairs_within(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair ``(i, j)`` of positions of the sorted array ``g`` with ``g[i] ==
    g[j]``."""
    if not len(g):
        e = np.zeros(0, np.int64)
        return e, e
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, len(g)])
    gid = np.repeat(np.arange(len(starts)), sizes)
    rep = sizes[gid]
    left = np.repeat(np.arange(len(g)), rep)
    block = np.repeat(np.cumsum(rep) - rep, rep)
    right = np.repeat(starts[gid], rep) + (np.arange(len(left)) - block)
    return left, right


def area_totals(surface: Any, n_areas: int) -> np.ndarray:
    """Per area of the flows, all the people of ``surface`` (its groups' totals summed)."""
    memo = surface.__dict__.setdefault("_area_totals", {})
    if n_areas not in memo:
        memo[n_areas] = np.bincount(
            surface.group_area, weights=surface.group_totals, minlength=n_areas
        )
    out: np.ndarray = memo[n_areas]
    return out


def overlap_of(
    commuting: Commuting | None,
    residents: Any,
    res_counts: Any,
    workers: Any,
    wrk_counts: Any,
) -> np.ndarray | None:
    """The people counted twice in each area of two counts (residents and workers).

    Parameters
    ----------
    commuting : Commuting or None
        The layer's flows.
    residents, workers : CountSurface or None
        The surfaces counted.
    res_counts, wrk_counts : Counts or None
        Their counts in the same areas.

    Returns
    -------
    numpy.ndarray or None
        Per area, the residents who travel to work there, never more than its residents or its
        workers; None where the flows or a count by census group are missing.
    """
    if commuting is None or res_counts is None or wrk_counts is None:
        return None
    if residents is None or workers is None:
        return None
    if residents.group_area is None or workers.group_area is None:
        return None
    if res_counts.groups is None or wrk_counts.groups is None:
        return None
    n_areas = len(commuting.within)
    est = commuting.overlap(
        res_counts.groups,
        residents.group_area,
        area_totals(residents, n_areas),
        wrk_counts.groups,
        workers.group_area,
        area_totals(workers, n_areas),
        len(res_counts.estimate),
    )
    cap = np.minimum(res_counts.estimate, wrk_counts.estimate)
    out: np.ndarray = np.clip(est, 0.0, np.maximum(cap, 0.0))
    return out
