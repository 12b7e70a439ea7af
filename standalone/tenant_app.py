"""One tenant's bot inside a worker: disnake, the ticket service, and event dispatch."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import disnake
import msgspec
from aiohttp import ClientMiddlewareType
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.message import MessageInteraction
from disnake.interactions.modal import ModalInteraction

from emulation.ports import Cache, Streams
from standalone import keys
from standalone.crypto import Cipher
from standalone.db import Database
from standalone.db.records import Timer
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from standalone.discord_bridge import (
    MalformedEvent,
    StreamBot,
    make_bot,
    sync_commands,
    to_interaction,
)
from standalone.tickets.context import TicketContext
from standalone.tickets.features import Features
from standalone.wire import Envelope
from storage.ports import ObjectStore
from storage.scoped import ScopedStore

log = logging.getLogger(__name__)


# An interaction token lives 15 minutes; after that a redelivery cannot answer anyway.
HANDLED_TTL_MS = 15 * 60 * 1000


class TenantApp:
    """Handles the events of one tenant; any number of workers may hold one each."""

    def __init__(
        self,
        *,
        tenant: str,
        application_id: int,
        token: str,
        db: Database,
        store: ObjectStore,
        cache: Cache,
        cipher: Cipher,
        rest_middlewares: Sequence[ClientMiddlewareType] = (),
        streams: Streams | None = None,
    ) -> None:
        self.tenant = tenant
        self.streams = streams
        self.token = token
        self.cache = cache
        self.bot: StreamBot = make_bot(application_id, rest_middlewares)
        self.ctx = TicketContext(
            bot=self.bot,
            tickets=TicketRepository(db, tenant),
            settings=SettingsRepository(db, tenant),
            timers=TimerRepository(db, tenant),
            store=ScopedStore(store, tenant),
            cipher=cipher,
            cache=cache,
        )
        self.features = Features(self.ctx)
        self.features.install(self.bot)
        self.router = self.features.components
        self.events = self.features.events

    async def start(self, *, sync: bool = False) -> None:
        """Log in over REST (no websocket); optionally register the slash commands."""
        await self.bot.login(self.token)
        if sync:
            await sync_commands(self.bot)
        await self.features.on_start(events_lost=await self._events_lost())

    async def _events_lost(self) -> bool:
        """Whether events taken before this start are gone: nothing will deliver them again."""
        if self.streams is None:
            return False
        mark = keys.streams_kept(self.tenant)
        if await self.streams.length(mark) > 0:
            return False
        await self.streams.append(mark, b"1", maxlen=1)
        return True

    async def close(self) -> None:
        """Close the bot's HTTP session."""
        await self.bot.close()

    async def handle(self, envelope: Envelope) -> None:
        """Dispatch one gateway event; raises MalformedEvent for unusable payloads."""
        if envelope.tenant != self.tenant:
            raise MalformedEvent(f"event for tenant {envelope.tenant!r} reached {self.tenant!r}")
        if envelope.type == "INTERACTION_CREATE":
            await self._interaction(envelope.data)
        else:
            await self.events.dispatch(envelope.type, envelope.data)

    async def fire_timer(self, timer: Timer) -> bool:
        """Run a due timer's job; False when no feature handles its kind."""
        return await self.features.timers.fire(timer)

    async def _interaction(self, data: bytes) -> None:
        try:
            payload: Any = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise MalformedEvent(f"interaction is not JSON: {exc}") from None
        inter = to_interaction(self.bot, payload)
        handled = keys.handled_interaction(self.tenant, inter.id)
        if await self.cache.get(handled) is not None:
            return
        if isinstance(inter, ApplicationCommandInteraction):
            if inter.type is disnake.InteractionType.application_command_autocomplete:
                await self.bot.process_app_command_autocompletion(inter)
            else:
                await self.bot.process_application_commands(inter)
        elif isinstance(inter, MessageInteraction | ModalInteraction):
            await self.router.dispatch(inter)
        await self.cache.set(handled, b"1", ttl_ms=HANDLED_TTL_MS)
