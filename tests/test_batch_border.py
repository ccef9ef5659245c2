"""Batch across the England-Scotland border: a row whose circle reaches the other country is
counted on the Great Britain layer (both sides), exactly as ``analyse`` counts that venue; rows
in one country keep their own layer, and an all-England batch is unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geotarget
from geotarget.batch import analyse_many
from geotarget.catchment import circle
from geotarget.errors import NoCoverageError
from geotarget.layers import choose_layer
from geotarget.venue import Venue

#: venues and radii: three 5 km circles across the border (Gretna and Coldstream are in
#: Scotland, Longtown in Cumbria), Annan half a mile (Scotland, not reaching England), and one
#: venue in London and one in Edinburgh
VENUES = pd.DataFrame(
    {
        "id": ["gretna", "longtown", "coldstream", "annan", "london", "edinburgh"],
        "lat": [55.0, 55.01, 55.648, 54.988, 51.5202, 55.9533],
        "lon": [-3.06, -2.97, -2.252, -3.262, -0.0937, -3.1883],
        "radius": ["5km", "5km", "5km", "0.5mi", "0.5mi", "0.5mi"],
    }
)
BORDER = ["gretna", "longtown", "coldstream"]
LAYER_OF = {
    "gretna": "gb-census",
    "longtown": "gb-census",
    "coldstream": "gb-census",
    "annan": "scotland-census2022",
    "london": "ew-census2021",
    "edinburgh": "scotland-census2022",
}
EW, SC = "ew-census2021", "scotland-census2022"


def _nan(x) -> float:
    return np.nan if x is None else float(x)


def _expected(one) -> dict[str, float]:
    """The batch columns a one-venue result stands for (absent: NaN)."""
    r, w = one.residents, one.workers
    return {
        "residents": r.estimate,
        "residents_low": r.low,
        "residents_high": r.high,
        "workers": _nan(w and w.estimate),
        "workers_low": _nan(w and w.low),
        "workers_high": _nan(w and w.high),
        "home_workers": _nan(w and w.extra.get("home_workers")),
        "coverage": one.coverage_fraction,
        "aged_16plus": _nan(r.extra.get("aged_16plus")),
        "aged_18plus": _nan(r.extra.get("aged_18plus")),
        "age_base": _nan(r.extra.get("age_base")),
    }


def _check_row(row: pd.Series, one) -> None:
    for col, want in _expected(one).items():
        got = float(row[col]) if col in row.index else np.nan
        if np.isnan(want):
            assert np.isnan(got), (row["id"], col, got)
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-6), (row["id"], col)
    assert row["layer"] == one.layer["name"]


@pytest.fixture(scope="module")
def batch() -> pd.DataFrame:
    return analyse_many(VENUES)


def test_each_row_equals_analyse(batch):
    assert list(batch["id"]) == list(VENUES["id"])
    assert batch["error"].isna().all()
    assert dict(zip(batch["id"], batch["layer"])) == LAYER_OF
    for _, v in VENUES.iterrows():
        one = geotarget.analyse((v.lat, v.lon), v.radius)
        _check_row(batch[batch.id == v.id].iloc[0], one)
        if v.id in BORDER:  # each country with its own vintage, in the one-venue result
            assert [p["name"] for p in one.layer["parts"]] == [EW, SC]
            assert "2021" in one.layer["vintage"] and "2022" in one.layer["vintage"]


def test_border_rows_count_both_countries(batch):
    """Each border row is its England & Wales part plus its Scotland part, each counted on
    that country's layer alone; the joint coverage is the whole circle on land (Gretna's
    circle reaches into the Solway Firth), where each country's layer alone covers part."""
    b = VENUES[VENUES.id.isin(BORDER)]
    ew = analyse_many(b, layer=EW).set_index("id")
    sc = analyse_many(b, layer=SC).set_index("id")
    gb = batch.set_index("id").loc[BORDER]
    for vid in BORDER:
        row = gb.loc[vid]
        assert ew.loc[vid, "residents"] > 5 and sc.loc[vid, "residents"] > 5
        alone = ew.loc[vid, "coverage"], sc.loc[vid, "coverage"]
        assert min(alone) > 0.02  # the circle reaches both countries
        assert row["residents"] == pytest.approx(
            ew.loc[vid, "residents"] + sc.loc[vid, "residents"], rel=1e-9
        )
        assert row["coverage"] > max(alone) + 0.02
        assert row["coverage"] == pytest.approx(sum(alone), abs=0.03)  # the outlines' seams
        # workers and home-workers: England & Wales's (Scotland counts none); ages: Scotland's
        assert row["workers"] == pytest.approx(ew.loc[vid, "workers"], rel=1e-9, abs=1e-9)
        assert row["home_workers"] == pytest.approx(ew.loc[vid, "home_workers"], rel=1e-9)
        assert np.isnan(sc.loc[vid, "workers"])
        assert row["aged_16plus"] == pytest.approx(sc.loc[vid, "aged_16plus"], rel=1e-9)
        assert row["age_base"] == pytest.approx(sc.loc[vid, "residents"], rel=1e-9)
    assert gb.loc[["longtown", "coldstream"], "coverage"].min() > 0.998
    assert gb.loc["gretna", "coverage"] > 0.95


