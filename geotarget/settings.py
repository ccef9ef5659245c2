"""Settings that more than one stage reads, in one place: the cache folder, the download mirror,
time-outs, the batch chunk size and the limits on what a user may ask for.

Environment variables are read here and nowhere else:

``GEOTARGET_CACHE_DIR``
    the cache root (downloads, built datasets, built layers, postcode districts); default the
    user cache folder (``platformdirs.user_cache_dir("geotarget")``).
``GEOTARGET_MIRROR``
    a base address that replaces the publishers' hosts (``<mirror>/<host>/<path>``).
``GEOTARGET_SERVE_CONFIG``
    set by ``geotarget serve`` for its worker processes: the server's configuration as JSON.

Each function reads the environment when called, so a change (a test, a notebook cell) is seen.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the environment variable naming the cache root
CACHE_ENV = "GEOTARGET_CACHE_DIR"
#: the environment variable naming the download mirror
MIRROR_ENV = "GEOTARGET_MIRROR"
#: the environment variable handing ``geotarget serve``'s configuration to its worker processes
SERVE_ENV = "GEOTARGET_SERVE_CONFIG"

#: seconds a download may wait for the server before giving up
DOWNLOAD_TIMEOUT_S = 60.0
#: seconds to wait for the online geocoder (Nominatim) before giving up
GEOCODE_TIMEOUT_S = 5.0
#: venues counted (and platform rows evaluated) per chunk in a batch: the unit of checkpointing,
#: progress and Dask tasks
CHUNK_SIZE = 5000
#: the largest radius accepted unless the user raises it (``--max-radius``), in metres
MAX_RADIUS_M = 100_000.0


def cache_dir(
    cache_dir: str | os.PathLike[str] | None = None, *, must_be_folder: bool = False
) -> Path:
    """The cache root: ``cache_dir``, else ``$GEOTARGET_CACHE_DIR``, else the user cache folder.

    Parameters
    ----------
    cache_dir : str, os.PathLike or None
        A folder given by the caller; ``None`` or ``""`` to use the environment or the default.
    must_be_folder : bool, default False
        Refuse a path that is (or lies under) a file: downloads need the folder, while the
        layer cache only warns and builds without it.

    Returns
    -------
    pathlib.Path
        The folder (``~`` expanded; not created here).

    Raises
    ------
    InputError
        With ``must_be_folder``: the path, or a part of it that exists, is a file.
    """
    if cache_dir is not None and str(cache_dir) != "":
        path, what = Path(cache_dir).expanduser(), "--cache-dir"
    elif os.environ.get(CACHE_ENV):
        path, what = Path(os.environ[CACHE_ENV]).expanduser(), f"${CACHE_ENV}"
    else:
        from platformdirs import user_cache_dir

        path, what = Path(user_cache_dir("geotarget")), "the user cache folder"
    return _folder(path, what) if must_be_folder else path


def _folder(path: Path, what: str) -> Path:
    """``path``, unless it (or the nearest part of it that exists) is not a folder."""
    from .errors import InputError

    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    if p.exists() and not p.is_dir():
        where = "" if p == path else f" ({str(p)!r} in it is a file)"
        raise InputError(
            f"{what} {str(path)!r} cannot be a cache folder{where}: give a folder "
            "(it is created if missing)"
        )
    return path


def mirror() -> str | None:
    """The mirror named by ``$GEOTARGET_MIRROR`` (unchecked), or ``None``.

    Returns
    -------
    str or None
        The base address, or ``None`` when the variable is unset or empty.
    """
    return os.environ.get(MIRROR_ENV) or None


def serve_config() -> str | None:
    """The configuration ``geotarget serve`` handed to its worker processes (JSON), or ``None``.

    Returns
    -------
    str or None
        The value of ``$GEOTARGET_SERVE_CONFIG``.
    """
    return os.environ.get(SERVE_ENV) or None
