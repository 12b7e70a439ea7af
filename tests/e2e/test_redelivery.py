"""A worker that dies mid-way leaves its event to another, and no ticket opens twice."""

from __future__ import annotations

import asyncio

import pytest

from standalone import keys
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, post_panel, request_form, submit_topic


class WorkerDied(Exception):
    """Stands for the process dying: the worker task ends without acknowledging."""


async def _single_open_ticket(discord, stack, world):
    repo = TicketRepository(stack.backends.db, world.tenant)
    tickets = await repo.tickets()
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.state == "open"
    ticket_channels = [c for c in discord.channels(world.guild.id) if c.name.startswith("ticket-")]
    assert [c.id for c in ticket_channels] == [int(ticket.channel_id)]
    assert len(bot_messages(discord, world, int(ticket.channel_id))) == 1
    return ticket


async def test_worker_dies_between_handling_and_ack(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    runner = await stack.start()
    panel = await post_panel(discord, world)
    form = await request_form(discord, world, panel, world.member)

    # Only one worker per tenant runs: make it die right after the modal's handler.
    first = runner.workers[0]

    async def die(envelope):
        if b'"type":5' in envelope.data.replace(b" ", b""):
            raise WorkerDied

    first.after_handle = die
    submit = await submit_topic(discord, world, form, world.member, "dies before ack")
    await eventually(lambda: _worker_gone(runner, first))
    stream = keys.events(world.tenant)
    pending = await stack.backends.coordination.streams.pending(stream, keys.WORKER_GROUP)
    assert len(pending) == 1  # the modal submit, never acknowledged

    second = runner.add_worker(runner.apps[world.tenant])
    await eventually(lambda: _no_pending(stack, stream))
    assert second.handled >= 1  # the modal submit, and the bot's own messages
    ticket = await _single_open_ticket(discord, stack, world)
    answers = await submit.followups(count=1, timeout=TIMEOUT)
    assert len(answers) == 1 and str(ticket.channel_id) in answers[0]["content"]


async def _worker_gone(runner, worker):
    return runner.worker_tasks[worker.consumer].done()


async def _no_pending(stack, stream):
    return await stack.backends.coordination.streams.pending(stream, keys.WORKER_GROUP) == []


@pytest.mark.parametrize("step", ["set_channel", "mark_open"])
async def test_crash_in_the_middle_of_opening_resumes_without_duplicates(
    discord, stack, monkeypatch, step
):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    form = await request_form(discord, world, panel, world.member)

    original = getattr(TicketRepository, step)
    crashed = asyncio.Event()

    async def crash_once(self, *args, **kwargs):
        if not crashed.is_set():
            crashed.set()
            raise ConnectionError(f"database went away during {step}")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(TicketRepository, step, crash_once)
    submit = await submit_topic(discord, world, form, world.member, "crash half way")
    answers = await submit.followups(count=1, timeout=TIMEOUT)
    assert crashed.is_set()
    ticket = await _single_open_ticket(discord, stack, world)
    assert len(answers) == 1 and str(ticket.channel_id) in answers[0]["content"]


async def test_a_handler_slower_than_redelivery_is_not_run_twice_at_once(
    discord, stack, monkeypatch
):
    # Seen on a loaded machine: the only worker's claim loop took the modal submit it
    # was still handling (idle past redeliver_after_ms, 300 ms here) and ran it again;
    # the second run found the first one's row and told the member they already had a
    # ticket. Now the entry is touched while handled and is never claimed at all.
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    form = await request_form(discord, world, panel, world.member)
    original = TicketRepository.create
    runs: list[str] = []
    started: list[float] = []
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def slow_create(self, *args, **kwargs):
        runs.append(args[3])  # the interaction id
        started.append(loop.time())
        await release.wait()
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(TicketRepository, "create", slow_create)
    submit = await submit_topic(discord, world, form, world.member, "slow to record")
    stream = keys.events(world.tenant)
    streams = stack.backends.coordination.streams
    held_s = 3 * stack.config.worker.redeliver_after_ms / 1000

    async def held_long_or_run_twice():
        return len(runs) > 1 or (started and loop.time() - started[0] > held_s)

    await eventually(held_long_or_run_twice)
    assert len(runs) == 1
    # The worker touched the entry while it worked: no claim, its own or another's.
    pending = await streams.pending(stream, keys.WORKER_GROUP)
    assert [p.deliveries for p in pending] == [1]
    release.set()
    answers = await submit.followups(count=1, timeout=TIMEOUT)
    ticket = await _single_open_ticket(discord, stack, world)
    assert len(answers) == 1 and str(ticket.channel_id) in answers[0]["content"]
    await eventually(lambda: _no_pending(stack, stream))
    assert len(runs) == 1
