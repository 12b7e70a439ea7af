"""The unix server when its append-only file cannot be written.

A real server over a real socket; the fault is a wrapper around the file's
``write`` that fails like a full disk (see ``test_aof_faults``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulation.memory import MemoryCoordination
from emulation.ports import PersistenceError
from emulation.unix import CoordinationServer, UnixCoordination
from emulation.unix import protocol as p
from tests.emulation.test_aof_faults import FaultyWrite, broken_disk
from tests.emulation.test_unix_server import Raw, req


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[CoordinationServer]:
    memory = MemoryCoordination(aof_path=tmp_path / "c.aof", fsync="always")
    server = CoordinationServer(memory, tmp_path / "c.sock")
    await server.start()
    yield server
    await server.close()


def disk_of(server: CoordinationServer) -> FaultyWrite:
    aof = server.coordination.aof
    assert aof is not None
    return broken_disk(aof)


async def test_a_change_that_cannot_be_written_is_an_error_and_undone(
    served: CoordinationServer,
) -> None:
    client = UnixCoordination(served.path)
    other = UnixCoordination(served.path)
    await client.streams.create_group("s", "g")
    first = await client.streams.append("s", b"first")
    disk = disk_of(served)
    disk.armed = True
    with pytest.raises(PersistenceError, match="No space left on device"):
        await client.streams.append("s", b"lost")
    with pytest.raises(PersistenceError):
        await client.leases.acquire("lease", "me", ttl_ms=10_000)
    # Everything the file does not keep works for everyone meanwhile.
    await other.cache.set("k", b"v")
    assert await other.cache.get("k") == b"v"
    assert await other.counters.incr("n") == 1
    assert await other.streams.length("s") == 1
    assert await other.leases.holder("lease") is None
    disk.armed = False
    second = await client.streams.append("s", b"second")
    assert second > first
    assert [e.data for e in await other.streams.read_group("s", "g", "c")] == [b"first", b"second"]
    assert await client.leases.acquire("lease", "me", ttl_ms=10_000) == 1
    await client.close()
    await other.close()


async def test_in_one_chunk_only_stream_and_lease_answers_after_the_change_fail(
    served: CoordinationServer,
) -> None:
    raw = await Raw.open(served.path)
    await raw.send(req("xgroup", 1, "s", "g", "0"))
    assert await raw.answer() == [1, p.OK, None]
    disk = disk_of(served)
    disk.armed = True
    # One write, so the server reads every frame in one chunk and syncs once.
    raw.writer.write(
        b"".join(
            p.frame(r)
            for r in (
                req("xlen", 2, "s"),
                req("set", 3, "k", b"v", None),
                req("xadd", 4, "s", b"lost", None),
                req("xlen", 5, "s"),
                req("get", 6, "k"),
                req("incr", 7, "n", 1, None),
                req("holder", 8, "lease"),
            )
        )
    )
    await raw.writer.drain()
    answers = {a[0]: a for a in [await raw.answer() for _ in range(7)]}
    # Before the change: read what was kept. Cache and counters: unaffected.
    assert answers[2] == [2, p.OK, 0]
    assert answers[3] == [3, p.OK, None]
    assert answers[6] == [6, p.OK, b"v"]
    assert answers[7] == [7, p.OK, 1]
    # The change failed; the reads after it may have seen it, so they fail too.
    for request_id in (4, 5, 8):
        _, status, (kind, message) = answers[request_id]
        assert (status, kind) == (p.ERROR, "PersistenceError")
        assert "No space left on device" in message
    assert disk.failures == 1
    disk.armed = False
    await raw.send(req("xlen", 9, "s"))
    assert await raw.answer() == [9, p.OK, 0]
    await raw.close()


async def test_a_blocked_read_whose_delivery_cannot_be_written_fails_and_takes_nothing(
    served: CoordinationServer,
) -> None:
    reader = UnixCoordination(served.path)
    writer = UnixCoordination(served.path)
    await reader.streams.create_group("s", "g", start="$")
    blocked = asyncio.create_task(reader.streams.read_group("s", "g", "c", block_ms=10_000))
    # The server holds the read once the first, non-blocking, look found nothing.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not any(conn.deferred for conn in served.connections):
        assert loop.time() < deadline, "the read never blocked"
        await asyncio.sleep(0.01)
    disk = disk_of(served)
    disk.armed = True
    disk.skip = 1  # the append is written; the delivery that follows is not
    entry_id = await writer.streams.append("s", b"job")
    with pytest.raises(PersistenceError):
        await asyncio.wait_for(blocked, 5)
    disk.armed = False
    assert await writer.streams.pending("s", "g") == []
    assert [e.id for e in await reader.streams.read_group("s", "g", "c")] == [entry_id]
    await reader.close()
    await writer.close()
