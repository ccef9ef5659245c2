"""``geotarget platforms``: the ad platforms and their rules (``--json``: the whole catalogue)."""

from __future__ import annotations

import argparse
import json

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
    pl.add_argument(
        "--json",
        action="store_true",
        help="print the whole validated catalogue as JSON: every value with its source, the "
        "date it was read and its confidence (for auditing it)",
    )
    add_verbose(pl)
    return pl


def run(args: argparse.Namespace) -> int:
    from ..escape import terminal
    from ..platforms import load
    from ..platforms.catalogue import catalogue_dict

    cat = load(args.rules, overrides=tuple(args.rule))
    if args.json:
        print(json.dumps(catalogue_dict(cat), indent=2, ensure_ascii=False))
        return 0
    width = max(len(pid) for pid in cat.platforms) + 1
    for pid, p in cat.platforms.items():
        kinds = sorted({f.kind for f in p.footprints})
        if p.min_audience is None:
            mn = "none documented"
        else:
            mn = f"{p.min_audience:,.0f} {p.min_counts}"
            if p.min_applies_to != "location":
                mn += " (customer lists only, not location targeting)"
        stale = "  [some rules possibly stale]" if p.stale() else ""
        line = (
            f"{pid:<{width}} {p.name}: {', '.join(kinds)}; minimum audience {mn}; "
            f"location = {p.meaning}{stale}"
        )
        if p.special is not None:
            where = ", ".join(p.special.countries) if p.special.countries else "any country"
            line += (
                f"\n{'':<{width}} restricted rules replacing {p.special.replaces} when you "
                f"declare --special-category {'|'.join(p.special.categories)} ({where})"
            )
        for f in p.footprints:
            if f.managed:
                line += f"\n{'':<{width}} {f.kind} offered {f.note} (needs --managed-account)"
        print(terminal(line))
    print(f"\nrules: {', '.join(cat.files)}")
    return 0
