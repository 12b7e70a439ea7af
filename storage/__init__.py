"""Object storage for transcripts, attachments, exports and backups."""

from storage.connect import open_store, parse_store_url
from storage.file import FileStore
from storage.memory import MemoryStore
from storage.ports import (
    ByteRange,
    InvalidKey,
    InvalidRange,
    InvalidRequest,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
)
from storage.scoped import ScopedStore

__all__ = [
    "ByteRange",
    "FileStore",
    "InvalidKey",
    "InvalidRange",
    "InvalidRequest",
    "MemoryStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ScopedStore",
    "StorageError",
    "open_store",
    "parse_store_url",
]
