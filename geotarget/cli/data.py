"""``geotarget data list|info|fetch``: the datasets geotarget can download and build."""

from __future__ import annotations

import argparse
import sys

from .options import add_verbose

EPILOG = """examples:
  geotarget data list
  geotarget data info ew-census2021
  geotarget data fetch ew-census2021 --area london
  geotarget data fetch ew-census2021 --area E09000001,E09000033 --cache-dir ./cache
  geotarget data fetch us-blocks2020 --area 47157
  geotarget data fetch osm --area greater-london     # a street network for --walk / --drive
  geotarget data fetch eurostat-grid2021 --area 14_11,17_12 --mirror http://127.0.0.1:8000

Downloads are cached (GEOTARGET_CACHE_DIR, else the user cache folder) with their sha256 in a
manifest and verified on every later use; --mirror URL (or GEOTARGET_MIRROR) fetches
<URL>/<publisher host>/<path> instead of the publisher's address.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``data`` command (``list``, ``info NAME``, ``fetch NAME``) to ``subparsers``."""
    d = subparsers.add_parser(
        "data",
        help="list, describe and download census datasets",
        description="The census datasets geotarget can download from their publishers, and "
        "how to build them into a folder for --data-dir.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = d.add_subparsers(dest="data_command", metavar="{list,info,fetch}", parser_class=type(d))

    ls = sub.add_parser("list", help="list the datasets")
    add_verbose(ls)

    info = sub.add_parser("info", help="publisher, licence, files and layout of a dataset")
    info.add_argument("name", help="dataset name (see 'geotarget data list')")
    info.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache folder to report on (default: GEOTARGET_CACHE_DIR, else the user cache folder)",
    )
    add_verbose(info)

    f = sub.add_parser(
        "fetch",
        help="download a dataset (or reuse the verified cache) and "
        "build it; prints the folder to pass as --data-dir",
    )
    f.add_argument("name", help="dataset name (see 'geotarget data list')")
    f.add_argument(
        "--area",
        help="the part to build (see 'geotarget data info NAME'): e.g. "
        "london, E09000001,E09000033, all; TN:157 for us-blocks2020",
    )
    f.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache folder (default: GEOTARGET_CACHE_DIR, else the user cache folder)",
    )
    f.add_argument(
        "--mirror",
        metavar="URL",
        help="fetch from URL/<host>/<path> instead of the "
        "publisher (default: GEOTARGET_MIRROR); http://, https:// or file://",
    )
    f.add_argument(
        "--force",
        action="store_true",
        help="download every file again, record the new checksums and rebuild",
    )
    f.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up when the server sends nothing for this long (default 60)",
    )
    add_verbose(f)
    d.set_defaults(_data_parser=d)
    return d


def _err(msg: str) -> None:
    print(f"geotarget: {msg}", file=sys.stderr, flush=True)


def _list() -> int:
    from ..datasets import DATASETS

    width = max(len(n) for n in DATASETS)
    for name, ds in DATASETS.items():
        how = "built in" if ds.builtin else f"download, {ds.publisher.split(',')[0]}"
        print(f"{name:<{width}}  {ds.title} ({how})")
    print(
        "\n'geotarget data info NAME' for the files and licence; "
        "'geotarget data fetch NAME' to download and build."
    )
    return 0


def _info(name: str, cache_dir: str | None) -> int:
    from .. import datasets

    ds = datasets.get(name)
    print(f"{ds.name}: {ds.title}")
    print(f"  publisher   {ds.publisher}")
    print(f"  licence     {ds.licence}")
    print(f"  vintage     {ds.vintage}")
    attribution = ds.attribution
    if ds.builtin:
        meta = datasets.builtin_metadata(ds.name)
        attribution = tuple(meta.get("attribution", ()))
        print(f"  source      {meta.get('source', '')}")
    for i, a in enumerate(attribution):
        print(f"  {'attribution' if i == 0 else '':<11} {a}")
    print(f"  about       {ds.description}")
    if ds.builtin:
        print(f"  use         {ds.usage}")
        return 0
    if ds.area_help:
        print(f"  --area      {ds.area_help}")
    status = datasets.cache_status(ds.name, cache_dir)
    print(
        "  official files (addresses as published; not yet tried from geotarget's test "
        "machine -- use --mirror if one has moved):"
    )
    for s in ds.sources_for(None, template=True):
        rec = status["files"].get(s.filename)
        flag = "" if s.required else " (optional)"
        print(f"    {s.filename}{flag}")
        print(f"      {s.description}")
        print(f"      url   {s.url}")
        if s.landing:
            print(f"      page  {s.landing}")
        if rec:
            print(
                f"      cached: {rec['size']:,} bytes, sha256 {rec['sha256']} "
                f"(downloaded {rec.get('downloaded', '?')})"
            )
        else:
            pin = f"sha256 {s.sha256}" if s.sha256 else "size and sha256 recorded on first download"
            print(f"      not downloaded yet ({pin})")
    print("  built layout:")
    for line in ds.layout:
        print(f"    {line}")
    print(f"  cache       {status['root']}")
    if status["built"]:
        print(f"  built areas {', '.join(status['built'])}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from .. import datasets
    from ..datasets import download

    verbose = getattr(args, "verbose", 0)
    state = {"last": -1}

    def progress(name: str, done: int, total: int | None) -> None:
        if done == 0:
            size = f" ({download.format_size(total)})" if total else ""
            _err(f"downloading {name}{size} ...")
            state["last"] = 0
        elif verbose and total:
            pct = int(100 * done / total)
            if pct >= state["last"] + 10:
                state["last"] = pct - pct % 10
                _err(f"  {name}: {pct}%")

    rep = datasets.fetch(
        args.name,
        area=args.area,
        cache_dir=args.cache_dir,
        mirror=args.mirror,
        force=args.force,
        timeout=args.timeout if args.timeout else download.DEFAULT_TIMEOUT,
        say=_err,
        progress=progress,
    )
    if rep.path is None:
        print(rep.message)
        return 0
    for w in rep.warnings:
        _err(f"warning: {w}")
    ds = datasets.get(args.name)
    what = "built" if rep.rebuilt else "already built"
    print(f"{ds.name} ({rep.area}) {what} in:")
    print(str(rep.path))
    if rep.summary:
        print(
            "  "
            + ", ".join(
                f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in rep.summary.items()
            )
        )
    if ds.usage:
        print("use it with:  " + ds.usage.format(path=_quote(str(rep.path))))
    return 0


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(path)


def run(args: argparse.Namespace) -> int:
    """Run ``geotarget data ...``; raises GeotargetError subclasses on failure."""
    cmd = getattr(args, "data_command", None)
    if cmd is None:
        parser = getattr(args, "_data_parser", None)
        if parser is not None:
            parser.print_help()
        return 2
    if cmd == "list":
        return _list()
    if cmd == "info":
        return _info(args.name, getattr(args, "cache_dir", None))
    if cmd == "fetch":
        return _fetch(args)
    raise AssertionError(f"unknown data command {cmd!r}")  # argparse only allows the above
