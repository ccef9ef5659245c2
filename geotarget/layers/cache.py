"""A compact on-disk form of a built layer, so that raw census files are parsed once.

A cached layer is a folder holding ``layer.json`` (metadata, the list of surfaces and the sha256
of every other file) and one Parquet file per surface plus ``coverage.parquet``.  A point
surface's Parquet file holds its ids only: its numbers are NumPy ``.npy`` files
(``surface<i>-<array>.npy``), memory-mapped when read (no decoding, no copy), and the layout of
its strip index (:class:`geotarget.estimate.circles.PointIndex`: the points sorted once, when
the layer is written) is stored beside them.  A file whose checksum does not match (a truncated
or corrupted cache) makes :func:`read` return ``None`` -- the caller rebuilds from the raw files
-- and is never used (:mod:`.cache_check`: hashed in full once, then while the file system says
the file is unchanged); the stored indexes (derived from the rest) are checked when first used,
and rebuilt if they fail, and a point surface's ids and the layer's places are read when first
used (:mod:`.cache_lazy`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import shapely

from ..files import swap_dir
from .base import CountSurface, PlaceSet, PointXY, PopulationLayer
from .cache_check import mismatch
from .cache_lazy import ArrowIds, FileIds, FilePlaces, StoredIndex, StoredStrips
from .commuting import Commuting
from .parquet import column_array, read_columns, read_table

if TYPE_CHECKING:  # pandas writes the cache; reading it needs none
    import pandas as pd

log = logging.getLogger(__name__)
FORMAT = 15  # bump when the layout or the way layers are built changes
#: the names of the stored indexes (checked when first used, not with the layer)
_INDEX_SUFFIXES = ("-index.npz", "-strips-order.npy", "-strips-key.npy", "-strips-ecef.npy")

_LAYER_FIELDS = (
    "name",
    "title",
    "source",
    "licence",
    "vintage",
    "crs",
    "residents_unavailable",
    "workers_unavailable",
    "attribution",
    "caveats",
    "workers_caveats",
    "origin",
    "country",
)
_SURFACE_FIELDS = (
    "kind",
    "unit",
    "definition",
    "clusters_per_zone",
    "method",
    "group_unit",
    "description",
    "range_note",
)


def cache_root() -> Path:
    """The cache root shared with downloads: ``$GEOTARGET_CACHE_DIR`` or the user cache."""
    from ..settings import cache_dir

    return cache_dir()


def key_for(inputs: list[Path], **options: Any) -> str:
    """A key that changes when any input file (size, mtime) or option changes.

    Parameters
    ----------
    inputs : list of Path
        The files the layer is built from.
    **options
        Whatever else decides the layer (compared by ``str``).

    Returns
    -------
    str
        24 hex digits.
    """
    from .._version import __version__

    h = hashlib.sha256(f"format={FORMAT}|geotarget={__version__}".encode())
    for p in sorted(inputs):
        st = p.stat()
        h.update(f"|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    for k in sorted(options):
        h.update(f"|{k}={options[k]}".encode())
    return h.hexdigest()[:24]


def _sha256(path: Path) -> str:
    from ..files import sha256_of

    return sha256_of(path)


def _point_arrays(s: CountSurface) -> dict[str, np.ndarray]:
    """The numbers of a point surface, by the name of their ``.npy`` file's part."""
    d: dict[str, np.ndarray] = {
        "xy": np.ascontiguousarray(s.xy, dtype="float64"),
        "value": np.ascontiguousarray(s.values),
    }
    for j, v in enumerate(s.extra.values()):
        d[f"extra{j}"] = np.ascontiguousarray(v)
    if s.group is not None:
        d["group"] = np.ascontiguousarray(s.group)
    if s.edge_m is not None:
        d["edge_m"] = np.ascontiguousarray(s.edge_m)
    return d


def _surface_frame(s: CountSurface) -> pd.DataFrame:
    import pandas as pd

    if s.kind == "points":  # the ids only: the numbers go to .npy files (_point_arrays)
        return pd.DataFrame({"id": s.ids.astype(str)})
    d: dict[str, Any] = {"id": s.ids.astype(str), "value": s.values}
    d["wkb"] = shapely.to_wkb(s.geoms)
    for k, v in s.extra.items():
        d[f"extra:{k}"] = v
    if s.group is not None:
        d["group"] = s.group
    if s.edge_m is not None:
        d["edge_m"] = s.edge_m
    return pd.DataFrame(d)


