"""An answer later than the ingress could wait: the deferred response is edited instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web

from emulation.discord import FakeDiscord
from emulation.memory import MemoryCoordination
from standalone import keys
from standalone.http.interactions import add_interaction_routes
from standalone.interceptor.limiter import Limiter
from standalone.interceptor.service import SECRET_HEADER, TENANT_HEADER, Interceptor
from standalone.wire import decode_envelope

TENANT = "support"
SECRET = "interceptor-secret"


class Tokens:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, tenant: str) -> str | None:
        return self._token if tenant == TENANT else None


async def serve(app: web.Application, runners: list[web.AppRunner]) -> str:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    runners.append(runner)
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def fd() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


async def test_a_late_message_edits_the_deferred_response(fd: FakeDiscord):
    app = fd.add_application("Support")
    guild = fd.add_guild("Guild")
    fd.install(app.id, guild.id)
    channel = fd.add_channel(guild.id, "general")
    member = fd.add_member(guild.id, "alex")
    coordination = MemoryCoordination()
    runners: list[web.AppRunner] = []
    try:
        ingress_app = web.Application()

        async def public_keys(tenant: str) -> str | None:
            return app.verify_key if tenant == TENANT else None

        add_interaction_routes(
            ingress_app, coordination=coordination, public_keys=public_keys, answer_timeout_s=0.1
        )
        ingress = await serve(ingress_app, runners)
        interceptor = Interceptor(
            api_base=fd.api_base,
            secret=SECRET,
            tokens=Tokens(app.token),
            limiter=Limiter(coordination.cache, coordination.counters),
            relay=coordination,
        )
        interceptor_url = await serve(interceptor.application(), runners)
        await fd.set_interactions_endpoint(app.id, f"{ingress}/interactions/{TENANT}")
        stream = keys.events(TENANT)
        await coordination.streams.create_group(stream, keys.WORKER_GROUP, start="0")

        payload: dict[str, Any] = {
            # A fresh snowflake: interaction tokens expire 15 minutes after the id's time.
            "id": str(fd.world.ids.next()),
            "application_id": str(app.id),
            "type": 2,
            "token": "late-token",
            "guild_id": str(guild.id),
            "channel_id": str(channel.id),
            "channel": {"id": str(channel.id), "type": 0},
            "member": {"user": {"id": str(member.id)}, "roles": [], "permissions": "0"},
            "data": {"id": "1", "name": "slow", "type": 1},
        }
        await fd.dispatch(app.id, "INTERACTION_CREATE", payload)
        inter = fd.interaction(int(payload["id"]))
        assert inter is not None
        # The ingress waited 0.1 s, then deferred, ephemerally.
        assert await inter.response() == {"type": 5, "data": {"flags": 64}}

        entries = []
        while not entries:
            entries = await coordination.streams.read_group(
                stream, keys.WORKER_GROUP, "w", count=1, block_ms=100
            )
        sent = msgspec.json.decode(decode_envelope(entries[0].data).data)
        assert sent["id"] == payload["id"]
        # The worker answers late, as if nothing happened; the interceptor edits instead.
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{interceptor_url}/api/v10/interactions/{payload['id']}/late-token/callback",
                json={"type": 4, "data": {"content": "done, slowly"}},
                headers={SECRET_HEADER: SECRET, TENANT_HEADER: TENANT},
            ) as response:
                assert response.status in (200, 204), await response.text()
            async with session.get(
                f"{fd.api_base}/webhooks/{app.id}/late-token/messages/@original"
            ) as response:
                assert response.status == 200
                assert (await response.json())["content"] == "done, slowly"
        assert fd.http_interactions.failures == []
    finally:
        for runner in runners:
            await runner.cleanup()
        await coordination.close()
