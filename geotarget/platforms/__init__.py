"""Ad platforms: their rules (``platforms.toml``), footprints, audiences, waste and verdicts."""

from __future__ import annotations

import numpy as np

from .. import estimate as est
from ..catchment import circles_in
from ..errors import InputError
from .catalogue import Catalogue, RulesError, load
from .feasibility import VERDICTS, Evaluator, radius_needed
from .footprints import Facts

__all__ = ["Catalogue", "RulesError", "load", "evaluate", "evaluate_many", "VERDICTS", "select"]


def select(cat: Catalogue, which: "str | list[str] | None") -> list[str]:
    """Platform ids from ``"all"``, ``"meta,google_ads"`` or a list."""
    if which is None:
        return []
    if not isinstance(which, (str, list, tuple)) or not all(isinstance(w, str) for w in
                                                            ([which] if isinstance(which, str)
                                                             else which)):
        raise InputError(f"platforms {which!r}: give 'all', 'meta,google_ads' or a list of ids")
    if isinstance(which, str):
        which = ["all"] if which.strip() == "all" else [w.strip() for w in which.split(",")]
    which = list(which)
    if which == ["all"]:
        return list(cat.platforms)
    unknown = [w for w in which if w not in cat.platforms]
    if unknown:
        raise InputError(f"unknown platform {unknown[0]!r}: choose 'all' or among "
                         f"{', '.join(cat.platforms)}")
    return list(dict.fromkeys(which))


def _sort_rows(rows: list[dict]) -> list[dict]:
    order = {v: k for k, v in enumerate(VERDICTS)}
    rows.sort(key=lambda r: (order[r["verdict"]], r["waste_share"] if r["waste_share"]
                             is not None else 2.0))
    return rows


def evaluate(layer, venue, catch, ids: list[str], cat: Catalogue, *, method=None, country=None,
             segment_share=None, budget=None, currency="", postcode_coverage=None) -> list[dict]:
    """Evaluate platforms ``ids`` for one venue; returns one dict per platform, best first.

    A batch of one: the same code as :func:`evaluate_many`, so the two agree exactly."""
    circles = None
    if catch.kind == "radius":
        circles = est.Circles([venue.lat], [venue.lon], [catch.radius_m], layer.crs)
    facts = Facts(layer, np.array([venue.lat]), np.array([venue.lon]),
                  np.array([radius_needed(catch, venue)]),
                  np.array([catch.to_crs(layer.crs)], dtype=object), circles, method)
    kw = {} if postcode_coverage is None else {"postcode_coverage": postcode_coverage}
    ev = Evaluator(facts, 0, country=country, **kw)
    return _sort_rows([ev.evaluate(cat.platforms[i], cat, segment_share=segment_share,
                                   budget=budget, currency=currency) for i in ids])


def evaluate_many(layer, lat, lon, radius_m, ids: list[str], cat: Catalogue, *, method=None,
                  country=None, segment_share=None, budget=None, currency="",
                  postcode_coverage=None, chunk_size: int = 5000,
                  progress=None) -> list[list[dict]]:
    """Evaluate platforms ``ids`` for many venues with circular catchments (``radius_m`` around
    ``lat``/``lon``), vectorised over venues; one list of rows (best first) per venue."""
    lat, lon, radius_m = (np.asarray(a, dtype=float) for a in (lat, lon, radius_m))
    kw = {} if postcode_coverage is None else {"postcode_coverage": postcode_coverage}
    out: list[list[dict]] = []
    shared: dict = {}
    for s in range(0, len(lat), chunk_size):
        la, lo, r = lat[s:s + chunk_size], lon[s:s + chunk_size], radius_m[s:s + chunk_size]
        facts = Facts(layer, la, lo, r, circles_in(la, lo, r, layer.crs),
                      est.Circles(la, lo, r, layer.crs), method)
        for i in range(len(la)):
            ev = Evaluator(facts, i, country=country, shared=shared, **kw)
            out.append(_sort_rows([ev.evaluate(cat.platforms[p], cat,
                                               segment_share=segment_share, budget=budget,
                                               currency=currency) for p in ids]))
            if progress is not None:
                progress(1)
    return out
