"""Short exclusive locks in the coordination port's cache, shared by every process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from emulation.ports import Cache

POLL_S = 0.01


class Busy(Exception):
    """Someone else held the lock for longer than we were willing to wait."""


@contextlib.asynccontextmanager
async def held(
    cache: Cache, key: str, holder: str, *, ttl_ms: int, wait_s: float
) -> AsyncIterator[None]:
    """Hold ``key`` while the block runs; raises Busy after ``wait_s`` (0: do not wait).

    The TTL frees a lock whose holder died; the same ``holder`` (a redelivery of
    the work that died holding it) may take it again at once.
    """
    mine = holder.encode()
    deadline = asyncio.get_running_loop().time() + wait_s
    while not await cache.set_if_absent(key, mine, ttl_ms=ttl_ms):
        if await cache.get(key) == mine:
            break
        if asyncio.get_running_loop().time() >= deadline:
            raise Busy(key)
        await asyncio.sleep(POLL_S)
    try:
        yield
    finally:
        if await cache.get(key) == mine:
            await cache.delete(key)
