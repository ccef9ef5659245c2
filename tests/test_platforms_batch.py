"""Platforms for many venues: the batch path equals the one-venue path, footprints conserve
people, widened circles are the smallest that clear the minimum, district sets are cached."""

import numpy as np
import pandas as pd
import pytest

import geotarget
from geotarget.platforms import evaluate_many, load
from geotarget.platforms.footprints import Facts

ALL_BUT_SPECIAL = ["meta", "google_ads", "google_dv360", "microsoft", "linkedin", "tiktok",
                   "snapchat", "x", "pinterest", "reddit", "nextdoor"]
SCOTLAND = pd.DataFrame({  # city centre, suburb, a glen (few people), a loch shore, the sea
    "id": ["edinburgh", "leith", "glen", "loch", "sea"],
    "lat": [55.9533, 55.9755, 57.10, 56.33, 56.0],
    "lon": [-3.1883, -3.1700, -4.70, -4.65, -1.0],
})


def _same(batch: pd.DataFrame, single: pd.DataFrame, vid) -> None:
    b = batch[batch.venue_id == vid].drop(columns="venue_id").reset_index(drop=True)
    s = single.reset_index()
    pd.testing.assert_frame_equal(b, s, check_exact=True, check_dtype=False)


def test_builtin_batch_table_equals_single_venue_rows():
    g = geotarget.analyse_many(SCOTLAND, "0.5mi")
    table = geotarget.platforms_many(g, "all", budget=100.0, currency="GBP")
    assert set(table.venue_id) == {"edinburgh", "leith", "glen", "loch"}  # the sea: no layer
    assert list(dict.fromkeys(table.venue_id)) == ["edinburgh", "leith", "glen", "loch"]
    for _, r in SCOTLAND.iloc[:4].iterrows():
        one = geotarget.analyse((r.lat, r.lon), "0.5mi", platforms="all", budget=100.0,
                                currency="GBP")
        _same(table, one.platforms, r.id)


@pytest.mark.shared_data
def test_london_batch_table_equals_single_venue_rows(london):
    rng = np.random.default_rng(3)
    v = pd.DataFrame({"id": np.arange(12), "lat": rng.uniform(51.35, 51.62, 12),
                      "lon": rng.uniform(-0.35, 0.15, 12)})
    for method in (None, "areal"):
        g = geotarget.analyse_many(v, "0.5mi", layer=london, method=method)
        table = geotarget.platforms_many(g, ALL_BUT_SPECIAL, layer=london, method=method)
        assert len(table) == 12 * len(ALL_BUT_SPECIAL)
        for _, r in v.iterrows():
            one = geotarget.analyse((r.lat, r.lon), "0.5mi", layer=london, method=method,
                                    platforms=ALL_BUT_SPECIAL)
            _same(table, one.platforms, r.id)


def _facts(layer, lat, lon, r, method=None):
    from geotarget import estimate as est
    from geotarget.catchment import circles_in

    lat, lon, r = (np.asarray(a, float) for a in (lat, lon, r))
    return Facts(layer, lat, lon, r, circles_in(lat, lon, r, layer.crs),
                 est.Circles(lat, lon, r, layer.crs), method)


@pytest.mark.shared_data
@pytest.mark.parametrize("method", [None, "areal"])
def test_districts_split_the_catchment_without_loss(london, method):
    """The catchment's people, split over the postcode districts it touches, add up to its
    count (points: each in exactly one district; zones: areal weighting of a partition)."""
    rng = np.random.default_rng(4)
    lat, lon = rng.uniform(51.4, 51.6, 30), rng.uniform(-0.3, 0.1, 30)
    f = _facts(london, lat, lon, np.full(30, 804.672), method)
    ds, tot, per_venue = f.districts()
    for i in range(30):
        d, gains = per_venue(i)
        for pop in ("residents", "workers"):
            assert gains[pop].sum() == pytest.approx(f.catch[pop].estimate[i], rel=1e-6,
                                                     abs=1e-6)
            assert (gains[pop] <= tot[pop][0][d] * (1 + 1e-9) + 1e-6).all()  # part <= whole


