"""People counted once (issue 12, part 3): residents + workers travelling in, less the workers
who also live in the footprint.  Known answers from the ODWP01 flows, conservation of the
flows, and the invariants residents, workers <= people <= residents + workers."""

import gzip

import numpy as np
import pandas as pd
import pytest
from conftest import LONDON, need

import geotarget
from geotarget.layers import cache, load_layer
from geotarget.layers.commuting import OVERLAP

#: London's usual residents (TS001) and the people who travel in to work in London from
#: elsewhere in England & Wales (ODWP01EW LTLA flows, place of work indicator 3)
LONDON_RESIDENTS, LONDON_IN_COMMUTERS = 8_799_776, 342_059


@pytest.fixture(scope="module")
def ew():
    return load_layer("ew-census2021")


@pytest.fixture(scope="module")
def linkedin():
    r = geotarget.analyse("EC2Y 8BN", radius="0.5mi", platforms=["linkedin"])
    (row,) = [p for p in r.platform_rows if p["id"] == "linkedin"]
    return r, row


def test_linkedin_greater_london_holds_its_people_once(linkedin):
    r, row = linkedin
    pe = row["people"]
    assert row["footprint"]["label"] == "Greater London"
    assert pe["total"] == pytest.approx(LONDON_RESIDENTS + LONDON_IN_COMMUTERS, rel=0.01)
    # residents and workers stay visible apart; the people counted twice are shown
    assert pe["total"] == pe["residents"] + pe["workers"] - pe["live_and_work"]
    assert pe["workers"] - pe["live_and_work"] == pytest.approx(LONDON_IN_COMMUTERS, rel=0.01)


def test_the_catchment_counts_its_own_commuters_once(linkedin):
    r, row = linkedin
    res, wrk = r.residents.estimate, r.workers.estimate
    assert res == pytest.approx(11_749, rel=0.01) and wrk == pytest.approx(48_415, rel=0.01)
    inside = row["people"]["in_catchment"]
    assert max(res, wrk) <= inside < res + wrk


@pytest.mark.parametrize("venue", ["M1 1AE", "CF10 1EP", "SW1A 1AA"])
@pytest.mark.parametrize("radius", ["0.5mi", "3mi"])
def test_people_lie_between_the_larger_part_and_the_sum(venue, radius):
    r = geotarget.analyse(venue, radius=radius, platforms=["meta", "linkedin", "google_ads"])
    res, wrk = r.residents.estimate, r.workers.estimate
    for row in r.platform_rows:
        pe = row.get("people")
        if not pe or pe["basis"] != "residents+workers":
            continue
        assert max(res, wrk) - 1 <= pe["in_catchment"] <= res + wrk + 1
        assert max(pe["residents"], pe["workers"]) - 1 <= pe["total"]
        assert pe["total"] <= pe["residents"] + pe["workers"] + 1
        assert 0 <= pe["live_and_work"] <= min(pe["residents"], pe["workers"]) + 1


def _whole(ew, msoas, n=1):
    """Group counts holding every group of ``msoas`` whole, in area 0."""
    out = []
    for s in (ew.residents, ew.workers):
        g = np.flatnonzero(np.isin(s.group_area, msoas))
        out.append((np.zeros(len(g), np.int64), g, s.group_totals[g]))
    return out


def _overlap(ew, msoas):
    from geotarget.layers.commuting import area_totals

    c = ew.commuting
    (rg, wg), n = _whole(ew, msoas), len(c.within)
    r, w = ew.residents, ew.workers
    return float(
        c.overlap(rg, r.group_area, area_totals(r, n), wg, w.group_area, area_totals(w, n), 1)[0]
    )


def test_the_estimate_is_exact_on_whole_msoas_and_authorities(ew):
    c = ew.commuting
    m = np.flatnonzero(c.area_la == 0)  # the first local authority's MSOAs
    assert _overlap(ew, m[:1]) == pytest.approx(c.within[m[0]])
    assert _overlap(ew, m) == pytest.approx(c.flows[0, 0])
    two = np.flatnonzero(c.area_la <= 1)
    assert _overlap(ew, two) == pytest.approx(c.flows[:2, :2].sum())
    assert _overlap(ew, np.arange(len(c.within))) == pytest.approx(c.total_internal)


