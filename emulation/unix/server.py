"""``tickets emulation serve``: the in-memory adapter behind a Unix socket.

Local processes (a gateway, several workers) share one state through it. Each
connection is read in ``data_received``: every complete frame in a chunk is
answered in one write, and under ``fsync always`` the chunk's changes are synced
once before that write (group commit). Only a blocking group read and a
subscription outlive the chunk, as tasks that answer by request id later.

When the chunk's changes cannot be written, the state is rolled back to the
file and every stream and lease request from the first change on is answered
with ``PersistenceError``: those that changed something were undone, and those
that only read may have seen what was undone. Cache, counter and pub/sub
answers stand, as their state is not in the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from emulation import arguments
from emulation.memory import MemoryCoordination, MemorySubscription
from emulation.memory.aof import FsyncPolicy
from emulation.ports import LeaseInfo, PendingEntry, PersistenceError, StreamEntry
from emulation.unix import protocol as p

log = logging.getLogger(__name__)
T = TypeVar("T")

_decoder = msgspec.msgpack.Decoder(p.Request)
_any_decoder = msgspec.msgpack.Decoder()
_encoder = msgspec.msgpack.Encoder()
_DEFERRED = object()
# A subscriber whose unread pushes pass this loses messages, like a Valkey client
# over its pub/sub output buffer limit (which Valkey disconnects instead).
PUSH_BUFFER_LIMIT = 8 << 20
# Requests on the state the append-only file keeps.
_PERSISTED = (
    p.Append,
    p.CreateGroup,
    p.ReadGroup,
    p.Ack,
    p.Pending,
    p.ClaimIdle,
    p.Touch,
    p.Length,
    p.DeadLetter,
    p.Acquire,
    p.Renew,
    p.Release,
    p.Holder,
)


def _now(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine of the memory adapter that completes without waiting."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a memory operation waited where it never should")


def _entries(entries: list[StreamEntry]) -> list[tuple[str, bytes, int]]:
    return [(e.id, e.data, e.deliveries) for e in entries]


def _pending(entries: list[PendingEntry]) -> list[tuple[str, str, int, int]]:
    return [(e.id, e.consumer, e.idle_ms, e.deliveries) for e in entries]


def _holder(info: LeaseInfo | None) -> tuple[str, int, int] | None:
    return None if info is None else (info.owner, info.token, info.ttl_ms)


def _answer(request_id: int, status: int, value: object) -> bytes:
    return p.frame(_encoder.encode((request_id, status, value)))


def _error(request_id: int, exc: BaseException | str, kind: str | None = None) -> bytes:
    kind = kind or next((k for k, t in p.ERROR_KINDS.items() if isinstance(exc, t)), "RemoteError")
    return _answer(request_id, p.ERROR, (kind, str(exc)))


def _bad_request(payload: bytes, exc: Exception) -> bytes:
    try:
        raw = _any_decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError):
        return _error(p.CONNECTION_ID, f"malformed frame: {exc}", "ProtocolError")
    if not (isinstance(raw, list) and len(raw) >= 2 and type(raw[1]) is int):
        return _error(p.CONNECTION_ID, "a request is [op, id, *args]", "ProtocolError")
    op, request_id = raw[0], raw[1]
    if op not in p.OPS:
        return _error(request_id, f"unknown operation {op!r}", "ProtocolError")
    return _error(request_id, f"bad arguments for {op!r}: {exc}", "ProtocolError")


class _Connection(asyncio.Protocol):
    def __init__(self, server: CoordinationServer) -> None:
        self.server = server
        self.handlers = server.handlers
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.skip = 0
        self.tasks: set[asyncio.Task[None]] = set()
        # Requests answered later (blocking reads), by request id, for Cancel.
        self.deferred: dict[int, asyncio.Task[None]] = {}
        self.subscriptions: dict[int, MemorySubscription] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        for task in self.tasks:
            task.cancel()
        for sub in self.subscriptions.values():
            _now(sub.close())
        self.subscriptions.clear()

    # A client that stops reading its answers is not read from either.
    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        out: list[bytes] = []
        offset, size = 0, len(buffer)
        aof = self.server.coordination.aof
        # With a file: (index in out, request id) of each stream and lease
        # answer, and the index of the first answer whose request logged a change.
        persisted: list[tuple[int, int]] = []
        first_change: int | None = None
        try:
            with self.server.batch():
                while True:
                    if self.skip:
                        dropped = min(self.skip, size - offset)
                        self.skip -= dropped
                        offset += dropped
                        if self.skip:
                            break
                    if size - offset < 4:
                        break
                    (length,) = p.HEADER.unpack_from(buffer, offset)
                    if length > p.MAX_FRAME:
                        # The frame is skipped unread; the connection stays usable after it.
                        out.append(
                            _error(
                                p.CONNECTION_ID,
                                f"frame of {length} bytes is over the {p.MAX_FRAME}-byte limit",
                                "ProtocolError",
                            )
                        )
                        offset += 4
                        self.skip = length
                        continue
                    end = offset + 4 + length
                    if end > size:
                        break
                    payload = bytes(buffer[offset + 4 : end])
                    offset = end
                    if aof is None:
                        answer = self._handle(payload)[1]
                        if answer is not None:
                            out.append(answer)
                        continue
                    logged = aof.buffered
                    request, answer = self._handle(payload)
                    if first_change is None and aof.buffered > logged:
                        first_change = len(out)
                    if isinstance(request, _PERSISTED) and answer is not None:
                        persisted.append((len(out), request.id))
                    if answer is not None:
                        out.append(answer)
        except PersistenceError as exc:
            start = first_change or 0
            for index, request_id in persisted:
                if index >= start:
                    out[index] = _error(request_id, exc)
        del buffer[:offset]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def _handle(self, payload: bytes) -> tuple[p.Request | None, bytes | None]:
        try:
            request = _decoder.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
            return None, _bad_request(payload, exc)
        try:
            value = self.handlers[type(request)](self, request)
        except (LookupError, ValueError, TypeError) as exc:
            return request, _error(request.id, exc)
        except Exception as exc:
            log.exception("request %r failed", request)
            return request, _error(request.id, exc)
        if value is _DEFERRED:
            return request, None
        return request, _answer(request.id, p.OK, value)

    def send(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)

    def later(self, request_id: int, coro: Coroutine[Any, Any, object]) -> object:
        async def run() -> None:
            try:
                value = await coro
            except (LookupError, ValueError, TypeError) as exc:
                self.send(_error(request_id, exc))
            except PersistenceError as exc:
                self.send(_error(request_id, exc))
            except Exception as exc:
                # Answer anyway: the client waits for this id and would hang.
                log.exception("request %d failed", request_id)
                self.send(_error(request_id, exc, "RemoteError"))
            else:
                self.send(_answer(request_id, p.OK, value))

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        self.deferred[request_id] = task

        def done(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            if self.deferred.get(request_id) is task:
                del self.deferred[request_id]

        task.add_done_callback(done)
        return _DEFERRED

    def cancel(self, request_id: int) -> bool:
        # A blocking read delivers (and answers) in one step after it wakes, so a
        # cancelled one has taken nothing: entries are not left pending for a
        # consumer that stopped listening, as Valkey drops a client's blocked
        # read when it disconnects.
        task = self.deferred.pop(request_id, None)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def forward(self, sub_id: int, sub: MemorySubscription) -> None:
        async def run() -> None:
            async for message in sub:
                transport = self.transport
                if transport is None or transport.get_write_buffer_size() > PUSH_BUFFER_LIMIT:
                    continue
                value = (message.channel, message.data, message.pattern)
                self.send(_answer(sub_id, p.PUSH, value))

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


Handler = Callable[[_Connection, Any], object]


def _handlers(coord: MemoryCoordination) -> dict[type, Handler]:
    cache, streams, leases = coord.cache, coord.streams, coord.leases
    pubsub, counters = coord.pubsub, coord.counters

    def read_group(conn: _Connection, r: p.ReadGroup) -> object:
        if r.block_ms is not None:
            # The first read below does not wait, so it would not check block_ms.
            arguments.not_negative("block_ms", r.block_ms)
        found = _now(streams.read_group(r.stream, r.group, r.consumer, count=r.count))
        if found or not r.block_ms:
            return _entries(found)

        async def wait() -> object:
            return _entries(
                await streams.read_group(
                    r.stream, r.group, r.consumer, count=r.count, block_ms=r.block_ms
                )
            )

        return conn.later(r.id, wait())

    def subscribe(conn: _Connection, r: p.Subscribe) -> object:
        if r.sub_id in conn.subscriptions:
            raise ValueError(f"subscription {r.sub_id} exists on this connection")
        sub = _now(pubsub.subscribe(r.channels, r.patterns))
        conn.subscriptions[r.sub_id] = sub
        conn.forward(r.sub_id, sub)
        return True

    def unsubscribe(conn: _Connection, r: p.Unsubscribe) -> object:
        sub = conn.subscriptions.pop(r.sub_id, None)
        if sub is None:
            return False
        _now(sub.close())
        return True

    return {
        p.Get: lambda c, r: _now(cache.get(r.key)),
        p.GetMany: lambda c, r: _now(cache.get_many(r.keys)),
        p.Set: lambda c, r: _now(cache.set(r.key, r.value, ttl_ms=r.ttl_ms)),
        p.SetIfAbsent: lambda c, r: _now(cache.set_if_absent(r.key, r.value, ttl_ms=r.ttl_ms)),
        p.Delete: lambda c, r: _now(cache.delete(r.key)),
        p.Append: lambda c, r: _now(streams.append(r.stream, r.data, maxlen=r.maxlen)),
        p.CreateGroup: lambda c, r: _now(streams.create_group(r.stream, r.group, start=r.start)),
        p.ReadGroup: read_group,
        p.Ack: lambda c, r: _now(streams.ack(r.stream, r.group, r.ids)),
        p.Pending: lambda c, r: _pending(_now(streams.pending(r.stream, r.group, count=r.count))),
        p.ClaimIdle: lambda c, r: _entries(
            _now(
                streams.claim_idle(
                    r.stream, r.group, r.consumer, min_idle_ms=r.min_idle_ms, count=r.count
                )
            )
        ),
        p.Touch: lambda c, r: _now(streams.touch(r.stream, r.group, r.consumer, r.ids)),
        p.Length: lambda c, r: _now(streams.length(r.stream)),
        p.DeadLetter: lambda c, r: _now(
            streams.dead_letter(r.stream, r.group, r.entry_id, r.dead_stream, maxlen=r.maxlen)
        ),
        p.Acquire: lambda c, r: _now(leases.acquire(r.name, r.owner, ttl_ms=r.ttl_ms)),
        p.Renew: lambda c, r: _now(leases.renew(r.name, r.owner, ttl_ms=r.ttl_ms)),
        p.Release: lambda c, r: _now(leases.release(r.name, r.owner)),
        p.Holder: lambda c, r: _holder(_now(leases.holder(r.name))),
        p.Publish: lambda c, r: _now(pubsub.publish(r.channel, r.data)),
        p.Subscribe: subscribe,
        p.Unsubscribe: unsubscribe,
        p.Incr: lambda c, r: _now(counters.incr(r.key, by=r.by, ttl_ms=r.ttl_ms)),
        p.Allow: lambda c, r: _now(counters.allow(r.key, limit=r.limit, window_ms=r.window_ms)),
        p.Ping: lambda c, r: True,
        p.Cancel: lambda c, r: c.cancel(r.request),
    }


def _claim_path(path: Path) -> None:
    """Remove a socket file left by a dead server; refuse a live one or any other file."""
    if not path.exists():
        return
    if not stat.S_ISSOCK(path.stat().st_mode):
        raise RuntimeError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
    else:
        raise RuntimeError(f"another server already answers at {path}")
    finally:
        probe.close()


class CoordinationServer:
    """Serves one ``MemoryCoordination`` at ``path``; closing it closes that too."""

    def __init__(self, coordination: MemoryCoordination, path: str | Path) -> None:
        self.coordination = coordination
        self.path = Path(path)
        self.handlers = _handlers(coordination)
        self.connections: set[_Connection] = set()
        self._server: asyncio.AbstractServer | None = None

    def batch(self) -> contextlib.AbstractContextManager[None]:
        aof = self.coordination.aof
        return contextlib.nullcontext() if aof is None else aof.batch()

    async def start(self) -> None:
        """Listen; the socket file is created readable and writable by this user only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _claim_path(self.path)
        loop = asyncio.get_running_loop()
        with _umask(0o177):
            self._server = await loop.create_unix_server(
                lambda: _Connection(self), str(self.path), start_serving=True
            )
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        """Stop listening, drop every connection, then close the state (syncing its file)."""
        if self._server is not None:
            self._server.close()
            for conn in list(self.connections):
                if conn.transport is not None:
                    conn.transport.abort()
            await self._server.wait_closed()
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        await self.coordination.close()

    async def __aenter__(self) -> CoordinationServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


async def serve_until_signal(
    path: str | Path,
    *,
    aof_path: str | Path | None = None,
    fsync: FsyncPolicy = "everysec",
    max_entries: int = 100_000,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run a server until SIGINT or SIGTERM, then close it (syncing its file)."""
    memory = MemoryCoordination(max_entries, aof_path=aof_path, fsync=fsync)
    server = CoordinationServer(memory, path)
    try:
        await server.start()
    except BaseException:
        await memory.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.close()
