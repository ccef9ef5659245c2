"""Batch uploads: each job a folder of the server's own (named by a random id, never by the
request), its status in ``status.json``, its results beside it, so that every worker process
of the server can answer for any job.

A job is checked when it is submitted (the table read, its size and columns, the options: a bad
upload is refused at once with the command line's message), then counted in a thread of the
process that received it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import GeotargetError, InputError
from ..files import atomic_path
from .limits import MAX_BATCH_ROWS, MAX_JOBS

#: a job id: 32 hexadecimal digits (anything else is not looked up at all)
JOB_ID = re.compile(r"[0-9a-f]{32}")
#: the files a job may serve
FILES = ("results.csv", "results.parquet", "platforms.csv", "platforms.parquet")


def job_dir(root: Path, job_id: str) -> Path | None:
    """The folder of job ``job_id`` under ``root``, or ``None`` for an id that is not one.

    Parameters
    ----------
    root : pathlib.Path
        The server's job folder.
    job_id : str
        From the request: only 32 hexadecimal digits are accepted.

    Returns
    -------
    pathlib.Path or None
    """
    if not JOB_ID.fullmatch(job_id):
        return None
    d = root / job_id
    return d if (d / "status.json").is_file() else None


def status(d: Path) -> dict[str, Any]:
    """A job's status: ``state`` (queued, running, done, failed), ``done``/``total`` venues,
    ``stage``, ``error``, ``analysed``/``failed`` rows and ``files``.

    Parameters
    ----------
    d : pathlib.Path
        The job's folder.

    Returns
    -------
    dict
    """
    s: dict[str, Any] = json.loads((d / "status.json").read_text(encoding="utf-8"))
    s["files"] = [f for f in FILES if (d / f).is_file()]
    return s


def _write_status(d: Path, **s: Any) -> None:
    with atomic_path(d / "status.json") as tmp:
        tmp.write_text(json.dumps(s), encoding="utf-8")


def _prune(root: Path) -> None:
    """Keep the newest :data:`MAX_JOBS` jobs."""
    jobs = sorted((p for p in root.iterdir() if JOB_ID.fullmatch(p.name)), key=os.path.getmtime)
    for old in jobs[: max(0, len(jobs) - MAX_JOBS + 1)]:
        shutil.rmtree(old, ignore_errors=True)


def _readable(msg: str, d: Path, filename: str) -> str:
    """A message about the saved upload, naming the file the user uploaded instead."""
    return msg.replace(str(d / "input.csv"), filename)


def submit(root: Path, data: bytes, filename: str, args: Any, layer: Any) -> str:
    """Check an uploaded venue table and start counting it; returns the job's id.

    Parameters
    ----------
    root : pathlib.Path
        The server's job folder.
    data : bytes
        The uploaded CSV.
    filename : str
        Its name on the user's computer (for messages only; never opened).
    args : argparse.Namespace
        The batch's options (:func:`geotarget.web.params.request_args` fields: ``radius``,
        ``platforms`` and the platform options).
    layer : PopulationLayer or None
        The server's layer.

    Returns
    -------
    str
        The job id.

    Raises
    ------
    InputError
        For a table or options the command line would refuse, or more than
        :data:`~geotarget.web.limits.MAX_BATCH_ROWS` rows.
    """
    from ..batch import prepare, read_venues
    from ..cli.options import PLATFORM_FLAGS, platform_options

    root.mkdir(parents=True, exist_ok=True)
    _prune(root)
    job_id = secrets.token_hex(16)
    d = root / job_id
    d.mkdir()
    try:
        (d / "input.csv").write_bytes(data)
        try:
            venues = read_venues(d / "input.csv")
        except InputError as e:
            raise InputError(_readable(str(e), d, filename)) from None
        if len(venues) == 0:
            raise InputError(f"venue file {filename!r} has no rows")
        if len(venues) > MAX_BATCH_ROWS:
            raise InputError(
                f"venue file {filename!r} has {len(venues):,} rows: the server accepts "
                f"{MAX_BATCH_ROWS:,} per upload (split the file, or run geotarget batch)"
            )
        prepare(venues, args.radius, max_radius=args.max_radius)
        given = [flag for flag, attr in PLATFORM_FLAGS if getattr(args, attr)]
        if given and not args.platforms:  # as geotarget batch says it
            raise InputError(
                f"{given[0]} applies to the platform table: add --platforms all (or ids)"
            )
        opts = platform_options(args)
        if args.platforms:
            from .. import platforms as plat

            plat.select(plat.load(None, overrides=opts.rule_overrides), args.platforms)
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise
    _write_status(d, id=job_id, state="queued", done=0, total=len(venues), stage="", error=None)
    t = threading.Thread(
        target=_run, args=(d, job_id, venues, args, opts, layer), daemon=True, name=job_id[:8]
    )
    t.start()
    return job_id


def _run(d: Path, job_id: str, venues: Any, args: Any, opts: Any, layer: Any) -> None:
    """Count a job's venues (and its platform table), writing progress as it goes."""
    from ..batch import analyse_many, platforms_many
    from ..batch.output import write_results, write_table

    total = len(venues)
    state: dict[str, Any] = {"done": 0, "stage": "counting people", "last": 0.0}

    def progress(n: int) -> None:
        state["done"] = int(state["done"]) + n
        if time.monotonic() - float(state["last"]) > 0.3:
            state["last"] = time.monotonic()
            _write_status(
                d, id=job_id, state="running", done=min(int(state["done"]), total),
                total=total, stage=state["stage"], error=None,
            )  # fmt: skip

    try:
        _write_status(d, id=job_id, state="running", done=0, total=total, stage="", error=None)
        gdf = analyse_many(
            venues, args.radius, layer=layer, max_radius=args.max_radius, progress=progress
        )
        write_results(gdf, d / "results.csv")
        write_results(gdf, d / "results.parquet")
        if args.platforms:
            state.update(done=0, stage="judging the platforms")
            table = platforms_many(gdf, args.platforms, layer=layer, options=opts)
            write_table(table, d / "platforms.csv", overwrite=True)
            write_table(table, d / "platforms.parquet", overwrite=True)
        failed = int(gdf["error"].notna().sum())
        _write_status(
            d, id=job_id, state="done", done=total, total=total, stage="", error=None,
            analysed=total - failed, failed=failed,
        )  # fmt: skip
    except GeotargetError as e:
        _write_status(d, id=job_id, state="failed", done=0, total=total, stage="", error=str(e))
    except Exception as e:  # a bug: said in one line, never a traceback to the user
        _write_status(
            d, id=job_id, state="failed", done=0, total=total, stage="",
            error=f"internal error: {type(e).__name__} (a bug: please report it)",
        )  # fmt: skip


def preview(d: Path, rows: int = 20) -> dict[str, Any] | None:
    """The first ``rows`` rows of a finished job's results, as strings (escaped when shown).

    Parameters
    ----------
    d : pathlib.Path
        The job's folder.
    rows : int, default 20
        How many rows.

    Returns
    -------
    dict or None
        ``columns`` and ``rows``; ``None`` before the results exist.
    """
    import pandas as pd

    p = d / "results.csv"
    if not p.is_file():
        return None
    df = pd.read_csv(p, dtype=str, keep_default_na=False, nrows=rows)
    return {"columns": [str(c) for c in df.columns], "rows": df.astype(str).values.tolist()}
