"""The HTML pages over real HTTP: server-side validation, CSRF refusals, who sees what.

Uses the http service's ``portal`` (tests/standalone/http/conftest.py): the service
on a socket, the stand-in with its OAuth, two tenants ("red", "blue").
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from standalone import keys
from standalone.db.settings import SettingsRepository
from standalone.db.tags import TagRepository
from standalone.db.tickets import TicketRepository
from storage.scoped import ScopedStore
from tests.standalone.http.conftest import Browser, Portal


async def get(browser: Browser, path: str) -> tuple[int, str, Any]:
    async with browser.session.get(browser.url(path), allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers


async def post(
    browser: Browser, path: str, form: list[tuple[str, str]], *, csrf: str | None = None
) -> tuple[int, str, Any]:
    """A form post as a browser sends it, with the session's CSRF token unless given."""
    fields = list(form)
    token = browser.csrf if csrf is None else csrf
    if token:
        fields.append(("csrf_token", token))
    async with browser.session.post(browser.url(path), data=fields, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers


def errors(html: str) -> dict[str, str]:
    """The messages the page shows next to fields, by field name."""
    found = re.findall(r'<p class="[^"]*" [^>]*data-error-for="([^"]*)">([^<]*)</p>', html)
    found += re.findall(r'<p class="error" id="[^"]*" data-error-for="([^"]*)">([^<]*)</p>', html)
    return {field: unescape(text) for field, text in found}


def guild_path(portal: Portal, tenant: str, section: str) -> str:
    return f"/t/{{t}}/guilds/{portal.worlds[tenant].guild.id}/{section}"


SETTINGS_OK = [
    ("archive", "off"),
    ("archive", "on"),
    ("claim_button", "off"),
    ("close_button", "off"),
    ("close_button", "on"),
    ("stale_after", "2d"),
    ("auto_close", "6h"),
    ("footer", "Hello"),
    ("colour", "#112233"),
]


async def test_a_logged_out_visitor_is_sent_to_log_in_and_back(portal: Portal):
    browser = portal.new_browser("red")
    status, html, _ = await get(browser, "/t/{t}/")
    assert status == 200 and 'id="login"' in html
    path = guild_path(portal, "red", "settings")
    status, _, headers = await get(browser, path)
    assert status == 302
    guild = portal.worlds["red"].guild.id
    assert headers["Location"] == f"/t/red/auth/login?next=/t/red/guilds/{guild}/settings"


async def test_settings_are_saved_and_every_bad_field_gets_its_message(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    path = guild_path(portal, "red", "settings")
    status, html, _ = await get(admin, path)
    assert status == 200 and 'name="csrf_token"' in html

    status, _, headers = await post(admin, path, SETTINGS_OK)
    assert status == 303 and headers["Location"].endswith("/settings?saved=settings")
    stored = await SettingsRepository(portal.backends.db, "red").guild(str(world.guild.id))
    assert (stored.footer, stored.colour, stored.claim_button) == ("Hello", 0x112233, False)
    assert stored.stale_after_ms == 2 * 86_400_000 and stored.auto_close_ms == 6 * 3_600_000

    bad = [
        ("log_channel", "999"),
        ("blocked_roles", "12345"),
        ("stale_after", "soon"),
        ("auto_close", "12h"),
        ("footer", "x" * 201),
        ("colour", "blue"),
    ]
    status, html, _ = await post(admin, path, bad)
    assert status == 422
    assert errors(html) == {
        "log_channel": "Choose one of the listed options.",
        "blocked_roles": "Not an option here: 12345.",
        "stale_after": "'soon' is not a duration; write it like 30m, 12h, 2d or 1h30m (or off).",
        "footer": "At most 200 characters (this has 201).",
        "colour": "A colour like #5865F2.",
    }
    # What was typed stays in the form, and nothing was saved.
    assert 'value="blue"' in html and 'value="12h"' in html
    again = await SettingsRepository(portal.backends.db, "red").guild(str(world.guild.id))
    assert again == stored


async def test_auto_close_can_be_turned_off(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    off = [(k, "off" if k == "auto_close" else v) for k, v in SETTINGS_OK]
    status, _, _ = await post(admin, guild_path(portal, "red", "settings"), off)
    assert status == 303
    stored = await SettingsRepository(portal.backends.db, "red").guild(str(world.guild.id))
    assert stored.auto_close_ms is None


async def test_a_form_post_without_the_right_csrf_token_is_refused(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    path = guild_path(portal, "red", "settings")
    before = await SettingsRepository(portal.backends.db, "red").guild(str(world.guild.id))
    for token in ("", "not-the-token"):
        status, html, _ = await post(admin, path, [*SETTINGS_OK], csrf=token)
        assert status == 403, html
        assert "security token is missing or wrong" in html
    # Another session's token is wrong for this one.
    other = await portal.login("red", world.staff)
    status, _, _ = await post(admin, path, SETTINGS_OK, csrf=other.csrf)
    assert status == 403
    after = await SettingsRepository(portal.backends.db, "red").guild(str(world.guild.id))
    assert after == before
    # Deleting a category is a form too.
    status, _, _ = await post(
        admin, guild_path(portal, "red", "categories/abc123/delete"), [], csrf=""
    )
    assert status == 403


async def test_categories_questions_reorder_and_delete(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    path = guild_path(portal, "red", "categories")
    status, html, _ = await post(
        admin, path, [("name", ""), ("mode", "channel"), ("member_limit", "0")]
    )
    assert status == 422
    assert errors(html)["name"] == "Required."
    assert errors(html)["member_limit"] == "A whole number from 1 to 50."
    form = [
        ("name", "Support"),
        ("mode", "channel"),
        ("channel_name", "ticket-{num}"),
        ("opening_message", "Hi"),
        ("member_limit", "1"),
        ("staff_roles", str(world.staff_role.id)),
    ]
    status, _, _ = await post(admin, path, form)
    assert status == 303
    status, html, _ = await post(admin, path, form)
    assert status == 422
    assert errors(html)["name"].lower() == "a category named 'support' exists already"

    repo = SettingsRepository(portal.backends.db, "red")
    (category,) = await repo.categories(str(world.guild.id))
    one = f"{path}/{category.key}"
    status, html, _ = await post(admin, one + "/questions", [("label", "Pick"), ("kind", "select")])
    assert status == 422
    assert errors(html) == {"options": "A menu needs 1 to 25 options, separated by commas."}
    for label in ("First", "Second"):
        status, _, _ = await post(
            admin, one + "/questions", [("label", label), ("kind", "short"), ("required", "on")]
        )
        assert status == 303
    first, second = await repo.questions(category.key)
    assert (first.label, second.label) == ("First", "Second")
    status, _, _ = await post(admin, f"{one}/questions/{second.key}/move", [("direction", "up")])
    assert status == 303
    assert [q.label for q in await repo.questions(category.key)] == ["Second", "First"]
    status, _, _ = await post(admin, f"{one}/questions/{first.key}/delete", [])
    assert status == 303
    assert [q.label for q in await repo.questions(category.key)] == ["Second"]
    status, html, _ = await get(admin, one)
    assert status == 200 and "Second" in html and "First" not in html

    status, _, _ = await post(admin, one + "/delete", [])
    assert status == 303
    assert await repo.categories(str(world.guild.id)) == []


async def test_tags_are_saved_checked_and_deleted(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    path = guild_path(portal, "red", "tags")
    status, html, _ = await post(admin, path, [("name", "Bad Name"), ("content", "")])
    assert status == 422
    assert errors(html) == {
        "name": "Use lower-case letters, digits, - and _ (up to 32).",
        "content": "Required.",
    }
    status, _, _ = await post(admin, path, [("name", "refunds"), ("content", "See our policy")])
    assert status == 303
    status, html, _ = await get(admin, path)
    assert "See our policy" in html
    (tag,) = await TagRepository(portal.backends.db, "red").list(str(world.guild.id))
    status, _, _ = await post(admin, f"{path}/{tag.key}/delete", [])
    assert status == 303
    assert await TagRepository(portal.backends.db, "red").list(str(world.guild.id)) == []


async def test_panel_form_checks_channel_and_categories(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    status, html, _ = await post(
        admin, guild_path(portal, "red", "panels"), [("channel", ""), ("style", "buttons")]
    )
    assert status == 422
    assert errors(html) == {"channel": "Choose one.", "categories": "Add a category first."}


async def test_members_and_other_tenants_cannot_open_admin_pages(portal: Portal):
    red = portal.worlds["red"]
    member = await portal.login("red", red.member)
    status, html, _ = await get(member, guild_path(portal, "red", "settings"))
    assert status == 403 and "Manage Server" in html
    status, _, _ = await post(member, guild_path(portal, "red", "settings"), SETTINGS_OK)
    assert status == 403
    # The member's own tickets page opens; the admin nav is not shown.
    status, html, _ = await get(member, guild_path(portal, "red", "tickets"))
    assert status == 200 and "/settings" not in html
    # A red session on a blue URL is not a blue session.
    status, _, _ = await get(member, f"/t/blue/guilds/{portal.worlds['blue'].guild.id}/settings")
    assert status == 302
    # Another tenant's guild under this tenant's URL is no server of this bot.
    admin = await portal.login("red", red.staff)
    status, html, _ = await get(admin, f"/t/red/guilds/{portal.worlds['blue'].guild.id}/settings")
    assert status == 404, html
    assert "No such server" in html


async def closed_ticket(portal: Portal, tenant: str, creator: Any, topic: str) -> int:
    """A closed ticket of ``creator`` with a stored transcript, as closing leaves it."""
    world = portal.worlds[tenant]
    guild = str(world.guild.id)
    settings = SettingsRepository(portal.backends.db, tenant)
    categories = await settings.categories(guild)
    category = categories[0] if categories else await settings.create_category(guild, "Help")
    repo = TicketRepository(portal.backends.db, tenant)
    ticket = await repo.create(
        guild,
        category.key,
        str(creator.id),
        f"i{creator.id}{topic}",
        portal.backends.cipher.encrypt(topic),
    )
    key = keys.transcript(guild, ticket.number)
    store = ScopedStore(portal.backends.store, tenant)
    await store.put(key, f"<h1>Transcript of {topic}</h1>".encode())
    await repo.mark_closed(ticket, key)
    return ticket.number


async def test_tickets_list_searches_and_transcripts_follow_the_access_rules(portal: Portal):
    world = portal.worlds["red"]
    mine = await closed_ticket(portal, "red", world.member, "Printer on fire")
    theirs = await closed_ticket(portal, "red", world.other, "Lost password")
    member = await portal.login("red", world.member)
    tickets = guild_path(portal, "red", "tickets")

    status, html, _ = await get(member, tickets)
    assert status == 200
    assert f'data-ticket="{mine}"' in html and f'data-ticket="{theirs}"' not in html
    status, html, headers = await get(member, f"{tickets}/{mine}/transcript")
    assert status == 200 and "<h1>Transcript of Printer on fire</h1>" in html
    assert "style-src 'unsafe-inline'" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
    status, html, _ = await get(member, f"{tickets}/{theirs}/transcript")
    assert status == 404 and "Lost password" not in html

    admin = await portal.login("red", world.staff)
    status, html, _ = await get(admin, tickets + "?q=password")
    assert f'data-ticket="{theirs}"' in html and f'data-ticket="{mine}"' not in html
    assert "Lost password" in html  # topics are shown decrypted
    status, html, _ = await get(admin, tickets + "?state=open")
    assert "No tickets match." in html
    status, html, _ = await get(admin, f"{tickets}/{theirs}/transcript")
    assert status == 200 and "Lost password" in html


async def test_an_oversized_form_is_refused_before_it_is_read(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    path = guild_path(portal, "red", "settings")
    status, html, _ = await post(admin, path, [*SETTINGS_OK, ("footer", "x" * 70_000)])
    assert status == 413, html
    stored = await SettingsRepository(portal.backends.db, "red").guild(str(world.guild.id))
    assert stored.footer is None


async def test_a_duplicate_tag_name_is_shown_next_to_the_name(portal: Portal):
    world = portal.worlds["red"]
    admin = await portal.login("red", world.staff)
    path = guild_path(portal, "red", "tags")
    form = [("name", "refunds"), ("content", "See our policy")]
    assert (await post(admin, path, form))[0] == 303
    status, html, _ = await post(admin, path, form)
    assert status == 422
    assert set(errors(html)) == {"name"} and "exists already" in errors(html)["name"]


async def test_staff_read_their_categorys_transcripts_only(portal: Portal):
    world = portal.worlds["red"]
    guild = str(world.guild.id)
    helpers = portal.discord.add_role(world.guild.id, name="Helpers", permissions=0)
    helper = portal.discord.add_member(world.guild.id, username="hana-red", roles=[helpers.id])
    settings = SettingsRepository(portal.backends.db, "red")
    await settings.create_category(guild, "Other")  # first: closed_ticket uses it
    await settings.create_category(guild, "Helped", staff_roles=[str(helpers.id)])
    other = await closed_ticket(portal, "red", world.member, "Not for helpers")
    helped_key = (await settings.categories(guild))[1].key
    repo = TicketRepository(portal.backends.db, "red")
    sealed = portal.backends.cipher.encrypt("For helpers")
    ticket = await repo.create(guild, helped_key, str(world.other.id), "i-helped", sealed)
    key = keys.transcript(guild, ticket.number)
    await ScopedStore(portal.backends.store, "red").put(key, b"<h1>For helpers</h1>")
    await repo.mark_closed(ticket, key)

    browser = await portal.login("red", helper)
    tickets = guild_path(portal, "red", "tickets")
    status, html, _ = await get(browser, tickets)
    assert f'data-ticket="{ticket.number}"' in html and f'data-ticket="{other}"' not in html
    status, html, _ = await get(browser, f"{tickets}/{ticket.number}/transcript")
    assert status == 200 and "For helpers" in html
    status, _, _ = await get(browser, f"{tickets}/{other}/transcript")
    assert status == 404
    # Staff, not admins: the settings pages stay closed.
    status, _, _ = await get(browser, guild_path(portal, "red", "settings"))
    assert status == 403
