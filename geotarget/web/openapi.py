"""The API's OpenAPI document (``/openapi.json``) and the same in words (``/api``), written out
by hand: the parameters are the command line's options, checked by its code."""

from __future__ import annotations

import html
from typing import Any

from .limits import describe

_Q = "query"


def _p(name: str, desc: str, example: str | None = None, required: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "in": _Q, "required": required, "description": desc}
    d["schema"] = {"type": "string"} if example is None else {"type": "string", "example": example}
    return d


#: the analysis parameters, as the command line's options (``segment_share`` is
#: ``--segment-share``; ``rule`` may be repeated)
PARAMETERS = [
    _p(
        "venue",
        "GB postcode ('EH1 1YZ') or 'lat,lon' (or an address, when the server geocodes)",
        "EH1 1YZ",
    ),  # fmt: skip
    _p("lat", "venue latitude, with lon instead of venue"),
    _p("lon", "venue longitude, with lat instead of venue"),
    _p(
        "radius",
        "catchment radius with unit: 0.5mi, 800m, 1km, 2640ft (or walk / drive instead)",
        "0.5mi",
    ),
    _p(
        "walk",
        "instead of radius, on a server started with --network: a walk over its streets, a "
        "time (10min, at walk_speed) or a distance along the streets (800m)",
    ),
    _p("walk_speed", "walking speed for walk (default 4.8 km/h; 3mph also reads)"),
    _p(
        "drive",
        "instead of radius, on a server started with --network: a drive (10min) at the "
        "streets' speed limits, one-way streets respected",
    ),
    _p("platforms", "'all' or ids such as meta,google_ads (see 'geotarget platforms')", "all"),
    _p("budget", "spend, to show the money wasted", "500"),
    _p("currency", "currency of budget", "GBP"),
    _p("segment_share", "share of people in your audience segment (e.g. 0.004)"),
    _p("country", "ISO country code for the platforms' rules when the layer does not say"),
    _p("postcode_coverage", "share of the catchment's people postcode districts must cover"),
    _p("method", "estimation method: dasymetric, areal or points"),
    _p("rule", "override one rule, e.g. meta.radius_min=1km (repeatable)"),
]

_ERROR = {
    "description": "bad input: the command line's one-line message (400: the request's shape; "
    "422: a value)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "exit_code": {"type": "integer"}},
            }
        }
    },
}


def _get(summary: str, media: str, desc: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": PARAMETERS,
            "responses": {
                "200": {"description": desc, "content": {media: {}}},
                "400": _ERROR,
                "422": _ERROR,
            },
        }
    }


#: the OpenAPI 3.1 document
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "geotarget",
        "version": "1",
        "description": "How many people live and work near a venue, which ad platforms can "
        "target that area, and how much spend lands outside it. Limits: "
        + "; ".join(describe())
        + ".",
    },
    "paths": {
        "/api/analyse": _get(
            "the analysis as JSON",
            "application/json",
            "the geotarget.result/1 JSON, as geotarget analyse --json",
        ),
        "/report": _get(
            "the self-contained HTML report", "text/html", "as geotarget report --tiles none"
        ),
        "/map.png": _get("the static map", "image/png", "as geotarget report --png"),
        "/api/batch": {
            "post": {
                "summary": "start a batch: a venue CSV as geotarget batch reads",
                "requestBody": {
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "radius": {"type": "string"},
                                    "platforms": {"type": "string"},
                                    "budget": {"type": "string"},
                                    "currency": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "202": {"description": "started: {job, status, page}"},
                    "400": _ERROR,
                    "422": _ERROR,
                },
            }
        },
        "/api/batch/{job}": {
            "get": {
                "summary": "a batch's status: state, done, total, files",
                "parameters": [
                    {"name": "job", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "status"}, "404": {"description": "none"}},
            }
        },
        "/api/batch/{job}/{name}": {
            "get": {
                "summary": "a finished batch's file: results.csv, results.parquet, "
                "platforms.csv, platforms.parquet",
                "parameters": [
                    {"name": "job", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "the file"}, "404": {"description": "none"}},
            }
        },
    },
}


def api_page() -> str:
    """The API described in HTML (no script, no external asset).

    Returns
    -------
    str
    """
    e = html.escape
    rows = "".join(
        f"<tr><td><code>{e(p['name'])}</code></td><td>{e(p['description'])}</td></tr>"
        for p in PARAMETERS
    )
    paths = "".join(
        f"<li><code>{e(m.upper())} {e(path)}</code>: {e(op['summary'])}</li>"
        for path, ops in OPENAPI["paths"].items()
        for m, op in ops.items()
    )
    return (
        "<header class='gt-head'><h1><a href='/'>geotarget API</a></h1>"
        "<nav><a href='/'>One venue</a> · <a href='/batch'>Many venues</a> · "
        "<a href='/openapi.json'>OpenAPI document</a></nav></header>"
        f"<ul>{paths}</ul><h2>Parameters (the command line's options)</h2>"
        f"<table class='gt-preview'><tbody>{rows}</tbody></table>"
        "<p>Example: <code>/api/analyse?venue=EH1+1YZ&amp;radius=0.5mi&amp;platforms=all"
        "&amp;budget=500&amp;currency=GBP</code></p><h2>Limits</h2><ul>"
        + "".join(f"<li>{e(x)}</li>" for x in describe())
        + "</ul>"
    )
