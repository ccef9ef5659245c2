"""Which population layer: a built-in name, a data folder or a file (:func:`load_layer`), the
built-in layer that covers a venue (:func:`choose_layer`), and the one rule every entry point
uses to turn the user's ``layer`` / ``data_dir`` / ``counts`` into a layer (:func:`resolve_layer`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, InputError, NoCoverageError
from ..projections import transformer
from . import builtin, ew_builtin, scotland_census
from .base import PopulationLayer


def builtin_names() -> list[str]:
    """The names of the layers shipped inside the package (and the Great Britain layer made of
    two of them).

    Returns
    -------
    list of str
        The names, sorted.
    """
    return sorted([*builtin.BUILTIN, builtin.GB])


#: the hold-out counts of each country: ``--counts lsoa`` in England & Wales is ``dz`` in
#: Scotland (zone totals only, spread over postcodes)
_HOLDOUT = {ew_builtin.NAME: "lsoa", scotland_census.NAME: "dz"}


def _check_counts(name: str, counts: str | None) -> None:
    """``counts`` must be one the layer ``name`` has."""
    if counts is None or counts == "oa":
        return
    if name == builtin.GB:
        if counts not in ("lsoa", "dz"):
            raise InputError(f"counts {counts!r} is unknown: choose one of oa, lsoa, dz")
        return
    want = _HOLDOUT.get(name)
    if want is None:
        raise InputError(f"--counts applies to the built-in census layers, not to {name}")
    if counts != want:
        other = "England & Wales" if want == "lsoa" else "Scotland"
        raise InputError(
            f"--counts {counts} does not apply to {name}: in {other} the zone totals are "
            f"--counts {want} (or oa)"
        )


@lru_cache(maxsize=8)
def _load_path(
    path: str,
    counts: str | None,
    residents_col: str | None,
    workers_col: str | None,
    _stamp: tuple[int, ...] = (),
) -> PopulationLayer:
    """The layer at ``path`` (resolved), read once per process and file version (``_stamp``)."""
    from . import eurostat_grid, ew_census2021, raster, us_blocks2020, userfile

    p = Path(path)
    suffix = p.suffix.lower()
    ew_only = counts is not None
    if p.is_dir():
        if (p / "boundaries").is_dir() and (p / "residents").is_dir():
            return ew_census2021.load(p, counts=counts or "oa")
        if ew_only:
            raise InputError(
                f"--counts applies to England & Wales data folders; {path!r} is not one"
            )
        if list(p.glob("*blocks*population*.csv")):
            return us_blocks2020.load_us_blocks(p)
        if list(p.glob("tile_*.parquet")):
            return eurostat_grid.load_eurostat(p)
        raise DataError(
            f"{path!r} is not a recognised data folder: expected the England & Wales "
            "layout (boundaries/, residents/, workers/), a US block table "
            "(*blocks*population*.csv) or Eurostat grid tiles (tile_*.parquet); "
            "see README 'Data'"
        )
    if ew_only:
        raise InputError("--counts applies to England & Wales data folders only")
    if residents_col is None and workers_col is None:
        if suffix == ".csv" and "blocks" in p.name:
            return us_blocks2020.load_us_blocks(p)
        if suffix == ".parquet" and p.name.startswith("tile_"):
            return eurostat_grid.load_eurostat(p)
    if suffix in (".tif", ".tiff"):
        return raster.load_raster(p)
    return userfile.load_user_file(p, residents_col=residents_col, workers_col=workers_col)


@lru_cache(maxsize=4)
def load_builtin(name: str, counts: str | None = None) -> PopulationLayer:
    """The built-in layer ``name``, read once per process by its source's module.

    ``counts`` (``"oa"``/``"lsoa"``) applies to the England & Wales layer only.
    """
    if name not in builtin_names():
        raise DataError(f"no built-in layer {name!r}: choose one of {builtin_names()}")
    _check_counts(name, counts)
    if name == builtin.GB:
        from . import gb_builtin

        hold = counts not in (None, "oa")
        return gb_builtin.combine(
            load_builtin(ew_builtin.NAME, "lsoa" if hold else None),
            load_builtin(scotland_census.NAME, "dz" if hold else None),
        )
    if name == ew_builtin.NAME:
        return ew_builtin.load_builtin(counts)
    return scotland_census.load_builtin(counts)


def load_layer(
    name_or_path: str | Path,
    *,
    counts: str | None = None,
    residents_col: str | None = None,
    workers_col: str | None = None,
) -> PopulationLayer:
    """A population layer: a built-in name, a data folder or a file.

    * built-in: ``"ew-census2021"`` (``counts`` = ``"oa"`` or ``"lsoa"``),
      ``"scotland-census2022"`` (``"oa"`` or ``"dz"``), ``"gb-census"`` (both as one layer;
      ``"lsoa"``/``"dz"``: both countries' hold-outs);
    * a folder: England & Wales census layout (``counts`` = ``"oa"`` or ``"lsoa"``), a US block
      table, or Eurostat grid tiles;
    * a file: a US block CSV, a Eurostat tile, a population GeoTIFF, or any GeoPackage /
      GeoParquet / GeoJSON / Shapefile / CSV with a count column (``residents_col``,
      ``workers_col``).

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A built-in layer's name (:func:`builtin_names`), a data folder or a file.
    counts : str, optional
        Which counts of a census layer: ``"oa"`` or ``"lsoa"`` (England & Wales), ``"oa"`` or
        ``"dz"`` (Scotland).
    residents_col, workers_col : str, optional
        For a file: the columns holding the residents and the workers.

    Returns
    -------
    PopulationLayer
        The layer.

    Raises
    ------
    InputError
        When the column names are given for a built-in layer.
    DataError
        When ``name_or_path`` is neither a built-in layer nor an existing folder or file.
    """
    key = str(name_or_path)
    if key in builtin_names():
        if residents_col is not None or workers_col is not None:
            raise InputError(
                f"--residents-col / --workers-col apply to files, not to the built-in layer {key}"
            )
        return load_builtin(key, counts)
    p = Path(key).expanduser()
    if p.exists():
        # the in-memory cache is keyed on the path and, for a file, its size and time: a changed
        # file is read again
        st = p.stat()
        stamp = () if p.is_dir() else (st.st_size, st.st_mtime_ns)
        return _load_path(str(p.resolve()), counts, residents_col, workers_col, stamp)
    raise DataError(
        f"{key!r} is neither a built-in layer ({', '.join(builtin_names())}) nor an "
        "existing folder or file: give --data-dir PATH or --layer FILE (see README)"
    )


@lru_cache(maxsize=4)
def _pieces_tree(name: str) -> tuple[str, np.ndarray, Any] | None:
    """The coverage pieces of the built-in layer ``name`` and their STRtree (``None``: the layer
    has no pieces), made once per process."""
    import shapely

    crs, _, pieces = builtin.coverage(name)
    if pieces is None:
        return None
    return crs, pieces, shapely.STRtree(pieces)


def _reaches_other(name: str, catchment: Any) -> bool:
    """Whether ``catchment`` reaches into the coverage of a built-in layer other than ``name``."""
    import shapely

    for other in builtin.BUILTIN:
        if other == name:
            continue
        crs, box = builtin.coverage_box(other)
        g = catchment.to_crs(crs)
        if not builtin.box_meets(box, g.bounds):  # far from it: its polygons are not read
            continue
        found = _pieces_tree(other)
        if found is None:
            continue
        crs, pieces, tree = found
        cand = tree.query(g, predicate="intersects")
        if len(cand) and any(shapely.area(shapely.intersection(pieces[i], g)) > 0 for i in cand):
            return True
    return False


def reaches_other_many(
    name: str, lat: np.ndarray, lon: np.ndarray, radius_m: np.ndarray
) -> np.ndarray:
    """Which circles around venues of the built-in layer ``name`` reach into another built-in
    layer's coverage (across the England-Scotland border): the decision :func:`choose_layer`
    makes for each circle.

    A circle whose square of half-side 1.05 r + 50 m (a margin for the projection's scale)
    meets no coverage piece of the other layers is decided at once (no); only the others are
    tested, one by one, on the same circle as the one-venue path (:func:`~geotarget.catchment.
    circle`), so each venue's answer is the one ``analyse`` gets.

    Parameters
    ----------
    name : str
        The built-in layer whose coverage contains the venues.
    lat, lon : numpy.ndarray
        The venues, WGS84 degrees.
    radius_m : numpy.ndarray
        The circles' radii, metres.

    Returns
    -------
    numpy.ndarray
        One bool per venue.
    """
    import shapely

    from ..catchment import WIDE_M, circle
    from ..venue import Venue

    lat, lon, r = (np.asarray(a, dtype=float) for a in (lat, lon, radius_m))
    maybe = r > WIDE_M  # a cap round the globe: always tested
    half = r * 1.05 + 50.0
    for other in builtin.BUILTIN:
        if other == name or not len(lat):
            continue
        crs, box = builtin.coverage_box(other)
        x, y = (np.asarray(a) for a in transformer("EPSG:4326", crs).transform(lon, lat))
        if not np.any(builtin.box_meets(box, (x - half, y - half, x + half, y + half))):
            continue  # no circle near it: its polygons are not read
        found = _pieces_tree(other)
        if found is None:
            continue
        tree = found[2]
        boxes = shapely.box(x - half, y - half, x + half, y + half)
        maybe[np.unique(tree.query(boxes)[0])] = True
    out = np.zeros(len(lat), bool)
    for i in np.flatnonzero(maybe):
        catch = circle(Venue(float(lat[i]), float(lon[i])), float(r[i]), max_radius=None)
        out[i] = _reaches_other(name, catch)
    return out


def _covers(name: str, lon: float, lat: float) -> bool:
    """Whether the coverage of the built-in layer ``name`` covers the WGS84 position (``lon``,
    ``lat``); its polygon is read only when the position is inside its bounding box."""
    import shapely

    crs, box = builtin.coverage_box(name)
    x, y = transformer("EPSG:4326", crs).transform(lon, lat)
    return builtin.box_holds(box, x, y) and bool(
        builtin.coverage(name)[1].covers(shapely.Point(x, y))
    )


def builtin_name_at(lat: float, lon: float) -> str:
    """The name of the built-in layer whose coverage contains (lat, lon).

    Parameters
    ----------
    lat, lon : float
        The venue.

    Returns
    -------
    str

    Raises
    ------
    NoCoverageError
        No built-in layer covers the venue (saying so when latitude and longitude look
        swapped).
    """
    name = next((n for n in builtin.BUILTIN if _covers(n, lon, lat)), None)
    if name is not None:
        return name
    swapped = ""
    if -90 <= lon <= 90:
        for other in builtin.BUILTIN:
            if _covers(other, lat, lon):
                swapped = f" (latitude and longitude look swapped: {lon},{lat} is inside {other})"
    raise NoCoverageError(
        f"no built-in population layer covers the venue at {lat},{lon}{swapped}: the built-in "
        f"data is {', '.join(builtin_names())} (England, Wales, Scotland); elsewhere pass "
        "--data-dir or --layer (see README, 'Data')"
    )


def choose_layer(
    lat: float, lon: float, counts: str | None = None, *, catchment: Any = None
) -> PopulationLayer:
    """The built-in layer whose coverage contains (lat, lon).

    Parameters
    ----------
    lat, lon : float
        The venue.
    counts : str or None
        ``"oa"`` (default), or the country's hold-out: ``"lsoa"`` in England & Wales, ``"dz"``
        in Scotland (the other is an :class:`InputError`).
    catchment : geotarget.catchment.Catchment, optional
        The catchment: when it reaches across the England-Scotland border, the Great Britain
        layer (``gb-census``, both countries, each with its own vintage) is chosen.

    Returns
    -------
    PopulationLayer
    """
    name = builtin_name_at(lat, lon)
    if catchment is not None and _reaches_other(name, catchment):
        return load_builtin(builtin.GB, counts)
    return load_builtin(name, counts)


def resolve_layer(
    layer: str | Path | PopulationLayer | None = None,
    data_dir: str | Path | None = None,
    *,
    counts: str | None = None,
    residents_col: str | None = None,
    workers_col: str | None = None,
) -> PopulationLayer | None:
    """The layer the user fixed, or ``None`` when the built-in layer is chosen per venue.

    ``layer`` wins over ``data_dir``; with neither, the caller picks the built-in layer of each
    venue (:func:`choose_layer`, given ``counts`` -- ``"oa"``/``"lsoa"`` -- for the England &
    Wales layer).  The column names apply to files only.

    Parameters
    ----------
    layer : str or pathlib.Path or PopulationLayer, optional
        A layer, or what :func:`load_layer` loads one from.
    data_dir : str or pathlib.Path, optional
        A data folder (used when ``layer`` is not given).
    counts : str, optional
        Which counts of a census layer (see :func:`load_layer`).
    residents_col, workers_col : str, optional
        For a file: the columns holding the residents and the workers.

    Returns
    -------
    PopulationLayer or None
        The layer; None when neither ``layer`` nor ``data_dir`` is given.
    """
    if isinstance(layer, PopulationLayer):
        return layer
    if layer is not None or data_dir is not None:
        return load_layer(
            layer if layer is not None else data_dir,  # type: ignore[arg-type]
            counts=counts,
            residents_col=residents_col,
            workers_col=workers_col,
        )
    return None
