"""What the http service's handlers need, built once and kept on the aiohttp app."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry

from emulation.ports import Coordination
from standalone.config import HttpConfig
from standalone.crypto import Cipher
from standalone.db.connection import Database
from standalone.db.records import Tenant
from standalone.db.tenants import TenantError, TenantRepository, check_tenant_name
from standalone.http.bots import TenantBots
from standalone.http.discord_api import DiscordClient
from standalone.http.errors import not_found
from standalone.http.sessions import SessionStore
from standalone.http.signing import Signer
from storage.ports import ObjectStore


@dataclass
class HttpDeps:
    """The ports, the tenants, sessions, and the Discord client."""

    config: HttpConfig
    db: Database
    store: ObjectStore
    coordination: Coordination
    cipher: Cipher
    discord: DiscordClient
    signer: Signer
    sessions: SessionStore
    tenants: TenantRepository
    bots: TenantBots
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # Where browsers reach the service; set once it listens (http.public_url, or its address).
    public_url: str = ""

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


DEPS = web.AppKey("tickets_http_deps", HttpDeps)


def deps_of(request: web.Request) -> HttpDeps:
    return request.app[DEPS]


async def tenant_of(request: web.Request) -> Tenant:
    """The tenant the URL names (``/t/{tenant}/...``); 404 when there is none."""
    name = request.match_info.get("tenant", "")
    try:
        check_tenant_name(name)
    except TenantError:
        raise not_found("bot") from None
    tenant = await deps_of(request).tenants.get(name)
    if tenant is None:
        raise not_found("bot")
    return tenant
