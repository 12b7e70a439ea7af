"""An object store in a dict, for tests and throwaway runs."""

from __future__ import annotations

import builtins

from storage.keys import validate_key
from storage.ports import ObjectInfo, ObjectNotFound


class MemoryStore:
    """Objects held in this process; gone when it exits."""

    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, str]] = {}

    async def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        self._objects[validate_key(key)] = (bytes(data), content_type)

    def _find(self, key: str) -> tuple[bytes, str]:
        try:
            return self._objects[validate_key(key)]
        except KeyError:
            raise ObjectNotFound(key) from None

    async def get(self, key: str) -> bytes:
        return self._find(key)[0]

    async def head(self, key: str) -> ObjectInfo:
        data, content_type = self._find(key)
        return ObjectInfo(key=key, size=len(data), content_type=content_type)

    async def exists(self, key: str) -> bool:
        return validate_key(key) in self._objects

    async def delete(self, key: str) -> bool:
        return self._objects.pop(validate_key(key), None) is not None

    async def list(self, prefix: str = "") -> builtins.list[str]:
        return sorted(key for key in self._objects if key.startswith(prefix))

    def locate(self, key: str) -> str:
        return f"memory://{validate_key(key)}"
