"""Backups and restores stream in bounded memory, say what consistency they give, and
a failed restore (a damaged object, a killed process) never passes for a finished one."""

from __future__ import annotations

import asyncio
import errno
import os
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import storage.file
from standalone.db import Database, DatabaseError, open_database
from standalone.db.backup import BATCH_ROWS, BackupError, backup, restore
from standalone.db.backup_format import (
    BATCH_BYTES,
    MAX_FRAME,
    Batch,
    End,
    Frame,
    compress,
    read_frames,
)
from standalone.db.connection import RESTORE_MARKER, interrupted_restore
from storage import FileStore
from storage.ports import DEFAULT_CONTENT_TYPE, Data
from storage.requests import MIN_PART_SIZE
from storage.s3 import S3Store
from tests.standalone.db.test_backup import encoded, every_record, fresh
from tests.storage import conftest as s3_fixtures
from tests.storage.conftest import KEY_ID, REGION, SECRET, new_bucket, s3_store

s3_endpoint = s3_fixtures.s3_endpoint  # the moto server on loopback

PAD = "p" * 2000  # per record, so the rows outweigh everything else in memory
ROWS = BATCH_ROWS * 12


async def _fill(db: Database, count: int = ROWS, *, random: bool = False) -> None:
    for start in range(0, count, BATCH_ROWS):
        rows = [
            {
                "name": f"n{i:06}",
                "application_id": "1",
                "token": os.urandom(1000).hex() if random else PAD,
            }
            for i in range(start, min(start + BATCH_ROWS, count))
        ]
        await db.run("INSERT INTO tenant $rows;", {"rows": rows})


async def _peak(action: Awaitable[Any]) -> int:
    tracemalloc.start()
    try:
        await action
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_backup_and_restore_hold_one_batch_not_the_database(tmp_path: Path) -> None:
    # The database is about 30 MB of rows, a batch about 1 MB. Holding every
    # row, as the first release did, traced 74 MB (backup) and 148 MB (restore)
    # here; a batch at a time traces about 7 and 10 MB, whatever the size.
    store = FileStore(tmp_path / "objects")
    db = await open_database("mem://")
    target = await fresh(tmp_path)
    try:
        await _fill(db, BATCH_ROWS * 30)
        data = BATCH_ROWS * 30 * len(PAD)
        assert await _peak(backup(db, store, "big")) < data / 2
        assert await _peak(restore(target, store, "big")) < data / 2
        assert await every_record(target) == await every_record(db)
    finally:
        await db.close()
        await target.close()


class WritesMeanwhile(FileStore):
    """Runs ``write`` once the backup's first batch has gone to the store."""

    def __init__(self, root: Path, write: Callable[[], Awaitable[None]]) -> None:
        super().__init__(root)
        self.write = write

    async def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        assert not isinstance(data, bytes | bytearray | memoryview)
        source = aiter(data)

        async def interleaved() -> AsyncIterator[bytes]:
            # The header, then the first batch (one chunk each at most)...
            yield await anext(source)
            first = await anext(source)
            await self.write()
            yield first
            async for chunk in source:
                yield chunk

        await super().put(key, interleaved(), content_type=content_type, metadata=metadata)


async def _writes(db: Database) -> None:
    # One record of the first batch (already read), some of later ones, a new one.
    await db.run(
        "UPDATE tenant SET application_id = 'changed' WHERE name IN ['n000000', 'n004000'];"
        "DELETE tenant WHERE name = 'n005000';"
        "CREATE tenant CONTENT {name: 'late', application_id: '1', token: 'x'};"
    )


async def test_a_versioned_database_backs_up_as_of_one_moment(tmp_path: Path) -> None:
    db = await open_database(f"surrealkv+versioned://{tmp_path / 'db'}")
    target = await fresh(tmp_path)
    try:
        await _fill(db)
        before = await every_record(db)
        store = WritesMeanwhile(tmp_path / "objects", lambda: _writes(db))
        header = await backup(db, store, "b")
        assert header.consistency == "point-in-time"
        assert header.tables["tenant"].records == ROWS
        assert (await every_record(db))["tenant"] != before["tenant"]  # the writes happened
        await restore(target, store, "b")
        assert await every_record(target) == before
    finally:
        await db.close()
        await target.close()


