"""Workplace counts from the user's own table (``--workers-table FILE``) in place of the Census
2021 ODWP01 counts of the England & Wales layer.

Census day 2021 fell in a lockdown, so the census workplace counts understate a normal
weekday, above all in central London.  A table of area code -> workers (for example the
Business Register and Employment Survey, BRES, downloaded from Nomis) at MSOA, LSOA or
local-authority level replaces them:

* **what is replaced**: the people who travel in to work in each area the table lists
  (the layer's ``workers``); home-workers stay the census's, placed at the residents;
* **areas the table does not list keep their census counts** (a table of one borough changes
  that borough only), and the layer's caveats say how many areas came from the table;
* **how it is spread**: like the census counts -- over the 2011 Workplace Zone centroids -- in
  proportion to the census counts of the points inside the area (within an MSOA the census
  shares are equal per Workplace Zone, so an MSOA or LSOA total is shared equally by its
  zones; a local authority's total keeps the census's pattern between its MSOAs).  A Workplace
  Zone's LSOA is the LSOA of the nearest Output Area 2021 point in the same MSOA; an LSOA
  with no zone spreads its total over its Output Area 2021 points.  An area whose census count
  is 0 shares the table's total equally among its points.  The sum of the spread counts over
  an area is exactly its table value.

Every row must be used: a code that is not an England & Wales 2021 code of the table's level
(a typing error, a 2011 or 2023 code, a Scottish code), or an area outside the layer (a
``--data-dir`` folder of one region), refuses the file with one line naming it -- silently
dropping rows would lose workers without a word.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import overload

import numpy as np

from ..errors import DataError, InputError
from .base import CountSurface, PointXY, PopulationLayer

#: accepted headers of the area-code column (any case; spaces and underscores alike)
CODE_HEADERS = (
    "code",
    "area_code",
    "geography_code",
    "mnemonic",
    "msoa21cd",
    "lsoa21cd",
    "lad21cd",
    "lad22cd",
)
#: accepted headers of the count column
COUNT_HEADERS = ("workers", "employment", "employees", "obs_value", "value", "count")
#: Nomis API columns that, when they vary, explain repeated codes (one query, several series)
NOMIS_DIMENSIONS = (
    "date_name",
    "industry_name",
    "employment_status_name",
    "measure_name",
    "measures_name",
)
#: the first three characters of a code -> its level
LEVEL_OF_PREFIX = {
    "E02": "msoa",
    "W02": "msoa",
    "E01": "lsoa",
    "W01": "lsoa",
    "E06": "lad",
    "E07": "lad",
    "E08": "lad",
    "E09": "lad",
    "W06": "lad",
}
LEVEL_NAME = {"msoa": "MSOA 2021", "lsoa": "LSOA 2021", "lad": "local authority"}
#: larger files are refused (a whole-country LSOA table is about 1 MB)
MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class WorkersTable:
    """A checked table of workers per area (one level, no repeated code).

    Parameters
    ----------
    path : str
        The file, resolved.
    sha256 : str
        Its checksum.
    level : str
        ``"msoa"``, ``"lsoa"`` or ``"lad"``.
    codes : numpy.ndarray
        The area codes, as written.
    values : numpy.ndarray
        Workers per area (finite, >= 0).
    """

    path: str
    sha256: str
    level: str
    codes: np.ndarray
    values: np.ndarray

    @property
    def name(self) -> str:
        """The file's name (the source named in every output)."""
        return Path(self.path).name

    def info(self) -> dict[str, object]:
        """What the outputs say of the table: file, checksum, level, areas, total."""
        return {
            "file": self.name,
            "path": self.path,
            "sha256": self.sha256,
            "level": self.level,
            "areas": int(len(self.codes)),
            "workers": round(float(self.values.sum()), 1),
        }


def _key(header: str) -> str:
    return header.strip().lower().replace(" ", "_")


