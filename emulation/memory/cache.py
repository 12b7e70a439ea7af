"""In-process cache: a bounded LRU with a per-key TTL."""

from __future__ import annotations

import time
from collections.abc import Sequence

from cachetools import LRUCache

from emulation.memory.clock import Clock, expiry_ms, now_ms

# (value, expiry in clock milliseconds or None for no TTL)
_Item = tuple[bytes, int | None]


class MemoryCache:
    """Byte values in an LRU of ``max_entries``; expired keys read as absent."""

    def __init__(self, max_entries: int = 100_000, *, clock: Clock = time.monotonic) -> None:
        if max_entries <= 0:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self._items: LRUCache[str, _Item] = LRUCache(maxsize=max_entries)
        self._clock = clock

    def _live(self, key: str) -> bytes | None:
        # LRUCache.get goes through __getitem__, so a hit also refreshes recency.
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and now_ms(self._clock) > expires:  # as Valkey: live at expiry
            del self._items[key]
            return None
        return value

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._live(key) for key in keys]

    async def set(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> None:
        self._items[key] = (bytes(value), expiry_ms(self._clock, ttl_ms))

    async def set_if_absent(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._items[key] = (bytes(value), expiry_ms(self._clock, ttl_ms))
        return True

    async def delete(self, key: str) -> bool:
        existed = self._live(key) is not None
        self._items.pop(key, None)
        return existed

    def __len__(self) -> int:
        return len(self._items)
