"""Checkpoints of a batch: the finished chunks of an interrupted run, so ``--resume`` does not
compute them again.

A checkpoint is a folder ``<output>.checkpoint.parquet/`` of append-only parts
(``part-00000.parquet``, ...), each written atomically when its chunk finishes: a chunk costs
one small write however far the run has got (the whole table is never rewritten), and a crash
loses at most the chunk being written.  ``pandas.read_parquet`` reads the folder as one table.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from ..errors import OutputError
from ..files import atomic_path

_PART = re.compile(r"part-(\d{5,})\.parquet$")


class CheckpointUnreadable(Exception):
    """A checkpoint exists but cannot be read (damaged, or not one of ours)."""


class Checkpoint:
    """The checkpoint beside ``output`` (``<output>.checkpoint.parquet``)."""

    def __init__(self, output: str | Path) -> None:
        out = Path(output)
        self.path = out.with_name(out.name + ".checkpoint.parquet")
        self._next: int | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def _parts(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        parts = [p for p in self.path.iterdir() if _PART.fullmatch(p.name)]
        return sorted(parts, key=lambda p: int(_PART.fullmatch(p.name).group(1)))  # type: ignore[union-attr]

    def read(self) -> pd.DataFrame | None:
        """Every finished row, in the order written (``None`` when there is no checkpoint);
        :class:`CheckpointUnreadable` when a part cannot be read."""
        if not self.path.exists():
            return None
        try:
            if self.path.is_file():  # a single-file checkpoint
                return pd.read_parquet(self.path)
            frames = [pd.read_parquet(p) for p in self._parts()]
        except Exception as e:  # pyarrow raises several kinds for a damaged file
            raise CheckpointUnreadable(f"{type(e).__name__}: {e}") from e
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def append(self, frame: pd.DataFrame) -> None:
        """Add one finished chunk (an atomic write of one new part)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            if self.path.is_file():
                self.path.unlink()
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
            self._next += 1
        except OSError as e:
            raise OutputError(
                f"cannot write the checkpoint {str(self.path)!r}: {e.strerror or e}"
            ) from e

    def remove(self) -> None:
        """Delete the checkpoint (after the output is written, or to start again)."""
        if self.path.is_dir():
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            self.path.unlink(missing_ok=True)
        self._next = None
