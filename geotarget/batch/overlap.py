"""Chains of venues: the people reachable by at least one branch, and the people each pair of
overlapping branches shares."""

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
    gdf, *, data_dir=None, layer=None, method: str | None = None, population: str = "residents"
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

    Returns
    -------
    union_total : float
        The people in the union of the catchments.
    pairs : pandas.DataFrame
        ``id_a, id_b, shared``: each pair of intersecting catchments and the people in their
        intersection, most shared first.

    Raises
    ------
    InputError
        When the venues are on several built-in layers (or none) and no layer is given, or the
        layer has no counts of ``population``.
    """
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
    r = g["radius_m"].to_numpy(float)
    polys = circles_in(lat, lon, r, lay.crs)
    s = lay.surface(population, method)
    if s is None:
        raise InputError(f"layer {lay.name} has no {population} counts: no overlap to measure")
    union = shapely.union_all(polys)
    total = float(est.count(s, np.array([union], dtype=object)).estimate[0])
    tree = shapely.STRtree(polys)
    a, b = tree.query(polys, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    inter = shapely.intersection(polys[a], polys[b])
    shared = est.count(s, inter).estimate if len(inter) else np.array([])
    ids = g[ID_COLUMN].to_numpy()
    pairs = pd.DataFrame({"id_a": ids[a], "id_b": ids[b], "shared": shared})
    return total, pairs.sort_values("shared", ascending=False, ignore_index=True)
