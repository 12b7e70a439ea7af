"""The gateway service: owns shards through leases and streams their events to workers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

import aiohttp
import msgspec

from emulation.ports import Coordination
from standalone import keys
from standalone.services.shard import GatewayFatal, ShardConnection
from standalone.wire import Envelope, encode_envelope

log = logging.getLogger(__name__)

# Only what the bot acts on crosses the stream.
FORWARDED_EVENTS = frozenset(
    {
        "INTERACTION_CREATE",
        "GUILD_CREATE",
        "GUILD_DELETE",
        "CHANNEL_DELETE",
        "THREAD_DELETE",
        "GUILD_MEMBER_REMOVE",
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
        "MESSAGE_DELETE_BULK",
    }
)
# GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT. Members
# and message content are privileged: enable them for the application in Discord's
# developer portal (departures close tickets; the archive needs message text).
INTENTS = (1 << 0) | (1 << 1) | (1 << 9) | (1 << 12) | (1 << 15)
STREAM_MAXLEN = 100_000
LEASE_TTL_MS = 15_000


class GatewayInfo(msgspec.Struct):
    """GET /gateway/bot, the part used."""

    url: str
    shards: int = 1


class GatewayService:
    """Runs every shard of one tenant whose lease this instance can take."""

    def __init__(
        self,
        *,
        tenant: str,
        token: str,
        api_base: str,
        coordination: Coordination,
        instance: str,
        gateway_url: str = "",
        compress: bool = True,
    ) -> None:
        self.tenant = tenant
        self.token = token
        self.api_base = api_base.rstrip("/")
        self.coordination = coordination
        self.instance = instance
        self.gateway_url = gateway_url
        self.compress = compress
        self.shards: list[ShardConnection] = []
        self._session: aiohttp.ClientSession | None = None

    async def _gateway_info(self, session: aiohttp.ClientSession) -> GatewayInfo:
        async with session.get(
            f"{self.api_base}/gateway/bot", headers={"Authorization": f"Bot {self.token}"}
        ) as response:
            if response.status == 401:
                raise GatewayFatal(f"tenant {self.tenant}: Discord rejected the bot token")
            response.raise_for_status()
            return msgspec.json.decode(await response.read(), type=GatewayInfo)

    async def _forward(self, shard: int, event: str, seq: int, data: bytes) -> None:
        if event not in FORWARDED_EVENTS:
            return
        envelope = Envelope(tenant=self.tenant, shard=shard, seq=seq, type=event, data=data)
        await self.coordination.streams.append(
            keys.events(self.tenant), encode_envelope(envelope), maxlen=STREAM_MAXLEN
        )

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Connect every shard this instance holds; returns when they all stop."""
        async with aiohttp.ClientSession() as session:
            self._session = session
            info = await self._gateway_info(session)
            url = self.gateway_url or info.url
            shards: list[tuple[ShardConnection, str]] = []
            for shard_id in range(info.shards):
                lease = keys.shard_lease(self.tenant, shard_id)
                if (
                    await self.coordination.leases.acquire(
                        lease, self.instance, ttl_ms=LEASE_TTL_MS
                    )
                    is None
                ):
                    log.info("tenant %s shard %s is run elsewhere", self.tenant, shard_id)
                    continue
                shard = ShardConnection(
                    token=self.token,
                    shard_id=shard_id,
                    shard_count=info.shards,
                    gateway_url=url,
                    intents=INTENTS,
                    sink=functools.partial(self._forward, shard_id),
                    session=session,
                    compress=self.compress,
                )
                self.shards.append(shard)
                shards.append((shard, lease))
            signal = asyncio.create_task(self._signal_ready(started))
            try:
                async with asyncio.TaskGroup() as group:
                    for shard, lease in shards:
                        group.create_task(self._run_shard(shard, lease))
            finally:
                signal.cancel()
                await asyncio.wait([signal])

    async def _signal_ready(self, started: asyncio.Event | None) -> None:
        await asyncio.gather(*(shard.ready.wait() for shard in self.shards))
        if started is not None:
            started.set()

    async def _run_shard(self, shard: ShardConnection, lease: str) -> None:
        renew = asyncio.create_task(self._keep_lease(shard, lease))
        try:
            await shard.run()
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            await shard.stop()
            await self.coordination.leases.release(lease, self.instance)

    async def _keep_lease(self, shard: ShardConnection, lease: str) -> None:
        while True:
            await asyncio.sleep(LEASE_TTL_MS / 3000)
            if not await self.coordination.leases.renew(lease, self.instance, ttl_ms=LEASE_TTL_MS):
                # Another instance owns the shard now: two sockets for one shard would
                # deliver every event twice.
                log.warning("tenant %s lost the lease of shard %s", self.tenant, shard.shard_id)
                await shard.stop()
                return

    async def stop(self) -> None:
        """Disconnect every shard."""
        await asyncio.gather(*(shard.stop() for shard in self.shards))
