"""Short exclusive locks in the coordination port's cache, shared by every process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from emulation.ports import Cache

log = logging.getLogger(__name__)

POLL_S = 0.01
# Renewed this many times per TTL: a live holder's lock never gets near running out,
# however long the work under it takes (a transcript, Discord's rate limits).
RENEWALS_PER_TTL = 3


class Busy(Exception):
    """Someone else held the lock for longer than we were willing to wait."""


@contextlib.asynccontextmanager
async def held(
    cache: Cache, key: str, holder: str, *, ttl_ms: int, wait_s: float
) -> AsyncIterator[None]:
    """Hold ``key`` while the block runs; raises Busy after ``wait_s`` (0: do not wait).

    The lock is renewed while the block runs, so ``ttl_ms`` bounds only how long
    the lock of a holder that died outlives it, not how long the work may take.
    The same ``holder`` (a redelivery of the work that died holding it) may take
    it again at once.
    """
    mine = holder.encode()
    deadline = asyncio.get_running_loop().time() + wait_s
    while not await cache.set_if_absent(key, mine, ttl_ms=ttl_ms):
        if await cache.get(key) == mine:
            break
        if asyncio.get_running_loop().time() >= deadline:
            raise Busy(key)
        await asyncio.sleep(POLL_S)
    renewer = asyncio.create_task(_renew(cache, key, mine, ttl_ms))
    try:
        yield
    finally:
        renewer.cancel()
        # Waited for, so a renewal under way cannot put the lock back after the delete;
        # asyncio.wait leaves a cancellation of this task itself to propagate.
        await asyncio.wait([renewer])
        if not renewer.cancelled() and renewer.exception() is not None:
            log.warning("lock %s was not renewed: %s", key, renewer.exception())
        if await cache.get(key) == mine:
            await cache.delete(key)


async def _renew(cache: Cache, key: str, mine: bytes, ttl_ms: int) -> None:
    while True:
        await asyncio.sleep(ttl_ms / 1000 / RENEWALS_PER_TTL)
        if await cache.get(key) != mine:
            log.warning("lock %s was lost before its work ended", key)
            return
        await cache.set(key, mine, ttl_ms=ttl_ms)
