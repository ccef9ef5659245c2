"""``geotarget serve --network FILE``: the page and the API take a walking time (and a drive)
as ``geotarget analyse --walk/--drive --network`` does, on the server's street network only."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from conftest import SHARED, need
from test_web import TestClient, cli_error, cli_json

from geotarget.web import ServerConfig, create_app

pytestmark = pytest.mark.shared_data

FITZROVIA = SHARED / "osm-london" / "fitzrovia.osm"
VENUE = "51.5185,-0.1409"


@pytest.fixture(scope="module")
def walker():
    cfg = ServerConfig(network=str(need(FITZROVIA)))
    with TestClient(create_app(cfg), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def plain():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def test_api_walk_is_the_cli_json(walker, capsys):
    r = walker.get("/api/analyse", params={"venue": VENUE, "walk": "160m"})
    assert r.status_code == 200, r.text
    want = cli_json(capsys, VENUE, "--walk", "160m", "--network", str(FITZROVIA))
    assert r.json() == want
    assert r.json()["catchment"]["kind"] == "walk"
    r = walker.get("/api/analyse", params={"venue": VENUE, "walk": "4min", "walk_speed": "3"})
    want = cli_json(
        capsys, VENUE, "--walk", "4min", "--walk-speed", "3", "--network", str(FITZROVIA)
    )
    assert r.json() == want and r.json()["catchment"]["travel"]["walk_speed_kmh"] == 3


def test_bad_walks_get_the_cli_message(walker, capsys):
    for extra, cli in (
        ({"walk": "abc"}, ["--walk", "abc"]),
        ({"walk": "10min", "radius": "1km"}, ["--walk", "10min", "-r", "1km"]),
    ):
        r = walker.get("/api/analyse", params={"venue": VENUE, **extra})
        assert r.status_code == 422
        assert r.json()["error"] == cli_error(capsys, VENUE, *cli, "--network", str(FITZROVIA))
    far = walker.get("/api/analyse", params={"venue": "51.5185,-0.1600", "walk": "10min"})
    assert far.status_code == 422 and "from the nearest walkable street" in far.json()["error"]


def test_page_offers_and_answers_a_walk(walker, plain):
    assert 'id="walk"' in walker.get("/").text
    page = walker.get("/", params={"venue": VENUE, "walk": "10min", "budget": "300"})
    assert page.status_code == 200
    assert "a 10-minute walk (4.8 km/h" in page.text
    assert 'name="radius" value=""' in page.text  # no radius beside the walk to resubmit
    # a server without a street network offers no walk, and refuses one in one line
    assert 'id="walk"' not in plain.get("/").text
    r = plain.get("/api/analyse", params={"venue": VENUE, "walk": "10min"})
    assert r.status_code == 400 and "no street network" in r.json()["error"]
    assert "--network" in r.json()["error"]


def test_batch_page_refuses_a_walk(walker):
    csv = io.BytesIO(b"id,postcode\na,EC2Y 8BN\n")
    r = walker.post(
        "/api/batch", files={"file": ("v.csv", csv, "text/csv")}, data={"walk": "10min"}
    )
    assert r.status_code == 400 and "geotarget batch --walk" in r.json()["error"]
