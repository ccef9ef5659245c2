"""The result of an analysis: numbers, provenance and warnings, as a table, JSON or HTML.

The JSON form (``Result.to_dict()``, ``geotarget analyse --json``) is a versioned contract,
``"schema": "geotarget.result/1"``, documented in the README.  Later versions only add keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

    from .catchment import Catchment
    from .layers.base import PopulationLayer

from .platforms.model import PlatformRow

__all__ = [
    "PLATFORM_COLUMNS",
    "SCHEMA",
    "Estimate",
    "PlatformRow",
    "Result",
    "platform_frame",
    "platform_records",
]

#: the JSON contract's name and version
SCHEMA = "geotarget.result/1"


@dataclass
class Estimate:
    """People of one kind in the catchment.

    Parameters
    ----------
    estimate, low, high : float
        The count and its 90% interval.
    method : str
        The estimation method (``areal``, ``dasymetric``, ``points``).
    zones : int
        The zones, points or cells that contributed.
    unit : str
        What the zones are, e.g. ``"LSOA 2021"``.
    definition : str
        What is counted, in words.
    range_method : str
        How the interval was worked out, in words.
    extra : dict of str to float
        Other counts placed alike (e.g. ``home_workers``).
    description : str
        How the counts were placed, in words.
    unavailable : dict of str to str
        Counts beside this one that the layer lacks (``aged_16plus``...), with the reason.
    notes : dict of str to str
        Notes on the extra counts (``age``: the residents their ages cover).
    """

    estimate: float
    low: float
    high: float
    method: str
    zones: int  # zones / points / cells that contributed
    unit: str  # what the zones are, e.g. "LSOA 2021"
    definition: str  # what is counted
    range_method: str
    extra: dict[str, float] = field(default_factory=dict)  # e.g. home_workers
    description: str = ""  # how the counts were placed
    #: counts the layer cannot give (e.g. ``aged_16plus``), with why
    unavailable: dict[str, str] = field(default_factory=dict)
    #: notes on the extra counts (e.g. ``age``: which part of the catchment they cover)
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The estimate as the JSON contract gives it (counts rounded to 0.1).

        Returns
        -------
        dict
        """
        d: dict[str, Any] = {
            "estimate": _r(self.estimate),
            "low": _r(self.low),
            "high": _r(self.high),
            "method": self.method,
            "range": self.range_method,
            "zones": self.zones,
            "zone_unit": self.unit,
            "definition": self.definition,
        }
        if self.description:
            d["method_detail"] = self.description
        d.update({k: _r(v) for k, v in self.extra.items()})
        for k, why in self.unavailable.items():
            d[k] = None
            d.setdefault("unavailable", {})[k] = why
        if self.notes:
            d["notes"] = dict(self.notes)
        return d


#: the age counts beside the residents, as the text and HTML label them
AGE_LABELS = {"aged_16plus": "Residents 16+", "aged_18plus": "Residents 18+"}


def _age_rows(est: Estimate) -> list[tuple[str, str, str]]:
    """The text rows of the residents' age counts (or why they are not available)."""
    rows = []
    for key, label in AGE_LABELS.items():
        if key in est.extra:
            share = est.extra[key] / est.estimate if est.estimate > 0 else 0.0
            note = f"{share:.0%} of residents"
            if "age" in est.notes:
                note = est.notes["age"]
            rows.append((label, f"{est.extra[key]:,.0f}", note))
        elif key in est.unavailable:
            rows.append((label, "n/a", est.unavailable[key]))
    return rows


def _r(x: float) -> float:
    return round(float(x), 1)


