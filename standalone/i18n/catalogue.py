"""Translated text: catalogues on disk, plural forms, placeholders, en-GB fallback.

A catalogue is ``locales/<locale>/<area>.json``: one flat object per area, so each
part of the bot keeps its text in its own file. A key is ``<area>.<name>``. A value is
a string with ``{placeholders}``, or an object of plural forms (``one``, ``other``,
and any other CLDR category the language has) chosen by the ``count`` value.
"""

from __future__ import annotations

import functools
import logging
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from babel import Locale

from standalone.i18n.locales import DEFAULT, SUPPORTED, normalise

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"

Entry = str | dict[str, str]


def load_locale(locale: str, root: Path = LOCALES_DIR) -> dict[str, Entry]:
    """Every key of one locale's catalogue, read from its area files."""
    entries: dict[str, Entry] = {}
    folder = root / locale
    if not folder.is_dir():
        return entries
    for path in sorted(folder.glob("*.json")):
        area = path.stem
        data = msgspec.json.decode(path.read_bytes(), type=dict[str, Entry])
        for name, value in data.items():
            entries[f"{area}.{name}"] = value
    return entries


@functools.cache
def catalogue(locale: str) -> dict[str, Entry]:
    """One locale's catalogue, read once per process."""
    return load_locale(locale)


@functools.cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))


def plural_category(locale: str, count: int | float) -> str:
    """The CLDR plural category (``one``, ``other``, …) of ``count`` in ``locale``."""
    return str(_babel_locale(locale).plural_form(abs(count)))


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        # A translation naming a value the caller did not give shows it unfilled
        # rather than failing the answer; the locale lint keeps this from shipping.
        log.warning("i18n: no value for {%s}", key)
        return "{" + key + "}"


def lookup(locale: str, key: str) -> tuple[str, Entry] | None:
    """The entry for ``key`` in ``locale``, else in en-GB; with the locale it came from."""
    wanted = normalise(locale)
    for candidate in (wanted, DEFAULT):
        entry = catalogue(candidate).get(key)
        if entry is not None:
            return candidate, entry
    return None


def t(locale: str | None, key: str, /, **values: Any) -> str:
    """The text of ``key`` in ``locale`` (en-GB where it lacks one), filled with ``values``.

    A key found nowhere is logged and returned as is, so a missing translation
    shows up as text instead of failing the person's action.
    """
    found = lookup(normalise(locale), key)
    if found is None:
        log.warning("i18n: unknown key %r", key)
        return key
    source_locale, entry = found
    if isinstance(entry, dict):
        count = values.get("count", 0)
        form = plural_category(source_locale, count if isinstance(count, int | float) else 0)
        template = entry.get(form) or entry.get("other") or next(iter(entry.values()))
    else:
        template = entry
    # str.format_map is string.Formatter's parsing done in C: several times faster.
    return template.format_map(_Values(values))


def placeholders(entry: Entry) -> set[str]:
    """The ``{names}`` an entry fills (all plural forms together)."""
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {
        field.split(".")[0].split("[")[0]
        for text in texts
        for _, field, _, _ in string.Formatter().parse(text)
        if field
    }


def all_locales() -> Mapping[str, dict[str, Entry]]:
    """Each supported locale's catalogue."""
    return {locale: catalogue(locale) for locale in SUPPORTED}
