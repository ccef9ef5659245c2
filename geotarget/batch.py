"""Many venues at once: one vectorised query per chunk of venues, layers loaded once.

``analyse_many(df, radius="0.5mi", data_dir=...)`` returns a GeoDataFrame with one row per venue
(the input's columns kept, then the estimates); rows that cannot be analysed (unknown postcode,
bad coordinates, no layer) carry the reason in ``error`` and do not stop the run.  Counting is
the same code as the single-venue path (``geotarget.estimate``), on many catchments at once, so
the two agree to float rounding.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import shapely

from . import estimate as est
from .catchment import circles_in
from .errors import InputError
from .layers import PopulationLayer, choose_layer, load_layer
from .units import DEFAULT_MAX_RADIUS_M, parse_distance

ID_COLUMN = "id"
RESULT_COLUMNS = ["residents", "residents_low", "residents_high", "workers", "workers_low",
                  "workers_high", "home_workers", "coverage", "radius_m", "layer", "method",
                  "error"]


def prepare(df: pd.DataFrame, radius=None, *, max_radius=DEFAULT_MAX_RADIUS_M) -> pd.DataFrame:
    """Validate the venue table: ``id`` plus ``lat``/``lon`` or ``postcode`` (and optionally a
    ``radius`` column).  Returns columns ``_lat``, ``_lon``, ``_radius_m``, ``_error``."""
    from .postcodes import lookup_many

    if len(df) == 0:
        raise InputError("the venue table has no rows: add one venue per row")
    if ID_COLUMN not in df.columns:
        raise InputError(f"the venue table needs an '{ID_COLUMN}' column (found: "
                         f"{', '.join(map(str, df.columns[:10]))})")
    if df[ID_COLUMN].duplicated().any():
        dup = df.loc[df[ID_COLUMN].duplicated(), ID_COLUMN].head(3).tolist()
        raise InputError(f"duplicate ids in the venue table, e.g. {dup}: each venue needs its "
                         "own id")
    has_ll = {"lat", "lon"} <= set(df.columns)
    if not has_ll and "postcode" not in df.columns:
        raise InputError("the venue table needs 'lat' and 'lon' columns or a 'postcode' column")
    n = len(df)
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    err = np.full(n, None, dtype=object)
    if has_ll:
        la = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float)
        lo = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float)
        lat, lon = la.copy(), lo.copy()
    use_pc = np.zeros(n, bool)
    if "postcode" in df.columns:
        pcs = df["postcode"]
        use_pc = pcs.notna().to_numpy() & (pcs.astype(str).str.strip() != "").to_numpy()
        if has_ll:
            use_pc &= ~(np.isfinite(lat) & np.isfinite(lon))
        if use_pc.any():
            found = lookup_many(pcs[use_pc].to_numpy())
            lat[use_pc] = found["lat"].to_numpy()
            lon[use_pc] = found["lon"].to_numpy()
            err[use_pc] = found["error"].to_numpy()
    plausible = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    for i in np.nonzero(~use_pc & ~plausible)[0]:  # only the bad rows, one by one
        if err[i] is not None:
            continue
        a, o = lat[i], lon[i]
        raw = ((str(df["lat"].iloc[i]), str(df["lon"].iloc[i])) if has_ll else (None, None))
        if not (np.isfinite(a) and np.isfinite(o)):
            err[i] = (f"coordinates ({raw[0]}, {raw[1]}) are not numbers: give lat and lon "
                      "in decimal degrees, or a postcode")
        elif not -90 <= a <= 90:
            err[i] = f"latitude {raw[0]} is outside -90..90 (lat and lon swapped?)"
        elif not -180 <= o <= 180:
            err[i] = f"longitude {raw[1]} is outside -180..180"
    if "radius" in df.columns:
        rad = np.full(n, np.nan)
        for i, v in enumerate(df["radius"].to_numpy()):
            if isinstance(v, str) and not v.strip():
                v = None
            if v is None or (isinstance(v, float) and math.isnan(v)):
                if radius is None:
                    err[i] = err[i] or "no radius: fill the radius column or give --radius"
                    continue
                v = radius
            if not isinstance(v, str):  # a bare number in a file: which unit? ask
                v = str(v.item() if hasattr(v, "item") else v)
            try:
                rad[i] = parse_distance(v, max_m=None if max_radius is None else
                                        parse_distance(max_radius, max_m=None))
            except InputError as e:
                err[i] = err[i] or str(e)
    else:
        if radius is None:
            raise InputError("give a radius (--radius 0.5mi) or a 'radius' column")
        r = parse_distance(radius, max_m=None if max_radius is None else
                           parse_distance(max_radius, max_m=None))
        rad = np.full(n, r)
    out = df.copy()
    out["_lat"], out["_lon"], out["_radius_m"], out["_error"] = lat, lon, rad, err
    return out


def count_chunk(layer: PopulationLayer, lat, lon, radius_m, *, method: str | None = None
                ) -> pd.DataFrame:
    """Residents, workers and coverage for many circular catchments on one layer."""
    n = len(lat)
    need_polys = any(s is not None and s.kind != "points"
                     for s in (layer.surface("residents", method),
                               layer.surface("workers", method)))
    circles = est.Circles(lat, lon, radius_m, layer.crs)
    # coverage: a circle well inside one coverage piece is fully covered; polygons (geodesic
    # vertices, the costly part) are built only where needed
    inside = layer.surely_covered(circles.centres, radius_m)
    polys = np.full(n, None, dtype=object)
    build = ~inside if not need_polys else np.ones(n, bool)
    if build.any():
        polys[build] = circles_in(lat[build], lon[build], radius_m[build], layer.crs)
    cov = np.ones(n)
    if (~inside).any():
        cov[~inside] = layer.coverage_fraction(polys[~inside])
    out = {"coverage": cov}
    for pop in ("residents", "workers"):
        s = layer.surface(pop, method)
        if s is None:
            for suf in ("", "_low", "_high"):
                out[pop + suf] = np.full(n, np.nan)
            continue
        c = est.count(s, polys, circles=circles)
        out[pop], out[pop + "_low"], out[pop + "_high"] = c.estimate, c.low, c.high
        for k, v in c.extra.items():
            out[k] = v
    res = pd.DataFrame(out)
    outside = res["coverage"].to_numpy() <= 0
    for pop in ("residents", "workers"):  # nothing is known outside coverage: not zero
        for suf in ("", "_low", "_high"):
            res.loc[outside, pop + suf] = np.nan
    if "home_workers" in res:
        res.loc[outside, "home_workers"] = np.nan
    return res


def _count_job(layer, lat, lon, radius_m, method, _idx):
    return count_chunk(layer, lat, lon, radius_m, method=method)


def analyse_many(venues: pd.DataFrame, radius=None, *, data_dir=None, layer=None,
                 method: str | None = None, counts: str | None = None,
                 max_radius=DEFAULT_MAX_RADIUS_M, chunk_size: int = 5000,
                 done: pd.DataFrame | None = None,
                 on_chunk: Callable[[pd.DataFrame], None] | None = None,
                 progress: Callable[[int], None] | None = None, scheduler: str = "local",
                 dask_address: str | None = None, workers: int | None = None, client=None):
    """Analyse many venues; returns a GeoDataFrame (venue points, WGS84), one row per venue.

    ``venues`` has ``id`` plus ``lat``/``lon`` or ``postcode`` (and optionally ``radius``).
    ``done`` holds rows already computed (from a checkpoint): those ids are not recomputed.
    ``on_chunk`` receives each finished chunk (for checkpointing); ``progress`` the number of
    venues finished.  ``scheduler="dask"`` spreads chunks over a Dask cluster
    (``client``, ``dask_address``, or a LocalCluster with ``workers`` workers), the layer sent
    once per worker.
    """
    import geopandas as gpd

    prep = prepare(venues, radius, max_radius=max_radius)
    if done is not None and len(done):
        todo_mask = ~prep[ID_COLUMN].astype(str).isin(done[ID_COLUMN].astype(str))
    else:
        todo_mask = pd.Series(True, index=prep.index)
    todo = prep[todo_mask]
    results = []
    lay_fixed = None
    if isinstance(layer, PopulationLayer):
        lay_fixed = layer
    elif layer is not None or data_dir is not None:
        lay_fixed = load_layer(layer if layer is not None else data_dir, counts=counts)

    # group rows by layer (built-in layers are chosen per venue)
    ok = todo["_error"].isna().to_numpy()
    layer_of = np.full(len(todo), None, dtype=object)
    errors = np.array([None if pd.isna(e) else str(e) for e in todo["_error"].to_numpy(
        dtype=object)], dtype=object)
    layers: dict[str, PopulationLayer] = {}
    for i in np.nonzero(ok)[0]:
        if lay_fixed is not None:
            layer_of[i] = lay_fixed.name
            layers[lay_fixed.name] = lay_fixed
            continue
        try:
            lay = choose_layer(float(todo["_lat"].iloc[i]), float(todo["_lon"].iloc[i]))
            layers[lay.name] = lay
            layer_of[i] = lay.name
        except Exception as e:  # NoCoverageError: the reason goes to the row
            errors[i] = str(e)
    base = todo.drop(columns=["_lat", "_lon", "_radius_m", "_error"])
    jobs = []
    for name, lay in layers.items():
        idx = np.nonzero(layer_of == name)[0]
        for start in range(0, len(idx), chunk_size):
            jobs.append((lay, idx[start:start + chunk_size]))

    def emit(idx, columns: dict) -> None:
        """Rows ``idx`` of the venue table with ``columns`` added: kept, checkpointed, counted."""
        part = base.iloc[idx].reset_index(drop=True)
        for c, v in columns.items():
            part[c] = v
        part["radius_m"] = todo["_radius_m"].to_numpy()[idx]
        part["_lat"] = todo["_lat"].to_numpy()[idx]
        part["_lon"] = todo["_lon"].to_numpy()[idx]
        results.append(part)
        if on_chunk is not None:
            on_chunk(part)
        if progress is not None:
            progress(len(idx))

    def finish(lay, idx, counted):
        s = lay.surface("residents", method)
        emit(idx, {**{c: counted[c].to_numpy() for c in counted.columns}, "layer": lay.name,
                   "method": s.method if s is not None else "", "error": None})

    lat_a, lon_a, rad_a = (todo[c].to_numpy() for c in ("_lat", "_lon", "_radius_m"))
    if scheduler == "dask" and jobs:
        from .scale import run_dask

        tasks = [(lay, (lat_a[idx], lon_a[idx], rad_a[idx], method, idx)) for lay, idx in jobs]
        for (lay, args), counted in run_dask(tasks, _count_job, client=client,
                                             address=dask_address, workers=workers):
            finish(lay, args[-1], counted)
    else:
        for lay, idx in jobs:
            finish(lay, idx, count_chunk(lay, lat_a[idx], lon_a[idx], rad_a[idx], method=method))

    bad = np.nonzero(np.array([e is not None for e in errors], dtype=bool))[0]
    if len(bad):
        emit(bad, {"error": errors[bad]})
    frames = ([done] if done is not None and len(done) else []) + results
    out = pd.concat(frames, ignore_index=True) if frames else base.iloc[:0].copy()
    for c in RESULT_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan if c not in ("layer", "method", "error") else None
    order = {v: i for i, v in enumerate(venues[ID_COLUMN].astype(str))}
    out = out.iloc[np.argsort(out[ID_COLUMN].astype(str).map(order).to_numpy(), kind="stable")]
    geom = gpd.points_from_xy(out["_lon"], out["_lat"])
    return gpd.GeoDataFrame(out.drop(columns=["_lat", "_lon"]).reset_index(drop=True),
                            geometry=geom, crs="EPSG:4326")


def chain_overlap(gdf, *, data_dir=None, layer=None, method: str | None = None,
                  population: str = "residents"):
    """People reachable by at least one branch (the union of the catchments, counted once),
    and, for each pair of branches whose catchments intersect, the people they share.

    Returns ``(union_total, pairs)`` where ``pairs`` is a DataFrame ``id_a, id_b, shared``.
    """
    if isinstance(layer, PopulationLayer):
        lay = layer
    elif layer is not None or data_dir is not None:
        lay = load_layer(layer if layer is not None else data_dir)
    else:  # the built-in layer the batch chose; one layer only
        names = sorted(set(gdf.loc[gdf["error"].isna(), "layer"].dropna()))
        if len(names) != 1:
            raise InputError(f"overlaps need the venues on one layer; they are on {names or 'none'}"
                             ": give --data-dir or --layer")
        lay = load_layer(names[0])
    ok = gdf["error"].isna().to_numpy()
    g = gdf[ok]
    lat, lon = g.geometry.y.to_numpy(), g.geometry.x.to_numpy()
    r = g["radius_m"].to_numpy(float)
    polys = circles_in(lat, lon, r, lay.crs)
    s = lay.surface(population, method)
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


def read_venues(path: str | Path) -> pd.DataFrame:
    """Read a venue table (CSV, Parquet)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"venue file {str(p)!r} does not exist")
    try:
        if p.suffix.lower() == ".parquet":
            return pd.read_parquet(p)
        # all text first (ids such as 'NA' stay ids), numbers parsed later; index_col=False:
        # a row with extra fields is an error, not a silent shift
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(p, dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserWarning:
        raise InputError(f"venue file {str(p)!r} has rows with more fields than its header: "
                         "check for unquoted commas") from None
    except pd.errors.ParserError as e:
        raise InputError(f"venue file {str(p)!r} is not a regular CSV ({' '.join(str(e).split())}):"
                         " every row needs the header's number of fields") from e
    except UnicodeDecodeError:
        raise InputError(f"venue file {str(p)!r} is not UTF-8 text: save it as UTF-8") from None
    except (ValueError, OSError) as e:
        raise InputError(f"cannot read venue file {str(p)!r}: {' '.join(str(e).split())}") from e
    dup = [c for c in df.columns if re.fullmatch(r".+\.\d+", str(c))
           and re.sub(r"\.\d+$", "", str(c)) in df.columns]
    if dup:
        raise InputError(f"venue file {str(p)!r} has a duplicate column "
                         f"{re.sub(r'.[0-9]+$', '', str(dup[0]))!r}: keep one column of each name")
    return df
