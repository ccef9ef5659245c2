"""The built-in England & Wales Census 2021 layer (issue 12): known answers, conservation of the
census totals, the layer chosen per venue, and venues outside the data failing."""

import json

import numpy as np
import pandas as pd
import pytest

import geotarget
from geotarget.cli import main
from geotarget.errors import NoCoverageError
from geotarget.layers import builtin, choose_layer, load_layer

#: TS001 (Census 2021), each level rounded apart by ONS: Output Area rows sum to 59,597,747,
#: LSOA rows to 59,597,601, the national row is 59,597,542
OA_TOTAL, LSOA_TOTAL, NATIONAL = 59_597_747, 59_597_601, 59_597_542


@pytest.fixture(scope="module")
def ew():
    return load_layer("ew-census2021")


def _table(part):
    from importlib import resources

    with resources.as_file(builtin.file(f"ew-census2021-{part}.parquet")) as p:
        return pd.read_parquet(p)


def test_residents_conserve_the_census_totals(ew):
    meta = builtin.metadata("ew-census2021")
    assert meta["residents_national"] == NATIONAL and meta["residents_total_oa"] == OA_TOTAL
    assert ew.residents.total == pytest.approx(OA_TOTAL, abs=0.5)
    # every Output Area's count is placed whole: group totals are the OA / pooled-LSOA counts
    assert len(ew.residents.group_totals) == len(ew.residents.group_k)
    assert load_layer("ew-census2021", counts="lsoa").residents.total == pytest.approx(
        LSOA_TOTAL, abs=0.5
    )


def test_workers_and_home_workers_conserve_odwp01(ew):
    m = _table("msoa")
    assert len(m) == 7_264
    assert ew.workers.total == pytest.approx(float((m["destination"] - m["nomove"]).sum()), abs=1)
    assert ew.residents.extra["home_workers"].sum() == pytest.approx(
        float(m["nomove"].sum()), abs=1
    )


def test_tables_cover_every_area():
    assert len(_table("oa")) == 188_880 and len(_table("lsoa")) == 35_672
    pcs = _table("postcodes")
    assert (pcs["lsoa"] >= 0).all()
    assert int((pcs["oa"] >= 0).sum()) == builtin.metadata("ew-census2021")["postcodes_same_code"]


def test_seed_case_matches_the_data_dir_answer():
    """EC2Y 8BN, half a mile: the --data-dir London layer (LSOA polygons) gives 11,707
    residents and 48,336 workers; the built-in one places postcodes with OA 2021 points."""
    r = geotarget.analyse("EC2Y 8BN", radius="0.5mi")
    assert r.layer["name"] == "ew-census2021" and "chosen" in r.layer
    assert r.residents.estimate == pytest.approx(11_707, rel=0.015)
    assert r.workers.estimate == pytest.approx(48_336, rel=0.03)
    assert r.residents.low < r.residents.estimate < r.residents.high
    assert r.coverage_fraction == pytest.approx(1.0)


def test_counts_lsoa_holds_out_only_the_output_area_counts():
    """The hold-out places an equal share of each LSOA's total per Output Area exactly where
    the default layer places that OA's count: one group per LSOA holding its published total,
    and the two layers' points differ only in their values."""
    from geotarget.layers import ew_builtin

    t = {p: ew_builtin._table(p) for p in (*ew_builtin.TABLES, "residential")}
    oa_pts, oa_lsoa_of = ew_builtin._residents(t, "oa")
    ls_pts, ls_lsoa_of = ew_builtin._residents(t, "lsoa")
    assert [p[1].tolist() for p in ls_pts.parts] == [p[1].tolist() for p in oa_pts.parts]
    np.testing.assert_array_equal(ls_lsoa_of, oa_lsoa_of)
    lsoa, oa = t["lsoa"], t["oa"]
    values = np.concatenate([p[3] for p in ls_pts.parts])
    per_lsoa = np.bincount(ls_lsoa_of, weights=values, minlength=len(lsoa))
    np.testing.assert_allclose(per_lsoa, lsoa["residents"].to_numpy(float), atol=1e-6)
    assert ls_pts.n_groups == len(lsoa)  # every LSOA has at least one point
    # an OA 2021 whose code postcodes carry gets 1 / (OAs in its LSOA) of the LSOA's total
    pc_oa = t["postcodes"]["oa"].to_numpy()
    first = ls_pts.parts[0]  # the postcodes of the OAs with their own code, in order
    n_in = np.bincount(oa["lsoa"].to_numpy(), minlength=len(lsoa))
    by_oa = np.bincount(pc_oa[first[1]], weights=first[3], minlength=len(oa))
    has = np.bincount(pc_oa[first[1]], minlength=len(oa)) > 0
    li = oa["lsoa"].to_numpy()
    want = lsoa["residents"].to_numpy(float)[li] / n_in[li]
    np.testing.assert_allclose(by_oa[has], want[has], rtol=1e-12)
    assert has.sum() > 170_000


