"""Downloading publishers' files into a local cache, safely.

* A file is streamed to a temporary file in its destination folder and moved into place with
  :func:`os.replace` only once it is complete and checked, so an interrupted download never leaves
  a file that is later read.
* Its size and sha256 are recorded in ``manifest.json`` (next to the files) on first download and
  verified every time the cached file is used.  A cached file that no longer matches is deleted
  and downloaded once more; if the new copy still does not match,
  :class:`~geotarget.errors.DataError` names the file, the expected and the actual hash.
* Every failure (HTTP 404/500, connection refused, time-out, a transfer cut short) is one
  :class:`~geotarget.errors.DataError` line that repeats the address and says what to do.

Only the standard library talks to the network (``urllib.request``).

Where files go: ``cache_dir`` argument, else ``$GEOTARGET_CACHE_DIR``, else
``platformdirs.user_cache_dir("geotarget")``.  Where they come from: the publisher's address,
or -- with a ``mirror`` argument or ``$GEOTARGET_MIRROR`` -- ``<mirror>/<host>/<path>`` (the
publisher's host name becomes the first folder, as ``wget -x`` lays a mirror out; ``file://``
mirrors work too).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.response
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .. import settings
from ..errors import DataError
from ..files import atomic_path, sha256_of

log = logging.getLogger(__name__)

#: seconds without any progress (connecting, or between two reads) before giving up
DEFAULT_TIMEOUT = settings.DOWNLOAD_TIMEOUT_S
CHUNK = 1 << 16
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1

#: a progress callback: (file name, bytes so far, total bytes or ``None`` when unknown)
Progress = Callable[[str, int, "int | None"], None]


def _user_agent() -> str:
    """The User-Agent header of geotarget's downloads."""
    from .._version import __version__

    return f"geotarget/{__version__} (Python urllib; census data download)"


def mirror_base(mirror: str | None = None) -> str | None:
    """The mirror in use: the ``mirror`` argument, else ``$GEOTARGET_MIRROR``, else ``None``.

    Parameters
    ----------
    mirror : str or None
        An ``http://``, ``https://`` or ``file://`` address.

    Returns
    -------
    str or None
        The mirror's address without a trailing ``/``.

    Raises
    ------
    DataError
        When the address has another scheme.
    """
    m = mirror if mirror else settings.mirror()
    if m is None:
        return None
    parts = urllib.parse.urlsplit(m)
    if parts.scheme not in ("http", "https", "file"):
        raise DataError(
            f"mirror {m!r} is not an http://, https:// or file:// address: give e.g. "
            "--mirror http://127.0.0.1:8000 or unset GEOTARGET_MIRROR"
        )
    return m.rstrip("/")


def resolve_url(url: str, mirror: str | None = None) -> str:
    """``url`` itself, or its place in the mirror: ``<mirror>/<host>/<path>[?query]``.

    Parameters
    ----------
    url : str
        The publisher's address.
    mirror : str or None
        The mirror (see :func:`mirror_base`); ``None`` for ``$GEOTARGET_MIRROR``, if set.

    Returns
    -------
    str
        The address to download from.
    """
    base = mirror_base(mirror)
    if base is None:
        return url
    p = urllib.parse.urlsplit(url)
    out = f"{base}/{p.netloc}{p.path}"
    return f"{out}?{p.query}" if p.query else out


# --------------------------------------------------------------------------- manifest


