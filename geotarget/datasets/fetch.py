"""Downloading and building a dataset: the verified cache first, then the build into
``<cache>/datasets/<name>/built/<area>/``."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import DataError
from ..files import swap_dir
from . import download
from .base import BUILD_MANIFEST, BUILD_VERSION, Dataset
from .registry import get

log = logging.getLogger(__name__)


@dataclass
class FetchReport:
    """What :func:`fetch` did.

    Where the built folder is, which files it downloaded, reused or (optional ones) skipped,
    whether it rebuilt, the build's warnings and summary; for a built-in dataset only a
    ``message``.

    Parameters
    ----------
    dataset : str
        The dataset's name.
    path : pathlib.Path or None
        The built folder (None for a built-in dataset).
    area : str or None
        The area built.
    downloaded, reused, skipped : list of str
        The files downloaded, found already downloaded, and (optional ones) not downloaded.
    rebuilt : bool
        Whether the build ran (rather than an earlier build being kept).
    warnings : list of str
        What the build could not do.
    summary : dict
        The build's counts worth reporting (:class:`~geotarget.datasets.base.BuildResult`).
    message : str
        For a built-in dataset: that nothing is downloaded, and how to use it.
    """

    dataset: str
    path: Path | None
    area: str | None
    downloaded: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rebuilt: bool = False
    warnings: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def check_area(ds: Dataset, area: str | None) -> None:
    """Reject a malformed ``area`` before anything is downloaded (InputError).

    Parameters
    ----------
    ds : Dataset
        The dataset.
    area : str or None
        The area asked for (None: the dataset's default).

    Raises
    ------
    InputError
        When ``area`` is malformed for the dataset.
    """
    ds.check_area(area)


def dataset_dir(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder of dataset ``name`` (``raw/`` downloads, ``built/<area>/`` builds).

    Parameters
    ----------
    name : str
        The dataset's name.
    cache_dir : str or os.PathLike, optional
        The cache folder (default: ``$GEOTARGET_CACHE_DIR``, else the user cache folder;
        see :func:`geotarget.settings.cache_dir`).

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    return settings.cache_dir(cache_dir, must_be_folder=True) / "datasets" / name


def fetch(
    name: str,
    *,
    area: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    force: bool = False,
    timeout: float = download.DEFAULT_TIMEOUT,
    say: Callable[[str], None] | None = None,
    progress: download.Progress | None = None,
) -> FetchReport:
    """Download ``name``'s sources (or reuse the verified cache) and build its layout.

    Parameters
    ----------
    name : str
        A dataset of the registry (``geotarget data list``).
    area : str or None
        The dataset's area option; ``None`` for its default.
    cache_dir : str, os.PathLike or None
        The cache root (see :func:`geotarget.settings.cache_dir`).
    mirror : str or None
        Download from this mirror (see :func:`.download.mirror_base`).
    force : bool
        Download and build again.
    timeout : float
        Seconds without progress before a download gives up.
    say : callable or None
        Receives one-line progress messages (the command line prints them on stderr).
    progress : Progress or None
        Receives download progress.

    Returns
    -------
    FetchReport
        Where the built folder is (``report.path``) and what was done.
    """
    say = say or log.info
    ds = get(name)
    if ds.builtin:
        return FetchReport(
            name,
            None,
            None,
            message=(
                f"{name} is built into geotarget: nothing to download. Use it with --layer {name} "
                "(or no option: it is chosen for venues it covers)"
            ),
        )
    area = area if area is not None else ds.default_area
    check_area(ds, area)  # before any download
    sources = ds.sources_for(area)
    root = dataset_dir(name, cache_dir)
    raw = root / "raw"
    rep = FetchReport(name, None, area)
    shas: dict[str, str] = {}
    for s in sources:
        real = download.resolve_url(s.url, mirror)
        try:
            got = download.fetch_file(
                s.url,
                raw,
                s.filename,
                sha256=s.sha256,
                size=s.size,
                mirror=mirror,
                timeout=timeout,
                force=force,
                progress=progress,
            )
        except DataError as e:
            if s.required:
                raise
            rep.skipped.append(s.filename)
            rep.warnings.append(f"optional {s.filename} not downloaded: {e}")
            say(f"skipped optional {s.filename}: {e}")
            continue
        shas[s.filename] = got.sha256
        if got.downloaded:
            rep.downloaded.append(s.filename)
            say(
                f"downloaded {s.filename} from {real} ({download.format_size(got.size)}, sha256 "
                f"{got.sha256[:12]}...)"
            )
        else:
            rep.reused.append(s.filename)
            say(f"using cached {s.filename} (sha256 verified)")
    slug = ds.area_slug(area)
    final = root / "built" / slug
    stamp = {
        "dataset": name,
        "area": area,
        "build_version": BUILD_VERSION,
        "sources": {k: shas[k] for k in sorted(shas)},
    }
    bm = final / BUILD_MANIFEST
    if bm.exists() and not force:
        try:
            old = json.loads(bm.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            old = {}
        if all(old.get(k) == v for k, v in stamp.items()) and all(
            (final / f).exists() for f in old.get("files", [])
        ):
            rep.path = final
            rep.warnings += old.get("warnings", [])
            rep.summary = old.get("summary", {})
            say(f"{name} ({area}) is already built from these files")
            return rep
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{slug}.", suffix=".building", dir=final.parent))
    try:
        say(f"building {name} ({area}) ...")
        result = ds.build(raw, tmp, area=area)
        meta = dict(
            stamp,
            title=ds.title,
            licence=ds.licence,
            attribution=list(ds.attribution),
            source_urls={
                s.filename: download.resolve_url(s.url, mirror)
                for s in sources
                if s.filename in shas
            },
            built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            files=result.files,
            warnings=result.warnings,
            summary=result.summary,
        )
        (tmp / BUILD_MANIFEST).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        swap_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rep.path = final
    rep.rebuilt = True
    rep.warnings += result.warnings
    rep.summary = result.summary
    return rep


def cache_status(name: str, cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Recorded downloads (manifest entries) and built areas of a dataset in the cache.

    Parameters
    ----------
    name : str
        The dataset's name.
    cache_dir : str or os.PathLike, optional
        The cache folder (default: ``$GEOTARGET_CACHE_DIR``, else the user cache folder;
        see :func:`geotarget.settings.cache_dir`).

    Returns
    -------
    dict
        ``root`` (the dataset's folder), ``files`` (manifest records by file name) and
        ``built`` (the built areas' folder names).
    """
    root = dataset_dir(name, cache_dir)
    files = {}
    mf = root / "raw" / download.MANIFEST
    if mf.exists():
        try:
            files = json.loads(mf.read_text(encoding="utf-8")).get("files", {})
        except (ValueError, OSError):
            files = {}
    built = (
        sorted(p.name for p in (root / "built").glob("*") if (p / BUILD_MANIFEST).exists())
        if (root / "built").is_dir()
        else []
    )
    return {"root": root, "files": files, "built": built}
