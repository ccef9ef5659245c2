"""The limits every request to ``geotarget serve`` is held to, stated once.

They keep one request from taking the server down: a bounded query string, a bounded upload, a
bounded number of batch rows, a largest radius (the command line's ``--max-radius`` check, with a
smaller default) and a bounded number of analyses running at once in each worker process.
"""

from __future__ import annotations

from ..errors import InputError

#: the largest radius the server accepts unless started with another ``--max-radius``
MAX_RADIUS = "25km"
#: the longest query string accepted (bytes); longer: 414
MAX_QUERY_BYTES = 4096
#: the longest single field (venue, currency, ...) accepted, in characters
MAX_FIELD_CHARS = 200
#: the largest batch upload accepted (bytes, the whole request body); larger: 413
MAX_UPLOAD_BYTES = 2_000_000
#: the most venue rows one batch upload may hold
MAX_BATCH_ROWS = 2000
#: the most rule overrides (``rule=ID.FIELD=VALUE``) one request may give
MAX_RULES = 20
#: analyses running at once in one worker process (the rest wait their turn)
THREADS = 4
#: batch jobs whose files are kept (the oldest are removed first)
MAX_JOBS = 50


def check_field(name: str, value: str) -> str:
    """``value`` if it is short enough, else an InputError naming the field.

    Parameters
    ----------
    name : str
        The field (query parameter or form field).
    value : str
        Its value.

    Returns
    -------
    str
        ``value``, unchanged.

    Raises
    ------
    InputError
        When ``value`` is longer than :data:`MAX_FIELD_CHARS`.
    """
    if len(value) > MAX_FIELD_CHARS:
        raise InputError(
            f"{name} is {len(value)} characters long: the server accepts at most {MAX_FIELD_CHARS}"
        )
    return value


def describe() -> list[str]:
    """The limits in words, for the pages and the API description.

    Returns
    -------
    list of str
        One sentence per limit.
    """
    return [
        f"query strings up to {MAX_QUERY_BYTES:,} bytes, each field up to {MAX_FIELD_CHARS} "
        "characters",
        f"batch uploads up to {MAX_UPLOAD_BYTES / 1e6:g} MB and {MAX_BATCH_ROWS:,} venues",
        f"at most {MAX_RULES} rule overrides per request",
        f"{THREADS} analyses at once per worker process; the others wait",
    ]
