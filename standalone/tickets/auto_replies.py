"""Tags with a pattern answer matching messages by themselves, in the channels a guild chose.

Matching runs in a small thread pool with the GIL released and a timeout per
pattern, so a pattern that backtracks for ages holds up neither the event loop
nor other channels, guilds or tenants: a match that outlasts ``DETACH_AFTER_S``
is let go from its event, and only its own message waits (then gets no reply).
A redelivered message is answered once: a marker set after posting, a lock per
message, and for a delivery that died between posting and the marker, a look
at the channel for the reply it posted.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import disnake

from standalone import keys
from standalone.db.records import GuildSettings
from standalone.db.tags import Tag, TagRepository, first_match
from standalone.tickets import locks
from standalone.tickets.context import TicketContext
from standalone.tickets.events import MessageEvent, decode
from standalone.tickets.replies import NO_PINGS
from standalone.tickets.router import EventRouter

REPLIED_TTL_MS = 7 * 24 * 3600 * 1000  # far longer than any redelivery
LOCK_MS = 10_000
MATCH_THREADS = 2  # runaway patterns of many guilds at once still leave the loop alone
# A match still running after this is let go from its event (see ``handle``).
DETACH_AFTER_S = 1.0
RECENT = 20  # messages looked through for a reply an earlier delivery posted

log = logging.getLogger(__name__)

_pool = ThreadPoolExecutor(max_workers=MATCH_THREADS, thread_name_prefix="tag-match")


class Matching:
    """How many matches run now; tests watch it to know a slow match is under way."""

    running = 0


async def match_off_loop(tags: list[Tag], text: str) -> Tag | None:
    """``first_match`` in the matching pool."""
    Matching.running += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_pool, first_match, tags, text)
    finally:
        Matching.running -= 1


class AutoReplies:
    """Answers a matching message with the first tag whose pattern finds it."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.tags = TagRepository(ctx.tickets.database, ctx.tenant)
        self._detached: set[asyncio.Future[str | None]] = set()

    def register(self, events: EventRouter) -> None:
        """Listen for new messages."""
        events.on("MESSAGE_CREATE", self._message_created)

    async def _message_created(self, data: bytes) -> None:
        event = decode("MESSAGE_CREATE", data, MessageEvent)
        await self.handle(event)

    async def handle(self, event: MessageEvent) -> str | None:
        """Reply to ``event`` if a tag matches; the reply's id, or None."""
        if event.guild_id is None or event.author.bot or event.webhook_id is not None:
            return None
        if event.author.id == str(self.ctx.bot_id) or not event.content.strip():
            return None
        # Cheapest first: most guilds have no tag with a pattern.
        patterned = [t for t in await self.tags.list(event.guild_id) if t.regex]
        if not patterned:
            return None
        settings = await self.ctx.guild_settings(event.guild_id)
        if event.channel_id not in settings.auto_tag_channels:
            if not settings.auto_tag_tickets:
                return None
            ticket = await self.ctx.tickets.by_channel(event.channel_id)
            if ticket is None or ticket.state == "closed":
                return None
        if await self.ctx.cache.get(keys.auto_reply(self.ctx.tenant, event.id)) is not None:
            return None
        work = asyncio.ensure_future(self._match_and_reply(event, patterned, settings))
        done, _ = await asyncio.wait({work}, timeout=DETACH_AFTER_S)
        if work in done:
            return work.result()  # a failure to post propagates: the event is retried
        # Still matching: a runaway pattern, nearly always ending in a timeout and no
        # reply. The event is let go so the tenant's next events are not held up
        # behind it; the match finishes (and replies, if it matches) on its own.
        self._detached.add(work)
        work.add_done_callback(self._finished_detached)
        return None

    def _finished_detached(self, work: asyncio.Future[str | None]) -> None:
        self._detached.discard(work)
        if not work.cancelled() and work.exception() is not None:
            log.warning("a late auto-reply failed: %r", work.exception())

    async def _match_and_reply(
        self, event: MessageEvent, patterned: list[Tag], settings: GuildSettings
    ) -> str | None:
        tag = await match_off_loop(patterned, event.content)
        if tag is None:
            return None
        replied = keys.auto_reply(self.ctx.tenant, event.id)
        lock = keys.auto_reply_lock(self.ctx.tenant, event.id)
        async with locks.held(
            self.ctx.cache, lock, secrets.token_hex(8), ttl_ms=LOCK_MS, wait_s=LOCK_MS / 1000 + 5
        ):
            if await self.ctx.cache.get(replied) is not None:
                return None
            posted = await self._posted_before(event) or await self._post(event, tag, settings)
            await self.ctx.cache.set(replied, posted.encode(), ttl_ms=REPLIED_TTL_MS)
        return posted

    async def _posted_before(self, event: MessageEvent) -> str | None:
        for message in await self.ctx.bot.http.logs_from(int(event.channel_id), RECENT):
            reference = cast(dict[str, Any], message.get("message_reference") or {})
            if (
                str(message["author"]["id"]) == str(self.ctx.bot_id)
                and str(reference.get("message_id")) == event.id
            ):
                return str(message["id"])
        return None

    async def _post(self, event: MessageEvent, tag: Tag, settings: GuildSettings) -> str:
        embed = disnake.Embed(description=tag.content, colour=disnake.Colour(settings.colour))
        if settings.footer:
            embed.set_footer(text=settings.footer)
        channel = self.ctx.bot.get_partial_messageable(int(event.channel_id))
        sent = await channel.send(
            embed=embed,
            reference=disnake.MessageReference(
                message_id=int(event.id), channel_id=int(event.channel_id), fail_if_not_exists=False
            ),
            allowed_mentions=NO_PINGS,
        )
        return str(sent.id)
