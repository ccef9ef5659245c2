"""Checking a cached layer's files against the sha256 its ``layer.json`` records -- in full once,
then by what the file system says of them.

Hashing every file on every read costs about 1 ms per MB: 100 ms for the England & Wales layer,
a quarter of a warm ``geotarget analyse``.  So a folder keeps ``verified.json``: for each file
whose bytes were found to match their sha256, its size, modification and status-change times
(nanoseconds), inode and device at that moment.  A later read hashes a file again unless all of
these are unchanged (and its recorded sha256 is the one ``layer.json`` wants), as ``git`` and
``make`` trust a file's status: any write to a file, truncation, replacement, copy or
``chmod`` changes its status-change time or inode, and no program can set the status-change
time back.  Two guards keep this as strict as hashing:

* a file is recorded only when it was last changed more than :data:`RACY_NS` before it was
  hashed (a write within the same tick of a coarse file clock could otherwise leave its times
  unchanged: the "racy git" problem);
* only on POSIX systems, where the status-change time is that; elsewhere every read hashes.

What escapes it is what escapes the operating system: bytes changed on the disk under the file
system (bad sectors, a disk editor).  ``verified.json`` itself needs no checksum: damage to it
can only make a file be hashed again, as a missing record does.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

#: the record of verified files, in a cached layer's folder
STAMP = "verified.json"
#: a file changed less than this long (ns) before it was hashed is hashed again next time
RACY_NS = 3_000_000_000


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _load(folder: Path) -> dict[str, Any]:
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _save(folder: Path, stamp: dict[str, Any]) -> None:
    """Write the record atomically; a folder that cannot be written keeps hashing."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".verified-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(stamp, f, sort_keys=True)
            os.replace(tmp, folder / STAMP)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def mismatch(folder: Path, digests: dict[str, str]) -> str | None:
    """The first file in ``folder`` whose bytes do not have the sha256 ``digests`` gives it.

    Each file is hashed unless ``verified.json`` shows it matched that sha256 and has not
    changed since (see the module's notes); files found to match are recorded.

    Parameters
    ----------
    folder : Path
        A cached layer's folder.
    digests : dict of str to str
        File name -> sha256 (hex), from ``layer.json``.

    Returns
    -------
    str or None
        The name of the first file that fails, or ``None`` when every file matches.

    Raises
    ------
    OSError
        When a file is missing or unreadable.
    """
    from ..files import sha256_of

    trust = os.name == "posix"
    stamp = _load(folder) if trust else {}
    fresh: dict[str, list[Any]] = {}
    for name, digest in digests.items():
        path = folder / name
        now = time.time_ns()
        st = _signature(os.stat(path))
        if trust and stamp.get(name) == [*st, digest]:
            continue
        if sha256_of(path) != digest:
            return name
        changed = max(st[1], st[2])
        # recorded only if unchanged while it was hashed, and changed long enough before it
        if trust and now - changed > RACY_NS and _signature(os.stat(path)) == st:
            fresh[name] = [*st, digest]
    if fresh:
        _save(folder, {**stamp, **fresh})
    return None
