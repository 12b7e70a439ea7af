"""In-process streams with consumer groups, modelled on XADD/XREADGROUP."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from emulation.memory.clock import Clock, now_ms
from emulation.ports import PendingEntry, StreamEntry

_Id = tuple[int, int]


def format_id(entry_id: _Id) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


def parse_id(text: str) -> _Id:
    """Parse ``"<ms>-<seq>"`` (or a bare ``"<ms>"``); ValueError when malformed."""
    ms, _, seq = text.partition("-")
    try:
        parsed = (int(ms), int(seq) if seq else 0)
    except ValueError:
        raise ValueError(f"malformed stream id {text!r}") from None
    if parsed[0] < 0 or parsed[1] < 0:
        raise ValueError(f"malformed stream id {text!r}")
    return parsed


@dataclass(slots=True)
class _Pending:
    consumer: str
    delivered_at: int
    deliveries: int


@dataclass(slots=True)
class _Group:
    last_delivered: _Id
    # Insertion order is id order: new deliveries always carry larger ids than
    # earlier ones and claims update entries in place.
    pel: dict[_Id, _Pending] = field(default_factory=dict)


@dataclass(slots=True)
class _Stream:
    ids: list[_Id] = field(default_factory=list)
    data: dict[_Id, bytes] = field(default_factory=dict)
    last_id: _Id = (0, 0)
    groups: dict[str, _Group] = field(default_factory=dict)
    # Replaced on every append: waiters hold the old one, which gets set.
    appended: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryStreams:
    """Append-only logs with consumer groups and at-least-once delivery."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._streams: dict[str, _Stream] = {}

    def _stream(self, name: str) -> _Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _Stream()
        return stream

    def _group(self, stream: str, group: str) -> tuple[_Stream, _Group]:
        found = self._streams.get(stream)
        state = found.groups.get(group) if found is not None else None
        if found is None or state is None:
            raise LookupError(f"no consumer group {group!r} on stream {stream!r}")
        return found, state

    def _next_id(self, stream: _Stream) -> _Id:
        # Ids stay strictly increasing when the wall clock steps back.
        wall_ms = int(self._wall_clock() * 1000)
        last_ms, last_seq = stream.last_id
        if wall_ms > last_ms:
            return (wall_ms, 0)
        return (last_ms, last_seq + 1)

    async def append(self, stream: str, data: bytes, *, maxlen: int | None = None) -> str:
        if maxlen is not None and maxlen < 0:
            raise ValueError(f"maxlen must not be negative, got {maxlen}")
        state = self._stream(stream)
        entry_id = self._next_id(state)
        state.last_id = entry_id
        state.ids.append(entry_id)
        state.data[entry_id] = bytes(data)
        if maxlen is not None and len(state.ids) > maxlen:
            excess = len(state.ids) - maxlen
            for old in state.ids[:excess]:
                del state.data[old]
            del state.ids[:excess]
        woken, state.appended = state.appended, asyncio.Event()
        woken.set()
        return format_id(entry_id)

    async def create_group(self, stream: str, group: str, *, start: str = "0") -> None:
        state = self._stream(stream)
        if group in state.groups:
            return
        last = state.last_id if start == "$" else parse_id(start)
        state.groups[group] = _Group(last_delivered=last)

    def _deliver(
        self, state: _Stream, group: _Group, consumer: str, count: int
    ) -> list[StreamEntry]:
        start = bisect.bisect_right(state.ids, group.last_delivered)
        fresh = state.ids[start : start + count]
        if not fresh:
            return []
        now = now_ms(self._clock)
        for entry_id in fresh:
            group.pel[entry_id] = _Pending(consumer, now, 1)
        group.last_delivered = fresh[-1]
        return [StreamEntry(format_id(i), state.data[i], 1) for i in fresh]

    async def read_group(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        count: int = 10,
        block_ms: int | None = None,
    ) -> list[StreamEntry]:
        if count <= 0:
            raise ValueError(f"count must be positive, got {count}")
        state, group_state = self._group(stream, group)
        entries = self._deliver(state, group_state, consumer, count)
        if entries or not block_ms or block_ms <= 0:
            return entries
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_ms / 1000
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            try:
                async with asyncio.timeout(remaining):
                    await state.appended.wait()
            except TimeoutError:
                return []
            # Another consumer of the group may have taken the new entries.
            state, group_state = self._group(stream, group)
            entries = self._deliver(state, group_state, consumer, count)
            if entries:
                return entries

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        try:
            _, state = self._group(stream, group)
        except LookupError:
            return 0
        acked = 0
        for text in ids:
            if state.pel.pop(parse_id(text), None) is not None:
                acked += 1
        return acked

    async def pending(self, stream: str, group: str, *, count: int = 100) -> list[PendingEntry]:
        _, state = self._group(stream, group)
        now = now_ms(self._clock)
        result: list[PendingEntry] = []
        for entry_id, entry in state.pel.items():
            if len(result) >= count:
                break
            idle_ms = max(0, now - entry.delivered_at)
            result.append(
                PendingEntry(format_id(entry_id), entry.consumer, idle_ms, entry.deliveries)
            )
        return result

    async def claim_idle(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[StreamEntry]:
        if count <= 0:
            raise ValueError(f"count must be positive, got {count}")
        state, group_state = self._group(stream, group)
        now = now_ms(self._clock)
        claimed: list[StreamEntry] = []
        trimmed: list[_Id] = []
        for entry_id, entry in group_state.pel.items():
            if len(claimed) >= count:
                break
            if now - entry.delivered_at < min_idle_ms:
                continue
            data = state.data.get(entry_id)
            if data is None:
                trimmed.append(entry_id)
                continue
            entry.consumer = consumer
            entry.delivered_at = now
            entry.deliveries += 1
            claimed.append(StreamEntry(format_id(entry_id), data, entry.deliveries))
        # Like XAUTOCLAIM: pending entries whose data was trimmed away are dropped.
        for entry_id in trimmed:
            del group_state.pel[entry_id]
        return claimed

    async def length(self, stream: str) -> int:
        state = self._streams.get(stream)
        return 0 if state is None else len(state.ids)
