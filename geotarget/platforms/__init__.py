"""Ad platforms: their rules (``platforms.toml``), footprints, audiences, waste and verdicts."""

from __future__ import annotations

import numpy as np

from .. import estimate as est
from ..catchment import circles_in
from ..errors import InputError
from ..settings import CHUNK_SIZE
from .catalogue import Catalogue, RulesError, load
from .feasibility import VERDICTS, Evaluator, radius_needed
from .footprints import Facts
from .options import PlatformOptions

__all__ = [
    "VERDICTS",
    "Catalogue",
    "PlatformOptions",
    "RulesError",
    "evaluate",
    "evaluate_many",
    "load",
    "select",
]


def select(cat: Catalogue, which: str | list[str] | None) -> list[str]:
    """Platform ids from ``"all"``, ``"meta,google_ads"`` or a list."""
    if which is None:
        return []
    if not isinstance(which, (str, list, tuple)) or not all(
        isinstance(w, str) for w in ([which] if isinstance(which, str) else which)
    ):
        raise InputError(f"platforms {which!r}: give 'all', 'meta,google_ads' or a list of ids")
    if isinstance(which, str):
        which = ["all"] if which.strip() == "all" else [w.strip() for w in which.split(",")]
    which = list(which)
    if which == ["all"]:
        return list(cat.platforms)
    unknown = [w for w in which if w not in cat.platforms]
    if unknown:
        raise InputError(
            f"unknown platform {unknown[0]!r}: choose 'all' or among {', '.join(cat.platforms)}"
        )
    return list(dict.fromkeys(which))


def _sort_rows(rows: list[dict]) -> list[dict]:
    order = {v: k for k, v in enumerate(VERDICTS)}
    rows.sort(
        key=lambda r: (
            order[r["verdict"]],
            r["waste_share"] if r["waste_share"] is not None else 2.0,
        )
    )
    return rows


def _evaluator(
    facts: Facts, i: int, opts: PlatformOptions, shared: dict | None = None
) -> Evaluator:
    kw = {} if opts.postcode_coverage is None else {"postcode_coverage": opts.postcode_coverage}
    return Evaluator(facts, i, country=opts.country, shared=shared, **kw)


def _rows(ev: Evaluator, ids: list[str], cat: Catalogue, opts: PlatformOptions) -> list[dict]:
    return _sort_rows(
        [
            ev.evaluate(
                cat.platforms[p],
                cat,
                segment_share=opts.segment_share,
                budget=opts.budget,
                currency=opts.currency,
            )
            for p in ids
        ]
    )


def evaluate(
    layer,
    venue,
    catch,
    ids: list[str],
    cat: Catalogue,
    *,
    method=None,
    options: PlatformOptions | None = None,
) -> list[dict]:
    """Evaluate platforms ``ids`` for one venue; returns one dict per platform, best first.

    A batch of one: the same code as :func:`evaluate_many`, so the two agree exactly."""
    circles = None
    if catch.kind == "radius":
        circles = est.Circles([venue.lat], [venue.lon], [catch.radius_m], layer.crs)
    facts = Facts(
        layer,
        np.array([venue.lat]),
        np.array([venue.lon]),
        np.array([radius_needed(catch, venue)]),
        np.array([catch.to_crs(layer.crs)], dtype=object),
        circles,
        method,
    )
    opts = options or PlatformOptions()
    return _rows(_evaluator(facts, 0, opts), ids, cat, opts)


def evaluate_many(
    layer,
    lat,
    lon,
    radius_m,
    ids: list[str],
    cat: Catalogue,
    *,
    method=None,
    options: PlatformOptions | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress=None,
) -> list[list[dict]]:
    """Evaluate platforms ``ids`` for many venues with circular catchments (``radius_m`` around
    ``lat``/``lon``), vectorised over venues; one list of rows (best first) per venue."""
    lat, lon, radius_m = (np.asarray(a, dtype=float) for a in (lat, lon, radius_m))
    opts = options or PlatformOptions()
    out: list[list[dict]] = []
    shared: dict = {}
    for s in range(0, len(lat), chunk_size):
        la, lo, r = lat[s : s + chunk_size], lon[s : s + chunk_size], radius_m[s : s + chunk_size]
        facts = Facts(
            layer,
            la,
            lo,
            r,
            circles_in(la, lo, r, layer.crs),
            est.Circles(la, lo, r, layer.crs),
            method,
        )
        for i in range(len(la)):
            out.append(_rows(_evaluator(facts, i, opts, shared), ids, cat, opts))
            if progress is not None:
                progress(1)
    return out
