"""Whole-database backups as one object on the storage port, and restores from them.

Every table ``INFO FOR DB`` lists is exported, so tables added by later
migrations are included without changes here. The object is gzip'd frames:
a 4-byte length, then a msgpack ``Frame`` (header, batches of rows, end).
Rows inside a batch are encoded with the SurrealDB SDK's own CBOR, which keeps
every SurrealDB type (record ids, datetimes, durations, decimals) as it was.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
from surrealdb.data import cbor

from standalone.db.connection import Database, DatabaseError
from standalone.db.migrations import LATEST, migrate, schema_version
from storage.ports import ObjectStore, StorageError

FORMAT = 1
CONTENT_TYPE = "application/vnd.tickets.backup+gzip"
BATCH_ROWS = 500
# Far above any batch of BATCH_ROWS rows; a larger length means a damaged object.
MAX_FRAME = 256 * 1024 * 1024
_GZIP = 31  # zlib's wbits for the gzip container
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# The migrations own this table; a restore sets it by migrating instead.
_SKIPPED = {"schema_version"}

Progress = Callable[[int, int], None]
"""Called with (records done, records in all) as a backup or restore moves on."""


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why."""


class TableInfo(msgspec.Struct, frozen=True):
    records: int
    relation: bool = False


class Header(msgspec.Struct, frozen=True, tag="header"):
    format: int
    schema_version: int
    created_at: datetime
    tables: dict[str, TableInfo]

    @property
    def records(self) -> int:
        return sum(table.records for table in self.tables.values())


class Batch(msgspec.Struct, frozen=True, tag="batch"):
    table: str
    rows: bytes  # SurrealDB CBOR of a list of records


class End(msgspec.Struct, frozen=True, tag="end"):
    records: int


Frame = Header | Batch | End
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)


def _check_table(name: str) -> str:
    # Table names are put into statements (INSERT cannot take a parameter there).
    if not _TABLE.fullmatch(name):
        raise BackupError(f"table name {name!r} is not a plain identifier; cannot back it up")
    return name


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
        tables[_check_table(name)] = "TYPE RELATION" in text
    return tables


async def snapshot(db: Database) -> tuple[Header, dict[str, list[dict[str, Any]]]]:
    """Every record of every table, read in one transaction so they agree with each other.

    The embedded engine has no client-side transactions, so the whole read is
    one ``BEGIN … COMMIT`` query and its answer is held in memory.
    """
    tables = await _tables(db)
    names = list(tables)
    # Only parameter names are formatted in; the table names travel as parameters.
    selects = "".join(f"SELECT * FROM type::table($t{i});" for i in range(len(names)))  # noqa: S608
    sql = "BEGIN TRANSACTION; SELECT VALUE version FROM schema_version:current;"
    results = await db.run(
        sql + selects + "COMMIT TRANSACTION;",
        {f"t{i}": name for i, name in enumerate(names)},
    )
    version = int(results[0][0]) if results and results[0] else 0
    rows = {name: list(results[i + 1] or []) for i, name in enumerate(names)}
    header = Header(
        format=FORMAT,
        schema_version=version,
        created_at=datetime.now(UTC),
        tables={name: TableInfo(len(rows[name]), tables[name]) for name in names},
    )
    return header, rows


def _frames(header: Header, rows: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[Frame, int]]:
    """Each frame with the number of records in it."""
    yield header, 0
    for table, records in rows.items():
        for start in range(0, len(records), BATCH_ROWS):
            batch = records[start : start + BATCH_ROWS]
            yield Batch(table, cbor.encode(batch)), len(batch)
    yield End(header.records), 0


async def _gzip(
    frames: Iterator[tuple[Frame, int]], progress: Progress, total: int
) -> AsyncIterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP)
    done = 0
    for frame, records in frames:
        body = _encoder.encode(frame)
        if out := compressor.compress(len(body).to_bytes(4, "big") + body):
            yield out
        if records:
            # The store asked for more, so what came before is on its way.
            done += records
            progress(done, total)
    yield compressor.flush()


async def backup(
    db: Database, store: ObjectStore, key: str, *, progress: Progress | None = None
) -> Header:
    """Write a consistent export of the whole database to ``key``; returns its header."""
    header, rows = await snapshot(db)
    report = progress or (lambda done, total: None)
    report(0, header.records)
    try:
        await store.put(
            key,
            _gzip(_frames(header, rows), report, header.records),
            content_type=CONTENT_TYPE,
            metadata={
                "schema-version": str(header.schema_version),
                "records": str(header.records),
            },
        )
    except StorageError as exc:
        raise BackupError(f"could not write the backup to {store.locate(key)}: {exc}") from exc
    return header


