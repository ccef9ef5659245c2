"""Command line: ``geotarget analyse "EH1 1YZ" --radius 0.5mi``.

Exit codes: 0 success; 1 other geotarget error; 2 bad argument or value; 3 bad venue;
4 postcode has no location; 5 address look-up failed; 6 bad catchment; 7 data missing or
unreadable; 8 no layer covers the venue; 9 output cannot be written; 10 invalid platform rules; 70 internal error (a bug:
please report it with the output of ``-v``); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys

from . import __version__
from .errors import GeotargetError

EPILOG_ANALYSE = """examples:
  geotarget analyse "EH1 1YZ" --radius 0.5mi
  geotarget analyse 51.5202,-0.0937 --radius 800m --data-dir ../shared/data/london-census2021
  geotarget analyse --lat 51.5202 --lon -0.0937 --radius 1km --data-dir DIR --json
  geotarget analyse --catchment my-area.geojson --data-dir DIR
  geotarget analyse 35.1495,-90.0490 -r 1mi --data-dir ../shared/data/memphis-census2020
  geotarget analyse 48.8530,2.3499 -r 5km --data-dir ../shared/data/eurostat-grid2021
  geotarget analyse 51.5,-0.1 -r 1km --layer my-zones.gpkg --residents-col pop
  geotarget analyse 51.5202,-0.0937 -r 0.5mi --data-dir DIR --platforms all --budget 500 \\
      --currency GBP
  geotarget analyse 51.5202,-0.0937 -r 0.5mi --data-dir DIR --platforms linkedin \\
      --segment-share 0.004 --rule linkedin.min_audience=1000
