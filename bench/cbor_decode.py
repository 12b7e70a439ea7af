"""Decoding SurrealDB's answers: the SDK's pure-Python CBOR against cbor2's C extension.

Captures real answers of the embedded database (surrealkv in a temporary folder)
for the reads a ticket click makes, then decodes each many times both ways in this
process. Usage: PYTHONPATH=. python bench/cbor_decode.py [REPEATS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from surrealdb.connections import async_embedded
from surrealdb.data.cbor import decode as sdk_decode

from standalone.db import fast_cbor
from standalone.db.connection import open_database
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository


async def answers() -> dict[str, bytes]:
    """One raw answer per read, as the engine returned it."""
    captured: list[bytes] = []

    def capture(data: bytes) -> Any:
        captured.append(data)
        return fast_cbor.decode(data)

    async_embedded.decode = capture  # type: ignore[attr-defined]
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(f"surrealkv://{folder}/db")
        try:
            settings = SettingsRepository(db, "bench")
            made = [
                await settings.create_category("1", f"Kind {n}", staff_roles=["5"])
                for n in range(25)
            ]
            tickets = TicketRepository(db, "bench")
            await tickets.create("1", made[0].key, "7", "99", None, total_limit=50)
            reads: dict[str, Callable[[], Awaitable[Any]]] = {
                "guild settings": lambda: settings.guild("1"),
                "one category": lambda: settings.category_by_key(made[0].key),
                "25 categories": lambda: settings.categories("1"),
                "a ticket": lambda: tickets.by_interaction("99"),
            }
            for name, read in reads.items():
                await read()
                out[name] = captured[-1]
        finally:
            await db.close()
            fast_cbor.install()
    return out


def per_call_us(decode: Callable[[bytes], Any], data: bytes, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        decode(data)
    return (time.perf_counter() - started) / repeats * 1e6


def main(repeats: int) -> None:
    print("| answer | bytes | SDK (µs) | cbor2 C (µs) | SDK vs cbor2 |")
    print("|---|---|---|---|---|")
    for name, data in asyncio.run(answers()).items():
        assert fast_cbor.decode(data) == sdk_decode(data)
        sdk = per_call_us(sdk_decode, data, repeats)
        fast = per_call_us(fast_cbor.decode, data, repeats)
        print(f"| {name} | {len(data)} | {sdk:.1f} | {fast:.1f} | {sdk / fast:.1f}x |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
