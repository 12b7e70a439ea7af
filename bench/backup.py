"""Database backup and restore: time and peak memory as the database grows.

Each row fills an in-memory SurrealDB (``mem://``) with N tenant records of
2 KB each, backs it up to a file store and restores it into a second
``mem://`` database. Peak memory is tracemalloc's peak during the call, so it
counts Python's allocations (the rows decoded from SurrealDB, the frames, the
gzip buffers), not the embedded engine's own; it should stay flat as N grows.

Usage: PYTHONPATH=. python bench/backup.py [RECORDS ...]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from standalone.db import Database, open_database
from standalone.db.backup import BATCH_ROWS, backup, restore
from storage import FileStore

RECORD_BYTES = 2000


async def fill(db: Database, count: int) -> None:
    for start in range(0, count, BATCH_ROWS):
        rows = [
            {"name": f"n{i:07}", "application_id": "1", "token": "p" * RECORD_BYTES}
            for i in range(start, min(start + BATCH_ROWS, count))
        ]
        await db.run("INSERT INTO tenant $rows;", {"rows": rows})


async def measured(action: Awaitable[Any]) -> tuple[float, float]:
    """Seconds taken and peak MiB traced."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        await action
        return time.perf_counter() - started, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


async def row(count: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        store = FileStore(Path(folder))
        source = await open_database("mem://")
        target = await open_database("mem://", migrate_schema=False)
        try:
            await fill(source, count)
            backup_s, backup_mib = await measured(backup(source, store, "b"))
            restore_s, restore_mib = await measured(restore(target, store, "b"))
        finally:
            await source.close()
            await target.close()
    data_mib = count * RECORD_BYTES / 2**20
    return (
        f"| {count} | {data_mib:.1f} | {backup_s:.2f} s | {backup_mib:.1f} "
        f"| {restore_s:.2f} s | {restore_mib:.1f} |"
    )


async def main(counts: list[int]) -> None:
    print("| records | data MiB | backup | backup peak MiB | restore | restore peak MiB |")
    print("|---|---|---|---|---|---|")
    for count in counts:
        print(await row(count), flush=True)


if __name__ == "__main__":
    asyncio.run(main([int(n) for n in sys.argv[1:]] or [5_000, 20_000, 50_000]))
