"""What a dataset is (:class:`Dataset`, its official files as :class:`Source`, what a build
wrote as :class:`BuildResult`) and the helpers the builders share (reading zips and CSV headers,
finding columns, writing gzipped CSV)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from ..errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike

log = logging.getLogger(__name__)

#: bump when a build's output changes, so cached builds are redone
BUILD_VERSION = 1
BUILD_MANIFEST = "geotarget-build.json"


# =========================================================================== registry types


@dataclass(frozen=True)
class Source:
    """One official file of a dataset.

    ``url`` and ``filename`` may hold ``{placeholders}`` filled from the dataset's options (see
    :meth:`Dataset.sources_for`).  ``size`` and ``sha256`` are ``None`` until pinned: the first
    download records them in the cache's manifest.  A source that is not ``required`` may fail
    to download; the build then does without it.

    Parameters
    ----------
    key : str
        The source's name within its dataset.
    url : str
        Where it is downloaded from.
    filename : str
        The file's name in the dataset's ``raw/`` folder.
    description : str
        What the file holds.
    landing : str
        A web page about the file.
    size : int or None
        Its size in bytes, once pinned.
    sha256 : str or None
        Its SHA-256, once pinned.
    required : bool
        Whether the build needs it.
    """

    key: str
    url: str
    filename: str
    description: str
    landing: str = ""
    size: int | None = None
    sha256: str | None = None
    required: bool = True


@dataclass
class BuildResult:
    """What a build wrote (paths relative to the output folder) and what it could not do.

    ``summary`` holds counts worth reporting (zones, population totals), JSON-serialisable.

    Parameters
    ----------
    files : list of str
        The files written, relative to the output folder.
    warnings : list of str
        What the build could not do.
    summary : dict
        Counts worth reporting.
    """

    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """A census dataset geotarget can download and build: who publishes it, its files, its build.

    ``builder(raw_dir, out_dir, area=...)`` turns the downloaded :class:`Source` files into the
    layout ``layout`` describes; a ``builtin`` dataset ships inside the package and has none.

    Parameters
    ----------
    name : str
        The dataset's name (``geotarget data fetch NAME``).
    title : str
        Its title.
    publisher : str
        Who publishes it.
    licence : str
        Its licence.
    attribution : tuple of str
        The attribution its licence asks for.
    vintage : str
        When its figures are of.
    description : str
        What it holds, in words.
    sources : tuple of Source
        Its files.
    builder : callable, optional
        ``builder(raw_dir, out_dir, area=...)``, returning a :class:`BuildResult`.
    area_help : str, optional
        How ``area`` is given; None when the dataset takes no options.
    default_area : str, optional
        The area built when none is given.
    usage : str
        How the built folder is used (a command, ``{path}`` for the folder).
    builtin : bool
        Whether it ships inside the package.
    layout : tuple of str
        The built folder's files, one line each.
    sources_fn : callable, optional
        The sources for an area, when they depend on it (US states); default: ``sources``.
    area_check : callable, optional
        Rejects a malformed ``area`` (InputError) before anything is downloaded.
    """

    name: str
    title: str
    publisher: str
    licence: str
    attribution: tuple[str, ...]
    vintage: str
    description: str
    sources: tuple[Source, ...] = ()
    builder: Callable[..., BuildResult] | None = None
    #: how ``area`` is given; ``None`` when the dataset takes no options
    area_help: str | None = None
    default_area: str | None = None
    #: how the built folder is used
    usage: str = ""
    builtin: bool = False
    layout: tuple[str, ...] = ()
    #: the sources for an area, when they depend on it (US states); default: ``sources``
    sources_fn: Callable[[str | None], list[Source]] | None = None
    #: rejects a malformed ``area`` (InputError) before anything is downloaded
    area_check: Callable[[str | None], object] | None = None

    def sources_for(self, area: str | None = None, template: bool = False) -> list[Source]:
        """The sources with their placeholders filled for ``area``.

        Parameters
        ----------
        area : str or None
            The area option (see ``area_help``); ``None`` for the dataset's default.
        template : bool
            Return the sources with their placeholders unfilled.

        Returns
        -------
        list of Source
        """
        if self.sources_fn is not None and not template:
            return self.sources_fn(area)
        return list(self.sources)

    def build(self, raw_dir: str | Path, out_dir: str | Path, **options: Any) -> BuildResult:
        """Turn the downloads in ``raw_dir`` into geotarget's layout in ``out_dir``.

        Parameters
        ----------
        raw_dir : str or Path
            The folder holding the downloaded sources.
        out_dir : str or Path
            The folder to build into (created if needed).
        **options
            Passed to the builder, e.g. ``area``.

        Returns
        -------
        BuildResult
            The files written and the warnings raised.
        """
        if self.builder is None:
            raise DataError(f"{self.name} is built into geotarget: there is nothing to build")
        return self.builder(Path(raw_dir), Path(out_dir), **options)

    def check_area(self, area: str | None) -> None:
        """Reject a malformed ``area`` before anything is downloaded (InputError)."""
        if self.area_check is not None:
            self.area_check(area)

    def area_slug(self, area: str | None) -> str:
        """The folder name of a build for ``area`` (``None``: the default area)."""
        return _slug(self.name, area if area is not None else self.default_area)


def _slug(name: str, area: str | None) -> str:
    """A folder-name form of ``area``: 'london', 'E09000001-E09000033', 'TN-157', ..."""
    if area is None:
        return "default"
    a = area.strip()
    if re.fullmatch(r"[A-Za-z]{3,20}", a):  # a keyword: london, all, england, ...
        return a.lower()
    tokens = [t for t in re.split(r"[,;\s]+", a) if t]
    s = "-".join(t.replace(":", "-") for t in tokens)
    s = s.upper() if re.search(r"[A-Za-z]", s) else s
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", s):
        return s
    return "area-" + hashlib.sha256(",".join(sorted(tokens)).encode()).hexdigest()[:12]


# =========================================================================== helpers


def _raw(raw_dir: Path, filename: str, what: str, name: str) -> Path:
    """``raw_dir / filename``, or a DataError saying how to download it."""
    p = raw_dir / filename
    if not p.exists():
        raise DataError(
            f"{filename} ({what}) is missing from {str(raw_dir)!r}: run "
            f"'geotarget data fetch {name}' to download it"
        )
    return p


@overload
def _member(
    zf: zipfile.ZipFile, pattern: str, what: str, zip_path: Path, required: Literal[True] = ...
) -> str: ...
@overload
def _member(
    zf: zipfile.ZipFile, pattern: str, what: str, zip_path: Path, required: bool
) -> str | None: ...
def _member(
    zf: zipfile.ZipFile, pattern: str, what: str, zip_path: Path, required: bool = True
) -> str | None:
    """The shortest member of ``zf`` matching ``pattern``; ``None`` or DataError when none."""
    rx = re.compile(pattern, re.IGNORECASE)
    names = sorted((n for n in zf.namelist() if rx.search(n)), key=lambda n: (len(n), n))
    if names:
        return names[0]
    if not required:
        return None
    some = ", ".join(zf.namelist()[:6]) or "nothing"
    raise DataError(
        f"{zip_path.name} holds no {what} (a file matching {pattern!r}; it holds "
        f"{some}): is it the publisher's original download? Fetch again with --force"
    )


#: limits on a downloaded zip, checked before any member is read: total uncompressed size,
#: compression ratio of a member larger than 1 MiB (census CSVs compress 5-20 times; a zip bomb
#: thousands of times) and number of members
ZIP_MAX_TOTAL = 16 << 30
ZIP_MAX_RATIO = 100
ZIP_MAX_MEMBERS = 10_000


def _check_zip(zf: zipfile.ZipFile, path: Path, what: str) -> None:
    """Refuse a zip whose members would expand beyond the limits or name a path outside."""
    infos = zf.infolist()
    advice = "is it the publisher's original download? Delete it and fetch again with --force"
    if len(infos) > ZIP_MAX_MEMBERS:
        raise DataError(
            f"{str(path)!r} ({what}) has {len(infos):,} members, more than the "
            f"{ZIP_MAX_MEMBERS:,} allowed: {advice}"
        )
    total = sum(i.file_size for i in infos)
    if total > ZIP_MAX_TOTAL:
        raise DataError(
            f"{str(path)!r} ({what}) would expand to {total / 2**30:,.1f} GiB, more than the "
            f"{ZIP_MAX_TOTAL >> 30} GiB allowed: {advice}"
        )
    for i in infos:
        name = i.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or re.match(r"[A-Za-z]:", name):
            raise DataError(
                f"{str(path)!r} ({what}) has a member outside its folder ({i.filename!r}): {advice}"
            )
        if i.file_size > (1 << 20) and i.file_size > ZIP_MAX_RATIO * max(i.compress_size, 1):
            raise DataError(
                f"{str(path)!r} ({what}): member {i.filename!r} would expand "
                f"{i.file_size / max(i.compress_size, 1):,.0f} times (to "
                f"{i.file_size / 1e6:,.0f} MB), more than the {ZIP_MAX_RATIO} allowed: {advice}"
            )


def _open_zip(path: Path, what: str) -> zipfile.ZipFile:
    """``path`` opened as a zip file (its sizes and names checked by :func:`_check_zip`), or a
    DataError saying to fetch it again."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(
            f"{str(path)!r} ({what}) is not a readable zip file ({e}): fetch again with --force"
        ) from e
    try:
        _check_zip(zf, path, what)
    except DataError:
        zf.close()
        raise
    return zf