async def _read_frames(store: ObjectStore, key: str) -> AsyncIterator[Frame]:
    decompressor = zlib.decompressobj(_GZIP)
    buffer = bytearray()
    try:
        async for chunk in store.stream(key):
            buffer += decompressor.decompress(chunk)
            while len(buffer) >= 4:
                size = int.from_bytes(buffer[:4], "big")
                if size > MAX_FRAME:
                    raise BackupError(f"{key!r} is damaged (a frame claims {size} bytes)")
                if len(buffer) < 4 + size:
                    break
                yield _decoder.decode(bytes(buffer[4 : 4 + size]))
                del buffer[: 4 + size]
    except zlib.error as exc:
        raise BackupError(f"{key!r} is not a backup or is damaged: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BackupError(f"{key!r} is damaged: {exc}") from None
    except StorageError as exc:
        raise BackupError(f"could not read the backup {key!r}: {exc}") from exc
    if not decompressor.eof or buffer:
        raise BackupError(f"{key!r} is cut short: it ends in the middle of the backup")


def _rows(batch: Batch, key: str) -> list[dict[str, Any]]:
    try:
        rows = cbor.decode(batch.rows)
    except Exception as exc:
        raise BackupError(f"{key!r} is damaged: rows of {batch.table!r}: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BackupError(f"{key!r} is damaged: rows of {batch.table!r} are not records")
    return rows


async def _checked_frames(store: ObjectStore, key: str) -> AsyncIterator[Frame]:
    """The backup's frames, each checked against the header before it is yielded.

    The last check (the record counts) comes after the last batch, so a reader
    that acts on batches must undo them when this raises.
    """
    header: Header | None = None
    seen: dict[str, int] = {}
    ended = False
    async for frame in _read_frames(store, key):
        if header is None:
            if not isinstance(frame, Header):
                raise BackupError(f"{key!r} does not start with a backup header")
            if frame.format != FORMAT:
                raise BackupError(f"{key!r} is backup format {frame.format}; this is {FORMAT}")
            # Every name goes into statements, the clean-up after a failure included.
            for name in frame.tables:
                _check_table(name)
            header = frame
        elif ended or isinstance(frame, Header):
            raise BackupError(f"{key!r} is damaged: data after its end")
        elif isinstance(frame, Batch):
            if frame.table not in header.tables:
                raise BackupError(f"{key!r} is damaged: rows of an unlisted table")
            seen[frame.table] = seen.get(frame.table, 0) + len(_rows(frame, key))
        else:
            ended = True
            expected = {name: t.records for name, t in header.tables.items() if t.records}
            if frame.records != header.records or seen != expected:
                raise BackupError(f"{key!r} is damaged: its record counts do not add up")
        yield frame
    if header is None or not ended:
        raise BackupError(f"{key!r} is cut short: it ends in the middle of the backup")


async def verify(store: ObjectStore, key: str) -> Header:
    """Read the whole backup and check it is complete; returns its header."""
    header: Header | None = None
    async for frame in _checked_frames(store, key):
        if isinstance(frame, Header):
            header = frame
    assert header is not None  # _checked_frames raises for a backup without one
    return header


async def _record_counts(db: Database) -> dict[str, int]:
    tables = list(await _tables(db))
    count = "RETURN count(SELECT id FROM type::table($t{}));"
    counts = "".join(count.format(i) for i in range(len(tables)))
    if not tables:
        return {}
    results = await db.run(counts, {f"t{i}": name for i, name in enumerate(tables)})
    return {name: int(n or 0) for name, n in zip(tables, results, strict=True)}


async def restore(
    db: Database,
    store: ObjectStore,
    key: str,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Header:
    """Load the backup at ``key`` into ``db``, which must be empty unless ``force``.

    The backup is checked end to end before anything is written. Records go in
    at the backup's schema version, then the newer migrations run over them,
    so a backup from an older release restores into a newer one.

    The old records are deleted and the backup's inserted in one transaction,
    so when loading fails (or is interrupted) every record stays as it was,
    a forced restore's old ones included. Like ``snapshot``, this holds every
    row in memory and sends them in one query: the embedded engine has no
    client-side transactions.
    """
    header = await verify(store, key)
    if header.schema_version > LATEST:
        raise BackupError(
            f"the backup is at schema version {header.schema_version}, newer than this "
            f"release ({LATEST}); restore it with the release that made it or a later one"
        )
    await migrate(db, up_to=0)  # only makes sure the version table exists
    current = await schema_version(db)
    filled = {name: n for name, n in (await _record_counts(db)).items() if n}
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
    # Outside the transaction: migrations are made to run over live records,
    # so a failed restore leaves the old records at most migrated, never lost.
    await migrate(db, up_to=header.schema_version)
    report = progress or (lambda done, total: None)
    report(0, header.records)
    # The backup's tables are emptied too: a record written since the count
    # above must not clash with a restored one.
    statements = [f"DELETE {_check_table(name)};" for name in sorted({*filled, *header.tables})]
    batches: dict[str, list[dict[str, Any]]] = {}
    done = 0
    try:
        # Checked again while reading: the object may have been replaced since.
        async for frame in _checked_frames(store, key):
            if isinstance(frame, Header) and frame != header:
                raise BackupError(f"{key!r} was replaced while it was being restored")
            if not isinstance(frame, Batch):
                continue
            relation = header.tables[frame.table].relation
            insert = "INSERT RELATION INTO" if relation else "INSERT INTO"
            name = f"rows{len(batches)}"
            batches[name] = _rows(frame, key)
            statements.append(f"{insert} {_check_table(frame.table)} ${name};")
            done += len(batches[name])
            if done < header.records:
                report(done, header.records)  # the last step is the commit below
        await db.run("BEGIN TRANSACTION;" + "".join(statements) + "COMMIT TRANSACTION;", batches)
    except (DatabaseError, BackupError) as exc:
        raise BackupError(f"restoring {key!r} failed, no record was changed: {exc}") from exc
    report(header.records, header.records)
    await migrate(db)
    return header
