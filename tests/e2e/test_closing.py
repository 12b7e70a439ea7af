"""Close requests: who may ask, who may answer, expiry, cancelling, and the final close."""

from __future__ import annotations

from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from storage.scoped import ScopedStore
from tests.e2e.closing_flow import (
    Cast,
    answer_text,
    closed,
    dms,
    make_cast,
    no_timers,
    open_for,
    opening_message,
    request_message,
    ticket_of,
)
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, button

SENT = "close request was sent"
NOT_ALLOWED = "Only the member who opened this ticket or staff of its category can close it."


async def start(discord, stack, tenant="alpha", **category):
    world = make_world(discord, tenant)
    await stack.add(world)
    await stack.start()
    return await make_cast(discord, stack, world, **category)


async def click_close(discord, cast: Cast, user, channel_id) -> str:
    opening = opening_message(discord, cast.world, channel_id)
    return await answer_text(
        await cast.world.actor(discord, user).click(opening.id, button(opening, "close:"))
    )


async def slash_close(discord, cast: Cast, user, channel_id, reason=None) -> str:
    options = {"reason": reason} if reason is not None else {}
    inter = await cast.world.actor(discord, user).slash("close", options, channel_id=channel_id)
    return await answer_text(inter)


async def answer(discord, cast: Cast, user, channel_id, action: str) -> str:
    request = request_message(discord, cast.world, channel_id)
    assert request is not None, "no live close request"
    click = await cast.world.actor(discord, user).click(request.id, button(request, f"{action}:"))
    return await answer_text(click)


async def pending(stack, cast: Cast, channel_id):
    return (await ticket_of(stack, cast.world, channel_id)).close_request


async def test_who_may_ask_and_who_may_answer(discord, stack):
    cast = await start(discord, stack)
    channel_id = await open_for(discord, cast)
    people = cast.everyone()

    # Asking: creator, staff of this category and admins; nobody else, by button or /close.
    for name in ("added member", "other member", "other staff"):
        assert await click_close(discord, cast, people[name], channel_id) == NOT_ALLOWED, name
        assert await slash_close(discord, cast, people[name], channel_id) == NOT_ALLOWED, name
        assert await pending(stack, cast, channel_id) is None

    # Staff (and admins) ask → only the creator may answer; the creator is pinged.
    for asker in ("staff", "admin"):
        assert SENT in await click_close(discord, cast, people[asker], channel_id), asker
        request = request_message(discord, cast.world, channel_id)
        assert request.content == f"<@{cast.creator.id}>"
        assert (await pending(stack, cast, channel_id)).expect == "creator"
        again = await slash_close(discord, cast, people["other member"], channel_id)
        assert again == NOT_ALLOWED
        second = await click_close(discord, cast, people["staff"], channel_id)
        assert "already waiting" in second
        for name in ("staff", "admin", "added member", "other member", "other staff"):
            for action in ("closeyes", "closeno"):
                text = await answer(discord, cast, people[name], channel_id, action)
                assert f"Only <@{cast.creator.id}>, who opened this ticket" in text, (name, action)
        assert "rejected" in await answer(discord, cast, cast.creator, channel_id, "closeno")
        assert await pending(stack, cast, channel_id) is None

    # The creator asks → only staff of this category or an admin may answer.
    assert SENT in await slash_close(discord, cast, cast.creator, channel_id, "all sorted")
    request = request_message(discord, cast.world, channel_id)
    assert request.content == ""  # nobody pinged
    for name in ("creator", "added member", "other member", "other staff"):
        for action in ("closeyes", "closeno"):
            text = await answer(discord, cast, people[name], channel_id, action)
            assert text == "Please wait for staff of this ticket's category to answer.", name
    assert "rejected" in await answer(discord, cast, cast.staff, channel_id, "closeno")
    rejected = bot_messages(discord, cast.world, channel_id)[-1]
    assert rejected.components == [] and "rejected" in rejected.embeds[0]["description"]

    assert SENT in await slash_close(discord, cast, cast.creator, channel_id, "all sorted")
    assert "Closing ticket #1" in await answer(discord, cast, cast.admin, channel_id, "closeyes")
    done = await eventually(lambda: closed(stack, cast.world, 1))
    assert done.closed_by == str(cast.creator.id)  # the requester, not who accepted
    assert discord.channel(channel_id) is None


