"""Command line: ``geotarget analyse "EH1 1YZ" --radius 0.5mi``.

One module per command (:mod:`.analyse`, :mod:`.report`, :mod:`.batch`, :mod:`.data`, :mod:`.serve`,
:mod:`.layers`, :mod:`.platforms`), each with ``add_parser(subparsers)`` and ``run(args)``; the
options they share in :mod:`.options`.  Nothing heavy (pandas, geopandas) is imported until a
command runs, so ``--version`` and ``--help`` answer at once.

Exit codes: 0 success; 1 other geotarget error; 2 bad argument or value; 3 bad venue;
4 postcode has no location; 5 address look-up failed; 6 bad catchment; 7 data missing or
unreadable; 8 no layer covers the venue; 9 output cannot be written; 10 invalid platform rules;
11 some batch rows failed; 70 internal error (a bug: please report it with the output of
``-v``); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from ..errors import GeotargetError
from ..escape import terminal
from .options import Parser

#: the commands, in the order ``--help`` lists them: name -> module in this package
COMMANDS = ("analyse", "report", "batch", "layers", "platforms", "data", "serve")


def build_parser() -> argparse.ArgumentParser:
    """The ``geotarget`` parser with every command's sub-parser.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each command's ``run`` is in its parsed arguments' defaults.
    """
    from .._version import __version__

    p = Parser(
        prog="geotarget",
        description="How many people live and work near a venue, from census data.",
    )
    p.add_argument("--version", action="version", version=f"geotarget {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for name in COMMANDS:
        module = import_module(f".{name}", __name__)
        module.add_parser(sub).set_defaults(
            run=module.run, interrupted=getattr(module, "INTERRUPTED", "")
        )
    return p


def _log_handler(verbose: int) -> logging.Logger:
    log = logging.getLogger("geotarget")
    if not any(getattr(h, "_geotarget_cli", False) for h in log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("geotarget: %(message)s"))
        handler._geotarget_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    return log


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    verbose = getattr(args, "verbose", 0)
    log = _log_handler(verbose)
    try:
        return int(args.run(args))
    except GeotargetError as e:
        if verbose:
            log.exception("details")
        print(f"geotarget: error: {terminal(' '.join(str(e).split()))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        # outputs are written atomically: an interrupted command leaves none half-written
        print("geotarget: interrupted" + args.interrupted, file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    except Exception as e:  # a bug: one line, details with -v
        if verbose:
            log.exception("details")
        print(
            f"geotarget: internal error: {type(e).__name__}: "
            f"{terminal(' '.join(str(e).split()))} (a "
            "bug: please report it; run with -v for details)",
            file=sys.stderr,
        )
        return 70


__all__ = ["COMMANDS", "build_parser", "main"]
