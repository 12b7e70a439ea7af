"""Import a guild archive into a guild of a tenant, all or nothing.

Rules:

* The whole archive is checked first (layout, manifest, every record's type and
  references, every checksum); a damaged or hostile archive changes nothing.
* The target guild must hold no categories, tags or tickets and no stored
  transcripts: an import never merges two servers' ticket numbers or settings.
  Its settings record, if it has one, is replaced (and put back on failure).
* Into another guild id, every reference moves along (categories get new keys,
  tickets keep their numbers); tickets that were not closed are imported
  closed, since their channels are in the other server, and their timers stay
  behind. Into the same guild id (a move to another deployment) they stay as
  they were.
* Content is encrypted again with this deployment's key.
* Records go in a page at a time. A failure or cancellation removes what went
  in and puts the settings record back, as ``tickets db restore`` does. A
  process killed mid-way leaves a marker record; the next import into that
  guild refuses until told to ``clean_up`` what it left.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from surrealdb import RecordID

from standalone import keys
from standalone.crypto import Cipher
from standalone.db.connection import Database, DatabaseError
from standalone.portability.context import References, Target, to_store_key
from standalone.portability.format import Manifest, PortabilityError, Progress, check_guild_id
from standalone.portability.kinds import PAGE_ROWS
from standalone.portability.reader import Archive
from standalone.portability.tables import TABLES, GuildTable
from storage.ports import ObjectStore, StorageError
from storage.scoped import ScopedStore

# Records of many kilobytes each (long messages) go in smaller batches: a batch
# is in memory three times (decoded, encrypted, encoded for the database).
BATCH_BYTES = 512 * 1024
MARKER_TABLE = "guild_import"  # one record per guild an import is writing into
Step = Callable[[int], None]  # records or objects just checked or written


def _marker(tenant: str, guild: str) -> RecordID:
    return RecordID(MARKER_TABLE, [tenant, guild])


async def _check(archive: Archive, step: Step) -> None:
    """Read every record and object once, checking types, references and checksums."""
    refs = References()
    stored = 0
    for entry in archive.objects():
        refs.objects.add(entry.key)
        stored += entry.size
    if stored != archive.manifest.object_bytes:
        raise PortabilityError("the manifest's object sizes do not add up")
    for table in TABLES:
        for number, (entry, _) in enumerate(archive.rows(table.name), 1):
            table.check(entry, refs)
            step(1)
            if number % PAGE_ROWS == 0:
                await asyncio.sleep(0)  # others run (and a cancellation gets in) meanwhile
    for entry in archive.objects():
        for _ in archive.object_chunks(entry):
            await asyncio.sleep(0)
        step(1)


async def _existing_tables(db: Database) -> set[str]:
    info = await db.one("INFO FOR DB;")
    return set((info or {}).get("tables", {}))


async def _refuse_occupied(dst: Target, store: ObjectStore, manifest: Manifest) -> None:
    present = await _existing_tables(dst.db)
    missing = [name for name, count in manifest.tables.items() if count and name not in present]
    if missing:
        raise PortabilityError(
            f"this deployment has no {', '.join(missing)} table: it is older than the one "
            "that made the archive; upgrade it first"
        )
    used = [t.name for t in TABLES if t.occupies and t.name in present and await t.occupied(dst)]
    for area in keys.GUILD_OBJECT_AREAS:
        if await store.list(keys.guild_objects(area, dst.guild), limit=1):
            used.append(f"stored {area}")
    if used:
        raise PortabilityError(
            f"guild {dst.guild} of tenant {dst.tenant!r} already has {', '.join(used)}; "
            "an import goes only into a guild without categories, tags or tickets"
        )


async def _rows(archive: Archive, table_name: str) -> AsyncIterator[list[Any]]:
    """The table's records in batches of PAGE_ROWS, or fewer when they are large."""
    batch: list[Any] = []
    size = 0
    for entry, length in archive.rows(table_name):
        batch.append(entry)
        size += length
        if len(batch) >= PAGE_ROWS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
            await asyncio.sleep(0)  # a cancellation gets in between pages
    if batch:
        yield batch


