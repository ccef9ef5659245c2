"""The dataset registry and ``geotarget data list|info|fetch``, end to end against a local server.

The server (127.0.0.1, port 0) stands in for the publishers through the mirror layout
(``<mirror>/<publisher host>/<path>``) and serves files in the publishers' own formats, made at
test time from ``../shared/data`` (never copies of it): a Nomis TS001 bulk zip (one CSV per
geography, Nomis column names), an ODWP01EW zip (a small synthetic MSOA flow table in the Nomis
layout and the real LTLA flow table), ONS LSOA boundaries as GeoJSON (WGS84), the ONS OA lookup
and the small LAD lookups, Workplace Zone centroids; a Eurostat grid zip (GRD_ID, T); a US PL
94-171 state zip (pipe-delimited geographic header and segment 1).
"""

from __future__ import annotations

import gzip
import io
import random
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _httpserver import mirror_path, start_server, stop_server
from conftest import LONDON, SHARED, need

from geotarget import datasets, settings
from geotarget.datasets import base as ds_base
from geotarget.datasets import ew_census2021 as ds_ew
from geotarget.datasets import us_blocks2020 as ds_us
from geotarget.errors import GeotargetError, InputError

pytestmark = pytest.mark.network

FIXTURE_LADS = ["E09000001", "E09000007", "E09000019"]  # City of London, Camden, Islington
AREA = "E09000001,E09000019"


# =========================================================================== local server


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    stop_server(srv)


def publish(srv, sources, files: dict[str, bytes]) -> dict[str, str]:
    """Serve ``files`` (by local file name) at the mirror paths of ``sources``."""
    paths = {}
    for s in sources:
        if s.filename in files:
            paths[s.filename] = mirror_path(s.url)
            srv.routes[paths[s.filename]] = files[s.filename]
    return paths


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.MIRROR_ENV, raising=False)
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "cache"))  # the loader caches too


# =========================================================================== fixtures


def _csv_bytes(df, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + df.to_csv(index=False, lineterminator="\r\n")).encode()


def synthetic_msoa_flows(msoas: list[str], seed: int = 5):
    """A small ODWP01EW_MSOA-style flow table: every indicator, ties, a Scottish workplace."""
    rng = random.Random(seed)
    rows = []
    for o in msoas:
        rows.append((o, "-8", -8, rng.randint(1000, 3000)))
        rows.append((o, o, 1, rng.randint(500, 2000)))
        rows.append((o, "888888888", 2, rng.randint(0, 20)))
        rows.append((o, "999999999", 2, rng.randint(0, 20)))
        for d in rng.sample(msoas, 5) + ["S02001234"]:
            rows.append((o, d, 3, rng.choice([5, 10, 10, 20, 33])))
    f = pd.DataFrame(rows, columns=["o", "d", "cat", "n"])
    return f


def _nomis_flows(f) -> pd.DataFrame:
    label = {
        -8: "Does not apply",
        1: "Mainly working at or from home, No fixed place",
        2: "Other (including offshore installation, working outside the UK)",
        3: "Working in the UK but not working at or from home",
    }
    return pd.DataFrame(
        {
            "Middle layer Super Output Areas code": f["o"],
            "Middle layer Super Output Areas label": "Somewhere " + f["o"].str[-3:],
            "MSOA of workplace code": f["d"],
            "MSOA of workplace label": "Elsewhere",
            "Place of work indicator (4 categories) code": f["cat"],
            "Place of work indicator (4 categories) label": f["cat"].map(label),
            "Count": f["n"],
        }
    )


