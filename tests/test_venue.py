import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from geotarget.errors import GeocodingError, VenueError
from geotarget.venue import Venue, geocode_address, locate


def test_latlon_string_and_tuple():
    v = locate("51.5202,-0.0937")
    assert (v.lat, v.lon) == (51.5202, -0.0937)
    assert locate("51.5202, -0.0937") == v
    assert locate((51.5202, -0.0937)) == v
    assert locate(" 51.5202 -0.0937 ") == v


def test_postcode_venue():
    v = locate("eh1 1yz")
    assert v.source == "postcode" and v.label == "EH1 1YZ"


@pytest.mark.parametrize(
    "bad,fragment",
    [
        ("91,0", "latitude '91' is outside"),
        ("-91,0", "outside -90..90"),
        ("0,181", "longitude '181' is outside"),
        ("nan,0", "not finite"),
        ("0,NaN", "not finite"),
        ((float("nan"), 1.0), "not finite"),
        (("a", "b"), "not numbers"),
        ("", "empty"),
        ("somewhere nice", "add --geocode"),
        ((1.0, 2.0, 3.0), "pair"),
    ],
)
def test_bad_coordinates_repeat_value(bad, fragment):
    with pytest.raises(VenueError, match=fragment):
        locate(bad)


def test_venue_object_validates_itself():
    with pytest.raises(VenueError):
        Venue(100.0, 0.0)


class _Nominatim(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = json.dumps(
            [
                {
                    "lat": "51.5202",
                    "lon": "-0.0937",
                    "display_name": "Barbican, London",
                    "place_id": 1,
                    "boundingbox": ["51.5", "51.6", "-0.1", "-0.09"],
                }
            ]
        )
        if "nowhere" in self.path:
            body = "[]"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


@pytest.fixture
def nominatim():
    srv = HTTPServer(("127.0.0.1", 0), _Nominatim)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.mark.network
def test_geocode_against_local_nominatim(nominatim):
    v = geocode_address("Barbican Centre, London", domain=nominatim, scheme="http", timeout=2)
    assert (v.lat, v.lon) == (51.5202, -0.0937) and v.source == "address"
    with pytest.raises(GeocodingError, match="found no place"):
        geocode_address("nowhere at all", domain=nominatim, scheme="http", timeout=2)


@pytest.mark.network
def test_geocode_offline_fails_clearly():
    # a host name that can never resolve (RFC 2606 .invalid), as when offline
    with pytest.raises(GeocodingError, match="postcode or 'lat,lon'") as e:
        geocode_address("Barbican Centre", domain="nominatim.invalid", scheme="http", timeout=1)
    assert "Barbican Centre" in str(e.value)


@pytest.mark.network
def test_geocode_times_out_instead_of_hanging():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)  # accepts, never answers
    try:
        with pytest.raises(GeocodingError, match="(?i)timed out|time"):
            geocode_address(
                "Barbican", domain=f"127.0.0.1:{s.getsockname()[1]}", scheme="http", timeout=0.5
            )
    finally:
        s.close()
