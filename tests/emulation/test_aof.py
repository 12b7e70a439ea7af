"""The append-only file behind the memory and unix adapters' streams and leases."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulation.memory import MemoryCoordination
from emulation.memory.aof import AppendOnlyFile, CorruptFileError, frame
from emulation.memory.records import Acked, Appended, Fence
from emulation.memory.streams import TRIM_NODE


async def fill(coord: MemoryCoordination, n: int) -> list[str]:
    await coord.streams.create_group("s", "g")
    ids = [await coord.streams.append("s", f"{i}".encode()) for i in range(n)]
    await coord.leases.acquire("lease", "me", ttl_ms=60_000)
    return ids


@pytest.mark.parametrize("fsync", ["always", "everysec", "no"])
async def test_state_comes_back_under_every_fsync_policy(tmp_path: Path, fsync: str) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync=fsync)  # type: ignore[arg-type]
    ids = await fill(coord, 5)
    read = await coord.streams.read_group("s", "g", "c", count=3)
    await coord.streams.ack("s", "g", [read[0].id])
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.length("s") == 5
    assert [p.id for p in await again.streams.pending("s", "g")] == ids[1:3]
    assert [e.id for e in await again.streams.read_group("s", "g", "c")] == ids[3:]
    holder = await again.leases.holder("lease")
    assert holder is not None
    assert (holder.owner, holder.token) == ("me", 1)
    await again.close()


async def test_torn_tail_is_cut_off_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="always")
    ids = await fill(coord, 3)
    await coord.close()
    intact = path.stat().st_size
    torn = frame(Appended("s", (9_999_999_999_999, 0), b"half", None))
    with path.open("ab") as file:
        file.write(torn[: len(torn) // 2])
    again = MemoryCoordination(aof_path=path)
    assert path.stat().st_size == intact
    assert await again.streams.length("s") == 3
    await again.streams.create_group("s", "all", start="0")
    assert [e.id for e in await again.streams.read_group("s", "all", "c")] == ids
    # New records go after the cut, so a third start reads them too.
    await again.streams.append("s", b"more")
    await again.close()
    third = MemoryCoordination(aof_path=path)
    assert await third.streams.length("s") == 4
    await third.close()


async def test_a_damaged_record_with_records_after_it_is_refused_and_left_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.aof"
    good = frame(Fence("lease", 7))
    bad = bytearray(frame(Fence("lease", 99)))
    bad[-1] ^= 0xFF
    content = good + bytes(bad) + frame(Fence("lease", 100))
    path.write_bytes(content)
    # Not a crash's torn tail: cutting here would lose the records after it.
    with pytest.raises(CorruptFileError, match=f"record at byte {len(good)} is damaged"):
        MemoryCoordination(aof_path=path)
    assert path.read_bytes() == content


@pytest.mark.parametrize("byte", [0, 1])
async def test_a_record_whose_length_was_damaged_past_the_end_is_refused(
    tmp_path: Path, byte: int
) -> None:
    path = tmp_path / "c.aof"
    good = frame(Fence("lease", 7))
    # A flipped high bit in the length: the record seems to run past the end,
    # as a torn last one does, but the records after it are whole.
    bad = bytearray(frame(Fence("lease", 99)))
    bad[byte] ^= 0x40
    rest = b"".join(frame(Fence("lease", 100 + i)) for i in range(50))
    content = good + bytes(bad) + rest
    path.write_bytes(content)
    # Cut off as torn, the tokens up to 149 would be handed out again.
    with pytest.raises(CorruptFileError, match=f"record at byte {len(good)} is damaged"):
        MemoryCoordination(aof_path=path)
    assert path.read_bytes() == content


async def test_a_damaged_last_record_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    good = frame(Fence("lease", 7))
    # Whole in length but wrong in content: its pages reached the disk out of order.
    bad = bytearray(frame(Fence("lease", 99)))
    bad[-1] ^= 0xFF
    path.write_bytes(good + bytes(bad))
    coord = MemoryCoordination(aof_path=path)
    assert path.stat().st_size == len(good)
    assert await coord.leases.acquire("lease", "me", ttl_ms=1_000) == 8
    await coord.close()


async def test_a_zero_filled_tail_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    good = frame(Fence("lease", 7))
    # The size grew, the data never came: what some filesystems show after a crash.
    path.write_bytes(good + bytes(4096))
    coord = MemoryCoordination(aof_path=path)
    assert path.stat().st_size == len(good)
    assert await coord.leases.acquire("lease", "me", ttl_ms=1_000) == 8
    await coord.close()


async def test_background_compaction_keeps_the_state_and_shrinks_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="no", aof_rewrite_min_bytes=20_000)
    assert coord.aof is not None
    await coord.streams.create_group("s", "g")
    token = 0
    for round_ in range(60):
        for i in range(20):
            await coord.streams.append("s", f"{round_}:{i}".encode() * 8, maxlen=50)
        entries = await coord.streams.read_group("s", "g", "c", count=20)
        await coord.streams.ack("s", "g", [e.id for e in entries[:-1]])
        await coord.leases.release("lease", "me")
        token = await coord.leases.acquire("lease", "me", ttl_ms=60_000) or 0
        # A compaction started in the background (mid-round, so records of the
        # round land in its tail) is let finish before the next round: on a busy
        # machine a late one leaves a large tail, and the shrink asserted below
        # would then depend on thread scheduling.
        await coord.aof.wait_rewrite()
    await coord.aof.wait_rewrite()
    pending = await coord.streams.pending("s", "g", count=1_000)
    length = await coord.streams.length("s")
    assert 50 <= length < 50 + TRIM_NODE
    assert coord.aof.rewrites >= 1
    assert path.stat().st_size < coord.aof.bytes_logged / 2
    assert not path.with_name(path.name + ".rewrite").exists()
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.length("s") == length
    # Idle time keeps running, so compare everything else of one read.
    replayed = await again.streams.pending("s", "g", count=1_000)
    assert [(p.id, p.consumer, p.deliveries) for p in replayed] == [
        (p.id, p.consumer, p.deliveries) for p in pending
    ]
    holder = await again.leases.holder("lease")
    assert holder is not None
    assert holder.token == token
    await again.leases.release("lease", "me")
    assert await again.leases.acquire("lease", "other", ttl_ms=1_000) == token + 1
    await again.close()


async def test_explicit_rewrite_then_more_records(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    coord = MemoryCoordination(aof_path=path, fsync="always")
    ids = await fill(coord, 4)
    await coord.streams.read_group("s", "g", "c", count=4)
    await coord.streams.ack("s", "g", ids[:3])
    assert coord.aof is not None
    coord.aof.rewrite()
    await coord.streams.ack("s", "g", ids[3:])
    await coord.close()
    again = MemoryCoordination(aof_path=path)
    assert await again.streams.pending("s", "g") == []
    assert await again.streams.read_group("s", "g", "c") == []
    later = await again.streams.append("s", b"later")
    assert later > ids[-1]
    await again.close()


def test_unknown_fsync_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fsync must be one of always, everysec, no"):
        AppendOnlyFile(tmp_path / "c.aof", "sometimes")  # type: ignore[arg-type]


def test_records_are_replayed_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c.aof"
    records = [Appended("s", (1, 0), b"a", None), Acked("s", "g", [(1, 0)]), Fence("x", 3)]
    path.write_bytes(b"".join(frame(r) for r in records))
    aof = AppendOnlyFile(path, "no")
    assert list(aof.replay()) == records
    aof.close()


class SteppedClock:
    """Monotonic seconds moved by the test; ``wall`` moves with it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now


@pytest.mark.parametrize("compact", [False, True])
async def test_a_touch_comes_back_with_its_time(tmp_path: Path, compact: bool) -> None:
    path, clock = tmp_path / "c.aof", SteppedClock()

    def open_file() -> MemoryCoordination:
        return MemoryCoordination(aof_path=path, fsync="no", clock=clock, wall_clock=clock.wall)

    coord = open_file()
    ids = await fill(coord, 2)
    await coord.streams.read_group("s", "g", "busy", count=2)
    clock.now += 5
    assert await coord.streams.touch("s", "g", "busy", ids[:1]) == ids[:1]
    if compact:
        assert coord.aof is not None
        coord.aof.rewrite()
    await coord.close()
    clock.now += 1
    again = open_file()
    pending = {p.id: p for p in await again.streams.pending("s", "g")}
    assert (pending[ids[0]].idle_ms, pending[ids[0]].deliveries) == (1_000, 1)
    assert (pending[ids[1]].idle_ms, pending[ids[1]].deliveries) == (6_000, 1)
    await again.close()
