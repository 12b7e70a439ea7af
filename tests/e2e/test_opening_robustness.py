"""Opening survives a delivery that dies half-way, and refuses contexts it did not make."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import disnake
import pytest

from emulation.discord import Overwrite
from emulation.discord import permissions as perms
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import eventually, make_world
from tests.e2e.flow import bot_messages, button
from tests.e2e.forge import COMPONENT
from tests.e2e.test_opening import (
    TIMEOUT,
    admin_says,
    field_ids,
    make_category,
    only_ticket,
    post,
    said,
)


@pytest.fixture
async def world(discord, stack):
    built = make_world(discord, "alpha")
    await stack.add(built)
    await stack.start()
    return built


async def forged_click(discord, world, template: Any, custom_id: str, values: list[str]) -> Any:
    """A menu choice on ``template``'s message with a custom id the bot never made."""
    payload = copy.deepcopy(template.payload)
    new_id = discord.world.ids.next()
    payload.update(
        id=str(new_id),
        token=discord.world.new_interaction_token(new_id),
        type=COMPONENT,
        data={"custom_id": custom_id, "component_type": 3, "values": values},
    )
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)
    return discord.interaction(new_id)


def crash_once(monkeypatch, owner: type, name: str) -> asyncio.Event:
    """Make ``owner.name`` fail the first time, as if the process died there."""
    original = getattr(owner, name)
    crashed = asyncio.Event()

    async def failing(self, *args, **kwargs):
        if not crashed.is_set():
            crashed.set()
            raise ConnectionError(f"went away during {name}")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return crashed


@pytest.mark.parametrize(
    ("owner", "step"),
    [
        (TicketRepository, "save_answers"),
        (TicketRepository, "update_fields"),
        (disnake.http.HTTPClient, "add_user_to_thread"),
    ],
)
async def test_a_thread_ticket_opened_by_a_retry_is_whole(
    discord, stack, world, monkeypatch, owner, step
):
    helpdesk = discord.add_channel(world.guild.id, name="helpdesk")
    await make_category(discord, world, "Support", mode="thread", thread_channel=str(helpdesk.id))
    added = await admin_says(
        discord, world, "question add", {"category": "Support", "label": "Order number"}
    )
    assert "Order number" in added
    panel = await post(discord, world)
    member = world.actor(discord, world.member)
    form = await (await member.click(panel.id, button(panel, "open:"))).response(timeout=TIMEOUT)
    (order,) = field_ids(form)
    crashed = crash_once(monkeypatch, owner, step)
    submit = await member.submit_modal(
        form["data"]["custom_id"], {order: "A-1234"}, channel_id=world.support.id
    )
    assert (await said(submit)).startswith("Your ticket is open")
    assert crashed.is_set()
    ticket = await only_ticket(stack, world)
    # Closing archives a thread ticket and deletes a channel: the flag must be right.
    assert ticket.thread and ticket.state == "open"
    (thread,) = discord.threads(helpdesk.id)
    assert world.member.id in discord.thread_members(thread.id)
    answers = await TicketRepository(stack.backends.db, world.tenant).answers(ticket)
    assert [stack.backends.cipher.decrypt(a.value) for a in answers] == ["A-1234"]
    assert len(bot_messages(discord, world, thread.id)) == 1


@pytest.mark.parametrize("mode", ["channel", "thread"])
@pytest.mark.parametrize(
    ("owner", "step"),
    [(TicketRepository, "mark_open"), (disnake.http.HTTPClient, "delete_message")],
)
async def test_the_opening_message_is_pinned_without_a_pin_notice_even_on_a_retry(
    discord, stack, world, monkeypatch, mode, owner, step
):
    helpdesk = discord.add_channel(world.guild.id, name="helpdesk")
    edits: dict[str, Any] = {"require_topic": False}
    if mode == "thread":
        edits.update(mode="thread", thread_channel=str(helpdesk.id))
    await make_category(discord, world, **edits)
    panel = await post(discord, world)
    # The retry pins a pinned message (Discord: no new notice) and finds the notice again.
    crashed = crash_once(monkeypatch, owner, step)
    answer = await said(
        await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    )
    assert answer.startswith("Your ticket is open"), answer
    ticket = await only_ticket(stack, world)
    assert ticket.state == "open" and ticket.thread == (mode == "thread")
    channel_id = int(ticket.channel_id)

    # The notice is deleted when its MESSAGE_CREATE reaches the bot, which may be
    # just after the member was answered (and, crashed once there, on its retry).
    async def notice_gone() -> bool:
        return [m.type for m in discord.messages(channel_id)] == [0]

    await eventually(notice_gone)
    assert crashed.is_set()
    (opening,) = bot_messages(discord, world, channel_id)  # no "pinned a message" left
    assert str(opening.id) == ticket.opening_message_id
    assert opening.pinned_at is not None


