"""Which Discord category each channel of a guild sits in, kept in the coordination cache.

Discord refuses a 51st channel in a category, so a member is told before filling
in a form. Listing the guild's channels over REST for every click spent a
request of the bot's global budget (50 a second) on each one; the gateway already
sees every channel come and go. It writes the map as events arrive: GUILD_CREATE
gives every channel, CHANNEL_CREATE/UPDATE/DELETE change one, so the map is
current before any later interaction of the shard reaches the stream (a shard's
events are read in order). Entries are set, never counted up or down, so a
replayed event changes nothing. Workers fall back to REST when the map is absent
(evicted, or a gateway that has not seen the guild yet), and store that listing
for a short while. Discord's own refusal at creation stays the final word.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from emulation.ports import Cache
from standalone import keys

log = logging.getLogger(__name__)

# Refreshed by every write; bounds what a guild the bot left leaves behind.
GATEWAY_TTL_MS = 24 * 3600 * 1000
# A REST listing goes stale unseen: a channel made meanwhile finds no map to update.
LISTED_TTL_MS = 30_000
OBSERVED = frozenset(
    {"GUILD_CREATE", "GUILD_DELETE", "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE"}
)


class _Channel(msgspec.Struct):
    id: str
    guild_id: str | None = None
    parent_id: str | None = None


class _Guild(msgspec.Struct):
    id: str
    channels: list[_Channel] = []
    unavailable: bool = False


_guild_decoder = msgspec.json.Decoder(_Guild)
_channel_decoder = msgspec.json.Decoder(_Channel)
_map_decoder = msgspec.msgpack.Decoder(dict[str, str])
_encode = msgspec.msgpack.encode


class ChannelParentRecorder:
    """Turns one tenant's guild and channel events into each guild's channel → parent map."""

    def __init__(self, cache: Cache, tenant: str) -> None:
        self.cache = cache
        self.tenant = tenant

    async def observe(self, event: str, data: bytes) -> None:
        """Record what ``event`` says about channels; other events are ignored."""
        if event not in OBSERVED:
            return
        try:
            if event in {"GUILD_CREATE", "GUILD_DELETE"}:
                guild = _guild_decoder.decode(data)
                if guild.unavailable:
                    return  # an outage: the guild's channels are as they were
                if event == "GUILD_DELETE":
                    await self.cache.delete(keys.channel_parents(self.tenant, guild.id))
                else:
                    parents = {c.id: c.parent_id for c in guild.channels if c.parent_id}
                    await self._store(guild.id, parents)
            else:
                await self._channel(event, _channel_decoder.decode(data))
        except msgspec.DecodeError as exc:
            log.warning("tenant %s: unreadable %s: %s", self.tenant, event, exc)

    async def _channel(self, event: str, channel: _Channel) -> None:
        if channel.guild_id is None:
            return  # a DM channel
        key = keys.channel_parents(self.tenant, channel.guild_id)
        stored = await self.cache.get(key)
        if stored is None:
            return  # nothing to keep current: a reader lists the guild itself
        parents = _map_decoder.decode(stored)
        if event != "CHANNEL_DELETE" and channel.parent_id:
            parents[channel.id] = channel.parent_id
        else:
            parents.pop(channel.id, None)
        await self._store(channel.guild_id, parents)

    async def _store(self, guild_id: str, parents: dict[str, str]) -> None:
        await self.cache.set(
            keys.channel_parents(self.tenant, guild_id), _encode(parents), ttl_ms=GATEWAY_TTL_MS
        )


async def channels_in(
    cache: Cache,
    tenant: str,
    guild_id: int,
    parent_id: str,
    list_channels: Callable[[], Awaitable[list[Any]]],
) -> int:
    """How many channels sit in the Discord category ``parent_id``.

    From the gateway's map when there is one, else from ``list_channels()`` (the
    guild's channels over REST), kept for ``LISTED_TTL_MS`` for the next reader.
    """
    key = keys.channel_parents(tenant, str(guild_id))
    stored = await cache.get(key)
    if stored is not None:
        parents = _map_decoder.decode(stored)
    else:
        listed = await list_channels()
        parents = {
            str(c["id"]): str(c["parent_id"]) for c in listed if c.get("parent_id") is not None
        }
        # Not over a map the gateway wrote meanwhile: that one is newer.
        await cache.set_if_absent(key, _encode(parents), ttl_ms=LISTED_TTL_MS)
    return sum(1 for parent in parents.values() if parent == parent_id)
