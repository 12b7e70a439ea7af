"""A deployment of separate service processes against the Discord stand-in.

Gateways and workers run as real ``tickets serve`` processes sharing one
coordination backend (a ``tickets emulation serve`` socket or Redis); the
stand-in runs in the test process, which plays the members and counts, per
interaction, the callbacks the bot POSTed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulation.connect import connect_coordination
from emulation.discord import FakeDiscord, FakeInteraction
from emulation.discord.gateway import shard_of
from emulation.ports import Coordination
from standalone import keys
from standalone.crypto import load_cipher
from standalone.db import open_database
from standalone.db.tenants import TenantRepository
from tests.e2e.child import ChildProcess
from tests.e2e.conftest import MANAGE_GUILD, eventually

ROOT = Path(__file__).resolve().parent.parent.parent
SHARDS = 2
LEASE_TTL_MS = 2_000
DB_USER = "tickets"
DB_PASSWORD = "local-test-password"


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TICKETS") and k != "DISCORD_TOKEN"
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def guild_count(by_shard: dict[int, list[Place]]) -> int:
    return sum(len(places) for places in by_shard.values())


class DatabaseProcess:
    """``tickets db serve``: the one process holding the embedded database, for all."""

    def __init__(self, config: Path, folder: Path) -> None:
        self.config = config
        self.folder = folder
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "db",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            str(self.config),
            cwd=self.config.parent,
            env=child_env({"TICKETS__DATABASE__URL": f"surrealkv://{self.folder}"}),
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stderr is not None
        # "serving surrealkv://… at ws://127.0.0.1:PORT" once it listens.
        seen = b""
        async with asyncio.timeout(60):
            while b" at ws://" not in (line := await self.process.stderr.readline()):
                seen += line
                assert line, f"tickets db serve ended: {seen.decode(errors='replace')}"
        self.url = line.decode().strip().rsplit(" at ", 1)[1]
        # Nobody reads its log from here on: let it go nowhere rather than fill a pipe.
        self._drain = asyncio.create_task(self._discard(self.process.stderr))

    @staticmethod
    async def _discard(stream: asyncio.StreamReader) -> None:
        while await stream.read(65536):
            pass

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class ServiceProcess(ChildProcess):
    """One ``tickets serve SERVICE`` process; its output goes to a log file."""

    def __init__(self, service: str, instance: str, config: Path) -> None:
        self.service = service
        self.instance = instance
        self.config = config
        self.log_path = config.parent / f"{instance}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.killed = False

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cli",
                "serve",
                self.service,
                "--config",
                str(self.config),
                "--instance",
                self.instance,
                cwd=self.config.parent,
                env=child_env({}),
                stdout=log,
                stderr=log,
            )

    async def kill(self) -> None:
        self.killed = True
        await super().kill()

    async def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)


@dataclass
class Place:
    """A guild on one shard, with a member allowed to run /category list."""

    guild: Any
    staff: Any
    channel: Any


@dataclass
class Deployment:
    """The stand-in's world, a config file and the service processes started so far."""

    discord: FakeDiscord
    tmp: Path
    coordination_url: str
    tenant: str
    app: Any = None
    places: list[Place] = field(default_factory=list)
    processes: list[ServiceProcess] = field(default_factory=list)
    coordination: Coordination | None = None
    database: DatabaseProcess | None = None
    sent: list[FakeInteraction] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.tmp / "tickets.toml"

    async def prepare(self) -> None:
        """A bot with SHARDS shards and a guild on each, and the config every process reads."""
        self.app = self.discord.add_application(name="Tickets", shard_count=SHARDS)
        by_shard: dict[int, list[Place]] = {shard: [] for shard in range(SHARDS)}
        while min(len(places) for places in by_shard.values()) < 2:
            guild = self.discord.add_guild(name=f"Server {guild_count(by_shard)}")
            role = self.discord.add_role(guild.id, name="Staff", permissions=MANAGE_GUILD)
            staff = self.discord.add_member(guild.id, username=f"sam{guild.id}", roles=[role.id])
            channel = self.discord.add_channel(guild.id, name="support")
            self.discord.install(self.app.id, guild.id)
            by_shard[shard_of(guild.id, SHARDS)].append(Place(guild, staff, channel))
        # Taken in turn, so the load reaches every shard alike.
        for row in zip(*by_shard.values(), strict=False):
            self.places.extend(row)
        self._write_config("mem://")
        # One database for every process, through the local database server.
        self.database = DatabaseProcess(self.config, self.tmp / "db")
        await self.database.start()
        self._write_config(self.database.url)
        db = await open_database(
            self.database.url,
            namespace="tickets",
            database="main",
            username=DB_USER,
            password=DB_PASSWORD,
        )
        try:
            cipher = load_cipher(self.tmp / "secret.key")
            await TenantRepository(db, cipher).add(self.tenant, self.app.token, str(self.app.id))
        finally:
            await db.close()
        self.coordination = await connect_coordination(self.coordination_url)

    def _write_config(self, database_url: str) -> None:
        self.config.write_text(
            f"""
[discord]
api_base = "{self.discord.api_base}"

[database]
url = "{database_url}"
username = "{DB_USER}"
password = "{DB_PASSWORD}"

[storage]
url = "file://{self.tmp / "objects"}"

[coordination]
url = "{self.coordination_url}"

[security]
key_file = "{self.tmp / "secret.key"}"

[worker]
redeliver_after_ms = 5000
claim_interval_ms = 200

[gateway]
lease_ttl_ms = {LEASE_TTL_MS}
acquire_interval_ms = 200

[logging]
level = "INFO"
""",
            encoding="utf-8",
        )

    async def start(self, service: str, instance: str) -> ServiceProcess:
        process = ServiceProcess(service, instance, self.config)
        self.processes.append(process)
        await process.start()
        return process

    async def holders(self) -> list[str | None]:
        """Which instance holds each shard's lease."""
        assert self.coordination is not None
        found = []
        for shard in range(SHARDS):
            info = await self.coordination.leases.holder(keys.shard_lease(self.tenant, shard))
            found.append(info.owner if info else None)
        return found

    def connected_shards(self) -> set[int]:
        return {s.shard_id for s in self.discord.gateway.sessions_of(self.app.id) if s.conn}

    def resumes(self) -> int:
        """Successful RESUMEs of the bot, counted by the stand-in."""
        return self.discord.gateway.resumes[self.app.id]

    def identifies(self) -> int:
        """Admitted IDENTIFYs of the bot, counted by the stand-in."""
        return self.discord.gateway.identifies[self.app.id]

    def assert_limits_kept(self) -> None:
        """No IDENTIFY came too fast for its bucket, and the start budget never ran out."""
        assert self.discord.gateway.identify_refusals[self.app.id] == 0
        assert self.discord.gateway.token_resets[self.app.id] == 0

    async def until_held_by(self, instance: str, timeout: float = 60) -> None:
        """Every shard leased to ``instance`` and connected at the stand-in."""

        async def check() -> bool:
            self.fail_if_exited()
            return await self.holders() == [instance] * SHARDS and self.connected_shards() == set(
                range(SHARDS)
            )

        await eventually(check, timeout)

    def fail_if_exited(self) -> None:
        for process in self.processes:
            code = process.process.returncode if process.process else None
            if code not in (None, 0) and not process.killed:
                raise AssertionError(
                    f"{process.instance} exited with {code}:\n" + process.log()[-4000:]
                )

    async def until_commands(self) -> None:
        async def check() -> bool:
            self.fail_if_exited()
            return bool(self.discord.commands(self.app.id))

        await eventually(check, 60)

    async def send(self, index: int) -> FakeInteraction:
        place = self.places[index % len(self.places)]
        actor = self.discord.actor(self.app.id, place.guild.id, place.staff.id)
        inter = await actor.slash("category list", channel_id=place.channel.id)
        self.sent.append(inter)
        return inter

    async def steady_load(self, stop: asyncio.Event, interval: float = 0.05) -> None:
        """Interactions on every shard in turn until ``stop``."""
        index = 0
        while not stop.is_set():
            await self.send(index)
            index += 1
            await asyncio.sleep(interval)

    def callbacks(self) -> Counter[int]:
        """Callback POSTs per interaction id, refused ones included."""
        counts: Counter[int] = Counter()
        for method, path in self.discord.requests:
            parts = path.split("/")
            if method == "POST" and len(parts) == 5 and parts[1] == "interactions":
                counts[int(parts[2])] += 1
        return counts

    async def until_all_answered(self, interactions: list[FakeInteraction]) -> None:
        async def check() -> bool:
            self.fail_if_exited()
            return all(inter.callback is not None for inter in interactions)

        await eventually(check, 60)

    def assert_each_handled_once(self, interactions: list[FakeInteraction]) -> None:
        counts = self.callbacks()
        wrong = {i.id: counts[i.id] for i in interactions if counts[i.id] != 1}
        assert not wrong, f"callbacks per interaction, where not exactly one: {wrong}"
        answer = interactions[-1].callback
        assert answer is not None and answer["data"]["content"] == "No categories yet."

    async def close(self) -> None:
        """Stop whatever still runs (SIGKILL when SIGTERM is not enough) and clean up."""
        for process in self.processes:
            if process.running:
                try:
                    await process.terminate(20)
                except TimeoutError:
                    await process.kill()
        if self.coordination is not None:
            client = getattr(self.coordination, "client", None)
            if client is not None:
                found = [k async for k in client.scan_iter(match=f"tickets:{self.tenant}:*")]
                if found:
                    await client.delete(*found)
            await self.coordination.close()
        if self.database is not None:
            await self.database.stop()
