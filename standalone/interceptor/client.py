"""How a worker's REST calls reach Discord: through the interceptor, or limited in-process."""

from __future__ import annotations

from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse

from emulation.ports import Coordination
from standalone.config import Config, InterceptorConfig
from standalone.interceptor.headers import SECRET_HEADER, TENANT_HEADER
from standalone.interceptor.limiter import Limiter, LimiterSettings
from standalone.interceptor.middleware import RateLimitMiddleware, RetryPolicy


def limiter_for(config: InterceptorConfig, coordination: Coordination) -> Limiter:
    """The limiter as configured, on the shared coordination backend."""
    settings = LimiterSettings(
        global_limit=config.global_limit,
        global_window_ms=config.global_window_ms,
        margin_ms=config.margin_ms,
    )
    return Limiter(coordination.cache, coordination.counters, settings)


def retry_for(config: InterceptorConfig) -> RetryPolicy:
    return RetryPolicy(max_5xx_retries=config.max_5xx_retries, backoff_ms=config.backoff_ms)


class CallerHeaders:
    """Names the tenant and proves the caller to the interceptor, on every call."""

    def __init__(self, secret: str, tenant: str) -> None:
        self._headers = {SECRET_HEADER: secret, TENANT_HEADER: tenant}

    async def __call__(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        request.headers.update(self._headers)
        return await handler(request)


class RestRouting:
    """One per process: the REST base URL and each tenant's client middlewares."""

    def __init__(self, config: Config, coordination: Coordination) -> None:
        self.config = config
        self._limiter: Limiter | None = None
        if not config.interceptor.url:
            self._limiter = limiter_for(config.interceptor, coordination)

    @property
    def api_base(self) -> str:
        """Where disnake sends REST calls (``point_at``)."""
        url = self.config.interceptor.url
        return f"{url.rstrip('/')}/api/v10" if url else self.config.discord.api_base

    def middlewares(self, tenant: str) -> tuple[ClientMiddlewareType, ...]:
        settings = self.config.interceptor
        if self._limiter is None:
            return (CallerHeaders(settings.secret, tenant),)
        return (RateLimitMiddleware(self._limiter, tenant, retry_for(settings)),)
