"""Exceptions raised by geotarget.

Every error the library raises on purpose is a :class:`GeotargetError`.  Each subclass also
inherits the matching built-in exception (``ValueError``, ``LookupError``, ``OSError``...), so
callers can catch either.  Messages repeat the bad value and say what to do.  The command line
turns each class into one line on stderr and its own exit code (``exit_code``).
"""

from __future__ import annotations


class GeotargetError(Exception):
    """Base class of every error geotarget raises on purpose.

    Attributes
    ----------
    exit_code : int
        The command line's exit status for this class of error (1 here; each subclass has its
        own).
    """

    exit_code = 1


class InputError(GeotargetError, ValueError):
    """A value given by the user is malformed or out of range."""

    exit_code = 2


class VenueError(InputError):
    """The venue cannot be understood (bad coordinates, malformed postcode)."""

    exit_code = 3


class PostcodeNotFoundError(GeotargetError, LookupError):
    """A well-formed postcode that has no location: unknown, terminated, or without coordinates."""

    exit_code = 4


class GeocodingError(GeotargetError, ConnectionError):
    """A free-text address could not be geocoded (offline, time-out, no match)."""

    exit_code = 5


class CatchmentError(InputError):
    """The catchment is invalid: bad radius, unknown unit, unreadable or invalid polygon."""

    exit_code = 6


class DataError(GeotargetError, OSError):
    """A population layer is missing, unreadable or inconsistent."""

    exit_code = 7


class NoCoverageError(GeotargetError, LookupError):
    """No available population layer covers the venue."""

    exit_code = 8


class OutputError(GeotargetError, OSError):
    """An output file cannot be written (exists already, read-only folder...)."""

    exit_code = 9


class RulesError(InputError):
    """A platform rules file or override is invalid."""

    exit_code = 10


#: exit status of each error class, by class name
EXIT_CODES = {
    cls.__name__: cls.exit_code
    for cls in (
        GeotargetError,
        InputError,
        VenueError,
        PostcodeNotFoundError,
        GeocodingError,
        CatchmentError,
        DataError,
        NoCoverageError,
        OutputError,
        RulesError,
    )
}
