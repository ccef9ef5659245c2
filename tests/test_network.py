"""Walking- and driving-time catchments on the real OSM extracts of ../shared/data/osm-london.

The references are independent of geotarget's reader and search: the OSM XML parsed with the
standard library (and, where it installs, OSMnx's ``graph_from_xml``) into networkx graphs, and
networkx's Dijkstra with a cutoff from the same node.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest
import shapely
from conftest import SHARED, need
from pyproj import Geod

from geotarget.catchment import circle
from geotarget.errors import CatchmentError, InputError
from geotarget.network import graph as graph_mod
from geotarget.network import load_network, parse_limit, parse_speed, travel_catchment
from geotarget.network.osm import drivable, drive_speed, oneway, parse_maxspeed, walkable
from geotarget.network.reach import Snap, search
from geotarget.platforms.feasibility import radius_needed
from geotarget.venue import Venue

pytestmark = pytest.mark.shared_data

OSM = SHARED / "osm-london"
GEOD = Geod(ellps="WGS84")
VENUE = Venue(51.5185, -0.1409)


@pytest.fixture(scope="module")
def fitzrovia():
    return need(OSM / "fitzrovia.osm")


@pytest.fixture(scope="module")
def circus():
    return need(OSM / "st-georges-circus.osm")


def reference_graph(path, mode):
    """The OSM XML parsed with ElementTree into a networkx graph (DiGraph for driving)."""
    root = ET.parse(path).getroot()
    pos = {int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    g = nx.DiGraph()
    for w in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        if "highway" not in tags or not (walkable(tags) if mode == "walk" else drivable(tags)):
            continue
        refs = [int(nd.get("ref")) for nd in w.iter("nd")]
        d = oneway(tags) if mode == "drive" else 0
        for a, b in zip(refs[:-1], refs[1:]):
            if a not in pos or b not in pos or a == b:
                continue
            _, _, length = GEOD.inv(*pos[a], *pos[b])
            cost = length if mode == "walk" else length / (drive_speed(tags) / 3.6)
            for x, y, ok in ((a, b, d >= 0), (b, a, d <= 0)):
                if ok and (not g.has_edge(x, y) or g[x][y]["w"] > cost):
                    g.add_edge(x, y, w=cost)
    return g, pos


def from_node(net, osm_id, limit):
    """geotarget's costs from a network node (a source on the node itself)."""
    i = int(np.searchsorted(net.node_ids, osm_id))
    seg = np.flatnonzero(net.u == i)
    if len(seg):
        src = Snap(seg[:1], np.zeros(1), np.zeros(1))
    else:
        src = Snap(np.flatnonzero(net.v == i)[:1], np.ones(1), np.zeros(1))
    return search(net, src, np.zeros(1), limit)[0]


def compare(net, ref, source, limit, tol):
    d = from_node(net, source, limit)
    mine = {int(net.node_ids[i]) for i in np.flatnonzero(d <= limit)}
    lengths = nx.single_source_dijkstra_path_length(ref, source, cutoff=limit * 1.01, weight="w")
    sure = {n for n, x in lengths.items() if x <= limit * (1 - tol)}
    maybe = {n for n, x in lengths.items() if x <= limit * (1 + tol)}
    assert sure <= mine <= maybe
    return mine, lengths


@pytest.mark.parametrize("mode,limit", [("walk", 160.0), ("walk", 600.0), ("drive", 60.0)])
def test_reached_sets_equal_networkx(fitzrovia, mode, limit):
    net = load_network(fitzrovia, mode)
    ref, _ = reference_graph(fitzrovia, mode)
    assert net.n_nodes == ref.number_of_nodes()
    rng = np.random.default_rng(16)
    for source in rng.choice(sorted(ref.nodes), 8, replace=False):
        mine, lengths = compare(net, ref, int(source), limit, tol=1e-9)
        assert len(mine) > 1
        # and the costs themselves agree
        d = from_node(net, int(source), limit)
        for n, x in lengths.items():
            if x <= limit:
                i = int(np.searchsorted(net.node_ids, n))
                assert d[i] == pytest.approx(x, rel=1e-9, abs=1e-6)


def test_one_way_streets_respected(fitzrovia):
    net = load_network(fitzrovia, "drive")
    one = np.isinf(net.cost_back) | np.isinf(net.cost_fwd)
    assert one.sum() > 20  # Cleveland Street and others are one-way
    walk = load_network(fitzrovia, "walk")
    assert np.isfinite(walk.cost_fwd).all() and np.isfinite(walk.cost_back).all()


