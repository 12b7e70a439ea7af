"""Queries per second: the embedded database vs the same database through ``tickets db serve``.

Usage: PYTHONPATH=. python bench/dbhost.py [SECONDS_PER_FIGURE]

``embedded`` opens a ``surrealkv://`` folder in this process (what ``tickets
run`` does alone). ``served`` starts ``tickets db serve`` on another folder in a
child process and reaches it through the SDK's ``ws://`` client (what a
gateway or worker process does beside it). Each operation runs through
``Database.run``, sequentially and with 16 tasks sharing the one connection;
the ratio is served / embedded.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from surrealdb import RecordID

from standalone.db import Database, open_database

ROOT = Path(__file__).resolve().parent.parent
IN_FLIGHT = 16
ROWS = 1_000
USER, PASSWORD = "bench", "bench-password"
Op = Callable[[int, int], Awaitable[object]]


async def _rate(op: Op, tasks: int, seconds: float) -> float:
    deadline = time.perf_counter() + seconds
    done = 0

    async def loop(worker: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < deadline:
            await op(worker, n)
            n += 1
        done += n

    started = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(tasks)))
    return done / (time.perf_counter() - started)


async def _prepare(db: Database) -> None:
    await db.run(
        "DEFINE TABLE IF NOT EXISTS item SCHEMALESS; DEFINE TABLE IF NOT EXISTS note SCHEMALESS;"
    )
    await db.run(
        "FOR $i IN 0..$rows { CREATE type::thing('item', $i) SET n = $i, text = $text };",
        {"rows": ROWS, "text": "x" * 200},
    )


def _ops(db: Database) -> dict[str, Op]:
    async def point_read(w: int, n: int) -> object:
        return await db.one("SELECT * FROM $r;", {"r": RecordID("item", (w * 7919 + n) % ROWS)})

    async def create(w: int, n: int) -> object:
        return await db.one(
            "CREATE note CONTENT $doc;", {"doc": {"w": w, "n": n, "text": "y" * 200}}
        )

    async def transaction(w: int, n: int) -> object:
        return await db.run(
            "BEGIN; CREATE note CONTENT $doc; "
            "UPSERT type::thing('counter', $w) SET hits += 1; COMMIT;",
            {"doc": {"w": w, "n": n}, "w": w},
        )

    async def scan(w: int, n: int) -> object:
        return await db.one("SELECT * FROM item LIMIT 100 START $s;", {"s": (n * 100) % ROWS})

    return {
        "point read": point_read,
        "create": create,
        "transaction (2 writes)": transaction,
        "scan 100 records": scan,
    }


async def _measure(db: Database, seconds: float) -> dict[tuple[str, str], float]:
    await _prepare(db)
    figures: dict[tuple[str, str], float] = {}
    for name, op in _ops(db).items():
        for mode, tasks in (("sequential", 1), (f"{IN_FLIGHT} in flight", IN_FLIGHT)):
            figures[(name, mode)] = await _rate(op, tasks, seconds)
    return figures


def _serve(folder: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
    env.update(
        PYTHONPATH=str(ROOT),
        TICKETS__DATABASE__URL=f"surrealkv://{folder}",
        TICKETS__DATABASE__USERNAME=USER,
        TICKETS__DATABASE__PASSWORD=PASSWORD,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "db", "serve", "--listen", "127.0.0.1:0"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("serving"):
            return process, line.rsplit(" at ", 1)[1].strip()
    raise SystemExit("tickets db serve stopped before serving")


async def main(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        embedded = await open_database(f"surrealkv://{tmp}/embedded")
        try:
            here = await _measure(embedded, seconds)
        finally:
            await embedded.close()
        process, url = _serve(Path(tmp) / "served")
        try:
            client = await open_database(url, username=USER, password=PASSWORD)
            try:
                there = await _measure(client, seconds)
            finally:
                await client.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"# Python {platform.python_version()}, {seconds:g} s per figure")
    print("| operation | mode | embedded (q/s) | served (q/s) | served / embedded |")
    print("|---|---|---|---|---|")
    for (name, mode), rate in here.items():
        other = there[(name, mode)]
        print(f"| {name} | {mode} | {rate:,.0f} | {other:,.0f} | {other / rate:.2f}x |")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0))
