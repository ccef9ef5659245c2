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
    ck.start({"radius": 1.0})
    ck.append(_part(0, 3))
    first = sorted(ck.path.iterdir())
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in first}
    ck.append(_part(3, 2, error="no layer covers the venue"))
    ck.append(_part(5, 4))
    parts = sorted(p.name for p in ck.path.iterdir() if not p.name.startswith("_"))
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
    first = Checkpoint(tmp_path / "o.csv")
    first.start({})
    first.append(_part(0, 1))
    ck = Checkpoint(tmp_path / "o.csv")
    ck.append(_part(1, 1))
    assert len(list(ck.path.glob("part-*"))) == 2 and len(ck.read()) == 2


def test_remove(tmp_path):
    ck = Checkpoint(tmp_path / "o.csv")
    ck.start({})
    ck.append(_part(0, 2))
    ck.remove()
    assert not ck.exists() and list(tmp_path.iterdir()) == []
    ck.remove()  # nothing there: no error


def test_damaged_part_is_discarded_not_trusted(tmp_path):
    ck = Checkpoint(tmp_path / "o.csv")
    ck.start({})
    ck.append(_part(0, 2))
    ck.append(_part(2, 2))
    (ck.path / "part-00000.parquet").write_bytes(b"PAR1 not really")
    back = ck.read()
    assert list(back["id"]) == ["v2", "v3"] and ck.discarded == ["part-00000.parquet"]
    assert not (ck.path / "part-00000.parquet").exists()


def test_a_flipped_bit_that_still_reads_is_discarded(tmp_path):
    """A part whose bytes changed but which parquet still reads is not trusted (its
    checksum does not match)."""
    ck = Checkpoint(tmp_path / "o.csv")
    ck.start({})
    ck.append(_part(0, 3))
    part = ck.path / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    for i in range(len(data)):  # find a bit whose flip leaves a readable, different table
        data[i] ^= 1
        part.write_bytes(bytes(data))
        try:
            ok = not pd.read_parquet(part).equals(_part(0, 3))
        except Exception:
            ok = False
        if ok:
            break
        data[i] ^= 1
    else:
        pytest.fail("no readable bit flip found")
    assert Checkpoint(tmp_path / "o.csv").read() is None


def test_no_manifest_or_a_damaged_one_is_unreadable(tmp_path):
    ck = Checkpoint(tmp_path / "o.csv")
    ck.start({})
    ck.append(_part(0, 2))
    (ck.path / "_manifest.json").write_text("{not json")
    with pytest.raises(CheckpointUnreadable, match="damaged"):
        ck.read()
    (ck.path / "_manifest.json").unlink()
    with pytest.raises(CheckpointUnreadable, match="no _manifest.json"):
        ck.read()


def test_another_runs_checkpoint_is_refused(tmp_path):
    from geotarget.batch.checkpoint import CheckpointMismatch

    ck = Checkpoint(tmp_path / "o.csv")
    ck.start({"radius": 804.672, "venues": "sha256:aa"})
    ck.verify({"radius": 804.672, "venues": "sha256:aa"})
    with pytest.raises(CheckpointMismatch, match="radius was 804.672, now 1000.0"):
        ck.verify({"radius": 1000.0, "venues": "sha256:aa"})
    with pytest.raises(CheckpointMismatch, match="venue file's contents differ"):
        ck.verify({"radius": 804.672, "venues": "sha256:bb"})


def test_outputs_owned_only_while_their_bytes_match(tmp_path):
    from geotarget.files import sha256_of

    out = tmp_path / "o.csv"
    out.write_text("a\n")
    ck = Checkpoint(out)
    ck.start({})
    assert not ck.owns(out)
    ck.record_output(out, sha256_of(out))
    assert ck.owns(out)
    out.write_text("b\n")  # someone else's bytes now
    assert not ck.owns(out)


def test_a_second_lock_on_the_same_output_is_refused(tmp_path):
    from geotarget.batch.checkpoint import output_locks

    out = tmp_path / "o.csv"
    with output_locks([out]):
        with pytest.raises(OutputError, match="another geotarget run is writing"):
            with output_locks([out]):
                pass
    assert not (tmp_path / "o.csv.lock").exists()
    with output_locks([out]):  # free again
        pass


def test_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    ck = Checkpoint(tmp_path / "o.csv")
    ck.start({})
    ck.append(_part(0, 2))

    def full(table, where, *a, **k):
        with open(where, "wb") as f:
            f.write(b"PAR1half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(OutputError, match="cannot write the checkpoint .*No space left"):
        ck.append(_part(2, 2))
    assert sorted(p.name for p in ck.path.iterdir()) == [
        "_manifest.json",
        "_part-00000.sha256",
        "part-00000.parquet",
    ]
    monkeypatch.undo()
    assert len(ck.read()) == 2  # what was finished is still there
