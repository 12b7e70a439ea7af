"""Cold start to ready, and resident memory, of ``tickets run`` with N idle tenants.

Runs the stand-in in this process and ``tickets run`` as a child process, so the
child's figures are its own. The set-up is ``tickets bench load``'s
(standalone/bench), which reports the same figures next to its load figures.
Usage: PYTHONPATH=. python bench/startup.py [TENANTS ...]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from emulation.discord import FakeDiscord
from standalone.bench.deployments import Deployment
from standalone.bench.procs import load_average
from standalone.bench.world import build_world

SETTLE_S = 1.0  # start-up garbage settles before memory is read


async def measure(tenants: int, folder: Path) -> tuple[float, int]:
    async with FakeDiscord() as discord:
        world = build_world(
            discord,
            tenants=tenants,
            guilds=1,
            prefix=f"s{uuid.uuid4().hex[:6]}",
            with_categories=False,
        )
        deployment = Deployment(world, folder, mode="aio", observe=False)
        try:
            await deployment.prepare()
            ready = await deployment.start()
            await asyncio.sleep(SETTLE_S)
            return ready, deployment.rss_kib()
        finally:
            await deployment.stop()


async def main(counts: list[int]) -> None:
    print(
        "| tenants | start to ready (s) | RSS (MiB) | RSS per extra tenant (KiB) | load average |"
    )
    print("|---|---|---|---|---|")
    base: int | None = None
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            ready, rss = await measure(count, Path(folder) / str(count))
            spread = count - counts[0]
            extra = "-" if base is None or not spread else f"{(rss - base) / spread:.0f}"
            base = rss if base is None else base
            print(f"| {count} | {ready:.2f} | {rss / 1024:.1f} | {extra} | {load_average()} |")


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [1, 10]))