def write(layer: PopulationLayer, folder: Path) -> None:
    """Write ``layer`` to ``folder`` atomically (a temporary folder renamed into place)."""
    import pandas as pd

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    try:
        meta: dict[str, Any] = {
            "format": FORMAT,
            "layer": {f: getattr(layer, f) for f in _LAYER_FIELDS},
            "surfaces": [],
            "files": {},
        }
        surfaces = []
        for pop in ("residents", "workers"):
            for method, s in layer.methods(pop).items():
                default = getattr(layer, pop) is s
                surfaces.append((pop, method, default, s))
        for i, (pop, method, default, s) in enumerate(surfaces):
            fname = f"surface{i}.parquet"
            _surface_frame(s).to_parquet(tmp / fname, compression="zstd", index=False)
            entry = {
                "population": pop,
                "method": method,
                "default": default,
                "file": fname,
                **{f: getattr(s, f) for f in _SURFACE_FIELDS},
            }
            if s.kind == "points":
                entry["arrays"] = {}
                for part, a in _point_arrays(s).items():
                    np.save(tmp / f"surface{i}-{part}.npy", a, allow_pickle=False)
                    entry["arrays"][part] = f"surface{i}-{part}.npy"
                entry["extra_names"] = list(s.extra)
                entry["strips"] = _write_strips(s, layer.crs, tmp, f"surface{i}-strips")
                entry["index_file"] = _write_index(s, layer.crs, tmp / f"surface{i}-index.npz")
            if s.group_k is not None:
                kname = f"surface{i}-groups.parquet"
                g = {"k": s.group_k}
                if s.group_area is not None:
                    g["area"] = s.group_area
                pd.DataFrame(g).to_parquet(tmp / kname, index=False)
                entry["groups_file"] = kname
            meta["surfaces"].append(entry)
        pieces = layer._coverage_parts[0]  # computed now, once, and stored
        pd.DataFrame(
            {
                "wkb": [shapely.to_wkb(layer.coverage)] + list(shapely.to_wkb(pieces)),
                "piece": [False] + [True] * len(pieces),
            }
        ).to_parquet(tmp / "coverage.parquet", index=False)
        if layer.places is not None:
            pl = layer.places
            d = {"wkb": shapely.to_wkb(pl.geoms)}
            for lev in pl.levels:
                d[f"code:{lev}"] = pl.codes[lev].astype(str)
                d[f"name:{lev}"] = pl.names[lev].astype(str)
            pd.DataFrame(d).to_parquet(tmp / "places.parquet", compression="zstd", index=False)
            if pl.polygons:
                keys = list(pl.polygons)
                pd.DataFrame(
                    {
                        "level": [k[0] for k in keys],
                        "code": [k[1] for k in keys],
                        "wkb": shapely.to_wkb(
                            np.array([pl.polygons[k] for k in keys], dtype=object)
                        ),
                    }
                ).to_parquet(tmp / "place-polygons.parquet", compression="zstd", index=False)
            meta["places_note"] = pl.note
            meta["places_complete"] = pl.complete
            meta["places_groups_nest"] = pl.groups_nest
        if layer.commuting is not None:
            _write_commuting(layer.commuting, tmp / "commuting.npz")
            meta["commuting_source"] = layer.commuting.source
        for p in tmp.iterdir():
            # the aggregate indexes are checked when first used (most runs need none)
            key = "index_files" if p.name.endswith(_INDEX_SUFFIXES) else "files"
            meta.setdefault(key, {})[p.name] = _sha256(p)
        text = json.dumps(meta, indent=1, sort_keys=True)
        (tmp / "layer.json").write_text(text)
        # layer.json's own checksum, so that an edited or damaged layer.json is not read either
        (tmp / "layer.json.sha256").write_text(hashlib.sha256(text.encode()).hexdigest())
        swap_dir(tmp, folder)  # an older entry moved aside first, never a moment without one
        _attach_indexes(meta, [s for *_, s in surfaces], folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_index(s: CountSurface, crs: str, path: Path) -> str:
    """Store the layout of the aggregate index of point surface ``s`` in ``path`` (computed
    now: about 2 s for the 1.5 million points of England & Wales); returns the file's name."""
    from ..estimate.aggregate import layout
    from ..estimate.circles import surface_ecef

    arrays: dict[str, Any] = layout(s, surface_ecef(s, crs))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path.name


def _write_strips(s: CountSurface, crs: str, folder: Path, stem: str) -> dict[str, Any]:
    """Store the layout of the strip index of point surface ``s`` (the points sorted by strip
    and y: the same :class:`~geotarget.estimate.circles.PointIndex` every circle count uses)
    and the points' ECEF positions in its order as ``<stem>-order.npy``, ``<stem>-key.npy``
    and ``<stem>-ecef.npy``; returns its entry of ``layer.json``."""
    from ..estimate.circles import point_index, surface_ecef

    scalars, arrays = point_index(s, crs).stored(surface_ecef(s, crs))
    files = {}
    for part, a in arrays.items():
        files[part] = f"{stem}-{part}.npy"
        np.save(folder / files[part], np.ascontiguousarray(a), allow_pickle=False)
    return {"scalars": scalars, "files": files}


def _attach_indexes(meta: dict[str, Any], surfaces: list[CountSurface], folder: Path) -> None:
    """Point each surface of a cached layer at its stored aggregate and strip indexes (if any)."""
    from ..estimate.aggregate import store_loader
    from ..estimate.circles import store_point_index

    stored = meta.get("index_files", {})
    for e, s in zip(meta["surfaces"], surfaces):
        name = e.get("index_file")
        if name in stored:
            loader = StoredIndex(folder / name, stored[name], len(s.values))
            store_loader(s, meta["layer"]["crs"], loader)
        strips = e.get("strips")
        if strips is not None and all(f in stored for f in strips["files"].values()):
            files = {k: (folder / f, stored[f]) for k, f in strips["files"].items()}
            strip_loader = StoredStrips(files, strips["scalars"], len(s.values))
            store_point_index(s, meta["layer"]["crs"], strip_loader)


#: the arrays of a layer's commuting flows, as stored
_COMMUTING_ARRAYS = ("la_codes", "area_la", "within", "out_other", "in_other", "flows")


def _write_commuting(c: Commuting, path: Path) -> None:
    arrays = {a: np.asarray(getattr(c, a)) for a in _COMMUTING_ARRAYS}
    arrays["la_codes"] = arrays["la_codes"].astype(str)
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]


