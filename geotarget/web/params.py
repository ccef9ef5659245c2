"""A request's fields as the command line's options: the same names, the same checks, the same
one-line messages (:func:`geotarget.cli.analyse.analyse_from_args` and
:func:`geotarget.cli.options.platform_options` do the checking).

No field may name a file: there is no ``catchment``, ``rules``, ``data_dir`` or ``layer`` field;
the layer is the server's (``geotarget serve --data-dir/--layer``).
"""

from __future__ import annotations

import argparse
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .limits import MAX_RULES, check_field

if TYPE_CHECKING:
    from ..layers import PopulationLayer
    from ..render.picture import Picture
    from ..result import Result

#: the fields an analysis request may carry, as (field, attribute of the parsed options); the
#: option ``--segment-share`` is the field ``segment_share`` (``segment-share`` is accepted too)
FIELDS = {
    "venue": "venue",
    "lat": "lat",
    "lon": "lon",
    "radius": "radius",
    "platforms": "platforms",
    "budget": "budget",
    "currency": "currency",
    "segment_share": "segment_share",
    "segment-share": "segment_share",
    "country": "country",
    "postcode_coverage": "postcode_coverage",
    "postcode-coverage": "postcode_coverage",
    "method": "method",
    "rule": "rule",
    "special_category": "special_category",
    "special-category": "special_category",
    "managed_account": "managed_account",
    "managed-account": "managed_account",
    "walk": "walk",
    "walk_speed": "walk_speed",
    "walk-speed": "walk_speed",
    "drive": "drive",
}
#: the values of a yes/no field (a checkbox sends "on")
YES, NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
#: fields that only choose what a page shows or returns, not the analysis
DISPLAY_FIELDS = ("format",)
METHODS = ("dasymetric", "areal", "points")


