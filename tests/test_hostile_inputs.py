"""Hostile and careless inputs of issue 17: checkpoints that belong to another run, outputs
replaced without ``--overwrite``, two runs on one output, injection through labels and names.

Each case is a row of ``docs/bad-inputs.md`` ("Hostile inputs"); the subprocess kill-and-resume
test is in ``test_resume_kill.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from geotarget.cli import main


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    return lines[0]


def _venues(tmp_path, n=6, name="v.csv") -> Path:
    p = tmp_path / name
    rows = [f"v{i},{55.90 + (i % 50) * 0.004:.4f},{-3.19 + (i // 50) * 0.01:.2f}" for i in range(n)]
    p.write_text("id,lat,lon\n" + "\n".join(rows) + "\n")
    return p


def _interrupted(tmp_path, monkeypatch, capsys, *extra, n=6):
    """A batch interrupted after its first chunk of 2 venues: (venue file, output)."""
    import geotarget.batch.count as batch

    real, calls = batch.count_chunk, []

    def flaky(layer, lat, lon, radius, method=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(layer, lat, lon, radius, method=method)

    csv, out = _venues(tmp_path, n), tmp_path / "out.csv"
    monkeypatch.setattr(batch, "count_chunk", flaky)
    code, _, _ = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--chunk-size", "2", *extra)
    assert code == 130
    monkeypatch.setattr(batch, "count_chunk", real)
    return csv, out


# -- checkpoints that know what they belong to ------------------------------------------------
def test_resume_with_another_radius_is_refused(capsys, tmp_path, monkeypatch):
    csv, out = _interrupted(tmp_path, monkeypatch, capsys)
    code, _, err = cli(capsys, "batch", csv, "-r", "2km", "-o", out, "--resume")
    assert code == 2
    assert "was made by another run (radius was 1000.0, now 2000.0)" in one_line(err)
    assert "give --overwrite instead of --resume" in err and not out.exists()


def test_resume_with_another_venue_file_is_refused(capsys, tmp_path, monkeypatch):
    csv, out = _interrupted(tmp_path, monkeypatch, capsys)
    csv.write_text("id,lat,lon\nw0,55.95,-3.19\n")  # the same name, other contents
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--resume")
    assert code == 2 and "the venue file's contents differ" in one_line(err)


@pytest.mark.parametrize(
    "extra",
    [["--method", "areal"], ["--max-radius", "200km"], ["--layer", "scotland-census2022"]],
)
def test_resume_with_another_row_option_is_refused(capsys, tmp_path, monkeypatch, extra):
    csv, out = _interrupted(tmp_path, monkeypatch, capsys)
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--resume", *extra)
    assert code == 2 and "was made by another run" in one_line(err)


def test_resume_with_other_platform_options_is_refused(capsys, tmp_path, monkeypatch):
    csv, out = _interrupted(tmp_path, monkeypatch, capsys, "--platforms", "meta")
    args = ["batch", csv, "-r", "1km", "-o", out, "--resume", "--platforms", "meta"]
    code, _, err = cli(capsys, *args, "--segment-share", "0.5")
    assert code == 2 and "platform_options was" in one_line(err)
    code, _, err = cli(capsys, *args[:-1], "meta,google_ads")
    assert code == 2 and "platforms was 'meta', now 'meta,google_ads'" in one_line(err)


def test_a_bit_flipped_checkpoint_part_is_discarded_and_recounted(capsys, tmp_path, monkeypatch):
    """A part that still reads but whose bytes changed is not trusted: it is counted again and
    the output equals a clean run's."""
    csv, out = _interrupted(tmp_path, monkeypatch, capsys)
    part = out.with_name(out.name + ".checkpoint.parquet") / "part-00000.parquet"
    frame = pd.read_parquet(part)
    frame["workers"] = frame["workers"] + 1  # a changed number, still a valid file
    frame.to_parquet(part, index=False)
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--resume")
    assert code == 0, err
    assert "warning: checkpoint out.csv.checkpoint.parquet: 1 damaged" in err
    clean = tmp_path / "clean.csv"
    assert cli(capsys, "batch", csv, "-r", "1km", "-o", clean)[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(clean))


