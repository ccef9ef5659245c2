"""Batches of walks on the real Fitzrovia extract (../shared/data/osm-london): the platform table,
Dask and chains' overlaps give what the one-venue path (``geotarget analyse --walk``) gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED, need

import geotarget
from geotarget.batch import analyse_many
from geotarget.errors import InputError

pytestmark = pytest.mark.shared_data

#: a radius footprint (Meta), postcode districts (Google Ads), places (TikTok, LinkedIn)
PLATFORMS = "meta,google_ads,tiktok,linkedin"
VENUES = pd.DataFrame(
    {
        "id": ["a", "b", "c"],
        "lat": [51.5185, 51.5190, 51.5175],
        "lon": [-0.1409, -0.1380, -0.1440],
    }
)


@pytest.fixture(scope="module")
def fitzrovia():
    return need(SHARED / "osm-london" / "fitzrovia.osm")


@pytest.fixture(scope="module")
def walks(london, fitzrovia):
    return analyse_many(VENUES, layer=london, walk="400m", network=fitzrovia)


def _one(london, fitzrovia, r):
    return geotarget.analyse(
        (r.lat, r.lon), layer=london, walk="400m", network=fitzrovia, platforms=PLATFORMS
    )


def test_walk_platform_table_equals_one_venue_rows(london, fitzrovia, walks):
    from geotarget.platforms.feasibility import radius_needed
    from geotarget.venue import Venue

    table = geotarget.platforms_many(walks, PLATFORMS, layer=london, walk="400m", network=fitzrovia)
    assert list(dict.fromkeys(table.venue_id)) == ["a", "b", "c"]
    assert set(table["footprint_kind"]) >= {"radius", "postcode", "place"}
    for _, r in VENUES.iterrows():
        one = _one(london, fitzrovia, r)
        b = table[table.venue_id == r.id].drop(columns="venue_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(
            b, one.platforms.reset_index(), check_exact=True, check_dtype=False
        )
        # the walk's own people, not a circle's: the catchment column is the walk's count
        meta = b[b.id == "meta"].iloc[0]
        walk_people = one.residents.estimate + one.workers.estimate
        assert meta["people_in_catchment"] == pytest.approx(walk_people, abs=1.0)
        # Meta's circle holds the walk polygon (the smallest circle around the venue that does)
        fp = next(p for p in one.platform_rows if p["id"] == "meta")["footprint"]
        assert fp["radius_m"] >= radius_needed(one.catchment_obj, Venue(r.lat, r.lon)) - 1e-6


def test_walk_platform_table_needs_the_walk_it_was_counted_with(london, fitzrovia, walks):
    with pytest.raises(InputError, match="these rows are walks"):
        geotarget.platforms_many(walks, "meta", layer=london)
    with pytest.raises(InputError, match="not counted as a walk of 300 m"):
        geotarget.platforms_many(walks, "meta", layer=london, walk="300m", network=fitzrovia)
    circles = analyse_many(VENUES.iloc[:1], "400m", layer=london)
    with pytest.raises(InputError, match="circles"):
        geotarget.platforms_many(circles, "meta", layer=london, walk="400m", network=fitzrovia)


def test_cli_batch_walk_platforms(london, london_dir, fitzrovia, walks, tmp_path):
    from geotarget.cli import main

    far = pd.DataFrame({"id": ["far"], "lat": [51.5185], "lon": [-0.1600]})  # off the network
    csv = tmp_path / "v.csv"
    pd.concat([VENUES, far]).to_csv(csv, index=False)
    args = ["batch", str(csv), "--walk", "400m", "--network", str(fitzrovia)]
    args += ["--data-dir", str(london_dir), "--platforms", PLATFORMS, "-o", str(tmp_path / "o.csv")]
    assert main(args) == 11  # the venue off the network failed; the others were written
    got = pd.read_csv(tmp_path / "o.platforms.csv")
    want = geotarget.platforms_many(walks, PLATFORMS, layer=london, walk="400m", network=fitzrovia)
    assert list(got["venue_id"]) == list(want["venue_id"])
    assert list(got["verdict"]) == list(want["verdict"])
    for c in ("people", "people_in_catchment", "waste_share"):
        assert np.allclose(got[c], want[c], rtol=1e-9, equal_nan=True)


def test_network_pickles_compactly(fitzrovia):
    """A Dask worker gets the network's arrays once; what it derives from them is the same."""
    import pickle

    from geotarget.network import load_network, travel_catchment
    from geotarget.venue import Venue

    net = load_network(fitzrovia, "walk")
    here = travel_catchment(Venue(51.5185, -0.1409), net, walk="400m")  # fills its caches
    assert "tree" in net.__dict__ and "lines" in net.__dict__
    copy = pickle.loads(pickle.dumps(net))
    assert "tree" not in copy.__dict__ and copy._cache == {}
    assert np.array_equal(copy.cost_fwd, net.cost_fwd) and copy.key == net.key
    there = travel_catchment(Venue(51.5185, -0.1409), copy, walk="400m")
    assert np.array_equal(there.travel.dist, here.travel.dist)
    assert there.geometry.equals(here.geometry)


