"""geotarget.datasets.download against a local HTTP server on 127.0.0.1 (no internet needed).

The server (threaded ``http.server``, port 0) serves byte strings by path and can misbehave on
purpose: answer 404/500, cut a transfer short, drop the connection mid-transfer, or stall.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import pytest
from _httpserver import mirror_path, start_server, stop_server

from geotarget import settings
from geotarget.datasets import download
from geotarget.errors import DataError

pytestmark = pytest.mark.network

OFFICIAL = "https://data.example.org/census/files/table.zip"  # served via the mirror layout
BODY = bytes(range(256)) * 400  # 102,400 bytes


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    stop_server(srv)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(settings.MIRROR_ENV, raising=False)
    monkeypatch.delenv(settings.CACHE_ENV, raising=False)


def serve(srv, url: str, body: bytes, mode: str = "ok") -> str:
    path = mirror_path(url)
    srv.routes[path] = (body, mode)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*part*"))


# --------------------------------------------------------------------------- success and cache


def test_download_records_size_and_sha256_and_reuses_cache(server, tmp_path):
    path = serve(server, OFFICIAL, BODY)
    got = download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert got.downloaded and got.path.read_bytes() == BODY
    assert got.url == server.base + path
    entry = json.loads((tmp_path / "manifest.json").read_text())["files"]["table.zip"]
    assert entry["size"] == len(BODY)
    assert entry["sha256"] == hashlib.sha256(BODY).hexdigest()
    again = download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert not again.downloaded and again.sha256 == entry["sha256"]
    assert server.hits[path] == 1  # no second download
    assert leftovers(tmp_path) == []


def test_force_downloads_again_and_records_the_new_checksum(server, tmp_path):
    path = serve(server, OFFICIAL, BODY)
    download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    serve(server, OFFICIAL, BODY[::-1])  # the publisher replaced the file
    got = download.fetch_file(
        OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5, force=True
    )
    assert got.downloaded and server.hits[path] == 2
    assert got.path.read_bytes() == BODY[::-1]
    entry = download.cached_entry(tmp_path, "table.zip")
    assert entry["sha256"] == hashlib.sha256(BODY[::-1]).hexdigest()


def test_failed_forced_download_keeps_the_cached_copy(server, tmp_path):
    serve(server, OFFICIAL, BODY)
    download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    serve(server, OFFICIAL, BODY, "truncate")
    with pytest.raises(DataError, match="truncated"):
        download.fetch_file(
            OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5, force=True
        )
    assert (tmp_path / "table.zip").read_bytes() == BODY and leftovers(tmp_path) == []
    again = download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert not again.downloaded  # still verified against the recorded checksum


def test_mirror_from_environment_and_url_layout(server, tmp_path, monkeypatch):
    assert download.resolve_url(OFFICIAL) == OFFICIAL
    monkeypatch.setenv(settings.MIRROR_ENV, server.base + "/")
    assert (
        download.resolve_url(OFFICIAL) == f"{server.base}/data.example.org/census/files/table.zip"
    )
    q = "https://hub.example.org/api/v3/datasets/abc_0/downloads/data?format=csv"
    assert (
        download.resolve_url(q) == f"{server.base}/hub.example.org/api/v3/datasets/abc_0/"
        "downloads/data?format=csv"
    )
    assert (
        download.resolve_url(OFFICIAL, mirror="http://other:1")
        == "http://other:1/data.example.org/census/files/table.zip"
    )
    serve(server, OFFICIAL, BODY)
    assert download.fetch_file(OFFICIAL, tmp_path, "t.zip", timeout=5).path.read_bytes() == BODY
    with pytest.raises(DataError, match="ftp://x.*not an http"):
        download.resolve_url(OFFICIAL, mirror="ftp://x")


def test_file_mirror(tmp_path):
    src = tmp_path / "mirror" / "data.example.org" / "census" / "files"
    src.mkdir(parents=True)
    (src / "table.zip").write_bytes(BODY)
    got = download.fetch_file(
        OFFICIAL, tmp_path / "cache", "table.zip", mirror=(tmp_path / "mirror").as_uri(), timeout=5
    )
    assert got.downloaded and got.path.read_bytes() == BODY
    with pytest.raises(DataError, match="does not exist in the mirror"):
        download.fetch_file(
            OFFICIAL.replace("table", "other"),
            tmp_path / "cache",
            "o.zip",
            mirror=(tmp_path / "mirror").as_uri(),
            timeout=5,
        )


def test_cache_dir_resolution(tmp_path, monkeypatch):
    from platformdirs import user_cache_dir

    assert settings.cache_dir() == Path(user_cache_dir("geotarget"))
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "env"))
    assert settings.cache_dir() == tmp_path / "env"
    assert settings.cache_dir(tmp_path / "arg") == tmp_path / "arg"  # the argument wins


# --------------------------------------------------------------------------- failures


def test_http_404_is_one_clear_line_and_leaves_nothing(server, tmp_path):
    url = OFFICIAL.replace("table", "missing")
    with pytest.raises(DataError) as e:
        download.fetch_file(url, tmp_path, "missing.zip", mirror=server.base, timeout=5)
    msg = str(e.value)
    assert "HTTP 404" in msg and "missing.zip" in msg and "\n" not in msg
    assert not (tmp_path / "missing.zip").exists() and leftovers(tmp_path) == []


def test_http_500(server, tmp_path):
    serve(server, OFFICIAL, BODY, "500")
    with pytest.raises(DataError, match=r"server failed .*HTTP 500.*try again later"):
        download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert not (tmp_path / "table.zip").exists() and leftovers(tmp_path) == []


def test_export_still_being_prepared(server, tmp_path):
    serve(server, OFFICIAL, BODY, "202")
    with pytest.raises(DataError, match=r"still being prepared .*HTTP 202.*try again"):
        download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert not (tmp_path / "table.zip").exists() and leftovers(tmp_path) == []


def test_connection_refused(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(DataError, match=r"connection refused.*127\.0\.0\.1"):
        download.fetch_file(
            OFFICIAL, tmp_path, "table.zip", mirror=f"http://127.0.0.1:{port}", timeout=5
        )
    assert not (tmp_path / "table.zip").exists()


def test_truncated_transfer_is_detected_and_not_kept(server, tmp_path):
    serve(server, OFFICIAL, BODY, "truncate")
    with pytest.raises(DataError, match=rf"cut short.*51,200 of {len(BODY):,} bytes.*truncated"):
        download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert not (tmp_path / "table.zip").exists() and leftovers(tmp_path) == []
    assert download.cached_entry(tmp_path, "table.zip") is None


@pytest.mark.parametrize("mode", ["reset", "chunked"])
def test_server_gone_mid_transfer(server, tmp_path, mode):
    serve(server, OFFICIAL, BODY, mode)
    with pytest.raises(DataError, match=r"(cut short|connection .* was lost)"):
        download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert not (tmp_path / "table.zip").exists() and leftovers(tmp_path) == []


def test_time_out(server, tmp_path):
    serve(server, OFFICIAL, BODY, "slow")
    server.slow_s = 1.0
    t = time.perf_counter()
    with pytest.raises(DataError, match=r"did not answer within 0\.2 s"):
        download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=0.2)
    assert time.perf_counter() - t < 1.0
    assert not (tmp_path / "table.zip").exists()


# --------------------------------------------------------------------------- checksums


def test_corrupted_cache_is_deleted_and_downloaded_once_more(server, tmp_path):
    path = serve(server, OFFICIAL, BODY)
    got = download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    got.path.write_bytes(BODY[:-1] + b"\x00")  # bit rot, or an edit
    again = download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    assert again.downloaded and again.path.read_bytes() == BODY
    assert server.hits[path] == 2


def test_checksum_still_wrong_after_one_more_download(server, tmp_path):
    serve(server, OFFICIAL, BODY)
    got = download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    expected = got.sha256
    got.path.write_bytes(b"corrupt")
    serve(server, OFFICIAL, BODY[::-1])  # the server now hands out something else
    actual = hashlib.sha256(BODY[::-1]).hexdigest()
    with pytest.raises(DataError) as e:
        download.fetch_file(OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5)
    msg = str(e.value)
    assert "table.zip" in msg and expected in msg and actual in msg and "--force" in msg
    assert not (tmp_path / "table.zip").exists() and leftovers(tmp_path) == []


def test_pinned_checksum_is_checked_on_first_download(server, tmp_path):
    serve(server, OFFICIAL, BODY)
    with pytest.raises(DataError, match="expected 0{64}"):
        download.fetch_file(
            OFFICIAL, tmp_path, "table.zip", mirror=server.base, timeout=5, sha256="0" * 64
        )
    assert not (tmp_path / "table.zip").exists()
    ok = download.fetch_file(
        OFFICIAL,
        tmp_path,
        "table.zip",
        mirror=server.base,
        timeout=5,
        sha256=hashlib.sha256(BODY).hexdigest(),
        size=len(BODY),
    )
    assert ok.downloaded


def test_unreadable_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match=r"manifest .* is unreadable.*--force"):
        download.fetch_file(OFFICIAL, tmp_path, "table.zip", timeout=5)