@pytest.fixture(scope="module")
def ew_files(tmp_path_factory):
    """The E&W publishers' files for three London boroughs, made from ../shared/data."""
    import geopandas as gpd

    need(LONDON)
    tmp = tmp_path_factory.mktemp("ew")
    lsoa = gpd.read_file(LONDON / "boundaries" / "london-2021-lsoa-gen20.shp")
    lsoa = lsoa[lsoa["LAD22CD"].isin(FIXTURE_LADS)].reset_index(drop=True)
    ts = pd.read_csv(
        LONDON / "residents" / "TS001_residence_type_2021.csv.gz", dtype=str, keep_default_na=False
    )
    codes = set(lsoa["LSOA21CD"])
    oa = ts[(ts["Geography area type"] == "Output Area") & ts["Parent area code"].isin(codes)]
    lk = oa[["Geography code", "Parent area code"]].set_axis(["OA21CD", "LSOA21CD"], axis=1)
    lk = lk.merge(lsoa.drop(columns="geometry"), on="LSOA21CD")
    lk.insert(3, "LSOA21NMW", "")
    lk.insert(6, "MSOA21NMW", "")
    lk["LAD22NMW"] = ""
    lk["ObjectId"] = range(1, len(lk) + 1)
    files = {"OA21_LSOA21_MSOA21_LAD22_EW_LU.csv": _csv_bytes(lk, bom=True)}

    levels = {
        "oa": set(lk["OA21CD"]),
        "lsoa": codes,
        "msoa": set(lsoa["MSOA21CD"]),
        "ltla": set(FIXTURE_LADS),
        "utla": set(FIXTURE_LADS) | {"E10000003"},
        "rgn": {"E12000007", "E12000001", "W92000004"},
        "ctry": {"E92000001", "W92000004"},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for level, cs in levels.items():
            r = ts[ts["Geography code"].isin(cs)]
            zf.writestr(
                f"census2021-ts001-{level}.csv",
                _csv_bytes(
                    pd.DataFrame(
                        {
                            "date": 2021,
                            "geography": r["Geography label"],
                            "geography code": r["Geography code"],
                            "Residence type: Total; measures: Value": r["Total"],
                            "Residence type: Lives in a household; measures: Value": r[
                                "Lives in a household"
                            ],
                            "Residence type: Lives in a communal establishment; measures: Value": r[
                                "Lives in a communal establishment"
                            ],
                        }
                    )
                ),
            )
        zf.writestr("metadata/ts001-2021-1.txt", "TS001 metadata\n")
    files["census2021-ts001.zip"] = buf.getvalue()

    g = lsoa[["LSOA21CD", "LSOA21NM", "geometry"]].to_crs("EPSG:4326")
    g["LSOA21NMW"] = ""
    g["GlobalID"] = [f"{{{i:08d}}}" for i in range(len(g))]
    gpath = tmp / "lsoa.geojson"
    g.to_file(gpath, driver="GeoJSON", engine="pyogrio")
    files["LSOA_2021_EW_BGC.geojson"] = gpath.read_bytes()

    flows = synthetic_msoa_flows(sorted(set(lsoa["MSOA21CD"])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ODWP01EW_MSOA.csv", _csv_bytes(_nomis_flows(flows)))
        zf.writestr(
            "ODWP01EW_LTLA.csv",
            gzip.decompress((LONDON / "workers" / "ODWP01EW_LTLA.csv.gz").read_bytes()),
        )
    files["odwp01ew.zip"] = buf.getvalue()

    names = lsoa.drop_duplicates("LAD22CD").set_index("LAD22CD")["LAD22NM"]
    files["LAD22_RGN22_EN_LU.csv"] = _csv_bytes(
        pd.DataFrame(
            {
                "LAD22CD": FIXTURE_LADS,
                "LAD22NM": names[FIXTURE_LADS].to_numpy(),
                "RGN22CD": "E12000007",
                "RGN22NM": "London",
                "ObjectId": range(1, len(FIXTURE_LADS) + 1),
            }
        ),
        bom=True,
    )
    files["LTLA22_UTLA22_EW_LU.csv"] = _csv_bytes(
        pd.DataFrame(
            {
                "LTLA22CD": FIXTURE_LADS,
                "LTLA22NM": names[FIXTURE_LADS].to_numpy(),
                "UTLA22CD": FIXTURE_LADS,
                "UTLA22NM": names[FIXTURE_LADS].to_numpy(),
                "ObjectId": range(1, len(FIXTURE_LADS) + 1),
            }
        ),
        bom=True,
    )
    w = pd.read_csv(LONDON / "workers" / "workplace_zones2011_london_centroids.csv")
    w = w[w["LAD"].isin(FIXTURE_LADS + ["E09000002"])]
    files["WZ11_EW_PWC.csv"] = _csv_bytes(
        pd.DataFrame(
            {
                "X": w["wx_lon"],
                "Y": w["wy_lat"],
                "OBJECTID": range(1, len(w) + 1),
                "wz11cd": w["WPZ"],
            }
        ),
        bom=True,
    )
    return {"files": files, "flows": flows, "ts001": ts}


def fetch_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``geotarget data ...`` through argparse as main() will (exit codes as main())."""
    from geotarget.cli.data import add_parser as add_data_parser
    from geotarget.cli.data import run as run_data
    from geotarget.cli.options import Parser as _Parser

    p = _Parser(prog="geotarget")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    add_data_parser(sub)
    args = p.parse_args(["data", *argv])
    try:
        code = run_data(args)
    except GeotargetError as e:
        print(f"geotarget: error: {e}", file=sys.stderr)
        code = e.exit_code
    out, err = capsys.readouterr()
    return code, out, err


def built_path(out: str) -> Path:
    return Path(next(line for line in out.splitlines() if line.startswith("/")))


# =========================================================================== registry


def test_registry_entries():
    assert set(datasets.DATASETS) >= {
        "ew-census2021",
        "eurostat-grid2021",
        "us-blocks2020",
        "scotland-census2022",
    }
    for ds in datasets.DATASETS.values():
        assert ds.title and ds.publisher and ds.licence
        for s in ds.sources:
            assert s.url.startswith("https://") and s.filename and s.description
            assert s.size is None and s.sha256 is None  # recorded on first download
    ew = datasets.get("ew-census2021")
    keys = {s.key for s in ew.sources}
    assert {"ts001", "odwp01ew", "lsoa", "oa_lookup"} <= keys
    assert ew.sources[0].url == "https://www.nomisweb.co.uk/output/census/2021/census2021-ts001.zip"
    assert "\u00a9 European Union" in datasets.get("eurostat-grid2021").licence
    us = datasets.get("us-blocks2020").sources_for("TN:157,47047")
    assert [s.url for s in us] == [
        "https://www2.census.gov/programs-surveys/decennial/2020/data/"
        "01-Redistricting_File--PL_94-171/Tennessee/tn2020.pl.zip"
    ]
    assert datasets.get("scotland-census2022").builtin
    with pytest.raises(InputError, match="no dataset 'nope'.*ew-census2021"):
        datasets.get("nope")


def test_data_list_and_info(capsys):
    code, out, _ = fetch_cli(["list"], capsys)
    assert code == 0
    for name in datasets.DATASETS:
        assert name in out
    code, out, _ = fetch_cli(["info", "ew-census2021"], capsys)
    assert code == 0
    assert "census2021-ts001.zip" in out and "https://www.nomisweb.co.uk" in out
    assert "Open Government Licence" in out and "not downloaded yet" in out
    code, out, _ = fetch_cli(["info", "scotland-census2022"], capsys)
    assert code == 0 and "National Records of Scotland" in out and "--layer" in out
    code, out, _ = fetch_cli(["info", "us-blocks2020"], capsys)
    assert "{state_dir}/{st}2020.pl.zip" in out and "47157" in out
    code, _, err = fetch_cli(["info", "nope"], capsys)
    assert code == 2 and "no dataset 'nope'" in err


def test_data_without_subcommand_prints_help(capsys):
    code, out, _ = fetch_cli([], capsys)
    assert code == 2 and "{list,info,fetch}" in out


def test_fetch_builtin_says_so(capsys):
    code, out, _ = fetch_cli(["fetch", "scotland-census2022"], capsys)
    assert code == 0 and "built into geotarget" in out and "nothing to download" in out


# =========================================================================== England & Wales


def _expected_counts(flows, codes):
    """An independent, loop-by-loop reading of the ODWP01EW definitions."""
    areas = set(flows["o"])
    out = {}
    for c in codes:
        r = {"origin": 0, "destination": 0, "nomove": 0, "within": 0, "toout": 0}
        to, fr = {}, {}
        for o, d, cat, n in flows.itertuples(index=False):
            if o == c and cat != -8:
                r["origin"] += n
            if o == c and cat == 1:
                r["nomove"] += n
            if o == c and cat == 2:
                r["toout"] += n
            if o == c and d == c and cat == 3:
                r["within"] += n
            if d == c and cat in (1, 3):
                r["destination"] += n
            if cat == 3 and o != d and d in areas:
                if o == c:
                    to[d] = to.get(d, 0) + n
                if d == c:
                    fr[o] = fr.get(o, 0) + n
        r["to"] = sorted(to.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        r["from"] = sorted(fr.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        out[c] = r
    return out


def test_fetch_ew_builds_the_shared_layout(server, tmp_path, capsys, ew_files):
    import pyogrio

    ew = datasets.get("ew-census2021")
    paths = publish(server, ew.sources, ew_files["files"])
    cache = tmp_path / "c"
    code, out, err = fetch_cli(
        [
            "fetch",
            "ew-census2021",
            "--area",
            AREA,
            "--cache-dir",
            str(cache),
            "--mirror",
            server.base,
        ],
        capsys,
    )
    assert code == 0, err
    folder = built_path(out)
    assert folder == cache / "datasets" / "ew-census2021" / "built" / "E09000001-E09000019"
    assert f"--data-dir {folder}" in out
    assert all(server.hits[p] == 1 for p in paths.values())

    # the layout of ../shared/data/london-census2021
    slug = "E09000001-E09000019"
    shared = {p.name: p for p in (LONDON / "boundaries").glob("*.shp")}
    for kind, ref in (
        ("lsoa", "london-2021-lsoa-gen20.shp"),
        ("msoa", "london-2021-msoa-gen20.shp"),
        ("lad22", "london-2021-lad22-gen20.shp"),
    ):
        mine = pyogrio.read_info(folder / "boundaries" / f"{slug}-2021-{kind}-gen20.shp")
        theirs = pyogrio.read_info(shared[ref])
        assert list(mine["fields"]) == list(theirs["fields"])
        assert mine["crs"] == "EPSG:27700" == theirs["crs"]
    ts = pd.read_csv(
        folder / "residents" / "TS001_residence_type_2021.csv.gz", dtype=str, keep_default_na=False
    )
    ref = ew_files["ts001"]
    expected = ref[ref["Geography code"].isin(set(ts["Geography code"]))].reset_index(drop=True)
    assert list(ts.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(ts, expected)  # every column, percentages and parents too
    lsoas = pyogrio.read_dataframe(
        folder / "boundaries" / f"{slug}-2021-lsoa-gen20.shp", read_geometry=False
    )
    assert set(lsoas["LAD22CD"]) == {"E09000001", "E09000019"}
    assert set(ts.loc[ts["Geography area type"] == "LSOA", "Geography code"]) == set(
        lsoas["LSOA21CD"]
    )
    assert set(ts.loc[ts["Geography area type"] == "Local Authority", "Geography code"]) == {
        "E09000001",
        "E09000019",
    }

    lad = pd.read_csv(
        folder / "workers" / "odwp01ew_lad_counts.csv", dtype=str, keep_default_na=False
    )
    ref_lad = pd.read_csv(
        LONDON / "workers" / "odwp01ew_lad_counts.csv", dtype=str, keep_default_na=False
    )
    pd.testing.assert_frame_equal(
        lad, ref_lad[ref_lad["areacd"].isin(lad["areacd"])].reset_index(drop=True)
    )

    msoa = pd.read_csv(
        folder / "workers" / "odwp01ew_msoa_counts.csv", dtype=str, keep_default_na=False
    )
    assert list(msoa.columns) == list(
        pd.read_csv(LONDON / "workers" / "odwp01ew_msoa_counts.csv", nrows=1).columns
    )
    oracle = _expected_counts(ew_files["flows"], list(msoa["areacd"]))
    for row in msoa.itertuples(index=False):
        r = oracle[row.areacd]
        assert (
            row.origin,
            row.destination,
            row.nomove,
            row.within,
            row.toout,
            row.fromout,
        ) == tuple(str(r[k]) for k in ("origin", "destination", "nomove", "within", "toout")) + (
            "0",
        )
        for kind in ("to", "from"):
            top = [(getattr(row, f"{kind}{i}cd"), getattr(row, f"{kind}{i}")) for i in (1, 2, 3)]
            want = [(a, str(b)) for a, b in r[kind]]
            assert top == want + [("", "")] * (3 - len(want))

    raw_ltla = pd.read_csv(folder / "workers" / "ODWP01EW_LTLA.csv.gz", dtype=str)
    sel = {"E09000001", "E09000019"}
    assert (raw_ltla.iloc[:, 0].isin(sel) | raw_ltla.iloc[:, 2].isin(sel)).all()

    wpz = pd.read_csv(folder / "workers" / f"workplace_zones2011_{slug}_centroids.csv")
    ref_w = pd.read_csv(LONDON / "workers" / "workplace_zones2011_london_centroids.csv")
    assert list(wpz.columns) == list(ref_w.columns)
    assert set(wpz["WPZ"]) == set(ref_w.loc[ref_w["LAD"].isin(sel), "WPZ"])

    from geotarget.layers import load_layer

    layer = load_layer(folder)
    assert layer.workers is not None
    lsoa_total = int(ts.loc[ts["Geography area type"] == "LSOA", "Total"].astype(int).sum())
    assert abs(float(np.sum(layer.residents.values)) - lsoa_total) / lsoa_total < 0.001


def test_second_fetch_reuses_cache_and_force_downloads_again(server, tmp_path, capsys, ew_files):
    ew = datasets.get("ew-census2021")
    paths = publish(server, ew.sources, ew_files["files"])
    argv = [
        "fetch",
        "ew-census2021",
        "--area",
        "E09000001",
        "--cache-dir",
        str(tmp_path),
        "--mirror",
        server.base,
    ]
    code, out1, _ = fetch_cli(argv, capsys)
    assert code == 0
    code, out2, err2 = fetch_cli(argv, capsys)
    assert code == 0 and built_path(out2) == built_path(out1)
    assert "already built" in out2 and "using cached census2021-ts001.zip" in err2
    assert all(server.hits[p] == 1 for p in paths.values())  # no second download
    code, out3, err3 = fetch_cli(argv + ["--force"], capsys)
    assert code == 0 and "downloading census2021-ts001.zip" in err3
    assert all(server.hits[p] == 2 for p in paths.values())
    assert built_path(out3) == built_path(out1)
    # another area reuses the downloads and builds a second folder
    code, out4, _ = fetch_cli(argv[:3] + ["E09000019"] + argv[4:], capsys)
    assert code == 0 and built_path(out4).name == "E09000019"
    assert all(server.hits[p] == 2 for p in paths.values())


def test_fetch_404_fails_with_one_line_and_builds_nothing(server, tmp_path, capsys, ew_files):
    ew = datasets.get("ew-census2021")
    files = dict(ew_files["files"])
    del files["odwp01ew.zip"]
    publish(server, ew.sources, files)
    code, out, err = fetch_cli(
        [
            "fetch",
            "ew-census2021",
            "--area",
            AREA,
            "--cache-dir",
            str(tmp_path),
            "--mirror",
            server.base,
        ],
        capsys,
    )
    assert code == 7
    line = [x for x in err.splitlines() if "error" in x]
    assert len(line) == 1 and "HTTP 404" in line[0] and "odwp01ew.zip" in line[0]
    root = tmp_path / "datasets" / "ew-census2021"
    assert not (root / "built").exists() or not any((root / "built").iterdir())
    assert not list((root / "raw").glob("*.part")) and not (root / "raw" / "odwp01ew.zip").exists()


def test_optional_source_missing_still_builds(server, tmp_path, capsys, ew_files):
    ew = datasets.get("ew-census2021")
    files = {k: v for k, v in ew_files["files"].items() if k != "WZ11_EW_PWC.csv"}
    publish(server, ew.sources, files)
    code, out, err = fetch_cli(
        [
            "fetch",
            "ew-census2021",
            "--area",
            "E09000001",
            "--cache-dir",
            str(tmp_path),
            "--mirror",
            server.base,
        ],
        capsys,
    )
    assert code == 0, err
    assert "skipped optional WZ11_EW_PWC.csv" in err and "HTTP 404" in err
    assert not list((built_path(out) / "workers").glob("workplace_zones2011*"))


def test_corrupted_cached_download_is_fetched_once_more(server, tmp_path, capsys, ew_files):
    ew = datasets.get("ew-census2021")
    paths = publish(server, ew.sources, ew_files["files"])
    argv = [
        "fetch",
        "ew-census2021",
        "--area",
        "E09000001",
        "--cache-dir",
        str(tmp_path),
        "--mirror",
        server.base,
    ]
    assert fetch_cli(argv, capsys)[0] == 0
    raw = tmp_path / "datasets" / "ew-census2021" / "raw" / "census2021-ts001.zip"
    raw.write_bytes(raw.read_bytes()[:-10])
    code, out, err = fetch_cli(argv, capsys)
    assert code == 0
    assert server.hits[paths["census2021-ts001.zip"]] == 2
    assert server.hits[paths["odwp01ew.zip"]] == 1


def test_area_errors(server, tmp_path, capsys, ew_files):
    ew = datasets.get("ew-census2021")
    publish(server, ew.sources, ew_files["files"])
    base = ["fetch", "ew-census2021", "--cache-dir", str(tmp_path), "--mirror", server.base]
    code, _, err = fetch_cli(base + ["--area", "E09000001,X123"], capsys)
    assert code == 2 and "'E09000001,X123'" in err and "X123" in err
    assert server.hits == {}  # refused before downloading anything
    code, _, err = fetch_cli(base + ["--area", "london"], capsys)  # the fixture lacks boroughs
    assert code == 7 and "lacks London boroughs" in err
    code, out, err = fetch_cli(base + ["--area", "E12000007"], capsys)  # a region code
    assert code == 0, err
    ts = pd.read_csv(built_path(out) / "residents" / "TS001_residence_type_2021.csv.gz", dtype=str)
    assert "E12000007" in set(ts["Geography code"])  # the whole region: its row too


def test_failed_build_leaves_no_folder(server, tmp_path, capsys, ew_files):
    ew = datasets.get("ew-census2021")
    files = dict(ew_files["files"], **{"census2021-ts001.zip": b"<html>maintenance</html>"})
    publish(server, ew.sources, files)
    code, _, err = fetch_cli(
        [
            "fetch",
            "ew-census2021",
            "--area",
            "E09000001",
            "--cache-dir",
            str(tmp_path),
            "--mirror",
            server.base,
        ],
        capsys,
    )
    assert code == 7 and "census2021-ts001.zip" in err and "not a readable zip" in err
    built = tmp_path / "datasets" / "ew-census2021" / "built"
    assert list(built.iterdir()) == []  # neither a half-built folder nor a temporary one


def test_area_codes_for_presets():
    lads = list(ds_ew.LONDON_LADS) + ["E06000001", "W06000001"]
    assert ds_ew.ew_area_lads("london", lads, {}) == list(ds_ew.LONDON_LADS)
    assert len(ds_ew.LONDON_LADS) == 33 and ds_ew.LONDON_LADS[-1] == "E09000033"
    assert ds_ew.ew_area_lads("wales", lads, {}) == ["W06000001"]
    assert ds_ew.ew_area_lads("all", lads, {}) == sorted(lads)
    assert ds_ew.ew_area_lads(" e06000001 ; W06000001", lads, {}) == ["E06000001", "W06000001"]
    with pytest.raises(InputError, match="region E12000001 cannot be resolved"):
        ds_ew.ew_area_lads("E12000001", lads, {})


def test_ts001_percentages_match_the_published_table():
    ts = pd.read_csv(need(LONDON) / "residents" / "TS001_residence_type_2021.csv.gz")
    for part, col in (
        ("Lives in a household", "Percentage: Lives in a household"),
        ("Lives in a communal establishment", "Percentage: Lives in a communal establishment"),
    ):
        mine = ds_base._pct_text(ts[part], ts["Total"])
        published = ts[col].map(lambda v: f"{v:g}")
        assert (mine == published.to_numpy()).all()


# =========================================================================== Eurostat grid

EUROSTAT_COLS = ["GRD_ID", "T", "M", "F", "Y_LT15", "LAND_SURFACE", "POPULATED", "CNTR_ID"]


@pytest.fixture(scope="module")
def eurostat_zip():
    folder = need(SHARED / "eurostat-grid2021")
    rows = []
    for f, (tx, ty), cntr in (
        ("tile_1000_14_11_paris.parquet", (14, 11), "FR"),
        ("tile_1000_17_12_berlin.parquet", (17, 12), "DE"),
    ):
        t = pd.read_parquet(folder / f)
        e = (tx * 256 + t["x"]) * 1000
        n = (ty * 256 + t["y"]) * 1000
        rows.append(
            pd.DataFrame(
                {
                    "GRD_ID": "CRS3035RES1000mN" + n.astype(str) + "E" + e.astype(str),
                    "T": t["T"],
                    "M": "",
                    "F": "",
                    "Y_LT15": "",
                    "LAND_SURFACE": 1.0,
                    "POPULATED": 1,
                    "CNTR_ID": cntr,
                }
            )
        )
    empty = pd.DataFrame(
        {
            "GRD_ID": ["CRS3035RES1000mN2900000E3500000", "CRS3035RES1000mN2901000E3500000"],
            "T": [0, ""],
            "M": "",
            "F": "",
            "Y_LT15": "",
            "LAND_SURFACE": 1.0,
            "POPULATED": 0,
            "CNTR_ID": "FR",
        }
    )
    df = pd.concat(rows + [empty], ignore_index=True).sample(frac=1.0, random_state=1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "Eurostat_Census-GRID_2021_V3/ESTAT_Census_2021_V3.csv",
            df[EUROSTAT_COLS].to_csv(index=False),
        )
    return buf.getvalue()


def test_fetch_eurostat_builds_the_tiles(server, tmp_path, capsys, eurostat_zip):
    ds = datasets.get("eurostat-grid2021")
    publish(server, ds.sources, {ds.sources[0].filename: eurostat_zip})
    base = ["fetch", "eurostat-grid2021", "--cache-dir", str(tmp_path), "--mirror", server.base]
    code, out, err = fetch_cli(base, capsys)
    assert code == 0, err
    folder = built_path(out)
    assert sorted(p.name for p in folder.glob("tile_*")) == [
        "tile_1000_14_11.parquet",
        "tile_1000_17_12.parquet",
    ]
    for mine, ref in (
        ("tile_1000_14_11.parquet", "tile_1000_14_11_paris.parquet"),
        ("tile_1000_17_12.parquet", "tile_1000_17_12_berlin.parquet"),
    ):
        a = pd.read_parquet(folder / mine)
        b = pd.read_parquet(SHARED / "eurostat-grid2021" / ref)
        assert list(a.columns) == ["x", "y", "T", "nb"]
        pd.testing.assert_frame_equal(a[["x", "y", "T", "nb"]], b[["x", "y", "T", "nb"]])
    info = pd.read_json(folder / "info_1000.json", typ="series")
    assert info["tileSizeCell"] == 256 and info["resolutionGeo"] == 1000
    assert info["tilingBounds"] == {"yMin": 11, "yMax": 12, "xMax": 17, "xMin": 14}
    assert "no T_CI column" in err
    from geotarget.layers import load_layer

    layer = load_layer(folder)  # the grid reader takes the built folder as --data-dir
    assert float(np.sum(layer.residents.values)) == float(
        sum(pd.read_parquet(f)["T"].sum() for f in folder.glob("tile_*.parquet"))
    )

    code, out, _ = fetch_cli(base + ["--area", "2.2,48.8,2.5,48.95"], capsys)  # Paris, lon/lat
    assert code == 0
    assert [p.name for p in built_path(out).glob("tile_*")] == ["tile_1000_14_11.parquet"]
    code, out, _ = fetch_cli(base + ["--area", "17_12"], capsys)
    assert [p.name for p in built_path(out).glob("tile_*")] == ["tile_1000_17_12.parquet"]
    code, _, err = fetch_cli(base + ["--area", "paris"], capsys)
    assert code == 2 and "'paris'" in err


# =========================================================================== US blocks


def _pl_zip(blocks: pd.DataFrame) -> bytes:
    """A tn2020.pl.zip in the 2020 PL 94-171 legacy layout (pipe-delimited, no header)."""
    fields = ds_us.PL_GEO_FIELDS
    geo, seg = [], []

    def line(values: dict) -> str:
        return "|".join(values.get(f, "") for f in fields)

    logrec = 1
    geo.append(
        line(
            {
                "FILEID": "PLST",
                "STUSAB": "TN",
                "SUMLEV": "040",
                "LOGRECNO": "0000001",
                "STATE": "47",
                "POP100": "6910840",
                "INTPTLAT": "+35.8580608",
                "INTPTLON": "-086.3505200",
            }
        )
    )
    seg.append("PLST|TN|000|01|0000001|6910840|6910840|1")
    for i, b in enumerate(blocks.itertuples(index=False), start=2):
        logrec = f"{i:07d}"
        g = b.geoid
        geo.append(
            line(
                {
                    "FILEID": "PLST",
                    "STUSAB": "TN",
                    "SUMLEV": "750",
                    "GEOCOMP": "00",
                    "LOGRECNO": logrec,
                    "GEOID": f"7500000US{g}",
                    "GEOCODE": g,
                    "STATE": g[:2],
                    "COUNTY": g[2:5],
                    "TRACT": g[5:11],
                    "BLKGRP": g[11],
                    "BLOCK": g[11:15],
                    "NAME": f"Block {g[11:15]}",
                    "POP100": str(b.population_P1_001N),
                    "HU100": "0",
                    "INTPTLAT": f"{b.centroid_lat:+.7f}",
                    "INTPTLON": f"{b.centroid_lon:+012.7f}",
                }
            )
        )
        seg.append(f"PLST|TN|000|01|{logrec}|{b.population_P1_001N}|0|0")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tngeo2020.pl", "\r\n".join(geo) + "\r\n")
        zf.writestr("tn000012020.pl", "\r\n".join(seg) + "\r\n")
        zf.writestr("tn000022020.pl", "")
        zf.writestr("tn000032020.pl", "")
    return buf.getvalue()


@pytest.fixture(scope="module")
def memphis():
    d = pd.read_csv(
        need(SHARED / "memphis-census2020") / "memphis_blocks2020_population.csv",
        dtype={"geoid": str},
    )
    shelby = d.iloc[::250].reset_index(drop=True)  # 42 real blocks
    other = shelby.head(3).assign(geoid=lambda x: "47047" + x["geoid"].str[5:])  # Fayette Co.
    return shelby, _pl_zip(pd.concat([shelby, other], ignore_index=True))


def test_fetch_us_blocks_for_a_county(server, tmp_path, capsys, memphis):
    shelby, zbytes = memphis
    ds = datasets.get("us-blocks2020")
    paths = publish(server, ds.sources_for("TN"), {"tn2020.pl.zip": zbytes})
    assert list(paths.values()) == [
        "/www2.census.gov/programs-surveys/decennial/2020/data/"
        "01-Redistricting_File--PL_94-171/Tennessee/tn2020.pl.zip"
    ]
    base = ["fetch", "us-blocks2020", "--cache-dir", str(tmp_path), "--mirror", server.base]
    code, out, err = fetch_cli(base + ["--area", "47157"], capsys)
    assert code == 0, err
    f = built_path(out) / "47157_blocks2020_population.csv"
    got = pd.read_csv(f, dtype={"geoid": str})
    assert list(got.columns) == ["geoid", "population_P1_001N", "centroid_lon", "centroid_lat"]
    exp = shelby.sort_values("geoid").reset_index(drop=True)
    assert got["geoid"].tolist() == exp["geoid"].tolist()
    assert got["population_P1_001N"].tolist() == exp["population_P1_001N"].tolist()
    assert np.allclose(got["centroid_lon"], exp["centroid_lon"], atol=1e-7)
    assert np.allclose(got["centroid_lat"], exp["centroid_lat"], atol=1e-7)
    from geotarget.layers import load_layer

    layer = load_layer(built_path(out))  # the block-table reader takes it as --data-dir
    assert float(np.sum(layer.residents.values)) == float(exp["population_P1_001N"].sum())

    code, out, _ = fetch_cli(base + ["--area", "TN"], capsys)  # the whole state: both counties
    assert code == 0
    assert len(pd.read_csv(built_path(out) / "TN_blocks2020_population.csv")) == len(shelby) + 3
    assert server.hits[paths["tn2020.pl.zip"]] == 1
    code, _, err = fetch_cli(base + ["--area", "TN:999"], capsys)
    assert code == 2 and "no county 999" in err
    code, _, err = fetch_cli(base + ["--area", "XX"], capsys)
    assert code == 2 and "'XX' is not a US state" in err
    code, _, err = fetch_cli(base, capsys)
    assert code == 2 and "needs --area" in err
