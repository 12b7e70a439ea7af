"""The bot under test as separate processes: ``tickets run``, or ``tickets serve …``.

Either way the benchmark reaches the database over ``ws://`` to see what the bot
stored (the archive's progress): ``tickets run`` serves its embedded database
(``database.serve``, idle unless asked), the multi-process deployment has its
``tickets db serve`` anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Literal

from emulation.connect import connect_coordination
from standalone import keys
from standalone.bench.procs import CliProcess, cpu_seconds, free_port, proc_status
from standalone.bench.world import DB_PASSWORD, DB_USER, BenchWorld, seed, write_config
from standalone.db import Database, open_database

Mode = Literal["aio", "multi"]
Backend = Literal["unix", "redis"]
READY_TIMEOUT_S = 120.0


class Deployment:
    """The bot's processes for one world, started in a folder of their own."""

    def __init__(
        self,
        world: BenchWorld,
        folder: Path,
        *,
        mode: Mode,
        coordination: Backend = "unix",
        redis_url: str = "",
        observe: bool = True,
    ) -> None:
        self.world = world
        self.folder = folder
        self.mode = mode
        self.backend = coordination
        self.redis_url = redis_url
        # Idle figures leave the database unserved: serving it loads code that an
        # aio bot on its defaults does not.
        self.observe = observe
        self.config = folder / "tickets.toml"
        self.bot: list[CliProcess] = []  # measured: the bot's own processes
        self.infra: list[CliProcess] = []  # the database and coordination servers
        self.db_url = ""
        self.coordination_url = "memory://"
        self.started_at = 0.0

    @property
    def api_base(self) -> str:
        return self.world.discord.api_base

    async def prepare(self) -> None:
        """Servers the bot needs (multi), tenants and categories in the database."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.mode == "aio":
            port = free_port()
            embedded = f"surrealkv://{self.folder / 'db'}"
            write_config(
                self.config,
                api_base=self.api_base,
                database_url=embedded,
                coordination_url="memory://",
                serve_database_on=port if self.observe else None,
            )
            db = await open_database(embedded)
            try:
                await seed(db, self.folder / "secret.key", self.world)
            finally:
                await db.close()
            self.db_url = f"ws://127.0.0.1:{port}"
            return
        await self._start_coordination()
        port = free_port()
        db_config = self.folder / "db.toml"
        write_config(
            db_config,
            api_base=self.api_base,
            database_url=f"surrealkv://{self.folder / 'db'}",
            coordination_url="memory://",
        )
        server = CliProcess(
            "db",
            ["db", "serve", "--listen", f"127.0.0.1:{port}", "-c", str(db_config)],
            self.folder,
        )
        self.infra.append(server)
        await server.start()
        await server.wait_for_log(" at ws://")
        self.db_url = f"ws://127.0.0.1:{port}"
        write_config(
            self.config,
            api_base=self.api_base,
            database_url=self.db_url,
            coordination_url=self.coordination_url,
        )
        db = await self.observer()
        try:
            await seed(db, self.folder / "secret.key", self.world)
        finally:
            await db.close()

    async def _start_coordination(self) -> None:
        if self.backend == "redis":
            if not self.redis_url:
                raise RuntimeError("--coordination redis needs VALKEY_URL (redis://host:port/db)")
            self.coordination_url = self.redis_url
            return
        socket = self.folder / "coord.sock"
        server = CliProcess(
            "coordination", ["emulation", "serve", "--socket", str(socket)], self.folder
        )
        self.infra.append(server)
        await server.start()
        await server.wait_for_log("serving unix://")
        self.coordination_url = f"unix://{socket}"

    async def start(self) -> float:
        """Start the bot; seconds from the first process's start to every bot being ready."""
        services = (
            [["run"]]
            if self.mode == "aio"
            else [
                ["serve", "worker"],
                ["serve", "scheduler"],
                ["serve", "gateway"],
            ]
        )
        self.started_at = time.perf_counter()
        for n, service in enumerate(services):
            process = CliProcess(
                f"bot-{'-'.join(service)}-{n}",
                [*service, "--config", str(self.config)],
                self.folder,
            )
            self.bot.append(process)
            await process.start()
        async with asyncio.timeout(READY_TIMEOUT_S):
            while not self.world.ready():
                for process in self.bot + self.infra:
                    process.check()
                await asyncio.sleep(0.01)
        return time.perf_counter() - self.started_at

    def check(self) -> None:
        for process in self.bot + self.infra:
            process.check()

    def rss_kib(self, field: str = "VmRSS") -> int:
        """Resident memory of the bot's processes together (VmHWM: their peaks)."""
        return sum(proc_status(p.pid, field) for p in self.bot if p.running)

    def cpu_seconds(self) -> float:
        """CPU time the bot's processes have used so far."""
        return sum(cpu_seconds(p.pid) for p in self.bot if p.running)

    async def observer(self) -> Database:
        """A client of the bot's database, to see what it stored."""
        return await open_database(
            self.db_url, username=DB_USER, password=DB_PASSWORD, migrate_schema=False
        )

    async def stop(self) -> None:
        """Stop the bot, then its servers; a shared Redis is left without our keys."""
        for process in self.bot:
            await process.stop()
        for process in reversed(self.infra):
            await process.stop()
        if self.backend == "redis" and self.mode == "multi" and self.redis_url:
            await self._forget_redis_keys()

    async def _forget_redis_keys(self) -> None:
        coordination = await connect_coordination(self.redis_url)
        try:
            client = getattr(coordination, "client", None)
            if client is None:
                return
            for tenant in self.world.tenants:
                found = [k async for k in client.scan_iter(match=keys.tenant_pattern(tenant.name))]
                if found:
                    await client.delete(*found)
        finally:
            with contextlib.suppress(Exception):
                await coordination.close()
