"""``geotarget platforms``: the ad platforms and their rules."""

from __future__ import annotations

import argparse

from .options import add_verbose


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    pl = subparsers.add_parser("platforms", help="list the ad platforms and their rules")
    pl.add_argument("--rules", metavar="FILE", help="a rules file extending the built-in one")
    pl.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="ID.FIELD=VALUE",
        help="override one rule, e.g. meta.radius_min=1km (repeatable)",
    )
    add_verbose(pl)
    return pl


def run(args: argparse.Namespace) -> int:
    from ..escape import terminal
    from ..platforms import load

    cat = load(args.rules, overrides=tuple(args.rule))
    for pid, p in cat.platforms.items():
        kinds = sorted({f.kind for f in p.footprints})
        mn = (
            "none documented" if p.min_audience is None else f"{p.min_audience:,.0f} {p.min_counts}"
        )
        stale = "  [some rules possibly stale]" if p.stale() else ""
        line = (
            f"{pid:<13} {p.name}: {', '.join(kinds)}; minimum audience {mn}; "
            f"location = {p.meaning}{stale}"
        )
        print(terminal(line))
    print(f"\nrules: {', '.join(cat.files)}")
    return 0
