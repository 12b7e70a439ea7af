"""/force-close: one ticket, this ticket, or every idle one after a confirmation."""

from __future__ import annotations

from standalone import keys
from standalone.db.settings import SettingsRepository
from tests.e2e.closing_flow import answer_text, closed, open_for, ticket_of
from tests.e2e.conftest import MANAGE_GUILD, TIMEOUT, eventually
from tests.e2e.test_closing import start

REFUSED = "Only staff of this ticket's category can force-close it."


async def force(discord, cast, user, options, channel_id):
    inter = await cast.world.actor(discord, user).slash(
        "force-close", options, channel_id=channel_id
    )
    return inter, await answer_text(inter)


async def open_many(discord, stack, cast, count):
    settings = SettingsRepository(stack.backends.db, cast.world.tenant)
    await settings.update_category(str(cast.world.guild.id), cast.category_key, member_limit=10)
    return [await open_for(discord, cast, f"topic number {n}") for n in range(count)]


async def test_force_close_one_ticket(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    first, _ = await open_many(discord, stack, cast, 2)
    people = cast.everyone()
    for name in ("creator", "added member", "other member", "other staff"):
        _, text = await force(discord, cast, people[name], {}, first)
        assert text == REFUSED, name
        _, text = await force(discord, cast, people[name], {"ticket": "2"}, world.support.id)
        assert text == REFUSED, name
    assert (await ticket_of(stack, world, first)).state == "open"

    _, text = await force(discord, cast, cast.staff, {"ticket": "#2", "reason": "dup"}, first)
    assert text == "Closing ticket #2; its transcript will be saved."
    done = await eventually(lambda: closed(stack, world, 2))
    assert done.closed_by == str(cast.staff.id)
    assert stack.backends.cipher.decrypt(done.close_reason) == "dup"
    assert (await ticket_of(stack, world, first)).state == "open"
    _, text = await force(discord, cast, cast.staff, {"ticket": "2"}, first)
    assert text == "There is no open ticket #2 in this server."
    _, text = await force(discord, cast, cast.staff, {"ticket": "two"}, first)
    assert text == "'two' is not a ticket number."
    _, text = await force(discord, cast, cast.admin, {}, world.support.id)
    assert text == "This channel is not a ticket."
    _, text = await force(discord, cast, cast.admin, {}, first)  # inside the ticket
    assert "Closing ticket #1" in text
    await eventually(lambda: closed(stack, world, 1))


async def test_lookups_stay_in_this_server(discord, stack):
    cast = await start(discord, stack)
    await open_for(discord, cast)
    world = cast.world
    elsewhere = discord.add_guild(name="Elsewhere")
    discord.install(world.app.id, elsewhere.id)
    boss_role = discord.add_role(elsewhere.id, name="Boss", permissions=MANAGE_GUILD)
    boss = discord.add_member(elsewhere.id, "boss", roles=[boss_role.id])
    room = discord.add_channel(elsewhere.id, name="general")
    inter = await discord.actor(world.app.id, elsewhere.id, boss.id).slash(
        "force-close", {"ticket": "1"}, channel_id=room.id
    )
    assert await answer_text(inter) == "There is no open ticket #1 in this server."
    suggest = await discord.actor(world.app.id, elsewhere.id, boss.id).autocomplete(
        "force-close", {"ticket": ""}, "ticket", channel_id=room.id
    )
    assert (await suggest.response(timeout=TIMEOUT))["data"]["choices"] == []
    assert (await closed(stack, world, 1)) is None


async def test_autocomplete_lists_open_tickets_and_takes_text_literally(discord, stack):
    cast = await start(discord, stack)
    await open_many(discord, stack, cast, 2)

    async def suggestions(user, typed, option="ticket"):
        inter = await cast.world.actor(discord, user).autocomplete(
            "force-close", {option: typed}, option, channel_id=cast.world.support.id
        )
        return (await inter.response(timeout=TIMEOUT))["data"]["choices"]

    listed = await suggestions(cast.staff, "")
    assert [c["value"] for c in listed] == ["1", "2"]
    assert listed[0]["name"] == "Support #1 - topic number 0"
    assert [c["value"] for c in await suggestions(cast.staff, "number 1")] == ["2"]
    assert await suggestions(cast.staff, "(.*[") == []  # not a pattern
    assert await suggestions(cast.other_staff, "") == []  # not their category
    assert await suggestions(cast.creator, "") == []
    categories = await suggestions(cast.other_staff, "", "category")
    assert [c["name"] for c in categories] == ["Billing"]
    assert len(await suggestions(cast.admin, "", "category")) == 2


async def test_bulk_close_of_idle_tickets_is_confirmed_first(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    channels = await open_many(discord, stack, cast, 3)
    db = stack.backends.db
    # All three are three days old; only #3 had a message since (an hour ago).
    await db.run(
        "UPDATE ticket SET created_at = time::now() - 3d WHERE tenant = $t;"
        "UPDATE ticket SET last_message_at = time::now() - 1h WHERE tenant = $t AND number = 3;",
        {"t": world.tenant},
    )
    for options, refusal in (
        ({"time": "soon"}, "'soon' is not a time."),
        ({"time": "0m"}, "The time must be longer than zero."),
        ({"time": "2d", "ticket": "1"}, "Give either a ticket or a time, not both."),
        ({"category": cast.category_key}, "The category option only goes with the time option."),
        ({"time": "5d"}, "No open ticket has been idle that long."),
        ({"time": "2d", "category": "nope"}, "No such category in this server."),
        (
            {"time": "2d", "category": cast.other_category_key},
            "Only staff of that category can force-close its tickets.",
        ),
    ):
        _, text = await force(discord, cast, cast.staff, options, world.support.id)
        assert text.startswith(refusal), (options, text)
    _, text = await force(discord, cast, cast.creator, {"time": "2d"}, world.support.id)
    assert text == "Only staff can force-close tickets."

    inter, text = await force(discord, cast, cast.staff, {"time": "2d"}, world.support.id)
    (prompt,) = await inter.followups(count=1, timeout=TIMEOUT)
    assert (
        "#1" in prompt["embeds"][0]["description"]
        and "#3" not in prompt["embeds"][0]["description"]
    )
    yes, no = (c["custom_id"] for row in prompt["components"] for c in row["components"])
    key = yes.split(":")[1]
    assert await stack.backends.coordination.cache.get(keys.force_close(world.tenant, key))

    other = await world.actor(discord, cast.admin).click(int(prompt["id"]), yes)
    assert await answer_text(other) == "Only the member who ran /force-close can answer this."
    cancel = await world.actor(discord, cast.staff).click(int(prompt["id"]), no)
    # The stand-in's members read en-US: the reply spells it the US way.
    assert await answer_text(cancel) == "Canceled; no ticket was closed."
    late = await world.actor(discord, cast.staff).click(int(prompt["id"]), yes)
    assert await answer_text(late) == "This confirmation has expired. Run /force-close again."
    assert all([(await ticket_of(stack, world, c)).state == "open" for c in channels])

    inter, _ = await force(
        discord, cast, cast.staff, {"time": "1d 12h", "reason": "old"}, world.support.id
    )
    (prompt,) = await inter.followups(count=1, timeout=TIMEOUT)
    yes = prompt["components"][0]["components"][0]["custom_id"]
    confirm = await world.actor(discord, cast.staff).click(int(prompt["id"]), yes)
    assert await answer_text(confirm) == "Closed 2 ticket(s)."
    for number in (1, 2):
        done = await closed(stack, world, number)
        assert done is not None and done.closed_by == str(cast.staff.id)
        assert stack.backends.cipher.decrypt(done.close_reason) == "old"
    assert (await ticket_of(stack, world, channels[2])).state == "open"
