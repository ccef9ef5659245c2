"""``geotarget serve``: the web page and HTTP API on this machine (needs the ``web`` extra)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile

from ..errors import GeotargetError, InputError
from .options import add_verbose

EPILOG = """examples:
  geotarget serve                                  # http://127.0.0.1:8000/
  geotarget serve --data-dir ../shared/data/london-census2021 --port 8080
  geotarget serve --host 0.0.0.0 --workers 2       # for others: behind a reverse proxy
  geotarget serve --network area.osm.pbf           # walking and driving catchments too

Pages: / (one venue), /batch (a venue CSV), /api (the API; /openapi.json).  The layer is
loaded once per worker process; analyses run in --threads threads per process.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``serve`` command to ``subparsers``."""
    from ..web.limits import MAX_RADIUS, THREADS

    s = subparsers.add_parser(
        "serve",
        help="serve the analysis as a web page and an HTTP API (pip install 'geotarget[web]')",
        description="A web page where you type a venue, a distance and a budget and read the "
        "answer, a batch upload page and an HTTP API with the command line's options.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for all)",
    )
    s.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1), each loading the layer once",
    )
    s.add_argument(
        "--threads",
        type=int,
        default=THREADS,
        metavar="N",
        help=f"analyses running at once per worker process (default {THREADS})",
    )
    s.add_argument(
        "--data-dir",
        metavar="PATH",
        help="folder of census files every request is counted with (England & Wales layout, "
        "US blocks or Eurostat tiles; see docs/data.md); default: the built-in layer "
        "covering each venue",
    )
    s.add_argument(
        "--layer",
        metavar="NAME|FILE",
        help="built-in layer name (see 'geotarget layers') or a layer file every request is "
        "counted with",
    )
    s.add_argument(
        "--max-radius",
        default=MAX_RADIUS,
        metavar="DISTANCE",
        help=f"largest radius a request may ask for (default {MAX_RADIUS})",
    )
    s.add_argument(
        "--geocode",
        action="store_true",
        help="look free-text addresses up online with OpenStreetMap Nominatim",
    )
    s.add_argument(
        "--network",
        metavar="FILE",
        help="an OpenStreetMap extract (.osm.pbf or .osm) the page and the API walk and drive "
        "on (the walk, walk_speed and drive fields, as --walk, --walk-speed and --drive); read "
        "once at start; without it, radii only",
    )
    s.add_argument(
        "--jobs-dir",
        metavar="PATH",
        help="folder for batch uploads and their results (default: a new temporary folder)",
    )
    add_verbose(s)
    return s


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise InputError(f"--port {port} must be between 1 and 65535")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise InputError(
            f"cannot listen on {host}:{port} ({e.strerror or e}): choose another --port or --host"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Run ``geotarget serve`` until interrupted; raises GeotargetError subclasses on failure."""
    try:
        import uvicorn

        from ..web.app import ServerConfig, _load, create_app
    except ImportError as e:
        raise GeotargetError(
            f"geotarget serve needs the web extra ({e.name} is missing): "
            "pip install 'geotarget[web]'"
        ) from None
    from ..settings import SERVE_ENV
    from ..units import parse_distance

    if args.data_dir is not None and args.layer is not None:
        raise InputError("give --data-dir or --layer, not both")
    for opt, n in (("--workers", args.workers), ("--threads", args.threads)):
        if n < 1:
            raise InputError(f"{opt} {n} must be at least 1")
    parse_distance(args.max_radius, what="--max-radius", max_m=None)
    _check_port(args.host, args.port)
    cfg = ServerConfig(
        data_dir=args.data_dir,
        layer=args.layer,
        max_radius=args.max_radius,
        geocode=args.geocode,
        jobs_dir=args.jobs_dir or tempfile.mkdtemp(prefix="geotarget-jobs-"),
        threads=args.threads,
        network=args.network,
    )
    _load(cfg)  # a layer that cannot be read fails here, in one line, before listening
    print(
        f"geotarget: serving on http://{args.host}:{args.port}/ ({args.workers} worker "
        f"process{'es' if args.workers > 1 else ''}); Ctrl+C to stop",
        file=sys.stderr,
    )
    level = "info" if args.verbose else "warning"
    if args.workers == 1:
        uvicorn.run(create_app(cfg), host=args.host, port=args.port, log_level=level)
    else:
        os.environ[SERVE_ENV] = cfg.to_json()
        uvicorn.run(
            "geotarget.web.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=level,
        )
    return 0
