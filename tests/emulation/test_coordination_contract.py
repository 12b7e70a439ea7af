"""One contract for every coordination adapter.

Each adapter is a ``coord`` fixture param: ``memory`` (in-process, with an
append-only file), ``unix`` (a client over a real Unix socket to a server in
this process) and ``valkey`` (the Redis at ``VALKEY_URL``). Tests talk to it
through a ``Harness`` so the same assertions hold for a fake clock (memory,
unix) and for real time (valkey, which sleeps in ``advance`` and sets
``slack_ms``). Names are namespaced per test so a shared server stays clean.

The valkey case is skipped without ``VALKEY_URL``, except under CI (``CI=true``
or ``TICKETS_REQUIRE_VALKEY=1``), where a missing or unreachable Valkey fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulation.arguments import MAX_INT_ARG
from emulation.connect import connect_coordination
from emulation.memory import MemoryCoordination
from emulation.memory.streams import TRIM_NODE
from emulation.namespace import namespaced
from emulation.ports import Coordination, Message, Subscription
from emulation.unix import CoordinationServer, UnixCoordination

CACHE_CAPACITY = 64
# How long a test waits for something that should happen at once; only a broken
# adapter needs it all, so it can be generous for a loaded CI machine.
WAIT = 30
VALKEY_URL = os.environ.get("VALKEY_URL", "")
VALKEY_REQUIRED = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("TICKETS_REQUIRE_VALKEY") == "1"
)


class FakeClock:
    """Monotonic seconds that only move when a test says so; ``wall`` moves with it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self._epoch = time.time() - self.now

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self._epoch + self.now


@dataclass
class Harness:
    coord: Coordination
    ns: str
    advance: Callable[[int], Awaitable[None]]
    # Stops the backend and starts it again from what it persisted; returns the
    # coordination to use from then on.
    restart: Callable[[], Awaitable[Coordination]]
    # Extra milliseconds a real backend needs around TTL boundaries; 0 means exact.
    slack_ms: int = 0
    # Entries a backend may keep above maxlen (XADD MAXLEN ~ trims whole nodes).
    trim_slack: int = 0
    # Size of the cache when the test controls it; None skips eviction tests.
    cache_capacity: int | None = None

    def key(self, name: str) -> str:
        return f"{self.ns}:{name}"

    async def restarted(self) -> Coordination:
        self.coord = await self.restart()
        return self.coord


def _ns() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


async def _memory_harness(tmp: Path) -> AsyncIterator[Harness]:
    clock = FakeClock()

    def open_memory() -> MemoryCoordination:
        return MemoryCoordination(
            max_cache_entries=CACHE_CAPACITY,
            clock=clock,
            wall_clock=clock.wall,
            aof_path=tmp / "m.aof",
            fsync="no",
        )

    async def advance(ms: int) -> None:
        clock.now += ms / 1000

    async def restart() -> Coordination:
        await harness.coord.close()
        return open_memory()

    harness = Harness(
        open_memory(),
        _ns(),
        advance,
        restart,
        trim_slack=TRIM_NODE,
        cache_capacity=CACHE_CAPACITY,
    )
    try:
        yield harness
    finally:
        await harness.coord.close()


async def _unix_harness(tmp: Path) -> AsyncIterator[Harness]:
    clock = FakeClock()
    path = tmp / "coord.sock"

    async def serve() -> CoordinationServer:
        memory = MemoryCoordination(
            max_cache_entries=CACHE_CAPACITY,
            clock=clock,
            wall_clock=clock.wall,
            aof_path=tmp / "u.aof",
            fsync="no",
        )
        server = CoordinationServer(memory, path)
        await server.start()
        return server

    async def advance(ms: int) -> None:
        clock.now += ms / 1000

    server = await serve()
    client = UnixCoordination(path)

    async def restart() -> Coordination:
        nonlocal server
        await server.close()
        server = await serve()
        # The same client: it reconnects by itself.
        return client

    try:
        yield Harness(
            client, _ns(), advance, restart, trim_slack=TRIM_NODE, cache_capacity=CACHE_CAPACITY
        )
    finally:
        await client.close()
        await server.close()


