"""The log channel: every kind of entry, once per event, in the guild's locale, within limits."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from emulation.discord import FakeDiscord
from standalone.db.archive import ArchiveRepository
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.tickets import audit, custom_ids
from tests.e2e.conftest import TIMEOUT, World, eventually, make_world
from tests.e2e.flow import bot_messages, button, open_ticket, post_panel
from tests.e2e.test_opening import said


def entries(discord: FakeDiscord, world: World, channel_id: int, title: str) -> list[Any]:
    """The bot's log messages whose embed has ``title``."""
    return [
        m
        for m in bot_messages(discord, world, channel_id)
        if m.embeds and m.embeds[0].get("title") == title
    ]


async def entry(discord: FakeDiscord, world: World, channel_id: int, title: str) -> Any:
    """Wait for the one entry titled ``title``; fails on a second one."""

    async def found() -> Any:
        matching = entries(discord, world, channel_id, title)
        assert len(matching) <= 1, f"{title!r} posted {len(matching)} times"
        return matching[0] if matching else None

    return await eventually(found)


def fields(message: Any) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


def within_limits(message: Any) -> None:
    embed = message.embeds[0]
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    for field in embed.get("fields", []):
        assert len(field["value"]) <= 1024 and len(field["name"]) <= 256
        total += len(field["value"]) + len(field["name"])
    assert total <= 6000


async def settled(discord: FakeDiscord, world: World, channel_id: int) -> list[Any]:
    """The log channel once the worker has had time to post any (wrong) second entry."""
    await asyncio.sleep(0.5)
    return bot_messages(discord, world, channel_id)


async def setup(discord: FakeDiscord, stack: Any, name: str, **guild: Any) -> tuple[World, Any]:
    world = make_world(discord, name)
    await stack.add(world)
    await stack.start()
    log = discord.add_channel(world.guild.id, name="ticket-log")
    await SettingsRepository(stack.backends.db, world.tenant).update_guild(
        str(world.guild.id), log_channel=str(log.id), **guild
    )
    return world, log


async def redeliver(discord: FakeDiscord, world: World, event: str, payload: dict[str, Any]):
    """The gateway hands the same event over again (at-least-once delivery)."""
    await discord.dispatch(world.app.id, event, payload)


async def test_every_ticket_event_is_logged_once(discord, stack):
    world, log = await setup(discord, stack, "logs")
    panel = await post_panel(discord, world)
    channel_id = await open_ticket(discord, world, panel, "My printer is on fire")
    opened = await entry(discord, world, log.id, "Ticket #1 opened")
    assert fields(opened)["Opened by"] == f"<@{world.member.id}>"
    assert fields(opened)["Topic"] == "My printer is on fire"
    assert fields(opened)["Channel"] == f"<#{channel_id}>"

    staff = world.actor(discord, world.staff)
    claim = await staff.slash("claim", {}, channel_id=channel_id)
    assert "claimed" in await said(claim)
    claimed = await entry(discord, world, log.id, "Ticket #1 claimed")
    assert fields(claimed)["By"] == f"<@{world.staff.id}>"
    # The claim delivered again finds its entry: no second one.
    await redeliver(discord, world, "INTERACTION_CREATE", claim.payload)
    release = await staff.slash("release", {}, channel_id=channel_id)
    assert "no longer claimed" in await said(release)
    await entry(discord, world, log.id, "Ticket #1 released")

    member = world.actor(discord, world.member)
    note = await member.send_message(channel_id, "the printer model is X-100")
    await member.edit_message(channel_id, note.id, "the printer model is X-200")
    edited = await entry(discord, world, log.id, "Message edited in ticket #1")
    change = fields(edited)["Change"]
    assert "- the printer model is X-100" in change and "+ the printer model is X-200" in change
    assert fields(edited)["Author"] == f"<@{world.member.id}>"

    gone = await member.send_message(channel_id, "my password is hunter2")
    await eventually(lambda: _archived(stack, world, gone.id))
    await member.delete_message(channel_id, gone.id)
    deleted = await entry(discord, world, log.id, "Message deleted in ticket #1")
    assert "my password is hunter2" in fields(deleted)["Message"]
    payload = {"id": str(gone.id), "channel_id": str(channel_id), "guild_id": str(world.guild.id)}
    await redeliver(discord, world, "MESSAGE_DELETE", payload)

    opening = bot_messages(discord, world, channel_id)[0]
    form = await (await member.click(opening.id, button(opening, "edit:"))).response(
        timeout=TIMEOUT
    )
    saved = await member.submit_modal(
        form["data"]["custom_id"],
        {custom_ids.TOPIC_FIELD: "My printer is on fire, and smoking"},
        channel_id=channel_id,
    )
    assert "saved" in await said(saved)
    updated = await entry(discord, world, log.id, "Ticket #1 updated")
    topic = fields(updated)["Topic"]
    assert "- My printer is on fire" in topic and "+ My printer is on fire, and smoking" in topic

    log_messages = await settled(discord, world, log.id)
    titles = [m.embeds[0]["title"] for m in log_messages]
    assert titles == [
        "Ticket #1 opened",
        "Ticket #1 claimed",
        "Ticket #1 released",
        "Message edited in ticket #1",
        "Message deleted in ticket #1",
        "Ticket #1 updated",
    ]
    for message in log_messages:
        within_limits(message)
        assert message.embeds[0]["footer"]["text"].startswith("#")
    # Nothing of the bot's own messages (its opening message, claim notices) is logged.
    assert not any("claimed this ticket" in str(m.embeds) for m in log_messages)


async def _archived(stack, world, message_id):
    return await ArchiveRepository(stack.backends.db, world.tenant).get(str(message_id))


