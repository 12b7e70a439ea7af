"""A Valkey that cannot persist refuses writes; the port raises ``PersistenceError``.

A throwaway ``redis-server`` (never the shared one, whose settings other tests
rely on) is made unable to save: its data folder is removed and a save
attempted, and with ``stop-writes-on-bgsave-error`` it answers every write
with MISCONF, as it does after a failed AOF write.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from emulation.connect import connect_coordination
from emulation.ports import Coordination, PersistenceError
from tests.emulation.test_coordination_contract import VALKEY_REQUIRED


@pytest.fixture
async def unsaving(tmp_path: Path) -> AsyncIterator[tuple[Coordination, aioredis.Redis]]:
    server = shutil.which("redis-server")
    if server is None:
        if VALKEY_REQUIRED:
            pytest.fail("redis-server is not installed, and CI requires the valkey cases to run")
        pytest.skip("redis-server is not installed")
    data = tmp_path / "data"
    data.mkdir()
    socket = tmp_path / "r.sock"
    process = await asyncio.create_subprocess_exec(
        server,
        *("--port", "0", "--unixsocket", str(socket), "--dir", str(data)),
        *("--save", "3600 1", "--appendonly", "no", "--daemonize", "no"),
        stdout=asyncio.subprocess.DEVNULL,
    )
    admin = aioredis.Redis(unix_socket_path=str(socket))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while True:
            try:
                if await admin.ping():
                    break
            except (OSError, aioredis.ConnectionError):
                pass
            assert loop.time() < deadline, "redis-server never answered"
            await asyncio.sleep(0.02)
        coord = await connect_coordination(f"redis+unix://{socket}")
        yield coord, admin
        await coord.close()
    finally:
        await admin.aclose()
        # Not SIGTERM: a Redis with save points that cannot save refuses to stop.
        process.kill()
        await process.wait()


async def _break_saving(admin: aioredis.Redis, data: Path) -> None:
    shutil.rmtree(data)
    await admin.bgsave()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        info = await admin.info("persistence")
        if not info["rdb_bgsave_in_progress"] and info["rdb_last_bgsave_status"] == "err":
            return
        assert loop.time() < deadline, f"the save never failed: {info}"
        await asyncio.sleep(0.02)


async def test_refused_writes_are_persistence_errors_and_change_nothing(
    unsaving: tuple[Coordination, aioredis.Redis], tmp_path: Path
) -> None:
    coord, admin = unsaving
    streams, leases = coord.streams, coord.leases
    await streams.create_group("s", "g")
    kept = await streams.append("s", b"kept")
    await _break_saving(admin, tmp_path / "data")
    refused = [
        lambda: streams.append("s", b"refused"),
        lambda: streams.read_group("s", "g", "c"),
        lambda: leases.acquire("lease", "me", ttl_ms=10_000),
        lambda: coord.counters.incr("n", ttl_ms=10_000),
        lambda: coord.cache.set("k", b"v"),
    ]
    for call in refused:
        with pytest.raises(PersistenceError, match="MISCONF"):
            await call()
    # Reads still work, and show nothing of the refused writes.
    assert await streams.length("s") == 1
    assert await streams.pending("s", "g") == []
    assert await leases.holder("lease") is None
    assert await coord.cache.get("k") is None
    await admin.config_set("stop-writes-on-bgsave-error", "no")
    assert [e.id for e in await streams.read_group("s", "g", "c")] == [kept]
    assert await leases.acquire("lease", "me", ttl_ms=10_000) == 1
