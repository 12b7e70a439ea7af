"""Discord's IDENTIFY limits, shared by every gateway instance through the coordination port.

Shards are grouped into ``max_concurrency`` buckets (``shard_id % max_concurrency``)
and each bucket may IDENTIFY once per 5 s. A bot also has a daily budget of
session starts (``session_start_limit.remaining``); past it Discord resets the
token, so no instance starts a session once the instances together used it up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec

from emulation.ports import Coordination
from standalone import keys

log = logging.getLogger(__name__)

# Discord's window is 5 s between IDENTIFYs of a bucket as it receives them; the
# turn is taken before connecting, and a slower handshake of the one before could
# otherwise bring two within 5 s of each other at Discord.
IDENTIFY_WINDOW_MS = 5_500
POLL_S = 0.2
EXHAUSTED_POLL_S = 5.0


class SessionStartLimit(msgspec.Struct):
    """GET /gateway/bot's ``session_start_limit``."""

    total: int = 1000
    remaining: int = 1000
    reset_after: int = 86_400_000
    max_concurrency: int = 1


class IdentifyLimits:
    """Waits for a shard's turn to IDENTIFY, counting the start against the shared budget."""

    def __init__(self, coordination: Coordination, tenant: str, limit: SessionStartLimit) -> None:
        self.coordination = coordination
        self.tenant = tenant
        self.limit = limit
        self.concurrency = max(1, limit.max_concurrency)

    async def wait_turn(self, shard_id: int, stopping: Callable[[], bool]) -> bool:
        """Return True once this shard may IDENTIFY; False when ``stopping()`` came first."""
        bucket = keys.identify_bucket(self.tenant, shard_id % self.concurrency)
        counters = self.coordination.counters
        while not await counters.allow(bucket, limit=1, window_ms=IDENTIFY_WINDOW_MS):
            if stopping():
                return False
            await asyncio.sleep(POLL_S)
        return await self._take_start(stopping)

    async def _take_start(self, stopping: Callable[[], bool]) -> bool:
        ttl = max(1, self.limit.reset_after)
        cache = self.coordination.cache
        starts = keys.session_starts(self.tenant)
        budget_key = keys.session_budget(self.tenant)
        # The first instance of a window records what Discord said was left; later
        # ones count against that, since their own answer already counts the others.
        await cache.set_if_absent(budget_key, str(self.limit.remaining).encode(), ttl_ms=ttl)
        warned = False
        while True:
            raw = await cache.get(budget_key)
            budget = int(raw) if raw is not None and raw.isdigit() else self.limit.remaining
            used = await self.coordination.counters.incr(starts, ttl_ms=ttl)
            if used <= budget:
                return True
            await self.coordination.counters.incr(starts, by=-1, ttl_ms=ttl)
            if not warned:
                log.error(
                    "tenant %s: the session start limit (%d) is used up; waiting for its reset",
                    self.tenant,
                    budget,
                )
                warned = True
            if stopping():
                return False
            await asyncio.sleep(EXHAUSTED_POLL_S)
