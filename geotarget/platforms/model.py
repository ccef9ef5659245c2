"""The platforms' rules as data: platforms, their footprint options, usage shares, provenance.

:mod:`geotarget.platforms.catalogue` reads and validates them; everything else reads these
objects.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

#: footprint kinds, from the tightest to the widest; ``other`` is an option geotarget cannot
#: measure (pins near drivers, distance-ranked listings...), shown with the reason
KINDS = ("radius", "postcode", "place", "country", "other")
#: the special ad categories an advertiser may declare (``--special-category``)
SPECIAL_CATEGORIES = ("housing", "employment", "financial")
#: what a minimum audience applies to: the location audience of a campaign, or customer lists
MIN_APPLIES_TO = ("location", "customer_lists")
#: a rule read longer ago than this is flagged as possibly stale
STALE_AFTER_DAYS = 365


@dataclass(frozen=True)
class Provenance:
    """Where a rule comes from: its source, when it was read and how sure it is.

    Parameters
    ----------
    source : str
        The document (a URL, usually) the value was read in.
    read : str
        When it was read, ``YYYY-MM`` or ``YYYY-MM-DD``.
    confidence : str
        One of :data:`~geotarget.platforms.validate.CONFIDENCE`.
    published : str or None
        When the source was published, where it says.
    """

    source: str
    read: str
    confidence: str
    published: str | None = None

    def stale(self, today: dt.date | None = None) -> bool:
        """Whether the rule was read more than :data:`STALE_AFTER_DAYS` before ``today``.

        Parameters
        ----------
        today : datetime.date, optional
            The date to judge from (default: today).

        Returns
        -------
        bool
        """
        return _date(self.read) < (today or dt.date.today()) - dt.timedelta(days=STALE_AFTER_DAYS)

    def to_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        """The provenance as JSON-ready values, with ``possibly_stale`` where it is stale.

        Parameters
        ----------
        today : datetime.date, optional
            The date to judge staleness from (default: today).

        Returns
        -------
        dict
            ``source``, ``read``, ``confidence`` and, where they apply, ``published`` and
            ``possibly_stale``.
        """
        d: dict[str, Any] = {
            "source": self.source,
            "read": self.read,
            "confidence": self.confidence,
        }
        if self.published:
            d["published"] = self.published
        if self.stale(today):
            d["possibly_stale"] = True
        return d


@dataclass(frozen=True)
class Footprint:
    """One targeting option of a platform: the kind of area it lets an advertiser target.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    prov : Provenance
        Where the rule comes from.
    countries : tuple of str or None
        The countries the option is open in (``None``: everywhere not named elsewhere).
    min_m, max_m : tuple of float
        Radius options: the smallest and largest radius in metres, one per allowed unit.
    units : tuple of str
        The unit of each ``min_m`` then each ``max_m`` entry.
    whole_numbers : bool
        Radius options: whether a radius is set in whole numbers of its unit.
    min_people : float or None
        Radius options: the people the platform widens a circle to hold, at least.
    level : str or None
        Postcode options: one of :data:`~geotarget.platforms.validate.POSTCODE_LEVELS`.
    levels : tuple of str
        Place options: some of :data:`~geotarget.platforms.validate.PLACE_LEVELS`.
    max_locations : int or None
        How many such areas one campaign may target.
    note : str
        The rule in words.
    managed : bool
        Offered only through an account manager or to some advertisers' accounts: measured
        and shown, but recommended only when the advertiser declares a managed account.
    min_known : bool
        Radius options: whether the smallest radius is documented (False: ``min_m`` is a
        working assumption, said so in the advice).
    """

    kind: str
    prov: Provenance
    countries: tuple[str, ...] | None = None
    min_m: tuple[float, ...] = ()  # radius: one per allowed unit
    max_m: tuple[float, ...] = ()
    units: tuple[str, ...] = ()  # unit of each min/max entry
    whole_numbers: bool = False
    min_people: float | None = None
    level: str | None = None  # postcode
    levels: tuple[str, ...] = ()  # place
    max_locations: int | None = None
    note: str = ""
    managed: bool = False
    min_known: bool = True


@dataclass(frozen=True)
class Special:
    """A platform entry holding the restricted rules for special ad categories.

    When the advertiser declares one of ``categories``, this entry is judged instead of the
    general entry ``replaces`` (in ``countries``, where given).

    Parameters
    ----------
    categories : tuple of str
        Among :data:`SPECIAL_CATEGORIES`.
    replaces : str
        The id of the platform's general entry.
    countries : tuple of str or None
        The targeted countries the restricted rules apply in (``None``: wherever declared).
    prov : Provenance
        Where the rule comes from.
    note : str
        The rule in words.
    """

    categories: tuple[str, ...]
    replaces: str
    countries: tuple[str, ...] | None
    prov: Provenance
    note: str = ""

    def applies(self, category: str | None, country: str | None) -> bool:
        """Whether these rules apply to ``category`` declared for a venue in ``country``.

        Parameters
        ----------
        category : str or None
            The declared special ad category (None: none declared).
        country : str or None
            The targeted country (ISO 3166 alpha-2).

        Returns
        -------
        bool
        """
        return (
            category is not None
            and category in self.categories
            and (self.countries is None or country in self.countries)
        )


@dataclass(frozen=True)
class Usage:
    """The share of a country's people who use a platform.

    Parameters
    ----------
    share : float
        The share, in (0, 1].
    denominator : str
        Whom the share is of (e.g. ``"adults"``).
    what : str
        What counts as using the platform.
    prov : Provenance
        Where the share comes from.
    """

    share: float
    denominator: str
    what: str
    prov: Provenance


@dataclass
class Platform:
    """An ad platform's rules for location targeting.

    Parameters
    ----------
    id : str
        The platform's id in the catalogue (e.g. ``"meta"``).
    name : str
        Its name in words.
    footprints : list of Footprint
        Its targeting options.
    meaning : str
        What "in this location" means, as set by default (one of
        :data:`~geotarget.platforms.validate.MEANINGS`).
    meaning_options : tuple of str
        The meanings the advertiser can choose between.
    meaning_prov : Provenance
        Where the meaning comes from.
    meaning_note : str
        The meaning in words.
    min_audience : float or None
        The smallest audience the platform runs a campaign for (``None``: not documented).
    min_counts : str
        What the minimum counts (people, accounts, members...).
    min_note : str
        The minimum in words.
    min_prov : Provenance
        Where the minimum comes from.
    min_of : str
        ``"audience"`` (the segment share applies) or ``"geography"``.
    min_applies_to : str
        ``"location"`` (checked against the footprint) or ``"customer_lists"`` (a minimum
        size of customer-list audiences: shown as information, never checked for a place).
    usage : dict of str to Usage
        Sourced usage shares, by ISO 3166 alpha-2 country.
    conflicts : list of dict
        Sources that disagree with a value (``field``, ``value`` and their provenance).
    advice : list of str
        The catalogue's own advice for the platform.
    special : Special or None
        Set on an entry holding the restricted rules of special ad categories.
    """

    id: str
    name: str
    footprints: list[Footprint]
    meaning: str
    meaning_options: tuple[str, ...]
    meaning_prov: Provenance
    meaning_note: str
    min_audience: float | None
    min_counts: str
    min_note: str
    min_prov: Provenance
    min_of: str = "audience"  # "audience" (segment applies) or "geography"
    min_applies_to: str = "location"
    usage: dict[str, Usage] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    special: Special | None = None

    def footprints_for(self, country: str | None) -> list[Footprint]:
        """The footprint options open in ``country``.

        Entries naming the country replace the general entries of their kind.

        Parameters
        ----------
        country : str or None
            ISO 3166 alpha-2 code (``None``: unknown).

        Returns
        -------
        list of Footprint
            In the order of :data:`KINDS`.
        """
        out = []
        for kind in KINDS:
            entries = [f for f in self.footprints if f.kind == kind]
            specific = [f for f in entries if f.countries and country in f.countries]
            general = [f for f in entries if not f.countries]
            out += specific if specific else general
        return out

    def provenances(self) -> list[Provenance]:
        """The provenance of every rule of the platform.

        Returns
        -------
        list of Provenance
            Footprints, location meaning, minimum audience, then usage shares.
        """
        return (
            [f.prov for f in self.footprints]
            + [self.meaning_prov, self.min_prov]
            + [u.prov for u in self.usage.values()]
            + ([self.special.prov] if self.special else [])
        )

    def stale(self, today: dt.date | None = None) -> bool:
        """Whether any of the platform's rules may be stale (see :meth:`Provenance.stale`).

        Parameters
        ----------
        today : datetime.date, optional
            The date to judge from (default: today).

        Returns
        -------
        bool
        """
        return any(p.stale(today) for p in self.provenances())


@dataclass
class Catalogue:
    """The platforms' rules, with the verdict scale.

    Parameters
    ----------
    platforms : dict of str to Platform
        The platforms, by id.
    good_below : float
        A waste share below this is ``good``.
    workable_below : float
        A waste share below this (and not below ``good_below``) is ``workable``.
    verdict_prov : Provenance
        Where the verdict scale comes from.
    files : list of str
        The rules files read, the built-in one first.
    """

    platforms: dict[str, Platform]
    good_below: float
    workable_below: float
    verdict_prov: Provenance
    files: list[str]


@functools.lru_cache(maxsize=1024)
def _date(text: str) -> dt.date:
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if not m:
        raise ValueError(text)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))


#: one platform's row (:meth:`geotarget.platforms.feasibility.Evaluator.evaluate`): the JSON
#: contract's ``platforms`` entry, plus private keys (``_geometry``) left out of the JSON
PlatformRow = dict[str, Any]
