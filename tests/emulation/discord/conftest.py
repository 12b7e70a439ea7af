"""A started stand-in, a small guild in it, and a raw REST client for one bot token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from emulation.discord import App, Channel, FakeDiscord, Guild, Role, User


@dataclass
class Setup:
    app: App
    guild: Guild
    staff: Role
    alice: User
    general: Channel


@pytest.fixture
async def fd() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def setup(fd: FakeDiscord) -> Setup:
    app = fd.add_application(name="Tickets")
    guild = fd.add_guild(name="Guild", owner_name="owner")
    staff = fd.add_role(guild.id, name="Staff", permissions=0)
    alice = fd.add_member(guild.id, username="alice", roles=[staff.id])
    general = fd.add_channel(guild.id, name="general")
    fd.install(app.id, guild.id)
    return Setup(app, guild, staff, alice, general)


class Api:
    """Raw HTTP against the stand-in: status and decoded body, nothing hidden."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None) -> None:
        self.session = session
        self.base = base
        self.token = token

    async def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, **kw: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = {}
        auth = token if token is not None else self.token
        if auth:
            headers["Authorization"] = f"Bot {auth}"
        async with self.session.request(
            method, self.base + path, json=body, headers=headers, **kw
        ) as resp:
            raw = await resp.read()
            data = await resp.json(content_type=None) if raw else None
            return resp.status, data, resp


@pytest.fixture
async def api(fd: FakeDiscord, setup: Setup) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, fd.api_base, setup.app.token)
