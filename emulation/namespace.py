"""A per-tenant view of a cache: the same backend, keys kept apart by a prefix."""

from __future__ import annotations

from collections.abc import Sequence

from emulation.ports import Cache


class NamespacedCache:
    """A ``Cache`` whose keys live under ``namespace``; other namespaces are invisible.

    Works over any adapter, so a tenant's view behaves the same embedded or on
    Valkey, and the bound and LRU order stay those of the shared cache.
    """

    def __init__(self, cache: Cache, namespace: str) -> None:
        if not namespace:
            raise ValueError("a cache namespace must not be empty")
        self._cache = cache
        self._prefix = f"{namespace}\x1f"
        self.namespace = namespace

    async def get(self, key: str) -> bytes | None:
        return await self._cache.get(self._prefix + key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return await self._cache.get_many([self._prefix + key for key in keys])

    async def set(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> None:
        await self._cache.set(self._prefix + key, value, ttl_ms=ttl_ms)

    async def set_if_absent(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> bool:
        return await self._cache.set_if_absent(self._prefix + key, value, ttl_ms=ttl_ms)

    async def delete(self, key: str) -> bool:
        return await self._cache.delete(self._prefix + key)


def namespaced(cache: Cache, namespace: str) -> NamespacedCache:
    """The view of ``cache`` that one tenant (or other owner) uses."""
    return NamespacedCache(cache, namespace)