"""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "-0.09,51.5" and "-1mi" are values, not options (argparse only knows "-1", "-.5")
        self._negative_number_matcher = re.compile(r"^-[\d.]")

    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_analysis_options(parser: argparse.ArgumentParser, *,
                         platforms_default: str | None = None) -> None:
    """The venue, catchment, layer and platform options shared by ``analyse`` and ``report``."""
    parser.add_argument("venue", nargs="?", help="GB postcode ('EH1 1YZ'), 'lat,lon', or an address "
                   "with --geocode")
    parser.add_argument("--lat", type=str, help="venue latitude (WGS84 decimal degrees)")
    parser.add_argument("--lon", type=str, help="venue longitude (WGS84 decimal degrees)")
    parser.add_argument("--radius", "-r", help="catchment radius with unit: 0.5mi, 800m, 1km, 2640ft")
    parser.add_argument("--catchment", metavar="FILE", help="catchment polygon file (GeoJSON, "
                   "GeoPackage; any CRS) instead of --radius")
    parser.add_argument("--max-radius", default="100km", help="largest radius accepted (default "
                   "100km)")
    parser.add_argument("--data-dir", metavar="PATH", help="folder of census files in the England & "
                   "Wales layout (see README); default: the built-in layer covering the venue")
    parser.add_argument("--layer", help="built-in layer name (see 'geotarget layers') or a layer file: "
                   "GeoPackage/GeoParquet/GeoJSON/CSV with a count column, a population GeoTIFF, "
                   "a US block table or a Eurostat tile")
    parser.add_argument("--residents-col", metavar="COLUMN", help="with --layer FILE: the column "
                   "holding residents")
    parser.add_argument("--workers-col", metavar="COLUMN", help="with --layer FILE: the column "
                   "holding workers")
    parser.add_argument("--method", choices=["dasymetric", "areal", "points"], help="estimation "
                   "method (default: the layer's best: dasymetric for England & Wales, areal for "
                   "zones and grids, points for point layers)")
    parser.add_argument("--counts", choices=["oa", "lsoa"], help="England & Wales: census counts to "
                   "spread (default oa: Output Area totals; lsoa: LSOA totals only)")
    g = parser.add_argument_group("ad platforms")
    g.add_argument("--platforms", metavar="all|ID,ID", default=platforms_default,
                   help="evaluate ad platforms: 'all' or ids such as meta,google_ads,linkedin "
                   "(see 'geotarget platforms')" + (f"; default {platforms_default}"
                                                    if platforms_default else ""))
    add_platform_options(g)
    parser.add_argument("--geocode", action="store_true", help="look up a free-text address online "
                   "with OpenStreetMap Nominatim")


def analyse_from_args(args: argparse.Namespace, platforms=None):
    """Check the shared options and run :func:`geotarget.analyse` with them."""
    from .analysis import analyse
    from .errors import InputError

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
    return analyse(venue, args.radius, catchment=args.catchment, data_dir=args.data_dir,
                   layer=args.layer, method=args.method, counts=args.counts,
                   residents_col=args.residents_col, workers_col=args.workers_col,
                   platforms=platforms, **platform_option_values(args),
                   max_radius=args.max_radius, geocode=args.geocode)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="geotarget", description="How many people live and work near a venue, "
                "from census data.")
    p.add_argument("--version", action="version", version=f"geotarget {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    a = sub.add_parser("analyse", aliases=["analyze"], help="count residents and workers in a "
                       "catchment", epilog=EPILOG_ANALYSE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_analysis_options(a)
    a.add_argument("--json", action="store_true", help="print the result as JSON "
                   "(schema geotarget.result/1)")
    a.add_argument("-v", "--verbose", action="count", default=0, help="more detail; tracebacks "
                   "on error")

    ls = sub.add_parser("layers", help="list the built-in population layers")
    ls.add_argument("-v", "--verbose", action="count", default=0)

    pl = sub.add_parser("platforms", help="list the ad platforms and their rules")
    pl.add_argument("--rules", metavar="FILE", help="a rules file extending the built-in one")
    pl.add_argument("--rule", action="append", default=[], metavar="ID.FIELD=VALUE")
    pl.add_argument("-v", "--verbose", action="count", default=0)

    from .cli_batch import add_batch_parser
    from .cli_data import add_data_parser
    from .cli_report import add_report_parser

    add_report_parser(sub)
    add_batch_parser(sub)
    add_data_parser(sub)
    return p


def _cmd_analyse(args: argparse.Namespace) -> int:
    platforms = args.platforms
    if platforms is None and (args.budget or args.segment_share or args.rules or args.rule):
        platforms = "all"
    result = analyse_from_args(args, platforms)
    if args.json:
        print(result.to_json(indent=2))
    else:
        print(result.to_text())
    for w in result.warnings:
        print(f"geotarget: warning: {w}", file=sys.stderr)
    return 0


def add_platform_options(g) -> None:
    """The platform options shared by ``analyse``, ``report`` and ``batch`` (after
    ``--platforms``)."""
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


def platform_option_values(args) -> dict:
    """The platform options of parsed ``args``, as keyword arguments (numbers checked)."""
    return {"budget": _number(args.budget, "--budget"), "currency": args.currency,
            "segment_share": _number(args.segment_share, "--segment-share"),
            "rules": args.rules, "rule_overrides": tuple(args.rule), "country": args.country,
            "postcode_coverage": _number(args.postcode_coverage, "--postcode-coverage")}


def _number(text: str | None, option: str) -> float | None:
    from .errors import InputError

    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a number") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise InputError(f"{option} {text!r} must be a finite number")
    return v


def _cmd_platforms(args: argparse.Namespace) -> int:
    from .platforms import load

    cat = load(args.rules, overrides=tuple(args.rule))
    for pid, p in cat.platforms.items():
        kinds = sorted({f.kind for f in p.footprints})
        mn = "none documented" if p.min_audience is None else f"{p.min_audience:,.0f} {p.min_counts}"
        stale = "  [some rules possibly stale]" if p.stale() else ""
        print(f"{pid:<13} {p.name}: {', '.join(kinds)}; minimum audience {mn}; "
              f"location = {p.meaning}{stale}")
    print(f"\nrules: {', '.join(cat.files)}")
    return 0


def _cmd_layers(args: argparse.Namespace) -> int:
    from .layers import builtin

    for name in sorted(builtin.BUILTIN):
        m = builtin.metadata(name)
        print(f"{name}  {m['title']} -- {m['vintage']}; {m['licence']} (built in)")
    print("ew-census2021  England & Wales Census 2021 -- with --data-dir PATH (see README; "
          "'geotarget data fetch ew-census2021' builds one)")
    print("us-blocks2020  US Census 2020 blocks -- with --data-dir PATH (see README)")
    print("eurostat-grid2021  Eurostat Census 2021 1 km grid -- with --data-dir PATH (see README)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    verbose = getattr(args, "verbose", 0)
    log = logging.getLogger("geotarget")
    if not any(getattr(h, "_geotarget_cli", False) for h in log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("geotarget: %(message)s"))
        handler._geotarget_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    try:
        if args.command in ("analyse", "analyze"):
            return _cmd_analyse(args)
        if args.command == "report":
            from .cli_report import run_report

            return run_report(args)
        if args.command == "batch":
            from .cli_batch import run_batch

            return run_batch(args)
        if args.command == "platforms":
            return _cmd_platforms(args)
        if args.command == "data":
            from .cli_data import run_data

            return run_data(args)
        return _cmd_layers(args)
    except GeotargetError as e:
        if verbose:
            log.exception("details")
        print(f"geotarget: error: {' '.join(str(e).split())}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        msg = "geotarget: interrupted"
        if args.command == "report":
            from .cli_report import run_report

            return run_report(args)
        if args.command == "batch":
            msg += ("; finished rows are kept in the checkpoint beside the output: rerun with "
                    "--resume to continue")
        print(msg, file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    except Exception as e:  # a bug: one line, details with -v
        if verbose:
            log.exception("details")
        print(f"geotarget: internal error: {type(e).__name__}: {' '.join(str(e).split())} (a "
              "bug: please report it; run with -v for details)", file=sys.stderr)
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
