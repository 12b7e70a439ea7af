"""Gaps an audit of the lifecycle found: anti-spam, bulk force-close by role, question limit."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import disnake
import pytest

from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.tickets import closing, opening
from storage.scoped import ScopedStore
from tests.e2e.closing_flow import (
    answer_text,
    closed,
    dms,
    make_cast,
    open_for,
    request_message,
    ticket_of,
)
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, button, components, open_ticket
from tests.e2e.forge import COMPONENT, click_in_dm
from tests.e2e.test_closing import SENT, click_close, start
from tests.e2e.test_force_close import force, open_many
from tests.e2e.test_opening import admin_says, field_ids, make_category, only_ticket, post, said
from tests.e2e.test_thread_tickets import force_close


async def forged_click(discord, world, template: dict[str, Any], custom_id: str) -> Any:
    """A button click on ``template``'s message that the message no longer offers."""
    payload = copy.deepcopy(template)
    new_id = discord.world.ids.next()
    payload.update(
        id=str(new_id),
        token=discord.world.new_interaction_token(new_id),
        type=COMPONENT,
        data={"custom_id": custom_id, "component_type": 2},
    )
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)
    return discord.interaction(new_id)


async def test_a_second_start_while_the_first_form_is_open_is_told_to_slow_down(
    discord, stack, monkeypatch
):
    # Long enough that the two clicks below always fall inside one pause.
    monkeypatch.setattr(opening, "ANTI_SPAM_MS", 600_000)
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    await make_category(discord, world)  # a topic form
    panel = await post(discord, world)
    member = world.actor(discord, world.member)
    first = await (await member.click(panel.id, button(panel, "open:"))).response(timeout=TIMEOUT)
    assert first["type"] == 9  # the form
    second = await said(await member.click(panel.id, button(panel, "open:")))
    assert second == "You are going a bit fast; try again in a few seconds."
    # Someone else is not held up by this member's pause.
    other = await world.actor(discord, world.other).click(panel.id, button(panel, "open:"))
    assert (await other.response(timeout=TIMEOUT))["type"] == 9
    submit = await member.submit_modal(
        first["data"]["custom_id"], {"topic": "the first form"}, channel_id=world.support.id
    )
    assert (await said(submit)).startswith("Your ticket is open")
    # Opening lifts the pause: the next refusal is the real reason.
    third = await said(await member.click(panel.id, button(panel, "open:")))
    assert "already have 1 open ticket" in third


