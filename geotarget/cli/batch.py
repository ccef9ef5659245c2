"""``geotarget batch venues.csv --radius R -o out.parquet``: many venues, checkpointed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, OutputError
from ..escape import terminal
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
    print(f"geotarget: warning: {terminal(msg)}", file=sys.stderr)


def _read_checkpoint(ckpt: Checkpoint, what: str) -> pd.DataFrame | None:
    """The checkpoint's intact rows; a damaged checkpoint or part is discarded with a warning."""
    from ..batch.checkpoint import CheckpointUnreadable

    try:
        rows = ckpt.read()
    except CheckpointUnreadable as e:  # a damaged checkpoint is not read: start again
        _warn(f"checkpoint {ckpt.path.name} unreadable ({e}); {what}")
        return None
    if ckpt.discarded:
        _warn(
            f"checkpoint {ckpt.path.name}: {len(ckpt.discarded)} damaged or unfinished part(s) "
            f"discarded ({', '.join(ckpt.discarded[:3])}); their rows are computed again"
        )
    return rows


def _outputs(args: argparse.Namespace, out: Path) -> list[Path]:
    """Every file this run writes."""
    paths = [out]
    if args.platforms:
        paths.append(_platforms_path(args, out))
    if args.overlap:
        paths.append(Path(args.overlap))
    return paths


def _check_outputs(args: argparse.Namespace, out: Path) -> None:
    """Refuse, before any work, outputs that cannot be written and options that cannot work."""
    from ..batch.output import output_format

    output_format(out)
    for p in _outputs(args, out):
        if not p.parent.is_dir():
            raise OutputError(
                f"cannot write {str(p)!r}: folder {str(p.parent)!r} does not exist "
                "or is not a folder"
            )
        if p.is_dir():
            raise OutputError(f"cannot write {str(p)!r}: it is a folder; give a file name")
    if args.chunk_size < 1:
        raise InputError(f"--chunk-size {args.chunk_size} must be at least 1")
    if args.data_dir and args.layer:
        raise InputError("give --data-dir or --layer, not both")


def _check_existing(args: argparse.Namespace, out: Path) -> None:
    """Refuse (under the lock, before any work) outputs and checkpoints that exist: only
    --overwrite replaces an output; --resume may replace only the files its own run wrote."""
    from ..batch.checkpoint import Checkpoint

    ckpt = Checkpoint(out)
    if ckpt.exists() and not args.resume and not args.overwrite:
        raise OutputError(
            f"a checkpoint of an interrupted run exists ({ckpt.path.name}): add "
            "--resume to continue it or --overwrite to start again"
        )
    if args.overwrite:
        return
    names = ["output", "platform table" if args.platforms else "overlap table", "overlap table"]
    for what, p in zip(names, _outputs(args, out)):
        if p.exists() and not (args.resume and ckpt.owns(p)):
            gone = args.resume and not ckpt.exists()
            finished = " (its run finished: nothing to resume)" if gone else ""
            raise OutputError(f"{what} {str(p)!r} exists{finished}: add --overwrite to replace it")


