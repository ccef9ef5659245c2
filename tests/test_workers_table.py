"""``--workers-table FILE`` (issue 12, part 5): workers per MSOA, LSOA or local authority in place
of the Census 2021 workplace counts.  Known answers (a doubled City of London doubles a catchment
inside it), conservation (the spread counts of an area sum to its table value; areas the table
does not list keep their census counts), the file named in every output, and the census caveat
kept when no table is given."""

import json

import numpy as np
import pandas as pd
import pytest

import geotarget
from geotarget.cli import main
from geotarget.layers import load_layer
from geotarget.layers.workers_table import _geography, apply_workers_table, read_workers_table

CITY_MSOA, CITY_LAD, WESTMINSTER = "E02000001", "E09000001", "E09000033"
#: ODWP01 for the City of London MSOA: destination 88,928, nomove 3,871
CITY_TRAVEL_IN = 88_928 - 3_871
#: a catchment wholly inside the City of London MSOA (one MSOA's Workplace Zones inside)
INSIDE_CITY = ("EC2V 7HH", "200m")


@pytest.fixture(scope="module")
def ew():
    return load_layer("ew-census2021")


def _csv(tmp_path, name, frame):
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


def _msoa_of_points(surface):
    return np.array([s[:9] for s in np.asarray(surface.ids).astype(str)])


def test_census_default_keeps_the_lockdown_caveat():
    r = geotarget.analyse("EC2Y 8BN", radius="0.5mi")
    assert any("lockdown" in c for c in r.layer["caveats"])
    assert "workers_table" not in r.layer
    assert "88,928" not in r.to_text()  # the caveat is words, not the City figure
    assert "lockdown" in r.to_text()


def test_doubling_the_city_msoa_doubles_a_catchment_inside_it(ew, tmp_path):
    table = _csv(tmp_path, "city.csv", pd.DataFrame({"code": [CITY_MSOA], "workers": [170_114]}))
    assert 2 * CITY_TRAVEL_IN == 170_114
    base = geotarget.analyse(INSIDE_CITY[0], radius=INSIDE_CITY[1])
    assert base.workers.zones == 1  # every worker counted comes from the City MSOA
    r = geotarget.analyse(INSIDE_CITY[0], radius=INSIDE_CITY[1], workers_table=table)
    assert r.workers.estimate == pytest.approx(2 * base.workers.estimate, rel=1e-9)
    assert r.residents.estimate == base.residents.estimate
    # home-workers stay the census's
    assert r.workers.extra["home_workers"] == base.workers.extra["home_workers"]


def test_msoa_table_conserves_and_leaves_other_areas_alone(ew, tmp_path):
    codes = ["E02000001", "E02000977", "E02006875"]
    values = [500_000.0, 0.0, 1234.5]
    lay = apply_workers_table(
        ew, _csv(tmp_path, "m.csv", pd.DataFrame({"code": codes, "workers": values}))
    )
    m_new, m_old = _msoa_of_points(lay.workers), _msoa_of_points(ew.workers)
    for c, v in zip(codes, values):
        assert lay.workers.values[m_new == c].sum() == pytest.approx(v, abs=1e-6)
    other = ~np.isin(m_old, codes)
    assert np.array_equal(lay.workers.values[other], ew.workers.values[other])
    assert lay.workers.total == pytest.approx(
        ew.workers.total - ew.workers.values[~other].sum() + sum(values), abs=1e-3
    )
    assert ew.workers.values[~other].sum() > 0  # the census did count workers there


def test_lsoa_table_conserves_each_msoa_and_the_country(ew, tmp_path):
    geo = _geography()
    city = geo.lsoa[geo.lsoa_msoa == 0]  # the six LSOAs of E02000001
    vals = 1000.0 * np.arange(1, len(city) + 1)
    lay = apply_workers_table(
        ew, _csv(tmp_path, "l.csv", pd.DataFrame({"lsoa21cd": city, "workers": vals}))
    )
    assert lay.workers.values[_msoa_of_points(lay.workers) == CITY_MSOA].sum() == pytest.approx(
        vals.sum()
    )
    # every LSOA of England & Wales, 100 each: the layer holds exactly 100 per LSOA
    every = apply_workers_table(
        ew, _csv(tmp_path, "all.csv", pd.DataFrame({"code": geo.lsoa, "workers": 100}))
    )
    assert every.workers.total == pytest.approx(100.0 * len(geo.lsoa), abs=1e-3)
    per_msoa = pd.Series(every.workers.values).groupby(_msoa_of_points(every.workers)).sum()
    lsoas_per_msoa = pd.Series(geo.msoa[geo.lsoa_msoa]).value_counts()
    assert np.allclose(per_msoa.sort_index(), 100.0 * lsoas_per_msoa.sort_index())


