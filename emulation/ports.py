"""The coordination port: what every service may ask of Valkey or its stand-in.

Adapters: ``emulation.memory`` (in-process), ``emulation.unix`` (a client of the
``tickets emulation serve`` server, shared by local processes) and
``emulation.valkey`` (real Valkey or Redis). One contract test suite holds them to
the same behaviour. Keys and stream names are opaque strings here; the bot
builds them in ``standalone.keys``.

Expiry is Valkey's: a key, counter or lease with a TTL is live up to and
including the millisecond it expires and gone from the next one on.

Every adapter refuses the same arguments with a ``ValueError`` naming the
argument, before changing anything (``emulation.arguments``): a TTL, count,
limit or window that is not positive, a negative ``maxlen``, ``block_ms`` or
``min_idle_ms``, any of these above ``2**53 - 1``, a malformed stream id, an
increment that leaves signed 64 bits, and a subscription to nothing.

A change the ``memory`` or ``unix`` adapter cannot write to its append-only
file raises ``PersistenceError`` and is not made (see ``emulation.memory.aof``);
so does a write a Valkey refuses because it cannot persist it (MISCONF).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import msgspec


class PersistenceError(OSError):
    """A change could not be written to the append-only file, so it was not made.

    The state is as it was before the call; the call may be tried again. An
    ``OSError``, like the ``ConnectionError`` of an unreachable backend, so
    callers that retry on a failing backend retry on this too.
    """


class StreamEntry(msgspec.Struct, frozen=True):
    """One stream entry as delivered to a consumer."""

    id: str
    data: bytes
    deliveries: int = 1


class PendingEntry(msgspec.Struct, frozen=True):
    """An entry delivered to a consumer of a group and not yet acknowledged."""

    id: str
    consumer: str
    idle_ms: int
    deliveries: int


class LeaseInfo(msgspec.Struct, frozen=True):
    """The current holder of a lease."""

    owner: str
    token: int
    ttl_ms: int


class Message(msgspec.Struct, frozen=True):
    """A pub/sub message; ``pattern`` is set when it matched a pattern subscription."""

    channel: str
    data: bytes
    pattern: str | None = None


class Cache(Protocol):
    """Byte values under string keys, with optional TTL and a bounded size (LRU)."""

    async def get(self, key: str) -> bytes | None:
        """Return the value, or None when absent or expired."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Return the values in the order of ``keys``; None for each miss."""

    async def set(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> None:
        """Store a value; ``ttl_ms`` None keeps it until evicted or deleted."""

    async def set_if_absent(self, key: str, value: bytes, *, ttl_ms: int | None = None) -> bool:
        """Store only if no live value exists; True when this call stored it."""

    async def delete(self, key: str) -> bool:
        """Remove a key; True when it existed."""


class Streams(Protocol):
    """Append-only logs read by consumer groups with at-least-once delivery."""

    async def append(self, stream: str, data: bytes, *, maxlen: int | None = None) -> str:
        """Append an entry and return its id (``"<ms>-<seq>"``, strictly increasing).

        ``maxlen`` trims the oldest entries, approximately, like ``XADD MAXLEN ~``.
        """

    async def create_group(self, stream: str, group: str, *, start: str = "0") -> None:
        """Create a consumer group (and the stream); a no-op when the group exists.

        ``start`` is ``"0"`` for every entry or ``"$"`` for new entries only.
        """

    async def read_group(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        count: int = 10,
        block_ms: int | None = None,
    ) -> list[StreamEntry]:
        """Deliver up to ``count`` never-delivered entries to ``consumer``.

        Waits up to ``block_ms`` for one when none is ready (None or 0: do not
        wait, unlike Valkey's BLOCK 0). Delivered entries stay pending until
        acknowledged.
        """

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        """Acknowledge entries; returns how many were pending."""

    async def pending(self, stream: str, group: str, *, count: int = 100) -> list[PendingEntry]:
        """List pending entries, oldest first, with idle time and delivery count."""

    async def claim_idle(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[StreamEntry]:
        """Move entries idle for at least ``min_idle_ms`` to ``consumer`` (XAUTOCLAIM).

        Each claimed entry's delivery count goes up by one. A negative
        ``min_idle_ms`` is refused (Valkey would read it as 0).
        """

    async def touch(self, stream: str, group: str, consumer: str, ids: Sequence[str]) -> list[str]:
        """Reset the idle time of entries pending to ``consumer``, so none is claimed.

        A consumer still handling entries calls it more often than others claim,
        so a slow handler's entries are not run a second time by another
        consumer. The delivery count stays as it is. Returns the ids touched,
        each once, in the order given: an id not pending, or pending to another
        consumer, is left alone and not returned; one whose data was trimmed
        leaves the PEL, as ``claim_idle`` drops it. ``XCLAIM ... 0 JUSTID``
        limited to the consumer's own entries.
        """

    async def length(self, stream: str) -> int:
        """Number of entries kept in the stream."""

    async def dead_letter(
        self, stream: str, group: str, entry_id: str, dead_stream: str, *, maxlen: int | None = None
    ) -> str | None:
        """Move a pending entry to ``dead_stream`` and acknowledge it, in one step.

        Returns the entry's id in ``dead_stream``; None when the entry is not
        pending in ``group`` or its data was trimmed away.
        """


class Leases(Protocol):
    """Named exclusive leases with a TTL and a fencing token.

    Tokens never go backwards while the backend runs, and across a restart
    only when it persists them: a ``memory`` process or ``unix`` server with an
    append-only file (``aof_path``, ``--aof``), or a Valkey with persistence.
    Without one, a restarted memory process or unix server, like a Valkey
    without persistence, starts every name at token 1 again: a holder paused
    across the restart may then present the same token as a new holder, and a
    resource that remembers the highest token it saw refuses the new holder's
    smaller ones.
    """

    async def acquire(self, name: str, owner: str, *, ttl_ms: int) -> int | None:
        """Take the lease if free (or already ours); return its fencing token.

        Tokens only ever increase for a name (across restarts: see the class).
        None when another owner holds it.
        """

    async def renew(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        """Extend our lease; False when it is no longer ours."""

    async def release(self, name: str, owner: str) -> bool:
        """Drop the lease if ``owner`` holds it; True when released."""

    async def holder(self, name: str) -> LeaseInfo | None:
        """Who holds the lease now, or None."""


class Subscription(Protocol):
    """An open subscription; iterate for messages, close when done."""

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def close(self) -> None:
        """Stop receiving messages."""


class PubSub(Protocol):
    """Fire-and-forget messages to whoever listens now."""

    async def publish(self, channel: str, data: bytes) -> int:
        """Send to current subscribers; returns how many received it."""

    async def subscribe(
        self, channels: Sequence[str] = (), patterns: Sequence[str] = ()
    ) -> Subscription:
        """Listen to channels and to patterns in Valkey's glob syntax.

        ``tickets:*``, ``?``, classes negated with ``^`` (``[^a]``) and a
        backslash escape (``\\*``) mean what they mean to Valkey.
        """


class Counters(Protocol):
    """Integer counters with expiry, for rate limits."""

    async def incr(self, key: str, *, by: int = 1, ttl_ms: int | None = None) -> int:
        """Add ``by`` and return the new value; ``ttl_ms`` is set when the key is created."""

    async def allow(self, key: str, *, limit: int, window_ms: int) -> bool:
        """Sliding-window rate limit: count a hit if fewer than ``limit`` fell in the last
        ``window_ms``; True when counted. Refused hits do not count.

        A key keeps one log of counted hits whatever window each call asks
        about (the ``ALLOW`` script's sorted set): a call counts the hits of its
        own window and drops older ones from the log, so changing ``window_ms``
        does not start the count afresh. The log is forgotten ``window_ms`` (the
        window of the call that counted it) after its last counted hit.
        """


class Coordination(Protocol):
    """Everything the coordination port offers, from one backend."""

    @property
    def cache(self) -> Cache: ...

    @property
    def streams(self) -> Streams: ...

    @property
    def leases(self) -> Leases: ...

    @property
    def pubsub(self) -> PubSub: ...

    @property
    def counters(self) -> Counters: ...

    async def close(self) -> None:
        """Release connections and background tasks."""
