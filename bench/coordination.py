"""The coordination adapters against redis-py and a real Redis, in one run.

Usage: PYTHONPATH=. python bench/coordination.py [SECONDS_PER_FIGURE]

Measures, for ``memory`` (in this process), ``unix`` (``tickets emulation
serve`` in a child process) and redis-py (through the ``valkey`` adapter, which
is redis-py plus a thin wrapper) against the local Redis over TCP
(``VALKEY_URL``, default redis://127.0.0.1:6379/15) and over a Unix socket (a
throwaway ``redis-server`` started here and stopped at the end): cache get,
cache set, a stream cycle (append one entry, read it in a group, acknowledge
it) and a lease renew, each sequentially and with 16 requests in flight (16
tasks on one client). Every figure is also given as a ratio to the redis-py
Unix-socket figure of the same row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from emulation.connect import connect_coordination
from emulation.memory import MemoryCoordination
from emulation.ports import Coordination

ROOT = Path(__file__).resolve().parent.parent
VALUE = b"v" * 100
MAXLEN = 10_000
IN_FLIGHT = 16
Op = Callable[[int], Awaitable[object]]


async def _rate(op: Op, tasks: int, seconds: float) -> float:
    deadline = time.perf_counter() + seconds
    done = 0

    async def loop(worker: int) -> None:
        nonlocal done
        count = 0
        clock = time.perf_counter
        while clock() < deadline:
            await op(worker)
            count += 1
        done += count

    started = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(tasks)))
    return done / (time.perf_counter() - started)


async def _ops(coord: Coordination, ns: str) -> dict[str, Op]:
    cache, streams, leases = coord.cache, coord.streams, coord.leases
    keys = [f"{ns}:k{w}" for w in range(IN_FLIGHT)]
    names = [f"{ns}:s{w}" for w in range(IN_FLIGHT)]
    locks = [f"{ns}:lease{w}" for w in range(IN_FLIGHT)]
    for w in range(IN_FLIGHT):
        await cache.set(keys[w], VALUE)
        await streams.create_group(names[w], "g", start="$")
        assert await leases.acquire(locks[w], "bench", ttl_ms=600_000) is not None

    async def get(w: int) -> object:
        return await cache.get(keys[w])

    async def set_(w: int) -> object:
        return await cache.set(keys[w], VALUE)

    async def cycle(w: int) -> object:
        await streams.append(names[w], VALUE, maxlen=MAXLEN)
        entries = await streams.read_group(names[w], "g", "c", count=1)
        return await streams.ack(names[w], "g", [entries[0].id])

    async def renew(w: int) -> object:
        return await leases.renew(locks[w], "bench", ttl_ms=600_000)

    return {
        "cache get": get,
        "cache set": set_,
        "stream append+read+ack": cycle,
        "lease renew": renew,
    }


@contextlib.asynccontextmanager
async def _emulation_server(folder: Path) -> AsyncIterator[str]:
    socket = folder / "emulation.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
    env["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "emulation",
        "serve",
        "--socket",
        str(socket),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    await asyncio.wait_for(process.stderr.readline(), 30)
    try:
        yield f"unix://{socket}"
    finally:
        process.terminate()
        await process.wait()


@contextlib.asynccontextmanager
async def _redis_on_unix_socket(folder: Path) -> AsyncIterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed")
    socket = folder / "redis.sock"
    args = ("--port", "0", "--unixsocket", str(socket), "--save", "")
    args += ("--appendonly", "no", "--daemonize", "no")
    process = await asyncio.create_subprocess_exec(server, *args, stdout=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(200):
            if socket.exists():
                break
            await asyncio.sleep(0.02)
        yield f"redis+unix://{socket}"
    finally:
        process.terminate()
        await process.wait()


async def _measure(coord: Coordination, seconds: float) -> dict[tuple[str, str], float]:
    ns = f"bench:{uuid.uuid4().hex[:8]}"
    figures: dict[tuple[str, str], float] = {}
    ops = await _ops(coord, ns)
    for name, op in ops.items():
        for mode, tasks in (("sequential", 1), (f"{IN_FLIGHT} in flight", IN_FLIGHT)):
            await _rate(op, tasks, min(0.1, seconds / 5))  # warm up
            figures[(name, mode)] = await _rate(op, tasks, seconds)
    await _cleanup(coord, ns)
    return figures


async def _cleanup(coord: Coordination, ns: str) -> None:
    client = getattr(coord, "client", None)
    if client is None:
        return
    keys = [key async for key in client.scan_iter(match=f"{ns}:*", count=1000)]
    if keys:
        await client.delete(*keys)


async def main(seconds: float) -> None:
    columns: dict[str, dict[tuple[str, str], float]] = {}
    valkey_url = os.environ.get("VALKEY_URL", "redis://127.0.0.1:6379/15")
    with tempfile.TemporaryDirectory() as folder:
        memory = MemoryCoordination()
        columns["memory"] = await _measure(memory, seconds)
        await memory.close()
        async with _emulation_server(Path(folder)) as url:
            unix = await connect_coordination(url)
            columns["unix"] = await _measure(unix, seconds)
            await unix.close()
        tcp = await connect_coordination(valkey_url)
        columns["redis-py TCP"] = await _measure(tcp, seconds)
        await tcp.close()
        async with _redis_on_unix_socket(Path(folder)) as url:
            redis_unix = await connect_coordination(url)
            columns["redis-py Unix"] = await _measure(redis_unix, seconds)
            await redis_unix.close()
    baseline = columns["redis-py Unix"]
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{seconds:g} s per figure; ops/s (ratio to redis-py Unix)\n"
    )
    print("| operation | mode | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for row in baseline:
        cells = [
            f"{figures[row]:,.0f} ({figures[row] / baseline[row]:.1f}x)"
            for figures in columns.values()
        ]
        print(f"| {row[0]} | {row[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0))
