"""The street network as a compact graph, built once from an OSM file and cached on disk.

A :class:`Network` is a list of straight segments between consecutive way nodes (no
simplification: every OSM node of a kept way is a graph node), each with its length (geodesic,
WGS84 ellipsoid) and the cost of travelling it forward and backward: metres for walking,
seconds for driving (``inf`` where a one-way street forbids it).  It is cached as one ``.npz``
file under ``<cache>/network/``, keyed on the SHA-256 of the OSM file, so a changed file is
read again.

The extract's area (for "clipped by the network data")
-------------------------------------------------------
The file's declared ``<bounds>``; else a GeoJSON polygon beside it named ``<name>-boundary.json``
(or ``.geojson``), as an Overpass area export is cut; else the convex hull of the nodes shrunk by
:data:`HULL_MARGIN_M`.  A node outside the area, or beside a node the file does not hold, is at
the edge of the data: a search reaching one is clipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from ..errors import DataError
from ..files import atomic_path, sha256_of
from ..projections import aeqd, transformer
from ..settings import cache_dir
from .osm import read_ways

#: bumped whenever the cached graph's content changes
CACHE_VERSION = 1
#: travel modes
MODES = ("walk", "drive")
#: without declared bounds or a boundary file, nodes this close to the hull of the data count as
#: at its edge (metres)
HULL_MARGIN_M = 50.0
#: the smallest cost of a segment (scipy's sparse graphs drop explicit zeros)
EPS = 1e-9
_GEOD = Geod(ellps="WGS84")


@dataclass(eq=False)
class Network:
    """The walkable or drivable street network of one OSM file.

    Parameters
    ----------
    mode : str
        ``"walk"`` (costs in metres) or ``"drive"`` (costs in seconds).
    source : str
        The OSM file's name.
    sha256 : str
        The OSM file's checksum.
    node_ids : numpy.ndarray
        The OSM id of each node.
    lon, lat : numpy.ndarray
        The nodes, WGS84 degrees.
    u, v : numpy.ndarray
        The segments' nodes.
    length : numpy.ndarray
        The segments' lengths, metres.
    cost_fwd, cost_back : numpy.ndarray
        The cost of travelling each segment from ``u`` to ``v`` and back (``inf``: not allowed).
    edge : numpy.ndarray
        Per node, whether it is at the edge of the data (outside the area, or beside a missing
        node).
    exit_u, exit_v : numpy.ndarray
        Per segment, the cost from ``u`` (from ``v``) to where the segment leaves the area
        (``inf`` when it does not).
    area_wkb : bytes
        The extract's area, a WGS84 polygon as WKB.
    area_source : str
        Where the area came from, in words.
    """

    mode: str
    source: str
    sha256: str
    node_ids: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    length: NDArray[np.float64]
    cost_fwd: NDArray[np.float64]
    cost_back: NDArray[np.float64]
    edge: NDArray[np.bool_]
    exit_u: NDArray[np.float64]
    exit_v: NDArray[np.float64]
    area_wkb: bytes
    area_source: str
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle holds (a Dask worker gets the network once): the arrays and names; the
        derived lines, index and caches are made again where they are needed."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["_cache"] = {}
        return state

    @property
    def key(self) -> str:
        """What identifies this graph: the file's checksum, the mode and the cache version."""
        return f"{self.sha256[:20]}-{self.mode}-v{CACHE_VERSION}"

    @property
    def n_nodes(self) -> int:
        """The number of nodes."""
        return len(self.lon)

    @cached_property
    def centre(self) -> tuple[float, float]:
        """``(lat, lon)`` of the middle of the nodes' bounding box."""
        return (
            float((self.lat.min() + self.lat.max()) / 2),
            float((self.lon.min() + self.lon.max()) / 2),
        )

    @cached_property
    def crs(self) -> str:
        """A local metric CRS (azimuthal equidistant on the network's centre) for snapping and
        drawing."""
        return aeqd(*self.centre)

    @cached_property
    def xy(self) -> NDArray[np.float64]:
        """The nodes in :attr:`crs`, an (n, 2) array of metres."""
        x, y = transformer("EPSG:4326", self.crs).transform(self.lon, self.lat)
        return np.column_stack([np.asarray(x), np.asarray(y)])

    @cached_property
    def lines(self) -> NDArray[np.object_]:
        """The segments as shapely lines in :attr:`crs`."""
        xy = self.xy
        coords = np.stack([xy[self.u], xy[self.v]], axis=1)
        return cast("NDArray[np.object_]", shapely.linestrings(coords))

    @cached_property
    def tree(self) -> shapely.STRtree:
        """A spatial index of :attr:`lines`."""
        return shapely.STRtree(self.lines)

    @cached_property
    def area(self) -> BaseGeometry:
        """The extract's area, a WGS84 polygon."""
        return shapely.from_wkb(self.area_wkb)

    def arcs(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """The directed arcs ``(tail, head, cost)``: each allowed direction of each segment, the
        cheapest of parallel arcs kept.

        Returns
        -------
        tuple of numpy.ndarray
        """
        if "arcs" not in self._cache:
            fw = np.isfinite(self.cost_fwd)
            bw = np.isfinite(self.cost_back)
            a = np.concatenate([self.u[fw], self.v[bw]])
            b = np.concatenate([self.v[fw], self.u[bw]])
            c = np.maximum(np.concatenate([self.cost_fwd[fw], self.cost_back[bw]]), EPS)
            keep = a != b
            a, b, c = a[keep], b[keep], c[keep]
            order = np.lexsort((c, b, a))
            a, b, c = a[order], b[order], c[order]
            first = np.concatenate([[True], (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
            self._cache["arcs"] = (a[first], b[first], c[first])
        arcs: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] = self._cache["arcs"]
        return arcs

    def describe(self) -> str:
        """The network in words: mode, file, size and where its area came from."""
        kind = "walkable" if self.mode == "walk" else "drivable"
        return (
            f"{kind} streets of {self.source} ({self.n_nodes:,} nodes, {len(self.u):,} "
            f"segments; data area: {self.area_source})"
        )


def _area(
    path: Path,
    bounds: tuple[float, float, float, float] | None,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
) -> tuple[BaseGeometry, str, bool]:
    """The extract's area (WGS84), where it came from, and whether it is the shrunk hull."""
    if bounds is not None:
        return shapely.box(*bounds), "the file's declared bounds", False
    for suffix in ("-boundary.json", "-boundary.geojson"):
        name = path.name.split(".")[0] + suffix
        side = path.with_name(name)
        if side.exists():
            try:
                gj = json.loads(side.read_text())
                feats = gj.get("features", [gj])
                geoms = [shapely.geometry.shape(f.get("geometry", f)) for f in feats]
                merged: BaseGeometry = shapely.union_all(geoms)
                return merged, f"the polygon in {name}", False
            except Exception as e:  # any malformed GeoJSON
                raise DataError(
                    f"cannot read the network's boundary file {str(side)!r}: {e}; give a GeoJSON "
                    "polygon"
                ) from e
    hull = cast(BaseGeometry, shapely.convex_hull(shapely.multipoints(np.column_stack([lon, lat]))))
    return hull, f"the hull of the data less {HULL_MARGIN_M:g} m", True


def build(path: str | Path, mode: str) -> Network:
    """Read an OSM file into a :class:`Network` (no cache; see :func:`load_network`).

    Parameters
    ----------
    path : str or pathlib.Path
        The OSM PBF or XML file.
    mode : str
        ``"walk"`` or ``"drive"``.

    Returns
    -------
    Network
    """
    p = Path(path)
    raw = read_ways(p, mode)
    _, _, length = _GEOD.inv(raw.lon[raw.u], raw.lat[raw.u], raw.lon[raw.v], raw.lat[raw.v])
    length = np.asarray(length, dtype=np.float64)
    if mode == "walk":
        fwd = length.copy()
        back = length.copy()
    else:
        t = length / (raw.speed_kmh / 3.6)
        fwd = np.where(raw.direction >= 0, t, np.inf)
        back = np.where(raw.direction <= 0, t, np.inf)
    area, area_source, shrunk = _area(p, raw.bounds, raw.lon, raw.lat)
    net = Network(
        mode=mode,
        source=p.name,
        sha256=sha256_of(p),
        node_ids=raw.node_ids,
        lon=raw.lon,
        lat=raw.lat,
        u=raw.u,
        v=raw.v,
        length=length,
        cost_fwd=fwd,
        cost_back=back,
        edge=np.zeros(len(raw.lon), dtype=bool),
        exit_u=np.full(len(length), np.inf),
        exit_v=np.full(len(length), np.inf),
        area_wkb=b"",
        area_source=area_source,
    )
    # the area in the local metric CRS (the hull shrunk there)
    tr = transformer("EPSG:4326", net.crs)
    local = shapely.transform(area, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    if shrunk:
        local = local.buffer(-HULL_MARGIN_M)
    inside = shapely.contains_xy(local, net.xy[:, 0], net.xy[:, 1])
    edge = ~inside
    edge[raw.truncated] = True
    net.edge = edge
    _exits(net, local, inside)
    back_tr = transformer(net.crs, "EPSG:4326")
    wgs = shapely.transform(local, lambda c: np.column_stack(back_tr.transform(c[:, 0], c[:, 1])))
    net.area_wkb = shapely.to_wkb(wgs)
    net._cache.clear()
    return net


def _exits(net: Network, local: BaseGeometry, inside: NDArray[np.bool_]) -> None:
    """Per segment from an inside node to an outside one, the cost to the crossing."""
    cross = np.flatnonzero(inside[net.u] != inside[net.v])
    if not len(cross):
        return
    lines = net.lines[cross]
    hits = shapely.intersection(lines, shapely.boundary(local))
    for i, line, hit in zip(cross, lines, hits):
        pts = shapely.get_coordinates(hit)
        if not len(pts):
            continue
        t = shapely.line_locate_point(line, shapely.points(pts), normalized=True)
        if inside[net.u[i]] and np.isfinite(net.cost_fwd[i]):
            net.exit_u[i] = float(t.min()) * net.cost_fwd[i]
        elif not inside[net.u[i]] and np.isfinite(net.cost_back[i]):
            net.exit_v[i] = (1.0 - float(t.max())) * net.cost_back[i]


_ARRAYS = (
    "node_ids",
    "lon",
    "lat",
    "u",
    "v",
    "length",
    "cost_fwd",
    "cost_back",
    "edge",
    "exit_u",
    "exit_v",
)
_MEMORY: dict[tuple[str, str, float], Network] = {}


def load_network(
    path: str | Path, mode: str = "walk", *, cache: str | Path | None = None
) -> Network:
    """The network of an OSM file, from the cache when the file is unchanged.

    Parameters
    ----------
    path : str or pathlib.Path
        An OSM PBF or XML extract.
    mode : str, default "walk"
        ``"walk"`` or ``"drive"``.
    cache : str, pathlib.Path or None
        The cache root; by default :func:`geotarget.settings.cache_dir`.

    Returns
    -------
    Network

    Raises
    ------
    InputError
        ``mode`` is not a travel mode.
    DataError
        The file does not exist or cannot be read as OSM data.
    """
    from ..errors import InputError

    if mode not in MODES:
        raise InputError(f"travel mode {mode!r} is unknown: use walk or drive")
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"network file {str(p)!r} does not exist: give an OSM PBF or XML extract (--network)"
        )
    st = p.stat()
    mem_key = (str(p.resolve()), mode, st.st_mtime)
    if mem_key in _MEMORY:
        return _MEMORY[mem_key]
    sha = sha256_of(p)
    folder = cache_dir(cache) / "network"
    file = folder / f"{sha[:20]}-{mode}-v{CACHE_VERSION}.npz"
    net = _read_cache(file, p.name, sha, mode)
    if net is None:
        net = build(p, mode)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(file) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                **{k: getattr(net, k) for k in _ARRAYS},
                area_wkb=np.frombuffer(net.area_wkb, dtype=np.uint8),
                area_source=np.array(net.area_source),
            )
    _MEMORY[mem_key] = net
    return net


def _read_cache(file: Path, source: str, sha: str, mode: str) -> Network | None:
    """The cached network, or ``None`` when there is none (or it cannot be read)."""
    if not file.exists():
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            arrays = {k: z[k] for k in _ARRAYS}
            wkb = z["area_wkb"].tobytes()
            area_source = str(z["area_source"])
    except Exception:  # a damaged cache file is rebuilt
        return None
    return Network(
        mode=mode, source=source, sha256=sha, area_wkb=wkb, area_source=area_source, **arrays
    )
