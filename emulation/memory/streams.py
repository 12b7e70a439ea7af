"""In-process streams with consumer groups, modelled on XADD/XREADGROUP."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from emulation import arguments
from emulation.arguments import MAX_INT_ARG
from emulation.memory.aof import AppendOnlyFile
from emulation.memory.clock import Clock, now_ms
from emulation.memory.records import (
    Acked,
    Appended,
    Claimed,
    Delivered,
    GroupCreated,
    PendingState,
    Record,
    StreamRecord,
    StreamTip,
    Touched,
)
from emulation.ports import PendingEntry, StreamEntry

_Id = tuple[int, int]
# Entries a stream may keep above maxlen, as Valkey keeps up to a node of them
# (stream-node-max-entries, 100 by default).
TRIM_NODE = 100


def format_id(entry_id: _Id) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


parse_id = arguments.parse_stream_id


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
    # Created by the first blocked reader, set and dropped by the next append.
    appended: asyncio.Event | None = None


class MemoryStreams:
    """Append-only logs with consumer groups and at-least-once delivery.

    With an ``aof`` every change is logged there; ``restore`` replays it.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        aof: AppendOnlyFile | None = None,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._aof = aof
        self._streams: dict[str, _Stream] = {}

    def _wall_ms(self) -> int:
        return int(self._wall_clock() * 1000)

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
        if maxlen is not None and not 0 <= maxlen <= MAX_INT_ARG:
            arguments.not_negative("maxlen", maxlen)
        state = self._stream(stream)
        entry_id = self._next_id(state)
        data = bytes(data)
        self._add(state, entry_id, data, maxlen)
        if self._aof is not None:
            self._aof.log(Appended(stream, entry_id, data, maxlen))
        return format_id(entry_id)

    @staticmethod
    def _add(state: _Stream, entry_id: _Id, data: bytes, maxlen: int | None) -> None:
        state.last_id = entry_id
        ids = state.ids
        ids.append(entry_id)
        state.data[entry_id] = data
        # Like XADD MAXLEN ~: trim only once a whole node's worth is over the
        # limit, so the list is shifted once per TRIM_NODE appends, not on each.
        if maxlen is not None and len(ids) >= maxlen + TRIM_NODE:
            excess = len(ids) - maxlen
            for old in ids[:excess]:
                del state.data[old]
            del ids[:excess]
        if state.appended is not None:
            state.appended.set()
            state.appended = None

    async def create_group(self, stream: str, group: str, *, start: str = "0") -> None:
        # Before the stream is made: a refused call leaves nothing behind.
        arguments.group_start(start)
        state = self._stream(stream)
        if group in state.groups:
            return
        last = state.last_id if start == "$" else parse_id(start)
        state.groups[group] = _Group(last_delivered=last)
        if self._aof is not None:
            self._aof.log(GroupCreated(stream, group, last))

    def _deliver(self, name: str, group_name: str, consumer: str, count: int) -> list[StreamEntry]:
        state, group = self._group(name, group_name)
        start = bisect.bisect_right(state.ids, group.last_delivered)
        fresh = state.ids[start : start + count]
        if not fresh:
            return []
        now = now_ms(self._clock)
        for entry_id in fresh:
            group.pel[entry_id] = _Pending(consumer, now, 1)
        group.last_delivered = fresh[-1]
        if self._aof is not None:
            self._aof.log(Delivered(name, group_name, consumer, fresh, self._wall_ms()))
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
        # The checks call out only on failure: this is the hot path.
        if not 0 < count <= MAX_INT_ARG:
            arguments.positive("count", count)
        if block_ms is not None and not 0 <= block_ms <= MAX_INT_ARG:
            # Valkey refuses a negative BLOCK; 0 means "do not wait" here.
            arguments.not_negative("block_ms", block_ms)
        entries = self._deliver(stream, group, consumer, count)
        if entries or not block_ms:
            return entries
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_ms / 1000
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            try:
                state = self._streams[stream]
                if state.appended is None:
                    state.appended = asyncio.Event()
                async with asyncio.timeout(remaining):
                    await state.appended.wait()
            except TimeoutError:
                return []
            # Another consumer of the group may have taken the new entries.
            entries = self._deliver(stream, group, consumer, count)
            if entries:
                return entries

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        # Every id is checked before any is acknowledged, as XACK does.
        parsed = [parse_id(i) for i in ids]
        try:
            _, state = self._group(stream, group)
        except LookupError:
            return 0
        done = [i for i in parsed if state.pel.pop(i, None) is not None]
        if done and self._aof is not None:
            self._aof.log(Acked(stream, group, done))
        return len(done)

    async def pending(self, stream: str, group: str, *, count: int = 100) -> list[PendingEntry]:
        arguments.positive("count", count)
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
        # Valkey reads a negative min-idle-time as 0; the port refuses it.
        arguments.not_negative("min_idle_ms", min_idle_ms)
        arguments.positive("count", count)
        state, group_state = self._group(stream, group)
        now = now_ms(self._clock)
        claimed: list[StreamEntry] = []
        claimed_ids: list[_Id] = []
        trimmed: list[_Id] = []
        for entry_id, entry in group_state.pel.items():
            if len(claimed) >= count:
                break
            # Like XAUTOCLAIM: a pending entry whose data was trimmed away leaves
            # the PEL, idle or not.
            data = state.data.get(entry_id)
            if data is None:
                trimmed.append(entry_id)
                continue
            if now - entry.delivered_at < min_idle_ms:
                continue
            entry.consumer = consumer
            entry.delivered_at = now
            entry.deliveries += 1
            claimed.append(StreamEntry(format_id(entry_id), data, entry.deliveries))
            claimed_ids.append(entry_id)
        for entry_id in trimmed:
            del group_state.pel[entry_id]
        if (claimed_ids or trimmed) and self._aof is not None:
            self._aof.log(Claimed(stream, group, consumer, claimed_ids, trimmed, self._wall_ms()))
        return claimed

    async def touch(self, stream: str, group: str, consumer: str, ids: Sequence[str]) -> list[str]:
        wanted = arguments.distinct_stream_ids(ids)
        if not wanted:
            return []
        state, group_state = self._group(stream, group)
        now = now_ms(self._clock)
        touched: list[_Id] = []
        trimmed: list[_Id] = []
        for entry_id in wanted:
            entry = group_state.pel.get(entry_id)
            if entry is None or entry.consumer != consumer:
                continue
            # As XCLAIM does: an entry whose data was trimmed away leaves the PEL.
            if entry_id not in state.data:
                trimmed.append(entry_id)
                continue
            entry.delivered_at = now
            touched.append(entry_id)
        for entry_id in trimmed:
            del group_state.pel[entry_id]
        if (touched or trimmed) and self._aof is not None:
            # Logged like a claim, or a restart would bring the entry back idle
            # since its delivery and let another consumer take it at once.
            self._aof.log(Touched(stream, group, consumer, touched, trimmed, self._wall_ms()))
        return [format_id(i) for i in touched]

    async def length(self, stream: str) -> int:
        state = self._streams.get(stream)
        return 0 if state is None else len(state.ids)

    async def dead_letter(
        self, stream: str, group: str, entry_id: str, dead_stream: str, *, maxlen: int | None = None
    ) -> str | None:
        raw = parse_id(entry_id)
        if maxlen is not None:
            # Checked even when there is nothing to move, so a bad call never passes.
            arguments.not_negative("maxlen", maxlen)
        state, group_state = self._group(stream, group)
        data = state.data.get(raw)
        if raw not in group_state.pel or data is None:
            return None
        if self._aof is None:
            moved = await self.append(dead_stream, data, maxlen=maxlen)
            await self.ack(stream, group, [entry_id])
            return moved
        # Both records reach the file together, so a crash keeps both or neither.
        with self._aof.batch():
            moved = await self.append(dead_stream, data, maxlen=maxlen)
            await self.ack(stream, group, [entry_id])
        return moved

    # --- persistence ---------------------------------------------------------

    def restore(self, record: StreamRecord) -> None:
        """Apply one record read back from the append-only file."""
        if isinstance(record, Appended):
            self._add(self._stream(record.stream), record.id, record.data, record.maxlen)
        elif isinstance(record, GroupCreated):
            state = self._stream(record.stream)
            state.groups.setdefault(record.group, _Group(last_delivered=record.last_delivered))
        elif isinstance(record, StreamTip):
            self._stream(record.stream).last_id = record.last_id
        elif isinstance(record, Acked):
            _, group = self._group(record.stream, record.group)
            for entry_id in record.ids:
                group.pel.pop(entry_id, None)
        else:
            self._restore_delivery(record)

    def _restore_delivery(self, record: Delivered | Claimed | Touched | PendingState) -> None:
        _, group = self._group(record.stream, record.group)
        # The monotonic clock restarted with the process: rebuild each delivery
        # time from how long ago it happened by the wall clock.
        at = now_ms(self._clock) - max(0, self._wall_ms() - record.wall_ms)
        if isinstance(record, Delivered):
            for entry_id in record.ids:
                group.pel[entry_id] = _Pending(record.consumer, at, 1)
            group.last_delivered = max(group.last_delivered, record.ids[-1])
        elif isinstance(record, Claimed):
            for entry_id in record.dropped:
                group.pel.pop(entry_id, None)
            for entry_id in record.ids:
                pending = group.pel.get(entry_id)
                if pending is not None:
                    pending.consumer, pending.delivered_at = record.consumer, at
                    pending.deliveries += 1
        elif isinstance(record, Touched):
            for entry_id in record.dropped:
                group.pel.pop(entry_id, None)
            for entry_id in record.ids:
                pending = group.pel.get(entry_id)
                if pending is not None and pending.consumer == record.consumer:
                    pending.delivered_at = at
        else:
            group.pel[record.id] = _Pending(record.consumer, at, record.deliveries)

    def clear(self) -> None:
        """Forget every stream, before a rebuild from the append-only file."""
        for state in self._streams.values():
            # Blocked readers wait on the old objects: wake them to look again.
            if state.appended is not None:
                state.appended.set()
        self._streams.clear()

    def snapshot(self) -> list[Record]:
        """The records that rebuild every stream, group and pending entry as they are."""
        wall, now = self._wall_ms(), now_ms(self._clock)
        records: list[Record] = []
        for name, state in self._streams.items():
            records.extend(Appended(name, i, state.data[i], None) for i in state.ids)
            # After the entries: trims and acks may have left last_id beyond them.
            records.append(StreamTip(name, state.last_id))
            for group_name, group in state.groups.items():
                records.append(GroupCreated(name, group_name, group.last_delivered))
                records.extend(
                    PendingState(
                        name,
                        group_name,
                        entry_id,
                        p.consumer,
                        p.deliveries,
                        wall - (now - p.delivered_at),
                    )
                    for entry_id, p in group.pel.items()
                )
        return records
