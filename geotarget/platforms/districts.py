"""UK postcode districts (outward codes such as ``EC2Y``) as approximate polygons.

No district boundary file is at hand, so districts are built from the postcode unit points of
OS Code-Point Open: each live unit takes its Voronoi cell, and cells are dissolved by district.
Districts with no small-user unit (PO-box and other non-geographic districts) are left out.
The polygons are approximate (a unit's cell is not its real extent); a cell reaches at most
``REACH_M`` (10 km) from its unit, so land far from every GB postcode (sea, Northern Ireland,
abroad) lies in no district; near the edge of the area built, a district may be cut short,
which is reported.  A layer's district set is built once
(:func:`for_layer`) and cached on disk beside the layer cache.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..layers.base import PopulationLayer
from ..projections import BNG, reproject

#: this module's logger
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _units() -> pd.DataFrame:
    import pyarrow.parquet as pq

    f = resources.files("geotarget.data").joinpath("postcodes_gb.parquet")
    with resources.as_file(f) as p:
        t = pq.read_table(
            p, columns=["outward", "easting", "northing", "terminated", "large_user"]
        ).to_pandas()
    t = t[t["terminated"].isna() & t["easting"].notna()]
    small = t.groupby("outward", observed=True)["large_user"].transform("min")
    t = t[~small.astype(bool)]  # districts whose every unit is a large user: non-geographic
    units: pd.DataFrame = pd.DataFrame(
        {
            "district": t["outward"].astype(str).to_numpy(),
            "x": t["easting"].to_numpy(float),
            "y": t["northing"].to_numpy(float),
        }
    )
    return units


#: how far a district reaches from its nearest postcode unit, at most (metres)
REACH_M = 10_000.0


def districts_in(
    bounds_bng: tuple[float, float, float, float], crs: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The postcode districts built from the units within ``bounds_bng``.

    Parameters
    ----------
    bounds_bng : tuple of float
        ``(xmin, ymin, xmax, ymax)`` in the British National Grid: the area the Voronoi cells
        are built in.
    crs : str
        The CRS of the polygons returned.

    Returns
    -------
    codes : list of str
        The district codes.
    polygons : numpy.ndarray of shapely geometries
        Their polygons, in ``crs``.
    cut : numpy.ndarray of bool
        Whether each district is cut by the edge of ``bounds_bng``.
    """
    u = _units()
    xmin, ymin, xmax, ymax = bounds_bng
    sel = u[(u.x >= xmin) & (u.x <= xmax) & (u.y >= ymin) & (u.y <= ymax)]
    sel = sel.drop_duplicates(["x", "y"])  # units sharing a position: the first one's district
    if len(sel) < 3:
        return [], np.array([], dtype=object), np.array([], dtype=bool)
    box = shapely.box(xmin, ymin, xmax, ymax)
    pts = shapely.points(sel["x"].to_numpy(), sel["y"].to_numpy())
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box, ordered=True)
    )
    cells = shapely.intersection(cells, box)
    # no district where no postcode unit is near: a cell reaches at most REACH_M from its unit
    # (sea, Northern Ireland, abroad and empty moors stay outside every district)
    xy, which = shapely.get_coordinates(cells, return_index=True)
    far = np.zeros(len(cells))
    np.maximum.at(
        far,
        which,
        np.hypot(xy[:, 0] - sel["x"].to_numpy()[which], xy[:, 1] - sel["y"].to_numpy()[which]),
    )
    wide = np.nonzero(far > REACH_M)[0]
    if len(wide):
        cells[wide] = shapely.intersection(
            cells[wide], shapely.buffer(pts[wide], REACH_M, quad_segs=16)
        )
    codes, inv = np.unique(sel["district"].to_numpy(), return_inverse=True)
    clipped = np.zeros(len(cells), bool)
    clipped[wide] = True
    parts = []
    for i in range(len(codes)):
        mine = inv == i
        # clipped cells no longer share whole edges with their neighbours: a full union there
        union = shapely.union_all if clipped[mine].any() else shapely.coverage_union_all
        parts.append(union(cells[mine]))
    polys: NDArray[np.object_] = np.array(parts, dtype=object)
    cut = shapely.intersects(polys, shapely.boundary(box))
    polys = reproject(polys, BNG, crs)
    return codes.tolist(), polys, cut


# --------------------------------------------------------------------------- per layer, once

#: bump when the way district sets are built changes (invalidates the disk cache)
FORMAT = 2
#: postcode units this far beyond the layer's coverage (BNG metres) take part in the Voronoi
#: cells, so that districts on the layer's edge are not cut short by it
PAD_M = 5_000.0


