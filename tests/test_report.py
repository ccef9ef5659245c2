"""The report (HTML / Markdown / JSON), its plain-words verdict, safe writing, and
``geotarget report`` on the command line."""

from __future__ import annotations

import argparse
import html as html_mod
import json
import os
import re

import pytest
from test_maps import PLATFORMS, assert_offline

import geotarget
from geotarget import files
from geotarget.errors import GeotargetError, InputError, OutputError
from geotarget.render import report, words


@pytest.fixture(scope="module")
def edinburgh():
    return geotarget.analyse("EH1 1YZ", "0.5mi", platforms=PLATFORMS, budget=500, currency="GBP")


@pytest.fixture(scope="module")
def ed_report(edinburgh):
    return report.render_report(edinburgh, "html", tiles="none")


@pytest.fixture(scope="module")
def london_result(london):
    return geotarget.analyse(
        "EC2Y 8BN", "0.5mi", layer=london, platforms="all", budget=500, currency="GBP"
    )


def text_of(page: str) -> str:
    """The visible words of an HTML page (tags dropped, entities decoded)."""
    body = page.split("<body>", 1)[-1].split("</body>", 1)[0]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.DOTALL)
    return html_mod.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


# -- plain words -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "share, expected",
    [
        (0.3411, "about a third"),
        (0.25, "about a quarter"),
        (0.5, "about half"),
        (0.66, "about two thirds"),
        (0.379, "about 38%"),
        (0.001, "almost none"),
        (0.0, "none"),
        (0.9947, "about 99%"),
    ],
)
def test_share_words(share, expected):
    assert words.share_words(share) == expected


def test_every_platform_is_in_exactly_one_sentence(edinburgh):
    sentences = words.summary_sentences(edinburgh)
    ids = [i for s in sentences for i in s["platforms"]]
    assert sorted(ids) == sorted(r["id"] for r in edinburgh.platform_rows)
    for s in sentences:
        for pid in s["platforms"]:
            row = next(r for r in edinburgh.platform_rows if r["id"] == pid)
            assert row["name"] in s["text"]
            assert s["verdict"] == row["verdict"]


def test_sentences_are_made_of_the_rows(edinburgh):
    by_id = {r["id"]: r for r in edinburgh.platform_rows}
    texts = {i: s["text"] for s in words.summary_sentences(edinburgh) for i in s["platforms"]}
    meta = by_id["meta"]
    assert texts["meta"] == texts["google_ads"]  # same footprint, same waste: one sentence
    assert f"a {meta['footprint']['label']} around the venue" in texts["meta"]
    assert words.share_words(meta["waste_share"]) in texts["meta"]
    assert f"£{meta['waste_money']['amount']:,.0f} of £500" in texts["meta"]
    li = by_id["linkedin"]
    assert f"can only target all of {li['footprint']['label']}" in texts["linkedin"]
    assert texts["nextdoor"] == by_id["nextdoor"]["advice"][0]


@pytest.mark.shared_data
def test_london_verdict_in_plain_words(london_result, london):
    texts = {i: s["text"] for s in words.summary_sentences(london_result) for i in s["platforms"]}
    meta = next(r for r in london_result.platform_rows if r["id"] == "meta")
    assert texts["meta"].startswith("Meta (Facebook, Instagram)")
    assert "can reach this area with a 1 km circle around the venue" in texts["meta"]
    assert words.share_words(meta["waste_share"]) in texts["meta"]
    assert (
        "can only target all of Greater London, so over 99% of the spend would miss"
        in texts["linkedin"]
    )
    # Meta's restricted rules apply only for a declared special ad category (issue 13)
    assert "meta_special" not in texts
    housing = geotarget.analyse(
        "EC2Y 8BN", "0.5mi", layer=london, platforms="meta", special_category="housing"
    )
    texts = {i: s["text"] for s in words.summary_sentences(housing) for i in s["platforms"]}
    assert "at least" in texts["meta_special"]  # beyond the layer: a lower bound


