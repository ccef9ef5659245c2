"""Many venues: the venue table read and checked (:mod:`.venues`), counted chunk by chunk
(:mod:`.count`), the platforms judged for all of them (:mod:`.platforms`), chains' overlaps
(:mod:`.overlap`), checkpoints for ``--resume`` (:mod:`.checkpoint`), the output tables
(:mod:`.output`), and the same chunks on a Dask cluster (:mod:`.dask`)."""

from __future__ import annotations

from .count import RESULT_COLUMNS, analyse_many, count_chunk
from .overlap import chain_overlap
from .platforms import platforms_many
from .venues import ID_COLUMN, prepare, read_venues

__all__ = [
    "ID_COLUMN",
    "RESULT_COLUMNS",
    "analyse_many",
    "chain_overlap",
    "count_chunk",
    "platforms_many",
    "prepare",
    "read_venues",
]