async def test_reject_and_new_messages_cancel_the_pending_close(discord, stack):
    cast = await start(discord, stack, auto_close_ms=60_000)
    channel_id = await open_for(discord, cast)
    timers = TimerRepository(stack.backends.db, cast.world.tenant)
    assert SENT in await click_close(discord, cast, cast.staff, channel_id)
    ticket = await ticket_of(stack, cast.world, channel_id)
    timer = await timers.get(ticket.guild_id, ticket.number, "close_request")
    assert timer is not None
    assert abs((timer.due_at - ticket.close_request.at).total_seconds() - 60) < 1

    # Any message from a person cancels it: prompt deleted, request and timer gone.
    request = request_message(discord, cast.world, channel_id)
    await cast.world.actor(discord, cast.creator).send_message(channel_id, "wait, one more thing")
    await eventually(lambda: _gone(discord, request.id))
    # The prompt goes first (a retry still knows which), the request and timer after.
    await eventually(lambda: _no_request(stack, cast, channel_id, timers, ticket))
    gone = await answer_text(
        await cast.world.actor(discord, cast.creator).click(
            opening_message(discord, cast.world, channel_id).id, "close:1"
        )
    )
    assert "close request" in gone  # a new request can be made at once
    # Rejecting clears the timer too.
    assert "rejected" in await answer(discord, cast, cast.staff, channel_id, "closeno")
    assert await timers.get(ticket.guild_id, ticket.number, "close_request") is None
    assert (await ticket_of(stack, cast.world, channel_id)).state == "open"


async def _gone(discord, message_id):
    return message_id not in discord.world.messages


async def _no_request(stack, cast, channel_id, timers, ticket):
    return (
        await pending(stack, cast, channel_id) is None
        and await timers.get(ticket.guild_id, ticket.number, "close_request") is None
    )


async def test_unanswered_request_closes_as_the_requester_with_their_reason(discord, stack):
    cast = await start(discord, stack, auto_close_ms=50)
    channel_id = await open_for(discord, cast)
    long_reason = "Fixed by replacing the toner; " * 16  # 480 characters, never in a custom id
    assert SENT in await slash_close(discord, cast, cast.staff, channel_id, long_reason)
    request = request_message(discord, cast.world, channel_id)
    assert all(len(c["custom_id"]) <= 20 for row in request.components for c in row["components"])
    done = await eventually(lambda: closed(stack, cast.world, 1))
    assert done.closed_by == str(cast.staff.id)
    assert stack.backends.cipher.decrypt(done.close_reason) == long_reason.strip()
    assert await no_timers(stack, cast.world.tenant)  # fired once, gone
    (summary,) = dms(discord, cast.world, cast.creator)
    fields = {f["name"]: f["value"] for f in summary.embeds[0]["fields"]}
    assert fields["Closed by"] == f"<@{cast.staff.id}>"
    assert fields["Reason"] == long_reason.strip()
    too_long = await slash_close(
        discord, cast, cast.staff, await open_for(discord, cast), "x" * 501
    )
    assert "at most 500" in too_long


async def test_creator_gone_from_the_server_closes_at_once(discord, stack):
    cast = await start(discord, stack)
    channel_id = await open_for(discord, cast)
    del discord.world.guilds[cast.world.guild.id].members[cast.creator.id]  # left, unseen
    text = await slash_close(discord, cast, cast.staff, channel_id)
    assert "its creator has left the server" in text
    done = await eventually(lambda: closed(stack, cast.world, 1))
    assert done.closed_by == str(cast.staff.id)
    assert dms(discord, cast.world, cast.creator) == []


