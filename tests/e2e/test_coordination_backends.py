"""The whole ticket flow with coordination outside the process's memory.

``unix``: the aio runner starts the Unix-socket server itself
(``coordination.serve``) with an append-only file, and talks to it over the
socket. ``valkey``: the Redis at ``VALKEY_URL``, required under CI.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulation.discord import FakeDiscord
from emulation.unix import UnixCoordination
from standalone import keys
from standalone.config import Config, load_config
from standalone.services.aio import open_backends
from tests.e2e.conftest import Stack, make_world
from tests.e2e.test_ticket_flow import play_full_ticket

VALKEY_REQUIRED = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("TICKETS_REQUIRE_VALKEY") == "1"
)


def config_for(tmp_path: Path, discord: FakeDiscord, backend: str) -> Config:
    environ = {
        "TICKETS__DISCORD__API_BASE": discord.api_base,
        "TICKETS__DATABASE__URL": "mem://",
        "TICKETS__STORAGE__URL": f"file://{tmp_path / 'objects'}",
        "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
    }
    if backend == "unix":
        environ["TICKETS__COORDINATION__URL"] = f"unix://{tmp_path / 'coord.sock'}"
        environ["TICKETS__COORDINATION__SERVE"] = "true"
        environ["TICKETS__COORDINATION__AOF_PATH"] = str(tmp_path / "coord.aof")
    else:
        url = os.environ.get("VALKEY_URL", "")
        if not url:
            if VALKEY_REQUIRED:
                pytest.fail("VALKEY_URL is not set, and CI requires the valkey tests to run")
            pytest.skip("VALKEY_URL is not set")
        environ["TICKETS__COORDINATION__URL"] = url
    return load_config(environ=environ)


@pytest.fixture(params=["unix", pytest.param("valkey", marks=pytest.mark.valkey)])
async def remote_stack(
    request: pytest.FixtureRequest, tmp_path: Path, discord: FakeDiscord
) -> AsyncIterator[Stack]:
    config = config_for(tmp_path, discord, request.param)
    backends = await open_backends(config)
    built = Stack(config, backends)
    yield built
    if built.runner is not None:
        await built.runner.stop()
    await backends.close()


async def test_ticket_flow_over_shared_coordination(
    discord: FakeDiscord, remote_stack: Stack, tmp_path: Path
) -> None:
    # A fresh tenant name keeps a shared Valkey's earlier runs out of this one.
    world = make_world(discord, f"t{uuid.uuid4().hex[:8]}")
    await remote_stack.add(world)
    await remote_stack.start()
    try:
        await play_full_ticket(discord, remote_stack, world)
        streams = remote_stack.backends.coordination.streams
        assert await streams.length(keys.events(world.tenant)) > 0
        if remote_stack.backends.server is not None:
            socket = remote_stack.backends.server.path
            assert stat.S_IMODE(socket.stat().st_mode) == 0o600
            # Another local process would join the same state through the socket.
            other = UnixCoordination(socket)
            assert await other.streams.length(keys.events(world.tenant)) > 0
            await other.close()
            assert (tmp_path / "coord.aof").stat().st_size > 0
    finally:
        client = getattr(remote_stack.backends.coordination, "client", None)
        if client is not None:
            found = [k async for k in client.scan_iter(match=f"tickets:{world.tenant}:*")]
            if found:
                await client.delete(*found)
