"""The platforms' rules as the platforms document them (issue 13): the corrected catalogue values,
special ad categories as the advertiser's declaration, list minimums shown as information,
managed-only options, country footprints only where the layer knows its country, local platforms
whose geography cannot be measured, and the whole catalogue as JSON."""

import json
import subprocess
import sys

import pytest
from conftest import SHARED, need

import geotarget
from geotarget.errors import InputError, RulesError
from geotarget.platforms import applicable, load, select
from geotarget.platforms.catalogue import catalogue_dict
from geotarget.render.report import render_report

MEMPHIS = (35.1495, -90.0490)
PARIS = (48.853, 2.3499)  # Notre-Dame
MILE = 1609.344
#: platforms whose minimum is of custom/customer-list audiences, not of a location audience
LIST_MINIMUMS = (
    "google_ads",
    "google_ads_special",
    "tiktok",
    "snapchat",
    "x",
    "pinterest",
    "reddit",
)


def _row(result, pid):
    return next(r for r in result.platform_rows if r["id"] == pid)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "geotarget", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def cat():
    return load()


@pytest.fixture(scope="module")
def memphis_dir():
    return need(SHARED / "memphis-census2020")


@pytest.fixture(scope="module")
def memphis_housing(memphis_dir):
    return geotarget.analyse(
        MEMPHIS,
        "0.5mi",
        data_dir=memphis_dir,
        platforms="meta,google_ads,x,linkedin,tiktok",
        special_category="housing",
    )


@pytest.fixture(scope="module")
def edinburgh_gym():
    return geotarget.analyse("EH1 1YZ", "0.5mi", platforms="all", budget=300, currency="GBP")


# -- the corrected catalogue ------------------------------------------------------------------
def test_meta_special_categories_are_housing_employment_financial(cat):
    sp = cat.platforms["meta_special"]
    assert sp.special.categories == ("housing", "employment", "financial")
    assert sp.special.replaces == "meta"
    assert "financial products and services" in sp.name and "social" not in sp.name.lower()
    assert "credit" not in sp.name.lower()
    # the older list is kept as a recorded conflict, not hidden
    assert any("social issues" in str(c["value"]) for c in sp.conflicts)
    # a city target gets the expanded radius: no city footprint of its own
    places = [f for f in sp.footprints if f.kind == "place"]
    assert places and all("city" not in f.levels for f in places)
    assert not any(f.kind == "postcode" for f in sp.footprints)


def test_cli_platforms_names_meta_categories():
    p = _cli("platforms")
    assert p.returncode == 0, p.stderr
    meta = [ln for ln in p.stdout.splitlines() if ln.startswith("meta_special")]
    assert meta and "housing, employment, financial products and services" in meta[0]
    assert "social issues" not in p.stdout.lower()


def test_google_ads_special_rules(cat):
    g = cat.platforms["google_ads_special"]
    assert g.special.countries == ("US", "CA") and g.special.replaces == "google_ads"
    radius = [f for f in g.footprints if f.kind == "radius"]
    assert [f.min_m for f in radius] == [(1000.0,)]
    postcodes = [(f.level, f.countries) for f in g.footprints if f.kind == "postcode"]
    assert postcodes == [("fsa", ("CA",))]  # Canadian FSAs; no ZIP codes
    assert "16701755" in g.special.prov.source
    # the general entry has US ZIP codes
    assert ("zip", ("US",)) in [
        (f.level, f.countries) for f in cat.platforms["google_ads"].footprints
    ]


def test_list_minimums_are_information_location_minimums_are_checked(cat):
    for pid in LIST_MINIMUMS:
        assert cat.platforms[pid].min_applies_to == "customer_lists", pid
    assert cat.platforms["linkedin"].min_applies_to == "location"
    assert cat.platforms["linkedin"].min_audience == 300
    assert cat.platforms["google_dv360"].min_applies_to == "location"


def test_x_radius_needs_a_managed_account_not_a_country(cat):
    (radius,) = [f for f in cat.platforms["x"].footprints if f.kind == "radius"]
    assert radius.managed and radius.countries is None
    assert "account manager" in radius.note and "US or Japan accounts" in radius.note
    assert radius.min_m == (MILE,)


