"""A view of a store confined to one key prefix, e.g. one tenant's objects."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping

from storage.keys import validate_key
from storage.ports import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ByteRange,
    Data,
    ObjectInfo,
    ObjectStore,
)


class ScopedStore:
    """Prefixes every key with ``prefix/`` and hides everything outside it.

    Keys are validated before the prefix is added, so no key ('..' included)
    can reach another scope. Closing the view leaves the inner store open:
    it belongs to whoever opened it.
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
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        await self._inner.put(self._scoped(key), data, content_type=content_type, metadata=metadata)

    async def get(self, key: str, *, range: ByteRange | None = None) -> bytes:
        return await self._inner.get(self._scoped(key), range=range)

    def stream(
        self,
        key: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        range: ByteRange | None = None,
    ) -> AsyncIterator[bytes]:
        return self._inner.stream(self._scoped(key), chunk_size=chunk_size, range=range)

    async def head(self, key: str) -> ObjectInfo:
        info = await self._inner.head(self._scoped(key))
        return ObjectInfo(
            key=key,
            size=info.size,
            content_type=info.content_type,
            modified=info.modified,
            checksum=info.checksum,
            metadata=info.metadata,
        )

    async def exists(self, key: str) -> bool:
        return await self._inner.exists(self._scoped(key))

    async def delete(self, key: str) -> bool:
        return await self._inner.delete(self._scoped(key))

    async def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> builtins.list[str]:
        keys = await self._inner.list(
            self._prefix + prefix,
            start_after=None if start_after is None else self._prefix + start_after,
            limit=limit,
        )
        return [key[len(self._prefix) :] for key in keys if key.startswith(self._prefix)]

    async def presign(self, key: str, expires_s: int = 300) -> str | None:
        return await self._inner.presign(self._scoped(key), expires_s)

    def locate(self, key: str) -> str:
        return self._inner.locate(self._scoped(key))

    async def close(self) -> None:
        return None
