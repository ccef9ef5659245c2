"""``geotarget batch venues.csv --radius R -o out.parquet``: many venues, checkpointed."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, OutputError
from .options import (
    PLATFORM_FLAGS,
    add_chunking,
    add_layer_options,
    add_platform_options,
    add_radius_limit,
    add_travel_options,
    add_verbose,
    platform_options,
)
from .progress import Progress

if TYPE_CHECKING:
    import pandas as pd

    from ..batch.checkpoint import Checkpoint

EXIT_SOME_FAILED = 11
INTERRUPTED = (
    "; finished rows are kept in the checkpoint beside the output: rerun with --resume to continue"
)
EPILOG = """examples:
  geotarget batch venues.csv --radius 0.5mi -o results.parquet
  geotarget batch venues.csv --walk 10min --network city.osm.pbf --data-dir DIR -o walks.csv
  geotarget batch venues.csv --radius 0.5mi --data-dir DIR --platforms all -o results.csv
  geotarget batch venues.csv --radius 0.5mi --data-dir DIR --overlap overlap.csv -o out.gpkg
  geotarget batch venues.csv --radius 0.5mi --scheduler dask --workers 2 -o out.parquet
  geotarget batch venues.csv --radius 0.5mi --scheduler dask \\
      --dask-address tcp://10.0.0.5:8786 -o out.parquet

venues.csv: an 'id' column plus 'lat','lon' (WGS84) or 'postcode', optionally 'radius'
(e.g. 800m) per row.  Other columns are kept.  exit codes: 0 all rows done; 11 some rows failed
(see the 'error' column) but the output was written; 130 interrupted (rerun with --resume).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    b = subparsers.add_parser(
        "batch",
        help="analyse many venues from a CSV",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("venues", help="CSV (or Parquet) of venues: id + lat,lon or postcode")
    b.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="output file: .parquet, .csv, .gpkg or .geojson",
    )
    b.add_argument(
        "--radius",
        "-r",
        metavar="DISTANCE",
        help="catchment radius for rows without a 'radius' (e.g. 0.5mi)",
    )
    add_travel_options(b)
    add_radius_limit(b)
    add_layer_options(b)
    g = b.add_argument_group("ad platforms")
    g.add_argument(
        "--platforms",
        metavar="all|ID,ID",
        help="also evaluate ad platforms (a long table: one row per venue and platform)",
    )
    g.add_argument(
        "--platforms-out",
        metavar="PATH",
        help="where the platform table goes (default <output stem>.platforms.<ext>)",
    )
    add_platform_options(g)
    b.add_argument(
        "--overlap",
        metavar="PATH",
        help="write, for each pair of venues whose "
        "catchments intersect, the residents they share (CSV); the union total is "
        "printed",
    )
    b.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its checkpoint"
    )
    b.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_chunking(b)
    add_verbose(b)
    return b


def _warn(msg: str) -> None:
    print(f"geotarget: warning: {msg}", file=sys.stderr)


def _read_checkpoint(ckpt: Checkpoint, what: str) -> pd.DataFrame | None:
    from ..batch.checkpoint import CheckpointUnreadable

    try:
        return ckpt.read()
    except CheckpointUnreadable as e:  # a damaged checkpoint is not read: start again
        _warn(f"checkpoint {ckpt.path.name} unreadable ({e}); {what}")
        return None


def _check_outputs(args: argparse.Namespace, out: Path) -> None:
    """Refuse, before any work, outputs that exist (without --overwrite/--resume) and options
    that cannot work."""
    from ..batch.checkpoint import Checkpoint
    from ..batch.output import output_format

    output_format(out)
    if not out.parent.is_dir():
        raise OutputError(
            f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist "
            "or is not a folder"
        )
    ckpt = Checkpoint(out)
    if out.exists() and not args.overwrite and not args.resume:
        raise OutputError(f"output {str(out)!r} exists: add --overwrite to replace it")
    if ckpt.exists() and not args.resume and not args.overwrite:
        raise OutputError(
            f"a checkpoint of an interrupted run exists ({ckpt.path.name}): add "
            "--resume to continue it or --overwrite to start again"
        )
    if args.chunk_size < 1:
        raise InputError(f"--chunk-size {args.chunk_size} must be at least 1")
    if args.platforms:
        ppath = _platforms_path(args, out)
        if ppath.exists() and not args.overwrite and not args.resume:
            raise OutputError(
                f"platform table {str(ppath)!r} exists: add --overwrite to replace it"
            )
        if args.overwrite and not args.resume:
            Checkpoint(ppath).remove()
    if args.data_dir and args.layer:
        raise InputError("give --data-dir or --layer, not both")


