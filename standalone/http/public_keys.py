"""Each tenant's interaction public key, as Discord announces it for the application.

``GET /oauth2/applications/@me`` answers ``verify_key`` (hex) to the bot's own
token, so no key needs storing: the ingress asks once per tenant and keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import msgspec

from standalone.interceptor.service import TokenSource

log = logging.getLogger(__name__)

KEEP_S = 3600.0


class _Application(msgspec.Struct):
    verify_key: str


class ApplicationPublicKeys:
    """``public_keys`` for ``add_interaction_routes``; close it when the service stops."""

    def __init__(self, tokens: TokenSource, api_base: str, keep_s: float = KEEP_S) -> None:
        self.tokens = tokens
        self.api_base = api_base.rstrip("/")
        self.keep_s = keep_s
        self._known: dict[str, tuple[float, str]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, tenant: str) -> str | None:
        hit = self._known.get(tenant)
        if hit is not None and time.monotonic() - hit[0] < self.keep_s:
            return hit[1]
        token = await self.tokens.token(tenant)
        if token is None:
            return None
        key = await self._fetch(tenant, token)
        if key is not None:
            self._known[tenant] = (time.monotonic(), key)
        return key

    async def _fetch(self, tenant: str, token: str) -> str | None:
        async with self._lock:
            if self._session is None:
                self._session = aiohttp.ClientSession()
        try:
            async with self._session.get(
                f"{self.api_base}/oauth2/applications/@me",
                headers={"Authorization": f"Bot {token}"},
            ) as response:
                if response.status != 200:
                    log.warning(
                        "tenant %s: Discord answered %s for the app", tenant, response.status
                    )
                    return None
                return msgspec.json.decode(await response.read(), type=_Application).verify_key
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError) as exc:
            log.warning("tenant %s: no public key from Discord: %r", tenant, exc)
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
