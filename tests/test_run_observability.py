"""``tickets run`` as its own process: its logs and metrics over a whole ticket, from outside.

Its stderr is a pipe, so every line must be JSON; lines logged while an event is
handled carry the tenant, guild and trace ids (and the ticket once known); the
bot token and what members typed never appear. ``/metrics`` on
``metrics.listen`` is scraped after the ticket is closed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulation.discord import FakeDiscord
from tests.e2e.conftest import TIMEOUT, make_world
from tests.e2e.flow import close_with_approval, open_ticket, post_panel
from tests.test_cli import ROOT, command_line

TOPIC = "my secret topic: the printer ate my passport"
MESSAGE = "member's private words: the code is 4711"
CALLBACK = "/interactions/{major}/{major}/callback"


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


async def read_lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode())


async def until(check, timeout=TIMEOUT):
    async with asyncio.timeout(timeout):
        while not (found := check()):
            await asyncio.sleep(0.05)
        return found


def metrics_url(lines: list[str]) -> str | None:
    for line in lines:
        entry = msgspec.json.decode(line)
        if entry["msg"].startswith("metrics on "):
            return str(entry["msg"].removeprefix("metrics on "))
    return None


@pytest.mark.timeout(120)
async def test_logs_and_metrics_of_a_whole_ticket(tmp_path: Path):
    async with FakeDiscord() as discord:
        world = make_world(discord, "default")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
        env.update(
            PYTHONPATH=str(ROOT),
            DISCORD_TOKEN=world.app.token,
            TICKETS__DISCORD__API_BASE=discord.api_base,
            TICKETS__LOGGING__LEVEL="DEBUG",
            TICKETS__METRICS__LISTEN="127.0.0.1:0",
            TICKETS__METRICS__SAMPLE_INTERVAL_MS="50",
        )
        process = await asyncio.create_subprocess_exec(
            *command_line(),
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        lines: list[str] = []
        assert process.stderr is not None
        reader = asyncio.create_task(read_lines(process.stderr, lines))
        try:
            await until(
                lambda: (
                    any(s.conn for s in discord.gateway.sessions_of(world.app.id))
                    and discord.commands(world.app.id)
                )
            )
            url = await until(lambda: metrics_url(lines))
            panel = await post_panel(discord, world)
            channel_id = await open_ticket(discord, world, panel, TOPIC)
            await world.actor(discord, world.member).send_message(channel_id, MESSAGE)
            await close_with_approval(discord, world, channel_id, world.staff, world.member)
            await until(lambda: discord.channel(channel_id) is None)

            async with aiohttp.ClientSession() as session:

                async def scrape() -> str:
                    async with session.get(url) as response:
                        assert response.status == 200
                        return await response.text()

                async def settled() -> str | None:
                    text = await scrape()
                    closed = value(text, "tickets_closed_total", tenant="default")
                    pending = value(text, "tickets_stream_pending", tenant="default")
                    return text if closed == 1 and pending == 0 else None

                async with asyncio.timeout(TIMEOUT):
                    while (text := await settled()) is None:
                        await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 20)
            await reader
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            reader.cancel()
        assert process.returncode == 0, "".join(lines[-20:])

    # Metrics: panel, open click, form, close click, accept: five interactions.
    tenant = {"tenant": "default"}
    assert value(text, "tickets_opened_total", **tenant) == 1
    assert value(text, "tickets_closed_total", **tenant) == 1
    interactions = value(text, "tickets_gateway_events_total", type="INTERACTION_CREATE", **tenant)
    assert interactions == 5
    assert value(text, "tickets_gateway_events_total", type="MESSAGE_CREATE", **tenant) >= 1
    assert value(text, "tickets_worker_events_total", outcome="handled", **tenant) >= 6
    assert value(text, "tickets_rest_requests_total", route=CALLBACK, **tenant) == 5
    assert value(text, "tickets_interaction_callback_seconds_count", **tenant) == 5
    assert value(text, "tickets_interaction_callback_seconds_sum", **tenant) > 0
    assert value(text, "tickets_rest_requests_total", route="/channels/{major}", **tenant) >= 1
    assert value(text, "tickets_rest_rate_limited_total", **tenant) == 0
    assert value(text, "tickets_shard_lease_changes_total", change="acquired", **tenant) == 1
    assert value(text, "tickets_shard_lease_changes_total", change="lost", **tenant) == 0
    assert value(text, "tickets_stream_length", **tenant) >= interactions
    assert 'tickets_stream_lag_seconds{tenant="default"}' in text
    assert 0 <= value(text, "tickets_stream_lag_seconds", **tenant) < TIMEOUT
    # Bounded labels: no guild, user or channel id anywhere.
    for snowflake in (world.guild.id, world.member.id, world.staff.id, channel_id):
        assert str(snowflake) not in text

    # Logs: every line is JSON with every id field.
    entries = [msgspec.json.decode(line) for line in lines]
    assert entries
    for entry in entries:
        assert {"ts", "level", "logger", "msg", "tenant", "guild", "ticket", "trace_id"} <= set(
            entry
        ), entry
    events = [e for e in entries if e["logger"] == "standalone.services.worker"]
    assert len([e for e in events if e["msg"].endswith("handled")]) >= 6
    for entry in events:
        assert entry["tenant"] == "default", entry
        assert len(entry["trace_id"]) == 32, entry
        # The bot's DMs to the member are events of no guild.
        assert entry["guild"] in {str(world.guild.id), None}, entry
        if "INTERACTION_CREATE" in entry["msg"]:
            assert entry["guild"] == str(world.guild.id), entry
    assert len({e["trace_id"] for e in events}) >= 6  # one trace per event
    # Events about the ticket name it once it is known.
    assert any(e["ticket"] == "1" for e in events)
    # Nothing secret or private, whatever the level.
    everything = "".join(lines)
    assert world.app.token not in everything
    assert world.app.token.split(".")[-1] not in everything
    assert "passport" not in everything and "4711" not in everything
