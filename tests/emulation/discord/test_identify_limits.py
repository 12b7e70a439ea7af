"""Session starts and max_concurrency: GET /gateway/bot and IDENTIFY agree, as on Discord."""

from __future__ import annotations

from emulation.discord import FakeDiscord
from emulation.discord.identify_limits import IdentifyLimits, Verdict
from emulation.discord.models import App, User

from .conftest import Api, Setup
from .gateway_client import raw_gateway
from .test_openapi import schema_errors


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def bare_app(**fields: int) -> App:
    bot = User(id=1, username="bot", bot=True)
    return App(id=1, name="bot", token="t", bot_user=bot, owner_id=2, **fields)


async def test_gateway_bot_reports_shards_and_the_spent_session_starts(
    fd: FakeDiscord, setup: Setup, api: Api
):
    fd.configure_gateway(setup.app.id, shards=2, total=10, max_concurrency=2, reset_after_ms=60_000)
    status, before, _ = await api.call("GET", "/gateway/bot")
    assert status == 200 and before["shards"] == 2
    assert before["session_start_limit"] == {
        "total": 10,
        "remaining": 10,
        "reset_after": 60_000,
        "max_concurrency": 2,
    }
    for shard in (0, 1):
        async with raw_gateway(fd) as gw:
            await gw.identify(setup.app.token, shard=[shard, 2])
    _, after, _ = await api.call("GET", "/gateway/bot")
    limit = after["session_start_limit"]
    assert limit["remaining"] == 8 and 0 < limit["reset_after"] <= 60_000
    assert schema_errors("/gateway/bot", "GET", 200, after) == []
    assert fd.gateway.identifies[setup.app.id] == 2


async def test_resuming_spends_no_session_start(fd: FakeDiscord, setup: Setup, api: Api):
    fd.configure_gateway(setup.app.id, total=5)
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        await gw.ws.close(code=4000)
    async with raw_gateway(fd) as gw:
        await gw.resume(setup.app.token, ready["session_id"], 1)
        await gw.until("RESUMED")
    _, body, _ = await api.call("GET", "/gateway/bot")
    assert body["session_start_limit"]["remaining"] == 4
    assert (fd.gateway.identifies[setup.app.id], fd.gateway.resumes[setup.app.id]) == (1, 1)


async def test_identifies_of_one_bucket_within_the_window_get_op_9(fd: FakeDiscord, setup: Setup):
    fd.configure_gateway(setup.app.id, shards=4, total=10, max_concurrency=2)
    fd.gateway.limits.window = 3600  # no second IDENTIFY per bucket within this test
    async with raw_gateway(fd) as first, raw_gateway(fd) as second:
        await first.identify(setup.app.token, shard=[0, 4])  # bucket 0
        await second.identify(setup.app.token, shard=[1, 4])  # bucket 1: allowed too
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": 1, "shard": [2, 4]})  # bucket 0
        assert await gw.recv() == {"op": 9, "d": False}
        # Once the window has passed, the same socket's next IDENTIFY goes through.
        fd.gateway.limits.window = 0
        await gw.send(2, {"token": setup.app.token, "intents": 1, "shard": [2, 4]})
        assert (await gw.until("READY"))["d"]["shard"] == [2, 4]
    assert fd.gateway.identify_refusals[setup.app.id] == 1
    assert fd.gateway.identifies[setup.app.id] == 3
    assert setup.app.session_starts_remaining == 7  # the refused one spent nothing


async def test_running_out_of_session_starts_resets_the_token(
    fd: FakeDiscord, setup: Setup, api: Api
):
    fd.configure_gateway(setup.app.id, total=1)
    old_token = setup.app.token
    async with raw_gateway(fd) as live:
        await live.identify(old_token)
        async with raw_gateway(fd) as gw:
            await gw.recv()
            await gw.send(2, {"token": old_token, "intents": 1, "properties": {}})
            assert await gw.closed() == 4004
        # Every session of the bot ends with it.
        assert await live.closed() == 4004
    assert fd.gateway.sessions_of(setup.app.id) == []
    assert fd.gateway.token_resets[setup.app.id] == 1
    assert setup.app.token != old_token
    status, _, _ = await api.call("GET", "/users/@me", token=old_token)
    assert status == 401
    status, _, _ = await api.call("GET", "/users/@me", token=setup.app.token)
    assert status == 200


def test_the_budget_refills_after_reset_after():
    clock = Clock()
    limits = IdentifyLimits(window=5, clock=clock)
    app = bare_app(session_start_total=2, session_starts_remaining=2, session_start_reset_ms=60_000)
    assert limits.admit(app, 0) is Verdict.ADMITTED
    clock.now += 10
    assert limits.describe(app)["reset_after"] == 50_000
    assert limits.admit(app, 0) is Verdict.ADMITTED
    clock.now += 10
    assert limits.admit(app, 0) is Verdict.EXHAUSTED
    clock.now += 40  # 60 s after the first start of the period
    assert limits.describe(app)["remaining"] == 2
    assert limits.admit(app, 0) is Verdict.ADMITTED


def test_buckets_follow_shard_id_modulo_max_concurrency():
    clock = Clock()
    limits = IdentifyLimits(window=5, clock=clock)
    app = bare_app(max_concurrency=16)
    assert all(limits.admit(app, shard) is Verdict.ADMITTED for shard in range(16))
    assert limits.admit(app, 16) is Verdict.TOO_FAST  # bucket 0 again
    clock.now += 5
    assert limits.admit(app, 16) is Verdict.ADMITTED
    assert app.session_starts_remaining == 1000 - 17
