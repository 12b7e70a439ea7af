"""A backup restores into an empty database record for record; bad backups change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from surrealdb import RecordID

from standalone.crypto import Cipher
from standalone.db import Database, open_database
from standalone.db.backup import BATCH_ROWS, BackupError, Header, TableInfo, backup, restore
from standalone.db.backup_format import FORMAT, End, Frame, batch, compress
from standalone.db.connection import interrupted_restore
from standalone.db.migrations import LATEST
from standalone.db.tenants import TenantRepository
from standalone.db.tickets import TicketRepository
from storage import FileStore


def encoded(
    rows: dict[str, list[dict[str, Any]]], *, header: Header | None = None, fmt: int = FORMAT
) -> AsyncIterator[bytes]:
    """A backup object of ``rows`` (counted in the end frame, or in format 1 the header)."""
    header = header or _tables_of(rows, fmt)

    async def frames() -> AsyncIterator[Frame]:
        yield header
        for table, records in rows.items():
            for start in range(0, len(records), BATCH_ROWS):
                yield batch(table, records[start : start + BATCH_ROWS])
        counts = {table: len(records) for table, records in rows.items() if records}
        yield End(sum(counts.values()), counts if fmt >= 2 else None)

    return compress(frames())


async def populate(db: Database) -> None:
    """Rows of every table, written through the bot's own repositories."""
    tenants = TenantRepository(db, Cipher(Fernet.generate_key()))
    started = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    for name in ("alpha", "beta"):
        await tenants.add(name, f"token-of-{name}", "1234")
        repo = TicketRepository(db, name)
        cat = await repo.save_category("100", "Support", "9", ["5", "6"], interaction_id="i-cat")
        await repo.save_category("100", "Billing", None, [])
        for n in range(3):
            ticket = await repo.create("100", cat.key, f"7{n}", f"i{n}", "encrypted topic")
            await repo.mark_open("100", ticket.number, f"555{n}", f"666{n}")
            for m in range(4):
                await repo.archive_message(
                    ticket,
                    message_id=f"{name}-{n}-{m}",
                    author_id="7",
                    author_name="Member ✓",
                    author_bot=m % 2 == 1,
                    content=f"message {m} — ünïcode",
                    created_at=started + timedelta(seconds=m),
                )
        closing = await repo.mark_closing(ticket, "8", "done")
        await repo.mark_closed(closing, f"{name}/transcripts/1.html")
    await db.run(
        "CREATE feedback CONTENT {tenant: 'alpha', ticket: type::thing('ticket', "
        "['alpha', '100', 1]), guild_id: '100', user_id: '7', rating: 5, comment: 'great'};"
    )


async def every_record(db: Database) -> dict[str, list[Any]]:
    info = await db.one("INFO FOR DB;")
    dump: dict[str, list[Any]] = {}
    for table in sorted(info["tables"]):
        rows = await db.one("SELECT * FROM type::table($t);", {"t": table})
        dump[table] = sorted(rows, key=lambda row: str(row["id"]))
    return dump


@pytest.fixture
async def source(tmp_path: Path) -> Any:
    db = await open_database(f"surrealkv://{tmp_path / 'source'}")
    await populate(db)
    yield db
    await db.close()


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "objects")


async def fresh(tmp_path: Path, name: str = "target") -> Database:
    # Not migrated: restore brings it to the backup's version itself.
    return await open_database(f"surrealkv://{tmp_path / name}", migrate_schema=False)


async def test_round_trip_restores_every_record(tmp_path: Path, source: Database, store: FileStore):
    seen: list[tuple[int, int]] = []
    header = await backup(source, store, "_backups/one", progress=lambda *p: seen.append(p))
    expected = await every_record(source)
    assert header.schema_version == LATEST
    assert header.records == sum(len(v) for k, v in expected.items() if k != "schema_version")
    assert {k for k, t in header.tables.items() if t.records} == {
        "archived_message",
        "category",
        "feedback",
        "guild",
        "tenant",
        "ticket",
    }
    assert seen[0] == (0, header.records) and seen[-1] == (header.records, header.records)
    info = await store.head("_backups/one")
    assert info.metadata == {"schema-version": str(LATEST), "records": str(header.records)}

    target = await fresh(tmp_path)
    try:
        progress: list[tuple[int, int]] = []
        await restore(target, store, "_backups/one", progress=lambda *p: progress.append(p))
        assert progress[-1] == (header.records, header.records)
        assert await every_record(target) == expected
        # The restored records are usable through the repositories, not just equal.
        repo = TicketRepository(target, "alpha")
        assert [t.number for t in await repo.tickets("100")] == [1, 2, 3]
        assert (
            await repo.create("100", expected["category"][0]["id"].id, "7", "new", None)
        ).number == 4
    finally:
        await target.close()