async def test_bulk_force_close_by_every_role(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    await open_many(discord, stack, cast, 2)
    await stack.backends.db.run(
        "UPDATE ticket SET created_at = time::now() - 3d WHERE tenant = $t;", {"t": world.tenant}
    )
    for name in ("creator", "added member", "other member"):
        _, text = await force(
            discord, cast, cast.everyone()[name], {"time": "2d"}, world.support.id
        )
        assert text == "Only staff can force-close tickets.", name
    # Staff of another category see only their own category's tickets: none are idle.
    _, text = await force(discord, cast, cast.other_staff, {"time": "2d"}, world.support.id)
    assert text == "No open ticket has been idle that long."
    _, text = await force(
        discord,
        cast,
        cast.other_staff,
        {"time": "2d", "category": cast.category_key},
        world.support.id,
    )
    assert text == "Only staff of that category can force-close its tickets."
    for name in ("staff", "admin"):
        inter, _ = await force(
            discord, cast, cast.everyone()[name], {"time": "2d"}, world.support.id
        )
        (prompt,) = await inter.followups(count=1, timeout=TIMEOUT)
        listed = prompt["embeds"][0]["description"]
        assert "#1" in listed and "#2" in listed, name
        no = prompt["components"][0]["components"][1]["custom_id"]
        cancel = await world.actor(discord, cast.everyone()[name]).click(int(prompt["id"]), no)
        # The stand-in's members read en-US: the reply spells it the US way.
        assert await answer_text(cancel) == "Canceled; no ticket was closed."
    assert await closed(stack, world, 1) is None and await closed(stack, world, 2) is None


async def test_questions_added_at_once_never_exceed_five(discord, stack, monkeypatch):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    await make_category(discord, world)
    for n in range(4):
        text = await admin_says(
            discord, world, "question add", {"category": "Billing", "label": f"Question {n}"}
        )
        assert "Questions of Billing" in text, text
    # A slow read widens the moment between counting and saving; without the
    # category's question lock both adds would count four and save.
    original = SettingsRepository.questions

    async def read_slowly(self, *args):
        result = await original(self, *args)
        await asyncio.sleep(0.2)
        return result

    monkeypatch.setattr(SettingsRepository, "questions", read_slowly)
    # Two channels: the worker handles one channel's events in order, two in parallel.
    lobby = discord.add_channel(world.guild.id, name="lobby")
    admin = world.actor(discord, world.staff)
    adds = [
        await admin.slash("question add", {"category": "Billing", "label": label}, channel_id=where)
        for label, where in (("Fifth", world.support.id), ("Sixth", lobby.id))
    ]
    answers = sorted(await asyncio.gather(*(said(a) for a in adds)))
    assert answers[0] == "Not saved: a category can have at most 5 questions.", answers
    assert answers[1].startswith("Questions of Billing"), answers
    monkeypatch.undo()
    (billing,) = await SettingsRepository(stack.backends.db, world.tenant).categories(
        str(world.guild.id)
    )
    questions = await SettingsRepository(stack.backends.db, world.tenant).questions(billing.key)
    assert len(questions) == 5
    # The form still opens: Discord takes at most five fields.
    panel = await post(discord, world)
    form = await (
        await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    ).response(timeout=TIMEOUT)
    assert form["type"] == 9 and len(form["data"]["components"]) == 5


@pytest.mark.parametrize("mode", ["channel", "thread"])
async def test_name_template_slowmode_pings_and_an_answer_as_topic(discord, stack, mode):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    pinged = discord.add_role(world.guild.id, name="On call")
    helpdesk = discord.add_channel(world.guild.id, name="helpdesk")
    edits: dict[str, Any] = {
        "channel_name": "{username}-{num}",
        "slowmode": 30,
        "ping_roles": f"<@&{pinged.id}>",
    }
    if mode == "thread":
        edits.update(mode="thread", thread_channel=str(helpdesk.id))
    await make_category(discord, world, **edits)
    for options in (
        {"category": "Billing", "label": "Order number"},
        {"category": "Billing", "label": "What happened?", "use_as_topic": True},
    ):
        assert "Questions of Billing" in await admin_says(discord, world, "question add", options)
    panel = await post(discord, world)
    member = world.actor(discord, world.member)
    form = await (await member.click(panel.id, button(panel, "open:"))).response(timeout=TIMEOUT)
    order, what = field_ids(form)
    submit = await member.submit_modal(
        form["data"]["custom_id"],
        {order: "A-1", what: "The lamp flickers"},
        channel_id=world.support.id,
    )
    assert (await said(submit)).startswith("Your ticket is open")
    ticket = await only_ticket(stack, world)
    assert stack.backends.cipher.decrypt(ticket.topic) == "The lamp flickers"
    place = discord.channel(int(ticket.channel_id))
    assert place.name == f"{world.member.username}-1"
    assert place.rate_limit_per_user == 30
    if mode == "thread":
        assert place.parent_id == helpdesk.id
    opening_message = bot_messages(discord, world, place.id)[0]
    assert f"<@&{pinged.id}>" in opening_message.content
    assert [str(r) for r in opening_message.allowed_mentions["roles"]] == [str(pinged.id)]


async def test_a_reopen_counts_against_the_member_and_total_limits(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(
        discord, stack, world, mode="thread", thread_channel=str(world.support.id)
    )
    log_channel = discord.add_channel(world.guild.id, name="ticket-log")
    settings = SettingsRepository(stack.backends.db, world.tenant)
    await settings.update_guild(str(world.guild.id), log_channel=str(log_channel.id))
    first = await open_ticket(discord, world, cast.panel, "The first problem")
    await force_close(discord, cast, first, 1, stack)
    (dm,) = dms(discord, world, cast.creator)
    reopen = button(dm, "reopen:")
    second = await open_ticket(discord, world, cast.panel, "The second problem")

    # The creator has their one open ticket: no reopen, by them or by staff.
    mine = await answer_text(await click_in_dm(discord, world, cast.creator, dm, reopen))
    assert mine.startswith("Ticket #1 cannot be reopened") and "the limit is 1" in mine, mine
    staff = world.actor(discord, cast.staff)
    (entry,) = [m for m in bot_messages(discord, world, log_channel.id) if m.components]
    theirs = await answer_text(await staff.click(entry.id, reopen))
    assert theirs.startswith("Ticket #1 cannot be reopened"), theirs
    repo = TicketRepository(stack.backends.db, world.tenant)
    assert (await repo.get(str(world.guild.id), 1)).state == "closed"
    assert discord.channel(first).thread.archived

    # With room for the member but not in the category, the total limit refuses.
    await settings.update_category(
        str(world.guild.id), cast.category_key, member_limit=2, total_limit=1
    )
    full = await answer_text(await click_in_dm(discord, world, cast.creator, dm, reopen))
    assert "has reached its limit of 1 open tickets" in full, full

    await force_close(discord, cast, second, 2, stack)
    again = await answer_text(await click_in_dm(discord, world, cast.creator, dm, reopen))
    assert again == f"Ticket #1 is open again: <#{first}>"


async def test_close_and_release_refusals_outside_and_after(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    for command in ("close", "release", "claim"):
        inter = await world.actor(discord, cast.staff).slash(
            command, {}, channel_id=world.support.id
        )
        assert await answer_text(inter) == "This channel is not a ticket.", command
    channel_id = await open_for(discord, cast)
    assert SENT in await click_close(discord, cast, cast.staff, channel_id)
    old = request_message(discord, world, channel_id)
    reject = await world.actor(discord, cast.creator).click(old.id, button(old, "closeno:"))
    assert "rejected" in await answer_text(reject)
    # The request's buttons are gone; a click from an old client is refused.
    stale = await forged_click(discord, world, reject.payload, "closeyes:1")
    assert await answer_text(stale) == "This close request was withdrawn or answered already."
    assert (await ticket_of(stack, world, channel_id)).state == "open"
    # Reasons longer than Discord lets the option be are refused, not cut.
    inter = await world.actor(discord, cast.staff).slash(
        "force-close", {"reason": "x" * 501}, channel_id=channel_id
    )
    assert await answer_text(inter) == "The reason can be at most 500 characters long."
    assert (await ticket_of(stack, world, channel_id)).state == "open"


async def test_two_force_closes_at_once_close_once(discord, stack, monkeypatch):
    # A slow look for an earlier DM widens the moment between looking and sending;
    # without the ticket's close lock both closes would look, find none and send.
    original = closing.already_posted

    async def looked_slowly(*args, **kwargs):
        found = await original(*args, **kwargs)
        await asyncio.sleep(0.2)
        return found

    monkeypatch.setattr(closing, "already_posted", looked_slowly)
    cast = await start(discord, stack)
    world = cast.world
    log_channel = discord.add_channel(world.guild.id, name="ticket-log")
    await SettingsRepository(stack.backends.db, world.tenant).update_guild(
        str(world.guild.id), log_channel=str(log_channel.id)
    )
    channel_id = await open_for(discord, cast)
    # Two channels, so the worker handles both at the same time.
    inters = [
        await world.actor(discord, cast.staff).slash("force-close", {}, channel_id=channel_id),
        await world.actor(discord, cast.admin).slash(
            "force-close", {"ticket": "1"}, channel_id=world.support.id
        ),
    ]
    answers = await asyncio.gather(*(answer_text(i) for i in inters))
    assert all(a.startswith("Closing ticket #1") for a in answers), answers
    await eventually(lambda: closed(stack, world, 1))
    assert len(dms(discord, world, cast.creator)) == 1
    # The close entry (with its buttons) once, besides the ticket's other entries.
    assert len([m for m in bot_messages(discord, world, log_channel.id) if m.components]) == 1
    deletes = [r for r in discord.requests if r == ("DELETE", f"/channels/{channel_id}")]
    assert len(deletes) == 1


async def test_transcripts_show_the_answers_the_feedback_and_who_took_part(discord, stack):
    cast = await start(discord, stack, feedback=True)
    world = cast.world
    settings = SettingsRepository(stack.backends.db, world.tenant)
    await settings.save_question(cast.category_key, "Order number")
    creator = world.actor(discord, cast.creator)
    form = await (await creator.click(cast.panel.id, button(cast.panel, "open:"))).response(
        timeout=TIMEOUT
    )
    (order,) = field_ids(form)
    submit = await creator.submit_modal(
        form["data"]["custom_id"], {order: "A-1234 <b>"}, channel_id=world.support.id
    )
    opened = await said(submit)
    channel_id = int(opened.split("<#")[1].rstrip(">"))
    await world.actor(discord, cast.staff).send_message(channel_id, "Looking into it")
    ask = await creator.slash("close", {}, channel_id=channel_id)
    rating = await ask.response(timeout=TIMEOUT)
    rated = await creator.submit_modal(
        rating["data"]["custom_id"],
        {"rating": ["5"], "comment": "Quick & kind"},
        channel_id=channel_id,
    )
    assert SENT in await answer_text(rated)
    request = request_message(discord, world, channel_id)
    accept = await world.actor(discord, cast.staff).click(request.id, button(request, "closeyes:"))
    assert "Closing" in await answer_text(accept)
    done = await eventually(lambda: closed(stack, world, 1))
    store = ScopedStore(stack.backends.store, world.tenant)
    html = (await store.get(done.transcript_key)).decode()
    text = (await store.get(f"transcripts/{world.guild.id}/1.txt")).decode()
    assert "<dt>Order number</dt>" in html and "A-1234 &lt;b&gt;" in html
    assert "Feedback: Quick &amp; kind" in html and "Rating: 5/5" in html
    assert f"Participants: {cast.staff.username}" in html
    assert "Q: Order number\nA: A-1234 <b>" in text
    assert "Feedback: Quick & kind" in text
    assert f"{cast.staff.username} ({cast.staff.id})" in text


async def test_a_server_never_gets_more_categories_than_a_menu_lists(discord, stack, monkeypatch):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    settings = SettingsRepository(stack.backends.db, world.tenant)
    guild = str(world.guild.id)
    for n in range(24):
        await settings.create_category(guild, f"Kind {n}", staff_roles=[])
    # A slow read widens the moment between counting and adding; without the
    # server's category lock both commands would count 24 and add one.
    original = SettingsRepository.categories

    async def listed_slowly(self, *args):
        result = await original(self, *args)
        await asyncio.sleep(0.2)
        return result

    monkeypatch.setattr(SettingsRepository, "categories", listed_slowly)
    lobby = discord.add_channel(world.guild.id, name="lobby")
    admin = world.actor(discord, world.staff)
    creates = [
        await admin.slash(
            "category create",
            {"name": name, "staff_roles": str(world.staff_role.id)},
            channel_id=where,
        )
        for name, where in (("Refunds", world.support.id), ("Returns", lobby.id))
    ]
    answers = await asyncio.gather(*(said(c) for c in creates))
    added = [a for a in answers if a.startswith("Category added")]
    refused = [a for a in answers if a.startswith("Cannot add")]
    assert len(added) == 1, answers
    assert refused == ["Cannot add the category: a server can have at most 25 categories."]
    monkeypatch.undo()
    assert len(await settings.categories(guild)) == 25
    made = [c for c in discord.channels(world.guild.id) if c.type == 4]
    assert len(made) == 1  # only for the category that was added

    # /panel's quick set-up is held to the same limit, and can still reuse a name.
    no_room = await admin_says(
        discord, world, "panel", {"name": "Another", "staff_role": str(world.staff_role.id)}
    )
    assert no_room.startswith("A server can have at most 25 ticket categories"), no_room
    reused = await admin_says(
        discord, world, "panel", {"name": "Kind 3", "staff_role": str(world.staff_role.id)}
    )
    assert "Panel posted" in reused, reused
    assert len(await settings.categories(guild)) == 25
    # A name is the same name in any case, as for /category create: no 26th category.
    recased = await admin_says(
        discord, world, "panel", {"name": "KIND 4", "staff_role": str(world.staff_role.id)}
    )
    assert "Panel posted" in recased, recased
    names = [c.name for c in await settings.categories(guild)]
    assert len(names) == 25 and "Kind 4" in names and "KIND 4" not in names


async def test_a_dm_menu_over_several_servers_names_each_server(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    second = discord.add_guild(name="Second Shop")
    discord.install(world.app.id, second.id)
    discord.add_member(second.id, user_id=world.member.id)
    settings = SettingsRepository(stack.backends.db, world.tenant)
    await settings.create_category(
        str(world.guild.id),
        "Support",
        staff_roles=[],
        require_topic=False,
        mode="thread",
        thread_channel=str(world.support.id),
    )
    lobby = discord.add_channel(second.id, name="lobby")
    theirs = await settings.create_category(
        str(second.id),
        "Support",
        staff_roles=[],
        require_topic=False,
        mode="thread",
        thread_channel=str(lobby.id),
    )
    member = world.actor(discord, world.member)
    await member.send_dm(world.app, "Where is my parcel?")

    async def prompted():
        mine = [m for m in discord.dms(world.member.id, world.app.id) if m.components]
        return mine[-1] if mine else None

    message = await eventually(prompted)
    (menu,) = components(message)
    labels = sorted(o["label"] for o in menu["options"])
    assert labels == ["Support · Second Shop", f"Support · {world.guild.name}"]
    pick = next(o["value"] for o in menu["options"] if o["value"] == theirs.key)
    picked = await member.select(message.id, menu["custom_id"], [pick])
    assert (await said(picked)).startswith("Your ticket is open")
    (ticket,) = await TicketRepository(stack.backends.db, world.tenant).tickets()
    assert ticket.guild_id == str(second.id)
    assert stack.backends.cipher.decrypt(ticket.topic) == "Where is my parcel?"


async def test_who_sees_a_ticket_channel(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    channel_id = await open_for(discord, cast)  # the added member gets an overwrite
    view = disnake.Permissions(view_channel=True).value

    def sees(user) -> bool:
        return bool(discord.member_permissions(world.guild.id, user.id, channel_id) & view)

    seen = {name: sees(user) for name, user in cast.everyone().items()}
    # Manage Server alone does not open channels in Discord; admins act from outside
    # (/force-close ticket:…) or hold Administrator.
    assert seen == {
        "creator": True,
        "added member": True,
        "other member": False,
        "staff": True,
        "other staff": False,
        "admin": False,
    }
    administrator = discord.add_role(world.guild.id, name="Owners", permissions=1 << 3)
    discord.set_member_roles(world.guild.id, cast.admin.id, [administrator.id])
    assert sees(cast.admin)
