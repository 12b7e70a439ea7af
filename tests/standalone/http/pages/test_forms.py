"""Form parsing: every bad field gets its own message, good values come back typed."""

from __future__ import annotations

from multidict import MultiDict

from standalone.http.pages.errors import PageError
from standalone.http.pages.forms import FORM_ERROR, Form


def posted(**values: str | list[str]) -> Form:
    data: MultiDict[str] = MultiDict()
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(key, item)
    return Form.posted("f", data, values.keys())


def test_every_bad_field_is_reported_at_once():
    form = posted(name="", limit="zero", colour="blue", wait="soon", pick="nope")
    assert form.text("name", required=True) is None
    assert form.integer("limit", 1, 50) is None
    assert form.colour("colour") is None
    assert form.duration("wait") == (False, None)
    assert form.choice("pick", ("a", "b")) is None
    assert set(form.errors) == {"name", "limit", "colour", "wait", "pick"}
    assert form.errors["name"] == "Required."
    assert form.errors["limit"] == "A whole number from 1 to 50."
    assert "30m, 12h, 2d" in form.errors["wait"]
    assert not form.ok


def test_good_values_come_back_typed():
    form = posted(name=" Support ", limit="3", colour="#00ff00", wait="1h30m", off="off")
    assert form.text("name", required=True) == "Support"
    assert form.integer("limit", 1, 50) == 3
    assert form.colour("colour") == 0x00FF00
    assert form.duration("wait") == (True, 5_400_000)
    assert form.duration("off") == (True, None)
    assert form.ok


def test_integer_out_of_range_and_too_long_text():
    form = posted(limit="51", footer="x" * 201)
    assert form.integer("limit", 1, 50) is None
    assert form.text("footer", max_len=200) is None
    assert form.errors["footer"] == "At most 200 characters (this has 201)."


def test_a_checkbox_posts_off_then_on_and_the_last_wins():
    assert posted(archive=["off", "on"]).flag("archive")
    assert not posted(archive=["off"]).flag("archive")


def test_subset_refuses_values_the_page_did_not_offer():
    form = posted(roles=["1", "2", "2"])
    assert form.subset("roles", {"1", "2"}) == ["1", "2"]
    bad = posted(roles=["1", "999"])
    assert bad.subset("roles", {"1"}) == []
    assert bad.errors["roles"] == "Not an option here: 999."


def test_refusals_land_next_to_their_field_or_on_the_form():
    form = Form("f")
    form.refused(PageError("must be 1 to 50 characters", field="name"), ["name"], {})
    form.refused(PageError("a category named 'A' exists already"), ["name"], {})
    form.refused(
        PageError("need 0 <= min", field="stale_after_ms"), ["stale"], {"stale_after_ms": "stale"}
    )
    assert form.errors["name"] == "Must be 1 to 50 characters"
    assert form.errors[FORM_ERROR] == "A category named 'A' exists already"
    assert form.errors["stale"] == "Need 0 <= min"


def test_fields_not_asked_for_are_ignored():
    data: MultiDict[str] = MultiDict({"name": "a", "guild_id": "1"})
    form = Form.posted("f", data, ["name"])
    assert form.value("guild_id") == ""
    assert form.value("name") == "a"
