import asyncio
import logging

import msgspec
import pytest

from emulation.memory import MemoryCoordination
from standalone import keys
from standalone.config import WorkerConfig
from standalone.discord_bridge import MalformedEvent
from standalone.services.worker import Worker
from standalone.tracing import TraceFilter
from standalone.tracing import current as current_trace
from standalone.wire import Envelope, encode_envelope

TENANT = "t1"


class Recorder:
    """A handler that records what it saw and fails as told."""

    tenant = TENANT

    def __init__(self, fail_times: int = 0, malformed: bool = False) -> None:
        self.seen: list[tuple[str, bytes]] = []
        self.fail_times = fail_times
        self.malformed = malformed

    async def handle(self, envelope: Envelope) -> None:
        if self.malformed:
            raise MalformedEvent("bad payload")
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("database down")
        self.seen.append((envelope.type, envelope.data))


def envelope(seq: int, channel: str = "c1") -> bytes:
    data = msgspec.json.encode({"channel_id": channel, "n": seq})
    return encode_envelope(
        Envelope(tenant=TENANT, shard=0, seq=seq, type="MESSAGE_CREATE", data=data)
    )


SETTINGS = WorkerConfig(redeliver_after_ms=50, claim_interval_ms=20, batch=8, max_deliveries=3)


async def run_until(condition, *workers, timeout=30.0):
    """Run the workers until ``condition()`` (sync or async) holds."""
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = condition()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    break
                await asyncio.sleep(0.01)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_entries_are_handled_in_order_and_acknowledged():
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    for n in range(20):
        await coord.streams.append(stream, envelope(n))
    handler = Recorder()
    worker = Worker(handler=handler, streams=coord.streams, consumer="w1", settings=SETTINGS)
    await run_until(lambda: len(handler.seen) == 20, worker)
    assert [msgspec.json.decode(d)["n"] for _, d in handler.seen] == list(range(20))
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []


async def test_a_failing_handler_is_retried_by_redelivery():
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    await coord.streams.append(stream, envelope(1))
    handler = Recorder(fail_times=1)
    worker = Worker(handler=handler, streams=coord.streams, consumer="w1", settings=SETTINGS)
    await run_until(lambda: len(handler.seen) == 1, worker)
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []


async def test_entries_of_a_dead_worker_go_to_another():
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    await coord.streams.create_group(stream, keys.WORKER_GROUP)
    await coord.streams.append(stream, envelope(1))
    # The dead worker took the entry and never acknowledged it.
    taken = await coord.streams.read_group(stream, keys.WORKER_GROUP, "dead", count=1)
    assert len(taken) == 1
    handler = Recorder()
    survivor = Worker(handler=handler, streams=coord.streams, consumer="w2", settings=SETTINGS)
    await run_until(lambda: len(handler.seen) == 1, survivor)
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []


@pytest.mark.parametrize("garbage", [b"\x00not msgpack", None])
async def test_malformed_events_go_to_dead_letters(garbage):
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    await coord.streams.append(stream, garbage if garbage is not None else envelope(1))
    handler = Recorder(malformed=garbage is None)
    worker = Worker(handler=handler, streams=coord.streams, consumer="w1", settings=SETTINGS)
    await run_until(lambda: dead_letter_count(coord, 1), worker)
    assert worker.handled == 0
    assert handler.seen == []
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []


async def dead_letter_count(coord, expected):
    return await coord.streams.length(keys.dead_letters(TENANT)) == expected


async def test_an_event_that_always_fails_is_set_aside_after_max_deliveries():
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    await coord.streams.append(stream, envelope(1))
    handler = Recorder(fail_times=100)
    worker = Worker(handler=handler, streams=coord.streams, consumer="w1", settings=SETTINGS)

    await run_until(lambda: dead_letter_count(coord, 1), worker)
    assert handler.fail_times == 100 - SETTINGS.max_deliveries
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []


class FailFirst(Recorder):
    """Fails the first delivery of one chosen event."""

    def __init__(self, fail_seq: int) -> None:
        super().__init__()
        self.fail_seq = fail_seq

    async def handle(self, envelope: Envelope) -> None:
        if envelope.seq == self.fail_seq:
            self.fail_seq = -1
            raise RuntimeError("passing fault")
        await super().handle(envelope)


