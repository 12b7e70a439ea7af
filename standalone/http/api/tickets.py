"""Tickets and their transcripts, for the people allowed to see them.

Members see their own tickets; staff also those of their categories; admins all
of the server's. ``visible(access, ticket)`` is the one rule every route and page
uses. Topics, answers and close reasons are decrypted for the reader.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from aiohttp import web

from standalone.crypto import CryptoError
from standalone.db.records import Category, Ticket
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.http.access import GuildAccess, guild_access, require_admin
from standalone.http.api.base import API, ApiRoute, guild_param, json
from standalone.http.deps import HttpDeps, deps_of
from standalone.http.errors import ApiError, invalid, not_found
from storage.ports import ObjectNotFound, StorageError
from storage.scoped import ScopedStore

MAX_LISTED = 500
STATES = ("opening", "open", "closing", "closed")


class AnswerOut(msgspec.Struct, kw_only=True):
    question: str
    label: str
    value: str


class TicketSummary(msgspec.Struct, kw_only=True):
    """One ticket in a list."""

    number: int
    category: str
    category_name: str | None
    creator_id: str
    state: str
    topic: str | None
    created_at: datetime
    closed_at: datetime | None
    claimed_by: str | None
    channel_id: str | None
    has_transcript: bool


class TicketDetail(msgspec.Struct, kw_only=True):
    """A ticket with its answers and how it ended."""

    ticket: TicketSummary
    answers: list[AnswerOut]
    closed_by: str | None
    close_reason: str | None
    message_count: int


def visible(access: GuildAccess, ticket: Ticket) -> bool:
    """Admins see all; staff their categories'; everyone their own."""
    return (
        access.is_admin
        or ticket.creator_id == access.session.user_id
        or ticket.category in access.staff_categories
    )