def test_shipped_flows_conserve_odwp01(ew):
    raw = pd.read_csv(
        need(LONDON / "workers" / "ODWP01EW_LTLA.csv.gz"), usecols=[0, 2, 4, 6], dtype=str
    )
    raw.columns = ["home", "work", "ind", "n"]
    raw = raw[raw["ind"] == "3"]
    raw["n"] = raw["n"].astype(int)
    lon = [x for x in ew.commuting.la_codes if x.startswith("E09")]
    into = raw[raw["work"].isin(lon) & ~raw["home"].isin(lon)]["n"].sum()
    assert into == LONDON_IN_COMMUTERS
    c = ew.commuting
    ew_las = set(c.la_codes.tolist())
    inner = raw[raw["home"].isin(ew_las) & raw["work"].isin(ew_las)]["n"].sum()
    assert c.total_internal == inner
    # every worker of a place is an in-commuter or lives there: London's inflow is conserved
    london = np.isin(c.la_codes, lon)
    inflow = c.flows[:, london].sum()
    assert inflow - c.places_overlap(lon) == LONDON_IN_COMMUTERS
    with gzip.open(LONDON / "workers" / "ODWP01EW_LTLA.csv.gz", "rt") as f:
        assert f.readline().startswith("Lower tier local authorities code")


def test_the_commuting_flows_survive_the_cache(ew, tmp_path):
    cache.write(ew, tmp_path / "layer")
    back = cache.read(tmp_path / "layer")
    assert back is not None and back.commuting is not None
    np.testing.assert_array_equal(back.commuting.flows, ew.commuting.flows)
    np.testing.assert_array_equal(back.residents.group_area, ew.residents.group_area)
    np.testing.assert_array_equal(back.workers.group_area, ew.workers.group_area)


def test_a_layer_without_flows_adds_people_as_before(scotland):
    from geotarget.platforms.footprints import basis_total

    assert scotland.commuting is None
    assert basis_total({"residents": 5.0, "workers": 3.0}, "residents+workers") == 8.0
    assert basis_total({"residents": 5.0, "workers": 3.0, OVERLAP: 2.0}, "residents") == 5.0
    assert basis_total({"residents": 5.0, "workers": 3.0, OVERLAP: 2.0}, "residents+workers") == 6.0


# -- the batch platform table counts people once, as analyse does ------------------------------

#: the platform table's figures that must equal analyse's, row for row
SAME = [
    "verdict",
    "footprint",
    "footprint_kind",
    "people",
    "residents",
    "workers",
    "live_and_work",
    "people_in_catchment",
    "accounts",
    "share_inside",
    "waste_share",
    "waste_money",
    "min_audience_met",
    "advice",
]


def _batch_and_analyse(venue, radius):
    """The batch's platform rows (``platforms_many``) and analyse's, for one venue."""
    kw = {"budget": 500.0, "currency": "GBP"}
    one = geotarget.analyse(venue, radius=radius, platforms="all", **kw)
    v = pd.DataFrame({"id": ["v"], "lat": [one.venue["lat"]], "lon": [one.venue["lon"]]})
    many = geotarget.analyse_many(v, radius)
    assert many["layer"].iloc[0] == "ew-census2021"
    table = geotarget.platforms_many(many, "all", **kw)
    return table.drop(columns="venue_id").set_index("id"), one.platforms


@pytest.mark.parametrize(
    "venue, radius, meta_people",
    [("EC2Y 8BN", "0.5mi", 95_715), ((51.52, -0.095), "5km", 1_420_378)],
    ids=["EC2Y-8BN-0.5mi", "51.52,-0.095-5km"],
)
def test_batch_rows_equal_analyse_rows(venue, radius, meta_people):
    batch, one = _batch_and_analyse(venue, radius)
    assert list(batch.index) == list(one.index)
    old = [c for c in SAME if c != "live_and_work"]  # the columns the table had before
    pd.testing.assert_frame_equal(batch[old], one[old], check_exact=True)
    pd.testing.assert_frame_equal(batch[SAME], one[SAME], check_exact=True)
    rw = batch[batch["workers"].notna()]
    assert len(rw) >= 10 and (rw["live_and_work"] > 0).all()
    # each person once: people = residents + workers - those who are both (to rounding)
    gap = rw["people"] - (rw["residents"] + rw["workers"] - rw["live_and_work"])
    assert gap.abs().max() <= 1
    assert batch.loc["meta", "people"] == pytest.approx(meta_people, rel=0.005)
    li = batch.loc["linkedin"]
    assert li["footprint"] == "Greater London"
    assert li["people"] == pytest.approx(LONDON_RESIDENTS + LONDON_IN_COMMUTERS, rel=0.01)
    assert li["workers"] - li["live_and_work"] == pytest.approx(LONDON_IN_COMMUTERS, rel=0.01)


