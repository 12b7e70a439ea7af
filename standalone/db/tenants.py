"""Tenants: the bots this deployment serves, with their tokens encrypted at rest."""

from __future__ import annotations

import re

from standalone.crypto import Cipher
from standalone.db.connection import Database
from standalone.db.records import Tenant, to_struct

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class TenantError(ValueError):
    """A tenant cannot be added or found; the message says why."""


def check_tenant_name(name: str) -> str:
    """Tenant names become parts of keys and paths, so they are kept plain."""
    if not _NAME.fullmatch(name):
        raise TenantError(
            f"invalid tenant name {name!r}: use 1-32 lowercase letters, digits, '-' or '_'"
        )
    return name


class TenantRepository:
    """Add, list and remove tenants; tokens go in encrypted and come out decrypted."""

    def __init__(self, db: Database, cipher: Cipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(self, name: str, token: str, application_id: str) -> Tenant:
        """Store a new tenant; refuses a name that is taken."""
        check_tenant_name(name)
        if not token.strip():
            raise TenantError("the bot token is empty")
        if not application_id.isdigit():
            raise TenantError(f"invalid application id {application_id!r}: expected digits")
        if await self.get(name) is not None:
            raise TenantError(f"tenant {name!r} already exists")
        row = await self._db.one(
            "CREATE ONLY type::thing('tenant', $name) CONTENT "
            "{name: $name, application_id: $app, token: $secret};",
            {"name": name, "app": application_id, "secret": self._cipher.encrypt(token.strip())},
        )
        return to_struct(row, Tenant)

    async def set_token(self, name: str, token: str) -> None:
        """Replace a tenant's token (after it was reset in Discord)."""
        if not token.strip():
            raise TenantError("the bot token is empty")
        row = await self._db.one(
            "UPDATE ONLY type::thing('tenant', $name) SET token = $secret;",
            {"name": name, "secret": self._cipher.encrypt(token.strip())},
        )
        if row is None:
            raise TenantError(f"no tenant named {name!r}")

    async def set_oauth_secret(self, name: str, secret: str) -> None:
        """Store the application's OAuth2 client secret, for the dashboard's log-in."""
        if not secret.strip():
            raise TenantError("the OAuth2 client secret is empty")
        # UPDATE ONLY fails on a missing record rather than returning nothing.
        rows = await self._db.one(
            "UPDATE type::thing('tenant', $name) SET oauth_secret = $secret;",
            {"name": name, "secret": self._cipher.encrypt(secret.strip())},
        )
        if not rows:
            raise TenantError(f"no tenant named {name!r}")

    def oauth_secret(self, tenant: Tenant) -> str | None:
        """The decrypted OAuth2 client secret, or None when none was set."""
        return None if tenant.oauth_secret is None else self._cipher.decrypt(tenant.oauth_secret)

    async def get(self, name: str) -> Tenant | None:
        """The tenant, or None."""
        row = await self._db.one("SELECT * FROM ONLY type::thing('tenant', $name);", {"name": name})
        return to_struct(row, Tenant) if row else None

    async def list(self) -> list[Tenant]:
        """All tenants, by name."""
        rows = await self._db.one("SELECT * FROM tenant ORDER BY name;")
        return [to_struct(row, Tenant) for row in rows or []]

    async def remove(self, name: str) -> bool:
        """Delete a tenant; True when it existed. Its tickets stay until purged."""
        rows = await self._db.one(
            "DELETE type::thing('tenant', $name) RETURN BEFORE;", {"name": name}
        )
        return bool(rows)

    def token(self, tenant: Tenant) -> str:
        """The decrypted bot token."""
        return self._cipher.decrypt(tenant.token)
