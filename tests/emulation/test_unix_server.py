"""The Unix-socket server and client: permissions, bad input, sharing, crashes.

Everything runs over real sockets; the crash and sharing tests use real
``python -m cli emulation serve`` processes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from emulation.memory import MemoryCoordination
from emulation.unix import CoordinationServer, UnixCoordination
from emulation.unix import protocol as p
from tests.emulation.unix_procs import ServerProcess, child_env


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[CoordinationServer]:
    server = CoordinationServer(MemoryCoordination(), tmp_path / "c.sock")
    await server.start()
    yield server
    await server.close()


async def test_socket_file_is_private_to_its_user(served: CoordinationServer) -> None:
    mode = served.path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


async def test_stale_socket_is_replaced_and_live_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    # A socket file left by a server that died.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    first = CoordinationServer(MemoryCoordination(), path)
    await first.start()
    second = CoordinationServer(MemoryCoordination(), path)
    with pytest.raises(RuntimeError, match="already answers"):
        await second.start()
    await second.close()
    await first.close()
    assert not path.exists()
    path.write_text("not a socket")
    third = CoordinationServer(MemoryCoordination(), path)
    with pytest.raises(RuntimeError, match="not a socket"):
        await third.start()
    await third.close()
    assert path.read_text() == "not a socket"


class Raw:
    """A bare connection that sends whatever bytes a test wants."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, path: Path) -> Raw:
        return cls(*await asyncio.open_unix_connection(str(path)))

    async def send(self, payload: bytes) -> None:
        self.writer.write(p.frame(payload))
        await self.writer.drain()

    async def answer(self) -> list[Any]:
        header = await asyncio.wait_for(self.reader.readexactly(4), 30)
        (length,) = p.HEADER.unpack(header)
        decoded = msgspec.msgpack.decode(await self.reader.readexactly(length))
        assert isinstance(decoded, list)
        return decoded

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def req(*parts: Any) -> bytes:
    return msgspec.msgpack.encode(list(parts))


@pytest.mark.parametrize(
    ("payload", "answer_id", "message"),
    [
        (b"\xc1", p.CONNECTION_ID, "malformed frame"),
        (b"", p.CONNECTION_ID, "malformed frame"),
        (req(), p.CONNECTION_ID, "a request is [op, id, *args]"),
        (msgspec.msgpack.encode({"op": "get"}), p.CONNECTION_ID, "a request is"),
        (req("get", "not-an-id", "k"), p.CONNECTION_ID, "a request is"),
        (req("frobnicate", 7, "k"), 7, "unknown operation 'frobnicate'"),
        (req(42, 7), 7, "unknown operation 42"),
        (req("get", 8, 123), 8, "bad arguments for 'get'"),
        (req("set", 9, "k", "text, not bytes"), 9, "bad arguments for 'set'"),
        (req("xadd", 10), 10, "bad arguments for 'xadd'"),
        (req("get", 11, "k", "extra", "args"), 11, "bad arguments for 'get'"),
        (req("mget", 12, ["a", 5]), 12, "bad arguments for 'mget'"),
        # Nested past the decoder's recursion limit: once fatal to the connection.
        pytest.param(
            b"\x91" * 200_000 + b"\xc0", p.CONNECTION_ID, "malformed frame", id="deeply-nested"
        ),
        (req("get", 13, [[[[[[[[]]]]]]]]), 13, "bad arguments for 'get'"),
    ],
)
async def test_bad_requests_get_an_error_and_the_connection_keeps_working(
    served: CoordinationServer, payload: bytes, answer_id: int, message: str
) -> None:
    raw = await Raw.open(served.path)
    other = UnixCoordination(served.path)
    await other.cache.set("theirs", b"before")
    await raw.send(payload)
    got_id, status, (kind, text) = await raw.answer()
    assert (got_id, status, kind) == (answer_id, p.ERROR, "ProtocolError")
    assert message in text
    await raw.send(req("set", 100, "k", b"v", None))
    await raw.send(req("get", 101, "k"))
    assert await raw.answer() == [100, p.OK, None]
    assert await raw.answer() == [101, p.OK, b"v"]
    await raw.close()
    assert await other.cache.get("theirs") == b"before"
    await other.close()


