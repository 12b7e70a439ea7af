"""Which category /move means: typed text is plain text, never a pattern."""

from __future__ import annotations

from standalone.db.records import Category
from standalone.tickets.moving import matching, pick


def category(key: str, name: str) -> Category:
    return Category(
        key=key,
        guild_id="1",
        name=name,
        staff_roles=[],
        channel_name="ticket-{num}",
        opening_message="Hi",
        member_limit=1,
    )


EVERY = [category("a1", "Billing"), category("b2", "Bugs (beta)"), category("c3", "Sales.*")]


def test_autocomplete_matches_names_as_plain_text_in_any_case():
    assert matching(EVERY, "bIL") == {"Billing": "a1"}
    assert matching(EVERY, "(beta)") == {"Bugs (beta)": "b2"}
    assert matching(EVERY, ".*") == {"Sales.*": "c3"}
    assert matching(EVERY, "b.*") == {}
    assert len(matching([category(str(n), f"Cat {n}") for n in range(40)], "cat")) == 25


def test_a_choice_is_a_key_or_an_exact_name():
    assert pick(EVERY, "b2").key == "b2"
    assert pick(EVERY, " billing ").key == "a1"
    assert pick(EVERY, "Bill") is None
    assert pick(EVERY, "Sales.+") is None
