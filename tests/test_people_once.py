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
