"""``geotarget serve``: the API, the page and the batch upload through the ASGI test client; the
command started for real in a subprocess.  The browser half is in ``test_web_browser.py``."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import warnings

with warnings.catch_warnings():
    # starlette's note that its test client moves from httpx to httpx2 (either works)
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from geotarget.cli import main
from geotarget.web import ServerConfig, create_app
from geotarget.web.csp import script_hashes

ROOT = Path(__file__).resolve().parent.parent
EDINBURGH = {"venue": "EH1 1YZ", "radius": "0.5mi", "budget": "500", "currency": "GBP"}
XSS = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def cli_json(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["analyse", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def cli_error(capsys, *args) -> str:
    """The CLI's one-line message for ``geotarget analyse ARGS``."""
    capsys.readouterr()
    assert main(["analyse", *args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0].removeprefix("geotarget: error: ")


def assert_no_external(page: str, csp: str) -> None:
    assert "default-src 'none'" in csp and "http" not in csp and "*" not in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=['\"]?(https?:)?//", page)


# -- the API ---------------------------------------------------------------------------------
def test_api_analyse_is_the_cli_json(client, capsys):
    r = client.get("/api/analyse", params=EDINBURGH)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    want = cli_json(capsys, "EH1 1YZ", "-r", "0.5mi", "--budget", "500", "--currency", "GBP")
    assert r.json() == want
    assert r.json()["schema"] == "geotarget.result/1" and r.json()["platforms"]


def test_api_without_platform_options_is_analyse_without_them(client, capsys):
    r = client.get("/api/analyse", params={"venue": "EH1 1YZ", "radius": "300m"})
    assert r.json() == cli_json(capsys, "EH1 1YZ", "-r", "300m")
    assert "platforms" not in r.json()


@pytest.mark.parametrize(
    "params, cli",
    [
        ({"radius": "abc"}, ["-r", "abc"]),
        ({"radius": "0mi"}, ["-r", "0mi"]),
        ({"radius": "-1km"}, ["-r", "-1km"]),
        ({"radius": "30km"}, ["-r", "30km", "--max-radius", "25km"]),
        ({"radius": "1km", "budget": "lots"}, ["-r", "1km", "--budget", "lots"]),
        ({"radius": "1km", "currency": "GBP"}, ["-r", "1km", "--currency", "GBP"]),
        ({"radius": "1km", "platforms": "myspace"}, ["-r", "1km", "--platforms", "myspace"]),
        ({"radius": "1km", "segment_share": "2"}, ["-r", "1km", "--segment-share", "2"]),
    ],
)
def test_bad_values_get_the_cli_message(client, capsys, params, cli):
    r = client.get("/api/analyse", params={"venue": "EH1 1YZ", **params})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == cli_error(capsys, "EH1 1YZ", *cli)
    # the page: the form again, with the message (escaped), and the fields refilled
    page = client.get("/", params={"venue": "EH1 1YZ", **params})
    assert page.status_code == 422
    assert "gt-error" in page.text and "<form" in page.text
    import html

    assert html.escape(cli_error(capsys, "EH1 1YZ", *cli), quote=False) in page.text.replace(
        "&#39;", "'"
    ).replace("&#34;", '"')
    assert 'value="EH1 1YZ"' in page.text


def test_bad_venues_get_the_cli_message(client, capsys):
    # (Paris: no built-in layer covers it, now that England & Wales is built in)
    for venue in ("ZZ9 9ZZ", "not a place", "91,200", "48.85,2.35"):
        r = client.get("/api/analyse", params={"venue": venue, "radius": "1km"})
        assert 400 <= r.status_code < 500, (venue, r.text)
        assert r.json()["error"] == cli_error(capsys, venue, "-r", "1km")
    r = client.get("/api/analyse", params={"radius": "1km"})
    assert r.status_code == 422 and r.json()["error"] == cli_error(capsys, "-r", "1km")


def test_request_shape_errors_are_400(client):
    r = client.get("/api/analyse", params={"venue": "EH1 1YZ", "radius": "1km", "colour": "x"})
    assert r.status_code == 400 and "unknown parameter 'colour'" in r.json()["error"]
    r = client.get("/api/analyse?venue=EH1+1YZ&radius=1km&radius=2km")
    assert r.status_code == 400 and "given 2 times" in r.json()["error"]
    r = client.get("/api/analyse", params={"venue": "x" * 201, "radius": "1km"})
    assert r.status_code == 400 and "at most 200" in r.json()["error"]
    r = client.get("/api/analyse?venue=" + "x" * 5000)
    assert r.status_code == 414
    r = client.get("/api/analyse", params={"venue": "EH1 1YZ", "radius": "1km", "method": "x"})
    assert r.status_code == 400 and "invalid choice: 'x'" in r.json()["error"]


def test_no_file_path_from_a_request_is_opened(client, tmp_path):
    secret = tmp_path / "catchment.geojson"
    secret.write_text('{"type": "FeatureCollection", "features": []}')
    for name in ("catchment", "rules", "data_dir", "data-dir", "layer", "output"):
        r = client.get("/api/analyse", params={"venue": "EH1 1YZ", "radius": "1km", name: secret})
        assert r.status_code == 400 and f"unknown parameter {name!r}" in r.json()["error"]
    for path in (
        "/api/batch/..%2F..%2Fetc%2Fpasswd",
        "/api/batch/../../etc/passwd",
        "/batch/" + "0" * 32,
        "/api/batch/" + "a" * 32 + "/results.csv",
    ):
        r = client.get(path)
        assert r.status_code == 404, path


def test_script_in_any_input_never_comes_back_unescaped(client):
    fields = (
        "venue",
        "radius",
        "budget",
        "currency",
        "segment_share",
        "platforms",
        "country",
        "postcode_coverage",
        "method",
        "rule",
        XSS,
    )
    for name in fields:
        params = dict(EDINBURGH, radius="300m")
        params[name] = XSS
        for path in ("/", "/api/analyse", "/report", "/map.png"):
            r = client.get(path, params=params)
            assert r.status_code < 500, (path, name, r.text[:300])
            assert XSS not in r.text and "<script>alert" not in r.text, (path, name)
            if r.headers["content-type"].startswith("text/html"):
                assert "&lt;script&gt;" in r.text, (path, name)
    # a currency is free text the analysis accepts: it is in the answer, escaped
    r = client.get("/", params=dict(EDINBURGH, radius="300m", currency=XSS))
    assert r.status_code == 200 and XSS not in r.text


def test_page_and_downloads(client):
    r = client.get("/")
    assert r.status_code == 200 and "<form" in r.text and "Your venue" in r.text
    assert_no_external(r.text, r.headers["content-security-policy"])
    assert r.headers["x-content-type-options"] == "nosniff"
    r = client.get("/", params=EDINBURGH)
    assert r.status_code == 200
    page, policy = r.text, r.headers["content-security-policy"]
    assert_no_external(page, policy)
    # every inline script allowed by its hash, and nothing else
    allowed = policy.split("script-src", 1)[1].split(";", 1)[0].split()
    assert set(script_hashes(page)) == set(allowed) and len(allowed) >= 3
    assert page.index("<form") < page.index("In short") < page.index("Platforms, best first")
    assert "of £500" in page and "Download the report" in page
    for link in re.findall(r'href="(/(?:report|map\.png|api/analyse)\?[^"]+)"', page):
        d = client.get(link.replace("&amp;", "&"))
        assert d.status_code == 200, link
    rep = client.get("/report", params=EDINBURGH)
    assert "attachment" in rep.headers["content-disposition"]
    assert_no_external(rep.text, rep.headers["content-security-policy"])
    png = client.get("/map.png", params=EDINBURGH)
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_openapi_and_health(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/analyse", "/report", "/map.png", "/api/batch"} <= set(spec["paths"])
    names = {p["name"] for p in spec["paths"]["/api/analyse"]["get"]["parameters"]}
    assert {"venue", "radius", "platforms", "budget", "currency"} <= names
    assert client.get("/api").status_code == 200
    assert client.get("/healthz").json()["ok"] is True


# -- the batch -------------------------------------------------------------------------------
def wait_job(client, job: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        s = client.get(f"/api/batch/{job}").json()
        if s["state"] in ("done", "failed"):
            return s
        time.sleep(0.2)
    raise AssertionError(f"batch {job} did not finish: {s}")


def test_batch_upload(client):
    import pandas as pd

    csv = f"id,postcode,{XSS}\nshop <b>1</b>,EH1 1YZ,a\nshop2,EH3 9DR,{XSS}\nbad,ZZ9 9ZZ,c\n"
    r = client.post(
        "/api/batch",
        files={"file": ("venues.csv", csv.encode(), "text/csv")},
        data={"radius": "0.5mi", "platforms": "meta,linkedin", "budget": "500", "currency": "GBP"},
    )
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    s = wait_job(client, job)
    assert s["state"] == "done" and s["analysed"] == 2 and s["failed"] == 1, s
    res = pd.read_csv(io.BytesIO(client.get(f"/api/batch/{job}/results.csv").content))
    one = res.set_index("id").loc["shop <b>1</b>"]
    from geotarget import analyse

    assert one["residents"] == pytest.approx(analyse("EH1 1YZ", "0.5mi").residents.estimate)
    plat = pd.read_csv(io.BytesIO(client.get(f"/api/batch/{job}/platforms.csv").content))
    assert set(plat["id"]) == {"meta", "linkedin"}
    assert client.get(f"/api/batch/{job}/results.parquet").content[:4] == b"PAR1"
    page = client.get(f"/batch/{job}")
    assert page.status_code == 200 and "Done: 2 venues analysed, 1 failed" in page.text
    assert XSS not in page.text and "<b>1</b>" not in page.text and "&lt;b&gt;1" in page.text


def test_batch_upload_errors(client):
    def post(csv: bytes, **data):
        return client.post("/api/batch", files={"file": ("v.csv", csv, "text/csv")}, data=data)

    r = post(b"name,postcode\nx,EH1 1YZ\n", radius="1km")
    assert r.status_code == 422 and "needs an 'id' column" in r.json()["error"]
    r = post(b"id,postcode\nx,EH1 1YZ\n", radius="abc")
    assert r.status_code == 422 and "radius 'abc' is not a distance" in r.json()["error"]
    r = post(b"id,postcode\nx,EH1 1YZ\n", radius="1km", budget="500")
    assert r.status_code == 422 and "--platforms" in r.json()["error"]
    r = post(b"id,postcode\n" + b"x,EH1 1YZ\n" * 2001, radius="1km")
    assert r.status_code == 422 and "server accepts 2,000" in r.json()["error"]
    r = post(b"id,postcode\n" + b"x" * 2_100_000, radius="1km")
    assert r.status_code == 413 and "at most 2 MB" in r.json()["error"]
    r = post(b"\xff\xfe\x00bad", radius="1km")
    assert r.status_code == 422 and "'v.csv' is not UTF-8" in r.json()["error"]
    assert "/tmp" not in r.json()["error"]
    r = client.post("/api/batch", data={"radius": "1km"})
    assert r.status_code == 400 and "no venue file" in r.json()["error"]
    page = client.post(
        "/batch", files={"file": ("v.csv", b"a\n1\n", "text/csv")}, data={"radius": "1km"}
    )
    assert page.status_code == 422 and "<form" in page.text and "needs an &#39;id&#39;" in page.text


def test_batch_page_flow(client):
    r = client.post(
        "/batch",
        files={"file": ("v.csv", b"id,postcode\na,EH1 1YZ\n", "text/csv")},
        data={"radius": "400m"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    job = r.headers["location"].rsplit("/", 1)[1]
    wait_job(client, job)
    page = client.get(r.headers["location"]).text
    assert "results.csv" in page and "Results (GeoParquet)" in page


# -- London, through the server's --data-dir -------------------------------------------------
@pytest.mark.shared_data
def test_london_api_and_report_match_the_cli(london_dir, capsys, tmp_path):
    q = {"venue": "EC2Y 8BN", "radius": "0.5mi", "budget": "500", "currency": "GBP"}
    with TestClient(create_app(ServerConfig(data_dir=str(london_dir)))) as c:
        api = c.get("/api/analyse", params=q)
        rep = c.get("/report", params=q)
        page = c.get("/", params=q)
    assert api.status_code == rep.status_code == page.status_code == 200
    want = cli_json(
        capsys,
        "EC2Y 8BN",
        "-r",
        "0.5mi",
        "--data-dir",
        str(london_dir),
        "--budget",
        "500",
        "--currency",
        "GBP",
    )
    assert api.json() == want
    assert want["residents"]["estimate"] > 1000
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                "EC2Y 8BN",
                "-r",
                "0.5mi",
                "--data-dir",
                str(london_dir),
                "--budget",
                "500",
                "--currency",
                "GBP",
                "--tiles",
                "none",
                "-o",
                str(out),
            ]
        )
        == 0
    )

    def in_short(text: str) -> str:
        return text.split("<h2>In short</h2>", 1)[1].split("<h2>", 1)[0]

    cli = in_short(out.read_text(encoding="utf-8"))
    assert cli == in_short(rep.text) == in_short(page.text)
    assert f"{want['residents']['estimate']:,.0f}" in cli


# -- the command -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    """``python -m geotarget serve ARGS`` on a free port; returns it once /healthz answers."""
    import httpx

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen(
        [sys.executable, "-m", "geotarget", "serve", "--port", str(port), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise AssertionError(f"geotarget serve exited: {p.communicate()}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return p, base
        except httpx.HTTPError:
            time.sleep(0.3)
    stop_server(p)
    raise AssertionError("geotarget serve did not answer")


def stop_server(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.communicate(timeout=15)  # reads and closes the pipes
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()


def test_serve_command_with_two_workers(capsys):
    import httpx

    p, base = start_server("--workers", "2")
    try:
        r = httpx.get(
            base + "/api/analyse", params={"venue": "EH1 1YZ", "radius": "400m"}, timeout=60
        )
        assert r.status_code == 200
        assert r.json() == cli_json(capsys, "EH1 1YZ", "-r", "400m")
        r = httpx.get(base + "/api/analyse", params={"venue": "EH1 1YZ", "radius": "abc"})
        assert r.status_code == 422
        assert httpx.get(base + "/").status_code == 200
    finally:
        stop_server(p)


def test_serve_command_errors(capsys, tmp_path):
    assert main(["serve", "--data-dir", "a", "--layer", "b"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["serve", "--data-dir", str(tmp_path / "nothing")]) == 7
    assert "geotarget: error:" in capsys.readouterr().err
    assert main(["serve", "--workers", "0"]) == 2
    assert main(["serve", "--max-radius", "far"]) == 6
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert main(["serve", "--port", str(s.getsockname()[1])]) == 2
        assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_the_form_offers_the_special_ad_category_and_the_page_applies_it(client):
    page = client.get("/").text
    assert 'name="special_category"' in page and 'name="managed_account"' in page
    r = client.get(
        "/api/analyse",
        params={
            "venue": "EH1 1YZ",
            "radius": "0.5mi",
            "platforms": "meta",
            "special_category": "housing",
        },
    )
    assert r.status_code == 200, r.text
    meta = r.json()["platforms"][0]
    assert meta["id"] == "meta_special"
    bad = client.get(
        "/api/analyse",
        params={"venue": "EH1 1YZ", "radius": "0.5mi", "special_category": "politics"},
    )
    assert bad.status_code == 422
