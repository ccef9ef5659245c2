"""``geotarget layers``: the population layers, built in and by folder."""

from __future__ import annotations

import argparse

from .options import add_verbose

#: the layers read from a folder, with the dataset that builds one
FOLDER_LAYERS = (
    (
        "ew-census2021",
        "England & Wales Census 2021 -- with --data-dir PATH (see docs/data.md; "
        "'geotarget data fetch ew-census2021' builds one)",
    ),
    ("us-blocks2020", "US Census 2020 blocks -- with --data-dir PATH (see docs/data.md)"),
    (
        "eurostat-grid2021",
        "Eurostat Census 2021 1 km grid -- with --data-dir PATH (see docs/data.md)",
    ),
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    ls = subparsers.add_parser("layers", help="list the built-in population layers")
    add_verbose(ls)
    return ls


def run(args: argparse.Namespace) -> int:
    from ..layers import builtin

    for name in sorted(builtin.BUILTIN):
        m = builtin.metadata(name)
        print(f"{name}  {m['title']} -- {m['vintage']}; {m['licence']} (built in)")
    print(
        f"{builtin.GB}  Great Britain: the two built-in layers as one -- chosen when a "
        "catchment reaches across the England-Scotland border, each country with its own "
        "vintage (built in)"
    )
    for name, how in FOLDER_LAYERS:
        print(f"{name}  {how}")
    return 0
