"""A failed write to the append-only file fails the change and leaves no trace.

The faults are injected by wrapping the file's system calls (``write_fd``,
``sync_fd``, ``truncate_fd``): the wrapped calls still reach the real file, so a
partial write really leaves half a record there, as a full disk does.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from emulation.memory import MemoryCoordination
from emulation.memory.aof import AppendOnlyFile, frame
from emulation.memory.records import Appended, Fence, Record
from emulation.ports import PersistenceError


class FaultyWrite:
    """``os.write`` that, while armed, writes ``partial`` bytes and then fails."""

    def __init__(self, partial: int = 0, err: int = errno.ENOSPC) -> None:
        self.partial = partial
        self.err = err
        self.armed = False
        # Writes to let through before failing, once armed.
        self.skip = 0
        self.failures = 0

    def __call__(self, fd: int, data: memoryview) -> int:
        if not self.armed:
            return os.write(fd, data)
        if self.skip:
            self.skip -= 1
            return os.write(fd, data)
        if self.partial:
            # A short write first: the retry of the rest is what fails.
            written = os.write(fd, data[: min(self.partial, len(data) - 1)])
            self.partial = 0
            return written
        self.failures += 1
        raise OSError(self.err, os.strerror(self.err))


def broken_disk(aof: AppendOnlyFile, partial: int = 0) -> FaultyWrite:
    fault = FaultyWrite(partial)
    aof.write_fd = fault
    return fault


async def state(coord: MemoryCoordination) -> tuple[object, ...]:
    """What the file keeps of the test's streams and leases, without idle times."""
    streams = coord.streams
    pending = [(p.id, p.consumer, p.deliveries) for p in await streams.pending("s", "g")]
    holder = await coord.leases.holder("lease")
    return (
        await streams.length("s"),
        await streams.length("dead"),
        pending,
        None if holder is None else (holder.owner, holder.token),
    )


async def seeded(path: Path) -> MemoryCoordination:
    coord = MemoryCoordination(aof_path=path, fsync="always")
    await coord.streams.create_group("s", "g")
    for i in range(4):
        await coord.streams.append("s", f"{i}".encode())
    await coord.streams.read_group("s", "g", "c", count=2)
    assert await coord.leases.acquire("lease", "me", ttl_ms=60_000) == 1
    return coord


@pytest.mark.parametrize("partial", [0, 5])
async def test_a_failed_write_changes_nothing_and_says_why(tmp_path: Path, partial: int) -> None:
    path = tmp_path / "c.aof"
    coord = await seeded(path)
    assert coord.aof is not None
    before, size = await state(coord), path.stat().st_size
    last_id = (await coord.streams.pending("s", "g"))[-1].id
    fault = broken_disk(coord.aof, partial)
    fault.armed = True
    streams, leases = coord.streams, coord.leases
    failing: list[Callable[[], Awaitable[object]]] = [
        lambda: streams.append("s", b"lost"),
        lambda: streams.read_group("s", "g", "c", count=1),
        lambda: streams.ack("s", "g", [last_id]),
        lambda: streams.claim_idle("s", "g", "other", min_idle_ms=0),
        lambda: streams.touch("s", "g", "c", [last_id]),
        lambda: streams.dead_letter("s", "g", last_id, "dead"),
        lambda: streams.create_group("s", "new"),
        lambda: leases.release("lease", "me"),
        lambda: leases.renew("lease", "me", ttl_ms=1_000),
        lambda: leases.acquire("other-lease", "me", ttl_ms=1_000),
    ]
    for call in failing:
        # An OSError, as a backend that cannot be reached raises one too.
        with pytest.raises(OSError, match="No space left on device") as raised:
            await call()
        assert isinstance(raised.value, PersistenceError)
        assert await state(coord) == before
        assert path.stat().st_size == size
    assert fault.failures == len(failing)
    # Nothing refused left a trace: no new group, no token taken.
    with pytest.raises(LookupError):
        await streams.pending("s", "new")
    fault.armed = False
    entry_id = await streams.append("s", b"kept")
    assert entry_id > last_id
    assert await leases.acquire("other-lease", "me", ttl_ms=60_000) == 1
    assert [e.data for e in await streams.read_group("s", "g", "c", count=10)] == [
        b"2",
        b"3",
        b"kept",
    ]
    after = await state(coord)
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await state(again) == after
    assert await again.leases.acquire("other-lease", "you", ttl_ms=1_000) is None
    await again.close()