def test_snapchat_radius_is_a_real_option_with_undocumented_minimum(cat):
    (radius,) = [f for f in cat.platforms["snapchat"].footprints if f.kind == "radius"]
    assert radius.prov.confidence != "uncertain" and not radius.min_known
    assert radius.max_m == (100_000.0,)


def test_linkedin_default_is_living_or_recently_in(cat):
    li = cat.platforms["linkedin"]
    assert li.meaning == "living_or_recently_in"
    assert set(li.meaning_options) == {"living_in", "living_or_recently_in"}


def test_dv360_miles_tiktok_levels_and_zip(cat):
    dv = cat.platforms["google_dv360"].footprints
    miles = [f for f in dv if f.kind == "radius" and f.units[0] == "mi"]
    assert miles and miles[0].min_m == (MILE,) and miles[0].max_m == (500 * MILE,)
    assert miles[0].prov.confidence == "uncertain"  # miles: only the audit says so
    tt = cat.platforms["tiktok"]
    (place,) = [f for f in tt.footprints if f.kind == "place"]
    assert "county" in place.levels and place.max_locations == 1500
    (zipfp,) = [f for f in tt.footprints if f.kind == "postcode"]
    assert zipfp.level == "zip" and zipfp.countries == ("US",)
    assert zipfp.prov.confidence == "documented"
    assert any(c["value"] == 3000 for c in tt.conflicts)


def test_local_platforms_added_with_sources(cat):
    kinds = {pid: {f.kind for f in cat.platforms[pid].footprints} for pid in cat.platforms}
    assert {"postcode", "place", "country", "other"} <= kinds["apple_ads"]
    assert {"postcode", "place", "country"} <= kinds["spotify"]
    assert {"postcode", "place", "country"} <= kinds["quora"]
    assert any(f.max_locations == 1700 for f in cat.platforms["quora"].footprints)
    assert kinds["waze"] == {"other"} and kinds["yelp"] == {"other"}


def test_every_value_has_source_date_and_confidence(cat):
    for p in cat.platforms.values():
        for prov in p.provenances():
            assert prov.source and prov.read and prov.confidence, p.id
        for c in p.conflicts:
            assert c["source"] and c["read"] and c["confidence"], p.id
    # values taken from the audit only, with no source in the shared reference, say so
    for pid in ("quora", "waze", "yelp"):
        for prov in cat.platforms[pid].provenances():
            assert prov.confidence == "uncertain" and "issue 13" in prov.source, pid


def test_cli_platforms_json_is_the_whole_validated_catalogue(cat):
    p = _cli("platforms", "--json", "--rule", "meta.radius_min=2km")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["schema"] == "geotarget.platforms/1" and d["verdict"]["good_below"] == 0.25
    assert [q["id"] for q in d["platforms"]] == list(cat.platforms)
    assert d["special_categories"] == ["housing", "employment", "financial"]
    meta = d["platforms"][0]
    assert meta["footprints"][0]["min"] == ["2km"]
    assert meta["footprints"][0]["confidence"] == "user"  # the override shows as such
    for q in d["platforms"]:
        for f in q["footprints"]:
            assert f["source"] and f["read"] and f["confidence"]
        assert q["min_audience"]["applies_to"] in ("location", "customer_lists")
    assert d == json.loads(json.dumps(catalogue_dict(load(overrides=["meta.radius_min=2km"]))))


# -- special ad categories --------------------------------------------------------------------
def test_gym_without_category_gets_no_restricted_row(edinburgh_gym, cat):
    ids = [r["id"] for r in edinburgh_gym.platform_rows]
    assert "meta" in ids and "google_ads" in ids
    assert not any(cat.platforms[i].special for i in ids)
    assert not any(
        r["restricted_rules"] or r["special_category"] for r in edinburgh_gym.platform_rows
    )
    assert select(cat, "all") == [p for p in cat.platforms if cat.platforms[p].special is None]
    md = render_report(edinburgh_gym, fmt="md")
    assert "Special Ad Categories" not in md and "Special ad category" not in md
    assert "Special ad category" not in edinburgh_gym.to_text()