async def _valkey_harness(tmp: Path) -> AsyncIterator[Harness]:
    if not VALKEY_URL:
        if VALKEY_REQUIRED:
            pytest.fail("VALKEY_URL is not set, and CI requires the valkey contract to run")
        pytest.skip("VALKEY_URL is not set")
    try:
        coord = await connect_coordination(VALKEY_URL)
    except ConnectionError as exc:
        if VALKEY_REQUIRED:
            pytest.fail(f"Valkey at VALKEY_URL does not answer: {exc}")
        pytest.skip(f"Valkey at VALKEY_URL does not answer: {exc}")

    async def advance(ms: int) -> None:
        await asyncio.sleep(ms / 1000)

    async def restart() -> Coordination:
        # The server keeps its state; a new client is what a restarted process has.
        await harness.coord.close()
        return await connect_coordination(VALKEY_URL)

    # Real time: a garbage collection or a busy CI machine can pause the test for a
    # good part of a second between a write and the check of its TTL.
    harness = Harness(coord, _ns(), advance, restart, slack_ms=300, trim_slack=100)
    try:
        yield harness
    finally:
        from emulation.valkey import ValkeyCoordination

        assert isinstance(harness.coord, ValkeyCoordination)
        client = harness.coord.client
        keys = [key async for key in client.scan_iter(match=f"{harness.ns}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await harness.coord.close()


ADAPTERS = {"memory": _memory_harness, "unix": _unix_harness, "valkey": _valkey_harness}


@pytest.fixture(
    params=["memory", "unix", pytest.param("valkey", marks=pytest.mark.valkey)],
)
async def coord(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async for harness in ADAPTERS[request.param](tmp_path):
        yield harness


# --- cache -------------------------------------------------------------------


async def test_cache_set_get_delete(coord: Harness) -> None:
    cache, k = coord.coord.cache, coord.key("a")
    assert await cache.get(k) is None
    await cache.set(k, b"one")
    assert await cache.get(k) == b"one"
    await cache.set(k, b"two")
    assert await cache.get(k) == b"two"
    assert await cache.delete(k) is True
    assert await cache.delete(k) is False
    assert await cache.get(k) is None


async def test_cache_get_many_keeps_order_and_misses(coord: Harness) -> None:
    cache = coord.coord.cache
    await cache.set(coord.key("x"), b"X")
    await cache.set(coord.key("z"), b"Z")
    keys = [coord.key(n) for n in ("z", "missing", "x", "z")]
    assert await cache.get_many(keys) == [b"Z", None, b"X", b"Z"]
    assert await cache.get_many([]) == []


async def test_cache_set_if_absent(coord: Harness) -> None:
    cache, k = coord.coord.cache, coord.key("once")
    assert await cache.set_if_absent(k, b"first", ttl_ms=1_000) is True
    assert await cache.set_if_absent(k, b"second", ttl_ms=1_000) is False
    assert await cache.get(k) == b"first"
    # At exactly its TTL the key is still there (Valkey expires once now > expiry).
    await coord.advance(1_000 - coord.slack_ms)
    assert await cache.set_if_absent(k, b"early") is False
    await coord.advance(1 + 2 * coord.slack_ms)
    assert await cache.set_if_absent(k, b"third") is True
    assert await cache.get(k) == b"third"


async def test_cache_ttl_expires_at_boundary(coord: Harness) -> None:
    cache, k, forever = coord.coord.cache, coord.key("ttl"), coord.key("forever")
    await cache.set(k, b"v", ttl_ms=1_000)
    await cache.set(forever, b"f")
    # Valkey expires a key once now > expiry: at exactly ttl_ms it still reads.
    await coord.advance(1_000 - coord.slack_ms)
    assert await cache.get(k) == b"v"
    await coord.advance(1 + 2 * coord.slack_ms)
    assert await cache.get(k) is None
    assert await cache.get_many([k, forever]) == [None, b"f"]
    assert await cache.delete(k) is False


async def test_cache_set_replaces_ttl(coord: Harness) -> None:
    cache, k = coord.coord.cache, coord.key("re")
    await cache.set(k, b"short", ttl_ms=500)
    await cache.set(k, b"kept")
    await coord.advance(500 + 2 * coord.slack_ms)
    assert await cache.get(k) == b"kept"


async def test_cache_evicts_least_recently_used(coord: Harness) -> None:
    if coord.cache_capacity is None:
        pytest.skip("the backend's cache size is not under the test's control")
    cache, n = coord.coord.cache, coord.cache_capacity
    keys = [coord.key(f"k{i}") for i in range(n)]
    for i, k in enumerate(keys):
        await cache.set(k, str(i).encode())
    # A read makes k0 the most recently used, so k1 is now the oldest.
    assert await cache.get(keys[0]) == b"0"
    await cache.set(coord.key("new1"), b"n1")
    assert await cache.get(keys[1]) is None
    assert await cache.get(keys[0]) == b"0"
    await cache.set(coord.key("new2"), b"n2")
    assert await cache.get(keys[2]) is None
    survivors = await cache.get_many(keys[3:])
    assert all(v is not None for v in survivors)


# --- streams -----------------------------------------------------------------


def _id(text: str) -> tuple[int, int]:
    assert re.fullmatch(r"\d+-\d+", text), text
    ms, seq = text.split("-")
    return int(ms), int(seq)


async def test_stream_ids_strictly_increase(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    ids = [await streams.append(s, f"e{i}".encode()) for i in range(50)]
    parsed = [_id(i) for i in ids]
    assert parsed == sorted(parsed)
    assert len(set(parsed)) == 50
    assert await streams.length(s) == 50
    assert await streams.length(coord.key("never")) == 0


async def test_group_start_zero_sees_all_and_dollar_only_new(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.append(s, b"a")
    await streams.append(s, b"b")
    await streams.create_group(s, "all", start="0")
    await streams.create_group(s, "new", start="$")
    await streams.append(s, b"c")
    got_all = await streams.read_group(s, "all", "c1", count=10)
    got_new = await streams.read_group(s, "new", "c1", count=10)
    assert [e.data for e in got_all] == [b"a", b"b", b"c"]
    assert [e.data for e in got_new] == [b"c"]
    assert all(e.deliveries == 1 for e in got_all + got_new)
    assert got_new[0].id == got_all[2].id


async def test_create_group_is_idempotent(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    assert await streams.length(s) == 0
    for data in (b"1", b"2"):
        await streams.append(s, data)
    assert [e.data for e in await streams.read_group(s, "g", "c", count=1)] == [b"1"]
    await streams.create_group(s, "g", start="0")
    assert [e.data for e in await streams.read_group(s, "g", "c", count=5)] == [b"2"]


async def test_read_group_only_delivers_new_entries(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    await streams.append(s, b"x")
    assert len(await streams.read_group(s, "g", "c")) == 1
    # Unacknowledged entries are not handed out again by read_group.
    assert await streams.read_group(s, "g", "c") == []


async def test_read_group_without_group_raises(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.append(s, b"x")
    with pytest.raises(LookupError):
        await streams.read_group(s, "nope", "c")


async def test_a_missing_group_on_a_stream_named_like_an_error_is_still_missing(
    coord: Harness,
) -> None:
    # Valkey's NOGROUP error quotes the name: it is data, not a refused write.
    streams, s = coord.coord.streams, coord.key("MISCONF x")
    await streams.append(s, b"x")
    with pytest.raises(LookupError):
        await streams.read_group(s, "nope", "c")


async def test_two_consumers_never_share_an_entry(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    appended = {await streams.append(s, f"{i}".encode()) for i in range(40)}

    async def drain(consumer: str) -> list[str]:
        seen: list[str] = []
        while batch := await streams.read_group(s, "g", consumer, count=3):
            seen += [e.id for e in batch]
            await asyncio.sleep(0)
        return seen

    first, second = await asyncio.gather(drain("c1"), drain("c2"))
    assert first
    assert second
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == appended
    assert len(first) + len(second) == 40


async def test_ack_removes_from_pending(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    for i in range(3):
        await streams.append(s, f"{i}".encode())
    ids = [e.id for e in await streams.read_group(s, "g", "c")]
    assert [p.id for p in await streams.pending(s, "g")] == ids
    assert await streams.ack(s, "g", ids[:2]) == 2
    assert [p.id for p in await streams.pending(s, "g")] == ids[2:]
    assert await streams.ack(s, "g", ids[:2]) == 0
    assert await streams.ack(s, "g", [ids[2], ids[0]]) == 1
    assert await streams.pending(s, "g") == []


async def test_pending_reports_consumer_idle_time_and_deliveries(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    for i in range(4):
        await streams.append(s, f"{i}".encode())
    first = await streams.read_group(s, "g", "c1", count=2)
    await coord.advance(300)
    second = await streams.read_group(s, "g", "c2", count=2)
    await coord.advance(100)
    pending = await streams.pending(s, "g")
    assert [p.id for p in pending] == [e.id for e in first + second]
    assert [p.consumer for p in pending] == ["c1", "c1", "c2", "c2"]
    assert all(p.deliveries == 1 for p in pending)
    assert all(p.idle_ms >= 400 for p in pending[:2])
    assert all(p.idle_ms >= 100 for p in pending[2:])
    # Read 300 ms apart; compared with each other, a slow machine's delays cancel out.
    assert min(p.idle_ms for p in pending[:2]) - max(p.idle_ms for p in pending[2:]) >= 299
    assert len(await streams.pending(s, "g", count=3)) == 3


async def test_dead_consumer_entries_are_claimed_after_min_idle(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    for i in range(3):
        await streams.append(s, f"{i}".encode())
    taken = await streams.read_group(s, "g", "dead", count=2)
    # Not idle long enough yet: the holder may still be working.
    assert await streams.claim_idle(s, "g", "alive", min_idle_ms=1_000) == []
    await coord.advance(1_000 + coord.slack_ms)
    claimed = await streams.claim_idle(s, "g", "alive", min_idle_ms=1_000)
    assert [e.id for e in claimed] == [e.id for e in taken]
    assert [e.data for e in claimed] == [b"0", b"1"]
    assert all(e.deliveries == 2 for e in claimed)
    pending = await streams.pending(s, "g")
    assert [(p.consumer, p.deliveries) for p in pending] == [("alive", 2), ("alive", 2)]
    assert all(p.idle_ms < 1_000 for p in pending)
    # Claiming reset the idle clock, so nobody can steal them straight back.
    assert await streams.claim_idle(s, "g", "dead", min_idle_ms=1_000) == []
    # The third entry was never delivered: read_group still hands it out.
    assert [e.data for e in await streams.read_group(s, "g", "alive")] == [b"2"]
    assert await streams.ack(s, "g", [e.id for e in claimed]) == 2


async def test_claim_idle_respects_count(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    for i in range(5):
        await streams.append(s, f"{i}".encode())
    await streams.read_group(s, "g", "dead", count=5)
    await coord.advance(100 + coord.slack_ms)
    first = await streams.claim_idle(s, "g", "a", min_idle_ms=100, count=2)
    second = await streams.claim_idle(s, "g", "b", min_idle_ms=100, count=10)
    assert [e.data for e in first] == [b"0", b"1"]
    assert [e.data for e in second] == [b"2", b"3", b"4"]


async def test_claim_idle_drops_trimmed_entries(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    await streams.append(s, b"old")
    [old] = await streams.read_group(s, "g", "dead")
    # Enough entries that MAXLEN ~ (which trims whole nodes) drops the old one too.
    for i in range(3 + 2 * coord.trim_slack):
        await streams.append(s, f"new{i}".encode(), maxlen=1)
    await coord.advance(100 + coord.slack_ms)
    assert await streams.claim_idle(s, "g", "alive", min_idle_ms=100) == []
    assert old.id not in [p.id for p in await streams.pending(s, "g")]


async def test_claim_idle_finds_idle_entries_behind_many_busy_ones(coord: Harness) -> None:
    # XAUTOCLAIM looks at only COUNT * 10 pending entries per call; the port
    # promises every idle entry, so one stuck behind many busy ones is found too.
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    for i in range(31):
        await streams.append(s, f"{i}".encode())
    await streams.read_group(s, "g", "dead", count=31)
    await coord.advance(200 + coord.slack_ms)
    busy = await streams.claim_idle(s, "g", "busy", min_idle_ms=200, count=30)
    assert len(busy) == 30
    late = await streams.claim_idle(s, "g", "alive", min_idle_ms=200, count=1)
    assert [(e.data, e.deliveries) for e in late] == [(b"30", 2)]


async def test_claim_idle_drops_trimmed_entries_before_they_are_idle(coord: Harness) -> None:
    # Valkey drops a pending entry whose data is gone whatever its idle time.
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    await streams.append(s, b"old")
    [old] = await streams.read_group(s, "g", "dead")
    for i in range(3 + 2 * coord.trim_slack):
        await streams.append(s, f"new{i}".encode(), maxlen=1)
    assert await streams.claim_idle(s, "g", "alive", min_idle_ms=60_000) == []
    assert old.id not in [p.id for p in await streams.pending(s, "g")]


async def test_a_touched_entry_is_not_claimed_until_idle_again(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    await streams.append(s, b"slow")
    [entry] = await streams.read_group(s, "g", "busy")
    await coord.advance(1_000 + coord.slack_ms)
    # Idle long enough to be claimed; the touch says its holder still works on it.
    assert await streams.touch(s, "g", "busy", [entry.id]) == [entry.id]
    assert await streams.claim_idle(s, "g", "other", min_idle_ms=1_000) == []
    [held] = await streams.pending(s, "g")
    assert (held.consumer, held.deliveries) == ("busy", 1)
    assert held.idle_ms < 1_000
    await coord.advance(1_000 + coord.slack_ms)
    # A touch is not a delivery: the claim is the second one.
    claimed = await streams.claim_idle(s, "g", "other", min_idle_ms=1_000)
    assert [(e.id, e.deliveries) for e in claimed] == [(entry.id, 2)]


async def test_touch_leaves_other_consumers_entries_and_unknown_ids_alone(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    ids = [await streams.append(s, f"{i}".encode()) for i in range(4)]
    mine = await streams.read_group(s, "g", "me", count=2)
    theirs = await streams.read_group(s, "g", "them", count=1)
    never_read = ids[3]
    await streams.ack(s, "g", [mine[1].id])
    await coord.advance(1_000 + coord.slack_ms)
    asked = [theirs[0].id, mine[1].id, "1-0", never_read, mine[0].id, mine[0].id]
    # Not "them"'s entry, not the acknowledged one, not unknown or never-read ids;
    # the one still ours, once.
    assert await streams.touch(s, "g", "me", asked) == [mine[0].id]
    pending = {p.id: p for p in await streams.pending(s, "g")}
    assert pending[theirs[0].id].consumer == "them"
    assert pending[theirs[0].id].idle_ms >= 1_000
    assert pending[mine[0].id].idle_ms < 1_000
    assert set(pending) == {mine[0].id, theirs[0].id}
    # Their entry is still theirs to lose to an idle claim; ours is not idle.
    claimed = await streams.claim_idle(s, "g", "other", min_idle_ms=1_000)
    assert [(e.id, e.deliveries) for e in claimed] == [(theirs[0].id, 2)]
    assert await streams.touch(s, "g", "me", []) == []


async def test_touch_drops_a_trimmed_entry_like_a_claim(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    await streams.append(s, b"old")
    [old] = await streams.read_group(s, "g", "me")
    for i in range(3 + 2 * coord.trim_slack):
        await streams.append(s, f"new{i}".encode(), maxlen=1)
    assert await streams.touch(s, "g", "me", [old.id]) == []
    assert old.id not in [p.id for p in await streams.pending(s, "g")]


async def test_touch_without_group_raises(coord: Harness) -> None:
    with pytest.raises(LookupError):
        await coord.coord.streams.touch(coord.key("nothing"), "g", "c", ["1-0"])


async def test_touch_refuses_a_string_of_ids(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    with pytest.raises(TypeError, match="not a string"):
        await streams.touch(s, "g", "c", "1-0")


async def test_cancelled_blocking_read_takes_nothing(coord: Harness) -> None:
    # A reader that gave up (cancelled, timed out) must not have later entries
    # handed to it: they would sit pending until someone claims them.
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g", start="$")
    reader = asyncio.create_task(streams.read_group(s, "g", "gone", block_ms=5_000))
    await asyncio.sleep(0.05)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await asyncio.sleep(0.05)
    entry_id = await streams.append(s, b"x")
    await asyncio.sleep(0.05)
    assert await streams.pending(s, "g") == []
    assert [e.id for e in await streams.read_group(s, "g", "alive")] == [entry_id]


async def test_blocking_read_wakes_on_append(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g", start="$")
    # Blocks far longer than the test waits: only the append can end it in time.
    reader = asyncio.create_task(streams.read_group(s, "g", "c", block_ms=120_000))
    await asyncio.sleep(0.05)
    assert not reader.done()
    entry_id = await streams.append(s, b"wake")
    got = await asyncio.wait_for(reader, timeout=WAIT)
    assert [(e.id, e.data) for e in got] == [(entry_id, b"wake")]


async def test_blocking_readers_share_out_entries(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g", start="$")
    # Long enough that a loaded machine still appends while both wait.
    readers = [
        asyncio.create_task(streams.read_group(s, "g", f"c{i}", count=1, block_ms=2_000))
        for i in range(2)
    ]
    await asyncio.sleep(0.02)
    await streams.append(s, b"only")
    results = await asyncio.wait_for(asyncio.gather(*readers), timeout=WAIT)
    # One reader gets it; the other keeps waiting and then times out empty.
    assert sorted(len(r) for r in results) == [0, 1]


async def test_blocking_read_returns_empty_after_block_ms(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(streams.read_group(s, "g", "c", block_ms=150), WAIT) == []
    assert loop.time() - started >= 0.14
    # Without block_ms it does not block at all (Valkey's BLOCK 0 would wait forever).
    assert await asyncio.wait_for(streams.read_group(s, "g", "c"), WAIT) == []


async def test_append_maxlen_trims_oldest(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    ids = [await streams.append(s, f"{i}".encode(), maxlen=3) for i in range(10)]
    length = await streams.length(s)
    assert 3 <= length <= 3 + coord.trim_slack
    await streams.create_group(s, "g", start="0")
    kept = await streams.read_group(s, "g", "c", count=100)
    assert [e.id for e in kept] == ids[-length:]
    assert kept[-1].data == b"9"


# --- leases ------------------------------------------------------------------


async def test_lease_is_exclusive(coord: Harness) -> None:
    leases, name = coord.coord.leases, coord.key("lease")
    token = await leases.acquire(name, "a", ttl_ms=1_000)
    assert token is not None
    assert await leases.acquire(name, "b", ttl_ms=1_000) is None
    info = await leases.holder(name)
    assert info is not None
    assert (info.owner, info.token) == ("a", token)
    assert 0 < info.ttl_ms <= 1_000
    assert await leases.holder(coord.key("free")) is None


async def test_lease_reacquire_by_owner_keeps_token_and_extends(coord: Harness) -> None:
    leases, name = coord.coord.leases, coord.key("lease")
    token = await leases.acquire(name, "a", ttl_ms=1_000)
    await coord.advance(600)
    assert await leases.acquire(name, "a", ttl_ms=1_000) == token
    await coord.advance(600)
    info = await leases.holder(name)
    assert info is not None
    assert (info.owner, info.token) == ("a", token)


async def test_lease_fencing_token_increases_across_owners(coord: Harness) -> None:
    leases, name = coord.coord.leases, coord.key("lease")
    t1 = await leases.acquire(name, "a", ttl_ms=1_000)
    assert t1 is not None
    assert await leases.release(name, "a") is True
    t2 = await leases.acquire(name, "b", ttl_ms=500)
    assert t2 is not None
    assert t2 > t1
    await coord.advance(501 + 2 * coord.slack_ms)
    t3 = await leases.acquire(name, "a", ttl_ms=1_000)
    assert t3 is not None
    assert t3 > t2


async def test_lease_renew_and_release_only_by_owner(coord: Harness) -> None:
    leases, name = coord.coord.leases, coord.key("lease")
    token = await leases.acquire(name, "a", ttl_ms=1_000)
    assert await leases.renew(name, "b", ttl_ms=1_000) is False
    assert await leases.release(name, "b") is False
    info = await leases.holder(name)
    assert info is not None
    assert info.owner == "a"
    await coord.advance(700)
    assert await leases.renew(name, "a", ttl_ms=1_000) is True
    await coord.advance(700)
    info = await leases.holder(name)
    assert info is not None
    assert (info.owner, info.token) == ("a", token)
    assert await leases.release(name, "a") is True
    assert await leases.holder(name) is None
    assert await leases.renew(name, "a", ttl_ms=1_000) is False
    assert await leases.release(name, "a") is False


async def test_lease_expiry_lets_another_owner_in(coord: Harness) -> None:
    leases, name = coord.coord.leases, coord.key("lease")
    t1 = await leases.acquire(name, "paused", ttl_ms=1_000)
    assert t1 is not None
    # At exactly its TTL the lease is still held, as a Valkey key is.
    await coord.advance(1_000 - coord.slack_ms)
    assert await leases.acquire(name, "other", ttl_ms=1_000) is None
    info = await leases.holder(name)
    assert info is not None
    assert (info.owner, info.token) == ("paused", t1)
    assert 0 <= info.ttl_ms <= 2 * coord.slack_ms
    # The holder stalls (GC pause, blocked loop) past its TTL.
    await coord.advance(1 + 2 * coord.slack_ms)
    assert await leases.holder(name) is None
    t2 = await leases.acquire(name, "other", ttl_ms=1_000)
    assert t2 is not None
    assert t2 > t1
    # Waking up, the old holder learns it lost the lease and cannot take it back.
    assert await leases.renew(name, "paused", ttl_ms=1_000) is False
    assert await leases.release(name, "paused") is False
    info = await leases.holder(name)
    assert info is not None
    assert (info.owner, info.token) == ("other", t2)


# --- pub/sub -----------------------------------------------------------------


async def _next(sub: Subscription, it: AsyncIterator[Message] | None = None) -> Message:
    iterator = it if it is not None else aiter(sub)
    return await asyncio.wait_for(anext(iterator), timeout=WAIT)


async def _nothing_arrives(it: AsyncIterator[Message]) -> bool:
    try:
        await asyncio.wait_for(anext(it), timeout=0.05)
    except (TimeoutError, StopAsyncIteration):
        return True
    return False


async def test_pubsub_channel_subscription(coord: Harness) -> None:
    pubsub, ch = coord.coord.pubsub, coord.key("chan")
    sub = await pubsub.subscribe(channels=[ch])
    it = aiter(sub)
    assert await pubsub.publish(ch, b"hello") == 1
    assert await pubsub.publish(coord.key("other"), b"nope") == 0
    assert await pubsub.publish(ch, b"again") == 1
    assert await _next(sub, it) == Message(channel=ch, data=b"hello", pattern=None)
    assert (await _next(sub, it)).data == b"again"
    await sub.close()


async def test_pubsub_pattern_subscription(coord: Harness) -> None:
    pubsub = coord.coord.pubsub
    pattern = coord.key("tickets:*")
    sub = await pubsub.subscribe(patterns=[pattern])
    it = aiter(sub)
    assert await pubsub.publish(coord.key("tickets:42"), b"t") == 1
    assert await pubsub.publish(coord.key("guilds:1"), b"g") == 0
    msg = await _next(sub, it)
    assert msg == Message(channel=coord.key("tickets:42"), data=b"t", pattern=pattern)
    assert await _nothing_arrives(it)
    await sub.close()


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        # Valkey negates a class with ^ only; ! is an ordinary character.
        ("[^a]x", ["bx", "^x"], ["ax"]),
        ("[!b]z", ["!z", "bz"], ["az"]),
        # A backslash escapes, outside and inside a class.
        ("\\*y", ["*y"], ["qy", "*"]),
        ("[\\]]w", ["]w"], ["\\w"]),
        # Ranges, reversed ranges, ? and *.
        ("[c-a]r", ["ar", "br", "cr"], ["dr"]),
        ("h?l*o", ["hello", "hxl!o", "halo"], ["hlo", "hellx"]),
        # Valkey matches bytes: ? and a class take one byte of a two-byte é.
        ("?x", ["ax"], ["éx"]),
        ("??x", ["éx"], ["ax"]),
        ("[^a]x", [], ["éx"]),
        ("[é]x", [], ["éx"]),
        # Range ends are signed chars: 0xe2, the first byte of €, is below "a".
        ("[a-é]??", ["€"], []),
    ],
)
async def test_pubsub_patterns_follow_valkey_glob(
    coord: Harness, pattern: str, matches: list[str], misses: list[str]
) -> None:
    pubsub, prefix = coord.coord.pubsub, coord.key("g:")
    sub = await pubsub.subscribe(patterns=[prefix + pattern])
    for channel in matches:
        assert await pubsub.publish(prefix + channel, b"m") == 1, channel
    for channel in misses:
        assert await pubsub.publish(prefix + channel, b"m") == 0, channel
    await sub.close()


async def test_pubsub_star_does_not_match_the_empty_channel(coord: Harness) -> None:
    # Valkey's matcher never starts on an empty name: only "" matches "".
    sub = await coord.coord.pubsub.subscribe(patterns=["*", "**"])
    assert await coord.coord.pubsub.publish("", b"m") == 0
    await sub.close()


async def test_pubsub_fans_out_to_every_subscriber(coord: Harness) -> None:
    pubsub, ch = coord.coord.pubsub, coord.key("chan")
    subs = [await pubsub.subscribe(channels=[ch]) for _ in range(3)]
    assert await pubsub.publish(ch, b"all") == 3
    for sub in subs:
        assert (await _next(sub)).data == b"all"
        await sub.close()


async def test_pubsub_close_stops_delivery(coord: Harness) -> None:
    pubsub, ch = coord.coord.pubsub, coord.key("chan")
    sub = await pubsub.subscribe(channels=[ch], patterns=[coord.key("*")])
    received: list[bytes] = []

    async def listen() -> None:
        async for message in sub:
            received.append(message.data)

    listener = asyncio.create_task(listen())
    assert await pubsub.publish(ch, b"before") == 2
    async with asyncio.timeout(WAIT):
        while len(received) < 2:
            await asyncio.sleep(0.01)
    await sub.close()
    # Iteration ends by itself: the listener finishes without being cancelled.
    await asyncio.wait_for(listener, timeout=WAIT)
    assert received == [b"before", b"before"]
    assert await pubsub.publish(ch, b"after") == 0
    assert await _nothing_arrives(aiter(sub))


# --- counters ----------------------------------------------------------------


async def test_counter_concurrent_increments_sum_exactly(coord: Harness) -> None:
    counters, k = coord.coord.counters, coord.key("hits")
    results = await asyncio.gather(*(counters.incr(k) for _ in range(200)))
    assert sorted(results) == list(range(1, 201))
    assert await counters.incr(k, by=5) == 205
    assert await counters.incr(k, by=-10) == 195


async def test_counter_ttl_is_set_on_creation_and_expiry_restarts(coord: Harness) -> None:
    counters, k = coord.coord.counters, coord.key("rate")
    assert await counters.incr(k, ttl_ms=1_000) == 1
    await coord.advance(600)
    # A later ttl_ms does not push the window out.
    assert await counters.incr(k, ttl_ms=1_000) == 2
    # Still counting at exactly the TTL: Valkey expires the key once now > expiry.
    await coord.advance(400 - coord.slack_ms)
    assert await counters.incr(k, ttl_ms=1_000) == 3
    await coord.advance(1 + 2 * coord.slack_ms)
    assert await counters.incr(k, ttl_ms=1_000) == 1
    assert await counters.incr(coord.key("no-ttl")) == 1


# --- per-tenant cache namespaces ---------------------------------------------


async def test_cache_namespaces_keep_tenants_apart(coord: Harness) -> None:
    one = namespaced(coord.coord.cache, coord.key("tenant-1"))
    two = namespaced(coord.coord.cache, coord.key("tenant-2"))
    await one.set("k", b"one")
    assert await two.get("k") is None
    assert await two.set_if_absent("k", b"two", ttl_ms=1_000) is True
    assert await one.get_many(["k", "missing"]) == [b"one", None]
    assert await two.get_many(["k"]) == [b"two"]
    assert await one.delete("k") is True
    assert await two.get("k") == b"two"
    assert await coord.coord.cache.get("k") is None


# --- dead letters and rate limits --------------------------------------------


async def test_entry_moves_to_dead_letters_after_k_deliveries(coord: Harness) -> None:
    streams, s, dead = coord.coord.streams, coord.key("s"), coord.key("s:dead")
    max_deliveries = 3
    await streams.create_group(s, "g")
    await streams.append(s, b"poison")
    await streams.append(s, b"fine")
    [entry] = await streams.read_group(s, "g", "c1", count=1)
    deliveries = entry.deliveries
    while deliveries < max_deliveries:
        await coord.advance(50 + coord.slack_ms)
        [entry] = await streams.claim_idle(s, "g", f"c{deliveries + 1}", min_idle_ms=50, count=1)
        deliveries = entry.deliveries
    assert [p.deliveries for p in await streams.pending(s, "g")] == [max_deliveries]
    moved = await streams.dead_letter(s, "g", entry.id, dead)
    assert moved is not None
    _id(moved)
    assert await streams.pending(s, "g") == []
    assert await streams.length(dead) == 1
    await streams.create_group(dead, "ops", start="0")
    assert [e.data for e in await streams.read_group(dead, "ops", "op")] == [b"poison"]
    # Not pending any more: nothing to move, and nothing appended twice.
    assert await streams.dead_letter(s, "g", entry.id, dead) is None
    assert await streams.length(dead) == 1
    # The entry that never failed is untouched.
    assert [e.data for e in await streams.read_group(s, "g", "c1")] == [b"fine"]


async def test_dead_letter_without_group_raises(coord: Harness) -> None:
    streams, s = coord.coord.streams, coord.key("s")
    entry_id = await streams.append(s, b"x")
    with pytest.raises(LookupError):
        await streams.dead_letter(s, "nope", entry_id, coord.key("dead"))


async def test_sliding_window_limit(coord: Harness) -> None:
    counters, k = coord.coord.counters, coord.key("limit")
    assert [await counters.allow(k, limit=3, window_ms=1_000) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    await coord.advance(600)
    # Still inside the window of the first three hits; refused hits do not count.
    assert await counters.allow(k, limit=3, window_ms=1_000) is False
    await coord.advance(400 + 2 * coord.slack_ms)
    results = [await counters.allow(k, limit=3, window_ms=1_000) for _ in range(4)]
    assert results == [True, True, True, False]
    assert await counters.allow(coord.key("other"), limit=1, window_ms=1_000) is True


async def test_sliding_window_concurrent_hits_never_exceed_limit(coord: Harness) -> None:
    counters, k = coord.coord.counters, coord.key("burst")
    results = await asyncio.gather(
        *(counters.allow(k, limit=25, window_ms=10_000) for _ in range(100))
    )
    assert results.count(True) == 25


async def test_sliding_window_keeps_its_hits_when_the_window_changes(coord: Harness) -> None:
    # One log of hits per key, whatever window a call asks about (the ALLOW
    # script's sorted set): a longer window still sees earlier hits.
    counters, k = coord.coord.counters, coord.key("resized")
    assert await counters.allow(k, limit=2, window_ms=1_000) is True
    assert await counters.allow(k, limit=2, window_ms=1_000) is True
    assert await counters.allow(k, limit=2, window_ms=5_000) is False
    assert await counters.allow(k, limit=3, window_ms=5_000) is True
    # A shorter window counts only the hits inside it.
    await coord.advance(300)
    assert await counters.allow(k, limit=1, window_ms=200) is True
    assert await counters.allow(k, limit=1, window_ms=200) is False


async def test_sliding_window_log_expires_a_window_after_its_last_counted_hit(
    coord: Harness,
) -> None:
    # The log's key expires window_ms after the last counted hit, with that
    # hit's window: a later call with a longer window finds it gone.
    counters, k = coord.coord.counters, coord.key("forgotten")
    assert await counters.allow(k, limit=2, window_ms=5_000) is True
    assert await counters.allow(k, limit=2, window_ms=500) is True
    assert await counters.allow(k, limit=2, window_ms=5_000) is False
    await coord.advance(500 - coord.slack_ms)
    assert await counters.allow(k, limit=2, window_ms=5_000) is False
    await coord.advance(1 + 2 * coord.slack_ms)
    assert await counters.allow(k, limit=2, window_ms=5_000) is True


# --- invalid arguments -------------------------------------------------------

BIG = MAX_INT_ARG + 1
InvalidCall = Callable[[Coordination, str], Awaitable[object]]

# Each call refused by every adapter with the same ValueError, before it changes
# anything. The stream "s" has a group "g" holding one pending entry.
INVALID_CALLS: dict[str, tuple[InvalidCall, str]] = {}


def _invalid(name: str, call: InvalidCall, message: str) -> None:
    INVALID_CALLS[name] = (call, message)


_invalid("set ttl 0", lambda c, k: c.cache.set(k, b"v", ttl_ms=0), "ttl_ms must be positive")
_invalid("set ttl -1", lambda c, k: c.cache.set(k, b"v", ttl_ms=-1), "ttl_ms must be positive")
_invalid("set ttl huge", lambda c, k: c.cache.set(k, b"v", ttl_ms=BIG), "ttl_ms is out of range")
_invalid(
    "set_if_absent ttl 0",
    lambda c, k: c.cache.set_if_absent(k, b"v", ttl_ms=0),
    "ttl_ms must be positive",
)
_invalid(
    "append maxlen -1",
    lambda c, k: c.streams.append(f"{k}:s", b"x", maxlen=-1),
    "maxlen must not be negative",
)
_invalid(
    "append maxlen huge",
    lambda c, k: c.streams.append(f"{k}:s", b"x", maxlen=BIG),
    "maxlen is out of range",
)
_invalid(
    "create_group bad start",
    lambda c, k: c.streams.create_group(f"{k}:s", "g2", start="nope"),
    "malformed stream id 'nope'",
)
_invalid(
    "create_group start -1",
    lambda c, k: c.streams.create_group(f"{k}:s", "g2", start="-1"),
    "malformed stream id '-1'",
)
_invalid(
    "create_group start past 64 bits",
    lambda c, k: c.streams.create_group(f"{k}:s", "g2", start=str(2**64)),
    "malformed stream id",
)
_invalid(
    "read_group count 0",
    lambda c, k: c.streams.read_group(f"{k}:s", "g", "c", count=0),
    "count must be positive",
)
_invalid(
    "read_group count huge",
    lambda c, k: c.streams.read_group(f"{k}:s", "g", "c", count=BIG),
    "count is out of range",
)
_invalid(
    "read_group block -1",
    lambda c, k: c.streams.read_group(f"{k}:s", "g", "c", block_ms=-1),
    "block_ms must not be negative",
)
_invalid(
    "ack bad id",
    lambda c, k: c.streams.ack(f"{k}:s", "g", ["0-1", "bad"]),
    "malformed stream id 'bad'",
)
_invalid(
    "pending count 0",
    lambda c, k: c.streams.pending(f"{k}:s", "g", count=0),
    "count must be positive",
)
_invalid(
    "claim_idle min_idle -1",
    lambda c, k: c.streams.claim_idle(f"{k}:s", "g", "c", min_idle_ms=-1),
    "min_idle_ms must not be negative",
)
_invalid(
    "claim_idle count 0",
    lambda c, k: c.streams.claim_idle(f"{k}:s", "g", "c", min_idle_ms=0, count=0),
    "count must be positive",
)
_invalid(
    "claim_idle count huge",
    lambda c, k: c.streams.claim_idle(f"{k}:s", "g", "c", min_idle_ms=0, count=BIG),
    "count is out of range",
)
_invalid(
    "touch bad id",
    lambda c, k: c.streams.touch(f"{k}:s", "g", "c", ["0-1", "1-x"]),
    "malformed stream id '1-x'",
)
_invalid(
    "touch id past 64 bits",
    lambda c, k: c.streams.touch(f"{k}:s", "g", "c", [f"{2**64}-0"]),
    "malformed stream id",
)
_invalid(
    "dead_letter bad id",
    lambda c, k: c.streams.dead_letter(f"{k}:s", "g", "1-x", f"{k}:dead"),
    "malformed stream id '1-x'",
)
_invalid(
    "dead_letter maxlen -1",
    lambda c, k: c.streams.dead_letter(f"{k}:s", "g", "0-1", f"{k}:dead", maxlen=-1),
    "maxlen must not be negative",
)
_invalid(
    "acquire ttl 0",
    lambda c, k: c.leases.acquire(f"{k}:l", "a", ttl_ms=0),
    "ttl_ms must be positive",
)
_invalid(
    "acquire ttl huge",
    lambda c, k: c.leases.acquire(f"{k}:l", "a", ttl_ms=BIG),
    "ttl_ms is out of range",
)
_invalid(
    "renew ttl -5", lambda c, k: c.leases.renew(f"{k}:l", "a", ttl_ms=-5), "ttl_ms must be positive"
)
_invalid("incr ttl 0", lambda c, k: c.counters.incr(f"{k}:n", ttl_ms=0), "ttl_ms must be positive")
_invalid(
    "incr ttl 0 on a live counter",
    lambda c, k: c.counters.incr(f"{k}:live", ttl_ms=0),
    "ttl_ms must be positive",
)
_invalid(
    "incr by past 64 bits", lambda c, k: c.counters.incr(f"{k}:n", by=2**63), "by is out of range"
)
_invalid(
    "allow limit 0",
    lambda c, k: c.counters.allow(f"{k}:r", limit=0, window_ms=1_000),
    "limit must be positive",
)
_invalid(
    "allow window -1",
    lambda c, k: c.counters.allow(f"{k}:r", limit=1, window_ms=-1),
    "window_ms must be positive",
)
_invalid(
    "allow window huge",
    lambda c, k: c.counters.allow(f"{k}:r", limit=1, window_ms=BIG),
    "window_ms is out of range",
)
# Past what msgpack carries: the unix client must not fail with OverflowError.
_invalid("set ttl past 64 bits", lambda c, k: c.cache.set(k, b"v", ttl_ms=2**64), "out of range")
_invalid(
    "incr by below 64 bits", lambda c, k: c.counters.incr(f"{k}:n", by=-(2**63) - 1), "out of range"
)
_invalid(
    "subscribe to nothing", lambda c, k: c.pubsub.subscribe(), "at least one channel or pattern"
)


@pytest.mark.parametrize("case", list(INVALID_CALLS))
async def test_invalid_arguments_raise_the_same_value_error(coord: Harness, case: str) -> None:
    streams, k = coord.coord.streams, coord.key("bad")
    await streams.create_group(f"{k}:s", "g")
    entry_id = await streams.append(f"{k}:s", b"x")
    [taken] = await streams.read_group(f"{k}:s", "g", "c")
    assert await coord.coord.counters.incr(f"{k}:live", ttl_ms=60_000) == 1
    call, message = INVALID_CALLS[case]
    with pytest.raises(ValueError, match=re.escape(message)):
        await call(coord.coord, k)
    # Nothing changed: the entry is still pending, the counter where it was.
    assert [p.id for p in await streams.pending(f"{k}:s", "g")] == [taken.id] == [entry_id]
    assert await streams.length(f"{k}:s") == 1
    assert await streams.length(f"{k}:dead") == 0
    assert await coord.coord.leases.holder(f"{k}:l") is None
    assert await coord.coord.counters.incr(f"{k}:live") == 2


async def test_ack_with_one_malformed_id_acks_none(coord: Harness) -> None:
    # XACK checks every id before acknowledging any.
    streams, s = coord.coord.streams, coord.key("s")
    await streams.create_group(s, "g")
    await streams.append(s, b"x")
    [entry] = await streams.read_group(s, "g", "c")
    with pytest.raises(ValueError, match="malformed stream id"):
        await streams.ack(s, "g", [entry.id, "nope"])
    assert [p.id for p in await streams.pending(s, "g")] == [entry.id]


async def test_counter_increment_past_64_bits_is_refused(coord: Harness) -> None:
    counters, k = coord.coord.counters, coord.key("big")
    top = 2**63 - 1
    assert await counters.incr(k, by=top) == top
    with pytest.raises(ValueError, match="would overflow 64 bits"):
        await counters.incr(k)
    assert await counters.incr(k, by=-top) == 0
    assert await counters.incr(k, by=-(2**63)) == -(2**63)
    with pytest.raises(ValueError, match="would overflow 64 bits"):
        await counters.incr(k, by=-1)


# --- restarts ----------------------------------------------------------------


async def test_fencing_tokens_never_go_backwards_across_a_restart(coord: Harness) -> None:
    name = coord.key("lease")
    t1 = await coord.coord.leases.acquire(name, "a", ttl_ms=5_000)
    assert t1 is not None
    assert await coord.coord.leases.release(name, "a") is True
    t2 = await coord.coord.leases.acquire(name, "b", ttl_ms=5_000)
    assert t2 is not None
    assert t2 > t1
    leases = (await coord.restarted()).leases
    # The live lease survived with its holder and token.
    info = await leases.holder(name)
    assert info is not None
    assert (info.owner, info.token) == ("b", t2)
    assert await leases.acquire(name, "c", ttl_ms=5_000) is None
    assert await leases.release(name, "b") is True
    t3 = await leases.acquire(name, "c", ttl_ms=5_000)
    assert t3 is not None
    assert t3 > t2


async def test_pending_entries_survive_a_restart(coord: Harness) -> None:
    s = coord.key("s")
    streams = coord.coord.streams
    await streams.create_group(s, "g")
    ids = [await streams.append(s, f"{i}".encode()) for i in range(4)]
    taken = await streams.read_group(s, "g", "dead", count=3)
    assert await streams.ack(s, "g", [taken[0].id]) == 1
    streams = (await coord.restarted()).streams
    assert await streams.length(s) == 4
    pending = await streams.pending(s, "g")
    assert [(p.id, p.consumer, p.deliveries) for p in pending] == [
        (ids[1], "dead", 1),
        (ids[2], "dead", 1),
    ]
    await coord.advance(100 + coord.slack_ms)
    claimed = await streams.claim_idle(s, "g", "alive", min_idle_ms=100)
    assert [(e.id, e.deliveries) for e in claimed] == [(ids[1], 2), (ids[2], 2)]
    # What was never delivered is still next for the group.
    assert [e.id for e in await streams.read_group(s, "g", "alive")] == [ids[3]]
    later = await streams.append(s, b"after")
    assert _id(later) > _id(ids[-1])


async def test_a_touch_survives_a_restart(coord: Harness) -> None:
    s = coord.key("s")
    streams = coord.coord.streams
    await streams.create_group(s, "g")
    await streams.append(s, b"slow")
    [entry] = await streams.read_group(s, "g", "busy")
    await coord.advance(1_000 + coord.slack_ms)
    assert await streams.touch(s, "g", "busy", [entry.id]) == [entry.id]
    streams = (await coord.restarted()).streams
    [held] = await streams.pending(s, "g")
    assert (held.consumer, held.deliveries) == ("busy", 1)
    # Replayed without the touch, it would be idle since its delivery and taken here.
    assert await streams.claim_idle(s, "g", "other", min_idle_ms=1_000) == []
    await coord.advance(1_000 + coord.slack_ms)
    claimed = await streams.claim_idle(s, "g", "other", min_idle_ms=1_000)
    assert [(e.id, e.deliveries) for e in claimed] == [(entry.id, 2)]


async def test_expired_lease_stays_expired_across_a_restart(coord: Harness) -> None:
    name = coord.key("lease")
    t1 = await coord.coord.leases.acquire(name, "paused", ttl_ms=500)
    assert t1 is not None
    await coord.advance(501 + 2 * coord.slack_ms)
    leases = (await coord.restarted()).leases
    assert await leases.holder(name) is None
    assert await leases.renew(name, "paused", ttl_ms=500) is False
    t2 = await leases.acquire(name, "other", ttl_ms=500)
    assert t2 is not None
    assert t2 > t1


# --- the memory adapter only -------------------------------------------------


async def test_memory_stream_ids_increase_when_wall_clock_steps_back() -> None:
    wall = [2_000.0]
    coord = MemoryCoordination(wall_clock=lambda: wall[0])
    first = _id(await coord.streams.append("s", b"1"))
    wall[0] = 1_000.0
    second = _id(await coord.streams.append("s", b"2"))
    third = _id(await coord.streams.append("s", b"3"))
    wall[0] = 3_000.0
    fourth = _id(await coord.streams.append("s", b"4"))
    assert first == (2_000_000, 0)
    assert first < second < third < fourth
    assert fourth == (3_000_000, 0)
    await coord.close()


async def test_memory_close_ends_open_subscriptions() -> None:
    coord = MemoryCoordination()
    sub = await coord.pubsub.subscribe(channels=["c"])
    it = aiter(sub)

    async def first() -> Message:
        return await anext(it)

    waiting = asyncio.create_task(first())
    await asyncio.sleep(0.01)
    await coord.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, timeout=WAIT)


async def test_connect_memory_url() -> None:
    coord = await connect_coordination("memory://")
    assert isinstance(coord, MemoryCoordination)
    await coord.close()


async def test_connect_memory_url_max_entries() -> None:
    coord = await connect_coordination("memory://?max_entries=2")
    for k in ("a", "b", "c"):
        await coord.cache.set(k, k.encode())
    assert await coord.cache.get_many(["a", "b", "c"]) == [None, b"b", b"c"]
    await coord.close()


@pytest.mark.parametrize("url", ["memory://?max_entries=0", "memory://?max_entries=x"])
async def test_connect_rejects_bad_max_entries(url: str) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        await connect_coordination(url)


async def test_connect_memory_url_with_an_append_only_file(tmp_path: Path) -> None:
    path = str(tmp_path / "coord.aof")
    coord = await connect_coordination("memory://", aof_path=path, fsync="always")
    token = await coord.leases.acquire("l", "me", ttl_ms=60_000)
    entry_id = await coord.streams.append("s", b"kept")
    await coord.close()
    again = await connect_coordination("memory://", aof_path=path)
    assert await again.streams.length("s") == 1
    info = await again.leases.holder("l")
    assert info is not None
    assert (info.owner, info.token) == ("me", token)
    await again.streams.create_group("s", "g", start="0")
    assert [e.id for e in await again.streams.read_group("s", "g", "c")] == [entry_id]
    await again.close()


async def test_connect_unix_url(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    async with CoordinationServer(MemoryCoordination(), path):
        coord = await connect_coordination(f"unix://{path}")
        assert isinstance(coord, UnixCoordination)
        await coord.cache.set("k", b"v")
        assert await coord.cache.get("k") == b"v"
        await coord.close()


async def test_connect_to_nothing_is_a_connection_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectionError, match="cannot reach the coordination server"):
        await connect_coordination(f"unix://{tmp_path / 'nobody.sock'}", timeout_s=0.2)
    with pytest.raises(ConnectionError, match=r"cannot reach Valkey at redis://:\*\*\*@"):
        await connect_coordination("redis://:hunter2@127.0.0.1:1/0")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("unix://", "names no socket path"),
        ("unix:///x.sock?mode=1", "unknown option"),
        ("redis://", "names no host"),
        ("redis://:secret@host:99999", "redis://:***@host:99999' has an invalid port"),
        ("valkey://host/zero", "must be a number"),
        ("redis+unix://", "names no socket path"),
    ],
)
async def test_connect_rejects_unusable_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        await connect_coordination(url)
    assert "secret" not in str(error.value)


@pytest.mark.parametrize("url", ["mongodb://localhost", "http://x", "/tmp/sock"])
async def test_connect_rejects_unknown_scheme(url: str) -> None:
    scheme = url.partition("://")[0] if "://" in url else ""
    expected = (
        f"unsupported coordination URL scheme '{scheme}' "
        "(expected memory://, unix://, redis://, rediss://, valkey:// or redis+unix://)"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        await connect_coordination(url)
