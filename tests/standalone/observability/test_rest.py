"""The REST middleware over real HTTP: route labels, statuses, 429s, the traceparent header."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from standalone.observability import context, metrics
from standalone.observability.rest import RestObserver, route_template
from standalone.tracing import new_traceparent

TENANT = "rest-test"


def test_route_templates_hold_no_id_token_or_emoji():
    assert route_template("POST", "/api/v10/channels/123/messages") == "/channels/{major}/messages"
    assert (
        route_template("PATCH", "/api/v10/webhooks/42/aW50ZXJhY3Rpb24.x-y/messages/@original")
        == "/webhooks/{major}/{major}/messages/@original"
    )
    assert (
        route_template("POST", "/api/v10/interactions/9/tok.en/callback")
        == "/interactions/{major}/{major}/callback"
    )
    assert (
        route_template("PUT", "/api/v10/channels/1/messages/2/reactions/%F0%9F%91%8D/@me")
        == "/channels/{major}/messages/{id}/reactions/{emoji}/@me"
    )
    assert route_template("GET", "/somewhere/else") == "other"


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if "limited" in request.path:
            return web.json_response(
                {"message": "You are being rate limited.", "retry_after": 0.1},
                status=429,
                headers={"X-RateLimit-Scope": "shared"},
            )
        return web.json_response({}, status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    test_server = TestServer(app)
    await test_server.start_server()
    yield test_server, seen
    await test_server.close()


def count(**labels: str) -> float:
    value = metrics.registry.get_sample_value("tickets_rest_requests_total", labels)
    return value or 0.0


def limited() -> float:
    labels = {"tenant": TENANT, "route": "/channels/{major}/limited", "scope": "shared"}
    return metrics.registry.get_sample_value("tickets_rest_rate_limited_total", labels) or 0.0


async def test_calls_are_counted_by_template_and_carry_the_event_trace(server):
    server, seen = server
    route = "/channels/{major}/messages"
    ok_before = count(tenant=TENANT, method="POST", route=route, status="200")
    limited_before = limited()
    trace = new_traceparent()
    async with aiohttp.ClientSession(middlewares=(RestObserver(TENANT),)) as session:
        with context.bound(traceparent=trace):
            for channel in ("111", "222"):
                async with session.post(server.make_url(f"/api/v10/channels/{channel}/messages")):
                    pass
        async with session.get(server.make_url("/api/v10/channels/333/limited")) as response:
            assert response.status == 429
    assert count(tenant=TENANT, method="POST", route=route, status="200") == ok_before + 2
    assert limited() == limited_before + 1
    assert [h.get("traceparent") for h in seen] == [trace, trace, None]