@pytest.mark.shared_data
def test_text_output_names_the_declared_category(memphis_housing):
    text = memphis_housing.to_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("Special ad category declared"))
    assert "housing" in line and "meta_special" in line and "google_ads_special" in line
    assert "linkedin" not in line  # no restricted rules for it


@pytest.mark.shared_data
def test_housing_in_memphis_meta_15_miles_google_no_zip(memphis_housing):
    ids = {r["id"] for r in memphis_housing.platform_rows}
    assert {"meta_special", "google_ads_special"} <= ids and not {"meta", "google_ads"} & ids
    meta = _row(memphis_housing, "meta_special")
    assert meta["footprint"]["kind"] == "radius"
    assert meta["footprint"]["radius_m"] >= 15 * MILE - 1e-6
    assert meta["special_category"] == "housing" and meta["restricted_rules"]
    g = _row(memphis_housing, "google_ads_special")
    seen = [o for o in g["options"]] + g["unavailable_options"]
    assert {o["kind"] for o in seen} >= {"radius", "place", "country"}
    assert not any("zip" in (o.get("reason") or o.get("label") or "") for o in seen)
    assert "postcode" not in {o["kind"] for o in seen}  # no ZIP codes (FSAs are Canada's)
    assert g["footprint"]["radius_m"] >= 1000
    # platforms without restricted rules keep their usual ones
    assert not _row(memphis_housing, "linkedin")["restricted_rules"]


@pytest.mark.shared_data
def test_memphis_without_category_google_lists_zip(memphis_dir):
    r = geotarget.analyse(MEMPHIS, "0.5mi", data_dir=memphis_dir, platforms="google_ads")
    g = _row(r, "google_ads")
    assert any("ZIP code" in u["reason"] for u in g["unavailable_options"])


@pytest.mark.shared_data
def test_report_says_which_category_was_declared(memphis_housing):
    md = render_report(memphis_housing, fmt="md")
    assert "Special ad category declared: housing" in md
    assert "Meta, Special Ad Categories" in md.split("Special ad category declared")[1]
    html = render_report(memphis_housing, fmt="html", tiles="none")
    assert "Special ad category declared: housing" in html


def test_google_special_rules_only_in_us_and_canada(cat):
    gb = [p.id for p in applicable(cat, ["meta", "google_ads"], "housing", "GB")]
    assert gb == ["meta_special", "google_ads"]
    us = [p.id for p in applicable(cat, ["meta", "google_ads"], "financial", "US")]
    assert us == ["meta_special", "google_ads_special"]
    none = [p.id for p in applicable(cat, ["meta", "google_ads"], None, "US")]
    assert none == ["meta", "google_ads"]


