"""The Content-Security-Policy of every page: no external origin at all, and only the page's own
inline scripts (each allowed by its SHA-256 hash, computed from the page as sent).

Styles are allowed inline (``'unsafe-inline'`` for ``style-src`` only): the map and the report
set ``style`` attributes, and a style cannot run code.  Images may be ``data:``/``blob:`` URLs
(Leaflet's icons and the PNG preview).
"""

from __future__ import annotations

import base64
import hashlib
import re

#: an inline script element: its attributes and its text (the text the browser hashes)
NONE = "'none'"
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def script_hashes(page: str) -> list[str]:
    """The CSP source expressions (``'sha256-...'``) of every inline script in ``page``.

    Parameters
    ----------
    page : str
        An HTML page.

    Returns
    -------
    list of str
        One hash per distinct inline script, in order of first appearance.
    """
    out: list[str] = []
    for attrs, text in _SCRIPT.findall(page):
        if "src=" in attrs.lower():
            continue
        digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
        h = f"'sha256-{digest}'"
        if h not in out:
            out.append(h)
    return out


def policy(page: str | None = None) -> str:
    """The Content-Security-Policy header for ``page`` (``None``: a response with no script).

    Parameters
    ----------
    page : str, optional
        The HTML sent, whose inline scripts are allowed by hash.

    Returns
    -------
    str
        The header's value.
    """
    scripts = " ".join(script_hashes(page)) if page else ""
    return (
        "default-src 'none'; "
        f"script-src {scripts or NONE}; "
        "style-src 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


#: the headers every response carries besides its CSP
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