@pytest.mark.slow
def test_dask_walks_equal_one_process(london, fitzrovia):
    """Walks counted and judged on a Dask cluster (two in-process workers, one venue a task): the
    same rows as in one process."""
    pytest.importorskip("dask.distributed")
    import warnings

    from dask.distributed import Client, LocalCluster

    kw = {"layer": london, "walk": "400m", "network": fitzrovia}
    local = analyse_many(VENUES, chunk_size=1, **kw)
    local_table = geotarget.platforms_many(local, PLATFORMS, chunk_size=2, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up and shutdown notices
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            dist = analyse_many(VENUES, chunk_size=1, scheduler="dask", client=client, **kw)
            table = geotarget.platforms_many(
                dist, PLATFORMS, chunk_size=2, scheduler="dask", client=client, **kw
            )
    pd.testing.assert_frame_equal(
        pd.DataFrame(dist.drop(columns="geometry")),
        pd.DataFrame(local.drop(columns="geometry")),
        check_exact=True,
    )
    assert dist.geometry.equals(local.geometry)
    pd.testing.assert_frame_equal(table, local_table, check_exact=True)


def test_walk_overlap_equals_the_points_each_walk_reaches(london, fitzrovia, walks):
    """On a point layer the union and the shares are the points the one-venue walks reach
    (each venue searched alone, as ``analyse`` does): union = a + b - shared, exactly."""
    from geotarget.batch import chain_overlap
    from geotarget.estimate.travel import costs
    from geotarget.network import travel_catchment
    from geotarget.venue import Venue

    total, pairs = chain_overlap(walks, layer=london, walk="400m", network=fitzrovia)
    s = london.surface("residents")
    assert s.kind == "points"
    sets = {}
    for _, r in VENUES.iterrows():
        t = travel_catchment(Venue(r.lat, r.lon), fitzrovia, walk="400m").travel
        sets[r.id] = set(np.flatnonzero(costs(s, london.crs, t) <= t.limit.budget).tolist())
    people = {k: float(s.values[sorted(v)].sum()) for k, v in sets.items()}
    for k, v in people.items():  # each walk's own count
        assert walks.set_index("id").loc[k, "residents"] == pytest.approx(v, rel=1e-9)
    union = set().union(*sets.values())
    assert total == pytest.approx(float(s.values[sorted(union)].sum()), rel=1e-9)
    assert max(people.values()) < total < sum(people.values())
    got = {tuple(sorted((r.id_a, r.id_b))): r.shared for r in pairs.itertuples()}
    want = {
        (x, y): float(s.values[sorted(sets[x] & sets[y])].sum())
        for x in sets
        for y in sets
        if x < y and sets[x] & sets[y]
    }
    assert got.keys() == want.keys() and len(got) >= 2
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9)
        assert got[k] == pytest.approx(people[k[0]] + people[k[1]] - _union(s, sets, k), rel=1e-9)


def _union(s, sets, pair):
    return float(s.values[sorted(sets[pair[0]] | sets[pair[1]])].sum())


def test_walk_overlap_on_zones_by_the_polygons(london, fitzrovia):
    """Areal weighting is additive: the union of two walk polygons holds a + b - shared."""
    from geotarget.batch import chain_overlap

    kw = {"layer": london, "method": "areal", "walk": "400m", "network": fitzrovia}
    two = analyse_many(VENUES.iloc[:2], **kw)
    total, pairs = chain_overlap(two, **kw)
    a, b = two["residents"]
    assert len(pairs) == 1 and 0 < pairs.shared[0] < min(a, b)
    assert total == pytest.approx(a + b - pairs.shared[0], rel=1e-6)


def test_cli_batch_walk_overlap(london, london_dir, fitzrovia, walks, tmp_path, capsys):
    from geotarget.batch import chain_overlap
    from geotarget.cli import main

    csv = tmp_path / "v.csv"
    VENUES.to_csv(csv, index=False)
    ov = tmp_path / "ov.csv"
    args = ["batch", str(csv), "--walk", "400m", "--network", str(fitzrovia), "--overlap", str(ov)]
    assert main([*args, "--data-dir", str(london_dir), "-o", str(tmp_path / "o.csv")]) == 0
    total, pairs = chain_overlap(walks, layer=london, walk="400m", network=fitzrovia)
    assert f"counted once): {total:,.0f};" in capsys.readouterr().err
    got = pd.read_csv(ov)
    assert list(got["id_a"]) == list(pairs["id_a"])
    assert np.allclose(got["shared"], pairs["shared"], rtol=1e-9)
