"""``tickets demo``: a staff member and a member play one ticket against a local Discord.

Everything is real except Discord: the embedded database and file storage under
the data directory, the in-process coordination layer, the gateway socket and the
worker, all started through the same runner as ``tickets run``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulation.discord import FakeDiscord
from standalone.config import (
    Config,
    DatabaseConfig,
    DiscordConfig,
    SecurityConfig,
    StorageConfig,
)
from standalone.db.records import Ticket
from standalone.db.tenants import TenantRepository
from standalone.db.tickets import TicketRepository
from standalone.services.aio import AioRunner, open_backends
from storage.scoped import ScopedStore

TENANT = "demo"
STEP_TIMEOUT_S = 15.0
MARKER = ".tickets-demo"


class DemoFailed(Exception):
    """A step did not do what it should; the message says which."""


def demo_config(data_dir: Path, api_base: str) -> Config:
    """The embedded defaults, under ``data_dir``, pointed at the local Discord.

    Built from defaults only: a ``tickets.toml`` or ``TICKETS__*`` variables meant
    for a real deployment must not leak into the demo.
    """
    return Config(
        discord=DiscordConfig(api_base=api_base),
        database=DatabaseConfig(url=f"surrealkv://{data_dir / 'db'}"),
        storage=StorageConfig(url=f"file://{data_dir / 'objects'}"),
        security=SecurityConfig(key_file=str(data_dir / "secret.key")),
    )


def _expect(condition: object, failure: str) -> None:
    if not condition:
        raise DemoFailed(failure)


def _components(message: Any) -> list[dict[str, Any]]:
    return [c for row in message.components for c in row.get("components", [])]


def _fresh_directory(path: Path) -> None:
    # Only ever delete a directory the demo made itself.
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        raise DemoFailed(f"{path} is not empty and was not made by the demo; pick another")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / MARKER).write_text("made by 'tickets demo'; deleted by its next run\n")


async def _wait_closed(repo: TicketRepository, ticket: Ticket) -> Ticket:
    # The member is answered before the channel is deleted and the row closed.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT_S
    while ticket.state != "closed" and loop.time() < deadline:
        await asyncio.sleep(0.05)
        ticket = await repo.get(ticket.guild_id, ticket.number) or ticket
    return ticket


async def run_demo(data_dir: Path, say: Callable[[str], Any] = print) -> Path:
    """Play the flow; returns the transcript's path, raises DemoFailed otherwise."""
    # A fresh data directory each run: the demo's Discord is new every time too.
    await asyncio.to_thread(_fresh_directory, data_dir)
    discord = FakeDiscord()
    await discord.start()
    try:
        return await _play(discord, data_dir, say)
    finally:
        await discord.stop()


async def _play(discord: FakeDiscord, data_dir: Path, say: Callable[[str], Any]) -> Path:
    say(f"1. Local Discord listening on {discord.url}")
    bot = discord.add_application(name="Tickets Demo")
    guild = discord.add_guild(name="Demo Server", owner_name="owner")
    staff_role = discord.add_role(guild.id, name="Staff", permissions=1 << 5)  # Manage Server
    staff = discord.add_member(guild.id, username="sam", roles=[staff_role.id])
    member = discord.add_member(guild.id, username="alex")
    support = discord.add_channel(guild.id, name="support")
    discord.install(bot.id, guild.id)

    config = demo_config(data_dir, discord.api_base)
    backends = await open_backends(config)
    runner: AioRunner | None = None
    try:
        tenants = TenantRepository(backends.db, backends.cipher)
        await tenants.add(TENANT, bot.token, str(bot.id))
        say(f"2. Tenant '{TENANT}' added; database {config.database.url}")
        runner = AioRunner(config, backends)
        await runner.start()
        say("3. Gateway connected and worker consuming")

        sam = discord.actor(bot.id, guild.id, staff.id)
        alex = discord.actor(bot.id, guild.id, member.id)
        inter = await sam.slash("panel", {"staff_role": str(staff_role.id)}, channel_id=support.id)
        answer = await inter.followups(count=1, timeout=STEP_TIMEOUT_S)
        panel = next(
            (m for m in discord.messages(support.id) if m.author_id == bot.bot_user.id), None
        )
        _expect(panel is not None, "the panel was not posted")
        assert panel is not None
        say(f"4. sam ran /panel: {answer[-1]['content']}")

        open_button = next(
            c for c in _components(panel) if c.get("custom_id", "").startswith("open:")
        )
        click = await alex.click(panel.id, open_button["custom_id"])
        modal = await click.response(timeout=STEP_TIMEOUT_S)
        _expect(modal["type"] == 9, f"expected a form, got response type {modal['type']}")
        say("5. alex clicked 'Open ticket' and got the topic form")

        submit = await alex.submit_modal(
            modal["data"]["custom_id"], {"topic": "My order never arrived"}, channel_id=support.id
        )
        opened = await submit.followups(count=1, timeout=STEP_TIMEOUT_S)
        repo = TicketRepository(backends.db, TENANT)
        tickets = await repo.tickets(str(guild.id))
        _expect(len(tickets) == 1 and tickets[0].state == "open", f"ticket not open: {tickets}")
        ticket = tickets[0]
        assert ticket.channel_id is not None
        channel = discord.channel(int(ticket.channel_id))
        _expect(channel is not None, "the ticket channel does not exist")
        assert channel is not None
        say(f"6. alex submitted the topic: {opened[-1]['content']} (#{channel.name})")

        await alex.send_message(channel.id, "Hi, order #1234 has not arrived yet.")
        await sam.send_message(channel.id, "Sorry about that! It ships today.")
        await alex.send_message(channel.id, "Thanks!")
        say("7. alex and sam talked in the ticket")

        opening = next(m for m in discord.messages(channel.id) if m.author_id == bot.bot_user.id)
        close_button = next(
            c for c in _components(opening) if c.get("custom_id", "").startswith("close:")
        )
        close = await sam.click(opening.id, close_button["custom_id"])
        closed = await close.followups(count=1, timeout=STEP_TIMEOUT_S)
        say(f"8. sam clicked Close: {closed[-1]['content']}")

        request = next(
            m
            for m in reversed(discord.messages(channel.id))
            if any(c.get("custom_id", "").startswith("closeyes:") for c in _components(m))
        )
        accept_button = next(
            c for c in _components(request) if c.get("custom_id", "").startswith("closeyes:")
        )
        accept = await alex.click(request.id, accept_button["custom_id"])
        accepted = await accept.followups(count=1, timeout=STEP_TIMEOUT_S)
        say(f"9. alex accepted the close request: {accepted[-1]['content']}")

        ticket = await _wait_closed(repo, ticket)
        _expect(ticket.state == "closed", f"ticket is {ticket.state}, not closed")
        _expect(discord.channel(channel.id) is None, "the ticket channel was not deleted")
        _expect(ticket.transcript_key is not None, "no transcript was recorded")
        assert ticket.transcript_key is not None
        store = ScopedStore(backends.store, TENANT)
        html = (await store.get(ticket.transcript_key)).decode()
        _expect("order #1234" in html and "ships today" in html, "the transcript lacks messages")
        path = Path(store.locate(ticket.transcript_key))
        count = ticket.message_count
        say(f"10. Ticket #{ticket.number} closed, channel deleted, {count} messages archived")
        return path
    finally:
        if runner is not None:
            await runner.stop()
        await backends.close()