async def test_many_rows_span_several_batches(tmp_path: Path, store: FileStore) -> None:
    db = await open_database("mem://")
    try:
        rows = [
            {"tenant": "t", "name": f"n{i}", "application_id": "1", "token": "x"}
            for i in range(BATCH_ROWS * 2 + 7)
        ]
        await db.run("INSERT INTO tenant $rows;", {"rows": rows})
        header = await backup(db, store, "b")
        assert header.tables["tenant"].records == len(rows)
        target = await open_database("mem://", migrate_schema=False)
        try:
            await restore(target, store, "b")
            assert await every_record(target) == await every_record(db)
        finally:
            await target.close()
    finally:
        await db.close()


async def test_a_non_empty_database_is_refused_unless_forced(
    tmp_path: Path, source: Database, store: FileStore
) -> None:
    await backup(source, store, "b")
    target = await open_database(f"surrealkv://{tmp_path / 't'}")
    try:
        await TenantRepository(target, Cipher(Fernet.generate_key())).add("other", "tok", "1")
        with pytest.raises(BackupError, match=r"not empty: tenant \(1\); pass --force"):
            await restore(target, store, "b")
        assert [r["name"] for r in await target.one("SELECT name FROM tenant;")] == ["other"]
        await restore(target, store, "b", force=True)
        assert await every_record(target) == await every_record(source)
    finally:
        await target.close()


async def test_a_backup_from_a_newer_release_is_refused(tmp_path: Path, store: FileStore) -> None:
    db = await open_database("mem://")
    await db.run("UPSERT schema_version:current SET version = $v;", {"v": LATEST + 1})
    await backup(db, store, "future")
    await db.close()
    target = await fresh(tmp_path)
    try:
        with pytest.raises(BackupError, match=f"schema version {LATEST + 1}, newer than"):
            await restore(target, store, "future")
    finally:
        await target.close()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
