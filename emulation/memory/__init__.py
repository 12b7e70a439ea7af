"""The in-process coordination adapter: one event loop, nothing shared across processes."""

from __future__ import annotations

import time
from collections.abc import Callable

from emulation.memory.cache import MemoryCache
from emulation.memory.clock import Clock
from emulation.memory.counters import MemoryCounters
from emulation.memory.leases import MemoryLeases
from emulation.memory.pubsub import MemoryPubSub, MemorySubscription
from emulation.memory.streams import MemoryStreams

__all__ = [
    "MemoryCache",
    "MemoryCoordination",
    "MemoryCounters",
    "MemoryLeases",
    "MemoryPubSub",
    "MemoryStreams",
    "MemorySubscription",
]


class MemoryCoordination:
    """Cache, streams, leases, pub/sub and counters held in this process.

    ``clock`` (monotonic seconds) drives every TTL and idle time, so tests can
    step over expiry boundaries without sleeping; ``wall_clock`` (epoch seconds)
    only feeds stream ids.
    """

    def __init__(
        self,
        max_cache_entries: int = 100_000,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._cache = MemoryCache(max_cache_entries, clock=clock)
        self._streams = MemoryStreams(clock=clock, wall_clock=wall_clock)
        self._leases = MemoryLeases(clock=clock)
        self._pubsub = MemoryPubSub()
        self._counters = MemoryCounters(clock=clock)

    @property
    def cache(self) -> MemoryCache:
        return self._cache

    @property
    def streams(self) -> MemoryStreams:
        return self._streams

    @property
    def leases(self) -> MemoryLeases:
        return self._leases

    @property
    def pubsub(self) -> MemoryPubSub:
        return self._pubsub

    @property
    def counters(self) -> MemoryCounters:
        return self._counters

    async def close(self) -> None:
        await self._pubsub.close()
