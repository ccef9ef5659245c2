"""The advertiser's platform options, validated once.

They pass as one frozen object through every stage that judges platforms (one venue, many
venues, the CLI, the batch table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .model import SPECIAL_CATEGORIES

if TYPE_CHECKING:
    from ..layers.base import PopulationLayer

#: default share of the catchment's people a set of postcode districts must cover
POSTCODE_COVERAGE = 0.95


def _real(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@dataclass(frozen=True)
class PlatformOptions:
    """What the advertiser tells geotarget about the campaign.

    Parameters
    ----------
    budget
        Spend, to turn the waste share into money wasted (a number >= 0).
    currency
        Currency of ``budget`` (e.g. ``"GBP"``); needs ``budget``.
    segment_share
        Share of people in the audience segment, in (0, 1], for the minimum-audience check.
    postcode_coverage
        Share of the catchment's people a set of postcode districts must cover, in (0, 1];
        ``None``: the default (0.95).
    country
        ISO 3166 alpha-2 country for the platforms' rules when the layer does not say.
    rules
        A rules file (TOML) extending the built-in catalogue.
    rule_overrides
        Single-rule overrides such as ``"meta.radius_min=1km"``.
    special_category
        The special ad category the ads fall in, as the advertiser declares it to the
        platforms (one of :data:`~geotarget.platforms.model.SPECIAL_CATEGORIES`: housing,
        employment, financial -- financial products and services, credit included).  Every
        platform with restricted rules for it is judged on those rules; without it, no
        restricted row appears.
    managed_account
        The advertiser has a managed account (an account manager, or an account in a country
        an option is limited to): options offered only that way may be recommended.

    Raises
    ------
    InputError
        On the first bad value, with a one-line message that says what to give.
    """

    budget: float | None = None
    currency: str = ""
    segment_share: float | None = None
    postcode_coverage: float | None = None
    country: str | None = None
    rules: str | Path | None = None
    rule_overrides: tuple[str, ...] = ()
    special_category: str | None = None
    managed_account: bool = False

    def __post_init__(self) -> None:
        s, b, pc, c = self.segment_share, self.budget, self.postcode_coverage, self.country
        if s is not None and not (isinstance(s, (int, float)) and 0 < s <= 1):
            raise InputError(f"segment share {s!r} must be a share in (0, 1], e.g. 0.004 for 0.4%")
        if b is not None and isinstance(b, (int, float)) and (not math.isfinite(b) or b < 0):
            raise InputError(f"budget {b!r} must be a number >= 0")
        if c is not None and not (isinstance(c, str) and len(c) == 2 and c.isalpha()):
            raise InputError(f"country {c!r}: give an ISO 3166 alpha-2 code such as GB")
        if b is not None and not _real(b):
            raise InputError(f"budget {b!r} must be a number")
        if s is not None and not _real(s):
            raise InputError(f"segment share {s!r} must be a number in (0, 1]")
        if self.currency and b is None:
            raise InputError("--currency needs --budget (the spend to turn into money wasted)")
        if pc is not None and (not _real(pc) or not 0 < pc <= 1):
            raise InputError(f"postcode coverage {pc!r} must be in (0, 1]: a share such as 0.95")
        overrides = self.rule_overrides
        overrides = (overrides,) if isinstance(overrides, str) else overrides
        if not isinstance(overrides, (list, tuple)) or not all(
            isinstance(o, str) for o in overrides
        ):
            raise InputError(f"rule overrides {overrides!r}: give a list of 'ID.FIELD=VALUE' texts")
        object.__setattr__(self, "rule_overrides", tuple(overrides))
        sc = self.special_category
        if sc is not None:
            if not isinstance(sc, str) or sc.strip().lower() not in SPECIAL_CATEGORIES:
                raise InputError(
                    f"special category {sc!r}: use one of {', '.join(SPECIAL_CATEGORIES)} "
                    "(financial: financial products and services, credit included)"
                )
            object.__setattr__(self, "special_category", sc.strip().lower())
        if not isinstance(self.managed_account, bool):
            raise InputError(f"managed account {self.managed_account!r}: use True or False")
        if c is not None:
            object.__setattr__(self, "country", c.upper())

    @classmethod
    def from_kwargs(cls, options: PlatformOptions | None = None, **kwargs: Any) -> PlatformOptions:
        """``options`` itself, or the options built from keyword arguments.

        Parameters
        ----------
        options : PlatformOptions, optional
            Options already built.
        **kwargs
            The fields of :class:`PlatformOptions` (``None``, ``False``, empty text and empty
            tuples are dropped).

        Returns
        -------
        PlatformOptions

        Raises
        ------
        InputError
            When both are given, or a value is invalid.
        """
        given = {
            k: v
            for k, v in kwargs.items()
            if v is not None and v is not False and v != "" and v != ()
        }
        if options is not None:
            if given:
                raise InputError(
                    f"give the platform options as options= or as keywords, not "
                    f"both ({', '.join(given)})"
                )
            return options
        return cls(**given)

    def check_layer(self, layer: PopulationLayer | None) -> None:
        """Check ``country`` against the layer's own country.

        Parameters
        ----------
        layer : PopulationLayer or None
            The layer the platforms are judged on.

        Raises
        ------
        InputError
            When ``country`` is given and contradicts the layer's country.
        """
        if (
            self.country is not None
            and layer is not None
            and layer.country
            and (self.country != layer.country)
        ):
            raise InputError(
                f"--country {self.country} contradicts layer {layer.name}, which "
                f"is in {layer.country}: --country is for layers whose country is "
                "unknown"
            )

    @property
    def wanted(self) -> bool:
        """Whether anything here asks for the platform stage (rules, overrides, a special ad
        category or a managed account)."""
        return (
            self.rules is not None
            or bool(self.rule_overrides)
            or self.special_category is not None
            or self.managed_account
        )

    def evaluation(self) -> dict[str, Any]:
        """Keyword arguments for the evaluator: the options that change a platform row."""
        return {
            "country": self.country,
            "segment_share": self.segment_share,
            "budget": self.budget,
            "currency": self.currency,
            "postcode_coverage": self.postcode_coverage,
            "special_category": self.special_category,
            "managed_account": self.managed_account,
        }
