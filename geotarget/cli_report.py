"""``geotarget report VENUE --radius R -o report.html``: the report a small business can read.

Wiring (in ``geotarget/cli.py``)::

    from .cli_report import add_report_parser, run_report
    add_report_parser(sub)                    # in build_parser(), beside add_data_parser(sub)
    ...
    if args.command == "report":
        return run_report(args)               # inside main()'s try: errors are GeotargetError

``run_report`` returns 0 and raises :class:`~geotarget.errors.GeotargetError` subclasses for
everything else (``OutputError``: 9 for an existing or unwritable output; ``InputError``: 2 ...),
which ``main()`` turns into one line on stderr and the class's exit code.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

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


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``report`` command to ``subparsers`` (venue and layer options as ``analyse``)."""
    r = subparsers.add_parser(
        "report", help="write a report (HTML with a map, Markdown or JSON) of the platforms "
        "that can reach a catchment and the spend that lands outside it",
        description="Count the people near a venue, evaluate the ad platforms, and write one "
                    "self-contained report: the verdict in plain words, the platform table, the "
                    "map, the population figures with their ranges, and the data's sources.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("venue", nargs="?", help="GB postcode ('EH1 1YZ'), 'lat,lon', or an address "
                   "with --geocode")
    r.add_argument("--lat", type=str, help="venue latitude (WGS84 decimal degrees)")
    r.add_argument("--lon", type=str, help="venue longitude (WGS84 decimal degrees)")
    r.add_argument("--radius", "-r", help="catchment radius with unit: 0.5mi, 800m, 1km, 2640ft")
    r.add_argument("--catchment", metavar="FILE", help="catchment polygon file (GeoJSON, "
                   "GeoPackage; any CRS) instead of --radius")
    r.add_argument("--max-radius", default="100km", help="largest radius accepted (default "
                   "100km)")
    r.add_argument("--data-dir", metavar="PATH", help="folder of census files (see README); "
                   "default: the built-in layer covering the venue")
    r.add_argument("--layer", help="built-in layer name or a layer file (as for 'analyse')")
    r.add_argument("--residents-col", metavar="COLUMN", help="with --layer FILE: the column "
                   "holding residents")
    r.add_argument("--workers-col", metavar="COLUMN", help="with --layer FILE: the column "
                   "holding workers")
    r.add_argument("--method", choices=["dasymetric", "areal", "points"], help="estimation "
                   "method (default: the layer's best)")
    r.add_argument("--counts", choices=["oa", "lsoa"], help="England & Wales: census counts to "
                   "spread (default oa)")
    g = r.add_argument_group("ad platforms")
    g.add_argument("--platforms", default="all", metavar="all|ID,ID", help="platforms to "
                   "evaluate (default all; see 'geotarget platforms')")
    g.add_argument("--budget", type=str, help="spend, to show the money wasted (e.g. 500)")
    g.add_argument("--currency", default="", help="currency of --budget (e.g. GBP)")
    g.add_argument("--segment-share", type=str, metavar="SHARE", help="share of people in your "
                   "audience segment (e.g. 0.004), for the minimum-audience check")
    g.add_argument("--rules", metavar="FILE", help="a platform rules file (TOML) extending the "
                   "built-in catalogue")
    g.add_argument("--rule", action="append", default=[], metavar="ID.FIELD=VALUE",
                   help="override one rule, e.g. meta.radius_min=1km (repeatable)")
    g.add_argument("--country", help="ISO country code for the platforms' rules when the layer "
                   "does not say (e.g. FR)")
    g.add_argument("--postcode-coverage", type=str, metavar="SHARE", help="share of the "
                   "catchment's people postcode districts must cover (default 0.95)")
    o = r.add_argument_group("output")
    o.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="report file to write ('-' for standard output)")
    o.add_argument("--format", choices=["html", "md", "json"], help="report format (default: "
                   "from the file name: .md, .json, else html)")
    o.add_argument("--tiles", default="osm", metavar="osm|none|URL", help="background map: osm "
                   "(OpenStreetMap, loaded when the report is opened online; default), none (no "
                   "background, census zone outlines instead; no network request at all) or a "
                   "tile URL template https://.../{z}/{x}/{y}.png")
    o.add_argument("--tiles-attribution", metavar="TEXT", help="attribution of a --tiles URL")
    o.add_argument("--png", metavar="FILE", help="also write the map as a PNG (for slides and "
                   "print)")
    o.add_argument("--map", metavar="FILE", help="also write the interactive map alone as an "
                   "HTML file")
    o.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    r.add_argument("--geocode", action="store_true", help="look up a free-text address online "
                   "with OpenStreetMap Nominatim")
    r.add_argument("-v", "--verbose", action="count", default=0, help="more detail; tracebacks "
                   "on error")
    return r


