"""One layer for every user-facing text: catalogues per locale, plurals, fallback to en-GB."""

from standalone.i18n.catalogue import t
from standalone.i18n.commands import CatalogueLocalisations, choices, localised, option
from standalone.i18n.locales import DEFAULT, SUPPORTED, normalise, supported
from standalone.i18n.text import Text

__all__ = [
    "DEFAULT",
    "SUPPORTED",
    "CatalogueLocalisations",
    "Text",
    "choices",
    "localised",
    "normalise",
    "option",
    "supported",
    "t",
]
