"""Every way to open a ticket, v4's checks, questions and thread tickets, through the stand-in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import disnake
import pytest

from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, button, components

VIEW = disnake.Permissions(view_channel=True).value


async def said(inter: Any) -> str:
    """What the bot answered: the message, or the followup after a deferral."""
    response = await inter.response(timeout=TIMEOUT)
    if response["type"] == 4:
        return str(response["data"].get("content", ""))
    assert response["type"] == 5, response
    followups = await inter.followups(count=1, timeout=TIMEOUT)
    return str(followups[-1]["content"])


def field_ids(modal: dict[str, Any]) -> list[str]:
    """The custom ids of a modal's inputs, in order."""
    ids = []
    for row in modal["data"]["components"]:
        inner = row.get("component") or (row.get("components") or [{}])[0]
        ids.append(inner.get("custom_id"))
    return ids


@pytest.fixture
async def world(discord, stack):
    built = make_world(discord, "alpha")
    await stack.add(built)
    await stack.start()
    return built


async def admin_says(discord, world, command: str, options: dict[str, Any]) -> str:
    return await said(
        await world.actor(discord, world.staff).slash(command, options, channel_id=world.support.id)
    )


async def make_category(discord, world, name: str = "Billing", **edits: Any) -> Any:
    text = await admin_says(
        discord,
        world,
        "category create",
        {"name": name, "staff_roles": f"<@&{world.staff_role.id}>"},
    )
    assert text.startswith("Category added"), text
    if edits:
        text = await admin_says(discord, world, "category edit", {"category": name, **edits})
        assert text.startswith("Saved"), text


async def post(discord, world, **options: Any) -> Any:
    text = await admin_says(discord, world, "panel", options)
    assert "Panel posted" in text, text
    return bot_messages(discord, world, world.support.id)[-1]


async def settings(stack, world) -> SettingsRepository:
    return SettingsRepository(stack.backends.db, world.tenant)


async def only_ticket(stack, world):
    tickets = await TicketRepository(stack.backends.db, world.tenant).tickets()
    assert len(tickets) == 1, tickets
    return tickets[0]


# Settings from Discord


async def test_admins_configure_categories_and_settings_with_clear_errors(discord, stack, world):
    await make_category(discord, world)
    repo = await settings(stack, world)
    (billing,) = await repo.categories(str(world.guild.id))
    assert billing.staff_roles == [str(world.staff_role.id)]
    assert discord.channel(int(billing.discord_category)).type == 4  # made for it
    text = await admin_says(
        discord,
        world,
        "category edit",
        {"category": "Billing", "cooldown": "10m", "member_limit": 2, "archive": "off"},
    )
    assert "Saved" in text and "cooldown 10m" in text
    billing = await repo.category(str(world.guild.id), billing.key)
    assert (billing.cooldown_ms, billing.member_limit, billing.archive) == (600_000, 2, False)
    for options, error in [
        ({"cooldown": "soon"}, "not a duration"),
        ({"staff_roles": "<@&123456789>"}, "no role 123456789"),
        ({"mode": "thread"}, "needs a thread_channel"),
    ]:
        text = await admin_says(discord, world, "category edit", {"category": "Billing", **options})
        assert error in text, (options, text)
    assert await repo.category(str(world.guild.id), billing.key) == billing  # nothing half-saved
    text = await admin_says(discord, world, "settings", {"colour": "blue"})
    # The stand-in's members read en-US: the reply spells it the US way.
    assert "not a color" in text
    text = await admin_says(discord, world, "settings", {"stale_after": "2d", "footer": "Thanks"})
    assert "stale after 2d" in text
    assert (await repo.guild(str(world.guild.id))).footer == "Thanks"
    member = world.actor(discord, world.member)
    refused = await said(
        await member.slash("settings", {"archive": False}, channel_id=world.support.id)
    )
    assert "Manage Server" in refused
    assert (await repo.guild(str(world.guild.id))).archive is True


# Questions, menus in the form, answers encrypted, edits with a diff


