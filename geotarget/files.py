"""Writing files so that a reader never sees half of one: every output, cache entry and
checkpoint goes to a temporary name beside its target and is renamed into place when complete.

* :func:`atomic_path` -- the one primitive: a temporary path to write, moved into place on
  success (never over an existing file unless asked), removed on any failure;
* :func:`write_output` -- bytes or text to a user's output file, with the one-line errors;
* :func:`swap_dir` -- a finished folder swapped in for an old one;
* :func:`sha256_of` -- the checksum every cache records.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError


def _exists_error(p: Path) -> OutputError:
    return OutputError(
        f"{p} exists already: give --overwrite (overwrite=True) to replace it, or another file name"
    )


def _publish(tmp: Path, final: Path, overwrite: bool) -> None:
    """Move ``tmp`` to ``final``; without ``overwrite`` an existing ``final`` is never replaced
    (a hard link, which fails if the name has been taken; a check then a rename where the file
    system has no hard links)."""
    if overwrite:
        os.replace(tmp, final)
        return
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise _exists_error(final) from None
    except OSError:
        if final.exists():
            raise _exists_error(final) from None
        os.replace(tmp, final)
    else:
        tmp.unlink()


@contextmanager
def atomic_path(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    suffix: str | None = None,
    mode: int | None = None,
) -> Iterator[Path]:
    """A temporary file path beside ``path`` for the caller to write, moved to ``path`` when the
    block ends normally.

    The temporary file is in the same folder, so the rename is atomic.  It is created empty and
    exists when the block starts; it is removed if the block raises anything or the move fails.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    overwrite : bool, default True
        Replace an existing ``path``; without it an existing file is never replaced, even one
        that appears while the block runs.
    suffix : str or None
        The temporary file's suffix; ``path``'s own by default (writers that pick a format by
        suffix need it).
    mode : int or None
        The permissions of the file; by default what a new file gets under the umask.

    Yields
    ------
    pathlib.Path
        The temporary path to write.

    Raises
    ------
    OutputError
        ``overwrite`` is false and ``path`` exists when the block ends (nothing is moved).
    """
    final = Path(path)
    parent = final.parent if str(final.parent) else Path(".")
    fd, name = tempfile.mkstemp(
        dir=parent, prefix=f".{final.name}.", suffix=final.suffix if suffix is None else suffix
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        if tmp.exists():
            os.chmod(tmp, mode)
        _publish(tmp, final, overwrite)
    finally:
        tmp.unlink(missing_ok=True)


def write_output(
    path: str | os.PathLike[str], data: str | bytes, *, overwrite: bool = False
) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, flushed to
    disk, then renamed over the target.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    data : str or bytes
        What to write (text as UTF-8).
    overwrite : bool, default False
        Replace an existing file; without it an existing file is never replaced.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        ``path`` is a folder, its folder does not exist, it exists and ``overwrite`` is false,
        or the write fails (a read-only folder, a full disk...): always one line that says what
        to do.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise OutputError(
            f"cannot write {p}: it is a folder; give a file name such as {p / 'report.html'}"
        )
    if not parent.is_dir():
        raise OutputError(f"cannot write {p}: folder {parent} does not exist")
    if p.exists() and not overwrite:
        raise _exists_error(p)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with atomic_path(p, overwrite=overwrite, suffix=".tmp") as tmp, open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write {p}: {e.strerror or e}") from None
    return p


def swap_dir(tmp: Path, final: Path) -> None:
    """Replace the folder ``final`` by ``tmp`` (two renames; the old one is removed after).

    Parameters
    ----------
    tmp : pathlib.Path
        The finished folder, on the same file system as ``final``.
    final : pathlib.Path
        Where it goes; an existing folder there is moved aside, then deleted.
    """
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as hex.

    Parameters
    ----------
    path : str or os.PathLike
        The file, read in 1 MiB blocks.

    Returns
    -------
    str
        64 lower-case hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