async def test_without_versions_each_record_is_in_the_backup_once_as_it_was_at_one_moment(
    tmp_path: Path,
) -> None:
    db = await open_database("mem://")
    target = await fresh(tmp_path)
    try:
        await _fill(db)
        before = {str(row["id"]): row for row in (await every_record(db))["tenant"]}
        store = WritesMeanwhile(tmp_path / "objects", lambda: _writes(db))
        header = await backup(db, store, "b")
        assert header.consistency == "per-record"
        after = {str(row["id"]): row for row in (await every_record(db))["tenant"]}
        await restore(target, store, "b")
        restored = (await every_record(target))["tenant"]
        ids = [str(row["id"]) for row in restored]
        assert len(ids) == len(set(ids)) == header.tables["tenant"].records
        for row in restored:
            assert row in (before.get(str(row["id"])), after.get(str(row["id"])))
        untouched = {i for i in before.keys() & after.keys() if before[i] == after[i]}
        assert untouched <= set(ids)
    finally:
        await db.close()
        await target.close()


class FailingDatabase(Database):
    """Answers until ``failing`` is set, then fails every statement, as a broken disk would."""

    failing = False

    async def run(self, sql: str, variables: Mapping[str, Any] | None = None) -> list[Any]:
        if self.failing:
            raise DatabaseError("I/O error: the disk is gone")
        return await super().run(sql, variables)


async def test_a_database_error_mid_backup_leaves_no_object(tmp_path: Path) -> None:
    opened = await open_database("mem://")
    db = FailingDatabase(opened._client)  # the same engine, with faults
    try:
        await _fill(db, BATCH_ROWS * 3)

        async def fail() -> None:
            db.failing = True

        store = WritesMeanwhile(tmp_path / "objects", fail)
        with pytest.raises(BackupError, match="could not read the database, nothing was written"):
            await backup(db, store, "b")
        assert await store.list() == []
    finally:
        await opened.close()


async def test_a_full_disk_mid_backup_leaves_no_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await open_database("mem://")
    store = FileStore(tmp_path / "objects")
    real_write = storage.file._write_chunk
    written = [0]

    async def filling_disk(handle: object, chunk: bytes) -> None:
        if written[0] + len(chunk) > 64 * 1024:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written[0] += len(chunk)
        await real_write(handle, chunk)

    try:
        await _fill(db, BATCH_ROWS * 4, random=True)  # incompressible
        monkeypatch.setattr(storage.file, "_write_chunk", filling_disk)
        with pytest.raises(BackupError, match=r"could not write the backup.*No space left"):
            await backup(db, store, "_backups/b")
        assert written[0] > 0
        assert await store.list() == []
    finally:
        await db.close()


