"""A local Discord and the whole bot stack, over real sockets, for end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import disnake
import pytest

from emulation.discord import FakeDiscord
from standalone.config import Config, load_config
from standalone.db.tenants import TenantRepository
from standalone.services.aio import AioRunner, Backends, open_backends

# Only a broken flow waits this long, so it is generous: CI shares 2 cores with other jobs.
TIMEOUT = 30.0


async def eventually(check: Any, timeout: float = TIMEOUT) -> Any:
    """Poll an async check until it returns something truthy; returns that."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.02)
        return result


MANAGE_GUILD = 1 << 5


@dataclass
class World:
    """One bot installed in one server with a staff member and two members."""

    tenant: str
    app: Any
    guild: Any
    staff_role: Any
    staff: Any
    member: Any
    other: Any
    support: Any

    def actor(self, discord: FakeDiscord, user: Any) -> Any:
        return discord.actor(self.app.id, self.guild.id, user.id)


def make_world(discord: FakeDiscord, tenant: str) -> World:
    app = discord.add_application(name=f"Tickets {tenant}")
    guild = discord.add_guild(name=f"Server {tenant}", owner_name=f"owner-{tenant}")
    staff_role = discord.add_role(guild.id, name="Staff", permissions=MANAGE_GUILD)
    staff = discord.add_member(guild.id, username=f"sam-{tenant}", roles=[staff_role.id])
    member = discord.add_member(guild.id, username=f"alex-{tenant}")
    other = discord.add_member(guild.id, username=f"olga-{tenant}")
    support = discord.add_channel(guild.id, name="support")
    discord.install(app.id, guild.id)
    return World(tenant, app, guild, staff_role, staff, member, other, support)


def stack_config(tmp_path: Path, discord: FakeDiscord) -> Config:
    return load_config(
        environ={
            "TICKETS__DISCORD__API_BASE": discord.api_base,
            "TICKETS__DATABASE__URL": "mem://",
            "TICKETS__STORAGE__URL": f"file://{tmp_path / 'objects'}",
            "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
            "TICKETS__WORKER__REDELIVER_AFTER_MS": "300",
            "TICKETS__WORKER__CLAIM_INTERVAL_MS": "50",
            "TICKETS__SCHEDULER__INTERVAL_MS": "30",
            "TICKETS__SCHEDULER__LEASE_TTL_MS": "3000",
            "TICKETS__SCHEDULER__HOLD_MS": "5000",
        }
    )


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    base = disnake.http.Route.BASE
    yield fake
    disnake.http.Route.BASE = base
    await fake.stop()


@dataclass
class Stack:
    """Backends plus a runner that is started once the worlds exist."""

    config: Config
    backends: Backends
    runner: AioRunner | None = None

    async def add(self, world: World) -> None:
        repo = TenantRepository(self.backends.db, self.backends.cipher)
        await repo.add(world.tenant, world.app.token, str(world.app.id))

    async def start(self) -> AioRunner:
        self.runner = AioRunner(self.config, self.backends, instance="test")
        await self.runner.start()
        return self.runner


@pytest.fixture
async def stack(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[Stack]:
    backends = await open_backends(stack_config(tmp_path, discord))
    built = Stack(stack_config(tmp_path, discord), backends)
    yield built
    if built.runner is not None:
        await built.runner.stop()
    await backends.close()
