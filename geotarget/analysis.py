"""The main job: venue -> catchment -> people counted, with provenance and warnings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from . import estimate as est
from .catchment import Catchment, circle, from_file
from .errors import InputError
from .layers import PopulationLayer, choose_layer, resolve_layer
from .layers.base import CountSurface
from .layers.workers_table import read_workers_table, with_workers_table
from .platforms.options import PlatformOptions
from .render.style import fmt_share
from .result import Estimate, Result
from .settings import MAX_RADIUS_M
from .venue import Venue, locate

#: this module's logger
log = logging.getLogger(__name__)

#: below this share of the catchment inside the layer's coverage, the result warns
FULL_COVERAGE = 0.9995

#: how each method's range is worked out, in words (``{k}``: the clusters per zone)
RANGE_TEXT = {
    "areal": "90% interval: the people of zones cut by the edge modelled as independently placed "
    "clusters (k={k:g} per zone), clipped to zones wholly inside / all zones touched",
    "dasymetric": "90% interval: the people of census zones cut by the edge modelled as "
    "independently placed clusters, clipped to zones wholly inside / all zones "
    "touched",
    "points": "90% interval: points within half their neighbour spacing of the edge may belong "
    "on either side",
}


def _surface_for(lay: PopulationLayer, population: str, method: str | None) -> CountSurface | None:
    if method is not None and method not in est.METHODS:
        raise InputError(f"method {method!r} is unknown: choose one of {', '.join(est.METHODS)}")
    return lay.surface(population, method)


def _covers(lay: PopulationLayer, lat: float, lon: float) -> bool:
    from .projections import transformer

    x, y = transformer("EPSG:4326", lay.crs).transform(lon, lat)
    return lay.covers_point(x, y)


#: how a walk or drive catchment is counted, by the surface's kind
TRAVEL_TEXT = {
    "points": "counted over the street network: a point is in when its {cost} from the venue "
    "(along the streets, plus the walk between each end and its street) is within the limit",
    "zones": "counted by areal weighting of the catchment polygon (the reached streets buffered "
    "by {buffer:g} m, holes filled): zones are not placed on the streets, so this is as good as "
    "the polygon",
}
TRAVEL_POINT_RANGE = (
    "90% interval: points whose network {cost} is within half their neighbour spacing of the "
    "limit may belong on either side"
)


def count_surface(
    surface: CountSurface,
    geom: BaseGeometry,
    circles: est.Circles | None = None,
    *,
    travel: Any = None,
    crs: str | None = None,
) -> Estimate:
    """The people of ``surface`` in one catchment, with their range and method in words.

    Parameters
    ----------
    surface : CountSurface
        The counts (residents or workers of a layer).
    geom : shapely.geometry.base.BaseGeometry
        The catchment, in the layer's CRS.
    circles : geotarget.estimate.Circles, optional
        The catchment as a circle, when it is one (exact and faster for points).
    travel : geotarget.network.Travel, optional
        The search of a walk or drive catchment: point surfaces are then counted by network
        cost (:mod:`geotarget.estimate.travel`), zones by the polygon.
    crs : str, optional
        The surface's CRS (needed with ``travel``).

    Returns
    -------
    Estimate
    """
    note = ""
    if travel is not None and surface.kind == "points":
        from .estimate.travel import count_travel

        assert crs is not None, "a travel count needs the surface's CRS"
        c = count_travel(surface, crs, travel, geom)
        cost = "walking distance" if travel.limit.mode == "walk" else "driving time"
        note = TRAVEL_TEXT["points"].format(cost=cost)
        range_text = (
            TRAVEL_POINT_RANGE.format(cost=cost)
            if c.method == "points"
            else RANGE_TEXT[c.method].format(k=surface.clusters_per_zone)
        )
    else:
        c = est.count(surface, np.array([geom], dtype=object), circles=circles)
        range_text = RANGE_TEXT[c.method].format(k=surface.clusters_per_zone)
        if travel is not None:
            note = TRAVEL_TEXT["zones"].format(buffer=travel.buffer_m)
    return Estimate(
        estimate=float(c.estimate[0]),
        low=float(c.low[0]),
        high=float(c.high[0]),
        method=c.method,
        zones=int(c.zones[0]),
        unit=surface.group_unit or surface.unit,
        definition=surface.definition,
        range_method=range_text + (f"; {surface.range_note}" if surface.range_note else ""),
        extra={k: float(v[0]) for k, v in c.extra.items()},
        description="; ".join(t for t in (surface.description, note) if t),
    )


def analyse(
    venue: str | Venue | tuple[float, float] | None = None,
    radius: str | float | None = None,
    *,
    catchment: str | Path | Catchment | None = None,
    data_dir: str | Path | None = None,
    layer: str | Path | PopulationLayer | None = None,
    method: str | None = None,
    counts: str | None = None,
    workers_table: str | Path | None = None,
    residents_col: str | None = None,
    workers_col: str | None = None,
    platforms: str | list[str] | None = None,
    options: PlatformOptions | None = None,
    max_radius: str | float | None = MAX_RADIUS_M,
    geocode: bool = False,
    walk: str | float | None = None,
    drive: str | float | None = None,
    walk_speed: str | float | None = None,
    network: str | Path | Any = None,
    **platform_options: Any,
) -> Result:
    """Count residents and workers in a catchment around a venue.

    Parameters
    ----------
    venue
        A GB postcode (``"EH1 1YZ"``), ``"lat,lon"``, a ``(lat, lon)`` tuple, a
        :class:`~geotarget.venue.Venue`, or a free-text address with ``geocode=True``.  May be
        omitted when ``catchment`` is a polygon file.
    radius
        Catchment radius with unit (``"0.5mi"``, ``"800m"``) or metres.
    catchment
        Instead of ``radius``: a polygon file (GeoJSON, GeoPackage) or a :class:`Catchment`.
    data_dir, layer
        Where the counts come from: a data folder (England & Wales layout, US blocks, Eurostat
        tiles), a layer name, file (GeoPackage/GeoParquet/GeoJSON/CSV with a count column named
        by ``residents_col``/``workers_col``, or a population GeoTIFF) or object.  By default
        the built-in layer covering the venue.
    method
        ``"dasymetric"``, ``"areal"`` or ``"points"``; by default the layer's best method
        (dasymetric for England & Wales, areal for zones and grids, points for point layers).
    counts
        England & Wales only: ``"oa"`` (default, Output Area totals) or ``"lsoa"`` (LSOA totals
        only, the hold-out set-up of the accuracy benchmark).
    workers_table
        England & Wales only: a CSV of area code -> workers (MSOA, LSOA or local authority,
        e.g. BRES employment from Nomis) replacing the Census 2021 workplace counts of the
        areas it lists (:mod:`geotarget.layers.workers_table`); the file is named in the
        result's layer source, caveats and ``layer.workers_table``.
    residents_col, workers_col
        The count columns of a layer file given as ``layer``.
    platforms
        ``"all"``, ``"meta,google_ads"`` or a list of platform ids: evaluate each platform's
        smallest real footprint, audience, waste and verdict (``result.platforms``).
    options
        The advertiser's platform options as one
        :class:`~geotarget.platforms.PlatformOptions`; or give its fields as keywords:
    **platform_options
        ``budget`` and ``currency`` (spend, to turn the waste share into money wasted),
        ``segment_share`` (share of people in the audience segment, e.g. 0.004, for the
        minimum-audience check), ``rules`` and ``rule_overrides`` (a rules file extending the
        built-in catalogue; overrides such as ``["meta.radius_min=1km"]``), ``country`` (ISO
        3166 alpha-2, for the platforms' rules when the layer does not say) and
        ``postcode_coverage`` (share of the catchment's people a set of postcode districts must
        cover, default 0.95), ``special_category`` (``"housing"``, ``"employment"`` or
        ``"financial"``: the special ad category declared to the platforms, whose restricted
        rules then apply) and ``managed_account`` (options offered only through an account
        manager may be recommended).  Rules, overrides, a special category or a managed
        account alone also ask for every platform.
    max_radius
        The largest radius accepted (default 100 km); ``None`` for no limit.
    geocode
        Look a free-text ``venue`` up online (OpenStreetMap Nominatim).
    walk, drive
        Instead of ``radius``: a walk (``"10min"`` at ``walk_speed``, or ``"800m"`` along the
        streets) or a drive (``"10min"``) over ``network``.  Point layers are counted by each
        point's network cost, zone layers by the reached-streets polygon.
    walk_speed
        The walking speed, km/h (``4.8`` by default; ``"3mph"`` also reads).
    network
        With ``walk``/``drive``: an OSM PBF or XML extract (read once and cached) or a
        :class:`~geotarget.network.Network`.

    Returns
    -------
    Result
        ``.to_dict()`` gives the JSON contract ``geotarget.result/1``.

    Raises
    ------
    GeotargetError
        A subclass for each kind of failure (:class:`InputError` for a bad argument,
        :class:`NoCoverageError` when no built-in layer covers the venue, ...), each with a
        one-line message that says what to do.

    Examples
    --------
    >>> r = analyse("EH1 1YZ", radius="0.5mi")  # doctest: +SKIP
    >>> round(r.residents.estimate, -2)  # doctest: +SKIP
    10600.0
    """
    v, catch = _venue_and_catchment(
        venue, radius, catchment, max_radius, geocode, _Travel(walk, drive, walk_speed, network)
    )
    if (residents_col or workers_col) and (layer is None or isinstance(layer, PopulationLayer)):
        raise InputError(
            "--residents-col / --workers-col name the count columns of a layer "
            "file: use them with --layer FILE"
        )
    if workers_table is not None:  # a bad file fails before any layer is loaded
        read_workers_table(workers_table)
    lay = resolve_layer(
        layer, data_dir, counts=counts, residents_col=residents_col, workers_col=workers_col
    )
    chosen = lay is None
    if lay is None:
        lay = choose_layer(v.lat, v.lon, counts, catchment=catch)
        log.info("using built-in layer %s", lay.name)
    lay = with_workers_table(lay, workers_table)
    people = _count_people(lay, v, catch, method)
    layer_info = lay.info()
    if chosen:
        layer_info["chosen"] = (
            f"built-in layer {lay.name} chosen because its coverage contains the venue"
            + (" and the catchment reaches across the England-Scotland border" if lay.parts else "")
        )
    layer_info["caveats"] = list(lay.caveats) + (list(lay.workers_caveats) if lay.workers else [])
    if lay.parts:
        _part_info(layer_info, lay, people)
    opts = _platform_options(options, platform_options)
    plat_rows = None
    if platforms is not None or (opts is not None and opts.wanted):
        from . import platforms as plat

        opts = opts or PlatformOptions()
        opts.check_layer(lay)
        cat = plat.load(opts.rules, overrides=opts.rule_overrides)
        ids = plat.select(cat, platforms if platforms is not None else "all", opts.special_category)
        if people.coverage <= 0.0:
            people.warnings.append(
                "no platform figures: the catchment is outside the layer's coverage"
            )
        else:
            plat_rows = plat.evaluate(lay, v, catch, ids, cat, method=method, options=opts)
        layer_info["rules_files"] = cat.files
    catch_d = catch.to_dict()
    catch_d["description"] = catch.describe()
    if catch.travel is not None and catch.travel.clipped:
        people.warnings.append(
            f"clipped by the network data: the {catch.kind} reaches the edge of "
            f"{catch.travel.network.source}, so the catchment and its counts are a lower bound "
            "(give a larger extract)"
        )
    return Result(
        venue=v.to_dict(),
        catchment=catch_d,
        layer=layer_info,
        residents=people.residents,
        workers=people.workers,
        coverage_fraction=people.coverage,
        residents_unavailable=None if people.residents else people.residents_why,
        workers_unavailable=None if people.workers else people.workers_why,
        warnings=people.warnings,
        platform_rows=plat_rows,
        catchment_obj=catch,
        layer_obj=lay,
    )


def _platform_options(
    options: PlatformOptions | None, kwargs: dict[str, Any]
) -> PlatformOptions | None:
    """The platform options from ``options=`` or keywords (``None`` when neither is given)."""
    unknown = sorted(set(kwargs) - _PLATFORM_FIELDS)
    if unknown:
        raise InputError(
            f"analyse() got an unknown option {unknown[0]!r}: the platform options "
            f"are {', '.join(sorted(_PLATFORM_FIELDS))}"
        )
    if options is None and not any(v is not None and v != "" and v != () for v in kwargs.values()):
        return None
    return PlatformOptions.from_kwargs(options, **kwargs)


_PLATFORM_FIELDS = {f.name for f in fields(PlatformOptions)}


@dataclass
class _Travel:
    """The walk or drive asked for (all ``None``: none)."""

    walk: str | float | None
    drive: str | float | None
    walk_speed: str | float | None
    network: Any

    def check(self) -> bool:
        """Whether a walk or drive is asked for (checked for sense)."""
        if self.walk is not None and self.drive is not None:
            raise InputError("give a walk or a drive, not both")
        wanted = self.walk is not None or self.drive is not None
        if wanted and self.network is None:
            raise InputError(
                "a walk or drive needs the street network: give an OSM extract "
                "(--network FILE.osm.pbf)"
            )
        if not wanted and self.network is not None:
            raise InputError("--network is for a walk or drive: give --walk or --drive too")
        if not wanted and self.walk_speed is not None:
            raise InputError("--walk-speed is for a walk: give --walk too")
        return wanted


def _venue_and_catchment(
    venue: str | Venue | tuple[float, float] | None,
    radius: str | float | None,
    catchment: str | Path | Catchment | None,
    max_radius: str | float | None,
    geocode: bool,
    travel: _Travel | None = None,
) -> tuple[Venue, Catchment]:
    """The venue located and its catchment (a circle, a walk or drive, or a polygon whose
    centroid stands in for a venue not given)."""
    moving = travel is not None and travel.check()
    if sum((radius is not None, catchment is not None, moving)) != 1:
        raise InputError(
            "give either a radius (e.g. radius='0.5mi') or a catchment polygon file, or a "
            "walk or drive (walk='10min', network=FILE): one of them, not both and not neither"
        )
    v: Venue | None = locate(venue, geocode=geocode) if venue is not None else None
    if moving:
        from .network import travel_catchment

        assert travel is not None
        if v is None:
            raise InputError("a walk or drive needs a venue: give a postcode or 'lat,lon'")
        return v, travel_catchment(
            v, travel.network, walk=travel.walk, drive=travel.drive, walk_speed=travel.walk_speed
        )
    if isinstance(catchment, Catchment):
        catch = catchment
    elif catchment is not None:
        catch = from_file(catchment)
    else:
        if v is None:
            raise InputError("a radius needs a venue: give a postcode or 'lat,lon'")
        assert radius is not None  # one of radius and catchment, checked above
        catch = circle(v, radius, max_radius=max_radius)
    if v is None:
        assert catch.centre is not None, "a catchment without a venue needs its centre"
        lat, lon = catch.centre
        v = Venue(lat, lon, label="catchment centroid", source="catchment")
    return v, catch


@dataclass
class _People:
    """What the layer says about the catchment: counts, or why there are none, and warnings."""

    coverage: float
    residents: Estimate | None
    workers: Estimate | None
    residents_why: str | None
    workers_why: str | None
    warnings: list[str] = field(default_factory=list)
    #: a combined layer's share of the catchment in each part
    shares: dict[str, float] = field(default_factory=dict)


def _part_info(info: dict[str, Any], lay: PopulationLayer, people: _People) -> None:
    """The parts of a combined layer that the catchment reaches, each with its own vintage,
    source and caveats, and its share of the catchment; the layer's vintage and caveats then
    are theirs."""
    parts = [p for p in lay.parts if people.shares.get(p.name, 0.0) > 0] or lay.parts
    info["parts"] = [
        {**p.info(), "catchment_share": round(people.shares.get(p.name, 0.0), 6)} for p in parts
    ]
    info["vintage"] = "; ".join(f"{p.label or p.name}: {p.vintage}" for p in parts)
    info["caveats"] = [c for p in parts for c in p.info()["caveats"]]
    info["attribution"] = list(dict.fromkeys(a for p in parts for a in p.attribution))


def _age_counts(lay: PopulationLayer, people: _People) -> None:
    """Residents aged 16+ and 18+ beside the total where the layer has ages, with what they
    cover; where it has none, say so ("not available")."""
    est_r = people.residents
    if est_r is None:
        return
    base = est_r.extra.pop("age_base", None)
    if not any(k.startswith("aged_") for k in est_r.extra):
        est_r.unavailable["aged_16plus"] = est_r.unavailable["aged_18plus"] = (
            f"not available: layer {lay.name} has no age bands (residents are its census "
            "totals only)"
        )
        return
    if base is not None and base < est_r.estimate - 0.5:
        lacking = ", ".join(p.label or p.name for p in lay.parts if not p.residents_extra)
        having = ", ".join(p.label or p.name for p in lay.parts if p.residents_extra)
        if base <= 0.5:  # none of the catchment's residents has ages
            for k in [k for k in est_r.extra if k.startswith("aged_")]:
                est_r.extra.pop(k)
                est_r.unavailable[k] = (
                    f"not available: the catchment's residents are in {lacking or 'a part'}, "
                    "whose census totals have no age bands"
                )
            return
        est_r.notes["age"] = (
            f"{having} part only: {base:,.0f} of the {est_r.estimate:,.0f} residents "
            f"({lacking or 'the rest'}: not available, no age bands)"
        )
        est_r.extra["age_base"] = base


def _workers_by_part(lay: PopulationLayer, geom: BaseGeometry, out: _People) -> None:
    """A combined layer: workers are counted only in the parts that have them; a catchment
    wholly in a part without them has none (unavailable, with that part's reason), one partly
    in it a lower bound."""
    out.shares = lay.part_fractions(geom)
    lacking = [p for p in lay.parts if p.workers_unavailable and out.shares.get(p.name, 0) > 0]
    if not lacking or out.workers is None:
        return
    have = sum(s for n, s in out.shares.items() if n not in {p.name for p in lacking})
    why = "; ".join(f"{p.label or p.name}: {p.workers_unavailable}" for p in lacking)
    if have <= 0.0:
        out.workers = None
        out.workers_why = why
        return
    share = sum(out.shares[p.name] for p in lacking)
    out.warnings.append(
        f"workers are counted in the England & Wales part of the catchment only: "
        f"{share:.1%} of it is in Scotland, where workers are unavailable ({why}); the "
        "workers figure is a lower bound"
    )


def _count_people(lay: PopulationLayer, v: Venue, catch: Catchment, method: str | None) -> _People:
    circles = None
    if catch.kind == "radius" and catch.radius_m is not None:
        assert catch.centre is not None, "a circle around a venue has its centre"
        circles = est.Circles([catch.centre[0]], [catch.centre[1]], [catch.radius_m], lay.crs)
    if circles is not None and lay.surely_covered(circles.centres, circles.radius)[0]:
        geom, cov = catch.to_crs(lay.crs), 1.0
    else:
        geom, cov = lay.catchment_coverage(catch)
    res_surface = _surface_for(lay, "residents", method)
    wrk_surface = _surface_for(lay, "workers", method)
    out = _People(cov, None, None, lay.residents_unavailable, lay.workers_unavailable)
    if cov <= 0.0:
        outside = (
            f"the catchment lies entirely outside the coverage of layer {lay.name}: "
            "nothing is known there (this is not zero people)"
        )
        out.residents_why = outside if lay.residents is not None else (out.residents_why or outside)
        out.workers_why = outside if lay.workers is not None else (out.workers_why or outside)
        hint = "use a layer that covers the venue (--data-dir)"
        if catch.kind == "radius" and -90 <= v.lon <= 90 and _covers(lay, v.lon, v.lat):
            hint = (
                f"latitude and longitude look swapped: did you mean {v.lon},{v.lat}? "
                "Give latitude first"
            )
        out.warnings.append(
            f"0% of the catchment is covered by layer {lay.name}: no counts; {hint}"
        )
        return out
    tr, crs = catch.travel, lay.crs
    if res_surface is not None:
        out.residents = count_surface(res_surface, geom, circles, travel=tr, crs=crs)
    if wrk_surface is not None:
        out.workers = count_surface(wrk_surface, geom, circles, travel=tr, crs=crs)
    _age_counts(lay, out)
    if lay.parts:
        _workers_by_part(lay, geom, out)
    if out.residents is not None and "home_workers" in out.residents.extra:
        # home-workers placed at homes (dasymetric) are reported with the workers
        hw = out.residents.extra.pop("home_workers")
        if out.workers is not None:
            out.workers.extra["home_workers"] = hw
    if out.workers is not None and "home_workers" in out.workers.extra and out.shares:
        lacking = [p for p in lay.parts if p.workers_unavailable and out.shares.get(p.name)]
        if lacking:  # home-workers known in England & Wales only
            out.workers.notes["home_workers"] = "England & Wales part only"
    if cov < FULL_COVERAGE:
        out.warnings.append(
            f"only {fmt_share(cov)} of the catchment lies inside the coverage of layer {lay.name}: "
            "the counts cover that part only and are a lower bound for the whole catchment"
        )
    return out