async def test_damaged_backups_are_refused_before_anything_is_written(
    tmp_path: Path, source: Database, store: FileStore, damage: str
) -> None:
    await backup(source, store, "good")
    data = await store.get("good")
    bad = {"truncated": data[: len(data) // 2], "garbage": b"\x1f\x8b" + b"x" * 100, "empty": b""}
    await store.put("bad", bad[damage])
    target = await fresh(tmp_path)
    try:
        with pytest.raises(BackupError, match=r"cut short|damaged|not a backup"):
            await restore(target, store, "bad")
        records = await every_record(target)
        assert all(rows == [] for table, rows in records.items() if table != "schema_version")
    finally:
        await target.close()
    empty = await open_database("mem://")
    try:
        with pytest.raises(BackupError, match="could not read the backup 'missing'"):
            await restore(empty, store, "missing")
    finally:
        await empty.close()


async def test_a_failing_insert_leaves_no_half_restore(tmp_path: Path, store: FileStore) -> None:
    # A well-formed backup whose second table breaks the schema (state is not allowed).
    tenant = {"name": "a", "application_id": "1", "token": "x", "created_at": datetime.now(UTC)}
    ticket = {"tenant": "a", "guild_id": "1", "number": 1, "state": "bogus"}
    rows = {"tenant": [tenant], "ticket": [ticket]}
    await store.put("broken", encoded(rows))
    target = await fresh(tmp_path)
    try:
        with pytest.raises(BackupError, match="no record was changed"):
            await restore(target, store, "broken")
        assert await target.one("SELECT * FROM tenant;") == []
        assert await target.one("SELECT * FROM ticket;") == []
    finally:
        await target.close()


async def test_a_failing_forced_restore_keeps_the_old_records(
    tmp_path: Path, source: Database, store: FileStore
) -> None:
    # The second table of this backup breaks the schema; the first loads fine.
    tenant = {"name": "a", "application_id": "1", "token": "x", "created_at": datetime.now(UTC)}
    ticket = {"tenant": "a", "guild_id": "1", "number": 1, "state": "bogus"}
    rows = {"tenant": [tenant], "ticket": [ticket]}
    await store.put("broken", encoded(rows))
    before = await every_record(source)
    with pytest.raises(BackupError, match="no record was changed"):
        await restore(source, store, "broken", force=True)
    assert await every_record(source) == before
    # Deleting and inserting the same record ids in one transaction is fine.
    await backup(source, store, "good")
    await restore(source, store, "good", force=True)
    assert await every_record(source) == before


def _tables_of(rows: dict[str, list[dict[str, Any]]], fmt: int = FORMAT) -> Header:
    return Header(
        format=fmt,
        schema_version=LATEST,
        created_at=datetime.now(UTC),
        tables={name: TableInfo(len(records)) for name, records in rows.items()},
    )


async def _assert_empty(db: Database) -> None:
    records = await every_record(db)
    assert all(rows == [] for table, rows in records.items() if table != "schema_version")


async def test_a_table_name_that_is_no_identifier_is_refused_before_anything_is_written(
    tmp_path: Path, store: FileStore
) -> None:
    tenant = {"name": "a", "application_id": "1", "token": "x", "created_at": datetime.now(UTC)}
    rows = {"tenant": [tenant], "x; REMOVE TABLE tenant": [{"v": 1}]}
    await store.put("odd", encoded(rows))
    target = await fresh(tmp_path)
    try:
        with pytest.raises(BackupError, match="not a plain identifier"):
            await restore(target, store, "odd")
        await _assert_empty(target)
    finally:
        await target.close()


class SwappedStore(FileStore):
    """Serves ``key`` for the first read and ``other`` for every later one.

    What a backup replaced between restore's check and its load looks like.
    """

    def __init__(self, root: Path, key: str, other: str) -> None:
        super().__init__(root)
        self.swap, self.other, self.reads = key, other, 0

    def stream(self, key: str, **options: Any) -> Any:
        if key == self.swap:
            self.reads += 1
            if self.reads > 1:
                key = self.other
        return super().stream(key, **options)


async def test_a_backup_replaced_after_its_check_is_not_half_restored(
    tmp_path: Path, source: Database
) -> None:
    store = SwappedStore(tmp_path / "objects", "good", "other")
    await backup(source, store, "good")
    tenant = {"name": "z", "application_id": "1", "token": "x", "created_at": datetime.now(UTC)}
    rows = {"tenant": [tenant], "unlisted": [{"v": 1}]}
    await store.put("other", encoded(rows, header=_tables_of({"tenant": [tenant]})))
    target = await fresh(tmp_path)
    try:
        with pytest.raises(BackupError, match="no record was changed"):
            await restore(target, store, "good")
        assert store.reads == 2
        await _assert_empty(target)
    finally:
        await target.close()


async def test_an_interrupted_restore_keeps_nothing(
    tmp_path: Path, source: Database, store: FileStore
) -> None:
    # Ctrl-C lands wherever the restore is; here in the progress bar after one batch.
    await backup(source, store, "b")
    target = await fresh(tmp_path)

    def interrupt(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            await restore(target, store, "b", progress=interrupt)
        await _assert_empty(target)
    finally:
        await target.close()


@pytest.mark.parametrize("reserved", ["schema_version", "restore_state"])
async def test_a_backup_listing_a_table_the_restore_owns_is_refused(
    tmp_path: Path, store: FileStore, reserved: str
) -> None:
    # Loaded, schema_version:current would say version 1 and the migrations would
    # run again over the restored schema; restore_state would be emptied, and with
    # it the marker that flags a restore killed half-way.
    tenant = {"name": "a", "application_id": "1", "token": "x", "created_at": datetime.now(UTC)}
    own = {"id": RecordID(reserved, "current"), "version": 1, "key": "k"}
    await store.put("odd", encoded({"tenant": [tenant], reserved: [own]}))
    target = await fresh(tmp_path)
    try:
        with pytest.raises(BackupError, match=rf"lists {reserved}, which a restore sets itself"):
            await restore(target, store, "odd")
        await _assert_empty(target)
        assert await interrupted_restore(target) is None
    finally:
        await target.close()
