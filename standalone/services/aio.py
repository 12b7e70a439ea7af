"""The runner of services: every service of every tenant as asyncio tasks in one process.

This is also the composition root: the only place that turns configuration into
adapters and hands them to services. ``tickets run`` runs all three services
here; ``tickets serve gateway|worker|scheduler`` runs one of them per process
through the same ``AioRunner``, so both modes build services the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import disnake
import msgspec

from emulation.connect import connect_coordination, parse_coordination_url
from emulation.memory import MemoryCoordination
from emulation.ports import Coordination
from standalone import keys
from standalone.config import Config
from standalone.crypto import Cipher, load_cipher
from standalone.db import Database, open_database
from standalone.db.listen import is_loopback, parse_listen
from standalone.db.tenants import TenantRepository
from standalone.db.tickets import TicketRepository
from standalone.discord_bridge import point_at
from standalone.interceptor.client import RestRouting
from standalone.observability import otel
from standalone.observability.redact import register_secret
from standalone.observability.rest import RestObserver
from standalone.observability.sampler import sample_streams
from standalone.services import heap
from standalone.services.bot_presence import BotPresence
from standalone.services.errors import StartupError
from standalone.services.gateway import GatewayService
from standalone.services.scheduler import Scheduler
from standalone.services.shard import GatewayFatal
from standalone.services.worker import Worker
from standalone.tenant_app import TenantApp
from standalone.wire import decode_drain
from storage.connect import open_store
from storage.file import FileStore
from storage.ports import ObjectStore, StorageError

# What only an option turns on (serving coordination or the database, /metrics,
# the dashboard) is imported when it is on: an idle bot on the defaults does not
# hold that code in memory.
if TYPE_CHECKING:
    from emulation.unix.server import CoordinationServer
    from standalone.db.server import DatabaseServer
    from standalone.http.service import HttpService
    from standalone.observability.exposition import MetricsServer

log = logging.getLogger(__name__)

# What one tenant's start-up may fail with without taking the others down.
TENANT_FAULTS = (
    disnake.LoginFailure,
    disnake.HTTPException,
    GatewayFatal,
    aiohttp.ClientError,
    OSError,
)
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0


def _explain(exc: BaseException) -> str:
    if isinstance(exc, disnake.LoginFailure):
        return "Discord rejected the bot token"
    return str(exc) or type(exc).__name__


class Backends(msgspec.Struct, frozen=True, kw_only=True, dict=False):
    """The three ports, opened from configuration."""

    db: Database
    store: ObjectStore
    coordination: Coordination
    cipher: Cipher
    # The unix:// server this process runs for the others (coordination.serve).
    server: CoordinationServer | None = None
    # The ws:// server sharing this process's embedded database (database.serve).
    db_server: DatabaseServer | None = None

    async def close(self) -> None:
        """Close whatever holds a connection or a file."""
        await self.coordination.close()
        await self.store.close()
        if self.server is not None:
            await self.server.close()
        if self.db_server is not None:
            await self.db_server.close()
        await self.db.close()


def open_configured_store(config: Config) -> ObjectStore:
    """The object store ``config.storage`` names, with its credentials."""
    return open_store(
        config.storage.url,
        access_key_id=config.storage.access_key_id,
        secret_access_key=config.storage.secret_access_key,
    )


async def sweep_temp_files(store: FileStore) -> None:
    """Remove what writes a crash cut short left: temp files never renamed into place."""
    try:
        swept = await store.sweep()
    except StorageError as exc:
        # Housekeeping only; the store itself may still work, and its own
        # operations report faults to whoever uses it.
        log.warning("%s", exc)
        return
    if swept:
        log.info("removed %d temp files left in %s by an earlier crash", swept, store.root)


async def serve_coordination(config: Config) -> CoordinationServer | None:
    """Start the unix:// server in this process when the configuration says so."""
    settings = config.coordination
    if not settings.serve:
        return None
    from emulation.unix.server import CoordinationServer

    target = parse_coordination_url(settings.url)
    assert target.socket_path is not None
    memory = MemoryCoordination(
        aof_path=settings.aof_path or None,
        fsync=settings.fsync,
    )
    server = CoordinationServer(memory, target.socket_path)
    try:
        await server.start()
    except (RuntimeError, OSError) as exc:
        await memory.close()
        raise StartupError(f"coordination.serve: cannot serve {settings.url}: {exc}") from None
    except BaseException:
        await memory.close()
        raise
    if not settings.aof_path:
        # The other processes outlive this one: say what they lose with it.
        log.warning(
            "coordination.serve without coordination.aof_path: streams, leases and "
            "fencing tokens start afresh when this process restarts (tokens at 1 again)"
        )
    return server


