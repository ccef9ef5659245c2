"""What every output shares: the colours, the verdict words and how numbers, shares and money
are written (the web map, the PNG and the report all use these)."""

from __future__ import annotations

from typing import Any

#: density classes (ColorBrewer RdPu, 6 classes): stands out on OpenStreetMap's palette
DENSITY_COLOURS = ("#feebe2", "#fcc5c0", "#fa9fb5", "#f768a1", "#c51b8a", "#7a0177")
NO_DATA_COLOUR = "#9e9e9e"
CATCHMENT_COLOUR = "#2166ac"
VENUE_COLOUR = "#111111"
ZONE_COLOUR = "#555555"
WASTE_EDGE_COLOUR = "#7a0177"
VERDICT_COLOURS = {
    "good": "#1a9850",
    "workable": "#e08214",
    "poor": "#b2182b",
    "cannot_run": "#777777",
    "not_measurable": "#a3a3a3",
}
VERDICT_WORDS = {
    "good": "good",
    "workable": "workable",
    "poor": "poor",
    "cannot_run": "cannot run",
    "not_measurable": "not measurable",
}
CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}


TILES_OSM = "osm"
TILES_NONE = "none"


# -- numbers in words ------------------------------------------------------------------------
def fmt_int(x: float | None) -> str:
    """A whole number with thousands separators: 10621.4 -> '10,621'; None -> '–'.

    Parameters
    ----------
    x : float or None
        The number (anything :class:`float` reads).

    Returns
    -------
    str
        The words.
    """
    return "–" if x is None else f"{float(x):,.0f}"


def fmt_share(s: float | None, lower_bound: bool = False) -> str:
    """A share as a percentage: 0.3793 -> '38%'; 0.9947 -> '99.5%'; None -> '–'.

    Shares above 99% keep a decimal, shares below 1% two significant figures (never 0% when
    some of it is there, never 100% when some is missing).

    Parameters
    ----------
    s : float or None
        The share, 0 to 1.
    lower_bound : bool, default False
        The share is a lower bound: written "at least ...".

    Returns
    -------
    str
        The words.
    """
    if s is None:
        return "–"
    pct = 100 * float(s)
    if 99 < pct < 100:
        txt = f"{pct:.1f}%"
    elif 0 < pct < 1:  # two significant figures: a huge circle may hold a country in 0.015%
        txt = f"{pct:.2g}%"
    else:
        txt = f"{pct:.0f}%"
    return ("at least " if lower_bound else "") + txt


def fmt_money(money: dict[str, Any] | None) -> str:
    """An amount of the budget: {'amount': 189.67, 'budget': 500, 'currency': 'GBP'} ->
    '£190 of £500'.

    Parameters
    ----------
    money : dict or None
        ``amount``, and optionally ``budget``, ``currency`` (ISO code) and ``lower_bound``.

    Returns
    -------
    str
        The words, or ``""`` without an amount.
    """
    if not money or money.get("amount") is None:
        return ""
    cur = str(money.get("currency") or "")
    sym = CURRENCY_SYMBOLS.get(cur.upper())

    def m(x: float) -> str:
        v = f"{float(x):,.0f}"
        return f"{sym}{v}" if sym else (f"{v} {cur}" if cur else v)

    lb = "at least " if money.get("lower_bound") else ""
    budget = money.get("budget")
    return f"{lb}{m(money['amount'])}" + (f" of {m(budget)}" if budget is not None else "")


def basis_words(basis: str | None) -> str:
    """Who a basis counts, in words: 'residents+workers' -> 'residents + people who travel in
    to work'.

    Parameters
    ----------
    basis : str or None
        ``"residents"``, ``"workers"``, ``"residents+workers"`` or another word (kept).

    Returns
    -------
    str
        The words (``"people"`` for none).
    """
    return {
        "residents": "residents",
        "workers": "workers",
        "residents+workers": "residents + people who travel in to work",
    }.get(basis or "", basis or "people")


# -- the picture: shapes in the layer CRS, shared by the map, the PNG and the report ---------


def density_labels(breaks: list[float]) -> list[str]:
    """Words for the density classes: 'under 2,500', '2,500 – 5,000', ..., '25,000 and more'.

    Parameters
    ----------
    breaks : list of float
        The class boundaries (people per km²), increasing.

    Returns
    -------
    list of str
        One label per class (one more than ``breaks``).
    """
    b = breaks
    return (
        [f"under {b[0]:,.0f}"]
        + [f"{b[i]:,.0f} – {b[i + 1]:,.0f}" for i in range(len(b) - 1)]
        + [f"{b[-1]:,.0f} and more"]
    )
