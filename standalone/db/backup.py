"""Whole-database backups as one object on the storage port, and restores from them.

Every table ``INFO FOR DB`` lists is exported, so tables added by later
migrations are included without changes here. Both directions stream: the
backup reads each table in pages of ``BATCH_ROWS`` records straight into a
streamed put, the restore reads the object a chunk at a time and inserts a
batch at a time, so memory stays bounded by one batch whatever the size of
the database (the object format is in ``backup_format``).

Consistency of a backup taken while the bot keeps writing (``Header.consistency``):

* ``point-in-time`` when the engine keeps versions (``surrealkv+versioned://``):
  every page is read ``VERSION`` the moment the backup started, so the backup
  is exactly the database at that moment, across all tables.
* ``per-record`` otherwise (``surrealkv://``, ``mem://``, ``ws://``): the
  embedded engine has no client-side transactions, and one transaction over
  the whole database would have to hold all of it in memory. Each page is
  read in its own transaction, in record-id order. Every record is in the
  backup at most once and whole, as it was at one moment during the backup;
  a record that existed and did not change for the whole backup is in it
  exactly; a record created, changed or deleted meanwhile may be in it in
  its old state, its new state, or (created or deleted) not at all, so two
  records changed together may disagree. With the bot stopped, this is a
  point-in-time copy too; ``tickets db backup`` on an embedded file database
  is always that, since no other process can open the file meanwhile
  (``standalone/db/file_lock.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from surrealdb.cbor import CBORTag, undefined

from standalone.db.backup_format import (
    CONTENT_TYPE,
    FORMAT,
    BackupError,
    Batch,
    End,
    Frame,
    Header,
    Progress,
    TableInfo,
    batches,
    check_table,
    checked_frames,
    compress,
    rows_of,
    verify,
)
from standalone.db.connection import (
    RESTORE_MARKER,
    Database,
    DatabaseError,
    interrupted_restore,
)
from standalone.db.migrations import LATEST, migrate, schema_version
from storage.ports import ObjectStore, StorageError

__all__ = [
    "BATCH_ROWS",
    "BackupError",
    "Header",
    "Progress",
    "TableInfo",
    "backup",
    "restore",
    "verify",
]

BATCH_ROWS = 500
# The migrations own schema_version (a restore sets it by migrating instead);
# restore_state belongs to the restore itself.
_SKIPPED = {"schema_version", "restore_state"}
_RECORD_ID = 8  # SurrealDB's CBOR tags
_RANGE = 49
_EXCLUDED = 51


def _after(table: str, last: Any) -> CBORTag:
    """The records of ``table`` whose id sorts after ``last`` (all of them for None).

    A record-id range reads from the table's key order directly; ``WHERE id >``
    would scan the table from its start for every page. The SDK has no way to
    write an open bound, which SurrealDB takes as CBOR undefined.
    """
    start = undefined if last is None else CBORTag(_EXCLUDED, last)
    return CBORTag(_RECORD_ID, [table, CBORTag(_RANGE, [start, undefined])])


async def _tables(db: Database) -> dict[str, bool]:
    """Tables to copy, each with whether it is a relation (graph edge) table."""
    info = await db.one("INFO FOR DB;")
    tables: dict[str, bool] = {}
    for name, definition in sorted((info or {}).get("tables", {}).items()):
        if name in _SKIPPED:
            continue
        text = str(definition).upper()
        if " AS SELECT " in text:
            continue  # a view: SurrealDB computes it from the other tables
        tables[check_table(name)] = "TYPE RELATION" in text
    return tables


async def _record_counts(
    db: Database, tables: list[str], at: datetime | None = None
) -> dict[str, int]:
    if not tables:
        return {}
    # GROUP ALL counts inside the engine, without collecting the ids first.
    count = "SELECT count() FROM type::table($t{}) GROUP ALL VERSION $at;"
    if at is None:
        count = "SELECT count() FROM type::table($t{}) GROUP ALL;"
    results = await db.run(
        "".join(count.format(i) for i in range(len(tables))),
        {"at": at, **{f"t{i}": name for i, name in enumerate(tables)}},
    )
    return {
        name: int(rows[0]["count"]) if rows else 0
        for name, rows in zip(tables, results, strict=True)
    }


async def _moment(db: Database) -> datetime | None:
    """The time to read every page at, or None when the engine keeps no versions.

    Only a versioned engine can say: the others ignore ``VERSION`` (mem://
    answers with the records that have not changed since, surrealkv:// with
    none), so probing with a query cannot tell them apart safely.
    """
    if not db.versioned:
        return None
    at: datetime = await db.one("RETURN time::now();")
    return at


async def _pages(db: Database, table: str, at: datetime | None) -> AsyncIterator[list[Any]]:
    """The table in pages of BATCH_ROWS records, in record-id order."""
    last: Any = None
    while True:
        if at is None:
            sql = "SELECT * FROM $r LIMIT $n;"
            variables = {"r": _after(table, last), "n": BATCH_ROWS}
        else:
            # Range reads ignore VERSION, and START with VERSION repeats records
            # (SurrealDB 2), so a point-in-time page filters on the id instead,
            # which costs a scan from the table's start per page.
            where = "" if last is None else "WHERE id > $last"
            sql = f"SELECT * FROM type::table($t) {where} LIMIT $n VERSION $at;"  # noqa: S608
            variables = {"t": table, "last": last, "n": BATCH_ROWS, "at": at}
        rows = await db.one(sql, variables)
        if not rows:
            return
        yield rows
        last = rows[-1]["id"] if at is not None else rows[-1]["id"].id


async def _export(
    db: Database, header: Header, at: datetime | None, progress: Progress, done: dict[str, int]
) -> AsyncIterator[Frame]:
    """The backup's frames; ``done`` counts each table's records as they go."""
    yield header
    total = header.records
    for table in header.tables:
        async for rows in _pages(db, table, at):
            for part in batches(table, rows):
                yield part
            done[table] = done.get(table, 0) + len(rows)
            # The put asked for more, so what came before is on its way. Records
            # written since the count make the total grow, not the bar overflow.
            total = max(total, sum(done.values()))
            progress(sum(done.values()), total)
    records = sum(done.values())
    progress(records, records)  # fewer than counted when records went meanwhile
    yield End(records, dict(done))


async def backup(
    db: Database,
    store: ObjectStore,
    key: str,
    *,
    progress: Progress | None = None,
    quiesced: bool = False,
) -> Header:
    """Stream an export of the whole database to ``key``; returns its header.

    The returned header has each table's exact count. See the module's
    docstring for how consistent the export is while writes go on.
    ``quiesced`` is the caller's word that nothing writes meanwhile (the CLI
    on an embedded database, which no other process can open), which makes
    any export one of a single moment.
    """
    tables = await _tables(db)
    at = await _moment(db)
    version = await db.one("SELECT VALUE version FROM schema_version:current;")
    estimate = await _record_counts(db, list(tables), at)
    header = Header(
        format=FORMAT,
        schema_version=int(version[0]) if version else 0,
        created_at=datetime.now(UTC),
        tables={name: TableInfo(estimate[name], relation) for name, relation in tables.items()},
        consistency="point-in-time" if at is not None or quiesced else "per-record",
    )
    report = progress or (lambda done, total: None)
    report(0, header.records)
    done: dict[str, int] = {}
    try:
        await store.put(
            key,
            compress(_export(db, header, at, report, done)),
            content_type=CONTENT_TYPE,
            # Known before the first byte, as S3 needs it: exact for a
            # point-in-time backup, the count at the start otherwise.
            metadata={"schema-version": str(header.schema_version), "records": str(header.records)},
        )
    except StorageError as exc:
        raise BackupError(f"could not write the backup to {store.locate(key)}: {exc}") from exc
    except DatabaseError as exc:
        raise BackupError(f"could not read the database, nothing was written: {exc}") from exc
    return msgspec.structs.replace(
        header, tables={name: TableInfo(done.get(name, 0), tables[name]) for name in tables}
    )


async def _unmark(db: Database) -> None:
    # The whole table, so a restored database lists no table the backup had not.
    await db.run("REMOVE TABLE IF EXISTS restore_state;")


async def _empty(db: Database, tables: set[str]) -> None:
    # One DELETE per table: each is one transaction in the engine, which
    # holds the keys it removes, never the records in Python.
    for name in sorted(tables):
        await db.run(f"DELETE {check_table(name)};")


async def _load(
    db: Database, store: ObjectStore, key: str, header: Header, progress: Progress
) -> None:
    """Insert the backup's records a batch at a time, checking them as they come."""
    done = 0
    async for frame in checked_frames(store, key):
        if isinstance(frame, Header) and frame.created_at != header.created_at:
            raise BackupError(f"{key!r} was replaced while it was being restored")
        if not isinstance(frame, Batch):
            continue
        rows = rows_of(frame, key)
        insert = "INSERT RELATION INTO" if header.tables[frame.table].relation else "INSERT INTO"
        await db.run(f"{insert} {check_table(frame.table)} $rows;", {"rows": rows})
        done += len(rows)
        if done < header.records:
            progress(done, header.records)  # the last step is when all is checked