def _header(f: IO[bytes]) -> list[str]:
    """The first CSV row of the binary file ``f``."""
    text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
    return next(csv.reader(text))


def _col(columns: Iterable[str], test: Callable[[str], bool], what: str, where: str) -> str:
    """The first of ``columns`` whose stripped lower-case name passes ``test``, else DataError."""
    for c in columns:
        if test(c.strip().lower()):
            return c
    raise DataError(
        f"{where} has no {what} column (columns: {', '.join(list(columns)[:12])}): "
        "is it the publisher's original file? Fetch again with --force"
    )


def _read_csv_upper(path: Path, what: str) -> pd.DataFrame:
    """A CSV as text (no NA parsing) with stripped upper-case column names.

    A file that cannot be read is a DataError ``cannot read {what} (...)``.
    """
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {what} ({e}): fetch again with --force") from e
    df.columns = [str(c).strip().lstrip("\ufeff").upper() for c in df.columns]
    return df


def _write_csv_gz(df: pd.DataFrame, path: Path) -> None:
    """Gzip with a fixed timestamp, so the same input gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        df.to_csv(text, index=False, lineterminator="\n")
        text.flush()
        text.detach()


def _pct_text(part: ArrayLike, total: ArrayLike) -> np.ndarray:
    """100 * part / total to 0.1, halves rounded up, '.0' dropped (as the published TS001)."""
    import numpy as np

    p = np.asarray(part, dtype=np.int64)
    t = np.asarray(total, dtype=np.int64)
    out = np.full(len(p), "", dtype=object)
    ok = t > 0
    q = (2 * p[ok] * 1000 + t[ok]) // (2 * t[ok])
    out[ok] = [f"{v // 10}" if v % 10 == 0 else f"{v // 10}.{v % 10}" for v in q.tolist()]
    return out
