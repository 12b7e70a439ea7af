"""Timer throughput: the scheduler service vs the bare repository loop it is built on.

Both runs use the same embedded database (surrealkv in a temporary folder) and fire
the same number of due timers with a job that does nothing, so the figures show
what the service adds (lease renewal, per-timer bookkeeping) over
``take_due`` + ``done`` alone.

Usage: PYTHONPATH=. python bench/scheduler.py [TIMERS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from emulation.memory import MemoryCoordination
from standalone.config import SchedulerConfig
from standalone.db import open_database
from standalone.db.records import Timer
from standalone.db.timers import TimerRepository
from standalone.services.scheduler import Scheduler


async def fill(timers: TimerRepository, count: int) -> None:
    due = datetime.now(UTC) - timedelta(seconds=1)
    for number in range(1, count + 1):
        await timers.schedule("1", number, "stale", due)


async def baseline(timers: TimerRepository) -> int:
    fired = 0
    while batch := await timers.take_due(datetime.now(UTC), hold_ms=60_000):
        for timer in batch:
            await timers.done(timer)
            fired += 1
    return fired


async def service(timers: TimerRepository, count: int) -> int:
    async def job(timer: Timer) -> bool:
        return True

    coordination = MemoryCoordination()
    scheduler = Scheduler(
        tenant="bench",
        timers=timers,
        fire=job,
        leases=coordination.leases,
        owner="bench",
        settings=SchedulerConfig(interval_ms=1, hold_ms=60_000, lease_ttl_ms=10_000),
    )
    task = asyncio.create_task(scheduler.run())
    while scheduler.fired < count:
        await asyncio.sleep(0.001)
    scheduler.stop()
    await task
    await coordination.close()
    return scheduler.fired


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(f"surrealkv://{Path(folder) / 'db'}")
        results = []
        for name, run in (
            ("baseline: take_due + done", lambda t: baseline(t)),
            ("scheduler service (lease, poll)", lambda t: service(t, count)),
        ):
            timers = TimerRepository(db, name)
            await fill(timers, count)
            started = time.perf_counter()
            fired = await run(timers)
            elapsed = time.perf_counter() - started
            assert fired == count and await timers.all() == []
            results.append((name, count / elapsed))
        await db.close()
    base = results[0][1]
    print(f"{count} due timers, a job that does nothing, embedded SurrealDB (surrealkv).\n")
    print("| path | timers/s | vs baseline |")
    print("|---|---|---|")
    for name, rate in results:
        print(f"| {name} | {rate:.0f} | {rate / base:.2f} |")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
