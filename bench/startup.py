"""Cold start to ready, and resident memory, of ``tickets run`` with N idle tenants.

Runs the stand-in in this process and ``tickets run`` as a child process, so the
child's figures are its own. Usage: python bench/startup.py [TENANTS ...]
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from emulation.discord import FakeDiscord

ROOT = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(tenants: int) -> tuple[float, int]:
    async with FakeDiscord() as discord:
        apps = []
        for n in range(tenants):
            app = discord.add_application(name=f"bot{n}")
            guild = discord.add_guild(name=f"g{n}")
            discord.install(app.id, guild.id)
            apps.append(app)
        with tempfile.TemporaryDirectory() as data:
            env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
            env.update(PYTHONPATH=str(ROOT), TICKETS__DISCORD__API_BASE=discord.api_base)
            cli = [sys.executable, "-m", "cli"]
            for n, app in enumerate(apps):
                add = await asyncio.create_subprocess_exec(
                    *cli,
                    "tenants",
                    "add",
                    f"t{n}",
                    "--token",
                    app.token,
                    cwd=data,
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                )
                await add.wait()
            started = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                *cli, "run", cwd=data, env=env, stderr=asyncio.subprocess.DEVNULL
            )
            while sum(
                1 for app in apps for s in discord.gateway.sessions_of(app.id) if s.conn
            ) < tenants or not all(discord.commands(app.id) for app in apps):
                await asyncio.sleep(0.01)
            ready = time.perf_counter() - started
            await asyncio.sleep(1.0)  # let start-up garbage settle
            rss = rss_kib(process.pid)
            process.send_signal(signal.SIGTERM)
            await process.wait()
            return ready, rss


async def main(counts: list[int]) -> None:
    print("| tenants | start to ready (s) | RSS (MiB) | RSS per extra tenant (KiB) |")
    print("|---|---|---|---|")
    base: int | None = None
    for count in counts:
        ready, rss = await measure(count)
        extra = "-" if base is None else f"{(rss - base) / (count - counts[0]):.0f}"
        base = rss if base is None else base
        print(f"| {count} | {ready:.2f} | {rss / 1024:.1f} | {extra} |")


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [1, 10]))
