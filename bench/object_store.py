"""Object storage: put/get of 10 KB and 10 MB objects, file store vs S3, and memory.

The S3 side is moto's S3 server (an in-memory mock, not a real object store),
started by this script in its own process on loopback, so its memory is not
counted here. Times are medians; the ratio is S3 vs the file store measured in
the same run. Peak memory is tracemalloc's peak above the starting point
while one 10 MB object is streamed in (an async iterator of 256 KiB chunks)
or out (``stream``), in a separate pass so tracing does not slow the timings.

Usage: PYTHONPATH=. python bench/object_store.py [REPEATS_10KB] [REPEATS_10MB]
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from storage import FileStore, ObjectStore
from storage.s3 import S3Store

SMALL, LARGE = 10 * 1000, 10 * 1000 * 1000
CHUNK = 256 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto's server did not start")


async def chunked(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        yield bytes(view[start : start + CHUNK])


async def drain(store: ObjectStore, key: str) -> None:
    async for _ in store.stream(key, chunk_size=CHUNK):
        pass


async def median_ms(repeats: int, one: Callable[[], Awaitable[object]]) -> float:
    await one()  # warm-up: connections, folders
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await one()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def peak_mib(one: Callable[[], Awaitable[object]]) -> float:
    await one()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    await one()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - base) / (1024 * 1024)


async def measure(store: ObjectStore, small_n: int, large_n: int) -> dict[str, float]:
    small, large = os.urandom(SMALL), os.urandom(LARGE)
    await store.put("bench/large", large)
    return {
        "put 10 KB": await median_ms(small_n, lambda: store.put("bench/small", small)),
        "get 10 KB": await median_ms(small_n, lambda: store.get("bench/small")),
        "put 10 MB (bytes)": await median_ms(large_n, lambda: store.put("bench/large", large)),
        "get 10 MB (bytes)": await median_ms(large_n, lambda: store.get("bench/large")),
        "put 10 MB (streamed)": await median_ms(
            large_n, lambda: store.put("bench/large", chunked(large))
        ),
        "get 10 MB (streamed)": await median_ms(large_n, lambda: drain(store, "bench/large")),
        "peak MiB, put 10 MB streamed": await peak_mib(
            lambda: store.put("bench/large", chunked(large))
        ),
        "peak MiB, get 10 MB streamed": await peak_mib(lambda: drain(store, "bench/large")),
    }


async def main(small_n: int, large_n: int) -> None:
    server, endpoint = start_moto()
    s3 = S3Store(
        "bench",
        endpoint=endpoint,
        region="us-east-1",
        path_style=True,
        access_key_id="bench",
        secret_access_key="bench",  # noqa: S106  (moto accepts any key)
    )
    try:
        await s3.create_bucket()
        with tempfile.TemporaryDirectory() as folder:
            results = {
                "file": await measure(FileStore(Path(folder) / "objects"), small_n, large_n),
                "s3 (moto)": await measure(s3, small_n, large_n),
            }
    finally:
        await s3.close()
        server.terminate()
        server.wait(10)
    print(f"{small_n} x 10 KB, {large_n} x 10 MB per row; medians; S3 is moto's mock server\n")
    print("| operation | file | S3 (moto) | S3 vs file |")
    print("|---|---|---|---|")
    for name, value in results["file"].items():
        other = results["s3 (moto)"][name]
        unit = "" if name.startswith("peak") else " ms"
        print(f"| {name} | {value:.2f}{unit} | {other:.2f}{unit} | {other / value:.2f}x |")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [200, 5][len(args) :])))
