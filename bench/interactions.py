"""Interaction → callback latency: our gateway → stream → worker path vs disnake alone.

Both runs happen in this process against the same Discord stand-in. The baseline
is a plain disnake bot on its own gateway socket answering ``/ping``; ours is the
aio runner (gateway service, in-process stream, worker, embedded SurrealDB)
answering the same ``/ping``, then the ticket flow's first steps.

Usage: PYTHONPATH=. python bench/interactions.py [COUNT]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import disnake
from disnake.ext import commands

from emulation.discord import FakeDiscord
from standalone.config import Config, DatabaseConfig, DiscordConfig, SecurityConfig, StorageConfig
from standalone.db.settings import SettingsRepository
from standalone.db.tenants import TenantRepository
from standalone.discord_bridge import sync_commands
from standalone.services.aio import AioRunner, open_backends

PER_CATEGORY = 45  # below Discord's 50 channels per category


def add_ping(bot: commands.InteractionBot) -> None:
    @bot.slash_command(name="ping", description="Answer at once.")
    async def ping(inter: disnake.ApplicationCommandInteraction[Any]) -> None:
        await inter.response.send_message("pong")


async def timed(count: int, one: Callable[[], Awaitable[None]]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await one()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def world(discord: FakeDiscord) -> tuple[Any, Any, Any, Any, Any]:
    app = discord.add_application()
    guild = discord.add_guild()
    role = discord.add_role(guild.id, name="Staff", permissions=1 << 5)
    staff = discord.add_member(guild.id, username="sam", roles=[role.id])
    channel = discord.add_channel(guild.id, name="support")
    discord.install(app.id, guild.id)
    return app, guild, role, staff, channel


async def baseline(count: int) -> list[float]:
    async with FakeDiscord() as discord:
        app, guild, _, staff, channel = world(discord)
        disnake.http.Route.BASE = discord.api_base
        bot = commands.InteractionBot(
            application_id=app.id,
            owner_id=1,
            guild_ready_timeout=0.1,
            chunk_guilds_at_startup=False,
        )
        add_ping(bot)
        task = asyncio.create_task(bot.start(app.token))
        await bot.wait_until_ready()
        while not discord.commands(app.id):
            await asyncio.sleep(0.01)
        actor = discord.actor(app.id, guild.id, staff.id)

        async def one() -> None:
            inter = await actor.slash("ping", {}, channel_id=channel.id)
            await inter.response(timeout=10)

        samples = await timed(count, one)
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)
        return samples


async def ours(count: int, data: Path) -> dict[str, list[float]]:
    async with FakeDiscord() as discord:
        app, guild, role, staff, channel = world(discord)
        config = Config(
            discord=DiscordConfig(api_base=discord.api_base),
            database=DatabaseConfig(url=f"surrealkv://{data / 'db'}"),
            storage=StorageConfig(url=f"file://{data / 'objects'}"),
            security=SecurityConfig(key_file=str(data / "secret.key")),
        )
        backends = await open_backends(config)
        await TenantRepository(backends.db, backends.cipher).add("b", app.token, str(app.id))
        runner = AioRunner(config, backends)
        await runner.start()
        bot = runner.apps["b"].bot
        add_ping(bot)
        await sync_commands(bot)
        staff_actor = discord.actor(app.id, guild.id, staff.id)

        async def ping() -> None:
            inter = await staff_actor.slash("ping", {}, channel_id=channel.id)
            await inter.response(timeout=10)

        results = {"/ping": await timed(count, ping)}
        # Discord holds 50 channels per category, so the tickets are spread over
        # enough categories (one panel button each) that none fills up.
        settings = SettingsRepository(backends.db, "b")
        for n in range(-(-count // PER_CATEGORY)):
            parent = discord.add_channel(guild.id, name=f"tickets-{n}", type=4)
            await settings.create_category(
                str(guild.id),
                f"Kind {n}",
                staff_roles=[str(role.id)],
                discord_category=str(parent.id),
            )
        panel_inter = await staff_actor.slash("panel", {}, channel_id=channel.id)
        await panel_inter.followups(count=1, timeout=10)
        panel = next(m for m in discord.messages(channel.id) if m.components)
        buttons = [c["custom_id"] for row in panel.components for c in row["components"]]
        members = [discord.add_member(guild.id, username=f"m{n}") for n in range(count)]
        forms: list[tuple[Any, str]] = []

        async def click() -> None:
            member = members[len(forms)]
            custom_id = buttons[len(forms) // PER_CATEGORY]
            inter = await discord.actor(app.id, guild.id, member.id).click(panel.id, custom_id)
            forms.append((member, (await inter.response(timeout=10))["data"]["custom_id"]))

        results["panel click → form"] = await timed(count, click)
        opened = iter(forms)

        async def submit() -> None:
            member, form = next(opened)
            inter = await discord.actor(app.id, guild.id, member.id).submit_modal(
                form, {"topic": "benchmark ticket"}, channel_id=channel.id
            )
            answer = await inter.followups(count=1, timeout=10)
            # A refusal is quick and would flatter the figure: every open must succeed.
            if not answer[-1]["content"].startswith("Your ticket is open"):
                raise RuntimeError(f"ticket not opened: {answer[-1]['content']}")

        results["form → ticket open"] = await timed(count, submit)
        await runner.stop()
        await backends.close()
        return results


def row(name: str, samples: list[float], base: float) -> str:
    p50 = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"| {name} | {p50:.2f} | {p95:.2f} | {p50 / base:.2f}x |"


async def main(count: int) -> None:
    base = await baseline(count)
    with tempfile.TemporaryDirectory() as data:
        runs = await ours(count, Path(data))
    base_p50 = statistics.median(base)
    print(f"{count} sequential interactions each; latency from the member's action to Discord")
    print("receiving the answer (ms).\n")
    print("| path | p50 (ms) | p95 (ms) | p50 vs baseline |")
    print("|---|---|---|---|")
    print(row("baseline: disnake alone, /ping", base, base_p50))
    for name, samples in runs.items():
        print(row(name, samples, base_p50))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