class Manifest:
    """``manifest.json`` of a download folder: file name -> url, size, sha256, when.

    Parameters
    ----------
    folder : Path
        The download folder; its manifest is read if it exists.
    anew : bool, default False
        Start from an empty record when the manifest cannot be read (``--force``, which
        downloads and records every file again) instead of raising.

    Raises
    ------
    DataError
        When the manifest exists but cannot be read.
    """

    def __init__(self, folder: Path, *, anew: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST
        self.files: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.files = dict(data["files"])
                if not all(isinstance(v, dict) for v in self.files.values()):
                    raise TypeError("a file's record is not a table")
            except (ValueError, KeyError, TypeError, OSError) as e:
                if anew:  # --force: every file is downloaded and recorded again
                    self.files = {}
                    return
                raise DataError(
                    f"download manifest {str(self.path)!r} is unreadable ({e}): delete "
                    "it, or fetch again with --force to download and record every "
                    "file anew"
                ) from e

    def get(self, name: str) -> dict[str, Any] | None:
        """The record of the file ``name`` (url, size, sha256, downloaded), or ``None``."""
        return self.files.get(name)

    def record(self, name: str, *, url: str, size: int, sha256: str) -> None:
        """Record the file ``name`` as downloaded now from ``url`` and save the manifest."""
        self.files[name] = {
            "url": url,
            "size": size,
            "sha256": sha256,
            "downloaded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.save()

    def forget(self, name: str) -> None:
        """Drop the record of the file ``name`` (saving the manifest if there was one)."""
        if self.files.pop(name, None) is not None:
            self.save()

    def save(self) -> None:
        """Write the manifest atomically (a temporary file moved into place)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"format": MANIFEST_FORMAT, "files": self.files}, indent=1, sort_keys=True
        )
        with atomic_path(self.path) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- fetching


@dataclass
class Fetched:
    """One file in the cache: where, whether it was downloaded now, and its checksum."""

    path: Path
    downloaded: bool
    size: int
    sha256: str
    url: str


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _host(url: str) -> str:
    """The host (and port) of ``url``, for messages."""
    return urllib.parse.urlsplit(url).netloc or url


def format_size(n: int) -> str:
    """``n`` bytes for people: ``12.3 MB`` from 100 kB, else ``12,345 bytes``."""
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _open(url: str, timeout: float) -> http.client.HTTPResponse | urllib.response.addinfourl:
    """The open response for ``url``; every failure is one DataError line saying what to do."""
    req = urllib.request.Request(
        url, headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    )
    hint = "check your connection, or use --mirror / GEOTARGET_MIRROR to fetch from a copy"
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 404:
            raise DataError(
                f"{url} was not found (HTTP 404): the publisher may have moved the "
                "file; check the dataset's page ('geotarget data info NAME') or use "
                "--mirror"
            ) from None
        if e.code >= 500:
            raise DataError(
                f"the server failed on {url} (HTTP {e.code} {e.reason}): try again "
                "later, or use --mirror"
            ) from None
        raise DataError(f"{url} was refused (HTTP {e.code} {e.reason}): {hint}") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, ConnectionRefusedError):
            raise DataError(
                f"cannot connect to {_host(url)} (connection refused) for {url}: {hint}"
            ) from None
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise DataError(
                f"{_host(url)} did not answer within {timeout:g} s for {url}: "
                f"{hint}, or raise --timeout"
            ) from None
        if isinstance(reason, socket.gaierror):
            raise DataError(f"cannot resolve {_host(url)} (offline?) for {url}: {hint}") from None
        if isinstance(reason, ssl.SSLError):
            raise DataError(
                f"secure connection to {_host(url)} failed ({reason}) for {url}: {hint}"
            ) from None
        if isinstance(reason, FileNotFoundError):
            raise DataError(
                f"{url} does not exist in the mirror: copy the publisher's file "
                "there, or unset --mirror / GEOTARGET_MIRROR"
            ) from None
        raise DataError(f"cannot download {url} ({reason}): {hint}") from None
    except TimeoutError:
        raise DataError(
            f"{_host(url)} did not answer within {timeout:g} s for {url}: {hint}, "
            "or raise --timeout"
        ) from None
    except (http.client.HTTPException, ConnectionError, OSError) as e:
        raise DataError(f"cannot download {url} ({type(e).__name__}: {e}): {hint}") from None


def _download_to(
    url: str, out: IO[bytes], timeout: float, name: str, progress: Progress | None
) -> tuple[int, str]:
    """Stream ``url`` into the open binary file ``out``; return (bytes, sha256)."""
    resp = _open(url, timeout)
    with resp:
        status = getattr(resp, "status", None)
        if status == 202:  # ArcGIS Hub: "the export is being prepared"
            raise DataError(
                f"{url} is still being prepared by the server (HTTP 202): try again "
                "in a few minutes"
            )
        length = resp.headers.get("Content-Length")
        try:
            total = int(length) if length is not None else None
        except ValueError:
            total = None
        h = hashlib.sha256()
        got = 0
        if progress:
            progress(name, 0, total)
        while True:
            try:
                chunk = resp.read(CHUNK)
            except http.client.IncompleteRead as e:
                got += len(e.partial)
                of = f" of {total:,}" if total is not None else ""
                raise DataError(
                    f"the transfer of {url} was cut short after {got:,}{of} bytes "
                    "(truncated): try again; nothing was kept"
                ) from None
            except TimeoutError:
                raise DataError(
                    f"{_host(url)} stopped sending {url} for {timeout:g} s after "
                    f"{got:,} bytes: try again (or raise --timeout); nothing was "
                    "kept"
                ) from None
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                raise DataError(
                    f"the connection to {_host(url)} was lost after {got:,} bytes of "
                    f"{url} ({type(e).__name__}): try again; nothing was "
                    "kept"
                ) from None
            if not chunk:
                break
            out.write(chunk)
            h.update(chunk)
            got += len(chunk)
            if progress:
                progress(name, got, total)
        if total is not None and got != total:
            raise DataError(
                f"the transfer of {url} was cut short: {got:,} of {total:,} bytes "
                "arrived (truncated): try again; nothing was kept"
            )
        return got, h.hexdigest()


def _download_file(
    url: str, dest: Path, timeout: float, progress: Progress | None
) -> tuple[int, str, Path]:
    """Download ``url`` to a temporary file next to ``dest``; return (size, sha256, temp path).

    The caller moves the temporary file into place (``os.replace``) once it has checked it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size, digest = _download_to(url, out, timeout, dest.name, progress)
            out.flush()
            os.fsync(out.fileno())
        return size, digest, tmp
    except BaseException:
        _unlink(tmp)
        raise


def fetch_file(
    url: str,
    dest_dir: str | os.PathLike[str],
    filename: str,
    *,
    sha256: str | None = None,
    size: int | None = None,
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    force: bool = False,
    progress: Progress | None = None,
) -> Fetched:
    """The file ``dest_dir/filename``, downloaded from ``url`` unless a verified copy is cached.

    Parameters
    ----------
    url : str
        The publisher's address (see :func:`resolve_url` for the mirror).
    dest_dir : str or os.PathLike
        The download folder, with its ``manifest.json``.
    filename : str
        The file's name in ``dest_dir``.
    sha256, size : str or None, int or None
        Values pinned by the registry (``None`` until known); otherwise the values recorded in
        the manifest on first download are the reference.
    mirror : str or None
        See :func:`mirror_base`.
    timeout : float
        Seconds without progress before giving up.
    force : bool
        Download again (the cached copy stays until the new one is whole) and record the new
        checksum.
    progress : Progress or None
        Called as the download goes.

    Returns
    -------
    Fetched
        Where the file is, whether it was downloaded now, its size and sha256.

    Raises
    ------
    DataError
        One line naming the address and what to do: HTTP errors, no connection, time-outs,
        truncated transfers, checksum mismatches.
    """
    dest_dir = Path(dest_dir)
    dest = dest_dir / filename
    manifest = Manifest(dest_dir, anew=force)
    entry = None if force else manifest.get(filename)
    want_sha = sha256 or (entry or {}).get("sha256")
    want_size = size if size is not None else (entry or {}).get("size")
    real_url = resolve_url(url, mirror)

    if dest.exists() and not force:
        actual_size = dest.stat().st_size
        actual_sha = sha256_of(dest)
        if want_sha is None:  # complete (only ever moved in whole) but not yet recorded
            manifest.record(
                filename,
                url=(entry or {}).get("url", real_url),
                size=actual_size,
                sha256=actual_sha,
            )
            return Fetched(dest, False, actual_size, actual_sha, real_url)
        if actual_sha == want_sha and (want_size is None or actual_size == want_size):
            return Fetched(dest, False, actual_size, actual_sha, real_url)
        log.warning(
            "cached %s does not match its recorded checksum (sha256 %s, expected %s): "
            "downloading it again",
            dest,
            actual_sha,
            want_sha,
        )
        _unlink(dest)
    # with force, a cached copy stays in place until the new one has arrived whole

    got_size, got_sha, tmp = _download_file(real_url, dest, timeout, progress)
    try:
        if want_sha is not None and got_sha != want_sha:
            raise DataError(
                f"{filename} downloaded from {real_url} has sha256 {got_sha}, expected "
                f"{want_sha}: the file was deleted; if the publisher changed it, "
                "fetch again with --force to record the new checksum"
            )
        if size is not None and got_size != size:
            raise DataError(
                f"{filename} downloaded from {real_url} is {got_size:,} bytes, "
                f"expected {size:,}: the file was deleted; try again"
            )
        os.replace(tmp, dest)
    except BaseException:
        _unlink(tmp)
        raise
    manifest.record(filename, url=real_url, size=got_size, sha256=got_sha)
    log.info("downloaded %s (%s, sha256 %s)", dest, format_size(got_size), got_sha)
    return Fetched(dest, True, got_size, got_sha, real_url)


def cached_entry(dest_dir: str | os.PathLike[str], filename: str) -> dict[str, Any] | None:
    """The manifest record of a cached file (url, size, sha256, downloaded), or ``None``.

    An unreadable manifest gives ``None`` too.
    """
    try:
        return Manifest(Path(dest_dir)).get(filename)
    except DataError:
        return None
