"""A report a small business can read: one self-contained HTML page (or Markdown, or JSON).

``render_report(result)`` puts the verdict first, in plain words generated from the platform
rows; then the platform table, the interactive map (Leaflet inlined: the page works offline),
the population figures with their ranges, and the data's sources, vintages, caveats, licences and
attributions.  Every number in it comes from the :class:`~geotarget.result.Result`.

``write_report`` writes the file atomically (:func:`geotarget.files.write_output`: a temporary
file in the same folder, then a rename) and refuses to replace an existing file unless
``overwrite=True`` (:class:`~geotarget.errors.OutputError` otherwise).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..errors import InputError
from ..escape import html_text
from ..escape import markdown_text as m
from ..files import write_output
from .style import VERDICT_COLOURS, VERDICT_WORDS
from .words import (
    COLUMNS,
    _headline,
    _rules_sources,
    _table_rows,
    _tiles_note,
    people_lines,
    people_plain,
    special_category_line,
    summary_sentences,
)

if TYPE_CHECKING:
    import folium
    from branca.element import Figure

    from ..result import Result
    from .picture import Picture

FORMATS = ("html", "md", "json")


def format_for(path: str | Path | None, fmt: str | None) -> str:
    """The report format: ``fmt`` if given, else from the file name.

    Parameters
    ----------
    path : str, pathlib.Path or None
        The file to write (``None`` or ``"-"``: standard output).
    fmt : str or None
        ``"html"``, ``"md"`` or ``"json"``; ``None``: from ``path``'s suffix (.md or
        .markdown, .json; anything else html).

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InputError
        When ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(
                f"report format {fmt!r} is unknown: choose one of {', '.join(FORMATS)}"
            )
        return fmt
    suffix = Path(str(path)).suffix.lower() if path not in (None, "-") else ""
    return {".md": "md", ".markdown": "md", ".json": "json"}.get(suffix, "html")


# -- the words -------------------------------------------------------------------------------
REPORT_CSS = """
body{margin:0;background:#f4f5f7;color:#1d1f23;font:15px/1.5 system-ui,-apple-system,"Segoe UI",
 Roboto,Arial,sans-serif}
.geotarget-report{max-width:1100px;margin:0 auto;padding:18px 22px 40px;background:#fff}
.geotarget-report h1{font-size:26px;margin:6px 0 2px}
.geotarget-report h2{font-size:19px;margin:26px 0 8px;border-bottom:1px solid #e3e5e8;
 padding-bottom:3px}
.geotarget-report .sub{color:#555;margin:0 0 10px}
.geotarget-report .verdicts{list-style:none;padding:0;margin:8px 0}
.geotarget-report .verdicts li{margin:6px 0;padding:8px 12px;border-left:6px solid #999;
 background:#fafafa;border-radius:3px}
.geotarget-report .badge{display:inline-block;min-width:70px;text-align:center;color:#fff;
 border-radius:3px;padding:0 6px;font-size:13px;margin-right:8px;white-space:nowrap}
.geotarget-report table{border-collapse:collapse;width:100%;font-size:13.5px}
.geotarget-report th,.geotarget-report td{border-bottom:1px solid #e6e7ea;padding:5px 7px;
 text-align:left;vertical-align:top}
.geotarget-report th{background:#f0f2f5}
.geotarget-report td.num{text-align:right;white-space:nowrap}
.geotarget-report .small{font-size:13px;color:#444}
.geotarget-report .mapbox{height:680px;border:1px solid #cfd3d8;border-radius:4px;
 overflow:hidden;position:relative}
.geotarget-report .warn{color:#9c1c1c}
.geotarget-report a{color:#1f5fa8}
@media print{body{background:#fff}.geotarget-report{padding:0}.mapbox{break-inside:avoid}}
"""


def _html_verdicts(result: Result) -> list[str]:
    """The verdict sentences, with what "spend landing outside" means."""
    e = html_text
    sentences = summary_sentences(result)
    if not sentences:
        return [
            "<p>No ad platform was evaluated (or the catchment lies outside the data's "
            "coverage).</p>"
        ]
    out = ["<ul class='verdicts'>"]
    for s in sentences:
        colour = VERDICT_COLOURS.get(s["verdict"], "#999")
        out.append(
            f"<li style='border-left-color:{colour}'><span class='badge' "
            f"style='background:{colour}'>{e(VERDICT_WORDS.get(s['verdict'], ''))}"
            f"</span>{e(s['text'])}</li>"
        )
    out.append("</ul>")
    bases = sorted({r.get("basis_label", "") for r in result.platform_rows or []} - {""})
    if bases:
        out.append(
            "<p class='small'>“Spend landing outside” is the share of the people a "
            "platform would reach who are not in your catchment, applied to the "
            "budget. People counted: " + e("; ".join(bases)) + ".</p>"
        )
    return out


