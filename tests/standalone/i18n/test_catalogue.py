"""The i18n layer: lookup, fallback, plural forms, placeholders, locale names."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from standalone.i18n import DEFAULT, SUPPORTED, Text, normalise, supported, t
from standalone.i18n.catalogue import load_locale, lookup, placeholders, plural_category


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("en-GB", "en-GB"),
        ("en-US", "en-US"),
        ("EN_us", "en-US"),
        ("de", "de"),
        ("de-AT", "de"),
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("es", "es-ES"),
        ("es-419", "es-ES"),
        ("ja", DEFAULT),
        ("", DEFAULT),
        (None, DEFAULT),
    ],
)
def test_normalise_maps_any_spelling_to_a_supported_locale(
    given: str | None, expected: str
) -> None:
    assert normalise(given) == expected


def test_supported_says_none_for_a_language_the_bot_does_not_speak() -> None:
    assert supported("ja") is None
    assert supported("pt-BR") is None
    assert supported("de") == "de"
    assert supported("en-US") == "en-US"


def test_text_comes_in_the_asked_locale() -> None:
    assert t("de", "common.not_a_ticket") == "Dieser Kanal ist kein Ticket."
    assert t("fr", "common.not_a_ticket").startswith("Ce salon")


def test_an_unsupported_locale_falls_back_to_en_gb() -> None:
    assert t("ja", "common.not_a_ticket") == t(DEFAULT, "common.not_a_ticket")


def test_a_key_missing_in_a_locale_falls_back_to_en_gb_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "area.json").write_text(json.dumps({"a": "A-de"}))
    assert load_locale("de", tmp_path) == {"area.a": "A-de"}
    assert lookup("de", "common.not_a_ticket") is not None


def test_an_unknown_key_is_shown_as_itself_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert t("de", "nowhere.at_all") == "nowhere.at_all"
    assert "nowhere.at_all" in caplog.text


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("en-GB", 1, "1 ticket"),
        ("en-GB", 0, "0 tickets"),
        ("en-GB", 2, "2 tickets"),
        ("de", 1, "1 Ticket"),
        ("de", 5, "5 Tickets"),
        # French counts 0 as singular, unlike English.
        ("fr", 0, "0 ticket"),
        ("fr", 1, "1 ticket"),
        ("fr", 2, "2 tickets"),
        ("es-ES", 1, "1 ticket"),
    ],
)
def test_plural_forms_follow_each_language(locale: str, count: int, expected: str) -> None:
    assert t(locale, "common.tickets", count=count) == expected


def test_plural_categories_come_from_cldr() -> None:
    assert plural_category("fr", 0) == "one"
    assert plural_category("en-GB", 0) == "other"


def test_a_missing_value_is_left_unfilled_not_raised() -> None:
    assert t("en-GB", "common.tickets", count=2) == "2 tickets"
    assert "{count}" in Text("common.tickets").render("en-GB") or "tickets" in Text(
        "common.tickets"
    ).render("en-GB")


def test_values_are_never_read_as_templates() -> None:
    # A member's text passed as a value stays literal, braces and all.
    rendered = t("en-GB", "common.tickets", count="{__class__}")
    assert "{__class__}" in rendered


def test_text_renders_nested_text_in_the_same_locale() -> None:
    outer = Text("common.tickets", count=3)
    assert outer.render("de") == "3 Tickets"
    assert Text("common.not_a_ticket") == Text("common.not_a_ticket")


def test_placeholders_are_read_from_every_plural_form() -> None:
    assert placeholders({"one": "{count} x", "other": "{count} {name}"}) == {"count", "name"}


def test_every_supported_locale_has_a_catalogue() -> None:
    for locale in SUPPORTED:
        assert load_locale(locale), locale