async def test_a_failed_entry_holds_back_its_channel_but_not_others():
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    for seq, channel in [(1, "a"), (2, "a"), (3, "b"), (4, "a")]:
        await coord.streams.append(stream, envelope(seq, channel))
    handler = FailFirst(fail_seq=1)
    worker = Worker(handler=handler, streams=coord.streams, consumer="w1", settings=SETTINGS)
    await run_until(lambda: len(handler.seen) == 4, worker)
    order = [msgspec.json.decode(d)["n"] for _, d in handler.seen]
    assert order.index(3) == 0  # channel b went ahead
    assert [n for n in order if n != 3] == [1, 2, 4]  # channel a kept its order


class HeldUp(Recorder):
    """Takes longer than ``redeliver_after_ms``: every handling waits to be released."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[int] = []
        self.release = asyncio.Event()

    async def handle(self, envelope: Envelope) -> None:
        self.started.append(envelope.seq)
        await self.release.wait()
        await super().handle(envelope)


class ClaimsSeen:
    """The worker's streams, noting what each claim_idle call returned."""

    def __init__(self, streams) -> None:
        self._streams = streams
        self.claimed: list[list[str]] = []
        # Loop time of each claim_idle call, as it returned.
        self.at: list[float] = []

    def __getattr__(self, name):
        return getattr(self._streams, name)

    async def claim_idle(self, *args, **kwargs):
        entries = await self._streams.claim_idle(*args, **kwargs)
        self.claimed.append([e.id for e in entries])
        self.at.append(asyncio.get_running_loop().time())
        return entries


class TouchesLost(ClaimsSeen):
    """As if every touch came too late: a loop stalled past redeliver_after_ms."""

    async def touch(self, stream, group, consumer, ids):
        return list(ids)


async def test_a_slow_entry_is_not_taken_again_by_the_worker_handling_it():
    # A handler slower than redeliver_after_ms (a loaded machine, Discord's rate
    # limits) left its entry idle in the stream; the worker's own claim loop took it
    # and ran it a second time alongside the first, and ran the channel's next entry
    # before it.
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    ids = [await coord.streams.append(stream, envelope(n)) for n in (1, 2)]
    handler = HeldUp()
    # Touches keep the entries from going idle at all; this is the guard behind them.
    streams = TouchesLost(coord.streams)
    worker = Worker(handler=handler, streams=streams, consumer="w1", settings=SETTINGS)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(30):
            # Until the claim loop found both entries idle and went round once more,
            # or started one of them a second time.
            while not (
                len(handler.started) > 1 or any(set(c) == set(ids) for c in streams.claimed[:-1])
            ):
                await asyncio.sleep(0.01)
        assert handler.started == [1]
        handler.release.set()
        async with asyncio.timeout(30):
            while await coord.streams.pending(stream, keys.WORKER_GROUP):
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert handler.started == [1, 2]
    assert [msgspec.json.decode(d)["n"] for _, d in handler.seen] == [1, 2]
    assert await coord.streams.length(keys.dead_letters(TENANT)) == 0


class SlowOne(Recorder):
    """Takes 3x redeliver_after_ms on one event, and until every worker's claim loop
    has looked for idle entries after that."""

    def __init__(self, slow_seq: int, hold_s: float, claims: list[ClaimsSeen]) -> None:
        super().__init__()
        self.slow_seq = slow_seq
        self.hold_s = hold_s
        self.claims = claims
        self.started: list[int] = []

    async def handle(self, envelope: Envelope) -> None:
        self.started.append(envelope.seq)
        if envelope.seq == self.slow_seq:
            loop = asyncio.get_running_loop()
            until = loop.time() + self.hold_s
            while loop.time() < until or not all(c.at and c.at[-1] > until for c in self.claims):
                await asyncio.sleep(0.01)
        await super().handle(envelope)