# -- the HTML page ---------------------------------------------------------------------------
def test_report_html_verdict_first_then_table_map_people_sources(edinburgh, ed_report):
    assert_offline(ed_report)
    page = text_of(ed_report)
    positions = [
        page.index(h)
        for h in (
            "In short",
            "Platforms, best first",
            "Map",
            "People in your catchment",
            "Data, sources and caveats",
        )
    ]
    assert positions == sorted(positions)
    first = words.summary_sentences(edinburgh)[0]["text"]
    assert page.index(first) < positions[1]
    for r in edinburgh.platform_rows:
        assert f"data-platform='{r['id']}'" in ed_report
    assert 'class="folium-map"' in ed_report and "L.map(" in ed_report
    res = edinburgh.residents
    assert f"about {res.estimate:,.0f}" in page
    assert f"range {res.low:,.0f} – {res.high:,.0f}" in page
    assert edinburgh.workers_unavailable in page
    lay = edinburgh.layer
    for piece in [
        lay["source"],
        lay["vintage"],
        lay["licence"],
        *lay["attribution"],
        *lay["caveats"],
    ]:
        assert piece in page, piece
    assert "Leaflet (BSD-2-Clause" in page


def test_people_rows_plain_first_method_behind_a_toggle(ed_report, edinburgh):
    """A shop owner reads "likely between ... and ..."; the range model, zones and method are
    inside a closed <details> of the same row."""
    import re

    res = edinburgh.residents
    row = re.search(r"<tr><th>Residents</th>.*?</tr>", ed_report, re.S)
    assert row is not None
    cell = row.group(0)
    plain = f"likely between {res.low:,.0f} and {res.high:,.0f}"
    assert plain in cell
    toggle = cell.index("<details><summary>How this was counted</summary>")
    assert cell.index(plain) < toggle
    assert cell.index(f"method {res.method}") > toggle  # the technical words are inside it
    assert "<details open" not in cell


def test_report_numbers_all_come_from_the_result(edinburgh, ed_report):
    """Every number in the platform table is one of the row's figures, formatted."""
    rows = re.findall(r"<tr data-platform='([^']+)'>(.*?)</tr>", ed_report, flags=re.DOTALL)
    by_id = {r["id"]: r for r in edinburgh.platform_rows}
    for pid, cells in rows:
        r = by_id[pid]
        text = html_mod.unescape(re.sub(r"<[^>]+>", "|", cells))
        expected = set()
        if r.get("people"):
            expected |= {f"{r['people']['total']:,.0f}", f"{r['people']['in_catchment']:,.0f}"}
        for n in re.findall(r"\d[\d,.]*", text):
            if n in expected:
                continue
            pct = [f"{100 * r[k]:.0f}" for k in ("share_inside", "waste_share") if r.get(k)]
            money = [
                f"{r['waste_money'][k]:,.0f}" for k in ("amount", "budget") if r.get("waste_money")
            ]
            ma = r["min_audience"].get("required")
            label_nums = re.findall(r"\d[\d,.]*", (r.get("footprint") or {}).get("label", ""))
            assert n in pct + money + label_nums + ([f"{ma:,.0f}"] if ma else []), (pid, n)


def test_report_markdown_and_json(edinburgh):
    md = report.render_report(edinburgh, "md")
    assert md.startswith("# Local advertising around EH1 1YZ")
    assert "| Platform | Verdict | Smallest footprint |" in md
    for s in words.summary_sentences(edinburgh):
        assert s["text"] in md
    for a in edinburgh.layer["attribution"]:
        assert a in md
    d = json.loads(report.render_report(edinburgh, "json"))
    assert d["schema"] == "geotarget.result/1"
    assert d["platforms"] == json.loads(edinburgh.to_json())["platforms"]
    assert d["report"]["summary"] == [s["text"] for s in words.summary_sentences(edinburgh)]
    with pytest.raises(InputError, match="report format 'pdf'"):
        report.render_report(edinburgh, "pdf")


def test_format_from_file_name():
    assert report.format_for("a/r.md", None) == "md"
    assert report.format_for("r.JSON", None) == "json"
    assert report.format_for("r.html", None) == "html"
    assert report.format_for("r.txt", None) == "html"
    assert report.format_for("r.md", "json") == "json"


# -- writing safely --------------------------------------------------------------------------
def test_write_refuses_to_overwrite_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "report.html"
    files.write_output(out, "first")
    with pytest.raises(OutputError, match="exists already: give --overwrite") as e:
        files.write_output(out, "second")
    assert e.value.exit_code == 9
    assert out.read_text() == "first"
    files.write_output(out, "third", overwrite=True)
    assert out.read_text() == "third"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    u = os.umask(0)
    os.umask(u)
    return u


def test_write_is_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OutputError, match="No space left on device"):
        files.write_output(out, "new", overwrite=True)
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_errors_are_one_clear_line(tmp_path):
    with pytest.raises(OutputError, match="folder .*missing does not exist"):
        files.write_output(tmp_path / "missing" / "r.html", "x")
    with pytest.raises(OutputError, match="it is a folder"):
        files.write_output(tmp_path, "x")


