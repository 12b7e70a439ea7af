"""What the pages read and change, through the same repositories and checks as the JSON API.

Every function takes the caller's ``GuildAccess`` (decided by ``standalone.http.access``
from the bot's current view) and the tenant it names, so a page can reach no other
tenant's rows and no guild the caller has no standing in.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from standalone.db.records import Category, GuildSettings, Question, Ticket
from standalone.db.settings import SettingsError, SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.http.access import GuildAccess
from standalone.http.api.guilds import list_guilds
from standalone.http.deps import HttpDeps
from standalone.http.discord_api import DiscordRefused, DiscordUnavailable
from standalone.http.errors import ApiError
from standalone.http.pages.errors import PageError
from standalone.http.pages.transcripts import may_read, stored_transcript
from standalone.http.sessions import Session
from storage.scoped import ScopedStore

TEXT_CHANNEL = 0
CATEGORY_CHANNEL = 4
_FIELD = re.compile(r"^(?P<field>[a-z_]+)(?:/[a-z_]+)?: (?P<message>.+)$", re.S)


class ServerChoice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    admin: bool


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    """A role or channel offered in a form."""

    id: str
    name: str


class TicketRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the tickets list (topic decrypted)."""

    number: int
    category: str
    topic: str | None
    creator: str
    state: str
    created_at: datetime
    transcript: bool


def refused(exc: SettingsError) -> PageError:
    """The repository's ``"field: message"`` as a PageError naming the field."""
    match = _FIELD.match(str(exc))
    if match is None:
        return PageError(str(exc))
    return PageError(match["message"], match["field"])


async def servers(deps: HttpDeps, session: Session) -> list[ServerChoice]:
    return [
        ServerChoice(id=g.id, name=g.name, admin=g.level >= 2)
        for g in await list_guilds(deps, session, admin_only=False)
        if g.bot_added
    ]


async def _bot_token(deps: HttpDeps, access: GuildAccess) -> str:
    tenant = await deps.tenants.get(access.tenant)
    if tenant is None:
        raise ApiError(404, "no such bot")
    return deps.tenants.token(tenant)


async def roles(deps: HttpDeps, access: GuildAccess) -> list[Choice]:
    """The server's roles as the bot sees them, @everyone left out."""
    try:
        found = await deps.discord.roles(await _bot_token(deps, access), access.guild_id)
    except (DiscordRefused, DiscordUnavailable):
        raise ApiError(502, "Discord cannot be reached; try again") from None
    return sorted(
        (Choice(id=r.id, name=r.name) for r in found if r.id != access.guild_id),
        key=lambda c: c.name.lower(),
    )


async def channels(deps: HttpDeps, access: GuildAccess, kind: int) -> list[Choice]:
    """Text channels (``TEXT_CHANNEL``) or channel categories (``CATEGORY_CHANNEL``)."""
    try:
        found = await deps.discord.channels(await _bot_token(deps, access), access.guild_id)
    except (DiscordRefused, DiscordUnavailable):
        raise ApiError(502, "Discord cannot be reached; try again") from None
    return sorted(
        (Choice(id=c.id, name=c.name or c.id) for c in found if c.type == kind),
        key=lambda c: c.name.lower(),
    )


def _settings(deps: HttpDeps, access: GuildAccess) -> SettingsRepository:
    return SettingsRepository(deps.db, access.tenant)


async def settings(deps: HttpDeps, access: GuildAccess) -> GuildSettings:
    return await _settings(deps, access).guild(access.guild_id)


async def update_settings(
    deps: HttpDeps, access: GuildAccess, changes: dict[str, Any]
) -> GuildSettings:
    try:
        return await _settings(deps, access).update_guild(access.guild_id, **changes)
    except SettingsError as exc:
        raise refused(exc) from None


async def categories(deps: HttpDeps, access: GuildAccess) -> list[Category]:
    return await _settings(deps, access).categories(access.guild_id)


async def create_category(deps: HttpDeps, access: GuildAccess, fields: dict[str, Any]) -> Category:
    fields = {k: v for k, v in fields.items() if v is not None}
    name = fields.pop("name")
    try:
        return await _settings(deps, access).create_category(access.guild_id, name, **fields)
    except SettingsError as exc:
        raise refused(exc) from None


