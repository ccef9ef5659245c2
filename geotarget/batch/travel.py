"""Many venues' walks or drives on one street network, counted with no polygon built.

Point layers are counted by :func:`geotarget.estimate.travel.count_many` (chunked Dijkstra
searches with a limit); zone layers need each venue's polygon, built only for them, as is the
polygon for the coverage of venues whose reach is not surely inside the layer's coverage.  The
platform table asks for the polygons (each platform's footprint must hold the walk): they are
built then, venue by venue, as the one-venue path builds them (:func:`walk_facts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import estimate as est
from ..estimate.travel import MAX_SNAP_M, count_many
from ..layers import PopulationLayer
from ..network.graph import Network
from ..network.reach import snap
from ..network.travel import TravelLimit, travel_catchment
from ..projections import WGS84, transformer
from ..venue import Venue

if TYPE_CHECKING:
    from ..platforms.footprints import Facts


def trip_of(
    walk: str | float | None,
    drive: str | float | None,
    walk_speed: str | float | None,
    network: Any,
) -> tuple[TravelLimit, Network] | None:
    """The walk or drive asked for, as ``(limit, network)``, or ``None`` for circles.

    Parameters
    ----------
    walk, drive : str or float or None
        At most one: ``"10min"``, ``"800m"``.
    walk_speed : str or float or None
        The walking speed (default 4.8 km/h).
    network : str, pathlib.Path, Network or None
        The OSM extract (read once and cached) or a loaded network.

    Returns
    -------
    tuple of (TravelLimit, Network) or None

    Raises
    ------
    InputError
        Both a walk and a drive, no network, or a network or speed without a walk.
    """
    from ..errors import InputError
    from ..network import load_network, parse_limit

    if walk is None and drive is None:
        if network is not None or walk_speed is not None:
            raise InputError("--network and --walk-speed are for a walk or drive: give --walk")
        return None
    if walk is not None and drive is not None:
        raise InputError("give a walk or a drive, not both")
    if network is None:
        raise InputError("a walk or drive needs the street network: give --network FILE.osm.pbf")
    mode = "walk" if walk is not None else "drive"
    value = walk if walk is not None else drive
    assert value is not None
    lim = parse_limit(mode, value, walk_speed)
    net = network if isinstance(network, Network) else load_network(network, mode)
    return lim, net


def results_trip(
    results: pd.DataFrame,
    walk: str | float | None,
    drive: str | float | None,
    walk_speed: str | float | None,
    network: Any,
) -> tuple[TravelLimit, Network] | None:
    """The walk or drive the rows of :func:`geotarget.analyse_many` were counted with, as
    ``(limit, network)``, or ``None`` for circles: the rows' ``catchment`` must say the walk
    given (a table of circles has no such column).

    Parameters
    ----------
    results : pandas.DataFrame
        The rows.
    walk, drive, walk_speed, network
        As for :func:`trip_of`.

    Returns
    -------
    tuple of (TravelLimit, Network) or None

    Raises
    ------
    InputError
        Rows of walks without the walk, or rows not counted with the walk given.
    """
    from ..errors import InputError

    trip = trip_of(walk, drive, walk_speed, network)
    said = results["catchment"] if "catchment" in results.columns else None
    if trip is None:
        if said is not None and said.notna().any():
            raise InputError(
                f"these rows are walks or drives ({said.dropna().iloc[0]}): give the walk and "
                "network they were counted with (walk=..., network=...)"
            )
        return None
    want = trip[0].describe()
    got = set(said.dropna().astype(str)) if said is not None else set()
    if got != {want}:
        raise InputError(
            f"these rows were not counted as a {want}"
            f" (their catchment: {', '.join(sorted(got)) or 'circles'}): give the walk or "
            "drive and network they were counted with"
        )
    return trip


def venue_catchment(net: Network, lim: TravelLimit, lat: float, lon: float) -> Any:
    """One venue's walk or drive catchment, polygon and search, as the one-venue path makes it.

    Parameters
    ----------
    net : Network
        The streets.
    lim : TravelLimit
        The walk or drive.
    lat, lon : float
        The venue, WGS84.

    Returns
    -------
    Catchment
        Of kind ``"walk"`` or ``"drive"`` (see :func:`geotarget.network.travel_catchment`).
    """
    walk, drive = (lim.text, None) if lim.mode == "walk" else (None, lim.text)
    v = Venue(float(lat), float(lon))
    return travel_catchment(v, net, walk=walk, drive=drive, walk_speed=lim.walk_speed_kmh)


def walk_facts(
    layer: PopulationLayer,
    lat: np.ndarray,
    lon: np.ndarray,
    net: Network,
    lim: TravelLimit,
    method: str | None = None,
) -> Facts:
    """The platforms' footprint facts of many venues' walks or drives: each venue's polygon and
    search made, and the radius a circle needs to hold the polygon, exactly as
    :func:`geotarget.platforms.evaluate` makes them for one venue.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    lat, lon : numpy.ndarray
        The venues (on the network), WGS84.
    net : Network
        The streets.
    lim : TravelLimit
        The walk or drive.
    method : str or None
        The estimation method.

    Returns
    -------
    geotarget.platforms.footprints.Facts
    """
    from ..platforms.feasibility import radius_needed
    from ..platforms.footprints import Facts

    cats = [venue_catchment(net, lim, la, lo) for la, lo in zip(lat.tolist(), lon.tolist())]
    need = [radius_needed(c, Venue(la, lo)) for c, la, lo in zip(cats, lat.tolist(), lon.tolist())]
    return Facts(
        layer,
        np.asarray(lat, dtype=float),
        np.asarray(lon, dtype=float),
        np.array(need, dtype=float),
        np.array([c.to_crs(layer.crs) for c in cats], dtype=object),
        None,
        method,
        travels=[c.travel for c in cats],
    )


def off_network(net: Network, lat: np.ndarray, lon: np.ndarray) -> list[str | None]:
    """Per venue, why it cannot be searched (too far from every street), or ``None``.

    Parameters
    ----------
    net : Network
        The streets.
    lat, lon : numpy.ndarray
        The venues, WGS84.

    Returns
    -------
    list of str or None
    """
    x, y = transformer(WGS84, net.crs).transform(lon, lat)
    s = snap(net, np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return [
        None
        if seg >= 0 and off <= MAX_SNAP_M
        else f"the venue is {off:,.0f} m from the nearest street of {net.source} (at most "
        f"{MAX_SNAP_M:g} m accepted)"
        for seg, off in zip(s.seg, s.offset_m)
    ]


def _reach_m(net: Network, lim: TravelLimit) -> float:
    """How far from the venue, as the crow flies, its polygon can reach (metres)."""
    from ..network.travel import BUFFER_M

    if lim.mode == "walk":
        return lim.budget + BUFFER_M
    with np.errstate(divide="ignore", invalid="ignore"):
        mps = np.nanmax(np.where(np.isfinite(net.cost_fwd), net.length / net.cost_fwd, np.nan))
    return lim.budget * float(mps) + BUFFER_M + lim.budget * lim.walk_mps


def count_travel_chunk(
    layer: PopulationLayer,
    lat: np.ndarray,
    lon: np.ndarray,
    net: Network,
    lim: TravelLimit,
    *,
    method: str | None = None,
) -> pd.DataFrame:
    """Residents, workers, coverage and clipping for many venues' walks or drives on one layer.

    Parameters
    ----------
    layer : PopulationLayer
        The layer counted.
    lat, lon : numpy.ndarray
        The venues (all on the network: see :func:`off_network`).
    net : Network
        The streets.
    lim : TravelLimit
        The walk or drive.
    method : str or None
        The estimation method.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`geotarget.batch.count.count_chunk` plus ``clipped``.
    """
    n = len(lat)
    polys: dict[int, Any] = {}
    clip: np.ndarray | None = None

    def polygon(i: int) -> Any:
        if i not in polys:
            polys[i] = venue_catchment(net, lim, lat[i], lon[i])
        return polys[i]

    reach = np.full(n, _reach_m(net, lim))
    circles = est.Circles(lat, lon, reach, layer.crs)
    sure = layer.surely_covered(circles.centres, reach)
    cov = np.ones(n)
    for i in np.flatnonzero(~sure).tolist():
        cov[i] = float(layer.coverage_fraction(np.array([polygon(i).to_crs(layer.crs)]))[0])
    out: dict[str, np.ndarray] = {"coverage": cov}
    for pop in ("residents", "workers"):
        s = layer.surface(pop, method)
        if s is None:
            for suf in ("", "_low", "_high"):
                out[pop + suf] = np.full(n, np.nan)
            continue
        if s.kind == "points":
            c, clip = count_many(s, layer.crs, net, lat, lon, lim)
        else:
            geoms = np.array([polygon(i).to_crs(layer.crs) for i in range(n)], dtype=object)
            c = est.count(s, geoms)
        out[pop], out[pop + "_low"], out[pop + "_high"] = c.estimate, c.low, c.high
        for k, v in c.extra.items():
            out[k] = v
    if clip is None:
        clip = np.array([polygon(i).travel.clipped for i in range(n)], dtype=bool)
    res = pd.DataFrame(out)
    res["clipped"] = clip
    outside = res["coverage"].to_numpy() <= 0
    for col in res.columns:
        if col not in ("coverage", "clipped"):
            res.loc[outside, col] = np.nan
    return res