def test_all_england_batch_unchanged():
    """Venues in England only, two of them near the border with circles that stay in England:
    every row on the England & Wales layer, identical to a batch with that layer fixed (the
    layer chosen without the Great Britain one)."""
    df = pd.DataFrame(
        {
            "id": ["barbican", "manchester", "carlisle", "berwick"],
            "lat": [51.5202, 53.4794, 54.8925, 55.7704],
            "lon": [-0.0937, -2.2453, -2.9329, -2.0036],
            "radius": ["0.5mi", "1km", "2km", "1km"],
        }
    )
    g = analyse_many(df)
    assert set(g["layer"]) == {EW}
    assert not {"aged_16plus", "age_base"} & set(g.columns)
    fixed = analyse_many(df, layer=EW)
    pd.testing.assert_frame_equal(g, fixed, check_exact=True)
    # Berwick's circle reaching Scotland is the Great Britain layer's
    wide = analyse_many(df.assign(radius=["0.5mi", "1km", "2km", "6km"]))
    assert list(wide["layer"]) == [EW, EW, EW, "gb-census"]


def test_layer_choice_equals_one_venue_choice_near_the_border():
    """Venues scattered over the border country, radii 0.5 to 15 km: each row's layer is the
    one ``analyse`` would choose for that venue (the batch's quick box test never drops a
    circle that reaches the other country)."""
    rng = np.random.default_rng(12)
    n = 120
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "lat": rng.uniform(54.85, 55.85, n),
            "lon": rng.uniform(-3.4, -1.9, n),
            "radius": [f"{r:.0f}m" for r in rng.uniform(500, 15_000, n)],
        }
    )
    g = analyse_many(df)
    crossing = 0
    for v, row in zip(df.itertuples(), g.itertuples()):
        try:
            want = choose_layer(v.lat, v.lon, catchment=circle(Venue(v.lat, v.lon), v.radius)).name
        except NoCoverageError:
            want = None  # the sea
        assert (row.layer if row.error is None else None) == want, (v.lat, v.lon, v.radius)
        crossing += want == "gb-census"
    assert 15 < crossing < n - 15  # both kinds of row are tested


def test_fixed_gb_layer_rows_equal_analyse():
    """``--layer gb-census`` on venues wholly in one country: the one-venue rules for its parts
    (no workers in Scotland, no ages in England & Wales)."""
    df = VENUES[VENUES.id.isin(["london", "edinburgh", "gretna"])]
    g = analyse_many(df, layer="gb-census")
    for _, v in df.iterrows():
        one = geotarget.analyse((v.lat, v.lon), v.radius, layer="gb-census")
        _check_row(g[g.id == v.id].iloc[0], one)
    row = g.set_index("id")
    assert np.isnan(row.loc["edinburgh", "workers"]) and row.loc["london", "workers"] > 0
    assert np.isnan(row.loc["london", "aged_16plus"]) and row.loc["edinburgh", "aged_16plus"] > 0


def test_border_platform_rows_equal_analyse(batch):
    plats = ["google_dv360", "linkedin"]  # a radius and the places (no postcode districts)
    ids = ["gretna", "longtown", "annan", "edinburgh"]
    table = geotarget.platforms_many(batch[batch.id.isin(ids)], plats, budget=500.0)
    assert list(dict.fromkeys(table.venue_id)) == ids
    for _, v in VENUES[VENUES.id.isin(ids)].iterrows():
        one = geotarget.analyse((v.lat, v.lon), v.radius, platforms=plats, budget=500.0)
        b = table[table.venue_id == v.id].drop(columns="venue_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(
            b, one.platforms.reset_index(), check_exact=True, check_dtype=False
        )
