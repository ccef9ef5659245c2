"""Batch checkpoints: append-only parts, read back whole, failures clean."""

import errno

import pandas as pd
import pytest

from geotarget.batch.checkpoint import Checkpoint, CheckpointUnreadable
from geotarget.errors import OutputError


def _part(start, n, error=None):
    return pd.DataFrame(
        {
            "id": [f"v{i}" for i in range(start, start + n)],
            "residents": [float(i) for i in range(start, start + n)],
            "error": [error] * n,
        }
    )


def test_parts_are_appended_never_rewritten(tmp_path):
    ck = Checkpoint(tmp_path / "out.parquet")
    assert not ck.exists() and ck.read() is None
    ck.append(_part(0, 3))
    first = sorted(ck.path.iterdir())
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in first}
    ck.append(_part(3, 2, error="no layer covers the venue"))
    ck.append(_part(5, 4))
    parts = sorted(p.name for p in ck.path.iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    for name, (data, mtime) in before.items():  # the first part is untouched
        p = ck.path / name
        assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime
    back = ck.read()
    assert list(back["id"]) == [f"v{i}" for i in range(9)]
    assert back["error"].notna().sum() == 2  # an all-None column and a text one read as one
    # pandas reads the folder as one table too (what the CLI tests read)
    assert len(pd.read_parquet(ck.path)) == 9


def test_a_new_checkpoint_object_continues_the_numbering(tmp_path):
    Checkpoint(tmp_path / "o.csv").append(_part(0, 1))
    ck = Checkpoint(tmp_path / "o.csv")
    ck.append(_part(1, 1))
    assert len(list(ck.path.iterdir())) == 2 and len(ck.read()) == 2


def test_remove(tmp_path):
    ck = Checkpoint(tmp_path / "o.csv")
    ck.append(_part(0, 2))
    ck.remove()
    assert not ck.exists() and list(tmp_path.iterdir()) == []
    ck.remove()  # nothing there: no error


def test_damaged_part_is_reported_not_trusted(tmp_path):
    ck = Checkpoint(tmp_path / "o.csv")
    ck.append(_part(0, 2))
    (ck.path / "part-00000.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(CheckpointUnreadable):
        ck.read()


def test_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    ck = Checkpoint(tmp_path / "o.csv")
    ck.append(_part(0, 2))

    def full(table, where, *a, **k):
        with open(where, "wb") as f:
            f.write(b"PAR1half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(OutputError, match="cannot write the checkpoint .*No space left"):
        ck.append(_part(2, 2))
    assert sorted(p.name for p in ck.path.iterdir()) == ["part-00000.parquet"]
    monkeypatch.undo()
    assert len(ck.read()) == 2  # what was finished is still there
