"""The map as a PNG (matplotlib, Agg backend, no network), for slides and print.

One panel per distinct platform footprint (best first, at most ``MAX_PANELS``), each framed on
the footprint and the catchment: the wasted area filled by population density (the same classes
and colours as the interactive map), the footprint's outline coloured by its verdict, the
catchment, the venue, the layer's zones as context where they can be seen, and a scale bar.
The shapes are those of :func:`geotarget.render.picture.picture`, drawn in the layer's
equal-area CRS.
"""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .picture import FootprintShape, Picture, _drop_small, picture
from .style import (
    CATCHMENT_COLOUR,
    DENSITY_COLOURS,
    NO_DATA_COLOUR,
    VENUE_COLOUR,
    VERDICT_COLOURS,
    VERDICT_WORDS,
    ZONE_COLOUR,
    basis_words,
    density_labels,
    fmt_share,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    from ..result import Result

MAX_PANELS = 6


def _path(geom: BaseGeometry) -> MPath | None:
    """A matplotlib Path of a (multi)polygon, holes included."""
    from matplotlib.path import Path as MPath

    verts, codes = [], []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 4:
                continue
            verts.append(xy)
            c = np.full(len(xy), MPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MPath.MOVETO, MPath.CLOSEPOLY
            codes.append(c)
    if not verts:
        return None
    return MPath(np.concatenate(verts), np.concatenate(codes))


def _patch(geom: BaseGeometry, **kw: Any) -> PathPatch | None:
    from matplotlib.patches import PathPatch

    p = _path(geom)
    return None if p is None else PathPatch(p, **kw)


def _polygons(geom: BaseGeometry) -> shapely.MultiPolygon:
    """Polygon parts of any geometry (a cut can leave lines or points beside polygons)."""
    return shapely.MultiPolygon(
        [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    )


def _nice_length(x: float) -> float:
    e = 10 ** math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * e <= x:
            return m * e
    return e


def _scale_bar(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    width = x1 - x0
    length = _nice_length(width / 4)
    bx, by = x0 + width * 0.04, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + length], [by, by], color="#222", lw=3, solid_capstyle="butt", zorder=20)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(
        bx + length / 2,
        by + (y1 - y0) * 0.015,
        label,
        ha="center",
        va="bottom",
        fontsize=8,
        color="#222",
        zorder=20,
    )


def _panel(ax: Axes, pic: Picture, fp: FootprintShape | SimpleNamespace, radius: float) -> None:
    from matplotlib.collections import LineCollection, PatchCollection

    b = np.array([fp.geometry.bounds, pic.catchment.bounds])
    x0, y0 = b[:, 0].min(), b[:, 1].min()
    x1, y1 = b[:, 2].max(), b[:, 3].max()
    pad = max(x1 - x0, y1 - y0) * 0.06
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    # square-ish frame
    w, h = x1 - x0, y1 - y0
    if w > h:
        y0, y1 = y0 - (w - h) / 2, y1 + (w - h) / 2
    else:
        x0, x1 = x0 - (h - w) / 2, x1 + (h - w) / 2
    small = (x1 - x0) <= 12 * radius
    tol = (x1 - x0) / 1500  # about a pixel at the default size

    def simple(g: BaseGeometry) -> BaseGeometry:
        return _drop_small(shapely.simplify(g, tol, preserve_topology=True), (2 * tol) ** 2)

    if small and len(pic.context) and pic.context_kind in ("zones", "grid"):
        lines = []
        for b in shapely.get_parts(shapely.simplify(shapely.boundary(pic.context), tol)):
            for part in shapely.get_parts(b):
                lines.append(np.asarray(part.coords)[:, :2])
        ax.add_collection(
            LineCollection(lines, colors=ZONE_COLOUR, linewidths=0.4, alpha=0.5, zorder=1)
        )
    elif small and len(pic.context):
        xy = shapely.get_coordinates(pic.context)
        ax.scatter(xy[:, 0], xy[:, 1], s=1, color=ZONE_COLOUR, alpha=0.5, zorder=1)
    if len(fp.cells.geoms):
        klass = pic.classify(fp.cells.density)
        patches, colours = [], []
        for g, k in zip(shapely.simplify(fp.cells.geoms, tol, preserve_topology=True), klass):
            p = _patch(_polygons(g))
            if p is not None:
                patches.append(p)
                colours.append(DENSITY_COLOURS[int(k)])
        ax.add_collection(
            PatchCollection(patches, facecolors=colours, edgecolors="none", alpha=0.75, zorder=2)
        )
    if not fp.no_data.is_empty:
        p = _patch(
            _polygons(simple(fp.no_data)),
            facecolor=NO_DATA_COLOUR,
            edgecolor="none",
            alpha=0.5,
            zorder=2,
        )
        if p is not None:
            ax.add_patch(p)
    verdict = fp.rows[0].get("verdict", "")
    outline = simple(fp.geometry)
    busy = shapely.get_num_coordinates(outline) > 3000  # a coastline: thinner, solid
    p = _patch(
        _polygons(outline),
        facecolor="none",
        edgecolor=VERDICT_COLOURS.get(verdict, "#777"),
        lw=0.9 if busy else 1.6,
        ls="-" if busy else (0, (5, 3)),
        zorder=4,
    )
    if p is not None:
        ax.add_patch(p)
    fill = _patch(pic.catchment, facecolor=CATCHMENT_COLOUR, alpha=0.10, edgecolor="none", zorder=5)
    edge = _patch(pic.catchment, facecolor="none", edgecolor=CATCHMENT_COLOUR, lw=1.8, zorder=6)
    assert fill is not None and edge is not None  # the catchment is a polygon
    ax.add_patch(fill)
    ax.add_patch(edge)
    vx, vy = pic.venue_xy
    ax.scatter([vx], [vy], s=22, color=VENUE_COLOUR, edgecolors="white", linewidths=1, zorder=8)
    if not small:  # the catchment is a dot at this scale: ring it
        ax.scatter(
            [vx],
            [vy],
            s=260,
            facecolors="none",
            edgecolors=CATCHMENT_COLOUR,
            linewidths=1.5,
            zorder=7,
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_edgecolor("#bbbbbb")
    _scale_bar(ax, x0, y0, x1, y1)
    names = ", ".join(r.get("name", r["id"]) for r in fp.rows)
    row = fp.rows[0]
    waste = fmt_share(row.get("waste_share"), bool(row.get("waste_lower_bound")))
    title = (
        textwrap.shorten(names, 95, placeholder=" …")
        + "\n"
        + textwrap.shorten(fp.label, 60, placeholder=" …")
        + f": {waste} wasted ({VERDICT_WORDS.get(verdict, verdict)})"
    )
    ax.set_title("\n".join(textwrap.fill(t, 52) for t in title.split("\n")), fontsize=9, loc="left")


def render_png(
    result: Result, *, pic: Picture | None = None, dpi: int = 110, panel_inches: float = 4.6
) -> bytes:
    """The PNG bytes of the static map: one panel per distinct footprint, best first.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse`, with its geometry.
    pic : Picture, optional
        The shapes, already computed by :func:`geotarget.render.picture.picture`.
    dpi : int, default 110
        Pixels per inch.
    panel_inches : float, default 4.6
        The side of a panel.

    Returns
    -------
    bytes
        The PNG file.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    pic = pic or picture(result)
    fps = pic.footprints[:MAX_PANELS]
    n = max(1, len(fps))
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(
        figsize=(panel_inches * ncols, panel_inches * nrows + 1.5), dpi=dpi, layout="constrained"
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    radius = pic.catchment_radius_m
    if not fps:  # no platform evaluated: the catchment alone
        empty = SimpleNamespace(
            geometry=pic.catchment,
            rows=[{"id": "", "verdict": ""}],
            cells=SimpleNamespace(geoms=[]),
            no_data=shapely.Polygon(),
            label="catchment",
        )
        _panel(axes[0], pic, empty, radius)
        axes[0].set_title("Catchment (no platform evaluated)", fontsize=9, loc="left")
    for ax, fp in zip(axes, fps):
        _panel(ax, pic, fp, radius)
    for ax in axes[len(fps) or 1 :]:
        ax.set_axis_off()
    v, c = result.venue, result.catchment
    head = f"{v.get('label') or ''} — {c.get('description', '')}"
    if result.residents is not None:
        r = result.residents
        head += f"; about {r.estimate:,.0f} residents (range {r.low:,.0f}–{r.high:,.0f})"
    if result.workers is not None:
        w = result.workers
        head += f", {w.estimate:,.0f} workers travelling in"
    fig.suptitle(textwrap.fill(head, 40 * ncols), fontsize=11, x=0.01, ha="left")
    handles = [
        Line2D([], [], marker="o", ls="", color=VENUE_COLOUR, label="venue"),
        Patch(
            facecolor=CATCHMENT_COLOUR,
            alpha=0.3,
            edgecolor=CATCHMENT_COLOUR,
            label="your catchment",
        ),
    ]
    verdicts = [k for k in VERDICT_COLOURS if any(r["verdict"] == k for f in fps for r in f.rows)]
    handles += [
        Line2D(
            [],
            [],
            color=VERDICT_COLOURS[k],
            ls=(0, (5, 3)),
            label=f"footprint ({VERDICT_WORDS[k]})",
        )
        for k in verdicts
    ]
    bases = {f.basis for f in fps}
    who = basis_words(bases.pop()) if len(bases) == 1 else "people counted"
    handles += (
        [
            Patch(facecolor=col, alpha=0.75, label=lab)
            for col, lab in zip(DENSITY_COLOURS, density_labels(pic.breaks))
        ]
        if fps
        else []
    )
    if any(not f.no_data.is_empty for f in fps):
        handles.append(Patch(facecolor=NO_DATA_COLOUR, alpha=0.5, label="no data"))
    extra = ""
    if len(pic.footprints) > MAX_PANELS:
        extra = f" ({len(pic.footprints) - MAX_PANELS} more footprints in the HTML map)"
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 6),
        fontsize=8,
        frameon=False,
        title=(f"Wasted area = footprint outside your catchment, shaded by {who} per km²" + extra)
        if fps
        else None,
        title_fontsize=8,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def save_png(
    result: Result,
    path: str | Path,
    *,
    overwrite: bool = False,
    pic: Picture | None = None,
    dpi: int = 110,
) -> Path:
    """Write the static map as a PNG, atomically.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse`, with its geometry.
    path : str or pathlib.Path
        Where to write.
    overwrite : bool, default False
        Replace an existing file (otherwise :class:`~geotarget.errors.OutputError`).
    pic : Picture, optional
        The shapes, already computed by :func:`geotarget.render.picture.picture`.
    dpi : int, default 110
        Pixels per inch.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from ..files import write_output

    return write_output(path, render_png(result, pic=pic, dpi=dpi), overwrite=overwrite)
