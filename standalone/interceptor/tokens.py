"""Bot tokens for the interceptor, read from the tenants in the database."""

from __future__ import annotations

from standalone.db.tenants import TenantError, TenantRepository, check_tenant_name


class DatabaseTokens:
    """A ``TokenSource`` over the tenant records (tokens are stored encrypted)."""

    def __init__(self, tenants: TenantRepository) -> None:
        self.tenants = tenants

    async def token(self, tenant: str) -> str | None:
        try:
            check_tenant_name(tenant)
        except TenantError:
            return None  # a name no tenant can have: no lookup needed
        record = await self.tenants.get(tenant)
        return None if record is None else self.tenants.token(record)
