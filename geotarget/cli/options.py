"""What every command shares: the parser class (one-line errors), the option groups with their
help texts, and turning parsed options into the library's arguments."""

from __future__ import annotations

import argparse
import math
import re
from typing import TYPE_CHECKING, NoReturn

from ..errors import InputError
from ..settings import CHUNK_SIZE

if TYPE_CHECKING:
    from ..platforms.options import PlatformOptions

METHODS = ("dasymetric", "areal", "points")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line ending in "(see --help)", exit code 2,
    and which takes "-0.09,51.5" and "-1mi" as values, not options."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # argparse on its own only knows "-1" and "-.5" as negative numbers
        self._negative_number_matcher = re.compile(r"^-[\d.]")

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more detail (-vv: debugging); tracebacks on error",
    )


def add_travel_options(parser: argparse.ArgumentParser) -> None:
    """A walking- or driving-time catchment: ``--walk``, ``--drive``, ``--walk-speed``,
    ``--network``."""
    g = parser.add_argument_group("walking and driving catchments")
    g.add_argument(
        "--walk",
        metavar="TIME|DISTANCE",
        help="instead of --radius: the people within a walk over the street network, a time "
        "(10min, at --walk-speed) or a distance along the streets (800m); needs --network",
    )
    g.add_argument(
        "--walk-speed",
        metavar="KM/H",
        help="walking speed for --walk TIME and for the way from a door to its street "
        "(default 4.8 km/h; 3mph also reads)",
    )
    g.add_argument(
        "--drive",
        metavar="TIME",
        help="instead of --radius: a drive (10min) at the streets' speed limits (else assumed "
        "road-class speeds, no traffic), one-way streets respected; needs --network",
    )
    g.add_argument(
        "--network",
        metavar="FILE",
        help="the street network for --walk/--drive: an OpenStreetMap extract (.osm.pbf or "
        ".osm XML), read once and cached",
    )


def add_radius_limit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-radius",
        default="100km",
        metavar="DISTANCE",
        help="largest radius accepted (default 100km)",
    )


def add_layer_options(parser: argparse.ArgumentParser) -> None:
    """Where the counts come from: ``--data-dir``, ``--layer``, ``--method``, ``--counts``,
    ``--workers-table``."""
    parser.add_argument(
        "--data-dir",
        metavar="PATH",
        help="folder of census files (England & "
        "Wales layout, US blocks or Eurostat tiles; see docs/data.md); default: "
        "the built-in layer covering the venue",
    )
    parser.add_argument(
        "--layer",
        metavar="NAME|FILE",
        help="built-in layer name (see "
        "'geotarget layers') or a layer file: GeoPackage/GeoParquet/GeoJSON/CSV "
        "with a count column, a population GeoTIFF, a US block table or a "
        "Eurostat tile",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        help="estimation method (default: the "
        "layer's best: dasymetric for England & Wales, areal for zones and "
        "grids, points for point layers)",
    )
    parser.add_argument(
        "--counts",
        choices=["oa", "lsoa", "dz"],
        help="census counts to spread (default oa: Output Area totals; lsoa: England & "
        "Wales LSOA totals only; dz: Scotland Data Zone totals only -- the hold-outs)",
    )
    parser.add_argument(
        "--workers-table",
        metavar="FILE",
        help="England & Wales: a CSV of area code -> workers (MSOA, LSOA or local authority; "
        "headers code,workers or a Nomis BRES CSV's GEOGRAPHY_CODE,OBS_VALUE) in place of the "
        "Census 2021 workplace counts, which census day's lockdown understates; areas it does "
        "not list keep the census counts (see docs/methods.md)",
    )


def add_platform_options(g: argparse._ActionsContainer) -> None:
    """The platform options shared by ``analyse``, ``report`` and ``batch`` (after
    ``--platforms``)."""
    g.add_argument("--budget", type=str, help="spend, to show the money wasted (e.g. 500)")
    g.add_argument("--currency", default="", help="currency of --budget (e.g. GBP)")
    g.add_argument(
        "--segment-share",
        type=str,
        metavar="SHARE",
        help="share of people in your "
        "audience segment (e.g. 0.004), for the minimum-audience check",
    )
    g.add_argument(
        "--rules",
        metavar="FILE",
        help="a platform rules file (TOML) extending the built-in catalogue",
    )
    g.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="ID.FIELD=VALUE",
        help="override one rule, e.g. meta.radius_min=1km (repeatable)",
    )
    g.add_argument(
        "--country",
        help="ISO country code for the platforms' rules when the layer does not say (e.g. FR)",
    )
    g.add_argument(
        "--postcode-coverage",
        type=str,
        metavar="SHARE",
        help="share of the catchment's people postcode districts must cover (default 0.95)",
    )
    g.add_argument(
        "--special-category",
        metavar="housing|employment|financial",
        help="your ads' special ad category, as you declare it to the platforms (financial: "
        "financial products and services, credit included): platforms with restricted rules "
        "for it (Meta; Google Ads in the US and Canada) are judged on them; without it no "
        "restricted row appears",
    )
    g.add_argument(
        "--managed-account",
        action="store_true",
        help="you have a managed account (an account manager, or an account in the country an "
        "option is limited to, e.g. X's radius for US and Japan accounts): such options may "
        "then be recommended; without it they are shown but not recommended",
    )


#: the platform options as (option, attribute): those that need ``--platforms`` in a batch
PLATFORM_FLAGS = (
    ("--budget", "budget"),
    ("--currency", "currency"),
    ("--segment-share", "segment_share"),
    ("--rules", "rules"),
    ("--rule", "rule"),
    ("--country", "country"),
    ("--postcode-coverage", "postcode_coverage"),
    ("--special-category", "special_category"),
    ("--managed-account", "managed_account"),
)


def platform_options(args: argparse.Namespace) -> PlatformOptions:
    """The platform options of parsed ``args``, numbers checked, as one validated object."""
    from ..platforms.options import PlatformOptions

    return PlatformOptions(
        budget=number(args.budget, "--budget"),
        currency=args.currency,
        segment_share=number(args.segment_share, "--segment-share"),
        rules=args.rules,
        rule_overrides=tuple(args.rule),
        country=args.country,
        postcode_coverage=number(args.postcode_coverage, "--postcode-coverage"),
        special_category=args.special_category,
        managed_account=bool(args.managed_account),
    )


def number(text: str | None, option: str) -> float | None:
    """``text`` as a finite number (``None`` stays ``None``); an InputError naming ``option``."""
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{option} {text!r} must be a finite number")
    return v


def add_chunking(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=CHUNK_SIZE,
        metavar="N",
        help=f"venues per chunk: the unit of checkpointing, progress and Dask "
        f"tasks (default {CHUNK_SIZE})",
    )
    parser.add_argument(
        "--scheduler",
        choices=["local", "dask"],
        default="local",
        help="run the chunks here (local, default) or on a Dask cluster",
    )
    parser.add_argument(
        "--dask-address",
        metavar="tcp://HOST:PORT",
        help="with --scheduler dask: the scheduler of a running cluster "
        "(default: a LocalCluster on this machine)",
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="with --scheduler dask: LocalCluster workers"
    )
    parser.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="with --scheduler local: judge the platform table's chunks in N forked "
        "processes (default 1: in this process)",
    )
