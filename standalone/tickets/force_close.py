"""``/force-close``: staff close without asking — one ticket, this ticket, or idle ones in bulk.

Bulk closes are confirmed first; the list waits in the cache under a random key
that the Confirm and Cancel buttons carry, so nothing else rides in a custom id.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import disnake
import msgspec
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction

from standalone import keys
from standalone.db.records import Category, Ticket
from standalone.i18n import Text, localised, t
from standalone.tickets import custom_ids
from standalone.tickets.closing import Closing
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_admin, is_staff
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import NO_PINGS, answer_locale, defer, reply
from standalone.tickets.router import ComponentRouter

CONFIRM_TTL_MS = 60_000
MAX_REASON = 500
LISTED = 20  # tickets named in the confirmation; the rest are counted
_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d{1,6})\s*([wdhms])")


class PendingBulk(msgspec.Struct, frozen=True, kw_only=True):
    """A bulk force-close waiting for its Confirm."""

    guild_id: str
    numbers: list[int]
    by: str
    reason: str | None = None  # encrypted


def parse_duration(text: str) -> timedelta:
    """``2d``, ``12h``, ``1d 6h``, ``30m``: raises TicketError for anything else."""
    compact = text.strip().lower()
    parts = _DURATION.findall(compact)
    if not parts or _DURATION.sub("", compact).strip():
        raise TicketError(Text("force_close.bad_time", text=repr(text[:50])))
    seconds = sum(int(amount) * _UNITS[unit] for amount, unit in parts)
    if seconds <= 0:
        raise TicketError(Text("force_close.zero_time"))
    return timedelta(seconds=seconds)


def parse_number(text: str) -> int:
    """A ticket number as typed (``12`` or ``#12``) or as the suggestion sent it."""
    digits = text.strip().lstrip("#").strip()
    if not digits.isdigit() or len(digits) > 9:
        raise TicketError(Text("force_close.bad_number", text=repr(text[:50])))
    return int(digits)


class ForceClose:
    """Closing without the other side's answer, for staff."""

    def __init__(self, ctx: TicketContext, closing: Closing) -> None:
        self.ctx = ctx
        self.closing = closing

    def register(self, components: ComponentRouter) -> None:
        """Take the Confirm and Cancel buttons of a bulk close."""
        components.button(custom_ids.FORCE_YES, self._confirmed)
        components.button(custom_ids.FORCE_NO, self._cancelled)

    def cog(self) -> commands.Cog:
        """``/force-close``."""
        return ForceCloseCommands(self)

    async def _staff_categories(self, inter: Interaction[Any]) -> dict[str, Category]:
        categories = await self.ctx.settings.categories(str(inter.guild_id))
        return {c.key: c for c in categories if is_staff(inter, c)}

    async def run(
        self,
        inter: ApplicationCommandInteraction[Any],
        ticket: str | None,
        time: str | None,
        category: str | None,
        reason: str | None,
    ) -> None:
        """Pick the mode from the options given."""
        if inter.guild_id is None:
            raise TicketError(Text("force_close.server_only"))
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON:
            raise TicketError(Text("close_requests.reason_too_long", max=MAX_REASON))
        if ticket is not None and time is not None:
            raise TicketError(Text("force_close.ticket_or_time"))
        if category is not None and time is None:
            raise TicketError(Text("force_close.category_needs_time"))
        if time is not None:
            await self._bulk(inter, parse_duration(time), category, reason)
            return
        if ticket is not None:
            found = await self.ctx.tickets.get(str(inter.guild_id), parse_number(ticket))
            if found is None or found.state == "closed":
                raise TicketError(Text("force_close.no_open_ticket", number=ticket.strip()[:20]))
        else:
            found = await self.ctx.ticket_here(inter)
        await self._one(inter, found, reason)

    async def _one(self, inter: Interaction[Any], ticket: Ticket, reason: str | None) -> None:
        category = await self.ctx.category_of(ticket)
        if not is_staff(inter, category):
            raise TicketError(Text("force_close.staff_of_ticket"))
        await defer(inter)
        await reply(inter, Text("close_requests.closing", number=ticket.number))
        await self.closing.finish(ticket, str(inter.author.id), reason)

    async def _bulk(
        self,
        inter: Interaction[Any],
        idle: timedelta,
        category_key: str | None,
        reason: str | None,
    ) -> None:
        allowed = await self._staff_categories(inter)
        if category_key is not None:
            if category_key not in allowed:
                known = await self.ctx.settings.category(str(inter.guild_id), category_key)
                raise TicketError(
                    Text("force_close.no_category")
                    if known is None
                    else Text("force_close.staff_of_category")
                )
            allowed = {category_key: allowed[category_key]}
        if not allowed and not is_admin(inter):
            raise TicketError(Text("force_close.staff_only"))
        cutoff = self.ctx.clock() - idle
        idle_tickets = [
            t
            for t in await self.ctx.tickets.active(str(inter.guild_id))
            if t.state == "open"
            and ((is_admin(inter) and category_key is None) or t.category in allowed)
            and (t.last_message_at or t.created_at) <= cutoff
        ]
        if not idle_tickets:
            raise TicketError(Text("force_close.none_idle"))
        await defer(inter)
        locale = await answer_locale(inter)
        key = secrets.token_urlsafe(12)
        pending = PendingBulk(
            guild_id=str(inter.guild_id),
            numbers=[t.number for t in idle_tickets],
            by=str(inter.author.id),
            reason=self.ctx.cipher.encrypt(reason) if reason else None,
        )
        await self.ctx.cache.set(
            keys.force_close(self.ctx.tenant, key),
            msgspec.json.encode(pending),
            ttl_ms=CONFIRM_TTL_MS,
        )
        lines = [f"• #{t.number} <#{t.channel_id}>" for t in idle_tickets[:LISTED]]
        if len(idle_tickets) > LISTED:
            lines.append(t(locale, "force_close.more", count=len(idle_tickets) - LISTED))
        embed = disnake.Embed(
            title=t(locale, "force_close.confirm_title", count=len(idle_tickets)),
            description="\n".join(lines),
            colour=disnake.Colour(0xED4245),
        )
        buttons: list[disnake.ui.Button[None]] = [
            disnake.ui.Button(
                label=t(locale, "force_close.close_them"),
                style=disnake.ButtonStyle.danger,
                custom_id=custom_ids.make(custom_ids.FORCE_YES, key),
            ),
            disnake.ui.Button(
                label=t(locale, "force_close.cancel"),
                style=disnake.ButtonStyle.secondary,
                custom_id=custom_ids.make(custom_ids.FORCE_NO, key),
            ),
        ]
        await inter.followup.send(
            t(locale, "force_close.confirm_within", count=CONFIRM_TTL_MS // 1000),
            embed=embed,
            components=buttons,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def _pending(self, inter: Interaction[Any], key: str) -> PendingBulk:
        raw = await self.ctx.cache.get(keys.force_close(self.ctx.tenant, key))
        if raw is None:
            raise TicketError(Text("force_close.expired"))
        pending = msgspec.json.decode(raw, type=PendingBulk)
        if pending.by != str(inter.author.id) or pending.guild_id != str(inter.guild_id):
            raise TicketError(Text("force_close.not_yours"))
        return pending

    async def _confirmed(self, inter: Interaction[Any], arguments: list[str]) -> None:
        pending = await self._pending(inter, arguments[0])
        await defer(inter)
        reason = self.ctx.cipher.decrypt(pending.reason) if pending.reason else None
        closed = 0
        for number in pending.numbers:
            ticket = await self.ctx.tickets.get(pending.guild_id, number)
            if ticket is None or ticket.state == "closed":
                continue  # closed meanwhile, or by an earlier delivery of this click
            await self.closing.finish(ticket, pending.by, reason)
            closed += 1
        # Dropped only now: a delivery that died mid-way leaves it for the next one.
        await self.ctx.cache.delete(keys.force_close(self.ctx.tenant, arguments[0]))
        await reply(inter, Text("force_close.closed", count=closed))

    async def _cancelled(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self._pending(inter, arguments[0])
        await self.ctx.cache.delete(keys.force_close(self.ctx.tenant, arguments[0]))
        await reply(inter, Text("force_close.cancelled"))

    async def suggest_tickets(
        self, inter: ApplicationCommandInteraction[Any], typed: str
    ) -> list[disnake.OptionChoice]:
        """Open tickets of this server in categories the caller is staff of, matching ``typed``."""
        if inter.guild_id is None:
            return []
        allowed = await self._staff_categories(inter)
        needle = typed.strip().lstrip("#").lower()  # plain text, never a pattern
        choices: list[disnake.OptionChoice] = []
        for ticket in await self.ctx.tickets.active(str(inter.guild_id)):
            category = allowed.get(ticket.category)
            if ticket.state != "open" or category is None:
                continue
            topic = self.ctx.cipher.decrypt(ticket.topic) if ticket.topic else ""
            label = f"{category.name} #{ticket.number} - {topic[:50]}".strip(" -")[:100]
            if needle and needle not in label.lower():
                continue
            choices.append(disnake.OptionChoice(name=label, value=str(ticket.number)))
            if len(choices) == 25:
                break
        return choices

    async def suggest_categories(
        self, inter: ApplicationCommandInteraction[Any], typed: str
    ) -> list[disnake.OptionChoice]:
        """Categories the caller is staff of, matching ``typed`` as plain text."""
        if inter.guild_id is None:
            return []
        needle = typed.strip().lower()
        return [
            disnake.OptionChoice(name=c.name, value=c.key)
            for c in (await self._staff_categories(inter)).values()
            if needle in c.name.lower()
        ][:25]


class ForceCloseCommands(FeatureCog):
    """``/force-close`` for staff."""

    def __init__(self, force: ForceClose) -> None:
        self.force = force

    @commands.slash_command(
        name=localised("cmd_core.force_close.name"),
        description=localised("cmd_core.force_close.description"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def force_close(
        self,
        inter: ApplicationCommandInteraction[Any],
        ticket: str | None = commands.Param(
            default=None,
            max_length=100,
            name=localised("cmd_core.force_close.ticket.name"),
            description=localised("cmd_core.force_close.ticket.description"),
        ),
        time: str | None = commands.Param(
            default=None,
            max_length=50,
            name=localised("cmd_core.force_close.time.name"),
            description=localised("cmd_core.force_close.time.description"),
        ),
        category: str | None = commands.Param(
            default=None,
            max_length=100,
            name=localised("cmd_core.force_close.category.name"),
            description=localised("cmd_core.force_close.category.description"),
        ),
        reason: str | None = commands.Param(
            default=None,
            max_length=MAX_REASON,
            name=localised("cmd_core.force_close.reason.name"),
            description=localised("cmd_core.force_close.reason.description"),
        ),
    ) -> None:
        await self.force.run(inter, ticket, time, category, reason)

    @force_close.autocomplete("ticket")
    async def _tickets(
        self, inter: ApplicationCommandInteraction[Any], typed: str
    ) -> list[disnake.OptionChoice]:
        return await self.force.suggest_tickets(inter, typed)

    @force_close.autocomplete("category")
    async def _categories(
        self, inter: ApplicationCommandInteraction[Any], typed: str
    ) -> list[disnake.OptionChoice]:
        return await self.force.suggest_categories(inter, typed)
