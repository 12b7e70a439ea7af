"""Shard sessions kept in the coordination cache, fenced by the shard lease's token."""

from __future__ import annotations

import logging

import msgspec

from emulation.ports import Cache
from standalone import keys
from standalone.services.shard import ShardLost
from standalone.wire import ShardSession, decode_session, encode_session

log = logging.getLogger(__name__)


class ShardSessions:
    """Load and save the session of each shard of one tenant."""

    def __init__(self, cache: Cache, tenant: str) -> None:
        self.cache = cache
        self.tenant = tenant

    async def load(self, shard: int) -> ShardSession | None:
        """The last saved session, or None (never run, or unreadable: IDENTIFY afresh)."""
        raw = await self.cache.get(keys.shard_session(self.tenant, shard))
        if raw is None:
            return None
        try:
            return decode_session(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("tenant %s shard %s: unreadable saved session", self.tenant, shard)
            return None

    async def take_over(self, shard: int, session: ShardSession) -> None:
        """Store ``session`` as the new lease holder's, whatever token is stored.

        The lease is ours, so a larger stored token can only come from before the
        backend started its tokens afresh (a restart without persistence); a
        writer of that era still alive gets ShardLost as soon as the lease it
        renews turns out to be ours.
        """
        stored = await self.load(shard)
        if stored is not None and stored.token > session.token:
            log.warning(
                "tenant %s shard %s: saved token %s above the lease's %s; lease tokens restarted",
                self.tenant,
                shard,
                stored.token,
                session.token,
            )
        await self.cache.set(keys.shard_session(self.tenant, shard), encode_session(session))

    async def save(self, shard: int, session: ShardSession) -> None:
        """Store ``session``; raises ShardLost when a newer lease holder has written.

        The check and the write are two calls, so a writer whose lease expired a
        moment ago can still slip one write in; it stops at its next one, and the
        new holder writes after every event, so the stale value does not stay.
        """
        stored = await self.load(shard)
        if stored is not None and stored.token > session.token:
            raise ShardLost(
                f"tenant {self.tenant} shard {shard}: lease token {session.token} "
                f"is older than {stored.token}"
            )
        await self.cache.set(keys.shard_session(self.tenant, shard), encode_session(session))
