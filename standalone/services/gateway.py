"""The gateway service: owns shards through leases and streams their events to workers.

Every instance tries to take each shard's lease and runs the shards it holds;
the lease is renewed while the shard runs, and the shard stops at once when it
is lost. A shard's session (id, sequence, resume URL) is saved after each event
reached the stream, so whoever takes the shard over next RESUMEs it and Discord
replays what came after, instead of a new IDENTIFY that would lose it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

import aiohttp
import msgspec

from emulation.ports import Coordination
from standalone import keys
from standalone.config import GatewayConfig
from standalone.observability import context, metrics, otel
from standalone.services.bot_presence import BotPresence, GuildCounter
from standalone.services.channel_parents import ChannelParentRecorder
from standalone.services.identify import IdentifyLimits, SessionStartLimit
from standalone.services.member_presences import GUILD_PRESENCES, PresenceRecorder
from standalone.services.shard import GatewayFatal, ShardConnection, ShardLost
from standalone.services.shard_sessions import ShardSessions
from standalone.tracing import new_traceparent
from standalone.wire import Envelope, ShardSession, encode_envelope

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
GUILD_COUNT_EVENTS = frozenset({"READY", "GUILD_CREATE", "GUILD_DELETE"})


class GatewayInfo(msgspec.Struct):
    """GET /gateway/bot, the part used."""

    url: str
    shards: int = 1
    session_start_limit: SessionStartLimit = msgspec.field(default_factory=SessionStartLimit)


class _Held(msgspec.Struct, kw_only=True, dict=False):
    """A shard this instance runs, with the fencing token of its lease."""

    connection: ShardConnection
    lease: str
    token: int
    lost: bool = False


class GatewayService:
    """Runs every shard of one tenant whose lease this instance holds, and takes free ones."""

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
        settings: GatewayConfig | None = None,
    ) -> None:
        self.tenant = tenant
        self.token = token
        self.api_base = api_base.rstrip("/")
        self.coordination = coordination
        self.instance = instance
        self.gateway_url = gateway_url
        self.compress = compress
        self.settings = settings or GatewayConfig()
        self.sessions = ShardSessions(coordination.cache, tenant)
        self.held: dict[int, _Held] = {}
        self._stopping = asyncio.Event()
        # Privileged and off by default: Discord refuses the whole IDENTIFY (4014) when
        # the application was not granted it, and without it no staff-offline notice.
        self.intents = INTENTS | (GUILD_PRESENCES if self.settings.presences else 0)
        self.presences = (
            PresenceRecorder(coordination.cache, tenant) if self.settings.presences else None
        )
        self.guild_counter = GuildCounter(coordination.cache, tenant)
        self.channel_parents = ChannelParentRecorder(coordination.cache, tenant)
        self.shard_count = 1
        # The bot's rotating activity (services/bot_presence.py), run with the shards.
        self.rotation: BotPresence | None = None

    @property
    def shards(self) -> list[ShardConnection]:
        """The shards running here now."""
        return [held.connection for held in self.held.values()]

    async def _gateway_info(self, session: aiohttp.ClientSession) -> GatewayInfo:
        async with session.get(
            f"{self.api_base}/gateway/bot", headers={"Authorization": f"Bot {self.token}"}
        ) as response:
            if response.status == 401:
                raise GatewayFatal(f"tenant {self.tenant}: Discord rejected the bot token")
            response.raise_for_status()
            return msgspec.json.decode(await response.read(), type=GatewayInfo)

    async def _forward(self, shard: int, event: str, seq: int, data: bytes) -> None:
        if self.presences is not None:
            await self.presences.observe(event, data)
        if event in GUILD_COUNT_EVENTS:
            await self.guild_counter.observe(shard, event, data)
        await self.channel_parents.observe(event, data)
        metrics.gateway_events.labels(self.tenant, event).inc()
        if event not in FORWARDED_EVENTS:
            return
        with otel.span(
            "gateway.receive",
            kind="producer",
            attributes={"tickets.tenant": self.tenant, "tickets.event": event, "shard": shard},
        ) as span:
            envelope = Envelope(
                tenant=self.tenant,
                shard=shard,
                seq=seq,
                type=event,
                data=data,
                trace=span.traceparent or new_traceparent(),
            )
            await self.coordination.streams.append(
                keys.events(self.tenant), encode_envelope(envelope), maxlen=STREAM_MAXLEN
            )

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Run held shards and keep taking free ones until ``stop``.

        ``started`` is set once a shard taken in the first round is READY (at
        once when another instance holds them all).
        """
        # Every line of this task and of the shards it starts names the tenant.
        context.tenant.set(self.tenant)
        async with aiohttp.ClientSession() as session:
            info = await self._gateway_info(session)
            try:
                async with asyncio.TaskGroup() as group:
                    if self.rotation is not None:
                        group.create_task(self.rotation.run(self._stopping))
                    await self._take_shards(group, session, info, started)
            except BaseExceptionGroup as failed:
                # One shard's fatal error (a revoked token, say) ends them all; say which.
                raise failed.exceptions[0] from None

    async def _take_shards(
        self,
        group: asyncio.TaskGroup,
        session: aiohttp.ClientSession,
        info: GatewayInfo,
        started: asyncio.Event | None,
    ) -> None:
        count = self.settings.shard_count or info.shards
        self.shard_count = count
        url = self.gateway_url or info.url
        limits = IdentifyLimits(self.coordination, self.tenant, info.session_start_limit)
        first_round = True
        while not self._stopping.is_set():
            for shard_id in range(count):
                if self._stopping.is_set():
                    break
                if shard_id in self.held:
                    continue
                try:
                    await self._try_take(group, session, shard_id, count, url, limits)
                except (OSError, ConnectionError) as exc:
                    # A lease taken meanwhile lapses by itself; the next round retries.
                    log.warning("tenant %s shard %s: %s", self.tenant, shard_id, exc)
            if first_round:
                group.create_task(self._signal_ready(started))
                first_round = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), self.settings.acquire_interval_ms / 1000
                )

    async def _try_take(
        self,
        group: asyncio.TaskGroup,
        session: aiohttp.ClientSession,
        shard_id: int,
        count: int,
        url: str,
        limits: IdentifyLimits,
    ) -> None:
        lease = keys.shard_lease(self.tenant, shard_id)
        token = await self.coordination.leases.acquire(
            lease, self.instance, ttl_ms=self.settings.lease_ttl_ms
        )
        if token is None:
            return
        metrics.lease_changes.labels(self.tenant, "acquired").inc()
        saved = await self.sessions.load(shard_id)
        # Written at once with our token, so a former owner still writing is fenced off.
        await self.sessions.take_over(
            shard_id,
            ShardSession(
                token=token,
                session_id=saved.session_id if saved else None,
                seq=saved.seq if saved else None,
                resume_url=saved.resume_url if saved else None,
            ),
        )
        connection = ShardConnection(
            token=self.token,
            shard_id=shard_id,
            shard_count=count,
            gateway_url=url,
            intents=self.intents,
            sink=functools.partial(self._forward, shard_id),
            session=session,
            compress=self.compress,
            session_id=saved.session_id if saved else None,
            seq=saved.seq if saved else None,
            resume_url=saved.resume_url if saved else None,
        )
        held = _Held(connection=connection, lease=lease, token=token)
        connection.before_connect = functools.partial(self._before_connect, held, limits)
        connection.on_state = functools.partial(self._save, held)
        self.held[shard_id] = held
        log.info(
            "tenant %s shard %s taken by %s (token %s, %s)",
            self.tenant,
            shard_id,
            self.instance,
            token,
            "resuming" if connection.session_id else "identifying",
        )
        group.create_task(self._run_shard(held), name=f"shard:{self.tenant}:{shard_id}")
        if self._stopping.is_set():
            # stop() came while the lease was being taken and did not see this shard.
            await connection.stop()

    async def _signal_ready(self, started: asyncio.Event | None) -> None:
        # One READY shows the token and the gateway work; waiting for every shard
        # would take 5 s per shard of a bucket, past any start-up timeout.
        waiters = [asyncio.ensure_future(s.ready.wait()) for s in self.shards]
        waiters.append(asyncio.ensure_future(self._stopping.wait()))
        if len(waiters) > 1:
            # A stop before READY must not leave this task holding the task group open.
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.wait(waiters)
        if started is not None and not self._stopping.is_set():
            started.set()

    async def _before_connect(self, held: _Held, limits: IdentifyLimits, resuming: bool) -> None:
        shard = held.connection
        # A reconnect after the lease lapsed (a long pause) would take the session
        # from its new owner.
        if not await self.coordination.leases.renew(
            held.lease, self.instance, ttl_ms=self.settings.lease_ttl_ms
        ):
            held.lost = True
            metrics.lease_changes.labels(self.tenant, "lost").inc()
            raise ShardLost(f"tenant {self.tenant} shard {shard.shard_id}: lease lost")
        if not resuming:
            await limits.wait_turn(shard.shard_id, lambda: self._stopping.is_set() or held.lost)

    async def _save(self, held: _Held) -> None:
        shard = held.connection
        try:
            await self.sessions.save(
                shard.shard_id,
                ShardSession(
                    token=held.token,
                    session_id=shard.session_id,
                    seq=shard.seq,
                    resume_url=shard.resume_url,
                ),
            )
        except ShardLost:
            held.lost = True
            metrics.lease_changes.labels(self.tenant, "lost").inc()
            raise

    async def _run_shard(self, held: _Held) -> None:
        shard = held.connection
        renew = asyncio.create_task(self._keep_lease(held))
        try:
            await shard.run()
        except ShardLost as exc:
            log.warning("%s; stopped here", exc)
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            await shard.stop()
            del self.held[shard.shard_id]
            if not held.lost:
                await self._hand_over(held)

    async def _hand_over(self, held: _Held) -> None:
        """Publish the final session and free the lease, so another instance RESUMEs."""
        shard = held.connection
        try:
            await self._save(held)
            if await self.coordination.leases.release(held.lease, self.instance):
                metrics.lease_changes.labels(self.tenant, "released").inc()
        except ShardLost:
            return
        except (OSError, ConnectionError) as exc:
            # The lease then lapses by itself and the session saved last is resumed.
            log.warning(
                "tenant %s shard %s: hand-over failed: %s", self.tenant, shard.shard_id, exc
            )
            return
        log.info("tenant %s shard %s handed over at seq %s", self.tenant, shard.shard_id, shard.seq)

    async def _keep_lease(self, held: _Held) -> None:
        ttl = self.settings.lease_ttl_ms
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            await asyncio.sleep(ttl / 3000)
            try:
                ours = await self.coordination.leases.renew(held.lease, self.instance, ttl_ms=ttl)
            except (OSError, ConnectionError) as exc:
                # Unknown whether it is still ours: past the TTL it may not be.
                log.warning("tenant %s: cannot renew %s: %s", self.tenant, held.lease, exc)
                ours = loop.time() - renewed < ttl / 1000 * 0.8
            else:
                renewed = loop.time()
            if not ours:
                # Another instance may own the shard now: two sockets for one shard
                # would deliver every event twice.
                log.warning("tenant %s lost %s; stopping the shard", self.tenant, held.lease)
                metrics.lease_changes.labels(self.tenant, "lost").inc()
                held.lost = True
                await held.connection.stop()
                return

    async def stop(self) -> None:
        """Hand every shard over: stop reading, save the session, release the lease."""
        self._stopping.set()
        await asyncio.gather(*(held.connection.stop() for held in list(self.held.values())))