def test_array_table_equals_per_venue_path_on_the_builtin_layer():
    """The batch's array work against its per-venue reference where the layer has commuting
    flows: circles, postcode districts, places and the country, each person once."""
    import geotarget.batch.platforms as bp
    from geotarget.layers import load_layer
    from geotarget.projections import transformer

    lay = load_layer("ew-census2021")
    rng = np.random.default_rng(12)
    x = rng.uniform(525_000, 540_000, 30)  # central London (British National Grid)
    y = rng.uniform(175_000, 186_000, 30)
    lon, lat = transformer("EPSG:27700", "EPSG:4326").transform(x, y)
    v = pd.DataFrame(
        {
            "id": [f"v{i}" for i in range(33)],
            "lat": [*lat, 53.4794, 51.4816, 52.95],  # and Manchester, Cardiff, Nottingham
            "lon": [*lon, -2.2453, -3.1791, -1.15],
            "radius": [*rng.choice(["0.3mi", "0.5mi", "1.2km", "3mi"], 30), "0.5mi", "3mi", "8km"],
        }
    )
    g = geotarget.analyse_many(v, "0.5mi", layer=lay)
    kw = {"budget": 250.0, "currency": "GBP"}
    fast = geotarget.platforms_many(g, "all", layer=lay, **kw)
    saved = bp._table_job
    bp._table_job = bp._table_job_per_venue
    try:
        ref = geotarget.platforms_many(g, "all", layer=lay, **kw)
    finally:
        bp._table_job = saved
    pd.testing.assert_frame_equal(fast, ref, check_exact=True, check_dtype=True)
    assert set(fast["footprint_kind"].dropna()) >= {"radius", "postcode", "place"}
    rw = fast[fast["workers"].notna()]
    assert rw["live_and_work"].notna().all() and (rw["live_and_work"] > 0).all()
    assert (rw["people"] <= rw["residents"] + rw["workers"] - rw["live_and_work"] + 1).all()
    assert (rw["people"] >= np.maximum(rw["residents"], rw["workers"]) - 1).all()


def test_postcode_districts_counted_once_as_their_union_polygon(ew):
    """A set of districts' people counted once from its districts' parts equals the estimate
    on the union polygon counted afresh (and the catchment's part, on the union cut by the
    catchment), to float rounding."""
    import shapely

    from geotarget import estimate as est
    from geotarget.catchment import circles_in
    from geotarget.layers.commuting import overlap_of
    from geotarget.platforms.footprints import Facts

    lat, lon, r = np.array([51.5188, 51.47, 51.55]), np.array([-0.0911, -0.17, 0.02]), 1609.344
    rr = np.full(3, r)
    f = Facts(ew, lat, lon, rr, circles_in(lat, lon, rr, ew.crs), est.Circles(lat, lon, rr, ew.crs))
    ds, _, per_venue = f.districts()
    for i in range(3):
        hit, _ = per_venue(i)
        k = np.arange(min(4, len(hit)))
        assert len(k) >= 2  # a set of districts, not one
        once = f.districts_overlap(np.zeros(len(k), np.int64), f.pair_start(i) + k, 1)
        assert once is not None
        union = shapely.union_all(ds.polygons[hit[k]])
        geoms = np.array([union, shapely.intersection(union, f.geoms[i])], dtype=object)
        c = {p: est.count(s, geoms, groups=True) for p, s in f.surfaces.items()}
        fresh = overlap_of(ew.commuting, ew.residents, c["residents"], ew.workers, c["workers"])
        assert fresh is not None and fresh[1] > 0
        assert once[0][0] == pytest.approx(fresh[0], rel=1e-9)
        assert once[1][0] == pytest.approx(fresh[1], rel=1e-9)


def test_batch_on_a_layer_without_flows_adds_people_as_before(london):
    """The --data-dir London layer has no commuting flows: nobody is taken off."""
    assert london.commuting is None
    v = pd.DataFrame({"id": [1, 2], "lat": [51.5188, 51.47], "lon": [-0.0911, -0.17]})
    g = geotarget.analyse_many(v, "0.5mi", layer=london)
    t = geotarget.platforms_many(g, "meta,linkedin,tiktok", layer=london)
    assert t["live_and_work"].isna().all()
    rw = t[t["workers"].notna()]
    assert len(rw) == 6 and (rw["people"] - rw["residents"] - rw["workers"]).abs().max() <= 1