def _read_commuting(path: Path, source: str) -> Commuting:
    with np.load(path, allow_pickle=False) as z:
        arrays = {a: z[a] for a in _COMMUTING_ARRAYS}
    return Commuting(source=source, **arrays)


def _columns(path: Path) -> dict[str, np.ndarray]:
    """Every column of a Parquet file as a NumPy array (strings and bytes as objects)."""
    return read_columns(path)


def _zone_columns(table: Any) -> dict[str, Any]:
    """A zone or grid surface's columns (all but the ids) from its Parquet table."""
    names = [c for c in table.schema.names if c != "id"]
    d = {c: column_array(table.column(c)) for c in names}
    out: dict[str, Any] = {
        "geoms": shapely.from_wkb(d.pop("wkb")),
        "value": d.pop("value"),
        "extra": {c.split(":", 1)[1]: d[c] for c in names if c.startswith("extra:")},
    }
    for c in ("group", "edge_m"):
        if c in d:
            out[c] = d[c]
    return out


def _point_columns(folder: Path, e: dict[str, Any]) -> dict[str, Any]:
    """A point surface's numbers, memory-mapped from its ``.npy`` files (checked already):
    copy-on-write, so the arrays are writable like any other and the files never change."""
    files = e["arrays"]
    arrays = {
        part: np.load(folder / name, mmap_mode="c", allow_pickle=False)
        for part, name in files.items()
    }
    xy = arrays.pop("xy")
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.dtype != np.float64:
        raise ValueError(f"{files['xy']}: not an (n, 2) array of float64")
    extra_names = e["extra_names"]
    out: dict[str, Any] = {
        "geoms": xy.view(PointXY),
        "value": arrays.pop("value"),
        "extra": {k: arrays.pop(f"extra{j}") for j, k in enumerate(extra_names)},
    }
    out.update(arrays)  # group, edge_m
    n = len(xy)
    if any(len(a) != n for a in (out["value"], *out["extra"].values(), *arrays.values())):
        raise ValueError(f"{files['xy']}: the arrays of a surface differ in length")
    return out


