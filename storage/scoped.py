"""A view of a store confined to one key prefix, e.g. one tenant's objects."""

from __future__ import annotations

import builtins

from storage.keys import validate_key
from storage.ports import ObjectInfo, ObjectStore


class ScopedStore:
    """Prefixes every key with ``prefix/`` and hides everything outside it.

    Keys are validated before the prefix is added, so no key ('..' included)
    can reach another scope.
    """

    def __init__(self, inner: ObjectStore, prefix: str) -> None:
        self._inner = inner
        self._prefix = validate_key(prefix) + "/"

    @property
    def prefix(self) -> str:
        return self._prefix[:-1]

    def _scoped(self, key: str) -> str:
        return self._prefix + validate_key(key)

    async def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        await self._inner.put(self._scoped(key), data, content_type=content_type)

    async def get(self, key: str) -> bytes:
        return await self._inner.get(self._scoped(key))

    async def head(self, key: str) -> ObjectInfo:
        info = await self._inner.head(self._scoped(key))
        return ObjectInfo(key=key, size=info.size, content_type=info.content_type)

    async def exists(self, key: str) -> bool:
        return await self._inner.exists(self._scoped(key))

    async def delete(self, key: str) -> bool:
        return await self._inner.delete(self._scoped(key))

    async def list(self, prefix: str = "") -> builtins.list[str]:
        keys = await self._inner.list(self._prefix + prefix)
        return [key[len(self._prefix) :] for key in keys if key.startswith(self._prefix)]

    def locate(self, key: str) -> str:
        return self._inner.locate(self._scoped(key))
