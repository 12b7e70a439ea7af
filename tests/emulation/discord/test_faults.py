"""REST fault injection: delays and 5xx answers, per route, reproducible from a seed."""

from __future__ import annotations

import asyncio

import pytest

from emulation.discord import FakeDiscord
from emulation.discord.ratelimits import RateLimitConfig

from .conftest import Api, Setup


async def statuses(api: Api, count: int) -> list[int]:
    return [(await api.call("GET", "/users/@me"))[0] for _ in range(count)]


async def test_a_failing_route_answers_discords_error_and_others_work(
    fd: FakeDiscord, setup: Setup, api: Api
):
    fd.faults.fail(1.0, 503, route=r"^GET /users/@me$")
    status, body, resp = await api.call("GET", "/users/@me")
    assert (status, body) == (503, {"code": 0, "message": "503: Service Unavailable"})
    assert resp.headers["Content-Type"] == "application/json"
    status, _, _ = await api.call("GET", f"/guilds/{setup.guild.id}")
    assert status == 200
    assert fd.faults.counts == {"503": 1}
    assert [(f.method, f.path) for f in fd.faults.injected] == [("GET", "/users/@me")]
    assert ("GET", "/users/@me") in fd.requests  # failed calls are still seen

    fd.faults.enabled = False
    assert (await api.call("GET", "/users/@me"))[0] == 200
    fd.faults.enabled = True
    assert (await api.call("GET", "/users/@me"))[0] == 503
    fd.faults.clear()
    assert (await api.call("GET", "/users/@me"))[0] == 200
    assert fd.faults.counts == {"503": 2}


async def test_the_same_seed_gives_the_same_faults(fd: FakeDiscord, setup: Setup, api: Api):
    # 120 quick calls to one route: over the default rate limit, whose 429s are not faults.
    fd.ratelimits.configure(RateLimitConfig(enabled=False))
    fd.faults.fail(0.5, 500)
    fd.faults.seed(7)
    first = await statuses(api, 40)
    fd.faults.seed(7)
    second = await statuses(api, 40)
    fd.faults.seed(8)
    third = await statuses(api, 40)
    assert first == second != third
    assert set(first) == {200, 500}
    assert fd.faults.counts["500"] == first.count(500) + second.count(500) + third.count(500)


async def test_a_fault_after_the_call_loses_only_the_answer(
    fd: FakeDiscord, setup: Setup, api: Api
):
    fd.faults.fail(1.0, 502, route=r"^POST /channels/\d+/messages$", after=True)
    status, body, _ = await api.call(
        "POST", f"/channels/{setup.general.id}/messages", {"content": "sent twice?"}
    )
    assert (status, body["message"]) == (502, "502: Bad Gateway")
    # The message was posted: a client that retries blindly posts it again.
    assert [m.content for m in fd.messages(setup.general.id)] == ["sent twice?"]


async def test_a_fault_before_the_call_changes_nothing(fd: FakeDiscord, setup: Setup, api: Api):
    fd.faults.fail(1.0, 500, route=r"^POST /channels/\d+/messages$")
    status, _, _ = await api.call(
        "POST", f"/channels/{setup.general.id}/messages", {"content": "lost"}
    )
    assert status == 500
    assert fd.messages(setup.general.id) == []


async def test_a_delayed_call_does_not_hold_up_the_others(fd: FakeDiscord, setup: Setup, api: Api):
    fd.faults.delay(1.0, 3600, route=r"^GET /guilds/")
    held = asyncio.create_task(api.call("GET", f"/guilds/{setup.guild.id}"))
    async with asyncio.timeout(30):
        while fd.faults.counts["delay"] == 0:
            await asyncio.sleep(0.01)
    assert (await api.call("GET", "/users/@me"))[0] == 200
    assert not held.done()
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held


def test_bad_settings_are_refused(fd: FakeDiscord):
    with pytest.raises(ValueError, match="share"):
        fd.faults.fail(1.5)
    with pytest.raises(ValueError, match="status"):
        fd.faults.fail(0.5, 404)