def test_reached_sets_equal_osmnx(fitzrovia):
    ox = pytest.importorskip("osmnx")
    ox.settings.useful_tags_way = list(
        set(ox.settings.useful_tags_way) | {"foot", "area", "service", "access", "highway"}
    )
    G = ox.graph_from_xml(fitzrovia, simplify=False, retain_all=True, bidirectional=True)
    ref = nx.Graph()
    for a, b, data in G.edges(data=True):
        tags = {k: v for k, v in data.items() if isinstance(v, str)}
        if "highway" in tags and walkable(tags) and a != b:
            w = float(data["length"])
            if not ref.has_edge(a, b) or ref[a][b]["w"] > w:
                ref.add_edge(a, b, w=w)
    net = load_network(fitzrovia, "walk")
    assert set(ref.nodes) == set(net.node_ids.tolist())
    # OSMnx measures on a sphere, geotarget on the ellipsoid: lengths differ by < 0.5%
    for source in np.random.default_rng(1).choice(sorted(ref.nodes), 6, replace=False):
        compare(net, ref, int(source), 300.0, tol=0.005)


def test_done_when_polygon_holds_the_reached_nodes(fitzrovia):
    c = travel_catchment(VENUE, fitzrovia, walk="160m")
    net = c.travel.network
    assert not c.travel.clipped
    ref, pos = reference_graph(fitzrovia, "walk")
    # the venue's nearest street point: geotarget's costs from it equal networkx from its ends
    d = c.travel.dist
    reached = np.flatnonzero(d <= 160)
    assert len(reached) >= 20
    poly = c.wgs84
    assert shapely.contains_xy(poly, net.lon[reached], net.lat[reached]).all()
    # nothing farther from the venue than the walk plus the buffer is inside the polygon
    _, _, straight = GEOD.inv(
        np.full(net.n_nodes, VENUE.lon), np.full(net.n_nodes, VENUE.lat), net.lon, net.lat
    )
    far = straight > 160 + c.travel.buffer_m + 1
    assert far.sum() > 300
    assert not shapely.contains_xy(poly, net.lon[far], net.lat[far]).any()
    # and nodes networkx puts well beyond 160 m (from the venue's street point) are outside
    s = int(c.travel.src.seg[0])
    ends = [int(net.node_ids[net.u[s]]), int(net.node_ids[net.v[s]])]
    f = float(c.travel.src.frac[0])
    start = {ends[0]: f * net.length[s], ends[1]: (1 - f) * net.length[s]}
    off = float(c.travel.src.offset_m[0])
    dist = {}
    for e, x0 in start.items():
        for n, x in nx.single_source_dijkstra_path_length(ref, e, weight="w").items():
            dist[n] = min(dist.get(n, np.inf), x0 + x + off)
    beyond = [n for n, x in dist.items() if x > 400 and n in set(net.node_ids.tolist())]
    lon = np.array([pos[n][0] for n in beyond])
    lat = np.array([pos[n][1] for n in beyond])
    assert not shapely.contains_xy(poly, lon, lat).any()
    within = [int(np.searchsorted(net.node_ids, n)) for n, x in dist.items() if x <= 160 - 1e-6]
    assert set(within) <= set(reached.tolist())


