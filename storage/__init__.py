"""Object storage for transcripts, attachments and backups."""

from storage.connect import open_store
from storage.file import FileStore
from storage.memory import MemoryStore
from storage.ports import InvalidKey, ObjectInfo, ObjectNotFound, ObjectStore, StorageError
from storage.scoped import ScopedStore

__all__ = [
    "FileStore",
    "InvalidKey",
    "MemoryStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ScopedStore",
    "StorageError",
    "open_store",
]
