"""Census datasets geotarget can download, and how each is built into the layout its layers read.

Each :class:`Dataset` names its publisher, licence, attribution and the official files it is made
from (:class:`Source`: address, local file name, what it is; the expected size and sha256 are
``None`` until the first download records them in the cache's manifest, see
:mod:`.download`), and has a ``build(raw_dir, out_dir, **options)`` step that turns those files
into geotarget's layout.  :func:`fetch` does both: download (or reuse the verified cache), then
build into ``<cache>/datasets/<name>/built/<area>/`` and say where.

One module per dataset: :mod:`.ew_census2021`, :mod:`.eurostat_grid2021`, :mod:`.us_blocks2020`,
:mod:`.osm_extract` (an OpenStreetMap extract for ``--network``) (``scotland-census2022`` ships
inside the package); the England & Wales build takes its parts from
:mod:`.ew_geography` (ONS codes and lookups), :mod:`.ew_boundaries`, :mod:`.ew_ts001`
(residents) and :mod:`.ew_workplace` (workers).  The registry is in :mod:`.registry`,
downloading in :mod:`.download`, the fetch-then-build step in :mod:`.fetch`.

The publishers' addresses were found in public documentation and code; none could be tried from
the machine geotarget was developed on (no internet), which is why every failure message says
what to do and every address can be replaced with ``--mirror``.
"""

from __future__ import annotations

from .base import BuildResult, Dataset, Source
from .fetch import FetchReport, cache_status, check_area, dataset_dir, fetch
from .registry import DATASETS, builtin_metadata, get

__all__ = [
    "DATASETS",
    "BuildResult",
    "Dataset",
    "FetchReport",
    "Source",
    "builtin_metadata",
    "cache_status",
    "check_area",
    "dataset_dir",
    "fetch",
    "get",
]
