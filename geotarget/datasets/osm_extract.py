"""OpenStreetMap extracts for walking and driving catchments (``geotarget data fetch osm
--area NAME``): one regional extract (PBF) from a public OSM extract provider, downloaded and
verified like the census files, then checked readable and laid out as ``extract.osm.pbf`` for
``--network``.

The provider is Geofabrik's download server, whose regional extracts are addressed as
``<provider>/<region path>-latest.osm.pbf`` (e.g. ``europe/united-kingdom/england/greater-london``)
and rebuilt daily: the first download's sha256 is recorded in the cache's manifest and checked on
every later use; ``--force`` fetches the provider's newer file.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import DataError, InputError
from .base import BuildResult, Source, _raw

OSM_NAME = "osm"
OSM_PROVIDER = "https://download.geofabrik.de"
#: the built file, the same name for every area (``--network DIR/extract.osm.pbf``)
OSM_FILE = "extract.osm.pbf"

#: short names for some of the provider's regions (its folder paths); any other region is given
#: by its path, as on the provider's pages
OSM_AREAS = {
    "greater-london": "europe/united-kingdom/england/greater-london",
    "london": "europe/united-kingdom/england/greater-london",
    "england": "europe/united-kingdom/england",
    "scotland": "europe/united-kingdom/scotland",
    "wales": "europe/united-kingdom/wales",
    "ile-de-france": "europe/france/ile-de-france",
    "berlin": "europe/germany/berlin",
    "tennessee": "north-america/us/tennessee",
}

OSM_SOURCES = (
    Source(
        "extract",
        OSM_PROVIDER + "/{region}-latest.osm.pbf",
        "{slug}-latest.osm.pbf",
        "OpenStreetMap extract of {region} (PBF), rebuilt daily by the provider",
        landing=OSM_PROVIDER + "/{region}.html",
    ),
)


def osm_region(area: str | None) -> str:
    """The provider's region path for an ``area`` option.

    Parameters
    ----------
    area : str or None
        A short name of :data:`OSM_AREAS` or a region path such as
        ``europe/france/ile-de-france`` (lower-case words and hyphens, separated by ``/``).

    Returns
    -------
    str
        The region path.

    Raises
    ------
    InputError
        When ``area`` is missing or neither a short name nor a region path.
    """
    names = ", ".join(sorted(OSM_AREAS))
    if not area or not area.strip():
        raise InputError(
            f"osm needs --area: a region ({names}) or the extract provider's path of one, "
            "e.g. europe/france/ile-de-france"
        )
    a = area.strip().strip("/").lower()
    if a in OSM_AREAS:
        return OSM_AREAS[a]
    a = re.sub(r"-latest\.osm\.pbf$", "", a)
    if re.fullmatch(r"[a-z]+(?:-[a-z]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*){1,4}", a):
        return a
    raise InputError(
        f"osm area {area[:60]!r} is neither a region name ({names}) nor the extract provider's "
        "path of a region (e.g. europe/france/ile-de-france)"
    )


def _osm_sources(area: str | None) -> list[Source]:
    """The one extract of ``area``."""
    region = osm_region(area)
    s = OSM_SOURCES[0]
    return [
        replace(
            s,
            url=s.url.format(region=region),
            filename=s.filename.format(slug=region.replace("/", "_")),
            description=s.description.format(region=region),
            landing=s.landing.format(region=region),
        )
    ]


def build_osm(
    raw_dir: Path, out_dir: Path, area: str | None = None, **_ignored: Any
) -> BuildResult:
    """Check the downloaded extract reads as OSM data and lay it out as :data:`OSM_FILE`.

    Parameters
    ----------
    raw_dir : Path
        The folder holding the download.
    out_dir : Path
        The folder to build into.
    area : str or None
        See :func:`osm_region` (required).

    Returns
    -------
    BuildResult
        ``extract.osm.pbf``, with the region and the file's declared bounds in the summary.

    Raises
    ------
    DataError
        When the download is missing or is not an OSM PBF file.
    """
    import osmium

    region = osm_region(area)
    src = _osm_sources(area)[0]
    raw = _raw(raw_dir, src.filename, src.description, OSM_NAME)
    try:
        reader = osmium.io.Reader(str(raw), osmium.osm.osm_entity_bits.NOTHING)
        try:
            box = reader.header().box()
        finally:
            reader.close()
    except RuntimeError as e:
        raise DataError(
            f"{raw.name} is not a readable OSM PBF file ({e}): fetch again with --force"
        ) from e
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / OSM_FILE
    try:
        os.link(raw, dest)  # the cache's own copy, not a second one
    except OSError:
        shutil.copyfile(raw, dest)
    summary: dict[str, Any] = {"region": region}
    if box.valid():
        bl, tr = box.bottom_left, box.top_right
        summary["bounds"] = f"{bl.lon:.4f},{bl.lat:.4f},{tr.lon:.4f},{tr.lat:.4f}"
    return BuildResult(files=[OSM_FILE], summary=summary)