def test_a_damaged_manifest_starts_again_with_a_warning(capsys, tmp_path, monkeypatch):
    csv, out = _interrupted(tmp_path, monkeypatch, capsys)
    (out.with_name(out.name + ".checkpoint.parquet") / "_manifest.json").write_text("{")
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--resume")
    assert code == 0 and "unreadable (_manifest.json is damaged" in err and "starting again" in err


def test_resume_of_an_unchanged_run_still_works(capsys, tmp_path, monkeypatch):
    csv, out = _interrupted(tmp_path, monkeypatch, capsys)
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--resume")
    assert code == 0, err and "warning" not in err
    assert list(pd.read_csv(out)["id"]) == [f"v{i}" for i in range(6)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "v.csv"]


# -- outputs never replaced without --overwrite ------------------------------------------------
def test_resume_does_not_replace_a_finished_output(capsys, tmp_path):
    csv, out = _venues(tmp_path), tmp_path / "out.csv"
    out.write_text("precious")
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--resume")
    assert code == 9
    assert "exists (its run finished: nothing to resume): add --overwrite" in one_line(err)
    assert out.read_text() == "precious"


def test_resume_does_not_replace_a_file_another_run_put_there(capsys, tmp_path, monkeypatch):
    csv, out = _interrupted(tmp_path, monkeypatch, capsys)
    out.write_text("someone else's")
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--resume")
    assert code == 9 and "add --overwrite" in one_line(err)
    assert out.read_text() == "someone else's"


@pytest.mark.parametrize("which", ["overlap", "platforms"])
def test_overlap_and_platform_tables_are_not_replaced(capsys, tmp_path, which):
    csv, out = _venues(tmp_path), tmp_path / "out.csv"
    target = tmp_path / ("pairs.csv" if which == "overlap" else "out.platforms.csv")
    target.write_text("precious")
    extra = ["--overlap", target] if which == "overlap" else ["--platforms", "meta"]
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, *extra)
    assert code == 9 and f"'{target}' exists: add --overwrite" in one_line(err)
    assert target.read_text() == "precious" and not out.exists()
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, *extra, "--overwrite")
    assert code == 0, err and target.read_text() != "precious"


def test_two_runs_on_one_output_cannot_both_win(tmp_path):
    """A second batch started while the first runs on the same -o is refused at once."""
    csv = _venues(tmp_path, n=400)
    out = tmp_path / "out.csv"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    args = [sys.executable, "-m", "geotarget", "batch", str(csv), "-r", "1km", "-o", str(out)]
    first = subprocess.Popen(
        [*args, "--chunk-size", "1"], stderr=subprocess.PIPE, text=True, env=env
    )
    lock = tmp_path / "out.csv.lock"
    deadline = time.monotonic() + 120
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.exists(), "the first run never took its lock"
    second = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    _, first_err = first.communicate(timeout=300)
    assert first.returncode in (0, 11), first_err  # rows in the sea fail, output written
    assert second.returncode == 9
    assert "another geotarget run is writing" in one_line(second.stderr)
    assert len(pd.read_csv(out)) == 400 and not lock.exists()


def test_an_interrupted_report_writes_nothing(capsys, tmp_path, monkeypatch):
    """Ctrl-C while the report renders: exit 130 and no file at all (the report is not
    written before the maps are rendered)."""
    import geotarget.render.png as png

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(png, "render_png", interrupted)
    args = ["report", "EH1 1YZ", "-r", "0.5mi", "--tiles", "none"]
    files = ["-o", tmp_path / "r.html", "--map", tmp_path / "m.html", "--png", tmp_path / "p.png"]
    code, _, err = cli(capsys, *args, *files)
    assert code == 130 and "interrupted" in one_line(err)
    assert list(tmp_path.iterdir()) == []


