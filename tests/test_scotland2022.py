"""Scotland's Census 2022 built in: totals conserved against the published OA table, ages beside
the residents, the Data Zone hold-out, and the Great Britain layer across the border."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED, need

import geotarget
from geotarget.errors import InputError
from geotarget.layers import builtin, load_layer

SCOT = SHARED / "scotland-census2022"
#: Gretna (Dumfries and Galloway), on the border: a 5 km circle reaches Cumbria
GRETNA = "55.0,-3.06"


@pytest.fixture(scope="module")
def uv101b() -> pd.DataFrame:
    return pd.read_parquet(need(SCOT) / "UV101b.parquet")


def _oa_table() -> pd.DataFrame:
    with resources.as_file(builtin.file("scotland-census2022-oa.parquet")) as p:
        return pd.read_parquet(p)


def test_totals_conserved_against_uv101b(uv101b):
    oa = _oa_table().set_index("oa22cd")
    assert len(oa) == len(uv101b) == 46_363
    pub = uv101b["UV101b0001"].reindex(oa.index)
    assert (oa["residents"] == pub).all()
    assert int(oa["residents"].sum()) == 5_440_284
    assert (oa["aged_16plus"] == pub - uv101b["UV101b0002"].reindex(oa.index)).all()
    for counts in ("oa", "dz"):
        lay = load_layer("scotland-census2022", counts=counts)
        assert lay.residents.total == pytest.approx(5_440_284, abs=1e-3)
        assert lay.residents.extra["aged_16plus"].sum() == pytest.approx(
            float(oa["aged_16plus"].sum()), abs=1e-3
        )


def test_edinburgh_uses_oa_2022_counts(uv101b):
    """EH1 1YZ, half a mile: OA counts summed independently (OA centroids in the circle, from
    the published table) against the built-in postcode placement."""
    from pyproj import Geod

    r = geotarget.analyse("EH1 1YZ", radius="0.5mi")
    oa = _oa_table()
    lon, lat = (
        __import__("pyproj")
        .Transformer.from_crs(27700, 4326, always_xy=True)
        .transform(oa["easting"].to_numpy(float), oa["northing"].to_numpy(float))
    )
    v = r.venue
    _, _, d = Geod(ellps="WGS84").inv(
        np.full(len(oa), v["lon"]), np.full(len(oa), v["lat"]), lon, lat
    )
    inside = uv101b["UV101b0001"].reindex(oa["oa22cd"]).to_numpy()[d <= 804.672].sum()
    assert inside == pytest.approx(12_500, rel=0.01)
    assert r.residents.estimate == pytest.approx(inside, rel=0.06)
    d16 = r.to_dict()["residents"]
    assert d16["aged_16plus"] == pytest.approx(r.residents.extra["aged_16plus"], abs=0.1)
    assert d16["aged_18plus"] < d16["aged_16plus"] < d16["estimate"]


def test_data_zone_holdout():
    oa_r = geotarget.analyse("EH1 1YZ", radius="0.5mi")
    dz_r = geotarget.analyse("EH1 1YZ", radius="0.5mi", counts="dz")
    assert dz_r.residents.unit == "Data Zone 2022"
    assert dz_r.residents.estimate == pytest.approx(oa_r.residents.estimate, rel=0.05)
    assert dz_r.residents.low <= oa_r.residents.estimate <= dz_r.residents.high
    with pytest.raises(InputError, match="--counts dz"):
        geotarget.analyse("EH1 1YZ", radius="0.5mi", counts="lsoa")
    with pytest.raises(InputError, match="--counts lsoa"):
        geotarget.analyse("EC2Y 8BN", radius="0.5mi", counts="dz")


def test_england_says_ages_not_available():
    r = geotarget.analyse("EC2Y 8BN", radius="0.5mi")
    d = r.to_dict()["residents"]
    assert d["aged_16plus"] is None and "not available" in d["unavailable"]["aged_16plus"]
    assert "Residents 16+" in r.to_text() and "n/a" in r.to_text()


def test_border_catchment_counts_both_countries():
    r = geotarget.analyse(GRETNA, radius="5km")
    assert r.layer["name"] == "gb-census"
    shares = {p["name"]: p["catchment_share"] for p in r.layer["parts"]}
    assert shares["ew-census2021"] > 0.2 and shares["scotland-census2022"] > 0.2
    assert "2021" in r.layer["vintage"] and "2022" in r.layer["vintage"]
    # the joint count is the two countries' counts on the same circle, each from its own layer
    ew = geotarget.analyse(GRETNA, radius="5km", layer="ew-census2021")
    sc = geotarget.analyse(GRETNA, radius="5km", layer="scotland-census2022")
    assert ew.residents.estimate > 200 and sc.residents.estimate > 2_000
    assert r.residents.estimate == pytest.approx(
        ew.residents.estimate + sc.residents.estimate, rel=1e-9
    )
    # ages for the Scottish part only, and said so; workers a lower bound (England only)
    assert r.residents.extra["aged_16plus"] == pytest.approx(
        sc.residents.extra["aged_16plus"], rel=1e-9
    )
    assert "Scotland part only" in r.residents.notes["age"]
    assert any("workers are counted in the England & Wales part" in w for w in r.warnings)
    assert r.layer["parts"][1]["caveats"] and "Scotland" in " ".join(r.layer["caveats"])


def test_gb_layer_total_is_both_countries():
    gb = load_layer("gb-census")
    ew = load_layer("ew-census2021")
    assert gb.residents.total == pytest.approx(ew.residents.total + 5_440_284, rel=1e-12)
    assert len(gb.parts) == 2
    # a catchment wholly in Scotland: no workers from the joint layer, with Scotland's reason
    r = geotarget.analyse("EH1 1YZ", radius="0.5mi", layer=gb)
    assert r.workers is None and "workplace" in r.workers_unavailable
    assert r.residents.estimate == pytest.approx(
        geotarget.analyse("EH1 1YZ", radius="0.5mi").residents.estimate, rel=1e-9
    )


def test_report_shows_adults(tmp_path):
    from geotarget.cli import main

    out = tmp_path / "r.html"
    assert main(["report", "EH1 1YZ", "--radius", "0.5mi", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Residents 16+" in html and "Residents 18+" in html
    assert "Scotland&#x27;s Census 2022" in html or "Scotland's Census 2022" in html
