"""The stand-in enforces Discord's rate limits: buckets, major parameters, global, 429s."""

from __future__ import annotations

import pytest

from emulation.discord import FakeDiscord
from emulation.discord.ratelimits import RateLimitConfig, RouteLimit, major_parameter

from .conftest import Api, Setup

LONG = 3600.0  # no window ends during a test unless the clock is moved


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(fd: FakeDiscord) -> Clock:
    clock = Clock()
    fd.ratelimits.clock = clock
    return clock


async def test_a_bucket_refuses_the_request_over_its_limit_with_discords_429(
    fd: FakeDiscord, setup: Setup, api: Api, clock: Clock
):
    fd.ratelimits.configure(RateLimitConfig(default=RouteLimit(limit=2, window_s=LONG)))
    path = f"/channels/{setup.general.id}"
    first = await api.call("GET", path)
    second = await api.call("GET", path)
    assert [first[0], second[0]] == [200, 200]
    assert first[2].headers["X-RateLimit-Limit"] == "2"
    assert first[2].headers["X-RateLimit-Remaining"] == "1"
    assert second[2].headers["X-RateLimit-Remaining"] == "0"
    assert float(first[2].headers["X-RateLimit-Reset-After"]) == pytest.approx(LONG)
    assert first[2].headers["X-RateLimit-Bucket"] == second[2].headers["X-RateLimit-Bucket"]
    assert first[2].headers["Via"] == "1.1 google"

    clock.now += 10
    status, body, resp = await api.call("GET", path)
    assert status == 429
    assert body["global"] is False
    assert body["retry_after"] == pytest.approx(LONG - 10)
    assert body["message"]
    assert resp.headers["Via"] == "1.1 google"
    assert resp.headers["X-RateLimit-Scope"] == "user"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Global" not in resp.headers
    assert fd.ratelimits.counters.rejected == 1
    assert fd.ratelimits.counters.max_in_window == 2

    clock.now += LONG  # the window ends; a new one opens
    status, _, resp = await api.call("GET", path)
    assert status == 200
    assert resp.headers["X-RateLimit-Remaining"] == "1"


async def test_each_major_parameter_and_each_bot_has_its_own_count(
    fd: FakeDiscord, setup: Setup, api: Api, clock: Clock
):
    fd.ratelimits.configure(RateLimitConfig(default=RouteLimit(limit=1, window_s=LONG)))
    other = fd.add_channel(setup.guild.id, "other")
    second_app = fd.add_application(name="Other bot")
    fd.install(second_app.id, setup.guild.id)
    assert (await api.call("GET", f"/channels/{setup.general.id}"))[0] == 200
    assert (await api.call("GET", f"/channels/{other.id}"))[0] == 200
    as_other_bot = await api.call("GET", f"/channels/{setup.general.id}", token=second_app.token)
    assert as_other_bot[0] == 200
    assert (await api.call("GET", f"/channels/{setup.general.id}"))[0] == 429
    # Another route of the same channel is another bucket.
    assert (await api.call("GET", f"/channels/{setup.general.id}/messages"))[0] == 200


async def test_a_route_can_have_its_own_limit(
    fd: FakeDiscord, setup: Setup, api: Api, clock: Clock
):
    fd.ratelimits.configure(
        RateLimitConfig(
            default=RouteLimit(limit=100, window_s=LONG),
            routes={"GET /channels/{channel_id}": RouteLimit(limit=1, window_s=LONG)},
        )
    )
    assert (await api.call("GET", f"/channels/{setup.general.id}"))[0] == 200
    assert (await api.call("GET", f"/channels/{setup.general.id}"))[0] == 429
    assert (await api.call("GET", f"/guilds/{setup.guild.id}"))[0] == 200


async def test_the_global_limit_spans_routes_but_not_interaction_callbacks(
    fd: FakeDiscord, setup: Setup, api: Api, clock: Clock
):
    fd.ratelimits.configure(
        RateLimitConfig(default=RouteLimit(limit=100, window_s=LONG), global_limit=2)
    )
    assert (await api.call("GET", f"/channels/{setup.general.id}"))[0] == 200
    assert (await api.call("GET", f"/guilds/{setup.guild.id}"))[0] == 200
    status, body, resp = await api.call("GET", "/users/@me")
    assert status == 429
    assert body["global"] is True
    assert resp.headers["X-RateLimit-Global"] == "true"
    assert resp.headers["X-RateLimit-Scope"] == "global"
    assert resp.headers["Via"] == "1.1 google"
    assert fd.ratelimits.counters.rejected_global == 1
    # Interaction callbacks are not bound to the bot's global limit: this one is
    # refused for being unknown, not for the limit.
    status, body, _ = await api.call(
        "POST", "/interactions/1234/tok/callback", {"type": 6}, token=""
    )
    assert status != 429


async def test_limits_can_be_turned_off(fd: FakeDiscord, setup: Setup, api: Api, clock: Clock):
    fd.ratelimits.configure(
        RateLimitConfig(enabled=False, default=RouteLimit(limit=1, window_s=LONG))
    )
    for _ in range(3):
        assert (await api.call("GET", f"/channels/{setup.general.id}"))[0] == 200
    assert fd.ratelimits.counters.limited_requests == 0


def test_major_parameters_are_discords():
    assert major_parameter("/channels/1/messages/2") == "channels/1"
    assert major_parameter("/guilds/5/members/7") == "guilds/5"
    assert major_parameter("/webhooks/3/abc/messages/4") == "webhooks/3/abc"
    assert major_parameter("/interactions/9/tok/callback") == "interactions/9/tok"
    assert major_parameter("/users/@me") == ""
    assert major_parameter("/channels") == ""
