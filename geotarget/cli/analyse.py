"""``geotarget analyse VENUE --radius R``: the people in one catchment, and the platforms."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import InputError, NoCoverageError
from ..escape import terminal
from .options import (
    add_layer_options,
    add_platform_options,
    add_radius_limit,
    add_travel_options,
    add_verbose,
)

if TYPE_CHECKING:
    from ..result import Result

EPILOG = """examples:
  geotarget analyse "EH1 1YZ" --radius 0.5mi
  geotarget analyse 51.5202,-0.0937 --radius 800m --data-dir ../shared/data/london-census2021
  geotarget analyse --lat 51.5202 --lon -0.0937 --radius 1km --data-dir DIR --json
  geotarget analyse --catchment my-area.geojson --data-dir DIR
  geotarget analyse 51.5185,-0.1409 --walk 10min --network fitzrovia.osm --data-dir DIR
  geotarget analyse 51.5185,-0.1409 --walk 800m --walk-speed 4 --network area.osm.pbf \
      --data-dir DIR --json
  geotarget analyse 35.1495,-90.0490 -r 1mi --data-dir ../shared/data/memphis-census2020
  geotarget analyse 48.8530,2.3499 -r 5km --data-dir ../shared/data/eurostat-grid2021
  geotarget analyse 51.5,-0.1 -r 1km --layer my-zones.gpkg --residents-col pop
  geotarget analyse 51.5202,-0.0937 -r 0.5mi --data-dir DIR --platforms all --budget 500 \\
      --currency GBP
  geotarget analyse "EC2Y 8BN" -r 0.5mi --workers-table bres-msoa.csv
  geotarget analyse 51.5202,-0.0937 -r 0.5mi --data-dir DIR --platforms linkedin \\
      --segment-share 0.004 --rule linkedin.min_audience=1000
"""


def add_analysis_options(
    parser: argparse.ArgumentParser, *, platforms_default: str | None = None
) -> None:
    """The venue, catchment, layer and platform options shared by ``analyse`` and ``report``."""
    parser.add_argument(
        "venue", nargs="?", help="GB postcode ('EH1 1YZ'), 'lat,lon', or an address with --geocode"
    )
    parser.add_argument("--lat", type=str, help="venue latitude (WGS84 decimal degrees)")
    parser.add_argument("--lon", type=str, help="venue longitude (WGS84 decimal degrees)")
    parser.add_argument(
        "--radius",
        "-r",
        metavar="DISTANCE",
        help="catchment radius with unit: 0.5mi, 800m, 1km, 2640ft",
    )
    parser.add_argument(
        "--catchment",
        metavar="FILE",
        help="catchment polygon file (GeoJSON, GeoPackage; any CRS) instead of --radius",
    )
    add_travel_options(parser)
    add_radius_limit(parser)
    add_layer_options(parser)
    parser.add_argument(
        "--residents-col", metavar="COLUMN", help="with --layer FILE: the column holding residents"
    )
    parser.add_argument(
        "--workers-col", metavar="COLUMN", help="with --layer FILE: the column holding workers"
    )
    g = parser.add_argument_group("ad platforms")
    g.add_argument(
        "--platforms",
        metavar="all|ID,ID",
        default=platforms_default,
        help="evaluate ad platforms: 'all' or ids such as meta,google_ads,linkedin "
        "(see 'geotarget platforms')"
        + (f"; default {platforms_default}" if platforms_default else ""),
    )
    add_platform_options(g)
    parser.add_argument(
        "--geocode",
        action="store_true",
        help="look up a free-text address online with OpenStreetMap Nominatim",
    )


def analyse_from_args(args: argparse.Namespace, platforms: str | None = None) -> Result:
    """Check the shared options and run :func:`geotarget.analyse` with them."""
    from ..analysis import analyse
    from .options import platform_options

    venue = args.venue
    if args.lat is not None or args.lon is not None:
        if args.lat is None or args.lon is None or venue is not None:
            raise InputError(
                "give the venue either as a positional postcode / 'lat,lon' or as "
                "both --lat and --lon"
            )
        venue = (args.lat, args.lon)
    if venue is None and args.catchment is None:
        raise InputError("no venue: give a postcode ('EH1 1YZ'), 'lat,lon' or --lat/--lon")
    given = [
        o
        for o, v in (
            ("--radius", args.radius),
            ("--catchment", args.catchment),
            ("--walk", args.walk),
            ("--drive", args.drive),
        )
        if v is not None
    ]
    if not given:
        raise InputError(
            "no catchment: give --radius (e.g. 0.5mi) or --catchment FILE, or --walk 10min / "
            "--drive 10min with --network FILE"
        )
    if given[:2] == ["--radius", "--catchment"]:
        raise InputError("give --radius or --catchment, not both")
    if len(given) > 1:
        raise InputError(f"give one of {' and '.join(given)}, not both")
    if args.data_dir is not None and args.layer is not None:
        raise InputError("give --data-dir or --layer, not both")
    opts = platform_options(args)
    result = analyse(
        venue,
        args.radius,
        catchment=args.catchment,
        data_dir=args.data_dir,
        layer=args.layer,
        method=args.method,
        counts=args.counts,
        workers_table=getattr(args, "workers_table", None),
        residents_col=args.residents_col,
        workers_col=args.workers_col,
        platforms=platforms,
        options=opts,
        max_radius=args.max_radius,
        geocode=args.geocode,
        walk=args.walk,
        drive=args.drive,
        walk_speed=args.walk_speed,
        network=args.network,
    )
    require_coverage(result)
    return result


def require_coverage(result: Result) -> None:
    """Fail (exit 8, one line) when the catchment lies entirely outside the layer's coverage.

    A partly covered catchment stays a warning with lower bounds; the Python API returns the
    uncovered result (coverage 0, counts unknown) for the caller to judge.

    Raises
    ------
    NoCoverageError
        When the coverage fraction is zero.
    """
    if result.coverage_fraction > 0.0:
        return
    why = next((w for w in result.warnings if w.startswith("0% of the catchment")), "")
    hint = why.split("; ", 1)[1] if "; " in why else "use a layer that covers the venue"
    raise NoCoverageError(
        f"the catchment lies entirely outside the coverage of layer {result.layer.get('name')}: "
        f"nothing is known there (not zero people); {hint}"
    )


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    a = subparsers.add_parser(
        "analyse",
        aliases=["analyze"],
        help="count residents and workers in a catchment",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_analysis_options(a)
    a.add_argument(
        "--json", action="store_true", help="print the result as JSON (schema geotarget.result/1)"
    )
    add_verbose(a)
    return a


def run(args: argparse.Namespace) -> int:
    platforms = args.platforms
    if platforms is None and (
        args.budget
        or args.segment_share
        or args.rules
        or args.rule
        or args.special_category
        or args.managed_account
    ):
        platforms = "all"
    result = analyse_from_args(args, platforms)
    # bidi controls become backslash-u escapes: still valid JSON, with the same data
    print(terminal(result.to_json(indent=2) if args.json else result.to_text()))
    for w in result.warnings:
        print(f"geotarget: warning: {terminal(w)}", file=sys.stderr)
    return 0