async def test_close_summary_dm_log_transcripts_and_pins(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    log_channel = discord.add_channel(world.guild.id, name="ticket-log")
    settings = SettingsRepository(stack.backends.db, world.tenant)
    await settings.update_guild(str(world.guild.id), log_channel=str(log_channel.id))
    channel_id = await open_for(discord, cast, "Toner <empty>")
    note = await world.actor(discord, cast.creator).send_message(channel_id, "pin me please")
    await world.actor(discord, cast.staff).send_message(channel_id, "on it")
    discord.world.set_pinned(discord.world.messages[note.id], True)
    assert SENT in await click_close(discord, cast, cast.staff, channel_id)
    assert "Closing" in await answer(discord, cast, cast.creator, channel_id, "closeyes")
    done = await eventually(lambda: closed(stack, world, 1))
    # Newest pin first; the opening message was pinned when the ticket opened.
    assert done.pinned_message_ids == [str(note.id), done.opening_message_id]
    # The "pinned a message" notice the bot deleted is not archived as an empty message.
    archived = await TicketRepository(stack.backends.db, world.tenant).archived(done)
    assert archived and all(stack.backends.cipher.decrypt(m.content) for m in archived)

    store = ScopedStore(stack.backends.store, world.tenant)
    html = (await store.get(done.transcript_key)).decode()
    text = (await store.get(f"transcripts/{world.guild.id}/1.txt")).decode()
    assert "Toner &lt;empty&gt;" in html and "(pinned)" in html
    assert "Topic: Toner <empty>" in text and "pin me please" in text
    assert "(pinned)" in text and "M01" in text

    (dm,) = dms(discord, world, cast.creator)
    fields = {f["name"]: f["value"] for f in dm.embeds[0]["fields"]}
    assert fields["Ticket"] == "Support #1"
    assert fields["Topic"] == "Toner <empty>"
    assert fields["Closed by"] == f"<@{cast.staff.id}>"
    assert fields["Feedback"] == "not given"
    assert fields["First response"] != ""
    assert [c["custom_id"] for row in dm.components for c in row["components"]] == [
        f"transcript:{world.guild.id}.1"
    ]
    (entry,) = [m for m in bot_messages(discord, world, log_channel.id) if m.components]
    assert entry.embeds[0]["title"] == "Ticket closed"
    assert button(entry, "transcript:") == f"transcript:{world.guild.id}.1"

    # The Transcript button in the log: creator, staff of the category and admins only.
    for name, person in cast.everyone().items():
        click = await world.actor(discord, person).click(entry.id, button(entry, "transcript:"))
        if name in {"creator", "staff", "admin"}:
            (sent,) = await click.followups(count=1, timeout=TIMEOUT)
            names = sorted(a["filename"] for a in sent["attachments"])
            assert names == ["ticket-1.html", "ticket-1.txt"], name
            assert sent["flags"] & 64
        else:
            refusal = await answer_text(click)
            assert "can see its transcript" in refusal, name


async def test_transcript_button_in_a_dm(discord, stack):
    from tests.e2e.forge import click_in_dm

    cast = await start(discord, stack)
    world = cast.world
    channel_id = await open_for(discord, cast)
    assert SENT in await click_close(discord, cast, cast.creator, channel_id)
    assert "Closing" in await answer(discord, cast, cast.staff, channel_id, "closeyes")
    await eventually(lambda: closed(stack, world, 1))
    (dm,) = dms(discord, world, cast.creator)
    custom_id = button(dm, "transcript:")
    mine = await click_in_dm(discord, world, cast.creator, dm, custom_id)
    (sent,) = await mine.followups(count=1, timeout=TIMEOUT)
    assert sorted(a["filename"] for a in sent["attachments"]) == ["ticket-1.html", "ticket-1.txt"]
    # From a DM the bot asks Discord: staff of the category and admins pass, others do not.
    for name in ("staff", "admin", "other member", "other staff"):
        person = cast.everyone()[name]
        click = await click_in_dm(discord, world, person, dm, custom_id)
        if name in {"staff", "admin"}:
            (sent,) = await click.followups(count=1, timeout=TIMEOUT)
            assert sent["attachments"], name
        else:
            assert "can see its transcript" in await answer_text(click), name
    forged = await click_in_dm(discord, world, cast.creator, dm, f"transcript:{world.guild.id}.99")
    assert "does not exist" in await answer_text(forged)


async def test_dm_refused_does_not_block_the_close(discord, stack):
    cast = await start(discord, stack)
    discord.block_dms(cast.creator.id)
    channel_id = await open_for(discord, cast)
    assert SENT in await click_close(discord, cast, cast.staff, channel_id)
    assert "Closing" in await answer(discord, cast, cast.creator, channel_id, "closeyes")
    done = await eventually(lambda: closed(stack, cast.world, 1))
    assert done.transcript_key is not None
    assert dms(discord, cast.world, cast.creator) == []


async def test_channel_tickets_cannot_be_reopened(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    log_channel = discord.add_channel(world.guild.id, name="ticket-log")
    settings = SettingsRepository(stack.backends.db, world.tenant)
    await settings.update_guild(str(world.guild.id), log_channel=str(log_channel.id))
    channel_id = await open_for(discord, cast)
    assert SENT in await click_close(discord, cast, cast.creator, channel_id)
    assert "Closing" in await answer(discord, cast, cast.staff, channel_id, "closeyes")
    await eventually(lambda: closed(stack, world, 1))
    (entry,) = [m for m in bot_messages(discord, world, log_channel.id) if m.components]
    assert [c["custom_id"] for row in entry.components for c in row["components"]] == [
        f"transcript:{world.guild.id}.1"
    ]  # no Reopen under a channel ticket
    # A forged Reopen click: refused with the reason, for whoever may otherwise reopen.
    from tests.e2e.forge import click_in_dm

    (dm,) = dms(discord, world, cast.creator)
    reopen = f"reopen:{world.guild.id}.1"
    for name, person in cast.everyone().items():
        text = await answer_text(await click_in_dm(discord, world, person, dm, reopen))
        if name in {"creator", "staff", "admin"}:
            assert "Only thread tickets can be reopened" in text, name
        else:
            assert "can reopen it" in text, name
    repo = TicketRepository(stack.backends.db, world.tenant)
    assert (await repo.get(str(world.guild.id), 1)).reopened == 0