@dataclass(eq=False)
class DistrictSet:
    """Every postcode district around a layer, as polygons in the layer's CRS.

    Built once per layer (Voronoi cells of all live units within the layer's coverage box plus
    ``PAD_M``) and cached on disk: the single-venue and the batch paths use the very same
    polygons, so they agree exactly.  ``cut`` marks districts touching the edge of that box (their
    polygon, and so their people, is understated); ``coverage`` is the share of each district's
    area inside the layer's coverage.
    """

    codes: np.ndarray
    polygons: np.ndarray
    cut: np.ndarray
    coverage: np.ndarray
    #: the disk-cache key the set was built or read under (None: not from :func:`for_layer`)
    key: str | None = None

    @cached_property
    def areas(self) -> np.ndarray:
        """The area of each district (m², layer CRS)."""
        areas: np.ndarray = shapely.area(self.polygons)
        return areas

    @cached_property
    def tree(self) -> shapely.STRtree:
        """A spatial index of the district polygons."""
        return shapely.STRtree(self.polygons)

    @cached_property
    def index(self) -> dict[str, int]:
        """The position of each district, by code."""
        return {c: i for i, c in enumerate(self.codes.tolist())}


def _postcodes_file_stamp() -> str:
    f = resources.files("geotarget.data").joinpath("postcodes_gb.parquet")
    with resources.as_file(f) as p:
        st = p.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"


def _key(layer: PopulationLayer) -> str:
    from .._version import __version__

    h = hashlib.sha256(
        f"districts={FORMAT}|geotarget={__version__}|{layer.crs}|{PAD_M}|{REACH_M}|"
        f"{_postcodes_file_stamp()}|".encode()
    )
    h.update(shapely.to_wkb(layer.coverage))
    return h.hexdigest()[:24]


def _read(path: Path) -> DistrictSet | None:
    from ..files import sha256_of

    sums = path.with_name(path.name + ".sha256")
    try:
        if not path.exists() or not sums.exists() or sums.read_text().strip() != sha256_of(path):
            return None
        df = pd.read_parquet(path)
        return DistrictSet(
            codes=df["code"].to_numpy(dtype=object),
            polygons=shapely.from_wkb(df["wkb"].to_numpy()),
            cut=df["cut"].to_numpy(bool),
            coverage=df["coverage"].to_numpy(float),
        )
    except (OSError, ValueError, KeyError) as e:
        log.warning("cached postcode districts %s are unreadable (%s): rebuilding", path, e)
        return None


def _write(ds: DistrictSet, path: Path) -> None:
    from ..files import atomic_path, sha256_of

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pd.DataFrame(
            {
                "code": ds.codes.astype(str),
                "wkb": shapely.to_wkb(ds.polygons),
                "cut": ds.cut,
                "coverage": ds.coverage,
            }
        ).to_parquet(tmp, index=False)
        digest = sha256_of(tmp)
    with atomic_path(path.with_name(path.name + ".sha256")) as tmp:
        tmp.write_text(digest)


def for_layer(layer: PopulationLayer) -> DistrictSet:
    """The postcode districts around ``layer`` (a GB layer), built once and cached.

    Parameters
    ----------
    layer : PopulationLayer
        The layer; its districts are kept on it, and on disk beside the layer cache.

    Returns
    -------
    DistrictSet
        Empty where no postcode unit lies near the layer.
    """
    hit: DistrictSet | None = layer.__dict__.get("_districts")
    if hit is not None:
        return hit
    from ..layers.cache import cache_root

    key = _key(layer)
    path = cache_root() / "districts" / f"{key}.parquet"
    ds = _read(path)
    if ds is None:
        # slow the first time for a large layer (all of England & Wales: about a minute)
        print(
            f"geotarget: building the postcode districts of layer {layer.name} (first use; "
            "cached afterwards)...",
            file=sys.stderr,
            flush=True,
        )
        cov = reproject(layer.coverage, layer.crs, BNG)
        xmin, ymin, xmax, ymax = cov.bounds
        codes, polys, cut = districts_in(
            (xmin - PAD_M, ymin - PAD_M, xmax + PAD_M, ymax + PAD_M), layer.crs
        )
        ds = DistrictSet(
            codes=np.asarray(codes, dtype=object),
            polygons=polys,
            cut=cut,
            coverage=layer.coverage_fraction(polys) if len(polys) else np.zeros(0),
        )
        try:
            _write(ds, path)
        except OSError as e:  # a read-only cache is not fatal
            log.warning("could not cache postcode districts in %s (%s)", path, e)
    ds.key = key
    layer.__dict__["_districts"] = ds
    return ds