def _values(fields: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The request's fields by option attribute: empty fields dropped, lengths checked."""
    out: dict[str, Any] = {"rule": []}
    known = sorted({k for k in FIELDS if "-" not in k})
    for name, values in fields.items():
        if name in DISPLAY_FIELDS:
            continue
        if name not in FIELDS:
            raise InputError(
                f"unknown parameter {name[:40]!r}: the parameters are {', '.join(known)}"
            )
        attr = FIELDS[name]
        vals = [check_field(name, v).strip() for v in values]
        vals = [v for v in vals if v != ""]
        if attr == "rule":
            out["rule"] += vals
        elif len(vals) > 1:
            raise InputError(f"parameter {name!r} is given {len(vals)} times: give it once")
        elif vals:
            out[attr] = vals[0]
    if len(out["rule"]) > MAX_RULES:
        raise InputError(f"{len(out['rule'])} rule overrides: the server accepts {MAX_RULES}")
    if "managed_account" in out:
        flag = out["managed_account"].lower()
        if flag not in YES + NO:
            raise InputError(
                f"parameter 'managed_account' {out['managed_account'][:20]!r}: give true or false"
            )
        out["managed_account"] = flag in YES
    if "method" in out and out["method"] not in METHODS:
        # argparse's choices, in its words
        raise InputError(
            f"argument --method: invalid choice: {out['method']!r} "
            f"(choose from {', '.join(METHODS)})"
        )
    return out


def _analyse_defaults() -> dict[str, Any]:
    """The defaults of every ``geotarget analyse`` option that a request does not set."""
    from ..cli.analyse import add_analysis_options

    parser = argparse.ArgumentParser(add_help=False)
    add_analysis_options(parser)
    explicit = {
        "venue", "lat", "lon", "radius", "catchment", "data_dir", "layer", "method", "counts",
        "residents_col", "workers_col", "platforms", "budget", "currency", "segment_share",
        "rules", "rule", "country", "postcode_coverage", "special_category", "managed_account",
        "max_radius", "geocode", "walk", "walk_speed", "drive", "network",
    }  # fmt: skip
    return {k: v for k, v in vars(parser.parse_args([])).items() if k not in explicit}


def request_args(
    fields: Mapping[str, Sequence[str]],
    *,
    layer: PopulationLayer | None,
    max_radius: str,
    geocode: bool,
    platforms_default: str | None,
    options_imply_platforms: bool = True,
    network: str | None = None,
) -> argparse.Namespace:
    """The options of ``geotarget analyse`` for a request's fields.

    Parameters
    ----------
    fields : mapping of str to sequence of str
        The query string's or form's fields, each with all its values.
    layer : PopulationLayer or None
        The server's layer (``None``: the built-in layer covering each venue).
    max_radius : str
        The largest radius accepted (``geotarget serve --max-radius``).
    geocode : bool
        Whether the server looks addresses up online (``geotarget serve --geocode``).
    platforms_default : str or None
        ``platforms`` when the request gives none: ``"all"`` for the page and the report, and
        for the API as ``geotarget analyse`` does, ``"all"`` when a platform option is given.
    options_imply_platforms : bool, default True
        Whether a platform option without ``platforms`` asks for all of them (``geotarget
        analyse``) or not (``geotarget batch``, which refuses it).
    network : str or None
        The server's street network (``geotarget serve --network``), for the ``walk`` and
        ``drive`` fields; ``None``: the server has none, and those fields are refused.

    Returns
    -------
    argparse.Namespace
        What :func:`geotarget.cli.analyse.analyse_from_args` reads.

    Raises
    ------
    InputError
        For an unknown, repeated or too long field, a bad ``method``, or a walk or drive on a
        server without a street network.
    """
    v = _values(fields)
    travel = v.get("walk") is not None or v.get("drive") is not None
    if travel and network is None:
        raise InputError(
            "this server has no street network for walks and drives: start it with "
            "geotarget serve --network FILE.osm.pbf, or give a radius"
        )
    platforms = v.get("platforms", platforms_default)
    if (
        platforms is None
        and options_imply_platforms
        and (v.get("budget") or v.get("segment_share") or v["rule"])
    ):
        platforms = "all"
    # every option of ``geotarget analyse`` at its default, then the request's fields
    return argparse.Namespace(
        **_analyse_defaults(),
        venue=v.get("venue"),
        lat=v.get("lat"),
        lon=v.get("lon"),
        radius=v.get("radius"),
        catchment=None,
        data_dir=None,
        layer=layer,
        method=v.get("method"),
        counts=None,
        residents_col=None,
        workers_col=None,
        platforms=platforms,
        budget=v.get("budget"),
        currency=v.get("currency", ""),
        segment_share=v.get("segment_share"),
        rules=None,
        rule=v["rule"],
        country=v.get("country"),
        postcode_coverage=v.get("postcode_coverage"),
        special_category=v.get("special_category"),
        managed_account=v.get("managed_account", False),
        max_radius=max_radius,
        geocode=geocode,
        walk=v.get("walk"),
        drive=v.get("drive"),
        walk_speed=v.get("walk_speed"),
        network=network if travel else None,
    )


def run_analysis(args: argparse.Namespace) -> Result:
    """:func:`geotarget.analyse` with the checked options (CPU work: call it off the event loop).

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`request_args`.

    Returns
    -------
    Result
    """
    from ..cli.analyse import analyse_from_args

    return analyse_from_args(args, args.platforms)


#: analyses (and their pictures) kept per worker process, so that the page's download buttons
#: (the report, the PNG, the JSON of the same query) do not count again
CACHE_SIZE = 32
_cache: OrderedDict[tuple[Any, ...], tuple[Result, Picture | None]] = OrderedDict()
_lock = threading.Lock()


def _key(args: argparse.Namespace) -> tuple[Any, ...]:
    d = vars(args)
    return tuple(
        (k, id(v) if k == "layer" else tuple(v) if k == "rule" else v) for k, v in d.items()
    )


def analysis(
    args: argparse.Namespace, *, with_picture: bool = False
) -> tuple[Result, Picture | None]:
    """:func:`run_analysis` of ``args`` and, if asked, its picture; the last :data:`CACHE_SIZE`
    are kept (CPU work: call it off the event loop).

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`request_args`.
    with_picture : bool, default False
        Also the shapes the map and the PNG draw (:func:`geotarget.render.picture.picture`).

    Returns
    -------
    tuple of (Result, Picture or None)
    """
    key = _key(args)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
    result, pic = hit if hit is not None else (run_analysis(args), None)
    if with_picture and pic is None:
        from ..render.picture import picture

        pic = picture(result)
    if hit is None or hit[1] is not pic:
        with _lock:
            _cache[key] = (result, pic)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return result, pic
