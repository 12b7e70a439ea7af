"""Interactions over HTTP: signed POSTs to the interactions endpoint URL, answers applied."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from emulation.discord import FakeDiscord
from emulation.discord.http_interactions import EndpointRejected

from .conftest import Api, Setup
from .gateway_client import TIMEOUT, raw_gateway
from .test_openapi import schema_errors

Answer = Callable[[dict[str, Any]], web.Response]


class Endpoint:
    """The bot's side, played by the test: verifies like a bot must, answers as told."""

    def __init__(self, verify_key: str, *, check: bool = True) -> None:
        self.key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(verify_key))
        self.check = check
        self.answer: Answer = lambda payload: web.json_response({"type": 5})
        self.received: list[dict[str, Any]] = []
        self.rejected = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        signature = request.headers.get("X-Signature-Ed25519", "")
        timestamp = request.headers.get("X-Signature-Timestamp", "")
        if self.check:
            try:
                self.key.verify(bytes.fromhex(signature), timestamp.encode() + body)
            except (InvalidSignature, ValueError):
                self.rejected += 1
                return web.Response(status=401, text="invalid request signature")
        payload = json.loads(body)
        self.received.append(payload)
        if payload["type"] == 1:
            return web.json_response({"type": 1})
        return self.answer(payload)


@pytest.fixture
async def endpoint(setup: Setup) -> AsyncIterator[Endpoint]:
    ep = Endpoint(setup.app.verify_key)
    app = web.Application()
    app.router.add_post("/interactions", ep.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ep.url = f"http://127.0.0.1:{runner.addresses[0][1]}/interactions"
    yield ep
    await runner.cleanup()


async def register(api: Api, setup: Setup) -> None:
    status, _, _ = await api.call(
        "PUT", f"/applications/{setup.app.id}/commands", [{"name": "ping", "description": "Ping"}]
    )
    assert status == 200


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.01)


async def test_the_portal_checks_the_url_and_the_application_shows_it(
    fd: FakeDiscord, setup: Setup, api: Api, endpoint: Endpoint
):
    await fd.set_interactions_endpoint(setup.app.id, endpoint.url)
    # One signed PING answered with PONG, one forged PING refused with 401.
    assert [p["type"] for p in endpoint.received] == [1]
    assert endpoint.rejected == 1
    status, app, _ = await api.call("GET", "/oauth2/applications/@me")
    assert status == 200
    assert app["interactions_endpoint_url"] == endpoint.url
    assert app["verify_key"] == setup.app.verify_key and len(app["verify_key"]) == 64
    assert schema_errors("/oauth2/applications/@me", "GET", 200, app) == []


async def test_an_endpoint_that_skips_the_signature_check_is_refused(
    fd: FakeDiscord, setup: Setup, endpoint: Endpoint
):
    endpoint.check = False
    with pytest.raises(EndpointRejected, match="could not be verified"):
        await fd.set_interactions_endpoint(setup.app.id, endpoint.url)
    assert setup.app.interactions_endpoint_url is None


async def test_a_slash_command_goes_to_the_endpoint_not_the_gateway(
    fd: FakeDiscord, setup: Setup, api: Api, endpoint: Endpoint
):
    await register(api, setup)
    await fd.set_interactions_endpoint(setup.app.id, endpoint.url)
    endpoint.answer = lambda payload: web.json_response(
        {"type": 4, "data": {"content": f"pong {payload['data']['name']}"}}
    )
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with raw_gateway(fd) as gw:
        await gw.identify(setup.app.token)
        inter = await actor.slash("ping", channel_id=setup.general.id)
        assert inter.delivered == 1
        assert await inter.response(timeout=TIMEOUT) == {
            "type": 4,
            "data": {"content": "pong ping"},
        }
        await fd.dispatch(setup.app.id, "MARKER", {"guild_id": str(setup.guild.id)})
        seen = []
        while (frame := await gw.recv()).get("t") != "MARKER":
            seen.append(frame.get("t"))
        assert "INTERACTION_CREATE" not in seen
    (delivered,) = [p for p in endpoint.received if p["type"] == 2]
    assert delivered["id"] == str(inter.id) and delivered["token"] == inter.token
    assert [m.content for m in fd.messages(setup.general.id)] == ["pong ping"]
    assert fd.http_interactions.failures == []


async def test_a_button_answered_with_an_update_then_a_deferral_and_followup(
    fd: FakeDiscord, setup: Setup, api: Api, endpoint: Endpoint
):
    await register(api, setup)
    await fd.set_interactions_endpoint(setup.app.id, endpoint.url)
    button = {"type": 2, "style": 1, "label": "Go", "custom_id": "go"}
    status, posted, _ = await api.call(
        "POST",
        f"/channels/{setup.general.id}/messages",
        {"content": "panel", "components": [{"type": 1, "components": [button]}]},
    )
    assert status == 200
    endpoint.answer = lambda payload: web.json_response(
        {"type": 7, "data": {"content": "clicked", "components": []}}
    )
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    click = await actor.click(int(posted["id"]), "go")
    assert (await click.response(timeout=TIMEOUT))["type"] == 7
    (message,) = fd.messages(setup.general.id)
    assert message.content == "clicked" and message.components == []

    endpoint.answer = lambda payload: web.json_response({"type": 5, "data": {"flags": 64}})
    slash = await actor.slash("ping", channel_id=setup.general.id)
    assert (await slash.response(timeout=TIMEOUT))["type"] == 5
    status, _, _ = await api.call(
        "POST", f"/webhooks/{setup.app.id}/{slash.token}", {"content": "done"}, token=""
    )
    assert status == 204
    (followup,) = await slash.followups(timeout=TIMEOUT)
    assert followup["content"] == "done" and followup["flags"] & 64


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (lambda payload: web.Response(status=500), "endpoint answered 500"),
        (lambda payload: web.json_response({"type": 7}), "invalid interaction response"),
        (lambda payload: web.Response(text="{not json"), "invalid answer"),
    ],
)
async def test_a_bad_answer_is_a_failed_interaction(
    fd: FakeDiscord, setup: Setup, api: Api, endpoint: Endpoint, answer: Answer, reason: str
):
    await register(api, setup)
    await fd.set_interactions_endpoint(setup.app.id, endpoint.url)
    endpoint.answer = answer
    inter = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).slash(
        "ping", channel_id=setup.general.id
    )
    await eventually(lambda: fd.http_interactions.failures != [])
    (failure,) = fd.http_interactions.failures
    assert failure.interaction_id == inter.id and reason in failure.reason
    assert inter.callback is None
    assert fd.messages(setup.general.id) == []


async def test_clearing_the_url_sends_interactions_over_the_gateway_again(
    fd: FakeDiscord, setup: Setup, api: Api, endpoint: Endpoint
):
    await register(api, setup)
    await fd.set_interactions_endpoint(setup.app.id, endpoint.url)
    await fd.set_interactions_endpoint(setup.app.id, None)
    async with raw_gateway(fd) as gw:
        await gw.identify(setup.app.token)
        inter = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).slash(
            "ping", channel_id=setup.general.id
        )
        frame = await gw.until("INTERACTION_CREATE")
        assert frame["d"]["id"] == str(inter.id)
    assert [p["type"] for p in endpoint.received] == [1]