@pytest.mark.parametrize("damage", ["flipped", "no end", "cut at the end"])
async def test_a_damaged_backup_leaves_a_forced_restore_target_as_it_was(
    tmp_path: Path, damage: str
) -> None:
    store = FileStore(tmp_path / "objects")
    source = await open_database("mem://")
    target = await open_database(f"surrealkv://{tmp_path / 'target'}")
    try:
        await _fill(source, BATCH_ROWS * 3)
        await backup(source, store, "good")
        await _fill(target, 10)
        before = await every_record(target)
        data = bytearray(await store.get("good"))
        if damage == "flipped":
            data[len(data) // 2] ^= 0xFF
        elif damage == "no end":
            # Well-formed gzip whose frames stop after the batches.
            data = bytearray()
            async for chunk in compress(_without_end(store, "good")):
                data += chunk
        else:
            data = data[:-3]
        await store.put("bad", bytes(data))
        with pytest.raises(BackupError, match=r"damaged|cut short|not a backup"):
            await restore(target, store, "bad", force=True)
        assert await every_record(target) == before
        assert await interrupted_restore(target) is None
        assert await store.list() == ["bad", "good"]  # nothing written before the check
    finally:
        await source.close()
        await target.close()


async def _without_end(store: FileStore, key: str) -> AsyncIterator[Frame]:
    async for frame in read_frames(store, key):
        if not isinstance(frame, End):
            yield frame


class PausesMidLoad(FileStore):
    """The second read of ``key`` (restore's load) stops after its first chunk."""

    def __init__(self, root: Path, key: str) -> None:
        super().__init__(root)
        self.key, self.reads = key, 0
        self.paused, self.go = asyncio.Event(), asyncio.Event()

    async def stream(self, key: str, **options: Any) -> AsyncIterator[bytes]:  # type: ignore[override]
        if key == self.key:
            self.reads += 1
        pause = key == self.key and self.reads == 2
        async for chunk in super().stream(key, chunk_size=64 * 1024):
            yield chunk
            if pause:
                pause = False
                self.paused.set()
                await self.go.wait()


async def test_a_restore_marks_the_database_until_done_and_a_killed_one_stays_refused(
    tmp_path: Path,
) -> None:
    store = PausesMidLoad(tmp_path / "objects", "b")
    source = await open_database("mem://")
    path = f"surrealkv://{tmp_path / 'target'}"
    target = await open_database(path, migrate_schema=False)
    try:
        await _fill(source, BATCH_ROWS * 4)
        await backup(source, store, "b")
        running = asyncio.ensure_future(restore(target, store, "b"))
        await store.paused.wait()
        # Mid-load, what a process killed here would leave behind:
        assert await interrupted_restore(target) == "b"
        store.go.set()
        await running
        assert await interrupted_restore(target) is None
        assert await every_record(target) == await every_record(source)

        # A killed restore had no chance to undo: the marker stays.
        await target.run("UPSERT $m SET key = 'b';", {"m": RESTORE_MARKER})
        await target.close()
        with pytest.raises(DatabaseError, match=r"restore of 'b' was interrupted.*--force"):
            await open_database(path)
        target = await open_database(path, migrate_schema=False)
        with pytest.raises(BackupError, match=r"restore of 'b' was interrupted.*--force"):
            await restore(target, store, "b")
        await restore(target, store, "b", force=True)
        assert await every_record(target) == await every_record(source)
        await target.close()
        target = await open_database(path)  # serves again
    finally:
        await source.close()
        await target.close()


async def test_a_forced_restore_keeps_what_it_replaced(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "objects")
    source = await open_database("mem://")
    target = await open_database("mem://")
    try:
        await _fill(source, 5)
        await _fill(target, 3)
        before = await every_record(target)
        await backup(source, store, "_backups/b")
        await restore(target, store, "_backups/b", force=True)
        keys = await store.list("_backups/")
        assert keys[0] == "_backups/b" and keys[1].startswith("_backups/b.replaced-")
        check = await open_database("mem://", migrate_schema=False)
        try:
            await restore(check, store, keys[1])
            assert await every_record(check) == before
        finally:
            await check.close()
    finally:
        await source.close()
        await target.close()


async def test_a_format_1_backup_still_restores(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "objects")
    rows = {"tenant": [{"name": "x", "application_id": "1", "token": "t"}]}
    await store.put("old", encoded(rows, fmt=1))
    target = await fresh(tmp_path)
    try:
        header = await restore(target, store, "old")
        assert header.records == 1
        assert [r["name"] for r in await target.one("SELECT name FROM tenant;")] == ["x"]
    finally:
        await target.close()


class AbortedMidUpload(S3Store):
    """Once a part of the backup is up, another party aborts the upload."""

    async def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        assert not isinstance(data, bytes | bytearray | memoryview)
        s3 = await self._s3()

        async def aborting() -> AsyncIterator[bytes]:
            sent = 0
            async for chunk in data:
                yield chunk
                sent += len(chunk)
                uploads = (await s3.list_multipart_uploads(Bucket=self.bucket)).get("Uploads")
                if sent > self.part_size and uploads:
                    for upload in uploads:
                        await s3.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )

        await super().put(key, aborting(), content_type=content_type, metadata=metadata)


async def test_a_backup_to_s3_goes_up_in_parts_and_restores(
    tmp_path: Path, s3_endpoint: str
) -> None:
    store = s3_store(s3_endpoint, new_bucket())
    await store.create_bucket()
    db = await open_database("mem://")
    target = await fresh(tmp_path)
    try:
        await _fill(db, BATCH_ROWS * 12, random=True)  # about 6.5 MB gzip'd: two parts
        await backup(db, store, "_backups/b")
        assert (await store.head("_backups/b")).checksum.endswith("-2")  # multipart's ETag
        await restore(target, store, "_backups/b")
        assert await every_record(target) == await every_record(db)
    finally:
        await db.close()
        await target.close()
        await store.close()


async def test_an_s3_error_mid_backup_leaves_no_object(tmp_path: Path, s3_endpoint: str) -> None:
    store = AbortedMidUpload(
        new_bucket(),
        endpoint=s3_endpoint,
        region=REGION,
        path_style=True,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        part_size=MIN_PART_SIZE,
    )
    await store.create_bucket()
    db = await open_database("mem://")
    try:
        await _fill(db, BATCH_ROWS * 12, random=True)
        with pytest.raises(
            BackupError, match=r"could not write the backup to s3://.*could not upload a part"
        ):
            await backup(db, store, "_backups/b")
        assert await store.list() == []
        s3 = await store._s3()
        assert (await s3.list_multipart_uploads(Bucket=store.bucket)).get("Uploads", []) == []
    finally:
        await db.close()
        await store.close()


