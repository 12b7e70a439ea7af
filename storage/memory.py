"""An object store in a dict, for tests and throwaway runs."""

from __future__ import annotations

import builtins
import hashlib
from bisect import bisect_right
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

import msgspec

from storage.keys import validate_key, validate_listing
from storage.ports import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ByteRange,
    Data,
    ObjectInfo,
    ObjectNotFound,
)
from storage.requests import (
    check_chunk_size,
    check_expiry,
    check_range,
    chunks,
    resolve_range,
    validate_content_type,
    validate_metadata,
)


class _Object(msgspec.Struct, frozen=True):
    data: bytes
    info: ObjectInfo


class MemoryStore:
    """Objects held in this process; gone when it exits."""

    def __init__(self) -> None:
        self._objects: dict[str, _Object] = {}

    async def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        validate_key(key)
        meta = validate_metadata(metadata)
        validate_content_type(content_type)
        # Collected first and stored in one step: a failing iterator stores nothing.
        parts = [chunk async for chunk in chunks(data)]
        blob = b"".join(parts)
        info = ObjectInfo(
            key=key,
            size=len(blob),
            content_type=content_type,
            modified=datetime.now(UTC),
            checksum=hashlib.sha256(blob).hexdigest(),
            metadata=meta,
        )
        self._objects[key] = _Object(blob, info)

    def _find(self, key: str) -> _Object:
        try:
            return self._objects[validate_key(key)]
        except KeyError:
            raise ObjectNotFound(key) from None

    async def get(self, key: str, *, range: ByteRange | None = None) -> bytes:
        check_range(range)
        obj = self._find(key)
        start, end = resolve_range(range, len(obj.data))
        return obj.data[start:end]

    async def stream(
        self,
        key: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        range: ByteRange | None = None,
    ) -> AsyncIterator[bytes]:
        check_chunk_size(chunk_size)
        check_range(range)
        obj = self._find(key)
        start, end = resolve_range(range, len(obj.data))
        view = memoryview(obj.data)
        for offset in builtins.range(start, end, chunk_size):
            yield bytes(view[offset : min(offset + chunk_size, end)])

    async def head(self, key: str) -> ObjectInfo:
        info = self._find(key).info
        # The info is frozen but its dict is not: a caller's edit must not reach the store.
        return msgspec.structs.replace(info, metadata=dict(info.metadata))

    async def exists(self, key: str) -> bool:
        return validate_key(key) in self._objects

    async def delete(self, key: str) -> bool:
        return self._objects.pop(validate_key(key), None) is not None

    async def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> builtins.list[str]:
        validate_listing(prefix, start_after)
        keys = sorted(key for key in self._objects if key.startswith(prefix))
        if start_after is not None:
            keys = keys[bisect_right(keys, start_after) :]
        return keys if limit is None else keys[: max(limit, 0)]

    async def presign(self, key: str, expires_s: int = 300) -> str | None:
        validate_key(key)
        check_expiry(expires_s)
        return None

    def locate(self, key: str) -> str:
        return f"memory://{validate_key(key)}"

    async def close(self) -> None:
        return None