async def test_questions_with_a_menu_open_a_ticket_and_can_be_edited(discord, stack, world):
    await make_category(discord, world)
    for options in (
        {"category": "Billing", "label": "Order number", "min_length": 3, "max_length": 12},
        {"category": "Billing", "label": "Product", "kind": "menu", "options": "Lamp, Desk"},
    ):
        assert "Questions of Billing" in await admin_says(discord, world, "question add", options)
    panel = await post(discord, world)
    member = world.actor(discord, world.member)
    form = await (await member.click(panel.id, button(panel, "open:"))).response(timeout=TIMEOUT)
    assert form["type"] == 9
    order, product = field_ids(form)
    kinds = [row["component"]["type"] for row in form["data"]["components"]]
    assert kinds == [4, 3]  # a text input and a select menu, each in a label
    submit = await member.submit_modal(
        form["data"]["custom_id"], {order: "A-1234", product: ["Desk"]}, channel_id=world.support.id
    )
    assert (await said(submit)).startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    repo = TicketRepository(stack.backends.db, world.tenant)
    answers = await repo.answers(ticket)
    assert [a.label for a in answers] == ["Order number", "Product"]
    assert all("A-1234" not in a.value and "Desk" not in a.value for a in answers)  # encrypted
    opening = bot_messages(discord, world, int(ticket.channel_id))[0]
    fields = {f["name"]: f["value"] for f in opening.embeds[1]["fields"]}
    assert fields == {"Order number": "A-1234", "Product": "Desk"}

    edit = await member.click(opening.id, button(opening, "edit:"))
    prefilled = await edit.response(timeout=TIMEOUT)
    assert prefilled["type"] == 9
    first = prefilled["data"]["components"][0]["component"]
    assert first.get("value") == "A-1234"
    edited = await member.submit_modal(
        prefilled["data"]["custom_id"],
        {order: "A-9999", product: ["Desk"]},
        channel_id=int(ticket.channel_id),
    )
    assert "saved" in await said(edited)
    diff = bot_messages(discord, world, int(ticket.channel_id))[-1]
    assert "- A-1234" in diff.embeds[0]["fields"][0]["value"]
    assert "+ A-9999" in diff.embeds[0]["fields"][0]["value"]
    refreshed = discord.messages(int(ticket.channel_id))[0]
    assert refreshed.embeds[1]["fields"][0]["value"] == "A-9999"


# v4's checks, each with its own message


async def test_every_refusal_before_opening_is_explained(discord, stack, world):
    guild = world.guild.id
    vip = discord.add_role(guild, name="VIP")
    banned = discord.add_role(guild, name="Banned")
    await make_category(
        discord,
        world,
        required_roles=f"<@&{vip.id}>",
        blocked_roles=f"<@&{banned.id}>",
        cooldown="1h",
        require_topic=False,
    )
    panel = await post(discord, world)
    member = world.actor(discord, world.member)

    async def click() -> str:
        return await said(await member.click(panel.id, button(panel, "open:")))

    assert "You need the role(s)" in await click()
    discord.set_member_roles(guild, world.member.id, [vip.id, banned.id])
    assert "not allowed to open tickets" in await click()
    discord.set_member_roles(guild, world.member.id, [vip.id])
    discord.timeout_member(guild, world.member.id, datetime.now(UTC) + timedelta(minutes=5))
    assert "timed out" in await click()
    discord.timeout_member(guild, world.member.id, None)
    assert (await click()).startswith("Your ticket is open")
    assert "already have 1 open ticket" in await click()
    repo = await settings(stack, world)
    (billing,) = await repo.categories(str(guild))
    await repo.update_category(str(guild), billing.key, member_limit=2)
    assert "Please wait 59 minutes" in await click()
    await repo.update_category(str(guild), billing.key, cooldown_ms=None, total_limit=1)
    assert "limit of 1 open tickets" in await click()
    assert len(await TicketRepository(stack.backends.db, world.tenant).tickets()) == 1


async def test_concurrent_clicks_open_one_ticket(discord, stack, world):
    await make_category(discord, world, require_topic=False)
    panel = await post(discord, world)
    member = world.actor(discord, world.member)
    custom_id = button(panel, "open:")
    clicks = [await member.click(panel.id, custom_id) for _ in range(5)]
    answers = await asyncio.gather(*(said(c) for c in clicks))
    assert sum(a.startswith("Your ticket is open") for a in answers) == 1, answers
    await only_ticket(stack, world)
    assert len([c for c in discord.channels(world.guild.id) if c.name == "ticket-1"]) == 1