#: the platform table's columns whose cells are numbers (right-aligned)
NUMBER_COLUMNS = ("People reached", "In your catchment", "Share inside", "Wasted", "Money wasted")


def _html_platforms(result: Result) -> list[str]:
    """The platform table, best first, and the advice per platform."""
    e = html_text
    if not result.platform_rows:
        return []
    out = [
        "<h2>Platforms, best first</h2><table class='platforms'><thead><tr>"
        + "".join(f"<th>{e(h)}</th>" for h in COLUMNS)
        + "</tr></thead><tbody>"
    ]
    for row in _table_rows(result):
        colour = VERDICT_COLOURS.get(row["verdict"], "#999")
        cells = []
        for h in COLUMNS:
            val = e(row[h])
            if h == "Verdict":
                val = f"<span class='badge' style='background:{colour}'>{val}</span>"
            cells.append(f"<td{' class=num' if h in NUMBER_COLUMNS else ''}>{val}</td>")
        out.append(f"<tr data-platform='{e(row['id'])}'>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    advice = [a for r in result.platform_rows for a in r.get("advice", [])]
    if advice:
        out.append(
            "<details><summary>Advice per platform</summary><ul class='small'>"
            + "".join(f"<li>{e(a)}</li>" for a in advice)
            + "</ul></details>"
        )
    return out


def _html_top(result: Result, tiles: str) -> str:
    """The HTML before the map: title, verdicts, warnings, the platform table."""
    e = html_text
    v, c, lay = result.venue, result.catchment, result.layer
    top = [
        "<div class='geotarget-report'>",
        f"<h1>Local advertising around {e(str(v.get('label') or 'your venue'))}</h1>",
        f"<p class='sub'>{e(c.get('description', ''))}, {c.get('area_km2', 0):.2f} km² · "
        f"venue at {float(v['lat']):.5f}, {float(v['lon']):.5f}"
        + (f" (from {e(str(v['source']))})" if v.get("source") else "")
        + f" · data: {e(lay.get('title', lay.get('name', '')))}</p>",
        "<h2>In short</h2>",
        f"<p>{e(_headline(result))}</p>",
        *_html_verdicts(result),
        *([f"<p class='special'>{e(line)}</p>"] if (line := special_category_line(result)) else []),
        *(f"<p class='warn'><b>Warning:</b> {e(w)}</p>" for w in result.warnings),
        *_html_platforms(result),
        "<h2>Map</h2><p class='small'>Each platform's smallest footprint is a layer (tick "
        "it in the list); the wasted area, outside your catchment, is shaded by how many "
        "people live or work there per km². Click a shape for its figures. "
        + e(_tiles_note(tiles))
        + "</p><div class='mapbox'>",
    ]
    return "\n".join(top)


def _html_data(result: Result, tiles: str) -> list[str]:
    """The table of the data's source, vintage, licence and attributions, then its caveats."""
    e = html_text
    v, lay = result.venue, result.layer
    out = ["<h2>Data, sources and caveats</h2><table class='sources'><tbody>"]
    for k, label in (
        ("title", "Data"),
        ("source", "Source"),
        ("vintage", "Vintage"),
        ("licence", "Licence"),
        ("chosen", "Chosen because"),
    ):
        if lay.get(k):
            out.append(f"<tr><th>{label}</th><td>{e(str(lay[k]))}</td></tr>")
    if lay.get("attribution"):
        out.append(
            "<tr><th>Attribution</th><td>"
            + "<br>".join(e(a) for a in lay["attribution"])
            + "</td></tr>"
        )
    if v.get("postcode_source"):
        out.append(f"<tr><th>Venue position</th><td>{e(str(v['postcode_source']))}</td></tr>")
    out.append(
        f"<tr><th>Map</th><td>{e(_tiles_note(tiles))} Drawn with Leaflet "
        "(BSD-2-Clause, © Volodymyr Agafonkin, CloudMade), inlined in this file."
        "</td></tr>"
    )
    out.append("</tbody></table>")
    if lay.get("caveats"):
        out.append(
            "<h3>Caveats</h3><ul class='small'>"
            + "".join(f"<li>{e(x)}</li>" for x in lay["caveats"])
            + "</ul>"
        )
    return out


def _html_rules(result: Result) -> list[str]:
    """Where each platform rule came from (links for web sources)."""
    e = html_text
    sources = _rules_sources(result)
    if not sources:
        return []
    out = [
        "<details><summary>Platform rules: where each came from</summary>"
        "<table class='small'><thead><tr><th>Platform</th><th>Rule</th>"
        "<th>Source</th><th>Read</th><th>Confidence</th></tr></thead><tbody>"
    ]
    for p, what, src, read, conf in sources:
        src_html = (
            f"<a href='{e(src)}' rel='noreferrer'>{e(src)}</a>"
            if src.startswith(("https://", "http://"))
            else e(src)
        )
        out.append(
            f"<tr><td>{e(p)}</td><td>{e(what)}</td><td>{src_html}</td>"
            f"<td>{e(read)}</td><td>{e(conf)}</td></tr>"
        )
    out.append("</tbody></table></details>")
    return out


def _html_bottom(result: Result, tiles: str) -> str:
    """The HTML after the map: the people, the data and the platform rules' sources."""
    e = html_text
    bottom = ["</div>", "<h2>People in your catchment</h2><table class='people'><tbody>"]
    plain = people_plain(result)
    for what, val, detail in people_lines(result):
        if what in plain:  # plain words first, the range model and method behind a toggle
            cell = (
                f"{e(plain[what])}<details><summary>How this was counted</summary>"
                f"{e(detail)}</details>"
            )
        else:
            cell = e(detail)
        bottom.append(
            f"<tr><th>{e(what)}</th><td class='num'>{e(val)}</td><td class='small'>{cell}</td></tr>"
        )
    bottom.append("</tbody></table>")
    bottom += _html_data(result, tiles)
    bottom += _html_rules(result)
    bottom.append(
        f"<p class='small'>Made by geotarget {e(__version__)} on "
        f"{_dt.date.today().isoformat()}. Figures are estimates from census data; "
        "platforms' own audience estimates will differ.</p></div>"
    )
    return "\n".join(bottom)


def _html_sections(result: Result, tiles: str) -> tuple[str, str]:
    """(the HTML before the map, the HTML after it)."""
    return _html_top(result, tiles), _html_bottom(result, tiles)


def _report_figure(
    result: Result,
    tiles: str,
    attribution: str | None,
    pic: Picture | None = None,
    page_top: str = "",
    page_css: str = "",
) -> tuple[Figure, folium.Map]:
    """The report page: ``page_top``, the HTML before the map, the map, the HTML after it."""
    from branca.element import Element, Figure

    from .webmap import _macro, interactive_map

    m = interactive_map(result, tiles=tiles, attribution=attribution, height="100%", pic=pic)
    before, after = _html_sections(result, tiles)
    # branca writes the title as is: escaped here like every other user-supplied string
    fig = Figure(title=html_text(f"geotarget report: {result.venue.get('label') or ''}"))
    if page_top:
        fig.add_child(_macro("block.html.j2", text=page_top))
    fig.add_child(_macro("block.html.j2", text=before))
    fig.add_child(m)
    fig.add_child(_macro("block.html.j2", text=after))
    fig.header.add_child(
        Element(f"<style>{REPORT_CSS}{page_css}</style>"), name="geotarget_report_css"
    )
    return fig, m


def render_report(
    result: Result,
    fmt: str = "html",
    *,
    tiles: str = "osm",
    attribution: str | None = None,
    pic: Picture | None = None,
    page_top: str = "",
    page_css: str = "",
) -> str:
    """The report as text.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse` (the HTML map needs its geometry).
    fmt : str, default "html"
        ``"html"`` (one self-contained page, map included), ``"md"`` or ``"json"`` (the
        result's JSON contract plus ``"report": {"summary": [...], ...}``).
    tiles, attribution : str, optional
        The map's background (see :func:`geotarget.render.webmap.interactive_map`).
    pic : Picture, optional
        Shapes already computed by :func:`geotarget.render.picture.picture`, to reuse them.
    page_top, page_css : str, optional
        HTML only: a block placed above the report (its user-supplied strings already escaped
        by the caller) and CSS added to the report's, for a page that embeds the report (the
        web page of :mod:`geotarget.web` puts its form there).

    Returns
    -------
    str
        The report.

    Raises
    ------
    InputError
        When ``fmt`` is unknown.
    """
    fmt = format_for(None, fmt)
    if fmt == "json":
        d = result.to_dict()
        d["report"] = {
            "summary": [s["text"] for s in summary_sentences(result)],
            "headline": _headline(result),
            "generated_by": f"geotarget {__version__}",
        }
        return json.dumps(d, ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return _markdown(result, tiles)
    fig, _ = _report_figure(
        result, tiles, attribution, pic=pic, page_top=page_top, page_css=page_css
    )
    return fig.render()


def _md_cell(x: str) -> str:
    return m(str(x).replace("\n", " "))


def _markdown(result: Result, tiles: str) -> str:
    v, c, lay = result.venue, result.catchment, result.layer
    out = [
        f"# Local advertising around {m(v.get('label') or 'your venue')}",
        "",
        (
            f"{m(c.get('description', ''))}, {c.get('area_km2', 0):.2f} km²; venue at "
            f"{float(v['lat']):.5f}, {float(v['lon']):.5f}; data: {m(lay.get('title', ''))}"
        ),
        "",
        "## In short",
        "",
        m(_headline(result)),
        "",
    ]
    for s in summary_sentences(result):
        out.append(f"- **{VERDICT_WORDS.get(s['verdict'], s['verdict'])}**: {m(s['text'])}")
    special = special_category_line(result)
    if special:
        out += ["", m(special)]
    for w in result.warnings:
        out.append(f"\n> **Warning:** {m(w)}")
    rows = _table_rows(result)
    if rows:
        out += [
            "",
            "## Platforms, best first",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + "|".join("---" for _ in COLUMNS) + "|",
        ]
        out += ["| " + " | ".join(_md_cell(r[h]) for h in COLUMNS) + " |" for r in rows]
        bases = sorted({r.get("basis_label", "") for r in result.platform_rows or []} - {""})
        if bases:
            out += ["", "People counted: " + "; ".join(m(b) for b in bases) + "."]
        advice = [a for r in result.platform_rows or [] for a in r.get("advice", [])]
        if advice:
            out += ["", "### Advice", ""] + [f"- {m(a)}" for a in advice]
    out += ["", "## People in your catchment", "", "| | estimate | detail |", "|---|---|---|"]
    out += [
        f"| {_md_cell(a)} | {_md_cell(b)} | {_md_cell(d)} |" for a, b, d in people_lines(result)
    ]
    out += ["", "## Data, sources and caveats", ""]
    for k, label in (
        ("title", "Data"),
        ("source", "Source"),
        ("vintage", "Vintage"),
        ("licence", "Licence"),
        ("chosen", "Chosen because"),
    ):
        if lay.get(k):
            out.append(f"- **{label}:** {m(lay[k])}")
    for a in lay.get("attribution", []):
        out.append(f"- {m(a)}")
    if v.get("postcode_source"):
        out.append(f"- **Venue position:** {m(v['postcode_source'])}")
    if lay.get("caveats"):
        out += ["", "### Caveats", ""] + [f"- {m(x)}" for x in lay["caveats"]]
    sources = _rules_sources(result)
    if sources:
        out += [
            "",
            "### Platform rules",
            "",
            "| Platform | Rule | Source | Read | Confidence |",
            "|---|---|---|---|---|",
        ]
        out += ["| " + " | ".join(_md_cell(x) for x in s) + " |" for s in sources]
    out += [
        "",
        (
            f"Made by geotarget {__version__} on {_dt.date.today().isoformat()}. Figures "
            "are estimates from census data; platforms' own audience estimates will "
            "differ."
        ),
        "",
    ]
    return "\n".join(out)


def write_report(
    result: Result,
    path: str | Path,
    *,
    fmt: str | None = None,
    tiles: str = "osm",
    attribution: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Render and write the report atomically.

    Parameters
    ----------
    result : Result
        A result of :func:`geotarget.analyse`.
    path : str or pathlib.Path
        Where to write.
    fmt : str, optional
        ``"html"``, ``"md"`` or ``"json"``; default: from the file name (:func:`format_for`).
    tiles, attribution : str, optional
        The map's background (see :func:`geotarget.render.webmap.interactive_map`).
    overwrite : bool, default False
        Replace an existing file (otherwise :class:`~geotarget.errors.OutputError`).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    text = render_report(result, format_for(path, fmt), tiles=tiles, attribution=attribution)
    return write_output(path, text, overwrite=overwrite)