def test_special_category_validated():
    with pytest.raises(InputError, match="special category 'politics'.*housing, employment"):
        geotarget.analyse("EH1 1YZ", "0.5mi", platforms="meta", special_category="politics")
    with pytest.raises(InputError, match="--special-category"):
        geotarget.analyse("EH1 1YZ", "0.5mi", platforms="meta_special")
    p = _cli("analyse", "EH1 1YZ", "-r", "0.5mi", "--special-category", "credit")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "special category 'credit'" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_special_category_via_cli_json():
    p = _cli(
        "analyse", "EH1 1YZ", "-r", "0.5mi", "--platforms", "meta", "--special-category",
        "employment", "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    (row,) = json.loads(p.stdout)["platforms"]
    assert row["id"] == "meta_special" and row["special_category"] == "employment"
    assert row["footprint"]["radius_m"] >= 15 * MILE - 1e-6


# -- minimum audiences by kind ----------------------------------------------------------------
@pytest.mark.shared_data
def test_no_list_minimum_met_or_failed_for_a_place(memphis_housing, edinburgh_gym, memphis_dir):
    plain = geotarget.analyse(MEMPHIS, "0.5mi", data_dir=memphis_dir, platforms="all")
    checked = 0
    for res in (memphis_housing, edinburgh_gym, plain):
        for r in res.platform_rows:
            ma = r["min_audience"]
            if ma["applies_to"] == "customer_lists":
                checked += 1
                assert ma["met"] is None and ma["catchment_met"] is None, r["id"]
                assert ma["footprint_pool"] is None and ma["required"] is not None
                assert all(o["can_run"] for o in r["options"]), r["id"]
                assert any("applies to customer lists" in a for a in r["advice"]), r["id"]
    assert checked >= 10
    li = _row(plain, "linkedin")["min_audience"]
    assert li["applies_to"] == "location" and li["met"] is True  # a real campaign minimum
    dv = _row(plain, "google_dv360")["min_audience"]
    assert dv["met"] is True and dv["footprint_pool"] >= 1000


def test_list_minimum_never_widens_a_circle(tmp_path):
    # a customer-list minimum of a million must not grow the circle (a location one would)
    for applies, widened in (("customer_lists", False), ("location", True)):
        rules = tmp_path / f"{applies}.toml"
        rules.write_text(
            "[club]\nname = 'Club'\n[[club.footprints]]\nkind = 'radius'\nmin = ['1km']\n"
            "max = ['80km']\nsource = 's'\nread = '2026-12'\nconfidence = 'documented'\n"
            "[club.location_meaning]\nvalue = 'living_in'\nsource = 's'\nread = '2026-12'\n"
            "confidence = 'documented'\n[club.min_audience]\nvalue = 1000000\n"
            f"applies_to = '{applies}'\nsource = 's'\nread = '2026-12'\n"
            "confidence = 'documented'\n"
        )
        r = geotarget.analyse("EH1 1YZ", "0.5mi", rules=rules, platforms="club")
        fp = _row(r, "club")["footprint"]
        assert (fp["radius_m"] > 1000) is widened, applies


# -- managed or restricted options ------------------------------------------------------------
@pytest.mark.shared_data
def test_x_one_mile_radius_only_with_managed_account(memphis_dir):
    plain = _row(geotarget.analyse(MEMPHIS, "0.5mi", data_dir=memphis_dir, platforms="x"), "x")
    assert plain["footprint"]["kind"] != "radius"
    (opt,) = [o for o in plain["options"] if o["kind"] == "radius"]
    assert opt["managed"] and not opt["recommended"] and opt["waste_share"] is not None
    assert any("--managed-account" in a for a in plain["advice"])
    managed = geotarget.analyse(
        MEMPHIS, "0.5mi", data_dir=memphis_dir, platforms="x", managed_account=True
    )
    x = _row(managed, "x")
    assert x["footprint"]["kind"] == "radius"
    assert x["footprint"]["radius_m"] == pytest.approx(MILE)
    assert x["verdict"] in ("good", "workable", "poor") and x["waste_share"] < plain["waste_share"]


# -- country footprints and waste shares -----------------------------------------------------
@pytest.fixture(scope="module")
def paris():
    d = need(SHARED / "eurostat-grid2021")
    return geotarget.analyse(PARIS, "0.5mi", data_dir=d, country="FR", platforms="all")


@pytest.mark.shared_data
def test_paris_country_fr_counts_no_german_cells(paris):
    import pandas as pd

    tile = pd.read_parquet(SHARED / "eurostat-grid2021" / "tile_1000_14_11_paris.parquet")
    paris_tile = float(tile["T"].sum())
    for r in paris.platform_rows:
        if r["people"] is not None:
            assert r["people"]["total"] <= paris_tile, r["id"]  # nothing from the Berlin tile
        for o in r["options"]:
            assert o["kind"] != "country", r["id"]
    li = _row(paris, "linkedin")
    (country,) = [u for u in li["unavailable_options"] if u["kind"] == "country"]
    assert "does not say which of its cells" in country["reason"] and "FR" in country["reason"]


def _shares(row):
    yield row.get("waste_share")
    yield row.get("share_inside")
    yield row.get("waste_share_residents")
    yield row.get("waste_share_workers")
    for o in row["options"]:
        yield o["waste_share"]


@pytest.mark.shared_data
def test_no_waste_share_above_one(paris, memphis_housing, edinburgh_gym):
    for res in (paris, memphis_housing, edinburgh_gym):
        for r in res.platform_rows:
            for s in _shares(r):
                assert s is None or 0.0 <= s <= 1.0, r["id"]
        text = res.platforms_text()
        assert ">=100%" not in text and "at least 100%" not in render_report(res, fmt="md")


def test_unmeasurable_platforms_say_so(edinburgh_gym):
    for pid in ("waze", "yelp"):
        r = _row(edinburgh_gym, pid)
        assert r["verdict"] == "not_measurable" and r["footprint"] is None
        assert r["unavailable_options"][0]["reason"].startswith("cannot be measured")
    apple = _row(edinburgh_gym, "apple_ads")
    assert apple["verdict"] != "not_measurable"  # its other options are measured
    assert any("Apple Maps" in a for a in apple["advice"])


# -- rules files ------------------------------------------------------------------------------
BASE = """
[club]
name = "Club"
[[club.footprints]]
kind = "country"
source = "s"
read = "2026-12"
confidence = "documented"
[club.location_meaning]
value = "living_in"
source = "s"
read = "2026-12"
confidence = "documented"
[club.min_audience]
known = false
source = "s"
read = "2026-12"
confidence = "uncertain"
"""


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (
            "[club.special]\ncategories = ['housing']\nreplaces = 'nope'\nsource = 's'\n"
            "read = '2026-12'\nconfidence = 'documented'\n",
            "'nope' is not a platform",
        ),
        (
            "[club.special]\ncategories = ['politics']\nreplaces = 'meta'\nsource = 's'\n"
            "read = '2026-12'\nconfidence = 'documented'\n",
            "special.categories",
        ),
        (
            "[club.special]\ncategories = ['housing']\nreplaces = 'meta'\n",
            r"special\.source",
        ),
        (
            "[[club.footprints]]\nkind = 'other'\nsource = 's'\nread = '2026-12'\n"
            "confidence = 'uncertain'\n",
            r"footprints\[1\]\.note",
        ),
        (
            "[[club.footprints]]\nkind = 'radius'\nmin = ['1km']\nmax = ['5km']\nmanaged = 'yes'\n"
            "source = 's'\nread = '2026-12'\nconfidence = 'uncertain'\n",
            "managed",
        ),
    ],
)
def test_bad_special_and_kind_rules(tmp_path, extra, fragment):
    p = tmp_path / "club.toml"
    p.write_text(BASE.replace("[club.location_meaning]", extra + "[club.location_meaning]"))
    with pytest.raises(RulesError, match=fragment):
        load(p)


