"""Shared fixtures.

Tests that need the real census files read them from ``../shared/data`` (or
``$GEOTARGET_SHARED_DATA``).  Where the folder is absent they are skipped with the reason --
except under ``CI=true``, where its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GEOTARGET_SHARED_DATA", ROOT.parent / "shared" / "data"))
LONDON = SHARED / "london-census2021"


def need(path: Path) -> Path:
    if path.exists():
        return path
    msg = (
        f"real census data not found at {path} (set GEOTARGET_SHARED_DATA to the folder "
        "holding london-census2021/ etc.; see README 'Data')"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(msg + " -- required under CI=true")
    pytest.skip(msg)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Layer caches go to a temporary folder, never the user's cache."""
    old = os.environ.get("GEOTARGET_CACHE_DIR")
    os.environ["GEOTARGET_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("GEOTARGET_CACHE_DIR", None)
    else:
        os.environ["GEOTARGET_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def london_dir() -> Path:
    return need(LONDON)


@pytest.fixture(scope="session")
def london(london_dir):
    from geotarget.layers import load_layer

    return load_layer(london_dir)


@pytest.fixture(scope="session")
def scotland():
    from geotarget.layers import load_layer

    return load_layer("scotland-census2022")
