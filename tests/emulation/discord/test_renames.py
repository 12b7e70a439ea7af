"""The stand-in's rename limit: two name or topic changes per channel per ten minutes."""

from __future__ import annotations

from emulation.discord import FakeDiscord

from .conftest import Api, Setup


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_third_rename_within_ten_minutes_is_a_429_with_minutes_to_wait(
    fd: FakeDiscord, setup: Setup, api: Api
):
    clock = Clock()
    fd.renames.clock = clock
    channel = setup.general.id
    path = f"/channels/{channel}"
    for name in ("first", "second"):
        status, body, _ = await api.call("PATCH", path, {"name": name})
        assert status == 200, body
    # Edits that change neither name nor topic do not count, nor does the same name again.
    assert (await api.call("PATCH", path, {"rate_limit_per_user": 5}))[0] == 200
    assert (await api.call("PATCH", path, {"name": "second"}))[0] == 200
    clock.now += 60
    status, body, response = await api.call("PATCH", path, {"name": "third"})
    assert status == 429
    assert body["global"] is False and 539 <= body["retry_after"] <= 540
    # As on Discord, the route's bucket still shows room: the limit is a hidden one.
    assert int(response.headers["X-RateLimit-Remaining"]) > 0
    assert "Via" in response.headers
    assert fd.channel(channel).name == "second"
    # A topic change shares the budget; other channels have their own.
    assert (await api.call("PATCH", path, {"topic": "new topic"}))[0] == 429
    other = fd.add_channel(setup.guild.id, "other")
    assert (await api.call("PATCH", f"/channels/{other.id}", {"name": "renamed"}))[0] == 200
    assert fd.renames.count(channel) == 2 and fd.renames.refused == 2

    clock.now += 541  # ten minutes after the first rename
    assert (await api.call("PATCH", path, {"name": "third"}))[0] == 200
    assert fd.channel(channel).name == "third"


async def test_threads_have_the_same_limit(fd: FakeDiscord, setup: Setup, api: Api):
    status, thread, _ = await api.call(
        "POST", f"/channels/{setup.general.id}/threads", {"name": "help", "type": 11}
    )
    assert status == 201, thread
    path = f"/channels/{thread['id']}"
    assert (await api.call("PATCH", path, {"name": "help 2"}))[0] == 200
    assert (await api.call("PATCH", path, {"name": "help 3"}))[0] == 200
    assert (await api.call("PATCH", path, {"name": "help 4"}))[0] == 429
    assert (await api.call("PATCH", path, {"archived": True}))[0] == 200
    assert fd.channel(int(thread["id"])).name == "help 3"
