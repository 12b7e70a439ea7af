"""A worker that dies mid-way leaves its event to another, and no ticket opens twice."""

from __future__ import annotations

import asyncio

import pytest

from standalone import keys
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import TIMEOUT, make_world
from tests.e2e.flow import bot_messages, post_panel, request_form, submit_topic
from tests.e2e.test_ticket_flow import eventually


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
