"""The main job: venue -> catchment -> people counted, with provenance and warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from . import estimate as est
from .catchment import Catchment, circle, from_file
from .errors import InputError
from .layers import PopulationLayer, choose_layer, load_layer
from .layers.base import CountSurface
from .result import Estimate, Result
from .units import DEFAULT_MAX_RADIUS_M
from .venue import Venue, locate

log = logging.getLogger(__name__)

#: below this share of the catchment inside the layer's coverage, the result warns
FULL_COVERAGE = 0.9995

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


def count_surface(surface: CountSurface, geom, circles=None) -> Estimate:
    c = est.count(surface, np.array([geom], dtype=object), circles=circles)
    return Estimate(
        estimate=float(c.estimate[0]), low=float(c.low[0]), high=float(c.high[0]),
        method=c.method, zones=int(c.zones[0]),
        unit=surface.group_unit or surface.unit, definition=surface.definition,
        range_method=RANGE_TEXT[c.method].format(k=surface.clusters_per_zone)
        + (f"; {surface.range_note}" if surface.range_note else ""),
        extra={k: float(v[0]) for k, v in c.extra.items()}, description=surface.description)


def analyse(venue: "str | Venue | tuple[float, float] | None" = None, radius: "str | float | None" = None,
            *, catchment: "str | Path | Catchment | None" = None,
            data_dir: "str | Path | None" = None, layer: "str | PopulationLayer | None" = None,
            method: str | None = None, counts: str | None = None,
            residents_col: str | None = None, workers_col: str | None = None,
            platforms: "str | list[str] | None" = None, budget: float | None = None,
            currency: str = "", segment_share: float | None = None,
            rules: "str | Path | None" = None, rule_overrides: "list[str] | tuple[str, ...]" = (),
            country: str | None = None, postcode_coverage: float | None = None, max_radius: "str | float | None" = DEFAULT_MAX_RADIUS_M,
            geocode: bool = False) -> Result:
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

    platforms
        ``"all"``, ``"meta,google_ads"`` or a list of platform ids: evaluate each platform's
        smallest real footprint, audience, waste and verdict (``result.platforms``).
    budget, currency
        Spend, to turn the waste share into money wasted.
    segment_share
        Share of people in the audience segment (user-supplied, e.g. 0.004), for the
        minimum-audience check.
    rules, rule_overrides
        A rules file extending the built-in catalogue; overrides such as
        ``["meta.radius_min=1km"]``.
    country
        ISO 3166 alpha-2 country for the platforms' rules when the layer does not say.
    postcode_coverage
        Share of the catchment's people a set of postcode districts must cover (default 0.95).

    Returns
    -------
    Result
        ``.to_dict()`` gives the JSON contract ``geotarget.result/1``.

    Examples
    --------
    >>> r = analyse("EH1 1YZ", radius="0.5mi")  # doctest: +SKIP
    >>> round(r.residents.estimate, -2)  # doctest: +SKIP
    10600.0
    """
    if (radius is None) == (catchment is None):
        raise InputError("give either a radius (e.g. radius='0.5mi') or a catchment polygon "
                         "file, not both and not neither")
    v: Venue | None = locate(venue, geocode=geocode) if venue is not None else None
    if isinstance(catchment, Catchment):
        catch = catchment
    elif catchment is not None:
        catch = from_file(catchment)
    else:
        if v is None:
            raise InputError("a radius needs a venue: give a postcode or 'lat,lon'")
        catch = circle(v, radius, max_radius=max_radius)  # type: ignore[arg-type]
    if v is None:
        lat, lon = catch.centre  # type: ignore[misc]
        v = Venue(lat, lon, label="catchment centroid", source="catchment")

    if (residents_col or workers_col) and (layer is None or isinstance(layer, PopulationLayer)):
        raise InputError("--residents-col / --workers-col name the count columns of a layer "
                         "file: use them with --layer FILE")
    if isinstance(layer, PopulationLayer):
        lay = layer
    elif layer is not None or data_dir is not None:
        lay = load_layer(layer if layer is not None else data_dir,  # type: ignore[arg-type]
                         counts=counts, residents_col=residents_col, workers_col=workers_col)
    else:
        if counts is not None:
            raise InputError("--counts applies to England & Wales data folders: give --data-dir "
                             "with it")
        lay = choose_layer(v.lat, v.lon)
        log.info("using built-in layer %s", lay.name)

    geom = catch.to_crs(lay.crs)
    circles = None
    if catch.kind == "radius":
        circles = est.Circles([catch.centre[0]], [catch.centre[1]], [catch.radius_m], lay.crs)
    if circles is not None and lay.surely_covered(circles.centres, circles.radius)[0]:
        cov = 1.0
    else:
        cov = float(lay.coverage_fraction(np.array([geom], dtype=object))[0])
    warnings: list[str] = []
    if data_dir is None and layer is None:
        warnings_src = f"built-in layer {lay.name} chosen because its coverage contains the venue"
    else:
        warnings_src = ""
    layer_info = lay.info()
    if warnings_src:
        layer_info["chosen"] = warnings_src
    layer_info["caveats"] = list(lay.caveats) + (list(lay.workers_caveats) if lay.workers else [])

    res_surface = _surface_for(lay, "residents", method)
    wrk_surface = _surface_for(lay, "workers", method)
    res = wrk = None
    res_why = lay.residents_unavailable
    wrk_why = lay.workers_unavailable
    if cov <= 0.0:
        outside = (f"the catchment lies entirely outside the coverage of layer {lay.name}: "
                   "nothing is known there (this is not zero people)")
        res_why = res_why or outside
        wrk_why = wrk_why or outside
        if lay.residents is not None:
            res_why = outside
        if lay.workers is not None:
            wrk_why = outside
        hint = "use a layer that covers the venue (--data-dir)"
        if catch.kind == "radius" and -90 <= v.lon <= 90 and _covers(lay, v.lon, v.lat):
            hint = (f"latitude and longitude look swapped: did you mean {v.lon},{v.lat}? "
                    "Give latitude first")
        warnings.append(f"0% of the catchment is covered by layer {lay.name}: no counts; {hint}")
    else:
        if res_surface is not None:
            res = count_surface(res_surface, geom, circles)
        if wrk_surface is not None:
            wrk = count_surface(wrk_surface, geom, circles)
        if res is not None and "home_workers" in res.extra:
            # home-workers placed at homes (dasymetric) are reported with the workers
            hw = res.extra.pop("home_workers")
            if wrk is not None:
                wrk.extra["home_workers"] = hw
        if cov < FULL_COVERAGE:
            warnings.append(
                f"only {cov:.1%} of the catchment lies inside the coverage of layer {lay.name}: "
                "the counts cover that part only and are a lower bound for the whole catchment")

    catch_d = catch.to_dict()
    catch_d["description"] = catch.describe()
    plat_rows = None
    if platforms is not None or rules is not None or rule_overrides:
        from . import platforms as plat

        check_platform_options(lay, budget=budget, currency=currency, country=country,
                               segment_share=segment_share, postcode_coverage=postcode_coverage)
        cat = plat.load(rules, overrides=rule_overrides)
        ids = plat.select(cat, platforms if platforms is not None else "all")
        if cov <= 0.0:
            warnings.append("no platform figures: the catchment is outside the layer's coverage")
        else:
            plat_rows = plat.evaluate(lay, v, catch, ids, cat, method=method,
                                      country=country.upper() if country else None,
                                      segment_share=segment_share, budget=budget,
                                      currency=currency, postcode_coverage=postcode_coverage)
        layer_info["rules_files"] = cat.files
    return Result(venue=v.to_dict(), catchment=catch_d, layer=layer_info, residents=res,
                  workers=wrk, coverage_fraction=cov, residents_unavailable=None if res else res_why,
                  workers_unavailable=None if wrk else wrk_why, warnings=warnings,
                  platform_rows=plat_rows, catchment_obj=catch, layer_obj=lay)


