"""The ``redis://`` / ``valkey://`` adapter: real Valkey or Redis through redis-py asyncio.

Stream entries keep their bytes in one field ``d``. Errors are those of the
other adapters: a missing consumer group is a ``LookupError``, an argument the
port refuses a ``ValueError`` raised here (``emulation.arguments``) before
anything is sent, never Valkey's own ``ResponseError``. A Valkey that refuses
writes because it cannot persist them (``MISCONF``: a failed AOF write or RDB
save) raises ``PersistenceError``, as the other adapters do when their
append-only file fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from emulation import arguments
from emulation.mailbox import Mailbox
from emulation.ports import LeaseInfo, Message, PendingEntry, PersistenceError, StreamEntry
from emulation.valkey import scripts

FIELD = b"d"
# Pub/sub, blocking reads and concurrent callers each hold a connection while waiting.
MAX_CONNECTIONS = 64
SUBSCRIPTION_QUEUE_SIZE = 10_000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _no_group(exc: ResponseError) -> bool:
    return str(exc).startswith("NOGROUP")


# The error code starts the reply; redis-py puts a pipeline's failing command
# (its key and arguments) before it. Anywhere else "MISCONF" is data: a NOGROUP
# error quotes the stream's name.
_MISCONF = re.compile(r"^MISCONF |of pipeline caused error: \(?['\"]?MISCONF ")


def _not_persisted(exc: ResponseError) -> PersistenceError | None:
    if _MISCONF.search(str(exc)) is None:
        return None
    return PersistenceError(f"Valkey refused the change, it cannot persist it: {exc}")


class _Client(aioredis.Redis):
    """redis-py's client, with a refused write (MISCONF) raised as ``PersistenceError``.

    Scripts run through ``execute_command`` too; the one pipeline (``incr``) maps it itself.
    """

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            # redis-py leaves execute_command unannotated.
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except ResponseError as exc:
            refused = _not_persisted(exc)
            if refused is None:
                raise
            raise refused from exc


class ValkeyCache:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

    async def get(self, key: str) -> bytes | None:
        return cast(bytes | None, await self._r.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return cast(list[bytes | None], await self._r.mget(list(keys)))

    async def set(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> None:
        arguments.ttl(ttl_ms)
        await self._r.set(key, value, px=ttl_ms)

    async def set_if_absent(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> bool:
        arguments.ttl(ttl_ms)
        return bool(await self._r.set(key, value, px=ttl_ms, nx=True))

    async def delete(self, key: str) -> bool:
        return bool(await self._r.delete(key))


def _entry(raw: Any, deliveries: int = 1) -> StreamEntry:
    entry_id, fields = raw
    return StreamEntry(_text(entry_id), fields[FIELD], deliveries)


class ValkeyStreams:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._claim = client.register_script(scripts.CLAIM_IDLE)
        self._dead = client.register_script(scripts.DEAD_LETTER)
        self._touch = client.register_script(scripts.TOUCH)

    async def append(self, stream: str, data: bytes, *, maxlen: int | None = None) -> str:
        if maxlen is not None:
            arguments.not_negative("maxlen", maxlen)
        entry_id = await self._r.xadd(stream, {FIELD: data}, maxlen=maxlen, approximate=True)
        return _text(entry_id)

    async def create_group(self, stream: str, group: str, *, start: str = "0") -> None:
        arguments.group_start(start)
        try:
            await self._r.xgroup_create(stream, group, id=start, mkstream=True)
        except ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise

    async def read_group(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        count: int = 10,
        block_ms: int | None = None,
    ) -> list[StreamEntry]:
        arguments.positive("count", count)
        if block_ms is not None:
            arguments.not_negative("block_ms", block_ms)
        # BLOCK 0 would wait for ever; the port's 0 means "do not wait".
        block = block_ms or None
        try:
            found = await self._r.xreadgroup(group, consumer, {stream: ">"}, count, block)
        except ResponseError as exc:
            if _no_group(exc):
                raise LookupError(f"no consumer group {group!r} on stream {stream!r}") from None
            raise
        if not found:
            return []
        # RESP2 answers [[name, entries]], RESP3 {name: [entries]}.
        entries = next(iter(found.values()))[0] if isinstance(found, dict) else found[0][1]
        return [_entry(raw) for raw in entries]

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        arguments.stream_ids(ids)
        if not ids:
            return 0
        try:
            return int(await self._r.xack(stream, group, *ids))
        except ResponseError as exc:
            if _no_group(exc):
                return 0
            raise

    async def pending(self, stream: str, group: str, *, count: int = 100) -> list[PendingEntry]:
        arguments.positive("count", count)
        try:
            rows = await self._r.xpending_range(stream, group, "-", "+", count)
        except ResponseError as exc:
            if _no_group(exc):
                raise LookupError(f"no consumer group {group!r} on stream {stream!r}") from None
            raise
        return [
            PendingEntry(
                _text(cast(bytes, row["message_id"])),
                _text(cast(bytes, row["consumer"])),
                int(row["time_since_delivered"]),
                int(row["times_delivered"]),
            )
            for row in rows
        ]

    async def claim_idle(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[StreamEntry]:
        arguments.not_negative("min_idle_ms", min_idle_ms)
        arguments.positive("count", count)
        try:
            rows = await self._claim(keys=[stream], args=[group, consumer, min_idle_ms, count])
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                raise LookupError(f"no consumer group {group!r} on stream {stream!r}") from None
            raise
        return [StreamEntry(_text(i), data, int(n)) for i, data, n in rows]

    async def touch(self, stream: str, group: str, consumer: str, ids: Sequence[str]) -> list[str]:
        wanted = [f"{ms}-{seq}" for ms, seq in arguments.distinct_stream_ids(ids)]
        if not wanted:
            return []
        try:
            touched = await self._touch(keys=[stream], args=[group, consumer, *wanted])
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                raise LookupError(f"no consumer group {group!r} on stream {stream!r}") from None
            raise
        return [_text(i) for i in touched]

    async def length(self, stream: str) -> int:
        return int(await self._r.xlen(stream))

    async def dead_letter(
        self, stream: str, group: str, entry_id: str, dead_stream: str, *, maxlen: int | None = None
    ) -> str | None:
        arguments.parse_stream_id(entry_id)
        if maxlen is not None:
            arguments.not_negative("maxlen", maxlen)
        try:
            moved = await self._dead(
                keys=[stream, dead_stream],
                args=[group, entry_id, "" if maxlen is None else maxlen],
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                raise LookupError(f"no consumer group {group!r} on stream {stream!r}") from None
            raise
        return None if moved is None else _text(moved)


class ValkeyLeases:
    def __init__(self, client: aioredis.Redis) -> None:
        self._acquire = client.register_script(scripts.LEASE_ACQUIRE)
        self._renew = client.register_script(scripts.LEASE_RENEW)
        self._release = client.register_script(scripts.LEASE_RELEASE)
        self._holder = client.register_script(scripts.LEASE_HOLDER)

    async def acquire(self, name: str, owner: str, *, ttl_ms: int) -> int | None:
        arguments.positive("ttl_ms", ttl_ms)
        token = await self._acquire(keys=[name, f"{name}:fence"], args=[owner, ttl_ms])
        return None if token is None else int(token)

    async def renew(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        arguments.positive("ttl_ms", ttl_ms)
        return bool(await self._renew(keys=[name], args=[owner, ttl_ms]))

    async def release(self, name: str, owner: str) -> bool:
        return bool(await self._release(keys=[name], args=[owner]))

    async def holder(self, name: str) -> LeaseInfo | None:
        held = await self._holder(keys=[name])
        if held is None:
            return None
        owner, token, ttl_ms = held
        return LeaseInfo(owner=_text(owner), token=int(token), ttl_ms=int(ttl_ms))


class ValkeySubscription:
    """One subscriber connection; a reader task feeds the iterator."""

    def __init__(self, pubsub: aioredis.client.PubSub) -> None:
        self._pubsub = pubsub
        self._mailbox = Mailbox(SUBSCRIPTION_QUEUE_SIZE)
        self._reader: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self._mailbox.closed

    async def _start(self, channels: Sequence[str], patterns: Sequence[str]) -> None:
        expected = 0
        if channels:
            await self._pubsub.subscribe(*channels)
            expected += len(set(channels))
        if patterns:
            await self._pubsub.psubscribe(*patterns)
            expected += len(set(patterns))
        # Wait for the confirmations, so a publish right after this call is seen.
        while expected:
            reply = await self._pubsub.get_message(timeout=5.0)
            if reply is None:
                raise ConnectionError("no subscribe confirmation from Valkey")
            if reply["type"] in ("subscribe", "psubscribe"):
                expected -= 1
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                reply = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if reply is None or reply["type"] not in ("message", "pmessage"):
                    continue
                pattern = reply.get("pattern")
                message = Message(
                    _text(reply["channel"]),
                    reply["data"],
                    None if pattern is None else _text(pattern),
                )
                self._mailbox.offer(message)
        finally:
            self._mailbox.end()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._mailbox.messages()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._mailbox.end()
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]


class ValkeyPubSub:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

    async def publish(self, channel: str, data: bytes) -> int:
        return int(await self._r.publish(channel, data))

    async def subscribe(
        self, channels: Sequence[str] = (), patterns: Sequence[str] = ()
    ) -> ValkeySubscription:
        arguments.subscription(channels, patterns)
        sub = ValkeySubscription(self._r.pubsub())
        try:
            await sub._start(channels, patterns)
        except BaseException:
            await sub.close()
            raise
        return sub


class ValkeyCounters:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._allow = client.register_script(scripts.ALLOW)

    async def incr(self, key: str, *, by: int = 1, ttl_ms: int | None = None) -> int:
        arguments.ttl(ttl_ms)
        arguments.increment(by)
        try:
            if ttl_ms is None:
                return int(await self._r.incrby(key, by))
            # SET NX PX creates the key with its expiry only if it is new; INCRBY keeps it.
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, px=ttl_ms, nx=True)
                pipe.incrby(key, by)
                _, value = await pipe.execute()
        except ResponseError as exc:
            refused = _not_persisted(exc)
            if refused is not None:
                raise refused from exc
            if "overflow" not in str(exc):
                raise
            # The only argument Valkey can still refuse: the sum leaves 64 bits.
            raise arguments.overflow(key, by) from None
        return int(value)

    async def allow(self, key: str, *, limit: int, window_ms: int) -> bool:
        arguments.positive("limit", limit)
        arguments.positive("window_ms", window_ms)
        return bool(await self._allow(keys=[key, f"{key}:seq"], args=[limit, window_ms]))


class ValkeyCoordination:
    """Every port on one Valkey/Redis server, through one connection pool."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._cache = ValkeyCache(client)
        self._streams = ValkeyStreams(client)
        self._leases = ValkeyLeases(client)
        self._pubsub = ValkeyPubSub(client)
        self._counters = ValkeyCounters(client)

    @classmethod
    def from_url(cls, url: str) -> ValkeyCoordination:
        """``redis://``, ``rediss://``, ``unix://`` or ``valkey://`` (read as ``redis://``)."""
        if url.startswith("valkey://"):
            url = "redis://" + url[len("valkey://") :]
        elif url.startswith("valkeys://"):
            url = "rediss://" + url[len("valkeys://") :]
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=None
        )
        return cls(_Client(connection_pool=pool))

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    @property
    def cache(self) -> ValkeyCache:
        return self._cache

    @property
    def streams(self) -> ValkeyStreams:
        return self._streams

    @property
    def leases(self) -> ValkeyLeases:
        return self._leases

    @property
    def pubsub(self) -> ValkeyPubSub:
        return self._pubsub

    @property
    def counters(self) -> ValkeyCounters:
        return self._counters

    async def close(self) -> None:
        await self.client.aclose()
        await self.client.connection_pool.disconnect()