def _clean(obj: Any) -> Any:
    """JSON-ready copy: shares rounded to 4 places, numpy scalars made plain, private keys
    (``_geometry``) left out."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float):
        return round(obj, 4)
    return obj


@dataclass
class Result:
    """The result of an analysis: the people counted, with provenance and warnings.

    Parameters
    ----------
    venue : dict
        The venue (``lat``, ``lon``, ``label``, ``source``...).
    catchment : dict
        The catchment (``kind``, ``radius_m``, ``area_km2``, ``description``...).
    layer : dict
        The layer counted (``name``, ``title``, ``source``, ``vintage``, ``licence``,
        ``attribution``, ``caveats``...).
    residents, workers : Estimate or None
        The people counted (None: unavailable).
    coverage_fraction : float
        The share of the catchment inside the layer's coverage.
    residents_unavailable, workers_unavailable : str or None
        Why a count is unavailable.
    warnings : list of str
        Warnings, in words.
    platform_rows : list of PlatformRow or None
        One row per platform, best first (None: platforms not evaluated).
    catchment_obj : Catchment or None
        The catchment behind the numbers, for drawing (not part of the JSON).
    layer_obj : PopulationLayer or None
        The layer behind the numbers, for drawing (not part of the JSON).
    """

    venue: dict[str, Any]
    catchment: dict[str, Any]
    layer: dict[str, Any]
    residents: Estimate | None
    workers: Estimate | None
    coverage_fraction: float
    residents_unavailable: str | None = None
    workers_unavailable: str | None = None
    warnings: list[str] = field(default_factory=list)
    platform_rows: list[PlatformRow] | None = None
    #: the objects behind the numbers, for drawing (not part of the JSON)
    catchment_obj: Catchment | None = field(default=None, repr=False)
    layer_obj: PopulationLayer | None = field(default=None, repr=False)

    @property
    def catchment_geometry(self) -> BaseGeometry | None:
        """The catchment polygon in WGS84 (lon, lat); None without the catchment object."""
        return None if self.catchment_obj is None else self.catchment_obj.wgs84

    def footprint_geometries(self) -> dict[str, BaseGeometry]:
        """Each evaluated platform's recommended footprint in WGS84, by platform id.

        Returns
        -------
        dict of str to shapely.geometry.base.BaseGeometry
            Platforms without a footprint are left out; empty without the layer object.
        """
        if not self.platform_rows or self.layer_obj is None:
            return {}

        from .platforms.feasibility import footprint_geometry
        from .projections import reproject

        out = {}
        for r in self.platform_rows:
            g = footprint_geometry(r)
            if g is not None:
                out[r["id"]] = reproject(g, self.layer_obj.crs, "EPSG:4326")
        return out

    @property
    def platforms(self) -> pd.DataFrame | None:
        """One row per platform (best first) as a pandas DataFrame, or None if not evaluated.

        The columns are :data:`PLATFORM_COLUMNS`, indexed by ``id``.
        """
        if self.platform_rows is None:
            return None
        frame: pd.DataFrame = platform_frame(self.platform_rows).set_index("id")
        return frame

    def to_dict(self) -> dict[str, Any]:
        """The result as the JSON contract :data:`SCHEMA` (plain values, ready for JSON).

        Returns
        -------
        dict
        """
        d: dict[str, Any] = {
            "schema": SCHEMA,
            "venue": self.venue,
            "catchment": self.catchment,
            "layer": self.layer,
            "residents": self.residents.to_dict() if self.residents else None,
        }
        if self.residents is None:
            d["residents_unavailable"] = self.residents_unavailable
        d["workers"] = self.workers.to_dict() if self.workers else None
        if self.workers is None:
            d["workers_unavailable"] = self.workers_unavailable
        d["coverage"] = {"fraction": round(self.coverage_fraction, 6)}
        d["warnings"] = list(self.warnings)
        if self.platform_rows is not None:
            d["platforms"] = [_clean(r) for r in self.platform_rows]
        return d

    def to_json(self, **kwargs: Any) -> str:
        """The result as JSON text (:meth:`to_dict`; NaN is refused).

        Parameters
        ----------
        **kwargs
            Passed to :func:`json.dumps` (e.g. ``indent=2``).

        Returns
        -------
        str
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, **kwargs)

    # -- human forms -------------------------------------------------------------------------
    def _table_note(self, label: str) -> str:
        """The workers table named beside the workers (``--workers-table``), else nothing."""
        table = self.layer.get("workers_table")
        if not label.startswith("Workers") or not isinstance(table, dict):
            return ""
        return f"; from {table.get('file')} where it lists the area (else Census 2021)"

    def _rows(self) -> list[tuple[str, str, str]]:
        rows: list[tuple[str, str, str]] = []
        for label, est, why in (
            ("Residents", self.residents, self.residents_unavailable),
            ("Workers travelling in", self.workers, self.workers_unavailable),
        ):
            if est is None:
                rows.append((label, "unavailable", why or ""))
            else:
                rows.append(
                    (
                        label,
                        f"{est.estimate:,.0f}",
                        f"range {est.low:,.0f} - {est.high:,.0f}; {est.zones:,} x {est.unit}; "
                        f"{est.method}" + self._table_note(label),
                    )
                )
                rows += _age_rows(est)
                if "home_workers" in est.extra:
                    rows.append(
                        (
                            "Home-workers",
                            f"{est.extra['home_workers']:,.0f}",
                            "work at or from home; already counted as residents",
                        )
                    )
        return rows

    def to_text(self) -> str:
        """The result as a plain-text table, with its sources, caveats and warnings."""
        v, c, lay = self.venue, self.catchment, self.layer
        lines = [
            f"Venue      {v.get('label') or ''} ({v['lat']:.5f}, {v['lon']:.5f}, "
            f"from {v['source']})",
            f"Catchment  {c['description']}, {c['area_km2']:.3f} km²",
            f"Layer      {lay['name']}: {lay['title']}",
            "",
        ]
        rows = self._rows()
        w = max(len(r[0]) for r in rows)
        wv = max(len(r[1]) for r in rows)
        for a, b, note in rows:
            lines.append(f"  {a:<{w}}  {b:>{wv}}   {note}")
        lines.append(
            f"  {'Coverage':<{w}}  {_pct(self.coverage_fraction):>{wv}}   of the catchment "
            "lies inside the layer's coverage"
        )
        lines += [
            "",
            f"Source     {lay['source']}",
            f"Vintage    {lay['vintage']}",
            f"Licence    {lay['licence']}",
        ]
        for a in lay.get("attribution", []):
            lines.append(f"           {a}")
        for cav in lay.get("caveats", []):
            lines.append(f"Caveat     {cav}")
        for wmsg in self.warnings:
            lines.append(f"WARNING    {wmsg}")
        if self.platform_rows is not None:
            lines += ["", self.platforms_text()]
        return "\n".join(lines)

    def platforms_text(self) -> str:
        """The platform table, best to worst, then each platform's advice."""
        if not self.platform_rows:
            return "Platforms: none evaluated"
        head = (
            "Platform",
            "Verdict",
            "Smallest footprint",
            "km²",
            "People",
            "Accounts",
            "Inside",
            "Wasted",
            "Money wasted",
            "Min audience",
        )
        rows: list[tuple[str, ...]] = []
        for r in self.platform_rows:
            fp, pe, ma = r.get("footprint") or {}, r.get("people") or {}, r["min_audience"]
            w = r.get("waste_share")
            lb = ">=" if r.get("waste_lower_bound") else ""
            money = r.get("waste_money")
            mtxt = f"{lb}{money['amount']:,.0f} {money['currency']}".strip() if money else ""
            if ma.get("required") is None:
                mtxt2 = "none documented"
            elif ma.get("applies_to", "location") != "location":
                mtxt2 = f"{ma['required']:,.0f}: lists only"
            else:
                mtxt2 = (
                    f"{ma['required']:,.0f}: "
                    f"{'met' if ma['met'] else 'NOT met' if ma['met'] is False else '?'}"
                )
            acc = r.get("accounts")
            atxt = f"{acc['low']:,}-{acc['high']:,}" if acc else "-"
            rows.append(
                (
                    r["id"],
                    r["verdict"],
                    fp.get("label", "none")[:40],
                    f"{fp['area_km2']:,.1f}" if fp.get("area_km2") is not None else "-",
                    f"{pe.get('total', 0):,}" if pe else "-",
                    atxt,
                    f"{r['share_inside']:.0%}" if r.get("share_inside") is not None else "-",
                    f"{lb}{_pct(w)}" if w is not None else "-",
                    mtxt,
                    mtxt2,
                )
            )
        widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
        out = ["  ".join(str(h).ljust(widths[i]) for i, h in enumerate(head))]
        out += ["  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)) for row in rows]
        out.append("")
        basis = {r["basis_label"] for r in self.platform_rows}
        out.append("People counted per platform: " + "; ".join(sorted(basis)))
        rs = self.platform_rows
        declared = next((r["special_category"] for r in rs if r.get("special_category")), None)
        if declared:  # the advertiser's declaration, and the platforms it changes
            restricted = [str(r["id"]) for r in rs if r.get("restricted_rules")]
            out.append(
                f"Special ad category declared: {declared}; "
                + (
                    f"judged on their restricted rules: {', '.join(restricted)}"
                    if restricted
                    else "no platform evaluated has restricted rules for it here"
                )
            )
        for r in self.platform_rows:
            for tip in r.get("advice", []):
                out.append(f"- {tip}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from .escape import html_text as e

        v, c, lay = self.venue, self.catchment, self.layer
        rows = "".join(
            f"<tr><th style='text-align:left'>{e(a)}</th><td style='text-align:right'>"
            f"{e(b)}</td><td>{e(n)}</td></tr>"
            for a, b, n in self._rows()
        )
        rows += (
            f"<tr><th style='text-align:left'>Coverage</th><td style='text-align:right'>"
            f"{self.coverage_fraction:.0%}</td><td>of the catchment inside the layer</td></tr>"
        )
        warn = "".join(f"<p style='color:#b00'><b>Warning:</b> {e(w)}</p>" for w in self.warnings)
        cav = "".join(f"<li>{e(x)}</li>" for x in lay.get("caveats", []))
        att = "<br>".join(e(x) for x in lay.get("attribution", []))
        return (
            f"<div><p><b>{e(str(v.get('label') or ''))}</b> ({v['lat']:.5f}, {v['lon']:.5f}) "
            f"&mdash; {e(c['description'])}, {c['area_km2']:.3f} km²</p>"
            f"<table>{rows}</table>{warn}"
            f"<p style='font-size:smaller'>{e(lay['name'])}: {e(lay['source'])}; "
            f"{e(lay['vintage'])}; {e(lay['licence'])}<br>{att}</p>"
            f"<ul style='font-size:smaller'>{cav}</ul></div>"
        )


def _pct(s: float) -> str:
    """A share as a percentage, with a decimal between 99% and 100% (never rounded up to
    100% when some of it is inside)."""
    from .render.style import fmt_share

    return fmt_share(s)


#: the columns of :attr:`Result.platforms` (and of the batch's platform table)
PLATFORM_COLUMNS = [
    "id",
    "name",
    "verdict",
    "footprint",
    "footprint_kind",
    "people",
    "residents",
    "workers",
    "live_and_work",
    "people_in_catchment",
    "accounts",
    "share_inside",
    "waste_share",
    "waste_lower_bound",
    "waste_money",
    "min_audience",
    "footprint_pool",
    "catchment_pool",
    "min_audience_met",
    "advice",
]


def platform_frame(platform_rows: list[PlatformRow]) -> pd.DataFrame:
    """One row per platform (as evaluated), the columns of :attr:`Result.platforms`.

    Parameters
    ----------
    platform_rows : list of PlatformRow
        The rows, as evaluated.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PLATFORM_COLUMNS`, one row per platform, in the order given.
    """
    import pandas as pd

    frame: pd.DataFrame = pd.DataFrame(platform_records(platform_rows), columns=PLATFORM_COLUMNS)
    return frame


def platform_records(platform_rows: list[PlatformRow]) -> list[dict[str, Any]]:
    """The table rows of :func:`platform_frame`, as dicts.

    Parameters
    ----------
    platform_rows : list of PlatformRow
        The rows, as evaluated.

    Returns
    -------
    list of dict
        One flat dict per platform, keyed by :data:`PLATFORM_COLUMNS`.
    """
    rows = []
    for r in platform_rows:
        fp, pe, ma = r.get("footprint") or {}, r.get("people") or {}, r["min_audience"]
        rows.append(
            {
                "id": r["id"],
                "name": r["name"],
                "verdict": r["verdict"],
                "footprint": fp.get("label"),
                "footprint_kind": fp.get("kind"),
                "people": pe.get("total"),
                "residents": pe.get("residents"),
                "workers": pe.get("workers"),
                "live_and_work": pe.get("live_and_work"),
                "people_in_catchment": pe.get("in_catchment"),
                "accounts": (r.get("accounts") or {}).get("estimate"),
                "share_inside": r.get("share_inside"),
                "waste_share": r.get("waste_share"),
                "waste_lower_bound": r.get("waste_lower_bound"),
                "waste_money": (r.get("waste_money") or {}).get("amount"),
                "min_audience": ma.get("required"),
                "footprint_pool": ma.get("footprint_pool"),
                "catchment_pool": ma.get("catchment_pool"),
                "min_audience_met": ma.get("met"),
                "advice": " ".join(r.get("advice", [])),
            }
        )
    return rows