async def test_entries_are_in_the_guilds_locale_and_fit_discords_limits(discord, stack):
    world, log = await setup(discord, stack, "locale", locale="de")
    panel = await post_panel(discord, world)
    channel_id = await open_ticket(discord, world, panel, "Drucker brennt")
    opened = await entry(discord, world, log.id, "Ticket #1 eröffnet")
    assert fields(opened)["Eröffnet von"] == f"<@{world.member.id}>"
    member = world.actor(discord, world.member)
    long = await member.send_message(channel_id, "a" * 2000)
    await member.edit_message(channel_id, long.id, "b" * 2000)
    edited = await entry(discord, world, log.id, "Nachricht in Ticket #1 bearbeitet")
    within_limits(edited)
    change = fields(edited)["Änderung"]
    assert change.startswith("```diff\n- aaa") and change.endswith("\n```")
    assert "+ bbb" in change

    # The server's settings, by command: auto-close turned off shows in words.
    admin = world.actor(discord, world.staff)
    answer = await said(
        await admin.slash("settings", {"auto_close": "off"}, channel_id=world.support.id)
    )
    assert answer.startswith("Saved."), answer
    changed = await entry(discord, world, log.id, "Servereinstellungen geändert")
    assert fields(changed)["Automatisch schließen"] == "12 Stunden → aus"
    assert fields(changed)["Von"] == f"<@{world.staff.id}>"
    settings = SettingsRepository(stack.backends.db, world.tenant)
    assert (await settings.guild(str(world.guild.id))).auto_close_ms is None


async def test_category_changes_by_command_are_logged_with_names_and_mentions(discord, stack):
    world, log = await setup(discord, stack, "category")
    await post_panel(discord, world)
    settings = SettingsRepository(stack.backends.db, world.tenant)
    (category,) = await settings.categories(str(world.guild.id))
    helpers = discord.add_role(world.guild.id, name="Helpers")
    admin = world.actor(discord, world.staff)
    edit = await admin.slash(
        "category edit",
        {
            "category": category.key,
            "staff_roles": f"<@&{helpers.id}>",
            "auto_close": "2h",
            "name": "Printers",
        },
        channel_id=world.support.id,
    )
    assert (await said(edit)).startswith("Saved."), await said(edit)
    changed = await entry(discord, world, log.id, "Category Printers changed")
    shown = fields(changed)
    assert shown["Staff roles"] == f"Added: <@&{helpers.id}>\nRemoved: <@&{world.staff_role.id}>"
    assert shown["Auto-close"] == "server default → 2 hours"
    assert f"- {category.name}" in shown["Name"] and "+ Printers" in shown["Name"]
    delete = await admin.slash(
        "category delete", {"category": category.key}, channel_id=world.support.id
    )
    assert "Deleted" in await said(delete)
    await entry(discord, world, log.id, "Category Printers deleted")


async def test_a_deleted_log_channel_does_not_stop_the_ticket(discord, stack):
    world, log = await setup(discord, stack, "nolog")
    discord.delete_channel(log.id)
    panel = await post_panel(discord, world)
    channel_id = await open_ticket(discord, world, panel, "Still works")
    claim = await world.actor(discord, world.staff).slash("claim", {}, channel_id=channel_id)
    assert "claimed" in await said(claim)
    admin = world.actor(discord, world.staff)
    answer = await said(
        await admin.slash("settings", {"claim_button": False}, channel_id=world.support.id)
    )
    assert answer.startswith("Saved."), answer
    assert not (
        await SettingsRepository(stack.backends.db, world.tenant).guild(str(world.guild.id))
    ).claim_button


async def test_ticket_updates_show_members_category_names_priority_and_topic(discord, stack):
    """What staff tools report through ``audit.ticket_updated``, as the log shows it."""
    world, log = await setup(discord, stack, "updates")
    panel = await post_panel(discord, world)
    await open_ticket(discord, world, panel, "short topic")
    ctx = stack.runner.apps[world.tenant].ctx
    guild = str(world.guild.id)
    settings = SettingsRepository(stack.backends.db, world.tenant)
    (support,) = await settings.categories(guild)
    billing = await settings.create_category(guild, "Billing")
    (before,) = await TicketRepository(stack.backends.db, world.tenant).tickets()
    before = msgspec.structs.replace(before, added_members=["101", "102"], priority=None)
    after = msgspec.structs.replace(
        before,
        added_members=["102", "103"],
        category=billing.key,
        priority="high",
        topic=ctx.cipher.encrypt("a much longer topic " * 100),
        close_reason=ctx.cipher.encrypt("never shown"),
    )
    posted = await audit.ticket_updated(ctx, before, after, str(world.staff.id), "event-1")
    assert posted is not None
    # The same event again (a redelivery) finds its entry.
    assert await audit.ticket_updated(ctx, before, after, str(world.staff.id), "event-1") == posted
    (message,) = entries(discord, world, log.id, "Ticket #1 updated")
    within_limits(message)
    shown = fields(message)
    assert shown["Members"] == "Added: <@103>\nRemoved: <@101>"
    assert shown["Category"] == f"{support.name} → Billing"
    assert shown["Priority"] == "none → 🔴 high"
    assert "- short topic" in shown["Topic"] and "+ a much longer topic" in shown["Topic"]
    assert len(shown["Topic"]) < 400  # cut short
    assert "never shown" not in str(message.embeds) and "Close" not in str(shown)
    # No change, no entry.
    assert await audit.ticket_updated(ctx, after, after, str(world.staff.id), "event-2") is None
    assert len(bot_messages(discord, world, log.id)) == 2  # opened, updated
