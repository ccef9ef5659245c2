"""Ad platforms: their rules (``platforms.toml``), footprints, audiences, waste and verdicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import estimate as est
from ..catchment import Catchment, circles_in
from ..errors import InputError, RulesError
from ..layers.base import PopulationLayer
from ..settings import CHUNK_SIZE
from ..venue import Venue
from .advice import VERDICTS
from .catalogue import Catalogue, load
from .feasibility import Evaluator, Shared, radius_needed
from .footprints import Facts
from .model import Platform, PlatformRow
from .options import PlatformOptions

__all__ = [
    "VERDICTS",
    "Catalogue",
    "PlatformOptions",
    "RulesError",
    "applicable",
    "evaluate",
    "evaluate_many",
    "load",
    "select",
]


def select(
    cat: Catalogue, which: str | list[str] | None, special_category: str | None = None
) -> list[str]:
    """Platform ids from ``"all"``, ``"meta,google_ads"`` or a list.

    Entries holding the restricted rules of special ad categories (``meta_special``...) are
    not platforms of their own: ``"all"`` leaves them out, and their general entry is judged
    on them when the advertiser declares a category (:func:`applicable`).

    Parameters
    ----------
    cat : Catalogue
        The catalogue the ids must be in.
    which : str or list of str or None
        ``"all"``, comma-separated ids, or a list of ids (None: none).
    special_category : str, optional
        The special ad category declared; a restricted entry named in ``which`` needs one of
        its categories.

    Returns
    -------
    list of str
        The ids, each once, in the order given (the catalogue's order for ``"all"``).

    Raises
    ------
    InputError
        When ``which`` is not text or a list of text, names an unknown platform, or names a
        restricted entry without its special ad category declared.
    """
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
        return [pid for pid, p in cat.platforms.items() if p.special is None]
    unknown = [w for w in which if w not in cat.platforms]
    if unknown:
        raise InputError(
            f"unknown platform {unknown[0]!r}: choose 'all' or among {', '.join(cat.platforms)}"
        )
    for w in which:
        sp = cat.platforms[w].special
        if sp is not None and special_category not in sp.categories:
            raise InputError(
                f"{w} holds {sp.replaces}'s restricted rules for special ad categories "
                f"({', '.join(sp.categories)}): declare yours with --special-category "
                f"(library: special_category=) and ask for {sp.replaces}"
            )
    return list(dict.fromkeys(which))


def applicable(
    cat: Catalogue, ids: list[str], special_category: str | None, country: str | None
) -> list[Platform]:
    """The platforms to judge for ``ids``: each on its restricted rules where they apply.

    Parameters
    ----------
    cat : Catalogue
        The catalogue.
    ids : list of str
        Platform ids (see :func:`select`).
    special_category : str or None
        The special ad category the advertiser declared.
    country : str or None
        The targeted country (ISO 3166 alpha-2).

    Returns
    -------
    list of Platform
        One per id (each once): the entry whose restricted rules apply to the declared
        category in ``country`` instead of its general entry.
    """
    out: dict[str, Platform] = {}
    for pid in ids:
        p = cat.platforms[pid]
        if p.special is None:
            for q in cat.platforms.values():
                sp = q.special
                if sp is not None and sp.replaces == pid and sp.applies(special_category, country):
                    p = q
                    break
        out.setdefault(p.id, p)
    return list(out.values())


def _sort_rows(rows: list[PlatformRow]) -> list[PlatformRow]:
    order = {v: k for k, v in enumerate(VERDICTS)}
    rows.sort(
        key=lambda r: (
            order[r["verdict"]],
            r["waste_share"] if r["waste_share"] is not None else 2.0,
        )
    )
    return rows


def _evaluator(
    facts: Facts, i: int, opts: PlatformOptions, shared: Shared | None = None
) -> Evaluator:
    kw = {} if opts.postcode_coverage is None else {"postcode_coverage": opts.postcode_coverage}
    return Evaluator(facts, i, country=opts.country, shared=shared, **kw)


def _rows(
    ev: Evaluator, ids: list[str], cat: Catalogue, opts: PlatformOptions
) -> list[PlatformRow]:
    return _sort_rows(
        [
            ev.evaluate(
                p,
                cat,
                segment_share=opts.segment_share,
                budget=opts.budget,
                currency=opts.currency,
                special_category=opts.special_category,
                managed_account=opts.managed_account,
            )
            for p in applicable(cat, ids, opts.special_category, ev.country)
        ]
    )


def evaluate(
    layer: PopulationLayer,
    venue: Venue,
    catch: Catchment,
    ids: list[str],
    cat: Catalogue,
    *,
    method: str | None = None,
    options: PlatformOptions | None = None,
) -> list[PlatformRow]:
    """Evaluate platforms ``ids`` for one venue.

    A batch of one: the same code as :func:`evaluate_many`, so the two agree exactly.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    venue : Venue
        The venue.
    catch : Catchment
        Its catchment.
    ids : list of str
        The platforms (see :func:`select`).
    cat : Catalogue
        The platforms' rules.
    method : str, optional
        The estimation method (default: the layer's own).
    options : PlatformOptions, optional
        The advertiser's options.

    Returns
    -------
    list of PlatformRow
        One row per platform, best verdict first, then least waste.
    """
    circles = None
    if catch.kind == "radius" and catch.radius_m is not None:  # as radius_needed decides
        circles = est.Circles([venue.lat], [venue.lon], [catch.radius_m], layer.crs)
    facts = Facts(
        layer,
        np.array([venue.lat]),
        np.array([venue.lon]),
        np.array([radius_needed(catch, venue)]),
        np.array([catch.to_crs(layer.crs)], dtype=object),
        circles,
        method,
        travels=None if catch.travel is None else [catch.travel],
    )
    opts = options or PlatformOptions()
    return _rows(_evaluator(facts, 0, opts), ids, cat, opts)


def evaluate_many(
    layer: PopulationLayer,
    lat: ArrayLike,
    lon: ArrayLike,
    radius_m: ArrayLike,
    ids: list[str],
    cat: Catalogue,
    *,
    method: str | None = None,
    options: PlatformOptions | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], Any] | None = None,
) -> list[list[PlatformRow]]:
    """Evaluate platforms ``ids`` for many venues with circular catchments, vectorised.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    lat, lon : array_like of float
        The venues (WGS84).
    radius_m : array_like of float
        The radius of each venue's catchment, in metres.
    ids : list of str
        The platforms (see :func:`select`).
    cat : Catalogue
        The platforms' rules.
    method : str, optional
        The estimation method (default: the layer's own).
    options : PlatformOptions, optional
        The advertiser's options.
    chunk_size : int
        Venues measured together.
    progress : callable, optional
        Called with 1 after each venue.

    Returns
    -------
    list of list of PlatformRow
        Per venue, one row per platform, best first.
    """
    lat, lon, radius_m = (np.asarray(a, dtype=float) for a in (lat, lon, radius_m))
    opts = options or PlatformOptions()
    out: list[list[PlatformRow]] = []
    shared: Shared = {}
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