def test_long_walk_is_clipped(fitzrovia):
    c = travel_catchment(VENUE, fitzrovia, walk="15min")
    assert c.travel.clipped
    assert "clipped by the network data" in c.describe()
    d = c.to_dict()
    assert d["travel"]["clipped"] is True and d["travel"]["walk_speed_kmh"] == 4.8
    assert d["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert c.area_m2 < circle(VENUE, 1200).area_m2


def test_circus_polygon_bends_around_what_is_not_walkable(circus):
    # a footway node 33 m from the venue as the crow flies is a 211 m walk: the 150 m walk's
    # polygon leaves it out although the 150 m circle holds it
    venue = Venue(51.4969417, -0.1072057)
    target = (-0.1067334, 51.4969147)
    c = travel_catchment(venue, circus, walk="150m")
    assert c.travel.network.area_source.startswith("the polygon in st-georges-circus-boundary")
    assert not c.wgs84.contains(shapely.Point(target))
    assert circle(venue, 150).wgs84.contains(shapely.Point(target))
    net = c.travel.network
    t = int(np.argmin(np.hypot(net.lon - target[0], net.lat - target[1])))
    assert np.isinf(c.travel.dist[t])
    full = search(net, c.travel.src, np.array([c.travel.src_cost]), 1000.0)[0]
    assert 200 < full[t] < 220
    # the separately mapped sidewalks are walked
    assert net.n_nodes > 500


def test_circus_clipping_by_its_boundary(circus):
    venue = Venue(51.4969417, -0.1072057)
    assert not travel_catchment(venue, circus, walk="60m").travel.clipped
    assert travel_catchment(venue, circus, walk="20min").travel.clipped


def test_venue_off_the_network_is_an_error_with_the_distance(fitzrovia):
    with pytest.raises(CatchmentError, match=r"the venue is [\d,]+ m from the nearest walkable"):
        travel_catchment(Venue(51.5185, -0.1600), fitzrovia, walk="10min")


def test_limits_and_speeds():
    assert parse_limit("walk", "10min").budget == pytest.approx(800.0)
    assert parse_limit("walk", "800m").budget == 800.0
    assert parse_limit("walk", "10min", "3mph").budget == pytest.approx(600 * 3 * 1609.344 / 3600)
    assert parse_limit("drive", "2min").budget == 120.0
    assert "4.8 km/h" in parse_limit("walk", "10min").describe()
    assert parse_speed(None) == 4.8
    for bad in ("ten", "0min", "500min"):
        with pytest.raises(CatchmentError):
            parse_limit("walk", bad)
    with pytest.raises(CatchmentError, match="not a time"):
        parse_limit("drive", "800m")
    with pytest.raises(InputError):
        parse_speed("fast")
    assert parse_maxspeed("30 mph") == pytest.approx(48.28032)
    assert parse_maxspeed("20") == 20.0
    assert parse_maxspeed("GB:nsl_single") == pytest.approx(96.56064)
    assert parse_maxspeed("signals") is None
    assert not walkable({"highway": "cycleway"}) and walkable({"highway": "steps"})
    assert not walkable({"highway": "footway", "access": "private"})
    assert drivable({"highway": "residential"}) and not drivable({"highway": "footway"})
    assert oneway({"highway": "primary", "junction": "roundabout"}) == 1


def test_cache_is_keyed_on_the_file(fitzrovia, tmp_path):
    p = tmp_path / "f.osm"
    shutil.copy(fitzrovia, p)
    a = load_network(p, "walk", cache=tmp_path / "c")
    assert len(list((tmp_path / "c" / "network").glob("*.npz"))) == 1
    graph_mod._MEMORY.clear()
    b = load_network(p, "walk", cache=tmp_path / "c")  # from the .npz
    assert np.array_equal(a.node_ids, b.node_ids) and np.array_equal(a.cost_fwd, b.cost_fwd)
    assert b.area.equals(a.area) and b.edge.sum() == a.edge.sum()
    # a changed file is read again: drop one highway way
    text = p.read_text()
    i = text.index("<way ")
    j = text.index("</way>", i) + len("</way>")
    p.write_text(text[:i] + text[j:])
    graph_mod._MEMORY.clear()
    c = load_network(p, "walk", cache=tmp_path / "c")
    assert c.sha256 != a.sha256
    assert len(list((tmp_path / "c" / "network").glob("*.npz"))) == 2


def test_bad_network_file(tmp_path):
    from geotarget.errors import DataError

    bad = tmp_path / "x.osm"
    bad.write_text("not osm")
    with pytest.raises(DataError, match="cannot read OSM file|holds no walkable"):
        load_network(bad, "walk", cache=tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_network(tmp_path / "none.osm", "walk", cache=tmp_path)


# -- counting, with the London census layer -----------------------------------------------------


@pytest.mark.parametrize("method", [None, "areal"])
def test_walk_never_holds_more_people_than_the_circle(london, fitzrovia, method):
    """Dasymetric points by network distance, and LSOA/MSOA zones by the polygon (which lies
    inside the circle of the walk's distance plus its buffer: compared with that circle)."""
    import geotarget

    for limit in ("160m", "5min", "600m"):
        w = geotarget.analyse(VENUE, layer=london, walk=limit, network=fitzrovia, method=method)
        r = w.catchment_obj.travel.limit.circle_m
        if method == "areal":
            r += w.catchment_obj.travel.buffer_m
        c = geotarget.analyse(VENUE, r, layer=london, method=method)
        assert 0 < w.residents.estimate <= c.residents.estimate + 1e-9
        if w.workers is not None:
            assert w.workers.estimate <= c.workers.estimate + 1e-9
        text = "counted over the street network" if method is None else "areal weighting"
        assert text in w.residents.description


def test_counting_does_not_depend_on_the_polygon(london, fitzrovia):
    import geotarget
    from geotarget.network import travel_catchment as tc

    a = tc(VENUE, fitzrovia, walk="300m")
    b = tc(VENUE, fitzrovia, walk="300m", buffer_m=5.0)
    assert b.area_m2 < a.area_m2
    ra = geotarget.analyse(VENUE, catchment=a, layer=london)
    rb = geotarget.analyse(VENUE, catchment=b, layer=london)
    assert ra.residents.estimate == rb.residents.estimate


def test_platform_footprints_contain_the_walk(london, fitzrovia):
    import geotarget

    r = geotarget.analyse(VENUE, layer=london, walk="400m", network=fitzrovia, platforms="meta")
    need_m = radius_needed(r.catchment_obj, VENUE)
    assert need_m > 0
    row = r.platform_rows[0]
    fp = row["footprint"]
    assert fp["kind"] == "radius"  # Meta: a circle around the venue
    assert fp["radius_m"] >= need_m - 1e-6
    # the circle holds the whole walk polygon
    assert circle(VENUE, fp["radius_m"]).wgs84.buffer(1e-7).contains(r.catchment_obj.wgs84)
    # the catchment's people on the platform's basis are the walk's own counts
    walk_people = r.residents.estimate + r.workers.estimate
    assert row["people"]["in_catchment"] == pytest.approx(walk_people, abs=1.0)


def test_cli_done_when(london_dir, fitzrovia, capsys):
    from geotarget.cli import main

    args = ["analyse", "51.5185,-0.1409", "--walk", "160m", "--network", str(fitzrovia)]
    assert main([*args, "--data-dir", str(london_dir), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["catchment"]["kind"] == "walk"
    assert d["catchment"]["travel"]["clipped"] is False
    assert d["catchment"]["travel"]["walk_speed_kmh"] == 4.8
    poly = shapely.geometry.shape(d["catchment"]["geometry"])
    walk = travel_catchment(VENUE, fitzrovia, walk="160m").travel
    net, reached = walk.network, np.flatnonzero(walk.dist <= 160)
    assert shapely.contains_xy(poly, net.lon[reached], net.lat[reached]).all()
    assert poly.contains(shapely.Point(VENUE.lon, VENUE.lat))
    args15 = ["analyse", "51.5185,-0.1409", "--walk", "15min", "--network", str(fitzrovia)]
    assert main([*args15, "--data-dir", str(london_dir)]) == 0
    out = capsys.readouterr()
    assert "clipped by the network data" in out.out and "4.8 km/h" in out.out
    assert "clipped by the network data" in out.err


def test_cli_refuses_bad_combinations(fitzrovia, capsys):
    from geotarget.cli import main

    assert main(["analyse", "51.5185,-0.1409", "--walk", "10min"]) != 0
    assert "needs the street network" in capsys.readouterr().err
    assert main(["analyse", "51.5185,-0.1409", "-r", "1km", "--walk", "10min"]) != 0
    assert "not both" in capsys.readouterr().err


def test_many_venues_in_one_pass_equal_one_at_a_time(london, fitzrovia):
    import geotarget
    from geotarget.estimate.travel import count_many

    net = load_network(fitzrovia, "walk")
    lim = parse_limit("walk", "4min")
    lats = np.array([51.5185, 51.5190, 51.5175, 51.5200, 51.5170])
    lons = np.array([-0.1409, -0.1380, -0.1440, -0.1420, -0.1365])
    for pop in ("residents", "workers"):
        s = london.surface(pop)
        many, clip = count_many(s, london.crs, net, lats, lons, lim, chunk=2)
        for i, (la, lo) in enumerate(zip(lats, lons)):
            one = geotarget.analyse((la, lo), layer=london, walk="4min", network=fitzrovia)
            e = getattr(one, pop)
            assert many.estimate[i] == pytest.approx(e.estimate, abs=1e-6)
            assert many.low[i] == pytest.approx(e.low, abs=1e-6)
            assert many.high[i] == pytest.approx(e.high, abs=1e-6)
            assert bool(clip[i]) == one.catchment_obj.travel.clipped


def test_batch_walks(london, fitzrovia, tmp_path, capsys):
    import pandas as pd

    import geotarget
    from geotarget.batch import analyse_many
    from geotarget.cli import main

    df = pd.DataFrame(
        {
            "id": ["a", "b", "far"],
            "lat": [51.5185, 51.5190, 51.5185],
            "lon": [-0.1409, -0.1380, -0.1600],
        }
    )
    out = analyse_many(df, layer=london, walk="4min", network=fitzrovia)
    assert (
        out["error"].iloc[2].startswith("the venue is ")
        and "m from the nearest" in out["error"].iloc[2]
    )
    for i in (0, 1):
        one = geotarget.analyse(
            (df.lat[i], df.lon[i]), layer=london, walk="4min", network=fitzrovia
        )
        assert out["residents"].iloc[i] == pytest.approx(one.residents.estimate, abs=1e-6)
        assert out["workers_high"].iloc[i] == pytest.approx(one.workers.high, abs=1e-6)
        assert bool(out["clipped"].iloc[i]) == one.catchment_obj.travel.clipped
    # every output states the walk and its speed (a circle's rows have radius_m)
    assert out["catchment"].tolist() == ["4-minute walk (4.8 km/h, 320 m (0.199 mi))"] * 3
    slow = analyse_many(df.iloc[:1], layer=london, walk="4min", walk_speed=3, network=fitzrovia)
    assert slow["catchment"].iloc[0] == "4-minute walk (3 km/h, 200 m (0.124 mi))"
    assert "catchment" not in analyse_many(df.iloc[:1], "200m", layer=london).columns
    csv = tmp_path / "v.csv"
    df.to_csv(csv, index=False)
    args = ["batch", str(csv), "--walk", "4min", "--network", str(fitzrovia)]
    # exit 11: the row off the network failed, the others were written
    assert main([*args, "--data-dir", str(LONDON_DIR()), "-o", str(tmp_path / "o.csv")]) == 11
    got = pd.read_csv(tmp_path / "o.csv")
    assert got["residents"].iloc[0] == pytest.approx(out["residents"].iloc[0], rel=1e-9)
    assert got["catchment"].iloc[0].startswith("4-minute walk (4.8 km/h")
    with pytest.raises(InputError, match="not both"):
        analyse_many(df.assign(radius="1km"), layer=london, walk="4min", network=fitzrovia)


def LONDON_DIR():
    from conftest import LONDON

    return LONDON


def test_plain_points_walk_within_circle_and_batch_equal(london, fitzrovia):
    """A plain point surface (no census zones, a spread per point): the walk never holds more
    than the circle, and many venues at once give one venue's numbers, ranges included."""
    from geotarget import estimate as est
    from geotarget.estimate.travel import count_many, count_travel
    from geotarget.layers.base import CountSurface

    d = london.surface("residents")
    plain = CountSurface(
        kind="points",
        unit="postcode",
        ids=d.ids,
        geoms=d.geoms,
        values=d.values,
        definition="residents",
        edge_m=np.full(len(d.values), 40.0),
    )
    net = load_network(fitzrovia, "walk")
    lim = parse_limit("walk", "300m")
    lats, lons = np.array([51.5185, 51.5190]), np.array([-0.1409, -0.1380])
    many, _ = count_many(plain, london.crs, net, lats, lons, lim)
    for i, (la, lo) in enumerate(zip(lats, lons)):
        c = travel_catchment(Venue(la, lo), net, walk="300m")
        one = count_travel(plain, london.crs, c.travel, c.to_crs(london.crs))
        circ = est.count(
            plain,
            np.array([circle(Venue(la, lo), 300).to_crs(london.crs)]),
            circles=est.Circles([la], [lo], [300.0], london.crs),
        )
        assert 0 < one.estimate[0] <= circ.estimate[0]
        assert one.low[0] < one.estimate[0] < one.high[0]
        for f in ("estimate", "low", "high"):
            assert getattr(many, f)[i] == pytest.approx(getattr(one, f)[0], abs=1e-6)


def test_pbf_reads_as_the_xml(fitzrovia, tmp_path):
    import osmium

    pbf = tmp_path / "fitzrovia.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(fitzrovia)):
            writer.add(obj)
    finally:
        writer.close()
    a = load_network(fitzrovia, "drive", cache=tmp_path / "c")
    b = load_network(pbf, "drive", cache=tmp_path / "c")
    assert np.array_equal(a.node_ids, b.node_ids)
    assert np.array_equal(a.cost_fwd, b.cost_fwd) and np.array_equal(a.cost_back, b.cost_back)
    assert b.sha256 != a.sha256
