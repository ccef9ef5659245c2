"""The HTML of ``geotarget serve``: the form page, the answer (the report with the form above it),
the batch pages.  Templates in ``templates/`` with autoescaping on: every string a user typed or
uploaded is escaped (venue labels, ids, CSV columns and cells)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from .limits import MAX_BATCH_ROWS, MAX_UPLOAD_BYTES, describe

if TYPE_CHECKING:
    from ..render.picture import Picture
    from ..result import Result

#: the currencies offered in the form ("" = no currency)
CURRENCIES = ("GBP", "EUR", "USD", "")

#: the page's styles, added to the report's: the form, and on a phone the platform table as
#: one card per platform (no table running off the screen)
WEB_CSS = """
body{margin:0;background:#f4f5f7;color:#1d1f23;font:16px/1.5 system-ui,-apple-system,"Segoe UI",
 Roboto,Arial,sans-serif}
.gt-page,.gt-top{max-width:1100px;margin:0 auto;padding:14px 22px;background:#fff}
.gt-head h1{font-size:24px;margin:4px 0}.gt-head h1 a{color:inherit;text-decoration:none}
.gt-head p{margin:4px 0 8px;color:#333}.gt-head nav{font-size:14px;margin-bottom:8px}
.gt-form{display:grid;gap:10px;background:#f0f4f9;border:1px solid #d5dde8;border-radius:6px;
 padding:12px 14px;margin:8px 0}
.gt-row{display:flex;flex-direction:column;gap:2px}.gt-row label{font-weight:600}
.gt-pair{flex-direction:row;gap:12px}.gt-pair>div{display:flex;flex-direction:column;flex:1}
.gt-form input,.gt-form select{font:inherit;padding:7px 9px;border:1px solid #98a2b0;
 border-radius:4px;min-width:0}
.gt-form small,.gt-small{color:#4a4f57;font-size:13px}
.gt-form button,.gt-button{font:inherit;font-weight:600;background:#1f5fa8;color:#fff;border:0;
 border-radius:4px;padding:9px 16px;cursor:pointer;text-decoration:none;display:inline-block}
.gt-form button:focus,.gt-button:focus,.gt-form input:focus{outline:3px solid #f2a900}
.gt-change summary{cursor:pointer;color:#1f5fa8;font-weight:600;margin:4px 0}
.gt-downloads{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.gt-error{color:#8a1010;background:#fdecec;border:1px solid #e7b3b3;border-radius:4px;
 padding:8px 12px}
.gt-scroll{overflow-x:auto}.gt-preview{border-collapse:collapse;font-size:13px}
.gt-preview td,.gt-preview th{border-bottom:1px solid #e3e5e8;padding:3px 6px;text-align:left}
progress{width:100%;height:18px}
.geotarget-report{padding-top:0}
@media (max-width:640px){
 .gt-page,.gt-top{padding:10px 12px}.geotarget-report{padding:6px 12px 30px}
 .geotarget-report h1{font-size:21px}
 .geotarget-report .mapbox{height:460px}
 .leaflet-control-layers-expanded .leaflet-control-layers-toggle{display:block;margin-left:auto}
 .geotarget-legend.gt-folded>:not(h4){display:none}
 .geotarget-legend h4{cursor:pointer;margin:0}.geotarget-legend h4::after{content:" \\25BE"}
 .geotarget-legend.gt-folded h4::after{content:" \\25B8"}
 table.platforms thead{display:none}
 table.platforms,table.platforms tbody,table.platforms tr,table.platforms td{display:block;
  width:auto}
 table.platforms tr{border:1px solid #d9dce1;border-radius:5px;margin:0 0 10px;padding:4px 8px}
 table.platforms td{border:0;padding:2px 0;text-align:left!important;white-space:normal!important}
 table.platforms td::before{font-weight:600;color:#444;margin-right:6px}
 table.people th,table.people td,table.sources th,table.sources td{display:block;border:0;
  padding:2px 0}
 table.people tr,table.sources tr{display:block;border-bottom:1px solid #e6e7ea;padding:4px 0}
}
"""

#: on a narrow screen the map's layer list starts folded: its button (a link Leaflet draws)
#: opens and closes it, with the mouse, a finger or the keyboard
COLLAPSE_SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  if (!window.matchMedia('(max-width: 640px)').matches) { return; }
  var open = 'leaflet-control-layers-expanded';
  var boxes = document.querySelectorAll('.leaflet-control-layers');
  Array.prototype.forEach.call(boxes, function (box) {
    box.classList.remove(open);
    var t = box.querySelector('.leaflet-control-layers-toggle');
    if (!t) { return; }
    t.setAttribute('aria-label', 'Layers: show or hide the list');
    // Leaflet's own handler opens the list; when it is open, the same button closes it
    box.addEventListener('click', function (e) {
      if (e.target === t && box.classList.contains(open)) {
        e.preventDefault();
        e.stopPropagation();
        box.classList.remove(open);
      }
    }, true);
  });
  // the legend folds to its title (a button), and the map opens on the catchment itself
  var legend = document.querySelector('.geotarget-legend');
  var title = legend && legend.querySelector('h4');
  if (title) {
    legend.classList.add('gt-folded');
    title.setAttribute('tabindex', '0');
    title.setAttribute('role', 'button');
    title.setAttribute('aria-expanded', 'false');
    var flip = function (e) {
      if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') { return; }
      e.preventDefault();
      var folded = legend.classList.toggle('gt-folded');
      title.setAttribute('aria-expanded', folded ? 'false' : 'true');
    };
    title.addEventListener('click', flip);
    title.addEventListener('keydown', flip);
  }
});
window.addEventListener('load', function () {
  // the page's own layout may have resized the map since it was drawn: fit again, unanimated
  var el = document.querySelector('.folium-map');
  var m = el && window[el.id];
  if (!m || !window.geotarget_fit) { return; }
  m.invalidateSize({animate: false});
  window.geotarget_fit();
});
"""


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("geotarget.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(name: str, **values: Any) -> str:
    return _env().get_template(name).render(**values)


def _plain(fields: Mapping[str, Sequence[str]], keys: Sequence[str]) -> dict[str, str]:
    """The fields' first values, for refilling the form (escaped when rendered)."""
    return {k: (list(fields.get(k, [])) or [""])[0] for k in keys}


FORM_KEYS = (
    "venue",
    "radius",
    "walk",
    "budget",
    "currency",
    "segment_share",
    "platforms",
    "country",
    "special_category",
    "managed_account",
)
#: the special ad categories an advertiser may declare (as ``--special-category``), in words
SPECIAL_CATEGORIES = (
    ("", "none (most businesses)"),
    ("housing", "housing"),
    ("employment", "employment"),
    ("financial", "financial products and services (credit included)"),
)


def _whole_page(title: str, top: str, body: str = "", refresh: int | None = None) -> str:
    return _render("page.html.j2", title=title, css=WEB_CSS, top=top, body=body, refresh=refresh)


def form_page(
    fields: Mapping[str, Sequence[str]],
    *,
    error: str | None,
    max_radius: str,
    geocode: bool,
    data: str,
    walks: bool = False,
) -> str:
    """The front page: the form (refilled with ``fields``), the error if any, how it works.

    Parameters
    ----------
    fields : mapping of str to sequence of str
        The request's fields.
    error : str or None
        The one-line message of a bad request (shown above the form's button).
    max_radius : str
        The server's largest radius.
    geocode : bool
        Whether addresses are looked up.
    data : str
        The data the server counts with, in words.
    walks : bool, default False
        Whether the server has a street network: the form then offers a walk.

    Returns
    -------
    str
        The page.
    """
    f = _plain(fields, FORM_KEYS)
    f["radius"] = f["radius"] or ("" if error or f["walk"] else "0.5mi")
    f["currency"] = f["currency"] if "currency" in fields else "GBP"
    top = _render(
        "top.html.j2",
        f=f,
        error=error,
        currencies=CURRENCIES,
        special_categories=SPECIAL_CATEGORIES,
        max_radius=max_radius,
        geocode=geocode,
        downloads=False,
        walks=walks,
    )
    body = _render("intro.html.j2", data=data, limits=describe())
    return _whole_page("geotarget: is local advertising worth it here?", top, body)


def result_page(
    result: Result,
    pic: Picture | None,
    fields: Mapping[str, Sequence[str]],
    *,
    max_radius: str,
    geocode: bool,
    walks: bool = False,
) -> str:
    """The answer: the form again, the download buttons, then the report (verdicts first, the
    platform table, the map, the people, data and caveats), with no external asset.

    Parameters
    ----------
    result : Result
        The analysis of ``fields``.
    pic : Picture or None
        Its shapes, if already computed.
    fields : mapping of str to sequence of str
        The request's fields (for the form and the download links).
    max_radius : str
        The server's largest radius.
    geocode : bool
        Whether addresses are looked up.
    walks : bool, default False
        Whether the server has a street network: the form then offers a walk.

    Returns
    -------
    str
        The page.
    """
    from ..render.report import render_report

    f = _plain(fields, FORM_KEYS)
    query = urlencode([(k, v) for k, vs in fields.items() for v in vs if v != ""])
    top = _render(
        "top.html.j2",
        f=f,
        error=None,
        currencies=CURRENCIES,
        special_categories=SPECIAL_CATEGORIES,
        max_radius=max_radius,
        geocode=geocode,
        downloads=True,
        query=query,
        walks=walks,
    )
    top = f"<div class='gt-top'>{top}</div><script>{COLLAPSE_SCRIPT}</script>"
    return render_report(result, "html", tiles="none", pic=pic, page_top=top, page_css=_card_css())


@lru_cache(maxsize=1)
def _card_css() -> str:
    """WEB_CSS plus, on a phone, each platform card's cell labelled with its column's name."""
    import json

    from ..render.words import COLUMNS

    labels = "".join(
        f"table.platforms td:nth-child({i})::before{{content:{json.dumps(c + ':')}}}"
        for i, c in enumerate(COLUMNS, start=1)
    )
    return WEB_CSS.replace("@media (max-width:640px){", "@media (max-width:640px){" + labels, 1)


def batch_page(fields: Mapping[str, Sequence[str]], *, error: str | None = None) -> str:
    """The upload page of a batch (with the error of a refused upload).

    Parameters
    ----------
    fields : mapping of str to sequence of str
        The fields given with the upload (to refill the form).
    error : str, optional
        Why the upload was refused.

    Returns
    -------
    str
        The page.
    """
    f = _plain(fields, ("radius", "platforms", "budget", "currency"))
    f["radius"] = f["radius"] or "0.5mi"
    top = _render(
        "batch.html.j2",
        f=f,
        error=error,
        currencies=("", *CURRENCIES[:-1]),
        max_mb=f"{MAX_UPLOAD_BYTES / 1e6:g}",
        max_rows=f"{MAX_BATCH_ROWS:,}",
    )
    body = _render("intro.html.j2", data="the server's layer", limits=describe())
    return _whole_page("geotarget: many venues", top, body)


#: a finished batch's files: (name, button label)
JOB_FILES = (
    ("results.csv", "Results (CSV)"),
    ("results.parquet", "Results (GeoParquet)"),
    ("platforms.csv", "Platform table (CSV)"),
    ("platforms.parquet", "Platform table (Parquet)"),
)


def job_page(job: Mapping[str, Any], files: Sequence[str], preview: Any = None) -> str:
    """A batch's page: its progress (refreshing itself) or its downloads.

    Parameters
    ----------
    job : mapping
        The job's status (:func:`geotarget.web.jobs.status`).
    files : sequence of str
        The job's files that exist.
    preview : object, optional
        ``columns`` and ``rows`` of the results' first rows.

    Returns
    -------
    str
        The page.
    """
    running = job["state"] in ("queued", "running")
    shown = [(n, label) for n, label in JOB_FILES if n in files]
    top = _render("job.html.j2", job=job, files=shown, preview=preview)
    return _whole_page("geotarget: batch", top, refresh=2 if running else None)