def test_local_authority_table(ew, tmp_path):
    geo = _geography()
    table = _csv(
        tmp_path,
        "lad.csv",
        pd.DataFrame({"code": [CITY_LAD, WESTMINSTER], "workers": [170_114, 1_000_000]}),
    )
    lay = apply_workers_table(ew, table)
    m = _msoa_of_points(lay.workers)
    # the City is one MSOA: its table value doubles it, as the MSOA table does
    assert lay.workers.values[m == CITY_MSOA].sum() == pytest.approx(170_114)
    # Westminster's 24 MSOAs share its total in proportion to their census counts
    wm = geo.msoa[geo.msoa_lad == WESTMINSTER]
    inside = np.isin(m, wm)
    assert lay.workers.values[inside].sum() == pytest.approx(1_000_000)
    old = ew.workers.values[inside]
    assert np.allclose(lay.workers.values[inside], old * 1_000_000 / old.sum())
    r = geotarget.analyse(INSIDE_CITY[0], radius=INSIDE_CITY[1], workers_table=table)
    base = geotarget.analyse(INSIDE_CITY[0], radius=INSIDE_CITY[1])
    assert r.workers.estimate == pytest.approx(2 * base.workers.estimate, rel=1e-9)


def test_nomis_api_csv_reads_as_it_is(tmp_path):
    p = tmp_path / "bres.csv"
    p.write_text(
        "DATE_NAME,GEOGRAPHY_NAME,GEOGRAPHY_CODE,INDUSTRY_NAME,EMPLOYMENT_STATUS_NAME,"
        "MEASURE_NAME,MEASURES_NAME,OBS_VALUE,OBS_STATUS_NAME\n"
        "2022,City of London 001,E02000001,Total,Employment,Count,Value,170114,Normal Value\n"
    )
    t = read_workers_table(p)
    assert t.level == "msoa" and list(t.codes) == [CITY_MSOA] and t.values.tolist() == [170114]


def test_the_file_is_named_in_text_json_and_report(capsys, tmp_path):
    table = _csv(tmp_path, "bres-city.csv", pd.DataFrame({"code": [CITY_MSOA], "workers": [1]}))
    assert main(["analyse", "EC2Y 8BN", "-r", "0.5mi", "--workers-table", str(table)]) == 0
    text = capsys.readouterr().out
    assert "from bres-city.csv where it lists the area" in text
    assert "workers travelling in from bres-city.csv" in text  # the Source line
    assert (
        main(["analyse", "EC2Y 8BN", "-r", "0.5mi", "--workers-table", str(table), "--json"]) == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["layer"]["workers_table"]["file"] == "bres-city.csv"
    assert d["layer"]["workers_table"]["level"] == "msoa"
    assert "bres-city.csv" in d["layer"]["source"]
    assert any("bres-city.csv" in c for c in d["layer"]["caveats"])
    assert "bres-city.csv" in d["workers"]["definition"]
    for fmt in ("html", "md"):
        out = tmp_path / f"r.{fmt}"
        args = ["report", "EC2Y 8BN", "-r", "0.5mi", "--workers-table", str(table)]
        assert main([*args, "--format", fmt, "-o", str(out)]) == 0
        assert "bres-city.csv" in out.read_text()


def test_batch_names_the_file_and_fails_rows_outside_england_and_wales(capsys, tmp_path):
    table = _csv(tmp_path, "bres.csv", pd.DataFrame({"code": [CITY_MSOA], "workers": [170_114]}))
    venues = tmp_path / "v.csv"
    venues.write_text("id,postcode\ncity,EC2V 7HH\nedinburgh,EH1 1YZ\n")
    out = tmp_path / "out.csv"
    args = ["batch", str(venues), "-r", "200m", "--workers-table", str(table), "-o", str(out)]
    assert main([*args, "--platforms", "meta"]) == 11  # Edinburgh failed, with its reason
    got = pd.read_csv(out).set_index("id")
    assert got.loc["city", "workers_source"] == "bres.csv"
    assert "leave --workers-table out" in got.loc["edinburgh", "error"]
    single = geotarget.analyse("EC2V 7HH", radius="200m", workers_table=table)
    assert got.loc["city", "workers"] == pytest.approx(single.workers.estimate, abs=0.1)
    plat = pd.read_csv(tmp_path / "out.platforms.csv")
    assert (plat["workers_source"] == "bres.csv").all() and len(plat)


def test_data_dir_layer_takes_the_table_too(london, tmp_path):
    table = _csv(tmp_path, "c.csv", pd.DataFrame({"code": [CITY_MSOA], "workers": [170_114]}))
    lay = apply_workers_table(london, table)
    assert lay.workers.values[_msoa_of_points(lay.workers) == CITY_MSOA].sum() == pytest.approx(
        170_114
    )
    areal = lay.alternatives["workers"]["areal"]
    assert areal.values[list(areal.ids).index(CITY_MSOA)] == pytest.approx(170_114)
    assert lay.workers_table["file"] == "c.csv"