def fingerprint(args: argparse.Namespace) -> dict:
    """Everything that changes a row of this run's outputs: the venue file's contents, the
    radius options, the layer (and its stamp), the method and counts, the platforms and the
    advertiser's options (and the rules file's contents).  A checkpoint holds it; ``--resume``
    continues only a checkpoint with the same one.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``batch`` arguments.

    Returns
    -------
    dict
        JSON-able values by name.
    """
    from .._version import __version__
    from ..batch.checkpoint import path_stamp
    from ..units import parse_distance

    def dist(value: str | None) -> object:
        if value is None:
            return None
        try:
            return parse_distance(value, max_m=None)
        except Exception:  # reported later, with its message, by the stage that uses it
            return str(value)

    source = args.layer or args.data_dir
    layer = None
    if source is not None:
        p = Path(source)
        layer = {"path": str(p.resolve()), "stamp": path_stamp(p)} if p.exists() else str(source)
    rules = None
    if args.rules:
        rp = Path(args.rules)
        rules = {"path": str(rp.resolve()), "stamp": path_stamp(rp) if rp.exists() else None}
    fp = {
        "venues": path_stamp(args.venues),
        "radius": dist(args.radius),
        "max_radius": dist(args.max_radius)
        if isinstance(args.max_radius, str)
        else args.max_radius,
        "layer": layer if layer is not None else f"built-in (geotarget {__version__})",
        "method": args.method,
        "counts": args.counts,
        "platforms": args.platforms,
        "platform_options": {
            "budget": args.budget,
            "currency": args.currency,
            "segment_share": args.segment_share,
            "postcode_coverage": args.postcode_coverage,
            "country": args.country,
            "rules": rules,
            "rule": list(args.rule or []),
            "special_category": getattr(args, "special_category", None),
            "managed_account": bool(getattr(args, "managed_account", False)),
        },
        "travel": {
            "walk": getattr(args, "walk", None),
            "drive": getattr(args, "drive", None),
            "walk_speed": getattr(args, "walk_speed", None),
            "network": None
            if getattr(args, "network", None) is None
            else {
                "path": str(Path(args.network).resolve()),
                "stamp": path_stamp(Path(args.network)) if Path(args.network).exists() else None,
            },
        },
    }
    if args.platforms:  # a checkpoint of a table with other columns (an older version's) is
        # not continued: its rows would lack some (live_and_work: people counted twice)
        from ..result import PLATFORM_COLUMNS

        fp["platform_columns"] = list(PLATFORM_COLUMNS)
    table = getattr(args, "workers_table", None)
    if table is not None:  # only then: checkpoints of runs without a table stay resumable
        tp = Path(table)
        fp["workers_table"] = {
            "path": str(tp.resolve()),
            "stamp": path_stamp(tp) if tp.exists() else None,
        }
    return fp


def _open_checkpoint(
    ckpt: Checkpoint, fp: dict, args: argparse.Namespace, what: str
) -> pd.DataFrame | None:
    """The rows to keep from ``ckpt``: with --resume, those of a checkpoint of this very run
    (another run's is refused); otherwise none, and a new checkpoint is started."""
    from ..batch.checkpoint import CheckpointUnreadable

    if args.resume and ckpt.exists():
        try:
            ckpt.verify(fp)
        except CheckpointUnreadable as e:
            _warn(f"checkpoint {ckpt.path.name} unreadable ({e}); {what}")
        else:
            return _read_checkpoint(ckpt, what)  # None: nothing intact yet, parts follow
    ckpt.start(fp)
    return None


def _check_platform_options(args: argparse.Namespace) -> None:
    """A platform option without --platforms, or a bad one, fails now, not after counting."""
    given = [flag for flag, attr in PLATFORM_FLAGS if getattr(args, attr)]
    if given and not args.platforms:
        raise InputError(f"{given[0]} applies to the platform table: add --platforms all (or ids)")
    if args.platforms:
        from .. import platforms as plat

        opts = platform_options(args)
        cat = plat.load(opts.rules, overrides=opts.rule_overrides)
        plat.select(cat, args.platforms, opts.special_category)
    _processes(args)


def run(args: argparse.Namespace) -> int:
    from ..batch.checkpoint import output_locks

    out = Path(args.output)
    _check_outputs(args, out)
    with output_locks(_outputs(args, out)), _StopAfterChunk() as stop:
        return _run(args, out, stop)