async def delete_category(deps: HttpDeps, access: GuildAccess, key: str) -> None:
    if not await _settings(deps, access).delete_category(access.guild_id, key):
        raise PageError("That category is gone already.")


async def _category(deps: HttpDeps, access: GuildAccess, key: str) -> Category:
    found = await _settings(deps, access).category(access.guild_id, key)
    if found is None:
        raise ApiError(404, "no such category")
    return found


async def questions(deps: HttpDeps, access: GuildAccess, category: str) -> list[Question]:
    await _category(deps, access, category)
    return await _settings(deps, access).questions(category)


async def add_question(
    deps: HttpDeps, access: GuildAccess, category: str, fields: dict[str, Any]
) -> Question:
    await _category(deps, access, category)
    fields = {k: v for k, v in fields.items() if v is not None}
    label = fields.pop("label")
    try:
        return await _settings(deps, access).save_question(category, label, **fields)
    except SettingsError as exc:
        raise refused(exc) from None


async def move_question(
    deps: HttpDeps, access: GuildAccess, category: str, key: str, offset: int
) -> None:
    """Swap a question with its neighbour; positions are renumbered 0..n-1."""
    listed = await questions(deps, access, category)
    keys = [q.key for q in listed]
    if key not in keys:
        raise PageError("That question is gone already.")
    at = keys.index(key)
    to = at + offset
    if not 0 <= to < len(keys):
        return
    keys[at], keys[to] = keys[to], keys[at]
    repo = _settings(deps, access)
    by_key = {q.key: q for q in listed}
    for position, name in enumerate(keys):
        if by_key[name].position != position:
            await repo.save_question(category, by_key[name].label, key=name, position=position)


async def delete_question(deps: HttpDeps, access: GuildAccess, category: str, key: str) -> None:
    await _category(deps, access, category)
    if not await _settings(deps, access).remove_question(category, key):
        raise PageError("That question is gone already.")


def _visible(access: GuildAccess, ticket: Ticket) -> bool:
    return may_read(ticket, access.session.user_id, access.staff_categories, access.is_admin)


async def tickets(deps: HttpDeps, access: GuildAccess, query: str, state: str) -> list[TicketRow]:
    """Tickets the caller may see, newest first, matching ``query`` (number, topic, member,
    category) and ``state`` ("open": not closed yet; "closed")."""
    names = {c.key: c.name for c in await categories(deps, access)}
    rows = []
    needle = query.lower()
    for ticket in reversed(await TicketRepository(deps.db, access.tenant).tickets(access.guild_id)):
        if not _visible(access, ticket):
            continue
        closed = ticket.state == "closed"
        if (state == "closed" and not closed) or (state == "open" and closed):
            continue
        topic = deps.cipher.decrypt_legacy(ticket.topic) if ticket.topic else None
        category = names.get(ticket.category, "(deleted category)")
        haystack = [str(ticket.number), topic or "", ticket.creator_id, category]
        if needle and not any(needle in field.lower() for field in haystack):
            continue
        rows.append(
            TicketRow(
                number=ticket.number,
                category=category,
                topic=topic,
                creator=ticket.creator_id,
                state=ticket.state,
                created_at=ticket.created_at,
                transcript=closed and ticket.transcript_key is not None,
            )
        )
    return rows


async def transcript(deps: HttpDeps, access: GuildAccess, number: int) -> bytes | None:
    """The stored HTML transcript, or None when absent or not the caller's to see."""
    ticket = await TicketRepository(deps.db, access.tenant).get(access.guild_id, number)
    if ticket is None or not _visible(access, ticket):
        return None
    return await stored_transcript(ScopedStore(deps.store, access.tenant), ticket)


class TagView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    content: str


async def tags(deps: HttpDeps, access: GuildAccess) -> list[TagView]:
    return []


async def save_tag(deps: HttpDeps, access: GuildAccess, name: str, content: str) -> None:
    raise PageError("Tags cannot be saved yet.")


async def delete_tag(deps: HttpDeps, access: GuildAccess, name: str) -> None:
    raise PageError("Tags cannot be deleted yet.")


async def post_panel(deps: HttpDeps, access: GuildAccess, fields: dict[str, Any]) -> None:
    raise PageError("Panels cannot be posted yet.")
