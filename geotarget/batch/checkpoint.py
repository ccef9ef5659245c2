"""Checkpoints of a batch: the finished chunks of an interrupted run, so ``--resume`` does not
compute them again -- and only for the run they belong to.

A checkpoint is a folder ``<output>.checkpoint.parquet/`` of append-only parts
(``part-00000.parquet``, ...), each written atomically when its chunk finishes: a chunk costs
one small write however far the run has got (the whole table is never rewritten), and a crash
loses at most the chunk being written.  ``pandas.read_parquet`` reads the folder as one table
(it skips names starting with ``_``).

Beside the parts:

* ``_manifest.json`` -- what the checkpoint belongs to (the *fingerprint*: the venue file's
  SHA-256 and every option that changes a row, including the layer and its stamp) and the
  outputs this run has already published (name and SHA-256), so that ``--resume`` may replace
  its own outputs and nobody else's;
* ``_part-NNNNN.sha256`` -- each part's checksum, written *before* the part is renamed into
  place.  A part without one, or whose bytes no longer match it, is discarded (its rows are
  counted again) and reported in :attr:`Checkpoint.discarded`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError, OutputError
from ..files import atomic_path, sha256_of

_PART = re.compile(r"part-(\d{5,})\.parquet$")
MANIFEST = "_manifest.json"
FORMAT = 1


class CheckpointUnreadable(Exception):
    """A checkpoint exists but cannot be read (damaged, or not one of ours)."""


class CheckpointMismatch(InputError):
    """A checkpoint that was made by a run with other inputs or options."""


def path_stamp(path: str | os.PathLike[str]) -> str:
    """What identifies the contents of an input: a file's SHA-256; for a folder, the SHA-256 of
    its files' names, sizes and modification times (a census folder is too large to hash on
    every run).

    Parameters
    ----------
    path : str or os.PathLike
        An existing file or folder.

    Returns
    -------
    str
        ``"sha256:<hex>"`` for a file, ``"tree:<hex>"`` for a folder.
    """
    p = Path(path)
    if p.is_file():
        return "sha256:" + sha256_of(p)
    h = hashlib.sha256()
    for f in sorted(q for q in p.rglob("*") if q.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(p).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "tree:" + h.hexdigest()


def _describe(key: str, old: Any, new: Any) -> str:
    if key == "venues":
        return "the venue file's contents differ"
    return f"{key} was {old!r}, now {new!r}"


class Checkpoint:
    """The checkpoint beside ``output`` (``<output>.checkpoint.parquet``).

    Parameters
    ----------
    output : str or os.PathLike
        The output the checkpoint belongs to.

    Attributes
    ----------
    path : pathlib.Path
        The checkpoint folder.
    discarded : list of str
        Parts that :meth:`read` threw away (no checksum, or bytes that no longer match it).
    """

    def __init__(self, output: str | os.PathLike[str]) -> None:
        out = Path(output)
        self.path = out.with_name(out.name + ".checkpoint.parquet")
        self._next: int | None = None
        self.discarded: list[str] = []

    def exists(self) -> bool:
        """Whether a checkpoint (of any kind) is there."""
        return self.path.exists()

    def _parts(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        parts = [p for p in self.path.iterdir() if _PART.fullmatch(p.name)]
        return sorted(parts, key=lambda p: int(_PART.fullmatch(p.name).group(1)))  # type: ignore[union-attr]

    # -- the manifest ------------------------------------------------------------------------
    def _manifest(self) -> dict[str, Any]:
        """The manifest; :class:`CheckpointUnreadable` when it is missing or damaged."""
        m = self.path / MANIFEST
        try:
            data = json.loads(m.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointUnreadable(
                f"no {MANIFEST}: not made by this version, or interrupted while starting"
            ) from None
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise CheckpointUnreadable(f"{MANIFEST} is damaged ({e})") from None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(data.get("fingerprint"), dict)
            or not isinstance(data.get("outputs"), dict)
        ):
            raise CheckpointUnreadable(f"{MANIFEST} is not a geotarget checkpoint manifest")
        return data

    def _write_manifest(self, data: dict[str, Any]) -> None:
        try:
            with atomic_path(self.path / MANIFEST) as tmp:
                tmp.write_text(json.dumps(data, sort_keys=True, indent=1), encoding="utf-8")
        except OSError as e:
            raise OutputError(
                f"cannot write the checkpoint {str(self.path)!r}: {e.strerror or e}"
            ) from e

    def start(self, fingerprint: dict[str, Any]) -> None:
        """Begin a new checkpoint for a run with ``fingerprint`` (any old one is removed).

        Parameters
        ----------
        fingerprint : dict
            JSON-able description of everything that changes a row.
        """
        self.remove()
        try:
            self.path.mkdir()
        except OSError as e:
            raise OutputError(
                f"cannot write the checkpoint {str(self.path)!r}: {e.strerror or e}"
            ) from e
        self._write_manifest({"format": FORMAT, "fingerprint": fingerprint, "outputs": {}})

    def verify(self, fingerprint: dict[str, Any]) -> None:
        """Check that the checkpoint belongs to a run with ``fingerprint``.

        Parameters
        ----------
        fingerprint : dict
            The resuming run's fingerprint.

        Raises
        ------
        CheckpointUnreadable
            The manifest is missing or damaged.
        CheckpointMismatch
            The checkpoint was made with another venue file or other options (the message
            names the first differences).
        """
        old = self._manifest()["fingerprint"]
        new = json.loads(json.dumps(fingerprint))  # the same types as read back
        keys = sorted(set(old) | set(new))
        diff = [_describe(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]
        if diff:
            raise CheckpointMismatch(
                f"the checkpoint {self.path.name} was made by another run ({'; '.join(diff[:3])})"
                ": rerun with that run's venue file and options, or give --overwrite instead "
                "of --resume to start again"
            )

    def record_output(self, output: str | os.PathLike[str], digest: str) -> None:
        """Note that this run is publishing ``output`` with SHA-256 ``digest`` (before the
        rename, so that a resumed run recognises the file as its own).

        Parameters
        ----------
        output : str or os.PathLike
            The output file.
        digest : str
            The SHA-256 (hex) of its bytes.
        """
        data = self._manifest()
        data["outputs"][str(Path(output).resolve())] = digest
        self._write_manifest(data)

    def owns(self, output: str | os.PathLike[str]) -> bool:
        """Whether ``output`` is a file this run published (its bytes as recorded).

        Parameters
        ----------
        output : str or os.PathLike
            An output file.

        Returns
        -------
        bool
            True when the manifest records ``output`` and the file's SHA-256 matches.
        """
        p = Path(output)
        try:
            digest = self._manifest()["outputs"].get(str(p.resolve()))
        except CheckpointUnreadable:
            return False
        return bool(digest) and p.is_file() and sha256_of(p) == digest

    # -- the rows ----------------------------------------------------------------------------
    def read(self) -> pd.DataFrame | None:
        """Every finished row whose part is intact, in the order written (``None`` when none).

        Parts without a checksum, or whose bytes do not match it, are deleted and named in
        :attr:`discarded`; their rows are simply counted again.

        Returns
        -------
        pandas.DataFrame or None
            The rows.

        Raises
        ------
        CheckpointUnreadable
            The checkpoint is not a folder with a readable manifest.
        """
        if not self.path.exists():
            return None
        if not self.path.is_dir():
            raise CheckpointUnreadable("a single file, not a folder of parts")
        self._manifest()
        frames = []
        for p in self._parts():
            side = self.path / f"_{p.stem}.sha256"
            try:
                ok = side.read_text().strip() == sha256_of(p)
                frame = pd.read_parquet(p) if ok else None
            except Exception:  # pyarrow raises several kinds for a damaged file
                frame = None
            if frame is None:
                self.discarded.append(p.name)
                p.unlink(missing_ok=True)
                side.unlink(missing_ok=True)
                continue
            frames.append(frame)
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def append(self, frame: pd.DataFrame) -> None:
        """Add one finished chunk: its checksum, then the part (each an atomic write).

        Parameters
        ----------
        frame : pandas.DataFrame
            The chunk's rows.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            self.path.mkdir(exist_ok=True)
            if self._next is None:
                parts = self._parts()
                self._next = int(_PART.fullmatch(parts[-1].name).group(1)) + 1 if parts else 0  # type: ignore[union-attr]
            table = pa.Table.from_pandas(frame, preserve_index=False)
            # columns with no value yet (all None) are text, so that every part has one schema
            for i, f in enumerate(table.schema):
                if pa.types.is_null(f.type):
                    table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
            part = self.path / f"part-{self._next:05d}.parquet"
            with atomic_path(part, overwrite=False) as tmp:
                pq.write_table(table, tmp)
                with atomic_path(self.path / f"_{part.stem}.sha256") as side:
                    side.write_text(sha256_of(tmp) + "\n")
            self._next += 1
        except OSError as e:
            raise OutputError(
                f"cannot write the checkpoint {str(self.path)!r}: {e.strerror or e}"
            ) from e

    def remove(self) -> None:
        """Delete the checkpoint (after the output is written, or to start again): renamed
        away first, so that a kill leaves either the whole checkpoint or none of it."""
        if self.path.is_dir():
            gone = self.path.with_name(f".{self.path.name}.removing-{os.getpid()}")
            os.replace(self.path, gone)
            shutil.rmtree(gone, ignore_errors=True)
        else:
            self.path.unlink(missing_ok=True)
        for old in self.path.parent.glob(f".{self.path.name}.removing-*"):  # a killed removal
            shutil.rmtree(old, ignore_errors=True)
        self._next = None


@contextmanager
def _lock_one(output: Path) -> Iterator[None]:
    import fcntl

    lock = output.with_name(output.name + ".lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise OutputError(f"cannot write {str(output)!r}: {e.strerror or e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(
                f"another geotarget run is writing {str(output)!r} (it holds {lock.name}): "
                "wait for it to finish, or give another output name"
            ) from None
        try:  # the file we locked is still the one at that name (a finishing run unlinks it)
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


@contextmanager
def output_locks(outputs: Sequence[str | os.PathLike[str]]) -> Iterator[None]:
    """Hold an exclusive lock (``fcntl.flock`` on ``<output>.lock``) on each output while the
    block runs: a second run on the same output is refused at once, in one line.

    The lock is the kernel's, so a killed run leaves none held; the lock file is removed when
    the block ends.

    Parameters
    ----------
    outputs : sequence of str or os.PathLike
        The files the run will write.

    Raises
    ------
    OutputError
        Another process holds the lock of one of them.
    """
    with ExitStack() as stack:
        for p in sorted({Path(o).resolve() for o in outputs}):
            stack.enter_context(_lock_one(p))
        yield
