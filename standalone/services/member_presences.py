"""Members' online status, kept in the coordination cache for every worker to read.

The gateway writes it as events arrive (only with the GUILD_PRESENCES intent):
GUILD_CREATE lists who is online, PRESENCE_UPDATE changes one member. Each
GUILD_CREATE starts a new *generation*: entries written under an older one are
stale (members who went offline while the bot was away are never announced), so
a reader trusts only entries of the current generation. One key per member keeps
an update O(1), whatever the size of the guild.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

import msgspec

from emulation.ports import Cache
from standalone import keys

log = logging.getLogger(__name__)

GUILD_PRESENCES = 1 << 8
# A bound on what a member who left (or a guild the bot left) leaves behind.
ENTRY_TTL_MS = 30 * 24 * 3600 * 1000
ONLINE = frozenset({"online", "idle", "dnd"})
WRITE_BATCH = 200


class _User(msgspec.Struct):
    id: str


class _Presence(msgspec.Struct):
    user: _User
    status: str = "offline"
    guild_id: str | None = None


class _GuildPresences(msgspec.Struct):
    id: str
    presences: list[_Presence] = []
    unavailable: bool = False


_guild_decoder = msgspec.json.Decoder(_GuildPresences)
_presence_decoder = msgspec.json.Decoder(_Presence)


def entry(generation: str, status: str) -> bytes:
    """The stored value of one member's status."""
    return f"{generation}:{status}".encode()


def is_online(generation: bytes, stored: bytes | None) -> bool:
    """Whether a stored entry is current and says online, idle or dnd."""
    if stored is None:
        return False
    written, _, status = stored.decode().partition(":")
    return written == generation.decode() and status in ONLINE


class PresenceRecorder:
    """Turns one tenant's GUILD_CREATE and PRESENCE_UPDATE events into cache entries."""

    def __init__(self, cache: Cache, tenant: str) -> None:
        self.cache = cache
        self.tenant = tenant
        self._generations: dict[str, str] = {}

    async def observe(self, event: str, data: bytes) -> None:
        """Record what ``event`` says about presences; other events are ignored."""
        try:
            if event == "GUILD_CREATE":
                await self._guild(_guild_decoder.decode(data))
            elif event == "PRESENCE_UPDATE":
                await self._update(_presence_decoder.decode(data))
        except msgspec.DecodeError as exc:
            log.warning("tenant %s: unreadable %s: %s", self.tenant, event, exc)

    async def _guild(self, guild: _GuildPresences) -> None:
        if guild.unavailable:
            return
        generation = secrets.token_hex(6)
        # In batches: a big server lists thousands, and the shard waits for this.
        for start in range(0, len(guild.presences), WRITE_BATCH):
            await asyncio.gather(
                *(
                    self.cache.set(
                        keys.presence(self.tenant, guild.id, presence.user.id),
                        entry(generation, presence.status),
                        ttl_ms=ENTRY_TTL_MS,
                    )
                    for presence in guild.presences[start : start + WRITE_BATCH]
                    if presence.status in ONLINE
                )
            )
        # Last: until now readers keep trusting the previous generation's entries.
        await self.cache.set(keys.presence_generation(self.tenant, guild.id), generation.encode())
        self._generations[guild.id] = generation

    async def _update(self, presence: _Presence) -> None:
        if presence.guild_id is None:
            return
        generation = self._generations.get(presence.guild_id)
        if generation is None:
            # Another instance read the guild's GUILD_CREATE (a shard taken over).
            stored = await self.cache.get(keys.presence_generation(self.tenant, presence.guild_id))
            if stored is None:
                return
            generation = self._generations[presence.guild_id] = stored.decode()
        key = keys.presence(self.tenant, presence.guild_id, presence.user.id)
        if presence.status not in ONLINE:
            # Absent means offline: only members online take room in the cache (which
            # with memory:// holds a bounded number of keys, locks among them).
            await self.cache.delete(key)
            return
        await self.cache.set(key, entry(generation, presence.status), ttl_ms=ENTRY_TTL_MS)


async def has_presences(cache: Cache, tenant: str, guild_id: str) -> bool:
    """Whether the bot has presence data for a guild (a GUILD_CREATE with presences)."""
    return await cache.get(keys.presence_generation(tenant, guild_id)) is not None


async def online_among(
    cache: Cache, tenant: str, guild_id: str, user_ids: list[str]
) -> bool | None:
    """Whether any of ``user_ids`` is online; None when the bot has no presence data."""
    generation = await cache.get(keys.presence_generation(tenant, guild_id))
    if generation is None:
        return None
    if not user_ids:
        return False
    stored = await cache.get_many([keys.presence(tenant, guild_id, u) for u in user_ids])
    return any(is_online(generation, value) for value in stored)
