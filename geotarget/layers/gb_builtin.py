"""The built-in Great Britain layer (``gb-census``): England & Wales Census 2021 and Scotland's
Census 2022 as one layer, so that a catchment crossing the England-Scotland border counts the
people on both sides.

It is made in memory from the two countries' layers (:mod:`.ew_builtin`,
:mod:`.scotland_census`): their resident points side by side (each point keeps its own census's
count), England & Wales's workers (Scotland has none: the part says why), the two coverages
(England & Wales's simplified outline cut back where Scotland's finer one begins), both
countries' places.  Each country is a :class:`~.base.LayerPart` with its own vintage, source and
caveats; :func:`geotarget.analysis.analyse` shows those of the parts a catchment reaches.
:func:`.registry.choose_layer` picks this layer when a catchment reaches across the border.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from . import builtin
from .base import CountSurface, LayerPart, PlaceSet, PointXY, PopulationLayer

NAME = builtin.GB
#: the counts that say which residents have ages (Scotland's points only)
AGE_BASE = "age_base"


class _JoinedIds:
    """The ids of two surfaces end to end, loaded on first use (picklable, unlike a lambda)."""

    def __init__(self, a: CountSurface, b: CountSurface) -> None:
        self.a, self.b = a, b

    def __call__(self) -> np.ndarray:
        return np.concatenate([np.asarray(self.a.ids, dtype=object), self.b.ids.astype(object)])


def _join_points(a: CountSurface, b: CountSurface, unit: str) -> CountSurface:
    """Two dasymetric point surfaces as one (groups renumbered; a count beside the residents
    that one side lacks is 0 there, and ``age_base`` says whose ages are known)."""
    assert a.group is not None and b.group is not None
    assert a.group_k is not None and b.group_k is not None
    keys = list(dict.fromkeys([*a.extra, *b.extra]))
    extra = {
        k: np.concatenate(
            [a.extra.get(k, np.zeros(len(a.values))), b.extra.get(k, np.zeros(len(b.values)))]
        )
        for k in keys
    }
    if any(k.startswith("aged_") for k in keys):
        has_a = any(k.startswith("aged_") for k in a.extra)
        has_b = any(k.startswith("aged_") for k in b.extra)
        extra[AGE_BASE] = np.concatenate(
            [
                a.values if has_a else np.zeros(len(a.values)),
                b.values if has_b else np.zeros(len(b.values)),
            ]
        )
    xy = np.vstack([a.xy, b.xy])
    n = len(xy)
    out = CountSurface(
        kind="points",
        unit=unit,
        ids=np.zeros(n, dtype=np.int8),  # placeholders: the real ids are loaded on first use
        geoms=PointXY(xy[:, 0], xy[:, 1]),
        values=np.concatenate([a.values, b.values]),
        definition=f"{a.definition} (England & Wales); {b.definition} (Scotland)",
        extra=extra,
        method="dasymetric",
        group=np.concatenate([a.group, b.group + len(a.group_k)]),
        group_k=np.concatenate([a.group_k, b.group_k]),
        group_unit=unit,
        description=f"England & Wales: {a.description}; Scotland: {b.description}",
        range_note=f"England & Wales: {a.range_note}; Scotland: {b.range_note}",
    )
    out.defer_ids(_JoinedIds(a, b))
    return out


def _coverage(ew: PopulationLayer, sc: PopulationLayer) -> tuple[Any, np.ndarray, np.ndarray]:
    """The joint coverage, its pieces, and England & Wales's pieces (cut back where Scotland's
    finer coverage begins, so that no area is counted twice)."""
    ew_parts = np.asarray(ew._coverage_parts[0], dtype=object)
    sc_parts = np.asarray(sc._coverage_parts[0], dtype=object)
    tree = shapely.STRtree(sc_parts)
    ei, si = tree.query(ew_parts, predicate="intersects")
    cut = ew_parts.copy()
    for e in np.unique(ei):
        cut[e] = shapely.difference(ew_parts[e], shapely.union_all(sc_parts[si[ei == e]]))
    cut = cut[~shapely.is_empty(cut)]
    pieces = np.concatenate([cut, sc_parts])
    coverage = shapely.MultiPolygon(
        [p for g in pieces for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    )
    return coverage, pieces, cut


def _places(a: PlaceSet, b: PlaceSet) -> PlaceSet:
    """Both countries' places side by side (their levels are the same: county, city, region)."""
    levels = [lv for lv in a.levels if lv in b.levels]
    out = PlaceSet(
        geoms=np.concatenate([a.geoms, b.geoms]),
        codes={lv: np.concatenate([a.codes[lv], b.codes[lv]]) for lv in levels},
        names={lv: np.concatenate([a.names[lv], b.names[lv]]) for lv in levels},
        note={
            lv: f"England & Wales: {a.note.get(lv, '')}; Scotland: {b.note.get(lv, '')}"
            for lv in levels
        },
        groups_nest=a.groups_nest and b.groups_nest,
    )
    out.polygons.update(a.polygons)
    out.polygons.update(b.polygons)
    return out


def _part(
    lay: PopulationLayer, pieces: np.ndarray | None, extra: tuple[str, ...], label: str
) -> LayerPart:
    """One country of the layer."""
    return LayerPart(
        label=label,
        name=lay.name,
        title=lay.title,
        source=lay.source,
        vintage=lay.vintage,
        attribution=list(lay.attribution),
        caveats=list(lay.caveats),
        workers_caveats=list(lay.workers_caveats),
        residents_unavailable=lay.residents_unavailable,
        workers_unavailable=lay.workers_unavailable if lay.workers is None else None,
        residents_extra=extra,
        pieces=pieces,
    )


def combine(ew: PopulationLayer, sc: PopulationLayer) -> PopulationLayer:
    """England & Wales and Scotland as one Great Britain layer.

    Parameters
    ----------
    ew, sc : PopulationLayer
        The built-in England & Wales and Scotland layers (same CRS, dasymetric residents).

    Returns
    -------
    PopulationLayer
        Named ``gb-census``, with one :class:`~.base.LayerPart` per country.
    """
    assert ew.crs == sc.crs and ew.residents is not None and sc.residents is not None
    coverage, pieces, _ = _coverage(ew, sc)
    unit = f"{ew.residents.group_unit} / {sc.residents.group_unit}"
    attribution = list(dict.fromkeys([*ew.attribution, *sc.attribution]))
    sc_extra = tuple(k for k in sc.residents.extra if k not in ew.residents.extra)
    assert ew.places is not None and sc.places is not None
    return PopulationLayer(
        name=NAME,
        title="Great Britain: England & Wales Census 2021 and Scotland's Census 2022",
        source=f"England & Wales: {ew.source}; Scotland: {sc.source}",
        licence=ew.licence,
        vintage=f"England & Wales: {ew.vintage}; Scotland: {sc.vintage}",
        crs=ew.crs,
        coverage=coverage,
        coverage_pieces=pieces,
        residents=_join_points(ew.residents, sc.residents, unit),
        workers=ew.workers,
        workers_unavailable=sc.workers_unavailable,
        attribution=attribution,
        caveats=[*ew.caveats, *sc.caveats],
        workers_caveats=list(ew.workers_caveats),
        origin="built-in",
        country="GB",
        places=_places(ew.places, sc.places),
        parts=[
            _part(ew, None, (), "England & Wales"),
            _part(sc, sc.coverage_pieces, sc_extra, "Scotland"),
        ],
    )