async def serve_database(config: Config, db: Database) -> DatabaseServer | None:
    """Serve this process's embedded database at ws://listen when the configuration says so."""
    settings = config.database
    if not settings.serve:
        return None
    from standalone.db.server import Credentials, DatabaseServer

    assert db.engine is not None  # the configuration allows serve with embedded URLs only
    host, port = parse_listen(settings.listen)
    server = DatabaseServer(
        db.engine,
        namespace=settings.namespace,
        database=settings.database,
        credentials=Credentials(username=settings.username, password=settings.password),
    )
    try:
        await server.start(host, port)
    except OSError as exc:
        raise StartupError(f"database.serve: cannot listen on {settings.listen}: {exc}") from None
    if not is_loopback(host):
        log.warning("database.serve on %s: queries and passwords cross the network in clear", host)
    log.info("serving the database at %s", server.url)
    return server


async def open_backends(config: Config) -> Backends:
    """Open database, storage and coordination as configured."""
    cipher = load_cipher(config.security.key_file)
    db = await open_database(
        config.database.url,
        namespace=config.database.namespace,
        database=config.database.database,
        username=config.database.username,
        password=config.database.password,
    )
    server: CoordinationServer | None = None
    db_server: DatabaseServer | None = None
    try:
        db_server = await serve_database(config, db)
        store = open_configured_store(config)
        if isinstance(store, FileStore):
            await sweep_temp_files(store)
        server = await serve_coordination(config)
        coordination = await connect_coordination(
            config.coordination.url,
            aof_path=config.coordination.aof_path or None,
            fsync=config.coordination.fsync,
        )
    except BaseException:
        if server is not None:
            await server.close()
        if db_server is not None:
            await db_server.close()
        await db.close()
        raise
    return Backends(
        db=db,
        store=store,
        coordination=coordination,
        cipher=cipher,
        server=server,
        db_server=db_server,
    )