def _say(msg: str, to_stdout: bool) -> None:
    print(msg, file=sys.stdout if to_stdout else sys.stderr)


def run_report(args: argparse.Namespace) -> int:
    """Run ``geotarget report``; raises GeotargetError subclasses on failure."""
    from .analysis import analyse
    from .errors import InputError, OutputError
    from .maps import check_tiles
    from .report import format_for, render_report, write_output

    venue = args.venue
    if args.lat is not None or args.lon is not None:
        if args.lat is None or args.lon is None or venue is not None:
            raise InputError("give the venue either as a positional postcode / 'lat,lon' or as "
                             "both --lat and --lon")
        venue = (args.lat, args.lon)
    if venue is None and args.catchment is None:
        raise InputError("no venue: give a postcode ('EH1 1YZ'), 'lat,lon' or --lat/--lon")
    if args.radius is None and args.catchment is None:
        raise InputError("no catchment: give --radius (e.g. 0.5mi) or --catchment FILE")
    if args.radius is not None and args.catchment is not None:
        raise InputError("give --radius or --catchment, not both")
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
            raise OutputError(f"{p} exists already: give --overwrite to replace it, or another "
                              "file name")
    if args.png and not args.png.lower().endswith(".png"):
        raise InputError(f"--png {args.png!r}: give a file name ending in .png")

    result = analyse(venue, args.radius, catchment=args.catchment, data_dir=args.data_dir,
                     layer=args.layer, method=args.method, counts=args.counts,
                     residents_col=args.residents_col, workers_col=args.workers_col,
                     platforms=args.platforms, budget=_number(args.budget, "--budget"),
                     currency=args.currency,
                     segment_share=_number(args.segment_share, "--segment-share"),
                     rules=args.rules, rule_overrides=tuple(args.rule), country=args.country,
                     postcode_coverage=_number(args.postcode_coverage, "--postcode-coverage"),
                     max_radius=args.max_radius, geocode=args.geocode)
    for w in result.warnings:
        print(f"geotarget: warning: {w}", file=sys.stderr)

    pic = None
    if fmt == "html" or args.png or args.map:
        from .maps import picture

        pic = picture(result)
    text = render_report(result, fmt, tiles=tiles, attribution=args.tiles_attribution, pic=pic)
    if stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        p = write_output(args.output, text, overwrite=args.overwrite)
        _say(f"wrote {p} ({_size(p)}, {fmt})", True)
    if args.map:
        from .maps import interactive_map, render_html

        m = interactive_map(result, tiles=tiles, attribution=args.tiles_attribution, pic=pic)
        p = write_output(args.map, render_html(m), overwrite=args.overwrite)
        _say(f"wrote {p} ({_size(p)}, interactive map)", not stdout)
    if args.png:
        from .static import render_png

        p = write_output(args.png, render_png(result, pic=pic), overwrite=args.overwrite)
        _say(f"wrote {p} ({_size(p)}, PNG map)", not stdout)
    return 0


def _number(text: str | None, option: str) -> float | None:
    from .errors import InputError

    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{option} {text!r} must be a finite number")
    return v


def _size(p: Path) -> str:
    n = p.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"