# -- escaping at every output boundary ---------------------------------------------------------
PROV = 'source = "https://example.com/acme"\nread = "2026-01"\nconfidence = "user"\n'


def _rules(tmp_path, pid="acme", name="Acme Ads") -> Path:
    p = tmp_path / "rules.toml"
    p.write_text(
        f'[{pid}]\nname = "{name}"\n'
        f'[[{pid}.footprints]]\nkind = "radius"\nmin = ["1km"]\nmax = ["10km"]\n{PROV}\n'
        f'[{pid}.location_meaning]\nvalue = "living_in"\n{PROV}\n'
        f"[{pid}.min_audience]\nvalue = 100\n{PROV}\n",
        encoding="utf-8",
    )
    return p


def test_escape_helpers():
    from geotarget import escape

    assert escape.terminal("a\x1b]8;;http://x\x07b\u202ec\nd\te") == (
        "a\\x1b]8;;http://x\\x07b\\u202ec\nd\te"
    )
    assert escape.html_text("<b>'&\"\u202e") == "&lt;b&gt;&#x27;&amp;&quot;\\u202e"
    md = escape.markdown_text("<img src=x onerror=alert(1)> [a](javascript:x) *b* &lt;")
    assert "<" not in md and "\\[a\\]" in md and "\\*b\\*" in md and "&amp;lt;" in md
    for bad in ("=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert escape.csv_cell(bad).startswith("'"), bad
    assert escape.csv_cell("Edinburgh") == "Edinburgh" and escape.csv_cell(-1.5) == -1.5
    # a negative number read as text (a longitude west of Greenwich) stays a number
    for num in ("-3.19", "-0.5", "-1e-5", "-.25"):
        assert escape.csv_cell(num) == num, num


def test_batch_csv_cells_that_start_a_formula_are_prefixed(capsys, tmp_path):
    csv = tmp_path / "v.csv"
    csv.write_text(
        'id,lat,lon,note\n"=HYPERLINK(""http://x"",""y"")",55.95,-3.19,@SUM(A1)\n'
        "ok,55.94,-3.19,\u202eevil\n"
    )
    out = tmp_path / "out.csv"
    code, _, err = cli(capsys, "batch", csv, "-r", "1km", "-o", out, "--platforms", "meta")
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text and "\\u202eevil" in text
    assert "\u202e" not in text
    assert (pd.read_csv(out, dtype=str)["lon"] == "-3.19").all(), "longitudes stay numbers"
    cells = pd.read_csv(out, dtype=str).fillna("").to_numpy().ravel()
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]
    plat = pd.read_csv(tmp_path / "out.platforms.csv", dtype=str)
    assert plat["venue_id"].iloc[0] == '\'=HYPERLINK("http://x","y")'  # the venue_id too


def test_markdown_report_carries_no_raw_html(capsys, tmp_path):
    import geotarget
    from geotarget.render.report import render_report
    from geotarget.venue import Venue

    r = geotarget.analyse(
        Venue(55.9533, -3.1883, label="<script>alert(1)</script>[x](javascript:y)"), "300m"
    )
    md = render_report(r, "md", tiles="none")
    assert "<script>" not in md and "[x](javascript:" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\[x\\](javascript:y)" in md


def test_rules_file_names_reach_outputs_escaped(capsys, tmp_path):
    rules = _rules(tmp_path, name="Acme \\u001b[31m<b>Ads</b>\\u202e")
    code, out, _ = cli(capsys, "platforms", "--rules", rules)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out
    assert "Acme \\x1b[31m<b>Ads</b>\\u202e" in out
    report = tmp_path / "r.md"
    code, _, err = cli(
        capsys,
        "report",
        "EH1 1YZ",
        "-r",
        "1km",
        "--rules",
        rules,
        "--platforms",
        "acme",
        "--tiles",
        "none",
        "-o",
        report,
    )
    assert code == 0, err
    md = report.read_text(encoding="utf-8")
    assert "<b>" not in md and "\x1b" not in md and "\u202e" not in md