def read(folder: Path) -> PopulationLayer | None:
    """The cached layer in ``folder``, or ``None`` if absent, of another format, or corrupted."""
    meta_path = folder / "layer.json"
    if not meta_path.exists():
        return None
    try:
        text = meta_path.read_text()
        sum_path = folder / "layer.json.sha256"
        if (
            not sum_path.exists()
            or sum_path.read_text().strip() != hashlib.sha256(text.encode()).hexdigest()
        ):
            log.warning("cached layer %s: layer.json fails its checksum: rebuilding", folder)
            return None
        meta = json.loads(text)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return None
        bad = mismatch(folder, meta["files"])  # hashed, unless verified and unchanged since
        if bad is not None:
            log.warning(
                "cached layer file %s is corrupted (checksum mismatch): rebuilding", folder / bad
            )
            return None
        by_pop: dict[str, dict[str, CountSurface]] = {"residents": {}, "workers": {}}
        defaults: dict[str, CountSurface] = {}
        read_surfaces: list[CountSurface] = []
        for e in meta["surfaces"]:
            ids: Callable[[], np.ndarray]
            if e["kind"] == "points":  # the file holds the ids only: read if asked for
                cols = _point_columns(folder, e)
                ids = FileIds(folder / e["file"], meta["files"][e["file"]])
            else:  # the ids (strings) are kept in Arrow and converted only if asked for
                table = read_table(folder / e["file"])
                cols = _zone_columns(table)
                ids = ArrowIds(table.column("id"))
            groups = _columns(folder / e["groups_file"]) if "groups_file" in e else None
            n = len(cols["value"])
            s = CountSurface(
                # a placeholder of the right length (no memory), replaced below
                ids=np.broadcast_to(np.array(None, dtype=object), (n,)),
                geoms=cols["geoms"],
                values=cols["value"],
                extra=cols["extra"],
                group=cols.get("group"),
                group_k=None if groups is None else groups["k"],
                group_area=None if groups is None else groups.get("area"),
                edge_m=cols.get("edge_m"),
                **{f: e[f] for f in _SURFACE_FIELDS},
            )
            s.defer_ids(ids)
            read_surfaces.append(s)
            by_pop[e["population"]][e["method"]] = s
            if e["default"]:
                defaults[e["population"]] = s
        cdf = _columns(folder / "coverage.parquet")
        cgeoms = shapely.from_wkb(cdf["wkb"])
        piece = cdf["piece"].astype(bool)
        coverage = cgeoms[~piece][0]
        pieces = cgeoms[piece]
        places = None
        if (folder / "places.parquet").exists():
            places = FilePlaces(folder, meta)
        alternatives = {
            pop: {m: s for m, s in d.items() if s is not defaults.get(pop)}
            for pop, d in by_pop.items()
        }
        layer_kwargs = dict(meta["layer"])
        _attach_indexes(meta, read_surfaces, folder)
        if (folder / "commuting.npz").exists():
            layer_kwargs["commuting"] = _read_commuting(
                folder / "commuting.npz", meta["commuting_source"]
            )
        return PopulationLayer(
            coverage=coverage,
            residents=defaults.get("residents"),
            workers=defaults.get("workers"),
            alternatives=alternatives,
            # read when first used (PopulationLayer.places calls the loader)
            places=cast("PlaceSet | None", places),
            coverage_pieces=pieces,
            **layer_kwargs,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        log.warning("cached layer in %s is unreadable (%s): rebuilding", folder, e)
        return None


def cached(
    build: Callable[..., PopulationLayer],
    inputs: list[Path],
    *,
    name: str,
    use_cache: bool = True,
    signature: tuple[Any, ...] = (),
    **options: Any,
) -> PopulationLayer:
    """``build(**options)``, or its cached result for the same inputs, options and signature.

    Parameters
    ----------
    build : callable
        Builds the layer from ``options``.
    inputs : list of Path
        The files the layer is built from (their size and time are part of the key).
    name : str
        The cache folder's prefix.
    use_cache : bool
        ``False``: build, and neither read nor write the cache.
    signature : tuple
        Whatever else decides the result: calibration constants, ancillary files.
    **options
        Passed to ``build``, and part of the key.

    Returns
    -------
    PopulationLayer
        The cached layer when a valid one is found, else the one just built (then cached; a
        read-only cache only logs a warning).
    """
    if not use_cache:
        return build(**options)
    folder = cache_root() / "layers" / f"{name}-{key_for(inputs, signature=signature, **options)}"
    layer = read(folder)
    if layer is not None:
        log.info("read cached layer %s", folder)
        return layer
    layer = build(**options)
    try:
        write(layer, folder)
        log.info("cached layer in %s", folder)
    except OSError as e:  # a read-only cache is not fatal: the layer was built
        log.warning("could not cache the layer in %s (%s)", folder, e)
    return layer


assert {f.name for f in fields(PopulationLayer)} >= set(_LAYER_FIELDS)
