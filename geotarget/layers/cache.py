"""A compact on-disk form of a built layer, so that raw census files are parsed once.

A cached layer is a folder holding ``layer.json`` (metadata, the list of surfaces and the sha256
of every other file) and one Parquet file per surface plus ``coverage.parquet``.  A file whose
checksum does not match (a truncated or corrupted cache) makes :func:`read` return ``None`` --
the caller rebuilds from the raw files -- and is never used.
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
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from ..files import swap_dir
from .base import CountSurface, PlaceSet, PointXY, PopulationLayer
from .commuting import Commuting

log = logging.getLogger(__name__)
FORMAT = 14  # bump when the layout or the way layers are built changes

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


def _surface_frame(s: CountSurface) -> pd.DataFrame:
    d: dict[str, Any] = {"id": s.ids.astype(str), "value": s.values}
    if s.kind == "points":
        xy = s.xy
        d["x"], d["y"] = xy[:, 0], xy[:, 1]
    else:
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
            key = "index_files" if p.name.endswith("-index.npz") else "files"
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


def _attach_indexes(meta: dict[str, Any], surfaces: list[CountSurface], folder: Path) -> None:
    """Point each surface of a cached layer at its stored aggregate index (if any)."""
    from ..estimate.aggregate import store_loader

    stored = meta.get("index_files", {})
    for e, s in zip(meta["surfaces"], surfaces):
        name = e.get("index_file")
        if name in stored:
            loader = _StoredIndex(folder / name, stored[name], len(s.values))
            store_loader(s, meta["layer"]["crs"], loader)


class _StoredIndex:
    """A loader of an aggregate index's layout stored with a cached layer: checked against its
    checksum when first loaded (``None`` if it fails: the index is then rebuilt)."""

    def __init__(self, path: Path, digest: str, n: int) -> None:
        self.path, self.digest, self.n = path, digest, n

    def __call__(self) -> dict[str, np.ndarray] | None:
        try:
            if _sha256(self.path) != self.digest:
                log.warning("cached index %s fails its checksum: rebuilding it", self.path)
                return None
            with np.load(self.path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            if len(arrays["point"]) and int(arrays["point"].max()) >= self.n:
                return None
            return arrays
        except (OSError, ValueError, KeyError) as e:
            log.warning("cached index %s is unreadable (%s): rebuilding it", self.path, e)
            return None


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


class _ArrowIds:
    """A loader of the ids held in an Arrow column (an object array of strings); picklable,
    so a layer read from the cache can still be sent to Dask workers."""

    def __init__(self, column: Any) -> None:
        self.column = column

    def __call__(self) -> np.ndarray:
        return np.asarray(self.column.to_numpy(zero_copy_only=False), dtype=object)


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
        for name, digest in meta["files"].items():
            if _sha256(folder / name) != digest:
                log.warning(
                    "cached layer file %s is corrupted (checksum mismatch): rebuilding",
                    folder / name,
                )
                return None
        by_pop: dict[str, dict[str, CountSurface]] = {"residents": {}, "workers": {}}
        defaults: dict[str, CountSurface] = {}
        read_surfaces: list[CountSurface] = []
        for e in meta["surfaces"]:
            # the ids (strings) are kept in Arrow and converted only if asked for
            table = pq.read_table(folder / e["file"])
            id_column = table.column("id")
            df = table.drop_columns(["id"]).to_pandas()
            if e["kind"] == "points":
                geoms: np.ndarray | PointXY = PointXY(df["x"].to_numpy(), df["y"].to_numpy())
            else:
                geoms = shapely.from_wkb(df["wkb"].to_numpy())
            groups = pd.read_parquet(folder / e["groups_file"]) if "groups_file" in e else None
            s = CountSurface(
                ids=np.empty(len(df), dtype=object),  # replaced below
                geoms=geoms,
                values=df["value"].to_numpy(),
                extra={
                    c.split(":", 1)[1]: df[c].to_numpy()
                    for c in df.columns
                    if c.startswith("extra:")
                },
                group=df["group"].to_numpy() if "group" in df else None,
                group_k=None if groups is None else groups["k"].to_numpy(),
                group_area=(
                    groups["area"].to_numpy() if groups is not None and "area" in groups else None
                ),
                edge_m=df["edge_m"].to_numpy() if "edge_m" in df else None,
                **{f: e[f] for f in _SURFACE_FIELDS},
            )
            s.defer_ids(_ArrowIds(id_column))
            read_surfaces.append(s)
            by_pop[e["population"]][e["method"]] = s
            if e["default"]:
                defaults[e["population"]] = s
        cdf = pd.read_parquet(folder / "coverage.parquet")
        cgeoms = shapely.from_wkb(cdf["wkb"].to_numpy())
        coverage = cgeoms[~cdf["piece"].to_numpy()][0]
        pieces = cgeoms[cdf["piece"].to_numpy()]
        places = None
        if (folder / "places.parquet").exists():
            pdf = pd.read_parquet(folder / "places.parquet")
            levels = [c.split(":", 1)[1] for c in pdf.columns if c.startswith("code:")]
            places = PlaceSet(
                geoms=shapely.from_wkb(pdf["wkb"].to_numpy()),
                codes={lv: pdf[f"code:{lv}"].to_numpy(dtype=object) for lv in levels},
                names={lv: pdf[f"name:{lv}"].to_numpy(dtype=object) for lv in levels},
                note=meta.get("places_note", {}),
                complete=meta.get("places_complete", True),
                groups_nest=meta.get("places_groups_nest", False),
            )
            if (folder / "place-polygons.parquet").exists():
                pp = pd.read_parquet(folder / "place-polygons.parquet")
                geoms = shapely.from_wkb(pp["wkb"].to_numpy())
                places.polygons = {(lv, c): g for lv, c, g in zip(pp["level"], pp["code"], geoms)}
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
            places=places,
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
