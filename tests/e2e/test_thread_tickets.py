"""Thread tickets close into a locked archive and can be reopened for a week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standalone import keys
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from tests.e2e.closing_flow import answer_text, closed, dms, make_cast
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, button
from tests.e2e.forge import click_in_dm


async def thread_ticket(discord, stack, cast, interaction="t1"):
    """A ticket in a private thread, as opening makes it for a thread category."""
    world = cast.world
    app = stack.runner.apps[world.tenant]
    thread = await app.bot.http.start_thread_without_message(
        world.support.id, name="ticket", auto_archive_duration=10080, type=12, invitable=False
    )
    await app.bot.http.add_user_to_thread(int(thread["id"]), cast.creator.id)
    repo = TicketRepository(stack.backends.db, world.tenant)
    ticket = await repo.create(
        str(world.guild.id), cast.category_key, str(cast.creator.id), interaction, None
    )
    await repo.mark_open(ticket.guild_id, ticket.number, str(thread["id"]), None)
    await stack.backends.db.run(
        "UPDATE ticket SET thread = true WHERE tenant = $t AND number = $n;",
        {"t": world.tenant, "n": ticket.number},
    )
    return ticket.number, int(thread["id"])


async def force_close(discord, cast, thread_id, number, stack):
    inter = await cast.world.actor(discord, cast.staff).slash(
        "force-close", {}, channel_id=thread_id
    )
    assert f"Closing ticket #{number}" in await answer_text(inter)
    return await eventually(lambda: closed(stack, cast.world, number))


async def test_thread_ticket_closes_into_a_locked_archive_and_reopens(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(discord, stack, world, mode="thread")
    log_channel = discord.add_channel(world.guild.id, name="ticket-log")
    await SettingsRepository(stack.backends.db, world.tenant).update_guild(
        str(world.guild.id), log_channel=str(log_channel.id)
    )
    number, thread_id = await thread_ticket(discord, stack, cast)
    assert cast.creator.id in discord.thread_members(thread_id)

    await force_close(discord, cast, thread_id, number, stack)
    thread = discord.channel(thread_id)
    assert thread is not None  # kept, not deleted
    assert thread.thread.archived and thread.thread.locked
    assert cast.creator.id not in discord.thread_members(thread_id)
    (dm,) = dms(discord, world, cast.creator)
    reopen = button(dm, "reopen:")
    assert reopen == f"reopen:{world.guild.id}.{number}"
    (entry,) = [m for m in bot_messages(discord, world, log_channel.id) if m.components]
    assert button(entry, "reopen:") == reopen

    # Who may reopen: the creator, staff of the category and admins.
    for name in ("added member", "other member", "other staff"):
        person = cast.everyone()[name]
        text = await answer_text(await click_in_dm(discord, world, person, dm, reopen))
        assert "can reopen it" in text, name
    repo = TicketRepository(stack.backends.db, world.tenant)
    assert (await repo.get(str(world.guild.id), number)).state == "closed"

    for cycle, name in enumerate(("creator", "staff", "admin"), start=1):
        person = cast.everyone()[name]
        if name == "creator":
            click = await click_in_dm(discord, world, person, dm, reopen)
        else:
            click = await world.actor(discord, person).click(entry.id, reopen)
        assert f"is open again: <#{thread_id}>" in await answer_text(click), name
        ticket = await repo.get(str(world.guild.id), number)
        assert ticket.state == "open" and ticket.reopened == cycle
        assert not thread.thread.archived and not thread.thread.locked
        assert cast.creator.id in discord.thread_members(thread_id)
        notice = bot_messages(discord, world, thread_id)[-1]
        assert notice.content == f"Ticket reopened by <@{person.id}>."
        again = await world.actor(discord, cast.staff).click(entry.id, reopen)
        assert await answer_text(again) == f"Ticket #{number} is not closed."
        await force_close(discord, cast, thread_id, number, stack)

    # A week after closing it stays closed.
    await stack.backends.db.run(
        "UPDATE ticket SET closed_at = time::now() - 8d WHERE tenant = $t AND number = $n;",
        {"t": world.tenant, "n": number},
    )
    # Each close of the same ticket is told once: four closes, four DMs and log entries.
    assert len(dms(discord, world, cast.creator)) == 4
    assert len([m for m in bot_messages(discord, world, log_channel.id) if m.components]) == 4
    late = await click_in_dm(discord, world, cast.creator, dm, reopen)
    assert "closed more than 7 days ago" in await answer_text(late)
    assert thread.thread.archived


async def test_a_deleted_thread_closes_its_ticket(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(discord, stack, world, mode="thread")
    number, thread_id = await thread_ticket(discord, stack, cast)
    discord.delete_channel(thread_id)  # emits THREAD_DELETE
    done = await eventually(lambda: closed(stack, world, number))
    assert done.closed_by == "discord"
    assert stack.backends.cipher.decrypt(done.close_reason) == "channel deleted"


async def test_a_reopened_ticket_goes_stale_again_and_forgets_its_old_warning(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(
        discord, stack, world, mode="thread", stale_after_ms=3_600_000, auto_close_ms=60_000
    )
    number, thread_id = await thread_ticket(discord, stack, cast)
    repo = TicketRepository(stack.backends.db, world.tenant)
    # Closed by the auto-close after a stale warning, as an idle ticket is.
    await stack.backends.db.run(
        "UPDATE ticket SET stale_message_id = '1' WHERE tenant = $t AND number = $n;",
        {"t": world.tenant, "n": number},
    )
    await force_close(discord, cast, thread_id, number, stack)
    timers = TimerRepository(stack.backends.db, world.tenant)
    assert await timers.all() == []
    (dm,) = dms(discord, world, cast.creator)
    click = await click_in_dm(discord, world, cast.creator, dm, button(dm, "reopen:"))
    assert "is open again" in await answer_text(click)
    ticket = await repo.get(str(world.guild.id), number)
    assert ticket.state == "open" and ticket.stale_message_id is None
    (timer,) = await timers.all()
    assert timer.kind == "stale"
    wait = timer.due_at - datetime.now(UTC)
    assert timedelta(minutes=55) < wait <= timedelta(hours=1)


async def test_a_reopen_delivered_again_finishes_it_and_says_so(discord, stack, monkeypatch):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(discord, stack, world, mode="thread")
    number, thread_id = await thread_ticket(discord, stack, cast)
    await force_close(discord, cast, thread_id, number, stack)
    (dm,) = dms(discord, world, cast.creator)
    # The process dies after the row is reopened, before the notice is posted.
    original = TicketRepository.reopen
    died = []

    async def reopen_then_die(self, ticket):
        reopened = await original(self, ticket)
        if not died:
            died.append(True)
            raise ConnectionError("went away after reopening the row")
        return reopened

    monkeypatch.setattr(TicketRepository, "reopen", reopen_then_die)
    click = await click_in_dm(discord, world, cast.creator, dm, button(dm, "reopen:"))
    # The worker delivers it again: it finishes the reopen instead of "not closed".
    answers = await click.followups(count=1, timeout=TIMEOUT)
    assert died and answers[-1]["content"] == f"Ticket #{number} is open again: <#{thread_id}>"
    notice = f"Ticket reopened by <@{cast.creator.id}>."
    assert [m.content for m in bot_messages(discord, world, thread_id)].count(notice) == 1

    # Delivered once more after it finished (a worker died before acknowledging).
    handled = keys.handled_interaction(world.tenant, click.id)
    cache = stack.backends.coordination.cache
    await eventually(lambda: cache.get(handled))
    await cache.delete(handled)
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", click.payload)
    answers = await click.followups(count=2, timeout=TIMEOUT)
    assert answers[-1]["content"] == f"Ticket #{number} is open again: <#{thread_id}>"
    assert [m.content for m in bot_messages(discord, world, thread_id)].count(notice) == 1
    # Someone else's click is still told the ticket is not closed.
    other = await click_in_dm(discord, world, cast.creator, dm, button(dm, "reopen:"))
    assert await answer_text(other) == f"Ticket #{number} is not closed."


async def test_a_reopen_waiting_for_its_category_lock_has_answered_discord_already(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(discord, stack, world, mode="thread")
    number, thread_id = await thread_ticket(discord, stack, cast)
    await force_close(discord, cast, thread_id, number, stack)
    (dm,) = dms(discord, world, cast.creator)
    # Another process is opening a ticket of the category: the reopen waits its turn,
    # and Discord drops an interaction not answered within three seconds.
    cache = stack.backends.coordination.cache
    lock = keys.open_lock(world.tenant, world.guild.id, cast.category_key)
    await cache.set(lock, b"an-open-elsewhere", ttl_ms=60_000)
    click = await click_in_dm(discord, world, cast.creator, dm, button(dm, "reopen:"))
    response = await click.response(timeout=TIMEOUT)
    assert response["type"] == 5  # deferred while the lock is still held
    assert await cache.get(lock) == b"an-open-elsewhere"
    await cache.delete(lock)
    answers = await click.followups(count=1, timeout=TIMEOUT)
    assert answers[-1]["content"] == f"Ticket #{number} is open again: <#{thread_id}>"
