"""``geotarget serve``: the same analysis as the command line, as a web page and an HTTP API.

Needs the ``web`` extra (``pip install "geotarget[web]"``: Starlette, uvicorn,
python-multipart).  :func:`create_app` builds the ASGI application; :mod:`.limits` states the
limits every request is held to; :mod:`.params` turns a request's fields into the command line's
options (so the messages are the command line's); :mod:`.pages` renders the HTML (every user
string escaped); :mod:`.csp` the Content-Security-Policy; :mod:`.jobs` the batch uploads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ServerConfig, create_app


def __getattr__(name: str) -> Any:
    if name in ("create_app", "ServerConfig"):
        from . import app

        return getattr(app, name)
    raise AttributeError(name)


__all__ = ["ServerConfig", "create_app"]