async def test_two_members_at_once_cannot_exceed_the_total_limit(
    discord, stack, world, monkeypatch
):
    await make_category(discord, world)  # a topic form
    repo = await settings(stack, world)
    (billing,) = await repo.categories(str(world.guild.id))
    await repo.update_category(str(world.guild.id), billing.key, total_limit=1)
    panel = await post(discord, world)
    lobby = discord.add_channel(world.guild.id, name="lobby")
    people = [(world.member, world.support.id), (world.other, lobby.id)]
    forms = []
    for user, _ in people:
        click = await world.actor(discord, user).click(panel.id, button(panel, "open:"))
        forms.append(await click.response(timeout=TIMEOUT))
    # A slow count widens the moment between checking and recording; without the
    # category's open lock both members would pass the check for the last place.
    original = TicketRepository.count_open_in_category
    counts: list[int] = []

    async def counted_slowly(self, *args):
        result = await original(self, *args)
        counts.append(result)
        await asyncio.sleep(0.2)
        return result

    monkeypatch.setattr(TicketRepository, "count_open_in_category", counted_slowly)
    submits = [
        await world.actor(discord, user).submit_modal(
            form["data"]["custom_id"], {"topic": "at the same moment"}, channel_id=channel
        )
        for (user, channel), form in zip(people, forms, strict=True)
    ]
    answers = sorted(await asyncio.gather(*(said(s) for s in submits)))
    assert counts.count(0) == 1  # only one check under the lock found room
    assert answers[0].startswith("Billing has reached its limit of 1 open tickets"), answers
    assert answers[1].startswith("Your ticket is open"), answers
    await only_ticket(stack, world)


# Panels with several categories, /new, references


async def test_menu_panel_and_new_pick_a_category(discord, stack, world):
    await make_category(discord, world, "Billing", require_topic=False)
    await make_category(discord, world, "Bugs", require_topic=False)
    panel = await post(discord, world, style="menu")
    (menu,) = components(panel)
    assert [o["label"] for o in menu["options"]] == ["Billing", "Bugs"]
    member = world.actor(discord, world.member)
    bugs = menu["options"][1]["value"]
    picked = await member.select(panel.id, menu["custom_id"], [bugs])
    assert (await said(picked)).startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    assert ticket.category == bugs

    # /new with several categories asks which, in an ephemeral menu.
    other = world.actor(discord, world.other)
    ask = await other.slash("new", {}, channel_id=world.support.id)
    response = await ask.response(timeout=TIMEOUT)
    assert response["type"] == 4 and response["data"]["content"] == "Which kind of ticket?"
    message = ask.original()
    (choice,) = [c for row in message["components"] for c in row["components"]]
    chosen = await other.select(
        int(message["id"]), choice["custom_id"], [choice["options"][0]["value"]]
    )
    assert (await said(chosen)).startswith("Your ticket is open")
    # /new naming the category opens at once; autocomplete matches text, not patterns.
    suggest = await other.autocomplete("new", {"category": "BUG"}, focused="category")
    assert [c["name"] for c in (await suggest.response(timeout=TIMEOUT))["data"]["choices"]] == [
        "Bugs"
    ]
    weird = await other.autocomplete("new", {"category": ".*"}, focused="category")
    assert (await weird.response(timeout=TIMEOUT))["data"]["choices"] == []
    named = await other.slash("new", {"category": "Bugs"}, channel_id=world.support.id)
    assert (await said(named)).startswith("Your ticket is open")
    assert len(await TicketRepository(stack.backends.db, world.tenant).tickets()) == 3


async def test_new_with_no_categories_says_how_to_add_one(discord, stack, world):
    ask = await world.actor(discord, world.member).slash("new", {}, channel_id=world.support.id)
    assert "/category create" in await said(ask)


# Thread tickets


async def test_thread_mode_opens_private_threads_only_the_right_people_see(discord, stack, world):
    helpdesk = discord.add_channel(world.guild.id, name="helpdesk")
    await make_category(
        discord,
        world,
        "Support",
        mode="thread",
        thread_channel=str(helpdesk.id),
        require_topic=False,
    )
    panel = await post(discord, world)
    answer = await said(
        await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    )
    assert answer.startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    assert ticket.thread and ticket.state == "open"
    (thread,) = discord.threads(helpdesk.id)
    assert thread.id == int(ticket.channel_id) and thread.type == 12
    assert world.member.id in discord.thread_members(thread.id)

    def visible(user):
        return thread.id in [c.id for c in discord.visible_channels(world.guild.id, user.id)]

    assert visible(world.member) and not visible(world.other)
    assert bot_messages(discord, world, thread.id)[0].embeds  # greeted in the thread


