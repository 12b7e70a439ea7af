"""Each tenant's bot, logged in over REST only, for what the API does in Discord.

The API posts panels and makes channel categories with the same code the slash
commands use (``standalone.tickets``), so it needs the same ``TicketContext``; a
context is made on first use per tenant and closed with the service.
"""

from __future__ import annotations

import asyncio

from emulation.ports import Cache
from standalone.crypto import Cipher
from standalone.db.connection import Database
from standalone.db.settings import SettingsRepository
from standalone.db.tenants import TenantRepository
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from standalone.discord_bridge import make_bot
from standalone.http.errors import not_found
from standalone.tickets.context import TicketContext
from storage.ports import ObjectStore
from storage.scoped import ScopedStore


class TenantBots:
    """``context(tenant)`` → that tenant's ``TicketContext``, logged in once."""

    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        cache: Cache,
        cipher: Cipher,
        tenants: TenantRepository,
    ) -> None:
        self._db = db
        self._store = store
        self._cache = cache
        self._cipher = cipher
        self._tenants = tenants
        self._contexts: dict[str, TicketContext] = {}
        self._lock = asyncio.Lock()

    async def context(self, tenant: str) -> TicketContext:
        async with self._lock:
            if (found := self._contexts.get(tenant)) is not None:
                return found
            row = await self._tenants.get(tenant)
            if row is None:
                raise not_found("bot")
            bot = make_bot(int(row.application_id))
            try:
                await bot.login(self._tenants.token(row))
            except BaseException:
                await bot.close()
                raise
            ctx = TicketContext(
                bot=bot,
                tickets=TicketRepository(self._db, tenant),
                settings=SettingsRepository(self._db, tenant),
                timers=TimerRepository(self._db, tenant),
                store=ScopedStore(self._store, tenant),
                cipher=self._cipher,
                cache=self._cache,
            )
            self._contexts[tenant] = ctx
            return ctx

    async def close(self) -> None:
        async with self._lock:
            for ctx in self._contexts.values():
                await ctx.bot.close()
            self._contexts.clear()
