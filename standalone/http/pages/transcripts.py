"""Who may read a stored transcript, and reading it from the tenant's object store."""

from __future__ import annotations

from collections.abc import Iterable

from standalone import keys
from standalone.db.records import Category, Ticket
from storage.ports import ObjectNotFound, ObjectStore


def may_read(
    ticket: Ticket,
    category: Category | None,
    user_id: str,
    roles: Iterable[str],
    admin: bool,
) -> bool:
    """The member who opened it, staff of its category, or an admin of its server."""
    if user_id == ticket.creator_id or admin:
        return True
    return category is not None and bool(set(roles) & set(category.staff_roles))


async def stored_transcript(store: ObjectStore, ticket: Ticket) -> bytes | None:
    """The HTML transcript of a closed ticket from its tenant's store, if one was kept."""
    if ticket.state != "closed":
        return None
    key = ticket.transcript_key or keys.transcript(ticket.guild_id, ticket.number)
    try:
        return await store.get(key)
    except ObjectNotFound:
        return None