async def test_a_failed_fsync_under_always_cuts_the_record_back_off(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    coord = await seeded(path)
    assert coord.aof is not None
    before, size = await state(coord), path.stat().st_size
    calls = 0

    def failing_fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    coord.aof.sync_fd = failing_fsync
    with pytest.raises(PersistenceError, match="Input/output error"):
        await coord.streams.append("s", b"unsynced")
    assert calls == 1
    # Written but never synced: it must not come back at the next start either.
    assert path.stat().st_size == size
    assert await state(coord) == before
    coord.aof.sync_fd = os.fsync
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await state(again) == before
    await again.close()


async def test_a_tail_that_cannot_be_cut_back_refuses_changes_until_it_can(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.aof"
    coord = await seeded(path)
    assert coord.aof is not None
    before, size = await state(coord), path.stat().st_size
    fault = broken_disk(coord.aof, partial=7)
    fault.armed = True
    truncate_works = False

    def truncate(fd: int, length: int) -> None:
        if not truncate_works:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.ftruncate(fd, length)

    coord.aof.truncate_fd = truncate
    with pytest.raises(PersistenceError):
        await coord.streams.append("s", b"torn")
    # Half a record stays behind the last good one for now.
    assert path.stat().st_size == size + 7
    assert await state(coord) == before
    # The disk has room again but the torn bytes are still there: refused, not
    # written after them, where the next replay would never reach it.
    fault.armed = False
    with pytest.raises(PersistenceError):
        await coord.leases.release("lease", "me")
    assert path.stat().st_size == size + 7
    truncate_works = True
    assert await coord.leases.release("lease", "me") is True
    await coord.streams.append("s", b"after")
    after = await state(coord)
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await state(again) == after
    assert await again.streams.length("s") == 5
    await again.close()


async def test_a_rollback_that_cannot_read_the_file_refuses_changes_until_it_can(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="always")
    aof = coord.aof
    assert aof is not None
    leases = coord.leases
    assert await leases.acquire("L", "a", ttl_ms=60_000) == 1
    assert await leases.release("L", "a") is True
    fault = broken_disk(aof)
    fault.armed = True
    readable = False

    def read_file(file: Path, size: int) -> bytes:
        if not readable:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        return file.read_bytes()[:size]

    aof.read_file = read_file
    with pytest.raises(PersistenceError):
        await leases.acquire("L", "b", ttl_ms=60_000)
    # The disk and the descriptors are back. Until memory is rebuilt from the
    # file, b still "holds" token 2 there: a retry must not renew it unseen.
    fault.armed = False
    readable = True
    token = None
    for _ in range(2):
        with contextlib.suppress(PersistenceError):
            token = await leases.acquire("L", "b", ttl_ms=60_000)
            break
    assert token == 2
    await coord.close()
    # Whatever b was handed, the file must hand it out no second time.
    again = MemoryCoordination(aof_path=path, fsync="always")
    holder = await again.leases.holder("L")
    assert holder is not None and (holder.owner, holder.token) == ("b", 2)
    await again.close()


async def test_a_failed_everysec_fsync_refuses_changes_until_one_succeeds(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="everysec")
    aof = coord.aof
    assert aof is not None
    disk_ok = threading.Event()

    def fsync(fd: int) -> None:
        if not disk_ok.is_set():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fsync(fd)

    aof.sync_fd = fsync
    await coord.streams.append("s", b"written")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while aof.fault is None:
        assert loop.time() < deadline, "the background fsync never ran"
        await asyncio.sleep(0.05)
    with pytest.raises(PersistenceError, match="an earlier fsync failed"):
        await coord.streams.append("s", b"refused")
    assert await coord.streams.length("s") == 1
    disk_ok.set()
    deadline = loop.time() + 10
    while aof.fault is not None:
        assert loop.time() < deadline, "the background fsync never retried"
        await asyncio.sleep(0.05)
    await coord.streams.append("s", b"accepted")
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.length("s") == 2
    await again.close()


async def test_a_slow_everysec_fsync_does_not_hold_up_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="everysec")
    aof = coord.aof
    assert aof is not None
    syncing, release = threading.Event(), threading.Event()
    held_to_the_end = False

    def slow_fsync(fd: int) -> None:
        nonlocal held_to_the_end
        if threading.current_thread() is not threading.main_thread():
            syncing.set()
            # Let go after a while even when the loop never gets to, so a
            # regression fails below instead of hanging the suite.
            held_to_the_end = not release.wait(10)
        os.fsync(fd)

    aof.sync_fd = slow_fsync
    await coord.streams.append("s", b"first")
    assert await asyncio.to_thread(syncing.wait, 10)
    # The background fsync is under way: appends go on meanwhile.
    for i in range(10):
        await coord.streams.append("s", f"{i}".encode())
    release.set()
    assert not held_to_the_end
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.length("s") == 11
    await again.close()


async def test_a_blocked_reader_wakes_to_the_state_after_a_rollback(tmp_path: Path) -> None:
    coord = MemoryCoordination(aof_path=tmp_path / "c.aof", fsync="always")
    assert coord.aof is not None
    await coord.streams.create_group("s", "g", start="$")
    reader = asyncio.create_task(coord.streams.read_group("s", "g", "c", block_ms=10_000))
    await asyncio.sleep(0)
    fault = broken_disk(coord.aof)
    fault.armed = True
    with pytest.raises(PersistenceError):
        await coord.streams.append("s", b"lost")
    fault.armed = False
    # The reader waits on, on the rebuilt stream, for the next entry that is kept.
    entry_id = await coord.streams.append("s", b"kept")
    entries = await asyncio.wait_for(reader, 5)
    assert [(e.id, e.data) for e in entries] == [(entry_id, b"kept")]
    await coord.close()


# --- compaction and replay ----------------------------------------------------


class HeldWrite:
    """``os.write`` that holds the compaction thread until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, fd: int, data: memoryview) -> int:
        if threading.current_thread() is not threading.main_thread():
            self.entered.set()
            if not self.release.wait(30):
                raise OSError(errno.ETIMEDOUT, "the test never released the compaction")
        return os.write(fd, data)


async def test_writes_during_a_compaction_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="no", aof_rewrite_min_bytes=4_000)
    aof = coord.aof
    assert aof is not None
    held = HeldWrite()
    aof.write_fd = held
    streams, leases = coord.streams, coord.leases
    await streams.create_group("s", "g")
    i = 0
    while not held.entered.is_set():
        await streams.append("s", f"before {i}".encode() * 4)
        i += 1
        await asyncio.sleep(0)
    # The snapshot is being written; everything from here on is in its tail.
    assert aof.rewrites == 0
    taken = await streams.read_group("s", "g", "c", count=10)
    await streams.ack("s", "g", [e.id for e in taken[::2]])
    await streams.create_group("s", "late")
    for j in range(200):
        await streams.append("s", f"during {j}".encode())
    await streams.claim_idle("s", "g", "other", min_idle_ms=0, count=2)
    await streams.dead_letter("s", "g", taken[1].id, "dead")
    token = await leases.acquire("lease", "me", ttl_ms=60_000)
    await leases.release("lease", "me")
    await leases.acquire("lease", "you", ttl_ms=60_000)
    expected = await state(coord)
    late = [e.id for e in await streams.read_group("s", "late", "x", count=1_000)]
    held.release.set()
    await aof.wait_rewrite()
    assert aof.rewrites == 1
    assert await state(coord) == expected
    await streams.append("s", b"after")
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await state(again) == (expected[0] + 1, *expected[1:])
    assert [e.id for e in await again.streams.pending("s", "late", count=1_000)] == late
    assert await again.leases.acquire("lease", "third", ttl_ms=1_000) is None
    holder = await again.leases.holder("lease")
    assert holder is not None
    assert token is not None
    assert holder.token == token + 1
    await again.close()


def test_every_cut_through_the_last_record_keeps_all_the_complete_ones(tmp_path: Path) -> None:
    records: list[Record] = [Appended("s", (1, i), f"entry {i}".encode(), None) for i in range(3)]
    records.append(Fence("lease", 4))
    whole = b"".join(frame(r) for r in records)
    last = len(frame(records[-1]))
    for cut in range(len(whole) - last, len(whole)):
        path = tmp_path / f"cut{cut}.aof"
        path.write_bytes(whole[:cut])
        aof = AppendOnlyFile(path, "no")
        assert list(aof.replay()) == records[:-1], cut
        aof.close()
        assert path.stat().st_size == len(whole) - last


@pytest.mark.parametrize("where", ["snapshot", "switch"])
async def test_a_failed_compaction_keeps_the_old_file_and_every_write(
    tmp_path: Path, where: str
) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="no", aof_rewrite_min_bytes=4_000)
    aof = coord.aof
    assert aof is not None
    failed = threading.Event()

    def write(fd: int, data: memoryview) -> int:
        # The snapshot is written in a worker thread, the rest in the loop's.
        if where == "snapshot" and threading.current_thread() is not threading.main_thread():
            failed.set()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    def sync(fd: int) -> None:
        # Under "no" only the switch to the compacted file syncs.
        if where == "switch" and not failed.is_set():
            failed.set()
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fsync(fd)

    aof.write_fd, aof.sync_fd = write, sync
    await coord.streams.create_group("s", "g")
    n = 0
    while not failed.is_set() or aof.size < 4_000:
        await coord.streams.append("s", f"entry {n}".encode() * 4)
        n += 1
        await asyncio.sleep(0)  # lets the compaction's completion run
    await aof.wait_rewrite()
    assert aof.rewrites == 0
    assert not path.with_name(path.name + ".rewrite").exists()
    for _ in range(10):
        await coord.streams.append("s", b"after")
        n += 1
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.length("s") == n
    await again.close()


async def test_a_failed_fsync_of_a_file_compaction_replaced_refuses_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="everysec")
    aof = coord.aof
    assert aof is not None
    calls = 0
    entered = [threading.Event(), threading.Event()]
    release = [threading.Event(), threading.Event()]

    def sync(fd: int) -> None:
        nonlocal calls
        if threading.current_thread() is not aof._syncer:
            os.fsync(fd)
            return
        call, calls = calls, calls + 1
        if call < 2:
            entered[call].set()
            # Bounded, so a regression fails below instead of hanging.
            release[call].wait(10)
        if call == 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fsync(fd)

    aof.sync_fd = sync
    await coord.streams.append("s", b"old file")
    # The background fsync holds a copy of the old file's descriptor ...
    assert await asyncio.to_thread(entered[0].wait, 10)
    # ... while a compaction replaces that file with one synced in full.
    aof.rewrite()
    await coord.streams.append("s", b"new file")
    release[0].set()  # the old file's fsync fails now
    # The syncer has dealt with that failure once it is in its next fsync.
    assert await asyncio.to_thread(entered[1].wait, 10)
    try:
        await coord.streams.append("s", b"accepted")
    finally:
        release[1].set()
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.length("s") == 3
    await again.close()


async def test_a_compaction_synced_in_full_ends_a_failed_everysec_fsync(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="everysec", aof_rewrite_min_bytes=4_000)
    aof = coord.aof
    assert aof is not None
    held = HeldWrite()

    def sync(fd: int) -> None:
        # Only the background fsync fails, to the end: the switch's own succeeds.
        if threading.current_thread() is aof._syncer:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fsync(fd)

    aof.write_fd, aof.sync_fd = held, sync
    n = 0
    while not held.entered.is_set():
        await coord.streams.append("s", f"entry {n}".encode() * 4)
        n += 1
        await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while aof.fault is None:
        assert loop.time() < deadline, "the background fsync never ran"
        await asyncio.sleep(0.05)
    with pytest.raises(PersistenceError):
        await coord.streams.append("s", b"refused")
    held.release.set()
    await aof.wait_rewrite()
    assert aof.rewrites == 1
    await coord.streams.append("s", b"accepted")
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.length("s") == n + 1
    await again.close()
