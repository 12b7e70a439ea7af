"""``run_http``: the http service, alone (``tickets serve http``) or inside the aio runner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
from aiohttp import web

from standalone.config import Config
from standalone.db.tenants import TenantRepository
from standalone.discord_bridge import point_at
from standalone.http.app import make_app
from standalone.http.bots import TenantBots
from standalone.http.deps import HttpDeps
from standalone.http.discord_api import DiscordClient
from standalone.http.interactions import add_interaction_routes
from standalone.http.pages import page_routes
from standalone.http.public_keys import ApplicationPublicKeys
from standalone.http.sessions import SessionStore
from standalone.http.signing import Signer
from standalone.interceptor.tokens import DatabaseTokens
from standalone.services.aio import Backends
from standalone.services.errors import StartupError

log = logging.getLogger(__name__)

# Extra routes (the pages) added by whoever composes the service.
RouteSource = Callable[[], list[web.RouteDef]]
_route_sources: list[RouteSource] = []


def add_routes(source: RouteSource) -> None:
    """Let another package (the HTML pages) add routes to every app ``HttpService`` builds."""
    _route_sources.append(source)


class HttpService:
    """Builds the app from the backends, serves it on ``config.http.listen``."""

    def __init__(self, config: Config, backends: Backends) -> None:
        self.config = config
        self.backends = backends
        self.url = ""
        self.deps: HttpDeps | None = None
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._public_keys: ApplicationPublicKeys | None = None

    async def start(self) -> None:
        settings = self.config.http
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        signer = Signer.from_cipher(self.backends.cipher)
        point_at(self.config.discord.api_base)
        tenants = TenantRepository(self.backends.db, self.backends.cipher)
        self.deps = HttpDeps(
            config=settings,
            db=self.backends.db,
            store=self.backends.store,
            coordination=self.backends.coordination,
            cipher=self.backends.cipher,
            discord=DiscordClient(self.config.discord.api_base, self._session),
            signer=signer,
            sessions=SessionStore(
                self.backends.db, self.backends.cipher, signer, settings.session_ttl_s
            ),
            tenants=tenants,
            bots=TenantBots(
                self.backends.db,
                self.backends.store,
                self.backends.coordination.cache,
                self.backends.cipher,
                tenants,
            ),
        )
        extra = [*page_routes(), *(route for source in _route_sources for route in source())]
        app = make_app(self.deps, extra_routes=extra)
        # Discord's "interactions endpoint URL" (optional ingress): same app, same port.
        self._public_keys = ApplicationPublicKeys(
            DatabaseTokens(tenants), self.config.discord.api_base
        )
        add_interaction_routes(
            app, coordination=self.backends.coordination, public_keys=self._public_keys
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        host, _, port = settings.listen.rpartition(":")
        try:
            site = web.TCPSite(runner, host.strip("[]"), int(port))
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            await self._session.close()
            raise StartupError(f"http.listen: cannot listen on {settings.listen}: {exc}") from None
        self._runner = runner
        self.app = app
        bound = runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}"
        self.deps.public_url = settings.public_url or self.url
        log.info("http service on %s (public URL %s)", self.url, settings.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.deps is not None:
            await self.deps.bots.close()
        if self._public_keys is not None:
            await self._public_keys.close()
            self._public_keys = None
        if self._session is not None:
            await self._session.close()
            self._session = None


async def run_http(
    config: Config, backends: Backends, stop: asyncio.Event, started: asyncio.Event | None = None
) -> None:
    """Serve until ``stop`` is set; ``started`` is set once it listens."""
    service = HttpService(config, backends)
    await service.start()
    try:
        if started is not None:
            started.set()
        await stop.wait()
    finally:
        await service.stop()
