"""The interactions endpoint: signatures checked, PING answered, the worker's answer returned."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import msgspec
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from emulation.memory import MemoryCoordination
from standalone import keys
from standalone.http.interactions import add_interaction_routes
from standalone.interceptor.limiter import Limiter
from standalone.interceptor.service import SECRET_HEADER, TENANT_HEADER, Interceptor
from standalone.wire import decode_envelope

TENANT = "support"
SECRET = "interceptor-secret"


class StaticTokens:
    async def token(self, tenant: str) -> str | None:
        return "bot-token" if tenant == TENANT else None


@dataclass
class Ingress:
    url: str
    key: Ed25519PrivateKey
    coordination: MemoryCoordination
    session: aiohttp.ClientSession

    async def post(
        self,
        payload: object,
        *,
        key: Ed25519PrivateKey | None = None,
        age_s: int = 0,
        tenant: str = TENANT,
    ) -> tuple[int, object]:
        body = msgspec.json.encode(payload)
        timestamp = str(int(time.time()) - age_s)
        signature = (key or self.key).sign(timestamp.encode() + body).hex()
        headers = {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": timestamp,
            "Content-Type": "application/json",
        }
        async with self.session.post(
            f"{self.url}/interactions/{tenant}", data=body, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def ingress() -> AsyncIterator[Ingress]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    coordination = MemoryCoordination()

    async def public_keys(tenant: str) -> str | None:
        return public if tenant == TENANT else None

    app = web.Application()
    add_interaction_routes(
        app, coordination=coordination, public_keys=public_keys, answer_timeout_s=5.0
    )
    runner, url = await serve(app)
    async with aiohttp.ClientSession() as session:
        yield Ingress(url, key, coordination, session)
    await runner.cleanup()
    await coordination.close()


def interaction(kind: int, interaction_id: int = 42) -> dict[str, object]:
    return {"id": str(interaction_id), "type": kind, "token": "tok", "application_id": "7"}


async def test_a_signed_ping_is_answered_with_pong(ingress: Ingress):
    assert await ingress.post({"id": "1", "type": 1}) == (200, {"type": 1})


async def test_bad_stale_or_missing_signatures_are_refused(ingress: Ingress):
    other = Ed25519PrivateKey.generate()
    assert (await ingress.post({"id": "1", "type": 1}, key=other))[0] == 401
    assert (await ingress.post({"id": "1", "type": 1}, age_s=301))[0] == 401
    assert (await ingress.post({"id": "1", "type": 1}, age_s=-301))[0] == 401
    async with ingress.session.post(
        f"{ingress.url}/interactions/{TENANT}", json={"id": "1", "type": 1}
    ) as response:
        assert response.status == 401
    assert (await ingress.post({"id": "1", "type": 1}, tenant="sales"))[0] == 404
    # Nothing reached the workers.
    assert await ingress.coordination.streams.length(keys.events(TENANT)) == 0


async def test_a_signed_body_that_is_no_interaction_is_refused(ingress: Ingress):
    assert (await ingress.post(["not", "an", "interaction"]))[0] == 400


async def test_an_oversized_body_is_refused_even_when_signed(ingress: Ingress):
    status, _ = await ingress.post(interaction(2) | {"data": {"padding": "x" * 2_000_000}})
    assert status == 413
    assert await ingress.coordination.streams.length(keys.events(TENANT)) == 0


async def test_the_workers_callback_through_the_interceptor_becomes_the_answer(
    ingress: Ingress,
):
    coordination = ingress.coordination
    interceptor = Interceptor(
        api_base="http://127.0.0.1:9/api/v10",  # never called: the answer is relayed
        secret=SECRET,
        tokens=StaticTokens(),
        limiter=Limiter(coordination.cache, coordination.counters),
        relay=coordination,
    )
    runner, interceptor_url = await serve(interceptor.application())
    stream = keys.events(TENANT)
    await coordination.streams.create_group(stream, keys.WORKER_GROUP, start="0")
    modal = {"type": 9, "data": {"custom_id": "topic", "title": "Topic", "components": []}}

    async def worker() -> bytes:
        while True:
            entries = await coordination.streams.read_group(
                stream, keys.WORKER_GROUP, "w1", count=1, block_ms=100
            )
            if entries:
                break
        envelope = decode_envelope(entries[0].data)
        payload = msgspec.json.decode(envelope.data)
        async with ingress.session.post(
            f"{interceptor_url}/api/v10/interactions/{payload['id']}/{payload['token']}/callback",
            json=modal,
            headers={SECRET_HEADER: SECRET, TENANT_HEADER: TENANT},
        ) as response:
            assert response.status == 204
        return envelope.data

    try:
        handled = asyncio.create_task(worker())
        status, answer = await ingress.post(interaction(3))
        assert (status, answer) == (200, modal)
        assert msgspec.json.decode(await handled) == interaction(3)
    finally:
        await runner.cleanup()


async def test_no_answer_in_time_is_deferred(ingress: Ingress):
    app = web.Application()

    async def public_keys(tenant: str) -> str | None:
        return ingress.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    add_interaction_routes(
        app, coordination=ingress.coordination, public_keys=public_keys, answer_timeout_s=0.2
    )
    runner, url = await serve(app)
    try:
        quick = Ingress(url, ingress.key, ingress.coordination, ingress.session)
        assert await quick.post(interaction(2, 1)) == (200, {"type": 5, "data": {"flags": 64}})
        assert await quick.post(interaction(3, 2)) == (200, {"type": 6})
        assert await quick.post(interaction(4, 3)) == (
            200,
            {"type": 8, "data": {"choices": []}},
        )
        # Each went to the workers all the same.
        assert await ingress.coordination.streams.length(keys.events(TENANT)) == 3
    finally:
        await runner.cleanup()
