"""Chains of venues: the people reachable by at least one branch, and the people each pair of
overlapping branches shares.

Circles, and walks or drives on zone layers, are compared by their polygons (unions and
intersections counted as any catchment is).  Walks or drives on point layers are compared by the
points they reach, as they are counted (:func:`geotarget.estimate.travel.reached`, no polygon
built): the union holds each point any branch reaches once, a pair shares the points both reach
(a pair is listed when it reaches a point in common), and so the union of two branches is exactly
the two counts less what they share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .. import estimate as est
from ..catchment import circles_in
from ..errors import InputError
from ..layers import load_layer, resolve_layer
from .venues import ID_COLUMN


def chain_overlap(
    gdf,
    *,
    data_dir=None,
    layer=None,
    method: str | None = None,
    population: str = "residents",
    walk: str | float | None = None,
    drive: str | float | None = None,
    walk_speed: str | float | None = None,
    network=None,
):
    """People reachable by at least one branch (the union of the catchments, counted once),
    and, for each pair of branches whose catchments intersect, the people they share.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The table :func:`geotarget.analyse_many` returned (its venue points, ``id``,
        ``radius_m``, ``layer`` and ``error`` columns); rows with an error are left out.
    data_dir : str or pathlib.Path, optional
        A data folder to count on (see :func:`geotarget.layers.resolve_layer`).
    layer : str or pathlib.Path or PopulationLayer, optional
        The layer to count on; with neither, the one built-in layer the venues were counted on.
    method : str, optional
        The estimation method (default: the layer's own).
    population : str
        ``"residents"`` or ``"workers"``.
    walk, drive, walk_speed, network
        The walk or drive the rows were counted with (as for :func:`geotarget.analyse_many`).

    Returns
    -------
    union_total : float
        The people in the union of the catchments.
    pairs : pandas.DataFrame
        ``id_a, id_b, shared``: each pair of intersecting catchments (of walks on a point
        layer: reaching a point in common) and the people in their intersection, most shared
        first.

    Raises
    ------
    InputError
        When the venues are on several built-in layers (or none) and no layer is given, or the
        layer has no counts of ``population``, or the rows were not counted with the walk
        given.
    """
    from .travel import results_trip

    trip = results_trip(gdf, walk, drive, walk_speed, network)
    lay = resolve_layer(layer, data_dir)
    if lay is None:  # the built-in layer the batch chose; one layer only
        names = sorted(set(gdf.loc[gdf["error"].isna(), "layer"].dropna()))
        if len(names) != 1:
            raise InputError(
                f"overlaps need the venues on one layer; they are on {names or 'none'}"
                ": give --data-dir or --layer"
            )
        lay = load_layer(names[0])
    ok = gdf["error"].isna().to_numpy()
    g = gdf[ok]
    lat, lon = g.geometry.y.to_numpy(), g.geometry.x.to_numpy()
    s = lay.surface(population, method)
    if s is None:
        raise InputError(f"layer {lay.name} has no {population} counts: no overlap to measure")
    if trip is not None and s.kind == "points":
        total, a, b, shared = _reached_overlap(s, lay.crs, trip, lat, lon)
    else:
        if trip is None:
            polys = circles_in(lat, lon, g["radius_m"].to_numpy(float), lay.crs)
        else:
            from .travel import venue_catchment

            polys = np.array(
                [
                    venue_catchment(trip[1], trip[0], la, lo).to_crs(lay.crs)
                    for la, lo in zip(lat, lon)
                ],
                dtype=object,
            )
        total, a, b, shared = _polygon_overlap(s, polys)
    ids = g[ID_COLUMN].to_numpy()
    pairs = pd.DataFrame({"id_a": ids[a], "id_b": ids[b], "shared": shared})
    return total, pairs.sort_values("shared", ascending=False, ignore_index=True)


def _polygon_overlap(s, polys: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """The people in the union of ``polys``, and each intersecting pair ``a < b`` with the
    people in its intersection."""
    union = shapely.union_all(polys)
    total = float(est.count(s, np.array([union], dtype=object)).estimate[0])
    tree = shapely.STRtree(polys)
    a, b = tree.query(polys, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    inter = shapely.intersection(polys[a], polys[b])
    shared = est.count(s, inter).estimate if len(inter) else np.array([])
    return total, a, b, shared


def _reached_overlap(
    s, crs: str, trip, lat: np.ndarray, lon: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """The people of the points any walk reaches (each once), and each pair ``a < b`` of walks
    reaching a point in common with the people of the points both reach."""
    from scipy import sparse

    from ..estimate.travel import reached

    lim, net = trip
    ci, pi, cost, _ = reached(s, crs, net, lat, lon, lim)
    inside = cost <= lim.budget
    ci, pi = ci[inside], pi[inside]
    total = float(s.values[np.unique(pi)].sum())
    m = sparse.csr_matrix((np.ones(len(ci)), (ci, pi)), shape=(len(lat), len(s.values)))
    m.sum_duplicates()
    m.data[:] = 1.0  # a (walk, point) pair once
    common = sparse.triu(m @ m.T, k=1).tocoo()
    a, b = common.row.astype(np.int64), common.col.astype(np.int64)
    people = (m.multiply(s.values[None, :]).tocsr() @ m.T).tocsr()
    shared = np.asarray(people[a, b], dtype=float).ravel() if len(a) else np.array([])
    return total, a, b, shared