async def test_contexts_the_bot_did_not_offer_are_refused(discord, stack, world):
    """A made-up custom id cannot copy another server's message, or any message, into a ticket."""
    await make_category(discord, world)  # a topic form
    await make_category(discord, world, "Orders", require_topic=False)
    assert "Order number" in await admin_says(
        discord, world, "question add", {"category": "Orders", "label": "Order number"}
    )
    repo = await _settings(stack, world)
    categories = await repo.categories(str(world.guild.id))
    billing, orders = (next(c for c in categories if c.name == n) for n in ("Billing", "Orders"))
    (question,) = await repo.questions(orders.key)
    # The same bot in a second server, where something private is said.
    elsewhere = discord.add_guild(name="Elsewhere", owner_name="eve")
    discord.install(world.app.id, elsewhere.id)
    secret_channel = discord.add_channel(elsewhere.id, name="board")
    eve = discord.add_member(elsewhere.id, username="eve-board")
    secret = await discord.actor(world.app.id, elsewhere.id, eve.id).send_message(
        secret_channel.id, "The merger closes on Friday"
    )
    member = world.actor(discord, world.member)

    copied = await member.submit_modal(
        f"topic:{billing.key}.m{secret_channel.id}-{secret.id}",
        {"topic": "please look at this"},
        channel_id=world.support.id,
    )
    assert "only refer to a message you picked" in await said(copied)
    as_dm = await member.submit_modal(
        f"questions:{orders.key}.d{secret_channel.id}-{secret.id}",
        {question.key: "A-1"},
        channel_id=world.support.id,
    )
    assert "not from this bot" in await said(as_dm)
    assert await TicketRepository(stack.backends.db, world.tenant).tickets() == []


async def test_a_made_up_message_context_cannot_reach_a_channel_the_member_cannot_see(
    discord, stack, world
):
    await make_category(discord, world)  # a topic form, so the context rides in its id
    billing = (await (await _settings(stack, world)).categories(str(world.guild.id)))[0]
    hidden = discord.add_channel(world.guild.id, name="staff-only")
    discord.world.set_overwrite(
        hidden, Overwrite(id=world.guild.id, type=0, deny=perms.VIEW_CHANNEL)
    )
    discord.world.set_overwrite(
        hidden, Overwrite(id=world.staff_role.id, type=0, allow=perms.VIEW_CHANNEL)
    )
    secret = await world.actor(discord, world.staff).send_message(hidden.id, "Raise for Sam")
    member, other = world.actor(discord, world.member), world.actor(discord, world.other)

    forged = await member.submit_modal(
        f"topic:{billing.key}.m{hidden.id}-{secret.id}",
        {"topic": "what is this about"},
        channel_id=world.support.id,
    )
    assert "only refer to a message you picked" in await said(forged)
    # A message Discord offered one member is not offered to another.
    public = await other.send_message(world.support.id, "My order never came")
    form = await (
        await member.message_command("Create ticket from message", world.support.id, public.id)
    ).response(timeout=TIMEOUT)
    assert form["type"] == 9, form
    borrowed = await other.submit_modal(
        form["data"]["custom_id"], {"topic": "mine too"}, channel_id=world.support.id
    )
    assert "only refer to a message you picked" in await said(borrowed)
    assert await TicketRepository(stack.backends.db, world.tenant).tickets() == []
    # The member it was offered to opens the ticket with it.
    opened = await member.submit_modal(
        form["data"]["custom_id"], {"topic": "about this order"}, channel_id=world.support.id
    )
    assert (await said(opened)).startswith("Your ticket is open")
    assert (await only_ticket(stack, world)).references_message == str(public.id)


async def test_only_staff_can_post_a_create_for_user_prompt_even_with_a_made_up_menu(
    discord, stack, world
):
    await make_category(discord, world, require_topic=False)
    await make_category(discord, world, "Orders", require_topic=False)
    panel = await post(discord, world, style="menu")
    (menu,) = [c for row in panel.components for c in row["components"]]
    other = world.actor(discord, world.other)
    real = await other.select(panel.id, menu["custom_id"], [menu["options"][0]["value"]])
    assert (await said(real)).startswith("Your ticket is open")
    before = len(bot_messages(discord, world, world.support.id))
    forged = await forged_click(
        discord, world, real, f"pick:f{world.member.id}", [menu["options"][1]["value"]]
    )
    assert "Only staff" in await said(forged)
    assert len(bot_messages(discord, world, world.support.id)) == before


async def _settings(stack, world) -> SettingsRepository:
    return SettingsRepository(stack.backends.db, world.tenant)