def test_write_report(tmp_path, edinburgh):
    p = report.write_report(edinburgh, tmp_path / "r.md")
    assert p.read_text(encoding="utf-8").startswith("# Local advertising")
    with pytest.raises(OutputError):
        report.write_report(edinburgh, p)


# -- the command -----------------------------------------------------------------------------
def run_cli(argv: list[str]) -> int:
    """``geotarget report ...`` through main() once cli.py wires it in; until then through the
    same parser with the report command added, and main()'s error handling."""
    import sys

    from geotarget import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "report" in sub.choices:
        return cli.main(argv)
    from geotarget.cli.report import add_parser as add_report_parser
    from geotarget.cli.report import run as run_report

    add_report_parser(sub)
    args = parser.parse_args(argv)
    try:
        return run_report(args)
    except GeotargetError as e:
        print(f"geotarget: error: {e}", file=sys.stderr)
        return e.exit_code


def test_cli_report_html_png_and_map(tmp_path, capsys):
    out, png, mp = tmp_path / "report.html", tmp_path / "map.png", tmp_path / "map.html"
    rc = run_cli(
        [
            "report",
            "EH1 1YZ",
            "--radius",
            "0.5mi",
            "--platforms",
            PLATFORMS,
            "--budget",
            "500",
            "--currency",
            "GBP",
            "-o",
            str(out),
            "--png",
            str(png),
            "--map",
            str(mp),
            "--tiles",
            "none",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert f"wrote {out}" in captured.out and f"wrote {png}" in captured.out
    page = out.read_text(encoding="utf-8")
    assert_offline(page)
    assert "In short" in page and "£" in page
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "geotarget-legend" in mp.read_text(encoding="utf-8")
    # a second run refuses at once (before counting anything), exit code 9, one line
    rc = run_cli(["report", "EH1 1YZ", "-r", "0.5mi", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 9
    assert err.strip() == (
        f"geotarget: error: {out} exists already: give --overwrite to "
        "replace it, or another file name"
    )
    rc = run_cli(
        ["report", "EH1 1YZ", "-r", "0.5mi", "-o", str(out), "--overwrite", "--platforms", "meta"]
    )
    assert rc == 0
    assert "Google Ads" not in out.read_text(encoding="utf-8")


def test_cli_report_to_stdout_and_errors(tmp_path, capsys):
    rc = run_cli(
        ["report", "EH1 1YZ", "-r", "500m", "--platforms", "meta", "-o", "-", "--format", "json"]
    )
    captured = capsys.readouterr()
    assert rc == 0
    d = json.loads(captured.out)
    assert d["report"]["summary"] and d["platforms"][0]["id"] == "meta"
    for argv, code, msg in [
        (["-o", str(tmp_path / "r.html"), "--tiles", "satellite"], 2, "tile URL template"),
        (["-o", str(tmp_path / "nope" / "r.html")], 9, "does not exist"),
        (["-o", str(tmp_path / "a.html"), "--png", str(tmp_path / "a.html")], 2, "different files"),
        (["-o", str(tmp_path / "r.html"), "--png", str(tmp_path / "m.jpg")], 2, "ending in .png"),
        (
            ["-o", str(tmp_path / "r.html"), "--budget", "lots"],
            2,
            "--budget 'lots' is not a number",
        ),
    ]:
        rc = run_cli(["report", "EH1 1YZ", "-r", "500m", *argv])
        err = capsys.readouterr().err
        assert rc == code, (argv, err)
        assert msg in err and err.count("\n") == 1, err
    assert not any(tmp_path.iterdir())


def test_cli_report_markdown_from_file_name(tmp_path, capsys):
    out = tmp_path / "r.md"
    assert (
        run_cli(["report", "55.9503,-3.1930", "-r", "400m", "--platforms", "meta", "-o", str(out)])
        == 0
    )
    assert out.read_text(encoding="utf-8").startswith("# Local advertising")


@pytest.mark.shared_data
def test_cli_report_london(tmp_path, capsys, london_dir):
    out = tmp_path / "report.html"
    rc = run_cli(
        [
            "report",
            "EC2Y 8BN",
            "--radius",
            "0.5mi",
            "--data-dir",
            str(london_dir),
            "--budget",
            "500",
            "--currency",
            "GBP",
            "-o",
            str(out),
            "--tiles",
            "none",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    words = text_of(out.read_text(encoding="utf-8"))
    assert "can only target all of Greater London, so over 99% of the spend would miss" in words
    assert "census day (21 March 2021) fell in a national lockdown" in words
    assert out.stat().st_size < 1_200_000
