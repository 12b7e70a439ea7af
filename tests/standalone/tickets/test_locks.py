"""The coordination-port locks: held as long as the work under them runs, freed after."""

from __future__ import annotations

import asyncio

import pytest

from emulation.memory import MemoryCoordination
from standalone.tickets import locks

TTL_MS = 60


async def test_a_lock_outlives_its_ttl_while_its_work_runs():
    backend = MemoryCoordination()
    cache = backend.cache
    try:
        async with locks.held(cache, "k", "first", ttl_ms=TTL_MS, wait_s=0):
            # Work that takes several TTLs (a long transcript, Discord's rate limits).
            loop = asyncio.get_running_loop()
            until = loop.time() + 5 * TTL_MS / 1000
            while loop.time() < until:
                await asyncio.sleep(TTL_MS / 4000)
                assert await cache.get("k") == b"first"
            with pytest.raises(locks.Busy):
                async with locks.held(cache, "k", "second", ttl_ms=TTL_MS, wait_s=0):
                    pass
        assert await cache.get("k") is None
    finally:
        await backend.close()


async def test_a_lock_is_freed_when_its_work_fails_or_is_cancelled():
    backend = MemoryCoordination()
    cache = backend.cache
    started = asyncio.Event()

    async def work() -> None:
        async with locks.held(cache, "k", "worker", ttl_ms=TTL_MS, wait_s=0):
            started.set()
            await asyncio.Event().wait()

    try:
        with pytest.raises(RuntimeError):
            async with locks.held(cache, "k", "failing", ttl_ms=TTL_MS, wait_s=0):
                raise RuntimeError("boom")
        assert await cache.get("k") is None
        task = asyncio.create_task(work())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await cache.get("k") is None
    finally:
        await backend.close()


async def test_a_lock_of_a_holder_that_died_runs_out():
    backend = MemoryCoordination()
    cache = backend.cache
    try:
        await cache.set("k", b"dead", ttl_ms=TTL_MS)
        async with locks.held(cache, "k", "next", ttl_ms=TTL_MS, wait_s=5.0):
            assert await cache.get("k") == b"next"
    finally:
        await backend.close()
