"""/tag and /tags through the stand-in: posting, staff-only management, refusals, suggestions."""

from __future__ import annotations

from typing import Any

from standalone.db.settings import SettingsRepository
from standalone.db.tags import TagRepository
from tests.e2e.closing_flow import answer_text
from tests.e2e.conftest import TIMEOUT
from tests.e2e.test_closing import start


async def tags_says(discord, cast, user, command: str, options: dict[str, Any]) -> str:
    inter = await cast.world.actor(discord, user).slash(
        command, options, channel_id=cast.world.support.id
    )
    return await answer_text(inter)


async def suggestions(discord, world, user, command: str, option: str, typed: str) -> list:
    inter = await world.actor(discord, user).autocomplete(
        command, {option: typed}, option, channel_id=world.support.id
    )
    return (await inter.response(timeout=TIMEOUT))["data"]["choices"]


async def saved_tags(stack, world) -> list:
    return await TagRepository(stack.backends.db, world.tenant).list(str(world.guild.id))


async def test_staff_keep_tags_and_everyone_else_is_refused(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    create = "tags create"
    for name in ("creator", "added member", "other member"):
        person = cast.everyone()[name]
        for command, options in (
            (create, {"name": "faq", "content": "Read the FAQ"}),
            ("tags list", {}),
            ("tags delete", {"tag": "faq"}),
            ("tags auto-reply", {"tickets": False}),
        ):
            text = await tags_says(discord, cast, person, command, options)
            assert text == "Only staff can manage tags.", (name, command)
    assert await saved_tags(stack, world) == []

    # Staff of any category and admins may.
    assert await tags_says(
        discord, cast, cast.staff, create, {"name": "faq", "content": "Read the FAQ\\nthen ask"}
    ) == ("Tag faq saved.")
    assert await tags_says(
        discord, cast, cast.other_staff, create, {"name": "refund", "content": "Refunds: 14 days"}
    ) == ("Tag refund saved.")
    (faq, refund) = await saved_tags(stack, world)
    assert faq.content == "Read the FAQ\nthen ask"

    refusals = {
        "A tag named FAQ exists already.": {"name": "FAQ", "content": "again"},
        "The name must be 1 to 32 characters long, without spaces around it.": {
            "name": "n" * 33,
            "content": "x",
        },
        "The pattern may be at most 200 characters long.": {
            "name": "long",
            "content": "x",
            "pattern": "a" * 201,
        },
        "The pattern takes too long on some messages; make it simpler.": {
            "name": "slow",
            "content": "x",
            "pattern": "((a{1,3}){1,5}){1,9}$",
        },
    }
    for expected, options in refusals.items():
        assert await tags_says(discord, cast, cast.admin, create, options) == expected
    bad = await tags_says(
        discord, cast, cast.admin, create, {"name": "bad", "content": "x", "pattern": "(unclosed"}
    )
    assert bad.startswith("The pattern is not a valid regular expression: "), bad
    nested = await tags_says(
        discord, cast, cast.admin, create, {"name": "nested", "content": "x", "pattern": "(a+)+$"}
    )
    assert nested.startswith("The pattern repeats a part that repeats itself"), nested
    # Nothing half-saved by any refusal.
    assert [t.name for t in await saved_tags(stack, world)] == ["faq", "refund"]

    edit = "tags edit"
    assert await tags_says(discord, cast, cast.staff, edit, {"tag": faq.key}) == (
        "Give a new name, content or pattern to change."
    )
    assert await tags_says(
        discord, cast, cast.staff, edit, {"tag": "FAQ", "pattern": "(a|b+)*+c"}
    ) == (
        "The pattern repeats a part that repeats itself, like (a+)+. That can take very long "
        "on some messages; write it without the nesting."
    )
    assert (
        await tags_says(discord, cast, cast.staff, edit, {"tag": "faq", "name": "Refund"})
        == "A tag named Refund exists already."
    )
    assert (
        await tags_says(
            discord, cast, cast.staff, edit, {"tag": faq.key, "name": "help", "pattern": "^help"}
        )
        == "Tag help changed."
    )
    assert await tags_says(discord, cast, cast.staff, edit, {"tag": "nope", "name": "x"}) == (
        "There is no tag called nope in this server."
    )
    listed = await tags_says(discord, cast, cast.staff, "tags list", {})
    assert listed == "2 tags:\n• `help` (^help)\n• `refund`"
    assert await tags_says(discord, cast, cast.admin, "tags delete", {"tag": refund.key}) == (
        "Tag refund deleted."
    )
    assert await tags_says(discord, cast, cast.admin, "tags delete", {"tag": refund.key}) == (
        f"There is no tag called {refund.key} in this server."
    )
    assert [t.name for t in await saved_tags(stack, world)] == ["help"]


async def test_tag_posts_its_content_and_pings_only_the_member_named(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    await tags_says(
        discord, cast, cast.staff, "tags create", {"name": "faq", "content": "Read the FAQ"}
    )
    # Anyone may post a tag; the member named is the only one pinged.
    inter = await world.actor(discord, cast.creator).slash(
        "tag", {"tag": "faq", "member": cast.other.id}, channel_id=world.support.id
    )
    response = await inter.response(timeout=TIMEOUT)
    assert response["type"] == 4
    data = response["data"]
    assert not data.get("flags")  # public, in the channel
    assert data["content"] == f"<@{cast.other.id}>"
    assert data["embeds"][0]["description"] == "Read the FAQ"
    assert [str(u) for u in data["allowed_mentions"]["users"]] == [str(cast.other.id)]
    assert not data["allowed_mentions"].get("roles") and not data["allowed_mentions"].get("parse")

    plain = await world.actor(discord, cast.other).slash(
        "tag", {"tag": "FAQ"}, channel_id=world.support.id
    )
    data = (await plain.response(timeout=TIMEOUT))["data"]
    assert data["embeds"][0]["description"] == "Read the FAQ" and not data.get("content")
    assert data["allowed_mentions"] == {"parse": []}

    missing = await world.actor(discord, cast.creator).slash(
        "tag", {"tag": "rules"}, channel_id=world.support.id
    )
    assert await answer_text(missing) == "There is no tag called rules in this server."


async def test_suggestions_take_what_is_typed_as_plain_text(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    repo = TagRepository(stack.backends.db, world.tenant)
    guild = str(world.guild.id)
    names = ["100% sure", "it's fine", "🎫 tickets", "(brackets)", "Dot.star", "plain"]
    for name in names:
        await repo.create(guild, name, "x", None)
    for n in range(30):
        await repo.create(guild, f"bulk {n:02}", "x", None)

    async def names_for(typed: str) -> list[str]:
        found = await suggestions(discord, world, cast.creator, "tag", "tag", typed)
        assert len(found) <= 25
        assert all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in found)
        return [c["name"] for c in found]

    assert await names_for("%") == ["100% sure"]
    assert await names_for("'") == ["it's fine"]
    assert await names_for("🎫") == ["🎫 tickets"]
    assert await names_for("(") == ["(brackets)"]
    assert await names_for(".*") == []
    assert await names_for("DOT.") == ["Dot.star"]
    assert await names_for("t.s") == ["Dot.star"]  # a dot is a dot
    assert await names_for("") == sorted([*names, *(f"bulk {n:02}" for n in range(30))])[:25]
    # Those starting with the text come first: 30 bulk tags leave no room for "(brackets)".
    by_b = await names_for("B")
    assert by_b == [f"bulk {n:02}" for n in range(25)]
    # Another server's tags are never suggested.
    elsewhere = discord.add_guild(name="Elsewhere")
    discord.install(world.app.id, elsewhere.id)
    room = discord.add_channel(elsewhere.id, name="general")
    stranger = discord.add_member(elsewhere.id, "stranger")
    inter = await discord.actor(world.app.id, elsewhere.id, stranger.id).autocomplete(
        "tag", {"tag": ""}, "tag", channel_id=room.id
    )
    assert (await inter.response(timeout=TIMEOUT))["data"]["choices"] == []


async def test_tags_are_per_guild(discord, stack):
    cast = await start(discord, stack)
    settings = SettingsRepository(stack.backends.db, cast.world.tenant)
    elsewhere = discord.add_guild(name="Elsewhere")
    discord.install(cast.world.app.id, elsewhere.id)
    room = discord.add_channel(elsewhere.id, name="general")
    stranger = discord.add_member(elsewhere.id, "stranger")
    await tags_says(discord, cast, cast.staff, "tags create", {"name": "faq", "content": "x"})
    (faq,) = await saved_tags(stack, cast.world)
    # The key of another server's tag finds nothing here.
    inter = await discord.actor(cast.world.app.id, elsewhere.id, stranger.id).slash(
        "tag", {"tag": faq.key}, channel_id=room.id
    )
    assert await answer_text(inter) == f"There is no tag called {faq.key} in this server."
    assert (await settings.guild(str(elsewhere.id))).auto_tag_tickets