def check_platform_options(lay: PopulationLayer | None, *, budget=None, currency="", country=None,
                           segment_share=None, postcode_coverage=None) -> None:
    """One clear error for a bad platform option (budget, currency, country, segment share,
    postcode coverage); ``lay``: the layer, for the country check (None: not known yet)."""
    if segment_share is not None and not (isinstance(segment_share, (int, float))
                                          and 0 < segment_share <= 1):
        raise InputError(f"segment share {segment_share!r} must be a share in (0, 1], e.g. "
                         "0.004 for 0.4%")
    if budget is not None and isinstance(budget, (int, float)) and (
            not np.isfinite(budget) or budget < 0):
        raise InputError(f"budget {budget!r} must be a number >= 0")
    if country is not None and not (isinstance(country, str) and len(country) == 2
                                    and country.isalpha()):
        raise InputError(f"country {country!r}: give an ISO 3166 alpha-2 code such as GB")
    if country is not None and lay is not None and lay.country and country.upper() != lay.country:
        raise InputError(f"--country {country} contradicts layer {lay.name}, which is in "
                         f"{lay.country}: --country is for layers whose country is unknown")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))):
        raise InputError(f"budget {budget!r} must be a number")
    if segment_share is not None and (isinstance(segment_share, bool)
                                      or not isinstance(segment_share, (int, float))):
        raise InputError(f"segment share {segment_share!r} must be a number in (0, 1]")
    if currency and budget is None:
        raise InputError("--currency needs --budget (the spend to turn into money wasted)")
    if postcode_coverage is not None and (
            isinstance(postcode_coverage, bool) or not isinstance(postcode_coverage, (int, float))
            or not 0 < postcode_coverage <= 1):
        raise InputError(f"postcode coverage {postcode_coverage!r} must be in (0, 1]: a share "
                         "such as 0.95")