def _check_platform_options(args: argparse.Namespace) -> None:
    """A platform option without --platforms, or a bad one, fails now, not after counting."""
    given = [flag for flag, attr in PLATFORM_FLAGS if getattr(args, attr)]
    if given and not args.platforms:
        raise InputError(f"{given[0]} applies to the platform table: add --platforms all (or ids)")
    if args.platforms:
        from .. import platforms as plat

        opts = platform_options(args)
        plat.select(plat.load(opts.rules, overrides=opts.rule_overrides), args.platforms)


def run(args: argparse.Namespace) -> int:
    from ..batch import analyse_many, chain_overlap, read_venues
    from ..batch.checkpoint import Checkpoint
    from ..batch.dask import dask_client
    from ..batch.output import write_results, write_table

    out = Path(args.output)
    _check_outputs(args, out)
    venues = read_venues(args.venues)
    if len(venues) == 0:
        raise InputError(f"venue file {args.venues!r} has no rows")
    ckpt = Checkpoint(out)
    done = None
    if args.resume:
        done = _read_checkpoint(ckpt, "starting again")
        if done is None:
            ckpt.remove()
    elif args.overwrite:
        ckpt.remove()
    _check_platform_options(args)
    if (args.walk or args.drive) and (args.platforms or args.overlap):
        raise InputError(
            "--platforms and --overlap take circles in a batch: for a walk's platforms use "
            "'geotarget analyse VENUE --walk ... --platforms all' per venue"
        )
    progress = Progress(len(venues) - (0 if done is None else len(done)))
    # one cluster for both stages (counts, then platforms)
    with (
        dask_client(args.dask_address, args.workers) if args.scheduler == "dask" else nullcontext()
    ) as client:
        gdf = analyse_many(
            venues,
            args.radius,
            data_dir=args.data_dir,
            layer=args.layer,
            method=args.method,
            counts=args.counts,
            max_radius=args.max_radius,
            chunk_size=args.chunk_size,
            done=done,
            on_chunk=ckpt.append,
            progress=progress,
            scheduler=args.scheduler,
            client=client,
            walk=args.walk,
            drive=args.drive,
            walk_speed=args.walk_speed,
            network=args.network,
        )
        progress.close()
        if args.platforms:
            _platform_table(gdf, args, out, client)
    if args.overlap:
        total, pairs = chain_overlap(
            gdf, data_dir=args.data_dir, layer=args.layer, method=args.method
        )
        write_table(pairs, Path(args.overlap), overwrite=True)
        print(
            f"residents reachable by at least one venue (union of catchments, counted once): "
            f"{total:,.0f}; {len(pairs):,} overlapping pairs written to {args.overlap}",
            file=sys.stderr,
        )
    write_results(gdf, out)
    ckpt.remove()
    failed = int(gdf["error"].notna().sum())
    print(
        f"geotarget: {len(gdf) - failed:,} venues analysed, {failed:,} failed"
        + (" (reasons in the 'error' column)" if failed else "")
        + f"; wrote {out}",
        file=sys.stderr,
    )
    return EXIT_SOME_FAILED if failed else 0


def _platforms_path(args: argparse.Namespace, out: Path) -> Path:
    path = (
        Path(args.platforms_out)
        if args.platforms_out
        else out.with_name(f"{out.stem}.platforms{out.suffix}")
    )
    if path.suffix.lower() in (".gpkg", ".geojson"):
        path = path.with_suffix(".csv")
    return path


def _platform_table(gdf, args: argparse.Namespace, out: Path, client=None) -> None:
    """One row per venue and platform (vectorised over venues; the single-venue path's rows),
    checkpointed after each chunk beside the table (``--resume`` continues it)."""
    from ..batch.checkpoint import Checkpoint
    from ..batch.output import write_table
    from ..batch.platforms import platforms_many

    path = _platforms_path(args, out)
    ckpt = Checkpoint(path)
    done = _read_checkpoint(ckpt, "evaluating the platforms again") if args.resume else None
    if done is None:
        ckpt.remove()
    todo = int((gdf["error"].isna() & (gdf["coverage"] > 0)).sum()) - (
        0 if done is None else done["venue_id"].nunique()
    )
    progress = Progress(todo, "platforms")
    table = platforms_many(
        gdf,
        args.platforms,
        data_dir=args.data_dir,
        layer=args.layer,
        method=args.method,
        counts=args.counts,
        options=platform_options(args),
        progress=progress,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        client=client,
        done=done,
        on_chunk=ckpt.append,
    )
    progress.close()
    write_table(table, path, overwrite=True)
    ckpt.remove()