def _decrypt(deps: HttpDeps, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return deps.cipher.decrypt_legacy(value)
    except CryptoError:
        return "(cannot be decrypted with this deployment's key)"


def summary(deps: HttpDeps, ticket: Ticket, names: dict[str, Category]) -> TicketSummary:
    category = names.get(ticket.category)
    return TicketSummary(
        number=ticket.number,
        category=ticket.category,
        category_name=category.name if category else None,
        creator_id=ticket.creator_id,
        state=ticket.state,
        topic=_decrypt(deps, ticket.topic),
        created_at=ticket.created_at,
        closed_at=ticket.closed_at,
        claimed_by=ticket.claimed_by,
        channel_id=ticket.channel_id,
        has_transcript=ticket.transcript_key is not None,
    )


async def _categories(deps: HttpDeps, access: GuildAccess) -> dict[str, Category]:
    rows = await SettingsRepository(deps.db, access.tenant).categories(access.guild_id)
    return {c.key: c for c in rows}


async def search_tickets(
    deps: HttpDeps,
    access: GuildAccess,
    *,
    query: str = "",
    state: str | None = None,
    category: str | None = None,
    mine: bool = False,
    since: datetime | None = None,
) -> list[TicketSummary]:
    """The tickets the caller may see, newest first, filtered; ``query`` searches the
    number, the creator's id and the (decrypted) topic."""
    if state is not None and state not in STATES:
        raise invalid("state", f"one of {', '.join(STATES)}")
    repo = TicketRepository(deps.db, access.tenant)
    names = await _categories(deps, access)
    needle = query.strip().lower().lstrip("#")
    found: list[TicketSummary] = []
    for ticket in reversed(await repo.tickets(access.guild_id)):
        if not visible(access, ticket) or (mine and ticket.creator_id != access.session.user_id):
            continue
        if state is not None and ticket.state != state:
            continue
        if category is not None and ticket.category != category:
            continue
        if since is not None and ticket.created_at < since:
            continue
        item = summary(deps, ticket, names)
        if needle and not (
            needle == str(ticket.number)
            or needle == ticket.creator_id
            or needle in (item.topic or "").lower()
        ):
            continue
        found.append(item)
        if len(found) >= MAX_LISTED:
            break
    return found


async def _ticket(deps: HttpDeps, access: GuildAccess, number: str) -> Ticket:
    if not number.isdigit() or len(number) > 9:
        raise not_found("ticket")
    ticket = await TicketRepository(deps.db, access.tenant).get(access.guild_id, int(number))
    # Someone else's ticket is "not found" rather than "forbidden": its number tells nothing.
    if ticket is None or not visible(access, ticket):
        raise not_found("ticket")
    return ticket


async def ticket_detail(deps: HttpDeps, access: GuildAccess, number: str) -> TicketDetail:
    ticket = await _ticket(deps, access, number)
    answers = await TicketRepository(deps.db, access.tenant).answers(ticket)
    return TicketDetail(
        ticket=summary(deps, ticket, await _categories(deps, access)),
        answers=[
            AnswerOut(question=a.question, label=a.label, value=_decrypt(deps, a.value) or "")
            for a in answers
        ],
        closed_by=ticket.closed_by,
        close_reason=_decrypt(deps, ticket.close_reason),
        message_count=ticket.message_count,
    )


async def transcript_html(deps: HttpDeps, access: GuildAccess, number: str) -> bytes:
    """The stored HTML transcript; 404 while the ticket is open or when none was kept."""
    ticket = await _ticket(deps, access, number)
    if ticket.transcript_key is None:
        raise not_found("transcript")
    try:
        return await ScopedStore(deps.store, access.tenant).get(ticket.transcript_key)
    except ObjectNotFound:
        raise not_found("transcript") from None
    except StorageError as exc:
        raise ApiError(503, f"the transcript cannot be read now: {exc}") from None


def _since(request: web.Request) -> datetime | None:
    raw = request.query.get("since")
    if not raw:
        return None
    try:
        if raw.isdigit():
            return datetime.fromtimestamp(int(raw), UTC)
        parsed = datetime.fromisoformat(raw)
    except (ValueError, OverflowError):
        raise invalid("since", "a unix time or an ISO date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def list_handler(request: web.Request) -> web.Response:
    access = await guild_access(request, guild_param(request))
    q = request.query
    return json(
        await search_tickets(
            deps_of(request),
            access,
            query=q.get("q", "")[:100],
            state=q.get("state") or None,
            category=q.get("category") or None,
        )
    )


async def mine_handler(request: web.Request) -> web.Response:
    access = await guild_access(request, guild_param(request))
    return json(await search_tickets(deps_of(request), access, mine=True))


async def admin_list_handler(request: web.Request) -> web.Response:
    access = await require_admin(request, guild_param(request))
    return json(await search_tickets(deps_of(request), access, since=_since(request)))


async def get_handler(request: web.Request) -> web.Response:
    access = await guild_access(request, guild_param(request))
    return json(await ticket_detail(deps_of(request), access, request.match_info["number"]))


async def transcript_handler(request: web.Request) -> web.Response:
    access = await guild_access(request, guild_param(request))
    html = await transcript_html(deps_of(request), access, request.match_info["number"])
    response = web.Response(body=html, content_type="text/html", charset="utf-8")
    # The transcript holds members' text: no scripts run in it, whatever it contains.
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"
    )
    return response


GUILD = f"{API}/guilds/{{guild}}/tickets"
ROUTES = [
    ApiRoute(
        method="GET",
        path=GUILD,
        handler=list_handler,
        summary="Tickets the caller may see, newest first, with search",
        auth="member",
        response=list[TicketSummary],
        tag="tickets",
        query=(
            ("q", "Search: a number, a creator id, or words of the topic"),
            ("state", "opening, open, closing or closed"),
            ("category", "A category key"),
        ),
    ),
    ApiRoute(
        method="GET",
        path=f"{GUILD}/@me",
        handler=mine_handler,
        summary="The caller's own tickets",
        auth="member",
        response=list[TicketSummary],
        tag="tickets",
    ),
    ApiRoute(
        method="GET",
        path=f"{GUILD}/{{number}}",
        handler=get_handler,
        summary="One ticket with its answers",
        auth="member",
        response=TicketDetail,
        tag="tickets",
    ),
    ApiRoute(
        method="GET",
        path=f"{GUILD}/{{number}}/transcript",
        handler=transcript_handler,
        summary="The ticket's HTML transcript",
        auth="member",
        response="text/html",
        tag="tickets",
    ),
    ApiRoute(
        method="GET",
        path=f"{API}/admin/guilds/{{guild}}/tickets",
        handler=admin_list_handler,
        summary="All of the server's tickets, optionally since a time",
        response=list[TicketSummary],
        tag="tickets",
        query=(("since", "A unix time or an ISO date"),),
    ),
]