@pytest.mark.parametrize("pid", ["google_ads", "google_dv360"])
def test_widened_circle_is_the_smallest_that_clears_the_minimum(scotland, pid):
    """In a glen a 1 km circle holds a handful of people: Google Ads' circle is widened by the
    advertiser until its audience clears the minimum of 100 (in 0.01 km steps); DV360 widens
    its own circle to hold 1,000 people (to the metre).  Either way, the smallest such circle."""
    cat = load()
    p = cat.platforms[pid]
    row = evaluate_many(scotland, [57.10], [-4.70], [804.672], [pid], cat)[0][0]
    f = _facts(scotland, [57.10], [-4.70], [804.672])
    fp = next(x for x in p.footprints_for("GB") if x.kind == "radius")
    pick = f.radius(fp, "residents", min_audience=p.min_audience, conv=1.0)
    r = float(pick.r[0])
    assert row["footprint"]["radius_m"] == pytest.approx(r, abs=1e-3)
    tot = f.circle_totals(np.array([0, 0]), np.array([r, r - (10.0 if pid == "google_ads"
                                                                else 1.0)]), "residents")
    if pid == "google_ads":
        assert pick.widened[0] and not pick.grown[0]
        assert tot[0] >= p.min_audience > tot[1]
        assert round(r / 10) * 10 == pytest.approx(r)  # whole 0.01 km
        assert row["min_audience"]["met"] is True
        assert "widened until the audience clears" in " ".join(row["footprint"]["notes"])
    else:
        assert pick.grown[0]
        assert tot[0] >= fp.min_people > tot[1]
        assert "as the platform does" in " ".join(row["footprint"]["notes"])
    assert row["people"]["total"] == round(tot[0])


def test_people_grow_with_the_radius(scotland):
    f = _facts(scotland, [55.9533] * 6, [-3.1883] * 6, [500, 800, 1000, 2000, 4000, 8000])
    tot = f.catch["residents"].estimate
    assert (np.diff(tot) > 0).all()
    again = f.circle_totals(np.arange(6), np.array([500, 800, 1000, 2000, 4000, 8000.0]),
                            "residents")
    np.testing.assert_array_equal(again, tot)  # circle counts are the catchment counts


def test_district_set_cached_on_disk_and_rebuilt_when_damaged(scotland):
    from geotarget.layers import cache
    from geotarget.platforms import districts

    first = districts.for_layer(scotland)
    files = list((cache.cache_root() / "districts").glob("*.parquet"))
    assert files and len(first.codes) > 400 and "EH1" in first.index
    scotland.__dict__.pop("_districts")
    again = districts.for_layer(scotland)
    assert list(again.codes) == list(first.codes)
    assert shapely_equal(again.polygons, first.polygons)
    files[0].write_bytes(files[0].read_bytes()[:100])  # truncated
    scotland.__dict__.pop("_districts")
    rebuilt = districts.for_layer(scotland)
    assert list(rebuilt.codes) == list(first.codes)
    assert shapely_equal(rebuilt.polygons, first.polygons)


def shapely_equal(a, b) -> bool:
    import shapely

    return bool(shapely.equals_exact(a, b, tolerance=1e-6).all())


def test_cli_batch_platform_table(tmp_path):
    import subprocess
    import sys

    csv = tmp_path / "v.csv"
    SCOTLAND.to_csv(csv, index=False)
    out = tmp_path / "out.csv"
    p = subprocess.run([sys.executable, "-m", "geotarget", "batch", str(csv), "-r", "0.5mi",
                        "--platforms", "meta,linkedin", "-o", str(out)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 11, p.stderr  # the sea row failed (no layer); the rest written
    table = pd.read_csv(tmp_path / "out.platforms.csv")
    assert len(table) == 8 and set(table["id"]) == {"meta", "linkedin"}
    one = geotarget.analyse((55.9533, -3.1883), "0.5mi", platforms="meta,linkedin").platforms
    got = table[table.venue_id == "edinburgh"].set_index("id")
    assert got.loc["linkedin", "footprint"] == one.loc["linkedin", "footprint"]
    assert got.loc["meta", "people"] == one.loc["meta", "people"]