# Context menus and DMs


async def test_ticket_from_a_message_refers_to_it(discord, stack, world):
    await make_category(discord, world, require_topic=False)
    original = await world.actor(discord, world.other).send_message(
        world.support.id, "The lamp I bought flickers"
    )
    made = await world.actor(discord, world.member).message_command(
        "Create ticket from message", world.support.id, original.id
    )
    assert (await said(made)).startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    assert ticket.references_message == str(original.id)
    opening = bot_messages(discord, world, int(ticket.channel_id))[0]
    reference = opening.embeds[-1]
    assert reference["title"] == "Refers to a message"
    assert "flickers" in reference["description"]
    archived = await TicketRepository(stack.backends.db, world.tenant).archived(ticket)
    assert [m.message_id for m in archived if m.external] == [str(original.id)]
    (external,) = [m for m in archived if m.external]
    assert stack.backends.cipher.decrypt(external.author_name) == world.other.username


async def test_staff_ask_a_member_to_open_a_ticket(discord, stack, world):
    await make_category(discord, world, require_topic=False)
    refused = await world.actor(discord, world.other).user_command(
        "Create ticket for user", world.member.id, channel_id=world.support.id
    )
    assert "Only staff" in await said(refused)
    asked = await world.actor(discord, world.staff).user_command(
        "Create ticket for user", world.member.id, channel_id=world.support.id
    )
    assert "Asked" in await said(asked)
    prompt = bot_messages(discord, world, world.support.id)[-1]
    assert f"<@{world.member.id}>" in prompt.content
    pressed = await world.actor(discord, world.member).click(
        prompt.id, button(prompt, "createfor:")
    )
    assert (await said(pressed)).startswith("Your ticket is open")
    assert (await only_ticket(stack, world)).creator_id == str(world.member.id)


async def test_a_dm_to_the_bot_becomes_a_ticket_with_its_text_as_topic(discord, stack, world):
    await make_category(discord, world, require_topic=False)
    member = world.actor(discord, world.member)
    await member.send_dm(world.app, "My invoice is wrong")

    def prompt():
        mine = [m for m in discord.dms(world.member.id, world.app.id) if m.components]
        return mine[-1] if mine else None

    async def prompted():
        return prompt()

    message = await eventually(prompted)
    (menu,) = components(message)
    picked = await member.select(message.id, menu["custom_id"], [menu["options"][0]["value"]])
    assert (await said(picked)).startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    repo = TicketRepository(stack.backends.db, world.tenant)
    assert stack.backends.cipher.decrypt(ticket.topic) == "My invoice is wrong"
    assert ticket.guild_id == str(world.guild.id)
    assert await repo.by_channel(ticket.channel_id)


# Who may do what, for the opening side


async def test_permission_matrix_for_edit_create_for_user_and_setup(discord, stack):
    from emulation.discord import ActorError
    from tests.e2e.closing_flow import make_cast, open_for

    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(discord, stack, world)
    channel_id = await open_for(discord, cast)
    opening = bot_messages(discord, world, channel_id)[0]
    edit_id = button(opening, "edit:")

    async def edit(user) -> str:
        try:
            click = await world.actor(discord, user).click(opening.id, edit_id)
        except ActorError:
            return "cannot see the ticket"
        response = await click.response(timeout=TIMEOUT)
        return "form" if response["type"] == 9 else response["data"]["content"]

    async def create_for(user) -> str:
        inter = await world.actor(discord, user).user_command(
            "Create ticket for user", world.other.id, channel_id=world.support.id
        )
        return await said(inter)

    async def set_up(user) -> str:
        inter = await world.actor(discord, user).slash(
            "category list", {}, channel_id=world.support.id
        )
        return await said(inter)

    refused = ("Only the member who opened this ticket or staff", "cannot see the ticket")
    for role, user in cast.everyone().items():
        got = await edit(user)
        if role in {"creator", "staff", "admin"}:
            assert got == "form", (role, got)
        else:
            assert got.startswith(refused), (role, got)

        asked = await create_for(user)
        may_ask = role in {"staff", "other staff", "admin"}
        assert ("Only staff" in asked) is not may_ask, (role, asked)

        listed = await set_up(user)
        assert ("Manage Server" in listed) is (role != "admin"), (role, listed)


