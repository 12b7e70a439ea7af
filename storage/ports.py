"""The object-storage port: transcripts, attachments and backups live here."""

from __future__ import annotations

from typing import Protocol

import msgspec


class ObjectInfo(msgspec.Struct, frozen=True):
    """What ``head`` knows of a stored object."""

    key: str
    size: int
    content_type: str


class StorageError(Exception):
    """Base of every storage failure the caller can act on."""


class InvalidKey(StorageError, ValueError):
    """The key is empty, too long, or would leave the store's root."""


class ObjectNotFound(StorageError, KeyError):
    """No object under that key."""


class ObjectStore(Protocol):
    """Whole-object put/get under ``/``-separated keys, written atomically."""

    async def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        """Store ``data``; readers see the old object or the new one, never a part."""

    async def get(self, key: str) -> bytes:
        """Return the object's bytes; raises ObjectNotFound."""

    async def head(self, key: str) -> ObjectInfo:
        """Return size and content type; raises ObjectNotFound."""

    async def exists(self, key: str) -> bool:
        """True when an object is stored under ``key``."""

    async def delete(self, key: str) -> bool:
        """Remove an object; True when it existed."""

    async def list(self, prefix: str = "") -> list[str]:
        """Keys that start with ``prefix``, sorted."""

    def locate(self, key: str) -> str:
        """A human-readable location of the object (a path or URL), for messages."""
