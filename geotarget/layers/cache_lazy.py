"""The parts of a cached layer (:mod:`.cache`) read when first used, not with the layer: its
stored indexes (checked against their checksums when loaded; one that fails is rebuilt) and a
point surface's ids and the layer's places (checked again when read: a file changed since the
layer was read is never used).  Each loader is picklable, so a layer read from the cache can
still be sent to Dask workers: the ids and places go with it, read first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..errors import DataError
from .base import PlaceSet
from .cache_check import mismatch
from .parquet import column_array, read_columns, read_table

log = logging.getLogger(__name__)


class StoredStrips:
    """A loader of a strip index's layout stored with a cached layer: each file checked against
    its checksum and memory-mapped when first loaded (``None`` if any fails: the points are
    then sorted again)."""

    def __init__(
        self, files: dict[str, tuple[Path, str]], scalars: dict[str, float | int], n: int
    ) -> None:
        self.files, self.scalars, self.n = files, scalars, n

    def __call__(self) -> tuple[dict[str, float | int], dict[str, np.ndarray]] | None:
        try:
            arrays = {}
            for part, (path, digest) in self.files.items():
                if mismatch(path.parent, {path.name: digest}) is not None:
                    log.warning("cached index %s fails its checksum: rebuilding it", path)
                    return None
                arrays[part] = np.load(path, mmap_mode="r", allow_pickle=False)
            order, key = arrays["order"], arrays["key"]
            if order.shape != (self.n,) or key.shape != (self.n,) or order.dtype != np.intp:
                return None
            if "ecef" in arrays and arrays["ecef"].shape != (3, self.n):
                return None
            return dict(self.scalars), arrays
        except (OSError, ValueError, KeyError) as e:
            log.warning("cached strip index is unreadable (%s): rebuilding it", e)
            return None


class StoredIndex:
    """A loader of an aggregate index's layout stored with a cached layer: checked against its
    checksum when first loaded (``None`` if it fails: the index is then rebuilt)."""

    def __init__(self, path: Path, digest: str, n: int) -> None:
        self.path, self.digest, self.n = path, digest, n

    def __call__(self) -> dict[str, np.ndarray] | None:
        try:
            if mismatch(self.path.parent, {self.path.name: self.digest}) is not None:
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


class ArrowIds:
    """A loader of the ids held in an Arrow column (an object array of strings); picklable,
    so a layer read from the cache can still be sent to Dask workers."""

    def __init__(self, column: Any) -> None:
        self.column = column

    def __call__(self) -> np.ndarray:
        return np.asarray(self.column.to_numpy(zero_copy_only=False), dtype=object)


class FileIds:
    """A loader of a cached point surface's ids: its Parquet file read on first use, after its
    checksum is checked again (the file was checked with the layer; a file changed since is
    never read).  Picklable: pickled with the ids, so a Dask worker never reads the file."""

    def __init__(self, path: Path, digest: str) -> None:
        self.path, self.digest = path, digest
        self.ids: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self.ids is None:
            if mismatch(self.path.parent, {self.path.name: self.digest}) is not None:
                raise DataError(
                    f"cached layer file {self.path} changed after the layer was read (another "
                    "process rebuilt or damaged the cache): run the command again"
                )
            self.ids = column_array(read_table(self.path, ["id"]).column("id"))
        return self.ids

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "digest": self.digest, "ids": self()}


class FilePlaces:
    """A loader of a cached layer's places (``places.parquet``, ``place-polygons.parquet``),
    read when first used -- after their checksums are checked again (as :class:`FileIds`).
    Picklable: pickled with the places."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        names = [n for n in ("places.parquet", "place-polygons.parquet") if (folder / n).exists()]
        self.files = {n: (folder / n, meta["files"][n]) for n in names}
        self.note = meta.get("places_note", {})
        self.complete = meta.get("places_complete", True)
        self.groups_nest = meta.get("places_groups_nest", False)
        self.places: PlaceSet | None = None

    def __call__(self) -> PlaceSet:
        if self.places is not None:
            return self.places
        for path, digest in self.files.values():
            if mismatch(path.parent, {path.name: digest}) is not None:
                raise DataError(
                    f"cached layer file {path} changed after the layer was read (another "
                    "process rebuilt or damaged the cache): run the command again"
                )
        pdf = read_columns(self.files["places.parquet"][0])
        levels = [c.split(":", 1)[1] for c in pdf if c.startswith("code:")]
        places = PlaceSet(
            geoms=shapely.from_wkb(pdf["wkb"]),
            codes={lv: pdf[f"code:{lv}"].astype(object) for lv in levels},
            names={lv: pdf[f"name:{lv}"].astype(object) for lv in levels},
            note=self.note,
            complete=self.complete,
            groups_nest=self.groups_nest,
        )
        if "place-polygons.parquet" in self.files:
            pp = read_columns(self.files["place-polygons.parquet"][0])
            geoms = shapely.from_wkb(pp["wkb"])
            places.polygons = {(lv, c): g for lv, c, g in zip(pp["level"], pp["code"], geoms)}
        self.places = places
        return places

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "places": self()}
