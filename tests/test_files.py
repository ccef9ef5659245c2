"""geotarget.files: atomic writes, the output file's one-line errors, folder swaps, checksums."""

import errno
import hashlib
import os
import stat

import pytest

from geotarget.errors import OutputError
from geotarget.files import atomic_path, sha256_of, swap_dir, write_output


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# -- atomic_path --------------------------------------------------------------------------------


def test_atomic_path_moves_the_file_into_place_on_success(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_path(target) as tmp:
        # an empty temporary file beside the target, with the target's suffix
        assert tmp.exists() and tmp.stat().st_size == 0
        assert tmp.parent == tmp_path and tmp != target
        assert tmp.name.startswith(".out.csv.") and tmp.suffix == ".csv"
        tmp.write_text("a,b\n1,2\n")
        assert not target.exists()  # nothing at the target until the block ends
    assert target.read_text() == "a,b\n1,2\n"
    assert not tmp.exists()
    assert _names(tmp_path) == ["out.csv"]


def test_atomic_path_removes_the_temporary_file_when_the_block_raises(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half a file")
        raise RuntimeError("boom")
    assert not target.exists()
    assert not tmp.exists()
    assert _names(tmp_path) == []


def test_atomic_path_failure_leaves_an_existing_file_alone(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("new")
        raise KeyboardInterrupt  # anything, not only Exception
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["out.csv"]


def test_atomic_path_overwrite_replaces(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert _names(tmp_path) == ["out.txt"]


def test_atomic_path_without_overwrite_never_replaces_an_existing_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with (
        pytest.raises(OutputError, match="exists already") as e,
        atomic_path(target, overwrite=False) as tmp,
    ):
        tmp.write_text("new")
    assert "\n" not in str(e.value)
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["out.txt"]  # the temporary file is gone too


def test_atomic_path_without_overwrite_refuses_a_file_that_appears_meanwhile(tmp_path):
    target = tmp_path / "out.txt"
    with (
        pytest.raises(OutputError, match="exists already"),
        atomic_path(target, overwrite=False) as tmp,
    ):
        tmp.write_text("mine")
        target.write_text("someone else's")  # taken while the block ran
    assert target.read_text() == "someone else's"
    assert _names(tmp_path) == ["out.txt"]


def test_atomic_path_without_overwrite_where_hard_links_fail(tmp_path, monkeypatch):
    """File systems without hard links: a check, then a rename."""

    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "out.txt"
    with atomic_path(target, overwrite=False) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with (
        pytest.raises(OutputError, match="exists already"),
        atomic_path(target, overwrite=False) as tmp,
    ):
        tmp.write_text("second")
    assert target.read_text() == "first"
    assert _names(tmp_path) == ["out.txt"]


def test_atomic_path_suffix_and_mode(tmp_path):
    target = tmp_path / "layer.parquet"
    with atomic_path(target, suffix=".part", mode=0o600) as tmp:
        assert tmp.suffix == ".part"
        tmp.write_bytes(b"x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_atomic_path_default_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o640


def test_atomic_path_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with atomic_path("bare.txt") as tmp:
        tmp.write_text("here")
    assert (tmp_path / "bare.txt").read_text() == "here"


# -- write_output -------------------------------------------------------------------------------


def test_write_output_text_and_bytes(tmp_path):
    p = write_output(tmp_path / "a.txt", "ünïcode\n")
    assert p == tmp_path / "a.txt"
    assert p.read_bytes() == "ünïcode\n".encode()
    q = write_output(str(tmp_path / "b.bin"), b"\x00\x01")
    assert q.read_bytes() == b"\x00\x01"
    assert _names(tmp_path) == ["a.txt", "b.bin"]


def test_write_output_existing_file_needs_overwrite(tmp_path):
    p = tmp_path / "report.html"
    p.write_text("old")
    with pytest.raises(OutputError) as e:
        write_output(p, "new")
    msg = str(e.value)
    assert "\n" not in msg
    assert str(p) in msg and "exists already" in msg and "--overwrite" in msg
    assert p.read_text() == "old"
    write_output(p, "new", overwrite=True)
    assert p.read_text() == "new"
    assert _names(tmp_path) == ["report.html"]


def test_write_output_to_a_folder(tmp_path):
    with pytest.raises(OutputError) as e:
        write_output(tmp_path, "x")
    msg = str(e.value)
    assert "\n" not in msg
    assert "it is a folder" in msg and str(tmp_path / "report.html") in msg


def test_write_output_missing_folder(tmp_path):
    p = tmp_path / "nowhere" / "out.json"
    with pytest.raises(OutputError) as e:
        write_output(p, "{}")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == f"cannot write {p}: folder {p.parent} does not exist"
    assert not p.parent.exists()


def test_write_output_os_error_is_one_line(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    p = tmp_path / "out.json"
    with pytest.raises(OutputError) as e:
        write_output(p, "{}")
    assert str(e.value) == f"cannot write {p}: No space left on device"
    assert isinstance(e.value, OSError)  # OutputError is also an OSError
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert _names(tmp_path) == []  # neither the target nor the temporary file


def test_write_output_read_only_folder(tmp_path):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError) as e:
            write_output(ro / "out.json", "{}")
        msg = str(e.value)
        assert "\n" not in msg and msg.startswith(f"cannot write {ro / 'out.json'}: ")
    finally:
        ro.chmod(0o700)


# -- swap_dir -----------------------------------------------------------------------------------


def test_swap_dir_into_a_new_place(tmp_path):
    tmp, final = tmp_path / ".build", tmp_path / "layer"
    tmp.mkdir()
    (tmp / "a.txt").write_text("new")
    swap_dir(tmp, final)
    assert (final / "a.txt").read_text() == "new"
    assert _names(tmp_path) == ["layer"]


def test_swap_dir_replaces_an_old_folder_and_removes_it(tmp_path):
    tmp, final = tmp_path / ".build", tmp_path / "layer"
    final.mkdir()
    (final / "old.txt").write_text("old")
    (final / "sub").mkdir()
    (final / "sub" / "deep.txt").write_text("old")
    tmp.mkdir()
    (tmp / "new.txt").write_text("new")
    swap_dir(tmp, final)
    assert _names(final) == ["new.txt"]
    assert (final / "new.txt").read_text() == "new"
    assert _names(tmp_path) == ["layer"]  # no .build, no .layer.old-*


# -- sha256_of ----------------------------------------------------------------------------------


def test_sha256_of_a_known_string(tmp_path):
    p = tmp_path / "hello.txt"
    p.write_bytes(b"hello world")
    digest = sha256_of(p)
    assert digest == hashlib.sha256(b"hello world").hexdigest()
    assert digest == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    assert sha256_of(str(p)) == digest


def test_sha256_of_empty_and_large_files(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_of(empty) == hashlib.sha256(b"").hexdigest()
    data = bytes(range(256)) * 9000  # about 2.2 MiB: several 1 MiB blocks
    big = tmp_path / "big"
    big.write_bytes(data)
    assert sha256_of(big) == hashlib.sha256(data).hexdigest()
