"""``geotarget batch venues.csv --radius 0.5mi -o results.parquet``: many venues at once.

Exit codes: 0 every row done; 11 some rows failed (their reason is in the ``error`` column) but
the output was written; the usual error codes (2, 7, 9...) for fatal errors; 130 interrupted
(finished rows are kept in the checkpoint: rerun with ``--resume``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .errors import InputError, OutputError

EXIT_SOME_FAILED = 11
FORMATS = {".parquet": "parquet", ".csv": "csv", ".gpkg": "gpkg", ".geojson": "geojson"}
EPILOG = """examples:
  geotarget batch venues.csv --radius 0.5mi -o results.parquet
  geotarget batch venues.csv --radius 0.5mi --data-dir DIR --platforms all -o results.csv
  geotarget batch venues.csv --radius 0.5mi --data-dir DIR --overlap overlap.csv -o out.gpkg
  geotarget batch venues.csv --radius 0.5mi --scheduler dask --workers 2 -o out.parquet
  geotarget batch venues.csv --radius 0.5mi --scheduler dask --dask-address tcp://10.0.0.5:8786 -o out.parquet

venues.csv: an 'id' column plus 'lat','lon' (WGS84) or 'postcode', optionally 'radius'
(e.g. 800m) per row.  Other columns are kept.  exit codes: 0 all rows done; 11 some rows failed
(see the 'error' column) but the output was written; 130 interrupted (rerun with --resume).
"""


def add_batch_parser(subparsers) -> argparse.ArgumentParser:
    b = subparsers.add_parser("batch", help="analyse many venues from a CSV", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("venues", help="CSV (or Parquet) of venues: id + lat,lon or postcode")
    b.add_argument("-o", "--output", required=True, help="output file: .parquet, .csv, .gpkg "
                   "or .geojson")
    b.add_argument("--radius", "-r", help="catchment radius for rows without a 'radius'")
    b.add_argument("--max-radius", default="100km")
    b.add_argument("--data-dir", metavar="PATH")
    b.add_argument("--layer")
    b.add_argument("--method", choices=["dasymetric", "areal", "points"])
    b.add_argument("--counts", choices=["oa", "lsoa"])
    b.add_argument("--platforms", metavar="all|ID,ID", help="also evaluate ad platforms (a long "
                   "table: one row per venue and platform)")
    b.add_argument("--platforms-out", metavar="PATH", help="where the platform table goes "
                   "(default <output stem>.platforms.<ext>)")
    from .cli import add_platform_options

    add_platform_options(b)
    b.add_argument("--overlap", metavar="PATH", help="write, for each pair of venues whose "
                   "catchments intersect, the residents they share (CSV); the union total is "
                   "printed")
    b.add_argument("--resume", action="store_true", help="continue an interrupted run from its "
                   "checkpoint")
    b.add_argument("--overwrite", action="store_true", help="replace an existing output")
    b.add_argument("--chunk-size", type=int, default=5000)
    b.add_argument("--scheduler", choices=["local", "dask"], default="local")
    b.add_argument("--dask-address", metavar="tcp://HOST:PORT")
    b.add_argument("--workers", type=int, help="LocalCluster workers for --scheduler dask")
    b.add_argument("-v", "--verbose", action="count", default=0)
    return b


def _fmt(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"output {str(path)!r}: use a .parquet, .csv, .gpkg or .geojson name")
    return fmt


def write_atomic(gdf, path: Path) -> None:
    """Write to a temporary file beside ``path`` and rename it into place."""
    fmt = _fmt(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        if fmt == "parquet":
            gdf.to_parquet(tmp, index=False)
        elif fmt == "csv":
            df = pd.DataFrame(gdf.drop(columns="geometry", errors="ignore"))
            if "geometry" in gdf:
                df["venue_lat"] = gdf.geometry.y
                df["venue_lon"] = gdf.geometry.x
            df.to_csv(tmp, index=False)
        else:
            os.unlink(tmp)
            if fmt == "gpkg":
                gdf.to_file(tmp, driver="GPKG", layer="venues")
            else:
                gdf.to_file(tmp, driver="GeoJSON")
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {str(path)!r}: {e}") from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Progress:
    """A progress bar on a terminal (none when stderr is not one), redrawn at each percent."""

    def __init__(self, total: int, what: str = "venues") -> None:
        self.total, self.done, self.what, self.shown = total, 0, what, -1
        self.show = sys.stderr.isatty() and total > 0

    def __call__(self, n: int) -> None:
        self.done += n
        pct = 100 * self.done // max(self.total, 1)
        if self.show and (pct != self.shown or self.done >= self.total):
            self.shown = pct
            width = 30
            k = int(width * self.done / self.total)
            sys.stderr.write(f"\r[{'=' * k}{' ' * (width - k)}] {self.done:,}/{self.total:,} "
                             f"{self.what}")
            sys.stderr.flush()
            if self.done >= self.total:
                sys.stderr.write("\n")


def run_batch(args: argparse.Namespace) -> int:
    import geopandas as gpd

    from .batch import analyse_many, chain_overlap, read_venues

    out = Path(args.output)
    _fmt(out)
    if not out.parent.is_dir():
        raise OutputError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist "
                          "or is not a folder")
    ckpt = out.with_name(out.name + ".checkpoint.parquet")
    if out.exists() and not args.overwrite and not args.resume:
        raise OutputError(f"output {str(out)!r} exists: add --overwrite to replace it")
    if ckpt.exists() and not args.resume and not args.overwrite:
        raise OutputError(f"a checkpoint of an interrupted run exists ({ckpt.name}): add --resume "
                          "to continue it or --overwrite to start again")
    if args.chunk_size < 1:
        raise InputError(f"--chunk-size {args.chunk_size} must be at least 1")
    if args.platforms:
        ppath = _platforms_path(args, out)
        if ppath.exists() and not args.overwrite and not args.resume:
            raise OutputError(f"platform table {str(ppath)!r} exists: add --overwrite to "
                              "replace it")
        pckpt = ppath.with_name(ppath.name + ".checkpoint.parquet")
        if args.overwrite and not args.resume:
            pckpt.unlink(missing_ok=True)
    if args.data_dir and args.layer:
        raise InputError("give --data-dir or --layer, not both")
    venues = read_venues(args.venues)
    if len(venues) == 0:
        raise InputError(f"venue file {args.venues!r} has no rows")
    done = None
    if args.resume and ckpt.exists():
        try:
            done = gpd.read_parquet(ckpt)
        except Exception as e:  # a damaged checkpoint is not read: start again
            print(f"geotarget: warning: checkpoint {ckpt.name} unreadable ({e}); starting again",
                  file=sys.stderr)
            done = None
    elif args.overwrite and ckpt.exists():
        ckpt.unlink()
    saved = [done] if done is not None else []

    def on_chunk(part):
        frame = pd.concat(saved + [part], ignore_index=True) if saved else part
        saved.clear()
        saved.append(frame)
        g = gpd.GeoDataFrame(frame.drop(columns=["_lat", "_lon"], errors="ignore"),
                             geometry=gpd.points_from_xy(frame["_lon"], frame["_lat"]),
                             crs="EPSG:4326")
        g["_lat"], g["_lon"] = frame["_lat"].to_numpy(), frame["_lon"].to_numpy()
        tmp = ckpt.with_name(ckpt.name + ".tmp")
        try:
            g.to_parquet(tmp, index=False)
            os.replace(tmp, ckpt)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write the checkpoint {str(ckpt)!r}: {e}") from e

    if done is not None:
        done = pd.DataFrame(done.drop(columns="geometry"))
    todo_n = len(venues) - (0 if done is None else len(done))
    progress = _Progress(todo_n)
    from contextlib import nullcontext

    from .scale import dask_client

    given = [o for o, v in (("--budget", args.budget), ("--currency", args.currency),
                            ("--segment-share", args.segment_share), ("--rules", args.rules),
                            ("--rule", args.rule), ("--country", args.country),
                            ("--postcode-coverage", args.postcode_coverage)) if v]
    if given and not args.platforms:
        raise InputError(f"{given[0]} applies to the platform table: add --platforms all (or ids)")
    if args.platforms:  # a bad platform option fails now, not after the counting
        from . import platforms as plat
        from .analysis import check_platform_options
        from .cli import platform_option_values

        opts = platform_option_values(args)
        plat.select(plat.load(opts["rules"], overrides=opts["rule_overrides"]), args.platforms)
        check_platform_options(None, **{k: opts[k] for k in (
            "budget", "currency", "country", "segment_share", "postcode_coverage")})

    # one cluster for both stages (counts, then platforms)
    with (dask_client(args.dask_address, args.workers) if args.scheduler == "dask"
          else nullcontext()) as client:
        gdf = analyse_many(venues, args.radius, data_dir=args.data_dir, layer=args.layer,
                           method=args.method, counts=args.counts, max_radius=args.max_radius,
                           chunk_size=args.chunk_size, done=done, on_chunk=on_chunk,
                           progress=progress, scheduler=args.scheduler, client=client)
        if args.platforms:
            _platform_table(gdf, args, out, client)
    if args.overlap:
        total, pairs = chain_overlap(gdf, data_dir=args.data_dir, layer=args.layer,
                                     method=args.method)
        _write_table(pairs, Path(args.overlap), overwrite=True)
        print(f"residents reachable by at least one venue (union of catchments, counted once): "
              f"{total:,.0f}; {len(pairs):,} overlapping pairs written to {args.overlap}",
              file=sys.stderr)
    write_atomic(gdf, out)
    ckpt.unlink(missing_ok=True)
    failed = int(gdf["error"].notna().sum())
    print(f"geotarget: {len(gdf) - failed:,} venues analysed, {failed:,} failed"
          + (" (reasons in the 'error' column)" if failed else "") + f"; wrote {out}",
          file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0


def _platforms_path(args, out: Path) -> Path:
    path = Path(args.platforms_out) if args.platforms_out else out.with_name(
        f"{out.stem}.platforms{out.suffix}")
    if path.suffix.lower() in (".gpkg", ".geojson"):
        path = path.with_suffix(".csv")
    return path


def _platform_table(gdf, args, out: Path, client=None) -> None:
    """One row per venue and platform (vectorised over venues; the single-venue path's rows),
    checkpointed after each chunk beside the table (``--resume`` continues it)."""
    from .batch_platforms import platforms_many
    from .cli import platform_option_values

    path = _platforms_path(args, out)
    ckpt = path.with_name(path.name + ".checkpoint.parquet")
    done = None
    if args.resume and ckpt.exists():
        try:
            done = pd.read_parquet(ckpt)
        except Exception as e:  # a damaged checkpoint is not read: start again
            print(f"geotarget: warning: checkpoint {ckpt.name} unreadable ({e}); evaluating the "
                  "platforms again", file=sys.stderr)
    saved = [done] if done is not None else []

    def on_chunk(part: pd.DataFrame) -> None:
        frame = pd.concat(saved + [part], ignore_index=True) if saved else part
        saved[:] = [frame]
        _write_table(frame, ckpt, overwrite=True)

    todo = int((gdf["error"].isna() & (gdf["coverage"] > 0)).sum()) - (
        0 if done is None else done["venue_id"].nunique())
    table = platforms_many(gdf, args.platforms, data_dir=args.data_dir, layer=args.layer,
                           method=args.method, counts=args.counts,
                           **platform_option_values(args), progress=_Progress(todo, "platforms"),
                           chunk_size=args.chunk_size, scheduler=args.scheduler, client=client,
                           done=done, on_chunk=on_chunk)
    _write_table(table, path, overwrite=True)
    ckpt.unlink(missing_ok=True)


def _write_table(table: pd.DataFrame, path: Path, *, overwrite: bool) -> None:
    """A table (CSV or Parquet) written atomically; failures are one clean OutputError."""
    if path.exists() and not overwrite:
        raise OutputError(f"{str(path)!r} exists: add --overwrite to replace it")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not "
                          "exist")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
        os.close(fd)
        if path.suffix.lower() == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"cannot write {str(path)!r}: {e}") from e
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
