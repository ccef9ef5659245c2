"""Ad platforms: their rules (``platforms.toml``), footprints, audiences, waste and verdicts."""

from __future__ import annotations

from ..errors import InputError
from .catalogue import Catalogue, RulesError, load
from .feasibility import VERDICTS, Evaluator

__all__ = ["Catalogue", "RulesError", "load", "evaluate", "VERDICTS", "select"]


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


def evaluate(layer, venue, catch, ids: list[str], cat: Catalogue, *, method=None, country=None,
             segment_share=None, budget=None, currency="", postcode_coverage=None) -> list[dict]:
    """Evaluate platforms ``ids``; returns one dict per platform, best first."""
    kw = {} if postcode_coverage is None else {"postcode_coverage": postcode_coverage}
    ev = Evaluator(layer, venue, catch, method=method, country=country, **kw)
    rows = [ev.evaluate(cat.platforms[i], cat, segment_share=segment_share, budget=budget,
                        currency=currency) for i in ids]
    order = {v: k for k, v in enumerate(VERDICTS)}
    rows.sort(key=lambda r: (order[r["verdict"]], r["waste_share"] if r["waste_share"]
                             is not None else 2.0))
    return rows