def test_a_rules_file_platform_named_all_is_refused(capsys, tmp_path):
    code, _, err = cli(capsys, "platforms", "--rules", _rules(tmp_path, pid="all"))
    assert code == 10
    assert "entry 'all', field '': this id is reserved" in one_line(err)


@pytest.mark.parametrize("kind", ["array", "inline table"])
def test_a_deeply_nested_rules_file_is_one_line(capsys, tmp_path, kind):
    deep = tmp_path / "deep.toml"
    n = 100_000
    deep.write_text("a = " + ("[" * n + "]" * n if kind == "array" else "{b=" * n + "1" + "}" * n))
    code, _, err = cli(capsys, "platforms", "--rules", deep)
    assert code == 10  # was 70, an internal error (RecursionError in tomllib)
    assert "nested 100,000 deep, more than the 32 allowed" in one_line(err)


def test_the_recursion_backstop_is_one_line(capsys, tmp_path, monkeypatch):
    import geotarget.platforms.catalogue as catalogue

    monkeypatch.setattr(catalogue, "MAX_RULES_DEPTH", 10**9)  # only the backstop is left
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000)
    code, _, err = cli(capsys, "platforms", "--rules", deep)
    assert code == 10
    assert "nested too deeply to read" in one_line(err)


def test_brackets_in_strings_and_comments_are_not_nesting(tmp_path):
    from geotarget.platforms.catalogue import MAX_RULES_DEPTH, _nesting_depth

    many = "[" * (MAX_RULES_DEPTH + 1)
    text = (
        f'a = "{many}\\"{many}" # {many}\nb = [[1], {{c = 2}}]\n'
        f"d = '''{many}\n{many}'''\ne = '{many}'\n[[t]]\n"
    )
    assert _nesting_depth(text) == 2
    assert _nesting_depth("a = " + "[" * 33 + "]" * 33) == 33


def test_an_oversized_rules_file_is_one_line(capsys, tmp_path):
    from geotarget.platforms.catalogue import MAX_RULES_BYTES

    big = _rules(tmp_path)
    with big.open("a", encoding="utf-8") as f:
        f.write("# padding\n" * (MAX_RULES_BYTES // 10 + 1))
    code, _, err = cli(capsys, "platforms", "--rules", big)
    assert code == 10
    assert "more than the 16,777,216 a rules file may be" in one_line(err)


def test_a_folder_as_rules_file_is_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "platforms", "--rules", tmp_path)
    assert code == 10
    assert "is not a regular file" in one_line(err)


# -- downloads ---------------------------------------------------------------------------------
def _zip(path, members):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "members, message",
    [
        ([("bomb.csv", b"0" * (250 << 20))], "would expand 1,0"),  # 0.25 MB -> 250 MB
        ([(f"f{i}.csv", b"") for i in range(10_001)], "10,001 members, more than the 10,000"),
        ([("../../evil.csv", b"a,b\n")], "a member outside its folder ('../../evil.csv')"),
        ([("/etc/evil.csv", b"a,b\n")], "a member outside its folder ('/etc/evil.csv')"),
    ],
    ids=["ratio", "members", "dotdot", "absolute"],
)
def test_zip_extraction_is_bounded(tmp_path, members, message):
    from geotarget.datasets.base import _open_zip
    from geotarget.errors import DataError

    z = _zip(tmp_path / "t.zip", members)
    with pytest.raises(DataError, match="fetch again with --force") as e:
        _open_zip(z, "test table")
    assert message in str(e.value)


