"""Many venues' walks or drives on one street network, counted with no polygon built.

Point layers are counted by :func:`geotarget.estimate.travel.count_many` (chunked Dijkstra
searches with a limit); zone layers need each venue's polygon, built only for them, as is the
polygon for the coverage of venues whose reach is not surely inside the layer's coverage.
"""

from __future__ import annotations

from typing import Any

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
            v = Venue(float(lat[i]), float(lon[i]))
            walk, drive = (lim.text, None) if lim.mode == "walk" else (None, lim.text)
            c = travel_catchment(v, net, walk=walk, drive=drive, walk_speed=lim.walk_speed_kmh)
            polys[i] = c
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
