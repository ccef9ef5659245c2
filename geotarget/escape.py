"""Text made safe for each kind of output: one helper per kind, used at every output boundary.

Names, labels and rules-file text come from users and from OpenStreetMap: a venue label may
hold ``<script>``, a platform name an ANSI escape sequence or a right-to-left override
(U+202E), a CSV cell ``=HYPERLINK(...)``.  Each output escapes them its own way:

* :func:`visible` -- control characters (C0, DEL, C1) and bidirectional formatting characters
  shown as ``\\x1b``, ``\\u202e`` (never acted on);
* :func:`terminal` -- :func:`visible`, keeping line breaks and tabs;
* :func:`html_text` -- for HTML and for the strings Leaflet renders as HTML (tooltips, popups,
  attribution): :func:`visible`, then ``& < > " '`` escaped;
* :func:`markdown_text` -- :func:`visible`, raw HTML neutralised and Markdown punctuation
  backslash-escaped, so a label is shown as written and never becomes a link, an image or HTML;
* :func:`csv_cell` -- as OWASP advises for CSV injection: a text cell starting with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single quote ``'`` (a
  spreadsheet then shows it as text instead of evaluating it), except a plain negative number
  such as ``-3.19``, which a spreadsheet reads as that number; bidi and control characters are
  shown escaped.
"""

from __future__ import annotations

import html
import re
from typing import Any

#: bidirectional formatting characters (embeddings, overrides, isolates, marks)
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI}\u2028\u2029]")
#: first characters that make a spreadsheet evaluate a cell (OWASP, "CSV Injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: a negative decimal number ("-3.19", "-1e-5"): written as it is, since a spreadsheet reads
#: it as that number, nothing else (a venue file's longitudes west of Greenwich stay numbers)
_PLAIN_NUMBER = re.compile(r"-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_MD_PUNCT = re.compile(r"([\\`*_\[\]{}|~#!])")
_ENTITY = re.compile(r"&(?=#?\w+;)")


def _show(m: re.Match[str]) -> str:
    c = m.group(0)
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def visible(text: Any, keep: str = "") -> str:
    """``text`` with every control and bidi character shown as an escape (``\\x1b``).

    Parameters
    ----------
    text : object
        Converted with ``str``.
    keep : str
        Characters left as they are (``"\\n\\t"`` for text meant to keep its lines).

    Returns
    -------
    str
        Printable text.
    """
    s = str(text)
    return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) in keep else _show(m), s)


def terminal(text: Any) -> str:
    """Text for a terminal: escape sequences and bidi overrides shown, lines and tabs kept.

    Parameters
    ----------
    text : object
        What to print.

    Returns
    -------
    str
        Safe to write to a terminal.
    """
    return visible(text, keep="\n\t")


def html_text(text: Any) -> str:
    """Text for HTML content or attributes, and for Leaflet tooltips, popups and attribution
    (which Leaflet inserts as HTML).

    Parameters
    ----------
    text : object
        The text to show.

    Returns
    -------
    str
        Escaped: shown as written, never parsed as markup.
    """
    return html.escape(visible(text), quote=True)


def markdown_text(text: Any) -> str:
    """Text for a Markdown document, shown as written (no HTML, link, image or emphasis).

    Parameters
    ----------
    text : object
        The text to show.

    Returns
    -------
    str
        ``<`` and ``>`` as entities, ``&`` of an entity as ``&amp;``, Markdown punctuation
        backslash-escaped, control and bidi characters shown.
    """
    s = visible(text)
    s = _ENTITY.sub("&amp;", s).replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", s)


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would evaluate as a formula is prefixed
    with ``'``; other values are returned unchanged.

    Parameters
    ----------
    value : object
        A cell's value; only ``str`` values are changed.

    Returns
    -------
    object
        The value to write.
    """
    if not isinstance(value, str):
        return value
    s = visible(value, keep="\n")
    if _PLAIN_NUMBER.fullmatch(value):  # "-3.19" is a number to a spreadsheet, not a formula
        return s
    return "'" + s if value.startswith(FORMULA_START) else s


def csv_frame(frame):
    """A copy of a table with :func:`csv_cell` applied to every text column (the table is
    returned as is when it has none).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to be written as CSV.

    Returns
    -------
    pandas.DataFrame
        The table to write.
    """
    from pandas.api.types import is_object_dtype, is_string_dtype

    cols = [c for c in frame.columns if is_object_dtype(frame[c]) or is_string_dtype(frame[c])]
    out = frame.copy()
    for c in cols:
        out[c] = out[c].map(csv_cell)
    out.columns = [csv_cell(c) for c in out.columns]
    return out