async def test_bad_values_get_the_error_the_adapter_raises(served: CoordinationServer) -> None:
    raw = await Raw.open(served.path)
    await raw.send(req("set", 1, "k", b"v", -5))
    await raw.send(req("xread", 2, "s", "no-group", "c", 10, None))
    await raw.send(req("acquire", 3, "lease", "me", 0))
    assert await raw.answer() == [1, p.ERROR, ["ValueError", "ttl_ms must be positive, got -5"]]
    two = await raw.answer()
    assert two[:2] == [2, p.ERROR]
    assert two[2][0] == "LookupError"
    assert (await raw.answer())[:2] == [3, p.ERROR]
    await raw.close()
    client = UnixCoordination(served.path)
    with pytest.raises(ValueError, match="ttl_ms"):
        await client.cache.set("k", b"v", ttl_ms=-1)
    with pytest.raises(LookupError):
        await client.streams.pending("s", "no-group")
    assert await client.cache.get("k") is None
    await client.close()


async def test_oversized_frame_is_refused_and_skipped(served: CoordinationServer) -> None:
    raw = await Raw.open(served.path)
    other = UnixCoordination(served.path)
    await other.cache.set("shared", b"still here")
    size = p.MAX_FRAME + 1
    raw.writer.write(p.HEADER.pack(size))
    # Half the body, then check the server answered and others are served meanwhile.
    raw.writer.write(b"\x00" * (size // 2))
    await raw.writer.drain()
    got_id, status, (kind, text) = await raw.answer()
    assert (got_id, status, kind) == (p.CONNECTION_ID, p.ERROR, "ProtocolError")
    assert f"{size} bytes is over the {p.MAX_FRAME}-byte limit" in text
    assert await other.cache.get("shared") == b"still here"
    raw.writer.write(b"\x00" * (size - size // 2))
    await raw.send(req("get", 5, "shared"))
    assert await raw.answer() == [5, p.OK, b"still here"]
    await raw.close()
    await other.close()


async def test_client_refuses_a_request_over_the_frame_limit(served: CoordinationServer) -> None:
    client = UnixCoordination(served.path)
    with pytest.raises(ValueError, match="frame limit"):
        await asyncio.wait_for(client.cache.set("big", b"x" * (p.MAX_FRAME + 1)), 5)
    await client.cache.set("small", b"ok")
    assert await client.cache.get("small") == b"ok"
    assert await client.cache.get("big") is None
    await client.close()


async def test_a_waiting_request_that_fails_still_gets_an_answer(
    served: CoordinationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    streams = served.coordination.streams
    read_group = streams.read_group

    async def failing(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("block_ms"):
            raise RuntimeError("broken while waiting")
        return await read_group(*args, **kwargs)

    monkeypatch.setattr(streams, "read_group", failing)
    client = UnixCoordination(served.path)
    await client.streams.create_group("s", "g")
    with pytest.raises(p.RemoteError, match="broken while waiting"):
        await asyncio.wait_for(client.streams.read_group("s", "g", "c", block_ms=1_000), 30)
    assert await client.cache.get("k") is None
    await client.close()


async def test_cancelled_blocking_read_is_dropped_by_the_server(
    served: CoordinationServer,
) -> None:
    client = UnixCoordination(served.path)
    await client.streams.create_group("s", "g", start="$")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.streams.read_group("s", "g", "c", block_ms=5_000), 0.05)
    # The server hears of it before anything else this client sends.
    assert await client.cache.get("k") is None
    assert all(not conn.deferred for conn in served.connections)
    await client.close()


async def test_a_client_that_sends_half_a_frame_and_vanishes_hurts_nobody(
    served: CoordinationServer,
) -> None:
    client = UnixCoordination(served.path)
    for _ in range(3):
        raw = await Raw.open(served.path)
        raw.writer.write(p.HEADER.pack(1000) + b"\x92\xa3get")
        await raw.writer.drain()
        await raw.close()
        await client.cache.set("k", b"v")
        assert await client.cache.get("k") == b"v"
    await client.close()


async def test_many_requests_in_flight_on_one_connection(served: CoordinationServer) -> None:
    client = UnixCoordination(served.path)
    await client.streams.create_group("s", "g")
    # Blocks for longer than the 500 requests can take on a busy machine.
    blocked = asyncio.create_task(client.streams.read_group("s", "g", "c", block_ms=120_000))

    async def one(i: int) -> bytes | None:
        await client.cache.set(f"k{i}", str(i).encode())
        return await client.cache.get(f"k{i}")

    # A blocking read in flight does not hold up the others on the same connection.
    results = await asyncio.gather(*(one(i) for i in range(500)))
    assert results == [str(i).encode() for i in range(500)]
    assert not blocked.done()
    entry_id = await client.streams.append("s", b"wake")
    assert [e.id for e in await asyncio.wait_for(blocked, 30)] == [entry_id]
    await client.close()


async def test_client_reconnects_after_the_server_restarts(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    server = CoordinationServer(MemoryCoordination(), path)
    await server.start()
    client = UnixCoordination(path, reconnect_timeout_s=5)
    sub = await client.pubsub.subscribe(channels=["news"])
    await client.cache.set("k", b"v")
    await server.close()
    server = CoordinationServer(MemoryCoordination(), path)
    await server.start()
    # The cache was in memory only; the connection and the subscription come back.
    assert await client.cache.get("k") is None
    publisher = UnixCoordination(path)
    deadline = asyncio.get_running_loop().time() + 30
    while await publisher.pubsub.publish("news", b"again") == 0:
        assert asyncio.get_running_loop().time() < deadline, "subscription never came back"
        await asyncio.sleep(0.02)
    message = await asyncio.wait_for(anext(aiter(sub)), 30)
    assert message.data == b"again"
    await sub.close()
    await publisher.close()
    await client.close()
    await server.close()


async def test_connection_lost_while_subscribing_is_a_connection_error(tmp_path: Path) -> None:
    path = tmp_path / "flaky.sock"

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    flaky = await asyncio.start_unix_server(hang_up, str(path))
    client = UnixCoordination(path, reconnect_timeout_s=0.2)
    with pytest.raises(ConnectionError, match="while subscribing"):
        await asyncio.wait_for(client.pubsub.subscribe(channels=["c"]), 30)
    flaky.close()
    await flaky.wait_closed()
    await client.close()


async def test_unreachable_server_is_a_connection_error(tmp_path: Path) -> None:
    client = UnixCoordination(tmp_path / "nobody.sock", reconnect_timeout_s=0.2)
    with pytest.raises(ConnectionError, match="cannot reach the coordination server"):
        await client.cache.get("k")
    await client.close()


# --- real server processes ---------------------------------------------------

WORKER = """
import asyncio, sys
from emulation.unix import UnixCoordination

async def main(path, name):
    client = UnixCoordination(path)
    handled = []
    while True:
        entries = await client.streams.read_group("jobs", "workers", name, count=5, block_ms=200)
        if not entries:
            break
        for entry in entries:
            handled.append(entry.data.decode())
            await client.streams.ack("jobs", "workers", [entry.id])
    print(" ".join(handled))
    await client.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_local_processes_share_one_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "c.sock")
    await server.start()
    try:
        gateway = UnixCoordination(server.socket)
        await gateway.streams.create_group("jobs", "workers", start="0")
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                WORKER,
                str(server.socket),
                f"w{i}",
                env=child_env(),
                stdout=asyncio.subprocess.PIPE,
            )
            for i in range(2)
        ]
        sent = [f"job{i}" for i in range(300)]
        for job in sent:
            await gateway.streams.append("jobs", job.encode())
            await asyncio.sleep(0)
        outputs = [(await w.communicate())[0].decode().split() for w in workers]
        assert all(w.returncode == 0 for w in workers)
        assert sorted(outputs[0] + outputs[1]) == sorted(sent)
        assert await gateway.streams.pending("jobs", "workers") == []
        await gateway.close()
    finally:
        assert await server.stop() == 0
    assert not server.socket.exists()


async def test_kill_9_under_load_loses_no_acknowledged_append(tmp_path: Path) -> None:
    aof = tmp_path / "coord.aof"
    server = ServerProcess(tmp_path / "c.sock", "--aof", str(aof), "--fsync", "always")
    await server.start()
    client = UnixCoordination(server.socket, reconnect_timeout_s=0.5)
    await client.streams.create_group("s", "g")
    acknowledged: list[str] = []
    delivered: list[str] = []
    lease_tokens: list[int] = []

    async def produce(n: int) -> None:
        i = 0
        while True:
            acknowledged.append(await client.streams.append("s", f"{n}:{i}".encode()))
            i += 1

    async def consume() -> None:
        while True:
            entries = await client.streams.read_group("s", "g", "doomed", count=7)
            # Every other one is never acknowledged: it must still be pending after the crash.
            delivered.extend(e.id for e in entries[1::2])
            await client.streams.ack("s", "g", [e.id for e in entries[::2]])

    async def lease() -> None:
        while True:
            await client.leases.release("lease", "a")
            token = await client.leases.acquire("lease", "a", ttl_ms=60_000)
            assert token is not None
            lease_tokens.append(token)

    tasks = [asyncio.create_task(produce(n)) for n in range(8)]
    tasks += [asyncio.create_task(consume()), asyncio.create_task(lease())]
    while len(acknowledged) < 300 or len(lease_tokens) < 20:
        await asyncio.sleep(0.01)
    await server.kill()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results), results
    await client.close()

    restarted = ServerProcess(tmp_path / "c.sock", "--aof", str(aof), "--fsync", "always")
    await restarted.start()
    try:
        check = UnixCoordination(restarted.socket)
        await check.streams.create_group("s", "audit", start="0")
        kept: set[str] = set()
        while batch := await check.streams.read_group("s", "audit", "a", count=1000):
            kept.update(e.id for e in batch)
        assert set(acknowledged) <= kept
        pending = {e.id for e in await check.streams.pending("s", "g", count=100_000)}
        assert set(delivered) <= pending
        # The kill may have come between a release and the next acquire.
        holder = await check.leases.holder("lease")
        if holder is not None:
            assert (holder.owner, holder.token >= lease_tokens[-1]) == ("a", True)
            assert await check.leases.release("lease", "a") is True
        token = await check.leases.acquire("lease", "b", ttl_ms=1_000)
        assert token is not None
        assert token > lease_tokens[-1]
        await check.close()
    finally:
        assert await restarted.stop() == 0


def test_serve_refuses_a_bad_fsync_policy(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "emulation",
            "serve",
            "--socket",
            str(tmp_path / "s"),
            "--fsync",
            "sometimes",
        ],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--fsync must be one of always, everysec, no" in done.stderr
    assert not os.path.exists(tmp_path / "s")


def test_serve_refuses_a_damaged_append_only_file(tmp_path: Path) -> None:
    import subprocess

    from emulation.memory.aof import frame
    from emulation.memory.records import Fence

    aof = tmp_path / "c.aof"
    bad = bytearray(frame(Fence("x", 2)))
    bad[-1] ^= 0xFF
    content = frame(Fence("x", 1)) + bytes(bad) + frame(Fence("x", 3))
    aof.write_bytes(content)
    socket = tmp_path / "s"
    serve = ["emulation", "serve", "--socket", str(socket), "--aof", str(aof)]
    done = subprocess.run(
        [sys.executable, "-m", "cli", *serve],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "is damaged" in done.stderr
    assert "Traceback" not in done.stderr
    assert aof.read_bytes() == content
    assert not socket.exists()