async def restore(
    db: Database,
    store: ObjectStore,
    key: str,
    *,
    force: bool = False,
    progress: Progress | None = None,
    replaced: Callable[[str], None] | None = None,
) -> Header:
    """Load the backup at ``key`` into ``db``, which must be empty unless ``force``.

    The backup is checked end to end before anything is written. Records go in
    at the backup's schema version, then the newer migrations run over them,
    so a backup from an older release restores into a newer one.

    Records go in a batch at a time, so readers of the database meanwhile see
    them arrive. When loading fails or is interrupted, what was loaded is
    removed again, and a forced restore first backs the records it replaces
    up to ``<key>.replaced-<UTC time>`` (told to ``replaced``, and kept) and
    loads them back from there: the database ends as it was, at most
    migrated up to the backup's version.
    A restore killed outright leaves a marker that makes open_database and
    the next restore refuse the half-restored database until a forced
    restore replaces it.
    """
    header = await verify(store, key)
    if reserved := sorted(set(header.tables) & _SKIPPED):
        # Loading them would overwrite the schema version the migrations go by,
        # or drop the marker that flags a half-done restore while loading.
        raise BackupError(
            f"{key!r} lists {', '.join(reserved)}, which a restore sets itself; "
            "it was not made by 'tickets db backup'"
        )
    if header.schema_version > LATEST:
        raise BackupError(
            f"the backup is at schema version {header.schema_version}, newer than this "
            f"release ({LATEST}); restore it with the release that made it or a later one"
        )
    await migrate(db, up_to=0)  # only makes sure the version table exists
    current = await schema_version(db)
    interrupted = await interrupted_restore(db)
    filled = {n: c for n, c in (await _record_counts(db, list(await _tables(db)))).items() if c}
    if interrupted is not None and not force:
        raise BackupError(
            f"a restore of {interrupted!r} was interrupted and left part of it in the "
            "database; pass --force to replace its records"
        )
    if filled and not force:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(filled.items()))
        raise BackupError(
            f"the database is not empty: {listed}; pass --force to replace its records"
        )
    if current > header.schema_version:
        raise BackupError(
            f"the database is at schema version {current}, the backup at "
            f"{header.schema_version}; restore into a new, empty database so the "
            "migrations can bring the restored records up to date"
        )
    # Migrations are made to run over live records, so a failed restore
    # leaves the old records at most migrated, never lost.
    await migrate(db, up_to=header.schema_version)
    saved: str | None = None
    if filled and interrupted is None:
        # After the migration, so loading them back needs no migration of its own.
        saved = f"{key}.replaced-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        await backup(db, store, saved)
        if replaced is not None:
            replaced(saved)
    report = progress or (lambda done, total: None)
    report(0, header.records)
    if interrupted is None:
        # Kept as it is otherwise: if this one fails too, the earlier is still what to finish.
        await db.run("UPSERT $marker SET key = $key;", {"marker": RESTORE_MARKER, "key": key})
    touched = {*filled, *header.tables}
    try:
        await _empty(db, touched)
        # Checked again while reading: the object may have been replaced since.
        await _load(db, store, key, header, report)
    except BaseException as exc:
        # A database an earlier restore left half-done stays marked: emptied
        # now, it is still not what anyone backed up.
        await _undo(db, store, touched, saved, key, unmark=interrupted is None)
        if not isinstance(exc, DatabaseError | BackupError):
            raise
        if interrupted is not None:
            raise BackupError(
                f"restoring {key!r} failed: {exc}; the database is emptied and still "
                "marked as half-restored"
            ) from exc
        raise BackupError(f"restoring {key!r} failed, no record was changed: {exc}") from exc
    await _unmark(db)
    report(header.records, header.records)
    await migrate(db)
    return header


async def _undo(
    db: Database,
    store: ObjectStore,
    touched: set[str],
    saved: str | None,
    key: str,
    *,
    unmark: bool,
) -> None:
    try:
        await _empty(db, touched)
        if saved is not None:
            old = await verify(store, saved)
            await _load(db, store, saved, old, lambda done, total: None)
        if unmark:
            await _unmark(db)
    except (DatabaseError, BackupError, StorageError) as exc:
        where = f"; the records it replaced are in {saved!r}" if saved else ""
        raise BackupError(
            f"restoring {key!r} failed and so did putting the database back: {exc}. "
            f"It holds part of the backup{where}; restore again with --force"
        ) from exc
