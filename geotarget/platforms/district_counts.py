"""People per postcode district and each point's district, worked out once per layer and method.

:class:`~geotarget.platforms.footprints.Facts` splits a catchment's people over the postcode
districts it reaches; the people of every whole district, and the district of every point of a
point surface (cached on disk for large surfaces), do not depend on the venues and are kept on
the layer (:func:`~geotarget.platforms.layer_totals.layer_memo`) for every batch that follows.

Rules
-----
* A point (postcode, block, grid centre) belongs to the one district whose polygon holds it (the
  first, where it lies on a shared edge).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from .. import estimate as est
from ..layers.base import CountSurface, PopulationLayer
from .layer_totals import layer_memo
from .people import POPS

if TYPE_CHECKING:
    from .districts import DistrictSet

#: this module's logger
log = logging.getLogger(__name__)


class DistrictCounts:
    """People per postcode district and each point's district, for one layer and method.

    Worked out for the districts and points some venue needed, and kept for the next.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    method : str or None
        The estimation method (``None``: the layer's own).
    ds : DistrictSet
        The districts around the layer.
    """

    def __init__(self, layer: PopulationLayer, method: str | None, ds: DistrictSet) -> None:
        self.ds = ds
        self.surfaces = {pop: layer.surface(pop, method) for pop in POPS}
        nd = len(ds.codes)
        self.tot: dict[str, np.ndarray | None] = {
            pop: None if s is None else np.full((3, nd), np.nan) for pop, s in self.surfaces.items()
        }
        self._point = {
            pop: np.full(len(s.values), -2, dtype="int64")
            for pop, s in self.surfaces.items()
            if s is not None and s.kind == "points"
        }
        self._cached = {pop: False for pop in self._point}

    def _from_disk(self, pop: str) -> None:
        """Every point's district, read from the disk cache (worked out for all points and
        written there the first time): the same answers as asking point by point."""
        self._cached[pop] = True
        s = self.surfaces[pop]
        assert s is not None
        path = point_districts_path(self.ds, s)
        if path is None:
            return
        d = _read_int_array(path, len(s.values))
        if d is None:
            pts = shapely.points(s.xy)
            qi, di = self.ds.tree.query(pts, predicate="intersects")
            first_q, first = np.unique(qi, return_index=True)
            d = np.full(len(s.values), -1, dtype="int64")
            d[first_q] = di[first]
            _write_int_array(path, d)
        self._point[pop] = d

    def district_of(self, pop: str, pi: np.ndarray) -> np.ndarray:
        """The district of each point of a point surface.

        Parameters
        ----------
        pop : str
            The population whose surface the points are of.
        pi : numpy.ndarray of int
            Indices of points of that surface.

        Returns
        -------
        numpy.ndarray of int
            The index of the first district holding each point; -1 where none does.
        """
        if not self._cached[pop]:
            self._from_disk(pop)
        d = self._point[pop]
        new = np.unique(pi[d[pi] == -2])
        if len(new):
            s = self.surfaces[pop]
            assert s is not None  # a point surface: _point has an entry for it
            # only the points asked about are made (a point surface may hold its points lazily)
            pts = shapely.points(s.xy[new])
            qi, di = self.ds.tree.query(pts, predicate="intersects")
            first_q, first = np.unique(qi, return_index=True)
            found = np.full(len(new), -1, dtype="int64")
            found[first_q] = di[first]
            d[new] = found  # one assignment: another thread never sees a half-done answer
        out: np.ndarray = d[pi]
        return out

    def totals(self, idx: np.ndarray) -> dict[str, np.ndarray | None]:
        """People of the districts, with at least districts ``idx`` counted.

        Parameters
        ----------
        idx : numpy.ndarray of int
            The districts needed.

        Returns
        -------
        dict
            ``{pop: (3, n districts) array of (estimate, low, high), or None}``; districts not
            counted yet are NaN.
        """
        for pop, s in self.surfaces.items():
            t = self.tot[pop]
            if t is None or s is None:
                continue
            new = idx[np.isnan(t[0, idx])]
            if len(new):
                c = est.count(s, self.ds.polygons[new])
                t[0, new], t[1, new], t[2, new] = c.estimate, c.low, c.high
        return self.tot


#: points a surface must have for its districts to be worked out all at once and cached on disk
POINTS_CACHED = 10_000


def point_districts_path(ds: DistrictSet, s: CountSurface) -> Path | None:
    """Where the district of every point of ``s`` is cached (None: not cached -- too few
    points, or districts not built by :func:`geotarget.platforms.districts.for_layer`)."""
    key = getattr(ds, "key", None)
    if key is None or len(s.values) < POINTS_CACHED:
        return None
    from ..layers.cache import cache_root

    h = hashlib.sha256(np.ascontiguousarray(s.xy, dtype="float64").tobytes()).hexdigest()[:24]
    return cache_root() / "districts" / f"{key}-points-{h}.npy"


def _read_int_array(path: Path, n: int) -> np.ndarray | None:
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if a.shape != (n,) or a.dtype != np.int64:
        return None
    out: np.ndarray = np.array(a)  # writable: points asked about later are filled in place
    return out


def _write_int_array(path: Path, a: np.ndarray) -> None:
    from ..files import atomic_path

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, a, allow_pickle=False)
    except OSError as e:  # a read-only cache is not fatal
        log.warning("could not cache point districts in %s (%s)", path, e)


def district_counts(layer: PopulationLayer, method: str | None, ds: DistrictSet) -> DistrictCounts:
    """The (one) :class:`DistrictCounts` of ``layer``, ``method`` and ``ds``.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    method : str or None
        The estimation method.
    ds : DistrictSet
        The districts around the layer.

    Returns
    -------
    DistrictCounts
    """
    memo = layer_memo(layer, "districts")
    key = (method, id(ds))
    if key not in memo:
        memo[key] = DistrictCounts(layer, method, ds)
    counts: DistrictCounts = memo[key]
    return counts