async def _chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _write(archive: Archive, dst: Target, store: ObjectStore, step: Step) -> None:
    present = await _existing_tables(dst.db)
    for table in TABLES:
        if table.name not in present:
            continue
        async for entries in _rows(archive, table.name):
            rows = [row for entry in entries if (row := table.row(entry, dst)) is not None]
            if rows:
                await table.insert(rows, dst)
            step(len(entries))
    for entry in archive.objects():
        await store.put(
            to_store_key(entry.key, dst.guild),
            _chunks(archive.object_chunks(entry)),
            content_type=entry.content_type,
        )
        step(1)


async def _undo(dst: Target, store: ObjectStore, saved: dict[str, Any] | None) -> None:
    present = await _existing_tables(dst.db)
    for table in reversed(TABLES):
        if table.name in present and not isinstance(table, GuildTable):
            await table.clear(dst)
    await GuildTable().put_back(dst, saved)
    for area in keys.GUILD_OBJECT_AREAS:
        prefix = keys.guild_objects(area, dst.guild)
        # The guild had no objects before (checked), so all of them came from the import.
        while page := await store.list(prefix, limit=1000):
            for key in page:
                await store.delete(key)
    await dst.db.run("DELETE $m;", {"m": _marker(dst.tenant, dst.guild)})


async def clean_up(
    db: Database, store: ObjectStore, cipher: Cipher, *, tenant: str, guild_id: str
) -> bool:
    """Remove what an interrupted import into this guild left; False when none did."""
    marker = await db.one("SELECT * FROM ONLY $m;", {"m": _marker(tenant, guild_id)})
    if not marker:
        return False
    dst = Target(db=db, tenant=tenant, guild=guild_id, source_guild=guild_id, cipher=cipher)
    await _undo(dst, ScopedStore(store, tenant), marker.get("saved"))
    return True


async def import_guild(
    db: Database,
    store: ObjectStore,
    cipher: Cipher,
    path: Path,
    *,
    tenant: str,
    guild_id: str,
    progress: Progress | None = None,
) -> Manifest:
    """Check the archive at ``path`` and load it into ``guild_id`` of ``tenant``.

    ``store`` is the deployment's store (the tenant's objects go under its
    name). Progress counts each record and object twice: once checked, once
    written. Raises PortabilityError, having changed nothing.
    """
    check_guild_id(guild_id)
    report = progress or (lambda done, total: None)
    with Archive(path) as archive:
        manifest = archive.manifest
        total = 2 * (manifest.records + manifest.objects)
        done = 0

        def step(count: int) -> None:
            nonlocal done
            done += count
            report(min(done, total), total)

        report(0, total)
        await _check(archive, step)
        dst = Target(
            db=db,
            tenant=tenant,
            guild=guild_id,
            source_guild=manifest.source.guild_id,
            cipher=cipher,
        )
        scoped = ScopedStore(store, tenant)
        try:
            return await _load(archive, manifest, dst, scoped, step)
        except DatabaseError as exc:
            raise PortabilityError(f"the import failed, nothing was changed: {exc}") from exc
        except StorageError as exc:
            raise PortabilityError(f"storing an object failed, nothing was changed: {exc}") from exc


async def _load(
    archive: Archive, manifest: Manifest, dst: Target, store: ObjectStore, step: Step
) -> Manifest:
    marker = _marker(dst.tenant, dst.guild)
    if await dst.db.one("SELECT * FROM ONLY $m;", {"m": marker}):
        raise PortabilityError(
            f"an earlier import into guild {dst.guild} did not finish (or is running); "
            "if none is running, clean up what it left first (--clean-up)"
        )
    await _refuse_occupied(dst, store, manifest)
    saved = await GuildTable().saved(dst)
    # CREATE fails when another import took the guild meanwhile.
    await dst.db.run(
        "CREATE $m CONTENT {started_at: $now, source: $source, saved: $saved};",
        {"m": marker, "now": datetime.now(UTC), "source": manifest.source.guild_id, "saved": saved},
    )
    try:
        await _write(archive, dst, store, step)
    except BaseException as exc:
        try:
            await _undo(dst, store, saved)
        except (DatabaseError, StorageError) as undo:
            raise PortabilityError(
                f"the import failed ({exc}) and so did removing what it wrote ({undo}); "
                "clean it up with --clean-up"
            ) from exc
        if isinstance(exc, PortabilityError):
            raise PortabilityError(f"{exc}; nothing was changed") from exc
        raise
    await dst.db.run("DELETE $m;", {"m": marker})
    return manifest
