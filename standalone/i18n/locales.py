"""The languages the bot speaks, named as Discord names them."""

from __future__ import annotations

DEFAULT = "en-GB"
# Complete catalogues: every en-GB key exists in each (checked by the locale lint).
SUPPORTED: tuple[str, ...] = ("en-GB", "en-US", "de", "fr", "es-ES")

# Short or regional names people type (or Discord sends) for a supported locale.
_ALIASES = {"en": "en-GB", "es": "es-ES", "es-419": "es-ES", "de-de": "de", "fr-fr": "fr"}


def normalise(locale: str | None) -> str:
    """The supported locale closest to ``locale`` (any case, ``_`` or ``-``); else en-GB."""
    if not locale:
        return DEFAULT
    wanted = locale.strip().replace("_", "-").lower()
    for known in SUPPORTED:
        if known.lower() == wanted:
            return known
    if wanted in _ALIASES:
        return _ALIASES[wanted]
    language = wanted.split("-", 1)[0]
    for known in SUPPORTED:
        if known.lower().split("-", 1)[0] == language:
            return known
    return DEFAULT


def supported(locale: str | None) -> str | None:
    """``locale`` as a supported locale, or None when the bot does not speak it."""
    if not locale:
        return None
    found = normalise(locale)
    if found == DEFAULT and not locale.lower().replace("_", "-").startswith("en"):
        return None
    return found
