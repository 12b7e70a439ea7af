"""Export one guild of one tenant as a ZIP, produced a few kilobytes at a time.

The database is read a page at a time (``tables.PAGE_ROWS`` records) and each
stored object a chunk at a time, straight into the ZIP's deflate stream, so
memory does not grow with the guild, except for what every ZIP writer keeps
for its closing directory: about 200 bytes per entry, and there is one entry
per stored object (two per closed ticket).

Consistency is per record, as with ``tickets db backup`` on a server in use:
each page is read on its own. Records of a ticket opened after the tickets
were read are left out, so the archive never refers to a ticket it lacks.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import msgspec

from standalone import keys
from standalone.crypto import Cipher
from standalone.db.connection import Database, DatabaseError
from standalone.db.migrations import schema_version
from standalone.portability.context import Reading, to_portable_key
from standalone.portability.format import (
    FORMAT,
    KIND,
    MANIFEST,
    OBJECT_INDEX,
    EntryInfo,
    Manifest,
    ObjectEntry,
    PortabilityError,
    Progress,
    Source,
    check_guild_id,
    object_entry,
    table_entry,
)
from standalone.portability.kinds import Table
from standalone.portability.tables import TABLES
from storage.ports import ObjectStore, StorageError
from storage.scoped import ScopedStore

CHUNK_BYTES = 64 * 1024  # handed on once the ZIP has this much ready
_LIST_PAGE = 1000
_encoder = msgspec.json.Encoder()


class _Sink:
    """The file the ZIP writes into: it only collects bytes for the next chunk.

    It has no ``tell`` or ``seek``, so zipfile writes each entry's sizes after
    its data (a data descriptor) instead of going back to fill them in.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._buffer)

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


class _Hashing:
    """Writes to a ZIP entry and keeps its size and SHA-256 for the manifest."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.target.write(data)
        self.sha256.update(data)
        self.size += len(data)


class GuildExport:
    """The ZIP of one guild, as an async iterable of byte chunks.

    Iterate it once (into a file, an HTTP response, an object store put);
    ``manifest`` is set when the last chunk has been handed on. ``store`` is
    the deployment's store: the tenant's objects are found under its name.
    """

    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        cipher: Cipher,
        *,
        tenant: str,
        guild_id: str,
        progress: Progress | None = None,
    ) -> None:
        self._src = Reading(db=db, tenant=tenant, guild=check_guild_id(guild_id), cipher=cipher)
        self._store = ScopedStore(store, tenant)
        self._progress = progress or (lambda done, total: None)
        self._done = 0
        self._total = 0
        self.manifest: Manifest | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def _step(self, count: int = 1) -> None:
        self._done += count
        # Records written since the count make the total grow, not the bar overflow.
        self._total = max(self._total, self._done)
        self._progress(self._done, self._total)

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._write():
                yield chunk
        except DatabaseError as exc:
            raise PortabilityError(f"could not read the database: {exc}") from exc
        except StorageError as exc:
            raise PortabilityError(f"could not read a stored object: {exc}") from exc

    async def _write(self) -> AsyncIterator[bytes]:
        present = [table for table in TABLES if await table.exists(self._src.db)]
        counts = {table.name: await table.count(self._src) for table in present}
        self._total = sum(counts.values()) + await self._count_objects()
        self._progress(0, self._total)
        sink = _Sink()
        entries: list[EntryInfo] = []
        written: dict[str, int] = {}
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for table in present:
                async for chunk in self._table(archive, sink, table, entries, written):
                    yield chunk
            with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as index:
                objects = object_bytes = 0
                async for chunk, size in self._objects(archive, sink, index):
                    if size is not None:
                        objects, object_bytes = objects + 1, object_bytes + size
                    yield chunk
                index.seek(0)
                with archive.open(OBJECT_INDEX, "w", force_zip64=True) as raw:
                    out = _Hashing(raw)
                    while data := index.read(CHUNK_BYTES):
                        out.write(data)
                        if len(sink) >= CHUNK_BYTES:
                            yield sink.take()
                entries.append(
                    EntryInfo(
                        name=OBJECT_INDEX,
                        size=out.size,
                        sha256=out.sha256.hexdigest(),
                        records=objects,
                    )
                )
            self.manifest = Manifest(
                format=FORMAT,
                kind=KIND,
                created_at=datetime.now(UTC),
                source=Source(
                    tenant=self._src.tenant,
                    guild_id=self._src.guild,
                    schema_version=await schema_version(self._src.db),
                ),
                tables=written,
                objects=objects,
                object_bytes=object_bytes,
                entries=entries,
            )
            archive.writestr(MANIFEST, msgspec.json.format(_encoder.encode(self.manifest)))
        self._progress(self._done, self._done)
        yield sink.take()

    async def _table(
        self,
        archive: zipfile.ZipFile,
        sink: _Sink,
        table: Table,
        entries: list[EntryInfo],
        written: dict[str, int],
    ) -> AsyncIterator[bytes]:
        name = table_entry(table.name)
        records = 0
        with archive.open(name, "w", force_zip64=True) as raw:
            out = _Hashing(raw)
            async for rows in table.pages(self._src):
                for row in rows:
                    entry = table.export(row, self._src)
                    if entry is not None:
                        out.write(_encoder.encode(entry) + b"\n")
                        records += 1
                self._step(len(rows))
                if len(sink) >= CHUNK_BYTES:
                    yield sink.take()
        written[table.name] = records
        entries.append(
            EntryInfo(name=name, size=out.size, sha256=out.sha256.hexdigest(), records=records)
        )

    async def _keys(self) -> AsyncIterator[str]:
        for area in keys.GUILD_OBJECT_AREAS:
            prefix = keys.guild_objects(area, self._src.guild)
            after: str | None = None
            while page := await self._store.list(prefix, start_after=after, limit=_LIST_PAGE):
                for key in page:
                    yield key
                after = page[-1]

    async def _count_objects(self) -> int:
        return sum([1 async for _ in self._keys()])

    async def _objects(
        self, archive: zipfile.ZipFile, sink: _Sink, index: IO[bytes]
    ) -> AsyncIterator[tuple[bytes, int | None]]:
        """Each object into the ZIP; yields (bytes ready, the object's size once it is in)."""
        async for key in self._keys():
            portable = to_portable_key(key, self._src.guild)
            if portable is None:
                continue
            info = await self._store.head(key)
            with archive.open(object_entry(portable), "w", force_zip64=True) as raw:
                out = _Hashing(raw)
                async for data in self._store.stream(key):
                    out.write(data)
                    if len(sink) >= CHUNK_BYTES:
                        yield sink.take(), None
            entry = ObjectEntry(
                key=portable,
                size=out.size,
                sha256=out.sha256.hexdigest(),
                content_type=info.content_type,
            )
            index.write(_encoder.encode(entry) + b"\n")
            self._step()
            yield sink.take(), out.size


async def export_to_file(export: GuildExport, path: Path) -> Manifest:
    """Write the export to ``path`` atomically: a failed export leaves no file."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as out:
            async for chunk in export:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise PortabilityError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    assert export.manifest is not None  # set by the last chunk
    return export.manifest