def test_zip_total_size_is_bounded(tmp_path, monkeypatch):
    import geotarget.datasets.base as base
    from geotarget.errors import DataError

    monkeypatch.setattr(base, "ZIP_MAX_TOTAL", 1000)
    z = _zip(tmp_path / "t.zip", [("a.csv", b"x" * 600), ("b.csv", b"y" * 600)])
    with pytest.raises(DataError, match="would expand to 0.0 GiB, more than the 0 GiB"):
        base._open_zip(z, "test table")


@pytest.mark.network
def test_a_corrupted_manifest_is_fixed_by_the_advice_it_gives(tmp_path):
    """The error says '--force'; --force then works (it used to fail the same way)."""
    from _httpserver import mirror_path, start_server, stop_server

    from geotarget.datasets import download
    from geotarget.errors import DataError

    url = "https://data.example.org/census/files/table.zip"
    srv = start_server()
    try:
        srv.routes[mirror_path(url)] = (b"payload", "ok")
        download.fetch_file(url, tmp_path, "table.zip", mirror=srv.base, timeout=5)
        (tmp_path / "manifest.json").write_text('{"files": {"table.zip": 3}}')
        with pytest.raises(DataError, match="fetch again with --force"):
            download.fetch_file(url, tmp_path, "table.zip", mirror=srv.base, timeout=5)
        (tmp_path / "manifest.json").write_text("{half")
        with pytest.raises(DataError, match="fetch again with --force"):
            download.fetch_file(url, tmp_path, "table.zip", mirror=srv.base, timeout=5)
        got = download.fetch_file(
            url, tmp_path, "table.zip", mirror=srv.base, timeout=5, force=True
        )
        assert got.downloaded and download.cached_entry(tmp_path, "table.zip")["size"] == 7
    finally:
        stop_server(srv)


@pytest.mark.parametrize("sub", ["", "sub"])
def test_cache_dir_that_is_a_file_is_one_line(capsys, tmp_path, sub):
    f = tmp_path / "afile"
    f.write_text("")
    where = f / sub if sub else f
    code, _, err = cli(
        capsys, "data", "fetch", "ew-census2021", "--area", "E09000001", "--cache-dir", where
    )
    assert code == 2 and "cannot be a cache folder" in one_line(err)
    assert "give a folder (it is created if missing)" in err


# -- numbers and files -------------------------------------------------------------------------
@pytest.mark.parametrize("radius", ["40060km", "20004km", "1e9m"])
def test_a_radius_beyond_half_the_earth_is_refused(capsys, radius):
    code, _, err = cli(capsys, "analyse", "EH1 1YZ", "-r", radius, "--max-radius", "50000km")
    assert code == 6
    assert "more than half the Earth's circumference (20,004 km" in one_line(err)


def test_half_the_earth_is_the_limit_of_parse_distance():
    from geotarget.errors import CatchmentError
    from geotarget.units import parse_distance

    assert parse_distance("20003km", max_m=None) == 20_003_000
    with pytest.raises(CatchmentError, match="give at most 20,003km"):
        parse_distance("20004km", max_m=None)


def test_a_folder_as_venue_file_is_named_a_folder(capsys, tmp_path):
    code, _, err = cli(capsys, "batch", tmp_path, "-r", "1km", "-o", tmp_path / "o.csv")
    assert code == 2 and "is a folder: give the CSV or Parquet file in it" in one_line(err)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_venue_or_catchment_file_does_not_hang(capsys, tmp_path):
    fifo = tmp_path / "pipe.geojson"
    os.mkfifo(fifo)
    code, _, err = cli(capsys, "analyse", "--catchment", fifo)
    assert code == 6 and "is not a regular file (a pipe, socket or device)" in one_line(err)
    code, _, err = cli(capsys, "batch", fifo, "-r", "1km", "-o", tmp_path / "o.csv")
    assert code == 2 and "is not a regular file (a pipe, socket or device)" in one_line(err)


