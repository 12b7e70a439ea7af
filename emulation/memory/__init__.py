"""The in-process coordination adapter: one event loop, nothing shared across processes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from emulation.memory.aof import AppendOnlyFile, FsyncPolicy
from emulation.memory.cache import MemoryCache
from emulation.memory.clock import Clock
from emulation.memory.counters import MemoryCounters
from emulation.memory.leases import MemoryLeases
from emulation.memory.pubsub import MemoryPubSub, MemorySubscription
from emulation.memory.records import Fence, LeaseReleased, LeaseRenewed, LeaseTaken, Record
from emulation.memory.streams import MemoryStreams

__all__ = [
    "AppendOnlyFile",
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
    feeds stream ids and the times kept in the append-only file.

    With ``aof_path``, streams and leases are logged to that file under the
    ``fsync`` policy and rebuilt from it here. The cache, counters and pub/sub
    stay volatile, as they are in a Valkey used as a cache. A change that cannot
    be written raises ``PersistenceError``, and streams and leases are rebuilt
    from the file as it was before it.
    """

    def __init__(
        self,
        max_cache_entries: int = 100_000,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        aof_path: str | Path | None = None,
        fsync: FsyncPolicy = "everysec",
        aof_rewrite_min_bytes: int | None = None,
    ) -> None:
        self.aof: AppendOnlyFile | None = None
        if aof_path is not None:
            self.aof = AppendOnlyFile(aof_path, fsync)
            if aof_rewrite_min_bytes is not None:
                self.aof.rewrite_min_bytes = aof_rewrite_min_bytes
        self._cache = MemoryCache(max_cache_entries, clock=clock)
        self._streams = MemoryStreams(clock=clock, wall_clock=wall_clock, aof=self.aof)
        self._leases = MemoryLeases(clock=clock, wall_clock=wall_clock, aof=self.aof)
        self._pubsub = MemoryPubSub()
        self._counters = MemoryCounters(clock=clock)
        if self.aof is not None:
            for record in self.aof.replay():
                self._restore(record)
            self.aof.snapshot = self._snapshot
            self.aof.rollback = self._rebuild

    def _restore(self, record: Record) -> None:
        if isinstance(record, LeaseTaken | LeaseRenewed | LeaseReleased | Fence):
            self._leases.restore(record)
        else:
            self._streams.restore(record)

    def _rebuild(self, records: Iterable[Record]) -> None:
        # Costs a replay of the whole file, but only when a write failed.
        self._streams.clear()
        self._leases.clear()
        for record in records:
            self._restore(record)

    def _snapshot(self) -> list[Record]:
        return [*self._streams.snapshot(), *self._leases.snapshot()]

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
        if self.aof is not None:
            await self.aof.wait_rewrite()
            self.aof.close()
