"""The command line as a package: start-up cost, help texts, dispatch, and Ctrl-C."""

import argparse
import subprocess
import sys

import pytest

from geotarget.cli import COMMANDS, build_parser, main

HEAVY = ("pandas", "geopandas", "shapely", "pyproj", "matplotlib", "folium")


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["batch", "--help"]])
def test_version_and_help_import_nothing_heavy(argv):
    code = (
        "import sys\n"
        "from geotarget.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[]", p.stdout


def _subparsers(parser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_every_option_of_every_command_has_a_help_text():
    sub = _subparsers(build_parser())
    missing = []
    for name in COMMANDS:
        parsers = [sub.choices[name]]
        inner = [a for a in parsers[0]._actions if isinstance(a, argparse._SubParsersAction)]
        for a in inner:  # geotarget data list|info|fetch
            parsers += list(a.choices.values())
        for p in parsers:
            for action in p._actions:
                if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                    continue
                if not action.help:
                    missing.append(f"{p.prog} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_commands_dispatch_without_an_if_chain():
    sub = _subparsers(build_parser())
    for name in COMMANDS:
        run = sub.choices[name].get_default("run")
        assert callable(run) and run.__module__ == f"geotarget.cli.{name}"


def test_ctrl_c_during_report_stops_it(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the report is being made: exit 130, nothing written, nothing run again
    (the interrupt handler used to run the whole report a second time and exit 0)."""
    import geotarget.render.report as report

    real = report.render_report
    calls = []

    def interrupted_once(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(report, "render_report", interrupted_once)
    out = tmp_path / "report.html"
    code = main(["report", "EH1 1YZ", "-r", "0.5mi", "--tiles", "none", "-o", str(out)])
    assert code == 130
    assert calls == [1]
    assert not out.exists() and list(tmp_path.iterdir()) == []
    # the last line says so; any before it are progress lines of a cold cache
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "geotarget: interrupted", err
    assert all(line.startswith("geotarget: ") and "Traceback" not in line for line in err), err
