"""Every complete locale against en-GB and against Discord's limits for commands."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import regex

from standalone.i18n import DEFAULT, SUPPORTED
from standalone.i18n.catalogue import all_locales, placeholders, plural_category

ROOT = Path(__file__).resolve().parents[3]
# Discord's rule for command and option names (CHAT_INPUT), from its API reference.
NAME = regex.compile(r"^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")
SAMPLE_COUNTS = (0, 1, 2, 3, 5, 11, 21, 100, 101, 1000000)


def _is_command_key(key: str) -> bool:
    """Command names, options and descriptions live in areas named ``cmd…``."""
    return key.split(".", 1)[0].startswith("cmd")


def _catalogues() -> dict[str, dict[str, object]]:
    return {locale: dict(entries) for locale, entries in all_locales().items()}


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED if loc != DEFAULT])
def test_every_en_gb_key_exists_in_each_complete_locale(locale: str) -> None:
    catalogues = _catalogues()
    missing = sorted(set(catalogues[DEFAULT]) - set(catalogues[locale]))
    extra = sorted(set(catalogues[locale]) - set(catalogues[DEFAULT]))
    assert not missing, f"{locale} lacks {missing}"
    assert not extra, f"{locale} has keys en-GB does not: {extra}"


@pytest.mark.parametrize("locale", SUPPORTED)
def test_translations_fill_the_same_placeholders_as_en_gb(locale: str) -> None:
    catalogues = _catalogues()
    wrong = [
        key
        for key, entry in catalogues[locale].items()
        if key in catalogues[DEFAULT]
        and placeholders(entry) - placeholders(catalogues[DEFAULT][key])  # type: ignore[arg-type]
    ]
    assert not wrong, f"{locale}: placeholders not in en-GB: {wrong}"


@pytest.mark.parametrize("locale", SUPPORTED)
def test_plural_entries_have_every_form_the_language_needs(locale: str) -> None:
    needed = {plural_category(locale, n) for n in SAMPLE_COUNTS}
    for key, entry in _catalogues()[locale].items():
        if isinstance(entry, dict):
            assert needed <= set(entry), f"{locale} {key}: needs forms {sorted(needed)}"
            assert "{count}" in "".join(entry.values()), f"{locale} {key}: plural without count"


@pytest.mark.parametrize("locale", SUPPORTED)
def test_command_names_and_descriptions_fit_discord(locale: str) -> None:
    for key, entry in _catalogues()[locale].items():
        if not _is_command_key(key):
            continue
        assert isinstance(entry, str), f"{locale} {key}: commands take no plural forms"
        if key.endswith(".name"):
            assert entry == entry.lower(), f"{locale} {key}: {entry!r} must be lowercase"
            assert NAME.match(entry), f"{locale} {key}: {entry!r} is not a valid command name"
        elif key.endswith(".description"):
            assert 1 <= len(entry) <= 100, f"{locale} {key}: {len(entry)} characters"
        elif key.endswith(".label"):
            # A message or user command's name: any case and spaces, but 32 characters.
            assert 1 <= len(entry) <= 32, f"{locale} {key}: {len(entry)} characters"
        else:
            assert 1 <= len(entry) <= 100, f"{locale} {key}: {len(entry)} characters"


def _keys_used_in_source() -> set[str]:
    """String literals passed as the key of Text(...), t(locale, ...) or localised(...)."""
    used: set[str] = set()
    for path in (ROOT / "standalone").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = {"Text": 0, "localised": 0, "t": 1}.get(name or "")
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                used.add(arg.value)
    return used


def test_every_key_the_code_names_exists_in_en_gb() -> None:
    known = set(_catalogues()[DEFAULT])
    missing = sorted(_keys_used_in_source() - known)
    assert not missing, f"keys used in code but not in en-GB: {missing}"