async def test_a_frame_far_larger_than_its_compressed_bytes_is_read_whole(tmp_path: Path) -> None:
    # 24 MiB of zeros gzip to a few KB: inflated a step at a time, all of it
    # must still come out, to the last byte of the last frame.
    store = FileStore(tmp_path / "objects")
    big = Batch("tenant", bytes(24 << 20))

    async def frames() -> AsyncIterator[Frame]:
        yield big
        yield End(0, {})

    await store.put("zeros", compress(frames()))
    assert (await store.head("zeros")).size < 100_000
    assert [frame async for frame in read_frames(store, "zeros")] == [big, End(0, {})]


async def test_a_failed_retry_of_a_killed_restore_leaves_the_database_marked(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path / "objects")
    tenant = {"name": "a", "application_id": "1", "token": "x"}
    ticket = {"tenant": "a", "guild_id": "1", "number": 1, "state": "bogus"}
    await store.put("broken", encoded({"tenant": [tenant], "ticket": [ticket]}))
    target = await fresh(tmp_path)
    try:
        await target.run("UPSERT $m SET key = 'earlier';", {"m": RESTORE_MARKER})
        with pytest.raises(BackupError, match="still marked as half-restored"):
            await restore(target, store, "broken", force=True)
        assert await interrupted_restore(target) == "earlier"
    finally:
        await target.close()


def _claiming(size: int) -> bytes:
    """A gzip object whose one frame claims ``size`` bytes and has them, all zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(size.to_bytes(4, "big"))]
    zeros = bytes(1 << 20)
    parts += [packer.compress(zeros) for _ in range(size >> 20)]
    return b"".join([*parts, packer.flush()])


async def test_a_small_object_cannot_make_a_restore_hold_much_memory(tmp_path: Path) -> None:
    # 100 MiB of zeros gzip to 100 KB. The first release read up to 256 MiB of
    # them into one frame and copied it twice before it could tell: 793 MiB
    # traced for a 255 KB object.
    store = FileStore(tmp_path / "objects")
    await store.put("claims-more", _claiming(100 << 20))
    await store.put("claims-most", _claiming(MAX_FRAME))
    assert (await store.head("claims-more")).size < 200_000

    async def read(key: str) -> None:
        with pytest.raises(BackupError, match="is damaged"):
            async for _ in read_frames(store, key):
                pass

    assert await _peak(read("claims-more")) < 16 << 20  # refused by its length
    assert await _peak(read("claims-most")) < MAX_FRAME * 3 // 2  # decoded in place


async def test_a_page_of_large_records_is_split_into_frames_a_reader_takes(
    tmp_path: Path,
) -> None:
    # 500 records of 40 KB are 20 MB in one page; a frame stays under BATCH_BYTES
    # so a reader's limit on frames (MAX_FRAME) never refuses a real backup.
    store = FileStore(tmp_path / "objects")
    db = await open_database("mem://")
    target = await fresh(tmp_path)
    try:
        rows = [
            {"name": f"n{i:04}", "application_id": "1", "token": "t" * 40_000}
            for i in range(BATCH_ROWS)
        ]
        await db.run("INSERT INTO tenant $rows;", {"rows": rows})
        await backup(db, store, "large")
        sizes = [
            len(frame.rows)
            async for frame in read_frames(store, "large")
            if isinstance(frame, Batch)
        ]
        assert len(sizes) > 1 and max(sizes) <= BATCH_BYTES
        await restore(target, store, "large")
        assert await every_record(target) == await every_record(db)
    finally:
        await db.close()
        await target.close()


async def test_a_restore_cancelled_mid_load_leaves_nothing_behind(tmp_path: Path) -> None:
    # Ctrl-C during `tickets db restore` cancels it between batches. The engine
    # went on with the insert the cancel interrupted, after the undo had
    # emptied the table and dropped the marker: 500 records stayed, unmarked.
    store = FileStore(tmp_path / "objects")
    source = await open_database("mem://")
    target = await fresh(tmp_path)
    try:
        await _fill(source, BATCH_ROWS * 3)
        await backup(source, store, "b")
        restoring: asyncio.Task[Any] | None = None

        def cancel_after_the_first_batch(done: int, total: int) -> None:
            if done >= BATCH_ROWS and restoring is not None:
                restoring.cancel()

        restoring = asyncio.create_task(
            restore(target, store, "b", progress=cancel_after_the_first_batch)
        )
        with pytest.raises(asyncio.CancelledError):
            await restoring
        assert await interrupted_restore(target) is None
        assert await target.one("SELECT * FROM tenant;") == []
    finally:
        await source.close()
        await target.close()