def _column(header: list[str], accepted: tuple[str, ...], what: str, name: str) -> int:
    """The index of the one column of ``header`` named as one of ``accepted``."""
    keys = [_key(h) for h in header]
    found = [i for i, k in enumerate(keys) if k in accepted]
    if not found:
        raise DataError(
            f"workers table {name!r} has no {what} column: name it one of "
            f"{', '.join(accepted)} (found {header[:8]})"
        )
    if len(found) > 1:
        cols = [header[i] for i in found]
        raise DataError(f"workers table {name!r} has {len(found)} {what} columns {cols}: keep one")
    return found[0]


def _read_rows(p: Path) -> tuple[list[str], list[list[str]], str]:
    """The header and rows of the CSV file ``p``, and its checksum."""
    name = p.name
    if not p.exists():
        raise DataError(f"workers table {str(p)!r} does not exist: give the path of a CSV file")
    if p.is_dir():
        raise DataError(f"workers table {str(p)!r} is a folder: give a CSV file")
    try:
        size = p.stat().st_size
        data = p.read_bytes() if size <= MAX_BYTES else b""
    except OSError as e:
        raise DataError(f"cannot read workers table {str(p)!r}: {e.strerror or e}") from e
    if size > MAX_BYTES:
        raise DataError(
            f"workers table {name!r} is {size / 1e6:,.0f} MB: a table of area codes and "
            f"counts is at most {MAX_BYTES // 2**20} MiB"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(
            f"workers table {name!r} is not UTF-8 text: save the CSV as UTF-8"
        ) from None
    if "\x00" in text:
        raise DataError(f"workers table {name!r} is not a text CSV file (it holds NUL bytes)")
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    except csv.Error as e:
        raise DataError(f"workers table {name!r} is not a valid CSV file: {e}") from None
    if not rows:
        raise DataError(f"workers table {name!r} is empty: give a header (code,workers) and rows")
    if len(rows) == 1:
        raise DataError(f"workers table {name!r} has a header and no rows")
    return rows[0], rows[1:], hashlib.sha256(data).hexdigest()


def _number(text: str, row: int, name: str) -> float:
    """A count cell as a finite number >= 0."""
    try:
        v = float(text.strip())
    except ValueError:
        raise DataError(
            f"workers table {name!r} row {row}: workers {text!r} is not a number"
        ) from None
    if not math.isfinite(v):
        raise DataError(f"workers table {name!r} row {row}: workers {text!r} is not finite")
    if v < 0:
        raise DataError(f"workers table {name!r} row {row}: workers {text!r} is negative")
    return v


def _repeated(header: list[str], rows: list[list[str]], ci: int, name: str) -> None:
    """Refuse repeated codes, naming the Nomis column that varies if there is one."""
    seen: dict[str, int] = {}
    for r, row in enumerate(rows, start=2):
        code = row[ci].strip()
        if code in seen:
            keys = [_key(h) for h in header]
            vary = [
                header[j]
                for j, k in enumerate(keys)
                if k in NOMIS_DIMENSIONS and rows[seen[code] - 2][j] != row[j]
            ]
            hint = (
                f": the file holds several series ({', '.join(vary)} differ), download one"
                if vary
                else ": give each area once"
            )
            raise DataError(
                f"workers table {name!r}: code {code!r} appears twice (rows {seen[code]} and "
                f"{r}){hint}"
            )
        seen[code] = r


def _level(codes: list[str], name: str) -> str:
    """The one level of ``codes`` (by their prefix)."""
    levels: dict[str, str] = {}
    for c in codes:
        lv = LEVEL_OF_PREFIX.get(c[:3].upper())
        if lv is None:
            where = (
                " (a Scottish or Northern Irish code: the table replaces England & Wales "
                "counts only; keep the E and W codes)"
                if c[:1].upper() in ("S", "N") and len(c) == 9
                else ""
            )
            raise DataError(
                f"workers table {name!r}: code {c!r} is not an England & Wales MSOA, LSOA or "
                f"local-authority code (E02/W02, E01/W01, E06-E09/W06){where}"
            )
        levels.setdefault(lv, c)
    if len(levels) > 1:
        eg = ", ".join(f"{LEVEL_NAME[k]} {v!r}" for k, v in levels.items())
        raise DataError(
            f"workers table {name!r} mixes levels ({eg}): give one level per file "
            "(MSOA, LSOA or local authority)"
        )
    return next(iter(levels))


def read_workers_table(path: str | Path) -> WorkersTable:
    """Read and check a CSV of area code -> workers.

    The header must name a code column (``code``, ``area_code``, ``geography_code``,
    ``mnemonic``, ``msoa21cd``, ``lsoa21cd``, ``lad21cd`` or ``lad22cd``, any case) and a count
    column (``workers``, ``employment``, ``employees``, ``obs_value``, ``value`` or ``count``);
    other columns are ignored, so a Nomis API CSV (``GEOGRAPHY_CODE``, ``OBS_VALUE``) reads as
    it is.  Every code is of one level: MSOA 2021 (E02/W02), LSOA 2021 (E01/W01) or local
    authority (E06-E09/W06), each once; counts are finite numbers >= 0.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8).

    Returns
    -------
    WorkersTable

    Raises
    ------
    DataError
        One line naming the problem: missing or unreadable file, no or ambiguous header,
        a bad count, a repeated code, a code of no accepted level or mixed levels.
    """
    p = Path(path).expanduser()
    header, rows, sha = _read_rows(p)
    name = p.name
    ci = _column(header, CODE_HEADERS, "area-code", name)
    vi = _column(header, COUNT_HEADERS, "workers", name)
    for r, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise DataError(
                f"workers table {name!r} row {r} has {len(row)} fields, the header "
                f"{len(header)}: check for a missing or extra comma"
            )
        if not row[ci].strip():
            raise DataError(f"workers table {name!r} row {r} has no area code")
    values = np.array([_number(row[vi], r, name) for r, row in enumerate(rows, start=2)])
    _repeated(header, rows, ci, name)
    codes = [row[ci].strip() for row in rows]
    level = _level(codes, name)
    return WorkersTable(
        path=str(p.resolve()),
        sha256=sha,
        level=level,
        codes=np.array([c.upper() for c in codes], dtype=object),
        values=values,
    )


@dataclass
class _Geography:
    """England & Wales 2021 codes and lookups from the built-in tables."""

    msoa: np.ndarray  # MSOA codes
    msoa_lad: np.ndarray  # per MSOA, its local authority
    lsoa: np.ndarray  # LSOA codes
    lsoa_msoa: np.ndarray  # per LSOA, index of its MSOA
    oa_lsoa: np.ndarray  # per OA 2021 point, index of its LSOA
    oa_x: np.ndarray  # OA 2021 points in the layer CRS
    oa_y: np.ndarray


@lru_cache(maxsize=1)
def _geography() -> _Geography:
    from . import ew_builtin

    msoa = ew_builtin._table("msoa")
    lsoa = ew_builtin._table("lsoa")
    oa = ew_builtin._table("oa")
    x, y = ew_builtin._to_layer_crs(oa["easting"], oa["northing"])
    return _Geography(
        msoa=msoa["msoa21cd"].to_numpy(dtype=object),
        msoa_lad=msoa["lad"].to_numpy(dtype=object),
        lsoa=lsoa["lsoa21cd"].to_numpy(dtype=object),
        lsoa_msoa=lsoa["msoa"].to_numpy(),
        oa_lsoa=oa["lsoa"].to_numpy(),
        oa_x=x,
        oa_y=y,
    )


def _index(codes: np.ndarray, of: np.ndarray) -> np.ndarray:
    """Per code in ``of``, its position in ``codes`` (-1: absent)."""
    order = np.argsort(codes)
    pos = np.searchsorted(codes[order], of)
    pos = np.clip(pos, 0, len(codes) - 1)
    hit = codes[order][pos] == of
    return np.where(hit, order[pos], -1)


def _point_lsoa(geo: _Geography, msoa_i: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Per point, the LSOA of the nearest OA 2021 point in the same MSOA (one k-d tree: the
    MSOA index shifts x by 10,000 km, further than any two points of England & Wales)."""
    from scipy.spatial import cKDTree

    shift = 1e7
    oa_m = geo.lsoa_msoa[geo.oa_lsoa].astype(float)
    tree = cKDTree(np.column_stack([geo.oa_x + oa_m * shift, geo.oa_y]))
    _, nearest = tree.query(np.column_stack([xy[:, 0] + msoa_i * shift, xy[:, 1]]))
    return np.asarray(geo.oa_lsoa[nearest])


def _unknown(table: WorkersTable, known: np.ndarray, why: str) -> None:
    """Refuse the table's codes missing from ``known``."""
    bad = table.codes[_index(known, table.codes) < 0]
    if len(bad):
        more = f" (and {len(bad) - 1:,} more)" if len(bad) > 1 else ""
        raise DataError(
            f"workers table {table.name!r}: {LEVEL_NAME[table.level]} code {bad[0]!r}{more} {why}"
        )


def _areas(table: WorkersTable, geo: _Geography, msoa_i: np.ndarray, lsoa_i: np.ndarray | None):
    """Per point, the table row of its area (-1: not in the table), after checking that every
    code is known and inside the layer (whose MSOAs are those of ``msoa_i``)."""
    in_layer = np.zeros(len(geo.msoa), bool)
    in_layer[msoa_i[msoa_i >= 0]] = True
    outside = "lies outside the layer's data (its folder's area): give only the layer's areas"
    if table.level == "msoa":
        _unknown(
            table,
            geo.msoa,
            "is not an MSOA of England & Wales 2021 (a 2011 code? download the 2021 geography)",
        )
        _unknown(table, geo.msoa[in_layer], outside)
        row = _index(table.codes, geo.msoa)
        return row[msoa_i]
    if table.level == "lsoa":
        assert lsoa_i is not None
        _unknown(
            table,
            geo.lsoa,
            "is not an LSOA of England & Wales 2021 (a 2011 code? download the 2021 geography)",
        )
        _unknown(table, geo.lsoa[in_layer[geo.lsoa_msoa]], outside)
        return _index(table.codes, geo.lsoa)[lsoa_i]
    lads = np.unique(geo.msoa_lad)
    _unknown(
        table,
        lads,
        "is not a local authority of the Census 2021 tables (2021 codes; a later merger?)",
    )
    partial = np.unique(geo.msoa_lad[~in_layer])
    _unknown(table, np.setdiff1d(lads, partial), outside)
    return _index(table.codes, geo.msoa_lad)[msoa_i]


def _spread(values: np.ndarray, area: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """The table's ``totals`` over the points of each area, in proportion to the census
    ``values`` (equal shares where an area's census total is 0); other points keep theirs."""
    out = values.copy()
    m = area >= 0
    a = area[m]
    w = np.bincount(a, weights=values[m], minlength=len(totals))
    n = np.bincount(a, minlength=len(totals))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(w[a] > 0, values[m] / w[a], 1.0 / n[a])
    out[m] = totals[a] * share
    return out


def _bare_lsoas(
    table: WorkersTable, geo: _Geography, area: np.ndarray, surface: CountSurface
) -> tuple[np.ndarray, ...]:
    """The OA 2021 points of the table's LSOAs that hold no point of ``surface``: positions,
    values, groups, names."""
    has = np.zeros(len(table.codes), bool)
    has[area[area >= 0]] = True
    rows = np.nonzero(~has)[0]
    if not len(rows):
        empty = np.zeros(0)
        return empty, empty, empty, np.zeros(0, np.int64), np.zeros(0, dtype=object)
    li = _index(geo.lsoa, table.codes[rows])
    oa_row = _index(geo.lsoa[li], geo.lsoa[geo.oa_lsoa])  # per OA point: which bare LSOA
    sel = np.nonzero(oa_row >= 0)[0]
    r = oa_row[sel]
    vals = table.values[rows][r] / np.bincount(r, minlength=len(li))[r]
    # the group of each new point: its MSOA's group in the surface (every MSOA of the layer
    # has points there: Workplace Zones, else OA 2021 points or a polygon's lattice)
    assert surface.group is not None
    names = np.asarray(surface.ids).astype(str)
    group_of: dict[str, int] = {}
    for g, nm in zip(surface.group.tolist(), names.tolist()):
        group_of.setdefault(nm[:9], g)
    m_codes = geo.msoa[geo.lsoa_msoa[li[r]]]
    groups = np.array([group_of[c] for c in m_codes], dtype=np.int64)
    return geo.oa_x[sel], geo.oa_y[sel], vals, groups, m_codes


def _replace(surface: CountSurface, table: WorkersTable) -> CountSurface:
    """The workers surface with the table's counts (dasymetric points grouped by MSOA)."""
    geo = _geography()
    ids = np.asarray(surface.ids).astype(str)
    msoa_i = _index(geo.msoa, np.array([s[:9] for s in ids], dtype=object))
    if (msoa_i < 0).any():
        raise DataError(
            f"the layer's worker points carry codes that are not MSOA 2021 codes "
            f"(e.g. {ids[msoa_i < 0][0]!r}): --workers-table applies to England & Wales only"
        )
    xy = np.asarray(surface.xy)
    lsoa_i = _point_lsoa(geo, msoa_i, xy) if table.level == "lsoa" else None
    area = _areas(table, geo, msoa_i, lsoa_i)
    values = _spread(surface.values, area, table.values)
    x, y, group = xy[:, 0], xy[:, 1], surface.group
    group_k = surface.group_k
    assert group is not None and group_k is not None
    if table.level == "lsoa":
        bx, by, bv, bg, bm = _bare_lsoas(table, geo, area, surface)
        x, y = np.concatenate([x, bx]), np.concatenate([y, by])
        values = np.concatenate([values, bv])
        group = np.concatenate([group, bg])
        ids = np.concatenate([ids, np.array([f"{c} (OA 2021 points)" for c in bm], dtype=object)])
    level = LEVEL_NAME[table.level]
    return CountSurface(
        kind="points",
        unit=surface.unit,
        ids=np.asarray(ids, dtype=object),
        geoms=PointXY(x, y),
        values=values,
        definition=f"people who work here: {table.name} ({level} totals) where it lists the "
        f"area, else {surface.definition}",
        extra=dict(surface.extra),
        method=surface.method,
        group=group,
        group_k=group_k,
        group_unit=surface.group_unit,
        description=f"{table.name} {level} totals in place of the census for "
        f"{len(table.codes):,} areas, spread over 2011 Workplace Zone centroids like the census "
        f"counts; {surface.description}",
        range_note=surface.range_note,
    )


def _areal(alt: CountSurface, points: CountSurface) -> CountSurface:
    """An MSOA zone surface whose counts are the MSOA totals of ``points``."""
    names = np.asarray(points.ids).astype(str)
    codes = np.array([s[:9] for s in names], dtype=object)
    zone = _index(np.asarray(alt.ids, dtype=object), codes)
    ok = zone >= 0
    values = np.bincount(zone[ok], weights=points.values[ok], minlength=len(alt.values))
    return dataclasses.replace(
        alt,
        ids=np.asarray(alt.ids),
        geoms=alt.geoms,
        values=values,
        definition=points.definition,
        description=f"{points.description.split(';')[0]}; MSOA areal weighting",
    )


def caveat(table: WorkersTable, surface_total: float) -> str:
    """The caveat that replaces the lockdown one: the file, what it replaced, what it did not."""
    level = LEVEL_NAME[table.level]
    return (
        f"Workers travelling in: {table.name} ({len(table.codes):,} {level} areas, "
        f"{table.values.sum():,.0f} workers, sha256 {table.sha256[:12]}) replaces the Census "
        f"2021 counts in the areas it lists; areas it does not list keep the Census 2021 counts "
        f"(census day fell in a lockdown, so those understate a normal weekday); home-workers "
        f"stay the census's. An employment table (e.g. BRES) counts jobs at workplaces, not "
        f"people: someone with two jobs counts twice. Layer total now {surface_total:,.0f}."
    )


def apply_workers_table(
    layer: PopulationLayer, table: WorkersTable | str | Path
) -> PopulationLayer:
    """A copy of the England & Wales ``layer`` whose workers come from ``table``.

    Parameters
    ----------
    layer : PopulationLayer
        The built-in England & Wales layer or one read from a ``--data-dir`` folder.
    table : WorkersTable, str or Path
        The table, or its CSV file (:func:`read_workers_table`).

    Returns
    -------
    PopulationLayer
        The same residents; workers from the table where it lists the area (see the module
        text), its file named in the layer's source, caveats and ``workers_table``.

    Raises
    ------
    InputError
        When ``layer`` counts no workers, or not on Workplace Zone points.
    DataError
        For a bad table (see :func:`read_workers_table`) or codes the layer does not hold.
    """
    if not isinstance(table, WorkersTable):
        table = read_workers_table(table)
    wrk = layer.workers
    if wrk is None:
        raise InputError(
            f"--workers-table replaces the England & Wales Census 2021 workplace counts; layer "
            f"{layer.name} counts no workers to replace: leave --workers-table out"
        )
    if wrk.group is None or wrk.kind != "points":
        raise InputError(
            f"--workers-table needs the layer's workers on Workplace Zone points; layer "
            f"{layer.name} ({layer.origin}) has none: add the Workplace Zone centroids to the "
            "data folder's workers/"
        )
    new = _replace(wrk, table)
    alternatives = {k: dict(v) for k, v in layer.alternatives.items()}
    areal = alternatives.get("workers", {}).get("areal")
    if areal is not None and areal.kind == "zones":
        alternatives["workers"]["areal"] = _areal(areal, new)
    others = [c for c in layer.workers_caveats if not c.startswith("Census 2021 workplace")]
    return dataclasses.replace(
        layer,
        source=f"{layer.source}; workers travelling in from {table.name} ({LEVEL_NAME[table.level]}"
        " totals) where it lists the area",
        workers=new,
        alternatives=alternatives,
        workers_caveats=[caveat(table, new.total), *others],
        workers_table=table.info(),
    )


@lru_cache(maxsize=4)
def _applied(layer: PopulationLayer, path: str, stamp: tuple[int, int]) -> PopulationLayer:
    return apply_workers_table(layer, read_workers_table(path))


@overload
def with_workers_table(layer: PopulationLayer, path: str | Path | None) -> PopulationLayer: ...
@overload
def with_workers_table(
    layer: PopulationLayer | None, path: str | Path | None
) -> PopulationLayer | None: ...
def with_workers_table(
    layer: PopulationLayer | None, path: str | Path | None
) -> PopulationLayer | None:
    """``layer`` with the workers of the table at ``path`` (``path`` or ``layer`` ``None``:
    ``layer`` itself), made once per process, layer and file version.

    Parameters
    ----------
    layer : PopulationLayer or None
        The layer counted.
    path : str, Path or None
        The ``--workers-table`` file.

    Returns
    -------
    PopulationLayer or None
    """
    if path is None or layer is None:
        return layer
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except OSError:
        return apply_workers_table(layer, p)  # the reader says what is wrong
    return _applied(layer, str(p.resolve()), (st.st_size, st.st_mtime_ns))
