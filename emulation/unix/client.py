"""The ``unix://`` adapter: a client of ``tickets emulation serve``.

One connection carries every request; each waits on its own future, so any
number can be in flight. When the connection drops, the next request
reconnects. A request that was in flight when it dropped is sent again only
when repeating it is harmless (reads, ``set``, lease acquire and renew, a
stream touch, a group read, whose entries would otherwise just stay pending
until claimed); the others
raise ``ConnectionError``, since the server may or may not have applied them.
Subscriptions are made again on the new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

import msgspec

from emulation import arguments
from emulation.mailbox import Mailbox
from emulation.ports import LeaseInfo, Message, PendingEntry, StreamEntry
from emulation.unix import protocol as p

log = logging.getLogger(__name__)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()
_pack = p.HEADER.pack
DEFAULT_RECONNECT_TIMEOUT_S = 5.0
# Requests the server may hold open; cancelled ones are cancelled there too.
_WAITING_OPS = frozenset({"xread"})
# Like the memory adapter: a subscriber that stops reading loses messages.
SUBSCRIPTION_QUEUE_SIZE = 10_000


class _Lost(Exception):
    """The connection closed before the answer came."""


def _remote_error(value: Any) -> Exception:
    try:
        kind, message = value
    except (TypeError, ValueError):
        return p.RemoteError(repr(value))
    return p.ERROR_KINDS.get(kind, p.RemoteError)(message)


class _Wire(asyncio.Protocol):
    def __init__(self, client: UnixCoordination) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.buffer = bytearray()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        offset, size = 0, len(buffer)
        pending = self.pending
        while size - offset >= 4:
            (length,) = p.HEADER.unpack_from(buffer, offset)
            end = offset + 4 + length
            if end > size:
                break
            request_id, status, value = _decoder.decode(buffer[offset + 4 : end])
            offset = end
            if status == p.PUSH:
                self.client._push(request_id, value)
                continue
            future = pending.pop(request_id, None)
            if future is None or future.done():
                if request_id == p.CONNECTION_ID:
                    log.warning("coordination server: %s", _remote_error(value))
                continue
            if status == p.OK:
                future.set_result(value)
            else:
                future.set_exception(_remote_error(value))
        del buffer[:offset]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        for future in self.pending.values():
            if not future.done():
                future.set_exception(_Lost())
        self.pending.clear()
        self.client._lost(self)


class UnixCoordination:
    """Every port, answered by the server listening at ``path``."""

    def __init__(
        self, path: str | Path, *, reconnect_timeout_s: float = DEFAULT_RECONNECT_TIMEOUT_S
    ) -> None:
        self.path = str(path)
        self.reconnect_timeout_s = reconnect_timeout_s
        self._wire: _Wire | None = None
        self._ids = itertools.count(1)
        self._connecting: asyncio.Lock | None = None
        self._subscriptions: dict[int, UnixSubscription] = {}
        self._reconnector: asyncio.Task[None] | None = None
        self._closed = False
        self._cache = UnixCache(self)
        self._streams = UnixStreams(self)
        self._leases = UnixLeases(self)
        self._pubsub = UnixPubSub(self)
        self._counters = UnixCounters(self)

    # --- connection ----------------------------------------------------------

    async def connect(self) -> None:
        """Connect now (requests also connect on demand); ConnectionError if unreachable."""
        await self._connected()

    async def _connected(self) -> _Wire:
        wire = self._wire
        if wire is not None and not wire.lost:
            return wire
        if self._closed:
            raise ConnectionError("the coordination client is closed")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            wire = self._wire
            if wire is not None and not wire.lost:
                return wire
            wire = await self._dial()
            self._wire = wire
            for sub in list(self._subscriptions.values()):
                await self._send_subscribe(wire, sub)
            return wire

    async def _dial(self) -> _Wire:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reconnect_timeout_s
        delay = 0.01
        while True:
            try:
                _, wire = await loop.create_unix_connection(lambda: _Wire(self), self.path)
            except OSError as exc:
                if loop.time() + delay > deadline:
                    raise ConnectionError(
                        f"cannot reach the coordination server at {self.path}: {exc}"
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
            else:
                return wire

    def _lost(self, wire: _Wire) -> None:
        if self._closed or not self._subscriptions or self._reconnector is not None:
            return
        # Nobody may call again soon, but subscribers wait for messages: reconnect for them.
        self._reconnector = asyncio.get_running_loop().create_task(self._resubscribe())

    async def _resubscribe(self) -> None:
        try:
            await self._connected()
        except ConnectionError as exc:
            log.error("subscriptions end: %s", exc)
            for sub in list(self._subscriptions.values()):
                sub._end()
            self._subscriptions.clear()
        finally:
            self._reconnector = None

    async def call(self, op: str, *args: object, retry: bool = False) -> Any:
        """Send one request and wait for its answer."""
        while True:
            wire = self._wire
            if wire is None or wire.lost:
                wire = await self._connected()
            request_id = next(self._ids)
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            try:
                payload = _encoder.encode((op, request_id, *args))
            except OverflowError as exc:
                # An integer msgpack cannot carry; the server (the memory
                # adapter) checks every smaller one the way all adapters do.
                raise ValueError(f"an integer argument of {op!r} is out of range: {exc}") from None
            if len(payload) > p.MAX_FRAME:
                # The server would skip the frame and answer on the connection's
                # id, leaving this request's future waiting for ever.
                raise ValueError(
                    f"{op!r} request of {len(payload)} bytes is over the "
                    f"{p.MAX_FRAME}-byte frame limit"
                )
            wire.pending[request_id] = future
            wire.transport.write(_pack(len(payload)) + payload)  # type: ignore[union-attr]
            try:
                return await future
            except _Lost:
                if not retry:
                    raise ConnectionError(
                        f"lost the connection to {self.path} during {op!r}; "
                        "it may or may not have been applied"
                    ) from None
            except asyncio.CancelledError:
                wire.pending.pop(request_id, None)
                if op in _WAITING_OPS and not wire.lost:
                    # Otherwise the server would still hand entries to this read.
                    self._cancel(wire, request_id)
                raise

    def _cancel(self, wire: _Wire, request_id: int) -> None:
        # Fire and forget: the answer finds no future and is dropped.
        payload = _encoder.encode(("cancel", next(self._ids), request_id))
        assert wire.transport is not None
        wire.transport.write(_pack(len(payload)) + payload)

    # --- pub/sub plumbing ----------------------------------------------------

    async def _send_subscribe(self, wire: _Wire, sub: UnixSubscription) -> None:
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        wire.pending[request_id] = future
        payload = _encoder.encode(
            ("subscribe", request_id, sub.id, list(sub.channels), list(sub.patterns))
        )
        assert wire.transport is not None
        wire.transport.write(p.HEADER.pack(len(payload)) + payload)
        try:
            await future
        except _Lost:
            # A ConnectionError, like every other call: _resubscribe ends the
            # subscriptions on it instead of dying with a private exception.
            raise ConnectionError(f"lost the connection to {self.path} while subscribing") from None

    async def _subscribe(
        self, channels: Sequence[str], patterns: Sequence[str]
    ) -> UnixSubscription:
        wire = await self._connected()
        sub = UnixSubscription(self, next(self._ids), channels, patterns)
        self._subscriptions[sub.id] = sub
        try:
            await self._send_subscribe(wire, sub)
        except BaseException:
            self._subscriptions.pop(sub.id, None)
            raise
        return sub

    async def _unsubscribe(self, sub: UnixSubscription) -> None:
        if self._subscriptions.pop(sub.id, None) is None:
            return
        wire = self._wire
        if wire is not None and not wire.lost:
            with contextlib.suppress(ConnectionError):
                await self.call("unsubscribe", sub.id)

    def _push(self, sub_id: int, value: Any) -> None:
        sub = self._subscriptions.get(sub_id)
        if sub is not None:
            channel, data, pattern = value
            sub._offer(Message(channel, data, pattern))

    # --- the ports -----------------------------------------------------------

    @property
    def cache(self) -> UnixCache:
        return self._cache

    @property
    def streams(self) -> UnixStreams:
        return self._streams

    @property
    def leases(self) -> UnixLeases:
        return self._leases

    @property
    def pubsub(self) -> UnixPubSub:
        return self._pubsub

    @property
    def counters(self) -> UnixCounters:
        return self._counters

    async def ping(self) -> bool:
        return bool(await self.call("ping", retry=True))

    async def close(self) -> None:
        self._closed = True
        for sub in list(self._subscriptions.values()):
            sub._end()
        self._subscriptions.clear()
        if self._reconnector is not None:
            self._reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnector
        if self._wire is not None and self._wire.transport is not None:
            self._wire.transport.close()
        self._wire = None


class UnixCache:
    def __init__(self, client: UnixCoordination) -> None:
        self._call = client.call

    async def get(self, key: str) -> bytes | None:
        return await self._call("get", key, retry=True)  # type: ignore[no-any-return]

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return await self._call("mget", list(keys), retry=True)  # type: ignore[no-any-return]

    async def set(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> None:
        await self._call("set", key, value, ttl_ms, retry=True)

    async def set_if_absent(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> bool:
        return await self._call("setnx", key, value, ttl_ms)  # type: ignore[no-any-return]

    async def delete(self, key: str) -> bool:
        return await self._call("del", key)  # type: ignore[no-any-return]


def _entries(raw: list[Any]) -> list[StreamEntry]:
    return [StreamEntry(i, data, deliveries) for i, data, deliveries in raw]


class UnixStreams:
    def __init__(self, client: UnixCoordination) -> None:
        self._call = client.call

    async def append(self, stream: str, data: bytes, *, maxlen: int | None = None) -> str:
        return await self._call("xadd", stream, data, maxlen)  # type: ignore[no-any-return]

    async def create_group(self, stream: str, group: str, *, start: str = "0") -> None:
        await self._call("xgroup", stream, group, start, retry=True)

    async def read_group(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        count: int = 10,
        block_ms: int | None = None,
    ) -> list[StreamEntry]:
        raw = await self._call("xread", stream, group, consumer, count, block_ms, retry=True)
        return _entries(raw)

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        return await self._call("xack", stream, group, list(ids))  # type: ignore[no-any-return]

    async def pending(self, stream: str, group: str, *, count: int = 100) -> list[PendingEntry]:
        raw = await self._call("xpending", stream, group, count, retry=True)
        return [PendingEntry(i, consumer, idle, n) for i, consumer, idle, n in raw]

    async def claim_idle(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[StreamEntry]:
        return _entries(await self._call("xclaim", stream, group, consumer, min_idle_ms, count))

    async def touch(self, stream: str, group: str, consumer: str, ids: Sequence[str]) -> list[str]:
        # Checked here too: a string would go out as a list of its characters.
        arguments.distinct_stream_ids(ids)
        return await self._call("xtouch", stream, group, consumer, list(ids), retry=True)  # type: ignore[no-any-return]

    async def length(self, stream: str) -> int:
        return await self._call("xlen", stream, retry=True)  # type: ignore[no-any-return]

    async def dead_letter(
        self, stream: str, group: str, entry_id: str, dead_stream: str, *, maxlen: int | None = None
    ) -> str | None:
        moved = await self._call("xdead", stream, group, entry_id, dead_stream, maxlen)
        return cast(str | None, moved)


class UnixLeases:
    def __init__(self, client: UnixCoordination) -> None:
        self._call = client.call

    async def acquire(self, name: str, owner: str, *, ttl_ms: int) -> int | None:
        return await self._call("acquire", name, owner, ttl_ms, retry=True)  # type: ignore[no-any-return]

    async def renew(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        return await self._call("renew", name, owner, ttl_ms, retry=True)  # type: ignore[no-any-return]

    async def release(self, name: str, owner: str) -> bool:
        return await self._call("release", name, owner)  # type: ignore[no-any-return]

    async def holder(self, name: str) -> LeaseInfo | None:
        raw = await self._call("holder", name, retry=True)
        return None if raw is None else LeaseInfo(*raw)


class UnixSubscription:
    """Messages pushed by the server for one subscription."""

    def __init__(
        self,
        client: UnixCoordination,
        sub_id: int,
        channels: Sequence[str],
        patterns: Sequence[str],
    ) -> None:
        self._client = client
        self.id = sub_id
        self.channels = tuple(channels)
        self.patterns = tuple(patterns)
        self._mailbox = Mailbox(SUBSCRIPTION_QUEUE_SIZE)

    @property
    def closed(self) -> bool:
        return self._mailbox.closed

    def _offer(self, message: Message) -> None:
        self._mailbox.offer(message)

    def _end(self) -> None:
        self._mailbox.end()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._mailbox.messages()

    async def close(self) -> None:
        if self.closed:
            return
        self._end()
        await self._client._unsubscribe(self)


class UnixPubSub:
    def __init__(self, client: UnixCoordination) -> None:
        self._client = client

    async def publish(self, channel: str, data: bytes) -> int:
        return await self._client.call("publish", channel, data)  # type: ignore[no-any-return]

    async def subscribe(
        self, channels: Sequence[str] = (), patterns: Sequence[str] = ()
    ) -> UnixSubscription:
        arguments.subscription(channels, patterns)
        return await self._client._subscribe(channels, patterns)


class UnixCounters:
    def __init__(self, client: UnixCoordination) -> None:
        self._call = client.call

    async def incr(self, key: str, *, by: int = 1, ttl_ms: int | None = None) -> int:
        return await self._call("incr", key, by, ttl_ms)  # type: ignore[no-any-return]

    async def allow(self, key: str, *, limit: int, window_ms: int) -> bool:
        return await self._call("allow", key, limit, window_ms)  # type: ignore[no-any-return]