def default_instance() -> str:
    """This process's name among instances: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class AioRunner:
    """Gateway, worker and scheduler services for every tenant, in this process."""

    def __init__(
        self,
        config: Config,
        backends: Backends,
        *,
        services: Sequence[str] = ("gateway", "worker", "scheduler"),
        instance: str | None = None,
    ) -> None:
        self.config = config
        self.backends = backends
        self.services = tuple(services)
        self.instance = instance or default_instance()
        # Alone in this process, workers leave the stream to the other workers on
        # stop; alongside the gateways they empty it first (the gateways stopped).
        self.alone = "gateway" not in self.services
        self.apps: dict[str, TenantApp] = {}
        self.gateways: dict[str, GatewayService] = {}
        self.workers: list[Worker] = []
        self.schedulers: dict[str, Scheduler] = {}
        self.scheduler_tasks: list[asyncio.Task[None]] = []
        self.worker_tasks: dict[str, asyncio.Task[None]] = {}
        self.gateway_tasks: list[asyncio.Task[None]] = []
        self.failures: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.rest = RestRouting(config, backends.coordination)
        self.http: HttpService | None = None
        self.metrics: MetricsServer | None = None
        self._sampler: asyncio.Task[None] | None = None
        self._traced = False

    async def start(self) -> None:
        """Start every tenant's services; returns once their gateways are READY.

        A tenant that cannot start (a revoked token, say) is reported in
        ``failures`` and the others run on; only when none starts is that an error.
        """
        point_at(self.rest.api_base)
        await self._observe()
        tenants = TenantRepository(self.backends.db, self.backends.cipher)
        rows = await tenants.list()
        starting: list[tuple[str, asyncio.Event, asyncio.Task[None]]] = []
        for tenant in rows:
            try:
                started = await self._start_tenant(
                    tenant.name, int(tenant.application_id), tenants.token(tenant)
                )
            except TENANT_FAULTS as exc:
                self.failures.append(f"tenant {tenant.name}: {_explain(exc)}")
                log.error("tenant %s cannot start: %s", tenant.name, _explain(exc))
                continue
            if started is not None:
                starting.append((tenant.name, *started))
        await self._wait_ready(starting)
        if rows and len(self.failures) == len(rows):
            raise StartupError("no tenant could start: " + "; ".join(self.failures))
        if self.config.http.enabled:
            from standalone.http.service import HttpService  # it imports this

            self.http = HttpService(self.config, self.backends)
            await self.http.start()
        heap.release_freed_memory()

    async def _observe(self) -> None:
        """Start what operators watch: /metrics, the stream sampler, tracing."""
        if not otel.enabled():
            try:
                self._traced = otel.configure(self.config.tracing)
            except otel.TracingUnavailable as exc:
                raise StartupError(str(exc)) from None
        if self.config.metrics.listen:
            from standalone.observability.exposition import MetricsServer

            server = MetricsServer(self.config.metrics.listen)
            try:
                await server.start()
            except OSError as exc:
                raise StartupError(
                    f"metrics.listen: cannot listen on {self.config.metrics.listen}: {exc}"
                ) from None
            self.metrics = server
        if {"gateway", "worker"} & set(self.services):
            interval = self.config.metrics.sample_interval_ms / 1000
            sampler = sample_streams(self.backends.coordination.streams, self._tenants, interval)
            # Not among the services: it must not keep the runner alive when they end.
            self._sampler = asyncio.create_task(sampler, name="metrics:streams")

    def _tenants(self) -> list[str]:
        return sorted(set(self.apps) | set(self.gateways))

    async def _start_tenant(
        self, name: str, application_id: int, token: str
    ) -> tuple[asyncio.Event, asyncio.Task[None]] | None:
        # Whatever a library logs, this tenant's token never reaches the log.
        register_secret(token)
        if "worker" in self.services or "scheduler" in self.services:
            app = TenantApp(
                tenant=name,
                application_id=application_id,
                token=token,
                db=self.backends.db,
                store=self.backends.store,
                cache=self.backends.coordination.cache,
                cipher=self.backends.cipher,
                rest_middlewares=(*self.rest.middlewares(name), RestObserver(name)),
                streams=self.backends.coordination.streams,
            )
            try:
                await app.start(sync=True)
            except BaseException:
                await app.close()
                raise
            self.apps[name] = app
            if "worker" in self.services:
                self.add_worker(app)
            if "scheduler" in self.services:
                self.add_scheduler(app)
        if "gateway" not in self.services:
            return None
        gateway = GatewayService(
            tenant=name,
            token=token,
            api_base=self.config.discord.api_base,
            coordination=self.backends.coordination,
            instance=self.instance,
            gateway_url=self.config.discord.gateway_url,
            compress=self.config.discord.compress,
            settings=self.config.gateway,
        )
        gateway.rotation = BotPresence(
            tenant=name,
            settings=self.config.presence,
            cache=self.backends.coordination.cache,
            tickets=TicketRepository(self.backends.db, name),
            shards=gateway,
        )
        self.gateways[name] = gateway
        started = asyncio.Event()
        task = self._spawn(gateway.run(started), f"gateway:{name}")
        self.gateway_tasks.append(task)
        return started, task

    async def _wait_ready(
        self, starting: list[tuple[str, asyncio.Event, asyncio.Task[None]]]
    ) -> None:
        """Wait until each gateway is READY or has failed (its failure is reported)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        while not all(event.is_set() or task.done() for _, event, task in starting):
            if loop.time() > deadline:
                late = [
                    name for name, event, task in starting if not (event.is_set() or task.done())
                ]
                raise StartupError(f"gateway of {', '.join(late)} not ready in {READY_TIMEOUT_S} s")
            await asyncio.sleep(0.02)

    def add_worker(self, app: TenantApp, **options: object) -> Worker:
        """Start one more consumer for a tenant (tests start several)."""
        worker = Worker(
            handler=app,
            streams=self.backends.coordination.streams,
            consumer=f"{self.instance}-{app.tenant}-{len(self.workers)}",
            settings=self.config.worker,
            **options,  # type: ignore[arg-type]
        )
        self.workers.append(worker)
        self.worker_tasks[worker.consumer] = self._spawn(worker.run(), f"worker:{app.tenant}")
        return worker

    def add_scheduler(self, app: TenantApp) -> Scheduler:
        """Start the tenant's scheduler; it fires timers only while it holds the lease."""
        scheduler = Scheduler(
            tenant=app.tenant,
            timers=app.ctx.timers,
            fire=app.fire_timer,
            leases=self.backends.coordination.leases,
            owner=self.instance,
            settings=self.config.scheduler,
        )
        self.schedulers[app.tenant] = scheduler
        self.scheduler_tasks.append(self._spawn(scheduler.run(), f"scheduler:{app.tenant}"))
        return scheduler

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._report)
        self._tasks.append(task)
        return task

    def _report(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.failures.append(f"{task.get_name()}: {task.exception()}")
            log.error("service %s stopped: %r", task.get_name(), task.exception())

    async def stop(self) -> None:
        """Stop reading from Discord first, then timers and workers, then close the bots."""
        if self.http is not None:
            await self.http.stop()
        for gateway in self.gateways.values():
            await gateway.stop()
        await self._settle(self.gateway_tasks, STOP_GRACE_S)
        # A job in hand finishes; an unfinished one is taken again after its hold.
        for scheduler in self.schedulers.values():
            scheduler.stop()
        await self._settle(self.scheduler_tasks, STOP_GRACE_S)
        for worker in self.workers:
            if self.alone:
                worker.leave()
            else:
                worker.stop()
        # In-flight handlers finish; what is left after the grace period stays
        # pending in the stream and is redelivered after a restart.
        await self._settle(list(self.worker_tasks.values()), STOP_GRACE_S)
        await self._settle(self._tasks, 0)
        for app in self.apps.values():
            await app.close()
        if self._sampler is not None:
            await self._settle([self._sampler], 0)
        if self.metrics is not None:
            await self.metrics.stop()
        if self._traced:
            otel.uninstall()

    @staticmethod
    async def _settle(tasks: list[asyncio.Task[None]], grace_s: float) -> None:
        """Let tasks end on their own for ``grace_s``, then cancel and reap them."""
        running = [task for task in tasks if not task.done()]
        if not running:
            return
        if grace_s > 0:
            await asyncio.wait(running, timeout=grace_s)
        for task in running:
            task.cancel()
        await asyncio.wait(running)

    async def _drain_requested(self) -> None:
        """Return when ``tickets gateway drain`` names this instance."""
        channel = keys.gateway_drain(self.instance)
        while True:
            try:
                subscription = await self.backends.coordination.pubsub.subscribe([channel])
                try:
                    async for message in subscription:
                        try:
                            request = decode_drain(message.data)
                        except (msgspec.DecodeError, msgspec.ValidationError):
                            log.warning("ignored a malformed drain request on %s", channel)
                            continue
                        if request.instance == self.instance:
                            log.info("drain requested: handing every shard over")
                            return
                finally:
                    await subscription.close()
            except (OSError, ConnectionError) as exc:
                # The shards run on meanwhile; only the drain request waits.
                log.warning("cannot listen for drain requests (%s); trying again", exc)
            await asyncio.sleep(1)

    async def run_until_signal(self) -> None:
        """Run until SIGINT, SIGTERM or (gateways) a drain request, then shut down cleanly.

        For a process that runs nothing else: the heap is settled once started.
        """
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        drain = asyncio.create_task(self._drain_requested()) if "gateway" in self.services else None
        try:
            await self.start()
            heap.settle(collected=True)  # start() ends with release_freed_memory()
            # Runs until a signal, or until every service has ended by itself.
            waiters = [
                asyncio.create_task(stop.wait()),
                asyncio.create_task(asyncio.wait(self._tasks)),
            ]
            if drain is not None:
                waiters.append(drain)
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            await asyncio.wait(waiters)
        finally:
            if drain is not None and not drain.done():
                drain.cancel()
                await asyncio.wait([drain])
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.stop()