class _StopAfterChunk:
    """Ctrl-C (SIGINT) during a batch: the chunk being counted is finished and saved in the
    checkpoint, then the run stops (exit 130); a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.asked = False
        self._old: Any = None

    def __enter__(self) -> _StopAfterChunk:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)

    def _handler(self, signum: int, frame: object) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print(
            "geotarget: stopping after the current chunk (Ctrl-C again to stop now)",
            file=sys.stderr,
        )

    def after(self, save: Callable[[pd.DataFrame], None]) -> Callable[[pd.DataFrame], None]:
        """``save``, then a stop if Ctrl-C was pressed meanwhile."""

        def saved(frame: pd.DataFrame) -> None:
            save(frame)
            if self.asked:
                raise KeyboardInterrupt

        return saved

    def check(self) -> None:
        """Stop now if Ctrl-C was pressed (between stages: everything so far is saved)."""
        if self.asked:
            raise KeyboardInterrupt


def _run(args: argparse.Namespace, out: Path, stop: _StopAfterChunk) -> int:
    from ..batch import analyse_many, chain_overlap, read_venues
    from ..batch.checkpoint import Checkpoint
    from ..batch.dask import dask_client
    from ..batch.output import write_results, write_table

    _check_existing(args, out)
    venues = read_venues(args.venues)
    if len(venues) == 0:
        raise InputError(f"venue file {args.venues!r} has no rows")
    _check_platform_options(args)
    if args.workers_table is not None:  # a bad table fails now, before any counting
        from ..layers.workers_table import read_workers_table

        read_workers_table(args.workers_table)
    fp = fingerprint(args)
    ckpt = Checkpoint(out)
    done = _open_checkpoint(ckpt, fp, args, "starting again")
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
            workers_table=args.workers_table,
            max_radius=args.max_radius,
            chunk_size=args.chunk_size,
            done=done,
            on_chunk=stop.after(ckpt.append),
            progress=progress,
            scheduler=args.scheduler,
            client=client,
            walk=args.walk,
            drive=args.drive,
            walk_speed=args.walk_speed,
            network=args.network,
        )
        progress.close()
        stop.check()
        if args.platforms:
            _platform_table(gdf, args, out, fp, ckpt, stop, client)
            stop.check()
    if args.overlap:
        total, pairs = chain_overlap(
            gdf,
            data_dir=args.data_dir,
            layer=args.layer,
            method=args.method,
            walk=args.walk,
            drive=args.drive,
            walk_speed=args.walk_speed,
            network=args.network,
        )
        write_table(pairs, Path(args.overlap), **_publishing(args, ckpt, Path(args.overlap)))
        print(
            f"residents reachable by at least one venue (union of catchments, counted once): "
            f"{total:,.0f}; {len(pairs):,} overlapping pairs written to {args.overlap}",
            file=sys.stderr,
        )
    stop.check()
    write_results(gdf, out, **_publishing(args, ckpt, out))
    ckpt.remove()
    failed = int(gdf["error"].notna().sum())
    print(
        f"geotarget: {len(gdf) - failed:,} venues analysed, {failed:,} failed"
        + (" (reasons in the 'error' column)" if failed else "")
        + f"; wrote {out}",
        file=sys.stderr,
    )
    return EXIT_SOME_FAILED if failed else 0


def _publishing(args: argparse.Namespace, ckpt: Checkpoint, path: Path) -> dict:
    """How to publish ``path``: replace it only with --overwrite or when this run wrote it (a
    resumed run), and record its checksum in the checkpoint before the rename."""
    from ..files import sha256_of

    return {
        "overwrite": bool(args.overwrite) or ckpt.owns(path),
        "on_written": lambda tmp: ckpt.record_output(path, sha256_of(tmp)),
    }


def _platforms_path(args: argparse.Namespace, out: Path) -> Path:
    path = (
        Path(args.platforms_out)
        if args.platforms_out
        else out.with_name(f"{out.stem}.platforms{out.suffix}")
    )
    if path.suffix.lower() in (".gpkg", ".geojson"):
        path = path.with_suffix(".csv")
    return path


def _processes(args: argparse.Namespace) -> int:
    """The processes to judge the platform table in (``--processes``, default 1)."""
    n = getattr(args, "processes", None)
    if n is None:
        return 1
    if n < 1:
        raise InputError(f"--processes {n}: give a whole number >= 1")
    return int(n)


def _platform_table(
    gdf,
    args: argparse.Namespace,
    out: Path,
    fp: dict,
    main: Checkpoint,
    stop: _StopAfterChunk,
    client=None,
) -> None:
    """One row per venue and platform (vectorised over venues; the single-venue path's rows),
    checkpointed after each chunk beside the table (``--resume`` continues it)."""
    from ..batch.checkpoint import Checkpoint
    from ..batch.output import write_table
    from ..batch.platforms import platforms_many

    path = _platforms_path(args, out)
    ckpt = Checkpoint(path)
    done = _open_checkpoint(ckpt, fp, args, "evaluating the platforms again")
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
        workers_table=args.workers_table,
        options=platform_options(args),
        progress=progress,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        client=client,
        done=done,
        on_chunk=stop.after(ckpt.append),
        processes=_processes(args),
        walk=args.walk,
        drive=args.drive,
        walk_speed=args.walk_speed,
        network=args.network,
    )
    progress.close()
    write_table(table, path, **_publishing(args, main, path))
    ckpt.remove()
