import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from emulation.memory import MemoryCoordination
from standalone import keys
from standalone.config import ConfigError, SchedulerConfig, load_config
from standalone.db import open_database
from standalone.db.records import Timer
from standalone.db.timers import TimerRepository
from standalone.services.scheduler import Scheduler

TENANT = "t1"
FAST = SchedulerConfig(interval_ms=20, hold_ms=300, lease_ttl_ms=200)


@pytest.fixture
async def timers():
    db = await open_database("mem://")
    yield TimerRepository(db, TENANT)
    await db.close()


@pytest.fixture
async def coordination():
    backend = MemoryCoordination()
    yield backend
    await backend.close()


class Jobs:
    """The feature side: records what fired and fails as told."""

    def __init__(self, fail_times: int = 0) -> None:
        self.fired: list[tuple[int, str, str]] = []
        self.fail_times = fail_times

    async def fire(self, timer: Timer, who: str = "") -> bool:
        if timer.kind == "close_request":
            return False  # no feature for it (yet)
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("Discord is down")
        self.fired.append((timer.number, timer.kind, who))
        return True


def scheduler(timers, coordination, jobs, owner="a", settings=FAST) -> Scheduler:
    return Scheduler(
        tenant=TENANT,
        timers=timers,
        fire=lambda t: jobs.fire(t, owner),
        leases=coordination.leases,
        owner=owner,
        settings=settings,
    )


async def until(check, timeout=30.0):
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def running(*schedulers):
    return [asyncio.create_task(s.run()) for s in schedulers]


async def stop(schedulers, tasks):
    for s in schedulers:
        s.stop()
    await asyncio.gather(*tasks)


def now() -> datetime:
    return datetime.now(UTC)


async def test_fires_due_timers_once_and_removes_them(timers, coordination):
    jobs = Jobs()
    await timers.schedule("1", 1, "auto_close", now() - timedelta(seconds=1))
    await timers.schedule("1", 2, "stale", now() + timedelta(milliseconds=150))
    await timers.schedule("1", 3, "stale", now() + timedelta(hours=1))
    s = scheduler(timers, coordination, jobs)
    tasks = await running(s)
    await until(lambda: len(jobs.fired) == 2)
    await asyncio.sleep(0.1)
    await stop([s], tasks)
    assert jobs.fired == [(1, "auto_close", "a"), (2, "stale", "a")]
    assert [(t.number, t.kind) for t in await timers.all()] == [(3, "stale")]
    # Stopping gives the lease back at once, for the next process.
    assert await coordination.leases.holder(keys.scheduler_lease(TENANT)) is None


async def test_a_failing_job_is_retried_after_its_hold_without_spinning(timers, coordination):
    jobs = Jobs(fail_times=1)
    await timers.schedule("1", 1, "auto_close", now())
    s = scheduler(timers, coordination, jobs)
    tasks = await running(s)
    await until(lambda: s.failed == 1)
    started = asyncio.get_running_loop().time()
    await until(lambda: jobs.fired)
    waited = asyncio.get_running_loop().time() - started
    await stop([s], tasks)
    # Not retried in a tight loop: the timer stayed held until its hold ran out.
    assert waited >= FAST.hold_ms / 1000 * 0.8
    assert s.failed == 1 and jobs.fired == [(1, "auto_close", "a")]
    assert await timers.all() == []


async def test_a_kind_nobody_handles_is_kept(timers, coordination):
    jobs = Jobs()
    await timers.schedule("1", 1, "close_request", now())
    s = scheduler(timers, coordination, jobs)
    tasks = await running(s)
    await asyncio.sleep(0.15)
    await stop([s], tasks)
    assert [t.kind for t in await timers.all()] == ["close_request"]


async def test_only_the_lease_holder_fires_and_the_other_takes_over(timers, coordination):
    jobs = Jobs()
    # A lease that outlives any stall of a loaded machine: with 200 ms, a loop paused
    # that long lets "b" take the expired lease before "a" renews it. Stopping hands
    # the lease over at once.
    settings = SchedulerConfig(interval_ms=20, hold_ms=300, lease_ttl_ms=30_000)
    first, second = (scheduler(timers, coordination, jobs, owner, settings) for owner in ("a", "b"))
    first_task = await running(first)
    await until(lambda: first.leading)
    second_task = await running(second)
    for number in range(1, 11):
        await timers.schedule("1", number, "stale", now() - timedelta(milliseconds=number))
    await until(lambda: len(jobs.fired) == 10)
    assert {who for *_, who in jobs.fired} == {"a"} and not second.leading
    await stop([first], first_task)
    await timers.schedule("1", 11, "stale", now())
    await until(lambda: len(jobs.fired) == 11)
    await stop([second], second_task)
    assert jobs.fired[-1] == (11, "stale", "b")
    assert sorted(n for n, *_ in jobs.fired) == list(range(1, 12))


async def test_a_scheduler_that_lost_its_lease_stops_firing(timers, coordination):
    jobs = Jobs()
    s = scheduler(timers, coordination, jobs)
    tasks = await running(s)
    await until(lambda: s.leading)
    # Another process took over (e.g. this one was paused past the lease's TTL).
    lease = keys.scheduler_lease(TENANT)
    await coordination.leases.release(lease, "a")
    assert await coordination.leases.acquire(lease, "z", ttl_ms=5_000) is not None
    await until(lambda: not s.leading)
    await timers.schedule("1", 1, "auto_close", now())
    await asyncio.sleep(0.15)
    assert jobs.fired == []
    await stop([s], tasks)
    assert (await coordination.leases.holder(lease)).owner == "z"


def test_interval_comes_from_the_environment():
    config = load_config(environ={"TICKETS__SCHEDULER__INTERVAL_MS": "250"})
    assert config.scheduler.interval_ms == 250
    assert load_config(environ={}).scheduler.interval_ms == 1000
    with pytest.raises(ConfigError, match=r"scheduler\.interval_ms"):
        load_config(environ={"TICKETS__SCHEDULER__INTERVAL_MS": "0"})
    with pytest.raises(ConfigError, match="lease_ttl_ms"):
        load_config(environ={"TICKETS__SCHEDULER__LEASE_TTL_MS": "500"})
