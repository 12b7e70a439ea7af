"""Suggestions compare what was typed as plain text and stay within Discord's limits."""

from __future__ import annotations

import pytest

from standalone.tickets.autocomplete import MAX_CHOICES, choice, found

HOSTILE = [".*", "(", "[", "%", "_", "'", '"', "\\", "$tenant", "' OR 1=1 --", "🎫", "\u0000"]


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_input_matches_only_where_it_literally_occurs(typed: str):
    assert not found(typed, "Billing #12 - printer on fire")
    assert found(typed, f"a name with {typed} inside")


def test_casefolded_substring():
    assert found("STRASSE", "Straße")  # casefold, not lower
    assert found("  bill ", "Billing")
    assert found("", "anything")


def test_choices_fit_discord():
    long = choice("x" * 300, "y" * 300)
    assert len(long.name) == 100 and len(long.value) == 100
    assert choice("   ", "7").name == "7"  # a name may not be empty
    assert MAX_CHOICES == 25
