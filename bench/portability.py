"""Guild export and import: time, archive size and peak memory as the guild grows.

Each row fills a guild of an embedded file database (``surrealkv://``) with N
closed tickets of 20 archived messages of 2 KB and a 20 KB transcript each
(random text, so nothing compresses much), exports it to a ZIP file and
imports that into a second database and file store. Peak memory is
tracemalloc's peak during the call: Python's allocations (rows, pages, ZIP
buffers), not the embedded engine's own; it should stay flat as N grows.

Usage: PYTHONPATH=. python bench/portability.py [TICKETS ...]
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

from standalone.portability import GuildExport, export_to_file, import_guild
from tests.standalone.portability.conftest import close_instance, fill_large, open_instance

MESSAGES = 20


async def measured(action: Awaitable[Any]) -> tuple[float, float]:
    """Seconds taken and peak MiB traced."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        await action
        return time.perf_counter() - started, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


async def row(tickets: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        source = await open_instance(Path(folder) / "source")
        target = await open_instance(Path(folder) / "target")
        path = Path(folder) / "guild.zip"
        try:
            data = await fill_large(source, "alpha", "100", tickets=tickets, messages=MESSAGES)
            job = GuildExport(
                source.db, source.store, source.cipher, tenant="alpha", guild_id="100"
            )
            export_s, export_mib = await measured(export_to_file(job, path))
            import_s, import_mib = await measured(
                import_guild(
                    target.db, target.store, target.cipher, path, tenant="alpha", guild_id="100"
                )
            )
            size = path.stat().st_size
        finally:
            await close_instance(source)
            await close_instance(target)
    records = tickets * (MESSAGES + 1)
    return (
        f"| {tickets} | {records} | {data / 2**20:.1f} | {size / 2**20:.1f} "
        f"| {export_s:.1f} s | {export_mib:.1f} | {import_s:.1f} s | {import_mib:.1f} |"
    )


async def main(counts: list[int]) -> None:
    print(
        "| tickets | records | content MiB | ZIP MiB | export | export peak MiB "
        "| import | import peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count in counts:
        print(await row(count), flush=True)


if __name__ == "__main__":
    asyncio.run(main([int(n) for n in sys.argv[1:]] or [250, 1000, 4000]))
