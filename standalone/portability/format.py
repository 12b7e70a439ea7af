"""The guild archive: a ZIP of JSON-lines tables, stored objects and a manifest.

Layout (format 1)::

    tables/<table>.jsonl   one record per line, in the table's archive shape
    objects/<area>/<name>  a stored object (a transcript), its key without the guild
    objects.jsonl          one ``ObjectEntry`` per stored object
    manifest.json          a ``Manifest``: written last, it checks everything above

Ticket content is in plain text: the archive is the server's data, readable
without the deployment's key, and an import encrypts it again with the key of
the deployment it goes into (which is usually another key).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

FORMAT = 1
KIND = "tickets-guild-export"
CONTENT_TYPE = "application/zip"

MANIFEST = "manifest.json"
OBJECT_INDEX = "objects.jsonl"
TABLES_DIR = "tables/"
OBJECTS_DIR = "objects/"

# Limits an import enforces before it trusts a byte of the archive. A hostile
# archive can claim anything; these bound the memory and time it can take.
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_LINE_BYTES = 8 * 1024 * 1024  # one record; a message of 4000 characters with edits fits
MAX_OBJECT_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 2_000_000
# JSON lines and transcripts deflate about 5:1 to 20:1; a megabyte and more that
# inflates over 250 times is a zip bomb (runs of zeros reach about 1000:1).
MAX_RATIO = 250
MAX_CATEGORIES = 1000

Progress = Callable[[int, int], None]
"""Called with (steps done, steps in all) as an export or import moves on."""


class PortabilityError(Exception):
    """An export or import cannot go on; the message says why and what was changed."""


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """Where the archive came from."""

    tenant: str
    guild_id: str
    schema_version: int


class EntryInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One ZIP entry the manifest vouches for: its size and SHA-256 once inflated."""

    name: str
    size: int
    sha256: str
    records: int = 0  # lines of a table or of the object index


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format: int
    kind: str
    created_at: datetime
    source: Source
    # Records per table, every table of the registry listed (0 when it had none).
    tables: dict[str, int]
    objects: int
    object_bytes: int
    entries: list[EntryInfo]

    @property
    def records(self) -> int:
        return sum(self.tables.values())


class ObjectEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A stored object: ``key`` is its key without the guild (``transcripts/7.html``)."""

    key: str
    size: int
    sha256: str
    content_type: str


def check_guild_id(guild_id: str) -> str:
    """The id, when it is a Discord id; it becomes part of record ids and storage keys."""
    if not (isinstance(guild_id, str) and guild_id.isdigit() and len(guild_id) <= 20):
        raise PortabilityError(f"guild id {guild_id!r} is not a Discord id (digits)")
    return guild_id


def table_entry(table: str) -> str:
    return f"{TABLES_DIR}{table}.jsonl"


def object_entry(key: str) -> str:
    return f"{OBJECTS_DIR}{key}"
