"""Parquet files read into NumPy arrays with pyarrow alone.

``pyarrow.parquet.read_table`` imports pyarrow's dataset layer and ``to_numpy`` imports pandas:
together about half a second that a warm ``geotarget analyse`` would otherwise spend before
counting anything.  These readers use :class:`pyarrow.parquet.ParquetFile` and the columns'
buffers instead, and give the same arrays as ``pandas.read_parquet(path)[column].to_numpy()``:
numbers without nulls in their own dtype, integers or floats with nulls as float64 with NaN,
anything else (text, bytes, booleans with nulls) as an object array with ``None`` for a null.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def column_array(col: Any) -> np.ndarray:
    """One pyarrow column (an ``Array`` or ``ChunkedArray``) as a NumPy array (writable).

    Parameters
    ----------
    col : pyarrow.Array or pyarrow.ChunkedArray
        The column.

    Returns
    -------
    numpy.ndarray
        As ``pandas`` would convert it (see the module's notes).
    """
    import pyarrow as pa

    t = col.type
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    numeric = (pa.types.is_integer(t) or pa.types.is_floating(t)) and not pa.types.is_float16(t)
    if numeric and col.null_count == 0:
        dtype = np.dtype(t.to_pandas_dtype())
        parts = [
            np.frombuffer(c.buffers()[1], dtype=dtype)[c.offset : c.offset + len(c)]
            for c in chunks
            if len(c)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)  # a copy: writable
    values = col.to_pylist()
    if numeric:
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    if pa.types.is_boolean(t) and col.null_count == 0:
        return np.array(values, dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def read_columns(path: str | Path, columns: list[str] | None = None) -> dict[str, np.ndarray]:
    """The columns of a Parquet file (all, or ``columns``) as NumPy arrays, by name.

    Parameters
    ----------
    path : str or Path
        The file.
    columns : list of str, optional
        The columns to read (default: every column, in the file's order).

    Returns
    -------
    dict of str to numpy.ndarray
        One array per column (:func:`column_array`).
    """
    table = read_table(path, columns)
    return {c: column_array(table.column(c)) for c in table.schema.names}


def read_table(path: str | Path, columns: list[str] | None = None) -> Any:
    """A Parquet file as a pyarrow ``Table`` (all columns, or ``columns``), read without
    pyarrow's dataset layer (which imports pandas).

    Parameters
    ----------
    path : str or Path
        The file.
    columns : list of str, optional
        The columns to read.

    Returns
    -------
    pyarrow.Table
    """
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as f:  # one thread: these files are small, and cores shared
        return f.read(columns=columns, use_threads=False)
