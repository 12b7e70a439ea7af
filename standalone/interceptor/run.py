"""``run_interceptor``: the interceptor as a service, from the configuration."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

from emulation.ports import Coordination
from standalone.config import Config
from standalone.interceptor.client import limiter_for, retry_for
from standalone.interceptor.service import CachedTokens, Interceptor, TokenSource
from standalone.observability.exposition import MetricsServer

log = logging.getLogger(__name__)


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:80`` for IPv6); raises ValueError with the reason."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


async def serve_interceptor(
    config: Config,
    coordination: Coordination,
    tokens: TokenSource,
    *,
    listen: str,
) -> tuple[web.AppRunner, str]:
    """Start an interceptor; returns its runner (clean it up to stop) and its URL."""
    host, port = parse_listen(listen)
    settings = config.interceptor
    if not settings.secret:
        raise ValueError("interceptor.secret is empty: callers could not be told apart")
    interceptor = Interceptor(
        api_base=config.discord.api_base,
        secret=settings.secret,
        tokens=CachedTokens(tokens),
        limiter=limiter_for(settings, coordination),
        retry=retry_for(settings),
        max_body_bytes=settings.max_body_bytes,
        relay=coordination,
    )
    runner = web.AppRunner(interceptor.application(), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    return runner, f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"


async def run_interceptor(
    config: Config,
    *,
    listen: str,
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run an interceptor with the configured backends until ``stop`` is set (or cancelled).

    ``on_ready`` gets the URL it listens on (with the port bound for ``:0``).
    """
    from standalone.db.tenants import TenantRepository
    from standalone.interceptor.tokens import DatabaseTokens
    from standalone.services.aio import open_backends

    backends = await open_backends(config)
    try:
        tokens = DatabaseTokens(TenantRepository(backends.db, backends.cipher))
        runner, url = await serve_interceptor(config, backends.coordination, tokens, listen=listen)
        log.info("interceptor listening on %s", url)
        metrics = MetricsServer(config.metrics.listen) if config.metrics.listen else None
        try:
            if metrics is not None:
                await metrics.start()
            if on_ready is not None:
                on_ready(url)
            await (stop or asyncio.Event()).wait()
        finally:
            if metrics is not None:
                await metrics.stop()
            await runner.cleanup()
    finally:
        await backends.close()
