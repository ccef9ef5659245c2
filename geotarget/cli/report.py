"""``geotarget report VENUE --radius R -o report.html``: the report a small business can read.

``run`` returns 0 and raises :class:`~geotarget.errors.GeotargetError` subclasses for everything
else (``OutputError``: 9 for an existing or unwritable output; ``InputError``: 2 ...), which
:func:`geotarget.cli.main` turns into one line on stderr and the class's exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError, OutputError
from ..escape import terminal
from .analyse import add_analysis_options, analyse_from_args
from .options import add_verbose

EPILOG = """examples:
  geotarget report "EH1 1YZ" --radius 0.5mi -o report.html
  geotarget report "EC2Y 8BN" --radius 0.5mi --data-dir ../shared/data/london-census2021 \\
      --budget 500 --currency GBP -o report.html --png map.png
  geotarget report 51.5202,-0.0937 -r 800m --data-dir DIR -o report.md
  geotarget report "EH1 1YZ" -r 1km --format json -o -
  geotarget report "EH1 1YZ" -r 0.5mi --tiles none --map map.html -o report.html --overwrite

The HTML report and map are single files that work offline (Leaflet is inlined); with the
default --tiles osm the background map loads from OpenStreetMap when the file is opened online.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` command to ``subparsers`` (venue and layer options as ``analyse``)."""
    r = subparsers.add_parser(
        "report",
        help="write a report (HTML with a map, Markdown or JSON) of the platforms "
        "that can reach a catchment and the spend that lands outside it",
        description="Count the people near a venue, evaluate the ad platforms, and write one "
        "self-contained report: the verdict in plain words, the platform table, the "
        "map, the population figures with their ranges, and the data's sources.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_analysis_options(r, platforms_default="all")
    o = r.add_argument_group("output")
    o.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="report file to write ('-' for standard output)",
    )
    o.add_argument(
        "--format",
        choices=["html", "md", "json"],
        help="report format (default: from the file name: .md, .json, else html)",
    )
    o.add_argument(
        "--tiles",
        default="osm",
        metavar="osm|none|URL",
        help="background map: osm "
        "(OpenStreetMap, loaded when the report is opened online; default), none (no "
        "background, census zone outlines instead; no network request at all) or a "
        "tile URL template https://.../{z}/{x}/{y}.png",
    )
    o.add_argument("--tiles-attribution", metavar="TEXT", help="attribution of a --tiles URL")
    o.add_argument(
        "--png", metavar="FILE", help="also write the map as a PNG (for slides and print)"
    )
    o.add_argument(
        "--map", metavar="FILE", help="also write the interactive map alone as an HTML file"
    )
    o.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    add_verbose(r)
    return r


def _say(msg: str, to_stdout: bool) -> None:
    print(msg, file=sys.stdout if to_stdout else sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run ``geotarget report``; raises GeotargetError subclasses on failure."""
    from ..files import write_output
    from ..render.report import format_for, render_report
    from ..render.webmap import check_tiles

    if args.data_dir is not None and args.layer is not None:
        raise InputError("give --data-dir or --layer, not both")
    tiles = check_tiles(args.tiles)

    stdout = args.output == "-"
    fmt = format_for(None if stdout else args.output, args.format)
    # refuse early, before the counting, when an output exists or two outputs collide
    outputs = [p for p in ([] if stdout else [args.output]) + [args.png, args.map] if p]
    resolved = [Path(p).resolve() for p in outputs]
    if len(set(resolved)) != len(resolved):
        raise InputError("-o, --png and --map must name different files")
    for p in outputs:
        path = Path(p)
        if path.is_dir():
            raise OutputError(f"cannot write {p}: it is a folder; give a file name")
        if not path.parent.is_dir() and str(path.parent):
            raise OutputError(f"cannot write {p}: folder {path.parent} does not exist")
        if path.exists() and not args.overwrite:
            raise OutputError(
                f"{p} exists already: give --overwrite to replace it, or another file name"
            )
    if args.png and not args.png.lower().endswith(".png"):
        raise InputError(f"--png {args.png!r}: give a file name ending in .png")

    result = analyse_from_args(args, args.platforms)
    for w in result.warnings:
        print(f"geotarget: warning: {terminal(w)}", file=sys.stderr)

    pic = None
    if fmt == "html" or args.png or args.map:
        from ..render.picture import picture

        pic = picture(result)
    # everything is rendered before anything is written: an interrupt (Ctrl-C) while
    # rendering leaves no file behind
    text = render_report(result, fmt, tiles=tiles, attribution=args.tiles_attribution, pic=pic)
    files: list[tuple[str, str | bytes, str]] = []
    if args.map:
        from ..render.webmap import interactive_map, render_html

        m = interactive_map(result, tiles=tiles, attribution=args.tiles_attribution, pic=pic)
        files.append((args.map, render_html(m), "interactive map"))
    if args.png:
        from ..render.png import render_png

        files.append((args.png, render_png(result, pic=pic), "PNG map"))
    if stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        files.insert(0, (args.output, text, fmt))
    for name, data, what in files:
        p = write_output(name, data, overwrite=args.overwrite)
        _say(f"wrote {p} ({_size(p)}, {what})", not stdout)
    return 0


def _size(p: Path) -> str:
    n = p.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"
