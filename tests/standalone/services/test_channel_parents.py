"""The gateway's map of which Discord category each channel sits in."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from emulation.memory.cache import MemoryCache
from standalone import keys
from standalone.services.channel_parents import LISTED_TTL_MS, ChannelParentRecorder, channels_in

GUILD = 10
TENANT = "alpha"


def event(payload: dict[str, Any]) -> bytes:
    return msgspec.json.encode(payload)


def channel(channel_id: int, parent: int | None, guild: int = GUILD) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "guild_id": str(guild),
        "parent_id": str(parent) if parent else None,
        "type": 0,
    }


class Listing:
    """The REST fallback: counts how often the guild's channels were listed."""

    def __init__(self, channels: list[dict[str, Any]]) -> None:
        self.channels = channels
        self.calls = 0

    async def __call__(self) -> list[Any]:
        self.calls += 1
        return self.channels


@pytest.fixture
def cache() -> MemoryCache:
    return MemoryCache()


async def count(cache: MemoryCache, parent: int, listing: Listing | None = None) -> int:
    return await channels_in(cache, TENANT, GUILD, str(parent), listing or Listing([]))


async def test_guild_create_seeds_the_map_and_channel_events_keep_it_current(cache):
    recorder = ChannelParentRecorder(cache, TENANT)
    guild = {
        "id": str(GUILD),
        "channels": [channel(1, None), channel(2, 1), channel(3, 1), channel(4, 9)],
    }
    await recorder.observe("GUILD_CREATE", event(guild))
    listing = Listing([])
    assert await count(cache, 1, listing) == 2
    assert await count(cache, 9, listing) == 1

    await recorder.observe("CHANNEL_CREATE", event(channel(5, 1)))
    assert await count(cache, 1, listing) == 3
    # Replayed after a RESUME: set, not counted, so nothing changes.
    await recorder.observe("CHANNEL_CREATE", event(channel(5, 1)))
    assert await count(cache, 1, listing) == 3
    # Moved to another category, then out of any category.
    await recorder.observe("CHANNEL_UPDATE", event(channel(5, 9)))
    assert (await count(cache, 1, listing), await count(cache, 9, listing)) == (2, 2)
    await recorder.observe("CHANNEL_UPDATE", event(channel(4, None)))
    assert await count(cache, 9, listing) == 1
    await recorder.observe("CHANNEL_DELETE", event(channel(2, 1)))
    await recorder.observe("CHANNEL_DELETE", event(channel(2, 1)))
    assert await count(cache, 1, listing) == 1
    assert listing.calls == 0  # never asked Discord


async def test_other_tenants_and_guilds_are_apart(cache):
    await ChannelParentRecorder(cache, "beta").observe(
        "GUILD_CREATE", event({"id": str(GUILD), "channels": [channel(2, 1)]})
    )
    await ChannelParentRecorder(cache, TENANT).observe(
        "GUILD_CREATE", event({"id": "11", "channels": [channel(3, 1, guild=11)]})
    )
    listing = Listing([channel(7, 1), channel(8, 1), channel(9, 1)])
    assert await count(cache, 1, listing) == 3
    assert listing.calls == 1


async def test_without_a_map_the_guild_is_listed_once_and_kept_a_short_while():
    now = [0.0]
    cache = MemoryCache(clock=lambda: now[0])
    listing = Listing([channel(2, 1), channel(3, 1), {"id": "4", "type": 4}])
    assert await count(cache, 1, listing) == 2
    assert await count(cache, 1, listing) == 2
    assert listing.calls == 1
    # No gateway keeps a listed map current: it goes stale, so it expires.
    now[0] += LISTED_TTL_MS / 1000 + 1
    listing.channels.append(channel(5, 1))
    assert await count(cache, 1, listing) == 3
    assert listing.calls == 2


async def test_a_listing_never_overwrites_the_gateways_newer_map(cache):
    recorder = ChannelParentRecorder(cache, TENANT)

    async def raced() -> list[Any]:
        # The gateway seeds the map while the REST listing (older) is in flight.
        await recorder.observe(
            "GUILD_CREATE", event({"id": str(GUILD), "channels": [channel(2, 1), channel(3, 1)]})
        )
        return [channel(2, 1)]

    await channels_in(cache, TENANT, GUILD, "1", raced)
    assert await count(cache, 1) == 2


async def test_events_without_a_map_are_ignored_and_bad_ones_do_not_raise(cache):
    recorder = ChannelParentRecorder(cache, TENANT)
    await recorder.observe("CHANNEL_CREATE", event(channel(5, 1)))
    assert await cache.get(keys.channel_parents(TENANT, str(GUILD))) is None
    await recorder.observe("CHANNEL_CREATE", b"{not json")
    await recorder.observe("CHANNEL_CREATE", event({"id": "6", "parent_id": "1"}))  # a DM
    await recorder.observe("MESSAGE_CREATE", event({"id": "7"}))
    assert await cache.get(keys.channel_parents(TENANT, str(GUILD))) is None


async def test_an_outage_keeps_the_map_and_leaving_the_guild_drops_it(cache):
    recorder = ChannelParentRecorder(cache, TENANT)
    await recorder.observe("GUILD_CREATE", event({"id": str(GUILD), "channels": [channel(2, 1)]}))
    await recorder.observe("GUILD_DELETE", event({"id": str(GUILD), "unavailable": True}))
    assert await count(cache, 1) == 1
    await recorder.observe("GUILD_CREATE", event({"id": str(GUILD), "unavailable": True}))
    assert await count(cache, 1) == 1
    await recorder.observe("GUILD_DELETE", event({"id": str(GUILD)}))
    assert await cache.get(keys.channel_parents(TENANT, str(GUILD))) is None
