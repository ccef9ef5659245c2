"""Geometry shared by the point layers: how far apart points are, and the coverage they imply
(no boundary file is at hand for a point layer; the hull is documented as approximate)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


def point_array(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Shapely points at (``x``, ``y``) as a 1-d object array.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates, one per point.

    Returns
    -------
    numpy.ndarray
        The points (``shapely.points`` types its result as possibly one lone point).
    """
    return np.asarray(shapely.points(x, y), dtype=object)


def half_spacing(geoms: np.ndarray) -> np.ndarray:
    """Half the distance from each point to its nearest other point (0 for a lone point)."""
    if len(geoms) < 2:
        return np.zeros(len(geoms))
    tree = shapely.STRtree(geoms)
    (i, _j), d = tree.query_nearest(geoms, exclusive=True, return_distance=True, all_matches=False)
    out = np.zeros(len(geoms))
    out[i] = d / 2.0
    return out


def point_coverage(geoms: np.ndarray, spacing: np.ndarray) -> BaseGeometry:
    """Concave hull of the points widened by their typical spacing (2 x median half-spacing).

    Parameters
    ----------
    geoms : numpy.ndarray
        The points, in a metric CRS.
    spacing : numpy.ndarray
        Each point's half-spacing (:func:`half_spacing`).

    Returns
    -------
    shapely.Geometry
        The coverage polygon, widened by at least 1 m.
    """
    widen = float(np.median(spacing)) * 2.0 if len(spacing) else 0.0
    hull = shapely.concave_hull(shapely.multipoints(geoms), ratio=0.1)
    assert isinstance(hull, BaseGeometry)  # one geometry in, one out
    return hull.buffer(max(widen, 1.0), quad_segs=8)