def test_counts_lsoa_on_the_builtin_layer():
    r = geotarget.analyse("EC2Y 8BN", radius="0.5mi", counts="lsoa")
    assert r.layer["name"] == "ew-census2021"
    assert r.residents.estimate == pytest.approx(11_707, rel=0.03)


@pytest.mark.parametrize(
    "postcode,layer",
    [
        ("M1 1AE", "ew-census2021"),  # Manchester
        ("CF10 1EP", "ew-census2021"),  # Cardiff
        ("CA1 1QX", "ew-census2021"),  # Carlisle, near the border
        ("EH1 1YZ", "scotland-census2022"),
    ],
)
def test_the_layer_is_chosen_by_the_venue(postcode, layer):
    from geotarget.venue import locate

    v = locate(postcode)
    assert choose_layer(v.lat, v.lon).name == layer


def test_greater_london_place_holds_its_residents(ew):
    from geotarget.platforms.layer_totals import place_totals

    t = place_totals(ew, None)
    # TS001: 8,799,776 usual residents in London; places from simplified MSOAs
    assert t["residents"]["city"]["E12000007"] == pytest.approx(8_799_776, rel=0.002)
    assert sum(t["residents"]["region"].values()) == pytest.approx(OA_TOTAL, abs=1)


def test_outside_every_layer_fails():
    with pytest.raises(NoCoverageError, match="no built-in population layer"):
        geotarget.analyse("48.8566,2.3522", radius="0.5mi")


@pytest.mark.shared_data
def test_manchester_with_the_london_folder_exits_8(london_dir, capsys, tmp_path):
    got = main(["analyse", "M1 1AE", "-r", "0.5mi", "--data-dir", str(london_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert got == 8 and len(err) == 1
    assert "entirely outside the coverage of layer ew-census2021" in err[0]
    got = main(
        [
            "report",
            "M1 1AE",
            "-r",
            "0.5mi",
            "--data-dir",
            str(london_dir),
            "-o",
            str(tmp_path / "r.html"),
        ]
    )
    assert got == 8
    venues = tmp_path / "v.csv"
    venues.write_text("id,postcode\nmcr,M1 1AE\nldn,EC2Y 8BN\n")
    out = tmp_path / "o.csv"
    got = main(["batch", str(venues), "-r", "0.5mi", "--data-dir", str(london_dir), "-o", str(out)])
    assert got == 11
    assert "1 venues analysed, 1 failed" in capsys.readouterr().err
    rows = pd.read_csv(out).set_index("id")
    assert "entirely outside the coverage" in rows.loc["mcr", "error"]
    assert np.isnan(rows.loc["mcr", "residents"]) and pd.isna(rows.loc["ldn", "error"])


def test_readme_seed_command_runs_offline(capsys):
    got = main(
        [
            "analyse",
            "EC2Y 8BN",
            "--radius",
            "0.5mi",
            "--platforms",
            "all",
            "--budget",
            "500",
            "--currency",
            "GBP",
            "--json",
        ]
    )
    assert got == 0
    d = json.loads(capsys.readouterr().out)
    assert d["residents"]["estimate"] == pytest.approx(11_707, rel=0.015)
    assert d["workers"]["estimate"] == pytest.approx(48_336, rel=0.03)
    assert {p["id"] for p in d["platforms"]} >= {"meta", "google_ads", "linkedin"}
