"""The object-storage port: transcripts, attachments, exports and backups live here."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from datetime import datetime
from typing import Protocol

import msgspec

DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_CHUNK_SIZE = 256 * 1024

# (start, end): bytes start <= i < end; end None means "to the end of the object".
ByteRange = tuple[int, int | None]
# bytes, or chunks from an async iterator so large objects never sit whole in memory.
Data = bytes | bytearray | memoryview | AsyncIterable[bytes]


class ObjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What ``head`` knows of a stored object."""

    key: str
    size: int
    content_type: str
    modified: datetime
    # A strong validator, usable as an HTTP ETag: equal for the same stored
    # version, different once other bytes are stored. Opaque: sha256 hex on
    # file and memory, the server's ETag on S3.
    checksum: str
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class StorageError(Exception):
    """Base of every storage failure the caller can act on."""


class InvalidKey(StorageError, ValueError):
    """The key is empty, too long, or would leave the store's root."""


class InvalidRequest(StorageError, ValueError):
    """Metadata, a byte range or another argument the store cannot accept."""


class InvalidRange(InvalidRequest):
    """The byte range starts after the end of the object."""


class ObjectNotFound(StorageError, KeyError):
    """No object under that key."""


class ObjectStore(Protocol):
    """Objects under ``/``-separated keys, written atomically, read whole or streamed.

    Keys follow ``storage.keys.validate_key`` on every adapter. Metadata keys
    are lowercase ``[a-z0-9-]`` and values printable ASCII (what S3 keeps
    verbatim), at most 2 KiB in all.
    """

    async def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Store ``data``; readers see the old object or the new one, never a part.

        When writing fails (a full disk, an S3 error, an exception from the
        caller's iterator) nothing new is visible and StorageError is raised,
        or the iterator's own exception.
        """

    async def get(self, key: str, *, range: ByteRange | None = None) -> bytes:
        """The object's bytes, or the slice ``range`` names; raises ObjectNotFound.

        A range ending past the object is cut at its end; one starting past
        it raises InvalidRange.
        """

    def stream(
        self,
        key: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        range: ByteRange | None = None,
    ) -> AsyncIterator[bytes]:
        """Like ``get``, in chunks of at most ``chunk_size`` bytes, of one version.

        Errors (ObjectNotFound, InvalidRange) are raised by the first ``anext``.
        """

    async def head(self, key: str) -> ObjectInfo:
        """Size, content type, modification time, checksum, metadata; raises ObjectNotFound."""

    async def exists(self, key: str) -> bool:
        """True when an object is stored under ``key``."""

    async def delete(self, key: str) -> bool:
        """Remove an object; True when it existed."""

    async def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> list[str]:
        """Keys that start with ``prefix``, sorted by code point.

        One page: at most ``limit`` keys, all greater than ``start_after``;
        pass the last key of a page to get the next.
        """

    async def presign(self, key: str, expires_s: int = 300) -> str | None:
        """A URL a browser can fetch the object from directly, or None if there is none."""

    def locate(self, key: str) -> str:
        """A human-readable location of the object (a path or URL), for messages."""

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""
