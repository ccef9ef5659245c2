"""The installed version of geotarget (``0+unknown`` in a source tree that is not installed)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geotarget")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