async def test_new_refers_to_an_earlier_ticket_of_ones_own(discord, stack, world):
    await make_category(discord, world, require_topic=False)
    member = world.actor(discord, world.member)
    first = await member.slash("new", {}, channel_id=world.support.id)
    assert (await said(first)).startswith("Your ticket is open")
    repo = TicketRepository(stack.backends.db, world.tenant)
    (earlier,) = await repo.tickets()
    force = await world.actor(discord, world.staff).slash(
        "force-close", {}, channel_id=int(earlier.channel_id)
    )
    await said(force)
    await eventually(lambda: _closed(repo, earlier.number))

    suggest = await member.autocomplete("new", {"references": "#1"}, focused="references")
    choices = (await suggest.response(timeout=TIMEOUT))["data"]["choices"]
    assert [c["value"] for c in choices] == ["1"]
    theirs = await world.actor(discord, world.other).slash(
        "new", {"references": "1"}, channel_id=world.support.id
    )
    assert "your own earlier tickets" in await said(theirs)
    again = await member.slash("new", {"references": "1"}, channel_id=world.support.id)
    assert (await said(again)).startswith("Your ticket is open")
    second = await repo.get(str(world.guild.id), 2)
    assert second.references_ticket == 1
    opening = bot_messages(discord, world, int(second.channel_id))[0]
    assert opening.embeds[-1]["title"] == "Refers to ticket #1"


async def _closed(repo, number):
    for ticket in await repo.tickets():
        if ticket.number == number and ticket.state == "closed":
            return ticket
    return None


async def test_category_appearance_checks_the_image_link(discord, stack, world):
    await make_category(discord, world)
    bad = await admin_says(
        discord, world, "category appearance", {"category": "Billing", "image": "javascript:x"}
    )
    assert "https://" in bad
    good = await admin_says(
        discord,
        world,
        "category appearance",
        {"category": "Billing", "emoji": "🧾", "description": "Invoices and refunds"},
    )
    assert "🧾 **Billing**: Invoices and refunds" in good


async def test_topic_edit_and_removing_questions_and_categories(discord, stack, world):
    await make_category(discord, world)
    text = await admin_says(
        discord, world, "question add", {"category": "Billing", "label": "Order number"}
    )
    assert "1. Order number" in text
    removed = await admin_says(
        discord, world, "question remove", {"category": "Billing", "label": "order number"}
    )
    assert "Removed 'Order number'" in removed
    missing = await admin_says(
        discord, world, "question remove", {"category": "Billing", "label": "nope"}
    )
    assert "has no question 'nope'" in missing

    # No questions: the form asks for a topic, and Edit changes the topic.
    panel = await post(discord, world)
    member = world.actor(discord, world.member)
    form = await (await member.click(panel.id, button(panel, "open:"))).response(timeout=TIMEOUT)
    (topic_field,) = field_ids(form)
    submit = await member.submit_modal(
        form["data"]["custom_id"], {topic_field: "Refund for order 7"}, channel_id=world.support.id
    )
    assert (await said(submit)).startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    opening = bot_messages(discord, world, int(ticket.channel_id))[0]
    edit = await (await member.click(opening.id, button(opening, "edit:"))).response(
        timeout=TIMEOUT
    )
    assert edit["data"]["components"][0]["component"]["value"] == "Refund for order 7"
    short = await member.submit_modal(
        edit["data"]["custom_id"], {topic_field: "no"}, channel_id=int(ticket.channel_id)
    )
    assert "5 to 1000 characters" in await said(short)
    done = await member.submit_modal(
        edit["data"]["custom_id"],
        {topic_field: "Refund for order 8"},
        channel_id=int(ticket.channel_id),
    )
    assert "saved" in await said(done)
    ticket = await only_ticket(stack, world)
    assert stack.backends.cipher.decrypt(ticket.topic) == "Refund for order 8"

    gone = await admin_says(discord, world, "category delete", {"category": "Billing"})
    assert "Deleted Billing" in gone
    late = await member.click(panel.id, button(panel, "open:"))
    assert "no longer exists" in await said(late)
