"""Pick the object store named by a URL."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from storage.file import FileStore
from storage.memory import MemoryStore
from storage.ports import ObjectStore


def open_store(url: str) -> ObjectStore:
    """Open the store for ``url``.

    ``file://data/objects`` is the relative folder ``data/objects``,
    ``file:///srv/objects`` an absolute one; ``memory://`` keeps objects in memory.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        # The "host" of file://data/objects is the first folder of a relative path.
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError(f"file store URL {url!r} names no folder")
        return FileStore(path)
    if scheme == "memory":
        return MemoryStore()
    raise ValueError(
        f"unsupported object store URL scheme {scheme!r} (expected file:// or memory://)"
    )
