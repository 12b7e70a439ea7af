"""Pick the object store named by a URL."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from storage.file import FileStore
from storage.memory import MemoryStore
from storage.ports import ObjectStore


def store_path(url: str) -> str | None:
    """Check a store URL; the folder of a ``file://`` URL, None for ``memory://``.

    Raises ValueError with a message for a person when the URL is unusable.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        # The "host" of file://data/objects is the first folder of a relative path.
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError(f"file store URL {url!r} names no folder")
        return path
    if scheme == "memory":
        return None
    raise ValueError(
        f"unsupported object store URL scheme {scheme!r} (expected file:// or memory://)"
    )


def open_store(url: str) -> ObjectStore:
    """Open the store for ``url``.

    ``file://data/objects`` is the relative folder ``data/objects``,
    ``file:///srv/objects`` an absolute one; ``memory://`` keeps objects in memory.
    """
    path = store_path(url)
    return MemoryStore() if path is None else FileStore(path)