def test_a_user_layer_whose_counts_overflow_is_refused(capsys, tmp_path):
    import json

    sq = [[-3.20, 55.94], [-3.18, 55.94], [-3.18, 55.96], [-3.20, 55.96], [-3.20, 55.94]]
    sq2 = [[x + 0.02, y] for x, y in sq]
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"pop": 1.5e308},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            for ring in (sq, sq2)
        ],
    }
    layer = tmp_path / "huge.geojson"
    layer.write_text(json.dumps(fc))
    code, _, err = cli(
        capsys, "analyse", "55.95,-3.19", "-r", "500m", "--layer", layer, "--residents-col", "pop"
    )
    assert code == 7 and "add up to more than a number can hold" in one_line(err)


def test_a_polygon_across_the_antimeridian_is_refused_with_the_reason(capsys, tmp_path):
    import json

    ring = [[179.5, -17.0], [-179.5, -17.0], [-179.5, -16.0], [179.5, -16.0], [179.5, -17.0]]
    f = tmp_path / "fiji.geojson"
    f.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        )
    )
    code, _, err = cli(capsys, "analyse", "--catchment", f)
    assert code == 6
    line = one_line(err)
    assert "crosses the antimeridian (an edge from longitude 179.5 to -179.5)" in line
    assert "split it into two polygons at 180 degrees" in line


def test_edges_along_the_poles_and_the_180_meridian_are_not_crossings(tmp_path):
    import shapely

    from geotarget.catchment import _refuse_antimeridian

    world = shapely.box(-180, -90, 180, 90)
    _refuse_antimeridian(tmp_path / "world.geojson", world)  # no error: not a crossing


@pytest.mark.parametrize(
    "box, why",
    [
        ((-180, -90, 180, 90), "it spans 360 degrees of longitude, more than 180"),
        ((-100, 10, 100, 60), "it spans 200 degrees of longitude, more than 180"),
        ((-10, 60, 10, 90), "it reaches latitude 90"),
        ((-10, -89.5, 10, -80), "it reaches latitude -89.5"),
    ],
)
def test_a_whole_world_polygon_is_refused_with_the_reason(capsys, tmp_path, box, why):
    import json

    import shapely

    world = tmp_path / "world.geojson"
    # no edge longer than 90 degrees: not read as crossing the antimeridian
    geom = shapely.geometry.mapping(shapely.segmentize(shapely.box(*box), 90))
    world.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": geom}), encoding="utf-8"
    )
    # was: a venue at 0,0 with no layer, or with --layer "entirely outside the coverage" of
    # the very layer the box contains; its geodesic area read as 0.025 m^2
    for extra in ([], ["--layer", "scotland-census2022"]):
        code, _, err = cli(capsys, "analyse", "--catchment", world, *extra)
        line = one_line(err)
        assert code == 6 and why in line, line
        assert "no faithful area in the population layer's flat projection" in line


def test_a_polygon_just_within_the_limits_is_read(tmp_path):
    import json

    import shapely

    from geotarget.catchment import from_file

    p = tmp_path / "wide.geojson"
    geom = shapely.geometry.mapping(shapely.box(-90, -60, 90, 89))
    p.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": geom}))
    c = from_file(p)
    assert 1e14 < c.area_m2 < 5.1e14  # finite, positive, less than the whole Earth


def test_analyse_output_on_the_terminal_shows_control_characters(capsys, tmp_path):
    import json

    rules = _rules(tmp_path, name="Acme \\u202eevil\\u001b[2J")
    base = ["analyse", "EH1 1YZ", "-r", "1km", "--rules", rules, "--platforms", "acme"]
    code, out, _ = cli(capsys, *base)
    assert code == 0 and "\u202e" not in out and "\x1b" not in out
    assert "Acme \\u202eevil\\x1b[2J" in out
    code, out, _ = cli(capsys, *base, "--json")
    assert code == 0 and "\u202e" not in out and "\x1b" not in out
    names = [r["name"] for r in json.loads(out)["platforms"]]  # still JSON, same data
    assert "Acme \u202eevil\x1b[2J" in names