@pytest.mark.parametrize("step", ["send_message", "edit_message"])
async def test_an_edit_retried_after_a_crash_shows_its_diff_once(
    discord, stack, world, monkeypatch, step
):
    await make_category(discord, world)
    assert "Order number" in await admin_says(
        discord, world, "question add", {"category": "Billing", "label": "Order number"}
    )
    panel = await post(discord, world)
    member = world.actor(discord, world.member)
    form = await (await member.click(panel.id, button(panel, "open:"))).response(timeout=TIMEOUT)
    (order,) = field_ids(form)
    opened = await member.submit_modal(
        form["data"]["custom_id"], {order: "A-1234"}, channel_id=world.support.id
    )
    assert (await said(opened)).startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    channel_id = int(ticket.channel_id)
    opening = bot_messages(discord, world, channel_id)[0]
    prefilled = await (await member.click(opening.id, button(opening, "edit:"))).response(
        timeout=TIMEOUT
    )
    crashed = crash_once(monkeypatch, disnake.http.HTTPClient, step)
    edited = await member.submit_modal(
        prefilled["data"]["custom_id"], {order: "A-9999"}, channel_id=channel_id
    )
    assert "saved" in await said(edited)
    assert crashed.is_set()
    diffs = [m for m in bot_messages(discord, world, channel_id) if m.id != opening.id]
    assert len(diffs) == 1, diffs
    assert "+ A-9999" in diffs[0].embeds[0]["fields"][0]["value"]
    refreshed = discord.messages(channel_id)[0]
    assert refreshed.embeds[1]["fields"][0]["value"] == "A-9999"
    (saved,) = await TicketRepository(stack.backends.db, world.tenant).answers(ticket)
    assert stack.backends.cipher.decrypt(saved.value) == "A-9999"


async def test_a_category_create_retried_after_a_crash_finishes_the_category(
    discord, stack, world, monkeypatch
):
    crashed = crash_once(monkeypatch, disnake.http.HTTPClient, "create_channel")
    text = await admin_says(
        discord,
        world,
        "category create",
        {"name": "Billing", "staff_roles": str(world.staff_role.id)},
    )
    assert text.startswith("Category added"), text
    assert crashed.is_set()
    (billing,) = await (await _settings(stack, world)).categories(str(world.guild.id))
    assert billing.discord_category is not None
    made = discord.channel(int(billing.discord_category))
    assert made is not None and made.type == 4


def category_channels(discord, world, name: str) -> list[Any]:
    return [c for c in discord.channels(world.guild.id) if c.type == 4 and c.name == name]


@pytest.mark.parametrize(
    ("command", "role_option", "owner", "step"),
    [
        ("category create", "staff_roles", SettingsRepository, "update_category"),
        ("panel", "staff_role", TicketRepository, "set_category_channel"),
    ],
)
async def test_a_crash_after_discord_made_the_category_leaves_no_orphan(
    discord, stack, world, monkeypatch, command, role_option, owner, step
):
    # An admin's own category of the same name, made earlier, is not the bot's to adopt.
    theirs = discord.add_channel(world.guild.id, "Billing", type=4)
    crashed = crash_once(monkeypatch, owner, step)
    options = {"name": "Billing", role_option: str(world.staff_role.id)}
    text = await admin_says(discord, world, command, options)
    assert text.startswith(("Category added", "Panel posted")), text
    assert crashed.is_set()
    (billing,) = await (await _settings(stack, world)).categories(str(world.guild.id))
    mine = [c for c in category_channels(discord, world, "Billing") if c.id != theirs.id]
    assert [c.id for c in mine] == [int(billing.discord_category)]


async def test_a_retry_does_not_adopt_an_admins_category_that_lets_the_bot_in(
    discord, stack, world, monkeypatch
):
    # The first delivery dies asking Discord for the category; while it is retried an
    # admin makes "Billing" by hand and lets the bot in, as admins do for bots.
    theirs: list[Any] = []
    original = disnake.http.HTTPClient.create_channel

    async def admin_first(self, guild_id, channel_type, **kwargs):
        if not theirs:
            bot_in = Overwrite(
                id=world.app.id, type=1, allow=perms.VIEW_CHANNEL | perms.MANAGE_CHANNELS
            )
            theirs.append(
                discord.add_channel(world.guild.id, "Billing", type=4, overwrites=[bot_in])
            )
            raise ConnectionError("went away asking for the category")
        return await original(self, guild_id, channel_type, **kwargs)

    monkeypatch.setattr(disnake.http.HTTPClient, "create_channel", admin_first)
    options = {"name": "Billing", "staff_roles": str(world.staff_role.id)}
    text = await admin_says(discord, world, "category create", options)
    assert text.startswith("Category added"), text
    (billing,) = await (await _settings(stack, world)).categories(str(world.guild.id))
    assert billing.discord_category is not None
    assert int(billing.discord_category) != theirs[0].id
    made = discord.channel(int(billing.discord_category))
    assert made is not None and made.type == 4 and made.name == "Billing"
