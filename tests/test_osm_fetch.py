"""``geotarget data fetch osm --area NAME``: a regional OpenStreetMap extract downloaded and
checksummed like the census files, against the local test server (the provider's mirror layout),
then read as the street network of ``--walk``.

The served extract is ../shared/data/osm-london/fitzrovia.osm written as PBF at test time.
"""

from __future__ import annotations

import numpy as np
import pytest
from _httpserver import mirror_path, start_server, stop_server
from conftest import SHARED, need
from test_datasets import built_path, fetch_cli

from geotarget import datasets, settings
from geotarget.errors import InputError
from geotarget.network import load_network

pytestmark = [pytest.mark.network, pytest.mark.shared_data]

FITZROVIA = SHARED / "osm-london" / "fitzrovia.osm"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.MIRROR_ENV, raising=False)
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def fitzrovia_pbf(tmp_path_factory) -> bytes:
    import osmium

    pbf = tmp_path_factory.mktemp("osm") / "fitzrovia.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(need(FITZROVIA))):
            writer.add(obj)
    finally:
        writer.close()
    return pbf.read_bytes()


def test_osm_sources_and_areas():
    osm = datasets.get("osm")
    [s] = osm.sources_for("greater-london")
    assert s.url == (
        "https://download.geofabrik.de/europe/united-kingdom/england/greater-london-latest.osm.pbf"
    )
    assert s.sha256 is None  # recorded on first download
    assert osm.sources_for("london") == [s]
    [p] = osm.sources_for("europe/france/ile-de-france")
    assert p.url.endswith("/europe/france/ile-de-france-latest.osm.pbf")
    for bad in (None, "", "nowhere", "../../etc", "europe/../x", "http://x/y"):
        with pytest.raises(InputError, match="osm"):
            osm.sources_for(bad)


def test_fetch_osm_downloads_checks_and_lays_out_the_extract(
    server, tmp_path, capsys, fitzrovia_pbf
):
    [s] = datasets.get("osm").sources_for("greater-london")
    path = mirror_path(s.url)
    assert (
        path == "/download.geofabrik.de/europe/united-kingdom/england/greater-london-latest.osm.pbf"
    )
    server.routes[path] = fitzrovia_pbf
    base = ["fetch", "osm", "--cache-dir", str(tmp_path), "--mirror", server.base]
    code, out, err = fetch_cli([*base, "--area", "greater-london"], capsys)
    assert code == 0, err
    extract = built_path(out) / "extract.osm.pbf"
    assert f"--network {extract}" in out and "region europe/united-kingdom/england" in out
    # the street network read from the built file is the one of the original XML
    a = load_network(need(FITZROVIA), "walk", cache=tmp_path / "net")
    b = load_network(extract, "walk", cache=tmp_path / "net")
    assert b.n_nodes > 500 and np.array_equal(a.node_ids, b.node_ids)
    assert np.array_equal(a.cost_fwd, b.cost_fwd)
    # checksummed in the cache: a second fetch downloads nothing
    code, out, _ = fetch_cli([*base, "--area", "greater-london"], capsys)
    assert code == 0 and "already built" in out and server.hits[path] == 1
    # a file that is not OSM data: a one-line error, nothing built
    bad = mirror_path(datasets.get("osm").sources_for("berlin")[0].url)
    server.routes[bad] = b"<html>maintenance</html>"
    code, _, err = fetch_cli([*base, "--area", "berlin"], capsys)
    assert code != 0 and "not a readable OSM PBF file" in err and "--force" in err
    built = tmp_path / "datasets" / "osm" / "built"
    assert sorted(p.name for p in built.iterdir()) == ["GREATER-LONDON"]
    code, _, err = fetch_cli([*base, "--area", "nowhere"], capsys)
    assert code == 2 and "neither a region name" in err