def test_bad_applies_to(tmp_path):
    p = tmp_path / "club.toml"
    p.write_text(BASE.replace("known = false", "value = 10\napplies_to = 'places'"))
    with pytest.raises(RulesError, match="min_audience.applies_to"):
        load(p)


def test_managed_rule_override(cat):
    over = load(overrides=["x.managed=false"])
    (radius,) = [f for f in over.platforms["x"].footprints if f.kind == "radius"]
    assert not radius.managed and radius.prov.confidence == "user"
    r = geotarget.analyse("EH1 1YZ", "0.5mi", platforms="x", rule_overrides=["x.managed=false"])
    assert _row(r, "x")["footprint"]["kind"] == "radius"
    plain = geotarget.analyse("EH1 1YZ", "0.5mi", platforms="x")
    assert _row(plain, "x")["footprint"]["kind"] != "radius"
    for bad, frag in (("x.managed=true", "managed=false"), ("meta.managed=false", "no option")):
        with pytest.raises(RulesError, match=frag):
            load(overrides=[bad])


def test_a_circle_with_an_undocumented_minimum_is_not_the_sure_recommendation():
    """Snapchat's smallest radius is undocumented: its circle (drawn at the catchment's size, 0%
    waste) is a best case, shown in the options and the advice, not the recommendation."""
    r = geotarget.analyse("EH1 1YZ", "0.5mi", platforms="snapchat")
    (row,) = r.platform_rows
    circle = next(o for o in row["options"] if o["kind"] == "radius")
    assert circle["min_known"] is False and not circle["recommended"]
    assert row["footprint"]["kind"] != "radius" and row["footprint"]["min_known"] is True
    assert any("smallest radius is not documented" in a for a in row["advice"])