async def test_a_slow_entry_is_not_taken_by_another_worker():
    # A handler slower than redeliver_after_ms left its entry idle in the stream, and
    # another worker's claim loop took it and ran it a second time at once: two
    # ticket channels for one slow open, a DM sent twice. The worker now touches what
    # it holds, so the entry never looks idle.
    settings = WorkerConfig(redeliver_after_ms=300, claim_interval_ms=20, batch=8, max_deliveries=3)
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    slow = await coord.streams.append(stream, envelope(1, "a"))
    await coord.streams.append(stream, envelope(2, "b"))
    behind = await coord.streams.append(stream, envelope(3, "a"))
    claims = [ClaimsSeen(coord.streams), ClaimsSeen(coord.streams)]
    handler = SlowOne(1, 3 * settings.redeliver_after_ms / 1000, claims)
    workers = [
        Worker(handler=handler, streams=c, consumer=f"w{n}", settings=settings)
        for n, c in enumerate(claims)
    ]

    async def all_done():
        return len(handler.seen) == 3 and not await coord.streams.pending(stream, keys.WORKER_GROUP)

    await run_until(all_done, *workers)
    assert handler.started.count(1) == 1
    assert sorted(handler.started) == [1, 2, 3]
    order = [msgspec.json.decode(d)["n"] for _, d in handler.seen]
    assert order.index(1) < order.index(3)
    # Neither the other worker nor the holder's own claim loop ever took it, nor the
    # entry waiting behind it.
    assert not any({slow, behind} & set(ids) for c in claims for ids in c.claimed)
    assert sum(w.handled for w in workers) == 3
    assert await coord.streams.length(keys.dead_letters(TENANT)) == 0


async def test_a_cancelled_worker_stops_holding_its_entries():
    # The touches stop with the worker: what it held goes idle and to another one.
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    await coord.streams.append(stream, envelope(1))
    held_up = HeldUp()
    first = Worker(handler=held_up, streams=coord.streams, consumer="w1", settings=SETTINGS)
    task = asyncio.create_task(first.run())
    async with asyncio.timeout(30):
        while not held_up.started:
            await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert asyncio.all_tasks() == {asyncio.current_task()}
    handler = Recorder()
    second = Worker(handler=handler, streams=coord.streams, consumer="w2", settings=SETTINGS)
    await run_until(lambda: len(handler.seen) == 1, second)
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []


class FailsSlowly(Recorder):
    """Fails after longer than redeliver_after_ms, the first time only."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0

    async def handle(self, envelope: Envelope) -> None:
        self.started += 1
        if self.started == 1:
            await asyncio.sleep(2 * SETTINGS.redeliver_after_ms / 1000)
            raise RuntimeError("gave up")
        await super().handle(envelope)


async def test_a_failed_batch_stops_holding_its_entries():
    # After a failure the entry is left for a claim; a touch still running would
    # keep it from ever looking idle.
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    await coord.streams.append(stream, envelope(1))
    handler = FailsSlowly()
    worker = Worker(handler=handler, streams=coord.streams, consumer="w1", settings=SETTINGS)
    await run_until(lambda: len(handler.seen) == 1, worker)
    assert handler.started == 2
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []


class TraceSeen(Recorder):
    """Records the trace context its log lines would carry while handling."""

    def __init__(self) -> None:
        super().__init__()
        self.traces: list[str] = []

    async def handle(self, envelope: Envelope) -> None:
        self.traces.append(current_trace.get())
        await super().handle(envelope)


async def test_the_event_s_traceparent_is_in_the_log_context_while_handled():
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    data = msgspec.json.encode({"channel_id": "c1"})
    await coord.streams.append(
        stream,
        encode_envelope(
            Envelope(tenant=TENANT, shard=0, seq=1, type="MESSAGE_CREATE", data=data, trace=parent)
        ),
    )
    handler = TraceSeen()
    worker = Worker(handler=handler, streams=coord.streams, consumer="w1", settings=SETTINGS)
    await run_until(lambda: handler.seen, worker)
    assert handler.traces == [parent]
    assert current_trace.get() == ""  # and gone once the handler returned
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert TraceFilter().filter(record) and record.traceparent == ""


async def test_leave_finishes_the_batch_in_hand_and_leaves_the_rest():
    coord = MemoryCoordination()
    stream = keys.events(TENANT)
    for n in range(40):
        await coord.streams.append(stream, envelope(n, channel=f"c{n}"))
    handler = Recorder()
    worker = Worker(
        handler=handler,
        streams=coord.streams,
        consumer="w1",
        settings=WorkerConfig(redeliver_after_ms=60_000, claim_interval_ms=20, batch=8),
    )
    worker.leave()
    await asyncio.wait_for(worker.run(), 30)
    # One batch taken, handled and acknowledged; the rest is for the other workers.
    assert len(handler.seen) == 8
    assert await coord.streams.pending(stream, keys.WORKER_GROUP) == []
