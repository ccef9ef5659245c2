import json
import subprocess
import sys

import pytest

from geotarget.cli import main


def run(*args):
    """The CLI as a user runs it: a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "geotarget", *args], capture_output=True, text=True, timeout=120
    )


def test_main_example_table():
    p = run("analyse", "EH1 1YZ", "--radius", "0.5mi")
    assert p.returncode == 0, p.stderr
    for word in (
        "Residents",
        "11,9",
        "Residents 16+",
        "Workers travelling in",
        "unavailable",
        "Coverage",
        "Source",
        "Vintage",
        "Licence",
        "Caveat",
        "National Records of Scotland",
    ):
        assert word in p.stdout


def test_json_contract(capsys):
    assert main(["analyse", "eh11yz", "--radius", "800m", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["schema"] == "geotarget.result/1"
    assert set(d) >= {"venue", "catchment", "layer", "residents", "workers", "coverage", "warnings"}
    assert d["catchment"]["radius_m"] == 800.0
    assert set(d["layer"]) >= {"name", "source", "vintage", "licence", "caveats"}
    assert set(d["residents"]) >= {"estimate", "low", "high", "method"}
    assert d["workers"] is None and d["workers_unavailable"]
    assert d["venue"]["postcode"] == "EH1 1YZ"


def test_lat_lon_options(capsys):
    assert main(["analyse", "--lat", "55.9503", "--lon", "-3.1930", "-r", "0.5mi", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["venue"]["source"] == "coordinates"


@pytest.mark.parametrize(
    "args,code,fragment",
    [
        (["analyse", "EH1 1YZ", "--radius", "-1mi"], 6, "greater than zero"),
        (["analyse", "EH1 1YZ", "--radius", "5parsecs"], 6, "unknown unit"),
        (["analyse", "EH1 1YZ", "--radius", "500km"], 6, "beyond the maximum"),
        (["analyse", "XX1 1XX", "--radius", "1km"], 4, "unknown"),
        (["analyse", "91,0", "--radius", "1km"], 3, "latitude '91'"),
        (["analyse", "nowhere-town", "--radius", "1km"], 3, "--geocode"),
        # London is built in since issue 12: Paris is outside every built-in layer
        (["analyse", "48.85,2.35", "--radius", "1km"], 8, "--data-dir"),
        (["analyse", "EH1 1YZ"], 2, "--radius"),
        (["analyse", "EH1 1YZ", "-r", "1km", "--data-dir", "/no/such/dir"], 7, "/no/such/dir"),
        (["analyse", "EH1 1YZ", "-r", "1km", "--catchment", "x.geojson"], 2, "not both"),
        (["analyse", "EH1 1YZ", "-r", "1km", "--method", "nope"], 2, "invalid choice"),
    ],
)
def test_errors_one_line_no_traceback(args, code, fragment):
    p = run(*args)
    assert p.returncode == code, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and fragment in lines[0]


def test_verbose_shows_details():
    p = run("analyse", "XX1 1XX", "-r", "1km", "-v")
    assert p.returncode == 4 and "Traceback" in p.stderr


def test_london_cli(london_dir):
    p = run(
        "analyse",
        "51.5202,-0.0937",
        "--radius",
        "0.5mi",
        "--data-dir",
        str(london_dir),
        "--method",
        "areal",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["residents"]["estimate"] == pytest.approx(16_430, rel=0.01)
    assert d["workers"]["home_workers"] == pytest.approx(5_610, rel=0.01)
