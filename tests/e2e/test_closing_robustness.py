"""Closing survives departures, deleted channels, restarts and redelivered clicks."""

from __future__ import annotations

import asyncio
from pathlib import Path

from standalone import keys
from standalone.config import load_config
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from standalone.services.aio import AioRunner, open_backends
from standalone.tickets import close_requests
from storage.scoped import ScopedStore
from tests.e2e.closing_flow import (
    answer_text,
    closed,
    dms,
    make_cast,
    no_timers,
    open_for,
    request_message,
    ticket_of,
)
from tests.e2e.conftest import TIMEOUT, Stack, eventually, make_world
from tests.e2e.flow import bot_messages, button
from tests.e2e.test_closing import SENT, click_close, start
from tests.e2e.test_force_close import open_many

# The answer as the stand-in's members (en-US) read it.
REJECTED = close_requests.REJECTED.render("en-US")

HOUR_MS = 3_600_000


async def test_a_member_leaving_closes_their_open_tickets(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    mine = await open_for(discord, cast)
    # Someone else's ticket stays open.
    helper = world.actor(discord, world.other)
    form = await helper.click(cast.panel.id, button(cast.panel, "open:"))
    await form.response(timeout=TIMEOUT)
    submit = await helper.submit_modal(
        f"topic:{cast.category_key}", {"topic": "not leaving"}, channel_id=world.support.id
    )
    theirs = int((await answer_text(submit)).split("<#")[1].rstrip(">"))
    discord.remove_member(world.guild.id, cast.creator.id)  # GUILD_MEMBER_REMOVE
    done = await eventually(lambda: closed(stack, world, 1))
    assert stack.backends.cipher.decrypt(done.close_reason) == "user left server"
    assert done.closed_by == "automation"
    assert discord.channel(mine) is None
    assert dms(discord, world, cast.creator) == []  # gone: no DM
    assert (await ticket_of(stack, world, theirs)).state == "open"


async def test_deleting_a_ticket_thread_closes_it(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    channel_id = await open_for(discord, cast)
    payload = {"id": str(channel_id), "guild_id": str(world.guild.id), "type": 12, "parent_id": "1"}
    await discord.dispatch(world.app.id, "THREAD_DELETE", payload)
    done = await eventually(lambda: closed(stack, world, 1))
    assert done.closed_by == "discord"
    assert stack.backends.cipher.decrypt(done.close_reason) == "channel deleted"


async def test_accept_delivered_twice_closes_once(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    log_channel = discord.add_channel(world.guild.id, name="ticket-log")
    from standalone.db.settings import SettingsRepository

    await SettingsRepository(stack.backends.db, world.tenant).update_guild(
        str(world.guild.id), log_channel=str(log_channel.id)
    )
    channel_id = await open_for(discord, cast)
    assert SENT in await click_close(discord, cast, cast.staff, channel_id)
    request = request_message(discord, world, channel_id)
    accept = await world.actor(discord, cast.creator).click(request.id, "closeyes:1")
    assert "Closing" in await answer_text(accept)
    first = await eventually(lambda: closed(stack, world, 1))

    # The same interaction again, as after a worker died before acknowledging it.
    # The first delivery marks it handled after its close lets go of the ticket.
    cache = stack.backends.coordination.cache
    handled = keys.handled_interaction(world.tenant, accept.id)
    await eventually(lambda: cache.get(handled))
    await cache.delete(handled)
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", accept.payload)
    answers = await accept.followups(count=2, timeout=TIMEOUT)
    assert answers[-1]["content"] == "Ticket #1 is closed already."
    again = await closed(stack, world, 1)
    assert again.closed_at == first.closed_at and again.closed_by == first.closed_by
    assert len(dms(discord, world, cast.creator)) == 1
    # The close entry (with its buttons) once, besides the ticket's other entries.
    assert len([m for m in bot_messages(discord, world, log_channel.id) if m.components]) == 1

    # A close that died half-way (row says closing) is finished by the redelivery.
    second = await open_for(discord, cast)
    assert SENT in await click_close(discord, cast, cast.staff, second)
    ticket = await ticket_of(stack, world, second)
    repo = TicketRepository(stack.backends.db, world.tenant)
    request = request_message(discord, world, second)
    await repo.mark_closing(ticket, str(cast.staff.id), None)
    accept = await world.actor(discord, cast.creator).click(request.id, f"closeyes:{ticket.number}")
    assert await answer_text(accept) == f"Ticket #{ticket.number} is closed."
    done = await eventually(lambda: closed(stack, world, ticket.number))
    assert done.transcript_key and discord.channel(second) is None
    assert len(dms(discord, world, cast.creator)) == 2


async def test_reject_delivered_again_says_it_was_rejected(discord, stack, monkeypatch):
    cast = await start(discord, stack, auto_close_ms=60_000)
    world = cast.world
    channel_id = await open_for(discord, cast)
    assert SENT in await click_close(discord, cast, cast.staff, channel_id)
    ticket = await ticket_of(stack, world, channel_id)
    request = request_message(discord, world, channel_id)
    # The process dies after the request is dropped, before its timer is cancelled.
    original = TimerRepository.cancel
    died = []

    async def die_once(self, *args):
        if not died:
            died.append(True)
            raise ConnectionError("went away before cancelling the timer")
        return await original(self, *args)

    monkeypatch.setattr(TimerRepository, "cancel", die_once)
    reject = await world.actor(discord, cast.creator).click(request.id, "closeno:1")
    answers = await reject.followups(count=1, timeout=TIMEOUT)
    assert died and answers[-1]["content"] == REJECTED
    timers = TimerRepository(stack.backends.db, world.tenant)
    assert await timers.get(ticket.guild_id, ticket.number, "close_request") is None

    # Delivered once more after it finished (a worker died before acknowledging).
    handled = keys.handled_interaction(world.tenant, reject.id)
    cache = stack.backends.coordination.cache
    await eventually(lambda: cache.get(handled))
    await cache.delete(handled)
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", reject.payload)
    answers = await reject.followups(count=2, timeout=TIMEOUT)
    assert answers[-1]["content"] == REJECTED
    settled = discord.world.messages[request.id]
    assert settled.components == [] and "rejected" in settled.embeds[0]["description"]
    assert (await ticket_of(stack, world, channel_id)).state == "open"


async def test_start_up_closes_orphans_and_finishes_interrupted_closes(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    vanished, interrupted, kept = await open_many(discord, stack, cast, 3)
    # A second server the bot is later removed from, with an open ticket of its own.
    other_guild = discord.add_guild(name="Former")
    discord.install(world.app.id, other_guild.id)
    repo = TicketRepository(stack.backends.db, world.tenant)
    await stack.backends.db.run(
        "CREATE ticket:[$t, $g, 1] CONTENT {tenant: $t, guild_id: $g, number: 1, "
        "category: type::thing('category', $c), creator_id: '5', state: 'open', "
        "channel_id: '12345', interaction_id: 'former-1'};",
        {"t": world.tenant, "g": str(other_guild.id), "c": cast.category_key},
    )
    await stack.runner.stop()
    stack.runner = None

    # While the bot is down: a channel is deleted, a close was cut short, the bot is removed.
    discord.delete_channel(vanished)
    await repo.mark_closing(await ticket_of(stack, world, interrupted), str(cast.staff.id), None)
    discord.world.guilds[other_guild.id].app_ids.remove(world.app.id)

    await stack.start()
    done = await closed(stack, world, 1)
    assert done is not None and done.closed_by == "discord"
    assert stack.backends.cipher.decrypt(done.close_reason) == "channel deleted"
    finished = await closed(stack, world, 2)
    assert finished is not None and finished.closed_by == str(cast.staff.id)
    assert discord.channel(interrupted) is None
    assert (await ticket_of(stack, world, kept)).state == "open"
    former = await repo.get(str(other_guild.id), 1)
    assert former is not None and former.state == "open"  # left alone


async def test_pending_request_survives_a_restart_and_fires_once(discord, tmp_path: Path):
    environ = {
        "TICKETS__DISCORD__API_BASE": discord.api_base,
        "TICKETS__DATABASE__URL": f"surrealkv://{tmp_path / 'db'}",
        "TICKETS__STORAGE__URL": f"file://{tmp_path / 'objects'}",
        "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
        "TICKETS__WORKER__REDELIVER_AFTER_MS": "300",
        "TICKETS__WORKER__CLAIM_INTERVAL_MS": "50",
        "TICKETS__SCHEDULER__INTERVAL_MS": "30",
    }
    config = load_config(environ=environ)
    first = Stack(config, await open_backends(config))
    world = make_world(discord, "alpha")
    try:
        await first.add(world)
        await first.start()
        # Due in an hour: the first runner surely stops before it (2.5 s did not on a
        # loaded machine); the test moves it to now once the second runner is up.
        cast = await make_cast(discord, first, world, auto_close_ms=HOUR_MS)
        channel_id = await open_for(discord, cast)
        assert SENT in await click_close(discord, cast, cast.staff, channel_id)
        ticket = await ticket_of(first, world, channel_id)
        assert ticket.close_request is not None
    finally:
        if first.runner is not None:
            await first.runner.stop()
        await first.backends.close()

    second = Stack(config, await open_backends(config))
    try:
        second.runner = AioRunner(config, second.backends, instance="restarted")
        await second.runner.start()
        pending = await ticket_of(second, world, channel_id)
        assert pending.close_request is not None  # kept in the database, not in memory
        timers = TimerRepository(second.backends.db, world.tenant)
        timer = await timers.get(pending.guild_id, pending.number, "close_request")
        assert timer is not None
        # The hour passes while the bot is down.
        await timers.schedule(pending.guild_id, pending.number, "close_request", pending.created_at)
        # The restarted runner's own scheduler fires it.
        done = await eventually(lambda: closed(second, world, 1))
        assert done.closed_by == str(cast.staff.id)
        assert await no_timers(second, world.tenant)
        assert len(dms(discord, world, cast.creator)) == 1
        store = ScopedStore(second.backends.store, world.tenant)
        assert sorted(await store.list()) == [
            f"transcripts/{world.guild.id}/1.html",
            f"transcripts/{world.guild.id}/1.txt",
        ]
        assert discord.channel(channel_id) is None
    finally:
        await second.runner.stop()
        await second.backends.close()


async def test_two_workers_starting_together_reconcile_each_ticket_once(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    vanished, interrupted, kept = await open_many(discord, stack, cast, 3)
    await stack.runner.stop()
    stack.runner = None
    repo = TicketRepository(stack.backends.db, world.tenant)
    discord.delete_channel(vanished)
    await repo.mark_closing(await ticket_of(stack, world, interrupted), str(cast.staff.id), None)

    runners = [AioRunner(stack.config, stack.backends, instance=name) for name in "ab"]
    try:
        await asyncio.gather(*(runner.start() for runner in runners))
        await eventually(lambda: closed(stack, world, 1))
        await eventually(lambda: closed(stack, world, 2))
    finally:
        await asyncio.gather(*(runner.stop() for runner in runners))
    # Both workers have finished starting: whatever either did is done.
    assert len(dms(discord, world, cast.creator)) == 2
    deletes = [r for r in discord.requests if r == ("DELETE", f"/channels/{interrupted}")]
    assert len(deletes) == 1
    assert (await ticket_of(stack, world, kept)).state == "open"


async def test_a_reconcile_lock_left_by_a_dead_worker_does_not_cost_the_next_start(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    (vanished,) = await open_many(discord, stack, cast, 1)
    await stack.runner.stop()
    stack.runner = None
    discord.delete_channel(vanished)
    # A worker died reconciling: its lock stays until its TTL runs out.
    cache = stack.backends.coordination.cache
    await cache.set(keys.reconcile_lock(world.tenant), b"dead-worker", ttl_ms=500)
    await stack.start()
    # Start-up waited for the dead worker's lock and reconciled after it.
    done = await closed(stack, world, 1)
    assert done is not None and done.closed_by == "discord"


async def test_a_close_lock_left_by_a_worker_that_died_closing_does_not_strand_the_ticket(
    discord, stack
):
    cast = await start(discord, stack)
    world = cast.world
    (interrupted,) = await open_many(discord, stack, cast, 1)
    await stack.runner.stop()
    stack.runner = None
    # A worker died in the middle of the final close: the row says closing and its
    # close lock stays until its TTL runs out. The restart is the only one to finish it.
    repo = TicketRepository(stack.backends.db, world.tenant)
    ticket = await ticket_of(stack, world, interrupted)
    await repo.mark_closing(ticket, str(cast.staff.id), None)
    cache = stack.backends.coordination.cache
    lock = keys.close_lock(world.tenant, ticket.guild_id, ticket.number)
    await cache.set(lock, b"dead-worker", ttl_ms=500)
    await stack.start()
    # Start-up waits for the dead worker's lock to run out, then finishes the close.
    done = await closed(stack, world, ticket.number)
    assert done is not None and done.closed_by == str(cast.staff.id)
    assert discord.channel(interrupted) is None
    assert len(dms(discord, world, cast.creator)) == 1
