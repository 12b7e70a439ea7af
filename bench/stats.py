"""``/stats`` figures: how long the database takes to add them up as a guild grows.

Each row fills an in-memory SurrealDB (``mem://``) with N tickets of one guild
spread over 400 days (a quarter answered, half closed, a tenth rated), plus as
many of another tenant's, then times ``StatsRepository.summary`` for the whole
server over 30 and 365 days, and for one staff member over 365 days (best of 3).

Usage: PYTHONPATH=. python bench/stats.py [TICKETS ...]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from surrealdb import RecordID

from standalone.db import Database, open_database
from standalone.db.stats import StatsRepository

NOW = datetime(2026, 6, 1, tzinfo=UTC)


async def fill(db: Database, tenant: str, count: int) -> None:
    await db.run(
        "CREATE type::thing('category', $t) SET tenant = $t, guild_id = '1', name = 'Support';",
        {"t": tenant},
    )
    rows = []
    for n in range(1, count + 1):
        created = NOW - timedelta(days=n * 400 / count)
        row = {
            "tenant": tenant,
            "guild_id": "1",
            "number": n,
            "category": RecordID("category", tenant),
            "creator_id": str(n),
            "state": "closed" if n % 2 else "open",
            "interaction_id": f"{tenant}{n}",
            "created_at": created,
            "claimed_by": str(n % 7) if n % 3 == 0 else None,
            "first_responder": str(n % 5),
        }
        if n % 4 == 0:
            row["first_response_at"] = created + timedelta(minutes=n % 90)
        if n % 2:
            row["closed_at"] = created + timedelta(hours=n % 30)
        rows.append({k: v for k, v in row.items() if v is not None})
    for start in range(0, len(rows), 1000):
        await db.run(
            "FOR $r IN $rows { CREATE type::thing('ticket', [$r.tenant, $r.guild_id, $r.number]) "
            "CONTENT $r; };",
            {"rows": rows[start : start + 1000]},
        )
    ratings = [n for n in range(1, count + 1, 10) if n % 2]
    await db.run(
        "FOR $n IN $ns { CREATE feedback CONTENT {tenant: $t, guild_id: '1', user_id: '1', "
        "ticket: type::thing('ticket', [$t, '1', $n]), rating: $n % 5 + 1}; };",
        {"ns": ratings, "t": tenant},
    )


async def best(call: Callable[[], Awaitable[object]]) -> float:
    times: list[float] = []
    for _ in range(3):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


async def row(count: int) -> None:
    db = await open_database("mem://")
    await fill(db, "a", count)
    await fill(db, "b", count)
    repo = StatsRepository(db, "a")
    month = await best(lambda: repo.summary("1", NOW - timedelta(days=30), NOW))
    year = await best(lambda: repo.summary("1", NOW - timedelta(days=365), NOW))
    member = await best(lambda: repo.summary("1", NOW - timedelta(days=365), NOW, member="3"))
    print(f"| {count} | {month:.1f} | {year:.1f} | {member:.1f} |")
    await db.close()


async def main(counts: list[int]) -> None:
    print("| tickets per tenant | 30 days (ms) | 365 days (ms) | one member, 365 days (ms) |")
    print("|---:|---:|---:|---:|")
    for count in counts:
        await row(count)


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [1000, 10000]))
